/* The MCP server's two backends (mcp.h): the search module on Chroma
 * directly, or a running server's search API over HTTP. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <json-c/json.h>

#include "httpc.h"
#include "mcp.h"

#define REMOTE_MAX_ANSWER (8u * 1024 * 1024)

/* ---- direct -------------------------------------------------------------- */

typedef struct direct {
    cw_chroma *chroma;
    cw_embedder *embedder;
} direct;

static direct g_direct;   /* one direct backend per process: the mcp command's */

static int direct_search(void *ctx, const cw_search_request *req, char **json_out, cw_error *err)
{
    direct *d = ctx;
    cw_search_results res;
    *json_out = NULL;
    if (cw_search_run(d->chroma, d->embedder, req, &res, err) != 0)
        return -1;
    *json_out = cw_search_results_json(req->query, req->mode, &res, req->explain);
    cw_search_results_free(&res);
    if (*json_out == NULL)
        return cw_error_set(err, CW_E_NOMEM, "out of memory");
    return 0;
}

static int direct_get(void *ctx, const char *id, char **json_out, cw_error *err)
{
    direct *d = ctx;
    cw_chroma_records recs;
    *json_out = NULL;
    if (cw_search_get(d->chroma, id, &recs, err) != 0)
        return -1;
    if (recs.len > 0) {
        *json_out = cw_search_instance_json(&recs.items[0]);
        cw_chroma_records_free(&recs);
        if (*json_out == NULL)
            return cw_error_set(err, CW_E_NOMEM, "out of memory");
    }
    return 0;
}

void cw_mcp_backend_direct(cw_mcp_backend *b, cw_chroma *chroma, cw_embedder *embedder)
{
    g_direct.chroma = chroma;
    g_direct.embedder = embedder;
    b->search = direct_search;
    b->get = direct_get;
    b->ctx = &g_direct;
}

/* ---- remote -------------------------------------------------------------- */

struct cw_mcp_remote {
    char *url;                 /* without a trailing slash */
    long timeout_ms;
    cw_httpc_pool *pool;
};

cw_mcp_remote *cw_mcp_remote_create(const char *url, long timeout_ms)
{
    cw_mcp_remote *r = calloc(1, sizeof *r);
    if (r == NULL)
        return NULL;
    r->url = strdup(url);
    r->pool = cw_httpc_pool_create(1);
    r->timeout_ms = timeout_ms > 0 ? timeout_ms : 30000;
    if (r->url == NULL || r->pool == NULL) {
        cw_mcp_remote_destroy(r);
        return NULL;
    }
    size_t n = strlen(r->url);
    while (n > 0 && r->url[n - 1] == '/')
        r->url[--n] = '\0';
    return r;
}

void cw_mcp_remote_destroy(cw_mcp_remote *r)
{
    if (r == NULL)
        return;
    cw_httpc_pool_destroy(r->pool);
    free(r->url);
    free(r);
}

/* The "message" of an error answer {"error":..,"message":..}, else the body. */
static void server_message(const char *body, char *out, size_t cap)
{
    json_object *o = body != NULL ? json_tokener_parse(body) : NULL, *m = NULL;
    if (json_object_object_get_ex(o, "message", &m) && json_object_is_type(m, json_type_string))
        snprintf(out, cap, "%s", json_object_get_string(m));
    else
        snprintf(out, cap, "%.200s", body != NULL ? body : "");
    json_object_put(o);
}

/* One call: GET `url`, or POST `body` when not NULL. *status, and the
 * answer in *b. 0, or -1 with err (the server unreachable). */
static int call(cw_mcp_remote *r, const char *url, const char *body, long *status, cw_httpc_body *b,
                cw_error *err)
{
    int rc = -1;
    CURL *h = cw_httpc_pool_acquire(r->pool);
    struct curl_slist *headers = cw_httpc_json_headers(NULL);
    if (h == NULL || headers == NULL) {
        cw_error_set(err, CW_E_NOMEM, "out of memory");
        goto out;
    }
    cw_httpc_prepare(h, url, headers, 5000, r->timeout_ms, b);
    if (body != NULL)
        cw_httpc_post(h, body, strlen(body));
    CURLcode cc = curl_easy_perform(h);
    if (cc != CURLE_OK) {
        cw_error_set(err, CW_E_UNAVAILABLE, "cannot reach the server at %s: %s", r->url, curl_easy_strerror(cc));
        goto out;
    }
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, status);
    rc = 0;
