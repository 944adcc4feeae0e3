/*
 * Unit tests of json.c: the string encoder (every ASCII byte against a
 * model, UTF-8 kept or refused whole).
 */
#include <stdio.h>
#include <string.h>

#include "json.h"
#include "test.h"
#include "util.h"

int pr_test_failed;

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
