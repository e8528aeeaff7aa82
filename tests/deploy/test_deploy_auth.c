/* deploy_auth — the real binary behind the two kinds of auth an operator
 * turns on in a shared cluster (issue 17), over real sockets:
 *   - Chroma behind an auth gate (the fault proxy requiring a token, as an
 *     nginx or a managed Chroma would) and behind TLS (the proxy serving
 *     HTTPS with a certificate made here): the token reaches Chroma in the
 *     header asked for, never our logs, /metrics or --help; a wrong token
 *     is 503 + /readyz 503 naming the cause and loses nothing journaled.
 *   - our own endpoint behind --auth-token-file: 401 + WWW-Authenticate
 *     without the right bearer token, probes and /metrics open, the token
 *     rotated through the file and SIGHUP.
 * The mock embedder answers the embedding calls; Chroma is the ctest one.
 */
#include <curl/curl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cw_test.h"
#include "cw_test_chroma.h"
#include "cw_time.h"
#include "fault_proxy.h"
#include "http_client.h"
#include "mock_embedder.h"
#include "proc.h"
#include "rel_harness.h"

static char *g_chroma_url;
static cw_mock_embedder *g_mock;
static char g_dir[] = "/tmp/cw_deploy_auth_XXXXXX";
static int g_serial;

static const char *TOKEN = "chroma-s3cret-Tok3n";

static char *tmp_path(const char *name)
{
    return rel_printf("%s/%s", g_dir, name);
}

static void write_text(const char *path, const char *text)
{
    char *tmp = rel_printf("%s.new", path);
    FILE *f = fopen(tmp, "w");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    fputs(text, f);
    fclose(f);
    CU_ASSERT_EQUAL(rename(tmp, path), 0);
    free(tmp);
}

static char *collection_name(void)
{
    return rel_printf("t_auth_%d_%d", (int)getpid(), ++g_serial);
}

static char *sync_one(const char *name)
{
    char *inst = rel_instance("auth", name, 1);
    char *json = rel_printf("{\"upserts\":[%s]}", inst);
    free(inst);
    return json;
}

/* POST a sync with `auth` (a whole header line or NULL): the status. */
static long post_with(const char *base, const char *auth, const char *json, http_reply *keep)
{
    char *u = rel_printf("%s/api/v1/instances/sync", base);
    http_reply r;
    http_request_with("POST", u, "application/json", auth, json, strlen(json), 0, &r);
    long st = r.status;
    free(u);
    if (keep != NULL)
        *keep = r;
    else
        http_reply_free(&r);
    return st;
}

static int stored(const char *collection, const char *id)
{
    cw_chroma *c = cw_test_chroma_open(g_chroma_url, collection);
    if (c == NULL)
        return -1;
    int got = cw_test_chroma_stored(c, id, NULL);
    cw_chroma_destroy(c);
    return got;
}

/* Delete a test's collection (each test uses its own). */
static void drop(char *collection)
{
    cw_chroma *c = cw_test_chroma_open(g_chroma_url, collection);
    cw_error err;
    cw_error_clear(&err);
    if (c != NULL && cw_chroma_delete_collection(c, &err) != 0)
        fprintf(stderr, "deploy_auth: could not delete %s: %s\n", collection, err.msg);
    cw_chroma_destroy(c);
    free(collection);
}

static int contains(const char *hay, const char *needle)
{
    return hay != NULL && strstr(hay, needle) != NULL;
}

/* /readyz on the admin port until its body holds `want` or 10 s pass: the status. */
static long readyz_until(rel_server *s, const char *want, char **body)
{
    long st = 0;
    int64_t t0 = cw_now_ms();
    for (;;) {
        free(*body);
        *body = NULL;
        st = rel_get(s->admin, "/readyz", body);
        if (contains(*body, want) || cw_now_ms() - t0 > 10000)
            return st;
        cw_sleep_ms(100);
    }
}

/* ---- Chroma behind a token ------------------------------------------------ */

