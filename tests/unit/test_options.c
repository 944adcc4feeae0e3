/* Unit tests of cmd/options.c: the table's defaults, its kinds of value,
 * the messages that name an option, and a --help that names only options
 * the parser knows and fits 80 columns. */
#include <stdio.h>
#include <uv.h>

#include "options.h"
#include "test.h"

int pr_test_failed;

/* Parses the words after "poolrun" (copied, since argv is not const, and
 * kept until the next call, since cfg points into them).  Returns
 * pr_options_parse's result. */
static int
parse(struct pr_config *cfg, char *err, size_t errlen, int n,
      const char *const *words)
{
    static char store[32][64];
    char *argv[33];
    int i;

    if (n >= 32)
        abort(); /* a test with more words than store holds */
    snprintf(store[0], sizeof(store[0]), "poolrun");
    argv[0] = store[0];
    for (i = 0; i < n; i++) {
        snprintf(store[i + 1], sizeof(store[i + 1]), "%s", words[i]);
        argv[i + 1] = store[i + 1];
    }
    argv[n + 1] = NULL;
    return pr_options_parse(n + 1, argv, cfg, err, errlen);
}

#define PARSE(cfg, err, ...)                                                   \
    parse(cfg, err, sizeof(err),                                               \
          (int)(sizeof((const char *[]){__VA_ARGS__}) / sizeof(char *)),       \
          (const char *[]){__VA_ARGS__})

static void
options_none_given_sets_every_default(void)
{
    struct pr_config c;
    char err[256] = "";
    int rc = parse(&c, err, sizeof(err), 0, NULL);

    pr_options_free(&c);
    ASSERT_EQ(rc, 0);
    ASSERT_EQ(c.pool.jobs, uv_available_parallelism());
    ASSERT_EQ(c.jobs_set, 0);
    ASSERT_EQ(c.pool.queue_size, 1024);
    ASSERT_TRUE(c.pool.kill_after == 2.0);
    ASSERT_EQ(c.pool.output.buffer_size, 1024 * 1024);
    ASSERT_EQ(c.pool.results_limit, 64 * 1024);
    ASSERT_EQ(c.workers.inflight, 256);
    ASSERT_EQ(c.workers.inflight_fixed, 0);
    ASSERT_TRUE(c.workers.grace == 5.0);
    ASSERT_EQ(c.pool.order, PR_ORDER_FIFO);
    ASSERT_EQ(c.workers.protocol, PR_PROTO_LINE);
    ASSERT_EQ(c.exit_policy, PR_EXIT_COUNT);
    ASSERT_EQ(c.delim, '\n');
    ASSERT_TRUE(c.pool.retry.factor == 1.0);
    ASSERT_TRUE(c.pool.retry.delay == 0.0);
    ASSERT_EQ(c.pool.halt.when, PR_HALT_NEVER);
    ASSERT_EQ(c.pool.output.mode, PR_OUT_GROUP);
    ASSERT_EQ(c.pool.output.out_fd, 1);
    ASSERT_EQ(c.pool.output.err_fd, 2);
    ASSERT_TRUE(strcmp(c.pool.shell, "/bin/sh") == 0);
    ASSERT_TRUE(c.pool.workers == NULL);
    ASSERT_EQ(c.ncommand, 0);
}

static void
options_jobs_given_marks_jobs_set(void)
{
    struct pr_config c;
    char err[256] = "";
    int rc = PARSE(&c, err, "--jobs", "3");

    pr_options_free(&c);
    ASSERT_EQ(rc, 0);
    ASSERT_EQ(c.pool.jobs, 3);
    ASSERT_EQ(c.jobs_set, 1);
}

static void
options_inflight_given_fixes_the_window(void)
{
    struct pr_config c;
    char err[256] = "";
    int rc = PARSE(&c, err, "--inflight", "4");

    pr_options_free(&c);
    ASSERT_EQ(rc, 0);
    ASSERT_EQ(c.workers.inflight, 4);
    ASSERT_EQ(c.workers.inflight_fixed, 1);
}

