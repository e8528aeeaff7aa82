/* Issue 14 over real HTTP, on the real Chroma (the fixture's server, the
 * mock embedder): many clusters into one server.
 *   - two clusters push the same ids with different labels: both stored,
 *     each found by its own id and by the search API's cluster filter;
 *   - a delete in one cluster leaves the other's (and the one of none);
 *   - no cluster: id, text and metadata exactly the reference's;
 *   - bad names (and a no-cluster id shaped NAME:...): 400, nothing read,
 *     embedded, written or counted;
 *   - 16 clusters x 4 controller-like clients at once, all on the same
 *     ids: every document exactly once per cluster, the last write of each
 *     (cluster, id) kept;
 *   - serve's default cluster for requests that name none;
 *   - /metrics per cluster, bounded: 10,000 distinct names give 64 series
 *     and "other", every request counted exactly once.
 * Effects are read straight from Chroma (F.direct), never through the server. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>

#include "cw_test.h"
#include "cw_test_chroma.h"
#include "http_fixture.h"
#include "metrics.h"

static fx F;

static http_reply post(const char *path_and_query, const char *body)
{
    return fx_post(&F, path_and_query, "application/json", body);
}

static http_reply get(const char *path_and_query)
{
    return fx_get(&F, path_and_query);
}

#define OK(u, d) "{\"status\":\"ok\",\"upserted\":" #u ",\"deleted\":" #d "}"
#define BAD(msg) "{\"error\":\"Bad request\",\"message\":\"" msg "\"}"
#define RULE "a DNS-1123 label: 1-63 characters of a-z, 0-9 and '-', starting and ending with a letter or digit"

/* Three resources of one cluster; `env` is a label, so the clusters' texts differ. */
static char *three(const char *env)
{
    return fx_printf(
        "{\"upserts\":["
        "{\"id\":\"default/apps/v1/Deployment/nginx\",\"namespace\":\"default\",\"name\":\"nginx\","
        "\"kind\":\"Deployment\",\"apiVersion\":\"apps/v1\",\"apiGroup\":\"apps\","
        "\"labels\":{\"app\":\"nginx\",\"env\":\"%s\"},\"annotations\":{\"description\":\"Main web server\"},"
        "\"createdAt\":\"2026-02-20T10:00:00Z\"},"
        "{\"id\":\"data/apps/v1/StatefulSet/postgres\",\"namespace\":\"data\",\"name\":\"postgres\","
        "\"kind\":\"StatefulSet\",\"apiVersion\":\"apps/v1\",\"apiGroup\":\"apps\","
        "\"labels\":{\"app\":\"postgres\",\"env\":\"%s\"},\"annotations\":null,\"createdAt\":\"2026-02-20T10:00:00Z\"},"
        "{\"id\":\"_cluster/v1/Namespace/data\",\"namespace\":\"_cluster\",\"name\":\"data\","
        "\"kind\":\"Namespace\",\"apiVersion\":\"v1\",\"apiGroup\":\"\","
        "\"labels\":null,\"annotations\":null,\"createdAt\":\"2026-02-20T10:00:00Z\"}"
        "],\"deletes\":null}", env, env);
}

/* The stored record of `id`, or a zeroed one (absent). Free with free_record. */
typedef struct rec {
    cw_chroma_records all;
    const cw_chroma_record *r;
} rec;

static rec record(const char *id)
{
    rec x;
    memset(&x, 0, sizeof x);
    const char *ids[1] = { id };
    cw_error err;
    cw_error_clear(&err);
    CU_ASSERT_EQUAL_FATAL(cw_chroma_get(F.direct, ids, 1, 0, &x.all, &err), 0);
    if (x.all.len == 1)
        x.r = &x.all.items[0];
    return x;
}

static void free_record(rec *x)
{
    cw_chroma_records_free(&x->all);
}

static void expect_str(const char *got, const char *want)
{
    if (want == NULL) {
        CU_ASSERT_PTR_NULL(got);
        return;
    }
    CU_ASSERT_PTR_NOT_NULL(got);
    if (got != NULL) {
        CU_ASSERT_STRING_EQUAL(got, want);
        if (strcmp(got, want) != 0)
            fprintf(stderr, "\n  got  %s\n  want %s\n", got, want);
    }
}

