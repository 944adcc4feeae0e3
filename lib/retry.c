/*
 * retry: the retry policy.  No state, no loop: the pool asks, this answers.
 */
#include "retry.h"

#include <string.h>
#include <uv.h>

#include "util.h"

int
pr_retry_on_parse(struct pr_retry_on *on, const char *list, const char **bad,
                  size_t *badlen)
{
    const char *p = list;

    memset(on, 0, sizeof(*on));
    while (1) {
        size_t n = strcspn(p, ",");
        char word[32];
        long code;
        int sig;

        *bad = p;
        *badlen = n < sizeof(word) ? n : 0;
        if (*badlen == 0)
            return UV_EINVAL;
        memcpy(word, p, n);
        word[n] = '\0';
        if (strcmp(word, "timeout") == 0)
            on->on_timeout = 1;
        else if (pr_parse_long(word, 0, 255, &code) == 0)
            on->codes[code] = 1;
        else if ((word[0] < '0' || word[0] > '9') &&
                 (sig = pr_signal_number(word)) > 0 && sig < 65)
            on->sigs[sig] = 1;
        else
            return UV_EINVAL;
        p += n;
        if (*p == '\0')
            return 0;
        p++;
    }
}

int
pr_retry_allowed(const struct pr_retry_policy *r, const struct pr_task *task)
{
    if (task->spec != NULL && task->spec->retries >= 0)
        return task->spec->retries;
    return r->retries;
}

/* Is the attempt's ending one that the list names? */
static int
listed(const unsigned char *codes, const unsigned char *sigs, int on_timeout,
       const struct pr_task *task)
{
    switch (task->status) {
    case PR_TASK_TIMEOUT:
        return on_timeout;
    case PR_TASK_FAILED:
        return codes[task->exit_status & 255];
    case PR_TASK_KILLED:
        return task->term_signal > 0 && task->term_signal < 65 &&
               sigs[task->term_signal];
    default:
        return 0;
    }
}

int
pr_retry_wanted(const struct pr_retry_policy *r, const struct pr_task *task)
{
    const struct pr_retry_on *own =
        task->spec != NULL ? task->spec->retry_on : NULL;

    if (task->attempt > (unsigned)pr_retry_allowed(r, task))
        return 0;
    if (task->status != PR_TASK_TIMEOUT && task->status != PR_TASK_FAILED &&
        task->status != PR_TASK_KILLED)
        return 0;
    /* Not when poolrun itself sent the signal (halt, shutdown). */
    if (task->status == PR_TASK_KILLED && task->signalled != 0)
        return 0;
    if (own != NULL)
        return listed(own->codes, own->sigs, own->on_timeout, task);
    return !r->only_listed || listed(r->codes, r->sigs, r->on_timeout, task);
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
