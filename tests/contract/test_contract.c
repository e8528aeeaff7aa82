/* contract_server — the server side of the controller's REST client tests
 * (k8s-vectordb-sync internal/client/rest_test.go, listed in
 * ../shared/CONTROLLER-TESTS.md): one test per controller test, named
 * after it, asserting what the server must do so that the controller's
 * expectation holds against us; then our own contract tests of
 * POST /api/v1/instances/sync (DESIGN §3, §6). Over real HTTP, against the
 * real pipeline, the real Chroma (behind the fault proxy) and the mock
 * embedding server; without a journal, so a transient failure shows as
 * the 5xx the controller retries (the journal's side is the Go client's,
 * tests/contract/go). Effects are read from Chroma, never taken from our
 * own answer. The README's "Contract tests" table maps every controller
 * test. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <json-c/json.h>

#include "cw_test.h"
#include "cw_time.h"
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


/* ---- the controller's RESTClient tests, server side --------------------- */

/* POST body to base+path with Content-Type ctype; the reply in *r. */
static void post_to(const char *path, const char *ctype, const char *body, http_reply *r)
{
    char *u = fx_printf("%s%s", F.base, path);
    http_request("POST", u, ctype, body, strlen(body), 0, r);
    free(u);
}

/* 503 with a positive Retry-After: what the controller retries. */
static int is_503_retry_after(const http_reply *r)
{
    char ra[32];
    return r->status == 503 && http_reply_header(r, "Retry-After", ra, sizeof ra) == 1 && atoi(ra) > 0;
}

/* What encoding/json makes of the controller's structs: nil maps and the
 * unused slice as null, fields in struct order; Content-Type
 * application/json (parameters allowed). 200 with the counts, and Chroma
 * holds exactly what was sent. */
static void test_RESTClient_PostsPayloadAsJSON(void)
{
    CU_ASSERT_FATAL(open_default() == 0);
    const char *upserts =
        "{\"upserts\":[{\"id\":\"_cluster/v1/Namespace/shop\",\"namespace\":\"_cluster\","
        "\"name\":\"shop\",\"kind\":\"Namespace\",\"apiVersion\":\"v1\",\"apiGroup\":\"\","
        "\"labels\":null,\"annotations\":null,\"createdAt\":\"2026-02-20T10:00:00Z\"},"
        "{\"id\":\"shop/apps/v1/Deployment/web\",\"namespace\":\"shop\",\"name\":\"web\","
        "\"kind\":\"Deployment\",\"apiVersion\":\"apps/v1\",\"apiGroup\":\"apps\","
        "\"labels\":{\"app\":\"web\"},\"annotations\":{\"description\":\"Storefront\"},"
        "\"createdAt\":\"2026-02-20T10:00:00Z\"}],\"deletes\":null}";
    const char *ctypes[] = { "application/json", "application/json; charset=utf-8" };
    for (size_t i = 0; i < 2; i++) {
        http_reply r;
        post_to("/api/v1/instances/sync", ctypes[i], upserts, &r);
        CU_ASSERT_EQUAL(r.status, 200);
        CU_ASSERT_STRING_EQUAL(r.body, "{\"status\":\"ok\",\"upserted\":2,\"deleted\":0}");
        http_reply_free(&r);
    }
    char *text = fx_stored_text(&F, "_cluster/v1/Namespace/shop");
    CU_ASSERT_PTR_NOT_NULL(text);
    if (text != NULL)
        CU_ASSERT_STRING_EQUAL(text, "Namespace shop | namespace: _cluster | apiVersion: v1");
    free(text);
    text = fx_stored_text(&F, "shop/apps/v1/Deployment/web");
    CU_ASSERT_PTR_NOT_NULL(text);
    if (text != NULL)
        CU_ASSERT_STRING_EQUAL(text, "Deployment web | namespace: shop | apiVersion: apps/v1"
                                     " | labels: app=web | Storefront");
    free(text);
    /* A delete as the controller sends it: alone, "upserts":null. */
    http_reply r;
    post_to("/api/v1/instances/sync", "application/json",
            "{\"upserts\":null,\"deletes\":[\"shop/apps/v1/Deployment/web\"]}", &r);
    CU_ASSERT_EQUAL(r.status, 200);
    CU_ASSERT_STRING_EQUAL(r.body, "{\"status\":\"ok\",\"upserted\":0,\"deleted\":1}");
    http_reply_free(&r);
    assert_stored("shop", "web", 0);
    CU_ASSERT_EQUAL(fx_count(&F), 1);
    fx_close(&F);
}

