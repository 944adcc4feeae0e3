/*
 * source_json: job files.  json.c parses them strictly (syntax, duplicate
 * keys, \u0000, invalid UTF-8) and notes where every value starts, by its
 * path ("tasks[3].timeout"); this file checks the schema, turns places into
 * lines and columns for its messages, and copies the values into tasks.
 * The parsed document is freed at once.
 */
#include "source_json.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "json.h"
#include "queue.h"
#include "retry.h"
#include "template.h"
#include "util.h"

#define MAX_FILE_SIZE ((size_t)256 * 1024 * 1024)
#define MAX_JOBS 100000
#define MAX_RETRIES 1000
#define MAX_PRIORITY 1000000000.0

/* A line is found by binary search in the offsets of the newlines, once
 * per task at least (its id's place): a job file of 20,000 ids once took
 * 7 s in linear searches. */
struct doc {
    const char *name;         /* for messages */
    const char *text;
    size_t len;
    uint64_t first_line;      /* the line text starts on (a JSON Lines line) */
    struct pr_json_doc *json; /* the parsed text, and its places */
    size_t *newlines;         /* offsets of the newlines in text, once needed */
    size_t nnewlines;
    int have_newlines;
    const char *dir;   /* the file's folder, for cwd; NULL: as given */
    struct pr_diag *d;
};

static void
line_col(struct doc *doc, size_t offset, unsigned long long *line,
         unsigned long long *col)
{
    size_t lo = 0, hi;

    if (!doc->have_newlines) {
        const char *p = doc->text;
        const char *end = doc->text + doc->len;
        size_t cap = 0;

        while ((p = memchr(p, '\n', (size_t)(end - p))) != NULL) {
            if (doc->nnewlines == cap) {
                cap = cap ? cap * 2 : 64;
                doc->newlines =
                    pr_xrealloc(doc->newlines, cap * sizeof(*doc->newlines));
            }
            doc->newlines[doc->nnewlines++] = (size_t)(p - doc->text);
            p++;
        }
        doc->have_newlines = 1;
    }
    /* lo = how many newlines come before offset. */
    hi = doc->nnewlines;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;

        if (doc->newlines[mid] < offset)
            lo = mid + 1;
        else
            hi = mid;
    }
    *line = doc->first_line + lo;
    *col = offset - (lo > 0 ? doc->newlines[lo - 1] + 1 : 0) + 1;
}

