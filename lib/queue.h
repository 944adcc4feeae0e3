/*
 * queue: the joinable task queue, after Python's JoinableQueue.  put adds a
 * task and counts it unfinished; get hands the next one out; task_done marks
 * one finished; join fires its waiters once every task put has been marked
 * done (join.h's rules).  The queue never blocks: put on a full queue says
 * so and the caller pauses.
 */
#ifndef PR_QUEUE_H
#define PR_QUEUE_H

#include <stddef.h>

#include "join.h"
#include "task.h"

enum pr_queue_order {
    PR_ORDER_FIFO,    /* first in, first out (Queue) */
    PR_ORDER_LIFO,    /* last in, first out (LifoQueue) */
    PR_ORDER_PRIORITY /* highest priority first, ties in put order */
};

struct pr_queue;

/* Returns a new empty queue holding at most capacity tasks (0: no limit).
 * Free with pr_queue_free. */
struct pr_queue *pr_queue_new(size_t capacity, enum pr_queue_order order);

/* Frees the queue and any task still on it; its waiters that have not
 * fired never will (as pr_join_fini).  NULL is a no-op.  A join waiter's
 * fn may free the queue. */
void pr_queue_free(struct pr_queue *q);

/* Adds task and counts it unfinished.  Returns 0, or UV_ENOBUFS when the
 * queue is full, in which case the caller keeps the task. */
int pr_queue_put(struct pr_queue *q, struct pr_task *task);

/* Removes and returns the next task in the queue's order, or NULL when the
 * queue is empty.  The task stays unfinished until pr_queue_task_done. */
struct pr_task *pr_queue_get(struct pr_queue *q);

/* The task pr_queue_get would return, left on the queue, or NULL. */
struct pr_task *pr_queue_peek(const struct pr_queue *q);

/* Puts a task that was handed out by pr_queue_get back at the front, to be
 * got next.  It is still counted unfinished, so this never fails, even on
 * a full queue. */
void pr_queue_unget(struct pr_queue *q, struct pr_task *task);

/* Takes a task that is on the queue off it, wherever it is (a cancel), as
 * pr_queue_get would: it stays unfinished until pr_queue_task_done. */
void pr_queue_remove(struct pr_queue *q, struct pr_task *task);

/* Counts a task that was never put (its final record was made without
 * it waiting here: a cancel before it was put) as put and handed out: it
 * stays unfinished until pr_queue_task_done, as any other. */
void pr_queue_count(struct pr_queue *q);

/* Marks one task finished.  Returns 0, or UV_EINVAL when called more times
 * than tasks were put (Python raises ValueError there).  Fires the join
 * waiters when the unfinished count reaches zero. */
int pr_queue_task_done(struct pr_queue *q);

/* w, which the caller embeds and keeps until it fires or is cancelled,
 * calls fn(data) once as soon as no task is unfinished: at once if none
 * is now, otherwise from the pr_queue_task_done that finishes the last.
 * Any number of waiters wait at once and fire in join order; see
 * pr_join_wait for what their fn may do. */
void pr_queue_join(struct pr_queue *q, struct pr_join_waiter *w, pr_join_fn *fn,
                   void *data);

/* w will not fire; harmless if it fired or never joined. */
void pr_queue_join_cancel(struct pr_join_waiter *w);

size_t pr_queue_len(const struct pr_queue *q);
size_t pr_queue_unfinished(const struct pr_queue *q);
int pr_queue_full(const struct pr_queue *q);

#endif
