/*
 * report: reads a finished run back for `poolrun report`.  A results file
 * says everything a bar needs; a job log has no slot, no attempt number
 * and no output, so its rows are put on slots greedily (the lowest slot
 * free at a row's start) and its last row of a seq is taken as final.
 */
#include "report.h"

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
#include "json.h"

/* More slots than any run has: a bigger number is a damaged record, and
 * a row per slot must stay drawable. */
#define SLOTS_MAX 100000
/* Job logs round times to the millisecond: a row may seem to start just
 * before the one it followed on its slot ended. */
#define JOBLOG_SLACK 0.0015

static const char *const kind_names[PR_REPORT_KINDS] = {
    "ok", "failed", "timeout", "killed", "error"};

const char *
pr_report_kind_name(enum pr_report_kind kind)
{
    return (unsigned)kind < PR_REPORT_KINDS ? kind_names[kind] : "unknown";
}

static int bad(struct pr_report_error *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int
bad(struct pr_report_error *err, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(err->why, sizeof(err->why), fmt, ap);
    va_end(ap);
    return UV_EINVAL;
}

static struct pr_report_bar *
new_bar(struct pr_report *r)
{
    if (r->nbars == r->cap) {
        r->cap = r->cap ? r->cap * 2 : 256;
        r->bars = pr_xrealloc(r->bars, r->cap * sizeof(*r->bars));
    }
    memset(&r->bars[r->nbars], 0, sizeof(r->bars[0]));
    r->bars[r->nbars].exit = -1;
    return &r->bars[r->nbars++];
}

/* The string at key, or its key_base64 twin decoded; NULL if neither. */
static int
take_string(const struct pr_json *o, const char *key, char **out)
{
    const struct pr_json *v = pr_json_member(o, key);
    char key64[64];
    const char *s;

    if (pr_json_type(v) == PR_JSON_STRING) {
        pr_json_get_string(v, &s);
        *out = pr_xstrdup(s);
        return 0;
    }
    snprintf(key64, sizeof(key64), "%s_base64", key);
    v = pr_json_member(o, key64);
    if (pr_json_type(v) == PR_JSON_STRING) {
        struct pr_buf b = {0};

        pr_json_get_string(v, &s);
        if (pr_base64_decode(&b, s, strlen(s)) != 0) {
            pr_buf_free(&b);
            return -1;
        }
        *out = pr_xmemdup(b.data ? b.data : "", b.len);
        pr_buf_free(&b);
        return 0;
    }
    return pr_json_type(v) == PR_JSON_NONE ? 0 : -1;
}

/* A whole number at key from min to max, or null (*out = none). */
static int
take_whole(const struct pr_json *o, const char *key, long min, long max,
           long none, long *out)
{
    const struct pr_json *v = pr_json_member(o, key);

    if (pr_json_type(v) == PR_JSON_NULL || pr_json_type(v) == PR_JSON_NONE) {
        *out = none;
        return 0;
    }
    return pr_json_get_whole(v, (double)min, (double)max, out);
}

/* 0 and b's kind; 1 for a skipped task (it never ran: counted, not
 * drawn); -1 for a word we do not know. */
static int
status_kind(const char *s, struct pr_report_bar *b)
{
    int k;

    for (k = 0; k < PR_REPORT_KINDS; k++)
        if (strcmp(s, kind_names[k]) == 0) {
            b->kind = (enum pr_report_kind)k;
            return 0;
        }
    return strcmp(s, "skipped") == 0 ? 1 : -1;
}

/* When it ran and where: start, runtime and slot, all there or none. */
static int
take_times(const struct pr_json *o, struct pr_report_bar *b,
           struct pr_report_error *err)
{
    const struct pr_json *start = pr_json_member(o, "start");
    long slot;

    if (pr_json_type(start) == PR_JSON_NONE)
        return 0; /* it never started: listed, not drawn */
    if (pr_json_get_number(start, &b->start) != 0 || b->start < 0)
        return bad(err, "\"start\" is not a time in seconds");
    if (pr_json_get_number(pr_json_member(o, "runtime"), &b->runtime) != 0 ||
        b->runtime < 0 || b->runtime > 1e9)
        return bad(err, "\"runtime\" is missing or not a number of seconds");
    if (pr_json_get_whole(pr_json_member(o, "slot"), 1, SLOTS_MAX, &slot) != 0)
        return bad(err, "\"slot\" is missing or not a number from 1 to %d",
                   SLOTS_MAX);
    b->slot = (unsigned)slot;
    return 0;
}

static int
record_fields(const struct pr_json *o, struct pr_report_bar *b,
              struct pr_report_error *err)
{
    long v;

    if (take_whole(o, "attempt", 0, INT_MAX, 1, &v) != 0)
        return bad(err, "\"attempt\" is not a whole number");
    b->attempt = (unsigned)v;
    if (pr_json_type(pr_json_member(o, "final")) == PR_JSON_NONE)
        b->final = 1;
    else if (pr_json_get_bool(pr_json_member(o, "final"), &b->final) != 0)
        return bad(err, "\"final\" is not true or false");
    if (take_whole(o, "exit", -1, 255, -1, &v) != 0)
        return bad(err, "\"exit\" is not null or a number from -1 to 255");
    b->exit = (int)v;
    if (take_whole(o, "signal", 0, 255, 0, &v) != 0)
        return bad(err, "\"signal\" is not null or a signal number");
    b->signal = (int)v;
    if (take_string(o, "id", &b->id) != 0 ||
        take_string(o, "command", &b->command) != 0 ||
        take_string(o, "stdout", &b->out) != 0 ||
        take_string(o, "stderr", &b->err) != 0)
        return bad(err, "\"id\", \"command\", \"stdout\" or \"stderr\" is "
                        "not a string");
    return take_times(o, b, err);
}

static void
bar_free(struct pr_report_bar *b)
{
    free(b->id);
    free(b->command);
    free(b->out);
    free(b->err);
}

/* One line of a results file. */
static int
results_line(struct pr_report *r, const char *line, size_t n,
             struct pr_report_error *err)
{
    struct pr_json_error jerr;
    struct pr_json_doc *doc;
    const struct pr_json *o;
    struct pr_report_bar b;
    const char *status;
    long seq;
    int rc, callback = 0;

    if (pr_json_parse_strict(line, n, &doc, &jerr) != 0)
        return bad(err, "not JSON: %.200s", jerr.why);
    o = pr_json_root(doc);
    memset(&b, 0, sizeof(b));
    if (pr_json_type(o) != PR_JSON_OBJECT)
        rc = bad(err, "not a JSON object");
    else if (pr_json_member(o, "callback") != NULL)
        rc = callback = 1;
    else if (pr_json_get_whole(pr_json_member(o, "seq"), 1, 9e15, &seq) != 0)
        rc = bad(err, "\"seq\" is missing or not a whole number from 1");
    else if (pr_json_get_string(pr_json_member(o, "status"), &status) != 0 ||
             (rc = status_kind(status, &b)) < 0)
        rc = bad(err, "\"status\" is missing or not one of ok, failed, "
                      "timeout, killed, error, skipped");
    else if (rc == 0 && (rc = record_fields(o, &b, err)) == 0)
        b.seq = (uint64_t)seq;
    pr_json_free(doc);
    if (rc == 1 && callback)
        r->callbacks++;
    else if (rc == 1)
        r->skipped++;
    if (rc == 0)
        *new_bar(r) = b;
    else
        bar_free(&b);
    return rc < 0 ? rc : 0;
}

/* A decimal number and nothing else but the spaces before it (GNU
 * parallel writes JobRuntime as %8.3f). */
static int
number(const char *s, double *v)
{
    char *end;

    while (*s == ' ')
        s++;
    if (!((*s >= '0' && *s <= '9') || *s == '-'))
        return -1;
    errno = 0;
    *v = strtod(s, &end);
    return *end != '\0' || errno != 0 ? -1 : 0;
}

/* One job-log row: Seq Host Starttime JobRuntime Send Receive Exitval
 * Signal Command (the command may hold tabs: it is the rest). */
static int
joblog_line(struct pr_report *r, char *row, struct pr_report_error *err)
{
    char *field[9];
    double seq, start, runtime, exitval, sig;
    struct pr_report_bar *b;
    int i;

    for (i = 0; i < 8; i++) {
        field[i] = row;
        row = strchr(row, '\t');
        if (row == NULL)
            return bad(err, "a job-log row has 9 tab-separated fields");
        *row++ = '\0';
    }
    field[8] = row;
    if (number(field[0], &seq) != 0 || seq < 1 || seq > 9e15 ||
        seq != (double)(uint64_t)seq)
        return bad(err, "Seq is not a whole number from 1");
    if (number(field[2], &start) != 0 || start < 0 ||
        number(field[3], &runtime) != 0 || runtime < 0 || runtime > 1e9)
        return bad(err, "Starttime or JobRuntime is not a number of seconds");
    if (number(field[6], &exitval) != 0 || exitval < -1 || exitval > 255 ||
        number(field[7], &sig) != 0 || sig < 0 || sig > 255)
        return bad(err, "Exitval or Signal is not a whole number");
    b = new_bar(r);
    b->seq = (uint64_t)seq;
    b->start = start;
    b->runtime = runtime;
    b->exit = sig != 0 ? -1 : (int)exitval;
    b->signal = (int)sig;
    b->kind = sig != 0        ? PR_REPORT_KILLED
              : exitval == -1 ? PR_REPORT_ERROR
              : exitval != 0  ? PR_REPORT_FAILED
                              : PR_REPORT_OK;
    b->command = pr_xstrdup(field[8]);
    return 0;
}

static int
cmp_seq(const void *a, const void *b)
{
    const struct pr_report_bar *const *x = a, *const *y = b;

    if ((*x)->seq != (*y)->seq)
        return (*x)->seq < (*y)->seq ? -1 : 1;
    return *x < *y ? -1 : *x > *y;
}

static int
cmp_start(const void *a, const void *b)
{
    const struct pr_report_bar *const *x = a, *const *y = b;

    if ((*x)->start != (*y)->start)
        return (*x)->start < (*y)->start ? -1 : 1;
    return *x < *y ? -1 : *x > *y;
}

/* What a job log does not say: attempts are the rows of a seq in file
 * order, the last one final; the slot is the lowest one free. */
static void
joblog_finish(struct pr_report *r)
{
    struct pr_report_bar **v = pr_xmalloc((r->nbars + 1) * sizeof(*v));
    double *ends = NULL;
    unsigned nslots = 0, s;
    size_t i;

    for (i = 0; i < r->nbars; i++)
        v[i] = &r->bars[i];
    qsort(v, r->nbars, sizeof(*v), cmp_seq);
    for (i = 0; i < r->nbars; i++) {
        v[i]->attempt =
            i > 0 && v[i - 1]->seq == v[i]->seq ? v[i - 1]->attempt + 1 : 1;
        v[i]->final = i + 1 == r->nbars || v[i + 1]->seq != v[i]->seq;
    }
    qsort(v, r->nbars, sizeof(*v), cmp_start);
    for (i = 0; i < r->nbars; i++) {
        for (s = 0; s < nslots; s++)
            if (ends[s] <= v[i]->start + JOBLOG_SLACK)
                break;
        if (s == nslots) {
            ends = pr_xrealloc(ends, ++nslots * sizeof(*ends));
        }
        ends[s] = v[i]->start + v[i]->runtime;
        v[i]->slot = s + 1;
    }
    free(ends);
    free(v);
}

/* The first start and last end of the drawn bars, and the slots. */
static void
span(struct pr_report *r)
{
    size_t i;
    int any = 0;

    for (i = 0; i < r->nbars; i++) {
        const struct pr_report_bar *b = &r->bars[i];

        if (b->slot == 0)
            continue;
        if (!any || b->start < r->t0)
            r->t0 = b->start;
        if (!any || b->start + b->runtime > r->t1)
            r->t1 = b->start + b->runtime;
        if (b->slot > r->nslots)
            r->nslots = b->slot;
        any = 1;
    }
}

/* Opens path for reading ("-": a copy of standard input's descriptor): a
 * directory is refused by name, not read as an empty file. */
static int
open_input(const char *path, FILE **f)
{
    struct stat st;
    int fd = strcmp(path, "-") == 0 ? fcntl(0, F_DUPFD_CLOEXEC, 3)
                                    : open(path, O_RDONLY | O_CLOEXEC);

    if (fd < 0)
        return -errno;
    if (fstat(fd, &st) != 0 || S_ISDIR(st.st_mode)) {
        int rc = S_ISDIR(st.st_mode) ? UV_EISDIR : -errno;

        close(fd);
        return rc;
    }
    *f = fdopen(fd, "r");
    if (*f == NULL) {
        int rc = -errno;

        close(fd);
        return rc;
    }
    return 0;
}

/* The lines of f, each told apart by the first one. */
static int
read_lines(struct pr_report *r, FILE *f, struct pr_report_error *err)
{
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    int rc = 0;

    while (rc == 0 && (n = getline(&line, &cap, f)) > 0) {
        int whole = line[n - 1] == '\n';

        err->line++;
        if (whole)
            line[--n] = '\0';
        if ((size_t)n != strlen(line)) {
            rc = bad(err, "a NUL byte in the line");
        } else if (err->line == 1) {
            if (strncmp(line, "Seq\t", 4) == 0)
                r->from_joblog = 1;
            else if (line[0] != '{')
                rc = bad(err, "neither a --results file (JSON Lines) nor "
                              "a --joblog (its header starts with Seq)");
            else
                rc = results_line(r, line, (size_t)n, err);
        } else if (r->from_joblog) {
            /* Every resumed run writes the header again. */
            if (strncmp(line, "Seq\t", 4) != 0)
                rc = joblog_line(r, line, err);
        } else if (n > 0) {
            rc = results_line(r, line, (size_t)n, err);
        }
        /* A killed run leaves its last record cut short. */
        if (rc != 0 && !whole && err->line > 1 && !r->from_joblog) {
            r->torn = err->line;
            rc = 0;
        }
    }
    if (rc == 0 && ferror(f))
        rc = -errno;
    if (rc == 0 && err->line == 0)
        rc = bad(err, "empty file: no run to report");
    free(line);
    return rc;
}

int
pr_report_load(struct pr_report *r, const char *path,
               struct pr_report_error *err)
{
    FILE *f = NULL;
    int rc;

    memset(r, 0, sizeof(*r));
    memset(err, 0, sizeof(*err));
    rc = open_input(path, &f);
    if (rc != 0)
        return rc;
    rc = read_lines(r, f, err);
    fclose(f);
    if (rc != UV_EINVAL)
        err->line = 0; /* a read error is about the file */
    if (rc != 0)
        return rc;
    if (r->from_joblog)
        joblog_finish(r);
    span(r);
    return 0;
}

void
pr_report_free(struct pr_report *r)
{
    size_t i;

    for (i = 0; i < r->nbars; i++)
        bar_free(&r->bars[i]);
    free(r->bars);
    memset(r, 0, sizeof(*r));
}

void
pr_report_escape(struct pr_buf *b, const char *s, size_t n, size_t max)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0, len;

    if (s == NULL)
        return;
    while (i < n) {
        if (max != 0 && i >= max) {
            pr_buf_append(b, "...", 3);
            return;
        }
        switch (p[i]) {
        case '&':
            pr_buf_append(b, "&amp;", 5);
            break;
        case '<':
            pr_buf_append(b, "&lt;", 4);
            break;
        case '>':
            pr_buf_append(b, "&gt;", 4);
            break;
        case '"':
            pr_buf_append(b, "&quot;", 6);
            break;
        case '\'':
            pr_buf_append(b, "&#39;", 5);
            break;
        default:
            len = pr_utf8_len(p + i, n - i);
            if (len == 0 || (p[i] < 0x20 && p[i] != '\t' && p[i] != '\n') ||
                p[i] == 0x7f) {
                pr_buf_appendf(b, "\\x%02X", p[i]);
                len = 1;
            } else {
                pr_buf_append(b, p + i, len);
            }
            i += len;
            continue;
        }
        i++;
    }
}

