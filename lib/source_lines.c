/*
 * source_lines: the splitter and the stdin source.  Each input is read by
 * an fd reader (fdread.h: a pipe, socket, tty, file or device), one chunk
 * at a time into the splitter.  Nothing is read while the queue is full.
 * Several inputs (-a FILE...) are read one after the other; items are grouped
 * -n at a time; an item equal to the sentinel (-E) ends the input there.
 *
 * Neither source has ended or requeue: a pipe, a file read once or the
 * command line cannot take an item back, and there is nobody to
 * acknowledge a task to; a task not started at a stop is recorded skipped
 * (and --resume runs it next time).
 */
#include "source_lines.h"

#include <stdlib.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#include "fdread.h"
#include "source_json.h"
#include "task.h"

#define READ_CHUNK ((size_t)64 * 1024)
/* Queued long lines hold a descriptor each: past this many, reading
 * waits for tasks to end (as it waits for room in the queue), so that they
 * do not take the descriptors tasks need to start. */
#define MAX_LONG_FILES 32

void
pr_splitter_init(struct pr_splitter *sp, char delim)
{
    memset(sp, 0, sizeof(*sp));
    sp->delim = delim;
    sp->cur.fd = -1;
}

void
pr_splitter_set_long(struct pr_splitter *sp, size_t max, int keep)
{
    sp->max = max;
    sp->keep = keep;
}

static void
drop_long_file(struct pr_splitter *sp)
{
    if (sp->cur.fd >= 0)
        close(sp->cur.fd);
    sp->cur.fd = -1;
}

void
pr_splitter_free(struct pr_splitter *sp)
{
    pr_buf_free(&sp->buf);
    pr_buf_free(&sp->head);
    drop_long_file(sp);
    sp->pos = sp->scanned = 0;
    sp->in_long = sp->long_ready = 0;
}

