/*
 * output: captures and the sink.  Writes to stdout and stderr are plain
 * blocking write() calls (never libuv: a non-blocking flag on a descriptor
 * that our shell shares would leak).  After the first failed write to
 * stdout, stdout output is dropped and the owner is told once, so a closed
 * pipe stops the run instead of being retried for every task.
 */
#include "output.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sys.h"
#include "task.h"

#define COPY_CHUNK ((size_t)64 * 1024)
#define SPLICE_CHUNK ((size_t)1024 * 1024)
/* All tasks' captures together hold at most 4 --buffer-size, and at least
 * this much, in memory. */
#define PR_OUTPUT_MIN_BUDGET ((size_t)4 * 1024 * 1024)
/* Captures reuse the memory of emitted ones: a fresh buffer costs a page
 * fault per 4 KiB, which showed as the largest item of grouped output. */
#define SPARE_BUFFERS 4
#define SPARE_MAX ((size_t)2 * 1024 * 1024)

void
pr_capture_init(struct pr_capture *c)
{
    memset(c, 0, sizeof(*c));
    c->spill_fd = -1;
}

/* Moves what is in memory to a new temporary file.  Returns 0 or -errno. */
static int
start_spill(struct pr_capture *c)
{
    int fd = pr_tmpfile();
    int rc;

    if (fd < 0)
        return fd;
    rc = pr_write_all(fd, c->mem.data, c->mem.len);
    if (rc != 0) {
        close(fd);
        return rc;
    }
    c->spill_fd = fd;
    c->spilled = c->mem.len;
    pr_buf_free(&c->mem);
    return 0;
}

/* A write to the spill file failed: what did reach it still counts. */
static void
spill_failed(struct pr_capture *c, size_t n, int rc)
{
    struct stat st;
    uint64_t size = fstat(c->spill_fd, &st) == 0 ? (uint64_t)st.st_size : 0;
    uint64_t written = size > c->spilled ? size - c->spilled : 0;

    if (written > n)
        written = n;
    c->spilled += written;
    c->lost_err = rc;
    c->lost += n - written;
}

int
pr_capture_append(struct pr_capture *c, const void *p, size_t n, size_t limit)
{
    int rc;

    c->total += n;
    if (c->lost_err != 0) {
        /* Already cut short: memory stays bounded, the rest is counted. */
        c->lost += n;
        return c->lost_err;
    }
    if (c->spill_fd < 0 && c->mem.len + n > limit) {
        rc = start_spill(c);
        if (rc != 0) {
            /* No file to be had: what memory holds stays, this is lost. */
            c->lost_err = rc;
            c->lost += n;
            return rc;
        }
    }
    if (c->spill_fd < 0) {
        pr_buf_append(&c->mem, p, n);
        return 0;
    }
    rc = pr_write_all(c->spill_fd, p, n);
    if (rc != 0)
        spill_failed(c, n, rc); /* a full disk: count what did not fit */
    else
        c->spilled += n;
    return rc;
}

int
pr_capture_emit(const struct pr_capture *c, int fd)
{
    int rc;

    if (c->spill_fd >= 0) {
        char *chunk;
        off_t off = 0;

        /* The kernel copies the file straight to fd where it can. */
        rc = pr_sys_copy_to(c->spill_fd, &off, fd);
        if (rc < 0)
            return rc;
        chunk = rc == 1 ? NULL : pr_xmalloc(COPY_CHUNK);
        rc = 0;
        while (chunk != NULL) {
            ssize_t r = pread(c->spill_fd, chunk, COPY_CHUNK, off);

            if (r < 0 && errno == EINTR)
                continue;
            if (r < 0) {
                rc = -errno;
                break;
            }
            if (r == 0)
                break;
            off += r;
            rc = pr_write_all(fd, chunk, (size_t)r);
            if (rc != 0)
                break;
        }
        free(chunk);
        if (rc != 0)
            return rc;
    }
    /* Memory holds everything (no spill) or what came after a full disk. */
    return pr_write_all(fd, c->mem.data, c->mem.len);
}

