/* cw_pipeline — the request queue, the batcher and writer threads and the
 * callers' side (see pipeline.h). A batch is prepared (coalesced, looked up,
 * embedded: cw_batch_prepare) by the batcher and committed by the writer
 * (cw_batch_commit, batch.c), so the next batch is embedded while the one
 * before is written to the store; embedding runs on the embed pool
 * (embed_pool.c).
 *
 * A request record is shared by its caller and the batcher: it holds one
 * reference for each (`refs`, under the pipeline lock) and whoever drops the
 * last one frees it, so a caller that gives up at its deadline never frees
 * what the batcher is still writing, and vice versa. The record owns copies
 * of everything it needs (ids, documents): the payload is only borrowed
 * during cw_pipeline_submit().
 */
#define _GNU_SOURCE   /* pthread_setname_np */
#include "pipeline_internal.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "batch.h"
#include "coalesce.h"
#include "cw_log.h"
#include "cw_metrics.h"
#include "cw_time.h"
#include "embed_pool.h"

#define DEFAULT_BATCH_MAX 64
#define DEFAULT_LINGER_MS 5
#define DEFAULT_WORKERS 2
#define DEFAULT_QUEUE_MAX 256
#define DEFAULT_ACK_WAIT_MS 3000
#define DEFAULT_RETRY_MAX_MS 5000
#define BATCH_OPS_FACTOR 4           /* ops cap = factor * batch_max * workers */
#define RETRY_QUEUE_FULL_S 1
#define RETRY_SHUTDOWN_S 2
#define RETRY_DEADLINE_S 1

void cw_pipeline_config_defaults(cw_pipeline_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->batch_max = DEFAULT_BATCH_MAX;
    cfg->batch_linger_ms = DEFAULT_LINGER_MS;
    cfg->workers = DEFAULT_WORKERS;
    cfg->queue_max = DEFAULT_QUEUE_MAX;
    cfg->ack_wait_ms = DEFAULT_ACK_WAIT_MS;
    cfg->retry_max_ms = DEFAULT_RETRY_MAX_MS;
}

/* ---- requests ---------------------------------------------------------- */

void cw_pl_request_free(cw_request *r)
{
    if (r == NULL)
        return;
    if (r->deletes != NULL) {
        for (size_t i = 0; i < r->n_deletes; i++)
            free(r->deletes[i]);
        free(r->deletes);
    }
    if (r->upserts != NULL) {
        for (size_t i = 0; i < r->n_upserts; i++)
            cw_document_clear(&r->upserts[i]);
        free(r->upserts);
    }
    pthread_cond_destroy(&r->done);
    free(r);
}

/* Copy what the pipeline needs out of the borrowed payload. */
cw_request *cw_pl_request_create(const cw_sync_payload *payload, int64_t deadline_ms,
                                  cw_error *err)
{
    cw_request *r = calloc(1, sizeof *r);
    if (r == NULL) {
        cw_error_set(err, CW_E_NOMEM, "out of memory queueing a request");
        return NULL;
    }
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&r->done, &attr);
    pthread_condattr_destroy(&attr);
    r->deadline_ms = deadline_ms;
    r->state = REQ_QUEUED;

    size_t nd = payload->deletes.len, nu = payload->upserts.len;
    if (nd > 0) {
        r->deletes = calloc(nd, sizeof *r->deletes);
        if (r->deletes == NULL)
            goto nomem;
        r->n_deletes = nd;
        for (size_t i = 0; i < nd; i++) {
            const char *id = payload->deletes.items[i];
            r->deletes[i] = strdup(id != NULL ? id : "");
            if (r->deletes[i] == NULL)
                goto nomem;
        }
    }
    if (nu > 0) {
        r->upserts = calloc(nu, sizeof *r->upserts);
        if (r->upserts == NULL)
            goto nomem;
        r->n_upserts = nu;
        for (size_t i = 0; i < nu; i++) {
            if (cw_document_from_instance(&payload->upserts.items[i], &r->upserts[i], err) != 0)
                goto fail;
        }
    }
    return r;
nomem:
    cw_error_set(err, CW_E_NOMEM, "out of memory queueing a request");
fail:
    cw_pl_request_free(r);
    return NULL;
}

