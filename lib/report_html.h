/*
 * report_html: the page of `poolrun report`: the pictures of report_svg
 * at the top left (at the same pixels as in the SVG file), then the
 * slowest tasks and the failed ones with the head of their output.  One
 * file: no script, no font, nothing fetched.
 */
#ifndef PR_REPORT_HTML_H
#define PR_REPORT_HTML_H

#include "report.h"
#include "util.h"

/* Appends the whole page, named title, to b. */
void pr_report_html(struct pr_buf *b, const struct pr_report *r,
                    const char *title);

#endif
