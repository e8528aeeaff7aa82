#include "metrics.h"

#include <time.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cw_metrics.h"

/* Status codes we answer; anything else is counted under "other". */
static const unsigned CODES[] = { 200, 400, 404, 405, 413, 415, 500, 503 };
#define N_CODES (sizeof CODES / sizeof CODES[0])

/* Upper bounds (bytes) of the body size histogram buckets; +Inf implied. */
static const uint64_t BODY_BUCKETS[] = { 1024, 16384, 131072, 1048576, 5242880 };
#define N_BODY_BUCKETS (sizeof BODY_BUCKETS / sizeof BODY_BUCKETS[0])

/* The counters of one cluster label value. */
typedef struct cluster_slot {
    char name[64];                   /* written once, before the slot is published */
    _Atomic uint64_t syncs, upserts, deletes;
} cluster_slot;

struct cw_http_metrics {
    /* All atomics (see metrics.h): no lock. */
    _Atomic uint64_t requests[CW_ROUTE_COUNT][N_CODES + 1];   /* [..][N_CODES] = other */
    cw_hist duration[CW_ROUTE_COUNT];
    cw_hist body;
    _Atomic uint64_t upserts, deletes;
    _Atomic uint64_t searches[3];    /* by cw_search_mode */
    _Atomic uint64_t search_results;
    _Atomic uint64_t guards[CW_GUARD_COUNT];
    /* Per cluster: slots[0..n_clusters) are published (their names final);
     * `cluster_lock` guards adding one (a writer fills slots[n], then
     * stores n + 1 with release order; readers load n with acquire). */
    cluster_slot clusters[CW_HTTP_METRICS_MAX_CLUSTERS];
    _Atomic size_t n_clusters;
    cluster_slot no_cluster, other_cluster;
    pthread_mutex_t cluster_lock;
};

static const char *const GUARD_LABELS[] = {
#define CW_HTTP_GUARD_LABEL(name, label) label,
    CW_HTTP_GUARDS(CW_HTTP_GUARD_LABEL)
#undef CW_HTTP_GUARD_LABEL
};

cw_http_metrics *cw_http_metrics_create(void)
{
    cw_http_metrics *m = calloc(1, sizeof *m);
    if (m == NULL)
        return NULL;
    for (int r = 0; r < CW_ROUTE_COUNT; r++) {
        for (size_t c = 0; c <= N_CODES; c++)
            atomic_init(&m->requests[r][c], 0);
        cw_hist_init(&m->duration[r], CW_HIST_LATENCY_US, CW_HIST_LATENCY_N, 1e-6);
    }
    cw_hist_init(&m->body, BODY_BUCKETS, N_BODY_BUCKETS, 1.0);
    atomic_init(&m->upserts, 0);
    atomic_init(&m->deletes, 0);
    for (int i = 0; i < 3; i++)
        atomic_init(&m->searches[i], 0);
    atomic_init(&m->search_results, 0);
    for (int g = 0; g < CW_GUARD_COUNT; g++)
        atomic_init(&m->guards[g], 0);
    atomic_init(&m->n_clusters, 0);
    pthread_mutex_init(&m->cluster_lock, NULL);
    return m;
}

void cw_http_metrics_destroy(cw_http_metrics *m)
{
    if (m == NULL)
        return;
    pthread_mutex_destroy(&m->cluster_lock);
    free(m);
}

/* The published slot named `name` among the first `n`, or NULL. */
static cluster_slot *find_cluster(cw_http_metrics *m, const char *name, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(m->clusters[i].name, name) == 0)
            return &m->clusters[i];
    return NULL;
}

static cluster_slot *cluster_slot_of(cw_http_metrics *m, const char *name)
{
    if (name == NULL || name[0] == '\0')
        return &m->no_cluster;
    size_t n = atomic_load_explicit(&m->n_clusters, memory_order_acquire);
    cluster_slot *c = find_cluster(m, name, n);
    if (c != NULL)
        return c;
    if (n >= CW_HTTP_METRICS_MAX_CLUSTERS || strlen(name) >= sizeof c->name)
        return &m->other_cluster;
    pthread_mutex_lock(&m->cluster_lock);
    n = atomic_load_explicit(&m->n_clusters, memory_order_relaxed);
    c = find_cluster(m, name, n);             /* added meanwhile? */
    if (c == NULL && n < CW_HTTP_METRICS_MAX_CLUSTERS) {
        c = &m->clusters[n];
        snprintf(c->name, sizeof c->name, "%s", name);
        atomic_store_explicit(&m->n_clusters, n + 1, memory_order_release);
    }
    pthread_mutex_unlock(&m->cluster_lock);
    return c != NULL ? c : &m->other_cluster;
}

