/* cw_journal — the durable write-ahead log between the HTTP edge and Chroma
 * (DESIGN §6a). A request's operations are appended (fsync'd, with group
 * commit across concurrent requests) before it is answered; the pipeline's
 * apply loop reads them back in order, applies them to Chroma, then
 * settles them: applied operations are deleted (their space reused), those
 * Chroma refuses for good move to the dead-letter table with the reason.
 *
 * Storage: SQLite in WAL mode (synchronous=FULL: a commit is on disk when
 * it returns) in DIR/journal.db, one table of operations in append order
 * (seq, never reused), one of dead letters. `sqlite3 DIR/journal.db` reads
 * it. DIR/journal.lock is held (flock) by the process that appends, so two
 * servers can never share one journal.
 *
 * Threads: cw_journal_append() is called by many connection threads at
 * once; one of them leads a group commit for all that are waiting (the
 * LevelDB writer-queue scheme), so N concurrent appends cost one fsync.
 * cw_journal_load() is called by the pipeline's batcher and
 * cw_journal_settle() by its writer; both may run concurrently with
 * appends. `wlock` serialises the write connection, `rlock` the read one.
 *
 * Ownership: the journal copies what it appends. What cw_journal_load()
 * returns is owned by the caller (cw_journal_chunks_clear).
 */
#ifndef CW_JOURNAL_H
#define CW_JOURNAL_H

#include <stdint.h>
#include <stdio.h>

#include "cw_error.h"
#include "document.h"

typedef struct cw_journal cw_journal;

#define CW_JOURNAL_DEFAULT_MAX_BYTES (1024ull * 1024 * 1024)

typedef enum cw_journal_mode {
    CW_JOURNAL_APPEND,     /* the server: takes the lock, may append/settle */
    CW_JOURNAL_READ,       /* inspection while a server may run: read only */
} cw_journal_mode;

/* Open (creating DIR and the database if missing) the journal in `dir`.
 * `max_bytes` bounds the unapplied operations (0 = the default, 1 GiB).
 * Returns NULL with `err` set, one line naming the file:
 *   CW_E_CONFIG  the directory cannot be made or is locked by another
 *                process; the file is not a journal, damaged or of
 *                another version (with how to recover);
 *   CW_E_NOMEM. */
CW_MUST_CHECK cw_journal *cw_journal_open(const char *dir, uint64_t max_bytes,
                                          cw_journal_mode mode, cw_error *err);

/* Close; NULL is fine. No append may be in progress. */
void cw_journal_close(cw_journal *j);

/* The database file's path (for messages). */
const char *cw_journal_path(const cw_journal *j);

/* Append one request's operations, deletes then upserts (the order they
 * take effect in), durably. Blocks until they are on disk (group commit).
 * Returns 0 with *first_seq / *last_seq set (the request's seq range; an
 * empty request is not appended: returns 0 and *last_seq = 0). Returns -1
 * with `err`: CW_E_UNAVAILABLE (retry_after_s set) when the journal is full
 * ("journal full: ...") or the disk fails; nothing of the request is then
 * in the journal. */
CW_MUST_CHECK int cw_journal_append(cw_journal *j, char *const *deletes, size_t n_deletes,
                                    const cw_document *upserts, size_t n_upserts,
                                    int64_t *first_seq, int64_t *last_seq, cw_error *err);

/* Operations read back, grouped into chunks: consecutive operations of one
 * request, its deletes then its upserts (a request larger than a load is
 * split over loads; each part keeps the order). Owned by the caller. */
typedef struct cw_journal_chunk {
    int64_t req;               /* the request's first seq: its identity */
    int64_t first_seq, last_seq;
    char **deletes;            /* owned */
    size_t n_deletes;
    cw_document *upserts;      /* owned */
    size_t n_upserts;
} cw_journal_chunk;

typedef struct cw_journal_chunks {
    cw_journal_chunk *items;
    size_t len;
    int64_t last_seq;          /* of the last operation loaded, 0 when none */
} cw_journal_chunks;

/* Load the operations after `after_seq`, in order, stopping before the one
 * that would make more than `max_ops` operations or more than `max_upserts`
 * upserts (at least one is loaded when any exist). `out` is cleared first.
 * Returns 0 (out->len 0 when nothing is pending), or -1 with `err`. */
CW_MUST_CHECK int cw_journal_load(cw_journal *j, int64_t after_seq, size_t max_ops,
                                  size_t max_upserts, cw_journal_chunks *out, cw_error *err);

void cw_journal_chunks_clear(cw_journal_chunks *c);

/* A seq range Chroma refused for good, and why. */
typedef struct cw_journal_dead {
    int64_t first_seq, last_seq;
    const char *reason;        /* borrowed */
} cw_journal_dead;

/* Settle every operation with seq ≤ `through_seq`: the ranges in dead[]
 * move to the dead-letter table with their reason, the rest are deleted
 * (applied). One transaction. Returns 0, or -1 with `err` (nothing
 * changed; settling again later is safe). */
CW_MUST_CHECK int cw_journal_settle(cw_journal *j, int64_t through_seq,
                                    const cw_journal_dead *dead, size_t n_dead, cw_error *err);

typedef struct cw_journal_stats {
    uint64_t backlog_ops;      /* unapplied operations */
    uint64_t backlog_bytes;    /* their size as counted against max_bytes */
    uint64_t max_bytes;
    int64_t oldest_ms;         /* wall-clock ms of the oldest unapplied, 0 = none */
    int64_t last_seq;          /* of the last operation appended (0 = none yet) */
    int64_t first_unapplied;   /* seq of the oldest unapplied, 0 = none */
    uint64_t dead_letters;     /* rows in the dead-letter table */
    uint64_t appends;          /* requests appended since open */
    uint64_t group_commits;    /* transactions those took */
    uint64_t full_refusals;    /* appends refused: journal full */
    uint64_t append_errors;    /* appends failed: disk or database error */
} cw_journal_stats;

/* A consistent snapshot (in-memory counters, no I/O). */
void cw_journal_stats_get(cw_journal *j, cw_journal_stats *out);

/* Dead-letter rows whose seq lies in [first_seq, last_seq]. -1 on error. */
int64_t cw_journal_dead_in_range(cw_journal *j, int64_t first_seq, int64_t last_seq);

/* Print the dead letters (oldest first, at most `limit`, 0 = all): one
 * line each "seq op id: reason", or a JSON array when `json`. Returns the
 * number printed, or -1 with `err`. */
CW_MUST_CHECK int64_t cw_journal_dead_print(cw_journal *j, FILE *out, int json, size_t limit,
                                            cw_error *err);

/* Move every dead letter back to the end of the journal (new seqs, in
 * their old order), to be applied again. Needs CW_JOURNAL_APPEND. Returns
 * the number moved, or -1 with `err`. */
CW_MUST_CHECK int64_t cw_journal_requeue_dead(cw_journal *j, cw_error *err);

/* The default directory: $XDG_STATE_HOME/cluster-whisperer/journal, else
 * $HOME/.local/state/cluster-whisperer/journal. Writes into buf; returns
 * buf, or NULL when neither variable is set. */
const char *cw_journal_default_dir(char *buf, size_t cap);

#endif
