/*
 * service: see service.h.  Everything runs on the one loop: clients are
 * read as their bytes come, replies are queued writes, and nothing waits
 * for a slow client.
 */
#include "service.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base64.h"
#include "journal.h"
#include "json.h"
#include "proto.h"
#include "sockdir.h"
#include "source.h"
#include "source_json.h"
#include "status.h"
#include "template.h"
#include "util.h"

extern char **environ;

struct svc_queue;

struct svc_group;
struct svc_task;

static void copy_after(struct svc_task *t, const struct pr_json *after);

/* A task the service was given, found by its id.  Until its queue's pool
 * takes it, a task is these 64 bytes in the service's store and its line
 * in its submit's text (a pr_task is hundreds of bytes, and a queue may
 * hold millions). */
struct svc_task {
    struct svc_queue *q;
    struct svc_group *g;  /* its submit's shared part, until its end */
    struct pr_task *task; /* once made, until its final record */
    struct svc_links *x;  /* made for the few tasks that need it */
    union {
        uint64_t num; /* the service's number for it (own_id 0) */
        char *name;   /* the id its submitter gave it (own_id 1) */
    } id;
    int priority;
    uint32_t off, len;   /* its line in g->text */
    uint32_t heap_at;    /* its place in its queue's waiting heap */
    uint32_t seq;        /* its place in the store: submit order */
    uint8_t code;        /* pr_task_code: 0 to 255 */
    unsigned status : 4; /* enum pr_task_status, once done */
    unsigned skip : 2;   /* SKIP_*: recorded skipped when it goes */
    unsigned done : 1;
    unsigned held : 1;    /* not waiting yet: its dependencies have not ended */
    unsigned counted : 1; /* not in its pool yet: counted in its queue's join */
    unsigned waiting : 1; /* in its queue's heap */
    unsigned in_pool : 1; /* its pool has its pr_task */
    unsigned made : 1;    /* its pr_task has its submit's cwd and env */
    unsigned own_id : 1;  /* id is the submitter's, not a number given */
    unsigned rerun : 1;   /* it was running when a service before ended */
    unsigned paused : 1;  /* held by --start-paused until a resume */
};

/* A queue of millions keeps each task in one cache line. */
_Static_assert(sizeof(struct svc_task) == 64, "svc_task is 64 bytes");

/* Why a task is recorded skipped when it goes (svc_task.skip), in two
 * bits. */
enum {
    SKIP_NONE,
    SKIP_AFTER, /* a dependency it needed to succeed did not */
    SKIP_CANCELLED,
    SKIP_UNREADABLE
};

static const char *const skip_reason[] = {
    NULL,
    "a task it runs --after did not succeed",
    "cancelled",
    "its line could not be read again",
};

/* What only some tasks have: clients waiting for them, --after. */
struct svc_links {
    struct svc_task *t;
    struct pr_list waits; /* struct wait_ref: wait requests for it */
    /* --after: what it waits for, and who waits for it. */
    struct after *after;
    unsigned nafter;
    struct pr_list dependents; /* struct after_edge: tasks waiting on it */
    unsigned blocking;         /* its dependencies that have not ended */
    struct pr_list released;   /* on pr_service.released */
    struct pr_list held_node;  /* on pr_service.held while held */
    struct request *followers; /* log --follow, submit --wait: a list */
    unsigned earlier;          /* attempts begun before the service restarted */
};

/* What the tasks of one submit share, kept once: the submit's JSON Lines,
 * its cwd and its environment.  Each task holds it until its final record
 * (a running task's env is the group's, borrowed). */
struct svc_group {
    size_t refs;
    struct pr_json_doc *doc; /* the submit's message: what follows is in it */
    const char *text; /* the JSON Lines; NULL for a job file (tasks made) */
    const char *cwd;  /* or NULL */
    char **client;    /* the submitter's NAME=value, nclient of them */
    size_t nclient;
    char **ops; /* the env of a task with no "env" of its own, or NULL */
    /* For compaction: while it has tasks, a group is on its service's
     * list of groups, in submit order, and its submit record is copied
     * from the journal as it is (rec_len 0: not in the journal). */
    struct pr_list node;
    struct pr_service *svc;
    uint64_t rec_off;
    uint32_t rec_len;
};

/* One dependency: the task named must end first; unless `any`, it must
 * have succeeded, or the waiting task is recorded skipped. */
struct after {
    char *id;
    int any;
};

struct after_edge {
    struct pr_list node; /* in the parent's dependents */
    struct svc_task *child;
    int any;
};

/* Every task the service has taken, in submit order, in chunks that
 * never move: the id table and the queues' heaps name a task by its place
 * here (svc_task.seq) in 4 bytes.  Tasks are not freed while the service
 * runs (status and wait answer from them), so 2^32 of them (256 GiB) are
 * never reached; a refused submit's tasks, the last made, are taken back. */
#define STORE_SHIFT 14 /* 16,384 tasks, 1 MiB, in a chunk */
#define STORE_CHUNK ((uint32_t)1 << STORE_SHIFT)

struct store {
    struct svc_task **chunk;
    size_t nchunk;
    uint32_t n;
};

/* The ids, in an open-addressing table of seq + 1 (0: empty). */
struct idmap {
    uint32_t *slot;
    size_t cap;
    size_t n;
};

/* An id looked for: a number as the service writes it ("0", or no
 * leading zero) is matched by number, so a numbered task keeps no text. */
struct idkey {
    const char *s;
    uint64_t num;
    int is_num;
    uint64_t hash;
};

/* A task's id as text, for a task the service numbered. */
struct idtext {
    char s[24];
};

/* A queue's source: the socket puts its tasks. */
struct svc_src {
    struct pr_source base;
    const struct pr_intake *in;
    int ended;
};

struct svc_queue {
    struct pr_list node;
    struct pr_service *svc;
    char *name;
    struct pr_pool *pool;
    struct pr_pool_result result;
    struct svc_src src;
    struct pr_join_waiter closing; /* the shutdown's join */
    int closed;
    int no_submits; /* `poolrun close`: its tasks finish, none come */
    int lifo;       /* serve --order lifo: the last submitted first */
    int stopped;    /* its pool takes no more: the rest wait for the next
                       service */
    /* Its waiting tasks, a heap: highest --priority, then first submitted
     * (with --order lifo: the last submitted first).
     * Its pool is handed a few at a time (feed). */
    uint32_t *heap; /* seq */
    size_t nheap;
    size_t heap_cap;
    char *joblog; /* its own --joblog and --results files, or NULL */
    char *results;
};

struct client {
    uv_pipe_t pipe;
    struct pr_list node;
    struct pr_service *svc;
    struct pr_proto_reader reader;
    struct pr_list reqs; /* its pending join and wait requests */
    int closing;
    int hanging_up; /* answered for the last time: it reads to the end */
};

enum req_kind {
    REQ_JOIN,
    REQ_WAIT,
    REQ_FOLLOW
};

struct wait_ref {
    struct pr_list node; /* in svc_task.waits */
    struct request *req;
};

/* A request that is answered later: join, wait. */
struct request {
    struct pr_list node; /* in client.reqs */
    struct client *c;
    enum req_kind kind;
    uv_timer_t timer;
    int timer_on;
    struct svc_queue *q;          /* join */
    struct pr_join_waiter waiter; /* join */
    struct svc_task **tasks;      /* wait */
    struct wait_ref *refs;
    size_t ntasks;
    size_t left;
    struct svc_task *followed;     /* follow: the task */
    struct request *next_follower; /* follow: in followed->followers */
    uint64_t skipped[2];           /* follow: bytes not sent, per stream */
    int skipping;                  /* follow: too much waits for the client */
};

struct pr_service {
    uv_loop_t *loop;
    struct pr_service_config cfg;
    uv_pipe_t listener;
    int listening;
    struct pr_list queues;
    struct pr_list clients;
    struct store tasks;
    struct idmap ids;
    uint64_t next_id;
    int output_dir;           /* STATE/output is there */
    struct svc_group **unref; /* groups to let go of at the turn's end */
    size_t nunref;
    size_t unref_cap;
    int shutting_down;
    unsigned open_queues;
    struct pr_journal *journal; /* NULL: the queues live in memory only */
    uv_check_t sync_check;      /* end-of-turn write of final records */
    uv_timer_t sync_timer;      /* ...made durable within a second */
    int journal_error;          /* the first failed sync, for status */
    struct pr_list kills;       /* struct kill_later: cancels that insist */
    struct pr_list released;    /* held tasks free to go at the turn's end */
    struct pr_list held;        /* every held task (--after) */
    struct pr_list groups;      /* struct svc_group with tasks, submit order */
    uint64_t sub_off;           /* the submit record being adopted: where, */
    uint32_t sub_len;           /* and its size (0: none) */
    uint64_t replay_off;    /* while the journal is read: where the record is */
    uint64_t replay_dead;   /* ...and the bytes it found superseded */
    uint64_t compact_min;   /* a journal smaller is never compacted */
    uint64_t compact_retry; /* after a failed compaction: not below this */
};

/* The journal's records. */
enum {
    REC_SUBMIT = 1,
    REC_FINAL = 2,
    REC_START = 3, /* {"id", "attempt"}: an attempt of the task began */
    /* Finished tasks, written by compaction in place of their submits and
     * final records: {"queue", "next", "jobs"?, "tasks": [[id, status,
     * code]...]} ("next": the service's last number then; "jobs": the
     * queue's -j). */
    REC_DONE = 4
};

static struct svc_links *
links(struct svc_task *t)
{
    if (t->x == NULL) {
        t->x = pr_xcalloc(1, sizeof(*t->x));
        t->x->t = t;
        pr_list_init(&t->x->waits);
        pr_list_init(&t->x->dependents);
        pr_list_init(&t->x->released);
        pr_list_init(&t->x->held_node);
    }
    return t->x;
}

/* --- the store and the ids ------------------------------------------- */

static struct svc_task *
store_at(const struct store *st, uint32_t seq)
{
    return &st->chunk[seq >> STORE_SHIFT][seq & (STORE_CHUNK - 1)];
}

/* A new task, zeroed, at the end of the store.  A chunk is 1 MiB: mapped
 * apart from the heap (serve's mmap threshold), so untouched tasks cost
 * nothing. */
static struct svc_task *
store_new(struct store *st)
{
    struct svc_task *t;

    if (st->n == UINT32_MAX)
        abort(); /* 256 GiB of tasks: pr_xmalloc has died long before */
    if ((st->n >> STORE_SHIFT) == st->nchunk) {
        st->chunk =
            pr_xrealloc(st->chunk, (st->nchunk + 1) * sizeof(*st->chunk));
        st->chunk[st->nchunk++] = pr_xmalloc(STORE_CHUNK * sizeof(*t));
    }
    t = store_at(st, st->n);
    memset(t, 0, sizeof(*t));
    t->seq = st->n++;
    return t;
}

static void svc_task_release(struct svc_task *t);

/* Takes back the tasks made from n on (a refused submit's). */
static void
store_truncate(struct store *st, uint32_t n)
{
    while (st->n > n)
        svc_task_release(store_at(st, --st->n));
}

static void
store_free(struct store *st)
{
    size_t i;

    store_truncate(st, 0);
    for (i = 0; i < st->nchunk; i++)
        free(st->chunk[i]);
    free(st->chunk);
}

static uint64_t
num_hash(uint64_t v)
{
    v ^= v >> 33;
    v *= 0xff51afd7ed558ccdULL;
    v ^= v >> 33;
    return v;
}

static struct idkey
key_of(const char *id)
{
    struct idkey k = {id, 0, 0, 0};
    const char *p = id;

    if (*p == '0' && p[1] == '\0') {
        k.is_num = 1;
    } else if (*p >= '1' && *p <= '9') {
        for (k.is_num = 1; k.is_num && *p != '\0'; p++) {
            unsigned d = (unsigned)(*p - '0');

            if (d > 9 || k.num > (UINT64_MAX - d) / 10)
                k.is_num = 0;
            else
                k.num = k.num * 10 + d;
        }
    }
    k.hash = k.is_num ? num_hash(k.num) : pr_str_hash(id);
    return k;
}

static const char *
tid(const struct svc_task *t, struct idtext *b)
{
    if (t->own_id)
        return t->id.name;
    snprintf(b->s, sizeof(b->s), "%" PRIu64, t->id.num);
    return b->s;
}

/* The same, in a buffer that lives to the end of the enclosing block. */
#define TID(t) tid((t), &(struct idtext){{0}})

static struct idkey
task_key(const struct svc_task *t)
{
    struct idkey k = {NULL, t->id.num, 1, num_hash(t->id.num)};

    return t->own_id ? key_of(t->id.name) : k;
}

/* Does the key name task t?  A key made from a numbered task has no
 * text (while the table grows). */
static int
key_names(const struct idkey *k, const struct svc_task *t)
{
    struct idkey own;

    if (t->own_id && k->s != NULL)
        return strcmp(t->id.name, k->s) == 0;
    if (t->own_id) {
        own = key_of(t->id.name);
        return own.is_num && own.num == k->num;
    }
    return k->is_num && t->id.num == k->num;
}

static uint32_t *
idmap_find(const struct store *st, struct idmap *m, const struct idkey *k)
{
    size_t i = (size_t)k->hash & (m->cap - 1);

    while (m->slot[i] != 0 && !key_names(k, store_at(st, m->slot[i] - 1)))
        i = (i + 1) & (m->cap - 1);
    return &m->slot[i];
}

/* Room for n more ids, made at once (a million-task submit does not
 * leave a trail of freed smaller tables). */
static void
idmap_grow(struct pr_service *s, size_t n)
{
    struct idmap *m = &s->ids;
    struct idmap bigger;
    size_t i;

    bigger.cap = m->cap ? m->cap * 2 : 1024;
    while ((m->n + n) * 2 > bigger.cap)
        bigger.cap *= 2;
    bigger.n = m->n;
    bigger.slot = pr_xcalloc(bigger.cap, sizeof(*bigger.slot));
    for (i = 0; i < m->cap; i++) {
        if (m->slot[i] != 0) {
            struct idkey k = task_key(store_at(&s->tasks, m->slot[i] - 1));

            *idmap_find(&s->tasks, &bigger, &k) = m->slot[i];
        }
    }
    free(m->slot);
    *m = bigger;
}

