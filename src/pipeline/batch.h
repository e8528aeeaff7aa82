/* cw_batch — apply one batch of ops to the store (DESIGN §6). Internal to
 * the pipeline, in two stages so that one batch can be prepared while the
 * one before it is written:
 *
 *   prepare (cw_batch_prepare; reads the store, never writes it):
 *   1. coalesce by id (last op wins, see coalesce.h);
 *   2. store get of the upsert ids: a stored text equal to the new one keeps
 *      its stored vector (no embedding), and a stored document equal in
 *      text and metadata is marked as needing no write at all; skipped
 *      while the embedder's dim is still 0 (unknown);
 *   3. embed the other texts in as few chunks of ≤ chunk_max as possible,
 *      of balanced sizes, on the embed pool, all chunks in parallel (when
 *      dim is 0, the first text goes alone first so the backend learns its
 *      dim);
 *   commit (cw_batch_commit; the one ordered writer):
 *   4. store remove of the deleted ids, then — only if that succeeded —
 *      store upsert of the documents with their vectors, except those
 *      marked in step 2 (coalescing left no delete of their ids in the
 *      batch: the end state is the same).
 * A "no write needed" mark is only as good as the get it came from: when a
 * batch was prepared while an earlier one was still being written, the
 * pipeline drops the marks of every id that earlier batch touches
 * (cw_batch_distrust) before committing. A reused vector stays valid: it
 * belongs to the text, whoever wrote it.
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
    uint64_t store_get_errors;   /* the store get failed */
} cw_batch_counters;

/* A prepared batch, waiting for its commit. */
typedef struct cw_batch cw_batch;

/* The ids a batch's ops name, as sorted 64-bit hashes: enough to tell
 * whether a later batch's id may have been changed by it (a collision only
 * costs one write). `all` set: could not be built, every id counts. */
typedef struct cw_batch_ids {
    uint64_t *hash;
    size_t n;
    int all;
} cw_batch_ids;

/* Stage 1 (steps 1-3) for ops[0..n) in effect order; docs[i] is the
 * document of an upsert op (NULL for a delete). ops, docs and the strings
 * they point to are borrowed until cw_batch_free(). Counters are added to
 * `cnt` even on failure. Returns the prepared batch, or NULL with `err` set
 * to the first failure (the dependency's own error). */
CW_MUST_CHECK cw_batch *cw_batch_prepare(const cw_batch_env *env, const cw_coalesce_op *ops,
                                         const cw_document *const *docs, size_t n,
                                         cw_batch_counters *cnt, cw_error *err);

/* Write every upsert of `b` whose id is in `ids`, even if the store held it
 * exactly when `b` was prepared. Returns how many marks it dropped. */
size_t cw_batch_distrust(cw_batch *b, const cw_batch_ids *ids);

/* Stage 2 (step 4), once per batch. Returns 0, or -1 with `err` set. */
CW_MUST_CHECK int cw_batch_commit(const cw_batch_env *env, cw_batch *b,
                                  cw_batch_counters *cnt, cw_error *err);

/* NULL is fine. */
void cw_batch_free(cw_batch *b);

/* Both stages at once (prepare, commit, free): see cw_batch_prepare(). */
CW_MUST_CHECK int cw_batch_write(const cw_batch_env *env, const cw_coalesce_op *ops,
                                 const cw_document *const *docs, size_t n,
                                 cw_batch_counters *cnt, cw_error *err);

/* Fill `ids` (cleared first) with the ids of ops[0..n). Never fails: on
 * allocation failure `ids->all` is set. */
void cw_batch_ids_set(cw_batch_ids *ids, const cw_coalesce_op *ops, size_t n);

/* Free and zero. */
void cw_batch_ids_clear(cw_batch_ids *ids);

#endif
