/*
 * Unit tests of json.c: the strict parser (what it refuses, and where it
 * says), the loose one (cJSON's rules, kept for workers' answers), the
 * typed getters (types, whole numbers in range), and the string encoder
 * (every ASCII byte against a model, UTF-8 kept or refused whole).
 */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <uv.h>

#include "json.h"
#include "test.h"
#include "util.h"

int pr_test_failed;

/* Parses text strictly, expecting a refusal at offset `at` in the value at
 * path `p`, for the reason `w`. */
#define ASSERT_REFUSED(text, at, p, w)                                         \
    do {                                                                       \
        struct pr_json_doc *doc_ = NULL;                                       \
        struct pr_json_error err_;                                             \
                                                                               \
        ASSERT_EQ(pr_json_parse_strict((text), strlen(text), &doc_, &err_),    \
                  UV_EINVAL);                                                  \
        ASSERT_TRUE(doc_ == NULL);                                             \
        ASSERT_EQ(err_.offset, (at));                                          \
        ASSERT_MEM_EQ(err_.path, strlen(err_.path), (p));                      \
        ASSERT_MEM_EQ(err_.why, strlen(err_.why), (w));                        \
    } while (0)

static void
strict_parse_with_a_key_used_twice_names_the_second(void)
{
    /* The second "a" is at offset 22, in the object at "t[0]". */
    ASSERT_REFUSED("{\"t\": [{\"a\": 1, \"b\": {}, \"a\": 2}]}", 25, "t[0]",
                   "duplicate key \"a\"");
    /* Simple escapes are decoded before keys are compared. */
    ASSERT_REFUSED("{\"a/b\": 1, \"a\\/b\": 2}", 11, "",
                   "duplicate key \"a/b\"");
}

static void
strict_parse_takes_one_key_in_two_objects_and_unicode_escapes_as_written(void)
{
    static const char text[] =
        "{\"a\": {\"x\": 1}, \"b\": {\"x\": 2}, \"\\u0063\": 3, \"c\": 4}";
    struct pr_json_doc *doc = NULL;
    struct pr_json_error err;

    ASSERT_EQ(pr_json_parse_strict(text, strlen(text), &doc, &err), 0);
    ASSERT_EQ(pr_json_count(pr_json_root(doc)), 4);
    pr_json_free(doc);
}

static void
strict_parse_finds_a_key_used_twice_among_many_fast(void)
{
    struct pr_buf b = {0};
    struct pr_json_doc *doc = NULL;
    struct pr_json_error err;
    clock_t t0 = clock();
    double cpu;
    unsigned i;
    char k[32];

    pr_buf_append(&b, "{", 1);
    for (i = 0; i < 100000; i++) {
        int n = snprintf(k, sizeof(k), "\"k%u\": %u, ", i, i);

        pr_buf_append(&b, k, (size_t)n);
    }
    pr_buf_append(&b, "\"k99998\": 0}", 12);
    ASSERT_EQ(pr_json_parse_strict(b.data, b.len, &doc, &err), UV_EINVAL);
    ASSERT_EQ(err.offset, b.len - 12);
    ASSERT_MEM_EQ(err.why, strlen(err.why), "duplicate key \"k99998\"");
    cpu = (double)(clock() - t0) / CLOCKS_PER_SEC;
    /* A search per key takes minutes here; hashing, a few ms. */
    if (cpu > 2.0)
        fprintf(stderr, "parsing took %.2f s of CPU\n", cpu);
    ASSERT_TRUE(cpu <= 2.0);
    /* Without the last key it is one object of 100,000. */
    b.len -= 14;
    pr_buf_append(&b, "}", 1);
    ASSERT_EQ(pr_json_parse_strict(b.data, b.len, &doc, &err), 0);
    ASSERT_EQ(pr_json_count(pr_json_root(doc)), 100000);
    pr_json_free(doc);
    pr_buf_free(&b);
}

static void
strict_parse_refuses_what_cjson_lets_through(void)
{
    ASSERT_REFUSED("{\"a\": \"x\\u0000y\"}", 8, "a",
                   "\\u0000 is not allowed in a string");
    ASSERT_REFUSED("{\"a\": [\"x\ty\"]}", 9, "a[0]",
                   "a control character must be escaped");
    ASSERT_REFUSED("{\"a\": \"caf\xc3\"}", 10, "a",
                   "invalid UTF-8 in a string");
    ASSERT_REFUSED("{\"a\":\x01 1}", 5, "",
                   "invalid JSON: control character 0x01");
    ASSERT_REFUSED("{\"a\": 1} {}", 9, "",
                   "invalid JSON (or bytes after the value)");
    ASSERT_REFUSED("{\"a\": [1, 2", 11, "", "invalid JSON: unexpected end");
    ASSERT_REFUSED("", 0, "", "invalid JSON: unexpected end");
}

