/* Batch N+1 is prepared (store get, embedding) while batch N is written.
 * Each test holds N's write at the fake store's write gate until N+1 has
 * made its get, so N+1 always sees the store as it was before N: what N+1
 * skips on the strength of that get, and what ends up stored, is then
 * decided by the pipeline alone, never by thread timing. */
#include "cw_test.h"
#include "pfixture.h"
#include "tests.h"

/* Wait (polling, 10 s at most) until the embedder was given `n` texts. */
static void wait_embedded(fixture *fx, size_t n)
{
    int64_t until = cw_now_ms() + 10000;
    while (fake_embedder_inputs(fx->emb) < n && cw_now_ms() < until)
        cw_sleep_ms(1);
}

/* N+1's get and embedding run while N's write is held. */
void test_overlap_prepares_while_writing(void)
{
    fixture fx;
    fx_start(&fx, DIM, NULL);
    submitter a, b;
    fake_store_gate(fx.store, 1);
    submitter_start(&a, fx.p, "+a", FAR_MS);
    fake_store_wait_entered(fx.store, 1);        /* a's upsert is held */
    submitter_start(&b, fx.p, "+b", FAR_MS);
    fake_store_wait_gets(fx.store, 2);
    wait_embedded(&fx, 2);
    CU_ASSERT_EQUAL(fake_embedder_inputs(fx.emb), 2);   /* b embedded, a not yet written */
    fx_assert_log(&fx, "get(a) get(b)");
    fake_store_gate(fx.store, 0);
    submitter_join(&a);
    submitter_join(&b);
    CU_ASSERT_EQUAL(a.rc, 0);
    CU_ASSERT_EQUAL(b.rc, 0);
    fx_assert_log(&fx, "upsert(a) upsert(b)");
    CU_ASSERT(fx_stored_as(&fx, "a", "a"));
    CU_ASSERT(fx_stored_as(&fx, "b", "b"));
    fx_stop(&fx);
}

/* N deletes x; N+1 re-sends x unchanged. N+1's get saw x stored exactly,
 * but before N's delete: x must be written again, and be present at the
 * end. `keep`, stored exactly and untouched by N, is still skipped. */
void test_overlap_delete_then_unchanged_upsert(void)
{
    fixture fx;
    fx_start(&fx, DIM, NULL);
    cw_pipeline_result res;
    cw_error err;
    CU_ASSERT_EQUAL(fx_submit(&fx, "+x:v1 +keep", FAR_MS, &res, &err), 0);
    fx_assert_log(&fx, "get(x,keep) upsert(x,keep)");

    submitter a, b;
    fake_store_gate(fx.store, 1);
    submitter_start(&a, fx.p, "-x", FAR_MS);
    fake_store_wait_entered(fx.store, 2);        /* N's remove(x) is held */
    submitter_start(&b, fx.p, "+x:v1 +keep", FAR_MS);
    fake_store_wait_gets(fx.store, 2);           /* N+1 looked x up: still there */
    fake_store_gate(fx.store, 0);
    submitter_join(&a);
    submitter_join(&b);
    CU_ASSERT_EQUAL(a.rc, 0);
    CU_ASSERT_EQUAL(b.rc, 0);
    CU_ASSERT_EQUAL(b.res.upserted, 2);
    fx_assert_log_split(&fx, "get(x,keep)", "remove(x) upsert(x)");
    CU_ASSERT(fx_stored_as(&fx, "x", "v1"));
    CU_ASSERT(fx_stored_as(&fx, "keep", "keep"));
    CU_ASSERT_EQUAL(fake_store_count(fx.store), 2);
    cw_pipeline_stats st;
    cw_pipeline_stats_get(fx.p, &st);
    CU_ASSERT_EQUAL(st.upserts_unchanged, 1);    /* keep only */
    CU_ASSERT_EQUAL(fake_embedder_calls(fx.emb), 1);   /* N+1 reused both vectors */
    fx_stop(&fx);
}

