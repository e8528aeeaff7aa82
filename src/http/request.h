/* cw_http_request — the per-request state of one HTTP request (kept in
 * libmicrohttpd's *req_cls from the headers call to the completed
 * callback, and freed there only) and the checks made on its headers.
 *
 * Header checks (the headers call, before any body byte is read), in order:
 *   line      a NUL in the request line: raw in the method or the target,
 *             or %00 in the target (cw_http_request_line_problem) → 400 +
 *             Connection: close
 *   syntax    a header name that is not an RFC 9110 token (whitespace
 *             before the colon, control characters), a control character
 *             in a value (bare CR, NUL, ...), an obs-fold continuation
 *             line, or a line libmicrohttpd took apart differently from
 *             what its bytes say (cw_http_head_block_problem) → 400 +
 *             Connection: close; nothing after it on the connection runs
 *   framing   two Content-Length headers, a Content-Length that is not a
 *             number, Transfer-Encoding other than "chunked", or both
 *             Content-Length and Transfer-Encoding → 400 + Connection: close
 *   route     unknown path → 404; wrong method → 405 + Allow
 *   size      Content-Length > max_body → 413 (sync; POST search, whose
 *             max_body is CW_HTTP_SEARCH_MAX_BODY)
 *   type      Content-Type not application/json (parameters allowed,
 *             case-insensitive; absent counts as wrong) → 415 (sync, POST search)
 * Body: bytes are appended up to max_body; past it (chunked bodies) the
 * body is dropped and the rest discarded, and the answer (413) is given on
 * the final call, the first moment libmicrohttpd 0.9.75 lets a response be
 * queued after the headers call. A body still arriving at the request
 * deadline is cut there by the transport (http_server.c): the connection
 * is closed without an answer, as 0.9.75 cannot queue one mid-body.
 */
#ifndef CW_HTTP_REQUEST_H
#define CW_HTTP_REQUEST_H

#include <stddef.h>
#include <stdint.h>

#include "answer.h"
#include "routes.h"

/* What the header checks need to know about the request, gathered by the
 * transport (http_server.c) from libmicrohttpd. */
typedef struct cw_http_head {
    const char *method;
    const char *path;
    int admin;                     /* 1 on the admin listener */
    size_t content_length_count;   /* Content-Length headers seen */
    const char *content_length;    /* first one, or NULL */
    const char *transfer_encoding; /* first one, or NULL */
    size_t transfer_encoding_count;
    const char *content_type;      /* first one, or NULL */
} cw_http_head;

typedef enum cw_http_body_state {
    CW_BODY_KEEP,        /* buffering */
    CW_BODY_TOO_LARGE,   /* over max_body: discarding, answer 413 */
    CW_BODY_LATE,        /* request deadline passed: the transport cuts the connection */
    CW_BODY_NOMEM,       /* no memory for the body: discarding, answer 503 */
    CW_BODY_BUSY         /* the in-flight body budget is spent: discarding, answer 503 */
} cw_http_body_state;

typedef struct cw_http_request {
    int64_t start_ms;
    int64_t start_us;              /* cw_now_us() at create: the request's duration */
    const char *method;            /* for the log line; borrowed from libmicrohttpd, */
    const char *path;              /* valid until the completed callback (http_server.c) */
    int64_t deadline_ms;           /* start_ms + request_deadline_ms */
    cw_http_route route;
    int answered;                  /* a response is queued */
    cw_http_body_state body_state;
    char *body;                    /* malloc'd, NUL-terminated when non-NULL */
    size_t len, cap;
    size_t seen;                   /* body bytes received, kept or not */
    size_t max_body;
    int sync_slot;                 /* holds one of the server's sync slots (http_server.c) */
    int search_slot;               /* holds one of the server's search slots (http_server.c) */
    size_t reserved_bytes;         /* of the server's in-flight body budget (http_server.c) */
    int deadline_timer;            /* the connection timeout tracks the deadline (http_server.c) */
    int64_t body_start_ms;         /* when the body began to be read (http_server.c, rate check) */
    int linger;                    /* answered from the headers with a body pending: read and
                                      discard it before the close (http_server.c) */
} cw_http_request;

/* One header field as libmicrohttpd stored it (pointers into its read
 * buffer, where it parsed the header block in place). */
typedef struct cw_http_field {
    const char *key;
    size_t key_len;
    const char *value;
    size_t value_len;
} cw_http_field;

/* Check a request's header block, in the state libmicrohttpd 0.9.75 leaves
 * its read buffer after parsing it in place: every line terminator (CRLF or
 * LF) is NUL bytes, each field's first colon a NUL. `after_line` points at
 * the NUL that ends the request line's version, `end` one past the block
 * (the method pointer + MHD_CONNECTION_INFO_REQUEST_HEADER_SIZE); `f[0..n)`
 * the header fields in received order. Walking the bytes, each field must
 * start right where the previous line ended, its value right after the
 * colon and optional blanks, and only line terminators and the empty line
 * may follow the last one: an obs-fold continuation line, a NUL inside a
 * line, or a bare CR all break that. Also: each name must be a token and no
 * value may hold a control character other than HTAB.
 * Returns NULL when well-formed, else a static one-line reason. Pure; any
 * thread. `after_line` NULL (no version: nothing to walk) checks the
 * fields alone. */
const char *cw_http_head_block_problem(const char *after_line, const char *end,
                                       const cw_http_field *f, size_t n);

/* Check the request line as libmicrohttpd 0.9.75 parsed it in place:
 * `method` and `version` are its pointers into the read buffer (each
 * separating space became a NUL); `raw_uri` and `raw_uri_len` the request
 * target and its strlen when libmicrohttpd handed it to the URI callback,
 * before it split off the query and unescaped the path in place; `pct00`
 * whether the target held "%00" then (cw_http_target_has_pct00). Each
 * part must end where the next begins (after the method's NUL only blanks
 * up to the target; the target's NUL right before the version): a raw NUL
 * inside one ends its string early, and libmicrohttpd would route on the
 * part before it. A %00 would become a NUL when unescaped. Returns NULL
 * when clean (or `raw_uri` is NULL: not known), else a static one-line
 * reason. Pure; any thread. */
const char *cw_http_request_line_problem(const char *method, const char *raw_uri,
                                         size_t raw_uri_len, int pct00, const char *version);

/* 1 when the request target `uri` (as received, NUL-terminated) holds
 * "%00", else 0. Pure. */
int cw_http_target_has_pct00(const char *uri);

/* calloc'd request started now; NULL on OOM. */
cw_http_request *cw_http_request_create(size_t max_body, int request_deadline_ms);

/* NULL-safe. */
void cw_http_request_destroy(cw_http_request *r);

/* Run the header checks. Sets r->route. Returns 1 with `a` filled when the
 * request is answered from its headers alone, else 0 (read the body). */
int cw_http_request_check_head(cw_http_request *r, const cw_http_head *h, cw_http_answer *a);

/* Take `n` body bytes (buffer, or count and drop; see above). */
void cw_http_request_take(cw_http_request *r, const char *data, size_t n);

/* Free the buffered body and discard the rest of it from now on, to be
 * answered by `why` (not CW_BODY_KEEP) on the final call. */
void cw_http_request_drop(cw_http_request *r, cw_http_body_state why);

/* Content-Type is application/json, with optional parameters. */
int cw_http_content_type_is_json(const char *value);

#endif
