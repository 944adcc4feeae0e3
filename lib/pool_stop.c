/*
 * pool_stop: stopping a run early (see pool_int.h).  A stop takes no new
 * task, records what waits as skipped (or hands it back to its source),
 * and with a signal sends it to every running group, SIGKILL after the
 * grace.  SIGHUP drains instead; --halt, a closed stdout and workers that
 * cannot run stop as a signal would.
 */
#include "pool_int.h"

#include <signal.h>
#include <stdio.h>

#include "util.h"
/* Stopped now (SIGINT, SIGTERM, stdout closed): callbacks that wait are
 * dropped, the running one gets the signal. */
static void
drop_callbacks(struct pr_pool *pool, int sig)
{
    unsigned n = pr_callbacks_drop(&pool->cbs, sig);

    while (n-- > 0)
        pr__pool_task_done(pool);
}

const char *
pr__pool_stop_reason(const struct pr_pool *pool)
{
    switch (pool->result->stop) {
    case PR_STOP_SIGNAL:
        return "signal";
    case PR_STOP_DRAIN:
        return "drain";
    case PR_STOP_OUTPUT:
        return "output closed";
    case PR_STOP_HALT:
        return "halt";
    case PR_STOP_NONE:
    default:
        return "stopped";
    }
}

/* --halt: has this final record reached the limit? */
void
pr__pool_check_halt(struct pr_pool *pool, const struct pr_task *task)
{
    const struct pr_halt *h = &pool->cfg.halt;
    struct pr_halt_counts c;

    c.ok = pool->batch.tally.ok;
    c.failed = pool->batch.tally.failed;
    c.known = pool->next_seq;
    if (pool->halted || !pr_halt_reached(h, task->status, &c))
        return;
    pool->halted = 1;
    pool->result->halt_code = pr_task_code(task);
    pool->result->halt_seq = task->seq;
    pool->result->halt_status = task->status;
    if (pool->stopping || pool->joined) {
        /* Already draining or stopping: the halt only names the status. */
        if (pool->result->stop == PR_STOP_NONE ||
            pool->result->stop == PR_STOP_DRAIN)
            pool->result->stop = PR_STOP_HALT;
        return;
    }
    pr__pool_stop(pool, PR_STOP_HALT, h->when == PR_HALT_NOW ? SIGTERM : 0);
}

static void
signal_running(struct pr_pool *pool, int sig)
{
    pr_services_signal(&pool->services, sig);
    pool->runner->ops->signal_all(pool->runner, sig);
}

static void
on_kill_timer(uv_timer_t *timer)
{
    struct pr_pool *pool = timer->data;

    pool->killing = 1;
    signal_running(pool, SIGKILL);
    if (pool->cbs.dropped && pool->cbs.running != NULL)
        pool->aux->ops->signal(pool->aux, pool->cbs.running, SIGKILL);
}

/* Stop starting tasks, record what waits on the queue as skipped, and send
 * sig (if any) to every running group.  With sig, SIGKILL follows after the
 * grace unless everything has ended by then. */
