/* cw_httpc — shared libcurl plumbing; see httpc.h. */
#include "httpc.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define BODY_FIRST_CAP 4096

struct cw_httpc_pool {
    pthread_mutex_t lock;    /* guards idle[] and n_idle */
    int lock_ready;
    CURL **idle;             /* idle handles, a stack of n_idle */
    size_t n_idle;
    size_t max_idle;
};

cw_httpc_pool *cw_httpc_pool_create(size_t max_idle)
{
    cw_httpc_pool *p = calloc(1, sizeof *p);
    if (p == NULL)
        return NULL;
    p->max_idle = max_idle > 0 ? max_idle : 1;
    p->idle = calloc(p->max_idle, sizeof *p->idle);
    if (p->idle == NULL || pthread_mutex_init(&p->lock, NULL) != 0) {
        cw_httpc_pool_destroy(p);
        return NULL;
    }
    p->lock_ready = 1;
    return p;
}

void cw_httpc_pool_destroy(cw_httpc_pool *p)
{
    if (p == NULL)
        return;
    for (size_t i = 0; i < p->n_idle; i++)
        curl_easy_cleanup(p->idle[i]);
    free(p->idle);
    if (p->lock_ready)
        pthread_mutex_destroy(&p->lock);
    free(p);
}

CURL *cw_httpc_pool_acquire(cw_httpc_pool *p)
{
    CURL *h = NULL;

    pthread_mutex_lock(&p->lock);
    if (p->n_idle > 0)
        h = p->idle[--p->n_idle];
    pthread_mutex_unlock(&p->lock);
    if (h == NULL)
        h = curl_easy_init();
    return h;
}

void cw_httpc_pool_release(cw_httpc_pool *p, CURL *h)
{
    if (h == NULL)
        return;
    /* Back to default options; the connection and caches stay. */
    curl_easy_reset(h);
    pthread_mutex_lock(&p->lock);
    if (p->n_idle < p->max_idle) {
        p->idle[p->n_idle++] = h;
        h = NULL;
    }
    pthread_mutex_unlock(&p->lock);
    if (h != NULL)
        curl_easy_cleanup(h);
}

size_t cw_httpc_body_write(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    cw_httpc_body *b = userdata;
    size_t add = size * nmemb;

    if (b->len > b->max || add > b->max - b->len) {
        b->too_big = 1;
        return 0;
    }
    if (b->len + add >= b->cap) {
        size_t need = b->len + add + 1;
        size_t cap = b->cap > 0 ? b->cap : BODY_FIRST_CAP;
        while (cap < need)
            cap = cap > SIZE_MAX / 2 ? need : cap * 2;
        if (cap - 1 > b->max)
            cap = b->max + 1;     /* room for max bytes and the NUL */
        char *grown = realloc(b->data, cap);
        if (grown == NULL)
            return 0;
        b->data = grown;
        b->cap = cap;
    }
    memcpy(b->data + b->len, ptr, add);
    b->len += add;
    b->data[b->len] = '\0';
    return add;
}

void cw_httpc_body_clear(cw_httpc_body *b)
{
    if (b == NULL)
        return;
    free(b->data);
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    b->too_big = 0;
}

void cw_httpc_prepare(CURL *h, const char *url, const struct curl_slist *headers,
                      long connect_ms, long timeout_ms, cw_httpc_body *body)
{
    if (timeout_ms > 0 && timeout_ms < connect_ms)
        connect_ms = timeout_ms;
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "cluster-whisperer/" CW_VERSION);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, connect_ms);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, cw_httpc_body_write);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, body);
}

void cw_httpc_post(CURL *h, const char *data, size_t len)
{
    curl_easy_setopt(h, CURLOPT_POST, 1L);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, data != NULL ? data : "");
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)(data != NULL ? len : 0));
}

/* Append one line; -1 on out of memory (the list is kept). */
static int add_header(struct curl_slist **list, const char *line)
{
    struct curl_slist *grown = curl_slist_append(*list, line);
    if (grown == NULL)
        return -1;
    *list = grown;
    return 0;
}

struct curl_slist *cw_httpc_json_headers(const char *extra)
{
    struct curl_slist *list = NULL;

    if (add_header(&list, "Content-Type: application/json") != 0
        || add_header(&list, "Accept: application/json") != 0
        || add_header(&list, "Expect:") != 0
        || (extra != NULL && add_header(&list, extra) != 0)) {
        curl_slist_free_all(list);
        return NULL;
    }
    return list;
}
