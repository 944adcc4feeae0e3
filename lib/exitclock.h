/* The exit clock: when a task's main process exited, as the kernel told
 * it, however busy the loop was at that moment.
 *
 * The loop sees a pidfd turn readable only when it next polls, and at
 * thousands of slots it may be in the middle of starting tasks (each a
 * vfork that waits for an exec).  One thread of its own waits on the
 * watched pidfds in an epoll set and only notes the time each turned
 * readable; it touches nothing else of poolrun, and the loop takes the
 * time when it reaps the process.  Linux only: elsewhere (or when the
 * thread cannot start) every take answers 0 and the loop's own time is
 * used. */
#ifndef PR_EXITCLOCK_H
#define PR_EXITCLOCK_H

#include <stdint.h>

struct pr_exitclock;

/* A clock with no thread yet: the first watch starts it.  Free with
 * pr_exitclock_free, which stops and joins the thread. */
struct pr_exitclock *pr_exitclock_new(void);
void pr_exitclock_free(struct pr_exitclock *c);

/* Out of descriptors: stops the thread and closes its two for good
 * (watches still held answer what was noted, later ones are refused).
 * Returns 1 when that freed any. */
int pr_exitclock_shed(struct pr_exitclock *c);

/* Notes when pidfd turns readable.  Returns a ticket (>= 0) for
 * pr_exitclock_take, or -1 when it cannot watch (then the caller uses its
 * own time).  The caller keeps pidfd open until it has taken the ticket. */
int pr_exitclock_watch(struct pr_exitclock *c, int pidfd);

/* The uv_hrtime() at which the ticket's pidfd turned readable, or 0 when
 * the thread has not seen it yet; the ticket is spent either way. */
uint64_t pr_exitclock_take(struct pr_exitclock *c, int ticket);

#endif
