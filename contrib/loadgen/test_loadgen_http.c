/* test_loadgen_http — cw-loadgen (the binary) against a scripted HTTP peer.
 *
 * The peer (libmicrohttpd on 127.0.0.1, port 0) answers the sync route
 * with a scripted sequence of statuses (200 once the script is used up),
 * keeps every body it received and counts connections and the most
 * requests in flight at once. The tests prove the controller's behaviour:
 * 5xx retried with the backoff, 4xx never, a new connection per attempt,
 * the same body on every retry, deletes one id each with null upserts, the
 * initial sync one batch after another, and the exit status and `result`
 * line saying so. */
#include <microhttpd.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cw_test.h"
#include "sync_payload.h"

#define MAX_BODIES 64

typedef struct peer {
    struct MHD_Daemon *daemon;
    unsigned short port;
    pthread_mutex_t lock;     /* guards everything below */
    int script[16];
    size_t n_script, next_script;
    char *bodies[MAX_BODIES];
    size_t n_bodies;
    unsigned connections, in_flight, max_in_flight, healthz;
} peer;

typedef struct upload { char *buf; size_t len; } upload;

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *data,
                                  size_t *size, void **req_cls)
{
    (void)version;
    peer *p = cls;
    if (strcmp(method, "GET") == 0) {
        pthread_mutex_lock(&p->lock);
        p->healthz += strcmp(url, "/healthz") == 0;
        pthread_mutex_unlock(&p->lock);
        struct MHD_Response *r = MHD_create_response_from_buffer(2, "{}", MHD_RESPMEM_PERSISTENT);
        enum MHD_Result ret = MHD_queue_response(conn, 200, r);
        MHD_destroy_response(r);
        return ret;
    }
    upload *u = *req_cls;
    if (u == NULL) {
        u = calloc(1, sizeof *u);
        if (u == NULL)
            return MHD_NO;
        *req_cls = u;
        pthread_mutex_lock(&p->lock);
        if (++p->in_flight > p->max_in_flight)
            p->max_in_flight = p->in_flight;
        pthread_mutex_unlock(&p->lock);
        return MHD_YES;
    }
    if (*size > 0) {
        char *grown = realloc(u->buf, u->len + *size + 1);
        if (grown == NULL)
            return MHD_NO;
        u->buf = grown;
        memcpy(u->buf + u->len, data, *size);
        u->len += *size;
        u->buf[u->len] = '\0';
        *size = 0;
        return MHD_YES;
    }
    struct timespec pause = { 0, 20 * 1000000L };     /* lets concurrent senders overlap */
    nanosleep(&pause, NULL);
    pthread_mutex_lock(&p->lock);
    int status = p->next_script < p->n_script ? p->script[p->next_script++] : 200;
    if (strcmp(url, "/api/v1/instances/sync") != 0)
        status = 404;
    if (p->n_bodies < MAX_BODIES) {
        p->bodies[p->n_bodies++] = u->buf;
        u->buf = NULL;
    }
    p->in_flight--;
    pthread_mutex_unlock(&p->lock);
    struct MHD_Response *r = MHD_create_response_from_buffer(2, "{}", MHD_RESPMEM_PERSISTENT);
    enum MHD_Result ret = MHD_queue_response(conn, (unsigned)status, r);
    MHD_destroy_response(r);
    return ret;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **req_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)conn;
    (void)toe;
    upload *u = *req_cls;
    if (u != NULL) {
        free(u->buf);
        free(u);
        *req_cls = NULL;
    }
}

static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_ctx,
                          enum MHD_ConnectionNotificationCode code)
{
    (void)conn;
    (void)socket_ctx;
    peer *p = cls;
    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        pthread_mutex_lock(&p->lock);
        p->connections++;
        pthread_mutex_unlock(&p->lock);
    }
}

/* Start a peer answering `n` scripted statuses first. */
static peer *peer_start(const int *script, size_t n)
{
    peer *p = calloc(1, sizeof *p);
    if (p == NULL)
        return NULL;
    pthread_mutex_init(&p->lock, NULL);
    if (n > 0)
        memcpy(p->script, script, n * sizeof *script);
    p->n_script = n;
    p->daemon = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION
                                     | MHD_USE_POLL,
                                 0, NULL, NULL, on_request, p, MHD_OPTION_NOTIFY_COMPLETED,
                                 on_completed, p, MHD_OPTION_NOTIFY_CONNECTION, on_connection, p,
                                 MHD_OPTION_END);
    const union MHD_DaemonInfo *info =
        p->daemon ? MHD_get_daemon_info(p->daemon, MHD_DAEMON_INFO_BIND_PORT) : NULL;
    if (info == NULL) {
        if (p->daemon)
            MHD_stop_daemon(p->daemon);
        pthread_mutex_destroy(&p->lock);
        free(p);
        return NULL;
    }
    p->port = info->port;
    return p;
}

static void peer_stop(peer *p)
{
    if (p == NULL)
        return;
    MHD_stop_daemon(p->daemon);
    for (size_t i = 0; i < p->n_bodies; i++)
        free(p->bodies[i]);
    pthread_mutex_destroy(&p->lock);
    free(p);
}

