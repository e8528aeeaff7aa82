/* test_embed — voyage and openai backends against the mock embedding server
 * (a real HTTP peer), the /embeddings wire format, and the mock itself. */
#include <curl/curl.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <fcntl.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cw_test.h"
#include "cw_time.h"
#include "embed_http.h"
#include "embed_wire.h"
#include "embedder_util.h"
#include "mock_embedder.h"

#define DIM 8

static cw_mock_embedder *g_mock;

/* A backend pointed at the mock; zero arguments take the defaults. */
static cw_embedder *make(int voyage, const char *key, size_t max_batch, long timeout_ms, long deadline_ms)
{
    cw_remote_embedder_config cfg;
    cw_error err;
    memset(&cfg, 0, sizeof cfg);
    cw_error_clear(&err);
    cfg.url = cw_mock_embedder_url(g_mock);
    cfg.api_key = key;
    cfg.max_batch = max_batch;
    cfg.timeout_ms = timeout_ms;
    cfg.deadline_ms = deadline_ms;
    cw_embedder *e = voyage ? cw_embedder_voyage_create(&cfg, &err) : cw_embedder_openai_create(&cfg, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(e);
    CU_ASSERT_EQUAL(err.code, CW_OK);
    return e;
}

/* How many of texts[0..n) did not get exactly the mock's vector. */
static size_t mismatches(const char *const *texts, size_t n, size_t dim, const float *out)
{
    float expect[64];
    size_t bad = 0;
    for (size_t i = 0; i < n; i++) {
        cw_mock_embedder_vector(texts[i], dim, expect);
        if (memcmp(expect, out + i * dim, dim * sizeof *expect) != 0)
            bad++;
    }
    return bad;
}

static double cosine(const float *a, const float *b, size_t dim)
{
    double dot = 0, na = 0, nb = 0;
    for (size_t i = 0; i < dim; i++) {
        dot += (double)a[i] * b[i];
        na += (double)a[i] * a[i];
        nb += (double)b[i] * b[i];
    }
    return dot / (sqrt(na) * sqrt(nb));
}

static const char *const THREE[] = {
    "Deployment nginx | namespace: web | apiVersion: apps/v1",
    "StatefulSet postgres | namespace: db | apiVersion: apps/v1",
    "Service redis | namespace: cache | apiVersion: v1",
};

/* ---- the mock's vectors and HTTP surface ------------------------------ */

static void test_mock_vector_properties(void)
{
    float a[384], b[384], c[384], a2[384];
    double norm = 0;

    cw_mock_embedder_vector("nginx web server", 384, a);
    cw_mock_embedder_vector("NGINX web server", 384, a2);
    cw_mock_embedder_vector("nginx server pod", 384, b);
    cw_mock_embedder_vector("postgres database", 384, c);
    for (size_t i = 0; i < 384; i++)
        norm += (double)a[i] * a[i];
    CU_ASSERT_DOUBLE_EQUAL(norm, 1.0, 1e-5);
    CU_ASSERT_EQUAL(memcmp(a, a2, sizeof a), 0);              /* words are case-folded */
    CU_ASSERT_TRUE(cosine(a, b, 384) > 0.5);                  /* two words shared */
    CU_ASSERT_TRUE(cosine(a, b, 384) > cosine(a, c, 384) + 0.3);
    cw_mock_embedder_vector("", 384, c);                       /* no words: still a unit vector */
    norm = 0;
    for (size_t i = 0; i < 384; i++)
        norm += (double)c[i] * c[i];
    CU_ASSERT_DOUBLE_EQUAL(norm, 1.0, 1e-5);
}

typedef struct reply {
    char body[4096];
    size_t len;
} reply;

static size_t on_reply(char *p, size_t s, size_t n, void *ud)
{
    reply *r = ud;
    size_t add = s * n;
    if (add > sizeof r->body - 1 - r->len)
        add = sizeof r->body - 1 - r->len;
    memcpy(r->body + r->len, p, add);
    r->len += add;
    r->body[r->len] = '\0';
    return s * n;
}

/* POST `body` to the mock at `path`; returns the status, the body in *r. */
static long raw_post(const char *path, const char *body, reply *r)
{
    char url[128];
    long status = 0;
    CURL *h = curl_easy_init();
    struct curl_slist *hdr = curl_slist_append(NULL, "Content-Type: application/json");

    snprintf(url, sizeof url, "http://127.0.0.1:%u%s", (unsigned)cw_mock_embedder_port(g_mock), path);
    memset(r, 0, sizeof *r);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 10000L);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_reply);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, r);
    if (curl_easy_perform(h) == CURLE_OK)
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(hdr);
    curl_easy_cleanup(h);
    return status;
}

static void test_mock_http_surface(void)
{
    reply r;

    cw_mock_embedder_reset(g_mock);
    CU_ASSERT_EQUAL(raw_post("/v1/embeddings", "{\"input\":[\"a\"", &r), 400);
    CU_ASSERT_STRING_EQUAL(r.body, "{\"error\":{\"message\":\"the body is not a JSON object\",\"type\":\"invalid_request_error\"}}");
    CU_ASSERT_EQUAL(raw_post("/v1/embeddings", "{\"input\":[],\"model\":\"m\"}", &r), 400);
    CU_ASSERT_STRING_EQUAL(r.body, "{\"error\":{\"message\":\"\\\"input\\\" must be a string or a non-empty array of strings\","
                                   "\"type\":\"invalid_request_error\"}}");
    CU_ASSERT_EQUAL(raw_post("/v1/embeddings", "{\"input\":[\"a\",1],\"model\":\"m\"}", &r), 400);
    CU_ASSERT_EQUAL(raw_post("/v1/embeddings", "{\"input\":\"a\"}", &r), 400);
    CU_ASSERT_STRING_EQUAL(r.body, "{\"error\":{\"message\":\"\\\"model\\\" must be a string\",\"type\":\"invalid_request_error\"}}");
    CU_ASSERT_EQUAL(raw_post("/v1/embeddings", "{\"input\":\"a\",\"model\":\"m\",\"input_type\":\"x\"}", &r), 400);
    CU_ASSERT_EQUAL(raw_post("/v1/nothing", "{}", &r), 404);
    CU_ASSERT_EQUAL(cw_mock_embedder_inputs(g_mock), 0);

    /* A single string input (OpenAI allows it) answers one vector. */
    CU_ASSERT_EQUAL(raw_post("/v1/embeddings", "{\"input\":\"hello\",\"model\":\"m\",\"input_type\":null}", &r), 200);
    float *vecs = NULL;
    size_t dim = 0;
    cw_error err;
    cw_error_clear(&err);
    CU_ASSERT_EQUAL(cw_embed_wire_parse_answer("t", r.body, r.len, 1, 64, &vecs, &dim, &err), 0);
    CU_ASSERT_EQUAL(dim, DIM);
    const char *hello[] = { "hello" };
    if (vecs != NULL)
        CU_ASSERT_EQUAL(mismatches(hello, 1, DIM, vecs), 0);
    free(vecs);
    CU_ASSERT_EQUAL(cw_mock_embedder_calls(g_mock), 6);    /* the 404 is no embedding call */
    CU_ASSERT_EQUAL(cw_mock_embedder_inputs(g_mock), 1);
    char buf[64];
    CU_ASSERT_EQUAL(cw_mock_embedder_last_input_type(g_mock, buf, sizeof buf), 0);
    CU_ASSERT_STRING_EQUAL(buf, "");
}

/* The standalone program: port on the first line, the mock's behaviour,
 * counters on stderr and exit 0 on SIGTERM; exit 2 on a bad flag. */
