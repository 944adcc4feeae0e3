/*
 * sockdir: the socket's folder is checked with lstat, never through a
 * link; it lives in /tmp (sticky: nobody else can rename or remove our
 * entry) or in XDG_RUNTIME_DIR (ours alone), so once it checks out nobody
 * else can swap it.  A stale socket is told from a live one by connecting
 * to it, under a lock so that two servers starting at once do not both
 * replace it.
 */
#ifdef __linux__
/* struct ucred and SO_PEERCRED are GNU extensions. */
#define _GNU_SOURCE
#endif
#include "sockdir.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <uv.h>

_Static_assert(sizeof(((struct sockaddr_un *)0)->sun_path) ==
                   PR_SOCKDIR_PATH_MAX,
               "PR_SOCKDIR_PATH_MAX is sun_path's size");

static int
name_valid(const char *name)
{
    return *name != '\0' && strchr(name, '/') == NULL &&
           strcmp(name, ".") != 0 && strcmp(name, "..") != 0;
}

/* Is the folder at dir, as lstat sees it, fit to hold our socket? */
static const char *
unsafe_why(const struct stat *st)
{
    if (S_ISLNK(st->st_mode))
        return "is a symbolic link";
    if (!S_ISDIR(st->st_mode))
        return "is not a folder";
    if (st->st_uid != geteuid())
        return "is owned by another user";
    if ((st->st_mode & 077) != 0)
        return "can be accessed by group or others";
    return NULL;
}

/* Makes dir (mode 0700) if it is not there, then checks it. */
static int
ensure_dir(const char *dir, const char **why)
{
    struct stat st;
    int made;

    if (lstat(dir, &st) != 0) {
        if (errno != ENOENT)
            return -errno;
        made = mkdir(dir, 0700) == 0;
        if (!made && errno != EEXIST)
            return -errno;
        if (lstat(dir, &st) != 0)
            return -errno;
        /* The umask may have taken our own bits away: the entry is
         * ours and, in its parent, nobody else can replace it. */
        if (made && S_ISDIR(st.st_mode) && (st.st_mode & 07777) != 0700) {
            if (chmod(dir, 0700) != 0 || lstat(dir, &st) != 0)
                return -errno;
        }
    }
    *why = unsafe_why(&st);
    return *why != NULL ? UV_EPERM : 0;
}

int
pr_sockdir_path(char *buf, size_t n, const char *name, const char **why)
{
    const char *xdg = getenv("XDG_RUNTIME_DIR");
    const char *why_ = NULL;
    char dir[4096];
    int len, rc;

    if (why != NULL)
        *why = NULL;
    if (!name_valid(name))
        return UV_EINVAL;
    if (xdg != NULL && xdg[0] == '/')
        len = snprintf(dir, sizeof(dir), "%s/poolrun", xdg);
    else
        len = snprintf(dir, sizeof(dir), "/tmp/poolrun-%lu",
                       (unsigned long)geteuid());
    if (n == 0)
        return UV_ENOBUFS;
    snprintf(buf, n, "%s", dir);
    /* Too long: said before anything is made. */
    if (len < 0 || (size_t)len >= sizeof(dir) ||
        (size_t)len + 1 + strlen(name) >= PR_SOCKDIR_PATH_MAX)
        return UV_ENAMETOOLONG;
    rc = ensure_dir(dir, &why_);
    if (why != NULL)
        *why = why_;
    if (rc != 0)
        return rc;
    if ((size_t)snprintf(buf, n, "%s/%s", dir, name) >= n) {
        snprintf(buf, n, "%s", dir);
        return UV_ENOBUFS;
    }
    return 0;
}

static int
make_addr(const char *path, struct sockaddr_un *sa)
{
    size_t len = strlen(path);

    if (len >= sizeof(sa->sun_path))
        return UV_ENAMETOOLONG;
    memset(sa, 0, sizeof(*sa));
    sa->sun_family = AF_UNIX;
    memcpy(sa->sun_path, path, len + 1);
    return 0;
}

