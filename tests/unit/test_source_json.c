/* Unit tests of job files: the places messages name (found fast however
 * many values a file has), ids used twice, and a JSON Lines line's place. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "source_json.h"
#include "test.h"
#include "util.h"

int pr_test_failed;

static void
append_str(struct pr_buf *b, const char *s)
{
    pr_buf_append(b, s, strlen(s));
}

/* A job file of n tasks with ids, one task a line. */
static void
many_ids(struct pr_buf *b, unsigned n, const char *last_id)
{
    unsigned i;
    char line[96];

    pr_buf_append(b, "{\"tasks\": [\n", 12);
    for (i = 0; i < n; i++) {
        int k = snprintf(line, sizeof(line),
                         "  {\"id\": \"t%u\", \"cmd\": "
                         "\"true\"},\n",
                         i);

        pr_buf_append(b, line, (size_t)k);
    }
    pr_buf_append(b, "  {\"id\": \"", 10);
    pr_buf_append(b, last_id, strlen(last_id));
    pr_buf_append(b, "\", \"cmd\": \"true\"}\n]}\n", 21);
}

static void
jobfile_twenty_thousand_ids_load_in_linear_time(void)
{
    struct pr_buf b = {0};
    struct pr_jobfile jf;
    struct pr_diag d;
    clock_t t0 = clock();
    double cpu;

    many_ids(&b, 20000, "last");
    pr_jobfile_init(&jf);
    ASSERT_EQ(pr_jobfile_load_mem(&jf, "ids.json", b.data, b.len, NULL, &d), 0);
    ASSERT_EQ(pr_jobfile_check_ids(&jf, &d), 0);
    cpu = (double)(clock() - t0) / CLOCKS_PER_SEC;
    ASSERT_EQ(jf.ntasks, 20001);
    /* Quadratic look-ups took 4 s of CPU here; linear ones take 0.05 s. */
    if (cpu > 2.0)
        fprintf(stderr, "loading took %.2f s of CPU\n", cpu);
    ASSERT_TRUE(cpu <= 2.0);
    /* The last task's id, on line 20002 (column 10), is placed right. */
    ASSERT_MEM_EQ(jf.tasks[20000]->spec->id_at,
                  strlen(jf.tasks[20000]->spec->id_at), "ids.json:20002:10");
    pr_jobfile_free(&jf);
    pr_buf_free(&b);
}

static void
jobfile_object_of_many_keys_finds_a_duplicate_fast(void)
{
    struct pr_buf b = {0};
    struct pr_jobfile jf;
    struct pr_diag d;
    char key[64];
    unsigned i;
    clock_t t0 = clock();
    double cpu;

    append_str(&b, "{\"tasks\":[{\"cmd\":\"true\",\"env\":{");
    for (i = 0; i < 50000; i++) {
        int k = snprintf(key, sizeof(key), "\"V%u\":\"x\",", i);

        pr_buf_append(&b, key, (size_t)k);
    }
    append_str(&b, "\"V7\":\"y\"}}]}");
    pr_jobfile_init(&jf);
    ASSERT_EQ(pr_jobfile_load_mem(&jf, "env.json", b.data, b.len, NULL, &d),
              -1);
    cpu = (double)(clock() - t0) / CLOCKS_PER_SEC;
    ASSERT_TRUE(strstr(d.msg, ": tasks[0].env: duplicate key \"V7\"") != NULL);
    /* A search per key took 5 s of CPU here. */
    ASSERT_TRUE(cpu <= 2.0);
    pr_jobfile_free(&jf);
    pr_buf_free(&b);
}

static void
jobfile_id_used_twice_names_both_places(void)
{
    struct pr_buf b = {0};
    struct pr_jobfile jf;
    struct pr_diag d;
    const char *want =
        "ids.json:1002:10: task id \"t7\" is used twice (first at "
        "ids.json:9:10)";

    many_ids(&b, 1000, "t7");
    pr_jobfile_init(&jf);
    ASSERT_EQ(pr_jobfile_load_mem(&jf, "ids.json", b.data, b.len, NULL, &d), 0);
    ASSERT_EQ(pr_jobfile_check_ids(&jf, &d), -1);
    ASSERT_MEM_EQ(d.msg, strlen(d.msg), want);
    pr_jobfile_free(&jf);
    pr_buf_free(&b);
}

