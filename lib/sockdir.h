/*
 * sockdir: where `poolrun serve`'s socket lives and who may talk to it.
 * The socket sits in a folder of the user's own that nobody else may
 * enter: $XDG_RUNTIME_DIR/poolrun/ when XDG_RUNTIME_DIR is set and
 * absolute, else /tmp/poolrun-UID/ (UID: the effective uid).  The server
 * still checks each peer's uid (pr_sockdir_peer_uid): root, or a folder
 * opened up by hand, can get past the folder.
 *
 * Errors, and the one line each deserves:
 *   UV_EPERM         the folder is not safe; *why says how (it is a
 *                    symbolic link, not a folder, owned by another user,
 *                    or open to group or others): refuse to use it
 *   UV_ENAMETOOLONG  the socket's path does not fit a sockaddr_un
 *                    (PR_SOCKDIR_PATH_MAX - 1 bytes): use a shorter
 *                    XDG_RUNTIME_DIR or name
 *   UV_EINVAL        the name is empty, ".", ".." or holds a '/'
 *   UV_EADDRINUSE    listen: a server is already listening there
 *   UV_EEXIST        listen: something that is not a socket is there
 *   UV_ENOENT        connect: no socket there: no server
 *   UV_ECONNREFUSED  connect: a socket nobody listens on: no server (a
 *                    stale one; the next server replaces it)
 *   UV_EACCES        connect: not ours to reach (another user's folder)
 *   -errno           anything else, from lstat/mkdir/socket/bind/...
 *                    (UV_ENOENT from pr_sockdir_path: XDG_RUNTIME_DIR
 *                    names a folder that is not there)
 */
#ifndef PR_SOCKDIR_H
#define PR_SOCKDIR_H

#include <stddef.h>
#include <sys/types.h>

/* sizeof(sockaddr_un.sun_path) on Linux: a path is at most one less. */
#define PR_SOCKDIR_PATH_MAX 108

/* Puts the socket path for name ("FOLDER/name") in buf[0..n), creating the
 * folder (mode 0700) if it is missing and refusing it (UV_EPERM) if it is
 * a symbolic link, not a folder, not owned by us or open to group or
 * others: checked with lstat, never following a link.  Returns 0, or an
 * error above; on every error but UV_EINVAL and UV_ENOBUFS (n too small)
 * buf holds the folder's path (cut to fit n), to name it in a message.
 * On UV_EPERM, *why (if why is not NULL) is a phrase such as "is owned by
 * another user", to follow the folder's path; otherwise it is NULL. */
int pr_sockdir_path(char *buf, size_t n, const char *name, const char **why);

/* A listening AF_UNIX stream socket at path, close-on-exec and
 * non-blocking, in *fd.  A socket file there that nobody listens on (left
 * by a server that died) is replaced; one with a live listener gives
 * UV_EADDRINUSE.  Two servers starting at once cannot both win: the check
 * and the replacement happen under a lock on "path.lock" (left in the
 * folder).  Returns 0 or an error above; *fd is only set on success.  The
 * server unlinks path when it stops for good. */
int pr_sockdir_listen(const char *path, int *fd);

/* A blocking, close-on-exec connection to the server at path, in *fd.
 * Returns 0 or an error above: UV_ENOENT and UV_ECONNREFUSED mean there is
 * no server (start one, or say so). */
int pr_sockdir_connect(const char *path, int *fd);

/* The uid of the process at the other end of the connected AF_UNIX
 * socket fd, as it was when it connected (SO_PEERCRED).  Returns 0 or
 * -errno (UV_ENOSYS where the kernel cannot tell). */
int pr_sockdir_peer_uid(int fd, uid_t *uid);

#endif
