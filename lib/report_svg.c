/*
 * report_svg: draws a run.  The size of the picture follows the pixels,
 * not the tasks: in a row, bars under a pixel wide that follow one another
 * (less than a pixel apart) with one status and finality are one bar,
 * so 100,000 short tasks cost what a few thousand pixels do.
 */
#include "report_svg.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Okabe-Ito: told apart by the common kinds of colour blindness; each
 * status also has a pattern and a word (in the legend, hover text and
 * wide bars). */
static const char *const colours[PR_REPORT_KINDS] = {
    "#009E73", "#D55E00", "#E69F00", "#CC79A7", "#0072B2"};
/* The white marks on the colour: none, diagonal, dots, vertical,
 * horizontal. */
static const char *const marks[PR_REPORT_KINDS] = {
    "",
    ("<path d=\"M0,8L8,0M-2,2L2,-2M6,10L10,6\" stroke=\"#fff\" "
     "stroke-width=\"1.5\"/>"),
    "<circle cx=\"4\" cy=\"4\" r=\"1.4\" fill=\"#fff\"/>",
    "<path d=\"M4,0V8\" stroke=\"#fff\" stroke-width=\"1.5\"/>",
    "<path d=\"M0,4H8\" stroke=\"#fff\" stroke-width=\"1.5\"/>"};

#define RATE_HEIGHT 120
#define RATE_BUCKET 4 /* px per bucket of the rate chart */
#define TITLE_MAX   200
#define COMMAND_MAX 300
#define HEAD_LINES  5
#define LINE_HEIGHT 16

unsigned
pr_report_row(unsigned nslots)
{
    unsigned h = nslots > 0 ? 480 / nslots : 24;

    return h > 24 ? 24 : h < 3 ? 3 : h;
}

void
pr_report_seconds(struct pr_buf *b, double s)
{
    pr_buf_appendf(b, s < 10 ? "%.3f s" : "%.1f s", s);
}

static double
span_of(const struct pr_report *r)
{
    return r->t1 > r->t0 ? r->t1 - r->t0 : 1;
}

static double
x_of(const struct pr_report *r, double t)
{
    return PR_REPORT_LEFT + (t - r->t0) / span_of(r) * PR_REPORT_PLOT;
}

/* The patterns: k0..k4 the statuses, r0..r4 their retried attempts (pale,
 * hatched in the status's colour). */
static void
defs(struct pr_buf *b)
{
    int k;

    pr_buf_appendf(b, "<defs>");
    for (k = 0; k < PR_REPORT_KINDS; k++) {
        pr_buf_appendf(b,
                       "<pattern id=\"k%d\" width=\"8\" height=\"8\" "
                       "patternUnits=\"userSpaceOnUse\"><rect width=\"8\" "
                       "height=\"8\" fill=\"%s\"/>%s</pattern>",
                       k, colours[k], marks[k]);
        pr_buf_appendf(b,
                       "<pattern id=\"r%d\" width=\"6\" height=\"6\" "
                       "patternUnits=\"userSpaceOnUse\"><rect width=\"6\" "
                       "height=\"6\" fill=\"#fff\"/><path "
                       "d=\"M0,6L6,0M-1.5,1.5L1.5,-1.5M4.5,7.5L7.5,4.5\" "
                       "stroke=\"%s\" stroke-width=\"2\"/></pattern>",
                       k, colours[k]);
    }
    pr_buf_appendf(b, "</defs>");
}

static void
fill_of(struct pr_buf *b, enum pr_report_kind k, int final)
{
    if (final && k == PR_REPORT_OK)
        pr_buf_appendf(b, "%s", colours[k]);
    else
        pr_buf_appendf(b, "url(#%c%d)", final ? 'k' : 'r', (int)k);
}

