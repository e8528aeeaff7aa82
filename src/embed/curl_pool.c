#include "curl_pool.h"

#include <pthread.h>
#include <stdlib.h>

struct cw_embed_curl_pool {
    pthread_mutex_t lock;    /* guards idle[] and n_idle */
    int lock_ready;
    CURL **idle;             /* idle handles, a stack of n_idle */
    size_t n_idle;
    size_t max_idle;
};

cw_embed_curl_pool *cw_embed_curl_pool_create(size_t max_idle)
{
    cw_embed_curl_pool *p = calloc(1, sizeof *p);
    if (p == NULL)
        return NULL;
    p->max_idle = max_idle > 0 ? max_idle : 1;
    p->idle = calloc(p->max_idle, sizeof *p->idle);
    if (p->idle == NULL || pthread_mutex_init(&p->lock, NULL) != 0) {
        cw_embed_curl_pool_destroy(p);
        return NULL;
    }
    p->lock_ready = 1;
    return p;
}

void cw_embed_curl_pool_destroy(cw_embed_curl_pool *p)
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

CURL *cw_embed_curl_pool_acquire(cw_embed_curl_pool *p)
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

void cw_embed_curl_pool_release(cw_embed_curl_pool *p, CURL *h)
{
    if (h == NULL)
        return;
    pthread_mutex_lock(&p->lock);
    if (p->n_idle < p->max_idle) {
        p->idle[p->n_idle++] = h;
        h = NULL;
    }
    pthread_mutex_unlock(&p->lock);
    if (h != NULL)
        curl_easy_cleanup(h);
}