static struct svc_task *
id_get(struct pr_service *s, const char *id)
{
    struct idkey k;
    uint32_t v;

    if (s->ids.cap == 0)
        return NULL;
    k = key_of(id);
    v = *idmap_find(&s->tasks, &s->ids, &k);
    return v == 0 ? NULL : store_at(&s->tasks, v - 1);
}

static void
id_put(struct pr_service *s, struct svc_task *t)
{
    struct idkey k = task_key(t);

    if ((s->ids.n + 1) * 2 > s->ids.cap)
        idmap_grow(s, 1);
    *idmap_find(&s->tasks, &s->ids, &k) = t->seq + 1;
    s->ids.n++;
}

/* --- replies ------------------------------------------------------------ */

struct out_write {
    uv_write_t req;
    struct pr_buf buf;
};

static void
on_written(uv_write_t *req, int status)
{
    struct out_write *w = (struct out_write *)req;

    (void)status;
    pr_buf_free(&w->buf);
    free(w);
}

/* Sends the JSON object json[0..n) to c, as one frame. */
static void
send_frame(struct client *c, const char *json, size_t n)
{
    struct out_write *w;
    uv_buf_t b;

    if (c->closing)
        return;
    w = pr_xcalloc(1, sizeof(*w));
    pr_proto_frame(&w->buf, json, n);
    b = uv_buf_init(w->buf.data, (unsigned)w->buf.len);
    if (uv_write(&w->req, (uv_stream_t *)&c->pipe, &b, 1, on_written) != 0) {
        pr_buf_free(&w->buf);
        free(w);
    }
}

/* Sends the JSON object in body (taken) to c, as one frame. */
static void
reply(struct client *c, struct pr_buf *body)
{
    send_frame(c, body->data, body->len);
    pr_buf_free(body);
}

static void
reply_error(struct client *c, const char *msg)
{
    struct pr_buf b = {0};

    pr_buf_appendf(&b, "{\"ok\":false,\"error\":");
    pr_json_append_string(&b, msg, strlen(msg));
    pr_buf_append(&b, "}", 1);
    reply(c, &b);
}

static void
append_key_string(struct pr_buf *b, const char *key, const char *s)
{
    pr_buf_appendf(b, "\"%s\":", key);
    pr_json_append_string(b, s, strlen(s));
}

/* --- requests that wait ------------------------------------------------- */

static void
on_request_closed(uv_handle_t *h)
{
    struct request *r = h->data;

    free(r->tasks);
    free(r->refs);
    free(r);
}

static void unfollow(struct request *r);

/* The request is answered or abandoned: it lets go of what it waits on. */
static void
request_end(struct request *r)
{
    size_t i;

    pr_list_remove(&r->node);
    if (r->kind == REQ_JOIN)
        pr_batch_join_cancel(&r->waiter);
    if (r->kind == REQ_FOLLOW)
        unfollow(r);
    for (i = 0; r->refs != NULL && i < r->ntasks; i++)
        if (r->refs[i].node.next != NULL)
            pr_list_remove(&r->refs[i].node);
    uv_timer_stop(&r->timer);
    uv_close((uv_handle_t *)&r->timer, on_request_closed);
}

static struct request *
request_new(struct client *c, enum req_kind kind)
{
    struct request *r = pr_xcalloc(1, sizeof(*r));

    r->c = c;
    r->kind = kind;
    uv_timer_init(c->svc->loop, &r->timer);
    r->timer.data = r;
    pr_list_insert_before(&c->reqs, &r->node);
    return r;
}

static void
on_request_timeout(uv_timer_t *t)
{
    struct request *r = t->data;
    struct pr_buf b = {0};

    pr_buf_appendf(&b, "{\"ok\":false,\"timeout\":true}");
    reply(r->c, &b);
    request_end(r);
}

static void
request_timeout(struct request *r, double seconds)
{
    if (seconds > 0)
        uv_timer_start(&r->timer, on_request_timeout, pr_seconds_to_ms(seconds),
                       0);
}

/* --- a queue's waiting tasks ------------------------------------------ */

static int
goes_before(const struct svc_task *a, const struct svc_task *b)
{
    if (a->priority != b->priority && !a->q->lifo)
        return a->priority > b->priority;
    return a->q->lifo ? a->seq > b->seq : a->seq < b->seq;
}

static struct svc_task *
heap_at(const struct svc_queue *q, size_t i)
{
    return store_at(&q->svc->tasks, q->heap[i]);
}

static void
heap_set(struct svc_queue *q, size_t i, struct svc_task *t)
{
    q->heap[i] = t->seq;
    t->heap_at = (uint32_t)i;
}

static void
heap_up(struct svc_queue *q, size_t i, struct svc_task *t)
{
    while (i > 0 && goes_before(t, heap_at(q, (i - 1) / 2))) {
        heap_set(q, i, heap_at(q, (i - 1) / 2));
        i = (i - 1) / 2;
    }
    heap_set(q, i, t);
}

static void
heap_down(struct svc_queue *q, size_t i, struct svc_task *t)
{
    size_t c;

    while ((c = 2 * i + 1) < q->nheap) {
        if (c + 1 < q->nheap && goes_before(heap_at(q, c + 1), heap_at(q, c)))
            c++;
        if (!goes_before(heap_at(q, c), t))
            break;
        heap_set(q, i, heap_at(q, c));
        i = c;
    }
    heap_set(q, i, t);
}

static void
waiting_push(struct svc_queue *q, struct svc_task *t)
{
    if (q->nheap == q->heap_cap) {
        q->heap_cap = q->heap_cap ? q->heap_cap * 2 : 64;
        q->heap = pr_xrealloc(q->heap, q->heap_cap * sizeof(*q->heap));
    }
    t->waiting = 1;
    heap_up(q, q->nheap++, t);
}

static void
waiting_remove(struct svc_queue *q, struct svc_task *t)
{
    size_t i = t->heap_at;
    struct svc_task *last = heap_at(q, --q->nheap);

    t->waiting = 0;
    if (i == q->nheap)
        return;
    heap_up(q, i, last);
    heap_down(q, last->heap_at, last);
}

/* The task no longer holds its queue's join (after being put, which
 * counts it again, or at a stop). */
static void
uncount(struct svc_task *t)
{
    if (!t->counted)
        return;
    t->counted = 0;
    pr_batch_done(pr_pool_batch(t->q->pool));
}

static struct pr_task *make_task(struct svc_task *t);

/* Hands the queue's first waiting task to its pool while a slot is free
 * for it: the pool's queue holds none of them (but one that --delay or
 * --load hold back), so a task of higher --priority submitted later is
 * next, and the rest stay compact.  Called when a submit or a release
 * adds tasks, from the pool when a task has ended (src_resume), and at the
 * end of a loop turn. */
static void
feed(struct svc_queue *q)
{
    while (q->nheap > 0 && !q->stopped && pr_pool_accepting(q->pool) &&
           pr_pool_queued(q->pool) == 0 && pr_pool_slot_free(q->pool)) {
        struct svc_task *t = heap_at(q, 0);

        waiting_remove(q, t);
        t->in_pool = 1;
        pr_intake_put(q->src.in, make_task(t));
        uncount(t);
    }
}

/* --- a queue's source --------------------------------------------------- */

static int
src_start(struct pr_source *base, const struct pr_intake *in)
{
    ((struct svc_src *)base)->in = in;
    return 0;
}

static void
src_resume(struct pr_source *base)
{
    feed(PR_CONTAINER_OF(base, struct svc_queue, src.base));
}

/* The queue's pool stops (a shutdown, --halt): what waits stays in the
 * journal for the next service, and no longer holds the queue's join. */
static void
src_stop(struct pr_source *base)
{
    struct svc_src *s = (struct svc_src *)base;
    struct svc_queue *q = PR_CONTAINER_OF(base, struct svc_queue, src.base);
    size_t i;

    q->stopped = 1;
    for (i = 0; i < q->nheap; i++)
        uncount(heap_at(q, i));
    if (!s->ended) {
        s->ended = 1;
        pr_intake_end(s->in, 0);
    }
}

/* A task the stopping pool had not started: the service keeps it (the
 * journal has it) rather than recording it skipped. */
static int
src_requeue(struct pr_source *base, struct pr_task *task)
{
    struct svc_task *t = task->src;

    (void)base;
    if (t == NULL)
        return 0;
    t->in_pool = 0;
    return 1;
}

static void wait_task_done(struct svc_task *t);
static void follow_end(struct svc_task *t);
static void journal_final(struct pr_service *s, const struct svc_task *t);
static void forget_start(struct pr_service *s, const struct svc_task *t,
                         unsigned attempt);
static void group_track(struct pr_service *s, struct svc_group *g);
static void group_gone(struct svc_group *g);
static void after_done(struct pr_service *s, struct svc_task *parent);
static void group_unref(struct svc_group *g);
static void on_turn_end(uv_check_t *h);

static void
unref_later(struct pr_service *s, struct svc_group *g)
{
    if (s->nunref == s->unref_cap) {
        s->unref_cap = s->unref_cap ? 2 * s->unref_cap : 16;
        s->unref = pr_xrealloc(s->unref, s->unref_cap * sizeof(*s->unref));
    }
    s->unref[s->nunref++] = g;
}

/* Every sink has the task's final record: the clients waiting for it hear
 * of it now, and its queue's pool has room for another (at the turn's
 * end: not inside the pool's own call). */
static void
src_ended(struct pr_source *base, const struct pr_task *task)
{
    struct svc_task *t = task->src;

    (void)base;
    if (t == NULL)
        return;
    t->done = 1;
    t->in_pool = 0;
    t->task = NULL;
    t->status = task->status;
    t->code = pr_task_code(task);
    /* The pool is still recording it (its callbacks copy its env, which
     * is the group's): the group goes at the end of the turn. */
    unref_later(t->q->svc, t->g);
    t->g = NULL;
    forget_start(t->q->svc, t, task->attempt);
    journal_final(t->q->svc, t);
    follow_end(t);
    wait_task_done(t);
    after_done(t->q->svc, t);
    uv_check_start(&t->q->svc->sync_check, on_turn_end);
}

static void
src_free(struct pr_source *base)
{
    (void)base;
}

static const struct pr_source_ops src_ops = {
    .start = src_start,
    .resume = src_resume,
    .stop = src_stop,
    .ended = src_ended,
    .requeue = src_requeue,
    .free = src_free,
};

/* --- queues ------------------------------------------------------------- */

static void maybe_end(struct pr_service *s);

static void
queue_closed(void *data)
{
    struct svc_queue *q = data;

    q->closed = 1;
    q->svc->open_queues--;
    maybe_end(q->svc);
}

static void
queue_joined(void *data)
{
    struct svc_queue *q = data;

    pr_pool_close(q->pool, queue_closed, q);
}

/* A queue's input ends only at a shutdown: then its join closes it. */
static void
queue_input_end(void *data)
{
    struct svc_queue *q = data;

    pr_batch_join(pr_pool_batch(q->pool), &q->closing, queue_joined, q);
}

static struct svc_queue *
queue_find(struct pr_service *s, const char *name)
{
    struct pr_list *n;

    for (n = s->queues.next; n != &s->queues; n = n->next) {
        struct svc_queue *q = PR_CONTAINER_OF(n, struct svc_queue, node);

        if (strcmp(q->name, name) == 0)
            return q;
    }
    return NULL;
}

/* --- each task's output, kept for `log` ------------------------------- */

/* STATE/output/NAME.1 (stdout) or .2: NAME is the id in hex, or a hash
 * of a long one. */
static void
output_path(const struct pr_service *s, const char *id, int stream, char *buf,
            size_t n)
{
    size_t len = strlen(id), i, at;

    at = (size_t)snprintf(buf, n, "%s/output/", s->cfg.state_dir);
    if (len <= 100)
        for (i = 0; i < len && at + 3 < n; i++, at += 2)
            snprintf(buf + at, n - at, "%02x", (unsigned char)id[i]);
    else
        at += (size_t)snprintf(buf + at, n - at, "h%016llx",
                               (unsigned long long)pr_str_hash(id));
    snprintf(buf + at, n > at ? n - at : 0, ".%d", stream);
}

static void
keep_stream(struct pr_service *s, const struct pr_task *task, int stream)
{
    const struct pr_capture *c = stream == 1 ? &task->out : &task->err;
    const struct svc_task *t = task->src;
    struct pr_buf b = {0};
    char path[4096];
    int fd;

    if (task->streaming)
        pr_buf_append(&b, task->head[stream - 1].data,
                      task->head[stream - 1].len);
    else
        pr_capture_head(c, &b, s->cfg.pool.results_limit);
    output_path(s, TID(t), stream, path, sizeof(path));
    if (b.len == 0) {
        if (t->rerun)
            unlink(path); /* its run before this one may have left one */
        pr_buf_free(&b);
        return;
    }
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd >= 0) {
        (void)pr_write_all(fd, b.data, b.len);
        close(fd);
    }
    pr_buf_free(&b);
}

/* A record sink of every queue: the first bytes of each stream (as
 * --results-limit says) go to the state folder, for `poolrun log`. */
static void
keep_output(void *data, const struct pr_task *task)
{
    struct pr_service *s = data;
    char dir[4096];

    if (s->cfg.state_dir == NULL || task->src == NULL)
        return;
    if (!s->output_dir) {
        snprintf(dir, sizeof(dir), "%s/output", s->cfg.state_dir);
        s->output_dir = mkdir(dir, 0700) == 0 || errno == EEXIST;
    }
    keep_stream(s, task, 1);
    keep_stream(s, task, 2);
}

static const struct pr_sink_ops output_sink = {.final = keep_output};

static void follow_output(void *data, const struct pr_task *task, int stream,
                          const char *p, size_t n);

/* Every queue's pool is a subreaper of the same process: each must leave
 * the others' processes alone. */
