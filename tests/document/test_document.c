/* cw_document: instance → text + metadata, against the reference strings
 * of instanceToDocument() (DESIGN §4). */
#include "cw_test.h"
#include "document.h"
#include "nginx_instance.h"

static void test_reference_deployment(void)
{
    cw_resource_instance in = nginx();
    cw_document doc;
    cw_error err;
    cw_error_clear(&err);
    CU_ASSERT_EQUAL_FATAL(cw_document_from_instance(&in, &doc, &err), 0);
    CU_ASSERT_EQUAL(err.code, CW_OK);
    CU_ASSERT_STRING_EQUAL(doc.id, "default/apps/v1/Deployment/nginx");
    CU_ASSERT_STRING_EQUAL(doc.text,
        "Deployment nginx | namespace: default | apiVersion: apps/v1 | "
        "labels: app=nginx, tier=frontend | Main web server");
    CU_ASSERT_STRING_EQUAL(doc.namespace, "default");
    CU_ASSERT_STRING_EQUAL(doc.name, "nginx");
    CU_ASSERT_STRING_EQUAL(doc.kind, "Deployment");
    CU_ASSERT_STRING_EQUAL(doc.api_version, "apps/v1");
    CU_ASSERT_STRING_EQUAL(doc.api_group, "apps");
    CU_ASSERT_STRING_EQUAL(doc.labels, "app=nginx,tier=frontend");
    CU_ASSERT_STRING_EQUAL(CW_DOCUMENT_SOURCE, "resource-sync");
    cw_document_clear(&doc);
    CU_ASSERT_PTR_NULL(doc.text);
    CU_ASSERT_PTR_NULL(doc.id);
}

static void test_two_annotations_joined(void)
{
    cw_str_pair ann[] = { { "a", "First" }, { "b", "Second" } };
    cw_resource_instance in = nginx();
    in.annotations.items = ann;
    in.annotations.len = 2;
    cw_document doc;
    CU_ASSERT_EQUAL_FATAL(cw_document_from_instance(&in, &doc, NULL), 0);
    CU_ASSERT_STRING_EQUAL(doc.text,
        "Deployment nginx | namespace: default | apiVersion: apps/v1 | "
        "labels: app=nginx, tier=frontend | First. Second");
    cw_document_clear(&doc);
}

/* null labels/annotations arrive from the parser as empty maps. */
static void test_no_labels_no_annotations(void)
{
    cw_resource_instance in = nginx();
    in.labels.items = NULL;
    in.labels.len = 0;
    in.annotations.items = NULL;
    in.annotations.len = 0;
    cw_document doc;
    CU_ASSERT_EQUAL_FATAL(cw_document_from_instance(&in, &doc, NULL), 0);
    CU_ASSERT_STRING_EQUAL(doc.text,
        "Deployment nginx | namespace: default | apiVersion: apps/v1");
    CU_ASSERT_STRING_EQUAL(doc.labels, "");
    cw_document_clear(&doc);
}

static void test_labels_only(void)
{
    cw_resource_instance in = nginx();
    in.annotations.len = 0;
    cw_document doc;
    CU_ASSERT_EQUAL_FATAL(cw_document_from_instance(&in, &doc, NULL), 0);
    CU_ASSERT_STRING_EQUAL(doc.text,
        "Deployment nginx | namespace: default | apiVersion: apps/v1 | "
        "labels: app=nginx, tier=frontend");
    CU_ASSERT_STRING_EQUAL(doc.labels, "app=nginx,tier=frontend");
    cw_document_clear(&doc);
}

static void test_annotations_only(void)
{
    cw_resource_instance in = nginx();
    in.labels.len = 0;
    cw_document doc;
    CU_ASSERT_EQUAL_FATAL(cw_document_from_instance(&in, &doc, NULL), 0);
    CU_ASSERT_STRING_EQUAL(doc.text,
        "Deployment nginx | namespace: default | apiVersion: apps/v1 | Main web server");
    CU_ASSERT_STRING_EQUAL(doc.labels, "");
    cw_document_clear(&doc);
}

static void test_cluster_scoped_core_group(void)
{
    cw_str_pair labels[] = { { "kubernetes.io/metadata.name", "kube-system" } };
    cw_resource_instance in = {
        .id = "_cluster/v1/Namespace/kube-system",
        .namespace = "_cluster",
        .name = "kube-system",
        .kind = "Namespace",
        .api_version = "v1",
        .api_group = "",
        .labels = { labels, 1 },
        .annotations = { NULL, 0 },
        .created_at = "2026-01-01T00:00:00Z",
    };
    cw_document doc;
    CU_ASSERT_EQUAL_FATAL(cw_document_from_instance(&in, &doc, NULL), 0);
    CU_ASSERT_STRING_EQUAL(doc.text,
        "Namespace kube-system | namespace: _cluster | apiVersion: v1 | "
        "labels: kubernetes.io/metadata.name=kube-system");
    CU_ASSERT_STRING_EQUAL(doc.namespace, "_cluster");
    CU_ASSERT_STRING_EQUAL(doc.api_group, "");
    CU_ASSERT_STRING_EQUAL(doc.labels, "kubernetes.io/metadata.name=kube-system");
    cw_document_clear(&doc);
}

