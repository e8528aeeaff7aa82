/* cw_chroma_json — Chroma v2 request bodies and answers; see chroma_json.h. */
#include "chroma_json.h"

#include "cw_float.h"

#include <json-c/json.h>
#include <json-c/printbuf.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- building ---------------------------------------------------------- */

/* A vector serialized straight into json-c's print buffer: one json object
 * per vector instead of one per number. Borrows the floats. */
typedef struct vec_ref {
    const float *v;
    size_t dim;
} vec_ref;

/* Values formatted per chunk into a stack buffer, one append per chunk. */
#define VEC_CHUNK 64

static int vec_to_json(struct json_object *jso, struct printbuf *pb, int level, int flags)
{
    (void)level;
    (void)flags;
    const vec_ref *r = json_object_get_userdata(jso);
    char buf[VEC_CHUNK * (CW_FLOAT_FMT_MAX + 1) + 2];
    if (printbuf_memappend(pb, "[", 1) < 0)
        return -1;
    for (size_t i = 0; i < r->dim; i += VEC_CHUNK) {
        size_t m = r->dim - i < VEC_CHUNK ? r->dim - i : VEC_CHUNK;
        size_t len = 0;
        if (i > 0)
            buf[len++] = ',';
        len += cw_float_format_list(r->v + i, m, buf + len);
        if (printbuf_memappend(pb, buf, (int)len) < 0)
            return -1;
    }
    return printbuf_memappend(pb, "]", 1) < 0 ? -1 : 0;
}

static void vec_ref_free(struct json_object *jso, void *userdata)
{
    (void)jso;
    free(userdata);
}

static json_object *vec_new(const float *v, size_t dim)
{
    json_object *o = json_object_new_array();
    vec_ref *r = malloc(sizeof(*r));
    if (o == NULL || r == NULL) {
        json_object_put(o);
        free(r);
        return NULL;
    }
    r->v = v;
    r->dim = dim;
    json_object_set_serializer(o, vec_to_json, r, vec_ref_free);
    return o;
}

/* Add `val` under `key`, taking it; -1 (and `val` released) on failure. */
static int obj_add(json_object *obj, const char *key, json_object *val)
{
    if (val == NULL)
        return -1;
    if (json_object_object_add(obj, key, val) != 0) {
        json_object_put(val);
        return -1;
    }
    return 0;
}

static int arr_add(json_object *arr, json_object *val)
{
    if (val == NULL)
        return -1;
    if (json_object_array_add(arr, val) != 0) {
        json_object_put(val);
        return -1;
    }
    return 0;
}

static json_object *str_or_empty(const char *s)
{
    return json_object_new_string(s != NULL ? s : "");
}

static json_object *ids_array(const char *const *ids, size_t n)
{
    json_object *arr = json_object_new_array_ext((int)n);
    if (arr == NULL)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        if (arr_add(arr, json_object_new_string(ids[i])) != 0) {
            json_object_put(arr);
            return NULL;
        }
    }
    return arr;
}

/* Serialize `root`, release it, and hand out a malloc'd copy. */
static char *finish(json_object *root, const char *what, cw_error *err)
{
    char *s = NULL;
    if (root != NULL) {
        const char *t = json_object_to_json_string_ext(root, JSON_C_TO_STRING_PLAIN |
                                                                  JSON_C_TO_STRING_NOSLASHESCAPE);
        if (t != NULL)
            s = strdup(t);
    }
    json_object_put(root);
    if (s == NULL)
        cw_error_set(err, CW_E_NOMEM, "chroma %s: out of memory building the request", what);
    return s;
}

char *cw_chroma_json_create_collection(const char *name, cw_error *err)
{
    /* Each child is attached to `root` as soon as it exists (obj_add takes
     * it even on failure), so releasing `root` releases everything. */
    json_object *root = json_object_new_object();
    json_object *cfg = NULL, *hnsw = NULL, *meta = NULL;
    int ok = root != NULL && obj_add(root, "name", json_object_new_string(name)) == 0 &&
             obj_add(root, "get_or_create", json_object_new_boolean(1)) == 0;
    if (ok) {
        cfg = json_object_new_object();
        ok = obj_add(root, "configuration", cfg) == 0;
    }
    if (ok) {
        hnsw = json_object_new_object();
        ok = obj_add(cfg, "hnsw", hnsw) == 0;
    }
    if (ok)
        ok = obj_add(hnsw, "space", json_object_new_string("cosine")) == 0;
    if (ok) {
        meta = json_object_new_object();
        ok = obj_add(root, "metadata", meta) == 0;
    }
    if (ok)
        ok = obj_add(meta, "hnsw:space", json_object_new_string("cosine")) == 0;
    if (!ok) {
        json_object_put(root);
        root = NULL;
    }
    return finish(root, "create collection", err);
}

