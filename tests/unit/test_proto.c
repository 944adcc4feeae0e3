/* Unit tests of proto: frames round trip whatever the chunking (checked
 * against a plain array of the messages sent), a whole frame in a chunk is
 * handed out in place, a broken length stops the stream for good, the
 * reader never holds more than one frame and the next header, and the
 * blocking helpers work over pipes and sockets. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <uv.h>

#include "proto.h"
#include "test.h"

int pr_test_failed;

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint64_t
rng(void)
{
    /* xorshift64: the same sequence on every run and in every process. */
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static size_t
rng_below(size_t n)
{
    return (size_t)(rng() % n);
}

/* A header saying n, alone. */
static void
header(char *p, uint32_t n)
{
    p[0] = (char)(n >> 24);
    p[1] = (char)(n >> 16);
    p[2] = (char)(n >> 8);
    p[3] = (char)n;
}

static void
frame_then_next_round_trips(void)
{
    struct pr_buf out = {0};
    struct pr_proto_reader r;
    const char *msg;
    size_t len;

    pr_proto_reader_init(&r);
    ASSERT_EQ(pr_proto_frame(&out, "{\"op\":\"submit\"}", 15), 0);
    ASSERT_EQ(out.len, 19);
    ASSERT_TRUE(memcmp(out.data, "\0\0\0\x0f", 4) == 0);
    pr_proto_feed(&r, out.data, out.len);
    ASSERT_EQ(pr_proto_next(&r, &msg, &len), 1);
    ASSERT_MEM_EQ(msg, len, "{\"op\":\"submit\"}");
    ASSERT_EQ(pr_proto_next(&r, &msg, &len), 0);
    ASSERT_TRUE(!pr_proto_pending(&r));
    pr_proto_reader_free(&r);
    pr_buf_free(&out);
}

static void
frame_begin_end_writes_the_length_in_place(void)
{
    struct pr_buf out = {0};
    struct pr_proto_reader r = {0};
    const char *msg;
    size_t len, start;

    pr_buf_append(&out, "x", 1);
    start = pr_proto_frame_begin(&out);
    pr_buf_append(&out, "{\"a\":1}", 7);
    ASSERT_EQ(pr_proto_frame_end(&out, start), 0);
    ASSERT_EQ(out.len, 12);
    pr_proto_feed(&r, out.data + 1, out.len - 1);
    ASSERT_EQ(pr_proto_next(&r, &msg, &len), 1);
    ASSERT_MEM_EQ(msg, len, "{\"a\":1}");
    /* An empty message is taken back off. */
    start = pr_proto_frame_begin(&out);
    ASSERT_EQ(pr_proto_frame_end(&out, start), UV_EINVAL);
    ASSERT_EQ(out.len, 12);
    pr_proto_reader_free(&r);
    pr_buf_free(&out);
}

static void
frame_empty_or_oversized_is_refused(void)
{
    struct pr_buf out = {0};

    ASSERT_EQ(pr_proto_frame(&out, "", 0), UV_EINVAL);
    /* The length is checked before any byte is read. */
    ASSERT_EQ(pr_proto_frame(&out, "{}", PR_PROTO_MAX + 1), UV_E2BIG);
    ASSERT_EQ(out.len, 0);
    ASSERT_EQ(pr_proto_write_all(1, "", 0), UV_EINVAL);
    ASSERT_EQ(pr_proto_write_all(1, "{}", PR_PROTO_MAX + 1), UV_E2BIG);
    pr_buf_free(&out);
}

/* Feeds all of s[0..n) in the chunks that cuts[] ends (the last ends at
 * n) and collects every message, each followed by a '|', into got. */
static int
feed_in_chunks(const char *s, size_t n, const size_t *cuts, size_t ncuts,
               struct pr_buf *got)
{
    struct pr_proto_reader r = {0};
    size_t i, from = 0;
    int rc = 0;

    for (i = 0; i <= ncuts && rc >= 0; i++) {
        size_t to = i < ncuts ? cuts[i] : n;
        const char *msg;
        size_t len;

        pr_proto_feed(&r, s + from, to - from);
        while ((rc = pr_proto_next(&r, &msg, &len)) == 1) {
            pr_buf_append(got, msg, len);
            pr_buf_append(got, "|", 1);
        }
        from = to;
    }
    if (rc == 0 && pr_proto_pending(&r))
        rc = UV_EOF;
    pr_proto_reader_free(&r);
    return rc;
}

