/* cw_cluster (src/document/cluster.h): DNS-1123 names with their exact
 * messages, id qualification, the ids refused in a request of no cluster,
 * and the document of an instance in a cluster against the reference's. */
#include "cluster.h"
#include "cw_test.h"
#include "document.h"
#include "nginx_instance.h"

static void expect_bad(const char *name, size_t len, const char *msg)
{
    cw_error err;
    cw_error_clear(&err);
    CU_ASSERT_EQUAL(cw_cluster_name_check(name, len, &err), -1);
    CU_ASSERT_EQUAL(err.code, CW_E_INVALID);
    CU_ASSERT_STRING_EQUAL(err.msg, msg);
}

#define RULE "a DNS-1123 label: 1-63 characters of a-z, 0-9 and '-', starting and ending with a letter or digit"

static void test_names_accepted(void)
{
    static const char *const ok[] = {
        "a", "0", "prod", "prod-eu", "prod-eu-1", "1prod", "a-b-c-d", "x--y",
        "abcdefghijklmnopqrstuvwxyz0123456789-abcdefghijklmnopqrstuvwxyz",   /* 63 */
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        cw_error err;
        cw_error_clear(&err);
        CU_ASSERT_EQUAL(cw_cluster_name_check(ok[i], strlen(ok[i]), &err), 0);
        CU_ASSERT_EQUAL(err.code, CW_OK);
    }
    CU_ASSERT_EQUAL(strlen(ok[8]), 63);
}

static void test_names_refused(void)
{
    expect_bad("", 0, "cluster name is empty (it must be " RULE ")");
    expect_bad(NULL, 0, "cluster name is empty (it must be " RULE ")");
    char long64[65];
    memset(long64, 'a', 64);
    long64[64] = '\0';
    expect_bad(long64, 64, "cluster name of 64 bytes is too long (at most 63: " RULE ")");
    expect_bad("Prod", 4, "cluster name 'Prod' is not " RULE " ('P' at position 1)");
    expect_bad("prod_eu", 7, "cluster name 'prod_eu' is not " RULE " ('_' at position 5)");
    expect_bad("prod.eu", 7, "cluster name 'prod.eu' is not " RULE " ('.' at position 5)");
    expect_bad("prod:eu", 7, "cluster name 'prod:eu' is not " RULE " (':' at position 5)");
    expect_bad("-prod", 5, "cluster name '-prod' is not " RULE " ('-' at the start)");
    expect_bad("prod-", 5, "cluster name 'prod-' is not " RULE " ('-' at the end)");
    expect_bad("-", 1, "cluster name '-' is not " RULE " ('-' at the start)");
    /* not echoed: a space, a quote, a NUL, non-ASCII */
    expect_bad("pr od", 5, "cluster name is not " RULE " (byte 0x20 at position 3)");
    expect_bad("it's", 4, "cluster name is not " RULE " (''' at position 3)");
    expect_bad("a\0b", 3, "cluster name is not " RULE " (byte 0x00 at position 2)");
    expect_bad("pr\xc3\xa9", 4, "cluster name is not " RULE " (byte 0xc3 at position 3)");
}

static void test_name_length_is_the_given_one(void)
{
    cw_error err;
    cw_error_clear(&err);
    CU_ASSERT_EQUAL(cw_cluster_name_check("prod-", 4, &err), 0);   /* "prod" */
    CU_ASSERT_EQUAL(cw_cluster_name_check("prod", 4, NULL), 0);
    CU_ASSERT_EQUAL(cw_cluster_name_check("Prod", 4, NULL), -1);   /* NULL err is fine */
}

