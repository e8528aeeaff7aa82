/* libFuzzer entry point for the MCP message handler (src/mcp/mcp.c):
 * cw_mcp_handle() on any bytes, with a fake backend in place of Chroma
 * (its search echoes the request it was given; its get finds one id, fails
 * on another, misses the rest).
 *
 *   contrib/fuzz.sh mcp 60
 *
 * Checks beyond "no crash, no leak, no UB": every answer is one JSON
 * object of JSON-RPC 2.0 with exactly one of result and error; an error's
 * code is one of -32700, -32600, -32601, -32602, -32603; an answer has no
 * newline (one message per line on stdio); an answer that names an id
 * names the request's own. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "mcp.h"

static void must(int cond)
{
    if (!cond)
        abort();
}

static int fake_search(void *ctx, const cw_search_request *req, char **json_out, cw_error *err)
{
    (void)ctx;
    /* the request's fields must hold what the checks promise */
    must(req->query != NULL && req->query[0] != '\0' && strlen(req->query) <= CW_SEARCH_MAX_QUERY);
    must(req->n >= 1 && req->n <= CW_SEARCH_MAX_N);
    if (strcmp(req->query, "fail") == 0)
        return cw_error_set(err, CW_E_UNAVAILABLE, "chroma: down");
    json_object *o = json_object_new_object();
    json_object_object_add(o, "query", json_object_new_string(req->query));
    json_object_object_add(o, "n", json_object_new_int64((int64_t)req->n));
    json_object_object_add(o, "kind", req->kind != NULL ? json_object_new_string(req->kind) : NULL);
    json_object_object_add(o, "ranking", json_object_new_string(cw_search_mode_name(req->mode)));
    const char *t = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
    *json_out = t != NULL ? strdup(t) : NULL;
    json_object_put(o);
    return *json_out != NULL ? 0 : cw_error_set(err, CW_E_NOMEM, "out of memory");
}

static int fake_get(void *ctx, const char *id, char **json_out, cw_error *err)
{
    (void)ctx;
    *json_out = NULL;
    if (strcmp(id, "fail") == 0)
        return cw_error_set(err, CW_E_UNAVAILABLE, "chroma: down");
    if (strcmp(id, "data/apps/v1/StatefulSet/pg") == 0)
        *json_out = strdup("{\"id\":\"data/apps/v1/StatefulSet/pg\"}");
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static cw_mcp *m;
    if (m == NULL) {
        cw_mcp_backend b = { fake_search, fake_get, NULL };
        m = cw_mcp_create(&b);
        must(m != NULL);
    }
    char *answer = cw_mcp_handle(m, (const char *)data, size);
    if (answer == NULL)
        return 0;                       /* a notification or an answer */
    must(strchr(answer, '\n') == NULL);
    json_object *a = json_tokener_parse(answer);
    must(json_object_is_type(a, json_type_object));
    json_object *v = NULL, *id = NULL;
    must(json_object_object_get_ex(a, "jsonrpc", &v) && strcmp(json_object_get_string(v), "2.0") == 0);
    must(json_object_object_get_ex(a, "id", &id));
    int has_result = json_object_object_get_ex(a, "result", NULL);
    json_object *e = NULL;
    int has_error = json_object_object_get_ex(a, "error", &e);
    must(has_result != has_error);
    if (has_error) {
        json_object *code = NULL;
        must(json_object_object_get_ex(e, "code", &code));
        int c = json_object_get_int(code);
        must(c == -32700 || c == -32600 || c == -32601 || c == -32602 || c == -32603);
        must(json_object_object_get_ex(e, "message", NULL));
    }

    /* an answer naming an id names the request's own */
    if (id != NULL) {
        char *copy = malloc(size + 1);
        must(copy != NULL);
        memcpy(copy, data, size);
        copy[size] = '\0';
        json_object *req = json_tokener_parse(copy), *rid = NULL;
        must(json_object_object_get_ex(req, "id", &rid) && json_object_equal(rid, id));
        json_object_put(req);
        free(copy);
    }
    json_object_put(a);
    free(answer);
    return 0;
}
