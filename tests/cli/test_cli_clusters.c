/* Issue 14 with the real binary, the real Chroma and the mock embedder:
 *   - `sync --cluster` stores a cluster's documents beside another's and
 *     beside those of no cluster; `search --cluster` finds one cluster's,
 *     the table and --json show the cluster;
 *   - `forget-cluster NAME --dry-run` prints the count and deletes nothing;
 *     `forget-cluster NAME --batch-max 2` deletes exactly that cluster, in
 *     batches, with counts; run again it finds nothing; bad names and a
 *     missing NAME are usage errors;
 *   - a journaled request of a cluster survives a restart: `serve` with a
 *     journal and no Chroma answers 202 and stops with it journaled; the
 *     next `serve` applies it with its cluster (id, text, metadata). */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli_env.h"
#include "cw_test.h"
#include "cw_test_chroma.h"
#include "cw_time.h"
#include "http_client.h"
#include "proc.h"

static cli_env g_env;
static cw_chroma *g_direct;       /* reads the collection straight from Chroma */

/* The binary, `command`, this test's Chroma and collection, then `extra`
 * (NULL-terminated); with `mock`, the mock embedder too. Static storage. */
static char **argv_of(const char *command, int mock, const char *const *extra)
{
    return cli_argv(&g_env, command, mock, extra);
}

/* Five resources; `env` a label so that each cluster's texts differ. */
static char *payload_file(const char *env)
{
    char *path = strdup("/tmp/cw-cli-clusters-XXXXXX");
    int fd = mkstemp(path);
    CU_ASSERT_FATAL(fd >= 0);
    char body[4096];
    size_t len = (size_t)snprintf(body, sizeof body, "{\"upserts\":[");
    for (int i = 0; i < 5; i++)
        len += (size_t)snprintf(body + len, sizeof body - len,
                                "%s{\"id\":\"shop/apps/v1/Deployment/svc-%d\",\"namespace\":\"shop\","
                                "\"name\":\"svc-%d\",\"kind\":\"Deployment\",\"apiVersion\":\"apps/v1\","
                                "\"apiGroup\":\"apps\",\"labels\":{\"env\":\"%s\"},\"annotations\":null,"
                                "\"createdAt\":\"2026-02-20T10:00:00Z\"}",
                                i > 0 ? "," : "", i, i, env);
    snprintf(body + len, sizeof body - len, "],\"deletes\":null}");
    CU_ASSERT_EQUAL(write(fd, body, strlen(body)), (ssize_t)strlen(body));
    close(fd);
    return path;
}

static size_t of_cluster(const char *cluster)
{
    cw_chroma_filter f = { .cluster = cluster };
    cw_chroma_records r;
    cw_error err;
    cw_error_clear(&err);
    CU_ASSERT_EQUAL_FATAL(cw_chroma_scan_where(g_direct, &f, 10000, &r, &err), 0);
    size_t n = r.len;
    cw_chroma_records_free(&r);
    return n;
}

static void run_ok(char **argv, const char *want_out)
{
    char *out = NULL, *err = NULL;
    int rc = proc_run(argv, &out, &err);
    CU_ASSERT_EQUAL(rc, 0);
    if (want_out != NULL) {
        CU_ASSERT_STRING_EQUAL(out, want_out);
        if (strcmp(out, want_out) != 0)
            fprintf(stderr, "\n  got:\n%s  want:\n%s", out, want_out);
    }
    if (rc != 0)
        fprintf(stderr, "\n  stderr: %s\n", err);
    free(out);
    free(err);
}

static void run_usage_error(char **argv, const char *want_err)
{
    char *out = NULL, *err = NULL;
    CU_ASSERT_EQUAL(proc_run(argv, &out, &err), 2);
    CU_ASSERT_STRING_EQUAL(err, want_err);
    if (strcmp(err, want_err) != 0)
        fprintf(stderr, "\n  got:  %s  want: %s", err, want_err);
    free(out);
    free(err);
}

