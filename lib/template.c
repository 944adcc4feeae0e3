/*
 * template: a command is compiled once into words of segments, each a
 * literal or a replacement; a task's command is built from them when it
 * starts (its slot is known only then).  Values never pass through a
 * shell unquoted, and in the direct form never through a shell at all.
 */
#include "template.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

enum seg_kind {
    SEG_TEXT,
    SEG_ITEM,      /* {} */
    SEG_NOEXT,     /* {.} */
    SEG_BASE,      /* {/} */
    SEG_DIR,       /* {//} */
    SEG_BASENOEXT, /* {/.} */
    SEG_SEQ,       /* {#} */
    SEG_SLOT       /* {%} */
};

struct seg {
    enum seg_kind kind;
    char *text; /* SEG_TEXT */
    size_t len;
};

struct word {
    struct seg *segs;
    size_t nsegs;
};

struct pr_template {
    struct word *words;
    size_t nwords;
    int shell;
    int has_item; /* some replacement string takes the item */
};

static const struct {
    const char *token;
    enum seg_kind kind;
} tokens[] = {
    {"{//}", SEG_DIR},  {"{/.}", SEG_BASENOEXT}, {"{}", SEG_ITEM},
    {"{.}", SEG_NOEXT}, {"{/}", SEG_BASE},       {"{#}", SEG_SEQ},
    {"{%}", SEG_SLOT},
};

/* Characters that make a one-word command a shell command. */
static const char shell_chars[] = " \t\n|&;<>()$`\\\"'*?[#~";

static void
add_seg(struct word *w, enum seg_kind kind, const char *text, size_t len)
{
    struct seg *s;

    /* Adjacent text joins up. */
    if (kind == SEG_TEXT && w->nsegs > 0 &&
        w->segs[w->nsegs - 1].kind == SEG_TEXT) {
        s = &w->segs[w->nsegs - 1];
        s->text = pr_xrealloc(s->text, s->len + len + 1);
        memcpy(s->text + s->len, text, len);
        s->len += len;
        s->text[s->len] = '\0';
        return;
    }
    w->segs = pr_xrealloc(w->segs, (w->nsegs + 1) * sizeof(*w->segs));
    s = &w->segs[w->nsegs++];
    s->kind = kind;
    s->text = kind == SEG_TEXT ? pr_xmemdup(text, len) : NULL;
    s->len = kind == SEG_TEXT ? len : 0;
}

/* Splits one word into literals and replacement strings. */
static void
compile_word(struct pr_template *t, struct word *w, const char *s,
             const char *replace)
{
    size_t rlen = replace ? strlen(replace) : 0;

    while (*s != '\0') {
        size_t i;
        int matched = 0;

        if (rlen > 0 && strncmp(s, replace, rlen) == 0) {
            add_seg(w, SEG_ITEM, NULL, 0);
            t->has_item = 1;
            s += rlen;
            continue;
        }
        for (i = 0; i < PR_ARRAY_SIZE(tokens) && *s == '{'; i++) {
            size_t n = strlen(tokens[i].token);

            /* With -I, {} is plain text (as in xargs). */
            if (rlen > 0 && tokens[i].kind == SEG_ITEM)
                continue;
            if (strncmp(s, tokens[i].token, n) == 0) {
                add_seg(w, tokens[i].kind, NULL, 0);
                if (tokens[i].kind != SEG_SEQ && tokens[i].kind != SEG_SLOT)
                    t->has_item = 1;
                s += n;
                matched = 1;
                break;
            }
        }
        if (!matched) {
            add_seg(w, SEG_TEXT, s, 1);
            s++;
        }
    }
}

static int
text_has_shell_syntax(const struct word *w)
{
    size_t i;

    for (i = 0; i < w->nsegs; i++)
        if (w->segs[i].kind == SEG_TEXT &&
            strpbrk(w->segs[i].text, shell_chars) != NULL)
            return 1;
    return 0;
}

struct pr_template *
pr_template_new(const struct pr_template_options *o)
{
    struct pr_template *t;
    int i;

    if (o->nwords <= 0)
        return NULL;
    t = pr_xcalloc(1, sizeof(*t));
    t->words = pr_xcalloc((size_t)o->nwords, sizeof(*t->words));
    t->nwords = (size_t)o->nwords;
    for (i = 0; i < o->nwords; i++)
        compile_word(t, &t->words[i], o->words[i], o->replace);
    t->shell =
        o->force_shell || (o->nwords == 1 && text_has_shell_syntax(t->words));
    return t;
}

void
pr_template_free(struct pr_template *t)
{
    size_t i, j;

    if (t == NULL)
        return;
    for (i = 0; i < t->nwords; i++) {
        for (j = 0; j < t->words[i].nsegs; j++)
            free(t->words[i].segs[j].text);
        free(t->words[i].segs);
    }
    free(t->words);
    free(t);
}

