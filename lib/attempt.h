/*
 * attempt: a retry's last attempt, kept aside while the next one starts.
 * It is written to the results only once the next attempt has begun, and
 * put back if that could not start (the system was at a limit), so that a
 * run stopped meanwhile records the attempt that really ran, once, with
 * its output.
 */
#ifndef PR_ATTEMPT_H
#define PR_ATTEMPT_H

#include "task.h"

/* The task is about to run again: its last attempt (times, status,
 * output, and with rebuild its command, built anew for {%}) goes aside in
 * task->prev and the task starts clean. */
void pr_attempt_stash(struct pr_task *task, int rebuild);

/* Fills view with the task as its stashed attempt left it; returns 0 if
 * nothing is stashed.  The view shares the attempt's output and command
 * until pr_attempt_drop. */
int pr_attempt_view(const struct pr_task *task, struct pr_task *view);

/* The stashed attempt has been recorded (its output already emitted or
 * discarded through view): frees what is left of it. */
void pr_attempt_drop(struct pr_task *task, struct pr_task *view);

/* The retry could not start after all: the task is again the attempt that
 * ran last.  No-op if nothing is stashed. */
void pr_attempt_undo(struct pr_task *task);

#endif
