/*
 * fdread: one input descriptor read on the loop (see fdread.h).
 */
#include "fdread.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

void
pr_fdread_init(struct pr_fdread *r, pr_fdread_space_fn *space,
               pr_fdread_got_fn *got)
{
    r->space = space;
    r->got = got;
    r->closed = NULL;
    r->fd = -1;
    r->saved_flags = -1;
    r->kind = PR_FDREAD_NONE;
    r->open = 0;
    r->reading = 0;
}

static void
on_handle_closed(uv_handle_t *handle)
{
    struct pr_fdread *r = handle->data;

    if (r->closed != NULL)
        r->closed(r);
}

static void
on_stream_alloc(uv_handle_t *handle, size_t suggested, uv_buf_t *buf)
{
    struct pr_fdread *r = handle->data;
    size_t len;

    (void)suggested;
    buf->base = r->space(r, &len);
    buf->len = len;
}

static void
on_stream_read(uv_stream_t *stream, ssize_t n, const uv_buf_t *buf)
{
    struct pr_fdread *r = stream->data;

    (void)buf;
    if (n < 0) {
        /* At EOF libuv has stopped reading by itself. */
        r->reading = 0;
        if (n != UV_EOF)
            uv_read_stop(stream);
    }
    r->got(r, n);
}

static void
on_file_idle(uv_idle_t *idle)
{
    struct pr_fdread *r = idle->data;
    size_t len;
    char *p = r->space(r, &len);
    ssize_t n;

    do
        n = read(r->fd, p, len);
    while (n < 0 && errno == EINTR);
    if (n < 0)
        n = -errno;
    if (n <= 0) {
        uv_idle_stop(idle);
        r->reading = 0;
    }
    r->got(r, n == 0 ? UV_EOF : n);
}

/* How to read fd: libuv's guess, except that it has no name for a
 * directory or a block device (UV_UNKNOWN_HANDLE), which epoll cannot
 * watch: a directory is refused, anything else but a socket is read as a
 * file. */
static int
fd_type(int fd, uv_handle_type *type)
{
    struct stat st;

    if (fstat(fd, &st) != 0)
        return -errno;
    if (S_ISDIR(st.st_mode))
        return UV_EISDIR;
    *type = uv_guess_handle(fd);
    if (*type == UV_UNKNOWN_HANDLE && !S_ISSOCK(st.st_mode))
        *type = UV_FILE;
    return 0;
}

int
pr_fdread_open(struct pr_fdread *r, uv_loop_t *loop, int fd)
{
    uv_handle_type type = UV_UNKNOWN_HANDLE;
    int rc;

    r->fd = fd;
    r->kind = PR_FDREAD_NONE;
    r->saved_flags = fcntl(fd, F_GETFL);
    if (r->saved_flags < 0)
        return 0; /* a closed descriptor reads as empty input */
    rc = fd_type(fd, &type);
    if (rc != 0) {
        r->saved_flags = -1;
        return rc;
    }
    if (type == UV_TTY) {
        r->kind = PR_FDREAD_STREAM;
        rc = uv_tty_init(loop, &r->h.tty, fd, 1);
    } else if (type != UV_FILE) { /* a FIFO or socket */
        r->kind = PR_FDREAD_STREAM;
        rc = uv_pipe_init(loop, &r->h.pipe, 0);
        if (rc == 0) {
            rc = uv_pipe_open(&r->h.pipe, fd);
            if (rc != 0)
                uv_close(&r->h.handle, NULL);
        }
    } else {
        r->kind = PR_FDREAD_FILE;
        rc = uv_idle_init(loop, &r->h.idle);
    }
    if (rc != 0) {
        pr_fdread_restore_flags(r);
        return rc;
    }
    r->h.handle.data = r;
    r->open = 1;
    return 0;
}

void
pr_fdread_want_more(struct pr_fdread *r)
{
    int rc = 0;

    if (r->reading || !r->open)
        return;
    if (r->kind == PR_FDREAD_STREAM)
        rc = uv_read_start(&r->h.stream, on_stream_alloc, on_stream_read);
    else
        rc = uv_idle_start(&r->h.idle, on_file_idle);
    if (rc != 0) {
        r->got(r, rc);
        return;
    }
    r->reading = 1;
}

void
pr_fdread_pause(struct pr_fdread *r)
{
    if (!r->reading)
        return;
    if (r->kind == PR_FDREAD_STREAM)
        uv_read_stop(&r->h.stream);
    else
        uv_idle_stop(&r->h.idle);
    r->reading = 0;
}

void
pr_fdread_restore_flags(struct pr_fdread *r)
{
    if (r->saved_flags >= 0)
        fcntl(r->fd, F_SETFL, r->saved_flags);
    r->saved_flags = -1;
}

int
pr_fdread_close(struct pr_fdread *r, pr_fdread_closed_fn *closed)
{
    uv_os_fd_t hfd = -1;
    int took;

    pr_fdread_restore_flags(r);
    if (!r->open || uv_is_closing(&r->h.handle)) {
        r->open = 0;
        return 0;
    }
    pr_fdread_pause(r);
    r->open = 0;
    took = r->kind == PR_FDREAD_STREAM && uv_fileno(&r->h.handle, &hfd) == 0 &&
           hfd == r->fd && hfd > 2;
    r->closed = closed;
    uv_close(&r->h.handle, on_handle_closed);
    return took;
}
