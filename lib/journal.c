/*
 * journal: append-only records with group commit (see journal.h for the
 * format).  Invariants: every byte of the file before `synced` is a whole
 * record that has been fdatasync()ed (or, for a compaction's writer,
 * written); between `synced` and `written` lie whole records written by
 * pr_journal_write and not yet synced; nothing ever lies past `written` once
 * a call returns, because a failed write is truncated away before the error
 * is returned.  The file is only ever replaced whole, by a rename of a
 * fsynced journal.new.
 */
/* flock() is a BSD call, outside the POSIX level the build asks for. */
#define _DEFAULT_SOURCE
#include "journal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uv.h>

#include "util.h"

#define JOURNAL_NAME "journal"
#define TMP_NAME     "journal.new"
#define LOCK_NAME    "lock"
#define FILE_MAGIC   "poolrunJ"
#define REC_MAGIC    0xA7
/* A compaction's writer writes out whenever this much is queued, so that a
 * journal of a million records is not rewritten through one huge buffer. */
#define WRITER_FLUSH (1u << 20)
/* After a sync, a queue buffer grown past this (a bulk submit) is freed
 * rather than kept for the next one. */
#define QUEUE_KEEP (4u << 20)
#define READ_CHUNK (1u << 20)

struct pr_journal {
    int fd;                  /* the journal; for a writer, journal.new */
    int dir_fd;              /* the state folder (-1 for a writer) */
    int lock_fd;             /* holds the folder's flock (-1 for a writer) */
    struct pr_buf queued;    /* encoded records waiting for a sync */
    uint64_t queued_records; /* how many records queued holds */
    uint64_t synced;         /* the durable part of the file */
    uint64_t written;        /* synced, and the unsynced records after */
    uint64_t records;        /* records in the file before written */
    uint64_t unsynced;       /* of those, the ones past synced */
    uint64_t dead;           /* bytes pr_journal_forget was told of */
    int error;               /* the file could not be brought back: unusable */
    int dir_dirty;           /* a rename not yet known to be durable */
    int writer;              /* a compaction's writer, handed to emit_fn */
    uint64_t cut_offset;
    uint64_t cut_bytes;
    enum pr_journal_cut cut_reason;
};

static uint32_t crc_table[8][256];
static int crc_ready;

/* Slicing-by-8 tables for the reflected Castagnoli polynomial.  Made on
 * first use; making them twice would write the same values. */
static void
crc_init(void)
{
    uint32_t i, c;
    int k;

    for (i = 0; i < 256; i++) {
        c = i;
        for (k = 0; k < 8; k++)
            c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
        crc_table[0][i] = c;
    }
    for (i = 0; i < 256; i++)
        for (k = 1; k < 8; k++)
            crc_table[k][i] = (crc_table[k - 1][i] >> 8) ^
                              crc_table[0][crc_table[k - 1][i] & 0xff];
    crc_ready = 1;
}

static uint32_t
get32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
           (uint32_t)p[3] << 24;
}

static void
put32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)v;
    p[1] = (unsigned char)(v >> 8);
    p[2] = (unsigned char)(v >> 16);
    p[3] = (unsigned char)(v >> 24);
}

uint32_t
pr_journal_crc32c(uint32_t crc, const void *buf, size_t n)
{
    const unsigned char *p = buf;

    if (!crc_ready)
        crc_init();
    crc = ~crc;
    for (; n >= 8; p += 8, n -= 8) {
        uint32_t lo = crc ^ get32(p), hi = get32(p + 4);

        crc = crc_table[7][lo & 0xff] ^ crc_table[6][(lo >> 8) & 0xff] ^
              crc_table[5][(lo >> 16) & 0xff] ^ crc_table[4][lo >> 24] ^
              crc_table[3][hi & 0xff] ^ crc_table[2][(hi >> 8) & 0xff] ^
              crc_table[1][(hi >> 16) & 0xff] ^ crc_table[0][hi >> 24];
    }
    for (; n > 0; p++, n--)
        crc = crc_table[0][(crc ^ *p) & 0xff] ^ (crc >> 8);
    return ~crc;
}

