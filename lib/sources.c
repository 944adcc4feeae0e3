/*
 * sources: see sources.h.  Inputs are kept as rows of columns (one column
 * each without --colsep), split once when read, so that making a task is
 * copying the columns of one row of each input.  Inputs linked together
 * (:::+, or all of them with --link) form a group that advances as one;
 * the groups combine like an odometer, the last one turning fastest
 * (GNU parallel's order).  Like the ::: source, it has neither ended nor
 * requeue: the command line and files read once cannot take a task back.
 */
#include "sources.h"

#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#include "task.h"
#include "util.h"

#define READ_CHUNK ((size_t)64 * 1024)

struct input {
    struct pr_item *cols; /* every row's columns, row after row */
    size_t ncols, capcols;
    size_t *row_end; /* row r's columns end at row_end[r] */
    size_t nrows, caprows;
    int linked;  /* pairs with the input before */
    int header;  /* its header line is still to come */
    int stopped; /* the sentinel came: the rest is not read */
};

struct sources {
    struct pr_source base;
    struct pr_sources_options o;
    regex_t re;
    int has_re;
    struct input *in;
    int nin;
    char **names; /* --header's, position by position */
    int nnames;
    const struct pr_intake *intake;
    /* The groups of linked inputs, and the combination to make next. */
    int ngroups;
    int *gfirst;  /* a group's first input; gfirst[ngroups] = nin */
    size_t *glen; /* its number of rows: the shortest input's (the
                     longest's with --link, the others start over) */
    size_t *idx;  /* its row in the next combination */
    struct pr_item *scratch;
    size_t capscratch;
    int once; /* run_once_if_empty: the task with no item is due */
    int done; /* every combination was put */
    int ended;
};

int
pr_sources_colsep(regex_t *re, const char *pattern, char *msg, size_t msglen)
{
    struct pr_buf b = {0};
    const char *p;
    int rc;

    /* GNU parallel's pattern is Perl's, where \t is a tab; POSIX leaves
     * \t undefined (glibc reads a t), so a tab-separated file would be
     * split at each t. */
    for (p = pattern; *p != '\0'; p++) {
        if (p[0] == '\\' && p[1] == 't') {
            pr_buf_append(&b, "\t", 1);
            p++;
        } else if (p[0] == '\\' && p[1] != '\0') {
            pr_buf_append(&b, p, 2);
            p++;
        } else {
            pr_buf_append(&b, p, 1);
        }
    }
    pr_buf_append(&b, "", 1);
    rc = regcomp(re, b.data, REG_EXTENDED);
    pr_buf_free(&b);
    if (rc != 0) {
        regerror(rc, re, msg, msglen);
        regfree(re);
        return UV_EINVAL;
    }
    return 0;
}

static void
push_col(struct input *in, const char *p, size_t n)
{
    if (in->ncols == in->capcols) {
        in->capcols = in->capcols ? in->capcols * 2 : 16;
        in->cols = pr_xrealloc(in->cols, in->capcols * sizeof(*in->cols));
    }
    in->cols[in->ncols].p = pr_xmemdup(p, n);
    in->cols[in->ncols].len = n;
    in->ncols++;
}

/* Adds p[0, n) to in as columns: split at each match of --colsep (a
 * match of no bytes splits nothing more), or whole. */
static void
push_split(struct sources *s, struct input *in, const char *p, size_t n)
{
    size_t from = 0;

    while (s->has_re) {
        regmatch_t m;
        int flags = from > 0 ? REG_NOTBOL : 0;
        const char *at = p;

#ifdef REG_STARTEND
        /* The item's own length bounds the match: a NUL byte in it does
         * not end it. */
        m.rm_so = (regoff_t)from;
        m.rm_eo = (regoff_t)n;
        flags |= REG_STARTEND;
#else
        at = p + from;
#endif
        if (regexec(&s->re, at, 1, &m, flags) != 0)
            break;
#ifndef REG_STARTEND
        m.rm_so += (regoff_t)from;
        m.rm_eo += (regoff_t)from;
#endif
        if (m.rm_eo == m.rm_so)
            break;
        push_col(in, p + from, (size_t)m.rm_so - from);
        from = (size_t)m.rm_eo;
    }
    push_col(in, p + from, n - from);
}

