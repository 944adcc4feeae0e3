/*
 * json: cJSON behind typed getters, and the JSON string encoder.  A value
 * handed out is a node of cJSON's tree under another name: the getters
 * cast it back, so walking a document costs what walking cJSON's does.
 * The encoder is on the path of every record of --results and of every
 * task sent to a --protocol json worker.
 */
#include "json.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <uv.h>

struct pr_json_doc {
    cJSON *root;
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
    free(doc);
}

enum pr_json_type
pr_json_type(const struct pr_json *v)
{
    const cJSON *c = node(v);

    if (cJSON_IsNull(c))
        return PR_JSON_NULL;
    if (cJSON_IsBool(c))
        return PR_JSON_BOOL;
    if (cJSON_IsNumber(c))
        return PR_JSON_NUMBER;
    if (cJSON_IsString(c) && c->valuestring != NULL)
        return PR_JSON_STRING;
    if (cJSON_IsArray(c))
        return PR_JSON_ARRAY;
    if (cJSON_IsObject(c))
        return PR_JSON_OBJECT;
    return PR_JSON_NONE; /* NULL (cJSON's Is* take it), or cJSON's raw */
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

int
pr_json_append_string(struct pr_buf *b, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    size_t start = b->len;

    pr_buf_reserve(b, n + 2);
    pr_buf_append(b, "\"", 1);
    while (i < n) {
        unsigned char c = p[i];
        size_t k;

        if (c >= 0x80) {
            k = pr_utf8_len(p + i, n - i);
            if (k == 0) {
                b->len = start;
                return -1;
            }
            pr_buf_append(b, p + i, k);
            i += k;
            continue;
        }
        if (c == '"' || c == '\\') {
            char e[2] = {'\\', (char)c};

            pr_buf_append(b, e, 2);
        } else if (c == '\n') {
            pr_buf_append(b, "\\n", 2);
        } else if (c == '\t') {
            pr_buf_append(b, "\\t", 2);
        } else if (c == '\r') {
            pr_buf_append(b, "\\r", 2);
        } else if (c < 0x20 || c == 0x7f) {
            char e[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};

            pr_buf_append(b, e, 6);
        } else {
            pr_buf_append(b, &c, 1);
        }
        i++;
    }
    pr_buf_append(b, "\"", 1);
    return 0;
}
