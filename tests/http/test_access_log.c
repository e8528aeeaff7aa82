/* The request log line (access_log.c over cw_log), exactly, in both
 * formats: captured with cw_log's sink; the time prefix is the only part
 * not compared byte for byte (its shape is checked). JSON lines must parse
 * with json-c and carry the same facts as fields. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "access_log.h"
#include "answer.h"
#include "cw_log.h"
#include "cw_test.h"

static char g_lines[8192];
static size_t g_len;

static void sink(void *ctx, const char *line, size_t len)
{
    (void)ctx;
    if (g_len + len < sizeof g_lines) {
        memcpy(g_lines + g_len, line, len);
        g_len += len;
        g_lines[g_len] = '\0';
    }
}

static void reset(cw_log_format format)
{
    cw_log_configure(CW_LOG_INFO, format);
    cw_log_set_sink(sink, NULL);
    g_len = 0;
    g_lines[0] = '\0';
}

/* "2026-11-27T17:00:00.123Z" at s (24 characters). */
static int is_time(const char *s)
{
    static const char shape[] = "dddd-dd-ddTdd:dd:dd.dddZ";
    for (size_t i = 0; i < sizeof shape - 1; i++) {
        if (shape[i] == 'd' ? (s[i] < '0' || s[i] > '9') : s[i] != shape[i])
            return 0;
    }
    return 1;
}

/* The one captured text record, after its time and a space. */
static const char *text_record(void)
{
    CU_ASSERT(g_len > 25);
    CU_ASSERT(is_time(g_lines));
    CU_ASSERT_EQUAL(g_lines[24], ' ');
    CU_ASSERT_PTR_EQUAL(strchr(g_lines, '\n'), g_lines + g_len - 1);   /* one line */
    return g_len > 25 ? g_lines + 25 : "";
}

/* The one captured JSON record without its time: `{"level":...` rebuilt as
 * `{` + the rest after the time field. */
static const char *json_record(char *buf, size_t cap)
{
    static const char head[] = "{\"time\":\"";
    CU_ASSERT_EQUAL(strncmp(g_lines, head, sizeof head - 1), 0);
    CU_ASSERT(is_time(g_lines + sizeof head - 1));
    CU_ASSERT_PTR_EQUAL(strchr(g_lines, '\n'), g_lines + g_len - 1);
    const char *rest = g_lines + sizeof head - 1 + 24;     /* `",` then the rest */
    CU_ASSERT_EQUAL(strncmp(rest, "\",", 2), 0);
    size_t n = strlen(rest + 2);
    CU_ASSERT_FATAL(n + 2 <= cap);
    buf[0] = '{';
    memcpy(buf + 1, rest + 2, n + 1);
    return buf;
}

static cw_http_access sync_access(const cw_http_answer *a, int64_t us)
{
    cw_http_access e = {
        .method = "POST", .path = "/api/v1/instances/sync", .route = CW_ROUTE_SYNC,
        .duration_us = us, .answer = a,
    };
    return e;
}

static void ok_answer(cw_http_answer *a)
{
    memset(a, 0, sizeof *a);
    cw_http_answer_json(a, 200, strdup("{\"status\":\"ok\",\"upserted\":3,\"deleted\":1}"));
    a->note.payload_ok = 1;
    a->note.upserts = 3;
    a->note.deletes = 1;
    a->note.embed_calls = 1;
}

static void timeout_answer(cw_http_answer *a)
{
    memset(a, 0, sizeof *a);
    cw_http_answer_unavailable(a, "openai: timed out after 25 s", 5);
    cw_http_answer_note_error(a, "unavailable: openai: timed out after 25 s");
    a->note.payload_ok = 1;
    a->note.upserts = 3;
    a->note.embed_calls = 2;
}

static void test_text_lines(void)
{
    cw_http_answer a;
    cw_http_access e;

    reset(CW_LOG_TEXT);
    ok_answer(&a);
    e = sync_access(&a, 12345);
    cw_http_access_log(&e, 0);
    CU_ASSERT_STRING_EQUAL(text_record(),
        "info  POST /api/v1/instances/sync 200 12.3ms upserts=3 deletes=1 embed_calls=1\n");
    cw_http_answer_clear(&a);

    reset(CW_LOG_TEXT);
    timeout_answer(&a);
    e = sync_access(&a, 25000049);
    cw_http_access_log(&e, 0);
    CU_ASSERT_STRING_EQUAL(text_record(),
        "warn  POST /api/v1/instances/sync 503 25000.0ms upserts=3 deletes=0 embed_calls=2: "
        "unavailable: openai: timed out after 25 s; told client 503, Retry-After: 5\n");
    cw_http_answer_clear(&a);

    /* 500: error level; a route answer with no payload: no op counts */
    reset(CW_LOG_TEXT);
    memset(&a, 0, sizeof a);
    cw_http_answer_error(&a, 500, "Internal error", "chroma upsert: HTTP 400: bad\nthing");
    e = sync_access(&a, 900);
    cw_http_access_log(&e, 0);
    CU_ASSERT_STRING_EQUAL(text_record(),
        "error POST /api/v1/instances/sync 500 0.9ms: chroma upsert: HTTP 400: bad\\x0athing; "
        "told client 500\n");
    cw_http_answer_clear(&a);

    /* 405 from the headers */
    reset(CW_LOG_TEXT);
    memset(&a, 0, sizeof a);
    cw_http_answer_method(&a, "GET", cw_http_route_allow(CW_ROUTE_SYNC));
    e = sync_access(&a, 50);
    e.method = "GET";
    cw_http_access_log(&e, 0);
    CU_ASSERT_STRING_EQUAL(text_record(),
        "info  GET /api/v1/instances/sync 405 0.1ms: GET is not allowed here; use POST; "
        "told client 405\n");
    cw_http_answer_clear(&a);
}

