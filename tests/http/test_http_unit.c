/* Unit tests of the HTTP module's pure parts: header checks, routes,
 * answers and the /metrics text. The transport is tested over real HTTP in
 * test_http_contract.c. */
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
    CU_ASSERT_EQUAL(len, strlen(want));
    CU_ASSERT_STRING_EQUAL(got, want);
}

static void test_content_type(void)
{
    CU_ASSERT_EQUAL(cw_http_content_type_is_json("application/json"), 1);
    CU_ASSERT_EQUAL(cw_http_content_type_is_json("application/json; charset=utf-8"), 1);
    CU_ASSERT_EQUAL(cw_http_content_type_is_json("Application/JSON;charset=UTF-8"), 1);
    CU_ASSERT_EQUAL(cw_http_content_type_is_json(" application/json "), 1);
    CU_ASSERT_EQUAL(cw_http_content_type_is_json("application/jsonx"), 0);
    CU_ASSERT_EQUAL(cw_http_content_type_is_json("application/json-seq"), 0);
    CU_ASSERT_EQUAL(cw_http_content_type_is_json("text/plain"), 0);
    CU_ASSERT_EQUAL(cw_http_content_type_is_json("application/x-www-form-urlencoded"), 0);
    CU_ASSERT_EQUAL(cw_http_content_type_is_json(""), 0);
    CU_ASSERT_EQUAL(cw_http_content_type_is_json(NULL), 0);
}

static void test_routes(void)
{
    CU_ASSERT_EQUAL(cw_http_route_find("/api/v1/instances/sync", 0), CW_ROUTE_SYNC);
    CU_ASSERT_EQUAL(cw_http_route_find("/api/v1/instances/sync", 1), CW_ROUTE_OTHER);
    /* One trailing slash is the same route (issue 11); two, or a longer
     * name, are not sync: under the instances prefix they name an instance
     * (GET only: a POST there is 405, never a sync). */
    CU_ASSERT_EQUAL(cw_http_route_find("/api/v1/instances/sync/", 0), CW_ROUTE_SYNC);
    CU_ASSERT_EQUAL(cw_http_route_find("/api/v1/instances/sync/", 1), CW_ROUTE_OTHER);
    CU_ASSERT_EQUAL(cw_http_route_find("/api/v1/instances/sync//", 0), CW_ROUTE_INSTANCE);
    CU_ASSERT_EQUAL(cw_http_route_find("/api/v1/instances/syncx", 0), CW_ROUTE_INSTANCE);
    CU_ASSERT_EQUAL(cw_http_route_method_ok(CW_ROUTE_INSTANCE, "POST"), 0);
    CU_ASSERT_EQUAL(cw_http_route_find("/api/v1/healthz", 0), CW_ROUTE_OTHER);
    CU_ASSERT_EQUAL(cw_http_route_find("/healthz/", 1), CW_ROUTE_HEALTHZ);
    CU_ASSERT_EQUAL(cw_http_route_find("/readyz/", 0), CW_ROUTE_READYZ);
    CU_ASSERT_EQUAL(cw_http_route_find("/metrics/", 0), CW_ROUTE_METRICS);
    CU_ASSERT_EQUAL(cw_http_route_find("/healthz/x", 0), CW_ROUTE_OTHER);
    CU_ASSERT_EQUAL(cw_http_route_find("/healthz", 1), CW_ROUTE_HEALTHZ);
    CU_ASSERT_EQUAL(cw_http_route_find("/readyz", 0), CW_ROUTE_READYZ);
    CU_ASSERT_EQUAL(cw_http_route_find("/metrics", 0), CW_ROUTE_METRICS);
    CU_ASSERT_EQUAL(cw_http_route_find("/", 0), CW_ROUTE_OTHER);
    CU_ASSERT_STRING_EQUAL(cw_http_route_allow(CW_ROUTE_SYNC), "POST");
    CU_ASSERT_STRING_EQUAL(cw_http_route_allow(CW_ROUTE_READYZ), "GET, HEAD");
    CU_ASSERT_EQUAL(cw_http_route_method_ok(CW_ROUTE_SYNC, "POST"), 1);
    CU_ASSERT_EQUAL(cw_http_route_method_ok(CW_ROUTE_SYNC, "GET"), 0);
    CU_ASSERT_EQUAL(cw_http_route_method_ok(CW_ROUTE_HEALTHZ, "HEAD"), 1);
    CU_ASSERT_EQUAL(cw_http_route_method_ok(CW_ROUTE_HEALTHZ, "POST"), 0);
    CU_ASSERT_STRING_EQUAL(cw_http_route_name(CW_ROUTE_METRICS), "metrics");

    /* the search API: main listener only */
    CU_ASSERT_EQUAL(cw_http_route_find("/api/v1/instances/search", 0), CW_ROUTE_SEARCH);
    CU_ASSERT_EQUAL(cw_http_route_find("/api/v1/instances/search/", 0), CW_ROUTE_SEARCH);
    CU_ASSERT_EQUAL(cw_http_route_find("/api/v1/instances/search", 1), CW_ROUTE_OTHER);
    CU_ASSERT_EQUAL(cw_http_route_find("/api/v1/instances/default/apps/v1/Deployment/nginx", 0),
                    CW_ROUTE_INSTANCE);
    CU_ASSERT_EQUAL(cw_http_route_find("/api/v1/instances/default/apps/v1/Deployment/nginx", 1),
                    CW_ROUTE_OTHER);
    CU_ASSERT_EQUAL(cw_http_route_find("/api/v1/instances/", 0), CW_ROUTE_OTHER);
    CU_ASSERT_EQUAL(cw_http_route_find("/api/v1/instances", 0), CW_ROUTE_OTHER);
    CU_ASSERT_STRING_EQUAL(cw_http_route_allow(CW_ROUTE_SEARCH), "GET, POST");
    CU_ASSERT_STRING_EQUAL(cw_http_route_allow(CW_ROUTE_INSTANCE), "GET");
    CU_ASSERT_EQUAL(cw_http_route_method_ok(CW_ROUTE_SEARCH, "POST"), 1);
    CU_ASSERT_EQUAL(cw_http_route_method_ok(CW_ROUTE_SEARCH, "GET"), 1);
    CU_ASSERT_EQUAL(cw_http_route_method_ok(CW_ROUTE_SEARCH, "DELETE"), 0);
    CU_ASSERT_EQUAL(cw_http_route_method_ok(CW_ROUTE_INSTANCE, "GET"), 1);
    CU_ASSERT_EQUAL(cw_http_route_method_ok(CW_ROUTE_INSTANCE, "POST"), 0);
    CU_ASSERT_STRING_EQUAL(cw_http_route_name(CW_ROUTE_SEARCH), "search");
    CU_ASSERT_STRING_EQUAL(cw_http_route_name(CW_ROUTE_INSTANCE), "instance");
}