out:
    curl_slist_free_all(headers);
    cw_httpc_pool_release(r->pool, h);
    return rc;
}

/* The server's answer: a 200's body moves to *json_out; any other status
 * is an error carrying the server's `msg` (5xx: unavailable). */
static int take_answer(long status, cw_httpc_body *b, const char *msg, char **json_out, cw_error *err)
{
    if (status != 200)
        return cw_error_set(err, status >= 500 ? CW_E_UNAVAILABLE : CW_E_INVALID,
                            "the server answered %ld: %s", status, msg);
    *json_out = b->data;
    b->data = NULL;
    return *json_out != NULL ? 0 : cw_error_set(err, CW_E_INTERNAL, "the server answered nothing");
}

static int remote_search(void *ctx, const cw_search_request *req, char **json_out, cw_error *err)
{
    cw_mcp_remote *r = ctx;
    *json_out = NULL;
    int rc = -1;
    char *url = NULL;
    cw_httpc_body b = { .max = REMOTE_MAX_ANSWER };
    json_object *o = json_object_new_object();
    if (o == NULL)
        return cw_error_set(err, CW_E_NOMEM, "out of memory");
    json_object_object_add(o, "query", json_object_new_string(req->query));
    json_object_object_add(o, "n", json_object_new_int64((int64_t)req->n));
    if (req->kind != NULL)
        json_object_object_add(o, "kind", json_object_new_string(req->kind));
    if (req->ns != NULL)
        json_object_object_add(o, "namespace", json_object_new_string(req->ns));
    json_object_object_add(o, "ranking", json_object_new_string(cw_search_mode_name(req->mode)));
    json_object_object_add(o, "explain", json_object_new_boolean(req->explain));
    const char *body = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
    size_t ul = strlen(r->url) + sizeof "/api/v1/instances/search";
    url = malloc(ul);
    if (body == NULL || url == NULL) {
        cw_error_set(err, CW_E_NOMEM, "out of memory");
        goto out;
    }
    snprintf(url, ul, "%s/api/v1/instances/search", r->url);
    long status = 0;
    if (call(r, url, body, &status, &b, err) != 0)
        goto out;
    char msg[256];
    server_message(b.data, msg, sizeof msg);
    rc = take_answer(status, &b, msg, json_out, err);
out:
    cw_httpc_body_clear(&b);
    free(url);
    json_object_put(o);
    return rc;
}

static int remote_get(void *ctx, const char *id, char **json_out, cw_error *err)
{
    cw_mcp_remote *r = ctx;
    *json_out = NULL;
    int rc = -1;
    char *url = NULL, *esc = curl_easy_escape(NULL, id, 0);
    cw_httpc_body b = { .max = REMOTE_MAX_ANSWER };
    if (esc == NULL)
        return cw_error_set(err, CW_E_NOMEM, "out of memory");
    size_t ul = strlen(r->url) + sizeof "/api/v1/instances/" + strlen(esc);
    url = malloc(ul);
    if (url == NULL) {
        cw_error_set(err, CW_E_NOMEM, "out of memory");
        goto out;
    }
    snprintf(url, ul, "%s/api/v1/instances/%s", r->url, esc);
    long status = 0;
    if (call(r, url, NULL, &status, &b, err) != 0)
        goto out;
    char msg[256];
    server_message(b.data, msg, sizeof msg);
    if (status == 404 && strncmp(msg, "no instance with id ", 20) == 0) {
        rc = 0;                     /* not stored (any other 404: no search API there) */
        goto out;
    }
    rc = take_answer(status, &b, msg, json_out, err);
out:
    cw_httpc_body_clear(&b);
    curl_free(esc);
    free(url);
    return rc;
}

void cw_mcp_backend_remote(cw_mcp_backend *b, cw_mcp_remote *r)
{
    b->search = remote_search;
    b->get = remote_get;
    b->ctx = r;
}
