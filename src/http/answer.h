/* cw_http_answer — what a route decides: a status, a body and the few
 * headers we send (Content-Type, Allow, Retry-After). Built by routes.c and
 * http_server.c, turned into an MHD response in exactly one place
 * (http_server.c). Every JSON body is built with json-c, so any text we
 * echo back (a URL, a dependency's error) is escaped.
 *
 * Ownership: `body` is malloc'd and owned by the answer; release with
 * cw_http_answer_clear(). When a body cannot be built (out of memory) the
 * answer becomes a 503 with a static body, never a half-filled one.
 */
#ifndef CW_HTTP_ANSWER_H
#define CW_HTTP_ANSWER_H

#include <stddef.h>

struct json_object;

#define CW_HTTP_CT_JSON "application/json"
#define CW_HTTP_CT_PROMETHEUS "text/plain; version=0.0.4; charset=utf-8"

/* What the request's log line and metrics say besides the status; never
 * sent to the client. */
typedef struct cw_http_answer_note {
    int payload_ok;            /* sync: the body was a valid payload */
    char cluster[64];          /* sync: the request's cluster, "" for none */
    size_t upserts, deletes;   /* its ops as received (payload_ok) */
    unsigned long long embed_calls;  /* embedder calls of the batch(es) that carried it */
    char error[512];           /* what failed, one line; "" when nothing did */
} cw_http_answer_note;

typedef struct cw_http_answer {
    unsigned status;
    char *body;                /* malloc'd; NULL = use `static_body` */
    size_t body_len;
    const char *static_body;   /* static string, used when body is NULL */
    const char *content_type;  /* static string */
    const char *allow;         /* static string or NULL: the Allow header */
    const char *www_authenticate; /* static string or NULL: the WWW-Authenticate header */
    int retry_after_s;         /* > 0: send Retry-After */
    int close;                 /* 1: send Connection: close */
    cw_http_answer_note note;  /* for the log line; set after the answer is built
                                  (cw_http_answer_json clears it) */
} cw_http_answer;

/* Take ownership of malloc'd JSON `body` (NUL-terminated). NULL `body`
 * (its builder ran out of memory) makes the answer the static OOM 503. */
void cw_http_answer_json(cw_http_answer *a, unsigned status, char *body);

/* {"error":title,"message":message} with `status`; note.error = message. */
void cw_http_answer_error(cw_http_answer *a, unsigned status, const char *title,
                          const char *message);

/* 503 {"error":"Service unavailable","message":message} + Retry-After
 * (`retry_after_s`, or CW_HTTP_RETRY_AFTER_DEFAULT_S when <= 0). */
void cw_http_answer_unavailable(cw_http_answer *a, const char *message, int retry_after_s);

/* Set note.error (what failed, for the log line; cut to fit). */
void cw_http_answer_note_error(cw_http_answer *a, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* 404 {"error":"Not found","message":"no route for METHOD PATH"}. */
void cw_http_answer_not_found(cw_http_answer *a, const char *method, const char *path);

/* 405 "METHOD is not allowed here; use ALLOW" + the Allow header; `allow`
 * is a static string (cw_http_route_allow()). */
void cw_http_answer_method(cw_http_answer *a, const char *method, const char *allow);

/* Body bytes and length (the malloc'd body or the static one). */
const char *cw_http_answer_bytes(const cw_http_answer *a, size_t *len);

/* Free the body and zero the answer. */
void cw_http_answer_clear(cw_http_answer *a);

/* Serialize a json-c object compactly into a malloc'd string; NULL on OOM.
 * Takes the reference to `obj` (puts it). */
char *cw_http_json_take(struct json_object *obj);

#endif