static int
queue_owns_pid(void *data, int pid)
{
    const struct svc_queue *q = data;
    struct pr_list *n;

    for (n = q->svc->queues.next; n != &q->svc->queues; n = n->next) {
        const struct svc_queue *other =
            PR_CONTAINER_OF(n, struct svc_queue, node);

        if (other->pool != NULL && pr_pool_owns_pid(other->pool, pid))
            return 1;
    }
    return 0;
}

static void journal_start(struct pr_service *s, const struct svc_task *t,
                          unsigned attempt);

/* An attempt began: the journal hears of it, for --start-paused.  Its
 * number goes on from the attempts begun before a restart, as a retry's
 * does, so that the results file counts them. */
static void
queue_task_started(void *data, struct pr_task *task)
{
    struct svc_queue *q = data;
    struct svc_task *t = task->src;

    if (t == NULL)
        return;
    if (t->x != NULL) {
        task->attempt += t->x->earlier;
        t->x->earlier = 0;
    }
    journal_start(q->svc, t, task->attempt);
}

/* The queue's own file: tmpl with each {queue} replaced by its name.  In
 * the name, a byte other than a letter, digit, '.', '_' or '-' (a '/'),
 * and a leading '.' (as in ".."), is written %XX, so that no queue's file
 * lies outside the folder tmpl names, and two names never share one. */
static char *
queue_file(const char *tmpl, const char *name)
{
    struct pr_buf b = {0};
    const char *at;
    size_t i;

    while ((at = strstr(tmpl, "{queue}")) != NULL) {
        pr_buf_append(&b, tmpl, (size_t)(at - tmpl));
        for (i = 0; name[i] != '\0'; i++) {
            unsigned char c = (unsigned char)name[i];

            if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                (c >= '0' && c <= '9') || c == '_' || c == '-' ||
                (c == '.' && i > 0))
                pr_buf_append(&b, name + i, 1);
            else
                pr_buf_appendf(&b, "%%%02X", c);
        }
        tmpl = at + strlen("{queue}");
    }
    pr_buf_append(&b, tmpl, strlen(tmpl) + 1);
    return b.data;
}

static void
queue_free(struct svc_queue *q)
{
    free(q->heap);
    free(q->joblog);
    free(q->results);
    free(q->name);
    free(q);
}

/* The queue named, made on first use with the service's defaults. */
static struct svc_queue *
queue_get(struct pr_service *s, const char *name, const char **err)
{
    static char msg[512];
    struct svc_queue *q = queue_find(s, name);
    struct pr_pool_config cfg = s->cfg.pool;
    const char *which = NULL;
    int rc;

    if (q != NULL)
        return q;
    q = pr_xcalloc(1, sizeof(*q));
    q->svc = s;
    q->name = pr_xstrdup(name);
    q->src.base.ops = &src_ops;
    /* The queue keeps its waiting tasks (its heap) and feeds its pool one
     * at a time (feed), so the pool's queue needs no bound of its own. */
    cfg.queue_size = 0;
    if (cfg.order == PR_ORDER_FIFO)
        cfg.order = PR_ORDER_PRIORITY; /* the same, unless one is given */
    q->lifo = cfg.order == PR_ORDER_LIFO;
    cfg.on_input_end = queue_input_end;
    cfg.owns_pid = queue_owns_pid;
    cfg.on_output = follow_output;
    cfg.on_task_start = queue_task_started;
    cfg.event_data = q;
    /* Appended to: the rows of the tasks a service before this one ran
     * stay (the one-shot command truncates, unless --resume). */
    cfg.resume = 1;
    if (cfg.joblog != NULL)
        cfg.joblog = q->joblog = queue_file(cfg.joblog, name);
    if (cfg.results != NULL)
        cfg.results = q->results = queue_file(cfg.results, name);
    if ((rc = pr_pool_new(&q->pool, s->loop, &cfg, &which)) != 0) {
        snprintf(msg, sizeof(msg), "%s %.400s: %s", which,
                 strcmp(which, "--joblog") == 0 ? q->joblog : q->results,
                 pr_err_text(rc));
        *err = msg;
        queue_free(q);
        return NULL;
    }
    pr_pool_add_sink(q->pool, &output_sink, s);
    pr_list_insert_before(&s->queues, &q->node);
    s->open_queues++;
    pr_pool_start(q->pool, &q->src.base, &q->result);
    return q;
}

/* --- submit ------------------------------------------------------------- */

static size_t
key_len(const char *e)
{
    return strcspn(e, "=");
}

/* "NAME=value" -> "NAME": the operation that removes the variable. */
static char *
dup_key(const char *e)
{
    size_t k = key_len(e);
    char *r = pr_xmalloc(k + 1);

    memcpy(r, e, k);
    r[k] = '\0';
    return r;
}

/* Is a variable of e's name in list (NULL-terminated, or n long)? */
static int
has_key(char *const *list, size_t n, const char *e)
{
    size_t k = key_len(e);
    size_t i;

    for (i = 0; i < n && list[i] != NULL; i++)
        if (key_len(list[i]) == k && strncmp(list[i], e, k) == 0)
            return 1;
    return 0;
}

/* Is e ("NAME=value") in list, the same? */
static int
has_exact(char *const *list, const char *e)
{
    size_t i;

    for (i = 0; list != NULL && list[i] != NULL; i++)
        if (strcmp(list[i], e) == 0)
            return 1;
    return 0;
}

/* The submitter's environment as the task's env operations: its own
 * first, then the submitter's variables it does not set and the service
 * does not have as they are, then the removal of the service's variables
 * the submitter does not have.  A submitter with the service's PATH sets
 * none, and its tasks start by the fast spawn (which needs poolrun's). */
static char **
submit_env(char **own, char *const *client, size_t nclient)
{
    size_t nown = 0, nenv = 0, n = 0, i;
    char **ops;

    while (own != NULL && own[nown] != NULL)
        nown++;
    while (environ != NULL && environ[nenv] != NULL)
        nenv++;
    ops = pr_xcalloc(nown + nclient + nenv + 1, sizeof(*ops));
    for (i = 0; i < nown; i++)
        ops[n++] = own[i];
    for (i = 0; i < nclient; i++)
        if (!has_key(own, nown, client[i]) && !has_exact(environ, client[i]))
            ops[n++] = pr_xstrdup(client[i]);
    for (i = 0; i < nenv; i++)
        if (!has_key(client, nclient, environ[i]) &&
            !has_key(own, nown, environ[i]))
            ops[n++] = dup_key(environ[i]);
    free(own);
    return ops;
}

/* What a submit says for all its tasks. */
struct submit {
    const char *queue;
    const char *cwd;
    char **env; /* borrowed from the message */
    size_t nenv;
    const char *jsonl;
    const char *jobfile;         /* a job file's text (-f), or NULL */
    const char *jobfile_name;    /* its name, for messages */
    const char *jobfile_dir;     /* its folder: "cwd" values start there */
    uint64_t next;               /* the service's last number before it */
    struct pr_json_doc **doc;    /* its message's, which its group takes */
    const struct pr_json *after; /* [{"id", "any"}...]: --after */
    unsigned jobs;               /* -j for the queue from now on, or 0 */
    /* Its tasks, read, not yet the service's: the last ntasks of the
     * store, from seq first on. */
    struct pr_service *svc;
    uint32_t first;
    size_t ntasks;
};

static struct svc_task *
sb_task(const struct submit *sb, size_t i)
{
    return store_at(&sb->svc->tasks, sb->first + (uint32_t)i);
}

/* A task of the submit, with its id if the submitter gave one (else the
 * service numbers it, once the submit is taken: assign_ids). */
static struct svc_task *
svc_task_new(struct submit *sb, const char *id, int priority)
{
    struct svc_task *t = store_new(&sb->svc->tasks);

    if (id != NULL) {
        t->id.name = pr_xstrdup(id);
        t->own_id = 1;
    }
    t->priority = priority;
    if (sb->ntasks++ == 0)
        sb->first = t->seq;
    return t;
}

static const char *
task_id(const struct pr_task *task)
{
    return task->spec != NULL ? task->spec->id : NULL;
}

/* {"cmd":"LINE"} with LINE printable ASCII and no escape: a shell line as
 * `poolrun submit` sends most, which the JSON parser would read the same
 * (a task with that line and nothing else) only slower. */
static int
plain_line(const char *p, size_t len)
{
    static const char head[] = "{\"cmd\":\"";
    size_t i;

    if (len < sizeof(head) + 2 || memcmp(p, head, sizeof(head) - 1) != 0 ||
        p[len - 2] != '"' || p[len - 1] != '}')
        return 0;
    for (i = sizeof(head) - 1; i < len - 2; i++)
        if (p[i] < 0x20 || p[i] > 0x7e || p[i] == '"' || p[i] == '\\')
            return 0;
    return 1;
}

/* A submit refused: its tasks were never the service's. */
static void
free_tasks(struct submit *sb)
{
    if (sb->ntasks > 0)
        store_truncate(&sb->svc->tasks, sb->first);
    sb->ntasks = 0;
}

/* A task id the submit gives: new to the service (s NULL on replay, where
 * the journal was checked when it was written) and to the submit. */
static int
id_is_new(struct pr_service *s, struct pr_idset *seen,
          const struct pr_task *task, struct pr_diag *d)
{
    const struct pr_task_spec *spec = task->spec;

    if (spec == NULL || spec->id == NULL)
        return 1;
    if (s != NULL && id_get(s, spec->id) != NULL) {
        snprintf(d->msg, sizeof(d->msg),
                 "task id \"%.200s\" is already in the service", spec->id);
        return 0;
    }
    return pr_idset_add(seen, task, d) == 0;
}

static int
is_service(const struct pr_task *task, const char *name, struct pr_diag *d)
{
    if (task->spec == NULL || !task->spec->daemon)
        return 0;
    snprintf(d->msg, sizeof(d->msg),
             "%s: a service (\"daemon\": true) needs a poolrun run of its "
             "own, not the queue service",
             name);
    return 1;
}

/* -f: the job file's tasks, checked as the one-shot command checks them,
 * made now (a job file is small; its lines are not kept). */
static int
parse_jobfile(struct pr_service *s, struct submit *sb, struct pr_diag *d)
{
    struct pr_idset *seen = pr_idset_new();
    struct pr_jobfile jf;
    size_t i;
    int rc;

    pr_jobfile_init(&jf);
    rc = pr_jobfile_load_mem(&jf, sb->jobfile_name, sb->jobfile,
                             strlen(sb->jobfile), sb->jobfile_dir, d);
    if (rc == 0)
        rc = pr_jobfile_check_ids(&jf, d);
    for (i = 0; rc == 0 && i < jf.ntasks; i++)
        if (is_service(jf.tasks[i], sb->jobfile_name, d) ||
            !id_is_new(s, seen, jf.tasks[i], d))
            rc = -1;
    if (rc == 0) {
        if (sb->jobs == 0 && jf.jobs > 0)
            sb->jobs = (unsigned)jf.jobs;
        for (i = 0; i < jf.ntasks; i++)
            svc_task_new(sb, task_id(jf.tasks[i]), jf.tasks[i]->priority)
                ->task = jf.tasks[i];
        free(jf.tasks);
        jf.tasks = NULL;
        jf.ntasks = 0;
    }
    pr_jobfile_free(&jf);
    pr_idset_free(seen);
    return rc;
}

/* One line of a submit's JSON Lines, checked as a job file's line is; the
 * task keeps where the line is, its id and priority, not what it made. */
static int
parse_line(struct pr_service *s, struct submit *sb, struct pr_idset *seen,
           uint64_t lineno, size_t off, size_t len, struct pr_diag *d)
{
    struct pr_task *task;
    struct svc_task *t;
    int rc = 0;

    if (len > UINT32_MAX || off > UINT32_MAX) {
        snprintf(d->msg, sizeof(d->msg), "submit: more than 4 GiB of tasks");
        return -1;
    }
    if (plain_line(sb->jsonl + off, len)) {
        t = svc_task_new(sb, NULL, 0);
        t->off = (uint32_t)off;
        t->len = (uint32_t)len;
        return 0;
    }
    if (pr_jobline_parse("submit", lineno, sb->jsonl + off, len, &task, d) != 0)
        return -1;
    if (is_service(task, "submit", d) || !id_is_new(s, seen, task, d)) {
        rc = -1;
    } else {
        t = svc_task_new(sb, task_id(task), task->priority);
        t->off = (uint32_t)off;
        t->len = (uint32_t)len;
    }
    pr_task_free(task);
    return rc;
}

/* Reads every task of the submit before any is taken: a bad one refuses
 * the whole submit, naming its line. */
static int
parse_tasks(struct pr_service *s, struct submit *sb, struct pr_diag *d)
{
    struct pr_idset *seen;
    size_t off = 0;
    uint64_t lineno = 0;
    int rc = 0;

    if (sb->jobfile != NULL)
        return parse_jobfile(s, sb, d);
    seen = pr_idset_new();
    while (rc == 0 && sb->jsonl[off] != '\0') {
        size_t len = strcspn(sb->jsonl + off, "\n");

        lineno++;
        if (len > 0)
            rc = parse_line(s, sb, seen, lineno, off, len, d);
        off += len + (sb->jsonl[off + len] == '\n');
    }
    pr_idset_free(seen);
    return rc;
}

/* A numeric id taken (by a user, or read back from the journal): the
 * service's own numbers go on past it. */
static void
note_id(struct pr_service *s, const struct svc_task *t)
{
    struct idkey k = task_key(t);

    if (k.is_num && k.num > s->next_id)
        s->next_id = k.num;
}

/* Gives each task of the submit its id: its own, or the next number.  The
 * journal records the number before, so a replay gives the same ids. */
static void
assign_ids(struct pr_service *s, struct submit *sb)
{
    size_t i;

    for (i = 0; i < sb->ntasks; i++) {
        struct svc_task *t = sb_task(sb, i);

        if (!t->own_id)
            t->id.num = ++s->next_id;
        note_id(s, t);
    }
}

