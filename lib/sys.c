/*
 * sys: Linux answers from /proc, with a POSIX fallback.  Only cold paths
 * call these (a task that left processes behind), so a /proc scan is fine.
 */
#ifdef __linux__
/* execvpe is a GNU extension. */
#define _GNU_SOURCE
#endif
#include "sys.h"

#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include <dirent.h>
#ifdef __linux__
#include <sys/epoll.h>
#include <sys/sendfile.h>
#endif
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util.h"

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

#ifdef __linux__
/* A private epoll set watching fd for room: it is readable while fd is
 * writable, and libuv can poll it without touching fd (libuv sets
 * O_NONBLOCK on what it polls).  Returns it, or -1. */
static int
watch_set(int fd)
{
    struct epoll_event ev;
    int ep = epoll_create1(EPOLL_CLOEXEC);

    if (ep < 0)
        return -1;
    memset(&ev, 0, sizeof(ev));
    ev.events = EPOLLOUT;
    ev.data.fd = fd;
    if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) != 0) {
        close(ep);
        return -1;
    }
    return ep;
}
#endif

void
pr_sys_writer_open(struct pr_writer *w, int fd)
{
    struct stat st;
    int fl;

    memset(w, 0, sizeof(*w));
    w->fd = fd;
    w->wfd = fd;
    w->poll_fd = -1;
    w->bounce[0] = w->bounce[1] = -1;
    w->kind = PR_WRITER_BLOCKING;
    fl = fcntl(fd, F_GETFL);
    if (fl < 0 || (fl & O_ACCMODE) == O_RDONLY || fstat(fd, &st) != 0)
        return;
#ifdef __linux__
    if (S_ISFIFO(st.st_mode) || (S_ISCHR(st.st_mode) && isatty(fd))) {
        struct stat st2;
        char path[64];
        int nfd;

        /* Opening /proc/self/fd/N of a pipe or a terminal makes a new open
         * file description of the same object (unlike dup): O_NONBLOCK on
         * it does not reach fd. */
        snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
        nfd = open(path, O_WRONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
        if (nfd >= 0 &&
            (fstat(nfd, &st2) != 0 || st2.st_dev != st.st_dev ||
             st2.st_ino != st.st_ino || st2.st_rdev != st.st_rdev)) {
            close(nfd);
            nfd = -1;
        }
        if (nfd >= 0) {
            w->wfd = nfd;
            w->poll_fd = nfd;
            w->watch_reader = S_ISFIFO(st.st_mode);
            w->kind = PR_WRITER_OWN;
            return;
        }
        /* Refused: a pipe made by another user (its mode is 0600), a FIFO
         * whose reader has gone (ENXIO).  splice(SPLICE_F_NONBLOCK) into a
         * pipe does not wait, whatever its flags: bytes go through a pipe
         * of our own on their way (made at the first write, see
         * bounce_ready). */
        if (S_ISFIFO(st.st_mode)) {
            w->poll_read = 1;
            w->kind = PR_WRITER_BOUNCE;
        }
        return;
    }
    if (S_ISSOCK(st.st_mode)) {
        int type = 0;
        socklen_t len = sizeof(type);

        /* A socket cannot be opened anew, but send(MSG_DONTWAIT) does not
         * wait. */
        if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) != 0 ||
            type != SOCK_STREAM || (w->poll_fd = watch_set(fd)) < 0)
            return;
        w->poll_read = 1;
        w->kind = PR_WRITER_SOCKET;
    }
#endif
}

void
pr_sys_writer_close(struct pr_writer *w)
{
    if (w->poll_fd >= 0 && w->poll_fd != w->wfd)
        close(w->poll_fd);
    if (w->wfd != w->fd)
        close(w->wfd);
    if (w->bounce[0] >= 0) {
        close(w->bounce[0]);
        close(w->bounce[1]);
    }
    w->bounce[0] = w->bounce[1] = -1;
    w->bounced = 0;
    w->poll_fd = -1;
    w->wfd = w->fd;
    w->kind = PR_WRITER_BLOCKING;
}

/* A bounce that cannot have a descriptor it needs (a run at its
 * descriptor limit) writes with blocking writes from now on, as it would
 * have without all this: first what its pipe still holds. */