int
pr_template_is_shell(const struct pr_template *t)
{
    return t->shell;
}

static int
is_safe_char(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9') || strchr("_@%+=:,./-", c) != NULL;
}

void
pr_shell_quote(struct pr_buf *b, const char *s, size_t n)
{
    size_t i;

    pr_buf_append(b, "'", 1);
    for (i = 0; i < n; i++) {
        if (s[i] == '\'')
            pr_buf_append(b, "'\\''", 4);
        else
            pr_buf_append(b, &s[i], 1);
    }
    pr_buf_append(b, "'", 1);
}

void
pr_shell_quote_if_needed(struct pr_buf *b, const char *s, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        if (!is_safe_char((unsigned char)s[i]))
            break;
    if (n > 0 && i == n)
        pr_buf_append(b, s, n);
    else
        pr_shell_quote(b, s, n);
}

/* The part of an item a replacement string stands for. */
static void
item_part(enum seg_kind kind, const struct pr_item *it, const char **p,
          size_t *n)
{
    const char *s = it->p;
    size_t len = it->len;
    const char *slash = NULL;
    const char *dot = NULL;
    size_t i;

    for (i = 0; i < len; i++) {
        if (s[i] == '/') {
            slash = s + i;
            dot = NULL;
        } else if (s[i] == '.') {
            dot = s + i;
        }
    }
    *p = s;
    *n = len;
    switch (kind) {
    case SEG_NOEXT:
        if (dot != NULL && dot != (slash ? slash + 1 : s))
            *n = (size_t)(dot - s);
        break;
    case SEG_BASE:
    case SEG_BASENOEXT:
        if (slash != NULL) {
            *p = slash + 1;
            *n = len - (size_t)(*p - s);
        }
        if (kind == SEG_BASENOEXT && dot != NULL && dot != *p)
            *n = (size_t)(dot - *p);
        break;
    case SEG_DIR:
        if (slash == NULL) {
            *p = ".";
            *n = 1;
        } else {
            *n = slash == s ? 1 : (size_t)(slash - s);
        }
        break;
    default:
        break;
    }
}

/* Appends the value of one replacement: every item's part, separated by
 * a space, each quoted when the command goes through the shell. */
static void
append_value(const struct pr_template *t, const struct pr_task *task,
             enum seg_kind kind, struct pr_buf *b)
{
    char num[32];
    unsigned i;

    if (kind == SEG_SEQ || kind == SEG_SLOT) {
        int n = snprintf(num, sizeof(num), "%llu",
                         kind == SEG_SEQ ? (unsigned long long)task->seq
                                         : (unsigned long long)task->slot);

        pr_buf_append(b, num, (size_t)n);
        return;
    }
    for (i = 0; i < task->nitems; i++) {
        const char *p;
        size_t n;

        item_part(kind, &task->items[i], &p, &n);
        if (i > 0)
            pr_buf_append(b, " ", 1);
        if (t->shell)
            pr_shell_quote(b, p, n);
        else
            pr_buf_append(b, p, n);
    }
}

static void
append_word(const struct pr_template *t, const struct pr_task *task,
            const struct word *w, struct pr_buf *b)
{
    size_t i;

    for (i = 0; i < w->nsegs; i++) {
        if (w->segs[i].kind == SEG_TEXT)
            pr_buf_append(b, w->segs[i].text, w->segs[i].len);
        else
            append_value(t, task, w->segs[i].kind, b);
    }
}

static void
set_line(struct pr_task *task, struct pr_buf *b)
{
    pr_buf_append(b, "", 1);
    free(task->line);
    task->line = b->data;
    task->line_len = b->len - 1;
}

static int
expand_shell(const struct pr_template *t, struct pr_task *task)
{
    struct pr_buf b = {0};
    size_t i;

    for (i = 0; i < t->nwords; i++) {
        if (i > 0)
            pr_buf_append(&b, " ", 1);
        append_word(t, task, &t->words[i], &b);
    }
    if (!t->has_item) {
        unsigned k;

        for (k = 0; k < task->nitems; k++) {
            pr_buf_append(&b, " ", 1);
            pr_shell_quote(&b, task->items[k].p, task->items[k].len);
        }
    }
    set_line(task, &b);
    return 0;
}

/* A word that is one item replacement and nothing else gives one argument
 * per item (with -n); any other word gives one argument. */
static int
single_item_seg(const struct word *w)
{
    return w->nsegs == 1 && w->segs[0].kind != SEG_TEXT &&
           w->segs[0].kind != SEG_SEQ && w->segs[0].kind != SEG_SLOT;
}

