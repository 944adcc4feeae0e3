/*
 * pool: the flow of tasks (see pool_int.h for the other two files).
 * Everything runs on one loop thread.  A task's end always arrives from a
 * close callback (up->ended), never from inside pr_pool_put, so sources
 * and the scheduler are never re-entered.  Each task goes: put on the
 * queue, out when a slot is free and the gate open, to the runner, back
 * through up_ended, then a retry (later.c) or its one final record, which
 * every sink gets (records.c) before its output is emitted.
 */
#include "pool_int.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attempt.h"
#include "command.h"
#include "util.h"

static void service_ended(struct pr_pool *pool, struct pr_task *task);
static void up_failed(void *data, const char *msg);

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
    task->attempt--;       /* that was no attempt */
    pr_attempt_undo(task); /* a retry: back to the attempt before */
    pr_queue_unget(pool->queue, task);
    return 1;
}

static void
callback_ended(struct pr_pool *pool, struct pr_task *cb)
{
    int join = strcmp(cb->callback, "on_join") == 0;

    pr_callbacks_ended(&pool->cbs, cb);
    pr_records_callback_done(&pool->records, cb);
    pr_output_finish_now(pool->output, cb);
    if (join) {
        pr__pool_finish(pool);
        return;
    }
    /* Its task is done only now: join waits for every callback. */
    pr__pool_task_done(pool);
    pr_callbacks_next(&pool->cbs);
}

/* No more tasks will come: the caller hears it once. */
void
pr__pool_input_over(struct pr_pool *pool)
{
    if (!pool->input_ended || pool->input_told)
        return;
    pool->input_told = 1;
    if (pool->cfg.on_input_end != NULL)
        pool->cfg.on_input_end(pool->cfg.event_data);
}

/* One task (or its callback) is done. */
void
pr__pool_task_done(struct pr_pool *pool)
{
    pr_queue_task_done(pool->queue);
    pr_batch_done(&pool->batch);
}

/* --results DIR/: the first error writing the folder is said at the end,
 * as a results file's is. */
static void
keep_results_error(struct pr_pool *pool, int rc)
{
    if (rc != 0 && pool->results.error == 0)
        pool->results.error = rc;
}

static struct pr_results_dir
results_dir(const struct pr_pool *pool)
{
    struct pr_results_dir d = {pool->cfg.results, pool->cfg.results_positions,
                               pool->cfg.results_names,
                               pool->cfg.results_nnames};

    return d;
}

static int
results_dir_final(const struct pr_pool *pool, struct pr_task *task)
{
    struct pr_results_dir d = results_dir(pool);

    return pr_results_dir_final(&d, task);
}

static int
results_dir_output(const struct pr_pool *pool, struct pr_task *task, int stream,
                   const char *p, size_t n)
{
    struct pr_results_dir d = results_dir(pool);

    return pr_results_dir_output(&d, task, stream, p, n);
}

/* --timeout N% (GNU parallel's): each task that succeeds moves the median
 * runtime, and with it the limit of the tasks that start from now on and
 * of those running (from their start), except a job file's task that has
 * a timeout of its own. */
static void
learn_runtime(struct pr_pool *pool, const struct pr_task *task)
{
    double limit;
    struct pr_list *n;

    if (task->status != PR_TASK_OK || task->callback != NULL || task->service)
        return;
    limit = pool->cfg.timeout_pct *
            pr_median_add(&pool->runtimes, pr_task_runtime(task));
    /* A limit of 0 is none: a task that took no time allows a millisecond. */
    if (limit < 0.001)
        limit = 0.001;
    pool->spawn.timeout = limit;
    if (pool->runner->ops->retime == NULL)
        return;
    for (n = pool->running_list.next; n != &pool->running_list; n = n->next) {
        struct pr_task *t = PR_CONTAINER_OF(n, struct pr_task, node);

        /* Services and callbacks have no timeout, and another runner. */
        if (t->service || t->callback != NULL)
            continue;
        if (t->spec == NULL || t->spec->timeout < 0)
            pool->runner->ops->retime(pool->runner, t, limit);
    }
}

/* A task held back by deps may go: on the queue, or straight to its
 * record when it is to be skipped (a stop, or a dependency it needed did
 * not succeed), counted as put as pr_pool_skip counts one. */