/* name:line:col: what: why (at a byte offset). */
static int fail_at(struct doc *doc, size_t offset, const char *what,
                   const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static int
fail_at(struct doc *doc, size_t offset, const char *what, const char *fmt,
        ...)
{
    unsigned long long line, col;
    int n;
    va_list ap;

    line_col(doc, offset, &line, &col);
    n = snprintf(doc->d->msg, sizeof(doc->d->msg), "%s:%llu:%llu: ",
                 doc->name, line, col);
    if (what != NULL && *what != '\0' && n >= 0 &&
        (size_t)n < sizeof(doc->d->msg))
        n += snprintf(doc->d->msg + n, sizeof(doc->d->msg) - (size_t)n,
                      "%s: ", what);
    va_start(ap, fmt);
    if (n >= 0 && (size_t)n < sizeof(doc->d->msg))
        vsnprintf(doc->d->msg + n, sizeof(doc->d->msg) - (size_t)n, fmt, ap);
    va_end(ap);
    return -1;
}

/* A schema error at the value with this path. */
static int fail_path(struct doc *doc, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
fail_path(struct doc *doc, const char *path, const char *fmt, ...)
{
    char why[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(why, sizeof(why), fmt, ap);
    va_end(ap);
    return fail_at(doc, pr_json_place(doc->json, path), path, "%s", why);
}

/* "name:line:column" of the value at path, in a new string. */
static char *
place_text(struct doc *doc, const char *path)
{
    unsigned long long line, col;
    char buf[1024];

    line_col(doc, pr_json_place(doc->json, path), &line, &col);
    snprintf(buf, sizeof(buf), "%s:%llu:%llu", doc->name, line, col);
    return pr_xstrdup(buf);
}

static void
free_doc(struct doc *doc)
{
    pr_json_free(doc->json);
    doc->json = NULL;
    free(doc->newlines);
    doc->newlines = NULL;
    doc->nnewlines = 0;
    doc->have_newlines = 0;
}

/* An open-addressing hash set of task ids, each with the place it was
 * first used; it never shrinks. */
struct pr_idset {
    struct id_entry {
        char *id; /* NULL: an empty bucket */
        char *at; /* or NULL */
        size_t ix;   /* pr_jobfile_check_deps: the task's index */
        int service; /* the task is a service ("daemon": true) */
    } *v;
    size_t n;
    size_t cap; /* a power of two */
};

/* The bucket of id, or the empty one where it would go. */
static struct id_entry *
idset_slot(const struct pr_idset *set, const char *id)
{
    size_t i = (size_t)pr_str_hash(id) & (set->cap - 1);

    while (set->v[i].id != NULL && strcmp(set->v[i].id, id) != 0)
        i = (i + 1) & (set->cap - 1);
    return &set->v[i];
}

struct pr_idset *
pr_idset_new(void)
{
    struct pr_idset *set = pr_xcalloc(1, sizeof(*set));

    set->cap = 64;
    set->v = pr_xcalloc(set->cap, sizeof(*set->v));
    return set;
}

void
pr_idset_free(struct pr_idset *set)
{
    size_t i;

    if (set == NULL)
        return;
    for (i = 0; i < set->cap; i++) {
        free(set->v[i].id);
        free(set->v[i].at);
    }
    free(set->v);
    free(set);
}

/* Adds key (and at, if not NULL).  Returns NULL, or the entry of the same
 * key already there (and adds nothing). */
static struct id_entry *
idset_insert(struct pr_idset *set, const char *key, const char *at)
{
    struct id_entry *e;

    if (2 * (set->n + 1) > set->cap) {
        struct pr_idset bigger = {NULL, set->n, set->cap * 2};
        size_t i;

        bigger.v = pr_xcalloc(bigger.cap, sizeof(*bigger.v));
        for (i = 0; i < set->cap; i++)
            if (set->v[i].id != NULL)
                *idset_slot(&bigger, set->v[i].id) = set->v[i];
        free(set->v);
        *set = bigger;
    }
    e = idset_slot(set, key);
    if (e->id != NULL)
        return e;
    e->id = pr_xstrdup(key);
    e->at = at != NULL ? pr_xstrdup(at) : NULL;
    set->n++;
    return NULL;
}

static const struct id_entry *idset_find(const struct pr_idset *set,
                                         const char *id);
static int idset_add_task(struct pr_idset *set, const struct pr_task *task,
                          size_t ix, int stream, struct pr_diag *d);

/* The syntax, and what JSON itself forbids, by json.c.  Returns 0 or -1. */
static int
parse(struct doc *doc)
{
    struct pr_json_error err;

    if (pr_json_parse_strict(doc->text, doc->len, &doc->json, &err) == 0)
        return 0;
    return fail_at(doc, err.offset, err.path, "%s", err.why);
}

static char *
join_path(const char *base, const char *field)
{
    struct pr_buf b = {0};

    if (base != NULL && *base != '\0') {
        pr_buf_append(&b, base, strlen(base));
        pr_buf_append(&b, ".", 1);
    }
    pr_buf_append(&b, field, strlen(field));
    pr_buf_append(&b, "", 1);
    return b.data;
}

static int
get_string(struct doc *doc, const struct pr_json *v, const char *path,
           int nonempty, char **out)
{
    const char *str;

    if (pr_json_get_string(v, &str) != 0)
        return fail_path(doc, path, "must be a string");
    if (nonempty && str[0] == '\0')
        return fail_path(doc, path, "must not be empty");
    free(*out);
    *out = pr_xstrdup(str);
    return 0;
}

static int
get_whole(struct doc *doc, const struct pr_json *v, const char *path,
          double min, double max, long *out)
{
    if (pr_json_get_whole(v, min, max, out) != 0)
        return fail_path(doc, path, "must be a whole number from %.0f to %.0f",
                         min, max);
    return 0;
}

/* env: an object of strings (set) and nulls (remove), merged over what is
 * already in *env. */
static int
get_env(struct doc *doc, const struct pr_json *v, const char *path, char ***env)
{
    const struct pr_json *e;
    size_t n = 0;

    if (pr_json_type(v) != PR_JSON_OBJECT)
        return fail_path(doc, path, "must be an object of strings or nulls");
    while (*env != NULL && (*env)[n] != NULL)
        n++;
    for (e = pr_json_first(v); e != NULL; e = pr_json_next(e)) {
        const char *name = pr_json_key(e);
        const char *val = NULL;
        char *p = join_path(path, name);
        struct pr_buf b = {0};
        size_t k, klen = strlen(name);

        if (klen == 0 || strchr(name, '=') != NULL) {
            int rc = fail_path(doc, p, "is not a variable name");

            free(p);
            return rc;
        }
        if (pr_json_type(e) != PR_JSON_NULL &&
            pr_json_get_string(e, &val) != 0) {
            int rc = fail_path(doc, p, "must be a string or null");

            free(p);
            return rc;
        }
        /* A task sees poolrun's own once, never a second copy. */
        if (strcmp(name, "POOLRUN_SEQ") == 0 ||
            strcmp(name, "POOLRUN_SLOT") == 0) {
            int rc = fail_path(doc, p, "is set by poolrun for each task");

            free(p);
            return rc;
        }
        free(p);
        /* Drop an earlier entry for the same name. */
        for (k = 0; k < n; k++) {
            const char *x = (*env)[k];

            if (strncmp(x, name, klen) == 0 &&
                (x[klen] == '=' || x[klen] == '\0')) {
                free((*env)[k]);
                memmove(&(*env)[k], &(*env)[k + 1], (n - k) * sizeof(char *));
                n--;
                break;
            }
        }
        pr_buf_append(&b, name, klen);
        if (val != NULL) {
            pr_buf_append(&b, "=", 1);
            pr_buf_append(&b, val, strlen(val));
        }
        pr_buf_append(&b, "", 1);
        *env = pr_xrealloc(*env, (n + 2) * sizeof(char *));
        (*env)[n++] = b.data;
        (*env)[n] = NULL;
    }
    return 0;
}

/* cwd relative to the job file's folder. */
static char *
resolve_cwd(const struct doc *doc, const char *cwd)
{
    struct pr_buf b = {0};

    if (cwd[0] == '/' || doc->dir == NULL)
        return pr_xstrdup(cwd);
    pr_buf_append(&b, doc->dir, strlen(doc->dir));
    pr_buf_append(&b, "/", 1);
    pr_buf_append(&b, cwd, strlen(cwd));
    pr_buf_append(&b, "", 1);
    return b.data;
}

/* retry_on: a --retry-on list, "75,timeout,SIGKILL". */
static int
get_retry_on(struct doc *doc, const struct pr_json *f, const char *path,
             struct pr_task_spec *spec)
{
    struct pr_retry_on on;
    const char *str, *bad;
    size_t badlen;

    if (pr_json_get_string(f, &str) != 0 ||
        pr_retry_on_parse(&on, str, &bad, &badlen) != 0)
        return fail_path(doc, path,
                         "must be a list of exit codes (0-255), timeout and "
                         "signal names, separated by commas");
    if (spec->retry_on == NULL)
        spec->retry_on = pr_xmalloc(sizeof(*spec->retry_on));
    *spec->retry_on = on;
    return 1;
}

/* The fields a task and the defaults share.  Returns 1 if `f` is one of
 * them (and takes it), 0 if not, -1 on error. */
static int
common_field(struct doc *doc, const struct pr_json *f, const char *path,
             struct pr_task_spec *spec, int *priority)
{
    const char *k = pr_json_key(f);
    long n = 0;
    double x;
    int b;

    if (strcmp(k, "env") == 0)
        return get_env(doc, f, path, &spec->env) ? -1 : 1;
    if (strcmp(k, "cwd") == 0) {
        char *raw = NULL;

        if (get_string(doc, f, path, 1, &raw) != 0)
            return -1;
        free(spec->cwd);
        spec->cwd = resolve_cwd(doc, raw);
        free(raw);
        return 1;
    }
    if (strcmp(k, "timeout") == 0) {
        if (pr_json_get_number(f, &x) != 0 || !pr_seconds_valid(x))
            return fail_path(doc, path,
                             "must be a number of seconds from 0 to "
                             PR_SECONDS_MAX_TEXT);
        spec->timeout = x;
        return 1;
    }
    if (strcmp(k, "retries") == 0) {
        if (get_whole(doc, f, path, 0, MAX_RETRIES, &n) != 0)
            return -1;
        spec->retries = (int)n;
        return 1;
    }
    if (strcmp(k, "priority") == 0) {
        if (get_whole(doc, f, path, -MAX_PRIORITY, MAX_PRIORITY, &n) != 0)
            return -1;
        *priority = (int)n;
        return 1;
    }
    if (strcmp(k, "daemon") == 0) {
        if (pr_json_get_bool(f, &b) != 0)
            return fail_path(doc, path, "must be true or false");
        spec->daemon = b;
        return 1;
    }
    if (strcmp(k, "on_done") == 0)
        return get_string(doc, f, path, 1, &spec->on_done) ? -1 : 1;
    if (strcmp(k, "on_fail") == 0)
        return get_string(doc, f, path, 1, &spec->on_fail) ? -1 : 1;
    if (strcmp(k, "retry_on") == 0)
        return get_retry_on(doc, f, path, spec);
    return 0;
}

static struct pr_task_spec *
spec_copy(const struct pr_task_spec *d)
{
    struct pr_task_spec *s = pr_xcalloc(1, sizeof(*s));
    size_t n = 0, i;

    s->timeout = d->timeout;
    s->retries = d->retries;
    s->daemon = d->daemon;
    s->cwd = d->cwd ? pr_xstrdup(d->cwd) : NULL;
    s->on_done = d->on_done ? pr_xstrdup(d->on_done) : NULL;
    s->on_fail = d->on_fail ? pr_xstrdup(d->on_fail) : NULL;
    if (d->retry_on != NULL) {
        s->retry_on = pr_xmalloc(sizeof(*s->retry_on));
        *s->retry_on = *d->retry_on;
    }
    while (d->env != NULL && d->env[n] != NULL)
        n++;
    if (n > 0) {
        s->env = pr_xcalloc(n + 1, sizeof(char *));
        for (i = 0; i < n; i++)
            s->env[i] = pr_xstrdup(d->env[i]);
    }
    return s;
}

static int
get_argv(struct doc *doc, const struct pr_json *f, const char *path,
         char ***out)
{
    const struct pr_json *e;
    size_t n = 0, count = pr_json_count(f);
    char **argv;

    if (pr_json_type(f) != PR_JSON_ARRAY || count == 0)
        return fail_path(doc, path, "must be a non-empty list of strings");
    argv = pr_xcalloc(count + 1, sizeof(char *));
    for (e = pr_json_first(f); e != NULL; e = pr_json_next(e)) {
        const char *str;

        if (pr_json_get_string(e, &str) != 0) {
            char idx[32];
            char *p;
            int rc;
            size_t k;

            snprintf(idx, sizeof(idx), "[%zu]", n);
            p = pr_xmalloc(strlen(path) + strlen(idx) + 1);
            strcpy(p, path);
            strcat(p, idx);
            rc = fail_path(doc, p, "must be a string");
            free(p);
            for (k = 0; k < n; k++)
                free(argv[k]);
            free(argv);
            return rc;
        }
        argv[n++] = pr_xstrdup(str);
    }
    argv[n] = NULL;
    *out = argv;
    return 0;
}

/* after or after_any: a list of task ids, appended to the spec's, each with
 * its place for the messages of pr_jobfile_check_deps and pr_idset_add. */
static int
get_after(struct doc *doc, const struct pr_json *f, const char *path,
          struct pr_task_spec *spec, int any)
{
    const struct pr_json *e;
    size_t i = 0, count = pr_json_count(f);

    if (pr_json_type(f) != PR_JSON_ARRAY)
        return fail_path(doc, path, "must be a list of task ids");
    spec->after =
        pr_xrealloc(spec->after, (spec->nafter + count) * sizeof(*spec->after));
    for (e = pr_json_first(f); e != NULL; e = pr_json_next(e), i++) {
        struct pr_task_after *a = &spec->after[spec->nafter];
        char idx[32];
        char *p, *at;
        const char *str;
        struct pr_buf b = {0};

        snprintf(idx, sizeof(idx), "[%zu]", i);
        p = pr_xmalloc(strlen(path) + strlen(idx) + 1);
        strcpy(p, path);
        strcat(p, idx);
        if (pr_json_get_string(e, &str) != 0 || str[0] == '\0') {
            int rc = fail_path(doc, p, "must be a task id (a string)");

            free(p);
            return rc;
        }
        /* "file:line:col: tasks[3].after[1]", the start of its messages. */
        at = place_text(doc, p);
        pr_buf_append(&b, at, strlen(at));
        pr_buf_append(&b, ": ", 2);
        pr_buf_append(&b, p, strlen(p));
        pr_buf_append(&b, "", 1);
        free(at);
        free(p);
        a->id = pr_xstrdup(str);
        a->at = b.data;
        a->any = any;
        spec->nafter++;
    }
    return 0;
}

/* A task of cmd (taken) or else argv (taken). */
static struct pr_task *
new_task(char *cmd, char **argv)
{
    struct pr_task *task;
    struct pr_buf shown = {0};
    size_t k;

    if (cmd != NULL) {
        task = pr_task_new(0, cmd, strlen(cmd));
        free(cmd);
        /* A shell line: `make test` needs no shell to start it, as a line
         * of stdin does not (the spawn runner splits a simple one). */
        task->plain_line = 1;
        return task;
    }
    for (k = 0; argv[k] != NULL; k++) {
        if (k > 0)
            pr_buf_append(&shown, " ", 1);
        pr_shell_quote_if_needed(&shown, argv[k], strlen(argv[k]));
    }
    task = pr_task_new(0, shown.data, shown.len);
    pr_buf_free(&shown);
    task->argv = argv;
    return task;
}

/* One task object at `path`, over the defaults. */
static int
make_task(struct doc *doc, const struct pr_json *obj, const char *path,
          const struct pr_task_spec *defaults, int def_priority,
          struct pr_task **out)
{
    struct pr_task_spec *spec = spec_copy(defaults);
    int priority = def_priority;
    const struct pr_json *f;
    char *cmd = NULL;
    char **argv = NULL;
    struct pr_task *task;
    int rc = 0;

    if (pr_json_type(obj) != PR_JSON_OBJECT) {
        pr_task_spec_free(spec);
        return fail_path(doc, path, "must be an object");
    }
    for (f = pr_json_first(obj); f != NULL; f = pr_json_next(f)) {
        const char *k = pr_json_key(f);
        char *p = join_path(path, k);

        rc = common_field(doc, f, p, spec, &priority);
        if (rc == 0) {
            if (strcmp(k, "cmd") == 0)
                rc = get_string(doc, f, p, 1, &cmd);
            else if (strcmp(k, "argv") == 0)
                rc = get_argv(doc, f, p, &argv);
            else if (strcmp(k, "id") == 0) {
                rc = get_string(doc, f, p, 1, &spec->id);
                if (rc == 0)
                    spec->id_at = place_text(doc, p);
            }
            else if (strcmp(k, "input") == 0)
                rc = get_string(doc, f, p, 0, &spec->input);
            else if (strcmp(k, "after") == 0 || strcmp(k, "after_any") == 0)
                rc = get_after(doc, f, p, spec, k[5] != '\0');
            else
                rc = fail_path(doc, p, "unknown field");
        }
        free(p);
        if (rc < 0)
            break;
        rc = 0;
    }
    if (rc == 0 && (cmd == NULL) == (argv == NULL))
        rc = fail_path(doc, path, "needs exactly one of \"cmd\" and \"argv\"");
    if (rc == 0 && spec->daemon && spec->nafter > 0)
        rc = fail_path(doc, path,
                       "a service (\"daemon\": true) starts before the "
                       "other tasks: it cannot run after one");
    if (rc != 0) {
        size_t k;

        free(cmd);
        for (k = 0; argv != NULL && argv[k] != NULL; k++)
            free(argv[k]);
        free(argv);
        pr_task_spec_free(spec);
        return -1;
    }
    task = new_task(cmd, argv);
    task->priority = priority;
    task->spec = spec;
    /* Until a pool that honours "after" holds it back (pr_deps_put). */
    task->after_unheld = spec->nafter > 0;
    *out = task;
    return 0;
}

static int
load_defaults(struct doc *doc, const struct pr_json *v,
              struct pr_task_spec *spec, int *priority)
{
    const struct pr_json *f;

    if (pr_json_type(v) != PR_JSON_OBJECT)
        return fail_path(doc, "defaults", "must be an object");
    for (f = pr_json_first(v); f != NULL; f = pr_json_next(f)) {
        char *p = join_path("defaults", pr_json_key(f));
        int rc = common_field(doc, f, p, spec, priority);

        if (rc == 0)
            rc = fail_path(doc, p,
                           "unknown field (defaults may hold env, "
                           "cwd, timeout, retries, retry_on, "
                           "priority, daemon, on_done and on_fail)");
        free(p);
        if (rc < 0)
            return -1;
    }
    return 0;
}

/* "order": as --order (the words of PR_ORDER_*). */
static int
get_order(struct doc *doc, const struct pr_json *f, int *order)
{
    static const struct {
        const char *word;
        enum pr_queue_order order;
    } words[] = {{"fifo", PR_ORDER_FIFO},
                 {"lifo", PR_ORDER_LIFO},
                 {"priority", PR_ORDER_PRIORITY}};
    const char *str;
    size_t i;

    if (pr_json_get_string(f, &str) == 0)
        for (i = 0; i < sizeof(words) / sizeof(words[0]); i++)
            if (strcmp(str, words[i].word) == 0) {
                *order = (int)words[i].order;
                return 0;
            }
    return fail_path(doc, "order",
                     "must be \"fifo\", \"lifo\" or \"priority\"");
}

static int
load_doc(struct pr_jobfile *jf, struct doc *doc)
{
    const struct pr_json *root = pr_json_root(doc->json);
    struct pr_task_spec defaults;
    int def_priority = 0;
    const struct pr_json *f;
    const struct pr_json *tasks = NULL;
    const struct pr_json *t;
    long jobs = -1;
    int order = -1;
    int rc = 0;
    size_t i = 0;

    memset(&defaults, 0, sizeof(defaults));
    defaults.timeout = -1;
    defaults.retries = -1;
    if (pr_json_type(root) != PR_JSON_OBJECT)
        return fail_at(doc, 0, NULL,
                       "a job file is an object with \"tasks\" (see "
                       "poolrun(1))");
    for (f = pr_json_first(root); f != NULL; f = pr_json_next(f)) {
        const char *k = pr_json_key(f);

        if (strcmp(k, "jobs") == 0)
            rc = get_whole(doc, f, "jobs", 0, MAX_JOBS, &jobs);
        else if (strcmp(k, "defaults") == 0)
            rc = load_defaults(doc, f, &defaults, &def_priority);
        else if (strcmp(k, "order") == 0)
            rc = get_order(doc, f, &order);
        else if (strcmp(k, "tasks") == 0)
            tasks = f;
        else
            rc = fail_path(doc, k, "unknown field");
        if (rc != 0)
            goto out;
    }
    if (tasks == NULL) {
        rc = fail_at(doc, 0, NULL, "no \"tasks\" list");
        goto out;
    }
    if (pr_json_type(tasks) != PR_JSON_ARRAY) {
        rc = fail_path(doc, "tasks", "must be a list of task objects");
        goto out;
    }
    for (t = pr_json_first(tasks); t != NULL; t = pr_json_next(t)) {
        char path[48];
        struct pr_task *task;

        snprintf(path, sizeof(path), "tasks[%zu]", i++);
        rc = make_task(doc, t, path, &defaults, def_priority, &task);
        if (rc != 0)
            goto out;
        if (jf->ntasks == jf->cap) {
            /* Doubling: a realloc per task copies quadratically where
             * realloc cannot grow in place. */
            jf->cap = jf->cap ? jf->cap * 2 : 64;
            jf->tasks = pr_xrealloc(jf->tasks, jf->cap * sizeof(*jf->tasks));
        }
        jf->tasks[jf->ntasks++] = task;
    }
    if (jf->jobs < 0)
        jf->jobs = jobs;
    if (jf->order < 0)
        jf->order = order;
out:
    free(defaults.cwd);
    free(defaults.on_done);
    free(defaults.on_fail);
    for (i = 0; defaults.env != NULL && defaults.env[i] != NULL; i++)
        free(defaults.env[i]);
    free(defaults.env);
    return rc;
}

void
pr_jobfile_init(struct pr_jobfile *jf)
{
    memset(jf, 0, sizeof(*jf));
    jf->jobs = -1;
    jf->order = -1;
}

static char *
read_file(const char *path, size_t *len, struct pr_diag *d)
{
    FILE *f = fopen(path, "rb");
    struct pr_buf b = {0};

    if (f == NULL) {
        snprintf(d->msg, sizeof(d->msg), "%s: %s", path, pr_err_text(-errno));
        return NULL;
    }
    for (;;) {
        size_t n;

        pr_buf_reserve(&b, 65536);
        n = fread(b.data + b.len, 1, 65536, f);
        b.len += n;
        if (n == 0 || b.len > MAX_FILE_SIZE)
            break;
    }
    if (ferror(f) || b.len > MAX_FILE_SIZE) {
        snprintf(d->msg, sizeof(d->msg), "%s: %s", path,
                 ferror(f) ? pr_err_text(-errno) : "larger than 256 MiB");
        fclose(f);
        pr_buf_free(&b);
        return NULL;
    }
    fclose(f);
    pr_buf_append(&b, "", 1);
    *len = b.len - 1;
    return b.data;
}

int
pr_jobfile_load_mem(struct pr_jobfile *jf, const char *name, const char *text,
                    size_t len, const char *dir, struct pr_diag *d)
{
    struct doc doc;
    int rc;

    memset(&doc, 0, sizeof(doc));
    doc.name = name;
    doc.d = d;
    doc.text = text;
    doc.len = len;
    doc.first_line = 1;
    doc.dir = dir;
    rc = parse(&doc);
    if (rc == 0)
        rc = load_doc(jf, &doc);
    free_doc(&doc);
    return rc;
}

int
pr_jobfile_load(struct pr_jobfile *jf, const char *path, struct pr_diag *d)
{
    size_t len;
    char *text = read_file(path, &len, d);
    char *dir;
    char *slash;
    int rc;

    if (text == NULL)
        return -1;
    dir = pr_xstrdup(path);
    slash = strrchr(dir, '/');
    if (slash == NULL)
        strcpy(dir, ".");
    else if (slash == dir)
        dir[1] = '\0';
    else
        *slash = '\0';
    rc = pr_jobfile_load_mem(jf, path, text, len, dir, d);
    free(dir);
    free(text);
    return rc;
}

int
pr_jobfile_check_ids(const struct pr_jobfile *jf, struct pr_diag *d)
{
    struct pr_idset *set = pr_idset_new();
    size_t i;
    int rc = 0;

    for (i = 0; i < jf->ntasks && rc == 0; i++)
        rc = idset_add_task(set, jf->tasks[i], i, 0, d);
    pr_idset_free(set);
    return rc;
}

/* Every id named in "after" is a task's that is no service. */
static int
check_after_ids(const struct pr_jobfile *jf, const struct pr_idset *set,
                struct pr_diag *d)
{
    size_t i;
    unsigned k;

    for (i = 0; i < jf->ntasks; i++) {
        const struct pr_task_spec *spec = jf->tasks[i]->spec;

        for (k = 0; spec != NULL && k < spec->nafter; k++) {
            const struct pr_task_after *a = &spec->after[k];
            const struct id_entry *e = idset_find(set, a->id);

            if (e == NULL)
                snprintf(d->msg, sizeof(d->msg),
                         "%s: no task has the id \"%.200s\"", a->at, a->id);
            else if (e->service)
                snprintf(d->msg, sizeof(d->msg),
                         "%s: \"%.200s\" is a service (\"daemon\": true): "
                         "it runs until the other tasks have ended",
                         a->at, a->id);
            if (e == NULL || e->service)
                return -1;
        }
    }
    return 0;
}

struct frame {
    size_t t;      /* a task's index */
    unsigned next; /* its next "after" to follow */
};

/* The cycle that a, from the task at the top of the stack, closes at the
 * frame of task j: "a -> b -> a" (each runs after the next). */
static int
cycle_at(const struct pr_jobfile *jf, const struct frame *stack, size_t sp,
         size_t j, const struct pr_task_after *a, struct pr_diag *d)
{
    struct pr_buf b = {0};
    size_t k = sp, first;

    while (k > 0 && stack[k - 1].t != j)
        k--;
    first = k > 0 ? k - 1 : 0;
    /* A long cycle is named by its first ids, then how many it has. */
    for (k = first; k < sp && b.len < 400; k++) {
        const char *id = jf->tasks[stack[k].t]->spec->id;

        pr_buf_append(&b, id, strlen(id));
        pr_buf_append(&b, " -> ", 4);
    }
    if (k < sp)
        pr_buf_appendf(&b, "... (%zu tasks) -> ", sp - first);
    pr_buf_append(&b, a->id, strlen(a->id));
    snprintf(d->msg, sizeof(d->msg),
             "%s: a cycle (each runs after the next): %.*s", a->at,
             (int)(b.len < 700 ? b.len : 700), b.data);
    pr_buf_free(&b);
    return -1;
}

/* Depth first from each task; a task on the stack met again is a cycle. */
static int
check_cycles(const struct pr_jobfile *jf, const struct pr_idset *set,
             struct pr_diag *d)
{
    unsigned char *color = pr_xcalloc(jf->ntasks + 1, 1); /* 1: on stack,
                                                             2: done */
    struct frame *stack = pr_xcalloc(jf->ntasks + 1, sizeof(*stack));
    size_t i, sp;
    int rc = 0;

    for (i = 0; i < jf->ntasks && rc == 0; i++) {
        if (color[i] != 0)
            continue;
        color[i] = 1;
        stack[0].t = i;
        stack[0].next = 0;
        sp = 1;
        while (sp > 0 && rc == 0) {
            struct frame *top = &stack[sp - 1];
            const struct pr_task_spec *spec = jf->tasks[top->t]->spec;
            const struct pr_task_after *a;
            size_t j;

            if (spec == NULL || top->next >= spec->nafter) {
                color[top->t] = 2;
                sp--;
                continue;
            }
            a = &spec->after[top->next++];
            j = idset_find(set, a->id)->ix;
            if (color[j] == 1)
                rc = cycle_at(jf, stack, sp, j, a, d);
            else if (color[j] == 0) {
                color[j] = 1;
                stack[sp].t = j;
                stack[sp++].next = 0;
            }
        }
    }
    free(stack);
    free(color);
    return rc;
}

int
pr_jobfile_check_deps(const struct pr_jobfile *jf, struct pr_diag *d)
{
    struct pr_idset *set = pr_idset_new();
    size_t i;
    int rc = 0;

    for (i = 0; i < jf->ntasks && rc == 0; i++)
        rc = idset_add_task(set, jf->tasks[i], i, 0, d);
    if (rc == 0)
        rc = check_after_ids(jf, set, d);
    if (rc == 0)
        rc = check_cycles(jf, set, d);
    pr_idset_free(set);
    return rc;
}

int
pr_jobfile_has_after(const struct pr_jobfile *jf)
{
    size_t i;

    for (i = 0; i < jf->ntasks; i++)
        if (jf->tasks[i]->spec != NULL && jf->tasks[i]->spec->nafter > 0)
            return 1;
    return 0;
}

void
pr_jobfile_free(struct pr_jobfile *jf)
{
    size_t i;

    if (jf == NULL)
        return;
    for (i = 0; i < jf->ntasks; i++)
        pr_task_free(jf->tasks[i]);
    free(jf->tasks);
    jf->tasks = NULL;
    jf->ntasks = 0;
    jf->cap = 0;
}

int
pr_jobline_parse(const char *name, uint64_t lineno, const char *p, size_t len,
                 struct pr_task **out, struct pr_diag *d)
{
    struct pr_task_spec defaults;
    struct doc doc;
    int rc;

    memset(&doc, 0, sizeof(doc));
    memset(&defaults, 0, sizeof(defaults));
    defaults.timeout = -1;
    defaults.retries = -1;
    doc.name = name;
    doc.text = p;
    doc.len = len;
    doc.first_line = lineno; /* a line is its own document */
    doc.d = d;
    rc = parse(&doc);
    if (rc == 0)
        rc = make_task(&doc, pr_json_root(doc.json), "", &defaults, 0, out);
    free_doc(&doc);
    return rc;
}

/* The entry of id, or NULL. */
static const struct id_entry *
idset_find(const struct pr_idset *set, const char *id)
{
    const struct id_entry *e = idset_slot(set, id);

    return e->id != NULL ? e : NULL;
}

/* Adds task's id (and its index ix).  With stream, each task it runs
 * after must be in the set already: a stream cannot wait for a line that
 * may never come. */
static int
idset_add_task(struct pr_idset *set, const struct pr_task *task, size_t ix,
               int stream, struct pr_diag *d)
{
    const struct pr_task_spec *spec = task->spec;
    struct id_entry *first;
    unsigned i;

    if (spec == NULL)
        return 0;
    for (i = 0; stream && i < spec->nafter; i++) {
        const struct id_entry *e = idset_find(set, spec->after[i].id);

        if (e == NULL) {
            snprintf(d->msg, sizeof(d->msg),
                     "%s: no task \"%.200s\" on an earlier line (a stream "
                     "is run as it is read: a task runs after tasks above "
                     "it)",
                     spec->after[i].at, spec->after[i].id);
            return -1;
        }
        if (e->service) {
            snprintf(d->msg, sizeof(d->msg),
                     "%s: \"%.200s\" is a service (\"daemon\": true): it "
                     "runs until the other tasks have ended",
                     spec->after[i].at, spec->after[i].id);
            return -1;
        }
    }
    if (spec->id == NULL)
        return 0;
    first = idset_insert(set, spec->id, spec->id_at ? spec->id_at : "?");
    if (first == NULL) {
        first = idset_slot(set, spec->id);
        first->ix = ix;
        first->service = spec->daemon;
        return 0;
    }
    snprintf(d->msg, sizeof(d->msg),
             "%s: task id \"%s\" is used twice (first at %s)",
             spec->id_at ? spec->id_at : "?", spec->id, first->at);
    return -1;
}

int
pr_idset_add(struct pr_idset *set, const struct pr_task *task,
             struct pr_diag *d)
{
    return idset_add_task(set, task, 0, 1, d);
}

/* The source: the loaded tasks, put while the intake takes them.  It has
 * no ended or requeue: a job file is read once and acknowledges nothing,
 * and a task not started at a stop is recorded skipped (--resume runs it
 * next time) rather than kept by a source about to be freed. */
struct source_tasks {
    struct pr_source base;
    const struct pr_intake *in;
    struct pr_jobfile jf;
    size_t next;
    int ended;
};

static void
tasks_pump(struct source_tasks *s)
{
    while (!s->ended && s->next < s->jf.ntasks && pr_intake_accepting(s->in)) {
        struct pr_task *t = s->jf.tasks[s->next];

        s->jf.tasks[s->next++] = NULL;
        pr_intake_put(s->in, t);
    }
    if (!s->ended && s->next == s->jf.ntasks) {
        s->ended = 1;
        pr_intake_end(s->in, 0);
    }
}

static int
tasks_start(struct pr_source *base, const struct pr_intake *in)
{
    struct source_tasks *s = (struct source_tasks *)base;

    s->in = in;
    tasks_pump(s);
    return 0;
}

static void
tasks_resume(struct pr_source *base)
{
    tasks_pump((struct source_tasks *)base);
}

static void
tasks_stop(struct pr_source *base)
{
    struct source_tasks *s = (struct source_tasks *)base;

    if (s->ended)
        return;
    s->ended = 1;
    pr_intake_end(s->in, 0);
}

static void
tasks_free(struct pr_source *base)
{
    struct source_tasks *s = (struct source_tasks *)base;

    pr_jobfile_free(&s->jf); /* only what was never put */
    free(s);
}

static const struct pr_source_ops tasks_ops = {
    .start = tasks_start,
    .resume = tasks_resume,
    .stop = tasks_stop,
    .ended = NULL,   /* see struct source_tasks */
    .requeue = NULL, /* ditto */
    .free = tasks_free,
};

struct pr_source *
pr_source_tasks_new(struct pr_jobfile *jf)
{
    struct source_tasks *s = pr_xcalloc(1, sizeof(*s));

    struct pr_task **order;
    size_t i, n = 0;

    s->base.ops = &tasks_ops;
    s->jf = *jf;
    pr_jobfile_init(jf);
    /* Services ("daemon": true) start before the other tasks. */
    order = pr_xcalloc(s->jf.ntasks ? s->jf.ntasks : 1, sizeof(*order));
    for (i = 0; i < s->jf.ntasks; i++)
        if (s->jf.tasks[i]->spec != NULL && s->jf.tasks[i]->spec->daemon)
            order[n++] = s->jf.tasks[i];
    for (i = 0; i < s->jf.ntasks; i++)
        if (s->jf.tasks[i]->spec == NULL || !s->jf.tasks[i]->spec->daemon)
            order[n++] = s->jf.tasks[i];
    memcpy(s->jf.tasks, order, s->jf.ntasks * sizeof(*order));
    free(order);
    return &s->base;
}
