/*
 * outwatch: the loop's eyes on stdout and stderr.  The output never waits
 * in a write; when a sink is full it says which stream it waits for, and
 * the watch polls that descriptor for room (and, for a pipe behind stdout,
 * for its reader going away: `poolrun | head -1` stops at once, not at the
 * next write).
 */
#ifndef PR_OUTWATCH_H
#define PR_OUTWATCH_H

#include <uv.h>

#include "output.h"

struct pr_outwatch;

/* Watches out's streams on loop; moved(data) after a wakeup has let the
 * output go on (room, or a reader gone). */
struct pr_outwatch *pr_outwatch_new(uv_loop_t *loop, struct pr_output *out,
                                    void (*moved)(void *), void *data);

/* The output changed: watch what it waits for now.  NULL is a no-op. */
void pr_outwatch_arm(struct pr_outwatch *w);

/* Closes the polls; free with pr_outwatch_free after the loop has run. */
void pr_outwatch_close(struct pr_outwatch *w);
void pr_outwatch_free(struct pr_outwatch *w);

#endif
