/* Unit tests of the splitter: items come out whole whatever the read
 * boundaries, the last item needs no delimiter at end of input, and long
 * items survive many reads. */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>
#include <uv.h>

#include "source_lines.h"
#include "test.h"

int pr_test_failed;

static void
splitter_item_split_across_feeds_comes_out_whole(void)
{
    struct pr_splitter sp;
    const char *item;
    size_t len;

    pr_splitter_init(&sp, '\n');
    pr_splitter_feed(&sp, "ech", 3);
    ASSERT_EQ(pr_splitter_next(&sp, 0, &item, &len), 0);
    pr_splitter_feed(&sp, "o a\necho", 8);
    ASSERT_EQ(pr_splitter_next(&sp, 0, &item, &len), 1);
    ASSERT_MEM_EQ(item, len, "echo a");
    ASSERT_EQ(pr_splitter_next(&sp, 0, &item, &len), 0);
    pr_splitter_feed(&sp, " b\n", 3);
    ASSERT_EQ(pr_splitter_next(&sp, 0, &item, &len), 1);
    ASSERT_MEM_EQ(item, len, "echo b");
    ASSERT_EQ(pr_splitter_next(&sp, 1, &item, &len), 0);
    pr_splitter_free(&sp);
}

static void
splitter_last_item_without_delimiter_counts_at_eof(void)
{
    struct pr_splitter sp;
    const char *item;
    size_t len;

    pr_splitter_init(&sp, '\n');
    pr_splitter_feed(&sp, "a\nb", 3);
    ASSERT_EQ(pr_splitter_next(&sp, 0, &item, &len), 1);
    ASSERT_MEM_EQ(item, len, "a");
    ASSERT_EQ(pr_splitter_next(&sp, 0, &item, &len), 0);
    ASSERT_EQ(pr_splitter_pending(&sp), 1);
    ASSERT_EQ(pr_splitter_next(&sp, 1, &item, &len), 1);
    ASSERT_MEM_EQ(item, len, "b");
    ASSERT_EQ(pr_splitter_next(&sp, 1, &item, &len), 0);
    pr_splitter_free(&sp);
}

static void
splitter_empty_items_are_returned_empty(void)
{
    struct pr_splitter sp;
    const char *item;
    size_t len;

    pr_splitter_init(&sp, '\n');
    pr_splitter_feed(&sp, "\n\nx\n", 4);
    ASSERT_EQ(pr_splitter_next(&sp, 1, &item, &len), 1);
    ASSERT_EQ(len, 0);
    ASSERT_EQ(pr_splitter_next(&sp, 1, &item, &len), 1);
    ASSERT_EQ(len, 0);
    ASSERT_EQ(pr_splitter_next(&sp, 1, &item, &len), 1);
    ASSERT_MEM_EQ(item, len, "x");
    ASSERT_EQ(pr_splitter_next(&sp, 1, &item, &len), 0);
    pr_splitter_free(&sp);
}

static void
splitter_nul_delimiter_keeps_newlines_inside_items(void)
{
    struct pr_splitter sp;
    const char *item;
    size_t len;

    pr_splitter_init(&sp, '\0');
    pr_splitter_feed(&sp, "a\nb\0c", 5);
    ASSERT_EQ(pr_splitter_next(&sp, 0, &item, &len), 1);
    ASSERT_MEM_EQ(item, len, "a\nb");
    ASSERT_EQ(pr_splitter_next(&sp, 1, &item, &len), 1);
    ASSERT_MEM_EQ(item, len, "c");
    pr_splitter_free(&sp);
}

