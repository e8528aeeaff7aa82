/* cw_pipeline — from parsed payloads to committed Chroma state (DESIGN §6).
 *
 * Threads (named by job):
 *   callers     — HTTP connection threads / the sync command; each calls
 *                 cw_pipeline_submit() and blocks until its ops committed.
 *   batcher     — one thread: takes queued requests in arrival order,
 *                 coalesces ops by id across requests (last op wins; within
 *                 a request deletes precede upserts), drops texts already
 *                 stored unchanged (store get → reuse vector), hands the rest
 *                 to the embed workers in batches of ≤ batch_max, then hands
 *                 the prepared batch to the writer and takes the next one.
 *   writer      — one thread, the store's one ordered writer: writes each
 *                 prepared batch (deletes, upserts) in arrival order, and
 *                 wakes each request with its own result. While it writes
 *                 batch N the batcher prepares N+1 (never further ahead);
 *                 N+1 writes every upsert whose id N touches even when its
 *                 get found it stored exactly (that get may predate N's
 *                 write), and reuses stored vectors by text as usual.
 *   embed workers — `workers` threads calling cw_embedder_embed().
 *
 * Journal mode (cfg.journal set; DESIGN §6a, apply.c): submit appends the
 * request's ops to the journal (durable on return) and waits at most
 * ack_wait_ms for them to be applied; the batcher reads the journal in
 * order instead of the in-memory queue, and the writer retries a failing
 * batch (capped backoff) until it is applied, settling the journal after
 * each batch. The operations of a request Chroma refuses for good (found by
 * applying a failing batch request by request) are dead-lettered
 * (journal.h) instead of being retried forever. Without a journal every
 * answer waits for the commit and a failure is the answer.
 *
 * Lifecycle: create → RUNNING; cw_pipeline_shutdown() → DRAINING (no new
 * requests, the threads finish until the drain deadline) → STOPPED;
 * cw_pipeline_destroy() shuts down first if that was not done.
 *
 * Borrowing: cw_pipeline_submit() borrows `payload` only until it returns.
 * The pipeline borrows the embedder, the store and the journal for its
 * lifetime; the caller destroys them after cw_pipeline_destroy().
 */
#ifndef CW_PIPELINE_H
#define CW_PIPELINE_H

#include <stddef.h>
#include <stdint.h>

#include "cw_error.h"
#include "embedder.h"
#include "journal.h"
#include "store.h"
#include "sync_payload.h"

typedef struct cw_pipeline cw_pipeline;

typedef struct cw_pipeline_config {
    size_t batch_max;        /* max texts per embedding batch (default 64) */
    int batch_linger_ms;     /* wait this long to coalesce requests (default 5;
                                0 = do not linger) */
    size_t workers;          /* embed worker threads (default 2) */
    size_t queue_max;        /* max queued requests before 503 (default 256) */
    /* Optional (NULL = none), for tests and tracing: called under the
     * pipeline's lock as each request is accepted into the queue, in
     * arrival order — the order in which its ops take effect. Must be quick
     * and must not call into the pipeline. */
    void (*on_accept)(void *ctx, const cw_sync_payload *payload);
    void *on_accept_ctx;
    /* Journal mode (NULL = off). */
    cw_journal *journal;     /* borrowed */
    int ack_wait_ms;         /* wait this long for the commit before answering
                                "accepted" (default 3000) */
    int retry_max_ms;        /* the apply loop's backoff cap (default 5000) */
} cw_pipeline_config;

/* Fill `cfg` with the defaults above (no on_accept hook).
 *
 * Batching: the batcher lingers until batch_max * workers upserts are queued
 * (one embedding chunk per worker) or batch_linger_ms passed, then takes
 * requests in arrival order while the batch stays within batch_max * workers
 * upserts and 4 * batch_max * workers ops (a single larger request still
 * goes, alone; its texts are split into chunks of ≤ batch_max). With a
 * journal the linger is the same, but a batch read from the journal takes
 * every pending operation up to max(batch_max * workers, 500) upserts (and
 * 4x that in ops): one Chroma write of 500 stores ~1.35x the documents per
 * second of writes of 100 (measured, pipeline.c). A zero
 * field in a config given to cw_pipeline_create() means its default
 * (batch_linger_ms 0 means no linger). */
void cw_pipeline_config_defaults(cw_pipeline_config *cfg);

typedef struct cw_pipeline_result {
    size_t upserted;         /* upserts in the payload as received */
    size_t deleted;          /* deletes in the payload as received */
    uint64_t embed_calls;    /* embedder calls made by the batch that carried the
                                request (shared with the other requests in it; for
                                a request re-run alone, its own run's); also set
                                on failure, when the request reached a batch */
    int accepted;            /* journal mode: durable, not yet applied (→ 202) */
    size_t journaled;        /* journal mode: ops appended */
    size_t dead_lettered;    /* journal mode: of them, refused for good by Chroma
                                or the embedder before the answer */
} cw_pipeline_result;

