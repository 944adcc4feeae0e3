/* Unit tests of rq's URL parsing: each part, its defaults, and every way a
 * URL is refused (a password above all: it would be visible in ps). */
#include <string.h>
#include <uv.h>

#include "rq.h"
#include "test.h"
#include "util.h"

int pr_test_failed;

static void
url_full_parses_each_part(void)
{
    struct pr_rq_url u;
    const char *why = NULL;

    ASSERT_EQ(pr_rq_url_parse("redis://ci@db.example:6380/2/nightly", &u, &why),
              0);
    ASSERT_TRUE(strcmp(u.user, "ci") == 0);
    ASSERT_TRUE(strcmp(u.host, "db.example") == 0);
    ASSERT_EQ(u.port, 6380);
    ASSERT_EQ(u.db, 2);
    ASSERT_TRUE(strcmp(u.name, "nightly") == 0);
    pr_rq_url_free(&u);
}

static void
url_short_takes_defaults(void)
{
    struct pr_rq_url u;
    const char *why = NULL;

    ASSERT_EQ(pr_rq_url_parse("redis://localhost/q", &u, &why), 0);
    ASSERT_TRUE(u.user == NULL);
    ASSERT_TRUE(strcmp(u.host, "localhost") == 0);
    ASSERT_EQ(u.port, 6379);
    ASSERT_EQ(u.db, 0);
    ASSERT_TRUE(strcmp(u.name, "q") == 0);
    pr_rq_url_free(&u);
}

static void
url_bracketed_v6_host_parses(void)
{
    struct pr_rq_url u;
    const char *why = NULL;

    ASSERT_EQ(pr_rq_url_parse("redis://[::1]:7000/q", &u, &why), 0);
    ASSERT_TRUE(strcmp(u.host, "::1") == 0);
    ASSERT_EQ(u.port, 7000);
    pr_rq_url_free(&u);
}

static void
url_with_password_is_refused_saying_why(void)
{
    struct pr_rq_url u;
    const char *why = NULL;

    ASSERT_EQ(pr_rq_url_parse("redis://ci:s3cret@host/q", &u, &why), UV_EINVAL);
    ASSERT_TRUE(strstr(why, "password") != NULL);
    ASSERT_TRUE(strstr(why, "s3cret") == NULL);
    ASSERT_EQ(pr_rq_url_parse("redis://:s3cret@host/q", &u, &why), UV_EINVAL);
    ASSERT_TRUE(strstr(why, "POOLRUN_REDIS_PASSWORD") != NULL);
}

static void
url_bad_parts_are_refused(void)
{
    static const char *const bad[] = {
        "http://host/q",     "redis://host",       "redis://host/",
        "redis:///q",        "redis://host:0/q",   "redis://host:65536/q",
        "redis://host:x/q",  "redis://host/x/q",   "redis://host/1/",
        "redis://host/a{b}", "redis://host/1/a/b", "redis://@host/q",
        "redis://[::1/q",    "redis://host/a b",
    };
    struct pr_rq_url u;
    const char *why;
    size_t i;

    for (i = 0; i < PR_ARRAY_SIZE(bad); i++) {
        why = NULL;
        if (pr_rq_url_parse(bad[i], &u, &why) != UV_EINVAL) {
            fprintf(stderr, "accepted: %s\n", bad[i]);
            ASSERT_TRUE(0);
        }
        ASSERT_TRUE(why != NULL);
    }
}

static void
is_url_tells_a_redis_url_from_a_queue_name(void)
{
    ASSERT_TRUE(pr_rq_is_url("redis://h/q"));
    ASSERT_TRUE(!pr_rq_is_url("default"));
    ASSERT_TRUE(!pr_rq_is_url(NULL));
}

int
main(void)
{
    static const struct pr_test_case cases[] = {
        TEST_CASE(url_full_parses_each_part),
        TEST_CASE(url_short_takes_defaults),
        TEST_CASE(url_bracketed_v6_host_parses),
        TEST_CASE(url_with_password_is_refused_saying_why),
        TEST_CASE(url_bad_parts_are_refused),
        TEST_CASE(is_url_tells_a_redis_url_from_a_queue_name),
    };

    return pr_test_run(cases, PR_ARRAY_SIZE(cases));
}
