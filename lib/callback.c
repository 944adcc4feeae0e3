/*
 * callback: callback task records.  A callback runs through /bin/sh -c
 * like any shell line; what it learns of its task travels as "NAME=value"
 * environment settings in its spec, the same way a job file's env does.
 */
#include "callback.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util.h"

/* An environment string holds no NUL, and stays well under the kernel's
 * 128 KiB for one string. */
#define ENV_VALUE_MAX ((size_t)64 * 1024)

struct env_list {
    char **v;
    size_t n;
};

static void
env_push(struct env_list *e, struct pr_buf *b)
{
    pr_buf_append(b, "", 1);
    e->v = pr_xrealloc(e->v, (e->n + 2) * sizeof(char *));
    e->v[e->n++] = b->data;
    e->v[e->n] = NULL;
}

static void
env_add(struct env_list *e, const char *name, const char *value, size_t len)
{
    struct pr_buf b = {0};
    const char *nul = memchr(value, '\0', len);

    if (nul != NULL)
        len = (size_t)(nul - value);
    if (len > ENV_VALUE_MAX)
        len = ENV_VALUE_MAX;
    pr_buf_append(&b, name, strlen(name));
    pr_buf_append(&b, "=", 1);
    pr_buf_append(&b, value, len);
    env_push(e, &b);
}

