/* The pipeline in journal mode (apply.c) over the fake store and embedder
 * and a real journal (SQLite files in a temporary directory). */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cw_test.h"
#include "pfixture.h"
#include "tests.h"

typedef struct jfixture {
    char dir[128];
    cw_journal *journal;
    fixture fx;
} jfixture;

static void jx_open_journal(jfixture *jx, uint64_t max_bytes)
{
    cw_error err;
    cw_error_clear(&err);
    jx->journal = cw_journal_open(jx->dir, max_bytes, CW_JOURNAL_APPEND, &err);
    if (jx->journal == NULL)
        fprintf(stderr, "\n  journal: %s\n", err.msg);
    CU_ASSERT_PTR_NOT_NULL_FATAL(jx->journal);
}

static void jx_start_pipeline(jfixture *jx, int ack_wait_ms)
{
    cw_pipeline_config cfg;
    cw_pipeline_config_defaults(&cfg);
    cfg.journal = jx->journal;
    cfg.ack_wait_ms = ack_wait_ms;
    cfg.retry_max_ms = 20;
    cfg.batch_linger_ms = 0;
    fx_start(&jx->fx, DIM, &cfg);
}

static void jx_start(jfixture *jx, int ack_wait_ms, uint64_t max_bytes)
{
    memset(jx, 0, sizeof *jx);
    snprintf(jx->dir, sizeof jx->dir, "/tmp/cw-jmode-XXXXXX");
    CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(jx->dir));
    jx_open_journal(jx, max_bytes);
    jx_start_pipeline(jx, ack_wait_ms);
}

