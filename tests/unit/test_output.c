/* Unit tests of the output sink: grouped blocks, keep-order, whole lines,
 * spilling to a file, and a failed write reported once. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
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

/* A pipe for stdout whose read end the test drains by hand. */
static int pipe_r;

static struct pr_output *
pipe_sink(enum pr_output_mode mode, int keep_order, size_t limit)
{
    int fds[2];

    if (pipe(fds) != 0)
        abort();
    fcntl(fds[0], F_SETFL, O_NONBLOCK);
    pipe_r = fds[0];
    out_fd = fds[1];
    err_fd = pr_tmpfile();
    return sink(mode, keep_order, limit);
}

static void
close_pipe_sink(struct pr_output *out)
{
    pr_output_free(out);
    close(pipe_r);
    close(out_fd);
    close(err_fd);
}

/* Appends what the pipe holds to got. */
static void
drain_pipe(struct pr_buf *got)
{
    char buf[65536];
    ssize_t n;

    while ((n = read(pipe_r, buf, sizeof(buf))) > 0)
        pr_buf_append(got, buf, (size_t)n);
}

/* The reader reads and the owner's poll fires, until nothing waits. */
static void
read_until_done(struct pr_output *out, struct pr_buf *got)
{
    int rounds = 0;

    while (pr_output_busy(out) && rounds++ < 100000) {
        drain_pipe(got);
        pr_output_flush(out);
    }
    drain_pipe(got);
}

/* n bytes of a pattern that names the task and the position. */
static char *
pattern(int task, size_t n)
{
    char *p = pr_xmalloc(n);
    size_t i;

    for (i = 0; i < n; i++)
        p[i] = (char)('a' + (task * 7 + i / 100) % 26);
    return p;
}

static int changes;

static void
count_change(void *data)
{
    (void)data;
    changes++;
}

static void
output_full_pipe_queues_captures_and_flush_sends_them_in_order(void)
{
    struct pr_buf got = {0}, want = {0};
    struct pr_output *out;
    int i;

    /* 64-byte buffer: the captures spill to files, which the queue takes
     * as they are. */
    out = pipe_sink(PR_OUT_GROUP, 0, 64);
    for (i = 0; i < 5; i++) {
        struct pr_task *t = pr_task_new((uint64_t)i + 1, "x", 1);
        char *p = pattern(i, 40000);

        pr_output_data(out, t, 1, p, 40000);
        pr_buf_append(&want, p, 40000);
        free(p);
        pr_output_finish(out, t);
    }
    /* 200 KB do not fit in a 64 KB pipe: the rest waits, nothing blocked. */
    ASSERT_EQ(pr_output_busy(out), 1);
    ASSERT_EQ(pr_output_waiting(out), 1);
    read_until_done(out, &got);
    ASSERT_EQ(pr_output_busy(out), 0);
    ASSERT_EQ(got.len, want.len);
    ASSERT_TRUE(memcmp(got.data, want.data, want.len) == 0);
    pr_buf_free(&got);
    pr_buf_free(&want);
    close_pipe_sink(out);
}

static void
output_busy_sink_holds_ungrouped_bytes_and_asks_to_stop_reading(void)
{
    struct pr_buf got = {0}, want = {0};
    struct pr_output *out;
    struct pr_task *a, *b;
    char *p = pattern(1, 100000);
    char *q = pattern(2, 3000);

    out = pipe_sink(PR_OUT_UNGROUP, 0, 1024);
    a = pr_task_new(1, "x", 1);
    b = pr_task_new(2, "x", 1);
    /* The pipe takes 64 KB of a's bytes, the rest waits: the caller is to
     * stop reading a. */
    ASSERT_EQ(pr_output_data(out, a, 1, p, 100000), 1);
    ASSERT_EQ(pr_output_busy(out), 1);
    /* b's bytes wait too, held in b's capture, not copied into the queue. */
    ASSERT_EQ(pr_output_data(out, b, 1, q, 3000), 1);
    ASSERT_EQ(b->out.spilled + b->out.mem.len, 3000);
    ASSERT_EQ(b->out.total, 3000);
    pr_buf_append(&want, p, 100000);
    pr_buf_append(&want, q, 3000);
    read_until_done(out, &got);
    ASSERT_EQ(got.len, want.len);
    ASSERT_TRUE(memcmp(got.data, want.data, want.len) == 0);
    ASSERT_EQ(b->out.spilled + b->out.mem.len, 0);
    /* Nothing waits: bytes go out as they come again. */
    ASSERT_EQ(pr_output_data(out, b, 1, "z", 1), 0);
    drain_pipe(&got);
    ASSERT_EQ(got.data[got.len - 1], 'z');
    pr_output_finish(out, a);
    pr_output_finish(out, b);
    free(p);
    free(q);
    pr_buf_free(&got);
    pr_buf_free(&want);
    close_pipe_sink(out);
}

static void
output_keep_order_streams_in_order_through_a_full_pipe(void)
{
    struct pr_buf got = {0}, want = {0};
    struct pr_output *out;
    struct pr_task *t[3];
    char *p[3];
    int i, round;

    out = pipe_sink(PR_OUT_GROUP, 1, 1024);
    for (i = 0; i < 3; i++) {
        t[i] = pr_task_new((uint64_t)i + 1, "x", 1);
        p[i] = pattern(i, 90000);
    }
    /* Each task writes in three parts, the oldest streaming; the reader
     * reads now and then. */
    for (round = 0; round < 3; round++) {
        for (i = 0; i < 3; i++)
            pr_output_data(out, t[i], 1, p[i] + round * 30000, 30000);
        pr_output_flush(out);
        if (round == 1)
            drain_pipe(&got);
    }
    pr_output_finish(out, t[2]);
    pr_output_finish(out, t[0]);
    pr_output_finish(out, t[1]);
    for (i = 0; i < 3; i++) {
        pr_buf_append(&want, p[i], 90000);
        free(p[i]);
    }
    read_until_done(out, &got);
    ASSERT_EQ(got.len, want.len);
    ASSERT_TRUE(memcmp(got.data, want.data, want.len) == 0);
    pr_buf_free(&got);
    pr_buf_free(&want);
    close_pipe_sink(out);
}

