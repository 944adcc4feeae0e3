/*
 * pool: slots, scheduling, final records and shutdown.  Everything runs on
 * one loop thread.  A task's end always arrives from a close callback
 * (pr__pool_task_ended), never from inside pr_pool_put, so sources and the
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
#include <sys/wait.h>
#include <unistd.h>

#include "callback.h"
#include "guard.h"
#include "internal.h"
#include "joblog.h"
#include "progress.h"
#include "sys.h"
#include "util.h"

#define READ_BUF_SIZE ((size_t)64 * 1024)
/* --memfree and --load look again this often while they hold tasks back. */
#define GATE_RECHECK_MS 250
#define PROGRESS_MS     100
/* Processes that escaped their task's group are reaped this often. */
#define REAP_MS 1000
/* How long processes of groups poolrun killed may take to go at the end
 * before they count as escaped. */
#define SETTLE_MS 200

extern char **environ;

struct pr_pool {
    uv_loop_t *loop;
    struct pr_pool_config cfg;
    struct pr_queue *queue;
    struct pr_output *output;
    struct pr_joblog *joblog;
    struct pr_results *results;
    struct pr_source *src;
    struct pr_pool_result *result;
    struct pr_spawn_ctx spawn;
    uint64_t next_seq;
    unsigned running; /* tasks holding a slot */
    unsigned live;    /* of those, the ones whose process started */
    struct pr_list running_list;
    unsigned *free_slots; /* a stack of free slot numbers */
    size_t nfree;
    size_t free_cap;
    unsigned max_slot;
    unsigned throttle; /* after EAGAIN/EMFILE: run at most this many */
    uv_signal_t sigs[3];
    uv_timer_t kill_timer;
    uv_timer_t retry_timer;  /* the earliest retry that waits */
    struct pr_list retry_list; /* tasks waiting to run again, by retry_at */
    uv_poll_t out_watch[2];    /* stdout, stderr: writable again (and
                                  stdout's reader going away) */
    int out_watch_on[2];       /* initialised */
    int out_watch_events[2];   /* polled for now */
    int output_gated;          /* a task waits for the output to shrink */
    int paused_any;            /* tasks are not read until it has */
    int close_on_drain;        /* the run is over once the output is out */
    int closed;                /* close_own_handles has closed them */
    int handles_open;
    int input_ended;
    int stopping; /* no task starts any more */
    int killing;  /* SIGKILL has been sent to every group */
    int joined;
    struct pr_join_waiter join_waiter; /* on the queue, once input ended */
    int halted;
    uv_timer_t gate_timer;     /* --delay, --memfree, --load: check again */
    uint64_t last_start;       /* uv_hrtime() of the last task start */
    uv_timer_t progress_timer; /* redraws the bar */
    struct pr_progress *progress;
    uint64_t started_ms;       /* uv_now() when the run began */
    struct pr_workers *workers; /* --workers: the worker runner */
    int workers_down;           /* the workers have all ended */
    int subreaper;              /* escaped processes become our children */
    uv_timer_t reap_timer;      /* reaps them as they exit; at the end,
                                   waits for the ones we terminate */
    int *escapees;              /* at the end: the ones still running */
    int nescapees;
    uint64_t escape_term_at;
    struct pr_list services;    /* running services ("daemon": true) */
    unsigned nservices;
    int services_stopping;      /* the others have ended: SIGTERM sent */
    uv_timer_t service_timer;   /* SIGKILL after the grace */
    struct pr_list cb_list;     /* callbacks waiting for their turn */
    struct pr_task *cb_running; /* the one callback that runs, or NULL */
    int cb_dropped;             /* stopped now: no more callbacks run */
    struct pr_list to_record; /* final records waiting for the one being
                                 made (see record()) */
    int recording;
    uint64_t n_failed; /* final records that were not ok or skipped */
    uint64_t n_ok;
};

static const int handled_signals[3] = {SIGINT, SIGTERM, SIGHUP};

static void on_output_error(void *data, int err);
static void on_output_change(void *data);
static void before_output(void *data);

static void
build_env(struct pr_pool *pool)
{
    size_t n = 0;
    size_t i;
    char **env;

    for (i = 0; environ != NULL && environ[i] != NULL; i++)
        n++;
    env = pr_xcalloc(n + 3, sizeof(*env));
    n = 0;
    for (i = 0; environ != NULL && environ[i] != NULL; i++) {
        /* Ours replace any inherited ones. */
        if (strncmp(environ[i], "POOLRUN_SEQ=", 12) == 0 ||
            strncmp(environ[i], "POOLRUN_SLOT=", 13) == 0)
            continue;
        env[n++] = environ[i];
    }
    pool->spawn.env = env;
    pool->spawn.env_seq = n;
    pool->spawn.env_slot = n + 1;
}

