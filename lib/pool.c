/*
 * pool: slots, scheduling, final records and shutdown.  Everything runs on
 * one loop thread.  A task's end always arrives from a close callback
 * (up->ended), never from inside pr_pool_put, so sources and the
 * scheduler are never re-entered.  The run ends when the input has ended
 * and the queue's join fires; then the pool closes its own handles and
 * uv_run returns.
 */
#include "pool.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "attempt.h"
#include "batch.h"
#include "callback.h"
#include "command.h"
#include "gate.h"
#include "guard.h"
#include "runner.h"
#include "joblog.h"
#include "later.h"
#include "records.h"
#include "outwatch.h"
#include "progress.h"
#include "results.h"
#include "reaper.h"
#include "services.h"
#include "slots.h"
#include "sys.h"
#include "util.h"


struct pr_pool {
    uv_loop_t *loop;
    struct pr_pool_config cfg;
    struct pr_queue *queue;
    struct pr_output *output;
    struct pr_records records;  /* where the records go */
    struct pr_joblog_sink joblog;
    struct pr_results_sink results;
    struct pr_source *src;
    struct pr_intake intake; /* what src sees of the pool */
    struct pr_pool_result *result;
    struct pr_spawn_ctx spawn;
    uint64_t next_seq;
    unsigned live;    /* of those, the ones whose process started */
    struct pr_list running_list;
    struct pr_slots slots;
    uv_timer_t kill_timer;
    struct pr_later retries; /* tasks waiting to run again */
    struct pr_outwatch *outwatch; /* stdout, stderr: room again */
    int output_gated;          /* a task waits for the output to shrink */
    int paused_any;            /* tasks are not read until it has */
    int close_on_drain;        /* the run is over once the output is out */
    int closed;                /* close_own_handles has closed them */
    int input_ended;
    int stopping; /* no task starts any more */
    int killing;  /* SIGKILL has been sent to every group */
    int input_told; /* on_input_end has been called */
    int joined;     /* pr_pool_close has been called: */
    void (*close_done)(void *); /* called once the pool has closed */
    void *close_data;
    int halted;
    uv_timer_t gate_timer;     /* --delay, --memfree, --load: check again */
    struct pr_gate gate;       /* --delay, --memfree, --load */
    struct pr_progress *progress;
    uint64_t started_ms;       /* uv_now() when the run began */
    struct pr_runner *runner;   /* runs the tasks */
    struct pr_runner *aux;      /* runs services and callbacks */
    struct pr_runner_up up;     /* what the runners call */
    int runner_down;            /* the runner has ended what it kept */
    struct pr_reaper *reaper;   /* processes that escaped a task's group */
    struct pr_services services; /* "daemon": true */
    struct pr_callbacks cbs;    /* --on-done, --on-fail, --on-join */
    struct pr_list to_record; /* final records waiting for the one being
                                 made (see record()) */
    int recording;
    struct pr_batch batch; /* the run's tasks: their count, tally, join */
};


static void on_output_error(void *data, int err);
static void on_output_change(void *data);
static void before_output(void *data);
static void fill_up(struct pr_pool *pool);

