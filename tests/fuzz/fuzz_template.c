/* libFuzzer target: template expansion.  The input is split at NUL bytes:
 * the first part chooses options, the next parts are the command's words
 * (up to a '\x01' part), the rest are items.
 *
 * Beyond not crashing, it checks what the shell receives.  When the first
 * byte says so, the first two bytes build a shell command that prints an
 * item (the bytes after them) through one of the quoting contexts
 * (unquoted, '...', "...", here-documents unquoted, quoted and with <<-),
 * wrapped in up to three layers of $(...), groups, pipes and outer
 * here-documents; it expands the command, runs the line with /bin/sh -c
 * (and bash --posix) and aborts when the bytes printed are not the
 * item's, exactly.  The fuzzer's own words are never run: only these
 * commands, whose text is fixed. */
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <uv.h>

#include "template.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Undo single-quote shell quoting: '...' runs and \' between them. */
static size_t
unquote(const char *q, size_t n, char *out)
{
    size_t i = 0, o = 0;

    while (i < n) {
        if (q[i] == '\'') {
            i++;
            while (i < n && q[i] != '\'')
                out[o++] = q[i++];
            i++;
        } else if (q[i] == '\\' && i + 1 < n) {
            out[o++] = q[i + 1];
            i += 2;
        } else {
            out[o++] = q[i++];
        }
    }
    return o;
}

/* cat as a builtin loop: a process per here-document would make each run
 * ten times slower.  The last printf gives a final line without its
 * newline.  A newline, not "; ", follows done: bash 5.2 loses that ";"
 * when it reprints a $(...) where a pipeline follows a here-document. */
#define CAT                                                                    \
    "{ while IFS= read -r l; do printf '%s\\n' \"$l\"; done\n"                 \
    "printf %s \"$l\"; }"

/* How many innermost contexts leaf() knows. */
#define NLEAVES 11

static void
add(struct pr_buf *b, const char *s)
{
    pr_buf_append(b, s, strlen(s));
}

/* The innermost command: it prints the item (x) through one context.
 * tok is the replacement string, level tells here-document delimiters
 * apart. */
static void
leaf(unsigned which, const char *tok, const char *x, size_t n, unsigned level,
     struct pr_buf *cmd, struct pr_buf *want)
{
    char delim[16];

    snprintf(delim, sizeof(delim), "EOF%u", level);
    switch (which % NLEAVES) {
    case 0: /* unquoted */
        add(cmd, "printf %s ");
        add(cmd, tok);
        pr_buf_append(want, x, n);
        break;
    case 1: /* inside '...' */
        add(cmd, "printf %s 'a");
        add(cmd, tok);
        add(cmd, "b'");
        add(want, "a");
        pr_buf_append(want, x, n);
        add(want, "b");
        break;
    case 2: /* inside "..." */
        add(cmd, "printf %s \"a");
        add(cmd, tok);
        add(cmd, "b\"");
        add(want, "a");
        pr_buf_append(want, x, n);
        add(want, "b");
        break;
    case 3: /* inside "..." between single quotes, which are literal */
        add(cmd, "printf %s \"'");
        add(cmd, tok);
        add(cmd, "'\"");
        add(want, "'");
        pr_buf_append(want, x, n);
        add(want, "'");
        break;
    case 4: /* inside '...' between double quotes, which are literal */
        add(cmd, "printf %s '\"");
        add(cmd, tok);
        add(cmd, "\"'");
        add(want, "\"");
        pr_buf_append(want, x, n);
        add(want, "\"");
        break;
    case 5: /* here-document, unquoted delimiter */
    case 6: /* here-document, quoted delimiter */
    case 7: /* here-document, <<- */
        add(cmd, CAT " <<");
        if (which % NLEAVES == 7)
            add(cmd, "-");
        add(cmd, which % NLEAVES == 6 ? "'" : "");
        add(cmd, delim);
        add(cmd, which % NLEAVES == 6 ? "'" : "");
        add(cmd, which % NLEAVES == 7 ? "\n\ta" : "\na");
        add(cmd, tok);
        add(cmd, which % NLEAVES == 7 ? "b\n\t" : "b\n");
        add(cmd, delim);
        add(want, "a");
        pr_buf_append(want, x, n);
        add(want, "b\n");
        break;
    case 9: /* here-document, right after a variable */
        add(cmd, "v=; " CAT " <<");
        add(cmd, delim);
        add(cmd, "\n$v");
        add(cmd, tok);
        add(cmd, "\n");
        add(cmd, delim);
        pr_buf_append(want, x, n);
        add(want, "\n");
        break;
    case 10: /* right after a variable and a special parameter */
        add(cmd, "v=; printf %s \"$v");
        add(cmd, tok);
        add(cmd, "\" $#");
        add(cmd, tok);
        pr_buf_append(want, x, n);
        add(want, "0");
        pr_buf_append(want, x, n);
        break;
    default: /* two words, one unquoted and one inside "$(...)" */
        add(cmd, "printf '%s|' ");
        add(cmd, tok);
        add(cmd, " \"$(printf %s ");
        add(cmd, tok);
        add(cmd, ")\"");
        pr_buf_append(want, x, n);
        add(want, "|");
        /* $(...) drops the trailing newlines. */
        while (n > 0 && x[n - 1] == '\n')
            n--;
        pr_buf_append(want, x, n);
        add(want, "|");
        break;
    }
}

