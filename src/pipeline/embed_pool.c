/* cw_embed_pool — see embed_pool.h. */
#define _GNU_SOURCE   /* pthread_setname_np */
#include "embed_pool.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cw_time.h"

struct cw_embed_pool {
    cw_embedder *embedder;
    pthread_t *threads;
    size_t n_threads;            /* threads started (joined on destroy) */

    /* `lock` guards everything below. */
    pthread_mutex_t lock;
    pthread_cond_t work;         /* a job was queued, or stop */
    pthread_cond_t done;         /* a run's last job finished */
    cw_embed_job *head, *tail;   /* jobs not yet picked up */
    int stop;
    int sync_ready;              /* lock and conds initialised */
};

static void *worker_main(void *arg)
{
    cw_embed_pool *pool = arg;

    pthread_mutex_lock(&pool->lock);
    for (;;) {
        while (pool->head == NULL && !pool->stop)
            pthread_cond_wait(&pool->work, &pool->lock);
        if (pool->head == NULL)
            break;                              /* stop, and nothing left */
        cw_embed_job *job = pool->head;
        pool->head = job->next;
        if (pool->head == NULL)
            pool->tail = NULL;
        pthread_mutex_unlock(&pool->lock);

        int64_t t0 = cw_now_ms();
        cw_error_clear(&job->err);
        (void)!cw_embedder_embed(pool->embedder, job->texts, job->n, CW_EMBED_DOCUMENT, job->out,
                                &job->err);   /* the job's err says how it went */
        job->ms = cw_now_ms() - t0;

        pthread_mutex_lock(&pool->lock);
        if (--*job->run_pending == 0)
            pthread_cond_broadcast(&pool->done);   /* runs wait on one cond */
    }
    pthread_mutex_unlock(&pool->lock);
    return NULL;
}

cw_embed_pool *cw_embed_pool_create(size_t workers, cw_embedder *embedder, cw_error *err)
{
    cw_embed_pool *pool = calloc(1, sizeof *pool);
    if (pool == NULL) {
        cw_error_set(err, CW_E_NOMEM, "out of memory creating embed workers");
        return NULL;
    }
    pool->embedder = embedder;
    if (workers == 0)
        workers = 1;
    pool->threads = calloc(workers, sizeof *pool->threads);
    if (pool->threads == NULL) {
        cw_error_set(err, CW_E_NOMEM, "out of memory creating embed workers");
        goto fail;
    }
    pthread_mutex_init(&pool->lock, NULL);
    pthread_cond_init(&pool->work, NULL);
    pthread_cond_init(&pool->done, NULL);
    pool->sync_ready = 1;
    for (size_t i = 0; i < workers; i++) {
        int e = pthread_create(&pool->threads[i], NULL, worker_main, pool);
        if (e != 0) {
            cw_error_set(err, CW_E_INTERNAL, "cannot start embed worker: %s", strerror(e));
            goto fail;
        }
        pool->n_threads++;
        char name[16];
        snprintf(name, sizeof name, "cw-embed-%u", (unsigned)(i % 1000));
        pthread_setname_np(pool->threads[i], name);
    }
    return pool;
fail:
    cw_embed_pool_destroy(pool);
    return NULL;
}

int cw_embed_pool_run(cw_embed_pool *pool, cw_embed_job *jobs, size_t n, cw_error *err)
{
    if (n == 0)
        return 0;
    size_t pending = n;          /* this run's jobs not yet finished (under the lock) */
    pthread_mutex_lock(&pool->lock);
    for (size_t i = 0; i < n; i++) {
        jobs[i].next = NULL;
        jobs[i].run_pending = &pending;
        if (pool->tail != NULL)
            pool->tail->next = &jobs[i];
        else
            pool->head = &jobs[i];
        pool->tail = &jobs[i];
    }
    pthread_cond_broadcast(&pool->work);
    while (pending > 0)
        pthread_cond_wait(&pool->done, &pool->lock);
    pthread_mutex_unlock(&pool->lock);

    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        if (jobs[i].err.code != CW_OK) {
            cw_error_copy(err, &jobs[i].err);
            rc = -1;
        }
    }
    return rc;
}

void cw_embed_pool_destroy(cw_embed_pool *pool)
{
    if (pool == NULL)
        return;
    if (pool->sync_ready) {
        pthread_mutex_lock(&pool->lock);
        pool->stop = 1;
        pthread_cond_broadcast(&pool->work);
        pthread_mutex_unlock(&pool->lock);
    }
    for (size_t i = 0; i < pool->n_threads; i++)
        pthread_join(pool->threads[i], NULL);
    if (pool->sync_ready) {
        pthread_cond_destroy(&pool->done);
        pthread_cond_destroy(&pool->work);
        pthread_mutex_destroy(&pool->lock);
    }
    free(pool->threads);
    free(pool);
}
