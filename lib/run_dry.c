/*
 * run_dry: --dry-run.  A task "runs" by printing its command on its own
 * stdout, as if it had written that line and exited 0.  Its end comes a
 * loop turn later, as a spawned task's does, so the pool sees the same
 * order of events either way.  The tasks started in one turn end in the
 * order they started, from one timer: a handle per task would end them
 * in the order of their handles' closes, which libuv runs last first, and
 * the printed commands would come out backwards.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "runner.h"
#include "template.h"
#include "util.h"

/* A line too long for memory is printed from its file this much at a
 * time. */
#define CHUNK ((size_t)64 * 1024)

struct dry_run {
    struct pr_list node; /* in dry_runner.due */
    struct pr_task *task;
};

/* The timer that ends the tasks due, a loop turn later.  It is closed
 * whenever none is due (a run with none left must leave no handle), and
 * a new one made for the next start: a closing handle cannot be reused. */
struct dry_tick {
    uv_timer_t timer;
    struct dry_runner *dr;
};

struct dry_runner {
    struct pr_runner base;
    const struct pr_spawn_ctx *ctx;
    struct dry_tick *tick; /* or NULL while no task is due */
    struct pr_list due;    /* started, in order, not yet ended */
};

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

/* A job file's task with its own cwd or env, as a line that runs it the
 * same way when pasted into a shell:
 * (cd DIR && env -u GONE NAME=value /bin/sh -c 'LINE'), without the
 * subshell and cd when it has no cwd. */
static void
print_pasteable(const struct pr_runner_up *up, const struct pr_spawn_ctx *ctx,
                struct pr_task *task)
{
    const struct pr_task_spec *spec = task->spec;
    struct pr_buf b = {0};
    size_t i;
    int pass;

    /* A subshell keeps the paster's shell where it was. */
    if (spec->cwd != NULL) {
        pr_buf_append(&b, "(cd ", 4);
        pr_shell_quote_if_needed(&b, spec->cwd, strlen(spec->cwd));
        pr_buf_append(&b, " && ", 4);
    }
    pr_buf_append(&b, "env", 3);
    /* env takes its -u options before the settings. */
    for (pass = 0; pass < 2; pass++)
        for (i = 0; spec->env != NULL && spec->env[i] != NULL; i++) {
            const char *e = spec->env[i];
            int set = strchr(e, '=') != NULL;

            if (set != pass)
                continue;
            pr_buf_append(&b, set ? " " : " -u ", set ? 1 : 4);
            pr_shell_quote_if_needed(&b, e, strlen(e));
        }
    pr_buf_append(&b, " ", 1);
    if (task->argv != NULL) {
        pr_buf_append(&b, task->line, task->line_len);
    } else {
        pr_shell_quote_if_needed(&b, ctx->shell, strlen(ctx->shell));
        pr_buf_append(&b, " -c ", 4);
        pr_shell_quote(&b, task->line, task->line_len);
    }
    if (spec->cwd != NULL)
        pr_buf_append(&b, ")", 1);
    up->output(up->data, task, 1, b.data, b.len);
    pr_buf_free(&b);
}

/* One task's "run": its command, as its output. */
static void
print_task(const struct pr_runner_up *up, const struct pr_spawn_ctx *ctx,
           struct pr_task *task)
{
    task->start_ns = uv_hrtime();
    task->start_wall = pr_wall_time();
    if (pr_task_runnable(task) != 0)
        return;
    if (task->long_fd >= 0)
        print_long(up, task);
    else if (task->spec != NULL &&
             (task->spec->cwd != NULL || task->spec->env != NULL))
        print_pasteable(up, ctx, task);
    else
        up->output(up->data, task, 1, task->line, task->line_len);
    up->output(up->data, task, 1, "\n", 1);
}

static void
on_tick_closed(uv_handle_t *handle)
{
    free(handle->data);
}

/* The tasks started since the last turn end, in the order they started;
 * those their ends start wait for the next turn. */
static void
on_dry_timer(uv_timer_t *timer)
{
    struct dry_tick *tick = timer->data;
    struct dry_runner *dr = tick->dr;
    const struct pr_runner_up *up = dr->base.up;
    struct pr_list now;

    pr_list_init(&now);
    if (!pr_list_empty(&dr->due)) {
        now.next = dr->due.next;
        now.prev = dr->due.prev;
        now.next->prev = &now;
        now.prev->next = &now;
        pr_list_init(&dr->due);
    }
    while (!pr_list_empty(&now)) {
        struct dry_run *dry = (struct dry_run *)now.next;
        struct pr_task *task = dry->task;

        pr_list_remove(&dry->node);
        free(dry);
        print_task(up, dr->ctx, task);
        up->ended(up->data, task);
    }
    if (pr_list_empty(&dr->due)) {
        dr->tick = NULL;
        uv_close((uv_handle_t *)timer, on_tick_closed);
    }
}

static int
dry_start(struct pr_runner *r, struct pr_task *task)
{
    struct dry_runner *dr = (struct dry_runner *)r;
    struct dry_run *dry = pr_xcalloc(1, sizeof(*dry));

    dry->task = task;
    task->run = NULL;
    pr_list_insert_before(&dr->due, &dry->node);
    if (dr->tick == NULL) {
        dr->tick = pr_xcalloc(1, sizeof(*dr->tick));
        dr->tick->dr = dr;
        uv_timer_init(dr->ctx->loop, &dr->tick->timer);
        dr->tick->timer.data = dr->tick;
    }
    if (!uv_is_active((uv_handle_t *)&dr->tick->timer))
        uv_timer_start(&dr->tick->timer, on_dry_timer, 0, 0);
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
    pr_list_init(&dr->due);
    return &dr->base;
}
