/*
 * reaper: see reaper.h.  Adopted children are found in /proc (their
 * parent is poolrun) and told from poolrun's own by asking the owner.
 */
#include "reaper.h"

#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>

#include "sys.h"
#include "util.h"

/* Adopted processes are reaped this often while the run goes on. */
#define REAP_MS 1000
/* How long processes of groups poolrun killed may take to go at the end
 * before they count as escaped. */
#define SETTLE_MS 200

struct pr_reaper {
    uv_loop_t *loop;
    uv_timer_t timer;
    double kill_after;
    pr_reaper_owns_fn *owns;
    void *data;
    int subreaper;    /* escaped processes become our children */
    uint64_t term_at; /* uv_now() of the last step of the ending */
    uint64_t escapees;
    void (*done)(void *);
    void *done_data;
};

/* Reaps the adopted children that have exited (never one of ours, whose
 * runner waits for it).  Returns how many adopted ones still run, and
 * with `list` their pids. */
static int
reap_adopted(struct pr_reaper *r, int **list)
{
    int *pids = NULL;
    int n = pr_sys_children(&pids);
    int alive = 0;
    int i;

    for (i = 0; i < n; i++) {
        int st;

        if (r->owns(r->data, pids[i]))
            continue;
        if (waitpid(pids[i], &st, WNOHANG) == 0)
            pids[alive++] = pids[i];
    }
    if (list != NULL && alive > 0) {
        *list = pids;
        return alive;
    }
    free(pids);
    return n < 0 ? 0 : alive;
}

static void
on_reap_timer(uv_timer_t *timer)
{
    reap_adopted(timer->data, NULL);
}

static void
finished(struct pr_reaper *r)
{
    void (*done)(void *) = r->done;

    r->done = NULL;
    if (done != NULL)
        done(r->done_data);
}

static void
signal_each(const int *pids, int n, int sig)
{
    int i;

    for (i = 0; i < n; i++) {
        kill(-pids[i], sig);
        kill(pids[i], sig);
    }
}

static void
on_escape_timer(uv_timer_t *timer)
{
    struct pr_reaper *r = timer->data;
    uint64_t grace = (uint64_t)(r->kill_after * 1000);
    uint64_t waited;
    int *left = NULL;
    int n = reap_adopted(r, &left);

    waited = uv_now(r->loop) - r->term_at;
    if (n == 0 || waited >= grace + 1000) {
        /* All gone (or beyond saving: init will reap them). */
        free(left);
        finished(r);
        return;
    }
    if (waited >= grace)
        signal_each(left, n, SIGKILL);
    free(left);
    uv_timer_start(timer, on_escape_timer, 20, 0);
}

/* Processes of groups poolrun has just killed may linger for a moment as
 * its adopted children: they get a short while to go before anything
 * still there counts as escaped and gets SIGTERM (with its group). */
static void
on_settle_timer(uv_timer_t *timer)
{
    struct pr_reaper *r = timer->data;
    int *left = NULL;
    int n = reap_adopted(r, &left);

    if (n == 0) {
        finished(r);
        return;
    }
    if (uv_now(r->loop) - r->term_at < SETTLE_MS) {
        free(left);
        uv_timer_start(timer, on_settle_timer, 5, 0);
        return;
    }
    r->escapees += (uint64_t)n;
    signal_each(left, n, SIGTERM);
    signal_each(left, n, SIGCONT);
    free(left);
    r->term_at = uv_now(r->loop);
    uv_timer_start(timer, on_escape_timer, 10, 0);
}

struct pr_reaper *
pr_reaper_new(uv_loop_t *loop, double kill_after, pr_reaper_owns_fn *owns,
              void *data)
{
    struct pr_reaper *r = pr_xcalloc(1, sizeof(*r));

    r->loop = loop;
    r->kill_after = kill_after;
    r->owns = owns;
    r->data = data;
    uv_timer_init(loop, &r->timer);
    r->timer.data = r;
    r->subreaper = pr_sys_become_subreaper();
    if (r->subreaper) {
        uv_timer_start(&r->timer, on_reap_timer, REAP_MS, REAP_MS);
        /* A repeating timer must not keep the loop alive by itself. */
        uv_unref((uv_handle_t *)&r->timer);
    }
    return r;
}

void
pr_reaper_finish(struct pr_reaper *r, void (*done)(void *), void *data)
{
    r->done = done;
    r->done_data = data;
    if (!r->subreaper || reap_adopted(r, NULL) == 0) {
        finished(r);
        return;
    }
    uv_update_time(r->loop);
    r->term_at = uv_now(r->loop);
    uv_ref((uv_handle_t *)&r->timer);
    uv_timer_start(&r->timer, on_settle_timer, 5, 0);
}

uint64_t
pr_reaper_escapees(const struct pr_reaper *r)
{
    return r->escapees;
}

void
pr_reaper_close(struct pr_reaper *r)
{
    if (r != NULL && !uv_is_closing((uv_handle_t *)&r->timer))
        uv_close((uv_handle_t *)&r->timer, NULL);
}

void
pr_reaper_free(struct pr_reaper *r)
{
    free(r);
}
