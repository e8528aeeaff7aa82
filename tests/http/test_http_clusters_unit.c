/* Issue 14, the HTTP module's pure parts: the cluster forms of the sync
 * route, the header check that names the cluster (exact answers), and the
 * per-cluster metrics with their bound on label values — 10,000 distinct
 * names from 4 threads. Over real HTTP: test_http_clusters.c. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "answer.h"
#include "cw_test.h"
#include "http_server.h"
#include "metrics.h"
#include "request.h"
#include "routes.h"

static void assert_body(const cw_http_answer *a, const char *want)
{
    size_t len = 0;
    const char *got = cw_http_answer_bytes(a, &len);
    CU_ASSERT_STRING_EQUAL(got, want);
    if (strcmp(got, want) != 0)
        fprintf(stderr, "\n  got:  %s\n  want: %s\n", got, want);
}

static void test_cluster_routes(void)
{
    static const struct { const char *path; int admin; cw_http_route want; } cases[] = {
        { "/api/v1/clusters/prod/instances/sync", 0, CW_ROUTE_SYNC },
        { "/api/v1/clusters/prod/instances/sync/", 0, CW_ROUTE_SYNC },
        { "/api/v1/clusters/prod/instances/sync", 1, CW_ROUTE_OTHER },
        { "/api/v1/clusters/Bad_Name/instances/sync", 0, CW_ROUTE_SYNC },   /* 400, not 404 */
        { "/api/v1/clusters//instances/sync", 0, CW_ROUTE_SYNC },          /* empty: 400 */
        { "/api/v1/clusters/prod/instances/sync//", 0, CW_ROUTE_OTHER },
        { "/api/v1/clusters/prod/instances/syncx", 0, CW_ROUTE_OTHER },
        { "/api/v1/clusters/a/b/instances/sync", 0, CW_ROUTE_OTHER },
        { "/api/v1/clusters/prod/instances", 0, CW_ROUTE_OTHER },
        { "/api/v1/clusters/prod", 0, CW_ROUTE_OTHER },
        { "/api/v1/clusters/", 0, CW_ROUTE_OTHER },
        { "/api/v1/clusters", 0, CW_ROUTE_OTHER },
        { "/api/v1/instances/sync", 0, CW_ROUTE_SYNC },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cw_http_route got = cw_http_route_find(cases[i].path, cases[i].admin);
        CU_ASSERT_EQUAL(got, cases[i].want);
        if (got != cases[i].want)
            fprintf(stderr, "\n  %s (admin %d): route %d, want %d\n", cases[i].path,
                    cases[i].admin, (int)got, (int)cases[i].want);
    }
    const char *name = NULL;
    size_t len = 0;
    CU_ASSERT_EQUAL(cw_http_sync_path_cluster("/api/v1/clusters/prod-eu/instances/sync/", &name, &len), 1);
    CU_ASSERT_EQUAL(len, 7);
    CU_ASSERT_EQUAL(strncmp(name, "prod-eu", 7), 0);
    CU_ASSERT_EQUAL(cw_http_sync_path_cluster("/api/v1/instances/sync", &name, &len), 0);
}

static cw_http_head head(const char *path, const char *arg, size_t arg_len, size_t arg_count)
{
    cw_http_head h;
    memset(&h, 0, sizeof h);
    h.method = "POST";
    h.path = path;
    h.content_type = "application/json";
    h.content_length = "2";
    h.content_length_count = 1;
    h.cluster_arg = arg;
    h.cluster_arg_len = arg_len;
    h.cluster_arg_count = arg_count;
    return h;
}

/* The header check: 0 (read the body) with the cluster in `cluster`, or
 * the status with the answer in `a`. */
static unsigned check(const cw_http_head *h, cw_http_answer *a, char *cluster, size_t cap)
{
    cw_http_request *r = cw_http_request_create(100, 1000);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    memset(a, 0, sizeof *a);
    int answered = cw_http_request_check_head(r, h, a);
    snprintf(cluster, cap, "%s", r->has_cluster ? r->cluster : "(none)");
    cw_http_request_destroy(r);
    return answered ? a->status : 0;
}

