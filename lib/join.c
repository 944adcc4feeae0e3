/*
 * join: waiters fire from one loop per join that takes the first waiter
 * off the list, calls it, and looks at the count again.  A waiter's fn may
 * change anything (join, cancel, put, finish, free the join): taking one
 * waiter at a time and checking afterwards is what keeps that safe, and a
 * join made meanwhile is picked up by the same loop, in order.
 */
#include "join.h"

#include <stddef.h>
#include <uv.h>

void
pr_join_init(struct pr_join *j)
{
    j->unfinished = 0;
    pr_list_init(&j->waiters);
    j->firing = NULL;
}

void
pr_join_fini(struct pr_join *j)
{
    while (!pr_list_empty(&j->waiters))
        pr_list_remove(j->waiters.next);
    if (j->firing != NULL)
        *j->firing = 1;
    j->firing = NULL;
}

static void
fire(struct pr_join *j)
{
    int gone = 0;

    /* Called again from a waiter's fn: the loop below goes on with it. */
    if (j->firing != NULL)
        return;
    j->firing = &gone;
    while (j->unfinished == 0 && !pr_list_empty(&j->waiters)) {
        struct pr_join_waiter *w =
            PR_CONTAINER_OF(j->waiters.next, struct pr_join_waiter, node);

        /* Off the list first: it fires once, and may join again. */
        pr_list_remove(&w->node);
        w->fn(w->data);
        if (gone)
            return;
    }
    j->firing = NULL;
}

void
pr_join_add(struct pr_join *j)
{
    j->unfinished++;
}

int
pr_join_done(struct pr_join *j)
{
    if (j->unfinished == 0)
        return UV_EINVAL;
    j->unfinished--;
    fire(j);
    return 0;
}

void
pr_join_wait(struct pr_join *j, struct pr_join_waiter *w, pr_join_fn *fn,
             void *data)
{
    pr_join_cancel(w);
    w->fn = fn;
    w->data = data;
    pr_list_insert_before(&j->waiters, &w->node);
    fire(j);
}

void
pr_join_cancel(struct pr_join_waiter *w)
{
    /* A zeroed waiter never joined; a fired one points at itself. */
    if (w->node.next != NULL)
        pr_list_remove(&w->node);
}
