/* The real binary end to end: `serve` on a real port against the real
 * Chroma started by ctest, with the mock embedding server (and, in the last
 * test, the local MiniLM model); `search`, `sync` and `validate` read back
 * what the server stored; SIGTERM drains and exits 0. */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli_env.h"
#include "cw_test.h"
#include "http_client.h"
#include "proc.h"

static const char PRD_EXAMPLE[] =
    "{\"upserts\":[{\"id\":\"default/apps/v1/Deployment/nginx\",\"namespace\":\"default\","
    "\"name\":\"nginx\",\"kind\":\"Deployment\",\"apiVersion\":\"apps/v1\",\"apiGroup\":\"apps\","
    "\"labels\":{\"app\":\"nginx\",\"tier\":\"frontend\"},"
    "\"annotations\":{\"description\":\"Main web server\"},\"createdAt\":\"2026-02-20T10:00:00Z\"}],"
    "\"deletes\":[\"default/apps/v1/Deployment/old-service\"]}";

/* What `search "nginx web server" --json` prints for PRD_EXAMPLE with the
 * mock embedder: the distance is the mock's, the score 1 - distance plus
 * BM25 of "nginx", "web" and "server" (all in the text) at full weight,
 * plus the workload preference (a Deployment; the query names no kind). */
static const char JSON_ANSWER[] =
    "{\"query\":\"nginx web server\",\"ranking\":\"hybrid\",\"results\":[{\"rank\":1,\"id\":\""
    "default/apps/v1/Deployment/nginx\",\"cluster\":null,\"namespace\":\"default\",\"kind\":\"Deployment\",\"n"
    "ame\":\"nginx\",\"distance\":0.4999,\"score\":0.8901,\"document\":\"Deployment nginx | n"
    "amespace: default | apiVersion: apps/v1 | labels: app=nginx, tier=frontend | Main web se"
    "rver\"}]}\n";

static cli_env g_env;

/* argv for a command against this test's Chroma collection and the mock
 * embedder, followed by `extra` (NULL-terminated). Static storage. */
static char **cmd_argv(const char *command, const char *const *extra)
{
    static char *argv[32];
    size_t k = 0;
    argv[k++] = getenv("CW_BIN");
    argv[k++] = (char *)command;
    argv[k++] = "--chroma-url";
    argv[k++] = g_env.chroma_url;
    argv[k++] = "--collection";
    argv[k++] = g_env.collection;
    argv[k++] = "--embedder";
    argv[k++] = "openai";
    argv[k++] = "--embed-url";
    argv[k++] = (char *)cw_mock_embedder_url(g_env.mock);
    for (size_t i = 0; extra != NULL && extra[i] != NULL && k < 31; i++)
        argv[k++] = (char *)extra[i];
    argv[k] = NULL;
    return argv;
}

static pid_t start_server(unsigned short port)
{
    char p[16];
    snprintf(p, sizeof p, "%u", port);
    const char *extra[] = { "--host", "127.0.0.1", "--port", p, NULL };
    pid_t pid = proc_serve(cmd_argv("serve", extra), g_env.log, port, 60000);
    CU_ASSERT_FATAL(pid > 0);
    return pid;
}

/* serve with the local MiniLM model on `collection`, its output in `log`. */
static pid_t start_local_server(unsigned short port, char *collection, const char *log)
{
    char p[16];
    snprintf(p, sizeof p, "%u", port);
    char *argv[] = { getenv("CW_BIN"), "serve", "--host", "127.0.0.1", "--port", p,
                     "--chroma-url", g_env.chroma_url, "--collection", collection,
                     "--embedder", "local", NULL };
    pid_t pid = proc_serve(argv, log, port, 60000);
    CU_ASSERT_FATAL(pid > 0);
    return pid;
}

