/* Unit tests of the journal: records of every size come back in order;
 * a torn or corrupt record cuts the file there and only there; the folder
 * lock; a full disk (RLIMIT_FSIZE) loses nothing synced and leaves no
 * fragment; compaction keeps exactly what it is given, and a crashed one
 * is forgotten.  The group-commit rate is printed, never asserted. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <uv.h>

#include "journal.h"
#include "test.h"
#include "util.h"

int pr_test_failed;

/* Each test's own folder: root/state, removed by the next test. */
static char root[4096];
static char dir[4200];

static void
remove_tree(const char *path)
{
    DIR *d = opendir(path);
    struct dirent *e;
    char sub[8192];

    if (d == NULL) {
        unlink(path);
        return;
    }
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        snprintf(sub, sizeof(sub), "%s/%s", path, e->d_name);
        remove_tree(sub);
    }
    closedir(d);
    rmdir(path);
}

static void
fresh_dir(void)
{
    const char *tmp = getenv("TMPDIR");

    if (root[0] != '\0')
        remove_tree(root);
    snprintf(root, sizeof(root), "%s/poolrun-journal-XXXXXX",
             tmp != NULL && *tmp != '\0' ? tmp : "/tmp");
    if (mkdtemp(root) == NULL) {
        perror("mkdtemp");
        exit(1);
    }
    snprintf(dir, sizeof(dir), "%s/state", root);
}

/* A path in the state folder. */
static const char *
file_in(const char *name)
{
    static char path[4300];

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    return path;
}

static long long
file_size(const char *path)
{
    struct stat st;

    return stat(path, &st) == 0 ? (long long)st.st_size : -1;
}

/* A record the tests write: its bytes follow from seed. */
struct spec {
    int type;
    size_t len;
    unsigned seed;
};

static void
fill(unsigned char *p, size_t len, unsigned seed)
{
    uint32_t x = seed * 2654435761u + 1;
    size_t i;

    for (i = 0; i < len; i++) {
        x = x * 1103515245u + 12345u;
        p[i] = (unsigned char)(x >> 16);
    }
}

static int
append_spec(struct pr_journal *j, const struct spec *s)
{
    unsigned char *p = pr_xmalloc(s->len + 1);
    int rc;

    fill(p, s->len, s->seed);
    rc = pr_journal_append(j, s->type, p, s->len);
    free(p);
    return rc;
}

static int
append_specs(struct pr_journal *j, const struct spec *s, size_t n)
{
    size_t i;
    int rc = 0;

    for (i = 0; i < n && rc == 0; i++)
        rc = append_spec(j, &s[i]);
    return rc;
}

static uint64_t
specs_bytes(const struct spec *s, size_t n)
{
    uint64_t sum = 0;
    size_t i;

    for (i = 0; i < n; i++)
        sum += PR_JOURNAL_RECORD_SIZE(s[i].len);
    return sum;
}

/* What a replay handed over. */
struct got_rec {
    int type;
    size_t len;
    unsigned char *p;
};

struct got {
    size_t n, cap;
    struct got_rec *r;
    size_t fail_at; /* collect fails at this record (0: never) */
};

static int
collect(void *data, int type, const void *p, size_t len)
{
    struct got *g = data;

    if (g->fail_at != 0 && g->n + 1 == g->fail_at)
        return UV_ECANCELED;
    if (g->n == g->cap) {
        g->cap = g->cap ? 2 * g->cap : 64;
        g->r = pr_xrealloc(g->r, g->cap * sizeof(*g->r));
    }
    g->r[g->n].type = type;
    g->r[g->n].len = len;
    g->r[g->n].p = (unsigned char *)pr_xmemdup(p, len);
    g->n++;
    return 0;
}

static void
got_free(struct got *g)
{
    size_t i;

    for (i = 0; i < g->n; i++)
        free(g->r[i].p);
    free(g->r);
    memset(g, 0, sizeof(*g));
}

/* Do g's records from `from` on equal want's n?  Says where not. */
static int
got_equal(const struct got *g, size_t from, const struct spec *want, size_t n)
{
    size_t i;

    if (g->n < from + n) {
        fprintf(stderr, "replayed %zu records, want %zu\n", g->n, from + n);
        return 0;
    }
    for (i = 0; i < n; i++) {
        const struct got_rec *r = &g->r[from + i];
        unsigned char *p = pr_xmalloc(want[i].len + 1);
        int same;

        fill(p, want[i].len, want[i].seed);
        same = r->type == want[i].type && r->len == want[i].len &&
               memcmp(r->p, p, r->len) == 0;
        free(p);
        if (!same) {
            fprintf(stderr, "record %zu: type %d len %zu, want %d len %zu\n",
                    from + i, r->type, r->len, want[i].type, want[i].len);
            return 0;
        }
    }
    return 1;
}

/* Opens dir, collecting the replay into *g (emptied first). */
static int
open_collect(struct pr_journal **j, struct got *g, struct pr_journal_stats *st)
{
    got_free(g);
    return pr_journal_open(j, dir, collect, g, st);
}

/* n records of many types and of sizes from 0 up to 1 MiB. */
static struct spec *
make_specs(size_t n, unsigned seed)
{
    static const size_t sizes[] = {0,    1,     2,     3,     7,      8,
                                   9,    15,    16,    17,    100,    255,
                                   256,  4095,  4096,  4097,  65535,  65536,
                                   1000, 30000, 12345, 99999, 1 << 20};
    struct spec *s = pr_xcalloc(n, sizeof(*s));
    size_t i;

    for (i = 0; i < n; i++) {
        s[i].type = 1 + (int)((i * 37 + seed) % 255);
        s[i].len = sizes[(i + seed) % PR_ARRAY_SIZE(sizes)];
        s[i].seed = seed * 100003u + (unsigned)i;
    }
    return s;
}

