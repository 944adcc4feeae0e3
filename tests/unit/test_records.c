/*
 * Unit tests of results.c (the seq set, the --resume reader, records cut
 * short), joblog.c (appending, write errors) and progress.c (the progress
 * line).  The JSON string encoder's are in test_json.c.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uv.h>

#include "joblog.h"
#include "progress.h"
#include "records.h"
#include "results.h"
#include "test.h"
#include "util.h"

int pr_test_failed;

static void
seqset_puts_clears_and_grows(void)
{
    struct pr_seqset s = {0};

    pr_seqset_flush(&s);
    ASSERT_EQ(pr_seqset_has(&s, 1), 0);
    pr_seqset_put(&s, 1, 1);
    pr_seqset_put(&s, 100000, 1);
    pr_seqset_flush(&s);
    ASSERT_EQ(pr_seqset_has(&s, 1), 1);
    ASSERT_EQ(pr_seqset_has(&s, 2), 0);
    ASSERT_EQ(pr_seqset_has(&s, 100000), 1);
    ASSERT_EQ(pr_seqset_has(&s, 99999), 0);
    pr_seqset_put(&s, 1, 0);
    pr_seqset_flush(&s);
    ASSERT_EQ(pr_seqset_has(&s, 1), 0);
    /* Clearing what is not there changes nothing. */
    pr_seqset_put(&s, 1u << 30, 0);
    pr_seqset_flush(&s);
    ASSERT_EQ(pr_seqset_has(&s, 1u << 30), 0);
    ASSERT_EQ(pr_seqset_runs(&s), 1);
    pr_seqset_free(&s);
}

static void
seqset_of_huge_seqs_holds_one_run_each(void)
{
    struct pr_seqset s = {0};
    uint64_t i;

    /* The numbers that made the bit array ask for petabytes. */
    pr_seqset_put(&s, 999999999999999ULL, 1);
    pr_seqset_put(&s, UINT64_MAX, 1);
    pr_seqset_put(&s, UINT64_MAX - 1, 1);
    pr_seqset_put(&s, 1, 1);
    pr_seqset_flush(&s);
    ASSERT_EQ(pr_seqset_runs(&s), 3);
    ASSERT_EQ(pr_seqset_has(&s, 999999999999999ULL), 1);
    ASSERT_EQ(pr_seqset_has(&s, 999999999999998ULL), 0);
    ASSERT_EQ(pr_seqset_has(&s, UINT64_MAX), 1);
    ASSERT_EQ(pr_seqset_has(&s, UINT64_MAX - 1), 1);
    ASSERT_EQ(pr_seqset_has(&s, UINT64_MAX - 2), 0);
    pr_seqset_put(&s, UINT64_MAX, 0);
    pr_seqset_flush(&s);
    ASSERT_EQ(pr_seqset_has(&s, UINT64_MAX), 0);
    ASSERT_EQ(pr_seqset_has(&s, UINT64_MAX - 1), 1);
    pr_seqset_free(&s);
    /* A million seqs put in reverse order are one run. */
    for (i = 1000000; i >= 1; i--)
        pr_seqset_put(&s, i, 1);
    pr_seqset_flush(&s);
    ASSERT_EQ(pr_seqset_runs(&s), 1);
    ASSERT_EQ(pr_seqset_has(&s, 1), 1);
    ASSERT_EQ(pr_seqset_has(&s, 1000000), 1);
    ASSERT_EQ(pr_seqset_has(&s, 1000001), 0);
    pr_seqset_free(&s);
}

/* The runs are sorted, disjoint and never adjacent, and each holds seqs
 * from 1 up. */
static int
runs_well_formed(const struct pr_seqset *s)
{
    size_t i;

    for (i = 0; i < s->nruns; i++) {
        if (s->runs[i].lo == 0 || s->runs[i].lo > s->runs[i].hi)
            return 0;
        if (i > 0 && s->runs[i].lo <= s->runs[i - 1].hi + 1)
            return 0;
    }
    return 1;
}

