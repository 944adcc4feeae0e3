/*
 * rq: see rq.h and rq_int.h.  A connection is one hiredis async context on
 * the loop; each command carries a timer of ours (hiredis 0.14 has no
 * async timeouts), and a timer that fires drops the whole connection,
 * which answers every pending command with an error: a command that
 * cannot be answered never waits for ever.  The password goes out in AUTH
 * and is never kept: nothing here can print it.
 */
#include <hiredis/adapters/libuv.h>
#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "rq.h"
#include "rq_int.h"
#include "util.h"

struct pr_rq_conn {
    uv_loop_t *loop;
    redisAsyncContext *ac; /* NULL once hiredis has let go of it */
    unsigned calls;        /* commands whose timer is not closed yet */
    int closing;           /* pr__rq_conn_close was called */
    int err;               /* why the connection went, or 0 */
    char errmsg[256];
    void (*on_lost)(void *data, struct pr_rq_conn *c);
    void *data;
    uv_idle_t flush; /* writes the turn's commands (see add_write) */
    int rd, wr;      /* what hiredis wants: to read, to write */
    int wr_poll;     /* the socket was full: wait until it is writable */
    int flushing;    /* inside redisAsyncHandleWrite, from on_flush */
    int flush_closing;
};

struct call {
    uv_timer_t timer;
    struct pr_rq_conn *conn;
    pr_rq_reply_fn *fn;
    void *data;
};

int
pr_rq_built_in(void)
{
    return 1;
}

void
pr__rq_key(char *buf, size_t n, const char *name, const char *part)
{
    snprintf(buf, n, "poolrun:{%s}:%s", name, part);
}

const char *
pr__rq_conn_error(const struct pr_rq_conn *c)
{
    return c->errmsg;
}

int
pr__rq_conn_err(const struct pr_rq_conn *c)
{
    return c->err;
}

static void
on_flush_closed(uv_handle_t *h)
{
    free(h->data);
}

/* The memory goes once hiredis, every command's timer and the flush
 * handle have let go of it. */
static void
conn_maybe_free(struct pr_rq_conn *c)
{
    if (c->closing && c->ac == NULL && c->calls == 0 && !c->flush_closing) {
        c->flush_closing = 1;
        uv_close((uv_handle_t *)&c->flush, on_flush_closed);
    }
}

/* The connection is gone (hiredis frees its context after this). */
static void
conn_gone(struct pr_rq_conn *c, int err, const char *why)
{
    int lost = c->ac != NULL && !c->closing;

    c->ac = NULL;
    if (c->err == 0) {
        c->err = err;
        if (why != NULL && c->errmsg[0] == '\0')
            snprintf(c->errmsg, sizeof(c->errmsg), "%s", why);
    }
    if (lost && c->on_lost != NULL)
        c->on_lost(c->data, c);
}

static void
on_connect(const redisAsyncContext *ac, int status)
{
    struct pr_rq_conn *c = ac->data;

    if (status != REDIS_OK)
        conn_gone(c, UV_ECONNREFUSED, ac->errstr);
}

static void
on_disconnect(const redisAsyncContext *ac, int status)
{
    struct pr_rq_conn *c = ac->data;

    conn_gone(c, UV_ECONNRESET,
              status == REDIS_OK ? "the connection was closed" : ac->errstr);
}

static void
on_call_closed(uv_handle_t *h)
{
    struct call *call = h->data;
    struct pr_rq_conn *c = call->conn;

    free(call);
    c->calls--;
    conn_maybe_free(c);
}

/* The error a reply stands for, its words kept in c->errmsg. */
static int
reply_err(struct pr_rq_conn *c, const redisReply *r)
{
    if (r == NULL)
        return c->closing ? UV_ECANCELED : c->err != 0 ? c->err : UV_ECONNRESET;
    if (r->type != REDIS_REPLY_ERROR)
        return 0;
    /* After a refused AUTH, its WRONGPASS says more than the NOAUTH of
     * the commands behind it. */
    if (c->err == UV_EACCES)
        return UV_EACCES;
    snprintf(c->errmsg, sizeof(c->errmsg), "%.*s", (int)r->len, r->str);
    if (strncmp(r->str, "NOAUTH", 6) == 0 ||
        strncmp(r->str, "WRONGPASS", 9) == 0)
        return UV_EACCES;
    return UV_EPROTO;
}

