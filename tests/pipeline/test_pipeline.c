/* The pipeline one request at a time: what reaches the store and the
 * embedder, exactly. */
#include "cw_test.h"
#include "pfixture.h"
#include "tests.h"

void test_config_defaults(void)
{
    cw_pipeline_config cfg;
    memset(&cfg, 0xff, sizeof cfg);
    cw_pipeline_config_defaults(&cfg);
    CU_ASSERT_EQUAL(cfg.batch_max, 64);
    CU_ASSERT_EQUAL(cfg.batch_linger_ms, 5);
    CU_ASSERT_EQUAL(cfg.workers, 2);
    CU_ASSERT_EQUAL(cfg.queue_max, 256);
    CU_ASSERT_PTR_NULL(cfg.on_accept);
    CU_ASSERT_PTR_NULL(cfg.on_accept_ctx);
}

void test_create_destroy(void)
{
    fixture fx;
    fx_start(&fx, DIM, NULL);
    fx_stop(&fx);
    cw_pipeline_destroy(NULL);

    /* shutdown, then destroy; a submit in between is refused */
    fx_start(&fx, DIM, NULL);
    cw_pipeline_shutdown(fx.p, cw_now_ms() + 1000);
    cw_pipeline_result res;
    cw_error err;
    CU_ASSERT_EQUAL(fx_submit(&fx, "+a", FAR_MS, &res, &err), -1);
    CU_ASSERT_EQUAL(err.code, CW_E_UNAVAILABLE);
    CU_ASSERT_EQUAL(err.retry_after_s, 2);
    CU_ASSERT_STRING_EQUAL(err.msg, "pipeline is shutting down");
    fx_assert_log(&fx, "");
    fx_stop(&fx);
}

void test_empty_payload(void)
{
    fixture fx;
    fx_start(&fx, DIM, NULL);
    cw_pipeline_result res = { .upserted = 7, .deleted = 7, .embed_calls = 7 };
    cw_error err;
    CU_ASSERT_EQUAL(fx_submit(&fx, "", FAR_MS, &res, &err), 0);
    CU_ASSERT_EQUAL(res.upserted, 0);
    CU_ASSERT_EQUAL(res.deleted, 0);
    CU_ASSERT_EQUAL(res.embed_calls, 0);
    CU_ASSERT_EQUAL(err.code, CW_OK);
    fx_assert_log(&fx, "");
    CU_ASSERT_EQUAL(fake_embedder_calls(fx.emb), 0);
    cw_pipeline_stats st;
    cw_pipeline_stats_get(fx.p, &st);
    CU_ASSERT_EQUAL(st.batches, 0);
    CU_ASSERT_EQUAL(st.store_calls, 0);
    CU_ASSERT_EQUAL(st.embed_calls, 0);
    fx_stop(&fx);
}

void test_upserts_stored(void)
{
    fixture fx;
    fx_start(&fx, DIM, NULL);
    cw_pipeline_result res;
    cw_error err;
    CU_ASSERT_EQUAL(fx_submit(&fx, "+a:web +b:db", FAR_MS, &res, &err), 0);
    CU_ASSERT_EQUAL(res.upserted, 2);
    CU_ASSERT_EQUAL(res.deleted, 0);
    fx_assert_log(&fx, "get(a,b) upsert(a,b)");
    CU_ASSERT(fx_stored_as(&fx, "a", "web"));
    CU_ASSERT(fx_stored_as(&fx, "b", "db"));
    CU_ASSERT_EQUAL(fake_store_count(fx.store), 2);
    CU_ASSERT_EQUAL(fake_embedder_calls(fx.emb), 1);
    CU_ASSERT_EQUAL(fake_embedder_inputs(fx.emb), 2);
    cw_pipeline_stats st;
    cw_pipeline_stats_get(fx.p, &st);
    CU_ASSERT_EQUAL(st.queue_depth, 0);
    CU_ASSERT_EQUAL(st.batches, 1);
    CU_ASSERT_EQUAL(st.batch_ops_total, 2);
    CU_ASSERT_EQUAL(st.embed_calls, 1);
    CU_ASSERT_EQUAL(st.embed_inputs, 2);
    CU_ASSERT_EQUAL(st.embed_reused, 0);
    CU_ASSERT_EQUAL(st.store_calls, 2);
    fx_stop(&fx);
}

