/*
 * json: the one JSON string encoder (results, worker requests).  Its
 * output is what the readers of --results expect byte for byte: keep it
 * stable.  A string that is not valid UTF-8 is refused whole, so the
 * caller picks what to write instead (results.c writes base64).
 */
#ifndef PR_JSON_H
#define PR_JSON_H

#include <stddef.h>

#include "util.h"

/* Appends s[0..n) to b as a JSON string, quotes included: " and \ and the
 * control characters escaped (\n, \t and \r by name, the others and 0x7f,
 * NUL too, as \u00XX), every other byte as it is.  Bytes that are not
 * valid UTF-8 make it return -1 and leave b as it was; else 0. */
int pr_json_append_string(struct pr_buf *b, const char *s, size_t n);

#endif
