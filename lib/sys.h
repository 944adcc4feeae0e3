/*
 * sys: the few questions only the kernel can answer, kept apart so that a
 * non-Linux build swaps one file.  On Linux they read /proc; elsewhere they
 * fall back to plain POSIX calls.
 */
#ifndef PR_SYS_H
#define PR_SYS_H

#include <sys/types.h>

/* Does process group pgid still hold a live process?  A zombie does not
 * count: its parent (often init, which may reap late) will remove it, and
 * it can neither run nor hold a pipe.  Returns 1 or 0. */
int pr_sys_group_alive(pid_t pgid);

/* Marks every descriptor from `low` up close-on-exec, so that tasks get
 * only what poolrun hands them.  Returns 0 or a negative errno. */
int pr_sys_cloexec_from(int low);

/* For fd, the write end of a pipe or a socket: returns a new descriptor of
 * the same object with its own file status flags (so that making it
 * non-blocking leaves fd alone), to watch for the reader going away.
 * Returns -1 when fd is something else or this cannot be done here. */
int pr_sys_reopen_for_watch(int fd);

/* Copies in_fd's bytes from offset *off to its end onto out_fd, inside the
 * kernel where it can (sendfile).  Advances *off.  Returns 1 when done, 0
 * when the caller should copy the rest itself, or -errno from writing. */
int pr_sys_copy_to(int in_fd, off_t *off, int out_fd);

/* Moves up to len bytes from the pipe in_fd onto out_fd inside the kernel
 * (splice), never waiting on a pipe.  Returns the bytes moved, 0 at the
 * pipe's EOF, or -errno: -EAGAIN when in_fd is empty or out_fd is a full
 * pipe, -EINVAL or -ENOSYS when out_fd cannot take it this way. */
ssize_t pr_sys_splice(int in_fd, int out_fd, size_t len);

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

#endif
