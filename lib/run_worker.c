/*
 * run_worker: the worker processes and the tasks in flight on each.
 *
 * A worker is `/bin/sh -c CMD` in its own session with three pipes.  Tasks
 * are written to its stdin as they are handed over (batched per loop turn:
 * one write for everything queued), answers are read from its stdout and
 * matched to the oldest task in flight, and what it writes on stderr goes
 * to that task's stderr.  A worker ends in one place (worker_gone) once its
 * process has exited and its pipes are closed: the task it was on gets its
 * end, the others it held go back to the queue, and a replacement starts
 * unless the pool is shutting down.
 */
#include "run_worker.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "json.h"
#include "proc.h"
#include "runner.h"
#include "sys.h"
#include "util.h"

/* A worker that dies this many times in a row without answering a task
 * stops the run: its command is broken, and looping would hide that. */
#define CRASH_LOOP_MAX 5
#define READ_CHUNK     (64 * 1024)
/* A task held this long without an answer, while other workers answer,
 * is said once (on_quiet). */
#define QUIET_NS ((uint64_t)10 * 1000000000)

enum worker_state {
    W_STARTING, /* spawned; takes tasks */
    W_DRAINING, /* served its --max-tasks-per-worker: no new tasks */
    W_STOPPING, /* sentinel sent or stdin closed; waiting for it to exit */
    W_KILLING,  /* SIGTERM sent; SIGKILL follows */
    W_DEAD
};

struct worker {
    struct pr_workers *ws;
    unsigned index; /* 1..N */
    enum worker_state state;
    uv_process_t proc;
    uv_pipe_t in, out, err;
    uv_timer_t timer; /* the oldest task's timeout, or the shutdown grace */
    struct pr_proc_end end; /* its group's end, once its process exits */
    int open_handles;
    int exited;
    int out_open, err_open, in_open;
    int exit_status;
    int term_signal;
    int pid;
    struct pr_list inflight; /* tasks sent, oldest first */
    unsigned ninflight;
    unsigned window; /* how many it may hold now (adapt_window) */
    uint64_t served;
    int spawn_err;          /* uv_spawn's error, when it could not start */
    uint64_t answered_ns;   /* ws->now_ns at its last answer */
    int warned_quiet;       /* said to hold a task without answering */
    struct pr_buf outbuf;   /* to write to its stdin */
    int writing;            /* a uv_write is under way */
    struct pr_buf line;     /* a partial answer line */
    int timed_out;          /* the oldest task passed its timeout */
    int broken;             /* a malformed answer: it is being replaced */
    int closed_out;         /* it closed its stdout while it had to answer */
    int sent_signal;        /* the last signal poolrun sent its group */
    const char *broken_msg; /* why (a constant string) */
    uv_write_t wreq;
    struct pr_buf wbuf; /* the bytes of the write under way */
};

struct pr_workers {
    struct pr_runner base;
    const struct pr_runner_up *up;
    const struct pr_spawn_ctx *ctx;
    struct pr_worker_config cfg;
    char *cmd; /* cfg.cmd, ours to hand to exec */
    struct worker **w;
    unsigned n;
    struct pr_list waiting; /* tasks handed over while no worker had room */
    uv_prepare_t flush;     /* writes what the loop turn queued */
    uv_timer_t defer;       /* ends tasks that failed at hand-over */
    uv_timer_t quiet;       /* looks for a worker that holds a task long */
    struct pr_list failed;  /* those tasks */
    /* The clock, read once per wake-up that needs it (stamp), not per
     * task: a worker answers thousands of tasks a read. */
    uint64_t now_ns;
    double now_wall;
    int handles_open;
    int shutting_down;
    int stopped; /* the pool stopped now (signal): no replacements */
    int stop_signal;
    unsigned crash_streak;
    uint64_t answered; /* answers from any worker, ever */
    int unstartable;   /* the command cannot start: said once, run stopped */
    void (*done)(void *data);
    void *done_data;
    char read_buf[READ_CHUNK];
};

static void start_worker(struct pr_workers *ws, unsigned index);
static void pipe_closed(struct worker *w);
static void answer_broken(struct worker *w, const char *why);
static void on_defer(uv_timer_t *timer);
static void on_quiet(uv_timer_t *timer);
static void close_pipe(struct worker *w, uv_pipe_t *pipe, int *open);
static void dispatch_waiting(struct pr_workers *ws);
static void kill_worker(struct worker *w, int sig);

static int
worker_alive(const struct worker *w)
{
    return w != NULL && w->state != W_DEAD;
}

static void
stamp(struct pr_workers *ws)
{
    ws->now_ns = uv_hrtime();
    ws->now_wall = pr_wall_time();
}

/* Without --inflight, a worker's window adapts: it starts at one task,
 * doubles with each answer that came back fast (the worker is waiting on
 * us, not working), and halves with each slow one, so a worker busy with
 * a long task is not sent more that another could take.  --inflight K
 * fixes it at K. */
#define WINDOW_FAST_NS ((uint64_t)1000000)  /* 1 ms */
#define WINDOW_SLOW_NS ((uint64_t)20000000) /* 20 ms */

