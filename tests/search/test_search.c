/* src/search: words, ranking in each mode, intent, ties, exact JSON. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "cw_test.h"
#include "search.h"
#include "terms.h"

static cw_chroma_record rec(const char *ns, const char *kind, const char *name, const char *labels,
                            const char *tail)
{
    static char ids[16][256], docs[16][512];
    static int k;
    int i = k++ % 16;
    snprintf(ids[i], sizeof ids[i], "%s/x/%s/%s", ns, kind, name);
    snprintf(docs[i], sizeof docs[i], "%s %s | namespace: %s | apiVersion: x%s%s%s", kind, name, ns,
             labels[0] != '\0' ? " | labels: " : "", labels, tail);
    return (cw_chroma_record){ .id = ids[i], .document = docs[i], .namespace = (char *)ns,
                               .kind = (char *)kind, .name = (char *)name, .labels = (char *)labels };
}

static cw_chroma_record R[5];
static cw_chroma_records corpus(void)
{
    R[0] = rec("shop", "Deployment", "cart-service", "team=web", "");
    R[1] = rec("data", "StatefulSet", "orders-postgres", "team=data", " | Primary PostgreSQL database");
    R[2] = rec("shop", "CronJob", "stale-cart-cleanup", "team=web", "");
    R[3] = rec("payments", "Deployment", "payment-gateway", "team=payments", " | Card payments");
    R[4] = rec("payments", "PodDisruptionBudget", "payment-gateway-pdb", "", "");
    return (cw_chroma_records){ .items = R, .len = 5 };
}

static void test_terms(void)
{
    cw_terms t = { 0 };
    CU_ASSERT_EQUAL(cw_terms_add(&t, "StatefulSet orders-postgres.v1_x | Ingresses policies databases", 1, NULL), 0);
    const char *want[] = { "statefulset", "stateful", "set", "orders", "postgres", "v1", "x", "ingress",
                           "policy", "database" };
    /* "orders" folds to "order", "postgres" to "postgre": both sides fold alike */
    want[3] = "order";
    want[4] = "postgre";
    CU_ASSERT_EQUAL_FATAL(t.len, 10);
    for (size_t i = 0; i < 10; i++)
        CU_ASSERT_STRING_EQUAL(t.v[i], want[i]);
    cw_terms_free(&t);
    /* a word and its plural fold alike, whatever the spelling rule */
    const char *pairs[][2] = { { "cache", "caches" }, { "match", "matches" }, { "cookie", "cookies" },
                               { "database", "databases" }, { "index", "indexes" }, { "class", "classes" } };
    for (size_t i = 0; i < sizeof pairs / sizeof pairs[0]; i++) {
        char a[32], b[32];
        snprintf(a, sizeof a, "%s", pairs[i][0]);
        snprintf(b, sizeof b, "%s", pairs[i][1]);
        cw_terms_fold(a);
        cw_terms_fold(b);
        CU_ASSERT_STRING_EQUAL(a, b);
    }
    CU_ASSERT(cw_terms_is_stopword("which"));
    CU_ASSERT(!cw_terms_is_stopword("cart"));
}

static void test_lexical_ranks_names(void)
{
    cw_chroma_records c = corpus();
    cw_search_results r;
    CU_ASSERT_EQUAL_FATAL(cw_search_rank(&c, NULL, "stale cart", CW_SEARCH_LEXICAL, 10, &r, NULL), 0);
    CU_ASSERT_EQUAL_FATAL(r.len, 2);
    CU_ASSERT_STRING_EQUAL(r.items[0].id, "shop/x/CronJob/stale-cart-cleanup");
    CU_ASSERT_STRING_EQUAL(r.items[1].id, "shop/x/Deployment/cart-service");
    CU_ASSERT_EQUAL(r.items[0].lexical_rank, 1);
    CU_ASSERT(r.items[0].distance < 0);
    cw_search_results_free(&r);
}

