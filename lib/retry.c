/*
 * retry: the retry policy.  No state, no loop: the pool asks, this answers.
 */
#include "retry.h"

int
pr_retry_allowed(const struct pr_retry_policy *r, const struct pr_task *task)
{
    if (task->spec != NULL && task->spec->retries >= 0)
        return task->spec->retries;
    return r->retries;
}

int
pr_retry_wanted(const struct pr_retry_policy *r, const struct pr_task *task)
{
    if (task->attempt > (unsigned)pr_retry_allowed(r, task))
        return 0;
    switch (task->status) {
    case PR_TASK_TIMEOUT:
        return !r->only_listed || r->on_timeout;
    case PR_TASK_FAILED:
        return !r->only_listed || r->codes[task->exit_status & 255];
    case PR_TASK_KILLED:
        /* Not when poolrun itself sent the signal (halt, shutdown). */
        if (task->signalled != 0)
            return 0;
        return !r->only_listed ||
               (task->term_signal > 0 && task->term_signal < 65 &&
                r->sigs[task->term_signal]);
    default:
        return 0;
    }
}

double
pr_retry_wait(const struct pr_retry_policy *r, unsigned attempt)
{
    double wait = r->delay;
    unsigned i;

    for (i = 1; i < attempt; i++)
        wait *= r->factor;
    return wait;
}
