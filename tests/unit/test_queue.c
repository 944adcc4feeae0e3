/* Unit tests of the joinable queue: Python JoinableQueue's rules, and each
 * order checked against a plain array model. */
#include <uv.h>

#include "queue.h"
#include "test.h"

int pr_test_failed;

static struct pr_task *
mk(int priority)
{
    struct pr_task *t = pr_task_new(0, "x", 1);

    t->priority = priority;
    return t;
}

static int join_calls;

static void
on_join(void *data)
{
    (void)data;
    join_calls++;
}

static void
queue_get_when_empty_returns_null(void)
{
    struct pr_queue *q = pr_queue_new(4, PR_ORDER_FIFO);

    ASSERT_TRUE(pr_queue_get(q) == NULL);
    ASSERT_EQ(pr_queue_len(q), 0);
    pr_queue_free(q);
}

static void
queue_put_when_full_returns_enobufs_and_keeps_task(void)
{
    struct pr_queue *q = pr_queue_new(2, PR_ORDER_FIFO);
    struct pr_task *extra = mk(0);

    ASSERT_EQ(pr_queue_put(q, mk(0)), 0);
    ASSERT_EQ(pr_queue_full(q), 0);
    ASSERT_EQ(pr_queue_put(q, mk(0)), 0);
    ASSERT_EQ(pr_queue_full(q), 1);
    ASSERT_EQ(pr_queue_put(q, extra), UV_ENOBUFS);
    ASSERT_EQ(pr_queue_len(q), 2);
    ASSERT_EQ(pr_queue_unfinished(q), 2);
    pr_task_free(extra);
    pr_queue_free(q);
}

static void
queue_capacity_zero_is_unbounded(void)
{
    struct pr_queue *q = pr_queue_new(0, PR_ORDER_FIFO);
    int i;

    for (i = 0; i < 5000; i++)
        ASSERT_EQ(pr_queue_put(q, mk(0)), 0);
    ASSERT_EQ(pr_queue_full(q), 0);
    ASSERT_EQ(pr_queue_len(q), 5000);
    pr_queue_free(q);
}

static void
queue_get_frees_room_but_task_stays_unfinished(void)
{
    struct pr_queue *q = pr_queue_new(1, PR_ORDER_FIFO);
    struct pr_task *t;

    ASSERT_EQ(pr_queue_put(q, mk(0)), 0);
    t = pr_queue_get(q);
    ASSERT_TRUE(t != NULL);
    ASSERT_EQ(pr_queue_full(q), 0);
    ASSERT_EQ(pr_queue_len(q), 0);
    ASSERT_EQ(pr_queue_unfinished(q), 1);
    ASSERT_EQ(pr_queue_task_done(q), 0);
    ASSERT_EQ(pr_queue_unfinished(q), 0);
    pr_task_free(t);
    pr_queue_free(q);
}

static void
queue_task_done_more_than_put_returns_einval(void)
{
    struct pr_queue *q = pr_queue_new(4, PR_ORDER_FIFO);

    ASSERT_EQ(pr_queue_task_done(q), UV_EINVAL);
    ASSERT_EQ(pr_queue_put(q, mk(0)), 0);
    pr_task_free(pr_queue_get(q));
    ASSERT_EQ(pr_queue_task_done(q), 0);
    ASSERT_EQ(pr_queue_task_done(q), UV_EINVAL);
    ASSERT_EQ(pr_queue_unfinished(q), 0);
    pr_queue_free(q);
}

static void
queue_join_when_nothing_unfinished_fires_at_once(void)
{
    struct pr_join_waiter w = {0};
    struct pr_queue *q = pr_queue_new(4, PR_ORDER_FIFO);

    join_calls = 0;
    pr_queue_join(q, &w, on_join, NULL);
    ASSERT_EQ(join_calls, 1);
    pr_queue_free(q);
}

