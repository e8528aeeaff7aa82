/* Contract tests over real HTTP: what the controller expects from
 * POST /api/v1/instances/sync (DESIGN §3, §6), against the real pipeline,
 * the real Chroma and the mock embedding server. Effects are read from
 * Chroma, never taken from our own answer. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <json-c/json.h>

#include "cw_test.h"
#include "http_fixture.h"

#define PRD_ID "default/apps/v1/Deployment/nginx"
#define PRD_PAYLOAD                                                                     \
    "{\"upserts\":[{\"id\":\"default/apps/v1/Deployment/nginx\",\"namespace\":\"default\"," \
    "\"name\":\"nginx\",\"kind\":\"Deployment\",\"apiVersion\":\"apps/v1\","              \
    "\"apiGroup\":\"apps\",\"labels\":{\"app\":\"nginx\",\"tier\":\"frontend\"},"          \
    "\"annotations\":{\"description\":\"Main web server\"},"                             \
    "\"createdAt\":\"2026-02-20T10:00:00Z\"}],"                                           \
    "\"deletes\":[\"default/apps/v1/Deployment/old-service\"]}"

static fx F;

static int open_default(void)
{
    fx_opts o;
    memset(&o, 0, sizeof o);
    return fx_open(&F, &o);
}

/* POST `json`; assert the status and, when `want_body` is not NULL, the
 * exact body. */
static void post_expect(const char *json, long want_status, const char *want_body)
{
    http_reply r;
    http_post_sync(F.base, json, &r);
    CU_ASSERT_EQUAL(r.status, want_status);
    if (want_body != NULL)
        CU_ASSERT_STRING_EQUAL(r.body, want_body);
    if (r.status != want_status || (want_body != NULL && strcmp(r.body, want_body) != 0))
        fprintf(stderr, "\n  got %ld %s\n", r.status, r.body);
    http_reply_free(&r);
}

/* {"upserts":[<instances ns/name for names>], "deletes":[<ids>]} */
static char *payload(const char *ns, const char *const *upserts, size_t nu,
                     const char *const *deletes, size_t nd)
{
    char *out = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&out, &len);
    if (f == NULL)
        return NULL;
    fputs("{\"upserts\":[", f);
    for (size_t i = 0; i < nu; i++) {
        char *inst = fx_instance(ns, upserts[i]);
        fprintf(f, "%s%s", i > 0 ? "," : "", inst);
        free(inst);
    }
    fputs("],\"deletes\":[", f);
    for (size_t i = 0; i < nd; i++)
        fprintf(f, "%s\"%s\"", i > 0 ? "," : "", deletes[i]);
    fputs("]}", f);
    fclose(f);
    return out;
}

static char *id_of(const char *ns, const char *name)
{
    return fx_printf("%s/apps/v1/Deployment/%s", ns, name);
}

static void assert_stored(const char *ns, const char *name, int want)
{
    char *id = id_of(ns, name);
    int got = fx_stored(&F, id);
    CU_ASSERT_EQUAL(got, want);
    if (got != want)
        fprintf(stderr, "\n  %s: stored=%d, want %d\n", id, got, want);
    free(id);
}

/* ---- success ------------------------------------------------------------ */

