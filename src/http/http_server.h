/* cw_http_server — the HTTP front door (DESIGN §3, §6b): libmicrohttpd in
 * thread-per-connection mode, the routes, the limits, /metrics.
 *
 * Threads (named by job):
 *   listener    — libmicrohttpd's internal polling thread (poll(2)); one per
 *                 listener (main, and admin when admin_port != 0).
 *   connection  — one per open connection (libmicrohttpd), at most
 *                 connection_limit + CW_HTTP_PROBE_RESERVE on the main
 *                 listener. A POST blocks its connection thread in
 *                 cw_pipeline_submit() until committed.
 *   reaper      — one; shuts down connections that have not delivered a
 *                 request's headers within max(request deadline, idle
 *                 timeout) of their accept or their previous answer.
 *
 * Connection limit: at most connection_limit sync requests are in flight at
 * once (from their headers to their answer); one more is answered 503 +
 * Retry-After from its headers. The main listener accepts
 * CW_HTTP_PROBE_RESERVE connections beyond that, so probes (and those 503s)
 * are still answered when every sync slot is busy; past that libmicrohttpd
 * closes new connections at once (a network error: the controller retries).
 *
 * Memory budget: the bodies of the sync requests in flight (their
 * Content-Length, or max_body for a chunked body) may add up to at most
 * max_inflight_bytes; a request that would pass it is answered 503 +
 * Retry-After from its headers, unless it would be the only one (so a body
 * up to max_body always gets through an idle server). A parsed body costs
 * roughly 25× its size while its request waits, so this bounds the
 * server's memory under fan-in of large payloads.
 *
 * Routes (both listeners serve the probes; only the main one serves sync):
 *   POST /api/v1/instances/sync  200 {"status":"ok","upserted":N,"deleted":M}
 *                                202 {"status":"accepted","journaled":N} (journal mode:
 *                                    durable, not applied within the ack wait)
 *                                400 invalid payload or broken framing
 *                                413 body over max_body, 415 not JSON,
 *                                503 + Retry-After transient, 500 otherwise
 *   GET|HEAD /healthz            200 {"status":"ok"}
 *   GET|HEAD /readyz             200 {"status":"ok"} or
 *                                503 {"status":"unavailable","error":"..."}
 *   GET|HEAD /metrics            Prometheus text
 *   GET|POST /api/v1/instances/search   (main listener only, when configured)
 *                                200 the search module's JSON (cw_search_results_json),
 *                                400 bad parameters, 413 POST body over
 *                                CW_HTTP_SEARCH_MAX_BODY, 415 POST not JSON,
 *                                503 + Retry-After: more than search_limit at
 *                                once, or Chroma / the embedder unavailable
 *   GET /api/v1/instances/ID     200 the stored instance (cw_search_instance_json),
 *                                404 when it is not stored (ID: the rest of the
 *                                path, e.g. default/apps/v1/Deployment/nginx)
 *   known path, other method     405 + Allow;  unknown path  404
 *
 * Search is not served on the admin listener: it costs an embedding and a
 * scan of the collection, and the admin listener is there so that probes
 * answer fast whatever the load. Searches hold no sync slot; at most
 * search_limit run at once (the main listener accepts that many
 * connections more), the next one is answered 503 + Retry-After.
 *
 * Borrowing: the server borrows `pipeline` and `ready_ctx` until
 * cw_http_server_stop() returns; the caller destroys the pipeline after.
 * `cfg` is copied (host string included).
 *
 * Shutdown order: cw_http_server_begin_shutdown() → cw_http_server_drain()
 * → cw_pipeline_shutdown() → cw_http_server_stop() → cw_pipeline_destroy().
 */
#ifndef CW_HTTP_SERVER_H
#define CW_HTTP_SERVER_H

#include <stddef.h>
#include <stdint.h>

#include "chroma.h"
#include "cw_error.h"
#include "embedder.h"
#include "pipeline.h"

