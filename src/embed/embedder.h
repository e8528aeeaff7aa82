/* cw_embedder — one interface for every embedding backend.
 *
 * Backends: local (all-MiniLM-L6-v2 in-process, src/local/), voyage and
 * openai (HTTP, src/embed/). A backend is created by its own
 * cw_embedder_<name>_create() and used only through these calls.
 *
 * Thread-safety: cw_embedder_embed() may be called concurrently from the
 * pipeline's worker threads; each backend protects its own state.
 * Ownership: the caller owns `texts` and `out`; the embedder keeps no pointer
 * to either after the call returns.
 */
#ifndef CW_EMBEDDER_H
#define CW_EMBEDDER_H

#include <stddef.h>

#include "cw_error.h"
#include "cw_metrics.h"
#include "cw_time.h"

typedef enum cw_embed_purpose {
    CW_EMBED_DOCUMENT,   /* texts to store (voyage input_type "document") */
    CW_EMBED_QUERY       /* a search query (voyage input_type "query") */
} cw_embed_purpose;

typedef struct cw_embedder cw_embedder;

typedef struct cw_embedder_vtable {
    /* Embed texts[0..n) into out[n * dim]. Splits to the backend's own
     * batch limit internally. Returns 0, or -1 with `err` set:
     * CW_E_UNAVAILABLE (retry later: 429/5xx/timeout/unreachable, with a
     * retry_after_s hint), CW_E_CONFIG (401/403, bad model: still a 503 to
     * the controller), CW_E_INTERNAL (malformed answer), CW_E_NOMEM.
     * On failure the contents of `out` are unspecified. */
    int (*embed)(cw_embedder *self, const char *const *texts, size_t n,
                 cw_embed_purpose purpose, float *out, cw_error *err);
    void (*destroy)(cw_embedder *self);
} cw_embedder_vtable;

struct cw_embedder {
    const cw_embedder_vtable *vt;
    const char *name;        /* "local", "voyage", "openai" (static string) */
    const char *model;       /* model name, owned by the backend */
    size_t dim;              /* vector size; 0 until known (remote backends
                                learn it from their first answer) */
    size_t max_batch;        /* texts per upstream call the backend prefers */
    int cancelled;           /* set once by cw_embedder_cancel() (atomic access) */
};

/* Embed through the vtable. `out` must hold n * dim floats; when dim is
 * still 0 (unknown), call cw_embedder_probe_dim() first. Each call is
 * counted and timed in the metrics registry (cw_metrics.h). A failure
 * always comes with a reason: a backend that gives none gets one here,
 * so callers need no guard of their own. */
CW_MUST_CHECK static inline int cw_embedder_embed(cw_embedder *e, const char *const *texts,
                                                  size_t n, cw_embed_purpose purpose,
                                                  float *out, cw_error *err)
{
    int64_t t0 = cw_now_us();
    int rc = e->vt->embed(e, texts, n, purpose, out, err);
    cw_metrics_embed_call(n, cw_now_us() - t0, rc != 0);
    if (rc != 0 && err->code == CW_OK)
        cw_error_set(err, CW_E_INTERNAL, "%s: embedder failed without a reason", e->name);
    return rc;
}

/* Give up on embedding, for good (shutdown past its drain deadline): from
 * now on calls fail fast with CW_E_UNAVAILABLE "<name>: shutting down", and
 * a remote call in flight is abandoned (an embedding call writes nothing,
 * so abandoning it is safe; Chroma writes are never cancelled). The local
 * backend finishes the call it is computing (bounded by CPU time).
 * Thread-safe; idempotent. */
static inline void cw_embedder_cancel(cw_embedder *e)
{
    if (e != NULL)
        __atomic_store_n(&e->cancelled, 1, __ATOMIC_RELEASE);
}

/* 1 once cw_embedder_cancel() was called. */
static inline int cw_embedder_cancelled(const cw_embedder *e)
{
    return __atomic_load_n(&e->cancelled, __ATOMIC_ACQUIRE);
}

/* Destroy any backend; NULL is a no-op. */
static inline void cw_embedder_destroy(cw_embedder *e)
{
    if (e != NULL)
        e->vt->destroy(e);
}

#endif
