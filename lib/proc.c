/*
 * proc: the end of a process group, one state machine for every kind of
 * process poolrun starts.  Polling (1 ms, doubling up to 50 ms) finds out
 * when the group is gone: the kernel tells nobody but the parent, and the
 * members are not our children.
 */
#include "proc.h"

#include <signal.h>

#include "sys.h"
#include "util.h"

#define POLL_MAX_MS 50

enum phase {
    PHASE_RUNNING,    /* the main process has not exited */
    PHASE_GROUP_POLL, /* SIGTERM sent to the group; waiting for it to go */
    PHASE_PIPE_GRACE, /* group gone; something outside it holds a pipe */
    PHASE_SETTLED
};

void
pr_proc_end_init(uv_loop_t *loop, struct pr_proc_end *e,
                 const struct pr_proc_end_ops *ops, void *data,
                 double kill_after)
{
    uv_timer_init(loop, &e->timer);
    e->timer.data = data;
    e->ops = ops;
    e->data = data;
    e->pgid = 0;
    e->phase = PHASE_RUNNING;
    e->kill_after = kill_after;
    e->term_at = 0;
    e->poll_ms = 1;
    e->guard = NULL;
    e->guard_slot = 0;
}

void
pr_proc_end_guard(struct pr_proc_end *e, struct pr_guard *g, int pgid)
{
    e->guard = g;
    e->guard_slot = pr_guard_add(g, pgid);
}

/* The group is gone: before its number can be reused, the guard forgets
 * it. */
static void
unguard(struct pr_proc_end *e)
{
    pr_guard_remove(e->guard, e->guard_slot);
    e->guard_slot = 0;
}

void
pr_proc_signal_group(int pgid, int sig)
{
    if (pgid <= 0)
        return;
    kill(-pgid, sig);
    if (sig != SIGKILL && sig != SIGCONT)
        kill(-pgid, SIGCONT);
}

static uint64_t
grace_ms(const struct pr_proc_end *e)
{
    return (uint64_t)(e->kill_after * 1000);
}

static void
settle(struct pr_proc_end *e)
{
    unguard(e);
    e->phase = PHASE_SETTLED;
    uv_timer_stop(&e->timer);
    e->ops->settled(e->data);
}

static void on_end_timer(uv_timer_t *timer);

static void
group_gone(struct pr_proc_end *e)
{
    unguard(e);
    if (e->ops->pipes_open(e->data)) {
        /* Only a process that left the group can still hold a pipe: give
         * it the grace too, then stop reading. */
        e->phase = PHASE_PIPE_GRACE;
        uv_timer_start(&e->timer, on_end_timer, grace_ms(e), 0);
        return;
    }
    settle(e);
}

static void
on_end_timer(uv_timer_t *timer)
{
    struct pr_proc_end *e = PR_CONTAINER_OF(timer, struct pr_proc_end, timer);
    uint64_t now = uv_now(timer->loop);

    switch (e->phase) {
    case PHASE_GROUP_POLL:
        if (!pr_sys_group_alive(e->pgid)) {
            group_gone(e);
        } else if (now - e->term_at >= 2 * grace_ms(e) + 1000) {
            /* SIGKILL did not end it (a process stuck in the kernel):
             * stop waiting for it. */
            group_gone(e);
        } else if (now - e->term_at >= grace_ms(e)) {
            /* SIGKILL, then wait (briefly) until it has taken effect. */
            kill(-e->pgid, SIGKILL);
            e->poll_ms = 1;
            uv_timer_start(timer, on_end_timer, e->poll_ms, 0);
        } else {
            e->poll_ms =
                e->poll_ms * 2 > POLL_MAX_MS ? POLL_MAX_MS : e->poll_ms * 2;
            uv_timer_start(timer, on_end_timer, e->poll_ms, 0);
        }
        break;
    case PHASE_PIPE_GRACE:
        e->ops->cut_pipes(e->data);
        settle(e);
        break;
    default:
        break;
    }
}

void
pr_proc_end_exited(struct pr_proc_end *e, int pgid, uint64_t term_at)
{
    e->pgid = pgid;
    /* ESRCH, the common case, means nothing was left. */
    if (pgid > 0 && kill(-pgid, SIGTERM) == 0) {
        kill(-pgid, SIGCONT);
        e->phase = PHASE_GROUP_POLL;
        e->poll_ms = 1;
        e->term_at = term_at != 0 ? term_at : uv_now(e->timer.loop);
        uv_timer_start(&e->timer, on_end_timer, e->poll_ms, 0);
        return;
    }
    group_gone(e);
}

void
pr_proc_end_pipes_closed(struct pr_proc_end *e)
{
    if (e->phase == PHASE_PIPE_GRACE)
        settle(e);
}

int
pr_proc_end_group_alive(const struct pr_proc_end *e)
{
    return e->phase == PHASE_GROUP_POLL;
}

int
pr_proc_end_settled(const struct pr_proc_end *e)
{
    return e->phase == PHASE_SETTLED;
}

void
pr_proc_end_close(struct pr_proc_end *e, uv_close_cb cb)
{
    if (!uv_is_closing((uv_handle_t *)&e->timer))
        uv_close((uv_handle_t *)&e->timer, cb);
}
