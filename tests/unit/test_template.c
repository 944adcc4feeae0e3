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

/* A template of the given words with o's other options. */
static struct pr_template *
tmpl_with(struct pr_template_options *o, int n, const char *const *words)
{
    static char *w[8];
    struct pr_template_diag d;
    struct pr_template *t;
    int i;

    for (i = 0; i < n; i++)
        w[i] = (char *)(uintptr_t)words[i];
    o->words = w;
    o->nwords = n;
    if (pr_template_new(&t, o, &d) != 0) {
        fprintf(stderr, "refused: %s\n", d.msg);
        return NULL;
    }
    return t;
}

static void
template_positional_strings_take_one_item_each(void)
{
    struct pr_template *t = tmpl(0, NULL, 7, "echo", "{2}", "{-1}", "{1.}",
                                 "x{2/}", "{3}", "{-3//}");
    static const char *const items[] = {"d/a.txt", "b/c.d"};
    struct pr_task *task = task_of(2, items);

    ASSERT_EQ(pr_template_expand(t, task), 0);
    ASSERT_MEM_EQ(task->argv[1], strlen(task->argv[1]), "b/c.d");
    ASSERT_MEM_EQ(task->argv[2], strlen(task->argv[2]), "b/c.d");
    ASSERT_MEM_EQ(task->argv[3], strlen(task->argv[3]), "d/a");
    ASSERT_MEM_EQ(task->argv[4], strlen(task->argv[4]), "xc.d");
    /* Past the last item: no argument, as GNU parallel gives none. */
    ASSERT_TRUE(task->argv[5] == NULL);
    pr_task_free(task);
    pr_template_free(t);
}

static void
template_positional_strings_are_quoted_for_their_place_in_sh(void)
{
    int rc;
    struct pr_template *t =
        tmpl(1, NULL, 1, "echo {2} \"{1}\" '{-1}' {3}.");
    static const char *const items[] = {"$(x)", "it's"};
    struct pr_task *task = task_of(2, items);

    rc = pr_template_expand(t, task);
    ASSERT_EQ(rc, 0);
    ASSERT_MEM_EQ(task->line, task->line_len,
                  "echo 'it'\\''s' \"\"'$(x)'\"\" 'it'\\''s' .");
    pr_task_free(task);
    pr_template_free(t);
}

static void
template_braces_that_are_no_position_stay_text(void)
{
    struct pr_template *t =
        tmpl(0, NULL, 4, "awk", "{print}", "{0}", "{1x}");
    static const char *const items[] = {"i"};
    struct pr_task *task = task_of(1, items);

    ASSERT_EQ(pr_template_expand(t, task), 0);
    ASSERT_MEM_EQ(task->line, task->line_len, "awk '{print}' '{0}' '{1x}' i");
    pr_task_free(task);
    pr_template_free(t);
}

static void
template_number_alone_appends_no_item(void)
{
    struct pr_template *t = tmpl(0, NULL, 2, "echo", "{#}");
    struct pr_template *sh = tmpl(0, NULL, 1, "echo {%} $x");
    static const char *const items[] = {"i"};
    struct pr_task *task = task_of(1, items);
    struct pr_task *task2 = task_of(1, items);

    ASSERT_EQ(pr_template_expand(t, task), 0);
    ASSERT_MEM_EQ(task->line, task->line_len, "echo 7");
    ASSERT_EQ(pr_template_expand(sh, task2), 0);
    ASSERT_MEM_EQ(task2->line, task2->line_len, "echo 3 $x");
    pr_task_free(task);
    pr_task_free(task2);
    pr_template_free(t);
    pr_template_free(sh);
}

static void
template_no_args_fills_nothing_and_appends_nothing(void)
{
    struct pr_template_options o;
    static const char *const w1[] = {"echo", "x{}y", "{1}"};
    static const char *const w2[] = {"echo hi; true"};
    static const char *const items[] = {"i"};
    struct pr_template *t, *sh;
    struct pr_task *task = task_of(1, items);
    struct pr_task *task2 = task_of(1, items);

    memset(&o, 0, sizeof(o));
    o.no_args = 1;
    t = tmpl_with(&o, 3, w1);
    sh = tmpl_with(&o, 1, w2);
    ASSERT_EQ(pr_template_expand(t, task), 0);
    ASSERT_MEM_EQ(task->line, task->line_len, "echo xy");
    ASSERT_EQ(pr_template_expand(sh, task2), 0);
    ASSERT_MEM_EQ(task2->line, task2->line_len, "echo hi; true");
    pr_task_free(task);
    pr_task_free(task2);
    pr_template_free(t);
    pr_template_free(sh);
}