static void
crc32c_check_value_matches(void)
{
    ASSERT_EQ(pr_journal_crc32c(0, "123456789", 9), 0xE3069283u);
    ASSERT_EQ(pr_journal_crc32c(0, "", 0), 0);
    /* Continued over pieces of every length, it is the same. */
    ASSERT_EQ(pr_journal_crc32c(pr_journal_crc32c(0, "1234567", 7), "89", 2),
              0xE3069283u);
    ASSERT_EQ(pr_journal_crc32c(pr_journal_crc32c(0, "1", 1), "23456789", 8),
              0xE3069283u);
}

static void
journal_round_trip_many_types_and_sizes_replays_in_order(void)
{
    enum {
        N = 120
    };
    struct spec *s = make_specs(N, 1);
    struct pr_journal *j;
    struct pr_journal_stats st;
    struct got g = {0};
    size_t i;

    fresh_dir();
    ASSERT_EQ(open_collect(&j, &g, &st), 0);
    ASSERT_EQ(g.n, 0);
    ASSERT_EQ(st.records, 0);
    ASSERT_EQ(st.total_bytes, PR_JOURNAL_FILE_HEADER);
    for (i = 0; i < N; i++) {
        ASSERT_EQ(append_spec(j, &s[i]), 0);
        if (i % 25 == 24)
            ASSERT_EQ(pr_journal_sync(j), 0);
    }
    /* The last few are written by close. */
    ASSERT_EQ(pr_journal_close(j), 0);
    ASSERT_EQ(file_size(file_in("journal")),
              PR_JOURNAL_FILE_HEADER + specs_bytes(s, N));
    ASSERT_EQ(open_collect(&j, &g, &st), 0);
    ASSERT_TRUE(got_equal(&g, 0, s, N));
    ASSERT_EQ(g.n, N);
    ASSERT_EQ(st.records, N);
    ASSERT_EQ(st.cut_bytes, 0);
    ASSERT_EQ(st.cut_reason, PR_JOURNAL_CUT_NONE);
    ASSERT_EQ(st.total_bytes, PR_JOURNAL_FILE_HEADER + specs_bytes(s, N));
    /* More appended after a replay follow the first ones. */
    ASSERT_EQ(append_specs(j, s, 10), 0);
    ASSERT_EQ(pr_journal_close(j), 0);
    ASSERT_EQ(open_collect(&j, &g, NULL), 0);
    ASSERT_TRUE(got_equal(&g, 0, s, N));
    ASSERT_TRUE(got_equal(&g, N, s, 10));
    ASSERT_EQ(g.n, N + 10);
    ASSERT_EQ(pr_journal_close(j), 0);
    got_free(&g);
    free(s);
}

/* pr_journal_append_buf: the payload after the caller's header room, with
 * nothing queued (b's memory becomes the queue) and behind another record
 * (copied): both come back as pr_journal_append's would, and b is taken. */
static void
journal_append_buf_taken_or_copied_replays_the_same(void)
{
    static const char room[PR_JOURNAL_REC_HEADER];
    struct spec s[3] = {{1, 5000, 11}, {2, 40, 12}, {1, 0, 13}};
    struct pr_journal *j;
    struct got g = {0};
    size_t i;

    fresh_dir();
    ASSERT_EQ(open_collect(&j, &g, NULL), 0);
    for (i = 0; i < 3; i++) {
        struct pr_buf b = {0};
        unsigned char *p = pr_xmalloc(s[i].len + 1);

        fill(p, s[i].len, s[i].seed);
        pr_buf_append(&b, room, sizeof(room));
        pr_buf_append(&b, p, s[i].len);
        free(p);
        ASSERT_EQ(pr_journal_append_buf(j, s[i].type, &b), 0);
        ASSERT_TRUE(b.data == NULL);
        ASSERT_EQ(b.len, 0);
        /* The first alone (taken), then two queued together (copied). */
        if (i == 0)
            ASSERT_EQ(pr_journal_sync(j), 0);
    }
    ASSERT_EQ(pr_journal_close(j), 0);
    ASSERT_EQ(open_collect(&j, &g, NULL), 0);
    ASSERT_EQ(g.n, 3);
    ASSERT_TRUE(got_equal(&g, 0, s, 3));
    ASSERT_EQ(pr_journal_close(j), 0);
    got_free(&g);
}

static void
journal_open_makes_missing_folders_private(void)
{
    struct pr_journal *j;
    struct stat st;

    fresh_dir();
    snprintf(dir, sizeof(dir), "%s/a/b/state", root);
    ASSERT_EQ(pr_journal_open(&j, dir, NULL, NULL, NULL), 0);
    ASSERT_EQ(stat(dir, &st), 0);
    ASSERT_EQ(st.st_mode & 0777, 0700);
    ASSERT_EQ(file_size(file_in("journal")), PR_JOURNAL_FILE_HEADER);
    ASSERT_EQ(pr_journal_close(j), 0);
    ASSERT_EQ(pr_journal_open(&j, "", NULL, NULL, NULL), UV_EINVAL);
    /* A file where the folder should be. */
    snprintf(dir, sizeof(dir), "%s/a/b/state/journal", root);
    ASSERT_EQ(pr_journal_open(&j, dir, NULL, NULL, NULL), UV_ENOTDIR);
    snprintf(dir, sizeof(dir), "%s/a/b/state/journal/x", root);
    ASSERT_EQ(pr_journal_open(&j, dir, NULL, NULL, NULL), UV_ENOTDIR);
}

