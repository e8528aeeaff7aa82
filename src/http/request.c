#include "request.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cw_time.h"
#include "http_server.h"

cw_http_request *cw_http_request_create(size_t max_body, int request_deadline_ms)
{
    cw_http_request *r = calloc(1, sizeof *r);
    if (r == NULL)
        return NULL;
    r->start_ms = cw_now_ms();
    r->start_us = cw_now_us();
    r->deadline_ms = r->start_ms + request_deadline_ms;
    r->max_body = max_body;
    r->route = CW_ROUTE_OTHER;
    return r;
}

void cw_http_request_destroy(cw_http_request *r)
{
    if (r == NULL)
        return;
    free(r->body);
    free(r);
}

int cw_http_content_type_is_json(const char *value)
{
    static const char JSON[] = "application/json";
    if (value == NULL)
        return 0;
    while (*value == ' ' || *value == '\t')
        value++;
    if (strncasecmp(value, JSON, sizeof JSON - 1) != 0)
        return 0;
    value += sizeof JSON - 1;
    while (*value == ' ' || *value == '\t')
        value++;
    return *value == '\0' || *value == ';';
}

/* Parse a Content-Length value: digits only. 0 on success. */
static int parse_length(const char *s, unsigned long long *out)
{
    if (s == NULL || *s == '\0')
        return -1;
    for (const char *p = s; *p != '\0'; p++)
        if (!isdigit((unsigned char)*p))
            return -1;
    errno = 0;
    unsigned long long v = strtoull(s, NULL, 10);
    if (errno != 0)
        return -1;
    *out = v;
    return 0;
}

static int bad_framing(cw_http_answer *a, const char *why)
{
    cw_http_answer_error(a, 400, "Bad request", why);
    a->close = 1;
    return 1;
}

int cw_http_request_check_head(cw_http_request *r, const cw_http_head *h, cw_http_answer *a)
{
    unsigned long long length = 0;

    r->route = cw_http_route_find(h->path, h->admin);   /* metrics label, even for a 400 */
    if (h->content_length_count > 1)
        return bad_framing(a, "more than one Content-Length header");
    if (h->content_length != NULL && parse_length(h->content_length, &length) != 0)
        return bad_framing(a, "Content-Length is not a number");
    if (h->transfer_encoding_count > 1 ||
        (h->transfer_encoding != NULL && strcasecmp(h->transfer_encoding, "chunked") != 0))
        return bad_framing(a, "unsupported Transfer-Encoding (only chunked is accepted)");
    if (h->transfer_encoding != NULL && h->content_length != NULL)
        return bad_framing(a, "both Content-Length and Transfer-Encoding");

    if (r->route == CW_ROUTE_OTHER) {
        cw_http_answer_not_found(a, h->method, h->path);
        return 1;
    }
    if (!cw_http_route_method_ok(r->route, h->method)) {
        cw_http_answer_method(a, r->route, h->method);
        return 1;
    }
    if (r->route == CW_ROUTE_SEARCH && strcmp(h->method, "POST") == 0) {
        if (r->max_body > CW_HTTP_SEARCH_MAX_BODY)
            r->max_body = CW_HTTP_SEARCH_MAX_BODY;
    } else if (r->route != CW_ROUTE_SYNC) {
        return 0;
    }
    if (h->content_length != NULL && length > r->max_body) {
        char msg[128];
        snprintf(msg, sizeof msg, "body of %llu bytes is over the limit of %zu bytes",
                 length, r->max_body);
        cw_http_answer_error(a, 413, "Payload too large", msg);
        a->close = 1;
        return 1;
    }
    if (!cw_http_content_type_is_json(h->content_type)) {
        cw_http_answer_error(a, 415, "Unsupported media type",
                             "Content-Type must be application/json");
        a->close = 1;
        return 1;
    }
    return 0;
}

/* Drop the buffer and discard from now on. */
static void drop(cw_http_request *r, cw_http_body_state why)
{
    free(r->body);
    r->body = NULL;
    r->len = r->cap = 0;
    r->body_state = why;
}

void cw_http_request_take(cw_http_request *r, const char *data, size_t n)
{
    r->seen += n;
    if (r->body_state != CW_BODY_KEEP)
        return;
    if (cw_ms_left(r->deadline_ms) == 0) {
        drop(r, CW_BODY_LATE);
        return;
    }
    if (r->route != CW_ROUTE_SYNC && r->route != CW_ROUTE_SEARCH)
        return;                       /* a probe's body is ignored */
    if (n > r->max_body - r->len) {
        drop(r, CW_BODY_TOO_LARGE);
        return;
    }
    if (r->len + n + 1 > r->cap) {
        size_t cap = r->cap == 0 ? 16384 : r->cap;
        while (cap < r->len + n + 1)
            cap *= 2;
        if (cap > r->max_body + 1)
            cap = r->max_body + 1;
        char *nb = realloc(r->body, cap);
        if (nb == NULL) {
            drop(r, CW_BODY_NOMEM);
            return;
        }
        r->body = nb;
        r->cap = cap;
    }
    memcpy(r->body + r->len, data, n);
    r->len += n;
    r->body[r->len] = '\0';
}
