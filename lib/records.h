/*
 * records: where a task's records go.  The pool makes each record once and
 * hands it to every sink on the list, in the order they were added; it
 * knows nothing of what a sink does with it.  The joblog, the results
 * file, the progress line, cmd's messages (and, later, a client's reply or
 * a Redis result) are peers here.
 */
#ifndef PR_RECORDS_H
#define PR_RECORDS_H

#include <stddef.h>

#include "task.h"

struct pr_joblog;
struct pr_results;

/* Each may be NULL.  The task is read-only and valid only for the call. */
struct pr_sink_ops {
    /* An attempt that will run again: written once the next attempt has
     * begun (its final is false). */
    void (*attempt)(void *data, const struct pr_task *task);
    /* A task's one final record, skipped tasks included; also the end of a
     * service (task->service), ok or not. */
    void (*final)(void *data, const struct pr_task *task);
    /* A callback has ended (cb->callback says which kind; cb->seq is its
     * task's, 0 for on_join). */
    void (*callback_done)(void *data, const struct pr_task *cb);
};

struct pr_records {
    struct pr_records_sink {
        const struct pr_sink_ops *ops;
        void *data;
    } * sinks;
    size_t n;
    size_t cap;
};

/* Zero-initialise, or this; free with pr_records_free. */
void pr_records_init(struct pr_records *rec);
void pr_records_free(struct pr_records *rec);

/* Adds a sink; ops must outlive rec. */
void pr_records_add(struct pr_records *rec, const struct pr_sink_ops *ops,
                    void *data);

void pr_records_attempt(const struct pr_records *rec,
                        const struct pr_task *task);
void pr_records_final(const struct pr_records *rec, const struct pr_task *task);
void pr_records_callback_done(const struct pr_records *rec,
                              const struct pr_task *cb);

/* The standard sinks.  Each keeps the first error it met (a negative
 * errno) in *error, which the caller owns; after an error the file is
 * written no more (see joblog.h, results.h). */
struct pr_joblog_sink {
    struct pr_joblog *jl;
    int error;
};
extern const struct pr_sink_ops pr_joblog_sink_ops;

struct pr_results_sink {
    struct pr_results *r;
    /* Output is grouped: a record's output is read back from the task's
     * captures, unless the task's went out as it came (task->streaming);
     * otherwise it is in the task's head buffers. */
    int grouped;
    int error;
};
extern const struct pr_sink_ops pr_results_sink_ops;

#endif