/* A swatch and its word per status, and one for retried attempts. */
static void
legend(struct pr_buf *b, unsigned counts[PR_REPORT_KINDS + 1])
{
    int k, x = PR_REPORT_LEFT;

    for (k = 0; k <= PR_REPORT_KINDS; k++) {
        pr_buf_appendf(b,
                       "<rect x=\"%d\" y=\"36\" width=\"14\" "
                       "height=\"14\" stroke=\"#333\" fill=\"",
                       x);
        if (k < PR_REPORT_KINDS)
            fill_of(b, (enum pr_report_kind)k, 1);
        else
            fill_of(b, PR_REPORT_FAILED, 0);
        pr_buf_appendf(b, "\"/><text x=\"%d\" y=\"48\">%s (%u)</text>", x + 18,
                       k < PR_REPORT_KINDS
                           ? pr_report_kind_name((enum pr_report_kind)k)
                           : "retried attempt",
                       counts[k]);
        x += k < PR_REPORT_KINDS ? 118 : 0;
    }
}

/* The hover text of one attempt. */
static void
bar_title(struct pr_buf *b, const struct pr_report_bar *bar)
{
    pr_buf_appendf(b, "<title>");
    if (bar->id != NULL) {
        pr_buf_appendf(b, "id ");
        pr_report_escape(b, bar->id, strlen(bar->id), TITLE_MAX);
        pr_buf_appendf(b, ", ");
    }
    pr_buf_appendf(b, "seq %llu: %s", (unsigned long long)bar->seq,
                   pr_report_kind_name(bar->kind));
    if (!bar->final)
        pr_buf_appendf(b, " (retried)");
    pr_buf_appendf(b, "\ncommand: ");
    if (bar->command != NULL)
        pr_report_escape(b, bar->command, strlen(bar->command), COMMAND_MAX);
    if (bar->exit >= 0)
        pr_buf_appendf(b, "\nexit %d", bar->exit);
    else
        pr_buf_appendf(b, "\nexit none");
    if (bar->signal != 0)
        pr_buf_appendf(b, ", signal %d (%s)", bar->signal,
                       pr_signal_name(bar->signal));
    else
        pr_buf_appendf(b, ", signal none");
    pr_buf_appendf(b, "\nruntime ");
    pr_report_seconds(b, bar->runtime);
    pr_buf_appendf(b, ", attempt %u, slot %u</title>", bar->attempt, bar->slot);
}

/* Sub-pixel bars gathered into one: the first and the last attempt, how
 * many, and where. */
struct run {
    const struct pr_report_bar *first, *last;
    size_t count;
    double x0, x1;
};

struct draw {
    struct pr_buf *b;
    const struct pr_report *r;
    unsigned row;      /* px */
    unsigned bar;      /* px: the bar's height in its row */
    struct pr_buf top; /* drawn last: narrow bars of failures */
};

/* A pattern narrower than its tile shows as gaps: bars under NARROW px
 * are plain (a retried one pale), their status in the hover text. */
#define NARROW 4

static void
rect(struct draw *d, const struct pr_report_bar *bar, double x0, double x1,
     int edge)
{
    double y =
        PR_REPORT_TOP + (bar->slot - 1) * d->row + (d->row - d->bar) / 2.0;
    /* A failure stays in sight among thousands of ok tasks. */
    double min = bar->kind == PR_REPORT_OK && bar->final ? 1 : 2;

    pr_buf_appendf(d->b,
                   "<rect x=\"%.2f\" y=\"%.1f\" width=\"%.2f\" "
                   "height=\"%u\"%s fill=\"",
                   x0, y, x1 - x0 < min ? min : x1 - x0, d->bar,
                   edge && x1 - x0 >= 3 && d->bar >= 6 ? " class=\"e\"" : "");
    if (x1 - x0 < NARROW)
        pr_buf_appendf(d->b, "%s\"%s>", colours[bar->kind],
                       bar->final ? "" : " fill-opacity=\".45\"");
    else {
        fill_of(d->b, bar->kind, bar->final);
        pr_buf_appendf(d->b, "\">");
    }
}