static void test_qualify(void)
{
    char *s = cw_cluster_qualify("prod-eu", "default/apps/v1/Deployment/nginx");
    CU_ASSERT_STRING_EQUAL(s, "prod-eu:default/apps/v1/Deployment/nginx");
    CU_ASSERT_EQUAL(cw_cluster_of_id(s), 7);
    CU_ASSERT_EQUAL(cw_cluster_id_is_qualified(s), 1);
    free(s);
    s = cw_cluster_qualify(NULL, "default/apps/v1/Deployment/nginx");
    CU_ASSERT_STRING_EQUAL(s, "default/apps/v1/Deployment/nginx");
    CU_ASSERT_EQUAL(cw_cluster_of_id(s), 0);
    free(s);
    s = cw_cluster_qualify("a", "");
    CU_ASSERT_STRING_EQUAL(s, "a:");
    free(s);
    /* an id that holds ':' itself stays apart: the name ends at the first ':' */
    s = cw_cluster_qualify("x", "y:z");
    CU_ASSERT_STRING_EQUAL(s, "x:y:z");
    CU_ASSERT_EQUAL(cw_cluster_of_id(s), 1);
    free(s);
}

static void test_qualified_shape(void)
{
    static const struct { const char *id; size_t cluster; } cases[] = {
        { "prod:default/apps/v1/Deployment/nginx", 4 },
        { "a:", 1 },
        { "default/apps/v1/Deployment/nginx", 0 },
        { "_cluster/v1/Node/worker-1", 0 },
        { "default/v1/ConfigMap/a:b", 0 },        /* ':' after a '/' */
        { "Prod:x", 0 },                           /* not a label before the ':' */
        { ":x", 0 },
        { "-a:x", 0 },
        { "", 0 },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        CU_ASSERT_EQUAL(cw_cluster_of_id(cases[i].id), cases[i].cluster);
        CU_ASSERT_EQUAL(cw_cluster_id_is_qualified(cases[i].id), cases[i].cluster > 0);
    }
    CU_ASSERT_EQUAL(cw_cluster_of_id(NULL), 0);
}

/* Every (cluster, id) pair maps to its own stored id, and no stored id of
 * a cluster equals an id a request of no cluster may use. */
static void test_qualification_is_injective(void)
{
    static const char *const clusters[] = { "a", "a-b", "ab", "b" };
    static const char *const ids[] = { "x", "b:x", "-b:x", "ab:x", "a-b:x", "" };
    char *all[4 * 6];
    size_t n = 0;
    for (size_t c = 0; c < 4; c++)
        for (size_t i = 0; i < 6; i++)
            all[n++] = cw_cluster_qualify(clusters[c], ids[i]);
    for (size_t i = 0; i < n; i++) {
        for (size_t j = i + 1; j < n; j++)
            CU_ASSERT(strcmp(all[i], all[j]) != 0);
        CU_ASSERT_EQUAL(cw_cluster_id_is_qualified(all[i]), 1);
    }
    for (size_t i = 0; i < n; i++)
        free(all[i]);
}

static void test_payload_issues(void)
{
    const char *dels[] = { "default/apps/v1/Deployment/a", "prod:default/apps/v1/Deployment/a" };
    cw_resource_instance ups[2] = {
        { .id = "eu-1:x", .namespace = "", .name = "", .kind = "", .api_version = "", .api_group = "" },
        { .id = "default/v1/Service/y", .namespace = "", .name = "", .kind = "", .api_version = "",
          .api_group = "" },
    };
    cw_sync_payload p;
    memset(&p, 0, sizeof p);
    p.deletes.items = dels;
    p.deletes.len = 2;
    p.upserts.items = ups;
    p.upserts.len = 2;
    cw_issues issues;
    cw_issues_init(&issues);
    CU_ASSERT_EQUAL(cw_cluster_payload_issues(&p, "prod", &issues), 0);
    CU_ASSERT_EQUAL(issues.len, 0);
    CU_ASSERT_EQUAL(cw_cluster_payload_issues(&p, NULL, &issues), 2);
    CU_ASSERT_EQUAL_FATAL(issues.len, 2);
    char *json = cw_issues_to_json(&issues);
    CU_ASSERT_STRING_EQUAL(json,
        "{\"error\":\"Invalid payload\",\"details\":["
        "{\"path\":[\"deletes\",1],\"code\":\"cluster_qualified_id\",\"message\":\"id 'prod:...' reads as an "
        "id of cluster 'prod' (NAME:...): name the cluster in the URL (?cluster=NAME) or drop the prefix\"},"
        "{\"path\":[\"upserts\",0,\"id\"],\"code\":\"cluster_qualified_id\",\"message\":\"id 'eu-1:...' reads "
        "as an id of cluster 'eu-1' (NAME:...): name the cluster in the URL (?cluster=NAME) or drop the "
        "prefix\"}]}");
    free(json);
}

