/*
 * sys: Linux answers from /proc, with a POSIX fallback.  Only cold paths
 * call these (a task that left processes behind), so a /proc scan is fine.
 */
#include "sys.h"

#include <dirent.h>
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
