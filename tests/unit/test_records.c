/*
 * Unit tests of results.c (JSON strings, the seq set, the --resume reader)
 * and progress.c (the progress line).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#include "progress.h"
#include "results.h"
#include "test.h"
#include "util.h"

int pr_test_failed;

static void
json_string_escapes_quotes_controls_and_keeps_utf8(void)
{
    struct pr_buf b = {0};
    static const char in[] = "a\"b\\c\n\t\r\x01\x7f caf\xc3\xa9 \xf0\x9f\x98\x80";

    ASSERT_EQ(pr_json_string(&b, in, sizeof(in) - 1), 0);
    ASSERT_MEM_EQ(b.data, b.len,
                  "\"a\\\"b\\\\c\\n\\t\\r\\u0001\\u007f caf\xc3\xa9 "
                  "\xf0\x9f\x98\x80\"");
    pr_buf_free(&b);
}

static void
json_string_escapes_nul_bytes(void)
{
    struct pr_buf b = {0};

    ASSERT_EQ(pr_json_string(&b, "a\0b", 3), 0);
    ASSERT_MEM_EQ(b.data, b.len, "\"a\\u0000b\"");
    pr_buf_free(&b);
}

static void
json_string_refuses_invalid_utf8_and_appends_nothing(void)
{
    /* A lone continuation byte, a truncated sequence, an overlong form
     * and a UTF-16 surrogate. */
    static const char *const bad[] = {"\x80", "ab\xc3", "\xc0\xaf",
                                      "\xed\xa0\x80"};
    struct pr_buf b = {0};
    size_t i;

    pr_buf_append(&b, "x", 1);
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ASSERT_EQ(pr_json_string(&b, bad[i], strlen(bad[i])), -1);
        ASSERT_MEM_EQ(b.data, b.len, "x");
    }
    pr_buf_free(&b);
}

static void
seqset_puts_clears_and_grows(void)
{
    struct pr_seqset s = {0};

    ASSERT_EQ(pr_seqset_has(&s, 1), 0);
    pr_seqset_put(&s, 1, 1);
    pr_seqset_put(&s, 100000, 1);
    ASSERT_EQ(pr_seqset_has(&s, 1), 1);
    ASSERT_EQ(pr_seqset_has(&s, 2), 0);
    ASSERT_EQ(pr_seqset_has(&s, 100000), 1);
    ASSERT_EQ(pr_seqset_has(&s, 99999), 0);
    pr_seqset_put(&s, 1, 0);
    ASSERT_EQ(pr_seqset_has(&s, 1), 0);
    /* Clearing past the end changes nothing and allocates nothing. */
    pr_seqset_put(&s, 1u << 30, 0);
    ASSERT_EQ(pr_seqset_has(&s, 1u << 30), 0);
    pr_seqset_free(&s);
}

/* Writes text to a new temporary file; returns its path (static). */
static const char *
temp_file(const char *text)
{
    static char path[64];
    int fd;

    snprintf(path, sizeof(path), "/tmp/pr_test_joblog_XXXXXX");
    fd = mkstemp(path);
    if (fd < 0 || pr_write_all(fd, text, strlen(text)) != 0)
        abort();
    close(fd);
    return path;
}

#define HEADER "Seq\tHost\tStarttime\tJobRuntime\tSend\tReceive\tExitval\tSignal\tCommand\n"

static void
resume_reads_every_seq_or_only_successes_last_row_winning(void)
{
    const char *path = temp_file(
        HEADER "1\t:\t1.0\t0.1\t0\t0\t0\t0\ttrue\n"
               "2\t:\t1.0\t0.1\t0\t0\t1\t0\tfalse\n"
               "3\t:\t1.0\t0.1\t0\t0\t0\t15\tsleep 9\n" HEADER
               "2\t:\t2.0\t0.1\t0\t0\t0\t0\tfalse\twith\ttabs\n"
               "4\t:\t2.0\t0.1\t0\t0\t-1\t0\tmissing\n");
    struct pr_seqset all = {0}, ok = {0};
    unsigned long bad = 0;

    ASSERT_EQ(pr_resume_read(path, 0, &all, &bad), 0);
    ASSERT_EQ(pr_seqset_has(&all, 1) && pr_seqset_has(&all, 2) &&
                  pr_seqset_has(&all, 3) && pr_seqset_has(&all, 4),
              1);
    ASSERT_EQ(pr_resume_read(path, 1, &ok, &bad), 0);
    ASSERT_EQ(pr_seqset_has(&ok, 1), 1);
    ASSERT_EQ(pr_seqset_has(&ok, 2), 1); /* its second row succeeded */
    ASSERT_EQ(pr_seqset_has(&ok, 3), 0); /* ended by a signal */
    ASSERT_EQ(pr_seqset_has(&ok, 4), 0); /* could not start */
    unlink(path);
    pr_seqset_free(&all);
    pr_seqset_free(&ok);
}

static void
resume_names_the_line_of_a_bad_row(void)
{
    const char *path =
        temp_file(HEADER "1\t:\t1.0\t0.1\t0\t0\t0\t0\ttrue\n1\t:\tx\n");
    struct pr_seqset set = {0};
    unsigned long bad = 0;

    ASSERT_EQ(pr_resume_read(path, 0, &set, &bad), UV_EINVAL);
    ASSERT_EQ(bad, 3);
    unlink(path);
    pr_seqset_free(&set);
}

static void
resume_of_a_missing_joblog_is_an_empty_set(void)
{
    struct pr_seqset set = {0};
    unsigned long bad = 0;

    ASSERT_EQ(pr_resume_read("/nonexistent/joblog", 0, &set, &bad), 0);
    ASSERT_EQ(pr_seqset_has(&set, 1), 0);
    pr_seqset_free(&set);
}

static void
progress_line_with_and_without_a_total(void)
{
    struct pr_progress_counts c = {25, 100, 4, 2, 10.0};
    char line[256];

    pr_progress_format(&c, line, sizeof(line));
    /* 2.5 tasks a second, 75 left: 30 seconds. */
    ASSERT_MEM_EQ(line, strlen(line),
                  "poolrun: 25/100 done, 4 running, 2 failed, 2.5/s, ETA 0:30");
    c.total = 0;
    pr_progress_format(&c, line, sizeof(line));
    ASSERT_MEM_EQ(line, strlen(line),
                  "poolrun: 25 done, 4 running, 2 failed, 2.5/s");
    c.total = 100000;
    c.done = 1;
    c.elapsed = 1.0;
    pr_progress_format(&c, line, sizeof(line));
    ASSERT_MEM_EQ(line, strlen(line),
                  "poolrun: 1/100000 done, 4 running, 2 failed, 1.0/s, "
                  "ETA 27:46:39");
}

int
main(void)
{
    static const struct pr_test_case cases[] = {
        TEST_CASE(json_string_escapes_quotes_controls_and_keeps_utf8),
        TEST_CASE(json_string_escapes_nul_bytes),
        TEST_CASE(json_string_refuses_invalid_utf8_and_appends_nothing),
        TEST_CASE(seqset_puts_clears_and_grows),
        TEST_CASE(resume_reads_every_seq_or_only_successes_last_row_winning),
        TEST_CASE(resume_names_the_line_of_a_bad_row),
        TEST_CASE(resume_of_a_missing_joblog_is_an_empty_set),
        TEST_CASE(progress_line_with_and_without_a_total),
    };

    return pr_test_run(cases, sizeof(cases) / sizeof(cases[0]));
}
