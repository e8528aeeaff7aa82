/* In-memory cw_store that records its calls (see fakes.h). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cw_time.h"
#include "fakes.h"

typedef struct entry {
    cw_document doc;
    float *vec;
    size_t dim;
} entry;

typedef struct fail_spec {
    cw_status code;
    int retry_s;
    char msg[128];
} fail_spec;

struct fake_store {
    cw_store base;
    /* `lock` guards everything below. */
    pthread_mutex_t lock;
    pthread_cond_t cond;         /* gate opened, or a call entered */
    entry *entries;
    size_t n_entries, cap_entries;
    char *log;                   /* "" or "call call ..." */
    fail_spec fail_get, fail_remove, fail_upsert;
    int gate_closed;
    size_t entered;
    int get_gate_closed;
    size_t gets_entered;
};

static entry *find(fake_store *s, const char *id)
{
    for (size_t i = 0; i < s->n_entries; i++) {
        if (strcmp(s->entries[i].doc.id, id) == 0)
            return &s->entries[i];
    }
    return NULL;
}

/* Append "op(id1,id2)" to the log. */
static void log_call(fake_store *s, const char *op, const char *const *ids,
                     const cw_document *docs, size_t n)
{
    size_t len = strlen(s->log) + strlen(op) + 4;
    for (size_t i = 0; i < n; i++)
        len += strlen(ids != NULL ? ids[i] : docs[i].id) + 1;
    char *l = malloc(len);
    if (l == NULL)
        abort();
    strcpy(l, s->log);
    if (l[0] != '\0')
        strcat(l, " ");
    strcat(l, op);
    strcat(l, "(");
    for (size_t i = 0; i < n; i++) {
        if (i > 0)
            strcat(l, ",");
        strcat(l, ids != NULL ? ids[i] : docs[i].id);
    }
    strcat(l, ")");
    free(s->log);
    s->log = l;
}

static int maybe_fail(const fail_spec *f, cw_error *err)
{
    if (f->code == CW_OK)
        return 0;
    return cw_error_set_retry(err, f->code, f->retry_s, "%s", f->msg);
}

/* Under the lock: count the call and wait while the gate is closed. */
static void pass_gate(fake_store *s)
{
    s->entered++;
    pthread_cond_broadcast(&s->cond);
    while (s->gate_closed)
        pthread_cond_wait(&s->cond, &s->lock);
}

static int fs_get(cw_store *self, const char *const *ids, size_t n, size_t dim,
                  cw_document *stored, float *vecs, unsigned char *found, cw_error *err)
{
    fake_store *s = (fake_store *)self;
    int rc = 0;
    pthread_mutex_lock(&s->lock);
    s->gets_entered++;
    pthread_cond_broadcast(&s->cond);
    while (s->get_gate_closed)
        pthread_cond_wait(&s->cond, &s->lock);
    log_call(s, "get", ids, NULL, n);
    if (maybe_fail(&s->fail_get, err) != 0) {
        rc = -1;
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        entry *e = find(s, ids[i]);
        memset(&stored[i], 0, sizeof stored[i]);
        found[i] = 0;
        if (e != NULL && e->dim == dim) {
            found[i] = 1;
            cw_error copy_err;
            if (cw_document_copy(&e->doc, &stored[i], &copy_err) != 0)
                abort();
            memcpy(&vecs[i * dim], e->vec, dim * sizeof *vecs);
        }
    }
out:
    pthread_mutex_unlock(&s->lock);
    return rc;
}

static int fs_remove(cw_store *self, const char *const *ids, size_t n, cw_error *err)
{
    fake_store *s = (fake_store *)self;
    int rc = 0;
    pthread_mutex_lock(&s->lock);
    pass_gate(s);
    log_call(s, "remove", ids, NULL, n);
    if (maybe_fail(&s->fail_remove, err) != 0) {
        rc = -1;
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        entry *e = find(s, ids[i]);
        if (e == NULL)
            continue;
        cw_document_clear(&e->doc);
        free(e->vec);
        *e = s->entries[--s->n_entries];
    }
out:
    pthread_mutex_unlock(&s->lock);
    return rc;
}