static json_object *doc_metadata(const cw_document *d)
{
    json_object *m = json_object_new_object();
    if (m == NULL)
        return NULL;
    if (obj_add(m, "namespace", str_or_empty(d->namespace)) != 0 ||
        obj_add(m, "name", str_or_empty(d->name)) != 0 ||
        obj_add(m, "kind", str_or_empty(d->kind)) != 0 ||
        obj_add(m, "apiVersion", str_or_empty(d->api_version)) != 0 ||
        obj_add(m, "apiGroup", str_or_empty(d->api_group)) != 0 ||
        obj_add(m, "labels", str_or_empty(d->labels)) != 0 ||
        obj_add(m, "source", json_object_new_string(CW_DOCUMENT_SOURCE)) != 0 ||
        (d->cluster != NULL && obj_add(m, "cluster", json_object_new_string(d->cluster)) != 0)) {
        json_object_put(m);
        return NULL;
    }
    return m;
}

char *cw_chroma_json_upsert(const cw_document *docs, const float *vecs, size_t n, size_t dim,
                            cw_error *err)
{
    for (size_t i = 0; i < n; i++) {
        for (size_t j = 0; j < dim; j++) {
            if (!isfinite(vecs[i * dim + j])) {
                cw_error_set(err, CW_E_INTERNAL,
                             "chroma upsert: vector of '%s' has a non-finite value at %zu",
                             docs[i].id, j);
                return NULL;
            }
        }
    }
    json_object *root = json_object_new_object();
    json_object *ids = NULL, *embs = NULL, *texts = NULL, *metas = NULL;
    int ok = root != NULL;
    if (ok) {
        ids = json_object_new_array_ext((int)n);
        ok = obj_add(root, "ids", ids) == 0;
    }
    if (ok) {
        embs = json_object_new_array_ext((int)n);
        ok = obj_add(root, "embeddings", embs) == 0;
    }
    if (ok) {
        texts = json_object_new_array_ext((int)n);
        ok = obj_add(root, "documents", texts) == 0;
    }
    if (ok) {
        metas = json_object_new_array_ext((int)n);
        ok = obj_add(root, "metadatas", metas) == 0;
    }
    for (size_t i = 0; ok && i < n; i++) {
        ok = arr_add(ids, json_object_new_string(docs[i].id)) == 0 &&
             arr_add(embs, vec_new(vecs + i * dim, dim)) == 0 &&
             arr_add(texts, str_or_empty(docs[i].text)) == 0 &&
             arr_add(metas, doc_metadata(&docs[i])) == 0;
    }
    if (!ok) {
        json_object_put(root);
        root = NULL;
    }
    return finish(root, "upsert", err);
}

char *cw_chroma_json_ids(const char *const *ids, size_t n, cw_error *err)
{
    json_object *root = json_object_new_object();
    if (root != NULL && obj_add(root, "ids", ids_array(ids, n)) != 0) {
        json_object_put(root);
        root = NULL;
    }
    return finish(root, "delete", err);
}

static json_object *include_list(int embeddings, int distances)
{
    json_object *inc = json_object_new_array();
    if (inc == NULL)
        return NULL;
    if (arr_add(inc, json_object_new_string("documents")) != 0 ||
        arr_add(inc, json_object_new_string("metadatas")) != 0 ||
        (embeddings && arr_add(inc, json_object_new_string("embeddings")) != 0) ||
        (distances && arr_add(inc, json_object_new_string("distances")) != 0)) {
        json_object_put(inc);
        return NULL;
    }
    return inc;
}

char *cw_chroma_json_get(const char *const *ids, size_t n, int with_embeddings, cw_error *err)
{
    json_object *root = json_object_new_object();
    if (root != NULL && (obj_add(root, "ids", ids_array(ids, n)) != 0 ||
                         obj_add(root, "include", include_list(with_embeddings, 0)) != 0)) {
        json_object_put(root);
        root = NULL;
    }
    return finish(root, "get", err);
}

