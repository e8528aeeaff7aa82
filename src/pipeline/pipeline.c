/* cw_pipeline — the public API, the lifecycle and the synchronous mode's
 * two threads (see pipeline.h). A batch is prepared (coalesced, looked up,
 * embedded) by the batcher and committed by the writer (stage.c over
 * batch.c), so the next batch is embedded while the one before is written
 * to the store; embedding runs on the embed pool (embed_pool.c). Requests
 * and their queue are request.c; the journal mode is apply.c.
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
/* Journal mode: the upserts one Chroma write carries when a backlog allows,
 * sized by measurement rather than by batch_max * workers (128 by default).
 * Chroma 1.0.0 from one writer, 1024-d, on the 2-core bench machine
 * (cw-chroma-ceiling, issue 19): 100 docs/upsert 472 docs/s (1.25 ms of
 * Chroma CPU per doc), 250: 538, 500: 640 (1.06 ms), 1000: 628. A batch
 * still holds only what is pending, so a light load is not delayed. */
#define CW_PL_JOURNAL_WRITE_DOCS 500
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

/* Monotonic absolute time for pthread_cond_timedwait on our conds. */
struct timespec cw_pl_abstime(int64_t deadline_ms)
{
    struct timespec ts;
    ts.tv_sec = (time_t)(deadline_ms / 1000);
    ts.tv_nsec = (long)(deadline_ms % 1000) * 1000000L;
    return ts;
}

/* Under the lock: fail every queued request (shutdown). */
static void fail_queued(cw_pipeline *p, cw_request **to_free)
{
    cw_request_queue_fail_all(&p->queue, RETRY_SHUTDOWN_S, "pipeline is shutting down", to_free);
}