/* The checksum of the record whose header is at h: its type and length,
 * then its payload (which follows the header). */
static uint32_t
record_crc(const unsigned char *h, uint32_t len)
{
    return pr_journal_crc32c(pr_journal_crc32c(0, h + 1, 5),
                             h + PR_JOURNAL_REC_HEADER, len);
}

static int
pwrite_all(int fd, const char *p, size_t n, uint64_t off)
{
    while (n > 0) {
        ssize_t w = pwrite(fd, p, n, (off_t)off);

        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        p += w;
        n -= (size_t)w;
        off += (uint64_t)w;
    }
    return 0;
}

static void
queue_reset(struct pr_journal *j)
{
    if (j->queued.cap > QUEUE_KEEP)
        pr_buf_free(&j->queued);
    j->queued.len = 0;
    j->queued_records = 0;
}

/* Writes the queue at the end of the file, with no sync (a writer's). */
static int
write_out(struct pr_journal *j)
{
    int rc = pwrite_all(j->fd, j->queued.data, j->queued.len, j->synced);

    if (rc == 0) {
        j->synced += j->queued.len;
        j->written = j->synced;
        j->records += j->queued_records;
    }
    queue_reset(j);
    return rc;
}

int
pr_journal_append(struct pr_journal *j, int type, const void *p, size_t n)
{
    unsigned char *h;
    int rc;

    if (j->error != 0)
        return j->error;
    if (type < 1 || type > 255)
        return UV_EINVAL;
    if (n > PR_JOURNAL_MAX_PAYLOAD)
        return UV_E2BIG;
    pr_buf_reserve(&j->queued, PR_JOURNAL_REC_HEADER + n);
    h = (unsigned char *)j->queued.data + j->queued.len;
    h[0] = REC_MAGIC;
    h[1] = (unsigned char)type;
    put32(h + 2, (uint32_t)n);
    if (n > 0)
        memcpy(h + PR_JOURNAL_REC_HEADER, p, n);
    put32(h + 6, record_crc(h, (uint32_t)n));
    j->queued.len += PR_JOURNAL_REC_HEADER + n;
    j->queued_records++;
    if (j->writer && j->queued.len >= WRITER_FLUSH) {
        rc = write_out(j);
        if (rc != 0)
            j->error = rc;
        return rc;
    }
    return 0;
}

int
pr_journal_append_buf(struct pr_journal *j, int type, struct pr_buf *b)
{
    size_t n = b->len - PR_JOURNAL_REC_HEADER;
    unsigned char *h = (unsigned char *)b->data;
    int rc;

    if (j->error != 0 || j->queued.len > 0 || j->writer) {
        rc = pr_journal_append(j, type, b->data + PR_JOURNAL_REC_HEADER, n);
        pr_buf_free(b);
        return rc;
    }
    if (type < 1 || type > 255 || n > PR_JOURNAL_MAX_PAYLOAD) {
        pr_buf_free(b);
        return type < 1 || type > 255 ? UV_EINVAL : UV_E2BIG;
    }
    h[0] = REC_MAGIC;
    h[1] = (unsigned char)type;
    put32(h + 2, (uint32_t)n);
    put32(h + 6, record_crc(h, (uint32_t)n));
    pr_buf_free(&j->queued);
    j->queued = *b;
    memset(b, 0, sizeof(*b));
    j->queued_records = 1;
    return 0;
}

static int
sync_dir(struct pr_journal *j)
{
    if (!j->dir_dirty)
        return 0;
    if (fsync(j->dir_fd) != 0)
        return -errno;
    j->dir_dirty = 0;
    return 0;
}

/* A write or its sync failed with rc: takes the file back to its last
 * durable size, so that no fragment lies before the records of a later
 * sync.  What pr_journal_write wrote since goes too: after a failed
 * fdatasync nothing says those pages reached the disk.  Only if the
 * truncation fails is the journal unusable. */