void test_deletes_before_upserts(void)
{
    fixture fx;
    fx_start(&fx, DIM, NULL);
    cw_pipeline_result res;
    cw_error err;
    CU_ASSERT_EQUAL(fx_submit(&fx, "+x:old +y", FAR_MS, &res, &err), 0);
    fx_assert_log(&fx, "get(x,y) upsert(x,y)");
    /* x in both lists of one request: deletes first, so x ends present */
    CU_ASSERT_EQUAL(fx_submit(&fx, "-x -y +x:new", FAR_MS, &res, &err), 0);
    CU_ASSERT_EQUAL(res.upserted, 1);
    CU_ASSERT_EQUAL(res.deleted, 2);
    fx_assert_log(&fx, "get(x) remove(y) upsert(x)");
    CU_ASSERT(fx_stored_as(&fx, "x", "new"));
    CU_ASSERT_EQUAL(fake_store_count(fx.store), 1);
    fx_stop(&fx);
}

void test_repeated_id_last_wins(void)
{
    fixture fx;
    fx_start(&fx, DIM, NULL);
    cw_pipeline_result res;
    cw_error err;
    CU_ASSERT_EQUAL(fx_submit(&fx, "+a:v1 +b +a:v2 -c -c", FAR_MS, &res, &err), 0);
    CU_ASSERT_EQUAL(res.upserted, 3);         /* as received */
    CU_ASSERT_EQUAL(res.deleted, 2);
    fx_assert_log(&fx, "get(b,a) remove(c) upsert(b,a)");
    CU_ASSERT(fx_stored_as(&fx, "a", "v2"));
    CU_ASSERT(fx_stored_as(&fx, "b", "b"));
    CU_ASSERT_EQUAL(fake_embedder_inputs(fx.emb), 2);
    fx_stop(&fx);
}

void test_sequential_requests(void)
{
    fixture fx;
    fx_start(&fx, DIM, NULL);
    cw_pipeline_result res;
    cw_error err;
    CU_ASSERT_EQUAL(fx_submit(&fx, "+x", FAR_MS, &res, &err), 0);
    CU_ASSERT(fx_stored_as(&fx, "x", "x"));
    CU_ASSERT_EQUAL(fx_submit(&fx, "-x", FAR_MS, &res, &err), 0);
    CU_ASSERT_EQUAL(res.deleted, 1);
    CU_ASSERT_EQUAL(fake_store_count(fx.store), 0);
    CU_ASSERT_EQUAL(fx_submit(&fx, "+x:again", FAR_MS, &res, &err), 0);
    CU_ASSERT(fx_stored_as(&fx, "x", "again"));
    CU_ASSERT_EQUAL(fx_submit(&fx, "-x", FAR_MS, &res, &err), 0);
    CU_ASSERT_EQUAL(fake_store_count(fx.store), 0);
    fx_assert_log(&fx, "get(x) upsert(x) remove(x) get(x) upsert(x) remove(x)");
    fx_stop(&fx);
}

void test_unchanged_text_reused(void)
{
    fixture fx;
    fx_start(&fx, DIM, NULL);
    cw_pipeline_result res;
    cw_error err;
    cw_pipeline_stats st;
    CU_ASSERT_EQUAL(fx_submit(&fx, "+x:same", FAR_MS, &res, &err), 0);
    CU_ASSERT_EQUAL(fake_embedder_calls(fx.emb), 1);
    /* re-sent unchanged: no embedding call, and no write (stored exactly) */
    CU_ASSERT_EQUAL(fx_submit(&fx, "+x:same", FAR_MS, &res, &err), 0);
    CU_ASSERT_EQUAL(fake_embedder_calls(fx.emb), 1);
    cw_pipeline_stats_get(fx.p, &st);
    CU_ASSERT_EQUAL(st.embed_reused, 1);
    CU_ASSERT(fx_stored_as(&fx, "x", "same"));
    /* one unchanged, one new: only the new text is embedded */
    CU_ASSERT_EQUAL(fx_submit(&fx, "+x:same +y", FAR_MS, &res, &err), 0);
    CU_ASSERT_EQUAL(fake_embedder_calls(fx.emb), 2);
    CU_ASSERT_EQUAL(fake_embedder_inputs(fx.emb), 2);
    CU_ASSERT(fx_stored_as(&fx, "y", "y"));
    /* changed text: embedded */
    CU_ASSERT_EQUAL(fx_submit(&fx, "+x:changed", FAR_MS, &res, &err), 0);
    CU_ASSERT_EQUAL(fake_embedder_calls(fx.emb), 3);
    CU_ASSERT(fx_stored_as(&fx, "x", "changed"));
    cw_pipeline_stats_get(fx.p, &st);
    CU_ASSERT_EQUAL(st.embed_reused, 2);
    CU_ASSERT_EQUAL(st.embed_inputs, 3);
    fx_assert_log(&fx, "get(x) upsert(x) get(x) get(x,y) upsert(y) get(x) upsert(x)");
    fx_stop(&fx);
}

