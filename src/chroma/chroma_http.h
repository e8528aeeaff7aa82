/* cw_chroma_http — the transport under cw_chroma: a cw_httpc pool of curl
 * easy handles (httpc.h) with Chroma's headers and answer limit, and one
 * call = one HTTP request with its own timeouts. Internal to src/chroma/.
 *
 * A pool hands each caller its own easy handle (never shared concurrently);
 * when every pooled handle is busy it makes a new one rather than wait, and
 * keeps at most CW_CHROMA_HTTP_POOL_MAX idle handles (each keeps its
 * connection alive for the next call). No progress/abort callbacks: a call
 * ends only by completing, failing, or its total timeout.
 */
#ifndef CW_CHROMA_HTTP_H
#define CW_CHROMA_HTTP_H

#include <stddef.h>

#include "cw_error.h"

#define CW_CHROMA_HTTP_POOL_MAX 8

typedef struct cw_chroma_http cw_chroma_http;

/* Answer of one call: the HTTP status and the body (malloc'd, NUL-terminated,
 * owned by the reply; free with cw_chroma_reply_clear). */
typedef struct cw_chroma_reply {
    long status;
    char *body;
    size_t len;
} cw_chroma_reply;

/* How every call authenticates: `auth_line` is a whole header line sent
 * with each request ("x-chroma-token: T" or "Authorization: Bearer T"),
 * NULL for none; `ca_file` a PEM bundle that verifies an https:// Chroma
 * instead of the system's, NULL for the system's. Both are copied. */
typedef struct cw_chroma_http_auth {
    const char *auth_line;
    const char *ca_file;
} cw_chroma_http_auth;

/* A pool whose handles use `connect_timeout_ms` and `auth` (NULL: none).
 * NULL on CW_E_NOMEM. */
CW_MUST_CHECK cw_chroma_http *cw_chroma_http_create(long connect_timeout_ms,
                                                    const cw_chroma_http_auth *auth,
                                                    cw_error *err);

/* The last answer of this pool was 401/403 (Chroma refused our credentials)
 * and no 2xx came after it: that status, else 0. Any thread. */
long cw_chroma_http_auth_refused(cw_chroma_http *h);

/* Free the idle handles. NULL is fine. No call may be in flight. */
void cw_chroma_http_destroy(cw_chroma_http *h);

/* One request. `method` is "GET", "POST" or "DELETE"; `body` (JSON, POST
 * only) may be NULL. `timeout_ms` bounds the whole call; the connect phase
 * is bounded by the smaller of it and the pool's connect timeout. `what`
 * names the call in error messages ("upsert", "heartbeat", ...).
 * 0 when an HTTP answer arrived (any status; `out` filled, caller clears);
 * -1 with CW_E_UNAVAILABLE when none did (refused, timeout, reset), or
 * CW_E_NOMEM; then `out` is zeroed. */
CW_MUST_CHECK int cw_chroma_http_call(cw_chroma_http *h, const char *method, const char *url,
                                      const char *body, size_t body_len, long timeout_ms,
                                      const char *what, cw_chroma_reply *out, cw_error *err);

/* Free the body and zero the reply. NULL is fine. */
void cw_chroma_reply_clear(cw_chroma_reply *r);

#endif