/* The joblog and the results file, the first sinks of the records. */
static int
open_sinks(struct pr_pool *pool, const char **which)
{
    const struct pr_pool_config *cfg = &pool->cfg;
    int rc;

    pr_records_init(&pool->records);
    if (cfg->joblog != NULL) {
        rc = pr_joblog_open(&pool->joblog.jl, cfg->joblog, cfg->resume);
        if (rc != 0) {
            *which = "--joblog";
            return rc;
        }
    }
    if (cfg->results != NULL) {
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
    if (cfg->joblog != NULL)
        pr_records_add(&pool->records, &pr_joblog_sink_ops, &pool->joblog);
    return 0;
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
    pr_batch_init(&pool->batch);
    pool->gate.delay = cfg->delay;
    pool->gate.memfree = cfg->memfree;
    pool->gate.load = cfg->load;
    if (cfg->progress) {
        pool->progress = pr_progress_new(cfg->output.err_fd);
        pr_records_add(&pool->records, &pr_progress_sink_ops, pool->progress);
        if (pr_progress_is_bar(pool->progress)) {
            pool->cfg.output.before_write = before_output;
            pool->cfg.output.hook_data = pool;
        }
    }
    if (cfg->results != NULL)
        pool->cfg.output.head_limit = cfg->results_limit;
    pool->cfg.output.on_change = on_output_change;
    pool->cfg.output.hook_data = pool;
    pool->output = pr_output_new(&pool->cfg.output, on_output_error, pool);
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
    fill_up(pool);
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

/* Out of processes or descriptors for now, not for good. */
static int
transient_error(int err)
{
    return err == UV_EAGAIN || err == UV_EMFILE || err == UV_ENFILE ||
           err == UV_ENOMEM;
}

/* A task that could not start only because the system is at a limit
 * (processes, descriptors) while other tasks run goes back to the front of
 * the queue, and the pool runs no more tasks than now until one ends: the
 * limit sets the parallelism, as -j would. */
static int
retry_later(struct pr_pool *pool, struct pr_task *task)
{
    if (!transient_error(task->error) || pool->live == 0 || pool->stopping)
        return 0;
    if (pr_slots_throttle(&pool->slots, pool->live) &&
        pool->cfg.on_throttle != NULL)
        pool->cfg.on_throttle(pool->cfg.event_data, task->error, pool->live);
    task->error = 0;
    task->error_what = NULL;
    task->start_ns = 0;
    task->start_wall = 0;
    task->pid = 0;
    task->slot = 0;
    task->attempt--; /* that was no attempt */
    pr_attempt_undo(task); /* a retry: back to the attempt before */
    pr_queue_unget(pool->queue, task);
    return 1;
}

static void
progress_counts(void *data, struct pr_progress_counts *c)
{
    const struct pr_pool *pool = data;

    c->done = pool->batch.tally.total;
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
    pr_progress_close(pool->progress);
    pr_outwatch_close(pool->outwatch);
    fill_result(pool);
    if (pool->close_done != NULL)
        pool->close_done(pool->close_data);
}

static void close_step(struct pr_pool *pool);
static void task_done(struct pr_pool *pool);
static void service_ended(struct pr_pool *pool, struct pr_task *task);

/* Is pid a process poolrun started and still watches (a task, a service,
 * a callback, a worker)?  Anything else among its children was adopted:
 * it left a task's process group and its parent died. */
static int
is_ours(void *data, int pid)
{
    struct pr_pool *pool = data;

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
static void
finish(struct pr_pool *pool)
{
    pr_reaper_finish(pool->reaper, on_reaped, pool);
}

static void
on_runner_down(void *data)
{
    struct pr_pool *pool = data;

    pool->runner_down = 1;
    close_step(pool);
}

/* One step of the end of the run, each after the one before it is over. */
static void
close_step(struct pr_pool *pool)
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
    finish(pool);
}

static void
callback_ended(struct pr_pool *pool, struct pr_task *cb)
{
    int join = strcmp(cb->callback, "on_join") == 0;

    pr_callbacks_ended(&pool->cbs, cb);
    pr_records_callback_done(&pool->records, cb);
    pr_output_finish_now(pool->output, cb);
    if (join) {
        finish(pool);
        return;
    }
    /* Its task is done only now: join waits for every callback. */
    task_done(pool);
    pr_callbacks_next(&pool->cbs);
}

/* Stopped now (SIGINT, SIGTERM, stdout closed): callbacks that wait are
 * dropped, the running one gets the signal. */
static void
drop_callbacks(struct pr_pool *pool, int sig)
{
    unsigned n = pr_callbacks_drop(&pool->cbs, sig);

    while (n-- > 0)
        task_done(pool);
}

void
pr_pool_close(struct pr_pool *pool, void (*done)(void *), void *data)
{
    if (pool->joined)
        return;
    pool->joined = 1;
    pool->close_done = done;
    pool->close_data = data;
    close_step(pool);
}

struct pr_batch *
pr_pool_batch(struct pr_pool *pool)
{
    return &pool->batch;
}

/* No more tasks will come: the caller hears it once. */
static void
input_over(struct pr_pool *pool)
{
    if (!pool->input_ended || pool->input_told)
        return;
    pool->input_told = 1;
    if (pool->cfg.on_input_end != NULL)
        pool->cfg.on_input_end(pool->cfg.event_data);
}

/* One task (or its callback) is done. */
static void
task_done(struct pr_pool *pool)
{
    pr_queue_task_done(pool->queue);
    pr_batch_done(&pool->batch);
}

static void stop(struct pr_pool *pool, enum pr_pool_stop why, int sig);

static const char *
stop_reason(const struct pr_pool *pool)
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
static void
check_halt(struct pr_pool *pool, const struct pr_task *task)
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
    if (pool->stopping || pool->joined) {
        /* Already draining or stopping: the halt only names the status. */
        if (pool->result->stop == PR_STOP_NONE ||
            pool->result->stop == PR_STOP_DRAIN)
            pool->result->stop = PR_STOP_HALT;
        return;
    }
    stop(pool, PR_STOP_HALT, h->when == PR_HALT_NOW ? SIGTERM : 0);
}

/* One final record: counts, results, joblog, the caller's hook, then the
 * output (which frees the task when it has been emitted) and the task's
 * callback.  Emitting the output or reaching --halt may stop the run; that
 * stop's own records wait on pool->to_record (see record()). */
static void
record_one(struct pr_pool *pool, struct pr_task *task)
{
    struct pr_task *cb;
    struct pr_task copy;

    if (task->end_ns == 0)
        task->end_ns = task->start_ns ? uv_hrtime() : 0;
    if (task->status == PR_TASK_SKIPPED && task->skip_why == NULL)
        task->skip_why = stop_reason(pool);
    pr_batch_tally(&pool->batch, task);
    pr_records_final(&pool->records, task);
    /* Every sink has it: its source may acknowledge it. */
    if (task->origin != NULL)
        pr_source_ended(task->origin, task);
    cb = pr_callbacks_make(&pool->cbs, task);
    /* What halt needs of the task outlives it. */
    copy = *task;
    pr_output_finish(pool->output, task);
    /* The output may have failed and stopped the run: a stop drops the
     * callbacks, this one too, though it was made before. */
    if (cb == NULL || !pr_callbacks_queue(&pool->cbs, cb))
        task_done(pool);
    check_halt(pool, &copy);
}

/* The one place a final record is made.  It never runs inside itself: a
 * record made while another is being made (a stop it caused records the
 * tasks that wait) waits its turn on pool->to_record. */
static void
record(struct pr_pool *pool, struct pr_task *task)
{
    pr_list_insert_before(&pool->to_record, &task->node);
    if (pool->recording)
        return;
    pool->recording = 1;
    while (!pr_list_empty(&pool->to_record)) {
        struct pr_task *t =
            PR_CONTAINER_OF(pool->to_record.next, struct pr_task, node);

        pr_list_remove(&t->node);
        record_one(pool, t);
    }
    pool->recording = 0;
}

/* With --keep-order, finished tasks wait in memory for the oldest one.
 * Starting no task further than a window past it bounds that memory when
 * one task is slow and the rest are fast. */
static int
too_far_ahead(const struct pr_pool *pool, const struct pr_task *next)
{
    const struct pr_output_options *o = &pool->cfg.output;
    uint64_t window = (uint64_t)pool->cfg.queue_size + pool->cfg.jobs;

    if (!o->keep_order || o->mode != PR_OUT_GROUP || pool->cfg.queue_size == 0)
        return 0;
    return next->seq >= pr_output_next_seq(pool->output) + window;
}

/* -k streams the oldest task's output as it comes, unless this attempt
 * may be retried (its output would then be dropped) or a callback will
 * read it. */
static int
must_hold_output(const struct pr_pool *pool, const struct pr_task *task)
{
    const struct pr_task_spec *spec = task->spec;

    if (task->attempt <= (unsigned)pr_retry_allowed(&pool->cfg.retry, task))
        return 1;
    if (pool->cfg.on_done != NULL || pool->cfg.on_fail != NULL)
        return 1;
    return spec != NULL && (spec->on_done != NULL || spec->on_fail != NULL);
}

/* The retry has begun: its last attempt goes to the results, its output
 * is dropped (only the last attempt's output is shown). */
static void
commit_retry(struct pr_pool *pool, struct pr_task *task)
{
    struct pr_task view;

    if (!pr_attempt_view(task, &view))
        return;
    pr_records_attempt(&pool->records, &view);
    pr_output_discard(pool->output, &view);
    pr_attempt_drop(task, &view);
    pool->result->retried++;
}

static void schedule(struct pr_pool *pool);

static void
on_gate_timer(uv_timer_t *timer)
{
    schedule(timer->data);
}

static uint64_t
probe_free_memory(void)
{
    return uv_get_free_memory();
}

static double
probe_load1(void)
{
    double avg[3];

    uv_loadavg(avg);
    return avg[0];
}

static const struct pr_gate_probe machine = {probe_free_memory, probe_load1};

/* May a task start now?  If not, a timer asks again. */
static int
gate_open(struct pr_pool *pool)
{
    uint64_t wait;

    /* Output waits for a slow reader: memory and spill files stay bounded
     * by starting nothing more until it has shrunk (output_moved). */
    if (pr_output_congested(pool->output)) {
        pool->output_gated = 1;
        return 0;
    }
    if (!pr_gate_active(&pool->gate))
        return 1;
    /* The clock, not the loop's cached time: starts are at least --delay
     * apart however long this loop turn has taken. */
    wait = pr_gate_wait(&pool->gate, uv_hrtime(), &machine);
    if (wait != 0)
        uv_timer_start(&pool->gate_timer, on_gate_timer, wait, 0);
    return wait == 0;
}

static void
schedule(struct pr_pool *pool)
{
    while (!pool->stopping && pr_slots_open(&pool->slots)) {
        struct pr_task *task = pr_queue_peek(pool->queue);

        if (task == NULL || too_far_ahead(pool, task))
            break;
        if (!(pool->cfg.resume_done != NULL && task->attempt == 0 &&
              pr_seqset_has(pool->cfg.resume_done, task->seq)) &&
            !gate_open(pool))
            break;
        pr_queue_get(pool->queue);
        if (task->attempt == 0 && pool->cfg.resume_done != NULL &&
            pr_seqset_has(pool->cfg.resume_done, task->seq)) {
            /* Done in an earlier run (--resume). */
            task->status = PR_TASK_SKIPPED;
            task->skip_why = "resume";
            pool->result->resumed++;
            record(pool, task);
            continue;
        }
        if (task->requeue) {
            /* The attempt it was handed over for never ran: it begins now,
             * and the attempt before it is already in the results. */
            task->requeue = 0;
        } else {
            if (task->attempt > 0)
                pr_attempt_stash(task, pool->cfg.command != NULL &&
                                           task->nitems > 0);
            task->attempt++;
        }
        task->no_stream = must_hold_output(pool, task);
        task->slot = pr_slots_take(&pool->slots);
        pr_list_insert_before(&pool->running_list, &task->node);
        pr_command_build(task, pool->cfg.command, pool->cfg.tag);
        if (pool->runner->ops->start(pool->runner, task) != 0)
            break; /* it failed: try no more until something ends */
        task->live = 1;
        /* --delay counts from when the task really started, which a slow
         * spawn puts after the gate opened. */
        pr_gate_started(&pool->gate, task->start_ns);
        commit_retry(pool, task);
        pool->live++;
    }
}

/* The runner that runs task. */
static struct pr_runner *
runner_of(const struct pr_pool *pool, const struct pr_task *task)
{
    return task->callback != NULL || task->service ? pool->aux : pool->runner;
}

static void
up_output(void *data, struct pr_task *task, int stream, const char *p,
          size_t n)
{
    struct pr_pool *pool = data;

    if (pool->results.r != NULL && pool->cfg.output.mode != PR_OUT_GROUP) {
        /* The output goes out as it comes: keep its head for the record. */
        struct pr_buf *h = &task->head[stream == 2];
        size_t room = pool->cfg.results_limit - h->len;

        if (h->len < pool->cfg.results_limit)
            pr_buf_append(h, p, n < room ? n : room);
    }
    if (pr_output_data(pool->output, task, stream, p, n)) {
        struct pr_runner *r = runner_of(pool, task);

        /* stdout is full: the task waits in its own write meanwhile. */
        if (r->ops->pause != NULL) {
            r->ops->pause(r, task, stream);
            pool->paused_any = 1;
        }
    }
}

static int
up_splice(void *data, struct pr_task *task, int stream, int fd)
{
    struct pr_pool *pool = data;

    /* A results file keeps the head of what goes out as it comes. */
    if (pool->results.r != NULL)
        return 0;
    return pr_output_splice(pool->output, task, stream, fd);
}

/* A worker died holding this task, not at its fault: it runs again, and
 * that is no attempt of its own. */
static void
requeue(struct pr_pool *pool, struct pr_task *task)
{
    pr_output_discard(pool->output, task);
    if (pool->stopping) {
        task->requeue = 0;
        task->status = PR_TASK_SKIPPED;
        record(pool, task);
        return;
    }
    /* It keeps its attempt number and task->requeue until it starts
     * again: were it counted down, a retry would be taken for one that
     * has ended, and its last attempt recorded twice (see schedule()). */
    task->pid = 0;
    task->start_ns = 0;
    task->start_wall = 0;
    task->slot = 0;
    pr_queue_unget(pool->queue, task);
    schedule(pool);
}

/* A due retry goes to the front of the queue. */
static void
retry_due(void *data, struct pr_task *task)
{
    struct pr_pool *pool = data;

    pr_queue_unget(pool->queue, task);
}

static void
retries_done(void *data)
{
    schedule(data);
}

/* The task waits --retry-delay (grown by the factor per attempt) off the
 * slots; the attempt keeps its output until the next one begins. */
static void
retry(struct pr_pool *pool, struct pr_task *task)
{
    double wait = pr_retry_wait(&pool->cfg.retry, task->attempt);

    /* Its record and output wait until the next attempt has begun: a stop
     * before that makes this attempt the final one. */
    task->end_ns = task->start_ns ? uv_hrtime() : 0;
    /* The factor may grow the wait past any range: the conversion clamps. */
    pr_later_add(&pool->retries, task, pr_seconds_to_ms(wait));
}

static void
up_ended(void *data, struct pr_task *task)
{
    struct pr_pool *pool = data;

    if (task->callback != NULL) {
        callback_ended(pool, task);
        return;
    }
    if (task->service) {
        service_ended(pool, task);
        return;
    }
    pr_list_remove(&task->node);
    if (task->live)
        pool->live--;
    task->live = 0;
    pr_slots_give(&pool->slots, task->slot);
    if (task->requeue) {
        requeue(pool, task);
        return;
    }
    if (retry_later(pool, task))
        return;
    /* A retry that failed to start is still an attempt of its own. */
    commit_retry(pool, task);
    task->status = pr_task_final_status(task);
    if (!pool->stopping && pr_retry_wanted(&pool->cfg.retry, task))
        retry(pool, task);
    else
        record(pool, task);
    if (pool->joined)
        return;
    schedule(pool);
    if (!pool->stopping && pr_pool_accepting(pool) && pool->src != NULL &&
        !pool->input_ended)
        pool->src->ops->resume(pool->src);
}

int
pr_pool_accepting(const struct pr_pool *pool)
{
    return !pool->stopping && !pr_queue_full(pool->queue);
}

/* A service has ended.  One that failed is shown, and --halt counts it. */
static void
service_ended(struct pr_pool *pool, struct pr_task *task)
{
    struct pr_pool_result *res = pool->result;
    int last = pr_services_ended(&pool->services, task, pool->stopping);

    pr_records_final(&pool->records, task);
    if (task->status != PR_TASK_OK) {
        struct pr_task copy = *task;

        res->services_failed++;
        pr_batch_tally_failure(&pool->batch, task);
        pr_output_finish_now(pool->output, task);
        check_halt(pool, &copy);
    } else {
        pr_output_discard(pool->output, task);
        pr_task_free(task);
    }
    if (last && pool->joined)
        close_step(pool);
}

void
pr_pool_put(struct pr_pool *pool, struct pr_task *task)
{
    int rc;

    if (task->spec != NULL && task->spec->daemon) {
        pr_command_build(task, pool->cfg.command, pool->cfg.tag);
        pr_services_start(&pool->services, task);
        return;
    }
    task->seq = ++pool->next_seq;
    rc = pr_queue_put(pool->queue, task);
    /* Sources check pr_pool_accepting first, so the queue has room. */
    if (rc != 0)
        abort();
    pr_batch_add(&pool->batch);
    schedule(pool);
}

void
pr_pool_input_end(struct pr_pool *pool, int err)
{
    if (pool->input_ended)
        return;
    pool->input_ended = 1;
    if (err != 0 && pool->result->input_error == 0)
        pool->result->input_error = err;
    input_over(pool);
}

void
pr_pool_input_fail(struct pr_pool *pool, const char *msg)
{
    if (pool->result->input_msg[0] == '\0')
        snprintf(pool->result->input_msg, sizeof(pool->result->input_msg),
                 "%s", msg);
    pr_pool_input_end(pool, UV_EINVAL);
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
static void
stop(struct pr_pool *pool, enum pr_pool_stop why, int sig)
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
        record(pool, task);
    while ((task = pr_queue_get(pool->queue)) != NULL) {
        if (task->attempt > 0 && !task->requeue) {
            record(pool, task); /* a retry that was due: as above */
            continue;
        }
        /* A source that can take it back (a durable queue) has it to hand
         * to someone else; the pool records nothing of it. */
        if (task->origin != NULL && pr_source_requeue(task->origin, task)) {
            task_done(pool);
            continue;
        }
        task->status = PR_TASK_SKIPPED;
        record(pool, task);
    }
    if (why == PR_STOP_SIGNAL || why == PR_STOP_OUTPUT || why == PR_STOP_FATAL)
        drop_callbacks(pool, sig);
    if (sig != 0) {
        signal_running(pool, sig);
        if (!pool->joined)
            uv_timer_start(&pool->kill_timer, on_kill_timer,
                           (uint64_t)(pool->cfg.kill_after * 1000), 0);
    }
    input_over(pool);
}

static void
on_signal(struct pr_pool *pool, int signum)
{
    if (signum == SIGHUP) {
        stop(pool, PR_STOP_DRAIN, 0);
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
    stop(pool, PR_STOP_SIGNAL, signum);
}

static void
up_worker_started(void *data)
{
    struct pr_pool *pool = data;

    pool->result->workers_started++;
}

static void
up_worker_exit(void *data, const struct pr_worker_exit *e)
{
    struct pr_pool *pool = data;

    if (e->at_shutdown && !e->clean)
        pool->result->workers_bad_exit++;
    if (pool->cfg.on_worker_exit != NULL)
        pool->cfg.on_worker_exit(pool->cfg.event_data, e);
}

void
pr_pool_message(struct pr_pool *pool, const char *p, size_t n)
{
    pr_output_write(pool->output, 2, p, n);
}

static void
up_message(void *data, const char *p, size_t n)
{
    struct pr_pool *pool = data;

    pr_output_write(pool->output, 2, p, n);
}

static void
up_failed(void *data, const char *msg)
{
    struct pr_pool *pool = data;

    if (pool->result->fatal_msg[0] == '\0')
        snprintf(pool->result->fatal_msg, sizeof(pool->result->fatal_msg),
                 "%s", msg);
    if (!pool->stopping)
        stop(pool, PR_STOP_FATAL, SIGTERM);
}

static void
on_output_error(void *data, int err)
{
    struct pr_pool *pool = data;

    pool->result->output_error = err;
    if (!pool->stopping)
        stop(pool, PR_STOP_OUTPUT, SIGTERM);
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
        for (n = pool->running_list.next; n != &pool->running_list;
             n = n->next)
            still |= pool->runner->ops->resume(
                pool->runner, PR_CONTAINER_OF(n, struct pr_task, node));
    still |= pr_services_resume(&pool->services);
    if (pool->aux->ops->resume != NULL && pool->cbs.running != NULL)
        still |= pool->aux->ops->resume(pool->aux, pool->cbs.running);
    pool->paused_any |= still;
}

static int
up_output_busy(void *data)
{
    struct pr_pool *pool = data;

    return pr_output_busy(pool->output);
}

static void
fill_up(struct pr_pool *pool)
{
    pool->up.data = pool;
    pool->up.output = up_output;
    pool->up.splice = up_splice;
    pool->up.output_busy = up_output_busy;
    pool->up.ended = up_ended;
    pool->up.message = up_message;
    pool->up.worker_started = up_worker_started;
    pool->up.worker_exit = up_worker_exit;
    pool->up.failed = up_failed;
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
    if (cfg->workers != NULL)
        pool->runner = pr_runner_workers_new(
            &pool->spawn, &pool->up, cfg->workers,
            cfg->jobs / cfg->workers->inflight);
    else
        pool->runner = pr_runner_spawn_new(&pool->spawn, &pool->up);
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
 * on_output_error, even if no task is writing.) */
static void
output_moved(void *data)
{
    struct pr_pool *pool = data;

    if (pool->output_gated && !pr_output_congested(pool->output)) {
        pool->output_gated = 0;
        schedule(pool);
    }
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

/* The intake the source is started with: its calls go to the
 * pr_pool_put family. */
static int
intake_accepting(void *data)
{
    return pr_pool_accepting(data);
}

static void
intake_put(void *data, struct pr_task *task)
{
    struct pr_pool *pool = data;

    task->origin = pool->src;
    pr_pool_put(pool, task);
}

static void
intake_end(void *data, int err)
{
    pr_pool_input_end(data, err);
}

static void
intake_fail(void *data, const char *msg)
{
    pr_pool_input_fail(data, msg);
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
    pr_later_init(&pool->retries, pool->loop, retry_due, retries_done, pool);
    init_timer(pool, &pool->gate_timer);
    pool->reaper =
        pr_reaper_new(pool->loop, pool->cfg.kill_after, is_ours, pool);
    pool->started_ms = uv_now(pool->loop);
    if (pool->progress != NULL)
        pr_progress_start(pool->progress, pool->loop, progress_counts, pool);
    pool->outwatch = pr_outwatch_new(pool->loop, pool->output, output_moved,
                                     pool);
    pr_outwatch_arm(pool->outwatch);
    /* Without the guard (no memfd), the parent-death signal still ends
     * each task's main process. */
    if (!pool->cfg.dry_run)
        (void)pr_guard_start(&pool->spawn.guard, pool->cfg.kill_after);
    make_runners(pool);
    pr_services_init(&pool->services, pool->loop, pool->aux,
                     pool->cfg.kill_after);
    pool->intake.data = pool;
    pool->intake.accepting = intake_accepting;
    pool->intake.put = intake_put;
    pool->intake.end = intake_end;
    pool->intake.fail = intake_fail;
    rc = pr_source_start(src, &pool->intake);
    if (rc != 0) {
        pool->input_ended = 1;
        result->input_error = rc;
        input_over(pool);
    }
    return rc;
}
