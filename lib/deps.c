/*
 * deps: see deps.h.  Ids live in an open-addressing hash table of nodes;
 * a node that a held task waits for keeps a list of edges to the holds of
 * its waiters.  A hold is freed when it is released; one taken at a stop
 * may still have edges pointing at it, so it stays (emptied) until the
 * table is freed.
 */
#include "deps.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

struct hold {
    struct pr_list node;  /* on pr_deps.held while held */
    struct pr_task *task; /* NULL once taken */
    unsigned blocking;    /* its dependencies that have not ended */
};

struct edge {
    struct edge *next;
    struct hold *h;
    int any;
};

struct node {
    char *id;
    int ended;
    int ok;            /* it ended ok, or was done in an earlier run */
    char *why;         /* the skip reason of its waiters, once it failed */
    struct edge *wait; /* the holds waiting for it, in put order */
    struct edge **wait_end;
};

struct pr_deps {
    struct node **v; /* NULL: an empty bucket */
    size_t n;
    size_t cap; /* a power of two */
    struct pr_list held;
    size_t nheld;
    struct hold **taken; /* holds taken at a stop, freed with the table */
    size_t ntaken;
};

struct pr_deps *
pr_deps_new(void)
{
    struct pr_deps *d = pr_xcalloc(1, sizeof(*d));

    d->cap = 64;
    d->v = pr_xcalloc(d->cap, sizeof(*d->v));
    pr_list_init(&d->held);
    return d;
}

void
pr_deps_free(struct pr_deps *d)
{
    size_t i;

    if (d == NULL)
        return;
    for (i = 0; i < d->cap; i++) {
        struct node *nd = d->v[i];
        struct edge *e, *next;

        if (nd == NULL)
            continue;
        for (e = nd->wait; e != NULL; e = next) {
            next = e->next;
            free(e);
        }
        free(nd->id);
        free(nd->why);
        free(nd);
    }
    for (i = 0; i < d->ntaken; i++)
        free(d->taken[i]);
    free(d->taken);
    free(d->v);
    free(d);
}

static struct node **
slot(struct node **v, size_t cap, const char *id)
{
    size_t i = (size_t)pr_str_hash(id) & (cap - 1);

    while (v[i] != NULL && strcmp(v[i]->id, id) != 0)
        i = (i + 1) & (cap - 1);
    return &v[i];
}

/* The node of id, made if it is new. */
static struct node *
node_of(struct pr_deps *d, const char *id)
{
    struct node **s;

    if (2 * (d->n + 1) > d->cap) {
        size_t cap = d->cap * 2, i;
        struct node **v = pr_xcalloc(cap, sizeof(*v));

        for (i = 0; i < d->cap; i++)
            if (d->v[i] != NULL)
                *slot(v, cap, d->v[i]->id) = d->v[i];
        free(d->v);
        d->v = v;
        d->cap = cap;
    }
    s = slot(d->v, d->cap, id);
    if (*s == NULL) {
        *s = pr_xcalloc(1, sizeof(**s));
        (*s)->id = pr_xstrdup(id);
        (*s)->wait_end = &(*s)->wait;
        d->n++;
    }
    return *s;
}

/* The task will not run: a dependency it needed did not succeed.  The
 * first such one is the reason given. */
static void
mark_skipped(struct pr_task *task, const struct node *nd)
{
    if (task->skip_after)
        return;
    task->skip_after = 1;
    task->skip_why = nd->why;
}

int
pr_deps_put(struct pr_deps *d, struct pr_task *task)
{
    const struct pr_task_spec *spec = task->spec;
    struct hold *h = NULL;
    unsigned i;

    if (spec == NULL || spec->nafter == 0)
        return 1;
    task->after_unheld = 0; /* honoured here */
    for (i = 0; i < spec->nafter; i++) {
        struct node *nd = node_of(d, spec->after[i].id);
        struct edge *e;

        if (nd->ended) {
            if (!nd->ok && !spec->after[i].any)
                mark_skipped(task, nd);
            continue;
        }
        if (h == NULL) {
            h = pr_xcalloc(1, sizeof(*h));
            h->task = task;
        }
        e = pr_xcalloc(1, sizeof(*e));
        e->h = h;
        e->any = spec->after[i].any;
        *nd->wait_end = e;
        nd->wait_end = &e->next;
        h->blocking++;
    }
    if (h == NULL)
        return 1;
    pr_list_insert_before(&d->held, &h->node);
    d->nheld++;
    return 0;
}

/* Why the waiters of a task that did not succeed are skipped. */
static char *
reason(const char *id, const struct pr_task *task)
{
    struct pr_buf b = {0};

    pr_buf_appendf(&b, "a task it runs after did not succeed: \"%.200s\" (%s)",
                   id, pr_task_status_name(task->status));
    pr_buf_append(&b, "", 1); /* appendf leaves it unterminated */
    return b.data;
}

void
pr_deps_ended(struct pr_deps *d, const struct pr_task *task,
              pr_deps_release_fn *fn, void *data)
{
    const struct pr_task_spec *spec = task->spec;
    struct node *nd;
    struct edge *e, *next;

    if (spec == NULL || spec->id == NULL)
        return;
    nd = node_of(d, spec->id);
    nd->ended = 1;
    /* Done in an earlier run (--resume): what runs after it may run. */
    nd->ok = task->status == PR_TASK_OK ||
             (task->status == PR_TASK_SKIPPED && task->skip_why != NULL &&
              strcmp(task->skip_why, "resume") == 0);
    if (!nd->ok)
        nd->why = reason(spec->id, task);
    e = nd->wait;
    nd->wait = NULL;
    nd->wait_end = &nd->wait;
    for (; e != NULL; e = next) {
        struct hold *h = e->h;

        next = e->next;
        if (h->task != NULL && !nd->ok && !e->any)
            mark_skipped(h->task, nd);
        free(e);
        if (--h->blocking > 0 || h->task == NULL)
            continue;
        pr_list_remove(&h->node);
        d->nheld--;
        fn(data, h->task);
        free(h);
    }
}

size_t
pr_deps_held(const struct pr_deps *d)
{
    return d->nheld;
}

struct pr_task *
pr_deps_take(struct pr_deps *d)
{
    struct hold *h;
    struct pr_task *task;

    if (pr_list_empty(&d->held))
        return NULL;
    h = PR_CONTAINER_OF(d->held.next, struct hold, node);
    pr_list_remove(&h->node);
    d->nheld--;
    task = h->task;
    h->task = NULL;
    /* Edges may still point at it: it goes with the table. */
    d->taken = pr_xrealloc(d->taken, (d->ntaken + 1) * sizeof(*d->taken));
    d->taken[d->ntaken++] = h;
    return task;
}
