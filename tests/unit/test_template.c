/* Unit tests of template expansion and shell quoting. */
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "template.h"
#include "test.h"

int pr_test_failed;

static struct pr_template *
tmpl(int force_shell, const char *replace, int n, ...)
{
    static char *words[8];
    struct pr_template_options o;
    struct pr_template_diag d;
    struct pr_template *t;
    va_list ap;
    int i;

    va_start(ap, n);
    for (i = 0; i < n; i++)
        words[i] = va_arg(ap, char *);
    va_end(ap);
    memset(&o, 0, sizeof(o));
    o.words = words;
    o.nwords = n;
    o.replace = replace;
    o.force_shell = force_shell;
    if (pr_template_new(&t, &o, &d) != 0) {
        fprintf(stderr, "refused: %s\n", d.msg);
        return NULL;
    }
    return t;
}

static struct pr_task *
task_of(unsigned n, const char *const *items)
{
    struct pr_item its[8];
    struct pr_task *t;
    unsigned i;

    for (i = 0; i < n; i++) {
        its[i].p = (char *)(uintptr_t)items[i];
        its[i].len = strlen(items[i]);
    }
    t = pr_task_new_items(its, n);
    t->seq = 7;
    t->slot = 3;
    return t;
}

static void
template_several_words_run_directly_with_values_as_is(void)
{
    struct pr_template *t = tmpl(0, NULL, 3, "cp", "{}", "{.}.bak");
    static const char *const items[] = {"dir/it's a.txt"};
    struct pr_task *task = task_of(1, items);

    ASSERT_EQ(pr_template_is_shell(t), 0);
    ASSERT_EQ(pr_template_expand(t, task), 0);
    ASSERT_TRUE(task->argv != NULL);
    ASSERT_MEM_EQ(task->argv[0], strlen(task->argv[0]), "cp");
    ASSERT_MEM_EQ(task->argv[1], strlen(task->argv[1]), "dir/it's a.txt");
    ASSERT_MEM_EQ(task->argv[2], strlen(task->argv[2]), "dir/it's a.bak");
    ASSERT_TRUE(task->argv[3] == NULL);
    ASSERT_MEM_EQ(task->line, task->line_len,
                  "cp 'dir/it'\\''s a.txt' 'dir/it'\\''s a.bak'");
    pr_task_free(task);
    pr_template_free(t);
}

static void
template_one_word_with_shell_syntax_quotes_every_value(void)
{
    struct pr_template *t = tmpl(0, NULL, 1, "gzip < {} > {}.gz");
    static const char *const items[] = {"$(x) 'y'"};
    struct pr_task *task = task_of(1, items);

    ASSERT_EQ(pr_template_is_shell(t), 1);
    ASSERT_EQ(pr_template_expand(t, task), 0);
    ASSERT_TRUE(task->argv == NULL);
    ASSERT_MEM_EQ(task->line, task->line_len,
                  "gzip < '$(x) '\\''y'\\''' > '$(x) '\\''y'\\'''.gz");
    pr_task_free(task);
    pr_template_free(t);
}

static void
template_one_plain_word_runs_directly_with_the_item_appended(void)
{
    struct pr_template *t = tmpl(0, NULL, 1, "gzip");
    static const char *const items[] = {"-rf *"};
    struct pr_task *task = task_of(1, items);

    ASSERT_EQ(pr_template_is_shell(t), 0);
    ASSERT_EQ(pr_template_expand(t, task), 0);
    ASSERT_MEM_EQ(task->argv[1], strlen(task->argv[1]), "-rf *");
    ASSERT_TRUE(task->argv[2] == NULL);
    pr_task_free(task);
    pr_template_free(t);
}

static void
template_parts_of_the_item_follow_parallel(void)
{
    struct pr_template *t =
        tmpl(0, NULL, 7, "{}", "{.}", "{/}", "{//}", "{/.}", "{#}", "{%}");
    static const char *const items[] = {"a.b/c.tar.gz"};
    struct pr_task *task = task_of(1, items);

    ASSERT_EQ(pr_template_expand(t, task), 0);
    ASSERT_MEM_EQ(task->line, task->line_len,
                  "a.b/c.tar.gz a.b/c.tar c.tar.gz a.b c.tar 7 3");
    pr_task_free(task);
    pr_template_free(t);
}

static void
template_dirname_of_a_bare_name_is_dot_and_of_root_is_slash(void)
{
    struct pr_template *t = tmpl(0, NULL, 2, "{//}", "{.}");
    static const char *const bare[] = {"file"};
    static const char *const root[] = {"/file.x"};
    struct pr_task *task = task_of(1, bare);

    ASSERT_EQ(pr_template_expand(t, task), 0);
    ASSERT_MEM_EQ(task->line, task->line_len, ". file");
    pr_task_free(task);
    task = task_of(1, root);
    ASSERT_EQ(pr_template_expand(t, task), 0);
    ASSERT_MEM_EQ(task->line, task->line_len, "/ /file");
    pr_task_free(task);
    pr_template_free(t);
}