#define CW_HTTP_SYNC_PATH "/api/v1/instances/sync"
#define CW_HTTP_SEARCH_PATH "/api/v1/instances/search"
#define CW_HTTP_INSTANCE_PREFIX "/api/v1/instances/"

/* Largest POST /api/v1/instances/search body (the query is at most 1 KiB). */
#define CW_HTTP_SEARCH_MAX_BODY 16384

/* Connections the main listener accepts beyond connection_limit (sync
 * requests), so that probes still get through when every slot is busy. */
#define CW_HTTP_PROBE_RESERVE 16

/* Retry-After (seconds) sent with a 503 when the error carries no hint. */
#define CW_HTTP_RETRY_AFTER_DEFAULT_S 5

typedef struct cw_http_config {
    const char *host;              /* numeric address to bind, "0.0.0.0" */
    unsigned short port;           /* 0 = any free port (tests) */
    unsigned short admin_port;     /* 0 = no admin listener; else /healthz /readyz /metrics only */
    size_t max_body;               /* bytes, default 5 MiB */
    unsigned connection_limit;     /* main listener: sync requests at once, default 256 */
    size_t max_inflight_bytes;     /* sum of sync bodies in flight, default 64 MiB */
    unsigned connection_timeout_s; /* idle timeout, default 30 */
    int request_deadline_ms;       /* our own per-request deadline, default 25000 */
    size_t thread_stack_size;      /* connection threads, default 256 KiB */
    int log_probes;                /* 1: log /healthz /readyz /metrics requests too (default 0) */
    /* The search API: both borrowed until cw_http_server_stop(); NULL =
     * its routes answer 404. */
    cw_chroma *search_chroma;
    cw_embedder *search_embedder;
    unsigned search_limit;         /* searches at once before 503, default 4 */
} cw_http_config;

/* Fill `cfg` with the defaults above. */
void cw_http_config_defaults(cw_http_config *cfg);

/* Readiness callback for /readyz: return 1 if ready; 2 if ready with a
 * one-line warning in `why` (200 {"status":"degraded","warning":...});
 * else 0 and a one-line reason in `why` (NUL-terminated, at most `cap`
 * bytes). Called from
 * connection threads, possibly concurrently; must be quick (bounded). */
typedef int (*cw_http_ready_fn)(void *ctx, char *why, size_t cap);

typedef struct cw_http_server cw_http_server;

/* Bind and start the listeners. `ready` may be NULL (always ready).
 * Returns NULL with `err` set (CW_E_CONFIG: bad host, port in use;
 * CW_E_NOMEM) on failure; nothing is left running. */
CW_MUST_CHECK cw_http_server *cw_http_server_start(const cw_http_config *cfg,
                                                   cw_pipeline *pipeline,
                                                   cw_http_ready_fn ready, void *ready_ctx,
                                                   cw_error *err);

/* The real bound port of the main / admin listener (0: no admin listener). */
unsigned short cw_http_server_port(const cw_http_server *s);
unsigned short cw_http_server_admin_port(const cw_http_server *s);

/* /readyz answers 503 at once; the main listener stops accepting new
 * connections (its socket is quiesced); answers carry Connection: close.
 * The admin listener keeps serving probes. Idempotent. */
void cw_http_server_begin_shutdown(cw_http_server *s);

/* Wait until no request is in flight (between its first byte of headers
 * and its answer being sent) or `deadline_ms` (cw_now_ms() clock) passes.
 * Returns the number still in flight (0 = drained). */
size_t cw_http_server_drain(cw_http_server *s, int64_t deadline_ms);

/* Requests in flight right now (for tests and logs). */
size_t cw_http_server_in_flight(cw_http_server *s);

/* Connections the main listener holds open right now, requests or not
 * (libmicrohttpd's count; for tests and logs). */
unsigned cw_http_server_connections(cw_http_server *s);

/* Stop both listeners (closes open connections, joins their threads) and
 * free. NULL-safe. */
void cw_http_server_stop(cw_http_server *s);

#endif
