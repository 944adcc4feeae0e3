/*
 * sys: the few questions only the kernel can answer, kept apart so that a
 * non-Linux build swaps one file.  On Linux they read /proc; elsewhere they
 * fall back to plain POSIX calls.
 */
#ifndef PR_SYS_H
#define PR_SYS_H

#include <stdint.h>
#include <sys/types.h>

/* Does process group pgid still hold a live process?  A zombie does not
 * count: its parent (often init, which may reap late) will remove it, and
 * it can neither run nor hold a pipe.  Returns 1 or 0. */
int pr_sys_group_alive(pid_t pgid);

/* Large blocks (from `bytes` up) are mapped apart and given back to the
 * system once freed, whatever was freed before (glibc otherwise raises the
 * mark after each large free, and a long-lived process keeps its peak):
 * the queue service's large submits come and go.  Nothing elsewhere. */
void pr_sys_return_large_blocks(size_t bytes);

/* Marks every descriptor from `low` up close-on-exec, so that tasks get
 * only what poolrun hands them.  Returns 0 or a negative errno. */
int pr_sys_cloexec_from(int low);

/* How poolrun writes its stdout or stderr, descriptors it shares with the
 * shell, without ever waiting in write() (O_NONBLOCK on them would reach
 * every other process that uses the same open file description). */
enum pr_writer_kind {
    PR_WRITER_BLOCKING, /* a regular file or a device such as /dev/null,
                           whose writes never wait for a reader (or
                           nothing better can be done): plain write() */
    PR_WRITER_OWN,      /* a pipe, FIFO or terminal opened anew through
                           /proc/self/fd: a description of our own, made
                           non-blocking */
    PR_WRITER_BOUNCE,   /* a pipe that cannot be opened anew (another
                           user's): pwritev2(RWF_NOWAIT), or through a pipe
                           of our own spliced on with SPLICE_F_NONBLOCK */
    PR_WRITER_SOCKET    /* a stream socket: send(MSG_DONTWAIT) */
};

struct pr_writer {
    int fd;           /* the shared descriptor (1 or 2) */
    int wfd;          /* what to write to: our own description, or fd */
    int poll_fd;      /* ready while wfd can take bytes, or -1 (for a
                         bounce, until its first write) */
    int poll_read;    /* poll_fd is an epoll set: ready means readable */
    int watch_reader; /* poll_fd is a pipe: its reader going away shows */
    enum pr_writer_kind kind;
    int bounce[2];    /* PR_WRITER_BOUNCE: our own pipe, once needed */
    size_t bounced;   /* bytes taken that wait in it */
    int nowait_fails; /* pwritev2(RWF_NOWAIT) is not for this pipe */
};

/* Sets w up to write to fd (see pr_writer_kind).  Never fails: what cannot
 * be written without waiting here is written with blocking writes.  Close
 * with pr_sys_writer_close. */
void pr_sys_writer_open(struct pr_writer *w, int fd);
void pr_sys_writer_close(struct pr_writer *w);

/* Writes up to n bytes and sets *done to how many were taken.  Returns 0
 * when all went out, -EAGAIN when the sink is full (wait for poll_fd, then
 * pr_sys_writer_push: some taken bytes may wait inside w), or -errno.  A
 * blocking writer writes everything or fails. */
int pr_sys_writer_write(struct pr_writer *w, const void *p, size_t n,
                        size_t *done);

/* Can w write without waiting, and tell by poll_fd when it has room?
 * (A bounce makes its watch now; if it cannot, it becomes a blocking
 * writer.) */
int pr_sys_writer_can_wait(struct pr_writer *w);

/* Passes on the bytes w took but could not write yet.  Returns 0 when
 * none wait any more, -EAGAIN, or -errno. */
int pr_sys_writer_push(struct pr_writer *w);

/* Copies in_fd from *off up to end onto the writer inside the kernel
 * (sendfile, splice), advancing *off.  Returns 0 when *off reaches end,
 * -EAGAIN when the sink is full, 1 when the caller must copy (read and
 * pr_sys_writer_write) instead, or -errno. */
int pr_sys_writer_copy(struct pr_writer *w, int in_fd, off_t *off, off_t end);

/* Copies in_fd's bytes from offset *off to its end onto out_fd, inside the
 * kernel where it can (sendfile).  Advances *off.  Returns 1 when done, 0
 * when the caller should copy the rest itself, or -errno from writing. */
int pr_sys_copy_to(int in_fd, off_t *off, int out_fd);