/* Every stored field of `id`: document, metadata, cluster (NULL: none). */
static void expect_record(const char *id, const char *doc, const char *ns, const char *name,
                          const char *kind, const char *api, const char *group, const char *labels,
                          const char *cluster)
{
    rec x = record(id);
    CU_ASSERT_PTR_NOT_NULL(x.r);
    if (x.r == NULL) {
        fprintf(stderr, "\n  %s is not stored\n", id);
        free_record(&x);
        return;
    }
    expect_str(x.r->id, id);
    expect_str(x.r->document, doc);
    expect_str(x.r->namespace, ns);
    expect_str(x.r->name, name);
    expect_str(x.r->kind, kind);
    expect_str(x.r->api_version, api);
    expect_str(x.r->api_group, group);
    expect_str(x.r->labels, labels);
    expect_str(x.r->source, "resource-sync");
    expect_str(x.r->cluster, cluster);
    free_record(&x);
}

static void expect_absent(const char *id)
{
    CU_ASSERT_EQUAL(fx_stored(&F, id), 0);
}

/* The records of one cluster (metadata filter), straight from Chroma. */
static size_t cluster_count(const char *cluster)
{
    cw_chroma_filter f = { .cluster = cluster };
    cw_chroma_records r;
    cw_error err;
    cw_error_clear(&err);
    CU_ASSERT_EQUAL_FATAL(cw_chroma_scan_where(F.direct, &f, 100000, &r, &err), 0);
    size_t n = r.len;
    cw_chroma_records_free(&r);
    return n;
}

/* ---- two clusters, one id set -------------------------------------------- */

static void test_two_clusters_same_ids(void)
{
    char *prod = three("prod"), *dev = three("dev");
    http_reply r = post("/api/v1/instances/sync?cluster=prod-eu", prod);
    fx_expect(&r, 200, OK(3, 0));
    r = post("/api/v1/clusters/dev-us/instances/sync", dev);
    fx_expect(&r, 200, OK(3, 0));
    free(prod);
    free(dev);
    CU_ASSERT_EQUAL(fx_count(&F), 6);
    CU_ASSERT_EQUAL(cluster_count("prod-eu"), 3);
    CU_ASSERT_EQUAL(cluster_count("dev-us"), 3);

    expect_record("prod-eu:default/apps/v1/Deployment/nginx",
                  "Deployment nginx | namespace: default | cluster: prod-eu | apiVersion: apps/v1 | "
                  "labels: app=nginx, env=prod | Main web server",
                  "default", "nginx", "Deployment", "apps/v1", "apps", "app=nginx,env=prod", "prod-eu");
    expect_record("dev-us:default/apps/v1/Deployment/nginx",
                  "Deployment nginx | namespace: default | cluster: dev-us | apiVersion: apps/v1 | "
                  "labels: app=nginx, env=dev | Main web server",
                  "default", "nginx", "Deployment", "apps/v1", "apps", "app=nginx,env=dev", "dev-us");
    expect_record("dev-us:_cluster/v1/Namespace/data",
                  "Namespace data | namespace: _cluster | cluster: dev-us | apiVersion: v1",
                  "_cluster", "data", "Namespace", "v1", "", "", "dev-us");
    expect_absent("default/apps/v1/Deployment/nginx");        /* nothing of no cluster */

    /* found separately: by id, and by the search API's filter */
    r = get("/api/v1/instances/prod-eu:data/apps/v1/StatefulSet/postgres");
    fx_expect(&r, 200, "{\"id\":\"prod-eu:data/apps/v1/StatefulSet/postgres\",\"cluster\":\"prod-eu\","
                       "\"namespace\":\"data\",\"kind\":\"StatefulSet\",\"name\":\"postgres\",\"apiVersion\":"
                       "\"apps/v1\",\"apiGroup\":\"apps\",\"labels\":\"app=postgres,env=prod\",\"document\":"
                       "\"StatefulSet postgres | namespace: data | cluster: prod-eu | apiVersion: apps/v1 | "
                       "labels: app=postgres, env=prod\"}");
    r = get("/api/v1/instances/search?q=postgres&ranking=lexical&n=5&cluster=dev-us");
    fx_expect(&r, 200, "{\"query\":\"postgres\",\"ranking\":\"lexical\",\"results\":[{\"rank\":1,\"id\":"
                       "\"dev-us:data/apps/v1/StatefulSet/postgres\",\"cluster\":\"dev-us\",\"namespace\":\"data\","
                       "\"kind\":\"StatefulSet\",\"name\":\"postgres\",\"distance\":null,\"score\":1.3161,"
                       "\"document\":\"StatefulSet postgres | namespace: data | cluster: dev-us | apiVersion: "
                       "apps/v1 | labels: app=postgres, env=dev\"}]}");
    /* every cluster: both, each showing its cluster */
    r = get("/api/v1/instances/search?q=postgres&ranking=lexical&n=5");
    CU_ASSERT_EQUAL(r.status, 200);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.body, "\"id\":\"dev-us:data/apps/v1/StatefulSet/postgres\",\"cluster\":\"dev-us\""));
    CU_ASSERT_PTR_NOT_NULL(strstr(r.body, "\"id\":\"prod-eu:data/apps/v1/StatefulSet/postgres\",\"cluster\":\"prod-eu\""));
    CU_ASSERT_PTR_NULL(strstr(r.body, "\"rank\":3"));
    http_reply_free(&r);
    r = post("/api/v1/instances/search", "{\"query\":\"nginx\",\"ranking\":\"lexical\",\"cluster\":\"prod-eu\"}");
    CU_ASSERT_EQUAL(r.status, 200);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.body, "\"id\":\"prod-eu:default/apps/v1/Deployment/nginx\""));
    CU_ASSERT_PTR_NULL(strstr(r.body, "dev-us"));
    http_reply_free(&r);
    r = get("/api/v1/instances/search?q=nginx&cluster=Prod");
    fx_expect(&r, 400, BAD("cluster name 'Prod' is not " RULE " ('P' at position 1)"));
    r = get("/api/v1/instances/search?q=nginx&cluster=nobody-here&ranking=lexical");
    fx_expect(&r, 200, "{\"query\":\"nginx\",\"ranking\":\"lexical\",\"results\":[]}");
}

