#define _GNU_SOURCE   /* strcasestr */
/* Contract tests over real HTTP: limits, hostile input, probes, failing
 * dependencies and shutdown (DESIGN §3, §6, §6b). 4xx only for requests
 * that can never succeed; everything transient is 5xx (503 + Retry-After);
 * the daemon survives all of it. Effects are read from Chroma.
 * Oversize bodies, broken framing, slow clients and JSON abuse are proved
 * in tests/reliability/test_reliability_http.c (issue 5 items 1-4). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>

#include "cw_test.h"
#include "cw_time.h"
#include "http_fixture.h"

static fx F;

static int open_with(size_t max_body, int deadline_ms, int admin)
{
    fx_opts o;
    memset(&o, 0, sizeof o);
    o.max_body = max_body;
    o.request_deadline_ms = deadline_ms;
    o.with_admin = admin;
    return fx_open(&F, &o);
}

static char *url(const char *base, const char *path)
{
    return fx_printf("%s%s", base, path);
}

/* `method base+path` with optional JSON body; assert status and exact body
 * (NULL: not checked). */
static void expect(const char *method, const char *base, const char *path, const char *ctype,
                   const char *body, long want_status, const char *want_body)
{
    char *u = url(base, path);
    http_reply r;
    http_request(method, u, ctype, body, body != NULL ? strlen(body) : 0, 0, &r);
    CU_ASSERT_EQUAL(r.status, want_status);
    if (want_body != NULL)
        CU_ASSERT_STRING_EQUAL(r.body, want_body);
    if (r.status != want_status || (want_body != NULL && strcmp(r.body, want_body) != 0))
        fprintf(stderr, "\n  %s %s: got %ld %s\n", method, path, r.status, r.body);
    http_reply_free(&r);
    free(u);
}

/* ---- size limit ---------------------------------------------------------- */

