/* Deterministic cw_embedder that counts its calls (see fakes.h). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cw_time.h"
#include "fakes.h"

struct fake_embedder {
    cw_embedder base;
    size_t learn_dim;
    /* `lock` guards everything below, and base.dim while it is learnt. */
    pthread_mutex_t lock;
    size_t calls, inputs;
    size_t largest;              /* most texts in one call */
    cw_status fail_code;
    int fail_retry;
    char fail_msg[128];
    int64_t sleep_ms;
    char refuse_sub[64];         /* fail calls with a text containing this ("" = none) */
    cw_status refuse_code;
    char refuse_msg[128];
};

void fake_vector(const char *text, size_t dim, float *out)
{
    uint32_t h = 2166136261u;
    for (const char *c = text; *c != '\0'; c++) {
        h ^= (unsigned char)*c;
        h *= 16777619u;
    }
    for (size_t j = 0; j < dim; j++) {
        h ^= h << 13;
        h ^= h >> 17;
        h ^= h << 5;
        out[j] = (float)(h % 2001) / 1000.0f - 1.0f;
    }
}

static int fe_embed(cw_embedder *self, const char *const *texts, size_t n,
                    cw_embed_purpose purpose, float *out, cw_error *err)
{
    fake_embedder *e = (fake_embedder *)self;
    (void)purpose;
    pthread_mutex_lock(&e->lock);
    e->calls++;
    e->inputs += n;
    if (n > e->largest)
        e->largest = n;
    cw_status code = e->fail_code;
    int retry = e->fail_retry;
    char msg[128];
    snprintf(msg, sizeof msg, "%s", e->fail_msg);
    int64_t sleep_ms = e->sleep_ms;
    if (e->base.dim == 0)
        e->base.dim = e->learn_dim;
    size_t dim = e->base.dim;
    pthread_mutex_unlock(&e->lock);

    if (sleep_ms > 0)
        cw_sleep_ms(sleep_ms);
    if (code != CW_OK)
        return cw_error_set_retry(err, code, retry, "%s", msg);
    pthread_mutex_lock(&e->lock);
    int refused = 0;
    for (size_t i = 0; i < n && e->refuse_sub[0] != '\0'; i++)
        if (strstr(texts[i], e->refuse_sub) != NULL)
            refused = 1;
    if (refused)
        cw_error_set(err, e->refuse_code, "%s", e->refuse_msg);
    pthread_mutex_unlock(&e->lock);
    if (refused)
        return -1;
    for (size_t i = 0; i < n; i++)
        fake_vector(texts[i], dim, &out[i * dim]);
    return 0;
}

static void fe_destroy(cw_embedder *self)
{
    fake_embedder *e = (fake_embedder *)self;
    pthread_mutex_destroy(&e->lock);
    free(e);
}

static const cw_embedder_vtable fake_embedder_vt = { fe_embed, fe_destroy };

fake_embedder *fake_embedder_create(size_t dim, size_t learn_dim)
{
    fake_embedder *e = calloc(1, sizeof *e);
    if (e == NULL)
        abort();
    e->base.vt = &fake_embedder_vt;
    e->base.name = "fake";
    e->base.model = "fake-model";
    e->base.dim = dim;
    e->base.max_batch = 16;
    e->learn_dim = learn_dim;
    pthread_mutex_init(&e->lock, NULL);
    return e;
}

cw_embedder *fake_embedder_base(fake_embedder *e)
{
    return &e->base;
}

void fake_embedder_fail(fake_embedder *e, cw_status code, int retry_s, const char *msg)
{
    pthread_mutex_lock(&e->lock);
    e->fail_code = code;
    e->fail_retry = retry_s;
    snprintf(e->fail_msg, sizeof e->fail_msg, "%s", msg);
    pthread_mutex_unlock(&e->lock);
}

void fake_embedder_sleep(fake_embedder *e, int64_t ms)
{
    pthread_mutex_lock(&e->lock);
    e->sleep_ms = ms;
    pthread_mutex_unlock(&e->lock);
}

size_t fake_embedder_calls(fake_embedder *e)
{
    pthread_mutex_lock(&e->lock);
    size_t n = e->calls;
    pthread_mutex_unlock(&e->lock);
    return n;
}

size_t fake_embedder_inputs(fake_embedder *e)
{
    pthread_mutex_lock(&e->lock);
    size_t n = e->inputs;
    pthread_mutex_unlock(&e->lock);
    return n;
}

size_t fake_embedder_largest(fake_embedder *e)
{
    pthread_mutex_lock(&e->lock);
    size_t n = e->largest;
    pthread_mutex_unlock(&e->lock);
    return n;
}

void fake_embedder_refuse(fake_embedder *e, const char *substring, cw_status code, const char *msg)
{
    pthread_mutex_lock(&e->lock);
    snprintf(e->refuse_sub, sizeof e->refuse_sub, "%s", substring);
    e->refuse_code = code;
    snprintf(e->refuse_msg, sizeof e->refuse_msg, "%s", msg);
    pthread_mutex_unlock(&e->lock);
}