static void
splitter_ten_megabyte_item_in_small_reads_comes_out_whole(void)
{
    struct pr_splitter sp;
    const size_t big = 10 * 1024 * 1024;
    const char *item;
    size_t len;
    size_t fed = 0;
    char chunk[4096];
    size_t i;
    int got = 0;

    memset(chunk, 'y', sizeof(chunk));
    pr_splitter_init(&sp, '\n');
    while (fed < big) {
        size_t n = big - fed < sizeof(chunk) ? big - fed : sizeof(chunk);

        pr_splitter_feed(&sp, chunk, n);
        fed += n;
        if (pr_splitter_next(&sp, 0, &item, &len))
            got++;
    }
    ASSERT_EQ(got, 0);
    pr_splitter_feed(&sp, "\nshort\n", 7);
    ASSERT_EQ(pr_splitter_next(&sp, 0, &item, &len), 1);
    ASSERT_EQ(len, big);
    for (i = 0; i < len; i++)
        if (item[i] != 'y')
            break;
    ASSERT_EQ(i, big);
    ASSERT_EQ(pr_splitter_next(&sp, 0, &item, &len), 1);
    ASSERT_MEM_EQ(item, len, "short");
    pr_splitter_free(&sp);
}

static void
splitter_buffer_stays_small_for_many_short_items(void)
{
    struct pr_splitter sp;
    const char *item;
    size_t len;
    int i;
    int got = 0;

    pr_splitter_init(&sp, '\n');
    for (i = 0; i < 100000; i++) {
        pr_splitter_feed(&sp, "true\n", 5);
        while (pr_splitter_next(&sp, 0, &item, &len))
            got++;
    }
    ASSERT_EQ(got, 100000);
    /* Consumed bytes are dropped, so the buffer never grew past a page. */
    ASSERT_TRUE(sp.buf.cap <= 4096);
    pr_splitter_free(&sp);
}

/* Feeds n bytes of c in reads of 64 KiB, as the source reads, checking
 * after each read that no item came out and memory stayed small. */
static int
feed_long(struct pr_splitter *sp, char c, size_t n, size_t *max_cap)
{
    static char chunk[64 * 1024];
    const char *item;
    size_t len;
    size_t fed = 0;
    int got = 0;

    memset(chunk, c, sizeof(chunk));
    while (fed < n) {
        size_t k = n - fed < sizeof(chunk) ? n - fed : sizeof(chunk);

        pr_splitter_feed(sp, chunk, k);
        fed += k;
        while (pr_splitter_next(sp, 0, &item, &len))
            got++;
        if (sp->buf.cap > *max_cap)
            *max_cap = sp->buf.cap;
    }
    return got;
}

/* The file's whole contents are n bytes of c. */
static int
file_is(int fd, char c, size_t n)
{
    char buf[65536];
    size_t total = 0;
    ssize_t r;
    off_t off = 0;

    while ((r = pread(fd, buf, sizeof(buf), off)) > 0) {
        ssize_t i;

        for (i = 0; i < r; i++)
            if (buf[i] != c)
                return 0;
        total += (size_t)r;
        off += r;
    }
    return r == 0 && total == n;
}

static void
splitter_long_item_kept_goes_to_a_file_and_memory_stays_flat(void)
{
    struct pr_splitter sp;
    struct pr_long_item li;
    const size_t big = 20 * 1024 * 1024;
    const char *item;
    size_t len;
    size_t max_cap = 0;

    pr_splitter_init(&sp, '\n');
    pr_splitter_set_long(&sp, PR_ITEM_MAX, 1);
    pr_splitter_feed(&sp, "before\n", 7);
    ASSERT_EQ(pr_splitter_next(&sp, 0, &item, &len), 1);
    ASSERT_MEM_EQ(item, len, "before");
    ASSERT_EQ(pr_splitter_take_long(&sp, &li), 0);
    ASSERT_EQ(feed_long(&sp, 'y', big, &max_cap), 0);
    /* One read past the limit, rounded up to a power of two. */
    ASSERT_TRUE(max_cap <= 2 * PR_ITEM_MAX + 2 * 64 * 1024);
    pr_splitter_feed(&sp, "\nafter\n", 7);
    ASSERT_EQ(pr_splitter_next(&sp, 0, &item, &len), 1);
    ASSERT_EQ(len, PR_ITEM_HEAD);
    ASSERT_TRUE(item[0] == 'y' && item[len - 1] == 'y');
    ASSERT_EQ(pr_splitter_take_long(&sp, &li), 1);
    ASSERT_EQ(li.len, big);
    ASSERT_EQ(li.err, 0);
    ASSERT_TRUE(li.fd >= 0);
    ASSERT_TRUE(file_is(li.fd, 'y', big));
    close(li.fd);
    ASSERT_EQ(pr_splitter_next(&sp, 0, &item, &len), 1);
    ASSERT_MEM_EQ(item, len, "after");
    ASSERT_EQ(pr_splitter_take_long(&sp, &li), 0);
    pr_splitter_free(&sp);
}

