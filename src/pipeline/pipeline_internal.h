/* Internal to src/pipeline: the pipeline record its files share.
 *   request.c — a request's own copy of its ops, the FIFO queue;
 *   stage.c   — one batch between the batcher and the writer;
 *   pipeline.c — the public API, the lifecycle, and the two threads of the
 *                synchronous mode (batcher over the queue, writer);
 *   apply.c   — the journal mode: submit appends, the batcher reads the
 *               journal, the writer retries until applied and settles.
 * Nothing here is for other modules.
 */
#ifndef CW_PIPELINE_INTERNAL_H
#define CW_PIPELINE_INTERNAL_H

#include <pthread.h>
#include <stdint.h>

#include "batch.h"
#include "embed_pool.h"
#include "pipeline.h"
#include "request.h"
#include "stage.h"

/* The pipeline's lifecycle: NEW (allocated, the lock not yet set up) →
 * RUNNING (threads started, requests accepted) → DRAINING (shutdown began:
 * no new requests; the threads finish what they hold until the drain
 * deadline) → STOPPED (both threads joined). Only create, shutdown and
 * destroy change it, under the lock once it is set up. */
typedef enum cw_pl_state { CW_PL_NEW, CW_PL_RUNNING, CW_PL_DRAINING, CW_PL_STOPPED } cw_pl_state;

struct cw_pipeline {
    cw_pipeline_config cfg;      /* read-only after create */
    size_t upsert_target;        /* stop lingering at this many upserts */
    size_t ops_cap;              /* take no more requests past this many ops */
    size_t journal_upserts;      /* journal mode: upserts per batch read from the journal
                                  * (at least upsert_target and CW_PL_JOURNAL_WRITE_DOCS) */
    size_t journal_ops_cap;      /* journal mode: ops per batch */
    cw_embedder *embedder;       /* borrowed */
    cw_store *store;             /* borrowed; used by the batcher only */
    cw_embed_pool *pool;
    pthread_t batcher, writer;
    int batcher_started;         /* touched only by create/shutdown/destroy */
    int writer_started;
    cw_stage stages[2];          /* one being prepared, one being written */

    /* `lock` guards everything below, and each request's guarded fields. */
    pthread_mutex_t lock;
    pthread_cond_t queue_cond;   /* batcher: a request arrived, or stopping */
    pthread_cond_t idle_cond;    /* shutdown/destroy: batcher idle, a caller left */
    cw_pl_state state;
    int64_t drain_deadline_ms;   /* valid once DRAINING */
    cw_request_queue queue;      /* synchronous mode: waiting requests */
    pthread_cond_t stage_cond;   /* `writing` set or cleared, or batcher_done */
    int busy;                    /* the batcher holds a batch it has not handed over */
    cw_stage *writing;           /* handed to the writer, not yet answered */
    int batcher_done;            /* the batcher has exited: the writer exits when idle */
    size_t callers;              /* threads inside cw_pipeline_submit() */
    cw_pipeline_stats stats;     /* all but queue_depth (read from `queued`) */

    /* Journal mode (cfg.journal != NULL; apply.c), also under `lock`. */
    pthread_cond_t applied_cond; /* applied_seq moved, or the apply loop stopped */
    int64_t journal_seq;         /* last seq known appended */
    int64_t loaded_seq;          /* last seq the batcher loaded (batcher only) */
    int64_t applied_seq;         /* every op ≤ this is settled (applied or dead) */
    uint64_t dead_total;         /* ops dead-lettered since start */
    int write_failing;           /* the last Chroma write failed */
    int64_t write_failing_since_ms;
    char write_error[CW_ERROR_MSG_MAX];   /* its error, for /readyz */
};


/* Locked: shutdown has begun (no new requests). */
static inline int cw_pl_draining(const cw_pipeline *p)
{
    return p->state >= CW_PL_DRAINING;
}

/* pipeline.c */
struct timespec cw_pl_abstime(int64_t deadline_ms);   /* for our monotonic conds */
cw_batch_env cw_pl_batch_env(const cw_pipeline *p);
/* Batcher, without the lock: prepare `s` and remember its ids in *prev
 * (for the overlap check of the batch after it). */
void cw_pl_batcher_prepare(cw_pipeline *p, cw_stage *s, int overlaps, cw_batch_ids *prev);
/* Batcher, locked, on its way out: not busy, wake shutdown, unlock, free
 * *prev. */
void cw_pl_batcher_exit(cw_pipeline *p, cw_batch_ids *prev);

/* apply.c: the journal mode's batcher thread, the writer's commit of one
 * stage, and the submit side. */
void *cw_pl_journal_batcher_main(void *arg);
void cw_pl_journal_commit(cw_pipeline *p, cw_stage *s);
int cw_pl_journal_submit(cw_pipeline *p, const char *cluster, const cw_sync_payload *payload,
                         cw_sync_payload *take, int64_t deadline_ms, cw_pipeline_result *res,
                         cw_error *err);
void cw_pl_journal_init(cw_pipeline *p);

#endif
