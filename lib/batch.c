/*
 * batch: the tally is a fixed struct updated in place (the slowest three
 * are an insertion into three entries), so a final record costs no
 * allocation and no more time however many tasks the batch holds.  The
 * count and its waiters are join.c's.
 */
#include "batch.h"

#include <stdio.h>
#include <string.h>

void
pr_batch_init(struct pr_batch *b)
{
    memset(&b->tally, 0, sizeof(b->tally));
    pr_join_init(&b->join);
}

void
pr_batch_fini(struct pr_batch *b)
{
    pr_join_fini(&b->join);
}

void
pr_batch_add(struct pr_batch *b)
{
    pr_join_add(&b->join);
}

static void
note_code(struct pr_batch_tally *t, const struct pr_task *task)
{
    int code = pr_task_code(task);

    if (!t->have_code) {
        t->have_code = 1;
        t->first_code = code;
        t->max_code = code;
    }
    t->last_code = code;
    if (code > t->max_code)
        t->max_code = code;
}

/* What the summary names a task by: its job file id, else the start of its
 * command line, which stops at a NUL and shows control characters as
 * spaces so that one entry stays one line. */
static void
describe(struct pr_batch_slow *s, const struct pr_task *task)
{
    size_t n;
    size_t k;

    if (task->spec != NULL && task->spec->id != NULL) {
        snprintf(s->text, sizeof(s->text), "%s", task->spec->id);
        s->is_id = 1;
        return;
    }
    s->is_id = 0;
    n = task->line_len < sizeof(s->text) - 1 ? task->line_len
                                             : sizeof(s->text) - 1;
    memcpy(s->text, task->line ? task->line : "", task->line ? n : 0);
    s->text[task->line ? n : 0] = '\0';
    for (k = 0; s->text[k] != '\0'; k++)
        if ((unsigned char)s->text[k] < 0x20)
            s->text[k] = ' ';
}

/* Keeps the three longest-running tasks, longest first; of equal runtimes
 * the one tallied first stays ahead. */
static void
note_slow(struct pr_batch_tally *t, const struct pr_task *task)
{
    double rt = pr_task_runtime(task);
    struct pr_batch_slow *s;
    unsigned i;

    /* One that never ran, or that poolrun itself ended (a halt, a stop,
     * a closed stdout) ran as long as poolrun let it: not slow. */
    if (task->start_ns == 0 || task->status == PR_TASK_SKIPPED ||
        (task->status == PR_TASK_KILLED && task->signalled != 0))
        return;
    for (i = t->nslowest; i > 0 && t->slowest[i - 1].runtime < rt; i--)
        ;
    if (i >= PR_ARRAY_SIZE(t->slowest))
        return;
    if (t->nslowest < PR_ARRAY_SIZE(t->slowest))
        t->nslowest++;
    memmove(&t->slowest[i + 1], &t->slowest[i],
            (t->nslowest - 1 - i) * sizeof(t->slowest[0]));
    s = &t->slowest[i];
    s->seq = task->seq;
    s->runtime = rt;
    describe(s, task);
}

void
pr_batch_tally(struct pr_batch *b, const struct pr_task *task)
{
    struct pr_batch_tally *t = &b->tally;

    if (task->status == PR_TASK_OK)
        t->ok++;
    else if (task->status != PR_TASK_SKIPPED)
        pr_batch_tally_failure(b, task);
    t->counts[task->status]++;
    t->total++;
    if (task->out.lost != 0 || task->err.lost != 0)
        t->output_lost++;
    note_slow(t, task);
}

void
pr_batch_tally_failure(struct pr_batch *b, const struct pr_task *task)
{
    b->tally.failed++;
    note_code(&b->tally, task);
}

int
pr_batch_done(struct pr_batch *b)
{
    return pr_join_done(&b->join);
}

void
pr_batch_join(struct pr_batch *b, struct pr_join_waiter *w, pr_join_fn *fn,
              void *data)
{
    pr_join_wait(&b->join, w, fn, data);
}

void
pr_batch_join_cancel(struct pr_join_waiter *w)
{
    pr_join_cancel(w);
}

uint64_t
pr_batch_unfinished(const struct pr_batch *b)
{
    return b->join.unfinished;
}