/* Run cw-loadgen against `p` with `args`; its exit status, the `result`
 * line in `result` (cap bytes) and the wall time in ms. */
static int run_loadgen(const peer *p, const char *args, char *result, size_t cap, double *ms)
{
    const char *bin = getenv("CW_BINARY_DIR");
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "%s/cw-loadgen --url http://127.0.0.1:%u %s", bin ? bin : ".",
             (unsigned)p->port, args);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    FILE *f = popen(cmd, "r");
    if (f == NULL)
        return -1;
    char line[4096];
    result[0] = '\0';
    while (fgets(line, sizeof line, f) != NULL) {
        if (strncmp(line, "result ", 7) == 0)
            snprintf(result, cap, "%s", line);
    }
    int st = pclose(f);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    *ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* 1 when the result line holds " key=value" exactly. */
static int has(const char *result, const char *kv)
{
    char pat[128];
    snprintf(pat, sizeof pat, " %s", kv);
    const char *at = strstr(result, pat);
    size_t n = strlen(pat);
    return at != NULL && (at[n] == ' ' || at[n] == '\n' || at[n] == '\0');
}

static int parse(const char *body, cw_sync_payload *out)
{
    cw_issues issues;
    cw_issues_init(&issues);
    return cw_sync_payload_parse(body, strlen(body), out, &issues);
}

static void test_5xx_is_retried_with_backoff_on_new_connections(void)
{
    static const int script[] = { 503, 500 };
    peer *p = peer_start(script, 2);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    char res[4096];
    double ms = 0;
    int rc = run_loadgen(p, "--clients 1 --requests 1 --batch 3 --backoff-initial-ms 100 "
                            "--backoff-max-ms 1000 --jitter 0", res, sizeof res, &ms);
    CU_ASSERT_EQUAL(rc, 0);
    CU_ASSERT_TRUE(has(res, "ok=1"));
    CU_ASSERT_TRUE(has(res, "failed=0"));
    CU_ASSERT_TRUE(has(res, "retries=2"));
    CU_ASSERT_TRUE(has(res, "status_503=1"));
    CU_ASSERT_TRUE(has(res, "status_500=1"));
    CU_ASSERT_TRUE(has(res, "status_200=1"));
    CU_ASSERT_TRUE(has(res, "instances=3"));
    /* waits of 100 then 200 ms (no jitter): a lower bound, not a speed claim */
    CU_ASSERT_TRUE(ms >= 300);
    CU_ASSERT_EQUAL_FATAL(p->n_bodies, 3);
    /* the same body every time, a valid payload of 3 with "deletes":null */
    CU_ASSERT_STRING_EQUAL(p->bodies[0], p->bodies[1]);
    CU_ASSERT_STRING_EQUAL(p->bodies[0], p->bodies[2]);
    CU_ASSERT_PTR_NOT_NULL(strstr(p->bodies[0], "\"deletes\":null"));
    cw_sync_payload pl;
    CU_ASSERT_EQUAL_FATAL(parse(p->bodies[0], &pl), 0);
    CU_ASSERT_EQUAL(pl.upserts.len, 3);
    cw_sync_payload_free(&pl);
    /* one connection per attempt, plus the pre-flight GET /healthz */
    CU_ASSERT_EQUAL(p->healthz, 1);
    CU_ASSERT_EQUAL(p->connections, 4);
    peer_stop(p);
}