/* Submit `spec` with every upsert's apiGroup set to `group` (metadata
 * only: not part of the text). */
static int submit_group(fixture *fx, const char *spec, const char *group,
                        cw_pipeline_result *res, cw_error *err)
{
    cw_sync_payload *payload = tp_new(spec);
    for (size_t i = 0; i < payload->upserts.len; i++) {
        cw_resource_instance *in = &payload->upserts.items[i];
        free((char *)in->api_group);
        in->api_group = strdup(group);
    }
    cw_error_clear(err);
    int rc = cw_pipeline_submit(fx->p, payload, FAR_MS, res, err);
    tp_free(payload);
    return rc;
}

/* A document the store already holds exactly (text and metadata) is not
 * written again; any difference, a delete in between, or a delete in the
 * same request still writes it, and the store ends as the ops say. */
void test_stored_exactly_not_rewritten(void)
{
    fixture fx;
    fx_start(&fx, DIM, NULL);
    cw_pipeline_result res;
    cw_error err;
    CU_ASSERT_EQUAL(fx_submit(&fx, "+x:web +y:db", FAR_MS, &res, &err), 0);
    fx_assert_log(&fx, "get(x,y) upsert(x,y)");
    /* the same again, twice: looked up, not written, answered as upserted */
    CU_ASSERT_EQUAL(fx_submit(&fx, "+x:web +y:db", FAR_MS, &res, &err), 0);
    CU_ASSERT_EQUAL(res.upserted, 2);
    CU_ASSERT_EQUAL(fx_submit(&fx, "+y:db", FAR_MS, &res, &err), 0);
    fx_assert_log(&fx, "get(x,y) get(y)");
    /* same text, other metadata (apiGroup is not in the text): written,
     * with the stored vector (no embedding) */
    CU_ASSERT_EQUAL(submit_group(&fx, "+x:web", "extensions", &res, &err), 0);
    fx_assert_log(&fx, "get(x) upsert(x)");
    CU_ASSERT_EQUAL(fake_embedder_calls(fx.emb), 1);
    cw_pipeline_stats st;
    cw_pipeline_stats_get(fx.p, &st);
    CU_ASSERT_EQUAL(st.embed_reused, 4);
    /* and back: written again */
    CU_ASSERT_EQUAL(fx_submit(&fx, "+x:web", FAR_MS, &res, &err), 0);
    fx_assert_log(&fx, "get(x) upsert(x)");
    /* delete and re-add in one request: coalesced to the upsert, which the
     * store already holds: nothing written, x stays */
    CU_ASSERT_EQUAL(fx_submit(&fx, "-x +x:web", FAR_MS, &res, &err), 0);
    fx_assert_log(&fx, "get(x)");
    CU_ASSERT(fx_stored_as(&fx, "x", "web"));
    /* deleted by one request, re-added by the next: written */
    CU_ASSERT_EQUAL(fx_submit(&fx, "-x", FAR_MS, &res, &err), 0);
    CU_ASSERT_EQUAL(fx_submit(&fx, "+x:web", FAR_MS, &res, &err), 0);
    fx_assert_log(&fx, "remove(x) get(x) upsert(x)");
    CU_ASSERT(fx_stored_as(&fx, "x", "web"));
    CU_ASSERT(fx_stored_as(&fx, "y", "db"));
    CU_ASSERT_EQUAL(fake_store_count(fx.store), 2);
    CU_ASSERT_EQUAL(fake_embedder_calls(fx.emb), 2);
    fx_stop(&fx);
}

