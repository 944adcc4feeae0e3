/*
 * outwatch: see outwatch.h.
 */
#include "outwatch.h"

#include <stdlib.h>

#include "sys.h"
#include "util.h"

struct pr_outwatch {
    uv_loop_t *loop;
    struct pr_output *out;
    void (*moved)(void *);
    void *data;
    uv_poll_t poll[2]; /* stdout, stderr */
    int on[2];         /* initialised */
    int events[2];     /* polled for now */
    int closed;
};

/* What stream's watch always needs: for a pipe behind stdout, its reader
 * going away. */
static int
watch_base(const struct pr_outwatch *w, int stream)
{
    const struct pr_writer *wr = pr_output_writer(w->out, stream);

    if (stream == 1 && wr->watch_reader && pr_output_error(w->out) == 0)
        return UV_DISCONNECT;
    return 0;
}

/* The event that says stream's sink has room. */
static int
watch_room(const struct pr_outwatch *w, int stream)
{
    return pr_output_writer(w->out, stream)->poll_read ? UV_READABLE
                                                       : UV_WRITABLE;
}

static void on_poll(uv_poll_t *handle, int status, int events);

static void
set_watch(struct pr_outwatch *w, int stream, int events)
{
    uv_poll_t *h = &w->poll[stream - 1];
    const struct pr_writer *wr = pr_output_writer(w->out, stream);

    /* A writer may get its descriptor only when it first waits. */
    if (!w->on[stream - 1] && events != 0 && wr->poll_fd >= 0 && !w->closed &&
        uv_poll_init(w->loop, h, wr->poll_fd) == 0) {
        h->data = w;
        w->on[stream - 1] = 1;
    }
    if (!w->on[stream - 1] || uv_is_closing((uv_handle_t *)h) ||
        events == w->events[stream - 1])
        return;
    w->events[stream - 1] = events;
    if (events != 0)
        uv_poll_start(h, events, on_poll);
    else
        uv_poll_stop(h);
}

/* A watch stays on until a wakeup finds nothing waiting (on_poll): a sink
 * found full again soon after it had room, the common case with a reader
 * that keeps up, costs no stopping and starting of the watch. */
void
pr_outwatch_arm(struct pr_outwatch *w)
{
    int s;

    if (w == NULL)
        return;
    for (s = 1; s <= 2; s++) {
        int room = watch_room(w, s);
        int keep = w->events[s - 1] & room;

        if (pr_output_waiting(w->out) == s)
            keep = room;
        set_watch(w, s, watch_base(w, s) | keep);
    }
}

static void
on_poll(uv_poll_t *handle, int status, int events)
{
    struct pr_outwatch *w = handle->data;
    int stream = handle == &w->poll[1] ? 2 : 1;
    int gone = status < 0 || (events & UV_DISCONNECT) != 0;
    int spurious;

    if (status < 0)
        w->events[stream - 1] = 0; /* libuv stopped it */
    spurious = !gone && pr_output_waiting(w->out) != stream;
    if (!spurious)
        pr_output_ready(w->out, stream, gone);
    set_watch(
        w, stream,
        watch_base(w, stream) |
            (spurious ? 0 : w->events[stream - 1] & watch_room(w, stream)));
    pr_outwatch_arm(w);
    w->moved(w->data);
}

struct pr_outwatch *
pr_outwatch_new(uv_loop_t *loop, struct pr_output *out, void (*moved)(void *),
                void *data)
{
    struct pr_outwatch *w = pr_xcalloc(1, sizeof(*w));

    w->loop = loop;
    w->out = out;
    w->moved = moved;
    w->data = data;
    return w;
}

void
pr_outwatch_close(struct pr_outwatch *w)
{
    int i;

    if (w == NULL)
        return;
    w->closed = 1;
    for (i = 0; i < 2; i++)
        if (w->on[i] && !uv_is_closing((uv_handle_t *)&w->poll[i]))
            uv_close((uv_handle_t *)&w->poll[i], NULL);
}

void
pr_outwatch_free(struct pr_outwatch *w)
{
    free(w);
}