#define RULE "a DNS-1123 label: 1-63 characters of a-z, 0-9 and '-', starting and ending with a letter or digit"

static void test_head_names_the_cluster(void)
{
    cw_http_answer a;
    char c[80];
    cw_http_head h = head("/api/v1/instances/sync", NULL, 0, 0);
    CU_ASSERT_EQUAL(check(&h, &a, c, sizeof c), 0);
    CU_ASSERT_STRING_EQUAL(c, "(none)");
    h = head("/api/v1/instances/sync", "prod-eu", 7, 1);
    CU_ASSERT_EQUAL(check(&h, &a, c, sizeof c), 0);
    CU_ASSERT_STRING_EQUAL(c, "prod-eu");
    h = head("/api/v1/clusters/prod-eu/instances/sync", NULL, 0, 0);
    CU_ASSERT_EQUAL(check(&h, &a, c, sizeof c), 0);
    CU_ASSERT_STRING_EQUAL(c, "prod-eu");
    h = head("/api/v1/clusters/prod-eu/instances/sync/", "prod-eu", 7, 1);   /* both, the same */
    CU_ASSERT_EQUAL(check(&h, &a, c, sizeof c), 0);
    CU_ASSERT_STRING_EQUAL(c, "prod-eu");
    h = head("/api/v1/instances/sync", "prod-x", 4, 1);     /* the decoded length counts */
    CU_ASSERT_EQUAL(check(&h, &a, c, sizeof c), 0);
    CU_ASSERT_STRING_EQUAL(c, "prod");
}

static void expect_400(cw_http_head h, const char *body)
{
    cw_http_answer a;
    char c[80];
    CU_ASSERT_EQUAL(check(&h, &a, c, sizeof c), 400);
    assert_body(&a, body);
    CU_ASSERT_EQUAL(a.close, 1);
    CU_ASSERT_STRING_EQUAL(c, "(none)");
    cw_http_answer_clear(&a);
}

static void test_head_refuses_bad_names(void)
{
    expect_400(head("/api/v1/instances/sync", "Prod", 4, 1),
               "{\"error\":\"Bad request\",\"message\":\"cluster name 'Prod' is not " RULE
               " ('P' at position 1)\"}");
    expect_400(head("/api/v1/instances/sync", "", 0, 1),
               "{\"error\":\"Bad request\",\"message\":\"cluster name is empty (it must be " RULE ")\"}");
    expect_400(head("/api/v1/instances/sync", NULL, 0, 1),       /* ?cluster without = */
               "{\"error\":\"Bad request\",\"message\":\"cluster name is empty (it must be " RULE ")\"}");
    expect_400(head("/api/v1/instances/sync", "a\0b", 3, 1),     /* %00 decoded */
               "{\"error\":\"Bad request\",\"message\":\"cluster name is not " RULE
               " (byte 0x00 at position 2)\"}");
    expect_400(head("/api/v1/instances/sync", "a", 1, 2),
               "{\"error\":\"Bad request\",\"message\":\"cluster: given more than once\"}");
    expect_400(head("/api/v1/clusters/prod/instances/sync", "dev", 3, 1),
               "{\"error\":\"Bad request\",\"message\":\"the path and ?cluster= name different clusters\"}");
    expect_400(head("/api/v1/clusters/-prod/instances/sync", NULL, 0, 0),
               "{\"error\":\"Bad request\",\"message\":\"cluster name '-prod' is not " RULE
               " ('-' at the start)\"}");
    expect_400(head("/api/v1/clusters//instances/sync", NULL, 0, 0),
               "{\"error\":\"Bad request\",\"message\":\"cluster name is empty (it must be " RULE ")\"}");
    char path[200], want[400];
    snprintf(path, sizeof path, "/api/v1/clusters/%064d/instances/sync", 0);
    snprintf(want, sizeof want, "{\"error\":\"Bad request\",\"message\":\"cluster name of 64 bytes "
             "is too long (at most 63: " RULE ")\"}");
    expect_400(head(path, NULL, 0, 0), want);
}

