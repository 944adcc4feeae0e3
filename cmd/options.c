/*
 * options: a small table-driven parser.  Short options may be bundled
 * (-ku) and take values attached or separate (-j4, -j 4); long options take
 * --name=value or --name value.  Parsing stops at the first word that is
 * not an option, or after "--", so a command's own flags are never ours.
 */
#include "options.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <uv.h>

#include "util.h"

#define DEFAULT_QUEUE_SIZE  1024
#define DEFAULT_BUFFER_SIZE ((size_t)1024 * 1024)
#define DEFAULT_KILL_AFTER  2.0
#define MAX_JOBS            100000
#define DEFAULT_RESULTS_LIMIT ((size_t)64 * 1024)
#define DEFAULT_INFLIGHT      16
#define DEFAULT_GRACE         5.0

enum opt_id {
    OPT_JOBS,
    OPT_QUEUE_SIZE,
    OPT_KEEP_ORDER,
    OPT_LINE_BUFFER,
    OPT_UNGROUP,
    OPT_JOBLOG,
    OPT_BUFFER_SIZE,
    OPT_KILL_AFTER,
    OPT_HELP,
    OPT_VERSION,
    OPT_SUMMARY,
    OPT_ARG_FILE,
    OPT_NULL,
    OPT_DELIM,
    OPT_MAX_ARGS,
    OPT_NO_RUN_IF_EMPTY,
    OPT_SENTINEL,
    OPT_REPLACE,
    OPT_TAG,
    OPT_DRY_RUN,
    OPT_SHELL,
    OPT_ORDER,
    OPT_FILE,
    OPT_JSON,
    OPT_TIMEOUT,
    OPT_RETRIES,
    OPT_RETRY_ON,
    OPT_RETRY_DELAY,
    OPT_HALT,
    OPT_EXIT_STATUS,
    OPT_RESULTS,
    OPT_RESULTS_LIMIT,
    OPT_RESUME,
    OPT_RESUME_FAILED,
    OPT_ON_DONE,
    OPT_ON_FAIL,
    OPT_ON_JOIN,
    OPT_PROGRESS,
    OPT_DELAY,
    OPT_MEMFREE,
    OPT_LOAD,
    OPT_WORKERS,
    OPT_PROTOCOL,
    OPT_INFLIGHT,
    OPT_WORKER_INIT,
    OPT_WORKER_SENTINEL,
    OPT_GRACE,
    OPT_MAX_TASKS,
    OPT_DAEMON
};

struct opt_def {
    char shortname;
    const char *longname;
    int has_arg;
    enum opt_id id;
};

static const struct opt_def defs[] = {
    {'j', "jobs", 1, OPT_JOBS},
    {0, "queue-size", 1, OPT_QUEUE_SIZE},
    {'k', "keep-order", 0, OPT_KEEP_ORDER},
    {0, "line-buffer", 0, OPT_LINE_BUFFER},
    {0, "lb", 0, OPT_LINE_BUFFER},
    {'u', "ungroup", 0, OPT_UNGROUP},
    {0, "joblog", 1, OPT_JOBLOG},
    {0, "buffer-size", 1, OPT_BUFFER_SIZE},
    {0, "kill-after", 1, OPT_KILL_AFTER},
    {'h', "help", 0, OPT_HELP},
    {'V', "version", 0, OPT_VERSION},
    {0, "summary", 0, OPT_SUMMARY},
    {'a', "arg-file", 1, OPT_ARG_FILE},
    {'0', "null", 0, OPT_NULL},
    {'d', "delimiter", 1, OPT_DELIM},
    {'n', "max-args", 1, OPT_MAX_ARGS},
    {'r', "no-run-if-empty", 0, OPT_NO_RUN_IF_EMPTY},
    {'E', "sentinel", 1, OPT_SENTINEL},
    {'I', "replace", 1, OPT_REPLACE},
    {0, "tag", 0, OPT_TAG},
    {0, "dry-run", 0, OPT_DRY_RUN},
    {0, "shell", 0, OPT_SHELL},
    {0, "order", 1, OPT_ORDER},
    {'f', "file", 1, OPT_FILE},
    {0, "json", 0, OPT_JSON},
    {0, "timeout", 1, OPT_TIMEOUT},
    {0, "retries", 1, OPT_RETRIES},
    {0, "retry-on", 1, OPT_RETRY_ON},
    {0, "retry-delay", 1, OPT_RETRY_DELAY},
    {0, "halt", 1, OPT_HALT},
    {0, "exit-status", 1, OPT_EXIT_STATUS},
    {0, "results", 1, OPT_RESULTS},
    {0, "results-limit", 1, OPT_RESULTS_LIMIT},
    {0, "resume", 0, OPT_RESUME},
    {0, "resume-failed", 0, OPT_RESUME_FAILED},
    {0, "on-done", 1, OPT_ON_DONE},
    {0, "on-fail", 1, OPT_ON_FAIL},
    {0, "on-join", 1, OPT_ON_JOIN},
    {0, "progress", 0, OPT_PROGRESS},
    {0, "bar", 0, OPT_PROGRESS},
    {0, "delay", 1, OPT_DELAY},
    {0, "memfree", 1, OPT_MEMFREE},
    {0, "load", 1, OPT_LOAD},
    {0, "workers", 1, OPT_WORKERS},
    {0, "protocol", 1, OPT_PROTOCOL},
    {0, "inflight", 1, OPT_INFLIGHT},
    {0, "worker-init", 1, OPT_WORKER_INIT},
    {0, "worker-sentinel", 1, OPT_WORKER_SENTINEL},
    {0, "grace", 1, OPT_GRACE},
    {0, "max-tasks-per-worker", 1, OPT_MAX_TASKS},
    {0, "daemon", 0, OPT_DAEMON},
};


