/*
 * progress: what the run is doing, on stderr, never on stdout.  On a
 * terminal one line is redrawn in place (the pool redraws it at most ten
 * times a second), cut to the terminal's width so that it never wraps:
 * the counts (--progress, --eta) or a bar (--bar); elsewhere a plain line
 * of counts is printed per finished task, for logs.  Skipped tasks (never
 * started) are counted apart: they are not "done" and not in the rate.
 * The pool owns the timer; this module only formats and writes.
 */
#ifndef PR_PROGRESS_H
#define PR_PROGRESS_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "records.h"

enum pr_progress_style {
    PR_PROGRESS_NONE,
    PR_PROGRESS_LINE, /* --progress: the counts */
    PR_PROGRESS_BAR   /* --bar: a bar and the counts, on a terminal */
};

struct pr_progress_counts {
    uint64_t done;  /* final records of tasks that were run (or could not
                       start): not the skipped ones */
    uint64_t total; /* every task, once the input has ended; else 0 */
    uint64_t running;
    uint64_t failed;  /* final records that did not succeed */
    double elapsed;   /* seconds since the run began */
    uint64_t skipped; /* final records of tasks never started */
};

struct pr_progress;

/* Progress on fd in style: redrawn in place if fd is a terminal, else
 * plain lines (the --progress line, for both styles).  With eta, the
 * line always ends with the ETA ("ETA ?" while it cannot be known). */
struct pr_progress *pr_progress_new(int fd, enum pr_progress_style style,
                                    int eta);
void pr_progress_free(struct pr_progress *p);

/* Is it the redrawn bar? */
int pr_progress_is_bar(const struct pr_progress *p);

/* Shows the counts if they changed since the last time. */
void pr_progress_show(struct pr_progress *p,
                      const struct pr_progress_counts *c);

/* Before something else writes to the terminal: the bar's line is cleared
 * (and drawn again by the next pr_progress_show). */
void pr_progress_erase(struct pr_progress *p);

/* The last line, complete with its newline. */
void pr_progress_finish(struct pr_progress *p,
                        const struct pr_progress_counts *c);

/* Where the counts come from while the run goes on. */
typedef void pr_progress_counts_fn(void *data, struct pr_progress_counts *c);

/* The run begins: the bar is redrawn every 100 ms on loop (a timer that
 * does not keep the loop alive); counts(data) says what to show. */
void pr_progress_start(struct pr_progress *p, uv_loop_t *loop,
                       pr_progress_counts_fn *counts, void *data);

/* The run is over: the last line, and the timer closes.  NULL: no-op. */
void pr_progress_close(struct pr_progress *p);

/* A record sink (data: the struct pr_progress): each final record steps
 * the bar aside, and the plain lines show the new counts. */
extern const struct pr_sink_ops pr_progress_sink_ops;

/* Formats one line without a newline into buf (for tests, and the above). */
void pr_progress_format(const struct pr_progress_counts *c, char *buf,
                        size_t len);

/* The same, with eta as pr_progress_new's. */
void pr_progress_format_line(const struct pr_progress_counts *c, int eta,
                             char *buf, size_t len);

/* --bar's line in at most cols - 1 columns (so it never wraps), without a
 * newline: "poolrun: 45% [=====>    ] 45/100 done, ..., ETA 0:05"; the
 * counts alone while the total is not known, or the terminal too narrow
 * for a bar. */
void pr_progress_format_bar(const struct pr_progress_counts *c, unsigned cols,
                            char *buf, size_t len);

#endif
