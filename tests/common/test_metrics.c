/* cw_metrics: histogram buckets, the Prometheus text writer (exact lines,
 * bounds in seconds without trailing zeros, growth past the first buffer)
 * and the process-wide registry rendered exactly after known calls. */
#include <string.h>

#include "cw_metrics.h"
#include "cw_test.h"

static char *render_hist(const char *name, const char *labels, const cw_hist *h)
{
    cw_prom p;
    cw_prom_init(&p);
    cw_prom_hist(&p, name, labels, h);
    return cw_prom_take(&p);
}

static void test_hist(void)
{
    static const uint64_t bounds[] = { 1, 5, 10 };
    cw_hist h;
    cw_hist_init(&h, bounds, 3, 1.0);
    cw_hist_observe(&h, 0);
    cw_hist_observe(&h, 1);     /* a bound is inside its bucket (le) */
    cw_hist_observe(&h, 2);
    cw_hist_observe(&h, 5);
    cw_hist_observe(&h, 11);    /* above the last bound: +Inf only */

    char *text = render_hist("h", "", &h);
    CU_ASSERT_PTR_NOT_NULL_FATAL(text);
    CU_ASSERT_STRING_EQUAL(text,
                           "h_bucket{le=\"1\"} 2\n"
                           "h_bucket{le=\"5\"} 4\n"
                           "h_bucket{le=\"10\"} 4\n"
                           "h_bucket{le=\"+Inf\"} 5\n"
                           "h_sum 19\n"
                           "h_count 5\n");
    free(text);

    text = render_hist("h", "op=\"get\"", &h);
    CU_ASSERT_PTR_NOT_NULL_FATAL(text);
    CU_ASSERT_STRING_EQUAL(text,
                           "h_bucket{op=\"get\",le=\"1\"} 2\n"
                           "h_bucket{op=\"get\",le=\"5\"} 4\n"
                           "h_bucket{op=\"get\",le=\"10\"} 4\n"
                           "h_bucket{op=\"get\",le=\"+Inf\"} 5\n"
                           "h_sum{op=\"get\"} 19\n"
                           "h_count{op=\"get\"} 5\n");
    free(text);
}

static void test_hist_seconds(void)
{
    /* Microseconds rendered in seconds: 0.001, 0.0025, ..., 1, 60. */
    static const uint64_t bounds[] = { 1000, 2500, 1000000, 60000000 };
    cw_hist h;
    cw_hist_init(&h, bounds, 4, 1e-6);
    cw_hist_observe(&h, 1500);
    cw_hist_observe(&h, 250);
    char *text = render_hist("d", "", &h);
    CU_ASSERT_PTR_NOT_NULL_FATAL(text);
    CU_ASSERT_STRING_EQUAL(text,
                           "d_bucket{le=\"0.001\"} 1\n"
                           "d_bucket{le=\"0.0025\"} 2\n"
                           "d_bucket{le=\"1\"} 2\n"
                           "d_bucket{le=\"60\"} 2\n"
                           "d_bucket{le=\"+Inf\"} 2\n"
                           "d_sum 0.00175\n"
                           "d_count 2\n");
    free(text);

    /* More bounds than CW_HIST_MAX_BOUNDS are cut to the maximum. */
    static const uint64_t many[CW_HIST_MAX_BOUNDS + 4] = { 0 };
    cw_hist_init(&h, many, CW_HIST_MAX_BOUNDS + 4, 1.0);
    CU_ASSERT_EQUAL(h.n_bounds, CW_HIST_MAX_BOUNDS);
    CU_ASSERT_EQUAL(CW_HIST_LATENCY_N, 15);
}

static void test_writer(void)
{
    cw_prom p;
    cw_prom_init(&p);
    CU_ASSERT_PTR_NULL(cw_prom_take(&p));      /* nothing written: NULL */

    cw_prom_head(&p, "cw_x_total", "counter", "Things.");
    cw_prom_sample(&p, "cw_x_total", "", 3);
    cw_prom_sample(&p, "cw_x_total", "op=\"get\"", 18446744073709551615ULL);
    cw_prom_line(&p, "# %s", "end");
    char *text = cw_prom_take(&p);
    CU_ASSERT_PTR_NOT_NULL_FATAL(text);
    CU_ASSERT_STRING_EQUAL(text,
                           "# HELP cw_x_total Things.\n"
                           "# TYPE cw_x_total counter\n"
                           "cw_x_total 3\n"
                           "cw_x_total{op=\"get\"} 18446744073709551615\n"
                           "# end\n");
    free(text);
    CU_ASSERT_PTR_NULL(p.buf);                 /* take leaves the writer empty */
    CU_ASSERT_EQUAL(p.len, 0);

    /* Lines longer than the first buffer, many times over. */
    static char longline[10000];
    memset(longline, 'L', sizeof longline - 1);
    longline[sizeof longline - 1] = '\0';
    for (int i = 0; i < 3; i++)
        cw_prom_line(&p, "%s", longline);
    text = cw_prom_take(&p);
    CU_ASSERT_PTR_NOT_NULL_FATAL(text);
    CU_ASSERT_EQUAL(strlen(text), 3 * sizeof longline);
    CU_ASSERT_EQUAL(text[sizeof longline - 1], '\n');
    CU_ASSERT_EQUAL(text[3 * sizeof longline - 1], '\n');
    free(text);
}

