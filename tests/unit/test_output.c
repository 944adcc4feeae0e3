/* Unit tests of the output sink: grouped blocks, keep-order, whole lines,
 * spilling to a file, and a failed write reported once. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <signal.h>
#include <unistd.h>
#include <uv.h>

#include "output.h"
#include "task.h"
#include "test.h"

int pr_test_failed;

static int out_fd;
static int err_fd;

/* Fresh temporary files for stdout and stderr. */
static void
open_files(void)
{
    out_fd = pr_tmpfile();
    err_fd = pr_tmpfile();
}

static size_t
slurp(int fd, char *buf, size_t cap)
{
    ssize_t n = pread(fd, buf, cap - 1, 0);

    buf[n < 0 ? 0 : n] = '\0';
    return n < 0 ? 0 : (size_t)n;
}

static struct pr_output *
sink(enum pr_output_mode mode, int keep_order, size_t limit)
{
    struct pr_output_options o;

    memset(&o, 0, sizeof(o));
    o.mode = mode;
    o.keep_order = keep_order;
    o.buffer_size = limit;
    o.out_fd = out_fd;
    o.err_fd = err_fd;
    o.first_seq = 1;
    return pr_output_new(&o, NULL, NULL);
}

static struct pr_task *
task_with(uint64_t seq, struct pr_output *out, const char *o, const char *e)
{
    struct pr_task *t = pr_task_new(seq, "x", 1);

    pr_output_data(out, t, 1, o, strlen(o));
    pr_output_data(out, t, 2, e, strlen(e));
    return t;
}

static void
output_group_emits_each_task_as_one_block(void)
{
    char buf[256];
    struct pr_output *out;
    struct pr_task *a, *b;

    open_files();
    out = sink(PR_OUT_GROUP, 0, 1024);
    a = task_with(1, out, "a1\n", "ea\n");
    b = task_with(2, out, "b1\n", "eb\n");
    pr_output_data(out, a, 1, "a2\n", 3);
    pr_output_data(out, b, 1, "b2\n", 3);
    pr_output_finish(out, b);
    pr_output_finish(out, a);
    slurp(out_fd, buf, sizeof(buf));
    ASSERT_MEM_EQ(buf, strlen(buf), "b1\nb2\na1\na2\n");
    slurp(err_fd, buf, sizeof(buf));
    ASSERT_MEM_EQ(buf, strlen(buf), "eb\nea\n");
    pr_output_free(out);
    close(out_fd);
    close(err_fd);
}

/* Tasks 1-5 each write their number; they finish in finish_order.  The
 * oldest task's output goes out as it comes unless it must be held. */
static void
check_keep_order(int hold)
{
    char buf[256];
    struct pr_output *out;
    struct pr_task *t[5];
    static const int finish_order[5] = {3, 1, 5, 4, 2};
    int i;

    open_files();
    out = sink(PR_OUT_GROUP, 1, 1024);
    for (i = 0; i < 5; i++) {
        char line[8];

        snprintf(line, sizeof(line), "%d\n", i + 1);
        t[i] = pr_task_new((uint64_t)i + 1, "x", 1);
        t[i]->no_stream = hold;
        pr_output_data(out, t[i], 1, line, strlen(line));
    }
    slurp(out_fd, buf, sizeof(buf));
    ASSERT_MEM_EQ(buf, strlen(buf), hold ? "" : "1\n");
    pr_output_finish(out, t[finish_order[0] - 1]);
    ASSERT_EQ(pr_output_pending(out), 1);
    slurp(out_fd, buf, sizeof(buf));
    ASSERT_MEM_EQ(buf, strlen(buf), hold ? "" : "1\n");
    pr_output_finish(out, t[finish_order[1] - 1]);
    /* 1 is out; 3 still waits for 2. */
    slurp(out_fd, buf, sizeof(buf));
    ASSERT_MEM_EQ(buf, strlen(buf), "1\n");
    for (i = 2; i < 5; i++)
        pr_output_finish(out, t[finish_order[i] - 1]);
    slurp(out_fd, buf, sizeof(buf));
    ASSERT_MEM_EQ(buf, strlen(buf), "1\n2\n3\n4\n5\n");
    ASSERT_EQ(pr_output_pending(out), 0);
    pr_output_free(out);
    close(out_fd);
    close(err_fd);
}

