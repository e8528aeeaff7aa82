/* cw_metrics — see cw_metrics.h. */
#include "cw_metrics.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const uint64_t CW_HIST_LATENCY_US[] = {
    1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000, 500000,
    1000000, 2500000, 5000000, 10000000, 25000000, 60000000,
};
const size_t CW_HIST_LATENCY_N = sizeof CW_HIST_LATENCY_US / sizeof CW_HIST_LATENCY_US[0];

/* Operations per pipeline batch. */
static const uint64_t BATCH_OPS[] = { 1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000 };
#define N_BATCH_OPS (sizeof BATCH_OPS / sizeof BATCH_OPS[0])

/* ---- histograms ----------------------------------------------------------- */

void cw_hist_init(cw_hist *h, const uint64_t *bounds, size_t n_bounds, double scale)
{
    if (n_bounds > CW_HIST_MAX_BOUNDS)
        n_bounds = CW_HIST_MAX_BOUNDS;
    h->bounds = bounds;
    h->n_bounds = n_bounds;
    h->scale = scale;
    for (size_t i = 0; i <= CW_HIST_MAX_BOUNDS; i++)
        atomic_init(&h->counts[i], 0);
    atomic_init(&h->sum, 0);
}

void cw_hist_observe(cw_hist *h, uint64_t v)
{
    size_t i = 0;
    while (i < h->n_bounds && v > h->bounds[i])
        i++;
    atomic_fetch_add_explicit(&h->counts[i], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&h->sum, v, memory_order_relaxed);
}

/* ---- the Prometheus text writer -------------------------------------------- */

void cw_prom_init(cw_prom *p)
{
    memset(p, 0, sizeof *p);
}

static void prom_vline(cw_prom *p, const char *fmt, va_list ap)
{
    if (p->failed)
        return;
    for (;;) {
        size_t room = p->cap - p->len;
        va_list aq;
        va_copy(aq, ap);
        int n = vsnprintf(p->buf != NULL ? p->buf + p->len : NULL, room, fmt, aq);
        va_end(aq);
        if (n < 0) {
            p->failed = 1;
            return;
        }
        if ((size_t)n + 1 < room) {           /* fits, with room for '\n' */
            p->len += (size_t)n;
            p->buf[p->len++] = '\n';
            p->buf[p->len] = '\0';
            return;
        }
        size_t cap = p->cap * 2 + (size_t)n + 4096;
        char *nb = realloc(p->buf, cap);
        if (nb == NULL) {
            p->failed = 1;
            return;
        }
        p->buf = nb;
        p->cap = cap;
    }
}

void cw_prom_line(cw_prom *p, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    prom_vline(p, fmt, ap);
    va_end(ap);
}

void cw_prom_head(cw_prom *p, const char *name, const char *type, const char *help)
{
    cw_prom_line(p, "# HELP %s %s", name, help);
    cw_prom_line(p, "# TYPE %s %s", name, type);
}

void cw_prom_sample(cw_prom *p, const char *name, const char *labels, uint64_t v)
{
    if (labels[0] != '\0')
        cw_prom_line(p, "%s{%s} %" PRIu64, name, labels, v);
    else
        cw_prom_line(p, "%s %" PRIu64, name, v);
}

/* A bound or sum in the rendered unit: integers as they are, scaled values
 * with up to 6 decimals and no trailing zeros. */
static void format_value(char *out, size_t cap, uint64_t v, double scale)
{
    if (scale == 1.0) {
        snprintf(out, cap, "%" PRIu64, v);
        return;
    }
    snprintf(out, cap, "%.6f", (double)v * scale);
    char *dot = strchr(out, '.');
    if (dot == NULL)
        return;
    char *end = out + strlen(out) - 1;
    while (end > dot && *end == '0')
        *end-- = '\0';
    if (end == dot)
        *end = '\0';
}

void cw_prom_hist(cw_prom *p, const char *name, const char *labels, const cw_hist *h)
{
    const char *sep = labels[0] != '\0' ? "," : "";
    uint64_t cumulative = 0;
    char le[32];
    for (size_t i = 0; i < h->n_bounds; i++) {
        cumulative += atomic_load_explicit(&h->counts[i], memory_order_relaxed);
        format_value(le, sizeof le, h->bounds[i], h->scale);
        cw_prom_line(p, "%s_bucket{%s%sle=\"%s\"} %" PRIu64, name, labels, sep, le, cumulative);
    }
    cumulative += atomic_load_explicit(&h->counts[h->n_bounds], memory_order_relaxed);
    cw_prom_line(p, "%s_bucket{%s%sle=\"+Inf\"} %" PRIu64, name, labels, sep, cumulative);
    char sum[48];
    format_value(sum, sizeof sum, atomic_load_explicit(&h->sum, memory_order_relaxed), h->scale);
    if (labels[0] != '\0') {
        cw_prom_line(p, "%s_sum{%s} %s", name, labels, sum);
        cw_prom_line(p, "%s_count{%s} %" PRIu64, name, labels, cumulative);
    } else {
        cw_prom_line(p, "%s_sum %s", name, sum);
        cw_prom_line(p, "%s_count %" PRIu64, name, cumulative);
    }
}