void test_unknown_dim_learnt(void)
{
    fixture fx;
    fx_start(&fx, 0, NULL);
    cw_pipeline_result res;
    cw_error err;
    CU_ASSERT_EQUAL(fx_submit(&fx, "+a +b +c", FAR_MS, &res, &err), 0);
    /* the first text alone (the backend learns its dim), then the rest */
    CU_ASSERT_EQUAL(fake_embedder_calls(fx.emb), 2);
    CU_ASSERT_EQUAL(fake_embedder_inputs(fx.emb), 3);
    CU_ASSERT_EQUAL(fake_embedder_base(fx.emb)->dim, DIM);
    fx_assert_log(&fx, "upsert(a,b,c)");          /* no get while dim unknown */
    CU_ASSERT(fx_stored_as(&fx, "a", "a"));
    CU_ASSERT(fx_stored_as(&fx, "b", "b"));
    CU_ASSERT(fx_stored_as(&fx, "c", "c"));
    CU_ASSERT_EQUAL(fx_submit(&fx, "+a +b +c", FAR_MS, &res, &err), 0);
    CU_ASSERT_EQUAL(fake_embedder_calls(fx.emb), 2);
    fx_assert_log(&fx, "get(a,b,c)");             /* stored exactly: nothing to write */
    fx_stop(&fx);
}

void test_chunks_on_workers(void)
{
    fixture fx;
    cw_pipeline_config cfg;
    cw_pipeline_config_defaults(&cfg);
    cfg.batch_max = 2;
    cfg.workers = 3;
    fx_start(&fx, DIM, &cfg);
    cw_pipeline_result res;
    cw_error err;
    CU_ASSERT_EQUAL(fx_submit(&fx, "+a +b +c +d +e", FAR_MS, &res, &err), 0);
    CU_ASSERT_EQUAL(fake_embedder_calls(fx.emb), 3);   /* 2 + 2 + 1 */
    CU_ASSERT_EQUAL(fake_embedder_inputs(fx.emb), 5);
    CU_ASSERT_EQUAL(fake_embedder_largest(fx.emb), 2);
    const char *ids[] = { "a", "b", "c", "d", "e" };
    for (size_t i = 0; i < 5; i++)
        CU_ASSERT(fx_stored_as(&fx, ids[i], ids[i]));
    fx_assert_log(&fx, "get(a,b,c,d,e) upsert(a,b,c,d,e)");
    fx_stop(&fx);

    /* 9 texts, limit 4: three balanced calls of 3 (not 4 + 4 + 1) */
    cfg.batch_max = 4;
    fx_start(&fx, DIM, &cfg);
    CU_ASSERT_EQUAL(fx_submit(&fx, "+a +b +c +d +e +f +g +h +i", FAR_MS, &res, &err), 0);
    CU_ASSERT_EQUAL(fake_embedder_calls(fx.emb), 3);
    CU_ASSERT_EQUAL(fake_embedder_largest(fx.emb), 3);
    CU_ASSERT(fx_stored_as(&fx, "a", "a"));
    CU_ASSERT(fx_stored_as(&fx, "e", "e"));
    CU_ASSERT(fx_stored_as(&fx, "i", "i"));
    fx_stop(&fx);
}

void test_store_remove_fails(void)
{
    fixture fx;
    fx_start(&fx, DIM, NULL);
    cw_pipeline_result res;
    cw_error err;
    CU_ASSERT_EQUAL(fx_submit(&fx, "+keep", FAR_MS, &res, &err), 0);
    fx_assert_log(&fx, "get(keep) upsert(keep)");
    fake_store_fail(fx.store, "remove", CW_E_UNAVAILABLE, 3, "chroma: connection refused");
    CU_ASSERT_EQUAL(fx_submit(&fx, "-keep +new", FAR_MS, &res, &err), -1);
    CU_ASSERT_EQUAL(err.code, CW_E_UNAVAILABLE);
    CU_ASSERT_EQUAL(err.retry_after_s, 3);
    CU_ASSERT_STRING_EQUAL(err.msg, "chroma: connection refused");
    CU_ASSERT_EQUAL(res.upserted, 0);
    fx_assert_log(&fx, "get(new) remove(keep)");   /* no upsert after the failure */
    CU_ASSERT(fx_stored_as(&fx, "keep", "keep"));
    CU_ASSERT_EQUAL(fake_store_count(fx.store), 1);
    /* the dependency is back: the retried request succeeds */
    fake_store_fail(fx.store, "remove", CW_OK, 0, "");
    CU_ASSERT_EQUAL(fx_submit(&fx, "-keep +new", FAR_MS, &res, &err), 0);
    fx_assert_log(&fx, "get(new) remove(keep) upsert(new)");
    CU_ASSERT(fx_stored_as(&fx, "new", "new"));
    CU_ASSERT_EQUAL(fake_store_count(fx.store), 1);
    fx_stop(&fx);
}