static void test_default_limit_is_5_mib(void)
{
    CU_ASSERT_FATAL(open_with(0, 0, 0) == 0);
    size_t big = 5u * 1024u * 1024u + 1;
    char *body = malloc(big + 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(body);
    memset(body, ' ', big);
    body[big] = '\0';
    body[0] = '{';
    body[1] = '}';
    char *u = url(F.base, CW_HTTP_SYNC_PATH);
    http_reply r;
    http_request("POST", u, "application/json", body, big, 0, &r);
    CU_ASSERT_EQUAL(r.status, 413);
    http_reply_free(&r);
    http_request("POST", u, "application/json", body, big - 1, 0, &r);
    CU_ASSERT_EQUAL(r.status, 200);
    CU_ASSERT_STRING_EQUAL(r.body, "{\"status\":\"ok\",\"upserted\":0,\"deleted\":0}");
    http_reply_free(&r);
    free(u);
    free(body);
    fx_close(&F);
}

/* ---- content type, methods, routes -------------------------------------- */

static void test_content_type_method_route(void)
{
    CU_ASSERT_FATAL(open_with(0, 0, 0) == 0);
    const char *ok = "{\"status\":\"ok\",\"upserted\":0,\"deleted\":0}";
    const char *e415 = "{\"error\":\"Unsupported media type\",\"message\":"
                       "\"Content-Type must be application/json\"}";
    expect("POST", F.base, CW_HTTP_SYNC_PATH, "text/plain", "{}", 415, e415);
    expect("POST", F.base, CW_HTTP_SYNC_PATH, "application/x-www-form-urlencoded", "{}", 415, e415);
    expect("POST", F.base, CW_HTTP_SYNC_PATH, NULL, "{}", 415, e415);
    expect("POST", F.base, CW_HTTP_SYNC_PATH, "application/json; charset=utf-8", "{}", 200, ok);
    expect("POST", F.base, CW_HTTP_SYNC_PATH, "Application/JSON", "{}", 200, ok);

    char *u = url(F.base, CW_HTTP_SYNC_PATH);
    http_reply r;
    char allow[64];
    const char *methods[] = { "GET", "PUT", "DELETE", "PATCH" };
    for (size_t i = 0; i < 4; i++) {
        http_request(methods[i], u, NULL, NULL, 0, 0, &r);
        CU_ASSERT_EQUAL(r.status, 405);
        CU_ASSERT(http_reply_header(&r, "Allow", allow, sizeof allow) == 1);
        CU_ASSERT_STRING_EQUAL(allow, "POST");
        http_reply_free(&r);
    }
    free(u);
    u = url(F.base, "/healthz");
    http_request("POST", u, "application/json", "{}", 2, 0, &r);
    CU_ASSERT_EQUAL(r.status, 405);
    CU_ASSERT(http_reply_header(&r, "Allow", allow, sizeof allow) == 1);
    CU_ASSERT_STRING_EQUAL(allow, "GET, HEAD");
    CU_ASSERT_STRING_EQUAL(r.body, "{\"error\":\"Method not allowed\",\"message\":"
                                   "\"POST is not allowed here; use GET, HEAD\"}");
    http_reply_free(&r);
    http_request("HEAD", u, NULL, NULL, 0, 0, &r);
    CU_ASSERT_EQUAL(r.status, 200);
    CU_ASSERT_STRING_EQUAL(r.body, "");
    http_reply_free(&r);
    free(u);

    expect("GET", F.base, "/api/v1/instances", NULL, NULL, 404,
           "{\"error\":\"Not found\",\"message\":\"no route for GET /api/v1/instances\"}");
    expect("POST", F.base, "/api/v2/instances/sync", "application/json", "{}", 404,
           "{\"error\":\"Not found\",\"message\":\"no route for POST /api/v2/instances/sync\"}");
    expect("GET", F.base, "/", NULL, NULL, 404, NULL);
    fx_close(&F);
}

/* ---- dependencies down or failing --------------------------------------- */

static void test_chroma_down_probes_and_sync(void)
{
    unsigned short dead = http_free_port();
    char *dead_url = fx_printf("http://127.0.0.1:%u", (unsigned)dead);
    fx_opts o;
    memset(&o, 0, sizeof o);
    o.chroma_url = dead_url;
    o.with_admin = 1;
    CU_ASSERT_FATAL(fx_open(&F, &o) == 0);
    expect("GET", F.base, "/healthz", NULL, NULL, 200, "{\"status\":\"ok\"}");
    expect("GET", F.admin, "/healthz", NULL, NULL, 200, "{\"status\":\"ok\"}");

    char *u = url(F.base, "/readyz");
    http_reply r;
    http_request("GET", u, NULL, NULL, 0, 0, &r);
    CU_ASSERT_EQUAL(r.status, 503);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.body, "{\"status\":\"unavailable\",\"error\":\"chroma: "));
    http_reply_free(&r);
    free(u);

    char *inst = fx_instance("down", "x");
    char *p = fx_printf("{\"upserts\":[%s]}", inst);
    http_post_sync(F.base, p, &r);
    CU_ASSERT_EQUAL(r.status, 503);
    char ra[32];
    CU_ASSERT(http_reply_header(&r, "Retry-After", ra, sizeof ra) == 1);
    CU_ASSERT(atoi(ra) > 0);
    http_reply_free(&r);
    free(p);
    free(inst);
    fx_close(&F);
    free(dead_url);
}

static int ready_status(const char *base)
{
    char *u = url(base, "/readyz");
    http_reply r;
    http_request("GET", u, NULL, NULL, 0, 0, &r);
    int st = (int)r.status;
    http_reply_free(&r);
    free(u);
    return st;
}

static void test_readyz_follows_chroma(void)
{
    const char *state = getenv("CW_TEST_STATE");
    char *dir = fx_printf("%s/http-own-chroma-%d", state != NULL ? state : "/tmp", (int)getpid());
    unsigned short port = http_free_port();
    CU_ASSERT_FATAL(fx_chroma_start(dir, port) == 0);
    char *chroma_url = fx_printf("http://127.0.0.1:%u", (unsigned)port);
    fx_opts o;
    memset(&o, 0, sizeof o);
    o.chroma_url = chroma_url;
    o.with_admin = 1;
    CU_ASSERT_FATAL(fx_open(&F, &o) == 0);
    CU_ASSERT_EQUAL(ready_status(F.base), 200);
    CU_ASSERT_EQUAL(ready_status(F.admin), 200);

    fx_chroma_stop(dir);
    CU_ASSERT_EQUAL(ready_status(F.base), 503);
    CU_ASSERT_EQUAL(ready_status(F.admin), 503);
    expect("GET", F.base, "/healthz", NULL, NULL, 200, "{\"status\":\"ok\"}");

    CU_ASSERT_FATAL(fx_chroma_start(dir, port) == 0);   /* waits for its heartbeat */
    CU_ASSERT_EQUAL(ready_status(F.base), 200);
    CU_ASSERT_EQUAL(ready_status(F.admin), 200);

    /* Writes work again once it is back. */
    char *inst = fx_instance("back", "x");
    char *p = fx_printf("{\"upserts\":[%s]}", inst);
    http_reply r;
    http_post_sync(F.base, p, &r);
    CU_ASSERT_EQUAL(r.status, 200);
    http_reply_free(&r);
    CU_ASSERT_EQUAL(fx_stored(&F, "back/apps/v1/Deployment/x"), 1);
    free(p);
    free(inst);
    fx_close(&F);
    fx_chroma_stop(dir);
    free(chroma_url);
    free(dir);
}