/* Order is the payload's, not sorted. */
static void test_payload_order_kept(void)
{
    cw_str_pair labels[] = { { "zeta", "1" }, { "alpha", "2" }, { "mid", "" } };
    cw_str_pair ann[] = { { "z", "Last key first." }, { "a", "" } };
    cw_resource_instance in = nginx();
    in.labels.items = labels;
    in.labels.len = 3;
    in.annotations.items = ann;
    in.annotations.len = 2;
    cw_document doc;
    CU_ASSERT_EQUAL_FATAL(cw_document_from_instance(&in, &doc, NULL), 0);
    CU_ASSERT_STRING_EQUAL(doc.text,
        "Deployment nginx | namespace: default | apiVersion: apps/v1 | "
        "labels: zeta=1, alpha=2, mid= | Last key first.. ");
    CU_ASSERT_STRING_EQUAL(doc.labels, "zeta=1,alpha=2,mid=");
    cw_document_clear(&doc);
}

static void test_copy_and_clear(void)
{
    cw_resource_instance in = nginx();
    cw_document doc, copy;
    CU_ASSERT_EQUAL_FATAL(cw_document_from_instance(&in, &doc, NULL), 0);
    CU_ASSERT_EQUAL_FATAL(cw_document_copy(&doc, &copy, NULL), 0);
    CU_ASSERT_PTR_NOT_EQUAL(copy.text, doc.text);
    CU_ASSERT_STRING_EQUAL(copy.text, doc.text);
    CU_ASSERT_STRING_EQUAL(copy.id, doc.id);
    CU_ASSERT_STRING_EQUAL(copy.labels, doc.labels);
    CU_ASSERT_STRING_EQUAL(copy.api_group, "apps");
    cw_document_clear(&doc);
    cw_document_clear(&copy);
    cw_document_clear(&copy);   /* clearing twice is fine */
    cw_document_clear(NULL);
}

/* Through the generated parser: Go nil maps arrive as JSON null. */
static void test_parsed_payload(void)
{
    static const char body[] =
        "{\"upserts\":["
        "{\"id\":\"default/apps/v1/Deployment/nginx\",\"namespace\":\"default\","
        "\"name\":\"nginx\",\"kind\":\"Deployment\",\"apiVersion\":\"apps/v1\","
        "\"apiGroup\":\"apps\",\"labels\":{\"app\":\"nginx\",\"tier\":\"frontend\"},"
        "\"annotations\":{\"description\":\"Main web server\"},"
        "\"createdAt\":\"2026-01-15T10:30:00Z\"},"
        "{\"id\":\"_cluster/v1/Node/worker-1\",\"namespace\":\"_cluster\","
        "\"name\":\"worker-1\",\"kind\":\"Node\",\"apiVersion\":\"v1\","
        "\"apiGroup\":\"\",\"labels\":null,\"annotations\":null,"
        "\"createdAt\":\"2026-01-15T10:30:00Z\"}],"
        "\"deletes\":null}";
    cw_sync_payload payload;
    cw_issues issues;
    cw_issues_init(&issues);
    CU_ASSERT_EQUAL_FATAL(cw_sync_payload_parse(body, sizeof body - 1, &payload, &issues), 0);
    CU_ASSERT_EQUAL_FATAL(payload.upserts.len, 2);
    cw_document a, b;
    CU_ASSERT_EQUAL_FATAL(cw_document_from_instance(&payload.upserts.items[0], &a, NULL), 0);
    CU_ASSERT_EQUAL_FATAL(cw_document_from_instance(&payload.upserts.items[1], &b, NULL), 0);
    cw_sync_payload_free(&payload);     /* documents own their strings */
    CU_ASSERT_STRING_EQUAL(a.text,
        "Deployment nginx | namespace: default | apiVersion: apps/v1 | "
        "labels: app=nginx, tier=frontend | Main web server");
    CU_ASSERT_STRING_EQUAL(a.labels, "app=nginx,tier=frontend");
    CU_ASSERT_STRING_EQUAL(b.text, "Node worker-1 | namespace: _cluster | apiVersion: v1");
    CU_ASSERT_STRING_EQUAL(b.labels, "");
    CU_ASSERT_STRING_EQUAL(b.api_group, "");
    CU_ASSERT_STRING_EQUAL(b.id, "_cluster/v1/Node/worker-1");
    cw_document_clear(&a);
    cw_document_clear(&b);
}

static CU_TestInfo tests[] = {
    { "reference deployment text and metadata", test_reference_deployment },
    { "two annotations joined by '. '", test_two_annotations_joined },
    { "no labels, no annotations", test_no_labels_no_annotations },
    { "labels only", test_labels_only },
    { "annotations only", test_annotations_only },
    { "cluster-scoped, core group", test_cluster_scoped_core_group },
    { "payload order kept, empty values", test_payload_order_kept },
    { "copy and clear", test_copy_and_clear },
    { "parsed payload, null labels/annotations", test_parsed_payload },
    CU_TEST_INFO_NULL,
};

int main(void)
{
    return cw_test_run("document", tests);
}
