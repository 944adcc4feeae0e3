/*
 * pool_run: the life of a run (see pool_int.h): making the pool and its
 * parts, starting them, the output's flow control, and the end of the run
 * in its order: workers get their sentinel, services their SIGTERM,
 * --on-join runs, escaped processes go, then the pool's handles close and
 * the caller hears it.
 */
#include "pool_int.h"

#include <stdlib.h>
#include <string.h>

#include "guard.h"
#include "reaper.h"
#include "sys.h"
#include "util.h"

static void before_output(void *data);
static void on_output_change(void *data);
static void want_output_flush(void *data);
/* The joblog and the results file, the first sinks of the records. */
static int
open_sinks(struct pr_pool *pool, const char **which)
{
    const struct pr_pool_config *cfg = &pool->cfg;
    int rc;

    pr_records_init(&pool->records);
    if (cfg->joblog != NULL && !cfg->joblog_stdout) {
        rc = pr_joblog_open(&pool->joblog.jl, cfg->joblog,
                            cfg->resume || cfg->joblog_append);
        if (rc != 0) {
            *which = "--joblog";
            return rc;
        }
    }
    if (cfg->results != NULL && cfg->results_dir) {
        rc = pr_results_dir_make(cfg->results);
        if (rc != 0) {
            *which = "--results";
            pr_joblog_close(pool->joblog.jl);
            return rc;
        }
    } else if (cfg->results != NULL) {
        rc = pr_results_open(&pool->results.r, cfg->results, cfg->resume,
                             cfg->results_limit);
        if (rc != 0) {
            *which = "--results";
            pr_joblog_close(pool->joblog.jl);
            return rc;
        }
        pool->results.grouped = cfg->output.mode == PR_OUT_GROUP;
        pr_records_add(&pool->records, &pr_results_sink_ops, &pool->results);
    }
    if (cfg->joblog != NULL && !cfg->joblog_stdout)
        pr_records_add(&pool->records, &pr_joblog_sink_ops, &pool->joblog);
    return 0;
}

/* --joblog -: a task's row follows its output on stdout.  A task that never
 * ran (skipped) and a service get none, as in the file. */
static void
joblog_trailer(void *data, const struct pr_task *task, struct pr_buf *b)
{
    (void)data;
    if (task->status == PR_TASK_SKIPPED || task->service)
        return;
    pr_joblog_row(b, task);
}

void
pr_pool_add_sink(struct pr_pool *pool, const struct pr_sink_ops *ops,
                 void *data)
{
    pr_records_add(&pool->records, ops, data);
}

int
pr_pool_new(struct pr_pool **out, uv_loop_t *loop,
            const struct pr_pool_config *cfg, const char **which)
{
    struct pr_pool *pool = pr_xcalloc(1, sizeof(*pool));
    int rc;

    pool->loop = loop;
    pool->cfg = *cfg;
    rc = open_sinks(pool, which);
    if (rc != 0) {
        free(pool);
        return rc;
    }
    pool->queue = pr_queue_new(cfg->queue_size, cfg->order);
    if (cfg->deps)
        pool->deps = pr_deps_new();
    pr_batch_init(&pool->batch);
    /* A dry run starts nothing: it has nothing to wait for. */
    if (!cfg->dry_run) {
        pool->gate.delay = cfg->delay;
        pool->gate.memfree = cfg->memfree;
        pool->gate.load = cfg->load;
    }
    if (cfg->progress != PR_PROGRESS_NONE || cfg->eta) {
        pool->progress = pr_progress_new(cfg->output.err_fd,
                                         cfg->progress != PR_PROGRESS_NONE
                                             ? cfg->progress
                                             : PR_PROGRESS_LINE,
                                         cfg->eta);
        pr_records_add(&pool->records, &pr_progress_sink_ops, pool->progress);
        if (pr_progress_is_bar(pool->progress)) {
            pool->cfg.output.before_write = before_output;
            pool->cfg.output.hook_data = pool;
        }
    }
    if (cfg->results != NULL && !cfg->results_dir)
        pool->cfg.output.head_limit = cfg->results_limit;
    pool->cfg.output.on_change = on_output_change;
    pool->cfg.output.want_flush = want_output_flush;
    pool->cfg.output.hook_data = pool;
    if (cfg->joblog_stdout)
        pool->cfg.output.task_trailer = joblog_trailer;
    pool->output =
        pr_output_new(&pool->cfg.output, pr__pool_output_error, pool);
    pr_list_init(&pool->running_list);
    pr_list_init(&pool->to_record);
    if (cfg->workers != NULL && !cfg->dry_run) {
        /* -j workers, each with up to --inflight tasks: that many slots. */
        if (pool->cfg.jobs == 0)
            pool->cfg.jobs = uv_available_parallelism();
        pool->cfg.jobs *= cfg->workers->inflight;
        cfg = &pool->cfg;
    }
    pr_slots_init(&pool->slots, cfg->jobs);
    pr_spawn_ctx_init(&pool->spawn, loop, cfg->shell, cfg->kill_after,
                      cfg->timeout);
    pr__pool_flow_up(pool);
    *out = pool;
    return 0;
}