char *
pr_splitter_space(struct pr_splitter *sp, size_t want)
{
    struct pr_buf *b = &sp->buf;

    /* Drop what was consumed before growing: the buffer stays about one
     * read plus the longest item (at most max, past which items are long
     * and leave the buffer as they come). */
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

/* The next n bytes of a long item (starting it if need be) leave memory:
 * the head keeps its first bytes, the file (with keep) all of them.  A
 * failed write or a NUL byte ends the keeping at once, so that neither a
 * full disk nor an endless line of NULs (poolrun < /dev/zero) fills the
 * disk; the item is still counted to its end. */
static void
long_add(struct pr_splitter *sp, const char *p, size_t n)
{
    if (n == 0 && sp->in_long)
        return;
    if (!sp->in_long) {
        sp->in_long = 1;
        sp->head.len = 0;
        sp->cur.len = 0;
        sp->cur.err = 0;
        sp->cur.fd = -1;
        if (sp->keep) {
            sp->cur.fd = pr_tmpfile();
            if (sp->cur.fd < 0) {
                sp->cur.err = sp->cur.fd;
                sp->cur.fd = -1;
            }
        }
    }
    if (sp->head.len < PR_ITEM_HEAD) {
        size_t room = PR_ITEM_HEAD - sp->head.len;

        pr_buf_append(&sp->head, p, n < room ? n : room);
    }
    if (sp->cur.fd >= 0) {
        int rc = memchr(p, '\0', n) != NULL ? UV_EINVAL
                                            : pr_write_all(sp->cur.fd, p, n);

        if (rc != 0) {
            drop_long_file(sp);
            sp->cur.err = rc;
        }
    }
    sp->cur.len += n;
}

/* The long item has ended: it is the item returned. */
static int
long_end(struct pr_splitter *sp, const char **item, size_t *len)
{
    sp->in_long = 0;
    sp->long_ready = 1;
    *item = sp->head.data;
    *len = sp->head.len;
    return 1;
}

int
pr_splitter_next(struct pr_splitter *sp, int at_eof, const char **item,
                 size_t *len)
{
    struct pr_buf *b = &sp->buf;
    const char *hit = NULL;
    size_t n;

    if (sp->long_ready) {
        /* Not taken: nobody will read its file. */
        sp->long_ready = 0;
        drop_long_file(sp);
    }
    if (sp->pos < b->len)
        hit = memchr(b->data + sp->scanned, sp->delim, b->len - sp->scanned);
    if (hit == NULL) {
        sp->scanned = b->len;
        n = b->len - sp->pos;
        if (sp->max > 0 && (sp->in_long || n > sp->max)) {
            long_add(sp, b->data + sp->pos, n);
            sp->pos = sp->scanned = b->len;
        }
        if (!at_eof)
            return 0;
        if (sp->in_long)
            return long_end(sp, item, len);
        if (sp->pos >= b->len)
            return 0;
        *item = b->data + sp->pos;
        *len = b->len - sp->pos;
        sp->pos = sp->scanned = b->len;
        return 1;
    }
    n = (size_t)(hit - (b->data + sp->pos));
    if (sp->max > 0 && (sp->in_long || n > sp->max)) {
        /* Long however the reads fell: the limit does not depend on them. */
        long_add(sp, b->data + sp->pos, n);
        sp->pos = sp->scanned = (size_t)(hit - b->data) + 1;
        return long_end(sp, item, len);
    }
    *item = b->data + sp->pos;
    *len = n;
    sp->pos = sp->scanned = (size_t)(hit - b->data) + 1;
    return 1;
}

int
pr_splitter_take_long(struct pr_splitter *sp, struct pr_long_item *li)
{
    if (!sp->long_ready)
        return 0;
    *li = sp->cur;
    sp->cur.fd = -1;
    sp->long_ready = 0;
    return 1;
}

size_t
pr_splitter_pending(const struct pr_splitter *sp)
{
    return sp->buf.len - sp->pos;
}

/* What both sources do with an item: skip it when empty, stop at the
 * sentinel, group -n of them into one task. */
struct batcher {
    const struct pr_intake *in;
    struct pr_source_lines_options o;
    size_t sentinel_len;
    struct pr_item *pending;
    unsigned npending;
    uint64_t pending_long; /* the length of a long item among them, or 0 */
    uint64_t nitems;    /* items seen, for run_once_if_empty */
    uint64_t lineno;    /* items read, empty ones too: the line number */
    int sentinel_seen;
    int failed;         /* --json: a bad line; nothing more is read */
    struct pr_idset *ids; /* --json: the task ids so far */
};

static void
batcher_init(struct batcher *b, const struct pr_source_lines_options *o)
{
    memset(b, 0, sizeof(*b));
    b->o = *o;
    if (b->o.per_task == 0)
        b->o.per_task = 1;
    b->sentinel_len = o->sentinel ? strlen(o->sentinel) : 0;
    b->pending = pr_xcalloc(b->o.per_task, sizeof(*b->pending));
    if (o->json_name != NULL)
        b->ids = pr_idset_new();
}

static void
batcher_free(struct batcher *b)
{
    unsigned i;

    for (i = 0; i < b->npending; i++)
        free(b->pending[i].p);
    free(b->pending);
    b->npending = 0;
    pr_idset_free(b->ids);
    b->ids = NULL;
}

/* A task that can never run: its item is too long for any runner but the
 * shell's (a command's argument, a worker's line).  The record says so. */
static void
refuse_long(struct pr_task *task, uint64_t len)
{
    task->long_len = len;
    task->long_error = UV_E2BIG;
    task->long_why = "its item is longer than 1 MiB";
}

static void
put_pending(struct batcher *b)
{
    struct pr_task *task = pr_task_new_items(b->pending, b->npending);
    unsigned i;

    if (b->pending_long != 0)
        refuse_long(task, b->pending_long);
    pr_intake_put(b->in, task);
    for (i = 0; i < b->npending; i++)
        free(b->pending[i].p);
    b->npending = 0;
    b->pending_long = 0;
}

/* How a long item reads in records and messages: its head, cut where a
 * character ends, then "... [N bytes]".  Never run as it reads. */
static void
long_shown(struct pr_buf *out, const char *head, size_t n, uint64_t len)
{
    size_t i = n;
    char tail[48];
    int k;

    while (i > 0 && n - i < 3 && ((unsigned char)head[i - 1] & 0xc0) == 0x80)
        i--;
    if (i > 0 && (unsigned char)head[i - 1] >= 0xc0 &&
        pr_utf8_len((const unsigned char *)head + i - 1, n - i + 1) == 0)
        n = i - 1;
    k = snprintf(tail, sizeof(tail), "... [%llu bytes]",
                 (unsigned long long)len);
    pr_buf_append(out, head, n);
    pr_buf_append(out, tail, (size_t)k);
}

/* A long item on its own.  Kept whole (a shell line, see keep_long), it
 * runs from its file; otherwise, or if it could not be kept, its task is
 * an error record that says why. */
static struct pr_task *
long_task(struct batcher *b, const char *head, size_t n,
          struct pr_long_item *li)
{
    struct pr_buf shown = {0};
    struct pr_item it;
    struct pr_task *task;

    long_shown(&shown, head, n, li->len);
    it.p = shown.data;
    it.len = shown.len;
    task = pr_task_new_items(&it, 1);
    if (!b->o.keep_long) {
        refuse_long(task, li->len);
        pr_buf_free(&shown);
        return task;
    }
    /* The line is set, so that nothing builds a command of the head. */
    task->line = shown.data;
    task->line_len = shown.len;
    task->long_len = li->len;
    pr_task_set_long_fd(task, li->fd);
    li->fd = -1;
    if (li->err != 0) {
        task->long_error = li->err;
        task->long_why = li->err == UV_EINVAL
                             ? "the line contains a NUL byte"
                             : "cannot write the long line to a file";
    }
    return task;
}

/* --json: the line is a whole task, its id unused before (as in a job
 * file).  A line of nothing but white space is skipped, as JSON Lines
 * readers do. */
static int
json_item(struct batcher *b, const char *p, size_t len,
          const struct pr_long_item *li)
{
    struct pr_diag d;
    struct pr_task *task = NULL; /* set only by a parse that succeeds */
    size_t i;

    if (li != NULL)
        snprintf(d.msg, sizeof(d.msg),
                 "%s:%llu: the line is longer than 1 MiB, the most a task "
                 "object may be",
                 b->o.json_name, (unsigned long long)b->lineno);
    for (i = 0; li == NULL && i < len && strchr(" \t\r\n", p[i]) != NULL &&
                p[i] != '\0';
         i++)
        ;
    if (li == NULL && i == len)
        return 0;
    if (li != NULL ||
        pr_jobline_parse(b->o.json_name, b->lineno, p, len, &task, &d) != 0 ||
        pr_idset_add(b->ids, task, &d) != 0) {
        pr_task_free(task);
        b->failed = 1;
        pr_intake_fail(b->in, d.msg);
        return 1;
    }
    b->nitems++;
    pr_intake_put(b->in, task);
    return 0;
}

/* Takes one item (the caller has checked that the intake accepts); li is
 * what the splitter kept of a long one (its file is then ours), or NULL.
 * Returns 1 when nothing more is to be read (the sentinel, a bad --json
 * line). */
static int
batcher_item(struct batcher *b, const char *p, size_t len,
             struct pr_long_item *li)
{
    int rc = 0;

    b->lineno++;
    if (len == 0)
        return 0;
    if (b->o.json_name != NULL) {
        rc = json_item(b, p, len, li);
    } else if (li == NULL && b->o.sentinel != NULL && len == b->sentinel_len &&
               memcmp(p, b->o.sentinel, len) == 0) {
        b->sentinel_seen = 1;
        rc = 1;
    } else if (b->o.per_task == 1) {
        struct pr_item it = {(char *)(uintptr_t)p, len};

        b->nitems++;
        pr_intake_put(b->in, li != NULL ? long_task(b, p, len, li)
                                        : pr_task_new_items(&it, 1));
    } else {
        struct pr_buf shown = {0};

        b->nitems++;
        if (li != NULL) {
            long_shown(&shown, p, len, li->len);
            if (b->pending_long == 0)
                b->pending_long = li->len;
            p = shown.data;
            len = shown.len;
        }
        b->pending[b->npending].p = pr_xmemdup(p, len);
        b->pending[b->npending].len = len;
        pr_buf_free(&shown);
        if (++b->npending == b->o.per_task)
            put_pending(b);
    }
    if (li != NULL && li->fd >= 0) {
        close(li->fd);
        li->fd = -1;
    }
    return rc;
}

/* At the end of input: a last, short group, or (map mode without -r, no
 * items at all, and the input read to its end) the command once with none,
 * as xargs does.  Returns 0 when done, 1 when it must wait for room in the
 * queue. */
static int
batcher_flush(struct batcher *b, int whole)
{
    int want =
        b->npending > 0 || (whole && b->o.run_once_if_empty && b->nitems == 0);

    if (!want || b->failed)
        return 0;
    if (!pr_intake_accepting(b->in))
        return 1;
    b->nitems++;
    put_pending(b);
    return 0;
}

struct source_lines {
    struct pr_source base;
    uv_loop_t *loop;
    struct batcher batch;
    int *fds;         /* ours to close, or -1 once a handle took one */
    int nfds;
    int cur;          /* the input being read */
    int err;          /* reading fds[cur] failed: nothing more is read */
    int switching;    /* rd is closing on the way to the next input */
    int input_eof;    /* the current input has no more bytes */
    int eof;          /* no input has any more items */
    int ended;        /* the intake's end has been called */
    int pumping;
    struct pr_splitter sp;
    struct pr_fdread rd; /* reads fds[cur] */
};

static void pump(struct source_lines *s);
static int open_input(struct source_lines *s);

/* Closes the reader of fds[cur]; a handle that took the descriptor closes
 * it, and a second close could hit a descriptor opened since. */
static void
close_input(struct source_lines *s, pr_fdread_closed_fn *cb)
{
    if (pr_fdread_close(&s->rd, cb))
        s->fds[s->cur] = -1;
}

static void
finish(struct source_lines *s, int err)
{
    if (s->ended)
        return;
    s->ended = 1;
    s->eof = 1;
    close_input(s, NULL);
    pr_intake_end(s->batch.in, err);
}

/* Reading the current input failed: the whole items read before still
 * become tasks, then the input ends with the error (see pump). */
static void
read_failed(struct source_lines *s, int err)
{
    s->err = err;
    s->input_eof = 1;
    pump(s);
}

static char *
on_input_space(struct pr_fdread *r, size_t *len)
{
    struct source_lines *s = PR_CONTAINER_OF(r, struct source_lines, rd);

    *len = READ_CHUNK;
    return pr_splitter_space(&s->sp, READ_CHUNK);
}

static void
on_input_read(struct pr_fdread *r, ssize_t n)
{
    struct source_lines *s = PR_CONTAINER_OF(r, struct source_lines, rd);

    if (n > 0) {
        pr_splitter_commit(&s->sp, (size_t)n);
    } else if (n < 0) {
        s->input_eof = 1;
        if (n != UV_EOF) {
            read_failed(s, (int)n);
            return;
        }
    }
    pump(s);
}

static void
on_switch_closed(struct pr_fdread *r)
{
    struct source_lines *s = PR_CONTAINER_OF(r, struct source_lines, rd);
    int rc;

    s->switching = 0;
    if (s->ended)
        return;
    s->cur++;
    s->input_eof = 0;
    rc = open_input(s);
    if (rc != 0) {
        read_failed(s, rc);
        return;
    }
    pump(s);
}

/* The current input is used up: go on to the next, or end. */
static void
next_input(struct source_lines *s)
{
    pr_fdread_restore_flags(&s->rd);
    if (s->cur + 1 >= s->nfds) {
        s->eof = 1;
        return;
    }
    s->switching = 1;
    if (s->rd.open)
        close_input(s, on_switch_closed);
    else
        on_switch_closed(&s->rd);
}

/* -E on a file: leave its offset just past the sentinel's item, as POSIX
 * asks of xargs (findutils's sv-bug-20273), so that what runs after poolrun
 * on the same stdin reads the rest.  The splitter holds the bytes read past
 * it.  A pipe cannot give them back; nor can a file that cannot seek. */
static void
rewind_past_sentinel(struct source_lines *s)
{
    int fd = s->fds[s->cur];
    off_t at;

    if (s->rd.kind != PR_FDREAD_FILE || fd < 0)
        return;
    at = lseek(fd, 0, SEEK_CUR);
    if (at < 0)
        return;
    (void)lseek(fd, at - (off_t)pr_splitter_pending(&s->sp), SEEK_SET);
}

/* Turn whole items into tasks while the intake takes them, then read more,
 * pause, or end. */
static void
pump(struct source_lines *s)
{
    const char *item;
    size_t len;

    if (s->pumping || s->ended || s->switching)
        return;
    s->pumping = 1;
    while (!s->eof && pr_intake_accepting(s->batch.in)) {
        /* After a read error the bytes after the last delimiter are not
         * an item: the rest of it may never have been read. */
        if (!pr_splitter_next(&s->sp, s->input_eof && s->err == 0, &item,
                              &len)) {
            if (!s->input_eof)
                break;
            if (s->err != 0) {
                s->eof = 1;
                break;
            }
            next_input(s);
            if (s->switching)
                break;
            continue;
        }
        {
            struct pr_long_item li;
            int is_long = pr_splitter_take_long(&s->sp, &li);

            if (batcher_item(&s->batch, item, len, is_long ? &li : NULL)) {
                s->eof = 1;
                if (s->batch.sentinel_seen)
                    rewind_past_sentinel(s);
            }
        }
    }
    s->pumping = 0;
    if (s->switching)
        return;
    if (s->eof) {
        pr_fdread_pause(&s->rd);
        if (s->batch.failed)
            finish(s, UV_EINVAL); /* already reported; just close up */
        else if (batcher_flush(&s->batch, s->err == 0) == 0)
            finish(s, s->err);
        return;
    }
    if (!pr_intake_accepting(s->batch.in) ||
        pr_task_long_files() >= MAX_LONG_FILES) {
        pr_fdread_pause(&s->rd);
        return;
    }
    if (!s->input_eof)
        pr_fdread_want_more(&s->rd);
}

/* Opens fds[cur] (see fdread.h); a closed one is empty input. */
static int
open_input(struct source_lines *s)
{
    int rc = pr_fdread_open(&s->rd, s->loop, s->fds[s->cur]);

    if (rc == 0 && s->rd.kind == PR_FDREAD_NONE)
        s->input_eof = 1;
    return rc;
}

static int
lines_start(struct pr_source *base, const struct pr_intake *in)
{
    struct source_lines *s = (struct source_lines *)base;
    int rc;

    s->batch.in = in;
    s->cur = 0;
    rc = open_input(s);
    if (rc != 0) {
        s->err = rc;
        s->ended = 1;
        return rc;
    }
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

    /* What was read but not yet a task (a short group) is dropped: it was
     * never accepted.  Closing the reader stops its reading. */
    finish(s, 0);
}

static void
lines_free(struct pr_source *base)
{
    struct source_lines *s = (struct source_lines *)base;
    int i;

    pr_fdread_restore_flags(&s->rd);
    for (i = 0; i < s->nfds; i++)
        if (s->fds[i] > 2)
            close(s->fds[i]);
    free(s->fds);
    batcher_free(&s->batch);
    pr_splitter_free(&s->sp);
    free(s);
}

static const struct pr_source_ops lines_ops = {
    .start = lines_start,
    .resume = lines_resume,
    .stop = lines_stop,
    .ended = NULL,   /* see the top of this file */
    .requeue = NULL, /* ditto */
    .free = lines_free,
};

int
pr_source_lines_failed_input(const struct pr_source *src)
{
    const struct source_lines *s = (const struct source_lines *)src;

    return s->err != 0 ? s->cur : -1;
}

struct pr_source *
pr_source_lines_new(uv_loop_t *loop, const int *fds, int nfds,
                    const struct pr_source_lines_options *o)
{
    struct source_lines *s = pr_xcalloc(1, sizeof(*s));

    s->base.ops = &lines_ops;
    s->loop = loop;
    s->fds = pr_xcalloc((size_t)nfds, sizeof(int));
    memcpy(s->fds, fds, (size_t)nfds * sizeof(int));
    s->nfds = nfds;
    pr_fdread_init(&s->rd, on_input_space, on_input_read);
    batcher_init(&s->batch, o);
    pr_splitter_init(&s->sp, o->delim);
    /* Only a shell line of its own runs whole from a file; any other long
     * item's task is an error record, and its bytes need not be kept. */
    s->batch.o.keep_long =
        o->keep_long && s->batch.o.per_task == 1 && o->json_name == NULL;
    pr_splitter_set_long(&s->sp, PR_ITEM_MAX, s->batch.o.keep_long);
    return &s->base;
}

/* ::: ITEM... — items from the command line. */
struct source_args {
    struct pr_source base;
    struct batcher batch;
    char **items;
    int nitems;
    int next;
    int ended;
};

static void
args_pump(struct source_args *a)
{
    while (!a->ended && a->next < a->nitems &&
           pr_intake_accepting(a->batch.in)) {
        const char *it = a->items[a->next++];

        if (batcher_item(&a->batch, it, strlen(it), NULL))
            a->next = a->nitems;
    }
    if (a->ended || a->next < a->nitems || batcher_flush(&a->batch, 1) != 0)
        return;
    a->ended = 1;
    pr_intake_end(a->batch.in, 0);
}

static int
args_start(struct pr_source *base, const struct pr_intake *in)
{
    struct source_args *a = (struct source_args *)base;

    a->batch.in = in;
    args_pump(a);
    return 0;
}

static void
args_resume(struct pr_source *base)
{
    args_pump((struct source_args *)base);
}

static void
args_stop(struct pr_source *base)
{
    struct source_args *a = (struct source_args *)base;

    if (a->ended)
        return;
    a->ended = 1;
    pr_intake_end(a->batch.in, 0);
}

static void
args_free(struct pr_source *base)
{
    struct source_args *a = (struct source_args *)base;

    batcher_free(&a->batch);
    free(a);
}

static const struct pr_source_ops args_ops = {
    .start = args_start,
    .resume = args_resume,
    .stop = args_stop,
    .ended = NULL,   /* see the top of this file */
    .requeue = NULL, /* ditto */
    .free = args_free,
};

struct pr_source *
pr_source_args_new(char **items, int nitems,
                   const struct pr_source_lines_options *o)
{
    struct source_args *a = pr_xcalloc(1, sizeof(*a));

    a->base.ops = &args_ops;
    a->items = items;
    a->nitems = nitems;
    batcher_init(&a->batch, o);
    return &a->base;
}
