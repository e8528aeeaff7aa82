/* Requests of a cluster (issue 14) through the pipeline, over the fake
 * store: the same controller id in two clusters is two documents, a
 * delete in one leaves the other, coalescing and skip-unchanged hold per
 * (cluster, id), and what could touch another cluster is refused before
 * anything is written. */
#include <stdlib.h>
#include <string.h>

#include "cw_test.h"
#include "pfixture.h"
#include "tests.h"

static void expect_text(fixture *fx, const char *id, const char *want)
{
    char *t = fake_store_text(fx->store, id);
    if (want == NULL) {
        CU_ASSERT_PTR_NULL(t);
    } else {
        CU_ASSERT_PTR_NOT_NULL(t);
        if (t != NULL)
            CU_ASSERT_STRING_EQUAL(t, want);
    }
    free(t);
}

static void expect_cluster(fixture *fx, const char *id, const char *want)
{
    char *c = fake_store_cluster(fx->store, id);
    if (want == NULL) {
        CU_ASSERT_PTR_NULL(c);
    } else {
        CU_ASSERT_PTR_NOT_NULL(c);
        if (c != NULL)
            CU_ASSERT_STRING_EQUAL(c, want);
    }
    free(c);
}

void test_clusters_same_id_apart(void)
{
    fixture fx;
    fx_start(&fx, DIM, NULL);
    cw_pipeline_result res;
    cw_error err;
    CU_ASSERT_EQUAL(fx_submit_in(&fx, "prod", "+a", FAR_MS, &res, &err), 0);
    CU_ASSERT_EQUAL(fx_submit_in(&fx, "dev", "+a:b", FAR_MS, &res, &err), 0);
    CU_ASSERT_EQUAL(fx_submit(&fx, "+a", FAR_MS, &res, &err), 0);
    CU_ASSERT_EQUAL(res.upserted, 1);
    fx_assert_log(&fx, "get(prod:a) upsert(prod:a) get(dev:a) upsert(dev:a) get(a) upsert(a)");
    CU_ASSERT_EQUAL(fake_store_count(fx.store), 3);
    expect_text(&fx, "prod:a", "Deployment a | namespace: default | cluster: prod | apiVersion: apps/v1");
    expect_text(&fx, "dev:a", "Deployment b | namespace: default | cluster: dev | apiVersion: apps/v1");
    expect_text(&fx, "a", "Deployment a | namespace: default | apiVersion: apps/v1");
    expect_cluster(&fx, "prod:a", "prod");
    expect_cluster(&fx, "dev:a", "dev");
    expect_cluster(&fx, "a", NULL);

    /* a delete of dev's a leaves prod's and the one of no cluster */
    CU_ASSERT_EQUAL(fx_submit_in(&fx, "dev", "-a", FAR_MS, &res, &err), 0);
    CU_ASSERT_EQUAL(res.deleted, 1);
    fx_assert_log(&fx, "remove(dev:a)");
    CU_ASSERT_EQUAL(fake_store_count(fx.store), 2);
    expect_text(&fx, "dev:a", NULL);
    expect_text(&fx, "prod:a", "Deployment a | namespace: default | cluster: prod | apiVersion: apps/v1");
    /* and one of no cluster deletes its own only */
    CU_ASSERT_EQUAL(fx_submit(&fx, "-a", FAR_MS, &res, &err), 0);
    fx_assert_log(&fx, "remove(a)");
    CU_ASSERT_EQUAL(fake_store_count(fx.store), 1);
    expect_cluster(&fx, "prod:a", "prod");
    fx_stop(&fx);
}

/* Queued together, ops coalesce per (cluster, id): prod's delete of x wins
 * over prod's upsert of x, and never over dev's upsert of x. */
void test_clusters_coalesced_per_cluster_id(void)
{
    fixture fx;
    fx_start(&fx, DIM, NULL);
    submitter h, q[3];
    fx_hold(&fx, &h, "+h", 0);
    submitter_start_in(&q[0], fx.p, "prod", "+x:v1", FAR_MS);
    fx_wait_queued(&fx, 1);
    submitter_start_in(&q[1], fx.p, "dev", "+x:v2", FAR_MS);
    fx_wait_queued(&fx, 2);
    submitter_start_in(&q[2], fx.p, "prod", "-x", FAR_MS);
    fx_wait_queued(&fx, 3);
    fake_store_gate_gets(fx.store, 0);
    fake_store_wait_gets(fx.store, 2);
    fake_store_gate(fx.store, 0);
    submitter_join(&h);
    CU_ASSERT_EQUAL(h.rc, 0);
    for (int i = 0; i < 3; i++) {
        submitter_join(&q[i]);
        CU_ASSERT_EQUAL(q[i].rc, 0);
    }
    fx_assert_log(&fx, "get(h) get(dev:x) upsert(h) remove(prod:x) upsert(dev:x)");
    expect_text(&fx, "dev:x", "Deployment v2 | namespace: default | cluster: dev | apiVersion: apps/v1");
    expect_text(&fx, "prod:x", NULL);
    CU_ASSERT_EQUAL(fake_store_count(fx.store), 2);
    fx_stop(&fx);
}