static void test_delete_in_one_cluster(void)
{
    http_reply r = post("/api/v1/clusters/dev-us/instances/sync",
                        "{\"deletes\":[\"default/apps/v1/Deployment/nginx\"]}");
    fx_expect(&r, 200, OK(0, 1));
    expect_absent("dev-us:default/apps/v1/Deployment/nginx");
    CU_ASSERT_EQUAL(fx_stored(&F, "prod-eu:default/apps/v1/Deployment/nginx"), 1);
    CU_ASSERT_EQUAL(cluster_count("dev-us"), 2);
    CU_ASSERT_EQUAL(cluster_count("prod-eu"), 3);
    /* a delete of no cluster touches neither cluster's */
    r = post("/api/v1/instances/sync", "{\"deletes\":[\"data/apps/v1/StatefulSet/postgres\"]}");
    fx_expect(&r, 200, OK(0, 1));
    CU_ASSERT_EQUAL(fx_stored(&F, "prod-eu:data/apps/v1/StatefulSet/postgres"), 1);
    CU_ASSERT_EQUAL(fx_stored(&F, "dev-us:data/apps/v1/StatefulSet/postgres"), 1);
    CU_ASSERT_EQUAL(fx_count(&F), 5);
}

/* No cluster anywhere: the reference's id, text and metadata, no `cluster`
 * key; and it does not touch the clusters' copies of the same id. */
