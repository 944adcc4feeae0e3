/*
 * retry: whether a finished attempt runs again, and after how long.  A pure
 * policy over the task's ending and the options (--retries, --retry-on,
 * --retry-delay); the pool applies it.
 */
#ifndef PR_RETRY_H
#define PR_RETRY_H

#include <stddef.h>
#include <stdint.h>

#include "task.h"

/* What a failed attempt is retried on (--retry-on, a task's "retry_on"). */
struct pr_retry_on {
    unsigned char codes[256]; /* exit codes */
    unsigned char sigs[65];   /* signals */
    int on_timeout;
};

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

/* Parses a --retry-on LIST ("1,75,timeout,SIGKILL": exit codes 0-255,
 * `timeout`, signals by name or number) into *on.  Returns 0, or UV_EINVAL
 * with *bad and *badlen the word that is none of these (an empty one when
 * badlen is 0; longer than 31 bytes counts as empty). */
int pr_retry_on_parse(struct pr_retry_on *on, const char *list,
                      const char **bad, size_t *badlen);

/* The attempts after the first that this task may have. */
int pr_retry_allowed(const struct pr_retry_policy *r,
                     const struct pr_task *task);

/* Does the task's ending (status already final_status'd, attempt the one
 * that ended) call for another attempt?  A task's own "retry_on" (its
 * spec's) wins over the policy's list.  Never when poolrun itself sent the
 * signal that ended it (halt, shutdown). */
int pr_retry_wanted(const struct pr_retry_policy *r,
                    const struct pr_task *task);

/* Seconds to wait before the attempt after `attempt` (1 for the first
 * retry): the delay grown by the factor once per earlier retry. */
double pr_retry_wait(const struct pr_retry_policy *r, unsigned attempt);

#endif
