/*
 * callback: apply_async-style completion callbacks.  A callback is a shell
 * command that runs after a task's final record (--on-done after success,
 * --on-fail after the last failed attempt) with the task's captured stdout
 * on its stdin and the task's facts in POOLRUN_* variables, or once when
 * the queue is joined (--on-join) with the counts by status.  This module
 * builds the callback as a task record for the runner; the pool runs them
 * one at a time, in completion order, outside its slots.
 */
#ifndef PR_CALLBACK_H
#define PR_CALLBACK_H

#include <stdint.h>

#include "runner.h"
#include "task.h"
#include "util.h"

/* The callback `cmd` of kind "on_done" or "on_fail" for task, which has its
 * final record.  Its stdin is a private temporary file with the task's
 * captured stdout when `with_stdout`, else /dev/null.  Returns the new
 * callback task; if the output cannot be kept for it (no temporary file),
 * the callback carries that error and will not run. */
struct pr_task *pr_callback_new(const struct pr_task *task, const char *kind,
                                const char *cmd, int with_stdout);

/* The --on-join callback: counts[] by status (PR_TASK_STATUS_COUNT of
 * them) and their total in POOLRUN_TOTAL, POOLRUN_OK, POOLRUN_FAILED... */
struct pr_task *pr_callback_join_new(const char *cmd, const uint64_t *counts,
                                     uint64_t total);

/* The callbacks of a run: made from final records, run one at a time in
 * the order their tasks ended, by the runner given. */
struct pr_callbacks {
    struct pr_runner *runner;
    const char *on_done; /* the defaults (a job file's task may override) */
    const char *on_fail;
    int with_stdout; /* give a callback its task's stdout on stdin */
    int off;         /* --dry-run: none run */
    struct pr_list waiting;
    struct pr_task *running; /* the one callback that runs, or NULL */
    int dropped;             /* stopped now: no more callbacks run */
    uint64_t ran;            /* callbacks that ended */
    uint64_t failed;         /* of those, the ones that did not succeed */
};

void pr_callbacks_init(struct pr_callbacks *cbs, struct pr_runner *runner);

/* The callback of a task's final record, or NULL if it has none. */
struct pr_task *pr_callbacks_make(const struct pr_callbacks *cbs,
                                  const struct pr_task *task);

/* Queues cb (and starts it if none runs).  Returns 1, or 0 if callbacks
 * were dropped meanwhile: cb is then freed. */
int pr_callbacks_queue(struct pr_callbacks *cbs, struct pr_task *cb);

/* Runs the --on-join callback cmd now, with the counts by status. */
void pr_callbacks_join(struct pr_callbacks *cbs, const char *cmd,
                       const uint64_t *counts, uint64_t total);

/* The running callback cb has ended: sets its status and counts it.  The
 * caller records it, then calls pr_callbacks_next. */
void pr_callbacks_ended(struct pr_callbacks *cbs, struct pr_task *cb);

/* Starts the next waiting callback, if any and none runs. */
void pr_callbacks_next(struct pr_callbacks *cbs);

/* Stopped now: the waiting callbacks are dropped (returns how many, each
 * one a task that is now done), the running one gets sig. */
unsigned pr_callbacks_drop(struct pr_callbacks *cbs, int sig);

#endif