static void test_no_cluster_unchanged(void)
{
    static const char BODY[] =
        "{\"upserts\":[{\"id\":\"default/apps/v1/Deployment/nginx\",\"namespace\":\"default\","
        "\"name\":\"nginx\",\"kind\":\"Deployment\",\"apiVersion\":\"apps/v1\",\"apiGroup\":\"apps\","
        "\"labels\":{\"app\":\"nginx\",\"tier\":\"frontend\"},\"annotations\":{\"description\":"
        "\"Main web server\"},\"createdAt\":\"2026-02-20T10:00:00Z\"}],"
        "\"deletes\":[\"default/apps/v1/Deployment/old-service\"]}";
    http_reply r = post("/api/v1/instances/sync", BODY);
    fx_expect(&r, 200, OK(1, 1));
    expect_record("default/apps/v1/Deployment/nginx",
                  "Deployment nginx | namespace: default | apiVersion: apps/v1 | "
                  "labels: app=nginx, tier=frontend | Main web server",
                  "default", "nginx", "Deployment", "apps/v1", "apps", "app=nginx,tier=frontend", NULL);
    CU_ASSERT_EQUAL(fx_stored(&F, "prod-eu:default/apps/v1/Deployment/nginx"), 1);
    /* the trailing slash form is still the same route */
    r = post("/api/v1/instances/sync/", "{\"deletes\":[\"default/apps/v1/Deployment/nginx\"]}");
    fx_expect(&r, 200, OK(0, 1));
    expect_absent("default/apps/v1/Deployment/nginx");
    CU_ASSERT_EQUAL(fx_stored(&F, "prod-eu:default/apps/v1/Deployment/nginx"), 1);
    CU_ASSERT_EQUAL(fx_count(&F), 5);
}

/* ---- /metrics ------------------------------------------------------------ */

static char *metrics_page(void)
{
    http_reply r = get("/metrics");
    CU_ASSERT_EQUAL(r.status, 200);
    char *page = strdup(r.body);
    http_reply_free(&r);
    return page;
}

/* The value of sample `key` (name{labels} or name), -1 when absent. */
static double sample(const char *page, const char *key)
{
    size_t n = strlen(key);
    for (const char *line = page; line != NULL && *line != '\0';) {
        if (strncmp(line, key, n) == 0 && line[n] == ' ')
            return strtod(line + n + 1, NULL);
        const char *end = strchr(line, '\n');
        line = end != NULL ? end + 1 : NULL;
    }
    return -1;
}

/* Sum and number of the samples whose line starts with `prefix`. */
static double sum_of(const char *page, const char *prefix, size_t *lines)
{
    double s = 0;
    size_t n = strlen(prefix), k = 0;
    for (const char *line = page; line != NULL && *line != '\0';) {
        if (strncmp(line, prefix, n) == 0) {
            s += strtod(strchr(line, ' ') + 1, NULL);
            k++;
        }
        const char *end = strchr(line, '\n');
        line = end != NULL ? end + 1 : NULL;
    }
    if (lines != NULL)
        *lines = k;
    return s;
}

/* ---- bad names: nothing touched ------------------------------------------ */

