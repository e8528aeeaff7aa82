/* The MCP message handler and the stdio loop (mcp.h). */
#include "mcp.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "schema_rt.h"

#define E_PARSE   (-32700)
#define E_REQUEST (-32600)
#define E_METHOD  (-32601)
#define E_PARAMS  (-32602)
#define E_INTERNAL (-32603)

static const char *const VERSIONS[] = { "2025-06-18", "2025-03-26", "2024-11-05" };

struct cw_mcp {
    cw_mcp_backend backend;
    char version[32];          /* negotiated, "" before initialize */
};

cw_mcp *cw_mcp_create(const cw_mcp_backend *backend)
{
    cw_mcp *m = calloc(1, sizeof *m);
    if (m == NULL)
        return NULL;
    m->backend = *backend;
    return m;
}

void cw_mcp_destroy(cw_mcp *m)
{
    free(m);
}

/* ---- building answers ---------------------------------------------------- */

/* Serialise and put `o`; NULL on OOM. */
static char *take_text(json_object *o)
{
    char *s = NULL;
    if (o != NULL) {
        const char *t = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
        if (t != NULL)
            s = strdup(t);
    }
    json_object_put(o);
    return s;
}

/* Add `v` under `key`; on failure `v` is put and 1 returned. */
static int put(json_object *o, const char *key, json_object *v)
{
    if (o == NULL || json_object_object_add(o, key, v) != 0) {
        json_object_put(v);
        return 1;
    }
    return 0;
}

/* A copy of the request's id (string or integer), or JSON null. */
static json_object *id_copy(json_object *id)
{
    if (json_object_is_type(id, json_type_string))
        return json_object_new_string_len(json_object_get_string(id), json_object_get_string_len(id));
    if (json_object_is_type(id, json_type_int)) {
        /* json-c keeps 2^63 .. 2^64-1 as unsigned; get_int64 would clamp
         * it to INT64_MAX and the answer would name another id. */
        int64_t v = json_object_get_int64(id);
        return v == INT64_MAX ? json_object_new_uint64(json_object_get_uint64(id))
                              : json_object_new_int64(v);
    }
    return NULL;
}

static char *answer_error(json_object *id, int code, const char *message)
{
    json_object *o = json_object_new_object(), *e = json_object_new_object();
    if (o == NULL || e == NULL) {
        json_object_put(o);
        json_object_put(e);
        return NULL;
    }
    int bad = put(o, "jsonrpc", json_object_new_string("2.0"));
    bad |= put(o, "id", id_copy(id));
    bad |= put(e, "code", json_object_new_int(code));
    bad |= put(e, "message", json_object_new_string(message));
    bad |= put(o, "error", e);
    if (bad) {
        json_object_put(o);
        return NULL;
    }
    return take_text(o);
}

static char *answer_result(json_object *id, json_object *result)
{
    json_object *o = json_object_new_object();
    if (o == NULL || result == NULL) {
        json_object_put(o);
        json_object_put(result);
        return NULL;
    }
    int bad = put(o, "jsonrpc", json_object_new_string("2.0"));
    bad |= put(o, "id", id_copy(id));
    bad |= put(o, "result", result);
    if (bad) {
        json_object_put(o);
        return NULL;
    }
    return take_text(o);
}

/* ---- methods ------------------------------------------------------------- */

static json_object *str(const char *s)
{
    return json_object_new_string(s);
}

static char *do_initialize(cw_mcp *m, json_object *id, json_object *params)
{
    json_object *v = NULL;
    const char *want = NULL;
    if (json_object_object_get_ex(params, "protocolVersion", &v)) {
        if (!json_object_is_type(v, json_type_string))
            return answer_error(id, E_PARAMS, "protocolVersion: wants a string");
        want = json_object_get_string(v);
    }
    const char *version = VERSIONS[0];
    for (size_t i = 0; want != NULL && i < sizeof VERSIONS / sizeof VERSIONS[0]; i++)
        if (strcmp(want, VERSIONS[i]) == 0)
            version = VERSIONS[i];
    snprintf(m->version, sizeof m->version, "%s", version);

    json_object *r = json_object_new_object(), *caps = json_object_new_object(),
                *tools = json_object_new_object(), *info = json_object_new_object();
    int bad = r == NULL || caps == NULL || tools == NULL || info == NULL;
    if (bad) {
        json_object_put(r);
        json_object_put(caps);
        json_object_put(tools);
        json_object_put(info);
        return NULL;
    }
    bad |= put(r, "protocolVersion", str(version));
    bad |= put(tools, "listChanged", json_object_new_boolean(0));
    bad |= put(caps, "tools", tools);
    bad |= put(r, "capabilities", caps);
    bad |= put(info, "name", str("cluster-whisperer"));
    bad |= put(info, "title", str("cluster-whisperer: search a Kubernetes cluster's resources"));
    bad |= put(info, "version", str(CW_VERSION));
    bad |= put(r, "serverInfo", info);
    bad |= put(r, "instructions",
               str("Search the resources of the Kubernetes cluster(s) that k8s-vectordb-sync pushes here. "
                   "search_instances ranks them for a question (meaning, names, kinds, namespaces, teams); "
                   "get_instance returns one by the id search_instances gave."));
    if (bad) {
        json_object_put(r);
        return NULL;
    }
    return answer_result(id, r);
}

