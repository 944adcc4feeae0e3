/*
 * run_worker: daemon workers, the process pool of multiprocessing.Pool.
 * N long-lived copies of one command each take tasks on their stdin and
 * answer on their stdout, one line per task (--protocol line) or one JSON
 * object per line (--protocol json), up to K tasks in flight per worker
 * with answers matched in order.  A worker that dies or overruns a task's
 * timeout is killed with its process group and replaced; the task it was
 * on fails (or is retried), the others it held go back to the queue.
 */
#ifndef PR_RUN_WORKER_H
#define PR_RUN_WORKER_H

#include <stddef.h>
#include <stdint.h>

#include "task.h"
#include "util.h"

enum pr_protocol {
    PR_PROTO_LINE,
    PR_PROTO_JSON
};

struct pr_worker_config {
    const char *cmd; /* --workers CMD, run through /bin/sh -c */
    enum pr_protocol protocol;
    unsigned inflight;    /* tasks sent ahead per worker: at most */
    int inflight_fixed;   /* --inflight K: always K, never adapted */
    const char *init;     /* --worker-init: first line to each worker */
    const char *sentinel; /* --worker-sentinel, or NULL: close stdin */
    double grace;         /* seconds to wait for a worker to exit */
    uint64_t max_tasks;   /* --max-tasks-per-worker; 0: no limit */
    int daemon;           /* --daemon: terminate at join, no sentinel */
};

/* How a worker ended, for the pool's hook and the summary. */
struct pr_worker_exit {
    unsigned index; /* 1..N */
    int pid;
    int exit_status;
    int term_signal;
    uint64_t served; /* tasks it answered */
    int at_shutdown; /* ended when it was told to (sentinel, recycling,
                        --daemon), not on its own */
    int clean;       /* as it should: exit 0 when told to, or SIGTERM
                        with --daemon */
    int replaced;    /* poolrun killed it: a bad answer or a timeout (its
                        task's record says so) */
};

/* The input a worker is sent for task (its job file's "input", else its
 * items joined by spaces, else its line), in *p and *n; built in scratch
 * when it must be, which *p then points into. */
void pr_worker_task_input(const struct pr_task *task, const char **p, size_t *n,
                          struct pr_buf *scratch);

#endif
