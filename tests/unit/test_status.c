/* Unit tests of the status text: escaping a command onto one line, the
 * running-task line and the counts, as SIGUSR1 and `poolrun status` print
 * them. */
#include <string.h>

#include "status.h"
#include "test.h"

int pr_test_failed;

static void
escape_keeps_control_bytes_on_one_line(void)
{
    struct pr_buf b = {0};
    static const char cmd[] = "echo a\nb\tc\\d\x01\x7f\r";

    pr_status_escape(&b, cmd, sizeof(cmd) - 1, PR_STATUS_CMD_MAX);
    ASSERT_MEM_EQ(b.data, b.len, "echo a\\nb\\tc\\\\d\\x01\\x7f\\r");
    pr_buf_free(&b);
}

static void
escape_passes_utf8_and_nul_bytes_as_text(void)
{
    struct pr_buf b = {0};
    static const char cmd[] = "caf\xc3\xa9 \0x";

    pr_status_escape(&b, cmd, sizeof(cmd) - 1, PR_STATUS_CMD_MAX);
    ASSERT_MEM_EQ(b.data, b.len, "caf\xc3\xa9 \\x00x");
    pr_buf_free(&b);
}

static void
escape_past_max_says_the_length(void)
{
    struct pr_buf b = {0};

    pr_status_escape(&b, "abcdefgh", 8, 3);
    ASSERT_MEM_EQ(b.data, b.len, "abc ... (8 bytes)");
    pr_buf_free(&b);
}

static void
task_line_names_seq_id_pid_slot_runtime_and_command(void)
{
    struct pr_buf b = {0};
    struct pr_status_task t = {0};

    t.seq = 7;
    t.id = "build";
    t.pid = 4242;
    t.slot = 3;
    t.runtime = 2.25;
    t.cmd = "make\nall";
    t.cmd_len = 8;
    pr_status_task_line(&b, "poolrun: ", &t);
    ASSERT_MEM_EQ(b.data, b.len,
                  "poolrun: running build (seq 7, pid 4242, slot 3, 2.2 s): "
                  "make\\nall\n");
    pr_buf_free(&b);
}

static void
task_line_of_a_worker_shows_its_pid_and_the_item(void)
{
    struct pr_buf b = {0};
    struct pr_status_task t = {0};

    t.seq = 1;
    t.pid = 0; /* waiting for a worker */
    t.worker = 1;
    t.slot = 1;
    t.cmd = "x y";
    t.cmd_len = 3;
    pr_status_task_line(&b, "  ", &t);
    ASSERT_MEM_EQ(b.data, b.len,
                  "  running - (seq 1, worker -, slot 1, 0.0 s): item: x y\n");
    pr_buf_free(&b);
}

static void
counts_show_ok_and_failed_always_and_other_statuses_when_some(void)
{
    struct pr_buf b = {0};
    struct pr_status_counts c = {0};

    c.done = 5;
    c.by_status[PR_TASK_OK] = 2;
    c.by_status[PR_TASK_TIMEOUT] = 1;
    c.by_status[PR_TASK_SKIPPED] = 2;
    c.running = 3;
    c.queued = 4;
    pr_status_counts_text(&b, &c);
    ASSERT_MEM_EQ(b.data, b.len,
                  "5 done (2 ok, 0 failed, 1 timeout, 2 skipped), 3 running, "
                  "4 queued");
    c.retrying = 1;
    b.len = 0;
    pr_status_counts_text(&b, &c);
    ASSERT_MEM_EQ(b.data, b.len,
                  "5 done (2 ok, 0 failed, 1 timeout, 2 skipped), 3 running, "
                  "4 queued, 1 to retry");
    pr_buf_free(&b);
}

int
main(void)
{
    static const struct pr_test_case cases[] = {
        TEST_CASE(escape_keeps_control_bytes_on_one_line),
        TEST_CASE(escape_passes_utf8_and_nul_bytes_as_text),
        TEST_CASE(escape_past_max_says_the_length),
        TEST_CASE(task_line_names_seq_id_pid_slot_runtime_and_command),
        TEST_CASE(task_line_of_a_worker_shows_its_pid_and_the_item),
        TEST_CASE(
            counts_show_ok_and_failed_always_and_other_statuses_when_some),
    };

    return pr_test_run(cases, sizeof(cases) / sizeof(cases[0]));
}