static void
deps_released(void *data, struct pr_task *task)
{
    struct pr_pool *pool = data;

    if (pool->stopping || task->skip_after) {
        pr_queue_count(pool->queue);
        task->status = PR_TASK_SKIPPED;
        pr__pool_record(pool, task);
        return;
    }
    /* Held tasks count against the capacity (pr_pool_accepting), so
     * there is room. */
    if (pr_queue_put(pool->queue, task) != 0)
        abort();
}

/* One final record: the batch's tally, every sink, the source's ended,
 * then the output (which frees the task once it has been emitted) and the
 * task's callback.  Emitting the output or reaching --halt may stop the
 * run; that stop's own records wait on pool->to_record (see
 * pr__pool_record()). */
static void
record_one(struct pr_pool *pool, struct pr_task *task)
{
    struct pr_task *cb;
    struct pr_task copy;

    if (task->end_ns == 0)
        task->end_ns = task->start_ns ? uv_hrtime() : 0;
    if (task->status == PR_TASK_SKIPPED && task->skip_why == NULL)
        task->skip_why = pr__pool_stop_reason(pool);
    pr_batch_tally(&pool->batch, task);
    if (pool->cfg.results_dir && task->callback == NULL && !task->service)
        keep_results_error(pool, results_dir_final(pool, task));
    if (pool->cfg.timeout_pct > 0)
        learn_runtime(pool, task);
    pr_records_final(&pool->records, task);
    if (pool->deps != NULL)
        pr_deps_ended(pool->deps, task, deps_released, pool);
    /* Every sink has it: its source may acknowledge it. */
    if (task->origin != NULL)
        pr_source_ended(task->origin, task);
    cb = pr_callbacks_make(&pool->cbs, task);
    /* --pipe: no attempt is left to feed the block to, and -k may hold
     * the task a while yet. */
    if (task->block.p != NULL) {
        free(task->block.p);
        task->block.p = NULL;
    }
    /* What halt needs of the task outlives it. */
    copy = *task;
    pr_output_finish(pool->output, task);
    /* The output may have failed and stopped the run: a stop drops the
     * callbacks, this one too, though it was made before. */
    if (cb == NULL || !pr_callbacks_queue(&pool->cbs, cb))
        pr__pool_task_done(pool);
    pr__pool_check_halt(pool, &copy);
}

/* The one place a final record is made.  It never runs inside itself: a
 * record made while another is being made (a stop it caused records the
 * tasks that wait) waits its turn on pool->to_record. */
void
pr__pool_record(struct pr_pool *pool, struct pr_task *task)
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

