/* cw_http_access_log — what is recorded when a request is answered: its
 * metrics (metrics.h) and its one log line. The transport (http_server.c)
 * calls cw_http_access_done() once per answer, on the connection thread.
 *
 * The line, text (after cw_log's time and level):
 *   POST /api/v1/instances/sync 200 12.3ms upserts=3 deletes=1 embed_calls=1
 *   POST /api/v1/instances/sync 503 25001.0ms upserts=3 deletes=0 embed_calls=1: unavailable: <what failed>; told client 503, Retry-After: 5
 *   GET /nope 404 0.1ms: no route for GET /nope; told client 404
 * JSON: {"time":...,"level":...,"msg":"POST /api/v1/instances/sync 200",
 *   "method","path","route","status","duration_ms"[,"upserts","deletes",
 *   "embed_calls" (valid sync payloads)][,"error"[,"retry_after_s"]]}
 * upserts/deletes/embed_calls appear for a valid sync payload only; error
 * (what failed) and the Retry-After told to the client for a status ≥ 400.
 * Level: info below 500, warn for 503, error for other 5xx.
 * Probes (GET or HEAD of /healthz, /readyz, /metrics, whatever their
 * answer) are logged only when `log_probes` (serve --log-probes).
 */
#ifndef CW_HTTP_ACCESS_LOG_H
#define CW_HTTP_ACCESS_LOG_H

#include <stdint.h>

#include "answer.h"
#include "metrics.h"
#include "request.h"
#include "routes.h"

/* One answered request, as the line describes it. Borrowed. */
typedef struct cw_http_access {
    const char *method;          /* NULL: "-" */
    const char *path;            /* NULL: "-"; longer than 256 bytes is cut */
    cw_http_route route;
    int64_t duration_us;
    const cw_http_answer *answer;
} cw_http_access;

/* Write the line of `e` (see above) unless it is a probe and !log_probes. */
void cw_http_access_log(const cw_http_access *e, int log_probes);

/* Count `a` in `m` (requests, duration, ops received) and log its line.
 * `r` is NULL when the request got no context (out of memory). */
void cw_http_access_done(cw_http_metrics *m, int log_probes, const cw_http_request *r,
                         const cw_http_answer *a);

#endif