static void
adapt_window(struct worker *w, const struct pr_task *task)
{
    uint64_t took = task->end_ns - task->start_ns;

    if (w->ws->cfg.inflight_fixed)
        return;
    if (took < WINDOW_FAST_NS && w->window < w->ws->cfg.inflight)
        w->window = w->window * 2 < w->ws->cfg.inflight ? w->window * 2
                                                        : w->ws->cfg.inflight;
    else if (took > WINDOW_SLOW_NS && w->window > 1)
        w->window /= 2;
}

/* The task's input: the job file's "input", else its items. */
static void
task_input(const struct pr_task *task, const char **p, size_t *n,
           struct pr_buf *scratch)
{
    unsigned i;

    if (task->spec != NULL && task->spec->input != NULL) {
        *p = task->spec->input;
        *n = strlen(task->spec->input);
        return;
    }
    if (task->nitems == 1) {
        *p = task->items[0].p;
        *n = task->items[0].len;
        return;
    }
    scratch->len = 0;
    for (i = 0; i < task->nitems; i++) {
        if (i > 0)
            pr_buf_append(scratch, " ", 1);
        pr_buf_append(scratch, task->items[i].p, task->items[i].len);
    }
    if (task->nitems == 0 && task->line != NULL)
        pr_buf_append(scratch, task->line, task->line_len);
    *p = scratch->data ? scratch->data : "";
    *n = scratch->len;
}

void
pr_worker_task_input(const struct pr_task *task, const char **p, size_t *n,
                     struct pr_buf *scratch)
{
    task_input(task, p, n, scratch);
}

/* Appends the task's request to the worker's stdin buffer.  Returns 0, or
 * -1 with task->error_what set when the input cannot be sent this way. */
static int
encode_task(struct worker *w, struct pr_task *task)
{
    struct pr_buf scratch = {0};
    const char *p;
    size_t n;

    task_input(task, &p, &n, &scratch);
    if (w->ws->cfg.protocol == PR_PROTO_LINE) {
        if (memchr(p, '\n', n) != NULL) {
            pr_buf_free(&scratch);
            task->error_what = "its input holds a newline, which --protocol "
                               "line cannot send (use --protocol json)";
            return -1;
        }
        pr_buf_append(&w->outbuf, p, n);
        pr_buf_append(&w->outbuf, "\n", 1);
    } else {
        char head[48];
        int len =
            snprintf(head, sizeof(head),
                     "{\"seq\":%llu,\"input\":", (unsigned long long)task->seq);
        size_t mark = w->outbuf.len;

        pr_buf_append(&w->outbuf, head, (size_t)len);
        if (pr_json_append_string(&w->outbuf, p, n) != 0) {
            w->outbuf.len = mark;
            pr_buf_free(&scratch);
            task->error_what = "its input is not valid UTF-8, which --protocol "
                               "json cannot send";
            return -1;
        }
        pr_buf_append(&w->outbuf, "}\n", 2);
    }
    pr_buf_free(&scratch);
    return 0;
}

static void flush_worker(struct worker *w);

static void
on_written(uv_write_t *req, int status)
{
    struct worker *w = req->data;

    w->writing = 0;
    w->wbuf.len = 0;
    if (status != 0)
        return; /* it went away: its exit will tell */
    flush_worker(w);
    if (!w->writing && w->state == W_STOPPING)
        close_pipe(w, &w->in, &w->in_open);
}

static void
flush_worker(struct worker *w)
{
    uv_buf_t b;
    int n;

    if (w->writing || w->outbuf.len == 0 || !w->in_open)
        return;
    b = uv_buf_init(w->outbuf.data, (unsigned)w->outbuf.len);
    n = uv_try_write((uv_stream_t *)&w->in, &b, 1);
    if (n == (int)w->outbuf.len) {
        w->outbuf.len = 0;
        return;
    }
    if (n < 0 && n != UV_EAGAIN) {
        w->outbuf.len = 0; /* it went away: its exit will tell */
        return;
    }
    if (n < 0)
        n = 0;
    /* The rest goes out with a queued write; swap the buffers. */
    w->wbuf.len = 0;
    pr_buf_append(&w->wbuf, w->outbuf.data + n, w->outbuf.len - (size_t)n);
    w->outbuf.len = 0;
    b = uv_buf_init(w->wbuf.data, (unsigned)w->wbuf.len);
    w->wreq.data = w;
    if (uv_write(&w->wreq, (uv_stream_t *)&w->in, &b, 1, on_written) == 0)
        w->writing = 1;
    else
        w->wbuf.len = 0;
}

static void
on_flush(uv_prepare_t *handle)
{
    struct pr_workers *ws = handle->data;
    unsigned i;

    for (i = 0; i < ws->n; i++)
        if (worker_alive(ws->w[i]))
            flush_worker(ws->w[i]);
    uv_prepare_stop(handle);
}

static void
want_flush(struct pr_workers *ws)
{
    if (!uv_is_active((uv_handle_t *)&ws->flush))
        uv_prepare_start(&ws->flush, on_flush);
}