/* The tools and their input schemas (JSON Schema), as one constant. */
static const char TOOLS_JSON[] =
    "{\"tools\":["
    "{\"name\":\"search_instances\",\"title\":\"Search cluster resources\","
    "\"description\":\"Find the Kubernetes resources (Deployments, StatefulSets, Services, Ingresses, CronJobs, "
    "ConfigMaps, CRDs...) that best match a question in plain words, e.g. 'which databases are running' or "
    "'cron jobs of the payments team'. Ranking fuses semantic similarity, keyword matching on names and text, "
    "and the kind or namespace/team/cluster the question names. Returns ranked results with id, cluster (null "
    "when the resource was pushed without one), namespace, kind, name, score and the stored text.\","
    "\"inputSchema\":{\"type\":\"object\",\"properties\":{"
    "\"query\":{\"type\":\"string\",\"minLength\":1,\"maxLength\":1024,\"description\":\"The question or keywords.\"},"
    "\"n\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":100,\"default\":10,\"description\":\"How many results.\"},"
    "\"kind\":{\"type\":\"string\",\"description\":\"Only resources of this exact kind, e.g. StatefulSet.\"},"
    "\"namespace\":{\"type\":\"string\",\"description\":\"Only resources in this namespace (_cluster for "
    "cluster-scoped ones).\"},"
    "\"cluster\":{\"type\":\"string\",\"minLength\":1,\"maxLength\":63,\"pattern\":\"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$\","
    "\"description\":\"Only resources of this Kubernetes cluster (the name its controller's endpoint gives); "
    "omit it to search every cluster.\"},"
    "\"ranking\":{\"type\":\"string\",\"enum\":[\"hybrid\",\"vector\",\"lexical\"],\"default\":\"hybrid\","
    "\"description\":\"hybrid (default), vector only, or keywords only.\"},"
    "\"explain\":{\"type\":\"boolean\",\"default\":false,\"description\":\"Also show each ranking signal's "
    "contribution.\"}},"
    "\"required\":[\"query\"],\"additionalProperties\":false},"
    "\"annotations\":{\"readOnlyHint\":true,\"openWorldHint\":false}},"
    "{\"name\":\"get_instance\",\"title\":\"Get one cluster resource\","
    "\"description\":\"Return one stored Kubernetes resource by its id (namespace/apiVersion/Kind/name, or "
    "CLUSTER:namespace/apiVersion/Kind/name for a named cluster's, exactly as search_instances returns it): "
    "its metadata, labels and stored text.\","
    "\"inputSchema\":{\"type\":\"object\",\"properties\":{"
    "\"id\":{\"type\":\"string\",\"minLength\":1,\"maxLength\":2112,\"description\":\"The resource id, e.g. "
    "default/apps/v1/Deployment/nginx.\"}},"
    "\"required\":[\"id\"],\"additionalProperties\":false},"
    "\"annotations\":{\"readOnlyHint\":true,\"openWorldHint\":false}}"
    "]}";

static char *do_tools_list(json_object *id)
{
    return answer_result(id, json_tokener_parse(TOOLS_JSON));
}

/* A tool's outcome: the JSON text as text content and, when it parses as
 * an object, as structuredContent; or an error text with isError. */
static char *tool_result(json_object *id, const char *json, const char *error_text)
{
    json_object *r = json_object_new_object(), *content = json_object_new_array(), *item = json_object_new_object();
    if (r == NULL || content == NULL || item == NULL) {
        json_object_put(r);
        json_object_put(content);
        json_object_put(item);
        return NULL;
    }
    const char *text = error_text != NULL ? error_text : json;
    int bad = put(item, "type", str("text"));
    bad |= put(item, "text", str(text));
    if (json_object_array_add(content, item) != 0) {
        json_object_put(item);
        bad = 1;
    }
    bad |= put(r, "content", content);
    if (error_text == NULL) {
        json_object *structured = json_tokener_parse(json);
        if (json_object_is_type(structured, json_type_object))
            bad |= put(r, "structuredContent", structured);
        else
            json_object_put(structured);
    }
    bad |= put(r, "isError", json_object_new_boolean(error_text != NULL));
    if (bad) {
        json_object_put(r);
        return NULL;
    }
    return answer_result(id, r);
}