/* The store holds x=v1. N upserts x=v2; N+1 upserts x=v1 again. N+1's get
 * saw v1 (before N's write): skipping it would leave v2. x=v1 at the end,
 * with v1's vector reused from that same get (no third embedding). */
void test_overlap_stale_get_of_older_version(void)
{
    fixture fx;
    fx_start(&fx, DIM, NULL);
    cw_pipeline_result res;
    cw_error err;
    CU_ASSERT_EQUAL(fx_submit(&fx, "+x:v1", FAR_MS, &res, &err), 0);
    fx_assert_log(&fx, "get(x) upsert(x)");

    submitter a, b;
    fake_store_gate(fx.store, 1);
    submitter_start(&a, fx.p, "+x:v2", FAR_MS);
    fake_store_wait_entered(fx.store, 2);        /* N's upsert(x=v2) is held */
    submitter_start(&b, fx.p, "+x:v1", FAR_MS);
    fake_store_wait_gets(fx.store, 3);           /* N+1 looked x up: v1 */
    fake_store_gate(fx.store, 0);
    submitter_join(&a);
    submitter_join(&b);
    CU_ASSERT_EQUAL(a.rc, 0);
    CU_ASSERT_EQUAL(b.rc, 0);
    fx_assert_log_split(&fx, "get(x) get(x)", "upsert(x) upsert(x)");
    CU_ASSERT(fx_stored_as(&fx, "x", "v1"));
    CU_ASSERT_EQUAL(fake_embedder_calls(fx.emb), 2);   /* v1 once, v2 once */
    cw_pipeline_stats st;
    cw_pipeline_stats_get(fx.p, &st);
    CU_ASSERT_EQUAL(st.upserts_unchanged, 0);
    CU_ASSERT_EQUAL(st.embed_reused, 1);
    fx_stop(&fx);
}

/* N fails at its delete while N+1 is prepared: N's request alone gets the
 * error, nothing of N is upserted, and N+1 (which names an id N touched)
 * commits as if N had never been sent. */
void test_overlap_failed_batch_leaves_next_correct(void)
{
    fixture fx;
    fx_start(&fx, DIM, NULL);
    cw_pipeline_result res;
    cw_error err;
    CU_ASSERT_EQUAL(fx_submit(&fx, "+x:v1", FAR_MS, &res, &err), 0);
    fx_assert_log(&fx, "get(x) upsert(x)");

    submitter a, b;
    fake_store_fail(fx.store, "remove", CW_E_UNAVAILABLE, 4, "chroma: 503 Service Unavailable");
    fake_store_gate(fx.store, 1);
    submitter_start(&a, fx.p, "-x +w", FAR_MS);
    fake_store_wait_entered(fx.store, 2);        /* N's remove(x) is held, then fails */
    submitter_start(&b, fx.p, "+x:v1 +b", FAR_MS);
    fake_store_wait_gets(fx.store, 3);
    fake_store_gate(fx.store, 0);
    submitter_join(&a);
    submitter_join(&b);
    CU_ASSERT_EQUAL(a.rc, -1);
    CU_ASSERT_EQUAL(a.err.code, CW_E_UNAVAILABLE);
    CU_ASSERT_EQUAL(a.err.retry_after_s, 4);
    CU_ASSERT_STRING_EQUAL(a.err.msg, "chroma: 503 Service Unavailable");
    CU_ASSERT_EQUAL(b.rc, 0);
    CU_ASSERT_EQUAL(b.res.upserted, 2);
    fx_assert_log_split(&fx, "get(w) get(x,b)", "remove(x) upsert(x,b)");
    CU_ASSERT(fx_stored_as(&fx, "x", "v1"));
    CU_ASSERT(fx_stored_as(&fx, "b", "b"));
    CU_ASSERT_EQUAL(fake_store_count(fx.store), 2);    /* w never written */
    fx_stop(&fx);
}

