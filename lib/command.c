/*
 * command: see command.h.
 */
#include "command.h"

#include <string.h>

#include "util.h"

/* Items joined by sep, into a new NUL-terminated string. */
static char *
join_items(const struct pr_task *task, char sep, size_t *len)
{
    struct pr_buf b = {0};
    unsigned i;

    for (i = 0; i < task->nitems; i++) {
        if (i > 0)
            pr_buf_append(&b, &sep, 1);
        pr_buf_append(&b, task->items[i].p, task->items[i].len);
    }
    pr_buf_append(&b, "", 1);
    *len = b.len - 1;
    return b.data;
}

/* --tag for a task of a job file or --json, which has no items: its id,
 * or its sequence number. */
static void
tag_task(struct pr_task *task)
{
    struct pr_buf b = {0};

    if (task->spec->id != NULL)
        pr_buf_append(&b, task->spec->id, strlen(task->spec->id));
    else
        pr_buf_appendf(&b, "%llu", (unsigned long long)task->seq);
    pr_buf_append(&b, "\t", 2); /* and the NUL */
    task->tag = b.data;
    task->tag_len = b.len - 1;
}

/* --tagstring's text, filled in. */
static char *
format_tag(const struct pr_task *task, const struct pr_template *tagstring,
           size_t *len)
{
    struct pr_buf b = {0};

    pr_template_format(tagstring, task, &b);
    pr_buf_append(&b, "", 1);
    *len = b.len - 1;
    return b.data;
}

void
pr_command_build(struct pr_task *task, const struct pr_template *command,
                 int tag, const struct pr_template *tagstring)
{
    if (tag && task->tag == NULL && task->nitems == 0 && task->spec != NULL)
        tag_task(task);
    if (tag && task->tag == NULL) {
        size_t n;

        task->tag = tagstring != NULL ? format_tag(task, tagstring, &n)
                                      : join_items(task, ' ', &n);
        task->tag = pr_xrealloc(task->tag, n + 2);
        task->tag[n] = '\t';
        task->tag[n + 1] = '\0';
        task->tag_len = n + 1;
    }
    if (task->line != NULL || task->argv != NULL)
        return;
    if (command != NULL) {
        int rc = pr_template_expand(command, task);

        if (rc != 0)
            task->error = rc;
        return;
    }
    task->line = join_items(task, '\n', &task->line_len);
    /* `true` or `gzip -9 a.txt` need no shell to start them; a worker
     * takes the line as it is, so splitting waits for a spawn. */
    task->plain_line = 1;
}