/* Monotonic absolute time for pthread_cond_timedwait on our conds. */
struct timespec cw_pl_abstime(int64_t deadline_ms)
{
    struct timespec ts;
    ts.tv_sec = (time_t)(deadline_ms / 1000);
    ts.tv_nsec = (long)(deadline_ms % 1000) * 1000000L;
    return ts;
}

/* Under the lock: remove `r` from the queue. */
static void queue_unlink(cw_pipeline *p, cw_request *r)
{
    cw_request **link = &p->head;
    cw_request *prev = NULL;
    while (*link != NULL && *link != r) {
        prev = *link;
        link = &(*link)->next;
    }
    if (*link == NULL)
        return;
    *link = r->next;
    if (p->tail == r)
        p->tail = prev;
    r->next = NULL;
    p->queued--;
    p->queued_ops -= r->n_deletes + r->n_upserts;
    p->queued_upserts -= r->n_upserts;
}

/* Under the lock: pop the oldest queued request (NULL when empty). */
static cw_request *queue_pop(cw_pipeline *p)
{
    cw_request *r = p->head;
    if (r != NULL)
        queue_unlink(p, r);
    return r;
}

/* Under the lock: finish `r` with `err` (NULL or CW_OK = success), wake its
 * caller and drop the queue/batcher reference. Returns `r` when that was the
 * last reference (the caller frees it after unlocking), else NULL. */
static cw_request *request_complete(cw_request *r, const cw_error *err)
{
    r->state = REQ_DONE;
    if (err != NULL)
        cw_error_copy(&r->result, err);
    pthread_cond_signal(&r->done);
    r->refs--;
    return r->refs == 0 ? r : NULL;
}

/* Under the lock: fail every queued request with `msg`. Requests to free
 * are pushed on *to_free (linked by `next`). */
static void fail_queued(cw_pipeline *p, int retry_s, const char *msg, cw_request **to_free)
{
    cw_error e;
    cw_error_clear(&e);
    cw_error_set_retry(&e, CW_E_UNAVAILABLE, retry_s, "%s", msg);
    cw_request *r;
    while ((r = queue_pop(p)) != NULL) {
        if (request_complete(r, &e) != NULL) {
            r->next = *to_free;
            *to_free = r;
        }
    }
}

static void free_list(cw_request *list)
{
    while (list != NULL) {
        cw_request *next = list->next;
        cw_pl_request_free(list);
        list = next;
    }
}

/* ---- the two stages: batcher (prepare) and writer (commit, answer) ---- */

/* Fill ops[]/docs[] with every op of the requests of `batch`, in effect
 * order (request by request; its deletes, then its upserts). */
static void list_ops(const cw_request *batch, cw_coalesce_op *ops, const cw_document **docs)
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

cw_batch_env cw_pl_batch_env(const cw_pipeline *p)
{
    cw_batch_env env = {
        .embedder = p->embedder,
        .pool = p->pool,
        .store = p->store,
        .chunk_max = p->cfg.batch_max,
    };
    return env;
}

/* Both stages at once for the requests of `batch`, on the calling thread
 * (the writer re-running a failed batch request by request). */