static void test_invalid_names_touch_nothing(void)
{
    char *body = three("bad");
    size_t count0 = fx_count(&F);
    cw_pipeline_stats st0 = fx_stats(&F);
    unsigned long mock0 = cw_mock_embedder_calls(F.mock);
    char *page0 = metrics_page();
    char long_path[200];
    snprintf(long_path, sizeof long_path, "/api/v1/clusters/%064d/instances/sync", 7);

    static const struct { const char *pq; const char *want; } cases[] = {
        { "/api/v1/instances/sync?cluster=Prod", BAD("cluster name 'Prod' is not " RULE " ('P' at position 1)") },
        { "/api/v1/instances/sync?cluster=prod_eu", BAD("cluster name 'prod_eu' is not " RULE " ('_' at position 5)") },
        { "/api/v1/instances/sync?cluster=", BAD("cluster name is empty (it must be " RULE ")") },
        { "/api/v1/instances/sync?cluster", BAD("cluster name is empty (it must be " RULE ")") },
        { "/api/v1/instances/sync?cluster=a%20b", BAD("cluster name is not " RULE " (byte 0x20 at position 2)") },
        { "/api/v1/instances/sync?cluster=prod-", BAD("cluster name 'prod-' is not " RULE " ('-' at the end)") },
        { "/api/v1/instances/sync?cluster=a&cluster=a", BAD("cluster: given more than once") },
        { "/api/v1/instances/sync/?cluster=a&n=1&cluster=b", BAD("cluster: given more than once") },
        { "/api/v1/clusters/prod-eu/instances/sync?cluster=dev-us", BAD("the path and ?cluster= name different clusters") },
        { "/api/v1/clusters/-x/instances/sync", BAD("cluster name '-x' is not " RULE " ('-' at the start)") },
        { "/api/v1/clusters/PROD/instances/sync/", BAD("cluster name 'PROD' is not " RULE " ('P' at position 1)") },
        { "/api/v1/clusters//instances/sync", BAD("cluster name is empty (it must be " RULE ")") },
        { "/api/v1/instances/sync?cluster=a%00b", BAD("NUL in the request line (raw, or %00 in the target)") },
    };
    size_t n_cases = sizeof cases / sizeof cases[0];
    for (size_t i = 0; i < n_cases; i++) {
        http_reply r = post(cases[i].pq, body);
        char conn[64] = "";
        http_reply_header(&r, "Connection", conn, sizeof conn);
        CU_ASSERT_STRING_EQUAL(conn, "close");
        fx_expect(&r, 400, cases[i].want);
    }
    http_reply r = post(long_path, body);
    fx_expect(&r, 400, BAD("cluster name of 64 bytes is too long (at most 63: " RULE ")"));
    /* of no cluster, an id that reads as a cluster's: 400 at its path */
    r = post("/api/v1/instances/sync", "{\"deletes\":[\"x\",\"prod-eu:default/apps/v1/Deployment/nginx\"]}");
    fx_expect(&r, 400, "{\"error\":\"Invalid payload\",\"details\":[{\"path\":[\"deletes\",1],\"code\":"
                       "\"cluster_qualified_id\",\"message\":\"id 'prod-eu:...' reads as an id of cluster "
                       "'prod-eu' (NAME:...): name the cluster in the URL (?cluster=NAME) or drop the prefix\"}]}");
    /* a %2F in the name is a '/' once decoded: another path, 404 */
    r = post("/api/v1/clusters/a%2Fb/instances/sync", body);
    CU_ASSERT_EQUAL(r.status, 404);
    http_reply_free(&r);

    /* nothing read, embedded, written or counted */
    CU_ASSERT_EQUAL(fx_count(&F), count0);
    CU_ASSERT_EQUAL(fx_stored(&F, "prod-eu:default/apps/v1/Deployment/nginx"), 1);
    cw_pipeline_stats st1 = fx_stats(&F);
    CU_ASSERT_EQUAL(st1.batches, st0.batches);
    CU_ASSERT_EQUAL(st1.store_calls, st0.store_calls);
    CU_ASSERT_EQUAL(st1.embed_calls, st0.embed_calls);
    CU_ASSERT_EQUAL(cw_mock_embedder_calls(F.mock), mock0);
    char *page1 = metrics_page();
    CU_ASSERT_EQUAL(sample(page1, "cw_sync_upserts_received_total"),
                    sample(page0, "cw_sync_upserts_received_total"));
    CU_ASSERT_EQUAL(sample(page1, "cw_sync_deletes_received_total"),
                    sample(page0, "cw_sync_deletes_received_total"));
    size_t l0 = 0, l1 = 0;
    CU_ASSERT_EQUAL(sum_of(page1, "cw_sync_cluster_requests_total{", &l1),
                    sum_of(page0, "cw_sync_cluster_requests_total{", &l0));
    CU_ASSERT_EQUAL(l1, l0);
    CU_ASSERT_EQUAL(sample(page1, "cw_sync_cluster_label_values"),
                    sample(page0, "cw_sync_cluster_label_values"));
    double bad0 = sample(page0, "cw_http_requests_total{route=\"sync\",code=\"400\"}");
    CU_ASSERT_EQUAL(sample(page1, "cw_http_requests_total{route=\"sync\",code=\"400\"}"),
                    (bad0 < 0 ? 0 : bad0) + (double)n_cases + 2);
    free(page0);
    free(page1);
    free(body);
}

/* ---- 16 clusters x 4 clients --------------------------------------------- */

#define N_CLUSTERS 16
#define N_CLIENTS 4
#define N_IDS 8          /* per client */
#define N_ROUNDS 6       /* upsert rounds; then a delete of the odd ids */

typedef struct client {
    int cluster, k;
    int failures;
    pthread_t thread;
} client;