static void test_4xx_is_never_retried(void)
{
    static const int script[] = { 400 };
    peer *p = peer_start(script, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    char res[4096];
    double ms = 0;
    int rc = run_loadgen(p, "--clients 1 --requests 1 --batch 2 --backoff-initial-ms 10", res,
                         sizeof res, &ms);
    CU_ASSERT_EQUAL(rc, 1);
    CU_ASSERT_TRUE(has(res, "ok=0"));
    CU_ASSERT_TRUE(has(res, "failed=1"));
    CU_ASSERT_TRUE(has(res, "retries=0"));
    CU_ASSERT_TRUE(has(res, "status_400=1"));
    CU_ASSERT_EQUAL(p->n_bodies, 1);
    peer_stop(p);
}

static void test_retries_stop_after_the_limit(void)
{
    static const int script[] = { 503, 503, 503, 503, 503 };
    peer *p = peer_start(script, 5);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    char res[4096];
    double ms = 0;
    int rc = run_loadgen(p, "--clients 1 --requests 1 --batch 1 --retries 3 --backoff-initial-ms 10 "
                            "--backoff-max-ms 20", res, sizeof res, &ms);
    CU_ASSERT_EQUAL(rc, 1);
    CU_ASSERT_TRUE(has(res, "failed=1"));
    CU_ASSERT_TRUE(has(res, "retries=3"));
    CU_ASSERT_TRUE(has(res, "status_503=4"));
    CU_ASSERT_EQUAL(p->n_bodies, 4);
    peer_stop(p);
}

static void test_deletes_send_one_id_each_with_null_upserts(void)
{
    peer *p = peer_start(NULL, 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    char res[4096];
    double ms = 0;
    int rc = run_loadgen(p, "--mode deletes --clients 2 --requests 6", res, sizeof res, &ms);
    CU_ASSERT_EQUAL(rc, 0);
    CU_ASSERT_TRUE(has(res, "ok=6"));
    CU_ASSERT_TRUE(has(res, "instances=6"));
    CU_ASSERT_EQUAL_FATAL(p->n_bodies, 6);
    const char *ids[6];
    cw_sync_payload pl[6];
    for (size_t i = 0; i < 6; i++) {
        CU_ASSERT_EQUAL(strncmp(p->bodies[i], "{\"upserts\":null,", 16), 0);
        CU_ASSERT_EQUAL_FATAL(parse(p->bodies[i], &pl[i]), 0);
        CU_ASSERT_EQUAL(pl[i].upserts.len, 0);
        CU_ASSERT_EQUAL_FATAL(pl[i].deletes.len, 1);
        ids[i] = pl[i].deletes.items[0];
        for (size_t j = 0; j < i; j++)
            CU_ASSERT_STRING_NOT_EQUAL(ids[i], ids[j]);
    }
    for (size_t i = 0; i < 6; i++)
        cw_sync_payload_free(&pl[i]);
    peer_stop(p);
}

/* 120 instances in batches of 50: 50, 50, 20, one request at a time. */
static void test_initial_sync_sends_batches_one_after_another(void)
{
    peer *p = peer_start(NULL, 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    char res[4096];
    double ms = 0;
    int rc = run_loadgen(p, "--mode initial-sync --instances 120 --run-id isync", res, sizeof res, &ms);
    CU_ASSERT_EQUAL(rc, 0);
    CU_ASSERT_TRUE(has(res, "requests=3"));
    CU_ASSERT_TRUE(has(res, "instances=120"));
    CU_ASSERT_EQUAL_FATAL(p->n_bodies, 3);
    CU_ASSERT_EQUAL(p->max_in_flight, 1);
    static const size_t want[] = { 50, 50, 20 };
    for (size_t i = 0; i < 3; i++) {
        cw_sync_payload pl;
        CU_ASSERT_EQUAL_FATAL(parse(p->bodies[i], &pl), 0);
        CU_ASSERT_EQUAL(pl.upserts.len, want[i]);
        cw_sync_payload_free(&pl);
    }
    /* the same --run-id re-sends the very same bodies */
    rc = run_loadgen(p, "--mode initial-sync --instances 120 --run-id isync", res, sizeof res, &ms);
    CU_ASSERT_EQUAL(rc, 0);
    CU_ASSERT_EQUAL_FATAL(p->n_bodies, 6);
    for (size_t i = 0; i < 3; i++)
        CU_ASSERT_STRING_EQUAL(p->bodies[i], p->bodies[i + 3]);
    peer_stop(p);
}

/* Fan-in runs the clients at once (the peer holds each request 20 ms). */
static void test_fanin_clients_overlap(void)
{
    peer *p = peer_start(NULL, 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    char res[4096];
    double ms = 0;
    int rc = run_loadgen(p, "--clients 4 --requests 16 --batch 5", res, sizeof res, &ms);
    CU_ASSERT_EQUAL(rc, 0);
    CU_ASSERT_TRUE(has(res, "ok=16"));
    CU_ASSERT_TRUE(has(res, "instances=80"));
    CU_ASSERT_TRUE(p->max_in_flight >= 2);
    CU_ASSERT_EQUAL(p->connections, 17);
    peer_stop(p);
}

static void test_usage_errors_are_one_line_and_exit_2(void)
{
    peer *p = peer_start(NULL, 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    char res[4096];
    double ms = 0;
    CU_ASSERT_EQUAL(run_loadgen(p, "--clients 0 2>/dev/null", res, sizeof res, &ms), 2);
    CU_ASSERT_EQUAL(run_loadgen(p, "--mode sideways 2>/dev/null", res, sizeof res, &ms), 2);
    CU_ASSERT_EQUAL(run_loadgen(p, "--run-id UPPER 2>/dev/null", res, sizeof res, &ms), 2);
    CU_ASSERT_EQUAL(p->n_bodies, 0);
    peer_stop(p);
}

int main(void)
{
    CU_TestInfo tests[] = {
        { "5xx is retried with backoff on new connections", test_5xx_is_retried_with_backoff_on_new_connections },
        { "4xx is never retried", test_4xx_is_never_retried },
        { "retries stop after the limit", test_retries_stop_after_the_limit },
        { "deletes send one id each with null upserts", test_deletes_send_one_id_each_with_null_upserts },
        { "initial sync sends batches one after another", test_initial_sync_sends_batches_one_after_another },
        { "fan-in clients overlap", test_fanin_clients_overlap },
        { "usage errors exit 2", test_usage_errors_are_one_line_and_exit_2 },
        CU_TEST_INFO_NULL,
    };
    return cw_test_run("loadgen_http", tests);
}
