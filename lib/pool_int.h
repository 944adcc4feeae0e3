/*
 * pool_int: what the three files of the pool share, and nothing outside
 * them sees.  The pool is split by what each part is for:
 *
 *   pool.c       the flow of tasks: put, schedule, start through the
 *                runner, take each end, retry or record it (the task
 *                path, run once per task)
 *   pool_run.c   the life of a run: making the parts, starting them, and
 *                the end in its order (workers, services, --on-join,
 *                escaped processes, handles); the output's flow control
 *   pool_stop.c  stopping early: signals, --halt, a closed stdout, a
 *                worker crash loop, and the TERM, grace, KILL of the tasks
 */
#ifndef PR_POOL_INT_H
#define PR_POOL_INT_H

#include "pool.h"

#include "batch.h"
#include "callback.h"
#include "deps.h"
#include "gate.h"
#include "joblog.h"
#include "later.h"
#include "median.h"
#include "outwatch.h"
#include "progress.h"
#include "records.h"
#include "results.h"
#include "runner.h"
#include "services.h"
#include "slots.h"
#include "source.h"

struct pr_pool {
    uv_loop_t *loop;
    struct pr_pool_config cfg;
    struct pr_pool_result *result; /* the caller's, filled as it goes */
    /* Where tasks come from and wait. */
    struct pr_source *src;
    struct pr_intake intake; /* what src sees of the pool */
    struct pr_queue *queue;
    struct pr_batch batch; /* the run's tasks: their count, tally, join */
    struct pr_deps *deps;  /* with cfg.deps: the tasks held back */
    int starting;          /* the source's start puts: schedule after */
    uint64_t next_seq;
    int input_ended;
    int input_told; /* on_input_end has been called */
    /* What runs them. */
    struct pr_spawn_ctx spawn;
    struct pr_runner *runner; /* runs the tasks */
    struct pr_runner *aux;    /* runs services and callbacks */
    struct pr_runner_up up;   /* what the runners call */
    int runner_down;          /* the runner has ended what it kept */
    struct pr_slots slots;
    unsigned live; /* tasks holding a slot whose runner started them */
    struct pr_list running_list;
    struct pr_slice slice;       /* this loop turn's starts */
    uv_idle_t slice_idle;        /* the next slice, after the events */
    struct pr_gate gate;         /* --delay, --memfree, --load */
    uv_timer_t gate_timer;       /* the gate: ask again */
    uv_prepare_t out_flush;      /* the output's batch, before the loop
                                    waits */
    struct pr_later retries;     /* tasks waiting to run again */
    struct pr_services services; /* "daemon": true */
    struct pr_callbacks cbs;     /* --on-done, --on-fail, --on-join */
    struct pr_reaper *reaper;    /* processes that escaped a task's group */
    /* Where their records and output go. */
    struct pr_records records; /* every sink of the final records */
    struct pr_joblog_sink joblog;
    struct pr_results_sink results;
    struct pr_list to_record; /* final records waiting for the one being
                                 made (see pr__pool_record()) */
    int recording;
    struct pr_output *output;
    struct pr_outwatch *outwatch; /* stdout, stderr: room again */
    int output_gated;             /* a task waits for the output to shrink */
    int paused_any;               /* tasks are not read until it has */
    struct pr_progress *progress;
    struct pr_median runtimes; /* --timeout N%: of the tasks that succeeded */
    uint64_t started_ms; /* uv_now() when the run began */
    /* Stopping and the end. */
    int stopping; /* no task starts any more */
    int killing;  /* SIGKILL has been sent to every group */
    int halted;
    uv_timer_t kill_timer;      /* SIGKILL after the grace */
    int joined;                 /* pr_pool_close has been called */
    void (*close_done)(void *); /* called once the pool has closed */
    void *close_data;
    int close_on_drain; /* the run is over once the output is out */
    int closed;         /* close_own_handles has closed them */
};

/* pool.c */
void pr__pool_flow_up(struct pr_pool *pool);    /* at new: the upcalls */
void pr__pool_flow_start(struct pr_pool *pool); /* at start: handles, intake */
void pr__pool_slice_init(struct pr_pool *pool); /* at start */
void pr__pool_schedule(struct pr_pool *pool);
void pr__pool_record(struct pr_pool *pool, struct pr_task *task);
void pr__pool_task_done(struct pr_pool *pool);
void pr__pool_input_over(struct pr_pool *pool);

/* pool_run.c */
void pr__pool_close_step(struct pr_pool *pool);
void pr__pool_finish(struct pr_pool *pool);

/* pool_stop.c */
void pr__pool_stop(struct pr_pool *pool, enum pr_pool_stop why, int sig);
void pr__pool_check_halt(struct pr_pool *pool, const struct pr_task *task);
const char *pr__pool_stop_reason(const struct pr_pool *pool);
void pr__pool_output_error(void *data, int err);

#endif