static int fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
fail(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return -1;
}

/* Every time option has the one range of pr_seconds_valid. */
static int
bad_seconds(const char *name, const char *v, char *err, size_t errlen)
{
    return fail(err, errlen,
                "%s: '%s' is not a number of seconds (0 to " PR_SECONDS_MAX_TEXT
                ")", name, v);
}

/* -d: one byte, or one of the escapes \n, \t, \0 and \\. */
static int
parse_delim(const char *name, const char *v, char *out, char *err,
            size_t errlen)
{
    if (v[0] != '\0' && v[1] == '\0') {
        *out = v[0];
        return 0;
    }
    if (v[0] == '\\' && v[1] != '\0' && v[2] == '\0') {
        switch (v[1]) {
        case 'n':
            *out = '\n';
            return 0;
        case 't':
            *out = '\t';
            return 0;
        case '0':
            *out = '\0';
            return 0;
        case '\\':
            *out = '\\';
            return 0;
        default:
            break;
        }
    }
    return fail(err, errlen,
                "%s: '%s' is not one character (or \\n, \\t, \\0, \\\\)",
                name, v);
}

/* -j N, -j N% (of the CPUs, at least 1), -j 0 (no limit). */
static int
parse_jobs(const char *name, const char *v, unsigned *out, char *err,
           size_t errlen)
{
    size_t len = strlen(v);
    long n;

    if (len > 1 && v[len - 1] == '%') {
        char num[32];

        if (len - 1 >= sizeof(num))
            return fail(err, errlen, "%s: '%s' is not a number of jobs", name,
                        v);
        memcpy(num, v, len - 1);
        num[len - 1] = '\0';
        if (pr_parse_long(num, 1, 100000, &n) != 0)
            return fail(err, errlen,
                        "%s: '%s' is not a percentage of CPUs (1%% or more)",
                        name, v);
        n = (long)uv_available_parallelism() * n / 100;
        *out = n < 1 ? 1 : (unsigned)n;
        return 0;
    }
    if (pr_parse_long(v, 0, MAX_JOBS, &n) != 0)
        return fail(err, errlen,
                    "%s: '%s' is not a number of jobs (0 to %d, or N%%)", name,
                    v, MAX_JOBS);
    *out = (unsigned)n;
    return 0;
}

/* A size in bytes with an optional K, M or G suffix (powers of 1024). */
static int
parse_size(const char *name, const char *v, size_t *out, char *err,
           size_t errlen)
{
    char num[32];
    size_t len = strlen(v);
    long mult = 1;
    long n;

    if (len > 0 && strchr("kKmMgG", v[len - 1]) != NULL) {
        char c = v[len - 1];

        mult = (c == 'k' || c == 'K')   ? 1024L
               : (c == 'm' || c == 'M') ? 1024L * 1024
                                        : 1024L * 1024 * 1024;
        len--;
    }
    if (len == 0 || len >= sizeof(num))
        return fail(err, errlen, "%s: '%s' is not a size", name, v);
    memcpy(num, v, len);
    num[len] = '\0';
    if (pr_parse_long(num, 1, (1L << 40) / mult, &n) != 0)
        return fail(err, errlen, "%s: '%s' is not a size (1 to 1T)", name, v);
    *out = (size_t)(n * mult);
    return 0;
}