static void
on_reply(redisAsyncContext *ac, void *reply, void *privdata)
{
    struct call *call = privdata;
    struct pr_rq_conn *c = call->conn;
    redisReply *r = reply;
    int err = reply_err(c, r);

    (void)ac;
    uv_timer_stop(&call->timer);
    uv_close((uv_handle_t *)&call->timer, on_call_closed);
    call->fn(call->data, err, err == 0 ? r : NULL);
}

/* A command took too long: drop the connection, which answers every
 * pending command (this one too) with the error. */
static void
on_call_timeout(uv_timer_t *t)
{
    struct call *call = t->data;
    struct pr_rq_conn *c = call->conn;
    redisAsyncContext *ac = c->ac;

    if (ac == NULL)
        return;
    c->err = UV_ETIMEDOUT;
    snprintf(c->errmsg, sizeof(c->errmsg), "no answer in time");
    conn_gone(c, UV_ETIMEDOUT, NULL);
    redisAsyncFree(ac);
}

int
pr__rq_command(struct pr_rq_conn *c, uint64_t timeout_ms, pr_rq_reply_fn *fn,
               void *data, int argc, const char **argv, const size_t *lens)
{
    struct call *call;

    if (c->ac == NULL || c->closing)
        return c->err != 0 ? c->err : UV_ENOTCONN;
    call = pr_xcalloc(1, sizeof(*call));
    call->conn = c;
    call->fn = fn;
    call->data = data;
    if (redisAsyncCommandArgv(c->ac, on_reply, call, argc, argv, lens) !=
        REDIS_OK) {
        free(call);
        return UV_ECONNRESET;
    }
    uv_timer_init(c->loop, &call->timer);
    call->timer.data = call;
    uv_timer_start(&call->timer, on_call_timeout, timeout_ms, 0);
    c->calls++;
    return 0;
}

/* AUTH's answer: a refusal drops the connection, and every command after
 * it says UV_EACCES with the server's words. */
static void
on_auth(void *data, int err, redisReply *r)
{
    struct pr_rq_conn *c = data;

    (void)r;
    if (err != UV_EACCES && err != UV_EPROTO)
        return;
    c->err = UV_EACCES;
    if (c->ac != NULL) {
        redisAsyncContext *ac = c->ac;

        conn_gone(c, UV_EACCES, NULL);
        redisAsyncDisconnect(ac);
    }
}

static void
on_select(void *data, int err, redisReply *r)
{
    (void)data;
    (void)err;
    (void)r;
}

/* AUTH [user] password, then SELECT db: the first commands on the wire. */
static void
conn_hello(struct pr_rq_conn *c, const struct pr_rq_config *cfg, uint64_t ms)
{
    const char *argv[3];
    char db[16];
    int n = 0;

    if (cfg->password != NULL) {
        argv[n++] = "AUTH";
        if (cfg->url->user != NULL)
            argv[n++] = cfg->url->user;
        argv[n++] = cfg->password;
        (void)pr__rq_command(c, ms, on_auth, c, n, argv, NULL);
    }
    if (cfg->url->db != 0) {
        snprintf(db, sizeof(db), "%d", cfg->url->db);
        argv[0] = "SELECT";
        argv[1] = db;
        (void)pr__rq_command(c, ms, on_select, c, 2, argv, NULL);
    }
}

/* hiredis's libuv adapter does nothing when libuv says a poll failed
 * (POLLERR: a refused connect, a reset), and libuv has stopped the poll
 * then: hiredis would never hear of it, and only our timers would end the
 * wait.  So the adapter's poll callback is wrapped: on an error, hiredis
 * looks at the socket itself (a connect's SO_ERROR, a read's errno). */