static void
template_header_names_stand_for_their_positions(void)
{
    struct pr_template_options o;
    static const char *const names[] = {"a", "b"};
    static const char *const w[] = {"echo", "{b}", "{a.}", "{c}"};
    static const char *const items[] = {"x.y", "z"};
    struct pr_template *t;
    struct pr_task *task = task_of(2, items);

    memset(&o, 0, sizeof(o));
    o.names = names;
    o.nnames = 2;
    t = tmpl_with(&o, 4, w);
    ASSERT_EQ(pr_template_expand(t, task), 0);
    ASSERT_MEM_EQ(task->line, task->line_len, "echo z x '{c}'");
    pr_task_free(task);
    pr_template_free(t);
}

static void
template_text_is_filled_as_is_never_as_a_shell_line(void)
{
    struct pr_template_options o;
    static const char *const w[] = {"{#}:{2} $(x) '{1}'"};
    static const char *const items[] = {"a b", "c"};
    struct pr_template *t;
    struct pr_task *task = task_of(2, items);
    struct pr_buf b = {0};

    memset(&o, 0, sizeof(o));
    o.text = 1;
    t = tmpl_with(&o, 1, w);
    ASSERT_EQ(pr_template_is_shell(t), 0);
    pr_template_format(t, task, &b);
    ASSERT_MEM_EQ(b.data, b.len, "7:c $(x) 'a b'");
    pr_buf_free(&b);
    pr_task_free(task);
    pr_template_free(t);
}

/* The diagnostic of a refused one-word shell command, or NULL. */
static const char *
refusal(const char *replace, const char *cmd)
{
    static struct pr_template_diag d;
    struct pr_template_options o;
    struct pr_template *t;
    char *words[1];

    words[0] = (char *)(uintptr_t)cmd;
    memset(&o, 0, sizeof(o));
    o.words = words;
    o.nwords = 1;
    o.replace = replace;
    o.force_shell = 1;
    if (pr_template_new(&t, &o, &d) != 0)
        return d.msg;
    pr_template_free(t);
    return NULL;
}

/* Expands a one-word shell command with one item; returns the line (a
 * static copy) and the expansion's result in *rc. */
static const char *
shell_line(const char *cmd, const char *item, int *rc)
{
    static char line[1024];
    struct pr_template *t = tmpl(1, NULL, 1, cmd);
    const char *const items[] = {item};
    struct pr_task *task;

    *rc = -1;
    if (t == NULL)
        return "(refused)";
    task = task_of(1, items);
    *rc = pr_template_expand(t, task);
    snprintf(line, sizeof(line), "%s", task->line);
    pr_task_free(task);
    pr_template_free(t);
    return line;
}

static void
template_value_inside_single_quotes_closes_and_reopens_them(void)
{
    int rc;
    const char *l = shell_line("echo '<{}>'", "it's $(x)", &rc);

    ASSERT_EQ(rc, 0);
    ASSERT_MEM_EQ(l, strlen(l), "echo '<it'\\''s $(x)>'");
    l = shell_line("echo '{}'", "", &rc);
    ASSERT_MEM_EQ(l, strlen(l), "echo ''");
}

static void
template_value_inside_double_quotes_is_single_quoted_between_them(void)
{
    int rc;
    const char *l =
        shell_line("echo \"a {} b\"", "$HOME `x` \"q\" \\ it's", &rc);

    ASSERT_EQ(rc, 0);
    ASSERT_MEM_EQ(l, strlen(l),
                  "echo \"a \"'$HOME `x` \"q\" \\ it'\\''s'\" b\"");
}

static void
template_value_inside_dquote_inside_subst_inside_dquote_is_quoted_there(void)
{
    int rc;
    const char *l =
        shell_line("echo \"$(printf %s \"{}\" '{}' {})\"", "a'b", &rc);

    ASSERT_EQ(rc, 0);
    ASSERT_MEM_EQ(l, strlen(l),
                  "echo \"$(printf %s \"\"'a'\\''b'\"\" 'a'\\''b' "
                  "'a'\\''b')\"");
}