static void
idset_across_lines_refuses_the_second(void)
{
    struct pr_idset *set = pr_idset_new();
    struct pr_task *a = NULL, *b = NULL, *c = NULL;
    struct pr_diag d;
    const char *la = "{\"id\": \"x\", \"cmd\": \"true\"}";
    const char *lb = "{\"cmd\": \"true\", \"id\": \"y\"}";
    const char *lc = "  {\"cmd\": \"true\", \"id\": \"x\"}";

    ASSERT_EQ(pr_jobline_parse("<stdin>", 1, la, strlen(la), &a, &d), 0);
    ASSERT_EQ(pr_idset_add(set, a, &d), 0);
    ASSERT_EQ(pr_jobline_parse("<stdin>", 2, lb, strlen(lb), &b, &d), 0);
    ASSERT_EQ(pr_idset_add(set, b, &d), 0);
    ASSERT_EQ(pr_jobline_parse("<stdin>", 7, lc, strlen(lc), &c, &d), 0);
    ASSERT_EQ(pr_idset_add(set, c, &d), -1);
    ASSERT_MEM_EQ(d.msg, strlen(d.msg),
                  "<stdin>:7:25: task id \"x\" is used twice (first at "
                  "<stdin>:1:8)");
    pr_task_free(a);
    pr_task_free(b);
    pr_task_free(c);
    pr_idset_free(set);
}

static void
idset_many_ids_all_distinct_are_accepted(void)
{
    struct pr_idset *set = pr_idset_new();
    unsigned i;

    for (i = 0; i < 5000; i++) {
        char line[64];
        struct pr_task *t = NULL;
        struct pr_diag d;
        int n =
            snprintf(line, sizeof(line), "{\"id\":\"%u\",\"cmd\":\"x\"}", i);

        ASSERT_EQ(pr_jobline_parse("<stdin>", i + 1, line, (size_t)n, &t, &d),
                  0);
        ASSERT_EQ(pr_idset_add(set, t, &d), 0);
        pr_task_free(t);
    }
    pr_idset_free(set);
}

static void
jobline_error_names_its_line(void)
{
    struct pr_task *t = NULL;
    struct pr_diag d;
    const char *l = "{\"cmd\": \"true\", \"timeout\": -1}";

    ASSERT_EQ(pr_jobline_parse("<stdin>", 42, l, strlen(l), &t, &d), -1);
    ASSERT_MEM_EQ(d.msg, strlen(d.msg),
                  "<stdin>:42:28: timeout: must be a number of seconds from 0 "
                  "to 1000000000");
}

static void
jobfile_env_setting_poolrun_seq_is_refused(void)
{
    struct pr_jobfile jf;
    struct pr_diag d;
    const char *text = "{\"tasks\":[{\"cmd\":\"env\",\"env\":{\"A\":\"1\","
                       "\"POOLRUN_SLOT\":null}}]}";

    pr_jobfile_init(&jf);
    ASSERT_EQ(pr_jobfile_load_mem(&jf, "e.json", text, strlen(text), NULL, &d),
              -1);
    ASSERT_MEM_EQ(d.msg, strlen(d.msg),
                  "e.json:1:54: tasks[0].env.POOLRUN_SLOT: is set by poolrun "
                  "for each task");
    pr_jobfile_free(&jf);
}

/* A chain of n tasks, each after the next; the last after the first
 * when cyclic. */
