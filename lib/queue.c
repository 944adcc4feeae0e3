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
    size_t unfinished;
    enum pr_queue_order order;
    pr_queue_join_fn *join_fn;
    void *join_data;
};

struct pr_queue *
pr_queue_new(size_t capacity, enum pr_queue_order order)
{
    struct pr_queue *q = pr_xcalloc(1, sizeof(*q));

    pr_list_init(&q->items);
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
    q->unfinished++;
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

static void
maybe_fire_join(struct pr_queue *q)
{
    pr_queue_join_fn *fn = q->join_fn;

    if (fn == NULL || q->unfinished != 0)
        return;
    /* Clear first: the callback may free the queue or join again. */
    q->join_fn = NULL;
    fn(q->join_data);
}

int
pr_queue_task_done(struct pr_queue *q)
{
    if (q->unfinished == 0)
        return UV_EINVAL;
    q->unfinished--;
    maybe_fire_join(q);
    return 0;
}

void
pr_queue_join(struct pr_queue *q, pr_queue_join_fn *fn, void *data)
{
    q->join_fn = fn;
    q->join_data = data;
    maybe_fire_join(q);
}

size_t
pr_queue_len(const struct pr_queue *q)
{
    return q->len;
}

size_t
pr_queue_unfinished(const struct pr_queue *q)
{
    return q->unfinished;
}

int
pr_queue_full(const struct pr_queue *q)
{
    return q->capacity != 0 && q->len >= q->capacity;
}
