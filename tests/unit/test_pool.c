/*
 * test_pool: the pool driven through its seams alone: a fake source puts
 * the tasks, a fake runner "runs" them (each ends a loop turn later with
 * the exit code its script says), a sink traces the records.  No process
 * is started for a task.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#include "pool.h"
#include "runner.h"
#include "slots.h"
#include "source.h"
#include "test.h"

int pr_test_failed;

#define MAX_TASKS 16

/* The fake runner: tasks end on the next loop turn, or when signalled
 * while `hold` keeps them running. */
struct fake_runner {
    struct pr_runner base;
    uv_timer_t timer;
    struct pr_task *running[MAX_TASKS];
    unsigned n;
    int hold;
    const int (*codes)[2]; /* exit code by seq and attempt */
    unsigned started;
    uint64_t step_ns;  /* each start takes this long on a fake clock */
    uint64_t clock_ns; /* the fake clock */
    unsigned started_at_tick; /* started when a timer of the test ran */
    int signalled;
    int shut_down;
    void (*done)(void *);
    void *done_data;
};

static struct fake_runner fake;

static void
end_all(uv_timer_t *timer)
{
    struct fake_runner *r = timer->data;
    struct pr_task *ending[MAX_TASKS];
    unsigned n = r->n;
    unsigned i;

    (void)timer;
    /* The pool may start more from inside ended: take the list first. */
    memcpy(ending, r->running, n * sizeof(ending[0]));
    r->n = 0;
    for (i = 0; i < n; i++) {
        struct pr_task *t = ending[i];

        if (t->signalled == 0)
            t->exit_status = r->codes[t->seq - 1][t->attempt - 1];
        t->end_ns = uv_hrtime();
        r->base.up->output(r->base.up->data, t, 1, "out\n", 4);
        r->base.up->ended(r->base.up->data, t);
    }
}

static int
fake_start(struct pr_runner *base, struct pr_task *task)
{
    struct fake_runner *r = (struct fake_runner *)base;

    r->running[r->n++] = task;
    r->started++;
    task->start_ns = r->step_ns ? (r->clock_ns += r->step_ns) : uv_hrtime();
    if (!r->hold)
        uv_timer_start(&r->timer, end_all, 0, 0);
    return 0;
}

static void
fake_signal_all(struct pr_runner *base, int sig)
{
    struct fake_runner *r = (struct fake_runner *)base;
    unsigned i;

    r->signalled = sig;
    for (i = 0; i < r->n; i++) {
        r->running[i]->signalled = sig;
        r->running[i]->term_signal = sig;
    }
    uv_timer_start(&r->timer, end_all, 0, 0);
}

static void
on_fake_closed(uv_handle_t *h)
{
    struct fake_runner *r = h->data;

    r->done(r->done_data);
}

static void
fake_shutdown(struct pr_runner *base, void (*done)(void *), void *data)
{
    struct fake_runner *r = (struct fake_runner *)base;

    r->shut_down = 1;
    r->done = done;
    r->done_data = data;
    uv_close((uv_handle_t *)&r->timer, on_fake_closed);
}

static int
fake_owns_pid(const struct pr_runner *r, int pid)
{
    (void)r;
    (void)pid;
    return 0;
}

static void
fake_free(struct pr_runner *r)
{
    (void)r;
}

static const struct pr_runner_ops fake_ops = {
    .start = fake_start,
    .signal_all = fake_signal_all,
    .shutdown = fake_shutdown,
    .owns_pid = fake_owns_pid,
    .free = fake_free,
};

static struct pr_runner *
fake_new(const struct pr_spawn_ctx *ctx, const struct pr_runner_up *up,
         void *data)
{
    (void)data;
    fake.base.ops = &fake_ops;
    fake.base.up = up;
    uv_timer_init(ctx->loop, &fake.timer);
    fake.timer.data = &fake;
    return &fake.base;
}

/* The fake source: puts `ntasks` shell lines at start, then ends; can
 * take unstarted tasks back. */
struct fake_source {
    struct pr_source base;
    const struct pr_intake *in;
    unsigned ntasks;
    unsigned put;
    int ended_input;
    int take_back;
    unsigned requeued;
    unsigned acked;
    uint64_t acked_seqs[MAX_TASKS];
};