static void
next_split_at_every_byte_boundary_yields_each_message(void)
{
    struct pr_buf s = {0}, got = {0};
    size_t a, b;

    pr_proto_frame(&s, "{\"id\":1}", 8);
    pr_proto_frame(&s, "[]", 2);
    pr_proto_frame(&s, "{\"cmd\":\"make -j8 test\"}", 23);
    /* Every single cut, and every pair of cuts. */
    for (a = 0; a <= s.len; a++) {
        for (b = a; b <= s.len; b++) {
            size_t cuts[2] = {a, b};

            got.len = 0;
            ASSERT_EQ(feed_in_chunks(s.data, s.len, cuts, 2, &got), 0);
            ASSERT_MEM_EQ(got.data, got.len,
                          "{\"id\":1}|[]|{\"cmd\":\"make -j8 test\"}|");
        }
    }
    pr_buf_free(&s);
    pr_buf_free(&got);
}

static void
next_several_in_one_chunk_hands_each_out_in_place(void)
{
    struct pr_buf s = {0};
    struct pr_proto_reader r = {0};
    const char *msg;
    size_t len;

    pr_proto_frame(&s, "{\"a\":1}", 7);
    pr_proto_frame(&s, "{\"b\":2}", 7);
    pr_proto_frame(&s, "{\"c\":3}", 7);
    pr_proto_feed(&r, s.data, s.len);
    ASSERT_EQ(pr_proto_next(&r, &msg, &len), 1);
    ASSERT_MEM_EQ(msg, len, "{\"a\":1}");
    ASSERT_TRUE(msg == s.data + 4);
    ASSERT_EQ(pr_proto_next(&r, &msg, &len), 1);
    ASSERT_MEM_EQ(msg, len, "{\"b\":2}");
    ASSERT_TRUE(msg == s.data + 15);
    ASSERT_EQ(pr_proto_next(&r, &msg, &len), 1);
    ASSERT_MEM_EQ(msg, len, "{\"c\":3}");
    ASSERT_TRUE(msg == s.data + 26);
    ASSERT_EQ(pr_proto_next(&r, &msg, &len), 0);
    /* Nothing was copied in. */
    ASSERT_TRUE(r.data == NULL);
    pr_proto_reader_free(&r);
    pr_buf_free(&s);
}

static void
next_oversized_length_is_e2big_for_good(void)
{
    char h[8];
    struct pr_proto_reader r = {0};
    const char *msg;
    size_t len;

    /* Refused from the header alone, fed in two pieces: no waiting for
     * 64 MiB that will never be wanted. */
    header(h, (uint32_t)PR_PROTO_MAX + 1);
    memcpy(h + 4, "{}{}", 4);
    pr_proto_feed(&r, h, 2);
    ASSERT_EQ(pr_proto_next(&r, &msg, &len), 0);
    pr_proto_feed(&r, h + 2, 6);
    ASSERT_EQ(pr_proto_next(&r, &msg, &len), UV_E2BIG);
    ASSERT_EQ(pr_proto_next(&r, &msg, &len), UV_E2BIG);
    pr_proto_feed(&r, h, 8);
    ASSERT_EQ(pr_proto_next(&r, &msg, &len), UV_E2BIG);
    pr_proto_reader_free(&r);
    /* The largest length is still fine; in one chunk, too. */
    header(h, (uint32_t)PR_PROTO_MAX);
    pr_proto_feed(&r, h, 8);
    ASSERT_EQ(pr_proto_next(&r, &msg, &len), 0);
    ASSERT_TRUE(pr_proto_pending(&r));
    pr_proto_reader_free(&r);
    header(h, 0xffffffffu);
    pr_proto_feed(&r, h, 8);
    ASSERT_EQ(pr_proto_next(&r, &msg, &len), UV_E2BIG);
    pr_proto_reader_free(&r);
}

static void
next_zero_length_is_einval_after_the_messages_before(void)
{
    struct pr_buf s = {0};
    struct pr_proto_reader r = {0};
    const char *msg;
    size_t len;

    pr_proto_frame(&s, "{}", 2);
    pr_buf_append(&s, "\0\0\0\0{}", 6);
    pr_proto_feed(&r, s.data, s.len);
    ASSERT_EQ(pr_proto_next(&r, &msg, &len), 1);
    ASSERT_MEM_EQ(msg, len, "{}");
    ASSERT_EQ(pr_proto_next(&r, &msg, &len), UV_EINVAL);
    ASSERT_EQ(pr_proto_next(&r, &msg, &len), UV_EINVAL);
    pr_proto_reader_free(&r);
    /* Byte by byte: the same. */
    {
        size_t i, got = 0;
        int rc = 0;

        for (i = 0; i < s.len && rc >= 0; i++) {
            pr_proto_feed(&r, s.data + i, 1);
            while ((rc = pr_proto_next(&r, &msg, &len)) == 1)
                got++;
        }
        ASSERT_EQ(got, 1);
        ASSERT_EQ(rc, UV_EINVAL);
        /* Refused on the header's last byte, not on the bytes after. */
        ASSERT_EQ(i, 10);
    }
    pr_proto_reader_free(&r);
    pr_buf_free(&s);
}