static void
on_gate_timer(uv_timer_t *timer)
{
    pr__pool_schedule(timer->data);
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

/* Is the task to be recorded skipped without running: done in an earlier
 * run (--resume), or put with its reason already given (a dependency of
 * the queue service's that failed)? */
static int
skipped_unrun(const struct pr_pool *pool, const struct pr_task *task)
{
    if (task->attempt != 0)
        return 0;
    if (task->skip_why != NULL)
        return 1;
    return pool->cfg.resume_done != NULL &&
           pr_seqset_has(pool->cfg.resume_done, task->seq);
}

/* The loop has handled its events since the slice began: the next one
 * may begin.  An active idle handle also makes that poll not wait. */
static void
on_slice_idle(uv_idle_t *idle)
{
    struct pr_pool *pool = idle->data;

    uv_idle_stop(idle);
    pr_slice_reset(&pool->slice);
    pr__pool_schedule(pool);
}

/* At start: the slices of starts (see slots.h). */
void
pr__pool_slice_init(struct pr_pool *pool)
{
    pr_slice_init(&pool->slice, PR_SLICE_NS, PR_SLICE_MAX);
    uv_idle_init(pool->loop, &pool->slice_idle);
    pool->slice_idle.data = pool;
}

/* A task has started: a slice that has had its time ends, and the rest
 * start at the next turn of the loop. */
static void
slice_started(struct pr_pool *pool, const struct pr_task *task)
{
    uint64_t now = task->start_ns != 0 ? task->start_ns : uv_hrtime();

    if (pr_slice_started(&pool->slice, now))
        uv_idle_start(&pool->slice_idle, on_slice_idle);
}

void
pr__pool_schedule(struct pr_pool *pool)
{
    while (!pool->stopping && pr_slots_open(&pool->slots) &&
           pr_slice_open(&pool->slice)) {
        struct pr_task *task = pr_queue_peek(pool->queue);

        if (task == NULL || too_far_ahead(pool, task))
            break;
        if (!skipped_unrun(pool, task) && !gate_open(pool))
            break;
        pr_queue_get(pool->queue);
        if (skipped_unrun(pool, task)) {
            task->status = PR_TASK_SKIPPED;
            if (task->skip_why == NULL) {
                task->skip_why = "resume";
                pool->result->resumed++;
            }
            pr__pool_record(pool, task);
            continue;
        }
        if (task->requeue) {
            /* The attempt it was handed over for never ran: it begins now,
             * and the attempt before it is already in the results. */
            task->requeue = 0;
        } else {
            if (task->attempt > 0)
                pr_attempt_stash(task,
                                 pool->cfg.command != NULL && task->nitems > 0);
            task->attempt++;
        }
        task->no_stream = must_hold_output(pool, task);
        task->slot = pr_slots_take(&pool->slots);
        pr_list_insert_before(&pool->running_list, &task->node);
        pr_command_build(task, pool->cfg.command, pool->cfg.tag,
                         pool->cfg.tagstring);
        if (pool->runner->ops->start(pool->runner, task) != 0)
            break; /* it failed: try no more until something ends */
        slice_started(pool, task);
        task->live = 1;
        /* --delay counts from when the task really started, which a slow
         * spawn puts after the gate opened. */
        pr_gate_started(&pool->gate, task->start_ns);
        commit_retry(pool, task);
        pool->live++;
        if (pool->cfg.on_task_start != NULL)
            pool->cfg.on_task_start(pool->cfg.event_data, task);
    }
}

/* The runner that runs task. */
static struct pr_runner *
runner_of(const struct pr_pool *pool, const struct pr_task *task)
{
    return task->callback != NULL || task->service ? pool->aux : pool->runner;
}

static void
up_output(void *data, struct pr_task *task, int stream, const char *p, size_t n)
{
    struct pr_pool *pool = data;

    if (pool->cfg.on_output != NULL)
        pool->cfg.on_output(pool->cfg.event_data, task, stream, p, n);
    if (pool->cfg.results_dir && task->callback == NULL && !task->service)
        keep_results_error(pool, results_dir_output(pool, task, stream, p, n));
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

    /* A results file keeps the head of what goes out as it comes, a
     * results folder all of it; an on_output hook sees every byte. */
    if (pool->results.r != NULL || pool->cfg.results_dir ||
        pool->cfg.on_output != NULL)
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
        pr__pool_record(pool, task);
        return;
    }
    /* It keeps its attempt number and task->requeue until it starts
     * again: were it counted down, a retry would be taken for one that
     * has ended, and its last attempt recorded twice (see
     * pr__pool_schedule()). */
    task->pid = 0;
    task->start_ns = 0;
    task->start_wall = 0;
    task->slot = 0;
    pr_queue_unget(pool->queue, task);
    pr__pool_schedule(pool);
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
    pr__pool_schedule(data);
}

/* The task waits --retry-delay (grown by the factor per attempt) off the
 * slots; the attempt keeps its output until the next one begins. */
static void
retry(struct pr_pool *pool, struct pr_task *task)
{
    double wait = pr_retry_wait(&pool->cfg.retry, task->attempt);

    /* Its record and output wait until the next attempt has begun: a stop
     * before that makes this attempt the final one. */
    if (task->end_ns == 0)
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
        pr__pool_record(pool, task);
    if (pool->joined)
        return;
    pr__pool_schedule(pool);
    if (!pool->stopping && pr_pool_accepting(pool) && pool->src != NULL &&
        !pool->input_ended)
        pr_source_resume(pool->src);
}

int
pr_pool_slot_free(const struct pr_pool *pool)
{
    return pr_slots_open(&pool->slots);
}

size_t
pr_pool_queued(const struct pr_pool *pool)
{
    return pr_queue_len(pool->queue);
}

