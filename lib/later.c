/*
 * later: see later.h.
 */
#include "later.h"

static void on_timer(uv_timer_t *timer);

static void
arm(struct pr_later *l)
{
    struct pr_task *first;
    uint64_t now = uv_now(l->loop);

    if (pr_list_empty(&l->list)) {
        uv_timer_stop(&l->timer);
        return;
    }
    first = PR_CONTAINER_OF(l->list.next, struct pr_task, node);
    uv_timer_start(&l->timer, on_timer,
                   first->retry_at > now ? first->retry_at - now : 0, 0);
}

static void
on_timer(uv_timer_t *timer)
{
    struct pr_later *l = timer->data;
    uint64_t now = uv_now(l->loop);

    while (!pr_list_empty(&l->list)) {
        struct pr_task *task =
            PR_CONTAINER_OF(l->list.next, struct pr_task, node);

        if (task->retry_at > now)
            break;
        pr_list_remove(&task->node);
        l->due(l->data, task);
    }
    arm(l);
    l->done(l->data);
}

void
pr_later_init(struct pr_later *l, uv_loop_t *loop, pr_later_due_fn *due,
              void (*done)(void *), void *data)
{
    l->loop = loop;
    l->due = due;
    l->done = done;
    l->data = data;
    pr_list_init(&l->list);
    uv_timer_init(loop, &l->timer);
    l->timer.data = l;
}

void
pr_later_add(struct pr_later *l, struct pr_task *task, uint64_t ms)
{
    struct pr_list *pos = &l->list;

    uv_update_time(l->loop); /* the wait starts now, not at loop turn */
    task->retry_at = uv_now(l->loop) + ms;
    while (pos->prev != &l->list &&
           PR_CONTAINER_OF(pos->prev, struct pr_task, node)->retry_at >
               task->retry_at)
        pos = pos->prev;
    pr_list_insert_before(pos, &task->node);
    arm(l);
}

struct pr_task *
pr_later_take(struct pr_later *l)
{
    struct pr_task *task;

    if (pr_list_empty(&l->list)) {
        uv_timer_stop(&l->timer);
        return NULL;
    }
    task = PR_CONTAINER_OF(l->list.next, struct pr_task, node);
    pr_list_remove(&task->node);
    return task;
}

void
pr_later_close(struct pr_later *l)
{
    if (!uv_is_closing((uv_handle_t *)&l->timer))
        uv_close((uv_handle_t *)&l->timer, NULL);
}
