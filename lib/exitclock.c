/* The exit clock (see exitclock.h).  The loop and the thread share only
 * the table of watches, under one mutex; the thread holds it for a few
 * stores per wake-up.  A ticket's slot is reused once taken, so each
 * epoll registration carries the slot's generation: a readiness that
 * arrives after its ticket was taken (the loop reaped first) is dropped,
 * not written into the slot's next watch. */
#include "exitclock.h"

#include <stdlib.h>

#include "util.h"

#ifdef __linux__
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <uv.h>

#define STOP_TOKEN      UINT64_MAX
#define EVENTS_PER_WAKE 64

struct watch {
    uint64_t ns;  /* when its pidfd turned readable; 0: not yet */
    uint32_t gen; /* bumped at each take */
    int next;     /* in the free list; -1 ends it */
};

struct pr_exitclock {
    pthread_mutex_t lock;
    struct watch *w;
    int cap;
    int free_head;
    int epfd;
    int stopfd;
    int started; /* 1: the thread runs; -1: it could not start */
    pthread_t thread;
};

struct pr_exitclock *
pr_exitclock_new(void)
{
    struct pr_exitclock *c = pr_xcalloc(1, sizeof(*c));

    pthread_mutex_init(&c->lock, NULL);
    c->free_head = -1;
    c->epfd = -1;
    c->stopfd = -1;
    return c;
}

/* Notes the time of every readiness of one wake-up, under the lock. */
static int
note(struct pr_exitclock *c, const struct epoll_event *ev, int n)
{
    uint64_t now = uv_hrtime();
    int stop = 0;
    int i;

    pthread_mutex_lock(&c->lock);
    for (i = 0; i < n; i++) {
        uint64_t tok = ev[i].data.u64;
        int slot = (int)(tok & 0xffffffffu);
        uint32_t gen = (uint32_t)(tok >> 32);

        if (tok == STOP_TOKEN) {
            stop = 1;
            continue;
        }
        if (slot < c->cap && c->w[slot].gen == gen && c->w[slot].ns == 0)
            c->w[slot].ns = now;
    }
    pthread_mutex_unlock(&c->lock);
    return stop;
}

static void *
clock_main(void *arg)
{
    struct pr_exitclock *c = arg;
    struct epoll_event ev[EVENTS_PER_WAKE];

    for (;;) {
        int n = epoll_wait(c->epfd, ev, EVENTS_PER_WAKE, -1);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 || note(c, ev, n))
            return NULL;
    }
}

/* The epoll set, the stop event and the thread, at the first watch.  The
 * thread blocks every signal: they stay the loop's. */
static int
start(struct pr_exitclock *c)
{
    struct epoll_event ev = {.events = EPOLLIN, .data.u64 = STOP_TOKEN};
    sigset_t all, old;
    int rc;

    c->started = -1;
    c->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (c->epfd < 0)
        return -1;
    c->stopfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (c->stopfd < 0 || epoll_ctl(c->epfd, EPOLL_CTL_ADD, c->stopfd, &ev) != 0)
        return -1;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    rc = pthread_create(&c->thread, NULL, clock_main, c);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0)
        return -1;
    c->started = 1;
    return 0;
}

/* A free slot, the table grown when none is left; under the lock. */
static int
take_slot(struct pr_exitclock *c)
{
    int slot = c->free_head;
    int i;

    if (slot < 0) {
        int cap = c->cap > 0 ? c->cap * 2 : 64;

        c->w = pr_xrealloc(c->w, (size_t)cap * sizeof(*c->w));
        for (i = cap - 1; i >= c->cap; i--) {
            c->w[i].ns = 0;
            c->w[i].gen = 0;
            c->w[i].next = c->free_head;
            c->free_head = i;
        }
        c->cap = cap;
        slot = c->free_head;
    }
    c->free_head = c->w[slot].next;
    c->w[slot].ns = 0;
    return slot;
}

int
pr_exitclock_watch(struct pr_exitclock *c, int pidfd)
{
    struct epoll_event ev;
    int slot;

    if (c == NULL || c->started < 0 || (c->started == 0 && start(c) != 0))
        return -1;
    pthread_mutex_lock(&c->lock);
    slot = take_slot(c);
    ev.events = EPOLLIN | EPOLLONESHOT;
    ev.data.u64 = (uint64_t)c->w[slot].gen << 32 | (uint32_t)slot;
    pthread_mutex_unlock(&c->lock);
    /* Outside the lock: the thread may be noting a wake-up meanwhile. */
    if (epoll_ctl(c->epfd, EPOLL_CTL_ADD, pidfd, &ev) != 0) {
        (void)pr_exitclock_take(c, slot);
        return -1;
    }
    return slot;
}

uint64_t
pr_exitclock_take(struct pr_exitclock *c, int ticket)
{
    uint64_t ns;

    if (c == NULL || ticket < 0)
        return 0;
    pthread_mutex_lock(&c->lock);
    ns = c->w[ticket].ns;
    c->w[ticket].ns = 0;
    c->w[ticket].gen++;
    c->w[ticket].next = c->free_head;
    c->free_head = ticket;
    pthread_mutex_unlock(&c->lock);
    return ns;
}

int
pr_exitclock_shed(struct pr_exitclock *c)
{
    uint64_t one = 1;
    int had = c != NULL && (c->epfd >= 0 || c->stopfd >= 0);

    if (c == NULL)
        return 0;
    if (c->started > 0) {
        while (write(c->stopfd, &one, sizeof(one)) < 0 && errno == EINTR)
            ;
        pthread_join(c->thread, NULL);
    }
    c->started = -1;
    if (c->stopfd >= 0)
        close(c->stopfd);
    if (c->epfd >= 0)
        close(c->epfd);
    c->stopfd = -1;
    c->epfd = -1;
    return had;
}

void
pr_exitclock_free(struct pr_exitclock *c)
{
    if (c == NULL)
        return;
    (void)pr_exitclock_shed(c);
    pthread_mutex_destroy(&c->lock);
    free(c->w);
    free(c);
}

#else /* not Linux: no pidfds, no clock; the loop's time is used */

struct pr_exitclock {
    int unused;
};

struct pr_exitclock *
pr_exitclock_new(void)
{
    return pr_xcalloc(1, sizeof(struct pr_exitclock));
}

int
pr_exitclock_shed(struct pr_exitclock *c)
{
    (void)c;
    return 0;
}

void
pr_exitclock_free(struct pr_exitclock *c)
{
    free(c);
}

int
pr_exitclock_watch(struct pr_exitclock *c, int pidfd)
{
    (void)c;
    (void)pidfd;
    return -1;
}

uint64_t
pr_exitclock_take(struct pr_exitclock *c, int ticket)
{
    (void)c;
    (void)ticket;
    return 0;
}

#endif
