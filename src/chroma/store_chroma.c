/* cw_store over Chroma: the pipeline's view of the collection. See chroma.h
 * (cw_store_chroma_create) and src/pipeline/store.h. */
#include <stdlib.h>
#include <string.h>

#include "chroma.h"

typedef struct store_chroma {
    cw_store base;            /* first: a cw_store * is a store_chroma * */
    cw_chroma *chroma;        /* borrowed */
} store_chroma;

/* Requested id and its position, sorted by id to match records to ids. */
typedef struct id_slot {
    const char *id;
    size_t pos;
} id_slot;

static int slot_cmp(const void *a, const void *b)
{
    const id_slot *x = a, *y = b;
    int d = strcmp(x->id, y->id);
    if (d != 0)
        return d;
    return x->pos < y->pos ? -1 : x->pos > y->pos;
}

static int slot_find(const void *key, const void *elem)
{
    return strcmp(key, ((const id_slot *)elem)->id);
}

/* NULL for NULL, else a malloc'd copy; *oom set when that fails. */
static char *dup_or_null(const char *s, int *oom)
{
    if (s == NULL)
        return NULL;
    char *d = strdup(s);
    if (d == NULL)
        *oom = 1;
    return d;
}

/* `out` = the record as a document. The metadata is only vouched for when
 * the record carries our source tag; otherwise it stays NULL. */
static int record_to_doc(const cw_chroma_record *rec, cw_document *out)
{
    int oom = 0;
    memset(out, 0, sizeof *out);
    out->id = dup_or_null(rec->id, &oom);
    out->text = dup_or_null(rec->document, &oom);
    if (rec->source != NULL && strcmp(rec->source, CW_DOCUMENT_SOURCE) == 0) {
        out->namespace = dup_or_null(rec->namespace, &oom);
        out->name = dup_or_null(rec->name, &oom);
        out->kind = dup_or_null(rec->kind, &oom);
        out->api_version = dup_or_null(rec->api_version, &oom);
        out->api_group = dup_or_null(rec->api_group, &oom);
        out->labels = dup_or_null(rec->labels, &oom);
    }
    if (oom) {
        cw_document_clear(out);
        return -1;
    }
    return 0;
}

static int store_get(cw_store *self, const char *const *ids, size_t n, size_t dim,
                     cw_document *stored, float *vecs, unsigned char *found, cw_error *err)
{
    store_chroma *s = (store_chroma *)self;
    int rc = -1;
    id_slot *slots = NULL;
    cw_chroma_records recs = { 0 };
    for (size_t i = 0; i < n; i++) {
        memset(&stored[i], 0, sizeof stored[i]);
        found[i] = 0;
    }
    if (n == 0)
        return 0;
    slots = malloc(n * sizeof(*slots));
    if (slots == NULL) {
        cw_error_set(err, CW_E_NOMEM, "chroma get: out of memory");
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        slots[i].id = ids[i];
        slots[i].pos = i;
    }
    qsort(slots, n, sizeof(*slots), slot_cmp);
    if (cw_chroma_get(s->chroma, ids, n, 1, &recs, err) != 0)
        goto out;
    for (size_t r = 0; r < recs.len; r++) {
        const cw_chroma_record *rec = &recs.items[r];
        /* A vector of another size or a record without text must be
         * embedded again: count it as not found. */
        if (rec->embedding == NULL || rec->document == NULL || recs.dim != dim)
            continue;
        id_slot *hit = bsearch(rec->id, slots, n, sizeof(*slots), slot_find);
        if (hit == NULL)
            continue;
        while (hit > slots && strcmp(hit[-1].id, rec->id) == 0)
            hit--;
        for (; hit < slots + n && strcmp(hit->id, rec->id) == 0; hit++) {
            size_t i = hit->pos;
            if (found[i])
                continue;
            if (record_to_doc(rec, &stored[i]) != 0) {
                cw_error_set(err, CW_E_NOMEM, "chroma get: out of memory");
                goto out;
            }
            memcpy(vecs + i * dim, rec->embedding, dim * sizeof(float));
            found[i] = 1;
        }
    }
    rc = 0;
out:
    if (rc != 0) {
        for (size_t i = 0; i < n; i++) {
            cw_document_clear(&stored[i]);
            found[i] = 0;
        }
    }
    cw_chroma_records_free(&recs);
    free(slots);
    return rc;
}

static int store_remove(cw_store *self, const char *const *ids, size_t n, cw_error *err)
{
    store_chroma *s = (store_chroma *)self;
    return cw_chroma_delete(s->chroma, ids, n, err);
}

static int store_upsert(cw_store *self, const cw_document *docs, const float *vecs, size_t n,
                        size_t dim, cw_error *err)
{
    store_chroma *s = (store_chroma *)self;
    return cw_chroma_upsert(s->chroma, docs, vecs, n, dim, err);
}

static void store_destroy(cw_store *self)
{
    free(self);
}

static const cw_store_vtable store_chroma_vt = {
    .get = store_get,
    .remove = store_remove,
    .upsert = store_upsert,
    .destroy = store_destroy,
};

cw_store *cw_store_chroma_create(cw_chroma *c, cw_error *err)
{
    store_chroma *s = calloc(1, sizeof(*s));
    if (s == NULL) {
        cw_error_set(err, CW_E_NOMEM, "chroma store: out of memory");
        return NULL;
    }
    s->base.vt = &store_chroma_vt;
    s->chroma = c;
    return &s->base;
}
