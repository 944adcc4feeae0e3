/*
 * service: `poolrun serve`, joinable queues that outlive one command.  The
 * service listens on a Unix socket; each client message is one JSON object
 * (see proto.h for the framing) with an "op":
 *
 *   submit   {"queue", "cwd", "env": ["K=V"...], "jsonl": task objects,
 *             one per line, as in a JSON Lines job file}
 *            -> {"ok": true, "ids": [...]}
 *   status   {"queue"?} -> {"ok": true, "queues": [{"name", "jobs",
 *             "unfinished", "total", "ok", "failed", "running": [{"id",
 *             "pid", "runtime", "cmd"}], "paused": [{"id", "attempts",
 *             "cmd"}]}]}
 *   join     {"queue", "timeout"?} -> when the queue's unfinished count is
 *             zero: {"ok": true, "total", "failed", ...}, or at the timeout
 *             {"ok": false, "timeout": true}
 *   wait     {"ids": [...], "timeout"?} -> once each has its final record:
 *             {"ok": true, "tasks": [{"id", "status", "code"}]}
 *   log      {"id"} -> {"ok": true, "stdout", "stderr"}: what was kept of
 *             an ended task; with "follow": true, frames {"stream": 1|2,
 *             "base64"} as the task writes (its captures first if it
 *             runs), {"stream", "skipped": N, "why"} for bytes left out,
 *             and at its final record {"ok": true, "id", "status", "code"}
 *   resume   {"ids"?: [...], "queue"?} -> {"ok": true, "tasks": [{"id",
 *             "result": "resumed" or "not paused"}]}: tasks held by
 *             start_paused run (named ones, a queue's, or all)
 *   shutdown {"drain"?} -> {"ok": true}; the service ends once its queues
 *             have (drain: their tasks finish; else they are stopped)
 *
 * Anything else gets {"ok": false, "error": "..."}; a message that cannot
 * be read closes its connection, and the service goes on.
 *
 * Each named queue is a pool of its own on the one loop, with its own -j
 * (the service's default), its own batch (the queue's join) and a source
 * that the socket feeds; every task's end comes back through the source's
 * ended, which answers the clients that wait for it.
 */
#ifndef PR_SERVICE_H
#define PR_SERVICE_H

#include <uv.h>

#include "pool.h"

struct pr_service;

struct pr_service_config {
    struct pr_pool_config pool; /* every queue's defaults (-j, ...) */
    int listen_fd;              /* a listening Unix socket, taken */
    const char *state_dir;      /* the journal's folder, or NULL */
    /* A task that was running when the service died waits for a resume,
     * instead of running again. */
    int start_paused;
    /* A journal smaller than this many bytes is never compacted; 0: the
     * default, 1 MiB. */
    uint64_t compact_min;
    /* Called once every queue has ended after a shutdown, and the
     * service's handles are closing: the caller closes its own. */
    void (*ended)(void *data);
    void *ended_data;
};

/* Reads the journal (its queues and their unfinished tasks come back; a
 * task that was running runs again, or waits with start_paused) and
 * returns 0 and the new service in *out, or a negative error: UV_EBUSY
 * when another service holds the state folder.  Free *out with
 * pr_service_free either way, after running the loop until its handles
 * have closed. */
int pr_service_new(struct pr_service **out, uv_loop_t *loop,
                   const struct pr_service_config *cfg);

/* Starts accepting clients.  The loop then runs until a shutdown has
 * ended every queue. */
int pr_service_start(struct pr_service *s);

/* SIGINT, SIGTERM: stop every queue now and end; SIGHUP: drain and end. */
void pr_service_signal(struct pr_service *s, int signum);

/* After the loop has run. */
void pr_service_free(struct pr_service *s);

#endif
