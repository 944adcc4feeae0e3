/* Unit tests of the splitter: items come out whole whatever the read
 * boundaries, the last item needs no delimiter at end of input, and long
 * items survive many reads. */
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
    };

    return pr_test_run(cases, sizeof(cases) / sizeof(cases[0]));
}