static void run_token_case(const char *gate_header, const char *gate_value,
                           const char *const *flags, const char *label)
{
    cw_fault_proxy *gate = cw_fault_proxy_start(g_chroma_url);
    CU_ASSERT_PTR_NOT_NULL_FATAL(gate);
    cw_fault_proxy_require(gate, gate_header, gate_value);
    char *coll = collection_name();
    rel_server s;
    CU_ASSERT_FATAL(rel_serve_start(&s, cw_fault_proxy_url(gate), coll,
                                    cw_mock_embedder_url(g_mock), flags) == 0);
    char *json = sync_one(label);
    CU_ASSERT_EQUAL(post_with(s.base, NULL, json, NULL), 200);
    char *body = NULL;
    CU_ASSERT_EQUAL(rel_get(s.admin, "/readyz", &body), 200);
    free(body);
    body = NULL;
    CU_ASSERT_EQUAL(rel_get(s.admin, "/metrics", &body), 200);
    CU_ASSERT(!contains(body, TOKEN));
    free(body);
    CU_ASSERT_EQUAL(rel_serve_stop(&s, SIGTERM, 30000, NULL), 0);
    char *log = cw_test_read_file(s.log);
    CU_ASSERT_PTR_NOT_NULL(log);
    CU_ASSERT(!contains(log, TOKEN));
    free(log);
    CU_ASSERT_EQUAL(cw_fault_proxy_refused(gate), 0);
    CU_ASSERT(cw_fault_proxy_calls(gate, "/upsert") >= 1);
    char *id = rel_printf("auth/apps/v1/Deployment/%s", label);
    CU_ASSERT_EQUAL(stored(coll, id), 1);
    free(id);
    free(json);
    drop(coll);
    cw_fault_proxy_stop(gate);
}

static void test_chroma_token(void)
{
    char *file = tmp_path("chroma-token");
    char *text = rel_printf("%s\n", TOKEN);
    write_text(file, text);
    free(text);
    const char *from_file[] = { "--chroma-token-file", file, NULL };
    run_token_case("x-chroma-token", TOKEN, from_file, "by-file");

    char *bearer = rel_printf("Bearer %s", TOKEN);
    const char *as_bearer[] = { "--chroma-token", TOKEN, "--chroma-auth-header", "authorization", NULL };
    run_token_case("Authorization", bearer, as_bearer, "by-bearer");
    free(bearer);
    free(file);

    /* --help names the flags, never a value (CHROMA_TOKEN set or not). */
    const char *bin = getenv("CW_BIN");
    setenv("CHROMA_TOKEN", TOKEN, 1);
    char *argv[] = { (char *)bin, "serve", "--help", NULL };
    char *out = NULL, *err = NULL;
    CU_ASSERT_EQUAL(proc_run(argv, &out, &err), 0);
    CU_ASSERT(contains(out, "--chroma-token TOKEN"));
    CU_ASSERT(!contains(out, TOKEN));
    CU_ASSERT(!contains(err, TOKEN));
    unsetenv("CHROMA_TOKEN");
    free(out);
    free(err);
}

/* A wrong token: without a journal each sync is 503; /readyz 503 names the
 * credentials; one startup line says so. With a journal the sync is
 * accepted and kept, /readyz is 503 all the same (a rollout stops there),
 * and a restart with the right token applies it. */
