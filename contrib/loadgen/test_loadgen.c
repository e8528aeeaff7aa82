/* test_loadgen — cw-loadgen's payloads and retry schedule.
 *
 * The payloads must be what the controller sends and what the server
 * accepts: they parse with the generated parser, every id is unique and is
 * `namespace/apiVersion/Kind/name` of its own fields, createdAt is
 * `YYYY-MM-DDTHH:MM:SSZ`, Go nil slices/maps appear as null. The backoff
 * is 1 s doubling to 30 s with bounded jitter. The tools' flags take
 * exactly the numbers in their range and leave the value alone otherwise. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backoff.h"
#include "cw_test.h"
#include "lg_cli.h"
#include "payload.h"
#include "sync_payload.h"

static int parse(const char *body, size_t len, cw_sync_payload *p)
{
    cw_issues issues;
    cw_issues_init(&issues);
    int rc = cw_sync_payload_parse(body, len, p, &issues);
    if (rc != 0) {
        char *j = cw_issues_to_json(&issues);
        fprintf(stderr, "refused: %s\n", j ? j : "?");
        free(j);
    }
    return rc;
}

static int is_cluster_kind(const char *kind)
{
    return strcmp(kind, "Namespace") == 0 || strcmp(kind, "Node") == 0 ||
           strcmp(kind, "CustomResourceDefinition") == 0;
}

/* createdAt as the controller's time.Format("2006-01-02T15:04:05Z"). */
static int controller_time(const char *s)
{
    static const char shape[] = "dddd-dd-ddTdd:dd:ddZ";
    if (strlen(s) != sizeof shape - 1)
        return 0;
    for (size_t i = 0; shape[i] != '\0'; i++) {
        if (shape[i] == 'd' ? !(s[i] >= '0' && s[i] <= '9') : s[i] != shape[i])
            return 0;
    }
    return 1;
}