/* --retry-on 1,75,timeout,SIGKILL: exit codes, `timeout`, signals. */
static int
parse_retry_on(const char *name, const char *v, struct pr_retry_policy *r,
               char *err, size_t errlen)
{
    const char *p = v;

    r->only_listed = 1;
    memset(r->codes, 0, sizeof(r->codes));
    memset(r->sigs, 0, sizeof(r->sigs));
    r->on_timeout = 0;
    while (1) {
        size_t n = strcspn(p, ",");
        char word[32];
        long code;
        int sig;

        if (n == 0 || n >= sizeof(word))
            return fail(err, errlen,
                        "%s: '%s': give exit codes, timeout or signal names, "
                        "separated by commas", name, v);
        memcpy(word, p, n);
        word[n] = '\0';
        if (strcmp(word, "timeout") == 0)
            r->on_timeout = 1;
        else if (pr_parse_long(word, 0, 255, &code) == 0)
            r->codes[code] = 1;
        else if ((word[0] < '0' || word[0] > '9') &&
                 (sig = pr_signal_number(word)) > 0)
            r->sigs[sig] = 1;
        else
            return fail(err, errlen,
                        "%s: '%s' is not an exit code (0-255), timeout or a "
                        "signal name", name, word);
        p += n;
        if (*p == '\0')
            return 0;
        p++;
    }
}

/* --retry-delay SECS or SECSxFACTOR (2x2: 2 s, then 4, 8...). */
static int
parse_retry_delay(const char *name, const char *v, struct pr_retry_policy *r,
                  char *err, size_t errlen)
{
    char num[64];
    const char *x = strchr(v, 'x');
    size_t n = x != NULL ? (size_t)(x - v) : strlen(v);

    if (n >= sizeof(num))
        n = sizeof(num) - 1;
    memcpy(num, v, n);
    num[n] = '\0';
    r->factor = 1;
    if (pr_parse_seconds(num, &r->delay) != 0 ||
        (x != NULL && (pr_parse_seconds(x + 1, &r->factor) != 0 ||
                       r->factor < 1 || r->factor > 1000)))
        return fail(err, errlen,
                    "%s: '%s' is not SECS or SECSxFACTOR (SECS 0 to "
                    PR_SECONDS_MAX_TEXT ", FACTOR 1 to 1000)", name, v);
    return 0;
}

/* --halt now|soon,fail|success|done=N|N%, never, or GNU's 0, 1, 2. */
static int
parse_halt(const char *name, const char *v, struct pr_halt *h, char *err,
           size_t errlen)
{
    const char *comma = strchr(v, ',');
    const char *eq;
    const char *num;
    char buf[32];
    size_t len;
    double pct;
    long n;

    memset(h, 0, sizeof(*h));
    if (strcmp(v, "never") == 0 || strcmp(v, "0") == 0)
        return 0;
    if (strcmp(v, "1") == 0 || strcmp(v, "2") == 0) {
        h->when = v[0] == '1' ? PR_HALT_SOON : PR_HALT_NOW;
        h->on = PR_HALT_FAIL;
        h->count = 1;
        return 0;
    }
    if (comma == NULL)
        goto bad;
    if ((size_t)(comma - v) == 3 && strncmp(v, "now", 3) == 0)
        h->when = PR_HALT_NOW;
    else if ((size_t)(comma - v) == 4 && strncmp(v, "soon", 4) == 0)
        h->when = PR_HALT_SOON;
    else
        goto bad;
    eq = strchr(comma, '=');
    if (eq == NULL)
        goto bad;
    len = (size_t)(eq - comma - 1);
    if (len == 4 && strncmp(comma + 1, "fail", 4) == 0)
        h->on = PR_HALT_FAIL;
    else if (len == 7 && strncmp(comma + 1, "success", 7) == 0)
        h->on = PR_HALT_SUCCESS;
    else if (len == 4 && strncmp(comma + 1, "done", 4) == 0)
        h->on = PR_HALT_DONE;
    else
        goto bad;
    num = eq + 1;
    len = strlen(num);
    if (len > 1 && len < sizeof(buf) && num[len - 1] == '%') {
        memcpy(buf, num, len - 1);
        buf[len - 1] = '\0';
        if (pr_parse_seconds(buf, &pct) != 0 || pct <= 0 || pct > 100)
            goto bad;
        h->pct = pct;
        return 0;
    }
    if (pr_parse_long(num, 1, 1000000000, &n) != 0)
        goto bad;
    h->count = (uint64_t)n;
    return 0;
bad:
    h->when = PR_HALT_NEVER;
    return fail(err, errlen,
                "%s: '%s' is not now|soon,fail|success|done=N or N%%, or never",
                name, v);
}

