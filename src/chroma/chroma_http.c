/* cw_chroma_http — pooled curl easy handles; see chroma_http.h. */
#include "chroma_http.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* Largest answer we accept (a get of a max batch of 1024-d vectors is
 * ~60 MB of JSON); beyond it the call fails instead of eating memory. */
#define CW_CHROMA_REPLY_MAX ((size_t)512 * 1024 * 1024)

struct cw_chroma_http {
    long connect_timeout_ms;
    struct curl_slist *headers;       /* read-only after create; shared by handles */
    pthread_mutex_t lock;             /* guards idle[] and n_idle */
    CURL *idle[CW_CHROMA_HTTP_POOL_MAX];
    size_t n_idle;
    int lock_ready;
};

typedef struct reply_buf {
    char *data;
    size_t len;
    size_t cap;
    int too_big;
} reply_buf;

cw_chroma_http *cw_chroma_http_create(long connect_timeout_ms, cw_error *err)
{
    cw_chroma_http *h = calloc(1, sizeof(*h));
    if (h == NULL)
        goto fail;
    h->connect_timeout_ms = connect_timeout_ms;
    if (pthread_mutex_init(&h->lock, NULL) != 0)
        goto fail;
    h->lock_ready = 1;
    struct curl_slist *l = curl_slist_append(NULL, "Content-Type: application/json");
    if (l == NULL)
        goto fail;
    h->headers = l;
    l = curl_slist_append(h->headers, "Accept: application/json");
    if (l == NULL)
        goto fail;
    /* No "Expect: 100-continue" round trip before large bodies. */
    l = curl_slist_append(h->headers, "Expect:");
    if (l == NULL)
        goto fail;
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
    for (size_t i = 0; i < h->n_idle; i++)
        curl_easy_cleanup(h->idle[i]);
    curl_slist_free_all(h->headers);
    if (h->lock_ready)
        pthread_mutex_destroy(&h->lock);
    free(h);
}

void cw_chroma_reply_clear(cw_chroma_reply *r)
{
    if (r == NULL)
        return;
    free(r->body);
    memset(r, 0, sizeof(*r));
}

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    reply_buf *b = userdata;
    size_t n = size * nmemb;
    if (b->len + n + 1 > CW_CHROMA_REPLY_MAX) {
        b->too_big = 1;
        return 0;
    }
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap == 0 ? 4096 : b->cap;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *d = realloc(b->data, cap);
        if (d == NULL)
            return 0;
        b->data = d;
        b->cap = cap;
    }
    memcpy(b->data + b->len, ptr, n);
    b->len += n;
    b->data[b->len] = '\0';
    return n;
}

/* A handle from the pool, or a new one with the options every call shares. */
static CURL *pool_take(cw_chroma_http *h)
{
    CURL *e = NULL;
    pthread_mutex_lock(&h->lock);
    if (h->n_idle > 0)
        e = h->idle[--h->n_idle];
    pthread_mutex_unlock(&h->lock);
    if (e != NULL)
        return e;
    e = curl_easy_init();
    if (e == NULL)
        return NULL;
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, h->headers);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(e, CURLOPT_USERAGENT, "cluster-whisperer/" CW_VERSION);
    return e;
}

static void pool_give(cw_chroma_http *h, CURL *e)
{
    if (e == NULL)
        return;
    pthread_mutex_lock(&h->lock);
    if (h->n_idle < CW_CHROMA_HTTP_POOL_MAX) {
        h->idle[h->n_idle++] = e;
        e = NULL;
    }
    pthread_mutex_unlock(&h->lock);
    if (e != NULL)
        curl_easy_cleanup(e);
}

int cw_chroma_http_call(cw_chroma_http *h, const char *method, const char *url,
                        const char *body, size_t body_len, long timeout_ms,
                        const char *what, cw_chroma_reply *out, cw_error *err)
{
    int rc = -1;
    reply_buf buf = { 0 };
    memset(out, 0, sizeof(*out));
    CURL *e = pool_take(h);
    if (e == NULL) {
        cw_error_set(err, CW_E_NOMEM, "chroma %s: out of memory creating a curl handle", what);
        goto out;
    }
    long connect_ms = h->connect_timeout_ms;
    if (timeout_ms > 0 && timeout_ms < connect_ms)
        connect_ms = timeout_ms;
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, connect_ms);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, &buf);
    if (strcmp(method, "POST") == 0) {
        curl_easy_setopt(e, CURLOPT_POST, 1L);
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, body != NULL ? body : "");
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)(body != NULL ? body_len : 0));
        curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, NULL);
    } else {
        curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
        curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, strcmp(method, "GET") == 0 ? NULL : method);
    }
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
    if (e != NULL) {
        /* Drop pointers into this call's stack before the handle is pooled. */
        curl_easy_setopt(e, CURLOPT_WRITEDATA, NULL);
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, NULL);
    }
    pool_give(h, e);
    free(buf.data);
    if (rc != 0)
        memset(out, 0, sizeof(*out));
    return rc;
}
