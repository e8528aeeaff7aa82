/* The pipeline's journal mode (DESIGN §6a; see pipeline.h): the submit
 * side (append, then wait at most ack_wait_ms), the batcher reading the
 * journal in order, and the writer's commit of one batch — retried with
 * capped backoff until it is applied, isolated request by request when one
 * request may be the cause, and settled in the journal.
 *
 * Order: the batcher loads operations in seq order, so batch N+1 holds
 * only operations after those of batch N, and the writer applies batch N
 * (however many tries it takes) before it looks at N+1. A batch partly
 * applied before a crash is applied again in full on restart: every
 * operation is idempotent and within a batch the last one per id wins, so
 * the end state is the same.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cw_log.h"
#include "cw_metrics.h"
#include "cw_time.h"
#include "pipeline_internal.h"

#define RETRY_SHUTDOWN_S 2
#define BACKOFF_FIRST_MS 100
#define REFUSED_TRIES_MAX 5   /* CW_E_INTERNAL alone this often in a row: dead letter */

/* Under the lock. */
static int past_drain(const cw_pipeline *p)
{
    return cw_pl_draining(p) && cw_now_ms() >= p->drain_deadline_ms;
}

void cw_pl_journal_init(cw_pipeline *p)
{
    cw_journal_stats js;
    cw_journal_stats_get(p->cfg.journal, &js);
    p->journal_seq = js.last_seq;
    p->loaded_seq = js.first_unapplied > 0 ? js.first_unapplied - 1 : js.last_seq;
    p->applied_seq = p->loaded_seq;
    if (js.backlog_ops > 0)
        cw_log_info("journal %s: %llu operations (%llu bytes) not yet applied: replaying them",
                    cw_journal_path(p->cfg.journal), (unsigned long long)js.backlog_ops,
                    (unsigned long long)js.backlog_bytes);
}

/* ---- submit ------------------------------------------------------------ */

int cw_pl_journal_submit(cw_pipeline *p, const char *cluster, const cw_sync_payload *payload,
                         cw_sync_payload *take, int64_t deadline_ms, cw_pipeline_result *res,
                         cw_error *err)
{
    int rc = -1;
    cw_request *r = NULL;
    int64_t first = 0, last = 0;

    memset(res, 0, sizeof *res);
    if (payload->upserts.len == 0 && payload->deletes.len == 0)
        goto out;                               /* rc 0 below */
    r = cw_request_create_in(payload, cluster, deadline_ms, err);
    if (r == NULL)
        goto out;

    pthread_mutex_lock(&p->lock);
    int stopping = cw_pl_draining(p);
    if (!stopping)
        p->callers++;
    pthread_mutex_unlock(&p->lock);
    if (stopping) {
        cw_error_set_retry(err, CW_E_UNAVAILABLE, RETRY_SHUTDOWN_S, "pipeline is shutting down");
        goto out;
    }
    int appended = cw_journal_append_in(p->cfg.journal, r->cluster, r->deletes, r->n_deletes,
                                        r->upserts, r->n_upserts, &first, &last, err);
    pthread_mutex_lock(&p->lock);
    if (appended == 0) {
        if (p->cfg.on_accept != NULL)
            p->cfg.on_accept(p->cfg.on_accept_ctx, payload);
        if (last > p->journal_seq)
            p->journal_seq = last;
        pthread_cond_signal(&p->queue_cond);
    }
    pthread_mutex_unlock(&p->lock);
    /* Durable now: the parsed tree is not needed for the wait. */
    cw_sync_payload_free(take);
    take = NULL;
    pthread_mutex_lock(&p->lock);
    if (appended == 0) {
        int64_t until = cw_now_ms() + p->cfg.ack_wait_ms;
        if (until > deadline_ms)
            until = deadline_ms;
        struct timespec ts = cw_pl_abstime(until);
        uint64_t dead_before = p->dead_total;
        while (p->applied_seq < last && !cw_pl_draining(p) && cw_now_ms() < until)
            pthread_cond_timedwait(&p->applied_cond, &p->lock, &ts);
        res->accepted = p->applied_seq < last;
        res->upserted = r->n_upserts;
        res->deleted = r->n_deletes;
        res->journaled = r->n_upserts + r->n_deletes;
        int check_dead = !res->accepted && p->dead_total != dead_before;
        pthread_mutex_unlock(&p->lock);
        if (check_dead) {
            int64_t dead = cw_journal_dead_in_range(p->cfg.journal, first, last);
            if (dead > 0)
                res->dead_lettered = (size_t)dead;
        }
        rc = 0;
        pthread_mutex_lock(&p->lock);
    }
    p->callers--;
    if (p->callers == 0)
        pthread_cond_broadcast(&p->idle_cond);
    pthread_mutex_unlock(&p->lock);
out:
    if (r == NULL && err->code == CW_OK)
        rc = 0;                                 /* the empty payload */
    cw_request_free(r);
    cw_sync_payload_free(take);
    return rc;
}

