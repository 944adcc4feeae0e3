/*
 * source_rq: `poolrun worker`'s source, a consumer NODE of the queue's
 * group (DESIGN.md, "Scale-out").  It holds at most `slots` entries: it
 * asks for as many as are free (XREADGROUP on a connection of its own,
 * since a blocked read holds its connection up), takes those idle past the
 * lease from dead peers (the reclaim script), renews its own every
 * renew_ms, and acknowledges each task in ended with the ack script, once
 * every sink has its record; a result stays in memory until Redis has it,
 * and a worker whose Redis went away connects again with a growing pause.
 * On a stop it hands back what it holds and has not run to its end (the
 * release script), and closes its handles once nothing is in flight: the
 * loop can then end.
 */
#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "json.h"
#include "rq.h"
#include "rq_int.h"
#include "source_json.h"
#include "task.h"
#include "util.h"

#define KEY_MAX 600

enum {
    K_S,
    K_RESULTS,
    K_META
};

/* Entries are held ahead of free slots (cfg.ahead) while the tasks' mean
 * runtime is under this: a task waiting on this node then costs a peer
 * at most this long, and a short task's slot is not left idle for the
 * round trip of a fetch. */
#define AHEAD_BELOW_NS (50 * 1000000ull)

/* Reconnections wait this long first, twice as long each time after. */
#define BACKOFF_FIRST_MS 500
#define BACKOFF_MAX_MS   30000

/* One stream entry this worker holds: its task is the pool's. */
struct entry {
    struct entry *prev, *next;
    char *eid;           /* the stream entry's id */
    char *tid;           /* the task's id */
    long long delivered; /* deliveries so far: the attempt */
};

/* A result to write (the ack script), kept until Redis has it: a result
 * is never dropped while the worker runs, whatever Redis does. */
struct ack {
    struct ack *next;
    struct rqsrc *s;
    char *eid, *tid, *json;
    int failed;
    int sent; /* its script is on the wire */
};

struct rqsrc {
    struct pr_source base;
    struct pr_rq_worker_config cfg;
    struct pr_rq_url url; /* a copy: the caller's may go first */
    uv_loop_t *loop;
    const struct pr_intake *in;
    struct pr_rq_conn *main;  /* scripts, acks */
    struct pr_rq_conn *fetch; /* XREADGROUP ... BLOCK */
    char keys[3][KEY_MAX];
    struct entry held; /* list head */
    unsigned nheld;
    unsigned inflight; /* commands on main whose answer has not come */
    uint64_t mean_ns;  /* tasks' runtime, a moving mean; 0: none yet */
    uv_timer_t renew;
    uint64_t last_reclaim;
    char cursor[64]; /* XAUTOCLAIM's */
    int fetching;
    int stopped;
    int ended;        /* end was called */
    int handed_back;  /* the entries that never started went back */
    struct ack *acks; /* results not yet written, oldest first */
    struct ack **acks_end;
    /* Sends the loop turn's results together, just before the loop waits:
     * a task's record is made in a close callback, after the turn's check
     * phase, so a check handle would hold the last results until some
     * other event (a fetch's BLOCK, the renew timer) woke the loop. */
    uv_prepare_t ack_turn;
    int connected; /* the queue answered once: later losses retry */
    int down;      /* the connections are gone: retrying, or given up */
    int retry_pending;
    unsigned backoff_ms;
    uv_timer_t retry;
    int releasing;
    int timer_open;
    int closed;
};

static void fetch(struct rqsrc *s);
static void maybe_close(struct rqsrc *s);
static void go_down(struct rqsrc *s, const char *what, struct pr_rq_conn *c);

static struct entry *
entry_new(struct rqsrc *s, const char *eid, size_t elen, const char *tid,
          size_t tlen, long long delivered)
{
    struct entry *e = pr_xcalloc(1, sizeof(*e));

    e->eid = pr_xmemdup(eid, elen);
    e->tid = pr_xmemdup(tid, tlen);
    e->delivered = delivered;
    e->next = s->held.next;
    e->prev = &s->held;
    s->held.next->prev = e;
    s->held.next = e;
    s->nheld++;
    return e;
}

static void
entry_free(struct rqsrc *s, struct entry *e)
{
    e->prev->next = e->next;
    e->next->prev = e->prev;
    s->nheld--;
    free(e->eid);
    free(e->tid);
    free(e);
}

