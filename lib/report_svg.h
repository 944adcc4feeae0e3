/*
 * report_svg: the pictures of `poolrun report`: a timeline with a row per
 * slot and a bar per attempt, and the tasks finished over time.  The
 * geometry is fixed (the tests look for bars at the pixels the data puts
 * them): time runs from x = PR_REPORT_LEFT (the first start) to
 * PR_REPORT_LEFT + PR_REPORT_PLOT (the last end); slot s's row starts at
 * y = PR_REPORT_TOP + (s - 1) * pr_report_row(nslots).
 */
#ifndef PR_REPORT_SVG_H
#define PR_REPORT_SVG_H

#include "report.h"
#include "util.h"

#define PR_REPORT_WIDTH 1000
#define PR_REPORT_LEFT  100
#define PR_REPORT_PLOT  880
#define PR_REPORT_TOP   70

/* The height of a slot's row: 24 px, less when there are many slots (480
 * px in all), never under 3. */
unsigned pr_report_row(unsigned nslots);

/* Appends the <svg> element of the timeline and the rate chart (and, if
 * tables, the slowest and the failed tasks as text below them) for a
 * document named title.  Returns the picture's height. */
unsigned pr_report_svg(struct pr_buf *b, const struct pr_report *r,
                       const char *title, int tables);

/* " N s" for a bar's hover text and the tables: ms below 10 s. */
void pr_report_seconds(struct pr_buf *b, double s);

#endif
