/* cw_coalesce — per-id "last operation wins" over an ordered list of ops
 * (pure; no threads, no I/O). Internal to the pipeline.
 *
 * The pipeline lists the ops of a batch in the order they take effect:
 * request by request in arrival order, and within a request its deletes,
 * then its upserts. Since an upsert replaces a document and a delete removes
 * it, the final state of an id depends only on its last op; everything
 * before it can be dropped. The winners are returned as indexes into `ops`,
 * in `ops` order (deterministic), split into deletes and upserts; the two
 * sets hold disjoint ids, so they may be applied in either order.
 *
 * Deletes of the empty id are dropped: no document can have that id, and a
 * store might refuse it forever.
 */
#ifndef CW_COALESCE_H
#define CW_COALESCE_H

#include <stddef.h>

#include "cw_error.h"

typedef struct cw_coalesce_op {
    const char *id;          /* borrowed */
    int is_upsert;           /* 1 upsert, 0 delete */
} cw_coalesce_op;

typedef struct cw_coalesce_result {
    size_t *deletes;         /* indexes into ops of winning deletes (malloc'd) */
    size_t n_deletes;
    size_t *upserts;         /* indexes into ops of winning upserts (malloc'd) */
    size_t n_upserts;
} cw_coalesce_result;

/* Coalesce ops[0..n). Returns 0 with `out` filled (free with
 * cw_coalesce_result_clear), or -1 with `err` set (CW_E_NOMEM) and `out`
 * already cleared. n == 0 gives an empty result. */
CW_MUST_CHECK int cw_coalesce(const cw_coalesce_op *ops, size_t n,
                              cw_coalesce_result *out, cw_error *err);

/* Free and zero. NULL and a zeroed result are fine. */
void cw_coalesce_result_clear(cw_coalesce_result *res);

#endif
