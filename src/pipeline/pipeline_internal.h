/* Internal to src/pipeline: the records the pipeline's files share.
 * pipeline.c — the public API, the request queue and the two threads of
 * the synchronous mode; apply.c — the journal mode (the apply loop that
 * reads the journal, retries, settles). Nothing here is for other modules.
 */
#ifndef CW_PIPELINE_INTERNAL_H
#define CW_PIPELINE_INTERNAL_H

#include <pthread.h>
#include <stdint.h>

#include "batch.h"
#include "coalesce.h"
#include "embed_pool.h"
#include "pipeline.h"

typedef enum req_state { REQ_QUEUED, REQ_TAKEN, REQ_DONE } req_state;

typedef struct cw_request {
    /* Set by submit before the request is queued; read-only afterwards. */
    int64_t deadline_ms;
    char **deletes;              /* owned copies */
    size_t n_deletes;
    cw_document *upserts;        /* owned */
    size_t n_upserts;

    /* Guarded by the pipeline's lock. */
    int refs;                    /* caller + queue/batcher */
    req_state state;
    cw_error result;             /* valid once state == REQ_DONE */
    uint64_t embed_calls;        /* of its batch (or its own re-run), once REQ_DONE */
    pthread_cond_t done;         /* state became REQ_DONE */
    struct cw_request *next;     /* queue link, then batch link */

    /* Journal mode: a chunk of a journaled request, loaded by the batcher
     * (no caller waits on it; seq range of its ops). */
    int64_t first_seq, last_seq;
} cw_request;

/* A batch between the two stages: taken and prepared by the batcher, then
 * handed to the writer, which commits it, answers its requests and clears
 * it. Fields are touched by one thread at a time (the handover is under
 * the pipeline's lock). */
typedef struct stage {
    cw_request *requests;        /* linked by `next`, arrival order */
    size_t n_ops;
    cw_coalesce_op *ops;         /* every op of the requests, effect order */
    const cw_document **docs;    /* docs[i]: the upsert of ops[i], NULL for a delete */
    cw_batch *prepared;          /* NULL when preparing failed: `err` says why */
    cw_error err;                /* the batch's result */
    cw_batch_counters cnt;
    int overlapped;              /* taken while the batch before was being written */
    int64_t last_seq;            /* journal mode: of its last op */
    unsigned refused_attempts;   /* journal mode: tries that failed CW_E_INTERNAL in a row */
    size_t distrusted;           /* "already stored" marks dropped (overlap) */
    int64_t t0;
} stage;

struct cw_pipeline {
    cw_pipeline_config cfg;      /* read-only after create */
    size_t upsert_target;        /* stop lingering at this many upserts */
    size_t ops_cap;              /* take no more requests past this many ops */
    cw_embedder *embedder;       /* borrowed */
    cw_store *store;             /* borrowed; used by the batcher only */
    cw_embed_pool *pool;
    pthread_t batcher, writer;
    int batcher_started;         /* touched only by create/shutdown/destroy */
    int batcher_joined;
    int writer_started;
    int writer_joined;
    stage stages[2];             /* one being prepared, one being written */
    int sync_ready;              /* lock and conds initialised */

    /* `lock` guards everything below, and each request's guarded fields. */
    pthread_mutex_t lock;
    pthread_cond_t queue_cond;   /* batcher: a request arrived, or stopping */
    pthread_cond_t idle_cond;    /* shutdown/destroy: batcher idle, a caller left */
    cw_request *head, *tail;     /* queued requests, arrival order */
    size_t queued;
    size_t queued_ops;
    size_t queued_upserts;
    pthread_cond_t stage_cond;   /* `writing` set or cleared, or batcher_done */
    int busy;                    /* the batcher holds a batch it has not handed over */
    stage *writing;              /* handed to the writer, not yet answered */
    int batcher_done;            /* the batcher has exited: the writer exits when idle */
    int stopping;                /* shutdown started: no new requests */
    int64_t drain_deadline_ms;   /* valid once stopping */
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


/* Shared by pipeline.c and apply.c (defined in pipeline.c). */
void cw_pl_request_free(cw_request *r);
cw_request *cw_pl_request_create(const cw_sync_payload *payload, int64_t deadline_ms,
                                 cw_error *err);
struct timespec cw_pl_abstime(int64_t deadline_ms);
void cw_pl_stage_prepare(cw_pipeline *p, stage *s, int overlaps, const cw_batch_ids *prev);
void cw_pl_stage_clear(stage *s);
void cw_pl_run_batch(cw_pipeline *p, cw_request *batch, size_t n_ops, cw_batch_counters *cnt,
                     cw_error *err);
cw_batch_env cw_pl_batch_env(const cw_pipeline *p);
void cw_pl_add_counters(cw_pipeline *p, const stage *s);   /* under the lock */

/* apply.c: the journal mode's batcher thread, the writer's commit of one
 * stage, and the submit side. */
void *cw_pl_journal_batcher_main(void *arg);
void cw_pl_journal_commit(cw_pipeline *p, stage *s);
int cw_pl_journal_submit(cw_pipeline *p, const cw_sync_payload *payload, cw_sync_payload *take,
                         int64_t deadline_ms, cw_pipeline_result *res, cw_error *err);
void cw_pl_journal_init(cw_pipeline *p);

#endif