size_t
pr_pool_retrying(const struct pr_pool *pool)
{
    const struct pr_list *n;
    size_t count = 0;

    for (n = pool->retries.list.next; n != &pool->retries.list; n = n->next)
        count++;
    return count;
}

int
pr_pool_has_workers(const struct pr_pool *pool)
{
    return pool->cfg.workers != NULL;
}

int
pr_pool_accepting(const struct pr_pool *pool)
{
    if (pool->stopping || pr_queue_full(pool->queue))
        return 0;
    /* Tasks held back are as much in memory as those queued. */
    return pool->deps == NULL || pool->cfg.queue_size == 0 ||
           pr_queue_len(pool->queue) + pr_deps_held(pool->deps) <
               pool->cfg.queue_size;
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
        pr__pool_check_halt(pool, &copy);
    } else {
        pr_output_discard(pool->output, task);
        pr_task_free(task);
    }
    if (last && pool->joined)
        pr__pool_close_step(pool);
}

void
pr_pool_put(struct pr_pool *pool, struct pr_task *task)
{
    int rc;

    if (task->spec != NULL && task->spec->daemon) {
        pr_command_build(task, pool->cfg.command, pool->cfg.tag,
                         pool->cfg.tagstring);
        pr_services_start(&pool->services, task);
        return;
    }
    task->seq = ++pool->next_seq;
    if (pool->deps != NULL && !pr_deps_put(pool->deps, task)) {
        pr_batch_add(&pool->batch); /* held back, but in the run */
        return;
    }
    if (task->skip_after) {
        /* A task it runs after has already failed: no need to wait.  What
         * its record releases (an after_any on it) may start. */
        pr_batch_add(&pool->batch);
        pr_queue_count(pool->queue);
        task->status = PR_TASK_SKIPPED;
        pr__pool_record(pool, task);
        if (!pool->starting)
            pr__pool_schedule(pool);
        return;
    }
    rc = pr_queue_put(pool->queue, task);
    /* Sources check pr_pool_accepting first, so the queue has room. */
    if (rc != 0)
        abort();
    pr_batch_add(&pool->batch);
    /* The source's start puts what it has at once: the queue's order
     * then applies to all of it (a job file's priorities), not only to
     * what came after the first task started. */
    if (!pool->starting)
        pr__pool_schedule(pool);
}

void
pr_pool_input_end(struct pr_pool *pool, int err)
{
    if (pool->input_ended)
        return;
    pool->input_ended = 1;
    if (err != 0 && pool->result->input_error == 0)
        pool->result->input_error = err;
    pr__pool_input_over(pool);
}

void
pr_pool_input_fail(struct pr_pool *pool, const char *msg)
{
    if (pool->result->input_msg[0] == '\0')
        snprintf(pool->result->input_msg, sizeof(pool->result->input_msg), "%s",
                 msg);
    pr_pool_input_end(pool, UV_EINVAL);
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

int
pr_pool_output_congested(const struct pr_pool *pool)
{
    return pr_output_congested(pool->output);
}

static void
up_message(void *data, const char *p, size_t n)
{
    struct pr_pool *pool = data;

    pr_output_write(pool->output, 2, p, n);
}

static int
up_output_busy(void *data)
{
    struct pr_pool *pool = data;

    return pr_output_busy(pool->output);
}

/* At new: what the runners call. */
void
pr__pool_flow_up(struct pr_pool *pool)
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
up_failed(void *data, const char *msg)
{
    struct pr_pool *pool = data;

    if (pool->result->fatal_msg[0] == '\0')
        snprintf(pool->result->fatal_msg, sizeof(pool->result->fatal_msg), "%s",
                 msg);
    if (!pool->stopping)
        pr__pool_stop(pool, PR_STOP_FATAL, SIGTERM);
}

/* At start: the retry timer, and the intake the source gets. */
void
pr__pool_flow_start(struct pr_pool *pool)
{
    pr_later_init(&pool->retries, pool->loop, retry_due, retries_done, pool);
    pool->intake.data = pool;
    pool->intake.accepting = intake_accepting;
    pool->intake.put = intake_put;
    pool->intake.end = intake_end;
    pool->intake.fail = intake_fail;
}