static void
splitter_long_item_not_kept_is_only_counted(void)
{
    struct pr_splitter sp;
    struct pr_long_item li;
    const char *item;
    size_t len;
    size_t max_cap = 0;

    pr_splitter_init(&sp, '\n');
    pr_splitter_set_long(&sp, PR_ITEM_MAX, 0);
    ASSERT_EQ(feed_long(&sp, 'z', 3 * PR_ITEM_MAX + 5, &max_cap), 0);
    /* At end of input a long last item needs no delimiter either. */
    ASSERT_EQ(pr_splitter_next(&sp, 1, &item, &len), 1);
    ASSERT_EQ(pr_splitter_take_long(&sp, &li), 1);
    ASSERT_EQ(li.len, 3 * PR_ITEM_MAX + 5);
    ASSERT_EQ(li.fd, -1);
    ASSERT_EQ(li.err, 0);
    ASSERT_EQ(pr_splitter_next(&sp, 1, &item, &len), 0);
    pr_splitter_free(&sp);
}

static void
splitter_item_one_byte_past_the_limit_is_long_however_read(void)
{
    struct pr_splitter sp;
    struct pr_long_item li;
    struct pr_buf in = {0};
    const char *item;
    size_t len;

    /* Exactly the limit: an ordinary item.  One byte more: long, even
     * when its delimiter comes in the same read. */
    pr_buf_reserve(&in, 2 * PR_ITEM_MAX + 3);
    memset(in.data, 'x', 2 * PR_ITEM_MAX + 3);
    in.data[PR_ITEM_MAX] = '\n';
    in.data[2 * PR_ITEM_MAX + 2] = '\n';
    pr_splitter_init(&sp, '\n');
    pr_splitter_set_long(&sp, PR_ITEM_MAX, 1);
    pr_splitter_feed(&sp, in.data, 2 * PR_ITEM_MAX + 3);
    ASSERT_EQ(pr_splitter_next(&sp, 0, &item, &len), 1);
    ASSERT_EQ(len, PR_ITEM_MAX);
    ASSERT_EQ(pr_splitter_take_long(&sp, &li), 0);
    ASSERT_EQ(pr_splitter_next(&sp, 0, &item, &len), 1);
    ASSERT_EQ(len, PR_ITEM_HEAD);
    ASSERT_EQ(pr_splitter_take_long(&sp, &li), 1);
    ASSERT_EQ(li.len, PR_ITEM_MAX + 1);
    ASSERT_TRUE(file_is(li.fd, 'x', PR_ITEM_MAX + 1));
    close(li.fd);
    pr_splitter_free(&sp);
    pr_buf_free(&in);
}

static void
splitter_long_item_with_a_nul_byte_is_not_kept(void)
{
    struct pr_splitter sp;
    struct pr_long_item li;
    const char *item;
    size_t len;
    size_t max_cap = 0;

    pr_splitter_init(&sp, '\n');
    pr_splitter_set_long(&sp, PR_ITEM_MAX, 1);
    ASSERT_EQ(feed_long(&sp, '\0', 4 * PR_ITEM_MAX, &max_cap), 0);
    pr_splitter_feed(&sp, "\n", 1);
    ASSERT_EQ(pr_splitter_next(&sp, 0, &item, &len), 1);
    ASSERT_EQ(pr_splitter_take_long(&sp, &li), 1);
    ASSERT_EQ(li.len, 4 * PR_ITEM_MAX);
    ASSERT_EQ(li.fd, -1);
    ASSERT_EQ(li.err, UV_EINVAL);
    pr_splitter_free(&sp);
}

