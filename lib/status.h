/*
 * status: what a run is doing now, as text: one line of counts, one line
 * per running task (seq, id, pid, slot, runtime, command), then one per
 * service and callback that runs beside the slots.  The
 * one-shot command prints it on SIGUSR1 and `poolrun status` prints it
 * from the queue service's reply, both through the formatters here, so the
 * two read the same.  A command is escaped to stay on its line: control
 * bytes as C escapes (\n, \t, \xHH), a backslash as \\.
 */
#ifndef PR_STATUS_H
#define PR_STATUS_H

#include <stddef.h>
#include <stdint.h>

#include "task.h"
#include "util.h"

struct pr_pool;

/* A running task as its status line shows it.  Strings are borrowed. */
struct pr_status_task {
    uint64_t seq;
    const char *id; /* a job file's or the service's id, or NULL: "-" */
    int pid;        /* <= 0: not started yet (a --workers task waiting) */
    int worker;     /* pid is the --workers process's; cmd is the item it
                       was sent */
    unsigned slot;
    double runtime; /* seconds so far */
    const char *cmd;
    size_t cmd_len;
};

/* The counts of a run or of a service's queue. */
struct pr_status_counts {
    uint64_t done;                            /* final records */
    uint64_t by_status[PR_TASK_STATUS_COUNT]; /* of those, by status */
    uint64_t running;
    uint64_t queued;   /* waiting for a slot */
    uint64_t retrying; /* waiting for --retry-delay to run again */
};

/* The longest part of a command a status line shows (escaped, it may be
 * up to four times as long); past it, the line says how long it is. */
#define PR_STATUS_CMD_MAX 1024

/* Appends p[0..n) escaped as above (never a newline), at most max bytes
 * of it, then " ... (N bytes)" if it was longer. */
void pr_status_escape(struct pr_buf *b, const char *p, size_t n, size_t max);

/* Appends "running ID (seq N, pid P, slot S, R s): CMD" and a newline,
 * after prefix; with a worker, "worker P" and "item: ITEM". */
void pr_status_task_line(struct pr_buf *b, const char *prefix,
                         const struct pr_status_task *t);

/* Appends "N done (A ok, B failed[, C timeout...]), R running, Q queued"
 * (and ", T to retry" when some wait to), without a newline.  Statuses
 * past ok and failed show only when some task has them. */
void pr_status_counts_text(struct pr_buf *b, const struct pr_status_counts *c);

/* Fills t from a task that holds a slot of pool at now_ns (uv_hrtime()):
 * id from its job file, the command, or with --workers the item sent to
 * the worker (built in scratch, which t then borrows). */
void pr_status_task_of(struct pr_status_task *t, const struct pr_pool *pool,
                       const struct pr_task *task, uint64_t now_ns,
                       struct pr_buf *scratch);

/* The counts of pool's batch, slots, queue and retries. */
void pr_status_counts_of(struct pr_status_counts *c, struct pr_pool *pool);

/* Appends the whole report of pool, each line after prefix: the counts,
 * then the running tasks in seq order. */
void pr_status_report(struct pr_buf *b, const char *prefix,
                      struct pr_pool *pool);

#endif