static void
bounce_give_up(struct pr_writer *w)
{
#ifdef __linux__
    while (w->bounced > 0) {
        ssize_t n =
            splice(w->bounce[0], NULL, w->fd, NULL, w->bounced, SPLICE_F_MOVE);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break; /* the sink failed: those bytes are lost, as written */
        w->bounced -= (size_t)n;
    }
#endif
    w->bounced = 0;
    w->kind = PR_WRITER_BLOCKING;
}

int
pr_sys_writer_can_wait(struct pr_writer *w)
{
#ifdef __linux__
    /* A bounce makes its watch only when it first has to wait: a run at
     * its descriptor limit may have none to spare, and most runs never
     * need it. */
    if (w->kind == PR_WRITER_BOUNCE && w->poll_fd < 0 &&
        (w->poll_fd = watch_set(w->fd)) < 0)
        bounce_give_up(w);
#endif
    return w->kind != PR_WRITER_BLOCKING && w->poll_fd >= 0;
}

int
pr_sys_writer_push(struct pr_writer *w)
{
#ifdef __linux__
    while (w->bounced > 0) {
        ssize_t n = splice(w->bounce[0], NULL, w->fd, NULL, w->bounced,
                           SPLICE_F_MOVE | SPLICE_F_NONBLOCK);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return errno == EAGAIN || errno == EWOULDBLOCK ? -EAGAIN : -errno;
        if (n == 0)
            return -EIO; /* cannot be: our pipe holds them */
        w->bounced -= (size_t)n;
    }
#else
    (void)w;
#endif
    return 0;
}

#ifdef __linux__
/* One write to a pipe we may not open again.  pwritev2(RWF_NOWAIT) does
 * not wait and needs no descriptor of our own (pipes made by pipe(2), since
 * Linux 6.4); else through our own pipe, spliced on with
 * SPLICE_F_NONBLOCK.  Bytes taken, or -1 with errno. */
static ssize_t
bounce_write(struct pr_writer *w, const char *p, size_t n)
{
    ssize_t k;
    int rc = pr_sys_writer_push(w);

    if (rc != 0) {
        errno = -rc;
        return -1;
    }
#ifdef RWF_NOWAIT
    if (!w->nowait_fails) {
        struct iovec iov;

        iov.iov_base = (void *)(uintptr_t)p;
        iov.iov_len = n;
        k = pwritev2(w->fd, &iov, 1, -1, RWF_NOWAIT);
        if (k >= 0 || (errno != EOPNOTSUPP && errno != EINVAL))
            return k;
        w->nowait_fails = 1;
    }
#endif
    if (w->bounce[0] < 0) {
        if (pr_sys_pipe(w->bounce) != 0) {
            w->bounce[0] = w->bounce[1] = -1;
            bounce_give_up(w);
            errno = EOPNOTSUPP; /* the caller writes it blocking */
            return -1;
        }
        fcntl(w->bounce[0], F_SETFL, O_NONBLOCK);
        fcntl(w->bounce[1], F_SETFL, O_NONBLOCK);
    }
    /* Our pipe is empty: fill it, and pass on what fits. */
    k = write(w->bounce[1], p, n);
    if (k < 0)
        return -1;
    w->bounced += (size_t)k;
    rc = pr_sys_writer_push(w);
    if (rc != 0 && rc != -EAGAIN) {
        errno = -rc;
        return -1;
    }
    return k; /* taken; pr_sys_writer_write tells if it must wait */
}
#endif