void cw_pl_run_batch(cw_pipeline *p, cw_request *batch, size_t n_ops,
                      cw_batch_counters *cnt, cw_error *err)
{
    cw_coalesce_op *ops = malloc(n_ops * sizeof *ops);
    const cw_document **docs = malloc(n_ops * sizeof *docs);
    if (ops == NULL || docs == NULL) {
        cw_error_set(err, CW_E_NOMEM, "out of memory for a batch of %zu ops", n_ops);
        goto out;
    }
    list_ops(batch, ops, docs);
    cw_batch_env env = cw_pl_batch_env(p);
    if (cw_batch_write(&env, ops, docs, n_ops, cnt, err) != 0 && err->code == CW_OK)
        cw_error_set(err, CW_E_INTERNAL, "batch failed without a reason");
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

/* Re-run each request of the failed `batch` alone; errs[i] receives the
 * i-th request's own result (CW_OK when it committed). */
static void run_isolated(cw_pipeline *p, cw_request *batch, cw_error *errs,
                         cw_batch_counters *cnt)
{
    size_t i = 0;
    for (cw_request *r = batch; r != NULL; r = r->next, i++) {
        cw_request *next = r->next;
        r->next = NULL;
        cw_error_clear(&errs[i]);
        uint64_t calls_before = cnt->embed_calls;
        cw_pl_run_batch(p, r, r->n_deletes + r->n_upserts, cnt, &errs[i]);
        r->embed_calls = cnt->embed_calls - calls_before;   /* published under the lock */
        r->next = next;
    }
}

/* Under the lock: take the next batch off the queue. Requests whose
 * deadline passed are failed (never written). Returns the batch (linked by
 * `next`), possibly NULL; *n_ops its op count. */
static cw_request *take_batch(cw_pipeline *p, size_t *n_ops, cw_request **to_free)
{
    cw_request *batch = NULL, *last = NULL;
    size_t taken = 0, ops = 0, upserts = 0;
    int64_t now = cw_now_ms();
    cw_error expired;
    cw_error_clear(&expired);
    cw_error_set_retry(&expired, CW_E_UNAVAILABLE, RETRY_DEADLINE_S,
                       "deadline exceeded before the request was processed");

    while (p->head != NULL) {
        cw_request *r = p->head;
        size_t r_ops = r->n_deletes + r->n_upserts;
        if (taken > 0 && (ops + r_ops > p->ops_cap ||
                          upserts + r->n_upserts > p->upsert_target))
            break;
        queue_unlink(p, r);
        if (now >= r->deadline_ms) {
            if (request_complete(r, &expired) != NULL) {
                r->next = *to_free;
                *to_free = r;
            }
            continue;
        }
        r->state = REQ_TAKEN;
        if (last != NULL)
            last->next = r;
        else
            batch = r;
        last = r;
        taken++;
        ops += r_ops;
        upserts += r->n_upserts;
        if (upserts >= p->upsert_target)
            break;
    }
    *n_ops = ops;
    return batch;
}

/* Batcher, without the lock: prepare `s` (its requests and n_ops set).
 * `overlaps`: the batch handed to the writer before it (whose ids are
 * `prev`) was still being written when `s` was taken, so the store get of
 * `s` may have seen state that write changes: every upsert of `s` on one of
 * those ids is written, whatever the get said. */
void cw_pl_stage_prepare(cw_pipeline *p, stage *s, int overlaps, const cw_batch_ids *prev)
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
    list_ops(s->requests, s->ops, s->docs);
    cw_batch_env env = cw_pl_batch_env(p);
    s->prepared = cw_batch_prepare(&env, s->ops, s->docs, s->n_ops, &s->cnt, &s->err);
    if (s->prepared == NULL && s->err.code == CW_OK)
        cw_error_set(&s->err, CW_E_INTERNAL, "batch failed without a reason");
    if (s->prepared != NULL && overlaps)
        s->distrusted = cw_batch_distrust(s->prepared, prev);
}

void cw_pl_stage_clear(stage *s)
{
    cw_batch_free(s->prepared);
    free(s->ops);
    free(s->docs);
    memset(s, 0, sizeof *s);
}

static void *batcher_main(void *arg)
{
    cw_pipeline *p = arg;
    cw_batch_ids prev = { 0 };       /* ids of the batch last handed to the writer */
    size_t next_stage = 0;

    pthread_mutex_lock(&p->lock);
    for (;;) {
        cw_request *to_free = NULL;
        while (p->head == NULL && !p->stopping)
            pthread_cond_wait(&p->queue_cond, &p->lock);
        if (p->head == NULL)
            break;                                  /* stopping, queue drained */
        if (p->stopping && cw_now_ms() >= p->drain_deadline_ms) {
            fail_queued(p, RETRY_SHUTDOWN_S, "pipeline is shutting down", &to_free);
            pthread_mutex_unlock(&p->lock);
            free_list(to_free);
            pthread_mutex_lock(&p->lock);
            continue;
        }
        if (!p->stopping && p->cfg.batch_linger_ms > 0) {
            int64_t until = cw_now_ms() + p->cfg.batch_linger_ms;
            struct timespec ts = cw_pl_abstime(until);
            while (!p->stopping && p->queued_upserts < p->upsert_target &&
                   p->queued_ops < p->ops_cap && cw_now_ms() < until)
                pthread_cond_timedwait(&p->queue_cond, &p->lock, &ts);
        }
        size_t n_ops = 0;
        cw_request *batch = take_batch(p, &n_ops, &to_free);
        if (batch == NULL) {
            pthread_mutex_unlock(&p->lock);
            free_list(to_free);
            pthread_mutex_lock(&p->lock);
            continue;
        }
        /* The writer is done with the other stage (see the handover below). */
        stage *s = &p->stages[next_stage];
        next_stage ^= 1;
        s->requests = batch;
        s->n_ops = n_ops;
        int overlaps = p->writing != NULL;
        p->busy = 1;
        pthread_mutex_unlock(&p->lock);
        free_list(to_free);
        cw_metrics_batch(n_ops);

        s->t0 = cw_now_ms();
        cw_pl_stage_prepare(p, s, overlaps, &prev);
        cw_batch_ids_set(&prev, s->ops, s->ops != NULL ? s->n_ops : 0);
        if (s->ops == NULL)
            prev.all = 1;

        /* Hand over once the writer has answered the batch before: one
         * batch written while one is prepared, never more. */
        pthread_mutex_lock(&p->lock);
        while (p->writing != NULL)
            pthread_cond_wait(&p->stage_cond, &p->lock);
        p->writing = s;
        p->busy = 0;
        pthread_cond_broadcast(&p->stage_cond);
    }
    p->busy = 0;
    pthread_cond_broadcast(&p->idle_cond);
    pthread_mutex_unlock(&p->lock);
    cw_batch_ids_clear(&prev);
    return NULL;
}

