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

#include "halt.h"
#include "output.h"
#include "queue.h"
#include "results.h"
#include "retry.h"
#include "run_worker.h"
#include "task.h"
#include "template.h"

struct pr_pool;
struct pr_source;

/* A source of tasks (stdin lines; later JSON files, a Redis queue).  The
 * source calls pr_pool_put while pr_pool_accepting is true, and
 * pr_pool_input_end exactly once. */
struct pr_source_ops {
    /* Begin reading; returns 0 or a negative error. */
    int (*start)(struct pr_source *src, struct pr_pool *pool);
    /* The queue has room again. */
    void (*resume)(struct pr_source *src);
    /* Stop for good: close handles and call pr_pool_input_end if not yet. */
    void (*stop)(struct pr_source *src);
    /* Free, after the loop has run. */
    void (*free)(struct pr_source *src);
};

struct pr_source {
    const struct pr_source_ops *ops;
};

/* Called once per task with its final record, before its output is
 * emitted; the task is read-only and gone after the call. */
typedef void pr_pool_record_fn(void *data, const struct pr_task *task);

/* Called once per callback (its `callback` says which kind) when it has
 * ended; seq is its task's, 0 for on_join. */
typedef void pr_pool_callback_fn(void *data, const struct pr_task *cb);

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
    const char *shell;  /* "/bin/sh" */
    const char *joblog; /* path, or NULL */
    const struct pr_template *command; /* map mode's COMMAND, or NULL */
    enum pr_queue_order order;
    int tag;     /* prefix output lines with the task's items */
    int dry_run; /* print each command instead of running it */
    struct pr_output_options output;
    const char *results;  /* --results path, or NULL */
    size_t results_limit; /* output bytes per stream in a results record */
    int resume;           /* append to the joblog and results */
    const struct pr_seqset *resume_done; /* seqs not to run again */
    const char *on_done; /* callbacks (a job file's task may override) */
    const char *on_fail;
    const char *on_join;
    int progress;          /* --progress or --bar: on stderr */
    double delay;          /* --delay: seconds between task starts */
    uint64_t memfree;      /* --memfree: bytes that must be available */
    double load;           /* --load: start below this load average */
    struct pr_retry_policy retry;
    struct pr_halt halt;
    pr_pool_record_fn *on_record;     /* optional */
    pr_pool_throttle_fn *on_throttle; /* optional */
    pr_pool_callback_fn *on_callback; /* optional */
    pr_pool_worker_fn *on_worker_exit; /* optional */
    const struct pr_worker_config *workers; /* --workers, or NULL */
    void *record_data;
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
    uint64_t counts[PR_TASK_STATUS_COUNT];
    uint64_t total;
    enum pr_pool_stop stop;
    int stop_signal;  /* the signal that stopped the run */
    int output_error; /* negative errno writing stdout, or 0 */
    int input_error;  /* negative error reading input, or 0 */
    char input_msg[1024]; /* what was wrong with the input, if said */
    int joblog_error; /* negative errno writing the joblog, or 0 */
    int results_error; /* negative errno writing the results, or 0 */
    uint64_t resumed;  /* skipped: done in an earlier run (--resume) */
    uint64_t callbacks;        /* callbacks that ran */
    uint64_t callbacks_failed; /* of those, the ones that did not succeed */
    struct pr_pool_slow {
        uint64_t seq;
        double runtime;
        const char *id;  /* NULL, or the job file id (copied below) */
        char text[112];  /* the id, else the start of the command */
    } slowest[3];        /* the longest-running tasks, longest first */
    unsigned nslowest;
    uint64_t services_failed; /* services that ended on their own, badly */
    uint64_t escapees; /* processes that left their task's group and were
                          still running at the end: poolrun ended them */
    uint64_t workers_started; /* worker processes started (--workers) */
    uint64_t workers_bad_exit; /* of those, ended non-zero when told to */
    char fatal_msg[512];
    uint64_t output_lost; /* tasks part of whose output was lost */
    uint64_t retried;     /* attempts that were run again */
    int halt_code;        /* with PR_STOP_HALT: the halting task's code */
    int have_code;        /* some task did not succeed: */
    int first_code;       /* the exit code (pr_task_code) of the first, */
    int last_code;        /* of the last */
    int max_code;         /* and the highest */
};

/* Returns a new pool on loop; free with pr_pool_free after the loop ran.
 * Fails with a negative error if the joblog (*which = "--joblog") or the
 * results file ("--results") cannot be opened. */
int pr_pool_new(struct pr_pool **out, uv_loop_t *loop,
                const struct pr_pool_config *cfg, const char **which);
void pr_pool_free(struct pr_pool *pool);

/* Runs the loop until the input is done and every task has its final
 * record.  The pool does not take the source.  Returns 0 or a negative
 * error from starting the source. */
int pr_pool_run(struct pr_pool *pool, struct pr_source *src,
                struct pr_pool_result *result);

/* For cmd: n bytes for stderr, after everything already waiting there;
 * never waits for a slow reader (they queue with the output). */
void pr_pool_message(struct pr_pool *pool, const char *p, size_t n);

/* For sources: is there room for one more task right now? */
int pr_pool_accepting(const struct pr_pool *pool);

/* For sources: takes the task, gives it the next seq and queues it. */
void pr_pool_put(struct pr_pool *pool, struct pr_task *task);

/* For sources: no more tasks will come; err is 0 or a read error. */
void pr_pool_input_end(struct pr_pool *pool, int err);

/* For sources: the input is bad at this point (msg says where and why);
 * nothing more is read, and what was accepted still runs. */
void pr_pool_input_fail(struct pr_pool *pool, const char *msg);

#endif