static void
on_poll(uv_poll_t *h, int status, int events)
{
    redisLibuvEvents *p = h->data;

    if (status < 0 && p->context != NULL) {
        if (!(p->context->c.flags & REDIS_CONNECTED))
            redisAsyncHandleWrite(p->context);
        else
            redisAsyncHandleRead(p->context);
        return;
    }
    redisLibuvPoll(h, status, events);
}

/* hiredis's own libuv adapter restarts its poll each time a command is
 * queued and each time one has been written, and each restart is two
 * epoll_ctl calls: eight a task on a worker, more than its share of the
 * loop.  Here the poll is started only when what it waits for changes; a
 * queued command is written by an idle handle (before the loop next
 * waits, with the other commands of the turn), and the poll waits for
 * writability only while connecting or when the socket was full. */
static void
apply(struct pr_rq_conn *c, redisLibuvEvents *p)
{
    int connected = (p->context->c.flags & REDIS_CONNECTED) != 0;
    int want = (c->rd ? UV_READABLE : 0) |
               (c->wr && (c->wr_poll || !connected) ? UV_WRITABLE : 0);

    if (want == p->events)
        return;
    p->events = want;
    if (want != 0)
        uv_poll_start(&p->handle, want, on_poll);
    else
        uv_poll_stop(&p->handle);
}

static struct pr_rq_conn *
conn_of(void *privdata)
{
    redisLibuvEvents *p = privdata;

    return p->context->data;
}

static void
on_flush(uv_idle_t *h)
{
    struct pr_rq_conn *c = h->data;

    uv_idle_stop(h);
    /* While connecting, the poll waits for writability: hiredis takes a
     * write before then for a finished connect (SO_ERROR is 0 while the
     * connect is in progress), and a refusal would read as a reset. */
    if (c->ac == NULL || !c->wr || c->wr_poll ||
        !(c->ac->c.flags & REDIS_CONNECTED))
        return;
    c->flushing = 1;
    redisAsyncHandleWrite(c->ac);
    c->flushing = 0;
}

static void
add_read(void *privdata)
{
    struct pr_rq_conn *c = conn_of(privdata);

    c->rd = 1;
    apply(c, privdata);
}

static void
del_read(void *privdata)
{
    struct pr_rq_conn *c = conn_of(privdata);

    c->rd = 0;
    apply(c, privdata);
}

static void
add_write(void *privdata)
{
    struct pr_rq_conn *c = conn_of(privdata);

    c->wr = 1;
    /* Asked again from inside the flush: not all of it went. */
    if (c->flushing)
        c->wr_poll = 1;
    else if (!c->wr_poll)
        uv_idle_start(&c->flush, on_flush);
    apply(c, privdata);
}

static void
del_write(void *privdata)
{
    struct pr_rq_conn *c = conn_of(privdata);

    c->wr = c->wr_poll = 0;
    apply(c, privdata);
}

int
pr__rq_conn_open(struct pr_rq_conn **out, uv_loop_t *loop,
                 const struct pr_rq_config *cfg,
                 void (*on_lost)(void *data, struct pr_rq_conn *c), void *data)
{
    struct pr_rq_conn *c = pr_xcalloc(1, sizeof(*c));
    redisAsyncContext *ac = redisAsyncConnect(cfg->url->host, cfg->url->port);

    *out = c;
    c->loop = loop;
    uv_idle_init(loop, &c->flush);
    c->flush.data = c;
    c->on_lost = on_lost;
    c->data = data;
    if (ac == NULL || ac->err != 0) {
        c->err = UV_ECONNREFUSED;
        snprintf(c->errmsg, sizeof(c->errmsg), "%s",
                 ac != NULL ? ac->errstr : "out of memory");
        if (ac != NULL)
            redisAsyncFree(ac);
        return c->err;
    }
    ac->data = c;
    c->ac = ac;
    if (redisLibuvAttach(ac, loop) != REDIS_OK) {
        c->ac = NULL;
        redisAsyncFree(ac);
        c->err = UV_ENOMEM;
        return c->err;
    }
    ac->ev.addRead = add_read;
    ac->ev.delRead = del_read;
    ac->ev.addWrite = add_write;
    ac->ev.delWrite = del_write;
    redisAsyncSetConnectCallback(ac, on_connect);
    redisAsyncSetDisconnectCallback(ac, on_disconnect);
    conn_hello(c, cfg, pr_seconds_to_ms(cfg->timeout));
    return 0;
}