static void
push_arg(char ***argv, size_t *argc, size_t *cap, char *arg)
{
    if (*argc + 2 > *cap) {
        *cap = *cap ? *cap * 2 : 8;
        *argv = pr_xrealloc(*argv, *cap * sizeof(**argv));
    }
    (*argv)[(*argc)++] = arg;
    (*argv)[*argc] = NULL;
}

static int
expand_direct(const struct pr_template *t, struct pr_task *task)
{
    char **argv = NULL;
    size_t argc = 0;
    size_t cap = 0;
    struct pr_buf shown = {0};
    size_t i;
    int rc = 0;

    for (i = 0; i < t->nwords; i++) {
        const struct word *w = &t->words[i];

        if (single_item_seg(w) && task->nitems != 1) {
            unsigned k;

            for (k = 0; k < task->nitems; k++) {
                const char *p;
                size_t n;

                item_part(w->segs[0].kind, &task->items[k], &p, &n);
                push_arg(&argv, &argc, &cap, pr_xmemdup(p, n));
            }
        } else {
            struct pr_buf b = {0};

            append_word(t, task, w, &b);
            push_arg(&argv, &argc, &cap, pr_xmemdup(b.data ? b.data : "",
                                                    b.len));
            /* The copy stops at a NUL; its length tells. */
            if (b.len != strlen(argv[argc - 1]))
                rc = UV_EINVAL;
            pr_buf_free(&b);
        }
    }
    if (!t->has_item) {
        unsigned k;

        for (k = 0; k < task->nitems; k++) {
            push_arg(&argv, &argc, &cap,
                     pr_xmemdup(task->items[k].p, task->items[k].len));
            if (task->items[k].len != strlen(argv[argc - 1]))
                rc = UV_EINVAL;
        }
    }
    for (i = 0; i < task->nitems; i++)
        if (memchr(task->items[i].p, '\0', task->items[i].len) != NULL)
            rc = UV_EINVAL;
    for (i = 0; i < argc; i++) {
        if (i > 0)
            pr_buf_append(&shown, " ", 1);
        pr_shell_quote_if_needed(&shown, argv[i], strlen(argv[i]));
    }
    set_line(task, &shown);
    task->argv = argv;
    if (rc != 0)
        task->error_what = "an argument contains a NUL byte";
    return rc;
}

int
pr_template_expand(const struct pr_template *t, struct pr_task *task)
{
    return t->shell ? expand_shell(t, task) : expand_direct(t, task);
}

/* Words the shell treats itself: keywords, and builtins whose result or
 * output would differ from the program of the same name (echo and printf
 * among them, pwd for symlinks), or that act on the shell. */
static const char *const shell_words[] = {
    "!",        "{",       "}",       "case",     "do",      "done",
    "elif",     "else",    "esac",    "fi",       "for",     "function",
    "if",       "in",      "select",  "then",     "until",   "while",
    ".",        ":",       "alias",   "bg",       "break",   "builtin",
    "cd",       "chdir",   "command", "continue", "echo",    "eval",
    "exec",     "exit",    "export",  "fc",       "fg",      "getopts",
    "hash",     "jobs",    "kill",    "local",    "printf",  "pwd",
    "read",     "readonly", "return", "set",      "shift",   "source",
    "times",    "trap",    "type",    "ulimit",   "umask",   "unalias",
    "unset",    "wait",
};

/* Bytes that mean something to the shell (besides space and tab, which
 * only split words). */
static const char special_chars[] = "\n|&;<>()$`\\\"'*?[]#~={}!%";

int
pr_shell_split_simple(const char *line, size_t len, char ***argv_out)
{
    char **argv = NULL;
    size_t argc = 0, cap = 0, i = 0, k;

    /* Past Linux's limit for one argument, only the shell's file path
     * can take the line. */
    if (len == 0 || len > 100000)
        return 0;
    for (k = 0; k < len; k++) {
        unsigned char c = (unsigned char)line[k];

        if ((c < 0x20 && c != '\t') || c == 0x7f ||
            (c != 0 && strchr(special_chars, c) != NULL) || c == 0)
            return 0;
    }
    while (i < len) {
        size_t start;

        while (i < len && (line[i] == ' ' || line[i] == '\t'))
            i++;
        if (i == len)
            break;
        start = i;
        while (i < len && line[i] != ' ' && line[i] != '\t')
            i++;
        push_arg(&argv, &argc, &cap, pr_xmemdup(line + start, i - start));
    }
    if (argc == 0)
        return 0;
    for (k = 0; k < PR_ARRAY_SIZE(shell_words); k++) {
        if (strcmp(argv[0], shell_words[k]) == 0) {
            for (i = 0; i < argc; i++)
                free(argv[i]);
            free(argv);
            return 0;
        }
    }
    *argv_out = argv;
    return 1;
}
