/*
 * records: see records.h.
 */
#include "records.h"

#include <stdlib.h>
#include <string.h>

#include "joblog.h"
#include "results.h"
#include "util.h"

void
pr_records_init(struct pr_records *rec)
{
    rec->sinks = NULL;
    rec->n = 0;
    rec->cap = 0;
}

void
pr_records_free(struct pr_records *rec)
{
    free(rec->sinks);
    pr_records_init(rec);
}

void
pr_records_add(struct pr_records *rec, const struct pr_sink_ops *ops,
               void *data)
{
    if (rec->n == rec->cap) {
        rec->cap = rec->cap ? rec->cap * 2 : 4;
        rec->sinks = pr_xrealloc(rec->sinks, rec->cap * sizeof(*rec->sinks));
    }
    rec->sinks[rec->n].ops = ops;
    rec->sinks[rec->n].data = data;
    rec->n++;
}

void
pr_records_attempt(const struct pr_records *rec, const struct pr_task *task)
{
    size_t i;

    for (i = 0; i < rec->n; i++)
        if (rec->sinks[i].ops->attempt != NULL)
            rec->sinks[i].ops->attempt(rec->sinks[i].data, task);
}

void
pr_records_final(const struct pr_records *rec, const struct pr_task *task)
{
    size_t i;

    for (i = 0; i < rec->n; i++)
        if (rec->sinks[i].ops->final != NULL)
            rec->sinks[i].ops->final(rec->sinks[i].data, task);
}

void
pr_records_callback_done(const struct pr_records *rec, const struct pr_task *cb)
{
    size_t i;

    for (i = 0; i < rec->n; i++)
        if (rec->sinks[i].ops->callback_done != NULL)
            rec->sinks[i].ops->callback_done(rec->sinks[i].data, cb);
}

static void
keep_error(int *error, int rc)
{
    if (rc != 0 && *error == 0)
        *error = rc;
}

/* GNU parallel's joblog has a row for each task that ran: no skipped
 * task, no service. */
static void
joblog_final(void *data, const struct pr_task *task)
{
    struct pr_joblog_sink *s = data;

    if (task->status == PR_TASK_SKIPPED || task->service)
        return;
    keep_error(&s->error, pr_joblog_write(s->jl, task));
}

const struct pr_sink_ops pr_joblog_sink_ops = {
    .final = joblog_final,
};

static void
results_write(struct pr_results_sink *s, const struct pr_task *task, int final)
{
    /* Grouped output is read back from the captures, unless it went out
     * as it came (-k, the oldest task): then the head buffers have it. */
    int from_captures = s->grouped && !task->streaming;

    keep_error(&s->error,
               pr_results_write(s->r, task, final, task->skip_why,
                                from_captures ? NULL : &task->head[0],
                                from_captures ? NULL : &task->head[1]));
}

static void
results_attempt(void *data, const struct pr_task *task)
{
    results_write(data, task, 0);
}

static void
results_final(void *data, const struct pr_task *task)
{
    results_write(data, task, 1);
}

static void
results_callback_done(void *data, const struct pr_task *cb)
{
    struct pr_results_sink *s = data;
    int join = strcmp(cb->callback, "on_join") == 0;

    keep_error(&s->error, pr_results_write_callback(s->r, cb->callback,
                                                    join ? 0 : cb->seq, cb));
}

const struct pr_sink_ops pr_results_sink_ops = {
    .attempt = results_attempt,
    .final = results_final,
    .callback_done = results_callback_done,
};
