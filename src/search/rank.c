/* cw_search_rank: BM25 + vector similarity + query intent (search.h). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "search.h"
#include "terms.h"

#define BM25_K1 1.2
#define BM25_B  0.75
#define MAX_QUERY_TERMS 64

/* One record to rank: borrowed fields of a corpus record or a vector hit. */
typedef struct entry {
    const char *id, *cluster, *namespace, *kind, *name, *document, *labels;
    double distance;       /* -1: not a vector candidate */
    size_t vector_rank;
    double bm25;
    size_t lexical_rank;
    double vector_part, lexical_part, kind_part, scope_part, workload_part, score;
} entry;

int cw_search_mode_parse(const char *s)
{
    if (s == NULL)
        return -1;
    if (strcmp(s, "hybrid") == 0)
        return CW_SEARCH_HYBRID;
    if (strcmp(s, "vector") == 0)
        return CW_SEARCH_VECTOR;
    if (strcmp(s, "lexical") == 0)
        return CW_SEARCH_LEXICAL;
    return -1;
}

const char *cw_search_mode_name(cw_search_mode m)
{
    switch (m) {
    case CW_SEARCH_VECTOR:  return "vector";
    case CW_SEARCH_LEXICAL: return "lexical";
    case CW_SEARCH_HYBRID:  break;
    }
    return "hybrid";
}

static int by_id(const void *a, const void *b)
{
    return strcmp(((const entry *)a)->id, ((const entry *)b)->id);
}

static int by_score(const void *a, const void *b)
{
    const entry *x = a, *y = b;
    if (x->score != y->score)
        return x->score > y->score ? -1 : 1;
    return strcmp(x->id, y->id);
}

static int by_bm25(const void *a, const void *b)
{
    const entry *x = a, *y = b;
    if (x->bm25 != y->bm25)
        return x->bm25 > y->bm25 ? -1 : 1;
    return strcmp(x->id, y->id);
}

/* Lower-case, letters and digits only, folded per word, then joined:
 * "data-platform" → "dataplatform", "PodDisruptionBudgets" → "poddisruptionbudget". */
static void key_of(const char *s, char *out, size_t cap)
{
    cw_terms t = { 0 };
    size_t k = 0;
    out[0] = '\0';
    if (s == NULL || cw_terms_add(&t, s, 0, NULL) != 0)
        return;
    for (size_t i = 0; i < t.len; i++) {
        size_t l = strlen(t.v[i]);
        if (k + l + 1 > cap)
            break;
        memcpy(out + k, t.v[i], l);
        k += l;
        out[k] = '\0';
    }
    cw_terms_free(&t);
    cw_terms_fold(out);
}

/* Words (or phrases, as folded words joined) that name a kind without
 * spelling it; only used when that kind is stored. */
static const struct { const char *alias, *kind; } KIND_ALIASES[] = {
    { "pdb", "PodDisruptionBudget" },      { "disruptionbudget", "PodDisruptionBudget" },
    { "svc", "Service" },                  { "sts", "StatefulSet" },
    { "deploy", "Deployment" },            { "cm", "ConfigMap" },
    { "cert", "Certificate" },             { "tlscert", "Certificate" },
    { "hpa", "HorizontalPodAutoscaler" },  { "autoscaler", "HorizontalPodAutoscaler" },
    { "pvc", "PersistentVolumeClaim" },    { "volumeclaim", "PersistentVolumeClaim" },
    { "crd", "CustomResourceDefinition" }, { "netpol", "NetworkPolicy" },
    { "scheduledjob", "CronJob" },         { "ds", "DaemonSet" },
};

/* Query words for a family of products that stored texts usually name only
 * by product ("which databases" → the postgres and mongodb StatefulSets):
 * a record holding one of the products counts, for BM25, as holding the
 * word CW_SEARCH_W_RELATED times. General Kubernetes vocabulary, one line
 * per family, written by its meaning and not from any one inventory. */
