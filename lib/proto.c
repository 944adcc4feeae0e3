/*
 * proto: length-prefixed frames.  The reader hands out a frame that lies
 * whole in the chunk it was fed as a pointer into that chunk; only a frame
 * cut by a chunk's end is assembled in its own buffer, sized exactly for
 * that frame (plus the next header, for the blocking reader's read-ahead)
 * once its header is known, so its bytes are copied once and never moved.
 */
#include "proto.h"

#include <assert.h>
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>
#include <uv.h>

/* A buffer grown for a large frame is given back once that frame is
 * done: a server with many connections keeps only small ones. */
#define KEEP_CAP 65536
#define MIN_CAP  256

static void
put_be32(char *p, uint32_t v)
{
    unsigned char *u = (unsigned char *)p;

    u[0] = (unsigned char)(v >> 24);
    u[1] = (unsigned char)(v >> 16);
    u[2] = (unsigned char)(v >> 8);
    u[3] = (unsigned char)v;
}

static size_t
get_be32(const char *p)
{
    const unsigned char *u = (const unsigned char *)p;

    return (size_t)u[0] << 24 | (size_t)u[1] << 16 | (size_t)u[2] << 8 |
           (size_t)u[3];
}

static int
check_len(size_t n)
{
    if (n == 0)
        return UV_EINVAL;
    if (n > PR_PROTO_MAX)
        return UV_E2BIG;
    return 0;
}

int
pr_proto_frame(struct pr_buf *out, const char *json, size_t n)
{
    char header[PR_PROTO_HEADER];
    int rc = check_len(n);

    if (rc != 0)
        return rc;
    put_be32(header, (uint32_t)n);
    pr_buf_reserve(out, sizeof(header) + n);
    pr_buf_append(out, header, sizeof(header));
    pr_buf_append(out, json, n);
    return 0;
}

size_t
pr_proto_frame_begin(struct pr_buf *out)
{
    static const char placeholder[PR_PROTO_HEADER];
    size_t start = out->len;

    pr_buf_append(out, placeholder, sizeof(placeholder));
    return start;
}

int
pr_proto_frame_end(struct pr_buf *out, size_t start)
{
    size_t n;
    int rc;

    assert(start + PR_PROTO_HEADER <= out->len);
    n = out->len - start - PR_PROTO_HEADER;
    rc = check_len(n);
    if (rc != 0) {
        out->len = start;
        return rc;
    }
    put_be32(out->data + start, (uint32_t)n);
    return 0;
}

void
pr_proto_reader_init(struct pr_proto_reader *r)
{
    memset(r, 0, sizeof(*r));
}

void
pr_proto_reader_free(struct pr_proto_reader *r)
{
    free(r->data);
    memset(r, 0, sizeof(*r));
}

void
pr_proto_feed(struct pr_proto_reader *r, const void *p, size_t n)
{
    /* The last chunk must be used up first: its frames come before. */
    assert(r->chunk_len == 0 || r->err != 0);
    if (r->err != 0)
        return;
    r->chunk = p;
    r->chunk_len = n;
}

int
pr_proto_pending(const struct pr_proto_reader *r)
{
    return r->len > r->done || r->chunk_len > 0;
}

static void
reserve(struct pr_proto_reader *r, size_t need)
{
    if (need <= r->cap)
        return;
    if (need < MIN_CAP)
        need = MIN_CAP;
    r->data = pr_xrealloc(r->data, need);
    r->cap = need;
}

/* Forgets the frame handed out from data last time, keeping what follows
 * it (the next header's bytes, at most). */
static void
drop_done(struct pr_proto_reader *r)
{
    size_t rest;

    if (r->done == 0)
        return;
    rest = r->len - r->done;
    assert(rest <= PR_PROTO_HEADER);
    if (r->cap > KEEP_CAP) {
        char keep[PR_PROTO_HEADER];

        memcpy(keep, r->data + r->done, rest);
        free(r->data);
        r->data = NULL;
        r->cap = 0;
        reserve(r, MIN_CAP);
        memcpy(r->data, keep, rest);
    } else {
        memmove(r->data, r->data + r->done, rest);
    }
    r->len = rest;
    r->done = 0;
}

void
pr_proto_release(struct pr_proto_reader *r)
{
    drop_done(r);
}

static int
fail(struct pr_proto_reader *r, int err)
{
    r->err = err;
    r->chunk = NULL;
    r->chunk_len = 0;
    return err;
}

static void
take(struct pr_proto_reader *r, size_t n)
{
    if (n == 0)
        return;
    memcpy(r->data + r->len, r->chunk, n);
    r->len += n;
    r->chunk += n;
    r->chunk_len -= n;
}

/* A frame lying whole in the chunk: handed out in place. */
static int
next_in_chunk(struct pr_proto_reader *r, const char **msg, size_t *len)
{
    size_t n;
    int rc;

    if (r->chunk_len < PR_PROTO_HEADER)
        return 0;
    n = get_be32(r->chunk);
    rc = check_len(n);
    if (rc != 0)
        return fail(r, rc);
    if (r->chunk_len - PR_PROTO_HEADER < n)
        return 0;
    *msg = r->chunk + PR_PROTO_HEADER;
    *len = n;
    r->chunk += PR_PROTO_HEADER + n;
    r->chunk_len -= PR_PROTO_HEADER + n;
    return 1;
}