static void
queue_join_fires_once_on_last_task_done(void)
{
    struct pr_join_waiter w = {0};
    struct pr_queue *q = pr_queue_new(4, PR_ORDER_FIFO);
    int i;

    join_calls = 0;
    for (i = 0; i < 3; i++)
        ASSERT_EQ(pr_queue_put(q, mk(0)), 0);
    for (i = 0; i < 3; i++)
        pr_task_free(pr_queue_get(q));
    pr_queue_join(q, &w, on_join, NULL);
    ASSERT_EQ(join_calls, 0);
    ASSERT_EQ(pr_queue_task_done(q), 0);
    ASSERT_EQ(pr_queue_task_done(q), 0);
    ASSERT_EQ(join_calls, 0);
    ASSERT_EQ(pr_queue_task_done(q), 0);
    ASSERT_EQ(join_calls, 1);
    /* Fired joins do not fire again on later puts and dones. */
    ASSERT_EQ(pr_queue_put(q, mk(0)), 0);
    pr_task_free(pr_queue_get(q));
    ASSERT_EQ(pr_queue_task_done(q), 0);
    ASSERT_EQ(join_calls, 1);
    pr_queue_free(q);
}

static void
queue_join_waits_for_tasks_still_queued(void)
{
    struct pr_join_waiter w = {0};
    struct pr_queue *q = pr_queue_new(4, PR_ORDER_FIFO);

    join_calls = 0;
    ASSERT_EQ(pr_queue_put(q, mk(0)), 0);
    pr_queue_join(q, &w, on_join, NULL);
    ASSERT_EQ(join_calls, 0);
    pr_task_free(pr_queue_get(q));
    ASSERT_EQ(join_calls, 0);
    ASSERT_EQ(pr_queue_task_done(q), 0);
    ASSERT_EQ(join_calls, 1);
    pr_queue_free(q);
}

/* Several waiters: a log of which fired, in order, and what they do. */
struct waiter {
    struct pr_join_waiter w;
    struct pr_queue *q;
    int name;
    int rejoin; /* join again from the callback, this often */
    struct pr_join_waiter *cancel; /* cancel this one from the callback */
    int put;                       /* put a task from the callback */
    int free_queue;                /* free the queue from the callback */
};

static int fired[16];
static int nfired;

static void
on_waiter(void *data)
{
    struct waiter *x = data;

    if (nfired < (int)PR_ARRAY_SIZE(fired))
        fired[nfired++] = x->name;
    if (x->cancel != NULL)
        pr_queue_join_cancel(x->cancel);
    if (x->put && pr_queue_put(x->q, mk(0)) == 0) {
        x->put = 0;
        pr_task_free(pr_queue_get(x->q));
    }
    if (x->rejoin > 0) {
        x->rejoin--;
        pr_queue_join(x->q, &x->w, on_waiter, x);
    }
    if (x->free_queue)
        pr_queue_free(x->q);
}

static void
waiters_init(struct waiter *ws, int n, struct pr_queue *q)
{
    int i;

    memset(ws, 0, (size_t)n * sizeof(ws[0]));
    for (i = 0; i < n; i++) {
        ws[i].q = q;
        ws[i].name = i + 1;
    }
    nfired = 0;
}

