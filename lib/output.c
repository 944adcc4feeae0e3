/*
 * output: the sink.  stdout and stderr are shared with the
 * shell, so they never become non-blocking themselves: a pipe, terminal or
 * socket is written without waiting (see pr_sys_writer_open), and whatever
 * it cannot take at once waits, in order, in one queue for both streams
 * until the owner's poll says it can (pr_output_ready).  A
 * finished task's capture joins that queue as it is, memory and spill
 * file, never copied.  While anything waits, bytes that would have gone
 * out as they came (-u, --line-buffer, the oldest task of -k) are held in
 * their task's capture and the owner is asked to stop reading that stream
 * of the task, which then waits in its own write.  After the first failed write
 * to stdout, stdout output is dropped and the owner is told once, so a closed
 * pipe stops the run instead of being retried for every task.
 */
#include "output.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "capture.h"
#include "sys.h"
#include "task.h"

#define COPY_CHUNK   ((size_t)64 * 1024)
#define SPLICE_CHUNK ((size_t)1024 * 1024)
/* All tasks' captures together hold at most 4 --buffer-size, and at least
 * this much, in memory. */
#define PR_OUTPUT_MIN_BUDGET ((size_t)4 * 1024 * 1024)
/* Captures reuse the memory of emitted ones: a fresh buffer costs a page
 * fault per 4 KiB, which showed as the largest item of grouped output. */
#define SPARE_BUFFERS 4
#define SPARE_MAX     ((size_t)2 * 1024 * 1024)
/* While stdout is slow, at most this many blocks wait in the queue before
 * no new task starts (each may hold a spill file's descriptor). */
#define QUEUE_MAX_ENTRIES 64
/* Bytes that must be copied into the queue join the last block of the
 * same stream, up to this size; so do small captures. */
#define COALESCE_MAX  ((size_t)256 * 1024)
#define SMALL_CAPTURE ((size_t)16 * 1024)
/* A loop turn's batch of small grouped output is written once it holds
 * this much. */
#define BATCH_MAX ((size_t)64 * 1024)

/* A block waiting to be written: a capture's spill file from 0 to spilled,
 * then its memory; `off` bytes of that have gone out. */
struct qentry {
    struct qentry *next;
    int stream;
    struct pr_capture cap;
    uint64_t off;
    size_t counted; /* its share of mem_held */
};

struct pr_output {
    struct pr_output_options opts;
    pr_output_error_fn *on_error;
    void *data;
    int error;              /* first failed write to out_fd */
    int err_broken;         /* stderr is gone: stop trying */
    uint64_t next_seq;      /* keep-order: the seq to emit next */
    struct pr_list pending; /* keep-order: finished, sorted by seq */
    size_t npending;
    struct pr_buf tagged;               /* --tag: scratch for tagged bytes */
    struct pr_buf trailer;              /* task_trailer's scratch */
    size_t mem_held;                    /* capture and queue memory together */
    size_t mem_budget;                  /* past it, captures spill at once */
    struct pr_buf spare[SPARE_BUFFERS]; /* emitted captures' memory, kept
                                           for the next ones */
    size_t nspare;
    int splice_state[2]; /* per stream: 0 not tried, 1 works, -1 not used */
    int sink_is_pipe[2];
    struct pr_writer w[2]; /* how stdout and stderr are written */
    struct qentry *qhead;  /* what waits for the sinks, oldest first */
    struct qentry *qtail;
    size_t nqueued;
    uint64_t queued;       /* bytes in the queue not yet written */
    int waiting;           /* the stream whose sink is full, or 0 */
    int pumping;           /* in pump(): do not re-enter */
    int abandoned;         /* pr_output_abandon: nothing waits any more */
    struct pr_task **held; /* tasks holding back bytes, oldest first */
    size_t nheld;
    size_t held_cap;
    char *scratch; /* copying a spill file by hand */
    /* Small grouped output of tasks that ended in this loop turn, of one
     * stream, newer than everything queued: written before any other
     * byte goes out, and at the turn's end (want_flush). */
    struct pr_buf batch;
    int batch_stream;
    int batch_asked;
    /* What the owner was last told, for on_change. */
    int told_waiting;
    int told_busy;
    int told_congested;
};

