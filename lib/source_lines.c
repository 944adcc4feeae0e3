/*
 * source_lines: the splitter and the stdin source.  How fd 0 is read depends
 * on what it is: a pipe or socket through uv_pipe_open (uv_read_stop pauses
 * it), a tty through uv_tty_init, a regular file or device by plain read()
 * calls from an idle handle, one chunk per loop turn (uv_pipe_open accepts
 * a file and then aborts in uv_run; uv_fs_read would start libuv's thread
 * pool, which aborts the process where threads cannot be had).  Nothing is
 * read while the queue is full.
 */
#include "source_lines.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#include "task.h"

#define READ_CHUNK ((size_t)64 * 1024)

void
pr_splitter_init(struct pr_splitter *sp, char delim)
{
    memset(sp, 0, sizeof(*sp));
    sp->delim = delim;
}

void
pr_splitter_free(struct pr_splitter *sp)
{
    pr_buf_free(&sp->buf);
    sp->pos = sp->scanned = 0;
}

char *
pr_splitter_space(struct pr_splitter *sp, size_t want)
{
    struct pr_buf *b = &sp->buf;

    /* Drop what was consumed before growing: the buffer stays about one
     * read plus the longest item. */
    if (sp->pos > 0 && (sp->pos == b->len || sp->pos >= b->cap / 2)) {
        memmove(b->data, b->data + sp->pos, b->len - sp->pos);
        b->len -= sp->pos;
        sp->scanned -= sp->pos;
        sp->pos = 0;
    }
    pr_buf_reserve(b, want);
    return b->data + b->len;
}

void
pr_splitter_commit(struct pr_splitter *sp, size_t n)
{
    sp->buf.len += n;
}

void
pr_splitter_feed(struct pr_splitter *sp, const void *p, size_t n)
{
    if (n == 0)
        return;
    memcpy(pr_splitter_space(sp, n), p, n);
    pr_splitter_commit(sp, n);
}

int
pr_splitter_next(struct pr_splitter *sp, int at_eof, const char **item,
                 size_t *len)
{
    struct pr_buf *b = &sp->buf;
    const char *hit;

    if (sp->pos >= b->len)
        return 0;
    hit = memchr(b->data + sp->scanned, sp->delim, b->len - sp->scanned);
    if (hit == NULL) {
        sp->scanned = b->len;
        if (!at_eof)
            return 0;
        *item = b->data + sp->pos;
        *len = b->len - sp->pos;
        sp->pos = sp->scanned = b->len;
        return 1;
    }
    *item = b->data + sp->pos;
    *len = (size_t)(hit - *item);
    sp->pos = sp->scanned = (size_t)(hit - b->data) + 1;
    return 1;
}

size_t
pr_splitter_pending(const struct pr_splitter *sp)
{
    return sp->buf.len - sp->pos;
}

enum read_kind {
    READ_STREAM,
    READ_FILE,
    READ_NONE
};

struct source_lines {
    struct pr_source base;
    uv_loop_t *loop;
    struct pr_pool *pool;
    int fd;
    int saved_flags; /* fd's status flags before libuv touched them */
    enum read_kind kind;
    union {
        uv_handle_t handle;
        uv_stream_t stream;
        uv_pipe_t pipe;
        uv_tty_t tty;
        uv_idle_t idle;
    } h;
    int handle_open; /* h is initialised and not yet closed */
    int reading;     /* a stream read or the file's idle handle is on */
    int eof;         /* no more bytes will come */
    int ended;       /* pr_pool_input_end has been called */
    int pumping;
    struct pr_splitter sp;
};

static void pump(struct source_lines *s);

static void
on_handle_closed(uv_handle_t *handle)
{
    (void)handle;
}

static void
finish(struct source_lines *s, int err)
{
    if (s->ended)
        return;
    s->ended = 1;
    s->eof = 1;
    if (s->handle_open) {
        s->handle_open = 0;
        if (!uv_is_closing(&s->h.handle))
            uv_close(&s->h.handle, on_handle_closed);
    }
    pr_pool_input_end(s->pool, err);
}

static void
on_stream_alloc(uv_handle_t *handle, size_t suggested, uv_buf_t *buf)
{
    struct source_lines *s = handle->data;

    (void)suggested;
    buf->base = pr_splitter_space(&s->sp, READ_CHUNK);
    buf->len = READ_CHUNK;
}

static void
on_stream_read(uv_stream_t *stream, ssize_t n, const uv_buf_t *buf)
{
    struct source_lines *s = stream->data;

    (void)buf;
    if (n > 0) {
        pr_splitter_commit(&s->sp, (size_t)n);
    } else if (n == UV_EOF) {
        /* libuv has stopped reading by itself. */
        s->eof = 1;
        s->reading = 0;
    } else if (n < 0) {
        s->eof = 1;
        s->reading = 0;
        pump(s);
        finish(s, (int)n);
        return;
    }
    pump(s);
}

