/*
 * source_lines: input split into items by a delimiter (newline by default).
 * The splitter is pure and keeps any partial item between reads, so items
 * of any length come out whole.  The stdin source reads a pipe, file or tty
 * on the loop, makes one task per non-empty item, and stops reading while
 * its intake is not accepting (backpressure), so memory stays flat.
 */
#ifndef PR_SOURCE_LINES_H
#define PR_SOURCE_LINES_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "source.h"
#include "util.h"

/* An item longer than PR_ITEM_MAX bytes is long: it is not held in memory
 * (so one endless line keeps memory flat).  Tasks and records see its
 * first PR_ITEM_HEAD bytes and its length. */
#define PR_ITEM_MAX  ((size_t)1024 * 1024)
#define PR_ITEM_HEAD ((size_t)1024)

/* What the splitter kept of a long item. */
struct pr_long_item {
    uint64_t len; /* its length */
    int fd;       /* kept: a private temporary file holding all of it (from
                     offset 0), now the taker's to close; else -1 */
    int err;      /* to be kept, but it could not be: the negative error
                     writing it, or UV_EINVAL when it holds a NUL byte (a
                     long item is kept to run as a shell line, and no
                     shell line can hold one); else 0 */
};

struct pr_splitter {
    struct pr_buf buf;
    size_t pos;     /* start of the first item not yet returned */
    size_t scanned; /* buf[pos..scanned) holds no delimiter */
    char delim;
    size_t max;         /* items longer than this are long; 0: no limit */
    int keep;           /* keep long items whole in a temporary file */
    int in_long;        /* the item being read is long: buf no longer has
                           its start */
    int long_ready;     /* the item last returned was long, not yet taken */
    struct pr_buf head; /* a long item's first bytes */
    struct pr_long_item cur; /* and the rest of what is known of it */
};

void pr_splitter_init(struct pr_splitter *sp, char delim);
void pr_splitter_free(struct pr_splitter *sp);

/* Items longer than max bytes (0: none) are long: their bytes are dropped
 * from memory as they come, after their head; with keep, into a private
 * temporary file ($TMPDIR), written as they arrive. */
void pr_splitter_set_long(struct pr_splitter *sp, size_t max, int keep);

/* Returns room for at least `want` more bytes at the end of the buffer;
 * after reading into it, call pr_splitter_commit with the count read. */
char *pr_splitter_space(struct pr_splitter *sp, size_t want);
void pr_splitter_commit(struct pr_splitter *sp, size_t n);

/* Copies n bytes in (space + memcpy + commit). */
void pr_splitter_feed(struct pr_splitter *sp, const void *p, size_t n);

/* Finds the next whole item, without its delimiter.  At end of input
 * (at_eof) a last item without a delimiter counts.  Returns 1 and sets
 * *item and *len (valid until the next space/feed call), or 0.  For a
 * long item they are its head: see pr_splitter_take_long. */
int pr_splitter_next(struct pr_splitter *sp, int at_eof, const char **item,
                     size_t *len);

/* After pr_splitter_next returned an item: was it long?  Returns 1 and
 * fills *li (its file, if any, is then the caller's), or 0.  A long item
 * not taken has its file closed at the next call of pr_splitter_next. */
int pr_splitter_take_long(struct pr_splitter *sp, struct pr_long_item *li);

/* Bytes held in memory that are not yet returned as items. */
size_t pr_splitter_pending(const struct pr_splitter *sp);

struct pr_source_lines_options {
    char delim;            /* between items: '\n', '\0' or -d's byte */
    unsigned per_task;     /* -n: items per task (0 or 1: one) */
    const char *sentinel;  /* -E: the item that ends the input, or NULL */
    int run_once_if_empty; /* no items at all: one task with none */
    const char *json_name; /* --json: each line is a task object; the
                              input's name for messages.  NULL: items */
    int keep_long;         /* items are shell lines (no COMMAND, no
                              workers): a long one runs whole from a
                              private temporary file.  Otherwise a long
                              item's task is an error record. */
};

/* A source that reads fds one after the other (pipes, files or ttys;
 * normally just 0) and makes a task of every per_task non-empty items.  It
 * takes the descriptors above 2 and closes them when freed, after the loop
 * has run.  A directory, or a read error, ends the input with that error
 * (the intake's end): the whole items read before it still run, the bytes
 * after the last delimiter do not, and nothing more is read. */
struct pr_source *pr_source_lines_new(uv_loop_t *loop, const int *fds,
                                      int nfds,
                                      const struct pr_source_lines_options *o);

/* Which of the lines source's fds (an index) could not be read, when its
 * input ended with an error; -1 if none. */
int pr_source_lines_failed_input(const struct pr_source *src);

/* A source of the given items (::: ITEM...), which it borrows. */
struct pr_source *pr_source_args_new(char **items, int nitems,
                                     const struct pr_source_lines_options *o);

#endif