static void
splitter_long_item_with_no_room_for_its_file_says_why(void)
{
    struct pr_splitter sp;
    struct pr_long_item li;
    const char *item;
    size_t len;
    size_t max_cap = 0;
    const char *old = getenv("TMPDIR");
    char *saved = old != NULL ? strdup(old) : NULL;

    setenv("TMPDIR", "/nonexistent/poolrun-test", 1);
    pr_splitter_init(&sp, '\n');
    pr_splitter_set_long(&sp, PR_ITEM_MAX, 1);
    feed_long(&sp, 'a', PR_ITEM_MAX + 1, &max_cap);
    if (saved != NULL)
        setenv("TMPDIR", saved, 1);
    else
        unsetenv("TMPDIR");
    free(saved);
    ASSERT_EQ(pr_splitter_next(&sp, 1, &item, &len), 1);
    ASSERT_EQ(pr_splitter_take_long(&sp, &li), 1);
    ASSERT_EQ(li.fd, -1);
    ASSERT_EQ(li.err, UV_ENOENT);
    ASSERT_EQ(li.len, PR_ITEM_MAX + 1);
    pr_splitter_free(&sp);
}

static void
splitter_long_item_write_failure_stops_keeping_and_says_why(void)
{
    struct pr_splitter sp;
    struct pr_long_item li;
    struct rlimit old, small;
    const char *item;
    size_t len;
    size_t max_cap = 0;

    /* A file size limit fails the write as a full disk would. */
    signal(SIGXFSZ, SIG_IGN);
    getrlimit(RLIMIT_FSIZE, &old);
    small = old;
    small.rlim_cur = 2 * PR_ITEM_MAX;
    ASSERT_EQ(setrlimit(RLIMIT_FSIZE, &small), 0);
    pr_splitter_init(&sp, '\n');
    pr_splitter_set_long(&sp, PR_ITEM_MAX, 1);
    feed_long(&sp, 'a', 3 * PR_ITEM_MAX, &max_cap);
    setrlimit(RLIMIT_FSIZE, &old);
    signal(SIGXFSZ, SIG_DFL);
    ASSERT_EQ(pr_splitter_next(&sp, 1, &item, &len), 1);
    ASSERT_EQ(pr_splitter_take_long(&sp, &li), 1);
    ASSERT_EQ(li.fd, -1);
    ASSERT_EQ(li.err, UV_EFBIG);
    ASSERT_EQ(li.len, 3 * PR_ITEM_MAX);
    pr_splitter_free(&sp);
}

int
main(void)
{
    static const struct pr_test_case cases[] = {
        TEST_CASE(splitter_item_split_across_feeds_comes_out_whole),
        TEST_CASE(splitter_last_item_without_delimiter_counts_at_eof),
        TEST_CASE(splitter_empty_items_are_returned_empty),
        TEST_CASE(splitter_nul_delimiter_keeps_newlines_inside_items),
        TEST_CASE(splitter_ten_megabyte_item_in_small_reads_comes_out_whole),
        TEST_CASE(splitter_buffer_stays_small_for_many_short_items),
        TEST_CASE(splitter_long_item_kept_goes_to_a_file_and_memory_stays_flat),
        TEST_CASE(splitter_long_item_not_kept_is_only_counted),
        TEST_CASE(splitter_item_one_byte_past_the_limit_is_long_however_read),
        TEST_CASE(splitter_long_item_with_a_nul_byte_is_not_kept),
        TEST_CASE(splitter_long_item_with_no_room_for_its_file_says_why),
        TEST_CASE(splitter_long_item_write_failure_stops_keeping_and_says_why),
    };

    return pr_test_run(cases, sizeof(cases) / sizeof(cases[0]));
}