static char *call_search(cw_mcp *m, json_object *id, json_object *args)
{
    cw_search_request req;
    cw_error err;
    cw_error_clear(&err);
    if (cw_search_request_from_json(&req, args, &err) != 0)
        return answer_error(id, E_PARAMS, err.msg);
    char *json = NULL;
    if (m->backend.search(m->backend.ctx, &req, &json, &err) != 0) {
        char msg[sizeof err.msg + 32];
        snprintf(msg, sizeof msg, "search failed: %s", err.msg);
        return tool_result(id, NULL, msg);
    }
    if (json == NULL)
        return tool_result(id, NULL, "search failed: no answer");
    char *out = tool_result(id, json, NULL);
    free(json);
    return out;
}

_Static_assert(CW_SEARCH_MAX_ID == 2112, "the id bound in TOOLS_JSON and call_get's message");

static char *call_get(cw_mcp *m, json_object *id, json_object *args)
{
    if (!json_object_is_type(args, json_type_object))
        return answer_error(id, E_PARAMS, "arguments: wants an object");
    const char *key_id = NULL;
    json_object_object_foreach(args, key, v) {
        if (strcmp(key, "id") != 0)
            return answer_error(id, E_PARAMS, "unknown argument (get_instance takes id)");
        if (!json_object_is_type(v, json_type_string))
            return answer_error(id, E_PARAMS, "id: wants a string");
        key_id = json_object_get_string(v);
    }
    if (key_id == NULL)
        return answer_error(id, E_PARAMS, "id: missing");
    size_t n = strlen(key_id);
    if (n == 0 || n > CW_SEARCH_MAX_ID)
        return answer_error(id, E_PARAMS, "id: wants 1 to 2112 bytes");
    char *json = NULL;
    cw_error err;
    cw_error_clear(&err);
    if (m->backend.get(m->backend.ctx, key_id, &json, &err) != 0) {
        char msg[sizeof err.msg + 32];
        snprintf(msg, sizeof msg, "get_instance failed: %s", err.msg);
        return tool_result(id, NULL, msg);
    }
    if (json == NULL) {
        char msg[CW_SEARCH_MAX_ID + 64];
        snprintf(msg, sizeof msg, "no instance with id %s", key_id);
        return tool_result(id, NULL, msg);
    }
    char *out = tool_result(id, json, NULL);
    free(json);
    return out;
}

static char *do_tools_call(cw_mcp *m, json_object *id, json_object *params)
{
    json_object *name = NULL, *args = NULL;
    if (!json_object_object_get_ex(params, "name", &name) || !json_object_is_type(name, json_type_string))
        return answer_error(id, E_PARAMS, "name: wants the tool's name (a string)");
    int has_args = json_object_object_get_ex(params, "arguments", &args);
    if (has_args && args != NULL && !json_object_is_type(args, json_type_object))
        return answer_error(id, E_PARAMS, "arguments: wants an object");
    json_object *empty = NULL;
    if (args == NULL)
        args = empty = json_object_new_object();
    char *out;
    const char *tool = json_object_get_string(name);
    if (strcmp(tool, "search_instances") == 0)
        out = call_search(m, id, args);
    else if (strcmp(tool, "get_instance") == 0)
        out = call_get(m, id, args);
    else
        out = answer_error(id, E_PARAMS, "unknown tool (search_instances, get_instance)");
    json_object_put(empty);
    return out;
}

/* ---- one message --------------------------------------------------------- */

/* The message as a tree: 0, or the error code for the answer (-32700 for
 * anything that is not well-formed UTF-8 JSON, -32600 when it is but not
 * an object). */
static int parse(const char *msg, size_t len, json_object **out)
{
    *out = NULL;
    cw_issues *issues = malloc(sizeof *issues);
    if (issues == NULL)
        return E_INTERNAL;
    cw_issues_init(issues);
    *out = cw_rt_parse_tree(issues, msg, len);
    int code = 0;
    if (*out == NULL)
        code = issues->len > 0 && strcmp(issues->items[0].code, CW_ISSUE_NOT_OBJECT) == 0 ? E_REQUEST
             : cw_issues_is_oom(issues) ? E_INTERNAL : E_PARSE;
    free(issues);
    return code;
}