/* The model: NFRAMES messages of random sizes (mostly small, some past
 * the reader's kept buffer), each byte a function of its frame and place
 * so that a mix-up shows. */
#define NFRAMES 3000

static size_t model_len[NFRAMES];

static void
model_make(struct pr_buf *stream)
{
    size_t i, j;

    rng_state = 0x2545f4914f6cdd1dULL;

    for (i = 0; i < NFRAMES; i++) {
        size_t n =
            rng_below(8) == 0 ? 1 + rng_below(200000) : 1 + rng_below(300);
        size_t start = pr_proto_frame_begin(stream);

        model_len[i] = n;
        pr_buf_reserve(stream, n);
        for (j = 0; j < n; j++)
            stream->data[stream->len + j] = (char)('a' + (i * 7 + j) % 26);
        stream->len += n;
        pr_proto_frame_end(stream, start);
    }
}

static int
model_check(size_t i, const char *msg, size_t len)
{
    size_t j;

    if (i >= NFRAMES || len != model_len[i])
        return 0;
    for (j = 0; j < len; j++) {
        if (msg[j] != (char)('a' + (i * 7 + j) % 26))
            return 0;
    }
    return 1;
}

static void
next_random_chunks_match_the_model_in_bounded_memory(void)
{
    struct pr_buf s = {0};
    struct pr_proto_reader r = {0};
    size_t at = 0, seen = 0;

    model_make(&s);
    while (at < s.len) {
        /* Byte by byte a third of the time, else up to 64 KiB. */
        size_t n = rng_below(3) == 0 ? 1 : 1 + rng_below(65536);
        const char *msg;
        size_t len;
        int rc;

        if (n > s.len - at)
            n = s.len - at;
        pr_proto_feed(&r, s.data + at, n);
        at += n;
        while ((rc = pr_proto_next(&r, &msg, &len)) == 1) {
            ASSERT_TRUE(model_check(seen, msg, len));
            seen++;
        }
        ASSERT_EQ(rc, 0);
        /* Only the frame under way (and not past it) is held. */
        ASSERT_TRUE(seen < NFRAMES || r.len == 0);
        if (seen < NFRAMES)
            ASSERT_TRUE(r.len <= PR_PROTO_HEADER + model_len[seen]);
    }
    ASSERT_EQ(seen, NFRAMES);
    ASSERT_TRUE(!pr_proto_pending(&r));
    pr_proto_reader_free(&r);
    pr_buf_free(&s);
}

/* Runs fn(fd) in a child process that writes to fd, the other end of
 * fds; returns its pid. */
static pid_t
writer(int fds[2], void (*fn)(int fd))
{
    pid_t pid = fork();

    if (pid == 0) {
        close(fds[0]);
        fn(fds[1]);
        _exit(0);
    }
    close(fds[1]);
    return pid;
}

static int
reaped_ok(pid_t pid)
{
    int status;

    return waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
           WEXITSTATUS(status) == 0;
}

static struct pr_buf model_stream;

/* The model's stream, in random-sized writes. */
static void
write_model(int fd)
{
    struct pr_buf *s = &model_stream;
    size_t at = 0;

    while (at < s->len) {
        size_t n = 1 + rng_below(rng_below(2) ? 7 : 100000);

        if (n > s->len - at)
            n = s->len - at;
        if (pr_proto_send(fd, s->data + at, n) != 0)
            _exit(1);
        at += n;
    }
}

static void
read_blocking_random_writes_match_the_model(void)
{
    struct pr_proto_reader r = {0};
    const char *msg;
    size_t len, seen = 0;
    int fds[2], rc;
    pid_t pid;

    model_stream.len = 0;
    model_make(&model_stream);
    ASSERT_EQ(pipe(fds), 0);
    pid = writer(fds, write_model);
    while ((rc = pr_proto_read_blocking(fds[0], &r, &msg, &len)) == 1) {
        ASSERT_TRUE(model_check(seen, msg, len));
        seen++;
        /* Read no further than the next header. */
        ASSERT_TRUE(r.len <= 2 * PR_PROTO_HEADER + len);
    }
    ASSERT_EQ(rc, 0);
    ASSERT_EQ(seen, NFRAMES);
    ASSERT_TRUE(reaped_ok(pid));
    close(fds[0]);
    pr_proto_reader_free(&r);
    pr_buf_free(&model_stream);
}

#define BIG (10u << 20)

/* A big message then a small one, through a non-blocking socket that
 * fills up: write_all waits for room. */
static void
write_big_nonblocking(int fd)
{
    char *big = malloc(BIG);

    memset(big, 'x', BIG);
    big[0] = '"';
    big[BIG - 1] = '"';
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    if (pr_proto_write_all(fd, big, BIG) != 0 ||
        pr_proto_write_all(fd, "{}", 2) != 0)
        _exit(1);
    free(big);
}

