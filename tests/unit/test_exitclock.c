/* Unit tests of the exit clock: the time it notes is when the process
 * exited, not when the loop took it; a readiness that comes after its
 * ticket was taken never lands in the slot's next watch; tickets stay
 * distinct past the table's first size; shed for descriptors, it watches
 * no more. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#include "exitclock.h"
#include "test.h"

int pr_test_failed;

#define MS ((uint64_t)1000000)

/* A child that exits when its pipe's write end (*release) is closed. */
struct child {
    pid_t pid;
    int pidfd;
    int release;
};

static int
child_start(struct child *c)
{
    int p[2];
    char b;

    if (pipe(p) != 0)
        return -1;
    c->pid = fork();
    if (c->pid < 0)
        return -1;
    if (c->pid == 0) {
        int fd;

        /* Other children's release ends too: each must see its own EOF. */
        for (fd = 3; fd < 1024; fd++)
            if (fd != p[0])
                close(fd);
        while (read(p[0], &b, 1) < 0 && errno == EINTR)
            ;
        _exit(0);
    }
    close(p[0]);
    c->release = p[1];
    c->pidfd = (int)syscall(SYS_pidfd_open, c->pid, 0);
    return c->pidfd < 0 ? -1 : 0;
}

/* Lets it exit and waits for exactly that (without reaping it). */
static void
child_exit(struct child *c)
{
    siginfo_t si;

    close(c->release);
    c->release = -1;
    while (waitid(P_PID, (id_t)c->pid, &si, WEXITED | WNOWAIT) < 0 &&
           errno == EINTR)
        ;
}

static void
child_reap(struct child *c)
{
    if (c->release >= 0)
        close(c->release);
    while (waitpid(c->pid, NULL, 0) < 0 && errno == EINTR)
        ;
    close(c->pidfd);
}

/* The loop is held up (a slow spawn, a blocked write) for ms. */
static void
hold_up(uint64_t ms)
{
    struct timespec t = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000};

    while (nanosleep(&t, &t) != 0)
        ;
}

static void
test_notes_the_exit_not_the_take(void)
{
    struct pr_exitclock *c = pr_exitclock_new();
    struct child ch;
    uint64_t released, exited, noted;
    int ticket;

    ASSERT_EQ(child_start(&ch), 0);
    ticket = pr_exitclock_watch(c, ch.pidfd);
    ASSERT_TRUE(ticket >= 0);
    released = uv_hrtime();
    child_exit(&ch);
    exited = uv_hrtime();
    /* A second late, as a loop busy starting tasks could be: what it takes
     * must still be the exit's time, not this one. */
    hold_up(1000);
    noted = pr_exitclock_take(c, ticket);
    child_reap(&ch);
    pr_exitclock_free(c);
    ASSERT_TRUE(noted >= released);
    ASSERT_TRUE(noted < exited + 500 * MS);
}

static void
test_a_late_readiness_does_not_reach_the_next_watch(void)
{
    struct pr_exitclock *c = pr_exitclock_new();
    struct child first, second;
    int t1, t2;

    ASSERT_EQ(child_start(&first), 0);
    ASSERT_EQ(child_start(&second), 0);
    t1 = pr_exitclock_watch(c, first.pidfd);
    ASSERT_TRUE(t1 >= 0);
    /* Taken while it still runs (the loop reaped it first, say). */
    ASSERT_EQ(pr_exitclock_take(c, t1), 0);
    t2 = pr_exitclock_watch(c, second.pidfd);
    ASSERT_EQ(t2, t1); /* the slot is reused at once */
    /* The first one's readiness now arrives, for the slot's old watch. */
    child_exit(&first);
    hold_up(300);
    ASSERT_EQ(pr_exitclock_take(c, t2), 0); /* the second still runs */
    child_reap(&first);
    child_reap(&second);
    pr_exitclock_free(c);
}

#define MANY 150

static void
test_tickets_stay_distinct_as_the_table_grows(void)
{
    struct pr_exitclock *c = pr_exitclock_new();
    static struct child ch[MANY];
    static int seen[MANY];
    int tickets[MANY];
    int i;

    for (i = 0; i < MANY; i++) {
        ASSERT_EQ(child_start(&ch[i]), 0);
        tickets[i] = pr_exitclock_watch(c, ch[i].pidfd);
        ASSERT_TRUE(tickets[i] >= 0 && tickets[i] < MANY);
        ASSERT_EQ(seen[tickets[i]], 0);
        seen[tickets[i]] = 1;
    }
    /* None has exited: nothing is noted for any of them. */
    for (i = 0; i < MANY; i++)
        ASSERT_EQ(pr_exitclock_take(c, tickets[i]), 0);
    for (i = 0; i < MANY; i++)
        child_reap(&ch[i]);
    pr_exitclock_free(c);
}

static void
test_shed_keeps_what_was_noted_and_watches_no_more(void)
{
    struct pr_exitclock *c = pr_exitclock_new();
    struct child a, b;
    int ticket;

    ASSERT_EQ(child_start(&a), 0);
    ASSERT_EQ(child_start(&b), 0);
    ASSERT_EQ(pr_exitclock_shed(c), 0); /* no thread yet: nothing to free */
    pr_exitclock_free(c);
    c = pr_exitclock_new();
    ticket = pr_exitclock_watch(c, a.pidfd);
    ASSERT_TRUE(ticket >= 0);
    ASSERT_EQ(pr_exitclock_shed(c), 1);
    ASSERT_EQ(pr_exitclock_shed(c), 0);
    ASSERT_EQ(pr_exitclock_watch(c, b.pidfd), -1);
    child_exit(&a);
    ASSERT_EQ(pr_exitclock_take(c, ticket), 0); /* nobody noted it */
    child_reap(&a);
    child_reap(&b);
    pr_exitclock_free(c);
}

static void
test_no_thread_until_the_first_watch(void)
{
    /* A clock that watched nothing frees without a thread to stop, and a
     * spent or refused ticket answers 0. */
    struct pr_exitclock *c = pr_exitclock_new();

    ASSERT_EQ(pr_exitclock_take(c, -1), 0);
    ASSERT_EQ(pr_exitclock_watch(NULL, 0), -1);
    pr_exitclock_free(c);
    pr_exitclock_free(NULL);
}

int
main(void)
{
    static const struct pr_test_case cases[] = {
        TEST_CASE(test_notes_the_exit_not_the_take),
        TEST_CASE(test_a_late_readiness_does_not_reach_the_next_watch),
        TEST_CASE(test_tickets_stay_distinct_as_the_table_grows),
        TEST_CASE(test_shed_keeps_what_was_noted_and_watches_no_more),
        TEST_CASE(test_no_thread_until_the_first_watch),
    };

    signal(SIGPIPE, SIG_IGN);
    return pr_test_run(cases, sizeof(cases) / sizeof(cases[0]));
}