static int
apply(struct pr_config *cfg, const struct opt_def *d, const char *name,
      const char *v, char *err, size_t errlen)
{
    struct pr_pool_config *p = &cfg->pool;
    long n;

    if (d->has_arg && v == NULL)
        return fail(err, errlen, "%s: needs a value", name);
    switch (d->id) {
    case OPT_JOBS:
        cfg->jobs_set = 1;
        return parse_jobs(name, v, &p->jobs, err, errlen);
    case OPT_QUEUE_SIZE:
        if (pr_parse_long(v, 1, 100000000, &n) != 0)
            return fail(err, errlen, "%s: '%s' is not a queue size (1 or more)",
                        name, v);
        p->queue_size = (size_t)n;
        return 0;
    case OPT_KEEP_ORDER:
        p->output.keep_order = 1;
        return 0;
    case OPT_LINE_BUFFER:
        p->output.mode = PR_OUT_LINE;
        return 0;
    case OPT_UNGROUP:
        p->output.mode = PR_OUT_UNGROUP;
        return 0;
    case OPT_JOBLOG:
        if (*v == '\0')
            return fail(err, errlen, "%s: needs a file name", name);
        p->joblog = v;
        return 0;
    case OPT_BUFFER_SIZE:
        return parse_size(name, v, &p->output.buffer_size, err, errlen);
    case OPT_KILL_AFTER:
        if (pr_parse_seconds(v, &p->kill_after) != 0)
            return bad_seconds(name, v, err, errlen);
        return 0;
    case OPT_TIMEOUT:
        if (pr_parse_seconds(v, &p->timeout) != 0 || p->timeout <= 0)
            return fail(err, errlen,
                        "%s: '%s' is not a number of seconds above 0 (at most "
                        PR_SECONDS_MAX_TEXT ")", name, v);
        return 0;
    case OPT_RETRIES:
        if (pr_parse_long(v, 0, 1000000, &n) != 0)
            return fail(err, errlen, "%s: '%s' is not a number of retries",
                        name, v);
        p->retry.retries = (int)n;
        return 0;
    case OPT_RETRY_ON:
        return parse_retry_on(name, v, &p->retry, err, errlen);
    case OPT_RETRY_DELAY:
        return parse_retry_delay(name, v, &p->retry, err, errlen);
    case OPT_HALT:
        return parse_halt(name, v, &p->halt, err, errlen);
    case OPT_EXIT_STATUS:
        if (strcmp(v, "count") == 0)
            cfg->exit_policy = PR_EXIT_COUNT;
        else if (strcmp(v, "first") == 0)
            cfg->exit_policy = PR_EXIT_FIRST;
        else if (strcmp(v, "last") == 0)
            cfg->exit_policy = PR_EXIT_LAST;
        else if (strcmp(v, "max") == 0)
            cfg->exit_policy = PR_EXIT_MAX;
        else
            return fail(err, errlen,
                        "%s: '%s' is not count, first, last or max", name, v);
        return 0;
    case OPT_RESULTS:
        if (*v == '\0')
            return fail(err, errlen, "%s: needs a file name", name);
        p->results = v;
        return 0;
    case OPT_RESULTS_LIMIT:
        if (strcmp(v, "0") == 0) {
            p->results_limit = 0;
            return 0;
        }
        return parse_size(name, v, &p->results_limit, err, errlen);
    case OPT_RESUME:
        p->resume = 1;
        return 0;
    case OPT_RESUME_FAILED:
        p->resume = 1;
        cfg->resume_failed = 1;
        return 0;
    case OPT_ON_DONE:
    case OPT_ON_FAIL:
    case OPT_ON_JOIN:
        if (*v == '\0')
            return fail(err, errlen, "%s: needs a command", name);
        if (d->id == OPT_ON_DONE)
            p->on_done = v;
        else if (d->id == OPT_ON_FAIL)
            p->on_fail = v;
        else
            p->on_join = v;
        return 0;
    case OPT_PROGRESS:
        p->progress = 1;
        return 0;
    case OPT_DELAY:
        if (pr_parse_seconds(v, &p->delay) != 0)
            return bad_seconds(name, v, err, errlen);
        return 0;
    case OPT_MEMFREE: {
        size_t size;

        if (parse_size(name, v, &size, err, errlen) != 0)
            return -1;
        p->memfree = size;
        return 0;
    }
    case OPT_LOAD:
        if (pr_parse_seconds(v, &p->load) != 0 || p->load <= 0)
            return fail(err, errlen, "%s: '%s' is not a load average above 0",
                        name, v);
        return 0;
    case OPT_WORKERS:
        if (*v == '\0')
            return fail(err, errlen, "%s: needs a command", name);
        cfg->workers.cmd = v;
        p->workers = &cfg->workers;
        return 0;
    case OPT_PROTOCOL:
        if (strcmp(v, "line") == 0)
            cfg->workers.protocol = PR_PROTO_LINE;
        else if (strcmp(v, "json") == 0)
            cfg->workers.protocol = PR_PROTO_JSON;
        else
            return fail(err, errlen, "%s: '%s' is not line or json", name, v);
        return 0;
    case OPT_INFLIGHT:
        if (pr_parse_long(v, 1, 4096, &n) != 0)
            return fail(err, errlen, "%s: '%s' is not a number of tasks "
                        "(1 to 4096)", name, v);
        cfg->workers.inflight = (unsigned)n;
        return 0;
    case OPT_WORKER_INIT:
    case OPT_WORKER_SENTINEL:
        if (strchr(v, '\n') != NULL)
            return fail(err, errlen, "%s: must be one line", name);
        if (d->id == OPT_WORKER_INIT)
            cfg->workers.init = v;
        else
            cfg->workers.sentinel = v;
        return 0;
    case OPT_GRACE:
        if (pr_parse_seconds(v, &cfg->workers.grace) != 0)
            return bad_seconds(name, v, err, errlen);
        return 0;
    case OPT_MAX_TASKS:
        if (pr_parse_long(v, 1, 1000000000, &n) != 0)
            return fail(err, errlen, "%s: '%s' is not a number of tasks (1 or "
                        "more)", name, v);
        cfg->workers.max_tasks = (uint64_t)n;
        return 0;
    case OPT_DAEMON:
        cfg->workers.daemon = 1;
        return 0;
    case OPT_HELP:
        cfg->show_help = 1;
        return 0;
    case OPT_VERSION:
        cfg->show_version = 1;
        return 0;
    case OPT_SUMMARY:
        cfg->summary = 1;
        return 0;
    case OPT_ARG_FILE:
        if (*v == '\0')
            return fail(err, errlen, "%s: needs a file name", name);
        cfg->arg_files = pr_xrealloc(cfg->arg_files,
                                     (size_t)(cfg->narg_files + 1) *
                                         sizeof(*cfg->arg_files));
        cfg->arg_files[cfg->narg_files++] = v;
        return 0;
    case OPT_NULL:
        cfg->delim = '\0';
        return 0;
    case OPT_DELIM:
        return parse_delim(name, v, &cfg->delim, err, errlen);
    case OPT_MAX_ARGS:
        if (pr_parse_long(v, 1, 1000000, &n) != 0)
            return fail(err, errlen,
                        "%s: '%s' is not a number of items (1 or more)", name,
                        v);
        cfg->per_task = (unsigned)n;
        return 0;
    case OPT_NO_RUN_IF_EMPTY:
        cfg->no_run_if_empty = 1;
        return 0;
    case OPT_SENTINEL:
        cfg->sentinel = v;
        return 0;
    case OPT_REPLACE:
        if (*v == '\0')
            return fail(err, errlen, "%s: needs a non-empty string", name);
        cfg->replace = v;
        return 0;
    case OPT_TAG:
        p->tag = 1;
        return 0;
    case OPT_DRY_RUN:
        p->dry_run = 1;
        return 0;
    case OPT_SHELL:
        cfg->force_shell = 1;
        return 0;
    case OPT_FILE:
        if (*v == '\0')
            return fail(err, errlen, "%s: needs a file name", name);
        cfg->job_files = pr_xrealloc(cfg->job_files,
                                     (size_t)(cfg->njob_files + 1) *
                                         sizeof(*cfg->job_files));
        cfg->job_files[cfg->njob_files++] = v;
        return 0;
    case OPT_JSON:
        cfg->json = 1;
        return 0;
    case OPT_ORDER:
        if (strcmp(v, "fifo") == 0)
            p->order = PR_ORDER_FIFO;
        else if (strcmp(v, "lifo") == 0)
            p->order = PR_ORDER_LIFO;
        else if (strcmp(v, "priority") == 0)
            p->order = PR_ORDER_PRIORITY;
        else
            return fail(err, errlen,
                        "%s: '%s' is not an order (fifo, lifo or priority)",
                        name, v);
        return 0;
    }
    return 0;
}

