/*
 * pool: the slots that run tasks, and the life of one run.  A source puts
 * tasks on the joinable queue; whenever a slot is free the pool takes the
 * next task and hands it to the runner; every ending goes through one path
 * that writes the final record, emits the output and frees the slot.  The
 * pool also owns shutdown: signals, a closed stdout, and the join that ends
 * the run.
 */
#ifndef PR_POOL_H
#define PR_POOL_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "batch.h"
#include "halt.h"
#include "output.h"
#include "progress.h"
#include "queue.h"
#include "records.h"
#include "results.h"
#include "retry.h"
#include "run_worker.h"
#include "source.h"
#include "task.h"
#include "template.h"

struct pr_pool;
struct pr_runner;
struct pr_runner_up;
struct pr_spawn_ctx;

/* Called when a --workers worker process has ended. */
typedef void pr_pool_worker_fn(void *data, const struct pr_worker_exit *e);

/* Called when a task could not start for lack of processes or descriptors
 * (err) and waits for one of the `running` tasks to end. */
typedef void pr_pool_throttle_fn(void *data, int err, unsigned running);

struct pr_pool_config {
    unsigned jobs;      /* slots; 0 means no limit */
    size_t queue_size;  /* queue capacity; 0 means no limit */
    double kill_after;  /* seconds between SIGTERM and SIGKILL */
    double timeout;     /* a task's time limit in seconds; <= 0: none */
    double timeout_pct; /* > 0: --timeout N% (N/100): the limit is that
                           times the median runtime of the tasks that
                           succeeded so far (none until one has) */
    const char *shell;  /* "/bin/sh" */
    const char *joblog; /* path, or NULL */
    int joblog_append;  /* --joblog +FILE: append, as --resume does */
    int joblog_stdout;  /* --joblog -: each row on stdout after its task's
                           output (joblog is then not opened) */
    const struct pr_template *command; /* map mode's COMMAND, or NULL */
    const struct pr_template *tagstring; /* --tagstring's text, or NULL */
    enum pr_queue_order order;
    int tag;     /* prefix output lines with the task's items */
    int dry_run; /* print each command instead of running it */
    int deps;    /* hold back a task until those it runs after have ended
                    (a job file's or --json's "after"): deps.h */
    struct pr_output_options output;
    const char *results;  /* --results path, or NULL */
    int results_dir;      /* it is a folder: GNU parallel's layout (see
                             pr_results_dir_output), not JSON Lines */
    int results_positions;            /* ... with several inputs or --colsep */
    const char *const *results_names; /* ... with --header (the source's) */
    int results_nnames;
    size_t results_limit; /* output bytes per stream in a results record */
    int resume;           /* append to the joblog and results */
    const struct pr_seqset *resume_done; /* seqs not to run again */
    const char *on_done; /* callbacks (a job file's task may override) */
    const char *on_fail;
    const char *on_join;
    enum pr_progress_style progress; /* --progress, --bar: on stderr */
    int eta;          /* --eta: the ETA always shown (and progress) */
    double delay;     /* --delay: seconds between task starts */
    uint64_t memfree; /* --memfree: bytes that must be available */
    double load;      /* --load: start below this load average */
    struct pr_retry_policy retry;
    struct pr_halt halt;
    pr_pool_throttle_fn *on_throttle;       /* optional */
    pr_pool_worker_fn *on_worker_exit;      /* optional */
    const struct pr_worker_config *workers; /* --workers, or NULL */
    /* Runs the tasks instead of the runner the options choose (a test's
     * fake, a remote runner), or NULL. */
    struct pr_runner *(*runner_new)(const struct pr_spawn_ctx *ctx,
                                    const struct pr_runner_up *up, void *data);
    void *runner_data;
    void (*on_input_end)(void *data); /* once: no more tasks will come */
    /* Is pid a process another part of this program waits for (another
     * pool of the queue service)?  The pool then never reaps or ends it
     * as an escaped one.  Optional. */
    int (*owns_pid)(void *data, int pid);
    /* Each chunk a task writes on stream 1 or 2, as it comes and before
     * the output has it (the queue service passes it on to the clients
     * that follow the task).  Set, no output is spliced past it.  NULL in
     * the one-shot command: its read path does nothing more.  Optional. */
    void (*on_output)(void *data, const struct pr_task *task, int stream,
                      const char *p, size_t n);
    /* An attempt of task has started (its runner took it).  Optional.  It
     * may renumber task->attempt (the queue service counts the attempts
     * begun before it restarted) but must not put, cancel or end tasks. */
    void (*on_task_start)(void *data, struct pr_task *task);
    void *event_data; /* for on_throttle, on_worker_exit, on_input_end,
                         owns_pid, on_output, on_task_start */
};