/* 405 before the name; the name before 413/415. */
static void test_head_check_order(void)
{
    cw_http_answer a;
    char c[80];
    cw_http_head h = head("/api/v1/clusters/Bad/instances/sync", NULL, 0, 0);
    h.method = "GET";
    CU_ASSERT_EQUAL(check(&h, &a, c, sizeof c), 405);
    cw_http_answer_clear(&a);
    h = head("/api/v1/clusters/Bad/instances/sync", NULL, 0, 0);
    h.content_length = "1000";
    CU_ASSERT_EQUAL(check(&h, &a, c, sizeof c), 400);
    cw_http_answer_clear(&a);
    h = head("/api/v1/clusters/ok/instances/sync", NULL, 0, 0);
    h.content_length = "1000";
    CU_ASSERT_EQUAL(check(&h, &a, c, sizeof c), 413);
    cw_http_answer_clear(&a);
    h = head("/api/v1/clusters/ok/instances/sync", NULL, 0, 0);
    h.content_type = "text/plain";
    CU_ASSERT_EQUAL(check(&h, &a, c, sizeof c), 415);
    cw_http_answer_clear(&a);
}

/* ---- per-cluster metrics -------------------------------------------------- */

#define N_NAMES 10000
#define N_THREADS 4

typedef struct counter_job {
    cw_http_metrics *m;
    int part;
} counter_job;

/* Thread `part` counts every name i with i % N_THREADS == part: one sync
 * of 2 upserts and 1 delete each, and cluster "c0" once more each time. */
static void *count_names(void *arg)
{
    counter_job *j = arg;
    char name[32];
    for (int i = j->part; i < N_NAMES; i += N_THREADS) {
        snprintf(name, sizeof name, "c%d", i);
        cw_http_metrics_cluster(j->m, name, 2, 1);
        cw_http_metrics_cluster(j->m, "c0", 0, 0);
    }
    return NULL;
}

/* The value of the sample `key` (name{labels}) on the page, -1 when absent. */
static double sample(const char *page, const char *key)
{
    size_t n = strlen(key);
    for (const char *line = page; *line != '\0';) {
        const char *end = strchr(line, '\n');
        if (strncmp(line, key, n) == 0 && line[n] == ' ')
            return strtod(line + n + 1, NULL);
        if (end == NULL)
            break;
        line = end + 1;
    }
    return -1;
}

static size_t count_lines(const char *page, const char *prefix)
{
    size_t k = 0, n = strlen(prefix);
    for (const char *line = page; *line != '\0';) {
        if (strncmp(line, prefix, n) == 0)
            k++;
        const char *end = strchr(line, '\n');
        if (end == NULL)
            break;
        line = end + 1;
    }
    return k;
}