void cw_http_metrics_cluster(cw_http_metrics *m, const char *cluster, size_t upserts,
                             size_t deletes)
{
    if (m == NULL)
        return;
    cluster_slot *c = cluster_slot_of(m, cluster);
    atomic_fetch_add_explicit(&c->syncs, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&c->upserts, upserts, memory_order_relaxed);
    atomic_fetch_add_explicit(&c->deletes, deletes, memory_order_relaxed);
}

size_t cw_http_metrics_cluster_names(cw_http_metrics *m)
{
    return m != NULL ? atomic_load_explicit(&m->n_clusters, memory_order_acquire) : 0;
}

static size_t code_index(unsigned status)
{
    for (size_t i = 0; i < N_CODES; i++)
        if (CODES[i] == status)
            return i;
    return N_CODES;
}

void cw_http_metrics_count(cw_http_metrics *m, cw_http_route route, unsigned status,
                           int64_t duration_us)
{
    if (m == NULL || route >= CW_ROUTE_COUNT)
        return;
    atomic_fetch_add_explicit(&m->requests[route][code_index(status)], 1, memory_order_relaxed);
    cw_hist_observe(&m->duration[route], duration_us > 0 ? (uint64_t)duration_us : 0);
}

void cw_http_metrics_guard(cw_http_metrics *m, cw_http_guard guard, unsigned n)
{
    if (m != NULL && guard < CW_GUARD_COUNT)
        atomic_fetch_add_explicit(&m->guards[guard], n, memory_order_relaxed);
}

void cw_http_metrics_body(cw_http_metrics *m, size_t bytes)
{
    if (m != NULL)
        cw_hist_observe(&m->body, bytes);
}

void cw_http_metrics_ops(cw_http_metrics *m, size_t upserts, size_t deletes)
{
    if (m == NULL)
        return;
    atomic_fetch_add_explicit(&m->upserts, upserts, memory_order_relaxed);
    atomic_fetch_add_explicit(&m->deletes, deletes, memory_order_relaxed);
}

void cw_http_metrics_search(cw_http_metrics *m, int mode, size_t results)
{
    if (m == NULL || mode < 0 || mode > 2)
        return;
    atomic_fetch_add_explicit(&m->searches[mode], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&m->search_results, results, memory_order_relaxed);
}

static uint64_t load(_Atomic uint64_t *v)
{
    return atomic_load_explicit(v, memory_order_relaxed);
}

/* One family of one unlabelled sample. */
static void family1(cw_prom *p, const char *name, const char *type, const char *help, uint64_t v)
{
    cw_prom_head(p, name, type, help);
    cw_prom_sample(p, name, "", v);
}

