/* /metrics over real HTTP (the fixture's server, real Chroma behind the
 * fault proxy, the mock embedder): the page is valid Prometheus text
 * (format 0.0.4) line by line, and after a known sequence of requests the
 * counters moved by exactly the expected amounts. The same requests'
 * log lines are captured with cw_log's sink: one per request, none for
 * probes. */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "cw_log.h"
#include "cw_test.h"
#include "cw_time.h"
#include "http_fixture.h"

static fx F;

/* ---- a Prometheus text checker ------------------------------------------- */

#define MAX_SAMPLES 1024
#define MAX_FAMILIES 64

typedef struct sample {
    char key[320];               /* name{labels} exactly as written, or name */
    double v;
} sample;

typedef struct page {
    sample s[MAX_SAMPLES];
    size_t n;
    int problems;
} page;

typedef struct family {
    char name[128];
    char type[16];               /* "" until its TYPE line */
} family;

/* Histogram series being read: its family, labels without le, state. */
typedef struct series {
    char family[128];
    char labels[256];            /* without le */
    double last_le;
    double last_count;
    int state;                   /* 0 buckets, 1 +Inf seen (want _sum), 2 _sum seen (want _count) */
    double inf_count;
} series;

static void problem(page *p, size_t line_no, const char *line, const char *why)
{
    p->problems++;
    fprintf(stderr, "\n  /metrics line %zu: %s: %s", line_no, why, line);
}

static int name_char(char c, int first)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':' ||
           (!first && c >= '0' && c <= '9');
}

/* Read a metric name at *s into out; advance. 0 ok. */
static int read_name(const char **s, char *out, size_t cap, int label)
{
    size_t k = 0;
    const char *q = *s;
    if (!name_char(*q, 1) || (label && *q == ':'))
        return -1;
    while (name_char(*q, 0) && !(label && *q == ':')) {
        if (k + 1 >= cap)
            return -1;
        out[k++] = *q++;
    }
    out[k] = '\0';
    *s = q;
    return 0;
}

static int ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && strcmp(s + a - b, suffix) == 0;
}

/* Parse {labels} at *s: checks syntax and duplicate names; copies the
 * label text without `le` into wo_le and le's value into le (or ""). */
static int read_labels(const char **s, char *wo_le, size_t cap, char *le, size_t le_cap)
{
    char names[16][64];
    size_t n_names = 0;
    const char *q = *s;
    wo_le[0] = '\0';
    le[0] = '\0';
    if (*q != '{')
        return 0;
    q++;
    while (*q != '}') {
        char name[64], value[256];
        size_t k = 0;
        if (read_name(&q, name, sizeof name, 1) != 0 || *q != '=' || q[1] != '"')
            return -1;
        q += 2;
        while (*q != '"') {
            if (*q == '\0' || *q == '\n' || k + 2 >= sizeof value)
                return -1;
            if (*q == '\\') {
                if (q[1] != '\\' && q[1] != '"' && q[1] != 'n')
                    return -1;
                value[k++] = *q++;
            }
            value[k++] = *q++;
        }
        value[k] = '\0';
        q++;
        for (size_t i = 0; i < n_names; i++)
            if (strcmp(names[i], name) == 0)
                return -1;                            /* duplicate label name */
        if (n_names < 16)
            memcpy(names[n_names++], name, sizeof name);
        if (strcmp(name, "le") == 0) {
            if (strlen(value) >= le_cap)
                return -1;
            memcpy(le, value, strlen(value) + 1);
        } else {
            size_t used = strlen(wo_le);
            if (used + strlen(name) + strlen(value) + 5 >= cap)
                return -1;
            if (used > 0)
                wo_le[used++] = ',';
            used += (size_t)sprintf(wo_le + used, "%s=\"", name);
            used += (size_t)sprintf(wo_le + used, "%s\"", value);
        }
        if (*q == ',')
            q++;
        else if (*q != '}')
            return -1;
    }
    *s = q + 1;
    return 0;
}

