/*
 * results: the record of every attempt as JSON Lines (--results FILE), and
 * what --resume needs from an earlier run's joblog.  Each object is written
 * with one write() as its attempt ends, so a crash of poolrun loses no
 * finished record and the file is valid JSON Lines up to its last line.
 * That line may be cut short (a kill -9 during the write of a large record,
 * a full disk): a later --resume tells of it and starts on a fresh line.
 */
#ifndef PR_RESULTS_H
#define PR_RESULTS_H

#include <stddef.h>
#include <stdint.h>

#include "task.h"
#include "util.h"

struct pr_results;

/* Opens path (appending with `append`, on a fresh line: see
 * pr_records_fresh_line; else truncating).  Output beyond `limit` bytes per
 * stream is left out of a record (its byte count stays).  Returns 0 and
 * sets *out, or a negative errno. */
int pr_results_open(struct pr_results **out, const char *path, int append,
                    size_t limit);

/* Writes the record of one attempt of task (final: its last), or of a
 * skipped task; `why` says why it was skipped, or NULL.  out and err are
 * the first bytes of its output (NULL: take them from its captures).
 * Returns 0 or a negative errno.  After an error nothing more is written
 * (each later call returns the same error): the file then ends with whole
 * records and at most one cut short, which --resume skips. */
int pr_results_write(struct pr_results *r, const struct pr_task *task,
                     int final, const char *why, const struct pr_buf *out,
                     const struct pr_buf *err);

/* Writes the record of a callback that ran after task (kind is "on_done",
 * "on_fail" or "on_join"), from the callback's own task record. */
int pr_results_write_callback(struct pr_results *r, const char *kind,
                              uint64_t task_seq, const struct pr_task *cb);

/* Closes the file.  Returns 0 or a negative errno.  NULL is a no-op. */
int pr_results_close(struct pr_results *r);

/* --results DIR/ (GNU parallel's layout): each task that ran gets a folder
 * DIR/1/ITEM (with several items, DIR/1/ITEM1/1/ITEM2...; with several
 * inputs or --colsep, DIR/1/ITEM1/2/ITEM2..., each item under its input's
 * or column's number, or with --header under its name) holding the files
 * stdout and stderr (its last attempt's output, written as it comes) and
 * seq (its number).  In an item, backslash, tab, NUL and / are written \\,
 * \t, \0 and \_, as GNU parallel does; an empty item, "." and ".." are \,
 * \. and \.. (so that no item names DIR or a folder above it); a name is
 * cut at 255 bytes. */

/* Makes the folder dir and those above it.  Returns 0 or a negative
 * errno. */
int pr_results_dir_make(const char *dir);

/* Where --results DIR/ writes, and how a task's folder is named. */
struct pr_results_dir {
    const char *path;         /* DIR */
    int positions;            /* item i goes under i+1, not 1 */
    const char *const *names; /* --header: item i under names[i] */
    int nnames;
};

/* n bytes that task wrote on stream 1 or 2: appended to its file in dir
 * (the files are made, or emptied, when an attempt first writes).  Returns
 * 0 or a negative errno. */
int pr_results_dir_output(const struct pr_results_dir *dir,
                          struct pr_task *task, int stream, const char *p,
                          size_t n);

/* Task's final record: a task that ran gets its seq file, and both output
 * files (empty if its last attempt wrote nothing there), which are then
 * closed.  Returns 0 or a negative errno. */
int pr_results_dir_final(const struct pr_results_dir *dir,
                         struct pr_task *task);

/* A set of task seqs, kept as sorted runs of consecutive seqs: its memory
 * grows with the rows put into it, never with the size of the numbers (a
 * joblog row naming seq 999999999999999 costs what one naming 7 does).
 * Puts are gathered and merged in batches, so a set read from rows in any
 * order costs O(n log n).  Zero-initialise; free with pr_seqset_free. */
struct pr_seqrun {
    uint64_t lo, hi; /* both included */
};

struct pr_seqset {
    struct pr_seqrun *runs; /* sorted, disjoint, never adjacent */
    size_t nruns;
    struct pr_seqput *puts; /* puts not yet merged into runs */
    size_t nputs;
    size_t puts_cap;
    uint64_t order; /* puts so far: of two puts of one seq, the later wins */
};

/* Adds seq to the set (on) or takes it out (off).  The latest put of a
 * seq decides.  Call pr_seqset_flush before asking pr_seqset_has. */
void pr_seqset_put(struct pr_seqset *set, uint64_t seq, int on);

/* Merges the puts so far into the set's runs. */
void pr_seqset_flush(struct pr_seqset *set);

/* Whether seq is in the set (flushed since its last put). */
int pr_seqset_has(const struct pr_seqset *set, uint64_t seq);

/* The number of runs the set holds: what its memory is made of. */
size_t pr_seqset_runs(const struct pr_seqset *set);

void pr_seqset_free(struct pr_seqset *set);

/* How pr_resume_read tells of a line it skipped. */
enum pr_resume_skip {
    PR_RESUME_BAD_ROW, /* not a row of a job log (or Seq not 1..2^64-1) */
    PR_RESUME_TORN     /* the last line, cut short: no newline at its end
                          (poolrun was killed, or the disk was full, while
                          writing it), or not a row */
};

typedef void pr_resume_skip_fn(void *data, unsigned long line,
                               enum pr_resume_skip why);

/* --resume: reads the joblog at path into done: every seq it lists, or
 * with failed_again only those whose last row succeeded.  A missing or
 * empty file, or one that is not a regular file, is an empty set.  A line that is not a row is skipped and
 * told to skip(data, line, why), then the rest is read: its task (if it
 * had one) runs again, as GNU parallel does with rows it cannot read.
 * Returns 0 (done flushed), or a negative errno, or UV_EINVAL with
 * *bad_line = 1 when the first line is not a job log's header (the file
 * is not a job log, and appending to it would harm it). */
int pr_resume_read(const char *path, int failed_again, struct pr_seqset *done,
                   pr_resume_skip_fn *skip, void *data,
                   unsigned long *bad_line);

/* For --resume with --results: if the file at path ends in a line cut
 * short (no newline at its end), sets *line to that line's number, else
 * to 0 (also for a missing file).  Returns 0 or a negative errno. */
int pr_results_torn_line(const char *path, unsigned long *line);

#endif