/* The frame in data, completed from the chunk as far as it goes.  Once
 * its header is known, data gets room for the frame and the next header,
 * at once, so that its bytes never move. */
static int
next_in_data(struct pr_proto_reader *r, const char **msg, size_t *len)
{
    size_t n, need;
    int rc;

    if (r->len < PR_PROTO_HEADER) {
        size_t k = PR_PROTO_HEADER - r->len;

        reserve(r, PR_PROTO_HEADER);
        take(r, k < r->chunk_len ? k : r->chunk_len);
        if (r->len < PR_PROTO_HEADER)
            return 0;
    }
    n = get_be32(r->data);
    rc = check_len(n);
    if (rc != 0)
        return fail(r, rc);
    need = PR_PROTO_HEADER + n;
    reserve(r, need + PR_PROTO_HEADER);
    if (r->len < need)
        take(r, need - r->len < r->chunk_len ? need - r->len : r->chunk_len);
    if (r->len < need)
        return 0;
    *msg = r->data + PR_PROTO_HEADER;
    *len = n;
    r->done = need;
    return 1;
}

int
pr_proto_next(struct pr_proto_reader *r, const char **msg, size_t *len)
{
    int rc;

    if (r->err != 0)
        return r->err;
    drop_done(r);
    if (r->len == 0) {
        rc = next_in_chunk(r, msg, len);
        if (rc != 0)
            return rc;
        if (r->chunk_len == 0)
            return 0;
    }
    return next_in_data(r, msg, len);
}

static int
wait_for(int fd, short events)
{
    struct pollfd pfd = {.fd = fd, .events = events};

    if (poll(&pfd, 1, -1) < 0 && errno != EINTR)
        return -errno;
    return 0;
}

int
pr_proto_read_blocking(int fd, struct pr_proto_reader *r, const char **msg,
                       size_t *len)
{
    for (;;) {
        int rc = pr_proto_next(r, msg, len);
        size_t want;
        ssize_t got;

        if (rc != 0)
            return rc;
        /* next_in_data made room: for the header, or for the frame and
         * the next header. */
        assert(r->chunk_len == 0 && r->done == 0);
        if (r->len < PR_PROTO_HEADER) {
            reserve(r, PR_PROTO_HEADER);
            want = PR_PROTO_HEADER - r->len;
        } else {
            want = 2 * PR_PROTO_HEADER + get_be32(r->data) - r->len;
        }
        assert(r->len + want <= r->cap);
        got = read(fd, r->data + r->len, want);
        if (got > 0) {
            r->len += (size_t)got;
        } else if (got == 0) {
            return r->len == 0 ? 0 : UV_EOF;
        } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
            rc = wait_for(fd, POLLIN);
            if (rc != 0)
                return rc;
        } else if (errno != EINTR) {
            return -errno;
        }
    }
}

/* Writes the iovecs whole.  sendmsg, for MSG_NOSIGNAL; writev on what is
 * not a socket (a pipe in a test). */
static int
send_iov(int fd, struct iovec *iov, int cnt)
{
    int sock = 1;

    while (cnt > 0) {
        struct msghdr mh = {.msg_iov = iov, .msg_iovlen = (size_t)cnt};
        ssize_t w;

        w = sock ? sendmsg(fd, &mh, MSG_NOSIGNAL) : writev(fd, iov, cnt);
        if (w < 0 && sock && errno == ENOTSOCK) {
            sock = 0;
            continue;
        }
        if (w < 0) {
            int rc = 0;

            if (errno == EAGAIN || errno == EWOULDBLOCK)
                rc = wait_for(fd, POLLOUT);
            else if (errno != EINTR)
                rc = -errno;
            if (rc != 0)
                return rc;
            continue;
        }
        while (cnt > 0 && (size_t)w >= iov->iov_len) {
            w -= (ssize_t)iov->iov_len;
            iov++;
            cnt--;
        }
        if (cnt > 0) {
            iov->iov_base = (char *)iov->iov_base + w;
            iov->iov_len -= (size_t)w;
        }
    }
    return 0;
}

int
pr_proto_write_all(int fd, const char *json, size_t n)
{
    char header[PR_PROTO_HEADER];
    struct iovec iov[2];
    int rc = check_len(n);

    if (rc != 0)
        return rc;
    put_be32(header, (uint32_t)n);
    iov[0].iov_base = header;
    iov[0].iov_len = sizeof(header);
    iov[1].iov_base = (void *)(uintptr_t)json;
    iov[1].iov_len = n;
    return send_iov(fd, iov, 2);
}

int
pr_proto_send(int fd, const void *p, size_t n)
{
    struct iovec iov = {.iov_base = (void *)(uintptr_t)p, .iov_len = n};

    return send_iov(fd, &iov, n > 0);
}