/* The journal's bytes into a new buffer; *len set. */
static unsigned char *
slurp(size_t *len)
{
    long long n = file_size(file_in("journal"));
    unsigned char *p = pr_xmalloc(n > 0 ? (size_t)n : 1);
    int fd = open(file_in("journal"), O_RDONLY);

    *len = 0;
    if (fd >= 0 && n > 0 && read(fd, p, (size_t)n) == n)
        *len = (size_t)n;
    if (fd >= 0)
        close(fd);
    return p;
}

/* Replaces the journal with n bytes of p. */
static int
put_file(const char *path, const unsigned char *p, size_t n)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    int rc = fd < 0 ? -errno : pr_write_all(fd, p, n);

    if (fd >= 0)
        close(fd);
    return rc;
}

static void
journal_torn_tail_at_every_offset_cuts_only_the_last_record(void)
{
    static const struct spec s[] = {
        {1, 10, 1}, {2, 0, 2}, {3, 1000, 3}, {4, 5, 4}, {5, 100, 5}};
    const size_t n = PR_ARRAY_SIZE(s);
    const uint64_t last = PR_JOURNAL_FILE_HEADER + specs_bytes(s, n - 1);
    struct pr_journal *j;
    struct pr_journal_stats st;
    struct got g = {0};
    unsigned char *whole;
    size_t len, off;

    fresh_dir();
    ASSERT_EQ(pr_journal_open(&j, dir, NULL, NULL, NULL), 0);
    ASSERT_EQ(append_specs(j, s, n), 0);
    ASSERT_EQ(pr_journal_close(j), 0);
    whole = slurp(&len);
    ASSERT_EQ(len, last + PR_JOURNAL_RECORD_SIZE(100));
    for (off = last; off < len; off++) {
        ASSERT_EQ(put_file(file_in("journal"), whole, off), 0);
        ASSERT_EQ(open_collect(&j, &g, &st), 0);
        ASSERT_TRUE(got_equal(&g, 0, s, n - 1));
        ASSERT_EQ(g.n, n - 1);
        ASSERT_EQ(st.records, n - 1);
        ASSERT_EQ(st.cut_bytes, off - last);
        if (off > last) {
            ASSERT_EQ(st.cut_offset, last);
            ASSERT_EQ(st.cut_reason, PR_JOURNAL_CUT_SHORT);
        }
        ASSERT_EQ(file_size(file_in("journal")), last);
        ASSERT_EQ(pr_journal_close(j), 0);
    }
    /* After a cut, what is appended follows the whole records. */
    ASSERT_EQ(put_file(file_in("journal"), whole, len - 3), 0);
    ASSERT_EQ(pr_journal_open(&j, dir, NULL, NULL, NULL), 0);
    ASSERT_EQ(append_spec(j, &s[0]), 0);
    ASSERT_EQ(pr_journal_close(j), 0);
    ASSERT_EQ(open_collect(&j, &g, &st), 0);
    ASSERT_TRUE(got_equal(&g, 0, s, n - 1));
    ASSERT_TRUE(got_equal(&g, n - 1, s, 1));
    ASSERT_EQ(st.cut_bytes, 0);
    ASSERT_EQ(pr_journal_close(j), 0);
    free(whole);
    got_free(&g);
}

static void
journal_flipped_byte_in_a_middle_record_cuts_from_there(void)
{
    static const struct spec s[] = {{1, 30, 1}, {2, 40, 2}, {3, 20, 3},
                                    {4, 50, 4}, {5, 60, 5}, {6, 70, 6}};
    const size_t n = PR_ARRAY_SIZE(s), k = 2;
    const uint64_t at = PR_JOURNAL_FILE_HEADER + specs_bytes(s, k);
    struct pr_journal *j;
    struct pr_journal_stats st;
    struct got g = {0};
    unsigned char *whole;
    size_t len, i;

    fresh_dir();
    ASSERT_EQ(pr_journal_open(&j, dir, NULL, NULL, NULL), 0);
    ASSERT_EQ(append_specs(j, s, n), 0);
    ASSERT_EQ(pr_journal_close(j), 0);
    whole = slurp(&len);
    ASSERT_EQ(len, PR_JOURNAL_FILE_HEADER + specs_bytes(s, n));
    /* Every byte of record k, header and payload: the magic, type and
     * length are checked, the checksum covers the rest. */
    for (i = at; i < at + PR_JOURNAL_RECORD_SIZE(s[k].len); i++) {
        whole[i] ^= 0x5a;
        ASSERT_EQ(put_file(file_in("journal"), whole, len), 0);
        whole[i] ^= 0x5a;
        ASSERT_EQ(open_collect(&j, &g, &st), 0);
        ASSERT_TRUE(got_equal(&g, 0, s, k));
        ASSERT_EQ(g.n, k);
        ASSERT_EQ(st.cut_offset, at);
        ASSERT_EQ(st.cut_bytes, len - at);
        ASSERT_TRUE(st.cut_reason != PR_JOURNAL_CUT_NONE);
        if (i == at)
            ASSERT_EQ(st.cut_reason, PR_JOURNAL_CUT_HEADER);
        if (i >= at + PR_JOURNAL_REC_HEADER)
            ASSERT_EQ(st.cut_reason, PR_JOURNAL_CUT_CRC);
        ASSERT_EQ(file_size(file_in("journal")), at);
        ASSERT_EQ(pr_journal_close(j), 0);
    }
    free(whole);
    got_free(&g);
}