static double
task_timeout(const struct pr_workers *ws, const struct pr_task *task)
{
    if (task->spec != NULL && task->spec->timeout >= 0)
        return task->spec->timeout;
    return ws->ctx->timeout;
}

static void on_worker_timer(uv_timer_t *timer);

/* The timer watches the oldest task in flight. */
static void
arm_timeout(struct worker *w)
{
    struct pr_task *oldest;
    double limit;
    uint64_t elapsed_ms, limit_ms;

    if (w->state != W_STARTING && w->state != W_DRAINING)
        return;
    if (w->ninflight == 0) {
        uv_timer_stop(&w->timer);
        return;
    }
    oldest = PR_CONTAINER_OF(w->inflight.next, struct pr_task, run_node);
    limit = task_timeout(w->ws, oldest);
    if (limit <= 0) {
        uv_timer_stop(&w->timer);
        return;
    }
    limit_ms = pr_seconds_to_ms(limit);
    elapsed_ms = w->ws->now_ns > oldest->start_ns
                     ? (w->ws->now_ns - oldest->start_ns) / 1000000
                     : 0;
    uv_timer_start(&w->timer, on_worker_timer,
                   elapsed_ms < limit_ms ? limit_ms - elapsed_ms : 0, 0);
}

static void
send_task(struct worker *w, struct pr_task *task)
{
    /* It starts now if the worker is idle; else once the worker turns to
     * it (take_oldest). */
    if (w->ninflight == 0)
        stamp(w->ws);
    task->start_ns = w->ws->now_ns;
    task->start_wall = w->ws->now_wall;
    task->end_ns = 0;
    if (pr_task_runnable(task) != 0 || encode_task(w, task) != 0) {
        /* Ends later, never inside the pool's call. */
        if (task->error == 0)
            task->error = UV_EINVAL;
        pr_list_insert_before(&w->ws->failed, &task->run_node);
        uv_timer_start(&w->ws->defer, on_defer, 0, 0);
        return;
    }
    task->pid = w->pid;
    task->run = w;
    pr_list_insert_before(&w->inflight, &task->run_node);
    w->ninflight++;
    if (w->ninflight == 1)
        arm_timeout(w);
    want_flush(w->ws);
}

/* The worker with the fewest tasks in flight that still has room. */
static struct worker *
pick_worker(struct pr_workers *ws)
{
    struct worker *best = NULL;
    unsigned i;

    for (i = 0; i < ws->n; i++) {
        struct worker *w = ws->w[i];

        if (w == NULL || w->state != W_STARTING || w->ninflight >= w->window)
            continue;
        if (ws->cfg.max_tasks != 0 &&
            w->served + w->ninflight >= ws->cfg.max_tasks)
            continue;
        if (best == NULL || w->ninflight < best->ninflight)
            best = w;
    }
    return best;
}

static void
dispatch_waiting(struct pr_workers *ws)
{
    while (!pr_list_empty(&ws->waiting)) {
        struct worker *w = pick_worker(ws);
        struct pr_task *task;

        if (w == NULL)
            return;
        task = PR_CONTAINER_OF(ws->waiting.next, struct pr_task, run_node);
        pr_list_remove(&task->run_node);
        send_task(w, task);
    }
}

static int
workers_start(struct pr_runner *r, struct pr_task *task)
{
    struct pr_workers *ws = (struct pr_workers *)r;
    struct worker *w = pick_worker(ws);

    if (w == NULL) {
        /* Every worker is full or being replaced: it waits its turn,
         * holding its slot. */
        pr_list_insert_before(&ws->waiting, &task->run_node);
        task->pid = -1; /* not started, but not failed either */
        return 0;
    }
    send_task(w, task);
    return 0;
}

static void
on_defer(uv_timer_t *timer)
{
    struct pr_workers *ws = timer->data;

    while (!pr_list_empty(&ws->failed)) {
        struct pr_task *task =
            PR_CONTAINER_OF(ws->failed.next, struct pr_task, run_node);

        pr_list_remove(&task->run_node);
        ws->up->ended(ws->up->data, task);
    }
}

/* The oldest task in flight has its answer (or its end). */
static struct pr_task *
take_oldest(struct worker *w)
{
    struct pr_task *task;

    if (w->ninflight == 0)
        return NULL;
    task = PR_CONTAINER_OF(w->inflight.next, struct pr_task, run_node);
    pr_list_remove(&task->run_node);
    w->ninflight--;
    task->run = NULL;
    task->end_ns =
        w->ws->now_ns > task->start_ns ? w->ws->now_ns : task->start_ns;
    if (w->ninflight > 0) {
        /* The worker turns to the next one now: its runtime and timeout
         * count from here, not from when it was sent ahead. */
        struct pr_task *next =
            PR_CONTAINER_OF(w->inflight.next, struct pr_task, run_node);

        next->start_ns = w->ws->now_ns;
        next->start_wall = w->ws->now_wall;
    }
    return task;
}

static void begin_stop(struct worker *w);