static void
one_bar(struct draw *d, const struct pr_report_bar *bar, double x0, double x1)
{
    rect(d, bar, x0, x1, 1);
    bar_title(d->b, bar);
    pr_buf_appendf(d->b, "</rect>");
    /* The status in words where it fits (the start of the bar: the tests
     * look at its middle and end). */
    if (x1 - x0 >= 64 && d->bar >= 14)
        pr_buf_appendf(
            d->b, "<text x=\"%.2f\" y=\"%.1f\" class=\"l\">%s%s</text>", x0 + 3,
            PR_REPORT_TOP + (bar->slot - 1) * d->row + d->row / 2.0 + 4,
            pr_report_kind_name(bar->kind), bar->final ? "" : " (retried)");
}

static void
flush(struct draw *d, struct run *run)
{
    struct pr_buf *b = d->b;

    if (run->count == 0)
        return;
    /* A narrow bar of a failure goes on top: the ok bar after it, which
     * starts within its pixel, must not hide it. */
    if ((run->first->kind != PR_REPORT_OK || !run->first->final) &&
        run->x1 - run->x0 < NARROW)
        d->b = &d->top;
    if (run->count == 1) {
        one_bar(d, run->first, run->x0, run->x1);
    } else {
        rect(d, run->first, run->x0, run->x1, 0);
        pr_buf_appendf(d->b,
                       "<title>%zu attempts merged (each under a "
                       "pixel wide), slot %u: seq %llu to %llu, %s%s, "
                       "+",
                       run->count, run->first->slot,
                       (unsigned long long)run->first->seq,
                       (unsigned long long)run->last->seq,
                       pr_report_kind_name(run->first->kind),
                       run->first->final ? "" : " (retried)");
        pr_report_seconds(d->b, run->first->start - d->r->t0);
        pr_buf_appendf(d->b, " to +");
        pr_report_seconds(d->b,
                          run->last->start + run->last->runtime - d->r->t0);
        pr_buf_appendf(d->b, "</title></rect>");
    }
    d->b = b;
    run->count = 0;
}

static int
cmp_place(const void *a, const void *b)
{
    const struct pr_report_bar *const *x = a, *const *y = b;

    if ((*x)->slot != (*y)->slot)
        return (*x)->slot < (*y)->slot ? -1 : 1;
    if ((*x)->start != (*y)->start)
        return (*x)->start < (*y)->start ? -1 : 1;
    return *x < *y ? -1 : *x > *y;
}

/* Joins bar to run if it is under a pixel, alike and at most a pixel
 * after it (a run holds only bars under a pixel: wider ones are drawn at
 * once). */
static int
joins(const struct run *run, const struct pr_report_bar *bar, double x0,
      double x1)
{
    return run->count > 0 && x1 - x0 < 1 && run->first->slot == bar->slot &&
           run->first->kind == bar->kind && run->first->final == bar->final &&
           x0 - run->x1 < 1;
}

static void
bars(struct draw *d)
{
    const struct pr_report *r = d->r;
    const struct pr_report_bar **v = pr_xmalloc((r->nbars + 1) * sizeof(*v));
    struct run run = {0};
    size_t i, n = 0;

    for (i = 0; i < r->nbars; i++)
        if (r->bars[i].slot != 0)
            v[n++] = &r->bars[i];
    qsort(v, n, sizeof(*v), cmp_place);
    for (i = 0; i < n; i++) {
        double x0 = x_of(r, v[i]->start);
        double x1 = x_of(r, v[i]->start + v[i]->runtime);

        if (joins(&run, v[i], x0, x1)) {
            run.last = v[i];
            run.count++;
            if (x1 > run.x1)
                run.x1 = x1;
            continue;
        }
        flush(d, &run);
        run.first = run.last = v[i];
        run.count = 1;
        run.x0 = x0;
        run.x1 = x1;
        /* A bar a pixel wide or more starts no run. */
        if (x1 - x0 >= 1)
            flush(d, &run);
    }
    flush(d, &run);
    pr_buf_append(d->b, d->top.data, d->top.len);
    pr_buf_free(&d->top);
    free(v);
}

/* A step of 1, 2 or 5 times a power of ten giving at most 10 ticks. */
static double
tick_step(double span)
{
    double step = pow(10, floor(log10(span / 10)));

    if (span / step > 10)
        step *= 2;
    if (span / step > 10)
        step *= 2.5;
    if (span / step > 10)
        step *= 2;
    return step;
}