static void
journal_not_a_journal_is_refused_untouched(void)
{
    static const unsigned char junk[] = "not a journal at all";
    unsigned char newer[PR_JOURNAL_FILE_HEADER] = "poolrunJ\x02";
    struct pr_journal *j;

    fresh_dir();
    ASSERT_EQ(pr_journal_open(&j, dir, NULL, NULL, NULL), 0);
    ASSERT_EQ(pr_journal_close(j), 0);
    ASSERT_EQ(put_file(file_in("journal"), junk, sizeof(junk)), 0);
    ASSERT_EQ(pr_journal_open(&j, dir, NULL, NULL, NULL), UV_EFTYPE);
    ASSERT_TRUE(j == NULL);
    ASSERT_EQ(file_size(file_in("journal")), sizeof(junk));
    ASSERT_EQ(put_file(file_in("journal"), junk, 5), 0);
    ASSERT_EQ(pr_journal_open(&j, dir, NULL, NULL, NULL), UV_EFTYPE);
    ASSERT_EQ(put_file(file_in("journal"), newer, sizeof(newer)), 0);
    ASSERT_EQ(pr_journal_open(&j, dir, NULL, NULL, NULL), UV_ENOTSUP);
    ASSERT_EQ(file_size(file_in("journal")), sizeof(newer));
}

static void
journal_replay_error_fails_open_and_leaves_the_file(void)
{
    static const struct spec s[] = {{1, 3, 1}, {2, 4, 2}, {3, 5, 3}};
    struct pr_journal *j;
    struct got g = {0};
    long long size;

    fresh_dir();
    ASSERT_EQ(pr_journal_open(&j, dir, NULL, NULL, NULL), 0);
    ASSERT_EQ(append_specs(j, s, 3), 0);
    ASSERT_EQ(pr_journal_close(j), 0);
    size = file_size(file_in("journal"));
    g.fail_at = 2;
    ASSERT_EQ(pr_journal_open(&j, dir, collect, &g, NULL), UV_ECANCELED);
    ASSERT_TRUE(j == NULL);
    ASSERT_EQ(g.n, 1);
    ASSERT_EQ(file_size(file_in("journal")), size);
    /* The lock went with the failed open. */
    ASSERT_EQ(open_collect(&j, &g, NULL), 0);
    ASSERT_TRUE(got_equal(&g, 0, s, 3));
    ASSERT_EQ(pr_journal_close(j), 0);
    got_free(&g);
}

static void
journal_second_open_while_locked_is_ebusy_until_close(void)
{
    struct pr_journal *j, *j2 = NULL;
    int status = -1;
    pid_t pid;

    fresh_dir();
    ASSERT_EQ(pr_journal_open(&j, dir, NULL, NULL, NULL), 0);
    ASSERT_EQ(pr_journal_open(&j2, dir, NULL, NULL, NULL), UV_EBUSY);
    ASSERT_TRUE(j2 == NULL);
    /* Another process too. */
    pid = fork();
    ASSERT_TRUE(pid >= 0);
    if (pid == 0)
        _exit(pr_journal_open(&j2, dir, NULL, NULL, NULL) == UV_EBUSY ? 7 : 1);
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFEXITED(status));
    ASSERT_EQ(WEXITSTATUS(status), 7);
    ASSERT_EQ(pr_journal_close(j), 0);
    ASSERT_EQ(pr_journal_open(&j2, dir, NULL, NULL, NULL), 0);
    ASSERT_EQ(pr_journal_close(j2), 0);
}

static void
journal_append_bad_type_or_size_is_refused(void)
{
    struct pr_journal *j;
    struct pr_journal_stats st;

    fresh_dir();
    ASSERT_EQ(pr_journal_open(&j, dir, NULL, NULL, NULL), 0);
    ASSERT_EQ(pr_journal_append(j, 0, "x", 1), UV_EINVAL);
    ASSERT_EQ(pr_journal_append(j, 256, "x", 1), UV_EINVAL);
    ASSERT_EQ(pr_journal_append(j, -1, "x", 1), UV_EINVAL);
    ASSERT_EQ(pr_journal_append(j, 9, NULL, PR_JOURNAL_MAX_PAYLOAD + 1ull),
              UV_E2BIG);
    ASSERT_EQ(pr_journal_append(j, 255, "x", 1), 0);
    pr_journal_stats(j, &st);
    ASSERT_EQ(st.records, 1);
    ASSERT_EQ(st.queued_bytes, PR_JOURNAL_RECORD_SIZE(1));
    ASSERT_EQ(pr_journal_close(j), 0);
}

/*
 * The file may grow to limit bytes: a sync past it fails with EFBIG (as
 * ENOSPC would on a full disk), after a short write.
 */
static int
set_fsize_limit(rlim_t limit, struct rlimit *old)
{
    struct rlimit rl;

    if (getrlimit(RLIMIT_FSIZE, old) != 0)
        return -errno;
    rl = *old;
    rl.rlim_cur = limit;
    return setrlimit(RLIMIT_FSIZE, &rl) != 0 ? -errno : 0;
}