static void
task_answered(struct worker *w, struct pr_task *task)
{
    struct pr_workers *ws = w->ws;

    w->served++;
    ws->answered++;
    w->answered_ns = ws->now_ns;
    ws->crash_streak = 0;
    adapt_window(w, task);
    arm_timeout(w);
    ws->up->ended(ws->up->data, task);
    /* Recycling: a worker that has served its share is replaced. */
    if (ws->cfg.max_tasks != 0 && w->served >= ws->cfg.max_tasks &&
        w->state == W_STARTING)
        w->state = W_DRAINING;
    if (w->state == W_DRAINING && w->ninflight == 0)
        begin_stop(w);
}

/* A malformed answer: the task fails with why, the worker is replaced. */
static void
answer_broken(struct worker *w, const char *why)
{
    if (w->broken)
        return;
    w->broken = 1;
    w->broken_msg = why;
    kill_worker(w, SIGKILL);
}

/* An answer's field that may be missing, null or a string: 0 (and *s, or
 * NULL), or UV_EINVAL. */
static int
optional_string(const struct pr_json *v, const char **s)
{
    *s = NULL;
    if (pr_json_type(v) == PR_JSON_NONE || pr_json_type(v) == PR_JSON_NULL)
        return 0;
    return pr_json_get_string(v, s);
}

static void
answer_json(struct worker *w, struct pr_task *task, const char *p, size_t n)
{
    const struct pr_runner_up *up = w->ws->up;
    struct pr_json_doc *doc = pr_json_parse_loose(p, n);
    const struct pr_json *root = pr_json_root(doc);
    const struct pr_json *code = pr_json_member(root, "exit");
    const char *out, *err;
    long exit_code = 0;

    if (pr_json_type(root) != PR_JSON_OBJECT ||
        optional_string(pr_json_member(root, "output"), &out) != 0 ||
        (code != NULL && pr_json_get_whole(code, 0, 255, &exit_code) != 0) ||
        optional_string(pr_json_member(root, "error"), &err) != 0) {
        pr_json_free(doc);
        goto bad;
    }
    if (out != NULL) {
        size_t len = strlen(out);

        up->output(up->data, task, 1, out, len);
        if (len == 0 || out[len - 1] != '\n')
            up->output(up->data, task, 1, "\n", 1);
    }
    if (err != NULL) {
        up->output(up->data, task, 2, err, strlen(err));
        up->output(up->data, task, 2, "\n", 1);
    }
    task->exit_status = code != NULL ? (int)exit_code : err != NULL ? 1 : 0;
    pr_json_free(doc);
    task_answered(w, task);
    return;
bad:
    /* Back to the front of the list: the worker's end decides. */
    pr_list_insert_before(w->inflight.next, &task->run_node);
    w->ninflight++;
    task->run = w;
    answer_broken(w, "the worker's answer is not a JSON object with "
                     "\"output\" (a string), \"exit\" (0-255) and \"error\"");
}

/* One complete line from the worker's stdout, its newline at p[n]. */
static void
on_answer(struct worker *w, const char *p, size_t n)
{
    struct pr_task *task;

    if (w->broken)
        return;
    task = take_oldest(w);
    if (task == NULL) {
        answer_broken(w, "the worker answered with no task in flight");
        return;
    }
    if (w->ws->cfg.protocol == PR_PROTO_JSON) {
        answer_json(w, task, p, n);
        return;
    }
    /* The line with its newline: one piece of output, one write if it
     * goes out as it comes. */
    w->ws->up->output(w->ws->up->data, task, 1, p, n + 1);
    task->exit_status = 0;
    task_answered(w, task);
}

static void
on_alloc(uv_handle_t *handle, size_t suggested, uv_buf_t *buf)
{
    struct worker *w = handle->data;

    (void)suggested;
    buf->base = w->ws->read_buf;
    buf->len = sizeof(w->ws->read_buf);
}

static void maybe_gone(struct worker *w);

static void
on_handle_closed(uv_handle_t *handle)
{
    struct worker *w = handle->data;

    w->open_handles--;
    maybe_gone(w);
}

static void
close_pipe(struct worker *w, uv_pipe_t *pipe, int *open)
{
    if (!*open)
        return;
    *open = 0;
    if (pipe != &w->in)
        uv_read_stop((uv_stream_t *)pipe);
    uv_close((uv_handle_t *)pipe, on_handle_closed);
}

static int
end_pipes_open(void *data)
{
    const struct worker *w = data;

    return w->out_open || w->err_open;
}

static void
end_cut_pipes(void *data)
{
    struct worker *w = data;

    close_pipe(w, &w->out, &w->out_open);
    close_pipe(w, &w->err, &w->err_open);
}

static void
end_settled(void *data)
{
    maybe_gone(data);
}

static const struct pr_proc_end_ops end_ops = {end_pipes_open, end_cut_pipes,
                                               end_settled};

/* Its stdout or stderr is at EOF. */
static void
pipe_closed(struct worker *w)
{
    if (!w->out_open && !w->err_open)
        pr_proc_end_pipes_closed(&w->end);
    maybe_gone(w);
}