static json_object *eq_filter(const char *key, const char *value)
{
    json_object *f = json_object_new_object();
    if (f != NULL && obj_add(f, key, json_object_new_string(value)) != 0) {
        json_object_put(f);
        return NULL;
    }
    return f;
}

/* The where clause of `f`: one equality, or $and of several; NULL when
 * building failed. At least one field of `f` is set. */
static json_object *where_clause(const cw_chroma_filter *f)
{
    const char *keys[3] = { "kind", "namespace", "cluster" };
    const char *vals[3] = { f->kind, f->ns, f->cluster };
    size_t n = 0, one = 0;
    for (size_t i = 0; i < 3; i++)
        if (vals[i] != NULL) {
            n++;
            one = i;
        }
    if (n == 1)
        return eq_filter(keys[one], vals[one]);
    json_object *w = json_object_new_object();
    json_object *all = json_object_new_array();
    int ok = w != NULL && all != NULL;
    for (size_t i = 0; ok && i < 3; i++)
        if (vals[i] != NULL)
            ok = arr_add(all, eq_filter(keys[i], vals[i])) == 0;
    if (!ok) {
        json_object_put(w);
        json_object_put(all);
        return NULL;
    }
    if (obj_add(w, "$and", all) != 0) {
        json_object_put(w);
        return NULL;
    }
    return w;
}

static int filter_set(const cw_chroma_filter *f)
{
    return f != NULL && (f->kind != NULL || f->ns != NULL || f->cluster != NULL);
}

char *cw_chroma_json_scan(size_t limit, size_t offset, const char *kind, const char *ns, cw_error *err)
{
    cw_chroma_filter f = { .kind = kind, .ns = ns };
    return cw_chroma_json_scan_where(limit, offset, &f, 1, err);
}

char *cw_chroma_json_scan_where(size_t limit, size_t offset, const cw_chroma_filter *f,
                                int with_texts, cw_error *err)
{
    json_object *root = json_object_new_object();
    int ok = root != NULL &&
             obj_add(root, "limit", json_object_new_int64((int64_t)limit)) == 0 &&
             obj_add(root, "offset", json_object_new_int64((int64_t)offset)) == 0 &&
             obj_add(root, "include", with_texts ? include_list(0, 0) : json_object_new_array()) == 0;
    if (ok && filter_set(f))
        ok = obj_add(root, "where", where_clause(f)) == 0;
    if (!ok) {
        json_object_put(root);
        root = NULL;
    }
    return finish(root, "scan", err);
}

char *cw_chroma_json_query(const float *vec, size_t dim, size_t n_results, const char *kind,
                           const char *ns, cw_error *err)
{
    cw_chroma_filter f = { .kind = kind, .ns = ns };
    return cw_chroma_json_query_where(vec, dim, n_results, &f, err);
}

char *cw_chroma_json_query_where(const float *vec, size_t dim, size_t n_results,
                                 const cw_chroma_filter *f, cw_error *err)
{
    for (size_t j = 0; j < dim; j++) {
        if (!isfinite(vec[j])) {
            cw_error_set(err, CW_E_INTERNAL, "chroma query: query vector has a non-finite value at %zu", j);
            return NULL;
        }
    }
    json_object *root = json_object_new_object();
    json_object *qs = NULL;
    int ok = root != NULL;
    if (ok) {
        qs = json_object_new_array();
        ok = obj_add(root, "query_embeddings", qs) == 0;
    }
    if (ok)
        ok = arr_add(qs, vec_new(vec, dim)) == 0 &&
             obj_add(root, "n_results", json_object_new_int64((int64_t)n_results)) == 0 &&
             obj_add(root, "include", include_list(0, 1)) == 0;
    if (ok && filter_set(f))
        ok = obj_add(root, "where", where_clause(f)) == 0;
    if (!ok) {
        json_object_put(root);
        root = NULL;
    }
    return finish(root, "query", err);
}

/* ---- reading ----------------------------------------------------------- */

static json_object *parse(const char *body, const char *what, cw_error *err)
{
    enum json_tokener_error jerr = json_tokener_success;
    json_object *o = json_tokener_parse_verbose(body, &jerr);
    if (o == NULL)
        cw_error_set(err, CW_E_INTERNAL, "chroma %s: unexpected answer: not JSON (%s)", what,
                     json_tokener_error_desc(jerr));
    return o;
}

