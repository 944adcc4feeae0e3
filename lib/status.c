/*
 * status: the text of a run's status (see status.h).  Nothing here runs
 * per task: it is built only when someone asks (SIGUSR1, `poolrun
 * status`), so it may allocate and sort.
 */
#include "status.h"

#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "pool.h"
#include "run_worker.h"

void
pr_status_escape(struct pr_buf *b, const char *p, size_t n, size_t max)
{
    size_t i, shown = n < max ? n : max;

    for (i = 0; i < shown; i++) {
        unsigned char c = (unsigned char)p[i];

        if (c == '\\')
            pr_buf_append(b, "\\\\", 2);
        else if (c == '\n')
            pr_buf_append(b, "\\n", 2);
        else if (c == '\t')
            pr_buf_append(b, "\\t", 2);
        else if (c == '\r')
            pr_buf_append(b, "\\r", 2);
        else if (c < 0x20 || c == 0x7f)
            pr_buf_appendf(b, "\\x%02x", c);
        else
            pr_buf_append(b, p + i, 1);
    }
    if (shown < n)
        pr_buf_appendf(b, " ... (%llu bytes)", (unsigned long long)n);
}

void
pr_status_task_line(struct pr_buf *b, const char *prefix,
                    const struct pr_status_task *t)
{
    pr_buf_appendf(b, "%srunning ", prefix);
    if (t->id != NULL)
        pr_status_escape(b, t->id, strlen(t->id), PR_STATUS_CMD_MAX);
    else
        pr_buf_append(b, "-", 1);
    pr_buf_appendf(b, " (seq %llu, %s", (unsigned long long)t->seq,
                   t->worker ? "worker " : "pid ");
    if (t->pid > 0)
        pr_buf_appendf(b, "%d", t->pid);
    else
        pr_buf_append(b, "-", 1);
    pr_buf_appendf(b, ", slot %u, %.1f s): %s", t->slot, t->runtime,
                   t->worker ? "item: " : "");
    pr_status_escape(b, t->cmd != NULL ? t->cmd : "", t->cmd_len,
                     PR_STATUS_CMD_MAX);
    pr_buf_append(b, "\n", 1);
}

void
pr_status_counts_text(struct pr_buf *b, const struct pr_status_counts *c)
{
    int s;

    pr_buf_appendf(b, "%llu done (%llu ok, %llu failed",
                   (unsigned long long)c->done,
                   (unsigned long long)c->by_status[PR_TASK_OK],
                   (unsigned long long)c->by_status[PR_TASK_FAILED]);
    for (s = PR_TASK_FAILED + 1; s < PR_TASK_STATUS_COUNT; s++)
        if (c->by_status[s] != 0)
            pr_buf_appendf(b, ", %llu %s", (unsigned long long)c->by_status[s],
                           pr_task_status_name((enum pr_task_status)s));
    pr_buf_appendf(b, "), %llu running, %llu queued",
                   (unsigned long long)c->running,
                   (unsigned long long)c->queued);
    if (c->retrying != 0)
        pr_buf_appendf(b, ", %llu to retry", (unsigned long long)c->retrying);
}

/* Seconds task has run at now_ns; 0 before it started (a --workers task
 * waiting for a worker has no pid yet). */
static double
running_for(const struct pr_task *task, uint64_t now_ns)
{
    if (task->pid > 0 && task->start_ns != 0 && now_ns > task->start_ns)
        return (double)(now_ns - task->start_ns) / 1e9;
    return 0;
}

void
pr_status_task_of(struct pr_status_task *t, const struct pr_pool *pool,
                  const struct pr_task *task, uint64_t now_ns,
                  struct pr_buf *scratch)
{
    memset(t, 0, sizeof(*t));
    t->seq = task->seq;
    t->id = task->spec != NULL ? task->spec->id : NULL;
    t->pid = task->pid;
    t->slot = task->slot;
    t->runtime = running_for(task, now_ns);
    t->worker = pr_pool_has_workers(pool);
    if (t->worker) {
        pr_worker_task_input(task, &t->cmd, &t->cmd_len, scratch);
        return;
    }
    t->cmd = task->line;
    t->cmd_len = task->line != NULL ? task->line_len : 0;
}