static void
src_put_more(struct fake_source *s)
{
    while (s->put < s->ntasks && pr_intake_accepting(s->in)) {
        pr_intake_put(s->in, pr_task_new(0, "x", 1));
        s->put++;
    }
    if (s->put == s->ntasks && !s->ended_input) {
        s->ended_input = 1;
        pr_intake_end(s->in, 0);
    }
}

static int
src_start(struct pr_source *base, const struct pr_intake *in)
{
    struct fake_source *s = (struct fake_source *)base;

    s->in = in;
    src_put_more(s);
    return 0;
}

static void
src_resume(struct pr_source *base)
{
    src_put_more((struct fake_source *)base);
}

static void
src_stop(struct pr_source *base)
{
    struct fake_source *s = (struct fake_source *)base;

    if (!s->ended_input) {
        s->ended_input = 1;
        pr_intake_end(s->in, 0);
    }
}

static void
src_ended(struct pr_source *base, const struct pr_task *task)
{
    struct fake_source *s = (struct fake_source *)base;

    s->acked_seqs[s->acked++] = task->seq;
}

static int
src_requeue(struct pr_source *base, struct pr_task *task)
{
    struct fake_source *s = (struct fake_source *)base;

    if (!s->take_back)
        return 0;
    s->requeued++;
    pr_task_free(task); /* a durable queue would hand it on */
    return 1;
}

static void
src_free(struct pr_source *base)
{
    (void)base;
}

static const struct pr_source_ops src_ops = {
    src_start, src_resume, src_stop, src_ended, src_requeue, src_free,
};

/* A sink that keeps each record's seq, status and attempt. */
struct trace {
    unsigned finals;
    unsigned attempts;
    enum pr_task_status status[MAX_TASKS + 1];
    unsigned final_attempt[MAX_TASKS + 1];
};

static void
trace_final(void *data, const struct pr_task *task)
{
    struct trace *t = data;

    t->finals++;
    t->status[task->seq] = task->status;
    t->final_attempt[task->seq] = task->attempt;
}

static void
trace_attempt(void *data, const struct pr_task *task)
{
    (void)task;
    ((struct trace *)data)->attempts++;
}

static const struct pr_sink_ops trace_ops = {trace_attempt, trace_final, NULL};

/* What the caller of the pool does: the one-shot command's policy. */
struct run {
    uv_loop_t loop;
    struct pr_pool *pool;
    struct pr_join_waiter joined;
    int closed;
    int devnull;
};

static void
on_closed(void *data)
{
    ((struct run *)data)->closed = 1;
}

static void
on_joined(void *data)
{
    struct run *r = data;

    pr_pool_close(r->pool, on_closed, r);
}

static void
on_input_end(void *data)
{
    struct run *r = data;

    pr_batch_join(pr_pool_batch(r->pool), &r->joined, on_joined, r);
}

static void
setup(struct run *r, struct pr_pool_config *cfg, unsigned jobs)
{
    memset(r, 0, sizeof(*r));
    memset(cfg, 0, sizeof(*cfg));
    memset(&fake, 0, sizeof(fake));
    uv_loop_init(&r->loop);
    r->devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
    cfg->jobs = jobs;
    cfg->kill_after = 1;
    cfg->shell = "/bin/sh";
    cfg->output.mode = PR_OUT_GROUP;
    cfg->output.buffer_size = 4096;
    cfg->output.out_fd = r->devnull;
    cfg->output.err_fd = r->devnull;
    cfg->output.first_seq = 1;
    cfg->on_input_end = on_input_end;
    cfg->event_data = r;
    cfg->runner_new = fake_new;
}

/* Runs the loop to the end; returns uv_loop_close's result. */
static int
finish(struct run *r)
{
    int rc;

    uv_run(&r->loop, UV_RUN_DEFAULT);
    rc = uv_loop_close(&r->loop);
    pr_pool_free(r->pool);
    close(r->devnull);
    return rc;
}