void
pr_pool_free(struct pr_pool *pool)
{
    if (pool == NULL)
        return;
    /* A run that never closed (its loop was not run to the end). */
    pr_guard_stop(pool->spawn.guard);
    pr_batch_fini(&pool->batch);
    pr_queue_free(pool->queue);
    pr_deps_free(pool->deps); /* after the tasks' records: their reasons */
    pr_output_free(pool->output);
    pr_joblog_close(pool->joblog.jl);
    pr_results_close(pool->results.r);
    pr_records_free(&pool->records);
    pr_progress_free(pool->progress);
    pr_reaper_free(pool->reaper);
    pr_outwatch_free(pool->outwatch);
    if (pool->runner != NULL)
        pool->runner->ops->free(pool->runner);
    if (pool->aux != NULL)
        pool->aux->ops->free(pool->aux);
    pr_slots_free(&pool->slots);
    pr_spawn_ctx_free(&pool->spawn);
    free(pool);
}

static void
progress_counts(void *data, struct pr_progress_counts *c)
{
    const struct pr_pool *pool = data;

    /* Skipped tasks (--resume, a stop) are counted apart: "done" is what
     * ran, and the rate is not inflated by what never did. */
    c->skipped = pool->batch.tally.counts[PR_TASK_SKIPPED];
    c->done = pool->batch.tally.total - c->skipped;
    c->total = pool->input_ended ? pool->next_seq : 0;
    c->running = pool->slots.running;
    c->failed = pool->batch.tally.failed;
    c->elapsed = (double)(uv_now(pool->loop) - pool->started_ms) / 1000.0;
}

/* Output is about to reach the terminal: the bar steps aside. */
static void
before_output(void *data)
{
    struct pr_pool *pool = data;

    if (pool->progress != NULL)
        pr_progress_erase(pool->progress);
}

static void
close_timer(uv_timer_t *t)
{
    if (!uv_is_closing((uv_handle_t *)t))
        uv_close((uv_handle_t *)t, NULL);
}

/* What the run's result takes from the parts at the end. */
static void
fill_result(struct pr_pool *pool)
{
    struct pr_pool_result *res = pool->result;

    res->tally = pool->batch.tally;
    res->escapees = pr_reaper_escapees(pool->reaper);
    res->joblog_error = pool->joblog.error;
    res->results_error = pool->results.error;
    res->callbacks = pool->cbs.ran;
    res->callbacks_failed = pool->cbs.failed;
    /* Every process is gone: the guardian has nothing left to watch. */
    pr_guard_stop(pool->spawn.guard);
    pool->spawn.guard = NULL;
}

static void
close_own_handles(struct pr_pool *pool)
{
    pr_output_flush_batch(pool->output);
    if (pr_output_busy(pool->output)) {
        /* The reader is slow, not gone: the run ends once it has it all
         * (on_output_change), or on SIGINT or SIGTERM. */
        pool->close_on_drain = 1;
        return;
    }
    pool->close_on_drain = 0;
    if (pool->closed)
        return;
    pool->closed = 1;
    close_timer(&pool->kill_timer);
    pr_later_close(&pool->retries);
    pr_reaper_close(pool->reaper);
    pr_services_close(&pool->services);
    close_timer(&pool->gate_timer);
    if (!uv_is_closing((uv_handle_t *)&pool->out_flush))
        uv_close((uv_handle_t *)&pool->out_flush, NULL);
    if (!uv_is_closing((uv_handle_t *)&pool->slice_idle))
        uv_close((uv_handle_t *)&pool->slice_idle, NULL);
    pr_progress_close(pool->progress);
    pr_outwatch_close(pool->outwatch);
    fill_result(pool);
    if (pool->close_done != NULL)
        pool->close_done(pool->close_data);
}

/* Is pid a process poolrun started and still watches (a task, a service,
 * a callback, a worker)?  Anything else among its children was adopted:
 * it left a task's process group and its parent died. */
static int
is_ours(void *data, int pid)
{
    struct pr_pool *pool = data;

    if (pr_pool_owns_pid(pool, pid))
        return 1;
    /* Other pools of the same process (the queue service's) wait for
     * their own. */
    return pool->cfg.owns_pid != NULL &&
           pool->cfg.owns_pid(pool->cfg.event_data, pid);
}