/* Slot names, grid lines and the time axis under the rows; returns the
 * axis's y. */
static unsigned
axis(struct draw *d)
{
    const struct pr_report *r = d->r;
    unsigned bottom = PR_REPORT_TOP + r->nslots * d->row;
    unsigned every = d->row >= 12 ? 1 : (12 + d->row - 1) / d->row;
    double step = tick_step(span_of(r)), t;
    unsigned s;

    for (s = 1; s <= r->nslots; s += every)
        pr_buf_appendf(d->b,
                       "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">slot "
                       "%u</text>",
                       PR_REPORT_LEFT - 6,
                       PR_REPORT_TOP + (s - 1) * d->row + d->row / 2.0 + 4, s);
    for (t = 0; t <= span_of(r) * (1 + 1e-9); t += step) {
        double x = x_of(r, r->t0 + t);

        pr_buf_appendf(d->b,
                       "<path d=\"M%.2f,%dV%u\" class=\"g\"/><text x=\"%.2f\" "
                       "y=\"%u\" text-anchor=\"middle\">%g s</text>",
                       x, PR_REPORT_TOP, bottom + 4, x, bottom + 18, t);
    }
    pr_buf_appendf(d->b, "<path d=\"M%d,%uH%d\" stroke=\"#333\"/>",
                   PR_REPORT_LEFT, bottom, PR_REPORT_LEFT + PR_REPORT_PLOT);
    return bottom + 18;
}

/* Final attempts per bucket of the run's time, by their end. */
static unsigned *
finished(const struct pr_report *r, unsigned nb)
{
    unsigned *count = pr_xcalloc(nb, sizeof(*count));
    size_t i;

    for (i = 0; i < r->nbars; i++) {
        const struct pr_report_bar *bar = &r->bars[i];
        double at;

        if (bar->slot == 0 || !bar->final)
            continue;
        at = (bar->start + bar->runtime - r->t0) / span_of(r) * nb;
        count[at >= nb ? nb - 1 : at < 0 ? 0 : (unsigned)at]++;
    }
    return count;
}

/* Buckets: about 4 tasks each on average, from 10 (a short run's rate is
 * not a spike per task) to a bucket per RATE_BUCKET px. */
static unsigned
buckets(const struct pr_report *r, size_t *total)
{
    size_t i;

    *total = 0;
    for (i = 0; i < r->nbars; i++)
        *total += r->bars[i].slot != 0 && r->bars[i].final;
    if (*total / 4 < 10)
        return 10;
    return *total / 4 > PR_REPORT_PLOT / RATE_BUCKET
               ? PR_REPORT_PLOT / RATE_BUCKET
               : (unsigned)(*total / 4);
}

static void
rate_line(struct draw *d, const unsigned *count, unsigned nb, size_t total,
          unsigned base)
{
    double w = (double)PR_REPORT_PLOT / nb;
    size_t sum = 0;
    unsigned k;

    pr_buf_appendf(d->b,
                   "<polyline fill=\"none\" stroke=\"#000\" points=\"%d,%u",
                   PR_REPORT_LEFT, base);
    for (k = 0; k < nb; k++) {
        sum += count[k];
        pr_buf_appendf(d->b, " %.1f,%.1f", PR_REPORT_LEFT + (k + 1) * w,
                       base - (total ? (double)sum / total : 0) * RATE_HEIGHT);
    }
    pr_buf_appendf(d->b, "\"/>");
}

/* Tasks finished over time: a bar per bucket (its rate) and the running
 * total as a line.  Returns the y under it. */
