/*
 * json: cJSON behind typed getters, a strict reader on top of it, and the
 * JSON string encoder.  A value handed out is a node of cJSON's tree under
 * another name: the getters cast it back, so walking a document costs what
 * walking cJSON's does.  The strict reader runs cJSON, then a second pass
 * over the (by then well-formed) text for what cJSON lets through and for
 * where each value starts, since cJSON keeps no positions.  The encoder is
 * on the path of every record of --results and of every task sent to a
 * --protocol json worker.
 */
#include "json.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

/* An object's keys are compared one by one up to this many. */
#define MAX_LINEAR_KEYS 8

/* Where each value starts, by path. */
struct place {
    char *path;
    size_t offset;
};

/* The places are looked up by path once parsing is over, once per task at
 * least (its id's place): sorted then, they are found by binary search.  A
 * job file of 20,000 ids once took 7 s in linear searches. */
struct places {
    struct place *v;
    size_t n;
    size_t cap;
    int sorted;
};

struct pr_json_doc {
    cJSON *root;
    struct places places; /* strict documents only */
};

static const cJSON *
node(const struct pr_json *v)
{
    return (const cJSON *)(const void *)v;
}

static const struct pr_json *
value(const cJSON *c)
{
    return (const struct pr_json *)(const void *)c;
}

static void
places_add(struct places *pl, const struct pr_buf *path, size_t offset)
{
    pl->sorted = 0;
    if (pl->n == pl->cap) {
        pl->cap = pl->cap ? pl->cap * 2 : 64;
        pl->v = pr_xrealloc(pl->v, pl->cap * sizeof(*pl->v));
    }
    pl->v[pl->n].path = pr_xmemdup(path->data ? path->data : "", path->len);
    pl->v[pl->n].offset = offset;
    pl->n++;
}

static void
places_free(struct places *pl)
{
    size_t i;

    for (i = 0; i < pl->n; i++)
        free(pl->v[i].path);
    free(pl->v);
    memset(pl, 0, sizeof(*pl));
}

static int
cmp_place(const void *a, const void *b)
{
    const struct place *x = a;
    const struct place *y = b;
    int c = strcmp(x->path, y->path);

    if (c != 0)
        return c;
    return x->offset < y->offset ? -1 : x->offset > y->offset;
}

struct pr_json_doc *
pr_json_parse_loose(const char *text, size_t len)
{
    cJSON *root = cJSON_ParseWithLength(text, len);
    struct pr_json_doc *doc;

    if (root == NULL)
        return NULL;
    doc = pr_xcalloc(1, sizeof(*doc));
    doc->root = root;
    return doc;
}

const struct pr_json *
pr_json_root(const struct pr_json_doc *doc)
{
    return doc != NULL ? value(doc->root) : NULL;
}

void
pr_json_free(struct pr_json_doc *doc)
{
    if (doc == NULL)
        return;
    cJSON_Delete(doc->root);
    places_free(&doc->places);
    free(doc);
}

size_t
pr_json_place(struct pr_json_doc *doc, const char *path)
{
    struct places *pl = &doc->places;
    size_t lo = 0, hi = pl->n;

    if (!pl->sorted) {
        if (pl->n > 1) /* a loose document has none: qsort(NULL) is UB */
            qsort(pl->v, pl->n, sizeof(*pl->v), cmp_place);
        pl->sorted = 1;
    }
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;

        if (strcmp(pl->v[mid].path, path) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo < pl->n && strcmp(pl->v[lo].path, path) == 0)
        return pl->v[lo].offset;
    return 0;
}

enum pr_json_type
pr_json_type(const struct pr_json *v)
{
    const cJSON *c = node(v);

    /* One switch, not a call per cJSON_Is*: it is asked of every value. */
    if (c == NULL)
        return PR_JSON_NONE;
    switch (c->type & 0xff) {
    case cJSON_NULL:
        return PR_JSON_NULL;
    case cJSON_False:
    case cJSON_True:
        return PR_JSON_BOOL;
    case cJSON_Number:
        return PR_JSON_NUMBER;
    case cJSON_String:
        return c->valuestring != NULL ? PR_JSON_STRING : PR_JSON_NONE;
    case cJSON_Array:
        return PR_JSON_ARRAY;
    case cJSON_Object:
        return PR_JSON_OBJECT;
    default:
        return PR_JSON_NONE; /* cJSON's raw, or invalid */
    }
}

const struct pr_json *
pr_json_member(const struct pr_json *obj, const char *key)
{
    if (!cJSON_IsObject(node(obj)))
        return NULL;
    return value(cJSON_GetObjectItemCaseSensitive(node(obj), key));
}

