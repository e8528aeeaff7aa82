/* cw_store — where documents and their vectors live, as the pipeline sees
 * it. The real one is Chroma (src/chroma/store_chroma.c); tests use fakes.
 *
 * Every call is synchronous and idempotent (safe to retry). The pipeline
 * writes (remove, upsert) from ONE writer thread, in arrival order; a store
 * need not be thread-safe for concurrent writes, but must allow a get
 * (from the pipeline's batcher, preparing the next batch) and a heartbeat
 * via whatever readiness path it offers concurrently with a write.
 */
#ifndef CW_STORE_H
#define CW_STORE_H

#include <stddef.h>

#include "cw_error.h"
#include "document.h"

typedef struct cw_store cw_store;

typedef struct cw_store_vtable {
    /* Look up ids[0..n). For each i stored with a vector of `dim` floats:
     * found[i] = 1, stored[i] = a copy of the stored document (id, text,
     * metadata; the caller clears it with cw_document_clear), vecs[i*dim..]
     * = its vector. A metadata field the store cannot vouch for is NULL
     * (so the document compares unequal and is written again). Otherwise
     * found[i] = 0 and stored[i] is zeroed. Returns 0, or -1 with `err` set
     * (then stored[] holds nothing to free). */
    int (*get)(cw_store *self, const char *const *ids, size_t n, size_t dim,
               cw_document *stored, float *vecs, unsigned char *found, cw_error *err);
    /* Delete ids[0..n); missing ids are not an error. */
    int (*remove)(cw_store *self, const char *const *ids, size_t n, cw_error *err);
    /* Insert or replace docs[0..n) with vecs[i*dim..]. */
    int (*upsert)(cw_store *self, const cw_document *docs, const float *vecs,
                  size_t n, size_t dim, cw_error *err);
    void (*destroy)(cw_store *self);
} cw_store_vtable;

struct cw_store {
    const cw_store_vtable *vt;
};

/* The calls through the vtable. A failure always comes with a reason: a
 * backend that gives none gets one here, so callers need no guard. */
CW_MUST_CHECK static inline int cw_store_get(cw_store *s, const char *const *ids, size_t n,
                                             size_t dim, cw_document *stored, float *vecs,
                                             unsigned char *found, cw_error *err)
{
    if (s->vt->get(s, ids, n, dim, stored, vecs, found, err) == 0)
        return 0;
    return cw_error_set(err, CW_E_INTERNAL, "store get failed without a reason");
}

CW_MUST_CHECK static inline int cw_store_remove(cw_store *s, const char *const *ids, size_t n,
                                                cw_error *err)
{
    if (s->vt->remove(s, ids, n, err) == 0)
        return 0;
    return cw_error_set(err, CW_E_INTERNAL, "store remove failed without a reason");
}

CW_MUST_CHECK static inline int cw_store_upsert(cw_store *s, const cw_document *docs,
                                                const float *vecs, size_t n, size_t dim,
                                                cw_error *err)
{
    if (s->vt->upsert(s, docs, vecs, n, dim, err) == 0)
        return 0;
    return cw_error_set(err, CW_E_INTERNAL, "store upsert failed without a reason");
}

static inline void cw_store_destroy(cw_store *s)
{
    if (s != NULL)
        s->vt->destroy(s);
}

#endif
