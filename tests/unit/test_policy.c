/*
 * test_policy: the pure policies the pool applies, retry, halt, the start
 * gate, the slots and the slices of starts, alone.
 */
#include <signal.h>
#include <uv.h>

#include "gate.h"
#include "halt.h"
#include "retry.h"
#include "slots.h"
#include "test.h"

int pr_test_failed;

static struct pr_task
ended(enum pr_task_status status, int code, int sig, unsigned attempt)
{
    struct pr_task t;

    memset(&t, 0, sizeof(t));
    t.status = status;
    t.exit_status = code;
    t.term_signal = sig;
    t.attempt = attempt;
    return t;
}

static void
retry_without_retries_never_retries(void)
{
    struct pr_retry_policy r = {0};
    struct pr_task t = ended(PR_TASK_FAILED, 1, 0, 1);

    ASSERT_EQ(pr_retry_wanted(&r, &t), 0);
}

static void
retry_failed_task_retries_until_attempts_run_out(void)
{
    struct pr_retry_policy r = {0};
    struct pr_task t = ended(PR_TASK_FAILED, 3, 0, 1);

    r.retries = 2;
    ASSERT_EQ(pr_retry_wanted(&r, &t), 1);
    t.attempt = 2;
    ASSERT_EQ(pr_retry_wanted(&r, &t), 1);
    t.attempt = 3;
    ASSERT_EQ(pr_retry_wanted(&r, &t), 0);
}

static void
retry_ok_skipped_and_error_never_retry(void)
{
    struct pr_retry_policy r = {0};
    struct pr_task ok = ended(PR_TASK_OK, 0, 0, 1);
    struct pr_task skipped = ended(PR_TASK_SKIPPED, 0, 0, 1);
    struct pr_task error = ended(PR_TASK_ERROR, 126, 0, 1);

    r.retries = 5;
    ASSERT_EQ(pr_retry_wanted(&r, &ok), 0);
    ASSERT_EQ(pr_retry_wanted(&r, &skipped), 0);
    ASSERT_EQ(pr_retry_wanted(&r, &error), 0);
}

static void
retry_job_file_retries_override_the_option(void)
{
    struct pr_retry_policy r = {0};
    struct pr_task_spec spec;
    struct pr_task t = ended(PR_TASK_FAILED, 1, 0, 1);

    memset(&spec, 0, sizeof(spec));
    spec.retries = 0;
    t.spec = &spec;
    r.retries = 3;
    ASSERT_EQ(pr_retry_allowed(&r, &t), 0);
    ASSERT_EQ(pr_retry_wanted(&r, &t), 0);
    spec.retries = -1; /* not given: the option's */
    ASSERT_EQ(pr_retry_wanted(&r, &t), 1);
}

static void
retry_on_list_takes_only_listed_codes_signals_and_timeouts(void)
{
    struct pr_retry_policy r = {0};
    struct pr_task code75 = ended(PR_TASK_FAILED, 75, 0, 1);
    struct pr_task code1 = ended(PR_TASK_FAILED, 1, 0, 1);
    struct pr_task kill9 = ended(PR_TASK_KILLED, 0, SIGKILL, 1);
    struct pr_task term = ended(PR_TASK_KILLED, 0, SIGTERM, 1);
    struct pr_task timeout = ended(PR_TASK_TIMEOUT, 0, SIGTERM, 1);

    r.retries = 1;
    r.only_listed = 1;
    r.codes[75] = 1;
    r.sigs[SIGKILL] = 1;
    ASSERT_EQ(pr_retry_wanted(&r, &code75), 1);
    ASSERT_EQ(pr_retry_wanted(&r, &code1), 0);
    ASSERT_EQ(pr_retry_wanted(&r, &kill9), 1);
    ASSERT_EQ(pr_retry_wanted(&r, &term), 0);
    ASSERT_EQ(pr_retry_wanted(&r, &timeout), 0);
    r.on_timeout = 1;
    ASSERT_EQ(pr_retry_wanted(&r, &timeout), 1);
}