static void
on_out_read(uv_stream_t *stream, ssize_t n, const uv_buf_t *buf)
{
    struct worker *w = stream->data;
    const char *p = buf->base;
    const char *end = p + (n > 0 ? n : 0);

    stamp(w->ws); /* for every answer in this read */
    if (n < 0) {
        close_pipe(w, &w->out, &w->out_open);
        /* A worker that is not being stopped, and not dying either, can
         * never answer again: it is as good as dead, however long its
         * process lives on. */
        if ((w->state == W_STARTING || w->state == W_DRAINING) && !w->exited &&
            !pr_sys_exiting(w->pid)) {
            w->closed_out = 1;
            kill_worker(w, SIGTERM);
        }
        pipe_closed(w);
        return;
    }
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));

        if (nl == NULL) {
            pr_buf_append(&w->line, p, (size_t)(end - p));
            break;
        }
        if (w->line.len > 0) {
            pr_buf_append(&w->line, p, (size_t)(nl - p) + 1);
            on_answer(w, w->line.data, w->line.len - 1);
            w->line.len = 0;
        } else {
            on_answer(w, p, (size_t)(nl - p));
        }
        p = nl + 1;
    }
    dispatch_waiting(w->ws);
}

static void
on_err_read(uv_stream_t *stream, ssize_t n, const uv_buf_t *buf)
{
    struct worker *w = stream->data;

    if (n < 0) {
        close_pipe(w, &w->err, &w->err_open);
        pipe_closed(w);
        return;
    }
    if (n == 0)
        return;
    /* Its stderr belongs to the task it is on, if any. */
    if (w->ninflight > 0)
        w->ws->up->output(
            w->ws->up->data,
            PR_CONTAINER_OF(w->inflight.next, struct pr_task, run_node), 2,
            buf->base, (size_t)n);
    else
        w->ws->up->message(w->ws->up->data, buf->base, (size_t)n);
}

static void
on_worker_exit(uv_process_t *proc, int64_t exit_status, int term_signal)
{
    struct worker *w = proc->data;

    w->exited = 1;
    w->exit_status = (int)exit_status;
    w->term_signal = term_signal;
    close_pipe(w, &w->in, &w->in_open);
    uv_close((uv_handle_t *)proc, on_handle_closed);
    /* What it left in its group goes with it, as a task's does. */
    pr_proc_end_exited(&w->end, w->pid, 0);
}

static void
on_timer_closed(uv_handle_t *handle)
{
    struct worker *w = handle->data;
    struct pr_workers *ws = w->ws;
    unsigned index = w->index;
    int replace;

    replace = !ws->shutting_down && !ws->stopped;
    pr_buf_free(&w->outbuf);
    pr_buf_free(&w->wbuf);
    pr_buf_free(&w->line);
    ws->w[index - 1] = NULL;
    free(w);
    ws->handles_open--;
    if (replace) {
        start_worker(ws, index);
        dispatch_waiting(ws);
    }
    if (ws->shutting_down && ws->handles_open == 0 && ws->done != NULL) {
        void (*done)(void *) = ws->done;

        ws->done = NULL;
        done(ws->done_data);
    }
}

/* Its group's timer, then its own: the last close frees it. */
static void
on_end_closed(uv_handle_t *handle)
{
    struct worker *w = handle->data;

    uv_close((uv_handle_t *)&w->timer, on_timer_closed);
}

/* Did the worker's command not start at all: no worker has answered
 * anything yet, and this one could not be spawned, or its shell exited
 * 127 or 126 (not found, cannot run)?  Once that is said, every worker
 * that ends without an answer goes quietly. */
static int
cannot_start(const struct worker *w)
{
    const struct pr_workers *ws = w->ws;

    if (w->served != 0 || ws->answered != 0)
        return 0;
    if (ws->unstartable)
        return 1;
    if (w->term_signal != 0)
        return 0;
    return w->spawn_err != 0 || w->exit_status == 127 || w->exit_status == 126;
}

/* The command cannot start: one line says why, the run stops, and the
 * tasks the worker held go back to the queue, to be recorded as skipped
 * by the stop rather than each failed by a worker that never ran. */
static void
gone_unstarted(struct worker *w)
{
    struct pr_workers *ws = w->ws;
    struct pr_task *task;
    char msg[512];

    while ((task = take_oldest(w)) != NULL) {
        task->requeue = 1;
        ws->up->ended(ws->up->data, task);
    }
    if (!ws->unstartable) {
        ws->unstartable = 1;
        ws->stopped = 1;
        if (w->spawn_err != 0)
            snprintf(msg, sizeof(msg), "--workers %s: cannot start: %s",
                     ws->cfg.cmd, pr_err_text(w->spawn_err));
        else
            snprintf(msg, sizeof(msg),
                     "--workers %s: cannot start: the shell exited %d (%s) "
                     "before any answer",
                     ws->cfg.cmd, w->exit_status,
                     w->exit_status == 127 ? "command not found"
                                           : "found but cannot run");
        ws->up->failed(ws->up->data, msg);
    }
    pr_proc_end_close(&w->end, on_end_closed);
}