static void
output_keep_order_holds_later_tasks_until_earlier_finish(void)
{
    check_keep_order(1);
}

static void
output_keep_order_streams_the_oldest_task_and_holds_the_rest(void)
{
    check_keep_order(0);
}

static void
output_keep_order_streaming_starts_with_what_was_captured(void)
{
    char buf[256];
    struct pr_output *out;
    struct pr_task *a, *b;

    open_files();
    out = sink(PR_OUT_GROUP, 1, 1024);
    a = pr_task_new(1, "x", 1);
    b = pr_task_new(2, "x", 1);
    a->no_stream = 1;
    pr_output_data(out, b, 1, "b1\n", 3);
    pr_output_data(out, a, 1, "a\n", 2);
    pr_output_finish(out, a);
    /* b is the oldest now: its next bytes bring the earlier ones along. */
    slurp(out_fd, buf, sizeof(buf));
    ASSERT_MEM_EQ(buf, strlen(buf), "a\n");
    pr_output_data(out, b, 1, "b2\n", 3);
    slurp(out_fd, buf, sizeof(buf));
    ASSERT_MEM_EQ(buf, strlen(buf), "a\nb1\nb2\n");
    ASSERT_EQ(b->out.total, 6);
    pr_output_finish(out, b);
    slurp(out_fd, buf, sizeof(buf));
    ASSERT_MEM_EQ(buf, strlen(buf), "a\nb1\nb2\n");
    pr_output_free(out);
    close(out_fd);
    close(err_fd);
}

static void
output_line_mode_writes_only_whole_lines_until_the_end(void)
{
    char buf[256];
    struct pr_output *out;
    struct pr_task *a, *b;

    open_files();
    out = sink(PR_OUT_LINE, 0, 1024);
    a = pr_task_new(1, "x", 1);
    b = pr_task_new(2, "x", 1);
    pr_output_data(out, a, 1, "a-one\na-tw", 10);
    pr_output_data(out, b, 1, "b-on", 4);
    pr_output_data(out, b, 1, "e\n", 2);
    pr_output_data(out, a, 1, "o\n", 2);
    pr_output_data(out, a, 1, "tail", 4);
    slurp(out_fd, buf, sizeof(buf));
    ASSERT_MEM_EQ(buf, strlen(buf), "a-one\nb-one\na-two\n");
    pr_output_finish(out, a);
    pr_output_finish(out, b);
    slurp(out_fd, buf, sizeof(buf));
    ASSERT_MEM_EQ(buf, strlen(buf), "a-one\nb-one\na-two\ntail");
    pr_output_free(out);
    close(out_fd);
    close(err_fd);
}

static void
capture_past_limit_spills_to_a_file_and_emits_everything(void)
{
    struct pr_capture c;
    char buf[256];
    int fd = pr_tmpfile();
    int i;

    pr_capture_init(&c);
    for (i = 0; i < 10; i++)
        ASSERT_EQ(pr_capture_append(&c, "0123456789", 10, 32), 0);
    ASSERT_TRUE(c.spill_fd >= 0);
    ASSERT_EQ(c.mem.len, 0);
    ASSERT_EQ(c.total, 100);
    ASSERT_EQ(pr_capture_emit(&c, fd), 0);
    ASSERT_EQ(slurp(fd, buf, sizeof(buf)), 100);
    for (i = 0; i < 100; i++)
        ASSERT_EQ(buf[i], '0' + i % 10);
    pr_capture_free(&c);
    close(fd);
}