static int
undo_write(struct pr_journal *j, int rc)
{
    while (ftruncate(j->fd, (off_t)j->synced) != 0) {
        if (errno != EINTR) {
            j->error = rc;
            break;
        }
    }
    j->written = j->synced;
    j->records -= j->unsynced;
    j->unsynced = 0;
    return rc;
}

int
pr_journal_write(struct pr_journal *j)
{
    size_t n = j->queued.len;
    int rc;

    if (j->error != 0)
        return j->error;
    if (j->writer)
        return UV_EINVAL;
    if (n == 0)
        return 0;
    rc = pwrite_all(j->fd, j->queued.data, n, j->written);
    if (rc == 0) {
        j->written += n;
        j->records += j->queued_records;
        j->unsynced += j->queued_records;
    } else {
        undo_write(j, rc);
    }
    queue_reset(j);
    return rc;
}

int
pr_journal_sync(struct pr_journal *j)
{
    size_t n = j->queued.len;
    int rc;

    if (j->error != 0)
        return j->error;
    if (j->writer)
        return UV_EINVAL;
    /* A compaction's rename first: records synced into a file whose name
     * a crash could undo would not be durable. */
    if ((rc = sync_dir(j)) != 0 || (n == 0 && j->written == j->synced)) {
        queue_reset(j);
        return rc;
    }
    rc = pwrite_all(j->fd, j->queued.data, n, j->written);
    if (rc == 0 && fdatasync(j->fd) != 0)
        rc = -errno;
    if (rc == 0) {
        j->synced = j->written + n;
        j->written = j->synced;
        j->records += j->queued_records;
        j->unsynced = 0;
    } else {
        undo_write(j, rc);
    }
    queue_reset(j);
    return rc;
}

int
pr_journal_unsynced(const struct pr_journal *j)
{
    return j->written != j->synced || j->queued.len > 0;
}

void
pr_journal_forget(struct pr_journal *j, uint64_t bytes)
{
    j->dead += bytes;
}

void
pr_journal_stats(const struct pr_journal *j, struct pr_journal_stats *st)
{
    uint64_t total = j->written + j->queued.len;
    uint64_t records = total - PR_JOURNAL_FILE_HEADER;

    memset(st, 0, sizeof(*st));
    st->records = j->records + j->queued_records;
    st->total_bytes = total;
    st->queued_bytes = j->queued.len;
    st->live_bytes = total - (j->dead < records ? j->dead : records);
    st->cut_offset = j->cut_offset;
    st->cut_bytes = j->cut_bytes;
    st->cut_reason = j->cut_reason;
}

uint64_t
pr_journal_end(const struct pr_journal *j)
{
    return j->written + j->queued.len;
}

static int
pread_all(int fd, void *buf, size_t n, uint64_t off)
{
    char *p = buf;

    while (n > 0) {
        ssize_t r = pread(fd, p, n, (off_t)off);

        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return -errno;
        if (r == 0)
            return UV_EINVAL; /* past the end: no such record */
        p += r;
        n -= (size_t)r;
        off += (uint64_t)r;
    }
    return 0;
}

int
pr_journal_read(struct pr_journal *j, uint64_t off, int type, void *payload,
                size_t n)
{
    unsigned char h[PR_JOURNAL_REC_HEADER];
    uint32_t crc;
    int rc;

    if (j->error != 0)
        return j->error;
    if (off < PR_JOURNAL_FILE_HEADER || n > PR_JOURNAL_MAX_PAYLOAD ||
        off + PR_JOURNAL_RECORD_SIZE(n) > j->written)
        return UV_EINVAL;
    if ((rc = pread_all(j->fd, h, sizeof(h), off)) != 0 ||
        (rc = pread_all(j->fd, payload, n, off + sizeof(h))) != 0)
        return rc;
    if (h[0] != REC_MAGIC || h[1] != type || get32(h + 2) != n)
        return UV_EINVAL;
    crc = pr_journal_crc32c(pr_journal_crc32c(0, h + 1, 5), payload, n);
    return crc == get32(h + 6) ? 0 : UV_EINVAL;
}

