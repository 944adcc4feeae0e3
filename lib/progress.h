/*
 * progress: what the run is doing, on stderr, never on stdout.  On a
 * terminal one line is redrawn in place (the pool redraws it at most ten
 * times a second); elsewhere a plain line is printed per finished task, for
 * logs.  The pool owns the timer; this module only formats and writes.
 */
#ifndef PR_PROGRESS_H
#define PR_PROGRESS_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "records.h"

struct pr_progress_counts {
    uint64_t done;  /* final records, skipped ones included */
    uint64_t total; /* every task, once the input has ended; else 0 */
    uint64_t running;
    uint64_t failed; /* final records that did not succeed */
    double elapsed;  /* seconds since the run began */
};

struct pr_progress;

/* Progress on fd: the redrawn bar if fd is a terminal, else plain lines. */
struct pr_progress *pr_progress_new(int fd);
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

#endif