static void
template_value_in_an_unquoted_heredoc_escapes_dollar_backquote_backslash(void)
{
    int rc;
    const char *l =
        shell_line("cat <<EOF\n<{}> \"'\nEOF", "$(x) `y` \\ \"'", &rc);

    ASSERT_EQ(rc, 0);
    ASSERT_MEM_EQ(l, strlen(l),
                  "cat <<EOF\n<\\$(x) \\`y\\` \\\\ \"'> \"'\nEOF");
}

static void
template_value_in_a_quoted_heredoc_is_as_it_is(void)
{
    int rc;
    const char *l =
        shell_line("cat <<'EOF'\n{}\nEOF\necho '{}'", "$(x) `y` \\ '", &rc);

    ASSERT_EQ(rc, 0);
    ASSERT_MEM_EQ(l, strlen(l),
                  "cat <<'EOF'\n$(x) `y` \\ '\nEOF\necho '$(x) `y` \\ '\\'''");
    l = shell_line("cat <<\\EOF\n{}\nEOF", "$x", &rc);
    ASSERT_MEM_EQ(l, strlen(l), "cat <<\\EOF\n$x\nEOF");
    l = shell_line("cat <<E\"O\"F\n{}\nEOF", "$x", &rc);
    ASSERT_MEM_EQ(l, strlen(l), "cat <<E\"O\"F\n$x\nEOF");
}

static void
template_heredoc_item_with_a_delimiter_line_is_a_task_error(void)
{
    int rc;

    shell_line("cat <<EOF\n{}\nEOF", "a\nEOF\nrm -rf x", &rc);
    ASSERT_EQ(rc, UV_EINVAL);
    shell_line("cat <<'EOF'\nx{}\nEOF", "\nEOF", &rc);
    ASSERT_EQ(rc, UV_EINVAL);
    /* The delimiter made of the template's text and the item's. */
    shell_line("cat <<EOF\nE{}\nEOF", "OF", &rc);
    ASSERT_EQ(rc, UV_EINVAL);
    shell_line("cat <<-EOF\n\t{}\n\tEOF", "a\nEOF", &rc);
    ASSERT_EQ(rc, UV_EINVAL);
    /* Not a line of its own: fine. */
    shell_line("cat <<EOF\n{}\nEOF", "EOF1\n EOF\nxEOF", &rc);
    ASSERT_EQ(rc, 0);
    /* A value inside $(...) in the body counts too. */
    shell_line("cat <<EOF\n$(echo '{}')\nEOF", "x\nEOF\ny", &rc);
    ASSERT_EQ(rc, UV_EINVAL);
}

static void
template_strip_tabs_heredoc_item_with_a_leading_tab_is_a_task_error(void)
{
    int rc;
    const char *l;

    shell_line("cat <<-EOF\n\t{}\n\tEOF", "\tx", &rc);
    ASSERT_EQ(rc, UV_EINVAL);
    shell_line("cat <<-EOF\n{}\nEOF", "a\n\tb", &rc);
    ASSERT_EQ(rc, UV_EINVAL);
    l = shell_line("cat <<-EOF\n\t{}\n\tEOF", "a\tb", &rc);
    ASSERT_EQ(rc, 0);
    ASSERT_MEM_EQ(l, strlen(l), "cat <<-EOF\n\ta\tb\n\tEOF");
}

static void
template_value_after_a_variable_in_a_heredoc_keeps_the_name_apart(void)
{
    int rc;
    const char *l = shell_line("cat <<EOF\n$x{}$_1{} $2{}\nEOF", "ab", &rc);

    ASSERT_EQ(rc, 0);
    ASSERT_MEM_EQ(l, strlen(l), "cat <<EOF\n${x}ab${_1}ab $2ab\nEOF");
}

static void
template_value_after_a_special_parameter_is_accepted(void)
{
    int rc;
    const char *l = shell_line("echo $${} \"$#{}\" $?{}", "a", &rc);

    ASSERT_EQ(rc, 0);
    ASSERT_MEM_EQ(l, strlen(l), "echo $$'a' \"$#\"'a'\"\" $?'a'");
}

