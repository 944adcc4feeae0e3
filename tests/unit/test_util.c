/* Unit tests of util's time values: one range for every source, and a
 * conversion to timer milliseconds that is defined for any double. */
#include <math.h>
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
    };

    return pr_test_run(cases, PR_ARRAY_SIZE(cases));
}