static const struct opt_def *
find_long(const char *name, size_t len)
{
    size_t i;

    for (i = 0; i < PR_ARRAY_SIZE(defs); i++)
        if (strlen(defs[i].longname) == len &&
            strncmp(defs[i].longname, name, len) == 0)
            return &defs[i];
    return NULL;
}

static const struct opt_def *
find_short(char c)
{
    size_t i;

    for (i = 0; i < PR_ARRAY_SIZE(defs); i++)
        if (defs[i].shortname == c)
            return &defs[i];
    return NULL;
}

static int
parse_long_opt(int argc, char **argv, int *i, struct pr_config *cfg, char *err,
               size_t errlen)
{
    const char *arg = argv[*i] + 2;
    const char *eq = strchr(arg, '=');
    size_t len = eq ? (size_t)(eq - arg) : strlen(arg);
    const struct opt_def *d = find_long(arg, len);
    char name[64];
    const char *v = NULL;

    snprintf(name, sizeof(name), "--%.*s", (int)len, arg);
    if (d == NULL)
        return fail(err, errlen, "%s: unknown option", name);
    if (d->has_arg) {
        if (eq != NULL)
            v = eq + 1;
        else if (*i + 1 < argc)
            v = argv[++*i];
        else
            return fail(err, errlen, "%s: needs a value", name);
    } else if (eq != NULL) {
        return fail(err, errlen, "%s: takes no value", name);
    }
    return apply(cfg, d, name, v, err, errlen);
}