void
pr__rq_conn_close(struct pr_rq_conn *c)
{
    redisAsyncContext *ac;

    if (c == NULL || c->closing)
        return;
    c->closing = 1;
    ac = c->ac;
    c->ac = NULL;
    if (ac != NULL)
        redisAsyncFree(ac);
    conn_maybe_free(c);
}

/* --- the scripts ---------------------------------------------------------
 * Each names its keys in KEYS (all under the queue's hash tag), never
 * builds one: Redis Cluster, Valkey and Dragonfly route by them. */

/* KEYS s ids meta; ARGV id1 task1 id2 task2...: the new ids' tasks are
 * added, each once; -1 if the queue is closed. */
static const char script_submit[] =
    "if redis.call('HGET', KEYS[3], 'closed') == '1' then return -1 end\n"
    "redis.pcall('XGROUP', 'CREATE', KEYS[1], 'w', '0', 'MKSTREAM')\n"
    "local added = 0\n"
    "for i = 1, #ARGV, 2 do\n"
    "  if redis.call('HSETNX', KEYS[2], ARGV[i], '') == 1 then\n"
    "    local e = redis.call('XADD', KEYS[1], '*', 'id', ARGV[i],\n"
    "                         'task', ARGV[i + 1])\n"
    "    redis.call('HSET', KEYS[2], ARGV[i], e)\n"
    "    added = added + 1\n"
    "  end\n"
    "end\n"
    "redis.call('HINCRBY', KEYS[3], 'submitted', added)\n"
    "return added\n";

/* KEYS s; the group, for a worker that comes before any submit. */
const char pr__rq_script_init[] =
    "redis.pcall('XGROUP', 'CREATE', KEYS[1], 'w', '0', 'MKSTREAM')\n"
    "return 1\n";

/* KEYS s results meta; ARGV (entry id result failed(0|1))...: for each
 * task, the first result wins and is counted once; the entry goes either
 * way.  Many tasks a call: EVAL costs per call, not per task. */
const char pr__rq_script_ack[] =
    "local new, failed, ids = 0, 0, {}\n"
    "for i = 1, #ARGV, 4 do\n"
    "  if redis.call('HSETNX', KEYS[2], ARGV[i + 1], ARGV[i + 2]) == 1 then\n"
    "    new = new + 1\n"
    "    if ARGV[i + 3] == '1' then failed = failed + 1 end\n"
    "  end\n"
    "  ids[#ids + 1] = ARGV[i]\n"
    "end\n"
    "if new > 0 then redis.call('HINCRBY', KEYS[3], 'done', new) end\n"
    "if failed > 0 then redis.call('HINCRBY', KEYS[3], 'failed', failed) end\n"
    "if #ids > 0 then\n"
    "  redis.call('XACK', KEYS[1], 'w', unpack(ids))\n"
    "  redis.call('XDEL', KEYS[1], unpack(ids))\n"
    "end\n"
    "return new\n";

/* KEYS s results meta; ARGV consumer min-idle count attempts cursor:
 * takes entries idle past the lease (XAUTOCLAIM); one delivered more than
 * `attempts` times is recorded lost (counted done and failed) instead.
 * Returns {cursor, {{entry, id, task, deliveries}...}}. */