/* ---- the batcher -------------------------------------------------------- */

/* A loaded chunk as a request of the batch (takes the chunk's arrays). */
static cw_request *request_from_chunk(cw_journal_chunk *k)
{
    cw_request *r = cw_request_new();
    if (r == NULL)
        return NULL;
    r->state = CW_REQ_TAKEN;
    r->refs = 1;
    r->deletes = k->deletes;
    r->n_deletes = k->n_deletes;
    r->upserts = k->upserts;
    r->n_upserts = k->n_upserts;
    r->first_seq = k->first_seq;
    r->last_seq = k->last_seq;
    k->deletes = NULL;
    k->n_deletes = 0;
    k->upserts = NULL;
    k->n_upserts = 0;
    return r;
}

/* Load the next batch after `after` into `s`. Returns 1 when it holds
 * one, 0 when nothing was pending, -1 on a load failure (logged). */
static int load_stage(cw_pipeline *p, cw_stage *s, int64_t after)
{
    cw_journal_chunks chunks;
    cw_error err;
    cw_error_clear(&err);
    if (cw_journal_load(p->cfg.journal, after, p->journal_ops_cap, p->journal_upserts, &chunks, &err) != 0) {
        cw_log_error("pipeline: cannot read the journal: %s", err.msg);
        return -1;
    }
    cw_request *head = NULL, **tail = &head;
    size_t n_ops = 0;
    for (size_t i = 0; i < chunks.len; i++) {
        cw_request *r = request_from_chunk(&chunks.items[i]);
        if (r == NULL) {
            cw_log_error("pipeline: out of memory loading the journal");
            cw_request_free_list(head);
            cw_journal_chunks_clear(&chunks);
            return -1;
        }
        n_ops += r->n_deletes + r->n_upserts;
        *tail = r;
        tail = &r->next;
    }
    s->requests = head;
    s->n_ops = n_ops;
    s->last_seq = chunks.last_seq;
    cw_journal_chunks_clear(&chunks);
    return head != NULL ? 1 : 0;
}

void *cw_pl_journal_batcher_main(void *arg)
{
    cw_pipeline *p = arg;
    cw_batch_ids prev = { 0 };
    size_t next_stage = 0;

    pthread_mutex_lock(&p->lock);
    for (;;) {
        while (p->journal_seq <= p->loaded_seq && !cw_pl_draining(p))
            pthread_cond_wait(&p->queue_cond, &p->lock);
        if (p->journal_seq <= p->loaded_seq || past_drain(p))
            break;                       /* stopping: drained, or out of time */
        if (!cw_pl_draining(p) && p->cfg.batch_linger_ms > 0) {
            int64_t until = cw_now_ms() + p->cfg.batch_linger_ms;
            struct timespec ts = cw_pl_abstime(until);
            while (!cw_pl_draining(p) && (size_t)(p->journal_seq - p->loaded_seq) < p->upsert_target &&
                   cw_now_ms() < until)
                pthread_cond_timedwait(&p->queue_cond, &p->lock, &ts);
        }
        cw_stage *s = &p->stages[next_stage];
        int overlaps = p->writing != NULL;
        int64_t after = p->loaded_seq;
        p->busy = 1;
        pthread_mutex_unlock(&p->lock);

        int got = load_stage(p, s, after);
        if (got <= 0) {
            pthread_mutex_lock(&p->lock);
            p->busy = 0;
            if (got == 0) {
                /* journal_seq ran ahead of what is on disk: an append that
                 * failed after its seq was noted. Nothing to load. */
                p->loaded_seq = p->journal_seq;
            } else {
                struct timespec ts = cw_pl_abstime(cw_now_ms() + 1000);
                pthread_cond_timedwait(&p->queue_cond, &p->lock, &ts);
            }
            pthread_cond_broadcast(&p->idle_cond);
            continue;
        }
        next_stage ^= 1;
        cw_metrics_batch(s->n_ops);
        cw_pl_batcher_prepare(p, s, overlaps, &prev);

        pthread_mutex_lock(&p->lock);
        p->loaded_seq = s->last_seq;
        while (p->writing != NULL)
            pthread_cond_wait(&p->stage_cond, &p->lock);
        if (past_drain(p)) {
            /* Out of time: leave it in the journal for the next start. */
            pthread_mutex_unlock(&p->lock);
            cw_request_free_list(s->requests);
            s->requests = NULL;
            cw_stage_clear(s);
            pthread_mutex_lock(&p->lock);
            p->busy = 0;
            break;
        }
        p->writing = s;
        p->busy = 0;
        pthread_cond_broadcast(&p->stage_cond);
    }
    cw_pl_batcher_exit(p, &prev);
    return NULL;
}