/* The header: names for the positions it stands for. */
static void
take_header(struct sources *s, struct input *in, const char *p, size_t n)
{
    size_t first = in->ncols;
    size_t k;

    push_split(s, in, p, n);
    for (k = first; k < in->ncols; k++) {
        s->names =
            pr_xrealloc(s->names, (size_t)(s->nnames + 1) * sizeof(*s->names));
        s->names[s->nnames++] = in->cols[k].p;
    }
    in->ncols = first;
    in->header = 0;
}

/* One item of an input: skipped when empty (as the lines source skips
 * it), the end of the input at the sentinel, the header, or a row. */
static void
add_item(struct sources *s, struct input *in, const char *p, size_t n)
{
    if (in->stopped || n == 0)
        return;
    if (s->o.sentinel != NULL && strlen(s->o.sentinel) == n &&
        memcmp(p, s->o.sentinel, n) == 0) {
        in->stopped = 1;
        return;
    }
    if (in->header) {
        take_header(s, in, p, n);
        return;
    }
    push_split(s, in, p, n);
    if (in->nrows == in->caprows) {
        in->caprows = in->caprows ? in->caprows * 2 : 16;
        in->row_end =
            pr_xrealloc(in->row_end, in->caprows * sizeof(*in->row_end));
    }
    in->row_end[in->nrows++] = in->ncols;
}

static struct input *
new_input(struct sources *s, int linked)
{
    struct input *in;

    s->in = pr_xrealloc(s->in, (size_t)(s->nin + 1) * sizeof(*s->in));
    in = &s->in[s->nin++];
    memset(in, 0, sizeof(*in));
    in->linked = linked && s->nin > 1;
    in->header = s->o.header;
    return in;
}

void
pr_sources_add_items(struct pr_source *src, char *const *items, int n,
                     int linked)
{
    struct sources *s = (struct sources *)src;
    struct input *in = new_input(s, linked);
    int i;

    for (i = 0; i < n; i++)
        add_item(s, in, items[i], strlen(items[i]));
}

/* Reads fd to its end into b.  A descriptor left non-blocking (a shared
 * pipe) is waited on with poll.  Returns 0 or -errno. */
static int
read_all(int fd, struct pr_buf *b)
{
    for (;;) {
        ssize_t r;

        pr_buf_reserve(b, READ_CHUNK);
        r = read(fd, b->data + b->len, b->cap - b->len);
        if (r > 0) {
            b->len += (size_t)r;
        } else if (r == 0) {
            return 0;
        } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
            struct pollfd pfd = {fd, POLLIN, 0};

            (void)poll(&pfd, 1, -1);
        } else if (errno != EINTR) {
            return -errno;
        }
    }
}

int
pr_sources_add_fd(struct pr_source *src, int fd, int linked)
{
    struct sources *s = (struct sources *)src;
    struct input *in = new_input(s, linked);
    struct pr_buf b = {0};
    size_t i = 0;
    int rc = read_all(fd, &b);

    while (rc == 0 && i < b.len) {
        const char *end = memchr(b.data + i, s->o.delim, b.len - i);
        size_t n = end != NULL ? (size_t)(end - (b.data + i)) : b.len - i;

        add_item(s, in, b.data + i, n);
        i += n + 1;
        if (in->stopped)
            break;
    }
    /* -E on a file: leave its offset just past the sentinel's item, as
     * POSIX asks of xargs (a pipe cannot go back: nothing to do). */
    if (in->stopped && i < b.len)
        (void)lseek(fd, -(off_t)(b.len - i), SEEK_CUR);
    pr_buf_free(&b);
    return rc;
}

int
pr_sources_names(const struct pr_source *src, const char *const **names)
{
    const struct sources *s = (const struct sources *)src;

    *names = (const char *const *)s->names;
    return s->nnames;
}

/* Splits the inputs into groups and finds each group's length. */
static void
make_groups(struct sources *s)
{
    int i, g = -1;

    s->gfirst = pr_xcalloc((size_t)s->nin + 1, sizeof(*s->gfirst));
    s->glen = pr_xcalloc((size_t)s->nin + 1, sizeof(*s->glen));
    s->idx = pr_xcalloc((size_t)s->nin + 1, sizeof(*s->idx));
    for (i = 0; i < s->nin; i++) {
        size_t rows = s->in[i].nrows;

        if (g < 0 || (!s->in[i].linked && !s->o.link)) {
            s->gfirst[++g] = i;
            s->glen[g] = rows;
        } else if (s->o.link ? rows > s->glen[g] : rows < s->glen[g]) {
            s->glen[g] = rows;
        }
        /* An empty input gives nothing to pair or combine with. */
        if (rows == 0)
            s->done = 1;
    }
    s->ngroups = g + 1;
    s->gfirst[s->ngroups] = s->nin;
    if (s->ngroups == 0)
        s->done = 1;
    s->once = s->done && s->o.run_once_if_empty;
}