int
pr_pool_new(struct pr_pool **out, uv_loop_t *loop,
            const struct pr_pool_config *cfg, const char **which)
{
    struct pr_pool *pool = pr_xcalloc(1, sizeof(*pool));
    unsigned i;
    int rc;

    pool->loop = loop;
    pool->cfg = *cfg;
    if (cfg->joblog != NULL) {
        rc = pr_joblog_open(&pool->joblog, cfg->joblog, cfg->resume);
        if (rc != 0) {
            *which = "--joblog";
            free(pool);
            return rc;
        }
    }
    if (cfg->results != NULL) {
        rc = pr_results_open(&pool->results, cfg->results, cfg->resume,
                             cfg->results_limit);
        if (rc != 0) {
            *which = "--results";
            pr_joblog_close(pool->joblog);
            free(pool);
            return rc;
        }
    }
    pool->queue = pr_queue_new(cfg->queue_size, cfg->order);
    if (cfg->progress) {
        pool->progress = pr_progress_new(cfg->output.err_fd);
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
    pr_list_init(&pool->retry_list);
    pr_list_init(&pool->to_record);
    pr_list_init(&pool->cb_list);
    pr_list_init(&pool->services);
    if (cfg->workers != NULL && !cfg->dry_run) {
        /* -j workers, each with up to --inflight tasks: that many slots. */
        if (pool->cfg.jobs == 0)
            pool->cfg.jobs = uv_available_parallelism();
        pool->cfg.jobs *= cfg->workers->inflight;
        cfg = &pool->cfg;
    }
    pool->free_cap = cfg->jobs ? cfg->jobs : 64;
    pool->free_slots = pr_xcalloc(pool->free_cap, sizeof(unsigned));
    for (i = cfg->jobs; i > 0; i--)
        pool->free_slots[pool->nfree++] = i;
    pool->max_slot = cfg->jobs;
    pool->spawn.loop = loop;
    pool->spawn.pool = pool;
    pool->spawn.shell = pr_xstrdup(cfg->shell ? cfg->shell : "/bin/sh");
    pool->spawn.kill_after = cfg->kill_after;
    pool->spawn.timeout = cfg->timeout;
    pool->spawn.read_buf = pr_xmalloc(READ_BUF_SIZE);
    pool->spawn.read_buf_size = READ_BUF_SIZE;
    pool->spawn.paths = pr__path_cache_new();
    build_env(pool);
    *out = pool;
    return 0;
}

void
pr_pool_free(struct pr_pool *pool)
{
    if (pool == NULL)
        return;
    pr_queue_free(pool->queue);
    pr_output_free(pool->output);
    pr_joblog_close(pool->joblog);
    pr_results_close(pool->results);
    pr_progress_free(pool->progress);
    pr__workers_free(pool->workers);
    free(pool->free_slots);
    free(pool->spawn.shell);
    free(pool->spawn.read_buf);
    free(pool->spawn.env);
    pr__path_cache_free(pool->spawn.paths);
    free(pool);
}

static unsigned
take_slot(struct pr_pool *pool)
{
    if (pool->nfree > 0)
        return pool->free_slots[--pool->nfree];
    /* Only with no limit (-j 0): the stack grows as slots are returned. */
    return ++pool->max_slot;
}

static void
give_slot(struct pr_pool *pool, unsigned slot)
{
    if (pool->nfree == pool->free_cap) {
        pool->free_cap *= 2;
        pool->free_slots =
            pr_xrealloc(pool->free_slots, pool->free_cap * sizeof(unsigned));
    }
    pool->free_slots[pool->nfree++] = slot;
}

static int
slot_free(const struct pr_pool *pool)
{
    if (pool->throttle != 0 && pool->running >= pool->throttle)
        return 0;
    return pool->cfg.jobs == 0 || pool->running < pool->cfg.jobs;
}

static void undo_retry(struct pr_task *task);

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
    if (pool->throttle == 0 || pool->live < pool->throttle) {
        pool->throttle = pool->live;
        if (pool->cfg.on_throttle != NULL)
            pool->cfg.on_throttle(pool->cfg.record_data, task->error,
                                  pool->live);
    }
    task->error = 0;
    task->error_what = NULL;
    task->start_ns = 0;
    task->start_wall = 0;
    task->pid = 0;
    task->slot = 0;
    task->attempt--; /* that was no attempt */
    undo_retry(task); /* a retry: back to the attempt before */
    pr_queue_unget(pool->queue, task);
    return 1;
}

static void
on_handle_closed(uv_handle_t *handle)
{
    struct pr_pool *pool = handle->data;

    pool->handles_open--;
}

static void
progress_counts(const struct pr_pool *pool, struct pr_progress_counts *c)
{
    c->done = pool->result->total;
    c->total = pool->input_ended ? pool->next_seq : 0;
    c->running = pool->running;
    c->failed = pool->n_failed;
    c->elapsed = (double)(uv_now(pool->loop) - pool->started_ms) / 1000.0;
}

static void
show_progress(struct pr_pool *pool)
{
    struct pr_progress_counts c;

    if (pool->progress == NULL)
        return;
    progress_counts(pool, &c);
    pr_progress_show(pool->progress, &c);
}