/* "redis://HOST:PORT: WHAT: REDIS'S WORDS" into msg. */
static void
trouble_text(struct rqsrc *s, const char *what, struct pr_rq_conn *c, char *msg,
             size_t n)
{
    int err = c != NULL ? pr__rq_conn_err(c) : 0;

    if (err == UV_EACCES)
        what = "not allowed (password?)";
    else if (err == UV_ETIMEDOUT)
        what = "no answer in time";
    else if (err == UV_ECONNREFUSED)
        what = "cannot connect";
    snprintf(msg, n, "redis://%s:%d: %s%s%s", s->url.host, s->url.port, what,
             c != NULL && pr__rq_conn_error(c)[0] ? ": " : "",
             c != NULL ? pr__rq_conn_error(c) : "");
}

/* Said once, and the input ends: running tasks finish, but nothing more
 * is fetched. */
static void
fail(struct rqsrc *s, const char *what, struct pr_rq_conn *c)
{
    char msg[512];

    if (s->ended)
        return;
    trouble_text(s, what, c, msg, sizeof(msg));
    s->ended = 1;
    s->stopped = 1;
    pr_intake_fail(s->in, msg);
    pr_intake_end(s->in, UV_EINVAL);
}

/* Redis failed us.  A worker that never got in, or whose password is
 * refused, ends (fail); one that is stopping gives up; else it keeps its
 * running tasks and connects again (go_down). */
static void
trouble(struct rqsrc *s, const char *what, struct pr_rq_conn *c)
{
    int err = c != NULL ? pr__rq_conn_err(c) : 0;

    if (s->closed)
        return;
    if (err == UV_EACCES || !s->connected || s->stopped) {
        s->down = 1; /* maybe_close gives up on what is unwritten */
        fail(s, what, c);
        return;
    }
    go_down(s, what, c);
}

/* EVAL script with the keys named (indexes into s->keys) on main. */
static int
eval(struct rqsrc *s, const char *script, int nkeys, int nargs,
     const char **args, pr_rq_reply_fn *fn, void *data)
{
    const char **v;
    char nk[8];
    int i, rc;

    if (s->main == NULL)
        return UV_ENOTCONN; /* closed, or down */
    v = pr_xcalloc((size_t)(3 + nkeys + nargs), sizeof(*v));
    snprintf(nk, sizeof(nk), "%d", nkeys);
    v[0] = "EVAL";
    v[1] = script;
    v[2] = nk;
    for (i = 0; i < nkeys; i++)
        v[3 + i] = s->keys[i];
    for (i = 0; i < nargs; i++)
        v[3 + nkeys + i] = args[i];
    rc = pr__rq_command(s->main, pr_seconds_to_ms(s->cfg.conn.timeout), fn,
                        data, 3 + nkeys + nargs, v, NULL);
    free(v);
    if (rc == 0)
        s->inflight++;
    return rc;
}

/* --- putting tasks ----------------------------------------------------- */

static void queue_ack(struct rqsrc *s, const struct entry *e, const char *json,
                      int failed);

/* A task that cannot be run (its JSON is not a task): its result says
 * why, and it is counted failed. */
static void
refuse(struct rqsrc *s, struct entry *e, const char *why)
{
    struct pr_buf res = {0};

    pr_buf_appendf(&res, "{\"id\":");
    pr_json_append_string(&res, e->tid, strlen(e->tid));
    pr_buf_appendf(&res, ",\"status\":\"error\",\"why\":");
    if (pr_json_append_string(&res, why, strlen(why)) != 0)
        pr_buf_appendf(&res, "\"\"");
    pr_buf_appendf(&res, ",\"node\":");
    pr_json_append_string(&res, s->cfg.node, strlen(s->cfg.node));
    pr_buf_append(&res, "}", 2);
    queue_ack(s, e, res.data, 1);
    pr_buf_free(&res);
    entry_free(s, e);
}