static void test_prd_example_stored_exactly(void)
{
    CU_ASSERT_FATAL(open_default() == 0);
    post_expect(PRD_PAYLOAD, 200, "{\"status\":\"ok\",\"upserted\":1,\"deleted\":1}");

    cw_chroma_records recs;
    cw_error err;
    cw_error_clear(&err);
    const char *ids[1] = { PRD_ID };
    CU_ASSERT_FATAL(cw_chroma_get(F.direct, ids, 1, 1, &recs, &err) == 0);
    CU_ASSERT_EQUAL_FATAL(recs.len, 1);
    cw_chroma_record *rec = &recs.items[0];
    CU_ASSERT_STRING_EQUAL(rec->id, PRD_ID);
    CU_ASSERT_STRING_EQUAL(rec->document,
                           "Deployment nginx | namespace: default | apiVersion: apps/v1"
                           " | labels: app=nginx, tier=frontend | Main web server");
    CU_ASSERT_STRING_EQUAL(rec->namespace, "default");
    CU_ASSERT_STRING_EQUAL(rec->name, "nginx");
    CU_ASSERT_STRING_EQUAL(rec->kind, "Deployment");
    CU_ASSERT_STRING_EQUAL(rec->api_version, "apps/v1");
    CU_ASSERT_STRING_EQUAL(rec->api_group, "apps");
    CU_ASSERT_STRING_EQUAL(rec->labels, "app=nginx,tier=frontend");
    CU_ASSERT_STRING_EQUAL(rec->source, "resource-sync");
    CU_ASSERT_EQUAL(recs.dim, FX_DIM);
    /* The stored vector is the embedder's vector of the document text. */
    float want[FX_DIM];
    cw_mock_embedder_vector(rec->document, FX_DIM, want);
    for (size_t i = 0; i < FX_DIM && rec->embedding != NULL; i++)
        CU_ASSERT_DOUBLE_EQUAL(rec->embedding[i], want[i], 1e-6);
    cw_chroma_records_free(&recs);
    CU_ASSERT_EQUAL(fx_count(&F), 1);
    fx_close(&F);
}

static void test_empty_payloads_touch_nothing(void)
{
    CU_ASSERT_FATAL(open_default() == 0);
    unsigned long calls = cw_mock_embedder_calls(F.mock);
    unsigned long chroma_calls = cw_fault_proxy_calls(F.proxy, "");
    cw_pipeline_stats before = fx_stats(&F);
    const char *empties[] = {
        "{}",
        "{\"upserts\":[],\"deletes\":[]}",
        "{\"upserts\":null,\"deletes\":null}",
        " { \"upserts\" : [ ] } \n",
        "{\"unknown\":1}",
    };
    for (size_t i = 0; i < sizeof empties / sizeof empties[0]; i++)
        post_expect(empties[i], 200, "{\"status\":\"ok\",\"upserted\":0,\"deleted\":0}");
    CU_ASSERT_EQUAL(cw_mock_embedder_calls(F.mock), calls);
    CU_ASSERT_EQUAL(cw_fault_proxy_calls(F.proxy, ""), chroma_calls);
    cw_pipeline_stats after = fx_stats(&F);
    CU_ASSERT_EQUAL(after.store_calls, before.store_calls);
    CU_ASSERT_EQUAL(after.embed_calls, before.embed_calls);
    CU_ASSERT_EQUAL(fx_count(&F), 0);
    fx_close(&F);
}

/* The controller re-sends everything after a restart: instances whose text
 * is unchanged in Chroma cost no embedding call (DESIGN §6), read back from
 * the real Chroma; a changed one costs exactly one input. */
static void test_resent_unchanged_costs_no_embedding(void)
{
    CU_ASSERT_FATAL(open_default() == 0);
    const char *names[] = { "web", "api", "caf\xc3\xa9-\xe6\x95\xb0\xe6\x8d\xae\xe5\xba\x93" };
    char *p = payload("re", names, 3, NULL, 0);
    post_expect(p, 200, "{\"status\":\"ok\",\"upserted\":3,\"deleted\":0}");
    post_expect(PRD_PAYLOAD, 200, "{\"status\":\"ok\",\"upserted\":1,\"deleted\":1}");
    unsigned long inputs = cw_mock_embedder_inputs(F.mock);
    cw_pipeline_stats before = fx_stats(&F);

    post_expect(p, 200, "{\"status\":\"ok\",\"upserted\":3,\"deleted\":0}");
    post_expect(PRD_PAYLOAD, 200, "{\"status\":\"ok\",\"upserted\":1,\"deleted\":1}");
    CU_ASSERT_EQUAL(cw_mock_embedder_inputs(F.mock), inputs);
    cw_pipeline_stats after = fx_stats(&F);
    CU_ASSERT_EQUAL(after.embed_reused - before.embed_reused, 4);
    free(p);

    /* one instance changed (another label): one text embedded */
    char *changed = fx_instance("re", "web");
    char *q = changed != NULL ? strstr(changed, "\"app\":\"web\"") : NULL;
    CU_ASSERT_PTR_NOT_NULL_FATAL(q);
    memcpy(q, "\"app\":\"WEB\"", strlen("\"app\":\"WEB\""));
    char *body = fx_printf("{\"upserts\":[%s]}", changed);
    post_expect(body, 200, "{\"status\":\"ok\",\"upserted\":1,\"deleted\":0}");
    CU_ASSERT_EQUAL(cw_mock_embedder_inputs(F.mock), inputs + 1);
    char *text = fx_stored_text(&F, "re/apps/v1/Deployment/web");
    CU_ASSERT_PTR_NOT_NULL(text);
    if (text != NULL)
        CU_ASSERT_STRING_EQUAL(text, "Deployment web | namespace: re | apiVersion: apps/v1"
                                     " | labels: app=WEB");
    free(text);
    free(body);
    free(changed);
    CU_ASSERT_EQUAL(fx_count(&F), 4);
    fx_close(&F);
}

