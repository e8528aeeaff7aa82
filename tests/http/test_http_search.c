/* The search API over real HTTP (the fixture's server: real Chroma, the
 * mock embedder): GET and POST /api/v1/instances/search and
 * GET /api/v1/instances/ID — exact JSON, every status code, the limits,
 * and what /metrics counts. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>
#include <json-c/json.h>

#include "cw_test.h"
#include "http_fixture.h"

static fx F;

#define INST(ns, kind, api, group, name, labels, ann)                                              \
    "{\"id\":\"" ns "/" api "/" kind "/" name "\",\"namespace\":\"" ns "\",\"name\":\"" name "\","  \
    "\"kind\":\"" kind "\",\"apiVersion\":\"" api "\",\"apiGroup\":\"" group "\",\"labels\":" labels \
    ",\"annotations\":" ann ",\"createdAt\":\"2026-02-20T10:00:00Z\"}"

static const char INVENTORY[] =
    "{\"upserts\":["
    INST("data", "StatefulSet", "apps/v1", "apps", "orders-postgres", "{\"app\":\"orders-postgres\",\"team\":\"data\"}",
         "{\"description\":\"Primary PostgreSQL database for orders\"}") ","
    INST("data", "Service", "v1", "", "orders-postgres", "{\"app\":\"orders-postgres\"}", "null") ","
    INST("shop", "Deployment", "apps/v1", "apps", "cart-service", "{\"app\":\"cart-service\",\"team\":\"web\"}",
         "null") ","
    INST("shop", "CronJob", "batch/v1", "batch", "stale-cart-cleanup", "{\"team\":\"web\"}",
         "{\"description\":\"Deletes abandoned carts\"}")
    "],\"deletes\":null}";

/* GET base + path_and_query; the reply is the caller's to free. */
static http_reply get(const char *path_and_query)
{
    char *url = fx_printf("%s%s", F.base, path_and_query);
    http_reply r;
    http_request("GET", url, NULL, NULL, 0, 0, &r);
    free(url);
    return r;
}

static http_reply post(const char *path_and_query, const char *ctype, const char *body)
{
    char *url = fx_printf("%s%s", F.base, path_and_query);
    http_reply r;
    http_request("POST", url, ctype, body, body != NULL ? strlen(body) : 0, 0, &r);
    free(url);
    return r;
}

static void expect(http_reply *r, long status, const char *body)
{
    CU_ASSERT_EQUAL(r->status, status);
    if (body != NULL)
        CU_ASSERT_STRING_EQUAL(r->body, body);
    if (r->status != status || (body != NULL && strcmp(r->body, body) != 0))
        fprintf(stderr, "\n  got %ld %s\n  want %ld %s\n", r->status, r->body, status, body != NULL ? body : "");
    http_reply_free(r);
}

static void expect_get(const char *pq, long status, const char *body)
{
    http_reply r = get(pq);
    expect(&r, status, body);
}

#define BAD(msg) "{\"error\":\"Bad request\",\"message\":\"" msg "\"}"

static int suite_open(void)
{
    fx_opts o;
    memset(&o, 0, sizeof o);
    if (fx_open(&F, &o) != 0)
        return -1;
    http_reply r;
    http_post_sync(F.base, INVENTORY, &r);
    int ok = r.status == 200;
    if (!ok)
        fprintf(stderr, "fixture: sync answered %ld %s\n", r.status, r.body);
    http_reply_free(&r);
    return ok ? 0 : -1;
}

/* Lexical ranking needs no vectors: the whole answer is exact. */
static void test_get_lexical_exact(void)
{
    expect_get("/api/v1/instances/search?q=postgres&ranking=lexical", 200,
        "{\"query\":\"postgres\",\"ranking\":\"lexical\",\"results\":["
        "{\"rank\":1,\"id\":\"data/v1/Service/orders-postgres\",\"cluster\":null,\"namespace\":\"data\","
        "\"kind\":\"Service\",\"name\":\"orders-postgres\",\"distance\":null,\"score\":1.5024,"
        "\"document\":\"Service orders-postgres | namespace: data | apiVersion: v1 | labels: app=orders-postgres\"},"
        "{\"rank\":2,\"id\":\"data/apps/v1/StatefulSet/orders-postgres\",\"cluster\":null,\"namespace\":\"data\","
        "\"kind\":\"StatefulSet\",\"name\":\"orders-postgres\",\"distance\":null,\"score\":1.2571,"
        "\"document\":\"StatefulSet orders-postgres | namespace: data | apiVersion: apps/v1 | "
        "labels: app=orders-postgres, team=data | Primary PostgreSQL database for orders\"}]}");
}

/* Hybrid: the kind named in the query wins, n bounds the answer, filters
 * hold, and POST answers byte for byte what GET does. */
