/*
 * source: where tasks come from (stdin lines, ::: items, job files; later a
 * service's socket, a Redis stream), and the narrow intake through which a
 * source hands them on.  A source never sees the pool: it sees an intake,
 * so one can be driven by a fake intake in a test, and the pool can take
 * tasks from several sources at once.  A leaf: it includes nothing of lib/.
 *
 * The contract, in call order:
 *
 * - The runner of tasks calls start(src, in) once.  The source keeps `in`
 *   (it stays valid until the source is freed) and, from start on, puts
 *   tasks: put(task) only while accepting() says yes; when it says no, the
 *   source stops reading and waits for resume(), then goes on.  Tasks are
 *   put in input order, each once; put takes the task.
 * - When the input is over, the source calls end(err) exactly once: err is
 *   0, or the negative error reading the input.  Nothing is put after it.
 *   A start that fails (a negative return) has put nothing and ends
 *   nothing: the caller takes the error as the end.
 * - Bad input (a line that is no task object, an id used twice) is
 *   fail(msg): msg names the place ("jobs.jsonl:3: ...").  The source then
 *   reads nothing more and calls end(UV_EINVAL); what it put before still
 *   runs.  fail comes at most once, always before end.
 * - stop() is for good (a signal, --halt, a closed stdout): the source
 *   stops reading, drops what it read but did not put, and calls end(0)
 *   if it has not ended yet; after end, stop does nothing more.  resume()
 *   after end or stop does nothing.
 * - ended(task), optional, comes once per task this source put, when the
 *   task's final record has been written by every sink (the one-shot
 *   command's joblog and results; a client's reply): the result is
 *   durable, so a source may now acknowledge the task (Redis XACK, a
 *   journal entry, the reply to the client that submitted it).  The task
 *   is read-only and still valid during the call, and freed after it.
 * - requeue(task), optional, comes on a stop for each task this source
 *   put that never started: returning 1 takes the task back (the source
 *   owns it again and the pool records nothing of it: a durable queue
 *   hands it to another worker); returning 0 has it recorded skipped, as
 *   when requeue is NULL.
 * - free() comes once, after the loop has run and every other call.
 *
 * task->src is the source's own pointer (a stream entry id, a client), for
 * ended and requeue; nothing else touches it.
 */
#ifndef PR_SOURCE_H
#define PR_SOURCE_H

struct pr_source;
struct pr_task;

/* What a source sees of whoever runs its tasks. */
struct pr_intake {
    void *data;
    /* Is there room for one more task right now? */
    int (*accepting)(void *data);
    /* Takes the task (owned from now on) and queues it. */
    void (*put)(void *data, struct pr_task *task);
    /* No more tasks will come; err is 0 or a read error.  Once. */
    void (*end)(void *data, int err);
    /* The input is bad at this point (msg says where and why); nothing
     * more is read.  end(UV_EINVAL) follows. */
    void (*fail)(void *data, const char *msg);
};

struct pr_source_ops {
    /* Begin reading; returns 0 or a negative error. */
    int (*start)(struct pr_source *src, const struct pr_intake *in);
    /* The queue has room again. */
    void (*resume)(struct pr_source *src);
    /* Stop for good: close handles and call end if not yet. */
    void (*stop)(struct pr_source *src);
    /* Optional (NULL: nothing to do): the task's final record has been
     * written by every sink; the task is still valid during the call and
     * is freed after. */
    void (*ended)(struct pr_source *src, const struct pr_task *task);
    /* Optional (NULL: never): on a stop, takes back a task it put that
     * never started; returns 1 if it took it (it owns the task now and the
     * pool does not record it), 0 to have it recorded skipped. */
    int (*requeue)(struct pr_source *src, struct pr_task *task);
    /* Free, after the loop has run. */
    void (*free)(struct pr_source *src);
};

struct pr_source {
    const struct pr_source_ops *ops;
};

/* For sources: calls through the intake. */
static inline int
pr_intake_accepting(const struct pr_intake *in)
{
    return in->accepting(in->data);
}

static inline void
pr_intake_put(const struct pr_intake *in, struct pr_task *task)
{
    in->put(in->data, task);
}

static inline void
pr_intake_end(const struct pr_intake *in, int err)
{
    in->end(in->data, err);
}

static inline void
pr_intake_fail(const struct pr_intake *in, const char *msg)
{
    in->fail(in->data, msg);
}

/* For whoever runs the tasks: calls into the source; the optional ones
 * do their default when the source has none. */
static inline int
pr_source_start(struct pr_source *src, const struct pr_intake *in)
{
    return src->ops->start(src, in);
}

static inline void
pr_source_resume(struct pr_source *src)
{
    src->ops->resume(src);
}

static inline void
pr_source_stop(struct pr_source *src)
{
    src->ops->stop(src);
}

static inline void
pr_source_ended(struct pr_source *src, const struct pr_task *task)
{
    if (src->ops->ended != NULL)
        src->ops->ended(src, task);
}

static inline int
pr_source_requeue(struct pr_source *src, struct pr_task *task)
{
    return src->ops->requeue != NULL ? src->ops->requeue(src, task) : 0;
}

/* NULL is a no-op. */
static inline void
pr_source_free(struct pr_source *src)
{
    if (src != NULL)
        src->ops->free(src);
}

#endif
