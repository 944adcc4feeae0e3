/* Unit tests of the fd reader that the lines and --pipe sources share: a
 * pipe's bytes, pause, resume and EOF; a regular file read once per loop
 * turn; a closed descriptor, a directory, a read error; the pipe's status
 * flags put back at close. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "fdread.h"
#include "test.h"
#include "util.h"

int pr_test_failed;

struct probe {
    struct pr_fdread rd;
    char buf[64];
    size_t len;
    size_t chunk;      /* room offered per read */
    int reads;         /* reads that brought bytes */
    int eof;           /* UV_EOF calls */
    int err;           /* the last error, or 0 */
    int pause_on_read; /* pause at the first bytes */
    int closed;        /* close callbacks */
};

static char *
on_space(struct pr_fdread *r, size_t *len)
{
    struct probe *p = PR_CONTAINER_OF(r, struct probe, rd);
    size_t room = sizeof(p->buf) - p->len;

    *len = p->chunk < room ? p->chunk : room;
    return p->buf + p->len;
}

static void
on_got(struct pr_fdread *r, ssize_t n)
{
    struct probe *p = PR_CONTAINER_OF(r, struct probe, rd);

    if (n > 0) {
        p->len += (size_t)n;
        p->reads++;
        if (p->pause_on_read)
            pr_fdread_pause(r);
    } else if (n == UV_EOF) {
        p->eof++;
    } else if (n < 0) {
        p->err = (int)n;
    }
}

static void
on_closed(struct pr_fdread *r)
{
    PR_CONTAINER_OF(r, struct probe, rd)->closed++;
}

static void
probe_init(struct probe *p, size_t chunk)
{
    memset(p, 0, sizeof(*p));
    p->chunk = chunk;
    pr_fdread_init(&p->rd, on_space, on_got);
}

/* Runs the loop until the reader has seen EOF or an error (a bound keeps
 * a broken reader from hanging the test). */
static void
run_to_end(uv_loop_t *loop, struct probe *p)
{
    int i;

    for (i = 0; i < 100 && p->eof == 0 && p->err == 0; i++)
        uv_run(loop, UV_RUN_ONCE);
}

static void
pipe_bytes_arrive_pause_holds_them_resume_reads_on_to_eof(void)
{
    uv_loop_t loop;
    struct probe p;
    int fds[2];

    ASSERT_EQ(uv_loop_init(&loop), 0);
    ASSERT_EQ(pipe(fds), 0);
    probe_init(&p, 64);
    ASSERT_EQ(pr_fdread_open(&p.rd, &loop, fds[0]), 0);
    ASSERT_EQ(p.rd.kind, PR_FDREAD_STREAM);
    ASSERT_EQ(write(fds[1], "abc", 3), 3);
    p.pause_on_read = 1;
    pr_fdread_want_more(&p.rd);
    uv_run(&loop, UV_RUN_ONCE);
    ASSERT_MEM_EQ(p.buf, p.len, "abc");
    ASSERT_EQ(p.rd.reading, 0);
    /* Paused: bytes that come now wait in the pipe. */
    ASSERT_EQ(write(fds[1], "def", 3), 3);
    uv_run(&loop, UV_RUN_NOWAIT);
    ASSERT_MEM_EQ(p.buf, p.len, "abc");
    p.pause_on_read = 0;
    pr_fdread_want_more(&p.rd);
    uv_run(&loop, UV_RUN_ONCE);
    ASSERT_MEM_EQ(p.buf, p.len, "abcdef");
    close(fds[1]);
    run_to_end(&loop, &p);
    ASSERT_EQ(p.eof, 1);
    ASSERT_EQ(p.err, 0);
    ASSERT_EQ(p.rd.reading, 0);
    /* The pipe handle took the descriptor (above 2): it closes it. */
    ASSERT_EQ(pr_fdread_close(&p.rd, on_closed), 1);
    uv_run(&loop, UV_RUN_DEFAULT);
    ASSERT_EQ(p.closed, 1);
    ASSERT_EQ(uv_loop_close(&loop), 0);
}