static void
journal_full_disk_sync_fails_keeps_whole_records_and_recovers(void)
{
    static const struct spec a[] = {{1, 100, 1}, {2, 100, 2}, {3, 100, 3}};
    static const struct spec big[] = {
        {4, 100, 4}, {5, 100, 5}, {6, 100, 6}, {7, 100, 7}};
    static const struct spec small[] = {{8, 50, 8}};
    static const struct spec b[] = {{9, 100, 9}, {10, 1000, 10}};
    struct pr_journal *j;
    struct pr_journal_stats st;
    struct rlimit old;
    struct got g = {0};
    long long synced, after_fail, after_small;
    int rc_limit, rc_big, rc_again, rc_small;

    fresh_dir();
    signal(SIGXFSZ, SIG_IGN);
    ASSERT_EQ(pr_journal_open(&j, dir, NULL, NULL, NULL), 0);
    ASSERT_EQ(append_specs(j, a, 3), 0);
    ASSERT_EQ(pr_journal_sync(j), 0);
    synced = file_size(file_in("journal"));
    /* Room for one and a half records of big: the write stops midway. */
    rc_limit = set_fsize_limit((rlim_t)synced + 170, &old);
    append_specs(j, big, 4);
    rc_big = pr_journal_sync(j);
    after_fail = file_size(file_in("journal"));
    append_specs(j, big, 4);
    rc_again = pr_journal_sync(j);
    /* A record that fits still goes in. */
    append_specs(j, small, 1);
    rc_small = pr_journal_sync(j);
    after_small = file_size(file_in("journal"));
    setrlimit(RLIMIT_FSIZE, &old);
    signal(SIGXFSZ, SIG_DFL);
    ASSERT_EQ(rc_limit, 0);
    ASSERT_EQ(rc_big, UV_EFBIG);
    ASSERT_EQ(after_fail, synced);
    ASSERT_EQ(rc_again, UV_EFBIG);
    ASSERT_EQ(rc_small, 0);
    ASSERT_EQ(after_small, synced + (long long)PR_JOURNAL_RECORD_SIZE(50));
    pr_journal_stats(j, &st);
    ASSERT_EQ(st.records, 4);
    ASSERT_EQ(st.queued_bytes, 0);
    ASSERT_EQ(st.total_bytes, after_small);
    /* With room again, appending works. */
    ASSERT_EQ(append_specs(j, b, 2), 0);
    ASSERT_EQ(pr_journal_sync(j), 0);
    ASSERT_EQ(pr_journal_close(j), 0);
    ASSERT_EQ(open_collect(&j, &g, &st), 0);
    ASSERT_EQ(st.cut_bytes, 0);
    ASSERT_EQ(g.n, 6);
    ASSERT_TRUE(got_equal(&g, 0, a, 3));
    ASSERT_TRUE(got_equal(&g, 3, small, 1));
    ASSERT_TRUE(got_equal(&g, 4, b, 2));
    ASSERT_EQ(pr_journal_close(j), 0);
    got_free(&g);
}

/* Records written without a sync are there for the next open after the
 * process dies (no close); those only queued are not. */
static void
journal_write_survives_the_process_and_sync_follows_it(void)
{
    static const struct spec a[] = {{1, 10, 1}, {2, 20, 2}};
    static const struct spec w[] = {{3, 30, 3}};
    static const struct spec q[] = {{4, 40, 4}};
    static const struct spec b[] = {{5, 50, 5}};
    struct pr_journal *j;
    struct pr_journal_stats st;
    struct got g = {0};
    int status = -1;
    pid_t pid;

    fresh_dir();
    pid = fork();
    ASSERT_TRUE(pid >= 0);
    if (pid == 0) {
        int ok = pr_journal_open(&j, dir, NULL, NULL, NULL) == 0 &&
                 append_specs(j, a, 2) == 0 && pr_journal_sync(j) == 0 &&
                 append_specs(j, w, 1) == 0 && pr_journal_write(j) == 0 &&
                 append_specs(j, q, 1) == 0;

        _exit(ok ? 7 : 1); /* as a kill -9 would: no close, no sync */
    }
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFEXITED(status));
    ASSERT_EQ(WEXITSTATUS(status), 7);
    ASSERT_EQ(open_collect(&j, &g, &st), 0);
    ASSERT_EQ(g.n, 3);
    ASSERT_TRUE(got_equal(&g, 0, a, 2));
    ASSERT_TRUE(got_equal(&g, 2, w, 1));
    /* A sync after a write appends after what was written. */
    ASSERT_EQ(append_specs(j, w, 1), 0);
    ASSERT_EQ(pr_journal_write(j), 0);
    pr_journal_stats(j, &st);
    ASSERT_EQ(st.queued_bytes, 0);
    ASSERT_EQ(st.records, 4);
    ASSERT_EQ(append_specs(j, b, 1), 0);
    ASSERT_EQ(pr_journal_sync(j), 0);
    ASSERT_EQ(pr_journal_close(j), 0);
    ASSERT_EQ(file_size(file_in("journal")),
              PR_JOURNAL_FILE_HEADER + specs_bytes(a, 2) +
                  2 * specs_bytes(w, 1) + specs_bytes(b, 1));
    ASSERT_EQ(open_collect(&j, &g, NULL), 0);
    ASSERT_EQ(g.n, 5);
    ASSERT_TRUE(got_equal(&g, 3, w, 1));
    ASSERT_TRUE(got_equal(&g, 4, b, 1));
    ASSERT_EQ(pr_journal_close(j), 0);
    got_free(&g);
}

/* A failed sync takes back what was written unsynced before it too, and
 * leaves no fragment. */
