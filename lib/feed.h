/*
 * feed: --pipe's writer of one block to one task's stdin.  The task reads
 * a pipe of its own; poolrun holds the write end and fills it while the
 * task runs.  A block in memory (from a pipe or terminal) is written from
 * that memory with uv_write; a block that is a range of a regular file is
 * spliced from the file into the pipe, so its bytes never pass through
 * poolrun (splice(2); where the file system cannot splice, pread and
 * write through a small buffer).  A task that exits or closes its stdin
 * before reading all of its block ends the feed (EPIPE): what it makes of
 * that, its exit status says.
 */
#ifndef PR_FEED_H
#define PR_FEED_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

struct pr_task;

struct pr_feed {
    union {
        uv_handle_t handle;
        uv_pipe_t pipe; /* a block in memory */
        uv_poll_t poll; /* a block in a file: the pipe turns writable */
    } h;                /* first: a callback finds the feed from it */
    uv_write_t req;
    uv_close_cb close_cb;
    const struct pr_task *task;
    int fd;     /* the write end, until the handle takes it; or -1 */
    int open;   /* the handle is open */
    int copy;   /* the file cannot splice: pread and write */
    size_t fed; /* bytes of the block written or handed to libuv */
};

/* Does the task get a block on its stdin? */
int pr_feed_wanted(const struct pr_task *task);

/* Makes the task's pipe: *child_fd is the read end, for the child's
 * stdin (the caller closes it once the child has it).  Returns 0 or a
 * negative errno. */
int pr_feed_open(struct pr_feed *f, const struct pr_task *task, int *child_fd);

/* The task runs: starts writing its block.  The feed's handle gets data
 * (for close_cb, which pr_feed_close passes to uv_close) and counts as
 * open from here on.  Returns 1 if a handle was opened, 0 if not (the
 * task then reads an early EOF). */
int pr_feed_start(struct pr_feed *f, uv_loop_t *loop, void *data,
                  uv_close_cb close_cb);

/* The task never ran, or nothing is left to read the rest: the write end
 * goes, and with it the handle (through close_cb) if it was open. */
void pr_feed_close(struct pr_feed *f);

#endif