/* Writer, without the lock: commit `s` (unless preparing it failed), and
 * re-run it request by request when the failure may be one request's.
 * Returns the per-request results (NULL: s->err is everyone's). */
static cw_error *stage_commit(cw_pipeline *p, stage *s)
{
    cw_batch_env env = cw_pl_batch_env(p);
    if (s->prepared == NULL && s->overlapped && s->cnt.store_get_errors > 0) {
        /* Chroma 1.0 may refuse a get that runs during a write to a fresh
         * collection (HTTP 500 "Error creating hnsw segment reader: Nothing
         * found on disk"): look again, once, now that the write before is
         * done; a get that fails then fails the batch as usual. */
        cw_log_info("pipeline: store get failed during the write before (%s); trying again",
                    s->err.msg);
        cw_error_clear(&s->err);
        s->prepared = cw_batch_prepare(&env, s->ops, s->docs, s->n_ops, &s->cnt, &s->err);
        if (s->prepared == NULL && s->err.code == CW_OK)
            cw_error_set(&s->err, CW_E_INTERNAL, "batch failed without a reason");
    }
    if (s->prepared != NULL && cw_batch_commit(&env, s->prepared, &s->cnt, &s->err) != 0 &&
        s->err.code == CW_OK)
        cw_error_set(&s->err, CW_E_INTERNAL, "batch failed without a reason");
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
    run_isolated(p, s->requests, errs, &s->cnt);
    return errs;
}

void cw_pl_add_counters(cw_pipeline *p, const stage *s)
{
    const cw_batch_counters *cnt = &s->cnt;
    p->stats.batches++;
    p->stats.batch_ops_total += s->n_ops;
    p->stats.embed_calls += cnt->embed_calls;
    p->stats.embed_inputs += cnt->embed_inputs;
    p->stats.embed_ms_total += cnt->embed_ms;
    p->stats.embed_reused += cnt->embed_reused;
    p->stats.upserts_unchanged += cnt->upserts_unchanged;
    p->stats.store_calls += cnt->store_calls;
    p->stats.store_ms_total += cnt->store_ms;
}

