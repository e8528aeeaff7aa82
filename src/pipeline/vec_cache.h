/* cw_vec_cache — a bounded in-memory map id -> (text, vector): the vector
 * the embedder made for that exact text, remembered so a re-sent unchanged
 * document needs neither an embedding call nor a store get (DESIGN §6).
 * A vector is a function of its text, so an entry stays right whatever
 * the store holds; the cache only saves work and is never consulted for
 * what is stored.
 *
 * Bounded by `max_bytes` (entries with their id, text and vector); the
 * least recently used entries go first. Not thread-safe: the pipeline's
 * batcher thread is its only user. The cache owns copies of everything.
 */
#ifndef CW_VEC_CACHE_H
#define CW_VEC_CACHE_H

#include <stddef.h>

typedef struct cw_vec_cache cw_vec_cache;

/* NULL on out of memory. max_bytes 0 gives a cache that keeps nothing. */
cw_vec_cache *cw_vec_cache_create(size_t max_bytes);

/* NULL is fine. */
void cw_vec_cache_destroy(cw_vec_cache *c);

/* When `id` is cached with exactly `text` and a vector of `dim` floats:
 * copy it into out[0..dim), mark the entry recently used, return 1.
 * Else return 0 and leave `out` alone. */
int cw_vec_cache_get(cw_vec_cache *c, const char *id, const char *text, size_t dim, float *out);

/* Remember vec[0..dim) as the vector of `text` for `id` (replacing what
 * `id` had), evicting the least recently used entries to stay within the
 * bound. An entry larger than the whole bound, or out of memory, leaves
 * `id` uncached: only a saving is lost. */
void cw_vec_cache_put(cw_vec_cache *c, const char *id, const char *text, const float *vec,
                      size_t dim);

/* Entries and bytes held now. */
size_t cw_vec_cache_len(const cw_vec_cache *c);
size_t cw_vec_cache_bytes(const cw_vec_cache *c);

#endif
