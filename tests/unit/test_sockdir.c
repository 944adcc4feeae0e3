/* Unit tests of sockdir: the folder chosen from XDG_RUNTIME_DIR or /tmp,
 * made 0700 and refused when unsafe; listening over a stale socket but
 * never a live one, even when servers race; and the peer's uid, ours or
 * that of a client that runs as uid 65534 (those that chown or setuid
 * need root, which the tests run as; they say so and pass otherwise). */
#define _GNU_SOURCE /* setresuid, setgroups */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>
#include <uv.h>

#include "sockdir.h"
#include "test.h"
#include "util.h"

int pr_test_failed;

#define NOBODY 65534

/* A fresh folder of the test's own in /tmp (short: socket paths must
 * fit), taken away with all it holds by cleanup(). */
static char base[64];

static void
fresh_base(void)
{
    snprintf(base, sizeof(base), "/tmp/prsock.XXXXXX");
    if (mkdtemp(base) == NULL) {
        perror("mkdtemp");
        exit(1);
    }
}

static int
remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    if (remove(path) != 0)
        fprintf(stderr, "could not remove %s\n", path);
    return 0;
}

static void
cleanup(void)
{
    nftw(base, remove_one, 16, FTW_DEPTH | FTW_PHYS);
}

static int
is_root(const char *test)
{
    if (geteuid() == 0)
        return 1;
    printf("skip %s: needs root\n", test);
    return 0;
}

/* "base/rest" */
static const char *
at(const char *rest)
{
    static char p[256];

    snprintf(p, sizeof(p), "%s/%s", base, rest);
    return p;
}

static int
mode_of(const char *path)
{
    struct stat st;

    if (lstat(path, &st) != 0)
        return -1;
    return (int)(st.st_mode & 07777);
}

static void
path_with_absolute_xdg_makes_its_poolrun_folder_0700(void)
{
    char buf[256];
    const char *why = "x";
    struct stat st;

    fresh_base();
    setenv("XDG_RUNTIME_DIR", base, 1);
    ASSERT_EQ(pr_sockdir_path(buf, sizeof(buf), "sock", &why), 0);
    ASSERT_MEM_EQ(buf, strlen(buf), at("poolrun/sock"));
    ASSERT_TRUE(why == NULL);
    ASSERT_EQ(lstat(at("poolrun"), &st), 0);
    ASSERT_TRUE(S_ISDIR(st.st_mode));
    ASSERT_EQ(st.st_mode & 07777, 0700);
    ASSERT_EQ(st.st_uid, geteuid());
    /* Again, with the folder there: the same. */
    ASSERT_EQ(pr_sockdir_path(buf, sizeof(buf), "sock", NULL), 0);
    ASSERT_MEM_EQ(buf, strlen(buf), at("poolrun/sock"));
    cleanup();
}

static void
path_with_xdg_unset_or_relative_uses_tmp_poolrun_uid(void)
{
    char buf[256], want[256], dir[64];
    int existed;

    snprintf(dir, sizeof(dir), "/tmp/poolrun-%lu", (unsigned long)geteuid());
    snprintf(want, sizeof(want), "%s/sock", dir);
    existed = access(dir, F_OK) == 0;
    unsetenv("XDG_RUNTIME_DIR");
    ASSERT_EQ(pr_sockdir_path(buf, sizeof(buf), "sock", NULL), 0);
    ASSERT_MEM_EQ(buf, strlen(buf), want);
    ASSERT_EQ(mode_of(dir), 0700);
    setenv("XDG_RUNTIME_DIR", "run/user", 1);
    ASSERT_EQ(pr_sockdir_path(buf, sizeof(buf), "sock", NULL), 0);
    ASSERT_MEM_EQ(buf, strlen(buf), want);
    setenv("XDG_RUNTIME_DIR", "", 1);
    ASSERT_EQ(pr_sockdir_path(buf, sizeof(buf), "sock", NULL), 0);
    ASSERT_MEM_EQ(buf, strlen(buf), want);
    if (!existed)
        rmdir(dir);
}

static void
path_under_a_umask_without_owner_bits_still_makes_0700(void)
{
    char buf[256];
    mode_t old;
    int rc;

    fresh_base();
    old = umask(0277);
    setenv("XDG_RUNTIME_DIR", base, 1);
    rc = pr_sockdir_path(buf, sizeof(buf), "sock", NULL);
    umask(old);
    ASSERT_EQ(rc, 0);
    ASSERT_EQ(mode_of(at("poolrun")), 0700);
    cleanup();
}

/* pr_sockdir_path on base with poolrun/ as made by the caller: returns
 * the code and why, and checks buf names the folder. */