/* The journal's families (journal mode only). */
static void render_journal(cw_prom *p, const cw_pipeline_stats *st)
{
    const cw_journal_stats *js = &st->journal;
    family1(p, "cw_journal_backlog_operations", "gauge",
            "Operations accepted into the journal and not yet applied to Chroma.", js->backlog_ops);
    family1(p, "cw_journal_backlog_bytes", "gauge",
            "Size of those operations, as counted against --journal-max-bytes.", js->backlog_bytes);
    family1(p, "cw_journal_max_bytes", "gauge", "The journal's limit (--journal-max-bytes).",
            js->max_bytes);
    cw_prom_head(p, "cw_journal_oldest_unapplied_seconds", "gauge",
                 "Age of the oldest operation not yet applied (0 when none).");
    double age = 0;
    if (js->oldest_ms > 0) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        int64_t now = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
        age = now > js->oldest_ms ? (double)(now - js->oldest_ms) / 1000.0 : 0;
    }
    cw_prom_line(p, "cw_journal_oldest_unapplied_seconds %.3f", age);
    family1(p, "cw_journal_dead_letters", "gauge",
            "Operations Chroma or the embedder refused for good, kept in the journal's "
            "dead-letter table (cluster-whisperer journal dead-letters).", js->dead_letters);
    family1(p, "cw_journal_appends_total", "counter", "Requests appended to the journal.",
            js->appends);
    family1(p, "cw_journal_group_commits_total", "counter",
            "Journal transactions (fsyncs) those appends took.", js->group_commits);
    cw_prom_head(p, "cw_journal_refusals_total", "counter",
                 "Requests the journal could not take (answered 503), by reason.");
    cw_prom_sample(p, "cw_journal_refusals_total", "reason=\"full\"", js->full_refusals);
    cw_prom_sample(p, "cw_journal_refusals_total", "reason=\"error\"", js->append_errors);
    cw_prom_head(p, "cw_apply_errors_total", "counter",
                 "Failed tries of the apply loop (retried), by kind of failure.");
    for (int code = CW_E_INVALID; code <= CW_E_NOMEM; code++) {
        char labels[64];
        snprintf(labels, sizeof labels, "kind=\"%s\"", cw_status_name((cw_status)code));
        cw_prom_sample(p, "cw_apply_errors_total", labels, st->apply_errors[code]);
    }
    cw_prom_head(p, "cw_chroma_writable", "gauge",
                 "1 while the apply loop's last Chroma write succeeded (or none failed), 0 while "
                 "Chroma refuses writes.");
    cw_prom_sample(p, "cw_chroma_writable", "", st->write_failing ? 0 : 1);
}

static int cmp_slot(const void *a, const void *b)
{
    return strcmp((*(const cluster_slot *const *)a)->name, (*(const cluster_slot *const *)b)->name);
}

/* The per-cluster families: "" (none) and "other" when they counted
 * anything, the named clusters sorted by name (a stable page). */
static void render_clusters(cw_prom *p, cw_http_metrics *m)
{
    static const struct { const char *name, *help; } FAMS[3] = {
        { "cw_sync_cluster_requests_total",
          "Valid sync requests received, by the cluster they named (\"\" none; \"other\" past the "
          "first 64 names)." },
        { "cw_sync_cluster_upserts_received_total", "Upserts in those requests, by cluster." },
        { "cw_sync_cluster_deletes_received_total", "Deletes in those requests, by cluster." },
    };
    size_t n = atomic_load_explicit(&m->n_clusters, memory_order_acquire);
    cluster_slot *order[CW_HTTP_METRICS_MAX_CLUSTERS];
    for (size_t i = 0; i < n; i++)
        order[i] = &m->clusters[i];
    qsort(order, n, sizeof *order, cmp_slot);
    char labels[96];
    for (int f = 0; f < 3; f++) {
        cw_prom_head(p, FAMS[f].name, "counter", FAMS[f].help);
        for (size_t i = 0; i < n + 2; i++) {
            cluster_slot *c = i == 0 ? &m->no_cluster : i == n + 1 ? &m->other_cluster : order[i - 1];
            const char *name = i == 0 ? "" : i == n + 1 ? "other" : c->name;
            _Atomic uint64_t *v = f == 0 ? &c->syncs : f == 1 ? &c->upserts : &c->deletes;
            uint64_t value = load(v);
            if ((i == 0 || i == n + 1) && load(&c->syncs) == 0)
                continue;
            snprintf(labels, sizeof labels, "cluster=\"%s\"", name);
            cw_prom_sample(p, FAMS[f].name, labels, value);
        }
    }
    family1(p, "cw_sync_cluster_label_values", "gauge",
            "Cluster names with series of their own (at most 64; the rest count as \"other\").",
            (uint64_t)n);
}

