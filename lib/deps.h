/*
 * deps: tasks that run after others (a job file's or a --json line's
 * "after" and "after_any").  A task put while a task it runs after has not
 * ended is held here; each task that ends leaves its status under its id
 * (for the whole run: a later --json line may name it), and a held task is
 * released once the last task it waits for has ended.  One that needed a
 * dependency to succeed ("after") and it did not is released marked
 * skipped, with the reason.  Pure bookkeeping: it tests alone.
 */
#ifndef PR_DEPS_H
#define PR_DEPS_H

#include <stddef.h>

#include "task.h"

struct pr_deps;

/* Returns a new empty table; free with pr_deps_free. */
struct pr_deps *pr_deps_new(void);

/* Frees the table and its reasons (so after the tasks' last records).
 * Tasks still held are not freed: take them first.  NULL is a no-op. */
void pr_deps_free(struct pr_deps *d);

/* Takes note of task, put in input order.  Returns 1 if it may go now (a
 * dependency it needed that did not succeed has set its skip_why and
 * skip_after), or 0 if it is held: the table keeps it until it is
 * released or taken. */
int pr_deps_put(struct pr_deps *d, struct pr_task *task);

typedef void pr_deps_release_fn(void *data, struct pr_task *task);

/* task has its final record.  Each held task whose last dependency it was
 * goes to fn(data, held), in the order they were put, marked as
 * pr_deps_put marks it; fn takes it. */
void pr_deps_ended(struct pr_deps *d, const struct pr_task *task,
                   pr_deps_release_fn *fn, void *data);

/* How many tasks are held. */
size_t pr_deps_held(const struct pr_deps *d);

/* Takes the oldest held task out of the table (a stop records it), or
 * returns NULL. */
struct pr_task *pr_deps_take(struct pr_deps *d);

#endif