static void test_probes_silent_unless_asked(void)
{
    static const char *const paths[] = { "/healthz", "/readyz", "/metrics" };
    static const cw_http_route routes[] = { CW_ROUTE_HEALTHZ, CW_ROUTE_READYZ, CW_ROUTE_METRICS };
    for (size_t i = 0; i < 3; i++) {
        cw_http_answer a;
        memset(&a, 0, sizeof a);
        cw_http_handle_healthz(&a);
        cw_http_access e = { .method = "GET", .path = paths[i], .route = routes[i],
                             .duration_us = 70, .answer = &a };
        reset(CW_LOG_TEXT);
        cw_http_access_log(&e, 0);
        CU_ASSERT_EQUAL(g_len, 0);
        reset(CW_LOG_JSON);
        cw_http_access_log(&e, 0);
        CU_ASSERT_EQUAL(g_len, 0);
        reset(CW_LOG_TEXT);
        cw_http_access_log(&e, 1);
        char want[64];
        snprintf(want, sizeof want, "info  GET %s 200 0.1ms\n", paths[i]);
        CU_ASSERT_STRING_EQUAL(text_record(), want);
        cw_http_answer_clear(&a);
    }
    /* another method on a probe path is a client's mistake, not a probe */
    {
        cw_http_answer a;
        memset(&a, 0, sizeof a);
        cw_http_answer_method(&a, "POST", cw_http_route_allow(CW_ROUTE_READYZ));
        cw_http_access e = { .method = "POST", .path = "/readyz", .route = CW_ROUTE_READYZ,
                             .duration_us = 70, .answer = &a };
        reset(CW_LOG_TEXT);
        cw_http_access_log(&e, 0);
        CU_ASSERT_STRING_EQUAL(text_record(), "info  POST /readyz 405 0.1ms: POST is not allowed "
                                              "here; use GET, HEAD; told client 405\n");
        cw_http_answer_clear(&a);
    }
    /* an unknown path is not a probe */
    cw_http_answer a;
    memset(&a, 0, sizeof a);
    cw_http_answer_not_found(&a, "GET", "/healthzz");
    cw_http_access e = { .method = "GET", .path = "/healthzz", .route = CW_ROUTE_OTHER,
                         .duration_us = 70, .answer = &a };
    reset(CW_LOG_TEXT);
    cw_http_access_log(&e, 0);
    CU_ASSERT_STRING_EQUAL(text_record(),
                           "info  GET /healthzz 404 0.1ms: no route for GET /healthzz; told client 404\n");
    cw_http_answer_clear(&a);
}

