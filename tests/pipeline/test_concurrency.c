/* The pipeline under concurrent callers: queue bound, deadlines, shutdown,
 * ordering across threads. Ordering is made deterministic with the fake
 * store's gate (writes block until the test opens it), never with sleeps. */
#include "cw_test.h"
#include "pfixture.h"
#include "tests.h"

void test_queue_full(void)
{
    fixture fx;
    cw_pipeline_config cfg;
    cw_pipeline_config_defaults(&cfg);
    cfg.queue_max = 2;
    fx_start(&fx, DIM, &cfg);
    submitter a, b, c;
    fx_hold(&fx, &a, "+a", 0);
    submitter_start(&b, fx.p, "+b", FAR_MS);
    submitter_start(&c, fx.p, "+c", FAR_MS);
    fx_wait_queued(&fx, 2);

    cw_pipeline_result res;
    cw_error err;
    CU_ASSERT_EQUAL(fx_submit(&fx, "+d", FAR_MS, &res, &err), -1);
    CU_ASSERT_EQUAL(err.code, CW_E_UNAVAILABLE);
    CU_ASSERT_EQUAL(err.retry_after_s, 1);
    CU_ASSERT_STRING_EQUAL(err.msg, "pipeline queue full (2 requests waiting)");
    CU_ASSERT_EQUAL(cw_status_http(err.code), 503);

    fx_release(&fx);
    submitter_join(&a);
    submitter_join(&b);
    submitter_join(&c);
    CU_ASSERT_EQUAL(a.rc, 0);
    CU_ASSERT_EQUAL(b.rc, 0);
    CU_ASSERT_EQUAL(c.rc, 0);
    CU_ASSERT(fx_stored_as(&fx, "b", "b"));
    CU_ASSERT(fx_stored_as(&fx, "c", "c"));
    CU_ASSERT_EQUAL(fake_store_count(fx.store), 3);
    /* room again */
    CU_ASSERT_EQUAL(fx_submit(&fx, "+d", FAR_MS, &res, &err), 0);
    CU_ASSERT(fx_stored_as(&fx, "d", "d"));
    fx_stop(&fx);
}

void test_deadline_while_queued(void)
{
    fixture fx;
    fx_start(&fx, DIM, NULL);
    submitter a;
    fx_hold(&fx, &a, "+a", 0);

    cw_pipeline_result res;
    cw_error err;
    CU_ASSERT_EQUAL(fx_submit(&fx, "-a +b", cw_now_ms() + 30, &res, &err), -1);
    CU_ASSERT_EQUAL(err.code, CW_E_UNAVAILABLE);
    CU_ASSERT_EQUAL(err.retry_after_s, 1);
    CU_ASSERT_STRING_EQUAL(err.msg, "deadline exceeded before the request was processed");
    cw_pipeline_stats st;
    cw_pipeline_stats_get(fx.p, &st);
    CU_ASSERT_EQUAL(st.queue_depth, 0);
    /* already past: refused at once */
    CU_ASSERT_EQUAL(fx_submit(&fx, "+c", cw_now_ms() - 1, &res, &err), -1);
    CU_ASSERT_STRING_EQUAL(err.msg, "deadline exceeded before the request was processed");

    fx_release(&fx);
    submitter_join(&a);
    CU_ASSERT_EQUAL(a.rc, 0);
    cw_pipeline_shutdown(fx.p, cw_now_ms() + 10000);
    fx_assert_log(&fx, "get(a) upsert(a)");       /* b never written, a not deleted */
    CU_ASSERT(fx_stored_as(&fx, "a", "a"));
    CU_ASSERT_EQUAL(fake_store_count(fx.store), 1);
    fx_stop(&fx);
}

void test_deadline_while_writing(void)
{
    fixture fx;
    fx_start(&fx, DIM, NULL);
    submitter a;
    fake_store_gate(fx.store, 1);
    /* the write will block past a's deadline; a's thread frees its payload
     * as soon as submit returns, while the write is still pending */
    submitter_start(&a, fx.p, "-old +a:slow", cw_now_ms() + 500);
    fake_store_wait_entered(fx.store, 1);
    submitter_join(&a);
    CU_ASSERT_EQUAL(a.rc, -1);
    CU_ASSERT_EQUAL(a.err.code, CW_E_UNAVAILABLE);
    CU_ASSERT_EQUAL(a.err.retry_after_s, 1);
    CU_ASSERT_STRING_EQUAL(a.err.msg, "deadline exceeded while the request was being written");

    fake_store_gate(fx.store, 0);
    cw_pipeline_shutdown(fx.p, cw_now_ms() + 10000);   /* waits for the write */
    fx_assert_log(&fx, "get(a) remove(old) upsert(a)");
    CU_ASSERT(fx_stored_as(&fx, "a", "slow"));
    fx_stop(&fx);
}