static void
journal_failed_sync_after_a_write_goes_back_to_the_last_sync(void)
{
    static const struct spec a[] = {{1, 100, 1}};
    static const struct spec w[] = {{2, 100, 2}};
    static const struct spec big[] = {{3, 100, 3}, {4, 100, 4}};
    struct pr_journal *j;
    struct pr_journal_stats st;
    struct rlimit old;
    struct got g = {0};
    long long synced, after_fail;
    int rc_limit, rc_write, rc_sync;

    fresh_dir();
    signal(SIGXFSZ, SIG_IGN);
    ASSERT_EQ(pr_journal_open(&j, dir, NULL, NULL, NULL), 0);
    ASSERT_EQ(append_specs(j, a, 1), 0);
    ASSERT_EQ(pr_journal_sync(j), 0);
    synced = file_size(file_in("journal"));
    rc_limit = set_fsize_limit((rlim_t)synced + 170, &old);
    append_specs(j, w, 1);
    rc_write = pr_journal_write(j);
    append_specs(j, big, 2);
    rc_sync = pr_journal_sync(j);
    after_fail = file_size(file_in("journal"));
    setrlimit(RLIMIT_FSIZE, &old);
    signal(SIGXFSZ, SIG_DFL);
    ASSERT_EQ(rc_limit, 0);
    ASSERT_EQ(rc_write, 0);
    ASSERT_EQ(rc_sync, UV_EFBIG);
    ASSERT_EQ(after_fail, synced);
    pr_journal_stats(j, &st);
    ASSERT_EQ(st.records, 1);
    ASSERT_EQ(st.total_bytes, synced);
    ASSERT_EQ(pr_journal_close(j), 0);
    ASSERT_EQ(open_collect(&j, &g, &st), 0);
    ASSERT_EQ(st.cut_bytes, 0);
    ASSERT_EQ(g.n, 1);
    ASSERT_EQ(pr_journal_close(j), 0);
    got_free(&g);
}

struct emit_ctx {
    const struct spec *s;
    size_t n;
    int fail;      /* return this after appending everything */
    int crash;     /* _exit(0) after appending everything (in a child) */
    int append_rc; /* what the last append returned */
};

static int
emit_specs(void *data, struct pr_journal *w)
{
    struct emit_ctx *c = data;
    size_t i;

    for (i = 0; i < c->n; i++)
        if ((c->append_rc = append_spec(w, &c->s[i])) != 0)
            return c->append_rc;
    if (c->crash)
        _exit(0);
    return c->fail;
}

static void
journal_compact_keeps_exactly_the_emitted_records(void)
{
    struct spec *s = make_specs(60, 2);
    /* Big ones make the writer write out while emitting. */
    static const struct spec keep[] = {
        {1, 700000, 1}, {2, 0, 2}, {3, 700000, 3}, {4, 10, 4}, {5, 700000, 5}};
    static const struct spec after[] = {{6, 20, 6}, {7, 30, 7}};
    struct emit_ctx ctx = {keep, PR_ARRAY_SIZE(keep), 0, 0, 0};
    uint64_t kept = PR_JOURNAL_FILE_HEADER + specs_bytes(keep, 5);
    struct pr_journal *j;
    struct pr_journal_stats st;
    struct got g = {0};

    fresh_dir();
    ASSERT_EQ(pr_journal_open(&j, dir, NULL, NULL, NULL), 0);
    ASSERT_EQ(append_specs(j, s, 50), 0);
    ASSERT_EQ(pr_journal_sync(j), 0);
    /* Queued but not synced: compaction syncs them first. */
    ASSERT_EQ(append_specs(j, s + 50, 10), 0);
    pr_journal_forget(j, specs_bytes(s, 40));
    pr_journal_stats(j, &st);
    ASSERT_EQ(st.total_bytes, PR_JOURNAL_FILE_HEADER + specs_bytes(s, 60));
    ASSERT_EQ(st.live_bytes, st.total_bytes - specs_bytes(s, 40));
    ASSERT_EQ(pr_journal_compact(j, emit_specs, &ctx), 0);
    pr_journal_stats(j, &st);
    ASSERT_EQ(st.records, 5);
    ASSERT_EQ(st.total_bytes, kept);
    ASSERT_EQ(st.live_bytes, kept);
    ASSERT_EQ(file_size(file_in("journal")), kept);
    ASSERT_EQ(file_size(file_in("journal.new")), -1);
    ASSERT_EQ(append_specs(j, after, 2), 0);
    ASSERT_EQ(pr_journal_close(j), 0);
    ASSERT_EQ(open_collect(&j, &g, &st), 0);
    ASSERT_EQ(g.n, 7);
    ASSERT_TRUE(got_equal(&g, 0, keep, 5));
    ASSERT_TRUE(got_equal(&g, 5, after, 2));
    ASSERT_EQ(st.cut_bytes, 0);
    ASSERT_EQ(pr_journal_close(j), 0);
    got_free(&g);
    free(s);
}

static void
journal_compact_failing_emit_keeps_the_old_journal(void)
{
    static const struct spec s[] = {{1, 10, 1}, {2, 20, 2}, {3, 30, 3}};
    struct emit_ctx ctx = {s, 1, UV_ECANCELED, 0, 0};
    struct pr_journal *j;
    struct pr_journal_stats st;
    struct got g = {0};

    fresh_dir();
    ASSERT_EQ(pr_journal_open(&j, dir, NULL, NULL, NULL), 0);
    ASSERT_EQ(append_specs(j, s, 3), 0);
    ASSERT_EQ(pr_journal_compact(j, emit_specs, &ctx), UV_ECANCELED);
    ASSERT_EQ(file_size(file_in("journal.new")), -1);
    pr_journal_stats(j, &st);
    ASSERT_EQ(st.records, 3);
    ASSERT_EQ(append_specs(j, s, 1), 0);
    ASSERT_EQ(pr_journal_close(j), 0);
    ASSERT_EQ(open_collect(&j, &g, NULL), 0);
    ASSERT_EQ(g.n, 4);
    ASSERT_TRUE(got_equal(&g, 0, s, 3));
    ASSERT_TRUE(got_equal(&g, 3, s, 1));
    ASSERT_EQ(pr_journal_close(j), 0);
    got_free(&g);
}

