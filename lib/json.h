/*
 * json: the one wrapper around cJSON, and the one JSON string encoder.
 * Nothing else includes <cjson/cJSON.h>.  A parsed document is a tree of
 * values read through typed getters that check the type (and a number's
 * range) before they give anything.  A strict document (a job file, a
 * JSON Lines line) also knows where each of its values starts, by path,
 * since cJSON keeps no positions.  The encoder's output is what the
 * readers of --results expect byte for byte: keep it stable.
 */
#ifndef PR_JSON_H
#define PR_JSON_H

#include <stddef.h>

#include "util.h"

struct pr_json;     /* one value of a parsed document */
struct pr_json_doc; /* a parsed document: its values (and their places) */

enum pr_json_type {
    PR_JSON_NONE, /* no value: a NULL pointer (a member not there) */
    PR_JSON_NULL,
    PR_JSON_BOOL,
    PR_JSON_NUMBER,
    PR_JSON_STRING,
    PR_JSON_ARRAY,
    PR_JSON_OBJECT
};

/* Why pr_json_parse_strict refused a text.  Messages made of it are no
 * longer than its fields. */
struct pr_json_error {
    size_t offset;   /* the byte it is about */
    char path[1024]; /* the value it is in ("tasks[3].cmd"), or "" */
    char why[1024];  /* "invalid UTF-8 in a string" */
};

/* Parses text[0..len) as exactly one JSON value, white space around it
 * allowed, and refuses what cJSON alone lets through: a control character
 * between tokens or unescaped in a string, invalid UTF-8, \u0000 (a C
 * string would end there), bytes after the value, and a key used twice in
 * one object (keys compare with their escapes decoded, but a \uXXXX
 * escape only equals itself).  A value's path is its object's, a dot (not
 * at the top) and its key, or its array's and "[index]": the top value's
 * is "", then "tasks", "tasks[3]", "tasks[3].env.HOME".  Returns 0 and a
 * new document in *out (free with pr_json_free), or UV_EINVAL and *err. */
int pr_json_parse_strict(const char *text, size_t len, struct pr_json_doc **out,
                         struct pr_json_error *err);

/* The byte offset in the text where the value at path starts: of two
 * values with one path (a key with a dot in it can make that), the first;
 * 0 if none has it, or the document was parsed loosely. */
size_t pr_json_place(struct pr_json_doc *doc, const char *path);

/* Parses the value at the start of text[0..len) as cJSON reads it: bytes
 * after the value are ignored, and so are control characters between
 * tokens; strings may hold any bytes, and a \u0000 ends one; of a key used
 * twice, pr_json_member finds the first.  That is what a worker's answer
 * (a shell's printf) gets.  Returns a new document (free with
 * pr_json_free), or NULL if text does not start with a JSON value. */
struct pr_json_doc *pr_json_parse_loose(const char *text, size_t len);

/* The document's top value (NULL for a NULL doc).  Values live as long as
 * their document. */
const struct pr_json *pr_json_root(const struct pr_json_doc *doc);

/* Frees the document and all its values.  NULL is a no-op. */
void pr_json_free(struct pr_json_doc *doc);

enum pr_json_type pr_json_type(const struct pr_json *v);

/* The first member of object obj whose key is key, byte for byte; NULL if
 * there is none or obj is not an object. */
const struct pr_json *pr_json_member(const struct pr_json *obj,
                                     const char *key);

/* The members of an object or the elements of an array, in the order of
 * the text: the first (NULL if none, or v holds nothing), then the one
 * after each (NULL after the last). */
const struct pr_json *pr_json_first(const struct pr_json *v);
const struct pr_json *pr_json_next(const struct pr_json *v);

/* The key of an object's member, or NULL for any other value. */
const char *pr_json_key(const struct pr_json *v);

/* How many members or elements v holds (0 for a scalar). */
size_t pr_json_count(const struct pr_json *v);

/* The typed getters.  Each returns 0 and sets *out, or UV_EINVAL (v is of
 * another type, or out of the range) and leaves *out alone. */

/* A string, NUL-terminated, valid while its document is. */
int pr_json_get_string(const struct pr_json *v, const char **out);

/* Any number. */
int pr_json_get_number(const struct pr_json *v, double *out);

/* A whole number from min to max (both within a long's range): neither
 * 1.5 nor 1e300 slips through as a saturated or cut integer. */
int pr_json_get_whole(const struct pr_json *v, double min, double max,
                      long *out);

/* true (1) or false (0). */
int pr_json_get_bool(const struct pr_json *v, int *out);

/* Appends s[0..n) to b as a JSON string, quotes included: " and \ and the
 * control characters escaped (\n, \t and \r by name, the others and 0x7f,
 * NUL too, as \u00XX), every other byte as it is.  Bytes that are not
 * valid UTF-8 make it return -1 and leave b as it was; else 0. */
int pr_json_append_string(struct pr_buf *b, const char *s, size_t n);

#endif