/* One entry: its task goes to the pool. */
static void
put_entry(struct rqsrc *s, const redisReply *eid, const char *tid, size_t tlen,
          const redisReply *task, long long delivered)
{
    struct entry *e;
    struct pr_task *t = NULL;
    struct pr_diag d;

    /* Ended (Redis failed while this answer was read): nothing more is
     * put; the entry stays pending here, and a peer takes it after the
     * lease. */
    if (s->ended)
        return;
    /* Our own running task, whose lease lapsed (Redis was away, or we
     * were stopped) and that our reclaim took back: it is still ours, and
     * runs once here. */
    for (e = s->held.next; e != &s->held; e = e->next)
        if (strlen(e->eid) == eid->len &&
            memcmp(e->eid, eid->str, eid->len) == 0)
            return;
    e = entry_new(s, eid->str, eid->len, tid, tlen, delivered);
    if (task == NULL ||
        pr_jobline_parse("redis", 1, task->str, task->len, &t, &d) != 0) {
        refuse(s, e, task == NULL ? "no task in the entry" : d.msg);
        return;
    }
    if (t->spec != NULL && t->spec->id == NULL)
        t->spec->id = pr_xstrdup(e->tid);
    t->src = e;
    pr_intake_put(s->in, t);
}

/* XREADGROUP's entry: [eid, [field, value, ...]]. */
static void
put_read(struct rqsrc *s, const redisReply *ent)
{
    const redisReply *f, *tid = NULL, *task = NULL;
    size_t i;

    if (ent->type != REDIS_REPLY_ARRAY || ent->elements != 2 ||
        ent->element[1]->type != REDIS_REPLY_ARRAY)
        return;
    f = ent->element[1];
    for (i = 0; i + 1 < f->elements; i += 2) {
        if (strcmp(f->element[i]->str, "id") == 0)
            tid = f->element[i + 1];
        else if (strcmp(f->element[i]->str, "task") == 0)
            task = f->element[i + 1];
    }
    put_entry(s, ent->element[0], tid ? tid->str : "", tid ? tid->len : 0, task,
              1);
}

static void
on_read(void *data, int err, redisReply *r)
{
    struct rqsrc *s = data;
    size_t i;

    s->fetching = 0;
    if (s->stopped)
        return;
    if (err != 0) {
        trouble(s, "reading the queue", s->fetch);
        return;
    }
    /* [[stream, [entry...]]], or nil after BLOCK ms with nothing. */
    if (r->type == REDIS_REPLY_ARRAY && r->elements == 1 &&
        r->element[0]->elements == 2)
        for (i = 0; i < r->element[0]->element[1]->elements; i++)
            put_read(s, r->element[0]->element[1]->element[i]);
    fetch(s);
}

/* The reclaim script's answer: {cursor, {{eid, id, task, n}...}}. */
static void
on_reclaim(void *data, int err, redisReply *r)
{
    struct rqsrc *s = data;
    const redisReply *list;
    size_t i;

    s->inflight--;
    s->fetching = 0;
    if (s->stopped) {
        maybe_close(s);
        return;
    }
    if (err != 0 || r->type != REDIS_REPLY_ARRAY || r->elements != 2) {
        trouble(s, "reclaiming idle tasks", s->main);
        return;
    }
    snprintf(s->cursor, sizeof(s->cursor), "%.*s", (int)r->element[0]->len,
             r->element[0]->str);
    list = r->element[1];
    for (i = 0; i < list->elements; i++) {
        const redisReply *x = list->element[i];

        if (x->elements == 4)
            put_entry(s, x->element[0], x->element[1]->str, x->element[1]->len,
                      x->element[2], x->element[3]->integer);
    }
    fetch(s);
}

static void
reclaim(struct rqsrc *s, unsigned count)
{
    char n[16], idle[24], att[16];
    const char *args[5];

    snprintf(n, sizeof(n), "%u", count);
    snprintf(idle, sizeof(idle), "%u", s->cfg.lease_ms);
    snprintf(att, sizeof(att), "%u", s->cfg.attempts);
    args[0] = s->cfg.node;
    args[1] = idle;
    args[2] = n;
    args[3] = att;
    args[4] = s->cursor;
    s->last_reclaim = uv_now(s->loop);
    s->fetching = 1;
    if (eval(s, pr__rq_script_reclaim, 3, 5, args, on_reclaim, s) != 0) {
        s->fetching = 0;
        trouble(s, "reclaiming idle tasks", s->main);
    }
}

/* Asks for as many entries as slots are free: those idle past the lease
 * first, once per --block (a dead peer's task waits at most the lease and
 * one block more: XAUTOCLAIM is cheap), then new ones. */