static void
journal_compaction_crashed_before_rename_leaves_the_old_journal(void)
{
    static const struct spec s[] = {{1, 10, 1}, {2, 20, 2}, {3, 30, 3}};
    static const struct spec other[] = {
        {9, 600000, 9}, {9, 600000, 10}, {9, 5, 11}};
    struct emit_ctx ctx = {other, 3, 0, 1, 0};
    struct pr_journal *j;
    struct pr_journal_stats st;
    struct got g = {0};
    char tmp[4300];
    int status = -1;
    pid_t pid;

    fresh_dir();
    ASSERT_EQ(pr_journal_open(&j, dir, NULL, NULL, NULL), 0);
    ASSERT_EQ(append_specs(j, s, 3), 0);
    ASSERT_EQ(pr_journal_close(j), 0);
    /* A server that dies while compacting: journal.new is left with part
     * of the new records (a whole megabyte was written out). */
    pid = fork();
    ASSERT_TRUE(pid >= 0);
    if (pid == 0) {
        if (pr_journal_open(&j, dir, NULL, NULL, NULL) == 0)
            pr_journal_compact(j, emit_specs, &ctx);
        _exit(1);
    }
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFEXITED(status));
    ASSERT_EQ(WEXITSTATUS(status), 0);
    ASSERT_TRUE(file_size(file_in("journal.new")) >= 1000000);
    ASSERT_EQ(open_collect(&j, &g, &st), 0);
    ASSERT_EQ(file_size(file_in("journal.new")), -1);
    ASSERT_EQ(g.n, 3);
    ASSERT_TRUE(got_equal(&g, 0, s, 3));
    ASSERT_EQ(st.cut_bytes, 0);
    ASSERT_EQ(pr_journal_close(j), 0);
    /* And a journal.new of whole records, renamed a moment too late, is
     * removed all the same. */
    snprintf(tmp, sizeof(tmp), "%s", file_in("journal.new"));
    ASSERT_EQ(rename(file_in("journal"), tmp), 0);
    ASSERT_EQ(open_collect(&j, &g, &st), 0);
    ASSERT_EQ(g.n, 0);
    ASSERT_EQ(file_size(file_in("journal.new")), -1);
    ASSERT_EQ(pr_journal_close(j), 0);
    got_free(&g);
}

static int
emit_misuse(void *data, struct pr_journal *w)
{
    int *rcs = data;

    rcs[0] = pr_journal_sync(w);
    rcs[1] = pr_journal_compact(w, emit_misuse, data);
    return pr_journal_append(w, 1, "ok", 2);
}

static void
journal_writer_refuses_sync_and_compact(void)
{
    struct pr_journal *j;
    struct pr_journal_stats st;
    int rcs[2] = {0, 0};

    fresh_dir();
    ASSERT_EQ(pr_journal_open(&j, dir, NULL, NULL, NULL), 0);
    ASSERT_EQ(pr_journal_compact(j, emit_misuse, rcs), 0);
    ASSERT_EQ(rcs[0], UV_EINVAL);
    ASSERT_EQ(rcs[1], UV_EINVAL);
    pr_journal_stats(j, &st);
    ASSERT_EQ(st.records, 1);
    ASSERT_EQ(pr_journal_close(j), 0);
    ASSERT_EQ(pr_journal_close(NULL), 0);
}

/* The time to append and sync n records of 120 bytes, a sync every
 * `every`; prints the rate. */
static int
group_commit(struct pr_journal *j, int n, int every)
{
    char rec[121];
    double t0 = pr_wall_time(), t;
    int i, rc = 0;

    memset(rec, 'x', sizeof(rec));
    for (i = 0; i < n && rc == 0; i++) {
        snprintf(rec, sizeof(rec),
                 "{\"op\":\"submit\",\"id\":%d,\"queue\":"
                 "\"default\",\"argv\":[\"sh\",\"-c\",\"echo %d\"]}",
                 i, i);
        rc = pr_journal_append(j, 1, rec, 120);
        if (rc == 0 && (i + 1) % every == 0)
            rc = pr_journal_sync(j);
    }
    if (rc == 0)
        rc = pr_journal_sync(j);
    t = pr_wall_time() - t0;
    printf("journal: %d records of 120 bytes, a sync every %d: %.0f records/s"
           " (%.3f ms a sync)%s\n",
           n, every, n / t, t * 1000 / ((n + every - 1) / every),
           rc ? " FAILED" : "");
    return rc;
}

static int
count(void *data, int type, const void *p, size_t len)
{
    (*(size_t *)data)++;
    return 0;
}

static void
journal_group_commit_rate_is_printed(void)
{
    struct pr_journal *j;
    size_t n = 0;
    double t;

    fresh_dir();
    ASSERT_EQ(pr_journal_open(&j, dir, NULL, NULL, NULL), 0);
    ASSERT_EQ(group_commit(j, 200, 1), 0);
    ASSERT_EQ(group_commit(j, 20000, 100), 0);
    ASSERT_EQ(group_commit(j, 200000, 1000), 0);
    ASSERT_EQ(group_commit(j, 200000, 10000), 0);
    ASSERT_EQ(pr_journal_close(j), 0);
    t = pr_wall_time();
    ASSERT_EQ(pr_journal_open(&j, dir, count, &n, NULL), 0);
    t = pr_wall_time() - t;
    printf("journal: replayed %zu records in %.3f s: %.0f records/s\n", n, t,
           n / t);
    ASSERT_EQ(n, 420200);
    ASSERT_EQ(pr_journal_close(j), 0);
}