static void
template_backslash_newline_in_an_item_is_split_by_quotes(void)
{
    int rc;
    const char *l = shell_line("echo {} 'x{}y'", "a\\\nb", &rc);

    /* bash removes a backslash-newline even inside '...' when it stands
     * in $(...) in an unquoted here-document: the pair never appears. */
    ASSERT_EQ(rc, 0);
    ASSERT_MEM_EQ(l, strlen(l), "echo 'a\\''\nb' 'xa\\''\nby'");
    /* Nor with the template's text around the value. */
    l = shell_line("echo '\\{}\n{}'", "\nz\\", &rc);
    ASSERT_MEM_EQ(l, strlen(l), "echo '\\''\nz\\''\n''\nz\\'''");
}

static void
template_backslash_newline_in_a_quoted_heredoc_inside_another_is_a_task_error(
    void)
{
    int rc;

    shell_line("cat <<EOF\n$(cat <<'E'\n{}\nE\n)\nEOF", "a\\\nb", &rc);
    ASSERT_EQ(rc, UV_EINVAL);
    shell_line("cat <<EOF\n$(cat <<'E'\n{}\nE\n)\nEOF", "a\\b", &rc);
    ASSERT_EQ(rc, 0);
    /* Alone, a quoted body keeps it. */
    shell_line("cat <<'E'\n{}\nE", "a\\\nb", &rc);
    ASSERT_EQ(rc, 0);
}

static void
template_ctlesc_byte_in_a_quoted_heredoc_inside_subst_is_a_task_error(void)
{
    int rc;

    /* bash 5.2 turns \001\001 into \001 there. */
    shell_line("v=$(cat <<'E'\n{}\nE\n)", "a\001\001b", &rc);
    ASSERT_EQ(rc, UV_EINVAL);
    shell_line("cat <<'E'\n{}\nE", "a\001\001b", &rc);
    ASSERT_EQ(rc, 0);
    shell_line("v=$(cat <<E\n{}\nE\n)", "a\001\001b", &rc);
    ASSERT_EQ(rc, 0);
}

static void
template_number_replacements_go_anywhere_as_digits(void)
{
    int rc;
    const char *l =
        shell_line("echo \"{#}\" `echo {%}` ${x:-{#}} {} # {%}", "i", &rc);

    ASSERT_EQ(rc, 0);
    ASSERT_MEM_EQ(l, strlen(l), "echo \"7\" `echo 3` ${x:-7} 'i' # 3");
}

static void
template_places_sh_reads_plainly_are_accepted(void)
{
    static const char *const ok[] = {
        "echo a#{} \\\\{} $x{} ${x}{} \"$x\"{}",
        "case {} in a) echo \"{}\";; esac",
        "echo a \\\n  {}",
        "f() { echo \"$1\"; }; f {} # done",
        "x=$(echo {}); echo \"$(echo \"{}\" | tr a b)\" \"${x}\"",
        "cat <<EOF <<'E2'; echo {}\n$(echo \"{}\")\nEOF\n{}\nE2\necho {}",
        "cat <<- \"A B\"\n\t{}\n\tA B",
        "echo $(( 1 + 2 )) {} ${#x} ${x#a} \"${x%b}\" {}",
        "echo <<<{} ( {} ) $( (echo {}) )",
        "echo \"it's\" {} '\"' {} \"$(echo \")\")\" {}",
    };
    size_t i;

    for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        const char *msg = refusal(NULL, ok[i]);

        if (msg != NULL) {
            fprintf(stderr, "refused: %s\n  %s\n", ok[i], msg);
            ASSERT_TRUE(0);
        }
    }
}

