/*
 * output: what a task writes, and how it reaches poolrun's stdout and
 * stderr.  A task's captures (capture.h) hold its streams; the sink
 * emits them as whole blocks (grouped, optionally in input order), as
 * whole lines (--line-buffer) or as raw bytes (--ungroup).  It never waits
 * for a slow reader: what a pipe, terminal or socket cannot take at once
 * waits in a queue, and the owner polls (pr_output_writer) and calls
 * pr_output_ready.  Only bytes and task records pass through here; no
 * libuv handle does.
 */
#ifndef PR_OUTPUT_H
#define PR_OUTPUT_H

#include <stddef.h>
#include <stdint.h>

struct pr_buf;
struct pr_task;
struct pr_writer;

enum pr_output_mode {
    PR_OUT_GROUP,  /* a task's output as whole blocks when it ends */
    PR_OUT_LINE,   /* whole lines as they come */
    PR_OUT_UNGROUP /* bytes as they come */
};

struct pr_output_options {
    enum pr_output_mode mode;
    int keep_order;     /* with PR_OUT_GROUP: emit in seq order */
    size_t buffer_size; /* per stream, before spilling to a file */
    int out_fd;         /* normally 1 */
    int err_fd;         /* normally 2 */
    uint64_t first_seq; /* the seq keep-order starts at (normally 1) */
    /* Called before each write to out_fd or err_fd (a progress bar clears
     * its line), or NULL. */
    void (*before_write)(void *data);
    /* Called when what pr_output_waiting, pr_output_busy or
     * pr_output_congested say has changed, or NULL. */
    void (*on_change)(void *data);
    /* Asks for pr_output_flush_batch before the loop next waits, or NULL:
     * the small grouped output of tasks that end in one loop turn then
     * goes out in one write, not one write each. */
    void (*want_flush)(void *data);
    void *hook_data;
    size_t head_limit; /* keep this much of a streamed task's output in its
                          head buffers (for --results); 0: none */
    /* Appends to b what goes on stdout right after a task's output, when
     * it is emitted (--joblog -: its row, where GNU parallel puts it), or
     * NULL.  Not called for callbacks. */
    void (*task_trailer)(void *data, const struct pr_task *task,
                         struct pr_buf *b);
};

struct pr_output;

/* Called once, on the first failed write to out_fd (EPIPE, ENOSPC...). */
typedef void pr_output_error_fn(void *data, int err);

/* Returns a new sink; free with pr_output_free. */
struct pr_output *pr_output_new(const struct pr_output_options *opts,
                                pr_output_error_fn *on_error, void *data);

/* Frees the sink and any task it still holds.  NULL is a no-op. */
void pr_output_free(struct pr_output *out);

/* Bytes that a running task wrote on stream 1 (stdout) or 2 (stderr).
 * Returns 1 when they would have gone out as they came but the sink is
 * busy: they are held, and the caller should stop reading that stream of
 * the task until pr_output_busy says 0 (on_change). */
int pr_output_data(struct pr_output *out, struct pr_task *task, int stream,
                   const char *p, size_t n);

/* Bytes after everything before them on stream (not a task's). */
void pr_output_write(struct pr_output *out, int stream, const char *p,
                     size_t n);

/* A running task's stream has bytes waiting in the pipe fd.  Where they
 * may go out at once and untouched (-u, or the oldest task with -k; no
 * --tag, no copy kept for a record, no progress bar) and the sink is a
 * pipe or a device, they are moved inside the kernel with splice(2) and
 * counted.  Returns 1 if the pipe is
 * then empty or at EOF, 0 if the caller is to read it as usual. */
int pr_output_splice(struct pr_output *out, struct pr_task *task, int stream,
                     int fd);

/* The task has its final record: the sink takes it, emits what is left of
 * its output when its turn comes, and frees it. */
void pr_output_finish(struct pr_output *out, struct pr_task *task);

/* As pr_output_finish, but out of order even with keep-order: for what
 * is not one of the numbered tasks (a callback). */
void pr_output_finish_now(struct pr_output *out, struct pr_task *task);

/* A task that will run again: what its last attempt wrote is dropped
 * (grouped) or its unfinished lines flushed (--line-buffer), and its
 * captures start empty. */
void pr_output_discard(struct pr_output *out, struct pr_task *task);

/* How stream 1 or 2 is written: while pr_output_waiting names the stream,
 * the owner polls its poll_fd (for reading when poll_read, else for
 * writing), and calls pr_output_ready when it is ready. */
const struct pr_writer *pr_output_writer(const struct pr_output *out,
                                         int stream);

/* stream's sink can take more: the queue is written until a sink is full
 * again, then the bytes that tasks held back follow.  `gone`: it failed
 * instead (the reader of a pipe behind stdout went away: that is a failed
 * write, EPIPE, even if nothing waited). */
void pr_output_ready(struct pr_output *out, int stream, int gone);

/* The stream whose sink is full (pr_output_ready will write), or 0. */
int pr_output_waiting(const struct pr_output *out);

/* Writes the loop turn's batch of small grouped output (want_flush). */
void pr_output_flush_batch(struct pr_output *out);

/* Writes what waits, as pr_output_ready does. */
void pr_output_flush(struct pr_output *out);

/* Something waits to be written (a run ends once it is out). */
int pr_output_busy(const struct pr_output *out);

/* So much waits that no new task should start: 4 --buffer-size (at least
 * 4 MiB) in the queue, memory and spill files together, or 64 blocks. */
int pr_output_congested(const struct pr_output *out);

/* Stopped by a signal: what waits is dropped, and from now on bytes a sink
 * cannot take at once are dropped too; nothing waits any more. */
void pr_output_abandon(struct pr_output *out);

/* The first error writing to out_fd, or 0. */
int pr_output_error(const struct pr_output *out);

/* Keep-order: the seq of the next task to be emitted. */
uint64_t pr_output_next_seq(const struct pr_output *out);

/* How many finished tasks wait for an earlier one (keep-order). */
size_t pr_output_pending(const struct pr_output *out);

#endif