/* Wraps cmd (which prints want) in one more layer.  Each puts a newline
 * after the inner command, which may end with a here-document, and a
 * space after $( (the inner command may start with "(": $(( would be
 * arithmetic). */
static void
wrap(unsigned which, unsigned level, struct pr_buf *cmd, struct pr_buf *want)
{
    struct pr_buf c = {0};
    char delim[16];

    snprintf(delim, sizeof(delim), "EOF%u", level);
    switch (which % 7) {
    case 0:
        add(&c, "printf %s \"$( ");
        pr_buf_append(&c, cmd->data, cmd->len);
        add(&c, "\necho x)\"");
        add(want, "x");
        break;
    case 1:
        add(&c, "v=$( ");
        pr_buf_append(&c, cmd->data, cmd->len);
        add(&c, "\necho x); printf %s \"$v\"");
        add(want, "x");
        break;
    case 2:
        add(&c, CAT " <<");
        add(&c, delim);
        add(&c, "\n$( ");
        pr_buf_append(&c, cmd->data, cmd->len);
        add(&c, "\necho x)\n");
        add(&c, delim);
        add(want, "x\n");
        break;
    case 3:
        add(&c, "{ ");
        pr_buf_append(&c, cmd->data, cmd->len);
        add(&c, "\n} | " CAT);
        break;
    case 4:
        add(&c, "if true; then ");
        pr_buf_append(&c, cmd->data, cmd->len);
        add(&c, "\nfi");
        break;
    case 5:
        add(&c, "( ");
        pr_buf_append(&c, cmd->data, cmd->len);
        add(&c, "\n)");
        break;
    default:
        add(&c, "# a comment\n: \"it's\" '\"' $(echo \"(\") ${x-}; ");
        pr_buf_append(&c, cmd->data, cmd->len);
        add(&c, "\n");
        break;
    }
    pr_buf_free(cmd);
    *cmd = c;
}

/* Runs line with argv0 -c (argv0 and opt: the shell), returns what it
 * printed in *out; aborts if it hangs or fails. */