static void test_json_lines(void)
{
    char buf[8192];
    cw_http_answer a;
    cw_http_access e;

    reset(CW_LOG_JSON);
    ok_answer(&a);
    e = sync_access(&a, 12345);
    cw_http_access_log(&e, 0);
    CU_ASSERT_STRING_EQUAL(json_record(buf, sizeof buf),
        "{\"level\":\"info\",\"msg\":\"POST /api/v1/instances/sync 200\",\"method\":\"POST\","
        "\"path\":\"/api/v1/instances/sync\",\"route\":\"sync\",\"status\":200,"
        "\"duration_ms\":12.3,\"upserts\":3,\"deletes\":1,\"embed_calls\":1}\n");
    struct json_object *o = json_tokener_parse(g_lines);
    CU_ASSERT_PTR_NOT_NULL_FATAL(o);
    struct json_object *v;
    CU_ASSERT(json_object_object_get_ex(o, "status", &v) && json_object_get_int(v) == 200);
    CU_ASSERT(json_object_object_get_ex(o, "embed_calls", &v) && json_object_get_int(v) == 1);
    CU_ASSERT(json_object_object_get_ex(o, "duration_ms", &v) && json_object_get_double(v) == 12.3);
    CU_ASSERT(json_object_object_get_ex(o, "time", &v) && json_object_get_string_len(v) == 24);
    json_object_put(o);
    cw_http_answer_clear(&a);

    reset(CW_LOG_JSON);
    timeout_answer(&a);
    e = sync_access(&a, 25000049);
    cw_http_access_log(&e, 0);
    CU_ASSERT_STRING_EQUAL(json_record(buf, sizeof buf),
        "{\"level\":\"warn\",\"msg\":\"POST /api/v1/instances/sync 503\",\"method\":\"POST\","
        "\"path\":\"/api/v1/instances/sync\",\"route\":\"sync\",\"status\":503,"
        "\"duration_ms\":25000.0,\"upserts\":3,\"deletes\":0,\"embed_calls\":2,"
        "\"error\":\"unavailable: openai: timed out after 25 s\",\"retry_after_s\":5}\n");
    o = json_tokener_parse(g_lines);
    CU_ASSERT_PTR_NOT_NULL_FATAL(o);
    CU_ASSERT(json_object_object_get_ex(o, "retry_after_s", &v) && json_object_get_int(v) == 5);
    json_object_put(o);
    cw_http_answer_clear(&a);

    /* what a client sent in its path is escaped */
    reset(CW_LOG_JSON);
    memset(&a, 0, sizeof a);
    cw_http_answer_not_found(&a, "GET", "/a\"b\\c\x01");
    e = (cw_http_access){ .method = "GET", .path = "/a\"b\\c\x01", .route = CW_ROUTE_OTHER,
                          .duration_us = 1000, .answer = &a };
    cw_http_access_log(&e, 0);
    CU_ASSERT_STRING_EQUAL(json_record(buf, sizeof buf),
        "{\"level\":\"info\",\"msg\":\"GET /a\\\"b\\\\c\\u0001 404\",\"method\":\"GET\","
        "\"path\":\"/a\\\"b\\\\c\\u0001\",\"route\":\"other\",\"status\":404,\"duration_ms\":1.0,"
        "\"error\":\"no route for GET /a\\\"b\\\\c\\u0001\"}\n");
    o = json_tokener_parse(g_lines);
    CU_ASSERT_PTR_NOT_NULL_FATAL(o);
    CU_ASSERT(json_object_object_get_ex(o, "path", &v));
    CU_ASSERT_STRING_EQUAL(json_object_get_string(v), "/a\"b\\c\x01");
    json_object_put(o);
    cw_http_answer_clear(&a);

    /* plain records in JSON too */
    reset(CW_LOG_JSON);
    cw_log_warn("http: x \"y\"");
    CU_ASSERT_STRING_EQUAL(json_record(buf, sizeof buf),
                           "{\"level\":\"warn\",\"msg\":\"http: x \\\"y\\\"\"}\n");
    cw_log_set_sink(NULL, NULL);
    cw_log_configure(CW_LOG_INFO, CW_LOG_TEXT);
}

static void test_done_counts_and_logs(void)
{
    cw_http_metrics *m = cw_http_metrics_create();
    CU_ASSERT_PTR_NOT_NULL_FATAL(m);
    cw_http_request *r = cw_http_request_create(1024, 1000);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    r->method = "POST";
    r->path = "/api/v1/instances/sync";
    r->route = CW_ROUTE_SYNC;
    cw_http_answer a;
    ok_answer(&a);
    reset(CW_LOG_TEXT);
    cw_http_access_done(m, 0, r, &a);
    CU_ASSERT_EQUAL(strncmp(text_record(), "info  POST /api/v1/instances/sync 200 ", 38), 0);
    /* no request context (out of memory): still one line and one count */
    reset(CW_LOG_TEXT);
    cw_http_access_done(m, 0, NULL, &a);
    CU_ASSERT_STRING_EQUAL(text_record(), "info  - - 200 0.0ms upserts=3 deletes=1 embed_calls=1\n");
    char *text = cw_http_metrics_render(m, 0, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(text);
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "\ncw_http_requests_total{route=\"sync\",code=\"200\"} 1\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "\ncw_http_requests_total{route=\"other\",code=\"200\"} 1\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "\ncw_sync_upserts_received_total 6\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "\ncw_sync_deletes_received_total 2\n"));
    free(text);
    cw_http_answer_clear(&a);
    cw_http_request_destroy(r);
    cw_http_metrics_destroy(m);
    cw_log_set_sink(NULL, NULL);
}

int main(void)
{
    CU_TestInfo tests[] = {
        { "text lines", test_text_lines },
        { "probes are silent unless asked", test_probes_silent_unless_asked },
        { "JSON lines parse and say the same", test_json_lines },
        { "done: counts and logs, with or without a context", test_done_counts_and_logs },
        CU_TEST_INFO_NULL,
    };
    return cw_test_run("http_access_log", tests);
}