static void
on_file_idle(uv_idle_t *idle)
{
    struct source_lines *s = idle->data;
    ssize_t n;

    do
        n = read(s->fd, pr_splitter_space(&s->sp, READ_CHUNK), READ_CHUNK);
    while (n < 0 && errno == EINTR);
    if (n > 0) {
        pr_splitter_commit(&s->sp, (size_t)n);
    } else {
        uv_idle_stop(idle);
        s->reading = 0;
        s->eof = 1;
        if (n < 0) {
            pump(s);
            finish(s, -errno);
            return;
        }
    }
    pump(s);
}

static void
want_more(struct source_lines *s)
{
    if (s->reading || s->eof || s->ended)
        return;
    if (s->kind == READ_STREAM) {
        int rc = uv_read_start(&s->h.stream, on_stream_alloc, on_stream_read);

        if (rc != 0) {
            finish(s, rc);
            return;
        }
    } else {
        uv_idle_start(&s->h.idle, on_file_idle);
    }
    s->reading = 1;
}

static void
pause_reading(struct source_lines *s)
{
    if (!s->reading)
        return;
    if (s->kind == READ_STREAM)
        uv_read_stop(&s->h.stream);
    else
        uv_idle_stop(&s->h.idle);
    s->reading = 0;
}

/* Turn whole items into tasks while the pool takes them, then read more,
 * pause, or end. */
static void
pump(struct source_lines *s)
{
    const char *item;
    size_t len;

    if (s->pumping || s->ended)
        return;
    s->pumping = 1;
    while (pr_pool_accepting(s->pool) &&
           pr_splitter_next(&s->sp, s->eof, &item, &len)) {
        if (len == 0)
            continue;
        pr_pool_put(s->pool, pr_task_new(0, item, len));
    }
    s->pumping = 0;
    if (!pr_pool_accepting(s->pool)) {
        pause_reading(s);
        return;
    }
    if (s->eof) {
        if (!s->reading)
            finish(s, 0);
        return;
    }
    want_more(s);
}

static int
lines_start(struct pr_source *base, struct pr_pool *pool)
{
    struct source_lines *s = (struct source_lines *)base;
    int rc = 0;

    s->pool = pool;
    s->saved_flags = fcntl(s->fd, F_GETFL);
    if (s->saved_flags < 0) {
        /* No stdin at all reads as empty input. */
        s->kind = READ_NONE;
        s->eof = 1;
        pump(s);
        return 0;
    }
    switch (uv_guess_handle(s->fd)) {
    case UV_TTY:
        s->kind = READ_STREAM;
        rc = uv_tty_init(s->loop, &s->h.tty, s->fd, 1);
        break;
    case UV_NAMED_PIPE:
    case UV_TCP:
    case UV_UDP:
    case UV_UNKNOWN_HANDLE:
        s->kind = READ_STREAM;
        rc = uv_pipe_init(s->loop, &s->h.pipe, 0);
        if (rc == 0) {
            rc = uv_pipe_open(&s->h.pipe, s->fd);
            if (rc != 0)
                uv_close(&s->h.handle, on_handle_closed);
        }
        break;
    case UV_FILE:
    default:
        s->kind = READ_FILE;
        rc = uv_idle_init(s->loop, &s->h.idle);
        break;
    }
    if (rc != 0)
        return rc;
    s->h.handle.data = s;
    s->handle_open = 1;
    pump(s);
    return 0;
}

static void
lines_resume(struct pr_source *base)
{
    pump((struct source_lines *)base);
}

static void
lines_stop(struct pr_source *base)
{
    struct source_lines *s = (struct source_lines *)base;

    pause_reading(s);
    finish(s, 0);
}

static void
lines_free(struct pr_source *base)
{
    struct source_lines *s = (struct source_lines *)base;

    if (s->saved_flags >= 0)
        fcntl(s->fd, F_SETFL, s->saved_flags);
    pr_splitter_free(&s->sp);
    free(s);
}

static const struct pr_source_ops lines_ops = {
    .start = lines_start,
    .resume = lines_resume,
    .stop = lines_stop,
    .free = lines_free,
};

struct pr_source *
pr_source_lines_new(uv_loop_t *loop, int fd, char delim)
{
    struct source_lines *s = pr_xcalloc(1, sizeof(*s));

    s->base.ops = &lines_ops;
    s->loop = loop;
    s->fd = fd;
    s->saved_flags = -1;
    pr_splitter_init(&s->sp, delim);
    return &s->base;
}
