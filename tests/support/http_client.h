/* http_client — what the contract tests use to talk to the server: libcurl
 * for ordinary requests (one connection per request, like the controller)
 * and a raw socket for requests curl refuses to send (broken framing,
 * bodies dripped byte by byte). */
#ifndef CW_TEST_HTTP_CLIENT_H
#define CW_TEST_HTTP_CLIENT_H

#include <stddef.h>

typedef struct http_reply {
    long status;          /* 0 when the request failed at the network level */
    int curl_code;        /* CURLE_OK or the failure */
    char *body;           /* malloc'd, NUL-terminated ("" when none) */
    size_t body_len;
    char headers[4096];   /* raw response header lines */
} http_reply;

/* Send `method url` with `body` (may be NULL) and the Content-Type
 * `ctype` (NULL: no Content-Type header). `chunked`: send the body with
 * Transfer-Encoding: chunked instead of Content-Length. Returns 0 when an
 * HTTP answer arrived; `out` must be freed with http_reply_free() either
 * way. */
int http_request(const char *method, const char *url, const char *ctype, const char *body,
                 size_t len, int chunked, http_reply *out);

/* http_request with one more header line `extra` (e.g. "Authorization:
 * Bearer T"; NULL: none). */
int http_request_with(const char *method, const char *url, const char *ctype, const char *extra,
                      const char *body, size_t len, int chunked, http_reply *out);

/* The total timeout of each request made after the call (all threads);
 * 0 restores the default. A test gives it the controller's 30 s to check
 * "answered before the controller gives up" as the controller sees it
 * (an answer, or status 0 with CURLE_OPERATION_TIMEDOUT), not by timing. */
#define HTTP_DEFAULT_TIMEOUT_MS 120000L
#define HTTP_CONTROLLER_TIMEOUT_MS 30000L
void http_set_timeout_ms(long ms);

/* POST `json` to `base` + the sync path as application/json. */
int http_post_sync(const char *base, const char *json, http_reply *out);

/* The value of response header `name` (case-insensitive) copied into
 * buf[cap]; 1 when present, 0 when absent. */
int http_reply_header(const http_reply *r, const char *name, char *buf, size_t cap);

void http_reply_free(http_reply *r);

/* Raw request over a socket to 127.0.0.1:port: send `head` (the request
 * line and headers, CRLFs included), then `body` one byte every `drip_ms`
 * (0: all at once); read the answer until the server closes or 10 s pass.
 * Returns the status of the answer's status line (0 if none) and copies
 * the whole answer into out[cap]. */
int http_raw(unsigned short port, const char *head, const char *body, int drip_ms,
             char *out, size_t cap);

/* A TCP socket connected to 127.0.0.1:port (the caller closes it), or -1. */
int http_connect_local(unsigned short port);

/* A free TCP port on 127.0.0.1 (bound and released), 0 on failure. */
unsigned short http_free_port(void);

#endif
