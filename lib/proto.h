/*
 * proto: the wire format between poolrun's clients and `poolrun serve`.
 * A frame is a 4-byte big-endian length, then that many bytes of UTF-8
 * JSON (one object; proto never parses it).  A length of 0 or over
 * PR_PROTO_MAX is a broken stream: the reader stops there for good, and
 * the connection is to be closed (after an error reply, if the server
 * likes).  The reader holds at most one frame plus the next header, and
 * copies a message's bytes at most once (not at all when a whole frame
 * lies in one chunk it was fed).
 *
 * Errors, for one clear line each:
 *   UV_E2BIG   a frame's length is over PR_PROTO_MAX ("message too large")
 *   UV_EINVAL  a frame's length is 0 ("malformed message")
 *   UV_EOF     the peer closed the connection inside a frame
 *   -errno     from read/write/poll (UV_EPIPE, UV_ECONNRESET: peer gone)
 */
#ifndef PR_PROTO_H
#define PR_PROTO_H

#include <stddef.h>
#include <stdint.h>

#include "util.h"

/* The largest message: a bulk submit of many tasks fits in one. */
#define PR_PROTO_MAX    ((size_t)64 << 20)
#define PR_PROTO_HEADER 4

/* Appends a frame holding json[0..n) to out.  Returns 0, UV_EINVAL when n
 * is 0 or UV_E2BIG when n is over PR_PROTO_MAX (out is then unchanged). */
int pr_proto_frame(struct pr_buf *out, const char *json, size_t n);

/* To encode a message straight into out, with no copy: note start =
 * pr_proto_frame_begin(out) (it appends a placeholder header), append the
 * JSON to out, then pr_proto_frame_end(out, start) writes the length.
 * Returns as pr_proto_frame; on an error the frame is taken off out. */
size_t pr_proto_frame_begin(struct pr_buf *out);
int pr_proto_frame_end(struct pr_buf *out, size_t start);

/* An incremental decoder for one stream.  Zero-initialise it (or
 * pr_proto_reader_init); free with pr_proto_reader_free.  Fields are
 * private. */
struct pr_proto_reader {
    char *data;        /* the frame being assembled, from its header on */
    size_t len;        /* bytes in data */
    size_t cap;        /* bytes allocated at data */
    size_t done;       /* the frame handed out last from data, to drop */
    const char *chunk; /* the fed chunk's bytes not yet consumed */
    size_t chunk_len;
    int err; /* a broken stream's error, for good */
};

void pr_proto_reader_init(struct pr_proto_reader *r);
void pr_proto_reader_free(struct pr_proto_reader *r);

/* Gives the reader the next n bytes of the stream.  They are borrowed,
 * not copied: p must stay valid and unchanged until pr_proto_next returns
 * 0 or an error, and only then may the reader be fed again (the usual
 * loop: feed one read's bytes, call pr_proto_next until it returns 0,
 * free the bytes).  Only the tail of a frame cut by the chunk's end is
 * copied in. */
void pr_proto_feed(struct pr_proto_reader *r, const void *p, size_t n);

/* The next whole message: returns 1 with *msg and *len (not
 * NUL-terminated; len >= 1), 0 when more bytes are needed, or UV_E2BIG or
 * UV_EINVAL (see above; every later call returns the same).  *msg stays
 * valid until the next call on r, and, when it lies in the fed chunk, as
 * long as that chunk does. */
int pr_proto_next(struct pr_proto_reader *r, const char **msg, size_t *len);

/* The frame pr_proto_next handed out last is no longer needed (its message
 * has been parsed): a large one's memory is let go now, not at the next
 * call. */
void pr_proto_release(struct pr_proto_reader *r);

/* Are there bytes of an unfinished frame in r?  (A peer that closes the
 * stream now cut a message short.) */
int pr_proto_pending(const struct pr_proto_reader *r);

/* For a blocking client: reads from fd into r (never past the frame it
 * needs plus the next header) until a whole message is there.  Returns 1
 * with *msg and *len as pr_proto_next, 0 when the peer closed the stream
 * between frames, UV_EOF when it closed it inside one, UV_E2BIG or
 * UV_EINVAL, or -errno from read.  Waits with poll() if fd is
 * non-blocking; retries on EINTR.  Do not mix with pr_proto_feed on one
 * reader. */
int pr_proto_read_blocking(int fd, struct pr_proto_reader *r, const char **msg,
                           size_t *len);

/* Writes one frame holding json[0..n) to fd, whole: retries short writes
 * and EINTR, waits with poll() if fd is non-blocking, and never raises
 * SIGPIPE on a socket.  Returns 0, UV_EINVAL or UV_E2BIG as
 * pr_proto_frame, or -errno (UV_EPIPE: the peer is gone). */
int pr_proto_write_all(int fd, const char *json, size_t n);

/* Writes p[0..n), bytes already framed (by pr_proto_frame), to fd as
 * pr_proto_write_all does.  Returns 0 or -errno. */
int pr_proto_send(int fd, const void *p, size_t n);

#endif