/* One write that does not wait: bytes taken, or -1 with errno. */
static ssize_t
write_once(struct pr_writer *w, const char *p, size_t n)
{
#ifdef __linux__
    if (w->kind == PR_WRITER_SOCKET)
        return send(w->wfd, p, n, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (w->kind == PR_WRITER_BOUNCE)
        return bounce_write(w, p, n);
#endif
    return write(w->wfd, p, n);
}

int
pr_sys_writer_write(struct pr_writer *w, const void *p, size_t n, size_t *done)
{
    const char *b = p;
    size_t left = n;

    *done = 0;
    for (;;) {
        int full = 0;

        if (w->kind == PR_WRITER_BLOCKING) {
            int rc = left > 0 ? pr_write_all(w->fd, b, left) : 0;

            if (rc == 0)
                *done += left;
            return rc;
        }
        while (left > 0 && !full) {
            ssize_t r = write_once(w, b, left);

            if (r < 0 && errno == EINTR)
                continue;
            if (r < 0 && errno == EOPNOTSUPP && w->kind == PR_WRITER_BLOCKING)
                break; /* a bounce gave up: the loop above writes it */
            if (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
                return -errno;
            if (r < 0)
                r = 0;
            b += r;
            left -= (size_t)r;
            *done += (size_t)r;
            /* A short write: the sink is full; asking again would only
             * say so. */
            full = left > 0;
        }
        if (w->kind == PR_WRITER_BLOCKING)
            continue;
        /* Some taken bytes may still be in our own pipe: wait, then push. */
        if (!full && w->bounced == 0)
            return 0;
        if (pr_sys_writer_can_wait(w))
            return -EAGAIN;
        /* Cannot wait here after all: write the rest blocking. */
    }
}

int
pr_sys_writer_copy(struct pr_writer *w, int in_fd, off_t *off, off_t end)
{
#ifdef __linux__
    if (w->kind == PR_WRITER_SOCKET)
        return 1; /* sendfile would wait on a blocking socket */
    while (*off < end) {
        size_t want = (size_t)(end - *off);
        ssize_t n;

        if (w->kind == PR_WRITER_BOUNCE) {
            loff_t o = *off;
            int rc = pr_sys_writer_push(w);

            if (rc == -EAGAIN && !pr_sys_writer_can_wait(w))
                continue; /* gave up: blocking from now on */
            if (rc != 0)
                return rc; /* what it took earlier goes first */
            /* Straight into the shared pipe, without waiting. */
            n = splice(in_fd, &o, w->fd, NULL, want,
                       SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
            if (n > 0)
                *off = (off_t)o;
            if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) &&
                !pr_sys_writer_can_wait(w))
                continue; /* gave up: blocking from now on */
        } else {
            n = sendfile(w->wfd, in_fd, off, want);
        }
        if (n > 0)
            continue;
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            if (w->kind != PR_WRITER_BLOCKING)
                return -EAGAIN;
            return 1; /* someone made a shared sink non-blocking */
        }
        if (n < 0 && (errno == EINVAL || errno == ENOSYS))
            return 1; /* not for this pair of files */
        if (n < 0)
            return -errno;
        return 1; /* the file is shorter than it should be: read it */
    }
    return 0;
#else
    (void)w;
    (void)in_fd;
    (void)off;
    (void)end;
    return 1;
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

void
pr_sys_pipe_grow(int fd, size_t n)
{
#ifdef F_SETPIPE_SZ
    /* Linux's default pipe-max-size for an unprivileged user: a larger
     * request fails, and a smaller pipe still works. */
    const size_t max = (size_t)1 << 20;

    if (n > 64 * 1024)
        fcntl(fd, F_SETPIPE_SZ, (int)(n < max ? n : max));
#else
    (void)fd;
    (void)n;
#endif
}

/* The soft limit on open files poolrun began with, once it raised it. */
static struct rlimit first_nofile;
static int nofile_raised;

int
pr_sys_files_want(uint64_t want)
{
    struct rlimit rl;

    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return -errno;
    if (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur >= want)
        return 0;
    if (!nofile_raised)
        first_nofile = rl;
    rl.rlim_cur = rl.rlim_max != RLIM_INFINITY && rl.rlim_max < want
                      ? rl.rlim_max
                      : (rlim_t)want;
    if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
        return -errno;
    nofile_raised = 1;
    return 0;
}

#if defined(__linux__) && defined(SYS_pidfd_open) && defined(__GLIBC__)
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

/* The signals a child must put back to their default before it runs
 * anything: every one poolrun catches or ignores (a caught one would run
 * poolrun's handler in the child, which shares its memory until exec; an
 * ignored one would stay ignored across exec). */
static sigset_t reset_set;
static int devnull_fd = -1;
static pid_t spawn_parent; /* poolrun, as its children see it */

static void
prepare_child_state(void)
{
    static int ready;
    int sig;

    if (ready)
        return;
    ready = 1;
    sigemptyset(&reset_set);
    for (sig = 1; sig < NSIG; sig++) {
        struct sigaction sa;

        if (sig == SIGKILL || sig == SIGSTOP)
            continue;
        if (sigaction(sig, NULL, &sa) == 0 && sa.sa_handler != SIG_DFL)
            sigaddset(&reset_set, sig);
    }
    /* Those libuv may catch later (SIGCHLD, for uv_spawn) or we do
     * (SIGUSR1: ignored, then the status, then ignored again). */
    sigaddset(&reset_set, SIGINT);
    sigaddset(&reset_set, SIGTERM);
    sigaddset(&reset_set, SIGHUP);
    sigaddset(&reset_set, SIGCHLD);
    sigaddset(&reset_set, SIGPIPE);
    sigaddset(&reset_set, SIGUSR1);
    devnull_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    spawn_parent = getpid();
}

/* The child of vfork: it shares poolrun's memory and runs on its stack
 * until it execs, so it only makes system calls, and it reports a failure
 * through *err before _exit. */
static void __attribute__((noreturn))
spawn_child(const struct pr_sys_spawn *o, volatile int *err)
{
    struct sigaction dfl;
    sigset_t none;
    int in = o->in_fd >= 0 ? o->in_fd : devnull_fd;
    int sig;

    memset(&dfl, 0, sizeof(dfl));
    dfl.sa_handler = SIG_DFL;
    if (setsid() < 0 || in < 0 || dup2(in, 0) < 0 || dup2(o->out_fd, 1) < 0 ||
        dup2(o->err_fd, 2) < 0)
        goto fail;
#ifdef PR_SET_PDEATHSIG
    /* Should poolrun die (kill -9), the task dies with it; the guard ends
     * the rest of its group.  A poolrun already gone is not waited for. */
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != spawn_parent)
        goto fail;
#endif
    if (o->fd3 == 3) {
        if (fcntl(3, F_SETFD, 0) < 0)
            goto fail;
    } else if (o->fd3 >= 0 && dup2(o->fd3, 3) < 0) {
        goto fail;
    }
    if (o->cwd != NULL && chdir(o->cwd) < 0)
        goto fail;
    /* The vfork child has its own limits: poolrun keeps its raised one. */
    if (nofile_raised)
        (void)setrlimit(RLIMIT_NOFILE, &first_nofile);
    for (sig = 1; sig < NSIG; sig++)
        if (sigismember(&reset_set, sig) == 1)
            sigaction(sig, &dfl, NULL);
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    if (strchr(o->file, '/') != NULL)
        execve(o->file, o->argv, o->envp);
    else
        execvpe(o->file, o->argv, o->envp);
fail:
    *err = errno != 0 ? errno : ECHILD;
    _exit(127);
}

