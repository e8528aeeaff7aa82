/* cw_embed_curl_pool — a locked stack of idle libcurl easy handles.
 *
 * An easy handle keeps its connection open between calls, so returning it to
 * the pool is what gives connection reuse. A handle is used by exactly one
 * thread between acquire and release; the pool never hands one out twice.
 * The caller must have called curl_global_init() before creating a pool.
 */
#ifndef CW_EMBED_CURL_POOL_H
#define CW_EMBED_CURL_POOL_H

#include <stddef.h>

#include <curl/curl.h>

typedef struct cw_embed_curl_pool cw_embed_curl_pool;

/* A pool keeping at most `max_idle` idle handles (more may be in use at
 * once; extra handles are cleaned up on release). NULL on out of memory. */
cw_embed_curl_pool *cw_embed_curl_pool_create(size_t max_idle);

/* Clean up every idle handle and the pool. All acquired handles must have
 * been released. NULL is a no-op. */
void cw_embed_curl_pool_destroy(cw_embed_curl_pool *p);

/* An idle handle, or a new one (curl_easy_init). NULL on out of memory.
 * Options set by a previous user persist: set every option you rely on. */
CURL *cw_embed_curl_pool_acquire(cw_embed_curl_pool *p);

/* Give a handle back (the pool owns it again). NULL is a no-op. */
void cw_embed_curl_pool_release(cw_embed_curl_pool *p, CURL *h);

#endif