static int
path_in_base(const char **why)
{
    char buf[256];
    int rc;

    setenv("XDG_RUNTIME_DIR", base, 1);
    rc = pr_sockdir_path(buf, sizeof(buf), "sock", why);
    if (strcmp(buf, at("poolrun")) != 0) {
        fprintf(stderr, "buf is %s, not the folder\n", buf);
        return 1;
    }
    return rc;
}

static void
path_folder_open_to_others_is_eperm(void)
{
    const char *why;

    fresh_base();
    ASSERT_EQ(mkdir(at("poolrun"), 0700), 0);
    ASSERT_EQ(chmod(at("poolrun"), 0755), 0);
    ASSERT_EQ(path_in_base(&why), UV_EPERM);
    ASSERT_MEM_EQ(why, strlen(why), "can be accessed by group or others");
    /* Left as it was. */
    ASSERT_EQ(mode_of(at("poolrun")), 0755);
    ASSERT_EQ(chmod(at("poolrun"), 0710), 0);
    ASSERT_EQ(path_in_base(&why), UV_EPERM);
    cleanup();
}

static void
path_folder_symlink_is_eperm(void)
{
    const char *why;

    /* The link leads to a folder that would pass: it is not followed. */
    fresh_base();
    ASSERT_EQ(mkdir(at("real"), 0700), 0);
    ASSERT_EQ(symlink("real", at("poolrun")), 0);
    ASSERT_EQ(path_in_base(&why), UV_EPERM);
    ASSERT_MEM_EQ(why, strlen(why), "is a symbolic link");
    /* A dangling one, too: nothing is made at its end. */
    ASSERT_EQ(unlink(at("poolrun")), 0);
    ASSERT_EQ(symlink("gone", at("poolrun")), 0);
    ASSERT_EQ(path_in_base(&why), UV_EPERM);
    ASSERT_EQ(access(at("gone"), F_OK), -1);
    cleanup();
}

static void
path_folder_a_file_is_eperm(void)
{
    const char *why;
    int fd;

    fresh_base();
    fd = open(at("poolrun"), O_WRONLY | O_CREAT, 0600);
    ASSERT_TRUE(fd >= 0);
    close(fd);
    ASSERT_EQ(path_in_base(&why), UV_EPERM);
    ASSERT_MEM_EQ(why, strlen(why), "is not a folder");
    cleanup();
}

static void
path_folder_of_another_uid_is_eperm(void)
{
    const char *why;

    if (!is_root(__func__))
        return;
    fresh_base();
    ASSERT_EQ(mkdir(at("poolrun"), 0700), 0);
    ASSERT_EQ(chown(at("poolrun"), NOBODY, NOBODY), 0);
    ASSERT_EQ(path_in_base(&why), UV_EPERM);
    ASSERT_MEM_EQ(why, strlen(why), "is owned by another user");
    cleanup();
}

static void
path_too_long_or_bad_name_is_refused_and_makes_nothing(void)
{
    char buf[256], name[128];
    const char *why = "x";

    fresh_base();
    /* base/poolrun/NAME: 107 bytes fit sun_path with its NUL, 108 do
     * not. */
    setenv("XDG_RUNTIME_DIR", base, 1);
    memset(name, 'n', sizeof(name));
    name[107 - strlen(at("poolrun/"))] = '\0';
    ASSERT_EQ(pr_sockdir_path(buf, sizeof(buf), name, NULL), 0);
    ASSERT_EQ(strlen(buf), 107);
    ASSERT_EQ(rmdir(at("poolrun")), 0);
    strcat(name, "n");
    ASSERT_EQ(pr_sockdir_path(buf, sizeof(buf), name, &why), UV_ENAMETOOLONG);
    ASSERT_TRUE(why == NULL);
    ASSERT_MEM_EQ(buf, strlen(buf), at("poolrun"));
    ASSERT_EQ(access(at("poolrun"), F_OK), -1);
    ASSERT_EQ(pr_sockdir_path(buf, sizeof(buf), "", NULL), UV_EINVAL);
    ASSERT_EQ(pr_sockdir_path(buf, sizeof(buf), "a/b", NULL), UV_EINVAL);
    ASSERT_EQ(pr_sockdir_path(buf, sizeof(buf), "..", NULL), UV_EINVAL);
    ASSERT_EQ(pr_sockdir_path(buf, 8, "sock", NULL), UV_ENOBUFS);
    cleanup();
}

