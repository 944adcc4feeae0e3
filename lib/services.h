/*
 * services: a job file's tasks with "daemon": true.  A service starts at
 * once, outside the queue and the slots (it has no number of its own:
 * POOLRUN_SEQ=0), and runs beside the other tasks; once every other task
 * has ended it gets SIGTERM, and SIGKILL after the grace.  Terminated by
 * poolrun then, it did its job; ending before that, it failed.
 */
#ifndef PR_SERVICES_H
#define PR_SERVICES_H

#include <uv.h>

#include "runner.h"
#include "task.h"
#include "util.h"

struct pr_services {
    struct pr_runner *runner;
    struct pr_list list; /* the running services */
    unsigned n;
    int stopping;     /* the other tasks have ended: SIGTERM sent */
    uv_timer_t timer; /* SIGKILL after the grace */
    uint64_t grace_ms;
};

void pr_services_init(struct pr_services *s, uv_loop_t *loop,
                      struct pr_runner *runner, double kill_after);

/* Starts task (its command built) as a service. */
void pr_services_start(struct pr_services *s, struct pr_task *task);

/* A service's runner says it has ended: it leaves the list and gets its
 * status (run_stopping: the run was stopping, so any end is a told one).
 * Returns 1 if it was the last one to go after pr_services_stop. */
int pr_services_ended(struct pr_services *s, struct pr_task *task,
                      int run_stopping);

/* Every other task has ended: SIGTERM to each service that has not
 * exited, SIGKILL after the grace.  Returns 0 if there are none. */
int pr_services_stop(struct pr_services *s);

/* sig to every service's group; read again those paused (returns 1 if
 * one stays paused). */
void pr_services_signal(struct pr_services *s, int sig);
int pr_services_resume(struct pr_services *s);

void pr_services_close(struct pr_services *s);

#endif
