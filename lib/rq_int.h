/*
 * rq_int: what rq.c (the connection, the client calls) shares with
 * source_rq.c (the worker): one hiredis async connection on a libuv loop,
 * each command bounded by a timer of ours, and the queue's scripts.
 */
#ifndef PR_RQ_INT_H
#define PR_RQ_INT_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "rq.h"

struct redisReply;
struct pr_rq_conn;

/* The answer to one command: err is 0 (reply is Redis's answer, freed
 * after the call), or a negative code (reply NULL): UV_ETIMEDOUT (the
 * command took too long: the connection is dropped), UV_EACCES (AUTH was
 * refused), UV_EPROTO (Redis answered an error: see pr__rq_conn_error),
 * UV_ECONNRESET or UV_ECONNREFUSED (no connection), UV_ECANCELED (we
 * closed it). */
typedef void pr_rq_reply_fn(void *data, int err, struct redisReply *reply);

/* Connects to c->url (non-blocking; AUTH and SELECT are sent first).
 * on_lost(data), optional, comes once if the connection goes away other
 * than by pr__rq_conn_close. */
int pr__rq_conn_open(struct pr_rq_conn **out, uv_loop_t *loop,
                     const struct pr_rq_config *c,
                     void (*on_lost)(void *data, struct pr_rq_conn *c),
                     void *data);

/* Sends one command; fn comes exactly once, later (never from inside this
 * call).  Returns 0, or a negative code (no connection) and fn never
 * comes. */
int pr__rq_command(struct pr_rq_conn *c, uint64_t timeout_ms,
                   pr_rq_reply_fn *fn, void *data, int argc, const char **argv,
                   const size_t *lens);

/* Drops the connection: pending commands' fn come with UV_ECANCELED; the
 * memory goes once every timer has closed. */
void pr__rq_conn_close(struct pr_rq_conn *c);

/* The server's words for the last error, or the connection's, or "". */
const char *pr__rq_conn_error(const struct pr_rq_conn *c);

/* Why the connection went (a code as pr_rq_reply_fn's), or 0. */
int pr__rq_conn_err(const struct pr_rq_conn *c);

/* The key of one part ("s", "ids", "results", "meta") of queue name:
 * poolrun:{name}:part, into buf. */
void pr__rq_key(char *buf, size_t n, const char *name, const char *part);

/* The scripts (their KEYS are declared in rq.c). */
extern const char pr__rq_script_ack[];     /* s results meta */
extern const char pr__rq_script_reclaim[]; /* s results meta */
extern const char pr__rq_script_renew[];   /* s */
extern const char pr__rq_script_release[]; /* s */
extern const char pr__rq_script_init[];    /* s */

#endif