/* Moves up to len bytes from the pipe in_fd onto out_fd inside the kernel
 * (splice), never waiting on a pipe.  Returns the bytes moved, 0 at the
 * pipe's EOF, or -errno: -EAGAIN when in_fd is empty or out_fd is a full
 * pipe, -EINVAL or -ENOSYS when out_fd cannot take it this way. */
ssize_t pr_sys_splice(int in_fd, int out_fd, size_t len);

/* Moves up to len bytes of the file in_fd at *off onto the pipe out_fd
 * inside the kernel (splice), never waiting on the pipe; advances *off.
 * Returns the bytes moved, 0 at the file's end, or -errno: -EAGAIN when
 * out_fd is full, -EINVAL or -ENOSYS when the file cannot splice. */
ssize_t pr_sys_splice_at(int in_fd, uint64_t *off, int out_fd, size_t len);

/* The bytes waiting in the pipe fd, or -1 if that cannot be told. */
int pr_sys_pipe_pending(int fd);

/* What fd is, as a sink for splice: PR_SINK_PIPE (a pipe or FIFO: pages
 * move without a copy), PR_SINK_CHAR (a character device such as
 * /dev/null), or PR_SINK_OTHER (a regular file: there splice is slower
 * than write, so it is not used). */
enum pr_sink_kind { PR_SINK_OTHER, PR_SINK_PIPE, PR_SINK_CHAR };
enum pr_sink_kind pr_sys_sink_kind(int fd);

/* A pipe whose two ends are close-on-exec.  Returns 0 or -errno. */
int pr_sys_pipe(int fds[2]);

/* Asks for the pipe fd to hold up to n bytes (Linux: F_SETPIPE_SZ, as far
 * as /proc/sys/fs/pipe-max-size allows), so that a writer of n bytes
 * waits for its reader less often.  Best effort: nothing on failure. */
void pr_sys_pipe_grow(int fd, size_t n);

/* How to start a task with pr_sys_spawn. */
struct pr_sys_spawn {
    const char *file;   /* a path, or a name searched in poolrun's PATH */
    char *const *argv;
    char *const *envp;
    const char *cwd;    /* or NULL */
    int in_fd;          /* becomes the task's fd 0, or -1 for /dev/null */
    int out_fd;         /* becomes the task's fd 1 */
    int err_fd;         /* becomes its fd 2 */
    int fd3;            /* becomes its fd 3, or -1 */
};

/* Is the fast spawn (vfork, a new session, a pidfd) there? */
int pr_sys_spawn_available(void);

/* Starts a process as o says, in a new session, with default signal
 * handling, an empty mask and in_fd (or /dev/null) as stdin.  Returns 0 with its pid
 * and a pidfd (readable once it exits; close it), -ENOSYS where this
 * cannot be done, or the -errno of the failed spawn or exec. */
int pr_sys_spawn(const struct pr_sys_spawn *o, int *pid, int *pidfd);

/* Makes room for want open descriptors: a soft limit on open files below
 * want is raised to want, or to the hard limit if that is lower.  Tasks
 * started by pr_sys_spawn get the soft limit poolrun began with (a
 * program may size a table by it, or close every descriptor below it).
 * Returns 0 or -errno. */
int pr_sys_files_want(uint64_t want);

/* Reaps exactly pid if it has exited.  Returns 1 with its exit status or
 * signal, 0 if it still runs, or -errno. */
int pr_sys_reap(int pid, int *exit_status, int *term_signal);

/* Has exactly pid exited (a zombie not yet reaped)?  It stays unreaped,
 * for whoever waits for it.  Returns 1, 0 if it runs, or -errno. */
int pr_sys_exited(int pid);

/* Is pid on its way out: exiting (its files may already be closed) or
 * exited?  1 or 0; 1 too if it cannot be found. */
int pr_sys_exiting(int pid);

/* Makes poolrun the child subreaper of everything it starts (Linux), so
 * that a process that leaves its task's group (setsid, a double fork)
 * becomes poolrun's child when its parent dies, instead of init's.
 * Returns 1 if that is in force, 0 if not available here. */
int pr_sys_become_subreaper(void);

/* The pids of poolrun's children, into *out (free it); their number, or
 * a negative errno where this cannot be known. */
int pr_sys_children(int **out);

/* The width in columns of the terminal on fd (TIOCGWINSZ), or 0 if it is
 * no terminal or does not say. */
unsigned pr_sys_term_columns(int fd);

#endif
