/* cw_stage — one batch between the pipeline's two threads: taken and
 * prepared (listed, coalesced, looked up, embedded) by the batcher, then
 * committed by the writer, which answers or settles its requests and
 * clears it. Part of src/pipeline, not for other modules.
 *
 * Ownership: the stage owns its requests' batch links while it holds
 * them, its op lists and its prepared batch. Threads: one thread at a time
 * touches a stage — the batcher until it hands the stage over (under the
 * pipeline's lock), the writer after; nothing here locks. The functions
 * take the batch environment (embedder, pool, store), not the pipeline.
 */
#ifndef CW_PIPELINE_STAGE_H
#define CW_PIPELINE_STAGE_H

#include <stddef.h>
#include <stdint.h>

#include "batch.h"
#include "coalesce.h"
#include "pipeline.h"
#include "request.h"

typedef struct cw_stage {
    cw_request *requests;        /* linked by `next`, arrival (journal: seq) order */
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
} cw_stage;

/* Fill ops[]/docs[] (room for every op) from the requests linked at
 * `batch`, in effect order: request by request, its deletes, then its
 * upserts. */
void cw_stage_list_ops(const cw_request *batch, cw_coalesce_op *ops, const cw_document **docs);

/* List and prepare `s` (its requests and n_ops set). `overlaps`: the
 * batch handed to the writer before it (whose ids are `prev`) was still
 * being written when `s` was taken, so the store get of `s` may have seen
 * state that write changes: every upsert of `s` on one of those ids is
 * written, whatever the get said. On failure s->prepared is NULL and
 * s->err says why (s->ops is NULL too when listing itself failed). */
void cw_stage_prepare(const cw_batch_env *env, cw_stage *s, int overlaps, const cw_batch_ids *prev);

/* Prepare the listed `s` again (its earlier try failed; the store get now
 * sees what was written since). */
void cw_stage_prepare_again(const cw_batch_env *env, cw_stage *s);

/* Write the prepared `s` once; s->err is the result. Returns 1 when a
 * write was tried (s->prepared set), 0 when there was nothing prepared. */
int cw_stage_write(const cw_batch_env *env, cw_stage *s);

/* Synchronous mode: commit `s` (unless preparing it failed), and re-run
 * it request by request when the failure may be one request's. Returns
 * the per-request results (NULL: s->err is everyone's; free() it). */
cw_error *cw_stage_commit(const cw_batch_env *env, cw_stage *s);

/* Prepare and write the requests linked at `batch` (n_ops in all) at once,
 * on the calling thread (a failed batch re-run request by request). */
void cw_stage_run_requests(const cw_batch_env *env, cw_request *batch, size_t n_ops,
                           cw_batch_counters *cnt, cw_error *err);

/* Free the requests of `s` up to and including `upto` (applied or dead)
 * and its lists: the rest is listed and prepared again. */
void cw_stage_drop_through(cw_stage *s, cw_request *upto);

/* Add the counters of `s` to `st` (the caller holds the stats' lock). */
void cw_stage_add_counters(cw_pipeline_stats *st, const cw_stage *s);

/* Free the lists and the prepared batch, zero `s` (requests are not freed:
 * whoever answered or settled them did). */
void cw_stage_clear(cw_stage *s);

#endif
