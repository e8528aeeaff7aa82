/* cw_httpc — the libcurl plumbing our HTTP clients share (the Chroma client,
 * the remote embedders): a locked pool of easy handles, a bounded response
 * body, the options every call sets, and the JSON request headers.
 *
 * Ownership:
 *   - a cw_httpc_pool owns its idle handles; between acquire and release a
 *     handle belongs to the one thread that acquired it, and release gives
 *     it back (or cleans it up). A released handle keeps its connection but
 *     loses every option (curl_easy_reset), so no pointer into a caller's
 *     memory outlives the call and each caller sets all it relies on.
 *   - a cw_httpc_body owns `data`; cw_httpc_body_clear frees it. A caller
 *     that keeps the bytes takes `data` and sets it to NULL.
 *   - cw_httpc_prepare and cw_httpc_post borrow what they are given (url,
 *     headers, body, request bytes) until the call is done.
 *
 * The process must call curl_global_init() before creating a pool (before
 * any thread starts) and should ignore SIGPIPE: calls use CURLOPT_NOSIGNAL.
 */
#ifndef CW_HTTPC_H
#define CW_HTTPC_H

#include <stddef.h>

#include <curl/curl.h>

#include "cw_error.h"

typedef struct cw_httpc_pool cw_httpc_pool;

/* A pool keeping at most `max_idle` idle handles (0 counts as 1); more may
 * be in use at once, and the extra ones are cleaned up on release. Acquire
 * never waits: when none is idle it makes a new handle. NULL on out of
 * memory. */
CW_MUST_CHECK cw_httpc_pool *cw_httpc_pool_create(size_t max_idle);

/* Clean up every idle handle and the pool. All acquired handles must have
 * been released. NULL is a no-op. */
void cw_httpc_pool_destroy(cw_httpc_pool *p);

/* An idle handle, or a new one (curl_easy_init), with default options.
 * NULL on out of memory. */
CW_MUST_CHECK CURL *cw_httpc_pool_acquire(cw_httpc_pool *p);

/* Give a handle back: its options are reset and the pool owns it again.
 * NULL is a no-op. */
void cw_httpc_pool_release(cw_httpc_pool *p, CURL *h);

/* A response body as it arrives: `data` is NUL-terminated once anything
 * arrived (NULL before), `len` excludes the NUL. Set `max` (the largest
 * body accepted, in bytes) before the transfer, e.g.
 * `cw_httpc_body b = { .max = LIMIT };`. */
typedef struct cw_httpc_body {
    char *data;
    size_t len;
    size_t cap;
    size_t max;
    int too_big;     /* set when the body passed `max`; the write then failed */
} cw_httpc_body;

/* CURLOPT_WRITEFUNCTION with a cw_httpc_body as CURLOPT_WRITEDATA. Returns
 * 0 (curl fails the call with CURLE_WRITE_ERROR) when the body would pass
 * `max` (too_big is set) or on out of memory (too_big stays 0). */
size_t cw_httpc_body_write(char *ptr, size_t size, size_t nmemb, void *userdata);

/* Free `data` and empty the body for another transfer (`max` is kept).
 * NULL is fine. */
void cw_httpc_body_clear(cw_httpc_body *b);

/* Set what every call of ours shares on `h`: the URL, CURLOPT_NOSIGNAL,
 * TCP keep-alive, no redirects, the User-Agent "cluster-whisperer/VERSION",
 * `headers`, a total timeout of `timeout_ms` and a connect timeout of the
 * smaller of `connect_ms` and `timeout_ms` (when > 0), and the answer into
 * `body` through cw_httpc_body_write. Everything is borrowed for the call. */
void cw_httpc_prepare(CURL *h, const char *url, const struct curl_slist *headers,
                      long connect_ms, long timeout_ms, cw_httpc_body *body);

/* Make the call a POST of `len` bytes at `data` (NULL: an empty body). */
void cw_httpc_post(CURL *h, const char *data, size_t len);

/* A header list for JSON calls: Content-Type and Accept application/json,
 * no "Expect: 100-continue" round trip, then `extra` (a whole header line,
 * e.g. "Authorization: Bearer ...") unless NULL. The caller owns the list
 * (curl_slist_free_all). NULL on out of memory. */
CW_MUST_CHECK struct curl_slist *cw_httpc_json_headers(const char *extra);

#endif
