/*
 * services: see services.h.
 */
#include "services.h"

#include <signal.h>

void
pr_services_init(struct pr_services *s, uv_loop_t *loop,
                 struct pr_runner *runner, double kill_after)
{
    s->runner = runner;
    pr_list_init(&s->list);
    s->n = 0;
    s->stopping = 0;
    s->grace_ms = (uint64_t)(kill_after * 1000);
    uv_timer_init(loop, &s->timer);
    s->timer.data = s;
}

void
pr_services_start(struct pr_services *s, struct pr_task *task)
{
    task->service = 1;
    task->seq = 0;
    task->attempt = 1;
    task->no_stream = 1;
    pr_list_insert_before(&s->list, &task->node);
    s->n++;
    s->runner->ops->start(s->runner, task);
}

int
pr_services_ended(struct pr_services *s, struct pr_task *task, int run_stopping)
{
    /* Ended before poolrun told it to: on its own, and too early; or at
     * its own timeout, which is no telling it to stop (its status says
     * it timed out). */
    int early = !run_stopping && (task->signalled == 0 || task->timed_out);

    pr_list_remove(&task->node);
    s->n--;
    task->end_ns = task->start_ns ? uv_hrtime() : 0;
    task->status = early ? pr_task_final_status(task) : PR_TASK_OK;
    if (early && task->status == PR_TASK_OK) {
        /* Exit 0, but a service is meant to run until it is told. */
        task->status = PR_TASK_FAILED;
        task->error_what = "the service exited before the other tasks ended";
    }
    if (s->n > 0 || !s->stopping)
        return 0;
    uv_timer_stop(&s->timer);
    return 1;
}

void
pr_services_signal(struct pr_services *s, int sig)
{
    struct pr_list *n;

    for (n = s->list.next; n != &s->list; n = n->next)
        s->runner->ops->signal(s->runner,
                               PR_CONTAINER_OF(n, struct pr_task, node), sig);
}

static void
on_timer(uv_timer_t *timer)
{
    pr_services_signal(timer->data, SIGKILL);
}

int
pr_services_stop(struct pr_services *s)
{
    struct pr_list *n;

    if (s->n == 0)
        return 0;
    if (s->stopping)
        return 1;
    s->stopping = 1;
    for (n = s->list.next; n != &s->list; n = n->next) {
        struct pr_task *svc = PR_CONTAINER_OF(n, struct pr_task, node);

        /* One that has already exited (not yet seen: the loop was busy)
         * ended before it was told to. */
        if (!s->runner->ops->exited(s->runner, svc))
            s->runner->ops->signal(s->runner, svc, SIGTERM);
    }
    uv_timer_start(&s->timer, on_timer, s->grace_ms, 0);
    return 1;
}

int
pr_services_resume(struct pr_services *s)
{
    struct pr_list *n;
    int still = 0;

    if (s->runner->ops->resume == NULL)
        return 0;
    for (n = s->list.next; n != &s->list; n = n->next)
        still |= s->runner->ops->resume(
            s->runner, PR_CONTAINER_OF(n, struct pr_task, node));
    return still;
}

void
pr_services_close(struct pr_services *s)
{
    if (!uv_is_closing((uv_handle_t *)&s->timer))
        uv_close((uv_handle_t *)&s->timer, NULL);
}