static void *writer_main(void *arg)
{
    cw_pipeline *p = arg;

    pthread_mutex_lock(&p->lock);
    for (;;) {
        while (p->writing == NULL && !p->batcher_done)
            pthread_cond_wait(&p->stage_cond, &p->lock);
        stage *s = p->writing;
        if (s == NULL)
            break;                                  /* the batcher is gone */
        pthread_mutex_unlock(&p->lock);

        if (p->cfg.journal != NULL) {
            cw_pl_journal_commit(p, s);             /* settles, counts, frees */
            cw_pl_stage_clear(s);
            pthread_mutex_lock(&p->lock);
            p->writing = NULL;
            pthread_cond_broadcast(&p->stage_cond);
            pthread_cond_broadcast(&p->idle_cond);
            continue;
        }
        cw_error *errs = stage_commit(p, s);
        const cw_batch_counters *cnt = &s->cnt;
        cw_log_debug("pipeline: batch of %zu ops: %llu texts embedded in %llu calls, "
                     "%llu reused, %llu already stored (%zu written anyway: the batch before "
                     "touched them), %lld ms: %s", s->n_ops,
                     (unsigned long long)cnt->embed_inputs, (unsigned long long)cnt->embed_calls,
                     (unsigned long long)cnt->embed_reused,
                     (unsigned long long)cnt->upserts_unchanged, s->distrusted,
                     (long long)(cw_now_ms() - s->t0), cw_status_name(s->err.code));

        cw_request *to_free = NULL;
        pthread_mutex_lock(&p->lock);
        cw_pl_add_counters(p, s);
        for (size_t i = 0; s->requests != NULL; i++) {
            cw_request *r = s->requests;
            s->requests = r->next;
            r->next = NULL;
            if (errs == NULL)
                r->embed_calls = cnt->embed_calls;
            if (request_complete(r, errs != NULL ? &errs[i] : &s->err) != NULL) {
                r->next = to_free;
                to_free = r;
            }
        }
        pthread_mutex_unlock(&p->lock);
        free(errs);
        free_list(to_free);
        cw_pl_stage_clear(s);                             /* the batcher may reuse it now */
        pthread_mutex_lock(&p->lock);
        p->writing = NULL;
        pthread_cond_broadcast(&p->stage_cond);
        pthread_cond_broadcast(&p->idle_cond);
    }
    pthread_mutex_unlock(&p->lock);
    return NULL;
}

/* ---- public API -------------------------------------------------------- */

cw_pipeline *cw_pipeline_create(const cw_pipeline_config *cfg, cw_embedder *embedder,
                                cw_store *store, cw_error *err)
{
    cw_pipeline *p = calloc(1, sizeof *p);
    if (p == NULL) {
        cw_error_set(err, CW_E_NOMEM, "out of memory creating the pipeline");
        return NULL;
    }
    cw_pipeline_config_defaults(&p->cfg);
    if (cfg != NULL) {
        if (cfg->batch_max > 0)
            p->cfg.batch_max = cfg->batch_max;
        p->cfg.batch_linger_ms = cfg->batch_linger_ms > 0 ? cfg->batch_linger_ms : 0;
        if (cfg->workers > 0)
            p->cfg.workers = cfg->workers;
        if (cfg->queue_max > 0)
            p->cfg.queue_max = cfg->queue_max;
        p->cfg.on_accept = cfg->on_accept;
        p->cfg.on_accept_ctx = cfg->on_accept_ctx;
        p->cfg.journal = cfg->journal;
        if (cfg->ack_wait_ms > 0)
            p->cfg.ack_wait_ms = cfg->ack_wait_ms;
        if (cfg->retry_max_ms > 0)
            p->cfg.retry_max_ms = cfg->retry_max_ms;
    }
    p->upsert_target = p->cfg.batch_max * p->cfg.workers;
    p->ops_cap = BATCH_OPS_FACTOR * p->upsert_target;
    p->embedder = embedder;
    p->store = store;

    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->queue_cond, &attr);
    pthread_cond_init(&p->idle_cond, &attr);
    pthread_cond_init(&p->stage_cond, &attr);
    pthread_cond_init(&p->applied_cond, &attr);
    pthread_condattr_destroy(&attr);
    p->sync_ready = 1;
    if (p->cfg.journal != NULL)
        cw_pl_journal_init(p);

    p->pool = cw_embed_pool_create(p->cfg.workers, embedder, err);
    if (p->pool == NULL)
        goto fail;
    int e = pthread_create(&p->writer, NULL, writer_main, p);
    if (e != 0) {
        cw_error_set(err, CW_E_INTERNAL, "cannot start the writer thread: %s", strerror(e));
        goto fail;
    }
    p->writer_started = 1;
    pthread_setname_np(p->writer, "cw-writer");
    e = pthread_create(&p->batcher, NULL,
                       p->cfg.journal != NULL ? cw_pl_journal_batcher_main : batcher_main, p);
    if (e != 0) {
        cw_error_set(err, CW_E_INTERNAL, "cannot start the batcher thread: %s", strerror(e));
        goto fail;
    }
    p->batcher_started = 1;
    pthread_setname_np(p->batcher, "cw-batcher");
    return p;
fail:
    cw_pipeline_destroy(p);
    return NULL;
}

/* Under the lock: wait for `r` until done or the deadline. Returns 0 when
 * done, else -1 with `err` set (the request is failed or abandoned). */