/* The upserts of client k's ids at version v (ids alike in every cluster). */
static char *round_body(int k, int v, int with_deletes)
{
    size_t cap = 16384, len = 0;
    char *b = malloc(cap);
    len += (size_t)snprintf(b + len, cap - len, "{\"upserts\":[");
    for (int j = 0; j < N_IDS; j++)
        len += (size_t)snprintf(b + len, cap - len,
                                "%s{\"id\":\"shop/apps/v1/Deployment/app-%d-%d\",\"namespace\":\"shop\","
                                "\"name\":\"app-%d-%d\",\"kind\":\"Deployment\",\"apiVersion\":\"apps/v1\","
                                "\"apiGroup\":\"apps\",\"labels\":{\"app\":\"app-%d-%d\",\"v\":\"%d\"},"
                                "\"annotations\":null,\"createdAt\":\"2026-02-20T10:00:00Z\"}",
                                j > 0 ? "," : "", k, j, k, j, k, j, v);
    len += (size_t)snprintf(b + len, cap - len, "],\"deletes\":");
    if (!with_deletes) {
        len += (size_t)snprintf(b + len, cap - len, "null}");
        return b;
    }
    len += (size_t)snprintf(b + len, cap - len, "[");
    for (int j = 0; j < N_IDS; j++)
        len += (size_t)snprintf(b + len, cap - len, "%s\"shop/apps/v1/Deployment/app-%d-%d\"",
                                j > 0 ? "," : "", k, j);
    snprintf(b + len, cap - len, "]}");
    return b;
}

/* One controller-like client: its requests strictly one after another, a
 * new connection each. Round 2 deletes its ids and upserts them again in
 * one request (deletes first); after the last round it deletes the odd ids. */
static void *client_main(void *arg)
{
    client *c = arg;
    char path[96];
    snprintf(path, sizeof path, c->k % 2 == 0 ? "/api/v1/instances/sync?cluster=c%02d"
                                              : "/api/v1/clusters/c%02d/instances/sync", c->cluster);
    for (int v = 0; v < N_ROUNDS; v++) {
        char *body = round_body(c->k, v, v == 2);
        http_reply r = post(path, body);
        free(body);
        if (r.status != 200)
            c->failures++;
        http_reply_free(&r);
    }
    char del[4096];
    size_t len = (size_t)snprintf(del, sizeof del, "{\"deletes\":[");
    for (int j = 1; j < N_IDS; j += 2)
        len += (size_t)snprintf(del + len, sizeof del - len, "%s\"shop/apps/v1/Deployment/app-%d-%d\"",
                                j > 1 ? "," : "", c->k, j);
    snprintf(del + len, sizeof del - len, "]}");
    http_reply r = post(path, del);
    if (r.status != 200 || strcmp(r.body, OK(0, 4)) != 0)
        c->failures++;
    http_reply_free(&r);
    return NULL;
}

