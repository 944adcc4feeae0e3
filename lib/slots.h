/*
 * slots: how many tasks may run at once, and which slot number each gets
 * ({%}, POOLRUN_SLOT): the lowest free one, so that slot numbers stay in
 * 1..jobs and are reused.  After the system refused a process or a
 * descriptor while others ran, the limit drops to what it could hold
 * (the throttle): the system's limit then sets the parallelism, as -j
 * would.  A pure policy: it tests alone.
 */
#ifndef PR_SLOTS_H
#define PR_SLOTS_H

#include <stddef.h>

struct pr_slots {
    unsigned jobs;     /* slots; 0 means no limit */
    unsigned running;  /* slots taken */
    unsigned throttle; /* 0, or at most this many from now on */
    unsigned *free;    /* a stack of free slot numbers */
    size_t nfree;
    size_t cap;
    unsigned max; /* the highest slot number handed out so far */
    unsigned char *used; /* used[n]: slot n is handed out now */
    size_t used_cap;
};

void pr_slots_init(struct pr_slots *s, unsigned jobs);
void pr_slots_free(struct pr_slots *s);

/* May one more task start now? */
int pr_slots_open(const struct pr_slots *s);

/* Takes a slot (the caller checked pr_slots_open) and returns its number,
 * from 1. */
unsigned pr_slots_take(struct pr_slots *s);

/* The task in slot n has ended. */
void pr_slots_give(struct pr_slots *s, unsigned n);

/* -j changes while tasks run (the queue service): more slots take the
 * next numbers; fewer take effect as tasks end (a slot past the new limit
 * is not handed out again).  Neither side may be 0 (no limit). */
void pr_slots_set_jobs(struct pr_slots *s, unsigned jobs);

/* A start failed for lack of resources while `live` tasks run: run at
 * most that many from now on.  Returns 1 if that lowered the limit. */
int pr_slots_throttle(struct pr_slots *s, unsigned live);

#endif