/* The process has exited and its stdout and stderr are closed: its tasks
 * get their ends, and the worker is reported and freed. */
static void
maybe_gone(struct worker *w)
{
    struct pr_workers *ws = w->ws;
    struct pr_worker_exit e;
    struct pr_task *task;
    int first = 1;
    /* Ended by poolrun because it closed its stdout. */
    int closed = w->closed_out && w->term_signal != 0 &&
                 w->term_signal == w->sent_signal;
    int told = (w->state == W_STOPPING || w->state == W_KILLING) && !closed;

    if (w->state == W_DEAD || !w->exited || w->open_handles > 0 ||
        !pr_proc_end_settled(&w->end))
        return;
    w->state = W_DEAD;
    uv_timer_stop(&w->timer);
    if (cannot_start(w)) {
        gone_unstarted(w);
        return;
    }
    e.index = w->index;
    e.pid = w->pid;
    e.exit_status = w->exit_status;
    e.term_signal = w->term_signal;
    e.served = w->served;
    e.at_shutdown = told && !w->timed_out && !w->broken && !closed;
    e.replaced = w->timed_out || w->broken || closed;
    e.clean =
        e.at_shutdown &&
        ((w->exit_status == 0 && w->term_signal == 0) ||
         (ws->cfg.daemon && ws->shutting_down && w->term_signal == SIGTERM) ||
         ws->stopped);
    /* Closing its stdout at once is a broken command too. */
    if (!e.at_shutdown && (!e.replaced || closed) && w->served == 0)
        ws->crash_streak++;
    ws->up->worker_exit(ws->up->data, &e);
    stamp(ws);
    /* The task it was on ends with the worker; the others it held were
     * not at fault and go back to the queue. */
    while ((task = take_oldest(w)) != NULL) {
        if (first || ws->stopped) {
            first = 0;
            task->exit_status = w->exit_status;
            task->term_signal = w->term_signal;
            if (ws->stopped)
                task->signalled = ws->stop_signal; /* poolrun stopped it */
            if (w->timed_out)
                task->timed_out = 1;
            if (w->broken || closed) {
                task->error_what =
                    w->broken ? w->broken_msg
                              : "the worker closed its standard output";
                task->exit_status = 1;
                task->term_signal = 0;
                task->worker_error = 1;
            } else if (w->exit_status == 0 && w->term_signal == 0) {
                task->exit_status = 1; /* it died without answering */
                task->worker_error = 1;
                task->error_what = "the worker exited without answering";
            }
        } else {
            task->requeue = 1;
        }
        ws->up->ended(ws->up->data, task);
    }
    if (ws->crash_streak >= CRASH_LOOP_MAX && !ws->stopped) {
        char msg[512];

        ws->stopped = 1;
        snprintf(msg, sizeof(msg),
                 "--workers: the worker died %d times in a row before "
                 "answering a task (last: %s %d): %s",
                 CRASH_LOOP_MAX, w->term_signal ? "signal" : "exit status",
                 w->term_signal ? w->term_signal : w->exit_status, ws->cfg.cmd);
        ws->up->failed(ws->up->data, msg);
    }
    pr_proc_end_close(&w->end, on_end_closed);
}

static void
kill_worker(struct worker *w, int sig)
{
    if (w->exited || w->pid <= 0)
        return;
    w->sent_signal = sig;
    kill(-w->pid, sig);
    if (sig != SIGKILL)
        kill(-w->pid, SIGCONT);
    if (sig == SIGTERM && w->state != W_KILLING) {
        w->state = W_KILLING;
        uv_timer_start(&w->timer, on_worker_timer,
                       (uint64_t)(w->ws->ctx->kill_after * 1000), 0);
    }
}

static void
on_worker_timer(uv_timer_t *timer)
{
    struct worker *w = timer->data;

    switch (w->state) {
    case W_STARTING:
    case W_DRAINING:
        /* The oldest task passed its timeout. */
        w->timed_out = 1;
        kill_worker(w, SIGTERM);
        break;
    case W_STOPPING:
        /* The grace is over. */
        kill_worker(w, SIGTERM);
        break;
    case W_KILLING:
        w->sent_signal = SIGKILL;
        kill(-w->pid, SIGKILL);
        break;
    case W_DEAD:
    default:
        break;
    }
}

/* Tell the worker to finish: the sentinel line, or the end of its input;
 * then --grace to exit.  With --daemon: SIGTERM at once. */
static void
begin_stop(struct worker *w)
{
    struct pr_workers *ws = w->ws;

    if (w->state == W_STOPPING || w->state == W_KILLING || w->state == W_DEAD)
        return;
    if (ws->cfg.daemon && ws->shutting_down) {
        w->state = W_STOPPING;
        kill_worker(w, SIGTERM);
        return;
    }
    w->state = W_STOPPING;
    if (ws->cfg.sentinel != NULL && w->in_open) {
        pr_buf_append(&w->outbuf, ws->cfg.sentinel, strlen(ws->cfg.sentinel));
        pr_buf_append(&w->outbuf, "\n", 1);
        flush_worker(w);
    }
    if (!w->writing)
        close_pipe(w, &w->in, &w->in_open);
    uv_timer_start(&w->timer, on_worker_timer, (uint64_t)(ws->cfg.grace * 1000),
                   0);
}

