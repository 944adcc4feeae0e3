/*
 * joblog: rows in GNU parallel's format.  Exitval is the exit code, or -1
 * for a task poolrun could not start; Signal is the signal that ended it.
 * Starttime is epoch seconds with milliseconds, as parallel writes it.
 */
#include "joblog.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util.h"

struct pr_joblog {
    int fd;
    int error; /* the first write error: nothing is written after it */
    struct pr_buf row;
};

const char pr_joblog_header[] = "Seq\tHost\tStarttime\tJobRuntime\tSend\t"
                                "Receive\tExitval\tSignal\tCommand\n";

int
pr_joblog_open(struct pr_joblog **out, const char *path, int append)
{
    struct pr_joblog *jl;
    struct stat st;
    int fd = open(path,
                  O_WRONLY | O_CREAT | O_CLOEXEC | (append ? O_APPEND : O_TRUNC),
                  0666);
    int rc = 0;

    if (fd < 0)
        return -errno;
    if (!append || (fstat(fd, &st) == 0 && st.st_size == 0))
        rc = pr_write_all(fd, pr_joblog_header,
                          sizeof(pr_joblog_header) - 1);
    else
        rc = pr_records_fresh_line(fd, path);
    if (rc != 0) {
        close(fd);
        return rc;
    }
    jl = pr_xcalloc(1, sizeof(*jl));
    jl->fd = fd;
    *out = jl;
    return 0;
}

void
pr_joblog_escape(struct pr_buf *b, const char *line, size_t len)
{
    size_t i;

    pr_buf_reserve(b, len);
    for (i = 0; i < len; i++) {
        char c = line[i];

        if (c == '\\')
            pr_buf_append(b, "\\\\", 2);
        else if (c == '\t')
            pr_buf_append(b, "\\t", 2);
        else if (c == '\n')
            pr_buf_append(b, "\\n", 2);
        else if (c == '\0')
            pr_buf_append(b, "\\0", 2);
        else
            pr_buf_append(b, &c, 1);
    }
}

void
pr_joblog_row(struct pr_buf *b, const struct pr_task *task)
{
    char fields[256];
    int exitval = task->status == PR_TASK_ERROR && task->exit_status == 0
                      ? -1
                      : task->exit_status;
    int n;

    n = snprintf(
        fields, sizeof(fields), "%llu\t:\t%.3f\t%8.3f\t0\t%llu\t%d\t%d\t",
        (unsigned long long)task->seq, task->start_wall, pr_task_runtime(task),
        (unsigned long long)task->out.total, exitval, task->term_signal);
    pr_buf_append(b, fields, (size_t)n);
    pr_joblog_escape(b, task->line, task->line_len);
    pr_buf_append(b, "\n", 1);
}

int
pr_joblog_write(struct pr_joblog *jl, const struct pr_task *task)
{
    if (jl->error != 0)
        return jl->error;
    jl->row.len = 0;
    pr_joblog_row(&jl->row, task);
    /* A failed write may have left part of the row: rows written after it
     * would be glued to that part, so there are none. */
    jl->error = pr_write_all(jl->fd, jl->row.data, jl->row.len);
    return jl->error;
}

int
pr_joblog_close(struct pr_joblog *jl)
{
    int rc = 0;

    if (jl == NULL)
        return 0;
    if (close(jl->fd) != 0)
        rc = -errno;
    pr_buf_free(&jl->row);
    free(jl);
    return rc;
}