/* A POST to the sync path with a JSON body of `length` bytes. */
static cw_http_head sync_head(const char *length)
{
    cw_http_head h;
    memset(&h, 0, sizeof h);
    h.method = "POST";
    h.path = "/api/v1/instances/sync";
    h.content_type = "application/json";
    h.content_length = length;
    h.content_length_count = length != NULL ? 1 : 0;
    return h;
}

/* Run the header checks on `h` with max_body 100; returns the status (0 =
 * read the body) and leaves the answer in `a`. */
static unsigned check(const cw_http_head *h, cw_http_answer *a)
{
    cw_http_request *r = cw_http_request_create(100, 1000);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    memset(a, 0, sizeof *a);
    int answered = cw_http_request_check_head(r, h, a);
    cw_http_request_destroy(r);
    return answered ? a->status : 0;
}

static void test_head_framing(void)
{
    cw_http_answer a;
    cw_http_head h = sync_head("10");
    h.content_length_count = 2;
    CU_ASSERT_EQUAL(check(&h, &a), 400);
    assert_body(&a, "{\"error\":\"Bad request\",\"message\":\"more than one Content-Length header\"}");
    CU_ASSERT_EQUAL(a.close, 1);
    cw_http_answer_clear(&a);

    h = sync_head("1x");
    CU_ASSERT_EQUAL(check(&h, &a), 400);
    assert_body(&a, "{\"error\":\"Bad request\",\"message\":\"Content-Length is not a number\"}");
    cw_http_answer_clear(&a);

    h = sync_head(NULL);
    h.transfer_encoding = "gzip";
    h.transfer_encoding_count = 1;
    CU_ASSERT_EQUAL(check(&h, &a), 400);
    assert_body(&a, "{\"error\":\"Bad request\",\"message\":"
                    "\"unsupported Transfer-Encoding (only chunked is accepted)\"}");
    cw_http_answer_clear(&a);

    h = sync_head("10");
    h.transfer_encoding = "chunked";
    h.transfer_encoding_count = 1;
    CU_ASSERT_EQUAL(check(&h, &a), 400);
    assert_body(&a, "{\"error\":\"Bad request\",\"message\":\"both Content-Length and Transfer-Encoding\"}");
    cw_http_answer_clear(&a);

    h = sync_head(NULL);
    h.transfer_encoding = "Chunked";
    h.transfer_encoding_count = 1;
    CU_ASSERT_EQUAL(check(&h, &a), 0);
    cw_http_answer_clear(&a);
}

