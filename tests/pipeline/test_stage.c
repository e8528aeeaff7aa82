/* stage.c: the ops of a stage in effect order, prepare and write against
 * the fake store and embedder, isolation of a refused request, dropping
 * what is settled, the counters. */
#include <stdlib.h>
#include <string.h>

#include "cw_test.h"
#include "embed_pool.h"
#include "fakes.h"
#include "stage.h"
#include "tests.h"
#include "tpayload.h"

#define SDIM 8

typedef struct senv {
    fake_store *store;
    fake_embedder *emb;
    cw_embed_pool *pool;
    cw_batch_env env;
} senv;

static void senv_start(senv *e)
{
    cw_error err;
    cw_error_clear(&err);
    e->store = fake_store_create();
    e->emb = fake_embedder_create(SDIM, 0);
    e->pool = cw_embed_pool_create(2, fake_embedder_base(e->emb), &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(e->pool);
    e->env.embedder = fake_embedder_base(e->emb);
    e->env.pool = e->pool;
    e->env.store = fake_store_base(e->store);
    e->env.chunk_max = 16;
}

static void senv_stop(senv *e)
{
    cw_embed_pool_destroy(e->pool);
    cw_store_destroy(fake_store_base(e->store));
    cw_embedder_destroy(fake_embedder_base(e->emb));
}

/* A stage of one request per spec (NULL-terminated). */
static void stage_of(cw_stage *s, const char *const *specs)
{
    memset(s, 0, sizeof *s);
    cw_request **tail = &s->requests;
    for (size_t i = 0; specs[i] != NULL; i++) {
        cw_sync_payload *p = tp_new(specs[i]);
        cw_error err;
        cw_error_clear(&err);
        cw_request *r = cw_request_create(p, cw_now_ms() + 60000, &err);
        tp_free(p);
        CU_ASSERT_PTR_NOT_NULL_FATAL(r);
        s->n_ops += cw_request_ops(r);
        *tail = r;
        tail = &r->next;
    }
}

static void stage_free(cw_stage *s)
{
    cw_request_free_list(s->requests);
    s->requests = NULL;
    cw_stage_clear(s);
}

void test_stage_ops_in_effect_order(void)
{
    cw_stage s;
    const char *specs[] = { "+a -x", "+x -a", NULL };
    stage_of(&s, specs);
    CU_ASSERT_EQUAL(s.n_ops, 4);
    cw_coalesce_op ops[4];
    const cw_document *docs[4];
    cw_stage_list_ops(s.requests, ops, docs);
    /* Request by request, its deletes before its upserts. */
    CU_ASSERT_STRING_EQUAL(ops[0].id, "x");
    CU_ASSERT_EQUAL(ops[0].is_upsert, 0);
    CU_ASSERT_PTR_NULL(docs[0]);
    CU_ASSERT_STRING_EQUAL(ops[1].id, "a");
    CU_ASSERT_EQUAL(ops[1].is_upsert, 1);
    CU_ASSERT_PTR_EQUAL(docs[1], &s.requests->upserts[0]);
    CU_ASSERT_STRING_EQUAL(ops[2].id, "a");
    CU_ASSERT_EQUAL(ops[2].is_upsert, 0);
    CU_ASSERT_STRING_EQUAL(ops[3].id, "x");
    CU_ASSERT_EQUAL(ops[3].is_upsert, 1);
    CU_ASSERT_PTR_EQUAL(docs[3], &s.requests->next->upserts[0]);
    stage_free(&s);
}

void test_stage_prepare_then_write(void)
{
    senv e;
    senv_start(&e);
    cw_stage s;
    const char *specs[] = { "+a +b", "-b +c", NULL };
    stage_of(&s, specs);
    cw_stage_prepare(&e.env, &s, 0, NULL);
    CU_ASSERT_PTR_NOT_NULL(s.prepared);
    CU_ASSERT_EQUAL(s.err.code, CW_OK);
    CU_ASSERT_EQUAL(fake_store_count(e.store), 0);   /* preparing writes nothing */
    CU_ASSERT_EQUAL(cw_stage_write(&e.env, &s), 1);
    CU_ASSERT_EQUAL(s.err.code, CW_OK);
    char *log = fake_store_log(e.store);
    CU_ASSERT_STRING_EQUAL(log, "get(a,c) remove(b) upsert(a,c)");
    free(log);
    char *t = fake_store_text(e.store, "c");
    CU_ASSERT_STRING_EQUAL(t, tp_text("c"));
    free(t);
    CU_ASSERT_PTR_NULL(fake_store_text(e.store, "b"));
    CU_ASSERT_EQUAL(s.cnt.embed_inputs, 2);
    CU_ASSERT_EQUAL(s.cnt.embed_calls, 1);

    cw_pipeline_stats st;
    memset(&st, 0, sizeof st);
    cw_stage_add_counters(&st, &s);
    CU_ASSERT_EQUAL(st.batches, 1);
    CU_ASSERT_EQUAL(st.batch_ops_total, 4);
    CU_ASSERT_EQUAL(st.embed_inputs, 2);
    CU_ASSERT_EQUAL(st.embed_calls, 1);
    stage_free(&s);
    cw_stage_clear(&s);
    CU_ASSERT_EQUAL(cw_stage_write(&e.env, &s), 0);  /* nothing prepared: no write */
    senv_stop(&e);
}

void test_stage_commit_isolates_a_refused_request(void)
{
    senv e;
    senv_start(&e);
    fake_embedder_refuse(e.emb, "poison", CW_E_CONFIG, "openai: refused (HTTP 400)");
    cw_stage s;
    const char *specs[] = { "+a", "+poison", "+b", NULL };
    stage_of(&s, specs);
    cw_stage_prepare(&e.env, &s, 0, NULL);
    CU_ASSERT_PTR_NULL(s.prepared);                  /* the batch's embedding was refused */
    CU_ASSERT_EQUAL(s.err.code, CW_E_CONFIG);
    cw_error *errs = cw_stage_commit(&e.env, &s);
    CU_ASSERT_PTR_NOT_NULL_FATAL(errs);
    CU_ASSERT_EQUAL(errs[0].code, CW_OK);
    CU_ASSERT_EQUAL(errs[1].code, CW_E_CONFIG);
    CU_ASSERT_STRING_EQUAL(errs[1].msg, "openai: refused (HTTP 400)");
    CU_ASSERT_EQUAL(errs[2].code, CW_OK);
    CU_ASSERT_EQUAL(fake_store_count(e.store), 2);
    CU_ASSERT_PTR_NULL(fake_store_text(e.store, "poison"));
    free(errs);
    stage_free(&s);

    /* A transient failure is everyone's: no per-request results. */
    fake_embedder_fail(e.emb, CW_E_UNAVAILABLE, 2, "openai: 503");
    const char *two[] = { "+c", "+d", NULL };
    stage_of(&s, two);
    cw_stage_prepare(&e.env, &s, 0, NULL);
    CU_ASSERT_PTR_NULL(cw_stage_commit(&e.env, &s));
    CU_ASSERT_EQUAL(s.err.code, CW_E_UNAVAILABLE);
    CU_ASSERT_STRING_EQUAL(s.err.msg, "openai: 503");
    stage_free(&s);
    senv_stop(&e);
}

/* Isolation is a new attempt: a request whose caller already got its 503
 * at the deadline is not applied by it (the client was told it did not
 * happen and sends it again). */
void test_stage_commit_skips_an_expired_request(void)
{
    senv e;
    senv_start(&e);
    fake_embedder_refuse(e.emb, "poison", CW_E_CONFIG, "openai: refused (HTTP 400)");
    cw_stage s;
    const char *specs[] = { "+a", "+poison", "+late", NULL };
    stage_of(&s, specs);
    s.requests->next->next->deadline_ms = cw_now_ms() - 1;
    cw_stage_prepare(&e.env, &s, 0, NULL);
    CU_ASSERT_EQUAL(s.err.code, CW_E_CONFIG);
    cw_error *errs = cw_stage_commit(&e.env, &s);
    CU_ASSERT_PTR_NOT_NULL_FATAL(errs);
    CU_ASSERT_EQUAL(errs[0].code, CW_OK);
    CU_ASSERT_EQUAL(errs[1].code, CW_E_CONFIG);
    CU_ASSERT_EQUAL(errs[2].code, CW_E_UNAVAILABLE);
    CU_ASSERT_STRING_EQUAL(errs[2].msg, "deadline exceeded while the request was being written");
    CU_ASSERT_EQUAL(fake_store_count(e.store), 1);
    CU_ASSERT_PTR_NULL(fake_store_text(e.store, "late"));
    free(errs);
    stage_free(&s);
    senv_stop(&e);
}

void test_stage_drop_through(void)
{
    senv e;
    senv_start(&e);
    cw_stage s;
    const char *specs[] = { "+a", "-x +b", "+c", NULL };
    stage_of(&s, specs);
    cw_stage_prepare(&e.env, &s, 0, NULL);
    CU_ASSERT_PTR_NOT_NULL(s.prepared);
    cw_request *second = s.requests->next;
    cw_stage_drop_through(&s, s.requests);          /* the first is settled */
    CU_ASSERT_PTR_EQUAL(s.requests, second);
    CU_ASSERT_EQUAL(s.n_ops, 3);
    CU_ASSERT_PTR_NULL(s.prepared);                  /* listed and prepared again later */
    CU_ASSERT_PTR_NULL(s.ops);
    cw_stage_prepare(&e.env, &s, 0, NULL);
    CU_ASSERT_EQUAL(cw_stage_write(&e.env, &s), 1);
    CU_ASSERT_EQUAL(s.err.code, CW_OK);
    CU_ASSERT_PTR_NULL(fake_store_text(e.store, "a"));
    CU_ASSERT_EQUAL(fake_store_count(e.store), 2);   /* b, c */
    stage_free(&s);
    senv_stop(&e);
}
