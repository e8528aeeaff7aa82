/* cw_http_auth — the optional bearer token on our own endpoint
 * (--auth-token-file): sync and search requests must carry
 * "Authorization: Bearer <token>"; probes and /metrics never need it.
 *
 * The token lives in a file (a mounted Kubernetes Secret), read at start.
 * It is read again when the file changes — checked at most once a second,
 * by the request that comes along (stat: inode, size, mtime; the kubelet
 * rotates a Secret by swapping a symlink) — or on the next request after
 * cw_http_auth_reload() (SIGHUP). A file that cannot be read then keeps
 * the token in use (logged once per change), so a rotation caught half way
 * never locks every controller out.
 *
 * Ownership: the auth owns its token copy (wiped when replaced or freed)
 * and a copy of the path. Thread-safety: check and reload may be called
 * from any thread at once (connection threads, the signal thread).
 */
#ifndef CW_HTTP_AUTH_H
#define CW_HTTP_AUTH_H

#include "cw_error.h"

typedef struct cw_http_auth cw_http_auth;

/* Read `path`'s token. NULL with `err` set (CW_E_CONFIG naming the file
 * and the problem, never the token; CW_E_NOMEM). */
CW_MUST_CHECK cw_http_auth *cw_http_auth_open(const char *path, cw_error *err);

/* Wipe and free. NULL is fine. No check may be running. */
void cw_http_auth_close(cw_http_auth *a);

/* 1 when `authorization` (the request's Authorization header value, NULL
 * when absent) is "Bearer <the token>" (scheme case-insensitive), compared
 * in constant time; else 0. May re-read the file first (see above). */
int cw_http_auth_check(cw_http_auth *a, const char *authorization);

/* Read the file again before the next check (async-signal-safe: sets a flag). */
void cw_http_auth_reload(cw_http_auth *a);

/* Times the token in use was replaced by a changed file (tests, metrics). */
unsigned long cw_http_auth_reloads(cw_http_auth *a);

#endif