static void test_mock_program(void)
{
    const char *bin_dir = getenv("CW_BINARY_DIR");
    char bin[4096], line[128], err_path[] = "/tmp/cw-mock-embedder-stderr-XXXXXX";
    int out_pipe[2], status = 0;

    if (bin_dir == NULL)
        bin_dir = "../..";          /* run by hand from build/tests/embed */
    snprintf(bin, sizeof bin, "%s/cw-mock-embedder", bin_dir);
    int err_fd = mkstemp(err_path);
    CU_ASSERT_FATAL(err_fd >= 0);
    CU_ASSERT_FATAL(pipe(out_pipe) == 0);
    pid_t pid = fork();
    CU_ASSERT_FATAL(pid >= 0);
    if (pid == 0) {
        dup2(out_pipe[1], STDOUT_FILENO);
        dup2(err_fd, STDERR_FILENO);
        close(out_pipe[0]);
        execl(bin, bin, "--dim", "4", "--fail-status", "503", "--fail-count", "1", "--retry-after", "7",
              (char *)NULL);
        _exit(127);
    }
    close(out_pipe[1]);
    FILE *out = fdopen(out_pipe[0], "r");
    CU_ASSERT_PTR_NOT_NULL_FATAL(out);
    unsigned port = 0;
    if (fgets(line, sizeof line, out) != NULL)
        port = (unsigned)strtoul(line, NULL, 10);
    CU_ASSERT_TRUE(port > 0);
    char url_line[128], expect[128];
    snprintf(expect, sizeof expect, "http://127.0.0.1:%u/v1\n", port);
    CU_ASSERT_PTR_NOT_NULL(fgets(url_line, sizeof url_line, out));
    CU_ASSERT_STRING_EQUAL(url_line, expect);

    /* The injected 503 (Retry-After 7 is past a 1 s deadline), then vectors. */
    cw_remote_embedder_config cfg;
    cw_error err;
    float vec[2 * 4];
    char url[64];
    memset(&cfg, 0, sizeof cfg);
    snprintf(url, sizeof url, "http://127.0.0.1:%u/v1", port);
    cfg.url = url;
    cfg.deadline_ms = 1000;
    cw_error_clear(&err);
    cw_embedder *e = cw_embedder_openai_create(&cfg, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(e);
    CU_ASSERT_EQUAL(cw_embedder_embed(e, THREE, 2, CW_EMBED_DOCUMENT, vec, &err), -1);
    CU_ASSERT_EQUAL(err.code, CW_E_UNAVAILABLE);
    CU_ASSERT_EQUAL(err.retry_after_s, 7);
    cw_error_clear(&err);
    CU_ASSERT_EQUAL(cw_embedder_embed(e, THREE, 2, CW_EMBED_DOCUMENT, vec, &err), 0);
    CU_ASSERT_EQUAL(e->dim, 4);
    CU_ASSERT_EQUAL(mismatches(THREE, 2, 4, vec), 0);
    cw_embedder_destroy(e);

    kill(pid, SIGTERM);
    CU_ASSERT_EQUAL(waitpid(pid, &status, 0), pid);
    CU_ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    fclose(out);
    char *log = cw_test_read_file(err_path);
    CU_ASSERT_PTR_NOT_NULL(log);
    if (log != NULL)
        CU_ASSERT_STRING_EQUAL(log, "cw-mock-embedder: calls=2 inputs=2 max_inputs_per_call=2");
    free(log);
    close(err_fd);
    unlink(err_path);

    /* A bad flag is a usage error. */
    pid = fork();
    CU_ASSERT_FATAL(pid >= 0);
    if (pid == 0) {
        int devnull = open("/dev/null", O_WRONLY);
        dup2(devnull, STDERR_FILENO);
        execl(bin, bin, "--dim", "0", (char *)NULL);
        _exit(127);
    }
    CU_ASSERT_EQUAL(waitpid(pid, &status, 0), pid);
    CU_ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 2);
}

/* ---- the wire format --------------------------------------------------- */

