/* cw_batch — see batch.h. */
#include "batch.h"

#include <stdlib.h>
#include <string.h>

#include "cw_log.h"
#include "cw_time.h"
#include "embedder_util.h"   /* CW_EMBEDDER_MAX_DIM */

/* The upserts of a batch and their vectors, being prepared. */
typedef struct upsert_set {
    cw_document *docs;           /* shallow copies: strings borrowed from the requests */
    const char **ids;            /* docs[i].id */
    size_t n;
    size_t dim;                  /* 0 until known */
    float *vecs;                 /* n * dim, once dim is known */
    unsigned char *need;         /* need[i]: docs[i] still needs a vector */
    unsigned char *stored;       /* stored[i]: the store holds docs[i] exactly */
} upsert_set;

static void upsert_set_clear(upsert_set *u)
{
    free(u->docs);
    free(u->ids);
    free(u->vecs);
    free(u->need);
    free(u->stored);
    memset(u, 0, sizeof *u);
}

/* NULL-safe string equality (NULL equals nothing, not even NULL). */
static int same_str(const char *a, const char *b)
{
    return a != NULL && b != NULL && strcmp(a, b) == 0;
}

/* The cluster: NULL is a value here (stored without one, no cluster). */
static int same_cluster(const char *a, const char *b)
{
    return a == NULL ? b == NULL : b != NULL && strcmp(a, b) == 0;
}

/* 1 when the store's copy is the document we would write. */
static int same_document(const cw_document *stored, const cw_document *doc)
{
    return same_str(stored->text, doc->text) && same_str(stored->namespace, doc->namespace) &&
           same_str(stored->name, doc->name) && same_str(stored->kind, doc->kind) &&
           same_str(stored->api_version, doc->api_version) &&
           same_str(stored->api_group, doc->api_group) && same_str(stored->labels, doc->labels) &&
           same_cluster(stored->cluster, doc->cluster);
}

/* Step 2: one store get of the upsert ids. A stored text equal to the new
 * one gives its stored vector (already in u->vecs: no embedding); a stored
 * document equal in text and metadata is marked u->stored[i]: writing it
 * again would change nothing. */
static int reuse_stored(const cw_batch_env *env, upsert_set *u, cw_batch_counters *cnt,
                        cw_error *err)
{
    int rc = -1;
    cw_document *stored = calloc(u->n, sizeof *stored);
    unsigned char *found = calloc(u->n, 1);
    if (stored == NULL || found == NULL) {
        cw_error_set(err, CW_E_NOMEM, "out of memory looking up %zu stored documents", u->n);
        goto out;
    }
    int64_t t0 = cw_now_ms();
    int got = cw_store_get(env->store, u->ids, u->n, u->dim, stored, u->vecs, found, err);
    cnt->store_calls++;
    cnt->store_ms += (uint64_t)(cw_now_ms() - t0);
    if (got != 0) {
        cnt->store_get_errors++;
        goto out;
    }
    for (size_t i = 0; i < u->n; i++) {
        if (found[i] && same_str(stored[i].text, u->docs[i].text)) {
            u->need[i] = 0;
            cnt->embed_reused++;
            u->stored[i] = same_document(&stored[i], &u->docs[i]);
        }
        cw_document_clear(&stored[i]);
    }
    rc = 0;
out:
    free(stored);
    free(found);
    return rc;
}

/* When the embedder's dim is unknown, embed texts[0] alone so the backend
 * learns it, then allocate u->vecs. `first` receives texts[0]'s vector. */
static int learn_dim(const cw_batch_env *env, upsert_set *u, const char *const *texts,
                     float **first, cw_batch_counters *cnt, cw_error *err)
{
    int rc = -1;
    float *probe = malloc((size_t)CW_EMBEDDER_MAX_DIM * sizeof *probe);
    cw_embed_job job = { .texts = texts, .n = 1 };
    if (probe == NULL) {
        cw_error_set(err, CW_E_NOMEM, "out of memory embedding");
        goto out;
    }
    job.out = probe;
    int ran = cw_embed_pool_run(env->pool, &job, 1, err);
    cnt->embed_calls++;
    cnt->embed_inputs++;
    cnt->embed_ms += (uint64_t)job.ms;
    if (ran != 0)
        goto out;
    u->dim = env->embedder->dim;    /* written by the worker before the pool's lock */
    if (u->dim == 0 || u->dim > CW_EMBEDDER_MAX_DIM) {
        cw_error_set(err, CW_E_INTERNAL, "embedder %s reported vector size %zu",
                     env->embedder->name != NULL ? env->embedder->name : "?", u->dim);
        goto out;
    }
    u->vecs = malloc(u->n * u->dim * sizeof *u->vecs);
    if (u->vecs == NULL) {
        cw_error_set(err, CW_E_NOMEM, "out of memory for %zu vectors", u->n);
        goto out;
    }
    *first = probe;
    probe = NULL;
    rc = 0;
out:
    free(probe);
    return rc;
}