static void jx_stop(jfixture *jx)
{
    fx_stop(&jx->fx);
    cw_journal_close(jx->journal);
    char cmd[200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", jx->dir);
    CU_ASSERT_EQUAL(system(cmd), 0);
}

static cw_journal_stats jx_stats(jfixture *jx)
{
    cw_journal_stats st;
    cw_journal_stats_get(jx->journal, &st);
    return st;
}

/* Poll until the journal holds nothing unapplied (10 s at most). */
static void jx_wait_applied(jfixture *jx)
{
    for (int i = 0; i < 1000 && jx_stats(jx).backlog_ops > 0; i++)
        usleep(10000);
    CU_ASSERT_EQUAL(jx_stats(jx).backlog_ops, 0);
}

static char *stored_text(jfixture *jx, const char *id)
{
    return fake_store_text(jx->fx.store, id);
}

void test_journal_applied_answers_ok(void)
{
    jfixture jx;
    jx_start(&jx, 5000, 0);
    cw_pipeline_result res;
    cw_error err;
    CU_ASSERT_EQUAL(fx_submit(&jx.fx, "+a +b", FAR_MS, &res, &err), 0);
    CU_ASSERT_EQUAL(res.accepted, 0);
    CU_ASSERT_EQUAL(res.upserted, 2);
    CU_ASSERT_EQUAL(res.journaled, 2);
    CU_ASSERT_EQUAL(fx_submit(&jx.fx, "-a", FAR_MS, &res, &err), 0);
    CU_ASSERT_EQUAL(res.accepted, 0);
    CU_ASSERT_EQUAL(res.deleted, 1);
    CU_ASSERT(fx_stored_as(&jx.fx, "b", "b"));
    CU_ASSERT_EQUAL(fake_store_count(jx.fx.store), 1);
    cw_journal_stats st = jx_stats(&jx);
    CU_ASSERT_EQUAL(st.backlog_ops, 0);           /* settled: deleted from the journal */
    CU_ASSERT_EQUAL(st.last_seq, 3);
    CU_ASSERT_EQUAL(st.appends, 2);
    /* The empty payload touches nothing, not even the journal. */
    CU_ASSERT_EQUAL(fx_submit(&jx.fx, "", FAR_MS, &res, &err), 0);
    CU_ASSERT_EQUAL(jx_stats(&jx).appends, 2);
    jx_stop(&jx);
}

/* Chroma refuses writes: each request is answered "accepted" after the ack
 * wait, the apply loop retries, and once the store works again the final
 * state is the last request's, in order (x=v1, delete x, x=v3). */
void test_journal_store_down_then_applied_in_order(void)
{
    jfixture jx;
    jx_start(&jx, 100, 0);
    fake_store_fail(jx.fx.store, "upsert", CW_E_UNAVAILABLE, 5,
                    "chroma upsert: HTTP 500: Error sending message to compactor");
    fake_store_fail(jx.fx.store, "remove", CW_E_UNAVAILABLE, 5,
                    "chroma delete: HTTP 500: Error sending message to compactor");
    cw_pipeline_result res;
    cw_error err;
    CU_ASSERT_EQUAL(fx_submit(&jx.fx, "+x:v1", FAR_MS, &res, &err), 0);
    CU_ASSERT_EQUAL(res.accepted, 1);
    CU_ASSERT_EQUAL(res.journaled, 1);
    CU_ASSERT_EQUAL(fx_submit(&jx.fx, "-x", FAR_MS, &res, &err), 0);
    CU_ASSERT_EQUAL(res.accepted, 1);
    CU_ASSERT_EQUAL(fx_submit(&jx.fx, "+x:v3 +y", FAR_MS, &res, &err), 0);
    CU_ASSERT_EQUAL(res.accepted, 1);
    CU_ASSERT_EQUAL(jx_stats(&jx).backlog_ops, 4);

    char why[512] = "";
    CU_ASSERT_EQUAL(cw_pipeline_write_health(jx.fx.p, 0, why, sizeof why), 0);
    CU_ASSERT_STRING_EQUAL(why, "chroma upsert: HTTP 500: Error sending message to compactor");
    cw_pipeline_stats ps;
    cw_pipeline_stats_get(jx.fx.p, &ps);
    CU_ASSERT(ps.apply_errors[CW_E_UNAVAILABLE] >= 1);
    CU_ASSERT_EQUAL(ps.write_failing, 1);
    CU_ASSERT_EQUAL(ps.journaled, 1);
    CU_ASSERT_EQUAL(ps.queue_depth, 4);
    CU_ASSERT_PTR_NULL(stored_text(&jx, "x"));

    fake_store_fail(jx.fx.store, "upsert", CW_OK, 0, NULL);
    fake_store_fail(jx.fx.store, "remove", CW_OK, 0, NULL);
    jx_wait_applied(&jx);
    CU_ASSERT(fx_stored_as(&jx.fx, "x", "v3"));
    CU_ASSERT(fx_stored_as(&jx.fx, "y", "y"));
    CU_ASSERT_EQUAL(fake_store_count(jx.fx.store), 2);
    CU_ASSERT_EQUAL(cw_pipeline_write_health(jx.fx.p, 0, why, sizeof why), 1);
    jx_stop(&jx);
}

/* One request the embedder refuses for good, among others: those are
 * applied, it becomes a dead letter with the reason, nothing is retried
 * forever. */
void test_journal_refused_request_dead_lettered(void)
{
    jfixture jx;
    jx_start(&jx, 50, 0);
    fake_embedder_refuse(jx.fx.emb, "poison", CW_E_CONFIG,
                         "openai: the embedding API refused the request (HTTP 400): too long");
    fake_store_gate(jx.fx.store, 1);             /* hold the first batch at its write */
    cw_pipeline_result res;
    cw_error err;
    CU_ASSERT_EQUAL(fx_submit(&jx.fx, "+a", FAR_MS, &res, &err), 0);
    CU_ASSERT_EQUAL(res.accepted, 1);
    fake_store_wait_entered(jx.fx.store, 1);
    CU_ASSERT_EQUAL(fx_submit(&jx.fx, "+x", FAR_MS, &res, &err), 0);
    CU_ASSERT_EQUAL(fx_submit(&jx.fx, "+poison", FAR_MS, &res, &err), 0);
    CU_ASSERT_EQUAL(fx_submit(&jx.fx, "-a +y", FAR_MS, &res, &err), 0);
    CU_ASSERT_EQUAL(res.accepted, 1);
    fake_store_gate(jx.fx.store, 0);
    jx_wait_applied(&jx);
    CU_ASSERT(fx_stored_as(&jx.fx, "x", "x"));
    CU_ASSERT(fx_stored_as(&jx.fx, "y", "y"));
    CU_ASSERT_EQUAL(fake_store_count(jx.fx.store), 2);   /* a deleted, poison never stored */
    cw_journal_stats st = jx_stats(&jx);
    CU_ASSERT_EQUAL(st.dead_letters, 1);
    CU_ASSERT_EQUAL(cw_journal_dead_in_range(jx.journal, 3, 3), 1);   /* +poison is seq 3 */
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    cw_error_clear(&err);
    CU_ASSERT_EQUAL(cw_journal_dead_print(jx.journal, out, 0, 0, &err), 1);
    fclose(out);
    CU_ASSERT_STRING_EQUAL(text, "3 upsert poison: openai: the embedding API refused the request "
                                 "(HTTP 400): too long\n");
    free(text);
    cw_pipeline_stats ps;
    cw_pipeline_stats_get(jx.fx.p, &ps);
    CU_ASSERT_EQUAL(ps.dead_lettered, 1);
    jx_stop(&jx);
}

/* Alone in its batch and refused (a Chroma 4xx) on every try: a dead
 * letter after 5 tries, and what comes next is applied. */
void test_journal_alone_refused_becomes_dead_letter(void)
{
    jfixture jx;
    jx_start(&jx, 5000, 0);
    fake_store_fail(jx.fx.store, "upsert", CW_E_INTERNAL, 0,
                    "chroma upsert: HTTP 422: metadata value too long");
    cw_pipeline_result res;
    cw_error err;
    CU_ASSERT_EQUAL(fx_submit(&jx.fx, "+a", FAR_MS, &res, &err), 0);
    /* settled (as a dead letter) within the ack wait: 200 saying so */
    CU_ASSERT_EQUAL(res.accepted, 0);
    CU_ASSERT_EQUAL(res.dead_lettered, 1);
    CU_ASSERT_EQUAL(jx_stats(&jx).dead_letters, 1);
    fake_store_fail(jx.fx.store, "upsert", CW_OK, 0, NULL);
    CU_ASSERT_EQUAL(fx_submit(&jx.fx, "+b", FAR_MS, &res, &err), 0);
    CU_ASSERT_EQUAL(res.accepted, 0);
    CU_ASSERT_EQUAL(res.dead_lettered, 0);
    CU_ASSERT(fx_stored_as(&jx.fx, "b", "b"));
    cw_pipeline_stats ps;
    cw_pipeline_stats_get(jx.fx.p, &ps);
    CU_ASSERT_EQUAL(ps.apply_errors[CW_E_INTERNAL], 5);
    jx_stop(&jx);
}

/* What is not applied when the pipeline stops is applied by the next one
 * over the same journal (a restart). */
void test_journal_replayed_after_restart(void)
{
    jfixture jx;
    jx_start(&jx, 50, 0);
    fake_embedder_fail(jx.fx.emb, CW_E_UNAVAILABLE, 2, "openai: cannot reach the API");
    cw_pipeline_result res;
    cw_error err;
    CU_ASSERT_EQUAL(fx_submit(&jx.fx, "+a -z", FAR_MS, &res, &err), 0);
    CU_ASSERT_EQUAL(res.accepted, 1);
    CU_ASSERT_EQUAL(fx_submit(&jx.fx, "+b", FAR_MS, &res, &err), 0);
    CU_ASSERT_EQUAL(res.accepted, 1);
    /* The shutdown gives up at its drain deadline: it returns while the
     * embedder still fails (no call succeeded, so nothing was applied and
     * the whole backlog is still journaled: backlog_ops 3 below). One that
     * waited for the embedder to recover would never return (ctest
     * TIMEOUT); no wall-time bound, which a loaded machine could miss. */
    cw_pipeline_shutdown(jx.fx.p, cw_now_ms() + 100);
    fx_stop(&jx.fx);
    cw_journal_close(jx.journal);

    jx_open_journal(&jx, 0);
    CU_ASSERT_EQUAL(jx_stats(&jx).backlog_ops, 3);
    jx_start_pipeline(&jx, 50);                  /* a working embedder */
    jx_wait_applied(&jx);
    CU_ASSERT(fx_stored_as(&jx.fx, "a", "a"));
    CU_ASSERT(fx_stored_as(&jx.fx, "b", "b"));
    CU_ASSERT_EQUAL(fx_submit(&jx.fx, "+c", FAR_MS, &res, &err), 0);
    CU_ASSERT_EQUAL(res.accepted, 0);
    jx_stop(&jx);
}

/* Issue 14: journaled with its cluster, applied after a restart as it was
 * sent — the qualified id, the text naming the cluster, the metadata. */
void test_journal_cluster_replayed_after_restart(void)
{
    jfixture jx;
    jx_start(&jx, 50, 0);
    fake_embedder_fail(jx.fx.emb, CW_E_UNAVAILABLE, 2, "openai: cannot reach the API");
    cw_pipeline_result res;
    cw_error err;
    CU_ASSERT_EQUAL(fx_submit_in(&jx.fx, "prod-eu", "+a -z", FAR_MS, &res, &err), 0);
    CU_ASSERT_EQUAL(res.accepted, 1);
    CU_ASSERT_EQUAL(fx_submit(&jx.fx, "+a:b", FAR_MS, &res, &err), 0);
    CU_ASSERT_EQUAL(res.accepted, 1);
    cw_pipeline_shutdown(jx.fx.p, cw_now_ms() + 100);
    fx_stop(&jx.fx);
    cw_journal_close(jx.journal);

    jx_open_journal(&jx, 0);
    CU_ASSERT_EQUAL(jx_stats(&jx).backlog_ops, 3);
    jx_start_pipeline(&jx, 50);
    jx_wait_applied(&jx);
    CU_ASSERT_EQUAL(fake_store_count(jx.fx.store), 2);
    char *t = fake_store_text(jx.fx.store, "prod-eu:a");
    CU_ASSERT_PTR_NOT_NULL(t);
    if (t != NULL)
        CU_ASSERT_STRING_EQUAL(t, "Deployment a | namespace: default | cluster: prod-eu | apiVersion: apps/v1");
    free(t);
    char *c = fake_store_cluster(jx.fx.store, "prod-eu:a");
    CU_ASSERT_PTR_NOT_NULL(c);
    if (c != NULL)
        CU_ASSERT_STRING_EQUAL(c, "prod-eu");
    free(c);
    CU_ASSERT(fx_stored_as(&jx.fx, "a", "b"));
    c = fake_store_cluster(jx.fx.store, "a");
    CU_ASSERT_PTR_NULL(c);
    jx_stop(&jx);
}

/* The journal full: 503 + Retry-After, what was accepted is kept. */
void test_journal_full_is_503(void)
{
    jfixture jx;
    jx_start(&jx, 20, 400);
    fake_store_fail(jx.fx.store, "upsert", CW_E_UNAVAILABLE, 5, "chroma upsert: no answer");
    cw_pipeline_result res;
    cw_error err;
    int ok = 0, full = 0;
    for (int i = 0; i < 10; i++) {
        char spec[16];
        snprintf(spec, sizeof spec, "+r%d", i);
        if (fx_submit(&jx.fx, spec, FAR_MS, &res, &err) == 0) {
            CU_ASSERT_EQUAL(res.accepted, 1);
            ok++;
        } else {
            CU_ASSERT_EQUAL(err.code, CW_E_UNAVAILABLE);
            CU_ASSERT_EQUAL(err.retry_after_s, 5);
            CU_ASSERT(strncmp(err.msg, "journal full: ", 14) == 0);
            full++;
        }
    }
    CU_ASSERT(ok >= 1);
    CU_ASSERT(full >= 1);
    CU_ASSERT_EQUAL(jx_stats(&jx).backlog_ops, (uint64_t)ok);
    fake_store_fail(jx.fx.store, "upsert", CW_OK, 0, NULL);
    jx_wait_applied(&jx);
    CU_ASSERT_EQUAL(fake_store_count(jx.fx.store), (size_t)ok);
    jx_stop(&jx);
}

/* Many threads at once: every request durable, every op applied once. */
typedef struct jsub {
    cw_pipeline *p;
    int index;
    int failed;
} jsub;

static void *jsub_main(void *arg)
{
    jsub *s = arg;
    for (int k = 0; k < 20; k++) {
        char spec[32];
        snprintf(spec, sizeof spec, "+t%d-%d", s->index, k);
        cw_sync_payload *payload = tp_new(spec);
        cw_pipeline_result res;
        cw_error err;
        cw_error_clear(&err);
        if (cw_pipeline_submit(s->p, payload, FAR_MS, &res, &err) != 0)
            s->failed++;
        tp_free(payload);
    }
    return NULL;
}

void test_journal_many_threads(void)
{
    jfixture jx;
    jx_start(&jx, 2000, 0);
    enum { T = 16 };
    jsub subs[T];
    pthread_t th[T];
    for (int i = 0; i < T; i++) {
        subs[i] = (jsub){ .p = jx.fx.p, .index = i };
        pthread_create(&th[i], NULL, jsub_main, &subs[i]);
    }
    for (int i = 0; i < T; i++) {
        pthread_join(th[i], NULL);
        CU_ASSERT_EQUAL(subs[i].failed, 0);
    }
    jx_wait_applied(&jx);
    CU_ASSERT_EQUAL(fake_store_count(jx.fx.store), T * 20);
    cw_journal_stats st = jx_stats(&jx);
    CU_ASSERT_EQUAL(st.appends, T * 20);
    CU_ASSERT(st.group_commits <= st.appends);
    jx_stop(&jx);
}