const struct pr_json *
pr_json_first(const struct pr_json *v)
{
    const cJSON *c = node(v);

    return cJSON_IsArray(c) || cJSON_IsObject(c) ? value(c->child) : NULL;
}

const struct pr_json *
pr_json_next(const struct pr_json *v)
{
    return v != NULL ? value(node(v)->next) : NULL;
}

const char *
pr_json_key(const struct pr_json *v)
{
    return v != NULL ? node(v)->string : NULL;
}

size_t
pr_json_count(const struct pr_json *v)
{
    const cJSON *c = node(v);

    if (!cJSON_IsArray(c) && !cJSON_IsObject(c))
        return 0;
    return (size_t)cJSON_GetArraySize(c);
}

int
pr_json_get_string(const struct pr_json *v, const char **out)
{
    if (pr_json_type(v) != PR_JSON_STRING)
        return UV_EINVAL;
    *out = node(v)->valuestring;
    return 0;
}

int
pr_json_get_number(const struct pr_json *v, double *out)
{
    if (!cJSON_IsNumber(node(v)))
        return UV_EINVAL;
    *out = node(v)->valuedouble;
    return 0;
}

int
pr_json_get_whole(const struct pr_json *v, double min, double max, long *out)
{
    double x;

    /* Not valueint: cJSON saturates it, and cuts 1.5 to 1. */
    if (pr_json_get_number(v, &x) != 0 || !isfinite(x) || x != floor(x) ||
        x < min || x > max)
        return UV_EINVAL;
    *out = (long)x;
    return 0;
}

int
pr_json_get_bool(const struct pr_json *v, int *out)
{
    if (!cJSON_IsBool(node(v)))
        return UV_EINVAL;
    *out = cJSON_IsTrue(node(v)) != 0;
    return 0;
}