static void
template_places_without_safe_quoting_are_refused_with_position(void)
{
    static const struct {
        const char *cmd;
        const char *msg;
    } bad[] = {
        {"echo `echo {}`", "COMMAND:1:12: {} is inside `...`"},
        {"echo \"`{/}`\"", "COMMAND:1:8: {/} is inside `...`"},
        {"echo ${x:-{}}", "COMMAND:1:11: {} is inside ${...}"},
        {"echo \"${x#{}}\"", "COMMAND:1:11: {} is inside ${...}"},
        {"echo $(( {} + 1 ))", "COMMAND:1:10: {} is inside $((...))"},
        {"echo ${}", "COMMAND:1:7: {} follows a $"},
        {"echo \"${.}\"", "COMMAND:1:8: {.} follows a $"},
        {"echo \\{}", "COMMAND:1:7: {} follows a backslash"},
        {"echo \"\\{}\"", "COMMAND:1:8: {} follows a backslash"},
        {"echo hi # {}", "COMMAND:1:11: {} is inside a comment"},
        {"cat <<{}\nx\n{}", "COMMAND:1:7: {} is in a here-document's"},
        {"echo '{}", "COMMAND:1:7: {} is inside '...' opened at 1:6, which "
                     "is never closed"},
        {"echo \"$(echo {}\"", "COMMAND:1:16: \"...\" is never closed"},
        {"echo $(echo {}", "COMMAND:1:13: {} is inside $(...) opened at 1:6"},
        {"echo {} 'oops", "COMMAND:1:9: '...' is never closed"},
        {"echo $'x' {}", "COMMAND:1:11: {} comes after $'...' at 1:6"},
        {"x=$(case a in a) echo;; esac); echo {}",
         "COMMAND:1:37: {} comes after case inside $(...) at 1:5"},
        {"[[ {} -eq 1 ]]", "COMMAND:1:4: {} comes after [[ at 1:1"},
        {"(( {} ))", "COMMAND:1:4: {} comes after (( at 1:1"},
        {"echo \"${x-'a'}\" {}", "COMMAND:1:17: {} comes after a quote"},
        {"cat <<EOF\na\\\nEOF\n{}\nEOF",
         "COMMAND:4:1: {} comes after a backslash-newline in a "
         "here-document at 2:2"},
        {"echo a\n\necho {} `", "COMMAND:3:9: `...` is never closed"},
    };
    size_t i;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        const char *msg = refusal(NULL, bad[i].cmd);

        if (msg == NULL || strncmp(msg, bad[i].msg, strlen(bad[i].msg))) {
            fprintf(stderr, "%s\n  wanted: %s...\n  got:    %s\n", bad[i].cmd,
                    bad[i].msg, msg ? msg : "(accepted)");
            ASSERT_TRUE(0);
        }
    }
}

static void
template_positional_string_is_named_in_a_refusal(void)
{
    const char *msg = refusal(NULL, "echo `cat {-2/}`");

    ASSERT_TRUE(msg != NULL);
    ASSERT_TRUE(strstr(msg, "{-2/} is inside `...`") != NULL);
}

static void
template_replace_string_is_named_in_a_refusal(void)
{
    const char *msg = refusal("XX", "echo `XX`");

    ASSERT_TRUE(msg != NULL);
    ASSERT_MEM_EQ(msg, strlen("COMMAND:1:7: XX is inside `...`"),
                  "COMMAND:1:7: XX is inside `...`");
}

static void
template_without_replacement_refuses_an_end_items_cannot_follow(void)
{
    const char *msg = refusal(NULL, "echo hi # comment");

    ASSERT_TRUE(msg != NULL);
    ASSERT_TRUE(strstr(msg, "has no {}") != NULL);
    ASSERT_TRUE(strstr(msg, "ends in a comment") != NULL);
    ASSERT_TRUE(refusal(NULL, "echo \\") != NULL);
    ASSERT_TRUE(refusal(NULL, "cat <<EOF\nbody\nEOF") != NULL);
    ASSERT_TRUE(refusal(NULL, "cat <<EOF\nbody") != NULL);
    ASSERT_TRUE(refusal(NULL, "echo $'a'") != NULL);
    /* With {}, or ending where a word can follow, all is well. */
    ASSERT_TRUE(refusal(NULL, "echo {} # comment") == NULL);
    ASSERT_TRUE(refusal(NULL, "cat <<EOF\nbody\nEOF\n") == NULL);
    ASSERT_TRUE(refusal(NULL, "echo \"a b\" 'c'") == NULL);
}