static void
listen_then_connect_peer_uids_are_ours(void)
{
    int lfd = -1, cfd = -1, sfd;
    uid_t uid = 12345;

    fresh_base();
    ASSERT_EQ(pr_sockdir_listen(at("s"), &lfd), 0);
    ASSERT_TRUE((fcntl(lfd, F_GETFD) & FD_CLOEXEC) != 0);
    ASSERT_TRUE((fcntl(lfd, F_GETFL) & O_NONBLOCK) != 0);
    ASSERT_EQ(pr_sockdir_connect(at("s"), &cfd), 0);
    ASSERT_TRUE((fcntl(cfd, F_GETFD) & FD_CLOEXEC) != 0);
    ASSERT_TRUE((fcntl(cfd, F_GETFL) & O_NONBLOCK) == 0);
    sfd = accept(lfd, NULL, NULL);
    ASSERT_TRUE(sfd >= 0);
    ASSERT_EQ(pr_sockdir_peer_uid(sfd, &uid), 0);
    ASSERT_EQ(uid, getuid());
    uid = 12345;
    ASSERT_EQ(pr_sockdir_peer_uid(cfd, &uid), 0);
    ASSERT_EQ(uid, getuid());
    ASSERT_EQ(write(cfd, "hi", 2), 2);
    close(cfd);
    close(sfd);
    close(lfd);
    cleanup();
}

/* A socket file at path that nobody listens on: a server that died. */
static int
make_stale(const char *path)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    int rc;

    if (strlen(path) >= sizeof(sa.sun_path))
        return -1;
    memcpy(sa.sun_path, path, strlen(path) + 1);
    rc = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
    close(fd);
    return rc;
}

static void
listen_over_a_stale_socket_replaces_it(void)
{
    int lfd = -1, cfd = -1;

    fresh_base();
    ASSERT_EQ(make_stale(at("s")), 0);
    ASSERT_EQ(pr_sockdir_connect(at("s"), &cfd), UV_ECONNREFUSED);
    ASSERT_EQ(pr_sockdir_listen(at("s"), &lfd), 0);
    ASSERT_EQ(pr_sockdir_connect(at("s"), &cfd), 0);
    close(cfd);
    close(lfd);
    cleanup();
}

static void
listen_over_a_live_socket_is_eaddrinuse(void)
{
    int lfd = -1, lfd2 = -1, cfd = -1, sfd;

    fresh_base();
    ASSERT_EQ(pr_sockdir_listen(at("s"), &lfd), 0);
    ASSERT_EQ(pr_sockdir_listen(at("s"), &lfd2), UV_EADDRINUSE);
    ASSERT_EQ(lfd2, -1);
    /* The first server still gets its clients: the second's probe,
     * then ours. */
    ASSERT_EQ(pr_sockdir_connect(at("s"), &cfd), 0);
    sfd = accept(lfd, NULL, NULL);
    ASSERT_TRUE(sfd >= 0);
    close(sfd);
    sfd = accept(lfd, NULL, NULL);
    ASSERT_TRUE(sfd >= 0);
    close(sfd);
    close(cfd);
    close(lfd);
    cleanup();
}

static void
listen_over_a_file_is_eexist_and_leaves_it(void)
{
    int lfd = -1, fd;

    fresh_base();
    fd = open(at("s"), O_WRONLY | O_CREAT, 0600);
    ASSERT_TRUE(fd >= 0);
    close(fd);
    ASSERT_EQ(pr_sockdir_listen(at("s"), &lfd), UV_EEXIST);
    ASSERT_EQ(access(at("s"), F_OK), 0);
    cleanup();
}

static void
connect_or_listen_without_a_place_is_refused(void)
{
    char longer[PR_SOCKDIR_PATH_MAX + 1];
    int fd = -1;

    fresh_base();
    ASSERT_EQ(pr_sockdir_connect(at("none"), &fd), UV_ENOENT);
    ASSERT_EQ(pr_sockdir_listen(at("none/s"), &fd), UV_ENOENT);
    memset(longer, 'x', sizeof(longer));
    longer[0] = '/';
    longer[PR_SOCKDIR_PATH_MAX] = '\0';
    ASSERT_EQ(pr_sockdir_connect(longer, &fd), UV_ENAMETOOLONG);
    ASSERT_EQ(pr_sockdir_listen(longer, &fd), UV_ENAMETOOLONG);
    ASSERT_EQ(fd, -1);
    cleanup();
}

#define RIVALS 8

/* A server starting: waits for go to close, tries to listen, reports its
 * code's byte, and holds on until release closes. */
static void
rival(int go, int result, int release)
{
    char c;
    int fd = -1, rc;

    while (read(go, &c, 1) < 0 && errno == EINTR)
        ;
    rc = pr_sockdir_listen(at("s"), &fd);
    c = rc == 0 ? 'W' : rc == UV_EADDRINUSE ? 'L' : 'E';
    if (write(result, &c, 1) != 1)
        _exit(1);
    while (read(release, &c, 1) < 0 && errno == EINTR)
        ;
    _exit(0);
}

