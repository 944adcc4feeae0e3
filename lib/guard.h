/*
 * guard: nothing poolrun started outlives a poolrun that dies.  A small
 * guardian process, forked at the start of a run, shares a table of the
 * process groups that run.  When poolrun dies (kill -9, a crash) while the
 * table still names groups, the guardian sends them SIGTERM and SIGCONT,
 * waits the grace, then sends SIGKILL.  On a normal end the table is
 * empty and the guardian is told to go.
 */
#ifndef PR_GUARD_H
#define PR_GUARD_H

struct pr_guard;

/* Forks the guardian.  Returns 0 and a guard (free with pr_guard_stop), or
 * a negative error; where the system lacks what it needs, -ENOSYS. */
int pr_guard_start(struct pr_guard **out, double grace);

/* Process group pgid runs: returns its place in the table (0 if there is
 * no guard). */
unsigned pr_guard_add(struct pr_guard *g, int pgid);

/* The group in place `slot` is gone. */
void pr_guard_remove(struct pr_guard *g, unsigned slot);

/* The run is over: the guardian exits, and is waited for.  NULL is a
 * no-op. */
void pr_guard_stop(struct pr_guard *g);

/* The guardian's pid, or 0: a child of poolrun that is none of its tasks. */
int pr_guard_pid(const struct pr_guard *g);

#endif