static void test_multiple_upserts(void)
{
    CU_ASSERT_FATAL(open_default() == 0);
    const char *names[] = { "web", "api", "db" };
    char *p = payload("shop", names, 3, NULL, 0);
    post_expect(p, 200, "{\"status\":\"ok\",\"upserted\":3,\"deleted\":0}");
    free(p);
    CU_ASSERT_EQUAL(fx_count(&F), 3);
    for (size_t i = 0; i < 3; i++)
        assert_stored("shop", names[i], 1);
    char *text = fx_stored_text(&F, "shop/apps/v1/Deployment/api");
    CU_ASSERT_PTR_NOT_NULL(text);
    if (text != NULL)
        CU_ASSERT_STRING_EQUAL(text, "Deployment api | namespace: shop | apiVersion: apps/v1"
                                     " | labels: app=api");
    free(text);
    fx_close(&F);
}

static void test_deletes(void)
{
    CU_ASSERT_FATAL(open_default() == 0);
    const char *names[] = { "a", "b", "c", "d" };
    char *p = payload("ns", names, 4, NULL, 0);
    post_expect(p, 200, "{\"status\":\"ok\",\"upserted\":4,\"deleted\":0}");
    free(p);
    CU_ASSERT_EQUAL(fx_count(&F), 4);

    /* One delete (what the controller sends). */
    post_expect("{\"upserts\":null,\"deletes\":[\"ns/apps/v1/Deployment/a\"]}", 200,
                "{\"status\":\"ok\",\"upserted\":0,\"deleted\":1}");
    assert_stored("ns", "a", 0);
    assert_stored("ns", "b", 1);

    /* Several deletes, one of them not stored (not an error). */
    post_expect("{\"deletes\":[\"ns/apps/v1/Deployment/b\",\"ns/apps/v1/Deployment/c\","
                "\"ns/apps/v1/Deployment/never\"]}",
                200, "{\"status\":\"ok\",\"upserted\":0,\"deleted\":3}");
    assert_stored("ns", "b", 0);
    assert_stored("ns", "c", 0);
    assert_stored("ns", "d", 1);
    CU_ASSERT_EQUAL(fx_count(&F), 1);
    fx_close(&F);
}

static void test_empty_deletes_skip_chroma_delete(void)
{
    CU_ASSERT_FATAL(open_default() == 0);
    unsigned long deletes = cw_fault_proxy_calls(F.proxy, "/delete");
    const char *names[] = { "x" };
    char *p = payload("ns", names, 1, NULL, 0);        /* "deletes":[] */
    post_expect(p, 200, "{\"status\":\"ok\",\"upserted\":1,\"deleted\":0}");
    free(p);
    char *inst = fx_instance("ns", "y");
    p = fx_printf("{\"upserts\":[%s],\"deletes\":null}", inst);
    post_expect(p, 200, "{\"status\":\"ok\",\"upserted\":1,\"deleted\":0}");
    free(p);
    free(inst);
    CU_ASSERT_EQUAL(cw_fault_proxy_calls(F.proxy, "/delete"), deletes);
    CU_ASSERT(cw_fault_proxy_calls(F.proxy, "/upsert") >= 1);
    assert_stored("ns", "x", 1);
    assert_stored("ns", "y", 1);
    fx_close(&F);
}

