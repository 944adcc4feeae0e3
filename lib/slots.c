/*
 * slots: see slots.h.
 */
#include "slots.h"

#include <stdlib.h>
#include <string.h>

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
    s->used = NULL;
    s->used_cap = 0;
}

void
pr_slots_free(struct pr_slots *s)
{
    free(s->free);
    s->free = NULL;
    free(s->used);
    s->used = NULL;
    s->used_cap = 0;
}

int
pr_slots_open(const struct pr_slots *s)
{
    if (s->throttle != 0 && s->running >= s->throttle)
        return 0;
    return s->jobs == 0 || s->running < s->jobs;
}

static void
mark(struct pr_slots *s, unsigned n, unsigned char on)
{
    if (n >= s->used_cap) {
        size_t cap = s->used_cap ? s->used_cap : 64;

        while (cap <= n)
            cap *= 2;
        s->used = pr_xrealloc(s->used, cap);
        memset(s->used + s->used_cap, 0, cap - s->used_cap);
        s->used_cap = cap;
    }
    s->used[n] = on;
}

unsigned
pr_slots_take(struct pr_slots *s)
{
    unsigned n;

    s->running++;
    /* Only with no limit (-j 0) is the stack empty: it grows as slots are
     * returned. */
    n = s->nfree > 0 ? s->free[--s->nfree] : ++s->max;
    mark(s, n, 1);
    return n;
}

void
pr_slots_give(struct pr_slots *s, unsigned n)
{
    s->running--;
    mark(s, n, 0);
    if (s->jobs != 0 && n > s->jobs)
        return; /* past a limit that was lowered */
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

/* Puts the numbers in add (highest first) at the bottom of the stack. */
static void
insert_under(struct pr_slots *s, const unsigned *add, size_t nadd)
{
    while (s->nfree + nadd > s->cap) {
        s->cap *= 2;
        s->free = pr_xrealloc(s->free, s->cap * sizeof(unsigned));
    }
    memmove(s->free + nadd, s->free, s->nfree * sizeof(unsigned));
    memcpy(s->free, add, nadd * sizeof(unsigned));
    s->nfree += nadd;
}

/* Is slot n handed out now?  (A lowered limit leaves some out past it.) */
static int
in_use(const struct pr_slots *s, unsigned n)
{
    return n < s->used_cap && s->used[n];
}

void
pr_slots_set_jobs(struct pr_slots *s, unsigned jobs)
{
    size_t i, k, nadd = 0;
    unsigned n, *add;

    if (jobs == 0 || s->jobs == 0 || jobs == s->jobs)
        return;
    if (jobs < s->jobs) {
        for (i = 0, k = 0; i < s->nfree; i++)
            if (s->free[i] <= jobs)
                s->free[k++] = s->free[i];
        s->nfree = k;
        s->jobs = jobs;
        return;
    }
    /* The new numbers go under the free ones, highest at the bottom, so
     * the lowest free number is still taken first; one still out (past a
     * limit lowered before) comes back when its task ends. */
    add = pr_xcalloc(jobs - s->jobs, sizeof(*add));
    for (n = jobs; n > s->jobs; n--)
        if (!in_use(s, n))
            add[nadd++] = n;
    insert_under(s, add, nadd);
    free(add);
    s->jobs = jobs;
    if (s->max < jobs)
        s->max = jobs;
}

void
pr_slice_init(struct pr_slice *s, uint64_t budget_ns, unsigned max)
{
    s->budget_ns = budget_ns;
    s->max = max;
    pr_slice_reset(s);
}

int
pr_slice_open(const struct pr_slice *s)
{
    /* The last start's time stands for now: a start reads the clock
     * anyway, and a slice may run over by one start. */
    return s->n == 0 ||
           (s->n < s->max && s->last_ns < s->begun_ns + s->budget_ns);
}

int
pr_slice_started(struct pr_slice *s, uint64_t now_ns)
{
    s->n++;
    s->last_ns = now_ns;
    if (s->n > 1)
        return 0;
    s->begun_ns = now_ns;
    return 1;
}

void
pr_slice_reset(struct pr_slice *s)
{
    s->begun_ns = 0;
    s->last_ns = 0;
    s->n = 0;
}