static void test_head_routes_and_limits(void)
{
    cw_http_answer a;
    cw_http_head h = sync_head("100");
    CU_ASSERT_EQUAL(check(&h, &a), 0);          /* exactly at the limit */
    cw_http_answer_clear(&a);

    h = sync_head("101");
    CU_ASSERT_EQUAL(check(&h, &a), 413);
    assert_body(&a, "{\"error\":\"Payload too large\",\"message\":"
                    "\"body of 101 bytes is over the limit of 100 bytes\"}");
    CU_ASSERT_EQUAL(a.close, 1);
    cw_http_answer_clear(&a);

    h = sync_head("10");
    h.content_type = NULL;
    CU_ASSERT_EQUAL(check(&h, &a), 415);
    assert_body(&a, "{\"error\":\"Unsupported media type\",\"message\":"
                    "\"Content-Type must be application/json\"}");
    cw_http_answer_clear(&a);

    h = sync_head("10");
    h.content_type = "text/plain";
    CU_ASSERT_EQUAL(check(&h, &a), 415);
    cw_http_answer_clear(&a);

    h = sync_head(NULL);
    h.method = "GET";
    CU_ASSERT_EQUAL(check(&h, &a), 405);
    CU_ASSERT_STRING_EQUAL(a.allow, "POST");
    assert_body(&a, "{\"error\":\"Method not allowed\",\"message\":\"GET is not allowed here; use POST\"}");
    cw_http_answer_clear(&a);

    h = sync_head(NULL);
    h.method = "DELETE";
    h.path = "/healthz";
    CU_ASSERT_EQUAL(check(&h, &a), 405);
    CU_ASSERT_STRING_EQUAL(a.allow, "GET, HEAD");
    cw_http_answer_clear(&a);

    h = sync_head(NULL);
    h.path = "/api/v1/\"x\"";
    CU_ASSERT_EQUAL(check(&h, &a), 404);
    assert_body(&a, "{\"error\":\"Not found\",\"message\":\"no route for POST /api/v1/\\\"x\\\"\"}");
    cw_http_answer_clear(&a);

    h = sync_head(NULL);
    h.path = "/api/v1/instances/sync";
    h.admin = 1;                                 /* the admin listener has no sync */
    CU_ASSERT_EQUAL(check(&h, &a), 404);
    cw_http_answer_clear(&a);
}

static void test_body_limit(void)
{
    char chunk[60];
    memset(chunk, 'x', sizeof chunk);
    cw_http_request *r = cw_http_request_create(100, 60000);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    r->route = CW_ROUTE_SYNC;
    cw_http_request_take(r, chunk, 60);
    cw_http_request_take(r, chunk, 40);
    CU_ASSERT_EQUAL(r->body_state, CW_BODY_KEEP);
    CU_ASSERT_EQUAL(r->len, 100);
    CU_ASSERT_EQUAL(r->body[100], '\0');
    cw_http_request_take(r, chunk, 1);
    CU_ASSERT_EQUAL(r->body_state, CW_BODY_TOO_LARGE);
    CU_ASSERT_PTR_NULL(r->body);
    CU_ASSERT_EQUAL(r->seen, 101);
    cw_http_request_take(r, chunk, 60);          /* the rest is discarded */
    CU_ASSERT_EQUAL(r->seen, 161);
    CU_ASSERT_PTR_NULL(r->body);
    cw_http_request_destroy(r);

    r = cw_http_request_create(100, 60000);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    r->route = CW_ROUTE_SYNC;
    r->deadline_ms = r->start_ms - 1;            /* deadline already passed */
    cw_http_request_take(r, chunk, 1);
    CU_ASSERT_EQUAL(r->body_state, CW_BODY_LATE);
    CU_ASSERT_PTR_NULL(r->body);
    cw_http_request_destroy(r);
    cw_http_request_destroy(NULL);
}

static int ready_no(void *ctx, char *why, size_t cap)
{
    (void)ctx;
    snprintf(why, cap, "chroma: \"down\"\n");
    return 0;
}

