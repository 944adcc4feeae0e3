/*
 * capture: a task's stream in memory, then in a private spill file.  What
 * did not fit anywhere (a full disk, no temporary folder) is counted, not
 * kept, so memory stays bounded whatever a task writes.
 */
#include "capture.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sys.h"

/* Reading a spill file back by hand, where the kernel cannot copy it. */
#define COPY_CHUNK ((size_t)64 * 1024)

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
            ssize_t r =
                pread(c->spill_fd, b->data + b->len, max - got, (off_t)got);

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
