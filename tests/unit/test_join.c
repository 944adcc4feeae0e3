/* Unit tests of join: the unfinished count and its waiters, alone.  The
 * queue's and the batch's tests drive the same rules through their APIs. */
#include <uv.h>

#include "join.h"
#include "test.h"

int pr_test_failed;

static int log_[8];
static int nlog;

struct rec {
    struct pr_join_waiter w;
    int name;
    struct pr_join *fini; /* finalise and free this join from the callback */
};

static void
on_fire(void *data)
{
    struct rec *r = data;

    if (nlog < (int)PR_ARRAY_SIZE(log_))
        log_[nlog++] = r->name;
    if (r->fini != NULL) {
        pr_join_fini(r->fini);
        free(r->fini);
    }
}

static void
join_done_with_nothing_unfinished_returns_einval(void)
{
    struct pr_join j;

    pr_join_init(&j);
    ASSERT_EQ(pr_join_done(&j), UV_EINVAL);
    pr_join_add(&j);
    ASSERT_EQ(j.unfinished, 1);
    ASSERT_EQ(pr_join_done(&j), 0);
    ASSERT_EQ(pr_join_done(&j), UV_EINVAL);
    ASSERT_EQ(j.unfinished, 0);
    pr_join_fini(&j);
}

static void
join_wait_on_a_waiting_waiter_moves_it_to_the_end(void)
{
    struct pr_join j;
    struct rec a = {.name = 1};
    struct rec b = {.name = 2};

    nlog = 0;
    pr_join_init(&j);
    pr_join_add(&j);
    pr_join_wait(&j, &a.w, on_fire, &a);
    pr_join_wait(&j, &b.w, on_fire, &b);
    pr_join_wait(&j, &a.w, on_fire, &a);
    ASSERT_EQ(pr_join_done(&j), 0);
    ASSERT_EQ(nlog, 2);
    ASSERT_EQ(log_[0], 2);
    ASSERT_EQ(log_[1], 1);
    pr_join_fini(&j);
}

static void
join_wait_moves_a_waiter_from_another_join(void)
{
    struct pr_join j1;
    struct pr_join j2;
    struct rec a = {.name = 1};

    nlog = 0;
    pr_join_init(&j1);
    pr_join_init(&j2);
    pr_join_add(&j1);
    pr_join_add(&j2);
    pr_join_wait(&j1, &a.w, on_fire, &a);
    pr_join_wait(&j2, &a.w, on_fire, &a);
    ASSERT_EQ(pr_join_done(&j1), 0);
    ASSERT_EQ(nlog, 0);
    ASSERT_EQ(pr_join_done(&j2), 0);
    ASSERT_EQ(nlog, 1);
    pr_join_fini(&j1);
    pr_join_fini(&j2);
}

static void
join_fini_drops_waiters_and_cancel_after_it_is_harmless(void)
{
    struct pr_join j;
    struct rec a = {.name = 1};

    nlog = 0;
    pr_join_init(&j);
    pr_join_add(&j);
    pr_join_wait(&j, &a.w, on_fire, &a);
    pr_join_fini(&j);
    /* The waiter no longer points into j: reusing j is safe. */
    pr_join_init(&j);
    pr_join_cancel(&a.w);
    ASSERT_EQ(nlog, 0);
    pr_join_fini(&j);
}

static void
join_fini_from_a_waiter_stops_the_firing(void)
{
    struct pr_join *j = pr_xmalloc(sizeof(*j));
    struct rec a = {.name = 1};
    struct rec b = {.name = 2};

    nlog = 0;
    pr_join_init(j);
    pr_join_add(j);
    a.fini = j;
    pr_join_wait(j, &a.w, on_fire, &a);
    pr_join_wait(j, &b.w, on_fire, &b);
    /* a finalises and frees j: the loop that fires must not look at j
     * again (ASan would say), and b, dropped, never fires. */
    ASSERT_EQ(pr_join_done(j), 0);
    ASSERT_EQ(nlog, 1);
    ASSERT_EQ(log_[0], 1);
    pr_join_cancel(&b.w);
}

int
main(void)
{
    static const struct pr_test_case cases[] = {
        TEST_CASE(join_done_with_nothing_unfinished_returns_einval),
        TEST_CASE(join_wait_on_a_waiting_waiter_moves_it_to_the_end),
        TEST_CASE(join_wait_moves_a_waiter_from_another_join),
        TEST_CASE(join_fini_drops_waiters_and_cancel_after_it_is_harmless),
        TEST_CASE(join_fini_from_a_waiter_stops_the_firing),
    };

    return pr_test_run(cases, sizeof(cases) / sizeof(cases[0]));
}