static void
start_worker(struct pr_workers *ws, unsigned index)
{
    const struct pr_spawn_ctx *ctx = ws->ctx;
    struct worker *w = pr_xcalloc(1, sizeof(*w));
    uv_process_options_t opts;
    uv_stdio_container_t stdio[3];
    char *args[4];
    char slot_var[48], worker_var[48];
    char dash_c[] = "-c";
    int rc;

    w->ws = ws;
    w->index = index;
    w->state = W_STARTING;
    w->window = ws->cfg.inflight_fixed ? ws->cfg.inflight : 1;
    pr_list_init(&w->inflight);
    ws->w[index - 1] = w;
    ws->handles_open++;
    uv_timer_init(ctx->loop, &w->timer);
    w->timer.data = w;
    pr_proc_end_init(ctx->loop, &w->end, &end_ops, w, ctx->kill_after);
    uv_pipe_init(ctx->loop, &w->in, 0);
    uv_pipe_init(ctx->loop, &w->out, 0);
    uv_pipe_init(ctx->loop, &w->err, 0);
    w->in.data = w->out.data = w->err.data = w->proc.data = w;
    w->in_open = w->out_open = w->err_open = 1;

    args[0] = ctx->shell;
    args[1] = dash_c;
    args[2] = ws->cmd;
    args[3] = NULL;
    snprintf(slot_var, sizeof(slot_var), "POOLRUN_SLOT=%u", index);
    snprintf(worker_var, sizeof(worker_var), "POOLRUN_WORKER=%u", index);
    ctx->env[ctx->env_seq] = slot_var;
    ctx->env[ctx->env_slot] = worker_var;
    memset(&opts, 0, sizeof(opts));
    stdio[0].flags = UV_CREATE_PIPE | UV_READABLE_PIPE;
    stdio[0].data.stream = (uv_stream_t *)&w->in;
    stdio[1].flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE;
    stdio[1].data.stream = (uv_stream_t *)&w->out;
    stdio[2].flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE;
    stdio[2].data.stream = (uv_stream_t *)&w->err;
    opts.file = ctx->shell;
    opts.args = args;
    opts.env = ctx->env;
    opts.flags = UV_PROCESS_DETACHED;
    opts.stdio = stdio;
    opts.stdio_count = 3;
    opts.exit_cb = on_worker_exit;
    rc = uv_spawn(ctx->loop, &w->proc, &opts);
    ctx->env[ctx->env_seq] = NULL;
    ctx->env[ctx->env_slot] = NULL;
    w->open_handles = 4; /* the process and its three pipes */
    if (rc != 0) {
        /* As if it had died at once: the same path, the crash count. */
        w->exited = 1;
        w->exit_status = 127;
        w->spawn_err = rc;
        close_pipe(w, &w->in, &w->in_open);
        close_pipe(w, &w->out, &w->out_open);
        close_pipe(w, &w->err, &w->err_open);
        uv_close((uv_handle_t *)&w->proc, on_handle_closed);
        pr_proc_end_exited(&w->end, 0, 0);
        return;
    }
    w->pid = w->proc.pid;
    pr_proc_end_guard(&w->end, ctx->guard, w->pid);
    ws->up->worker_started(ws->up->data);
    uv_read_start((uv_stream_t *)&w->out, on_alloc, on_out_read);
    uv_read_start((uv_stream_t *)&w->err, on_alloc, on_err_read);
    if (ws->cfg.init != NULL) {
        pr_buf_append(&w->outbuf, ws->cfg.init, strlen(ws->cfg.init));
        pr_buf_append(&w->outbuf, "\n", 1);
        want_flush(ws);
    }
}

static const struct pr_runner_ops workers_ops;

struct pr_runner *
pr_runner_workers_new(const struct pr_spawn_ctx *ctx,
                      const struct pr_runner_up *up,
                      const struct pr_worker_config *cfg, unsigned n)
{
    struct pr_workers *ws = pr_xcalloc(1, sizeof(*ws));
    unsigned i;

    ws->base.ops = &workers_ops;
    ws->base.up = up;
    ws->up = up;
    ws->ctx = ctx;
    ws->cfg = *cfg;
    ws->cmd = pr_xstrdup(cfg->cmd);
    ws->n = n;
    ws->w = pr_xcalloc(n, sizeof(*ws->w));
    pr_list_init(&ws->waiting);
    pr_list_init(&ws->failed);
    uv_prepare_init(ctx->loop, &ws->flush);
    ws->flush.data = ws;
    uv_timer_init(ctx->loop, &ws->defer);
    ws->defer.data = ws;
    /* Not a reason to keep the loop running by itself. */
    uv_timer_init(ctx->loop, &ws->quiet);
    ws->quiet.data = ws;
    uv_timer_start(&ws->quiet, on_quiet, 1000, 1000);
    uv_unref((uv_handle_t *)&ws->quiet);
    for (i = 1; i <= n; i++)
        start_worker(ws, i);
    return &ws->base;
}

