/* cw_search_run, cw_search_get, cw_search_results_json (search.h): what
 * talks to Chroma and the embedder. */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "schema_rt.h"
#include "search.h"

int cw_search_run(cw_chroma *c, cw_embedder *e, const cw_search_request *req,
                  cw_search_results *out, cw_error *err)
{
    int rc = -1;
    float *vec = NULL;
    cw_chroma_records corpus;
    cw_chroma_hits hits;
    memset(&corpus, 0, sizeof corpus);
    memset(&hits, 0, sizeof hits);
    memset(out, 0, sizeof *out);

    if (cw_search_request_check(req, err) != 0)
        goto out;
    if (req->mode != CW_SEARCH_VECTOR &&
        cw_chroma_scan(c, req->kind, req->ns, CW_SEARCH_MAX_CORPUS, &corpus, err) != 0)
        goto out;
    if (req->mode != CW_SEARCH_LEXICAL) {
        if (e->dim == 0) {
            cw_error_set(err, CW_E_UNAVAILABLE, "search: the embedder's vector size is unknown (is it reachable?)");
            goto out;
        }
        vec = malloc(e->dim * sizeof *vec);
        if (vec == NULL) {
            cw_error_set(err, CW_E_NOMEM, "search: out of memory");
            goto out;
        }
        const char *texts[1] = { req->query };
        /* hybrid: every record's similarity when the collection is small,
         * else the nearest CW_SEARCH_VECTOR_POOL */
        size_t pool = req->n;
        if (req->mode == CW_SEARCH_HYBRID)
            pool = corpus.len < CW_SEARCH_VECTOR_POOL ? corpus.len : CW_SEARCH_VECTOR_POOL;
        if (pool < req->n)
            pool = req->n;
        if (cw_embedder_embed(e, texts, 1, CW_EMBED_QUERY, vec, err) != 0 ||
            cw_chroma_query(c, vec, e->dim, pool, req->kind, req->ns, &hits, err) != 0)
            goto out;
    }
    rc = cw_search_rank(&corpus, &hits, req->query, req->mode, req->n, out, err);
out:
    free(vec);
    cw_chroma_records_free(&corpus);
    cw_chroma_hits_free(&hits);
    return rc;
}

static json_object *num4(double v)
{
    char buf[64];
    snprintf(buf, sizeof buf, "%.4f", v);
    if (strcmp(buf, "-0.0000") == 0)
        snprintf(buf, sizeof buf, "0.0000");
    return json_object_new_double_s(v, buf);
}

static json_object *str_or_null(const char *s)
{
    return s != NULL ? json_object_new_string(s) : NULL;
}

/* Add; on failure the value is released and 1 returned (errors are counted). */
static int add(json_object *o, const char *key, json_object *v, int may_be_null)
{
    if (v == NULL && !may_be_null)
        return 1;
    if (json_object_object_add(o, key, v) != 0) {
        json_object_put(v);
        return 1;
    }
    return 0;
}

static json_object *explain_of(const cw_search_result *r)
{
    json_object *x = json_object_new_object(), *v = json_object_new_object(), *l = json_object_new_object();
    int bad = x == NULL || v == NULL || l == NULL;
    if (bad) {
        json_object_put(x);
        json_object_put(v);
        json_object_put(l);
        return NULL;
    }
    bad |= add(v, "rank", r->vector_rank != 0 ? json_object_new_int64((int64_t)r->vector_rank) : NULL, 1);
    bad |= add(v, "similarity", r->vector_rank != 0 ? num4(1.0 - r->distance) : NULL, 1);
    bad |= add(v, "contribution", num4(r->vector_part), 0);
    bad |= add(l, "rank", r->lexical_rank != 0 ? json_object_new_int64((int64_t)r->lexical_rank) : NULL, 1);
    bad |= add(l, "bm25", num4(r->bm25), 0);
    bad |= add(l, "contribution", num4(r->lexical_part), 0);
    bad |= add(x, "vector", v, 0);
    bad |= add(x, "lexical", l, 0);
    bad |= add(x, "kind", num4(r->kind_part), 0);
    bad |= add(x, "scope", num4(r->scope_part), 0);
    bad |= add(x, "workload", num4(r->workload_part), 0);
    if (bad) {
        json_object_put(x);
        return NULL;
    }
    return x;
}

char *cw_search_results_json(const char *query, cw_search_mode mode, const cw_search_results *r,
                             int explain)
{
    char *s = NULL;
    json_object *root = json_object_new_object();
    json_object *list = json_object_new_array();
    int bad = root == NULL || list == NULL;
    if (bad) {
        json_object_put(list);
        goto out;
    }
    bad |= add(root, "query", json_object_new_string(query != NULL ? query : ""), 0);
    bad |= add(root, "ranking", json_object_new_string(cw_search_mode_name(mode)), 0);
    if (explain) {
        json_object *in = json_object_new_object();
        if (in != NULL) {
            bad |= add(in, "kind", str_or_null(r->intent_kind), 1);
            bad |= add(in, "scope", str_or_null(r->intent_scope), 1);
        }
        bad |= add(root, "intent", in, 0);
    }
    bad |= add(root, "results", list, 0);
    for (size_t i = 0; i < r->len && !bad; i++) {
        const cw_search_result *h = &r->items[i];
        json_object *o = json_object_new_object();
        if (o == NULL || json_object_array_add(list, o) != 0) {
            json_object_put(o);
            bad = 1;
            break;
        }
        bad |= add(o, "rank", json_object_new_int64((int64_t)(i + 1)), 0);
        bad |= add(o, "id", json_object_new_string(h->id), 0);
        bad |= add(o, "cluster", str_or_null(h->cluster), 1);
        bad |= add(o, "namespace", str_or_null(h->namespace), 1);
        bad |= add(o, "kind", str_or_null(h->kind), 1);
        bad |= add(o, "name", str_or_null(h->name), 1);
        bad |= add(o, "distance", h->distance >= 0 ? num4(h->distance) : NULL, 1);
        bad |= add(o, "score", num4(h->score), 0);
        bad |= add(o, "document", str_or_null(h->document), 1);
        if (explain)
            bad |= add(o, "explain", explain_of(h), 0);
    }
    if (!bad) {
        const char *t = json_object_to_json_string_ext(root, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
        if (t != NULL)
            s = strdup(t);
    }
out:
    json_object_put(root);
    return s;
}

int cw_search_get(cw_chroma *c, const char *id, cw_chroma_records *out, cw_error *err)
{
    memset(out, 0, sizeof *out);
    if (id == NULL || id[0] == '\0' || strlen(id) > CW_SEARCH_MAX_ID)
        return cw_error_set(err, CW_E_INVALID, "id: wants 1 to %d bytes", CW_SEARCH_MAX_ID);
    if (!cw_rt_utf8_valid(id, strlen(id)))
        return cw_error_set(err, CW_E_INVALID, "id: not valid UTF-8");
    const char *ids[1] = { id };
    if (cw_chroma_get(c, ids, 1, 0, out, err) != 0)
        return -1;
    /* Chroma answers only the ids asked for: the match first, or nothing */
    size_t at = out->len;
    for (size_t i = 0; i < out->len && at == out->len; i++)
        if (out->items[i].id != NULL && strcmp(out->items[i].id, id) == 0)
            at = i;
    if (at == out->len) {
        cw_chroma_records_free(out);
    } else if (at != 0) {
        cw_chroma_record t = out->items[0];
        out->items[0] = out->items[at];
        out->items[at] = t;
    }
    return 0;
}
