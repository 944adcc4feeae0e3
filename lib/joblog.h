/*
 * joblog: GNU parallel's job log, so that tools written for it read ours.
 * A header line, then one tab-separated row per task that ran:
 * Seq Host Starttime JobRuntime Send Receive Exitval Signal Command.
 * Rows are written with one write() each as tasks end, so a crash of
 * poolrun loses no finished row; it may leave the last one cut short, which
 * --resume skips (pr_resume_read) and does not append to.
 */
#ifndef PR_JOBLOG_H
#define PR_JOBLOG_H

#include "task.h"

struct pr_joblog;

/* The header line, newline included. */
extern const char pr_joblog_header[];

/* Opens path and writes the header: truncated, or with `append` added to
 * (the header only if it is empty; a file that ends in a row cut short
 * gets a newline first, see pr_records_fresh_line).  Returns 0 and sets
 * *out, or a negative errno.  Close with pr_joblog_close. */
int pr_joblog_open(struct pr_joblog **out, const char *path, int append);

/* Appends the row of a task that ran to b, newline included (what
 * pr_joblog_write writes; --joblog - puts it on stdout). */
void pr_joblog_row(struct pr_buf *b, const struct pr_task *task);

/* Appends the row of a task that ran (not for skipped tasks).  Returns 0
 * or a negative errno.  After an error nothing more is written (each later
 * call returns the same error), so the file ends with whole rows and at
 * most one cut short. */
int pr_joblog_write(struct pr_joblog *jl, const struct pr_task *task);

/* Closes the file.  Returns 0 or a negative errno.  NULL is a no-op. */
int pr_joblog_close(struct pr_joblog *jl);

/* Appends `line` to b as the Command column: backslash, tab, newline and
 * NUL become \\, \t, \n and \0 so that a row stays one line of nine fields. */
void pr_joblog_escape(struct pr_buf *b, const char *line, size_t len);

#endif
