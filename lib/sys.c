/*
 * sys: Linux answers from /proc, with a POSIX fallback.  Only cold paths
 * call these (a task that left processes behind), so a /proc scan is fine.
 */
#ifdef __linux__
/* posix_spawn's POSIX_SPAWN_SETSID and addchdir_np are GNU extensions. */
#define _GNU_SOURCE
#endif
#include "sys.h"

#include <dirent.h>
#include <spawn.h>
#ifdef __linux__
#include <sys/sendfile.h>
#endif
#include <sys/syscall.h>
#include <sys/wait.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifdef __linux__
/* Reads state and pgrp from /proc/PID/stat: "pid (comm) S ppid pgrp ...";
 * comm may hold spaces and parentheses, so parse after the last ')'. */
static int
stat_state_pgrp(const char *pid, char *state, long *pgrp)
{
    char path[64];
    char buf[512];
    FILE *f;
    size_t n;
    char *p;
    long ppid;

    snprintf(path, sizeof(path), "/proc/%s/stat", pid);
    f = fopen(path, "re");
    if (f == NULL)
        return -1;
    n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    p = strrchr(buf, ')');
    if (p == NULL || sscanf(p + 1, " %c %ld %ld", state, &ppid, pgrp) != 3)
        return -1;
    return 0;
}

static int
scan_proc(pid_t pgid)
{
    DIR *d = opendir("/proc");
    struct dirent *e;
    int alive = 0;

    if (d == NULL)
        return -1;
    while (!alive && (e = readdir(d)) != NULL) {
        char state;
        long pgrp;

        if (e->d_name[0] < '0' || e->d_name[0] > '9')
            continue;
        if (stat_state_pgrp(e->d_name, &state, &pgrp) == 0 && pgrp == pgid &&
            state != 'Z' && state != 'X')
            alive = 1;
    }
    closedir(d);
    return alive;
}
#endif

int
pr_sys_cloexec_from(int low)
{
#ifdef __linux__
    DIR *d = opendir("/proc/self/fd");

    if (d != NULL) {
        int self = dirfd(d);
        struct dirent *e;

        while ((e = readdir(d)) != NULL) {
            char *end;
            long fd = strtol(e->d_name, &end, 10);

            if (end != e->d_name && *end == '\0' && fd >= low && fd != self)
                fcntl((int)fd, F_SETFD, FD_CLOEXEC);
        }
        closedir(d);
        return 0;
    }
#endif
    {
        long max = sysconf(_SC_OPEN_MAX);
        int fd;

        if (max < 0 || max > 65536)
            max = 65536;
        for (fd = low; fd < max; fd++)
            fcntl(fd, F_SETFD, FD_CLOEXEC);
    }
    return 0;
}

int
pr_sys_reopen_for_watch(int fd)
{
#ifdef __linux__
    struct stat st;
    char path[64];

    if (fstat(fd, &st) != 0 || !S_ISFIFO(st.st_mode))
        return -1;
    /* Opening /proc/self/fd/N of a pipe makes a new open file description
     * (unlike dup), so O_NONBLOCK on it does not reach fd. */
    snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    return open(path, O_WRONLY | O_CLOEXEC);
#else
    (void)fd;
    return -1;
#endif
}

int
pr_sys_group_alive(pid_t pgid)
{
    if (kill(-pgid, 0) != 0 && errno == ESRCH)
        return 0;
#ifdef __linux__
    {
        int alive = scan_proc(pgid);

        if (alive >= 0)
            return alive;
    }
#endif
    return 1;
}

int
pr_sys_pipe(int fds[2])
{
#ifdef __linux__
    if (pipe2(fds, O_CLOEXEC) != 0)
        return -errno;
#else
    if (pipe(fds) != 0)
        return -errno;
    fcntl(fds[0], F_SETFD, FD_CLOEXEC);
    fcntl(fds[1], F_SETFD, FD_CLOEXEC);
#endif
    return 0;
}

#if defined(__linux__) && defined(SYS_pidfd_open) &&                          \
    defined(POSIX_SPAWN_SETSID) && defined(__GLIBC__) &&                      \
    (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 29))