/* Member `key` of `o` when it has type `type`, else NULL. */
static json_object *member(json_object *o, const char *key, json_type type)
{
    json_object *v = NULL;
    if (!json_object_is_type(o, json_type_object) || !json_object_object_get_ex(o, key, &v))
        return NULL;
    return json_object_is_type(v, type) ? v : NULL;
}

/* malloc'd copy of a string member of `o`; NULL when absent or not a string.
 * Sets *oom on allocation failure. */
static char *member_str(json_object *o, const char *key, int *oom)
{
    json_object *v = member(o, key, json_type_string);
    if (v == NULL)
        return NULL;
    char *s = strdup(json_object_get_string(v));
    if (s == NULL)
        *oom = 1;
    return s;
}

static char *str_dup_if(json_object *v, int *oom)
{
    if (!json_object_is_type(v, json_type_string))
        return NULL;
    char *s = strdup(json_object_get_string(v));
    if (s == NULL)
        *oom = 1;
    return s;
}

static void record_clear(cw_chroma_record *r)
{
    free(r->id);
    free(r->document);
    free(r->embedding);
    free(r->namespace);
    free(r->name);
    free(r->kind);
    free(r->api_version);
    free(r->api_group);
    free(r->labels);
    free(r->source);
    free(r->cluster);
    memset(r, 0, sizeof(*r));
}

void cw_chroma_records_free(cw_chroma_records *r)
{
    if (r == NULL)
        return;
    for (size_t i = 0; i < r->len; i++)
        record_clear(&r->items[i]);
    free(r->items);
    memset(r, 0, sizeof(*r));
}

void cw_chroma_hits_free(cw_chroma_hits *h)
{
    if (h == NULL)
        return;
    for (size_t i = 0; i < h->len; i++) {
        free(h->items[i].id);
        free(h->items[i].document);
        free(h->items[i].kind);
        free(h->items[i].namespace);
        free(h->items[i].name);
        free(h->items[i].cluster);
    }
    free(h->items);
    memset(h, 0, sizeof(*h));
}

/* Read an array of numbers into a new float vector of its length. */
static float *read_vector(json_object *arr, size_t *len, int *oom)
{
    size_t n = json_object_array_length(arr);
    float *v = malloc((n > 0 ? n : 1) * sizeof(float));
    if (v == NULL) {
        *oom = 1;
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        json_object *x = json_object_array_get_idx(arr, i);
        if (!json_object_is_type(x, json_type_double) && !json_object_is_type(x, json_type_int)) {
            free(v);
            return NULL;
        }
        v[i] = (float)json_object_get_double(x);
    }
    *len = n;
    return v;
}

/* The i-th element of an optional parallel array, or NULL. */
static json_object *nth(json_object *arr, size_t i)
{
    if (arr == NULL || i >= json_object_array_length(arr))
        return NULL;
    return json_object_array_get_idx(arr, i);
}

int cw_chroma_json_read_get(const char *body, cw_chroma_records *out, cw_error *err)
{
    int rc = -1, oom = 0;
    const char *bad = NULL;
    json_object *root = parse(body, "get", err);
    if (root == NULL)
        goto out;
    json_object *ids = member(root, "ids", json_type_array);
    json_object *docs = member(root, "documents", json_type_array);
    json_object *metas = member(root, "metadatas", json_type_array);
    json_object *embs = member(root, "embeddings", json_type_array);
    if (ids == NULL) {
        bad = "no \"ids\" array";
        goto out;
    }
    size_t n = json_object_array_length(ids);
    if (n == 0) {
        rc = 0;
        goto out;
    }
    cw_chroma_record *items = realloc(out->items, (out->len + n) * sizeof(*items));
    if (items == NULL) {
        oom = 1;
        goto out;
    }
    out->items = items;
    for (size_t i = 0; i < n; i++) {
        cw_chroma_record *r = &out->items[out->len];
        memset(r, 0, sizeof(*r));
        out->len++;
        r->id = str_dup_if(json_object_array_get_idx(ids, i), &oom);
        if (r->id == NULL) {
            bad = oom ? NULL : "an id is not a string";
            goto out;
        }
        r->document = str_dup_if(nth(docs, i), &oom);
        json_object *m = nth(metas, i);
        r->namespace = member_str(m, "namespace", &oom);
        r->name = member_str(m, "name", &oom);
        r->kind = member_str(m, "kind", &oom);
        r->api_version = member_str(m, "apiVersion", &oom);
        r->api_group = member_str(m, "apiGroup", &oom);
        r->labels = member_str(m, "labels", &oom);
        r->source = member_str(m, "source", &oom);
        r->cluster = member_str(m, "cluster", &oom);
        json_object *e = nth(embs, i);
        size_t len = 0;
        /* Chroma answers null values for a vector it cannot return (e.g.
         * one whose norm overflowed): that record has no embedding. */
        if (json_object_is_type(e, json_type_array))
            r->embedding = read_vector(e, &len, &oom);
        if (r->embedding != NULL) {
            if (out->dim == 0)
                out->dim = len;
            if (len != out->dim) {
                bad = "embeddings of different lengths";
                goto out;
            }
        }
        if (oom)
            goto out;
    }
    rc = 0;
out:
    if (oom)
        cw_error_set(err, CW_E_NOMEM, "chroma get: out of memory reading the answer");
    else if (bad != NULL)
        cw_error_set(err, CW_E_INTERNAL, "chroma get: unexpected answer: %s", bad);
    json_object_put(root);
    if (rc != 0)
        cw_chroma_records_free(out);
    return rc;
}