/* The controller retries a 5xx: a transient Chroma failure must be a 5xx
 * (503 + Retry-After, nothing half-applied), and the same payload sent
 * again once Chroma is back succeeds, and again (a retry whose answer was
 * lost) changes nothing: every operation is idempotent. */
static void test_RESTClient_RetriesOnServerError(void)
{
    CU_ASSERT_FATAL(open_default() == 0);
    const char *names[] = { "a", "b" };
    char *p = payload("retry", names, 2, NULL, 0);
    cw_fault_proxy_fail(F.proxy, "/upsert", 500, -1);
    http_set_timeout_ms(HTTP_CONTROLLER_TIMEOUT_MS);   /* an answer: inside the controller's 30 s */
    for (int i = 0; i < 2; i++) {
        http_reply r;
        http_post_sync(F.base, p, &r);
        CU_ASSERT(is_503_retry_after(&r));
        if (!is_503_retry_after(&r))
            fprintf(stderr, "\n  attempt %d while Chroma fails: %ld %s\n", i + 1, r.status, r.body);
        http_reply_free(&r);
        assert_stored("retry", "a", 0);
    }
    http_set_timeout_ms(0);
    cw_fault_proxy_fail(F.proxy, NULL, 0, 0);
    for (int i = 0; i < 2; i++)
        post_expect(p, 200, "{\"status\":\"ok\",\"upserted\":2,\"deleted\":0}");
    assert_stored("retry", "a", 1);
    assert_stored("retry", "b", 1);
    CU_ASSERT_EQUAL(fx_count(&F), 2);
    free(p);
    fx_close(&F);
}

/* The controller gives up after 1 + 3 attempts and drops the batch. Without
 * a journal every one of them is a 5xx for as long as the failure lasts —
 * never a 4xx, each well inside its 30 s timeout — and nothing of the
 * payload is stored. (With the journal, the default, the outage is
 * absorbed instead: contract_go_outage.) */
static void test_RESTClient_ExhaustsRetriesAndFails(void)
{
    CU_ASSERT_FATAL(open_default() == 0);
    cw_mock_embedder_fail(F.mock, 500, -1, 0);
    char *inst = fx_instance("exhaust", "web");
    char *p = fx_printf("{\"upserts\":[%s],\"deletes\":null}", inst);
    int fivexx = 0;
    http_set_timeout_ms(HTTP_CONTROLLER_TIMEOUT_MS);   /* each answered inside its 30 s */
    for (int i = 0; i < 4; i++) {
        http_reply r;
        http_post_sync(F.base, p, &r);
        fivexx += is_503_retry_after(&r);
        http_reply_free(&r);
    }
    http_set_timeout_ms(0);
    CU_ASSERT_EQUAL(fivexx, 4);
    CU_ASSERT_EQUAL(fx_count(&F), 0);
    free(p);
    free(inst);
    fx_close(&F);
}

/* A 4xx is final to the controller, so every refusal must be one that can
 * never succeed: the same request gets the same 4xx every time, touches no
 * embedder and no Chroma; and what is transient is never a 4xx (an
 * embedding API's 429 or 401 is our 503 + Retry-After). */