static void
options_bundle_with_attached_value_sets_each(void)
{
    struct pr_config c;
    char err[256] = "";
    int rc = PARSE(&c, err, "-kuj4", "--queue-size=7", "--timeout", "1.5");

    pr_options_free(&c);
    ASSERT_EQ(rc, 0);
    ASSERT_EQ(c.pool.output.keep_order, 1);
    ASSERT_EQ(c.pool.output.mode, PR_OUT_UNGROUP);
    ASSERT_EQ(c.pool.jobs, 4);
    ASSERT_EQ(c.pool.queue_size, 7);
    ASSERT_TRUE(c.pool.timeout == 1.5);
}

static void
options_alias_sets_what_its_name_sets(void)
{
    struct pr_config c;
    char err[256] = "";
    int rc = PARSE(&c, err, "--lb", "--bar");

    pr_options_free(&c);
    ASSERT_EQ(rc, 0);
    ASSERT_EQ(c.pool.output.mode, PR_OUT_LINE);
    ASSERT_EQ(c.pool.progress, PR_PROGRESS_BAR); /* no alias: a bar */
}

static void
options_every_kind_of_value_sets_its_field(void)
{
    struct pr_config c;
    char err[256] = "";
    int rc = PARSE(&c, err, "--exit-status", "max", "--memfree", "2K",
                   "--results-limit", "0", "-0", "--max-tasks-per-worker",
                   "9", "--workers", "cat", "--worker-init", "hi", "-E", "",
                   "--resume-failed", "--joblog", "j");

    pr_options_free(&c);
    ASSERT_EQ(rc, 0);
    ASSERT_EQ(c.exit_policy, PR_EXIT_MAX);
    ASSERT_EQ(c.pool.memfree, 2048);
    ASSERT_EQ(c.pool.results_limit, 0);
    ASSERT_EQ(c.delim, '\0');
    ASSERT_EQ(c.workers.max_tasks, 9);
    ASSERT_TRUE(c.pool.workers == &c.workers);
    ASSERT_TRUE(strcmp(c.workers.cmd, "cat") == 0);
    ASSERT_TRUE(strcmp(c.workers.init, "hi") == 0);
    ASSERT_TRUE(strcmp(c.sentinel, "") == 0);
    ASSERT_EQ(c.resume_failed, 1);
    ASSERT_EQ(c.pool.resume, 1);
}

static void
options_files_are_kept_in_order(void)
{
    struct pr_config c;
    char err[256] = "";
    /* Several inputs fill a COMMAND: without one they are refused. */
    int rc = PARSE(&c, err, "-a", "x", "--arg-file=y", "-az", "cmd");
    int n = c.narg_files;
    int in_order = n == 3 && strcmp(c.arg_files[0], "x") == 0 &&
                   strcmp(c.arg_files[1], "y") == 0 &&
                   strcmp(c.arg_files[2], "z") == 0;

    pr_options_free(&c);
    ASSERT_EQ(rc, 0);
    ASSERT_EQ(n, 3);
    ASSERT_TRUE(in_order);
}

static void
options_command_and_items_split_at_triple_colon(void)
{
    struct pr_config c;
    char err[256] = "";
    int rc = PARSE(&c, err, "-j", "2", "echo", "-j", ":::", "a", "b");

    pr_options_free(&c);
    ASSERT_EQ(rc, 0);
    ASSERT_EQ(c.ncommand, 2);
    ASSERT_TRUE(strcmp(c.command[1], "-j") == 0);
    ASSERT_EQ(c.have_args, 1);
    ASSERT_EQ(c.nargs, 2);
    ASSERT_TRUE(strcmp(c.args[0], "a") == 0);
}