/* Check `text` line by line and keep its samples in `p`. */
static void check_page(const char *text, page *p)
{
    family fams[MAX_FAMILIES];
    size_t n_fams = 0;
    family *cur = NULL;
    series hs;
    memset(&hs, 0, sizeof hs);
    memset(p, 0, sizeof *p);

    size_t line_no = 0;
    const char *at = text;
    if (*at == '\0')
        problem(p, 0, "", "empty page");
    while (*at != '\0') {
        const char *nl = strchr(at, '\n');
        if (nl == NULL) {
            problem(p, line_no + 1, at, "last line lacks its newline");
            break;
        }
        char line[1024];
        size_t len = (size_t)(nl - at);
        if (len >= sizeof line)
            len = sizeof line - 1;
        memcpy(line, at, len);
        line[len] = '\0';
        at = nl + 1;
        line_no++;

        if (strncmp(line, "# HELP ", 7) == 0 || strncmp(line, "# TYPE ", 7) == 0) {
            int help = line[2] == 'H';
            const char *q = line + 7;
            char name[128];
            if (read_name(&q, name, sizeof name, 0) != 0 || *q != ' ' || q[1] == '\0') {
                problem(p, line_no, line, "bad HELP/TYPE line");
                continue;
            }
            if (strncmp(name, "cw_", 3) != 0)
                problem(p, line_no, line, "family without the cw_ prefix");
            if (hs.state != 0)
                problem(p, line_no, line, "previous histogram series not finished");
            if (help) {
                for (size_t i = 0; i < n_fams; i++)
                    if (strcmp(fams[i].name, name) == 0)
                        problem(p, line_no, line, "family described twice");
                if (n_fams == MAX_FAMILIES) {
                    problem(p, line_no, line, "too many families");
                    continue;
                }
                cur = &fams[n_fams++];
                snprintf(cur->name, sizeof cur->name, "%s", name);
                cur->type[0] = '\0';
                memset(&hs, 0, sizeof hs);
            } else {
                const char *type = q + 1;
                if (cur == NULL || strcmp(cur->name, name) != 0 || cur->type[0] != '\0') {
                    problem(p, line_no, line, "TYPE not right after its family's HELP");
                    continue;
                }
                if (strcmp(type, "counter") != 0 && strcmp(type, "gauge") != 0 &&
                    strcmp(type, "histogram") != 0) {
                    problem(p, line_no, line, "unknown type");
                    continue;
                }
                snprintf(cur->type, sizeof cur->type, "%s", type);
                if (strcmp(type, "counter") == 0 && !ends_with(name, "_total"))
                    problem(p, line_no, line, "counter name without _total");
                if (strcmp(type, "counter") != 0 && ends_with(name, "_total"))
                    problem(p, line_no, line, "_total on a non-counter");
                if (strstr(name, "duration") != NULL && !ends_with(name, "_seconds"))
                    problem(p, line_no, line, "a duration not in _seconds");
            }
            continue;
        }
        if (line[0] == '#' || line[0] == '\0') {
            problem(p, line_no, line, "comment or blank line");
            continue;
        }

        /* a sample */
        const char *q = line;
        char name[128], wo_le[256], le[64];
        if (read_name(&q, name, sizeof name, 0) != 0 ||
            read_labels(&q, wo_le, sizeof wo_le, le, sizeof le) != 0 || *q != ' ') {
            problem(p, line_no, line, "bad sample syntax");
            continue;
        }
        q++;
        char *end = NULL;
        double v = strtod(q, &end);
        if (end == q || *end != '\0') {
            problem(p, line_no, line, "bad value (or a timestamp)");
            continue;
        }
        if (cur == NULL || cur->type[0] == '\0') {
            problem(p, line_no, line, "sample before its family's HELP and TYPE");
            continue;
        }
        if (strcmp(cur->type, "histogram") == 0) {
            char base[128];
            snprintf(base, sizeof base, "%s", name);
            const char *kind = NULL;
            if (ends_with(base, "_bucket"))
                kind = "_bucket";
            else if (ends_with(base, "_sum"))
                kind = "_sum";
            else if (ends_with(base, "_count"))
                kind = "_count";
            if (kind != NULL)
                base[strlen(base) - strlen(kind)] = '\0';
            if (kind == NULL || strcmp(base, cur->name) != 0) {
                problem(p, line_no, line, "sample not of the current histogram family");
                continue;
            }
            if (strcmp(kind, "_bucket") == 0) {
                if (le[0] == '\0') {
                    problem(p, line_no, line, "bucket without le");
                    continue;
                }
                double lev = strcmp(le, "+Inf") == 0 ? INFINITY : strtod(le, NULL);
                if (hs.state == 0 && hs.family[0] != '\0' && strcmp(hs.labels, wo_le) == 0) {
                    if (!(lev > hs.last_le))
                        problem(p, line_no, line, "le not ascending");
                    if (v < hs.last_count)
                        problem(p, line_no, line, "buckets not cumulative");
                } else {
                    if (hs.state != 0)
                        problem(p, line_no, line, "previous series lacks _sum/_count");
                    snprintf(hs.family, sizeof hs.family, "%s", cur->name);
                    snprintf(hs.labels, sizeof hs.labels, "%s", wo_le);
                    hs.state = 0;
                    hs.last_count = 0;
                    if (v < 0)
                        problem(p, line_no, line, "negative bucket");
                }
                hs.last_le = lev;
                hs.last_count = v;
                if (isinf(lev)) {
                    hs.state = 1;
                    hs.inf_count = v;
                }
            } else if (strcmp(kind, "_sum") == 0) {
                if (hs.state != 1 || strcmp(hs.labels, wo_le) != 0 || le[0] != '\0')
                    problem(p, line_no, line, "_sum not right after the +Inf bucket");
                if (v < 0)
                    problem(p, line_no, line, "negative sum");
                hs.state = 2;
            } else {
                if (hs.state != 2 || strcmp(hs.labels, wo_le) != 0 || le[0] != '\0')
                    problem(p, line_no, line, "_count not right after _sum");
                if (v != hs.inf_count)
                    problem(p, line_no, line, "_count differs from the +Inf bucket");
                hs.state = 0;
                hs.family[0] = '\0';
            }
        } else {
            if (strcmp(name, cur->name) != 0) {
                problem(p, line_no, line, "sample not of the current family");
                continue;
            }
            if (le[0] != '\0')
                problem(p, line_no, line, "le label outside a histogram");
            if (strcmp(cur->type, "counter") == 0 && (v < 0 || !isfinite(v)))
                problem(p, line_no, line, "counter not a non-negative number");
        }
        if (p->n < MAX_SAMPLES) {
            sample *s = &p->s[p->n++];
            const char *brace = strchr(line, ' ');
            size_t klen = (size_t)(brace - line);
            if (klen >= sizeof s->key)
                klen = sizeof s->key - 1;
            memcpy(s->key, line, klen);
            s->key[klen] = '\0';
            s->v = v;
        }
    }
    if (hs.state != 0)
        problem(p, line_no, "", "the last histogram series is unfinished");
}

