/* cw_http_metrics — the HTTP side of /metrics, and the Prometheus text of
 * the whole page.
 *
 * Counted here, per server: requests by route and status code, request
 * duration by route (histogram), sync body sizes (histogram), upserts and
 * deletes received in valid sync payloads, searches answered by ranking
 * and the results they returned. Read at scrape time: the
 * in-flight gauge (the server's), the pipeline's queue depth and reused
 * vectors (cw_pipeline_stats_get), and the process-wide registry of
 * embedder and Chroma calls and batch sizes (cw_metrics.h).
 *
 * Per cluster (issue 14): valid sync requests, upserts and deletes by the
 * cluster the request named (label cluster; "" for none). At most
 * CW_HTTP_METRICS_MAX_CLUSTERS distinct names get series of their own, the
 * first ones seen; every later name is counted under cluster="other", so
 * a client inventing names cannot grow the page (a cluster really named
 * "other" shares that series). The names are DNS-1123 labels (the route
 * refuses anything else), so no label value needs escaping.
 *
 * Thread-safety: no lock on the counting path; every counter is a relaxed
 * atomic, so connection threads of both listeners record concurrently
 * without serialising (each value is exact; a scrape is not one snapshot
 * across values). Only giving a new cluster name its slot takes
 * `cluster_lock` (at most CW_HTTP_METRICS_MAX_CLUSTERS times per process).
 */
#ifndef CW_HTTP_METRICS_H
#define CW_HTTP_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "pipeline.h"
#include "routes.h"

/* Connections and requests the HTTP layer's protections refused or cut
 * (issue 11), the `reason` label of cw_http_protections_total. */
#define CW_HTTP_GUARDS(X) \
    X(MALFORMED_HEADERS, "malformed_headers") /* 400 + close: NUL in the line, bad name, CR/NUL, obs-fold */ \
    X(SLOW_BODY, "slow_body")                 /* body stalled or under the minimum rate: cut */ \
    X(HEADERS_TIMEOUT, "headers_timeout")     /* no complete headers in time: cut */ \
    X(IDLE_EVICTED, "idle_evicted")           /* listener nearly full: oldest idle cut */ \
    X(BODY_BUDGET, "body_budget")             /* in-flight body bytes spent: 503 */ \
    X(MEMORY_BUDGET, "memory_budget")         /* handling memory spent: 503 */ \
    X(LINGER, "linger")                       /* early answer: rest of the body discarded */ \
    X(UNAUTHORIZED, "unauthorized")           /* --auth-token-file: no or a wrong bearer token: 401 */

typedef enum cw_http_guard {
#define CW_HTTP_GUARD_ENUM(name, label) CW_GUARD_##name,
    CW_HTTP_GUARDS(CW_HTTP_GUARD_ENUM)
#undef CW_HTTP_GUARD_ENUM
    CW_GUARD_COUNT
} cw_http_guard;

#define CW_HTTP_METRICS_MAX_CLUSTERS 64

typedef struct cw_http_metrics cw_http_metrics;

/* NULL when out of memory. */
cw_http_metrics *cw_http_metrics_create(void);
void cw_http_metrics_destroy(cw_http_metrics *m);   /* NULL-safe */

/* One answered request and how long it took (µs, from its headers to its
 * answer being queued). NULL `m` is a no-op. */
void cw_http_metrics_count(cw_http_metrics *m, cw_http_route route, unsigned status,
                           int64_t duration_us);

/* `n` more of `guard`. NULL `m` is a no-op. */
void cw_http_metrics_guard(cw_http_metrics *m, cw_http_guard guard, unsigned n);

/* One received sync body of `bytes` bytes. */
void cw_http_metrics_body(cw_http_metrics *m, size_t bytes);

/* One valid sync payload of `upserts` upserts and `deletes` deletes. */
void cw_http_metrics_ops(cw_http_metrics *m, size_t upserts, size_t deletes);

/* One valid sync payload of `cluster` (NULL or "": none) with `upserts`
 * upserts and `deletes` deletes. NULL `m` is a no-op. */
void cw_http_metrics_cluster(cw_http_metrics *m, const char *cluster, size_t upserts,
                             size_t deletes);

/* Distinct cluster names with series of their own (≤ CW_HTTP_METRICS_MAX_CLUSTERS). */
size_t cw_http_metrics_cluster_names(cw_http_metrics *m);

/* One answered search in `mode` (a cw_search_mode) that returned
 * `results` results. NULL `m` is a no-op. */
void cw_http_metrics_search(cw_http_metrics *m, int mode, size_t results);

/* The Prometheus text exposition (format 0.0.4), malloc'd; NULL on OOM.
 * Every family has its # HELP and # TYPE lines before its samples.
 * `in_flight` is the server's gauge of requests in flight. `pipeline` may
 * be NULL (its two families are then left out). */
char *cw_http_metrics_render(cw_http_metrics *m, size_t in_flight, cw_pipeline *pipeline);

/* GET /metrics: 200 with that text as CW_HTTP_CT_PROMETHEUS (the static
 * 503 when it could not be built). */
void cw_http_handle_metrics(cw_http_answer *a, cw_http_metrics *m, size_t in_flight,
                            cw_pipeline *pipeline);

#endif
