/*
 * journal: the queue service's state, an append-only file of typed records
 * in a state folder.  The caller encodes each payload (the journal stores
 * bytes); records are queued in memory and made durable together by one
 * write and one fdatasync (group commit), so a submit is acknowledged only
 * after pr_journal_sync has returned 0 for it.  On open every whole record
 * is replayed in order and the file is cut at the first bad one (a torn
 * tail).  One process at a time holds a folder (flock on STATE/lock).
 *
 * Files in the state folder:
 *   lock          empty; flock()ed for as long as the journal is open
 *   journal       the journal
 *   journal.new   a journal being written (at creation, by compaction);
 *                 renamed over `journal` once whole and fsynced, removed
 *                 by open when a crash left it behind
 *
 * On-disk format, every integer little-endian:
 *   file header, 12 bytes, at offset 0:
 *     0  8 bytes  magic "poolrunJ"
 *     8  u32      format version (PR_JOURNAL_VERSION)
 *   then records, back to back:
 *     0  u8       magic 0xA7
 *     1  u8       type, 1 to 255 (0 is never written)
 *     2  u32      payload length, at most PR_JOURNAL_MAX_PAYLOAD
 *     6  u32      CRC32C (Castagnoli, reflected, as iSCSI and ext4 use it)
 *                 of bytes 1 to 5 (type and length) and then the payload
 *    10           the payload
 */
#ifndef PR_JOURNAL_H
#define PR_JOURNAL_H

#include <stddef.h>
#include <stdint.h>

#define PR_JOURNAL_VERSION     1
#define PR_JOURNAL_FILE_HEADER 12
#define PR_JOURNAL_REC_HEADER  10
#define PR_JOURNAL_MAX_PAYLOAD (64u << 20)
/* The bytes a record of n payload bytes takes in the file. */
#define PR_JOURNAL_RECORD_SIZE(n) ((uint64_t)PR_JOURNAL_REC_HEADER + (n))

struct pr_journal;
struct pr_buf;

/* Called by pr_journal_open for each valid record, in file order.  The
 * payload is valid only during the call.  Return 0 to go on, or a negative
 * errno to stop: the open then fails with it and leaves the file as it
 * was. */
typedef int pr_journal_replay_fn(void *data, int type, const void *payload,
                                 size_t len);

/* Called by pr_journal_compact: appends, with pr_journal_append(w, ...),
 * every record the new journal must hold, and returns 0; or returns a
 * negative errno to give up (the old journal stays).  An append error
 * should be returned as it is. */
typedef int pr_journal_emit_fn(void *data, struct pr_journal *w);

/* Why open cut the file. */
enum pr_journal_cut {
    PR_JOURNAL_CUT_NONE,   /* every byte was a whole, valid record */
    PR_JOURNAL_CUT_SHORT,  /* the last record ends past the end of file */
    PR_JOURNAL_CUT_HEADER, /* a record's magic, type or length is wrong */
    PR_JOURNAL_CUT_CRC     /* a record's checksum does not match */
};

struct pr_journal_stats {
    uint64_t records;      /* records in the file and queued */
    uint64_t total_bytes;  /* file header, records in the file, queued */
    uint64_t queued_bytes; /* of total_bytes, those waiting for a sync */
    uint64_t live_bytes;   /* total_bytes less what pr_journal_forget was
                              told: about what compaction would leave */
    uint64_t cut_offset;   /* where open cut the file (cut_bytes > 0) */
    uint64_t cut_bytes;    /* how many bytes open cut off, or 0 */
    enum pr_journal_cut cut_reason;
};

/*
 * Opens the journal in the folder dir, making the folder (and its missing
 * parents, mode 0700) and an empty journal if there is none.  Locks the
 * folder first: UV_EBUSY when another open journal (this process's or
 * another's) holds it.  Replays every valid record through replay (may be
 * NULL), cuts the file at the first bad one (truncated and fsynced), and
 * fills *stats (may be NULL).  Returns 0 with *out set (close it with
 * pr_journal_close), UV_EFTYPE when the file is not a journal, UV_ENOTSUP
 * for a newer format, replay's error, or another negative errno.
 */
int pr_journal_open(struct pr_journal **out, const char *dir,
                    pr_journal_replay_fn *replay, void *data,
                    struct pr_journal_stats *stats);

