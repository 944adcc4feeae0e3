/*
 * runner: how a task runs.  The pool picks its runners once per run (one
 * process per task, a pool of --workers processes, or --dry-run's printing)
 * and from then on only calls through the ops table; a runner reports back
 * only through the upcalls the pool filled in.  A task's end always comes
 * later through up->ended, after every handle the runner opened for it has
 * closed, never from inside start.
 */
#ifndef PR_RUNNER_H
#define PR_RUNNER_H

#include <stddef.h>
#include <uv.h>

#include "task.h"

struct pr_guard;
struct pr_path_cache;
struct pr_worker_config; /* run_worker.h */
struct pr_worker_exit;

/* What the pool does for its runners: they call it, it never calls them
 * back from inside these. */
struct pr_runner_up {
    void *data;
    /* Bytes of the task's stream 1 or 2. */
    void (*output)(void *data, struct pr_task *task, int stream, const char *p,
                   size_t n);
    /* Stream 1 or 2 has bytes waiting in pipe fd: moves them on inside the
     * kernel where it may.  Returns 1 if the pipe is then empty or at EOF,
     * 0 if the runner is to read it. */
    int (*splice)(void *data, struct pr_task *task, int stream, int fd);
    /* Output waits for stdout: a paused stream stays paused. */
    int (*output_busy)(void *data);
    /* The task is over and its handles are closed; its exit_status,
     * term_signal or error are set. */
    void (*ended)(void *data, struct pr_task *task);
    /* Bytes for stderr that belong to no task (a worker's between tasks). */
    void (*message)(void *data, const char *p, size_t n);
    /* A --workers process was started (replacements too), or ended. */
    void (*worker_started)(void *data);
    void (*worker_exit)(void *data, const struct pr_worker_exit *e);
    /* The runner cannot go on (a crash loop): the run stops with msg. */
    void (*failed)(void *data, const char *msg);
};

struct pr_runner;

struct pr_runner_ops {
    /* Starts task (its seq and slot are set).  Returns 0, or a negative
     * error when it could not start; its end comes later either way. */
    int (*start)(struct pr_runner *r, struct pr_task *task);
    /* sig to the task's process group, if it still has one.  signal and
     * exited may be NULL for a runner whose tasks run inside processes of
     * its own (workers): the pool then only uses signal_all. */
    void (*signal)(struct pr_runner *r, struct pr_task *task, int sig);
    /* The run stops now: sig to everything the runner runs. */
    void (*signal_all)(struct pr_runner *r, int sig);
    /* Has the task's main process exited, though its end may not have been
     * seen yet (the loop was held up)? */
    int (*exited)(const struct pr_runner *r, const struct pr_task *task);
    /* Stops reading the task's stream 1 or 2 while stdout is full (the
     * task waits in its own write); resume reads again and returns 1 if a
     * stream stays paused.  NULL: the runner never pauses. */
    void (*pause)(struct pr_runner *r, struct pr_task *task, int stream);
    int (*resume)(struct pr_runner *r, struct pr_task *task);
    /* Every task is done: end what the runner keeps running (workers) and
     * call done(data) once it is all gone.  NULL: nothing to end. */
    void (*shutdown)(struct pr_runner *r, void (*done)(void *), void *data);
    /* The task's time limit is now limit seconds from its start (--timeout
     * N%: the median moved); at once if that is past.  NULL: limits are
     * read only at start. */
    void (*retime)(struct pr_runner *r, struct pr_task *task, double limit);
    /* Is pid a process the runner started and still watches? */
    int (*owns_pid)(const struct pr_runner *r, int pid);
    void (*free)(struct pr_runner *r);
};

struct pr_runner {
    const struct pr_runner_ops *ops;
    const struct pr_runner_up *up;
};

struct pr_exitclock;

/* What every runner of a run shares. */
struct pr_spawn_ctx {
    uv_loop_t *loop;
    char *shell;       /* "/bin/sh" */
    char **env;        /* environ plus two slots, see env_seq/env_slot */
    size_t env_seq;    /* index of the POOLRUN_SEQ entry */
    size_t env_slot;   /* index of the POOLRUN_SLOT entry */
    double kill_after; /* grace between SIGTERM and SIGKILL, seconds */
    double timeout;    /* a task's time limit in seconds; <= 0: none */
    char *read_buf;    /* shared: read callbacks consume it at once */
    size_t read_buf_size;
    struct pr_path_cache *paths; /* commands found in PATH so far */
    struct pr_guard *guard;      /* ends our groups if poolrun dies */
    struct pr_exitclock *exitclock; /* when fast-path tasks exited */
};

/* Fills ctx for loop (environ without POOLRUN_SEQ/SLOT, a read buffer, a
 * path cache); free with pr_spawn_ctx_free. */
void pr_spawn_ctx_init(struct pr_spawn_ctx *ctx, uv_loop_t *loop,
                       const char *shell, double kill_after, double timeout);
void pr_spawn_ctx_free(struct pr_spawn_ctx *ctx);

/* One process per task (run_spawn.c). */
struct pr_runner *pr_runner_spawn_new(const struct pr_spawn_ctx *ctx,
                                      const struct pr_runner_up *up);

/* --dry-run: a task "runs" by printing its command, as if it had written
 * that line and exited 0 (run_dry.c). */
struct pr_runner *pr_runner_dry_new(const struct pr_spawn_ctx *ctx,
                                    const struct pr_runner_up *up);

/* n --workers processes as cfg says (run_worker.c). */
struct pr_runner *pr_runner_workers_new(const struct pr_spawn_ctx *ctx,
                                        const struct pr_runner_up *up,
                                        const struct pr_worker_config *cfg,
                                        unsigned n);

#endif