static int
parse_short_opts(int argc, char **argv, int *i, struct pr_config *cfg,
                 char *err, size_t errlen)
{
    const char *p = argv[*i] + 1;

    for (; *p != '\0'; p++) {
        const struct opt_def *d = find_short(*p);
        char name[3] = {'-', *p, '\0'};

        if (d == NULL)
            return fail(err, errlen, "%s: unknown option", name);
        if (!d->has_arg) {
            if (apply(cfg, d, name, NULL, err, errlen) != 0)
                return -1;
            continue;
        }
        if (p[1] != '\0')
            return apply(cfg, d, name, p + 1, err, errlen);
        if (*i + 1 >= argc)
            return fail(err, errlen, "%s: needs a value", name);
        return apply(cfg, d, name, argv[++*i], err, errlen);
    }
    return 0;
}

int
pr_options_parse(int argc, char **argv, struct pr_config *cfg, char *err,
                 size_t errlen)
{
    int line_buffer = 0;
    int i;

    memset(cfg, 0, sizeof(*cfg));
    cfg->pool.jobs = uv_available_parallelism();
    cfg->pool.queue_size = DEFAULT_QUEUE_SIZE;
    cfg->pool.kill_after = DEFAULT_KILL_AFTER;
    cfg->pool.retry.factor = 1;
    cfg->pool.results_limit = DEFAULT_RESULTS_LIMIT;
    cfg->workers.inflight = DEFAULT_INFLIGHT;
    cfg->workers.grace = DEFAULT_GRACE;
    cfg->pool.shell = "/bin/sh";
    cfg->pool.output.mode = PR_OUT_GROUP;
    cfg->pool.output.buffer_size = DEFAULT_BUFFER_SIZE;
    cfg->pool.output.out_fd = 1;
    cfg->pool.output.err_fd = 2;
    cfg->pool.output.first_seq = 1;
    cfg->delim = '\n';

    for (i = 1; i < argc; i++) {
        const char *a = argv[i];
        int rc;

        if (strcmp(a, "--") == 0) {
            i++;
            break;
        }
        if (a[0] != '-' || a[1] == '\0')
            break;
        if (a[1] == '-')
            rc = parse_long_opt(argc, argv, &i, cfg, err, errlen);
        else
            rc = parse_short_opts(argc, argv, &i, cfg, err, errlen);
        if (rc != 0)
            return -1;
        if (cfg->pool.output.mode == PR_OUT_LINE)
            line_buffer = 1;
        if (line_buffer && cfg->pool.output.mode == PR_OUT_UNGROUP)
            return fail(err, errlen,
                        "--line-buffer and --ungroup cannot be combined");
    }
    cfg->command = argv + i;
    cfg->ncommand = argc - i;
    /* --line-buffer -k: the oldest task's lines go out as they come, the
     * others' wait their turn: that is -k's grouped output, streamed. */
    if (cfg->pool.output.mode == PR_OUT_LINE && cfg->pool.output.keep_order)
        cfg->pool.output.mode = PR_OUT_GROUP;
    if (cfg->pool.workers == NULL &&
        (cfg->workers.init != NULL || cfg->workers.sentinel != NULL ||
         cfg->workers.max_tasks != 0 || cfg->workers.daemon))
        return fail(err, errlen, "--worker-init, --worker-sentinel, "
                    "--max-tasks-per-worker and --daemon need --workers CMD");
    if (cfg->pool.workers != NULL && argc - i > 0 &&
        strcmp(argv[i], ":::") != 0)
        return fail(err, errlen, "%s: with --workers, input items go to the "
                    "workers; no COMMAND", argv[i]);
    if (cfg->pool.resume && cfg->pool.joblog == NULL)
        return fail(err, errlen, "%s needs --joblog FILE: the job log says "
                    "which tasks ran", cfg->resume_failed ? "--resume-failed"
                                                          : "--resume");
    if ((cfg->njob_files > 0 || cfg->json) && argc - i > 0)
        return fail(err, errlen, "%s: a job file gives the commands; no "
                    "COMMAND or ::: with -f or --json", argv[i]);
    if (cfg->njob_files > 0 && (cfg->json || cfg->narg_files > 0))
        return fail(err, errlen, "-f cannot be combined with %s",
                    cfg->json ? "--json" : "-a");
    /* COMMAND ::: ITEM... (GNU parallel's): items from the command line. */
    for (; i < argc; i++) {
        if (strcmp(argv[i], ":::") == 0) {
            cfg->ncommand = i - (int)(cfg->command - argv);
            cfg->args = argv + i + 1;
            cfg->nargs = argc - i - 1;
            cfg->have_args = 1;
            break;
        }
    }
    return 0;
}

