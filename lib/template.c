/*
 * template: a command is compiled once into segments, each a literal or a
 * replacement; a task's command is built from them when it starts (its
 * slot is known only then).  A shell command is read once, at compile
 * time, the way sh reads it, so that each replacement knows the quoting
 * context it stands in; building a task's line is then appending bytes.
 * Values never pass through a shell unquoted, and in the direct form never
 * through a shell at all.
 */
#include "template.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

enum seg_kind {
    SEG_TEXT,
    SEG_ITEM,       /* {} */
    SEG_NOEXT,      /* {.} */
    SEG_BASE,       /* {/} */
    SEG_DIR,        /* {//} */
    SEG_BASENOEXT,  /* {/.} */
    SEG_SEQ,        /* {#} */
    SEG_SLOT,       /* {%} */
    SEG_HEREDOC,    /* the body of a here-document holding a value starts */
    SEG_HEREDOC_END /* ... and ends: its delimiter line (or the end) */
};

/* Where a value stands in a shell line; each place has its own quoting,
 * chosen so that the shell hands the command the value's exact bytes. */
enum quote_ctx {
    CTX_WORD,    /* unquoted: the value in '...', ' as '\'' */
    CTX_SQUOTE,  /* inside '...': ' as '\'' (close, quote, reopen) */
    CTX_DQUOTE,  /* inside "...": closed, the value in '...', reopened */
    CTX_HEREDOC, /* an unquoted here-document body: \ before $ ` \ */
    CTX_RAW      /* a quoted here-document body: as it is */
};

struct seg {
    enum seg_kind kind;
    enum quote_ctx ctx; /* a value's */
    int strip_tabs;     /* a value inside a <<- body */
    int bnl_removed;    /* ... inside $(...) in an unquoted body */
    int in_subst;       /* ... inside $(...) */
    int pos;            /* a value's: 0 every item, N the Nth, -N the
                           Nth from the end ({2}, {-1}) */
    size_t heredoc;     /* SEG_HEREDOC(_END): index in t->heredocs */
    char *text;         /* SEG_TEXT */
    size_t len;
};

struct word {
    struct seg *segs;
    size_t nsegs;
};

/* A here-document whose body holds a value: no line of the body may turn
 * out to be its delimiter, or the shell would end it there. */
struct heredoc {
    char *delim;
    size_t len;
    int strip_tabs; /* <<-: leading tabs go before the comparison */
    int closed;     /* a delimiter line follows the body (not the end) */
    size_t depth;   /* how many such bodies are around this one */
};

/* Here-documents inside here-documents (through $(...)) nest this deep at
 * most, so that building a line needs no allocation for them. */
#define MAX_HEREDOC_DEPTH 4

struct pr_template {
    struct word *words; /* a shell command has one: the whole line */
    size_t nwords;
    int shell;
    int has_repl; /* some replacement string ({#} too): nothing appended */
    int no_args;  /* -n 0: the items fill nothing */
    struct heredoc *heredocs;
    size_t nheredocs;
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

static int
takes_item(enum seg_kind kind)
{
    return kind >= SEG_ITEM && kind <= SEG_BASENOEXT;
}

static struct seg *
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
        return s;
    }
    w->segs = pr_xrealloc(w->segs, (w->nsegs + 1) * sizeof(*w->segs));
    s = &w->segs[w->nsegs++];
    memset(s, 0, sizeof(*s));
    s->kind = kind;
    s->text = kind == SEG_TEXT ? pr_xmemdup(text, len) : NULL;
    s->len = kind == SEG_TEXT ? len : 0;
    return s;
}

/* After {N or {name: the path form's suffix and the closing brace ("}",
 * ".}", "/}", "//}", "/.}").  Returns the length, and its kind, or 0. */
static size_t
positional_tail(const char *s, enum seg_kind *kind)
{
    static const struct {
        const char *tail;
        enum seg_kind kind;
    } tails[] = {{"}", SEG_ITEM},
                 {".}", SEG_NOEXT},
                 {"//}", SEG_DIR},
                 {"/.}", SEG_BASENOEXT},
                 {"/}", SEG_BASE}};
    size_t i;

    for (i = 0; i < PR_ARRAY_SIZE(tails); i++) {
        size_t n = strlen(tails[i].tail);

        if (strncmp(s, tails[i].tail, n) == 0) {
            *kind = tails[i].kind;
            return n;
        }
    }
    return 0;
}

/* {N}, {-N} and their path forms, or {name} (--header): the length at s
 * (0: none), its kind and position. */
static size_t
positional_at(const char *s, const struct pr_template_options *o,
              enum seg_kind *kind, int *pos)
{
    const char *p = s + 1;
    size_t n;
    int i;

    if (*p == '-')
        p++;
    if (*p >= '1' && *p <= '9') {
        long v = 0;

        while (*p >= '0' && *p <= '9' && v < 1000000)
            v = v * 10 + (*p++ - '0');
        n = positional_tail(p, kind);
        if (n == 0 || v >= 1000000)
            return 0;
        *pos = s[1] == '-' ? -(int)v : (int)v;
        return (size_t)(p - s) + n;
    }
    for (i = 0; i < o->nnames; i++) {
        size_t len = strlen(o->names[i]);

        if (len == 0 || strncmp(s + 1, o->names[i], len) != 0)
            continue;
        n = positional_tail(s + 1 + len, kind);
        if (n > 0) {
            *pos = i + 1;
            return 1 + len + n;
        }
    }
    return 0;
}

/* The length of the replacement string at s (0: none), its kind and its
 * position (0: every item). */
static size_t
token_at(const char *s, const struct pr_template_options *o,
         enum seg_kind *kind, int *pos)
{
    const char *replace = o->replace;
    size_t rlen = replace ? strlen(replace) : 0;
    size_t i;

    *pos = 0;
    if (rlen > 0 && strncmp(s, replace, rlen) == 0) {
        *kind = SEG_ITEM;
        return rlen;
    }
    if (*s != '{')
        return 0;
    i = positional_at(s, o, kind, pos);
    if (i > 0)
        return i;
    for (i = 0; i < PR_ARRAY_SIZE(tokens); i++) {
        size_t n = strlen(tokens[i].token);

        /* With -I, {} is plain text (as in xargs). */
        if (rlen > 0 && tokens[i].kind == SEG_ITEM)
            continue;
        if (strncmp(s, tokens[i].token, n) == 0) {
            *kind = tokens[i].kind;
            return n;
        }
    }
    return 0;
}