/* POST one new instance while the embedder fails with `status`; expect
 * 503 + Retry-After and nothing stored. */
static void embed_failure_case(int status, int retry_after)
{
    CU_ASSERT_FATAL(open_with(0, 0, 0) == 0);
    cw_mock_embedder_fail(F.mock, status, -1, retry_after);
    char *inst = fx_instance("emb", "fail");
    char *p = fx_printf("{\"upserts\":[%s]}", inst);
    http_reply r;
    http_post_sync(F.base, p, &r);
    CU_ASSERT_EQUAL(r.status, 503);
    char ra[32];
    CU_ASSERT(http_reply_header(&r, "Retry-After", ra, sizeof ra) == 1);
    CU_ASSERT(atoi(ra) > 0);
    if (r.status != 503)
        fprintf(stderr, "\n  embedder %d: got %ld %s\n", status, r.status, r.body);
    http_reply_free(&r);
    CU_ASSERT_EQUAL(fx_stored(&F, "emb/apps/v1/Deployment/fail"), 0);
    CU_ASSERT_EQUAL(fx_count(&F), 0);

    /* Once the embedder recovers, the controller's retry succeeds. */
    cw_mock_embedder_reset(F.mock);
    http_post_sync(F.base, p, &r);
    CU_ASSERT_EQUAL(r.status, 200);
    http_reply_free(&r);
    CU_ASSERT_EQUAL(fx_stored(&F, "emb/apps/v1/Deployment/fail"), 1);
    free(p);
    free(inst);
    fx_close(&F);
}

static void test_embedder_429_is_503(void) { embed_failure_case(429, 1); }
static void test_embedder_500_is_503(void) { embed_failure_case(500, 0); }
static void test_embedder_401_is_503(void) { embed_failure_case(401, 0); }

static void test_chroma_delete_failure_applies_no_upserts(void)
{
    CU_ASSERT_FATAL(open_with(0, 0, 0) == 0);
    char *old = fx_instance("cf", "old");
    char *p = fx_printf("{\"upserts\":[%s]}", old);
    http_reply r;
    http_post_sync(F.base, p, &r);
    CU_ASSERT_EQUAL(r.status, 200);
    http_reply_free(&r);
    free(p);
    free(old);

    cw_fault_proxy_fail(F.proxy, "/delete", 500, -1);
    unsigned long deletes = cw_fault_proxy_calls(F.proxy, "/delete");
    char *fresh = fx_instance("cf", "new");
    p = fx_printf("{\"deletes\":[\"cf/apps/v1/Deployment/old\"],\"upserts\":[%s]}", fresh);
    http_post_sync(F.base, p, &r);
    CU_ASSERT(r.status >= 500 && r.status <= 599);
    if (r.status == 503) {
        char ra[32];
        CU_ASSERT(http_reply_header(&r, "Retry-After", ra, sizeof ra) == 1);
    }
    http_reply_free(&r);
    CU_ASSERT(cw_fault_proxy_calls(F.proxy, "/delete") > deletes);   /* it did reach the delete */
    CU_ASSERT_EQUAL(fx_stored(&F, "cf/apps/v1/Deployment/old"), 1);
    CU_ASSERT_EQUAL(fx_stored(&F, "cf/apps/v1/Deployment/new"), 0);

    /* The retry after Chroma recovers applies both. */
    cw_fault_proxy_fail(F.proxy, NULL, 0, 0);
    http_post_sync(F.base, p, &r);
    CU_ASSERT_EQUAL(r.status, 200);
    CU_ASSERT_STRING_EQUAL(r.body, "{\"status\":\"ok\",\"upserted\":1,\"deleted\":1}");
    http_reply_free(&r);
    CU_ASSERT_EQUAL(fx_stored(&F, "cf/apps/v1/Deployment/old"), 0);
    CU_ASSERT_EQUAL(fx_stored(&F, "cf/apps/v1/Deployment/new"), 1);
    free(p);
    free(fresh);
    fx_close(&F);
}