static void
queue_join_several_waiters_fire_once_each_in_join_order(void)
{
    struct pr_queue *q = pr_queue_new(0, PR_ORDER_FIFO);
    struct waiter ws[3];
    int i;

    waiters_init(ws, 3, q);
    ASSERT_EQ(pr_queue_put(q, mk(0)), 0);
    ASSERT_EQ(pr_queue_put(q, mk(0)), 0);
    pr_task_free(pr_queue_get(q));
    pr_task_free(pr_queue_get(q));
    for (i = 2; i >= 0; i--)
        pr_queue_join(q, &ws[i].w, on_waiter, &ws[i]);
    ASSERT_EQ(pr_queue_task_done(q), 0);
    ASSERT_EQ(nfired, 0);
    ASSERT_EQ(pr_queue_task_done(q), 0);
    ASSERT_EQ(nfired, 3);
    ASSERT_EQ(fired[0], 3);
    ASSERT_EQ(fired[1], 2);
    ASSERT_EQ(fired[2], 1);
    /* Fired: the next zero does not fire them again. */
    ASSERT_EQ(pr_queue_put(q, mk(0)), 0);
    pr_task_free(pr_queue_get(q));
    ASSERT_EQ(pr_queue_task_done(q), 0);
    ASSERT_EQ(nfired, 3);
    /* Cancelling a waiter that fired does nothing. */
    pr_queue_join_cancel(&ws[0].w);
    pr_queue_free(q);
}

static void
queue_join_cancel_keeps_a_waiter_from_firing(void)
{
    struct pr_queue *q = pr_queue_new(0, PR_ORDER_FIFO);
    struct pr_join_waiter never = {0};
    struct waiter ws[3];
    int i;

    waiters_init(ws, 3, q);
    /* One that never joined cancels harmlessly. */
    pr_queue_join_cancel(&never);
    ASSERT_EQ(pr_queue_put(q, mk(0)), 0);
    pr_task_free(pr_queue_get(q));
    for (i = 0; i < 3; i++)
        pr_queue_join(q, &ws[i].w, on_waiter, &ws[i]);
    pr_queue_join_cancel(&ws[1].w);
    pr_queue_join_cancel(&ws[1].w);
    ASSERT_EQ(pr_queue_task_done(q), 0);
    ASSERT_EQ(nfired, 2);
    ASSERT_EQ(fired[0], 1);
    ASSERT_EQ(fired[1], 3);
    pr_queue_free(q);
}

static void
queue_join_callback_cancels_a_later_waiter(void)
{
    struct pr_queue *q = pr_queue_new(0, PR_ORDER_FIFO);
    struct waiter ws[3];
    int i;

    waiters_init(ws, 3, q);
    ws[0].cancel = &ws[1].w;
    ASSERT_EQ(pr_queue_put(q, mk(0)), 0);
    pr_task_free(pr_queue_get(q));
    for (i = 0; i < 3; i++)
        pr_queue_join(q, &ws[i].w, on_waiter, &ws[i]);
    ASSERT_EQ(pr_queue_task_done(q), 0);
    ASSERT_EQ(nfired, 2);
    ASSERT_EQ(fired[0], 1);
    ASSERT_EQ(fired[1], 3);
    pr_queue_free(q);
}

static void
queue_join_again_from_callback_fires_after_those_waiting(void)
{
    struct pr_queue *q = pr_queue_new(0, PR_ORDER_FIFO);
    struct waiter ws[2];

    waiters_init(ws, 2, q);
    ws[0].rejoin = 1;
    ASSERT_EQ(pr_queue_put(q, mk(0)), 0);
    pr_task_free(pr_queue_get(q));
    pr_queue_join(q, &ws[0].w, on_waiter, &ws[0]);
    pr_queue_join(q, &ws[1].w, on_waiter, &ws[1]);
    ASSERT_EQ(pr_queue_task_done(q), 0);
    /* The count is still zero: the new join fires, after waiter 2. */
    ASSERT_EQ(nfired, 3);
    ASSERT_EQ(fired[0], 1);
    ASSERT_EQ(fired[1], 2);
    ASSERT_EQ(fired[2], 1);
    pr_queue_free(q);
}

static void
queue_join_again_from_callback_on_empty_queue_fires_once_more(void)
{
    struct pr_queue *q = pr_queue_new(0, PR_ORDER_FIFO);
    struct waiter ws[1];

    waiters_init(ws, 1, q);
    ws[0].rejoin = 2;
    pr_queue_join(q, &ws[0].w, on_waiter, &ws[0]);
    ASSERT_EQ(nfired, 3);
    ASSERT_EQ(ws[0].rejoin, 0);
    pr_queue_free(q);
}