static void
fetch(struct rqsrc *s)
{
    char n[16], block[16];
    const char *argv[11] = {"XREADGROUP", "GROUP", "w",     s->cfg.node,
                            "COUNT",      n,       "BLOCK", block,
                            "STREAMS",    NULL,    ">"};
    unsigned free_slots, hold = s->cfg.slots;

    if (s->mean_ns > 0 && s->mean_ns < AHEAD_BELOW_NS)
        hold += s->cfg.ahead;
    if (s->stopped || s->down || s->fetching || s->nheld >= hold ||
        !pr_intake_accepting(s->in))
        return;
    free_slots = hold - s->nheld;
    if (uv_now(s->loop) - s->last_reclaim >= s->cfg.block_ms) {
        reclaim(s, free_slots);
        return;
    }
    snprintf(n, sizeof(n), "%u", free_slots);
    snprintf(block, sizeof(block), "%u", s->cfg.block_ms);
    argv[9] = s->keys[K_S];
    s->fetching = 1;
    if (pr__rq_command(s->fetch,
                       s->cfg.block_ms + pr_seconds_to_ms(s->cfg.conn.timeout),
                       on_read, s, 11, argv, NULL) != 0) {
        s->fetching = 0;
        trouble(s, "reading the queue", s->fetch);
    }
}

/* --- acknowledging, renewing, handing back ------------------------------ */

static void
ack_free(struct rqsrc *s, struct ack *a)
{
    struct ack **p = &s->acks;

    while (*p != a)
        p = &(*p)->next;
    *p = a->next;
    if (s->acks_end == &a->next)
        s->acks_end = p;
    free(a->eid);
    free(a->tid);
    free(a->json);
    free(a);
}

/* At most this many results go in one script call. */
#define ACK_BATCH 256

struct ack_batch {
    struct rqsrc *s;
    size_t n;
    struct ack *a[ACK_BATCH];
};

static void
on_acks(void *data, int err, redisReply *r)
{
    struct ack_batch *b = data;
    struct rqsrc *s = b->s;
    size_t i;

    (void)r;
    s->inflight--;
    for (i = 0; i < b->n; i++) {
        b->a[i]->sent = 0;
        /* Not written: it stays, and goes again once Redis is back. */
        if (err == 0)
            ack_free(s, b->a[i]);
    }
    free(b);
    if (err != 0)
        trouble(s, "writing a result", s->main);
    maybe_close(s);
}

/* One script call for up to ACK_BATCH results not yet on the wire;
 * returns 0 when none was left to send or the call could not be made. */
static int
send_batch(struct rqsrc *s)
{
    struct ack_batch *b = pr_xcalloc(1, sizeof(*b));
    const char **args;
    struct ack *a;
    size_t i;
    int rc;

    for (a = s->acks; a != NULL && b->n < ACK_BATCH; a = a->next)
        if (!a->sent)
            b->a[b->n++] = a;
    if (b->n == 0) {
        free(b);
        return 0;
    }
    b->s = s;
    args = pr_xcalloc(4 * b->n, sizeof(*args));
    for (i = 0; i < b->n; i++) {
        args[4 * i] = b->a[i]->eid;
        args[4 * i + 1] = b->a[i]->tid;
        args[4 * i + 2] = b->a[i]->json;
        args[4 * i + 3] = b->a[i]->failed ? "1" : "0";
    }
    rc = eval(s, pr__rq_script_ack, 3, (int)(4 * b->n), args, on_acks, b);
    free(args);
    if (rc != 0) {
        free(b);
        trouble(s, "writing a result", s->main);
        return 0;
    }
    for (i = 0; i < b->n; i++)
        b->a[i]->sent = 1;
    return 1;
}

static void
send_acks(struct rqsrc *s)
{
    while (!s->down && send_batch(s))
        continue;
}

static void
on_ack_turn(uv_prepare_t *h)
{
    uv_prepare_stop(h);
    send_acks(h->data);
}

/* The entry's result goes to Redis: the first result wins, counted once,
 * and the entry leaves the stream.  It is sent with the others of this
 * loop turn, once the turn's callbacks have run. */
static void
queue_ack(struct rqsrc *s, const struct entry *e, const char *json, int failed)
{
    struct ack *a = pr_xcalloc(1, sizeof(*a));

    a->s = s;
    a->eid = pr_xstrdup(e->eid);
    a->tid = pr_xstrdup(e->tid);
    a->json = pr_xstrdup(json);
    a->failed = failed;
    if (s->acks == NULL)
        s->acks_end = &s->acks;
    *s->acks_end = a;
    s->acks_end = &a->next;
    if (!s->closed)
        uv_prepare_start(&s->ack_turn, on_ack_turn);
}