/* Overload: a one-slot queue and a slow embedder. Every answer is 200 or
 * 503 + Retry-After, and every id answered 200 is stored. */
#define N_OVERLOAD 8

typedef struct overload_job {
    int index;
    long status;
    int has_retry_after;
} overload_job;

static void *overload_main(void *arg)
{
    overload_job *job = arg;
    char name[32];
    snprintf(name, sizeof name, "o%d", job->index);
    char *inst = fx_instance("over", name);
    char *p = fx_printf("{\"upserts\":[%s]}", inst);
    http_reply r;
    http_post_sync(F.base, p, &r);
    job->status = r.status;
    char ra[32];
    job->has_retry_after = http_reply_header(&r, "Retry-After", ra, sizeof ra) == 1 && atoi(ra) > 0;
    http_reply_free(&r);
    free(p);
    free(inst);
    return NULL;
}

static void test_overload_is_503_and_acknowledged_is_stored(void)
{
    fx_opts o;
    memset(&o, 0, sizeof o);
    o.queue_max = 1;
    CU_ASSERT_FATAL(fx_open(&F, &o) == 0);
    cw_mock_embedder_set_latency(F.mock, 300);
    pthread_t th[N_OVERLOAD];
    overload_job jobs[N_OVERLOAD];
    for (int i = 0; i < N_OVERLOAD; i++) {
        jobs[i].index = i;
        jobs[i].status = 0;
        jobs[i].has_retry_after = 0;
        CU_ASSERT_FATAL(pthread_create(&th[i], NULL, overload_main, &jobs[i]) == 0);
    }
    for (int i = 0; i < N_OVERLOAD; i++)
        pthread_join(th[i], NULL);
    int refused = 0;
    for (int i = 0; i < N_OVERLOAD; i++)
        refused += jobs[i].status == 503;
    CU_ASSERT(refused > 0);       /* the one-slot queue did refuse some */
    for (int i = 0; i < N_OVERLOAD; i++) {
        char id[64];
        snprintf(id, sizeof id, "over/apps/v1/Deployment/o%d", i);
        CU_ASSERT(jobs[i].status == 200 || jobs[i].status == 503);
        if (jobs[i].status == 503)
            CU_ASSERT_EQUAL(jobs[i].has_retry_after, 1);
        if (jobs[i].status == 200)
            CU_ASSERT_EQUAL(fx_stored(&F, id), 1);
    }
    fx_close(&F);
}

/* ---- shutdown ------------------------------------------------------------ */

typedef struct slow_post {
    const char *base;
    http_reply reply;
} slow_post;

static void *slow_post_main(void *arg)
{
    slow_post *s = arg;
    char *inst = fx_instance("shut", "inflight");
    char *p = fx_printf("{\"upserts\":[%s]}", inst);
    http_post_sync(s->base, p, &s->reply);
    free(p);
    free(inst);
    return NULL;
}

static void test_shutdown_answers_in_flight(void)
{
    CU_ASSERT_FATAL(open_with(0, 0, 1) == 0);
    cw_mock_embedder_set_latency(F.mock, 1000);
    slow_post s;
    memset(&s, 0, sizeof s);
    s.base = F.base;
    unsigned long calls = cw_mock_embedder_calls(F.mock);
    pthread_t th;
    CU_ASSERT_FATAL(pthread_create(&th, NULL, slow_post_main, &s) == 0);
    /* Wait (bounded) until the request is inside the pipeline: the mock has
     * received its embedding call and holds it for 1 s. */
    for (int i = 0; i < 6000 && cw_mock_embedder_calls(F.mock) == calls; i++)
        cw_sleep_ms(5);
    CU_ASSERT_EQUAL(cw_http_server_in_flight(F.server), 1);

    cw_http_server_begin_shutdown(F.server);
    char *u = url(F.admin, "/readyz");
    http_reply r;
    http_request("GET", u, NULL, NULL, 0, 0, &r);
    CU_ASSERT_EQUAL(r.status, 503);
    CU_ASSERT_STRING_EQUAL(r.body, "{\"status\":\"unavailable\",\"error\":\"shutting down\"}");
    http_reply_free(&r);
    free(u);
    expect("GET", F.admin, "/healthz", NULL, NULL, 200, "{\"status\":\"ok\"}");

    /* The main listener takes no new connections. */
    u = url(F.base, "/healthz");
    http_request("GET", u, NULL, NULL, 0, 0, &r);
    CU_ASSERT_EQUAL(r.status, 0);
    CU_ASSERT_EQUAL(r.curl_code, CURLE_COULDNT_CONNECT);
    http_reply_free(&r);
    free(u);

    CU_ASSERT_EQUAL(cw_http_server_drain(F.server, cw_now_ms() + 30000), 0);
    pthread_join(th, NULL);
    CU_ASSERT_EQUAL(s.reply.status, 200);
    CU_ASSERT_STRING_EQUAL(s.reply.body, "{\"status\":\"ok\",\"upserted\":1,\"deleted\":0}");
    char conn[32];
    CU_ASSERT(http_reply_header(&s.reply, "Connection", conn, sizeof conn) == 1);
    CU_ASSERT_STRING_EQUAL(conn, "close");
    http_reply_free(&s.reply);
    CU_ASSERT_EQUAL(fx_stored(&F, "shut/apps/v1/Deployment/inflight"), 1);
    fx_close(&F);
}

