/*
 * progress: "poolrun: 37/100 done, 4 running, 2 failed, 12.3/s, ETA 0:05".
 * The rate is finished tasks per second since the start; the ETA is the
 * tasks left at that rate, shown once the total is known.
 */
#include "progress.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sys.h"
#include "util.h"

struct pr_progress {
    int fd;
    struct pr_writer w; /* never waits for a reader that does not read */
    int bar;
    int drawn; /* the bar's line is on the screen */
    struct pr_progress_counts last;
    int have_last;
    uv_timer_t timer; /* redraws the bar */
    int timer_on;
    pr_progress_counts_fn *counts;
    void *counts_data;
};

/* The bar is redrawn this often. */
#define REDRAW_MS 100

struct pr_progress *
pr_progress_new(int fd)
{
    struct pr_progress *p = pr_xcalloc(1, sizeof(*p));

    p->fd = fd;
    p->bar = isatty(fd);
    pr_sys_writer_open(&p->w, fd);
    return p;
}

void
pr_progress_free(struct pr_progress *p)
{
    if (p == NULL)
        return;
    pr_sys_writer_close(&p->w);
    free(p);
}

int
pr_progress_is_bar(const struct pr_progress *p)
{
    return p->bar;
}

/* h:mm:ss, or m:ss under an hour. */
static void
format_duration(double secs, char *buf, size_t len)
{
    unsigned long s = secs > 0 ? (unsigned long)(secs + 0.5) : 0;

    if (s >= 3600)
        snprintf(buf, len, "%lu:%02lu:%02lu", s / 3600, s / 60 % 60, s % 60);
    else
        snprintf(buf, len, "%lu:%02lu", s / 60, s % 60);
}

void
pr_progress_format(const struct pr_progress_counts *c, char *buf, size_t len)
{
    double rate = c->elapsed > 0 ? (double)c->done / c->elapsed : 0;
    char eta[32];
    size_t n;

    if (c->total > 0)
        snprintf(buf, len, "poolrun: %llu/%llu done",
                 (unsigned long long)c->done, (unsigned long long)c->total);
    else
        snprintf(buf, len, "poolrun: %llu done", (unsigned long long)c->done);
    n = strlen(buf);
    snprintf(buf + n, len - n, ", %llu running, %llu failed, %.1f/s",
             (unsigned long long)c->running, (unsigned long long)c->failed,
             rate);
    n = strlen(buf);
    if (c->total > 0 && c->total >= c->done && rate > 0) {
        format_duration((double)(c->total - c->done) / rate, eta, sizeof(eta));
        snprintf(buf + n, len - n, ", ETA %s", eta);
    }
}

static void
put(struct pr_progress *p, const char *s, size_t n)
{
    size_t done;

    /* Progress is a courtesy: a failed write is not worth stopping for,
     * and what stderr cannot take at once (2>&1 into a stuck reader) is
     * dropped: the next line says it all again. */
    (void)pr_sys_writer_write(&p->w, s, n, &done);
}

static int
same(const struct pr_progress_counts *a, const struct pr_progress_counts *b)
{
    return a->done == b->done && a->total == b->total &&
           a->running == b->running && a->failed == b->failed;
}

void
pr_progress_show(struct pr_progress *p, const struct pr_progress_counts *c)
{
    char line[256];
    size_t n;

    if (p->have_last && same(&p->last, c) && (p->drawn || !p->bar))
        return;
    /* Plain lines: one per finished task, not per start. */
    if (!p->bar && p->have_last && p->last.done == c->done)
        return;
    p->last = *c;
    p->have_last = 1;
    if (p->bar) {
        memcpy(line, "\r\033[K", 4);
        pr_progress_format(c, line + 4, sizeof(line) - 4);
        put(p, line, strlen(line));
        p->drawn = 1;
        return;
    }
    pr_progress_format(c, line, sizeof(line) - 1);
    n = strlen(line);
    line[n++] = '\n';
    put(p, line, n);
}

void
pr_progress_erase(struct pr_progress *p)
{
    if (!p->bar || !p->drawn)
        return;
    put(p, "\r\033[K", 4);
    p->drawn = 0;
}

void
pr_progress_finish(struct pr_progress *p, const struct pr_progress_counts *c)
{
    pr_progress_show(p, c);
    if (p->bar && p->drawn) {
        put(p, "\n", 1);
        p->drawn = 0;
    }
}

static void
show_now(struct pr_progress *p)
{
    struct pr_progress_counts c;

    p->counts(p->counts_data, &c);
    pr_progress_show(p, &c);
}

static void
on_timer(uv_timer_t *timer)
{
    show_now(timer->data);
}

void
pr_progress_start(struct pr_progress *p, uv_loop_t *loop,
                  pr_progress_counts_fn *counts, void *data)
{
    p->counts = counts;
    p->counts_data = data;
    if (!p->bar)
        return;
    uv_timer_init(loop, &p->timer);
    p->timer.data = p;
    p->timer_on = 1;
    uv_timer_start(&p->timer, on_timer, REDRAW_MS, REDRAW_MS);
    /* A repeating timer must not keep the loop alive by itself. */
    uv_unref((uv_handle_t *)&p->timer);
}

void
pr_progress_close(struct pr_progress *p)
{
    struct pr_progress_counts c;

    if (p == NULL || p->counts == NULL)
        return;
    if (p->timer_on && !uv_is_closing((uv_handle_t *)&p->timer))
        uv_close((uv_handle_t *)&p->timer, NULL);
    p->counts(p->counts_data, &c);
    p->counts = NULL;
    pr_progress_finish(p, &c);
}

static void
sink_final(void *data, const struct pr_task *task)
{
    struct pr_progress *p = data;

    if (task->service)
        return;
    pr_progress_erase(p);
    if (!p->bar)
        show_now(p);
}

const struct pr_sink_ops pr_progress_sink_ops = {
    .final = sink_final,
};