/* The result of a task as JSON: what join --results prints. */
static void
result_json(struct rqsrc *s, const struct pr_task *t, const struct entry *e,
            struct pr_buf *b)
{
    struct pr_buf out = {0};
    const struct pr_buf *h = &t->head[0];

    pr_buf_appendf(b, "{\"id\":");
    pr_json_append_string(b, e->tid, strlen(e->tid));
    pr_buf_appendf(b, ",\"status\":\"%s\",\"exit\":%d,\"signal\":%d",
                   pr_task_status_name(t->status), t->exit_status,
                   t->term_signal);
    pr_buf_appendf(b, ",\"attempt\":%lld,\"node\":", e->delivered);
    pr_json_append_string(b, s->cfg.node, strlen(s->cfg.node));
    pr_buf_appendf(b, ",\"start\":%.3f,\"runtime\":%.3f", t->start_wall,
                   pr_task_runtime(t));
    if (h->len == 0) {
        pr_capture_head(&t->out, &out, s->cfg.output_limit);
        h = &out;
    }
    pr_buf_appendf(b, ",\"stdout_bytes\":%llu",
                   (unsigned long long)t->out.total);
    if (s->cfg.output_limit > 0) {
        size_t at = b->len;

        pr_buf_appendf(b, ",\"stdout\":");
        /* Bytes that are not UTF-8 text cannot be a JSON string. */
        if (pr_json_append_string(b, h->data ? h->data : "", h->len) != 0)
            b->len = at;
    }
    pr_buf_append(b, "}", 2);
    pr_buf_free(&out);
}

/* A moving mean over about the last 8 tasks: one slow task among
 * many short ones barely moves it, a run of slow ones soon does. */
static void
note_runtime(struct rqsrc *s, uint64_t ns)
{
    s->mean_ns = s->mean_ns == 0 ? ns : s->mean_ns - s->mean_ns / 8 + ns / 8;
    if (s->mean_ns == 0)
        s->mean_ns = 1;
}

static void
ended(struct pr_source *src, const struct pr_task *t)
{
    struct rqsrc *s = (struct rqsrc *)src;
    struct entry *e = t->src;
    struct pr_buf res = {0};
    int failed = t->status != PR_TASK_OK && t->status != PR_TASK_SKIPPED;

    if (e == NULL)
        return;
    /* Ended by our stop (past --grace), or never run: not its result; a
     * peer runs it (release, at the close). */
    if (s->stopped && (t->signalled != 0 || t->status == PR_TASK_SKIPPED)) {
        entry_free(s, e);
        maybe_close(s);
        return;
    }
    if (t->start_ns > 0 && t->end_ns > t->start_ns)
        note_runtime(s, t->end_ns - t->start_ns);
    result_json(s, t, e, &res);
    queue_ack(s, e, res.data, failed);
    pr_buf_free(&res);
    entry_free(s, e);
    if (!s->stopped)
        fetch(s);
    maybe_close(s);
}

static void
on_renew(void *data, int err, redisReply *r)
{
    struct rqsrc *s = data;

    (void)r;
    s->inflight--;
    if (err != 0)
        trouble(s, "renewing the lease of running tasks", s->main);
    maybe_close(s);
}

/* Every renew_ms: the entries held here are ours for another lease.
 * Just after a stop: every other entry of ours (the tasks the pool handed
 * back, those a dropped read brought) goes back to the group at once. */
static void
on_renew_timer(uv_timer_t *h)
{
    struct rqsrc *s = h->data;
    const char *script = pr__rq_script_renew;
    const char **args;
    struct entry *e;
    int n = 1;

    if (s->main == NULL || s->down || s->closed || s->releasing)
        return;
    if (s->stopped && !s->handed_back) {
        s->handed_back = 1;
        script = pr__rq_script_release;
    } else if (s->nheld == 0) {
        return;
    }
    args = pr_xcalloc(s->nheld + 1, sizeof(*args));
    args[0] = s->cfg.node;
    for (e = s->held.next; e != &s->held; e = e->next)
        args[n++] = e->eid;
    if (eval(s, script, 1, n, args, on_renew, s) != 0)
        trouble(s, "renewing the lease of running tasks", s->main);
    free(args);
}

static void
close_conns(struct rqsrc *s)
{
    struct pr_rq_conn *m = s->main, *f = s->fetch;

    /* Their pending commands answer now, with UV_ECANCELED. */
    s->main = s->fetch = NULL;
    pr__rq_conn_close(m);
    pr__rq_conn_close(f);
}

