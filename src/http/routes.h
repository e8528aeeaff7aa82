/* cw_http_routes — which path is which route, which methods it allows, and
 * the handlers that turn a request into a cw_http_answer (status + body).
 * No libmicrohttpd here: http_server.c does the transport.
 */
#ifndef CW_HTTP_ROUTES_H
#define CW_HTTP_ROUTES_H

#include <stddef.h>
#include <stdint.h>

#include "answer.h"
#include "chroma.h"
#include "embedder.h"
#include "http_server.h"
#include "pipeline.h"

typedef enum cw_http_route {
    CW_ROUTE_SYNC,
    CW_ROUTE_HEALTHZ,
    CW_ROUTE_READYZ,
    CW_ROUTE_METRICS,
    CW_ROUTE_SEARCH,        /* GET|POST /api/v1/instances/search */
    CW_ROUTE_INSTANCE,      /* GET /api/v1/instances/ID */
    CW_ROUTE_OTHER,         /* unknown path: 404 */
    CW_ROUTE_COUNT
} cw_http_route;

/* The route of `path` (no query string; one trailing slash allowed, so
 * "/healthz/" is /healthz). On the admin listener the sync, search and
 * instance paths are CW_ROUTE_OTHER. An instance path is the prefix and a
 * non-empty id other than "sync" and "search". The cluster form of the
 * sync path, /api/v1/clusters/NAME/instances/sync, is CW_ROUTE_SYNC
 * whatever NAME holds (but '/'): a bad name is a 400 that says why, not a
 * 404. */
cw_http_route cw_http_route_find(const char *path, int admin);

/* 1 when `path` is the cluster form of the sync path, with *name /
 * *name_len the NAME segment (not checked, may be empty); else 0. */
int cw_http_sync_path_cluster(const char *path, const char **name, size_t *name_len);

/* Metric label: "sync", "healthz", "readyz", "metrics", "search",
 * "instance", "other". */
const char *cw_http_route_name(cw_http_route route);

/* The Allow header value of a known route ("POST", "GET, POST", "GET" or
 * "GET, HEAD"). */
const char *cw_http_route_allow(cw_http_route route);

/* 1 when `method` is allowed on `route`. */
int cw_http_route_method_ok(cw_http_route route, const char *method);

/* POST sync: parse `body[0..len)` with the generated parser; on success
 * submit to `pipeline` with `deadline_ms` and answer after the commit.
 * 400 issues, 503 + Retry-After transient, 500 otherwise. */
void cw_http_handle_sync(cw_http_answer *a, cw_pipeline *pipeline, const char *body,
                         size_t len, int64_t deadline_ms);

/* The same for a request of `cluster` (a checked DNS-1123 label; NULL:
 * none, exactly cw_http_handle_sync). Of no cluster, an id shaped
 * NAME:... is a 400 issue (code cluster_qualified_id) at its path, before
 * the pipeline sees the request. a->note.cluster names the cluster. */
void cw_http_handle_sync_in(cw_http_answer *a, cw_pipeline *pipeline, const char *cluster,
                            const char *body, size_t len, int64_t deadline_ms);

/* A URL query parameter, decoded (value_len counts an embedded NUL). */
typedef struct cw_http_arg {
    const char *key;
    const char *value;
    size_t value_len;
} cw_http_arg;

#define CW_HTTP_MAX_ARGS 16

/* The query string's parameters, as the transport collected them; `more`
 * is set when there were more than CW_HTTP_MAX_ARGS. */
typedef struct cw_http_args {
    cw_http_arg items[CW_HTTP_MAX_ARGS];
    size_t len;
    int more;
} cw_http_args;

/* GET (parameters in `args`) or POST (a JSON object in `body`, no query
 * string) /api/v1/instances/search: 200 the results' JSON, 400 bad
 * parameters, 503 + Retry-After when Chroma or the embedder is
 * unavailable, 500 otherwise. `metrics` (may be NULL) counts the query. */
struct cw_http_metrics;
void cw_http_handle_search(cw_http_answer *a, cw_chroma *chroma, cw_embedder *embedder,
                           struct cw_http_metrics *metrics, const char *method,
                           const cw_http_args *args, const char *body, size_t len);

/* GET /api/v1/instances/ID (`path` the whole path): 200 the instance, 404
 * when not stored, 400 for an unusable id, 503 when Chroma is unavailable. */
void cw_http_handle_instance(cw_http_answer *a, cw_chroma *chroma, const char *path);

/* GET /healthz: 200 {"status":"ok"}. */
void cw_http_handle_healthz(cw_http_answer *a);

/* GET /readyz: 503 "shutting down" when `shutting_down`; else asks
 * `ready` (NULL = ready). */
void cw_http_handle_readyz(cw_http_answer *a, int shutting_down, cw_http_ready_fn ready,
                           void *ready_ctx);

#endif
