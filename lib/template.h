/*
 * template: the COMMAND of map mode, and how an item fills it.  Replacement
 * strings: {} the item, {.} without extension, {/} basename, {//} dirname,
 * {/.} basename without extension, {#} sequence number, {%} slot; {N},
 * {-N} (and {N.}, {N/}, {N//}, {N/.}) the Nth item (from the end), and
 * with --header the names of the positions ({name}).  A
 * command of several words runs directly and a value fills its word as is.
 * A command that is one word with shell syntax (or --shell) runs through
 * /bin/sh -c: it is scanned once, as sh would read it, and each value is
 * quoted for the place it stands in (unquoted, '...', "...", a
 * here-document); a place where no quoting is safe refuses the template.
 * Either way an item is passed literally: it never becomes code and never
 * splits.
 */
#ifndef PR_TEMPLATE_H
#define PR_TEMPLATE_H

#include <stddef.h>

#include "task.h"
#include "util.h"

struct pr_template;

struct pr_template_options {
    char **words;        /* COMMAND [ARG...] */
    int nwords;
    const char *replace; /* -I STR: the item's string instead of {} */
    int force_shell;     /* --shell */
    int text;            /* never a shell command: a text (--tagstring) */
    int no_args;         /* -n 0: the items fill nothing, are not appended */
    const char *const *names; /* --header: {names[i]} is {i+1} */
    int nnames;
};

/* Why a command was refused: "COMMAND:1:7: {} is inside `...`, ...". */
struct pr_template_diag {
    char msg[512];
};

/* Compiles the command.  Returns 0 and in *out a new template (free with
 * pr_template_free; NULL when there are no words), or UV_EINVAL with
 * d->msg set when a shell command puts a replacement string where no
 * quoting passes an item literally (inside `...`, ${...}, $((...)), a
 * comment, a here-document's delimiter, right after $ or a backslash, an
 * unclosed quote, or past syntax whose quoting sh leaves open). */
int pr_template_new(struct pr_template **out,
                    const struct pr_template_options *o,
                    struct pr_template_diag *d);
void pr_template_free(struct pr_template *t);

/* Does the command run through /bin/sh? */
int pr_template_is_shell(const struct pr_template *t);

/* Does the command hold {%}, which only a task's start can fill? */
int pr_template_uses_slot(const struct pr_template *t);

/* Builds task's command from its items, seq and slot: task->line (the
 * shell line, or the pasteable form of argv) and, when run directly,
 * task->argv.  Returns 0, or UV_EINVAL with task->error_what set when an
 * item cannot be passed (a NUL byte in an argument; in a here-document, a
 * line that would end it or a leading tab that <<- would strip). */
int pr_template_expand(const struct pr_template *t, struct pr_task *task);

/* Appends t filled with task's items to b, as is (no quoting): for a
 * template compiled as a text. */
void pr_template_format(const struct pr_template *t, const struct pr_task *task,
                        struct pr_buf *b);

/* A shell line that the shell would only split into words and run (no
 * quotes, expansions, globs, redirections, operators, comments,
 * assignments, keywords or builtins) can start without /bin/sh.  Returns
 * 1 and a new NULL-terminated argv (free each string and the array), or 0
 * when the line needs the shell. */
int pr_shell_split_simple(const char *line, size_t len, char ***argv_out);

/* Appends s as one shell word in single quotes ('it'\''s'). */
void pr_shell_quote(struct pr_buf *b, const char *s, size_t n);

/* Appends s as a shell word, quoted only if it needs to be. */
void pr_shell_quote_if_needed(struct pr_buf *b, const char *s, size_t n);

#endif
