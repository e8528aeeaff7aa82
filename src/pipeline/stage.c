/* cw_stage — see stage.h. */
#include "stage.h"

#include <stdlib.h>
#include <string.h>

#include "cw_log.h"
#include "cw_time.h"

void cw_stage_list_ops(const cw_request *batch, cw_coalesce_op *ops, const cw_document **docs)
{
    size_t k = 0;
    for (const cw_request *r = batch; r != NULL; r = r->next) {
        for (size_t i = 0; i < r->n_deletes; i++, k++) {
            ops[k].id = r->deletes[i];
            ops[k].is_upsert = 0;
            docs[k] = NULL;
        }
        for (size_t i = 0; i < r->n_upserts; i++, k++) {
            ops[k].id = r->upserts[i].id;
            ops[k].is_upsert = 1;
            docs[k] = &r->upserts[i];
        }
    }
}

void cw_stage_prepare(const cw_batch_env *env, cw_stage *s, int overlaps, const cw_batch_ids *prev)
{
    s->overlapped = overlaps;
    s->ops = malloc(s->n_ops * sizeof *s->ops);
    s->docs = malloc(s->n_ops * sizeof *s->docs);
    if (s->ops == NULL || s->docs == NULL) {
        free(s->ops);
        free(s->docs);
        s->ops = NULL;
        s->docs = NULL;
        cw_error_set(&s->err, CW_E_NOMEM, "out of memory for a batch of %zu ops", s->n_ops);
        return;
    }
    cw_stage_list_ops(s->requests, s->ops, s->docs);
    /* On failure s->err says why: every failure below sets one (the
     * embedder and store wrappers give a silent backend a reason). */
    s->prepared = cw_batch_prepare(env, s->ops, s->docs, s->n_ops, &s->cnt, &s->err);
    if (s->prepared != NULL && overlaps)
        s->distrusted = cw_batch_distrust(s->prepared, prev);
}

void cw_stage_prepare_again(const cw_batch_env *env, cw_stage *s)
{
    cw_error_clear(&s->err);
    s->prepared = cw_batch_prepare(env, s->ops, s->docs, s->n_ops, &s->cnt, &s->err);
}

int cw_stage_write(const cw_batch_env *env, cw_stage *s)
{
    if (s->prepared == NULL)
        return 0;
    (void)!cw_batch_commit(env, s->prepared, &s->cnt, &s->err);   /* s->err says how */
    return 1;
}

void cw_stage_run_requests(const cw_batch_env *env, cw_request *batch, size_t n_ops,
                           cw_batch_counters *cnt, cw_error *err)
{
    cw_coalesce_op *ops = malloc(n_ops * sizeof *ops);
    const cw_document **docs = malloc(n_ops * sizeof *docs);
    if (ops == NULL || docs == NULL) {
        cw_error_set(err, CW_E_NOMEM, "out of memory for a batch of %zu ops", n_ops);
        goto out;
    }
    cw_stage_list_ops(batch, ops, docs);
    (void)!cw_batch_write(env, ops, docs, n_ops, cnt, err);   /* err says how */
out:
    free(ops);
    free(docs);
}

/* A batch failed for a reason that may belong to one request only: a
 * dependency refused an input (CW_E_CONFIG: e.g. the embedding API refuses
 * one over-long text; CW_E_INTERNAL: Chroma answered 4xx). Applying its
 * requests again one at a time, in arrival order, gives each its own
 * answer, so one bad payload cannot fail the others on every retry. A
 * transient failure (CW_E_UNAVAILABLE) is not split: it would fail again.
 * Ops are idempotent and per-id order is kept, so the re-run is safe. */
static int worth_isolating(const cw_request *batch, const cw_error *err)
{
    return batch != NULL && batch->next != NULL
        && (err->code == CW_E_CONFIG || err->code == CW_E_INTERNAL);
}

cw_error *cw_stage_commit(const cw_batch_env *env, cw_stage *s)
{
    if (s->prepared == NULL && s->overlapped && s->cnt.store_get_errors > 0) {
        /* Chroma 1.0 may refuse a get that runs during a write to a fresh
         * collection (HTTP 500 "Error creating hnsw segment reader: Nothing
         * found on disk"): look again, once, now that the write before is
         * done; a get that fails then fails the batch as usual. */
        cw_log_info("pipeline: store get failed during the write before (%s); trying again",
                    s->err.msg);
        cw_stage_prepare_again(env, s);
    }
    cw_stage_write(env, s);
    if (!worth_isolating(s->requests, &s->err))
        return NULL;
    size_t n_req = 0;
    for (cw_request *r = s->requests; r != NULL; r = r->next)
        n_req++;
    cw_error *errs = calloc(n_req, sizeof *errs);
    if (errs == NULL)
        return NULL;
    cw_log_warn("pipeline: a batch of %zu requests failed (%s); applying them one by one",
                n_req, s->err.msg);
    size_t i = 0;
    int64_t now = cw_now_ms();
    for (cw_request *r = s->requests; r != NULL; r = r->next, i++) {
        if (now >= r->deadline_ms) {
            /* Its caller was answered 503 at its deadline: a new attempt
             * now would write what the client was told did not happen
             * (and it will send again). Only the batch's own try counts. */
            cw_error_set_retry(&errs[i], CW_E_UNAVAILABLE, 1,
                               "deadline exceeded while the request was being written");
            continue;
        }
        cw_request *next = r->next;
        r->next = NULL;
        uint64_t calls_before = s->cnt.embed_calls;
        cw_stage_run_requests(env, r, cw_request_ops(r), &s->cnt, &errs[i]);
        r->embed_calls = s->cnt.embed_calls - calls_before;   /* published under the lock */
        r->next = next;
    }
    return errs;
}

void cw_stage_drop_through(cw_stage *s, cw_request *upto)
{
    cw_request *rest = upto->next;
    upto->next = NULL;
    cw_request_free_list(s->requests);
    cw_batch_free(s->prepared);
    s->prepared = NULL;
    free(s->ops);
    free(s->docs);
    s->ops = NULL;
    s->docs = NULL;
    s->requests = rest;
    s->n_ops = 0;
    for (cw_request *r = rest; r != NULL; r = r->next)
        s->n_ops += cw_request_ops(r);
}

void cw_stage_add_counters(cw_pipeline_stats *st, const cw_stage *s)
{
    const cw_batch_counters *cnt = &s->cnt;
    st->batches++;
    st->batch_ops_total += s->n_ops;
    st->embed_calls += cnt->embed_calls;
    st->embed_inputs += cnt->embed_inputs;
    st->embed_ms_total += cnt->embed_ms;
    st->embed_reused += cnt->embed_reused;
    st->upserts_unchanged += cnt->upserts_unchanged;
    st->store_calls += cnt->store_calls;
    st->store_ms_total += cnt->store_ms;
}

void cw_stage_clear(cw_stage *s)
{
    cw_batch_free(s->prepared);
    free(s->ops);
    free(s->docs);
    memset(s, 0, sizeof *s);
}