/* The group keeps the message the submit came in (the JSON Lines are
 * most of it): its text, cwd and environment are the message's strings,
 * not copies. */
static struct svc_group *
group_new(struct submit *sb)
{
    struct svc_group *g = pr_xcalloc(1, sizeof(*g));

    g->doc = *sb->doc;
    *sb->doc = NULL;
    g->text = sb->jobfile == NULL ? sb->jsonl : NULL;
    g->cwd = sb->cwd;
    if (sb->env != NULL) {
        g->client = sb->env;
        g->nclient = sb->nenv;
        g->ops = submit_env(NULL, g->client, g->nclient);
        sb->env = NULL;
    }
    return g;
}

static void
group_unref(struct svc_group *g)
{
    size_t i;

    if (g == NULL || --g->refs > 0)
        return;
    pr_json_free(g->doc);
    free(g->client);
    for (i = 0; g->ops != NULL && g->ops[i] != NULL; i++)
        free(g->ops[i]);
    free(g->ops);
    group_gone(g);
    free(g);
}

/* The submit's tasks are the service's: found by their ids, sharing its
 * cwd and environment. */
static void
adopt_all(struct pr_service *s, struct svc_queue *q, struct submit *sb)
{
    struct svc_group *g = group_new(sb);
    size_t i;

    if ((s->ids.n + sb->ntasks) * 2 > s->ids.cap)
        idmap_grow(s, sb->ntasks);
    if (q->nheap + sb->ntasks > q->heap_cap) {
        q->heap_cap = q->nheap + sb->ntasks;
        q->heap = pr_xrealloc(q->heap, q->heap_cap * sizeof(*q->heap));
    }
    group_track(s, g);
    for (i = 0; i < sb->ntasks; i++) {
        struct svc_task *t = sb_task(sb, i);

        t->q = q;
        t->g = g;
        g->refs++;
        id_put(s, t);
        copy_after(t, sb->after);
    }
    if (g->refs == 0) {
        g->refs = 1;
        group_unref(g);
    }
}

/* The task as its pool runs it: made from its line when the pool takes
 * it, with its submit's cwd and environment (borrowed: the group outlives
 * it). */
static struct pr_task *
make_task(struct svc_task *t)
{
    struct pr_task *task = t->task;
    struct svc_group *g = t->g;
    struct pr_diag d;

    if (task == NULL && pr_jobline_parse("submit", 1, g->text + t->off, t->len,
                                         &task, &d) != 0) {
        /* It was read when it was submitted: the same bytes read the same. */
        task = pr_task_new(0, "", 0);
        t->skip = SKIP_UNREADABLE;
    }
    t->task = task;
    task->src = t;
    if (t->skip != SKIP_NONE)
        task->skip_why = skip_reason[t->skip];
    if (task->spec == NULL) {
        task->spec = pr_xcalloc(1, sizeof(*task->spec));
        task->spec->timeout = -1;
        task->spec->retries = -1;
    }
    if (task->spec->id == NULL)
        task->spec->id = pr_xstrdup(TID(t));
    if (t->made)
        return task;
    t->made = 1;
    if (task->spec->cwd == NULL && g->cwd != NULL)
        task->spec->cwd = pr_xstrdup(g->cwd);
    if (g->ops != NULL && task->spec->env == NULL) {
        task->spec->env = g->ops;
        task->spec->env_borrowed = 1;
    } else if (g->ops != NULL) {
        task->spec->env = submit_env(task->spec->env, g->client, g->nclient);
    }
    return task;
}

static const char *
member_string(const struct pr_json *obj, const char *key, const char *dflt)
{
    const char *v;

    if (pr_json_get_string(pr_json_member(obj, key), &v) != 0)
        return dflt;
    return v;
}

static double
member_number(const struct pr_json *obj, const char *key)
{
    double v;

    if (pr_json_get_number(pr_json_member(obj, key), &v) != 0)
        return 0;
    return v;
}

/* The submitter's environment, borrowed from the message. */
static void
read_env(const struct pr_json *msg, struct submit *sb)
{
    const struct pr_json *env = pr_json_member(msg, "env");
    const struct pr_json *v;
    size_t n = 0;

    if (pr_json_type(env) != PR_JSON_ARRAY)
        return;
    sb->env = pr_xcalloc(pr_json_count(env) + 1, sizeof(*sb->env));
    for (v = pr_json_first(env); v != NULL; v = pr_json_next(v)) {
        const char *e;

        if (pr_json_get_string(v, &e) == 0 && strchr(e, '=') != NULL)
            sb->env[n++] = (char *)(uintptr_t)e;
    }
    sb->nenv = n;
}

static void
reply_ids(struct client *c, const struct submit *sb)
{
    struct pr_buf b = {0};
    size_t i;

    pr_buf_appendf(&b, "{\"ok\":true,\"ids\":[");
    for (i = 0; i < sb->ntasks; i++) {
        struct idtext ib;
        const char *id = tid(sb_task(sb, i), &ib);

        if (i > 0)
            pr_buf_append(&b, ",", 1);
        pr_json_append_string(&b, id, strlen(id));
    }
    pr_buf_append(&b, "]}", 2);
    reply(c, &b);
}

static void
after_json(struct pr_buf *b, const struct pr_json *after)
{
    const struct pr_json *v;
    int any;

    for (v = pr_json_first(after); v != NULL; v = pr_json_next(v)) {
        any = 0;
        pr_json_get_bool(pr_json_member(v, "any"), &any);
        if (v != pr_json_first(after))
            pr_buf_append(b, ",", 1);
        pr_buf_append(b, "{", 1);
        append_key_string(b, "id", member_string(v, "id", ""));
        pr_buf_appendf(b, ",\"any\":%s}", any ? "true" : "false");
    }
}

static const char *check_after(struct pr_service *s,
                               const struct pr_json *after, char *buf,
                               size_t n);
static void copy_after(struct svc_task *t, const struct pr_json *after);
static void put_or_hold(struct pr_service *s, struct svc_task *t);

/* The submit as the journal keeps it: enough to make its tasks again,
 * with the ids they were given. */
static void
submit_record(struct pr_buf *b, const struct submit *sb)
{
    size_t i;

    /* Its bulk is the JSON Lines, a quarter longer once escaped. */
    pr_buf_reserve(b, strlen(sb->jsonl) / 4 * 5 + 4096);
    pr_buf_append(b, "{", 1);
    append_key_string(b, "queue", sb->queue);
    if (sb->jobs != 0)
        pr_buf_appendf(b, ",\"jobs\":%u", sb->jobs);
    if (sb->cwd != NULL) {
        pr_buf_append(b, ",", 1);
        append_key_string(b, "cwd", sb->cwd);
    }
    pr_buf_appendf(b, ",\"env\":[");
    for (i = 0; i < sb->nenv; i++) {
        if (i > 0)
            pr_buf_append(b, ",", 1);
        pr_json_append_string(b, sb->env[i], strlen(sb->env[i]));
    }
    pr_buf_appendf(b, "],\"next\":%llu,\"after\":[",
                   (unsigned long long)sb->next);
    after_json(b, sb->after);
    pr_buf_append(b, "],", 2);
    append_key_string(b, "jsonl", sb->jsonl);
    if (sb->jobfile != NULL) {
        pr_buf_append(b, ",", 1);
        append_key_string(b, "jobfile", sb->jobfile);
        pr_buf_append(b, ",", 1);
        append_key_string(b, "jobfile_name", sb->jobfile_name);
        if (sb->jobfile_dir != NULL) {
            pr_buf_append(b, ",", 1);
            append_key_string(b, "jobfile_dir", sb->jobfile_dir);
        }
    }
    pr_buf_append(b, "}", 1);
}

/* The submit is on disk (synced) before anyone hears it was taken. */
static int
journal_submit(struct pr_service *s, const struct submit *sb)
{
    struct pr_buf b = {0};
    int rc;

    static const char header[PR_JOURNAL_REC_HEADER];

    if (s->journal == NULL)
        return 0;
    pr_buf_append(&b, header, sizeof(header));
    submit_record(&b, sb);
    /* Where its group finds it, for compaction (adopt_all). */
    s->sub_off = pr_journal_end(s->journal);
    s->sub_len = (uint32_t)(b.len - PR_JOURNAL_REC_HEADER);
    rc = pr_journal_append_buf(s->journal, REC_SUBMIT, &b);
    if (rc == 0)
        rc = pr_journal_sync(s->journal);
    return rc;
}

static void
read_submit(struct pr_service *s, const struct pr_json *msg, struct submit *sb)
{
    memset(sb, 0, sizeof(*sb));
    sb->svc = s;
    sb->queue = member_string(msg, "queue", "default");
    sb->cwd = member_string(msg, "cwd", NULL);
    sb->jsonl = member_string(msg, "jsonl", "");
    sb->jobfile = member_string(msg, "jobfile", NULL);
    sb->jobfile_name = member_string(msg, "jobfile_name", "job file");
    sb->jobfile_dir = member_string(msg, "jobfile_dir", sb->cwd);
    sb->next = (uint64_t)member_number(msg, "next");
    sb->after = pr_json_member(msg, "after");
    sb->jobs = (unsigned)member_number(msg, "jobs");
    read_env(msg, sb);
}

static void
do_submit(struct client *c, const struct pr_json *msg, struct pr_json_doc **doc)
{
    struct pr_service *s = c->svc;
    struct submit sb;
    struct pr_diag d;
    struct svc_queue *q = NULL;
    const char *err = NULL;
    char jerr[256];
    size_t i;
    int rc;

    read_submit(s, msg, &sb);
    sb.doc = doc;
    d.msg[0] = '\0';
    if (s->shutting_down)
        err = "the service is shutting down";
    else if (parse_tasks(s, &sb, &d) != 0)
        err = d.msg;
    else if ((q = queue_get(s, sb.queue, &err)) != NULL && q->stopped)
        err = "the queue is stopping";
    else if (q != NULL && q->no_submits)
        err = "the queue is closed: it takes no more tasks";
    else if (q != NULL) /* else queue_get said why */
        err = check_after(s, sb.after, jerr, sizeof(jerr));
    if (err == NULL) {
        /* A client does not choose the service's numbers. */
        sb.next = s->next_id;
        if ((rc = journal_submit(s, &sb)) != 0) {
            snprintf(jerr, sizeof(jerr),
                     "cannot write the journal: %s; nothing was taken",
                     pr_err_text(rc));
            err = jerr;
        }
    }
    if (err != NULL) {
        reply_error(c, err);
        free_tasks(&sb);
        free(sb.env);
        return;
    }
    assign_ids(s, &sb);
    if (sb.jobs != 0)
        pr_pool_set_jobs(q->pool, sb.jobs);
    adopt_all(s, q, &sb);
    reply_ids(c, &sb);
    for (i = 0; i < sb.ntasks; i++)
        put_or_hold(s, sb_task(&sb, i));
    feed(q);
    free(sb.env);
}

/* --- status ------------------------------------------------------------- */

static void
status_task(void *data, const struct pr_task *task)
{
    struct pr_buf *b = data;
    const struct svc_task *t = task->src;
    double runtime = (double)(uv_hrtime() - task->start_ns) / 1e9;

    if (b->data[b->len - 1] != '[')
        pr_buf_append(b, ",", 1);
    pr_buf_append(b, "{", 1);
    append_key_string(b, "id", t != NULL ? TID(t) : "");
    pr_buf_appendf(b, ",\"pid\":%d,\"runtime\":%.3f,", task->pid,
                   task->start_ns ? runtime : 0.0);
    pr_buf_appendf(b, "\"seq\":%llu,\"slot\":%u,",
                   (unsigned long long)task->seq, task->slot);
    pr_buf_appendf(b, "\"cmd\":");
    pr_json_append_string(b, task->line ? task->line : "",
                          task->line ? task->line_len : 0);
    pr_buf_append(b, "}", 1);
}

/* The queue's tasks that --start-paused holds: id, the attempts they
 * began before, command. */
static void
status_paused(struct pr_buf *b, const struct svc_queue *q)
{
    struct pr_list *n;

    for (n = q->svc->held.next; n != &q->svc->held; n = n->next) {
        struct svc_task *t = PR_CONTAINER_OF(n, struct svc_links, held_node)->t;
        const struct pr_task *task;

        if (t->q != q || !t->paused)
            continue;
        task = make_task(t); /* its line, for the command */
        if (b->data[b->len - 1] != '[')
            pr_buf_append(b, ",", 1);
        pr_buf_append(b, "{", 1);
        append_key_string(b, "id", TID(t));
        pr_buf_appendf(b, ",\"attempts\":%u,\"cmd\":", t->x->earlier);
        pr_json_append_string(b, task->line ? task->line : "",
                              task->line ? task->line_len : 0);
        pr_buf_append(b, "}", 1);
    }
}

/* The counts `poolrun status` shows as the one-shot command's SIGUSR1
 * does: "counts" by final status, and the tasks that wait, in the
 * service's heap or the pool's queue, or to run again. */
static void
status_counts(struct pr_buf *b, struct svc_queue *q)
{
    struct pr_status_counts c;
    int s;

    pr_status_counts_of(&c, q->pool);
    pr_buf_appendf(b, "\"queued\":%llu,\"retrying\":%llu,\"counts\":{",
                   (unsigned long long)(c.queued + q->nheap),
                   (unsigned long long)c.retrying);
    for (s = 0; s < PR_TASK_STATUS_COUNT; s++)
        pr_buf_appendf(b, "%s\"%s\":%llu", s > 0 ? "," : "",
                       pr_task_status_name((enum pr_task_status)s),
                       (unsigned long long)c.by_status[s]);
    pr_buf_append(b, "}", 1);
}