void test_store_upsert_fails(void)
{
    fixture fx;
    fx_start(&fx, DIM, NULL);
    cw_pipeline_result res;
    cw_error err;
    fake_store_fail(fx.store, "upsert", CW_E_INTERNAL, 0, "chroma: 500 Internal Server Error");
    CU_ASSERT_EQUAL(fx_submit(&fx, "+a", FAR_MS, &res, &err), -1);
    CU_ASSERT_EQUAL(err.code, CW_E_INTERNAL);
    CU_ASSERT_STRING_EQUAL(err.msg, "chroma: 500 Internal Server Error");
    fx_assert_log(&fx, "get(a) upsert(a)");
    CU_ASSERT_EQUAL(fake_store_count(fx.store), 0);
    fx_stop(&fx);
}

void test_store_get_fails(void)
{
    fixture fx;
    fx_start(&fx, DIM, NULL);
    cw_pipeline_result res;
    cw_error err;
    fake_store_fail(fx.store, "get", CW_E_UNAVAILABLE, 2, "chroma: timeout");
    CU_ASSERT_EQUAL(fx_submit(&fx, "-z +a", FAR_MS, &res, &err), -1);
    CU_ASSERT_EQUAL(err.code, CW_E_UNAVAILABLE);
    CU_ASSERT_EQUAL(err.retry_after_s, 2);
    CU_ASSERT_STRING_EQUAL(err.msg, "chroma: timeout");
    fx_assert_log(&fx, "get(a)");
    CU_ASSERT_EQUAL(fake_embedder_calls(fx.emb), 0);
    fx_stop(&fx);
}

static void embedder_fails(cw_status code, int retry, const char *msg)
{
    fixture fx;
    fx_start(&fx, DIM, NULL);
    cw_pipeline_result res;
    cw_error err;
    CU_ASSERT_EQUAL(fx_submit(&fx, "+old", FAR_MS, &res, &err), 0);
    fx_assert_log(&fx, "get(old) upsert(old)");
    fake_embedder_fail(fx.emb, code, retry, msg);
    CU_ASSERT_EQUAL(fx_submit(&fx, "-old +a +b", FAR_MS, &res, &err), -1);
    CU_ASSERT_EQUAL(err.code, code);
    CU_ASSERT_EQUAL(err.retry_after_s, retry);
    CU_ASSERT_STRING_EQUAL(err.msg, msg);
    CU_ASSERT_EQUAL(cw_status_http(err.code), 503);
    fx_assert_log(&fx, "get(a,b)");                /* nothing written */
    CU_ASSERT(fx_stored_as(&fx, "old", "old"));
    CU_ASSERT_EQUAL(fake_store_count(fx.store), 1);
    fx_stop(&fx);
}

void test_embedder_unavailable(void)
{
    embedder_fails(CW_E_UNAVAILABLE, 7, "voyage: 429 Too Many Requests");
}

void test_embedder_config_error(void)
{
    embedder_fails(CW_E_CONFIG, 0, "openai: 401 Unauthorized (check OPENAI_API_KEY)");
}

void test_coalesced_across_requests(void)
{
    fixture fx;
    fx_start(&fx, DIM, NULL);
    submitter a, q[4];
    fx_hold(&fx, &a, "+a", 0);                   /* a's batch is being prepared */
    submitter_start(&q[0], fx.p, "+x:v1", FAR_MS);
    fx_wait_queued(&fx, 1);
    submitter_start(&q[1], fx.p, "-x", FAR_MS);
    fx_wait_queued(&fx, 2);
    submitter_start(&q[2], fx.p, "+y", FAR_MS);
    fx_wait_queued(&fx, 3);
    submitter_start(&q[3], fx.p, "-y +z", FAR_MS);
    fx_wait_queued(&fx, 4);
    fake_store_gate_gets(fx.store, 0);
    fake_store_wait_gets(fx.store, 2);           /* the next batch prepared while a is written */
    fake_store_gate(fx.store, 0);
    submitter_join(&a);
    CU_ASSERT_EQUAL(a.rc, 0);
    for (int i = 0; i < 4; i++) {
        submitter_join(&q[i]);
        CU_ASSERT_EQUAL(q[i].rc, 0);
    }
    CU_ASSERT_EQUAL(q[3].res.upserted, 1);
    CU_ASSERT_EQUAL(q[3].res.deleted, 1);
    /* the four queued requests went as one batch: x and y deleted, z stored */
    fx_assert_log(&fx, "get(a) get(z) upsert(a) remove(x,y) upsert(z)");
    CU_ASSERT(fx_stored_as(&fx, "a", "a"));
    CU_ASSERT(fx_stored_as(&fx, "z", "z"));
    CU_ASSERT_EQUAL(fake_store_count(fx.store), 2);
    CU_ASSERT_EQUAL(fake_embedder_calls(fx.emb), 2);
    cw_pipeline_stats st;
    cw_pipeline_stats_get(fx.p, &st);
    CU_ASSERT_EQUAL(st.batches, 2);
    CU_ASSERT_EQUAL(st.batch_ops_total, 6);
    fx_stop(&fx);
}

