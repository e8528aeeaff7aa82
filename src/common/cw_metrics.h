/* cw_metrics — what /metrics is made of:
 *   - cw_hist: a histogram any thread observes without a lock (C11 atomics,
 *     relaxed: each bucket, count and sum is exact; a scrape is not one
 *     snapshot across them, as with every Prometheus client);
 *   - cw_prom: the Prometheus text writer (exposition format 0.0.4): a
 *     growing buffer, HELP/TYPE heads, counter and histogram samples;
 *   - the process-wide registry of what the dependencies cost: embedder
 *     calls (inputs, latency, errors), Chroma calls by operation (latency,
 *     errors), and the pipeline's batch sizes.
 *
 * Why a process-wide registry: embedder and Chroma calls are made from
 * several places (the pipeline's workers, /readyz, startup checks, search);
 * each records itself where it happens with one call below, and /metrics
 * renders them all, as a Prometheus client's default registry does. Tests
 * compare two scrapes. Recording is a few relaxed atomic adds: no lock, no
 * allocation, safe from any thread at any time (also before main's setup).
 */
#ifndef CW_METRICS_H
#define CW_METRICS_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

/* ---- histograms ----------------------------------------------------------- */

#define CW_HIST_MAX_BOUNDS 16

/* Latency buckets in microseconds, rendered in seconds:
 * 1 ms 2.5 ms 5 ms 10 ms 25 ms 50 ms 100 ms 250 ms 500 ms 1 s 2.5 s 5 s 10 s 25 s 60 s. */
extern const uint64_t CW_HIST_LATENCY_US[];
extern const size_t CW_HIST_LATENCY_N;

typedef struct cw_hist {
    const uint64_t *bounds;   /* upper bounds in observed units, ascending; static */
    size_t n_bounds;          /* ≤ CW_HIST_MAX_BOUNDS */
    double scale;             /* rendered value = observed * scale (µs → s: 1e-6; 1: as is) */
    _Atomic uint64_t counts[CW_HIST_MAX_BOUNDS + 1];   /* per bucket; [n_bounds]: above the last */
    _Atomic uint64_t sum;     /* of observed values */
} cw_hist;

/* Set the bounds and zero the counts (not thread-safe: before use). */
void cw_hist_init(cw_hist *h, const uint64_t *bounds, size_t n_bounds, double scale);

/* Count one value (observed units). Thread-safe, lock-free. */
void cw_hist_observe(cw_hist *h, uint64_t v);

/* ---- the Prometheus text writer -------------------------------------------- */

typedef struct cw_prom {
    char *buf;
    size_t len, cap;
    int failed;               /* sticks once an allocation failed */
} cw_prom;

void cw_prom_init(cw_prom *p);

/* Append one line (a '\n' is added). */
void cw_prom_line(cw_prom *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The "# HELP name help" and "# TYPE name type" lines of a family. */
void cw_prom_head(cw_prom *p, const char *name, const char *type, const char *help);

/* One sample "name{labels} v"; `labels` is "" or e.g. `op="get"`. */
void cw_prom_sample(cw_prom *p, const char *name, const char *labels, uint64_t v);

/* A histogram's samples: name_bucket{labels,le="..."} (cumulative, the
 * last le="+Inf"), name_sum{labels}, name_count{labels}. */
void cw_prom_hist(cw_prom *p, const char *name, const char *labels, const cw_hist *h);

/* The text (malloc'd, the caller frees), or NULL (and freed) when an
 * allocation failed. Leaves `p` empty. */
char *cw_prom_take(cw_prom *p);

/* ---- the process-wide registry --------------------------------------------- */

/* One call to the embedder (cw_embedder_embed) of `inputs` texts that took
 * `us` microseconds; `failed` when it returned an error. */
void cw_metrics_embed_call(size_t inputs, int64_t us, int failed);

/* One HTTP call to Chroma named `what` by the client ("upsert", "delete",
 * "get", "query", "heartbeat"; anything else counts as "other"), taking
 * `us` microseconds; `failed` when no answer came or it was not 2xx. */
void cw_metrics_chroma_call(const char *what, int64_t us, int failed);

/* One batch of `ops` operations (before coalescing) taken by the pipeline. */
void cw_metrics_batch(size_t ops);

/* Append the registry's families: cw_embed_calls_total,
 * cw_embed_inputs_total, cw_embed_errors_total,
 * cw_embed_call_duration_seconds, cw_chroma_call_duration_seconds{op},
 * cw_chroma_errors_total{op}, cw_pipeline_batch_ops. */
void cw_metrics_render(cw_prom *p);

#endif