static size_t count_lines(const char *s)
{
    size_t n = 0;
    for (; *s != '\0'; s++)
        n += *s == '\n';
    return n;
}

static void expect_block(const char *text, const char *block)
{
    CU_ASSERT_PTR_NOT_NULL(strstr(text, block));
    if (strstr(text, block) == NULL)
        fprintf(stderr, "missing from the registry's text:\n%s", block);
}

static void test_registry(void)
{
    /* This process is the registry's only user: everything starts at 0. */
    cw_metrics_embed_call(3, 1500, 0);
    cw_metrics_embed_call(2, 2000000, 1);
    cw_metrics_embed_call(1, -5, 0);                  /* a clock step back counts as 0 */
    cw_metrics_chroma_call("get", 700, 0);
    cw_metrics_chroma_call("upsert", 30000, 1);
    cw_metrics_chroma_call("compact", 100, 1);        /* unknown names: "other" */
    cw_metrics_chroma_call(NULL, 100, 0);
    cw_metrics_batch(7);
    cw_metrics_batch(1);

    cw_prom p;
    cw_prom_init(&p);
    cw_metrics_render(&p);
    char *text = cw_prom_take(&p);
    CU_ASSERT_PTR_NOT_NULL_FATAL(text);

    /* 7 families, each with its HELP and TYPE lines: 3 embedder counters
     * of one sample, the embedder's latency histogram (15 bounds + Inf +
     * sum + count = 18 lines), Chroma's, 18 lines for each of the 6 ops,
     * Chroma's errors (one sample per op), the batch histogram (12 bounds:
     * 15 lines). */
    CU_ASSERT_EQUAL(count_lines(text), 3 * 3 + (2 + 18) + (2 + 6 * 18) + (2 + 6) + (2 + 15));

    expect_block(text,
                 "# HELP cw_embed_calls_total Calls to the embedder (each of up to --batch-max texts).\n"
                 "# TYPE cw_embed_calls_total counter\n"
                 "cw_embed_calls_total 3\n"
                 "# HELP cw_embed_inputs_total Texts sent to the embedder.\n"
                 "# TYPE cw_embed_inputs_total counter\n"
                 "cw_embed_inputs_total 6\n"
                 "# HELP cw_embed_errors_total Embedder calls that failed (after the backend's own retries).\n"
                 "# TYPE cw_embed_errors_total counter\n"
                 "cw_embed_errors_total 1\n"
                 "# HELP cw_embed_call_duration_seconds Duration of embedder calls.\n"
                 "# TYPE cw_embed_call_duration_seconds histogram\n"
                 "cw_embed_call_duration_seconds_bucket{le=\"0.001\"} 1\n"
                 "cw_embed_call_duration_seconds_bucket{le=\"0.0025\"} 2\n"
                 "cw_embed_call_duration_seconds_bucket{le=\"0.005\"} 2\n"
                 "cw_embed_call_duration_seconds_bucket{le=\"0.01\"} 2\n"
                 "cw_embed_call_duration_seconds_bucket{le=\"0.025\"} 2\n"
                 "cw_embed_call_duration_seconds_bucket{le=\"0.05\"} 2\n"
                 "cw_embed_call_duration_seconds_bucket{le=\"0.1\"} 2\n"
                 "cw_embed_call_duration_seconds_bucket{le=\"0.25\"} 2\n"
                 "cw_embed_call_duration_seconds_bucket{le=\"0.5\"} 2\n"
                 "cw_embed_call_duration_seconds_bucket{le=\"1\"} 2\n"
                 "cw_embed_call_duration_seconds_bucket{le=\"2.5\"} 3\n"
                 "cw_embed_call_duration_seconds_bucket{le=\"5\"} 3\n"
                 "cw_embed_call_duration_seconds_bucket{le=\"10\"} 3\n"
                 "cw_embed_call_duration_seconds_bucket{le=\"25\"} 3\n"
                 "cw_embed_call_duration_seconds_bucket{le=\"60\"} 3\n"
                 "cw_embed_call_duration_seconds_bucket{le=\"+Inf\"} 3\n"
                 "cw_embed_call_duration_seconds_sum 2.0015\n"
                 "cw_embed_call_duration_seconds_count 3\n"
                 "# HELP cw_chroma_call_duration_seconds Duration of HTTP calls to Chroma, by operation.\n"
                 "# TYPE cw_chroma_call_duration_seconds histogram\n"
                 "cw_chroma_call_duration_seconds_bucket{op=\"upsert\",le=\"0.001\"} 0\n");
    expect_block(text,
                 "cw_chroma_call_duration_seconds_bucket{op=\"upsert\",le=\"0.025\"} 0\n"
                 "cw_chroma_call_duration_seconds_bucket{op=\"upsert\",le=\"0.05\"} 1\n");
    expect_block(text,
                 "cw_chroma_call_duration_seconds_sum{op=\"upsert\"} 0.03\n"
                 "cw_chroma_call_duration_seconds_count{op=\"upsert\"} 1\n"
                 "cw_chroma_call_duration_seconds_bucket{op=\"delete\",le=\"0.001\"} 0\n");
    expect_block(text,
                 "cw_chroma_call_duration_seconds_bucket{op=\"get\",le=\"0.001\"} 1\n");
    expect_block(text,
                 "cw_chroma_call_duration_seconds_sum{op=\"get\"} 0.0007\n"
                 "cw_chroma_call_duration_seconds_count{op=\"get\"} 1\n");
    expect_block(text,
                 "cw_chroma_call_duration_seconds_sum{op=\"heartbeat\"} 0\n"
                 "cw_chroma_call_duration_seconds_count{op=\"heartbeat\"} 0\n");
    expect_block(text,
                 "cw_chroma_call_duration_seconds_sum{op=\"other\"} 0.0002\n"
                 "cw_chroma_call_duration_seconds_count{op=\"other\"} 2\n"
                 "# HELP cw_chroma_errors_total HTTP calls to Chroma that got no answer or a non-2xx status, by operation.\n"
                 "# TYPE cw_chroma_errors_total counter\n"
                 "cw_chroma_errors_total{op=\"upsert\"} 1\n"
                 "cw_chroma_errors_total{op=\"delete\"} 0\n"
                 "cw_chroma_errors_total{op=\"get\"} 0\n"
                 "cw_chroma_errors_total{op=\"query\"} 0\n"
                 "cw_chroma_errors_total{op=\"heartbeat\"} 0\n"
                 "cw_chroma_errors_total{op=\"other\"} 1\n"
                 "# HELP cw_pipeline_batch_ops Operations (upserts and deletes, before coalescing) per pipeline batch.\n"
                 "# TYPE cw_pipeline_batch_ops histogram\n"
                 "cw_pipeline_batch_ops_bucket{le=\"1\"} 1\n"
                 "cw_pipeline_batch_ops_bucket{le=\"2\"} 1\n"
                 "cw_pipeline_batch_ops_bucket{le=\"5\"} 1\n"
                 "cw_pipeline_batch_ops_bucket{le=\"10\"} 2\n"
                 "cw_pipeline_batch_ops_bucket{le=\"25\"} 2\n"
                 "cw_pipeline_batch_ops_bucket{le=\"50\"} 2\n"
                 "cw_pipeline_batch_ops_bucket{le=\"100\"} 2\n"
                 "cw_pipeline_batch_ops_bucket{le=\"250\"} 2\n"
                 "cw_pipeline_batch_ops_bucket{le=\"500\"} 2\n"
                 "cw_pipeline_batch_ops_bucket{le=\"1000\"} 2\n"
                 "cw_pipeline_batch_ops_bucket{le=\"2500\"} 2\n"
                 "cw_pipeline_batch_ops_bucket{le=\"5000\"} 2\n"
                 "cw_pipeline_batch_ops_bucket{le=\"+Inf\"} 2\n"
                 "cw_pipeline_batch_ops_sum 8\n"
                 "cw_pipeline_batch_ops_count 2\n");
    /* ... and the batch histogram ends the text. */
    size_t len = strlen(text);
    static const char tail[] = "cw_pipeline_batch_ops_count 2\n";
    CU_ASSERT(len >= sizeof tail - 1 && strcmp(text + len - (sizeof tail - 1), tail) == 0);
    free(text);
}

int main(void)
{
    CU_TestInfo tests[] = {
        { "histogram: le buckets cumulative, +Inf, sum, count, labels", test_hist },
        { "histogram in seconds: bounds and sum without trailing zeros", test_hist_seconds },
        { "writer: HELP/TYPE, samples, growth, take empties it", test_writer },
        { "registry: every family rendered exactly after known calls", test_registry },
        CU_TEST_INFO_NULL,
    };
    return cw_test_run("common_metrics", tests);
}
