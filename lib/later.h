/*
 * later: tasks that wait off the slots until a time (a retry's
 * --retry-delay), in the order they are due, under one timer.
 */
#ifndef PR_LATER_H
#define PR_LATER_H

#include <stdint.h>
#include <uv.h>

#include "task.h"
#include "util.h"

/* A task is due: it is off the list and the caller's again.  After the
 * due tasks of a wakeup, done(data) once. */
typedef void pr_later_due_fn(void *data, struct pr_task *task);

struct pr_later {
    uv_loop_t *loop;
    uv_timer_t timer;    /* the earliest task that waits */
    struct pr_list list; /* by task->retry_at, then in order of waiting */
    pr_later_due_fn *due;
    void (*done)(void *data);
    void *data;
};

void pr_later_init(struct pr_later *l, uv_loop_t *loop, pr_later_due_fn *due,
                   void (*done)(void *), void *data);

/* task waits until ms milliseconds from now (task->retry_at says when). */
void pr_later_add(struct pr_later *l, struct pr_task *task, uint64_t ms);

/* Takes the first waiting task off the list, or returns NULL. */
struct pr_task *pr_later_take(struct pr_later *l);

void pr_later_close(struct pr_later *l);

#endif
