/*
 * source_pipe: --pipe.  Standard input is cut into blocks of about --block
 * bytes, each ending at a record end (--recend), and each block becomes
 * one task that gets it on its stdin.  The block is read straight into
 * the memory the task then owns; only the partial record at its end is
 * copied, to start the next block.  Reading stops while the queue is full,
 * so at most queue + running + 1 blocks are held.
 */
#ifndef PR_SOURCE_PIPE_H
#define PR_SOURCE_PIPE_H

#include <stddef.h>
#include <uv.h>

#include "source.h"

struct pr_source_pipe_options {
    size_t block;       /* bytes a block aims at (1 or more) */
    const char *recend; /* a record ends with these bytes (not empty) */
    size_t recend_len;
};

/* A source that reads fd (a pipe, file or tty; its flags put back; read
 * as a stream, a descriptor above 2 is closed with its handle, while a
 * seekable file's stays open: its blocks are ranges of it that the tasks
 * read) and puts one task per block, whose command the pool builds from
 * COMMAND with no item.  A block is the longest run of whole records
 * that fits in o->block bytes; a record longer than that is a block of
 * its own; at EOF what is left is the last block, record end or not.
 * Empty input puts no task.  o is copied. */
struct pr_source *pr_source_pipe_new(uv_loop_t *loop, int fd,
                                     const struct pr_source_pipe_options *o);

/* Where the first block of buf[0..len) ends: just past the last record
 * end that ends within block bytes, else past the first one after them
 * (searched from *scanned on, which it moves along); at_eof, len at the
 * latest.  Returns 0 when no block can end yet.  Pure: for the tests. */
size_t pr_pipe_cut(const char *buf, size_t len, size_t block,
                   const char *recend, size_t recend_len, int at_eof,
                   size_t *scanned);

#endif
