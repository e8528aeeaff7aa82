/* A pipeline over a fake store and a fake embedder, shared by the tests. */
#ifndef CW_TEST_PFIXTURE_H
#define CW_TEST_PFIXTURE_H

#include <pthread.h>

#include "cw_time.h"
#include "fakes.h"
#include "pipeline.h"
#include "tpayload.h"

#define DIM 8
#define FAR_MS (cw_now_ms() + 60000)

typedef struct fixture {
    fake_store *store;
    fake_embedder *emb;
    cw_pipeline *p;
} fixture;

/* dim 0: the embedder learns DIM on its first call. cfg NULL: defaults. */
void fx_start(fixture *fx, size_t dim, const cw_pipeline_config *cfg);
void fx_stop(fixture *fx);

/* Submit `spec` (tpayload.h) and free the payload. */
int fx_submit(fixture *fx, const char *spec, int64_t deadline_ms, cw_pipeline_result *res,
              cw_error *err);

/* The same for a request of `cluster` (NULL: none). */
int fx_submit_in(fixture *fx, const char *cluster, const char *spec, int64_t deadline_ms,
                 cw_pipeline_result *res, cw_error *err);

/* Assert the store's call log, then forget it. */
void fx_assert_log(fixture *fx, const char *want);

/* Assert the store's call log as two sequences, then forget it: the gets
 * (the batcher's, in batch order) and the writes (the writer's, in batch
 * order). How the two interleave depends on thread timing; each order does
 * not. want_gets NULL: the gets are not checked (the writer's own gets, when
 * it re-runs a batch request by request, interleave with the batcher's). */
void fx_assert_log_split(fixture *fx, const char *want_gets, const char *want_writes);

/* 1 when `id` is stored with the text of `name` and its fake vector. */
int fx_stored_as(fixture *fx, const char *id, const char *name);

/* Wait (polling) until the queue holds `n` requests. */
void fx_wait_queued(fixture *fx, size_t n);

/* A submit on its own thread. */
typedef struct submitter {
    cw_pipeline *p;
    const char *cluster;         /* NULL: none */
    const char *spec;
    int64_t deadline_ms;
    int rc;
    cw_error err;
    cw_pipeline_result res;
    pthread_t thread;
} submitter;

void submitter_start(submitter *s, cw_pipeline *p, const char *spec, int64_t deadline_ms);
void submitter_start_in(submitter *s, cw_pipeline *p, const char *cluster, const char *spec,
                        int64_t deadline_ms);
void submitter_join(submitter *s);

/* Hold the batcher: close the get gate (and the write gate), submit `spec`
 * (which must have an upsert) on `s` and wait until its get started: what
 * is submitted next stays queued until fx_release(). `gets` is the number
 * of gets made so far. */
void fx_hold(fixture *fx, submitter *s, const char *spec, size_t gets);
/* Open the get gate, and the write gate. */
void fx_release(fixture *fx);

#endif