static void test_sixteen_clusters_four_clients(void)
{
    size_t before = fx_count(&F);
    char *page0 = metrics_page();
    client cl[N_CLUSTERS * N_CLIENTS];
    for (int c = 0; c < N_CLUSTERS; c++)
        for (int k = 0; k < N_CLIENTS; k++) {
            client *x = &cl[c * N_CLIENTS + k];
            memset(x, 0, sizeof *x);
            x->cluster = c;
            x->k = k;
            CU_ASSERT_EQUAL_FATAL(pthread_create(&x->thread, NULL, client_main, x), 0);
        }
    int failures = 0;
    for (size_t i = 0; i < N_CLUSTERS * N_CLIENTS; i++) {
        pthread_join(cl[i].thread, NULL);
        failures += cl[i].failures;
    }
    CU_ASSERT_EQUAL(failures, 0);

    /* exactly once per cluster: the even ids, at the last version */
    size_t per_cluster = N_CLIENTS * N_IDS / 2;
    CU_ASSERT_EQUAL(fx_count(&F), before + N_CLUSTERS * per_cluster);
    size_t wrong = 0;
    for (int c = 0; c < N_CLUSTERS; c++) {
        char name[8];
        snprintf(name, sizeof name, "c%02d", c);
        cw_chroma_filter f = { .cluster = name };
        cw_chroma_records r;
        cw_error err;
        cw_error_clear(&err);
        CU_ASSERT_EQUAL_FATAL(cw_chroma_scan_where(F.direct, &f, 100000, &r, &err), 0);
        CU_ASSERT_EQUAL(r.len, per_cluster);
        unsigned char seen[N_CLIENTS][N_IDS];
        memset(seen, 0, sizeof seen);
        for (size_t i = 0; i < r.len; i++) {
            int k = -1, j = -1;
            char want_id[128], want_doc[256];
            if (sscanf(r.items[i].id + 4, "shop/apps/v1/Deployment/app-%d-%d", &k, &j) != 2 ||
                k < 0 || k >= N_CLIENTS || j < 0 || j >= N_IDS || seen[k][j]++) {
                wrong++;
                continue;
            }
            snprintf(want_id, sizeof want_id, "%s:shop/apps/v1/Deployment/app-%d-%d", name, k, j);
            snprintf(want_doc, sizeof want_doc, "Deployment app-%d-%d | namespace: shop | cluster: %s | "
                     "apiVersion: apps/v1 | labels: app=app-%d-%d, v=%d", k, j, name, k, j, N_ROUNDS - 1);
            if (strcmp(r.items[i].id, want_id) != 0 || r.items[i].document == NULL ||
                strcmp(r.items[i].document, want_doc) != 0 || r.items[i].cluster == NULL ||
                strcmp(r.items[i].cluster, name) != 0 || j % 2 != 0) {
                fprintf(stderr, "\n  %s: %s\n", r.items[i].id, r.items[i].document);
                wrong++;
            }
        }
        cw_chroma_records_free(&r);
    }
    CU_ASSERT_EQUAL(wrong, 0);

    /* each cluster counted on its own series */
    char *page1 = metrics_page();
    for (int c = 0; c < N_CLUSTERS; c++) {
        char key[128];
        snprintf(key, sizeof key, "cw_sync_cluster_requests_total{cluster=\"c%02d\"}", c);
        CU_ASSERT_EQUAL(sample(page1, key), N_CLIENTS * (N_ROUNDS + 1));
        snprintf(key, sizeof key, "cw_sync_cluster_upserts_received_total{cluster=\"c%02d\"}", c);
        CU_ASSERT_EQUAL(sample(page1, key), N_CLIENTS * N_ROUNDS * N_IDS);
        snprintf(key, sizeof key, "cw_sync_cluster_deletes_received_total{cluster=\"c%02d\"}", c);
        CU_ASSERT_EQUAL(sample(page1, key), N_CLIENTS * (N_IDS + N_IDS / 2));
    }
    CU_ASSERT_EQUAL(sample(page1, "cw_sync_cluster_label_values"),
                    sample(page0, "cw_sync_cluster_label_values") + N_CLUSTERS);
    free(page0);
    free(page1);
}

/* ---- serve --cluster ----------------------------------------------------- */

static void test_default_cluster(void)
{
    fx G;
    fx_opts o;
    memset(&o, 0, sizeof o);
    o.default_cluster = "home";
    CU_ASSERT_EQUAL_FATAL(fx_open(&G, &o), 0);
    char *body = three("x");
    char *url = fx_printf("%s/api/v1/instances/sync", G.base);
    http_reply r;
    http_request("POST", url, "application/json", body, strlen(body), 0, &r);
    fx_expect(&r, 200, OK(3, 0));
    free(url);
    url = fx_printf("%s/api/v1/instances/sync?cluster=away", G.base);
    http_request("POST", url, "application/json", body, strlen(body), 0, &r);
    fx_expect(&r, 200, OK(3, 0));
    free(url);
    CU_ASSERT_EQUAL(cw_test_chroma_count(G.direct), 6);
    CU_ASSERT_EQUAL(cw_test_chroma_stored(G.direct, "home:default/apps/v1/Deployment/nginx", NULL), 1);
    CU_ASSERT_EQUAL(cw_test_chroma_stored(G.direct, "away:default/apps/v1/Deployment/nginx", NULL), 1);
    CU_ASSERT_EQUAL(cw_test_chroma_stored(G.direct, "default/apps/v1/Deployment/nginx", NULL), 0);
    free(body);
    fx_close(&G);

    /* a bad default is refused at start */
    memset(&o, 0, sizeof o);
    o.default_cluster = "Home";
    fx H;
    CU_ASSERT_EQUAL(fx_open(&H, &o), -1);
    CU_ASSERT_PTR_NULL(H.server);
    fx_close(&H);
}

