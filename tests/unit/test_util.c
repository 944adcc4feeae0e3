/* Unit tests of util's time values: one range for every source, and a
 * conversion to timer milliseconds that is defined for any double.  And the
 * fresh line an appended file of records starts on. */
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <unistd.h>
#include <uv.h>

#include "test.h"
#include "util.h"

int pr_test_failed;

static void
seconds_valid_in_range_accepts(void)
{
    ASSERT_TRUE(pr_seconds_valid(0));
    ASSERT_TRUE(pr_seconds_valid(0.001));
    ASSERT_TRUE(pr_seconds_valid(PR_SECONDS_MAX));
}

static void
seconds_valid_nan_inf_negative_or_huge_refuses(void)
{
    ASSERT_TRUE(!pr_seconds_valid(NAN));
    ASSERT_TRUE(!pr_seconds_valid(INFINITY));
    ASSERT_TRUE(!pr_seconds_valid(-INFINITY));
    ASSERT_TRUE(!pr_seconds_valid(-1));
    ASSERT_TRUE(!pr_seconds_valid(1e20));
    ASSERT_TRUE(!pr_seconds_valid(PR_SECONDS_MAX * 1.000001));
}

static void
seconds_to_ms_rounds_to_nearest(void)
{
    ASSERT_EQ(pr_seconds_to_ms(1.5), 1500);
    ASSERT_EQ(pr_seconds_to_ms(0.0004), 0);
    ASSERT_EQ(pr_seconds_to_ms(0.0006), 1);
    ASSERT_EQ(pr_seconds_to_ms(PR_SECONDS_MAX), 1000000000000LL);
}

static void
seconds_to_ms_out_of_range_clamps(void)
{
    ASSERT_EQ(pr_seconds_to_ms(1e20), 1000000000000LL);
    ASSERT_EQ(pr_seconds_to_ms(INFINITY), 1000000000000LL);
    ASSERT_EQ(pr_seconds_to_ms(NAN), 0);
    ASSERT_EQ(pr_seconds_to_ms(-5), 0);
    ASSERT_EQ(pr_seconds_to_ms(-INFINITY), 0);
}

static void
parse_seconds_out_of_range_is_erange(void)
{
    double v = -1;

    ASSERT_EQ(pr_parse_seconds("1e20", &v), UV_ERANGE);
    ASSERT_EQ(pr_parse_seconds("inf", &v), UV_ERANGE);
    ASSERT_EQ(pr_parse_seconds("-1", &v), UV_ERANGE);
    ASSERT_EQ(pr_parse_seconds("1000000001", &v), UV_ERANGE);
    ASSERT_EQ(v, -1);
}

static void
parse_seconds_not_a_number_is_einval(void)
{
    double v = -1;

    ASSERT_EQ(pr_parse_seconds("nan", &v), UV_EINVAL);
    ASSERT_EQ(pr_parse_seconds("", &v), UV_EINVAL);
    ASSERT_EQ(pr_parse_seconds("2s", &v), UV_EINVAL);
    ASSERT_EQ(pr_parse_seconds("0.25", &v), 0);
    ASSERT_TRUE(v == 0.25);
    ASSERT_EQ(pr_parse_seconds("1000000000", &v), 0);
}

/* The whole of the file at path, NUL-terminated, in buf. */
static size_t
read_file(const char *path, char *buf, size_t cap)
{
    int fd = open(path, O_RDONLY);
    ssize_t n = fd < 0 ? -1 : read(fd, buf, cap - 1);

    if (fd >= 0)
        close(fd);
    buf[n < 0 ? 0 : n] = '\0';
    return n < 0 ? 0 : (size_t)n;
}

static void
records_fresh_line_after_a_cut_record_adds_one_newline(void)
{
    char path[] = "/tmp/poolrun-test-XXXXXX";
    char buf[64];
    int fd = mkstemp(path);

    ASSERT_TRUE(fd >= 0);
    ASSERT_EQ(pr_write_all(fd, "a\nb", 3), 0);
    ASSERT_EQ(pr_records_fresh_line(fd, path), 0);
    ASSERT_EQ(read_file(path, buf, sizeof(buf)), 4);
    ASSERT_MEM_EQ(buf, 4, "a\nb\n");
    /* On a fresh line already: nothing more. */
    ASSERT_EQ(pr_records_fresh_line(fd, path), 0);
    ASSERT_EQ(read_file(path, buf, sizeof(buf)), 4);
    close(fd);
    unlink(path);
}

static void
records_fresh_line_on_an_empty_file_or_a_device_writes_nothing(void)
{
    char path[] = "/tmp/poolrun-test-XXXXXX";
    char buf[64];
    int fd = mkstemp(path);
    int null_fd = open("/dev/null", O_WRONLY);

    ASSERT_TRUE(fd >= 0);
    ASSERT_EQ(pr_records_fresh_line(fd, path), 0);
    ASSERT_EQ(read_file(path, buf, sizeof(buf)), 0);
    ASSERT_TRUE(null_fd >= 0);
    ASSERT_EQ(pr_records_fresh_line(null_fd, "/dev/null"), 0);
    close(null_fd);
    close(fd);
    unlink(path);
}

int
main(void)
{
    static const struct pr_test_case cases[] = {
        TEST_CASE(seconds_valid_in_range_accepts),
        TEST_CASE(seconds_valid_nan_inf_negative_or_huge_refuses),
        TEST_CASE(seconds_to_ms_rounds_to_nearest),
        TEST_CASE(seconds_to_ms_out_of_range_clamps),
        TEST_CASE(parse_seconds_out_of_range_is_erange),
        TEST_CASE(parse_seconds_not_a_number_is_einval),
        TEST_CASE(records_fresh_line_after_a_cut_record_adds_one_newline),
        TEST_CASE(
            records_fresh_line_on_an_empty_file_or_a_device_writes_nothing),
    };

    return pr_test_run(cases, PR_ARRAY_SIZE(cases));
}