char *cw_prom_take(cw_prom *p)
{
    char *text = p->buf;
    if (p->failed || text == NULL) {
        free(text);
        text = NULL;
    }
    cw_prom_init(p);
    return text;
}

/* ---- the process-wide registry --------------------------------------------- */

typedef enum chroma_op {
    OP_UPSERT, OP_DELETE, OP_GET, OP_QUERY, OP_HEARTBEAT, OP_OTHER, OP_COUNT
} chroma_op;

static const char *const OP_NAMES[OP_COUNT] = {
    "upsert", "delete", "get", "query", "heartbeat", "other",
};

#define LATENCY_HIST { .bounds = CW_HIST_LATENCY_US, .n_bounds = 15, .scale = 1e-6 }

/* Every field is atomic; nothing here needs a lock. Zero at start. */
static struct {
    _Atomic uint64_t embed_calls, embed_inputs, embed_errors;
    cw_hist embed_latency;
    cw_hist chroma_latency[OP_COUNT];
    _Atomic uint64_t chroma_errors[OP_COUNT];
    cw_hist batch_ops;
} g = {
    .embed_latency = LATENCY_HIST,
    .chroma_latency = { LATENCY_HIST, LATENCY_HIST, LATENCY_HIST, LATENCY_HIST, LATENCY_HIST,
                        LATENCY_HIST },
    .batch_ops = { .bounds = BATCH_OPS, .n_bounds = N_BATCH_OPS, .scale = 1.0 },
};

_Static_assert(sizeof CW_HIST_LATENCY_US / sizeof CW_HIST_LATENCY_US[0] == 15,
               "LATENCY_HIST names 15 bounds");

static uint64_t elapsed(int64_t us)
{
    return us > 0 ? (uint64_t)us : 0;
}

void cw_metrics_embed_call(size_t inputs, int64_t us, int failed)
{
    atomic_fetch_add_explicit(&g.embed_calls, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&g.embed_inputs, inputs, memory_order_relaxed);
    if (failed)
        atomic_fetch_add_explicit(&g.embed_errors, 1, memory_order_relaxed);
    cw_hist_observe(&g.embed_latency, elapsed(us));
}

void cw_metrics_chroma_call(const char *what, int64_t us, int failed)
{
    chroma_op op = OP_OTHER;
    for (int i = 0; i < OP_OTHER; i++) {
        if (what != NULL && strcmp(what, OP_NAMES[i]) == 0) {
            op = (chroma_op)i;
            break;
        }
    }
    if (failed)
        atomic_fetch_add_explicit(&g.chroma_errors[op], 1, memory_order_relaxed);
    cw_hist_observe(&g.chroma_latency[op], elapsed(us));
}

void cw_metrics_batch(size_t ops)
{
    cw_hist_observe(&g.batch_ops, ops);
}

static uint64_t load(_Atomic uint64_t *v)
{
    return atomic_load_explicit(v, memory_order_relaxed);
}

void cw_metrics_render(cw_prom *p)
{
    char labels[32];

    cw_prom_head(p, "cw_embed_calls_total", "counter", "Calls to the embedder (each of up to --batch-max texts).");
    cw_prom_sample(p, "cw_embed_calls_total", "", load(&g.embed_calls));
    cw_prom_head(p, "cw_embed_inputs_total", "counter", "Texts sent to the embedder.");
    cw_prom_sample(p, "cw_embed_inputs_total", "", load(&g.embed_inputs));
    cw_prom_head(p, "cw_embed_errors_total", "counter", "Embedder calls that failed (after the backend's own retries).");
    cw_prom_sample(p, "cw_embed_errors_total", "", load(&g.embed_errors));
    cw_prom_head(p, "cw_embed_call_duration_seconds", "histogram", "Duration of embedder calls.");
    cw_prom_hist(p, "cw_embed_call_duration_seconds", "", &g.embed_latency);

    cw_prom_head(p, "cw_chroma_call_duration_seconds", "histogram",
                 "Duration of HTTP calls to Chroma, by operation.");
    for (int i = 0; i < OP_COUNT; i++) {
        snprintf(labels, sizeof labels, "op=\"%s\"", OP_NAMES[i]);
        cw_prom_hist(p, "cw_chroma_call_duration_seconds", labels, &g.chroma_latency[i]);
    }
    cw_prom_head(p, "cw_chroma_errors_total", "counter",
                 "HTTP calls to Chroma that got no answer or a non-2xx status, by operation.");
    for (int i = 0; i < OP_COUNT; i++) {
        snprintf(labels, sizeof labels, "op=\"%s\"", OP_NAMES[i]);
        cw_prom_sample(p, "cw_chroma_errors_total", labels, load(&g.chroma_errors[i]));
    }

    cw_prom_head(p, "cw_pipeline_batch_ops", "histogram",
                 "Operations (upserts and deletes, before coalescing) per pipeline batch.");
    cw_prom_hist(p, "cw_pipeline_batch_ops", "", &g.batch_ops);
}
