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

#include "task.h"

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

#endif
