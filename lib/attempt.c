/*
 * attempt: a retry's last attempt, kept aside on the task (task->prev)
 * while the next one starts.  See attempt.h.
 */
#include "attempt.h"

#include <stdlib.h>
#include <string.h>

#include "util.h"

struct pr_attempt {
    int pid;
    unsigned slot;
    double start_wall;
    uint64_t start_ns;
    uint64_t end_ns;
    int exit_status;
    int term_signal;
    int signalled;
    int timed_out;
    int error;
    const char *error_what;
    enum pr_task_status status;
    int streaming;
    unsigned attempt;
    struct pr_capture out;
    struct pr_capture err;
    struct pr_buf head[2];
    int own_command; /* the command is built anew for the retry ({%}): */
    char *line;      /* the one this attempt ran */
    size_t line_len;
    char **argv;
};

static void
attempt_save(struct pr_attempt *a, struct pr_task *task)
{
    a->pid = task->pid;
    a->slot = task->slot;
    a->start_wall = task->start_wall;
    a->start_ns = task->start_ns;
    a->end_ns = task->end_ns;
    a->exit_status = task->exit_status;
    a->term_signal = task->term_signal;
    a->signalled = task->signalled;
    a->timed_out = task->timed_out;
    a->error = task->error;
    a->error_what = task->error_what;
    a->status = task->status;
    a->streaming = task->streaming;
    a->attempt = task->attempt;
    a->out = task->out;
    a->err = task->err;
    a->head[0] = task->head[0];
    a->head[1] = task->head[1];
}

static void
attempt_load(struct pr_task *task, const struct pr_attempt *a)
{
    task->pid = a->pid;
    task->slot = a->slot;
    task->start_wall = a->start_wall;
    task->start_ns = a->start_ns;
    task->end_ns = a->end_ns;
    task->exit_status = a->exit_status;
    task->term_signal = a->term_signal;
    task->signalled = a->signalled;
    task->timed_out = a->timed_out;
    task->error = a->error;
    task->error_what = a->error_what;
    task->status = a->status;
    task->streaming = a->streaming;
    task->attempt = a->attempt;
    task->out = a->out;
    task->err = a->err;
    task->head[0] = a->head[0];
    task->head[1] = a->head[1];
}

void
pr_attempt_stash(struct pr_task *task, int rebuild)
{
    struct pr_attempt *a = pr_xmalloc(sizeof(*a));

    attempt_save(a, task);
    task->prev = a;
    task->pid = 0;
    task->exit_status = 0;
    task->term_signal = 0;
    task->signalled = 0;
    task->timed_out = 0;
    task->error = 0;
    task->error_what = NULL;
    task->start_ns = 0;
    task->end_ns = 0;
    task->start_wall = 0;
    task->streaming = 0;
    pr_capture_init(&task->out);
    pr_capture_init(&task->err);
    memset(task->head, 0, sizeof(task->head));
    /* {%} may name another slot this time. */
    a->own_command = rebuild;
    if (a->own_command) {
        a->line = task->line;
        a->line_len = task->line_len;
        a->argv = task->argv;
        task->line = NULL;
        task->line_len = 0;
        task->argv = NULL;
    }
}

static void
attempt_command(struct pr_task *task, const struct pr_attempt *a)
{
    if (!a->own_command)
        return;
    task->line = a->line;
    task->line_len = a->line_len;
    task->argv = a->argv;
}

/* The retry could not start after all: the task is again the attempt that
 * ran last, waiting to run again. */
void
pr_attempt_undo(struct pr_task *task)
{
    struct pr_attempt *a = task->prev;

    if (a == NULL)
        return;
    pr_capture_free(&task->out);
    pr_capture_free(&task->err);
    pr_buf_free(&task->head[0]);
    pr_buf_free(&task->head[1]);
    attempt_load(task, a);
    if (a->own_command) {
        pr_task_clear_command(task);
        attempt_command(task, a);
    }
    free(a);
    task->prev = NULL;
}

int
pr_attempt_view(const struct pr_task *task, struct pr_task *view)
{
    if (task->prev == NULL)
        return 0;
    *view = *task;
    attempt_load(view, task->prev);
    attempt_command(view, task->prev);
    return 1;
}

void
pr_attempt_drop(struct pr_task *task, struct pr_task *view)
{
    pr_buf_free(&view->head[0]);
    pr_buf_free(&view->head[1]);
    if (task->prev->own_command)
        pr_task_clear_command(view);
    free(task->prev);
    task->prev = NULL;
}
