/*
 * queue: an intrusive list of tasks plus Python JoinableQueue's count of
 * unfinished tasks.  The list is kept in get order, so get is O(1) for every
 * order; a priority put walks back from the tail, which keeps ties in put
 * order and is O(1) when priorities are equal (the common case).
 */
#include "queue.h"

#include <stdlib.h>
#include <uv.h>

#include "util.h"

struct pr_queue {
    struct pr_list items;
    size_t len;
    size_t capacity;
    enum pr_queue_order order;
    struct pr_join join; /* the unfinished count and its waiters */
};

struct pr_queue *
pr_queue_new(size_t capacity, enum pr_queue_order order)
{
    struct pr_queue *q = pr_xcalloc(1, sizeof(*q));

    pr_list_init(&q->items);
    pr_join_init(&q->join);
    q->capacity = capacity;
    q->order = order;
    return q;
}

void
pr_queue_free(struct pr_queue *q)
{
    if (q == NULL)
        return;
    while (!pr_list_empty(&q->items)) {
        struct pr_list *n = q->items.next;

        pr_list_remove(n);
        pr_task_free(PR_CONTAINER_OF(n, struct pr_task, node));
    }
    pr_join_fini(&q->join);
    free(q);
}

int
pr_queue_put(struct pr_queue *q, struct pr_task *task)
{
    struct pr_list *pos;

    if (pr_queue_full(q))
        return UV_ENOBUFS;
    switch (q->order) {
    case PR_ORDER_LIFO:
        pos = q->items.next;
        break;
    case PR_ORDER_PRIORITY:
        /* Insert after the last task whose priority is >= ours. */
        pos = &q->items;
        while (pos->prev != &q->items &&
               PR_CONTAINER_OF(pos->prev, struct pr_task, node)->priority <
                   task->priority)
            pos = pos->prev;
        break;
    case PR_ORDER_FIFO:
    default:
        pos = &q->items;
        break;
    }
    pr_list_insert_before(pos, &task->node);
    q->len++;
    pr_join_add(&q->join);
    return 0;
}

struct pr_task *
pr_queue_get(struct pr_queue *q)
{
    struct pr_list *n;

    if (pr_list_empty(&q->items))
        return NULL;
    n = q->items.next;
    pr_list_remove(n);
    q->len--;
    return PR_CONTAINER_OF(n, struct pr_task, node);
}

struct pr_task *
pr_queue_peek(const struct pr_queue *q)
{
    if (pr_list_empty(&q->items))
        return NULL;
    return PR_CONTAINER_OF(q->items.next, struct pr_task, node);
}

void
pr_queue_unget(struct pr_queue *q, struct pr_task *task)
{
    pr_list_insert_before(q->items.next, &task->node);
    q->len++;
}

void
pr_queue_remove(struct pr_queue *q, struct pr_task *task)
{
    pr_list_remove(&task->node);
    q->len--;
}

void
pr_queue_count(struct pr_queue *q)
{
    pr_join_add(&q->join);
}

int
pr_queue_task_done(struct pr_queue *q)
{
    return pr_join_done(&q->join);
}

void
pr_queue_join(struct pr_queue *q, struct pr_join_waiter *w, pr_join_fn *fn,
              void *data)
{
    pr_join_wait(&q->join, w, fn, data);
}

void
pr_queue_join_cancel(struct pr_join_waiter *w)
{
    pr_join_cancel(w);
}

size_t
pr_queue_len(const struct pr_queue *q)
{
    return q->len;
}

size_t
pr_queue_unfinished(const struct pr_queue *q)
{
    return (size_t)q->join.unfinished;
}

int
pr_queue_full(const struct pr_queue *q)
{
    return q->capacity != 0 && q->len >= q->capacity;
}