static void
queue_join_put_from_callback_holds_later_waiters_until_done(void)
{
    struct pr_queue *q = pr_queue_new(0, PR_ORDER_FIFO);
    struct waiter ws[3];
    int i;

    waiters_init(ws, 3, q);
    ws[0].put = 1;
    ASSERT_EQ(pr_queue_put(q, mk(0)), 0);
    pr_task_free(pr_queue_get(q));
    for (i = 0; i < 3; i++)
        pr_queue_join(q, &ws[i].w, on_waiter, &ws[i]);
    ASSERT_EQ(pr_queue_task_done(q), 0);
    /* Waiter 1 put a task: 2 and 3 wait for it. */
    ASSERT_EQ(nfired, 1);
    ASSERT_EQ(pr_queue_unfinished(q), 1);
    ASSERT_EQ(pr_queue_task_done(q), 0);
    ASSERT_EQ(nfired, 3);
    ASSERT_EQ(fired[1], 2);
    ASSERT_EQ(fired[2], 3);
    pr_queue_free(q);
}

static void
queue_join_callback_may_free_the_queue(void)
{
    struct pr_queue *q = pr_queue_new(0, PR_ORDER_FIFO);
    struct waiter ws[2];

    waiters_init(ws, 2, q);
    ws[0].free_queue = 1;
    ASSERT_EQ(pr_queue_put(q, mk(0)), 0);
    pr_task_free(pr_queue_get(q));
    pr_queue_join(q, &ws[0].w, on_waiter, &ws[0]);
    pr_queue_join(q, &ws[1].w, on_waiter, &ws[1]);
    ASSERT_EQ(pr_queue_task_done(q), 0);
    /* Freed with waiter 2 still waiting: it never fires, and cancelling
     * it touches nothing that is gone (ASan would say). */
    ASSERT_EQ(nfired, 1);
    pr_queue_join_cancel(&ws[1].w);
}

static void
queue_unget_puts_a_task_back_first_even_when_full(void)
{
    struct pr_queue *q = pr_queue_new(2, PR_ORDER_FIFO);
    struct pr_task *a = mk(0);
    struct pr_task *t;

    a->seq = 1;
    ASSERT_EQ(pr_queue_put(q, a), 0);
    t = mk(0);
    t->seq = 2;
    ASSERT_EQ(pr_queue_put(q, t), 0);
    ASSERT_TRUE(pr_queue_peek(q) == a);
    ASSERT_TRUE(pr_queue_get(q) == a);
    t = mk(0);
    t->seq = 3;
    ASSERT_EQ(pr_queue_put(q, t), 0);
    ASSERT_EQ(pr_queue_full(q), 1);
    pr_queue_unget(q, a);
    ASSERT_EQ(pr_queue_len(q), 3);
    ASSERT_EQ(pr_queue_unfinished(q), 3);
    ASSERT_TRUE(pr_queue_get(q) == a);
    ASSERT_EQ(pr_queue_peek(q)->seq, 2);
    pr_task_free(a);
    pr_queue_free(q);
}

/* Drive the queue and an array model with the same pseudo-random puts and
 * gets; every get must agree. */