/* Has a worker other than w answered since since_ns? */
static int
others_answered(const struct pr_workers *ws, const struct worker *w,
                uint64_t since_ns)
{
    unsigned i;

    for (i = 0; i < ws->n; i++)
        if (ws->w[i] != NULL && ws->w[i] != w &&
            ws->w[i]->answered_ns > since_ns)
            return 1;
    return 0;
}

/* A worker that has held a task QUIET_NS without an answer while the
 * others answered most often wrote its answer into a buffer it did not
 * flush (a Python print without flush=True): it is said once, as a
 * question, since a task may also just be slow. */
static void
on_quiet(uv_timer_t *timer)
{
    struct pr_workers *ws = timer->data;
    unsigned i;

    stamp(ws);
    for (i = 0; i < ws->n; i++) {
        struct worker *w = ws->w[i];
        const struct pr_task *oldest;
        char msg[512];
        int n;

        if (!worker_alive(w) || w->ninflight == 0 || w->warned_quiet)
            continue;
        oldest = PR_CONTAINER_OF(w->inflight.next, struct pr_task, run_node);
        if (ws->now_ns < oldest->start_ns + QUIET_NS ||
            !others_answered(ws, w, oldest->start_ns))
            continue;
        w->warned_quiet = 1;
        n = snprintf(msg, sizeof(msg),
                     "poolrun: worker %u (pid %d) has held task %llu for "
                     "%d s without an answer while the other workers "
                     "answered: does it flush its standard output after "
                     "each answer (Python: print(..., flush=True))?\n",
                     w->index, w->pid, (unsigned long long)oldest->seq,
                     (int)(QUIET_NS / 1000000000));
        if (n > 0)
            ws->up->message(ws->up->data, msg,
                            (size_t)n < sizeof(msg) ? (size_t)n
                                                    : sizeof(msg) - 1);
    }
}

static void
workers_signal_all(struct pr_runner *r, int sig)
{
    struct pr_workers *ws = (struct pr_workers *)r;
    unsigned i;

    ws->stopped = 1;
    if (ws->stop_signal == 0)
        ws->stop_signal = sig;
    /* Tasks that never reached a worker end as if never started. */
    while (!pr_list_empty(&ws->waiting)) {
        struct pr_task *task =
            PR_CONTAINER_OF(ws->waiting.next, struct pr_task, run_node);

        pr_list_remove(&task->run_node);
        task->pid = 0;
        task->requeue = 1;
        pr_list_insert_before(&ws->failed, &task->run_node);
        uv_timer_start(&ws->defer, on_defer, 0, 0);
    }
    for (i = 0; i < ws->n; i++) {
        struct worker *w = ws->w[i];

        if (!worker_alive(w))
            continue;
        if (sig == SIGKILL) {
            kill(-w->pid, SIGKILL);
            continue;
        }
        w->state = W_STOPPING;
        kill_worker(w, sig);
    }
}

static void
on_own_closed(uv_handle_t *handle)
{
    struct pr_workers *ws = handle->data;

    ws->handles_open--;
    if (ws->handles_open == 0 && ws->done != NULL) {
        void (*done)(void *) = ws->done;

        ws->done = NULL;
        done(ws->done_data);
    }
}

static void
workers_shutdown(struct pr_runner *r, void (*done)(void *), void *data)
{
    struct pr_workers *ws = (struct pr_workers *)r;
    unsigned i;

    ws->shutting_down = 1;
    ws->done = done;
    ws->done_data = data;
    ws->handles_open += 3;
    uv_close((uv_handle_t *)&ws->flush, on_own_closed);
    uv_close((uv_handle_t *)&ws->defer, on_own_closed);
    uv_close((uv_handle_t *)&ws->quiet, on_own_closed);
    for (i = 0; i < ws->n; i++)
        if (worker_alive(ws->w[i]))
            begin_stop(ws->w[i]);
}

static int
workers_owns_pid(const struct pr_runner *r, int pid)
{
    const struct pr_workers *ws = (const struct pr_workers *)r;
    unsigned i;

    for (i = 0; i < ws->n; i++)
        if (ws->w[i] != NULL && ws->w[i]->pid == pid)
            return 1;
    return 0;
}

static void
workers_free(struct pr_runner *r)
{
    struct pr_workers *ws = (struct pr_workers *)r;

    free(ws->w);
    free(ws->cmd);
    free(ws);
}

/* Tasks run inside the workers' own processes: the pool only ever signals
 * them all (signal_all), and never asks after one task's process. */
static const struct pr_runner_ops workers_ops = {
    .start = workers_start,
    .signal_all = workers_signal_all,
    .shutdown = workers_shutdown,
    .owns_pid = workers_owns_pid,
    .free = workers_free,
};
