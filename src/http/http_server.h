/* cw_http_server — the HTTP front door (DESIGN §3, §6b): libmicrohttpd in
 * thread-per-connection mode, the routes, the limits, /metrics.
 *
 * Threads (named by job):
 *   listener    — libmicrohttpd's internal polling thread (poll(2)); one per
 *                 listener (main, and admin when admin_port != 0).
 *   connection  — one per open connection (libmicrohttpd), at most
 *                 connection_limit + CW_HTTP_PROBE_RESERVE + search_limit
 *                 on the main listener. A POST blocks its connection thread in
 *                 cw_pipeline_submit() until committed.
 *   reaper      — one; shuts down connections that have not delivered a
 *                 request's headers in time (headers_timeout_ms from their
 *                 accept, max(request deadline, idle timeout) from their
 *                 previous answer). The listener thread itself cuts the
 *                 oldest waiting connection when its listener is nearly
 *                 full (see below). A connection thread that sent an early
 *                 answer lingers in the completed callback, reading and
 *                 discarding the body, before libmicrohttpd closes.
 *
 * Connection limit: at most connection_limit sync requests are in flight at
 * once (from their headers to their answer); one more is answered 503 +
 * Retry-After from its headers. The main listener accepts
 * CW_HTTP_PROBE_RESERVE (and search_limit) connections beyond that, so probes (and those 503s)
 * are still answered when every sync slot is busy; past that libmicrohttpd
 * closes new connections at once (a network error: the controller retries).
 *
 * Memory budget, two stages, each answered 503 + Retry-After when spent,
 * unless the request would be the only one (so a body up to max_body
 * always gets through an idle server):
 *   body bytes   the sync bodies being received add up to at most
 *                max_inflight_bytes, reserved as the bytes arrive (never from
 *                a declared Content-Length, which a stalled client would
 *                hold without sending); past it the body is discarded and
 *                the answer is 503 on its final call.
 *   handling     a received body costs CW_HTTP_HANDLING_COST × its size
 *                while it is parsed and its request waits for the pipeline;
 *                those costs add up to at most max_handling_bytes. When
 *                the last big one ends, freed memory goes back to the
 *                system (malloc_trim), so RSS returns near its idle level.
 *
 * Slow and idle clients (the thread per connection makes each one cost a
 * thread): a new connection's first request headers are due within
 * headers_timeout_ms (later ones within max(request deadline, idle
 * timeout)); a body with no byte for body_stall_s, or slower than
 * body_min_rate on average after that, is cut (its slot and bytes given
 * back at once); each listener, CW_HTTP_EVICT_MARGIN connections short of
 * its limit, cuts its oldest connection still waiting for headers at each
 * new accept, so a flood of idle sockets cannot lock out /healthz.
 *
 * Early answers (413 from the Content-Length, 415, framing 400, 503) are
 * followed by a lingering close: the rest of the body is read and
 * discarded (CW_HTTP_LINGER_MS, CW_HTTP_LINGER_MAX_BYTES) so a client that
 * writes its whole body before reading (Go net/http) sees the answer and
 * not a reset.
 *
 * Malformed heads (a NUL in the request line, raw or as %00 in the target;
 * a header name that is not a token, CR/NUL/control characters in a value,
 * obs-fold): 400 + Connection: close from the headers call; nothing after
 * them on the connection is read as a request.
 *
 * Routes (both listeners serve the probes; only the main one serves sync):
 *   POST /api/v1/instances/sync  200 {"status":"ok","upserted":N,"deleted":M}
 *        (also ?cluster=NAME, and POST /api/v1/clusters/NAME/instances/sync:
 *        the same handler for the data of cluster NAME, src/document/cluster.h;
 *        a name that is not a DNS-1123 label, given twice, or two different
 *        names in the path and the query: 400 from the headers, nothing
 *        read or written. No name: default_cluster, else none)
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
/* The sync path of a cluster: CW_HTTP_CLUSTERS_PREFIX NAME "/instances/sync". */
#define CW_HTTP_CLUSTERS_PREFIX "/api/v1/clusters/"