/* The next combination: the last group turns fastest.  Returns 0 when
 * every one has been made. */
static int
advance(struct sources *s)
{
    int g;

    for (g = s->ngroups - 1; g >= 0; g--) {
        if (++s->idx[g] < s->glen[g])
            return 1;
        s->idx[g] = 0;
    }
    return 0;
}

static void
scratch_add(struct sources *s, size_t *n, const struct pr_item *cols,
            size_t count)
{
    if (*n + count > s->capscratch) {
        s->capscratch = (*n + count) * 2;
        s->scratch =
            pr_xrealloc(s->scratch, s->capscratch * sizeof(*s->scratch));
    }
    memcpy(s->scratch + *n, cols, count * sizeof(*cols));
    *n += count;
}

/* A task of the current combination: each input's row, in input order. */
static struct pr_task *
make_task(struct sources *s)
{
    size_t n = 0;
    int g, i;

    for (g = 0; g < s->ngroups; g++) {
        for (i = s->gfirst[g]; i < s->gfirst[g + 1]; i++) {
            const struct input *in = &s->in[i];
            /* With --link a shorter input starts over. */
            size_t r = s->idx[g] % in->nrows;
            size_t from = r > 0 ? in->row_end[r - 1] : 0;

            scratch_add(s, &n, in->cols + from, in->row_end[r] - from);
        }
    }
    return pr_task_new_items(s->scratch, (unsigned)n);
}

static void
pump(struct sources *s)
{
    while (!s->ended && (s->once || !s->done) &&
           pr_intake_accepting(s->intake)) {
        if (s->once) {
            s->once = 0;
            pr_intake_put(s->intake, pr_task_new_items(NULL, 0));
            continue;
        }
        pr_intake_put(s->intake, make_task(s));
        if (!advance(s))
            s->done = 1;
    }
    if (s->ended || s->once || !s->done)
        return;
    s->ended = 1;
    pr_intake_end(s->intake, 0);
}

static int
sources_start(struct pr_source *base, const struct pr_intake *in)
{
    struct sources *s = (struct sources *)base;

    s->intake = in;
    make_groups(s);
    pump(s);
    return 0;
}

static void
sources_resume(struct pr_source *base)
{
    pump((struct sources *)base);
}

static void
sources_stop(struct pr_source *base)
{
    struct sources *s = (struct sources *)base;

    if (s->ended)
        return;
    s->ended = 1;
    pr_intake_end(s->intake, 0);
}

static void
sources_free(struct pr_source *base)
{
    struct sources *s = (struct sources *)base;
    size_t k;
    int i;

    for (i = 0; i < s->nin; i++) {
        for (k = 0; k < s->in[i].ncols; k++)
            free(s->in[i].cols[k].p);
        free(s->in[i].cols);
        free(s->in[i].row_end);
    }
    for (i = 0; i < s->nnames; i++)
        free(s->names[i]);
    free(s->names);
    free(s->in);
    free(s->gfirst);
    free(s->glen);
    free(s->idx);
    free(s->scratch);
    if (s->has_re)
        regfree(&s->re);
    free(s);
}

static const struct pr_source_ops sources_ops = {
    .start = sources_start,
    .resume = sources_resume,
    .stop = sources_stop,
    .ended = NULL,   /* see the top of this file */
    .requeue = NULL, /* ditto */
    .free = sources_free,
};

struct pr_source *
pr_sources_new(const struct pr_sources_options *o)
{
    struct sources *s = pr_xcalloc(1, sizeof(*s));
    char msg[128];

    s->base.ops = &sources_ops;
    s->o = *o;
    s->o.colsep = NULL;
    if (o->colsep != NULL &&
        pr_sources_colsep(&s->re, o->colsep, msg, sizeof(msg)) == 0)
        s->has_re = 1;
    return &s->base;
}
