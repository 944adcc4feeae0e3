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

#endif
