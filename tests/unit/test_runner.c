/*
 * test_runner: the runners driven by a fake pool, an upcall struct that
 * notes what it is told.  The spawn runner runs real processes; the dry
 * runner only prints.  Every case ends with uv_loop_close() == 0: a runner
 * closes every handle it opened before it says a task has ended.
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "runner.h"
#include "test.h"
#include "util.h"

int pr_test_failed;

/* The fake pool. */
struct fake_pool {
    struct pr_buf out; /* stream 1, all tasks */
    struct pr_buf err; /* stream 2 */
    unsigned ended;
    struct pr_task *last; /* the last task that ended */
    int open_at_end;      /* runner still owned its pid at the end */
    struct pr_runner *runner;
};

static void
up_output(void *data, struct pr_task *task, int stream, const char *p, size_t n)
{
    struct fake_pool *f = data;

    (void)task;
    pr_buf_append(stream == 1 ? &f->out : &f->err, p, n);
}

static int
up_splice(void *data, struct pr_task *task, int stream, int fd)
{
    (void)data;
    (void)task;
    (void)stream;
    (void)fd;
    return 0; /* the runner reads it */
}

static int
up_output_busy(void *data)
{
    (void)data;
    return 0;
}

static void
up_ended(void *data, struct pr_task *task)
{
    struct fake_pool *f = data;

    f->ended++;
    f->last = task;
    if (task->pid > 0)
        f->open_at_end = f->runner->ops->owns_pid(f->runner, task->pid);
}

static void
up_message(void *data, const char *p, size_t n)
{
    (void)data;
    (void)p;
    (void)n;
}

static void
up_worker_started(void *data)
{
    (void)data;
}

static void
up_worker_exit(void *data, const struct pr_worker_exit *e)
{
    (void)data;
    (void)e;
}

static void
up_failed(void *data, const char *msg)
{
    (void)data;
    (void)msg;
}

struct harness {
    uv_loop_t loop;
    struct pr_spawn_ctx ctx;
    struct fake_pool f;
    struct pr_runner_up up;
};

static void
harness_init(struct harness *h)
{
    memset(h, 0, sizeof(*h));
    uv_loop_init(&h->loop);
    pr_spawn_ctx_init(&h->ctx, &h->loop, "/bin/sh", 1.0, 0);
    h->up.data = &h->f;
    h->up.output = up_output;
    h->up.splice = up_splice;
    h->up.output_busy = up_output_busy;
    h->up.ended = up_ended;
    h->up.message = up_message;
    h->up.worker_started = up_worker_started;
    h->up.worker_exit = up_worker_exit;
    h->up.failed = up_failed;
}

/* Runs the loop to the end, frees the runner; returns uv_loop_close's
 * result. */
static int
harness_finish(struct harness *h)
{
    int rc;

    uv_run(&h->loop, UV_RUN_DEFAULT);
    rc = uv_loop_close(&h->loop);
    h->f.runner->ops->free(h->f.runner);
    pr_spawn_ctx_free(&h->ctx);
    return rc;
}

static void
harness_free(struct harness *h)
{
    pr_buf_free(&h->f.out);
    pr_buf_free(&h->f.err);
}

static struct pr_task *
shell_task(const char *line)
{
    struct pr_task *t = pr_task_new(1, line, strlen(line));

    t->slot = 1;
    return t;
}

static void
spawn_runner_reports_output_and_exit_through_the_upcalls(void)
{
    struct harness h;
    struct pr_task *t = shell_task("printf out; printf err >&2; exit 3");

    harness_init(&h);
    h.f.runner = pr_runner_spawn_new(&h.ctx, &h.up);
    ASSERT_EQ(h.f.runner->ops->start(h.f.runner, t), 0);
    ASSERT_EQ(h.f.ended, 0); /* never from inside start */
    ASSERT_TRUE(t->pid > 0);
    ASSERT_EQ(h.f.runner->ops->owns_pid(h.f.runner, t->pid), 1);
    uv_run(&h.loop, UV_RUN_DEFAULT);
    ASSERT_EQ(h.f.ended, 1);
    ASSERT_TRUE(h.f.last == t);
    ASSERT_EQ(t->exit_status, 3);
    ASSERT_MEM_EQ(h.f.out.data, h.f.out.len, "out");
    ASSERT_MEM_EQ(h.f.err.data, h.f.err.len, "err");
    /* Once ended, the runner no longer holds the task. */
    ASSERT_EQ(h.f.open_at_end, 0);
    ASSERT_EQ(harness_finish(&h), 0);
    harness_free(&h);
    pr_task_free(t);
}

static void
spawn_runner_signal_all_ends_every_task_it_runs(void)
{
    struct harness h;
    struct pr_task *a = shell_task("exec sleep 30");
    struct pr_task *b = shell_task("exec sleep 30");

    harness_init(&h);
    h.f.runner = pr_runner_spawn_new(&h.ctx, &h.up);
    ASSERT_EQ(h.f.runner->ops->start(h.f.runner, a), 0);
    ASSERT_EQ(h.f.runner->ops->start(h.f.runner, b), 0);
    ASSERT_EQ(h.f.runner->ops->exited(h.f.runner, a), 0);
    h.f.runner->ops->signal_all(h.f.runner, SIGTERM);
    ASSERT_EQ(harness_finish(&h), 0);
    ASSERT_EQ(h.f.ended, 2);
    ASSERT_EQ(a->term_signal, SIGTERM);
    ASSERT_EQ(b->term_signal, SIGTERM);
    ASSERT_EQ(a->signalled, SIGTERM);
    pr_task_free(a);
    pr_task_free(b);
}

static void
spawn_runner_failure_to_start_ends_later_with_the_error(void)
{
    struct harness h;
    struct pr_task *t = shell_task("x");

    t->error = UV_EINVAL; /* as a command that could not be built */
    harness_init(&h);
    h.f.runner = pr_runner_spawn_new(&h.ctx, &h.up);
    ASSERT_EQ(h.f.runner->ops->start(h.f.runner, t), UV_EINVAL);
    ASSERT_EQ(h.f.ended, 0);
    ASSERT_EQ(harness_finish(&h), 0);
    ASSERT_EQ(h.f.ended, 1);
    ASSERT_EQ(t->error, UV_EINVAL);
    pr_task_free(t);
}

static void
dry_runner_prints_the_command_and_ends_as_exit_0(void)
{
    struct harness h;
    struct pr_task *t = shell_task("echo 'a b'");

    harness_init(&h);
    h.f.runner = pr_runner_dry_new(&h.ctx, &h.up);
    ASSERT_EQ(h.f.runner->ops->start(h.f.runner, t), 0);
    ASSERT_EQ(h.f.ended, 0);
    ASSERT_EQ(harness_finish(&h), 0);
    ASSERT_EQ(h.f.ended, 1);
    ASSERT_EQ(t->exit_status, 0);
    ASSERT_EQ(t->pid, 0);
    ASSERT_MEM_EQ(h.f.out.data, h.f.out.len, "echo 'a b'\n");
    harness_free(&h);
    pr_task_free(t);
}

int
main(void)
{
    static const struct pr_test_case cases[] = {
        TEST_CASE(spawn_runner_reports_output_and_exit_through_the_upcalls),
        TEST_CASE(spawn_runner_signal_all_ends_every_task_it_runs),
        TEST_CASE(spawn_runner_failure_to_start_ends_later_with_the_error),
        TEST_CASE(dry_runner_prints_the_command_and_ends_as_exit_0),
    };

    signal(SIGPIPE, SIG_IGN);
    return pr_test_run(cases, sizeof(cases) / sizeof(cases[0]));
}