static const struct { const char *word, *products; } RELATED[] = {
    { "database",   "postgres postgresql mysql mariadb mongodb mongo redis cassandra clickhouse cockroachdb "
                    "couchdb elasticsearch opensearch etcd influxdb timescaledb" },
    { "db",         "postgres postgresql mysql mariadb mongodb mongo redis cassandra clickhouse cockroachdb "
                    "couchdb elasticsearch opensearch etcd influxdb timescaledb" },
    { "sql",        "postgres postgresql mysql mariadb cockroachdb" },
    { "queue",      "kafka rabbitmq nats pulsar activemq" },
    { "broker",     "kafka rabbitmq nats pulsar activemq mosquitto" },
    { "cache",      "redis memcached varnish" },
    { "monitoring", "prometheus grafana alertmanager thanos exporter" },
    { "metric",     "prometheus thanos exporter" },
    { "dashboard",  "grafana kibana" },
    { "log",        "loki fluentd fluent logstash" },
    { "logging",    "loki fluentd fluent logstash" },
    { "dns",        "coredns" },
    { "proxy",      "nginx envoy haproxy traefik" },
    { "secret",     "vault" },
    { "storage",    "minio ceph longhorn" },
    { "gitop",      "argocd flux" },
    { "sso",        "keycloak oauth2 oidc dex" },
};

/* The related products of one (folded) query word, or NULL. */
static const char *related_of(const char *w)
{
    for (size_t i = 0; i < sizeof RELATED / sizeof RELATED[0]; i++) {
        char key[32];
        snprintf(key, sizeof key, "%s", RELATED[i].word);
        cw_terms_fold(key);
        if (strcmp(key, w) == 0)
            return RELATED[i].products;
    }
    return NULL;
}

/* The kinds that run something: a query that names no kind asks for them
 * before their Service, ConfigMap or PodDisruptionBudget of the same name. */
static int is_workload(const char *kind)
{
    static const char *const W[] = { "Deployment", "StatefulSet", "DaemonSet", "CronJob", "Job" };
    for (size_t i = 0; kind != NULL && i < sizeof W / sizeof W[0]; i++)
        if (strcmp(kind, W[i]) == 0)
            return 1;
    return 0;
}

/* The team of a record: the value of its label team, owner or squad. */
static int team_of(const char *labels, char *out, size_t cap)
{
    static const char *const keys[] = { "team=", "owner=", "squad=" };
    out[0] = '\0';
    if (labels == NULL)
        return 0;
    for (size_t i = 0; i < 3; i++) {
        size_t kl = strlen(keys[i]);
        for (const char *p = labels; p != NULL && *p != '\0';) {
            if (strncmp(p, keys[i], kl) == 0) {
                const char *v = p + kl, *end = strchr(v, ',');
                size_t l = end != NULL ? (size_t)(end - v) : strlen(v);
                if (l >= cap)
                    l = cap - 1;
                memcpy(out, v, l);
                out[l] = '\0';
                return 1;
            }
            p = strchr(p, ',');
            if (p != NULL)
                p++;
        }
    }
    return 0;
}

/* The distinct kinds and scopes (namespace and team keys) of the corpus,
 * with their keys, for the intent detector. Strings are borrowed (kinds) or
 * owned (keys). */
typedef struct vocab {
    const char **kinds;
    char **kind_keys;
    size_t nkinds;
    char **scopes;
    size_t nscopes;
} vocab;

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void vocab_free(vocab *v)
{
    for (size_t i = 0; i < v->nkinds; i++)
        free(v->kind_keys[i]);
    for (size_t i = 0; i < v->nscopes; i++)
        free(v->scopes[i]);
    free(v->kinds);
    free(v->kind_keys);
    free(v->scopes);
    memset(v, 0, sizeof *v);
}