static void test_intent_kind_and_scope(void)
{
    cw_chroma_records c = corpus();
    cw_search_results r;
    CU_ASSERT_EQUAL_FATAL(cw_search_rank(&c, NULL, "which PDBs does the payments team have", CW_SEARCH_HYBRID, 2,
                                         &r, NULL), 0);
    CU_ASSERT_STRING_EQUAL(r.intent_kind, "PodDisruptionBudget");
    CU_ASSERT_STRING_EQUAL(r.intent_scope, "payment");
    CU_ASSERT_EQUAL_FATAL(r.len, 2);
    CU_ASSERT_STRING_EQUAL(r.items[0].id, "payments/x/PodDisruptionBudget/payment-gateway-pdb");
    CU_ASSERT_DOUBLE_EQUAL(r.items[0].kind_part, CW_SEARCH_W_KIND, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(r.items[0].scope_part, CW_SEARCH_W_SCOPE, 1e-12);
    cw_search_results_free(&r);

    CU_ASSERT_EQUAL_FATAL(cw_search_rank(&c, NULL, "cron jobs", CW_SEARCH_HYBRID, 1, &r, NULL), 0);
    CU_ASSERT_STRING_EQUAL(r.intent_kind, "CronJob");
    CU_ASSERT_PTR_NULL(r.intent_scope);
    CU_ASSERT_STRING_EQUAL(r.items[0].id, "shop/x/CronJob/stale-cart-cleanup");
    cw_search_results_free(&r);
}

static void test_vector_mode_keeps_chroma_order_and_json(void)
{
    cw_chroma_hit h[2] = {
        { .id = "data/x/StatefulSet/orders-postgres", .distance = 0.25, .document = "d1", .kind = "StatefulSet",
          .namespace = "data", .name = "orders-postgres" },
        { .id = "shop/x/Deployment/cart-service", .distance = 0.5, .document = "d\"2", .kind = "Deployment",
          .namespace = "shop", .name = "cart-service" },
    };
    cw_chroma_hits hits = { .items = h, .len = 2 };
    cw_search_results r;
    CU_ASSERT_EQUAL_FATAL(cw_search_rank(NULL, &hits, "db", CW_SEARCH_VECTOR, 10, &r, NULL), 0);
    char *json = cw_search_results_json("db", CW_SEARCH_VECTOR, &r, 0);
    CU_ASSERT_STRING_EQUAL(json,
        "{\"query\":\"db\",\"ranking\":\"vector\",\"results\":["
        "{\"rank\":1,\"id\":\"data/x/StatefulSet/orders-postgres\",\"cluster\":null,\"namespace\":\"data\",\"kind\":\"StatefulSet\","
        "\"name\":\"orders-postgres\",\"distance\":0.2500,\"score\":0.7500,\"document\":\"d1\"},"
        "{\"rank\":2,\"id\":\"shop/x/Deployment/cart-service\",\"cluster\":null,\"namespace\":\"shop\",\"kind\":\"Deployment\","
        "\"name\":\"cart-service\",\"distance\":0.5000,\"score\":0.5000,\"document\":\"d\\\"2\"}]}");
    free(json);
    cw_search_results_free(&r);

    /* hybrid: the lexical match on "postgres" and the vector order add up */
    cw_chroma_records c = corpus();
    CU_ASSERT_EQUAL_FATAL(cw_search_rank(&c, &hits, "postgres", CW_SEARCH_HYBRID, 10, &r, NULL), 0);
    CU_ASSERT_EQUAL_FATAL(r.len, 5);
    CU_ASSERT_STRING_EQUAL(r.items[0].id, "data/x/StatefulSet/orders-postgres");
    CU_ASSERT_EQUAL(r.items[0].vector_rank, 1);
    CU_ASSERT_EQUAL(r.items[0].lexical_rank, 1);
    CU_ASSERT_STRING_EQUAL(r.items[1].id, "shop/x/Deployment/cart-service");
    /* the rest: not vector candidates, worst similarity; the workloads
     * first (the query names no kind), ties by id */
    CU_ASSERT_STRING_EQUAL(r.items[2].id, "payments/x/Deployment/payment-gateway");
    CU_ASSERT_STRING_EQUAL(r.items[3].id, "shop/x/CronJob/stale-cart-cleanup");
    CU_ASSERT_STRING_EQUAL(r.items[4].id, "payments/x/PodDisruptionBudget/payment-gateway-pdb");
    CU_ASSERT_DOUBLE_EQUAL(r.items[3].workload_part, CW_SEARCH_W_WORKLOAD, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(r.items[4].workload_part, 0, 1e-12);
    CU_ASSERT(r.items[4].distance < 0);
    json = cw_search_results_json("postgres", CW_SEARCH_HYBRID, &r, 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(json, "\"intent\":{\"kind\":null,\"scope\":null}"));
    CU_ASSERT_PTR_NOT_NULL(strstr(json, "\"explain\":{\"vector\":{\"rank\":null,\"similarity\":null,"
                                        "\"contribution\":0.5000},\"lexical\":{\"rank\":null,\"bm25\":0.0000,"
                                        "\"contribution\":0.0000},\"kind\":0.0000,\"scope\":0.0000,"
                                        "\"workload\":0.0000}}]}"));
    free(json);
    cw_search_results_free(&r);
}

/* A word for a family of products finds the records that name a product
 * only, at CW_SEARCH_W_RELATED of the word itself. */
static void test_related_products(void)
{
    cw_chroma_record rr[3];
    rr[0] = rec("data", "StatefulSet", "sessions-redis", "team=data", "");
    rr[1] = rec("data", "ConfigMap", "cache-settings", "", "");
    rr[2] = rec("web", "Deployment", "frontend", "team=web", "");
    cw_chroma_records c = { .items = rr, .len = 3 };
    cw_search_results r;
    CU_ASSERT_EQUAL_FATAL(cw_search_rank(&c, NULL, "which caches", CW_SEARCH_LEXICAL, 10, &r, NULL), 0);
    CU_ASSERT_EQUAL_FATAL(r.len, 2);
    /* the word itself first, then the product */
    CU_ASSERT_STRING_EQUAL(r.items[0].id, "data/x/ConfigMap/cache-settings");
    CU_ASSERT_STRING_EQUAL(r.items[1].id, "data/x/StatefulSet/sessions-redis");
    CU_ASSERT(r.items[1].bm25 > 0 && r.items[1].bm25 < r.items[0].bm25);
    cw_search_results_free(&r);

    /* a kind named: no workload preference */
    CU_ASSERT_EQUAL_FATAL(cw_search_rank(&c, NULL, "config maps", CW_SEARCH_HYBRID, 3, &r, NULL), 0);
    CU_ASSERT_STRING_EQUAL(r.intent_kind, "ConfigMap");
    CU_ASSERT_STRING_EQUAL(r.items[0].id, "data/x/ConfigMap/cache-settings");
    for (size_t i = 0; i < r.len; i++)
        CU_ASSERT_DOUBLE_EQUAL(r.items[i].workload_part, 0, 1e-12);
    cw_search_results_free(&r);
}

static void test_request_bounds(void)
{
    cw_error err;
    cw_search_request q = { .query = "x", .n = 10 };
    CU_ASSERT_EQUAL(cw_search_request_check(&q, NULL), 0);
    q.n = 101;
    cw_error_clear(&err);
    CU_ASSERT_EQUAL(cw_search_request_check(&q, &err), -1);
    CU_ASSERT_STRING_EQUAL(err.msg, "n: wants a number from 1 to 100");
    q.n = 1;
    q.query = "";
    cw_error_clear(&err);
    CU_ASSERT_EQUAL(cw_search_request_check(&q, &err), -1);
    CU_ASSERT_STRING_EQUAL(err.msg, "q: the query is empty");
    CU_ASSERT_EQUAL(cw_search_mode_parse("hybrid"), CW_SEARCH_HYBRID);
    CU_ASSERT_EQUAL(cw_search_mode_parse("bm25"), -1);
}

static void test_params_query_string(void)
{
    cw_search_request q;
    cw_error err;
    unsigned seen = 0;
    cw_search_request_init(&q);
    CU_ASSERT_EQUAL(q.n, 10);
    CU_ASSERT_EQUAL(cw_search_request_param(&q, &seen, "q", "databases", 9, NULL), 0);
    CU_ASSERT_EQUAL(cw_search_request_param(&q, &seen, "n", "5", 1, NULL), 0);
    CU_ASSERT_EQUAL(cw_search_request_param(&q, &seen, "namespace", "data", 4, NULL), 0);
    CU_ASSERT_EQUAL(cw_search_request_param(&q, &seen, "ranking", "lexical", 7, NULL), 0);
    CU_ASSERT_EQUAL(cw_search_request_param(&q, &seen, "explain", "", 0, NULL), 0);
    CU_ASSERT_STRING_EQUAL(q.query, "databases");
    CU_ASSERT_EQUAL(q.n, 5);
    CU_ASSERT_STRING_EQUAL(q.ns, "data");
    CU_ASSERT_PTR_NULL(q.kind);
    CU_ASSERT_EQUAL(q.mode, CW_SEARCH_LEXICAL);
    CU_ASSERT_EQUAL(q.explain, 1);
    CU_ASSERT_EQUAL(cw_search_request_check(&q, NULL), 0);

    static const struct { const char *key, *value; size_t len; const char *msg; } bad[] = {
        { "q", "again", 5, "q: given more than once" },
        { "query", "again", 5, "q: given more than once" },
        { "nn", "1", 1, "unknown parameter 'nn' (expected query (or q), n, kind, namespace, ranking, explain)" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cw_error_clear(&err);
        CU_ASSERT_EQUAL(cw_search_request_param(&q, &seen, bad[i].key, bad[i].value, bad[i].len, &err), -1);
        CU_ASSERT_STRING_EQUAL(err.msg, bad[i].msg);
    }
    static const struct { const char *key, *value; size_t len; const char *msg; } bad1[] = {
        { "n", "0", 1, "n: wants a number from 1 to 100" },
        { "n", "101", 3, "n: wants a number from 1 to 100" },
        { "n", "-1", 2, "n: wants a number from 1 to 100" },
        { "n", "5x", 2, "n: wants a number from 1 to 100" },
        { "n", "", 0, "n: wants a number from 1 to 100" },
        { "ranking", "bm25", 4, "ranking: wants hybrid, vector or lexical" },
        { "explain", "yes", 3, "explain: wants true or false" },
        { "kind", "a\0b", 3, "kind: not valid UTF-8, or holds a NUL byte" },
        { "q", "\xc0\xaf", 2, "q: not valid UTF-8, or holds a NUL byte" },
    };
    for (size_t i = 0; i < sizeof bad1 / sizeof bad1[0]; i++) {
        unsigned s1 = 0;
        cw_search_request_init(&q);
        cw_error_clear(&err);
        CU_ASSERT_EQUAL(cw_search_request_param(&q, &s1, bad1[i].key, bad1[i].value, bad1[i].len, &err), -1);
        CU_ASSERT_STRING_EQUAL(err.msg, bad1[i].msg);
    }
    /* bounds come from the check */
    char big[CW_SEARCH_MAX_QUERY + 2];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    seen = 0;
    cw_search_request_init(&q);
    CU_ASSERT_EQUAL(cw_search_request_param(&q, &seen, "q", big, strlen(big), NULL), 0);
    cw_error_clear(&err);
    CU_ASSERT_EQUAL(cw_search_request_check(&q, &err), -1);
    CU_ASSERT_STRING_EQUAL(err.msg, "q: the query is longer than 1024 bytes");
}

static void test_params_json(void)
{
    static const struct { const char *json; const char *msg; } cases[] = {
        { "{\"query\":\"db\",\"n\":3,\"kind\":\"StatefulSet\",\"namespace\":null,\"ranking\":\"vector\",\"explain\":true}", NULL },
        { "{\"q\":\"db\"}", NULL },
        { "{}", "query: missing" },
        { "[]", "the parameters must be a JSON object" },
        { "{\"query\":null}", "query: wants a string" },
        { "{\"query\":5}", "query: wants a string" },
        { "{\"query\":\"\"}", "q: the query is empty" },
        { "{\"query\":\"x\",\"q\":\"y\"}", "query: given more than once" },
        { "{\"query\":\"x\",\"n\":\"5\"}", "n: wants a number from 1 to 100" },
        { "{\"query\":\"x\",\"n\":2.5}", "n: wants a number from 1 to 100" },
        { "{\"query\":\"x\",\"n\":1000}", "n: wants a number from 1 to 100" },
        { "{\"query\":\"x\",\"explain\":1}", "explain: wants true or false" },
        { "{\"query\":\"x\",\"kind\":[]}", "kind: wants a string" },
        { "{\"query\":\"x\",\"kind\":\"\"}", "kind: wants 1 to 256 bytes" },
        { "{\"query\":\"x\",\"extra\":1}", "unknown parameter 'extra' (expected query (or q), n, kind, namespace, ranking, explain)" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        json_object *o = json_tokener_parse(cases[i].json);
        CU_ASSERT_PTR_NOT_NULL_FATAL(o);
        cw_search_request q;
        cw_error err;
        cw_error_clear(&err);
        int rc = cw_search_request_from_json(&q, o, &err);
        if (cases[i].msg == NULL) {
            CU_ASSERT_EQUAL(rc, 0);
            if (i == 0) {
                CU_ASSERT_STRING_EQUAL(q.query, "db");
                CU_ASSERT_EQUAL(q.n, 3);
                CU_ASSERT_STRING_EQUAL(q.kind, "StatefulSet");
                CU_ASSERT_PTR_NULL(q.ns);
                CU_ASSERT_EQUAL(q.mode, CW_SEARCH_VECTOR);
                CU_ASSERT_EQUAL(q.explain, 1);
            }
        } else {
            CU_ASSERT_EQUAL(rc, -1);
            CU_ASSERT_STRING_EQUAL(err.msg, cases[i].msg);
            if (strcmp(err.msg, cases[i].msg) != 0)
                printf("\n  case %zu: %s\n", i, err.msg);
        }
        json_object_put(o);
    }
}

static void test_instance_json(void)
{
    cw_chroma_record r = { .id = "data/apps/v1/StatefulSet/pg", .namespace = "data", .kind = "StatefulSet",
                           .name = "pg", .api_version = "apps/v1", .api_group = "apps", .labels = "app=pg",
                           .document = "StatefulSet pg | namespace: data" };
    char *j = cw_search_instance_json(&r);
    CU_ASSERT_STRING_EQUAL(j, "{\"id\":\"data/apps/v1/StatefulSet/pg\",\"cluster\":null,\"namespace\":\"data\","
                              "\"kind\":\"StatefulSet\",\"name\":\"pg\",\"apiVersion\":\"apps/v1\",\"apiGroup\":\"apps\","
                              "\"labels\":\"app=pg\",\"document\":\"StatefulSet pg | namespace: data\"}");
    free(j);
}

int main(void)
{
    CU_TestInfo tests[] = {
        { "terms: split, CamelCase, plurals", test_terms },
        { "lexical ranks names", test_lexical_ranks_names },
        { "intent: kind and scope", test_intent_kind_and_scope },
        { "vector mode keeps Chroma's order; exact JSON; hybrid ties by id", test_vector_mode_keeps_chroma_order_and_json },
        { "related products of a word; kind named, no workload preference", test_related_products },
        { "request bounds", test_request_bounds },
        { "parameters from a query string", test_params_query_string },
        { "parameters from JSON", test_params_json },
        { "one instance as JSON", test_instance_json },
        CU_TEST_INFO_NULL,
    };
    return cw_test_run("search", tests);
}