static void
retry_on_parse_takes_codes_timeout_and_signal_names(void)
{
    struct pr_retry_on on;
    const char *bad = NULL;
    size_t badlen = 0;

    ASSERT_EQ(pr_retry_on_parse(&on, "75,timeout,SIGKILL,term", &bad, &badlen),
              0);
    ASSERT_EQ(on.codes[75], 1);
    ASSERT_EQ(on.codes[1], 0);
    ASSERT_EQ(on.on_timeout, 1);
    ASSERT_EQ(on.sigs[SIGKILL], 1);
    ASSERT_EQ(on.sigs[SIGTERM], 1);
    ASSERT_EQ(pr_retry_on_parse(&on, "3,bogus", &bad, &badlen), UV_EINVAL);
    ASSERT_EQ(badlen, 5);
    ASSERT_EQ(strncmp(bad, "bogus", 5), 0);
    ASSERT_EQ(pr_retry_on_parse(&on, "3,,4", &bad, &badlen), UV_EINVAL);
    ASSERT_EQ(badlen, 0);
    ASSERT_EQ(pr_retry_on_parse(&on, "256", &bad, &badlen), UV_EINVAL);
}

static void
retry_task_own_list_wins_over_the_policy(void)
{
    struct pr_retry_policy r = {0};
    struct pr_task_spec spec;
    struct pr_retry_on on;
    struct pr_task code3 = ended(PR_TASK_FAILED, 3, 0, 1);
    struct pr_task code4 = ended(PR_TASK_FAILED, 4, 0, 1);
    const char *bad;
    size_t badlen;

    memset(&spec, 0, sizeof(spec));
    spec.retries = -1;
    ASSERT_EQ(pr_retry_on_parse(&on, "3", &bad, &badlen), 0);
    spec.retry_on = &on;
    code3.spec = &spec;
    code4.spec = &spec;
    r.retries = 1;
    r.only_listed = 1;
    r.codes[4] = 1;
    ASSERT_EQ(pr_retry_wanted(&r, &code3), 1);
    ASSERT_EQ(pr_retry_wanted(&r, &code4), 0);
}

static void
retry_signal_poolrun_sent_is_never_retried(void)
{
    struct pr_retry_policy r = {0};
    struct pr_task t = ended(PR_TASK_KILLED, 0, SIGTERM, 1);

    r.retries = 3;
    ASSERT_EQ(pr_retry_wanted(&r, &t), 1);
    t.signalled = SIGTERM;
    ASSERT_EQ(pr_retry_wanted(&r, &t), 0);
}

static void
retry_wait_grows_by_the_factor_per_retry(void)
{
    struct pr_retry_policy r = {0};

    r.delay = 0.5;
    r.factor = 3;
    ASSERT_EQ(pr_retry_wait(&r, 1) * 1000, 500);
    ASSERT_EQ(pr_retry_wait(&r, 2) * 1000, 1500);
    ASSERT_EQ(pr_retry_wait(&r, 3) * 1000, 4500);
}

static void
halt_never_is_never_reached(void)
{
    struct pr_halt h = {PR_HALT_NEVER, PR_HALT_FAIL, 1, 0};
    struct pr_halt_counts c = {0, 100, 100};

    ASSERT_EQ(pr_halt_reached(&h, PR_TASK_FAILED, &c), 0);
}

static void
halt_fail_count_is_reached_by_the_nth_failure_only(void)
{
    struct pr_halt h = {PR_HALT_SOON, PR_HALT_FAIL, 2, 0};
    struct pr_halt_counts c = {5, 1, 10};

    ASSERT_EQ(pr_halt_reached(&h, PR_TASK_FAILED, &c), 0);
    c.failed = 2;
    ASSERT_EQ(pr_halt_reached(&h, PR_TASK_TIMEOUT, &c), 1);
    /* A success does not reach a fail limit, whatever the counts. */
    ASSERT_EQ(pr_halt_reached(&h, PR_TASK_OK, &c), 0);
    ASSERT_EQ(pr_halt_reached(&h, PR_TASK_SKIPPED, &c), 0);
}