static int vocab_build(vocab *v, const entry *e, size_t n, cw_error *err)
{
    char key[128], team[128];
    memset(v, 0, sizeof *v);
    v->kinds = calloc(n + 1, sizeof *v->kinds);
    v->kind_keys = calloc(n + 1, sizeof *v->kind_keys);
    v->scopes = calloc(3 * n + 1, sizeof *v->scopes);
    if (v->kinds == NULL || v->kind_keys == NULL || v->scopes == NULL)
        goto nomem;
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (e[i].kind != NULL)
            v->kinds[k++] = e[i].kind;
    qsort(v->kinds, k, sizeof *v->kinds, cmp_str);
    for (size_t i = 0; i < k; i++) {
        if (v->nkinds > 0 && strcmp(v->kinds[v->nkinds - 1], v->kinds[i]) == 0)
            continue;
        key_of(v->kinds[i], key, sizeof key);
        if ((v->kind_keys[v->nkinds] = strdup(key)) == NULL)
            goto nomem;
        v->kinds[v->nkinds++] = v->kinds[i];
    }
    for (size_t i = 0; i < n; i++) {
        for (int which = 0; which < 3; which++) {
            if (which == 0)
                key_of(e[i].namespace, key, sizeof key);
            else if (which == 1 && team_of(e[i].labels, team, sizeof team))
                key_of(team, key, sizeof key);
            else if (which == 2 && e[i].cluster != NULL)
                key_of(e[i].cluster, key, sizeof key);
            else
                continue;
            if (key[0] == '\0' || cw_terms_is_stopword(key))
                continue;
            if ((v->scopes[v->nscopes] = strdup(key)) == NULL)
                goto nomem;
            v->nscopes++;
        }
    }
    qsort(v->scopes, v->nscopes, sizeof *v->scopes, cmp_str);
    size_t w = 0;
    for (size_t i = 0; i < v->nscopes; i++) {
        if (w > 0 && strcmp(v->scopes[w - 1], v->scopes[i]) == 0)
            free(v->scopes[i]);
        else
            v->scopes[w++] = v->scopes[i];
    }
    v->nscopes = w;
    return 0;
nomem:
    vocab_free(v);
    return cw_error_set(err, CW_E_NOMEM, "search: out of memory");
}

/* The stored kind named by phrase key `k`, or NULL. */
static const char *kind_named(const vocab *v, const char *k)
{
    for (size_t i = 0; i < sizeof KIND_ALIASES / sizeof KIND_ALIASES[0]; i++) {
        if (strcmp(k, KIND_ALIASES[i].alias) != 0)
            continue;
        for (size_t j = 0; j < v->nkinds; j++)
            if (strcmp(v->kinds[j], KIND_ALIASES[i].kind) == 0)
                return v->kinds[j];
    }
    for (size_t j = 0; j < v->nkinds; j++)
        if (v->kind_keys[j][0] != '\0' && strcmp(v->kind_keys[j], k) == 0)
            return v->kinds[j];
    return NULL;
}

static int scope_named(const vocab *v, const char *k)
{
    const char *key = k;
    return bsearch(&key, v->scopes, v->nscopes, sizeof *v->scopes, cmp_str) != NULL;
}

/* 1 when record e is in the scope named by key `k` (namespace, team or
 * cluster). */
static int in_scope(const entry *e, const char *k)
{
    char key[128], team[128];
    key_of(e->namespace, key, sizeof key);
    if (key[0] != '\0' && strcmp(key, k) == 0)
        return 1;
    if (e->cluster != NULL) {
        key_of(e->cluster, key, sizeof key);
        if (key[0] != '\0' && strcmp(key, k) == 0)
            return 1;
    }
    if (team_of(e->labels, team, sizeof team)) {
        key_of(team, key, sizeof key);
        if (key[0] != '\0' && strcmp(key, k) == 0)
            return 1;
    }
    return 0;
}

/* Scan the query's words for a kind and a scope: at each position the
 * longest phrase (up to 3 words, joined) that names one. */
static void find_intent(const cw_terms *q, const vocab *v, const char **kind_out,
                        char *scope_out, size_t scope_cap)
{
    *kind_out = NULL;
    scope_out[0] = '\0';
    for (size_t i = 0; i < q->len; i++) {
        for (size_t len = 3; len >= 1; len--) {
            if (i + len > q->len)
                continue;
            char phrase[128] = "";
            size_t k = 0;
            int fits = 1;
            for (size_t j = i; j < i + len; j++) {
                size_t l = strlen(q->v[j]);
                if (k + l + 1 > sizeof phrase) {
                    fits = 0;
                    break;
                }
                memcpy(phrase + k, q->v[j], l);
                k += l;
                phrase[k] = '\0';
            }
            if (!fits)
                continue;
            cw_terms_fold(phrase);
            if (*kind_out == NULL) {
                const char *kind = kind_named(v, phrase);
                if (kind != NULL) {
                    *kind_out = kind;
                    i += len - 1;
                    break;
                }
            }
            if (scope_out[0] == '\0' && scope_named(v, phrase)) {
                snprintf(scope_out, scope_cap, "%s", phrase);
                i += len - 1;
                break;
            }
        }
    }
}