/*
 * Writes journal.new (the file header, then what emit appends), fsyncs it
 * and renames it over the journal, which j then appends to.  Before the
 * rename nothing has changed (a crash leaves journal.new, which open
 * removes); after it, the whole new file is there.
 */
static int
write_new(struct pr_journal *j, pr_journal_emit_fn *emit, void *data)
{
    struct pr_journal w = {.dir_fd = -1, .lock_fd = -1, .writer = 1};
    unsigned char hdr[PR_JOURNAL_FILE_HEADER];
    int rc;

    if (unlinkat(j->dir_fd, TMP_NAME, 0) != 0 && errno != ENOENT)
        return -errno;
    w.fd = openat(j->dir_fd, TMP_NAME, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC,
                  0600);
    if (w.fd < 0)
        return -errno;
    memcpy(hdr, FILE_MAGIC, 8);
    put32(hdr + 8, PR_JOURNAL_VERSION);
    pr_buf_append(&w.queued, hdr, sizeof(hdr));
    rc = emit != NULL ? emit(data, &w) : 0;
    if (rc == 0)
        rc = w.error; /* an append error emit did not pass on */
    if (rc == 0)
        rc = write_out(&w);
    if (rc == 0 && fsync(w.fd) != 0)
        rc = -errno;
    if (rc == 0 && renameat(j->dir_fd, TMP_NAME, j->dir_fd, JOURNAL_NAME) != 0)
        rc = -errno;
    pr_buf_free(&w.queued);
    if (rc != 0) {
        close(w.fd);
        unlinkat(j->dir_fd, TMP_NAME, 0);
        return rc;
    }
    if (j->fd >= 0)
        close(j->fd);
    j->fd = w.fd;
    j->synced = j->written = w.synced;
    j->records = w.records;
    j->unsynced = 0;
    j->dead = 0;
    /* Until the folder is synced the rename may be lost: every sync retries
     * it, so that no record is acknowledged in a file a crash would undo. */
    j->dir_dirty = 1;
    return sync_dir(j);
}

int
pr_journal_compact(struct pr_journal *j, pr_journal_emit_fn *emit, void *data)
{
    int rc;

    if (j->writer)
        return UV_EINVAL;
    rc = pr_journal_sync(j);
    if (rc != 0)
        return rc;
    return write_new(j, emit, data);
}

/* Makes the folder new (just made) durable, by a sync of its parent: else
 * a crash could take the folder away with a journal synced in it. */
static int
sync_parent(char *path)
{
    char *slash = strrchr(path, '/');
    const char *parent = slash == NULL ? "." : slash == path ? "/" : path;
    int fd, rc = 0;

    if (slash != NULL && slash != path)
        *slash = '\0';
    fd = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0 || fsync(fd) != 0)
        rc = -errno;
    if (fd >= 0)
        close(fd);
    if (slash != NULL && slash != path)
        *slash = '/';
    return rc;
}

/* mkdir -p, each folder made 0700.  Returns 0 or the error that stops us
 * making one; opening dir says whether it is a folder we may use. */
static int
make_dirs(const char *dir)
{
    char *path = pr_xstrdup(dir);
    char *s = path;
    struct stat st;
    int rc = 0;

    for (;;) {
        char c;

        s += strspn(s, "/");
        s += strcspn(s, "/");
        c = *s;
        *s = '\0';
        if (mkdir(path, 0700) == 0) {
            rc = sync_parent(path);
        } else if (errno != EEXIST) {
            /* EACCES, EROFS...: fine for a folder that is there. */
            rc = -errno;
            if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
                rc = 0;
        }
        *s = c;
        if (rc != 0 || c == '\0' || s[strspn(s, "/")] == '\0')
            break;
    }
    free(path);
    return rc;
}