static void test_sync_and_search_by_cluster(void)
{
    char *a = payload_file("blue"), *b = payload_file("green"), *none = payload_file("plain");
    const char *sa[] = { a, "--cluster", "blue-1", NULL };
    run_ok(argv_of("sync", 1, sa), "ok: 5 upserted, 0 deleted (cluster blue-1)\n");
    const char *sb[] = { "--cluster", "green-2", b, NULL };
    run_ok(argv_of("sync", 1, sb), "ok: 5 upserted, 0 deleted (cluster green-2)\n");
    const char *sn[] = { none, NULL };
    run_ok(argv_of("sync", 1, sn), "ok: 5 upserted, 0 deleted\n");
    CU_ASSERT_EQUAL(cw_test_chroma_count(g_direct), 15);
    CU_ASSERT_EQUAL(of_cluster("blue-1"), 5);
    CU_ASSERT_EQUAL(of_cluster("green-2"), 5);
    char *text = NULL;
    CU_ASSERT_EQUAL(cw_test_chroma_stored(g_direct, "green-2:shop/apps/v1/Deployment/svc-3", &text), 1);
    CU_ASSERT_STRING_EQUAL(text, "Deployment svc-3 | namespace: shop | cluster: green-2 | apiVersion: apps/v1 | labels: env=green");
    free(text);
    CU_ASSERT_EQUAL(cw_test_chroma_stored(g_direct, "shop/apps/v1/Deployment/svc-3", &text), 1);
    CU_ASSERT_STRING_EQUAL(text, "Deployment svc-3 | namespace: shop | apiVersion: apps/v1 | labels: env=plain");
    free(text);

    /* one cluster: the table has a cluster column, every row is that cluster's */
    const char *q[] = { "svc-3", "--cluster", "green-2", "--ranking", "lexical", "-n", "1", NULL };
    run_ok(argv_of("search", 1, q),
           "rank  score   distance  cluster  id                                     kind        namespace  name\n"
           "1     1.0000  -         green-2  green-2:shop/apps/v1/Deployment/svc-3  Deployment  shop       svc-3\n");
    const char *qj[] = { "svc-3", "--cluster", "blue-1", "--ranking", "lexical", "-n", "1", "--json", NULL };
    run_ok(argv_of("search", 1, qj),
           "{\"query\":\"svc-3\",\"ranking\":\"lexical\",\"results\":[{\"rank\":1,\"id\":\"blue-1:shop/apps/v1/"
           "Deployment/svc-3\",\"cluster\":\"blue-1\",\"namespace\":\"shop\",\"kind\":\"Deployment\",\"name\":"
           "\"svc-3\",\"distance\":null,\"score\":1.0000,\"document\":\"Deployment svc-3 | namespace: shop | "
           "cluster: blue-1 | apiVersion: apps/v1 | labels: env=blue\"}]}\n");
    const char *qbad[] = { "svc", "--cluster", "Green", NULL };
    run_usage_error(argv_of("search", 1, qbad),
                    "cluster-whisperer search: --cluster: cluster name 'Green' is not a DNS-1123 label: "
                    "1-63 characters of a-z, 0-9 and '-', starting and ending with a letter or digit "
                    "('G' at position 1)\n");
    /* of no cluster, an id shaped NAME:... is refused, nothing written */
    char path[] = "/tmp/cw-cli-clusters-q-XXXXXX";
    int fd = mkstemp(path);
    const char del[] = "{\"deletes\":[\"blue-1:shop/apps/v1/Deployment/svc-0\"]}";
    CU_ASSERT_EQUAL(write(fd, del, sizeof del - 1), (ssize_t)(sizeof del - 1));
    close(fd);
    const char *sq[] = { path, NULL };
    char *out = NULL;
    CU_ASSERT_EQUAL(proc_run(argv_of("sync", 1, sq), &out, NULL), 1);
    CU_ASSERT_STRING_EQUAL(out, "{\"error\":\"Invalid payload\",\"details\":[{\"path\":[\"deletes\",0],"
                                "\"code\":\"cluster_qualified_id\",\"message\":\"id 'blue-1:...' reads as an id "
                                "of cluster 'blue-1' (NAME:...): name the cluster in the URL (?cluster=NAME) or "
                                "drop the prefix\"}]}\n");
    free(out);
    unlink(path);
    CU_ASSERT_EQUAL(cw_test_chroma_count(g_direct), 15);
    unlink(a);
    unlink(b);
    unlink(none);
    free(a);
    free(b);
    free(none);
}