/* BM25 of every entry for the query's distinct non-stop words (a related
 * product counting as CW_SEARCH_W_RELATED of its word); returns the
 * normaliser (sum of the words' idf: a record holding each word once at
 * average length scores about that). */
static int score_bm25(entry *e, size_t n, const cw_terms *q, double *norm_out, cw_error *err)
{
    const char *words[MAX_QUERY_TERMS];
    size_t nw = 0;
    for (size_t i = 0; i < q->len && nw < MAX_QUERY_TERMS; i++) {
        if (cw_terms_is_stopword(q->v[i]))
            continue;
        int dup = 0;
        for (size_t j = 0; j < nw; j++)
            dup |= strcmp(words[j], q->v[i]) == 0;
        if (!dup)
            words[nw++] = q->v[i];
    }
    *norm_out = 0;
    if (nw == 0 || n == 0)
        return 0;

    int rc = -1;
    cw_terms rel[MAX_QUERY_TERMS];
    memset(rel, 0, sizeof rel);
    double *tf = calloc(n * nw, sizeof *tf);
    size_t *dl = calloc(n, sizeof *dl);
    size_t df[MAX_QUERY_TERMS] = { 0 };
    if (tf == NULL || dl == NULL) {
        cw_error_set(err, CW_E_NOMEM, "search: out of memory");
        goto out;
    }
    for (size_t w = 0; w < nw; w++) {
        const char *products = related_of(words[w]);
        if (products != NULL && cw_terms_add(&rel[w], products, 0, err) != 0)
            goto out;
    }
    double total = 0;
    for (size_t i = 0; i < n; i++) {
        cw_terms t = { 0 };
        const char *text = e[i].document != NULL ? e[i].document : "";
        if (cw_terms_add(&t, text, 1, err) != 0)
            goto out;
        dl[i] = t.len;
        total += (double)t.len;
        for (size_t j = 0; j < t.len; j++)
            for (size_t w = 0; w < nw; w++) {
                if (strcmp(t.v[j], words[w]) == 0) {
                    tf[i * nw + w] += 1;
                    continue;
                }
                for (size_t r = 0; r < rel[w].len; r++)
                    if (strcmp(t.v[j], rel[w].v[r]) == 0) {
                        tf[i * nw + w] += CW_SEARCH_W_RELATED;
                        break;
                    }
            }
        cw_terms_free(&t);
        for (size_t w = 0; w < nw; w++)
            df[w] += tf[i * nw + w] > 0;
    }
    double avgdl = total / (double)n;
    if (avgdl <= 0)
        avgdl = 1;
    double idf[MAX_QUERY_TERMS];
    for (size_t w = 0; w < nw; w++) {
        idf[w] = log(1.0 + ((double)n - (double)df[w] + 0.5) / ((double)df[w] + 0.5));
        *norm_out += idf[w];
    }
    for (size_t i = 0; i < n; i++) {
        double s = 0;
        for (size_t w = 0; w < nw; w++) {
            double f = tf[i * nw + w];
            if (f > 0)
                s += idf[w] * f * (BM25_K1 + 1) / (f + BM25_K1 * (1 - BM25_B + BM25_B * (double)dl[i] / avgdl));
        }
        e[i].bm25 = s;
    }
    rc = 0;
out:
    for (size_t w = 0; w < nw; w++)
        cw_terms_free(&rel[w]);
    free(tf);
    free(dl);
    return rc;
}

static char *dup_or_null(const char *s)
{
    return s != NULL ? strdup(s) : NULL;
}

void cw_search_results_free(cw_search_results *r)
{
    if (r == NULL)
        return;
    for (size_t i = 0; i < r->len; i++) {
        free(r->items[i].id);
        free(r->items[i].cluster);
        free(r->items[i].namespace);
        free(r->items[i].kind);
        free(r->items[i].name);
        free(r->items[i].document);
    }
    free(r->items);
    free(r->intent_kind);
    free(r->intent_scope);
    memset(r, 0, sizeof *r);
}