/* ---- the writer ---------------------------------------------------------- */

/* Under the lock: remember how the last write went, for /readyz. */
static void note_write(cw_pipeline *p, int ok, const cw_error *err)
{
    if (ok) {
        p->write_failing = 0;
        return;
    }
    if (!p->write_failing)
        p->write_failing_since_ms = cw_now_ms();
    p->write_failing = 1;
    snprintf(p->write_error, sizeof p->write_error, "%s", err->msg);
}

/* Settle through `through` (dead[] ranges to the dead letters), then move
 * the applied mark so waiting callers are answered. */
static void settle(cw_pipeline *p, int64_t through, const cw_journal_dead *dead, size_t n_dead,
                   size_t dead_ops)
{
    cw_error err;
    cw_error_clear(&err);
    for (int tries = 0; tries < 3; tries++) {
        cw_error_clear(&err);
        if (cw_journal_settle(p->cfg.journal, through, dead, n_dead, &err) == 0)
            break;
    }
    if (err.code != CW_OK)
        /* Applied all the same: a restart applies these ops again (they are
         * idempotent), the answers below are true. */
        cw_log_error("pipeline: cannot mark operations up to %lld applied in the journal: %s",
                     (long long)through, err.msg);
    pthread_mutex_lock(&p->lock);
    if (through > p->applied_seq)
        p->applied_seq = through;
    p->dead_total += dead_ops;
    pthread_cond_broadcast(&p->applied_cond);
    pthread_cond_broadcast(&p->idle_cond);
    pthread_mutex_unlock(&p->lock);
}

static int isolatable(cw_status code)
{
    return code == CW_E_CONFIG || code == CW_E_INTERNAL;
}

/* The batch failed for a reason that may be one request's: apply its
 * requests one at a time, in order. One that fails so while another of
 * them is applied is refused for good (dead letter); a transient failure
 * stops the run there. Returns 1 when every request of `s` is settled,
 * 0 when some remain in `s` to be tried again (none was applied, or a
 * transient failure stopped the run; those before it are settled). */
static int isolate(cw_pipeline *p, cw_stage *s)
{
    cw_batch_env env = cw_pl_batch_env(p);
    size_t n = 0;
    for (cw_request *r = s->requests; r != NULL; r = r->next)
        n++;
    cw_error *errs = calloc(n, sizeof *errs);
    cw_journal_dead *dead = calloc(n, sizeof *dead);
    if (errs == NULL || dead == NULL) {
        free(errs);
        free(dead);
        return 0;
    }
    cw_log_warn("pipeline: a batch of %zu journaled requests failed (%s); applying them one by one",
                n, s->err.msg);
    size_t i = 0, n_ok = 0, n_dead = 0, dead_ops = 0;
    cw_request *last_done = NULL;
    for (cw_request *r = s->requests; r != NULL; r = r->next, i++) {
        cw_request *next = r->next;
        r->next = NULL;
        cw_stage_run_requests(&env, r, cw_request_ops(r), &s->cnt, &errs[i]);
        r->next = next;
        if (errs[i].code != CW_OK && !isolatable(errs[i].code))
            break;                              /* transient: stop here */
        if (errs[i].code == CW_OK)
            n_ok++;
        last_done = r;
    }
    int all = 0;
    if (n_ok > 0) {
        i = 0;
        for (cw_request *r = s->requests; r != NULL; r = r->next, i++) {
            if (errs[i].code != CW_OK && isolatable(errs[i].code)) {
                dead[n_dead].first_seq = r->first_seq;
                dead[n_dead].last_seq = r->last_seq;
                dead[n_dead].reason = errs[i].msg;
                dead_ops += r->n_deletes + r->n_upserts;
                n_dead++;
                cw_log_error("pipeline: %zu journaled operations (seq %lld-%lld) refused for good, "
                             "kept as dead letters: %s", r->n_deletes + r->n_upserts,
                             (long long)r->first_seq, (long long)r->last_seq, errs[i].msg);
            }
            if (r == last_done)
                break;
        }
        settle(p, last_done->last_seq, dead, n_dead, dead_ops);
        all = last_done->next == NULL;
        if (!all)
            cw_stage_drop_through(s, last_done);
    }
    free(errs);
    free(dead);
    return all;
}