static void
status_queue(struct pr_buf *b, struct svc_queue *q)
{
    const struct pr_batch *batch = pr_pool_batch(q->pool);
    const struct pr_batch_tally *t = &batch->tally;

    pr_buf_append(b, "{", 1);
    append_key_string(b, "name", q->name);
    pr_buf_appendf(b,
                   ",\"jobs\":%u,\"unfinished\":%llu,\"total\":%llu,"
                   "\"ok\":%llu,\"failed\":%llu,\"running\":[",
                   pr_pool_jobs(q->pool),
                   (unsigned long long)pr_batch_unfinished(batch),
                   (unsigned long long)t->total, (unsigned long long)t->ok,
                   (unsigned long long)t->failed);
    pr_pool_each_running(q->pool, status_task, b);
    pr_buf_appendf(b, "],\"paused\":[");
    status_paused(b, q);
    pr_buf_append(b, "],", 2);
    status_counts(b, q);
    pr_buf_append(b, "}", 1);
}

static void
do_status(struct client *c, const struct pr_json *msg)
{
    const char *only = member_string(msg, "queue", NULL);
    struct pr_buf b = {0};
    struct pr_list *n;
    int first = 1;

    pr_buf_appendf(&b, "{\"ok\":true,\"pid\":%d,\"queues\":[", (int)getpid());
    for (n = c->svc->queues.next; n != &c->svc->queues; n = n->next) {
        struct svc_queue *q = PR_CONTAINER_OF(n, struct svc_queue, node);

        if (only != NULL && strcmp(only, q->name) != 0)
            continue;
        if (!first)
            pr_buf_append(&b, ",", 1);
        first = 0;
        status_queue(&b, q);
    }
    pr_buf_append(&b, "]}", 2);
    reply(c, &b);
}

/* --- join --------------------------------------------------------------- */

static void
on_join(void *data)
{
    struct request *r = data;
    const struct pr_batch_tally *now = &pr_pool_batch(r->q->pool)->tally;
    struct pr_buf b = {0};

    /* Over every task put so far, which is what join waited for: as the
     * one-shot command's status is over all of its tasks. */
    pr_buf_appendf(&b,
                   "{\"ok\":true,\"total\":%llu,\"failed\":%llu,"
                   "\"last_code\":%d,\"max_code\":%d}",
                   (unsigned long long)now->total,
                   (unsigned long long)now->failed, now->last_code,
                   now->max_code);
    reply(r->c, &b);
    request_end(r);
}

static void
do_join(struct client *c, const struct pr_json *msg)
{
    const char *name = member_string(msg, "queue", "default");
    struct svc_queue *q = queue_find(c->svc, name);
    struct request *r;

    if (q == NULL) {
        /* A queue nobody put to has nothing unfinished. */
        struct pr_buf b = {0};

        pr_buf_appendf(&b, "{\"ok\":true,\"total\":0,\"failed\":0}");
        reply(c, &b);
        return;
    }
    r = request_new(c, REQ_JOIN);
    r->q = q;
    request_timeout(r, member_number(msg, "timeout"));
    pr_batch_join(pr_pool_batch(q->pool), &r->waiter, on_join, r);
}

/* --- wait --------------------------------------------------------------- */

static void
wait_reply(struct request *r)
{
    struct pr_buf b = {0};
    size_t i;

    pr_buf_appendf(&b, "{\"ok\":true,\"tasks\":[");
    for (i = 0; i < r->ntasks; i++) {
        const struct svc_task *t = r->tasks[i];

        if (i > 0)
            pr_buf_append(&b, ",", 1);
        pr_buf_append(&b, "{", 1);
        append_key_string(&b, "id", TID(t));
        pr_buf_append(&b, ",", 1);
        append_key_string(&b, "status", pr_task_status_name(t->status));
        pr_buf_appendf(&b, ",\"code\":%d}", t->code);
    }
    pr_buf_append(&b, "]}", 2);
    reply(r->c, &b);
    request_end(r);
}

static void
wait_task_done(struct svc_task *t)
{
    while (t->x != NULL && !pr_list_empty(&t->x->waits)) {
        struct wait_ref *ref =
            PR_CONTAINER_OF(t->x->waits.next, struct wait_ref, node);
        struct request *r = ref->req;

        pr_list_remove(&ref->node);
        ref->node.next = NULL;
        if (--r->left == 0)
            wait_reply(r);
    }
}

static void
do_wait(struct client *c, const struct pr_json *msg)
{
    const struct pr_json *ids = pr_json_member(msg, "ids");
    const struct pr_json *v;
    struct request *r;
    size_t n = 0;

    if (pr_json_type(ids) != PR_JSON_ARRAY || pr_json_count(ids) == 0) {
        reply_error(c, "wait: no task ids");
        return;
    }
    for (v = pr_json_first(ids); v != NULL; v = pr_json_next(v)) {
        const char *id;

        if (pr_json_get_string(v, &id) != 0 || id_get(c->svc, id) == NULL) {
            char msg_[256];

            snprintf(msg_, sizeof(msg_), "wait: no task %.200s",
                     pr_json_get_string(v, &id) == 0 ? id : "(not a string)");
            reply_error(c, msg_);
            return;
        }
    }
    r = request_new(c, REQ_WAIT);
    r->ntasks = pr_json_count(ids);
    r->tasks = pr_xcalloc(r->ntasks, sizeof(*r->tasks));
    r->refs = pr_xcalloc(r->ntasks, sizeof(*r->refs));
    for (v = pr_json_first(ids); v != NULL; v = pr_json_next(v), n++) {
        const char *id;

        pr_json_get_string(v, &id);
        r->tasks[n] = id_get(c->svc, id);
        r->refs[n].req = r;
        if (!r->tasks[n]->done) {
            pr_list_insert_before(&links(r->tasks[n])->waits, &r->refs[n].node);
            r->left++;
        }
    }
    request_timeout(r, member_number(msg, "timeout"));
    if (r->left == 0)
        wait_reply(r);
}

/* --- --after ------------------------------------------------------------ */

/* The task may go: on its queue now (recorded skipped if a dependency it
 * needed to succeed did not). */
static void
release(struct svc_task *t)
{
    /* A queue that is stopping takes nothing: it stays held (the journal
     * has it for the next service), but no longer holds the queue's join. */
    if (t->q->stopped) {
        uncount(t);
        return;
    }
    t->held = 0;
    pr_list_remove(&t->x->held_node);
    waiting_push(t->q, t);
    feed(t->q);
}

/* A dependency ended while its pool was recording it: what it freed goes
 * at the end of this loop turn, outside the pool's own calls. */
static void
release_later(struct pr_service *s, struct svc_task *t)
{
    pr_list_insert_before(&s->released, &links(t)->released);
    uv_check_start(&s->sync_check, on_turn_end);
}

static void
after_done(struct pr_service *s, struct svc_task *parent)
{
    while (parent->x != NULL && !pr_list_empty(&parent->x->dependents)) {
        struct after_edge *e = PR_CONTAINER_OF(parent->x->dependents.next,
                                               struct after_edge, node);
        struct svc_task *child = e->child;

        pr_list_remove(&e->node);
        if (parent->status != PR_TASK_OK && !e->any && child->skip == SKIP_NONE)
            child->skip = SKIP_AFTER;
        free(e);
        if (--child->x->blocking == 0)
            release_later(s, child);
    }
}

/* Links t to the tasks it runs after; returns 1 if it may go now. */
static int
wire_after(struct pr_service *s, struct svc_task *t)
{
    struct svc_links *x = t->x;
    unsigned i;

    for (i = 0; x != NULL && i < x->nafter; i++) {
        struct svc_task *parent = id_get(s, x->after[i].id);
        struct after_edge *e;

        if (parent == NULL)
            continue; /* checked at submit; gone only by compaction */
        if (parent->done) {
            if (parent->status != PR_TASK_OK && !x->after[i].any &&
                t->skip == SKIP_NONE)
                t->skip = SKIP_AFTER;
            continue;
        }
        e = pr_xcalloc(1, sizeof(*e));
        e->child = t;
        e->any = x->after[i].any;
        pr_list_insert_before(&links(parent)->dependents, &e->node);
        x->blocking++;
    }
    return x == NULL || x->blocking == 0;
}

/* A new task waits (fed to its pool by the caller's feed) or is held by
 * --after; either way it counts as unfinished in its queue's join. */
static void
put_or_hold(struct pr_service *s, struct svc_task *t)
{
    t->counted = 1;
    pr_batch_add(pr_pool_batch(t->q->pool));
    if (wire_after(s, t)) {
        waiting_push(t->q, t);
        return;
    }
    t->held = 1;
    pr_list_insert_before(&s->held, &t->x->held_node);
}

/* The submit's --after list, copied to each of its tasks. */
static void
copy_after(struct svc_task *t, const struct pr_json *after)
{
    const struct pr_json *v;
    struct svc_links *x;
    unsigned n = 0;

    if (pr_json_count(after) == 0)
        return;
    x = links(t);
    x->nafter = (unsigned)pr_json_count(after);
    x->after = pr_xcalloc(x->nafter, sizeof(*x->after));
    for (v = pr_json_first(after); v != NULL; v = pr_json_next(v), n++) {
        x->after[n].id = pr_xstrdup(member_string(v, "id", ""));
        pr_json_get_bool(pr_json_member(v, "any"), &x->after[n].any);
    }
}

/* Every task named in --after exists.  Returns NULL or the message. */
static const char *
check_after(struct pr_service *s, const struct pr_json *after, char *buf,
            size_t n)
{
    const struct pr_json *v;

    for (v = pr_json_first(after); v != NULL; v = pr_json_next(v)) {
        const char *id = member_string(v, "id", "");

        if (id_get(s, id) == NULL) {
            snprintf(buf, n, "--after %.200s: no such task", id);
            return buf;
        }
    }
    return NULL;
}

/* --- the journal ------------------------------------------------------- */

/* Final records are written at the end of their loop turn, where the
 * service's own crash cannot lose them, and synced a second later (or by
 * the next submit's sync): a crash of the machine in between runs those
 * tasks again, as it would a task it ended while running.  One fdatasync
 * per task end would cost a quick task a fifth of its time. */
static void
on_sync_timer(uv_timer_t *timer)
{
    struct pr_service *s = timer->data;
    int rc = s->journal != NULL ? pr_journal_sync(s->journal) : 0;

    if (rc != 0 && s->journal_error == 0)
        s->journal_error = rc;
}

static void maybe_compact(struct pr_service *s);

/* The end of a loop turn: this turn's final records are written, then the
 * tasks they freed (--after) go, and the pools that have room are fed;
 * last, the journal is compacted if finished records dominate it (here,
 * where no pool is in the middle of a call). */
static void
on_turn_end(uv_check_t *h)
{
    struct pr_service *s = h->data;
    int rc = s->journal != NULL ? pr_journal_write(s->journal) : 0;
    struct pr_list *n;

    if (rc != 0 && s->journal_error == 0)
        s->journal_error = rc;
    if (s->journal != NULL && pr_journal_unsynced(s->journal) &&
        !uv_is_active((uv_handle_t *)&s->sync_timer))
        uv_timer_start(&s->sync_timer, on_sync_timer, 1000, 0);
    uv_check_stop(h);
    while (!pr_list_empty(&s->released)) {
        struct svc_task *t =
            PR_CONTAINER_OF(s->released.next, struct svc_links, released)->t;

        pr_list_remove(&t->x->released);
        release(t);
    }
    while (s->nunref > 0)
        group_unref(s->unref[--s->nunref]);
    for (n = s->queues.next; n != &s->queues; n = n->next)
        feed(PR_CONTAINER_OF(n, struct svc_queue, node));
    maybe_compact(s);
}

/* A task's final record goes to the journal, written at the end of this
 * loop turn with every other one of the turn. */
static void
journal_final(struct pr_service *s, const struct svc_task *t)
{
    struct pr_buf b = {0};

    if (s->journal == NULL)
        return;
    pr_buf_append(&b, "{", 1);
    append_key_string(&b, "id", TID(t));
    pr_buf_append(&b, ",", 1);
    append_key_string(&b, "status", pr_task_status_name(t->status));
    pr_buf_appendf(&b, ",\"code\":%d}", t->code);
    if (pr_journal_append(s->journal, REC_FINAL, b.data, b.len) == 0) {
        uv_check_start(&s->sync_check, on_turn_end);
        /* Compaction writes the task as a few bytes of a REC_DONE. */
        pr_journal_forget(s->journal, PR_JOURNAL_RECORD_SIZE(b.len));
    }
    pr_buf_free(&b);
}

static void
start_record(struct pr_buf *b, const char *id, unsigned attempt)
{
    pr_buf_append(b, "{", 1);
    append_key_string(b, "id", id);
    pr_buf_appendf(b, ",\"attempt\":%u}", attempt);
}

/* The bytes the journal's start record of that attempt takes: computed
 * again when it is superseded, rather than kept per task. */
static uint64_t
start_size(const char *id, unsigned attempt)
{
    struct pr_buf b = {0};
    uint64_t n;

    start_record(&b, id, attempt);
    n = PR_JOURNAL_RECORD_SIZE(b.len);
    pr_buf_free(&b);
    return n;
}

/* The task ended after `attempt` attempts (or after those a service
 * before this one began): its last start record is superseded. */
static void
forget_start(struct pr_service *s, const struct svc_task *t, unsigned attempt)
{
    if (t->x != NULL && t->x->earlier > attempt)
        attempt = t->x->earlier;
    if (s->journal != NULL && attempt > 0)
        pr_journal_forget(s->journal, start_size(TID(t), attempt));
}

/*
 * An attempt of the task began: so that a service started after a crash
 * with --start-paused knows which tasks were running.  The record makes no
 * promise to a client, so it gets no fdatasync of its own (one per task
 * started would cost as much as every submit's): it is written to the file
 * at the end of this loop turn and made durable by the next sync (a
 * submit's, a final record's).  Written, it survives the service's own
 * death (kill -9, a crash), which is what --start-paused is about.  Only a
 * crash of the machine before that sync can lose it; the task then runs
 * again as a new attempt, as it does without --start-paused: the option
 * holds a task only when the journal knows it began, never less than that.
 */
static void
journal_start(struct pr_service *s, const struct svc_task *t, unsigned attempt)
{
    struct pr_buf b = {0};

    if (s->journal == NULL)
        return;
    start_record(&b, TID(t), attempt);
    if (pr_journal_append(s->journal, REC_START, b.data, b.len) == 0) {
        uv_check_start(&s->sync_check, on_turn_end);
        /* Only the last attempt's start counts. */
        if (attempt > 1)
            pr_journal_forget(s->journal, start_size(TID(t), attempt - 1));
    }
    pr_buf_free(&b);
}

