/* Unit tests of batches: the tally of final records (counts, codes, the
 * slowest three, lost output) and the join waiters of each batch. */
#include <uv.h>

#include "batch.h"
#include "test.h"

int pr_test_failed;

/* A finished task: status, code, and a runtime of ms milliseconds (< 0:
 * it never started). */
static struct pr_task *
done_task(uint64_t seq, enum pr_task_status status, int code, int ms)
{
    struct pr_task *t = pr_task_new(seq, "cmd", 3);

    t->status = status;
    if (status == PR_TASK_KILLED)
        t->term_signal = code;
    else
        t->exit_status = code;
    if (ms >= 0) {
        t->start_ns = 1000000000u;
        t->end_ns = t->start_ns + (uint64_t)ms * 1000000u;
    }
    return t;
}

/* Tallies a task made by done_task and frees it. */
static void
tally(struct pr_batch *b, uint64_t seq, enum pr_task_status status, int code,
      int ms)
{
    struct pr_task *t = done_task(seq, status, code, ms);

    pr_batch_tally(b, t);
    pr_task_free(t);
}

static void
batch_tally_of_each_status_counts_ok_failed_and_skipped_apart(void)
{
    struct pr_batch b;
    const struct pr_batch_tally *t = &b.tally;

    pr_batch_init(&b);
    tally(&b, 1, PR_TASK_OK, 0, 5);
    tally(&b, 2, PR_TASK_FAILED, 3, 5);
    tally(&b, 3, PR_TASK_SKIPPED, 0, -1);
    tally(&b, 4, PR_TASK_KILLED, 9, 5);
    tally(&b, 5, PR_TASK_TIMEOUT, 0, 5);
    tally(&b, 6, PR_TASK_ERROR, 0, -1);
    tally(&b, 7, PR_TASK_OK, 0, 5);
    ASSERT_EQ(t->total, 7);
    ASSERT_EQ(t->counts[PR_TASK_OK], 2);
    ASSERT_EQ(t->counts[PR_TASK_FAILED], 1);
    ASSERT_EQ(t->counts[PR_TASK_SKIPPED], 1);
    ASSERT_EQ(t->counts[PR_TASK_KILLED], 1);
    ASSERT_EQ(t->counts[PR_TASK_TIMEOUT], 1);
    ASSERT_EQ(t->counts[PR_TASK_ERROR], 1);
    ASSERT_EQ(t->ok, 2);
    /* Skipped is neither ok nor failed. */
    ASSERT_EQ(t->failed, 4);
    ASSERT_EQ(t->have_code, 1);
    ASSERT_EQ(t->first_code, 3);
    ASSERT_EQ(t->last_code, 126);
    ASSERT_EQ(t->max_code, 137);
    ASSERT_EQ(t->output_lost, 0);
    /* Tallying finishes nothing. */
    ASSERT_EQ(pr_batch_unfinished(&b), 0);
    pr_batch_fini(&b);
}

static void
batch_tally_of_ok_and_skipped_only_has_no_code(void)
{
    struct pr_batch b;

    pr_batch_init(&b);
    tally(&b, 1, PR_TASK_OK, 0, 1);
    tally(&b, 2, PR_TASK_SKIPPED, 0, -1);
    ASSERT_EQ(b.tally.have_code, 0);
    ASSERT_EQ(b.tally.failed, 0);
    ASSERT_EQ(b.tally.ok, 1);
    ASSERT_EQ(b.tally.total, 2);
    pr_batch_fini(&b);
}

static void
batch_tally_codes_are_first_last_and_highest(void)
{
    struct pr_batch b;

    pr_batch_init(&b);
    tally(&b, 1, PR_TASK_TIMEOUT, 0, 1);
    tally(&b, 2, PR_TASK_FAILED, 200, 1);
    tally(&b, 3, PR_TASK_ERROR, 127, 1);
    tally(&b, 4, PR_TASK_FAILED, 1, 1);
    ASSERT_EQ(b.tally.first_code, 124);
    ASSERT_EQ(b.tally.last_code, 1);
    ASSERT_EQ(b.tally.max_code, 200);
    pr_batch_fini(&b);
}

static void
batch_tally_failure_counts_failed_and_code_only(void)
{
    struct pr_batch b;
    struct pr_task *t = done_task(1, PR_TASK_FAILED, 7, 10);

    pr_batch_init(&b);
    pr_batch_tally_failure(&b, t);
    ASSERT_EQ(b.tally.failed, 1);
    ASSERT_EQ(b.tally.first_code, 7);
    ASSERT_EQ(b.tally.total, 0);
    ASSERT_EQ(b.tally.counts[PR_TASK_FAILED], 0);
    ASSERT_EQ(b.tally.nslowest, 0);
    pr_task_free(t);
    pr_batch_fini(&b);
}