static int emit(const entry *e, size_t n, size_t keep, cw_search_results *out, cw_error *err)
{
    size_t len = n < keep ? n : keep;
    if (len == 0)
        return 0;
    out->items = calloc(len, sizeof *out->items);
    if (out->items == NULL)
        return cw_error_set(err, CW_E_NOMEM, "search: out of memory");
    for (size_t i = 0; i < len; i++) {
        cw_search_result *r = &out->items[i];
        out->len = i + 1;
        r->id = dup_or_null(e[i].id);
        r->cluster = dup_or_null(e[i].cluster);
        r->namespace = dup_or_null(e[i].namespace);
        r->kind = dup_or_null(e[i].kind);
        r->name = dup_or_null(e[i].name);
        r->document = dup_or_null(e[i].document);
        if (r->id == NULL || (e[i].cluster != NULL && r->cluster == NULL) ||
            (e[i].namespace != NULL && r->namespace == NULL) ||
            (e[i].kind != NULL && r->kind == NULL) || (e[i].name != NULL && r->name == NULL) ||
            (e[i].document != NULL && r->document == NULL))
            return cw_error_set(err, CW_E_NOMEM, "search: out of memory");
        r->distance = e[i].distance;
        r->score = e[i].score;
        r->vector_rank = e[i].vector_rank;
        r->vector_part = e[i].vector_part;
        r->lexical_rank = e[i].lexical_rank;
        r->bm25 = e[i].bm25;
        r->lexical_part = e[i].lexical_part;
        r->kind_part = e[i].kind_part;
        r->scope_part = e[i].scope_part;
        r->workload_part = e[i].workload_part;
    }
    return 0;
}

/* Vector mode: the hits in Chroma's order into e[0..nv). */
static size_t rank_vector_only(entry *e, const cw_chroma_hits *vhits, size_t nv)
{
    for (size_t i = 0; i < nv; i++) {
        const cw_chroma_hit *h = &vhits->items[i];
        e[i] = (entry){ .id = h->id, .cluster = h->cluster, .namespace = h->namespace, .kind = h->kind,
                        .name = h->name, .document = h->document, .distance = h->distance,
                        .vector_rank = i + 1 };
        e[i].vector_part = CW_SEARCH_W_VECTOR * (1.0 - h->distance);
        e[i].score = e[i].vector_part;
    }
    return nv;
}

/* The corpus (deduplicated by id) and the vector hits merged into e,
 * sorted by id; each hit's rank and distance on its entry. Returns the
 * count; *worst_sim: the similarity of the farthest hit. */
static size_t rank_merge(entry *e, const cw_chroma_records *corpus, size_t nc,
                         const cw_chroma_hits *vhits, size_t nv, double *worst_sim)
{
    size_t ne = 0;
    for (size_t i = 0; i < nc; i++) {
        const cw_chroma_record *r = &corpus->items[i];
        if (r->id == NULL)
            continue;
        e[ne++] = (entry){ .id = r->id, .cluster = r->cluster, .namespace = r->namespace, .kind = r->kind,
                           .name = r->name, .document = r->document, .labels = r->labels, .distance = -1 };
    }
    qsort(e, ne, sizeof *e, by_id);
    /* drop duplicate ids (a corpus read while it changed) */
    size_t w = 0;
    for (size_t i = 0; i < ne; i++)
        if (w == 0 || strcmp(e[w - 1].id, e[i].id) != 0)
            e[w++] = e[i];
    ne = w;
    size_t base = ne;
    *worst_sim = 0;
    for (size_t i = 0; i < nv; i++) {
        const cw_chroma_hit *h = &vhits->items[i];
        if (h->id == NULL)
            continue;
        entry key = { .id = h->id };
        entry *m = bsearch(&key, e, base, sizeof *e, by_id);
        if (m == NULL) {
            m = &e[ne++];
            *m = (entry){ .id = h->id, .cluster = h->cluster, .namespace = h->namespace, .kind = h->kind,
                          .name = h->name, .document = h->document };
        }
        if (m->vector_rank != 0)
            continue;
        m->distance = h->distance;
        m->vector_rank = i + 1;
        *worst_sim = 1.0 - h->distance;
    }
    if (ne > base)
        qsort(e, ne, sizeof *e, by_id);
    return ne;
}