/* One request whose text the embedding API refuses (CW_E_CONFIG) shares a
 * batch with good ones: the batch is re-applied request by request, so
 * only the bad request fails and the others commit, in arrival order. */
void test_bad_request_isolated_from_its_batch(void)
{
    fixture fx;
    fx_start(&fx, DIM, NULL);
    fake_embedder_refuse(fx.emb, "poison", CW_E_CONFIG,
                         "openai: the embedding API refused the request (HTTP 400): too long");
    submitter a, q[3];
    fx_hold(&fx, &a, "+a", 0);                   /* a's batch is being prepared */
    submitter_start(&q[0], fx.p, "+x", FAR_MS);
    fx_wait_queued(&fx, 1);
    submitter_start(&q[1], fx.p, "+poison", FAR_MS);
    fx_wait_queued(&fx, 2);
    submitter_start(&q[2], fx.p, "-a +y", FAR_MS);
    fx_wait_queued(&fx, 3);
    fake_store_gate_gets(fx.store, 0);
    fake_store_wait_gets(fx.store, 2);           /* the next batch prepared while a is written */
    fake_store_gate(fx.store, 0);
    submitter_join(&a);
    CU_ASSERT_EQUAL(a.rc, 0);
    for (int i = 0; i < 3; i++)
        submitter_join(&q[i]);
    CU_ASSERT_EQUAL(q[0].rc, 0);
    CU_ASSERT_EQUAL(q[1].rc, -1);
    CU_ASSERT_EQUAL(q[1].err.code, CW_E_CONFIG);
    CU_ASSERT_STRING_EQUAL(q[1].err.msg, "openai: the embedding API refused the request (HTTP 400): too long");
    CU_ASSERT_EQUAL(q[2].rc, 0);
    fx_assert_log(&fx, "get(a) get(x,poison,y) upsert(a) get(x) upsert(x) get(poison) get(y) remove(a) upsert(y)");
    CU_ASSERT(fx_stored_as(&fx, "x", "x"));
    CU_ASSERT(fx_stored_as(&fx, "y", "y"));
    CU_ASSERT_EQUAL(fake_store_count(fx.store), 2);    /* a deleted, poison never stored */
    fx_stop(&fx);
}

/* A transient failure is not split: every request of the batch gets the
 * 503 at once, with one embedding attempt. */
void test_transient_failure_not_isolated(void)
{
    fixture fx;
    fx_start(&fx, DIM, NULL);
    submitter a, q[2];
    cw_pipeline_result res;
    cw_error err;
    CU_ASSERT_EQUAL(fx_submit(&fx, "+a", FAR_MS, &res, &err), 0);
    /* a again, unchanged: held in its get, it then needs no embedding */
    fx_hold(&fx, &a, "+a", 1);
    fake_embedder_fail(fx.emb, CW_E_UNAVAILABLE, 3, "voyage: 503 Service Unavailable");
    submitter_start(&q[0], fx.p, "+x", FAR_MS);
    fx_wait_queued(&fx, 1);
    submitter_start(&q[1], fx.p, "+y", FAR_MS);
    fx_wait_queued(&fx, 2);
    size_t calls_before = fake_embedder_calls(fx.emb);
    fx_release(&fx);
    submitter_join(&a);
    for (int i = 0; i < 2; i++) {
        submitter_join(&q[i]);
        CU_ASSERT_EQUAL(q[i].rc, -1);
        CU_ASSERT_EQUAL(q[i].err.code, CW_E_UNAVAILABLE);
    }
    CU_ASSERT_EQUAL(fake_embedder_calls(fx.emb) - calls_before, 1);
    fx_stop(&fx);
}