static void test_forget_cluster(void)
{
    char want[512];
    const char *dry[] = { "blue-1", "--dry-run", NULL };
    snprintf(want, sizeof want, "cluster blue-1: 5 documents in collection %s (dry run: nothing deleted)\n",
             g_env.collection);
    run_ok(argv_of("forget-cluster", 0, dry), want);
    CU_ASSERT_EQUAL(cw_test_chroma_count(g_direct), 15);

    const char *go[] = { "--batch-max", "2", "blue-1", NULL };
    snprintf(want, sizeof want,
             "batch 1: deleted 2 documents of cluster blue-1 (2 so far)\n"
             "batch 2: deleted 2 documents of cluster blue-1 (4 so far)\n"
             "batch 3: deleted 1 documents of cluster blue-1 (5 so far)\n"
             "forgot cluster blue-1: deleted 5 documents in 3 batches from collection %s\n",
             g_env.collection);
    run_ok(argv_of("forget-cluster", 0, go), want);
    /* exactly that cluster */
    CU_ASSERT_EQUAL(cw_test_chroma_count(g_direct), 10);
    CU_ASSERT_EQUAL(of_cluster("blue-1"), 0);
    CU_ASSERT_EQUAL(of_cluster("green-2"), 5);
    for (int i = 0; i < 5; i++) {
        char id[96];
        snprintf(id, sizeof id, "shop/apps/v1/Deployment/svc-%d", i);
        CU_ASSERT_EQUAL(cw_test_chroma_stored(g_direct, id, NULL), 1);
    }
    /* again: nothing left, nothing deleted (what an interrupted run's rerun sees at the end) */
    const char *again[] = { "blue-1", NULL };
    snprintf(want, sizeof want, "cluster blue-1: no documents in collection %s, nothing deleted\n",
             g_env.collection);
    run_ok(argv_of("forget-cluster", 0, again), want);
    snprintf(want, sizeof want, "cluster green-2: 5 documents in collection %s (dry run: nothing deleted)\n",
             g_env.collection);
    const char *dry2[] = { "--dry-run", "green-2", NULL };
    run_ok(argv_of("forget-cluster", 0, dry2), want);

    const char *bad[] = { "Blue", NULL };
    run_usage_error(argv_of("forget-cluster", 0, bad),
                    "cluster-whisperer forget-cluster: cluster name 'Blue' is not a DNS-1123 label: "
                    "1-63 characters of a-z, 0-9 and '-', starting and ending with a letter or digit "
                    "('B' at position 1)\n");
    run_usage_error(argv_of("forget-cluster", 0, NULL),
                    "cluster-whisperer forget-cluster: missing NAME (see --help)\n");
    const char *two[] = { "a", "b", NULL };
    run_usage_error(argv_of("forget-cluster", 0, two),
                    "cluster-whisperer forget-cluster: unexpected argument 'b' (see --help)\n");
    const char *emb[] = { "a", "--embedder", "local", NULL };
    run_usage_error(argv_of("forget-cluster", 0, emb),
                    "cluster-whisperer forget-cluster: unknown option '--embedder' (see --help)\n");
    CU_ASSERT_EQUAL(cw_test_chroma_count(g_direct), 10);
}

/* serve with a journal and Chroma unreachable: 202; SIGTERM leaves the
 * request journaled; serve again with Chroma: applied with its cluster. */
