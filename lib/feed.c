/*
 * feed: see feed.h.
 */
#include "feed.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "sys.h"
#include "task.h"

/* A block in memory is handed to libuv this much at a time (uv_buf_t's
 * length is an unsigned int, and a record may make a block longer). */
#define FEED_CHUNK ((size_t)1 << 30)
/* A file that cannot splice is copied through a buffer this large. */
#define COPY_CHUNK ((size_t)64 * 1024)

int
pr_feed_wanted(const struct pr_task *task)
{
    return task->block.p != NULL || task->block_in_file;
}

int
pr_feed_open(struct pr_feed *f, const struct pr_task *task, int *child_fd)
{
    int fds[2];
    int rc;

    f->task = task;
    f->fd = -1;
    f->open = 0;
    f->copy = 0;
    f->fed = 0;
    rc = pr_sys_pipe(fds);
    if (rc != 0)
        return rc;
    pr_sys_pipe_grow(fds[1], task->block.len);
    *child_fd = fds[0];
    f->fd = fds[1];
    return 0;
}

void
pr_feed_close(struct pr_feed *f)
{
    if (!f->open) {
        if (f->fd >= 0)
            close(f->fd);
        f->fd = -1;
        return;
    }
    f->open = 0;
    if (!uv_is_closing(&f->h.handle))
        uv_close(&f->h.handle, f->close_cb);
    /* A poll does not own its descriptor (uv_close has stopped watching
     * it); a pipe handle closes its own. */
    if (f->fd >= 0)
        close(f->fd);
    f->fd = -1;
}

static void write_chunk(struct pr_feed *f);

static void
on_written(uv_write_t *req, int status)
{
    struct pr_feed *f = req->data;

    /* UV_EPIPE: the task exited or closed its stdin before reading all of
     * it (head -1).  poolrun ignores SIGPIPE, so only this write fails. */
    if (status == 0 && f->open && f->fed < f->task->block.len) {
        write_chunk(f);
        return;
    }
    pr_feed_close(f);
}

/* The next chunk of a block in memory, straight from it: libuv writes
 * what the pipe takes at once and the rest when the task has read. */
static void
write_chunk(struct pr_feed *f)
{
    const struct pr_item *b = &f->task->block;
    size_t n = b->len - f->fed < FEED_CHUNK ? b->len - f->fed : FEED_CHUNK;
    uv_buf_t buf = uv_buf_init(b->p + f->fed, (unsigned)n);
    int rc;

    f->fed += n;
    f->req.data = f;
    rc = uv_write(&f->req, (uv_stream_t *)&f->h.pipe, &buf, 1, on_written);
    if (rc != 0)
        on_written(&f->req, rc);
}

/* pread and write, for a file that cannot splice: what the pipe did not
 * take is read again next time. */
static ssize_t
copy_some(struct pr_feed *f, uint64_t off, size_t n)
{
    char buf[COPY_CHUNK];
    ssize_t got, put;

    if (n > sizeof(buf))
        n = sizeof(buf);
    do
        got = pread(f->task->block_fd, buf, n, (off_t)off);
    while (got < 0 && errno == EINTR);
    if (got <= 0)
        return got < 0 ? -errno : 0;
    do
        put = write(f->fd, buf, (size_t)got);
    while (put < 0 && errno == EINTR);
    if (put < 0)
        return errno == EWOULDBLOCK ? -EAGAIN : -errno;
    return put;
}

/* The pipe has room: moves as much of the file's range as it takes. */
static void
on_writable(uv_poll_t *poll, int status, int events)
{
    struct pr_feed *f = (struct pr_feed *)poll;
    const struct pr_task *t = f->task;
    ssize_t n = 0;

    (void)events;
    while (status == 0 && f->fed < t->block.len) {
        uint64_t off = t->block_off + f->fed;
        size_t want = t->block.len - f->fed;

        if (!f->copy) {
            n = pr_sys_splice_at(t->block_fd, &off, f->fd, want);
            if (n == -EINVAL || n == -ENOSYS) {
                f->copy = 1;
                continue;
            }
        } else {
            n = copy_some(f, off, want);
        }
        if (n <= 0)
            break;
        f->fed += (size_t)n;
    }
    if (status == 0 && n == -EAGAIN)
        return; /* more once the task has read */
    /* Done; or the task left (EPIPE), or the file is shorter than it was
     * (n == 0): the task reads EOF. */
    pr_feed_close(f);
}

int
pr_feed_start(struct pr_feed *f, uv_loop_t *loop, void *data,
              uv_close_cb close_cb)
{
    int fd = f->fd;
    int rc;

    if (fd < 0)
        return 0;
    f->close_cb = close_cb;
    if (f->task->block_in_file) {
        fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
        rc = uv_poll_init(loop, &f->h.poll, fd);
    } else {
        rc = uv_pipe_init(loop, &f->h.pipe, 0);
    }
    if (rc != 0) {
        pr_feed_close(f);
        return 0;
    }
    f->h.handle.data = data;
    f->open = 1;
    if (f->task->block_in_file) {
        rc = uv_poll_start(&f->h.poll, UV_WRITABLE, on_writable);
    } else {
        f->fd = -1; /* the pipe handle owns it from here on */
        rc = uv_pipe_open(&f->h.pipe, fd);
        if (rc != 0)
            close(fd);
    }
    if (rc != 0) {
        /* The task then reads an early EOF: what it makes of a short
         * block, its status says. */
        pr_feed_close(f);
        return 1;
    }
    if (!f->task->block_in_file)
        write_chunk(f);
    return 1;
}