static int fail(struct pr_json_error *err, size_t offset, const char *path,
                const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* Fills in err.  Returns -1. */
static int
fail(struct pr_json_error *err, size_t offset, const char *path,
     const char *fmt, ...)
{
    va_list ap;

    err->offset = offset;
    snprintf(err->path, sizeof(err->path), "%s", path != NULL ? path : "");
    va_start(ap, fmt);
    vsnprintf(err->why, sizeof(err->why), fmt, ap);
    va_end(ap);
    return -1;
}

/* The keys of one object so far, to find one used twice: compared one by
 * one while there are few, then through a hash table of their indexes (a
 * search per key is quadratic in an object's keys). */
struct keys {
    struct pr_buf *v; /* NUL-terminated */
    size_t n;
    size_t cap;
    size_t *table; /* a key's index + 1, or 0 for an empty bucket */
    size_t tcap;   /* a power of two, at least twice n */
};

/* The bucket of key s, or the empty one where it would go. */
static size_t *
keys_bucket(const struct keys *k, const char *s)
{
    size_t i = (size_t)pr_str_hash(s) & (k->tcap - 1);

    while (k->table[i] != 0 && strcmp(k->v[k->table[i] - 1].data, s) != 0)
        i = (i + 1) & (k->tcap - 1);
    return &k->table[i];
}

/* Adds key (taking it).  Returns whether an earlier key is the same. */
static int
keys_add(struct keys *k, struct pr_buf key)
{
    size_t *bucket;
    size_t i;

    if (k->n == k->cap) {
        k->cap = k->cap ? k->cap * 2 : 8;
        k->v = pr_xrealloc(k->v, k->cap * sizeof(*k->v));
    }
    k->v[k->n] = key;
    if (k->n < MAX_LINEAR_KEYS) {
        for (i = 0; i < k->n; i++)
            if (strcmp(k->v[i].data, key.data) == 0)
                break;
        return i < k->n++;
    }
    if (2 * (k->n + 1) > k->tcap) {
        free(k->table);
        k->tcap = k->tcap ? k->tcap * 2 : 64;
        k->table = pr_xcalloc(k->tcap, sizeof(*k->table));
        for (i = 0; i < k->n; i++)
            *keys_bucket(k, k->v[i].data) = i + 1;
    }
    bucket = keys_bucket(k, key.data);
    k->n++;
    if (*bucket != 0)
        return 1;
    *bucket = k->n;
    return 0;
}

static void
keys_free(struct keys *k)
{
    while (k->n > 0)
        pr_buf_free(&k->v[--k->n]);
    free(k->v);
    free(k->table);
}

/* The second pass, over text cJSON has found well-formed: what cJSON lets
 * through, and where each value starts. */
struct scan {
    const char *text;
    size_t len;
    size_t i;
    struct pr_buf path; /* of the value at i, NUL-terminated */
    struct places *places;
    struct pr_json_error *err;
};

static void
skip_ws(struct scan *sc)
{
    while (sc->i < sc->len && strchr(" \t\r\n", sc->text[sc->i]) &&
           sc->text[sc->i] != '\0')
        sc->i++;
}

static unsigned
hex4(const char *p)
{
    unsigned v = 0;
    int k;

    for (k = 0; k < 4; k++) {
        char c = p[k];

        v <<= 4;
        v |= (unsigned)(c >= '0' && c <= '9'   ? c - '0'
                        : c >= 'a' && c <= 'f' ? c - 'a' + 10
                                               : c - 'A' + 10);
    }
    return v;
}

/* Checks a string at sc->i (on its opening quote) and, if key is not
 * NULL, decodes it there.  Returns 0 or -1. */
static int
scan_string(struct scan *sc, struct pr_buf *key)
{
    const char *t = sc->text;

    sc->i++;
    while (t[sc->i] != '"') {
        unsigned char c = (unsigned char)t[sc->i];

        if (c == '\\') {
            char e = t[sc->i + 1];

            if (e == 'u') {
                unsigned v;
                int k;

                for (k = 2; k < 6; k++)
                    if (!isxdigit((unsigned char)t[sc->i + (size_t)k]))
                        return fail(sc->err, sc->i, sc->path.data,
                                    "invalid \\u escape");
                v = hex4(t + sc->i + 2);

                if (v == 0)
                    return fail(sc->err, sc->i, sc->path.data,
                                "\\u0000 is not allowed in a string");
                if (key != NULL) {
                    /* Enough to compare keys: the escape's code unit. */
                    char u[16];
                    int n = snprintf(u, sizeof(u), "\\u%04x", v & 0xffff);

                    pr_buf_append(key, u, (size_t)n);
                }
                sc->i += 6;
                continue;
            }
            if (key != NULL) {
                static const char from[] = "\"\\/bfnrt";
                static const char to[] = "\"\\/\b\f\n\r\t";
                const char *f = strchr(from, e);

                if (f != NULL)
                    pr_buf_append(key, &to[f - from], 1);
            }
            sc->i += 2;
            continue;
        }
        if (c < 0x20)
            return fail(sc->err, sc->i, sc->path.data,
                        "a control character must be escaped");
        {
            size_t n =
                pr_utf8_len((const unsigned char *)t + sc->i, sc->len - sc->i);

            if (n == 0)
                return fail(sc->err, sc->i, sc->path.data,
                            "invalid UTF-8 in a string");
            if (key != NULL)
                pr_buf_append(key, t + sc->i, n);
            sc->i += n;
        }
    }
    sc->i++;
    return 0;
}

static int scan_value(struct scan *sc);

/* Cuts the path back to len bytes, keeping it NUL-terminated. */
static void
set_path_len(struct scan *sc, size_t len)
{
    sc->path.len = len;
    pr_buf_append(&sc->path, "", 1);
    sc->path.len--;
}

/* After a member of an object or array: back to the container's path,
 * then a comma or the closer must follow. */
static int
next_member(struct scan *sc, size_t base, int rc, char closer)
{
    set_path_len(sc, base);
    skip_ws(sc);
    if (rc != 0)
        return rc;
    if (sc->text[sc->i] == ',') {
        sc->i++;
        skip_ws(sc);
        return 0;
    }
    if (sc->text[sc->i] != closer)
        return fail(sc->err, sc->i, NULL, "invalid JSON");
    return 0;
}

static int
scan_object(struct scan *sc)
{
    struct keys keys = {0};
    size_t base = sc->path.len;
    int rc = 0;

    sc->i++;
    skip_ws(sc);
    while (rc == 0 && sc->text[sc->i] != '}') {
        struct pr_buf key = {0};
        size_t at = sc->i;

        rc = scan_string(sc, &key);
        pr_buf_append(&key, "", 1);
        if (rc != 0) {
            pr_buf_free(&key);
            break;
        }
        if (keys_add(&keys, key)) {
            rc = fail(sc->err, at, sc->path.data, "duplicate key \"%s\"",
                      key.data);
            break;
        }
        if (base > 0)
            pr_buf_append(&sc->path, ".", 1);
        pr_buf_append(&sc->path, key.data, key.len - 1);
        set_path_len(sc, sc->path.len);
        skip_ws(sc);
        if (sc->text[sc->i] != ':') {
            rc = fail(sc->err, sc->i, NULL, "invalid JSON");
            break;
        }
        sc->i++;
        rc = next_member(sc, base, scan_value(sc), '}');
    }
    sc->i++;
    keys_free(&keys);
    return rc;
}

static int
scan_array(struct scan *sc)
{
    size_t base = sc->path.len;
    unsigned idx = 0;
    int rc = 0;

    sc->i++;
    skip_ws(sc);
    while (rc == 0 && sc->text[sc->i] != ']') {
        char num[32];
        int n = snprintf(num, sizeof(num), "[%u]", idx++);

        pr_buf_append(&sc->path, num, (size_t)n);
        set_path_len(sc, sc->path.len);
        rc = next_member(sc, base, scan_value(sc), ']');
    }
    sc->i++;
    return rc;
}

static int
scan_value(struct scan *sc)
{
    char c;

    skip_ws(sc);
    places_add(sc->places, &sc->path, sc->i);
    c = sc->text[sc->i];
    if (c == '{')
        return scan_object(sc);
    if (c == '[')
        return scan_array(sc);
    if (c == '"')
        return scan_string(sc, NULL);
    while (sc->i < sc->len &&
           strchr("-+.0123456789eEtruefalsn", sc->text[sc->i]) &&
           sc->text[sc->i] != '\0')
        sc->i++;
    return 0;
}

/* cJSON's pass: the syntax, and the tree.  Returns it or NULL. */
static cJSON *
parse_syntax(const char *text, size_t len, struct pr_json_error *err)
{
    const char *end = NULL;
    char *copy;
    cJSON *root;
    size_t i;

    /* cJSON skips every control character as if it were white space;
     * JSON allows only tab, newline and carriage return, and none of them
     * raw inside a string (the second pass checks that). */
    for (i = 0; i < len; i++) {
        unsigned char c = (unsigned char)text[i];

        if (c < 0x20 && c != '\t' && c != '\n' && c != '\r') {
            fail(err, i, NULL, "invalid JSON: control character 0x%02x", c);
            return NULL;
        }
    }
    /* cJSON's "nothing after the value" check wants the terminating NUL
     * inside the length it is given. */
    copy = pr_xmemdup(text, len);
    root = cJSON_ParseWithLengthOpts(copy, len + 1, &end, 1);
    if (end != NULL)
        end = text + (end - copy);
    free(copy);
    if (root == NULL) {
        size_t off = end != NULL && end >= text ? (size_t)(end - text) : 0;

        if (off > len)
            off = len;
        fail(err, off, NULL,
             off >= len ? "invalid JSON: unexpected end"
                        : "invalid JSON (or bytes after the value)");
    }
    return root;
}

int
pr_json_parse_strict(const char *text, size_t len, struct pr_json_doc **out,
                     struct pr_json_error *err)
{
    cJSON *root = parse_syntax(text, len, err);
    struct pr_json_doc *doc;
    struct scan sc;
    int rc;

    if (root == NULL)
        return UV_EINVAL;
    doc = pr_xcalloc(1, sizeof(*doc));
    doc->root = root;
    memset(&sc, 0, sizeof(sc));
    sc.text = text;
    sc.len = len;
    sc.places = &doc->places;
    sc.err = err;
    set_path_len(&sc, 0);
    rc = scan_value(&sc);
    pr_buf_free(&sc.path);
    if (rc != 0) {
        pr_json_free(doc);
        return UV_EINVAL;
    }
    *out = doc;
    return 0;
}

/* The escape of ASCII byte c (a quote, a backslash or a control). */
static void
append_escape(struct pr_buf *b, unsigned char c)
{
    static const char hex[] = "0123456789abcdef";
    char e[6] = {'\\', (char)c, '0', '0', hex[c >> 4], hex[c & 15]};

    if (c == '\n' || c == '\t' || c == '\r') {
        e[1] = c == '\n' ? 'n' : c == '\t' ? 't' : 'r';
    } else if (c != '"' && c != '\\') {
        e[1] = 'u';
        pr_buf_append(b, e, 6);
        return;
    }
    pr_buf_append(b, e, 2);
}

int
pr_json_append_string(struct pr_buf *b, const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t start = b->len;
    size_t i = 0;
    size_t done = 0; /* p[0..done) is in b */

    /* Runs of bytes that need no escape go in with one append each: a
     * record's output is mostly such bytes. */
    pr_buf_reserve(b, n + 2);
    pr_buf_append(b, "\"", 1);
    while (i < n) {
        unsigned char c = p[i];

        if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') {
            i++;
        } else if (c >= 0x80) {
            size_t k = pr_utf8_len(p + i, n - i);

            if (k == 0) {
                b->len = start;
                return -1;
            }
            i += k;
        } else {
            pr_buf_append(b, p + done, i - done);
            append_escape(b, c);
            done = ++i;
        }
    }
    pr_buf_append(b, p + done, n - done);
    pr_buf_append(b, "\"", 1);
    return 0;
}