/* SIGTERM under load (the sequence cmd_serve runs, with short drain
 * deadlines): every answer is 200, 503 + Retry-After or a network error,
 * and every id answered 200 is in Chroma. */
#define N_LOAD_CLIENTS 12
#define N_LOAD_MAX 200

typedef struct load_client {
    int index;
    int sent;
    long status[N_LOAD_MAX];
    int bad_503;                 /* 503 without Retry-After */
    pthread_t thread;
} load_client;

static int g_load_stop;         /* __atomic access */

static void *load_client_main(void *arg)
{
    load_client *c = arg;
    while (!__atomic_load_n(&g_load_stop, __ATOMIC_SEQ_CST) && c->sent < N_LOAD_MAX) {
        char name[32];
        snprintf(name, sizeof name, "c%dr%d", c->index, c->sent);
        char *inst = fx_instance("load", name);
        char *p = fx_printf("{\"upserts\":[%s]}", inst);
        http_reply r;
        http_post_sync(F.base, p, &r);
        char ra[32];
        if (r.status == 503 && !(http_reply_header(&r, "Retry-After", ra, sizeof ra) == 1 &&
                                 atoi(ra) > 0))
            c->bad_503++;
        c->status[c->sent++] = r.status;
        http_reply_free(&r);
        free(p);
        free(inst);
        if (r.status == 0)
            break;               /* the listener is gone */
    }
    return NULL;
}

static void test_shutdown_under_load_loses_nothing(void)
{
    CU_ASSERT_FATAL(open_with(0, 0, 0) == 0);
    cw_mock_embedder_set_latency(F.mock, 150);
    __atomic_store_n(&g_load_stop, 0, __ATOMIC_SEQ_CST);
    load_client c[N_LOAD_CLIENTS];
    for (int i = 0; i < N_LOAD_CLIENTS; i++) {
        memset(&c[i], 0, sizeof c[i]);
        c[i].index = i;
        CU_ASSERT_FATAL(pthread_create(&c[i].thread, NULL, load_client_main, &c[i]) == 0);
    }
    cw_sleep_ms(700);
    cw_http_server_begin_shutdown(F.server);
    cw_http_server_drain(F.server, cw_now_ms() + 100);
    cw_pipeline_shutdown(F.pipeline, cw_now_ms() + 100);
    cw_http_server_stop(F.server);
    F.server = NULL;
    __atomic_store_n(&g_load_stop, 1, __ATOMIC_SEQ_CST);
    for (int i = 0; i < N_LOAD_CLIENTS; i++)
        pthread_join(c[i].thread, NULL);

    int ok = 0, refused = 0, lost = 0, odd = 0, bad_503 = 0;
    for (int i = 0; i < N_LOAD_CLIENTS; i++) {
        bad_503 += c[i].bad_503;
        for (int k = 0; k < c[i].sent; k++) {
            long st = c[i].status[k];
            if (st == 200) {
                ok++;
                char id[64];
                snprintf(id, sizeof id, "load/apps/v1/Deployment/c%dr%d", i, k);
                if (fx_stored(&F, id) != 1) {
                    lost++;
                    fprintf(stderr, "\n  acknowledged %s is not stored\n", id);
                }
            } else if (st == 503 || st == 0) {
                refused++;
            } else {
                odd++;
                fprintf(stderr, "\n  unexpected status %ld\n", st);
            }
        }
    }
    fprintf(stderr, "\n    %d acknowledged, %d refused or cut off\n", ok, refused);
    CU_ASSERT(ok > 0);
    CU_ASSERT_EQUAL(lost, 0);
    CU_ASSERT_EQUAL(odd, 0);
    CU_ASSERT_EQUAL(bad_503, 0);
    fx_close(&F);
}