static void test_mixed_deletes_before_upserts(void)
{
    CU_ASSERT_FATAL(open_default() == 0);
    const char *first[] = { "keep", "gone", "both" };
    char *p = payload("m", first, 3, NULL, 0);
    post_expect(p, 200, "{\"status\":\"ok\",\"upserted\":3,\"deleted\":0}");
    free(p);

    /* Mixed: upsert new + "both", delete "gone" and "both". Deletes go
     * first, so "both" ends up present (with its new text). */
    char *inst_new = fx_instance("m", "new");
    char *inst_both = fx_printf("{\"id\":\"m/apps/v1/Deployment/both\",\"namespace\":\"m\","
                                "\"name\":\"both\",\"kind\":\"Deployment\",\"apiVersion\":\"apps/v1\","
                                "\"apiGroup\":\"apps\",\"labels\":null,"
                                "\"annotations\":{\"note\":\"second version\"},"
                                "\"createdAt\":\"2026-02-20T10:00:00Z\"}");
    p = fx_printf("{\"upserts\":[%s,%s],\"deletes\":[\"m/apps/v1/Deployment/gone\","
                  "\"m/apps/v1/Deployment/both\"]}", inst_new, inst_both);
    post_expect(p, 200, "{\"status\":\"ok\",\"upserted\":2,\"deleted\":2}");
    free(p);
    free(inst_new);
    free(inst_both);
    assert_stored("m", "keep", 1);
    assert_stored("m", "gone", 0);
    assert_stored("m", "new", 1);
    assert_stored("m", "both", 1);
    char *text = fx_stored_text(&F, "m/apps/v1/Deployment/both");
    CU_ASSERT_PTR_NOT_NULL(text);
    if (text != NULL)
        CU_ASSERT_STRING_EQUAL(text, "Deployment both | namespace: m | apiVersion: apps/v1"
                                     " | second version");
    free(text);
    CU_ASSERT_EQUAL(fx_count(&F), 3);

    /* The same id only in one request, deleted and upserted: present. */
    char *inst = fx_instance("m", "fresh");
    p = fx_printf("{\"deletes\":[\"m/apps/v1/Deployment/fresh\"],\"upserts\":[%s]}", inst);
    post_expect(p, 200, "{\"status\":\"ok\",\"upserted\":1,\"deleted\":1}");
    free(p);
    free(inst);
    assert_stored("m", "fresh", 1);
    fx_close(&F);
}

static void test_thousand_instances(void)
{
    CU_ASSERT_FATAL(open_default() == 0);
    const char **names = calloc(1000, sizeof *names);
    char **owned = calloc(1000, sizeof *owned);
    CU_ASSERT_PTR_NOT_NULL_FATAL(names);
    CU_ASSERT_PTR_NOT_NULL_FATAL(owned);
    for (size_t i = 0; i < 1000; i++) {
        owned[i] = fx_printf("svc-%04zu", i);
        names[i] = owned[i];
    }
    char *p = payload("bulk", names, 1000, NULL, 0);
    post_expect(p, 200, "{\"status\":\"ok\",\"upserted\":1000,\"deleted\":0}");
    free(p);
    CU_ASSERT_EQUAL(fx_count(&F), 1000);
    assert_stored("bulk", "svc-0000", 1);
    assert_stored("bulk", "svc-0999", 1);
    for (size_t i = 0; i < 1000; i++)
        free(owned[i]);
    free(owned);
    free(names);
    fx_close(&F);
}

/* ---- payloads that can never succeed: 400, and nothing touched ----------- */

/* POST `json`; assert 400 with one detail of `code` at `path` (JSON array
 * text) and the "Invalid payload" shape. */