/* Hybrid: each entry's parts (vector, lexical, intent kind and scope,
 * workload) and their sum, sorted best first. */
static void rank_hybrid(entry *e, size_t ne, size_t nv, double worst_sim, double norm,
                        const char *kind, const char *scope)
{
    for (size_t i = 0; i < ne; i++) {
        /* not among the nearest: at most as similar as the farthest one,
         * and ranked just after it when nothing else differs */
        double sim = e[i].vector_rank != 0 ? 1.0 - e[i].distance : (nv > 0 ? worst_sim - 1e-6 : 0);
        e[i].vector_part = CW_SEARCH_W_VECTOR * sim;
        double lex = norm > 0 ? e[i].bm25 / norm : 0;
        e[i].lexical_part = CW_SEARCH_W_LEXICAL * (lex < 1 ? lex : 1);
        if (kind != NULL && e[i].kind != NULL && strcmp(e[i].kind, kind) == 0)
            e[i].kind_part = CW_SEARCH_W_KIND;
        if (scope[0] != '\0' && in_scope(&e[i], scope))
            e[i].scope_part = CW_SEARCH_W_SCOPE;
        if (kind == NULL && is_workload(e[i].kind))
            e[i].workload_part = CW_SEARCH_W_WORKLOAD;
        e[i].score = e[i].vector_part + e[i].lexical_part + e[i].kind_part + e[i].scope_part + e[i].workload_part;
    }
    qsort(e, ne, sizeof *e, by_score);
}

int cw_search_rank(const cw_chroma_records *corpus, const cw_chroma_hits *vhits, const char *query,
                   cw_search_mode mode, size_t n, cw_search_results *out, cw_error *err)
{
    int rc = -1;
    memset(out, 0, sizeof *out);
    size_t nc = corpus != NULL ? corpus->len : 0, nv = vhits != NULL ? vhits->len : 0;
    entry *e = calloc(nc + nv + 1, sizeof *e);
    cw_terms q = { 0 };
    vocab voc = { 0 };
    if (e == NULL) {
        cw_error_set(err, CW_E_NOMEM, "search: out of memory");
        goto out;
    }
    if (mode == CW_SEARCH_VECTOR) {
        rc = emit(e, rank_vector_only(e, vhits, nv), n, out, err);
        goto out;
    }
    double worst_sim;
    size_t ne = rank_merge(e, corpus, nc, vhits, nv, &worst_sim);
    if (cw_terms_add(&q, query, 0, err) != 0)
        goto out;
    double norm = 0;
    if (score_bm25(e, ne, &q, &norm, err) != 0)
        goto out;
    /* lexical ranks */
    qsort(e, ne, sizeof *e, by_bm25);
    for (size_t i = 0; i < ne && e[i].bm25 > 0; i++)
        e[i].lexical_rank = i + 1;
    if (mode == CW_SEARCH_LEXICAL) {
        size_t matched = 0;
        while (matched < ne && e[matched].bm25 > 0)
            matched++;
        for (size_t i = 0; i < matched; i++) {
            e[i].lexical_part = norm > 0 ? e[i].bm25 / norm : 0;
            e[i].score = e[i].lexical_part;
        }
        rc = emit(e, matched, n, out, err);
        goto out;
    }
    const char *kind = NULL;
    char scope[128];
    if (vocab_build(&voc, e, ne, err) != 0)
        goto out;
    find_intent(&q, &voc, &kind, scope, sizeof scope);
    if ((kind != NULL && (out->intent_kind = strdup(kind)) == NULL) ||
        (scope[0] != '\0' && (out->intent_scope = strdup(scope)) == NULL)) {
        cw_error_set(err, CW_E_NOMEM, "search: out of memory");
        goto out;
    }
    rank_hybrid(e, ne, nv, worst_sim, norm, kind, scope);
    rc = emit(e, ne, n, out, err);
out:
    if (rc != 0)
        cw_search_results_free(out);
    cw_terms_free(&q);
    vocab_free(&voc);
    free(e);
    return rc;
}