int
pr_pool_owns_pid(const struct pr_pool *pool, int pid)
{
    if (pool->runner == NULL)
        return 0;
    if (pid == pr_guard_pid(pool->spawn.guard))
        return 1;
    return pool->runner->ops->owns_pid(pool->runner, pid) ||
           pool->aux->ops->owns_pid(pool->aux, pid);
}

static void
on_reaped(void *data)
{
    close_own_handles(data);
}

/* Every task has ended: processes that escaped their tasks' groups go
 * before the pool's own handles close. */
void
pr__pool_finish(struct pr_pool *pool)
{
    pr_reaper_finish(pool->reaper, on_reaped, pool);
}

static void
on_runner_down(void *data)
{
    struct pr_pool *pool = data;

    pool->runner_down = 1;
    pr__pool_close_step(pool);
}

/* One step of the end of the run, each after the one before it is over. */
void
pr__pool_close_step(struct pr_pool *pool)
{
    /* Workers get their sentinel once every task is done. */
    if (pool->runner->ops->shutdown != NULL && !pool->runner_down) {
        pool->runner->ops->shutdown(pool->runner, on_runner_down, pool);
        return;
    }
    /* Services end once every other task has. */
    if (pr_services_stop(&pool->services))
        return;
    /* --on-join: once the batch is over, unless poolrun was told to stop
     * now; the pool's own handles close when it has ended. */
    if (pool->cfg.on_join != NULL && !pool->cbs.dropped && !pool->cbs.off) {
        pr_callbacks_join(&pool->cbs, pool->cfg.on_join,
                          pool->batch.tally.counts, pool->batch.tally.total);
        return;
    }
    pr__pool_finish(pool);
}

void
pr_pool_close(struct pr_pool *pool, void (*done)(void *), void *data)
{
    if (pool->joined)
        return;
    pool->joined = 1;
    pool->close_done = done;
    pool->close_data = data;
    pr__pool_close_step(pool);
}

struct pr_batch *
pr_pool_batch(struct pr_pool *pool)
{
    return &pool->batch;
}

int
pr_pool_set_jobs(struct pr_pool *pool, unsigned jobs)
{
    if (pool->cfg.workers != NULL || jobs == 0 || pool->slots.jobs == 0)
        return UV_ENOTSUP;
    pr_slots_set_jobs(&pool->slots, jobs);
    pool->cfg.jobs = jobs;
    if (!pool->joined)
        pr__pool_schedule(pool);
    return 0;
}

unsigned
pr_pool_jobs(const struct pr_pool *pool)
{
    const struct pr_slots *s = &pool->slots;

    return s->throttle != 0 && (s->jobs == 0 || s->throttle < s->jobs)
               ? s->throttle
               : s->jobs;
}

void
pr_pool_each_running(struct pr_pool *pool,
                     void (*fn)(void *data, const struct pr_task *task),
                     void *data)
{
    struct pr_list *n;

    for (n = pool->running_list.next; n != &pool->running_list; n = n->next)
        fn(data, PR_CONTAINER_OF(n, struct pr_task, node));
}

void
pr_pool_each_aside(struct pr_pool *pool,
                   void (*fn)(void *data, const struct pr_task *task),
                   void *data)
{
    struct pr_list *n;

    for (n = pool->services.list.next; n != &pool->services.list; n = n->next)
        fn(data, PR_CONTAINER_OF(n, struct pr_task, node));
    if (pool->cbs.running != NULL)
        fn(data, pool->cbs.running);
}

/* Tasks that were not read while the output waited are read again. */
static void
resume_paused(struct pr_pool *pool)
{
    struct pr_list *n;
    int still = 0;

    if (!pool->paused_any)
        return;
    pool->paused_any = 0;
    if (pool->runner->ops->resume != NULL)
        for (n = pool->running_list.next; n != &pool->running_list; n = n->next)
            still |= pool->runner->ops->resume(
                pool->runner, PR_CONTAINER_OF(n, struct pr_task, node));
    still |= pr_services_resume(&pool->services);
    if (pool->aux->ops->resume != NULL && pool->cbs.running != NULL)
        still |= pool->aux->ops->resume(pool->aux, pool->cbs.running);
    pool->paused_any |= still;
}