void test_shutdown_drains(void)
{
    fixture fx;
    fx_start(&fx, DIM, NULL);
    submitter a, b, c;
    fx_hold(&fx, &a, "+a", 0);
    submitter_start(&b, fx.p, "+b", FAR_MS);
    fx_wait_queued(&fx, 1);
    submitter_start(&c, fx.p, "-a +c", FAR_MS);
    fx_wait_queued(&fx, 2);

    fx_release(&fx);
    cw_pipeline_shutdown(fx.p, cw_now_ms() + 30000);
    submitter_join(&a);
    submitter_join(&b);
    submitter_join(&c);
    CU_ASSERT_EQUAL(a.rc, 0);
    CU_ASSERT_EQUAL(b.rc, 0);
    CU_ASSERT_EQUAL(c.rc, 0);
    CU_ASSERT_EQUAL(fake_store_count(fx.store), 2);
    CU_ASSERT(fx_stored_as(&fx, "b", "b"));
    CU_ASSERT(fx_stored_as(&fx, "c", "c"));

    cw_pipeline_result res;
    cw_error err;
    CU_ASSERT_EQUAL(fx_submit(&fx, "+d", FAR_MS, &res, &err), -1);
    CU_ASSERT_STRING_EQUAL(err.msg, "pipeline is shutting down");
    cw_pipeline_shutdown(fx.p, cw_now_ms() + 1000);   /* twice is fine */
    fx_stop(&fx);
}

typedef struct shutdown_arg {
    cw_pipeline *p;
    int64_t deadline_ms;
    pthread_t thread;
} shutdown_arg;

static void *shutdown_main(void *arg)
{
    shutdown_arg *s = arg;
    cw_pipeline_shutdown(s->p, s->deadline_ms);
    return NULL;
}

void test_shutdown_deadline_fails_queued(void)
{
    fixture fx;
    fx_start(&fx, DIM, NULL);
    submitter a, b, c;
    fake_store_gate(fx.store, 1);
    submitter_start(&a, fx.p, "+a", FAR_MS);
    fake_store_wait_entered(fx.store, 1);        /* a is being written */
    fake_store_gate_gets(fx.store, 1);
    submitter_start(&b, fx.p, "+b", FAR_MS);
    fake_store_wait_gets(fx.store, 2);           /* b is being prepared */
    submitter_start(&c, fx.p, "+c", FAR_MS);
    fx_wait_queued(&fx, 1);

    /* the write of a and the preparing of b outlast the drain deadline: c
     * is failed at the deadline; a's write is still finished (never
     * aborted), and b, already taken, is written after it */
    shutdown_arg s = { fx.p, cw_now_ms() + 50, 0 };
    CU_ASSERT_EQUAL_FATAL(pthread_create(&s.thread, NULL, shutdown_main, &s), 0);
    submitter_join(&c);
    CU_ASSERT_EQUAL(c.rc, -1);
    CU_ASSERT_EQUAL(c.err.code, CW_E_UNAVAILABLE);
    CU_ASSERT_EQUAL(c.err.retry_after_s, 2);
    CU_ASSERT_STRING_EQUAL(c.err.msg, "pipeline is shutting down");

    fx_release(&fx);
    pthread_join(s.thread, NULL);
    submitter_join(&a);
    submitter_join(&b);
    CU_ASSERT_EQUAL(a.rc, 0);
    CU_ASSERT_EQUAL(b.rc, 0);
    fx_assert_log_split(&fx, "get(a) get(b)", "upsert(a) upsert(b)");
    CU_ASSERT_EQUAL(fake_store_count(fx.store), 2);
    fx_stop(&fx);
}

/* ---- many callers ------------------------------------------------------ */

#define N_THREADS 32
#define N_REQS 5

typedef struct caller {
    cw_pipeline *p;
    int t;
    int failures;
    pthread_t thread;
} caller;

