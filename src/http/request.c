#include "request.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cluster.h"
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

/* RFC 9110 §5.6.2 tchar. */
static int is_tchar(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
           || (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

/* Past the NUL(s) that were a line terminator at `p`: "\0" (LF) or "\0\0"
 * (CRLF); `next` is where the following line must start. 1 when it does. */
static int line_ends_at(const char *p, const char *end, const char *next)
{
    if (p >= end || *p != '\0')
        return 0;
    if (p + 1 == next)
        return 1;
    return p + 1 < end && p[1] == '\0' && p + 2 == next;
}

const char *cw_http_head_block_problem(const char *after_line, const char *end,
                                       const cw_http_field *f, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (f[i].key_len == 0)
            return "empty header name";
        for (size_t k = 0; k < f[i].key_len; k++)
            if (!is_tchar((unsigned char)f[i].key[k]))
                return "header name with whitespace or a control character";
        for (size_t k = 0; k < f[i].value_len; k++) {
            unsigned char c = (unsigned char)f[i].value[k];
            if (c == '\r')
                return "bare CR in a header value";
            if ((c < 0x20 && c != '\t') || c == 0x7f)
                return "control character in a header value";
        }
    }
    if (after_line == NULL)
        return NULL;
    const char *p = after_line;             /* the NUL ending the request line */
    for (size_t i = 0; i < n; i++) {
        if (!line_ends_at(p, end, f[i].key))
            return "malformed header line (obs-fold continuation, NUL, or a line break inside it)";
        p = f[i].key + f[i].key_len;
        if (p >= end || *p != '\0')        /* the colon */
            return "malformed header line";
        p++;
        while (p < end && (*p == ' ' || *p == '\t'))
            p++;
        if (p != f[i].value)
            return "malformed header line (NUL or a line break in a value)";
        p = f[i].value + f[i].value_len;
    }
    /* The last line's terminator, then the empty line: 2 to 4 NULs. */
    size_t rest = p <= end ? (size_t)(end - p) : 0;
    if (p > end || rest < 2 || rest > 4)
        return "malformed header block (obs-fold continuation, NUL, or a line break inside a line)";
    for (size_t k = 0; k < rest; k++)
        if (p[k] != '\0')
            return "malformed header block (obs-fold continuation, NUL, or a line break inside a line)";
    return NULL;
}

int cw_http_target_has_pct00(const char *uri)
{
    return uri != NULL && strstr(uri, "%00") != NULL;
}

const char *cw_http_request_line_problem(const char *method, const char *raw_uri,
                                         size_t raw_uri_len, int pct00, const char *version)
{
    static const char NUL_IN_LINE[] = "NUL in the request line (raw, or %00 in the target)";
    if (method == NULL || raw_uri == NULL || version == NULL || raw_uri <= method
        || version <= raw_uri)
        return NULL;
    const char *p = method + strlen(method);
    if (p >= raw_uri)
        return NUL_IN_LINE;
    for (p++; p < raw_uri; p++)          /* the blanks libmicrohttpd skipped */
        if (*p != ' ')
            return NUL_IN_LINE;
    if (raw_uri + raw_uri_len + 1 != version || pct00)
        return NUL_IN_LINE;
    return NULL;
}

/* Sync: the cluster the URL names, checked, into r->cluster. 1 with a 400
 * in `a` when it is unusable. */
static int sync_cluster(cw_http_request *r, const cw_http_head *h, cw_http_answer *a)
{
    const char *name = NULL, *pname = NULL;
    size_t len = 0, plen = 0;
    int in_path = cw_http_sync_path_cluster(h->path, &pname, &plen);
    cw_error err;
    cw_error_clear(&err);
    if (h->cluster_arg_count > 1) {
        cw_error_set(&err, CW_E_INVALID, "cluster: given more than once");
    } else if (in_path) {
        name = pname;
        len = plen;
        if (h->cluster_arg_count == 1 &&
            (h->cluster_arg_len != plen || h->cluster_arg == NULL ||
             memcmp(h->cluster_arg, pname, plen) != 0))
            cw_error_set(&err, CW_E_INVALID, "the path and ?cluster= name different clusters");
    } else if (h->cluster_arg_count == 1) {
        name = h->cluster_arg != NULL ? h->cluster_arg : "";
        len = h->cluster_arg != NULL ? h->cluster_arg_len : 0;
    } else {
        return 0;                          /* none named */
    }
    if (err.code == CW_OK && cw_cluster_name_check(name, len, &err) == 0) {
        memcpy(r->cluster, name, len);
        r->cluster[len] = '\0';
        r->has_cluster = 1;
        return 0;
    }
    cw_http_answer_error(a, 400, "Bad request", err.msg);
    a->close = 1;
    return 1;
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
        cw_http_answer_method(a, h->method, cw_http_route_allow(r->route));
        return 1;
    }
    if (r->route == CW_ROUTE_SYNC && sync_cluster(r, h, a))
        return 1;
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

void cw_http_request_drop(cw_http_request *r, cw_http_body_state why)
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
        cw_http_request_drop(r, CW_BODY_LATE);
        return;
    }
    if (r->route != CW_ROUTE_SYNC && r->route != CW_ROUTE_SEARCH)
        return;                       /* a probe's body is ignored */
    if (n > r->max_body - r->len) {
        cw_http_request_drop(r, CW_BODY_TOO_LARGE);
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
            cw_http_request_drop(r, CW_BODY_NOMEM);
            return;
        }
        r->body = nb;
        r->cap = cap;
    }
    memcpy(r->body + r->len, data, n);
    r->len += n;
    r->body[r->len] = '\0';
}