static void
run_shell(const char *sh, const char *opt, const char *line, struct pr_buf *out)
{
    static char path_var[] = "PATH=/usr/bin:/bin";
    static char lc_var[] = "LC_ALL=C";
    static char dash_c[] = "-c";
    char *argv[5];
    char *envp[] = {path_var, lc_var, NULL};
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    int fds[2], status, i = 0;
    pid_t pid;

    argv[i++] = (char *)(uintptr_t)sh;
    if (opt != NULL)
        argv[i++] = (char *)(uintptr_t)opt;
    argv[i++] = dash_c;
    argv[i++] = (char *)(uintptr_t)line;
    argv[i] = NULL;
    if (pipe(fds) != 0)
        abort();
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
    posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addclose(&fa, fds[0]);
    posix_spawn_file_actions_addclose(&fa, fds[1]);
    posix_spawnattr_init(&attr);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);
    posix_spawnattr_setpgroup(&attr, 0);
    if (posix_spawn(&pid, sh, &fa, &attr, argv, envp) != 0)
        abort();
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
    close(fds[1]);
    for (;;) {
        struct pollfd p = {fds[0], POLLIN, 0};
        char buf[4096];
        ssize_t r;

        if (poll(&p, 1, 10000) != 1) {
            fprintf(stderr, "the shell hangs on: %s\n", line);
            kill(-pid, SIGKILL);
            abort();
        }
        r = read(fds[0], buf, sizeof(buf));
        if (r <= 0)
            break;
        pr_buf_append(out, buf, (size_t)r);
    }
    close(fds[0]);
    if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
        WEXITSTATUS(status) != 0) {
        fprintf(stderr, "%s failed (status %d) on: %s\n", sh, status, line);
        abort();
    }
}

static int
same(const struct pr_buf *a, const struct pr_buf *b)
{
    return a->len == b->len &&
           (a->len == 0 || memcmp(a->data, b->data, a->len) == 0);
}

static void
dump(const char *what, const char *p, size_t n)
{
    size_t i;

    fprintf(stderr, "%s (%zu bytes):", what, n);
    for (i = 0; i < n; i++)
        fprintf(stderr, " %02x", (unsigned char)p[i]);
    fputc('\n', stderr);
}

/* Two selector bytes choose a generated command: flags holds 0x80 for
 * -I XX instead of {}, 0x40 for bash too, and in 0x30 how many wrappers;
 * the base-7 digits of wraps choose them (innermost first). */
#define SEL_REPLACE   0x80
#define SEL_BASH      0x40
#define SEL_LAYERS(f) (((f) >> 4) & 3)

/* Builds the command of leaf context `which` wrapped as flags and wraps
 * say, expands it with item x and returns the task, or NULL when the item
 * is refused for a here-document it would break.  *want gets what the
 * shell must print. */
static struct pr_task *
expand_one(unsigned which, unsigned flags, unsigned wraps, const char *x,
           size_t n, struct pr_buf *want)
{
    struct pr_buf cmd = {0}, w = {0};
    struct pr_template_options o;
    struct pr_template_diag d;
    struct pr_template *t;
    struct pr_task *task;
    struct pr_item item;
    const char *tok = flags & SEL_REPLACE ? "XX" : "{}";
    unsigned layers = SEL_LAYERS(flags), k, digits[3];
    char *words[1];

    leaf(which, tok, x, n, layers, &cmd, &w);
    digits[0] = wraps % 7;
    digits[1] = wraps / 7 % 7;
    digits[2] = wraps / 49 % 7;
    for (k = 0; k < layers; k++)
        wrap(digits[k], layers - 1 - k, &cmd, &w);
    pr_buf_append(&cmd, "", 1);
    words[0] = cmd.data;
    memset(&o, 0, sizeof(o));
    o.words = words;
    o.nwords = 1;
    o.force_shell = 1;
    o.replace = tok[0] == 'X' ? "XX" : NULL;
    if (pr_template_new(&t, &o, &d) != 0) {
        fprintf(stderr, "refused: %s\n%s\n", d.msg, cmd.data);
        abort();
    }
    item.p = (char *)(uintptr_t)x;
    item.len = n;
    task = pr_task_new_items(&item, 1);
    if (pr_template_expand(t, task) != 0) {
        /* Only a here-document may refuse an item: one with a line that
         * would end it, a tab that <<- would strip, or (quoted, in $(...))
         * a backslash-newline or a \001 that bash would change. */
        int bnl = n > 0 && (x[0] == '\n' || x[n - 1] == '\\' ||
                            strstr(x, "\\\n") != NULL);

        if (strstr(cmd.data, "<<") == NULL ||
            (memchr(x, '\t', n) == NULL && strstr(x, "EOF") == NULL &&
             memchr(x, '\001', n) == NULL && !bnl)) {
            fprintf(stderr, "item refused: %s\n%s\n", task->error_what,
                    task->line);
            abort();
        }
        pr_task_free(task);
        task = NULL;
    } else {
        pr_buf_append(want, w.data, w.len);
    }
    pr_template_free(t);
    pr_buf_free(&cmd);
    pr_buf_free(&w);
    return task;
}