/* A re-sent unchanged document is not written again, per cluster: the
 * stored cluster is part of what is compared. */
void test_clusters_skip_unchanged_per_cluster(void)
{
    fixture fx;
    fx_start(&fx, DIM, NULL);
    cw_pipeline_result res;
    cw_error err;
    CU_ASSERT_EQUAL(fx_submit_in(&fx, "prod", "+a", FAR_MS, &res, &err), 0);
    CU_ASSERT_EQUAL(fake_embedder_calls(fx.emb), 1);
    fx_assert_log(&fx, "get(prod:a) upsert(prod:a)");
    CU_ASSERT_EQUAL(fx_submit_in(&fx, "prod", "+a", FAR_MS, &res, &err), 0);
    fx_assert_log(&fx, "get(prod:a)");                /* stored exactly: no write */
    CU_ASSERT_EQUAL(fake_embedder_calls(fx.emb), 1);
    CU_ASSERT_EQUAL(fx_submit_in(&fx, "dev", "+a", FAR_MS, &res, &err), 0);
    fx_assert_log(&fx, "get(dev:a) upsert(dev:a)");   /* another cluster's: its own */
    CU_ASSERT_EQUAL(fake_embedder_calls(fx.emb), 2);
    cw_pipeline_stats st;
    cw_pipeline_stats_get(fx.p, &st);
    CU_ASSERT_EQUAL(st.upserts_unchanged, 1);
    fx_stop(&fx);
}

/* Of no cluster, an id shaped NAME:... is refused (it would be that
 * cluster's document); in a cluster it is just an id. A bad name is
 * refused. Nothing reaches the store either way. */
void test_clusters_refused_before_the_store(void)
{
    fixture fx;
    fx_start(&fx, DIM, NULL);
    cw_pipeline_result res;
    cw_error err;
    cw_sync_payload *p = tp_new("+x");
    free((char *)p->upserts.items[0].id);
    p->upserts.items[0].id = strdup("prod:default/apps/v1/Deployment/x");
    cw_error_clear(&err);
    CU_ASSERT_EQUAL(cw_pipeline_submit(fx.p, p, FAR_MS, &res, &err), -1);
    CU_ASSERT_EQUAL(err.code, CW_E_INVALID);
    CU_ASSERT_STRING_EQUAL(err.msg, "id 'prod:...' reads as an id of cluster 'prod': name the "
                                    "cluster of the request instead");
    fx_assert_log(&fx, "");
    cw_error_clear(&err);
    CU_ASSERT_EQUAL(cw_pipeline_submit_in(fx.p, "Prod", p, FAR_MS, &res, &err), -1);
    CU_ASSERT_EQUAL(err.code, CW_E_INVALID);
    CU_ASSERT_STRING_EQUAL(err.msg, "cluster name 'Prod' is not a DNS-1123 label: 1-63 characters "
                                    "of a-z, 0-9 and '-', starting and ending with a letter or "
                                    "digit ('P' at position 1)");
    fx_assert_log(&fx, "");
    cw_error_clear(&err);
    CU_ASSERT_EQUAL(cw_pipeline_submit_in(fx.p, "dev", p, FAR_MS, &res, &err), 0);
    fx_assert_log(&fx, "get(dev:prod:default/apps/v1/Deployment/x) upsert(dev:prod:default/apps/v1/Deployment/x)");
    tp_free(p);

    p = tp_new("-x");
    free((char *)p->deletes.items[0]);
    p->deletes.items[0] = strdup("eu-1:x");
    cw_error_clear(&err);
    CU_ASSERT_EQUAL(cw_pipeline_submit(fx.p, p, FAR_MS, &res, &err), -1);
    CU_ASSERT_EQUAL(err.code, CW_E_INVALID);
    fx_assert_log(&fx, "");
    tp_free(p);
    fx_stop(&fx);
}