static void
template_several_items_inside_quotes_make_one_string(void)
{
    struct pr_template *t = tmpl(1, NULL, 1, "echo \"{}\" '{}' {}");
    static const char *const items[] = {"a b", "c'd"};
    struct pr_task *task = task_of(2, items);

    ASSERT_EQ(pr_template_expand(t, task), 0);
    ASSERT_MEM_EQ(task->line, task->line_len,
                  "echo \"\"'a b'\" \"'c'\\''d'\"\" 'a b c'\\''d' 'a b' "
                  "'c'\\''d'");
    pr_task_free(task);
    pr_template_free(t);
}

static void
template_several_words_ignore_shell_syntax_in_their_words(void)
{
    struct pr_template *t = tmpl(0, NULL, 3, "echo", "'{}'", "`{}`");
    static const char *const items[] = {"x"};
    struct pr_task *task = task_of(1, items);

    ASSERT_EQ(pr_template_is_shell(t), 0);
    ASSERT_EQ(pr_template_expand(t, task), 0);
    ASSERT_MEM_EQ(task->argv[1], strlen(task->argv[1]), "'x'");
    ASSERT_MEM_EQ(task->argv[2], strlen(task->argv[2]), "`x`");
    pr_task_free(task);
    pr_template_free(t);
}

static void
template_shell_words_are_read_as_one_line(void)
{
    /* --shell with words: the line is their join, read as a whole. */
    struct pr_template *t = tmpl(1, NULL, 3, "printf", "'%s\\n'", "\"{}\"");
    static const char *const items[] = {"$x"};
    struct pr_task *task = task_of(1, items);

    ASSERT_EQ(pr_template_expand(t, task), 0);
    ASSERT_MEM_EQ(task->line, task->line_len, "printf '%s\\n' \"\"'$x'\"\"");
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
        TEST_CASE(template_positional_strings_take_one_item_each),
        TEST_CASE(template_positional_strings_are_quoted_for_their_place_in_sh),
        TEST_CASE(template_braces_that_are_no_position_stay_text),
        TEST_CASE(template_number_alone_appends_no_item),
        TEST_CASE(template_no_args_fills_nothing_and_appends_nothing),
        TEST_CASE(template_header_names_stand_for_their_positions),
        TEST_CASE(template_text_is_filled_as_is_never_as_a_shell_line),
        TEST_CASE(template_positional_string_is_named_in_a_refusal),
        TEST_CASE(template_value_inside_single_quotes_closes_and_reopens_them),
        TEST_CASE(
            template_value_inside_double_quotes_is_single_quoted_between_them),
        TEST_CASE(
            template_value_inside_dquote_inside_subst_inside_dquote_is_quoted_there),
        TEST_CASE(
            template_value_in_an_unquoted_heredoc_escapes_dollar_backquote_backslash),
        TEST_CASE(template_value_in_a_quoted_heredoc_is_as_it_is),
        TEST_CASE(template_heredoc_item_with_a_delimiter_line_is_a_task_error),
        TEST_CASE(
            template_strip_tabs_heredoc_item_with_a_leading_tab_is_a_task_error),
        TEST_CASE(
            template_value_after_a_variable_in_a_heredoc_keeps_the_name_apart),
        TEST_CASE(template_value_after_a_special_parameter_is_accepted),
        TEST_CASE(template_backslash_newline_in_an_item_is_split_by_quotes),
        TEST_CASE(
            template_backslash_newline_in_a_quoted_heredoc_inside_another_is_a_task_error),
        TEST_CASE(
            template_ctlesc_byte_in_a_quoted_heredoc_inside_subst_is_a_task_error),
        TEST_CASE(template_number_replacements_go_anywhere_as_digits),
        TEST_CASE(template_places_sh_reads_plainly_are_accepted),
        TEST_CASE(
            template_places_without_safe_quoting_are_refused_with_position),
        TEST_CASE(template_replace_string_is_named_in_a_refusal),
        TEST_CASE(
            template_without_replacement_refuses_an_end_items_cannot_follow),
        TEST_CASE(template_several_items_inside_quotes_make_one_string),
        TEST_CASE(template_several_words_ignore_shell_syntax_in_their_words),
        TEST_CASE(template_shell_words_are_read_as_one_line),
        TEST_CASE(shell_quote_wraps_and_escapes_single_quotes),
        TEST_CASE(simple_lines_start_without_the_shell),
        TEST_CASE(lines_with_shell_syntax_keep_the_shell),
    };

    return pr_test_run(cases, sizeof(cases) / sizeof(cases[0]));
}