static void test_chroma_wrong_token(void)
{
    cw_fault_proxy *gate = cw_fault_proxy_start(g_chroma_url);
    CU_ASSERT_PTR_NOT_NULL_FATAL(gate);
    cw_fault_proxy_require(gate, "x-chroma-token", TOKEN);
    char *coll = collection_name();
    const char *wrong[] = { "--chroma-token", "not-the-token", NULL };
    rel_server s;
    CU_ASSERT_FATAL(rel_serve_start(&s, cw_fault_proxy_url(gate), coll,
                                    cw_mock_embedder_url(g_mock), wrong) == 0);
    char *json = sync_one("wrong");
    http_reply r;
    CU_ASSERT_EQUAL(post_with(s.base, NULL, json, &r), 503);
    CU_ASSERT(contains(r.body, "Chroma refuses our credentials"));
    http_reply_free(&r);
    char *body = NULL;
    CU_ASSERT_EQUAL(rel_get(s.admin, "/readyz", &body), 503);
    CU_ASSERT_STRING_EQUAL(body, "{\"status\":\"unavailable\",\"error\":\"chroma refuses our "
                           "credentials (HTTP 401): check --chroma-token / CHROMA_TOKEN / "
                           "--chroma-token-file and --chroma-auth-header\"}");
    free(body);
    CU_ASSERT_EQUAL(rel_serve_stop(&s, SIGTERM, 30000, NULL), 0);
    char *log = cw_test_read_file(s.log);
    CU_ASSERT(contains(log, "is not usable yet (chroma"));
    CU_ASSERT(contains(log, "HTTP 401: Chroma refuses our credentials"));
    CU_ASSERT(!contains(log, "not-the-token"));
    free(log);

    /* With a journal: nothing lost. */
    char *jdir = tmp_path("journal");
    const char *wrong_j[] = { "--chroma-token", "not-the-token", "--journal", jdir,
                              "--ack-wait-ms", "500", NULL };
    CU_ASSERT_FATAL(rel_serve_start(&s, cw_fault_proxy_url(gate), coll,
                                    cw_mock_embedder_url(g_mock), wrong_j) == 0);
    long st = post_with(s.base, NULL, json, NULL);
    CU_ASSERT_EQUAL(st, 202);
    body = NULL;
    CU_ASSERT_EQUAL(readyz_until(&s, "refuses our credentials", &body), 503);
    CU_ASSERT(contains(body, "chroma refuses our credentials (HTTP 401)"));
    free(body);
    CU_ASSERT_EQUAL(rel_serve_stop(&s, SIGTERM, 30000, NULL), 0);
    const char *right_j[] = { "--chroma-token", TOKEN, "--journal", jdir, NULL };
    CU_ASSERT_FATAL(rel_serve_start(&s, cw_fault_proxy_url(gate), coll,
                                    cw_mock_embedder_url(g_mock), right_j) == 0);
    int64_t t0 = cw_now_ms();
    int got = 0;
    while ((got = stored(coll, "auth/apps/v1/Deployment/wrong")) != 1 && cw_now_ms() - t0 < 15000)
        cw_sleep_ms(200);
    CU_ASSERT_EQUAL(got, 1);
    body = NULL;
    CU_ASSERT_EQUAL(rel_get(s.admin, "/readyz", &body), 200);
    free(body);
    CU_ASSERT_EQUAL(rel_serve_stop(&s, SIGTERM, 30000, NULL), 0);
    free(jdir);
    free(json);
    drop(coll);
    cw_fault_proxy_stop(gate);
}

/* ---- Chroma over TLS ------------------------------------------------------- */

static void test_chroma_tls(void)
{
    char *cert = tmp_path("chroma.crt"), *key = tmp_path("chroma.key");
    char *cmd = rel_printf("openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=127.0.0.1 "
                           "-addext subjectAltName=IP:127.0.0.1 -keyout %s -out %s 2>/dev/null",
                           key, cert);
    CU_ASSERT_EQUAL_FATAL(system(cmd), 0);
    free(cmd);
    char *cert_pem = cw_test_read_file(cert), *key_pem = cw_test_read_file(key);
    CU_ASSERT_PTR_NOT_NULL_FATAL(cert_pem);
    CU_ASSERT_PTR_NOT_NULL_FATAL(key_pem);
    cw_fault_proxy *tls = cw_fault_proxy_start_tls(g_chroma_url, cert_pem, key_pem);
    CU_ASSERT_PTR_NOT_NULL_FATAL(tls);
    CU_ASSERT(strncmp(cw_fault_proxy_url(tls), "https://", 8) == 0);
    cw_fault_proxy_require(tls, "x-chroma-token", TOKEN);

    /* The system's CAs do not know our certificate: unusable, said so. */
    char *coll = collection_name();
    const char *no_ca[] = { "--chroma-token", TOKEN, NULL };
    rel_server s;
    CU_ASSERT_FATAL(rel_serve_start(&s, cw_fault_proxy_url(tls), coll,
                                    cw_mock_embedder_url(g_mock), no_ca) == 0);
    char *body = NULL;
    CU_ASSERT_EQUAL(rel_get(s.admin, "/readyz", &body), 503);
    CU_ASSERT(contains(body, "certificate"));
    free(body);
    CU_ASSERT_EQUAL(rel_serve_stop(&s, SIGTERM, 30000, NULL), 0);

    /* With --chroma-ca-file: a sync over TLS is stored. */
    const char *with_ca[] = { "--chroma-token", TOKEN, "--chroma-ca-file", cert, NULL };
    CU_ASSERT_FATAL(rel_serve_start(&s, cw_fault_proxy_url(tls), coll,
                                    cw_mock_embedder_url(g_mock), with_ca) == 0);
    char *json = sync_one("tls");
    CU_ASSERT_EQUAL(post_with(s.base, NULL, json, NULL), 200);
    body = NULL;
    CU_ASSERT_EQUAL(rel_get(s.admin, "/readyz", &body), 200);
    free(body);
    CU_ASSERT_EQUAL(rel_serve_stop(&s, SIGTERM, 30000, NULL), 0);
    CU_ASSERT_EQUAL(stored(coll, "auth/apps/v1/Deployment/tls"), 1);
    CU_ASSERT_EQUAL(cw_fault_proxy_refused(tls), 0);

    /* A CA file that is not there: one line, exit 2 before listening. */
    const char *bin = getenv("CW_BIN");
    char *missing = tmp_path("no-such.crt");
    char *argv[] = { (char *)bin, "serve", "--port", "0", "--chroma-url", (char *)cw_fault_proxy_url(tls),
                     "--chroma-ca-file", missing, "--embedder", "openai", "--embed-url",
                     (char *)cw_mock_embedder_url(g_mock), "--embed-model", "mock", NULL };
    char *out = NULL, *err = NULL;
    int rc = proc_run(argv, &out, &err);
    CU_ASSERT_EQUAL(rc, 2);
    char *want = rel_printf("cluster-whisperer serve: --chroma-ca-file %s: No such file or directory\n",
                            missing);
    CU_ASSERT_STRING_EQUAL(err, want);
    free(want);
    free(out);
    free(err);
    free(missing);
    free(json);
    drop(coll);
    free(cert_pem);
    free(key_pem);
    free(cert);
    free(key);
    cw_fault_proxy_stop(tls);
}

