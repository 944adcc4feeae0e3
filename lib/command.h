/*
 * command: what a task runs.  A task made from items gets its command when
 * it starts, once its slot is known ({%}): COMMAND filled in with its
 * items, or (without one) its items as shell lines, run without a shell
 * when they are a simple command.  A task that came with its command (a
 * shell line, a job file's task) keeps it.
 */
#ifndef PR_COMMAND_H
#define PR_COMMAND_H

#include "task.h"
#include "template.h"

/* Builds task's command from command (map mode's COMMAND, or NULL) and,
 * with tag, its --tag prefix (the items, or tagstring filled in, and a
 * tab).  An expansion error is left in task->error: the task ends as one
 * that could not start. */
void pr_command_build(struct pr_task *task, const struct pr_template *command,
                      int tag, const struct pr_template *tagstring);

#endif
