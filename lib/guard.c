/*
 * guard: the guardian of a run.  Forked before any task starts, it closes
 * every descriptor and waits for a signal: SIGUSR2 when the run is over,
 * SIGUSR1 from the kernel when poolrun dies (its parent-death signal).
 * The table of running process groups is memory the two share (an
 * anonymous shared mapping made before the fork), written by poolrun
 * alone, one int per group: a group is in it from its start until it is
 * gone, with no system call on the way and no descriptor held.
 */
#ifdef __linux__
#define _GNU_SOURCE /* MAP_ANONYMOUS, prctl */
#endif
#include "guard.h"

#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "util.h"

#include <sys/mman.h>
#include <sys/wait.h>
#ifdef __linux__
#include <sys/prctl.h>
#include <sys/syscall.h>
#endif
#if !defined(MAP_ANONYMOUS) && defined(MAP_ANON)
#define MAP_ANONYMOUS MAP_ANON
#endif

#ifdef MAP_ANONYMOUS
/* Groups running at once that the guard can know; past that, a group is
 * not guarded (its main process still gets the parent-death signal).  The
 * table is touched a page at a time, so its size costs nothing. */
#define TABLE_SLOTS ((size_t)1 << 20)
#define POLL_NS     10000000L /* the guardian's look at dying groups */

struct pr_guard {
    int pid;        /* the guardian */
    int32_t *table; /* [0]: slots in use so far; [1..TABLE_SLOTS): pgids */
    unsigned *free_slots;
    unsigned nfree;
    unsigned free_cap;
};

static void
nap(void)
{
    struct timespec ts = {0, POLL_NS};

    nanosleep(&ts, NULL);
}

/* Ends every group in the table: SIGTERM and SIGCONT, then SIGKILL to the
 * ones left after the grace. */
static void
end_groups(const volatile int32_t *table, double grace)
{
    size_t n = (size_t)table[0] + 1;
    int32_t *t;
    long waited = 0;
    long limit = (long)(grace * 1e9);
    size_t i;
    int left;

    if (n > TABLE_SLOTS)
        n = TABLE_SLOTS;
    t = malloc(n * sizeof(*t));
    if (t == NULL)
        return;
    for (i = 1; i < n; i++)
        t[i] = table[i];
    for (i = 1; i < n; i++) {
        if (t[i] <= 0)
            continue;
        kill(-t[i], SIGTERM);
        kill(-t[i], SIGCONT);
    }
    for (;;) {
        left = 0;
        for (i = 1; i < n; i++) {
            if (t[i] <= 0)
                continue;
            if (kill(-t[i], 0) != 0)
                t[i] = 0;
            else
                left = 1;
        }
        if (!left || waited >= limit)
            break;
        nap();
        waited += POLL_NS;
    }
    for (i = 1; i < n; i++)
        if (t[i] > 0)
            kill(-t[i], SIGKILL);
    free(t);
}

/* SIGUSR1: poolrun is gone (the kernel's parent-death signal); SIGUSR2:
 * the run is over.  Every other signal is ignored: the terminal's go to
 * poolrun, which then ends its run normally. */
static void __attribute__((noreturn))
guardian(const volatile int32_t *table, pid_t parent, double grace)
{
    struct sigaction ign;
    struct timespec second = {1, 0};
    sigset_t wake;
    int sig;

    /* No descriptor of poolrun's stays open here: one kept by mistake
     * (poolrun's stdout) would keep a reader of its output waiting. */
#if defined(__linux__) && defined(SYS_close_range)
    if (syscall(SYS_close_range, 0U, ~0U, 0U) != 0)
#endif
    {
        long max = sysconf(_SC_OPEN_MAX);
        int fd;

        for (fd = 0; fd < (max > 0 && max < 65536 ? max : 65536); fd++)
            close(fd);
    }
    memset(&ign, 0, sizeof(ign));
    ign.sa_handler = SIG_IGN;
    for (sig = 1; sig < NSIG; sig++)
        if (sig != SIGKILL && sig != SIGSTOP && sig != SIGCONT &&
            sig != SIGTSTP && sig != SIGTTIN && sig != SIGTTOU &&
            sig != SIGUSR1 && sig != SIGUSR2)
            sigaction(sig, &ign, NULL);
    /* Ours at their default: poolrun ignores SIGUSR1 outside a run, and
     * an ignored signal may be discarded even while blocked (POSIX leaves
     * it open), which would lose the parent-death signal. */
    ign.sa_handler = SIG_DFL;
    sigaction(SIGUSR1, &ign, NULL);
    sigaction(SIGUSR2, &ign, NULL);
    sigemptyset(&wake);
    sigaddset(&wake, SIGUSR1);
    sigaddset(&wake, SIGUSR2);
    sigprocmask(SIG_SETMASK, &wake, NULL);
#ifdef __linux__
    prctl(PR_SET_PDEATHSIG, SIGUSR1);
    prctl(PR_SET_NAME, "poolrun-guard");
#endif
    for (;;) {
        /* Where there is no parent-death signal, a look once a second
         * finds poolrun gone all the same. */
        if (getppid() != parent) {
            sig = SIGUSR1;
        } else {
            sig = sigtimedwait(&wake, NULL, &second);
            if (sig < 0)
                continue;
        }
        if (sig == SIGUSR1)
            end_groups(table, grace);
        _exit(0);
    }
}