void
pr__pool_stop(struct pr_pool *pool, enum pr_pool_stop why, int sig)
{
    struct pr_task *task;

    if (pool->stopping)
        return;
    pool->stopping = 1;
    pool->result->stop = why;
    if (pool->src != NULL && !pool->input_ended)
        pool->src->ops->stop(pool->src);
    pool->input_ended = 1;
    /* A task waiting to run again keeps its last attempt's result. */
    while ((task = pr_later_take(&pool->retries)) != NULL)
        pr__pool_record(pool, task);
    while ((task = pr_queue_get(pool->queue)) != NULL) {
        if (task->attempt > 0 && !task->requeue) {
            pr__pool_record(pool, task); /* a retry that was due: as above */
            continue;
        }
        /* A source that can take it back (a durable queue) has it to hand
         * to someone else; the pool records nothing of it. */
        if (task->origin != NULL && pr_source_requeue(task->origin, task)) {
            pr__pool_task_done(pool);
            continue;
        }
        task->status = PR_TASK_SKIPPED;
        pr__pool_record(pool, task);
    }
    while (pool->deps != NULL && (task = pr_deps_take(pool->deps)) != NULL) {
        pr_queue_count(pool->queue);
        task->status = PR_TASK_SKIPPED;
        pr__pool_record(pool, task);
    }
    if (why == PR_STOP_SIGNAL || why == PR_STOP_OUTPUT || why == PR_STOP_FATAL)
        drop_callbacks(pool, sig);
    if (sig != 0) {
        signal_running(pool, sig);
        if (!pool->joined)
            uv_timer_start(&pool->kill_timer, on_kill_timer,
                           (uint64_t)(pool->cfg.kill_after * 1000), 0);
    }
    pr__pool_input_over(pool);
}

static void
on_signal(struct pr_pool *pool, int signum)
{
    if (signum == SIGHUP) {
        pr__pool_stop(pool, PR_STOP_DRAIN, 0);
        return;
    }
    if (pool->stopping && (pool->result->stop == PR_STOP_SIGNAL ||
                           pool->result->stop == PR_STOP_OUTPUT)) {
        /* The same again: no more patience. */
        pool->killing = 1;
        signal_running(pool, SIGKILL);
        if (pool->cbs.running != NULL)
            pool->aux->ops->signal(pool->aux, pool->cbs.running, SIGKILL);
        return;
    }
    if (pool->stopping) {
        /* A drain or a halt turned into a stop. */
        pool->result->stop = PR_STOP_SIGNAL;
        pool->result->stop_signal = signum;
        drop_callbacks(pool, signum);
        signal_running(pool, signum);
        if (!pool->joined)
            uv_timer_start(&pool->kill_timer, on_kill_timer,
                           (uint64_t)(pool->cfg.kill_after * 1000), 0);
        return;
    }
    pool->result->stop_signal = signum;
    pr__pool_stop(pool, PR_STOP_SIGNAL, signum);
}

void
pr__pool_output_error(void *data, int err)
{
    struct pr_pool *pool = data;

    pool->result->output_error = err;
    if (!pool->stopping)
        pr__pool_stop(pool, PR_STOP_OUTPUT, SIGTERM);
}

/* SIGINT and SIGTERM mean now: output that waits for a slow or stuck
 * reader is dropped, so that poolrun can end (SIGHUP drains, keeping it).
 * The tasks have had their signal first. */
void
pr_pool_signal(struct pr_pool *pool, int signum)
{
    if (pool->closed)
        return;
    on_signal(pool, signum);
    if (signum != SIGHUP)
        pr_output_abandon(pool->output);
}

int
pr_pool_cancel(struct pr_pool *pool, struct pr_task *task, int sig)
{
    if (task->live) {
        /* Running: it ends as a task poolrun stopped, never retried. */
        if (pool->runner->ops->signal == NULL)
            return UV_ENOTSUP;
        pool->runner->ops->signal(pool->runner, task, sig);
        return 0;
    }
    if (task->attempt > 0 && !task->requeue) {
        pr_list_remove(&task->node); /* off the retry wait */
        pr__pool_record(pool, task);
        return 0;
    }
    pr_queue_remove(pool->queue, task);
    task->status = PR_TASK_SKIPPED;
    task->skip_why = "cancelled";
    pr__pool_record(pool, task);
    return 0;
}

void
pr_pool_skip(struct pr_pool *pool, struct pr_task *task, const char *why)
{
    task->seq = ++pool->next_seq;
    task->origin = pool->src;
    pr_queue_count(pool->queue);
    pr_batch_add(&pool->batch);
    task->status = PR_TASK_SKIPPED;
    task->skip_why = why;
    pr__pool_record(pool, task);
}
