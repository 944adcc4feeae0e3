/*
 * retry: whether a finished attempt runs again, and after how long.  A pure
 * policy over the task's ending and the options (--retries, --retry-on,
 * --retry-delay); the pool applies it.
 */
#ifndef PR_RETRY_H
#define PR_RETRY_H

#include <stdint.h>

#include "task.h"

/* When a failed task runs again (--retries, --retry-on, --retry-delay). */
struct pr_retry_policy {
    int retries;             /* attempts after the first; a job file's
                                "retries" overrides it per task */
    int only_listed;         /* --retry-on given: only what it lists */
    unsigned char codes[256]; /* exit codes to retry on */
    unsigned char sigs[65];   /* signals to retry on */
    int on_timeout;
    double delay;  /* seconds before the first retry */
    double factor; /* each later wait is this many times the last */
};

/* The attempts after the first that this task may have. */
int pr_retry_allowed(const struct pr_retry_policy *r,
                     const struct pr_task *task);

/* Does the task's ending (status already final_status'd, attempt the one
 * that ended) call for another attempt?  Never when poolrun itself sent the
 * signal that ended it (halt, shutdown). */
int pr_retry_wanted(const struct pr_retry_policy *r,
                    const struct pr_task *task);

/* Seconds to wait before the attempt after `attempt` (1 for the first
 * retry): the delay grown by the factor once per earlier retry. */
double pr_retry_wait(const struct pr_retry_policy *r, unsigned attempt);

#endif