/* The value of `key` (name{labels} as written); 0 when absent (a labelled
 * counter appears once it moved). Set *found when given. */
static double value_of(const page *p, const char *key, int *found)
{
    for (size_t i = 0; i < p->n; i++) {
        if (strcmp(p->s[i].key, key) == 0) {
            if (found != NULL)
                *found = 1;
            return p->s[i].v;
        }
    }
    if (found != NULL)
        *found = 0;
    return 0;
}

static void expect_delta(const page *a, const page *b, const char *key, double want)
{
    double got = value_of(b, key, NULL) - value_of(a, key, NULL);
    CU_ASSERT(fabs(got - want) < 1e-9);
    if (fabs(got - want) >= 1e-9)
        fprintf(stderr, "\n  %s moved by %g, want %g", key, got, want);
}

/* Scrape `base`/metrics, check the answer and the page; fill `p`. */
static void scrape(const char *base, page *p)
{
    char *u = fx_printf("%s/metrics", base);
    http_reply r;
    CU_ASSERT_EQUAL(http_request("GET", u, NULL, NULL, 0, 0, &r), 0);
    CU_ASSERT_EQUAL(r.status, 200);
    char ct[128];
    CU_ASSERT(http_reply_header(&r, "Content-Type", ct, sizeof ct) == 1);
    CU_ASSERT_STRING_EQUAL(ct, "text/plain; version=0.0.4; charset=utf-8");
    check_page(r.body, p);
    CU_ASSERT_EQUAL(p->problems, 0);
    http_reply_free(&r);
    free(u);
}