/* Each bad word's message, as the user sees it after "poolrun: ". */
static void
options_bad_words_are_refused_by_name(void)
{
    static const struct {
        const char *words[3];
        const char *msg;
    } cases[] = {
        {{"--keep-order=yes"}, "--keep-order: takes no value"},
        {{"--joblog"}, "--joblog: needs a value"},
        {{"-j"}, "-j: needs a value"},
        {{"--bogus"}, "--bogus: unknown option"},
        {{"-kZ"}, "-Z: unknown option"},
        {{"--timeout", "-1"},
         "--timeout: '-1' is not a number of seconds (0 to 1000000000)"},
        {{"--timeout", "0%"},
         "--timeout: '0%' is not a percentage above 0 (of the median "
         "runtime)"},
        {{"--grace", "-1"},
         "--grace: '-1' is not a number of seconds (0 to 1000000000)"},
        {{"--order", "up"},
         "--order: 'up' is not an order (fifo, lifo or priority)"},
        {{"--inflight", "0"},
         "--inflight: '0' is not a number of tasks (1 to 4096)"},
        {{"--buffer-size", "0"},
         "--buffer-size: '0' is not a size (1 to 1T; K, M, G, T and "
         "fractions allowed: 1.5G)"},
        {{"--on-join", ""}, "--on-join: needs a command"},
        {{"-a", ""}, "-a: needs a file name"},
        {{"--worker-sentinel", "a\nb"}, "--worker-sentinel: must be one line"},
        {{"--line-buffer", "-u"},
         "--line-buffer and --ungroup cannot be combined"},
        {{"--daemon"},
         "--worker-init, --worker-sentinel, --max-tasks-per-worker and "
         "--daemon need --workers CMD"},
    };
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct pr_config c;
        char err[256] = "";
        int n = cases[i].words[1] != NULL ? 2 : 1;
        int rc = parse(&c, err, sizeof(err), n, cases[i].words);

        pr_options_free(&c);
        if (strcmp(err, cases[i].msg) != 0)
            fprintf(stderr, "got: %s\nwant: %s\n", err, cases[i].msg);
        ASSERT_EQ(rc, -1);
        ASSERT_TRUE(strcmp(err, cases[i].msg) == 0);
    }
}

/* --help in a string (free it). */
static char *
usage_text(void)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);

    if (f == NULL)
        return NULL;
    pr_options_usage(f);
    fclose(f);
    return text;
}

static void
options_usage_lines_fit_80_columns(void)
{
    char *text = usage_text();
    const char *p = text;
    size_t longest = 0;

    ASSERT_TRUE(text != NULL);
    while (*p != '\0') {
        size_t len = strcspn(p, "\n");

        if (len > longest)
            longest = len;
        p += len + (p[len] != '\0');
    }
    free(text);
    ASSERT_TRUE(longest > 0);
    ASSERT_TRUE(longest < 80);
}

/* Returns 1 if the parser knows the option word ("--name" or "-X"). */
static int
known(const char *word)
{
    struct pr_config c;
    char err[256] = "";
    const char *words[] = {word, "1"};

    parse(&c, err, sizeof(err), 2, words);
    pr_options_free(&c);
    if (strstr(err, "unknown option") == NULL)
        return 1;
    fprintf(stderr, "%s\n", err);
    return 0;
}

/* Every --name in --help, and every -X that starts a line, is an option
 * the parser knows. */
static void
options_usage_names_only_known_options(void)
{
    char *text = usage_text();
    const char *p = text;
    int seen = 0;
    int unknown = 0;

    ASSERT_TRUE(text != NULL);
    while ((p = strchr(p, '-')) != NULL) {
        char word[64];
        size_t len = 2 + strspn(p + 2, "abcdefghijklmnopqrstuvwxyz-");

        if (p[1] == '-' && len > 2 && len < sizeof(word)) {
            memcpy(word, p, len);
            word[len] = '\0';
            seen++;
            unknown += !known(word);
        } else if (p > text + 2 && strncmp(p - 3, "\n  ", 3) == 0 &&
                   p[1] != '\0' && p[2] == ',') {
            memcpy(word, p, 2);
            word[2] = '\0';
            seen++;
            unknown += !known(word);
        }
        p += p[1] != '\0' ? 2 : 1;
    }
    free(text);
    ASSERT_TRUE(seen > 50);
    ASSERT_EQ(unknown, 0);
}

int
main(void)
{
    static const struct pr_test_case cases[] = {
        TEST_CASE(options_none_given_sets_every_default),
        TEST_CASE(options_jobs_given_marks_jobs_set),
        TEST_CASE(options_inflight_given_fixes_the_window),
        TEST_CASE(options_bundle_with_attached_value_sets_each),
        TEST_CASE(options_alias_sets_what_its_name_sets),
        TEST_CASE(options_every_kind_of_value_sets_its_field),
        TEST_CASE(options_files_are_kept_in_order),
        TEST_CASE(options_command_and_items_split_at_triple_colon),
        TEST_CASE(options_bad_words_are_refused_by_name),
        TEST_CASE(options_usage_lines_fit_80_columns),
        TEST_CASE(options_usage_names_only_known_options),
    };

    return pr_test_run(cases, sizeof(cases) / sizeof(cases[0]));
}