static void
seqset_agrees_with_a_bit_array_model_under_random_puts(void)
{
    enum {
        MAX = 3000,
        PUTS = 40000
    };
    static unsigned char model[MAX + 2];
    struct pr_seqset s = {0};
    unsigned long x = 12345;
    uint64_t i;
    int k;

    memset(model, 0, sizeof(model));
    for (k = 0; k < PUTS; k++) {
        uint64_t seq;
        int on;

        /* A small linear congruential generator: the same run each time. */
        x = x * 1103515245UL + 12345UL;
        seq = (x >> 8) % MAX + 1;
        on = (x >> 20) % 3 != 0;
        pr_seqset_put(&s, seq, on);
        model[seq] = (unsigned char)on;
        /* Merge now and then (and by itself every 4096 puts). */
        if ((x >> 4) % 997 == 0) {
            pr_seqset_flush(&s);
            ASSERT_TRUE(runs_well_formed(&s));
            for (i = 0; i <= MAX + 1; i++)
                ASSERT_EQ(pr_seqset_has(&s, i), model[i]);
        }
    }
    pr_seqset_flush(&s);
    ASSERT_TRUE(runs_well_formed(&s));
    for (i = 0; i <= MAX + 1; i++)
        ASSERT_EQ(pr_seqset_has(&s, i), model[i]);
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

/* The contents of the file at path (static, NUL-terminated). */
static const char *
file_text(const char *path)
{
    static char text[4096];
    FILE *f = fopen(path, "r");
    size_t n;

    if (f == NULL)
        abort();
    n = fread(text, 1, sizeof(text) - 1, f);
    text[n] = '\0';
    fclose(f);
    return text;
}

#define HEADER                                                                 \
    "Seq\tHost\tStarttime\tJobRuntime\tSend\tReceive\tExitval\tSignal\tComman" \
    "d\n"

/* What pr_resume_read skipped: "L<line>" for a bad row, "T<line>" for a
 * torn last line, one after another. */
static char skipped[256];

static void
note_skip(void *data, unsigned long line, enum pr_resume_skip why)
{
    size_t n = strlen(skipped);

    (void)data;
    snprintf(skipped + n, sizeof(skipped) - n, "%s%c%lu", n ? " " : "",
             why == PR_RESUME_TORN ? 'T' : 'L', line);
}

static int
read_log(const char *path, int failed_again, struct pr_seqset *set,
         unsigned long *bad)
{
    skipped[0] = '\0';
    *bad = 0;
    return pr_resume_read(path, failed_again, set, note_skip, NULL, bad);
}

static void
resume_reads_every_seq_or_only_successes_last_row_winning(void)
{
    const char *path =
        temp_file(HEADER "1\t:\t1.0\t0.1\t0\t0\t0\t0\ttrue\n"
                         "2\t:\t1.0\t0.1\t0\t0\t1\t0\tfalse\n"
                         "3\t:\t1.0\t0.1\t0\t0\t0\t15\tsleep 9\n" HEADER
                         "2\t:\t2.0\t0.1\t0\t0\t0\t0\tfalse\twith\ttabs\n"
                         "4\t:\t2.0\t0.1\t0\t0\t-1\t0\tmissing\n");
    struct pr_seqset all = {0}, ok = {0};
    unsigned long bad = 0;

    ASSERT_EQ(read_log(path, 0, &all, &bad), 0);
    ASSERT_EQ(pr_seqset_has(&all, 1), 1);
    ASSERT_EQ(pr_seqset_has(&all, 2), 1);
    ASSERT_EQ(pr_seqset_has(&all, 3), 1);
    ASSERT_EQ(pr_seqset_has(&all, 4), 1);
    ASSERT_EQ(pr_seqset_has(&all, 5), 0);
    ASSERT_MEM_EQ(skipped, strlen(skipped), "");
    ASSERT_EQ(read_log(path, 1, &ok, &bad), 0);
    ASSERT_EQ(pr_seqset_has(&ok, 1), 1);
    ASSERT_EQ(pr_seqset_has(&ok, 2), 1); /* its second row succeeded */
    ASSERT_EQ(pr_seqset_has(&ok, 3), 0); /* ended by a signal */
    ASSERT_EQ(pr_seqset_has(&ok, 4), 0); /* could not start */
    unlink(path);
    pr_seqset_free(&all);
    pr_seqset_free(&ok);
}

static void
resume_skips_rows_it_cannot_read_and_names_their_lines(void)
{
    /* Seqs that are not whole numbers from 1 to 2^64-1, and rows that
     * are not rows; 999999999999999 and 2^64-1 are seqs like any other. */
    const char *path = temp_file(
        HEADER "-1\t:\t1.0\t0.1\t0\t0\t0\t0\ttrue\n"                   /* 2 */
               "999999999999999\t:\t1.0\t0.1\t0\t0\t0\t0\ttrue\n"      /* 3 */
               "0\t:\t1.0\t0.1\t0\t0\t0\t0\ttrue\n"                    /* 4 */
               "18446744073709551616\t:\t1.0\t0.1\t0\t0\t0\t0\ttrue\n" /* 5 */
               "18446744073709551615\t:\t1.0\t0.1\t0\t0\t0\t0\ttrue\n" /* 6 */
               "+5\t:\t1.0\t0.1\t0\t0\t0\t0\ttrue\n"                   /* 7 */
               " 5\t:\t1.0\t0.1\t0\t0\t0\t0\ttrue\n"                   /* 8 */
               "5x\t:\t1.0\t0.1\t0\t0\t0\t0\ttrue\n"                   /* 9 */
               "\t:\t1.0\t0.1\t0\t0\t0\t0\ttrue\n"                     /* 10 */
               "6\t:\t1.0\t0.1\t0\t0\tx\t0\ttrue\n"                    /* 11 */
               "6\t:\t1.0\t0.1\t0\t0\t0\t99999999999\ttrue\n"          /* 12 */
               "6\t:\t1.0\n"                                           /* 13 */
               "\n"                                                    /* 14 */
               "7\t:\t1.0\t0.1\t0\t0\t0\t0\ttrue\n");                  /* 15 */
    struct pr_seqset set = {0};
    unsigned long bad = 0;

    ASSERT_EQ(read_log(path, 0, &set, &bad), 0);
    ASSERT_MEM_EQ(skipped, strlen(skipped),
                  "L2 L4 L5 L7 L8 L9 L10 L11 L12 L13 L14");
    ASSERT_EQ(pr_seqset_has(&set, 999999999999999ULL), 1);
    ASSERT_EQ(pr_seqset_has(&set, UINT64_MAX), 1);
    ASSERT_EQ(pr_seqset_has(&set, 5), 0);
    ASSERT_EQ(pr_seqset_has(&set, 6), 0);
    ASSERT_EQ(pr_seqset_has(&set, 7), 1);
    ASSERT_EQ(pr_seqset_runs(&set), 3);
    unlink(path);
    pr_seqset_free(&set);
}

static void
resume_skips_a_last_line_cut_short_and_says_it_is_torn(void)
{
    static const char *const tails[] = {
        "3\t:\t1.0\t0.1\t0\t0\t0\t0\tsleep 1; ech", /* no newline */
        "3\t:\t17",                                 /* no newline */
        "3\t:\t1.0\n",                              /* not a row */
    };
    size_t i;

    for (i = 0; i < sizeof(tails) / sizeof(tails[0]); i++) {
        char text[512];
        const char *path;
        struct pr_seqset set = {0};
        unsigned long bad = 0;

        snprintf(text, sizeof(text),
                 HEADER "1\t:\t1.0\t0.1\t0\t0\t0\t0\ttrue\n"
                        "2\t:\t1.0\t0.1\t0\t0\t0\t0\ttrue\n%s",
                 tails[i]);
        path = temp_file(text);
        ASSERT_EQ(read_log(path, 0, &set, &bad), 0);
        ASSERT_MEM_EQ(skipped, strlen(skipped), "T4");
        ASSERT_EQ(pr_seqset_has(&set, 2), 1);
        ASSERT_EQ(pr_seqset_has(&set, 3), 0);
        unlink(path);
        pr_seqset_free(&set);
    }
}

static void
resume_refuses_a_file_that_is_not_a_job_log(void)
{
    const char *path =
        temp_file("{\"seq\":1}\n1\t:\t1.0\t0.1\t0\t0\t0\t0\tx\n");
    struct pr_seqset set = {0};
    unsigned long bad = 0;

    ASSERT_EQ(read_log(path, 0, &set, &bad), UV_EINVAL);
    ASSERT_EQ(bad, 1);
    unlink(path);
    pr_seqset_free(&set);
}

static void
resume_of_a_lone_header_cut_short_is_an_empty_set(void)
{
    const char *path = temp_file("Seq\tHost\tStart");
    struct pr_seqset set = {0};
    unsigned long bad = 0;

    ASSERT_EQ(read_log(path, 0, &set, &bad), 0);
    ASSERT_MEM_EQ(skipped, strlen(skipped), "T1");
    ASSERT_EQ(pr_seqset_runs(&set), 0);
    unlink(path);
    pr_seqset_free(&set);
}

static void
resume_of_a_missing_empty_or_special_joblog_is_an_empty_set(void)
{
    const char *path = temp_file("");
    struct pr_seqset set = {0};
    unsigned long bad = 0;

    ASSERT_EQ(read_log("/nonexistent/joblog", 0, &set, &bad), 0);
    ASSERT_EQ(pr_seqset_has(&set, 1), 0);
    ASSERT_EQ(read_log(path, 0, &set, &bad), 0);
    ASSERT_EQ(pr_seqset_has(&set, 1), 0);
    ASSERT_MEM_EQ(skipped, strlen(skipped), "");
    /* Not a regular file: no rows (and /dev/zero would never end). */
    ASSERT_EQ(read_log("/dev/zero", 0, &set, &bad), 0);
    ASSERT_EQ(pr_seqset_runs(&set), 0);
    unlink(path);
    pr_seqset_free(&set);
}

static void
results_torn_line_names_a_last_line_without_newline_only(void)
{
    const char *path = temp_file("{\"seq\":1}\n{\"seq\":2}\n{\"seq\":3,\"std");
    unsigned long line = 99;

    ASSERT_EQ(pr_results_torn_line(path, &line), 0);
    ASSERT_EQ(line, 3);
    unlink(path);
    path = temp_file("{\"seq\":1}\n");
    ASSERT_EQ(pr_results_torn_line(path, &line), 0);
    ASSERT_EQ(line, 0);
    unlink(path);
    path = temp_file("");
    ASSERT_EQ(pr_results_torn_line(path, &line), 0);
    ASSERT_EQ(line, 0);
    unlink(path);
    ASSERT_EQ(pr_results_torn_line("/nonexistent/r.jsonl", &line), 0);
    ASSERT_EQ(line, 0);
    /* Not a regular file: nothing to say (and /dev/zero would not end). */
    ASSERT_EQ(pr_results_torn_line("/dev/zero", &line), 0);
    ASSERT_EQ(line, 0);
}

static void
writers_appending_start_after_a_fragment_on_a_fresh_line(void)
{
    struct pr_task *t = pr_task_new(5, "echo five", 9);
    struct pr_joblog *jl = NULL;
    struct pr_results *r = NULL;
    const char *path;

    t->status = PR_TASK_OK;
    path = temp_file(HEADER "1\t:\t1.0\t0.1\t0\t0\t0\t0\ttrue\n3\t:\t1.");
    ASSERT_EQ(pr_joblog_open(&jl, path, 1), 0);
    ASSERT_EQ(pr_joblog_write(jl, t), 0);
    ASSERT_EQ(pr_joblog_close(jl), 0);
    /* The fragment stays a line of its own; the header is not repeated. */
    ASSERT_TRUE(strstr(file_text(path), "\n3\t:\t1.\n5\t:\t") != NULL);
    ASSERT_TRUE(strstr(file_text(path) + 1, "Seq\t") == NULL);
    unlink(path);
    /* A file that ends in a newline gets none more. */
    path = temp_file(HEADER "1\t:\t1.0\t0.1\t0\t0\t0\t0\ttrue\n");
    ASSERT_EQ(pr_joblog_open(&jl, path, 1), 0);
    ASSERT_EQ(pr_joblog_write(jl, t), 0);
    ASSERT_EQ(pr_joblog_close(jl), 0);
    ASSERT_TRUE(strstr(file_text(path), "true\n5\t:\t") != NULL);
    unlink(path);
    path = temp_file("{\"seq\":1}\n{\"seq\":3,\"std");
    ASSERT_EQ(pr_results_open(&r, path, 1, 0), 0);
    ASSERT_EQ(pr_results_write(r, t, 1, NULL, NULL, NULL), 0);
    ASSERT_EQ(pr_results_close(r), 0);
    ASSERT_TRUE(strstr(file_text(path), "\n{\"seq\":3,\"std\n{\"seq\":5,") !=
                NULL);
    unlink(path);
    pr_task_free(t);
}

static void
writers_write_nothing_more_after_a_write_error(void)
{
    /* A file size limit stands in for a full disk: the write that crosses
     * it is cut short, the next fails with EFBIG. */
    struct rlimit old, lim;
    struct pr_task *t = pr_task_new(5,
                                    "echo a long enough command line for "
                                    "this row to cross the limit",
                                    61);
    struct pr_joblog *jl = NULL;
    struct pr_results *r = NULL;
    char path[64];
    struct stat st;
    int fd, rc;

    t->status = PR_TASK_OK;
    snprintf(path, sizeof(path), "/tmp/pr_test_records_XXXXXX");
    fd = mkstemp(path);
    ASSERT_TRUE(fd >= 0);
    close(fd);
    signal(SIGXFSZ, SIG_IGN);
    getrlimit(RLIMIT_FSIZE, &old);
    lim = old;
    lim.rlim_cur = 150;
    setrlimit(RLIMIT_FSIZE, &lim);
    rc = pr_joblog_open(&jl, path, 0);
    if (rc == 0) {
        rc = pr_joblog_write(jl, t);
        /* Room again: still nothing, so nothing is glued to the part. */
        setrlimit(RLIMIT_FSIZE, &old);
        ASSERT_EQ(pr_joblog_write(jl, t), rc);
        pr_joblog_close(jl);
    }
    setrlimit(RLIMIT_FSIZE, &old);
    ASSERT_EQ(rc, UV_EFBIG);
    ASSERT_EQ(stat(path, &st), 0);
    ASSERT_EQ(st.st_size, 150);
    lim.rlim_cur = 40;
    setrlimit(RLIMIT_FSIZE, &lim);
    rc = pr_results_open(&r, path, 0, 0);
    if (rc == 0) {
        rc = pr_results_write(r, t, 1, NULL, NULL, NULL);
        setrlimit(RLIMIT_FSIZE, &old);
        ASSERT_EQ(pr_results_write(r, t, 1, NULL, NULL, NULL), rc);
        pr_results_close(r);
    }
    setrlimit(RLIMIT_FSIZE, &old);
    signal(SIGXFSZ, SIG_DFL);
    ASSERT_EQ(rc, UV_EFBIG);
    ASSERT_EQ(stat(path, &st), 0);
    ASSERT_EQ(st.st_size, 40);
    unlink(path);
    pr_task_free(t);
}

static void
progress_line_with_and_without_a_total(void)
{
    struct pr_progress_counts c = {25, 100, 4, 2, 10.0, 0};
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

static void
progress_line_counts_skipped_apart_and_out_of_the_rate(void)
{
    /* --resume skipped 40 at once; 20 ran in 10 s; 40 are left. */
    struct pr_progress_counts c = {20, 100, 2, 0, 10.0, 40};
    char line[256];

    pr_progress_format(&c, line, sizeof(line));
    ASSERT_MEM_EQ(line, strlen(line),
                  "poolrun: 20/100 done, 40 skipped, 2 running, 0 failed, "
                  "2.0/s, ETA 0:20");
    c.total = 0;
    pr_progress_format_line(&c, 1, line, sizeof(line));
    ASSERT_MEM_EQ(line, strlen(line),
                  "poolrun: 20 done, 40 skipped, 2 running, 0 failed, "
                  "2.0/s, ETA ?");
}

static void
progress_bar_fits_the_width_and_drops_the_bar_when_narrow(void)
{
    struct pr_progress_counts c = {50, 100, 4, 2, 10.0, 0};
    char line[512];

    /* 70 columns: "poolrun:  50% " (14), "[", 14, "] ", the counts (38):
     * 69, the cursor stays on the line. */
    pr_progress_format_bar(&c, 70, line, sizeof(line));
    ASSERT_MEM_EQ(line, strlen(line),
                  "poolrun:  50% [=======>      ] 50/100 done, 2 failed, "
                  "5.0/s, ETA 0:10");
    ASSERT_EQ(strlen(line), 69);
    /* The bar stops growing. */
    pr_progress_format_bar(&c, 200, line, sizeof(line));
    ASSERT_EQ(strlen(line), 14 + 1 + 60 + 2 + 38);
    /* No room for a bar: the counts, whole fields only. */
    pr_progress_format_bar(&c, 40, line, sizeof(line));
    ASSERT_MEM_EQ(line, strlen(line), "poolrun:  50% 50/100 done, 2 failed");
    c.done = 90;
    c.skipped = 10;
    c.failed = 0;
    c.running = 0;
    pr_progress_format_bar(&c, 70, line, sizeof(line));
    ASSERT_MEM_EQ(line, strlen(line),
                  "poolrun: 100% [============] 90/100 done, 10 skipped, "
                  "9.0/s, ETA 0:00");
    /* Before the total is known: the counts. */
    c.total = 0;
    pr_progress_format_bar(&c, 36, line, sizeof(line));
    ASSERT_MEM_EQ(line, strlen(line), "poolrun: 90 done, 10 skipped");
}

/* A sink that notes each call as a letter and the task's seq. */
struct trace {
    char log[64];
    size_t n;
};

static void
note(struct trace *t, char what, const struct pr_task *task)
{
    if (t->n + 2 < sizeof(t->log)) {
        t->log[t->n++] = what;
        t->log[t->n++] = (char)('0' + task->seq % 10);
    }
}

static void
trace_attempt(void *data, const struct pr_task *task)
{
    note(data, 'a', task);
}

static void
trace_final(void *data, const struct pr_task *task)
{
    note(data, 'f', task);
}

static void
trace_callback(void *data, const struct pr_task *cb)
{
    note(data, 'c', cb);
}

static const struct pr_sink_ops trace_all = {trace_attempt, trace_final,
                                             trace_callback};
static const struct pr_sink_ops trace_final_only = {NULL, trace_final, NULL};

static void
records_reach_every_sink_in_the_order_added(void)
{
    struct pr_records rec;
    struct trace one = {{0}, 0};
    struct trace two = {{0}, 0};
    struct trace order = {{0}, 0};
    struct pr_task t;
    size_t i;

    memset(&t, 0, sizeof(t));
    pr_records_init(&rec);
    pr_records_add(&rec, &trace_all, &one);
    pr_records_add(&rec, &trace_final_only, &two);
    /* Many sinks: the list grows past its first allocation. */
    for (i = 0; i < 5; i++)
        pr_records_add(&rec, &trace_final_only, &order);
    t.seq = 1;
    pr_records_attempt(&rec, &t);
    t.seq = 2;
    pr_records_final(&rec, &t);
    t.seq = 3;
    pr_records_callback_done(&rec, &t);
    ASSERT_MEM_EQ(one.log, one.n, "a1f2c3");
    /* A sink without attempt or callback_done is not called for them. */
    ASSERT_MEM_EQ(two.log, two.n, "f2");
    ASSERT_MEM_EQ(order.log, order.n, "f2f2f2f2f2");
    pr_records_free(&rec);
    ASSERT_EQ(rec.n, 0);
}

static void
records_joblog_sink_writes_rows_only_for_tasks_that_ran(void)
{
    char path[] = "/tmp/pr_test_sinkXXXXXX";
    int fd = mkstemp(path);
    struct pr_joblog_sink s = {NULL, 0};
    struct pr_records rec;
    struct pr_task *ran = pr_task_new(1, "echo ran", 8);
    struct pr_task *left = pr_task_new(2, "echo skipped", 12);
    struct pr_task *service = pr_task_new(0, "echo service", 12);
    char buf[4096];
    ssize_t n;

    ASSERT_TRUE(fd >= 0);
    close(fd);
    ASSERT_EQ(pr_joblog_open(&s.jl, path, 0), 0);
    pr_records_init(&rec);
    pr_records_add(&rec, &pr_joblog_sink_ops, &s);
    ran->status = PR_TASK_OK;
    left->status = PR_TASK_SKIPPED;
    service->status = PR_TASK_FAILED;
    service->service = 1;
    pr_records_final(&rec, ran);
    pr_records_final(&rec, left);
    pr_records_final(&rec, service);
    ASSERT_EQ(pr_joblog_close(s.jl), 0);
    ASSERT_EQ(s.error, 0);
    fd = open(path, O_RDONLY);
    n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    unlink(path);
    ASSERT_TRUE(n > 0);
    buf[n] = '\0';
    ASSERT_TRUE(strstr(buf, "echo ran") != NULL);
    ASSERT_TRUE(strstr(buf, "echo skipped") == NULL);
    ASSERT_TRUE(strstr(buf, "echo service") == NULL);
    pr_records_free(&rec);
    pr_task_free(ran);
    pr_task_free(left);
    pr_task_free(service);
}

int
main(void)
{
    static const struct pr_test_case cases[] = {
        TEST_CASE(records_reach_every_sink_in_the_order_added),
        TEST_CASE(records_joblog_sink_writes_rows_only_for_tasks_that_ran),
        TEST_CASE(seqset_puts_clears_and_grows),
        TEST_CASE(seqset_of_huge_seqs_holds_one_run_each),
        TEST_CASE(seqset_agrees_with_a_bit_array_model_under_random_puts),
        TEST_CASE(resume_reads_every_seq_or_only_successes_last_row_winning),
        TEST_CASE(resume_skips_rows_it_cannot_read_and_names_their_lines),
        TEST_CASE(resume_skips_a_last_line_cut_short_and_says_it_is_torn),
        TEST_CASE(resume_refuses_a_file_that_is_not_a_job_log),
        TEST_CASE(resume_of_a_lone_header_cut_short_is_an_empty_set),
        TEST_CASE(resume_of_a_missing_empty_or_special_joblog_is_an_empty_set),
        TEST_CASE(results_torn_line_names_a_last_line_without_newline_only),
        TEST_CASE(writers_appending_start_after_a_fragment_on_a_fresh_line),
        TEST_CASE(writers_write_nothing_more_after_a_write_error),
        TEST_CASE(progress_line_with_and_without_a_total),
        TEST_CASE(progress_line_counts_skipped_apart_and_out_of_the_rate),
        TEST_CASE(progress_bar_fits_the_width_and_drops_the_bar_when_narrow),
    };

    return pr_test_run(cases, sizeof(cases) / sizeof(cases[0]));
}
