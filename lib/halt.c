/*
 * halt: the --halt arithmetic, apart from what the pool does about it.
 */
#include "halt.h"

int
pr_halt_reached(const struct pr_halt *h, enum pr_task_status status,
                const struct pr_halt_counts *c)
{
    uint64_t n;

    if (h->when == PR_HALT_NEVER || status == PR_TASK_SKIPPED)
        return 0;
    if (h->on == PR_HALT_FAIL)
        n = status == PR_TASK_OK ? 0 : c->failed;
    else if (h->on == PR_HALT_SUCCESS)
        n = status == PR_TASK_OK ? c->ok : 0;
    else
        n = c->ok + c->failed;
    if (n == 0)
        return 0;
    /* N% of the tasks known so far: all of them once the input ended. */
    if (h->pct > 0)
        return (double)n * 100.0 >= h->pct * (double)c->known;
    return n >= h->count;
}