static void
output_line_mode_through_a_full_pipe_keeps_lines_whole(void)
{
    struct pr_buf got = {0};
    struct pr_output *out;
    struct pr_task *t[2];
    char line[32];
    int i, k;
    size_t at;

    out = pipe_sink(PR_OUT_LINE, 0, 1 << 20);
    t[0] = pr_task_new(1, "x", 1);
    t[1] = pr_task_new(2, "x", 1);
    for (i = 0; i < 20000; i++)
        for (k = 0; k < 2; k++) {
            int n = snprintf(line, sizeof(line), "task%d line %d\n", k, i);

            /* Half a line at a time. */
            pr_output_data(out, t[k], 1, line, (size_t)n / 2);
            pr_output_data(out, t[k], 1, line + n / 2, (size_t)(n - n / 2));
            if (i % 1000 == 999)
                drain_pipe(&got);
            if (i % 500 == 0)
                pr_output_flush(out);
        }
    pr_output_finish(out, t[0]);
    pr_output_finish(out, t[1]);
    read_until_done(out, &got);
    /* Every line whole, each task's lines in order. */
    {
        int next[2] = {0, 0};

        for (at = 0; at < got.len;) {
            char *nl = memchr(got.data + at, '\n', got.len - at);
            int task, num;

            ASSERT_TRUE(nl != NULL);
            *nl = '\0';
            ASSERT_EQ(sscanf(got.data + at, "task%d line %d", &task, &num), 2);
            ASSERT_TRUE(task == 0 || task == 1);
            ASSERT_EQ(num, next[task]);
            next[task]++;
            at = (size_t)(nl - got.data) + 1;
        }
        ASSERT_EQ(next[0], 20000);
        ASSERT_EQ(next[1], 20000);
    }
    pr_buf_free(&got);
    close_pipe_sink(out);
}

static void
output_congested_past_the_budget_until_the_reader_catches_up(void)
{
    struct pr_buf got = {0};
    struct pr_output *out;
    int i;

    out = pipe_sink(PR_OUT_GROUP, 0, 4096);
    for (i = 0; i < 5; i++) {
        struct pr_task *t = pr_task_new((uint64_t)i + 1, "x", 1);
        char *p = pattern(i, 1 << 20);

        pr_output_data(out, t, 1, p, 1 << 20);
        free(p);
        pr_output_finish(out, t);
    }
    /* 5 MiB wait: more than 4 MiB, no task should start. */
    ASSERT_EQ(pr_output_congested(out), 1);
    read_until_done(out, &got);
    ASSERT_EQ(pr_output_congested(out), 0);
    ASSERT_EQ(got.len, 5 << 20);
    pr_buf_free(&got);
    close_pipe_sink(out);
}

static void
output_abandon_drops_what_waits_and_never_waits_again(void)
{
    struct pr_buf got = {0};
    struct pr_output_options o;
    struct pr_output *out;
    struct pr_task *t;
    char *p = pattern(0, 200000);

    out = pipe_sink(PR_OUT_GROUP, 0, 1024);
    pr_output_free(out);
    memset(&o, 0, sizeof(o));
    o.mode = PR_OUT_GROUP;
    o.buffer_size = 1024;
    o.out_fd = out_fd;
    o.err_fd = err_fd;
    o.on_change = count_change;
    changes = 0;
    out = pr_output_new(&o, NULL, NULL);
    t = pr_task_new(1, "x", 1);
    pr_output_data(out, t, 1, p, 200000);
    pr_output_finish(out, t);
    ASSERT_EQ(pr_output_busy(out), 1);
    ASSERT_EQ(changes, 1); /* told: it waits for stdout */
    pr_output_abandon(out);
    ASSERT_EQ(pr_output_busy(out), 0);
    ASSERT_EQ(changes, 2);
    t = pr_task_new(2, "x", 1);
    pr_output_data(out, t, 1, p, 200000);
    pr_output_finish(out, t);
    ASSERT_EQ(pr_output_busy(out), 0);
    drain_pipe(&got);
    ASSERT_EQ(got.len, 65536);
    free(p);
    pr_buf_free(&got);
    close_pipe_sink(out);
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
        TEST_CASE(output_reuses_the_memory_of_emitted_captures),
        TEST_CASE(
            output_failed_write_is_reported_once_and_later_output_dropped),
        TEST_CASE(
            output_full_pipe_queues_captures_and_flush_sends_them_in_order),
        TEST_CASE(
            output_busy_sink_holds_ungrouped_bytes_and_asks_to_stop_reading),
        TEST_CASE(output_keep_order_streams_in_order_through_a_full_pipe),
        TEST_CASE(output_line_mode_through_a_full_pipe_keeps_lines_whole),
        TEST_CASE(output_congested_past_the_budget_until_the_reader_catches_up),
        TEST_CASE(output_abandon_drops_what_waits_and_never_waits_again),
    };

    signal(SIGPIPE, SIG_IGN);
    return pr_test_run(cases, sizeof(cases) / sizeof(cases[0]));
}
