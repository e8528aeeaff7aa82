/* `cluster-whisperer mcp` driven over a pipe by a test client, as an MCP
 * client drives it: initialize → notifications/initialized → tools/list →
 * tools/call, every malformed JSON-RPC case (-32700, -32600, -32601,
 * -32602), a line over 1 MiB, end of input; against the real Chroma with
 * the mock embedder, directly and through a running serve (--server). */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <json-c/json.h>

#include "cli_env.h"
#include "cw_test.h"
#include "http_client.h"
#include "proc.h"

static cli_env g_env;

static const char INVENTORY[] =
    "{\"upserts\":["
    "{\"id\":\"data/apps/v1/StatefulSet/orders-postgres\",\"namespace\":\"data\",\"name\":\"orders-postgres\","
    "\"kind\":\"StatefulSet\",\"apiVersion\":\"apps/v1\",\"apiGroup\":\"apps\",\"labels\":{\"team\":\"data\"},"
    "\"annotations\":{\"description\":\"Primary PostgreSQL database\"},\"createdAt\":\"2026-02-20T10:00:00Z\"},"
    "{\"id\":\"shop/apps/v1/Deployment/cart-service\",\"namespace\":\"shop\",\"name\":\"cart-service\","
    "\"kind\":\"Deployment\",\"apiVersion\":\"apps/v1\",\"apiGroup\":\"apps\",\"labels\":{\"team\":\"web\"},"
    "\"annotations\":null,\"createdAt\":\"2026-02-20T10:00:00Z\"}],\"deletes\":null}";

/* What search_instances answers for "postgres" in lexical ranking (no
 * vectors involved: exact). */
#define LEXICAL_POSTGRES                                                                                      \
    "{\"query\":\"postgres\",\"ranking\":\"lexical\",\"results\":[{\"rank\":1,\"id\":"                         \
    "\"data/apps/v1/StatefulSet/orders-postgres\",\"cluster\":null,\"namespace\":\"data\",\"kind\":"           \
    "\"StatefulSet\",\"name\":\"orders-postgres\",\"distance\":null,\"score\":0.9296,\"document\":"            \
    "\"StatefulSet orders-postgres | namespace: data | apiVersion: apps/v1 | labels: team=data | "             \
    "Primary PostgreSQL database\"}]}"

#define INSTANCE_PG                                                                                            \
    "{\"id\":\"data/apps/v1/StatefulSet/orders-postgres\",\"cluster\":null,\"namespace\":\"data\",\"kind\":"   \
    "\"StatefulSet\",\"name\":\"orders-postgres\",\"apiVersion\":\"apps/v1\",\"apiGroup\":\"apps\",\"labels\":" \
    "\"team=data\",\"document\":\"StatefulSet orders-postgres | namespace: data | apiVersion: apps/v1 | "      \
    "labels: team=data | Primary PostgreSQL database\"}"

/* ---- a client over a pipe ------------------------------------------------- */

typedef struct client {
    pid_t pid;
    FILE *to;     /* its stdin */
    int from;     /* its stdout */
    char buf[1 << 16];
    size_t len;
} client;

static int client_start(client *c, char *const argv[])
{
    int in[2], out[2];
    memset(c, 0, sizeof *c);
    if (pipe(in) != 0 || pipe(out) != 0)
        return -1;
    c->pid = fork();
    if (c->pid < 0)
        return -1;
    if (c->pid == 0) {
        dup2(in[0], 0);
        dup2(out[1], 1);
        close(in[1]);
        close(out[0]);
        execv(argv[0], argv);
        _exit(127);
    }
    close(in[0]);
    close(out[1]);
    c->to = fdopen(in[1], "w");
    c->from = out[0];
    return c->to != NULL ? 0 : -1;
}

/* Send one line (`line` has no newline). */
static void client_send(client *c, const char *line)
{
    fputs(line, c->to);
    fputc('\n', c->to);
    fflush(c->to);
}

/* The next line of output (malloc'd, no newline), or NULL at end of output
 * (or after 60 s without one: a hung server fails the test, not ctest). */