int
pr_guard_start(struct pr_guard **out, double grace)
{
    struct pr_guard *g;
    sigset_t all, old;
    void *table;
    pid_t parent = getpid();
    pid_t pid;
    int rc = 0;

    *out = NULL;
    table = mmap(NULL, TABLE_SLOTS * sizeof(int32_t), PROT_READ | PROT_WRITE,
                 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (table == MAP_FAILED)
        return -errno;
    /* No handler of poolrun's may run in the child before it has set its
     * own dispositions. */
    sigfillset(&all);
    sigprocmask(SIG_SETMASK, &all, &old);
    pid = fork();
    if (pid == 0)
        guardian(table, parent, grace);
    if (pid < 0)
        rc = -errno;
    sigprocmask(SIG_SETMASK, &old, NULL);
    if (rc != 0) {
        munmap(table, TABLE_SLOTS * sizeof(int32_t));
        return rc;
    }
    g = pr_xcalloc(1, sizeof(*g));
    g->pid = pid;
    g->table = table;
    *out = g;
    return 0;
}

unsigned
pr_guard_add(struct pr_guard *g, int pgid)
{
    unsigned slot;

    if (g == NULL || pgid <= 0)
        return 0;
    if (g->nfree > 0) {
        slot = g->free_slots[--g->nfree];
    } else {
        if ((size_t)g->table[0] + 1 >= TABLE_SLOTS)
            return 0;
        slot = (unsigned)g->table[0] + 1;
        if (slot > g->free_cap) {
            g->free_cap = g->free_cap ? g->free_cap * 2 : 64;
            g->free_slots = pr_xrealloc(g->free_slots,
                                        g->free_cap * sizeof(unsigned));
        }
        g->table[0] = (int32_t)slot;
    }
    g->table[slot] = pgid;
    return slot;
}

void
pr_guard_remove(struct pr_guard *g, unsigned slot)
{
    if (g == NULL || slot == 0 || slot >= TABLE_SLOTS || g->table[slot] == 0)
        return;
    g->table[slot] = 0;
    g->free_slots[g->nfree++] = slot;
}

void
pr_guard_stop(struct pr_guard *g)
{
    int st;

    if (g == NULL)
        return;
    /* SIGUSR2 alone would wait for ever for a guardian that was stopped
     * (SIGSTOP to its pid alone, a debugger): SIGCONT wakes it to take
     * the SIGUSR2 that waits. */
    kill(g->pid, SIGUSR2);
    kill(g->pid, SIGCONT);
    while (waitpid(g->pid, &st, 0) < 0 && errno == EINTR)
        ;
    munmap(g->table, TABLE_SLOTS * sizeof(int32_t));
    free(g->free_slots);
    free(g);
}

int
pr_guard_pid(const struct pr_guard *g)
{
    return g != NULL ? g->pid : 0;
}

#else

int
pr_guard_start(struct pr_guard **out, double grace)
{
    (void)grace;
    *out = NULL;
    return -ENOSYS;
}

unsigned
pr_guard_add(struct pr_guard *g, int pgid)
{
    (void)g;
    (void)pgid;
    return 0;
}

void
pr_guard_remove(struct pr_guard *g, unsigned slot)
{
    (void)g;
    (void)slot;
}

void
pr_guard_stop(struct pr_guard *g)
{
    (void)g;
}

int
pr_guard_pid(const struct pr_guard *g)
{
    (void)g;
    return 0;
}

#endif