static void test_hybrid_get_and_post_agree(void)
{
    http_reply g = get("/api/v1/instances/search?q=cleanup+cron+jobs&n=1&explain=1");
    CU_ASSERT_EQUAL_FATAL(g.status, 200);
    json_object *root = json_tokener_parse(g.body);
    CU_ASSERT_PTR_NOT_NULL_FATAL(root);
    json_object *results = NULL, *first = NULL, *id = NULL;
    CU_ASSERT(json_object_object_get_ex(root, "results", &results));
    CU_ASSERT_EQUAL(json_object_array_length(results), 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(g.body, "\"intent\":{\"kind\":\"CronJob\",\"scope\":null}"));
    first = json_object_array_get_idx(results, 0);
    CU_ASSERT(json_object_object_get_ex(first, "id", &id));
    CU_ASSERT_STRING_EQUAL(json_object_get_string(id), "shop/batch/v1/CronJob/stale-cart-cleanup");
    if (strcmp(json_object_get_string(id), "shop/batch/v1/CronJob/stale-cart-cleanup") != 0)
        fprintf(stderr, "\n  %s\n", g.body);
    json_object_put(root);

    http_reply p = post("/api/v1/instances/search", "application/json",
                        "{\"query\":\"cleanup cron jobs\",\"n\":1,\"explain\":true}");
    CU_ASSERT_EQUAL(p.status, 200);
    CU_ASSERT_STRING_EQUAL(p.body, g.body);
    http_reply_free(&p);
    http_reply_free(&g);

    /* filters: equality on kind and namespace */
    g = get("/api/v1/instances/search?q=orders&kind=Service&namespace=data");
    CU_ASSERT_EQUAL(g.status, 200);
    CU_ASSERT_PTR_NOT_NULL(strstr(g.body, "\"id\":\"data/v1/Service/orders-postgres\""));
    CU_ASSERT_PTR_NULL(strstr(g.body, "StatefulSet"));
    http_reply_free(&g);
    expect_get("/api/v1/instances/search?q=orders&namespace=nowhere", 200,
               "{\"query\":\"orders\",\"ranking\":\"hybrid\",\"results\":[]}");

    /* explain: every signal of every result */
    g = get("/api/v1/instances/search?q=cart&n=2&explain=true");
    CU_ASSERT_EQUAL(g.status, 200);
    CU_ASSERT_PTR_NOT_NULL(strstr(g.body, "\"intent\":{\"kind\":null,\"scope\":null}"));
    CU_ASSERT_PTR_NOT_NULL(strstr(g.body, "\"explain\":{\"vector\":{\"rank\":"));
    http_reply_free(&g);
    /* the trailing slash is the same route */
    g = get("/api/v1/instances/search/?q=cart&n=2&explain=true");
    CU_ASSERT_EQUAL(g.status, 200);
    http_reply_free(&g);
}