static void
strict_parse_places_every_value_by_its_path(void)
{
    static const char text[] =
        " {\"t\": [1, {\"u\": \"v\"}],\n \"k.x\": 5, \"k\": {\"x\": null}}";
    struct pr_json_doc *doc = NULL;
    struct pr_json_error err;

    ASSERT_EQ(pr_json_parse_strict(text, strlen(text), &doc, &err), 0);
    ASSERT_EQ(pr_json_place(doc, ""), 1);
    ASSERT_EQ(pr_json_place(doc, "t"), 7);
    ASSERT_EQ(pr_json_place(doc, "t[0]"), 8);
    ASSERT_EQ(pr_json_place(doc, "t[1]"), 11);
    ASSERT_EQ(pr_json_place(doc, "t[1].u"), 17);
    ASSERT_EQ(pr_json_place(doc, "k"), 40);
    /* Two values have the path "k.x": the first in the text is told. */
    ASSERT_EQ(pr_json_place(doc, "k.x"), 32);
    ASSERT_EQ(pr_json_place(doc, "nowhere"), 0);
    pr_json_free(doc);
}

static void
strict_parse_gives_the_tree_in_the_order_of_the_text(void)
{
    static const char text[] = "{\"z\": 1, \"a\": [\"p\", \"q\"], \"m\": true}";
    struct pr_json_doc *doc = NULL;
    struct pr_json_error err;
    const struct pr_json *root, *v, *e;
    const char *s;

    ASSERT_EQ(pr_json_parse_strict(text, strlen(text), &doc, &err), 0);
    root = pr_json_root(doc);
    ASSERT_EQ(pr_json_type(root), PR_JSON_OBJECT);
    ASSERT_TRUE(pr_json_key(root) == NULL);
    v = pr_json_first(root);
    ASSERT_MEM_EQ(pr_json_key(v), strlen(pr_json_key(v)), "z");
    v = pr_json_next(v);
    ASSERT_MEM_EQ(pr_json_key(v), strlen(pr_json_key(v)), "a");
    ASSERT_EQ(pr_json_type(v), PR_JSON_ARRAY);
    ASSERT_EQ(pr_json_count(v), 2);
    e = pr_json_next(pr_json_first(v));
    ASSERT_EQ(pr_json_get_string(e, &s), 0);
    ASSERT_MEM_EQ(s, strlen(s), "q");
    ASSERT_TRUE(pr_json_next(e) == NULL);
    v = pr_json_next(v);
    ASSERT_MEM_EQ(pr_json_key(v), strlen(pr_json_key(v)), "m");
    ASSERT_TRUE(pr_json_next(v) == NULL);
    ASSERT_TRUE(pr_json_member(root, "a") == pr_json_next(pr_json_first(root)));
    ASSERT_TRUE(pr_json_member(root, "A") == NULL);
    ASSERT_TRUE(pr_json_first(e) == NULL);
    ASSERT_EQ(pr_json_count(e), 0);
    pr_json_free(doc);
}

/* The value of the only member of the object text. */
static const struct pr_json *
only_member(struct pr_json_doc **doc, const char *text)
{
    struct pr_json_error err;

    if (pr_json_parse_strict(text, strlen(text), doc, &err) != 0)
        return NULL;
    return pr_json_first(pr_json_root(*doc));
}

