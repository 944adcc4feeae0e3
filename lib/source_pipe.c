/*
 * source_pipe: --pipe's blocks (see source_pipe.h).  A regular file that can
 * seek is not read here: its blocks are ranges of it (see pump_range).
 * Anything else is read by an fd reader (fdread.h), as source_lines reads
 * its input.  Bytes land in the buffer of the block being filled, which is at
 * most --block bytes unless one record is longer (it then doubles until the
 * record fits).  A cut hands the buffer to a task as it is; the partial record
 * after the cut is the only copy made.  There is no ended or requeue: a
 * pipe cannot take a block back.
 */
#include "source_pipe.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fdread.h"
#include "task.h"
#include "util.h"

/* A block of a regular file is found by reading windows this large near
 * its cut, not the whole block. */
#define WINDOW ((size_t)64 * 1024)

struct source_pipe {
    struct pr_source base;
    uv_loop_t *loop;
    const struct pr_intake *in;
    int fd;
    size_t block;
    char *recend;
    size_t recend_len;
    struct pr_fdread rd; /* reads fd, unless range */
    int range; /* a regular file that can seek: blocks are its ranges */
    int input_eof;
    int err; /* reading failed: nothing more is read */
    int ended;
    int pumping;
    char *buf;      /* the block being filled */
    size_t len;     /* bytes in it */
    size_t cap;     /* its size */
    size_t scanned; /* pr_pipe_cut's search position in it */
    uint64_t off;   /* range: where the next block begins */
};

static void pump(struct source_pipe *s);

/* Just past the last whole occurrence of re in buf[0..n), or 0. */
static size_t
last_end(const char *buf, size_t n, const char *re, size_t rl)
{
    size_t i;

    for (i = n; i >= rl; i--)
        if (buf[i - 1] == re[rl - 1] && memcmp(buf + i - rl, re, rl) == 0)
            return i;
    return 0;
}

/* The first occurrence of re in buf[from..n), or n. */
static size_t
first_at(const char *buf, size_t from, size_t n, const char *re, size_t rl)
{
    while (from + rl <= n) {
        const char *p = memchr(buf + from, re[0], n - from - rl + 1);

        if (p == NULL)
            return n;
        from = (size_t)(p - buf);
        if (memcmp(p, re, rl) == 0)
            return from;
        from++;
    }
    return n;
}

size_t
pr_pipe_cut(const char *buf, size_t len, size_t block, const char *recend,
            size_t recend_len, int at_eof, size_t *scanned)
{
    size_t end, from;

    if (len == 0 || (len < block && !at_eof))
        return 0;
    if (len <= block && at_eof)
        return len; /* all of it fits */
    end = last_end(buf, block, recend, recend_len);
    if (end > 0)
        return end;
    /* No record ends within the block: it grows to the first end. */
    from = block + 1 >= recend_len ? block + 1 - recend_len : 0;
    if (*scanned > from)
        from = *scanned;
    end = first_at(buf, from, len, recend, recend_len);
    if (end < len)
        return end + recend_len;
    *scanned = len + 1 >= recend_len ? len + 1 - recend_len : 0;
    return at_eof ? len : 0;
}

static void
finish(struct source_pipe *s, int err)
{
    if (s->ended)
        return;
    s->ended = 1;
    /* The file's offset ends up past the blocks taken, as if read. */
    if (s->range)
        lseek(s->fd, (off_t)s->off, SEEK_SET);
    pr_fdread_close(&s->rd, NULL);
    pr_intake_end(s->in, err);
}

/* Room to read into: a full buffer that holds no block yet holds part of
 * a record longer than --block, and doubles. */
static char *
on_block_space(struct pr_fdread *r, size_t *room)
{
    struct source_pipe *s = PR_CONTAINER_OF(r, struct source_pipe, rd);

    if (s->len == s->cap) {
        s->cap *= 2;
        s->buf = pr_xrealloc(s->buf, s->cap);
    }
    *room = s->cap - s->len;
    return s->buf + s->len;
}

static void
on_block_read(struct pr_fdread *r, ssize_t n)
{
    struct source_pipe *s = PR_CONTAINER_OF(r, struct source_pipe, rd);

    if (n > 0) {
        s->len += (size_t)n;
    } else if (n < 0) {
        s->input_eof = 1;
        if (n != UV_EOF)
            s->err = (int)n;
    }
    pump(s);
}

/* The first n bytes become a task; the rest starts the next block. */
static void
put_block(struct source_pipe *s, size_t n)
{
    struct pr_task *task = pr_task_new_items(NULL, 0);
    size_t rest = s->len - n;
    size_t cap = rest > s->block ? rest : s->block;
    char *next = pr_xmalloc(cap);

    memcpy(next, s->buf + n, rest);
    task->block.p = s->buf;
    task->block.len = n;
    s->buf = next;
    s->cap = cap;
    s->len = rest;
    s->scanned = 0;
    pr_intake_put(s->in, task);
}

/* Reads a window of the file at off (relative to s->off) into s->buf.
 * Returns the bytes read (fewer at the file's end) or -errno. */
static ssize_t
window_at(struct source_pipe *s, uint64_t off, size_t n)
{
    size_t got = 0;

    while (got < n) {
        ssize_t k =
            pread(s->fd, s->buf + got, n - got, (off_t)(s->off + off + got));

        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0)
            return -errno;
        if (k == 0)
            break;
        got += (size_t)k;
    }
    return (ssize_t)got;
}

/* A range: pr_pipe_cut's cut of the rest of the file, found by
 * reading windows back from the block's end, then (a record longer than
 * the block) on from it.  Sets *n to the block's length, 0 at the end.
 * Returns 0 or -errno. */