/* ---- the log lines, captured ---------------------------------------------- */

static pthread_mutex_t g_log_lock = PTHREAD_MUTEX_INITIALIZER;
static char g_log[65536];
static size_t g_log_len;

static void log_sink(void *ctx, const char *line, size_t len)
{
    (void)ctx;
    pthread_mutex_lock(&g_log_lock);
    if (g_log_len + len < sizeof g_log) {
        memcpy(g_log + g_log_len, line, len);
        g_log_len += len;
        g_log[g_log_len] = '\0';
    }
    pthread_mutex_unlock(&g_log_lock);
}

/* The captured records with their 25-byte time prefix removed (malloc'd),
 * then the capture is emptied. */
static char *take_log(void)
{
    pthread_mutex_lock(&g_log_lock);
    char *out = malloc(g_log_len + 1);
    size_t k = 0;
    for (const char *at = g_log; out != NULL && *at != '\0';) {
        const char *nl = strchr(at, '\n');
        size_t len = nl != NULL ? (size_t)(nl - at) + 1 : strlen(at);
        size_t skip = len > 25 ? 25 : len;     /* "2026-11-27T17:00:00.123Z " */
        memcpy(out + k, at + skip, len - skip);
        k += len - skip;
        at += len;
    }
    if (out != NULL)
        out[k] = '\0';
    g_log_len = 0;
    g_log[0] = '\0';
    pthread_mutex_unlock(&g_log_lock);
    return out;
}

/* Replace every "<digits>.<digit>ms" by "Nms" in place: durations vary. */
static void blank_durations(char *s)
{
    char *w = s;
    for (const char *r = s; *r != '\0';) {
        const char *q = r;
        while (*q >= '0' && *q <= '9')
            q++;
        if (q > r && q[0] == '.' && q[1] >= '0' && q[1] <= '9' && q[2] == 'm' && q[3] == 's' &&
            (r == s || r[-1] == ' ')) {
            *w++ = 'N';
            r = q + 2;
            continue;
        }
        *w++ = *r++;
    }
    *w = '\0';
}

/* ---- tests ----------------------------------------------------------------- */

static char *three_and_one(void)
{
    char *a = fx_instance("mx", "a"), *b = fx_instance("mx", "b"), *c = fx_instance("mx", "c");
    char *p = fx_printf("{\"upserts\":[%s,%s,%s],\"deletes\":[\"mx/apps/v1/Deployment/gone\"]}",
                        a, b, c);
    free(a);
    free(b);
    free(c);
    return p;
}

static void post(const char *body, long want_status)
{
    http_reply r;
    http_post_sync(F.base, body, &r);
    CU_ASSERT_EQUAL(r.status, want_status);
    if (r.status != want_status)
        fprintf(stderr, "\n  POST sync: got %ld %s\n", r.status, r.body);
    http_reply_free(&r);
}

static void get(const char *base, const char *path, long want_status)
{
    char *u = fx_printf("%s%s", base, path);
    http_reply r;
    http_request("GET", u, NULL, NULL, 0, 0, &r);
    CU_ASSERT_EQUAL(r.status, want_status);
    http_reply_free(&r);
    free(u);
}