static void
chain(struct pr_buf *b, unsigned n, int cyclic)
{
    unsigned i;
    char line[128];

    append_str(b, "{\"tasks\": [\n");
    for (i = 0; i < n; i++) {
        int k = snprintf(line, sizeof(line),
                         "  {\"id\": \"t%u\", \"after\": [\"t%u\"], "
                         "\"cmd\": \"true\"}%s\n",
                         i, i + 1 < n ? i + 1 : 0, i + 1 < n ? "," : "");

        if (i + 1 == n && !cyclic)
            k = snprintf(line, sizeof(line),
                         "  {\"id\": \"t%u\", \"cmd\": \"true\"}\n", i);
        pr_buf_append(b, line, (size_t)k);
    }
    append_str(b, "]}\n");
}

static void
jobfile_long_chain_checks_fast_and_its_cycle_is_named_where_it_closes(void)
{
    struct pr_buf b = {0};
    struct pr_jobfile jf;
    struct pr_diag d;
    clock_t t0 = clock();

    chain(&b, 20000, 0);
    pr_jobfile_init(&jf);
    ASSERT_EQ(pr_jobfile_load_mem(&jf, "c.json", b.data, b.len, NULL, &d), 0);
    ASSERT_EQ(pr_jobfile_check_deps(&jf, &d), 0);
    ASSERT_EQ(pr_jobfile_has_after(&jf), 1);
    ASSERT_TRUE((double)(clock() - t0) / CLOCKS_PER_SEC <= 2.0);
    pr_jobfile_free(&jf);
    b.len = 0;
    chain(&b, 3, 1);
    pr_jobfile_init(&jf);
    ASSERT_EQ(pr_jobfile_load_mem(&jf, "c.json", b.data, b.len, NULL, &d), 0);
    ASSERT_EQ(pr_jobfile_check_deps(&jf, &d), -1);
    ASSERT_MEM_EQ(d.msg, strlen(d.msg),
                  "c.json:4:26: tasks[2].after[0]: a cycle (each runs after "
                  "the next): t0 -> t1 -> t2 -> t0");
    pr_jobfile_free(&jf);
    pr_buf_free(&b);
}

static void
idset_stream_refuses_an_after_not_seen_yet(void)
{
    static const char a[] = "{\"id\": \"a\", \"cmd\": \"true\"}";
    static const char b[] = "{\"after\": [\"a\", \"b\"], \"cmd\": \"true\"}";
    struct pr_idset *set = pr_idset_new();
    struct pr_task *ta = NULL, *tb = NULL;
    struct pr_diag d;

    ASSERT_EQ(pr_jobline_parse("in", 1, a, strlen(a), &ta, &d), 0);
    ASSERT_EQ(pr_jobline_parse("in", 2, b, strlen(b), &tb, &d), 0);
    ASSERT_EQ(tb->after_unheld, 1);
    ASSERT_EQ(pr_idset_add(set, ta, &d), 0);
    ASSERT_EQ(pr_idset_add(set, tb, &d), -1);
    ASSERT_TRUE(strncmp(d.msg,
                        "in:2:17: after[1]: no task \"b\" on an "
                        "earlier line",
                        strlen("in:2:17: after[1]: no task \"b\" on an "
                               "earlier line")) == 0);
    pr_task_free(ta);
    pr_task_free(tb);
    pr_idset_free(set);
}

int
main(void)
{
    static const struct pr_test_case cases[] = {
        TEST_CASE(jobfile_twenty_thousand_ids_load_in_linear_time),
        TEST_CASE(jobfile_id_used_twice_names_both_places),
        TEST_CASE(jobfile_object_of_many_keys_finds_a_duplicate_fast),
        TEST_CASE(idset_across_lines_refuses_the_second),
        TEST_CASE(idset_many_ids_all_distinct_are_accepted),
        TEST_CASE(
            jobfile_long_chain_checks_fast_and_its_cycle_is_named_where_it_closes),
        TEST_CASE(idset_stream_refuses_an_after_not_seen_yet),
        TEST_CASE(jobline_error_names_its_line),
        TEST_CASE(jobfile_env_setting_poolrun_seq_is_refused),
    };

    return pr_test_run(cases, PR_ARRAY_SIZE(cases));
}