char *cw_http_metrics_render(cw_http_metrics *m, size_t in_flight, cw_pipeline *pipeline)
{
    cw_prom p;
    cw_prom_init(&p);
    char labels[64];

    cw_prom_head(&p, "cw_http_requests_total", "counter",
                 "HTTP requests answered, by route and status code.");
    for (int r = 0; r < CW_ROUTE_COUNT; r++) {
        for (size_t c = 0; c <= N_CODES; c++) {
            uint64_t v = load(&m->requests[r][c]);
            if (v == 0)
                continue;
            if (c < N_CODES)
                snprintf(labels, sizeof labels, "route=\"%s\",code=\"%u\"",
                         cw_http_route_name((cw_http_route)r), CODES[c]);
            else
                snprintf(labels, sizeof labels, "route=\"%s\",code=\"other\"",
                         cw_http_route_name((cw_http_route)r));
            cw_prom_sample(&p, "cw_http_requests_total", labels, v);
        }
    }
    cw_prom_head(&p, "cw_http_request_duration_seconds", "histogram",
                 "Time from a request's headers to its answer, by route.");
    for (int r = 0; r < CW_ROUTE_COUNT; r++) {
        snprintf(labels, sizeof labels, "route=\"%s\"", cw_http_route_name((cw_http_route)r));
        cw_prom_hist(&p, "cw_http_request_duration_seconds", labels, &m->duration[r]);
    }
    cw_prom_head(&p, "cw_http_protections_total", "counter",
                 "Requests and connections refused or cut by the HTTP protections, by reason.");
    for (int g = 0; g < CW_GUARD_COUNT; g++) {
        snprintf(labels, sizeof labels, "reason=\"%s\"", GUARD_LABELS[g]);
        cw_prom_sample(&p, "cw_http_protections_total", labels, load(&m->guards[g]));
    }

    cw_prom_head(&p, "cw_http_requests_in_flight", "gauge",
                 "Requests received and not yet answered.");
    cw_prom_line(&p, "cw_http_requests_in_flight %zu", in_flight);
    cw_prom_head(&p, "cw_http_request_body_bytes", "histogram",
                 "Size of received sync request bodies.");
    cw_prom_hist(&p, "cw_http_request_body_bytes", "", &m->body);
    cw_prom_head(&p, "cw_sync_upserts_received_total", "counter",
                 "Upserts in valid sync payloads received.");
    cw_prom_sample(&p, "cw_sync_upserts_received_total", "", load(&m->upserts));
    cw_prom_head(&p, "cw_sync_deletes_received_total", "counter",
                 "Deletes in valid sync payloads received.");
    cw_prom_sample(&p, "cw_sync_deletes_received_total", "", load(&m->deletes));

    /* the order of cw_search_mode */
    static const char *const RANKINGS[3] = { "hybrid", "vector", "lexical" };
    cw_prom_head(&p, "cw_search_queries_total", "counter",
                 "Searches answered (GET|POST /api/v1/instances/search), by ranking.");
    for (int i = 0; i < 3; i++) {
        snprintf(labels, sizeof labels, "ranking=\"%s\"", RANKINGS[i]);
        cw_prom_sample(&p, "cw_search_queries_total", labels, load(&m->searches[i]));
    }
    cw_prom_head(&p, "cw_search_results_returned_total", "counter",
                 "Results those searches returned.");
    cw_prom_sample(&p, "cw_search_results_returned_total", "", load(&m->search_results));

    if (pipeline != NULL) {
        cw_pipeline_stats st;
        cw_pipeline_stats_get(pipeline, &st);
        cw_prom_head(&p, "cw_pipeline_queue_depth", "gauge",
                     "Requests queued in the pipeline, waiting for a batch.");
        cw_prom_line(&p, "cw_pipeline_queue_depth %zu", st.queue_depth);
        cw_prom_head(&p, "cw_pipeline_vectors_reused_total", "counter",
                     "Upserts whose stored vector was reused (same id and text) instead of embedded.");
        cw_prom_sample(&p, "cw_pipeline_vectors_reused_total", "", st.embed_reused);
        cw_prom_head(&p, "cw_pipeline_upserts_unchanged_total", "counter",
                     "Upserts not written because Chroma already held the same document and metadata.");
        cw_prom_sample(&p, "cw_pipeline_upserts_unchanged_total", "", st.upserts_unchanged);
        if (st.journaled)
            render_journal(&p, &st);
    }
    cw_metrics_render(&p);
    render_clusters(&p, m);
    return cw_prom_take(&p);
}

void cw_http_handle_metrics(cw_http_answer *a, cw_http_metrics *m, size_t in_flight,
                            cw_pipeline *pipeline)
{
    cw_http_answer_json(a, 200, cw_http_metrics_render(m, in_flight, pipeline));
    if (a->status == 200)
        a->content_type = CW_HTTP_CT_PROMETHEUS;
}