const char pr__rq_script_reclaim[] =
    "local r = redis.call('XAUTOCLAIM', KEYS[1], 'w', ARGV[1], ARGV[2],\n"
    "                     ARGV[5], 'COUNT', ARGV[3])\n"
    "local out = {}\n"
    "for _, e in ipairs(r[2]) do\n"
    "  local f, id, task = e[2], '', ''\n"
    "  for i = 1, #f, 2 do\n"
    "    if f[i] == 'id' then id = f[i + 1] end\n"
    "    if f[i] == 'task' then task = f[i + 1] end\n"
    "  end\n"
    "  local p = redis.call('XPENDING', KEYS[1], 'w', e[1], e[1], 1)\n"
    "  local n = (p[1] and p[1][4]) or 1\n"
    "  if n > tonumber(ARGV[4]) then\n"
    "    local res = cjson.encode({id = id, status = 'lost',\n"
    "                              attempt = n - 1})\n"
    "    if redis.call('HSETNX', KEYS[2], id, res) == 1 then\n"
    "      redis.call('HINCRBY', KEYS[3], 'done', 1)\n"
    "      redis.call('HINCRBY', KEYS[3], 'failed', 1)\n"
    "    end\n"
    "    redis.call('XACK', KEYS[1], 'w', e[1])\n"
    "    redis.call('XDEL', KEYS[1], e[1])\n"
    "  else\n"
    "    out[#out + 1] = {e[1], id, task, n}\n"
    "  end\n"
    "end\n"
    "return {r[1], out}\n";

/* KEYS s; ARGV consumer entry...: those still ours are idle from now on
 * (their lease renewed); one a peer took (we were stopped) stays its. */
const char pr__rq_script_renew[] =
    "local n = 0\n"
    "for i = 2, #ARGV do\n"
    "  local p = redis.call('XPENDING', KEYS[1], 'w', ARGV[i], ARGV[i], 1)\n"
    "  if p[1] and p[1][2] == ARGV[1] then\n"
    "    redis.call('XCLAIM', KEYS[1], 'w', ARGV[1], 0, ARGV[i], 'JUSTID')\n"
    "    n = n + 1\n"
    "  end\n"
    "end\n"
    "return n\n";

/* KEYS s; ARGV consumer keep...: every entry of ours but those kept looks
 * idle for a year, so that a peer takes it at once, and is not counted as
 * a delivery (the task never ran here to its end). */
const char pr__rq_script_release[] =
    "local keep = {}\n"
    "for i = 2, #ARGV do keep[ARGV[i]] = true end\n"
    "local p = redis.call('XPENDING', KEYS[1], 'w', '-', '+', 100000,\n"
    "                     ARGV[1])\n"
    "local n = 0\n"
    "for _, e in ipairs(p) do\n"
    "  if not keep[e[1]] then\n"
    "    redis.call('XCLAIM', KEYS[1], 'w', ARGV[1], 0, e[1], 'IDLE',\n"
    "               31536000000, 'RETRYCOUNT', math.max(e[4] - 1, 0),\n"
    "               'JUSTID')\n"
    "    n = n + 1\n"
    "  end\n"
    "end\n"
    "return n\n";

/* KEYS s meta: {submitted, done, failed, closed, pending, consumers}. */
static const char script_counts[] =
    "local m = redis.call('HMGET', KEYS[2], 'submitted', 'done', 'failed',\n"
    "                     'closed')\n"
    "local pend, cons, group = 0, 0, false\n"
    "if redis.call('EXISTS', KEYS[1]) == 1 then\n"
    "  for _, g in ipairs(redis.call('XINFO', 'GROUPS', KEYS[1])) do\n"
    "    for i = 1, #g, 2 do\n"
    "      if g[i] == 'name' and g[i + 1] == 'w' then group = true end\n"
    "      if g[i] == 'consumers' then cons = g[i + 1] end\n"
    "      if g[i] == 'pending' then pend = g[i + 1] end\n"
    "    end\n"
    "  end\n"
    "end\n"
    "local oldest, nodes = 0, {}\n"
    "if group and pend > 0 then\n"
    "  local p = redis.call('XPENDING', KEYS[1], 'w')\n"
    "  oldest = tonumber(string.match(p[2], '^(%d+)')) or 0\n"
    "  for _, c in ipairs(p[4]) do\n"
    "    nodes[#nodes + 1] = c[1]\n"
    "    nodes[#nodes + 1] = tonumber(c[2])\n"
    "  end\n"
    "end\n"
    "local t = redis.call('TIME')\n"
    "return {tonumber(m[1]) or 0, tonumber(m[2]) or 0, tonumber(m[3]) or 0,\n"
    "        m[4] == '1' and 1 or 0, pend, cons, oldest,\n"
    "        tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000), "
    "nodes}\n";

