/*
 * reaper: processes that left their task's process group.  poolrun makes
 * itself a child subreaper, so a task's child that escaped its group (a
 * daemon that called setsid) is adopted by poolrun when its parent exits,
 * not by init.  The reaper reaps those as they exit while the run goes on,
 * and at the end gives the ones still running SIGTERM, then SIGKILL after
 * the grace, so that no process outlives the run unseen.
 */
#ifndef PR_REAPER_H
#define PR_REAPER_H

#include <stdint.h>
#include <uv.h>

struct pr_reaper;

/* Is pid one of the processes poolrun runs and waits for itself? */
typedef int pr_reaper_owns_fn(void *data, int pid);

/* Becomes the subreaper (if the system allows) and reaps adopted children
 * every second; the timer does not keep the loop alive. */
struct pr_reaper *pr_reaper_new(uv_loop_t *loop, double kill_after,
                                pr_reaper_owns_fn *owns, void *data);

/* Every task has ended: ends the adopted processes still running (they
 * get a short while first, in case they belong to groups just killed) and
 * calls done(data) once they are gone, or at once if there are none. */
void pr_reaper_finish(struct pr_reaper *r, void (*done)(void *), void *data);

/* How many processes pr_reaper_finish had to end. */
uint64_t pr_reaper_escapees(const struct pr_reaper *r);

/* Closes the timer; free with pr_reaper_free after the loop has run. */
void pr_reaper_close(struct pr_reaper *r);
void pr_reaper_free(struct pr_reaper *r);

#endif