static void
batch_tally_counts_tasks_that_lost_output_once(void)
{
    struct pr_batch b;
    struct pr_task *t = done_task(1, PR_TASK_OK, 0, 1);

    pr_batch_init(&b);
    t->out.lost = 10;
    t->err.lost = 5;
    pr_batch_tally(&b, t);
    t->out.lost = 0;
    pr_batch_tally(&b, t);
    t->err.lost = 0;
    pr_batch_tally(&b, t);
    ASSERT_EQ(b.tally.output_lost, 2);
    pr_task_free(t);
    pr_batch_fini(&b);
}

static void
batch_slowest_keeps_three_longest_first_ties_in_tally_order(void)
{
    static const int ms[] = {30, 10, 50, 20, 50, 40, 5};
    struct pr_batch b;
    const struct pr_batch_tally *t = &b.tally;
    unsigned i;

    pr_batch_init(&b);
    tally(&b, 99, PR_TASK_SKIPPED, 0, -1); /* never started: left out */
    ASSERT_EQ(t->nslowest, 0);
    for (i = 0; i < PR_ARRAY_SIZE(ms); i++) {
        tally(&b, i + 1, PR_TASK_OK, 0, ms[i]);
        ASSERT_EQ(t->nslowest, i < 3 ? i + 1 : 3);
    }
    ASSERT_EQ(t->slowest[0].seq, 3);
    ASSERT_EQ(t->slowest[1].seq, 5);
    ASSERT_EQ(t->slowest[2].seq, 6);
    ASSERT_TRUE(t->slowest[0].runtime == 0.05);
    ASSERT_TRUE(t->slowest[2].runtime == 0.04);
    ASSERT_MEM_EQ(t->slowest[0].text, strlen(t->slowest[0].text), "cmd");
    ASSERT_EQ(t->slowest[0].is_id, 0);
    pr_batch_fini(&b);
}

static void
batch_slowest_names_a_task_by_its_id_else_its_command_line(void)
{
    static const char line[] = "echo\ta\nb\x1b[31m";
    struct pr_batch b;
    const struct pr_batch_tally *t = &b.tally;
    struct pr_task *task = pr_task_new(1, line, sizeof(line) - 1);

    pr_batch_init(&b);
    task->status = PR_TASK_OK;
    task->start_ns = 1;
    task->end_ns = 3000000001u;
    pr_batch_tally(&b, task);
    /* Control characters become spaces; the task's line is untouched. */
    ASSERT_MEM_EQ(t->slowest[0].text, strlen(t->slowest[0].text),
                  "echo a b [31m");
    ASSERT_MEM_EQ(task->line, task->line_len, line);
    ASSERT_EQ(t->slowest[0].is_id, 0);
    task->spec = pr_xcalloc(1, sizeof(*task->spec));
    task->spec->id = pr_xstrdup("build-docs");
    task->end_ns = 4000000001u;
    pr_batch_tally(&b, task);
    ASSERT_MEM_EQ(t->slowest[0].text, strlen(t->slowest[0].text), "build-docs");
    ASSERT_EQ(t->slowest[0].is_id, 1);
    ASSERT_EQ(t->slowest[1].is_id, 0);
    pr_task_free(task);
    pr_batch_fini(&b);
}

static void
batch_slowest_text_is_cut_to_fit_and_stops_at_a_nul(void)
{
    struct pr_batch b;
    const struct pr_batch_slow *s = &b.tally.slowest[0];
    char line[300];
    struct pr_task *task;

    memset(line, 'x', sizeof(line));
    task = pr_task_new(1, line, sizeof(line));
    pr_batch_init(&b);
    task->status = PR_TASK_FAILED;
    task->start_ns = 1;
    task->end_ns = 2;
    pr_batch_tally(&b, task);
    ASSERT_EQ(strlen(s->text), sizeof(s->text) - 1);
    pr_task_free(task);

    task = pr_task_new(2, "ab\0cd", 5);
    task->status = PR_TASK_OK;
    task->start_ns = 1;
    task->end_ns = 1000000;
    pr_batch_tally(&b, task);
    ASSERT_EQ(s->seq, 2);
    ASSERT_MEM_EQ(s->text, strlen(s->text), "ab");

    memset(line, 'y', sizeof(line));
    line[sizeof(line) - 1] = '\0';
    task->spec = pr_xcalloc(1, sizeof(*task->spec));
    task->spec->id = pr_xstrdup(line);
    task->end_ns = 2000000;
    pr_batch_tally(&b, task);
    ASSERT_EQ(strlen(s->text), sizeof(s->text) - 1);
    ASSERT_EQ(s->text[0], 'y');
    pr_task_free(task);
    pr_batch_fini(&b);
}