/* The runners are chosen once, here. */
static void
make_runners(struct pr_pool *pool)
{
    const struct pr_pool_config *cfg = &pool->cfg;

    if (cfg->dry_run) {
        pool->runner = pr_runner_dry_new(&pool->spawn, &pool->up);
        pool->aux = pr_runner_dry_new(&pool->spawn, &pool->up);
        pr_callbacks_init(&pool->cbs, pool->aux);
        pool->cbs.off = 1;
        return;
    }
    pool->aux = pr_runner_spawn_new(&pool->spawn, &pool->up);
    pr_callbacks_init(&pool->cbs, pool->aux);
    pool->cbs.on_done = cfg->on_done;
    pool->cbs.on_fail = cfg->on_fail;
    pool->cbs.with_stdout = cfg->output.mode == PR_OUT_GROUP;
    if (cfg->runner_new != NULL)
        pool->runner =
            cfg->runner_new(&pool->spawn, &pool->up, cfg->runner_data);
    else if (cfg->workers != NULL)
        pool->runner =
            pr_runner_workers_new(&pool->spawn, &pool->up, cfg->workers,
                                  cfg->jobs / cfg->workers->inflight);
    else
        pool->runner = pr_runner_spawn_new(&pool->spawn, &pool->up);
}

static void
on_out_flush(uv_prepare_t *h)
{
    struct pr_pool *pool = h->data;

    uv_prepare_stop(h);
    pr_output_flush_batch(pool->output);
}

/* Small grouped output that tasks left in this loop turn goes out in one
 * write, before the loop next waits. */
static void
want_output_flush(void *data)
{
    struct pr_pool *pool = data;

    if (!uv_is_closing((uv_handle_t *)&pool->out_flush))
        uv_prepare_start(&pool->out_flush, on_out_flush);
}

static void
on_output_change(void *data)
{
    struct pr_pool *pool = data;

    pr_outwatch_arm(pool->outwatch);
    if (pr_output_busy(pool->output))
        return;
    resume_paused(pool);
    if (pool->close_on_drain)
        close_own_handles(pool);
}

/* The output went on: a task held back while it was congested may start.
 * (A pipe behind stdout that lost its reader stops the run at once, through
 * pr__pool_output_error, even if no task is writing.) */
static void
output_moved(void *data)
{
    struct pr_pool *pool = data;

    if (pool->output_gated && !pr_output_congested(pool->output)) {
        pool->output_gated = 0;
        pr__pool_schedule(pool);
    }
}

/* A task holds three descriptors while it runs (its stdout and stderr
 * pipes, its pidfd): -j 2000 needs 6,000, past the usual soft limit of
 * 1,024.  Where the hard limit allows no more, starts fail with EMFILE
 * and the pool runs as many as it could (pr_slots_throttle), saying so. */
static void
make_room_for_files(const struct pr_pool *pool)
{
    uint64_t jobs = pool->cfg.jobs != 0 ? pool->cfg.jobs : 20000;

    (void)pr_sys_files_want(jobs * 3 + 64);
}

static void
init_timer(struct pr_pool *pool, uv_timer_t *t)
{
    uv_timer_init(pool->loop, t);
    t->data = pool;
}

int
pr_pool_start(struct pr_pool *pool, struct pr_source *src,
              struct pr_pool_result *result)
{
    int rc;

    memset(result, 0, sizeof(*result));
    pool->result = result;
    pool->src = src;
    init_timer(pool, &pool->kill_timer);
    pr__pool_flow_start(pool);
    init_timer(pool, &pool->gate_timer);
    uv_prepare_init(pool->loop, &pool->out_flush);
    pool->out_flush.data = pool;
    pr__pool_slice_init(pool);
    pool->reaper =
        pr_reaper_new(pool->loop, pool->cfg.kill_after, is_ours, pool);
    pool->started_ms = uv_now(pool->loop);
    if (pool->progress != NULL)
        pr_progress_start(pool->progress, pool->loop, progress_counts, pool);
    pool->outwatch =
        pr_outwatch_new(pool->loop, pool->output, output_moved, pool);
    pr_outwatch_arm(pool->outwatch);
    /* Without the guard (no memfd), the parent-death signal still ends
     * each task's main process. */
    if (!pool->cfg.dry_run)
        (void)pr_guard_start(&pool->spawn.guard, pool->cfg.kill_after);
    make_runners(pool);
    if (!pool->cfg.dry_run)
        make_room_for_files(pool);
    pr_services_init(&pool->services, pool->loop, pool->aux,
                     pool->cfg.kill_after);
    pool->starting = 1;
    rc = pr_source_start(src, &pool->intake);
    pool->starting = 0;
    /* Here, not in pr_pool_new: a stdout that cannot be written stops
     * the run, which needs its result and a started source.  No task
     * has written yet (that waits for the loop). */
    if (pool->cfg.joblog_stdout)
        pr_output_write(pool->output, 1, pr_joblog_header,
                        strlen(pr_joblog_header));
    if (rc != 0) {
        pool->input_ended = 1;
        result->input_error = rc;
        pr__pool_input_over(pool);
    }
    pr__pool_schedule(pool);
    return rc;
}
