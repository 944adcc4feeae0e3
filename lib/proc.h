/*
 * proc: how a process group ends, the same for tasks, services, callbacks
 * and --workers processes.  Once the group's main process has exited, what
 * is left of the group gets SIGTERM (and SIGCONT: a stopped process would
 * not act on it), then SIGKILL when the grace is over.  Once the group is
 * gone, a pipe still held open by a process that left it (setsid, a double
 * fork) gets the same grace; then the runner stops reading it.  The owner
 * is told through its ops; the timer is the module's, closed with
 * pr_proc_end_close.
 */
#ifndef PR_PROC_H
#define PR_PROC_H

#include <stdint.h>
#include <uv.h>

#include "guard.h"

struct pr_proc_end_ops {
    /* Does the owner still read a pipe of this group? */
    int (*pipes_open)(void *data);
    /* The grace for the pipes is over: stop reading them (and close). */
    void (*cut_pipes)(void *data);
    /* The group is gone (and, if pipes were held, they were cut or closed):
     * the owner may finish. */
    void (*settled)(void *data);
};

struct pr_proc_end {
    uv_timer_t timer;
    const struct pr_proc_end_ops *ops;
    void *data;
    int pgid;
    int phase;
    double kill_after; /* seconds of grace */
    uint64_t term_at;  /* uv_now() when the group got SIGTERM */
    uint64_t poll_ms;
    struct pr_guard *guard; /* knows the group while it runs, or NULL */
    unsigned guard_slot;
};

/* Prepares e (its timer on loop); data goes to every op. */
void pr_proc_end_init(uv_loop_t *loop, struct pr_proc_end *e,
                      const struct pr_proc_end_ops *ops, void *data,
                      double kill_after);

/* The group pgid has started: the guard (if any) ends it should poolrun
 * die before it is gone. */
void pr_proc_end_guard(struct pr_proc_end *e, struct pr_guard *g, int pgid);

/* The group's main process (pgid) has exited.  term_at is the uv_now() of a
 * SIGTERM poolrun already sent the group (a timeout: the grace began then),
 * or 0.  Calls settled, now or later, once. */
void pr_proc_end_exited(struct pr_proc_end *e, int pgid, uint64_t term_at);

/* The owner's pipes have all closed on their own (EOF). */
void pr_proc_end_pipes_closed(struct pr_proc_end *e);

/* May the group have members after its main process exited? */
int pr_proc_end_group_alive(const struct pr_proc_end *e);

/* Has the group ended (settled was called)? */
int pr_proc_end_settled(const struct pr_proc_end *e);

/* Sends sig to the group, with SIGCONT after any signal but SIGKILL. */
void pr_proc_signal_group(int pgid, int sig);

/* Closes the timer; cb gets it (its data is e's data). */
void pr_proc_end_close(struct pr_proc_end *e, uv_close_cb cb);

#endif