static char *client_read(client *c)
{
    for (;;) {
        char *nl = memchr(c->buf, '\n', c->len);
        if (nl != NULL) {
            size_t n = (size_t)(nl - c->buf);
            char *line = strndup(c->buf, n);
            memmove(c->buf, nl + 1, c->len - n - 1);
            c->len -= n + 1;
            return line;
        }
        if (c->len == sizeof c->buf)
            return NULL;
        struct pollfd p = { .fd = c->from, .events = POLLIN };
        if (poll(&p, 1, 60000) <= 0)
            return NULL;
        ssize_t got = read(c->from, c->buf + c->len, sizeof c->buf - c->len);
        if (got <= 0)
            return NULL;
        c->len += (size_t)got;
    }
}

/* Close its stdin and wait: its exit code (-1 if killed or not exiting). */
static int client_finish(client *c)
{
    fclose(c->to);
    int status = 0, rc = -1;
    for (int i = 0; i < 600; i++) {
        pid_t w = waitpid(c->pid, &status, WNOHANG);
        if (w == c->pid) {
            rc = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
            break;
        }
        usleep(100000);
    }
    if (rc == -1) {
        kill(c->pid, SIGKILL);
        waitpid(c->pid, &status, 0);
    }
    close(c->from);
    return rc;
}

/* Send `line`, expect exactly `want` back. */
static void roundtrip(client *c, const char *line, const char *want)
{
    client_send(c, line);
    char *got = client_read(c);
    CU_ASSERT_PTR_NOT_NULL_FATAL(got);
    CU_ASSERT_STRING_EQUAL(got, want);
    if (strcmp(got, want) != 0)
        fprintf(stderr, "\n  sent %.200s\n  got  %s\n  want %s\n", line, got, want);
    free(got);
}

#define ERR(id, code, msg) "{\"jsonrpc\":\"2.0\",\"id\":" id ",\"error\":{\"code\":" #code ",\"message\":\"" msg "\"}}"

/* A tools/call answer: text content and structured content of `json`. */
static char *tool_ok(const char *id, const char *json)
{
    json_object *s = json_object_new_string(json);
    char *out = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&out, &n);
    fprintf(f, "{\"jsonrpc\":\"2.0\",\"id\":%s,\"result\":{\"content\":[{\"type\":\"text\",\"text\":%s}],"
               "\"structuredContent\":%s,\"isError\":false}}",
            id, json_object_to_json_string_ext(s, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE), json);
    fclose(f);
    json_object_put(s);
    return out;
}

static char **mcp_argv(const char *server)
{
    static char *argv[16];
    size_t k = 0;
    argv[k++] = getenv("CW_BIN");
    argv[k++] = "mcp";
    if (server != NULL) {
        argv[k++] = "--server";
        argv[k++] = (char *)server;
    } else {
        argv[k++] = "--chroma-url";
        argv[k++] = g_env.chroma_url;
        argv[k++] = "--collection";
        argv[k++] = g_env.collection;
        argv[k++] = "--embedder";
        argv[k++] = "openai";
        argv[k++] = "--embed-url";
        argv[k++] = (char *)cw_mock_embedder_url(g_env.mock);
    }
    argv[k] = NULL;
    return argv;
}

static const char INIT_ANSWER[] =
    "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"protocolVersion\":\"%s\",\"capabilities\":{\"tools\":"
    "{\"listChanged\":false}},\"serverInfo\":{\"name\":\"cluster-whisperer\",\"title\":\"cluster-whisperer: "
    "search a Kubernetes cluster's resources\",\"version\":\"" CW_VERSION "\"},\"instructions\":\"Search the "
    "resources of the Kubernetes cluster(s) that k8s-vectordb-sync pushes here. search_instances ranks them for "
    "a question (meaning, names, kinds, namespaces, teams); get_instance returns one by the id search_instances "
    "gave.\"}}";

/* initialize → initialized → tools/list → tools/call, then the tools'
 * own outcomes; `server` NULL: Chroma directly. */