static enum pr_task_status
status_named(const char *name)
{
    int i;

    for (i = 0; i < PR_TASK_STATUS_COUNT; i++)
        if (strcmp(name, pr_task_status_name((enum pr_task_status)i)) == 0)
            return (enum pr_task_status)i;
    return PR_TASK_FAILED;
}

static int
replay_final(struct pr_service *s, const struct pr_json *rec)
{
    struct svc_task *t = id_get(s, member_string(rec, "id", ""));

    if (t == NULL)
        return 0; /* a record of a task compacted away */
    if (t->x != NULL && t->x->earlier > 0)
        s->replay_dead += start_size(TID(t), t->x->earlier);
    t->done = 1;
    t->status = status_named(member_string(rec, "status", ""));
    t->code = (int)member_number(rec, "code");
    return 0;
}

/* The last attempt the journal saw begin, for a task not ended. */
static int
replay_start(struct pr_service *s, const struct pr_json *rec)
{
    struct svc_task *t = id_get(s, member_string(rec, "id", ""));
    double attempt = member_number(rec, "attempt");

    if (t != NULL && !t->done && attempt < 1e9 &&
        (t->x != NULL ? t->x->earlier : 0) < attempt) {
        if (t->x != NULL && t->x->earlier > 0)
            s->replay_dead += start_size(TID(t), t->x->earlier);
        links(t)->earlier = (unsigned)attempt;
    }
    return 0;
}

static int
replay_submit(struct pr_service *s, const struct pr_json *rec,
              struct pr_json_doc **doc)
{
    struct submit sb;
    struct pr_diag d;
    struct svc_queue *q;
    const char *err = NULL;
    uint64_t before;

    read_submit(s, rec, &sb);
    sb.doc = doc;
    if (parse_tasks(NULL, &sb, &d) != 0 ||
        (q = queue_get(s, sb.queue, &err)) == NULL) {
        free_tasks(&sb);
        free(sb.env);
        return UV_EINVAL;
    }
    /* The numbers it gave; but a compacted journal may hold it after
     * finished tasks numbered past it: the service's next number never
     * goes back. */
    before = s->next_id;
    s->next_id = sb.next;
    assign_ids(s, &sb);
    if (s->next_id < before)
        s->next_id = before;
    if (sb.jobs != 0)
        pr_pool_set_jobs(q->pool, sb.jobs);
    adopt_all(s, q, &sb);
    free(sb.env);
    return 0;
}

/* A finished task of a compacted journal: [id, status, code].  Made bare
 * (no group, no line), or, if a submit written again made it, ended. */
static int
replay_done_task(struct pr_service *s, struct svc_queue *q,
                 const struct pr_json *v)
{
    const struct pr_json *e = pr_json_first(v);
    const char *id, *status;
    struct svc_task *t;
    double code;

    if (pr_json_count(v) != 3 || pr_json_get_string(e, &id) != 0 ||
        pr_json_get_string(pr_json_next(e), &status) != 0 ||
        pr_json_get_number(pr_json_next(pr_json_next(e)), &code) != 0)
        return UV_EINVAL;
    if ((t = id_get(s, id)) == NULL) {
        struct idkey k = key_of(id);

        t = store_new(&s->tasks);
        /* A number reads back as the service wrote it: its own number. */
        if (k.is_num && strcmp(id, "0") != 0) {
            t->id.num = k.num;
        } else {
            t->id.name = pr_xstrdup(id);
            t->own_id = 1;
        }
        t->q = q;
        id_put(s, t);
        note_id(s, t);
    }
    t->done = 1;
    t->status = status_named(status);
    t->code = code >= 0 && code <= 255 ? (uint8_t)code : 255;
    return 0;
}

static int
replay_done(struct pr_service *s, const struct pr_json *rec)
{
    const char *err = NULL;
    struct svc_queue *q =
        queue_get(s, member_string(rec, "queue", "default"), &err);
    double jobs = member_number(rec, "jobs");
    double next = member_number(rec, "next");
    const struct pr_json *v;
    int rc = 0;

    if (q == NULL)
        return UV_EINVAL;
    if (jobs >= 1 && jobs <= UINT32_MAX)
        pr_pool_set_jobs(q->pool, (unsigned)jobs);
    if (next > (double)s->next_id)
        s->next_id = (uint64_t)next;
    v = pr_json_first(pr_json_member(rec, "tasks"));
    for (; rc == 0 && v != NULL; v = pr_json_next(v))
        rc = replay_done_task(s, q, v);
    return rc;
}

static int
replay(void *data, int type, const void *payload, size_t len)
{
    struct pr_service *s = data;
    struct pr_json_doc *doc = NULL;
    struct pr_json_error jerr;
    int rc;

    /* Records lie back to back after the file header: where a submit's
     * group finds its record for compaction. */
    s->sub_off = s->replay_off;
    s->sub_len = (uint32_t)len;
    s->replay_off += PR_JOURNAL_RECORD_SIZE(len);
    if (pr_json_parse_strict(payload, len, &doc, &jerr) != 0)
        return UV_EINVAL;
    if (type == REC_SUBMIT)
        rc = replay_submit(s, pr_json_root(doc), &doc);
    else if (type == REC_FINAL)
        rc = replay_final(s, pr_json_root(doc));
    else if (type == REC_START)
        rc = replay_start(s, pr_json_root(doc));
    else if (type == REC_DONE)
        rc = replay_done(s, pr_json_root(doc));
    else
        rc = 0; /* a later version's record: not ours to judge */
    pr_json_free(doc);
    s->sub_len = 0;
    if (type == REC_FINAL)
        s->replay_dead += PR_JOURNAL_RECORD_SIZE(len);
    return rc;
}

/* --start-paused: a task that was running when the service died waits
 * for a resume; it counts as unfinished in its queue's join meanwhile. */
static void
pause_task(struct svc_task *t)
{
    t->held = 1;
    t->paused = 1;
    t->counted = 1;
    pr_list_insert_before(&t->q->svc->held, &t->x->held_node);
    pr_batch_add(pr_pool_batch(t->q->pool));
}

/* After the journal was read: what had no final record runs (again: a
 * task that was running when the service died is a new attempt, or with
 * --start-paused waits for a resume; one that never began runs). */
static void
resume_replayed(struct pr_service *s)
{
    struct pr_list *n;
    uint32_t i;

    /* The store holds what the journal made, in its order. */
    for (i = 0; i < s->tasks.n; i++) {
        struct svc_task *t = store_at(&s->tasks, i);

        if (t->done) {
            pr_task_free(t->task); /* a job file's, made at submit */
            t->task = NULL;
            group_unref(t->g);
            t->g = NULL;
        } else if (t->x != NULL && t->x->earlier > 0 && s->cfg.start_paused) {
            pause_task(t);
        } else {
            t->rerun = 1;
            put_or_hold(s, t);
        }
    }
    for (n = s->queues.next; n != &s->queues; n = n->next)
        feed(PR_CONTAINER_OF(n, struct svc_queue, node));
}

/* --- compaction ------------------------------------------------------- */

/* Below this size a journal is never compacted (serve's compact_min, from
 * POOLRUN_COMPACT_MIN, overrides it: the tests' knob). */
#define COMPACT_MIN_DEFAULT (1u << 20)
/* Finished tasks per REC_DONE record: about 100 KiB each. */
#define DONE_CHUNK 4096

/*
 * A compacted journal holds, in order: a REC_DONE naming each queue (so
 * that they come back in their order); the submit record of each group
 * that still has a task without its final record, copied as it is, in
 * submit order (its tasks get the same ids again: they come from the
 * record's "next"); the start record of each such task that began an
 * attempt; and per queue, REC_DONE records of its finished tasks, with
 * the queue's -j (after the submits, whose own "jobs" may be older) and
 * the service's last number.
 */
struct compact {
    struct pr_service *s;
    struct pr_journal *w;
    struct pr_buf b;
    uint64_t *offs;         /* each group's submit record in the new file */
    struct svc_task **done; /* the finished tasks */
    size_t ndone;
};

static int
emit_record(struct compact *c, int type)
{
    int rc = pr_journal_append(c->w, type, c->b.data, c->b.len);

    c->b.len = 0;
    return rc;
}

static void
done_head(struct compact *c, const struct svc_queue *q, int full)
{
    pr_buf_append(&c->b, "{", 1);
    append_key_string(&c->b, "queue", q->name);
    pr_buf_appendf(&c->b, ",\"next\":%llu", (unsigned long long)c->s->next_id);
    if (full)
        pr_buf_appendf(&c->b, ",\"jobs\":%u", pr_pool_jobs(q->pool));
    pr_buf_appendf(&c->b, ",\"tasks\":[");
}

static void
done_task(struct pr_buf *b, const struct svc_task *t, int first)
{
    const char *id = TID(t);

    pr_buf_append(b, first ? "[" : ",[", first ? 1 : 2);
    pr_json_append_string(b, id, strlen(id));
    pr_buf_append(b, ",", 1);
    pr_json_append_string(b, pr_task_status_name(t->status),
                          strlen(pr_task_status_name(t->status)));
    pr_buf_appendf(b, ",%d]", t->code);
}

/* One REC_DONE per queue (full: with its -j and its finished tasks, in
 * as many records as DONE_CHUNK asks). */
static int
emit_queue(struct compact *c, const struct svc_queue *q, int full)
{
    size_t i, n = 0;
    int rc;

    done_head(c, q, full);
    for (i = 0; full && i < c->ndone; i++) {
        if (c->done[i]->q != q)
            continue;
        if (n == DONE_CHUNK) {
            pr_buf_append(&c->b, "]}", 2);
            if ((rc = emit_record(c, REC_DONE)) != 0)
                return rc;
            done_head(c, q, full);
            n = 0;
        }
        done_task(&c->b, c->done[i], n++ == 0);
    }
    pr_buf_append(&c->b, "]}", 2);
    return emit_record(c, REC_DONE);
}

static int
emit_queues(struct compact *c, int full)
{
    struct pr_list *n;
    int rc = 0;

    for (n = c->s->queues.next; rc == 0 && n != &c->s->queues; n = n->next)
        rc = emit_queue(c, PR_CONTAINER_OF(n, struct svc_queue, node), full);
    return rc;
}

/* Each group with tasks: its submit record, read back from the journal. */
static int
emit_groups(struct compact *c)
{
    struct pr_list *n;
    size_t i = 0;
    int rc = 0;

    for (n = c->s->groups.next; rc == 0 && n != &c->s->groups; n = n->next) {
        struct svc_group *g = PR_CONTAINER_OF(n, struct svc_group, node);

        if (g->rec_len == 0)
            return UV_EINVAL; /* not in the journal: nothing to copy */
        pr_buf_reserve(&c->b, g->rec_len);
        rc = pr_journal_read(c->s->journal, g->rec_off, REC_SUBMIT, c->b.data,
                             g->rec_len);
        c->b.len = g->rec_len;
        c->offs[i++] = pr_journal_end(c->w);
        if (rc == 0)
            rc = emit_record(c, REC_SUBMIT);
    }
    c->b.len = 0;
    return rc;
}

/* The start records of the tasks that began an attempt and have not
 * ended; the finished tasks are gathered for emit_queue. */
static int
emit_starts(struct compact *c)
{
    const struct store *st = &c->s->tasks;
    uint32_t i;
    int rc = 0;

    for (i = 0; rc == 0 && i < st->n; i++) {
        struct svc_task *t = store_at(st, i);
        struct idtext ib;
        unsigned attempt;

        if (t->done) {
            c->done[c->ndone++] = t;
            continue;
        }
        attempt = (t->task != NULL ? t->task->attempt : 0) +
                  (t->x != NULL ? t->x->earlier : 0);
        if (attempt == 0)
            continue;
        start_record(&c->b, tid(t, &ib), attempt);
        rc = emit_record(c, REC_START);
    }
    return rc;
}

static int
compact_emit(void *data, struct pr_journal *w)
{
    struct compact *c = data;
    int rc;

    c->w = w;
    if ((rc = emit_queues(c, 0)) == 0 && (rc = emit_groups(c)) == 0 &&
        (rc = emit_starts(c)) == 0)
        rc = emit_queues(c, 1);
    return rc;
}

/* The group is the service's, with the submit record just written (or
 * being read back), if any. */
static void
group_track(struct pr_service *s, struct svc_group *g)
{
    g->svc = s;
    g->rec_off = s->sub_off;
    g->rec_len = s->sub_len;
    s->sub_len = 0;
    pr_list_insert_before(&s->groups, &g->node);
}

/* Its last task has its final record: its submit record is superseded. */
static void
group_gone(struct svc_group *g)
{
    struct pr_service *s = g->svc;
    uint64_t n = g->rec_len ? PR_JOURNAL_RECORD_SIZE(g->rec_len) : 0;

    if (g->node.next != NULL)
        pr_list_remove(&g->node);
    if (s == NULL)
        return;
    if (s->journal != NULL)
        pr_journal_forget(s->journal, n);
    else
        s->replay_dead += n;
}

/* Compacts the journal once it is past its floor and what is superseded
 * (final records, their starts, the submits of ended groups) is more
 * than half of it: the new journal's size is then at most the half that
 * is live plus a few bytes per finished task, so compactions come ever
 * further apart as a journal grows. */