/* Sleep `ms` unless shutdown's drain deadline comes first. Under no lock. */
static void backoff(cw_pipeline *p, int64_t ms)
{
    int64_t until = cw_now_ms() + ms;
    struct timespec ts = cw_pl_abstime(until);
    pthread_mutex_lock(&p->lock);
    while (cw_now_ms() < until && !past_drain(p))
        pthread_cond_timedwait(&p->stage_cond, &p->lock, &ts);
    pthread_mutex_unlock(&p->lock);
}

void cw_pl_journal_commit(cw_pipeline *p, cw_stage *s)
{
    cw_batch_env env = cw_pl_batch_env(p);
    int64_t delay = BACKOFF_FIRST_MS;

    for (unsigned attempt = 0;; attempt++) {
        pthread_mutex_lock(&p->lock);
        int out_of_time = past_drain(p);
        pthread_mutex_unlock(&p->lock);
        if (out_of_time) {
            cw_log_warn("pipeline: drain deadline passed; operations from seq %lld on stay in the "
                        "journal for the next start", (long long)(s->requests != NULL
                                                                  ? s->requests->first_seq : 0));
            break;
        }
        if (s->prepared == NULL && s->ops == NULL) {
            /* Trimmed, or a failed try: list and prepare again (the store
             * get sees what the tries before wrote). */
            cw_stage_prepare(&env, s, 0, NULL);
        } else if (s->prepared == NULL && attempt > 0) {
            cw_stage_prepare_again(&env, s);
        }
        int wrote = cw_stage_write(&env, s);
        pthread_mutex_lock(&p->lock);
        if (wrote)
            note_write(p, s->err.code == CW_OK, &s->err);
        if (s->err.code != CW_OK)
            p->stats.apply_errors[s->err.code]++;
        pthread_mutex_unlock(&p->lock);

        if (s->err.code == CW_OK) {
            settle(p, s->last_seq, NULL, 0, 0);
            break;
        }
        int several = s->requests != NULL && s->requests->next != NULL;
        if (isolatable(s->err.code) && several) {
            if (isolate(p, s))
                break;
            if (s->requests == NULL)
                break;
        } else if (s->err.code == CW_E_INTERNAL && ++s->refused_attempts >= REFUSED_TRIES_MAX) {
            /* Alone and refused every time: a dead letter, not forever. */
            cw_request *r = s->requests;
            cw_journal_dead d = { r->first_seq, r->last_seq, s->err.msg };
            cw_log_error("pipeline: %zu journaled operations (seq %lld-%lld) refused %u times, "
                         "kept as dead letters: %s", r->n_deletes + r->n_upserts,
                         (long long)r->first_seq, (long long)r->last_seq, s->refused_attempts,
                         s->err.msg);
            settle(p, r->last_seq, &d, 1, r->n_deletes + r->n_upserts);
            if (r->next == NULL)
                break;
            cw_stage_drop_through(s, r);
            s->refused_attempts = 0;
        } else {
            if (attempt == 0 || attempt % 10 == 0)
                cw_log_warn("pipeline: applying %zu journaled operations failed (try %u), "
                            "retrying: %s", s->n_ops, attempt + 1, s->err.msg);
        }
        backoff(p, delay);
        delay = delay * 2 > p->cfg.retry_max_ms ? p->cfg.retry_max_ms : delay * 2;
        cw_error_clear(&s->err);
        cw_batch_free(s->prepared);
        s->prepared = NULL;
        s->overlapped = 0;
    }
    pthread_mutex_lock(&p->lock);
    cw_stage_add_counters(&p->stats, s);
    pthread_mutex_unlock(&p->lock);
    cw_request_free_list(s->requests);
    s->requests = NULL;
}