static void session(const char *server)
{
    client c;
    CU_ASSERT_EQUAL_FATAL(client_start(&c, mcp_argv(server)), 0);
    char want[2048];
    snprintf(want, sizeof want, INIT_ANSWER, "2025-06-18");
    roundtrip(&c, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\",\"params\":{\"protocolVersion\":"
                  "\"2025-06-18\",\"capabilities\":{},\"clientInfo\":{\"name\":\"test\",\"version\":\"1\"}}}", want);
    /* a notification is never answered: the next line is the ping's */
    client_send(&c, "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}");
    roundtrip(&c, "{\"jsonrpc\":\"2.0\",\"id\":\"p\",\"method\":\"ping\"}", "{\"jsonrpc\":\"2.0\",\"id\":\"p\",\"result\":{}}");

    client_send(&c, "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/list\",\"params\":{}}");
    char *list = client_read(&c);
    CU_ASSERT_PTR_NOT_NULL_FATAL(list);
    json_object *root = json_tokener_parse(list), *result = NULL, *tools = NULL;
    CU_ASSERT(json_object_object_get_ex(root, "result", &result));
    CU_ASSERT(json_object_object_get_ex(result, "tools", &tools));
    CU_ASSERT_EQUAL_FATAL(json_object_array_length(tools), 2);
    static const char *const names[2] = { "search_instances", "get_instance" };
    static const char *const required[2] = { "[\"query\"]", "[\"id\"]" };
    for (size_t i = 0; i < 2; i++) {
        json_object *t = json_object_array_get_idx(tools, i), *name = NULL, *schema = NULL, *req = NULL,
                    *type = NULL;
        CU_ASSERT(json_object_object_get_ex(t, "name", &name));
        CU_ASSERT_STRING_EQUAL(json_object_get_string(name), names[i]);
        CU_ASSERT(json_object_object_get_ex(t, "inputSchema", &schema));
        CU_ASSERT(json_object_object_get_ex(schema, "type", &type));
        CU_ASSERT_STRING_EQUAL(json_object_get_string(type), "object");
        CU_ASSERT(json_object_object_get_ex(schema, "required", &req));
        CU_ASSERT_STRING_EQUAL(json_object_to_json_string_ext(req, JSON_C_TO_STRING_PLAIN), required[i]);
    }
    json_object_put(root);
    free(list);

    char *ok = tool_ok("3", LEXICAL_POSTGRES);
    roundtrip(&c, "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"tools/call\",\"params\":{\"name\":\"search_instances\","
                  "\"arguments\":{\"query\":\"postgres\",\"ranking\":\"lexical\"}}}", ok);
    free(ok);
    /* hybrid: the database first */
    client_send(&c, "{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"tools/call\",\"params\":{\"name\":\"search_instances\","
                    "\"arguments\":{\"query\":\"primary database\",\"n\":1}}}");
    char *got = client_read(&c);
    CU_ASSERT_PTR_NOT_NULL_FATAL(got);
    CU_ASSERT_PTR_NOT_NULL(strstr(got, "\"structuredContent\":{\"query\":\"primary database\",\"ranking\":\"hybrid\","
                                       "\"results\":[{\"rank\":1,\"id\":\"data/apps/v1/StatefulSet/orders-postgres\""));
    CU_ASSERT_PTR_NOT_NULL(strstr(got, "\"isError\":false}}"));
    free(got);

    ok = tool_ok("\"g\"", INSTANCE_PG);
    roundtrip(&c, "{\"jsonrpc\":\"2.0\",\"id\":\"g\",\"method\":\"tools/call\",\"params\":{\"name\":\"get_instance\","
                  "\"arguments\":{\"id\":\"data/apps/v1/StatefulSet/orders-postgres\"}}}", ok);
    free(ok);
    roundtrip(&c, "{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"tools/call\",\"params\":{\"name\":\"get_instance\","
                  "\"arguments\":{\"id\":\"data/v1/Service/nope\"}}}",
              "{\"jsonrpc\":\"2.0\",\"id\":5,\"result\":{\"content\":[{\"type\":\"text\",\"text\":\"no instance with "
              "id data/v1/Service/nope\"}],\"isError\":true}}");
    CU_ASSERT_EQUAL(client_finish(&c), 0);
}

static void test_session_direct(void)
{
    session(NULL);
}

/* The same session through a running serve's search API. */
static void test_session_through_server(void)
{
    unsigned short port = http_free_port();
    char p[16], url[64];
    snprintf(p, sizeof p, "%u", port);
    snprintf(url, sizeof url, "http://127.0.0.1:%u", port);
    char *argv[] = { getenv("CW_BIN"), "serve", "--host", "127.0.0.1", "--port", p, "--chroma-url",
                     g_env.chroma_url, "--collection", g_env.collection, "--embedder", "openai",
                     "--embed-url", (char *)cw_mock_embedder_url(g_env.mock), NULL };
    pid_t pid = proc_serve(argv, g_env.log, port, 60000);
    CU_ASSERT_FATAL(pid > 0);
    session(url);
    CU_ASSERT_EQUAL(proc_stop(pid, SIGTERM, 30000), 0);

    /* the server gone: a tool error, not a protocol error */
    client c;
    CU_ASSERT_EQUAL_FATAL(client_start(&c, mcp_argv(url)), 0);
    client_send(&c, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":"
                    "\"search_instances\",\"arguments\":{\"query\":\"x\"}}}");
    char *got = client_read(&c);
    CU_ASSERT_PTR_NOT_NULL_FATAL(got);
    CU_ASSERT_PTR_NOT_NULL(strstr(got, "\"text\":\"search failed: cannot reach the server at http://127.0.0.1:"));
    CU_ASSERT_PTR_NOT_NULL(strstr(got, "\"isError\":true}}"));
    free(got);
    CU_ASSERT_EQUAL(client_finish(&c), 0);
}