/* KEYS s ids results meta; ARGV id result: records id cancelled unless it
 * has a result, and takes its entry off the stream. */
static const char script_cancel[] =
    "local e = redis.call('HGET', KEYS[2], ARGV[1])\n"
    "if not e then return 'unknown' end\n"
    "if redis.call('HSETNX', KEYS[3], ARGV[1], ARGV[2]) == 0 then\n"
    "  return 'ended'\n"
    "end\n"
    "redis.call('HINCRBY', KEYS[4], 'done', 1)\n"
    "if e ~= '' then\n"
    "  redis.call('XACK', KEYS[1], 'w', e)\n"
    "  redis.call('XDEL', KEYS[1], e)\n"
    "end\n"
    "return 'cancelled'\n";

/* --- the client: blocking calls over a private loop -------------------- */

#define KEY_MAX 600

struct pr_rq_client {
    uv_loop_t loop;
    int loop_open;
    struct pr_rq_conn *conn;
    uint64_t ms;
    char keys[4][KEY_MAX]; /* s ids results meta */
};

enum {
    K_S,
    K_IDS,
    K_RESULTS,
    K_META
};

/* What a caller makes of a reply, inside the reply's callback (hiredis
 * frees it after): 0, or a negative code. */
typedef int reply_take_fn(void *data, const redisReply *r);

struct sync {
    int done;
    int err;
    reply_take_fn *take;
    void *data;
};

static void
on_sync_reply(void *data, int err, redisReply *r)
{
    struct sync *s = data;

    s->done = 1;
    s->err = err;
    if (err == 0 && s->take != NULL)
        s->err = s->take(s->data, r);
}

static int
sync_call(struct pr_rq_client *c, reply_take_fn *take, void *data, int argc,
          const char **argv, const size_t *lens)
{
    struct sync s = {0, 0, take, data};
    int rc =
        pr__rq_command(c->conn, c->ms, on_sync_reply, &s, argc, argv, lens);

    if (rc != 0)
        return rc;
    while (!s.done)
        uv_run(&c->loop, UV_RUN_ONCE);
    return s.err;
}

/* EVAL script nkeys KEYS... ARGV...: argv[0..3+nkeys) is filled here. */
static int
sync_eval(struct pr_rq_client *c, const char *script, const int *keys,
          int nkeys, int nargs, const char **argv, const size_t *lens,
          reply_take_fn *take, void *data)
{
    const char **v = pr_xcalloc((size_t)(3 + nkeys + nargs), sizeof(*v));
    size_t *l = pr_xcalloc((size_t)(3 + nkeys + nargs), sizeof(*l));
    char nk[8];
    int i, rc;

    snprintf(nk, sizeof(nk), "%d", nkeys);
    v[0] = "EVAL";
    v[1] = script;
    v[2] = nk;
    for (i = 0; i < nkeys; i++)
        v[3 + i] = c->keys[keys[i]];
    for (i = 0; i < 3 + nkeys; i++)
        l[i] = strlen(v[i]);
    for (i = 0; i < nargs; i++) {
        v[3 + nkeys + i] = argv[i];
        l[3 + nkeys + i] = lens != NULL ? lens[i] : strlen(argv[i]);
    }
    rc = sync_call(c, take, data, 3 + nkeys + nargs, v, l);
    free(v);
    free(l);
    return rc;
}

