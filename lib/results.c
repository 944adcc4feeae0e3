/*
 * results: JSON Lines records, one per attempt, and the joblog reader of
 * --resume.  Strings that are not valid UTF-8 (a task's output may be any
 * bytes) are written as base64 under the key with "_base64" appended, so
 * that every line is valid JSON and nothing is altered.
 */
#include "results.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

struct pr_results {
    int fd;
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

int
pr_json_string(struct pr_buf *b, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    size_t start = b->len;

    pr_buf_reserve(b, n + 2);
    pr_buf_append(b, "\"", 1);
    while (i < n) {
        unsigned char c = p[i];
        size_t k;

        if (c >= 0x80) {
            k = pr_utf8_len(p + i, n - i);
            if (k == 0) {
                b->len = start;
                return -1;
            }
            pr_buf_append(b, p + i, k);
            i += k;
            continue;
        }
        if (c == '"' || c == '\\') {
            char e[2] = {'\\', (char)c};

            pr_buf_append(b, e, 2);
        } else if (c == '\n') {
            pr_buf_append(b, "\\n", 2);
        } else if (c == '\t') {
            pr_buf_append(b, "\\t", 2);
        } else if (c == '\r') {
            pr_buf_append(b, "\\r", 2);
        } else if (c < 0x20 || c == 0x7f) {
            char e[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};

            pr_buf_append(b, e, 6);
        } else {
            pr_buf_append(b, &c, 1);
        }
        i++;
    }
    pr_buf_append(b, "\"", 1);
    return 0;
}

static void
base64(struct pr_buf *b, const unsigned char *p, size_t n)
{
    static const char abc[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t i;

    pr_buf_append(b, "\"", 1);
    for (i = 0; i + 2 < n; i += 3) {
        char q[4] = {abc[p[i] >> 2], abc[((p[i] & 3) << 4) | (p[i + 1] >> 4)],
                     abc[((p[i + 1] & 15) << 2) | (p[i + 2] >> 6)],
                     abc[p[i + 2] & 63]};

        pr_buf_append(b, q, 4);
    }
    if (n - i == 1) {
        char q[4] = {abc[p[i] >> 2], abc[(p[i] & 3) << 4], '=', '='};

        pr_buf_append(b, q, 4);
    } else if (n - i == 2) {
        char q[4] = {abc[p[i] >> 2], abc[((p[i] & 3) << 4) | (p[i + 1] >> 4)],
                     abc[(p[i + 1] & 15) << 2], '='};

        pr_buf_append(b, q, 4);
    }
    pr_buf_append(b, "\"", 1);
}

/* ,"key":"text" or, for bytes that are not UTF-8, ,"key_base64":"..." */
static void
field_bytes(struct pr_buf *b, const char *key, const char *s, size_t n)
{
    pr_buf_append(b, ",\"", 2);
    pr_buf_append(b, key, strlen(key));
    pr_buf_append(b, "\":", 2);
    if (pr_json_string(b, s, n) == 0)
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
        if (pr_json_string(b, task->items[i].p, task->items[i].len) != 0)
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
                         uv_strerror(task->error));

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
    return pr_write_all(r->fd, r->line.data, r->line.len);
}

int
pr_results_write(struct pr_results *r, const struct pr_task *task, int final,
                 const char *why, const struct pr_buf *out,
                 const struct pr_buf *err)
{
    struct pr_buf *b = &r->line;
    char seq[32];
    int n = snprintf(seq, sizeof(seq), "{\"seq\":%llu",
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

int
pr_seqset_has(const struct pr_seqset *set, uint64_t seq)
{
    return seq / 8 < set->nbytes && (set->bits[seq / 8] >> (seq % 8)) & 1;
}

void
pr_seqset_put(struct pr_seqset *set, uint64_t seq, int on)
{
    if (seq / 8 >= set->nbytes) {
        uint64_t n = set->nbytes ? set->nbytes : 64;

        if (!on)
            return;
        while (seq / 8 >= n)
            n *= 2;
        set->bits = pr_xrealloc(set->bits, (size_t)n);
        memset(set->bits + set->nbytes, 0, (size_t)(n - set->nbytes));
        set->nbytes = n;
    }
    if (on)
        set->bits[seq / 8] |= (unsigned char)(1u << (seq % 8));
    else
        set->bits[seq / 8] &= (unsigned char)~(1u << (seq % 8));
}

void
pr_seqset_free(struct pr_seqset *set)
{
    free(set->bits);
    set->bits = NULL;
    set->nbytes = 0;
}

/* One row: Seq, Host, Starttime, JobRuntime, Send, Receive, Exitval,
 * Signal, Command.  Returns 0 and the three numbers we need, or -1. */
static int
parse_row(char *row, uint64_t *seq, long *exitval, long *sig)
{
    char *field[8];
    char *end;
    int i;

    for (i = 0; i < 8; i++) {
        field[i] = row;
        row = strchr(row, '\t');
        if (row == NULL)
            return -1;
        *row++ = '\0';
    }
    errno = 0;
    *seq = strtoull(field[0], &end, 10);
    if (*end != '\0' || errno != 0 || *seq == 0)
        return -1;
    *exitval = strtol(field[6], &end, 10);
    if (*end != '\0' || field[6][0] == '\0')
        return -1;
    *sig = strtol(field[7], &end, 10);
    if (*end != '\0' || field[7][0] == '\0')
        return -1;
    return 0;
}

int
pr_resume_read(const char *path, int failed_again, struct pr_seqset *done,
               unsigned long *bad_line)
{
    FILE *f = fopen(path, "re");
    char *row = NULL;
    size_t cap = 0;
    unsigned long lineno = 0;
    ssize_t n;
    int rc = 0;

    if (f == NULL)
        return errno == ENOENT ? 0 : -errno;
    while ((n = getline(&row, &cap, f)) > 0) {
        uint64_t seq;
        long exitval, sig;

        lineno++;
        if (row[n - 1] == '\n')
            row[n - 1] = '\0';
        /* The header, written again by every resumed run. */
        if (strncmp(row, "Seq\t", 4) == 0)
            continue;
        if (parse_row(row, &seq, &exitval, &sig) != 0) {
            *bad_line = lineno;
            rc = UV_EINVAL;
            break;
        }
        /* The last row of a seq decides. */
        pr_seqset_put(done, seq, !failed_again || (exitval == 0 && sig == 0));
    }
    if (rc == 0 && ferror(f))
        rc = -errno;
    free(row);
    fclose(f);
    return rc;
}