static void
on_progress_timer(uv_timer_t *timer)
{
    show_progress(timer->data);
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
close_own_handles(struct pr_pool *pool)
{
    size_t i;

    if (pr_output_busy(pool->output)) {
        /* The reader is slow, not gone: the run ends once it has it all
         * (on_output_change), or on SIGINT or SIGTERM. */
        pool->close_on_drain = 1;
        return;
    }
    pool->close_on_drain = 0;
    pool->closed = 1;
    for (i = 0; i < PR_ARRAY_SIZE(pool->sigs); i++)
        if (!uv_is_closing((uv_handle_t *)&pool->sigs[i]))
            uv_close((uv_handle_t *)&pool->sigs[i], on_handle_closed);
    if (!uv_is_closing((uv_handle_t *)&pool->kill_timer))
        uv_close((uv_handle_t *)&pool->kill_timer, on_handle_closed);
    if (!uv_is_closing((uv_handle_t *)&pool->retry_timer))
        uv_close((uv_handle_t *)&pool->retry_timer, on_handle_closed);
    if (!uv_is_closing((uv_handle_t *)&pool->reap_timer))
        uv_close((uv_handle_t *)&pool->reap_timer, on_handle_closed);
    if (!uv_is_closing((uv_handle_t *)&pool->service_timer))
        uv_close((uv_handle_t *)&pool->service_timer, on_handle_closed);
    if (!uv_is_closing((uv_handle_t *)&pool->gate_timer))
        uv_close((uv_handle_t *)&pool->gate_timer, on_handle_closed);
    if (!uv_is_closing((uv_handle_t *)&pool->progress_timer))
        uv_close((uv_handle_t *)&pool->progress_timer, on_handle_closed);
    if (pool->progress != NULL) {
        struct pr_progress_counts c;

        progress_counts(pool, &c);
        pr_progress_finish(pool->progress, &c);
    }
    for (i = 0; i < 2; i++)
        if (pool->out_watch_on[i] &&
            !uv_is_closing((uv_handle_t *)&pool->out_watch[i]))
            uv_close((uv_handle_t *)&pool->out_watch[i], on_handle_closed);
}

static void on_joined(void *data);
static void service_ended(struct pr_pool *pool, struct pr_task *task);

/* Is pid a process poolrun started and still watches (a task, a service,
 * a callback, a worker)?  Anything else among its children was adopted:
 * it left a task's process group and its parent died. */
static int
is_ours(struct pr_pool *pool, int pid)
{
    struct pr_list *n;

    for (n = pool->running_list.next; n != &pool->running_list; n = n->next)
        if (PR_CONTAINER_OF(n, struct pr_task, node)->pid == pid)
            return 1;
    for (n = pool->services.next; n != &pool->services; n = n->next)
        if (PR_CONTAINER_OF(n, struct pr_task, node)->pid == pid)
            return 1;
    if (pool->cb_running != NULL && pool->cb_running->pid == pid)
        return 1;
    if (pid == pr_guard_pid(pool->spawn.guard))
        return 1;
    return pool->workers != NULL && pr__workers_has_pid(pool->workers, pid);
}

/* Reaps the adopted children that have exited (never one of ours, whose
 * runner waits for it).  Returns how many adopted ones still run, and
 * with `list` their pids. */
static int
reap_adopted(struct pr_pool *pool, int **list)
{
    int *pids = NULL;
    int n = pr_sys_children(&pids);
    int alive = 0;
    int i;

    for (i = 0; i < n; i++) {
        int st;

        if (is_ours(pool, pids[i]))
            continue;
        if (waitpid(pids[i], &st, WNOHANG) == 0)
            pids[alive++] = pids[i];
    }
    if (list != NULL && alive > 0) {
        *list = pids;
        return alive;
    }
    free(pids);
    return n < 0 ? 0 : alive;
}

static void
on_reap_timer(uv_timer_t *timer)
{
    reap_adopted(timer->data, NULL);
}

static void
on_escape_timer(uv_timer_t *timer)
{
    struct pr_pool *pool = timer->data;
    uint64_t grace = (uint64_t)(pool->cfg.kill_after * 1000);
    int *left = NULL;
    int n = reap_adopted(pool, &left);
    int i;

    if (n == 0 || uv_now(pool->loop) - pool->escape_term_at >= grace + 1000) {
        /* All gone (or beyond saving: init will reap them). */
        free(left);
        close_own_handles(pool);
        return;
    }
    if (uv_now(pool->loop) - pool->escape_term_at >= grace)
        for (i = 0; i < n; i++) {
            kill(-left[i], SIGKILL);
            kill(left[i], SIGKILL);
        }
    free(left);
    uv_timer_start(timer, on_escape_timer, 20, 0);
}

/* Every task has ended: processes that escaped their task's group and are
 * still running get SIGTERM (with their groups), SIGKILL after the grace;
 * then the pool's handles close.  Processes of groups poolrun has just
 * killed may linger for a moment as its adopted children: they get a
 * short while to go before anything still there counts as escaped. */
static void
on_settle_timer(uv_timer_t *timer)
{
    struct pr_pool *pool = timer->data;
    int *left = NULL;
    int n = reap_adopted(pool, &left);
    int i;

    if (n == 0) {
        close_own_handles(pool);
        return;
    }
    if (uv_now(pool->loop) - pool->escape_term_at < SETTLE_MS) {
        free(left);
        uv_timer_start(timer, on_settle_timer, 5, 0);
        return;
    }
    pool->result->escapees += (uint64_t)n;
    for (i = 0; i < n; i++) {
        kill(-left[i], SIGTERM);
        kill(left[i], SIGTERM);
        kill(-left[i], SIGCONT);
        kill(left[i], SIGCONT);
    }
    free(left);
    pool->escape_term_at = uv_now(pool->loop);
    uv_timer_start(&pool->reap_timer, on_escape_timer, 10, 0);
}

static void
finish(struct pr_pool *pool)
{
    if (!pool->subreaper || reap_adopted(pool, NULL) == 0) {
        close_own_handles(pool);
        return;
    }
    uv_update_time(pool->loop);
    pool->escape_term_at = uv_now(pool->loop);
    uv_ref((uv_handle_t *)&pool->reap_timer);
    uv_timer_start(&pool->reap_timer, on_settle_timer, 5, 0);
}

static void
on_service_timer(uv_timer_t *timer)
{
    struct pr_pool *pool = timer->data;
    struct pr_list *n;

    for (n = pool->services.next; n != &pool->services; n = n->next)
        pr__spawn_signal(PR_CONTAINER_OF(n, struct pr_task, node), SIGKILL);
}

/* SIGTERM to every service's group now, SIGKILL after the grace. */
static void
stop_services(struct pr_pool *pool)
{
    struct pr_list *n;

    if (pool->services_stopping)
        return;
    pool->services_stopping = 1;
    for (n = pool->services.next; n != &pool->services; n = n->next) {
        struct pr_task *svc = PR_CONTAINER_OF(n, struct pr_task, node);

        /* One that has already exited (not yet seen: the loop was busy)
         * ended before it was told to. */
        if (!pr__spawn_exited(svc))
            pr__spawn_signal(svc, SIGTERM);
    }
    uv_timer_start(&pool->service_timer, on_service_timer,
                   (uint64_t)(pool->cfg.kill_after * 1000), 0);
}

static void
on_workers_down(void *data)
{
    struct pr_pool *pool = data;

    pool->workers_down = 1;
    on_joined(pool);
}

static void
on_joined(void *data)
{
    struct pr_pool *pool = data;
    struct pr_pool_result *res = pool->result;

    pool->joined = 1;
    /* Workers get their sentinel once every task is done. */
    if (pool->workers != NULL && !pool->workers_down) {
        pr__workers_shutdown(pool->workers, on_workers_down, pool);
        return;
    }
    /* Services end once every other task has. */
    if (pool->nservices > 0) {
        stop_services(pool);
        return;
    }
    /* --on-join: once the batch is over, unless poolrun was told to stop
     * now; the pool's own handles close when it has ended. */
    if (pool->cfg.on_join != NULL && !pool->cb_dropped && !pool->cfg.dry_run) {
        pool->cb_running =
            pr_callback_join_new(pool->cfg.on_join, res->counts, res->total);
        pr__spawn_start(&pool->spawn, pool->cb_running);
        return;
    }
    finish(pool);
}

/* Callbacks run one at a time, in the order their tasks ended. */
static void
start_callback(struct pr_pool *pool)
{
    struct pr_task *cb;

    if (pool->cb_running != NULL || pr_list_empty(&pool->cb_list))
        return;
    cb = PR_CONTAINER_OF(pool->cb_list.next, struct pr_task, node);
    pr_list_remove(&cb->node);
    pool->cb_running = cb;
    pr__spawn_start(&pool->spawn, cb);
}

/* The callback of a task's final record, or NULL. */
static struct pr_task *
make_callback(struct pr_pool *pool, const struct pr_task *task)
{
    const struct pr_task_spec *spec = task->spec;
    const char *cmd;
    const char *kind;

    if (task->status == PR_TASK_SKIPPED || pool->cb_dropped ||
        pool->cfg.dry_run)
        return NULL;
    if (task->status == PR_TASK_OK) {
        kind = "on_done";
        cmd = spec != NULL && spec->on_done ? spec->on_done : pool->cfg.on_done;
    } else {
        kind = "on_fail";
        cmd = spec != NULL && spec->on_fail ? spec->on_fail : pool->cfg.on_fail;
    }
    if (cmd == NULL)
        return NULL;
    return pr_callback_new(task, kind, cmd,
                           pool->cfg.output.mode == PR_OUT_GROUP);
}

static void
callback_ended(struct pr_pool *pool, struct pr_task *cb)
{
    struct pr_pool_result *res = pool->result;
    int join = strcmp(cb->callback, "on_join") == 0;

    cb->status = cb->error != 0         ? PR_TASK_ERROR
                 : cb->term_signal != 0 ? PR_TASK_KILLED
                 : cb->exit_status != 0 ? PR_TASK_FAILED
                                        : PR_TASK_OK;
    cb->end_ns = cb->start_ns ? uv_hrtime() : 0;
    res->callbacks++;
    if (cb->status != PR_TASK_OK)
        res->callbacks_failed++;
    if (pool->results != NULL) {
        int rc = pr_results_write_callback(pool->results, cb->callback,
                                           join ? 0 : cb->seq, cb);

        if (rc != 0 && res->results_error == 0)
            res->results_error = rc;
    }
    if (pool->cfg.on_callback != NULL)
        pool->cfg.on_callback(pool->cfg.record_data, cb);
    pool->cb_running = NULL;
    pr_output_finish_now(pool->output, cb);
    if (join) {
        finish(pool);
        return;
    }
    /* Its task is done only now: join waits for every callback. */
    pr_queue_task_done(pool->queue);
    start_callback(pool);
}

/* Stopped now (SIGINT, SIGTERM, stdout closed): callbacks that wait are
 * dropped, the running one gets the signal. */
static void
drop_callbacks(struct pr_pool *pool, int sig)
{
    pool->cb_dropped = 1;
    while (!pr_list_empty(&pool->cb_list)) {
        struct pr_task *cb =
            PR_CONTAINER_OF(pool->cb_list.next, struct pr_task, node);

        pr_list_remove(&cb->node);
        pr_task_free(cb);
        pr_queue_task_done(pool->queue);
    }
    if (pool->cb_running != NULL)
        pr__spawn_signal(pool->cb_running, sig);
}

static void
maybe_join(struct pr_pool *pool)
{
    if (pool->input_ended && !pool->joined)
        pr_queue_join(pool->queue, &pool->join_waiter, on_joined, pool);
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

static void
note_code(struct pr_pool_result *res, const struct pr_task *task)
{
    int code = pr_task_code(task);

    if (!res->have_code) {
        res->have_code = 1;
        res->first_code = code;
        res->max_code = code;
    }
    res->last_code = code;
    if (code > res->max_code)
        res->max_code = code;
}

/* One results record: an attempt, or a skipped task. */
static void
write_result(struct pr_pool *pool, const struct pr_task *task, int final)
{
    /* Grouped output is read back from the captures, unless it went out
     * as it came (-k, the oldest task): then the head buffers have it. */
    int grouped = pool->cfg.output.mode == PR_OUT_GROUP && !task->streaming;
    int rc;

    if (pool->results == NULL)
        return;
    rc = pr_results_write(pool->results, task, final, task->skip_why,
                          grouped ? NULL : &task->head[0],
                          grouped ? NULL : &task->head[1]);
    if (rc != 0 && pool->result->results_error == 0)
        pool->result->results_error = rc;
}

/* --halt: has this final record reached the limit? */
static void
check_halt(struct pr_pool *pool, const struct pr_task *task)
{
    const struct pr_halt *h = &pool->cfg.halt;
    struct pr_halt_counts c;

    c.ok = pool->n_ok;
    c.failed = pool->n_failed;
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

/* Keeps the three longest-running tasks for the summary. */
static void
note_slow(struct pr_pool_result *res, const struct pr_task *task)
{
    double rt = pr_task_runtime(task);
    struct pr_pool_slow *s;
    unsigned i;

    if (task->start_ns == 0)
        return;
    for (i = res->nslowest; i > 0 && res->slowest[i - 1].runtime < rt; i--)
        ;
    if (i >= PR_ARRAY_SIZE(res->slowest))
        return;
    if (res->nslowest < PR_ARRAY_SIZE(res->slowest))
        res->nslowest++;
    memmove(&res->slowest[i + 1], &res->slowest[i],
            (res->nslowest - 1 - i) * sizeof(res->slowest[0]));
    s = &res->slowest[i];
    s->seq = task->seq;
    s->runtime = rt;
    s->id = NULL;
    if (task->spec != NULL && task->spec->id != NULL) {
        snprintf(s->text, sizeof(s->text), "%s", task->spec->id);
        s->id = s->text;
    } else {
        size_t n = task->line_len < sizeof(s->text) - 1 ? task->line_len
                                                         : sizeof(s->text) - 1;
        size_t k;

        memcpy(s->text, task->line ? task->line : "", task->line ? n : 0);
        s->text[task->line ? n : 0] = '\0';
        for (k = 0; s->text[k] != '\0'; k++)
            if ((unsigned char)s->text[k] < 0x20)
                s->text[k] = ' ';
    }
}

/* One final record: counts, results, joblog, the caller's hook, then the
 * output (which frees the task when it has been emitted) and the task's
 * callback.  Emitting the output or reaching --halt may stop the run; that
 * stop's own records wait on pool->to_record (see record()). */
static void
record_one(struct pr_pool *pool, struct pr_task *task)
{
    struct pr_pool_result *res = pool->result;
    struct pr_task *cb;
    struct pr_task copy;

    if (task->end_ns == 0)
        task->end_ns = task->start_ns ? uv_hrtime() : 0;
    if (task->status == PR_TASK_OK)
        pool->n_ok++;
    else if (task->status != PR_TASK_SKIPPED) {
        pool->n_failed++;
        note_code(res, task);
    }
    if (task->status == PR_TASK_SKIPPED && task->skip_why == NULL)
        task->skip_why = stop_reason(pool);
    write_result(pool, task, 1);
    res->counts[task->status]++;
    res->total++;
    if (task->out.lost != 0 || task->err.lost != 0)
        res->output_lost++;
    if (pool->joblog != NULL && task->status != PR_TASK_SKIPPED) {
        int rc = pr_joblog_write(pool->joblog, task);

        if (rc != 0 && res->joblog_error == 0)
            res->joblog_error = rc;
    }
    note_slow(res, task);
    if (pool->progress != NULL) {
        pr_progress_erase(pool->progress);
        if (!pr_progress_is_bar(pool->progress))
            show_progress(pool);
    }
    if (pool->cfg.on_record != NULL)
        pool->cfg.on_record(pool->cfg.record_data, task);
    cb = make_callback(pool, task);
    /* What halt needs of the task outlives it. */
    copy = *task;
    pr_output_finish(pool->output, task);
    /* The output may have failed and stopped the run: a stop drops the
     * callbacks, this one too, though it was made before. */
    if (cb != NULL && pool->cb_dropped) {
        pr_task_free(cb);
        cb = NULL;
    }
    if (cb != NULL) {
        pr_list_insert_before(&pool->cb_list, &cb->node);
        start_callback(pool);
    } else {
        pr_queue_task_done(pool->queue);
    }
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

/* Items joined by sep, into a new NUL-terminated string. */
static char *
join_items(const struct pr_task *task, char sep, size_t *len)
{
    struct pr_buf b = {0};
    unsigned i;

    for (i = 0; i < task->nitems; i++) {
        if (i > 0)
            pr_buf_append(&b, &sep, 1);
        pr_buf_append(&b, task->items[i].p, task->items[i].len);
    }
    pr_buf_append(&b, "", 1);
    *len = b.len - 1;
    return b.data;
}

/* A task made from items gets its command when it starts, once its slot
 * is known: COMMAND filled in, or (without one) the items as shell lines. */
static void
build_command(struct pr_pool *pool, struct pr_task *task)
{
    if (pool->cfg.tag && task->tag == NULL) {
        size_t n;

        task->tag = join_items(task, ' ', &n);
        task->tag = pr_xrealloc(task->tag, n + 2);
        task->tag[n] = '\t';
        task->tag[n + 1] = '\0';
        task->tag_len = n + 1;
    }
    if (task->line != NULL || task->argv != NULL)
        return;
    if (pool->cfg.command != NULL) {
        int rc = pr_template_expand(pool->cfg.command, task);

        if (rc != 0)
            task->error = rc;
        return;
    }
    task->line = join_items(task, '\n', &task->line_len);
    /* `true` or `gzip -9 a.txt` need no shell to start them. */
    if (!pr_shell_split_simple(task->line, task->line_len, &task->argv))
        task->argv = NULL;
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

/* A retry's last attempt, kept aside while the next one starts: written to
 * the results only once the next attempt has begun, and put back if it
 * could not (the system was at a limit), so that a run stopped meanwhile
 * records the attempt that really ran, once, with its output. */
struct pr_attempt {
    int pid;
    unsigned slot;
    double start_wall;
    uint64_t start_ns;
    uint64_t end_ns;
    int exit_status;
    int term_signal;
    int signalled;
    int timed_out;
    int error;
    const char *error_what;
    enum pr_task_status status;
    int streaming;
    unsigned attempt;
    struct pr_capture out;
    struct pr_capture err;
    struct pr_buf head[2];
    int own_command; /* the command is built anew for the retry ({%}): */
    char *line;      /* the one this attempt ran */
    size_t line_len;
    char **argv;
};

static void
attempt_save(struct pr_attempt *a, struct pr_task *task)
{
    a->pid = task->pid;
    a->slot = task->slot;
    a->start_wall = task->start_wall;
    a->start_ns = task->start_ns;
    a->end_ns = task->end_ns;
    a->exit_status = task->exit_status;
    a->term_signal = task->term_signal;
    a->signalled = task->signalled;
    a->timed_out = task->timed_out;
    a->error = task->error;
    a->error_what = task->error_what;
    a->status = task->status;
    a->streaming = task->streaming;
    a->attempt = task->attempt;
    a->out = task->out;
    a->err = task->err;
    a->head[0] = task->head[0];
    a->head[1] = task->head[1];
}

static void
attempt_load(struct pr_task *task, const struct pr_attempt *a)
{
    task->pid = a->pid;
    task->slot = a->slot;
    task->start_wall = a->start_wall;
    task->start_ns = a->start_ns;
    task->end_ns = a->end_ns;
    task->exit_status = a->exit_status;
    task->term_signal = a->term_signal;
    task->signalled = a->signalled;
    task->timed_out = a->timed_out;
    task->error = a->error;
    task->error_what = a->error_what;
    task->status = a->status;
    task->streaming = a->streaming;
    task->attempt = a->attempt;
    task->out = a->out;
    task->err = a->err;
    task->head[0] = a->head[0];
    task->head[1] = a->head[1];
}

/* A task about to run again sets its last attempt aside and starts clean. */
static void
reset_for_retry(struct pr_pool *pool, struct pr_task *task)
{
    struct pr_attempt *a = pr_xmalloc(sizeof(*a));

    attempt_save(a, task);
    task->prev = a;
    task->pid = 0;
    task->exit_status = 0;
    task->term_signal = 0;
    task->signalled = 0;
    task->timed_out = 0;
    task->error = 0;
    task->error_what = NULL;
    task->start_ns = 0;
    task->end_ns = 0;
    task->start_wall = 0;
    task->streaming = 0;
    pr_capture_init(&task->out);
    pr_capture_init(&task->err);
    memset(task->head, 0, sizeof(task->head));
    /* {%} may name another slot this time. */
    a->own_command = pool->cfg.command != NULL && task->nitems > 0;
    if (a->own_command) {
        a->line = task->line;
        a->line_len = task->line_len;
        a->argv = task->argv;
        task->line = NULL;
        task->line_len = 0;
        task->argv = NULL;
    }
}

static void
attempt_command(struct pr_task *task, const struct pr_attempt *a)
{
    if (!a->own_command)
        return;
    task->line = a->line;
    task->line_len = a->line_len;
    task->argv = a->argv;
}

/* The retry has begun: its last attempt goes to the results, its output
 * is dropped (only the last attempt's output is shown). */
static void
commit_retry(struct pr_pool *pool, struct pr_task *task)
{
    struct pr_task view;

    if (task->prev == NULL)
        return;
    view = *task;
    attempt_load(&view, task->prev);
    attempt_command(&view, task->prev);
    write_result(pool, &view, 0);
    pr_buf_free(&view.head[0]);
    pr_buf_free(&view.head[1]);
    pr_output_discard(pool->output, &view);
    if (task->prev->own_command)
        pr_task_clear_command(&view);
    free(task->prev);
    task->prev = NULL;
    pool->result->retried++;
}

/* The retry could not start after all: the task is again the attempt that
 * ran last, waiting to run again. */
static void
undo_retry(struct pr_task *task)
{
    struct pr_attempt *a = task->prev;

    if (a == NULL)
        return;
    pr_capture_free(&task->out);
    pr_capture_free(&task->err);
    pr_buf_free(&task->head[0]);
    pr_buf_free(&task->head[1]);
    attempt_load(task, a);
    if (a->own_command) {
        pr_task_clear_command(task);
        attempt_command(task, a);
    }
    free(a);
    task->prev = NULL;
}

static void schedule(struct pr_pool *pool);

static void
on_gate_timer(uv_timer_t *timer)
{
    schedule(timer->data);
}

/* --delay, --memfree, --load: may a task start now?  If not, a timer
 * asks again (when the delay is over, or every GATE_RECHECK_MS). */
static int
gate_open(struct pr_pool *pool)
{
    uint64_t now;
    uint64_t wait = 0;

    /* Output waits for a slow reader: memory and spill files stay bounded
     * by starting nothing more until it has shrunk (on_out_watch). */
    if (pr_output_congested(pool->output)) {
        pool->output_gated = 1;
        return 0;
    }
    if (pool->cfg.delay <= 0 && pool->cfg.memfree == 0 && pool->cfg.load <= 0)
        return 1;
    /* The clock, not the loop's cached time: starts are at least --delay
     * apart however long this loop turn has taken. */
    now = uv_hrtime();
    if (pool->cfg.delay > 0 && pool->last_start != 0) {
        uint64_t gap = (uint64_t)(pool->cfg.delay * 1e9 + 0.5);

        if (now - pool->last_start < gap)
            wait = (pool->last_start + gap - now + 999999) / 1000000;
    }
    if (wait == 0 && pool->cfg.memfree != 0 &&
        uv_get_free_memory() < pool->cfg.memfree)
        wait = GATE_RECHECK_MS;
    if (wait == 0 && pool->cfg.load > 0) {
        double avg[3];

        uv_loadavg(avg);
        if (avg[0] >= pool->cfg.load)
            wait = GATE_RECHECK_MS;
    }
    if (wait == 0) {
        pool->last_start = now;
        return 1;
    }
    uv_timer_start(&pool->gate_timer, on_gate_timer, wait, 0);
    return 0;
}

static void
schedule(struct pr_pool *pool)
{
    while (!pool->stopping && slot_free(pool)) {
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
                reset_for_retry(pool, task);
            task->attempt++;
        }
        task->no_stream = must_hold_output(pool, task);
        task->slot = take_slot(pool);
        pool->running++;
        pr_list_insert_before(&pool->running_list, &task->node);
        build_command(pool, task);
        if (pool->cfg.dry_run) {
            pr__dry_start(&pool->spawn, task);
            commit_retry(pool, task);
            pool->live++;
            continue;
        }
        if (pool->workers != NULL) {
            pr__workers_start_task(pool->workers, task);
            commit_retry(pool, task);
            pool->live++;
            continue;
        }
        pr__spawn_start(&pool->spawn, task);
        if (task->pid <= 0)
            break; /* it failed: try no more until something ends */
        /* --delay counts from when the task really started, which a slow
         * spawn puts after the gate opened. */
        if (task->start_ns > pool->last_start)
            pool->last_start = task->start_ns;
        commit_retry(pool, task);
        pool->live++;
    }
}

/* Is task's output read by run_spawn (not a worker, not --dry-run)? */
static int
read_by_spawn(const struct pr_pool *pool, const struct pr_task *task)
{
    if (task->run == NULL || pool->cfg.dry_run)
        return 0;
    return pool->workers == NULL || task->callback != NULL || task->service;
}

void
pr__pool_task_output(struct pr_pool *pool, struct pr_task *task, int stream,
                     const char *p, size_t n)
{
    if (pool->results != NULL && pool->cfg.output.mode != PR_OUT_GROUP) {
        /* The output goes out as it comes: keep its head for the record. */
        struct pr_buf *h = &task->head[stream == 2];
        size_t room = pool->cfg.results_limit - h->len;

        if (h->len < pool->cfg.results_limit)
            pr_buf_append(h, p, n < room ? n : room);
    }
    if (pr_output_data(pool->output, task, stream, p, n) &&
        read_by_spawn(pool, task)) {
        /* stdout is full: the task waits in its own write meanwhile. */
        pr__spawn_pause(task, stream);
        pool->paused_any = 1;
    }
}

int
pr__pool_task_splice(struct pr_pool *pool, struct pr_task *task, int stream,
                     int fd)
{
    /* A results file keeps the head of what goes out as it comes. */
    if (pool->results != NULL)
        return 0;
    return pr_output_splice(pool->output, task, stream, fd);
}

static enum pr_task_status
final_status(const struct pr_task *task)
{
    if (task->error != 0)
        return PR_TASK_ERROR;
    if (task->timed_out)
        return PR_TASK_TIMEOUT;
    if (task->term_signal != 0)
        return PR_TASK_KILLED;
    if (task->exit_status != 0)
        return PR_TASK_FAILED;
    return PR_TASK_OK;
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

static void on_retry_timer(uv_timer_t *timer);

static void
arm_retry_timer(struct pr_pool *pool)
{
    struct pr_task *first;
    uint64_t now = uv_now(pool->loop);

    if (pr_list_empty(&pool->retry_list)) {
        uv_timer_stop(&pool->retry_timer);
        return;
    }
    first = PR_CONTAINER_OF(pool->retry_list.next, struct pr_task, node);
    uv_timer_start(&pool->retry_timer, on_retry_timer,
                   first->retry_at > now ? first->retry_at - now : 0, 0);
}

/* Due retries go to the front of the queue. */
static void
on_retry_timer(uv_timer_t *timer)
{
    struct pr_pool *pool = timer->data;
    uint64_t now = uv_now(pool->loop);

    while (!pr_list_empty(&pool->retry_list)) {
        struct pr_task *task =
            PR_CONTAINER_OF(pool->retry_list.next, struct pr_task, node);

        if (task->retry_at > now)
            break;
        pr_list_remove(&task->node);
        pr_queue_unget(pool->queue, task);
    }
    arm_retry_timer(pool);
    schedule(pool);
}

/* The task waits --retry-delay (grown by the factor per attempt) off the
 * slots; the attempt keeps its output until the next one begins. */
static void
retry(struct pr_pool *pool, struct pr_task *task)
{
    double wait = pr_retry_wait(&pool->cfg.retry, task->attempt);
    struct pr_list *pos;

    /* Its record and output wait until the next attempt has begun: a stop
     * before that makes this attempt the final one. */
    task->end_ns = task->start_ns ? uv_hrtime() : 0;
    uv_update_time(pool->loop); /* the wait starts now, not at loop turn */
    /* The factor may grow the wait past any range: the conversion clamps. */
    task->retry_at = uv_now(pool->loop) + pr_seconds_to_ms(wait);
    pos = &pool->retry_list;
    while (pos->prev != &pool->retry_list &&
           PR_CONTAINER_OF(pos->prev, struct pr_task, node)->retry_at >
               task->retry_at)
        pos = pos->prev;
    pr_list_insert_before(pos, &task->node);
    arm_retry_timer(pool);
}

void
pr__pool_task_ended(struct pr_pool *pool, struct pr_task *task)
{
    if (task->callback != NULL) {
        callback_ended(pool, task);
        return;
    }
    if (task->service) {
        service_ended(pool, task);
        return;
    }
    pr_list_remove(&task->node);
    pool->running--;
    if (task->pid > 0 || pool->cfg.dry_run || pool->workers != NULL)
        pool->live--;
    give_slot(pool, task->slot);
    if (task->requeue) {
        requeue(pool, task);
        return;
    }
    if (retry_later(pool, task))
        return;
    /* A retry that failed to start is still an attempt of its own. */
    commit_retry(pool, task);
    task->status = final_status(task);
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

/* A service ("daemon": true): started now, outside the queue and the
 * slots; it has no number of its own (POOLRUN_SEQ=0). */
static void
start_service(struct pr_pool *pool, struct pr_task *task)
{
    task->service = 1;
    task->seq = 0;
    task->attempt = 1;
    task->no_stream = 1;
    pr_list_insert_before(&pool->services, &task->node);
    pool->nservices++;
    build_command(pool, task);
    if (pool->cfg.dry_run)
        pr__dry_start(&pool->spawn, task);
    else
        pr__spawn_start(&pool->spawn, task);
}

/* A service has ended.  Terminated by poolrun once the other tasks had
 * ended, it did its job; ending before that, it failed (its output is
 * shown, and --halt counts it). */
static void
service_ended(struct pr_pool *pool, struct pr_task *task)
{
    struct pr_pool_result *res = pool->result;
    /* Ended before poolrun told it to: on its own, and too early; or at
     * its own timeout, which is no telling it to stop (its status says
     * it timed out). */
    int early = !pool->stopping && (task->signalled == 0 || task->timed_out);

    pr_list_remove(&task->node);
    pool->nservices--;
    task->end_ns = task->start_ns ? uv_hrtime() : 0;
    task->status = early ? final_status(task) : PR_TASK_OK;
    if (early && task->status == PR_TASK_OK) {
        /* Exit 0, but a service is meant to run until it is told. */
        task->status = PR_TASK_FAILED;
        task->error_what = "the service exited before the other tasks ended";
    }
    write_result(pool, task, 1);
    if (task->status != PR_TASK_OK) {
        res->services_failed++;
        if (pool->cfg.on_record != NULL)
            pool->cfg.on_record(pool->cfg.record_data, task);
        struct pr_task copy = *task;

        pool->n_failed++;
        note_code(res, task);
        pr_output_finish_now(pool->output, task);
        check_halt(pool, &copy);
    } else {
        pr_output_discard(pool->output, task);
        pr_task_free(task);
    }
    if (pool->nservices == 0 && pool->services_stopping) {
        uv_timer_stop(&pool->service_timer);
        if (pool->joined)
            on_joined(pool);
    }
}

void
pr_pool_put(struct pr_pool *pool, struct pr_task *task)
{
    int rc;

    if (task->spec != NULL && task->spec->daemon) {
        start_service(pool, task);
        return;
    }
    task->seq = ++pool->next_seq;
    rc = pr_queue_put(pool->queue, task);
    /* Sources check pr_pool_accepting first, so the queue has room. */
    if (rc != 0)
        abort();
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
    maybe_join(pool);
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
    struct pr_list *n;

    for (n = pool->services.next; n != &pool->services; n = n->next)
        pr__spawn_signal(PR_CONTAINER_OF(n, struct pr_task, node), sig);
    if (pool->workers != NULL) {
        pr__workers_signal(pool->workers, sig);
        return;
    }
    for (n = pool->running_list.next; n != &pool->running_list; n = n->next)
        pr__spawn_signal(PR_CONTAINER_OF(n, struct pr_task, node), sig);
}

static void
on_kill_timer(uv_timer_t *timer)
{
    struct pr_pool *pool = timer->data;

    pool->killing = 1;
    signal_running(pool, SIGKILL);
    if (pool->cb_dropped && pool->cb_running != NULL)
        pr__spawn_signal(pool->cb_running, SIGKILL);
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
    while (!pr_list_empty(&pool->retry_list)) {
        task = PR_CONTAINER_OF(pool->retry_list.next, struct pr_task, node);
        pr_list_remove(&task->node);
        record(pool, task);
    }
    if (!pool->joined)
        uv_timer_stop(&pool->retry_timer);
    while ((task = pr_queue_get(pool->queue)) != NULL) {
        if (task->attempt > 0 && !task->requeue) {
            record(pool, task); /* a retry that was due: as above */
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
    maybe_join(pool);
}

static void
on_signal(uv_signal_t *handle, int signum)
{
    struct pr_pool *pool = handle->data;

    if (signum == SIGHUP) {
        stop(pool, PR_STOP_DRAIN, 0);
        return;
    }
    if (pool->stopping && (pool->result->stop == PR_STOP_SIGNAL ||
                           pool->result->stop == PR_STOP_OUTPUT)) {
        /* The same again: no more patience. */
        pool->killing = 1;
        signal_running(pool, SIGKILL);
        if (pool->cb_running != NULL)
            pr__spawn_signal(pool->cb_running, SIGKILL);
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

void
pr__pool_worker_started(struct pr_pool *pool)
{
    pool->result->workers_started++;
}

void
pr__pool_worker_exit(struct pr_pool *pool, const struct pr_worker_exit *e)
{
    if (e->at_shutdown && !e->clean)
        pool->result->workers_bad_exit++;
    if (pool->cfg.on_worker_exit != NULL)
        pool->cfg.on_worker_exit(pool->cfg.record_data, e);
}

void
pr_pool_message(struct pr_pool *pool, const char *p, size_t n)
{
    pr_output_write(pool->output, 2, p, n);
}

void
pr__pool_worker_stderr(struct pr_pool *pool, const char *p, size_t n)
{
    pr_output_write(pool->output, 2, p, n);
}

void
pr__pool_workers_failed(struct pr_pool *pool, const char *msg)
{
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

/* What stream's watch always needs: for a pipe behind stdout, its reader
 * going away. */
static int
watch_base(const struct pr_pool *pool, int stream)
{
    const struct pr_writer *w = pr_output_writer(pool->output, stream);

    if (stream == 1 && w->watch_reader && pr_output_error(pool->output) == 0)
        return UV_DISCONNECT;
    return 0;
}

/* The event that says stream's sink has room. */
static int
watch_room(const struct pr_pool *pool, int stream)
{
    return pr_output_writer(pool->output, stream)->poll_read ? UV_READABLE
                                                             : UV_WRITABLE;
}

static void on_out_watch(uv_poll_t *handle, int status, int events);

static void
set_watch(struct pr_pool *pool, int stream, int events)
{
    uv_poll_t *h = &pool->out_watch[stream - 1];
    const struct pr_writer *w = pr_output_writer(pool->output, stream);

    /* A writer may get its descriptor only when it first waits. */
    if (!pool->out_watch_on[stream - 1] && events != 0 && w->poll_fd >= 0 &&
        pool->result != NULL && !pool->closed &&
        uv_poll_init(pool->loop, h, w->poll_fd) == 0) {
        h->data = pool;
        pool->out_watch_on[stream - 1] = 1;
        pool->handles_open++;
    }
    if (!pool->out_watch_on[stream - 1] || uv_is_closing((uv_handle_t *)h) ||
        events == pool->out_watch_events[stream - 1])
        return;
    pool->out_watch_events[stream - 1] = events;
    if (events != 0)
        uv_poll_start(h, events, on_out_watch);
    else
        uv_poll_stop(h);
}

/* The output waits for a stream: watch it for room.  A watch stays on
 * until a wakeup finds nothing waiting (on_out_watch): a sink found full
 * again soon after it had room, the common case with a reader that keeps
 * up, costs no stopping and starting of the watch. */
static void
arm_watches(struct pr_pool *pool)
{
    int s;

    for (s = 1; s <= 2; s++) {
        int room = watch_room(pool, s);
        int keep = pool->out_watch_events[s - 1] & room;

        if (pr_output_waiting(pool->output) == s)
            keep = room;
        set_watch(pool, s, watch_base(pool, s) | keep);
    }
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
    for (n = pool->running_list.next; n != &pool->running_list; n = n->next) {
        struct pr_task *task = PR_CONTAINER_OF(n, struct pr_task, node);

        if (read_by_spawn(pool, task))
            still |= pr__spawn_resume(task);
    }
    for (n = pool->services.next; n != &pool->services; n = n->next)
        still |= pr__spawn_resume(PR_CONTAINER_OF(n, struct pr_task, node));
    if (pool->cb_running != NULL)
        still |= pr__spawn_resume(pool->cb_running);
    pool->paused_any |= still;
}

int
pr__pool_output_busy(const struct pr_pool *pool)
{
    return pr_output_busy(pool->output);
}

static void
on_output_change(void *data)
{
    struct pr_pool *pool = data;

    arm_watches(pool);
    if (pr_output_busy(pool->output))
        return;
    resume_paused(pool);
    if (pool->close_on_drain)
        close_own_handles(pool);
}

/* A sink can take more, or the pipe behind stdout lost its reader
 * (`poolrun | head -1`): then stop now, even if no task is writing,
 * rather than when the next write fails. */
static void
on_out_watch(uv_poll_t *handle, int status, int events)
{
    struct pr_pool *pool = handle->data;
    int stream = handle == &pool->out_watch[1] ? 2 : 1;
    int gone = status < 0 || (events & UV_DISCONNECT) != 0;
    int spurious;

    if (status < 0)
        pool->out_watch_events[stream - 1] = 0; /* libuv stopped it */
    spurious = !gone && pr_output_waiting(pool->output) != stream;
    if (!spurious)
        pr_output_ready(pool->output, stream, gone);
    set_watch(pool, stream,
              watch_base(pool, stream) |
                  (spurious ? 0
                            : pool->out_watch_events[stream - 1] &
                                  watch_room(pool, stream)));
    arm_watches(pool);
    if (pool->output_gated && !pr_output_congested(pool->output)) {
        pool->output_gated = 0;
        schedule(pool);
    }
}

/* The descriptors to watch belong to the output's writers. */
static void
watch_stdout(struct pr_pool *pool)
{
    arm_watches(pool);
}

/* SIGINT and SIGTERM mean now: output that waits for a slow or stuck
 * reader is dropped, so that poolrun can end (SIGHUP drains, keeping it).
 * The tasks have had their signal first. */
static void
on_signal_output(uv_signal_t *handle, int signum)
{
    struct pr_pool *pool = handle->data;

    on_signal(handle, signum);
    if (signum != SIGHUP)
        pr_output_abandon(pool->output);
}

int
pr_pool_run(struct pr_pool *pool, struct pr_source *src,
            struct pr_pool_result *result)
{
    size_t i;
    int rc;

    memset(result, 0, sizeof(*result));
    pool->result = result;
    pool->src = src;
    for (i = 0; i < PR_ARRAY_SIZE(pool->sigs); i++) {
        uv_signal_init(pool->loop, &pool->sigs[i]);
        pool->sigs[i].data = pool;
        uv_signal_start(&pool->sigs[i], on_signal_output, handled_signals[i]);
        pool->handles_open++;
    }
    uv_timer_init(pool->loop, &pool->kill_timer);
    pool->kill_timer.data = pool;
    pool->handles_open++;
    uv_timer_init(pool->loop, &pool->retry_timer);
    pool->retry_timer.data = pool;
    pool->handles_open++;
    uv_timer_init(pool->loop, &pool->reap_timer);
    pool->reap_timer.data = pool;
    pool->handles_open++;
    pool->subreaper = pr_sys_become_subreaper();
    if (pool->subreaper) {
        uv_timer_start(&pool->reap_timer, on_reap_timer, REAP_MS, REAP_MS);
        uv_unref((uv_handle_t *)&pool->reap_timer);
    }
    uv_timer_init(pool->loop, &pool->service_timer);
    pool->service_timer.data = pool;
    pool->handles_open++;
    uv_timer_init(pool->loop, &pool->gate_timer);
    pool->gate_timer.data = pool;
    pool->handles_open++;
    uv_timer_init(pool->loop, &pool->progress_timer);
    pool->progress_timer.data = pool;
    pool->handles_open++;
    pool->started_ms = uv_now(pool->loop);
    if (pool->progress != NULL && pr_progress_is_bar(pool->progress)) {
        uv_timer_start(&pool->progress_timer, on_progress_timer, PROGRESS_MS,
                       PROGRESS_MS);
        /* A repeating timer must not keep the loop alive by itself. */
        uv_unref((uv_handle_t *)&pool->progress_timer);
    }
    watch_stdout(pool);
    /* Without the guard (no memfd), the parent-death signal still ends
     * each task's main process. */
    if (!pool->cfg.dry_run)
        (void)pr_guard_start(&pool->spawn.guard, pool->cfg.kill_after);
    if (pool->cfg.workers != NULL && !pool->cfg.dry_run) {
        pool->workers = pr__workers_new(&pool->spawn, pool->cfg.workers,
                                        pool->cfg.jobs /
                                            pool->cfg.workers->inflight);
    }
    rc = src->ops->start(src, pool);
    if (rc != 0) {
        pool->input_ended = 1;
        result->input_error = rc;
        maybe_join(pool);
    }
    uv_run(pool->loop, UV_RUN_DEFAULT);
    pr_guard_stop(pool->spawn.guard);
    pool->spawn.guard = NULL;
    pool->src = NULL;
    return rc;
}