/* Queues a record of n bytes of type (1 to 255): copied, written by the
 * next pr_journal_sync (no I/O here, except by a compaction's writer, which
 * writes out every megabyte).  Returns 0, UV_EINVAL for type 0 or more than
 * 255, UV_E2BIG past PR_JOURNAL_MAX_PAYLOAD, or the error that left the
 * journal unusable (see pr_journal_sync). */
int pr_journal_append(struct pr_journal *j, int type, const void *p, size_t n);

/* As pr_journal_append, for a payload built in b after PR_JOURNAL_REC_HEADER
 * bytes the caller left for the header: with nothing queued, b's memory
 * becomes the queue (a submit of a million lines is not copied again).
 * Takes b either way (it is empty after). */
int pr_journal_append_buf(struct pr_journal *j, int type, struct pr_buf *b);

/*
 * Writes every queued record (one write() in the common case) and
 * fdatasync()s the file: when it returns 0, they are all durable, with the
 * records pr_journal_write wrote before.  On an error (UV_ENOSPC, UV_EFBIG,
 * UV_EIO...) the file is truncated back to its size after the last good
 * sync, the queued records are dropped (the caller must treat them as
 * never written: refuse the submits they carried), and the error is
 * returned; the journal can take records again, and a later sync may
 * succeed.  Only if that truncation fails too is the journal left
 * unusable: every later call returns the error.  With nothing queued or
 * written since the last sync it does nothing.
 */
int pr_journal_sync(struct pr_journal *j);

/*
 * Writes every queued record to the file without a sync: they survive
 * this process's death (a kill -9, a crash), not the machine's, until a
 * later pr_journal_sync makes them durable with the rest.  For records
 * whose loss costs little and that come too often for an fdatasync each.
 * On an error the file goes back to its size after the last good sync
 * (records written this way since are lost too) and the queued records
 * are dropped, as pr_journal_sync says.  Returns 0 or the error.
 */
int pr_journal_write(struct pr_journal *j);

/* Is anything queued, or written and not yet synced? */
int pr_journal_unsynced(const struct pr_journal *j);

/* Tells the journal that records worth `bytes` (the sum of their
 * PR_JOURNAL_RECORD_SIZE) are superseded: compaction would leave them out.
 * Only lowers stats' live_bytes, for the caller's choice of when to
 * compact. */
void pr_journal_forget(struct pr_journal *j, uint64_t bytes);

/*
 * Rewrites the journal with only the records emit appends: syncs what is
 * queued, writes journal.new through a writer handed to emit, fsyncs it,
 * renames it over the journal and fsyncs the folder, then goes on
 * appending to the new file (live_bytes == total_bytes again).  A crash at
 * any moment leaves the old or the new journal whole.  Returns 0, emit's
 * error or a negative errno: then the old journal stays in use (or, if the
 * queued records could not be synced, as pr_journal_sync says).  Only when
 * the folder's fsync fails after the rename is the new journal in use with
 * an error returned: every later sync retries that fsync first and fails
 * (as a failed write does) until it succeeds, so nothing is acknowledged in
 * a file a crash could undo.
 */
int pr_journal_compact(struct pr_journal *j, pr_journal_emit_fn *emit,
                       void *data);

/* The offset in j's file at which the next record appended will begin:
 * for a compaction's writer, in journal.new.  With pr_journal_read, lets a
 * caller copy a record it wrote into a compacted journal as it was. */
uint64_t pr_journal_end(const struct pr_journal *j);

/* Reads the record at offset off of j's file into payload: it must be a
 * record of type with n bytes of payload, whole in the file (written) and
 * with its checksum right.  Returns 0, UV_EINVAL when it is not such a
 * record, or a negative errno. */
int pr_journal_read(struct pr_journal *j, uint64_t off, int type,
                    void *payload, size_t n);

/* The journal's sizes now, and the cut made by open. */
void pr_journal_stats(const struct pr_journal *j,
                      struct pr_journal_stats *stats);

/* Syncs what is queued, releases the lock and frees j, even on an error.
 * Returns 0 or the sync's error.  NULL does nothing. */
int pr_journal_close(struct pr_journal *j);

/* CRC32C of n bytes at p, continuing from crc (0 to start): crc32c(0, "ab")
 * == crc32c(crc32c(0, "a"), "b"). */
uint32_t pr_journal_crc32c(uint32_t crc, const void *p, size_t n);

#endif