static void expect_invalid(const char *json, const char *code, const char *path)
{
    http_reply r;
    http_post_sync(F.base, json, &r);
    CU_ASSERT_EQUAL(r.status, 400);
    char ct[128];
    CU_ASSERT(http_reply_header(&r, "Content-Type", ct, sizeof ct) == 1);
    CU_ASSERT_STRING_EQUAL(ct, "application/json");
    struct json_object *root = json_tokener_parse(r.body);
    CU_ASSERT_PTR_NOT_NULL(root);
    struct json_object *error = NULL, *details = NULL;
    if (root != NULL) {
        CU_ASSERT(json_object_object_get_ex(root, "error", &error));
        CU_ASSERT(json_object_object_get_ex(root, "details", &details));
        CU_ASSERT_EQUAL(json_object_object_length(root), 2);
    }
    if (error != NULL)
        CU_ASSERT_STRING_EQUAL(json_object_get_string(error), "Invalid payload");
    if (details != NULL && json_object_is_type(details, json_type_array) &&
        json_object_array_length(details) >= 1) {
        struct json_object *d = json_object_array_get_idx(details, 0), *v = NULL;
        CU_ASSERT(json_object_object_get_ex(d, "code", &v));
        CU_ASSERT_STRING_EQUAL(json_object_get_string(v), code);
        CU_ASSERT(json_object_object_get_ex(d, "path", &v));
        CU_ASSERT_STRING_EQUAL(json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN), path);
        CU_ASSERT(json_object_object_get_ex(d, "message", &v));
        CU_ASSERT(json_object_is_type(v, json_type_string) && json_object_get_string_len(v) > 0);
    } else {
        CU_FAIL("no details array");
    }
    if (r.status != 400)
        fprintf(stderr, "\n  got %ld %s for %.80s\n", r.status, r.body, json);
    json_object_put(root);
    http_reply_free(&r);
}

static void test_invalid_payloads_are_400_and_touch_nothing(void)
{
    CU_ASSERT_FATAL(open_default() == 0);
    unsigned long calls = cw_mock_embedder_calls(F.mock);
    unsigned long chroma_calls = cw_fault_proxy_calls(F.proxy, "");
    cw_pipeline_stats before = fx_stats(&F);

    expect_invalid("{\"upserts\": [", "invalid_json", "[]");
    expect_invalid("", "invalid_json", "[]");
    expect_invalid("   ", "invalid_json", "[]");
    expect_invalid("{} {}", "invalid_json", "[]");
    expect_invalid("[1,2]", "not_object", "[]");
    expect_invalid("\"text\"", "not_object", "[]");
    expect_invalid("42", "not_object", "[]");
    expect_invalid("null", "not_object", "[]");
    expect_invalid("{\"upserts\":{}}", "invalid_type", "[\"upserts\"]");
    expect_invalid("{\"deletes\":[1]}", "invalid_type", "[\"deletes\",0]");
    expect_invalid("{\"upserts\":[{\"id\":\"a\",\"namespace\":\"n\",\"name\":\"a\","
                   "\"kind\":\"K\",\"apiVersion\":\"v1\",\"apiGroup\":\"\"}]}",
                   "required", "[\"upserts\",0,\"createdAt\"]");
    expect_invalid("{\"upserts\":[{\"id\":\"a\",\"namespace\":\"n\",\"name\":\"a\","
                   "\"kind\":\"K\",\"apiVersion\":\"v1\",\"apiGroup\":\"\","
                   "\"createdAt\":\"yesterday\"}]}",
                   "invalid_datetime", "[\"upserts\",0,\"createdAt\"]");
    expect_invalid("{\"upserts\":[{\"id\":\"\",\"namespace\":\"n\",\"name\":\"a\","
                   "\"kind\":\"K\",\"apiVersion\":\"v1\",\"apiGroup\":\"\","
                   "\"createdAt\":\"2026-02-20T10:00:00Z\"}]}",
                   "empty", "[\"upserts\",0,\"id\"]");
    /* A valid instance next to an invalid one: nothing of it is stored. */
    char *good = fx_instance("v", "good");
    char *p = fx_printf("{\"upserts\":[%s,{\"id\":5}]}", good);
    http_reply r;
    http_post_sync(F.base, p, &r);
    CU_ASSERT_EQUAL(r.status, 400);
    http_reply_free(&r);
    free(p);
    free(good);

    CU_ASSERT_EQUAL(cw_mock_embedder_calls(F.mock), calls);
    CU_ASSERT_EQUAL(cw_fault_proxy_calls(F.proxy, ""), chroma_calls);
    cw_pipeline_stats after = fx_stats(&F);
    CU_ASSERT_EQUAL(after.store_calls, before.store_calls);
    CU_ASSERT_EQUAL(after.embed_calls, before.embed_calls);
    CU_ASSERT_EQUAL(fx_count(&F), 0);
    fx_close(&F);
}

