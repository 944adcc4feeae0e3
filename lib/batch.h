/*
 * batch: a set of tasks with its own unfinished count, its own tally of
 * final records and any number of join waiters (JoinableQueue semantics,
 * per batch).  The one-shot command is one batch; a named queue of a
 * service is another that stays open.  A batch holds no task: adding,
 * tallying and finishing are O(1) and never allocate.
 */
#ifndef PR_BATCH_H
#define PR_BATCH_H

#include <stdint.h>

#include "join.h"
#include "task.h"

/* One of the longest-running tasks, for the summary. */
struct pr_batch_slow {
    uint64_t seq;
    double runtime; /* seconds */
    int is_id;      /* text is the job file's id, not the command */
    char text[112]; /* the id, else the start of the command line with
                       control characters as spaces */
};

struct pr_batch_tally {
    uint64_t counts[PR_TASK_STATUS_COUNT]; /* final records by status */
    uint64_t total;                        /* final records */
    uint64_t ok;                           /* of those, ok */
    uint64_t failed;      /* not ok and not skipped (and failures counted
                             by pr_batch_tally_failure) */
    uint64_t output_lost; /* final records part of whose output was lost */
    int have_code;        /* something failed: */
    int first_code;       /* the exit code (pr_task_code) of the first, */
    int last_code;        /* of the last */
    int max_code;         /* and the highest */
    struct pr_batch_slow slowest[3]; /* longest first; tasks that never
                                        started are left out */
    unsigned nslowest;
};

/* Embed one and pr_batch_init it.  tally is read by whoever reports. */
struct pr_batch {
    struct pr_batch_tally tally;
    struct pr_join join; /* the unfinished count and its waiters */
};

/* An empty batch: nothing unfinished, nothing tallied, nobody waiting. */
void pr_batch_init(struct pr_batch *b);

/* Forgets the waiters that have not fired, without firing them; after
 * this b's memory may go, even from inside one of its waiters. */
void pr_batch_fini(struct pr_batch *b);

/* One more unfinished task. */
void pr_batch_add(struct pr_batch *b);

/* Counts one final record in the tally: counts[] and total always; ok, or
 * failed with its code (a skipped task is neither); output_lost; and the
 * slowest three (from start_ns and end_ns, which the caller has set).
 * Does not finish the task (pr_batch_done does). */
void pr_batch_tally(struct pr_batch *b, const struct pr_task *task);

/* Counts a failure that has no final record of its own (a service that
 * ended before the others): failed and the codes, nothing else. */
void pr_batch_tally_failure(struct pr_batch *b, const struct pr_task *task);

/* One task finished (after its callback, if any).  Returns 0, or
 * UV_EINVAL when none was unfinished.  Fires the waiters when the
 * unfinished count reaches zero. */
int pr_batch_done(struct pr_batch *b);

/* w, which the caller embeds and keeps until it fires or is cancelled,
 * calls fn(data) once as soon as no task of b is unfinished: at once if
 * none is now, otherwise from the pr_batch_done that finishes the last.
 * Any number of waiters wait at once and fire in join order; see
 * pr_join_wait for what their fn may do. */
void pr_batch_join(struct pr_batch *b, struct pr_join_waiter *w, pr_join_fn *fn,
                   void *data);

/* w will not fire; harmless if it fired or never joined. */
void pr_batch_join_cancel(struct pr_join_waiter *w);

uint64_t pr_batch_unfinished(const struct pr_batch *b);

#endif