static size_t *
final_failed(const struct pr_report *r, size_t *n)
{
    size_t *v = pr_xmalloc((r->nbars + 1) * sizeof(*v));
    size_t i;

    *n = 0;
    for (i = 0; i < r->nbars; i++)
        if (r->bars[i].final && r->bars[i].kind != PR_REPORT_OK)
            v[(*n)++] = i;
    return v;
}

struct by_seq {
    uint64_t seq;
    size_t i;
};

static int
cmp_by_seq(const void *a, const void *b)
{
    const struct by_seq *x = a, *y = b;

    if (x->seq != y->seq)
        return x->seq < y->seq ? -1 : 1;
    return x->i < y->i ? -1 : x->i > y->i;
}

size_t *
pr_report_failed(const struct pr_report *r, size_t *n)
{
    size_t *v = final_failed(r, n);
    struct by_seq *s = pr_xmalloc((*n + 1) * sizeof(*s));
    size_t i;

    for (i = 0; i < *n; i++) {
        s[i].seq = r->bars[v[i]].seq;
        s[i].i = v[i];
    }
    qsort(s, *n, sizeof(*s), cmp_by_seq);
    for (i = 0; i < *n; i++)
        v[i] = s[i].i;
    free(s);
    return v;
}

size_t *
pr_report_slowest(const struct pr_report *r, size_t want, size_t *n)
{
    size_t *v = pr_xmalloc((want + 1) * sizeof(*v));
    size_t i, j;

    /* The want slowest tasks (their final attempts), kept sorted as they
     * come. */
    *n = 0;
    for (i = 0; i < r->nbars; i++) {
        if (r->bars[i].slot == 0 || !r->bars[i].final)
            continue;
        if (*n == want && r->bars[v[want - 1]].runtime >= r->bars[i].runtime)
            continue;
        j = *n < want ? (*n)++ : want - 1;
        for (; j > 0 && r->bars[v[j - 1]].runtime < r->bars[i].runtime; j--)
            v[j] = v[j - 1];
        v[j] = i;
    }
    return v;
}