/* A commit that takes longer than the idle connection timeout (the
 * connection is silent while we wait for the pipeline) is still answered. */
static void test_slow_commit_outlasts_idle_timeout(void)
{
    fx_opts o;
    memset(&o, 0, sizeof o);
    o.connection_timeout_s = 1;
    o.request_deadline_ms = 10000;
    CU_ASSERT_FATAL(fx_open(&F, &o) == 0);
    cw_mock_embedder_set_latency(F.mock, 1800);
    char *inst = fx_instance("idle", "slow");
    char *p = fx_printf("{\"upserts\":[%s]}", inst);
    http_reply r;
    int64_t t0 = cw_now_ms();
    http_post_sync(F.base, p, &r);
    int64_t took = cw_now_ms() - t0;
    CU_ASSERT(took >= 1500);                 /* longer than the 1 s idle timeout */
    CU_ASSERT_EQUAL(r.status, 200);
    if (r.status != 200 || took < 1500)
        fprintf(stderr, "\n  slow commit: %ld (curl %d) after %lld ms %s\n", r.status,
                r.curl_code, (long long)took, r.body);
    http_reply_free(&r);
    CU_ASSERT_EQUAL(fx_stored(&F, "idle/apps/v1/Deployment/slow"), 1);
    free(p);
    free(inst);
    fx_close(&F);
}

/* ---- admin listener and metrics ----------------------------------------- */

static void test_admin_listener_and_metrics(void)
{
    CU_ASSERT_FATAL(open_with(0, 0, 1) == 0);
    CU_ASSERT(cw_http_server_admin_port(F.server) != 0);
    CU_ASSERT(cw_http_server_admin_port(F.server) != cw_http_server_port(F.server));
    expect("GET", F.admin, "/healthz", NULL, NULL, 200, "{\"status\":\"ok\"}");
    expect("GET", F.admin, "/readyz", NULL, NULL, 200, "{\"status\":\"ok\"}");
    expect("POST", F.admin, CW_HTTP_SYNC_PATH, "application/json", "{}", 404,
           "{\"error\":\"Not found\",\"message\":\"no route for POST /api/v1/instances/sync\"}");

    char *inst = fx_instance("met", "a");
    char *p = fx_printf("{\"upserts\":[%s]}", inst);
    http_reply r;
    http_post_sync(F.base, p, &r);
    CU_ASSERT_EQUAL(r.status, 200);
    http_reply_free(&r);
    http_post_sync(F.base, "[]", &r);
    CU_ASSERT_EQUAL(r.status, 400);
    http_reply_free(&r);

    const char *bases[] = { F.base, F.admin };
    for (size_t i = 0; i < 2; i++) {
        char *u = url(bases[i], "/metrics");
        http_request("GET", u, NULL, NULL, 0, 0, &r);
        CU_ASSERT_EQUAL(r.status, 200);
        char ct[128];
        CU_ASSERT(http_reply_header(&r, "Content-Type", ct, sizeof ct) == 1);
        CU_ASSERT_STRING_EQUAL(ct, "text/plain; version=0.0.4; charset=utf-8");
        const char *want[] = {
            "\ncw_http_requests_total{route=\"sync\",code=\"200\"} 1\n",
            "\ncw_http_requests_total{route=\"sync\",code=\"400\"} 1\n",
            "\ncw_http_requests_total{route=\"other\",code=\"404\"} 1\n",
            "\ncw_http_request_body_bytes_count 2\n",
            "\ncw_pipeline_queue_depth 0\n",
            "\ncw_pipeline_batch_ops_count ",
            "\ncw_embed_calls_total ",
            "\ncw_embed_inputs_total ",
            "\ncw_embed_call_duration_seconds_sum ",
            "\ncw_chroma_call_duration_seconds_sum{op=\"upsert\"} ",
        };
        for (size_t k = 0; k < sizeof want / sizeof want[0]; k++) {
            CU_ASSERT_PTR_NOT_NULL(strstr(r.body, want[k]));
            if (strstr(r.body, want[k]) == NULL)
                fprintf(stderr, "\n  /metrics lacks %s", want[k] + 1);
        }
        http_reply_free(&r);
        free(u);
    }
    free(p);
    free(inst);
    fx_close(&F);
}