static int
take_pong(void *data, const redisReply *r)
{
    (void)data;
    return r->type == REDIS_REPLY_STATUS ? 0 : UV_EPROTO;
}

int
pr_rq_client_open(struct pr_rq_client **out, const struct pr_rq_config *cfg)
{
    static const char *const parts[4] = {"s", "ids", "results", "meta"};
    struct pr_rq_client *c = pr_xcalloc(1, sizeof(*c));
    const char *ping = "PING";
    int i, rc;

    *out = c;
    c->ms = pr_seconds_to_ms(cfg->timeout);
    for (i = 0; i < 4; i++)
        pr__rq_key(c->keys[i], KEY_MAX, cfg->url->name, parts[i]);
    rc = uv_loop_init(&c->loop);
    if (rc != 0)
        return rc;
    c->loop_open = 1;
    rc = pr__rq_conn_open(&c->conn, &c->loop, cfg, NULL, NULL);
    if (rc == 0)
        rc = sync_call(c, take_pong, NULL, 1, &ping, NULL);
    return rc;
}

void
pr_rq_client_free(struct pr_rq_client *c)
{
    if (c == NULL)
        return;
    if (c->loop_open) {
        pr__rq_conn_close(c->conn);
        uv_run(&c->loop, UV_RUN_DEFAULT);
        (void)uv_loop_close(&c->loop);
    } else if (c->conn != NULL) {
        pr__rq_conn_close(c->conn);
    }
    free(c);
}

const char *
pr_rq_client_error(const struct pr_rq_client *c)
{
    return c != NULL && c->conn != NULL ? pr__rq_conn_error(c->conn) : "";
}

static int
take_integer(void *data, const redisReply *r)
{
    if (r->type != REDIS_REPLY_INTEGER)
        return UV_EPROTO;
    *(long long *)data = r->integer;
    return 0;
}

/* Tasks go in chunks: one script never holds Redis up for long. */
#define SUBMIT_CHUNK 500

int
pr_rq_submit(struct pr_rq_client *c, size_t n, const char *const *ids,
             const char *const *tasks, uint64_t *added)
{
    static const int keys[3] = {K_S, K_IDS, K_META};
    const char **args = pr_xcalloc(2 * SUBMIT_CHUNK, sizeof(*args));
    size_t i, k;
    long long got;
    int rc = 0;

    *added = 0;
    for (i = 0; rc == 0 && (i < n || n == 0); i += k) {
        for (k = 0; k < SUBMIT_CHUNK && i + k < n; k++) {
            args[2 * k] = ids[i + k];
            args[2 * k + 1] = tasks[i + k];
        }
        rc = sync_eval(c, script_submit, keys, 3, (int)(2 * k), args, NULL,
                       take_integer, &got);
        if (rc == 0 && got < 0)
            rc = UV_EPERM;
        else if (rc == 0)
            *added += (uint64_t)got;
        if (n == 0)
            break;
    }
    free(args);
    return rc;
}

static int
take_counts(void *data, const redisReply *r)
{
    struct pr_rq_counts *o = data;
    const redisReply *nodes;
    long long v[8];
    size_t i;

    if (r->type != REDIS_REPLY_ARRAY || r->elements != 9 ||
        r->element[8]->type != REDIS_REPLY_ARRAY)
        return UV_EPROTO;
    for (i = 0; i < 8; i++) {
        if (r->element[i]->type != REDIS_REPLY_INTEGER)
            return UV_EPROTO;
        v[i] = r->element[i]->integer < 0 ? 0 : r->element[i]->integer;
    }
    o->submitted = (uint64_t)v[0];
    o->done = (uint64_t)v[1];
    o->failed = (uint64_t)v[2];
    o->closed = v[3] != 0;
    o->pending = (uint64_t)v[4];
    o->consumers = (uint64_t)v[5];
    o->oldest_ms = (uint64_t)v[6];
    o->now_ms = (uint64_t)v[7];
    nodes = r->element[8];
    for (i = 0; i + 1 < nodes->elements; i += 2) {
        const redisReply *name = nodes->element[i];
        const redisReply *n = nodes->element[i + 1];

        if (name->type != REDIS_REPLY_STRING || n->type != REDIS_REPLY_INTEGER)
            return UV_EPROTO;
        if (o->nnodes < PR_RQ_NODES) {
            snprintf(o->node[o->nnodes].name, sizeof(o->node[0].name), "%.*s",
                     (int)name->len, name->str);
            o->node[o->nnodes].inflight =
                n->integer < 0 ? 0 : (uint64_t)n->integer;
        }
        o->nnodes++;
    }
    o->waiting = o->submitted > o->done + o->pending
                     ? o->submitted - o->done - o->pending
                     : 0;
    return 0;
}