static void env_addf(struct env_list *e, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* NAME=VALUE with VALUE printed as fmt says: numbers and short names. */
static void
env_addf(struct env_list *e, const char *name, const char *fmt, ...)
{
    struct pr_buf b = {0};
    va_list ap;

    pr_buf_append(&b, name, strlen(name));
    pr_buf_append(&b, "=", 1);
    va_start(ap, fmt);
    pr_buf_vappendf(&b, fmt, ap);
    va_end(ap);
    env_push(e, &b);
}

static struct pr_task *
callback_task(const char *kind, const char *cmd, struct env_list *env)
{
    struct pr_task *cb = pr_task_new(0, cmd, strlen(cmd));

    cb->callback = kind;
    cb->spec = pr_xcalloc(1, sizeof(*cb->spec));
    cb->spec->env = env->v;
    cb->spec->timeout = 0; /* --timeout is for tasks */
    cb->spec->retries = 0;
    return cb;
}

/* Is a variable of e's name (e is "NAME" or "NAME=value") among the first
 * n of env, or one the runner sets for every task? */
static int
env_has(const struct env_list *env, size_t n, const char *e)
{
    size_t klen = strcspn(e, "=");
    size_t k;

    if ((klen == 11 && strncmp(e, "POOLRUN_SEQ", 11) == 0) ||
        (klen == 12 && strncmp(e, "POOLRUN_SLOT", 12) == 0))
        return 1;
    for (k = 0; k < n; k++)
        if (strncmp(env->v[k], e, klen) == 0 && env->v[k][klen] == '=')
            return 1;
    return 0;
}

/* A callback runs with its task's environment (a job file's env, what a
 * submit captured), under the variables that describe the task. */
static void
env_inherit(struct env_list *env, const struct pr_task_spec *spec)
{
    size_t n = env->n;
    size_t i;

    for (i = 0; spec != NULL && spec->env != NULL && spec->env[i] != NULL;
         i++) {
        struct pr_buf b = {0};

        if (env_has(env, n, spec->env[i]))
            continue;
        pr_buf_append(&b, spec->env[i], strlen(spec->env[i]));
        env_push(env, &b);
    }
}

struct pr_task *
pr_callback_new(const struct pr_task *task, const char *kind, const char *cmd,
                int with_stdout)
{
    struct env_list env = {0};
    struct pr_buf items = {0};
    struct pr_task *cb;
    const char *id = task->spec != NULL ? task->spec->id : NULL;
    int fd = -1;
    int rc = 0;
    unsigned i;

    if (with_stdout) {
        fd = pr_tmpfile();
        rc = fd < 0 ? fd : pr_capture_emit(&task->out, fd);
        if (rc == 0 && lseek(fd, 0, SEEK_SET) != 0)
            rc = -errno;
        if (rc != 0 && fd >= 0)
            close(fd);
        if (rc != 0)
            fd = -1;
    }
    for (i = 0; i < task->nitems; i++) {
        if (i > 0)
            pr_buf_append(&items, " ", 1);
        pr_buf_append(&items, task->items[i].p, task->items[i].len);
    }
    env_add(&env, "POOLRUN_ID", id != NULL ? id : "",
            id != NULL ? strlen(id) : 0);
    env_add(&env, "POOLRUN_ITEM", items.data ? items.data : "", items.len);
    env_add(&env, "POOLRUN_CMD", task->line ? task->line : "", task->line_len);
    env_addf(&env, "POOLRUN_STATUS", "%s", pr_task_status_name(task->status));
    env_addf(&env, "POOLRUN_EXIT", "%d", pr_task_code(task));
    env_addf(&env, "POOLRUN_SIGNAL", "%d", task->term_signal);
    env_addf(&env, "POOLRUN_RUNTIME", "%.3f", pr_task_runtime(task));
    env_addf(&env, "POOLRUN_ATTEMPTS", "%u", task->attempt);
    pr_buf_free(&items);
    env_inherit(&env, task->spec);
    cb = callback_task(kind, cmd, &env);
    /* ... and in its task's folder, where its relative paths point. */
    if (task->spec != NULL && task->spec->cwd != NULL)
        cb->spec->cwd = pr_xstrdup(task->spec->cwd);
    cb->seq = task->seq; /* its POOLRUN_SEQ is the task's */
    cb->stdin_fd = fd;
    if (rc != 0) {
        /* It does not run without its input; the record says why. */
        cb->error = rc;
        cb->error_what = "cannot keep the task's output for it";
    }
    return cb;
}

struct pr_task *
pr_callback_join_new(const char *cmd, const uint64_t *counts, uint64_t total)
{
    struct env_list env = {0};
    size_t i;

    env_addf(&env, "POOLRUN_TOTAL", "%llu", (unsigned long long)total);
    for (i = 0; i < PR_TASK_STATUS_COUNT; i++) {
        char name[32];
        size_t k;

        snprintf(name, sizeof(name), "POOLRUN_%s",
                 pr_task_status_name((enum pr_task_status)i));
        for (k = 0; name[k] != '\0'; k++)
            name[k] = (char)toupper((unsigned char)name[k]);
        env_addf(&env, name, "%llu", (unsigned long long)counts[i]);
    }
    return callback_task("on_join", cmd, &env);
}

void
pr_callbacks_init(struct pr_callbacks *cbs, struct pr_runner *runner)
{
    cbs->runner = runner;
    pr_list_init(&cbs->waiting);
    cbs->running = NULL;
    cbs->dropped = 0;
    cbs->ran = 0;
    cbs->failed = 0;
}

struct pr_task *
pr_callbacks_make(const struct pr_callbacks *cbs, const struct pr_task *task)
{
    const struct pr_task_spec *spec = task->spec;
    const char *cmd;
    const char *kind;

    if (task->status == PR_TASK_SKIPPED || cbs->dropped || cbs->off)
        return NULL;
    if (task->status == PR_TASK_OK) {
        kind = "on_done";
        cmd = spec != NULL && spec->on_done ? spec->on_done : cbs->on_done;
    } else {
        kind = "on_fail";
        cmd = spec != NULL && spec->on_fail ? spec->on_fail : cbs->on_fail;
    }
    if (cmd == NULL)
        return NULL;
    return pr_callback_new(task, kind, cmd, cbs->with_stdout);
}

void
pr_callbacks_next(struct pr_callbacks *cbs)
{
    struct pr_task *cb;

    if (cbs->running != NULL || pr_list_empty(&cbs->waiting))
        return;
    cb = PR_CONTAINER_OF(cbs->waiting.next, struct pr_task, node);
    pr_list_remove(&cb->node);
    cbs->running = cb;
    cbs->runner->ops->start(cbs->runner, cb);
}

int
pr_callbacks_queue(struct pr_callbacks *cbs, struct pr_task *cb)
{
    if (cbs->dropped) {
        pr_task_free(cb);
        return 0;
    }
    pr_list_insert_before(&cbs->waiting, &cb->node);
    pr_callbacks_next(cbs);
    return 1;
}

void
pr_callbacks_join(struct pr_callbacks *cbs, const char *cmd,
                  const uint64_t *counts, uint64_t total)
{
    cbs->running = pr_callback_join_new(cmd, counts, total);
    cbs->runner->ops->start(cbs->runner, cbs->running);
}

void
pr_callbacks_ended(struct pr_callbacks *cbs, struct pr_task *cb)
{
    cb->status = cb->error != 0         ? PR_TASK_ERROR
                 : cb->term_signal != 0 ? PR_TASK_KILLED
                 : cb->exit_status != 0 ? PR_TASK_FAILED
                                        : PR_TASK_OK;
    cb->end_ns = cb->start_ns ? uv_hrtime() : 0;
    cbs->ran++;
    if (cb->status != PR_TASK_OK)
        cbs->failed++;
    if (cbs->running == cb)
        cbs->running = NULL;
}

unsigned
pr_callbacks_drop(struct pr_callbacks *cbs, int sig)
{
    unsigned n = 0;

    cbs->dropped = 1;
    while (!pr_list_empty(&cbs->waiting)) {
        struct pr_task *cb =
            PR_CONTAINER_OF(cbs->waiting.next, struct pr_task, node);

        pr_list_remove(&cb->node);
        pr_task_free(cb);
        n++;
    }
    if (cbs->running != NULL)
        cbs->runner->ops->signal(cbs->runner, cbs->running, sig);
    return n;
}