static void test_wire_request(void)
{
    const char *texts[] = { "a \"quoted\" text", "path/with/slashes" };
    cw_error err;
    cw_error_clear(&err);
    char *body = cw_embed_wire_request(texts, 2, "voyage-4", "document", 0, 0, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(body);
    CU_ASSERT_STRING_EQUAL(body, "{\"input\":[\"a \\\"quoted\\\" text\",\"path/with/slashes\"],"
                                 "\"model\":\"voyage-4\",\"input_type\":\"document\"}");
    free(body);
    body = cw_embed_wire_request(texts, 1, "m", NULL, 0, 0, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(body);
    CU_ASSERT_STRING_EQUAL(body, "{\"input\":[\"a \\\"quoted\\\" text\"],\"model\":\"m\"}");
    free(body);
    body = cw_embed_wire_request(texts + 1, 1, "m", "query", 0, 1, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(body);
    CU_ASSERT_STRING_EQUAL(body, "{\"input\":[\"path/with/slashes\"],\"model\":\"m\",\"input_type\":\"query\","
                                 "\"encoding_format\":\"base64\"}");
    free(body);

    /* Cutting long texts never splits a UTF-8 character. */
    const char *cafe[] = { "caf\xc3\xa9 \xe6\x95\xb0\xe6\x8d\xae" };   /* "café 数据" */
    CU_ASSERT_EQUAL(cw_embed_wire_cut(cafe[0], 0), 12);
    CU_ASSERT_EQUAL(cw_embed_wire_cut(cafe[0], 12), 12);
    CU_ASSERT_EQUAL(cw_embed_wire_cut(cafe[0], 4), 3);       /* not inside é */
    CU_ASSERT_EQUAL(cw_embed_wire_cut(cafe[0], 5), 5);
    CU_ASSERT_EQUAL(cw_embed_wire_cut(cafe[0], 8), 6);       /* not inside 数 */
    CU_ASSERT_EQUAL(cw_embed_wire_cut(cafe[0], 9), 9);
    body = cw_embed_wire_request(cafe, 1, "m", NULL, 8, 0, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(body);
    CU_ASSERT_STRING_EQUAL(body, "{\"input\":[\"caf\xc3\xa9 \"],\"model\":\"m\"}");
    free(body);
}

static void expect_parse_error(const char *body, size_t n, const char *msg)
{
    float *vecs = (float *)1;
    size_t dim = 7;
    cw_error err;
    cw_error_clear(&err);
    CU_ASSERT_EQUAL(cw_embed_wire_parse_answer("openai", body, strlen(body), n, 4, &vecs, &dim, &err), -1);
    CU_ASSERT_PTR_NULL(vecs);
    CU_ASSERT_EQUAL(dim, 0);
    CU_ASSERT_EQUAL(err.code, CW_E_INTERNAL);
    CU_ASSERT_STRING_EQUAL(err.msg, msg);
    if (strcmp(err.msg, msg) != 0)
        fprintf(stderr, "got '%s'\n", err.msg);
}

static void test_wire_answer(void)
{
    const char *ok = "{\"data\":[{\"embedding\":[3,4.5],\"index\":1},{\"embedding\":[1.25,-2],\"index\":0}]}\n";
    float *vecs = NULL;
    size_t dim = 0;
    cw_error err;
    cw_error_clear(&err);
    CU_ASSERT_EQUAL(cw_embed_wire_parse_answer("openai", ok, strlen(ok), 2, 4, &vecs, &dim, &err), 0);
    CU_ASSERT_EQUAL(dim, 2);
    CU_ASSERT_PTR_NOT_NULL_FATAL(vecs);
    CU_ASSERT_EQUAL(vecs[0], 1.25f);
    CU_ASSERT_EQUAL(vecs[1], -2.0f);
    CU_ASSERT_EQUAL(vecs[2], 3.0f);
    CU_ASSERT_EQUAL(vecs[3], 4.5f);
    free(vecs);

    /* Packed (1, -2, 0.5, 0.25), placed by index; a server may mix both forms. */
    const char *packed = "{\"data\":[{\"embedding\":[9,8,7,6],\"index\":1},"
                         "{\"embedding\":\"AACAPwAAAMAAAAA/AACAPg==\",\"index\":0}]}";
    CU_ASSERT_EQUAL(cw_embed_wire_parse_answer("openai", packed, strlen(packed), 2, 4, &vecs, &dim, &err), 0);
    CU_ASSERT_EQUAL(dim, 4);
    CU_ASSERT_PTR_NOT_NULL_FATAL(vecs);
    const float want[8] = { 1.0f, -2.0f, 0.5f, 0.25f, 9, 8, 7, 6 };
    CU_ASSERT(memcmp(vecs, want, sizeof want) == 0);
    free(vecs);
    const char *packed2 = "{\"data\":[{\"embedding\":\"AABAQA==\"},{\"embedding\":\"AACAPw==\"}]}";
    CU_ASSERT_EQUAL(cw_embed_wire_parse_answer("openai", packed2, strlen(packed2), 2, 4, &vecs, &dim, &err), 0);
    CU_ASSERT_EQUAL(dim, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(vecs);
    CU_ASSERT_EQUAL(vecs[0], 3.0f);
    CU_ASSERT_EQUAL(vecs[1], 1.0f);
    free(vecs);

    expect_parse_error("not json", 1, "openai: malformed answer: not a JSON object");
    expect_parse_error("{\"data\":[]} x", 0, "openai: malformed answer: not a JSON object");
    expect_parse_error("[1]", 1, "openai: malformed answer: not a JSON object");
    expect_parse_error("{\"object\":\"list\"}", 1, "openai: malformed answer: no \"data\" array");
    expect_parse_error("{\"data\":[{\"embedding\":[1]}]}", 2, "openai: malformed answer: expected 2 embeddings, got 1");
    expect_parse_error("{\"data\":[{\"embedding\":{}}]}", 1,
                       "openai: malformed answer: data[0] has no \"embedding\" array");
    /* base64-packed float32: whole values, strict base64, finite, sizes agree */
    expect_parse_error("{\"data\":[{\"embedding\":\"AAAA\"}]}", 1,
                       "openai: malformed answer: embedding 0 is not base64-packed float32 (at most 4 values)");
    expect_parse_error("{\"data\":[{\"embedding\":\"AACAPw\"}]}", 1,
                       "openai: malformed answer: embedding 0 is not base64-packed float32 (at most 4 values)");
    expect_parse_error("{\"data\":[{\"embedding\":\"AACAPwAAAMAAAAA/AACAPgAAgD8=\"}]}", 1,
                       "openai: malformed answer: embedding 0 is not base64-packed float32 (at most 4 values)");
    expect_parse_error("{\"data\":[{\"embedding\":\"AACAPwAAwH8=\"}]}", 1,
                       "openai: malformed answer: embedding 0 holds a non-finite value");
    expect_parse_error("{\"data\":[{\"embedding\":\"AACAPwAAwH8=\"},{\"embedding\":\"AABAQA==\"}]}", 2,
                       "openai: malformed answer: embedding 0 holds a non-finite value");
    expect_parse_error("{\"data\":[{\"embedding\":[1,2]},{\"embedding\":\"AABAQA==\"}]}", 2,
                       "openai: malformed answer: embedding 1 has 1 values, expected 2");
    expect_parse_error("{\"data\":[{\"embedding\":[1,2]},{\"embedding\":\"AACAPwAAAMAAAAA/\"}]}", 2,
                       "openai: malformed answer: embedding 1 is not base64-packed float32 (at most 2 values)");
    expect_parse_error("{\"data\":[{\"embedding\":[1],\"index\":5}]}", 1,
                       "openai: malformed answer: data[0] has index 5, expected 0..0");
    expect_parse_error("{\"data\":[{\"embedding\":[1],\"index\":0},{\"embedding\":[2],\"index\":0}]}", 2,
                       "openai: malformed answer: index 0 appears twice");
    expect_parse_error("{\"data\":[{\"embedding\":[1,2],\"index\":0},{\"embedding\":[2],\"index\":1}]}", 2,
                       "openai: malformed answer: embedding 1 has 1 values, expected 2");
    expect_parse_error("{\"data\":[{\"embedding\":[1,\"x\"]}]}", 1,
                       "openai: malformed answer: embedding 0 holds a non-number");
    expect_parse_error("{\"data\":[{\"embedding\":[]}]}", 1,
                       "openai: malformed answer: a vector of 0 values (expected 1..4)");
    expect_parse_error("{\"data\":[{\"embedding\":[1,2,3,4,5]}]}", 1,
                       "openai: malformed answer: a vector of 5 values (expected 1..4)");
}

static void expect_upstream(const char *body, const char *msg)
{
    char buf[64];
    cw_embed_wire_upstream_message(body, body != NULL ? strlen(body) : 0, buf, sizeof buf);
    CU_ASSERT_STRING_EQUAL(buf, msg);
}

static void test_wire_upstream_message(void)
{
    expect_upstream("{\"error\":{\"message\":\"The model `x` does not exist\",\"type\":\"invalid_request_error\"}}",
                    "The model `x` does not exist");
    expect_upstream("{\"error\":\"model \\\"x\\\" not found, try pulling it first\"}",
                    "model \"x\" not found, try pulling it first");
    expect_upstream("{\"detail\":\"Model x is not supported.\"}", "Model x is not supported.");
    expect_upstream("{\"detail\":[{\"loc\":[\"body\",\"input\"],\"msg\":\"field required\"}]}", "field required");
    expect_upstream("{\"message\":\"Bad request\"}", "Bad request");
    expect_upstream("<html>\n<body>Bad\tGateway</body>\n</html>\n", "<html> <body>Bad Gateway</body> </html>");
    expect_upstream("", "(empty body)");
    expect_upstream(NULL, "(empty body)");
    expect_upstream("0123456789012345678901234567890123456789012345678901234567890123456789",
                    "012345678901234567890123456789012345678901234567890123456789012");
}

/* ---- backends against the mock ----------------------------------------- */

static void test_create_defaults_and_errors(void)
{
    cw_remote_embedder_config cfg;
    cw_error err;

    memset(&cfg, 0, sizeof cfg);
    cw_error_clear(&err);
    CU_ASSERT_PTR_NULL(cw_embedder_voyage_create(&cfg, &err));
    CU_ASSERT_EQUAL(err.code, CW_E_CONFIG);
    CU_ASSERT_STRING_EQUAL(err.msg, "voyage: no API key — set VOYAGE_API_KEY");

    cfg.api_key = " \n";
    cw_error_clear(&err);
    CU_ASSERT_PTR_NULL(cw_embedder_voyage_create(&cfg, &err));
    CU_ASSERT_STRING_EQUAL(err.msg, "voyage: no API key — set VOYAGE_API_KEY");

    cfg.api_key = "k";
    cw_error_clear(&err);
    cw_embedder *v = cw_embedder_voyage_create(&cfg, &err);
    cw_embedder *o = cw_embedder_openai_create(&cfg, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(v);
    CU_ASSERT_PTR_NOT_NULL_FATAL(o);
    CU_ASSERT_STRING_EQUAL(v->name, "voyage");
    CU_ASSERT_STRING_EQUAL(v->model, "voyage-4");
    CU_ASSERT_EQUAL(v->max_batch, 128);
    CU_ASSERT_EQUAL(v->dim, 0);
    CU_ASSERT_STRING_EQUAL(o->name, "openai");
    CU_ASSERT_STRING_EQUAL(o->model, "text-embedding-3-small");
    CU_ASSERT_EQUAL(o->max_batch, 256);
    cw_embedder_destroy(v);
    cw_embedder_destroy(o);
    cw_embedder_destroy(NULL);

    cfg.api_key = "sk-a\nX-Evil: 1";
    cw_error_clear(&err);
    CU_ASSERT_PTR_NULL(cw_embedder_openai_create(&cfg, &err));
    CU_ASSERT_EQUAL(err.code, CW_E_CONFIG);
    CU_ASSERT_STRING_EQUAL(err.msg, "openai: the API key holds control characters — check OPENAI_API_KEY");
}

static void test_voyage_exact_vectors(void)
{
    float out[3 * DIM];
    cw_error err;
    char buf[128];

    cw_mock_embedder_reset(g_mock);
    cw_embedder *e = make(1, "vk-123\n", 0, 0, 0);      /* as read from a Secret file */
    cw_error_clear(&err);
    CU_ASSERT_EQUAL(cw_embedder_probe_dim(e, &err), 0);
    CU_ASSERT_EQUAL(e->dim, DIM);
    CU_ASSERT_EQUAL(cw_mock_embedder_calls(g_mock), 1);
    CU_ASSERT_EQUAL(cw_embedder_probe_dim(e, &err), 0);        /* known: no call */
    CU_ASSERT_EQUAL(cw_mock_embedder_calls(g_mock), 1);

    CU_ASSERT_EQUAL(cw_embedder_embed(e, THREE, 3, CW_EMBED_DOCUMENT, out, &err), 0);
    CU_ASSERT_EQUAL(err.code, CW_OK);
    CU_ASSERT_EQUAL(mismatches(THREE, 3, DIM, out), 0);
    CU_ASSERT_EQUAL(cw_mock_embedder_calls(g_mock), 2);
    CU_ASSERT_EQUAL(cw_mock_embedder_inputs(g_mock), 4);
    CU_ASSERT_EQUAL(cw_mock_embedder_last_input_type(g_mock, buf, sizeof buf), 1);
    CU_ASSERT_STRING_EQUAL(buf, "document");
    CU_ASSERT_EQUAL(cw_mock_embedder_last_auth(g_mock, buf, sizeof buf), 1);
    CU_ASSERT_STRING_EQUAL(buf, "Bearer vk-123");
    CU_ASSERT_EQUAL(cw_mock_embedder_last_model(g_mock, buf, sizeof buf), 1);
    CU_ASSERT_STRING_EQUAL(buf, "voyage-4");

    CU_ASSERT_EQUAL(cw_embedder_embed(e, THREE + 1, 1, CW_EMBED_QUERY, out, &err), 0);
    CU_ASSERT_EQUAL(mismatches(THREE + 1, 1, DIM, out), 0);
    CU_ASSERT_EQUAL(cw_mock_embedder_last_input_type(g_mock, buf, sizeof buf), 1);
    CU_ASSERT_STRING_EQUAL(buf, "query");

    CU_ASSERT_EQUAL(cw_embedder_embed(e, THREE, 0, CW_EMBED_DOCUMENT, out, &err), 0);   /* nothing to do */
    CU_ASSERT_EQUAL(cw_mock_embedder_calls(g_mock), 3);
    cw_embedder_destroy(e);
}

static void test_openai_shape_and_index_order(void)
{
    float out[3 * DIM];
    cw_error err;
    char buf[128];
    cw_remote_embedder_config cfg;

    cw_mock_embedder_reset(g_mock);
    cw_mock_embedder_set_answer(g_mock, CW_MOCK_ANSWER_REVERSED);
    memset(&cfg, 0, sizeof cfg);
    cfg.url = cw_mock_embedder_url(g_mock);
    cfg.model = "nomic-embed-text";
    cw_error_clear(&err);
    cw_embedder *e = cw_embedder_openai_create(&cfg, &err);     /* no key: Ollama-style */
    CU_ASSERT_PTR_NOT_NULL_FATAL(e);
    CU_ASSERT_EQUAL(cw_embedder_probe_dim(e, &err), 0);
    CU_ASSERT_EQUAL(cw_embedder_embed(e, THREE, 3, CW_EMBED_QUERY, out, &err), 0);
    CU_ASSERT_EQUAL(mismatches(THREE, 3, DIM, out), 0);
    CU_ASSERT_EQUAL(cw_mock_embedder_last_input_type(g_mock, buf, sizeof buf), 0);   /* openai: none sent */
    CU_ASSERT_EQUAL(cw_mock_embedder_last_auth(g_mock, buf, sizeof buf), 0);
    CU_ASSERT_STRING_EQUAL(buf, "");
    CU_ASSERT_EQUAL(cw_mock_embedder_last_model(g_mock, buf, sizeof buf), 1);
    CU_ASSERT_STRING_EQUAL(buf, "nomic-embed-text");
    cw_embedder_destroy(e);

    /* A trailing slash on the URL is fine; a key gives a bearer header. */
    char url[128];
    snprintf(url, sizeof url, "%s/", cw_mock_embedder_url(g_mock));
    cfg.url = url;
    cfg.api_key = "sk-abc";
    e = cw_embedder_openai_create(&cfg, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(e);
    CU_ASSERT_EQUAL(cw_embedder_probe_dim(e, &err), 0);
    CU_ASSERT_EQUAL(cw_mock_embedder_last_auth(g_mock, buf, sizeof buf), 1);
    CU_ASSERT_STRING_EQUAL(buf, "Bearer sk-abc");
    cw_embedder_destroy(e);
}

/* Packed vectors asked for and read; floats read from a server that ignores
 * the field; a server that refuses it is asked again without, at once, and
 * never asked for base64 again. The vectors are exact every time. */
static void test_base64_and_fallback(void)
{
    float out[3 * DIM];
    cw_error err;
    cw_remote_embedder_config cfg;

    for (int voyage = 0; voyage <= 1; voyage++) {
        cw_mock_embedder_reset(g_mock);
        memset(&cfg, 0, sizeof cfg);
        cfg.url = cw_mock_embedder_url(g_mock);
        cfg.api_key = voyage ? "vk" : NULL;
        cw_error_clear(&err);
        cw_embedder *e = voyage ? cw_embedder_voyage_create(&cfg, &err) : cw_embedder_openai_create(&cfg, &err);
        CU_ASSERT_PTR_NOT_NULL_FATAL(e);
        CU_ASSERT_EQUAL(cw_embedder_embed(e, THREE, 3, CW_EMBED_DOCUMENT, out, &err), 0);
        CU_ASSERT_EQUAL(mismatches(THREE, 3, DIM, out), 0);
        CU_ASSERT_EQUAL(cw_mock_embedder_calls(g_mock), 1);
        CU_ASSERT_EQUAL(cw_mock_embedder_packed_calls(g_mock), 1);

        /* A 400 that does not name the encoding: refused as any 400 (no
         * second try), and base64 is still asked for afterwards. */
        cw_mock_embedder_fail(g_mock, 400, 1, 0);
        CU_ASSERT_EQUAL(cw_embedder_embed(e, THREE, 1, CW_EMBED_DOCUMENT, out, &err), -1);
        CU_ASSERT_EQUAL(err.code, CW_E_CONFIG);
        CU_ASSERT_STRING_EQUAL(err.msg, voyage
            ? "voyage: the embedding API refused the request (HTTP 400): mock: injected HTTP 400"
            : "openai: the embedding API refused the request (HTTP 400): mock: injected HTTP 400");
        CU_ASSERT_EQUAL(cw_mock_embedder_calls(g_mock), 2);
        cw_error_clear(&err);
        CU_ASSERT_EQUAL(cw_embedder_embed(e, THREE, 3, CW_EMBED_DOCUMENT, out, &err), 0);
        CU_ASSERT_EQUAL(mismatches(THREE, 3, DIM, out), 0);
        CU_ASSERT_EQUAL(cw_mock_embedder_packed_calls(g_mock), 2);
        cw_mock_embedder_reset(g_mock);

        cw_mock_embedder_set_base64(g_mock, CW_MOCK_BASE64_IGNORE);
        memset(out, 0, sizeof out);
        CU_ASSERT_EQUAL(cw_embedder_embed(e, THREE, 3, CW_EMBED_DOCUMENT, out, &err), 0);
        CU_ASSERT_EQUAL(mismatches(THREE, 3, DIM, out), 0);
        CU_ASSERT_EQUAL(cw_mock_embedder_calls(g_mock), 1);
        CU_ASSERT_EQUAL(cw_mock_embedder_packed_calls(g_mock), 0);

        cw_mock_embedder_set_base64(g_mock, CW_MOCK_BASE64_REFUSE);
        memset(out, 0, sizeof out);
        CU_ASSERT_EQUAL(cw_embedder_embed(e, THREE, 3, CW_EMBED_DOCUMENT, out, &err), 0);
        CU_ASSERT_EQUAL(err.code, CW_OK);
        CU_ASSERT_EQUAL(mismatches(THREE, 3, DIM, out), 0);
        CU_ASSERT_EQUAL(cw_mock_embedder_calls(g_mock), 3);          /* refused, then floats */
        memset(out, 0, sizeof out);
        CU_ASSERT_EQUAL(cw_embedder_embed(e, THREE, 2, CW_EMBED_DOCUMENT, out, &err), 0);
        CU_ASSERT_EQUAL(mismatches(THREE, 2, DIM, out), 0);
        CU_ASSERT_EQUAL(cw_mock_embedder_calls(g_mock), 4);          /* floats only from now on */
        /* back to a base64 server: this backend keeps asking for floats */
        cw_mock_embedder_set_base64(g_mock, CW_MOCK_BASE64_HONOUR);
        CU_ASSERT_EQUAL(cw_embedder_embed(e, THREE, 1, CW_EMBED_DOCUMENT, out, &err), 0);
        CU_ASSERT_EQUAL(cw_mock_embedder_packed_calls(g_mock), 0);
        cw_embedder_destroy(e);
    }
    cw_mock_embedder_reset(g_mock);
}

static char **numbered_texts(size_t n, const char *fmt)
{
    char **t = calloc(n, sizeof *t);
    for (size_t i = 0; t != NULL && i < n; i++) {
        t[i] = malloc(96);
        snprintf(t[i], 96, fmt, i, i % 7);
    }
    return t;
}

static void free_texts(char **t, size_t n)
{
    for (size_t i = 0; t != NULL && i < n; i++)
        free(t[i]);
    free(t);
}

static void test_connection_reuse(void)
{
    float out[3 * DIM];
    cw_error err;

    cw_mock_embedder_reset(g_mock);
    cw_embedder *e = make(1, "k", 0, 0, 0);
    cw_error_clear(&err);
    for (int i = 0; i < 5; i++)
        CU_ASSERT_EQUAL(cw_embedder_embed(e, THREE, 3, CW_EMBED_DOCUMENT, out, &err), 0);
    CU_ASSERT_EQUAL(cw_mock_embedder_calls(g_mock), 5);
    CU_ASSERT_EQUAL(cw_mock_embedder_connections(g_mock), 1);   /* one kept-alive connection */
    cw_embedder_destroy(e);
}

static void test_long_texts_cut(void)
{
    const size_t len = 20000;
    char *text = malloc(len + 1), *prefix = malloc(16384 + 1);
    float out[DIM], expect[DIM];
    cw_error err;

    CU_ASSERT_PTR_NOT_NULL_FATAL(text);
    CU_ASSERT_PTR_NOT_NULL_FATAL(prefix);
    for (size_t i = 0; i < len; i++)
        text[i] = "abcdefgh "[i % 9];
    text[len] = '\0';
    memcpy(prefix, text, 16384);
    prefix[16384] = '\0';
    const char *texts[] = { text };

    /* openai: cut to 16384 bytes by default, so the prefix's vector comes back. */
    cw_mock_embedder_reset(g_mock);
    cw_embedder *e = make(0, NULL, 0, 0, 0);
    cw_error_clear(&err);
    CU_ASSERT_EQUAL(cw_embedder_embed(e, texts, 1, CW_EMBED_DOCUMENT, out, &err), 0);
    cw_mock_embedder_vector(prefix, DIM, expect);
    CU_ASSERT_EQUAL(memcmp(out, expect, sizeof out), 0);
    cw_embedder_destroy(e);

    /* voyage: sent whole (the API truncates by itself). */
    e = make(1, "k", 0, 0, 0);
    CU_ASSERT_EQUAL(cw_embedder_embed(e, texts, 1, CW_EMBED_DOCUMENT, out, &err), 0);
    cw_mock_embedder_vector(text, DIM, expect);
    CU_ASSERT_EQUAL(memcmp(out, expect, sizeof out), 0);
    cw_embedder_destroy(e);
    free(text);
    free(prefix);
}

static void test_batch_split(void)
{
    const size_t n = 300;
    char **texts = numbered_texts(n, "Pod worker-%zu | namespace: ns%zu | apiVersion: v1");
    float *out = malloc(n * DIM * sizeof *out);
    cw_error err;

    CU_ASSERT_PTR_NOT_NULL_FATAL(texts);
    CU_ASSERT_PTR_NOT_NULL_FATAL(out);
    cw_mock_embedder_reset(g_mock);
    cw_embedder *e = make(1, "k", 128, 0, 0);
    cw_error_clear(&err);
    CU_ASSERT_EQUAL(cw_embedder_probe_dim(e, &err), 0);
    cw_mock_embedder_reset(g_mock);
    CU_ASSERT_EQUAL(cw_embedder_embed(e, (const char *const *)texts, n, CW_EMBED_DOCUMENT, out, &err), 0);
    CU_ASSERT_EQUAL(cw_mock_embedder_calls(g_mock), 3);
    CU_ASSERT_EQUAL(cw_mock_embedder_inputs(g_mock), 300);
    CU_ASSERT_EQUAL(cw_mock_embedder_max_inputs(g_mock), 128);
    CU_ASSERT_EQUAL(mismatches((const char *const *)texts, n, DIM, out), 0);
    cw_embedder_destroy(e);

    /* openai's default batch is 256: two calls. */
    cw_mock_embedder_reset(g_mock);
    e = make(0, NULL, 0, 0, 0);
    CU_ASSERT_EQUAL(cw_embedder_probe_dim(e, &err), 0);
    cw_mock_embedder_reset(g_mock);
    memset(out, 0, n * DIM * sizeof *out);
    CU_ASSERT_EQUAL(cw_embedder_embed(e, (const char *const *)texts, n, CW_EMBED_DOCUMENT, out, &err), 0);
    CU_ASSERT_EQUAL(cw_mock_embedder_calls(g_mock), 2);
    CU_ASSERT_EQUAL(cw_mock_embedder_max_inputs(g_mock), 256);
    CU_ASSERT_EQUAL(mismatches((const char *const *)texts, n, DIM, out), 0);
    cw_embedder_destroy(e);
    free(out);
    free_texts(texts, n);
}

/* Calls are also cut by bytes of text (providers cap tokens per request):
 * texts of 40 bytes with a 100-byte budget go two by two, a text over the
 * budget alone, order kept. */
static void test_batch_split_by_bytes(void)
{
    const char *texts[] = {
        "0123456789012345678901234567890123456789",
        "1123456789012345678901234567890123456789",
        "2123456789012345678901234567890123456789",
        "3123456789012345678901234567890123456789 and then some more text past 100 bytes "
        "of budget, so it travels alone",
        "4123456789012345678901234567890123456789",
    };
    float out[5 * DIM];
    cw_remote_embedder_config cfg;
    cw_error err;
    memset(&cfg, 0, sizeof cfg);
    cw_error_clear(&err);
    cfg.url = cw_mock_embedder_url(g_mock);
    cfg.max_call_bytes = 100;
    cw_embedder *e = cw_embedder_openai_create(&cfg, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(e);
    CU_ASSERT_EQUAL(cw_embedder_probe_dim(e, &err), 0);
    cw_mock_embedder_reset(g_mock);
    CU_ASSERT_EQUAL(cw_embedder_embed(e, texts, 5, CW_EMBED_DOCUMENT, out, &err), 0);
    CU_ASSERT_EQUAL(cw_mock_embedder_calls(g_mock), 4);      /* [0,1] [2] [3] [4] */
    CU_ASSERT_EQUAL(cw_mock_embedder_inputs(g_mock), 5);
    CU_ASSERT_EQUAL(cw_mock_embedder_max_inputs(g_mock), 2);
    CU_ASSERT_EQUAL(mismatches(texts, 5, DIM, out), 0);
    cw_embedder_destroy(e);
}

static void test_retry_429_honours_retry_after(void)
{
    float out[3 * DIM];
    cw_error err;

    cw_mock_embedder_reset(g_mock);
    cw_embedder *e = make(1, "k", 0, 0, 0);
    cw_mock_embedder_fail(g_mock, 429, 1, 1);
    cw_error_clear(&err);
    int64_t start = cw_now_ms();
    CU_ASSERT_EQUAL(cw_embedder_embed(e, THREE, 3, CW_EMBED_DOCUMENT, out, &err), 0);
    int64_t waited = cw_now_ms() - start;
    CU_ASSERT_EQUAL(err.code, CW_OK);
    CU_ASSERT_EQUAL(cw_mock_embedder_calls(g_mock), 2);
    CU_ASSERT_EQUAL(mismatches(THREE, 3, DIM, out), 0);
    CU_ASSERT_TRUE(waited >= 1000);          /* it waited the Retry-After second */
    cw_embedder_destroy(e);
}

/* Retry-After values: delta-seconds (capped at a day, no overflow), the
 * HTTP-date form (RFC 9110: relative to now, 0 once past), and garbage or
 * negative values ignored (-1: the backoff applies). */
static void test_retry_after_values(void)
{
    /* Sun, 06 Nov 1994 08:49:37 GMT */
    const time_t t0 = 784111777;
#define RA(text, now) cw_embed_http_retry_after(text, strlen(text), now)
    CU_ASSERT_EQUAL(RA(" 7\r\n", t0), 7);
    CU_ASSERT_EQUAL(RA("0", t0), 0);
    CU_ASSERT_EQUAL(RA("\t120 ", t0), 120);
    CU_ASSERT_EQUAL(RA(" 86400\r\n", t0), 86400);
    CU_ASSERT_EQUAL(RA(" 86401\r\n", t0), 86400);
    CU_ASSERT_EQUAL(RA(" 99999999999999999999999999\r\n", t0), 86400);
    CU_ASSERT_EQUAL(RA(" Sun, 06 Nov 1994 08:49:37 GMT\r\n", t0 - 30), 30);
    CU_ASSERT_EQUAL(RA(" Sun, 06 Nov 1994 08:49:37 GMT\r\n", t0), 0);
    CU_ASSERT_EQUAL(RA(" Sun, 06 Nov 1994 08:49:37 GMT\r\n", t0 + 3600), 0);
    CU_ASSERT_EQUAL(RA(" Sunday, 06-Nov-94 08:49:37 GMT\r\n", t0 - 5), 5);
    CU_ASSERT_EQUAL(RA(" Sun, 06 Nov 1994 08:49:37 GMT\r\n", t0 - 10 * 86400), 86400);
    CU_ASSERT_EQUAL(RA(" -5\r\n", t0), -1);
    CU_ASSERT_EQUAL(RA(" 1.5\r\n", t0), -1);
    CU_ASSERT_EQUAL(RA(" soon\r\n", t0), -1);
    CU_ASSERT_EQUAL(RA(" \r\n", t0), -1);
    CU_ASSERT_EQUAL(RA("", t0), -1);
#undef RA
}

/* A one-shot upstream on a raw socket: the first connection gets 429 with
 * `Retry-After: <HTTP-date 2 s ahead>`, the second a 200 with one vector.
 * (The mock embedder only sends delta-seconds.) */
typedef struct date_peer {
    int listen_fd;
    unsigned short port;
    int served;
    pthread_t thread;
} date_peer;

/* Read one request (headers, then Content-Length bytes) from fd. */
static void read_request(int fd)
{
    char buf[8192];
    size_t len = 0;
    char *body = NULL;
    while (len < sizeof buf - 1) {
        ssize_t got = read(fd, buf + len, sizeof buf - 1 - len);
        if (got <= 0)
            return;
        len += (size_t)got;
        buf[len] = '\0';
        body = strstr(buf, "\r\n\r\n");
        if (body != NULL) {
            const char *cl = strstr(buf, "Content-Length:");   /* as libcurl spells it */
            size_t want = cl != NULL ? strtoul(cl + 15, NULL, 10) : 0;
            if (len - (size_t)(body + 4 - buf) >= want)
                return;
        }
    }
}

static void *date_peer_main(void *arg)
{
    date_peer *p = arg;
    for (int i = 0; i < 2; i++) {
        int fd = accept(p->listen_fd, NULL, NULL);
        if (fd < 0)
            return NULL;
        read_request(fd);
        char reply[1024], date[64];
        if (i == 0) {
            time_t at = time(NULL) + 2;
            struct tm tm;
            gmtime_r(&at, &tm);
            strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S GMT", &tm);
            snprintf(reply, sizeof reply,
                     "HTTP/1.1 429 Too Many Requests\r\nRetry-After: %s\r\n"
                     "Content-Length: 0\r\nConnection: close\r\n\r\n", date);
        } else {
            static const char body[] = "{\"data\":[{\"embedding\":[0.6,0.8],\"index\":0}]}";
            snprintf(reply, sizeof reply,
                     "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                     "Content-Length: %zu\r\nConnection: close\r\n\r\n%s", sizeof body - 1, body);
        }
        if (write(fd, reply, strlen(reply)) < 0)
            perror("date peer write");
        close(fd);
        p->served++;
    }
    return NULL;
}

/* Regression: an HTTP-date Retry-After (RFC 9110 allows both forms) was
 * ignored, so the backoff retried after ~100 ms instead of waiting. */
static void test_retry_after_http_date_honoured(void)
{
    date_peer p = { .listen_fd = socket(AF_INET, SOCK_STREAM, 0) };
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t sl = sizeof sa;
    CU_ASSERT_FATAL(p.listen_fd >= 0);
    CU_ASSERT_EQUAL_FATAL(bind(p.listen_fd, (struct sockaddr *)&sa, sizeof sa), 0);
    CU_ASSERT_EQUAL_FATAL(listen(p.listen_fd, 4), 0);
    CU_ASSERT_EQUAL_FATAL(getsockname(p.listen_fd, (struct sockaddr *)&sa, &sl), 0);
    CU_ASSERT_EQUAL_FATAL(pthread_create(&p.thread, NULL, date_peer_main, &p), 0);

    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%u/v1", (unsigned)ntohs(sa.sin_port));
    cw_remote_embedder_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.url = url;
    cfg.deadline_ms = 10000;
    cw_error err;
    cw_error_clear(&err);
    cw_embedder *e = cw_embedder_openai_create(&cfg, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(e);
    const char *one[] = { "hello" };
    float out[2];
    int64_t start = cw_now_ms();
    CU_ASSERT_EQUAL(cw_embedder_embed(e, one, 1, CW_EMBED_DOCUMENT, out, &err), 0);
    int64_t took = cw_now_ms() - start;
    CU_ASSERT_EQUAL(err.code, CW_OK);
    CU_ASSERT_TRUE(took >= 900);     /* the date is 1..2 s ahead, in whole seconds */
    CU_ASSERT_DOUBLE_EQUAL(out[0], 0.6, 1e-6);
    shutdown(p.listen_fd, SHUT_RDWR);   /* unblocks accept() if a call never came */
    pthread_join(p.thread, NULL);
    CU_ASSERT_EQUAL(p.served, 2);
    close(p.listen_fd);
    cw_embedder_destroy(e);
}

static void test_retry_after_past_deadline(void)
{
    float out[3 * DIM];
    cw_error err;
    char expect[256];

    cw_mock_embedder_reset(g_mock);
    cw_embedder *e = make(1, "k", 0, 0, 2000);
    cw_mock_embedder_fail(g_mock, 429, -1, 30);
    cw_error_clear(&err);
    CU_ASSERT_EQUAL(cw_embedder_embed(e, THREE, 3, CW_EMBED_DOCUMENT, out, &err), -1);
    CU_ASSERT_EQUAL(err.code, CW_E_UNAVAILABLE);
    CU_ASSERT_EQUAL(err.retry_after_s, 30);
    snprintf(expect, sizeof expect,
             "voyage: the embedding API answered HTTP 429 (Retry-After 30 s is past the deadline)");
    CU_ASSERT_STRING_EQUAL(err.msg, expect);
    CU_ASSERT_EQUAL(cw_mock_embedder_calls(g_mock), 1);     /* no pointless retry */
    cw_embedder_destroy(e);
}

static void test_retry_5xx_then_success(void)
{
    float out[3 * DIM];
    cw_error err;

    cw_mock_embedder_reset(g_mock);
    cw_embedder *e = make(0, "k", 0, 0, 0);
    cw_mock_embedder_fail(g_mock, 503, 2, 0);
    cw_error_clear(&err);
    CU_ASSERT_EQUAL(cw_embedder_embed(e, THREE, 3, CW_EMBED_DOCUMENT, out, &err), 0);
    CU_ASSERT_EQUAL(cw_mock_embedder_calls(g_mock), 3);
    CU_ASSERT_EQUAL(mismatches(THREE, 3, DIM, out), 0);
    cw_embedder_destroy(e);
}

static void test_5xx_until_deadline(void)
{
    float out[3 * DIM];
    cw_error err;

    cw_mock_embedder_reset(g_mock);
    cw_embedder *e = make(1, "k", 0, 0, 600);
    cw_mock_embedder_fail(g_mock, 500, -1, 0);
    cw_error_clear(&err);
    CU_ASSERT_EQUAL(cw_embedder_embed(e, THREE, 3, CW_EMBED_DOCUMENT, out, &err), -1);
    CU_ASSERT_EQUAL(err.code, CW_E_UNAVAILABLE);
    CU_ASSERT_EQUAL(err.retry_after_s, CW_EMBED_HTTP_RETRY_AFTER_S);
    CU_ASSERT_STRING_EQUAL(err.msg, "voyage: the embedding API answered HTTP 500 (gave up within the 600 ms deadline)");
    CU_ASSERT_TRUE(cw_mock_embedder_calls(g_mock) >= 2);    /* it did retry */
    CU_ASSERT_EQUAL(e->dim, 0);
    cw_embedder_destroy(e);
}

static void test_auth_refused_is_config(void)
{
    float out[3 * DIM];
    cw_error err;

    cw_mock_embedder_reset(g_mock);
    cw_embedder *e = make(1, "bad-key", 0, 0, 0);
    cw_mock_embedder_fail(g_mock, 401, -1, 0);
    cw_error_clear(&err);
    CU_ASSERT_EQUAL(cw_embedder_embed(e, THREE, 3, CW_EMBED_DOCUMENT, out, &err), -1);
    CU_ASSERT_EQUAL(err.code, CW_E_CONFIG);
    CU_ASSERT_STRING_EQUAL(err.msg, "voyage: the API key was refused (401) — check VOYAGE_API_KEY");
    CU_ASSERT_EQUAL(cw_status_http(err.code), 503);          /* never a 4xx to the controller */
    CU_ASSERT_EQUAL(cw_mock_embedder_calls(g_mock), 1);     /* not retried */
    cw_error_clear(&err);
    CU_ASSERT_EQUAL(cw_embedder_embed(e, THREE, 3, CW_EMBED_DOCUMENT, out, &err), -1);
    CU_ASSERT_STRING_EQUAL(err.msg, "voyage: the API key was refused (401) — check VOYAGE_API_KEY");
    cw_embedder_destroy(e);

    cw_mock_embedder_fail(g_mock, 403, -1, 0);
    e = make(0, "sk-bad", 0, 0, 0);
    cw_error_clear(&err);
    CU_ASSERT_EQUAL(cw_embedder_embed(e, THREE, 3, CW_EMBED_DOCUMENT, out, &err), -1);
    CU_ASSERT_EQUAL(err.code, CW_E_CONFIG);
    CU_ASSERT_STRING_EQUAL(err.msg, "openai: the API key was refused (403) — check OPENAI_API_KEY");
    cw_embedder_destroy(e);

    e = make(0, NULL, 0, 0, 0);
    cw_mock_embedder_fail(g_mock, 401, -1, 0);
    cw_error_clear(&err);
    CU_ASSERT_EQUAL(cw_embedder_embed(e, THREE, 3, CW_EMBED_DOCUMENT, out, &err), -1);
    CU_ASSERT_STRING_EQUAL(err.msg, "openai: the embedding API requires an API key (401) — set OPENAI_API_KEY");
    cw_embedder_destroy(e);
}

static void test_other_4xx_is_config_with_upstream_message(void)
{
    float out[3 * DIM];
    cw_error err;

    cw_mock_embedder_reset(g_mock);
    cw_embedder *e = make(0, NULL, 0, 0, 0);
    cw_mock_embedder_fail(g_mock, 404, -1, 0);
    cw_error_clear(&err);
    CU_ASSERT_EQUAL(cw_embedder_embed(e, THREE, 3, CW_EMBED_DOCUMENT, out, &err), -1);
    CU_ASSERT_EQUAL(err.code, CW_E_CONFIG);
    CU_ASSERT_STRING_EQUAL(err.msg, "openai: the embedding API refused the request (HTTP 404): mock: injected HTTP 404");
    CU_ASSERT_EQUAL(cw_mock_embedder_calls(g_mock), 1);
    cw_embedder_destroy(e);
}

static void expect_malformed(cw_mock_answer mode, const char *msg)
{
    float out[3 * DIM];
    cw_error err;

    cw_mock_embedder_reset(g_mock);
    cw_embedder *e = make(1, "k", 0, 0, 0);
    cw_mock_embedder_set_answer(g_mock, mode);
    cw_error_clear(&err);
    CU_ASSERT_EQUAL(cw_embedder_embed(e, THREE, 3, CW_EMBED_DOCUMENT, out, &err), -1);
    CU_ASSERT_EQUAL(err.code, CW_E_INTERNAL);
    CU_ASSERT_STRING_EQUAL(err.msg, msg);
    CU_ASSERT_EQUAL(cw_mock_embedder_calls(g_mock), 1);
    CU_ASSERT_EQUAL(e->dim, 0);                              /* nothing learned from a bad answer */
    cw_embedder_destroy(e);
}

static void test_malformed_answers_are_internal(void)
{
    expect_malformed(CW_MOCK_ANSWER_SHORT, "voyage: malformed answer: expected 3 embeddings, got 2");
    expect_malformed(CW_MOCK_ANSWER_RAGGED, "voyage: malformed answer: embedding 2 has 7 values, expected 8");
    expect_malformed(CW_MOCK_ANSWER_GARBAGE, "voyage: malformed answer: not a JSON object");
}

static void test_dim_learned_then_enforced(void)
{
    float out[3 * 16];
    cw_error err;

    cw_mock_embedder_reset(g_mock);
    cw_embedder *e = make(0, NULL, 0, 0, 0);
    cw_error_clear(&err);
    CU_ASSERT_EQUAL(cw_embedder_embed(e, THREE, 1, CW_EMBED_DOCUMENT, out, &err), 0);
    CU_ASSERT_EQUAL(e->dim, DIM);
    cw_mock_embedder_set_dim(g_mock, 16);                   /* the operator switched models */
    CU_ASSERT_EQUAL(cw_embedder_embed(e, THREE, 3, CW_EMBED_DOCUMENT, out, &err), -1);
    CU_ASSERT_EQUAL(err.code, CW_E_INTERNAL);
    CU_ASSERT_STRING_EQUAL(err.msg, "openai: the embedding API answered vectors of 16 values, expected 8 (did the model change?)");
    CU_ASSERT_EQUAL(e->dim, DIM);
    cw_embedder_destroy(e);
    cw_mock_embedder_reset(g_mock);
}

static void test_unreachable_is_unavailable(void)
{
    float out[3 * DIM];
    cw_error err;
    char url[64], expect[256];
    cw_remote_embedder_config cfg;

    /* A port that was just free: start a second mock and stop it. */
    cw_mock_embedder *gone = cw_mock_embedder_start(0, DIM);
    CU_ASSERT_PTR_NOT_NULL_FATAL(gone);
    unsigned port = cw_mock_embedder_port(gone);
    cw_mock_embedder_stop(gone);
    snprintf(url, sizeof url, "http://127.0.0.1:%u/v1", port);
    memset(&cfg, 0, sizeof cfg);
    cfg.url = url;
    cfg.deadline_ms = 300;
    cw_error_clear(&err);
    cw_embedder *e = cw_embedder_openai_create(&cfg, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(e);
    CU_ASSERT_EQUAL(cw_embedder_embed(e, THREE, 3, CW_EMBED_DOCUMENT, out, &err), -1);
    CU_ASSERT_EQUAL(err.code, CW_E_UNAVAILABLE);
    CU_ASSERT_EQUAL(err.retry_after_s, CW_EMBED_HTTP_RETRY_AFTER_S);
    snprintf(expect, sizeof expect, "openai: cannot reach http://127.0.0.1:%u/v1/embeddings: "
             "Couldn't connect to server (gave up within the 300 ms deadline)", port);
    CU_ASSERT_STRING_EQUAL(err.msg, expect);
    cw_error_clear(&err);
    CU_ASSERT_EQUAL(cw_embedder_probe_dim(e, &err), -1);
    CU_ASSERT_EQUAL(err.code, CW_E_UNAVAILABLE);
    cw_embedder_destroy(e);

    /* A URL libcurl cannot use is a configuration error, not retried. */
    cfg.url = "ftp://127.0.0.1:1/v1";
    cw_error_clear(&err);
    e = cw_embedder_openai_create(&cfg, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(e);
    CU_ASSERT_EQUAL(cw_embedder_embed(e, THREE, 3, CW_EMBED_DOCUMENT, out, &err), -1);
    CU_ASSERT_EQUAL(err.code, CW_E_CONFIG);
    CU_ASSERT_STRING_EQUAL(err.msg, "openai: cannot call ftp://127.0.0.1:1/v1/embeddings: Unsupported protocol");
    cw_embedder_destroy(e);
}

static void test_slow_upstream_times_out(void)
{
    float out[3 * DIM];
    cw_error err;
    char expect[256];
    cw_remote_embedder_config cfg;

    /* A mock of its own: requests given up on may still be served late, and
     * stopping it waits for them, so they cannot count in later tests. */
    cw_mock_embedder *slow = cw_mock_embedder_start(0, DIM);
    CU_ASSERT_PTR_NOT_NULL_FATAL(slow);
    cw_mock_embedder_set_latency(slow, 600000);    /* held until stopped: no call ever answered */
    memset(&cfg, 0, sizeof cfg);
    cfg.url = cw_mock_embedder_url(slow);
    cfg.api_key = "k";
    cfg.timeout_ms = 300;
    cfg.deadline_ms = 900;
    cw_error_clear(&err);
    cw_embedder *e = cw_embedder_voyage_create(&cfg, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(e);
    int64_t start = cw_now_ms();
    CU_ASSERT_EQUAL(cw_embedder_embed(e, THREE, 3, CW_EMBED_DOCUMENT, out, &err), -1);
    int64_t took = cw_now_ms() - start;
    CU_ASSERT_TRUE(took >= 550);     /* it retried after the first 300 ms timeout ... */
    /* ... and gave up on its own deadline: the mock holds every call until
     * it is stopped below, so no answer can have ended the call (texts are
     * counted when answered). No upper bound on `took`: load only adds. */
    CU_ASSERT_EQUAL(cw_mock_embedder_inputs(slow), 0);
    CU_ASSERT_TRUE(cw_mock_embedder_calls(slow) >= 1);
    CU_ASSERT_EQUAL(err.code, CW_E_UNAVAILABLE);
    CU_ASSERT_EQUAL(err.retry_after_s, CW_EMBED_HTTP_RETRY_AFTER_S);
    snprintf(expect, sizeof expect, "voyage: no answer from %s/embeddings in time (gave up within the 900 ms deadline)",
             cw_mock_embedder_url(slow));
    CU_ASSERT_STRING_EQUAL(err.msg, expect);
    cw_embedder_destroy(e);
    cw_mock_embedder_stop(slow);
}

typedef struct cancel_call {
    cw_embedder *e;
    int rc;
    cw_error err;
    int64_t ended_at;
} cancel_call;

static void *cancel_call_main(void *arg)
{
    cancel_call *c = arg;
    float out[3 * DIM];
    cw_error_clear(&c->err);
    c->rc = cw_embedder_embed(c->e, THREE, 3, CW_EMBED_DOCUMENT, out, &c->err);
    c->ended_at = cw_now_ms();
    return NULL;
}

/* cw_embedder_cancel (shutdown past its drain deadline): a call hanging on
 * a silent upstream and a call sleeping in its backoff both end with
 * CW_E_UNAVAILABLE soon after, not at their 60 s deadline; later calls fail
 * at once without a request. "Not the 30/60 s waits" by ordering: when
 * they ended, the hung mock had answered nothing and the failing one had
 * seen no retry. */
static void test_cancel_abandons_calls(void)
{
    cw_mock_embedder *hung = cw_mock_embedder_start(0, DIM);
    cw_mock_embedder *failing = cw_mock_embedder_start(0, DIM);
    CU_ASSERT_PTR_NOT_NULL_FATAL(hung);
    CU_ASSERT_PTR_NOT_NULL_FATAL(failing);
    cw_mock_embedder_set_latency(hung, 60000);
    cw_mock_embedder_fail(failing, 503, -1, 30);       /* Retry-After 30 s: it sleeps */
    cw_remote_embedder_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.timeout_ms = 60000;
    cfg.deadline_ms = 60000;
    cw_error err;
    cw_error_clear(&err);
    cfg.url = cw_mock_embedder_url(hung);
    cw_embedder *e1 = cw_embedder_openai_create(&cfg, &err);
    cfg.url = cw_mock_embedder_url(failing);
    cw_embedder *e2 = cw_embedder_openai_create(&cfg, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(e1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(e2);
    cancel_call c[2] = { { .e = e1 }, { .e = e2 } };
    pthread_t th[2];
    for (int i = 0; i < 2; i++)
        CU_ASSERT_FATAL(pthread_create(&th[i], NULL, cancel_call_main, &c[i]) == 0);
    for (int i = 0; i < 4000 && (cw_mock_embedder_calls(hung) == 0 || cw_mock_embedder_calls(failing) == 0); i++)
        cw_sleep_ms(5);
    CU_ASSERT_EQUAL(cw_mock_embedder_calls(hung), 1);
    CU_ASSERT_EQUAL(cw_mock_embedder_calls(failing), 1);
    cw_embedder_cancel(e1);
    cw_embedder_cancel(e2);
    char expect[256];
    for (int i = 0; i < 2; i++) {
        pthread_join(th[i], NULL);
        CU_ASSERT_EQUAL(c[i].rc, -1);
        CU_ASSERT_EQUAL(c[i].err.code, CW_E_UNAVAILABLE);
        CU_ASSERT_EQUAL(c[i].err.retry_after_s, 2);
    }
    CU_ASSERT_EQUAL(cw_mock_embedder_inputs(hung), 0);     /* held 60 s: never answered */
    CU_ASSERT_EQUAL(cw_mock_embedder_calls(failing), 1);   /* the retry after 30 s never came */
    snprintf(expect, sizeof expect, "openai: shutting down (the call to %s/embeddings was abandoned)",
             cw_mock_embedder_url(hung));
    CU_ASSERT_STRING_EQUAL(c[0].err.msg, expect);
    /* The failing call is asleep in its backoff, or (on a loaded machine)
     * still reading the 503 the mock already counted: both end the same. */
    snprintf(expect, sizeof expect, "openai: shutting down (the call to %s/embeddings was abandoned)",
             cw_mock_embedder_url(failing));
    if (strcmp(c[1].err.msg, expect) != 0)
        CU_ASSERT_STRING_EQUAL(c[1].err.msg, "openai: shutting down");
    /* From now on: no request at all. */
    float out[3 * DIM];
    cw_error_clear(&err);
    CU_ASSERT_EQUAL(cw_embedder_embed(e1, THREE, 3, CW_EMBED_DOCUMENT, out, &err), -1);
    CU_ASSERT_STRING_EQUAL(err.msg, "openai: shutting down");
    CU_ASSERT_EQUAL(cw_mock_embedder_calls(hung), 1);
    cw_embedder_destroy(e1);
    cw_embedder_destroy(e2);
    cw_mock_embedder_stop(hung);
    cw_mock_embedder_stop(failing);
}

static void test_timeout_retried_then_success(void)
{
    float out[3 * DIM];
    cw_error err;

    cw_mock_embedder_reset(g_mock);
    cw_mock_embedder_slow_calls(g_mock, 3000, 1);
    cw_embedder *e = make(0, NULL, 0, 300, 10000);
    cw_error_clear(&err);
    CU_ASSERT_EQUAL(cw_embedder_embed(e, THREE, 3, CW_EMBED_DOCUMENT, out, &err), 0);
    CU_ASSERT_EQUAL(err.code, CW_OK);
    CU_ASSERT_EQUAL(mismatches(THREE, 3, DIM, out), 0);
    CU_ASSERT_TRUE(cw_mock_embedder_calls(g_mock) >= 2);   /* the slow call, then the answered retry */
    cw_embedder_destroy(e);
}

/* ---- concurrency: 8 threads share one embedder (the handle pool) -------- */

#define THREADS 8
#define ROUNDS 12
#define PER_CALL 40

typedef struct worker {
    cw_embedder *e;
    int id;
    size_t bad;       /* wrong vectors or failed calls */
} worker;

static void *run_worker(void *arg)
{
    worker *w = arg;
    char fmt[64];
    float *out = malloc(PER_CALL * DIM * sizeof *out);

    snprintf(fmt, sizeof fmt, "thread %d text %%zu word%%zu", w->id);
    for (int round = 0; round < ROUNDS && out != NULL; round++) {
        char **texts = numbered_texts(PER_CALL, fmt);
        cw_error err;
        cw_error_clear(&err);
        if (cw_embedder_embed(w->e, (const char *const *)texts, PER_CALL,
                              round % 2 ? CW_EMBED_QUERY : CW_EMBED_DOCUMENT, out, &err) != 0)
            w->bad += PER_CALL;
        else
            w->bad += mismatches((const char *const *)texts, PER_CALL, DIM, out);
        free_texts(texts, PER_CALL);
    }
    free(out);
    return NULL;
}

static void test_concurrent_embeds(void)
{
    pthread_t tid[THREADS];
    worker w[THREADS];
    cw_error err;

    cw_mock_embedder_reset(g_mock);
    cw_embedder *e = make(1, "k", 16, 0, 0);
    cw_error_clear(&err);
    CU_ASSERT_EQUAL_FATAL(cw_embedder_probe_dim(e, &err), 0);
    cw_mock_embedder_reset(g_mock);
    for (int i = 0; i < THREADS; i++) {
        w[i].e = e;
        w[i].id = i;
        w[i].bad = 0;
        CU_ASSERT_EQUAL_FATAL(pthread_create(&tid[i], NULL, run_worker, &w[i]), 0);
    }
    for (int i = 0; i < THREADS; i++) {
        pthread_join(tid[i], NULL);
        CU_ASSERT_EQUAL(w[i].bad, 0);
    }
    /* 40 texts in batches of 16 = 3 calls per embed. */
    CU_ASSERT_EQUAL(cw_mock_embedder_calls(g_mock), THREADS * ROUNDS * 3);
    CU_ASSERT_EQUAL(cw_mock_embedder_inputs(g_mock), THREADS * ROUNDS * PER_CALL);
    CU_ASSERT_EQUAL(cw_mock_embedder_max_inputs(g_mock), 16);
    CU_ASSERT_TRUE(cw_mock_embedder_connections(g_mock) <= THREADS);   /* pooled handles, kept alive */
    cw_embedder_destroy(e);
}

/* A backend that fails without saying why: cw_embedder_embed() gives the
 * failure a reason, so no caller sees a failure with CW_OK. */
static int silent_embed(cw_embedder *self, const char *const *texts, size_t n,
                        cw_embed_purpose purpose, float *out, cw_error *err)
{
    (void)self, (void)texts, (void)n, (void)purpose, (void)out, (void)err;
    return -1;
}

static void silent_destroy(cw_embedder *self)
{
    (void)self;
}

static void test_silent_backend_gets_a_reason(void)
{
    static const cw_embedder_vtable vt = { .embed = silent_embed, .destroy = silent_destroy };
    cw_embedder e = { .vt = &vt, .name = "silent", .dim = 2 };
    const char *texts[] = { "a" };
    float out[2];
    cw_error err;
    cw_error_clear(&err);
    CU_ASSERT_EQUAL(cw_embedder_embed(&e, texts, 1, CW_EMBED_DOCUMENT, out, &err), -1);
    CU_ASSERT_EQUAL(err.code, CW_E_INTERNAL);
    CU_ASSERT_STRING_EQUAL(err.msg, "silent: embedder failed without a reason");
}

int main(void)
{
    CU_TestInfo tests[] = {
        { "mock vectors: unit length, case-folded, shared words closer", test_mock_vector_properties },
        { "mock HTTP: 400 for malformed bodies, 404, single-string input", test_mock_http_surface },
        { "cw-mock-embedder program: port line, failures, counters, exit codes", test_mock_program },
        { "wire: request body", test_wire_request },
        { "wire: answers placed by index, every malformed form refused", test_wire_answer },
        { "wire: upstream error messages", test_wire_upstream_message },
        { "create: defaults and the voyage key requirement", test_create_defaults_and_errors },
        { "voyage: exact vectors, input_type, bearer, probe_dim", test_voyage_exact_vectors },
        { "openai: no input_type, optional key, placed by index", test_openai_shape_and_index_order },
        { "base64-packed vectors asked for; floats read; refused once, floats after", test_base64_and_fallback },
        { "sequential calls reuse one connection", test_connection_reuse },
        { "long texts: cut for openai, whole for voyage", test_long_texts_cut },
        { "batches split to max_batch, order preserved", test_batch_split },
        { "batches split by bytes of text, order preserved", test_batch_split_by_bytes },
        { "429 then success honours Retry-After", test_retry_429_honours_retry_after },
        { "Retry-After past the deadline fails at once", test_retry_after_past_deadline },
        { "Retry-After: seconds, HTTP-date, garbage", test_retry_after_values },
        { "Retry-After as an HTTP-date is honoured", test_retry_after_http_date_honoured },
        { "5xx retried then success", test_retry_5xx_then_success },
        { "5xx until the deadline: unavailable", test_5xx_until_deadline },
        { "401/403: config error, exact message, no retry", test_auth_refused_is_config },
        { "other 4xx: config error with the upstream message", test_other_4xx_is_config_with_upstream_message },
        { "malformed answers: internal", test_malformed_answers_are_internal },
        { "dimension learned then enforced", test_dim_learned_then_enforced },
        { "unreachable: unavailable; unusable URL: config", test_unreachable_is_unavailable },
        { "slow upstream: timeouts retried then unavailable", test_slow_upstream_times_out },
        { "a timed-out call is retried", test_timeout_retried_then_success },
        { "cancel abandons a hung call and a backoff sleep", test_cancel_abandons_calls },
        { "8 threads embed concurrently, all exact", test_concurrent_embeds },
        { "a backend failing silently gets a reason", test_silent_backend_gets_a_reason },
        CU_TEST_INFO_NULL,
    };
    signal(SIGPIPE, SIG_IGN);
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return 1;
    g_mock = cw_mock_embedder_start(0, DIM);
    if (g_mock == NULL) {
        fprintf(stderr, "test_embed: cannot start the mock embedder\n");
        return 1;
    }
    int rc = cw_test_run("embed", tests);
    cw_mock_embedder_stop(g_mock);
    curl_global_cleanup();
    return rc;
}