static void
json_get_whole_refuses_fractions_other_types_and_numbers_out_of_range(void)
{
    static const char *const bad[] = {
        "{\"n\": 1.5}",       "{\"n\": 256}",    "{\"n\": -1}",
        "{\"n\": 1e300}",     "{\"n\": -1e300}", "{\"n\": \"7\"}",
        "{\"n\": true}",      "{\"n\": null}",   "{\"n\": 255.000001}",
        "{\"n\": 2147483648}"};
    struct pr_json_doc *doc = NULL;
    const struct pr_json *v;
    long x = 42;
    size_t i;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        v = only_member(&doc, bad[i]);
        ASSERT_TRUE(v != NULL);
        if (pr_json_get_whole(v, 0, 255, &x) != UV_EINVAL)
            fprintf(stderr, "taken: %s\n", bad[i]);
        ASSERT_EQ(pr_json_get_whole(v, 0, 255, &x), UV_EINVAL);
        ASSERT_EQ(x, 42);
        pr_json_free(doc);
    }
    v = only_member(&doc, "{\"n\": 2.55e2}");
    ASSERT_EQ(pr_json_get_whole(v, 0, 255, &x), 0);
    ASSERT_EQ(x, 255);
    pr_json_free(doc);
    v = only_member(&doc, "{\"n\": -0}");
    ASSERT_EQ(pr_json_get_whole(v, 0, 255, &x), 0);
    ASSERT_EQ(x, 0);
    pr_json_free(doc);
    /* Past an int, where cJSON's valueint saturates. */
    v = only_member(&doc, "{\"n\": -3000000000}");
    ASSERT_EQ(pr_json_get_whole(v, -1e10, 1e10, &x), 0);
    ASSERT_EQ(x, -3000000000L);
    pr_json_free(doc);
}

static void
json_getters_refuse_other_types_and_leave_out_alone(void)
{
    struct pr_json_doc *doc = NULL;
    const struct pr_json *v;
    const char *s = "keep";
    double d = 7;
    int b = 7;

    v = only_member(&doc, "{\"v\": 0.25}");
    ASSERT_EQ(pr_json_get_number(v, &d), 0);
    ASSERT_TRUE(d == 0.25);
    ASSERT_EQ(pr_json_get_string(v, &s), UV_EINVAL);
    ASSERT_EQ(pr_json_get_bool(v, &b), UV_EINVAL);
    ASSERT_MEM_EQ(s, strlen(s), "keep");
    ASSERT_EQ(b, 7);
    pr_json_free(doc);
    v = only_member(&doc, "{\"v\": false}");
    ASSERT_EQ(pr_json_type(v), PR_JSON_BOOL);
    ASSERT_EQ(pr_json_get_bool(v, &b), 0);
    ASSERT_EQ(b, 0);
    ASSERT_EQ(pr_json_get_number(v, &d), UV_EINVAL);
    ASSERT_TRUE(d == 0.25);
    pr_json_free(doc);
    v = only_member(&doc, "{\"v\": null}");
    ASSERT_EQ(pr_json_type(v), PR_JSON_NULL);
    ASSERT_EQ(pr_json_get_string(v, &s), UV_EINVAL);
    pr_json_free(doc);
    /* A missing value is no value, of no type. */
    ASSERT_EQ(pr_json_type(NULL), PR_JSON_NONE);
    ASSERT_EQ(pr_json_get_string(NULL, &s), UV_EINVAL);
    ASSERT_EQ(pr_json_get_whole(NULL, 0, 1, &(long){0}), UV_EINVAL);
    ASSERT_TRUE(pr_json_member(NULL, "v") == NULL);
    ASSERT_TRUE(pr_json_root(NULL) == NULL);
    pr_json_free(NULL);
}

static void
loose_parse_keeps_cjsons_rules_for_worker_answers(void)
{
    /* Bytes after the value, a raw tab and a control character between
     * tokens, a key used twice (the first counts), bytes that are not
     * UTF-8, and a \u0000 that ends its string. */
    static const char text[] =
        "{\"exit\": 3,\x01 \"exit\": 4, \"output\": "
        "\"a\tb\xff\", \"error\": \"x\\u0000y\"} trailing";
    struct pr_json_doc *doc = pr_json_parse_loose(text, strlen(text));
    const struct pr_json *root = pr_json_root(doc);
    const char *s;
    long x;

    ASSERT_EQ(pr_json_type(root), PR_JSON_OBJECT);
    ASSERT_EQ(pr_json_get_whole(pr_json_member(root, "exit"), 0, 255, &x), 0);
    ASSERT_EQ(x, 3);
    ASSERT_EQ(pr_json_get_string(pr_json_member(root, "output"), &s), 0);
    ASSERT_MEM_EQ(s, strlen(s), "a\tb\xff");
    ASSERT_EQ(pr_json_get_string(pr_json_member(root, "error"), &s), 0);
    ASSERT_MEM_EQ(s, strlen(s), "x");
    ASSERT_EQ(pr_json_place(doc, ""), 0);
    pr_json_free(doc);
    ASSERT_TRUE(pr_json_parse_loose("this is not json", 16) == NULL);
    ASSERT_TRUE(pr_json_parse_loose("", 0) == NULL);
    /* The length is a bound: a value cut by it is no value. */
    ASSERT_TRUE(pr_json_parse_loose("{\"a\": 1}", 5) == NULL);
}