struct pr_output *
pr_output_new(const struct pr_output_options *opts,
              pr_output_error_fn *on_error, void *data)
{
    struct pr_output *out = pr_xcalloc(1, sizeof(*out));

    out->opts = *opts;
    out->on_error = on_error;
    out->data = data;
    out->next_seq = opts->first_seq ? opts->first_seq : 1;
    out->mem_budget = opts->buffer_size * 4 > PR_OUTPUT_MIN_BUDGET
                          ? opts->buffer_size * 4
                          : PR_OUTPUT_MIN_BUDGET;
    pr_list_init(&out->pending);
    pr_sys_writer_open(&out->w[0], opts->out_fd);
    pr_sys_writer_open(&out->w[1], opts->err_fd);
    return out;
}

static void
free_entry(struct pr_output *out, struct qentry *e)
{
    out->mem_held -= e->counted;
    pr_capture_free(&e->cap);
    free(e);
}

void
pr_output_free(struct pr_output *out)
{
    if (out == NULL)
        return;
    while (!pr_list_empty(&out->pending)) {
        struct pr_list *n = out->pending.next;

        pr_list_remove(n);
        pr_task_free(PR_CONTAINER_OF(n, struct pr_task, node));
    }
    while (out->qhead != NULL) {
        struct qentry *e = out->qhead;

        out->qhead = e->next;
        free_entry(out, e);
    }
    pr_buf_free(&out->tagged);
    pr_buf_free(&out->trailer);
    pr_buf_free(&out->batch);
    while (out->nspare > 0)
        pr_buf_free(&out->spare[--out->nspare]);
    pr_sys_writer_close(&out->w[0]);
    pr_sys_writer_close(&out->w[1]);
    free(out->held);
    free(out->scratch);
    free(out);
}

static void pump(struct pr_output *out);

static int
stream_ok(const struct pr_output *out, int stream)
{
    return stream == 2 ? !out->err_broken : out->error == 0;
}

static void
note_result(struct pr_output *out, int stream, int rc)
{
    if (rc == 0 || rc == -EAGAIN)
        return;
    if (stream == 2) {
        out->err_broken = 1;
        return;
    }
    if (out->error == 0) {
        out->error = rc;
        if (out->on_error != NULL)
            out->on_error(out->data, rc);
    }
}

static int
busy(const struct pr_output *out)
{
    return out->qhead != NULL || out->waiting != 0;
}

static int
congested(const struct pr_output *out)
{
    return out->queued >= out->mem_budget || out->nqueued >= QUEUE_MAX_ENTRIES;
}

/* The sink for stream is full: wait until it can take more.  After
 * pr_output_abandon nothing waits. */
static void
set_wait(struct pr_output *out, int stream)
{
    if (!out->abandoned)
        out->waiting = stream;
}

/* Tells the owner what changed (once per change, at the end of each call
 * into the sink). */
static void
settle(struct pr_output *out)
{
    int b = busy(out);
    int c = congested(out);

    if (out->told_waiting == out->waiting && out->told_busy == b &&
        out->told_congested == c)
        return;
    out->told_waiting = out->waiting;
    out->told_busy = b;
    out->told_congested = c;
    if (out->opts.on_change != NULL)
        out->opts.on_change(out->opts.hook_data);
}

static void
push_entry(struct pr_output *out, struct qentry *e)
{
    e->next = NULL;
    if (out->qtail != NULL)
        out->qtail->next = e;
    else
        out->qhead = e;
    out->qtail = e;
    out->nqueued++;
    out->queued += e->cap.spilled + e->cap.mem.len - e->off;
}

