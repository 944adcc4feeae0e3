/*
 * report_html: the page around the pictures.  Everything from the run is
 * escaped: a command may hold any bytes, markup included.
 */
#include "report_html.h"

#include <stdlib.h>
#include <string.h>

#include "report_svg.h"

#define CELL_MAX 300
#define HEAD_MAX 2000

static const char style[] =
    "body{margin:0;font:14px sans-serif;color:#111}svg{display:block}"
    "section{margin:0 0 0 100px;max-width:880px}"
    "table{border-collapse:collapse}td,th{text-align:left;padding:2px 8px;"
    "border-bottom:1px solid #ddd;vertical-align:top}"
    "code,pre{font-family:monospace;white-space:pre-wrap;"
    "word-break:break-all}pre{margin:2px 0 8px;background:#f4f4f4;"
    "padding:4px}.n{text-align:right}";

static void
text(struct pr_buf *b, const char *s, size_t max)
{
    if (s != NULL)
        pr_report_escape(b, s, strlen(s), max);
}

static void
row(struct pr_buf *b, const struct pr_report_bar *bar)
{
    pr_buf_appendf(b, "<tr><td class=\"n\">");
    pr_report_seconds(b, bar->runtime);
    pr_buf_appendf(b, "</td><td class=\"n\">%llu</td><td>",
                   (unsigned long long)bar->seq);
    text(b, bar->id, CELL_MAX);
    pr_buf_appendf(b, "</td><td>%s%s</td><td class=\"n\">%u</td><td>",
                   pr_report_kind_name(bar->kind),
                   bar->final ? "" : " (retried)", bar->slot);
    if (bar->exit >= 0)
        pr_buf_appendf(b, "exit %d", bar->exit);
    if (bar->signal != 0)
        pr_buf_appendf(b, "signal %d", bar->signal);
    pr_buf_appendf(b, "</td><td><code>");
    text(b, bar->command, CELL_MAX);
    pr_buf_appendf(b, "</code></td></tr>\n");
}

static const char head_row[] =
    "<tr><th>runtime</th><th>seq</th><th>id</th><th>status</th>"
    "<th>slot</th><th>exit</th><th>command</th></tr>\n";

static void
slowest(struct pr_buf *b, const struct pr_report *r)
{
    size_t n, i, *v = pr_report_slowest(r, 10, &n);

    pr_buf_appendf(b, "<h2>The slowest %zu tasks</h2>\n<table>%s", n, head_row);
    for (i = 0; i < n; i++)
        row(b, &r->bars[v[i]]);
    pr_buf_appendf(b, "</table>\n");
    free(v);
}

static void
failed(struct pr_buf *b, const struct pr_report *r)
{
    size_t n, i, *v = pr_report_failed(r, &n);

    pr_buf_appendf(b, "<h2>Failed tasks (%zu)</h2>\n", n);
    if (n > 0)
        pr_buf_appendf(b, "<table>%s", head_row);
    for (i = 0; i < n; i++) {
        const struct pr_report_bar *bar = &r->bars[v[i]];

        row(b, bar);
        if ((bar->out == NULL || bar->out[0] == '\0') &&
            (bar->err == NULL || bar->err[0] == '\0'))
            continue;
        pr_buf_appendf(b, "<tr><td></td><td colspan=\"6\">");
        if (bar->out != NULL && bar->out[0] != '\0') {
            pr_buf_appendf(b, "stdout:<pre>");
            text(b, bar->out, HEAD_MAX);
            pr_buf_appendf(b, "</pre>");
        }
        if (bar->err != NULL && bar->err[0] != '\0') {
            pr_buf_appendf(b, "stderr:<pre>");
            text(b, bar->err, HEAD_MAX);
            pr_buf_appendf(b, "</pre>");
        }
        pr_buf_appendf(b, "</td></tr>\n");
    }
    if (n > 0)
        pr_buf_appendf(b, "</table>\n");
    free(v);
}

/* What the file did not give. */
static void
notes(struct pr_buf *b, const struct pr_report *r)
{
    if (r->from_joblog)
        pr_buf_appendf(b, "<p>Read from a job log, which has less detail: "
                          "no slots (each row is put on the lowest slot "
                          "free at its start), no output, no ids, and a "
                          "timeout shows as the signal that ended it.</p>\n");
    if (r->torn != 0)
        pr_buf_appendf(b,
                       "<p>Line %lu was cut short (a killed run?) and is "
                       "left out.</p>\n",
                       r->torn);
    if (r->skipped != 0 || r->callbacks != 0)
        pr_buf_appendf(b,
                       "<p>Not drawn: skipped tasks: %zu; callback "
                       "records: %zu.</p>\n",
                       r->skipped, r->callbacks);
}

void
pr_report_html(struct pr_buf *b, const struct pr_report *r, const char *title)
{
    pr_buf_appendf(b, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta "
                      "charset=\"utf-8\"><title>poolrun report: ");
    text(b, title, CELL_MAX);
    pr_buf_appendf(b, "</title><style>%s</style></head><body>\n", style);
    pr_report_svg(b, r, title, 0);
    pr_buf_appendf(b, "<section>\n");
    notes(b, r);
    slowest(b, r);
    failed(b, r);
    pr_buf_appendf(b, "</section></body></html>\n");
}