static void test_post_then_search_then_sync_delete(void)
{
    unsigned short port = http_free_port();
    pid_t pid = start_server(port);

    char *resp = NULL;
    CU_ASSERT_EQUAL(cli_call(port, "GET", "/readyz", NULL, &resp), 200);
    free(resp);
    CU_ASSERT_EQUAL(cli_call(port, "POST", "/api/v1/instances/sync", PRD_EXAMPLE, &resp), 200);
    CU_ASSERT_STRING_EQUAL(resp, "{\"status\":\"ok\",\"upserted\":1,\"deleted\":1}");
    free(resp);

    const char *q[] = { "nginx web server", NULL };
    char *out = NULL, *err = NULL;
    CU_ASSERT_EQUAL(proc_run(cmd_argv("search", q), &out, &err), 0);
    /* header line, then rank 1 is the nginx Deployment */
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "rank  score   distance  id"));
    char *row = strchr(out, '\n');
    CU_ASSERT_PTR_NOT_NULL_FATAL(row);
    CU_ASSERT_EQUAL(strncmp(row + 1, "1     ", 6), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(row, "default/apps/v1/Deployment/nginx  Deployment  default"));
    CU_ASSERT_PTR_NOT_NULL(strstr(row, "nginx\n"));
    free(out);
    free(err);

    /* --json after the query: one document, exact */
    const char *qj[] = { "nginx web server", "-n", "5", "--json", NULL };
    CU_ASSERT_EQUAL(proc_run(cmd_argv("search", qj), &out, &err), 0);
    if (getenv("CW_SHOW_JSON") != NULL)
        fprintf(stderr, "%s", out);
    CU_ASSERT_STRING_EQUAL(out, JSON_ANSWER);
    free(out);
    free(err);

    /* kind filter that matches nothing */
    const char *q2[] = { "--kind", "Service", "nginx web server", NULL };
    CU_ASSERT_EQUAL(proc_run(cmd_argv("search", q2), &out, NULL), 0);
    CU_ASSERT_STRING_EQUAL(out, "no instances found\n");
    free(out);

    /* sync: delete it through the pipeline, without HTTP */
    char path[] = "/tmp/cw-cli-sync-XXXXXX";
    int fd = mkstemp(path);
    const char del[] = "{\"upserts\":null,\"deletes\":[\"default/apps/v1/Deployment/nginx\"]}";
    CU_ASSERT_EQUAL(write(fd, del, sizeof del - 1), (ssize_t)(sizeof del - 1));
    close(fd);
    const char *sync_args[] = { path, NULL };
    CU_ASSERT_EQUAL(proc_run(cmd_argv("sync", sync_args), &out, &err), 0);
    CU_ASSERT_STRING_EQUAL(out, "ok: 0 upserted, 1 deleted\n");
    free(out);
    free(err);

    char *vargv[] = { getenv("CW_BIN"), "validate", path, NULL };
    CU_ASSERT_EQUAL(proc_run(vargv, &out, NULL), 0);
    CU_ASSERT_STRING_EQUAL(out, "ok: 0 upserts, 1 deletes\n");
    free(out);
    unlink(path);

    CU_ASSERT_EQUAL(proc_run(cmd_argv("search", q), &out, NULL), 0);
    CU_ASSERT_STRING_EQUAL(out, "no instances found\n");
    free(out);

    CU_ASSERT_EQUAL(proc_stop(pid, SIGTERM, 30000), 0);
}

typedef struct post_job { unsigned short port; const char *body; long code; char *resp; } post_job;

static void *post_thread(void *arg)
{
    post_job *j = arg;
    j->code = cli_call(j->port, "POST", "/api/v1/instances/sync", j->body, &j->resp);
    return NULL;
}

static void test_sigterm_drains_in_flight_request(void)
{
    unsigned short port = http_free_port();
    pid_t pid = start_server(port);

    cw_mock_embedder_set_latency(g_env.mock, 1500);
    const char body[] =
        "{\"upserts\":[{\"id\":\"db/apps/v1/StatefulSet/pg\",\"namespace\":\"db\",\"name\":\"pg\","
        "\"kind\":\"StatefulSet\",\"apiVersion\":\"apps/v1\",\"apiGroup\":\"apps\","
        "\"labels\":null,\"annotations\":null,\"createdAt\":\"2026-02-20T10:00:00Z\"}]}";
    post_job job = { port, body, 0, NULL };
    pthread_t t;
    pthread_create(&t, NULL, post_thread, &job);
    usleep(500 * 1000);                  /* the request is now waiting on the embedder */
    CU_ASSERT_EQUAL(proc_stop(pid, SIGTERM, 30000), 0);
    pthread_join(t, NULL);
    cw_mock_embedder_set_latency(g_env.mock, 0);
    CU_ASSERT_EQUAL(job.code, 200);
    CU_ASSERT_STRING_EQUAL(job.resp != NULL ? job.resp : "", "{\"status\":\"ok\",\"upserted\":1,\"deleted\":0}");
    free(job.resp);

    /* acknowledged means stored */
    const char *q[] = { "--kind", "StatefulSet", "pg", NULL };
    char *out = NULL;
    CU_ASSERT_EQUAL(proc_run(cmd_argv("search", q), &out, NULL), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "db/apps/v1/StatefulSet/pg"));
    free(out);
}