/* Runs script with each shell; aborts when one prints other bytes than
 * want. */
static int
prints(const char *script, const struct pr_buf *want, int bash)
{
    struct pr_buf got = {0};
    int ok;

    run_shell("/bin/sh", NULL, script, &got);
    ok = same(&got, want);
    if (ok && bash) {
        got.len = 0;
        run_shell("/bin/bash", "--posix", script, &got);
        ok = same(&got, want);
    }
    if (!ok) {
        fprintf(stderr, "%s -c '%s'\n", bash ? "sh or bash" : "sh", script);
        dump("wanted", want->data, want->len);
        dump("got", got.data, got.len);
    }
    pr_buf_free(&got);
    return ok;
}

/* The semantic check: x is the item, flags and wraps choose the
 * command.  Forking is the cost: without wrappers, one script checks the
 * item in every leaf context (on a mismatch each is run alone to name
 * it); with wrappers, which fork subshells, one leaf (from both bytes). */
static void
check_shell(unsigned flags, unsigned wraps, const char *x, size_t n)
{
    static int have_bash = -1;
    struct pr_buf script = {0}, want = {0};
    unsigned which, first = 0, last = NLEAVES;
    int bash;

    if (have_bash < 0)
        have_bash = access("/bin/bash", X_OK) == 0;
    bash = have_bash && (flags & SEL_BASH);
    if (SEL_LAYERS(flags) > 0) {
        first = (wraps + (flags & 0x0f)) % NLEAVES;
        last = first + 1;
    }
    for (which = first; which < last; which++) {
        struct pr_task *task = expand_one(which, flags, wraps, x, n, &want);

        if (task == NULL)
            continue;
        pr_buf_append(&script, task->line, task->line_len);
        pr_buf_append(&script, "\n", 1);
        pr_task_free(task);
    }
    pr_buf_append(&script, "", 1);
    if (!prints(script.data, &want, bash)) {
        for (which = first; which < last; which++) {
            struct pr_buf w = {0};
            struct pr_task *task = expand_one(which, flags, wraps, x, n, &w);

            if (task != NULL)
                prints(task->line, &w, bash);
            pr_task_free(task);
            pr_buf_free(&w);
        }
        abort();
    }
    pr_buf_free(&script);
    pr_buf_free(&want);
}

/* Pieces of shell syntax: an item byte from 0x80 up stands for one, so
 * that random bytes make hostile items often (libFuzzer learns from
 * strcmp, not from the strchr that quoting uses). */
static const char *const pieces[] = {
    "$",    "`",    "\\",   "'",    "\"",       "\n",   "\t",    "$x",
    "${x}", "$(",   ")",    "{}",   "#",        ";",    "&",     "|",
    "<",    ">",    "*",    "?",    "~",        "!",    "-",     " ",
    "EOF0", "EOF1", "EOF2", "EOF3", "\nEOF0\n", "\n\t", "'\\''", "\\\n",
    "$((",  "))",   "$'",   "\\$",  "\xff",     "\xe9", "$1",    "$$",
};

/* The item that bytes p[0, n) stand for (a NUL byte, which no item
 * passed to a shell can hold, stands for nothing). */
static void
decode_item(const unsigned char *p, size_t n, struct pr_buf *b)
{
    size_t i;

    for (i = 0; i < n; i++) {
        if (p[i] >= 0x80) {
            const char *piece = pieces[(p[i] - 0x80) % PR_ARRAY_SIZE(pieces)];

            pr_buf_append(b, piece, strlen(piece));
        } else if (p[i] != 0) {
            pr_buf_append(b, &p[i], 1);
        }
    }
}