/* Makes and opens the state folder and takes its lock. */
static int
open_folder(struct pr_journal *j, const char *dir)
{
    int rc = make_dirs(dir);

    if (rc != 0)
        return rc;
    j->dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (j->dir_fd < 0)
        return -errno;
    /* Close-on-exec matters here: a task that inherited the lock's
     * descriptor would hold the folder locked after the server died. */
    j->lock_fd =
        openat(j->dir_fd, LOCK_NAME, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (j->lock_fd < 0)
        return -errno;
    while (flock(j->lock_fd, LOCK_EX | LOCK_NB) != 0) {
        if (errno == EWOULDBLOCK)
            return UV_EBUSY;
        if (errno != EINTR)
            return -errno;
    }
    return 0;
}

static int
check_file_header(int fd)
{
    unsigned char hdr[PR_JOURNAL_FILE_HEADER];
    ssize_t n;
    uint32_t version;

    do
        n = pread(fd, hdr, sizeof(hdr), 0);
    while (n < 0 && errno == EINTR);
    if (n < 0)
        return -errno;
    if ((size_t)n < sizeof(hdr) || memcmp(hdr, FILE_MAGIC, 8) != 0)
        return UV_EFTYPE;
    version = get32(hdr + 8);
    if (version > PR_JOURNAL_VERSION)
        return UV_ENOTSUP;
    return version == PR_JOURNAL_VERSION ? 0 : UV_EFTYPE;
}

/* Opens the journal, or makes an empty one (also over an empty file,
 * which only something other than us could have left). */
static int
open_file(struct pr_journal *j)
{
    struct stat st;

    /* A journal.new is a compaction or a creation that never reached its
     * rename: the journal beside it is whole, and it is not. */
    if (unlinkat(j->dir_fd, TMP_NAME, 0) != 0 && errno != ENOENT)
        return -errno;
    j->fd = openat(j->dir_fd, JOURNAL_NAME, O_RDWR | O_CLOEXEC);
    if (j->fd < 0 && errno != ENOENT)
        return -errno;
    if (j->fd >= 0 && fstat(j->fd, &st) != 0)
        return -errno;
    if (j->fd < 0 || st.st_size == 0)
        return write_new(j, NULL, NULL);
    return check_file_header(j->fd);
}

/* Reads the file through a window of bytes [start, end) of buf, which
 * begins at file offset off. */
struct reader {
    int fd;
    char *buf;
    size_t cap;
    size_t start;
    size_t end;
    uint64_t off;
};

/* Makes need bytes available at r->buf + r->start.  Returns 0, 1 when the
 * file ends first, or a negative errno. */
static int
reader_fill(struct reader *r, size_t need)
{
    if (r->end - r->start >= need)
        return 0;
    memmove(r->buf, r->buf + r->start, r->end - r->start);
    r->end -= r->start;
    r->start = 0;
    if (need > r->cap) {
        r->cap = need;
        r->buf = pr_xrealloc(r->buf, r->cap);
    }
    while (r->end < need) {
        ssize_t n = read(r->fd, r->buf + r->end, r->cap - r->end);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        if (n == 0)
            return 1;
        r->end += (size_t)n;
    }
    return 0;
}

enum {
    REC_OK,
    REC_END,
    REC_BAD
};

struct record {
    int type;
    uint32_t len;
    const unsigned char *payload;
};

/* Reads the record at r->off in a file of size bytes.  Returns REC_OK with
 * *rec, REC_END at the end of the file, REC_BAD with *why, or a negative
 * errno. */
static int
next_record(struct reader *r, uint64_t size, struct record *rec,
            enum pr_journal_cut *why)
{
    uint64_t left = size - r->off;
    const unsigned char *h;
    int rc;

    if (left == 0)
        return REC_END;
    *why = PR_JOURNAL_CUT_SHORT;
    if (left < PR_JOURNAL_REC_HEADER)
        return REC_BAD;
    if ((rc = reader_fill(r, PR_JOURNAL_REC_HEADER)) != 0)
        return rc < 0 ? rc : REC_BAD;
    h = (const unsigned char *)r->buf + r->start;
    rec->type = h[1];
    rec->len = get32(h + 2);
    *why = PR_JOURNAL_CUT_HEADER;
    if (h[0] != REC_MAGIC || h[1] == 0 || rec->len > PR_JOURNAL_MAX_PAYLOAD)
        return REC_BAD;
    *why = PR_JOURNAL_CUT_SHORT;
    if (left - PR_JOURNAL_REC_HEADER < rec->len)
        return REC_BAD;
    if ((rc = reader_fill(r, PR_JOURNAL_REC_HEADER + rec->len)) != 0)
        return rc < 0 ? rc : REC_BAD;
    h = (const unsigned char *)r->buf + r->start;
    *why = PR_JOURNAL_CUT_CRC;
    if (record_crc(h, rec->len) != get32(h + 6))
        return REC_BAD;
    rec->payload = h + PR_JOURNAL_REC_HEADER;
    return REC_OK;
}

/* Cuts the file at off, where a bad record starts, durably: the records a
 * later sync appends must not follow garbage. */
static int
cut_tail(struct pr_journal *j, uint64_t off, uint64_t size,
         enum pr_journal_cut why)
{
    if (ftruncate(j->fd, (off_t)off) != 0 || fsync(j->fd) != 0)
        return -errno;
    j->cut_offset = off;
    j->cut_bytes = size - off;
    j->cut_reason = why;
    return 0;
}

static int
replay_records(struct pr_journal *j, pr_journal_replay_fn *fn, void *data)
{
    struct reader r = {.fd = j->fd, .off = PR_JOURNAL_FILE_HEADER};
    struct record rec;
    enum pr_journal_cut why = PR_JOURNAL_CUT_NONE;
    struct stat st;
    int rc, err = 0;

    if (fstat(j->fd, &st) != 0)
        return -errno;
    if (lseek(j->fd, PR_JOURNAL_FILE_HEADER, SEEK_SET) < 0)
        return -errno;
    r.cap = READ_CHUNK;
    r.buf = pr_xmalloc(r.cap);
    while ((rc = next_record(&r, (uint64_t)st.st_size, &rec, &why)) == REC_OK) {
        if (fn != NULL && (err = fn(data, rec.type, rec.payload, rec.len)) != 0)
            break;
        j->records++;
        r.start += PR_JOURNAL_REC_HEADER + rec.len;
        r.off += PR_JOURNAL_REC_HEADER + rec.len;
    }
    free(r.buf);
    if (err != 0)
        return err;
    if (rc == REC_BAD)
        rc = cut_tail(j, r.off, (uint64_t)st.st_size, why);
    else if (rc == REC_END)
        rc = 0;
    j->synced = j->written = r.off;
    return rc;
}

static void
free_journal(struct pr_journal *j)
{
    if (j->fd >= 0)
        close(j->fd);
    if (j->lock_fd >= 0)
        close(j->lock_fd); /* and so the lock goes */
    if (j->dir_fd >= 0)
        close(j->dir_fd);
    pr_buf_free(&j->queued);
    free(j);
}

int
pr_journal_open(struct pr_journal **out, const char *dir,
                pr_journal_replay_fn *replay, void *data,
                struct pr_journal_stats *stats)
{
    struct pr_journal *j;
    int rc;

    *out = NULL;
    if (dir == NULL || *dir == '\0')
        return UV_EINVAL;
    j = pr_xcalloc(1, sizeof(*j));
    j->fd = j->dir_fd = j->lock_fd = -1;
    rc = open_folder(j, dir);
    if (rc == 0)
        rc = open_file(j);
    if (rc == 0)
        rc = replay_records(j, replay, data);
    if (rc != 0) {
        free_journal(j);
        return rc;
    }
    if (stats != NULL)
        pr_journal_stats(j, stats);
    *out = j;
    return 0;
}

int
pr_journal_close(struct pr_journal *j)
{
    int rc;

    if (j == NULL)
        return 0;
    rc = pr_journal_sync(j);
    free_journal(j);
    return rc;
}