static void test_document_in_cluster(void)
{
    cw_resource_instance in = nginx();
    cw_document doc;
    cw_error err;
    cw_error_clear(&err);
    CU_ASSERT_EQUAL_FATAL(cw_document_from_instance_in(&in, "prod-eu", &doc, &err), 0);
    CU_ASSERT_STRING_EQUAL(doc.id, "prod-eu:default/apps/v1/Deployment/nginx");
    CU_ASSERT_STRING_EQUAL(doc.text,
        "Deployment nginx | namespace: default | cluster: prod-eu | apiVersion: apps/v1 | "
        "labels: app=nginx, tier=frontend | Main web server");
    CU_ASSERT_STRING_EQUAL(doc.cluster, "prod-eu");
    CU_ASSERT_STRING_EQUAL(doc.namespace, "default");
    CU_ASSERT_STRING_EQUAL(doc.name, "nginx");
    CU_ASSERT_STRING_EQUAL(doc.labels, "app=nginx,tier=frontend");
    cw_document copy;
    CU_ASSERT_EQUAL_FATAL(cw_document_copy(&doc, &copy, NULL), 0);
    CU_ASSERT_STRING_EQUAL(copy.cluster, "prod-eu");
    CU_ASSERT_STRING_EQUAL(copy.id, doc.id);
    cw_document_clear(&copy);
    cw_document_clear(&doc);
    CU_ASSERT_PTR_NULL(doc.cluster);
}

/* No cluster: every byte as the reference's, and no cluster field. */
static void test_document_no_cluster_unchanged(void)
{
    cw_resource_instance in = nginx();
    cw_document a, b;
    CU_ASSERT_EQUAL_FATAL(cw_document_from_instance_in(&in, NULL, &a, NULL), 0);
    CU_ASSERT_EQUAL_FATAL(cw_document_from_instance(&in, &b, NULL), 0);
    CU_ASSERT_STRING_EQUAL(a.id, "default/apps/v1/Deployment/nginx");
    CU_ASSERT_STRING_EQUAL(a.text,
        "Deployment nginx | namespace: default | apiVersion: apps/v1 | "
        "labels: app=nginx, tier=frontend | Main web server");
    CU_ASSERT_STRING_EQUAL(a.text, b.text);
    CU_ASSERT_STRING_EQUAL(a.id, b.id);
    CU_ASSERT_PTR_NULL(a.cluster);
    CU_ASSERT_PTR_NULL(b.cluster);
    cw_document copy;
    CU_ASSERT_EQUAL_FATAL(cw_document_copy(&a, &copy, NULL), 0);
    CU_ASSERT_PTR_NULL(copy.cluster);
    cw_document_clear(&copy);
    cw_document_clear(&a);
    cw_document_clear(&b);
}

static CU_TestInfo tests[] = {
    { "DNS-1123 names accepted", test_names_accepted },
    { "names refused, exact messages", test_names_refused },
    { "the given length is the name", test_name_length_is_the_given_one },
    { "qualify an id", test_qualify },
    { "the qualified shape", test_qualified_shape },
    { "qualification is injective", test_qualification_is_injective },
    { "qualified ids in a request of no cluster", test_payload_issues },
    { "document in a cluster: id, text, metadata", test_document_in_cluster },
    { "document of no cluster: the reference's bytes", test_document_no_cluster_unchanged },
    CU_TEST_INFO_NULL,
};

int main(void)
{
    return cw_test_run("cluster", tests);
}