static int
range_cut(struct source_pipe *s, uint64_t *n)
{
    const size_t rl = s->recend_len, w = s->cap;
    struct stat st;
    uint64_t end, from;
    ssize_t got;
    size_t i;

    if (fstat(s->fd, &st) != 0)
        return -errno;
    *n = (uint64_t)st.st_size > s->off ? (uint64_t)st.st_size - s->off : 0;
    if (*n <= s->block)
        return 0; /* all of it fits */
    for (end = s->block; end >= rl; end = from + rl - 1) {
        from = end > w ? end - w : 0;
        got = window_at(s, from, (size_t)(end - from));
        if (got < 0)
            return (int)got;
        i = last_end(s->buf, (size_t)got, s->recend, rl);
        if (i > 0) {
            *n = from + i;
            return 0;
        }
        if (from == 0)
            break;
    }
    /* No record ends within the block: it grows to the first end. */
    from = s->block + 1 >= rl ? s->block + 1 - rl : 0;
    for (;; from += w - (rl - 1)) {
        got = window_at(s, from, w);
        if (got < 0)
            return (int)got;
        i = first_at(s->buf, 0, (size_t)got, s->recend, rl);
        if (i < (size_t)got) {
            *n = from + i + rl;
            return 0;
        }
        if ((size_t)got < w)
            return 0; /* *n: the rest of the file */
    }
}

/* A range: each block is a task that names its range. */
static void
pump_range(struct source_pipe *s)
{
    int rc = 0;

    while (!s->ended && pr_intake_accepting(s->in)) {
        struct pr_task *task;
        uint64_t n = 0;

        rc = range_cut(s, &n);
        if (rc != 0 || n == 0)
            break;
        task = pr_task_new_items(NULL, 0);
        task->block_in_file = 1;
        task->block_fd = s->fd;
        task->block_off = s->off;
        task->block.len = (size_t)n;
        s->off += n;
        pr_intake_put(s->in, task);
    }
    if (s->ended || (rc == 0 && !pr_intake_accepting(s->in)))
        return;
    finish(s, rc);
}

/* Blocks become tasks while the intake takes them; then read more, pause,
 * or end.  After a read error the bytes read are not a block: the rest of
 * its last record may never have come. */
static void
pump(struct source_pipe *s)
{
    if (s->pumping || s->ended)
        return;
    s->pumping = 1;
    if (s->range) {
        pump_range(s);
        s->pumping = 0;
        return;
    }
    /* A put may stop the run (--halt), and the stop ends the source. */
    while (!s->ended && pr_intake_accepting(s->in)) {
        size_t n =
            pr_pipe_cut(s->buf, s->len, s->block, s->recend, s->recend_len,
                        s->input_eof && s->err == 0, &s->scanned);

        if (n == 0)
            break;
        put_block(s, n);
    }
    s->pumping = 0;
    if (s->ended)
        return;
    if (s->input_eof && (s->len == 0 || s->err != 0)) {
        finish(s, s->err);
        return;
    }
    if (!pr_intake_accepting(s->in)) {
        pr_fdread_pause(&s->rd);
        return;
    }
    if (!s->input_eof)
        pr_fdread_want_more(&s->rd);
}

/* A regular file that can seek is cut into ranges; anything else is read
 * (see fdread.h: a closed descriptor is empty input). */
static int
open_input(struct source_pipe *s)
{
    struct stat st;
    off_t at;
    int rc;

    if (fstat(s->fd, &st) == 0 && S_ISREG(st.st_mode) &&
        (at = lseek(s->fd, 0, SEEK_CUR)) >= 0) {
        s->range = 1;
        s->off = (uint64_t)at;
        s->cap = WINDOW > 2 * s->recend_len ? WINDOW : 2 * s->recend_len;
        s->buf = pr_xrealloc(s->buf, s->cap);
        return 0;
    }
    rc = pr_fdread_open(&s->rd, s->loop, s->fd);
    if (rc == 0 && s->rd.kind == PR_FDREAD_NONE)
        s->input_eof = 1;
    return rc;
}

static int
pipe_start(struct pr_source *base, const struct pr_intake *in)
{
    struct source_pipe *s = (struct source_pipe *)base;
    int rc;

    s->in = in;
    rc = open_input(s);
    if (rc != 0) {
        s->ended = 1;
        return rc;
    }
    pump(s);
    return 0;
}

static void
pipe_resume(struct pr_source *base)
{
    pump((struct source_pipe *)base);
}

static void
pipe_stop(struct pr_source *base)
{
    /* What was read but not yet a task is dropped: it was never taken. */
    finish((struct source_pipe *)base, 0);
}

static void
pipe_free(struct pr_source *base)
{
    struct source_pipe *s = (struct source_pipe *)base;

    pr_fdread_restore_flags(&s->rd);
    free(s->buf);
    free(s->recend);
    free(s);
}

static const struct pr_source_ops pipe_ops = {
    .start = pipe_start,
    .resume = pipe_resume,
    .stop = pipe_stop,
    .ended = NULL,   /* see the top of this file */
    .requeue = NULL, /* ditto */
    .free = pipe_free,
};

struct pr_source *
pr_source_pipe_new(uv_loop_t *loop, int fd,
                   const struct pr_source_pipe_options *o)
{
    struct source_pipe *s = pr_xcalloc(1, sizeof(*s));

    s->base.ops = &pipe_ops;
    s->loop = loop;
    s->fd = fd;
    pr_fdread_init(&s->rd, on_block_space, on_block_read);
    s->block = o->block > 0 ? o->block : 1;
    s->recend = pr_xmemdup(o->recend, o->recend_len);
    s->recend_len = o->recend_len;
    s->cap = s->block;
    s->buf = pr_xmalloc(s->cap);
    return &s->base;
}