static int ready_yes(void *ctx, char *why, size_t cap)
{
    (void)ctx;
    (void)why;
    (void)cap;
    return 1;
}

static void test_probe_answers(void)
{
    cw_http_answer a;
    memset(&a, 0, sizeof a);
    cw_http_handle_healthz(&a);
    CU_ASSERT_EQUAL(a.status, 200);
    CU_ASSERT_STRING_EQUAL(a.content_type, "application/json");
    assert_body(&a, "{\"status\":\"ok\"}");

    cw_http_handle_readyz(&a, 0, ready_yes, NULL);
    CU_ASSERT_EQUAL(a.status, 200);
    assert_body(&a, "{\"status\":\"ok\"}");

    cw_http_handle_readyz(&a, 0, NULL, NULL);
    CU_ASSERT_EQUAL(a.status, 200);

    cw_http_handle_readyz(&a, 0, ready_no, NULL);
    CU_ASSERT_EQUAL(a.status, 503);
    CU_ASSERT_EQUAL(a.retry_after_s, CW_HTTP_RETRY_AFTER_DEFAULT_S);
    assert_body(&a, "{\"status\":\"unavailable\",\"error\":\"chroma: \\\"down\\\"\\n\"}");

    cw_http_handle_readyz(&a, 1, ready_yes, NULL);
    CU_ASSERT_EQUAL(a.status, 503);
    assert_body(&a, "{\"status\":\"unavailable\",\"error\":\"shutting down\"}");

    cw_http_answer_unavailable(&a, "queue full", 7);
    CU_ASSERT_EQUAL(a.status, 503);
    CU_ASSERT_EQUAL(a.retry_after_s, 7);
    assert_body(&a, "{\"error\":\"Service unavailable\",\"message\":\"queue full\"}");
    cw_http_answer_unavailable(&a, "x", 0);
    CU_ASSERT_EQUAL(a.retry_after_s, CW_HTTP_RETRY_AFTER_DEFAULT_S);

    cw_http_answer_json(&a, 200, NULL);          /* a builder ran out of memory */
    CU_ASSERT_EQUAL(a.status, 503);
    assert_body(&a, "{\"error\":\"Service unavailable\",\"message\":\"out of memory\"}");
    cw_http_answer_clear(&a);
}

/* `block` appears verbatim in `text` (reports it when not). */
static void assert_block(const char *text, const char *block)
{
    CU_ASSERT_PTR_NOT_NULL(strstr(text, block));
    if (strstr(text, block) == NULL)
        fprintf(stderr, "\n  /metrics lacks:\n%s", block);
}