/* Hostile items that every run checks in every context, whatever the
 * corpus. */
int LLVMFuzzerInitialize(int *argc, char ***argv);

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    static const char *const hostile[] = {
        "$(touch /nonexistent/pwned)",
        "`id`",
        "a;id",
        "it's",
        "\"",
        "'",
        "\\",
        "trailing\\",
        "$HOME $x ${x} $1 $$",
        "-n",
        "new\nline",
        "tab\there",
        "EOF0\nEOF1\nEOF2\nEOF3",
        "\n",
        "",
        "*",
        "a\\\nb",
        "\xff\xfe",
        "'\\''\"\\\"\"",
        "$((1+1))",
        "!$",
    };
    static const unsigned char sel[][2] = {
        {0x00, 0},   {0x40, 0},   {0x80, 0},  {0x10, 2}, {0x20, 2 * 7},
        {0x30, 219}, {0x71, 104}, {0xb3, 62}, {0x15, 6},
    };
    size_t i, k;

    (void)argc;
    (void)argv;
    for (i = 0; i < PR_ARRAY_SIZE(hostile); i++)
        for (k = 0; k < PR_ARRAY_SIZE(sel); k++)
            check_shell(sel[k][0], sel[k][1], hostile[i], strlen(hostile[i]));
    return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *copy = malloc(size + 1);
    char *parts[64];
    size_t nparts = 0;
    char *p;
    char *end;
    struct pr_template_options o;
    struct pr_template_diag d;
    struct pr_template *t;
    struct pr_item items[16];
    unsigned nitems = 0;
    size_t i;
    int nwords = 0;

    memcpy(copy, data, size);
    copy[size] = '\0';
    end = copy + size;
    for (p = copy; p <= end && nparts < 64; p += strlen(p) + 1)
        parts[nparts++] = p;
    memset(&o, 0, sizeof(o));
    o.force_shell = nparts > 0 && (parts[0][0] & 1);
    o.replace = nparts > 0 && (parts[0][0] & 2) ? "XX" : NULL;
    o.words = parts + 1;
    for (i = 1; i < nparts && strcmp(parts[i], "\x01") != 0; i++)
        nwords++;
    o.nwords = nwords;
    for (i = (size_t)nwords + 2; i < nparts && nitems < 16; i++) {
        items[nitems].p = parts[i];
        items[nitems].len = strlen(parts[i]);
        nitems++;
    }
    if (pr_template_new(&t, &o, &d) != 0) {
        if (d.msg[0] == '\0')
            abort();
    } else if (t != NULL) {
        struct pr_task *task = pr_task_new_items(items, nitems);

        task->seq = 1;
        task->slot = 1;
        if (pr_template_expand(t, task) != 0 && task->error_what == NULL)
            abort();
        if (task->line == NULL)
            abort();
        pr_task_free(task);
        pr_template_free(t);
    }
    for (i = 0; i < nitems; i++) {
        struct pr_buf b = {0};
        char *back;
        size_t n;

        pr_shell_quote(&b, items[i].p, items[i].len);
        back = malloc(b.len + 1);
        n = unquote(b.data, b.len, back);
        if (n != items[i].len || memcmp(back, items[i].p, n) != 0)
            abort();
        free(back);
        pr_buf_free(&b);
    }
    /* Half the inputs (bit 2 of the first byte) also go through the
     * shell: the first two bytes choose the command, the rest make the
     * item (few inputs hold the NUL that the layout above needs, and
     * libFuzzer starts with short inputs). */
    if (size > 0 && (data[0] & 4)) {
        struct pr_buf x = {0};

        if (size > 2)
            decode_item(data + 2, size - 2, &x);
        pr_buf_append(&x, "", 1);
        check_shell(data[0], size > 1 ? data[1] : 0, x.data, x.len - 1);
        pr_buf_free(&x);
    }
    free(copy);
    return 0;
}
