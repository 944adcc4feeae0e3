/* Unit tests of util's time values: one range for every source, and a
 * conversion to timer milliseconds that is defined for any double.  And the
 * fresh line an appended file of records starts on. */
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <unistd.h>
#include <uv.h>

#include "median.h"
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

static void
parse_size_units_and_fractions_give_bytes(void)
{
    uint64_t n = 0;

    ASSERT_EQ(pr_parse_size("1", &n), 0);
    ASSERT_EQ(n, 1);
    ASSERT_EQ(pr_parse_size("64K", &n), 0);
    ASSERT_EQ(n, 65536);
    ASSERT_EQ(pr_parse_size("1m", &n), 0);
    ASSERT_EQ(n, 1048576);
    ASSERT_EQ(pr_parse_size("1.5G", &n), 0);
    ASSERT_EQ(n, 1610612736ULL);
    ASSERT_EQ(pr_parse_size("1T", &n), 0);
    ASSERT_EQ(n, 1099511627776ULL);
    ASSERT_EQ(pr_parse_size("0.5t", &n), 0);
    ASSERT_EQ(n, 549755813888ULL);
    ASSERT_EQ(pr_parse_size(".5K", &n), 0);
    ASSERT_EQ(n, 512);
    ASSERT_EQ(pr_parse_size("1.7", &n), 0); /* rounded down */
    ASSERT_EQ(n, 1);
}

static void
parse_size_out_of_range_is_erange(void)
{
    uint64_t n = 7;

    ASSERT_EQ(pr_parse_size("0", &n), UV_ERANGE);
    ASSERT_EQ(pr_parse_size("0.5", &n), UV_ERANGE);
    ASSERT_EQ(pr_parse_size("1.0001T", &n), UV_ERANGE);
    ASSERT_EQ(pr_parse_size("1025G", &n), UV_ERANGE);
    ASSERT_EQ(pr_parse_size("99999999999999999999999999999999T", &n),
              UV_ERANGE);
    ASSERT_EQ(n, 7);
}

static void
parse_size_not_a_size_is_einval(void)
{
    static const char *bad[] = {"",    "K",   ".",   "1..5K", "1.5.G", "-1",
                                "+1",  " 1",  "1 ",  "1KB",   "1P",    "0x10",
                                "1e3", "inf", "nan", "1,5G",  "G1",    "1KK"};
    uint64_t n = 7;
    size_t i;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        ASSERT_EQ(pr_parse_size(bad[i], &n), UV_EINVAL);
    ASSERT_EQ(pr_parse_size(NULL, &n), UV_EINVAL);
    ASSERT_EQ(n, 7);
}

/* The median so far, by sorting everything: the model the remedian must
 * match exactly up to PR_MEDIAN_BASE values. */
static double
model_median(double *all, size_t n)
{
    size_t i, j;

    for (i = 1; i < n; i++)
        for (j = i; j > 0 && all[j - 1] > all[j]; j--) {
            double t = all[j];

            all[j] = all[j - 1];
            all[j - 1] = t;
        }
    return all[(n - 1) / 2];
}

static void
median_up_to_base_is_exact_lower_median(void)
{
    static double all[PR_MEDIAN_BASE];
    struct pr_median m;
    size_t i;

    pr_median_init(&m);
    for (i = 0; i < PR_MEDIAN_BASE; i++) {
        double v = (double)((i * 7919) % 1009); /* not in order */

        all[i] = v;
        ASSERT_TRUE(pr_median_add(&m, v) == model_median(all, i + 1));
    }
}

static void
median_past_base_stays_near_the_middle(void)
{
    struct pr_median m;
    double med = 0;
    size_t i;

    pr_median_init(&m);
    /* 0..9999 shuffled: the median of medians stays near 5000. */
    for (i = 0; i < 10000; i++)
        med = pr_median_add(&m, (double)((i * 7919) % 10000));
    ASSERT_TRUE(med > 4000 && med < 6000);
    ASSERT_EQ(m.n, 10000);
}

int
main(void)
{
    static const struct pr_test_case cases[] = {
        TEST_CASE(seconds_valid_in_range_accepts),
        TEST_CASE(parse_size_units_and_fractions_give_bytes),
        TEST_CASE(parse_size_out_of_range_is_erange),
        TEST_CASE(parse_size_not_a_size_is_einval),
        TEST_CASE(median_up_to_base_is_exact_lower_median),
        TEST_CASE(median_past_base_stays_near_the_middle),
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
