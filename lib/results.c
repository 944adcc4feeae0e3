/*
 * results: JSON Lines records, one per attempt, and the joblog reader of
 * --resume.  Strings that are not valid UTF-8 (a task's output may be any
 * bytes) are written as base64 under the key with "_base64" appended, so
 * that every line is valid JSON and nothing is altered.  The reader skips
 * the lines it cannot read (a record cut short by a kill or a full disk
 * among them) and tells its caller which; the writers, appending, start on
 * a fresh line and, after a failed write, write nothing more.
 */
#include "results.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uv.h>

#include "base64.h"
#include "joblog.h"
#include "json.h"

struct pr_results {
    int fd;
    int error; /* the first write error: nothing is written after it */
    size_t limit;
    struct pr_buf line;
    struct pr_buf head;
};

int
pr_results_open(struct pr_results **out, const char *path, int append,
                size_t limit)
{
    int flags = O_WRONLY | O_CREAT | O_CLOEXEC | O_APPEND;
    struct pr_results *r;
    int fd;

    if (!append)
        flags |= O_TRUNC;
    fd = open(path, flags, 0666);
    if (fd < 0)
        return -errno;
    if (append) {
        int rc = pr_records_fresh_line(fd, path);

        if (rc != 0) {
            close(fd);
            return rc;
        }
    }
    r = pr_xcalloc(1, sizeof(*r));
    r->fd = fd;
    r->limit = limit;
    *out = r;
    return 0;
}

int
pr_results_close(struct pr_results *r)
{
    int rc = 0;

    if (r == NULL)
        return 0;
    if (close(r->fd) != 0)
        rc = -errno;
    pr_buf_free(&r->line);
    pr_buf_free(&r->head);
    free(r);
    return rc;
}

/* "base64 of p" as a JSON string. */
static void
base64(struct pr_buf *b, const unsigned char *p, size_t n)
{
    pr_buf_append(b, "\"", 1);
    pr_base64_encode(b, p, n);
    pr_buf_append(b, "\"", 1);
}

/* ,"key":"text" or, for bytes that are not UTF-8, ,"key_base64":"..." */
static void
field_bytes(struct pr_buf *b, const char *key, const char *s, size_t n)
{
    pr_buf_append(b, ",\"", 2);
    pr_buf_append(b, key, strlen(key));
    pr_buf_append(b, "\":", 2);
    if (pr_json_append_string(b, s, n) == 0)
        return;
    b->len -= 2;
    pr_buf_append(b, "_base64\":", 9);
    base64(b, (const unsigned char *)s, n);
}

