/*
 * report: a finished run read back for `poolrun report`, from a --results
 * JSON Lines file (one record per attempt) or a --joblog (one row per
 * attempt, no slot, no output).  The drawing is in report_svg.c and the
 * page around it in report_html.c.
 */
#ifndef PR_REPORT_H
#define PR_REPORT_H

#include <stddef.h>
#include <stdint.h>

#include "util.h"

/* How a bar is drawn: one per status, in the legend's order. */
enum pr_report_kind {
    PR_REPORT_OK,
    PR_REPORT_FAILED,
    PR_REPORT_TIMEOUT,
    PR_REPORT_KILLED,
    PR_REPORT_ERROR,
    PR_REPORT_KINDS
};

/* One attempt of a task.  Strings are NUL-terminated and may be NULL;
 * their bytes are the record's (any bytes: the writers escape them). */
struct pr_report_bar {
    double start, runtime; /* epoch seconds; runtime >= 0 */
    uint64_t seq;
    unsigned slot; /* from 1; 0: it never started (not drawn) */
    unsigned attempt;
    int final;  /* 0: an attempt that was retried */
    int exit;   /* -1: none (null) */
    int signal; /* 0: none */
    enum pr_report_kind kind;
    char *id, *command, *out, *err;
};

struct pr_report {
    struct pr_report_bar *bars;
    size_t nbars, cap;
    unsigned nslots;
    int from_joblog;
    double t0, t1;      /* the first start and the last end of a drawn bar */
    size_t callbacks;   /* callback records, not drawn */
    size_t skipped;     /* records of tasks that never started */
    unsigned long torn; /* the line number of a torn last line left out */
};

/* Why pr_report_load refused a file: the line and what is wrong. */
struct pr_report_error {
    unsigned long line; /* 0: about the whole file */
    char why[256];
};

/* Reads path ("-": standard input), a --results file or a job log (told
 * apart by the first line), into r (zeroed first).  Returns 0; UV_EINVAL with *err for
 * content it cannot read (a torn last line of a results file is left out,
 * not refused: a killed run leaves one); or a negative errno from
 * opening or reading it (UV_EISDIR for a directory). */
int pr_report_load(struct pr_report *r, const char *path,
                   struct pr_report_error *err);

void pr_report_free(struct pr_report *r);

/* The word for a kind ("ok", "failed"...). */
const char *pr_report_kind_name(enum pr_report_kind kind);

/* Appends s[0..n) to b as XML/HTML text: & < > " ' as entities, control
 * characters (but tab and newline) and bytes that are not UTF-8 as \xNN,
 * so that any bytes from a run stay text in a valid document.  At most
 * max bytes of s are used ("..." marks a cut); 0: no limit. */
void pr_report_escape(struct pr_buf *b, const char *s, size_t n, size_t max);

/* Final attempts: those that did not end ok in seq order, or the want
 * slowest that started, slowest first.  Indexes into r->bars, *n of them
 * (free the array). */
size_t *pr_report_failed(const struct pr_report *r, size_t *n);
size_t *pr_report_slowest(const struct pr_report *r, size_t want, size_t *n);

#endif
