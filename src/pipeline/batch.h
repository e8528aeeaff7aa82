/* cw_batch — apply one batch of ops to the store (DESIGN §6). Internal to
 * the pipeline; runs on the batcher thread, one batch at a time.
 *
 *   1. coalesce by id (last op wins, see coalesce.h);
 *   2. store get of the upsert ids: a stored text equal to the new one keeps
 *      its stored vector (no embedding), and a stored document equal in
 *      text and metadata needs no write at all; skipped while the
 *      embedder's dim is still 0 (unknown);
 *   3. embed the other texts in as few chunks of ≤ chunk_max as possible,
 *      of balanced sizes, on the embed pool, all chunks in parallel (when dim is 0, the first text goes alone first so
 *      the backend learns its dim);
 *   4. store remove of the deleted ids, then — only if that succeeded —
 *      store upsert of the documents with their vectors, except those the
 *      store already holds exactly (the get of step 2 saw them just before,
 *      on this one writer thread, and coalescing left no delete of their
 *      ids in the batch: the end state is the same).
 * Any failure fails the whole batch; nothing is written after a failure
 * (a get or embedding failure means no remove and no upsert at all).
 */
#ifndef CW_BATCH_H
#define CW_BATCH_H

#include <stddef.h>
#include <stdint.h>

#include "coalesce.h"
#include "cw_error.h"
#include "document.h"
#include "embed_pool.h"
#include "embedder.h"
#include "store.h"

typedef struct cw_batch_env {
    cw_embedder *embedder;       /* borrowed */
    cw_embed_pool *pool;         /* borrowed */
    cw_store *store;             /* borrowed */
    size_t chunk_max;            /* texts per embedder call (≥ 1) */
} cw_batch_env;

/* What one batch cost; added to the pipeline's stats by the caller. */
typedef struct cw_batch_counters {
    uint64_t embed_calls;
    uint64_t embed_inputs;
    uint64_t embed_ms;
    uint64_t embed_reused;
    uint64_t upserts_unchanged;  /* stored exactly already: not written again */
    uint64_t store_calls;
    uint64_t store_ms;
} cw_batch_counters;

/* Apply ops[0..n) in effect order; docs[i] is the document of an upsert op
 * (NULL for a delete). Everything is borrowed for the call. Counters are
 * added to `cnt` even on failure. Returns 0, or -1 with `err` set to the
 * first failure (the dependency's own error). */
CW_MUST_CHECK int cw_batch_write(const cw_batch_env *env, const cw_coalesce_op *ops,
                                 const cw_document *const *docs, size_t n,
                                 cw_batch_counters *cnt, cw_error *err);

#endif
