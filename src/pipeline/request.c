/* cw_request — see request.h. */
#include "request.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

cw_request *cw_request_new(void)
{
    cw_request *r = calloc(1, sizeof *r);
    if (r == NULL)
        return NULL;
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&r->done, &attr);
    pthread_condattr_destroy(&attr);
    r->state = CW_REQ_QUEUED;
    return r;
}

void cw_request_free(cw_request *r)
{
    if (r == NULL)
        return;
    if (r->deletes != NULL) {
        for (size_t i = 0; i < r->n_deletes; i++)
            free(r->deletes[i]);
        free(r->deletes);
    }
    if (r->upserts != NULL) {
        for (size_t i = 0; i < r->n_upserts; i++)
            cw_document_clear(&r->upserts[i]);
        free(r->upserts);
    }
    pthread_cond_destroy(&r->done);
    free(r);
}

void cw_request_free_list(cw_request *list)
{
    while (list != NULL) {
        cw_request *next = list->next;
        cw_request_free(list);
        list = next;
    }
}

cw_request *cw_request_create(const cw_sync_payload *payload, int64_t deadline_ms,
                              cw_error *err)
{
    cw_request *r = cw_request_new();
    if (r == NULL)
        goto nomem;
    r->deadline_ms = deadline_ms;

    size_t nd = payload->deletes.len, nu = payload->upserts.len;
    if (nd > 0) {
        r->deletes = calloc(nd, sizeof *r->deletes);
        if (r->deletes == NULL)
            goto nomem;
        r->n_deletes = nd;
        for (size_t i = 0; i < nd; i++) {
            const char *id = payload->deletes.items[i];
            r->deletes[i] = strdup(id != NULL ? id : "");
            if (r->deletes[i] == NULL)
                goto nomem;
        }
    }
    if (nu > 0) {
        r->upserts = calloc(nu, sizeof *r->upserts);
        if (r->upserts == NULL)
            goto nomem;
        r->n_upserts = nu;
        for (size_t i = 0; i < nu; i++) {
            if (cw_document_from_instance(&payload->upserts.items[i], &r->upserts[i], err) != 0)
                goto fail;
        }
    }
    return r;
nomem:
    cw_error_set(err, CW_E_NOMEM, "out of memory queueing a request");
fail:
    cw_request_free(r);
    return NULL;
}

cw_request *cw_request_complete(cw_request *r, const cw_error *err)
{
    r->state = CW_REQ_DONE;
    if (err != NULL)
        cw_error_copy(&r->result, err);
    pthread_cond_signal(&r->done);
    r->refs--;
    return r->refs == 0 ? r : NULL;
}

void cw_request_queue_push(cw_request_queue *q, cw_request *r)
{
    r->next = NULL;
    if (q->tail != NULL)
        q->tail->next = r;
    else
        q->head = r;
    q->tail = r;
    q->count++;
    q->ops += cw_request_ops(r);
    q->upserts += r->n_upserts;
}

void cw_request_queue_unlink(cw_request_queue *q, cw_request *r)
{
    cw_request **link = &q->head;
    cw_request *prev = NULL;
    while (*link != NULL && *link != r) {
        prev = *link;
        link = &(*link)->next;
    }
    if (*link == NULL)
        return;
    *link = r->next;
    if (q->tail == r)
        q->tail = prev;
    r->next = NULL;
    q->count--;
    q->ops -= cw_request_ops(r);
    q->upserts -= r->n_upserts;
}

cw_request *cw_request_queue_pop(cw_request_queue *q)
{
    cw_request *r = q->head;
    if (r != NULL)
        cw_request_queue_unlink(q, r);
    return r;
}

void cw_request_queue_fail_all(cw_request_queue *q, int retry_s, const char *msg,
                               cw_request **to_free)
{
    cw_error e;
    cw_error_clear(&e);
    cw_error_set_retry(&e, CW_E_UNAVAILABLE, retry_s, "%s", msg);
    cw_request *r;
    while ((r = cw_request_queue_pop(q)) != NULL) {
        if (cw_request_complete(r, &e) != NULL) {
            r->next = *to_free;
            *to_free = r;
        }
    }
}