static void test_RESTClient_DoesNotRetryOn4xx(void)
{
    fx_opts o;
    memset(&o, 0, sizeof o);
    o.max_body = 4096;
    CU_ASSERT_FATAL(fx_open(&F, &o) == 0);
    char *big = calloc(1, 8192);
    CU_ASSERT_PTR_NOT_NULL_FATAL(big);
    memset(big, ' ', 8190);
    big[0] = '{';
    big[8189] = '}';
    struct {
        const char *method, *path, *ctype, *body;
        long status;
    } cases[] = {
        { "POST", "/api/v1/instances/sync", "application/json", "{\"upserts\": [", 400 },
        { "POST", "/api/v1/instances/sync", "application/json", "[1,2]", 400 },
        { "POST", "/api/v1/instances/sync", "application/json",
          "{\"upserts\":[{\"id\":\"a\",\"namespace\":\"n\",\"name\":\"a\",\"kind\":\"K\","
          "\"apiVersion\":\"v1\",\"apiGroup\":\"\",\"createdAt\":\"yesterday\"}]}", 400 },
        { "POST", "/api/v1/instances/sync", "application/json", "{\"deletes\":[\"\"]}", 400 },
        { "POST", "/api/v1/instances/sync", "application/json", big, 413 },
        { "POST", "/api/v1/instances/sync", "text/plain", "{}", 415 },
        { "GET", "/api/v1/instances/sync", NULL, "", 405 },
        { "POST", "/api/v1/nothing/here", "application/json", "{}", 404 },
    };
    unsigned long calls = cw_mock_embedder_calls(F.mock);
    unsigned long chroma_calls = cw_fault_proxy_calls(F.proxy, "");
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *first = NULL;
        for (int k = 0; k < 3; k++) {
            char *u = fx_printf("%s%s", F.base, cases[i].path);
            http_reply r;
            http_request(cases[i].method, u, cases[i].ctype, cases[i].body, strlen(cases[i].body), 0, &r);
            CU_ASSERT_EQUAL(r.status, cases[i].status);
            if (r.status != cases[i].status)
                fprintf(stderr, "\n  case %zu: %ld %s, want %ld\n", i, r.status, r.body, cases[i].status);
            if (first == NULL)
                first = strdup(r.body);
            else
                CU_ASSERT_STRING_EQUAL(r.body, first);      /* the same refusal every time */
            http_reply_free(&r);
            free(u);
        }
        free(first);
    }
    CU_ASSERT_EQUAL(cw_mock_embedder_calls(F.mock), calls);
    CU_ASSERT_EQUAL(cw_fault_proxy_calls(F.proxy, ""), chroma_calls);

    /* Transient: the embedding API's 429 / 401 are not passed on as 4xx. */
    const int upstream[] = { 429, 401 };
    char *inst = fx_instance("n4xx", "web");
    char *p = fx_printf("{\"upserts\":[%s]}", inst);
    for (size_t i = 0; i < 2; i++) {
        cw_mock_embedder_fail(F.mock, upstream[i], -1, 1);
        http_reply r;
        http_post_sync(F.base, p, &r);
        CU_ASSERT(is_503_retry_after(&r));
        if (!is_503_retry_after(&r))
            fprintf(stderr, "\n  embedder %d: got %ld %s\n", upstream[i], r.status, r.body);
        http_reply_free(&r);
        cw_mock_embedder_reset(F.mock);
    }
    post_expect(p, 200, "{\"status\":\"ok\",\"upserted\":1,\"deleted\":0}");
    free(p);
    free(inst);
    free(big);
    fx_close(&F);
}

/* The controller retries an attempt that timed out. The server answers
 * well inside the controller's 30 s: past its own request deadline a slow
 * request gets 503 + Retry-After (here a 600 ms deadline and a 1.5 s
 * embedder), and the retry that follows ends in exactly one stored
 * record with the payload's text. */