static void test_upserts_parse_with_the_generated_parser(void)
{
    static const size_t sizes[] = { 1, 50, 100 };
    for (size_t k = 0; k < 3; k++) {
        size_t len = 0;
        char *body = lg_payload_upserts("t1", 3, 1000, sizes[k], &len);
        CU_ASSERT_PTR_NOT_NULL_FATAL(body);
        CU_ASSERT_EQUAL(len, strlen(body));
        CU_ASSERT_PTR_NOT_NULL(strstr(body, "\"deletes\":null"));
        cw_sync_payload p;
        CU_ASSERT_EQUAL_FATAL(parse(body, len, &p), 0);
        CU_ASSERT_EQUAL(p.upserts.len, sizes[k]);
        CU_ASSERT_EQUAL(p.deletes.len, 0);
        for (size_t i = 0; i < p.upserts.len; i++) {
            const cw_resource_instance *in = &p.upserts.items[i];
            char id[4096];
            snprintf(id, sizeof id, "%s/%s/%s/%s", in->namespace, in->api_version, in->kind, in->name);
            CU_ASSERT_STRING_EQUAL(in->id, id);
            CU_ASSERT_TRUE(controller_time(in->created_at));
            CU_ASSERT_EQUAL(strcmp(in->namespace, "_cluster") == 0, is_cluster_kind(in->kind));
            /* core group: apiVersion "v1", apiGroup "" */
            CU_ASSERT_EQUAL(strcmp(in->api_version, "v1") == 0, in->api_group[0] == '\0');
            char *one = lg_instance_id("t1", 3, 1000 + i);
            CU_ASSERT_STRING_EQUAL(one, in->id);
            free(one);
        }
        cw_sync_payload_free(&p);
        free(body);
    }
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* What the fan-in sends: 8 clients x 20 requests x 50, plus an initial
 * sync of 5,000 under another run: 13,000 distinct ids. */
static void test_ids_are_unique_across_clients_requests_and_runs(void)
{
    enum { CLIENTS = 8, REQUESTS = 20, B = 50, SYNC = 5000, TOTAL = CLIENTS * REQUESTS * B + SYNC };
    char **ids = calloc(TOTAL, sizeof *ids);
    CU_ASSERT_PTR_NOT_NULL_FATAL(ids);
    size_t n = 0;
    for (unsigned c = 0; c < CLIENTS; c++) {
        for (unsigned long r = 0; r < REQUESTS; r++) {
            size_t len = 0;
            char *body = lg_payload_upserts("runa", c, r * B, B, &len);
            cw_sync_payload p;
            CU_ASSERT_PTR_NOT_NULL_FATAL(body);
            CU_ASSERT_EQUAL_FATAL(parse(body, len, &p), 0);
            for (size_t i = 0; i < p.upserts.len; i++)
                ids[n++] = strdup(p.upserts.items[i].id);
            cw_sync_payload_free(&p);
            free(body);
        }
    }
    for (unsigned long s = 0; s < SYNC; s++)
        ids[n++] = lg_instance_id("runb", 0, s);
    CU_ASSERT_EQUAL_FATAL(n, TOTAL);
    qsort(ids, n, sizeof *ids, cmp_str);
    size_t dups = 0;
    for (size_t i = 1; i < n; i++)
        dups += strcmp(ids[i - 1], ids[i]) == 0;
    CU_ASSERT_EQUAL(dups, 0);
    for (size_t i = 0; i < n; i++)
        free(ids[i]);
    free(ids);
}

/* A 1000-instance body has the controller's variety: several kinds,
 * cluster-scoped ones, nil label and annotation maps, descriptions. */
static void test_payloads_look_like_a_cluster(void)
{
    size_t len = 0;
    char *body = lg_payload_upserts("mix", 0, 0, 1000, &len);
    CU_ASSERT_PTR_NOT_NULL_FATAL(body);
    CU_ASSERT_PTR_NOT_NULL(strstr(body, "\"labels\":null"));
    CU_ASSERT_PTR_NOT_NULL(strstr(body, "\"annotations\":null"));
    cw_sync_payload p;
    CU_ASSERT_EQUAL_FATAL(parse(body, len, &p), 0);
    const char *kinds[16] = { 0 };
    size_t n_kinds = 0, cluster = 0, described = 0, labelled = 0;
    for (size_t i = 0; i < p.upserts.len; i++) {
        const cw_resource_instance *in = &p.upserts.items[i];
        size_t k = 0;
        while (k < n_kinds && strcmp(kinds[k], in->kind) != 0)
            k++;
        if (k == n_kinds && n_kinds < 16)
            kinds[n_kinds++] = in->kind;
        cluster += strcmp(in->namespace, "_cluster") == 0;
        labelled += in->labels.len > 0;
        if (in->annotations.len == 1 && strcmp(in->annotations.items[0].key, "description") == 0 &&
            strlen(in->annotations.items[0].value) > 40)
            described++;
    }
    CU_ASSERT_EQUAL(n_kinds, 10);
    CU_ASSERT_TRUE(cluster > 50 && cluster < 400);
    CU_ASSERT_TRUE(labelled > 700 && labelled < 1000);
    CU_ASSERT_TRUE(described > 700 && described < 1000);
    cw_sync_payload_free(&p);
    free(body);
}

/* The same (run, client, seq) gives the same bytes: an initial sync re-sent
 * unchanged is really unchanged. Another run gives other ids. */
static void test_payloads_are_deterministic(void)
{
    char *a = lg_payload_upserts("same", 0, 100, 50, NULL);
    char *b = lg_payload_upserts("same", 0, 100, 50, NULL);
    char *c = lg_payload_upserts("other", 0, 100, 50, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(a);
    CU_ASSERT_PTR_NOT_NULL_FATAL(b);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    CU_ASSERT_STRING_EQUAL(a, b);
    CU_ASSERT_STRING_NOT_EQUAL(a, c);
    free(a);
    free(b);
    free(c);
}

/* A delete is what the controller sends: "upserts":null and one id, the id
 * of the instance the same triple upserts. */
static void test_delete_payload_is_one_id_with_null_upserts(void)
{
    size_t len = 0;
    char *body = lg_payload_delete("del", 5, 7, &len);
    CU_ASSERT_PTR_NOT_NULL_FATAL(body);
    CU_ASSERT_EQUAL(strncmp(body, "{\"upserts\":null,\"deletes\":[\"", 28), 0);
    cw_sync_payload p;
    CU_ASSERT_EQUAL_FATAL(parse(body, len, &p), 0);
    CU_ASSERT_EQUAL(p.upserts.len, 0);
    CU_ASSERT_EQUAL_FATAL(p.deletes.len, 1);
    char *up = lg_payload_upserts("del", 5, 7, 1, &len);
    cw_sync_payload q;
    CU_ASSERT_PTR_NOT_NULL_FATAL(up);
    CU_ASSERT_EQUAL_FATAL(parse(up, len, &q), 0);
    CU_ASSERT_STRING_EQUAL(p.deletes.items[0], q.upserts.items[0].id);
    cw_sync_payload_free(&q);
    cw_sync_payload_free(&p);
    free(up);
    free(body);
}

static void test_bad_run_tokens_are_refused(void)
{
    CU_ASSERT_PTR_NULL(lg_payload_upserts("", 0, 0, 1, NULL));
    CU_ASSERT_PTR_NULL(lg_payload_upserts("Upper", 0, 0, 1, NULL));
    CU_ASSERT_PTR_NULL(lg_payload_delete("a/b", 0, 0, NULL));
    CU_ASSERT_PTR_NULL(lg_instance_id("\"q", 0, 0));
    CU_ASSERT_PTR_NULL(lg_instance_id("123456789012345678901234567890123", 0, 0)); /* 33 */
    CU_ASSERT_TRUE(lg_run_valid("12345678901234567890123456789012"));             /* 32 */
}

static void test_backoff_without_jitter_doubles_to_the_cap(void)
{
    lg_backoff b = { 1000, 30000, 0.0 };
    unsigned seed = 1;
    static const long want[] = { 1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000 };
    for (unsigned r = 0; r < 8; r++)
        CU_ASSERT_EQUAL(lg_backoff_wait_ms(&b, r, &seed), want[r]);
    /* a huge retry number neither overflows nor passes the cap */
    CU_ASSERT_EQUAL(lg_backoff_wait_ms(&b, 4000000000u, &seed), 30000);
}

static void test_backoff_jitter_stays_in_bounds_and_varies(void)
{
    lg_backoff b = { 1000, 30000, 0.5 };
    static const long base[] = { 1000, 2000, 4000, 8000, 16000, 30000 };
    for (unsigned r = 0; r < 6; r++) {
        long lo = 1000000, hi = 0;
        unsigned seed = 42 + r;
        for (int i = 0; i < 2000; i++) {
            long w = lg_backoff_wait_ms(&b, r, &seed);
            lo = w < lo ? w : lo;
            hi = w > hi ? w : hi;
        }
        long cap = base[r] * 5 / 4 < 30000 ? base[r] * 5 / 4 : 30000;
        CU_ASSERT_TRUE(lo >= base[r] * 3 / 4);
        CU_ASSERT_TRUE(hi <= cap);
        /* 2,000 draws spread over most of the window */
        CU_ASSERT_TRUE(hi - lo > (cap - base[r] * 3 / 4) * 8 / 10);
    }
}

static void test_flags_take_exactly_their_range(void)
{
    long v = 7;
    CU_ASSERT_EQUAL(lg_flag_long("t", "--n", "1", 1, 10, &v), 0);
    CU_ASSERT_EQUAL(v, 1);
    CU_ASSERT_EQUAL(lg_flag_long("t", "--n", "10", 1, 10, &v), 0);
    CU_ASSERT_EQUAL(v, 10);
    static const char *const bad_long[] = { "0", "11", "", "5x", "x5", "1.5",
                                            "99999999999999999999999" };
    for (size_t i = 0; i < sizeof bad_long / sizeof bad_long[0]; i++) {
        CU_ASSERT_EQUAL(lg_flag_long("t", "--n", bad_long[i], 1, 10, &v), -1);
        CU_ASSERT_EQUAL(v, 10);
    }
    double d = 0.25;
    CU_ASSERT_EQUAL(lg_flag_double("t", "--f", "0.5", 0, 1, &d), 0);
    CU_ASSERT_DOUBLE_EQUAL(d, 0.5, 0);
    static const char *const bad_double[] = { "1.01", "-0.1", "", "nan", "0.5s" };
    for (size_t i = 0; i < sizeof bad_double / sizeof bad_double[0]; i++) {
        CU_ASSERT_EQUAL(lg_flag_double("t", "--f", bad_double[i], 0, 1, &d), -1);
        CU_ASSERT_DOUBLE_EQUAL(d, 0.5, 0);
    }
    char run[LG_RUN_MAX + 1] = "before";
    CU_ASSERT_EQUAL(lg_flag_run("t", "UPPER", run), -1);
    CU_ASSERT_STRING_EQUAL(run, "before");
    CU_ASSERT_EQUAL(lg_flag_run("t", "abc123", run), 0);
    CU_ASSERT_STRING_EQUAL(run, "abc123");
    lg_run_default(run);
    CU_ASSERT_TRUE(lg_run_valid(run));
}

int main(void)
{
    CU_TestInfo tests[] = {
        { "upserts parse with the generated parser", test_upserts_parse_with_the_generated_parser },
        { "ids are unique across clients, requests and runs", test_ids_are_unique_across_clients_requests_and_runs },
        { "payloads look like a cluster", test_payloads_look_like_a_cluster },
        { "payloads are deterministic", test_payloads_are_deterministic },
        { "delete payload is one id with null upserts", test_delete_payload_is_one_id_with_null_upserts },
        { "bad run tokens are refused", test_bad_run_tokens_are_refused },
        { "backoff without jitter doubles to the cap", test_backoff_without_jitter_doubles_to_the_cap },
        { "backoff jitter stays in bounds and varies", test_backoff_jitter_stays_in_bounds_and_varies },
        { "flags take exactly their range", test_flags_take_exactly_their_range },
        CU_TEST_INFO_NULL,
    };
    return cw_test_run("loadgen", tests);
}
