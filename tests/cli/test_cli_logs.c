/* The real binary's request log (serve --log-format text|json,
 * --log-probes) read from its stderr: one line per request with method,
 * path, status, duration, upserts, deletes and embedding calls; probes
 * silent by default; errors say what failed and what the client was told;
 * every JSON line parses with json-c. Real Chroma (ctest), mock embedder. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "cli_env.h"
#include "cw_test.h"
#include "http_client.h"
#include "proc.h"

static cli_env g_env;

static const char TWO_AND_ONE[] =
    "{\"upserts\":[{\"id\":\"logs/apps/v1/Deployment/a\",\"namespace\":\"logs\",\"name\":\"a\","
    "\"kind\":\"Deployment\",\"apiVersion\":\"apps/v1\",\"apiGroup\":\"apps\",\"labels\":null,"
    "\"annotations\":null,\"createdAt\":\"2026-02-20T10:00:00Z\"},"
    "{\"id\":\"logs/v1/Service/b\",\"namespace\":\"logs\",\"name\":\"b\",\"kind\":\"Service\","
    "\"apiVersion\":\"v1\",\"apiGroup\":\"\",\"labels\":{\"app\":\"b\"},\"annotations\":null,"
    "\"createdAt\":\"2026-02-20T10:00:00Z\"}],\"deletes\":[\"logs/v1/Service/old\"]}";

/* Start serve with `format` (and --log-probes when `probes`) on a
 * collection of its own, make the same requests, stop it with SIGTERM;
 * return its stderr (malloc'd). */
static char *run_server(const char *format, int probes)
{
    char collection[96];
    snprintf(collection, sizeof collection, "%s_%s", g_env.collection, format);
    unsigned short port = http_free_port();
    char p[16];
    snprintf(p, sizeof p, "%u", port);
    char *argv[] = { getenv("CW_BIN"), "serve", "--host", "127.0.0.1", "--port", p,
                     "--chroma-url", g_env.chroma_url, "--collection", collection,
                     "--embedder", "openai", "--embed-url", (char *)cw_mock_embedder_url(g_env.mock),
                     "--log-format", (char *)format, probes ? "--log-probes" : NULL, NULL };
    unlink(g_env.log);
    pid_t pid = proc_serve(argv, g_env.log, port, 60000);    /* GET /healthz: a probe too */
    CU_ASSERT_FATAL(pid > 0);

    CU_ASSERT_EQUAL(cli_call(port, "GET", "/readyz", NULL, NULL), 200);
    CU_ASSERT_EQUAL(cli_call(port, "GET", "/metrics", NULL, NULL), 200);
    CU_ASSERT_EQUAL(cli_call(port, "POST", "/api/v1/instances/sync", TWO_AND_ONE, NULL), 200);
    CU_ASSERT_EQUAL(cli_call(port, "POST", "/api/v1/instances/sync", TWO_AND_ONE, NULL), 200);  /* reused */
    CU_ASSERT_EQUAL(cli_call(port, "POST", "/api/v1/instances/sync", "{\"upserts\":7}", NULL), 400);
    cw_mock_embedder_fail(g_env.mock, 401, -1, 0);
    const char fresh[] =
        "{\"upserts\":[{\"id\":\"logs/v1/ConfigMap/c\",\"namespace\":\"logs\",\"name\":\"c\","
        "\"kind\":\"ConfigMap\",\"apiVersion\":\"v1\",\"apiGroup\":\"\","
        "\"createdAt\":\"2026-02-20T10:00:00Z\"}]}";
    CU_ASSERT_EQUAL(cli_call(port, "POST", "/api/v1/instances/sync", fresh, NULL), 503);
    cw_mock_embedder_reset(g_env.mock);
    CU_ASSERT_EQUAL(cli_call(port, "DELETE", "/healthz", NULL, NULL), 405);
    CU_ASSERT_EQUAL(cli_call(port, "GET", "/nope", NULL, NULL), 404);
    CU_ASSERT_EQUAL(proc_stop(pid, SIGTERM, 30000), 0);
    return cw_test_read_file(g_env.log);
}

/* Replace, in place, the first text between `from` and `to` with `with`
 * (shorter): the words of a dependency's own error, which are its tests'
 * business; ours are the frame around them. */
static void blank_between(char *s, const char *from, const char *to, const char *with)
{
    char *a = strstr(s, from);
    char *b = a != NULL ? strstr(a + strlen(from), to) : NULL;
    CU_ASSERT_PTR_NOT_NULL_FATAL(b);
    a += strlen(from);
    size_t n = strlen(with);
    CU_ASSERT_FATAL((size_t)(b - a) >= n);
    memcpy(a, with, n);
    memmove(a + n, b, strlen(b) + 1);
}