/* ---- connection limit ---------------------------------------------------- */

typedef struct named_post {
    const char *base;
    char name[32];
    http_reply reply;
    int answered;            /* set (atomically) once the reply is in */
    pthread_t thread;
} named_post;

static void *named_post_main(void *arg)
{
    named_post *s = arg;
    char *inst = fx_instance("lim", s->name);
    char *p = fx_printf("{\"upserts\":[%s]}", inst);
    http_post_sync(s->base, p, &s->reply);
    __atomic_store_n(&s->answered, 1, __ATOMIC_SEQ_CST);
    free(p);
    free(inst);
    return NULL;
}

/* Every sync slot of the main listener busy (Chroma or the embedder slow):
 * probes on the main port are still answered, and one more sync request
 * gets 503 + Retry-After (which the controller retries), not a reset
 * connection; the admin listener answers too. */
static void test_connection_limit_full(void)
{
    fx_opts o;
    memset(&o, 0, sizeof o);
    o.connection_limit = 2;
    o.with_admin = 1;
    CU_ASSERT_FATAL(fx_open(&F, &o) == 0);
    cw_mock_embedder_set_latency(F.mock, 1500);
    named_post busy[2];
    for (int i = 0; i < 2; i++) {
        memset(&busy[i], 0, sizeof busy[i]);
        busy[i].base = F.base;
        snprintf(busy[i].name, sizeof busy[i].name, "busy%d", i);
        CU_ASSERT_FATAL(pthread_create(&busy[i].thread, NULL, named_post_main, &busy[i]) == 0);
    }
    for (int i = 0; i < 2000 && cw_http_server_in_flight(F.server) < 2; i++)
        cw_sleep_ms(1);
    CU_ASSERT_EQUAL(cw_http_server_in_flight(F.server), 2);

    expect("GET", F.base, "/healthz", NULL, NULL, 200, "{\"status\":\"ok\"}");
    expect("GET", F.admin, "/healthz", NULL, NULL, 200, "{\"status\":\"ok\"}");
    /* Not queued behind the busy slots (ordering, not a budget): both
     * probes were answered while neither sync request had its answer. */
    CU_ASSERT_EQUAL(__atomic_load_n(&busy[0].answered, __ATOMIC_SEQ_CST), 0);
    CU_ASSERT_EQUAL(__atomic_load_n(&busy[1].answered, __ATOMIC_SEQ_CST), 0);
    expect("GET", F.base, "/readyz", NULL, NULL, 200, "{\"status\":\"ok\"}");
    expect("GET", F.admin, "/readyz", NULL, NULL, 200, "{\"status\":\"ok\"}");

    char *inst = fx_instance("lim", "third");
    char *p = fx_printf("{\"upserts\":[%s]}", inst);
    http_reply r;
    http_post_sync(F.base, p, &r);
    CU_ASSERT_EQUAL(r.status, 503);
    char ra[32];
    CU_ASSERT(http_reply_header(&r, "Retry-After", ra, sizeof ra) == 1 && atoi(ra) > 0);
    if (r.status != 503)
        fprintf(stderr, "\n  third sync request: %ld (curl %d) %s\n", r.status, r.curl_code, r.body);
    http_reply_free(&r);
    free(p);
    free(inst);

    for (int i = 0; i < 2; i++) {
        pthread_join(busy[i].thread, NULL);
        CU_ASSERT_EQUAL(busy[i].reply.status, 200);
        http_reply_free(&busy[i].reply);
    }
    CU_ASSERT_EQUAL(fx_stored(&F, "lim/apps/v1/Deployment/busy0"), 1);
    CU_ASSERT_EQUAL(fx_stored(&F, "lim/apps/v1/Deployment/busy1"), 1);
    CU_ASSERT_EQUAL(fx_stored(&F, "lim/apps/v1/Deployment/third"), 0);
    /* slots free again (given back once the answers went out) */
    CU_ASSERT_EQUAL(cw_http_server_drain(F.server, cw_now_ms() + 5000), 0);
    cw_mock_embedder_set_latency(F.mock, 0);
    inst = fx_instance("lim", "fourth");
    p = fx_printf("{\"upserts\":[%s]}", inst);
    http_post_sync(F.base, p, &r);
    CU_ASSERT_EQUAL(r.status, 200);
    http_reply_free(&r);
    free(p);
    free(inst);
    fx_close(&F);
}