static void
pool_runs_every_task_once_and_tallies_the_batch(void)
{
    static const int codes[5][2] = {{0}, {1}, {0}, {2}, {0}};
    struct run r;
    struct pr_pool_config cfg;
    struct pr_pool_result res;
    struct fake_source src = {{&src_ops}, 0, 5, 0, 0, 0, 0, 0, {0}};
    struct trace tr;
    const char *which = NULL;

    memset(&tr, 0, sizeof(tr));
    setup(&r, &cfg, 2);
    fake.codes = codes;
    ASSERT_EQ(pr_pool_new(&r.pool, &r.loop, &cfg, &which), 0);
    pr_pool_add_sink(r.pool, &trace_ops, &tr);
    ASSERT_EQ(pr_pool_start(r.pool, &src.base, &res), 0);
    ASSERT_EQ(finish(&r), 0);
    ASSERT_EQ(r.closed, 1);
    ASSERT_EQ(fake.started, 5);
    ASSERT_EQ(fake.shut_down, 1);
    ASSERT_EQ(tr.finals, 5);
    ASSERT_EQ(tr.status[2], PR_TASK_FAILED);
    ASSERT_EQ(tr.status[5], PR_TASK_OK);
    ASSERT_EQ(res.tally.total, 5);
    ASSERT_EQ(res.tally.ok, 3);
    ASSERT_EQ(res.tally.failed, 2);
    ASSERT_EQ(res.tally.first_code, 1);
    ASSERT_EQ(res.tally.max_code, 2);
    ASSERT_EQ(res.stop, PR_STOP_NONE);
    /* Every task was acknowledged to its source, once, after its record. */
    ASSERT_EQ(src.acked, 5);
}

static void
pool_retries_through_the_runner_and_records_the_last_attempt_only(void)
{
    static const int codes[2][2] = {{3, 0}, {0}};
    struct run r;
    struct pr_pool_config cfg;
    struct pr_pool_result res;
    struct fake_source src = {{&src_ops}, 0, 2, 0, 0, 0, 0, 0, {0}};
    struct trace tr;
    const char *which = NULL;

    memset(&tr, 0, sizeof(tr));
    setup(&r, &cfg, 1);
    cfg.retry.retries = 1;
    fake.codes = codes;
    ASSERT_EQ(pr_pool_new(&r.pool, &r.loop, &cfg, &which), 0);
    pr_pool_add_sink(r.pool, &trace_ops, &tr);
    ASSERT_EQ(pr_pool_start(r.pool, &src.base, &res), 0);
    ASSERT_EQ(finish(&r), 0);
    ASSERT_EQ(fake.started, 3);
    ASSERT_EQ(tr.attempts, 1);
    ASSERT_EQ(tr.finals, 2);
    ASSERT_EQ(tr.status[1], PR_TASK_OK);
    ASSERT_EQ(tr.final_attempt[1], 2);
    ASSERT_EQ(res.retried, 1);
    ASSERT_EQ(src.acked, 2);
}

static void
pool_stop_hands_unstarted_tasks_back_to_a_source_that_takes_them(void)
{
    static const int codes[3][2] = {{0}, {0}, {0}};
    struct run r;
    struct pr_pool_config cfg;
    struct pr_pool_result res;
    struct fake_source src = {{&src_ops}, 0, 3, 0, 0, 1, 0, 0, {0}};
    struct trace tr;
    const char *which = NULL;

    memset(&tr, 0, sizeof(tr));
    setup(&r, &cfg, 1);
    fake.codes = codes;
    fake.hold = 1;
    ASSERT_EQ(pr_pool_new(&r.pool, &r.loop, &cfg, &which), 0);
    pr_pool_add_sink(r.pool, &trace_ops, &tr);
    ASSERT_EQ(pr_pool_start(r.pool, &src.base, &res), 0);
    ASSERT_EQ(fake.started, 1); /* -j 1: the others wait on the queue */
    pr_pool_signal(r.pool, SIGTERM);
    ASSERT_EQ(fake.signalled, SIGTERM);
    ASSERT_EQ(src.requeued, 2);
    ASSERT_EQ(finish(&r), 0);
    ASSERT_EQ(r.closed, 1);
    /* Only the task that ran has a record, and only it is acknowledged. */
    ASSERT_EQ(tr.finals, 1);
    ASSERT_EQ(tr.status[1], PR_TASK_KILLED);
    ASSERT_EQ(src.acked, 1);
    ASSERT_EQ(src.acked_seqs[0], 1);
    ASSERT_EQ(res.stop, PR_STOP_SIGNAL);
    ASSERT_EQ(res.stop_signal, SIGTERM);
}