static void
maybe_compact(struct pr_service *s)
{
    struct pr_journal_stats st, after;
    struct compact c = {.s = s};
    struct pr_list *n;
    size_t ngroups = 0, i = 0;
    int rc;

    if (s->journal == NULL)
        return;
    pr_journal_stats(s->journal, &st);
    if (st.total_bytes < s->compact_min || st.total_bytes < s->compact_retry ||
        st.live_bytes >= st.total_bytes / 2)
        return;
    /* What is queued first, with its error kept as the sync timer's is
     * (compaction's own failures leave the journal as it was). */
    if ((rc = pr_journal_sync(s->journal)) != 0) {
        if (s->journal_error == 0)
            s->journal_error = rc;
        return;
    }
    for (n = s->groups.next; n != &s->groups; n = n->next)
        ngroups++;
    c.offs = pr_xcalloc(ngroups + 1, sizeof(*c.offs));
    c.done = pr_xcalloc(s->tasks.n + 1, sizeof(*c.done));
    rc = pr_journal_compact(s->journal, compact_emit, &c);
    pr_journal_stats(s->journal, &after);
    /* Only a rename resets what was forgotten: the new file is in use
     * (after an error too, when only the folder's fsync failed). */
    if (after.live_bytes == after.total_bytes) {
        for (n = s->groups.next; n != &s->groups; n = n->next)
            PR_CONTAINER_OF(n, struct svc_group, node)->rec_off = c.offs[i++];
        s->compact_retry = 0;
    } else {
        /* A full disk: the old journal stays, and is tried again only once
         * it has grown by half. */
        s->compact_retry = st.total_bytes + st.total_bytes / 2;
    }
    if (rc != 0 && after.live_bytes == after.total_bytes &&
        s->journal_error == 0)
        s->journal_error = rc; /* every sync fails until the folder's does */
    pr_buf_free(&c.b);
    free(c.offs);
    free(c.done);
}

/* --- log ---------------------------------------------------------------- */

/* Appends what keep_stream kept of the task's stream to data. */
static void
read_kept(struct pr_service *s, const char *id, int stream, struct pr_buf *data)
{
    char path[4096];
    char chunk[65536];
    ssize_t n;
    int fd;

    if (s->cfg.state_dir == NULL)
        return;
    output_path(s, id, stream, path, sizeof(path));
    fd = open(path, O_RDONLY | O_CLOEXEC);
    while (fd >= 0 && (n = read(fd, chunk, sizeof(chunk))) > 0)
        pr_buf_append(data, chunk, (size_t)n);
    if (fd >= 0)
        close(fd);
}

static void do_follow(struct client *c, struct svc_task *t);

static void
do_log(struct client *c, const struct pr_json *msg)
{
    const char *id = member_string(msg, "id", "");
    struct svc_task *t = id_get(c->svc, id);
    int follow = 0;

    if (t == NULL) {
        reply_error(c, "log: no such task");
        return;
    }
    pr_json_get_bool(pr_json_member(msg, "follow"), &follow);
    if (!follow && !t->done) {
        reply_error(c, "log: the task has not ended: its output is kept "
                       "once it has");
        return;
    }
    /* An ended task's output is sent as a follower gets it, so every byte
     * comes back as it was written (JSON strings carry only UTF-8). */
    do_follow(c, t);
}

/* --- following a task's output: log --follow, submit --wait ----------- */

/* A follow is answered by frames {"stream": 1 or 2, "base64": bytes} (the
 * output is bytes, JSON is text), {"stream", "skipped": N, "why"} where
 * bytes were left out, and a final {"ok": true, "id", "status", "code"}
 * once the task has its final record. */

/* What may wait, framed, for one follower: past it, the task's bytes are
 * skipped until half of it has gone out, then a "skipped" frame says how
 * many.  The task never waits for a reader, and a reader that stopped
 * costs the service this much and no more. */
#define FOLLOW_QUEUE_MAX ((size_t)4 << 20)
/* Output bytes per frame, when the service cuts them (kept files). */
#define FOLLOW_CHUNK  ((size_t)48 << 10)
#define FOLLOW_BEHIND "more than 4 MiB waited for this reader (it fell behind)"
#define FOLLOW_UNKEPT                                                          \
    "written before this follow began, and not kept (serve -u, "               \
    "--line-buffer, -k or --tag)"

/* May a frame of n output bytes go to r now?  Else they are skipped. */
static int
follow_room(struct request *r, size_t n)
{
    size_t queued = uv_stream_get_write_queue_size((uv_stream_t *)&r->c->pipe);
    size_t framed = n / 3 * 4 + 64;

    if (r->skipping && queued <= FOLLOW_QUEUE_MAX / 2)
        r->skipping = 0;
    if (!r->skipping && queued + framed > FOLLOW_QUEUE_MAX)
        r->skipping = 1;
    return !r->skipping;
}

static void
follow_skipped(struct request *r, int stream, uint64_t n, const char *why)
{
    struct pr_buf b = {0};

    pr_buf_appendf(&b, "{\"stream\":%d,\"skipped\":%llu,", stream,
                   (unsigned long long)n);
    append_key_string(&b, "why", why);
    pr_buf_append(&b, "}", 1);
    reply(r->c, &b);
}

/* What was skipped since the last frame, before the next one. */
static void
follow_gaps(struct request *r)
{
    int i;

    for (i = 0; i < 2; i++)
        if (r->skipped[i] > 0) {
            follow_skipped(r, i + 1, r->skipped[i], FOLLOW_BEHIND);
            r->skipped[i] = 0;
        }
}

static void
data_frame(struct pr_buf *b, int stream, const char *p, size_t n)
{
    pr_buf_appendf(b, "{\"stream\":%d,\"base64\":\"", stream);
    pr_base64_encode(b, p, n);
    pr_buf_append(b, "\"}", 2);
}

/* Output to r in frames of FOLLOW_CHUNK; `bounded`: as far as there is
 * room (else all of it, as much as `log` would send). */
static void
follow_bytes(struct request *r, int stream, const char *p, size_t n,
             int bounded)
{
    size_t at, k;

    for (at = 0; at < n; at += k) {
        struct pr_buf b = {0};

        k = n - at < FOLLOW_CHUNK ? n - at : FOLLOW_CHUNK;
        if (bounded && !follow_room(r, k)) {
            r->skipped[stream - 1] += k;
            continue;
        }
        follow_gaps(r);
        data_frame(&b, stream, p + at, k);
        reply(r->c, &b);
    }
}

/* The pool's on_output: each chunk a task writes goes to its followers
 * as it comes, encoded once for all of them. */
static void
follow_output(void *data, const struct pr_task *task, int stream, const char *p,
              size_t n)
{
    struct svc_task *t = task->src;
    struct pr_buf b = {0};
    struct request *r;

    (void)data;
    if (t == NULL || n == 0 || t->x == NULL)
        return;
    for (r = t->x->followers; r != NULL; r = r->next_follower) {
        if (!follow_room(r, n)) {
            r->skipped[stream - 1] += n;
            continue;
        }
        follow_gaps(r);
        if (b.len == 0)
            data_frame(&b, stream, p, n);
        send_frame(r->c, b.data, b.len);
    }
    pr_buf_free(&b);
}

/* What a running task has written so far, from its captures: then the
 * pool's on_output has every later byte, none twice.  The captures hold
 * it all only with grouped output (the default), and not for -k's oldest
 * task, whose output went out as it came, nor with --tag. */
static void
follow_catch_up(struct request *r, const struct pr_task *task, int stream)
{
    const struct pr_capture *c = stream == 1 ? &task->out : &task->err;
    const struct pr_pool_config *cfg = &r->c->svc->cfg.pool;
    struct pr_buf b = {0};
    uint64_t held = c->spill_fd >= 0 ? c->spilled + c->mem.len : c->mem.len;

    if (cfg->output.mode != PR_OUT_GROUP || task->streaming ||
        task->tag != NULL) {
        if (c->total > 0)
            follow_skipped(r, stream, c->total, FOLLOW_UNKEPT);
        return;
    }
    /* Never read more than may wait for the follower. */
    pr_capture_head(c, &b,
                    held < FOLLOW_QUEUE_MAX / 4 * 3 ? (size_t)held
                                                    : FOLLOW_QUEUE_MAX / 4 * 3);
    follow_bytes(r, stream, b.data, b.len, 1);
    /* Past the head read, and what a full disk lost (c->lost). */
    r->skipped[stream - 1] += c->total - b.len;
    pr_buf_free(&b);
}

static void
follow_final(struct client *c, const struct svc_task *t)
{
    struct pr_buf b = {0};

    pr_buf_appendf(&b, "{\"ok\":true,");
    append_key_string(&b, "id", TID(t));
    pr_buf_append(&b, ",", 1);
    append_key_string(&b, "status", pr_task_status_name(t->status));
    pr_buf_appendf(&b, ",\"code\":%d}", t->code);
    reply(c, &b);
}

/* A finished task: what is kept of it, as `log` sends it, then its end. */
static void
follow_kept(struct client *c, struct svc_task *t)
{
    struct request r = {0};
    int stream;

    r.c = c;
    for (stream = 1; stream <= 2; stream++) {
        struct pr_buf data = {0};

        read_kept(c->svc, TID(t), stream, &data);
        follow_bytes(&r, stream, data.data, data.len, 0);
        pr_buf_free(&data);
    }
    follow_final(c, t);
}

static void
do_follow(struct client *c, struct svc_task *t)
{
    struct request *r;

    if (t->done) {
        follow_kept(c, t);
        return;
    }
    r = request_new(c, REQ_FOLLOW);
    r->followed = t;
    r->next_follower = links(t)->followers;
    t->x->followers = r;
    /* A task still queued has written nothing yet. */
    if (t->task != NULL) {
        follow_catch_up(r, t->task, 1);
        follow_catch_up(r, t->task, 2);
    }
}

/* The task has its final record: each follower gets what it missed, then
 * the end. */
static void
follow_end(struct svc_task *t)
{
    while (t->x != NULL && t->x->followers != NULL) {
        struct request *r = t->x->followers;

        follow_gaps(r);
        follow_final(r->c, t);
        request_end(r); /* unfollow: takes it off the list */
    }
}

static void
unfollow(struct request *r)
{
    struct request **at = &r->followed->x->followers;

    while (*at != NULL && *at != r)
        at = &(*at)->next_follower;
    if (*at == r)
        *at = r->next_follower;
    r->next_follower = NULL;
}

/* --- cancel and close -------------------------------------------------- */

/* A cancelled task still running after the grace gets SIGKILL. */
struct kill_later {
    uv_timer_t timer;
    struct pr_list node;
    struct pr_service *s;
    char *id;
};

static void
on_kill_closed(uv_handle_t *h)
{
    struct kill_later *k = h->data;

    free(k->id);
    free(k);
}

static void
kill_later_close(struct kill_later *k)
{
    pr_list_remove(&k->node);
    uv_close((uv_handle_t *)&k->timer, on_kill_closed);
}

static void
on_kill_later(uv_timer_t *timer)
{
    struct kill_later *k = timer->data;
    struct svc_task *t = id_get(k->s, k->id);

    if (t != NULL && !t->done && t->task != NULL)
        pr_pool_cancel(t->q->pool, t->task, SIGKILL);
    kill_later_close(k);
}

static void
kill_after_grace(struct pr_service *s, const struct svc_task *t)
{
    struct kill_later *k = pr_xcalloc(1, sizeof(*k));

    k->s = s;
    k->id = pr_xstrdup(TID(t));
    uv_timer_init(s->loop, &k->timer);
    k->timer.data = k;
    pr_list_insert_before(&s->kills, &k->node);
    uv_timer_start(&k->timer, on_kill_later,
                   pr_seconds_to_ms(s->cfg.pool.kill_after), 0);
}

/* A task not in its pool, cancelled: recorded skipped at once. */
static void
skip_now(struct svc_task *t)
{
    t->in_pool = 1;
    pr_pool_skip(t->q->pool, make_task(t), "cancelled");
    uncount(t);
}

/* What a cancel did to one task: "cancelled", "stopping" (it was running:
 * SIGTERM now, SIGKILL after the grace) or "ended" (too late). */
static const char *
cancel_one(struct pr_service *s, struct svc_task *t)
{
    int running;

    if (t->done)
        return "ended";
    if (t->held && !t->paused) {
        /* Recorded skipped when its dependencies let it go. */
        t->skip = SKIP_CANCELLED;
        return "cancelled";
    }
    if (t->paused && !t->q->stopped) {
        /* Nothing else would let it go: it is recorded now. */
        t->paused = 0;
        t->held = 0;
        pr_list_remove(&t->x->held_node);
        skip_now(t);
        return "cancelled";
    }
    if (t->waiting) {
        waiting_remove(t->q, t);
        skip_now(t);
        return "cancelled";
    }
    if (!t->in_pool)
        return "not cancelled: its queue is stopping";
    running = t->task->live;
    if (pr_pool_cancel(t->q->pool, t->task, SIGTERM) != 0)
        return "running in a worker: not cancelled";
    if (!running)
        return "cancelled";
    kill_after_grace(s, t);
    return "stopping";
}

static void
do_cancel(struct client *c, const struct pr_json *msg)
{
    const struct pr_json *ids = pr_json_member(msg, "ids");
    const struct pr_json *v;
    struct pr_buf b = {0};
    const char *id;

    for (v = pr_json_first(ids); v != NULL; v = pr_json_next(v))
        if (pr_json_get_string(v, &id) != 0 || id_get(c->svc, id) == NULL) {
            reply_error(c, "cancel: no such task");
            return;
        }
    pr_buf_appendf(&b, "{\"ok\":true,\"tasks\":[");
    for (v = pr_json_first(ids); v != NULL; v = pr_json_next(v)) {
        pr_json_get_string(v, &id);
        if (v != pr_json_first(ids))
            pr_buf_append(&b, ",", 1);
        pr_buf_append(&b, "{", 1);
        append_key_string(&b, "id", id);
        pr_buf_append(&b, ",", 1);
        append_key_string(&b, "result", cancel_one(c->svc, id_get(c->svc, id)));
        pr_buf_append(&b, "}", 1);
    }
    pr_buf_append(&b, "]}", 2);
    reply(c, &b);
}

static void
do_close(struct client *c, const struct pr_json *msg)
{
    struct svc_queue *q =
        queue_find(c->svc, member_string(msg, "queue", "default"));
    struct pr_buf b = {0};

    if (q == NULL) {
        reply_error(c, "close: no such queue");
        return;
    }
    q->no_submits = 1;
    pr_buf_appendf(&b, "{\"ok\":true}");
    reply(c, &b);
}

