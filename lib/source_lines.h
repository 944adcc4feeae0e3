/*
 * source_lines: input split into items by a delimiter (newline by default).
 * The splitter is pure and keeps any partial item between reads, so items
 * of any length come out whole.  The stdin source reads a pipe, file or tty
 * on the loop, makes one task per non-empty item, and stops reading while
 * the pool's queue is full (backpressure), so memory stays flat.
 */
#ifndef PR_SOURCE_LINES_H
#define PR_SOURCE_LINES_H

#include <stddef.h>

#include "pool.h"
#include "util.h"

struct pr_splitter {
    struct pr_buf buf;
    size_t pos;     /* start of the first item not yet returned */
    size_t scanned; /* buf[pos..scanned) holds no delimiter */
    char delim;
};

void pr_splitter_init(struct pr_splitter *sp, char delim);
void pr_splitter_free(struct pr_splitter *sp);

/* Returns room for at least `want` more bytes at the end of the buffer;
 * after reading into it, call pr_splitter_commit with the count read. */
char *pr_splitter_space(struct pr_splitter *sp, size_t want);
void pr_splitter_commit(struct pr_splitter *sp, size_t n);

/* Copies n bytes in (space + memcpy + commit). */
void pr_splitter_feed(struct pr_splitter *sp, const void *p, size_t n);

/* Finds the next whole item, without its delimiter.  At end of input
 * (at_eof) a last item without a delimiter counts.  Returns 1 and sets
 * *item and *len (valid until the next space/feed call), or 0. */
int pr_splitter_next(struct pr_splitter *sp, int at_eof, const char **item,
                     size_t *len);

/* Bytes held that are not yet returned as items. */
size_t pr_splitter_pending(const struct pr_splitter *sp);

struct pr_source_lines_options {
    char delim;            /* between items: '\n', '\0' or -d's byte */
    unsigned per_task;     /* -n: items per task (0 or 1: one) */
    const char *sentinel;  /* -E: the item that ends the input, or NULL */
    int run_once_if_empty; /* no items at all: one task with none */
    const char *json_name; /* --json: each line is a task object; the
                              input's name for messages.  NULL: items */
};

/* A source that reads fds one after the other (pipes, files or ttys;
 * normally just 0) and makes a task of every per_task non-empty items.  It
 * takes the descriptors above 2 and closes them when freed, after the loop
 * has run.  A directory, or a read error, ends the input with that error
 * (pr_pool_input_end): the whole items read before it still run, the bytes
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