/* Join waiters: a log of which fired, in order, and what they do. */
struct waiter {
    struct pr_join_waiter w;
    struct pr_batch *b;
    int name;
    int rejoin; /* join again from the callback, this often */
    int add;    /* add a task from the callback */
};

static int fired[16];
static int nfired;

static void
on_waiter(void *data)
{
    struct waiter *x = data;

    if (nfired < (int)PR_ARRAY_SIZE(fired))
        fired[nfired++] = x->name;
    if (x->add) {
        x->add = 0;
        pr_batch_add(x->b);
    }
    if (x->rejoin > 0) {
        x->rejoin--;
        pr_batch_join(x->b, &x->w, on_waiter, x);
    }
}

static void
waiters_init(struct waiter *ws, int n, struct pr_batch *b)
{
    int i;

    memset(ws, 0, (size_t)n * sizeof(ws[0]));
    for (i = 0; i < n; i++) {
        ws[i].b = b;
        ws[i].name = i + 1;
    }
    nfired = 0;
}

static void
batch_join_waiters_fire_once_each_in_order_when_the_last_is_done(void)
{
    struct pr_batch b;
    struct waiter ws[3];
    int i;

    pr_batch_init(&b);
    waiters_init(ws, 3, &b);
    for (i = 0; i < 3; i++)
        pr_batch_add(&b);
    ASSERT_EQ(pr_batch_unfinished(&b), 3);
    pr_batch_join(&b, &ws[1].w, on_waiter, &ws[1]);
    pr_batch_join(&b, &ws[0].w, on_waiter, &ws[0]);
    ASSERT_EQ(pr_batch_done(&b), 0);
    pr_batch_join(&b, &ws[2].w, on_waiter, &ws[2]);
    ASSERT_EQ(pr_batch_done(&b), 0);
    ASSERT_EQ(nfired, 0);
    ASSERT_EQ(pr_batch_done(&b), 0);
    ASSERT_EQ(pr_batch_unfinished(&b), 0);
    ASSERT_EQ(nfired, 3);
    ASSERT_EQ(fired[0], 2);
    ASSERT_EQ(fired[1], 1);
    ASSERT_EQ(fired[2], 3);
    /* Once each: the next zero fires none of them. */
    pr_batch_add(&b);
    ASSERT_EQ(pr_batch_done(&b), 0);
    ASSERT_EQ(nfired, 3);
    ASSERT_EQ(pr_batch_done(&b), UV_EINVAL);
    pr_batch_fini(&b);
}

static void
batch_join_on_an_empty_batch_fires_at_once(void)
{
    struct pr_batch b;
    struct waiter ws[1];

    pr_batch_init(&b);
    waiters_init(ws, 1, &b);
    pr_batch_join(&b, &ws[0].w, on_waiter, &ws[0]);
    ASSERT_EQ(nfired, 1);
    pr_batch_fini(&b);
}

static void
batch_join_cancel_keeps_a_waiter_from_firing(void)
{
    struct pr_batch b;
    struct waiter ws[2];

    pr_batch_init(&b);
    waiters_init(ws, 2, &b);
    pr_batch_add(&b);
    pr_batch_join(&b, &ws[0].w, on_waiter, &ws[0]);
    pr_batch_join(&b, &ws[1].w, on_waiter, &ws[1]);
    pr_batch_join_cancel(&ws[0].w);
    ASSERT_EQ(pr_batch_done(&b), 0);
    ASSERT_EQ(nfired, 1);
    ASSERT_EQ(fired[0], 2);
    /* Cancelling one that fired does nothing. */
    pr_batch_join_cancel(&ws[1].w);
    pr_batch_fini(&b);
}