/* Copies n bytes to the end of the queue. */
static void
enqueue_bytes(struct pr_output *out, int stream, const char *p, size_t n)
{
    struct qentry *e = out->qtail;
    size_t before;

    if (n == 0)
        return;
    if (e == NULL || e->stream != stream || e->cap.mem.len + n > COALESCE_MAX) {
        e = pr_xcalloc(1, sizeof(*e));
        pr_capture_init(&e->cap);
        e->stream = stream;
        if (out->nspare > 0) {
            e->cap.mem = out->spare[--out->nspare];
            e->counted = e->cap.mem.cap;
            out->mem_held += e->counted;
        }
        push_entry(out, e);
    }
    before = e->cap.mem.cap;
    pr_buf_append(&e->cap.mem, p, n);
    e->counted += e->cap.mem.cap - before;
    out->mem_held += e->cap.mem.cap - before;
    out->queued += n;
}

/* Moves what is left of c from off on to the end of the queue: the spill
 * file and the memory change hands, c keeps only its counts.  `counted`:
 * c's memory is already part of mem_held.  A small capture is copied
 * instead, into the block before it, and c is left as it was. */
static void
enqueue_capture(struct pr_output *out, int stream, struct pr_capture *c,
                uint64_t off, int counted)
{
    struct qentry *e;

    if (c->spilled + c->mem.len <= off)
        return;
    if (c->spill_fd < 0 && c->mem.len - off <= SMALL_CAPTURE &&
        out->qtail != NULL && out->qtail->stream == stream &&
        out->qtail->cap.mem.len + (c->mem.len - off) <= COALESCE_MAX) {
        enqueue_bytes(out, stream, c->mem.data + off, c->mem.len - off);
        return;
    }
    e = pr_xcalloc(1, sizeof(*e));
    e->stream = stream;
    e->cap = *c;
    e->off = off;
    e->counted = c->mem.cap;
    if (!counted)
        out->mem_held += c->mem.cap;
    memset(&c->mem, 0, sizeof(c->mem));
    c->spill_fd = -1;
    c->spilled = 0;
    push_entry(out, e);
}

static void
before_write(struct pr_output *out)
{
    if (out->opts.before_write != NULL)
        out->opts.before_write(out->opts.hook_data);
}

/* Writes c from *off (its spill file, then its memory) to stream's sink,
 * advancing *off.  Returns 0 when all is out, -EAGAIN when the sink is
 * full, or -errno. */
static int
write_capture(struct pr_output *out, int stream, const struct pr_capture *c,
              uint64_t *off)
{
    struct pr_writer *w = &out->w[stream == 2];
    int by_hand = 0;
    size_t done;
    int rc;

    before_write(out);
    while (*off < c->spilled) {
        off_t o = (off_t)*off;
        ssize_t r;

        if (!by_hand) {
            rc = pr_sys_writer_copy(w, c->spill_fd, &o, (off_t)c->spilled);
            *off = (uint64_t)o;
            if (rc <= 0) {
                if (rc < 0)
                    return rc;
                continue;
            }
            by_hand = 1;
        }
        /* The kernel cannot copy it here: read and write a chunk. */
        if (out->scratch == NULL)
            out->scratch = pr_xmalloc(COPY_CHUNK);
        r = pread(c->spill_fd, out->scratch,
                  c->spilled - *off < COPY_CHUNK ? c->spilled - *off
                                                 : COPY_CHUNK,
                  (off_t)*off);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return -errno;
        if (r == 0) {
            *off = c->spilled; /* shorter than counted: nothing more */
            break;
        }
        rc = pr_sys_writer_write(w, out->scratch, (size_t)r, &done);
        *off += done;
        if (rc != 0)
            return rc;
    }
    /* Memory holds everything (no spill) or what came after a full disk. */
    if (*off - c->spilled < c->mem.len) {
        size_t moff = (size_t)(*off - c->spilled);

        rc = pr_sys_writer_write(w, c->mem.data + moff, c->mem.len - moff,
                                 &done);
        *off += done;
        return rc;
    }
    return 0;
}

static void write_stream(struct pr_output *out, int stream, const char *p,
                         size_t n);

/* The batch goes out (or to the queue) before any later byte. */
static void
batch_flush(struct pr_output *out)
{
    size_t n = out->batch.len;

    if (n == 0)
        return;
    out->batch.len = 0;
    write_stream(out, out->batch_stream, out->batch.data, n);
}

