/*
 * slots: see slots.h.
 */
#include "slots.h"

#include <stdlib.h>

#include "util.h"

void
pr_slots_init(struct pr_slots *s, unsigned jobs)
{
    unsigned i;

    s->jobs = jobs;
    s->running = 0;
    s->throttle = 0;
    s->cap = jobs ? jobs : 64;
    s->free = pr_xcalloc(s->cap, sizeof(unsigned));
    s->nfree = 0;
    /* A stack: slot 1 on top. */
    for (i = jobs; i > 0; i--)
        s->free[s->nfree++] = i;
    s->max = jobs;
}

void
pr_slots_free(struct pr_slots *s)
{
    free(s->free);
    s->free = NULL;
}

int
pr_slots_open(const struct pr_slots *s)
{
    if (s->throttle != 0 && s->running >= s->throttle)
        return 0;
    return s->jobs == 0 || s->running < s->jobs;
}

unsigned
pr_slots_take(struct pr_slots *s)
{
    s->running++;
    if (s->nfree > 0)
        return s->free[--s->nfree];
    /* Only with no limit (-j 0): the stack grows as slots are returned. */
    return ++s->max;
}

void
pr_slots_give(struct pr_slots *s, unsigned n)
{
    s->running--;
    if (s->nfree == s->cap) {
        s->cap *= 2;
        s->free = pr_xrealloc(s->free, s->cap * sizeof(unsigned));
    }
    s->free[s->nfree++] = n;
}

int
pr_slots_throttle(struct pr_slots *s, unsigned live)
{
    if (s->throttle != 0 && live >= s->throttle)
        return 0;
    s->throttle = live;
    return 1;
}
