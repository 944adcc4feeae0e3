/*
 * capture: one stream of one task, as it was written: in memory up to a
 * limit and past it in a private, already unlinked temporary file.  It
 * only holds bytes; the output sink (output.h) decides when and how they
 * go out, and records and callbacks read them back.  A leaf: it knows
 * nothing of tasks or sinks.
 */
#ifndef PR_CAPTURE_H
#define PR_CAPTURE_H

#include <stddef.h>
#include <stdint.h>

#include "util.h"

struct pr_capture {
    struct pr_buf mem;
    int spill_fd;     /* -1 until the capture spills to a temporary file */
    uint64_t spilled; /* bytes in that file */
    uint64_t total;   /* every byte the task wrote */
    uint64_t lost;    /* bytes dropped: no temporary file could take them */
    int lost_err;     /* why (negative errno), or 0 */
    int mid_line;     /* --tag: the last byte seen was not a newline */
};

void pr_capture_init(struct pr_capture *c);

/* Appends n bytes; past `limit` bytes in memory the capture moves to a
 * temporary file.  If no file can be made or written (a full disk), the
 * capture keeps what it has, drops the rest and counts it in `lost`, so
 * memory stays bounded.  Returns 0, or the negative errno of the file. */
int pr_capture_append(struct pr_capture *c, const void *p, size_t n,
                      size_t limit);

/* Writes the whole capture to fd.  Returns 0 or a negative errno from the
 * write (reading back a spill file that fails is reported the same way). */
int pr_capture_emit(const struct pr_capture *c, int fd);

/* Appends to b the first bytes of the capture, at most max. */
void pr_capture_head(const struct pr_capture *c, struct pr_buf *b, size_t max);

/* Releases memory and closes the spill file. */
void pr_capture_free(struct pr_capture *c);

#endif