void
pr_capture_head(const struct pr_capture *c, struct pr_buf *b, size_t max)
{
    size_t got = 0;

    if (c->spill_fd >= 0 && max > 0) {
        pr_buf_reserve(b, max);
        while (got < max) {
            ssize_t r = pread(c->spill_fd, b->data + b->len, max - got,
                              (off_t)got);

            if (r < 0 && errno == EINTR)
                continue;
            if (r <= 0)
                break;
            got += (size_t)r;
            b->len += (size_t)r;
        }
    }
    if (got < max && c->mem.len > 0)
        pr_buf_append(b, c->mem.data,
                      c->mem.len < max - got ? c->mem.len : max - got);
}

void
pr_capture_free(struct pr_capture *c)
{
    pr_buf_free(&c->mem);
    if (c->spill_fd >= 0)
        close(c->spill_fd);
    c->spill_fd = -1;
}

struct pr_output {
    struct pr_output_options opts;
    pr_output_error_fn *on_error;
    void *data;
    int error;              /* first failed write to out_fd */
    int err_broken;         /* stderr is gone: stop trying */
    uint64_t next_seq;      /* keep-order: the seq to emit next */
    struct pr_list pending; /* keep-order: finished, sorted by seq */
    size_t npending;
    struct pr_buf tagged;     /* --tag: scratch for tagged bytes */
    size_t mem_held;          /* capture memory of all tasks together */
    size_t mem_budget;        /* past it, captures spill at once */
    struct pr_buf spare[SPARE_BUFFERS]; /* emitted captures' memory, kept
                                           for the next ones */
    size_t nspare;
    int splice_state[2]; /* per stream: 0 not tried, 1 works, -1 not used */
    int sink_is_pipe[2];
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
    return out;
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
    pr_buf_free(&out->tagged);
    while (out->nspare > 0)
        pr_buf_free(&out->spare[--out->nspare]);
    free(out);
}

static void
note_result(struct pr_output *out, int stream, int rc)
{
    if (rc == 0)
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
stream_fd(const struct pr_output *out, int stream)
{
    return stream == 2 ? out->opts.err_fd : out->opts.out_fd;
}

static int
stream_ok(const struct pr_output *out, int stream)
{
    return stream == 2 ? !out->err_broken : out->error == 0;
}

static void
write_stream(struct pr_output *out, int stream, const char *p, size_t n)
{
    if (n == 0 || !stream_ok(out, stream))
        return;
    if (out->opts.before_write != NULL)
        out->opts.before_write(out->opts.hook_data);
    note_result(out, stream, pr_write_all(stream_fd(out, stream), p, n));
}

static void
emit_capture(struct pr_output *out, int stream, struct pr_capture *c)
{
    if (!stream_ok(out, stream) || c->total == 0)
        return;
    if (out->opts.before_write != NULL)
        out->opts.before_write(out->opts.hook_data);
    note_result(out, stream, pr_capture_emit(c, stream_fd(out, stream)));
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

static void dispatch(struct pr_output *out, struct pr_task *task, int stream,
                     const char *p, size_t n);

/* --tag: the task's tag before every line it writes. */
static void
tag_lines(struct pr_output *out, struct pr_task *task, int stream,
          const char *p, size_t n)
{
    struct pr_capture *c = stream == 2 ? &task->err : &task->out;
    struct pr_buf *b = &out->tagged;
    const char *end = p + n;

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
    dispatch(out, task, stream, b->data, b->len);
    c->total -= b->len - n;
}

void
pr_output_data(struct pr_output *out, struct pr_task *task, int stream,
               const char *p, size_t n)
{
    if (task->tag != NULL && n > 0)
        tag_lines(out, task, stream, p, n);
    else
        dispatch(out, task, stream, p, n);
}

static void keep_spare(struct pr_output *out, struct pr_buf *b);

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
        struct pr_capture *c = cs[i];

        if (out->opts.head_limit > 0)
            pr_capture_head(c, &task->head[i], out->opts.head_limit);
        emit_capture(out, i + 1, c);
        out->mem_held -= c->mem.cap;
        keep_spare(out, &c->mem);
        pr_buf_free(&c->mem);
        if (c->spill_fd >= 0)
            close(c->spill_fd);
        c->spill_fd = -1;
    }
}