int cw_chroma_json_read_query(const char *body, cw_chroma_hits *out, cw_error *err)
{
    int rc = -1, oom = 0;
    const char *bad = NULL;
    memset(out, 0, sizeof(*out));
    json_object *root = parse(body, "query", err);
    if (root == NULL)
        goto out;
    json_object *ids = nth(member(root, "ids", json_type_array), 0);
    json_object *dists = nth(member(root, "distances", json_type_array), 0);
    json_object *docs = nth(member(root, "documents", json_type_array), 0);
    json_object *metas = nth(member(root, "metadatas", json_type_array), 0);
    if (!json_object_is_type(ids, json_type_array) || !json_object_is_type(dists, json_type_array)) {
        bad = "no \"ids\" or \"distances\" for the query";
        goto out;
    }
    if (!json_object_is_type(docs, json_type_array))
        docs = NULL;
    if (!json_object_is_type(metas, json_type_array))
        metas = NULL;
    size_t n = json_object_array_length(ids);
    if (json_object_array_length(dists) != n) {
        bad = "\"ids\" and \"distances\" differ in length";
        goto out;
    }
    if (n == 0) {
        rc = 0;
        goto out;
    }
    out->items = calloc(n, sizeof(*out->items));
    if (out->items == NULL) {
        oom = 1;
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        cw_chroma_hit *h = &out->items[i];
        out->len++;
        h->id = str_dup_if(json_object_array_get_idx(ids, i), &oom);
        if (h->id == NULL) {
            bad = oom ? NULL : "an id is not a string";
            goto out;
        }
        json_object *d = json_object_array_get_idx(dists, i);
        if (!json_object_is_type(d, json_type_double) && !json_object_is_type(d, json_type_int)) {
            bad = "a distance is not a number";
            goto out;
        }
        h->distance = json_object_get_double(d);
        h->document = str_dup_if(nth(docs, i), &oom);
        json_object *m = nth(metas, i);
        h->kind = member_str(m, "kind", &oom);
        h->namespace = member_str(m, "namespace", &oom);
        h->name = member_str(m, "name", &oom);
        h->cluster = member_str(m, "cluster", &oom);
        if (oom)
            goto out;
    }
    rc = 0;
out:
    if (oom)
        cw_error_set(err, CW_E_NOMEM, "chroma query: out of memory reading the answer");
    else if (bad != NULL)
        cw_error_set(err, CW_E_INTERNAL, "chroma query: unexpected answer: %s", bad);
    json_object_put(root);
    if (rc != 0)
        cw_chroma_hits_free(out);
    return rc;
}

