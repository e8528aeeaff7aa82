/* cw_http_routes — which path is which route, which methods it allows, and
 * the handlers that turn a request into a cw_http_answer (status + body).
 * No libmicrohttpd here: http_server.c does the transport.
 */
#ifndef CW_HTTP_ROUTES_H
#define CW_HTTP_ROUTES_H

#include <stddef.h>
#include <stdint.h>

#include "answer.h"
#include "http_server.h"
#include "pipeline.h"

typedef enum cw_http_route {
    CW_ROUTE_SYNC,
    CW_ROUTE_HEALTHZ,
    CW_ROUTE_READYZ,
    CW_ROUTE_METRICS,
    CW_ROUTE_OTHER,         /* unknown path: 404 */
    CW_ROUTE_COUNT
} cw_http_route;

/* The route of `path` (no query string; one trailing slash allowed, so
 * "/healthz/" is /healthz). On the admin listener the sync path is
 * CW_ROUTE_OTHER. */
cw_http_route cw_http_route_find(const char *path, int admin);

/* Metric label: "sync", "healthz", "readyz", "metrics", "other". */
const char *cw_http_route_name(cw_http_route route);

/* The Allow header value of a known route ("POST" or "GET, HEAD"). */
const char *cw_http_route_allow(cw_http_route route);

/* 1 when `method` is allowed on `route`. */
int cw_http_route_method_ok(cw_http_route route, const char *method);

/* Fill `a` for the cases decided without a body: 404, 405 + Allow. */
void cw_http_answer_not_found(cw_http_answer *a, const char *method, const char *path);
void cw_http_answer_method(cw_http_answer *a, cw_http_route route, const char *method);

/* POST sync: parse `body[0..len)` with the generated parser; on success
 * submit to `pipeline` with `deadline_ms` and answer after the commit.
 * 400 issues, 503 + Retry-After transient, 500 otherwise. */
void cw_http_handle_sync(cw_http_answer *a, cw_pipeline *pipeline, const char *body,
                         size_t len, int64_t deadline_ms);

/* GET /healthz: 200 {"status":"ok"}. */
void cw_http_handle_healthz(cw_http_answer *a);

/* GET /readyz: 503 "shutting down" when `shutting_down`; else asks
 * `ready` (NULL = ready). */
void cw_http_handle_readyz(cw_http_answer *a, int shutting_down, cw_http_ready_fn ready,
                           void *ready_ctx);

#endif