typedef struct cw_pipeline_stats {   /* for /metrics; a consistent snapshot */
    size_t queue_depth;
    uint64_t batches;
    uint64_t batch_ops_total;        /* ops over all batches */
    uint64_t embed_calls;
    uint64_t embed_inputs;
    uint64_t embed_ms_total;
    uint64_t embed_reused;           /* texts whose stored vector was reused */
    uint64_t upserts_unchanged;      /* upserts not written: the store held them exactly */
    uint64_t store_calls;
    uint64_t store_ms_total;
    /* Journal mode (zero without a journal). */
    int journaled;                   /* 1 in journal mode */
    cw_journal_stats journal;        /* backlog, dead letters, appends */
    uint64_t apply_errors[6];        /* failed apply attempts by cw_status code */
    uint64_t dead_lettered;          /* ops dead-lettered since start */
    int write_failing;               /* the last Chroma write failed */
} cw_pipeline_stats;

/* Start the batcher and workers. `cfg` is copied. Returns NULL with `err`
 * set (CW_E_NOMEM, CW_E_INTERNAL) on failure. */
cw_pipeline *cw_pipeline_create(const cw_pipeline_config *cfg, cw_embedder *embedder,
                                cw_store *store, cw_error *err);

/* Queue the payload's ops and block until they are committed or failed, or
 * until `deadline_ms` (cw_now_ms() clock) passes.
 * Returns 0 with `res` filled when committed. Returns -1 with `err`:
 *   CW_E_UNAVAILABLE  queue full (retry_after_s set), dependency down,
 *                     deadline passed, or pipeline shutting down
 *   CW_E_CONFIG/CW_E_INTERNAL/CW_E_NOMEM  as the failing dependency said.
 * Requests are coalesced into batches; a failing step (store get, embedder,
 * store remove, store upsert) fails every request of its batch with that
 * step's error, and nothing after it is written (a failed remove means no
 * upsert). When the failure may belong to one request (CW_E_CONFIG or
 * CW_E_INTERNAL: a dependency refused an input) and the batch holds several,
 * they are applied again one at a time, in arrival order, each getting its
 * own answer. `res` is zeroed on failure (except embed_calls).
 * A request whose deadline passes while its batch is being written is still
 * committed (writes are never aborted); only the answer is a 503.
 * An empty payload returns 0 at once without touching embedder or store.
 * Journal mode: returns 0 once the ops are durable and either applied
 * (res->accepted 0) or still pending when ack_wait_ms or `deadline_ms`
 * passed (res->accepted 1); -1 with CW_E_UNAVAILABLE when the journal
 * cannot take them (full, disk error) or the pipeline is shutting down.
 * Error texts: "pipeline queue full (N requests waiting)" (retry 1 s),
 * "pipeline is shutting down" (retry 2 s), "deadline exceeded before the
 * request was processed" (never written), "deadline exceeded while the
 * request was being written" (retry 1 s; the write completes). */
CW_MUST_CHECK int cw_pipeline_submit(cw_pipeline *p, const cw_sync_payload *payload,
                                     int64_t deadline_ms, cw_pipeline_result *res,
                                     cw_error *err);

/* cw_pipeline_submit() for a request of `cluster` (NULL: none, exactly
 * cw_pipeline_submit()). Its ids are qualified ("cluster:id") and its
 * documents name the cluster (src/document/cluster.h), so ordering,
 * coalescing and skip-unchanged hold per (cluster, id); in journal mode
 * the cluster is journaled with its ops. -1 with CW_E_INVALID when the
 * name is not a DNS-1123 label, or (no cluster) when an id has the shape
 * of a cluster-qualified one. */
CW_MUST_CHECK int cw_pipeline_submit_in(cw_pipeline *p, const char *cluster,
                                        const cw_sync_payload *payload, int64_t deadline_ms,
                                        cw_pipeline_result *res, cw_error *err);

/* cw_pipeline_submit(), but `payload` is taken over: it is released
 * (cw_sync_payload_free: zeroed) as soon as the request holds its own
 * compact copies, before the wait, whatever the result. A request waiting
 * in the queue then costs its documents only, not the parsed JSON tree
 * (~25x the body): what keeps the server's memory flat under fan-in. */
CW_MUST_CHECK int cw_pipeline_submit_take(cw_pipeline *p, cw_sync_payload *payload,
                                          int64_t deadline_ms, cw_pipeline_result *res,
                                          cw_error *err);
CW_MUST_CHECK int cw_pipeline_submit_take_in(cw_pipeline *p, const char *cluster,
                                             cw_sync_payload *payload, int64_t deadline_ms,
                                             cw_pipeline_result *res, cw_error *err);

void cw_pipeline_stats_get(cw_pipeline *p, cw_pipeline_stats *out);

/* Journal mode: 0 when Chroma has refused the writes of the apply loop for
 * at least `for_ms` (the last write failed, and every one since then), with
 * a one-line reason in `why`; else 1 (also without a journal). */
int cw_pipeline_write_health(cw_pipeline *p, int64_t for_ms, char *why, size_t cap);

/* Stop taking requests (new submits fail CW_E_UNAVAILABLE), finish what is
 * queued or in flight until `drain_deadline_ms`, then stop the threads.
 * Requests still queued after the deadline fail with CW_E_UNAVAILABLE;
 * a write already started is always finished. Calling it again is a no-op
 * past the first drain. Call it from one thread at a time. */
void cw_pipeline_shutdown(cw_pipeline *p, int64_t drain_deadline_ms);

/* Shut down (if not yet, with a 10 s drain), wait until every caller has
 * left cw_pipeline_submit(), and free. NULL and a half-built pipeline are
 * fine. Do not call cw_pipeline_submit() once this has started. */
void cw_pipeline_destroy(cw_pipeline *p);

#endif
