/* cw_chroma_http — Chroma calls over a cw_httpc pool; see chroma_http.h. */
#include "chroma_http.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "cw_metrics.h"
#include "cw_time.h"
#include "httpc.h"

/* Largest answer we accept (a get of a max batch of 1024-d vectors is
 * ~60 MB of JSON); beyond it the call fails instead of eating memory. */
#define CW_CHROMA_REPLY_MAX ((size_t)512 * 1024 * 1024)

struct cw_chroma_http {
    long connect_timeout_ms;
    struct curl_slist *headers;       /* read-only after create; shared by handles;
                                       * holds the token: never logged */
    char *ca_file;                    /* NULL: the system's CA bundle */
    cw_httpc_pool *pool;
    atomic_long auth_refused;         /* last 401/403 status, 0 after a 2xx */
};

cw_chroma_http *cw_chroma_http_create(long connect_timeout_ms, const cw_chroma_http_auth *auth,
                                      cw_error *err)
{
    cw_chroma_http *h = calloc(1, sizeof(*h));
    if (h == NULL)
        goto fail;
    h->connect_timeout_ms = connect_timeout_ms;
    atomic_init(&h->auth_refused, 0);
    h->pool = cw_httpc_pool_create(CW_CHROMA_HTTP_POOL_MAX);
    h->headers = cw_httpc_json_headers(auth != NULL ? auth->auth_line : NULL);
    if (h->pool == NULL || h->headers == NULL)
        goto fail;
    if (auth != NULL && auth->ca_file != NULL) {
        h->ca_file = strdup(auth->ca_file);
        if (h->ca_file == NULL)
            goto fail;
    }
    return h;
fail:
    cw_chroma_http_destroy(h);
    cw_error_set(err, CW_E_NOMEM, "chroma: out of memory creating the HTTP pool");
    return NULL;
}

void cw_chroma_http_destroy(cw_chroma_http *h)
{
    if (h == NULL)
        return;
    cw_httpc_pool_destroy(h->pool);
    curl_slist_free_all(h->headers);
    free(h->ca_file);
    free(h);
}

long cw_chroma_http_auth_refused(cw_chroma_http *h)
{
    return atomic_load(&h->auth_refused);
}

void cw_chroma_reply_clear(cw_chroma_reply *r)
{
    if (r == NULL)
        return;
    free(r->body);
    memset(r, 0, sizeof(*r));
}

int cw_chroma_http_call(cw_chroma_http *h, const char *method, const char *url,
                        const char *body, size_t body_len, long timeout_ms,
                        const char *what, cw_chroma_reply *out, cw_error *err)
{
    int rc = -1;
    int64_t t0 = cw_now_us();
    cw_httpc_body buf = { .max = CW_CHROMA_REPLY_MAX };
    memset(out, 0, sizeof(*out));
    CURL *e = cw_httpc_pool_acquire(h->pool);
    if (e == NULL) {
        cw_error_set(err, CW_E_NOMEM, "chroma %s: out of memory creating a curl handle", what);
        goto out;
    }
    cw_httpc_prepare(e, url, h->headers, h->connect_timeout_ms, timeout_ms, &buf);
    if (h->ca_file != NULL)
        curl_easy_setopt(e, CURLOPT_CAINFO, h->ca_file);
    if (strcmp(method, "POST") == 0)
        cw_httpc_post(e, body, body_len);
    else if (strcmp(method, "GET") != 0)
        curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);
    CURLcode cc = curl_easy_perform(e);
    if (buf.too_big) {
        cw_error_set(err, CW_E_INTERNAL, "chroma %s: answer larger than %zu bytes", what,
                     CW_CHROMA_REPLY_MAX);
        goto out;
    }
    if (cc == CURLE_WRITE_ERROR) {
        cw_error_set(err, CW_E_NOMEM, "chroma %s: out of memory reading the answer", what);
        goto out;
    }
    if (cc != CURLE_OK) {
        cw_error_set_retry(err, CW_E_UNAVAILABLE, 2, "chroma %s: no answer from %s: %s", what,
                           url, curl_easy_strerror(cc));
        goto out;
    }
    curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &out->status);
    if (out->status == 401 || out->status == 403)
        atomic_store(&h->auth_refused, out->status);
    else if (out->status >= 200 && out->status <= 299)
        atomic_store(&h->auth_refused, 0);
    if (buf.data == NULL) {
        buf.data = calloc(1, 1);
        if (buf.data == NULL) {
            cw_error_set(err, CW_E_NOMEM, "chroma %s: out of memory", what);
            goto out;
        }
    }
    out->body = buf.data;
    out->len = buf.len;
    buf.data = NULL;
    rc = 0;
out:
    cw_metrics_chroma_call(what, cw_now_us() - t0, rc != 0 || out->status < 200 || out->status > 299);
    cw_httpc_pool_release(h->pool, e);
    cw_httpc_body_clear(&buf);
    if (rc != 0)
        memset(out, 0, sizeof(*out));
    return rc;
}