static void test_metrics_text(void)
{
    cw_http_metrics *m = cw_http_metrics_create();
    CU_ASSERT_PTR_NOT_NULL_FATAL(m);
    cw_http_metrics_count(m, CW_ROUTE_SYNC, 200, 400);          /* 0.4 ms */
    cw_http_metrics_count(m, CW_ROUTE_SYNC, 200, 30000);        /* 30 ms */
    cw_http_metrics_count(m, CW_ROUTE_SYNC, 413, 70000000);     /* 70 s: above the last bound */
    cw_http_metrics_count(m, CW_ROUTE_HEALTHZ, 200, 0);
    cw_http_metrics_count(m, CW_ROUTE_OTHER, 404, 1);
    cw_http_metrics_count(m, CW_ROUTE_OTHER, 418, 1);
    cw_http_metrics_body(m, 10);
    cw_http_metrics_body(m, 1024);
    cw_http_metrics_body(m, 20000);
    cw_http_metrics_body(m, 6000000);
    cw_http_metrics_ops(m, 3, 1);
    cw_http_metrics_ops(m, 0, 1);
    cw_http_metrics_search(m, 0, 10);   /* hybrid */
    cw_http_metrics_search(m, 0, 0);
    cw_http_metrics_search(m, 2, 3);    /* lexical */
    cw_http_metrics_search(m, 7, 3);    /* no such mode: ignored */
    cw_http_metrics_search(NULL, 0, 1);
    cw_http_metrics_guard(m, CW_GUARD_SLOW_BODY, 2);
    cw_http_metrics_guard(m, CW_GUARD_LINGER, 1);
    cw_http_metrics_guard(m, CW_GUARD_COUNT, 1);                /* out of range: ignored */
    char *text = cw_http_metrics_render(m, 3, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(text);
    CU_ASSERT_EQUAL(strncmp(text, "# HELP cw_http_requests_total ", 30), 0);
    assert_block(text,
        "# HELP cw_http_requests_total HTTP requests answered, by route and status code.\n"
        "# TYPE cw_http_requests_total counter\n"
        "cw_http_requests_total{route=\"sync\",code=\"200\"} 2\n"
        "cw_http_requests_total{route=\"sync\",code=\"413\"} 1\n"
        "cw_http_requests_total{route=\"healthz\",code=\"200\"} 1\n"
        "cw_http_requests_total{route=\"other\",code=\"404\"} 1\n"
        "cw_http_requests_total{route=\"other\",code=\"other\"} 1\n"
        "# HELP cw_http_request_duration_seconds Time from a request's headers to its answer, by route.\n"
        "# TYPE cw_http_request_duration_seconds histogram\n"
        "cw_http_request_duration_seconds_bucket{route=\"sync\",le=\"0.001\"} 1\n"
        "cw_http_request_duration_seconds_bucket{route=\"sync\",le=\"0.0025\"} 1\n"
        "cw_http_request_duration_seconds_bucket{route=\"sync\",le=\"0.005\"} 1\n"
        "cw_http_request_duration_seconds_bucket{route=\"sync\",le=\"0.01\"} 1\n"
        "cw_http_request_duration_seconds_bucket{route=\"sync\",le=\"0.025\"} 1\n"
        "cw_http_request_duration_seconds_bucket{route=\"sync\",le=\"0.05\"} 2\n"
        "cw_http_request_duration_seconds_bucket{route=\"sync\",le=\"0.1\"} 2\n"
        "cw_http_request_duration_seconds_bucket{route=\"sync\",le=\"0.25\"} 2\n"
        "cw_http_request_duration_seconds_bucket{route=\"sync\",le=\"0.5\"} 2\n"
        "cw_http_request_duration_seconds_bucket{route=\"sync\",le=\"1\"} 2\n"
        "cw_http_request_duration_seconds_bucket{route=\"sync\",le=\"2.5\"} 2\n"
        "cw_http_request_duration_seconds_bucket{route=\"sync\",le=\"5\"} 2\n"
        "cw_http_request_duration_seconds_bucket{route=\"sync\",le=\"10\"} 2\n"
        "cw_http_request_duration_seconds_bucket{route=\"sync\",le=\"25\"} 2\n"
        "cw_http_request_duration_seconds_bucket{route=\"sync\",le=\"60\"} 2\n"
        "cw_http_request_duration_seconds_bucket{route=\"sync\",le=\"+Inf\"} 3\n"
        "cw_http_request_duration_seconds_sum{route=\"sync\"} 70.0304\n"
        "cw_http_request_duration_seconds_count{route=\"sync\"} 3\n"
        "cw_http_request_duration_seconds_bucket{route=\"healthz\",le=\"0.001\"} 1\n");
    assert_block(text,
        "cw_http_request_duration_seconds_bucket{route=\"healthz\",le=\"+Inf\"} 1\n"
        "cw_http_request_duration_seconds_sum{route=\"healthz\"} 0\n"
        "cw_http_request_duration_seconds_count{route=\"healthz\"} 1\n");
    assert_block(text,
        "# HELP cw_http_protections_total Requests and connections refused or cut by the HTTP protections, by reason.\n"
        "# TYPE cw_http_protections_total counter\n"
        "cw_http_protections_total{reason=\"malformed_headers\"} 0\n"
        "cw_http_protections_total{reason=\"slow_body\"} 2\n"
        "cw_http_protections_total{reason=\"headers_timeout\"} 0\n"
        "cw_http_protections_total{reason=\"idle_evicted\"} 0\n"
        "cw_http_protections_total{reason=\"body_budget\"} 0\n"
        "cw_http_protections_total{reason=\"memory_budget\"} 0\n"
        "cw_http_protections_total{reason=\"linger\"} 1\n"
        "# HELP cw_http_requests_in_flight Requests received and not yet answered.\n"
        "# TYPE cw_http_requests_in_flight gauge\n"
        "cw_http_requests_in_flight 3\n"
        "# HELP cw_http_request_body_bytes Size of received sync request bodies.\n"
        "# TYPE cw_http_request_body_bytes histogram\n"
        "cw_http_request_body_bytes_bucket{le=\"1024\"} 2\n"
        "cw_http_request_body_bytes_bucket{le=\"16384\"} 2\n"
        "cw_http_request_body_bytes_bucket{le=\"131072\"} 3\n"
        "cw_http_request_body_bytes_bucket{le=\"1048576\"} 3\n"
        "cw_http_request_body_bytes_bucket{le=\"5242880\"} 3\n"
        "cw_http_request_body_bytes_bucket{le=\"+Inf\"} 4\n"
        "cw_http_request_body_bytes_sum 6021034\n"
        "cw_http_request_body_bytes_count 4\n"
        "# HELP cw_sync_upserts_received_total Upserts in valid sync payloads received.\n"
        "# TYPE cw_sync_upserts_received_total counter\n"
        "cw_sync_upserts_received_total 3\n"
        "# HELP cw_sync_deletes_received_total Deletes in valid sync payloads received.\n"
        "# TYPE cw_sync_deletes_received_total counter\n"
        "cw_sync_deletes_received_total 2\n"
        "# HELP cw_search_queries_total Searches answered (GET|POST /api/v1/instances/search), by ranking.\n"
        "# TYPE cw_search_queries_total counter\n"
        "cw_search_queries_total{ranking=\"hybrid\"} 2\n"
        "cw_search_queries_total{ranking=\"vector\"} 0\n"
        "cw_search_queries_total{ranking=\"lexical\"} 1\n"
        "# HELP cw_search_results_returned_total Results those searches returned.\n"
        "# TYPE cw_search_results_returned_total counter\n"
        "cw_search_results_returned_total 13\n"
        "# HELP cw_embed_calls_total ");
    /* no pipeline: its families are left out; the registry's are there */
    CU_ASSERT_PTR_NULL(strstr(text, "cw_pipeline_queue_depth"));
    assert_block(text, "# TYPE cw_chroma_call_duration_seconds histogram\n"
                       "cw_chroma_call_duration_seconds_bucket{op=\"upsert\",le=\"0.001\"} 0\n");
    free(text);
    cw_http_metrics_destroy(m);
    cw_http_metrics_destroy(NULL);
}

/* A request head laid out as libmicrohttpd 0.9.75 leaves it after parsing
 * in place: line terminators (CRLF or LF, never a bare CR) become NULs,
 * each field's first colon a NUL, and an obs-fold continuation is appended
 * to the previous field's name in memory of its own (its pool). */
typedef struct sim_head {
    char buf[512];
    char fold[256];
    cw_http_field f[16];
    size_t n;
    const char *after_line, *end;
} sim_head;

static int sim_parse(sim_head *m, const char *raw, size_t len)
{
    memset(m, 0, sizeof *m);
    CU_ASSERT_FATAL(len < sizeof m->buf);
    memcpy(m->buf, raw, len);
    size_t pos = 0, line_no = 0;
    while (pos < len) {
        char *line = m->buf + pos;
        size_t e = pos;
        while (e < len && m->buf[e] != '\n' && !(m->buf[e] == '\r' && e + 1 < len && m->buf[e + 1] == '\n'))
            e++;
        if (e == len)
            return -1;                         /* no terminator */
        size_t next = m->buf[e] == '\r' ? e + 2 : e + 1;
        memset(m->buf + e, 0, next - e);
        pos = next;
        if (line_no++ == 0) {
            m->after_line = m->buf + e;        /* the NUL after the version */
            continue;
        }
        if (line[0] == '\0') {
            m->end = m->buf + pos;
            return 0;
        }
        if ((line[0] == ' ' || line[0] == '\t') && m->n > 0) {
            cw_http_field *prev = &m->f[m->n - 1];
            char *tail = line;
            while (*tail == ' ' || *tail == '\t')
                tail++;
            snprintf(m->fold, sizeof m->fold, "%.*s%s", (int)prev->key_len, prev->key, tail);
            prev->key = m->fold;
            prev->key_len = strlen(m->fold);
            continue;
        }
        char *colon = strchr(line, ':');
        if (colon == NULL)
            return -1;                         /* libmicrohttpd refuses it itself */
        *colon = '\0';
        char *v = colon + 1;
        while (*v == ' ' || *v == '\t')
            v++;
        m->f[m->n++] = (cw_http_field){ line, strlen(line), v, strlen(v) };
    }
    return -1;
}

/* The problem cw_http_head_block_problem finds in `raw` ("" when none). */
static const char *head_problem(const char *raw, size_t len)
{
    static sim_head m;
    if (sim_parse(&m, raw, len) != 0)
        return "(libmicrohttpd refuses it)";
    const char *why = cw_http_head_block_problem(m.after_line, m.end, m.f, m.n);
    return why != NULL ? why : "";
}

#define HEAD(lit) head_problem(lit, sizeof lit - 1)

static void test_head_block(void)
{
    const char *fold = "malformed header line (obs-fold continuation, NUL, or a line break inside it)";
    const char *name = "header name with whitespace or a control character";
    CU_ASSERT_STRING_EQUAL(HEAD("POST /x HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\n\r\n"), "");
    CU_ASSERT_STRING_EQUAL(HEAD("POST /x HTTP/1.1\nHost: t\nContent-Length: 2\n\n"), "");
    CU_ASSERT_STRING_EQUAL(HEAD("GET /x HTTP/1.1\r\n\r\n"), "");
    CU_ASSERT_STRING_EQUAL(HEAD("GET /x HTTP/1.1\r\nX:\r\nY:\t v : w \r\n\r\n"), "");
    CU_ASSERT_STRING_EQUAL(HEAD("GET /x HTTP/1.1\r\nX: caf\xc3\xa9\r\n\r\n"), "");   /* obs-text */
    /* RFC 9112 §5.1: whitespace between the name and the colon. */
    CU_ASSERT_STRING_EQUAL(HEAD("POST /x HTTP/1.1\r\nContent-Length : 48\r\n\r\n"), name);
    CU_ASSERT_STRING_EQUAL(HEAD("POST /x HTTP/1.1\r\nContent-Length\t: 48\r\n\r\n"), name);
    CU_ASSERT_STRING_EQUAL(HEAD("POST /x HTTP/1.1\r\nX\x7fY: 1\r\n\r\n"), name);
    CU_ASSERT_STRING_EQUAL(HEAD("POST /x HTTP/1.1\r\n: 1\r\n\r\n"), "empty header name");
    /* obs-fold, as the first line and later. */
    CU_ASSERT_STRING_EQUAL(HEAD("POST /x HTTP/1.1\r\nX: a\r\n b\r\nHost: t\r\n\r\n"), fold);
    CU_ASSERT_STRING_EQUAL(HEAD("POST /x HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\n\t8\r\n\r\n"), fold);
    /* A bare CR and a NUL inside a line. */
    CU_ASSERT_STRING_EQUAL(HEAD("POST /x HTTP/1.1\r\nX: a\rContent-Length: 48\r\n\r\n"),
                           "bare CR in a header value");
    CU_ASSERT_STRING_EQUAL(HEAD("POST /x HTTP/1.1\r\nX: a\x01b\r\n\r\n"),
                           "control character in a header value");
    CU_ASSERT_STRING_EQUAL(HEAD("POST /x HTTP/1.1\r\nX: a\0Content-Length: 48\r\nHost: t\r\n\r\n"), fold);
    CU_ASSERT_STRING_EQUAL(HEAD("POST /x HTTP/1.1\r\nHost: t\r\nX: a\0\r\n\r\n"),
                           "malformed header block (obs-fold continuation, NUL, or a line break inside a line)");
    CU_ASSERT_STRING_EQUAL(HEAD("POST /x HTTP/1.1\r\nX: a\0b\r\n\r\n"),
                           "malformed header block (obs-fold continuation, NUL, or a line break inside a line)");
    /* Without a block to walk, the fields alone are checked. */
    cw_http_field f = { "Content-Length ", 15, "48", 2 };
    CU_ASSERT_STRING_EQUAL(cw_http_head_block_problem(NULL, NULL, &f, 1), name);
    f.key_len = 14;
    CU_ASSERT_PTR_NULL(cw_http_head_block_problem(NULL, NULL, &f, 1));
}

/* The problem cw_http_request_line_problem finds in the request line
 * raw[0..len) (no terminator), laid out as libmicrohttpd 0.9.75's
 * parse_initial_message_line leaves it: the first space a NUL, blanks
 * skipped, the last space a NUL before the version; the target's strlen
 * taken then, as its URI callback sees it. */
static const char *line_problem(const char *raw, size_t len)
{
    static char buf[256];
    CU_ASSERT_FATAL(len < sizeof buf);
    memcpy(buf, raw, len);
    buf[len] = '\0';
    char *sp = memchr(buf, ' ', len);
    if (sp == NULL)
        return "(libmicrohttpd refuses it)";
    *sp = '\0';
    char *uri = sp + 1;
    while (*uri == ' ' && uri < buf + len)
        uri++;
    char *v = buf + len - 1;
    while (v > uri && *v != ' ')
        v--;
    if (v == uri || strlen(v + 1) != 8)
        return "(libmicrohttpd refuses it)";
    *v = '\0';
    const char *why = cw_http_request_line_problem(buf, uri, strlen(uri),
                                                   cw_http_target_has_pct00(uri), v + 1);
    return why != NULL ? why : "";
}

#define LINE(lit) line_problem(lit, sizeof lit - 1)

static void test_request_line(void)
{
    const char *nul = "NUL in the request line (raw, or %00 in the target)";
    CU_ASSERT_STRING_EQUAL(LINE("GET /healthz HTTP/1.1"), "");
    CU_ASSERT_STRING_EQUAL(LINE("GET  /healthz HTTP/1.1"), "");
    CU_ASSERT_STRING_EQUAL(LINE("POST /api/v1/instances/sync?cluster=a%20b HTTP/1.1"), "");
    CU_ASSERT_STRING_EQUAL(LINE("GET /a%2500 HTTP/1.1"), "");          /* "%2500" is "%00" unescaped once */
    CU_ASSERT_STRING_EQUAL(LINE("GET /healthz\0x HTTP/1.1"), nul);
    CU_ASSERT_STRING_EQUAL(LINE("GET /healthz\0 HTTP/1.1"), nul);
    CU_ASSERT_STRING_EQUAL(LINE("GET \0/healthz HTTP/1.1"), nul);
    CU_ASSERT_STRING_EQUAL(LINE("GE\0T /healthz HTTP/1.1"), nul);
    CU_ASSERT_STRING_EQUAL(LINE("GET /healthz%00 HTTP/1.1"), nul);
    CU_ASSERT_STRING_EQUAL(LINE("GET /api/v1/instances/sync?cluster=a%00b HTTP/1.1"), nul);
    CU_ASSERT_STRING_EQUAL(LINE("GET /x%00 HTTP/1.1"), nul);
    /* Unknown target: nothing to compare. */
    CU_ASSERT_PTR_NULL(cw_http_request_line_problem("GET", NULL, 0, 0, "HTTP/1.1"));
    CU_ASSERT_EQUAL(cw_http_target_has_pct00("/a%00"), 1);
    CU_ASSERT_EQUAL(cw_http_target_has_pct00("/a%2500"), 0);
    CU_ASSERT_EQUAL(cw_http_target_has_pct00(NULL), 0);
}

static void test_config_defaults(void)
{
    cw_http_config cfg;
    cw_http_config_defaults(&cfg);
    CU_ASSERT_STRING_EQUAL(cfg.host, "0.0.0.0");
    CU_ASSERT_EQUAL(cfg.port, 3000);
    CU_ASSERT_EQUAL(cfg.admin_port, 0);
    CU_ASSERT_EQUAL(cfg.max_body, 5u * 1024u * 1024u);
    CU_ASSERT_EQUAL(cfg.connection_limit, 256);
    CU_ASSERT_EQUAL(cfg.max_inflight_bytes, 64u * 1024u * 1024u);
    CU_ASSERT_EQUAL(cfg.connection_timeout_s, 30);
    CU_ASSERT_EQUAL(cfg.request_deadline_ms, 25000);
    CU_ASSERT_EQUAL(cfg.search_limit, 4);
    CU_ASSERT_PTR_NULL(cfg.search_chroma);
    CU_ASSERT_EQUAL(cfg.thread_stack_size, 256u * 1024u);
    CU_ASSERT_EQUAL(cfg.headers_timeout_ms, 5000);
    CU_ASSERT_EQUAL(cfg.body_stall_s, 5);
    CU_ASSERT_EQUAL(cfg.body_min_rate, 1024);
    CU_ASSERT_EQUAL(cfg.max_handling_bytes, 128u * 1024u * 1024u);
}

int main(void)
{
    CU_TestInfo tests[] = {
        { "content type", test_content_type },
        { "routes", test_routes },
        { "request line: NUL, raw or %00", test_request_line },
        { "header checks: framing", test_head_framing },
        { "header checks: routes and limits", test_head_routes_and_limits },
        { "body limit and deadline", test_body_limit },
        { "probe and error answers", test_probe_answers },
        { "metrics text", test_metrics_text },
        { "header block: names, CR/NUL, obs-fold", test_head_block },
        { "config defaults", test_config_defaults },
        CU_TEST_INFO_NULL,
    };
    return cw_test_run("http_unit", tests);
}