/* Why the run stopped early, if it did. */
enum pr_pool_stop {
    PR_STOP_NONE,
    PR_STOP_SIGNAL, /* SIGINT or SIGTERM: stop_signal says which */
    PR_STOP_DRAIN,  /* SIGHUP */
    PR_STOP_OUTPUT, /* stdout failed: output error says why */
    PR_STOP_HALT,   /* --halt: halt_code is the exit status */
    PR_STOP_FATAL   /* the workers cannot run: fatal_msg says why */
};

struct pr_pool_result {
    struct pr_batch_tally tally; /* the run's final records: counts, exit
                                    codes, the slowest tasks */
    enum pr_pool_stop stop;
    int stop_signal;           /* the signal that stopped the run */
    int output_error;          /* negative errno writing stdout, or 0 */
    int input_error;           /* negative error reading input, or 0 */
    char input_msg[1024];      /* what was wrong with the input, if said */
    int joblog_error;          /* negative errno writing the joblog, or 0 */
    int results_error;         /* negative errno writing the results, or 0 */
    uint64_t resumed;          /* skipped: done in an earlier run (--resume) */
    uint64_t callbacks;        /* callbacks that ran */
    uint64_t callbacks_failed; /* of those, the ones that did not succeed */
    uint64_t services_failed;  /* services that ended on their own, badly */
    uint64_t escapees;        /* processes that left their task's group and were
                                 still running at the end: poolrun ended them */
    uint64_t workers_started; /* worker processes started (--workers) */
    uint64_t workers_bad_exit; /* of those, ended non-zero when told to */
    char fatal_msg[512];
    uint64_t retried; /* attempts that were run again */
    int halt_code;    /* with PR_STOP_HALT: the halting task's code */
    uint64_t halt_seq; /* and the task whose record reached the limit */
    enum pr_task_status halt_status; /* and its status */
};

/* Returns a new pool on loop; free with pr_pool_free after the loop ran.
 * Fails with a negative error if the joblog (*which = "--joblog") or the
 * results file ("--results") cannot be opened. */
int pr_pool_new(struct pr_pool **out, uv_loop_t *loop,
                const struct pr_pool_config *cfg, const char **which);
void pr_pool_free(struct pr_pool *pool);

/* Adds a sink for the records (see records.h), after the results file,
 * the joblog and the progress line the options asked for. */
void pr_pool_add_sink(struct pr_pool *pool, const struct pr_sink_ops *ops,
                      void *data);

/* The life of a run, which the caller drives (cmd: one batch whose join
 * ends the run; a service: batches that stay open):
 *
 *   pr_pool_start   the runners, the guard and the source start; result
 *                   is filled as the run goes on
 *   (the caller runs the loop)
 *   on_input_end    the config's hook: no more tasks will come (the input
 *                   ended, or a stop); typically the caller now joins the
 *                   batch (pr_pool_batch)
 *   pr_pool_close   every task is done: the workers and services end, then
 *                   --on-join, then escaped processes; then the pool closes
 *                   its handles and calls done(data), and the loop ends
 *                   once the caller has closed its own
 *   pr_pool_signal  from the caller's signal handlers at any time
 *
 * The pool does not take the source.  Returns 0 or a negative error from
 * starting the source (the input has then ended). */