static void *unique_ids_main(void *arg)
{
    caller *c = arg;
    for (int i = 0; i < N_REQS; i++) {
        char spec[128];
        snprintf(spec, sizeof spec, "+t%di%dk0 +t%di%dk1 +t%di%dk2", c->t, i, c->t, i, c->t, i);
        cw_sync_payload *payload = tp_new(spec);
        cw_pipeline_result res;
        cw_error err;
        cw_error_clear(&err);
        if (cw_pipeline_submit(c->p, payload, FAR_MS, &res, &err) != 0 || res.upserted != 3)
            c->failures++;
        tp_free(payload);
    }
    return NULL;
}

void test_many_threads_unique_ids(void)
{
    fixture fx;
    fx_start(&fx, DIM, NULL);
    fake_embedder_sleep(fx.emb, 20);     /* slow provider: requests pile up */
    caller c[N_THREADS];
    for (int t = 0; t < N_THREADS; t++) {
        c[t] = (caller){ .p = fx.p, .t = t };
        CU_ASSERT_EQUAL_FATAL(pthread_create(&c[t].thread, NULL, unique_ids_main, &c[t]), 0);
    }
    int failures = 0;
    for (int t = 0; t < N_THREADS; t++) {
        pthread_join(c[t].thread, NULL);
        failures += c[t].failures;
    }
    CU_ASSERT_EQUAL(failures, 0);
    CU_ASSERT_EQUAL(fake_store_count(fx.store), N_THREADS * N_REQS * 3);
    int missing = 0;
    for (int t = 0; t < N_THREADS; t++) {
        for (int i = 0; i < N_REQS; i++) {
            for (int k = 0; k < 3; k++) {
                char id[32];
                snprintf(id, sizeof id, "t%di%dk%d", t, i, k);
                missing += !fx_stored_as(&fx, id, id);
            }
        }
    }
    CU_ASSERT_EQUAL(missing, 0);
    cw_pipeline_stats st;
    cw_pipeline_stats_get(fx.p, &st);
    size_t requests = N_THREADS * N_REQS;
    CU_ASSERT_EQUAL(fake_embedder_inputs(fx.emb), requests * 3);
    /* coalesced: far fewer embedding calls (and batches) than requests */
    CU_ASSERT(fake_embedder_calls(fx.emb) * 4 <= requests);
    CU_ASSERT(st.batches * 4 <= requests);
    CU_ASSERT_EQUAL(st.batch_ops_total, requests * 3);
    fprintf(stderr, "\n    %zu requests: %llu batches, %zu embed calls\n", requests,
            (unsigned long long)st.batches, fake_embedder_calls(fx.emb));
    fx_stop(&fx);
}

/* Every request touches the same id; the pipeline's accept hook records,
 * in accept order, what each request leaves the id as. */
typedef struct accept_log {
    char last[64];               /* name of the last accepted upsert, "" = deleted */
    int accepted;
} accept_log;

static void record_accept(void *ctx, const cw_sync_payload *payload)
{
    accept_log *log = ctx;
    log->accepted++;
    if (payload->upserts.len > 0)
        snprintf(log->last, sizeof log->last, "%s", payload->upserts.items[0].name);
    else
        log->last[0] = '\0';
}

static void *same_id_main(void *arg)
{
    caller *c = arg;
    for (int i = 0; i < N_REQS; i++) {
        char spec[128];
        if ((c->t + i) % 3 == 0)
            snprintf(spec, sizeof spec, "-shared");
        else
            snprintf(spec, sizeof spec, "-shared +shared:t%di%d", c->t, i);
        cw_sync_payload *payload = tp_new(spec);
        cw_pipeline_result res;
        cw_error err;
        cw_error_clear(&err);
        if (cw_pipeline_submit(c->p, payload, FAR_MS, &res, &err) != 0)
            c->failures++;
        tp_free(payload);
    }
    return NULL;
}