/* A finished task's small grouped output joins the batch, if nothing
 * waits; returns 0 if it did not (the caller writes it as before). */
static int
batch_capture(struct pr_output *out, int stream, const struct pr_capture *c)
{
    if (out->opts.want_flush == NULL || busy(out) || c->spill_fd >= 0 ||
        c->mem.len > SMALL_CAPTURE || !stream_ok(out, stream))
        return 0;
    if (c->mem.len == 0)
        return 1;
    if (out->batch.len > 0 && (out->batch_stream != stream ||
                               out->batch.len + c->mem.len > BATCH_MAX))
        batch_flush(out);
    out->batch_stream = stream;
    pr_buf_append(&out->batch, c->mem.data, c->mem.len);
    if (!out->batch_asked) {
        out->batch_asked = 1;
        out->opts.want_flush(out->opts.hook_data);
    }
    return 1;
}

/* Bytes in order after everything before them: written now if nothing
 * waits and the sink takes them, else copied to the queue. */
static void
write_stream(struct pr_output *out, int stream, const char *p, size_t n)
{
    size_t done;
    int rc;

    if (n == 0 || !stream_ok(out, stream))
        return;
    batch_flush(out);
    if (busy(out)) {
        enqueue_bytes(out, stream, p, n);
        return;
    }
    before_write(out);
    rc = pr_sys_writer_write(&out->w[stream == 2], p, n, &done);
    if (rc == -EAGAIN && !out->abandoned) {
        enqueue_bytes(out, stream, p + done, n - done);
        set_wait(out, stream);
    }
    note_result(out, stream, rc);
}

/* A capture (its memory counted in mem_held) after everything before it:
 * written now as far as the sink takes it, the rest handed to the queue. */
static void
emit_capture(struct pr_output *out, int stream, struct pr_capture *c)
{
    uint64_t off = 0;
    int rc;

    if (!stream_ok(out, stream) || c->spilled + c->mem.len == 0)
        return;
    batch_flush(out);
    if (busy(out)) {
        enqueue_capture(out, stream, c, 0, 1);
        return;
    }
    rc = write_capture(out, stream, c, &off);
    if (rc == -EAGAIN && !out->abandoned) {
        enqueue_capture(out, stream, c, off, 1);
        set_wait(out, stream);
    }
    note_result(out, stream, rc);
}

static void keep_spare(struct pr_output *out, struct pr_buf *b);

/* Emits c (a finished task's whole grouped output: may_batch) and lets
 * go of its memory and spill file; c keeps its counts. */
static void
drain_capture(struct pr_output *out, int stream, struct pr_capture *c,
              int may_batch)
{
    if (!may_batch || !batch_capture(out, stream, c))
        emit_capture(out, stream, c);
    out->mem_held -= c->mem.cap;
    keep_spare(out, &c->mem);
    pr_buf_free(&c->mem);
    if (c->spill_fd >= 0)
        close(c->spill_fd);
    c->spill_fd = -1;
    c->spilled = 0;
}

/* --line-buffer: write every complete line held, keep the partial one. */
static void
flush_lines(struct pr_output *out, int stream, struct pr_capture *c, int final)
{
    struct pr_buf *m = &c->mem;
    size_t upto = m->len;

    if (!final) {
        const char *nl = NULL;
        size_t i = m->len;

        while (i > 0) {
            if (m->data[i - 1] == '\n') {
                nl = m->data + i - 1;
                break;
            }
            i--;
        }
        /* A partial line longer than the buffer goes out rather than grow
         * without bound. */
        if (nl == NULL && m->len <= out->opts.buffer_size)
            return;
        if (nl != NULL)
            upto = (size_t)(nl - m->data) + 1;
    }
    if (upto == 0)
        return;
    write_stream(out, stream, m->data, upto);
    if (m->len > upto)
        memmove(m->data, m->data + upto, m->len - upto);
    m->len -= upto;
}

/* The task has bytes held back, to go out once the queue is empty; it is
 * not to be read meanwhile (returns 1). */