static void
listen_racing_servers_over_a_stale_socket_only_one_wins(void)
{
    int go[2], result[2], release[2], i, won = 0, lost = 0, round;
    pid_t pids[RIVALS];
    char c;

    for (round = 0; round < 50; round++) {
        fresh_base();
        ASSERT_EQ(make_stale(at("s")), 0);
        ASSERT_EQ(pipe(go), 0);
        ASSERT_EQ(pipe(result), 0);
        ASSERT_EQ(pipe(release), 0);
        for (i = 0; i < RIVALS; i++) {
            pids[i] = fork();
            if (pids[i] == 0) {
                close(go[1]);
                close(release[1]);
                rival(go[0], result[1], release[0]);
            }
        }
        close(go[0]);
        close(result[1]);
        close(release[0]);
        close(go[1]);
        won = lost = 0;
        for (i = 0; i < RIVALS && read(result[0], &c, 1) == 1; i++) {
            won += c == 'W';
            lost += c == 'L';
        }
        close(release[1]);
        close(result[0]);
        for (i = 0; i < RIVALS; i++)
            waitpid(pids[i], NULL, 0);
        cleanup();
        ASSERT_EQ(won, 1);
        ASSERT_EQ(lost, RIVALS - 1);
    }
}

/* As uid and gid 65534: connects to base/s and writes a byte.  Exits 0,
 * or 1 if it could not drop root, 2 if it could not connect. */
static void
connect_as_nobody(void)
{
    int fd = -1;

    if (setgroups(0, NULL) != 0 || setresgid(NOBODY, NOBODY, NOBODY) != 0 ||
        setresuid(NOBODY, NOBODY, NOBODY) != 0 || getuid() != NOBODY)
        _exit(1);
    if (pr_sockdir_connect(at("s"), &fd) != 0)
        _exit(2);
    if (write(fd, "x", 1) != 1)
        _exit(3);
    _exit(0);
}

static void
peer_uid_of_a_client_as_65534_is_65534(void)
{
    struct pollfd pfd = {.events = POLLIN};
    int lfd = -1, sfd, status;
    uid_t uid = 0;
    pid_t pid;

    if (!is_root(__func__))
        return;
    /* Opened up by hand, as a test of the server's own check would. */
    fresh_base();
    ASSERT_EQ(chmod(base, 0755), 0);
    ASSERT_EQ(pr_sockdir_listen(at("s"), &lfd), 0);
    ASSERT_EQ(chmod(at("s"), 0777), 0);
    pid = fork();
    if (pid == 0)
        connect_as_nobody();
    pfd.fd = lfd;
    ASSERT_EQ(poll(&pfd, 1, 30000), 1);
    sfd = accept(lfd, NULL, NULL);
    ASSERT_TRUE(sfd >= 0);
    ASSERT_EQ(pr_sockdir_peer_uid(sfd, &uid), 0);
    ASSERT_EQ(uid, NOBODY);
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFEXITED(status));
    ASSERT_EQ(WEXITSTATUS(status), 0);
    close(sfd);
    close(lfd);
    cleanup();
}

int
main(void)
{
    static const struct pr_test_case cases[] = {
        TEST_CASE(path_with_absolute_xdg_makes_its_poolrun_folder_0700),
        TEST_CASE(path_with_xdg_unset_or_relative_uses_tmp_poolrun_uid),
        TEST_CASE(path_under_a_umask_without_owner_bits_still_makes_0700),
        TEST_CASE(path_folder_open_to_others_is_eperm),
        TEST_CASE(path_folder_symlink_is_eperm),
        TEST_CASE(path_folder_a_file_is_eperm),
        TEST_CASE(path_folder_of_another_uid_is_eperm),
        TEST_CASE(path_too_long_or_bad_name_is_refused_and_makes_nothing),
        TEST_CASE(listen_then_connect_peer_uids_are_ours),
        TEST_CASE(listen_over_a_stale_socket_replaces_it),
        TEST_CASE(listen_over_a_live_socket_is_eaddrinuse),
        TEST_CASE(listen_over_a_file_is_eexist_and_leaves_it),
        TEST_CASE(connect_or_listen_without_a_place_is_refused),
        TEST_CASE(listen_racing_servers_over_a_stale_socket_only_one_wins),
        TEST_CASE(peer_uid_of_a_client_as_65534_is_65534),
    };

    return pr_test_run(cases, PR_ARRAY_SIZE(cases));
}