static void test_local_model_finds_the_database(void)
{
    char collection[80];
    snprintf(collection, sizeof collection, "%s_local", g_env.collection);
    unsigned short port = http_free_port();
    pid_t pid = start_local_server(port, collection, g_env.log);

    const char body[] =
        "{\"upserts\":["
        "{\"id\":\"db/apps/v1/StatefulSet/postgres\",\"namespace\":\"db\",\"name\":\"postgres\","
        "\"kind\":\"StatefulSet\",\"apiVersion\":\"apps/v1\",\"apiGroup\":\"apps\","
        "\"labels\":{\"app\":\"postgres\",\"tier\":\"database\"},"
        "\"annotations\":{\"description\":\"PostgreSQL primary database\"},\"createdAt\":\"2026-02-20T10:00:00Z\"},"
        "{\"id\":\"web/v1/Service/nginx\",\"namespace\":\"web\",\"name\":\"nginx\",\"kind\":\"Service\","
        "\"apiVersion\":\"v1\",\"apiGroup\":\"\",\"labels\":{\"app\":\"nginx\"},\"annotations\":null,"
        "\"createdAt\":\"2026-02-20T10:00:00Z\"},"
        "{\"id\":\"web/v1/ConfigMap/nginx-config\",\"namespace\":\"web\",\"name\":\"nginx-config\","
        "\"kind\":\"ConfigMap\",\"apiVersion\":\"v1\",\"apiGroup\":\"\",\"labels\":{},\"annotations\":{},"
        "\"createdAt\":\"2026-02-20T10:00:00Z\"}],\"deletes\":null}";
    char *resp = NULL;
    CU_ASSERT_EQUAL(cli_call(port, "POST", "/api/v1/instances/sync", body, &resp), 200);
    CU_ASSERT_STRING_EQUAL(resp, "{\"status\":\"ok\",\"upserted\":3,\"deleted\":0}");
    free(resp);
    CU_ASSERT_EQUAL(proc_stop(pid, SIGTERM, 30000), 0);

    char *qargv[] = { getenv("CW_BIN"), "search", "--chroma-url", g_env.chroma_url, "--collection", collection,
                      "--embedder", "local", "which databases are running", NULL };
    char *out = NULL, *err = NULL;
    CU_ASSERT_EQUAL(proc_run(qargv, &out, &err), 0);
    char *row = strchr(out, '\n');
    CU_ASSERT_PTR_NOT_NULL_FATAL(row);
    CU_ASSERT_EQUAL(strncmp(row + 1, "1     ", 6), 0);
    char *second = strchr(row + 1, '\n');
    CU_ASSERT_PTR_NOT_NULL_FATAL(second);
    *second = '\0';
    CU_ASSERT_PTR_NOT_NULL(strstr(row, "db/apps/v1/StatefulSet/postgres"));
    if (strstr(row, "postgres") == NULL)
        fprintf(stderr, "search output:\n%s\n%s\n", out, err);
    free(out);
    free(err);
}

/* The operator switched models: the collection holds the mock's 64-d
 * vectors, the local model makes 384-d ones. One clear line at startup,
 * and /readyz says the same instead of every request failing. */
static void test_dimension_mismatch_reported(void)
{
    char collection[80];
    snprintf(collection, sizeof collection, "%s_dim", g_env.collection);
    char path[] = "/tmp/cw-cli-dim-XXXXXX";
    int fd = mkstemp(path);
    const char one[] =
        "{\"upserts\":[{\"id\":\"default/v1/ConfigMap/a\",\"namespace\":\"default\",\"name\":\"a\","
        "\"kind\":\"ConfigMap\",\"apiVersion\":\"v1\",\"apiGroup\":\"\",\"createdAt\":\"2026-02-20T10:00:00Z\"}]}";
    CU_ASSERT_EQUAL(write(fd, one, sizeof one - 1), (ssize_t)(sizeof one - 1));
    close(fd);
    char *sync_argv[] = { getenv("CW_BIN"), "sync", "--chroma-url", g_env.chroma_url, "--collection", collection,
                          "--embedder", "openai", "--embed-url", (char *)cw_mock_embedder_url(g_env.mock), path, NULL };
    char *out = NULL;
    CU_ASSERT_EQUAL(proc_run(sync_argv, &out, NULL), 0);
    CU_ASSERT_STRING_EQUAL(out, "ok: 1 upserted, 0 deleted\n");
    free(out);
    unlink(path);

    char log[300];
    snprintf(log, sizeof log, "%s.dim", g_env.log);
    unlink(log);
    unsigned short port = http_free_port();
    pid_t pid = start_local_server(port, collection, log);
    char *resp = NULL;
    CU_ASSERT_EQUAL(cli_call(port, "GET", "/readyz", NULL, &resp), 503);
    char want[300];
    snprintf(want, sizeof want,
             "{\"status\":\"unavailable\",\"error\":\"collection '%s' holds 64-d vectors but the embedder "
             "makes 384-d vectors: use the embedder that filled it, or another --collection\"}", collection);
    CU_ASSERT_STRING_EQUAL(resp, want);
    free(resp);
    CU_ASSERT_EQUAL(proc_stop(pid, SIGTERM, 30000), 0);

    char *text = cw_test_read_file(log);
    CU_ASSERT_PTR_NOT_NULL_FATAL(text);
    snprintf(want, sizeof want, "error collection '%s' holds 64-d vectors but the embedder makes 384-d vectors", collection);
    CU_ASSERT_PTR_NOT_NULL(strstr(text, want));
    free(text);
}

int main(void)
{
    if (cli_env_open(&g_env, "cli_end_to_end", "t_cli", 64) != 0) {
        cli_env_close(&g_env);
        return 1;
    }
    CU_TestInfo tests[] = {
        { "POST, search, sync delete, validate", test_post_then_search_then_sync_delete },
        { "SIGTERM drains an in-flight request", test_sigterm_drains_in_flight_request },
        { "local model: the database ranks first", test_local_model_finds_the_database },
        { "dimension mismatch: one line at startup and in /readyz", test_dimension_mismatch_reported },
        CU_TEST_INFO_NULL,
    };
    int rc = cw_test_run("cli_end_to_end", tests);
    cli_env_close(&g_env);
    return rc;
}