/* Step 3: embed every document with need[i] set into u->vecs. */
static int embed_needed(const cw_batch_env *env, upsert_set *u, cw_batch_counters *cnt,
                        cw_error *err)
{
    int rc = -1;
    size_t n_embed = 0;
    size_t *idx = malloc(u->n * sizeof *idx);
    const char **texts = malloc(u->n * sizeof *texts);
    float *out = NULL;
    float *first = NULL;
    cw_embed_job *jobs = NULL;

    if (idx == NULL || texts == NULL) {
        cw_error_set(err, CW_E_NOMEM, "out of memory embedding %zu texts", u->n);
        goto out;
    }
    for (size_t i = 0; i < u->n; i++) {
        if (u->need[i]) {
            idx[n_embed] = i;
            texts[n_embed] = u->docs[i].text;
            n_embed++;
        }
    }
    if (n_embed == 0) {
        rc = 0;
        goto out;
    }
    size_t start = 0;
    if (u->dim == 0) {
        if (learn_dim(env, u, texts, &first, cnt, err) != 0)
            goto out;
        memcpy(&u->vecs[idx[0] * u->dim], first, u->dim * sizeof *first);
        start = 1;
    }
    size_t rest = n_embed - start;
    /* as few calls as the limit allows, of balanced sizes (≤ chunk_max) */
    size_t n_jobs = (rest + env->chunk_max - 1) / env->chunk_max;
    size_t chunk = n_jobs > 0 ? (rest + n_jobs - 1) / n_jobs : 0;
    if (n_jobs > 0) {
        out = malloc(rest * u->dim * sizeof *out);
        jobs = calloc(n_jobs, sizeof *jobs);
        if (out == NULL || jobs == NULL) {
            cw_error_set(err, CW_E_NOMEM, "out of memory embedding %zu texts", rest);
            goto out;
        }
        for (size_t j = 0; j < n_jobs; j++) {
            size_t off = j * chunk;
            jobs[j].texts = &texts[start + off];
            jobs[j].n = rest - off < chunk ? rest - off : chunk;
            jobs[j].out = &out[off * u->dim];
        }
        int ran = cw_embed_pool_run(env->pool, jobs, n_jobs, err);
        for (size_t j = 0; j < n_jobs; j++) {
            cnt->embed_calls++;
            cnt->embed_inputs += jobs[j].n;
            cnt->embed_ms += (uint64_t)jobs[j].ms;
        }
        if (ran != 0)
            goto out;
        for (size_t k = 0; k < rest; k++)
            memcpy(&u->vecs[idx[start + k] * u->dim], &out[k * u->dim],
                   u->dim * sizeof *out);
    }
    rc = 0;
out:
    free(idx);
    free(texts);
    free(out);
    free(first);
    free(jobs);
    return rc;
}

/* Steps 2-3 for the winning upserts. */
static int prepare_upserts(const cw_batch_env *env, const cw_document *const *docs,
                           const cw_coalesce_result *co, upsert_set *u,
                           cw_batch_counters *cnt, cw_error *err)
{
    u->n = co->n_upserts;
    u->dim = env->embedder->dim;
    u->docs = malloc(u->n * sizeof *u->docs);
    u->ids = malloc(u->n * sizeof *u->ids);
    u->need = malloc(u->n);
    u->stored = calloc(u->n, 1);
    if (u->docs == NULL || u->ids == NULL || u->need == NULL || u->stored == NULL)
        return cw_error_set(err, CW_E_NOMEM, "out of memory preparing %zu upserts", u->n);
    for (size_t i = 0; i < u->n; i++) {
        u->docs[i] = *docs[co->upserts[i]];
        u->ids[i] = u->docs[i].id;
        u->need[i] = 1;
    }
    if (u->dim > 0) {
        u->vecs = malloc(u->n * u->dim * sizeof *u->vecs);
        if (u->vecs == NULL)
            return cw_error_set(err, CW_E_NOMEM, "out of memory for %zu vectors", u->n);
        if (reuse_stored(env, u, cnt, err) != 0)
            return -1;
    }
    return embed_needed(env, u, cnt, err);
}

/* Step 4 prelude: move the documents the store does not hold exactly to
 * the front of u (order kept) and return how many; the others need no
 * write (Chroma 1.0 re-upserting an existing id costs ~5x a new one). */
static size_t drop_stored(upsert_set *u, cw_batch_counters *cnt)
{
    size_t w = 0;
    for (size_t i = 0; i < u->n; i++) {
        if (u->stored[i]) {
            cnt->upserts_unchanged++;
            continue;
        }
        if (w != i) {
            u->docs[w] = u->docs[i];
            u->ids[w] = u->ids[i];
            memcpy(&u->vecs[w * u->dim], &u->vecs[i * u->dim], u->dim * sizeof *u->vecs);
        }
        w++;
    }
    return w;
}