static void
check_order_against_model(enum pr_queue_order order)
{
    struct pr_queue *q = pr_queue_new(0, order);
    int model_pri[512];
    int model_id[512];
    int n = 0;
    int next_id = 0;
    unsigned seed = 12345;
    int step;

    for (step = 0; step < 4000; step++) {
        seed = seed * 1103515245u + 12345u;
        if ((seed >> 16) % 3 != 0 && n < 512) {
            struct pr_task *t = mk((int)((seed >> 8) % 5));

            t->seq = (uint64_t)next_id;
            model_pri[n] = t->priority;
            model_id[n] = next_id++;
            n++;
            ASSERT_EQ(pr_queue_put(q, t), 0);
        } else if (n > 0) {
            struct pr_task *t = pr_queue_get(q);
            int pick = 0;
            int i;

            if (order == PR_ORDER_LIFO) {
                pick = n - 1;
            } else if (order == PR_ORDER_PRIORITY) {
                for (i = 1; i < n; i++)
                    if (model_pri[i] > model_pri[pick])
                        pick = i;
            }
            ASSERT_TRUE(t != NULL);
            ASSERT_EQ(t->seq, model_id[pick]);
            for (i = pick; i < n - 1; i++) {
                model_pri[i] = model_pri[i + 1];
                model_id[i] = model_id[i + 1];
            }
            n--;
            pr_task_free(t);
        }
    }
    ASSERT_EQ(pr_queue_len(q), n);
    pr_queue_free(q);
}

static void
queue_fifo_order_matches_model(void)
{
    check_order_against_model(PR_ORDER_FIFO);
}

static void
queue_lifo_order_matches_model(void)
{
    check_order_against_model(PR_ORDER_LIFO);
}

static void
queue_priority_order_matches_model_with_ties_in_put_order(void)
{
    check_order_against_model(PR_ORDER_PRIORITY);
}

static void
queue_remove_takes_a_task_from_the_middle_and_keeps_it_unfinished(void)
{
    struct pr_queue *q = pr_queue_new(0, PR_ORDER_FIFO);
    struct pr_task *a = mk(0);
    struct pr_task *b = mk(0);
    struct pr_task *c = mk(0);

    pr_queue_put(q, a);
    pr_queue_put(q, b);
    pr_queue_put(q, c);
    pr_queue_remove(q, b);
    ASSERT_EQ(pr_queue_len(q), 2);
    ASSERT_EQ(pr_queue_unfinished(q), 3);
    ASSERT_TRUE(pr_queue_get(q) == a);
    ASSERT_TRUE(pr_queue_get(q) == c);
    ASSERT_TRUE(pr_queue_get(q) == NULL);
    pr_task_free(a);
    pr_task_free(b);
    pr_task_free(c);
    pr_queue_free(q);
}

int
main(void)
{
    static const struct pr_test_case cases[] = {
        TEST_CASE(queue_get_when_empty_returns_null),
        TEST_CASE(
            queue_remove_takes_a_task_from_the_middle_and_keeps_it_unfinished),
        TEST_CASE(queue_put_when_full_returns_enobufs_and_keeps_task),
        TEST_CASE(queue_capacity_zero_is_unbounded),
        TEST_CASE(queue_get_frees_room_but_task_stays_unfinished),
        TEST_CASE(queue_task_done_more_than_put_returns_einval),
        TEST_CASE(queue_join_when_nothing_unfinished_fires_at_once),
        TEST_CASE(queue_join_fires_once_on_last_task_done),
        TEST_CASE(queue_join_waits_for_tasks_still_queued),
        TEST_CASE(queue_join_several_waiters_fire_once_each_in_join_order),
        TEST_CASE(queue_join_cancel_keeps_a_waiter_from_firing),
        TEST_CASE(queue_join_callback_cancels_a_later_waiter),
        TEST_CASE(queue_join_again_from_callback_fires_after_those_waiting),
        TEST_CASE(
            queue_join_again_from_callback_on_empty_queue_fires_once_more),
        TEST_CASE(queue_join_put_from_callback_holds_later_waiters_until_done),
        TEST_CASE(queue_join_callback_may_free_the_queue),
        TEST_CASE(queue_unget_puts_a_task_back_first_even_when_full),
        TEST_CASE(queue_fifo_order_matches_model),
        TEST_CASE(queue_lifo_order_matches_model),
        TEST_CASE(queue_priority_order_matches_model_with_ties_in_put_order),
    };

    return pr_test_run(cases, sizeof(cases) / sizeof(cases[0]));
}