static unsigned
rate(struct draw *d, unsigned y)
{
    size_t total;
    unsigned nb = buckets(d->r, &total), max = 1, k;
    unsigned *count = finished(d->r, nb);
    unsigned base = y + 36 + RATE_HEIGHT;
    double width = span_of(d->r) / nb, w = (double)PR_REPORT_PLOT / nb;

    for (k = 0; k < nb; k++)
        max = count[k] > max ? count[k] : max;
    pr_buf_appendf(d->b,
                   "<text x=\"%d\" y=\"%u\" class=\"h\">Tasks finished "
                   "over time: %zu in ",
                   PR_REPORT_LEFT, y + 16, total);
    pr_report_seconds(d->b, d->r->t1 - d->r->t0);
    pr_buf_appendf(d->b,
                   ", %.1f/s on average, %.1f/s at the peak (bars: "
                   "per %.3g s; line: the running total)</text>",
                   total / span_of(d->r), max / width, width);
    for (k = 0; k < nb; k++)
        if (count[k] > 0)
            pr_buf_appendf(d->b,
                           "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" "
                           "height=\"%.1f\" fill=\"#56B4E9\"/>",
                           PR_REPORT_LEFT + k * w,
                           base - (double)count[k] / max * RATE_HEIGHT, w,
                           (double)count[k] / max * RATE_HEIGHT);
    rate_line(d, count, nb, total, base);
    pr_buf_appendf(d->b,
                   "<path d=\"M%d,%uH%d\" stroke=\"#333\"/><text x=\"%d\" "
                   "y=\"%u\" text-anchor=\"end\">%.1f/s</text><text x=\"%d\" "
                   "y=\"%u\" text-anchor=\"end\">%zu done</text>",
                   PR_REPORT_LEFT, base, PR_REPORT_LEFT + PR_REPORT_PLOT,
                   PR_REPORT_LEFT - 6, base - RATE_HEIGHT + 10, max / width,
                   PR_REPORT_LEFT + PR_REPORT_PLOT, base - RATE_HEIGHT - 4,
                   total);
    free(count);
    return base + 10;
}

/* One line of text in the tables; s[0..n) escaped, cut at max bytes. */
static void
line(struct draw *d, unsigned *y, int indent, const char *cls,
     const char *prefix, const char *s, size_t n, size_t max)
{
    pr_buf_appendf(d->b, "<text x=\"%d\" y=\"%u\" class=\"%s\">%s",
                   PR_REPORT_LEFT + indent, *y, cls, prefix);
    pr_report_escape(d->b, s, n, max);
    pr_buf_appendf(d->b, "</text>");
    *y += LINE_HEIGHT;
}

/* The first HEAD_LINES lines of a task's stdout or stderr. */
static void
head(struct draw *d, unsigned *y, const char *name, const char *s)
{
    char prefix[16];
    int i;

    snprintf(prefix, sizeof(prefix), "%s| ", name);
    for (i = 0; s != NULL && *s != '\0' && i < HEAD_LINES; i++) {
        const char *nl = strchr(s, '\n');
        size_t n = nl ? (size_t)(nl - s) : strlen(s);

        line(d, y, 16, "m", prefix, s, n, 150);
        s += n + (nl != NULL);
    }
}

static void
task_line(struct draw *d, unsigned *y, const struct pr_report_bar *bar)
{
    struct pr_buf t = {0};

    pr_buf_appendf(&t, "seq %llu", (unsigned long long)bar->seq);
    if (bar->id != NULL) {
        pr_buf_appendf(&t, ", id ");
        pr_buf_append(&t, bar->id, strlen(bar->id));
    }
    pr_buf_appendf(&t, ": %s, ", pr_report_kind_name(bar->kind));
    pr_report_seconds(&t, bar->runtime);
    if (bar->exit >= 0)
        pr_buf_appendf(&t, ", exit %d", bar->exit);
    if (bar->signal != 0)
        pr_buf_appendf(&t, ", signal %d", bar->signal);
    pr_buf_appendf(&t, ", attempt %u, slot %u: ", bar->attempt, bar->slot);
    if (bar->command != NULL)
        pr_buf_append(&t, bar->command, strlen(bar->command));
    line(d, y, 0, "m", "", t.data, t.len, COMMAND_MAX);
    pr_buf_free(&t);
}

/* The slowest ten and every failed task, as text (the SVG file's tables;
 * the HTML page has its own). */
