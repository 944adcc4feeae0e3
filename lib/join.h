/*
 * join: a count of unfinished work and the waiters for it to reach zero,
 * after Python's JoinableQueue.join.  The queue and every batch hold one.
 * Any number of waiters wait at once; each fires once, in join order, when
 * the count is zero.  A waiter is a node the caller embeds, so waiting
 * never allocates.  Knows nothing of tasks or libuv.
 */
#ifndef PR_JOIN_H
#define PR_JOIN_H

#include <stdint.h>

#include "util.h"

typedef void pr_join_fn(void *data);

/* Embedded by whoever waits.  Zero-initialise it or let pr_join_wait fill
 * it; the fields are the join's. */
struct pr_join_waiter {
    struct pr_list node; /* on its join's list while it waits */
    pr_join_fn *fn;
    void *data;
};

struct pr_join {
    uint64_t unfinished;
    struct pr_list waiters; /* in join order */
    int *firing; /* while waiters fire: set to 1 by pr_join_fini, so the
                    firing loop stops touching a join that is gone */
};

void pr_join_init(struct pr_join *j);

/* Unlinks the waiters that have not fired, without firing them: after
 * this the join's memory may go, even from inside one of its waiters, and
 * pr_join_cancel on those waiters does nothing. */
void pr_join_fini(struct pr_join *j);

/* One more unit of unfinished work. */
void pr_join_add(struct pr_join *j);

/* One unit finished.  Returns 0, or UV_EINVAL when none was unfinished.
 * Fires the waiters when the count reaches zero. */
int pr_join_done(struct pr_join *j);

/* w will call fn(data) once, as soon as the count is zero: before this
 * returns if it is zero now; else from the pr_join_done that finishes the
 * last unit.  Waiters fire in join order; one that joins while the
 * waiters of the same join are firing fires after those already waiting.
 * Joining a waiter that waits (here or elsewhere) moves it to the end,
 * with the new fn and data.  A waiter's fn may join, cancel, add and
 * finish work: a waiter still waiting fires only while the count is zero,
 * and waits for the next zero otherwise. */
void pr_join_wait(struct pr_join *j, struct pr_join_waiter *w, pr_join_fn *fn,
                  void *data);

/* w will not fire.  Does nothing if it is not waiting (zeroed, fired,
 * cancelled, or its join finalised). */
void pr_join_cancel(struct pr_join_waiter *w);

#endif
