/* cw_embed_pool — the pipeline's embed workers: `workers` threads, each
 * named "cw-embed-<i>", calling cw_embedder_embed() on chunks handed to
 * them by the batcher. Internal to the pipeline.
 *
 * The pool borrows the embedder for its lifetime. cw_embed_pool_run() may
 * be called by several threads at once (the batcher preparing a batch while
 * the writer re-runs a failed one request by request): each call waits for
 * its own jobs only; the workers take jobs in the order they were queued.
 */
#ifndef CW_EMBED_POOL_H
#define CW_EMBED_POOL_H

#include <stddef.h>
#include <stdint.h>

#include "cw_error.h"
#include "embedder.h"

typedef struct cw_embed_pool cw_embed_pool;

/* One embedder call: texts[0..n) → out[n * dim]. The caller owns all
 * pointers; `err` and `ms` are written by the worker. */
typedef struct cw_embed_job {
    const char *const *texts;
    size_t n;
    float *out;
    cw_error err;
    int64_t ms;                  /* how long the call took */
    struct cw_embed_job *next;   /* pool-internal queue link */
    size_t *run_pending;         /* pool-internal: its run's unfinished jobs */
} cw_embed_job;

/* Start `workers` (≥ 1) threads. Returns NULL with `err` set on failure. */
cw_embed_pool *cw_embed_pool_create(size_t workers, cw_embedder *embedder, cw_error *err);

/* Run jobs[0..n) in parallel on the workers and wait for all of them.
 * Returns 0 when every job succeeded, else -1 with `err` set to the first
 * failing job's error (in job order). Each job's own `err`/`ms` is filled. */
CW_MUST_CHECK int cw_embed_pool_run(cw_embed_pool *pool, cw_embed_job *jobs, size_t n,
                                    cw_error *err);

/* Stop and join the workers (after their current job) and free.
 * NULL and a half-built pool are fine. */
void cw_embed_pool_destroy(cw_embed_pool *pool);

#endif