static void test_RESTClient_RetriesOnTimeout(void)
{
    fx_opts o;
    memset(&o, 0, sizeof o);
    o.request_deadline_ms = 600;
    CU_ASSERT_FATAL(fx_open(&F, &o) == 0);
    cw_mock_embedder_set_latency(F.mock, 1500);
    char *inst = fx_instance("slow", "web");
    char *p = fx_printf("{\"upserts\":[%s],\"deletes\":null}", inst);
    http_reply r;
    unsigned long inputs = cw_mock_embedder_inputs(F.mock);    /* the startup probe's */
    int64_t t0 = cw_now_ms();
    http_post_sync(F.base, p, &r);
    int64_t took = cw_now_ms() - t0;
    CU_ASSERT(is_503_retry_after(&r));
    /* The 503 did not wait for the embedder (ordering, not a budget): no
     * embedding of this request had been answered when it arrived (the
     * mock counts texts as it answers, after its 1.5 s). */
    CU_ASSERT_EQUAL(cw_mock_embedder_inputs(F.mock), inputs);
    if (!is_503_retry_after(&r) || cw_mock_embedder_inputs(F.mock) != inputs)
        fprintf(stderr, "\n  slow request: %ld after %lld ms: %s\n", r.status, (long long)took, r.body);
    http_reply_free(&r);
    cw_mock_embedder_set_latency(F.mock, 0);
    cw_sleep_ms(1200);                  /* the first attempt's work may still land: harmless */
    post_expect(p, 200, "{\"status\":\"ok\",\"upserted\":1,\"deleted\":0}");
    CU_ASSERT_EQUAL(fx_count(&F), 1);
    char *text = fx_stored_text(&F, "slow/apps/v1/Deployment/web");
    CU_ASSERT_PTR_NOT_NULL(text);
    if (text != NULL)
        CU_ASSERT_STRING_EQUAL(text, "Deployment web | namespace: slow | apiVersion: apps/v1"
                                     " | labels: app=web");
    free(text);
    free(p);
    free(inst);
    fx_close(&F);
}

/* The controller's CRD payload ({upserts:[names], deletes:[names]}) goes to
 * CAPABILITIES_ENDPOINT, another service; it is off unless set. Sent to
 * us by a misconfigured controller it must be refused for good (4xx,
 * never retried): 400 at the instances endpoint (an upsert must be an
 * object), 404 at a capabilities path; nothing touched. */
static void test_RESTClient_SendsCrdSyncPayload(void)
{
    CU_ASSERT_FATAL(open_default() == 0);
    unsigned long chroma_calls = cw_fault_proxy_calls(F.proxy, "");
    const char *crd = "{\"upserts\":[\"certificates.cert-manager.io\",\"issuers.cert-manager.io\"],"
                      "\"deletes\":[\"challenges.cert-manager.io\"]}";
    expect_invalid(crd, "invalid_type", "[\"upserts\",0]");
    http_reply r;
    post_to("/api/v1/capabilities/sync", "application/json", crd, &r);
    CU_ASSERT_EQUAL(r.status, 404);
    http_reply_free(&r);
    CU_ASSERT_EQUAL(cw_fault_proxy_calls(F.proxy, ""), chroma_calls);
    CU_ASSERT_EQUAL(fx_count(&F), 0);
    fx_close(&F);
}

/* ---- our own contract tests ---------------------------------------------- */

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
        { "RESTClient_PostsPayloadAsJSON: encoding/json's nulls, 200, stored exactly", test_RESTClient_PostsPayloadAsJSON },
        { "RESTClient_RetriesOnServerError: transient failure 503 + Retry-After, retry idempotent", test_RESTClient_RetriesOnServerError },
        { "RESTClient_ExhaustsRetriesAndFails: 1 + 3 attempts all 5xx, never 4xx, nothing stored", test_RESTClient_ExhaustsRetriesAndFails },
        { "RESTClient_DoesNotRetryOn4xx: every 4xx final and stable, transient never 4xx", test_RESTClient_DoesNotRetryOn4xx },
        { "RESTClient_RetriesOnTimeout: 503 past our deadline, well inside 30 s; retry stores once", test_RESTClient_RetriesOnTimeout },
        { "RESTClient_SendsCrdSyncPayload: CRD payload refused for good (400 / 404)", test_RESTClient_SendsCrdSyncPayload },
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
    int rc = cw_test_run("contract_server", tests);
    curl_global_cleanup();
    return rc;
}