static void field_raw(struct pr_buf *b, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* ,"key":VALUE with VALUE printed as fmt says (a number, true, null). */
static void
field_raw(struct pr_buf *b, const char *key, const char *fmt, ...)
{
    va_list ap;

    pr_buf_append(b, ",\"", 2);
    pr_buf_append(b, key, strlen(key));
    pr_buf_append(b, "\":", 2);
    va_start(ap, fmt);
    pr_buf_vappendf(b, fmt, ap);
    va_end(ap);
}

static void
field_items(struct pr_buf *b, const struct pr_task *task)
{
    unsigned i;

    if (task->nitems == 1) {
        field_bytes(b, "item", task->items[0].p, task->items[0].len);
        return;
    }
    if (task->nitems == 0)
        return;
    pr_buf_append(b, ",\"items\":[", 10);
    for (i = 0; i < task->nitems; i++) {
        if (i > 0)
            pr_buf_append(b, ",", 1);
        if (pr_json_append_string(b, task->items[i].p, task->items[i].len) != 0)
            base64(b, (const unsigned char *)task->items[i].p,
                   task->items[i].len);
    }
    pr_buf_append(b, "]", 1);
}

/* The exit and signal fields, and the error of a task that did not start. */
static void
field_end(struct pr_buf *b, const struct pr_task *task)
{
    if (task->status == PR_TASK_SKIPPED || task->term_signal != 0 ||
        (task->status == PR_TASK_ERROR && task->exit_status == 0))
        field_raw(b, "exit", "null");
    else
        field_raw(b, "exit", "%d", task->exit_status);
    if (task->term_signal != 0)
        field_raw(b, "signal", "%d", task->term_signal);
    else
        field_raw(b, "signal", "null");
    if (task->status == PR_TASK_ERROR) {
        char msg[512];
        int n = snprintf(msg, sizeof(msg), "%s: %s",
                         task->error_what ? task->error_what : "cannot start",
                         pr_err_text(task->error));

        if (n > 0)
            field_bytes(b, "error", msg,
                        (size_t)n < sizeof(msg) ? (size_t)n : sizeof(msg) - 1);
    }
}

/* stdout/stderr byte counts and their first `limit` bytes. */
static void
field_output(struct pr_results *r, const char *name, uint64_t total,
             const struct pr_capture *c, const struct pr_buf *given)
{
    char key[32];
    const struct pr_buf *h = given;

    snprintf(key, sizeof(key), "%s_bytes", name);
    field_raw(&r->line, key, "%llu", (unsigned long long)total);
    if (r->limit == 0)
        return;
    if (h == NULL) {
        r->head.len = 0;
        pr_capture_head(c, &r->head, r->limit);
        h = &r->head;
    }
    field_bytes(&r->line, name, h->data ? h->data : "", h->len);
    if (total > h->len) {
        snprintf(key, sizeof(key), "%s_truncated", name);
        field_raw(&r->line, key, "true");
    }
}

static int
finish_line(struct pr_results *r)
{
    pr_buf_append(&r->line, "}\n", 2);
    /* A failed write may have left part of the record: records written
     * after it would be glued to that part, so there are none. */
    r->error = pr_write_all(r->fd, r->line.data, r->line.len);
    return r->error;
}

int
pr_results_write(struct pr_results *r, const struct pr_task *task, int final,
                 const char *why, const struct pr_buf *out,
                 const struct pr_buf *err)
{
    struct pr_buf *b = &r->line;
    char seq[32];
    int n;

    if (r->error != 0)
        return r->error;
    n = snprintf(seq, sizeof(seq), "{\"seq\":%llu",
                 (unsigned long long)task->seq);
    b->len = 0;
    pr_buf_append(b, seq, (size_t)n);
    if (task->spec != NULL && task->spec->id != NULL)
        field_bytes(b, "id", task->spec->id, strlen(task->spec->id));
    field_items(b, task);
    if (task->line != NULL)
        field_bytes(b, "command", task->line, task->line_len);
    field_bytes(b, "status", pr_task_status_name(task->status),
                strlen(pr_task_status_name(task->status)));
    if (why != NULL)
        field_bytes(b, "reason", why, strlen(why));
    if (task->service)
        field_raw(b, "service", "true");
    field_end(b, task);
    field_raw(b, "attempt", "%u", task->attempt);
    field_raw(b, "final", "%s", final ? "true" : "false");
    if (task->start_ns != 0) {
        field_raw(b, "start", "%.3f", task->start_wall);
        field_raw(b, "runtime", "%.3f", pr_task_runtime(task));
        field_raw(b, "slot", "%u", task->slot);
        field_raw(b, "pid", "%d", task->pid);
        field_output(r, "stdout", task->out.total, &task->out, out);
        field_output(r, "stderr", task->err.total, &task->err, err);
    }
    return finish_line(r);
}

int
pr_results_write_callback(struct pr_results *r, const char *kind,
                          uint64_t task_seq, const struct pr_task *cb)
{
    struct pr_buf *b = &r->line;
    char head[64];
    int n;

    if (r->error != 0)
        return r->error;
    if (task_seq != 0)
        n = snprintf(head, sizeof(head), "{\"seq\":%llu",
                     (unsigned long long)task_seq);
    else
        n = snprintf(head, sizeof(head), "{\"seq\":null");
    b->len = 0;
    pr_buf_append(b, head, (size_t)n);
    field_bytes(b, "callback", kind, strlen(kind));
    field_bytes(b, "command", cb->line, cb->line_len);
    field_bytes(b, "status", pr_task_status_name(cb->status),
                strlen(pr_task_status_name(cb->status)));
    field_end(b, cb);
    if (cb->start_ns != 0) {
        field_raw(b, "start", "%.3f", cb->start_wall);
        field_raw(b, "runtime", "%.3f", pr_task_runtime(cb));
        field_raw(b, "pid", "%d", cb->pid);
        field_output(r, "stdout", cb->out.total, &cb->out, NULL);
        field_output(r, "stderr", cb->err.total, &cb->err, NULL);
    }
    return finish_line(r);
}

struct pr_seqput {
    uint64_t seq;
    uint64_t order; /* put number << 1 | on */
};

/* Puts gathered before a merge: at least this many, and as many as the
 * set has runs, so that each merge pays for itself. */
#define SEQSET_BATCH 4096

static int
cmp_put(const void *a, const void *b)
{
    const struct pr_seqput *x = a, *y = b;

    if (x->seq != y->seq)
        return x->seq < y->seq ? -1 : 1;
    return x->order < y->order ? -1 : x->order > y->order;
}

/* Appends [lo, hi] to runs[0..*n), joining it to the last run when they
 * touch.  Runs come in increasing order; lo >= 1, so lo - 1 cannot wrap. */
static void
push_run(struct pr_seqrun *runs, size_t *n, uint64_t lo, uint64_t hi)
{
    if (*n > 0 && runs[*n - 1].hi >= lo - 1) {
        if (hi > runs[*n - 1].hi)
            runs[*n - 1].hi = hi;
        return;
    }
    runs[*n].lo = lo;
    runs[*n].hi = hi;
    (*n)++;
}

void
pr_seqset_flush(struct pr_seqset *set)
{
    struct pr_seqrun *out;
    struct pr_seqrun cur = {0, 0};
    int have_cur = 0;
    size_t i = 0, j, n = 0;

    if (set->nputs == 0)
        return;
    /* Rows mostly come in order (a job log of -j 1 always): no sort then. */
    for (j = 1; j < set->nputs; j++)
        if (cmp_put(&set->puts[j - 1], &set->puts[j]) > 0)
            break;
    if (j < set->nputs)
        qsort(set->puts, set->nputs, sizeof(set->puts[0]), cmp_put);
    /* Each put adds a run or splits one in two: at most one more each. */
    out = pr_xmalloc((set->nruns + set->nputs) * sizeof(*out));
    for (j = 0; j < set->nputs; j++) {
        uint64_t seq = set->puts[j].seq;

        /* Only the latest put of a seq counts: the last of its kind. */
        if (j + 1 < set->nputs && set->puts[j + 1].seq == seq)
            continue;
        /* Runs wholly before seq go out as they are. */
        for (;;) {
            if (!have_cur) {
                if (i == set->nruns)
                    break;
                cur = set->runs[i++];
                have_cur = 1;
            }
            if (cur.hi >= seq)
                break;
            push_run(out, &n, cur.lo, cur.hi);
            have_cur = 0;
        }
        if (have_cur && cur.lo <= seq) {
            /* seq falls inside cur: what lies before it goes out, cur
             * keeps what lies after it. */
            if (cur.lo < seq)
                push_run(out, &n, cur.lo, seq - 1);
            if (cur.hi == seq)
                have_cur = 0;
            else
                cur.lo = seq + 1;
        }
        if (set->puts[j].order & 1)
            push_run(out, &n, seq, seq);
    }
    if (have_cur)
        push_run(out, &n, cur.lo, cur.hi);
    for (; i < set->nruns; i++)
        push_run(out, &n, set->runs[i].lo, set->runs[i].hi);
    free(set->runs);
    /* Keep only what the runs need: the set's memory follows its runs. */
    set->runs = n > 0 ? pr_xrealloc(out, n * sizeof(*out)) : NULL;
    if (n == 0)
        free(out);
    set->nruns = n;
    set->nputs = 0;
}

void
pr_seqset_put(struct pr_seqset *set, uint64_t seq, int on)
{
    if (set->nputs == set->puts_cap) {
        set->puts_cap = set->puts_cap ? set->puts_cap * 2 : 64;
        set->puts =
            pr_xrealloc(set->puts, set->puts_cap * sizeof(set->puts[0]));
    }
    set->puts[set->nputs].seq = seq;
    set->puts[set->nputs].order = set->order++ << 1 | (on ? 1 : 0);
    set->nputs++;
    if (set->nputs >= SEQSET_BATCH && set->nputs >= set->nruns)
        pr_seqset_flush(set);
}

int
pr_seqset_has(const struct pr_seqset *set, uint64_t seq)
{
    size_t lo = 0, hi = set->nruns;

    assert(set->nputs == 0);
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;

        if (set->runs[mid].hi < seq)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < set->nruns && set->runs[lo].lo <= seq;
}

size_t
pr_seqset_runs(const struct pr_seqset *set)
{
    return set->nruns;
}

void
pr_seqset_free(struct pr_seqset *set)
{
    free(set->runs);
    free(set->puts);
    memset(set, 0, sizeof(*set));
}

/* A whole number from 1 to UINT64_MAX in decimal digits, nothing else:
 * strtoull alone would take " 5", "+5" and "-1" (as 2^64 - 1). */
static int
parse_seq(const char *s, uint64_t *seq)
{
    const char *p;
    char *end;

    for (p = s; *p != '\0'; p++)
        if (*p < '0' || *p > '9')
            return -1;
    if (p == s)
        return -1;
    errno = 0;
    *seq = strtoull(s, &end, 10);
    return errno != 0 || *seq == 0 ? -1 : 0;
}

/* A decimal int, with an optional minus sign (Exitval is -1 for a task
 * that could not start). */
static int
parse_int(const char *s, long *v)
{
    char *end;

    if (!((*s >= '0' && *s <= '9') ||
          (*s == '-' && s[1] >= '0' && s[1] <= '9')))
        return -1;
    errno = 0;
    *v = strtol(s, &end, 10);
    return *end != '\0' || errno != 0 || *v < INT_MIN || *v > INT_MAX ? -1 : 0;
}

/* One row: Seq, Host, Starttime, JobRuntime, Send, Receive, Exitval,
 * Signal, Command.  Returns 0 and the three numbers we need, or -1. */
static int
parse_row(char *row, uint64_t *seq, long *exitval, long *sig)
{
    char *field[8];
    int i;

    for (i = 0; i < 8; i++) {
        field[i] = row;
        row = strchr(row, '\t');
        if (row == NULL)
            return -1;
        *row++ = '\0';
    }
    if (parse_seq(field[0], seq) != 0 || parse_int(field[6], exitval) != 0 ||
        parse_int(field[7], sig) != 0)
        return -1;
    return 0;
}

int
pr_resume_read(const char *path, int failed_again, struct pr_seqset *done,
               pr_resume_skip_fn *skip, void *data, unsigned long *bad_line)
{
    /* O_NONBLOCK: a FIFO must not hang us before we see what it is. */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    struct stat st;
    FILE *f;
    char *row = NULL;
    size_t cap = 0;
    unsigned long lineno = 0;
    /* A bad row is told of only once the next line shows it was not the
     * last (then it is a bad row, else a torn one). */
    unsigned long pending = 0;
    ssize_t n;
    int rc = 0;

    if (fd < 0)
        return errno == ENOENT ? 0 : -errno;
    /* Only a regular file keeps rows to resume from: /dev/full or
     * /dev/zero would be read for ever, a FIFO would be emptied. */
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return 0;
    }
    f = fdopen(fd, "r");
    if (f == NULL) {
        rc = -errno;
        close(fd);
        return rc;
    }
    while ((n = getline(&row, &cap, f)) > 0) {
        uint64_t seq;
        long exitval, sig;
        int whole = row[n - 1] == '\n';

        lineno++;
        if (pending != 0) {
            skip(data, pending, PR_RESUME_BAD_ROW);
            pending = 0;
        }
        if (whole)
            row[--n] = '\0';
        if (lineno == 1 && strncmp(row, "Seq\t", 4) != 0 &&
            !(!whole && strncmp(row, pr_joblog_header, (size_t)n) == 0)) {
            /* Not a job log (a torn header aside): refuse it before
             * anything is appended to it. */
            *bad_line = 1;
            rc = UV_EINVAL;
            break;
        }
        if (!whole) {
            /* Only the last line can lack its newline. */
            skip(data, lineno, PR_RESUME_TORN);
            break;
        }
        /* The header, written again by every resumed run. */
        if (strncmp(row, "Seq\t", 4) == 0)
            continue;
        if ((size_t)n != strlen(row) ||
            parse_row(row, &seq, &exitval, &sig) != 0) {
            pending = lineno;
            continue;
        }
        /* The last row of a seq decides. */
        pr_seqset_put(done, seq, !failed_again || (exitval == 0 && sig == 0));
    }
    if (rc == 0 && ferror(f))
        rc = -errno;
    if (rc == 0 && pending != 0)
        skip(data, pending, PR_RESUME_TORN);
    pr_seqset_flush(done);
    free(row);
    fclose(f);
    return rc;
}