/* Lines of `log` that are request lines (their message starts with an
 * HTTP method and a path), with the time cut and "<n>.<d>ms" made "Nms". */
static char *request_lines_text(const char *log)
{
    size_t cap = strlen(log) + 1;
    char *out = calloc(1, cap);
    size_t k = 0;
    for (const char *at = log; out != NULL && *at != '\0';) {
        const char *nl = strchr(at, '\n');
        size_t len = nl != NULL ? (size_t)(nl - at) : strlen(at);
        const char *msg = len > 31 ? at + 31 : "";     /* "<time> <level> " = 25 + 6 */
        if (strncmp(msg, "GET /", 5) == 0 || strncmp(msg, "POST /", 6) == 0 ||
            strncmp(msg, "DELETE /", 8) == 0) {
            memcpy(out + k, at + 25, len - 25);        /* keep the level */
            k += len - 25;
            out[k++] = '\n';
        }
        at += len + (nl != NULL);
    }
    /* blank durations */
    char *w = out;
    for (const char *r = out; out != NULL && *r != '\0';) {
        const char *q = r;
        while (*q >= '0' && *q <= '9')
            q++;
        if (q > r && r > out && r[-1] == ' ' && q[0] == '.' && q[1] >= '0' && q[1] <= '9' &&
            strncmp(q + 2, "ms", 2) == 0) {
            *w++ = 'N';
            r = q + 2;
            continue;
        }
        *w++ = *r++;
    }
    if (out != NULL)
        *w = '\0';
    return out;
}

static const char WANT_TEXT[] =
    "info  POST /api/v1/instances/sync 200 Nms upserts=2 deletes=1 embed_calls=1\n"
    "info  POST /api/v1/instances/sync 200 Nms upserts=2 deletes=1 embed_calls=0\n"
    "info  POST /api/v1/instances/sync 400 Nms: invalid payload: [\"upserts\"] invalid_type: "
    "expected array, got number; told client 400\n"
    "warn  POST /api/v1/instances/sync 503 Nms upserts=1 deletes=0 embed_calls=1: config: <why>; "
    "told client 503, Retry-After: 5\n"
    "info  DELETE /healthz 405 Nms: DELETE is not allowed here; use GET, HEAD; told client 405\n"
    "info  GET /nope 404 Nms: no route for GET /nope; told client 404\n";