static void
template_several_items_give_one_argument_each_for_a_bare_replacement(void)
{
    struct pr_template *t = tmpl(0, NULL, 3, "echo", "{}", "x{}");
    static const char *const items[] = {"a b", "c"};
    struct pr_task *task = task_of(2, items);

    ASSERT_EQ(pr_template_expand(t, task), 0);
    ASSERT_MEM_EQ(task->argv[1], strlen(task->argv[1]), "a b");
    ASSERT_MEM_EQ(task->argv[2], strlen(task->argv[2]), "c");
    ASSERT_MEM_EQ(task->argv[3], strlen(task->argv[3]), "xa b c");
    ASSERT_TRUE(task->argv[4] == NULL);
    pr_task_free(task);
    pr_template_free(t);
}

static void
template_replace_string_takes_the_place_of_braces(void)
{
    struct pr_template *t = tmpl(0, "%%", 3, "mv", "%%", "{}");
    static const char *const items[] = {"f"};
    struct pr_task *task = task_of(1, items);

    ASSERT_EQ(pr_template_expand(t, task), 0);
    ASSERT_MEM_EQ(task->line, task->line_len, "mv f '{}'");
    pr_task_free(task);
    pr_template_free(t);
}

static void
template_nul_in_an_argument_is_refused(void)
{
    struct pr_template *t = tmpl(0, NULL, 1, "echo");
    struct pr_item it = {(char *)(uintptr_t)"a\0b", 3};
    struct pr_task *task = pr_task_new_items(&it, 1);

    ASSERT_EQ(pr_template_expand(t, task), UV_EINVAL);
    ASSERT_TRUE(task->error_what != NULL);
    pr_task_free(task);
    pr_template_free(t);
}

static void
shell_quote_wraps_and_escapes_single_quotes(void)
{
    struct pr_buf b = {0};

    pr_shell_quote(&b, "it's", 4);
    ASSERT_MEM_EQ(b.data, b.len, "'it'\\''s'");
    b.len = 0;
    pr_shell_quote(&b, "", 0);
    ASSERT_MEM_EQ(b.data, b.len, "''");
    b.len = 0;
    pr_shell_quote_if_needed(&b, "plain-1.txt", 11);
    ASSERT_MEM_EQ(b.data, b.len, "plain-1.txt");
    b.len = 0;
    pr_shell_quote_if_needed(&b, "a b", 3);
    ASSERT_MEM_EQ(b.data, b.len, "'a b'");
    pr_buf_free(&b);
}

static int
splits(const char *line, const char *want)
{
    char **argv = NULL;
    struct pr_buf b = {0};
    size_t i;
    int ok;

    if (!pr_shell_split_simple(line, strlen(line), &argv))
        return want == NULL;
    for (i = 0; argv[i] != NULL; i++) {
        if (i > 0)
            pr_buf_append(&b, "|", 1);
        pr_buf_append(&b, argv[i], strlen(argv[i]));
        free(argv[i]);
    }
    free(argv);
    pr_buf_append(&b, "", 1);
    ok = want != NULL && strcmp(b.data, want) == 0;
    pr_buf_free(&b);
    return ok;
}

static void
simple_lines_start_without_the_shell(void)
{
    ASSERT_TRUE(splits("true", "true"));
    ASSERT_TRUE(splits("gzip -9 a.txt", "gzip|-9|a.txt"));
    ASSERT_TRUE(splits("  ls\t-l  /tmp ", "ls|-l|/tmp"));
    ASSERT_TRUE(splits("./build.sh --fast x,y@z:1+2", "./build.sh|--fast|x,y@z:1+2"));
}

static void
lines_with_shell_syntax_keep_the_shell(void)
{
    static const char *const need_shell[] = {
        "exit 3", "cd /tmp", "export A", "if true", "echo hi", "printf x",
        "pwd", "kill 1", "read x", ". ./env", ": nothing", "A=1 cmd",
        "cmd 'quoted'", "cmd \"dq\"", "cmd $HOME", "cmd `x`", "ls *.c",
        "ls a?", "ls [ab]", "cat ~/x", "cmd > out", "cmd < in", "a | b",
        "a; b", "a && b", "a & ", "cmd # comment", "(sub)", "{ x; }",
        "cmd a\\b", "a\nb", "x=1", "cmd %1", "! cmd", "   ", "",
    };
    size_t i;

    for (i = 0; i < sizeof(need_shell) / sizeof(need_shell[0]); i++) {
        if (!splits(need_shell[i], NULL)) {
            fprintf(stderr, "split without the shell: \"%s\"\n",
                    need_shell[i]);
            ASSERT_TRUE(0);
        }
    }
}

int
main(void)
{
    static const struct pr_test_case cases[] = {
        TEST_CASE(template_several_words_run_directly_with_values_as_is),
        TEST_CASE(template_one_word_with_shell_syntax_quotes_every_value),
        TEST_CASE(template_one_plain_word_runs_directly_with_the_item_appended),
        TEST_CASE(template_parts_of_the_item_follow_parallel),
        TEST_CASE(template_dirname_of_a_bare_name_is_dot_and_of_root_is_slash),
        TEST_CASE(
            template_several_items_give_one_argument_each_for_a_bare_replacement),
        TEST_CASE(template_replace_string_takes_the_place_of_braces),
        TEST_CASE(template_nul_in_an_argument_is_refused),
        TEST_CASE(shell_quote_wraps_and_escapes_single_quotes),
        TEST_CASE(simple_lines_start_without_the_shell),
        TEST_CASE(lines_with_shell_syntax_keep_the_shell),
    };

    return pr_test_run(cases, sizeof(cases) / sizeof(cases[0]));
}