/* --- resume: what --start-paused holds goes ---------------------------- */

static void
resume_result(struct pr_buf *b, const struct svc_task *t, const char *result)
{
    if (b->data[b->len - 1] != '[')
        pr_buf_append(b, ",", 1);
    pr_buf_append(b, "{", 1);
    append_key_string(b, "id", TID(t));
    pr_buf_append(b, ",", 1);
    append_key_string(b, "result", result);
    pr_buf_append(b, "}", 1);
}

/* Lets go of t; it runs as a new attempt. */
static void
resume_one(struct svc_task *t)
{
    t->paused = 0;
    release(t);
}

/* Every paused task of queue q (NULL: of every queue), in journal order. */
static void
resume_all(struct pr_service *s, const struct svc_queue *q, struct pr_buf *b)
{
    struct pr_list *n = s->held.next;

    while (n != &s->held) {
        struct svc_task *t = PR_CONTAINER_OF(n, struct svc_links, held_node)->t;

        n = n->next; /* release takes t off the list */
        if (!t->paused || (q != NULL && t->q != q))
            continue;
        resume_result(b, t, "resumed");
        resume_one(t);
    }
}

/* {"ids": [...]}, {"queue": Q} or neither (every queue): the tasks named
 * that are paused run; the reply says of each "resumed" or "not paused". */
static void
do_resume(struct client *c, const struct pr_json *msg)
{
    struct pr_service *s = c->svc;
    const struct pr_json *ids = pr_json_member(msg, "ids");
    const char *queue = member_string(msg, "queue", NULL);
    struct svc_queue *q = queue != NULL ? queue_find(s, queue) : NULL;
    const struct pr_json *v;
    struct pr_buf b = {0};
    const char *id;
    char why[256];

    if (s->shutting_down) {
        reply_error(c, "the service is shutting down");
        return;
    }
    if (queue != NULL && q == NULL) {
        snprintf(why, sizeof(why), "no such queue %.200s", queue);
        reply_error(c, why);
        return;
    }
    for (v = pr_json_first(ids); v != NULL; v = pr_json_next(v))
        if (pr_json_get_string(v, &id) != 0 || id_get(s, id) == NULL) {
            snprintf(why, sizeof(why), "no such task %.200s",
                     pr_json_get_string(v, &id) == 0 ? id : "(not a string)");
            reply_error(c, why);
            return;
        }
    pr_buf_appendf(&b, "{\"ok\":true,\"tasks\":[");
    if (pr_json_count(ids) == 0)
        resume_all(s, q, &b);
    for (v = pr_json_first(ids); v != NULL; v = pr_json_next(v)) {
        struct svc_task *t;

        pr_json_get_string(v, &id);
        t = id_get(s, id);
        resume_result(&b, t, t->paused ? "resumed" : "not paused");
        if (t->paused)
            resume_one(t);
    }
    pr_buf_append(&b, "]}", 2);
    reply(c, &b);
}

/* --- shutdown and the end ----------------------------------------------- */

static void client_close(struct client *c);
static void client_hang_up(struct client *c);
static void shutdown_all(struct pr_service *s, int drain, int sig);

static void
on_listener_closed(uv_handle_t *h)
{
    (void)h;
}

/* Every queue has closed: the clients and the listener go, and with them
 * the service's last handles. */
static void
maybe_end(struct pr_service *s)
{
    if (!s->shutting_down || s->open_queues > 0)
        return;
    while (!pr_list_empty(&s->clients))
        client_close(PR_CONTAINER_OF(s->clients.next, struct client, node));
    if (s->listening) {
        s->listening = 0;
        uv_close((uv_handle_t *)&s->listener, on_listener_closed);
    }
    while (!pr_list_empty(&s->kills))
        kill_later_close(
            PR_CONTAINER_OF(s->kills.next, struct kill_later, node));
    if (!uv_is_closing((uv_handle_t *)&s->sync_check)) {
        uv_close((uv_handle_t *)&s->sync_check, on_listener_closed);
        uv_close((uv_handle_t *)&s->sync_timer, on_listener_closed);
    }
    if (s->journal != NULL) {
        pr_journal_close(s->journal);
        s->journal = NULL;
    }
    if (s->cfg.ended != NULL)
        s->cfg.ended(s->cfg.ended_data);
}

/* drain: every queue's tasks finish first; else they are stopped (sig). */
static void
shutdown_all(struct pr_service *s, int drain, int sig)
{
    struct pr_list *n;

    s->shutting_down = 1;
    /* Stopped now: a held task will not run in this service.  Nor does a
     * paused one in a drain, which gives no resume: the journal keeps it. */
    for (n = s->held.next; n != &s->held; n = n->next) {
        struct svc_task *t = PR_CONTAINER_OF(n, struct svc_links, held_node)->t;

        if (!drain || t->paused)
            uncount(t);
    }
    for (n = s->queues.next; n != &s->queues; n = n->next) {
        struct svc_queue *q = PR_CONTAINER_OF(n, struct svc_queue, node);

        if (q->closed)
            continue;
        if (!drain)
            pr_pool_signal(q->pool, sig);
        src_stop(&q->src.base);
    }
    maybe_end(s);
}

static void
do_shutdown(struct client *c, const struct pr_json *msg)
{
    int drain = 0;
    struct pr_buf b = {0};

    pr_json_get_bool(pr_json_member(msg, "drain"), &drain);
    pr_buf_appendf(&b, "{\"ok\":true}");
    reply(c, &b);
    shutdown_all(c->svc, drain, SIGTERM);
}

void
pr_service_signal(struct pr_service *s, int signum)
{
    if (signum == SIGHUP)
        shutdown_all(s, 1, 0);
    else
        shutdown_all(s, 0, signum);
}

/* --- clients ------------------------------------------------------------ */

/* Handles one message.  Returns -1 if it was no request at all: the
 * connection is then closed after the reply. */
static int
dispatch(struct client *c, const char *p, size_t n)
{
    struct pr_json_doc *doc = NULL;
    struct pr_json_error jerr;
    const struct pr_json *msg;
    const char *op;

    if (pr_json_parse_strict(p, n, &doc, &jerr) != 0 ||
        pr_json_type(msg = pr_json_root(doc)) != PR_JSON_OBJECT ||
        (op = member_string(msg, "op", NULL)) == NULL) {
        reply_error(c, "not a request: a JSON object with an \"op\"");
        pr_json_free(doc);
        return -1;
    }
    /* Parsed: a million-line submit's frame goes before its tasks come. */
    pr_proto_release(&c->reader);
    if (strcmp(op, "submit") == 0)
        do_submit(c, msg, &doc);
    else if (strcmp(op, "status") == 0)
        do_status(c, msg);
    else if (strcmp(op, "join") == 0)
        do_join(c, msg);
    else if (strcmp(op, "wait") == 0)
        do_wait(c, msg);
    else if (strcmp(op, "shutdown") == 0)
        do_shutdown(c, msg);
    else if (strcmp(op, "cancel") == 0)
        do_cancel(c, msg);
    else if (strcmp(op, "close") == 0)
        do_close(c, msg);
    else if (strcmp(op, "log") == 0)
        do_log(c, msg);
    else if (strcmp(op, "resume") == 0)
        do_resume(c, msg);
    else
        reply_error(c, "unknown op");
    pr_json_free(doc);
    return 0;
}

static void
on_client_closed(uv_handle_t *h)
{
    struct client *c = h->data;

    pr_proto_reader_free(&c->reader);
    free(c);
}

static void
client_close(struct client *c)
{
    if (c->closing)
        return;
    c->closing = 1;
    while (!pr_list_empty(&c->reqs))
        request_end(PR_CONTAINER_OF(c->reqs.next, struct request, node));
    pr_list_remove(&c->node);
    uv_close((uv_handle_t *)&c->pipe, on_client_closed);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf);
static void on_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf);

static void
on_hung_up(uv_shutdown_t *req, int status)
{
    struct client *c = req->data;

    free(req);
    /* The last reply is out; the client sees the end of the stream once
     * it has read it, and its own end closes the connection (on_read). */
    if (status < 0)
        client_close(c);
}

/* Closes c once the replies queued for it have gone out. */
static void
client_hang_up(struct client *c)
{
    uv_shutdown_t *req;

    if (c->closing || c->hanging_up)
        return;
    /* What it still sends is read and dropped, so that a client that
     * writes before it reads (its request, refused at connect) gets the
     * refusal, not a broken pipe. */
    c->hanging_up = 1;
    uv_read_start((uv_stream_t *)&c->pipe, on_alloc, on_read);
    req = pr_xcalloc(1, sizeof(*req));
    req->data = c;
    if (uv_shutdown(req, (uv_stream_t *)&c->pipe, on_hung_up) != 0) {
        free(req);
        client_close(c);
    }
}

static void
on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    static char chunk[64 * 1024];

    (void)h;
    (void)suggested;
    *buf = uv_buf_init(chunk, sizeof(chunk));
}

static void
on_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf)
{
    struct client *c = stream->data;
    const char *msg;
    size_t len;
    int rc;

    if (nread < 0) {
        client_close(c);
        return;
    }
    if (c->hanging_up)
        return;
    pr_proto_feed(&c->reader, buf->base, (size_t)nread);
    for (;;) {
        if (c->closing)
            return;
        rc = pr_proto_next(&c->reader, &msg, &len);
        if (rc == 0)
            return;
        if (rc < 0) {
            reply_error(c, rc == UV_E2BIG ? "message too large"
                                          : "malformed message frame");
            break;
        }
        if (dispatch(c, msg, len) < 0)
            break;
    }
    client_hang_up(c);
}

/* Only the user who runs the service may talk to it. */
static int
peer_allowed(struct client *c)
{
    uv_os_fd_t fd;
    uid_t uid;
    char msg[128];

    if (uv_fileno((uv_handle_t *)&c->pipe, &fd) != 0 ||
        pr_sockdir_peer_uid(fd, &uid) != 0) {
        reply_error(c, "cannot tell who is asking (SO_PEERCRED)");
        return 0;
    }
    if (uid == getuid())
        return 1;
    snprintf(msg, sizeof(msg),
             "this poolrun service belongs to uid %u; uid %u may not use it",
             (unsigned)getuid(), (unsigned)uid);
    reply_error(c, msg);
    return 0;
}

static void
on_connection(uv_stream_t *server, int status)
{
    struct pr_service *s = server->data;
    struct client *c;

    if (status < 0)
        return;
    c = pr_xcalloc(1, sizeof(*c));
    c->svc = s;
    pr_list_init(&c->reqs);
    pr_proto_reader_init(&c->reader);
    uv_pipe_init(s->loop, &c->pipe, 0);
    c->pipe.data = c;
    pr_list_insert_before(&s->clients, &c->node);
    if (uv_accept(server, (uv_stream_t *)&c->pipe) != 0) {
        client_close(c);
        return;
    }
    if (!peer_allowed(c)) {
        client_hang_up(c); /* after the refusal has gone out */
        return;
    }
    uv_read_start((uv_stream_t *)&c->pipe, on_alloc, on_read);
}

int
pr_service_new(struct pr_service **out, uv_loop_t *loop,
               const struct pr_service_config *cfg)
{
    struct pr_service *s = pr_xcalloc(1, sizeof(*s));
    int rc = 0;

    *out = s;
    s->loop = loop;
    s->cfg = *cfg;
    pr_list_init(&s->queues);
    pr_list_init(&s->clients);
    pr_list_init(&s->kills);
    pr_list_init(&s->released);
    pr_list_init(&s->held);
    pr_list_init(&s->groups);
    s->replay_off = PR_JOURNAL_FILE_HEADER;
    s->compact_min = cfg->compact_min ? cfg->compact_min : COMPACT_MIN_DEFAULT;
    uv_check_init(loop, &s->sync_check);
    s->sync_check.data = s;
    uv_timer_init(loop, &s->sync_timer);
    s->sync_timer.data = s;
    uv_pipe_init(loop, &s->listener, 0);
    s->listener.data = s;
    s->listening = 1;
    if (cfg->state_dir != NULL) {
        rc = pr_journal_open(&s->journal, cfg->state_dir, replay, s, NULL);
        if (rc == 0) {
            pr_journal_forget(s->journal, s->replay_dead);
            resume_replayed(s);
        }
    }
    if (rc == 0)
        rc = uv_pipe_open(&s->listener, cfg->listen_fd);
    /* What was made closes as at a shutdown, once the loop runs. */
    if (rc != 0)
        shutdown_all(s, 0, SIGTERM);
    return rc;
}

int
pr_service_start(struct pr_service *s)
{
    return uv_listen((uv_stream_t *)&s->listener, 128, on_connection);
}

/* What a task holds; the store holds the task. */
static void
svc_task_release(struct svc_task *t)
{
    struct svc_links *x = t->x;
    unsigned i;

    while (x != NULL && !pr_list_empty(&x->dependents)) {
        struct pr_list *n = x->dependents.next;

        pr_list_remove(n);
        free(PR_CONTAINER_OF(n, struct after_edge, node));
    }
    for (i = 0; x != NULL && i < x->nafter; i++)
        free(x->after[i].id);
    if (x != NULL)
        free(x->after);
    free(x);
    if (!t->done && !t->in_pool)
        pr_task_free(t->task); /* not its pool's: waiting, held, requeued */
    group_unref(t->g);
    if (t->own_id)
        free(t->id.name);
}

void
pr_service_free(struct pr_service *s)
{
    if (s == NULL)
        return;
    if (s->journal != NULL)
        pr_journal_close(s->journal);
    s->journal = NULL; /* the groups freed below forget nothing */
    while (s->nunref > 0)
        group_unref(s->unref[--s->nunref]);
    free(s->unref);
    while (!pr_list_empty(&s->queues)) {
        struct svc_queue *q =
            PR_CONTAINER_OF(s->queues.next, struct svc_queue, node);

        pr_list_remove(&q->node);
        pr_pool_free(q->pool);
        queue_free(q);
    }
    store_free(&s->tasks);
    free(s->ids.slot);
    free(s);
}