void
pr_status_counts_of(struct pr_status_counts *c, struct pr_pool *pool)
{
    const struct pr_batch_tally *tally = &pr_pool_batch(pool)->tally;
    int s;

    memset(c, 0, sizeof(*c));
    c->done = tally->total;
    for (s = 0; s < PR_TASK_STATUS_COUNT; s++)
        c->by_status[s] = tally->counts[s];
    c->queued = pr_pool_queued(pool);
    c->retrying = pr_pool_retrying(pool);
}

struct running {
    const struct pr_task **v;
    size_t n, cap;
};

static void
collect(void *data, const struct pr_task *task)
{
    struct running *r = data;

    if (r->n == r->cap) {
        r->cap = r->cap != 0 ? r->cap * 2 : 16;
        r->v = pr_xrealloc(r->v, r->cap * sizeof(*r->v));
    }
    r->v[r->n++] = task;
}

static int
by_seq(const void *a, const void *b)
{
    const struct pr_task *x = *(const struct pr_task *const *)a;
    const struct pr_task *y = *(const struct pr_task *const *)b;

    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* "service ID (pid P, R s): CMD" for a job file's service, "callback
 * KIND of seq N (pid P, R s): CMD" for a callback (seq 0: --on-join's). */
static void
aside_line(struct pr_buf *b, const char *prefix, const struct pr_task *task,
           uint64_t now_ns)
{
    double runtime = running_for(task, now_ns);

    if (task->callback != NULL) {
        pr_buf_appendf(b, "%scallback %s", prefix, task->callback);
        if (task->seq != 0)
            pr_buf_appendf(b, " of seq %llu", (unsigned long long)task->seq);
    } else {
        const char *id = task->spec != NULL ? task->spec->id : NULL;

        pr_buf_appendf(b, "%sservice ", prefix);
        pr_status_escape(b, id != NULL ? id : "-", id != NULL ? strlen(id) : 1,
                         PR_STATUS_CMD_MAX);
    }
    pr_buf_append(b, " (pid ", 6);
    if (task->pid > 0)
        pr_buf_appendf(b, "%d", task->pid);
    else
        pr_buf_append(b, "-", 1);
    pr_buf_appendf(b, ", %.1f s): ", runtime);
    pr_status_escape(b, task->line != NULL ? task->line : "",
                     task->line != NULL ? task->line_len : 0,
                     PR_STATUS_CMD_MAX);
    pr_buf_append(b, "\n", 1);
}

void
pr_status_report(struct pr_buf *b, const char *prefix, struct pr_pool *pool)
{
    struct running r = {0};
    struct pr_status_counts c;
    struct pr_buf scratch = {0};
    uint64_t now = uv_hrtime();
    size_t i;

    pr_pool_each_running(pool, collect, &r);
    if (r.n > 1)
        qsort(r.v, r.n, sizeof(*r.v), by_seq);
    pr_status_counts_of(&c, pool);
    c.running = r.n;
    pr_buf_appendf(b, "%sstatus: ", prefix);
    pr_status_counts_text(b, &c);
    pr_buf_append(b, "\n", 1);
    for (i = 0; i < r.n; i++) {
        struct pr_status_task t;

        pr_status_task_of(&t, pool, r.v[i], now, &scratch);
        pr_status_task_line(b, prefix, &t);
    }
    r.n = 0;
    pr_pool_each_aside(pool, collect, &r);
    for (i = 0; i < r.n; i++)
        aside_line(b, prefix, r.v[i], now);
    pr_buf_free(&scratch);
    free(r.v);
}