int
pr_results_torn_line(const char *path, unsigned long *line)
{
    char buf[65536];
    unsigned long lines = 0;
    char last = '\n';
    ssize_t n;
    struct stat st;
    /* O_NONBLOCK: a FIFO given as the results file must not hang us. */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);

    *line = 0;
    if (fd < 0)
        return errno == ENOENT ? 0 : -errno;
    /* Only a regular file keeps what was written to it (and /dev/zero
     * would never end). */
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size == 0 ||
        (pread(fd, &last, 1, st.st_size - 1) == 1 && last == '\n')) {
        close(fd);
        return 0;
    }
    /* Cut short (rare): count the lines to name the last one.  A results
     * file can be large, so only then. */
    last = '\n';
    while ((n = read(fd, buf, sizeof(buf))) != 0) {
        const char *p = buf, *end;

        if (n < 0) {
            if (errno == EINTR)
                continue;
            n = -errno;
            close(fd);
            return (int)n;
        }
        end = buf + n;
        while ((p = memchr(p, '\n', (size_t)(end - p))) != NULL) {
            lines++;
            p++;
        }
        last = buf[n - 1];
    }
    close(fd);
    if (last != '\n')
        *line = lines + 1;
    return 0;
}

int
pr_results_dir_make(const char *dir)
{
    char *path = pr_xstrdup(dir);
    char *p = path;
    struct stat st;
    int rc = 0;

    /* Each prefix that ends at a slash, then the whole path. */
    for (;;) {
        char *slash = strchr(p + (*p == '/'), '/');
        char saved = 0;

        if (slash != NULL) {
            saved = *slash;
            *slash = '\0';
        }
        if (path[0] != '\0' && mkdir(path, 0777) != 0 &&
            (errno != EEXIST || stat(path, &st) != 0 || !S_ISDIR(st.st_mode)))
            rc = errno == EEXIST ? UV_ENOTDIR : -errno;
        if (slash == NULL || rc != 0)
            break;
        *slash = saved;
        p = slash + 1;
    }
    free(path);
    return rc;
}