void test_many_threads_same_id(void)
{
    accept_log log = { "", 0 };
    fixture fx;
    cw_pipeline_config cfg;
    cw_pipeline_config_defaults(&cfg);
    cfg.on_accept = record_accept;
    cfg.on_accept_ctx = &log;
    fx_start(&fx, DIM, &cfg);
    fake_embedder_sleep(fx.emb, 2);
    caller c[N_THREADS];
    for (int t = 0; t < N_THREADS; t++) {
        c[t] = (caller){ .p = fx.p, .t = t };
        CU_ASSERT_EQUAL_FATAL(pthread_create(&c[t].thread, NULL, same_id_main, &c[t]), 0);
    }
    int failures = 0;
    for (int t = 0; t < N_THREADS; t++) {
        pthread_join(c[t].thread, NULL);
        failures += c[t].failures;
    }
    CU_ASSERT_EQUAL(failures, 0);
    CU_ASSERT_EQUAL(log.accepted, N_THREADS * N_REQS);
    if (log.last[0] == '\0') {
        CU_ASSERT_EQUAL(fake_store_count(fx.store), 0);
    } else {
        CU_ASSERT_EQUAL(fake_store_count(fx.store), 1);
        CU_ASSERT(fx_stored_as(&fx, "shared", log.last));
    }
    fx_stop(&fx);
}

void test_failed_batch_fails_all(void)
{
    fixture fx;
    fx_start(&fx, DIM, NULL);
    submitter a, b, c;
    fx_hold(&fx, &a, "+a", 0);
    submitter_start(&b, fx.p, "+b", FAR_MS);
    fx_wait_queued(&fx, 1);
    submitter_start(&c, fx.p, "-c", FAR_MS);
    fx_wait_queued(&fx, 2);
    /* a's batch has no delete; the batch of b and c fails at its delete */
    fake_store_fail(fx.store, "remove", CW_E_UNAVAILABLE, 4, "chroma: 503 Service Unavailable");
    fake_store_gate_gets(fx.store, 0);
    fake_store_wait_gets(fx.store, 2);           /* b and c prepared while a is written */
    fake_store_gate(fx.store, 0);
    submitter_join(&a);
    submitter_join(&b);
    submitter_join(&c);
    CU_ASSERT_EQUAL(a.rc, 0);
    CU_ASSERT_EQUAL(b.rc, -1);
    CU_ASSERT_EQUAL(c.rc, -1);
    CU_ASSERT_STRING_EQUAL(b.err.msg, "chroma: 503 Service Unavailable");
    CU_ASSERT_STRING_EQUAL(c.err.msg, "chroma: 503 Service Unavailable");
    CU_ASSERT_EQUAL(b.err.retry_after_s, 4);
    CU_ASSERT_EQUAL(c.err.code, CW_E_UNAVAILABLE);
    fx_assert_log(&fx, "get(a) get(b) upsert(a) remove(c)");
    CU_ASSERT_EQUAL(fake_store_count(fx.store), 1);
    fx_stop(&fx);
}

void test_batch_bounds(void)
{
    fixture fx;
    cw_pipeline_config cfg;
    cw_pipeline_config_defaults(&cfg);
    cfg.batch_max = 2;
    cfg.workers = 1;         /* stop lingering at 2 upserts; at most 8 ops per batch */
    fx_start(&fx, DIM, &cfg);
    submitter a, q[5];
    const char *specs[] = {
        "+b", "+c", "+d",                       /* 2 + 1 */
        "+e -x1 -x2 -x3 -x4 -x5 -x6 -x7",       /* 8 ops */
        "-y",                                   /* would make 9: next batch */
    };
    fx_hold(&fx, &a, "+a", 0);
    for (size_t i = 0; i < 5; i++) {
        submitter_start(&q[i], fx.p, specs[i], FAR_MS);
        fx_wait_queued(&fx, i + 1);
    }
    fx_release(&fx);
    submitter_join(&a);
    CU_ASSERT_EQUAL(a.rc, 0);
    for (size_t i = 0; i < 5; i++) {
        submitter_join(&q[i]);
        CU_ASSERT_EQUAL(q[i].rc, 0);
    }
    fx_assert_log_split(&fx, "get(a) get(b,c) get(d) get(e)",
                        "upsert(a) upsert(b,c) upsert(d) remove(x1,x2,x3,x4,x5,x6,x7) upsert(e) "
                        "remove(y)");
    cw_pipeline_stats st;
    cw_pipeline_stats_get(fx.p, &st);
    CU_ASSERT_EQUAL(st.batches, 5);
    CU_ASSERT_EQUAL(st.batch_ops_total, 13);
    /* one request bigger than any bound still goes, alone, in chunks */
    cw_pipeline_result res;
    cw_error err;
    CU_ASSERT_EQUAL(fx_submit(&fx, "+k1 +k2 +k3 +k4 +k5 +k6 +k7 +k8 +k9 -z", FAR_MS,
                              &res, &err), 0);
    CU_ASSERT_EQUAL(res.upserted, 9);
    CU_ASSERT_EQUAL(res.deleted, 1);
    CU_ASSERT(fx_stored_as(&fx, "k9", "k9"));
    fx_stop(&fx);
}