static void
halt_success_counts_successes(void)
{
    struct pr_halt h = {PR_HALT_NOW, PR_HALT_SUCCESS, 1, 0};
    struct pr_halt_counts c = {1, 3, 10};

    ASSERT_EQ(pr_halt_reached(&h, PR_TASK_OK, &c), 1);
    ASSERT_EQ(pr_halt_reached(&h, PR_TASK_FAILED, &c), 0);
}

static void
halt_done_counts_every_final_record(void)
{
    struct pr_halt h = {PR_HALT_NOW, PR_HALT_DONE, 3, 0};
    struct pr_halt_counts c = {1, 1, 10};

    ASSERT_EQ(pr_halt_reached(&h, PR_TASK_OK, &c), 0);
    c.ok = 2;
    ASSERT_EQ(pr_halt_reached(&h, PR_TASK_OK, &c), 1);
}

static void
halt_percent_is_of_the_tasks_known_so_far(void)
{
    struct pr_halt h = {PR_HALT_SOON, PR_HALT_FAIL, 0, 50};
    struct pr_halt_counts c = {0, 1, 4};

    ASSERT_EQ(pr_halt_reached(&h, PR_TASK_FAILED, &c), 0);
    c.failed = 2;
    ASSERT_EQ(pr_halt_reached(&h, PR_TASK_FAILED, &c), 1);
    /* More tasks read since: 2 of 10 is under 50%. */
    c.known = 10;
    ASSERT_EQ(pr_halt_reached(&h, PR_TASK_FAILED, &c), 0);
}

static uint64_t fake_free;
static double fake_load;

static uint64_t
fake_free_memory(void)
{
    return fake_free;
}

static double
fake_load1(void)
{
    return fake_load;
}

static const struct pr_gate_probe fake = {fake_free_memory, fake_load1};

#define MS ((uint64_t)1000000)

static void
gate_without_options_is_inactive(void)
{
    struct pr_gate g = {0};

    ASSERT_EQ(pr_gate_active(&g), 0);
}

static void
gate_delay_keeps_starts_apart_and_rounds_the_wait_up(void)
{
    struct pr_gate g = {0};

    g.delay = 0.2;
    ASSERT_EQ(pr_gate_active(&g), 1);
    ASSERT_EQ(pr_gate_wait(&g, 1000 * MS, &fake), 0); /* the first: now */
    ASSERT_EQ(pr_gate_wait(&g, 1000 * MS + 50 * MS + 1, &fake), 150);
    ASSERT_EQ(pr_gate_wait(&g, 1200 * MS - 1, &fake), 1);
    ASSERT_EQ(pr_gate_wait(&g, 1200 * MS, &fake), 0);
    ASSERT_EQ(g.last_start, 1200 * MS);
}

static void
gate_delay_counts_from_the_real_start_of_a_slow_spawn(void)
{
    struct pr_gate g = {0};

    g.delay = 0.2;
    ASSERT_EQ(pr_gate_wait(&g, 1000 * MS, &fake), 0);
    pr_gate_started(&g, 1030 * MS); /* the spawn took 30 ms */
    ASSERT_EQ(pr_gate_wait(&g, 1200 * MS, &fake), 30);
    /* A start before the gate's own time changes nothing. */
    pr_gate_started(&g, 900 * MS);
    ASSERT_EQ(g.last_start, 1030 * MS);
}

static void
gate_memfree_and_load_hold_back_and_recheck(void)
{
    struct pr_gate g = {0};

    g.memfree = 1000;
    g.load = 2.0;
    fake_free = 999;
    fake_load = 0.5;
    ASSERT_EQ(pr_gate_wait(&g, 5 * MS, &fake), PR_GATE_RECHECK_MS);
    ASSERT_EQ(g.last_start, 0);
    fake_free = 1000;
    fake_load = 2.0;
    ASSERT_EQ(pr_gate_wait(&g, 6 * MS, &fake), PR_GATE_RECHECK_MS);
    fake_load = 1.99;
    ASSERT_EQ(pr_gate_wait(&g, 7 * MS, &fake), 0);
    ASSERT_EQ(g.last_start, 7 * MS);
}