/* Appends one item to b as GNU parallel names its folder (see results.h),
 * cut at NAME_MAX bytes. */
static void
dir_name(struct pr_buf *b, const char *p, size_t len)
{
    size_t start = b->len;
    size_t i;

    if (len == 0 || (len <= 2 && memcmp(p, "..", len) == 0)) {
        pr_buf_append(b, "\\", 1);
        pr_buf_append(b, p, len);
        return;
    }
    for (i = 0; i < len && b->len - start < NAME_MAX; i++) {
        switch (p[i]) {
        case '\\':
            pr_buf_append(b, "\\\\", 2);
            break;
        case '\t':
            pr_buf_append(b, "\\t", 2);
            break;
        case '\0':
            pr_buf_append(b, "\\0", 2);
            break;
        case '/':
            pr_buf_append(b, "\\_", 2);
            break;
        default:
            pr_buf_append(b, p + i, 1);
        }
    }
    if (b->len - start > NAME_MAX)
        b->len = start + NAME_MAX;
}

/* Opens task's file `name` in its folder (made if need be), truncated.
 * Returns the descriptor or a negative errno. */
static int
dir_open(const struct pr_results_dir *dir, const struct pr_task *task,
         const char *name)
{
    struct pr_buf path = {0};
    unsigned i;
    int fd;

    pr_buf_append(&path, dir->path, strlen(dir->path));
    for (i = 0; i < task->nitems || (i == 0 && task->nitems == 0); i++) {
        /* GNU parallel's folder above an item: its input's (or column's)
         * name or number; 1 for the items of one input. */
        if (dir->names != NULL && i < (unsigned)dir->nnames) {
            pr_buf_append(&path, "/", 1);
            dir_name(&path, dir->names[i], strlen(dir->names[i]));
            pr_buf_append(&path, "/", 1);
        } else {
            pr_buf_appendf(&path, "/%u/", dir->positions ? i + 1 : 1);
        }
        if (i < task->nitems)
            dir_name(&path, task->items[i].p, task->items[i].len);
        else
            dir_name(&path, "", 0);
    }
    pr_buf_append(&path, "", 1);
    fd = pr_results_dir_make(path.data);
    if (fd == 0) {
        path.len--;
        pr_buf_append(&path, "/", 1);
        pr_buf_append(&path, name, strlen(name) + 1);
        fd = open(path.data, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
        if (fd < 0)
            fd = -errno;
    }
    pr_buf_free(&path);
    return fd;
}

/* A new attempt writes its own files: what the last one left is emptied
 * when they are opened again. */
static void
dir_attempt(struct pr_task *task)
{
    int i;

    if (task->results_attempt == task->attempt)
        return;
    for (i = 0; i < 2; i++) {
        if (task->results_fd[i] > 0)
            close(task->results_fd[i]);
        task->results_fd[i] = 0;
    }
    task->results_attempt = task->attempt;
}

static int
dir_file(const struct pr_results_dir *dir, struct pr_task *task, int i)
{
    int fd;

    if (task->results_fd[i] > 0)
        return 0;
    fd = dir_open(dir, task, i == 0 ? "stdout" : "stderr");
    if (fd < 0)
        return fd;
    task->results_fd[i] = fd;
    return 0;
}

int
pr_results_dir_output(const struct pr_results_dir *dir, struct pr_task *task,
                      int stream, const char *p, size_t n)
{
    int i = stream == 2;
    int rc;

    dir_attempt(task);
    rc = dir_file(dir, task, i);
    if (rc != 0)
        return rc;
    return pr_write_all(task->results_fd[i], p, n);
}

int
pr_results_dir_final(const struct pr_results_dir *dir, struct pr_task *task)
{
    char seq[32];
    int rc = 0;
    int fd, i;

    if (task->status == PR_TASK_SKIPPED || task->attempt == 0)
        return 0;
    dir_attempt(task);
    for (i = 0; i < 2 && rc == 0; i++)
        rc = dir_file(dir, task, i);
    if (rc == 0) {
        fd = dir_open(dir, task, "seq");
        if (fd < 0) {
            rc = fd;
        } else {
            /* No newline, as GNU parallel writes it. */
            int n = snprintf(seq, sizeof(seq), "%llu",
                             (unsigned long long)task->seq);

            rc = pr_write_all(fd, seq, (size_t)n);
            if (close(fd) != 0 && rc == 0)
                rc = -errno;
        }
    }
    for (i = 0; i < 2; i++) {
        if (task->results_fd[i] > 0 && close(task->results_fd[i]) != 0 &&
            rc == 0)
            rc = -errno;
        task->results_fd[i] = 0;
    }
    return rc;
}
