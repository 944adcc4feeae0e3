/*
 * json: the JSON string encoder.  It is on the path of every record of
 * --results and of every task sent to a --protocol json worker.
 */
#include "json.h"

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
