#include "metrics.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Status codes we answer; anything else is counted under "other". */
static const unsigned CODES[] = { 200, 400, 404, 405, 413, 415, 500, 503 };
#define N_CODES (sizeof CODES / sizeof CODES[0])

/* Upper bounds (bytes) of the body size histogram buckets; +Inf implied. */
static const size_t BODY_BUCKETS[] = { 1024, 16384, 131072, 1048576, 5242880 };
#define N_BUCKETS (sizeof BODY_BUCKETS / sizeof BODY_BUCKETS[0])

struct cw_http_metrics {
    pthread_mutex_t lock;   /* guards every field below */
    uint64_t requests[CW_ROUTE_COUNT][N_CODES + 1];   /* [..][N_CODES] = other */
    uint64_t body_buckets[N_BUCKETS];                 /* non-cumulative */
    uint64_t body_count;
    uint64_t body_sum;
};

cw_http_metrics *cw_http_metrics_create(void)
{
    cw_http_metrics *m = calloc(1, sizeof *m);
    if (m == NULL)
        return NULL;
    if (pthread_mutex_init(&m->lock, NULL) != 0) {
        free(m);
        return NULL;
    }
    return m;
}

void cw_http_metrics_destroy(cw_http_metrics *m)
{
    if (m == NULL)
        return;
    pthread_mutex_destroy(&m->lock);
    free(m);
}

static size_t code_index(unsigned status)
{
    for (size_t i = 0; i < N_CODES; i++)
        if (CODES[i] == status)
            return i;
    return N_CODES;
}

void cw_http_metrics_count(cw_http_metrics *m, cw_http_route route, unsigned status)
{
    if (m == NULL || route >= CW_ROUTE_COUNT)
        return;
    pthread_mutex_lock(&m->lock);
    m->requests[route][code_index(status)]++;
    pthread_mutex_unlock(&m->lock);
}

void cw_http_metrics_body(cw_http_metrics *m, size_t bytes)
{
    if (m == NULL)
        return;
    pthread_mutex_lock(&m->lock);
    for (size_t i = 0; i < N_BUCKETS; i++) {
        if (bytes <= BODY_BUCKETS[i]) {
            m->body_buckets[i]++;
            break;
        }
    }
    m->body_count++;
    m->body_sum += bytes;
    pthread_mutex_unlock(&m->lock);
}

/* A growing text buffer; `failed` sticks once an allocation fails. */
typedef struct text {
    char *buf;
    size_t len, cap;
    int failed;
} text;

static void println(text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void println(text *t, const char *fmt, ...)
{
    if (t->failed)
        return;
    for (;;) {
        size_t room = t->cap - t->len;
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(t->buf + t->len, room, fmt, ap);
        va_end(ap);
        if (n < 0) {
            t->failed = 1;
            return;
        }
        if ((size_t)n + 1 < room) {       /* fits with room for '\n' */
            t->len += (size_t)n;
            t->buf[t->len++] = '\n';
            t->buf[t->len] = '\0';
            return;
        }
        size_t cap = t->cap * 2 + (size_t)n + 2;
        char *nb = realloc(t->buf, cap);
        if (nb == NULL) {
            t->failed = 1;
            return;
        }
        t->buf = nb;
        t->cap = cap;
    }
}

static void counter(text *t, const char *name, const char *help, uint64_t v)
{
    println(t, "# HELP %s %s", name, help);
    println(t, "# TYPE %s counter", name);
    println(t, "%s %" PRIu64, name, v);
}

static void seconds_counter(text *t, const char *name, const char *help, uint64_t ms)
{
    println(t, "# HELP %s %s", name, help);
    println(t, "# TYPE %s counter", name);
    println(t, "%s %" PRIu64 ".%03" PRIu64, name, ms / 1000, ms % 1000);
}

char *cw_http_metrics_render(cw_http_metrics *m, size_t in_flight, cw_pipeline *pipeline)
{
    cw_http_metrics snap;
    pthread_mutex_lock(&m->lock);
    memcpy(snap.requests, m->requests, sizeof snap.requests);
    memcpy(snap.body_buckets, m->body_buckets, sizeof snap.body_buckets);
    snap.body_count = m->body_count;
    snap.body_sum = m->body_sum;
    pthread_mutex_unlock(&m->lock);

    text t = { NULL, 0, 0, 0 };
    t.cap = 4096;
    t.buf = malloc(t.cap);
    if (t.buf == NULL)
        return NULL;
    t.buf[0] = '\0';

    println(&t, "# HELP cw_http_requests_total HTTP requests answered, by route and status code.");
    println(&t, "# TYPE cw_http_requests_total counter");
    for (int r = 0; r < CW_ROUTE_COUNT; r++) {
        for (size_t c = 0; c <= N_CODES; c++) {
            if (snap.requests[r][c] == 0)
                continue;
            char code[16];
            if (c < N_CODES)
                snprintf(code, sizeof code, "%u", CODES[c]);
            else
                snprintf(code, sizeof code, "other");
            println(&t, "cw_http_requests_total{route=\"%s\",code=\"%s\"} %" PRIu64,
                    cw_http_route_name((cw_http_route)r), code, snap.requests[r][c]);
        }
    }
    println(&t, "# HELP cw_http_requests_in_flight Requests received and not yet answered.");
    println(&t, "# TYPE cw_http_requests_in_flight gauge");
    println(&t, "cw_http_requests_in_flight %zu", in_flight);

    println(&t, "# HELP cw_http_request_body_bytes Size of received sync request bodies.");
    println(&t, "# TYPE cw_http_request_body_bytes histogram");
    uint64_t cumulative = 0;
    for (size_t i = 0; i < N_BUCKETS; i++) {
        cumulative += snap.body_buckets[i];
        println(&t, "cw_http_request_body_bytes_bucket{le=\"%zu\"} %" PRIu64,
                BODY_BUCKETS[i], cumulative);
    }
    println(&t, "cw_http_request_body_bytes_bucket{le=\"+Inf\"} %" PRIu64, snap.body_count);
    println(&t, "cw_http_request_body_bytes_sum %" PRIu64, snap.body_sum);
    println(&t, "cw_http_request_body_bytes_count %" PRIu64, snap.body_count);

    if (pipeline != NULL) {
        cw_pipeline_stats st;
        memset(&st, 0, sizeof st);
        cw_pipeline_stats_get(pipeline, &st);
        println(&t, "# HELP cw_pipeline_queue_depth Requests queued in the pipeline.");
        println(&t, "# TYPE cw_pipeline_queue_depth gauge");
        println(&t, "cw_pipeline_queue_depth %zu", st.queue_depth);
        counter(&t, "cw_pipeline_batches_total", "Batches written.", st.batches);
        counter(&t, "cw_pipeline_batch_ops_total", "Operations over all batches.",
                st.batch_ops_total);
        counter(&t, "cw_embed_calls_total", "Calls to the embedder.", st.embed_calls);
        counter(&t, "cw_embed_inputs_total", "Texts sent to the embedder.", st.embed_inputs);
        counter(&t, "cw_embed_reused_total", "Texts whose stored vector was reused.",
                st.embed_reused);
        seconds_counter(&t, "cw_embed_seconds_total", "Time spent in embedder calls.",
                        st.embed_ms_total);
        counter(&t, "cw_store_calls_total", "Calls to the store (Chroma).", st.store_calls);
        seconds_counter(&t, "cw_store_seconds_total", "Time spent in store calls.",
                        st.store_ms_total);
    }
    if (t.failed) {
        free(t.buf);
        return NULL;
    }
    return t.buf;
}