struct cw_batch {
    const cw_coalesce_op *ops;   /* borrowed */
    size_t n;
    cw_coalesce_result co;
    upsert_set u;
};

void cw_batch_free(cw_batch *b)
{
    if (b == NULL)
        return;
    upsert_set_clear(&b->u);
    cw_coalesce_result_clear(&b->co);
    free(b);
}

static void log_failure(size_t n, const cw_error *err)
{
    /* debug: each request's own log line says what failed */
    cw_log_debug("pipeline: batch of %zu ops failed: %s: %s", n,
                 err != NULL ? cw_status_name(err->code) : "?", err != NULL ? err->msg : "");
}

cw_batch *cw_batch_prepare(const cw_batch_env *env, const cw_coalesce_op *ops,
                           const cw_document *const *docs, size_t n, cw_batch_counters *cnt,
                           cw_error *err)
{
    cw_batch *b = calloc(1, sizeof *b);
    if (b == NULL) {
        cw_error_set(err, CW_E_NOMEM, "out of memory for a batch of %zu ops", n);
        goto fail;
    }
    b->ops = ops;
    b->n = n;
    if (cw_coalesce(ops, n, &b->co, err) != 0)
        goto fail;
    if (b->co.n_upserts > 0 && prepare_upserts(env, docs, &b->co, &b->u, cnt, err) != 0)
        goto fail;
    return b;
fail:
    log_failure(n, err);
    cw_batch_free(b);
    return NULL;
}

/* FNV-1a: stable, cheap; a collision only makes a write happen. */
static uint64_t id_hash(const char *id)
{
    uint64_t h = 14695981039346656037ULL;
    for (const unsigned char *c = (const unsigned char *)id; *c != '\0'; c++) {
        h ^= *c;
        h *= 1099511628211ULL;
    }
    return h;
}

static int hash_cmp(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

void cw_batch_ids_clear(cw_batch_ids *ids)
{
    free(ids->hash);
    memset(ids, 0, sizeof *ids);
}

void cw_batch_ids_set(cw_batch_ids *ids, const cw_coalesce_op *ops, size_t n)
{
    cw_batch_ids_clear(ids);
    if (n == 0)
        return;
    ids->hash = malloc(n * sizeof *ids->hash);
    if (ids->hash == NULL) {
        ids->all = 1;
        return;
    }
    for (size_t i = 0; i < n; i++)
        ids->hash[i] = id_hash(ops[i].id);
    qsort(ids->hash, n, sizeof *ids->hash, hash_cmp);
    ids->n = n;
}

size_t cw_batch_distrust(cw_batch *b, const cw_batch_ids *ids)
{
    size_t dropped = 0;
    for (size_t i = 0; i < b->u.n; i++) {
        if (!b->u.stored[i])
            continue;
        uint64_t h = id_hash(b->u.ids[i]);
        if (ids->all || bsearch(&h, ids->hash, ids->n, sizeof h, hash_cmp) != NULL) {
            b->u.stored[i] = 0;
            dropped++;
        }
    }
    return dropped;
}

int cw_batch_commit(const cw_batch_env *env, cw_batch *b, cw_batch_counters *cnt,
                    cw_error *err)
{
    int rc = -1;
    const char **del_ids = NULL;

    if (b->co.n_deletes > 0) {
        del_ids = malloc(b->co.n_deletes * sizeof *del_ids);
        if (del_ids == NULL) {
            cw_error_set(err, CW_E_NOMEM, "out of memory for %zu deletes", b->co.n_deletes);
            goto out;
        }
        for (size_t i = 0; i < b->co.n_deletes; i++)
            del_ids[i] = b->ops[b->co.deletes[i]].id;
        int64_t t0 = cw_now_ms();
        int removed = cw_store_remove(env->store, del_ids, b->co.n_deletes, err);
        cnt->store_calls++;
        cnt->store_ms += (uint64_t)(cw_now_ms() - t0);
        if (removed != 0)
            goto out;
    }
    size_t n_write = drop_stored(&b->u, cnt);
    if (n_write > 0) {
        int64_t t0 = cw_now_ms();
        int upserted = cw_store_upsert(env->store, b->u.docs, b->u.vecs, n_write, b->u.dim, err);
        cnt->store_calls++;
        cnt->store_ms += (uint64_t)(cw_now_ms() - t0);
        if (upserted != 0)
            goto out;
    }
    rc = 0;
out:
    if (rc != 0)
        log_failure(b->n, err);
    free(del_ids);
    return rc;
}

int cw_batch_write(const cw_batch_env *env, const cw_coalesce_op *ops,
                   const cw_document *const *docs, size_t n, cw_batch_counters *cnt,
                   cw_error *err)
{
    cw_batch *b = cw_batch_prepare(env, ops, docs, n, cnt, err);
    if (b == NULL)
        return -1;
    int rc = cw_batch_commit(env, b, cnt, err);
    cw_batch_free(b);
    return rc;
}
