/*
 * rq: a queue in Redis (DESIGN.md, "Scale-out").  One queue NAME is four
 * keys under one hash tag, poolrun:{NAME}:s (a stream, group "w", one
 * entry per task), :ids (task id -> entry id: idempotent submit), :results
 * (task id -> result JSON: first result wins) and :meta (submitted, done,
 * failed, closed).  Every script declares the keys it touches.
 *
 * The connection is hiredis's async API on a libuv loop; hiredis 0.14 has
 * no timeouts of its own, so each command is bounded by a timer of ours,
 * and a command that times out drops the connection.  The client verbs use
 * the blocking calls below, which run a private loop until the answer.
 * URL parsing is always built; the rest says UV_ENOTSUP in a build
 * without hiredis (pr_rq_built_in says which).
 */
#ifndef PR_RQ_H
#define PR_RQ_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "source.h"

/* redis://[user@]host[:port][/db]/NAME, parsed. */
struct pr_rq_url {
    char *user; /* or NULL */
    char *host;
    int port; /* 6379 if not given */
    int db;   /* 0 if not given */
    char *name;
};

/* Is s a Redis queue's URL (redis://...)?  The client verbs then go to
 * Redis instead of the local service. */
int pr_rq_is_url(const char *s);

/* Parses s into u (free with pr_rq_url_free).  Returns 0, or UV_EINVAL
 * with *why set to what is wrong (a password in the URL is refused: argv
 * is visible to every user in ps). */
int pr_rq_url_parse(const char *s, struct pr_rq_url *u, const char **why);
void pr_rq_url_free(struct pr_rq_url *u);

/* 1 if this poolrun was built with Redis support, else 0. */
int pr_rq_built_in(void);

struct pr_rq_client;

struct pr_rq_config {
    const struct pr_rq_url *url;
    const char *password; /* or NULL: sent with AUTH, never shown */
    double timeout;       /* seconds each command may take */
};

/* --- the client verbs: blocking calls -------------------------------- */

/* Connects (AUTH, SELECT).  Returns 0, or a negative code after which *out
 * still holds the client for pr_rq_client_error; free it either way. */
int pr_rq_client_open(struct pr_rq_client **out, const struct pr_rq_config *c);
void pr_rq_client_free(struct pr_rq_client *c); /* NULL-safe */
/* The Redis server's own words for the last error (a WRONGPASS, an ERR),
 * or "" when the error was not the server's (a timeout). */
const char *pr_rq_client_error(const struct pr_rq_client *c);

/* Adds n tasks: ids[i] and the task object tasks[i] (JSON text).  A task
 * whose id is already there is left as it is.  *added counts the new.
 * UV_EPERM if the queue was closed. */
int pr_rq_submit(struct pr_rq_client *c, size_t n, const char *const *ids,
                 const char *const *tasks, uint64_t *added);

struct pr_rq_counts {
    uint64_t submitted, done, failed;
    int closed;
    uint64_t pending;   /* delivered to a worker, not acknowledged */
    uint64_t waiting;   /* never delivered yet */
    uint64_t consumers; /* workers the group knows */
    /* The oldest entry delivered and not acknowledged: when it was
     * submitted, and the server's time now (ms since the epoch); 0 when
     * none is. */
    uint64_t oldest_ms, now_ms;
    /* Tasks in flight per node (consumer name), the first PR_RQ_NODES;
     * nnodes counts them all. */
#define PR_RQ_NODES 32
    struct {
        char name[64];
        uint64_t inflight;
    } node[PR_RQ_NODES];
    size_t nnodes;
};

int pr_rq_counts(struct pr_rq_client *c, struct pr_rq_counts *out);

/* fn(data, id, json, len) for each result recorded so far. */
int pr_rq_each_result(struct pr_rq_client *c,
                      void (*fn)(void *data, const char *id, const char *json,
                                 size_t len),
                      void *data);

/* The queue takes no more tasks (submit says UV_EPERM). */
int pr_rq_close_queue(struct pr_rq_client *c);

/* Records task id skipped ("cancelled") unless it has a result; *result is
 * "cancelled", "ended" (it had one) or "unknown".  A worker running it
 * still finishes it, but its result is not counted. */
int pr_rq_cancel(struct pr_rq_client *c, const char *id, const char **result);

/* --- the worker: a source (source.h) --------------------------------- */

struct pr_rq_worker_config {
    struct pr_rq_config conn;
    const char *node;    /* this worker's consumer name */
    unsigned slots;      /* -j: at most this many entries held */
    unsigned ahead;      /* and this many more while tasks are short */
    unsigned block_ms;   /* XREADGROUP BLOCK */
    unsigned renew_ms;   /* renew own entries this often */
    unsigned lease_ms;   /* reclaim entries idle past this */
    unsigned attempts;   /* past this many deliveries: lost */
    size_t output_limit; /* stdout bytes kept in a result */
    /* A line for the user while the worker goes on (Redis went away,
     * came back), without "poolrun: "; optional. */
    void (*on_note)(void *data, const char *msg);
    void *data;
};

/* A source that takes tasks from the queue.  Returns 0 and the source in
 * *out (free with pr_source_free after the loop ran), or a negative
 * code.  When Redis cannot be reached at the start, or refuses the
 * password, the source says why through the intake's fail
 * ("redis://HOST:PORT: WHAT: REDIS'S WORDS") and ends.  When it goes away
 * later, the running tasks go on, their results wait, and the source
 * connects again with a growing pause (on_note says so); stopping while
 * it is away, the results not yet written are let go (their tasks run
 * again elsewhere). */
int pr_rq_source_new(struct pr_source **out, uv_loop_t *loop,
                     const struct pr_rq_worker_config *cfg);

#endif