/* 1 when `s` starts (after spaces) with '[': a batch. */
static int looks_like_batch(const char *s, size_t len)
{
    size_t i = 0;
    while (i < len && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r' || s[i] == '\n'))
        i++;
    return i < len && s[i] == '[';
}

char *cw_mcp_handle(cw_mcp *m, const char *msg, size_t len)
{
    json_object *root = NULL;
    int code = parse(msg, len, &root);
    if (code == E_PARSE)
        return answer_error(NULL, E_PARSE, "parse error: not one well-formed JSON value in UTF-8 "
                                          "(at most 8 levels deep)");
    if (code == E_REQUEST)
        return answer_error(NULL, E_REQUEST, looks_like_batch(msg, len)
                                                 ? "invalid request: batches are not supported"
                                                 : "invalid request: a message is a JSON object");
    if (code != 0)
        return answer_error(NULL, E_INTERNAL, "out of memory");

    char *out = NULL;
    json_object *jsonrpc = NULL, *id = NULL, *method = NULL, *params = NULL;
    int has_id = json_object_object_get_ex(root, "id", &id);
    int has_method = json_object_object_get_ex(root, "method", &method);
    int has_params = json_object_object_get_ex(root, "params", &params);
    json_object_object_get_ex(root, "jsonrpc", &jsonrpc);
    int id_ok = json_object_is_type(id, json_type_string) || json_object_is_type(id, json_type_int);
    json_object *reply_id = id_ok ? id : NULL;

    if (!has_method && (json_object_object_get_ex(root, "result", NULL) ||
                        json_object_object_get_ex(root, "error", NULL)))
        goto out;                                   /* an answer: we asked nothing */
    if (!json_object_is_type(jsonrpc, json_type_string) || strcmp(json_object_get_string(jsonrpc), "2.0") != 0) {
        out = answer_error(reply_id, E_REQUEST, "invalid request: \"jsonrpc\" must be \"2.0\"");
        goto out;
    }
    if (has_id && !id_ok) {
        out = answer_error(NULL, E_REQUEST, "invalid request: \"id\" must be a string or an integer");
        goto out;
    }
    if (!json_object_is_type(method, json_type_string)) {
        out = answer_error(reply_id, E_REQUEST, "invalid request: \"method\" must be a string");
        goto out;
    }
    if (has_params && !json_object_is_type(params, json_type_object) &&
        !json_object_is_type(params, json_type_array)) {
        out = answer_error(reply_id, E_REQUEST, "invalid request: \"params\" must be an object or an array");
        goto out;
    }
    if (!has_id)
        goto out;                                   /* a notification: never answered */
    if (has_params && !json_object_is_type(params, json_type_object)) {
        out = answer_error(id, E_PARAMS, "invalid params: \"params\" must be an object");
        goto out;
    }

    const char *name = json_object_get_string(method);
    if (strcmp(name, "initialize") == 0)
        out = do_initialize(m, id, params);
    else if (strcmp(name, "ping") == 0)
        out = answer_result(id, json_object_new_object());
    else if (strcmp(name, "tools/list") == 0)
        out = do_tools_list(id);
    else if (strcmp(name, "tools/call") == 0)
        out = do_tools_call(m, id, params);
    else
        out = answer_error(id, E_METHOD, "method not found (initialize, ping, tools/list, tools/call)");
out:
    json_object_put(root);
    return out;
}

/* ---- stdio --------------------------------------------------------------- */

int cw_mcp_serve(cw_mcp *m, FILE *in, FILE *out)
{
    char *line = malloc(CW_MCP_MAX_MESSAGE + 1);
    if (line == NULL)
        return -1;
    int rc = 0;
    for (;;) {
        size_t len = 0;
        int c, too_long = 0, got = 0;
        while ((c = getc(in)) != EOF && c != '\n') {
            got = 1;
            if (len < CW_MCP_MAX_MESSAGE)
                line[len++] = (char)c;
            else
                too_long = 1;
        }
        if (c == EOF && !got)
            break;
        while (len > 0 && line[len - 1] == '\r')
            len--;
        line[len] = '\0';
        char *answer = NULL;
        if (too_long)
            answer = answer_error(NULL, E_PARSE, "parse error: message longer than 1 MiB");
        else if (len > 0)
            answer = cw_mcp_handle(m, line, len);
        if (answer != NULL) {
            int bad = fputs(answer, out) == EOF || fputc('\n', out) == EOF || fflush(out) != 0;
            free(answer);
            if (bad) {
                rc = -1;
                break;
            }
        }
        if (c == EOF)
            break;
    }
    free(line);
    return rc;
}