/* Splits one word into literals and replacement strings. */
static void
compile_word(struct pr_template *t, struct word *w, const char *s,
             const struct pr_template_options *o)
{
    while (*s != '\0') {
        enum seg_kind kind;
        int pos;
        size_t n = token_at(s, o, &kind, &pos);

        if (n > 0) {
            add_seg(w, kind, NULL, 0)->pos = pos;
            t->has_repl = 1;
            s += n;
        } else {
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

static void
free_words(struct word *words, size_t n)
{
    size_t i, j;

    for (i = 0; i < n; i++) {
        for (j = 0; j < words[i].nsegs; j++)
            free(words[i].segs[j].text);
        free(words[i].segs);
    }
    free(words);
}

/*
 * Reading a shell command as sh would.  The command (its words joined by
 * spaces, as the shell gets them) becomes a stream of symbols: a byte, or
 * a replacement string.  The lexer walks it through the quoting contexts
 * of POSIX sh (unquoted text, '...', "...", backslashes, $(...), `...`,
 * ${...}, $((...)), comments and here-documents), copies the text into
 * segments and gives each value the context it stands in.  A value where
 * no quoting is safe refuses the command, naming the place.  Syntax that
 * the shells read differently ($'...', case inside $(...), ...) makes
 * the lexer unsure of what follows: a value after it is refused too.
 */
/* A replacement string is a symbol from SYM_MARK on: SYM_MARK + its
 * seg_kind, plus KIND_SPAN times its position (zigzag: 0, 1, -1, 2, -2...
 * as 0, 1, 2, 3, 4...). */
#define SYM_EOF   (-1)
#define SYM_MARK  256
#define KIND_SPAN 16

static int
mark_of(enum seg_kind kind, int pos)
{
    int zig = pos > 0 ? 2 * pos - 1 : -2 * pos;

    return SYM_MARK + (int)kind + KIND_SPAN * zig;
}

static enum seg_kind
mark_kind(int c)
{
    return (enum seg_kind)((c - SYM_MARK) % KIND_SPAN);
}

static int
mark_pos(int c)
{
    int zig = (c - SYM_MARK) / KIND_SPAN;

    return zig % 2 == 1 ? (zig + 1) / 2 : -(zig / 2);
}

struct sym {
    int c;
    size_t off; /* in the line, for messages */
};

struct pending {
    char *delim;
    size_t len;
    int quoted; /* some part of the delimiter is quoted: a literal body */
    int strip_tabs;
    int subst; /* the $(...) depth of its << */
    size_t off;
};

#define MAX_PENDING 16

struct placed {
    size_t off;
    int mark;
};

struct lexer {
    const struct sym *s;
    size_t n;
    size_t i;   /* the next symbol */
    size_t end; /* the end of the region read: all, or one body */
    const char *line;
    const char *replace;
    struct pr_template *t;
    struct word *w;
    const char *unsafe; /* why no value can stand here (NULL: it can) */
    int dq;             /* inside "..." or a body (not reset by $(...)) */
    int subst;          /* inside this many $(...) */
    int strip_tabs;     /* inside a <<- body */
    int hd_text;        /* inside an unquoted body, not yet in $(...) */
    int bnl_removed;    /* inside $(...) in an unquoted body */
    size_t hd_depth;    /* inside this many bodies that hold a value */
    const char *unsure; /* syntax read differently by the shells */
    size_t unsure_off;
    const char *tail; /* why items appended at the end would not be words */
    struct pending pend[MAX_PENDING];
    size_t npend;
    struct placed *placed;
    size_t nplaced;
    struct pr_template_diag *d;
    int failed;
};

static void lex_cmd(struct lexer *L, int subst, size_t open);
static void lex_dquote(struct lexer *L, size_t open);
static void lex_backquote(struct lexer *L);
static void lex_dollar(struct lexer *L, enum quote_ctx ctx);

static void
position(const char *line, size_t off, size_t *ln, size_t *col)
{
    size_t i;

    *ln = 1;
    *col = 1;
    for (i = 0; i < off && line[i] != '\0'; i++) {
        if (line[i] == '\n') {
            (*ln)++;
            *col = 1;
        } else {
            (*col)++;
        }
    }
}

static void refuse(struct lexer *L, size_t off, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
refuse(struct lexer *L, size_t off, const char *fmt, ...)
{
    size_t ln, col;
    int n;
    va_list ap;

    if (L->failed)
        return;
    L->failed = 1;
    position(L->line, off, &ln, &col);
    n = snprintf(L->d->msg, sizeof(L->d->msg), "COMMAND:%zu:%zu: ", ln, col);
    va_start(ap, fmt);
    vsnprintf(L->d->msg + n, sizeof(L->d->msg) - (size_t)n, fmt, ap);
    va_end(ap);
}

/* The replacement string of a mark as the user wrote it ({name} shows
 * as its position).  The text is good until the next call: messages
 * name one. */
static const char *
token_name(const struct lexer *L, int mark)
{
    static char buf[48];
    enum seg_kind kind = mark_kind(mark);
    int pos = mark_pos(mark);
    size_t i;

    if (kind == SEG_ITEM && pos == 0 && L->replace != NULL)
        return L->replace;
    for (i = 0; i < PR_ARRAY_SIZE(tokens); i++) {
        if (tokens[i].kind != kind)
            continue;
        if (pos == 0)
            return tokens[i].token;
        snprintf(buf, sizeof(buf), "{%d%s", pos, tokens[i].token + 1);
        return buf;
    }
    return "?";
}

static int
at(const struct lexer *L, size_t k)
{
    return L->i + k < L->end ? L->s[L->i + k].c : SYM_EOF;
}

static size_t
off_at(const struct lexer *L, size_t k)
{
    if (L->i + k < L->n)
        return L->s[L->i + k].off;
    return L->n > 0 ? L->s[L->n - 1].off + 1 : 0;
}

static int
is_item_mark(int c)
{
    return c >= SYM_MARK && takes_item(mark_kind(c));
}

static void
set_unsure(struct lexer *L, size_t off, const char *what)
{
    if (L->unsure != NULL)
        return;
    L->unsure = what;
    L->unsure_off = off;
}

/* An unsure reason is a name, then maybe " (why)": the position goes
 * between them in messages. */
static int
unsure_name_len(const char *what)
{
    const char *why = strstr(what, " (");

    return (int)(why != NULL ? (size_t)(why - what) : strlen(what));
}

/* A value takes its place, with the context it stands in. */
static void
place(struct lexer *L, const struct sym *y, enum quote_ctx ctx)
{
    enum seg_kind kind = mark_kind(y->c);
    struct seg *sg;

    /* {#} and {%} are digits: the same in every context. */
    if (!takes_item(kind)) {
        add_seg(L->w, kind, NULL, 0);
        return;
    }
    if (L->unsafe != NULL) {
        refuse(L, y->off, "%s %s", token_name(L, y->c), L->unsafe);
        return;
    }
    if (L->unsure != NULL) {
        size_t ln, col;

        position(L->line, L->unsure_off, &ln, &col);
        refuse(L, y->off,
               "%s comes after %.*s at %zu:%zu%s: past it poolrun cannot be "
               "sure how sh reads a value",
               token_name(L, y->c), unsure_name_len(L->unsure), L->unsure, ln,
               col, L->unsure + unsure_name_len(L->unsure));
        return;
    }
    sg = add_seg(L->w, kind, NULL, 0);
    sg->ctx = ctx;
    sg->strip_tabs = L->strip_tabs > 0;
    sg->bnl_removed = L->bnl_removed;
    sg->in_subst = L->subst > 0;
    sg->pos = mark_pos(y->c);
    L->placed = pr_xrealloc(L->placed, (L->nplaced + 1) * sizeof(*L->placed));
    L->placed[L->nplaced].off = y->off;
    L->placed[L->nplaced].mark = y->c;
    L->nplaced++;
}

/* Copies the next symbol: a byte as text, a replacement as a value. */
static void
take(struct lexer *L, enum quote_ctx ctx)
{
    const struct sym *y = &L->s[L->i++];

    if (y->c >= SYM_MARK) {
        place(L, y, ctx);
    } else {
        char ch = (char)y->c;

        add_seg(L->w, SEG_TEXT, &ch, 1);
    }
}

/* A construct opened at open reaches the end of what is read. */
static void
unclosed(struct lexer *L, const char *what, size_t open)
{
    size_t k;

    if (L->tail == NULL)
        L->tail = "ends inside an unclosed quote or substitution";
    /* Past syntax the lexer is unsure of, "unclosed" may be its mistake;
     * values there are refused anyway. */
    if (L->unsure != NULL)
        return;
    for (k = 0; k < L->nplaced; k++) {
        if (L->placed[k].off > open) {
            size_t ln, col;

            position(L->line, open, &ln, &col);
            refuse(L, L->placed[k].off,
                   "%s is inside %s opened at %zu:%zu, which is never closed",
                   token_name(L, L->placed[k].mark), what, ln, col);
            return;
        }
    }
    refuse(L, open, "%s is never closed", what);
}

/* A backslash: it quotes the next symbol (or, before a newline, joins
 * two lines).  Before a value it would quote the value's own quoting. */
static void
lex_backslash(struct lexer *L, enum quote_ctx ctx)
{
    size_t off = off_at(L, 0);
    int prev = L->i > 0 ? L->s[L->i - 1].c : SYM_EOF;
    int next = at(L, 1);

    if (is_item_mark(next)) {
        refuse(L, off_at(L, 1),
               "%s follows a backslash, which would quote the first "
               "character of its quoting instead",
               token_name(L, next));
        return;
    }
    if (next == '\n') {
        /* The shells disagree whether a body line joined this way can
         * end a here-document; and a joined line could make $( (, <<
         * or a keyword that the lexer reads in two. */
        if (ctx == CTX_HEREDOC)
            set_unsure(L, off,
                       "a backslash-newline in a here-document (the shells "
                       "disagree on where the body ends)");
        else if (L->subst > 0 || prev == '$' || prev == '<' || prev == '(')
            set_unsure(L, off,
                       "a backslash-newline (it may join what poolrun "
                       "reads as two tokens)");
    }
    take(L, ctx);
    if (next == SYM_EOF) {
        if (ctx == CTX_WORD && L->tail == NULL)
            L->tail = "ends with a backslash";
        return;
    }
    take(L, ctx);
}

/* After an opening ': everything up to the next ' is literal. */
static void
lex_squote(struct lexer *L, size_t open)
{
    while (!L->failed) {
        int c = at(L, 0);

        if (c == SYM_EOF) {
            unclosed(L, "'...'", open);
            return;
        }
        take(L, CTX_SQUOTE);
        if (c == '\'')
            return;
    }
}

/* After an opening ": up to the closing one, with $, ` and \ active. */
static void
lex_dquote(struct lexer *L, size_t open)
{
    L->dq++;
    while (!L->failed) {
        int c = at(L, 0);

        if (c == SYM_EOF) {
            unclosed(L, "\"...\"", open);
            break;
        }
        if (c == '"') {
            take(L, CTX_DQUOTE);
            break;
        }
        if (c == '\\')
            lex_backslash(L, CTX_DQUOTE);
        else if (c == '$')
            lex_dollar(L, CTX_DQUOTE);
        else if (c == '`')
            lex_backquote(L);
        else
            take(L, CTX_DQUOTE);
    }
    L->dq--;
}

/* `...`: the shell removes a layer of backslashes before it reads the
 * command inside, so no quoting made for that command survives it. */
static void
lex_backquote(struct lexer *L)
{
    size_t open = off_at(L, 0);
    const char *saved = L->unsafe;

    take(L, CTX_WORD);
    L->unsafe = "is inside `...`, where no quoting keeps an item literal: "
                "use $(...) instead";
    while (!L->failed) {
        int c = at(L, 0);

        if (c == SYM_EOF) {
            unclosed(L, "`...`", open);
            break;
        }
        if (c == '`') {
            take(L, CTX_WORD);
            break;
        }
        if (c == '\n' && L->npend > 0)
            set_unsure(L, off_at(L, 0),
                       "a newline inside `...` before a here-document's "
                       "body");
        take(L, CTX_WORD);
        if (c == '\\' && at(L, 0) != SYM_EOF)
            take(L, CTX_WORD);
    }
    L->unsafe = saved;
}

/* After $(: a command of its own, up to the matching ). */
static void
lex_subst(struct lexer *L, size_t open)
{
    int saved_dq = L->dq, saved_text = L->hd_text, saved_bnl = L->bnl_removed;

    /* bash reads an unquoted body as "..." first, removing each
     * backslash-newline even in the text of a $(...) in it. */
    if (L->hd_text)
        L->bnl_removed = 1;
    L->hd_text = 0;
    L->dq = 0;
    L->subst++;
    lex_cmd(L, 1, open);
    L->subst--;
    L->dq = saved_dq;
    L->hd_text = saved_text;
    L->bnl_removed = saved_bnl;
}

/* After ${: up to the first } that is not quoted or nested. */
static void
lex_param(struct lexer *L, size_t open)
{
    const char *saved = L->unsafe;
    enum quote_ctx ctx = L->dq ? CTX_DQUOTE : CTX_WORD;

    L->unsafe = "is inside ${...}, where the shells do not agree on "
                "quoting: set a variable to it outside";
    while (!L->failed) {
        int c = at(L, 0);
        size_t off = off_at(L, 0);

        if (c == SYM_EOF) {
            unclosed(L, "${...}", open);
            break;
        }
        if (c == '}') {
            take(L, ctx);
            break;
        }
        if (c == '\\') {
            lex_backslash(L, ctx);
        } else if (c == '\'' && !L->dq) {
            take(L, ctx);
            lex_squote(L, off);
        } else if (c == '"' && !L->dq) {
            take(L, ctx);
            lex_dquote(L, off);
        } else if (c == '$') {
            lex_dollar(L, ctx);
        } else if (c == '`') {
            lex_backquote(L);
        } else {
            if (c == '\'' || c == '"')
                set_unsure(L, off,
                           "a quote inside \"${...}\" (the shells disagree on "
                           "its meaning)");
            take(L, ctx);
        }
    }
    L->unsafe = saved;
}

/* After $((: up to the )) that closes it. */
static void
lex_arith(struct lexer *L, size_t open)
{
    const char *saved = L->unsafe;
    int depth = 0;

    L->unsafe = "is inside $((...)), where an item would be evaluated as "
                "arithmetic";
    while (!L->failed) {
        int c = at(L, 0);

        if (c == SYM_EOF) {
            unclosed(L, "$((...))", open);
            break;
        }
        if (c == ')' && depth == 0) {
            take(L, CTX_WORD);
            if (at(L, 0) == ')') {
                take(L, CTX_WORD);
            } else {
                /* $( (...) ...): a subshell, which the shells tell from
                 * arithmetic each in its own way. */
                set_unsure(L, open,
                           "$(( that is not arithmetic (the shells tell it "
                           "from a subshell each their own way)");
            }
            break;
        }
        if (c == '(')
            depth++;
        else if (c == ')')
            depth--;
        if (c == '$') {
            lex_dollar(L, CTX_DQUOTE);
        } else if (c == '`') {
            lex_backquote(L);
        } else {
            if (c == '\'' || c == '"' || c == '\\')
                set_unsure(L, off_at(L, 0), "a quote inside $((...))");
            take(L, CTX_WORD);
        }
    }
    L->unsafe = saved;
}

static int
is_name_char(int c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9') || c == '_';
}

/* A $: a plain character, or the start of an expansion. */
static void
lex_dollar(struct lexer *L, enum quote_ctx ctx)
{
    size_t open = off_at(L, 0);
    int c = at(L, 1);

    if (is_item_mark(c)) {
        refuse(L, off_at(L, 1),
               "%s follows a $, which would make it part of an expansion",
               token_name(L, c));
        return;
    }
    if (c > 0 && c < SYM_MARK && strchr("$?#!-@*0123456789", c) != NULL) {
        /* A special parameter: $$ or $1 is whole. */
        take(L, ctx);
        take(L, ctx);
        return;
    }
    if (ctx == CTX_HEREDOC && is_name_char(c) && !(c >= '0' && c <= '9')) {
        size_t k = 2;

        /* In a body the value is not quoted, so "$x{}" would read the
         * value's first letters as more of the name: write ${x}. */
        while (is_name_char(at(L, k)))
            k++;
        if (is_item_mark(at(L, k))) {
            add_seg(L->w, SEG_TEXT, "${", 2);
            for (L->i++; k > 1; k--)
                take(L, ctx);
            add_seg(L->w, SEG_TEXT, "}", 1);
            return;
        }
    }
    take(L, ctx);
    if (c == '(' && at(L, 1) == '(') {
        take(L, ctx);
        take(L, ctx);
        lex_arith(L, open);
    } else if (c == '(') {
        take(L, ctx);
        lex_subst(L, open);
    } else if (c == '{') {
        /* "${ cmd; }" is a command substitution to bash 5.3. */
        if (at(L, 2) != SYM_EOF && at(L, 2) < SYM_MARK &&
            strchr(" \t\n|", at(L, 2)) != NULL)
            set_unsure(L, open,
                       "${ followed by a blank (a command to bash 5.3)");
        take(L, ctx);
        lex_param(L, open);
    } else if (c == '[') {
        set_unsure(L, open, "$[ (arithmetic to bash)");
    } else if (c == '\'' && ctx == CTX_WORD) {
        set_unsure(L, open, "$'...' (dash and bash read it differently)");
    }
}

/* # at the start of a word: the rest of the line is ignored. */
static void
lex_comment(struct lexer *L)
{
    while (!L->failed) {
        int c = at(L, 0);

        if (c == SYM_EOF) {
            if (L->i == L->n && L->tail == NULL)
                L->tail = "ends in a comment";
            return;
        }
        if (c == '\n')
            return;
        if (is_item_mark(c)) {
            refuse(L, off_at(L, 0),
                   "%s is inside a comment, which the shell ignores",
                   token_name(L, c));
            return;
        }
        take(L, CTX_WORD);
    }
}

/* The delimiter word of << or <<- into delim, read as the shell does:
 * quote removal, and any quoting makes the body literal (p->quoted). */
static void
lex_delim_word(struct lexer *L, struct pending *p, struct pr_buf *delim)
{
    int quote = 0; /* inside '...' (1) or "..." (2) */
    size_t qoff = 0;

    while (!L->failed) {
        int c = at(L, 0);
        size_t off = off_at(L, 0);

        if (c == SYM_EOF) {
            if (quote != 0)
                unclosed(L, quote == 1 ? "'...'" : "\"...\"", qoff);
            break;
        }
        if (c >= SYM_MARK) {
            refuse(L, off, "%s is in a here-document's delimiter",
                   token_name(L, c));
            break;
        }
        if (quote == 0 && strchr(" \t\n;&|<>()", c) != NULL)
            break;
        if (quote != 1 && c == '\\') {
            int next = at(L, 1);

            p->quoted = 1;
            take(L, CTX_WORD);
            if (next == '\n')
                set_unsure(L, off, "a backslash-newline in a delimiter");
            if (next == SYM_EOF || next >= SYM_MARK)
                continue;
            /* Inside "...", a backslash quotes only $ ` " \. */
            if (quote == 2 && strchr("$`\"\\", next) == NULL)
                pr_buf_append(delim, "\\", 1);
            c = next;
        } else if (quote == 0 && (c == '\'' || c == '"')) {
            p->quoted = 1;
            quote = c == '\'' ? 1 : 2;
            qoff = off;
            take(L, CTX_WORD);
            continue;
        } else if ((quote == 1 && c == '\'') || (quote == 2 && c == '"')) {
            quote = 0;
            take(L, CTX_WORD);
            continue;
        } else if (quote != 1 && (c == '$' || c == '`')) {
            set_unsure(L, off, "an expansion in a here-document's delimiter");
        }
        {
            char ch = (char)c;

            pr_buf_append(delim, &ch, 1);
        }
        take(L, CTX_WORD);
    }
}

/* A << or <<- and its delimiter: the body it announces waits on the
 * pending list until the line ends. */
static void
lex_heredoc_op(struct lexer *L)
{
    struct pending p;
    struct pr_buf delim = {0};

    memset(&p, 0, sizeof(p));
    p.off = off_at(L, 0);
    take(L, CTX_WORD);
    take(L, CTX_WORD);
    if (at(L, 0) == '<') {
        /* <<< is bash's here-string: a word follows, no body. */
        take(L, CTX_WORD);
        return;
    }
    if (at(L, 0) == '-') {
        p.strip_tabs = 1;
        take(L, CTX_WORD);
    }
    while (at(L, 0) == ' ' || at(L, 0) == '\t')
        take(L, CTX_WORD);
    lex_delim_word(L, &p, &delim);
    if (delim.len == 0 && !p.quoted)
        set_unsure(L, p.off, "<< without a delimiter");
    if (L->npend == MAX_PENDING) {
        set_unsure(L, p.off, "too many here-documents on one line");
        pr_buf_free(&delim);
        return;
    }
    p.len = delim.len;
    p.delim = pr_xmemdup(delim.data ? delim.data : "", delim.len);
    p.subst = L->subst;
    pr_buf_free(&delim);
    L->pend[L->npend++] = p;
}

/* Does the line of symbols [from, to) read as the delimiter? */
static int
is_delim_line(const struct lexer *L, size_t from, size_t to,
              const struct pending *p)
{
    size_t k;

    if (p->strip_tabs)
        while (from < to && L->s[from].c == '\t')
            from++;
    if (to - from != p->len)
        return 0;
    for (k = 0; k < p->len; k++)
        if (L->s[from + k].c != (unsigned char)p->delim[k])
            return 0;
    return 1;
}

/* An unquoted body: $, ` and \ act as inside "...", quotes do not. */
static void
lex_heredoc_text(struct lexer *L)
{
    int saved_text = L->hd_text;

    L->hd_text = 1;
    L->dq++;
    while (!L->failed && at(L, 0) != SYM_EOF) {
        int c = at(L, 0);

        if (c == '\\')
            lex_backslash(L, CTX_HEREDOC);
        else if (c == '$')
            lex_dollar(L, CTX_HEREDOC);
        else if (c == '`')
            lex_backquote(L);
        else
            take(L, CTX_HEREDOC);
    }
    L->dq--;
    L->hd_text = saved_text;
}

/* One body, at the start of the line after its <<.  The shell finds its
 * end first, on the raw lines, then reads what is inside. */
static void
lex_heredoc_body(struct lexer *L, const struct pending *p)
{
    size_t start = L->i, term = L->end, after = L->end, j, k;
    size_t saved_end = L->end, idx = 0;
    int closed = 0, holds_value = 0;
    struct seg *sg;

    for (j = start; j < L->end;) {
        size_t le = j;

        while (le < L->end && L->s[le].c != '\n')
            le++;
        if (is_delim_line(L, j, le, p)) {
            term = j;
            after = le < L->end ? le + 1 : le;
            closed = 1;
            break;
        }
        j = le < L->end ? le + 1 : le;
    }
    for (k = start; k < term; k++)
        if (L->s[k].c >= SYM_MARK)
            holds_value = 1;
    if (holds_value) {
        struct heredoc *h;

        if (L->hd_depth == MAX_HEREDOC_DEPTH)
            set_unsure(L, p->off, "here-documents nested this deep");
        idx = L->t->nheredocs;
        L->t->heredocs =
            pr_xrealloc(L->t->heredocs, (idx + 1) * sizeof(*L->t->heredocs));
        h = &L->t->heredocs[L->t->nheredocs++];
        h->delim = pr_xmemdup(p->delim, p->len);
        h->len = p->len;
        h->strip_tabs = p->strip_tabs;
        h->closed = closed;
        h->depth = L->hd_depth < MAX_HEREDOC_DEPTH ? L->hd_depth : 0;
        sg = add_seg(L->w, SEG_HEREDOC, NULL, 0);
        sg->heredoc = idx;
        L->hd_depth++;
    }
    L->end = term;
    L->strip_tabs += p->strip_tabs;
    if (p->quoted)
        while (!L->failed && at(L, 0) != SYM_EOF)
            take(L, CTX_RAW);
    else
        lex_heredoc_text(L);
    L->strip_tabs -= p->strip_tabs;
    L->end = saved_end;
    if (holds_value) {
        L->hd_depth--;
        sg = add_seg(L->w, SEG_HEREDOC_END, NULL, 0);
        sg->heredoc = idx;
    }
    if (L->failed)
        return;
    L->i = term;
    while (L->i < after)
        take(L, CTX_WORD);
    /* Items appended here would join the delimiter line, or the body. */
    if (after == L->n && L->tail == NULL &&
        (!closed || L->s[after - 1].c != '\n'))
        L->tail = "ends with a here-document";
}

/* The bodies of the here-documents opened on the line just ended.  They
 * leave the pending list first: a body may hold $(...) with
 * here-documents of its own. */
static void
read_heredocs(struct lexer *L)
{
    struct pending pend[MAX_PENDING];
    size_t k, n = L->npend;

    memcpy(pend, L->pend, n * sizeof(*pend));
    L->npend = 0;
    for (k = 0; k < n && !L->failed; k++) {
        if (pend[k].subst != L->subst)
            set_unsure(L, pend[k].off,
                       "a here-document whose body starts in another $(...)");
        else
            lex_heredoc_body(L, &pend[k]);
    }
    for (k = 0; k < n; k++)
        free(pend[k].delim);
}

/* A word ends.  "case" inside $(...) brings patterns whose ) would be
 * taken for the end of $(...); "[[" is bash's syntax, where -eq and the
 * like evaluate an operand, quoted or not, as arithmetic (a[$(cmd)] runs
 * cmd). */
static void
end_word(struct lexer *L, const char *kw, size_t kwlen, int plain, size_t off)
{
    if (!plain)
        return;
    if (kwlen == 4 && memcmp(kw, "case", 4) == 0 && L->subst > 0)
        set_unsure(L, off,
                   "case inside $(...) (a ) of its patterns hides "
                   "where $(...) ends)");
    if (kwlen == 2 && memcmp(kw, "[[", 2) == 0)
        set_unsure(L, off,
                   "[[ (bash evaluates its operands as arithmetic, where "
                   "a[$(cmd)] runs cmd even quoted)");
}

/* What lex_cmd knows of the word it is in, and of the ( it has seen. */
struct cmd_state {
    int depth;  /* ( still open, inside $(...) */
    int word;   /* inside a word, where # starts no comment */
    int plain;  /* the word so far is plain characters */
    char kw[4]; /* its first characters, to tell a keyword (end_word) */
    size_t kwlen, woff;
};

/* A blank, an operator or the end ends a word; anything else is in one. */
static void
track_word(struct lexer *L, struct cmd_state *st, int c, size_t off)
{
    if (c == SYM_EOF || (c < SYM_MARK && strchr(" \t\n;&|<>()", c))) {
        if (st->word)
            end_word(L, st->kw, st->kwlen, st->plain, st->woff);
        st->word = 0;
        st->plain = 1;
        st->kwlen = 0;
    } else if (!st->word) {
        st->word = 1;
        st->woff = off;
    }
}

/* A backslash, a quote, an expansion or a #.  Returns 0 if c is none of
 * these, and takes nothing then. */
static int
lex_cmd_quoting(struct lexer *L, struct cmd_state *st, int c, size_t off)
{
    switch (c) {
    case '\\':
        /* A backslash-newline is removed: the word goes on. */
        if (at(L, 1) != '\n')
            st->plain = 0;
        else if (off == st->woff)
            st->word = 0;
        lex_backslash(L, CTX_WORD);
        return 1;
    case '\'':
        st->plain = 0;
        take(L, CTX_WORD);
        lex_squote(L, off);
        return 1;
    case '"':
        st->plain = 0;
        take(L, CTX_WORD);
        lex_dquote(L, off);
        return 1;
    case '`':
        st->plain = 0;
        lex_backquote(L);
        return 1;
    case '$':
        st->plain = 0;
        lex_dollar(L, CTX_WORD);
        return 1;
    case '#':
        if (off == st->woff) {
            st->word = 0;
            lex_comment(L);
        } else {
            st->plain = 0;
            take(L, CTX_WORD);
        }
        return 1;
    default:
        return 0;
    }
}

/* An operator, a newline or a plain character.  Returns 1 at the ) that
 * closes the $(...) being read (subst), else 0. */
static int
lex_cmd_operator(struct lexer *L, struct cmd_state *st, int c, size_t off,
                 int subst)
{
    switch (c) {
    case '<':
        if (at(L, 1) == '\\' && at(L, 2) == '\n')
            set_unsure(L, off, "a backslash-newline after <");
        if (at(L, 1) == '<')
            lex_heredoc_op(L);
        else
            take(L, CTX_WORD);
        break;
    case '(':
        /* ((...)) is arithmetic to bash, two subshells to dash. */
        if (at(L, 1) == '(')
            set_unsure(L, off,
                       "(( (arithmetic to bash, where a[$(cmd)] "
                       "runs cmd even quoted)");
        st->depth++;
        take(L, CTX_WORD);
        break;
    case ')':
        take(L, CTX_WORD);
        if (subst && st->depth == 0) {
            if (L->npend > 0)
                set_unsure(L, L->pend[0].off,
                           "a here-document with no body in $(...)");
            return 1;
        }
        if (st->depth > 0)
            st->depth--;
        break;
    case '\n':
        take(L, CTX_WORD);
        read_heredocs(L);
        break;
    default:
        if (st->kwlen < sizeof(st->kw))
            st->kw[st->kwlen] = (char)c;
        st->kwlen++;
        take(L, CTX_WORD);
        break;
    }
    return 0;
}

/* A command line, or with subst the inside of a $(...) opened at open, up
 * to the ) that closes it. */
static void
lex_cmd(struct lexer *L, int subst, size_t open)
{
    struct cmd_state st;

    memset(&st, 0, sizeof(st));
    st.plain = 1;
    while (!L->failed) {
        int c = at(L, 0);
        size_t off = off_at(L, 0);

        track_word(L, &st, c, off);
        if (c == SYM_EOF) {
            if (subst)
                unclosed(L, "$(...)", open);
            return;
        }
        if (c >= SYM_MARK) {
            st.plain = 0;
            take(L, CTX_WORD);
            continue;
        }
        if (!lex_cmd_quoting(L, &st, c, off) &&
            lex_cmd_operator(L, &st, c, off, subst))
            return;
    }
}

/* COMMAND as the shell gets it (its words joined by spaces) and as a
 * stream of symbols. */
static void
push_sym(struct sym **s, size_t *n, size_t *cap, int c, size_t off)
{
    if (*n == *cap) {
        *cap = *cap ? *cap * 2 : 64;
        *s = pr_xrealloc(*s, *cap * sizeof(**s));
    }
    (*s)[*n].c = c;
    (*s)[*n].off = off;
    (*n)++;
}

static struct sym *
symbols(const struct pr_template_options *o, struct pr_buf *line, size_t *n)
{
    struct sym *s = NULL;
    size_t cap = 0;
    int i;

    *n = 0;
    for (i = 0; i < o->nwords; i++) {
        const char *p = o->words[i];

        if (i > 0) {
            push_sym(&s, n, &cap, ' ', line->len);
            pr_buf_append(line, " ", 1);
        }
        while (*p != '\0') {
            enum seg_kind kind;
            int pos;
            size_t tlen = token_at(p, o, &kind, &pos);

            if (tlen > 0) {
                push_sym(&s, n, &cap, mark_of(kind, pos), line->len);
            } else {
                push_sym(&s, n, &cap, (unsigned char)*p, line->len);
                tlen = 1;
            }
            pr_buf_append(line, p, tlen);
            p += tlen;
        }
    }
    pr_buf_append(line, "", 1);
    return s;
}

/* Reads a shell command into t's one word of segments.  Returns 0, or
 * UV_EINVAL with d->msg set. */
static int
compile_shell(struct pr_template *t, const struct pr_template_options *o,
              struct pr_template_diag *d)
{
    struct lexer L;
    struct pr_buf line = {0};
    struct sym *syms;
    size_t k;

    memset(&L, 0, sizeof(L));
    syms = symbols(o, &line, &L.n);
    L.s = syms;
    L.end = L.n;
    L.line = line.data;
    L.replace = o->replace;
    L.t = t;
    L.d = d;
    free_words(t->words, t->nwords);
    t->words = pr_xcalloc(1, sizeof(*t->words));
    t->nwords = 1;
    L.w = t->words;
    lex_cmd(&L, 0, 0);
    /* Without a replacement string the items are appended: the end must
     * be a place where they are words of the last command. */
    if (!L.failed && !t->has_repl && !t->no_args &&
        (L.tail != NULL || L.unsure != NULL)) {
        if (L.tail == NULL) {
            size_t ln, col;

            position(L.line, L.unsure_off, &ln, &col);
            refuse(&L, line.len - 1,
                   "has no {}, and the items cannot be appended after %.*s "
                   "at %zu:%zu%s: past it poolrun cannot be sure how sh reads "
                   "them",
                   unsure_name_len(L.unsure), L.unsure, ln, col,
                   L.unsure + unsure_name_len(L.unsure));
        } else {
            refuse(&L, line.len - 1,
                   "has no {}, and the items cannot be appended: it %s",
                   L.tail);
        }
    }
    for (k = 0; k < L.npend; k++)
        free(L.pend[k].delim);
    free(L.placed);
    free(syms);
    pr_buf_free(&line);
    return L.failed ? UV_EINVAL : 0;
}

int
pr_template_new(struct pr_template **out, const struct pr_template_options *o,
                struct pr_template_diag *d)
{
    struct pr_template *t;
    int i;

    *out = NULL;
    if (o->nwords <= 0)
        return 0;
    t = pr_xcalloc(1, sizeof(*t));
    t->words = pr_xcalloc((size_t)o->nwords, sizeof(*t->words));
    t->nwords = (size_t)o->nwords;
    for (i = 0; i < o->nwords; i++)
        compile_word(t, &t->words[i], o->words[i], o);
    t->no_args = o->no_args;
    t->shell = !o->text &&
               (o->force_shell ||
                (o->nwords == 1 && text_has_shell_syntax(t->words)));
    if (t->shell) {
        int rc = compile_shell(t, o, d);

        if (rc != 0) {
            pr_template_free(t);
            return rc;
        }
    }
    *out = t;
    return 0;
}

void
pr_template_free(struct pr_template *t)
{
    size_t i;

    if (t == NULL)
        return;
    free_words(t->words, t->nwords);
    for (i = 0; i < t->nheredocs; i++)
        free(t->heredocs[i].delim);
    free(t->heredocs);
    free(t);
}

int
pr_template_is_shell(const struct pr_template *t)
{
    return t->shell;
}

int
pr_template_uses_slot(const struct pr_template *t)
{
    size_t i, k;

    for (i = 0; t != NULL && i < t->nwords; i++)
        for (k = 0; k < t->words[i].nsegs; k++)
            if (t->words[i].segs[k].kind == SEG_SLOT)
                return 1;
    return 0;
}

static int
is_safe_char(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9') || strchr("_@%+=:,./-", c) != NULL;
}

/* Appends s with each byte found in special replaced by with (or, when
 * with is NULL, preceded by a backslash), copying the runs between. */
static void
append_escaped(struct pr_buf *b, const char *s, size_t n, const char *special,
               const char *with)
{
    size_t i, from = 0;

    for (i = 0; i < n; i++) {
        if (s[i] == '\0' || strchr(special, s[i]) == NULL)
            continue;
        pr_buf_append(b, s + from, i - from);
        if (with != NULL) {
            pr_buf_append(b, with, strlen(with));
            from = i + 1;
        } else {
            pr_buf_append(b, "\\", 1);
            from = i;
        }
    }
    pr_buf_append(b, s + from, n - from);
}

/* The inside of a '...' that gives s: each ' as '\'', and a backslash
 * before a newline followed by '' (bash removes a backslash-newline even
 * inside '...' when that stands in $(...) in an unquoted here-document;
 * split by the quotes, the pair is no longer one). */
static void
append_squoted(struct pr_buf *b, const char *s, size_t n)
{
    size_t i, from = 0;

    for (i = 0; i < n; i++) {
        if (s[i] == '\'') {
            pr_buf_append(b, s + from, i - from);
            pr_buf_append(b, "'\\''", 4);
            from = i + 1;
        } else if (s[i] == '\\' && i + 1 < n && s[i + 1] == '\n') {
            pr_buf_append(b, s + from, i + 1 - from);
            pr_buf_append(b, "''", 2);
            from = i + 1;
        }
    }
    pr_buf_append(b, s + from, n - from);
}

void
pr_shell_quote(struct pr_buf *b, const char *s, size_t n)
{
    pr_buf_append(b, "'", 1);
    append_squoted(b, s, n);
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

/* Appends s so that, standing in ctx, the shell reads exactly s. */
static void
append_for(struct pr_buf *b, enum quote_ctx ctx, const char *s, size_t n)
{
    switch (ctx) {
    case CTX_WORD:
        pr_shell_quote(b, s, n);
        break;
    case CTX_SQUOTE:
        /* The template's text around may be a backslash before a value
         * that starts with a newline, or a newline after one that ends
         * with a backslash: '' keeps them apart too. */
        if (n > 0 && s[0] == '\n')
            pr_buf_append(b, "''", 2);
        append_squoted(b, s, n);
        if (n > 0 && s[n - 1] == '\\')
            pr_buf_append(b, "''", 2);
        break;
    case CTX_DQUOTE:
        /* Close the "...", add the value in '...' and reopen: the same
         * word, and unlike backslashes before $ ` " \ it holds in
         * locales whose characters can end in a \ or ` byte. */
        pr_buf_append(b, "\"", 1);
        pr_shell_quote(b, s, n);
        pr_buf_append(b, "\"", 1);
        break;
    case CTX_HEREDOC:
        append_escaped(b, s, n, "$`\\", NULL);
        break;
    case CTX_RAW:
        pr_buf_append(b, s, n);
        break;
    }
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

static void
append_number(const struct pr_task *task, enum seg_kind kind, struct pr_buf *b)
{
    char num[32];
    int n = snprintf(num, sizeof(num), "%llu",
                     kind == SEG_SEQ ? (unsigned long long)task->seq
                                     : (unsigned long long)task->slot);

    pr_buf_append(b, num, (size_t)n);
}

/* The items a replacement of position pos takes, [*from, *to), of the
 * first n: every one for 0, else the one at pos (none past the end: no
 * value, and as a word of its own no argument, as in GNU parallel). */
static void
items_at(int pos, unsigned n, unsigned *from, unsigned *to)
{
    *from = 0;
    *to = n;
    if (pos > 0 && (unsigned)pos <= n)
        *from = (unsigned)pos - 1;
    else if (pos < 0 && (unsigned)-pos <= n)
        *from = n - (unsigned)-pos;
    else if (pos != 0)
        *from = n;
    if (pos != 0 && *from < n)
        *to = *from + 1;
}

/* How many of the task's items fill the command: none with -n 0. */
static unsigned
items_used(const struct pr_template *t, const struct pr_task *task)
{
    return t->no_args ? 0 : task->nitems;
}

/* Appends the value of one replacement: every item's part (of the first
 * nitems), separated by a space (inside quotes, the parts make one
 * string), or the one item its position names. */
static void
append_value(const struct pr_task *task, unsigned nitems, const struct seg *sg,
             int shell, struct pr_buf *b)
{
    unsigned i, from, to;

    if (sg->kind == SEG_SEQ || sg->kind == SEG_SLOT) {
        append_number(task, sg->kind, b);
        return;
    }
    items_at(sg->pos, nitems, &from, &to);
    for (i = from; i < to; i++) {
        const char *p;
        size_t n;

        item_part(sg->kind, &task->items[i], &p, &n);
        if (i > from)
            pr_buf_append(b, " ", 1);
        if (shell)
            append_for(b, sg->ctx, p, n);
        else
            pr_buf_append(b, p, n);
    }
}

static void
append_word(const struct pr_task *task, unsigned nitems, const struct word *w,
            struct pr_buf *b)
{
    size_t i;

    for (i = 0; i < w->nsegs; i++) {
        if (w->segs[i].kind == SEG_TEXT)
            pr_buf_append(b, w->segs[i].text, w->segs[i].len);
        else
            append_value(task, nitems, &w->segs[i], 0, b);
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

/* Would the body b[0, n) end before its end?  It would at a line that is
 * the delimiter (past its leading tabs, for <<-).  A body with its
 * delimiter line after it ends at the start of that line, so its last
 * piece is empty and no line. */
static int
ends_early(const struct heredoc *h, const char *b, size_t n)
{
    size_t i = 0;

    while (i < n || (!h->closed && i == n)) {
        const char *nl = memchr(b + i, '\n', n - i);
        size_t le = nl != NULL ? (size_t)(nl - b) : n;
        size_t from = i;

        if (h->strip_tabs)
            while (from < le && b[from] == '\t')
                from++;
        if (le - from == h->len && memcmp(b + from, h->delim, h->len) == 0)
            return 1;
        if (nl == NULL)
            break;
        i = le + 1;
    }
    return 0;
}

/* Does the value at b[from, len) put a tab where <<- strips tabs (at the
 * start of a line, or after tabs only)? */
static int
tab_stripped(const struct pr_buf *b, size_t from)
{
    size_t i = from;
    int line_start;

    while (i > 0 && b->data[i - 1] == '\t')
        i--;
    line_start = i == 0 || b->data[i - 1] == '\n';
    for (i = from; i < b->len; i++) {
        if (b->data[i] == '\t' && line_start)
            return 1;
        if (b->data[i] != '\t')
            line_start = b->data[i] == '\n';
    }
    return 0;
}

/* Could a backslash-newline be in or at the edge of value v[0, n)? */
static int
bnl_near(const char *v, size_t n)
{
    size_t i;

    if (n > 0 && (v[0] == '\n' || v[n - 1] == '\\'))
        return 1;
    for (i = 0; i + 1 < n; i++)
        if (v[i] == '\\' && v[i + 1] == '\n')
            return 1;
    return 0;
}

/* A quoted body cannot escape anything: refuse an item that bash would
 * change there.  bash removes a backslash-newline inside $(...) in an
 * unquoted body, and bash 5.2 drops a \001 before \001 or \177 in a
 * quoted body inside $(...) (its own quoting byte). */
static void
check_raw(const struct seg *sg, const char *v, size_t n, struct pr_task *task)
{
    if (sg->bnl_removed && bnl_near(v, n))
        task->error_what = "an item holds a backslash-newline, which bash "
                           "removes in a here-document inside $(...) inside "
                           "a here-document";
    if (sg->in_subst && memchr(v, '\001', n) != NULL)
        task->error_what = "an item holds a \\001 byte, which bash drops in "
                           "a quoted here-document inside $(...)";
}

static int
expand_shell(const struct pr_template *t, struct pr_task *task)
{
    const struct word *w = &t->words[0];
    struct pr_buf b = {0};
    size_t starts[MAX_HEREDOC_DEPTH] = {0};
    size_t i;

    task->error_what = NULL;
    for (i = 0; i < w->nsegs; i++) {
        const struct seg *sg = &w->segs[i];
        const struct heredoc *h;
        size_t from = b.len;

        switch (sg->kind) {
        case SEG_TEXT:
            pr_buf_append(&b, sg->text, sg->len);
            break;
        case SEG_HEREDOC:
            starts[t->heredocs[sg->heredoc].depth] = b.len;
            break;
        case SEG_HEREDOC_END:
            h = &t->heredocs[sg->heredoc];
            if (ends_early(h, b.data + starts[h->depth],
                           b.len - starts[h->depth]))
                task->error_what = "an item holds a line that would end "
                                   "its here-document early";
            break;
        default:
            append_value(task, items_used(t, task), sg, 1, &b);
            if (sg->ctx == CTX_RAW)
                check_raw(sg, b.data + from, b.len - from, task);
            if (sg->strip_tabs && tab_stripped(&b, from))
                task->error_what = "an item has a line that starts with a "
                                   "tab, which <<- would strip";
            break;
        }
    }
    /* GNU parallel's rule: a command with any replacement string ({#}
     * alone too) takes the items only where it says. */
    if (!t->has_repl) {
        unsigned k;

        for (k = 0; k < items_used(t, task); k++) {
            pr_buf_append(&b, " ", 1);
            pr_shell_quote(&b, task->items[k].p, task->items[k].len);
        }
    }
    set_line(task, &b);
    return task->error_what != NULL ? UV_EINVAL : 0;
}
/* A word that is one replacement and nothing else gives one argument per
 * item it takes (several with -n or several inputs, none for a position
 * past the last); any other word gives one argument. */
static int
single_item_seg(const struct word *w)
{
    return w->nsegs == 1 && takes_item(w->segs[0].kind);
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
    unsigned nitems = items_used(t, task);
    int rc = 0;

    for (i = 0; i < t->nwords; i++) {
        const struct word *w = &t->words[i];

        if (single_item_seg(w)) {
            unsigned k, from, to;

            items_at(w->segs[0].pos, nitems, &from, &to);
            for (k = from; k < to; k++) {
                const char *p;
                size_t n;

                item_part(w->segs[0].kind, &task->items[k], &p, &n);
                push_arg(&argv, &argc, &cap, pr_xmemdup(p, n));
            }
        } else {
            struct pr_buf b = {0};

            append_word(task, nitems, w, &b);
            push_arg(&argv, &argc, &cap, pr_xmemdup(b.data ? b.data : "",
                                                    b.len));
            /* The copy stops at a NUL; its length tells. */
            if (b.len != strlen(argv[argc - 1]))
                rc = UV_EINVAL;
            pr_buf_free(&b);
        }
    }
    if (!t->has_repl) {
        unsigned k;

        for (k = 0; k < nitems; k++) {
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

void
pr_template_format(const struct pr_template *t, const struct pr_task *task,
                   struct pr_buf *b)
{
    size_t i;

    for (i = 0; i < t->nwords; i++) {
        if (i > 0)
            pr_buf_append(b, " ", 1);
        append_word(task, items_used(t, task), &t->words[i], b);
    }
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
