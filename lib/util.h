/*
 * util: allocation that never returns NULL, a growable byte buffer, clocks,
 * a write loop for blocking descriptors and the fresh line an appended file
 * of records starts on.  Everything here is free of libuv handles and safe
 * to use from any module.
 */
#ifndef PR_UTIL_H
#define PR_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#define PR_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/*
 * An intrusive, circular, doubly linked list: the node lives inside the
 * element, so linking never allocates.  An empty list points at itself.
 */
struct pr_list {
    struct pr_list *next;
    struct pr_list *prev;
};

#define PR_CONTAINER_OF(ptr, type, field)                                      \
    ((type *)(void *)((char *)(ptr)-offsetof(type, field)))

static inline void
pr_list_init(struct pr_list *l)
{
    l->next = l;
    l->prev = l;
}

static inline int
pr_list_empty(const struct pr_list *l)
{
    return l->next == l;
}

/* Insert n before pos (pos == head appends at the tail). */
static inline void
pr_list_insert_before(struct pr_list *pos, struct pr_list *n)
{
    n->prev = pos->prev;
    n->next = pos;
    pos->prev->next = n;
    pos->prev = n;
}

static inline void
pr_list_remove(struct pr_list *n)
{
    n->prev->next = n->next;
    n->next->prev = n->prev;
    n->next = n;
    n->prev = n;
}

/* Allocate or abort with a message: callers never check for NULL. */
void *pr_xmalloc(size_t n);
void *pr_xcalloc(size_t n, size_t size);
void *pr_xrealloc(void *p, size_t n);
char *pr_xstrdup(const char *s);
char *pr_xmemdup(const void *p, size_t n); /* adds a NUL terminator */

/* A growable byte buffer.  Zero-initialise it; free with pr_buf_free. */
struct pr_buf {
    char *data;
    size_t len;
    size_t cap;
};

void pr_buf_reserve(struct pr_buf *b, size_t extra);
void pr_buf_append(struct pr_buf *b, const void *p, size_t n);
void pr_buf_free(struct pr_buf *b);

/* Appends fmt's text, as vprintf would write it. */
void pr_buf_vappendf(struct pr_buf *b, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));
void pr_buf_appendf(struct pr_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Opens a new private temporary file in $TMPDIR (or /tmp), already
 * unlinked and close-on-exec.  Returns the descriptor or -errno. */
int pr_tmpfile(void);

/* Seconds since the epoch, with sub-second precision. */
double pr_wall_time(void);

/*
 * Write all of buf to fd, retrying on EINTR and short writes, and waiting
 * with poll() when the descriptor is non-blocking.  Returns 0 or -errno.
 */
int pr_write_all(int fd, const void *buf, size_t n);

/* For a writer of records (the joblog, the results file) about to append
 * to fd, opened from path: if it is a regular file whose last byte is not
 * a newline (a record cut short), writes a newline, so that the next
 * record starts a line of its own and the fragment stays a line that
 * readers skip.  Returns 0 or a negative errno. */
int pr_records_fresh_line(int fd, const char *path);

/*
 * Parse a whole decimal integer in [min, max] into *out.  Returns 0, or
 * UV_EINVAL when s is not a number and UV_ERANGE when it is out of range.
 */
int pr_parse_long(const char *s, long min, long max, long *out);

/* The largest size any option takes: 1 TiB. */
#define PR_SIZE_MAX ((uint64_t)1 << 40)

/*
 * Parse a size in bytes: a decimal number, fractions allowed, with an
 * optional K, M, G or T (powers of 1024, either case): 1.5G.  The bytes
 * are rounded down; the result must be from 1 to PR_SIZE_MAX.  Returns 0,
 * or UV_EINVAL when s is not a size and UV_ERANGE when it is out of range.
 */
int pr_parse_size(const char *s, uint64_t *out);

/*
 * Every time value, whatever its source (--timeout, --kill-after, --delay,
 * --retry-delay, --grace, a job file's timeout), is a number of seconds
 * from 0 to PR_SECONDS_MAX: about 31 years, past any task's need and far
 * from where its milliseconds would overflow a timer.
 */
#define PR_SECONDS_MAX      1e9
#define PR_SECONDS_MAX_TEXT "1000000000"

/* Is s such a number?  NaN, infinities and negatives are not. */
int pr_seconds_valid(double s);

/* s seconds as timer milliseconds, rounded.  Defined for any double: NaN
 * and negatives give 0, anything past PR_SECONDS_MAX (a retry delay grown
 * by its factor, say) gives PR_SECONDS_MAX's milliseconds. */
uint64_t pr_seconds_to_ms(double s);

/* Parse a number of seconds such as "2" or "0.25" (see pr_seconds_valid).
 * Returns 0, UV_EINVAL when s is not a number, UV_ERANGE when it is out of
 * range. */
int pr_parse_seconds(const char *s, double *out);

/* Length of the valid UTF-8 sequence at p (1 to 4 bytes, at most avail),
 * or 0 if none starts there. */
size_t pr_utf8_len(const unsigned char *p, size_t avail);

/* "SIGTERM" for 15; "signal" for one without a name here. */
const char *pr_signal_name(int sig);

/* What the error err (a negative errno, as libuv's codes are) means, in
 * the one wording of poolrun's messages: libuv's, lower case ("no such
 * file or directory"; but "is a directory"); strerror's for a code libuv
 * does not name. */
const char *pr_err_text(int err);

/* 15 for "SIGTERM", "TERM", "term" or "15"; -1 if it names none. */
int pr_signal_number(const char *name);

/* A hash of the NUL-terminated string s (FNV-1a), for string sets. */
uint64_t pr_str_hash(const char *s);

#endif