/* Large bodies under fan-in: while one request's body holds most of the
 * in-flight budget, a second whose body would pass it is answered 503 +
 * Retry-After from its headers (never read, never written); probes still
 * answer; once the first is done the same request succeeds. */
static void test_inflight_body_budget(void)
{
    char *inst = fx_instance("bud", "busy0");
    char *first = fx_printf("{\"upserts\":[%s]}", inst);
    free(inst);
    fx_opts o;
    memset(&o, 0, sizeof o);
    o.max_inflight_bytes = strlen(first) + 100;
    CU_ASSERT_FATAL(fx_open(&F, &o) == 0);
    cw_mock_embedder_set_latency(F.mock, 1500);
    named_post busy;
    memset(&busy, 0, sizeof busy);
    busy.base = F.base;
    snprintf(busy.name, sizeof busy.name, "busy0");
    CU_ASSERT_FATAL(pthread_create(&busy.thread, NULL, named_post_main, &busy) == 0);
    for (int i = 0; i < 2000 && cw_http_server_in_flight(F.server) < 1; i++)
        cw_sleep_ms(1);

    inst = fx_instance("bud", "second");
    char *second = fx_printf("{\"upserts\":[%s]}", inst);
    free(inst);
    http_reply r;
    http_post_sync(F.base, second, &r);
    CU_ASSERT_EQUAL(r.status, 503);
    char ra[32];
    CU_ASSERT(http_reply_header(&r, "Retry-After", ra, sizeof ra) == 1 && atoi(ra) > 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.body, "too many sync body bytes in flight"));
    http_reply_free(&r);
    expect("GET", F.base, "/healthz", NULL, NULL, 200, "{\"status\":\"ok\"}");

    pthread_join(busy.thread, NULL);
    CU_ASSERT_EQUAL(busy.reply.status, 200);
    http_reply_free(&busy.reply);
    CU_ASSERT_EQUAL(fx_stored(&F, "bud/apps/v1/Deployment/second"), 0);
    CU_ASSERT_EQUAL(cw_http_server_drain(F.server, cw_now_ms() + 5000), 0);
    cw_mock_embedder_set_latency(F.mock, 0);
    http_post_sync(F.base, second, &r);
    CU_ASSERT_EQUAL(r.status, 200);
    http_reply_free(&r);
    CU_ASSERT_EQUAL(fx_stored(&F, "bud/apps/v1/Deployment/second"), 1);
    free(first);
    free(second);
    fx_close(&F);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    CU_TestInfo tests[] = {
        { "default limit 5 MiB", test_default_limit_is_5_mib },
        { "415, 405 + Allow, 404, HEAD", test_content_type_method_route },
        { "Chroma down: healthz 200, readyz 503, sync 503", test_chroma_down_probes_and_sync },
        { "readyz 503 while Chroma is down, 200 when back", test_readyz_follows_chroma },
        { "embedder 429 persistent: 503 + Retry-After, nothing written", test_embedder_429_is_503 },
        { "embedder 500 persistent: 503 + Retry-After, nothing written", test_embedder_500_is_503 },
        { "embedder 401: 503, never 4xx", test_embedder_401_is_503 },
        { "Chroma delete failure: 5xx, no upserts applied", test_chroma_delete_failure_applies_no_upserts },
        { "overload: 200 or 503 + Retry-After, acknowledged stored", test_overload_is_503_and_acknowledged_is_stored },
        { "shutdown: readyz 503, in-flight answered 200 and committed", test_shutdown_answers_in_flight },
        { "shutdown under load: nothing acknowledged lost", test_shutdown_under_load_loses_nothing },
        { "a commit slower than the idle timeout is still answered", test_slow_commit_outlasts_idle_timeout },
        { "admin listener and /metrics", test_admin_listener_and_metrics },
        { "connection limit full: probes answered, sync 503 + Retry-After", test_connection_limit_full },
        { "in-flight body budget: 503 + Retry-After, then 200", test_inflight_body_budget },
        CU_TEST_INFO_NULL,
    };
    int rc = cw_test_run("http_robustness", tests);
    curl_global_cleanup();
    return rc;
}
