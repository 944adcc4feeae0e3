/*
 * base64: bytes as text and back (RFC 4648, with padding).  The queue
 * service carries a task's output inside JSON, which is text: a NUL byte
 * or bytes that are not UTF-8 must come out as they went in.
 */
#ifndef PR_BASE64_H
#define PR_BASE64_H

#include <stddef.h>

#include "util.h"

/* Appends p[0..n) to b as base64 (no quotes, no line breaks). */
void pr_base64_encode(struct pr_buf *b, const void *p, size_t n);

/* Appends the bytes that s[0..n) encodes to b.  Returns 0, or UV_EINVAL
 * when s is not base64 (b then holds what came before the fault). */
int pr_base64_decode(struct pr_buf *b, const char *s, size_t n);

#endif