/* Largest POST /api/v1/instances/search body (the query is at most 1 KiB). */
#define CW_HTTP_SEARCH_MAX_BODY 16384

/* Connections the main listener accepts beyond connection_limit (sync
 * requests), so that probes still get through when every slot is busy.
 * The admin listener takes CW_HTTP_ADMIN_CONNECTION_LIMIT. */
#define CW_HTTP_ADMIN_CONNECTION_LIMIT 64
#define CW_HTTP_PROBE_RESERVE 16

/* Estimated peak memory of handling a sync body, as a multiple of its size:
 * the body, the generated parser's arena (0.6x a controller-shaped body,
 * ~2x for the worst legal one: 483k empty annotations in 5 MiB) and the
 * ops and documents made from it. Measured by reliability_http2's memory
 * test: 6 such bodies handled at once took RSS from 16 to 128 MiB, ~3.6x
 * each. (24 while the parser built a json-c tree, ~20x the body.) */
#define CW_HTTP_HANDLING_COST 4

/* Lingering close after an early answer (413, 415, 400, 503 from the
 * headers): the rest of the body is read and discarded for at most this
 * long and this many bytes, then the connection is closed. */
#define CW_HTTP_LINGER_MS 5000
#define CW_HTTP_LINGER_MAX_BYTES (64u * 1024u * 1024u)

/* A listener this close to its connection limit cuts its oldest
 * connection still waiting for request headers at every new accept. */
#define CW_HTTP_EVICT_MARGIN 8

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
    int headers_timeout_ms;        /* a new connection's first request headers, default 5000 */
    unsigned body_stall_s;         /* a body with no byte for this long is cut, default 5 */
    size_t body_min_rate;          /* bytes/s a body must average once body_stall_s passed,
                                      default 1024 (0: no rate check) */
    size_t max_handling_bytes;     /* estimated memory of the sync requests being parsed and
                                      answered at once (CW_HTTP_HANDLING_COST × body),
                                      default 128 MiB */
    const char *default_cluster;   /* the cluster of sync requests that name none (a DNS-1123
                                      label; copied); NULL = none: the single-cluster ids */
    const char *auth_token_file;   /* NULL: no auth; else sync, search and instance
                                      requests need "Authorization: Bearer <token>"
                                      (auth.h); probes and /metrics stay open */
} cw_http_config;

/* Fill `cfg` with the defaults above. */
void cw_http_config_defaults(cw_http_config *cfg);

/* The glibc malloc policy a serving process wants, process-wide: call once
 * from main before any thread starts (cmd_serve.c, and the tests that
 * measure the server's memory). Two arenas (not 8 per core: with a thread
 * per connection each would keep what its threads freed), and the mmap
 * and trim thresholds pinned at 128 KiB: glibc raises both as big blocks
 * are freed (to 32 / 64 MiB), after which a freed 5 MiB body and its parse
 * stay resident. Measured by reliability_http2's memory test: 40
 * concurrent 5 MiB bodies left RSS at 98 MiB (idle 16) unpinned, 17 pinned. */
void cw_http_tune_malloc(void);

/* Raise this process's soft open-file limit (RLIMIT_NOFILE) to its hard
 * limit, as Go's runtime and redis do: each connection is a descriptor,
 * and a container's soft limit of 1024 lets an idle flood starve accept()
 * ("Too many open files") and with it /healthz. Process-wide; call once
 * from main before listening. Returns the soft limit now in force, and the
 * one before in *before (may be NULL). */
unsigned long cw_http_raise_fd_limit(unsigned long *before);

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

/* Read --auth-token-file again before the next request (SIGHUP). No-op
 * without one. */
void cw_http_server_reload_auth(cw_http_server *s);

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
