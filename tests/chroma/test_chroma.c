/* Integration tests of cw_chroma and the Chroma-backed cw_store against the
 * real Chroma started by the ctest `chroma` fixture (CW_TEST_CHROMA_URL_FILE).
 * Every test uses its own collection t_chroma_<pid>_<n> and deletes it.
 * Effects are checked by reading Chroma back (count/get/query). */
#include <curl/curl.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "chroma.h"
#include "chroma_json.h"
#include "fake_chroma.h"
#include "cw_test.h"

static char *g_url;
static int g_seq;

/* A client on a fresh collection name; `name_out` (may be NULL) gets the name. */
static cw_chroma *client_named(const char *url, const char *name, const char *database)
{
    cw_error err = { 0 };
    cw_chroma_config cfg = { .url = url, .collection = name, .database = database };
    cw_chroma *c = cw_chroma_create(&cfg, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    CU_ASSERT_EQUAL(err.code, CW_OK);
    return c;
}

static cw_chroma *new_client(char *name, size_t cap)
{
    snprintf(name, cap, "t_chroma_%d_%d", (int)getpid(), ++g_seq);
    return client_named(g_url, name, NULL);
}

/* Delete the test's collection and free the client. */
static void finish(cw_chroma *c)
{
    cw_error err = { 0 };
    CU_ASSERT_EQUAL(cw_chroma_delete_collection(c, &err), 0);
    CU_ASSERT_EQUAL(err.code, CW_OK);
    cw_chroma_destroy(c);
}

static char *xdup(const char *s)
{
    char *d = strdup(s);
    CU_ASSERT_PTR_NOT_NULL_FATAL(d);
    return d;
}

static cw_document mkdoc(const char *ns, const char *kind, const char *name, const char *labels)
{
    char id[256], text[512];
    snprintf(id, sizeof(id), "%s/apps/v1/%s/%s", ns, kind, name);
    snprintf(text, sizeof(text), "%s %s | namespace: %s | apiVersion: apps/v1%s%s", kind, name, ns,
             labels[0] != '\0' ? " | labels: " : "", labels);
    cw_document d = {
        .id = xdup(id), .text = xdup(text), .namespace = xdup(ns), .name = xdup(name),
        .kind = xdup(kind), .api_version = xdup("apps/v1"), .api_group = xdup("apps"),
        .labels = xdup(labels),
    };
    return d;
}

static void free_docs(cw_document *docs, size_t n)
{
    for (size_t i = 0; i < n; i++)
        cw_document_clear(&docs[i]);
}

static size_t count_of(cw_chroma *c)
{
    cw_error err = { 0 };
    size_t n = 12345;
    CU_ASSERT_EQUAL(cw_chroma_count(c, &n, &err), 0);
    CU_ASSERT_EQUAL(err.code, CW_OK);
    return n;
}

static const cw_chroma_record *find_record(const cw_chroma_records *r, const char *id)
{
    for (size_t i = 0; i < r->len; i++)
        if (strcmp(r->items[i].id, id) == 0)
            return &r->items[i];
    return NULL;
}

/* A cosine collection keeps the vector normalized and scales it back on
 * get, so values come back within a few float roundings of what was sent
 * (not bit for bit): compare relative to the vector's norm. */
static int same_vector(const float *got, const float *want, size_t dim)
{
    double norm = 0;
    for (size_t j = 0; j < dim; j++)
        norm += (double)want[j] * want[j];
    norm = sqrt(norm);
    for (size_t j = 0; j < dim; j++) {
        if (fabs((double)got[j] - want[j]) > 1e-6 * norm) {
            fprintf(stderr, "value %zu: got %.9g, want %.9g\n", j, got[j], want[j]);
            return 0;
        }
    }
    return 1;
}

static void assert_record_is(const cw_chroma_record *rec, const cw_document *d, const float *vec,
                             size_t dim)
{
    CU_ASSERT_PTR_NOT_NULL_FATAL(rec);
    CU_ASSERT_STRING_EQUAL(rec->id, d->id);
    CU_ASSERT_PTR_NOT_NULL_FATAL(rec->document);
    CU_ASSERT_STRING_EQUAL(rec->document, d->text);
    CU_ASSERT_PTR_NOT_NULL_FATAL(rec->namespace);
    CU_ASSERT_PTR_NOT_NULL_FATAL(rec->name);
    CU_ASSERT_PTR_NOT_NULL_FATAL(rec->kind);
    CU_ASSERT_PTR_NOT_NULL_FATAL(rec->api_version);
    CU_ASSERT_PTR_NOT_NULL_FATAL(rec->api_group);
    CU_ASSERT_PTR_NOT_NULL_FATAL(rec->labels);
    CU_ASSERT_PTR_NOT_NULL_FATAL(rec->source);
    CU_ASSERT_STRING_EQUAL(rec->namespace, d->namespace);
    CU_ASSERT_STRING_EQUAL(rec->name, d->name);
    CU_ASSERT_STRING_EQUAL(rec->kind, d->kind);
    CU_ASSERT_STRING_EQUAL(rec->api_version, d->api_version);
    CU_ASSERT_STRING_EQUAL(rec->api_group, d->api_group);
    CU_ASSERT_STRING_EQUAL(rec->labels, d->labels);
    CU_ASSERT_STRING_EQUAL(rec->source, "resource-sync");
    if (vec != NULL) {
        CU_ASSERT_PTR_NOT_NULL_FATAL(rec->embedding);
        CU_ASSERT(same_vector(rec->embedding, vec, dim));
    }
}

/* ---- request bodies (no server needed) ---------------------------------- */

static void test_json_upsert_body_exact(void)
{
    cw_error err = { 0 };
    cw_document d = mkdoc("default", "Deployment", "nginx", "app=nginx");
    float v[4] = { 0.1f, 1.0f / 3.0f, -1e-8f, 3.4028235e38f };
    char *body = cw_chroma_json_upsert(&d, v, 1, 4, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(body);
    CU_ASSERT_STRING_EQUAL(body,
        "{\"ids\":[\"default/apps/v1/Deployment/nginx\"],"
        "\"embeddings\":[[0.100000001,0.333333343,-9.99999994e-09,3.40282347e+38]],"
        "\"documents\":[\"Deployment nginx | namespace: default | apiVersion: apps/v1 | labels: app=nginx\"],"
        "\"metadatas\":[{\"namespace\":\"default\",\"name\":\"nginx\",\"kind\":\"Deployment\","
        "\"apiVersion\":\"apps/v1\",\"apiGroup\":\"apps\",\"labels\":\"app=nginx\","
        "\"source\":\"resource-sync\"}]}");
    /* Every printed value reads back as the same float. */
    const char *p = strstr(body, "[[") + 2;
    for (size_t j = 0; j < 4; j++) {
        char *end = NULL;
        CU_ASSERT_EQUAL(strtof(p, &end), v[j]);
        p = end + 1;
    }
    free(body);
    cw_document_clear(&d);
    CU_ASSERT_EQUAL(err.code, CW_OK);
}

static void test_json_other_bodies_exact(void)
{
    cw_error err = { 0 };
    char *b = cw_chroma_json_create_collection("instances", &err);
    CU_ASSERT_STRING_EQUAL(b, "{\"name\":\"instances\",\"get_or_create\":true,"
                              "\"configuration\":{\"hnsw\":{\"space\":\"cosine\"}},"
                              "\"metadata\":{\"hnsw:space\":\"cosine\"}}");
    free(b);
    const char *ids[2] = { "a/v1/Pod/x", "b\"q" };
    b = cw_chroma_json_ids(ids, 2, &err);
    CU_ASSERT_STRING_EQUAL(b, "{\"ids\":[\"a/v1/Pod/x\",\"b\\\"q\"]}");
    free(b);
    b = cw_chroma_json_get(ids, 1, 1, &err);
    CU_ASSERT_STRING_EQUAL(b, "{\"ids\":[\"a/v1/Pod/x\"],"
                              "\"include\":[\"documents\",\"metadatas\",\"embeddings\"]}");
    free(b);
    float q[2] = { 0.5f, -1 };
    b = cw_chroma_json_query(q, 2, 7, "Pod", "web", &err);
    CU_ASSERT_STRING_EQUAL(b, "{\"query_embeddings\":[[0.5,-1]],\"n_results\":7,"
                              "\"include\":[\"documents\",\"metadatas\",\"distances\"],"
                              "\"where\":{\"$and\":[{\"kind\":\"Pod\"},{\"namespace\":\"web\"}]}}");
    free(b);
    b = cw_chroma_json_query(q, 2, 3, NULL, "web", &err);
    CU_ASSERT_STRING_EQUAL(b, "{\"query_embeddings\":[[0.5,-1]],\"n_results\":3,"
                              "\"include\":[\"documents\",\"metadatas\",\"distances\"],"
                              "\"where\":{\"namespace\":\"web\"}}");
    free(b);
    CU_ASSERT_EQUAL(err.code, CW_OK);
}

static void test_json_error_line(void)
{
    char line[64];
    const char *msg = NULL;
    cw_chroma_json_error_line("{\"error\":\"NotFoundError\",\"message\":\"Collection [x] does not exists\"}",
                              line, sizeof(line), &msg);
    CU_ASSERT_STRING_EQUAL(line, "NotFoundError: Collection [x] does not exists");
    CU_ASSERT_STRING_EQUAL(msg, "Collection [x] does not exists");
    cw_chroma_json_error_line("upstream broke\nsecond line", line, sizeof(line), &msg);
    CU_ASSERT_STRING_EQUAL(line, "upstream broke");
    cw_chroma_json_error_line("", line, sizeof(line), NULL);
    CU_ASSERT_STRING_EQUAL(line, "(empty body)");
    char tiny[8];
    cw_chroma_json_error_line("{\"error\":\"E\",\"message\":\"long message\"}", tiny, sizeof(tiny), NULL);
    CU_ASSERT_STRING_EQUAL(tiny, "E: long");
}

static void test_json_read_get_answers(void)
{
    cw_error err = { 0 };
    cw_chroma_records r = { 0 };
    CU_ASSERT_EQUAL(cw_chroma_json_read_get("{\"ids\":[\"a\",\"b\"],\"embeddings\":[[1.5,2],[null,null]],"
                                            "\"documents\":[\"ta\",null],\"metadatas\":[{\"kind\":\"K\"},null]}",
                                            &r, &err), 0);
    CU_ASSERT_EQUAL_FATAL(r.len, 2);
    CU_ASSERT_EQUAL(r.dim, 2);
    CU_ASSERT_STRING_EQUAL(r.items[0].document, "ta");
    CU_ASSERT_STRING_EQUAL(r.items[0].kind, "K");
    CU_ASSERT_PTR_NULL(r.items[0].namespace);
    CU_ASSERT_EQUAL(r.items[0].embedding[0], 1.5f);
    CU_ASSERT_EQUAL(r.items[0].embedding[1], 2.0f);
    CU_ASSERT_PTR_NULL(r.items[1].document);
    CU_ASSERT_PTR_NULL(r.items[1].embedding);
    cw_chroma_records_free(&r);
    CU_ASSERT_EQUAL(cw_chroma_json_read_get("{\"ids\":[\"a\",\"b\"],\"embeddings\":[[1],[1,2]]}", &r, &err), -1);
    CU_ASSERT_EQUAL(err.code, CW_E_INTERNAL);
    CU_ASSERT_STRING_EQUAL(err.msg, "chroma get: unexpected answer: embeddings of different lengths");
    CU_ASSERT_EQUAL(r.len, 0);
    CU_ASSERT_PTR_NULL(r.items);
    cw_error_clear(&err);
    CU_ASSERT_EQUAL(cw_chroma_json_read_get("<html>", &r, &err), -1);
    CU_ASSERT_EQUAL(err.code, CW_E_INTERNAL);
    CU_ASSERT_STRING_EQUAL(err.msg, "chroma get: unexpected answer: not JSON (unexpected character)");
    cw_error_clear(&err);
    CU_ASSERT_EQUAL(cw_chroma_json_read_get("{}", &r, &err), -1);
    CU_ASSERT_STRING_EQUAL(err.msg, "chroma get: unexpected answer: no \"ids\" array");
}

/* ---- heartbeat ------------------------------------------------------------ */

static void test_heartbeat_ok(void)
{
    cw_error err = { 0 };
    cw_chroma *c = client_named(g_url, "t_unused", NULL);
    CU_ASSERT_EQUAL(cw_chroma_heartbeat(c, 2000, &err), 0);
    CU_ASSERT_EQUAL(err.code, CW_OK);
    /* The handle is reused for a second probe. */
    CU_ASSERT_EQUAL(cw_chroma_heartbeat(c, 2000, &err), 0);
    cw_chroma_destroy(c);
}

static void test_heartbeat_dead_port(void)
{
    cw_error err = { 0 };
    cw_chroma *c = client_named("http://127.0.0.1:1/", "t_unused", NULL);
    CU_ASSERT_EQUAL(cw_chroma_heartbeat(c, 1000, &err), -1);
    CU_ASSERT_EQUAL(err.code, CW_E_UNAVAILABLE);
    CU_ASSERT_EQUAL(err.retry_after_s, 2);
    CU_ASSERT_STRING_EQUAL(err.msg, "chroma heartbeat: no answer from "
                                    "http://127.0.0.1:1/api/v2/heartbeat: Couldn't connect to server");
    cw_chroma_destroy(c);
}

static void test_dead_port_write_is_unavailable(void)
{
    cw_error err = { 0 };
    cw_chroma *c = client_named("http://127.0.0.1:1", "t_unused", NULL);
    cw_document d = mkdoc("default", "Deployment", "nginx", "");
    float v[2] = { 1, 0 };
    CU_ASSERT_EQUAL(cw_chroma_upsert(c, &d, v, 1, 2, &err), -1);
    CU_ASSERT_EQUAL(err.code, CW_E_UNAVAILABLE);
    CU_ASSERT_STRING_EQUAL(err.msg, "chroma pre-flight-checks: no answer from "
                                    "http://127.0.0.1:1/api/v2/pre-flight-checks: Couldn't connect to server");
    cw_document_clear(&d);
    cw_chroma_destroy(c);
}

static void test_create_without_url(void)
{
    cw_error err = { 0 };
    cw_chroma_config cfg = { 0 };
    CU_ASSERT_PTR_NULL(cw_chroma_create(&cfg, &err));
    CU_ASSERT_EQUAL(err.code, CW_E_CONFIG);
    CU_ASSERT_STRING_EQUAL(err.msg, "chroma: no URL configured");
    cw_chroma_destroy(NULL);
}

/* ---- collection ------------------------------------------------------------ */

static void test_ensure_collection_is_cosine(void)
{
    char name[64];
    cw_error err = { 0 };
    cw_chroma *c = new_client(name, sizeof(name));
    CU_ASSERT_STRING_EQUAL(cw_chroma_collection_name(c), name);
    CU_ASSERT_EQUAL(cw_chroma_ensure_collection(c, &err), 0);
    CU_ASSERT_EQUAL(err.code, CW_OK);
    CU_ASSERT(cw_chroma_max_batch(c) >= 1);
    CU_ASSERT_EQUAL(count_of(c), 0);
    size_t dim = 99;
    CU_ASSERT_EQUAL(cw_chroma_dimension(c, &dim, &err), 0);
    CU_ASSERT_EQUAL(dim, 0);

    cw_document d[2] = { mkdoc("default", "Deployment", "a", ""), mkdoc("default", "Deployment", "b", "") };
    float v[6] = { 1, 0, 0, 0, 2, 0 };
    CU_ASSERT_EQUAL(cw_chroma_upsert(c, d, v, 2, 3, &err), 0);
    float q[3] = { 1, 1, 0 };
    cw_chroma_hits hits = { 0 };
    CU_ASSERT_EQUAL(cw_chroma_query(c, q, 3, 5, NULL, NULL, &hits, &err), 0);
    CU_ASSERT_EQUAL_FATAL(hits.len, 2);
    /* Cosine: both at 45 degrees → 1 - cos 45° for both (l2 would say 1 and 2). */
    double want = 1.0 - sqrt(0.5);
    CU_ASSERT_DOUBLE_EQUAL(hits.items[0].distance, want, 1e-6);
    CU_ASSERT_DOUBLE_EQUAL(hits.items[1].distance, want, 1e-6);
    cw_chroma_hits_free(&hits);
    CU_ASSERT_EQUAL(cw_chroma_dimension(c, &dim, &err), 0);
    CU_ASSERT_EQUAL(dim, 3);
    free_docs(d, 2);
    finish(c);
}

static void test_ensure_twice_same_collection(void)
{
    char name[64];
    cw_error err = { 0 };
    cw_chroma *c = new_client(name, sizeof(name));
    cw_document d = mkdoc("default", "Service", "web", "app=web");
    float v[2] = { 0.5f, 0.25f };
    CU_ASSERT_EQUAL(cw_chroma_upsert(c, &d, v, 1, 2, &err), 0);   /* creates it lazily */
    CU_ASSERT_EQUAL(cw_chroma_ensure_collection(c, &err), 0);     /* gets the same one */
    CU_ASSERT_EQUAL(err.code, CW_OK);
    cw_chroma *other = client_named(g_url, name, NULL);
    CU_ASSERT_EQUAL(count_of(other), 1);
    cw_chroma_destroy(other);
    cw_document_clear(&d);
    finish(c);
}

static void test_bad_collection_name_is_config_error(void)
{
    cw_error err = { 0 };
    cw_chroma *c = client_named(g_url, "x1", NULL);
    CU_ASSERT_EQUAL(cw_chroma_ensure_collection(c, &err), -1);
    CU_ASSERT_EQUAL(err.code, CW_E_CONFIG);
    CU_ASSERT_STRING_EQUAL(err.msg,
                           "chroma: cannot get or create collection 'x1': HTTP 400: "
                           "InvalidArgumentError: Validation error: name: Expected a name containing "
                           "3-512 characters from [a-zA-Z0-9._-], starting and ending with a "
                           "character in [a-zA-Z0-9]. Got: x1");
    cw_chroma_destroy(c);
}

static void test_missing_database_is_config_error(void)
{
    cw_error err = { 0 };
    cw_chroma *c = client_named(g_url, "t_chroma_nodb", "no_such_db");
    CU_ASSERT_EQUAL(cw_chroma_ensure_collection(c, &err), -1);
    CU_ASSERT_EQUAL(err.code, CW_E_CONFIG);
    CU_ASSERT_STRING_EQUAL(err.msg, "chroma: cannot get or create collection 't_chroma_nodb': "
                                    "HTTP 400: InvalidArgumentError: Database [no_such_db] does not exist");
    cw_chroma_destroy(c);
}

static void test_delete_missing_collection_is_fine(void)
{
    char name[64];
    cw_error err = { 0 };
    cw_chroma *c = new_client(name, sizeof(name));
    CU_ASSERT_EQUAL(cw_chroma_delete_collection(c, &err), 0);
    CU_ASSERT_EQUAL(err.code, CW_OK);
    cw_chroma_destroy(c);
}

/* ---- records ------------------------------------------------------------- */

static void test_upsert_then_get_exact(void)
{
    char name[64];
    cw_error err = { 0 };
    cw_chroma *c = new_client(name, sizeof(name));
    cw_document d[3] = {
        mkdoc("default", "Deployment", "nginx", "app=nginx,tier=web"),
        mkdoc("_cluster", "Namespace", "kube-system", ""),
        mkdoc("db", "StatefulSet", "postgres \"main\" ü", "app=pg"),
    };
    /* Values that only survive a round trip when printed with 9 digits. */
    float v[12] = { 0.1f, 1.0f / 3.0f, -1e-8f, 123456.789f,
                    7.25f, -2.5f, 1.17549435e-38f, 0.0f,
                    -0.3f, 0.7f, 1e-3f, 42.0f };
    CU_ASSERT_EQUAL(cw_chroma_upsert(c, d, v, 3, 4, &err), 0);
    CU_ASSERT_EQUAL(err.code, CW_OK);
    CU_ASSERT_EQUAL(count_of(c), 3);

    const char *ids[4] = { d[2].id, "missing/v1/Pod/x", d[0].id, d[1].id };
    cw_chroma_records r = { 0 };
    CU_ASSERT_EQUAL_FATAL(cw_chroma_get(c, ids, 4, 1, &r, &err), 0);
    CU_ASSERT_EQUAL(r.len, 3);
    CU_ASSERT_EQUAL(r.dim, 4);
    for (size_t i = 0; i < 3; i++)
        assert_record_is(find_record(&r, d[i].id), &d[i], v + 4 * i, 4);
    CU_ASSERT_PTR_NULL(find_record(&r, "missing/v1/Pod/x"));
    cw_chroma_records_free(&r);
    CU_ASSERT_EQUAL(r.len, 0);
    CU_ASSERT_PTR_NULL(r.items);

    /* Without embeddings. */
    CU_ASSERT_EQUAL_FATAL(cw_chroma_get(c, ids, 1, 0, &r, &err), 0);
    CU_ASSERT_EQUAL_FATAL(r.len, 1);
    CU_ASSERT_EQUAL(r.dim, 0);
    CU_ASSERT_PTR_NULL(r.items[0].embedding);
    assert_record_is(&r.items[0], &d[2], NULL, 0);
    cw_chroma_records_free(&r);

    /* Nothing asked, nothing answered, no call needed. */
    CU_ASSERT_EQUAL(cw_chroma_get(c, ids, 0, 1, &r, &err), 0);
    CU_ASSERT_EQUAL(r.len, 0);
    free_docs(d, 3);
    finish(c);
}

static void test_upsert_same_id_replaces(void)
{
    char name[64];
    cw_error err = { 0 };
    cw_chroma *c = new_client(name, sizeof(name));
    cw_document a = mkdoc("default", "Deployment", "api", "v=1");
    cw_document b = mkdoc("default", "Deployment", "api", "v=2");
    free(b.text);
    b.text = xdup("Deployment api | namespace: default | apiVersion: apps/v1 | labels: v=2 | new");
    float va[3] = { 1, 2, 3 }, vb[3] = { -3, 0.5f, 9 };
    CU_ASSERT_EQUAL(cw_chroma_upsert(c, &a, va, 1, 3, &err), 0);
    CU_ASSERT_EQUAL(cw_chroma_upsert(c, &b, vb, 1, 3, &err), 0);
    CU_ASSERT_EQUAL(err.code, CW_OK);
    CU_ASSERT_EQUAL(count_of(c), 1);
    cw_chroma_records r = { 0 };
    const char *ids[1] = { a.id };
    CU_ASSERT_EQUAL_FATAL(cw_chroma_get(c, ids, 1, 1, &r, &err), 0);
    CU_ASSERT_EQUAL_FATAL(r.len, 1);
    assert_record_is(&r.items[0], &b, vb, 3);
    cw_chroma_records_free(&r);
    cw_document_clear(&a);
    cw_document_clear(&b);
    finish(c);
}

static void test_delete_removes_and_missing_is_fine(void)
{
    char name[64];
    cw_error err = { 0 };
    cw_chroma *c = new_client(name, sizeof(name));
    cw_document d[3] = { mkdoc("ns", "Pod", "p1", ""), mkdoc("ns", "Pod", "p2", ""),
                         mkdoc("ns", "Pod", "p3", "") };
    float v[6] = { 1, 0, 0, 1, 1, 1 };
    CU_ASSERT_EQUAL(cw_chroma_upsert(c, d, v, 3, 2, &err), 0);
    CU_ASSERT_EQUAL(count_of(c), 3);
    const char *del[3] = { d[0].id, "never/v1/Pod/stored", d[2].id };
    CU_ASSERT_EQUAL(cw_chroma_delete(c, del, 3, &err), 0);
    CU_ASSERT_EQUAL(err.code, CW_OK);
    CU_ASSERT_EQUAL(count_of(c), 1);
    const char *all[3] = { d[0].id, d[1].id, d[2].id };
    cw_chroma_records r = { 0 };
    CU_ASSERT_EQUAL_FATAL(cw_chroma_get(c, all, 3, 0, &r, &err), 0);
    CU_ASSERT_EQUAL_FATAL(r.len, 1);
    CU_ASSERT_STRING_EQUAL(r.items[0].id, d[1].id);
    cw_chroma_records_free(&r);
    /* Only missing ids, and nothing at all: both fine, nothing changes. */
    CU_ASSERT_EQUAL(cw_chroma_delete(c, del, 1, &err), 0);
    CU_ASSERT_EQUAL(cw_chroma_delete(c, del, 0, &err), 0);
    CU_ASSERT_EQUAL(err.code, CW_OK);
    CU_ASSERT_EQUAL(count_of(c), 1);
    free_docs(d, 3);
    finish(c);
}

static void make_many(cw_document *d, float *v, size_t n, size_t dim)
{
    for (size_t i = 0; i < n; i++) {
        char nm[32];
        snprintf(nm, sizeof(nm), "pod-%05zu", i);
        d[i] = mkdoc("bulk", "Pod", nm, "");
        for (size_t j = 0; j < dim; j++)
            v[i * dim + j] = (float)((i + 1) * (j + 2) % 17) + 0.5f;
    }
}

static void test_forced_small_batches_all_land(void)
{
    char name[64];
    cw_error err = { 0 };
    enum { N = 50, DIM = 3 };
    cw_chroma *c = new_client(name, sizeof(name));
    cw_chroma_set_max_batch(c, 7);
    CU_ASSERT_EQUAL(cw_chroma_max_batch(c), 7);
    cw_document d[N];
    float v[N * DIM];
    make_many(d, v, N, DIM);
    CU_ASSERT_EQUAL(cw_chroma_upsert(c, d, v, N, DIM, &err), 0);
    CU_ASSERT_EQUAL(cw_chroma_max_batch(c), 7);   /* still the forced one after pre-flight */
    CU_ASSERT_EQUAL(count_of(c), N);
    const char *ids[N];
    for (size_t i = 0; i < N; i++)
        ids[i] = d[i].id;
    cw_chroma_records r = { 0 };
    CU_ASSERT_EQUAL_FATAL(cw_chroma_get(c, ids, N, 1, &r, &err), 0);
    CU_ASSERT_EQUAL_FATAL(r.len, N);
    for (size_t i = 0; i < N; i++)
        assert_record_is(find_record(&r, d[i].id), &d[i], v + i * DIM, DIM);
    cw_chroma_records_free(&r);
    CU_ASSERT_EQUAL(cw_chroma_delete(c, ids, 23, &err), 0);
    CU_ASSERT_EQUAL(count_of(c), N - 23);
    cw_chroma_set_max_batch(c, 0);
    CU_ASSERT(cw_chroma_max_batch(c) > 7);
    free_docs(d, N);
    finish(c);
}

/* One more record than the server's max batch: Chroma answers a single
 * call that big with 500 "too many SQL variables", so this only passes
 * when the client splits to the size pre-flight-checks reports. */
static void test_more_than_server_max_batch(void)
{
    char name[64];
    cw_error err = { 0 };
    cw_chroma *c = new_client(name, sizeof(name));
    CU_ASSERT_EQUAL_FATAL(cw_chroma_ensure_collection(c, &err), 0);
    size_t n = cw_chroma_max_batch(c) + 1;
    CU_ASSERT_FATAL(n > 1000);   /* the server's size, not our default */
    cw_document *d = calloc(n, sizeof(*d));
    float *v = calloc(n * 2, sizeof(float));
    const char **ids = calloc(n, sizeof(*ids));
    CU_ASSERT_FATAL(d != NULL && v != NULL && ids != NULL);
    make_many(d, v, n, 2);
    for (size_t i = 0; i < n; i++)
        ids[i] = d[i].id;
    CU_ASSERT_EQUAL(cw_chroma_upsert(c, d, v, n, 2, &err), 0);
    CU_ASSERT_EQUAL(err.code, CW_OK);
    CU_ASSERT_EQUAL(count_of(c), n);
    cw_chroma_records r = { 0 };
    CU_ASSERT_EQUAL(cw_chroma_get(c, ids, n, 0, &r, &err), 0);
    CU_ASSERT_EQUAL(r.len, n);
    cw_chroma_records_free(&r);
    CU_ASSERT_EQUAL(cw_chroma_delete(c, ids, n, &err), 0);
    CU_ASSERT_EQUAL(err.code, CW_OK);
    CU_ASSERT_EQUAL(count_of(c), 0);
    free_docs(d, n);
    free(d);
    free(v);
    free(ids);
    finish(c);
}

static void test_query_filters_and_order(void)
{
    char name[64];
    cw_error err = { 0 };
    cw_chroma *c = new_client(name, sizeof(name));
    cw_document d[4] = {
        mkdoc("web", "Deployment", "nginx", ""),     /* [1,0] */
        mkdoc("web", "Service", "nginx", ""),        /* [1,1] */
        mkdoc("db", "Deployment", "postgres", ""),   /* [0,1] */
        mkdoc("db", "Service", "postgres", ""),      /* [1,0.2] */
    };
    float v[8] = { 1, 0, 1, 1, 0, 1, 1, 0.2f };
    CU_ASSERT_EQUAL(cw_chroma_upsert(c, d, v, 4, 2, &err), 0);
    float q[2] = { 1, 0.05f };
    cw_chroma_hits h = { 0 };

    CU_ASSERT_EQUAL_FATAL(cw_chroma_query(c, q, 2, 10, NULL, NULL, &h, &err), 0);
    CU_ASSERT_EQUAL_FATAL(h.len, 4);
    CU_ASSERT_STRING_EQUAL(h.items[0].id, d[0].id);
    CU_ASSERT_STRING_EQUAL(h.items[1].id, d[3].id);
    CU_ASSERT_STRING_EQUAL(h.items[2].id, d[1].id);
    CU_ASSERT_STRING_EQUAL(h.items[3].id, d[2].id);
    CU_ASSERT(h.items[0].distance <= h.items[1].distance);
    CU_ASSERT(h.items[2].distance <= h.items[3].distance);
    CU_ASSERT_STRING_EQUAL(h.items[0].document, d[0].text);
    CU_ASSERT_STRING_EQUAL(h.items[0].kind, "Deployment");
    CU_ASSERT_STRING_EQUAL(h.items[0].namespace, "web");
    CU_ASSERT_STRING_EQUAL(h.items[0].name, "nginx");
    cw_chroma_hits_free(&h);

    CU_ASSERT_EQUAL_FATAL(cw_chroma_query(c, q, 2, 10, "Deployment", NULL, &h, &err), 0);
    CU_ASSERT_EQUAL_FATAL(h.len, 2);
    CU_ASSERT_STRING_EQUAL(h.items[0].id, d[0].id);
    CU_ASSERT_STRING_EQUAL(h.items[1].id, d[2].id);
    cw_chroma_hits_free(&h);

    CU_ASSERT_EQUAL_FATAL(cw_chroma_query(c, q, 2, 10, NULL, "db", &h, &err), 0);
    CU_ASSERT_EQUAL_FATAL(h.len, 2);
    CU_ASSERT_STRING_EQUAL(h.items[0].id, d[3].id);
    CU_ASSERT_STRING_EQUAL(h.items[1].id, d[2].id);
    cw_chroma_hits_free(&h);

    CU_ASSERT_EQUAL_FATAL(cw_chroma_query(c, q, 2, 10, "Service", "web", &h, &err), 0);
    CU_ASSERT_EQUAL_FATAL(h.len, 1);
    CU_ASSERT_STRING_EQUAL(h.items[0].id, d[1].id);
    CU_ASSERT_STRING_EQUAL(h.items[0].kind, "Service");
    CU_ASSERT_STRING_EQUAL(h.items[0].namespace, "web");
    cw_chroma_hits_free(&h);

    CU_ASSERT_EQUAL_FATAL(cw_chroma_query(c, q, 2, 1, NULL, NULL, &h, &err), 0);
    CU_ASSERT_EQUAL_FATAL(h.len, 1);
    CU_ASSERT_STRING_EQUAL(h.items[0].id, d[0].id);
    cw_chroma_hits_free(&h);

    CU_ASSERT_EQUAL_FATAL(cw_chroma_query(c, q, 2, 10, "NoSuchKind", NULL, &h, &err), 0);
    CU_ASSERT_EQUAL(h.len, 0);
    CU_ASSERT_PTR_NULL(h.items);
    cw_chroma_hits_free(&h);
    CU_ASSERT_EQUAL(err.code, CW_OK);
    free_docs(d, 4);
    finish(c);
}

/* Issue 14: the cluster filter and its JSON, the `cluster` metadata
 * written only when set and read back, pages of ids by metadata, and the
 * store's get vouching for a stored cluster. */
static void test_json_cluster_filters_exact(void)
{
    cw_error err = { 0 };
    float q[2] = { 0.5f, -1 };
    cw_chroma_filter f = { .cluster = "prod" };
    char *b = cw_chroma_json_query_where(q, 2, 3, &f, &err);
    CU_ASSERT_STRING_EQUAL(b, "{\"query_embeddings\":[[0.5,-1]],\"n_results\":3,"
                              "\"include\":[\"documents\",\"metadatas\",\"distances\"],"
                              "\"where\":{\"cluster\":\"prod\"}}");
    free(b);
    cw_chroma_filter all = { .kind = "Pod", .ns = "web", .cluster = "prod" };
    b = cw_chroma_json_scan_where(10, 20, &all, 1, &err);
    CU_ASSERT_STRING_EQUAL(b, "{\"limit\":10,\"offset\":20,\"include\":[\"documents\",\"metadatas\"],"
                              "\"where\":{\"$and\":[{\"kind\":\"Pod\"},{\"namespace\":\"web\"},"
                              "{\"cluster\":\"prod\"}]}}");
    free(b);
    b = cw_chroma_json_scan_where(5, 0, &f, 0, &err);
    CU_ASSERT_STRING_EQUAL(b, "{\"limit\":5,\"offset\":0,\"include\":[],\"where\":{\"cluster\":\"prod\"}}");
    free(b);
    cw_chroma_filter none = { 0 };
    b = cw_chroma_json_scan_where(5, 0, &none, 0, &err);
    CU_ASSERT_STRING_EQUAL(b, "{\"limit\":5,\"offset\":0,\"include\":[]}");
    free(b);
    b = cw_chroma_json_scan_where(5, 0, NULL, 1, &err);
    CU_ASSERT_STRING_EQUAL(b, "{\"limit\":5,\"offset\":0,\"include\":[\"documents\",\"metadatas\"]}");
    free(b);
    /* the metadata key only when the document has a cluster */
    cw_document d[2] = { mkdoc("web", "Pod", "a", ""), mkdoc("web", "Pod", "a", "") };
    free(d[1].id);
    d[1].id = xdup("prod:web/apps/v1/Pod/a");
    d[1].cluster = xdup("prod");
    float v[2] = { 1, 0 };
    b = cw_chroma_json_upsert(d, v, 2, 1, &err);
    CU_ASSERT_STRING_EQUAL(b, "{\"ids\":[\"web/apps/v1/Pod/a\",\"prod:web/apps/v1/Pod/a\"],"
                              "\"embeddings\":[[1],[0]],"
                              "\"documents\":[\"Pod a | namespace: web | apiVersion: apps/v1\","
                              "\"Pod a | namespace: web | apiVersion: apps/v1\"],"
                              "\"metadatas\":[{\"namespace\":\"web\",\"name\":\"a\",\"kind\":\"Pod\","
                              "\"apiVersion\":\"apps/v1\",\"apiGroup\":\"apps\",\"labels\":\"\","
                              "\"source\":\"resource-sync\"},"
                              "{\"namespace\":\"web\",\"name\":\"a\",\"kind\":\"Pod\","
                              "\"apiVersion\":\"apps/v1\",\"apiGroup\":\"apps\",\"labels\":\"\","
                              "\"source\":\"resource-sync\",\"cluster\":\"prod\"}]}");
    free(b);
    free_docs(d, 2);
    CU_ASSERT_EQUAL(err.code, CW_OK);
}

static void test_cluster_metadata_and_filters(void)
{
    char name[64];
    cw_error err = { 0 };
    cw_chroma *c = new_client(name, sizeof(name));
    /* the same resource of no cluster, of prod and of dev, and one more of prod */
    cw_document d[4] = {
        mkdoc("web", "Deployment", "nginx", ""), mkdoc("web", "Deployment", "nginx", ""),
        mkdoc("web", "Deployment", "nginx", ""), mkdoc("db", "Service", "pg", ""),
    };
    const char *clusters[4] = { NULL, "prod", "dev", "prod" };
    for (size_t i = 1; i < 4; i++) {
        char id[300];
        snprintf(id, sizeof id, "%s:%s", clusters[i], d[i].id);
        free(d[i].id);
        d[i].id = xdup(id);
        d[i].cluster = xdup(clusters[i]);
    }
    float v[8] = { 1, 0, 1, 0.1f, 1, 0.2f, 0, 1 };
    CU_ASSERT_EQUAL_FATAL(cw_chroma_upsert(c, d, v, 4, 2, &err), 0);
    CU_ASSERT_EQUAL(count_of(c), 4);

    const char *ids[4] = { d[0].id, d[1].id, d[2].id, d[3].id };
    cw_chroma_records r = { 0 };
    CU_ASSERT_EQUAL_FATAL(cw_chroma_get(c, ids, 4, 0, &r, &err), 0);
    CU_ASSERT_EQUAL_FATAL(r.len, 4);
    for (size_t i = 0; i < 4; i++) {
        const cw_chroma_record *rec = find_record(&r, ids[i]);
        assert_record_is(rec, &d[i], NULL, 2);
        if (clusters[i] == NULL) {
            CU_ASSERT_PTR_NULL(rec->cluster);
        } else {
            CU_ASSERT_STRING_EQUAL(rec->cluster, clusters[i]);
        }
    }
    cw_chroma_records_free(&r);

    float q[2] = { 1, 0 };
    cw_chroma_hits h = { 0 };
    cw_chroma_filter prod = { .cluster = "prod" };
    CU_ASSERT_EQUAL_FATAL(cw_chroma_query_where(c, q, 2, 10, &prod, &h, &err), 0);
    CU_ASSERT_EQUAL_FATAL(h.len, 2);
    CU_ASSERT_STRING_EQUAL(h.items[0].id, "prod:web/apps/v1/Deployment/nginx");
    CU_ASSERT_STRING_EQUAL(h.items[0].cluster, "prod");
    CU_ASSERT_STRING_EQUAL(h.items[1].id, "prod:db/apps/v1/Service/pg");
    cw_chroma_hits_free(&h);
    cw_chroma_filter prod_web = { .ns = "web", .cluster = "prod" };
    CU_ASSERT_EQUAL_FATAL(cw_chroma_query_where(c, q, 2, 10, &prod_web, &h, &err), 0);
    CU_ASSERT_EQUAL_FATAL(h.len, 1);
    CU_ASSERT_STRING_EQUAL(h.items[0].id, "prod:web/apps/v1/Deployment/nginx");
    cw_chroma_hits_free(&h);
    CU_ASSERT_EQUAL_FATAL(cw_chroma_query_where(c, q, 2, 10, NULL, &h, &err), 0);
    CU_ASSERT_EQUAL(h.len, 4);
    cw_chroma_hits_free(&h);

    cw_chroma_filter dev = { .cluster = "dev" };
    CU_ASSERT_EQUAL_FATAL(cw_chroma_scan_where(c, &dev, 100, &r, &err), 0);
    CU_ASSERT_EQUAL_FATAL(r.len, 1);
    CU_ASSERT_STRING_EQUAL(r.items[0].id, "dev:web/apps/v1/Deployment/nginx");
    CU_ASSERT_STRING_EQUAL(r.items[0].document, d[2].text);
    cw_chroma_records_free(&r);

    /* pages of ids only */
    CU_ASSERT_EQUAL_FATAL(cw_chroma_ids_where(c, &prod, 0, 1, &r, &err), 0);
    CU_ASSERT_EQUAL_FATAL(r.len, 1);
    CU_ASSERT_PTR_NULL(r.items[0].document);
    CU_ASSERT_PTR_NULL(r.items[0].cluster);
    char *first = xdup(r.items[0].id);
    cw_chroma_records_free(&r);
    CU_ASSERT_EQUAL_FATAL(cw_chroma_ids_where(c, &prod, 1, 1, &r, &err), 0);
    CU_ASSERT_EQUAL_FATAL(r.len, 1);
    CU_ASSERT(strcmp(first, r.items[0].id) != 0);
    CU_ASSERT(strncmp(r.items[0].id, "prod:", 5) == 0);
    CU_ASSERT(strncmp(first, "prod:", 5) == 0);
    cw_chroma_records_free(&r);
    free(first);
    CU_ASSERT_EQUAL_FATAL(cw_chroma_ids_where(c, &prod, 2, 0, &r, &err), 0);
    CU_ASSERT_EQUAL(r.len, 0);
    cw_chroma_records_free(&r);
    cw_chroma_filter nobody = { .cluster = "nobody" };
    CU_ASSERT_EQUAL_FATAL(cw_chroma_ids_where(c, &nobody, 0, 0, &r, &err), 0);
    CU_ASSERT_EQUAL(r.len, 0);
    cw_chroma_records_free(&r);

    /* the store vouches for the cluster it read (NULL for none) */
    cw_store *st = cw_store_chroma_create(c, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(st);
    cw_document got[4];
    float vecs[8];
    unsigned char found[4];
    CU_ASSERT_EQUAL_FATAL(st->vt->get(st, ids, 4, 2, got, vecs, found, &err), 0);
    for (size_t i = 0; i < 4; i++) {
        CU_ASSERT_EQUAL(found[i], 1);
        if (clusters[i] == NULL) {
            CU_ASSERT_PTR_NULL(got[i].cluster);
        } else {
            CU_ASSERT_STRING_EQUAL(got[i].cluster, clusters[i]);
        }
        CU_ASSERT_STRING_EQUAL(got[i].id, ids[i]);
        cw_document_clear(&got[i]);
    }
    cw_store_destroy(st);
    CU_ASSERT_EQUAL(err.code, CW_OK);
    free_docs(d, 4);
    finish(c);
}

static void test_collection_deleted_behind_our_back(void)
{
    char name[64];
    cw_error err = { 0 };
    cw_chroma *c = new_client(name, sizeof(name));
    cw_document d[2] = { mkdoc("ns", "Pod", "before", ""), mkdoc("ns", "Pod", "after", "") };
    float v[4] = { 1, 0, 0, 1 };
    CU_ASSERT_EQUAL(cw_chroma_upsert(c, &d[0], v, 1, 2, &err), 0);
    cw_chroma *admin = client_named(g_url, name, NULL);
    CU_ASSERT_EQUAL(count_of(admin), 1);
    CU_ASSERT_EQUAL(cw_chroma_delete_collection(admin, &err), 0);

    /* `c` still caches the old id: Chroma answers 404, c recreates and retries. */
    CU_ASSERT_EQUAL(cw_chroma_upsert(c, &d[1], v + 2, 1, 2, &err), 0);
    CU_ASSERT_EQUAL(err.code, CW_OK);
    CU_ASSERT_EQUAL(count_of(admin), 1);
    const char *ids[2] = { d[0].id, d[1].id };
    cw_chroma_records r = { 0 };
    CU_ASSERT_EQUAL_FATAL(cw_chroma_get(admin, ids, 2, 1, &r, &err), 0);
    CU_ASSERT_EQUAL_FATAL(r.len, 1);
    assert_record_is(&r.items[0], &d[1], v + 2, 2);
    cw_chroma_records_free(&r);

    /* Reads recover the same way. */
    CU_ASSERT_EQUAL(cw_chroma_delete_collection(admin, &err), 0);
    CU_ASSERT_EQUAL(count_of(c), 0);
    CU_ASSERT_EQUAL(err.code, CW_OK);
    cw_chroma_destroy(admin);
    free_docs(d, 2);
    finish(c);
}

static void test_dimension_mismatch(void)
{
    char name[64], msg[256];
    cw_error err = { 0 };
    cw_chroma *c = new_client(name, sizeof(name));

    /* Unknown while empty. */
    CU_ASSERT_EQUAL(cw_chroma_check_dimension(c, 384, msg, sizeof(msg)), 0);
    CU_ASSERT_STRING_EQUAL(msg, "");

    cw_document d = mkdoc("ns", "Pod", "p", "");
    float v3[3] = { 1, 2, 3 }, v4[4] = { 1, 2, 3, 4 };
    CU_ASSERT_EQUAL(cw_chroma_upsert(c, &d, v3, 1, 3, &err), 0);
    CU_ASSERT_EQUAL(cw_chroma_upsert(c, &d, v4, 1, 4, &err), -1);
    CU_ASSERT_EQUAL(err.code, CW_E_CONFIG);
    char want[256];
    snprintf(want, sizeof(want), "collection '%s' holds 3-d vectors but got 4-d ones", name);
    CU_ASSERT_STRING_EQUAL(err.msg, want);

    cw_error_clear(&err);
    cw_chroma_hits h = { 0 };
    CU_ASSERT_EQUAL(cw_chroma_query(c, v4, 4, 3, NULL, NULL, &h, &err), -1);
    CU_ASSERT_EQUAL(err.code, CW_E_CONFIG);
    CU_ASSERT_STRING_EQUAL(err.msg, want);
    CU_ASSERT_EQUAL(h.len, 0);

    /* The stored record is the 3-d one. */
    cw_error_clear(&err);
    const char *ids[1] = { d.id };
    cw_chroma_records r = { 0 };
    CU_ASSERT_EQUAL_FATAL(cw_chroma_get(c, ids, 1, 1, &r, &err), 0);
    CU_ASSERT_EQUAL(r.dim, 3);
    cw_chroma_records_free(&r);

    size_t dim = 0;
    CU_ASSERT_EQUAL(cw_chroma_dimension(c, &dim, &err), 0);
    CU_ASSERT_EQUAL(dim, 3);
    CU_ASSERT_EQUAL(cw_chroma_check_dimension(c, 3, msg, sizeof(msg)), 0);
    CU_ASSERT_STRING_EQUAL(msg, "");
    CU_ASSERT_EQUAL(cw_chroma_check_dimension(c, 384, msg, sizeof(msg)), 1);
    snprintf(want, sizeof(want),
             "collection '%s' holds 3-d vectors but the embedder makes 384-d vectors: "
             "use the embedder that filled it, or another --collection", name);
    CU_ASSERT_STRING_EQUAL(msg, want);
    /* A short buffer gets a truncated, terminated line. */
    char small[12];
    CU_ASSERT_EQUAL(cw_chroma_check_dimension(c, 384, small, sizeof(small)), 1);
    CU_ASSERT_STRING_EQUAL(small, "collection ");
    cw_document_clear(&d);
    finish(c);

    /* Unreachable Chroma: unknown, not a mismatch. */
    cw_chroma *dead = client_named("http://127.0.0.1:1", name, NULL);
    CU_ASSERT_EQUAL(cw_chroma_check_dimension(dead, 384, msg, sizeof(msg)), 0);
    CU_ASSERT_STRING_EQUAL(msg, "");
    cw_chroma_destroy(dead);
}

static void test_refused_request_is_internal(void)
{
    char name[64];
    cw_error err = { 0 };
    cw_chroma *c = new_client(name, sizeof(name));
    cw_document d = mkdoc("ns", "Pod", "p", "");
    free(d.id);
    d.id = xdup("");
    float v[2] = { 1, 2 };
    CU_ASSERT_EQUAL(cw_chroma_upsert(c, &d, v, 1, 2, &err), -1);
    CU_ASSERT_EQUAL(err.code, CW_E_INTERNAL);
    CU_ASSERT_STRING_EQUAL(err.msg, "chroma upsert: HTTP 400: InvalidArgumentError: "
                                    "Empty ID, ID must have at least one character");
    CU_ASSERT_EQUAL(count_of(c), 0);
    cw_document_clear(&d);
    finish(c);
}

static void test_non_finite_vector_refused(void)
{
    char name[64];
    cw_error err = { 0 };
    cw_chroma *c = new_client(name, sizeof(name));
    cw_document d[2] = { mkdoc("ns", "Pod", "ok", ""), mkdoc("ns", "Pod", "bad", "") };
    float v[4] = { 1, 2, 3, NAN };
    CU_ASSERT_EQUAL(cw_chroma_upsert(c, d, v, 2, 2, &err), -1);
    CU_ASSERT_EQUAL(err.code, CW_E_INTERNAL);
    CU_ASSERT_STRING_EQUAL(err.msg, "chroma upsert: vector of 'ns/apps/v1/Pod/bad' has a "
                                    "non-finite value at 1");
    CU_ASSERT_EQUAL(count_of(c), 0);   /* nothing of the batch landed */
    free_docs(d, 2);
    finish(c);
}

/* ---- concurrency: callers never share a handle -------------------------- */

enum { THREADS = 4, PER_THREAD = 30 };

typedef struct worker_arg {
    cw_chroma *c;
    int t;
    int rc;
} worker_arg;

static void *upsert_worker(void *p)
{
    worker_arg *a = p;
    a->rc = 0;
    for (int i = 0; i < PER_THREAD && a->rc == 0; i++) {
        char nm[32];
        cw_error err = { 0 };
        snprintf(nm, sizeof(nm), "t%d-%d", a->t, i);
        cw_document d = mkdoc("conc", "Pod", nm, "");
        float v[2] = { (float)a->t + 1, (float)i };
        a->rc = cw_chroma_upsert(a->c, &d, v, 1, 2, &err);
        cw_document_clear(&d);
    }
    return NULL;
}

static void test_concurrent_upserts_all_land(void)
{
    char name[64];
    cw_error err = { 0 };
    cw_chroma *c = new_client(name, sizeof(name));
    CU_ASSERT_EQUAL_FATAL(cw_chroma_ensure_collection(c, &err), 0);
    pthread_t th[THREADS];
    worker_arg args[THREADS];
    for (int t = 0; t < THREADS; t++) {
        args[t] = (worker_arg){ .c = c, .t = t, .rc = -1 };
        CU_ASSERT_EQUAL_FATAL(pthread_create(&th[t], NULL, upsert_worker, &args[t]), 0);
    }
    /* A heartbeat while writes are in flight answers on its own handle. */
    CU_ASSERT_EQUAL(cw_chroma_heartbeat(c, 2000, &err), 0);
    for (int t = 0; t < THREADS; t++) {
        pthread_join(th[t], NULL);
        CU_ASSERT_EQUAL(args[t].rc, 0);
    }
    CU_ASSERT_EQUAL(count_of(c), THREADS * PER_THREAD);
    finish(c);
}

/* ---- the cw_store over Chroma ------------------------------------------- */

static void test_store_chroma(void)
{
    char name[64];
    cw_error err = { 0 };
    cw_chroma *c = new_client(name, sizeof(name));
    cw_store *s = cw_store_chroma_create(c, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    cw_document d[2] = { mkdoc("web", "Deployment", "a", "x=1"), mkdoc("web", "Deployment", "b", "") };
    float v[6] = { 0.25f, -1, 3, 7, 8, 9.5f };
    CU_ASSERT_EQUAL(s->vt->upsert(s, d, v, 2, 3, &err), 0);
    CU_ASSERT_EQUAL(count_of(c), 2);

    /* Out of order, a missing id, and a repeated id. */
    const char *ids[4] = { d[1].id, "web/apps/v1/Deployment/none", d[0].id, d[1].id };
    cw_document st[4];
    float got[12];
    unsigned char found[4];
    memset(got, 0, sizeof(got));
    CU_ASSERT_EQUAL_FATAL(s->vt->get(s, ids, 4, 3, st, got, found, &err), 0);
    CU_ASSERT_EQUAL(found[0], 1);
    CU_ASSERT_EQUAL(found[1], 0);
    CU_ASSERT_EQUAL(found[2], 1);
    CU_ASSERT_EQUAL(found[3], 1);
    CU_ASSERT_PTR_NULL(st[1].id);
    CU_ASSERT_PTR_NULL(st[1].text);
    CU_ASSERT_STRING_EQUAL(st[0].text, d[1].text);
    CU_ASSERT_STRING_EQUAL(st[2].text, d[0].text);
    CU_ASSERT_STRING_EQUAL(st[3].text, d[1].text);
    /* the whole stored document, metadata included */
    CU_ASSERT_STRING_EQUAL(st[2].id, d[0].id);
    CU_ASSERT_STRING_EQUAL(st[2].namespace, "web");
    CU_ASSERT_STRING_EQUAL(st[2].name, "a");
    CU_ASSERT_STRING_EQUAL(st[2].kind, "Deployment");
    CU_ASSERT_STRING_EQUAL(st[2].api_version, "apps/v1");
    CU_ASSERT_STRING_EQUAL(st[2].api_group, "apps");
    CU_ASSERT_STRING_EQUAL(st[2].labels, "x=1");
    CU_ASSERT_STRING_EQUAL(st[0].labels, "");
    CU_ASSERT(same_vector(got + 0, v + 3, 3));
    CU_ASSERT(same_vector(got + 6, v + 0, 3));
    CU_ASSERT(same_vector(got + 9, v + 3, 3));
    for (size_t i = 0; i < 4; i++)
        cw_document_clear(&st[i]);

    /* Vectors of another size than asked: not found (they must be re-embedded). */
    float got5[10];
    CU_ASSERT_EQUAL(s->vt->get(s, ids, 2, 5, st, got5, found, &err), 0);
    CU_ASSERT_EQUAL(found[0], 0);
    CU_ASSERT_EQUAL(found[1], 0);
    CU_ASSERT_PTR_NULL(st[0].text);

    CU_ASSERT_EQUAL(s->vt->get(s, ids, 0, 3, st, got, found, &err), 0);
    const char *rm[2] = { d[0].id, "web/apps/v1/Deployment/none" };
    CU_ASSERT_EQUAL(s->vt->remove(s, rm, 2, &err), 0);
    CU_ASSERT_EQUAL(err.code, CW_OK);
    CU_ASSERT_EQUAL(count_of(c), 1);
    CU_ASSERT_EQUAL(s->vt->get(s, ids, 4, 3, st, got, found, &err), 0);
    CU_ASSERT_EQUAL(found[0], 1);
    CU_ASSERT_EQUAL(found[2], 0);
    CU_ASSERT_EQUAL(found[3], 1);
    for (size_t i = 0; i < 4; i++)
        cw_document_clear(&st[i]);

    /* A vector whose norm overflows comes back from Chroma as nulls: the
     * record is there but has no usable vector, so it is not found. */
    cw_document big = mkdoc("web", "Deployment", "huge", "");
    float vbig[3] = { 3.4028235e38f, 3.4028235e38f, 1 };
    CU_ASSERT_EQUAL(s->vt->upsert(s, &big, vbig, 1, 3, &err), 0);
    const char *bid[2] = { big.id, d[1].id };
    CU_ASSERT_EQUAL(s->vt->get(s, bid, 2, 3, st, got, found, &err), 0);
    CU_ASSERT_EQUAL(found[0], 0);
    CU_ASSERT_PTR_NULL(st[0].text);
    CU_ASSERT_EQUAL(found[1], 1);
    cw_document_clear(&st[1]);
    CU_ASSERT_EQUAL(err.code, CW_OK);
    cw_document_clear(&big);
    cw_store_destroy(s);
    cw_store_destroy(NULL);
    free_docs(d, 2);
    finish(c);
}

static void test_store_chroma_get_unreachable(void)
{
    cw_error err = { 0 };
    cw_chroma *c = client_named("http://127.0.0.1:1", "t_unused", NULL);
    cw_store *s = cw_store_chroma_create(c, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    const char *ids[1] = { "a/v1/Pod/x" };
    cw_document st[1] = { { .text = (char *)"junk" } };
    float vec[2];
    unsigned char found[1] = { 7 };
    CU_ASSERT_EQUAL(s->vt->get(s, ids, 1, 2, st, vec, found, &err), -1);
    CU_ASSERT_EQUAL(err.code, CW_E_UNAVAILABLE);
    CU_ASSERT_PTR_NULL(st[0].text);
    CU_ASSERT_EQUAL(found[0], 0);
    cw_store_destroy(s);
    cw_chroma_destroy(c);
}

/* ---- behaviours shown with fake_chroma ------------------------------------ */

static cw_chroma *fake_client(fake_chroma *f, long read_timeout_ms)
{
    cw_error err = { 0 };
    cw_chroma_config cfg = { .url = fake_chroma_url(f), .read_timeout_ms = read_timeout_ms };
    cw_chroma *c = cw_chroma_create(&cfg, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    return c;
}

static void test_fake_5xx_is_unavailable(void)
{
    fake_chroma *f = fake_chroma_start();
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    cw_chroma *c = fake_client(f, 0);
    fake_chroma_set(f, FAKE_FAIL_500, 0);
    cw_error err = { 0 };
    cw_document d = mkdoc("ns", "Pod", "p", "");
    float v[2] = { 1, 2 };
    CU_ASSERT_EQUAL(cw_chroma_upsert(c, &d, v, 1, 2, &err), -1);
    CU_ASSERT_EQUAL(err.code, CW_E_UNAVAILABLE);
    CU_ASSERT_EQUAL(err.retry_after_s, 5);
    CU_ASSERT_STRING_EQUAL(err.msg, "chroma upsert: HTTP 500: ChromaError: Error sending message to compactor");
    cw_error_clear(&err);
    size_t n = 0;
    CU_ASSERT_EQUAL(cw_chroma_count(c, &n, &err), -1);
    CU_ASSERT_EQUAL(err.code, CW_E_UNAVAILABLE);
    CU_ASSERT_STRING_EQUAL(err.msg, "chroma count: HTTP 500: ChromaError: Error sending message to compactor");
    cw_document_clear(&d);
    cw_chroma_destroy(c);
    fake_chroma_stop(f);
}

/* A write slower than the read timeout still completes: writes have their
 * own long timeout and are never cut short. */
static void test_fake_slow_write_completes(void)
{
    fake_chroma *f = fake_chroma_start();
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    cw_chroma *c = fake_client(f, 200);
    cw_error err = { 0 };
    CU_ASSERT_EQUAL_FATAL(cw_chroma_ensure_collection(c, &err), 0);
    fake_chroma_set(f, FAKE_SLOW, 1200);
    cw_document d = mkdoc("ns", "Pod", "p", "");
    float v[2] = { 1, 2 };
    CU_ASSERT_EQUAL(cw_chroma_upsert(c, &d, v, 1, 2, &err), 0);
    const char *ids[1] = { d.id };
    CU_ASSERT_EQUAL(cw_chroma_delete(c, ids, 1, &err), 0);
    CU_ASSERT_EQUAL(err.code, CW_OK);
    cw_document_clear(&d);
    cw_chroma_destroy(c);
    fake_chroma_stop(f);
}

/* Chroma refusing our credentials (401/403) is nothing a request did:
 * CW_E_UNAVAILABLE (503 to the controller, journaled work waits; never a
 * dead letter, never a 4xx), and cw_chroma_auth_refused() says so until a
 * call succeeds. */
static void test_fake_401_is_unavailable(void)
{
    fake_chroma *f = fake_chroma_start();
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    cw_chroma *c = fake_client(f, 0);
    fake_chroma_set(f, FAKE_FAIL_401, 0);
    cw_error err = { 0 };
    cw_document d = mkdoc("ns", "Pod", "p", "");
    float v[2] = { 1, 2 };
    CU_ASSERT_EQUAL(cw_chroma_auth_refused(c), 0);
    CU_ASSERT_EQUAL(cw_chroma_upsert(c, &d, v, 1, 2, &err), -1);
    CU_ASSERT_EQUAL(err.code, CW_E_UNAVAILABLE);
    CU_ASSERT_STRING_EQUAL(err.msg, "chroma upsert: HTTP 401: Chroma refuses our credentials "
                                    "(AuthError: Unauthorized): check --chroma-token / "
                                    "CHROMA_TOKEN and --chroma-auth-header");
    CU_ASSERT_EQUAL(cw_chroma_auth_refused(c), 401);
    fake_chroma_set(f, FAKE_OK, 0);
    cw_error_clear(&err);
    CU_ASSERT_EQUAL(cw_chroma_upsert(c, &d, v, 1, 2, &err), 0);
    CU_ASSERT_EQUAL(cw_chroma_auth_refused(c), 0);
    cw_document_clear(&d);
    cw_chroma_destroy(c);
    fake_chroma_stop(f);
}

/* A read that gets no answer within the read timeout is unavailable. */
static void test_fake_hung_read_times_out(void)
{
    fake_chroma *f = fake_chroma_start();
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    cw_chroma *c = fake_client(f, 200);
    cw_error err = { 0 };
    CU_ASSERT_EQUAL_FATAL(cw_chroma_ensure_collection(c, &err), 0);
    fake_chroma_set(f, FAKE_SLOW, 1200);
    size_t n = 0;
    CU_ASSERT_EQUAL(cw_chroma_count(c, &n, &err), -1);
    CU_ASSERT_EQUAL(err.code, CW_E_UNAVAILABLE);
    char want[512];
    snprintf(want, sizeof(want),
             "chroma count: no answer from %s/api/v2/tenants/default_tenant/databases/"
             "default_database/collections/fake-id/count: Timeout was reached",
             fake_chroma_url(f));
    CU_ASSERT_STRING_EQUAL(err.msg, want);
    cw_chroma_destroy(c);
    fake_chroma_stop(f);
}

/* Sequential calls reuse one connection per pool (ops and probe), and
 * batches follow the server's max_batch_size (100 here). */
static void test_fake_reuse_and_server_batch(void)
{
    fake_chroma *f = fake_chroma_start();
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    cw_chroma *c = fake_client(f, 0);
    cw_error err = { 0 };
    size_t n = 0;
    for (int i = 0; i < 5; i++) {
        CU_ASSERT_EQUAL(cw_chroma_heartbeat(c, 1000, &err), 0);
        CU_ASSERT_EQUAL(cw_chroma_count(c, &n, &err), 0);
        CU_ASSERT_EQUAL(n, 7);
    }
    CU_ASSERT_EQUAL(fake_chroma_connections(f), 2);
    CU_ASSERT_EQUAL(fake_chroma_requests(f), 12);   /* pre-flight, create, 5 + 5 */
    CU_ASSERT_EQUAL(cw_chroma_max_batch(c), 100);

    enum { N = 250 };
    cw_document d[N];
    float v[N * 2];
    make_many(d, v, N, 2);
    CU_ASSERT_EQUAL(cw_chroma_upsert(c, d, v, N, 2, &err), 0);
    CU_ASSERT_EQUAL(fake_chroma_requests(f), 15);   /* 100 + 100 + 50 */
    CU_ASSERT_EQUAL(fake_chroma_connections(f), 2);
    CU_ASSERT_EQUAL(err.code, CW_OK);
    free_docs(d, N);
    cw_chroma_destroy(c);
    fake_chroma_stop(f);
}

/* Regression: the first call of a fresh client (no collection id cached,
 * so the server's max_batch_size not read yet) splits with the 1000-record
 * default; the loop then advanced by the server's size (> 1000) and skipped
 * records 1000..max-1, while reporting success: acknowledged data lost.
 * Each operation runs on a fresh client. */
static void test_first_call_of_fresh_client_sends_everything(void)
{
    char name[64];
    cw_error err = { 0 };
    cw_chroma *c = new_client(name, sizeof(name));
    CU_ASSERT_EQUAL_FATAL(cw_chroma_ensure_collection(c, &err), 0);
    size_t max = cw_chroma_max_batch(c);
    CU_ASSERT_FATAL(max > 1001);   /* the server's size is above our default */
    size_t n = 1500 < max ? 1500 : max - 1;
    cw_document *d = calloc(n, sizeof(*d));
    float *v = calloc(n * 2, sizeof(float));
    const char **ids = calloc(n, sizeof(*ids));
    CU_ASSERT_FATAL(d != NULL && v != NULL && ids != NULL);
    make_many(d, v, n, 2);
    for (size_t i = 0; i < n; i++)
        ids[i] = d[i].id;
    cw_chroma_destroy(c);

    c = client_named(g_url, name, NULL);
    CU_ASSERT_EQUAL(cw_chroma_upsert(c, d, v, n, 2, &err), 0);
    CU_ASSERT_EQUAL(err.code, CW_OK);
    CU_ASSERT_EQUAL(count_of(c), n);
    cw_chroma_destroy(c);

    c = client_named(g_url, name, NULL);
    cw_chroma_records r = { 0 };
    CU_ASSERT_EQUAL(cw_chroma_get(c, ids, n, 0, &r, &err), 0);
    CU_ASSERT_EQUAL(r.len, n);
    cw_chroma_records_free(&r);
    cw_chroma_destroy(c);

    c = client_named(g_url, name, NULL);
    CU_ASSERT_EQUAL(cw_chroma_delete(c, ids, n, &err), 0);
    CU_ASSERT_EQUAL(err.code, CW_OK);
    CU_ASSERT_EQUAL(count_of(c), 0);
    free_docs(d, n);
    free(d);
    free(v);
    free(ids);
    finish(c);
}

static CU_TestInfo tests[] = {
    { "json upsert body exact", test_json_upsert_body_exact },
    { "json other bodies exact", test_json_other_bodies_exact },
    { "json error line", test_json_error_line },
    { "json read get answers", test_json_read_get_answers },
    { "create without url", test_create_without_url },
    { "heartbeat ok", test_heartbeat_ok },
    { "heartbeat dead port", test_heartbeat_dead_port },
    { "write to dead port is unavailable", test_dead_port_write_is_unavailable },
    { "ensure collection is cosine", test_ensure_collection_is_cosine },
    { "ensure twice gets the same collection", test_ensure_twice_same_collection },
    { "bad collection name is a config error", test_bad_collection_name_is_config_error },
    { "missing database is a config error", test_missing_database_is_config_error },
    { "delete missing collection is fine", test_delete_missing_collection_is_fine },
    { "upsert then get exact", test_upsert_then_get_exact },
    { "upsert same id replaces", test_upsert_same_id_replaces },
    { "delete removes, missing ids fine", test_delete_removes_and_missing_is_fine },
    { "forced small batches all land", test_forced_small_batches_all_land },
    { "more than the server's max batch", test_more_than_server_max_batch },
    { "first call of a fresh client sends everything", test_first_call_of_fresh_client_sends_everything },
    { "query filters and order", test_query_filters_and_order },
    { "json cluster filters exact", test_json_cluster_filters_exact },
    { "cluster metadata, filters, pages of ids", test_cluster_metadata_and_filters },
    { "collection deleted behind our back", test_collection_deleted_behind_our_back },
    { "dimension mismatch", test_dimension_mismatch },
    { "refused request is internal", test_refused_request_is_internal },
    { "non-finite vector refused", test_non_finite_vector_refused },
    { "concurrent upserts all land", test_concurrent_upserts_all_land },
    { "store_chroma get/remove/upsert", test_store_chroma },
    { "store_chroma get unreachable", test_store_chroma_get_unreachable },
    { "fake: 5xx is unavailable", test_fake_5xx_is_unavailable },
    { "fake: 401 is unavailable, and remembered until a success", test_fake_401_is_unavailable },
    { "fake: slow write completes", test_fake_slow_write_completes },
    { "fake: hung read times out", test_fake_hung_read_times_out },
    { "fake: connection reuse and server batch", test_fake_reuse_and_server_batch },
    CU_TEST_INFO_NULL,
};

int main(void)
{
    curl_global_init(CURL_GLOBAL_ALL);
    g_url = cw_test_chroma_url();
    if (g_url == NULL) {
        fprintf(stderr, "test_chroma: CW_TEST_CHROMA_URL_FILE not set or unreadable\n");
        curl_global_cleanup();
        return 1;
    }
    int rc = cw_test_run("chroma", tests);
    free(g_url);
    curl_global_cleanup();
    return rc;
}