static void
batch_join_again_from_callback_fires_again_while_empty(void)
{
    struct pr_batch b;
    struct waiter ws[2];

    pr_batch_init(&b);
    waiters_init(ws, 2, &b);
    ws[0].rejoin = 1;
    pr_batch_add(&b);
    pr_batch_join(&b, &ws[0].w, on_waiter, &ws[0]);
    pr_batch_join(&b, &ws[1].w, on_waiter, &ws[1]);
    ASSERT_EQ(pr_batch_done(&b), 0);
    ASSERT_EQ(nfired, 3);
    ASSERT_EQ(fired[0], 1);
    ASSERT_EQ(fired[1], 2);
    ASSERT_EQ(fired[2], 1);
    pr_batch_fini(&b);
}

static void
batch_join_add_from_callback_holds_the_rest_until_done(void)
{
    struct pr_batch b;
    struct waiter ws[3];
    int i;

    pr_batch_init(&b);
    waiters_init(ws, 3, &b);
    ws[0].add = 1;
    ws[0].rejoin = 1;
    pr_batch_add(&b);
    for (i = 0; i < 3; i++)
        pr_batch_join(&b, &ws[i].w, on_waiter, &ws[i]);
    ASSERT_EQ(pr_batch_done(&b), 0);
    /* Waiter 1 added a task and joined again: all wait for that task. */
    ASSERT_EQ(nfired, 1);
    ASSERT_EQ(pr_batch_unfinished(&b), 1);
    ASSERT_EQ(pr_batch_done(&b), 0);
    ASSERT_EQ(nfired, 4);
    ASSERT_EQ(fired[1], 2);
    ASSERT_EQ(fired[2], 3);
    ASSERT_EQ(fired[3], 1);
    pr_batch_fini(&b);
}

static void
batch_two_batches_count_tally_and_join_apart(void)
{
    struct pr_batch a;
    struct pr_batch b;
    struct waiter wa[1];
    struct waiter wb[1];

    pr_batch_init(&a);
    pr_batch_init(&b);
    waiters_init(wa, 1, &a);
    wb[0] = wa[0];
    wb[0].b = &b;
    wb[0].name = 2;
    pr_batch_add(&a);
    pr_batch_add(&b);
    pr_batch_add(&b);
    pr_batch_join(&a, &wa[0].w, on_waiter, &wa[0]);
    pr_batch_join(&b, &wb[0].w, on_waiter, &wb[0]);
    tally(&b, 1, PR_TASK_FAILED, 2, 1);
    ASSERT_EQ(pr_batch_done(&b), 0);
    ASSERT_EQ(pr_batch_done(&b), 0);
    ASSERT_EQ(nfired, 1);
    ASSERT_EQ(fired[0], 2);
    ASSERT_EQ(pr_batch_unfinished(&a), 1);
    ASSERT_EQ(a.tally.total, 0);
    ASSERT_EQ(a.tally.have_code, 0);
    ASSERT_EQ(b.tally.failed, 1);
    tally(&a, 2, PR_TASK_OK, 0, 1);
    ASSERT_EQ(pr_batch_done(&a), 0);
    ASSERT_EQ(nfired, 2);
    ASSERT_EQ(fired[1], 1);
    ASSERT_EQ(a.tally.ok, 1);
    ASSERT_EQ(b.tally.ok, 0);
    ASSERT_EQ(b.tally.total, 1);
    pr_batch_fini(&a);
    pr_batch_fini(&b);
}

int
main(void)
{
    static const struct pr_test_case cases[] = {
        TEST_CASE(
            batch_tally_of_each_status_counts_ok_failed_and_skipped_apart),
        TEST_CASE(batch_tally_of_ok_and_skipped_only_has_no_code),
        TEST_CASE(batch_tally_codes_are_first_last_and_highest),
        TEST_CASE(batch_tally_failure_counts_failed_and_code_only),
        TEST_CASE(batch_tally_counts_tasks_that_lost_output_once),
        TEST_CASE(batch_slowest_keeps_three_longest_first_ties_in_tally_order),
        TEST_CASE(batch_slowest_names_a_task_by_its_id_else_its_command_line),
        TEST_CASE(batch_slowest_text_is_cut_to_fit_and_stops_at_a_nul),
        TEST_CASE(
            batch_join_waiters_fire_once_each_in_order_when_the_last_is_done),
        TEST_CASE(batch_join_on_an_empty_batch_fires_at_once),
        TEST_CASE(batch_join_cancel_keeps_a_waiter_from_firing),
        TEST_CASE(batch_join_again_from_callback_fires_again_while_empty),
        TEST_CASE(batch_join_add_from_callback_holds_the_rest_until_done),
        TEST_CASE(batch_two_batches_count_tally_and_join_apart),
    };

    return pr_test_run(cases, sizeof(cases) / sizeof(cases[0]));
}