static void
json_string_escapes_quotes_controls_and_keeps_utf8(void)
{
    struct pr_buf b = {0};
    static const char in[] =
        "a\"b\\c\n\t\r\x01\x7f caf\xc3\xa9 \xf0\x9f\x98\x80";

    ASSERT_EQ(pr_json_append_string(&b, in, sizeof(in) - 1), 0);
    ASSERT_MEM_EQ(b.data, b.len,
                  "\"a\\\"b\\\\c\\n\\t\\r\\u0001\\u007f caf\xc3\xa9 "
                  "\xf0\x9f\x98\x80\"");
    pr_buf_free(&b);
}

static void
json_string_escapes_nul_bytes(void)
{
    struct pr_buf b = {0};

    ASSERT_EQ(pr_json_append_string(&b, "a\0b", 3), 0);
    ASSERT_MEM_EQ(b.data, b.len, "\"a\\u0000b\"");
    pr_buf_free(&b);
}

static void
json_string_refuses_invalid_utf8_and_appends_nothing(void)
{
    /* A lone continuation byte, a truncated sequence, an overlong form
     * and a UTF-16 surrogate. */
    static const char *const bad[] = {"\x80", "ab\xc3", "\xc0\xaf",
                                      "\xed\xa0\x80"};
    struct pr_buf b = {0};
    size_t i;

    pr_buf_append(&b, "x", 1);
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ASSERT_EQ(pr_json_append_string(&b, bad[i], strlen(bad[i])), -1);
        ASSERT_MEM_EQ(b.data, b.len, "x");
    }
    pr_buf_free(&b);
}

/* What the encoder must write for one ASCII byte (c < 0x80). */
static void
model_byte(struct pr_buf *b, unsigned char c)
{
    char e[8];

    if (c == '"' || c == '\\')
        snprintf(e, sizeof(e), "\\%c", c);
    else if (c == '\n')
        snprintf(e, sizeof(e), "\\n");
    else if (c == '\t')
        snprintf(e, sizeof(e), "\\t");
    else if (c == '\r')
        snprintf(e, sizeof(e), "\\r");
    else if (c < 0x20 || c == 0x7f)
        snprintf(e, sizeof(e), "\\u%04x", c);
    else
        snprintf(e, sizeof(e), "%c", c);
    pr_buf_append(b, e, strlen(e));
}

static void
json_string_of_every_ascii_byte_matches_the_model(void)
{
    struct pr_buf got = {0}, want = {0};
    char all[128];
    unsigned c;

    for (c = 0; c < 128; c++) {
        char one = (char)c;

        got.len = want.len = 0;
        pr_buf_append(&want, "\"", 1);
        model_byte(&want, (unsigned char)c);
        pr_buf_append(&want, "\"", 1);
        ASSERT_EQ(pr_json_append_string(&got, &one, 1), 0);
        ASSERT_TRUE(got.len == want.len &&
                    memcmp(got.data, want.data, got.len) == 0);
        all[c] = (char)c;
    }
    /* All of them in one string, NUL first: none ends it. */
    got.len = want.len = 0;
    pr_buf_append(&want, "\"", 1);
    for (c = 0; c < 128; c++)
        model_byte(&want, (unsigned char)c);
    pr_buf_append(&want, "\"", 1);
    ASSERT_EQ(pr_json_append_string(&got, all, sizeof(all)), 0);
    ASSERT_TRUE(got.len == want.len &&
                memcmp(got.data, want.data, got.len) == 0);
    pr_buf_free(&got);
    pr_buf_free(&want);
}

static void
json_string_of_nothing_is_two_quotes_after_what_was_there(void)
{
    struct pr_buf b = {0};

    pr_buf_append(&b, "x:", 2);
    ASSERT_EQ(pr_json_append_string(&b, "", 0), 0);
    ASSERT_MEM_EQ(b.data, b.len, "x:\"\"");
    pr_buf_free(&b);
}