/* Is a server listening at sa?  1, 0 for a socket nobody listens on or
 * nothing there, or -errno.  Non-blocking: a live server with a full
 * backlog answers EAGAIN and counts as live. */
static int
listening(const struct sockaddr_un *sa)
{
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    int rc = 1;

    if (fd < 0)
        return -errno;
    if (connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) != 0) {
        if (errno == ECONNREFUSED || errno == ENOENT)
            rc = 0;
        else if (errno != EAGAIN && errno != EINPROGRESS)
            rc = -errno;
    }
    close(fd);
    return rc;
}

/* Binds fd at sa, replacing a stale socket file.  Under the lock. */
static int
bind_replacing(int fd, const struct sockaddr_un *sa)
{
    struct stat st;
    int rc;

    if (bind(fd, (const struct sockaddr *)sa, sizeof(*sa)) == 0)
        return 0;
    if (errno != EADDRINUSE)
        return -errno;
    rc = listening(sa);
    if (rc != 0)
        return rc > 0 ? UV_EADDRINUSE : rc;
    /* Only a socket is ours to remove: anything else stays, refused. */
    if (lstat(sa->sun_path, &st) == 0) {
        if (!S_ISSOCK(st.st_mode))
            return UV_EEXIST;
        if (unlink(sa->sun_path) != 0 && errno != ENOENT)
            return -errno;
    }
    if (bind(fd, (const struct sockaddr *)sa, sizeof(*sa)) != 0)
        return -errno;
    return 0;
}

/* Takes the lock on "path.lock", waiting for another starting server.
 * Returns its descriptor (closing it lets go) or -errno. */
static int
lock_path(const char *path)
{
    struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
    char lock[PR_SOCKDIR_PATH_MAX + sizeof(".lock")];
    int fd;

    snprintf(lock, sizeof(lock), "%s.lock", path);
    fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0)
        return -errno;
    while (fcntl(fd, F_SETLKW, &fl) != 0) {
        if (errno != EINTR) {
            int rc = -errno;

            close(fd);
            return rc;
        }
    }
    return fd;
}

int
pr_sockdir_listen(const char *path, int *fd)
{
    struct sockaddr_un sa;
    int lock, s, rc;

    rc = make_addr(path, &sa);
    if (rc != 0)
        return rc;
    lock = lock_path(path);
    if (lock < 0)
        return lock;
    s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (s < 0) {
        rc = -errno;
        goto out;
    }
    /* Listening before the lock goes: until then a rival's probe would
     * find the socket refusing, and take it for stale. */
    rc = bind_replacing(s, &sa);
    if (rc == 0 && listen(s, SOMAXCONN) != 0)
        rc = -errno;
    if (rc == 0)
        *fd = s;
    else
        close(s);
out:
    close(lock);
    return rc;
}

int
pr_sockdir_connect(const char *path, int *fd)
{
    struct sockaddr_un sa;
    int rc = make_addr(path, &sa);

    if (rc != 0)
        return rc;
    for (;;) {
        int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

        if (s < 0)
            return -errno;
        if (connect(s, (const struct sockaddr *)&sa, sizeof(sa)) == 0) {
            *fd = s;
            return 0;
        }
        rc = -errno;
        close(s);
        /* Interrupted while the backlog was full: the socket is left
         * unconnected, so start over with a new one. */
        if (rc != UV_EINTR)
            return rc;
    }
}

int
pr_sockdir_peer_uid(int fd, uid_t *uid)
{
#ifdef SO_PEERCRED
    struct ucred cred;
    socklen_t len = sizeof(cred);

    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0)
        return -errno;
    if (len != sizeof(cred))
        return UV_EINVAL;
    *uid = cred.uid;
    return 0;
#else
    (void)fd;
    (void)uid;
    return UV_ENOSYS;
#endif
}
