/*
 * internal: the narrow seam between the pool and its runners.  A runner
 * starts a task, forwards its output bytes, and reports its end exactly once
 * through pr__pool_task_ended, after every handle it opened has closed.
 */
#ifndef PR_INTERNAL_H
#define PR_INTERNAL_H

#include <stddef.h>
#include <uv.h>

#include "pool.h"
#include "run_worker.h"
#include "task.h"

/* What every spawned task shares. */
struct pr_spawn_ctx {
    uv_loop_t *loop;
    struct pr_pool *pool;
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
};

/* Where commands were found in PATH, kept for the run as a shell's hash
 * table keeps them. */
struct pr_path_cache *pr__path_cache_new(void);
void pr__path_cache_free(struct pr_path_cache *c);

/* Starts task (its seq and slot are set).  Whatever happens, the end comes
 * later through pr__pool_task_ended, never from inside this call. */
void pr__spawn_start(const struct pr_spawn_ctx *ctx, struct pr_task *task);

/* --dry-run: the task "runs" by printing its command, as if it had
 * written that line and exited 0; its end comes later, as for a spawn. */
void pr__dry_start(const struct pr_spawn_ctx *ctx, struct pr_task *task);

/* Has the task's main process exited, though its end may not have been
 * handled yet (the loop was held up)? */
int pr__spawn_exited(const struct pr_task *task);

/* Sends sig to the task's process group, if it still has one. */
void pr__spawn_signal(struct pr_task *task, int sig);

/* Stops reading a spawned task's stream 1 or 2: while stdout cannot take
 * its output, the task waits in its own write.  Once its main process has
 * exited it is read to the end whatever this says. */
void pr__spawn_pause(struct pr_task *task, int stream);

/* stdout can take more: a paused stream is passed on from its pipe where
 * it may be (pr__pool_task_splice), and read again unless stdout is full
 * again.  Returns 1 if a stream stays paused. */
int pr__spawn_resume(struct pr_task *task);

/* Runner → pool: output waits for stdout (a paused stream stays paused). */
int pr__pool_output_busy(const struct pr_pool *pool);

/* The worker runner (run_worker.c). */
struct pr_workers;

/* Starts n workers as cfg says. */
struct pr_workers *pr__workers_new(const struct pr_spawn_ctx *ctx,
                                   const struct pr_worker_config *cfg,
                                   unsigned n);

/* Hands task to a worker (or keeps it until one has room); its end comes
 * later through pr__pool_task_ended. */
void pr__workers_start_task(struct pr_workers *ws, struct pr_task *task);

/* The pool stops now: sig to every worker's group; no replacements. */
void pr__workers_signal(struct pr_workers *ws, int sig);

/* The queue is joined: sentinel (or --daemon's SIGTERM), grace, SIGTERM,
 * SIGKILL; done(data) once every worker and handle is gone. */
void pr__workers_shutdown(struct pr_workers *ws, void (*done)(void *),
                          void *data);
void pr__workers_free(struct pr_workers *ws);

/* Is pid one of the worker processes? */
int pr__workers_has_pid(const struct pr_workers *ws, int pid);

/* Runner → pool: a worker process was started (replacements too). */
void pr__pool_worker_started(struct pr_pool *pool);

/* Runner → pool: a worker ended. */
void pr__pool_worker_exit(struct pr_pool *pool, const struct pr_worker_exit *e);

/* Runner → pool: a worker wrote on stderr with no task in flight. */
void pr__pool_worker_stderr(struct pr_pool *pool, const char *p, size_t n);

/* Runner → pool: the workers cannot run (a crash loop); stop with msg. */
void pr__pool_workers_failed(struct pr_pool *pool, const char *msg);

/* Runner → pool: bytes on stream 1 or 2. */
void pr__pool_task_output(struct pr_pool *pool, struct pr_task *task,
                          int stream, const char *p, size_t n);

/* Runner → pool: stream 1 or 2 has bytes waiting in the pipe fd; moves
 * them on inside the kernel where it may.  Returns 1 if the pipe is then
 * empty or at EOF, 0 if the runner is to read it. */
int pr__pool_task_splice(struct pr_pool *pool, struct pr_task *task,
                         int stream, int fd);

/* Runner → pool: the task is over and its handles are closed; exit_status,
 * term_signal or error are set. */
void pr__pool_task_ended(struct pr_pool *pool, struct pr_task *task);

#endif