/* cw_pipeline_submit_take() on its own thread. */
typedef struct taker {
    cw_pipeline *p;
    cw_sync_payload payload;
    int rc;
    cw_error err;
    cw_pipeline_result res;
    pthread_t thread;
} taker;

static void *taker_main(void *arg)
{
    taker *t = arg;
    cw_error_clear(&t->err);
    t->rc = cw_pipeline_submit_take(t->p, &t->payload, FAR_MS, &t->res, &t->err);
    return NULL;
}

#define TAKE_BODY                                                                  \
    "{\"upserts\":[{\"id\":\"default/apps/v1/Deployment/web\",\"namespace\":\"default\"," \
    "\"name\":\"web\",\"kind\":\"Deployment\",\"apiVersion\":\"apps/v1\",\"apiGroup\":\"apps\"," \
    "\"createdAt\":\"2026-02-20T10:00:00Z\"}],\"deletes\":[\"default/v1/Service/old\"]}"

/* A request taken over by the pipeline frees its parsed payload (the JSON
 * tree) while it still waits for its write, and is committed as usual. */
void test_submit_take_releases_before_wait(void)
{
    fixture fx;
    fx_start(&fx, DIM, NULL);
    taker t = { .p = fx.p };
    cw_issues issues;
    CU_ASSERT_EQUAL_FATAL(cw_sync_payload_parse(TAKE_BODY, strlen(TAKE_BODY), &t.payload, &issues), 0);
    CU_ASSERT_PTR_NOT_NULL(t.payload.arena_);

    fake_store_gate(fx.store, 1);
    CU_ASSERT_EQUAL_FATAL(pthread_create(&t.thread, NULL, taker_main, &t), 0);
    fake_store_wait_entered(fx.store, 1);        /* its write is held at the gate */
    int64_t until = cw_now_ms() + 5000;
    while (__atomic_load_n(&t.payload.arena_, __ATOMIC_ACQUIRE) != NULL && cw_now_ms() < until)
        cw_sleep_ms(1);
    CU_ASSERT_PTR_NULL(__atomic_load_n(&t.payload.arena_, __ATOMIC_ACQUIRE));
    fake_store_gate(fx.store, 0);
    pthread_join(t.thread, NULL);

    CU_ASSERT_EQUAL(t.rc, 0);
    CU_ASSERT_EQUAL(t.res.upserted, 1);
    CU_ASSERT_EQUAL(t.res.deleted, 1);
    CU_ASSERT_PTR_NULL(t.payload.upserts.items);
    CU_ASSERT_EQUAL(t.payload.upserts.len, 0);
    CU_ASSERT_PTR_NULL(t.payload.deletes.items);
    fx_assert_log(&fx, "get(default/apps/v1/Deployment/web) remove(default/v1/Service/old) "
                       "upsert(default/apps/v1/Deployment/web)");
    char *text = fake_store_text(fx.store, "default/apps/v1/Deployment/web");
    CU_ASSERT_PTR_NOT_NULL(text);
    if (text != NULL)
        CU_ASSERT_STRING_EQUAL(text, "Deployment web | namespace: default | apiVersion: apps/v1");
    free(text);

    /* refused (shutting down) and empty payloads are released too */
    cw_pipeline_shutdown(fx.p, cw_now_ms() + 1000);
    CU_ASSERT_EQUAL_FATAL(cw_sync_payload_parse(TAKE_BODY, strlen(TAKE_BODY), &t.payload, &issues), 0);
    CU_ASSERT_EQUAL(cw_pipeline_submit_take(fx.p, &t.payload, FAR_MS, &t.res, &t.err), -1);
    CU_ASSERT_STRING_EQUAL(t.err.msg, "pipeline is shutting down");
    CU_ASSERT_PTR_NULL(t.payload.arena_);
    CU_ASSERT_EQUAL_FATAL(cw_sync_payload_parse("{}", 2, &t.payload, &issues), 0);
    CU_ASSERT_EQUAL(cw_pipeline_submit_take(fx.p, &t.payload, FAR_MS, &t.res, &t.err), 0);
    CU_ASSERT_PTR_NULL(t.payload.arena_);
    fx_stop(&fx);
}