static void
close_all(struct rqsrc *s)
{
    if (s->closed)
        return;
    s->closed = 1;
    close_conns(s);
    if (s->timer_open) {
        uv_close((uv_handle_t *)&s->renew, NULL);
        uv_close((uv_handle_t *)&s->retry, NULL);
        uv_close((uv_handle_t *)&s->ack_turn, NULL);
    }
    s->timer_open = 0;
}

static void
on_release(void *data, int err, redisReply *r)
{
    struct rqsrc *s = data;

    (void)err;
    (void)r;
    s->inflight--;
    close_all(s);
}

/* Stopped and nothing left running: what is still ours goes back to the
 * group (idle, so that a peer takes it at once), then the handles close. */
static void
maybe_close(struct rqsrc *s)
{
    const char *args[1];

    char msg[256];
    unsigned n = 0;
    struct ack *a;

    if (!s->stopped || s->closed || s->releasing || s->nheld > 0 ||
        s->inflight > 0)
        return;
    if (s->main == NULL || s->down) {
        /* Stopping with Redis gone: what is not written is let go (a
         * peer runs those tasks again once their lease has passed). */
        for (a = s->acks; a != NULL; a = a->next)
            n++;
        snprintf(msg, sizeof(msg),
                 "redis://%s:%d: the results of %u task%s could not be "
                 "written: they run again elsewhere",
                 s->url.host, s->url.port, n, n == 1 ? "" : "s");
        if (n > 0 && s->cfg.on_note != NULL)
            s->cfg.on_note(s->cfg.data, msg);
        close_all(s);
        return;
    }
    if (s->acks != NULL)
        return;
    s->releasing = 1;
    args[0] = s->cfg.node;
    if (eval(s, pr__rq_script_release, 1, 1, args, on_release, s) != 0)
        close_all(s);
}

/* --- the source -------------------------------------------------------- */

static void
on_lost(void *data, struct pr_rq_conn *c)
{
    struct rqsrc *s = data;

    trouble(s, "the connection was lost", c);
    maybe_close(s);
}

static void
note(struct rqsrc *s, const char *what, struct pr_rq_conn *c, const char *then)
{
    char msg[512];
    size_t n;

    if (s->cfg.on_note == NULL)
        return;
    trouble_text(s, what, c, msg, sizeof(msg));
    n = strlen(msg);
    snprintf(msg + n, sizeof(msg) - n, "%s", then);
    s->cfg.on_note(s->cfg.data, msg);
}

/* The queue answers (the group is there): results not yet written go
 * now, and fetching goes on. */
static void
on_init(void *data, int err, redisReply *r)
{
    struct rqsrc *s = data;

    (void)r;
    s->inflight--;
    if (err != 0) {
        trouble(s, "cannot use the queue", s->main);
        maybe_close(s);
        return;
    }
    if (s->down)
        note(s, "connected again", NULL, "");
    s->connected = 1;
    s->down = 0;
    s->backoff_ms = 0;
    send_acks(s);
    /* Leases that lapsed while Redis was away are ours again before the
     * reclaim (the same connection keeps the order), which would else
     * take our own running tasks. */
    if (s->nheld > 0 && !s->down)
        on_renew_timer(&s->renew);
    fetch(s);
    maybe_close(s);
}

/* Both connections, then the init script. */
static int
connect_all(struct rqsrc *s)
{
    struct pr_rq_config c = s->cfg.conn;
    int rc;

    c.url = &s->url;
    rc = pr__rq_conn_open(&s->main, s->loop, &c, on_lost, s);
    if (rc == 0)
        rc = pr__rq_conn_open(&s->fetch, s->loop, &c, on_lost, s);
    if (rc == 0)
        rc = eval(s, pr__rq_script_init, 1, 0, NULL, on_init, s);
    return rc;
}

static void
on_retry(uv_timer_t *t)
{
    struct rqsrc *s = t->data;

    s->retry_pending = 0;
    if (s->closed)
        return;
    close_conns(s);
    if (connect_all(s) != 0)
        go_down(s, "cannot connect", s->main);
}

/* Redis went away from a worker that runs: its tasks go on (their results
 * wait), nothing is fetched, and it connects again after a pause that
 * doubles each time, up to BACKOFF_MAX_MS. */