int
pr_sys_spawn(const struct pr_sys_spawn *o, int *pid_out, int *pidfd_out)
{
    volatile int child_err = 0;
    sigset_t all, old;
    pid_t pid;
    int saved;
    int rc;
    int fd;

    if (!pr_sys_spawn_available())
        return -ENOSYS;
    prepare_child_state();
    /* No handler may run in the child before it has reset them all. */
    sigfillset(&all);
    sigprocmask(SIG_SETMASK, &all, &old);
    pid = vfork();
    if (pid == 0)
        spawn_child(o, &child_err);
    saved = errno;
    sigprocmask(SIG_SETMASK, &old, NULL);
    if (pid < 0)
        return -saved;
    rc = 0;
    if (child_err != 0) {
        int status;

        /* The child has exited: exec failed.  Reap it. */
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
            ;
        rc = child_err;
    }
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
    /* pidfd_open makes it close-on-exec already. */
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
#endif

int
pr_sys_exited(int pid)
{
    siginfo_t info;
    int rc;

    memset(&info, 0, sizeof(info));
    do
        rc = waitid(P_PID, (id_t)pid, &info, WEXITED | WNOHANG | WNOWAIT);
    while (rc < 0 && errno == EINTR);
    if (rc < 0)
        return -errno;
    return info.si_pid == pid;
}

int
pr_sys_exiting(int pid)
{
    int rc = pr_sys_exited(pid);

    if (rc != 0)
        return 1;
#ifdef __linux__
    {
        /* PF_EXITING is set before an exiting process closes its files,
         * so whoever sees them close can tell a death from a close. */
        char path[64];
        char buf[512];
        FILE *f;
        size_t n;
        char *p;
        char state;
        unsigned flags;

        snprintf(path, sizeof(path), "/proc/%d/stat", pid);
        f = fopen(path, "re");
        if (f == NULL)
            return 1;
        n = fread(buf, 1, sizeof(buf) - 1, f);
        fclose(f);
        buf[n] = '\0';
        p = strrchr(buf, ')');
        if (p == NULL ||
            sscanf(p + 1, " %c %*d %*d %*d %*d %*d %u", &state, &flags) != 2)
            return 1;
        return state == 'Z' || state == 'X' || (flags & 0x4) != 0;
    }
#else
    return 0;
#endif
}

#if !(defined(__linux__) && defined(SYS_pidfd_open) && defined(__GLIBC__))
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

#ifdef __linux__
/* splice(2) that never waits on a pipe, from *off of in_fd (a file) or,
 * off NULL, from the pipe in_fd. */
static ssize_t
splice_now(int in_fd, loff_t *off, int out_fd, size_t len)
{
    ssize_t n;

    do
        n = splice(in_fd, off, out_fd, NULL, len,
                   SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
    while (n < 0 && errno == EINTR);
    if (n < 0)
        return errno == EWOULDBLOCK ? -EAGAIN : -errno;
    return n;
}
#endif

ssize_t
pr_sys_splice(int in_fd, int out_fd, size_t len)
{
#ifdef __linux__
    return splice_now(in_fd, NULL, out_fd, len);
#else
    (void)in_fd;
    (void)out_fd;
    (void)len;
    return -ENOSYS;
#endif
}

ssize_t
pr_sys_splice_at(int in_fd, uint64_t *off, int out_fd, size_t len)
{
#ifdef __linux__
    loff_t o = (loff_t)*off;
    ssize_t n = splice_now(in_fd, &o, out_fd, len);

    if (n > 0)
        *off = (uint64_t)o;
    return n;
#else
    (void)in_fd;
    (void)off;
    (void)out_fd;
    (void)len;
    return -ENOSYS;
#endif
}

int
pr_sys_pipe_pending(int fd)
{
#ifdef FIONREAD
    int n = 0;

    if (ioctl(fd, FIONREAD, &n) == 0)
        return n;
#else
    (void)fd;
#endif
    return -1;
}

enum pr_sink_kind
pr_sys_sink_kind(int fd)
{
    struct stat st;

    if (fstat(fd, &st) != 0)
        return PR_SINK_OTHER;
    if (S_ISFIFO(st.st_mode))
        return PR_SINK_PIPE;
    return S_ISCHR(st.st_mode) ? PR_SINK_CHAR : PR_SINK_OTHER;
}

int
pr_sys_become_subreaper(void)
{
#if defined(__linux__) && defined(PR_SET_CHILD_SUBREAPER)
    return prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0;
#else
    return 0;
#endif
}

int
pr_sys_children(int **out)
{
#ifdef __linux__
    char path[64];
    char buf[4096];
    FILE *f;
    int *pids = NULL;
    int n = 0, cap = 0;
    long pid;
    int c;

    /* poolrun has one thread: its children are all the main thread's. */
    snprintf(path, sizeof(path), "/proc/self/task/%d/children", (int)getpid());
    f = fopen(path, "re");
    if (f == NULL)
        return -errno;
    setvbuf(f, buf, _IOFBF, sizeof(buf));
    while ((c = fscanf(f, "%ld", &pid)) == 1) {
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            pids = realloc(pids, (size_t)cap * sizeof(*pids));
            if (pids == NULL) {
                fclose(f);
                return -ENOMEM;
            }
        }
        pids[n++] = (int)pid;
    }
    fclose(f);
    *out = pids;
    return n;
#else
    (void)out;
    return -ENOSYS;
#endif
}

void
pr_sys_return_large_blocks(size_t bytes)
{
#if defined(__GLIBC__) && defined(M_MMAP_THRESHOLD)
    (void)mallopt(M_MMAP_THRESHOLD, (int)bytes);
#else
    (void)bytes;
#endif
}

unsigned
pr_sys_term_columns(int fd)
{
    struct winsize ws;

    if (ioctl(fd, TIOCGWINSZ, &ws) != 0)
        return 0;
    return ws.ws_col;
}