static int
temp_file_with(const char *text)
{
    char path[] = "/tmp/test_fdread.XXXXXX";
    int fd = mkstemp(path);

    if (fd < 0)
        return -1;
    unlink(path);
    if (write(fd, text, strlen(text)) != (ssize_t)strlen(text) ||
        lseek(fd, 0, SEEK_SET) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static void
regular_file_is_read_one_read_per_loop_turn_to_eof(void)
{
    uv_loop_t loop;
    struct probe p;
    int fd = temp_file_with("hello world\n");

    ASSERT_TRUE(fd >= 0);
    ASSERT_EQ(uv_loop_init(&loop), 0);
    probe_init(&p, 5);
    ASSERT_EQ(pr_fdread_open(&p.rd, &loop, fd), 0);
    ASSERT_EQ(p.rd.kind, PR_FDREAD_FILE);
    pr_fdread_want_more(&p.rd);
    uv_run(&loop, UV_RUN_NOWAIT);
    ASSERT_EQ(p.reads, 1);
    ASSERT_MEM_EQ(p.buf, p.len, "hello");
    run_to_end(&loop, &p);
    ASSERT_MEM_EQ(p.buf, p.len, "hello world\n");
    ASSERT_EQ(p.reads, 3); /* as much as the room: 5, 5, 2 */
    ASSERT_EQ(p.eof, 1);
    ASSERT_EQ(p.rd.reading, 0);
    /* The idle handle holds no descriptor: fd stays the caller's. */
    ASSERT_EQ(pr_fdread_close(&p.rd, on_closed), 0);
    uv_run(&loop, UV_RUN_DEFAULT);
    ASSERT_EQ(p.closed, 1);
    ASSERT_TRUE(fcntl(fd, F_GETFL) >= 0);
    close(fd);
    ASSERT_EQ(uv_loop_close(&loop), 0);
}

static void
file_read_error_is_reported_and_reading_stops(void)
{
    uv_loop_t loop;
    struct probe p;
    /* Open for writing only: read() fails with EBADF. */
    int fd = open("/dev/null", O_WRONLY);

    ASSERT_TRUE(fd >= 0);
    ASSERT_EQ(uv_loop_init(&loop), 0);
    probe_init(&p, 8);
    ASSERT_EQ(pr_fdread_open(&p.rd, &loop, fd), 0);
    ASSERT_EQ(p.rd.kind, PR_FDREAD_FILE);
    pr_fdread_want_more(&p.rd);
    run_to_end(&loop, &p);
    ASSERT_EQ(p.err, UV_EBADF);
    ASSERT_EQ(p.eof, 0);
    ASSERT_EQ(p.rd.reading, 0);
    pr_fdread_close(&p.rd, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    close(fd);
    ASSERT_EQ(uv_loop_close(&loop), 0);
}

static void
closed_descriptor_opens_as_empty_input_and_reads_nothing(void)
{
    uv_loop_t loop;
    struct probe p;
    int fds[2];

    /* The loop first: its own descriptors would take the numbers. */
    ASSERT_EQ(uv_loop_init(&loop), 0);
    ASSERT_EQ(pipe(fds), 0);
    close(fds[0]);
    close(fds[1]);
    probe_init(&p, 8);
    ASSERT_EQ(pr_fdread_open(&p.rd, &loop, fds[0]), 0);
    ASSERT_EQ(p.rd.kind, PR_FDREAD_NONE);
    ASSERT_EQ(p.rd.open, 0);
    pr_fdread_want_more(&p.rd);
    ASSERT_EQ(p.rd.reading, 0);
    ASSERT_EQ(uv_run(&loop, UV_RUN_NOWAIT), 0);
    ASSERT_EQ(p.reads + p.eof + p.err, 0);
    ASSERT_EQ(pr_fdread_close(&p.rd, on_closed), 0);
    uv_run(&loop, UV_RUN_DEFAULT);
    ASSERT_EQ(p.closed, 0);
    ASSERT_EQ(uv_loop_close(&loop), 0);
}

static void
directory_is_refused_with_eisdir_and_nothing_open(void)
{
    uv_loop_t loop;
    struct probe p;
    int fd = open("/", O_RDONLY | O_DIRECTORY);

    ASSERT_TRUE(fd >= 0);
    ASSERT_EQ(uv_loop_init(&loop), 0);
    probe_init(&p, 8);
    ASSERT_EQ(pr_fdread_open(&p.rd, &loop, fd), UV_EISDIR);
    ASSERT_EQ(p.rd.open, 0);
    ASSERT_EQ(p.rd.saved_flags, -1);
    ASSERT_EQ(uv_run(&loop, UV_RUN_NOWAIT), 0);
    close(fd);
    ASSERT_EQ(uv_loop_close(&loop), 0);
}

static void
pipe_nonblocking_flag_is_put_back_at_close(void)
{
    uv_loop_t loop;
    struct probe p;
    int fds[2], other;

    ASSERT_EQ(uv_loop_init(&loop), 0);
    ASSERT_EQ(pipe(fds), 0);
    /* The same open file description: its flags are the reader's. */
    other = dup(fds[0]);
    ASSERT_TRUE(other >= 0);
    ASSERT_EQ(fcntl(other, F_GETFL) & O_NONBLOCK, 0);
    probe_init(&p, 8);
    ASSERT_EQ(pr_fdread_open(&p.rd, &loop, fds[0]), 0);
    /* libuv made it non-blocking: the test means something. */
    ASSERT_EQ(fcntl(other, F_GETFL) & O_NONBLOCK, O_NONBLOCK);
    ASSERT_EQ(pr_fdread_close(&p.rd, on_closed), 1);
    uv_run(&loop, UV_RUN_DEFAULT);
    ASSERT_EQ(p.closed, 1);
    ASSERT_EQ(fcntl(other, F_GETFL) & O_NONBLOCK, 0);
    close(other);
    close(fds[1]);
    ASSERT_EQ(uv_loop_close(&loop), 0);
}

int
main(void)
{
    static const struct pr_test_case cases[] = {
        TEST_CASE(pipe_bytes_arrive_pause_holds_them_resume_reads_on_to_eof),
        TEST_CASE(regular_file_is_read_one_read_per_loop_turn_to_eof),
        TEST_CASE(file_read_error_is_reported_and_reading_stops),
        TEST_CASE(closed_descriptor_opens_as_empty_input_and_reads_nothing),
        TEST_CASE(directory_is_refused_with_eisdir_and_nothing_open),
        TEST_CASE(pipe_nonblocking_flag_is_put_back_at_close),
    };

    return pr_test_run(cases, sizeof(cases) / sizeof(cases[0]));
}