static void test_journaled_cluster_survives_restart(void)
{
    char dir[] = "/tmp/cw-cli-clusters-j-XXXXXX";
    CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
    unsigned short port = http_free_port(), dead = http_free_port();
    char p[16], dead_url[64];
    snprintf(p, sizeof p, "%u", port);
    snprintf(dead_url, sizeof dead_url, "http://127.0.0.1:%u", dead);
    char *argv1[] = { getenv("CW_BIN"), "serve", "--host", "127.0.0.1", "--port", p,
                      "--chroma-url", dead_url, "--collection", g_env.collection,
                      "--embedder", "openai", "--embed-url", (char *)cw_mock_embedder_url(g_env.mock),
                      "--journal", dir, "--ack-wait-ms", "200", "--drain-ms", "500", NULL };
    pid_t pid = proc_serve(argv1, g_env.log, port, 60000);
    CU_ASSERT_FATAL(pid > 0);
    char *resp = NULL;
    CU_ASSERT_EQUAL(cli_call(port, "POST", "/api/v1/clusters/edge-7/instances/sync",
                             "{\"upserts\":[{\"id\":\"iot/apps/v1/DaemonSet/agent\",\"namespace\":\"iot\","
                             "\"name\":\"agent\",\"kind\":\"DaemonSet\",\"apiVersion\":\"apps/v1\",\"apiGroup\":"
                             "\"apps\",\"labels\":{\"app\":\"agent\"},\"annotations\":null,\"createdAt\":"
                             "\"2026-02-20T10:00:00Z\"}],\"deletes\":[\"iot/v1/Service/old\"]}", &resp), 202);
    CU_ASSERT_STRING_EQUAL(resp, "{\"status\":\"accepted\",\"journaled\":2}");
    free(resp);
    CU_ASSERT_EQUAL(proc_stop(pid, SIGTERM, 30000), 0);

    char *jargv[] = { getenv("CW_BIN"), "journal", "status", "--journal", dir, "--json", NULL };
    char *out = NULL;
    CU_ASSERT_EQUAL(proc_run(jargv, &out, NULL), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "\"backlog_operations\":2,"));
    free(out);
    CU_ASSERT_EQUAL(cw_test_chroma_stored(g_direct, "edge-7:iot/apps/v1/DaemonSet/agent", NULL), 0);

    char *argv2[] = { getenv("CW_BIN"), "serve", "--host", "127.0.0.1", "--port", p,
                      "--chroma-url", g_env.chroma_url, "--collection", g_env.collection,
                      "--embedder", "openai", "--embed-url", (char *)cw_mock_embedder_url(g_env.mock),
                      "--journal", dir, NULL };
    pid = proc_serve(argv2, g_env.log, port, 60000);
    CU_ASSERT_FATAL(pid > 0);
    /* applied when the journal's backlog is 0 (polled, to a deadline) */
    int64_t until = cw_now_ms() + 60000;
    int stored = 0;
    while (cw_now_ms() < until &&
           (stored = cw_test_chroma_stored(g_direct, "edge-7:iot/apps/v1/DaemonSet/agent", NULL)) != 1)
        cw_sleep_ms(50);
    CU_ASSERT_EQUAL(stored, 1);
    cw_chroma_records r;
    const char *ids[1] = { "edge-7:iot/apps/v1/DaemonSet/agent" };
    cw_error err;
    cw_error_clear(&err);
    CU_ASSERT_EQUAL_FATAL(cw_chroma_get(g_direct, ids, 1, 0, &r, &err), 0);
    CU_ASSERT_EQUAL_FATAL(r.len, 1);
    CU_ASSERT_STRING_EQUAL(r.items[0].document,
                           "DaemonSet agent | namespace: iot | cluster: edge-7 | apiVersion: apps/v1 | labels: app=agent");
    CU_ASSERT_STRING_EQUAL(r.items[0].cluster, "edge-7");
    CU_ASSERT_STRING_EQUAL(r.items[0].labels, "app=agent");
    CU_ASSERT_STRING_EQUAL(r.items[0].source, "resource-sync");
    cw_chroma_records_free(&r);
    CU_ASSERT_EQUAL(cw_test_chroma_stored(g_direct, "iot/apps/v1/DaemonSet/agent", NULL), 0);
    CU_ASSERT_EQUAL(proc_stop(pid, SIGTERM, 30000), 0);
    CU_ASSERT_EQUAL(proc_run(jargv, &out, NULL), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "\"backlog_operations\":0,"));
    free(out);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    CU_ASSERT_EQUAL(system(cmd), 0);
}

int main(void)
{
    if (cli_env_open(&g_env, "cli_clusters", "t_cli_clusters", 8) != 0) {
        cli_env_close(&g_env);
        return 1;
    }
    g_direct = cw_test_chroma_open(g_env.chroma_url, g_env.collection);
    CU_TestInfo tests[] = {
        { "sync --cluster, search --cluster", test_sync_and_search_by_cluster },
        { "forget-cluster: --dry-run counts, then exactly one cluster", test_forget_cluster },
        { "a journaled request of a cluster survives a restart", test_journaled_cluster_survives_restart },
        CU_TEST_INFO_NULL,
    };
    int rc = g_direct != NULL ? cw_test_run("cli_clusters", tests) : 1;
    if (g_direct != NULL) {
        cw_error err;
        cw_error_clear(&err);
        if (cw_chroma_delete_collection(g_direct, &err) != 0)
            fprintf(stderr, "cli_clusters: could not delete collection %s: %s\n", g_env.collection, err.msg);
        cw_chroma_destroy(g_direct);
    }
    cli_env_close(&g_env);
    return rc;
}
