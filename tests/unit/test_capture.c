/* Unit tests of a capture: memory up to its limit, then a spill file; what
 * no file could take is counted, not kept; its head reads both. */
#include <stdlib.h>
#include <unistd.h>
#include <uv.h>

#include "capture.h"
#include "test.h"

int pr_test_failed;

static size_t
slurp(int fd, char *buf, size_t cap)
{
    ssize_t n = pread(fd, buf, cap - 1, 0);

    buf[n < 0 ? 0 : n] = '\0';
    return n < 0 ? 0 : (size_t)n;
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
capture_head_of_a_spilled_capture_reads_the_file_up_to_max(void)
{
    struct pr_capture c;
    struct pr_buf b = {0};
    int i;

    pr_capture_init(&c);
    for (i = 0; i < 10; i++)
        ASSERT_EQ(pr_capture_append(&c, "0123456789", 10, 32), 0);
    ASSERT_TRUE(c.spill_fd >= 0);
    pr_buf_append(&b, "x", 1);
    pr_capture_head(&c, &b, 15);
    ASSERT_MEM_EQ(b.data, b.len, "x012345678901234");
    pr_buf_free(&b);
    pr_capture_free(&c);
}

static void
capture_head_past_the_end_appends_the_whole_capture(void)
{
    struct pr_capture c;
    struct pr_buf b = {0};

    pr_capture_init(&c);
    ASSERT_EQ(pr_capture_append(&c, "abc", 3, 32), 0);
    ASSERT_EQ(c.spill_fd, -1);
    pr_capture_head(&c, &b, 100);
    ASSERT_MEM_EQ(b.data, b.len, "abc");
    pr_buf_free(&b);
    pr_capture_free(&c);
}

int
main(void)
{
    static const struct pr_test_case cases[] = {
        TEST_CASE(capture_past_limit_spills_to_a_file_and_emits_everything),
        TEST_CASE(
            capture_without_a_temporary_file_keeps_memory_bounded_and_counts_the_loss),
        TEST_CASE(capture_head_of_a_spilled_capture_reads_the_file_up_to_max),
        TEST_CASE(capture_head_past_the_end_appends_the_whole_capture),
    };

    return pr_test_run(cases, sizeof(cases) / sizeof(cases[0]));
}
