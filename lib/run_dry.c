/*
 * run_dry: --dry-run.  A task "runs" by printing its command on its own
 * stdout, as if it had written that line and exited 0.  Its end comes from
 * a timer's close, a loop turn later, as a spawned task's does: the pool
 * sees the same order of events either way.
 */
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "runner.h"
#include "util.h"

/* A line too long for memory is printed from its file this much at a
 * time. */
#define CHUNK ((size_t)64 * 1024)

struct dry_run {
    uv_timer_t timer;
    const struct pr_runner_up *up;
    struct pr_task *task;
};

struct dry_runner {
    struct pr_runner base;
    const struct pr_spawn_ctx *ctx;
};

static void
on_dry_closed(uv_handle_t *handle)
{
    struct dry_run *dry = handle->data;
    struct pr_task *task = dry->task;
    const struct pr_runner_up *up = dry->up;

    free(dry);
    task->run = NULL;
    up->ended(up->data, task);
}

static void
print_long(const struct pr_runner_up *up, struct pr_task *task)
{
    char *buf = pr_xmalloc(CHUNK);
    uint64_t off = 0;

    while (off < task->long_len) {
        ssize_t r = pread(task->long_fd, buf, CHUNK, (off_t)off);

        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            task->error = r < 0 ? -errno : UV_EIO;
            task->error_what = "cannot read the long line back";
            break;
        }
        up->output(up->data, task, 1, buf, (size_t)r);
        off += (uint64_t)r;
    }
    free(buf);
}

static void
on_dry_timer(uv_timer_t *timer)
{
    struct dry_run *dry = timer->data;
    struct pr_task *task = dry->task;
    const struct pr_runner_up *up = dry->up;

    task->start_ns = uv_hrtime();
    task->start_wall = pr_wall_time();
    if (pr_task_runnable(task) == 0) {
        if (task->long_fd >= 0)
            print_long(up, task);
        else
            up->output(up->data, task, 1, task->line, task->line_len);
        up->output(up->data, task, 1, "\n", 1);
    }
    uv_close((uv_handle_t *)timer, on_dry_closed);
}

static int
dry_start(struct pr_runner *r, struct pr_task *task)
{
    struct dry_runner *dr = (struct dry_runner *)r;
    struct dry_run *dry = pr_xcalloc(1, sizeof(*dry));

    dry->up = r->up;
    dry->task = task;
    task->run = NULL;
    uv_timer_init(dr->ctx->loop, &dry->timer);
    dry->timer.data = dry;
    uv_timer_start(&dry->timer, on_dry_timer, 0, 0);
    return 0;
}

/* Nothing runs: there is nothing to signal, and nothing has exited
 * before it was seen. */
static void
dry_signal(struct pr_runner *r, struct pr_task *task, int sig)
{
    (void)r;
    (void)task;
    (void)sig;
}

static void
dry_signal_all(struct pr_runner *r, int sig)
{
    (void)r;
    (void)sig;
}

static int
dry_exited(const struct pr_runner *r, const struct pr_task *task)
{
    (void)r;
    (void)task;
    return 1;
}

static int
dry_owns_pid(const struct pr_runner *r, int pid)
{
    (void)r;
    (void)pid;
    return 0;
}

static void
dry_free(struct pr_runner *r)
{
    free(r);
}

static const struct pr_runner_ops dry_ops = {
    .start = dry_start,
    .signal = dry_signal,
    .signal_all = dry_signal_all,
    .exited = dry_exited,
    .owns_pid = dry_owns_pid,
    .free = dry_free,
};

struct pr_runner *
pr_runner_dry_new(const struct pr_spawn_ctx *ctx, const struct pr_runner_up *up)
{
    struct dry_runner *dr = pr_xcalloc(1, sizeof(*dr));

    dr->base.ops = &dry_ops;
    dr->base.up = up;
    dr->ctx = ctx;
    return &dr->base;
}