static int
hold_task(struct pr_output *out, struct pr_task *task)
{
    size_t i;

    for (i = 0; i < out->nheld; i++)
        if (out->held[i] == task)
            return 1;
    if (out->nheld == out->held_cap) {
        out->held_cap = out->held_cap ? out->held_cap * 2 : 8;
        out->held = pr_xrealloc(out->held, out->held_cap * sizeof(*out->held));
    }
    out->held[out->nheld++] = task;
    return 1;
}

/* Forgets task as one holding bytes back; returns 1 if it was. */
static int
unhold_task(struct pr_output *out, const struct pr_task *task)
{
    size_t i;

    for (i = 0; i < out->nheld; i++)
        if (out->held[i] == task) {
            memmove(&out->held[i], &out->held[i + 1],
                    (out->nheld - i - 1) * sizeof(*out->held));
            out->nheld--;
            return 1;
        }
    return 0;
}

static int dispatch(struct pr_output *out, struct pr_task *task, int stream,
                    const char *p, size_t n);

/* --tag: the task's tag before every line it writes. */
static int
tag_lines(struct pr_output *out, struct pr_task *task, int stream,
          const char *p, size_t n)
{
    struct pr_capture *c = stream == 2 ? &task->err : &task->out;
    struct pr_buf *b = &out->tagged;
    const char *end = p + n;
    int hold;

    b->len = 0;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *stop = nl != NULL ? nl + 1 : end;

        if (!c->mid_line)
            pr_buf_append(b, task->tag, task->tag_len);
        pr_buf_append(b, p, (size_t)(stop - p));
        c->mid_line = nl == NULL;
        p = stop;
    }
    hold = dispatch(out, task, stream, b->data, b->len);
    c->total -= b->len - n;
    return hold;
}

int
pr_output_data(struct pr_output *out, struct pr_task *task, int stream,
               const char *p, size_t n)
{
    int hold;

    if (task->tag != NULL && n > 0)
        hold = tag_lines(out, task, stream, p, n);
    else
        hold = dispatch(out, task, stream, p, n);
    settle(out);
    return hold && busy(out);
}

static void
head_append(struct pr_output *out, struct pr_task *task, int stream,
            const char *p, size_t n)
{
    struct pr_buf *h = &task->head[stream == 2];

    if (h->len < out->opts.head_limit) {
        size_t room = out->opts.head_limit - h->len;

        pr_buf_append(h, p, n < room ? n : room);
    }
}

/* Keep-order: the oldest task's output can go out as it comes, since no
 * other output may precede it; what it captured so far goes first.  This
 * spares the copy through memory or a spill file for one task in -j. */
static void
start_streaming(struct pr_output *out, struct pr_task *task)
{
    struct pr_capture *cs[2] = {&task->out, &task->err};
    int i;

    task->streaming = 1;
    for (i = 0; i < 2; i++) {
        if (out->opts.head_limit > 0)
            pr_capture_head(cs[i], &task->head[i], out->opts.head_limit);
        drain_capture(out, i + 1, cs[i], 0);
    }
}

/* Grouped capture: in memory up to --buffer-size, then in a file. */
static void
capture_add(struct pr_output *out, struct pr_capture *c, const char *p,
            size_t n)
{
    /* Past the budget for all tasks together, a capture goes to its file
     * at once, however little it holds: with -k many finished tasks may
     * wait, and memory must stay bounded all the same. */
    size_t before = c->mem.cap;
    size_t limit = out->opts.buffer_size;

    if (out->mem_held + n > out->mem_budget)
        limit = 0;
    if (c->mem.data == NULL && c->spill_fd < 0 && limit > 0 &&
        out->nspare > 0) {
        c->mem = out->spare[--out->nspare];
        before = c->mem.cap;
        out->mem_held += before;
    }
    pr_capture_append(c, p, n, limit);
    out->mem_held = out->mem_held - before + c->mem.cap;
}

/* Returns 1 when the bytes would go out as they come (the caller is to
 * stop reading this stream of the task if the sink is busy now). */