/* ---- the two stages: batcher (prepare) and writer (commit, answer) ---- */

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

    while (p->queue.head != NULL) {
        cw_request *r = p->queue.head;
        size_t r_ops = r->n_deletes + r->n_upserts;
        if (taken > 0 && (ops + r_ops > p->ops_cap ||
                          upserts + r->n_upserts > p->upsert_target))
            break;
        cw_request_queue_unlink(&p->queue, r);
        if (now >= r->deadline_ms) {
            if (cw_request_complete(r, &expired) != NULL) {
                r->next = *to_free;
                *to_free = r;
            }
            continue;
        }
        r->state = CW_REQ_TAKEN;
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

void cw_pl_batcher_prepare(cw_pipeline *p, cw_stage *s, int overlaps, cw_batch_ids *prev)
{
    s->t0 = cw_now_ms();
    cw_batch_env env = cw_pl_batch_env(p);
    cw_stage_prepare(&env, s, overlaps, prev);
    cw_batch_ids_set(prev, s->ops, s->ops != NULL ? s->n_ops : 0);
    if (s->ops == NULL)
        prev->all = 1;
}

void cw_pl_batcher_exit(cw_pipeline *p, cw_batch_ids *prev)
{
    p->busy = 0;
    pthread_cond_broadcast(&p->idle_cond);
    pthread_mutex_unlock(&p->lock);
    cw_batch_ids_clear(prev);
}

static void *batcher_main(void *arg)
{
    cw_pipeline *p = arg;
    cw_batch_ids prev = { 0 };       /* ids of the batch last handed to the writer */
    size_t next_stage = 0;

    pthread_mutex_lock(&p->lock);
    for (;;) {
        cw_request *to_free = NULL;
        while (p->queue.head == NULL && !cw_pl_draining(p))
            pthread_cond_wait(&p->queue_cond, &p->lock);
        if (p->queue.head == NULL)
            break;                                  /* draining, queue empty */
        if (cw_pl_draining(p) && cw_now_ms() >= p->drain_deadline_ms) {
            fail_queued(p, &to_free);
            pthread_mutex_unlock(&p->lock);
            cw_request_free_list(to_free);
            pthread_mutex_lock(&p->lock);
            continue;
        }
        if (!cw_pl_draining(p) && p->cfg.batch_linger_ms > 0) {
            int64_t until = cw_now_ms() + p->cfg.batch_linger_ms;
            struct timespec ts = cw_pl_abstime(until);
            while (!cw_pl_draining(p) && p->queue.upserts < p->upsert_target &&
                   p->queue.ops < p->ops_cap && cw_now_ms() < until)
                pthread_cond_timedwait(&p->queue_cond, &p->lock, &ts);
        }
        size_t n_ops = 0;
        cw_request *batch = take_batch(p, &n_ops, &to_free);
        if (batch == NULL) {
            pthread_mutex_unlock(&p->lock);
            cw_request_free_list(to_free);
            pthread_mutex_lock(&p->lock);
            continue;
        }
        /* The writer is done with the other stage (see the handover below). */
        cw_stage *s = &p->stages[next_stage];
        next_stage ^= 1;
        s->requests = batch;
        s->n_ops = n_ops;
        int overlaps = p->writing != NULL;
        p->busy = 1;
        pthread_mutex_unlock(&p->lock);
        cw_request_free_list(to_free);
        cw_metrics_batch(n_ops);

        cw_pl_batcher_prepare(p, s, overlaps, &prev);

        /* Hand over once the writer has answered the batch before: one
         * batch written while one is prepared, never more. */
        pthread_mutex_lock(&p->lock);
        while (p->writing != NULL)
            pthread_cond_wait(&p->stage_cond, &p->lock);
        p->writing = s;
        p->busy = 0;
        pthread_cond_broadcast(&p->stage_cond);
    }
    cw_pl_batcher_exit(p, &prev);
    return NULL;
}

static void *writer_main(void *arg)
{
    cw_pipeline *p = arg;

    pthread_mutex_lock(&p->lock);
    for (;;) {
        while (p->writing == NULL && !p->batcher_done)
            pthread_cond_wait(&p->stage_cond, &p->lock);
        cw_stage *s = p->writing;
        if (s == NULL)
            break;                                  /* the batcher is gone */
        pthread_mutex_unlock(&p->lock);

        if (p->cfg.journal != NULL) {
            cw_pl_journal_commit(p, s);             /* settles, counts, frees */
            cw_stage_clear(s);
            pthread_mutex_lock(&p->lock);
            p->writing = NULL;
            pthread_cond_broadcast(&p->stage_cond);
            pthread_cond_broadcast(&p->idle_cond);
            continue;
        }
        cw_batch_env env = cw_pl_batch_env(p);
        cw_error *errs = cw_stage_commit(&env, s);
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
        cw_stage_add_counters(&p->stats, s);
        for (size_t i = 0; s->requests != NULL; i++) {
            cw_request *r = s->requests;
            s->requests = r->next;
            r->next = NULL;
            if (errs == NULL)
                r->embed_calls = cnt->embed_calls;
            if (cw_request_complete(r, errs != NULL ? &errs[i] : &s->err) != NULL) {
                r->next = to_free;
                to_free = r;
            }
        }
        pthread_mutex_unlock(&p->lock);
        free(errs);
        cw_request_free_list(to_free);
        cw_stage_clear(s);                             /* the batcher may reuse it now */
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
    p->journal_upserts = p->upsert_target > CW_PL_JOURNAL_WRITE_DOCS ? p->upsert_target
                                                                     : CW_PL_JOURNAL_WRITE_DOCS;
    p->journal_ops_cap = BATCH_OPS_FACTOR * p->journal_upserts;
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
    p->state = CW_PL_RUNNING;
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
    while (r->state != CW_REQ_DONE) {
        if (cw_now_ms() >= deadline_ms) {
            if (r->state == CW_REQ_QUEUED) {
                cw_request_queue_unlink(&p->queue, r);
                r->state = CW_REQ_DONE;
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
static int submit(cw_pipeline *p, const char *cluster, const cw_sync_payload *payload,
                  cw_sync_payload *take, int64_t deadline_ms, cw_pipeline_result *res,
                  cw_error *err)
{
    int rc = -1;
    cw_request *r = NULL;
    cw_request *to_free = NULL;

    memset(res, 0, sizeof *res);
    if (payload->upserts.len == 0 && payload->deletes.len == 0) {
        cw_sync_payload_free(take);
        return 0;
    }
    r = cw_request_create_in(payload, cluster, deadline_ms, err);
    if (r == NULL) {
        cw_sync_payload_free(take);
        return -1;
    }

    pthread_mutex_lock(&p->lock);
    p->callers++;
    if (cw_pl_draining(p)) {
        cw_error_set_retry(err, CW_E_UNAVAILABLE, RETRY_SHUTDOWN_S, "pipeline is shutting down");
        to_free = r;
        goto unlock;
    }
    if (p->queue.count >= p->cfg.queue_max) {
        cw_error_set_retry(err, CW_E_UNAVAILABLE, RETRY_QUEUE_FULL_S,
                           "pipeline queue full (%zu requests waiting)", p->queue.count);
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
    cw_request_queue_push(&p->queue, r);
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
    cw_request_free(to_free);
    cw_sync_payload_free(take);
    return rc;
}

int cw_pipeline_submit(cw_pipeline *p, const cw_sync_payload *payload, int64_t deadline_ms,
                       cw_pipeline_result *res, cw_error *err)
{
    return cw_pipeline_submit_in(p, NULL, payload, deadline_ms, res, err);
}

int cw_pipeline_submit_take(cw_pipeline *p, cw_sync_payload *payload, int64_t deadline_ms,
                            cw_pipeline_result *res, cw_error *err)
{
    return cw_pipeline_submit_take_in(p, NULL, payload, deadline_ms, res, err);
}

int cw_pipeline_submit_in(cw_pipeline *p, const char *cluster, const cw_sync_payload *payload,
                          int64_t deadline_ms, cw_pipeline_result *res, cw_error *err)
{
    if (p->cfg.journal != NULL)
        return cw_pl_journal_submit(p, cluster, payload, NULL, deadline_ms, res, err);
    return submit(p, cluster, payload, NULL, deadline_ms, res, err);
}

int cw_pipeline_submit_take_in(cw_pipeline *p, const char *cluster, cw_sync_payload *payload,
                               int64_t deadline_ms, cw_pipeline_result *res, cw_error *err)
{
    if (p->cfg.journal != NULL)
        return cw_pl_journal_submit(p, cluster, payload, payload, deadline_ms, res, err);
    return submit(p, cluster, payload, payload, deadline_ms, res, err);
}

void cw_pipeline_stats_get(cw_pipeline *p, cw_pipeline_stats *out)
{
    pthread_mutex_lock(&p->lock);
    *out = p->stats;
    out->queue_depth = p->queue.count;
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

    if (p == NULL || p->state == CW_PL_NEW)
        return;
    pthread_mutex_lock(&p->lock);
    if (p->state == CW_PL_STOPPED) {
        pthread_mutex_unlock(&p->lock);
        return;
    }
    if (p->state == CW_PL_RUNNING) {
        p->state = CW_PL_DRAINING;
        p->drain_deadline_ms = drain_deadline_ms;
        pthread_cond_broadcast(&p->queue_cond);
        pthread_cond_broadcast(&p->stage_cond);    /* a writer backing off looks again */
        pthread_cond_broadcast(&p->applied_cond);  /* journal waiters answer "accepted" */
    }
    if (p->batcher_started) {
        struct timespec ts = cw_pl_abstime(drain_deadline_ms);
        while ((p->queue.head != NULL || p->busy || p->writing != NULL ||
                (p->cfg.journal != NULL && p->applied_seq < p->journal_seq)) &&
               cw_now_ms() < drain_deadline_ms)
            pthread_cond_timedwait(&p->idle_cond, &p->lock, &ts);
    }
    if (p->cfg.journal != NULL && (p->busy || p->writing != NULL))
        /* Out of time: an embedding call in flight is abandoned (the batch
         * stays journaled); a Chroma write in flight is finished. */
        cw_embedder_cancel(p->embedder);
    if (p->queue.head != NULL)
        cw_log_warn("pipeline: drain deadline passed, failing %zu queued requests", p->queue.count);
    fail_queued(p, &to_free);
    pthread_mutex_unlock(&p->lock);
    cw_request_free_list(to_free);

    /* The batcher hands over the batch it holds and exits; the writer
     * finishes the write in flight (never aborted), then exits. */
    if (p->batcher_started)
        pthread_join(p->batcher, NULL);
    pthread_mutex_lock(&p->lock);
    p->batcher_done = 1;
    pthread_cond_broadcast(&p->stage_cond);
    pthread_mutex_unlock(&p->lock);
    if (p->writer_started)
        pthread_join(p->writer, NULL);
    pthread_mutex_lock(&p->lock);
    p->state = CW_PL_STOPPED;
    pthread_mutex_unlock(&p->lock);
}

void cw_pipeline_destroy(cw_pipeline *p)
{
    if (p == NULL)
        return;
    if (p->state != CW_PL_NEW) {
        cw_pipeline_shutdown(p, cw_now_ms() + 10000);     /* no-op once STOPPED */
        pthread_mutex_lock(&p->lock);
        while (p->callers > 0)
            pthread_cond_wait(&p->idle_cond, &p->lock);
        pthread_mutex_unlock(&p->lock);
    }
    cw_embed_pool_destroy(p->pool);
    if (p->state != CW_PL_NEW) {
        pthread_cond_destroy(&p->applied_cond);
        pthread_cond_destroy(&p->stage_cond);
        pthread_cond_destroy(&p->idle_cond);
        pthread_cond_destroy(&p->queue_cond);
        pthread_mutex_destroy(&p->lock);
    }
    free(p);
}