static int wait_done(cw_pipeline *p, cw_request *r, int64_t deadline_ms, cw_error *err)
{
    struct timespec ts = cw_pl_abstime(deadline_ms);
    while (r->state != REQ_DONE) {
        if (cw_now_ms() >= deadline_ms) {
            if (r->state == REQ_QUEUED) {
                queue_unlink(p, r);
                r->state = REQ_DONE;
                r->refs--;                          /* the queue's reference */
                return cw_error_set_retry(err, CW_E_UNAVAILABLE, RETRY_DEADLINE_S,
                                          "deadline exceeded before the request was processed");
            }
            return cw_error_set_retry(err, CW_E_UNAVAILABLE, RETRY_DEADLINE_S,
                                      "deadline exceeded while the request was being written");
        }
        pthread_cond_timedwait(&r->done, &p->lock, &ts);
    }
    return 0;
}

/* Submit; with `take`, release the payload as soon as it is copied and
 * accepted (or refused), before the wait. */
static int submit(cw_pipeline *p, const cw_sync_payload *payload, cw_sync_payload *take,
                  int64_t deadline_ms, cw_pipeline_result *res, cw_error *err)
{
    int rc = -1;
    cw_request *r = NULL;
    cw_request *to_free = NULL;

    memset(res, 0, sizeof *res);
    if (payload->upserts.len == 0 && payload->deletes.len == 0) {
        cw_sync_payload_free(take);
        return 0;
    }
    r = cw_pl_request_create(payload, deadline_ms, err);
    if (r == NULL) {
        cw_sync_payload_free(take);
        return -1;
    }

    pthread_mutex_lock(&p->lock);
    p->callers++;
    if (p->stopping) {
        cw_error_set_retry(err, CW_E_UNAVAILABLE, RETRY_SHUTDOWN_S, "pipeline is shutting down");
        to_free = r;
        goto unlock;
    }
    if (p->queued >= p->cfg.queue_max) {
        cw_error_set_retry(err, CW_E_UNAVAILABLE, RETRY_QUEUE_FULL_S,
                           "pipeline queue full (%zu requests waiting)", p->queued);
        to_free = r;
        goto unlock;
    }
    if (cw_now_ms() >= deadline_ms) {
        cw_error_set_retry(err, CW_E_UNAVAILABLE, RETRY_DEADLINE_S,
                           "deadline exceeded before the request was processed");
        to_free = r;
        goto unlock;
    }
    r->refs = 2;
    if (p->tail != NULL)
        p->tail->next = r;
    else
        p->head = r;
    p->tail = r;
    p->queued++;
    p->queued_ops += r->n_deletes + r->n_upserts;
    p->queued_upserts += r->n_upserts;
    if (p->cfg.on_accept != NULL)
        p->cfg.on_accept(p->cfg.on_accept_ctx, payload);
    pthread_cond_signal(&p->queue_cond);
    if (take != NULL) {
        /* The request holds copies: drop the parsed tree before the wait
         * (r is referenced, and wait_done() sees it finished meanwhile). */
        pthread_mutex_unlock(&p->lock);
        cw_sync_payload_free(take);
        payload = take = NULL;
        pthread_mutex_lock(&p->lock);
    }

    if (wait_done(p, r, deadline_ms, err) == 0) {
        res->embed_calls = r->embed_calls;
        if (r->result.code != CW_OK) {
            cw_error_copy(err, &r->result);
        } else {
            res->upserted = r->n_upserts;
            res->deleted = r->n_deletes;
            rc = 0;
        }
    }
    r->refs--;                                      /* the caller's reference */
    if (r->refs == 0)
        to_free = r;
unlock:
    p->callers--;
    if (p->callers == 0)
        pthread_cond_broadcast(&p->idle_cond);
    pthread_mutex_unlock(&p->lock);
    cw_pl_request_free(to_free);
    cw_sync_payload_free(take);
    return rc;
}

int cw_pipeline_submit(cw_pipeline *p, const cw_sync_payload *payload, int64_t deadline_ms,
                       cw_pipeline_result *res, cw_error *err)
{
    if (p->cfg.journal != NULL)
        return cw_pl_journal_submit(p, payload, NULL, deadline_ms, res, err);
    return submit(p, payload, NULL, deadline_ms, res, err);
}

int cw_pipeline_submit_take(cw_pipeline *p, cw_sync_payload *payload, int64_t deadline_ms,
                            cw_pipeline_result *res, cw_error *err)
{
    if (p->cfg.journal != NULL)
        return cw_pl_journal_submit(p, payload, payload, deadline_ms, res, err);
    return submit(p, payload, payload, deadline_ms, res, err);
}