static void
json_string_keeps_utf8_at_each_length_boundary(void)
{
    /* U+0080, U+07FF, U+0800, U+FFFF, U+10000, U+10FFFF, U+E000 (just
     * past the surrogates) and U+D7FF (just before them). */
    static const char in[] = "\xc2\x80\xdf\xbf\xe0\xa0\x80\xef\xbf\xbf"
                             "\xf0\x90\x80\x80\xf4\x8f\xbf\xbf"
                             "\xee\x80\x80\xed\x9f\xbf";
    struct pr_buf b = {0};

    ASSERT_EQ(pr_json_append_string(&b, in, sizeof(in) - 1), 0);
    ASSERT_EQ(b.len, sizeof(in) - 1 + 2);
    ASSERT_MEM_EQ(b.data + 1, b.len - 2, in);
    pr_buf_free(&b);
}

static void
json_string_refuses_every_kind_of_bad_utf8(void)
{
    /* Overlong forms of NUL and of '/', beyond U+10FFFF, bytes that never
     * start a sequence, a surrogate's end, a sequence cut by the end of
     * the string and one cut by an ASCII byte, after good text. */
    static const char *const bad[] = {"\xc0\x80",
                                      "\xc1\xbf",
                                      "\xe0\x80\xaf",
                                      "\xf0\x80\x80\xaf",
                                      "\xf4\x90\x80\x80",
                                      "\xf5\x80\x80\x80",
                                      "\xff",
                                      "\xfe",
                                      "\xed\xbf\xbf",
                                      "ok \xf0\x9f\x98",
                                      "\xe2\x28\xa1",
                                      "caf\xc3\xa9\xa9"};
    struct pr_buf b = {0};
    size_t i;

    pr_buf_append(&b, "{\"k\":", 5);
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ASSERT_EQ(pr_json_append_string(&b, bad[i], strlen(bad[i])), -1);
        ASSERT_MEM_EQ(b.data, b.len, "{\"k\":");
    }
    pr_buf_free(&b);
}

static void
json_string_of_a_long_text_grows_the_buffer_and_matches_the_model(void)
{
    struct pr_buf got = {0}, want = {0};
    char in[70000];
    size_t i;

    for (i = 0; i < sizeof(in); i++)
        in[i] = (char)((i * 7 + i / 13) % 128);
    pr_buf_append(&want, "\"", 1);
    for (i = 0; i < sizeof(in); i++)
        model_byte(&want, (unsigned char)in[i]);
    pr_buf_append(&want, "\"", 1);
    ASSERT_EQ(pr_json_append_string(&got, in, sizeof(in)), 0);
    ASSERT_TRUE(got.len == want.len &&
                memcmp(got.data, want.data, got.len) == 0);
    pr_buf_free(&got);
    pr_buf_free(&want);
}

int
main(void)
{
    static const struct pr_test_case cases[] = {
        TEST_CASE(strict_parse_with_a_key_used_twice_names_the_second),
        TEST_CASE(
            strict_parse_takes_one_key_in_two_objects_and_unicode_escapes_as_written),
        TEST_CASE(strict_parse_finds_a_key_used_twice_among_many_fast),
        TEST_CASE(strict_parse_refuses_what_cjson_lets_through),
        TEST_CASE(strict_parse_places_every_value_by_its_path),
        TEST_CASE(strict_parse_gives_the_tree_in_the_order_of_the_text),
        TEST_CASE(
            json_get_whole_refuses_fractions_other_types_and_numbers_out_of_range),
        TEST_CASE(json_getters_refuse_other_types_and_leave_out_alone),
        TEST_CASE(loose_parse_keeps_cjsons_rules_for_worker_answers),
        TEST_CASE(json_string_escapes_quotes_controls_and_keeps_utf8),
        TEST_CASE(json_string_escapes_nul_bytes),
        TEST_CASE(json_string_refuses_invalid_utf8_and_appends_nothing),
        TEST_CASE(json_string_of_every_ascii_byte_matches_the_model),
        TEST_CASE(json_string_of_nothing_is_two_quotes_after_what_was_there),
        TEST_CASE(json_string_keeps_utf8_at_each_length_boundary),
        TEST_CASE(json_string_refuses_every_kind_of_bad_utf8),
        TEST_CASE(
            json_string_of_a_long_text_grows_the_buffer_and_matches_the_model),
    };

    return pr_test_run(cases, sizeof(cases) / sizeof(cases[0]));
}