/* ---- 10,000 names, 64 series --------------------------------------------- */

#define N_NAMES 10000
#define N_SENDERS 4

typedef struct sender {
    int part;
    int failures;
    pthread_t thread;
} sender;

static void *sender_main(void *arg)
{
    sender *s = arg;
    char path[96];
    for (int i = s->part; i < N_NAMES; i += N_SENDERS) {
        snprintf(path, sizeof path, "/api/v1/instances/sync?cluster=invented-%d", i);
        http_reply r = post(path, "{}");
        if (r.status != 200 || strcmp(r.body, OK(0, 0)) != 0)
            s->failures++;
        http_reply_free(&r);
    }
    return NULL;
}

static void test_metric_bound_with_10000_names(void)
{
    char *page0 = metrics_page();
    double names0 = sample(page0, "cw_sync_cluster_label_values");
    double other0 = sample(page0, "cw_sync_cluster_requests_total{cluster=\"other\"}");
    size_t l0 = 0;
    double all0 = sum_of(page0, "cw_sync_cluster_requests_total{", &l0);
    CU_ASSERT(names0 < CW_HTTP_METRICS_MAX_CLUSTERS);
    sender s[N_SENDERS];
    for (int i = 0; i < N_SENDERS; i++) {
        s[i] = (sender){ .part = i };
        CU_ASSERT_EQUAL_FATAL(pthread_create(&s[i].thread, NULL, sender_main, &s[i]), 0);
    }
    int failures = 0;
    for (int i = 0; i < N_SENDERS; i++) {
        pthread_join(s[i].thread, NULL);
        failures += s[i].failures;
    }
    CU_ASSERT_EQUAL(failures, 0);
    char *page1 = metrics_page();
    size_t l1 = 0;
    double all1 = sum_of(page1, "cw_sync_cluster_requests_total{", &l1);
    /* bounded: 64 named series, "" and "other" */
    CU_ASSERT_EQUAL(sample(page1, "cw_sync_cluster_label_values"), CW_HTTP_METRICS_MAX_CLUSTERS);
    CU_ASSERT_EQUAL(l1, CW_HTTP_METRICS_MAX_CLUSTERS + 2);
    size_t lu = 0, ld = 0;
    sum_of(page1, "cw_sync_cluster_upserts_received_total{", &lu);
    sum_of(page1, "cw_sync_cluster_deletes_received_total{", &ld);
    CU_ASSERT_EQUAL(lu, CW_HTTP_METRICS_MAX_CLUSTERS + 2);
    CU_ASSERT_EQUAL(ld, CW_HTTP_METRICS_MAX_CLUSTERS + 2);
    /* and exact: every request counted once, the names past the bound under "other" */
    CU_ASSERT_EQUAL(all1, all0 + N_NAMES);
    double new_named = CW_HTTP_METRICS_MAX_CLUSTERS - names0;
    CU_ASSERT_EQUAL(sample(page1, "cw_sync_cluster_requests_total{cluster=\"other\"}"),
                    (other0 < 0 ? 0 : other0) + N_NAMES - new_named);
    CU_ASSERT(strlen(page1) < strlen(page0) + 64 * 3 * 80);   /* the page did not grow with the names */
    free(page0);
    free(page1);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    fx_opts o;
    memset(&o, 0, sizeof o);
    if (fx_open(&F, &o) != 0) {
        fx_close(&F);
        curl_global_cleanup();
        return 1;
    }
    CU_TestInfo tests[] = {
        { "two clusters, same ids, other labels: both, found apart", test_two_clusters_same_ids },
        { "a delete in one cluster leaves the other", test_delete_in_one_cluster },
        { "no cluster: the reference's id, text and metadata", test_no_cluster_unchanged },
        { "bad names: 400, nothing touched", test_invalid_names_touch_nothing },
        { "16 clusters x 4 clients: once per cluster, last write wins", test_sixteen_clusters_four_clients },
        { "serve's default cluster", test_default_cluster },
        { "/metrics: 10,000 names, 64 series", test_metric_bound_with_10000_names },
        CU_TEST_INFO_NULL,
    };
    int rc = cw_test_run("http_clusters", tests);
    fx_close(&F);
    curl_global_cleanup();
    return rc;
}