static int
dispatch(struct pr_output *out, struct pr_task *task, int stream, const char *p,
         size_t n)
{
    struct pr_capture *c = stream == 2 ? &task->err : &task->out;

    if (out->opts.mode == PR_OUT_GROUP && out->opts.keep_order &&
        !task->no_stream && task->seq == out->next_seq) {
        if (busy(out)) {
            /* Before it streams, its head comes from the capture. */
            if (task->streaming && out->opts.head_limit > 0)
                head_append(out, task, stream, p, n);
            capture_add(out, c, p, n);
            return hold_task(out, task);
        }
        if (!task->streaming)
            start_streaming(out, task);
        c->total += n;
        if (out->opts.head_limit > 0)
            head_append(out, task, stream, p, n);
        write_stream(out, stream, p, n);
        return 1;
    }
    switch (out->opts.mode) {
    case PR_OUT_UNGROUP:
        if (busy(out)) {
            capture_add(out, c, p, n);
            return hold_task(out, task);
        }
        c->total += n;
        write_stream(out, stream, p, n);
        return 1;
    case PR_OUT_LINE:
        c->total += n;
        pr_buf_append(&c->mem, p, n);
        if (busy(out))
            return hold_task(out, task);
        flush_lines(out, stream, c, 0);
        return 1;
    case PR_OUT_GROUP:
    default:
        capture_add(out, c, p, n);
        return 0;
    }
}

/* Bytes that go out untouched as they come, from task's stream now? */
static int
passes_through(struct pr_output *out, const struct pr_task *task, int stream)
{
    if (task->tag != NULL || out->opts.before_write != NULL ||
        out->opts.head_limit > 0 || !stream_ok(out, stream) || busy(out))
        return 0;
    if (out->opts.mode == PR_OUT_UNGROUP)
        return 1;
    return out->opts.mode == PR_OUT_GROUP && out->opts.keep_order &&
           !task->no_stream && task->seq == out->next_seq;
}

static int
splice_out(struct pr_output *out, struct pr_task *task, int stream, int fd)
{
    struct pr_capture *c = stream == 2 ? &task->err : &task->out;
    int i = stream == 2;
    struct pr_writer *w = &out->w[i];
    int retried = 0;

    if (out->splice_state[i] < 0 || !passes_through(out, task, stream))
        return 0;
    if (out->splice_state[i] == 0) {
        enum pr_sink_kind kind = pr_sys_sink_kind(w->wfd);

        out->sink_is_pipe[i] = kind == PR_SINK_PIPE;
        if (kind == PR_SINK_OTHER || w->kind == PR_WRITER_SOCKET) {
            out->splice_state[i] = -1;
            return 0;
        }
    }
    batch_flush(out);
    if (out->opts.mode == PR_OUT_GROUP && !task->streaming) {
        start_streaming(out, task);
        if (busy(out))
            return 0; /* what it had captured waits: read, and hold */
    }
    for (;;) {
        ssize_t n = pr_sys_splice(fd, w->wfd, SPLICE_CHUNK);

        if (n > 0) {
            out->splice_state[i] = 1;
            c->total += (size_t)n;
            retried = 0;
            continue;
        }
        if (n == 0)
            return 1; /* EOF: the caller's read finds it too */
        if (n == -EAGAIN) {
            /* An empty pipe, or a full one as the sink. */
            if (!out->sink_is_pipe[i] || pr_sys_pipe_pending(fd) == 0)
                return 1;
            /* The task may have written since the splice: only one that
             * fails with bytes known to wait says the sink is full (and
             * the owner's poll tells only when a full sink has room). */
            if (!retried) {
                retried = 1;
                continue;
            }
            /* A sink of our own waits for the owner's poll; the bytes
             * read meanwhile are held.  A shared blocking one is written
             * with write(), which waits, as without splice. */
            if (pr_sys_writer_can_wait(w))
                set_wait(out, stream);
            return 0;
        }
        if (n == -EINVAL || n == -ENOSYS) {
            /* A terminal, a file opened to append: write() it is. */
            out->splice_state[i] = -1;
            return 0;
        }
        /* The sink failed, as a write() to it would have. */
        note_result(out, stream, (int)n);
        return 0;
    }
}