static unsigned
tables(struct draw *d, unsigned y)
{
    size_t n, i, *v = pr_report_slowest(d->r, 10, &n);

    y += 20;
    pr_buf_appendf(d->b,
                   "<text x=\"%d\" y=\"%u\" class=\"h\">The slowest "
                   "%zu tasks</text>",
                   PR_REPORT_LEFT, y, n);
    y += LINE_HEIGHT + 4;
    for (i = 0; i < n; i++)
        task_line(d, &y, &d->r->bars[v[i]]);
    free(v);
    v = pr_report_failed(d->r, &n);
    y += 20;
    pr_buf_appendf(d->b,
                   "<text x=\"%d\" y=\"%u\" class=\"h\">Failed tasks "
                   "(%zu)</text>",
                   PR_REPORT_LEFT, y, n);
    y += LINE_HEIGHT + 4;
    for (i = 0; i < n; i++) {
        task_line(d, &y, &d->r->bars[v[i]]);
        head(d, &y, "stdout", d->r->bars[v[i]].out);
        head(d, &y, "stderr", d->r->bars[v[i]].err);
    }
    free(v);
    return y;
}

/* Attempts per status (the last: retried ones), tasks, failed tasks. */
static void
count(const struct pr_report *r, unsigned c[PR_REPORT_KINDS + 1], size_t *tasks,
      size_t *failed)
{
    size_t i;

    memset(c, 0, (PR_REPORT_KINDS + 1) * sizeof(*c));
    *tasks = *failed = 0;
    for (i = 0; i < r->nbars; i++) {
        c[r->bars[i].final ? r->bars[i].kind : PR_REPORT_KINDS]++;
        *tasks += r->bars[i].final;
        *failed += r->bars[i].final && r->bars[i].kind != PR_REPORT_OK;
    }
}

static void
heading(struct draw *d, const char *title)
{
    unsigned c[PR_REPORT_KINDS + 1];
    size_t tasks, failed;

    count(d->r, c, &tasks, &failed);
    pr_buf_appendf(d->b, "<text x=\"%d\" y=\"22\" class=\"h\">",
                   PR_REPORT_LEFT);
    pr_report_escape(d->b, title, strlen(title), TITLE_MAX);
    pr_buf_appendf(d->b, ": %zu tasks (%zu attempts), %zu failed, %u slots, ",
                   tasks, d->r->nbars, failed, d->r->nslots);
    pr_report_seconds(d->b, d->r->t1 - d->r->t0);
    pr_buf_appendf(d->b, "%s</text>",
                   d->r->from_joblog ? " (from a job log: less detail, "
                                       "slots assigned greedily)"
                                     : "");
    legend(d->b, c);
}

unsigned
pr_report_svg(struct pr_buf *b, const struct pr_report *r, const char *title,
              int with_tables)
{
    struct pr_buf body = {0};
    struct draw d = {&body, r, pr_report_row(r->nslots), 0, {0}};
    unsigned y;

    d.bar = d.row >= 8 ? d.row - 4 : d.row - 1;
    heading(&d, title);
    y = axis(&d);
    bars(&d);
    y = rate(&d, y + 10);
    if (with_tables)
        y = tables(&d, y);
    y += 10;
    pr_buf_appendf(b,
                   "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" "
                   "height=\"%u\" viewBox=\"0 0 %d %u\" "
                   "font-family=\"sans-serif\" font-size=\"12\">"
                   "<style>.h{font-weight:bold}.m{font-family:monospace;"
                   "white-space:pre}.g{stroke:#ddd}.e{stroke:#fff;"
                   "stroke-width:.5}.l{fill:#000;stroke:#fff;stroke-width:3px;"
                   "paint-order:stroke;font-size:11px}"
                   "</style><rect width=\"100%%\" height=\"100%%\" "
                   "fill=\"#fff\"/>",
                   PR_REPORT_WIDTH, y, PR_REPORT_WIDTH, y);
    defs(b);
    pr_buf_append(b, body.data, body.len);
    pr_buf_appendf(b, "</svg>\n");
    pr_buf_free(&body);
    return y;
}