static void
write_all_nonblocking_big_message_arrives_whole(void)
{
    struct pr_proto_reader r = {0};
    const char *msg;
    size_t len;
    int fds[2];
    pid_t pid;

    ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
    pid = writer(fds, write_big_nonblocking);
    ASSERT_EQ(pr_proto_read_blocking(fds[0], &r, &msg, &len), 1);
    ASSERT_EQ(len, BIG);
    ASSERT_TRUE(msg[0] == '"' && msg[BIG / 2] == 'x' && msg[BIG - 1] == '"');
    ASSERT_TRUE(r.cap <= BIG + 2 * PR_PROTO_HEADER);
    ASSERT_EQ(pr_proto_read_blocking(fds[0], &r, &msg, &len), 1);
    ASSERT_MEM_EQ(msg, len, "{}");
    /* The big buffer went back once its frame was done. */
    ASSERT_TRUE(r.cap < 65536);
    ASSERT_EQ(pr_proto_read_blocking(fds[0], &r, &msg, &len), 0);
    ASSERT_TRUE(reaped_ok(pid));
    close(fds[0]);
    pr_proto_reader_free(&r);
}

static void
read_blocking_eof_inside_a_frame_is_eof_error(void)
{
    struct pr_proto_reader r = {0};
    const char *msg;
    size_t len;
    char h[4];
    int fds[2];

    ASSERT_EQ(pipe(fds), 0);
    header(h, 10);
    ASSERT_EQ(write(fds[1], h, 4), 4);
    ASSERT_EQ(write(fds[1], "{\"a\"", 4), 4);
    close(fds[1]);
    ASSERT_EQ(pr_proto_read_blocking(fds[0], &r, &msg, &len), UV_EOF);
    close(fds[0]);
    pr_proto_reader_free(&r);
    /* Inside a header, too. */
    ASSERT_EQ(pipe(fds), 0);
    ASSERT_EQ(write(fds[1], h, 2), 2);
    close(fds[1]);
    ASSERT_EQ(pr_proto_read_blocking(fds[0], &r, &msg, &len), UV_EOF);
    close(fds[0]);
    pr_proto_reader_free(&r);
}

static void
read_blocking_oversized_header_is_e2big_at_once(void)
{
    struct pr_proto_reader r = {0};
    const char *msg;
    size_t len;
    char h[4];
    int fds[2];

    /* The writer stays open: the answer cannot wait for more bytes. */
    ASSERT_EQ(pipe(fds), 0);
    header(h, (uint32_t)PR_PROTO_MAX + 1);
    ASSERT_EQ(write(fds[1], h, 4), 4);
    ASSERT_EQ(pr_proto_read_blocking(fds[0], &r, &msg, &len), UV_E2BIG);
    header(h, 0);
    pr_proto_reader_free(&r);
    ASSERT_EQ(write(fds[1], h, 4), 4);
    ASSERT_EQ(pr_proto_read_blocking(fds[0], &r, &msg, &len), UV_EINVAL);
    close(fds[0]);
    close(fds[1]);
    pr_proto_reader_free(&r);
}

static void
write_all_to_a_closed_peer_is_epipe_without_a_signal(void)
{
    int fds[2];

    /* SIGPIPE at its default would end this test's process. */
    ASSERT_TRUE(signal(SIGPIPE, SIG_DFL) != SIG_ERR);
    ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
    close(fds[0]);
    ASSERT_EQ(pr_proto_write_all(fds[1], "{}", 2), UV_EPIPE);
    ASSERT_EQ(pr_proto_send(fds[1], "\0\0\0\2{}", 6), UV_EPIPE);
    close(fds[1]);
}

int
main(void)
{
    static const struct pr_test_case cases[] = {
        TEST_CASE(frame_then_next_round_trips),
        TEST_CASE(frame_begin_end_writes_the_length_in_place),
        TEST_CASE(frame_empty_or_oversized_is_refused),
        TEST_CASE(next_split_at_every_byte_boundary_yields_each_message),
        TEST_CASE(next_several_in_one_chunk_hands_each_out_in_place),
        TEST_CASE(next_oversized_length_is_e2big_for_good),
        TEST_CASE(next_zero_length_is_einval_after_the_messages_before),
        TEST_CASE(next_random_chunks_match_the_model_in_bounded_memory),
        TEST_CASE(read_blocking_random_writes_match_the_model),
        TEST_CASE(write_all_nonblocking_big_message_arrives_whole),
        TEST_CASE(read_blocking_eof_inside_a_frame_is_eof_error),
        TEST_CASE(read_blocking_oversized_header_is_e2big_at_once),
        TEST_CASE(write_all_to_a_closed_peer_is_epipe_without_a_signal),
    };

    return pr_test_run(cases, PR_ARRAY_SIZE(cases));
}
