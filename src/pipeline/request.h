/* cw_request — one submitted request's own copy of its operations, and
 * the FIFO queue requests wait in (synchronous mode) — part of
 * src/pipeline, not for other modules.
 *
 * Ownership: a request is shared by its caller and the pipeline (the queue,
 * then the batcher and writer); `refs` counts them and whoever drops the
 * last reference frees it, so a caller that gives up at its deadline never
 * frees what the writer is still writing, and vice versa. It owns copies
 * of everything it needs (ids, documents): the payload is only borrowed by
 * cw_request_create().
 *
 * Threads: create and free run on any thread, outside the pipeline's lock.
 * Everything else here touches the guarded fields and runs with the
 * pipeline's lock held (the functions do not lock: the caller's lock is
 * the pipeline's).
 */
#ifndef CW_PIPELINE_REQUEST_H
#define CW_PIPELINE_REQUEST_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "cw_error.h"
#include "document.h"
#include "sync_payload.h"

typedef enum cw_request_state {
    CW_REQ_QUEUED,               /* in the queue, no batcher has it */
    CW_REQ_TAKEN,                /* in a batch being prepared or written */
    CW_REQ_DONE                  /* `result` is final */
} cw_request_state;

typedef struct cw_request {
    /* Set before the request is queued; read-only afterwards. */
    int64_t deadline_ms;
    char **deletes;              /* owned copies */
    size_t n_deletes;
    cw_document *upserts;        /* owned */
    size_t n_upserts;

    /* Guarded by the pipeline's lock. */
    int refs;                    /* caller + queue/batcher */
    cw_request_state state;
    cw_error result;             /* valid once state == CW_REQ_DONE */
    uint64_t embed_calls;        /* of its batch (or its own re-run), once done */
    pthread_cond_t done;         /* state became CW_REQ_DONE (monotonic clock) */
    struct cw_request *next;     /* queue link, then batch link */

    /* Journal mode: a chunk of a journaled request, loaded by the batcher
     * (no caller waits on it): the seq range of its ops. */
    int64_t first_seq, last_seq;
} cw_request;

/* A zeroed request with its cond initialised (state QUEUED, refs 0), or
 * NULL when out of memory. */
cw_request *cw_request_new(void);

/* Copy the operations of the borrowed `payload`. NULL with `err` set
 * (CW_E_NOMEM, or the document's own error) on failure. */
cw_request *cw_request_create(const cw_sync_payload *payload, int64_t deadline_ms,
                              cw_error *err);

void cw_request_free(cw_request *r);                 /* NULL is fine */
void cw_request_free_list(cw_request *list);         /* linked by `next` */

static inline size_t cw_request_ops(const cw_request *r)
{
    return r->n_deletes + r->n_upserts;
}

/* Locked: finish `r` with `err` (NULL keeps r->result, CW_OK = success),
 * wake its caller and drop the pipeline's reference. Returns `r` when that
 * was the last reference (free it after unlocking), else NULL. */
cw_request *cw_request_complete(cw_request *r, const cw_error *err);

/* The queue, in arrival order, with running totals for the batcher. */
typedef struct cw_request_queue {
    cw_request *head, *tail;
    size_t count;                /* requests */
    size_t ops;                  /* their operations */
    size_t upserts;              /* their upserts */
} cw_request_queue;

void cw_request_queue_push(cw_request_queue *q, cw_request *r);      /* locked */
void cw_request_queue_unlink(cw_request_queue *q, cw_request *r);    /* locked; absent: no-op */
cw_request *cw_request_queue_pop(cw_request_queue *q);               /* locked; NULL if empty */

/* Locked: complete every queued request with CW_E_UNAVAILABLE,
 * Retry-After `retry_s` and `msg`; those to free are pushed on *to_free. */
void cw_request_queue_fail_all(cw_request_queue *q, int retry_s, const char *msg,
                               cw_request **to_free);

#endif