int
pr_output_splice(struct pr_output *out, struct pr_task *task, int stream,
                 int fd)
{
    int rc = splice_out(out, task, stream, fd);

    settle(out);
    return rc;
}

/* Takes b's memory for a later capture, if it is worth keeping. */
static void
keep_spare(struct pr_output *out, struct pr_buf *b)
{
    if (b->data == NULL || b->cap > SPARE_MAX || out->nspare == SPARE_BUFFERS)
        return;
    out->spare[out->nspare] = *b;
    out->spare[out->nspare].len = 0;
    out->nspare++;
    memset(b, 0, sizeof(*b));
}

/* --line-buffer, at a task's end: everything it holds, partial line too. */
static void
flush_all_lines(struct pr_output *out, int stream, struct pr_capture *c)
{
    if (!stream_ok(out, stream) || c->mem.len == 0) {
        c->mem.len = 0;
        return;
    }
    if (busy(out)) {
        /* Handed over as it is, not copied. */
        enqueue_capture(out, stream, c, 0, 0);
        c->mem.len = 0;
        return;
    }
    flush_lines(out, stream, c, 1);
}

static void
emit_task(struct pr_output *out, struct pr_task *task)
{
    unhold_task(out, task);
    if (out->opts.mode == PR_OUT_LINE) {
        flush_all_lines(out, 1, &task->out);
        flush_all_lines(out, 2, &task->err);
    } else {
        /* Grouped: the whole output.  -u: what was held back. */
        int whole = out->opts.mode == PR_OUT_GROUP && !task->streaming;

        drain_capture(out, 1, &task->out, whole);
        drain_capture(out, 2, &task->err, whole);
    }
    if (out->opts.task_trailer != NULL && task->callback == NULL) {
        out->trailer.len = 0;
        out->opts.task_trailer(out->opts.hook_data, task, &out->trailer);
        write_stream(out, 1, out->trailer.data, out->trailer.len);
    }
    pr_task_free(task);
}

/* A task that held bytes back sends them after what waited before them. */
static void
release_task(struct pr_output *out, struct pr_task *task)
{
    if (out->opts.mode == PR_OUT_LINE) {
        flush_lines(out, 1, &task->out, 0);
        flush_lines(out, 2, &task->err, 0);
    } else if (out->opts.mode == PR_OUT_GROUP && !task->streaming) {
        start_streaming(out, task);
    } else {
        drain_capture(out, 1, &task->out, 0);
        drain_capture(out, 2, &task->err, 0);
    }
}

/* Writes the queue until a sink is full; once it is empty, the tasks that
 * held bytes back send them, oldest first. */
static void
pump(struct pr_output *out)
{
    int i;

    if (out->pumping)
        return;
    out->pumping = 1;
    out->waiting = 0;
    for (i = 0; i < 2 && out->waiting == 0; i++) {
        /* What a writer took but could not pass on yet goes first. */
        int rc = pr_sys_writer_push(&out->w[i]);

        if (rc == -EAGAIN)
            set_wait(out, i + 1);
        else
            note_result(out, i + 1, rc);
    }
    while (out->waiting == 0) {
        struct qentry *e = out->qhead;
        uint64_t before;
        int stream;
        int rc;

        if (e == NULL) {
            struct pr_task *task;

            if (out->nheld == 0)
                break;
            task = out->held[0];
            unhold_task(out, task);
            release_task(out, task);
            continue;
        }
        stream = e->stream;
        before = e->off;
        rc = stream_ok(out, stream)
                 ? write_capture(out, stream, &e->cap, &e->off)
                 : 0;
        out->queued -= e->off - before;
        if (rc == -EAGAIN) {
            set_wait(out, stream);
            if (!out->abandoned)
                break;
        }
        out->queued -= e->cap.spilled + e->cap.mem.len - e->off;
        out->qhead = e->next;
        if (out->qhead == NULL)
            out->qtail = NULL;
        out->nqueued--;
        keep_spare(out, &e->cap.mem);
        free_entry(out, e);
        /* May call back into the owner, which may add to the queue. */
        note_result(out, stream, rc);
    }
    out->pumping = 0;
}

