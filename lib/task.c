/*
 * task: construction, destruction and naming of task records.  Nothing here
 * touches libuv; the runner keeps its handles elsewhere.
 */
#include "task.h"

#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "util.h"

/* The files of long lines that tasks hold (pr_task_long_files).  One
 * loop, one thread: a plain counter. */
static unsigned long_files;

static const char *const status_names[] = {
#define PR_X(name, text) text,
    PR_TASK_STATUS_MAP(PR_X)
#undef PR_X
};

struct pr_task *
pr_task_new(uint64_t seq, const char *line, size_t len)
{
    struct pr_task *task = pr_xcalloc(1, sizeof(*task));

    task->seq = seq;
    task->stdin_fd = -1;
    task->long_fd = -1;
    task->line = pr_xmemdup(line, len);
    task->line_len = len;
    pr_capture_init(&task->out);
    pr_capture_init(&task->err);
    return task;
}

struct pr_task *
pr_task_new_items(const struct pr_item *items, unsigned n)
{
    struct pr_task *task = pr_xcalloc(1, sizeof(*task));
    unsigned i;

    task->stdin_fd = -1;
    task->long_fd = -1;
    task->items = pr_xcalloc(n ? n : 1, sizeof(*task->items));
    task->nitems = n;
    for (i = 0; i < n; i++) {
        task->items[i].p = pr_xmemdup(items[i].p, items[i].len);
        task->items[i].len = items[i].len;
    }
    pr_capture_init(&task->out);
    pr_capture_init(&task->err);
    return task;
}

static void
free_argv(char **argv)
{
    size_t i;

    if (argv == NULL)
        return;
    for (i = 0; argv[i] != NULL; i++)
        free(argv[i]);
    free(argv);
}

void
pr_task_spec_free(struct pr_task_spec *spec)
{
    unsigned i;

    if (spec == NULL)
        return;
    free(spec->id);
    free(spec->id_at);
    if (!spec->env_borrowed)
        free_argv(spec->env);
    free(spec->cwd);
    free(spec->input);
    free(spec->on_done);
    free(spec->on_fail);
    free(spec->retry_on);
    for (i = 0; i < spec->nafter; i++) {
        free(spec->after[i].id);
        free(spec->after[i].at);
    }
    free(spec->after);
    free(spec);
}

void
pr_task_free(struct pr_task *task)
{
    unsigned i;

    if (task == NULL)
        return;
    pr_task_spec_free(task->spec);
    for (i = 0; i < task->nitems; i++)
        free(task->items[i].p);
    free(task->items);
    free_argv(task->argv);
    free(task->tag);
    pr_capture_free(&task->out);
    pr_capture_free(&task->err);
    if (task->stdin_fd >= 0)
        close(task->stdin_fd);
    free(task->block.p);
    if (task->long_fd >= 0) {
        close(task->long_fd);
        long_files--;
    }
    for (i = 0; i < 2; i++)
        if (task->results_fd[i] > 0)
            close(task->results_fd[i]);
    pr_buf_free(&task->head[0]);
    pr_buf_free(&task->head[1]);
    free(task->line);
    free(task);
}

void
pr_task_clear_command(struct pr_task *task)
{
    free_argv(task->argv);
    task->argv = NULL;
    free(task->line);
    task->line = NULL;
    task->line_len = 0;
}

void
pr_task_set_long_fd(struct pr_task *task, int fd)
{
    if (task->long_fd >= 0) {
        close(task->long_fd);
        long_files--;
    }
    task->long_fd = fd;
    if (fd >= 0)
        long_files++;
}

unsigned
pr_task_long_files(void)
{
    return long_files;
}

int
pr_task_runnable(struct pr_task *task)
{
    if (task->after_unheld) {
        task->error = -ENOTSUP; /* UV_ENOTSUP on Unix */
        task->error_what = "its \"after\" is for poolrun -f and --json only "
                           "(the queue service has submit --after)";
        return task->error;
    }
    if (task->long_error == 0)
        return 0;
    task->error = task->long_error;
    task->error_what = task->long_why;
    return task->error;
}

const char *
pr_task_status_name(enum pr_task_status status)
{
    if ((unsigned)status >= PR_TASK_STATUS_COUNT)
        return "unknown";
    return status_names[status];
}

double
pr_task_runtime(const struct pr_task *task)
{
    if (task->start_ns == 0 || task->end_ns < task->start_ns)
        return 0;
    return (double)(task->end_ns - task->start_ns) / 1e9;
}

int
pr_task_code(const struct pr_task *task)
{
    switch (task->status) {
    case PR_TASK_OK:
    case PR_TASK_SKIPPED:
        return 0;
    case PR_TASK_TIMEOUT:
        return 124;
    case PR_TASK_KILLED:
        return 128 + task->term_signal;
    case PR_TASK_ERROR:
        return task->exit_status != 0 ? task->exit_status : 126;
    case PR_TASK_FAILED:
    default:
        return task->exit_status;
    }
}

enum pr_task_status
pr_task_final_status(const struct pr_task *task)
{
    if (task->error != 0)
        return PR_TASK_ERROR;
    if (task->timed_out)
        return PR_TASK_TIMEOUT;
    if (task->term_signal != 0)
        return PR_TASK_KILLED;
    if (task->exit_status != 0)
        return PR_TASK_FAILED;
    return PR_TASK_OK;
}
