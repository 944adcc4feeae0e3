/*
 * fdread: the reader of one input descriptor that the lines and --pipe
 * sources share.  How fd is read depends on what it is: a tty through
 * uv_tty_t, a pipe, FIFO or socket through uv_pipe_t (uv_read_stop pauses
 * either), anything else (a regular file, a block device, /dev/null) by
 * plain read() calls from an idle handle, one read per loop turn
 * (uv_pipe_open accepts a file and then aborts in uv_run; uv_fs_read would
 * start libuv's thread pool, which aborts the process where threads cannot
 * be had).  A directory is refused; a closed descriptor is empty input.
 * The descriptor's status flags, which libuv makes non-blocking, are put
 * back as they were.  The reader lives inside its source (no allocation)
 * and reads into the source's own buffer, as much as the source asks.
 */
#ifndef PR_FDREAD_H
#define PR_FDREAD_H

#include <stddef.h>
#include <sys/types.h>
#include <uv.h>

struct pr_fdread;

/* Where the next read goes: returns the room and sets *len to its size. */
typedef char *pr_fdread_space_fn(struct pr_fdread *r, size_t *len);

/* A read is done, as libuv's read callbacks say: n > 0 bytes were put in
 * the room; 0 none (a stream's empty read); UV_EOF the end; any other
 * negative code an error.  After UV_EOF or an error nothing is read. */
typedef void pr_fdread_got_fn(struct pr_fdread *r, ssize_t n);

typedef void pr_fdread_closed_fn(struct pr_fdread *r);

enum pr_fdread_kind {
    PR_FDREAD_STREAM, /* a pipe, FIFO, socket or tty */
    PR_FDREAD_FILE,   /* anything else: read() from an idle handle */
    PR_FDREAD_NONE    /* a closed descriptor: empty input, nothing read */
};

struct pr_fdread {
    union {
        uv_handle_t handle;
        uv_stream_t stream;
        uv_pipe_t pipe;
        uv_tty_t tty;
        uv_idle_t idle;
    } h;
    pr_fdread_space_fn *space;
    pr_fdread_got_fn *got;
    pr_fdread_closed_fn *closed; /* the close's callback, or NULL */
    int fd;
    int saved_flags; /* fd's status flags before libuv touched them, or -1 */
    enum pr_fdread_kind kind;
    int open;    /* h is initialised and not yet closed */
    int reading; /* a stream read or the idle handle is on */
};

/* Sets up a reader that is not open.  A callback finds the reader's owner
 * with PR_CONTAINER_OF. */
void pr_fdread_init(struct pr_fdread *r, pr_fdread_space_fn *space,
                    pr_fdread_got_fn *got);

/* Opens fd on loop by what it is, not reading yet (see the top); sets
 * r->kind.  Returns 0, UV_EISDIR for a directory, or another negative
 * code (the flags are then as they were and nothing is open). */
int pr_fdread_open(struct pr_fdread *r, uv_loop_t *loop, int fd);

/* Reads until paused or at the end; a failure to start is reported
 * through got.  Nothing when already reading or not open. */
void pr_fdread_want_more(struct pr_fdread *r);
void pr_fdread_pause(struct pr_fdread *r);

/* Puts fd's status flags back (they are shared with whoever else holds
 * the file); once: later calls do nothing. */
void pr_fdread_restore_flags(struct pr_fdread *r);

/* Puts the flags back and closes the handle, if open and not closing;
 * closed (or NULL) is then called from the loop.  Returns 1 when the
 * handle held fd and closes it (libuv spares 0, 1 and 2): fd is then no
 * longer the caller's to close.  (A tty handle may hold a descriptor of
 * its own, reopened from the tty's name; fd then stays the caller's.) */
int pr_fdread_close(struct pr_fdread *r, pr_fdread_closed_fn *closed);

#endif