void
pr_options_usage(void)
{
    fputs(
        "Usage: poolrun [OPTIONS] < LINES          each line is a shell command\n"
        "       poolrun [OPTIONS] COMMAND [ARG...]  each item fills COMMAND\n"
        "Run tasks in parallel on a pool of processes.\n"
        "\n"
        "Map (COMMAND): {} item, {.} without extension, {/} basename, {//}\n"
        "dirname, {/.} basename without extension, {#} task number, {%} slot;\n"
        "with none, the item is appended.  Several words run directly; one\n"
        "word with shell syntax, or --shell, runs through /bin/sh -c with\n"
        "each value quoted for its place ('...', \"...\", here-document);\n"
        "a place where no quoting is safe (`...`, ${...}) is refused.\n"
        "\n"
        "Input:\n"
        "  -a, --arg-file FILE   read items from FILE (repeatable; - is stdin)\n"
        "      ::: ITEM...       items from the command line, after COMMAND\n"
        "  -0, --null            items end with NUL, not newline\n"
        "  -d, --delimiter C     items end with C (\\n, \\t, \\0, \\\\ allowed)\n"
        "  -n, --max-args N      put up to N items in one task\n"
        "  -r, --no-run-if-empty with no items, run nothing (default: COMMAND once)\n"
        "  -E, --sentinel STR    stop reading at the item STR\n"
        "  -I, --replace STR     STR stands for the item instead of {}\n"
        "      --shell           run COMMAND through /bin/sh -c\n"
        "  -f, --file FILE       run the tasks of JSON job file FILE (repeatable)\n"
        "      --json            read task objects, one per line, from stdin\n"
        "\n",
        stdout);
    fputs(
        "Pool:\n"
        "  -j, --jobs N          run N tasks at a time (default: number of CPUs);\n"
        "                        N% of the CPUs; 0 for no limit\n"
        "      --queue-size N    read at most N tasks ahead (default 1024)\n"
        "      --order ORDER     fifo (default), lifo or priority\n"
        "      --timeout SECS    end a task after SECS (fractions allowed): SIGTERM\n"
        "                        to its process group, SIGKILL after --kill-after\n"
        "                        (every SECS here: 0 to 1000000000)\n"
        "      --kill-after SECS grace between SIGTERM and SIGKILL (default 2)\n"
        "      --retries N       run a failed or timed-out task up to N more times\n"
        "      --retry-on LIST   retry only on these: exit codes, timeout, signal\n"
        "                        names (75,timeout,SIGKILL)\n"
        "      --retry-delay SECS[xFACTOR]  wait before a retry, FACTOR times\n"
        "                        longer each time (no slot is held meanwhile)\n"
        "      --halt WHEN,ON=N  stop early: WHEN is now (kill running tasks) or\n"
        "                        soon (let them finish); ON is fail, success or\n"
        "                        done; N a count or a percentage (now,fail=1)\n"
        "      --delay SECS      wait SECS between task starts\n"
        "      --memfree SIZE    start a task only while SIZE of memory is\n"
        "                        available (MemAvailable; K, M, G)\n"
        "      --load N          start a task only while the 1-minute load\n"
        "                        average is below N\n"
        "      --dry-run         print each command instead of running it\n"
        "\n",
        stdout);
    fputs(
        "Daemon workers (a persistent process pool):\n"
        "      --workers CMD     start -j copies of CMD (through /bin/sh -c) and\n"
        "                        send each task's input (its item, or a job\n"
        "                        file's \"input\") to a free one\n"
        "      --protocol P      line (default): one line in, one line out;\n"
        "                        json: {\"seq\":N,\"input\":...} in,\n"
        "                        {\"output\":...,\"exit\":N,\"error\":...} out\n"
        "      --inflight K      send each worker up to K tasks ahead (default 16)\n"
        "      --worker-init LINE  the first line each new worker gets\n"
        "      --worker-sentinel LINE  sent when all is done (default: close stdin)\n"
        "      --grace SECS      wait SECS for a worker to exit (default 5)\n"
        "      --max-tasks-per-worker N  replace a worker after N tasks\n"
        "      --daemon          terminate the workers when all is done\n"
        "\n",
        stdout);
    fputs(
        "Output:\n"
        "  -k, --keep-order      print each task's output in input order\n"
        "      --line-buffer     print whole lines as they come (alias --lb; with\n"
        "                        -k, the oldest task's as they come, in order)\n"
        "  -u, --ungroup         print bytes as they come\n"
        "      --tag             prefix each line with the task's items and a tab\n"
        "      --buffer-size SIZE  hold up to SIZE per stream in memory,\n"
        "                        then a private temporary file (default 1M)\n"
        "\n",
        stdout);
    fputs(
        "Callbacks (through /bin/sh -c, one at a time, in the order tasks end):\n"
        "      --on-done CMD     after a task succeeds, with its stdout on stdin\n"
        "                        and POOLRUN_SEQ, _ID, _ITEM, _CMD, _STATUS, _EXIT,\n"
        "                        _SIGNAL, _RUNTIME, _ATTEMPTS in the environment\n"
        "      --on-fail CMD     the same, after a task's last failed attempt\n"
        "      --on-join CMD     once every task and callback is done, with\n"
        "                        POOLRUN_TOTAL, _OK, _FAILED, _TIMEOUT, _KILLED,\n"
        "                        _ERROR and _SKIPPED\n"
        "\n",
        stdout);
    fputs(
        "Records:\n"
        "      --joblog FILE     write GNU parallel's job log to FILE\n"
        "      --results FILE    write one JSON object per attempt to FILE\n"
        "      --results-limit SIZE  keep up to SIZE of each stream of each\n"
        "                        attempt in its record (default 64K; 0: none)\n"
        "      --resume          with --joblog: skip the tasks the job log lists\n"
        "                        and add to it (and to --results); rows it\n"
        "                        cannot read (one cut short) are named and skipped\n"
        "      --resume-failed   the same, but run the failed ones again\n"
        "      --summary         count the tasks by status on stderr at the end,\n"
        "                        and name the slowest (always when a task did\n"
        "                        not succeed)\n"
        "      --progress, --bar show progress on stderr: a line redrawn in place\n"
        "                        on a terminal, else a line per finished task\n"
        "      --exit-status POLICY  count (default): how many tasks failed;\n"
        "                        first, last or max: that failed task's code\n"
        "\n"
        "  -h, --help            show this help\n"
        "  -V, --version         show the version\n"
        "\n"
        "Exit status: 0 all tasks succeeded; 1-100 that many failed; 101 more\n"
        "than 100 failed; 128+N stopped by signal N (141: stdout closed);\n"
        "255 poolrun's own error; after --halt, the halting task's code.\n"
        "A task's code: its exit status, 128+N if signal N ended it, 124 after\n"
        "its timeout, 126 if it could not start.  See poolrun(1).\n",
          stdout);
}
