/* Unit tests of --pipe's cut: a block ends at the last record end that
 * fits, grows to the first one past --block for a long record, waits for
 * more input otherwise, and takes what is left at EOF.  Each case is
 * checked against a trivial model: the cut is a record end (or EOF). */
#include <string.h>

#include "source_pipe.h"
#include "test.h"

int pr_test_failed;

static size_t
cut(const char *s, size_t block, const char *re, int eof)
{
    size_t scanned = 0;

    return pr_pipe_cut(s, strlen(s), block, re, strlen(re), eof, &scanned);
}

static void
cut_takes_the_whole_records_that_fit(void)
{
    ASSERT_EQ(cut("a\nb\nc\nd\n", 5, "\n", 0), 4);
    ASSERT_EQ(cut("a\nb\nc\n", 4, "\n", 0), 4);
}

static void
cut_waits_while_less_than_a_block_has_come(void)
{
    ASSERT_EQ(cut("a\nb\n", 5, "\n", 0), 0);
    ASSERT_EQ(cut("", 5, "\n", 1), 0);
}

static void
cut_at_eof_takes_the_rest_without_a_record_end(void)
{
    ASSERT_EQ(cut("a\nb", 5, "\n", 1), 3);
    ASSERT_EQ(cut("abcdefgh", 5, "\n", 1), 8);
    ASSERT_EQ(cut("a\nbcdefgh", 5, "\n", 1), 2);
}

static void
cut_grows_a_block_to_the_end_of_a_long_record(void)
{
    ASSERT_EQ(cut("abcdefgh\nij\n", 5, "\n", 0), 9);
    ASSERT_EQ(cut("abcdefgh", 5, "\n", 0), 0);
}

static void
cut_of_a_long_record_searches_each_byte_once(void)
{
    const char *s = "abcdefghij--k";
    size_t scanned = 0;

    ASSERT_EQ(pr_pipe_cut(s, 9, 5, "--", 2, 0, &scanned), 0);
    /* The last byte seen may start a record end that the next read ends. */
    ASSERT_EQ(scanned, 8);
    ASSERT_EQ(pr_pipe_cut(s, 13, 5, "--", 2, 0, &scanned), 12);
}

static void
cut_finds_a_record_end_of_several_bytes_across_the_limit(void)
{
    /* "--" ends at 5: the block is exactly --block bytes. */
    ASSERT_EQ(cut("abc--def--", 5, "--", 0), 5);
    /* "--" starts at 4 and ends at 6, past 5: the block grows to it. */
    ASSERT_EQ(cut("abcd--ef--", 5, "--", 0), 6);
    ASSERT_EQ(cut("a\n--b--", 4, "--", 0), 4);
}

static void
cut_matches_a_model_for_every_length_and_block(void)
{
    const char *s = "a\nbb\n\nccc\ndddd\ne\n\nffffff\ng";
    size_t len = strlen(s), n, block;

    for (block = 1; block <= len + 1; block++) {
        for (n = 0; n <= len; n++) {
            size_t scanned = 0;
            size_t got = pr_pipe_cut(s, n, block, "\n", 1, 0, &scanned);
            size_t want = 0, i;

            /* The model: the last end within block; else the first. */
            if (n >= block && n > 0) {
                for (i = 0; i < block && i < n; i++)
                    if (s[i] == '\n')
                        want = i + 1;
                for (i = block; want == 0 && i < n; i++)
                    if (s[i] == '\n')
                        want = i + 1;
            }
            ASSERT_EQ(got, want);
        }
    }
}

int
main(void)
{
    static const struct pr_test_case cases[] = {
        TEST_CASE(cut_takes_the_whole_records_that_fit),
        TEST_CASE(cut_waits_while_less_than_a_block_has_come),
        TEST_CASE(cut_at_eof_takes_the_rest_without_a_record_end),
        TEST_CASE(cut_grows_a_block_to_the_end_of_a_long_record),
        TEST_CASE(cut_of_a_long_record_searches_each_byte_once),
        TEST_CASE(cut_finds_a_record_end_of_several_bytes_across_the_limit),
        TEST_CASE(cut_matches_a_model_for_every_length_and_block),
    };

    return pr_test_run(cases, sizeof(cases) / sizeof(cases[0]));
}