/* ---- our endpoint behind a bearer token ------------------------------------ */

static void expect_401(const char *base, const char *auth, const char *message)
{
    char *json = sync_one("denied");
    http_reply r;
    CU_ASSERT_EQUAL(post_with(base, auth, json, &r), 401);
    char *want = rel_printf("{\"error\":\"Unauthorized\",\"message\":\"%s\"}", message);
    CU_ASSERT_STRING_EQUAL(r.body, want);
    char wa[128] = "";
    CU_ASSERT_EQUAL(http_reply_header(&r, "WWW-Authenticate", wa, sizeof wa), 1);
    CU_ASSERT_STRING_EQUAL(wa, "Bearer realm=\"cluster-whisperer\"");
    http_reply_free(&r);
    free(want);
    free(json);
}

static void test_endpoint_token(void)
{
    char *file = tmp_path("server-token");
    write_text(file, "first-token\n");
    char *coll = collection_name();
    const char *flags[] = { "--auth-token-file", file, NULL };
    rel_server s;
    CU_ASSERT_FATAL(rel_serve_start(&s, g_chroma_url, coll, cw_mock_embedder_url(g_mock), flags) == 0);

    expect_401(s.base, NULL, "this server wants \\\"Authorization: Bearer <token>\\\" (--auth-token-file)");
    expect_401(s.base, "Authorization: Bearer nope", "the bearer token is not the one this server wants");
    expect_401(s.base, "Authorization: Basic Zmlyc3QtdG9rZW4=", "the bearer token is not the one this server wants");
    /* Probes and /metrics stay open, on both listeners. */
    const char *open_paths[] = { "/healthz", "/readyz", "/metrics" };
    for (size_t i = 0; i < 3; i++) {
        CU_ASSERT_EQUAL(rel_get(s.base, open_paths[i], NULL), 200);
        CU_ASSERT_EQUAL(rel_get(s.admin, open_paths[i], NULL), 200);
    }
    /* Search wants it too. */
    CU_ASSERT_EQUAL(rel_get(s.base, "/api/v1/instances/search?q=nginx", NULL), 401);

    char *json = sync_one("allowed");
    CU_ASSERT_EQUAL(post_with(s.base, "Authorization: Bearer first-token", json, NULL), 200);
    char *u = rel_printf("%s/api/v1/instances/search?q=allowed", s.base);
    http_reply r;
    http_request_with("GET", u, NULL, "Authorization: Bearer first-token", NULL, 0, 0, &r);
    CU_ASSERT_EQUAL(r.status, 200);
    CU_ASSERT(contains(r.body, "auth/apps/v1/Deployment/allowed"));
    http_reply_free(&r);
    free(u);

    /* Rotation through the file alone: the new token accepted by a later
     * request, with no signal; from then on the old one is refused. No
     * bound on how long (the file is looked at once a second; load only
     * makes it later); the tries are capped so "never" fails, not hangs. */
    write_text(file, "second-token\n");
    int64_t t0 = cw_now_ms();
    long st = 0;
    for (int i = 0; i < 600 && st != 200; i++) {
        st = post_with(s.base, "Authorization: Bearer second-token", json, NULL);
        if (st != 200)
            cw_sleep_ms(100);
    }
    fprintf(stderr, "\n    token file rotated: the new token accepted after %ld ms",
            (long)(cw_now_ms() - t0));
    CU_ASSERT_EQUAL(st, 200);
    CU_ASSERT_EQUAL(post_with(s.base, "Authorization: Bearer first-token", json, NULL), 401);

    /* SIGHUP reads it again (at the next check after the signal arrives). */
    write_text(file, "third-token\n");
    CU_ASSERT_EQUAL(kill(s.pid, SIGHUP), 0);
    st = 0;
    for (int i = 0; i < 1200 && st != 200; i++) {
        st = post_with(s.base, "Authorization: Bearer third-token", json, NULL);
        if (st != 200)
            cw_sleep_ms(50);
    }
    CU_ASSERT_EQUAL(st, 200);

    long refused = rel_metric(s.base, "cw_http_protections_total{reason=\"unauthorized\"}");
    CU_ASSERT(refused >= 6);
    CU_ASSERT_EQUAL(rel_serve_stop(&s, SIGTERM, 30000, NULL), 0);
    char *log = cw_test_read_file(s.log);
    CU_ASSERT(contains(log, "SIGHUP: reading the token file again"));
    CU_ASSERT(!contains(log, "second-token"));
    CU_ASSERT(!contains(log, "third-token"));
    free(log);
    free(json);

    /* An empty token file at start: exit 2, one line. */
    write_text(file, "\n");
    const char *bin = getenv("CW_BIN");
    char *argv[] = { (char *)bin, "serve", "--port", "0", "--auth-token-file", file, "--chroma-url",
                     g_chroma_url, "--embedder", "openai", "--embed-url",
                     (char *)cw_mock_embedder_url(g_mock), "--embed-model", "mock", NULL };
    char *out = NULL, *err = NULL;
    CU_ASSERT_NOT_EQUAL(proc_run(argv, &out, &err), 0);
    char *want = rel_printf("token file %s: empty", file);
    CU_ASSERT(contains(err, want));
    free(want);
    free(out);
    free(err);
    CU_ASSERT_EQUAL(stored(coll, "auth/apps/v1/Deployment/allowed"), 1);
    drop(coll);
    free(file);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    signal(SIGPIPE, SIG_IGN);
    g_chroma_url = cw_test_chroma_url();
    if (g_chroma_url == NULL || mkdtemp(g_dir) == NULL) {
        fprintf(stderr, "deploy_auth: no Chroma URL (CW_TEST_CHROMA_URL_FILE) or no temp dir\n");
        return 1;
    }
    g_mock = cw_mock_embedder_start(0, REL_DIM);
    if (g_mock == NULL)
        return 1;
    CU_TestInfo tests[] = {
        { "Chroma token from a file or as Bearer: stored, never in logs, /metrics or --help", test_chroma_token },
        { "a wrong Chroma token: 503, /readyz names it; journaled work applied after the fix", test_chroma_wrong_token },
        { "Chroma over TLS: refused without our CA, stored with --chroma-ca-file", test_chroma_tls },
        { "--auth-token-file: 401 + WWW-Authenticate, probes open, rotation by file and SIGHUP", test_endpoint_token },
        CU_TEST_INFO_NULL,
    };
    int rc = cw_test_run("deploy_auth", tests);
    cw_mock_embedder_stop(g_mock);
    char *cmd = rel_printf("rm -rf %s", g_dir);
    if (system(cmd) != 0)
        rc = 1;
    free(cmd);
    free(g_chroma_url);
    curl_global_cleanup();
    return rc;
}