/* ---- concurrency and ordering ------------------------------------------- */

#define N_CLIENTS 32
#define N_REQUESTS 4

typedef struct client_job {
    int index;
    int ok;                  /* requests answered 200 */
} client_job;

static void *client_main(void *arg)
{
    client_job *job = arg;
    for (int r = 0; r < N_REQUESTS; r++) {
        char a[32], b[32];
        snprintf(a, sizeof a, "c%02d-r%d-a", job->index, r);
        snprintf(b, sizeof b, "c%02d-r%d-b", job->index, r);
        const char *names[] = { a, b };
        char *p = payload("conc", names, 2, NULL, 0);
        http_reply rep;
        http_post_sync(F.base, p, &rep);
        if (rep.status == 200 &&
            strcmp(rep.body, "{\"status\":\"ok\",\"upserted\":2,\"deleted\":0}") == 0)
            job->ok++;
        else
            fprintf(stderr, "\n  client %d: %ld %s\n", job->index, rep.status, rep.body);
        http_reply_free(&rep);
        free(p);
    }
    return NULL;
}

static void test_concurrent_clients_all_stored(void)
{
    CU_ASSERT_FATAL(open_default() == 0);
    pthread_t th[N_CLIENTS];
    client_job jobs[N_CLIENTS];
    for (int i = 0; i < N_CLIENTS; i++) {
        jobs[i].index = i;
        jobs[i].ok = 0;
        CU_ASSERT_FATAL(pthread_create(&th[i], NULL, client_main, &jobs[i]) == 0);
    }
    int ok = 0;
    for (int i = 0; i < N_CLIENTS; i++) {
        pthread_join(th[i], NULL);
        ok += jobs[i].ok;
    }
    CU_ASSERT_EQUAL(ok, N_CLIENTS * N_REQUESTS);
    CU_ASSERT_EQUAL(fx_count(&F), N_CLIENTS * N_REQUESTS * 2);
    for (int i = 0; i < N_CLIENTS; i++) {
        for (int r = 0; r < N_REQUESTS; r++) {
            char name[32];
            snprintf(name, sizeof name, "c%02d-r%d-b", i, r);
            assert_stored("conc", name, 1);
        }
    }
    fx_close(&F);
}

static void test_alternating_upsert_delete_ends_in_last_state(void)
{
    CU_ASSERT_FATAL(open_default() == 0);
    const char *names[] = { "flip" };
    char *up = payload("alt", names, 1, NULL, 0);
    const char *del = "{\"deletes\":[\"alt/apps/v1/Deployment/flip\"]}";
    for (int i = 0; i < 7; i++) {          /* up, del, ..., up */
        post_expect(i % 2 == 0 ? up : del, 200, NULL);
        assert_stored("alt", "flip", i % 2 == 0 ? 1 : 0);
    }
    post_expect(del, 200, "{\"status\":\"ok\",\"upserted\":0,\"deleted\":1}");
    assert_stored("alt", "flip", 0);
    free(up);
    fx_close(&F);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    CU_TestInfo tests[] = {
        { "PRD example: 200, stored text and metadata exact", test_prd_example_stored_exactly },
        { "empty payloads: 200, no embedder or Chroma call", test_empty_payloads_touch_nothing },
        { "multiple upserts stored", test_multiple_upserts },
        { "re-sent unchanged instances: no embedding call", test_resent_unchanged_costs_no_embedding },
        { "single and multiple deletes", test_deletes },
        { "empty deletes skip Chroma delete", test_empty_deletes_skip_chroma_delete },
        { "mixed: deletes before upserts, id in both present", test_mixed_deletes_before_upserts },
        { "1000 instances in one payload", test_thousand_instances },
        { "invalid payloads: 400, nothing touched", test_invalid_payloads_are_400_and_touch_nothing },
        { "32 concurrent clients: every id stored", test_concurrent_clients_all_stored },
        { "alternating upsert/delete ends in the last state", test_alternating_upsert_delete_ends_in_last_state },
        CU_TEST_INFO_NULL,
    };
    int rc = cw_test_run("http_contract", tests);
    curl_global_cleanup();
    return rc;
}