static void
slots_hand_out_the_lowest_free_number_and_reuse_it(void)
{
    struct pr_slots s;

    pr_slots_init(&s, 3);
    ASSERT_EQ(pr_slots_take(&s), 1);
    ASSERT_EQ(pr_slots_take(&s), 2);
    ASSERT_EQ(pr_slots_take(&s), 3);
    ASSERT_EQ(pr_slots_open(&s), 0);
    pr_slots_give(&s, 2);
    ASSERT_EQ(pr_slots_open(&s), 1);
    ASSERT_EQ(pr_slots_take(&s), 2);
    ASSERT_EQ(s.running, 3);
    pr_slots_free(&s);
}

static void
slots_without_a_limit_grow_as_needed(void)
{
    struct pr_slots s;
    unsigned i;

    pr_slots_init(&s, 0);
    for (i = 1; i <= 100; i++) {
        ASSERT_EQ(pr_slots_open(&s), 1);
        ASSERT_EQ(pr_slots_take(&s), i);
    }
    for (i = 100; i >= 1; i--)
        pr_slots_give(&s, i);
    ASSERT_EQ(pr_slots_take(&s), 1);
    pr_slots_free(&s);
}

static void
slots_throttle_lowers_the_limit_only(void)
{
    struct pr_slots s;

    pr_slots_init(&s, 8);
    pr_slots_take(&s);
    pr_slots_take(&s);
    pr_slots_take(&s);
    ASSERT_EQ(pr_slots_throttle(&s, 2), 1); /* 3 taken, 2 could start */
    ASSERT_EQ(pr_slots_open(&s), 0);
    ASSERT_EQ(pr_slots_throttle(&s, 2), 0); /* no lower: nothing new */
    ASSERT_EQ(pr_slots_throttle(&s, 5), 0); /* never raised */
    pr_slots_give(&s, 3);
    ASSERT_EQ(pr_slots_open(&s), 0);
    pr_slots_give(&s, 2);
    ASSERT_EQ(pr_slots_open(&s), 1);
    ASSERT_EQ(pr_slots_throttle(&s, 1), 1);
    ASSERT_EQ(pr_slots_open(&s), 0);
    pr_slots_free(&s);
}

static void
slots_set_jobs_raises_and_lowers_the_limit_while_tasks_run(void)
{
    struct pr_slots s;

    pr_slots_init(&s, 2);
    ASSERT_EQ(pr_slots_take(&s), 1);
    ASSERT_EQ(pr_slots_take(&s), 2);
    ASSERT_EQ(pr_slots_open(&s), 0);
    pr_slots_set_jobs(&s, 4);
    ASSERT_EQ(pr_slots_take(&s), 3);
    ASSERT_EQ(pr_slots_take(&s), 4);
    ASSERT_EQ(pr_slots_open(&s), 0);
    /* Lowered under what runs: nothing new starts until enough end, and a
     * slot past the limit is not handed out again. */
    pr_slots_set_jobs(&s, 2);
    pr_slots_give(&s, 4);
    pr_slots_give(&s, 1);
    ASSERT_EQ(pr_slots_open(&s), 0);
    pr_slots_give(&s, 3);
    ASSERT_EQ(pr_slots_open(&s), 1);
    ASSERT_EQ(pr_slots_take(&s), 1);
    ASSERT_EQ(pr_slots_open(&s), 0);
    /* Raised again while slot 2 is still out: 2 is not handed out twice. */
    pr_slots_set_jobs(&s, 3);
    ASSERT_EQ(pr_slots_take(&s), 3);
    ASSERT_EQ(pr_slots_open(&s), 0);
    pr_slots_give(&s, 2);
    ASSERT_EQ(pr_slots_take(&s), 2);
    pr_slots_free(&s);
}