static void test_text_log(void)
{
    char *log = run_server("text", 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(log);
    char *lines = request_lines_text(log);
    CU_ASSERT_PTR_NOT_NULL_FATAL(lines);
    blank_between(lines, "embed_calls=1: config: ", "; told client 503", "<why>");
    CU_ASSERT_STRING_EQUAL(lines, WANT_TEXT);
    if (strcmp(lines, WANT_TEXT) != 0)
        fprintf(stderr, "\n  request lines:\n%s\n  whole log:\n%s\n", lines, log);
    /* probes are silent by default (the DELETE /healthz is a 405, logged) */
    CU_ASSERT_PTR_NULL(strstr(log, "GET /healthz"));
    CU_ASSERT_PTR_NULL(strstr(log, "GET /readyz"));
    CU_ASSERT_PTR_NULL(strstr(log, "GET /metrics"));
    free(lines);
    free(log);
}

/* The JSON request lines, each with "time" and "duration_ms" values
 * replaced by T and N; every line of the log must parse. */
static char *request_lines_json(const char *log)
{
    char *out = calloc(1, strlen(log) + 1);
    size_t k = 0;
    for (const char *at = log; out != NULL && *at != '\0';) {
        const char *nl = strchr(at, '\n');
        size_t len = nl != NULL ? (size_t)(nl - at) : strlen(at);
        char *line = strndup(at, len);
        at += len + (nl != NULL);
        struct json_object *o = json_tokener_parse(line);
        CU_ASSERT_PTR_NOT_NULL(o);
        if (o == NULL)
            fprintf(stderr, "\n  not JSON: %s", line);
        struct json_object *v;
        int request = o != NULL && json_object_object_get_ex(o, "method", &v);
        json_object_put(o);
        if (request) {
            char *t = strstr(line, "\"time\":\"");
            char *d = strstr(line, "\"duration_ms\":");
            if (t != NULL && d != NULL) {
                t += 8;
                memmove(t + 1, t + 24, strlen(t + 24) + 1);       /* 24-char time → T */
                *t = 'T';
                d = strstr(line, "\"duration_ms\":") + 14;
                char *e = d;
                while ((*e >= '0' && *e <= '9') || *e == '.')
                    e++;
                memmove(d + 1, e, strlen(e) + 1);
                *d = 'N';
            }
            memcpy(out + k, line, strlen(line));
            k += strlen(line);
            out[k++] = '\n';
        }
        free(line);
    }
    return out;
}

static const char WANT_JSON[] =
    "{\"time\":\"T\",\"level\":\"info\",\"msg\":\"GET /healthz 200\",\"method\":\"GET\","
    "\"path\":\"/healthz\",\"route\":\"healthz\",\"status\":200,\"duration_ms\":N}\n"
    "{\"time\":\"T\",\"level\":\"info\",\"msg\":\"GET /readyz 200\",\"method\":\"GET\","
    "\"path\":\"/readyz\",\"route\":\"readyz\",\"status\":200,\"duration_ms\":N}\n"
    "{\"time\":\"T\",\"level\":\"info\",\"msg\":\"GET /metrics 200\",\"method\":\"GET\","
    "\"path\":\"/metrics\",\"route\":\"metrics\",\"status\":200,\"duration_ms\":N}\n"
    "{\"time\":\"T\",\"level\":\"info\",\"msg\":\"POST /api/v1/instances/sync 200\",\"method\":\"POST\","
    "\"path\":\"/api/v1/instances/sync\",\"route\":\"sync\",\"status\":200,\"duration_ms\":N,"
    "\"upserts\":2,\"deletes\":1,\"embed_calls\":1}\n"
    "{\"time\":\"T\",\"level\":\"info\",\"msg\":\"POST /api/v1/instances/sync 200\",\"method\":\"POST\","
    "\"path\":\"/api/v1/instances/sync\",\"route\":\"sync\",\"status\":200,\"duration_ms\":N,"
    "\"upserts\":2,\"deletes\":1,\"embed_calls\":0}\n"
    "{\"time\":\"T\",\"level\":\"info\",\"msg\":\"POST /api/v1/instances/sync 400\",\"method\":\"POST\","
    "\"path\":\"/api/v1/instances/sync\",\"route\":\"sync\",\"status\":400,\"duration_ms\":N,"
    "\"error\":\"invalid payload: [\\\"upserts\\\"] invalid_type: expected array, got number\"}\n"
    "{\"time\":\"T\",\"level\":\"warn\",\"msg\":\"POST /api/v1/instances/sync 503\",\"method\":\"POST\","
    "\"path\":\"/api/v1/instances/sync\",\"route\":\"sync\",\"status\":503,\"duration_ms\":N,"
    "\"upserts\":1,\"deletes\":0,\"embed_calls\":1,\"error\":\"config: <why>\",\"retry_after_s\":5}\n"
    "{\"time\":\"T\",\"level\":\"info\",\"msg\":\"DELETE /healthz 405\",\"method\":\"DELETE\","
    "\"path\":\"/healthz\",\"route\":\"healthz\",\"status\":405,\"duration_ms\":N,"
    "\"error\":\"DELETE is not allowed here; use GET, HEAD\"}\n"
    "{\"time\":\"T\",\"level\":\"info\",\"msg\":\"GET /nope 404\",\"method\":\"GET\","
    "\"path\":\"/nope\",\"route\":\"other\",\"status\":404,\"duration_ms\":N,"
    "\"error\":\"no route for GET /nope\"}\n";

static void test_json_log_with_probes(void)
{
    char *log = run_server("json", 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(log);
    char *lines = request_lines_json(log);
    CU_ASSERT_PTR_NOT_NULL_FATAL(lines);
    blank_between(lines, "\"error\":\"config: ", "\",\"retry_after_s\":5}", "<why>");
    /* proc_wait_http may poll /healthz more than once: keep the last poll */
    const char *start = lines;
    const char *h;
    while ((h = strstr(start + 1, "{\"time\":\"T\",\"level\":\"info\",\"msg\":\"GET /healthz 200\"")) != NULL)
        start = h;
    CU_ASSERT_STRING_EQUAL(start, WANT_JSON);
    if (strcmp(start, WANT_JSON) != 0)
        fprintf(stderr, "\n  request lines:\n%s\n  whole log:\n%s\n", lines, log);
    free(lines);
    free(log);
}

int main(void)
{
    if (cli_env_open(&g_env, "cli_logs", "t_cli_logs", 16) != 0) {
        cli_env_close(&g_env);
        return 1;
    }
    CU_TestInfo tests[] = {
        { "text: one line per request, probes silent, errors explained", test_text_log },
        { "json --log-probes: every line parses, probes logged", test_json_log_with_probes },
        CU_TEST_INFO_NULL,
    };
    int rc = cw_test_run("cli_logs", tests);
    cli_env_close(&g_env);
    return rc;
}