static void test_cluster_metrics_bounded(void)
{
    cw_http_metrics *m = cw_http_metrics_create();
    CU_ASSERT_PTR_NOT_NULL_FATAL(m);
    char *page = cw_http_metrics_render(m, 0, NULL);
    /* nothing counted: the families with no sample, and the gauge at 0 */
    CU_ASSERT_PTR_NOT_NULL(strstr(page,
        "# HELP cw_sync_cluster_requests_total Valid sync requests received, by the cluster they "
        "named (\"\" none; \"other\" past the first 64 names).\n"
        "# TYPE cw_sync_cluster_requests_total counter\n"
        "# HELP cw_sync_cluster_upserts_received_total"));
    CU_ASSERT_EQUAL(sample(page, "cw_sync_cluster_label_values"), 0);
    free(page);

    cw_http_metrics_cluster(m, NULL, 5, 0);         /* no cluster */
    cw_http_metrics_cluster(m, "", 1, 1);
    pthread_t t[N_THREADS];
    counter_job jobs[N_THREADS];
    for (int i = 0; i < N_THREADS; i++) {
        jobs[i] = (counter_job){ m, i };
        CU_ASSERT_EQUAL_FATAL(pthread_create(&t[i], NULL, count_names, &jobs[i]), 0);
    }
    for (int i = 0; i < N_THREADS; i++)
        pthread_join(t[i], NULL);

    CU_ASSERT_EQUAL(cw_http_metrics_cluster_names(m), CW_HTTP_METRICS_MAX_CLUSTERS);
    page = cw_http_metrics_render(m, 0, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(page);
    /* 64 names of their own, "" and "other": 66 series per family, whatever the names */
    CU_ASSERT_EQUAL(count_lines(page, "cw_sync_cluster_requests_total{"), CW_HTTP_METRICS_MAX_CLUSTERS + 2);
    CU_ASSERT_EQUAL(count_lines(page, "cw_sync_cluster_upserts_received_total{"), CW_HTTP_METRICS_MAX_CLUSTERS + 2);
    CU_ASSERT_EQUAL(count_lines(page, "cw_sync_cluster_deletes_received_total{"), CW_HTTP_METRICS_MAX_CLUSTERS + 2);
    CU_ASSERT_EQUAL(sample(page, "cw_sync_cluster_label_values"), CW_HTTP_METRICS_MAX_CLUSTERS);
    CU_ASSERT_EQUAL(sample(page, "cw_sync_cluster_requests_total{cluster=\"\"}"), 2);
    CU_ASSERT_EQUAL(sample(page, "cw_sync_cluster_upserts_received_total{cluster=\"\"}"), 6);
    /* every count is kept: the named series and "other" add up exactly */
    double syncs = 0, ups = 0, dels = 0;
    int c0_named = sample(page, "cw_sync_cluster_requests_total{cluster=\"c0\"}") >= 0;
    for (const char *line = page; *line != '\0';) {
        double v;
        if (strncmp(line, "cw_sync_cluster_requests_total{cluster=\"", 40) == 0 && line[40] != '"') {
            v = strtod(strchr(line, ' ') + 1, NULL);
            syncs += v;
        } else if (strncmp(line, "cw_sync_cluster_upserts_received_total{cluster=\"", 48) == 0 && line[48] != '"') {
            ups += strtod(strchr(line, ' ') + 1, NULL);
        } else if (strncmp(line, "cw_sync_cluster_deletes_received_total{cluster=\"", 48) == 0 && line[48] != '"') {
            dels += strtod(strchr(line, ' ') + 1, NULL);
        }
        const char *end = strchr(line, '\n');
        if (end == NULL)
            break;
        line = end + 1;
    }
    CU_ASSERT_EQUAL(syncs, 2.0 * N_NAMES);
    CU_ASSERT_EQUAL(ups, 2.0 * N_NAMES);
    CU_ASSERT_EQUAL(dels, 1.0 * N_NAMES);
    if (c0_named) {
        CU_ASSERT_EQUAL(sample(page, "cw_sync_cluster_requests_total{cluster=\"c0\"}"), N_NAMES + 1);
    }
    CU_ASSERT(sample(page, "cw_sync_cluster_requests_total{cluster=\"other\"}") >=
              N_NAMES - CW_HTTP_METRICS_MAX_CLUSTERS);
    /* the named series are sorted by name: the page is the same for the same counts */
    const char *prev = NULL;
    for (const char *line = strstr(page, "cw_sync_cluster_requests_total{cluster=\"c"); line != NULL;) {
        if (strncmp(line, "cw_sync_cluster_requests_total{cluster=\"c", 41) != 0)
            break;
        if (prev != NULL)
            CU_ASSERT(strcmp(prev, line) < 0);
        prev = line;
        const char *end = strchr(line, '\n');
        line = end != NULL ? end + 1 : NULL;
    }
    free(page);
    cw_http_metrics_cluster(NULL, "x", 1, 1);        /* NULL metrics: a no-op */
    cw_http_metrics_destroy(m);
}

static CU_TestInfo tests[] = {
    { "cluster forms of the sync route", test_cluster_routes },
    { "the header check names the cluster", test_head_names_the_cluster },
    { "bad names, twice, two names: 400 + close", test_head_refuses_bad_names },
    { "405, then the name, then 413 / 415", test_head_check_order },
    { "per-cluster metrics: 10,000 names, 4 threads, 64 series", test_cluster_metrics_bounded },
    CU_TEST_INFO_NULL,
};

int main(void)
{
    return cw_test_run("http_clusters_unit", tests);
}