static void test_bad_parameters(void)
{
    expect_get("/api/v1/instances/search", 400, BAD("q: missing (GET /api/v1/instances/search?q=...)"));
    expect_get("/api/v1/instances/search?q=", 400, BAD("q: the query is empty"));
    expect_get("/api/v1/instances/search?q=a&n=0", 400, BAD("n: wants a number from 1 to 100"));
    expect_get("/api/v1/instances/search?q=a&n=101", 400, BAD("n: wants a number from 1 to 100"));
    expect_get("/api/v1/instances/search?q=a&n=ten", 400, BAD("n: wants a number from 1 to 100"));
    expect_get("/api/v1/instances/search?q=a&q=b", 400, BAD("q: given more than once"));
    expect_get("/api/v1/instances/search?q=a&ranking=bm25", 400, BAD("ranking: wants hybrid, vector or lexical"));
    expect_get("/api/v1/instances/search?q=a&explain=maybe", 400, BAD("explain: wants true or false"));
    /* %00 anywhere in the target is refused with the request line (issue 11). */
    expect_get("/api/v1/instances/search?q=a%00b", 400, BAD("NUL in the request line (raw, or %00 in the target)"));
    expect_get("/api/v1/instances/search?q=%C0%AF", 400, BAD("q: not valid UTF-8, or holds a NUL byte"));
    expect_get("/api/v1/instances/search?q=a&namespac=x", 400,
               BAD("unknown parameter 'namespac' (expected query (or q), n, kind, namespace, ranking, explain)"));
    expect_get("/api/v1/instances/search?q=a&a=1&b=2&c=3&d=4&e=5&f=6&g=7&h=8&i=9&j=10&k=11&l=12&m=13&o=14&p=15&r=16",
               400, BAD("more than 16 query parameters"));

    /* the query's bound: 1024 bytes */
    char *pq = malloc(64 + 1025);
    CU_ASSERT_PTR_NOT_NULL_FATAL(pq);
    strcpy(pq, "/api/v1/instances/search?q=");
    size_t at = strlen(pq);
    memset(pq + at, 'a', 1024);
    pq[at + 1024] = '\0';
    http_reply r = get(pq);
    CU_ASSERT_EQUAL(r.status, 200);
    http_reply_free(&r);
    strcat(pq, "a");
    expect_get(pq, 400, BAD("q: the query is longer than 1024 bytes"));
    free(pq);

    /* POST: JSON only, parameters in the body, at most 16 KiB */
    r = post("/api/v1/instances/search", "text/plain", "{\"query\":\"a\"}");
    expect(&r, 415, "{\"error\":\"Unsupported media type\",\"message\":\"Content-Type must be application/json\"}");
    r = post("/api/v1/instances/search", "application/json", "{\"query\":");
    expect(&r, 400, NULL);
    r = post("/api/v1/instances/search", "application/json", "[\"a\"]");
    expect(&r, 400, BAD("the body is not a JSON object: expected a JSON object, got array"));
    r = post("/api/v1/instances/search", "application/json", "{\"n\":3}");
    expect(&r, 400, BAD("query: missing"));
    r = post("/api/v1/instances/search", "application/json", "{\"query\":\"a\",\"n\":\"3\"}");
    expect(&r, 400, BAD("n: wants a number from 1 to 100"));
    r = post("/api/v1/instances/search?q=a", "application/json", "{\"query\":\"a\"}");
    expect(&r, 400, BAD("POST takes its parameters in the JSON body, not in the query string"));
    char *big = malloc(CW_HTTP_SEARCH_MAX_BODY + 64);
    CU_ASSERT_PTR_NOT_NULL_FATAL(big);
    strcpy(big, "{\"query\":\"a\",\"kind\":\"");
    at = strlen(big);
    memset(big + at, 'k', CW_HTTP_SEARCH_MAX_BODY);
    strcpy(big + at + CW_HTTP_SEARCH_MAX_BODY, "\"}");
    r = post("/api/v1/instances/search", "application/json", big);
    CU_ASSERT_EQUAL(r.status, 413);
    http_reply_free(&r);
    free(big);

    /* methods */
    char *url = fx_printf("%s/api/v1/instances/search?q=a", F.base);
    http_request("DELETE", url, NULL, NULL, 0, 0, &r);
    free(url);
    CU_ASSERT_EQUAL(r.status, 405);
    char allow[64] = "";
    CU_ASSERT(http_reply_header(&r, "Allow", allow, sizeof allow));
    CU_ASSERT_STRING_EQUAL(allow, "GET, POST");
    http_reply_free(&r);
}

static void test_instance_by_id(void)
{
    expect_get("/api/v1/instances/data/apps/v1/StatefulSet/orders-postgres", 200,
        "{\"id\":\"data/apps/v1/StatefulSet/orders-postgres\",\"cluster\":null,\"namespace\":\"data\","
        "\"kind\":\"StatefulSet\",\"name\":\"orders-postgres\",\"apiVersion\":\"apps/v1\",\"apiGroup\":\"apps\","
        "\"labels\":\"app=orders-postgres,team=data\",\"document\":\"StatefulSet orders-postgres | namespace: data | "
        "apiVersion: apps/v1 | labels: app=orders-postgres, team=data | Primary PostgreSQL database for orders\"}");
    /* the id may come URL-encoded */
    http_reply r = get("/api/v1/instances/data%2Fv1%2FService%2Forders-postgres");
    CU_ASSERT_EQUAL(r.status, 200);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.body, "\"id\":\"data/v1/Service/orders-postgres\""));
    http_reply_free(&r);
    expect_get("/api/v1/instances/data/apps/v1/StatefulSet/nope", 404,
               "{\"error\":\"Not found\",\"message\":\"no instance with id data/apps/v1/StatefulSet/nope\"}");
    r = post("/api/v1/instances/data/apps/v1/StatefulSet/orders-postgres", "application/json", "{}");
    CU_ASSERT_EQUAL(r.status, 405);
    http_reply_free(&r);
    /* sync keeps its path; the bare prefix is no route */
    expect_get("/api/v1/instances/sync", 405, NULL);
    expect_get("/api/v1/instances/", 404, NULL);
}