/* N is re-run request by request (one input refused) on the writer while
 * the batcher prepares N+1: both use the embed pool at once; each request
 * still gets its own answer and everything else is stored. */
void test_overlap_isolation_while_preparing(void)
{
    fixture fx;
    fx_start(&fx, DIM, NULL);
    fake_embedder_refuse(fx.emb, "poison", CW_E_CONFIG,
                         "openai: the embedding API refused the request (HTTP 400): too long");
    fake_embedder_sleep(fx.emb, 20);
    submitter a, q[3];
    fx_hold(&fx, &a, "+a", 0);
    submitter_start(&q[0], fx.p, "+x", FAR_MS);
    fx_wait_queued(&fx, 1);
    submitter_start(&q[1], fx.p, "+poison", FAR_MS);
    fx_wait_queued(&fx, 2);
    fake_store_gate_gets(fx.store, 0);
    fake_store_wait_gets(fx.store, 2);           /* N = {x, poison} prepared (and failed) */
    submitter_start(&q[2], fx.p, "-x +y", FAR_MS);
    fx_wait_queued(&fx, 1);                      /* N+1, taken once N is handed over */
    fake_store_gate(fx.store, 0);
    submitter_join(&a);
    for (int i = 0; i < 3; i++)
        submitter_join(&q[i]);
    CU_ASSERT_EQUAL(a.rc, 0);
    CU_ASSERT_EQUAL(q[0].rc, 0);
    CU_ASSERT_EQUAL(q[1].rc, -1);
    CU_ASSERT_EQUAL(q[1].err.code, CW_E_CONFIG);
    CU_ASSERT_EQUAL(q[2].rc, 0);
    fx_assert_log_split(&fx, NULL, "upsert(a) upsert(x) remove(x) upsert(y)");
    CU_ASSERT(fx_stored_as(&fx, "a", "a"));
    CU_ASSERT(fx_stored_as(&fx, "y", "y"));
    CU_ASSERT_EQUAL(fake_store_count(fx.store), 2);    /* x deleted by N+1 */
    fx_stop(&fx);
}

/* A get made while the batch before is written fails (Chroma 1.0 may
 * refuse one during a write to a fresh collection): it is made again once
 * that write is done, and the batch commits. */
void test_overlap_get_failure_retried_after_write(void)
{
    fixture fx;
    fx_start(&fx, DIM, NULL);
    submitter a, b;
    fake_store_gate(fx.store, 1);
    submitter_start(&a, fx.p, "+a", FAR_MS);
    fake_store_wait_entered(fx.store, 1);        /* a's upsert is held */
    fake_store_fail(fx.store, "get", CW_E_UNAVAILABLE, 5,
                    "chroma get: HTTP 500: Error creating hnsw segment reader: Nothing found on disk");
    submitter_start(&b, fx.p, "+b", FAR_MS);
    fake_store_wait_gets(fx.store, 2);           /* b's get failed */
    fake_store_fail(fx.store, "get", CW_OK, 0, "");
    fake_store_gate(fx.store, 0);
    submitter_join(&a);
    submitter_join(&b);
    CU_ASSERT_EQUAL(a.rc, 0);
    CU_ASSERT_EQUAL(b.rc, 0);
    fx_assert_log_split(&fx, "get(a) get(b) get(b)", "upsert(a) upsert(b)");
    CU_ASSERT(fx_stored_as(&fx, "b", "b"));
    /* a get failing without a write before it fails its batch at once */
    fake_store_fail(fx.store, "get", CW_E_UNAVAILABLE, 5, "chroma get: HTTP 503");
    cw_pipeline_result res;
    cw_error err;
    CU_ASSERT_EQUAL(fx_submit(&fx, "+c", FAR_MS, &res, &err), -1);
    CU_ASSERT_STRING_EQUAL(err.msg, "chroma get: HTTP 503");
    fx_assert_log(&fx, "get(c)");
    fx_stop(&fx);
}