static int fs_upsert(cw_store *self, const cw_document *docs, const float *vecs, size_t n,
                     size_t dim, cw_error *err)
{
    fake_store *s = (fake_store *)self;
    int rc = 0;
    pthread_mutex_lock(&s->lock);
    pass_gate(s);
    log_call(s, "upsert", NULL, docs, n);
    if (maybe_fail(&s->fail_upsert, err) != 0) {
        rc = -1;
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        entry *e = find(s, docs[i].id);
        if (e == NULL) {
            if (s->n_entries == s->cap_entries) {
                s->cap_entries = s->cap_entries ? s->cap_entries * 2 : 64;
                s->entries = realloc(s->entries, s->cap_entries * sizeof *s->entries);
                if (s->entries == NULL)
                    abort();
            }
            e = &s->entries[s->n_entries++];
        } else {
            cw_document_clear(&e->doc);
            free(e->vec);
        }
        if (cw_document_copy(&docs[i], &e->doc, NULL) != 0)
            abort();
        e->dim = dim;
        e->vec = malloc(dim * sizeof *e->vec);
        if (e->vec == NULL)
            abort();
        memcpy(e->vec, &vecs[i * dim], dim * sizeof *e->vec);
    }
out:
    pthread_mutex_unlock(&s->lock);
    return rc;
}

static void fs_destroy(cw_store *self)
{
    fake_store *s = (fake_store *)self;
    for (size_t i = 0; i < s->n_entries; i++) {
        cw_document_clear(&s->entries[i].doc);
        free(s->entries[i].vec);
    }
    free(s->entries);
    free(s->log);
    pthread_cond_destroy(&s->cond);
    pthread_mutex_destroy(&s->lock);
    free(s);
}

static const cw_store_vtable fake_store_vt = { fs_get, fs_remove, fs_upsert, fs_destroy };

fake_store *fake_store_create(void)
{
    fake_store *s = calloc(1, sizeof *s);
    if (s == NULL)
        abort();
    s->base.vt = &fake_store_vt;
    s->log = strdup("");
    pthread_mutex_init(&s->lock, NULL);
    pthread_cond_init(&s->cond, NULL);
    return s;
}

cw_store *fake_store_base(fake_store *s)
{
    return &s->base;
}

void fake_store_fail(fake_store *s, const char *op, cw_status code, int retry_s,
                     const char *msg)
{
    pthread_mutex_lock(&s->lock);
    fail_spec *f = strcmp(op, "get") == 0      ? &s->fail_get
                   : strcmp(op, "remove") == 0 ? &s->fail_remove
                                               : &s->fail_upsert;
    f->code = code;
    f->retry_s = retry_s;
    snprintf(f->msg, sizeof f->msg, "%s", msg);
    pthread_mutex_unlock(&s->lock);
}

void fake_store_gate(fake_store *s, int closed)
{
    pthread_mutex_lock(&s->lock);
    s->gate_closed = closed;
    pthread_cond_broadcast(&s->cond);
    pthread_mutex_unlock(&s->lock);
}

void fake_store_wait_entered(fake_store *s, size_t n)
{
    pthread_mutex_lock(&s->lock);
    while (s->entered < n)
        pthread_cond_wait(&s->cond, &s->lock);
    pthread_mutex_unlock(&s->lock);
}

void fake_store_gate_gets(fake_store *s, int closed)
{
    pthread_mutex_lock(&s->lock);
    s->get_gate_closed = closed;
    pthread_cond_broadcast(&s->cond);
    pthread_mutex_unlock(&s->lock);
}

void fake_store_wait_gets(fake_store *s, size_t n)
{
    pthread_mutex_lock(&s->lock);
    while (s->gets_entered < n)
        pthread_cond_wait(&s->cond, &s->lock);
    pthread_mutex_unlock(&s->lock);
}

char *fake_store_log(fake_store *s)
{
    pthread_mutex_lock(&s->lock);
    char *l = strdup(s->log);
    pthread_mutex_unlock(&s->lock);
    return l;
}

void fake_store_log_reset(fake_store *s)
{
    pthread_mutex_lock(&s->lock);
    s->log[0] = '\0';
    pthread_mutex_unlock(&s->lock);
}

char *fake_store_text(fake_store *s, const char *id)
{
    pthread_mutex_lock(&s->lock);
    entry *e = find(s, id);
    char *t = e != NULL ? strdup(e->doc.text) : NULL;
    pthread_mutex_unlock(&s->lock);
    return t;
}

char *fake_store_cluster(fake_store *s, const char *id)
{
    pthread_mutex_lock(&s->lock);
    entry *e = find(s, id);
    char *t = e != NULL && e->doc.cluster != NULL ? strdup(e->doc.cluster) : NULL;
    pthread_mutex_unlock(&s->lock);
    return t;
}

int fake_store_vec(fake_store *s, const char *id, float *out, size_t dim)
{
    int rc = -1;
    pthread_mutex_lock(&s->lock);
    entry *e = find(s, id);
    if (e != NULL && e->dim == dim) {
        memcpy(out, e->vec, dim * sizeof *out);
        rc = 0;
    }
    pthread_mutex_unlock(&s->lock);
    return rc;
}

size_t fake_store_count(fake_store *s)
{
    pthread_mutex_lock(&s->lock);
    size_t n = s->n_entries;
    pthread_mutex_unlock(&s->lock);
    return n;
}