static void test_version_negotiation(void)
{
    client c;
    CU_ASSERT_EQUAL_FATAL(client_start(&c, mcp_argv(NULL)), 0);
    char want[2048];
    snprintf(want, sizeof want, INIT_ANSWER, "2024-11-05");
    roundtrip(&c, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\",\"params\":{\"protocolVersion\":"
                  "\"2024-11-05\",\"capabilities\":{}}}", want);
    snprintf(want, sizeof want, INIT_ANSWER, "2025-03-26");
    roundtrip(&c, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\",\"params\":{\"protocolVersion\":"
                  "\"2025-03-26\"}}", want);
    /* unknown: our latest, the client decides */
    snprintf(want, sizeof want, INIT_ANSWER, "2025-06-18");
    roundtrip(&c, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\",\"params\":{\"protocolVersion\":"
                  "\"2099-01-01\"}}", want);
    CU_ASSERT_EQUAL(client_finish(&c), 0);
}

static void test_malformed_messages(void)
{
    client c;
    CU_ASSERT_EQUAL_FATAL(client_start(&c, mcp_argv(NULL)), 0);
#define PARSE ERR("null", -32700, "parse error: not one well-formed JSON value in UTF-8 (at most 8 levels deep)")
    roundtrip(&c, "not json", PARSE);
    roundtrip(&c, "{\"jsonrpc\":\"2.0\",\"id\":1,", PARSE);
    roundtrip(&c, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"} trailing", PARSE);
    roundtrip(&c, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"p\\u0000ng\"}", PARSE);
    roundtrip(&c, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"\xc0\xaf\"}", PARSE);
    roundtrip(&c, "{\"a\":[[[[[[[[[[1]]]]]]]]]]}", PARSE);
    roundtrip(&c, "{\"jsonrpc\":\"2.0\",\"id\":NaN,\"method\":\"ping\"}", PARSE);

    roundtrip(&c, "[{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}]",
              ERR("null", -32600, "invalid request: batches are not supported"));
    roundtrip(&c, "42", ERR("null", -32600, "invalid request: a message is a JSON object"));
    roundtrip(&c, "{\"id\":1,\"method\":\"ping\"}", ERR("1", -32600, "invalid request: \\\"jsonrpc\\\" must be \\\"2.0\\\""));
    roundtrip(&c, "{\"jsonrpc\":\"1.0\",\"id\":1,\"method\":\"ping\"}",
              ERR("1", -32600, "invalid request: \\\"jsonrpc\\\" must be \\\"2.0\\\""));
    roundtrip(&c, "{\"jsonrpc\":\"2.0\",\"id\":null,\"method\":\"ping\"}",
              ERR("null", -32600, "invalid request: \\\"id\\\" must be a string or an integer"));
    roundtrip(&c, "{\"jsonrpc\":\"2.0\",\"id\":1.5,\"method\":\"ping\"}",
              ERR("null", -32600, "invalid request: \\\"id\\\" must be a string or an integer"));
    roundtrip(&c, "{\"jsonrpc\":\"2.0\",\"id\":{},\"method\":\"ping\"}",
              ERR("null", -32600, "invalid request: \\\"id\\\" must be a string or an integer"));
    roundtrip(&c, "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":5}", ERR("7", -32600, "invalid request: \\\"method\\\" must be a string"));
    roundtrip(&c, "{\"jsonrpc\":\"2.0\",\"id\":7}", ERR("7", -32600, "invalid request: \\\"method\\\" must be a string"));
    roundtrip(&c, "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"ping\",\"params\":\"x\"}",
              ERR("7", -32600, "invalid request: \\\"params\\\" must be an object or an array"));

    roundtrip(&c, "{\"jsonrpc\":\"2.0\",\"id\":8,\"method\":\"resources/list\"}",
              ERR("8", -32601, "method not found (initialize, ping, tools/list, tools/call)"));
    roundtrip(&c, "{\"jsonrpc\":\"2.0\",\"id\":\"x\",\"method\":\"\"}",
              ERR("\"x\"", -32601, "method not found (initialize, ping, tools/list, tools/call)"));

    roundtrip(&c, "{\"jsonrpc\":\"2.0\",\"id\":9,\"method\":\"tools/call\",\"params\":[1]}",
              ERR("9", -32602, "invalid params: \\\"params\\\" must be an object"));
    roundtrip(&c, "{\"jsonrpc\":\"2.0\",\"id\":9,\"method\":\"tools/call\",\"params\":{}}",
              ERR("9", -32602, "name: wants the tool's name (a string)"));
    roundtrip(&c, "{\"jsonrpc\":\"2.0\",\"id\":9,\"method\":\"tools/call\",\"params\":{\"name\":\"rm_rf\"}}",
              ERR("9", -32602, "unknown tool (search_instances, get_instance)"));
    roundtrip(&c, "{\"jsonrpc\":\"2.0\",\"id\":9,\"method\":\"tools/call\",\"params\":{\"name\":\"search_instances\","
                  "\"arguments\":[]}}", ERR("9", -32602, "arguments: wants an object"));
    roundtrip(&c, "{\"jsonrpc\":\"2.0\",\"id\":9,\"method\":\"tools/call\",\"params\":{\"name\":\"search_instances\"}}",
              ERR("9", -32602, "query: missing"));
    roundtrip(&c, "{\"jsonrpc\":\"2.0\",\"id\":9,\"method\":\"tools/call\",\"params\":{\"name\":\"search_instances\","
                  "\"arguments\":{\"query\":\"x\",\"n\":0}}}", ERR("9", -32602, "n: wants a number from 1 to 100"));
    roundtrip(&c, "{\"jsonrpc\":\"2.0\",\"id\":9,\"method\":\"tools/call\",\"params\":{\"name\":\"search_instances\","
                  "\"arguments\":{\"query\":\"x\",\"limit\":3}}}",
              ERR("9", -32602, "unknown parameter 'limit' (expected query (or q), n, kind, namespace, cluster, ranking, explain)"));
    roundtrip(&c, "{\"jsonrpc\":\"2.0\",\"id\":9,\"method\":\"tools/call\",\"params\":{\"name\":\"get_instance\","
                  "\"arguments\":{\"id\":5}}}", ERR("9", -32602, "id: wants a string"));
    roundtrip(&c, "{\"jsonrpc\":\"2.0\",\"id\":9,\"method\":\"tools/call\",\"params\":{\"name\":\"get_instance\","
                  "\"arguments\":{}}}", ERR("9", -32602, "id: missing"));
    roundtrip(&c, "{\"jsonrpc\":\"2.0\",\"id\":9,\"method\":\"initialize\",\"params\":{\"protocolVersion\":5}}",
              ERR("9", -32602, "protocolVersion: wants a string"));

    /* answers and unknown notifications are not answered; blank lines are skipped */
    client_send(&c, "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{}}");
    client_send(&c, "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/cancelled\",\"params\":{\"requestId\":1}}");
    client_send(&c, "");
    client_send(&c, "\r");
    roundtrip(&c, "{\"jsonrpc\":\"2.0\",\"id\":10,\"method\":\"ping\"}\r", "{\"jsonrpc\":\"2.0\",\"id\":10,\"result\":{}}");

    /* an integer id is echoed exactly over the whole 64-bit range, signed
     * and unsigned (json-c keeps 2^63..2^64-1 unsigned); past it, a parse error */
    static const char *const BIG_IDS[] = { "9223372036854775807", "9223372036854775808",
                                           "18446744073709551615", "-9223372036854775808" };
    for (size_t i = 0; i < sizeof BIG_IDS / sizeof BIG_IDS[0]; i++) {
        char msg[128], want[128];
        snprintf(msg, sizeof msg, "{\"jsonrpc\":\"2.0\",\"id\":%s,\"method\":\"ping\"}", BIG_IDS[i]);
        snprintf(want, sizeof want, "{\"jsonrpc\":\"2.0\",\"id\":%s,\"result\":{}}", BIG_IDS[i]);
        roundtrip(&c, msg, want);
    }
    roundtrip(&c, "{\"jsonrpc\":\"2.0\",\"id\":18446744073709551616,\"method\":\"ping\"}", PARSE);

    /* a line over 1 MiB: a parse error, and the next line is read as usual */
    char *big = malloc((1u << 20) + 16);
    CU_ASSERT_PTR_NOT_NULL_FATAL(big);
    memset(big, ' ', (1u << 20) + 8);
    big[(1u << 20) + 8] = '\0';
    roundtrip(&c, big, ERR("null", -32700, "parse error: message longer than 1 MiB"));
    free(big);
    roundtrip(&c, "{\"jsonrpc\":\"2.0\",\"id\":11,\"method\":\"ping\"}", "{\"jsonrpc\":\"2.0\",\"id\":11,\"result\":{}}");
    /* a last line without a newline is still answered, then EOF ends it: exit 0 */
    fputs("{\"jsonrpc\":\"2.0\",\"id\":12,\"method\":\"ping\"}", c.to);
    fclose(c.to);
    c.to = fopen("/dev/null", "w");
    char *got = client_read(&c);
    CU_ASSERT_PTR_NOT_NULL(got);
    if (got != NULL)
        CU_ASSERT_STRING_EQUAL(got, "{\"jsonrpc\":\"2.0\",\"id\":12,\"result\":{}}");
    free(got);
    CU_ASSERT_EQUAL(client_finish(&c), 0);
}

