/*
 * progress: "poolrun: 37/100 done, 4 running, 2 failed, 12.3/s, ETA 0:05",
 * or with --bar on a terminal "poolrun: 37% [====>     ] 37/100 done, ...".
 * The rate is finished tasks per second since the start, skipped ones
 * left out (--resume skips hundreds at once); the ETA is the tasks left
 * at that rate, shown once the total is known.
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
    int bar;            /* redrawn in place: fd is a terminal */
    enum pr_progress_style style;
    int eta;
    int drawn; /* the bar's line is on the screen */
    int finishing; /* the last line is being shown */
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
pr_progress_new(int fd, enum pr_progress_style style, int eta)
{
    struct pr_progress *p = pr_xcalloc(1, sizeof(*p));

    p->fd = fd;
    p->bar = isatty(fd);
    p->style = style;
    p->eta = eta;
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

/* Tasks per second, skipped ones left out. */
static double
rate_of(const struct pr_progress_counts *c)
{
    return c->elapsed > 0 ? (double)c->done / c->elapsed : 0;
}

/* "0:05", or "?" when it cannot be known yet; 0 if it is not to be shown
 * (unknown and not asked for). */
static int
format_eta(const struct pr_progress_counts *c, int always, char *buf,
           size_t len)
{
    double rate = rate_of(c);
    uint64_t ended = c->done + c->skipped;

    if (c->total > 0 && c->total >= ended && rate > 0) {
        format_duration((double)(c->total - ended) / rate, buf, len);
        return 1;
    }
    if (c->total > 0 && c->total == ended) {
        format_duration(0, buf, len);
        return 1;
    }
    snprintf(buf, len, "?");
    return always;
}

/* "37/100 done, 3 skipped, 4 running, 2 failed, 12.3/s[, ETA 0:05]". */
static void
format_counts(const struct pr_progress_counts *c, int eta, char *buf,
              size_t len)
{
    char left[32];
    size_t n;

    if (c->total > 0)
        snprintf(buf, len, "%llu/%llu done", (unsigned long long)c->done,
                 (unsigned long long)c->total);
    else
        snprintf(buf, len, "%llu done", (unsigned long long)c->done);
    n = strlen(buf);
    if (c->skipped > 0 && n < len)
        n += (size_t)snprintf(buf + n, len - n, ", %llu skipped",
                              (unsigned long long)c->skipped);
    if (n < len)
        n += (size_t)snprintf(buf + n, len - n,
                              ", %llu running, %llu failed, %.1f/s",
                              (unsigned long long)c->running,
                              (unsigned long long)c->failed, rate_of(c));
    if (n < len && format_eta(c, eta, left, sizeof(left)))
        snprintf(buf + n, len - n, ", ETA %s", left);
}

void
pr_progress_format_line(const struct pr_progress_counts *c, int eta, char *buf,
                        size_t len)
{
    char counts[224];

    format_counts(c, eta, counts, sizeof(counts));
    snprintf(buf, len, "poolrun: %s", counts);
}

void
pr_progress_format(const struct pr_progress_counts *c, char *buf, size_t len)
{
    pr_progress_format_line(c, 0, buf, len);
}

/* Cuts buf to at most cols - 1 columns (all of it is ASCII): the cursor
 * then never passes the last column, and the line never wraps.  Whole
 * fields go, where one ends in time. */
static void
fit(char *buf, unsigned cols)
{
    char *comma;

    if (cols == 0 || strlen(buf) <= cols - 1)
        return;
    buf[cols - 1] = '\0';
    comma = strrchr(buf, ',');
    if (comma != NULL)
        *comma = '\0';
}

/* The bar's widest inside, however wide the terminal. */
#define BAR_MAX 60
/* Narrower than this, no bar: the counts say more. */
#define BAR_MIN 10

/* The bar's counts, short: "37/100 done, 2 failed, 12.3/s, ETA 0:05"
 * (failed and skipped only when there are some). */
static void
format_bar_counts(const struct pr_progress_counts *c, char *buf, size_t len)
{
    char left[32];
    size_t n;

    n = (size_t)snprintf(buf, len, "%llu/%llu done",
                         (unsigned long long)c->done,
                         (unsigned long long)c->total);
    if (c->failed > 0 && n < len)
        n += (size_t)snprintf(buf + n, len - n, ", %llu failed",
                              (unsigned long long)c->failed);
    if (c->skipped > 0 && n < len)
        n += (size_t)snprintf(buf + n, len - n, ", %llu skipped",
                              (unsigned long long)c->skipped);
    format_eta(c, 1, left, sizeof(left));
    if (n < len)
        snprintf(buf + n, len - n, ", %.1f/s, ETA %s", rate_of(c), left);
}

void
pr_progress_format_bar(const struct pr_progress_counts *c, unsigned cols,
                       char *buf, size_t len)
{
    char head[32], counts[224];
    uint64_t ended = c->done + c->skipped;
    unsigned pct, width, fill, i;
    size_t room, n;

    if (c->total == 0) {
        format_counts(c, 1, counts, sizeof(counts));
        snprintf(buf, len, "poolrun: %s", counts);
        fit(buf, cols);
        return;
    }
    format_bar_counts(c, counts, sizeof(counts));
    pct = (unsigned)((ended > c->total ? c->total : ended) * 100 / c->total);
    snprintf(head, sizeof(head), "poolrun: %3u%% ", pct);
    /* head, "[", the bar, "] ", counts, in cols - 1. */
    room = cols > 1 ? cols - 1 : 0;
    n = strlen(head) + 3 + strlen(counts);
    width = room > n ? (unsigned)(room - n) : 0;
    if (width > BAR_MAX)
        width = BAR_MAX;
    if (width < BAR_MIN ||
        len < strlen(head) + width + 3 + strlen(counts) + 1) {
        snprintf(buf, len, "%s%s", head, counts);
        fit(buf, cols);
        return;
    }
    fill = (unsigned)((ended > c->total ? c->total : ended) * width / c->total);
    n = (size_t)snprintf(buf, len, "%s[", head);
    for (i = 0; i < width; i++)
        buf[n++] = i < fill ? '=' : i == fill ? '>' : ' ';
    snprintf(buf + n, len - n, "] %s", counts);
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
           a->running == b->running && a->failed == b->failed &&
           a->skipped == b->skipped;
}

/* The terminal's width: as it says (TIOCGWINSZ), else $COLUMNS, else 80.
 * Asked at each redraw, so a resized terminal is followed. */
static unsigned
columns(const struct pr_progress *p)
{
    unsigned cols = pr_sys_term_columns(p->fd);
    const char *env = getenv("COLUMNS");
    char *end;
    unsigned long v;

    if (cols > 0)
        return cols;
    if (env != NULL && *env != '\0') {
        v = strtoul(env, &end, 10);
        if (*end == '\0' && v > 0 && v <= 100000)
            return (unsigned)v;
    }
    return 80;
}

void
pr_progress_show(struct pr_progress *p, const struct pr_progress_counts *c)
{
    char line[512];
    size_t n;

    if (p->have_last && same(&p->last, c) && (p->drawn || !p->bar))
        return;
    /* Plain lines: one per task that ran, not per start or skip (the
     * last line says what was skipped since). */
    if (!p->bar && (p->have_last ? p->last.done : 0) == c->done &&
        !(p->finishing && c->skipped != (p->have_last ? p->last.skipped : 0)))
        return;
    p->last = *c;
    p->have_last = 1;
    if (p->bar) {
        unsigned cols = columns(p);

        /* Back to the line's start and clear it to its end: what a longer
         * line left is gone, and the new one fits the width. */
        memcpy(line, "\r\033[K", 4);
        if (p->style == PR_PROGRESS_BAR)
            pr_progress_format_bar(c, cols, line + 4, sizeof(line) - 4);
        else {
            pr_progress_format_line(c, p->eta, line + 4, sizeof(line) - 4);
            fit(line + 4, cols);
        }
        put(p, line, strlen(line));
        p->drawn = 1;
        return;
    }
    pr_progress_format_line(c, p->eta, line, sizeof(line) - 1);
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
    p->finishing = 1;
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
