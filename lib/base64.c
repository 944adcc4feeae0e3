/*
 * base64: see base64.h.
 */
#include "base64.h"

#include <uv.h>

static const char abc[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

void
pr_base64_encode(struct pr_buf *b, const void *p, size_t n)
{
    const unsigned char *u = p;
    char *o;
    size_t i;

    if (n == 0)
        return;
    pr_buf_reserve(b, (n + 2) / 3 * 4);
    o = b->data + b->len;
    for (i = 0; i + 2 < n; i += 3, o += 4) {
        o[0] = abc[u[i] >> 2];
        o[1] = abc[((u[i] & 3) << 4) | (u[i + 1] >> 4)];
        o[2] = abc[((u[i + 1] & 15) << 2) | (u[i + 2] >> 6)];
        o[3] = abc[u[i + 2] & 63];
    }
    if (n - i == 1) {
        o[0] = abc[u[i] >> 2];
        o[1] = abc[(u[i] & 3) << 4];
        o[2] = o[3] = '=';
        o += 4;
    } else if (n - i == 2) {
        o[0] = abc[u[i] >> 2];
        o[1] = abc[((u[i] & 3) << 4) | (u[i + 1] >> 4)];
        o[2] = abc[(u[i + 1] & 15) << 2];
        o[3] = '=';
        o += 4;
    }
    b->len = (size_t)(o - b->data);
}

/* The value of one base64 character, or -1. */
static int
value(unsigned char ch)
{
    if (ch >= 'A' && ch <= 'Z')
        return ch - 'A';
    if (ch >= 'a' && ch <= 'z')
        return ch - 'a' + 26;
    if (ch >= '0' && ch <= '9')
        return ch - '0' + 52;
    return ch == '+' ? 62 : ch == '/' ? 63 : -1;
}

int
pr_base64_decode(struct pr_buf *b, const char *s, size_t n)
{
    size_t i;

    if (n % 4 != 0)
        return UV_EINVAL;
    for (i = 0; i < n; i += 4) {
        int v[4], k, pad = 0;
        unsigned char out[3];

        for (k = 0; k < 4; k++) {
            /* '=' only at the end: the last one, or the last two. */
            if (s[i + k] == '=' && i + 4 == n && k >= 2 &&
                (k == 3 || s[i + 3] == '=')) {
                v[k] = 0;
                pad++;
                continue;
            }
            if ((v[k] = value((unsigned char)s[i + k])) < 0)
                return UV_EINVAL;
        }
        out[0] = (unsigned char)(v[0] << 2 | v[1] >> 4);
        out[1] = (unsigned char)((v[1] & 15) << 4 | v[2] >> 2);
        out[2] = (unsigned char)((v[2] & 3) << 6 | v[3]);
        pr_buf_append(b, out, (size_t)(3 - pad));
    }
    return 0;
}