static void test_format_and_exact_counts(void)
{
    fx_opts o;
    memset(&o, 0, sizeof o);
    o.with_admin = 1;
    CU_ASSERT_FATAL(fx_open(&F, &o) == 0);
    cw_log_set_sink(log_sink, NULL);
    free(take_log());

    page *s = calloc(5, sizeof *s);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    char *p = three_and_one();
    const double p_len = (double)strlen(p);

    /* 1. one sync of 3 upserts and 1 delete */
    scrape(F.base, &s[0]);
    post(p, 200);
    /* libmicrohttpd ends a request (in-flight -1) just after the client has
     * its answer: wait for that, so the gauge below is exactly the scrape */
    for (int i = 0; i < 200 && cw_http_server_in_flight(F.server) != 0; i++)
        cw_sleep_ms(10);
    scrape(F.base, &s[1]);
    expect_delta(&s[0], &s[1], "cw_http_requests_total{route=\"sync\",code=\"200\"}", 1);
    expect_delta(&s[0], &s[1], "cw_http_requests_total{route=\"metrics\",code=\"200\"}", 1);
    expect_delta(&s[0], &s[1], "cw_http_request_duration_seconds_count{route=\"sync\"}", 1);
    expect_delta(&s[0], &s[1], "cw_http_request_body_bytes_count", 1);
    expect_delta(&s[0], &s[1], "cw_http_request_body_bytes_sum", p_len);
    expect_delta(&s[0], &s[1], "cw_sync_upserts_received_total", 3);
    expect_delta(&s[0], &s[1], "cw_sync_deletes_received_total", 1);
    expect_delta(&s[0], &s[1], "cw_embed_calls_total", 1);
    expect_delta(&s[0], &s[1], "cw_embed_inputs_total", 3);
    expect_delta(&s[0], &s[1], "cw_embed_errors_total", 0);
    expect_delta(&s[0], &s[1], "cw_embed_call_duration_seconds_count", 1);
    expect_delta(&s[0], &s[1], "cw_pipeline_vectors_reused_total", 0);
    expect_delta(&s[0], &s[1], "cw_pipeline_upserts_unchanged_total", 0);
    expect_delta(&s[0], &s[1], "cw_pipeline_batch_ops_count", 1);
    expect_delta(&s[0], &s[1], "cw_pipeline_batch_ops_sum", 4);
    expect_delta(&s[0], &s[1], "cw_chroma_call_duration_seconds_count{op=\"get\"}", 1);
    expect_delta(&s[0], &s[1], "cw_chroma_call_duration_seconds_count{op=\"delete\"}", 1);
    expect_delta(&s[0], &s[1], "cw_chroma_call_duration_seconds_count{op=\"upsert\"}", 1);
    expect_delta(&s[0], &s[1], "cw_chroma_call_duration_seconds_count{op=\"heartbeat\"}", 0);
    expect_delta(&s[0], &s[1], "cw_chroma_errors_total{op=\"upsert\"}", 0);
    CU_ASSERT_EQUAL(value_of(&s[1], "cw_pipeline_queue_depth", NULL), 0);
    CU_ASSERT_EQUAL(value_of(&s[1], "cw_http_requests_in_flight", NULL), 1);   /* the scrape */

    /* 2. one 400, then the same payload again: its vectors are reused, and
     * Chroma already holds all three documents exactly: no upsert */
    post("{\"upserts\":[{\"id\":\"\"}]}", 400);
    post(p, 200);
    scrape(F.base, &s[2]);
    expect_delta(&s[1], &s[2], "cw_http_requests_total{route=\"sync\",code=\"400\"}", 1);
    expect_delta(&s[1], &s[2], "cw_http_requests_total{route=\"sync\",code=\"200\"}", 1);
    expect_delta(&s[1], &s[2], "cw_http_request_body_bytes_count", 2);
    expect_delta(&s[1], &s[2], "cw_sync_upserts_received_total", 3);
    expect_delta(&s[1], &s[2], "cw_sync_deletes_received_total", 1);
    expect_delta(&s[1], &s[2], "cw_pipeline_vectors_reused_total", 3);
    expect_delta(&s[1], &s[2], "cw_pipeline_upserts_unchanged_total", 3);
    expect_delta(&s[1], &s[2], "cw_embed_calls_total", 0);
    expect_delta(&s[1], &s[2], "cw_embed_inputs_total", 0);
    expect_delta(&s[1], &s[2], "cw_pipeline_batch_ops_count", 1);
    expect_delta(&s[1], &s[2], "cw_chroma_call_duration_seconds_count{op=\"get\"}", 1);
    expect_delta(&s[1], &s[2], "cw_chroma_call_duration_seconds_count{op=\"upsert\"}", 0);

    /* 3. the embedder fails (500 until reset): one failed call; then Chroma
     * refuses one upsert: one Chroma error */
    cw_mock_embedder_fail(F.mock, 500, -1, 0);
    char *d = fx_instance("mx", "d"), *e = fx_instance("mx", "e");
    char *pd = fx_printf("{\"upserts\":[%s]}", d), *pe = fx_printf("{\"upserts\":[%s]}", e);
    post(pd, 503);
    cw_mock_embedder_reset(F.mock);
    cw_fault_proxy_fail(F.proxy, "/upsert", 500, 1);
    post(pe, 503);
    scrape(F.base, &s[3]);
    expect_delta(&s[2], &s[3], "cw_http_requests_total{route=\"sync\",code=\"503\"}", 2);
    expect_delta(&s[2], &s[3], "cw_embed_calls_total", 2);
    expect_delta(&s[2], &s[3], "cw_embed_inputs_total", 2);
    expect_delta(&s[2], &s[3], "cw_embed_errors_total", 1);
    expect_delta(&s[2], &s[3], "cw_chroma_call_duration_seconds_count{op=\"get\"}", 2);
    expect_delta(&s[2], &s[3], "cw_chroma_call_duration_seconds_count{op=\"upsert\"}", 1);
    expect_delta(&s[2], &s[3], "cw_chroma_errors_total{op=\"upsert\"}", 1);
    expect_delta(&s[2], &s[3], "cw_chroma_errors_total{op=\"get\"}", 0);

    /* 4. probes on both listeners; readyz makes one heartbeat */
    get(F.admin, "/readyz", 200);
    get(F.base, "/healthz", 200);
    get(F.base, "/nope", 404);
    scrape(F.admin, &s[4]);
    expect_delta(&s[3], &s[4], "cw_chroma_call_duration_seconds_count{op=\"heartbeat\"}", 1);
    expect_delta(&s[3], &s[4], "cw_http_requests_total{route=\"readyz\",code=\"200\"}", 1);
    expect_delta(&s[3], &s[4], "cw_http_requests_total{route=\"healthz\",code=\"200\"}", 1);
    expect_delta(&s[3], &s[4], "cw_http_requests_total{route=\"other\",code=\"404\"}", 1);
    expect_delta(&s[3], &s[4], "cw_http_requests_total{route=\"metrics\",code=\"200\"}", 1);
    expect_delta(&s[3], &s[4], "cw_http_requests_total{route=\"sync\",code=\"200\"}", 0);

    /* One line per request, probes and scrapes silent. */
    char *log = take_log();
    CU_ASSERT_PTR_NOT_NULL_FATAL(log);
    blank_durations(log);
    const char *want_prefix =
        "info  POST /api/v1/instances/sync 200 Nms upserts=3 deletes=1 embed_calls=1\n"
        "info  POST /api/v1/instances/sync 400 Nms: invalid payload: [\"upserts\",0,\"id\"] empty: "
        "must not be empty (and 6 more); told client 400\n"
        "info  POST /api/v1/instances/sync 200 Nms upserts=3 deletes=1 embed_calls=0\n"
        "warn  POST /api/v1/instances/sync 503 Nms upserts=1 deletes=0 embed_calls=1: "
        "unavailable: ";
    CU_ASSERT_EQUAL(strncmp(log, want_prefix, strlen(want_prefix)), 0);
    if (strncmp(log, want_prefix, strlen(want_prefix)) != 0)
        fprintf(stderr, "\n  log:\n%s\n  want it to start with:\n%s\n", log, want_prefix);
    const char *l4 = strstr(log, "warn  POST /api/v1/instances/sync 503 ");
    const char *l5 = l4 != NULL ? strstr(l4 + 1, "\nwarn  POST /api/v1/instances/sync 503 ") : NULL;
    CU_ASSERT_PTR_NOT_NULL_FATAL(l5);
    CU_ASSERT_PTR_NOT_NULL(strstr(l4, "; told client 503, Retry-After: "));
    CU_ASSERT_PTR_NOT_NULL(strstr(l5, "upserts=1 deletes=0 embed_calls=1: unavailable: chroma upsert"));
    const char *tail = strchr(l5 + 1, '\n');
    CU_ASSERT_PTR_NOT_NULL_FATAL(tail);
    CU_ASSERT_STRING_EQUAL(tail + 1,
                           "info  GET /nope 404 Nms: no route for GET /nope; told client 404\n");
    CU_ASSERT_PTR_NULL(strstr(log, "/metrics"));
    CU_ASSERT_PTR_NULL(strstr(log, "/healthz"));
    CU_ASSERT_PTR_NULL(strstr(log, "/readyz"));
    free(log);

    cw_log_set_sink(NULL, NULL);
    free(d);
    free(e);
    free(pd);
    free(pe);
    free(p);
    free(s);
    fx_close(&F);
}