/* pr_journal_end says where a record lands; pr_journal_read gives it back
 * whole, in the journal and in a compaction's writer, and refuses anything
 * but that record. */
static int
copy_back(void *data, struct pr_journal *w)
{
    struct pr_journal *old = data;
    uint64_t at = pr_journal_end(w);
    char buf[5];
    int rc = pr_journal_read(old, PR_JOURNAL_FILE_HEADER, 7, buf, 5);

    if (rc == 0)
        rc = pr_journal_append(w, 7, buf, 5);
    /* Where it landed in journal.new: just after the file header. */
    return rc == 0 && at != PR_JOURNAL_FILE_HEADER ? -1 : rc;
}

static void
journal_read_gives_back_a_written_record(void)
{
    struct pr_journal *j;
    char buf[16];

    fresh_dir();
    ASSERT_EQ(pr_journal_open(&j, dir, NULL, NULL, NULL), 0);
    ASSERT_EQ(pr_journal_end(j), PR_JOURNAL_FILE_HEADER);
    ASSERT_EQ(pr_journal_append(j, 7, "hello", 5), 0);
    ASSERT_EQ(pr_journal_end(j), PR_JOURNAL_FILE_HEADER + 15);
    /* Queued, not in the file yet. */
    ASSERT_EQ(pr_journal_read(j, PR_JOURNAL_FILE_HEADER, 7, buf, 5),
              UV_EINVAL);
    ASSERT_EQ(pr_journal_append(j, 8, "world!", 6), 0);
    ASSERT_EQ(pr_journal_sync(j), 0);
    memset(buf, 0, sizeof(buf));
    ASSERT_EQ(pr_journal_read(j, PR_JOURNAL_FILE_HEADER, 7, buf, 5), 0);
    ASSERT_TRUE(memcmp(buf, "hello", 5) == 0);
    ASSERT_EQ(pr_journal_read(j, PR_JOURNAL_FILE_HEADER + 15, 8, buf, 6), 0);
    ASSERT_TRUE(memcmp(buf, "world!", 6) == 0);
    /* Another type, size or offset is no such record. */
    ASSERT_EQ(pr_journal_read(j, PR_JOURNAL_FILE_HEADER, 8, buf, 5),
              UV_EINVAL);
    ASSERT_EQ(pr_journal_read(j, PR_JOURNAL_FILE_HEADER, 7, buf, 4),
              UV_EINVAL);
    ASSERT_EQ(pr_journal_read(j, PR_JOURNAL_FILE_HEADER + 1, 7, buf, 5),
              UV_EINVAL);
    ASSERT_EQ(pr_journal_read(j, PR_JOURNAL_FILE_HEADER + 15, 8, buf, 7),
              UV_EINVAL);
    /* Copied into a compacted journal, it is its only record. */
    ASSERT_EQ(pr_journal_compact(j, copy_back, j), 0);
    ASSERT_EQ(pr_journal_end(j), PR_JOURNAL_FILE_HEADER + 15);
    memset(buf, 0, sizeof(buf));
    ASSERT_EQ(pr_journal_read(j, PR_JOURNAL_FILE_HEADER, 7, buf, 5), 0);
    ASSERT_TRUE(memcmp(buf, "hello", 5) == 0);
    ASSERT_EQ(pr_journal_close(j), 0);
}

int
main(void)
{
    static const struct pr_test_case cases[] = {
        TEST_CASE(crc32c_check_value_matches),
        TEST_CASE(journal_round_trip_many_types_and_sizes_replays_in_order),
        TEST_CASE(journal_append_buf_taken_or_copied_replays_the_same),
        TEST_CASE(journal_open_makes_missing_folders_private),
        TEST_CASE(journal_torn_tail_at_every_offset_cuts_only_the_last_record),
        TEST_CASE(journal_flipped_byte_in_a_middle_record_cuts_from_there),
        TEST_CASE(journal_not_a_journal_is_refused_untouched),
        TEST_CASE(journal_replay_error_fails_open_and_leaves_the_file),
        TEST_CASE(journal_second_open_while_locked_is_ebusy_until_close),
        TEST_CASE(journal_append_bad_type_or_size_is_refused),
        TEST_CASE(
            journal_full_disk_sync_fails_keeps_whole_records_and_recovers),
        TEST_CASE(journal_write_survives_the_process_and_sync_follows_it),
        TEST_CASE(journal_failed_sync_after_a_write_goes_back_to_the_last_sync),
        TEST_CASE(journal_compact_keeps_exactly_the_emitted_records),
        TEST_CASE(journal_compact_failing_emit_keeps_the_old_journal),
        TEST_CASE(
            journal_compaction_crashed_before_rename_leaves_the_old_journal),
        TEST_CASE(journal_writer_refuses_sync_and_compact),
        TEST_CASE(journal_read_gives_back_a_written_record),
        TEST_CASE(journal_group_commit_rate_is_printed),
    };
    int rc = pr_test_run(cases, PR_ARRAY_SIZE(cases));

    if (root[0] != '\0')
        remove_tree(root);
    return rc;
}
