/*
 * slots: how many tasks may run at once, and which slot number each gets
 * ({%}, POOLRUN_SLOT): the lowest free one, so that slot numbers stay in
 * 1..jobs and are reused.  After the system refused a process or a
 * descriptor while others ran, the limit drops to what it could hold
 * (the throttle): the system's limit then sets the parallelism, as -j
 * would.  A pure policy: it tests alone.
 *
 * A slice is the starts of one turn of the loop.  Starting 2,000 tasks in
 * one go keeps the loop from every other event (the first tasks' ends,
 * their output) for as long as that takes; so a slice ends after
 * PR_SLICE_NS of starting or PR_SLICE_MAX starts, and the next one begins
 * only once the loop has handled its events.
 */
#ifndef PR_SLOTS_H
#define PR_SLOTS_H

#include <stddef.h>
#include <stdint.h>

/* 2 ms: what the loop may spend starting tasks before it looks at events
 * again.  A spawn takes 0.1 to 1 ms, so a slice holds several, and the
 * one more poll per slice costs microseconds. */
#define PR_SLICE_NS ((uint64_t)2000000)
/* Starts that cost next to nothing (a message to a worker) end a slice
 * by their number before the clock does. */
#define PR_SLICE_MAX 1024

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

struct pr_slice {
    uint64_t budget_ns; /* a slice lasts at most this long */
    unsigned max;       /* and holds at most this many starts */
    uint64_t begun_ns;  /* the first start's time */
    uint64_t last_ns;   /* the last start's time */
    unsigned n;         /* starts in this slice */
};

void pr_slice_init(struct pr_slice *s, uint64_t budget_ns, unsigned max);

/* May one more task start in this slice? */
int pr_slice_open(const struct pr_slice *s);

/* A task started at now_ns (a monotonic clock).  Returns 1 if it was the
 * first of the slice: the caller then arranges for the slice to end
 * (pr_slice_reset) once the loop has handled its events. */
int pr_slice_started(struct pr_slice *s, uint64_t now_ns);

/* The loop has handled its events: the next start begins a new slice. */
void pr_slice_reset(struct pr_slice *s);

#endif