void
pr_output_flush_batch(struct pr_output *out)
{
    out->batch_asked = 0;
    batch_flush(out);
    settle(out);
}

void
pr_output_flush(struct pr_output *out)
{
    batch_flush(out);
    pump(out);
    settle(out);
}

void
pr_output_ready(struct pr_output *out, int stream, int gone)
{
    if (out->waiting == stream || gone)
        pump(out); /* a write tells what went wrong, if anything waits */
    if (gone && stream == 1 && out->w[0].watch_reader && out->error == 0) {
        /* The reader went away while nothing was written: stop now. */
        note_result(out, 1, -EPIPE);
        pump(out);
    }
    settle(out);
}

void
pr_output_write(struct pr_output *out, int stream, const char *p, size_t n)
{
    write_stream(out, stream, p, n);
    settle(out);
}

void
pr_output_abandon(struct pr_output *out)
{
    batch_flush(out); /* as far as the sink takes it now */
    out->abandoned = 1;
    out->waiting = 0;
    while (out->qhead != NULL) {
        struct qentry *e = out->qhead;

        out->qhead = e->next;
        free_entry(out, e);
    }
    out->qtail = NULL;
    out->nqueued = 0;
    out->queued = 0;
    /* Held bytes go out as far as the sink takes them now, in order. */
    while (out->nheld > 0) {
        struct pr_task *task = out->held[0];

        unhold_task(out, task);
        release_task(out, task);
    }
    settle(out);
}

int
pr_output_busy(const struct pr_output *out)
{
    return busy(out);
}

int
pr_output_congested(const struct pr_output *out)
{
    return congested(out);
}

int
pr_output_waiting(const struct pr_output *out)
{
    return out->waiting;
}

const struct pr_writer *
pr_output_writer(const struct pr_output *out, int stream)
{
    return &out->w[stream == 2];
}

void
pr_output_finish_now(struct pr_output *out, struct pr_task *task)
{
    emit_task(out, task);
    settle(out);
}

void
pr_output_discard(struct pr_output *out, struct pr_task *task)
{
    int held = unhold_task(out, task);

    if (out->opts.mode == PR_OUT_LINE) {
        flush_all_lines(out, 1, &task->out);
        flush_all_lines(out, 2, &task->err);
    } else if (out->opts.mode == PR_OUT_UNGROUP || (held && task->streaming)) {
        /* Held back, not kept: it went out as it came. */
        drain_capture(out, 1, &task->out, 0);
        drain_capture(out, 2, &task->err, 0);
    } else if (out->opts.mode == PR_OUT_GROUP) {
        out->mem_held -= task->out.mem.cap + task->err.mem.cap;
        keep_spare(out, &task->out.mem);
        keep_spare(out, &task->err.mem);
    }
    pr_capture_free(&task->out);
    pr_capture_free(&task->err);
    pr_capture_init(&task->out);
    pr_capture_init(&task->err);
    settle(out);
}

void
pr_output_finish(struct pr_output *out, struct pr_task *task)
{
    struct pr_list *pos;

    if (!out->opts.keep_order || out->opts.mode != PR_OUT_GROUP) {
        emit_task(out, task);
        settle(out);
        return;
    }
    /* Tasks mostly finish in about seq order: search from the tail. */
    pos = &out->pending;
    while (pos->prev != &out->pending &&
           PR_CONTAINER_OF(pos->prev, struct pr_task, node)->seq > task->seq)
        pos = pos->prev;
    pr_list_insert_before(pos, &task->node);
    out->npending++;
    while (!pr_list_empty(&out->pending)) {
        struct pr_list *n = out->pending.next;
        struct pr_task *head = PR_CONTAINER_OF(n, struct pr_task, node);

        if (head->seq != out->next_seq)
            break;
        pr_list_remove(n);
        out->npending--;
        out->next_seq++;
        emit_task(out, head);
    }
    settle(out);
}

int
pr_output_error(const struct pr_output *out)
{
    return out->error;
}

size_t
pr_output_pending(const struct pr_output *out)
{
    return out->npending;
}

uint64_t
pr_output_next_seq(const struct pr_output *out)
{
    return out->next_seq;
}
