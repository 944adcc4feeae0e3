/* Unit tests of deps: tasks held back until those they run after have
 * ended, and skipped when one they needed did not succeed. */
#include "deps.h"
#include "test.h"

int pr_test_failed;

/* A task with an id (or NULL) that runs after ids[0..n) ("after", or
 * "after_any" where any[i]). */
static struct pr_task *
mk(const char *id, const char *const *ids, const int *any, unsigned n)
{
    struct pr_task *t = pr_task_new(0, "x", 1);
    unsigned i;

    t->spec = pr_xcalloc(1, sizeof(*t->spec));
    t->spec->id = id != NULL ? pr_xstrdup(id) : NULL;
    t->spec->after = pr_xcalloc(n + 1, sizeof(*t->spec->after));
    for (i = 0; i < n; i++) {
        t->spec->after[i].id = pr_xstrdup(ids[i]);
        t->spec->after[i].any = any != NULL && any[i];
    }
    t->spec->nafter = n;
    t->after_unheld = n > 0;
    return t;
}

static struct pr_task *released[8];
static unsigned nreleased;

static void
on_release(void *data, struct pr_task *task)
{
    (void)data;
    released[nreleased++] = task;
}

static void
end(struct pr_deps *d, struct pr_task *t, enum pr_task_status status)
{
    t->status = status;
    pr_deps_ended(d, t, on_release, NULL);
}

static void
deps_task_without_after_goes_at_once(void)
{
    struct pr_deps *d = pr_deps_new();
    struct pr_task *a = mk("a", NULL, NULL, 0);

    ASSERT_EQ(pr_deps_put(d, a), 1);
    ASSERT_EQ(pr_deps_held(d), 0);
    pr_task_free(a);
    pr_deps_free(d);
}

static void
deps_held_until_every_dependency_succeeded_then_released_in_put_order(void)
{
    static const char *const ab[] = {"a", "b"};
    struct pr_deps *d = pr_deps_new();
    struct pr_task *a = mk("a", NULL, NULL, 0);
    struct pr_task *b = mk("b", NULL, NULL, 0);
    struct pr_task *c = mk("c", ab, NULL, 2);
    struct pr_task *e = mk("e", ab, NULL, 1);

    nreleased = 0;
    ASSERT_EQ(pr_deps_put(d, c), 0);
    ASSERT_EQ(pr_deps_put(d, e), 0);
    ASSERT_EQ(c->after_unheld, 0);
    ASSERT_EQ(pr_deps_held(d), 2);
    end(d, a, PR_TASK_OK);
    ASSERT_EQ(nreleased, 1);
    ASSERT_TRUE(released[0] == e);
    end(d, b, PR_TASK_OK);
    ASSERT_EQ(nreleased, 2);
    ASSERT_TRUE(released[1] == c);
    ASSERT_EQ(c->skip_after, 0);
    ASSERT_EQ(pr_deps_held(d), 0);
    pr_task_free(a);
    pr_task_free(b);
    pr_task_free(c);
    pr_task_free(e);
    pr_deps_free(d);
}

static void
deps_failed_dependency_marks_after_skipped_but_not_after_any(void)
{
    static const char *const a1[] = {"a"};
    static const int any[] = {1};
    struct pr_deps *d = pr_deps_new();
    struct pr_task *a = mk("a", NULL, NULL, 0);
    struct pr_task *needs = mk("n", a1, NULL, 1);
    struct pr_task *anyway = mk("y", a1, any, 1);
    struct pr_task *late = mk("l", a1, NULL, 1);

    nreleased = 0;
    ASSERT_EQ(pr_deps_put(d, needs), 0);
    ASSERT_EQ(pr_deps_put(d, anyway), 0);
    end(d, a, PR_TASK_FAILED);
    ASSERT_EQ(nreleased, 2);
    ASSERT_EQ(needs->skip_after, 1);
    ASSERT_TRUE(strstr(needs->skip_why, "\"a\" (failed)") != NULL);
    ASSERT_EQ(anyway->skip_after, 0);
    /* Put after the failure: goes at once, marked. */
    ASSERT_EQ(pr_deps_put(d, late), 1);
    ASSERT_EQ(late->skip_after, 1);
    pr_task_free(a);
    pr_task_free(needs);
    pr_task_free(anyway);
    pr_task_free(late);
    pr_deps_free(d);
}

static void
deps_take_empties_the_held_and_a_later_end_releases_nothing(void)
{
    static const char *const a1[] = {"a"};
    struct pr_deps *d = pr_deps_new();
    struct pr_task *a = mk("a", NULL, NULL, 0);
    struct pr_task *b = mk("b", a1, NULL, 1);

    nreleased = 0;
    ASSERT_EQ(pr_deps_put(d, b), 0);
    ASSERT_TRUE(pr_deps_take(d) == b);
    ASSERT_TRUE(pr_deps_take(d) == NULL);
    ASSERT_EQ(pr_deps_held(d), 0);
    end(d, a, PR_TASK_OK);
    ASSERT_EQ(nreleased, 0);
    pr_task_free(a);
    pr_task_free(b);
    pr_deps_free(d);
}

static void
deps_skipped_by_resume_counts_as_succeeded(void)
{
    static const char *const a1[] = {"a"};
    struct pr_deps *d = pr_deps_new();
    struct pr_task *a = mk("a", NULL, NULL, 0);
    struct pr_task *b = mk("b", a1, NULL, 1);

    nreleased = 0;
    ASSERT_EQ(pr_deps_put(d, b), 0);
    a->skip_why = "resume";
    end(d, a, PR_TASK_SKIPPED);
    ASSERT_EQ(nreleased, 1);
    ASSERT_EQ(b->skip_after, 0);
    pr_task_free(a);
    pr_task_free(b);
    pr_deps_free(d);
}

int
main(void)
{
    static const struct pr_test_case cases[] = {
        TEST_CASE(deps_task_without_after_goes_at_once),
        TEST_CASE(
            deps_held_until_every_dependency_succeeded_then_released_in_put_order),
        TEST_CASE(deps_failed_dependency_marks_after_skipped_but_not_after_any),
        TEST_CASE(deps_take_empties_the_held_and_a_later_end_releases_nothing),
        TEST_CASE(deps_skipped_by_resume_counts_as_succeeded),
    };

    return pr_test_run(cases, sizeof(cases) / sizeof(cases[0]));
}