/* The counters moved by the requests above (this test runs last). */
static void test_metrics_count_searches(void)
{
    http_reply r = get("/metrics");
    CU_ASSERT_EQUAL_FATAL(r.status, 200);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.body, "cw_http_requests_total{route=\"search\",code=\"200\"} 8\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(r.body, "cw_http_requests_total{route=\"search\",code=\"400\"} 18\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(r.body, "cw_http_requests_total{route=\"search\",code=\"413\"} 1\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(r.body, "cw_http_requests_total{route=\"search\",code=\"415\"} 1\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(r.body, "cw_http_requests_total{route=\"search\",code=\"405\"} 1\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(r.body, "cw_http_requests_total{route=\"instance\",code=\"200\"} 2\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(r.body, "cw_http_requests_total{route=\"instance\",code=\"404\"} 1\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(r.body, "cw_http_requests_total{route=\"instance\",code=\"405\"} 1\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(r.body, "cw_search_queries_total{ranking=\"hybrid\"} 7\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(r.body, "cw_search_queries_total{ranking=\"lexical\"} 1\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(r.body, "cw_http_request_duration_seconds_count{route=\"search\"} 29\n"));
    if (strstr(r.body, "cw_search_queries_total{ranking=\"hybrid\"} 7\n") == NULL)
        fprintf(stderr, "\n%s\n", r.body);
    http_reply_free(&r);
}

/* A second fixture: no search on the admin listener; one search at a
 * time, the next one answered 503 + Retry-After while the first waits on
 * a slow embedder. */
static fx G;

static void *slow_search(void *arg)
{
    http_reply *r = arg;
    char *url = fx_printf("%s/api/v1/instances/search?q=slow", G.base);
    http_request("GET", url, NULL, NULL, 0, 0, r);
    free(url);
    return NULL;
}

static void test_admin_and_limit(void)
{
    fx_opts o;
    memset(&o, 0, sizeof o);
    o.with_admin = 1;
    o.search_limit = 1;
    CU_ASSERT_EQUAL_FATAL(fx_open(&G, &o), 0);

    char *url = fx_printf("%s/api/v1/instances/search?q=a", G.admin);
    http_reply r;
    http_request("GET", url, NULL, NULL, 0, 0, &r);
    free(url);
    CU_ASSERT_EQUAL(r.status, 404);
    http_reply_free(&r);

    /* the first search holds the only slot while the embedder sleeps */
    cw_mock_embedder_set_latency(G.mock, 1500);
    http_reply first;
    memset(&first, 0, sizeof first);
    pthread_t t;
    CU_ASSERT_EQUAL_FATAL(pthread_create(&t, NULL, slow_search, &first), 0);
    for (int i = 0; i < 2000 && cw_http_server_in_flight(G.server) == 0; i++)
        usleep(1000);
    http_reply second;
    slow_search(&second);
    pthread_join(t, NULL);
    cw_mock_embedder_set_latency(G.mock, 0);
    /* whichever got the slot first: one 200, one 503 + Retry-After */
    http_reply *ok = first.status == 200 ? &first : &second, *busy = first.status == 200 ? &second : &first;
    CU_ASSERT_EQUAL(ok->status, 200);
    CU_ASSERT_EQUAL(busy->status, 503);
    CU_ASSERT_STRING_EQUAL(busy->body,
                           "{\"error\":\"Service unavailable\",\"message\":\"too many concurrent searches (limit 1)\"}");
    char ra[16] = "";
    CU_ASSERT(http_reply_header(busy, "Retry-After", ra, sizeof ra));
    CU_ASSERT_STRING_EQUAL(ra, "1");
    http_reply_free(&first);
    http_reply_free(&second);

    /* the embedder failing: 503 + Retry-After, never a 4xx */
    cw_mock_embedder_fail(G.mock, 500, -1, 0);
    url = fx_printf("%s/api/v1/instances/search?q=broken", G.base);
    http_request("GET", url, NULL, NULL, 0, 0, &r);
    free(url);
    CU_ASSERT_EQUAL(r.status, 503);
    CU_ASSERT(http_reply_header(&r, "Retry-After", ra, sizeof ra));
    http_reply_free(&r);
    cw_mock_embedder_reset(G.mock);
    fx_close(&G);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    if (suite_open() != 0) {
        fx_close(&F);
        curl_global_cleanup();
        return 1;
    }
    CU_TestInfo tests[] = {
        { "GET lexical: exact JSON", test_get_lexical_exact },
        { "hybrid: kind intent, n, filters, explain; POST = GET", test_hybrid_get_and_post_agree },
        { "bad parameters: 400/413/415/405, exact messages", test_bad_parameters },
        { "GET /api/v1/instances/ID: 200 exact, 404, 405", test_instance_by_id },
        { "/metrics counts searches by route, code and ranking", test_metrics_count_searches },
        { "not on the admin listener; search_limit → 503; embedder down → 503", test_admin_and_limit },
        CU_TEST_INFO_NULL,
    };
    int rc = cw_test_run("http_search", tests);
    fx_close(&F);
    curl_global_cleanup();
    return rc;
}