static void test_checker_catches_bad_pages(void)
{
    /* The checker must fail on what it is there to catch. */
    static const char *const bad[] = {
        "cw_x_total 1\n",                                                       /* no HELP/TYPE */
        "# HELP cw_x_total x\n# TYPE cw_x_total counter\ncw_x_total -1\n",     /* negative counter */
        "# HELP cw_x x\n# TYPE cw_x counter\ncw_x 1\n",                         /* counter without _total */
        "# HELP cw_h h\n# TYPE cw_h histogram\ncw_h_bucket{le=\"1\"} 2\n"
        "cw_h_bucket{le=\"2\"} 1\ncw_h_bucket{le=\"+Inf\"} 2\ncw_h_sum 1\ncw_h_count 2\n",  /* not cumulative */
        "# HELP cw_h h\n# TYPE cw_h histogram\ncw_h_bucket{le=\"1\"} 1\ncw_h_sum 1\ncw_h_count 1\n", /* no +Inf */
        "# HELP cw_h h\n# TYPE cw_h histogram\ncw_h_bucket{le=\"+Inf\"} 1\ncw_h_sum 1\ncw_h_count 2\n", /* count */
        "# HELP cw_g g\n# TYPE cw_g gauge\ncw_g{a=\"1\",a=\"2\"} 1\n",          /* duplicate label */
        "# HELP cw_g g\n# TYPE cw_g gauge\ncw_g{a=1} 1\n",                      /* unquoted */
        "# HELP cw_g g\n# TYPE cw_g gauge\ncw_g 1 123\n",                       /* timestamp */
        "# HELP cw_g g\n# TYPE cw_g gauge\ncw_g 1",                             /* no newline */
        "# HELP x_g g\n# TYPE x_g gauge\nx_g 1\n",                              /* no prefix */
    };
    page *p = calloc(1, sizeof *p);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    fprintf(stderr, "\n  (the checker reports each bad page below; that is expected)");
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        check_page(bad[i], p);
        CU_ASSERT(p->problems > 0);
        if (p->problems == 0)
            fprintf(stderr, "\n  checker accepted bad page %zu", i);
    }
    check_page("# HELP cw_h h\n# TYPE cw_h histogram\ncw_h_bucket{op=\"a\",le=\"1\"} 1\n"
               "cw_h_bucket{op=\"a\",le=\"+Inf\"} 2\ncw_h_sum{op=\"a\"} 3.5\ncw_h_count{op=\"a\"} 2\n"
               "# HELP cw_x_total x\n# TYPE cw_x_total counter\ncw_x_total{k=\"v\\\"q\"} 0\n", p);
    CU_ASSERT_EQUAL(p->problems, 0);
    CU_ASSERT_EQUAL(p->n, 5);
    CU_ASSERT_EQUAL(value_of(p, "cw_h_sum{op=\"a\"}", NULL), 3.5);
    free(p);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_ALL);
    CU_TestInfo tests[] = {
        { "the checker catches bad pages", test_checker_catches_bad_pages },
        { "format line by line, exact counter moves, one log line per request",
          test_format_and_exact_counts },
        CU_TEST_INFO_NULL,
    };
    int rc = cw_test_run("metrics", tests);
    curl_global_cleanup();
    return rc;
}