static void
slice_ends_once_its_time_is_spent(void)
{
    struct pr_slice s;

    pr_slice_init(&s, 2000, 100);
    ASSERT_EQ(pr_slice_open(&s), 1);
    ASSERT_EQ(pr_slice_started(&s, 1000), 1); /* the first: arm a turn */
    ASSERT_EQ(pr_slice_open(&s), 1);
    ASSERT_EQ(pr_slice_started(&s, 2000), 0);
    ASSERT_EQ(pr_slice_open(&s), 1);
    ASSERT_EQ(pr_slice_started(&s, 3000), 0);
    ASSERT_EQ(pr_slice_open(&s), 0); /* 2000 ns since the first start */
    pr_slice_reset(&s);
    ASSERT_EQ(pr_slice_open(&s), 1);
    ASSERT_EQ(pr_slice_started(&s, 9000), 1);
    ASSERT_EQ(pr_slice_open(&s), 1);
}

static void
slice_ends_after_its_number_of_starts_however_fast(void)
{
    struct pr_slice s;
    unsigned i;

    pr_slice_init(&s, 2000, 3);
    for (i = 0; i < 3; i++) {
        ASSERT_EQ(pr_slice_open(&s), 1);
        ASSERT_EQ(pr_slice_started(&s, 5000), i == 0);
    }
    ASSERT_EQ(pr_slice_open(&s), 0);
}

static void
slice_always_holds_one_start_however_slow(void)
{
    struct pr_slice s;

    pr_slice_init(&s, 2000, 100);
    /* One start may take longer than a whole slice (a loaded machine):
     * the next turn must still start one, or nothing would ever run. */
    ASSERT_EQ(pr_slice_started(&s, 1000), 1);
    ASSERT_EQ(pr_slice_started(&s, 1000000), 0);
    ASSERT_EQ(pr_slice_open(&s), 0);
    pr_slice_reset(&s);
    ASSERT_EQ(pr_slice_open(&s), 1);
}

int
main(void)
{
    static const struct pr_test_case cases[] = {
        TEST_CASE(retry_without_retries_never_retries),
        TEST_CASE(retry_failed_task_retries_until_attempts_run_out),
        TEST_CASE(retry_ok_skipped_and_error_never_retry),
        TEST_CASE(retry_job_file_retries_override_the_option),
        TEST_CASE(retry_on_list_takes_only_listed_codes_signals_and_timeouts),
        TEST_CASE(retry_on_parse_takes_codes_timeout_and_signal_names),
        TEST_CASE(retry_task_own_list_wins_over_the_policy),
        TEST_CASE(retry_signal_poolrun_sent_is_never_retried),
        TEST_CASE(retry_wait_grows_by_the_factor_per_retry),
        TEST_CASE(halt_never_is_never_reached),
        TEST_CASE(halt_fail_count_is_reached_by_the_nth_failure_only),
        TEST_CASE(halt_success_counts_successes),
        TEST_CASE(halt_done_counts_every_final_record),
        TEST_CASE(halt_percent_is_of_the_tasks_known_so_far),
        TEST_CASE(gate_without_options_is_inactive),
        TEST_CASE(gate_delay_keeps_starts_apart_and_rounds_the_wait_up),
        TEST_CASE(gate_delay_counts_from_the_real_start_of_a_slow_spawn),
        TEST_CASE(gate_memfree_and_load_hold_back_and_recheck),
        TEST_CASE(slots_hand_out_the_lowest_free_number_and_reuse_it),
        TEST_CASE(slots_without_a_limit_grow_as_needed),
        TEST_CASE(slots_throttle_lowers_the_limit_only),
        TEST_CASE(slots_set_jobs_raises_and_lowers_the_limit_while_tasks_run),
        TEST_CASE(slice_ends_once_its_time_is_spent),
        TEST_CASE(slice_ends_after_its_number_of_starts_however_fast),
        TEST_CASE(slice_always_holds_one_start_however_slow),
    };

    return pr_test_run(cases, sizeof(cases) / sizeof(cases[0]));
}