#define PR_HAVE_FAST_SPAWN 1

static int
pidfd_open_(pid_t pid)
{
    return (int)syscall(SYS_pidfd_open, pid, 0);
}

int
pr_sys_spawn_available(void)
{
    static int available = -1;

    if (available < 0) {
        int fd = pidfd_open_(getpid());

        available = fd >= 0;
        if (fd >= 0)
            close(fd);
    }
    return available;
}

int
pr_sys_spawn(const struct pr_sys_spawn *o, int *pid_out, int *pidfd_out)
{
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    sigset_t none, all;
    pid_t pid;
    int rc;
    int fd;

    if (!pr_sys_spawn_available())
        return -ENOSYS;
    posix_spawn_file_actions_init(&fa);
    posix_spawnattr_init(&attr);
    /* A new session (so the task's group can be signalled as one), an
     * empty signal mask and every signal at its default, even those we
     * ignore (SIGPIPE). */
    sigemptyset(&none);
    sigfillset(&all);
    sigdelset(&all, SIGKILL);
    sigdelset(&all, SIGSTOP);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSID |
                                        POSIX_SPAWN_SETSIGMASK |
                                        POSIX_SPAWN_SETSIGDEF);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setsigdefault(&attr, &all);
    if (o->in_fd >= 0)
        posix_spawn_file_actions_adddup2(&fa, o->in_fd, 0);
    else
        posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, o->out_fd, 1);
    posix_spawn_file_actions_adddup2(&fa, o->err_fd, 2);
    if (o->fd3 >= 0)
        posix_spawn_file_actions_adddup2(&fa, o->fd3, 3);
    if (o->cwd != NULL)
        posix_spawn_file_actions_addchdir_np(&fa, o->cwd);
    if (strchr(o->file, '/') != NULL)
        rc = posix_spawn(&pid, o->file, &fa, &attr, o->argv, o->envp);
    else
        rc = posix_spawnp(&pid, o->file, &fa, &attr, o->argv, o->envp);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
    if (rc != 0)
        return -rc;
    fd = pidfd_open_(pid);
    if (fd < 0) {
        /* Cannot watch it: do not leave it running unwatched. */
        int status;

        rc = -errno;
        kill(-pid, SIGKILL);
        waitpid(pid, &status, 0);
        return rc;
    }
    fcntl(fd, F_SETFD, FD_CLOEXEC);
    *pid_out = pid;
    *pidfd_out = fd;
    return 0;
}

int
pr_sys_reap(int pid, int *exit_status, int *term_signal)
{
    int status;
    pid_t r;

    do
        r = waitpid(pid, &status, WNOHANG);
    while (r < 0 && errno == EINTR);
    if (r == 0)
        return 0;
    if (r < 0)
        return -errno;
    *exit_status = WIFEXITED(status) ? WEXITSTATUS(status) : 0;
    *term_signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
    return 1;
}
#else
int
pr_sys_spawn_available(void)
{
    return 0;
}

int
pr_sys_spawn(const struct pr_sys_spawn *o, int *pid_out, int *pidfd_out)
{
    (void)o;
    (void)pid_out;
    (void)pidfd_out;
    return -ENOSYS;
}

int
pr_sys_reap(int pid, int *exit_status, int *term_signal)
{
    (void)pid;
    (void)exit_status;
    (void)term_signal;
    return -ENOSYS;
}
#endif

int
pr_sys_copy_to(int in_fd, off_t *off, int out_fd)
{
#ifdef __linux__
    struct stat st;

    if (fstat(in_fd, &st) != 0)
        return 0;
    while (*off < st.st_size) {
        ssize_t n = sendfile(out_fd, in_fd, off, (size_t)(st.st_size - *off));

        if (n > 0)
            continue;
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return 0; /* a non-blocking reader: the caller's loop waits */
        if (n < 0 && (errno == EINVAL || errno == ENOSYS))
            return 0; /* not for this pair of files */
        if (n < 0)
            return -errno;
        break;
    }
    return 1;
#else
    (void)in_fd;
    (void)off;
    (void)out_fd;
    return 0;
#endif
}
