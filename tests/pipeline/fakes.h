/* Test doubles for the pipeline tests: an in-memory cw_store that records
 * every call, and a deterministic cw_embedder. Both thread-safe. */
#ifndef CW_TEST_PIPELINE_FAKES_H
#define CW_TEST_PIPELINE_FAKES_H

#include <stddef.h>
#include <stdint.h>

#include "cw_error.h"
#include "document.h"
#include "embedder.h"
#include "store.h"

/* ---- fake store --------------------------------------------------------- */

typedef struct fake_store fake_store;

fake_store *fake_store_create(void);
cw_store *fake_store_base(fake_store *s);
/* Make "get", "remove" or "upsert" fail with code/retry/msg (CW_OK: stop). */
void fake_store_fail(fake_store *s, const char *op, cw_status code, int retry_s,
                     const char *msg);
/* Closed: remove and upsert calls block at their start until reopened. */
void fake_store_gate(fake_store *s, int closed);
/* Block until `n` remove/upsert calls have reached the gate in total. */
void fake_store_wait_entered(fake_store *s, size_t n);
/* Closed: get calls block at their start (before they read) until reopened.
 * Holds the pipeline's batcher while it prepares a batch. */
void fake_store_gate_gets(fake_store *s, int closed);
/* Block until `n` get calls have started in total. */
void fake_store_wait_gets(fake_store *s, size_t n);
/* The calls so far, e.g. "get(a,b) remove(x) upsert(a,b)" (malloc'd). */
char *fake_store_log(fake_store *s);
/* Forget the call log (not the contents). */
void fake_store_log_reset(fake_store *s);
/* Stored text of `id` (malloc'd) or NULL when absent. */
char *fake_store_text(fake_store *s, const char *id);
/* Stored metadata cluster of `id` (malloc'd), NULL when absent or none. */
char *fake_store_cluster(fake_store *s, const char *id);
/* Copy the stored vector of `id` into out[0..dim); 0, or -1 when absent or
 * of another size. */
int fake_store_vec(fake_store *s, const char *id, float *out, size_t dim);
size_t fake_store_count(fake_store *s);

/* ---- fake embedder ------------------------------------------------------ */

typedef struct fake_embedder fake_embedder;

/* dim 0: starts unknown and learns `learn_dim` on its first call. */
fake_embedder *fake_embedder_create(size_t dim, size_t learn_dim);
cw_embedder *fake_embedder_base(fake_embedder *e);
void fake_embedder_fail(fake_embedder *e, cw_status code, int retry_s, const char *msg);
/* Fail every call that has a text containing `substring` (one bad input). */
void fake_embedder_refuse(fake_embedder *e, const char *substring, cw_status code, const char *msg);
void fake_embedder_sleep(fake_embedder *e, int64_t ms);
size_t fake_embedder_calls(fake_embedder *e);
size_t fake_embedder_inputs(fake_embedder *e);
/* The most texts passed in one call so far. */
size_t fake_embedder_largest(fake_embedder *e);

/* The vector the fake embedder makes for `text`. */
void fake_vector(const char *text, size_t dim, float *out);

#endif