static void
dispatch(struct pr_output *out, struct pr_task *task, int stream,
         const char *p, size_t n)
{
    struct pr_capture *c = stream == 2 ? &task->err : &task->out;

    if (out->opts.mode == PR_OUT_GROUP && out->opts.keep_order &&
        !task->no_stream && task->seq == out->next_seq) {
        if (!task->streaming)
            start_streaming(out, task);
        c->total += n;
        if (out->opts.head_limit > 0)
            head_append(out, task, stream, p, n);
        write_stream(out, stream, p, n);
        return;
    }
    switch (out->opts.mode) {
    case PR_OUT_UNGROUP:
        c->total += n;
        write_stream(out, stream, p, n);
        break;
    case PR_OUT_LINE:
        c->total += n;
        pr_buf_append(&c->mem, p, n);
        flush_lines(out, stream, c, 0);
        break;
    case PR_OUT_GROUP:
    default: {
        /* Past the budget for all tasks together, a capture goes to its
         * file at once, however little it holds: with -k many finished
         * tasks may wait, and memory must stay bounded all the same. */
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
        break;
    }
        break;
    }
}

/* Bytes that go out untouched as they come, from task's stream now? */
static int
passes_through(struct pr_output *out, const struct pr_task *task, int stream)
{
    if (task->tag != NULL || out->opts.before_write != NULL ||
        out->opts.head_limit > 0 || !stream_ok(out, stream))
        return 0;
    if (out->opts.mode == PR_OUT_UNGROUP)
        return 1;
    return out->opts.mode == PR_OUT_GROUP && out->opts.keep_order &&
           !task->no_stream && task->seq == out->next_seq;
}

int
pr_output_splice(struct pr_output *out, struct pr_task *task, int stream,
                 int fd)
{
    struct pr_capture *c = stream == 2 ? &task->err : &task->out;
    int i = stream == 2;
    int sink = stream_fd(out, stream);

    if (out->splice_state[i] < 0 || !passes_through(out, task, stream))
        return 0;
    if (out->splice_state[i] == 0) {
        enum pr_sink_kind kind = pr_sys_sink_kind(sink);

        out->sink_is_pipe[i] = kind == PR_SINK_PIPE;
        if (kind == PR_SINK_OTHER) {
            out->splice_state[i] = -1;
            return 0;
        }
    }
    if (out->opts.mode == PR_OUT_GROUP && !task->streaming)
        start_streaming(out, task);
    for (;;) {
        ssize_t n = pr_sys_splice(fd, sink, SPLICE_CHUNK);

        if (n > 0) {
            out->splice_state[i] = 1;
            c->total += (size_t)n;
            continue;
        }
        if (n == 0)
            return 1; /* EOF: the caller's read finds it too */
        if (n == -EAGAIN)
            /* An empty pipe, or a full one as the sink: then the caller
             * reads and waits in write() as it does without splice. */
            return !out->sink_is_pipe[i] || pr_sys_pipe_pending(fd) == 0;
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

static void
emit_task(struct pr_output *out, struct pr_task *task)
{
    if (out->opts.mode == PR_OUT_LINE) {
        flush_lines(out, 1, &task->out, 1);
        flush_lines(out, 2, &task->err, 1);
    } else if (out->opts.mode == PR_OUT_GROUP) {
        emit_capture(out, 1, &task->out);
        emit_capture(out, 2, &task->err);
        out->mem_held -= task->out.mem.cap + task->err.mem.cap;
        keep_spare(out, &task->out.mem);
        keep_spare(out, &task->err.mem);
    }
    pr_task_free(task);
}

void
pr_output_finish_now(struct pr_output *out, struct pr_task *task)
{
    emit_task(out, task);
}

void
pr_output_discard(struct pr_output *out, struct pr_task *task)
{
    if (out->opts.mode == PR_OUT_LINE) {
        flush_lines(out, 1, &task->out, 1);
        flush_lines(out, 2, &task->err, 1);
    } else if (out->opts.mode == PR_OUT_GROUP) {
        out->mem_held -= task->out.mem.cap + task->err.mem.cap;
        keep_spare(out, &task->out.mem);
        keep_spare(out, &task->err.mem);
    }
    pr_capture_free(&task->out);
    pr_capture_free(&task->err);
    pr_capture_init(&task->out);
    pr_capture_init(&task->err);
}

void
pr_output_finish(struct pr_output *out, struct pr_task *task)
{
    struct pr_list *pos;

    if (!out->opts.keep_order || out->opts.mode != PR_OUT_GROUP) {
        emit_task(out, task);
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
