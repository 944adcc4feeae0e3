/*
 * results: the record of every attempt as JSON Lines (--results FILE), and
 * what --resume needs from an earlier run's joblog.  Each object is written
 * with one write() as its attempt ends, so a crash of poolrun loses no
 * finished record and the file is valid JSON Lines up to its last line.
 */
#ifndef PR_RESULTS_H
#define PR_RESULTS_H

#include <stddef.h>
#include <stdint.h>

#include "task.h"
#include "util.h"

struct pr_results;

/* Opens path (appending with `append`, else truncating).  Output beyond
 * `limit` bytes per stream is left out of a record (its byte count stays).
 * Returns 0 and sets *out, or a negative errno. */
int pr_results_open(struct pr_results **out, const char *path, int append,
                    size_t limit);

/* Writes the record of one attempt of task (final: its last), or of a
 * skipped task; `why` says why it was skipped, or NULL.  out and err are
 * the first bytes of its output (NULL: take them from its captures).
 * Returns 0 or a negative errno. */
int pr_results_write(struct pr_results *r, const struct pr_task *task,
                     int final, const char *why, const struct pr_buf *out,
                     const struct pr_buf *err);

/* Writes the record of a callback that ran after task (kind is "on_done",
 * "on_fail" or "on_join"), from the callback's own task record. */
int pr_results_write_callback(struct pr_results *r, const char *kind,
                              uint64_t task_seq, const struct pr_task *cb);

/* Closes the file.  Returns 0 or a negative errno.  NULL is a no-op. */
int pr_results_close(struct pr_results *r);

/* Appends s[0..n) to b as a JSON string (quotes included).  Bytes that
 * are not valid UTF-8 make this return -1 and append nothing. */
int pr_json_string(struct pr_buf *b, const char *s, size_t n);

/* A set of task seqs. */
struct pr_seqset {
    unsigned char *bits;
    uint64_t nbytes;
};

int pr_seqset_has(const struct pr_seqset *set, uint64_t seq);
void pr_seqset_put(struct pr_seqset *set, uint64_t seq, int on);
void pr_seqset_free(struct pr_seqset *set);

/* --resume: reads the joblog at path into done: every seq it lists, or
 * with failed_again only those whose last row succeeded.  A missing file
 * is an empty set.  Returns 0, or a negative errno, or UV_EINVAL with the
 * line number in *bad_line for a row that is not the joblog's. */
int pr_resume_read(const char *path, int failed_again, struct pr_seqset *done,
                   unsigned long *bad_line);

#endif