int cw_chroma_json_read_collection(const char *body, char **id_out, char **space_out,
                                   cw_error *err)
{
    int rc = -1, oom = 0;
    *id_out = NULL;
    *space_out = NULL;
    json_object *root = parse(body, "create collection", err);
    if (root == NULL)
        goto out;
    char *id = member_str(root, "id", &oom);
    if (id == NULL) {
        if (oom)
            cw_error_set(err, CW_E_NOMEM, "chroma create collection: out of memory");
        else
            cw_error_set(err, CW_E_INTERNAL, "chroma create collection: unexpected answer: no \"id\"");
        goto out;
    }
    json_object *hnsw = member(member(root, "configuration_json", json_type_object), "hnsw",
                               json_type_object);
    char *space = member_str(hnsw, "space", &oom);
    if (space == NULL) {
        json_object *meta = member(root, "metadata", json_type_object);
        space = member_str(meta, "hnsw:space", &oom);
    }
    if (oom) {
        free(id);
        free(space);
        cw_error_set(err, CW_E_NOMEM, "chroma create collection: out of memory");
        goto out;
    }
    *id_out = id;
    *space_out = space;
    rc = 0;
out:
    json_object_put(root);
    return rc;
}

static int read_size(json_object *v, size_t *out)
{
    if (!json_object_is_type(v, json_type_int))
        return -1;
    int64_t x = json_object_get_int64(v);
    if (x < 0)
        return -1;
    *out = (size_t)x;
    return 0;
}

int cw_chroma_json_read_dimension(const char *body, size_t *dim, cw_error *err)
{
    int rc = -1;
    json_object *root = parse(body, "dimension", err);
    if (root == NULL)
        goto out;
    json_object *v = NULL;
    if (!json_object_object_get_ex(root, "dimension", &v)) {
        cw_error_set(err, CW_E_INTERNAL, "chroma dimension: unexpected answer: no \"dimension\"");
        goto out;
    }
    if (v == NULL) {
        *dim = 0;
        rc = 0;
        goto out;
    }
    if (read_size(v, dim) != 0) {
        cw_error_set(err, CW_E_INTERNAL, "chroma dimension: unexpected answer: \"dimension\" is not a count");
        goto out;
    }
    rc = 0;
out:
    json_object_put(root);
    return rc;
}

int cw_chroma_json_read_max_batch(const char *body, size_t *max_batch, cw_error *err)
{
    int rc = -1;
    json_object *root = parse(body, "pre-flight-checks", err);
    if (root == NULL)
        goto out;
    json_object *v = member(root, "max_batch_size", json_type_int);
    if (v == NULL || read_size(v, max_batch) != 0 || *max_batch == 0) {
        cw_error_set(err, CW_E_INTERNAL,
                     "chroma pre-flight-checks: unexpected answer: no positive \"max_batch_size\"");
        goto out;
    }
    rc = 0;
out:
    json_object_put(root);
    return rc;
}

int cw_chroma_json_read_count(const char *body, size_t *count, cw_error *err)
{
    int rc = -1;
    json_object *root = parse(body, "count", err);
    if (root == NULL)
        goto out;
    if (read_size(root, count) != 0) {
        cw_error_set(err, CW_E_INTERNAL, "chroma count: unexpected answer: not a count");
        goto out;
    }
    rc = 0;
out:
    json_object_put(root);
    return rc;
}

/* Copy at most `max` bytes of the first line of `s` into buf at *pos. */
static void put_line(char *buf, size_t cap, size_t *pos, const char *s, size_t max)
{
    for (size_t i = 0; s[i] != '\0' && s[i] != '\n' && s[i] != '\r' && i < max; i++) {
        if (*pos + 1 >= cap)
            break;
        buf[(*pos)++] = s[i];
    }
    buf[*pos] = '\0';
}

const char *cw_chroma_json_error_line(const char *body, char *buf, size_t cap,
                                      const char **message_out)
{
    size_t pos = 0;
    if (cap == 0)
        return buf;
    buf[0] = '\0';
    if (message_out != NULL)
        *message_out = buf;
    json_object *root = json_tokener_parse(body != NULL ? body : "");
    json_object *e = member(root, "error", json_type_string);
    json_object *m = member(root, "message", json_type_string);
    if (e != NULL && m != NULL) {
        put_line(buf, cap, &pos, json_object_get_string(e), 100);
        put_line(buf, cap, &pos, ": ", 2);
        if (message_out != NULL)
            *message_out = buf + pos;
        put_line(buf, cap, &pos, json_object_get_string(m), 300);
    } else {
        put_line(buf, cap, &pos, body != NULL ? body : "", 300);
        if (pos == 0)
            put_line(buf, cap, &pos, "(empty body)", 20);
    }
    json_object_put(root);
    return buf;
}