int pr_pool_start(struct pr_pool *pool, struct pr_source *src,
                  struct pr_pool_result *result);

/* The batch every task put through the intake belongs to. */
struct pr_batch *pr_pool_batch(struct pr_pool *pool);

/* Cancels one task the pool was given.  Waiting on the queue, it is
 * recorded skipped ("cancelled"); waiting to run again (--retry-delay),
 * its last attempt is its final record; running, its process group gets
 * sig (SIGTERM, or SIGKILL to insist).  Returns 0, or UV_ENOTSUP for a
 * task running inside a --workers process. */
int pr_pool_cancel(struct pr_pool *pool, struct pr_task *task, int sig);

/* Records a task the pool was never given skipped, for why ("cancelled"),
 * as if it had been put and cancelled: every sink and the source's ended
 * see it.  For a source that keeps its waiting tasks itself. */
void pr_pool_skip(struct pr_pool *pool, struct pr_task *task, const char *why);

/* How many tasks wait on the pool's queue now (not retries, not running). */
size_t pr_pool_queued(const struct pr_pool *pool);

/* How many tasks wait off the slots to run again (--retry-delay); counts
 * them (for a status, not a hot path). */
size_t pr_pool_retrying(const struct pr_pool *pool);

/* Does the pool run its tasks in --workers processes? */
int pr_pool_has_workers(const struct pr_pool *pool);

/* Is a slot free: would a task put now start at once (unless --delay or
 * --load hold it)? */
int pr_pool_slot_free(const struct pr_pool *pool);

/* Changes -j while the pool runs: more start at once, or fewer as tasks
 * end.  Returns 0, or UV_ENOTSUP with --workers or -j 0. */
int pr_pool_set_jobs(struct pr_pool *pool, unsigned jobs);

/* Is pid a process the pool started and waits for (a task, a service, a
 * callback, a worker, its guardian)? */
int pr_pool_owns_pid(const struct pr_pool *pool, int pid);

/* How many tasks may run at once (-j, or what the system allowed). */
unsigned pr_pool_jobs(const struct pr_pool *pool);

/* fn(data, task) for each task that holds a slot now. */
void pr_pool_each_running(struct pr_pool *pool,
                          void (*fn)(void *data, const struct pr_task *task),
                          void *data);

/* fn(data, task) for each process that runs beside the slots: a job
 * file's service ("daemon": true) that still runs, then the callback that
 * runs (task->callback names its kind). */
void pr_pool_each_aside(struct pr_pool *pool,
                        void (*fn)(void *data, const struct pr_task *task),
                        void *data);

void pr_pool_close(struct pr_pool *pool, void (*done)(void *), void *data);

/* A signal came: SIGHUP drains (no new task starts, the running ones
 * finish), SIGINT and SIGTERM stop now (the running tasks get it, and
 * SIGKILL after the grace; output waiting for stdout is dropped); the same
 * again sends SIGKILL at once. */
void pr_pool_signal(struct pr_pool *pool, int signum);

/* For cmd: n bytes for stderr, after everything already waiting there;
 * never waits for a slow reader (they queue with the output). */
void pr_pool_message(struct pr_pool *pool, const char *p, size_t n);

/* Is so much output waiting for slow readers that no new task starts
 * (output.h's pr_output_congested)?  A message asked for again and again
 * (the status) is then better left out than kept. */
int pr_pool_output_congested(const struct pr_pool *pool);

/* The intake a source is started with (source.h) calls these four. */

/* Is there room for one more task right now? */
int pr_pool_accepting(const struct pr_pool *pool);

/* Takes the task, gives it the next seq and queues it in the run's batch;
 * a service ("daemon": true) starts at once instead. */
void pr_pool_put(struct pr_pool *pool, struct pr_task *task);

/* No more tasks will come; err is 0 or a read error. */
void pr_pool_input_end(struct pr_pool *pool, int err);

/* The input is bad at this point (msg says where and why); nothing more
 * is read, and what was accepted still runs. */
void pr_pool_input_fail(struct pr_pool *pool, const char *msg);

#endif