static void
capture_without_a_temporary_file_keeps_memory_bounded_and_counts_the_loss(void)
{
    struct pr_capture c;
    char buf[256];
    int fd = pr_tmpfile();
    const char *old = getenv("TMPDIR");
    char *saved = old ? strdup(old) : NULL;

    setenv("TMPDIR", "/nonexistent/poolrun-test", 1);
    pr_capture_init(&c);
    ASSERT_EQ(pr_capture_append(&c, "0123456789", 10, 16), 0);
    ASSERT_TRUE(pr_capture_append(&c, "abcdefghij", 10, 16) != 0);
    ASSERT_TRUE(pr_capture_append(&c, "klmno", 5, 16) != 0);
    if (saved) {
        setenv("TMPDIR", saved, 1);
        free(saved);
    } else {
        unsetenv("TMPDIR");
    }
    ASSERT_EQ(c.total, 25);
    ASSERT_EQ(c.lost, 15);
    ASSERT_EQ(c.lost_err, UV_ENOENT);
    ASSERT_EQ(c.mem.len, 10);
    ASSERT_EQ(pr_capture_emit(&c, fd), 0);
    ASSERT_EQ(slurp(fd, buf, sizeof(buf)), 10);
    pr_capture_free(&c);
    close(fd);
}

static void
output_reuses_the_memory_of_emitted_captures(void)
{
    struct pr_output *out;
    struct pr_task *a, *b;
    const char *old;

    open_files();
    out = sink(PR_OUT_GROUP, 0, 1024);
    a = task_with(1, out, "first task\n", "");
    old = a->out.mem.data;
    ASSERT_TRUE(old != NULL);
    pr_output_finish(out, a);
    b = task_with(2, out, "second\n", "");
    ASSERT_TRUE(b->out.mem.data == old);
    pr_output_finish(out, b);
    {
        char buf[64];

        slurp(out_fd, buf, sizeof(buf));
        ASSERT_MEM_EQ(buf, strlen(buf), "first task\nsecond\n");
    }
    pr_output_free(out);
    close(out_fd);
    close(err_fd);
}

static int errors_seen;
static int error_code;

static void
on_error(void *data, int err)
{
    (void)data;
    errors_seen++;
    error_code = err;
}

static void
output_failed_write_is_reported_once_and_later_output_dropped(void)
{
    struct pr_output_options o;
    struct pr_output *out;
    int fds[2];

    ASSERT_EQ(pipe(fds), 0);
    close(fds[0]); /* nobody reads: writes fail with EPIPE */
    memset(&o, 0, sizeof(o));
    o.mode = PR_OUT_GROUP;
    o.buffer_size = 1024;
    o.out_fd = fds[1];
    o.err_fd = open("/dev/null", O_WRONLY);
    errors_seen = 0;
    out = pr_output_new(&o, on_error, NULL);
    pr_output_finish(out, task_with(1, out, "x\n", ""));
    pr_output_finish(out, task_with(2, out, "y\n", ""));
    ASSERT_EQ(errors_seen, 1);
    ASSERT_EQ(error_code, UV_EPIPE);
    ASSERT_EQ(pr_output_error(out), UV_EPIPE);
    pr_output_free(out);
    close(fds[1]);
    close(o.err_fd);
}

int
main(void)
{
    static const struct pr_test_case cases[] = {
        TEST_CASE(output_group_emits_each_task_as_one_block),
        TEST_CASE(output_keep_order_holds_later_tasks_until_earlier_finish),
        TEST_CASE(output_keep_order_streams_the_oldest_task_and_holds_the_rest),
        TEST_CASE(output_keep_order_streaming_starts_with_what_was_captured),
        TEST_CASE(output_line_mode_writes_only_whole_lines_until_the_end),
        TEST_CASE(capture_past_limit_spills_to_a_file_and_emits_everything),
        TEST_CASE(output_reuses_the_memory_of_emitted_captures),
        TEST_CASE(
            capture_without_a_temporary_file_keeps_memory_bounded_and_counts_the_loss),
        TEST_CASE(
            output_failed_write_is_reported_once_and_later_output_dropped),
    };

    signal(SIGPIPE, SIG_IGN);
    return pr_test_run(cases, sizeof(cases) / sizeof(cases[0]));
}
