/* request.c: a request's own copy of its ops, the queue's order and
 * totals, completion and the references. */
#include <stdlib.h>
#include <string.h>

#include "cw_test.h"
#include "request.h"
#include "tests.h"
#include "tpayload.h"

static cw_request *make(const char *spec)
{
    cw_sync_payload *p = tp_new(spec);
    cw_error err;
    cw_error_clear(&err);
    cw_request *r = cw_request_create(p, 1234, &err);
    tp_free(p);                        /* the request holds copies */
    CU_ASSERT_EQUAL(err.code, CW_OK);
    return r;
}

void test_request_copies_the_payload(void)
{
    cw_request *r = make("+a -x +b -y");
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    CU_ASSERT_EQUAL(r->deadline_ms, 1234);
    CU_ASSERT_EQUAL(r->state, CW_REQ_QUEUED);
    CU_ASSERT_EQUAL(r->refs, 0);
    CU_ASSERT_EQUAL(r->n_deletes, 2);
    CU_ASSERT_EQUAL(r->n_upserts, 2);
    CU_ASSERT_EQUAL(cw_request_ops(r), 4);
    CU_ASSERT_STRING_EQUAL(r->deletes[0], "x");
    CU_ASSERT_STRING_EQUAL(r->deletes[1], "y");
    CU_ASSERT_STRING_EQUAL(r->upserts[0].id, "a");
    CU_ASSERT_STRING_EQUAL(r->upserts[0].text, tp_text("a"));
    CU_ASSERT_STRING_EQUAL(r->upserts[1].id, "b");
    cw_request_free(r);
    cw_request_free(NULL);
}

void test_request_queue_order_and_totals(void)
{
    cw_request_queue q;
    memset(&q, 0, sizeof q);
    cw_request *a = make("+a"), *b = make("-x +b +c"), *c = make("-y");
    cw_request_queue_push(&q, a);
    cw_request_queue_push(&q, b);
    cw_request_queue_push(&q, c);
    CU_ASSERT_EQUAL(q.count, 3);
    CU_ASSERT_EQUAL(q.ops, 5);
    CU_ASSERT_EQUAL(q.upserts, 3);
    CU_ASSERT_PTR_EQUAL(q.head, a);
    CU_ASSERT_PTR_EQUAL(q.tail, c);

    cw_request_queue_unlink(&q, b);                  /* from the middle */
    CU_ASSERT_PTR_EQUAL(q.head, a);
    CU_ASSERT_PTR_EQUAL(a->next, c);
    CU_ASSERT_PTR_NULL(b->next);
    CU_ASSERT_EQUAL(q.count, 2);
    CU_ASSERT_EQUAL(q.ops, 2);
    CU_ASSERT_EQUAL(q.upserts, 1);
    cw_request_queue_unlink(&q, b);                  /* absent: nothing changes */
    CU_ASSERT_EQUAL(q.count, 2);
    cw_request_queue_unlink(&q, c);                  /* the tail */
    CU_ASSERT_PTR_EQUAL(q.tail, a);
    cw_request_queue_push(&q, b);                    /* after the new tail */
    CU_ASSERT_PTR_EQUAL(a->next, b);

    CU_ASSERT_PTR_EQUAL(cw_request_queue_pop(&q), a);
    CU_ASSERT_PTR_EQUAL(cw_request_queue_pop(&q), b);
    CU_ASSERT_PTR_NULL(cw_request_queue_pop(&q));
    CU_ASSERT_PTR_NULL(q.head);
    CU_ASSERT_PTR_NULL(q.tail);
    CU_ASSERT_EQUAL(q.count, 0);
    CU_ASSERT_EQUAL(q.ops, 0);
    CU_ASSERT_EQUAL(q.upserts, 0);
    cw_request_free(a);
    cw_request_free(b);
    cw_request_free(c);
}

void test_request_complete_and_references(void)
{
    cw_request *r = make("+a");
    r->refs = 2;                                     /* caller + pipeline */
    cw_error e;
    cw_error_clear(&e);
    cw_error_set_retry(&e, CW_E_UNAVAILABLE, 3, "chroma: down");
    CU_ASSERT_PTR_NULL(cw_request_complete(r, &e));  /* the caller still holds it */
    CU_ASSERT_EQUAL(r->state, CW_REQ_DONE);
    CU_ASSERT_EQUAL(r->refs, 1);
    CU_ASSERT_EQUAL(r->result.code, CW_E_UNAVAILABLE);
    CU_ASSERT_EQUAL(r->result.retry_after_s, 3);
    CU_ASSERT_STRING_EQUAL(r->result.msg, "chroma: down");
    r->refs = 1;                                     /* the caller gave up before */
    CU_ASSERT_PTR_EQUAL(cw_request_complete(r, NULL), r);   /* NULL keeps the result */
    CU_ASSERT_STRING_EQUAL(r->result.msg, "chroma: down");
    cw_request_free(r);
}

void test_request_queue_fail_all(void)
{
    cw_request_queue q;
    memset(&q, 0, sizeof q);
    cw_request *a = make("+a"), *b = make("+b");
    a->refs = 1;                                     /* its caller left */
    b->refs = 2;                                     /* its caller waits */
    cw_request_queue_push(&q, a);
    cw_request_queue_push(&q, b);
    cw_request *to_free = NULL;
    cw_request_queue_fail_all(&q, 2, "pipeline is shutting down", &to_free);
    CU_ASSERT_EQUAL(q.count, 0);
    CU_ASSERT_PTR_NULL(q.head);
    CU_ASSERT_PTR_EQUAL(to_free, a);                 /* only the last reference's */
    CU_ASSERT_PTR_NULL(a->next);
    for (cw_request *r = a; r != NULL; r = r == a ? b : NULL) {
        CU_ASSERT_EQUAL(r->state, CW_REQ_DONE);
        CU_ASSERT_EQUAL(r->result.code, CW_E_UNAVAILABLE);
        CU_ASSERT_EQUAL(r->result.retry_after_s, 2);
        CU_ASSERT_STRING_EQUAL(r->result.msg, "pipeline is shutting down");
    }
    CU_ASSERT_EQUAL(b->refs, 1);
    cw_request_free_list(to_free);
    cw_request_free(b);
}