static void test_usage(void)
{
    char *argv[] = { getenv("CW_BIN"), "mcp", "extra", NULL };
    char *out = NULL, *err = NULL;
    CU_ASSERT_EQUAL(proc_run(argv, &out, &err), 2);
    CU_ASSERT_STRING_EQUAL(err, "cluster-whisperer mcp: unexpected argument 'extra' (see --help)\n");
    free(out);
    free(err);
    char *argv2[] = { getenv("CW_BIN"), "mcp", "--server", "localhost:3000", NULL };
    CU_ASSERT_EQUAL(proc_run(argv2, &out, &err), 2);
    CU_ASSERT_STRING_EQUAL(err, "cluster-whisperer mcp: --server: 'localhost:3000' is not an http:// or https:// URL\n");
    free(out);
    free(err);
    char *argv3[] = { getenv("CW_BIN"), "mcp", "--help", NULL };
    CU_ASSERT_EQUAL(proc_run(argv3, &out, &err), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "--server URL"));
    CU_ASSERT_PTR_NULL(strstr(out, "--kind"));
    free(out);
    free(err);
}

int main(void)
{
    if (cli_env_open(&g_env, "cli_mcp", "t_mcp", 16) != 0) {
        cli_env_close(&g_env);
        return 1;
    }
    /* the inventory, through the pipeline without HTTP */
    char path[] = "/tmp/cw-mcp-inv-XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0 || write(fd, INVENTORY, sizeof INVENTORY - 1) != (ssize_t)(sizeof INVENTORY - 1)) {
        fprintf(stderr, "cli_mcp: cannot write %s\n", path);
        cli_env_close(&g_env);
        return 1;
    }
    close(fd);
    char *sync[] = { getenv("CW_BIN"), "sync", "--chroma-url", g_env.chroma_url, "--collection", g_env.collection,
                     "--embedder", "openai", "--embed-url", (char *)cw_mock_embedder_url(g_env.mock), path, NULL };
    char *out = NULL, *err = NULL;
    int src = proc_run(sync, &out, &err);
    unlink(path);
    if (src != 0) {
        fprintf(stderr, "cli_mcp: sync failed: %s%s\n", out != NULL ? out : "", err != NULL ? err : "");
        cli_env_close(&g_env);
        return 1;
    }
    free(out);
    free(err);
    CU_TestInfo tests[] = {
        { "initialize → tools/list → tools/call, Chroma directly", test_session_direct },
        { "the same through serve (--server); server gone: a tool error", test_session_through_server },
        { "protocol version negotiation", test_version_negotiation },
        { "malformed JSON-RPC: -32700, -32600, -32601, -32602; long line; EOF", test_malformed_messages },
        { "usage errors and --help", test_usage },
        CU_TEST_INFO_NULL,
    };
    int rc = cw_test_run("cli_mcp", tests);
    cli_env_close(&g_env);
    return rc;
}