void cw_pipeline_stats_get(cw_pipeline *p, cw_pipeline_stats *out)
{
    pthread_mutex_lock(&p->lock);
    *out = p->stats;
    out->queue_depth = p->queued;
    out->dead_lettered = p->dead_total;
    out->write_failing = p->write_failing;
    pthread_mutex_unlock(&p->lock);
    if (p->cfg.journal != NULL) {
        out->journaled = 1;
        cw_journal_stats_get(p->cfg.journal, &out->journal);
        out->queue_depth = (size_t)out->journal.backlog_ops;
    }
}

int cw_pipeline_write_health(cw_pipeline *p, int64_t for_ms, char *why, size_t cap)
{
    int ok = 1;
    pthread_mutex_lock(&p->lock);
    if (p->write_failing && cw_now_ms() - p->write_failing_since_ms >= for_ms) {
        ok = 0;
        snprintf(why, cap, "%s", p->write_error);
    }
    pthread_mutex_unlock(&p->lock);
    return ok;
}

void cw_pipeline_shutdown(cw_pipeline *p, int64_t drain_deadline_ms)
{
    cw_request *to_free = NULL;

    if (p == NULL || !p->sync_ready)
        return;
    pthread_mutex_lock(&p->lock);
    if (!p->stopping) {
        p->stopping = 1;
        p->drain_deadline_ms = drain_deadline_ms;
        pthread_cond_broadcast(&p->queue_cond);
        pthread_cond_broadcast(&p->stage_cond);    /* a writer backing off looks again */
        pthread_cond_broadcast(&p->applied_cond);  /* journal waiters answer "accepted" */
    }
    if (p->batcher_started) {
        struct timespec ts = cw_pl_abstime(drain_deadline_ms);
        while ((p->head != NULL || p->busy || p->writing != NULL ||
                (p->cfg.journal != NULL && p->applied_seq < p->journal_seq)) &&
               cw_now_ms() < drain_deadline_ms)
            pthread_cond_timedwait(&p->idle_cond, &p->lock, &ts);
    }
    if (p->cfg.journal != NULL && (p->busy || p->writing != NULL))
        /* Out of time: an embedding call in flight is abandoned (the batch
         * stays journaled); a Chroma write in flight is finished. */
        cw_embedder_cancel(p->embedder);
    if (p->head != NULL)
        cw_log_warn("pipeline: drain deadline passed, failing %zu queued requests", p->queued);
    fail_queued(p, RETRY_SHUTDOWN_S, "pipeline is shutting down", &to_free);
    pthread_mutex_unlock(&p->lock);
    free_list(to_free);

    /* The batcher hands over the batch it holds and exits; the writer
     * finishes the write in flight (never aborted), then exits. */
    if (p->batcher_started && !p->batcher_joined) {
        pthread_join(p->batcher, NULL);
        p->batcher_joined = 1;
    }
    pthread_mutex_lock(&p->lock);
    p->batcher_done = 1;
    pthread_cond_broadcast(&p->stage_cond);
    pthread_mutex_unlock(&p->lock);
    if (p->writer_started && !p->writer_joined) {
        pthread_join(p->writer, NULL);
        p->writer_joined = 1;
    }
}

void cw_pipeline_destroy(cw_pipeline *p)
{
    if (p == NULL)
        return;
    if (p->sync_ready) {
        int stopping;
        pthread_mutex_lock(&p->lock);
        stopping = p->stopping;
        pthread_mutex_unlock(&p->lock);
        if (!stopping || (p->batcher_started && !p->batcher_joined) ||
            (p->writer_started && !p->writer_joined))
            cw_pipeline_shutdown(p, cw_now_ms() + 10000);
        pthread_mutex_lock(&p->lock);
        while (p->callers > 0)
            pthread_cond_wait(&p->idle_cond, &p->lock);
        pthread_mutex_unlock(&p->lock);
    }
    cw_embed_pool_destroy(p->pool);
    if (p->sync_ready) {
        pthread_cond_destroy(&p->applied_cond);
        pthread_cond_destroy(&p->stage_cond);
        pthread_cond_destroy(&p->idle_cond);
        pthread_cond_destroy(&p->queue_cond);
        pthread_mutex_destroy(&p->lock);
    }
    free(p);
}