static void
go_down(struct rqsrc *s, const char *what, struct pr_rq_conn *c)
{
    char then[96];

    if (s->retry_pending || s->closed)
        return;
    s->backoff_ms = s->backoff_ms == 0                    ? BACKOFF_FIRST_MS
                    : s->backoff_ms >= BACKOFF_MAX_MS / 2 ? BACKOFF_MAX_MS
                                                          : 2 * s->backoff_ms;
    if (!s->down) {
        snprintf(then, sizeof(then),
                 ": connecting again (running tasks go on, their results "
                 "wait)");
        note(s, what, c, then);
    }
    s->down = 1;
    s->fetching = 0;
    s->retry_pending = 1;
    uv_timer_start(&s->retry, on_retry, s->backoff_ms, 0);
    close_conns(s);
}

static int
start(struct pr_source *src, const struct pr_intake *in)
{
    struct rqsrc *s = (struct rqsrc *)src;
    int rc;

    s->in = in;
    uv_timer_init(s->loop, &s->renew);
    uv_timer_init(s->loop, &s->retry);
    uv_prepare_init(s->loop, &s->ack_turn);
    s->renew.data = s->retry.data = s->ack_turn.data = s;
    s->timer_open = 1;
    rc = connect_all(s);
    if (rc != 0) {
        s->stopped = s->ended = 1;
        close_all(s);
        return rc;
    }
    uv_timer_start(&s->renew, on_renew_timer, s->cfg.renew_ms, s->cfg.renew_ms);
    /* The first fetch reclaims what dead peers left. */
    s->last_reclaim = uv_now(s->loop) - s->cfg.block_ms;
    fetch(s);
    return 0;
}

static void
resume(struct pr_source *src)
{
    fetch((struct rqsrc *)src);
}

static void
stop(struct pr_source *src)
{
    struct rqsrc *s = (struct rqsrc *)src;
    struct pr_rq_conn *f = s->fetch;

    if (s->stopped && s->ended)
        return;
    s->stopped = 1;
    /* A read blocked in Redis is dropped with its connection. */
    s->fetch = NULL;
    pr__rq_conn_close(f);
    if (s->timer_open)
        uv_timer_start(&s->renew, on_renew_timer, 0, s->cfg.renew_ms);
    if (!s->ended) {
        s->ended = 1;
        pr_intake_end(s->in, 0);
    }
    maybe_close(s);
}

/* A task that never started goes back (the release at the close makes
 * its entry idle for the peers). */
static int
requeue(struct pr_source *src, struct pr_task *t)
{
    struct rqsrc *s = (struct rqsrc *)src;

    if (t->src != NULL)
        entry_free(s, t->src);
    pr_task_free(t);
    maybe_close(s);
    return 1;
}

static void
source_free(struct pr_source *src)
{
    struct rqsrc *s = (struct rqsrc *)src;

    while (s->held.next != &s->held)
        entry_free(s, s->held.next);
    while (s->acks != NULL)
        ack_free(s, s->acks);
    pr_rq_url_free(&s->url);
    free((char *)(uintptr_t)s->cfg.node);
    free(s);
}

static const struct pr_source_ops rq_ops = {
    .start = start,
    .resume = resume,
    .stop = stop,
    .ended = ended,
    .requeue = requeue,
    .free = source_free,
};

int
pr_rq_source_new(struct pr_source **out, uv_loop_t *loop,
                 const struct pr_rq_worker_config *cfg)
{
    static const char *const parts[3] = {"s", "results", "meta"};
    struct rqsrc *s = pr_xcalloc(1, sizeof(*s));
    int i;

    s->base.ops = &rq_ops;
    s->cfg = *cfg;
    s->cfg.node = pr_xstrdup(cfg->node);
    s->url = *cfg->conn.url;
    s->url.user = cfg->conn.url->user ? pr_xstrdup(cfg->conn.url->user) : NULL;
    s->url.host = pr_xstrdup(cfg->conn.url->host);
    s->url.name = pr_xstrdup(cfg->conn.url->name);
    s->cfg.conn.url = &s->url;
    s->loop = loop;
    s->held.next = s->held.prev = &s->held;
    snprintf(s->cursor, sizeof(s->cursor), "0-0");
    for (i = 0; i < 3; i++)
        pr__rq_key(s->keys[i], KEY_MAX, s->url.name, parts[i]);
    *out = &s->base;
    return 0;
}