int
pr_rq_counts(struct pr_rq_client *c, struct pr_rq_counts *out)
{
    static const int keys[2] = {K_S, K_META};

    memset(out, 0, sizeof(*out));
    return sync_eval(c, script_counts, keys, 2, 0, NULL, NULL, take_counts,
                     out);
}

struct scan {
    char cursor[32];
    void (*fn)(void *data, const char *id, const char *json, size_t len);
    void *data;
};

static int
take_scan(void *data, const redisReply *r)
{
    struct scan *s = data;
    const redisReply *kv;
    size_t i;

    if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
        r->element[0]->type != REDIS_REPLY_STRING ||
        r->element[1]->type != REDIS_REPLY_ARRAY)
        return UV_EPROTO;
    snprintf(s->cursor, sizeof(s->cursor), "%.*s", (int)r->element[0]->len,
             r->element[0]->str);
    kv = r->element[1];
    for (i = 0; i + 1 < kv->elements; i += 2)
        s->fn(s->data, kv->element[i]->str, kv->element[i + 1]->str,
              kv->element[i + 1]->len);
    return 0;
}

int
pr_rq_each_result(struct pr_rq_client *c,
                  void (*fn)(void *data, const char *id, const char *json,
                             size_t len),
                  void *data)
{
    struct scan s = {"0", fn, data};
    const char *argv[5] = {"HSCAN", c->keys[K_RESULTS], NULL, "COUNT", "1000"};
    int rc;

    do {
        argv[2] = s.cursor;
        rc = sync_call(c, take_scan, &s, 5, argv, NULL);
    } while (rc == 0 && strcmp(s.cursor, "0") != 0);
    return rc;
}

int
pr_rq_close_queue(struct pr_rq_client *c)
{
    const char *argv[4] = {"HSET", c->keys[K_META], "closed", "1"};
    long long n;

    return sync_call(c, take_integer, &n, 4, argv, NULL);
}

static int
take_word(void *data, const redisReply *r)
{
    static const char *const words[3] = {"cancelled", "ended", "unknown"};
    size_t i;

    if (r->type != REDIS_REPLY_STRING)
        return UV_EPROTO;
    for (i = 0; i < 3; i++)
        if (strcmp(r->str, words[i]) == 0)
            *(const char **)data = words[i];
    return *(const char **)data != NULL ? 0 : UV_EPROTO;
}

int
pr_rq_cancel(struct pr_rq_client *c, const char *id, const char **result)
{
    static const int keys[4] = {K_S, K_IDS, K_RESULTS, K_META};
    struct pr_buf res = {0};
    const char *args[2];
    int rc;

    pr_buf_appendf(&res, "{\"id\":");
    pr_json_append_string(&res, id, strlen(id));
    pr_buf_appendf(&res, ",\"status\":\"skipped\",\"why\":\"cancelled\"}");
    pr_buf_append(&res, "", 1);
    args[0] = id;
    args[1] = res.data;
    *result = NULL;
    rc = sync_eval(c, script_cancel, keys, 4, 2, args, NULL, take_word, result);
    pr_buf_free(&res);
    return rc;
}