static void
pool_stop_skips_unstarted_tasks_the_source_does_not_take(void)
{
    static const int codes[3][2] = {{0}, {0}, {0}};
    struct run r;
    struct pr_pool_config cfg;
    struct pr_pool_result res;
    struct fake_source src = {{&src_ops}, 0, 3, 0, 0, 0, 0, 0, {0}};
    struct trace tr;
    const char *which = NULL;

    memset(&tr, 0, sizeof(tr));
    setup(&r, &cfg, 1);
    fake.codes = codes;
    fake.hold = 1;
    ASSERT_EQ(pr_pool_new(&r.pool, &r.loop, &cfg, &which), 0);
    pr_pool_add_sink(r.pool, &trace_ops, &tr);
    ASSERT_EQ(pr_pool_start(r.pool, &src.base, &res), 0);
    pr_pool_signal(r.pool, SIGTERM);
    ASSERT_EQ(finish(&r), 0);
    ASSERT_EQ(tr.finals, 3);
    ASSERT_EQ(tr.status[2], PR_TASK_SKIPPED);
    ASSERT_EQ(tr.status[3], PR_TASK_SKIPPED);
    ASSERT_EQ(res.tally.counts[PR_TASK_SKIPPED], 2);
    ASSERT_EQ(src.acked, 3);
}

static void
on_tick(uv_timer_t *t)
{
    fake.started_at_tick = fake.started;
    uv_close((uv_handle_t *)t, NULL);
}

/* Each start takes 1 ms of a fake clock: a slice (PR_SLICE_NS, 2 ms)
 * holds three, and the next three start only once the loop has handled
 * what came meanwhile (a due timer here, a task's end in a run). */
static void
pool_starts_in_slices_and_handles_events_between_them(void)
{
    static const int codes[MAX_TASKS][2];
    struct run r;
    struct pr_pool_config cfg;
    struct pr_pool_result res;
    struct fake_source src = {{&src_ops}, 0, 8, 0, 0, 0, 0, 0, {0}};
    uv_timer_t tick;
    const char *which = NULL;

    setup(&r, &cfg, MAX_TASKS);
    fake.codes = codes;
    fake.hold = 1;
    fake.step_ns = PR_SLICE_NS / 2;
    fake.clock_ns = 1;
    uv_timer_init(&r.loop, &tick);
    uv_timer_start(&tick, on_tick, 0, 0);
    ASSERT_EQ(pr_pool_new(&r.pool, &r.loop, &cfg, &which), 0);
    ASSERT_EQ(pr_pool_start(r.pool, &src.base, &res), 0);
    ASSERT_EQ(fake.started, 3);
    uv_run(&r.loop, UV_RUN_NOWAIT);
    ASSERT_EQ(fake.started_at_tick, 3);
    ASSERT_EQ(fake.started, 6);
    uv_run(&r.loop, UV_RUN_NOWAIT);
    ASSERT_EQ(fake.started, 8);
    pr_pool_signal(r.pool, SIGTERM);
    ASSERT_EQ(finish(&r), 0);
    ASSERT_EQ(res.tally.total, 8);
}

int
main(void)
{
    static const struct pr_test_case cases[] = {
        TEST_CASE(pool_runs_every_task_once_and_tallies_the_batch),
        TEST_CASE(
            pool_retries_through_the_runner_and_records_the_last_attempt_only),
        TEST_CASE(
            pool_stop_hands_unstarted_tasks_back_to_a_source_that_takes_them),
        TEST_CASE(pool_stop_skips_unstarted_tasks_the_source_does_not_take),
        TEST_CASE(pool_starts_in_slices_and_handles_events_between_them),
    };

    signal(SIGPIPE, SIG_IGN);
    return pr_test_run(cases, sizeof(cases) / sizeof(cases[0]));
}
