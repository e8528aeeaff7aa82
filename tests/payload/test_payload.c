/* The generated sync payload parser (generated/sync_payload.c) and its
 * runtime (src/schema_rt): every case of the reference's schema tests,
 * the hostile inputs of DESIGN §6b, and the runtime's checks on their own;
 * the CRD payload (generated/crd_sync_payload.c); every type and format of
 * the schema language (all_types.schema, compiled at build time). Each
 * case asserts the parsed values or the exact issue path/code/message. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cw_test.h"
#include "all_types.h"
#include "crd_sync_payload.h"
#include "schema_rt.h"
#include "sync_payload.h"

#define INSTANCE_FIELDS(id, name)                                              \
    "\"id\":\"" id "\",\"namespace\":\"default\",\"name\":\"" name "\","         \
    "\"kind\":\"Deployment\",\"apiVersion\":\"apps/v1\",\"apiGroup\":\"apps\","  \
    "\"createdAt\":\"2024-01-15T10:30:00Z\""

/* A valid instance with `extra` appended inside the object. */
#define INSTANCE(extra) "{" INSTANCE_FIELDS("default/apps/v1/Deployment/nginx", "nginx") extra "}"
#define UPSERTS(inst) "{\"upserts\":[" inst "]}"

static cw_sync_payload P;
static cw_issues I;

static int parse_n(const char *body, size_t len)
{
    return cw_sync_payload_parse(body, len, &P, &I);
}

static int parse(const char *body)
{
    return parse_n(body, strlen(body));
}

/* Body must be accepted; if not, the test stops here (what follows reads
 * the parsed struct, which is then zeroed). */
#define EXPECT_OK(body)                                                       \
    do {                                                                      \
        int rc_ = parse(body);                                                \
        if (rc_ != 0) {                                                       \
            char *j_ = cw_issues_to_json(&I);                                 \
            fprintf(stderr, "\n%s:%d unexpected issues: %s\n", __FILE__, __LINE__, j_); \
            free(j_);                                                         \
        }                                                                     \
        CU_ASSERT_EQUAL_FATAL(rc_, 0);                                        \
    } while (0)

/* The parse failed, `out` is zeroed, and issue 0 is exactly path/code/message. */
static void check_first_issue(int rc, const char *path, const char *code, const char *message,
                              int line)
{
    CU_ASSERT_EQUAL(rc, -1);
    CU_ASSERT_PTR_NULL(P.arena_);
    CU_ASSERT_PTR_NULL(P.upserts.items);
    CU_ASSERT_EQUAL(P.upserts.len, 0);
    CU_ASSERT_PTR_NULL(P.deletes.items);
    CU_ASSERT_TRUE(I.len >= 1);
    if (rc != -1 || I.len < 1) {
        fprintf(stderr, "\n%s:%d expected an issue %s %s\n", __FILE__, line, path, code);
        return;
    }
    CU_ASSERT_STRING_EQUAL(I.items[0].path, path);
    CU_ASSERT_STRING_EQUAL(I.items[0].code, code);
    if (message != NULL)
        CU_ASSERT_STRING_EQUAL(I.items[0].message, message);
    if (strcmp(I.items[0].path, path) != 0 || strcmp(I.items[0].code, code) != 0 ||
        (message != NULL && strcmp(I.items[0].message, message) != 0))
        fprintf(stderr, "\n%s:%d got %s %s \"%s\"\n", __FILE__, line, I.items[0].path,
                I.items[0].code, I.items[0].message);
}

#define EXPECT_ISSUE(body, path, code, message) \
    check_first_issue(parse(body), path, code, message, __LINE__)
#define EXPECT_ISSUE_N(body, len, path, code, message) \
    check_first_issue(parse_n(body, len), path, code, message, __LINE__)

/* ---- the reference's schema tests ---------------------------------------- */

static void test_valid_instance(void)
{
    EXPECT_OK("{\"upserts\":[{"
              INSTANCE_FIELDS("default/apps/v1/Deployment/nginx", "nginx") ","
              "\"labels\":{\"app\":\"nginx\",\"tier\":\"web\"},"
              "\"annotations\":{\"description\":\"Web server\",\"owner\":\"team-a\"}}],"
              "\"deletes\":[\"default/v1/Pod/old\"]}");
    CU_ASSERT_EQUAL_FATAL(P.upserts.len, 1);
    const cw_resource_instance *r = &P.upserts.items[0];
    CU_ASSERT_STRING_EQUAL(r->id, "default/apps/v1/Deployment/nginx");
    CU_ASSERT_STRING_EQUAL(r->namespace, "default");
    CU_ASSERT_STRING_EQUAL(r->name, "nginx");
    CU_ASSERT_STRING_EQUAL(r->kind, "Deployment");
    CU_ASSERT_STRING_EQUAL(r->api_version, "apps/v1");
    CU_ASSERT_STRING_EQUAL(r->api_group, "apps");
    CU_ASSERT_STRING_EQUAL(r->created_at, "2024-01-15T10:30:00Z");
    CU_ASSERT_EQUAL_FATAL(r->labels.len, 2);
    CU_ASSERT_STRING_EQUAL(r->labels.items[0].key, "app");
    CU_ASSERT_STRING_EQUAL(r->labels.items[0].value, "nginx");
    CU_ASSERT_STRING_EQUAL(r->labels.items[1].key, "tier");
    CU_ASSERT_STRING_EQUAL(r->labels.items[1].value, "web");
    CU_ASSERT_EQUAL_FATAL(r->annotations.len, 2);
    CU_ASSERT_STRING_EQUAL(r->annotations.items[0].key, "description");
    CU_ASSERT_STRING_EQUAL(r->annotations.items[0].value, "Web server");
    CU_ASSERT_STRING_EQUAL(r->annotations.items[1].key, "owner");
    CU_ASSERT_STRING_EQUAL(r->annotations.items[1].value, "team-a");
    CU_ASSERT_EQUAL_FATAL(P.deletes.len, 1);
    CU_ASSERT_STRING_EQUAL(P.deletes.items[0], "default/v1/Pod/old");
    CU_ASSERT_EQUAL(I.len, 0);
    cw_sync_payload_free(&P);
    CU_ASSERT_PTR_NULL(P.arena_);
    CU_ASSERT_PTR_NULL(P.upserts.items);
}

static void test_labels_annotations_omitted(void)
{
    EXPECT_OK(UPSERTS(INSTANCE("")));
    CU_ASSERT_EQUAL_FATAL(P.upserts.len, 1);
    CU_ASSERT_EQUAL(P.upserts.items[0].labels.len, 0);
    CU_ASSERT_PTR_NULL(P.upserts.items[0].labels.items);
    CU_ASSERT_EQUAL(P.upserts.items[0].annotations.len, 0);
    CU_ASSERT_PTR_NULL(P.upserts.items[0].annotations.items);
    cw_sync_payload_free(&P);
}

static void test_labels_annotations_null(void)
{
    EXPECT_OK(UPSERTS(INSTANCE(",\"labels\":null,\"annotations\":null")));
    CU_ASSERT_EQUAL_FATAL(P.upserts.len, 1);
    CU_ASSERT_EQUAL(P.upserts.items[0].labels.len, 0);
    CU_ASSERT_EQUAL(P.upserts.items[0].annotations.len, 0);
    cw_sync_payload_free(&P);
}

static void test_labels_annotations_empty(void)
{
    EXPECT_OK(UPSERTS(INSTANCE(",\"labels\":{},\"annotations\":{}")));
    CU_ASSERT_EQUAL_FATAL(P.upserts.len, 1);
    CU_ASSERT_EQUAL(P.upserts.items[0].labels.len, 0);
    CU_ASSERT_EQUAL(P.upserts.items[0].annotations.len, 0);
    cw_sync_payload_free(&P);
}

static void test_missing_required_fields(void)
{
    static const char *const fields[] = {
        "id", "namespace", "name", "kind", "apiVersion", "apiGroup", "createdAt",
    };
    static const char *const values[] = {
        "\"id\":\"x\"", "\"namespace\":\"default\"", "\"name\":\"n\"", "\"kind\":\"Pod\"",
        "\"apiVersion\":\"v1\"", "\"apiGroup\":\"\"", "\"createdAt\":\"2024-01-15T10:30:00Z\"",
    };
    for (size_t skip = 0; skip < 7; skip++) {
        char body[1024], path[128];
        size_t n = (size_t)snprintf(body, sizeof body, "{\"upserts\":[{");
        int first = 1;
        for (size_t i = 0; i < 7; i++) {
            if (i == skip)
                continue;
            n += (size_t)snprintf(body + n, sizeof body - n, "%s%s", first ? "" : ",", values[i]);
            first = 0;
        }
        snprintf(body + n, sizeof body - n, "}]}");
        snprintf(path, sizeof path, "[\"upserts\",0,\"%s\"]", fields[skip]);
        EXPECT_ISSUE(body, path, "required", "required field is missing");
        CU_ASSERT_EQUAL(I.len, 1);
        CU_ASSERT_EQUAL(I.total, 1);
    }
}

static void test_every_missing_field_reported_in_order(void)
{
    EXPECT_ISSUE("{\"upserts\":[{\"id\":\"x\"}]}", "[\"upserts\",0,\"namespace\"]", "required",
                  "required field is missing");
    CU_ASSERT_EQUAL_FATAL(I.len, 6);
    CU_ASSERT_STRING_EQUAL(I.items[1].path, "[\"upserts\",0,\"name\"]");
    CU_ASSERT_STRING_EQUAL(I.items[2].path, "[\"upserts\",0,\"kind\"]");
    CU_ASSERT_STRING_EQUAL(I.items[3].path, "[\"upserts\",0,\"apiVersion\"]");
    CU_ASSERT_STRING_EQUAL(I.items[4].path, "[\"upserts\",0,\"apiGroup\"]");
    CU_ASSERT_STRING_EQUAL(I.items[5].path, "[\"upserts\",0,\"createdAt\"]");
}

static void test_non_string_field_values(void)
{
    EXPECT_ISSUE("{\"upserts\":[{\"id\":\"x\",\"namespace\":\"default\",\"name\":123,"
                  "\"kind\":\"Pod\",\"apiVersion\":\"v1\",\"apiGroup\":\"\","
                  "\"createdAt\":\"2024-01-15T10:30:00Z\"}]}",
                  "[\"upserts\",0,\"name\"]", "invalid_type", "expected string, got number");
    CU_ASSERT_EQUAL(I.len, 1);
    EXPECT_ISSUE("{\"upserts\":[{\"id\":true,\"namespace\":[],\"name\":{},"
                  "\"kind\":null,\"apiVersion\":1.5,\"apiGroup\":\"\","
                  "\"createdAt\":\"2024-01-15T10:30:00Z\"}]}",
                  "[\"upserts\",0,\"id\"]", "invalid_type", "expected string, got boolean");
    CU_ASSERT_EQUAL_FATAL(I.len, 5);
    CU_ASSERT_STRING_EQUAL(I.items[1].message, "expected string, got array");
    CU_ASSERT_STRING_EQUAL(I.items[2].message, "expected string, got object");
    CU_ASSERT_STRING_EQUAL(I.items[3].path, "[\"upserts\",0,\"kind\"]");
    CU_ASSERT_STRING_EQUAL(I.items[3].message, "expected string, got null");
    CU_ASSERT_STRING_EQUAL(I.items[4].message, "expected string, got number");
}

static void test_non_string_label_values(void)
{
    EXPECT_ISSUE(UPSERTS(INSTANCE(",\"labels\":{\"app\":\"ok\",\"replicas\":3}")),
                 "[\"upserts\",0,\"labels\",\"replicas\"]", "invalid_type",
                 "expected string, got number");
    EXPECT_ISSUE(UPSERTS(INSTANCE(",\"annotations\":{\"a\":null}")),
                 "[\"upserts\",0,\"annotations\",\"a\"]", "invalid_type",
                 "expected string, got null");
    EXPECT_ISSUE(UPSERTS(INSTANCE(",\"labels\":[\"a=b\"]")),
                 "[\"upserts\",0,\"labels\"]", "invalid_type", "expected object, got array");
    EXPECT_ISSUE(UPSERTS(INSTANCE(",\"labels\":\"a=b\"")),
                 "[\"upserts\",0,\"labels\"]", "invalid_type", "expected object, got string");
}

static void test_upserts_deletes_omitted(void)
{
    EXPECT_OK("{\"deletes\":[\"a\"]}");
    CU_ASSERT_EQUAL(P.upserts.len, 0);
    CU_ASSERT_PTR_NULL(P.upserts.items);
    CU_ASSERT_EQUAL(P.deletes.len, 1);
    cw_sync_payload_free(&P);
    EXPECT_OK(UPSERTS(INSTANCE("")));
    CU_ASSERT_EQUAL(P.upserts.len, 1);
    CU_ASSERT_EQUAL(P.deletes.len, 0);
    CU_ASSERT_PTR_NULL(P.deletes.items);
    cw_sync_payload_free(&P);
}

static void test_upserts_deletes_null(void)
{
    EXPECT_OK("{\"upserts\":null,\"deletes\":[\"default/v1/Pod/x\"]}");
    CU_ASSERT_EQUAL(P.upserts.len, 0);
    CU_ASSERT_EQUAL(P.deletes.len, 1);
    cw_sync_payload_free(&P);
    EXPECT_OK("{\"upserts\":[" INSTANCE("") "],\"deletes\":null}");
    CU_ASSERT_EQUAL(P.upserts.len, 1);
    CU_ASSERT_EQUAL(P.deletes.len, 0);
    cw_sync_payload_free(&P);
    EXPECT_OK("{\"upserts\":null,\"deletes\":null}");
    CU_ASSERT_EQUAL(P.upserts.len, 0);
    CU_ASSERT_EQUAL(P.deletes.len, 0);
    cw_sync_payload_free(&P);
}

static void test_empty_payload(void)
{
    EXPECT_OK("{\"upserts\":[],\"deletes\":[]}");
    CU_ASSERT_EQUAL(P.upserts.len, 0);
    CU_ASSERT_EQUAL(P.deletes.len, 0);
    CU_ASSERT_EQUAL(I.total, 0);
    cw_sync_payload_free(&P);
}

static void test_empty_object(void)
{
    EXPECT_OK("{}");
    CU_ASSERT_EQUAL(P.upserts.len, 0);
    CU_ASSERT_EQUAL(P.deletes.len, 0);
    cw_sync_payload_free(&P);
}

static void test_multiple_upserts(void)
{
    EXPECT_OK("{\"upserts\":["
              "{" INSTANCE_FIELDS("default/apps/v1/Deployment/a", "a") "},"
              "{" INSTANCE_FIELDS("default/apps/v1/Deployment/b", "b") ",\"labels\":{\"x\":\"1\"}},"
              "{" INSTANCE_FIELDS("default/apps/v1/Deployment/c", "c") "}],"
              "\"deletes\":[\"d1\",\"d2\"]}");
    CU_ASSERT_EQUAL_FATAL(P.upserts.len, 3);
    CU_ASSERT_STRING_EQUAL(P.upserts.items[0].name, "a");
    CU_ASSERT_STRING_EQUAL(P.upserts.items[1].name, "b");
    CU_ASSERT_STRING_EQUAL(P.upserts.items[2].name, "c");
    CU_ASSERT_STRING_EQUAL(P.upserts.items[2].id, "default/apps/v1/Deployment/c");
    CU_ASSERT_EQUAL(P.upserts.items[1].labels.len, 1);
    CU_ASSERT_EQUAL_FATAL(P.deletes.len, 2);
    CU_ASSERT_STRING_EQUAL(P.deletes.items[0], "d1");
    CU_ASSERT_STRING_EQUAL(P.deletes.items[1], "d2");
    cw_sync_payload_free(&P);
}

static void test_error_in_second_upsert(void)
{
    EXPECT_ISSUE("{\"upserts\":[" INSTANCE("") ",{" INSTANCE_FIELDS("x", "y")
                 ",\"createdAt\":\"yesterday\"}]}",
                 "[\"upserts\",1,\"createdAt\"]", "invalid_datetime",
                 "expected a UTC datetime YYYY-MM-DDTHH:MM:SS[.fraction]Z");
}

static void test_invalid_instance_shape(void)
{
    EXPECT_ISSUE("{\"upserts\":[\"not an instance\"]}", "[\"upserts\",0]", "invalid_type",
                 "expected object, got string");
    EXPECT_ISSUE("{\"upserts\":[null]}", "[\"upserts\",0]", "invalid_type",
                 "expected object, got null");
    EXPECT_ISSUE("{\"upserts\":[[]]}", "[\"upserts\",0]", "invalid_type",
                 "expected object, got array");
    EXPECT_ISSUE("{\"upserts\":{}}", "[\"upserts\"]", "invalid_type",
                 "expected array, got object");
    EXPECT_ISSUE("{\"upserts\":\"x\"}", "[\"upserts\"]", "invalid_type",
                 "expected array, got string");
}

static void test_non_string_deletes(void)
{
    EXPECT_ISSUE("{\"deletes\":[\"ok\",123]}", "[\"deletes\",1]", "invalid_type",
                 "expected string, got number");
    EXPECT_ISSUE("{\"deletes\":[null]}", "[\"deletes\",0]", "invalid_type",
                 "expected string, got null");
    EXPECT_ISSUE("{\"deletes\":\"a\"}", "[\"deletes\"]", "invalid_type",
                 "expected array, got string");
}

static void test_non_object_payloads(void)
{
    EXPECT_ISSUE("[]", "[]", "not_object", "expected a JSON object, got array");
    EXPECT_ISSUE("[{\"upserts\":[]}]", "[]", "not_object", "expected a JSON object, got array");
    EXPECT_ISSUE("\"string\"", "[]", "not_object", "expected a JSON object, got string");
    EXPECT_ISSUE("42", "[]", "not_object", "expected a JSON object, got number");
    EXPECT_ISSUE("true", "[]", "not_object", "expected a JSON object, got boolean");
    EXPECT_ISSUE("null", "[]", "not_object", "expected a JSON object, got null");
}

/* ---- stricter than the reference ------------------------------------------ */

static void test_empty_id_and_delete(void)
{
    EXPECT_ISSUE(UPSERTS("{" INSTANCE_FIELDS("", "n") "}"), "[\"upserts\",0,\"id\"]", "empty",
                 "must not be empty");
    EXPECT_ISSUE("{\"deletes\":[\"\"]}", "[\"deletes\",0]", "empty", "must not be empty");
}

static void test_max_lengths(void)
{
    size_t idlen = 2049;
    char *body = malloc(idlen + 512);
    char *id = malloc(idlen + 1);
    CU_ASSERT_FATAL(body != NULL && id != NULL);
    memset(id, 'a', idlen);
    id[idlen] = '\0';
    snprintf(body, idlen + 512, "{\"deletes\":[\"%s\"]}", id);
    EXPECT_ISSUE(body, "[\"deletes\",0]", "too_long", "longer than 2048 bytes");
    id[2048] = '\0';   /* exactly the limit */
    snprintf(body, idlen + 512, "{\"deletes\":[\"%s\"]}", id);
    EXPECT_OK(body);
    cw_sync_payload_free(&P);
    free(id);
    free(body);

    /* A 64 KiB label value is fine, one byte more is not. */
    size_t vlen = 65537;
    char *val = malloc(vlen + 1);
    body = malloc(vlen + 1024);
    CU_ASSERT_FATAL(val != NULL && body != NULL);
    memset(val, 'v', vlen);
    val[vlen] = '\0';
    snprintf(body, vlen + 1024, UPSERTS(INSTANCE(",\"labels\":{\"big\":\"%s\"}")), val);
    EXPECT_ISSUE(body, "[\"upserts\",0,\"labels\",\"big\"]", "too_long", "longer than 65536 bytes");
    val[65536] = '\0';
    snprintf(body, vlen + 1024, UPSERTS(INSTANCE(",\"labels\":{\"big\":\"%s\"}")), val);
    EXPECT_OK(body);
    CU_ASSERT_EQUAL(strlen(P.upserts.items[0].labels.items[0].value), 65536);
    cw_sync_payload_free(&P);
    free(val);
    free(body);
}

static void test_controller_shapes(void)
{
    /* Cluster-scoped resource, core group, Go nil maps and slices. */
    EXPECT_OK("{\"upserts\":[{\"id\":\"_cluster/v1/Namespace/kube-system\","
              "\"namespace\":\"_cluster\",\"name\":\"kube-system\",\"kind\":\"Namespace\","
              "\"apiVersion\":\"v1\",\"apiGroup\":\"\",\"labels\":null,\"annotations\":null,"
              "\"createdAt\":\"2024-01-15T10:30:00Z\"}],\"deletes\":null}");
    CU_ASSERT_STRING_EQUAL(P.upserts.items[0].api_group, "");
    CU_ASSERT_STRING_EQUAL(P.upserts.items[0].namespace, "_cluster");
    cw_sync_payload_free(&P);
}

/* ---- hostile input --------------------------------------------------------- */

static void test_deep_nesting_100k(void)
{
    size_t n = 100000;
    char *body = malloc(n + 1);
    CU_ASSERT_FATAL(body != NULL);
    memset(body, '[', n);
    body[n] = '\0';
    EXPECT_ISSUE_N(body, n, "[]", "too_deep", "JSON nesting is deeper than 8 levels");
    CU_ASSERT_EQUAL(I.len, 1);

    /* Objects inside a valid prefix, too. */
    size_t off = (size_t)snprintf(body, n, "{\"upserts\":");
    for (size_t i = off; i + 5 < n; i += 5)
        memcpy(body + i, "{\"a\":", 5);
    EXPECT_ISSUE_N(body, n - (n - off) % 5, "[]", "too_deep", "JSON nesting is deeper than 8 levels");
    free(body);
}

static void test_nesting_at_the_limit(void)
{
    /* 8 levels: root object + 7 nested arrays in an ignored field. */
    EXPECT_OK("{\"x\":[[[[[[[1]]]]]]]}");
    cw_sync_payload_free(&P);
    EXPECT_ISSUE("{\"x\":[[[[[[[[1]]]]]]]]}", "[]", "too_deep",
                 "JSON nesting is deeper than 8 levels");
}

static void test_utf8_valid_multibyte(void)
{
    EXPECT_OK(UPSERTS(INSTANCE(",\"labels\":{\"caf\xc3\xa9\":\"\xe2\x98\x83 \xf0\x9f\x98\x80 \xf4\x8f\xbf\xbf\"}")));
    CU_ASSERT_STRING_EQUAL(P.upserts.items[0].labels.items[0].key, "caf\xc3\xa9");
    CU_ASSERT_STRING_EQUAL(P.upserts.items[0].labels.items[0].value,
                           "\xe2\x98\x83 \xf0\x9f\x98\x80 \xf4\x8f\xbf\xbf");
    cw_sync_payload_free(&P);
    /* Escapes: a surrogate pair becomes one 4-byte sequence. */
    EXPECT_OK("{\"deletes\":[\"\\u00e9\\ud83d\\ude00\"]}");
    CU_ASSERT_STRING_EQUAL(P.deletes.items[0], "\xc3\xa9\xf0\x9f\x98\x80");
    cw_sync_payload_free(&P);
}

#define BAD_UTF8_MSG "string is not valid UTF-8 or contains NUL (\\u0000)"

static void test_utf8_overlong(void)
{
    EXPECT_ISSUE("{\"deletes\":[\"a\xc0\xaf\"]}", "[\"deletes\",0]", "invalid_utf8", BAD_UTF8_MSG);
    EXPECT_ISSUE("{\"deletes\":[\"\xc1\xbf\"]}", "[\"deletes\",0]", "invalid_utf8", BAD_UTF8_MSG);
    EXPECT_ISSUE("{\"deletes\":[\"\xe0\x80\xaf\"]}", "[\"deletes\",0]", "invalid_utf8", BAD_UTF8_MSG);
    EXPECT_ISSUE("{\"deletes\":[\"\xf0\x80\x80\xaf\"]}", "[\"deletes\",0]", "invalid_utf8", BAD_UTF8_MSG);
}

static void test_utf8_surrogates(void)
{
    EXPECT_ISSUE(UPSERTS("{" INSTANCE_FIELDS("x", "\xed\xa0\x80") "}"),
                 "[\"upserts\",0,\"name\"]", "invalid_utf8", BAD_UTF8_MSG);
    EXPECT_ISSUE("{\"deletes\":[\"\xed\xbf\xbf\"]}", "[\"deletes\",0]", "invalid_utf8", BAD_UTF8_MSG);
    /* U+D7FF and U+E000 on either side are fine. */
    EXPECT_OK("{\"deletes\":[\"\xed\x9f\xbf\xee\x80\x80\"]}");
    cw_sync_payload_free(&P);
}

static void test_utf8_above_max(void)
{
    EXPECT_ISSUE("{\"deletes\":[\"\xf4\x90\x80\x80\"]}", "[\"deletes\",0]", "invalid_utf8", BAD_UTF8_MSG);
    EXPECT_ISSUE("{\"deletes\":[\"\xf5\x80\x80\x80\"]}", "[\"deletes\",0]", "invalid_utf8", BAD_UTF8_MSG);
    EXPECT_ISSUE("{\"deletes\":[\"\xff\"]}", "[\"deletes\",0]", "invalid_utf8", BAD_UTF8_MSG);
}

static void test_utf8_truncated(void)
{
    EXPECT_ISSUE("{\"deletes\":[\"\xe2\x82\"]}", "[\"deletes\",0]", "invalid_utf8", BAD_UTF8_MSG);
    EXPECT_ISSUE("{\"deletes\":[\"\xf0\x9f\x98\"]}", "[\"deletes\",0]", "invalid_utf8", BAD_UTF8_MSG);
    EXPECT_ISSUE("{\"deletes\":[\"\xc3\"]}", "[\"deletes\",0]", "invalid_utf8", BAD_UTF8_MSG);
    EXPECT_ISSUE("{\"deletes\":[\"\x80\"]}", "[\"deletes\",0]", "invalid_utf8", BAD_UTF8_MSG);
    /* A truncated body (ends inside a sequence inside a string). */
    EXPECT_ISSUE("{\"deletes\":[\"\xe2\x82", "[]", "invalid_json", NULL);
}

static void test_nul_escape(void)
{
    EXPECT_ISSUE("{\"deletes\":[\"a\\u0000b\"]}", "[\"deletes\",0]", "invalid_utf8", BAD_UTF8_MSG);
    EXPECT_ISSUE(UPSERTS(INSTANCE(",\"labels\":{\"k\":\"\\u0000\"}")),
                 "[\"upserts\",0,\"labels\",\"k\"]", "invalid_utf8", BAD_UTF8_MSG);
    /* json-c cuts a key at its NUL: caught from the raw text. */
    EXPECT_ISSUE("{\"up\\u0000serts\":[]}", "[]", "invalid_utf8",
                 "object key contains NUL (\\u0000)");
    /* An escaped backslash followed by u0000 is a plain string. */
    EXPECT_OK("{\"deletes\":[\"\\\\u0000\"]}");
    CU_ASSERT_STRING_EQUAL(P.deletes.items[0], "\\u0000");
    cw_sync_payload_free(&P);
}

static void test_raw_nul_byte(void)
{
    static const char body[] = "{\"deletes\":[\"a\0b\"]}";
    EXPECT_ISSUE_N(body, sizeof body - 1, "[]", "invalid_json", NULL);
}

static void test_bad_utf8_in_ignored_places(void)
{
    EXPECT_ISSUE("{\"extra\":{\"a\":[1,\"\xff\"]}}", "[\"extra\",\"a\",1]", "invalid_utf8",
                 BAD_UTF8_MSG);
    EXPECT_ISSUE(UPSERTS(INSTANCE(",\"x\xff\":1")), "[\"upserts\",0]", "invalid_utf8",
                 "object key is not valid UTF-8");
    EXPECT_ISSUE("{\"\xc0\x80\":1}", "[]", "invalid_utf8", "object key is not valid UTF-8");
}

/* Every class of invalid UTF-8 (RFC 3629 §4 table) in every kind of place:
 * a typed value, a map key and value, an ignored key, an ignored value
 * deep in nested arrays. */
static void test_utf8_every_class_everywhere(void)
{
    static const char *const bad[] = {
        "\x80", "\xbf", "\xc0\x80", "\xc1\xbf", "\xc2", "\xc2\x41", "\xdf\xc0",
        "\xe0\x80\x80", "\xe0\x9f\xbf", "\xe0\xa0", "\xe1\x80", "\xe1\x41\x80",
        "\xed\xa0\x80", "\xed\xbf\xbf", "\xee\x80", "\xef\xbf\x41",
        "\xf0\x80\x80\x80", "\xf0\x8f\xbf\xbf", "\xf0\x90\x80", "\xf1\x80\x80",
        "\xf3\xbf\xbf\x41", "\xf4\x90\x80\x80", "\xf4\xbf\xbf\xbf", "\xf5\x80\x80\x80",
        "\xf7\xbf\xbf\xbf", "\xf8\x88\x80\x80\x80", "\xfc\x84\x80\x80\x80\x80", "\xfe", "\xff",
    };
    static const struct { const char *tmpl; const char *path; const char *message; } places[] = {
        { "{\"deletes\":[\"a%sb\"]}", "[\"deletes\",0]", BAD_UTF8_MSG },
        { UPSERTS("{" INSTANCE_FIELDS("x", "n%s") "}"), "[\"upserts\",0,\"name\"]", BAD_UTF8_MSG },
        { UPSERTS(INSTANCE(",\"labels\":{\"k\":\"%s\"}")), "[\"upserts\",0,\"labels\",\"k\"]",
          BAD_UTF8_MSG },
        { UPSERTS(INSTANCE(",\"labels\":{\"k%s\":\"v\"}")), "[\"upserts\",0,\"labels\"]",
          "object key is not valid UTF-8" },
        { "{\"x%s\":1}", "[]", "object key is not valid UTF-8" },
        { "{\"x\":[[[[[[\"ok\",\"%s\"]]]]]]}", "[\"x\",0,0,0,0,0,1]", BAD_UTF8_MSG },
        { UPSERTS(INSTANCE(",\"ignored\":[{\"a\":[\"%s\"]}]")),
          "[\"upserts\",0,\"ignored\",0,\"a\",0]", BAD_UTF8_MSG },
        { UPSERTS(INSTANCE(",\"ignored\":[{\"a%s\":1}]")), "[\"upserts\",0,\"ignored\",0]",
          "object key is not valid UTF-8" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        CU_ASSERT_EQUAL(cw_rt_utf8_valid(bad[i], strlen(bad[i])), 0);
        for (size_t j = 0; j < sizeof places / sizeof places[0]; j++) {
            char body[1024];
            snprintf(body, sizeof body, places[j].tmpl, bad[i]);
            EXPECT_ISSUE(body, places[j].path, "invalid_utf8", places[j].message);
            if (I.len < 1 || strcmp(I.items[0].code, "invalid_utf8") != 0)
                fprintf(stderr, "\nclass %zu accepted in place %zu\n", i, j);
        }
    }
}

/* The raw-text scan reads plain string bytes 8 at a time: whatever needs
 * a look (bad UTF-8, a raw control character, a quote or backslash, a
 * \u escape, good multi-byte UTF-8) is found at every offset of a word,
 * in a string value and in a key, and reported as one byte at a time
 * would. */
static void test_scan_every_offset(void)
{
    static const char *const places[] = {
        "{\"deletes\":[\"%s\"]}",
        UPSERTS(INSTANCE(",\"labels\":{\"%s\":\"v\"}")),
    };
    static const char *const paths[] = { "[\"deletes\",0]", "[\"upserts\",0,\"labels\"]" };
    static const char *const utf8_msgs[] = {
        BAD_UTF8_MSG, "object key is not valid UTF-8",
    };
    for (size_t j = 0; j < 2; j++) {
        for (size_t off = 0; off < 24; off++) {
            char str[64], body[1024];
            memset(str, 'a', 40);
            str[40] = '\0';

            memcpy(str + off, "\xed\xa0\x80", 3);         /* an encoded surrogate */
            snprintf(body, sizeof body, places[j], str);
            EXPECT_ISSUE(body, paths[j], "invalid_utf8", utf8_msgs[j]);

            memset(str, 'a', 40);
            str[off] = '\x85';                            /* a lone continuation byte */
            snprintf(body, sizeof body, places[j], str);
            EXPECT_ISSUE(body, paths[j], "invalid_utf8", utf8_msgs[j]);

            memset(str, 'a', 40);
            str[off] = '\x01';                            /* a raw control character */
            snprintf(body, sizeof body, places[j], str);
            EXPECT_ISSUE(body, "[]", "invalid_json",
                         "malformed JSON: control character in a string");

            memset(str, 'a', 40);
            memcpy(str + off, "\\u0000", 6);              /* an escaped NUL */
            snprintf(body, sizeof body, places[j], str);
            EXPECT_ISSUE(body, j == 0 ? paths[0] : "[]", "invalid_utf8",
                         j == 0 ? BAD_UTF8_MSG : "object key contains NUL (\\u0000)");

            memset(str, 'a', 40);
            memcpy(str + off, "\\u00e9", 6);              /* an escape that decodes to é */
            snprintf(body, sizeof body, places[j], str);
            EXPECT_OK(body);
            char want_e[64];
            memset(want_e, 'a', 40);
            memcpy(want_e + off, "\xc3\xa9", 2);
            want_e[36] = '\0';
            CU_ASSERT_STRING_EQUAL(j == 0 ? P.deletes.items[0] : P.upserts.items[0].labels.items[0].key,
                                   want_e);
            cw_sync_payload_free(&P);

            memset(str, 'a', 40);
            memcpy(str + off, "\xf0\x9f\x98\x80\\\"\\\\", 8); /* emoji, \" and \\ are fine */
            snprintf(body, sizeof body, places[j], str);
            EXPECT_OK(body);
            char want[64];
            memset(want, 'a', 40);
            memcpy(want + off, "\xf0\x9f\x98\x80\"\\", 6);
            want[38] = '\0';
            CU_ASSERT_STRING_EQUAL(j == 0 ? P.deletes.items[0] : P.upserts.items[0].labels.items[0].key,
                                   want);
            cw_sync_payload_free(&P);
        }
    }
}

static void test_trailing_garbage(void)
{
    EXPECT_ISSUE("{}x", "[]", "invalid_json", "malformed JSON: unexpected character");
    EXPECT_ISSUE("{} ,", "[]", "invalid_json", "malformed JSON: unexpected character");
    EXPECT_ISSUE_N("{}\0", 3, "[]", "invalid_json",
                   "unexpected data after the JSON value at byte 2");
    EXPECT_OK("{} \n\t\r");
    cw_sync_payload_free(&P);
    EXPECT_OK(" \n{}");
    cw_sync_payload_free(&P);
}

static void test_two_documents(void)
{
    EXPECT_ISSUE("{}{}", "[]", "invalid_json", "malformed JSON: unexpected character");
    EXPECT_ISSUE("{\"deletes\":[\"a\"]}\n{\"deletes\":[\"b\"]}", "[]", "invalid_json",
                 "malformed JSON: unexpected character");
}

static void test_empty_and_whitespace_bodies(void)
{
    EXPECT_ISSUE_N("", 0, "[]", "invalid_json", "body is empty");
    EXPECT_ISSUE(" \t\r\n ", "[]", "invalid_json", "body is empty");
    CU_ASSERT_EQUAL(I.len, 1);
    CU_ASSERT_EQUAL(I.total, 1);
}

static void test_malformed_json(void)
{
    EXPECT_ISSUE("{\"upserts\":[", "[]", "invalid_json", "malformed JSON: unexpected end of data");
    EXPECT_ISSUE("{\"a\":1,}", "[]", "invalid_json", "malformed JSON: unexpected character");
    EXPECT_ISSUE("{a:1}", "[]", "invalid_json",
                 "malformed JSON: quoted object property name expected");
    EXPECT_ISSUE("{\"a\":'x'}", "[]", "invalid_json", "malformed JSON: unexpected character");
    EXPECT_ISSUE("{\"a\":01}", "[]", "invalid_json", "malformed JSON: number expected");
}

/* Issue 11: an escape of a lone UTF-16 surrogate is refused at its path,
 * never replaced by U+FFFD (two ids would alias); a pair is decoded. */
static void test_lone_surrogate_escapes(void)
{
    static const char *const lone[] = { "\\ud800", "\\udbff", "\\udc00", "\\udfff",
                                        "a\\ud800b", "\\ud800\\u0041", "\\udc00\\ud800" };
    for (size_t i = 0; i < sizeof lone / sizeof lone[0]; i++) {
        char body[256];
        snprintf(body, sizeof body, "{\"deletes\":[\"ok\",\"%s\"]}", lone[i]);
        EXPECT_ISSUE(body, "[\"deletes\",1]", "invalid_utf8",
                     "string has a \\u escape of a lone UTF-16 surrogate");
        snprintf(body, sizeof body, UPSERTS(INSTANCE(",\"labels\":{\"%s\":\"v\"}")), lone[i]);
        EXPECT_ISSUE(body, "[\"upserts\",0,\"labels\"]", "invalid_utf8",
                     "object key is not valid UTF-8");
    }
    EXPECT_OK("{\"deletes\":[\"\\ud83d\\ude00\"]}");
    CU_ASSERT_STRING_EQUAL(P.deletes.items[0], "\xf0\x9f\x98\x80");
    cw_sync_payload_free(&P);
}

/* Issue 11: what strict RFC 8259 refuses and lax parsers take. */
static void test_rfc8259_strict(void)
{
    static const char *const bad[] = {
        "{'upserts':[]}", "{\"deletes\":['a']}", "{\"deletes\":[\"a\",]}", "{\"a\":1,}",
        "{/* c */}", "{\"a\":1} // c", "{\"a\":1}#", "{\"a\":[1 2]}", "{\"a\" 1}",
        "{\"a\":tru}", "{\"a\":+1}", "{\"a\":.5}", "{\"a\":\"\\x41\"}", "{\"a\":\"\\u12G4\"}",
        "{,}", "{\"a\":[,1]}", "{\"a\":1,,\"b\":2}", "\xef\xbb\xbf{}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        EXPECT_ISSUE(bad[i], "[]", "invalid_json", NULL);
        if (I.len < 1 || strcmp(I.items[0].code, "invalid_json") != 0)
            fprintf(stderr, "\naccepted: %s\n", bad[i]);
    }
}

static void test_not_finite_numbers(void)
{
    static const char *const bodies[] = {
        "{\"x\":NaN}", "{\"x\":Infinity}", "{\"x\":-Infinity}", "{\"x\":1e999}", "{\"x\":-1e999}",
    };
    for (size_t i = 0; i < sizeof bodies / sizeof bodies[0]; i++)
        EXPECT_ISSUE(bodies[i], "[\"x\"]", "invalid_number", "number is NaN, Infinity or out of range");
    /* Wherever they appear: deep in an ignored field, or in a typed field. */
    EXPECT_ISSUE(UPSERTS(INSTANCE(",\"extra\":{\"v\":[0,NaN]}")),
                 "[\"upserts\",0,\"extra\",\"v\",1]", "invalid_number", NULL);
    EXPECT_ISSUE(UPSERTS("{" INSTANCE_FIELDS("x", "y") ",\"name\":Infinity}"),
                 "[\"upserts\",0,\"name\"]", "invalid_number", NULL);
    /* Finite numbers in ignored fields are fine. */
    EXPECT_OK("{\"x\":[1.5e308,-0,12345678901234567890123.5,1e-400]}");
    cw_sync_payload_free(&P);
}

/* json-c's strict mode still takes raw control characters inside strings;
 * RFC 8259 (and JSON.parse) do not. */
static void test_control_chars_in_strings(void)
{
    static const char *const bodies[] = {
        "{\"deletes\":[\"a\nb\"]}", "{\"deletes\":[\"a\tb\"]}", "{\"deletes\":[\"\x1f\"]}",
        "{\"x\":{\"y\":[\"\r\"]}}", "{\"k\x01\":1}",
    };
    for (size_t i = 0; i < sizeof bodies / sizeof bodies[0]; i++)
        EXPECT_ISSUE(bodies[i], "[]", "invalid_json",
                     "malformed JSON: control character in a string");
    EXPECT_ISSUE(UPSERTS(INSTANCE(",\"labels\":{\"a\":\"x\ny\"}")), "[]", "invalid_json",
                 "malformed JSON: control character in a string");
    /* Escaped, and DEL, are fine. */
    EXPECT_OK("{\"deletes\":[\"a\\nb\\t\\u001f\x7f\"]}");
    CU_ASSERT_STRING_EQUAL(P.deletes.items[0], "a\nb\t\x1f\x7f");
    cw_sync_payload_free(&P);
}

/* json-c's strict mode still takes `1.`, `1.e5`, `00` and `-01`. */
static void test_numbers_rfc8259(void)
{
    static const char *const bad[] = {
        "{\"x\":1.}", "{\"x\":1.e5}", "{\"x\":00}", "{\"x\":-01}", "{\"x\":[0,-00]}",
        "{\"x\":{\"y\":[2.E3]}}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        EXPECT_ISSUE(bad[i], "[]", "invalid_json", "malformed JSON: invalid number");
    EXPECT_OK("{\"x\":[0,-0,0.5,-0.0e-0,1E+2,1e-2,10,-10,123.456e7],\"y\":\"1.\"}");
    cw_sync_payload_free(&P);
}

/* An integer literal beyond 64 bits is out of range like 1e999: json-c
 * would silently clamp it to 2^64-1 or -2^63. */
static void test_huge_integers(void)
{
    char big[401], body[1400];
    memset(big, '9', 400);
    big[400] = '\0';

    snprintf(body, sizeof body, "{\"x\":%s}", big);
    EXPECT_ISSUE(body, "[\"x\"]", "invalid_number", "number is NaN, Infinity or out of range");
    snprintf(body, sizeof body, "{\"x\":[1,-%s]}", big);
    EXPECT_ISSUE(body, "[\"x\",1]", "invalid_number", "number is NaN, Infinity or out of range");
    snprintf(body, sizeof body, UPSERTS(INSTANCE(",\"extra\":{\"v\":[0,%s]}")), big);
    EXPECT_ISSUE(body, "[\"upserts\",0,\"extra\",\"v\",1]", "invalid_number", NULL);
    snprintf(body, sizeof body, UPSERTS("{" INSTANCE_FIELDS("x", "y") ",\"name\":%s}"), big);
    EXPECT_ISSUE(body, "[\"upserts\",0,\"name\"]", "invalid_number", NULL);
    /* Dropped by a duplicate key: still refused, where it is (the scanner
     * sees it before the duplicate). */
    snprintf(body, sizeof body, "{\"x\":%s,\"x\":1}", big);
    EXPECT_ISSUE(body, "[\"x\"]", "invalid_number", "number is NaN, Infinity or out of range");
    /* The bounds themselves are read exactly; one past either is refused. */
    EXPECT_OK("{\"x\":[18446744073709551615,-9223372036854775808,9223372036854775807]}");
    cw_sync_payload_free(&P);
    EXPECT_ISSUE("{\"x\":[0,18446744073709551616]}", "[\"x\",1]", "invalid_number",
                 "number is NaN, Infinity or out of range");
    EXPECT_ISSUE("{\"x\":[0,-9223372036854775809]}", "[\"x\",1]", "invalid_number",
                 "number is NaN, Infinity or out of range");
    EXPECT_ISSUE("{\"x\":1180591620717411303424}", "[\"x\"]", "invalid_number",
                 "number is NaN, Infinity or out of range");
    /* As a double (fraction or exponent) the same magnitude is fine. */
    EXPECT_OK("{\"x\":[1180591620717411303424.0,1.2e21]}");
    cw_sync_payload_free(&P);
}

static void test_duplicate_keys_last_wins(void)
{
    EXPECT_OK("{\"upserts\":[{" INSTANCE_FIELDS("x", "first") ",\"name\":\"second\","
              "\"labels\":{\"a\":\"1\",\"b\":\"2\",\"a\":\"3\"}}],"
              "\"deletes\":[\"old\"],\"deletes\":[\"new\"]}");
    CU_ASSERT_STRING_EQUAL(P.upserts.items[0].name, "second");
    CU_ASSERT_EQUAL_FATAL(P.upserts.items[0].labels.len, 2);
    /* JSON.parse order: the key keeps its first position, with the last value. */
    CU_ASSERT_STRING_EQUAL(P.upserts.items[0].labels.items[0].key, "a");
    CU_ASSERT_STRING_EQUAL(P.upserts.items[0].labels.items[0].value, "3");
    CU_ASSERT_STRING_EQUAL(P.upserts.items[0].labels.items[1].key, "b");
    CU_ASSERT_EQUAL_FATAL(P.deletes.len, 1);
    CU_ASSERT_STRING_EQUAL(P.deletes.items[0], "new");
    cw_sync_payload_free(&P);
    /* A bad first value replaced by a good one is accepted, as JSON.parse would. */
    EXPECT_OK("{\"deletes\":5,\"deletes\":[\"a\"]}");
    cw_sync_payload_free(&P);
}

static void test_unknown_fields_ignored(void)
{
    EXPECT_OK("{\"version\":2,\"cluster\":{\"name\":\"prod\",\"tags\":[\"a\",{\"b\":null}]},"
              "\"upserts\":[{" INSTANCE_FIELDS("x", "y") ",\"status\":{\"phase\":\"Running\"},"
              "\"spec\":[1,2,{\"c\":true}],\"uid\":null}],\"deletes\":[],\"extra\":false}");
    CU_ASSERT_EQUAL_FATAL(P.upserts.len, 1);
    CU_ASSERT_STRING_EQUAL(P.upserts.items[0].name, "y");
    cw_sync_payload_free(&P);
}

static void test_datetimes_accepted(void)
{
    static const char *const ok[] = {
        "2024-01-15T10:30:00Z", "2024-01-15T10:30:00.1Z", "2024-01-15T10:30:00.123Z",
        "2024-01-15T10:30:00.123456Z", "2024-01-15T10:30:00.123456789Z",
        "2024-02-29T00:00:00Z", "2000-02-29T12:00:00Z", "1999-12-31T23:59:59Z",
        "2023-04-30T00:00:00Z", "0001-01-01T00:00:00Z",
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        char body[1024];
        snprintf(body, sizeof body, UPSERTS("{" INSTANCE_FIELDS("x", "y") ",\"createdAt\":\"%s\"}"),
                 ok[i]);
        EXPECT_OK(body);
        if (P.upserts.len == 1)
            CU_ASSERT_STRING_EQUAL(P.upserts.items[0].created_at, ok[i]);
        cw_sync_payload_free(&P);
    }
}

static void test_datetimes_rejected(void)
{
    static const char *const bad[] = {
        "2024-01-15T10:30:00+00:00",       /* offset */
        "2024-01-15T10:30:00-05:00",
        "2024-01-15T10:30:00",             /* missing Z */
        "2024-01-15T10:30:00.123",
        "2023-02-30T00:00:00Z",            /* 30 Feb */
        "2023-02-29T00:00:00Z",            /* not a leap year */
        "1900-02-29T00:00:00Z",            /* century, not a leap year */
        "2024-04-31T00:00:00Z",
        "2024-01-15T24:00:00Z",            /* hour 24 */
        "2024-01-15T10:60:00Z",
        "2024-01-15T10:30:60Z",
        "2024-13-01T00:00:00Z",
        "2024-00-01T00:00:00Z",
        "2024-01-00T00:00:00Z",
        "2024-01-15",                      /* date only */
        "2024-01-15T10:30:00.Z",           /* empty fraction */
        "2024-01-15T10:30:00.1234567890Z", /* 10 fraction digits */
        "2024-01-15t10:30:00Z",
        "2024-01-15T10:30:00z",
        "2024-01-15 10:30:00Z",
        "2024-1-15T10:30:00Z",
        "2024-01-15T10:30:00ZZ",
        "",
        "yesterday",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char body[1024];
        snprintf(body, sizeof body, UPSERTS("{" INSTANCE_FIELDS("x", "y") ",\"createdAt\":\"%s\"}"),
                 bad[i]);
        EXPECT_ISSUE(body, "[\"upserts\",0,\"createdAt\"]", "invalid_datetime",
                     "expected a UTC datetime YYYY-MM-DDTHH:MM:SS[.fraction]Z");
        if (I.len < 1 || strcmp(I.items[0].code, "invalid_datetime") != 0)
            fprintf(stderr, "\naccepted datetime: %s\n", bad[i]);
    }
}

/* ---- the issue list -------------------------------------------------------- */

static void test_issue_cap(void)
{
    char body[1024];
    size_t n = (size_t)snprintf(body, sizeof body, "{\"deletes\":[");
    for (int i = 0; i < 25; i++)
        n += (size_t)snprintf(body + n, sizeof body - n, "%s%d", i ? "," : "", i);
    snprintf(body + n, sizeof body - n, "]}");
    EXPECT_ISSUE(body, "[\"deletes\",0]", "invalid_type", "expected string, got number");
    CU_ASSERT_EQUAL(I.len, CW_ISSUES_MAX);
    CU_ASSERT_EQUAL(I.total, 25);
    CU_ASSERT_STRING_EQUAL(I.items[19].path, "[\"deletes\",19]");
}

static void test_issues_to_json(void)
{
    EXPECT_ISSUE("{\"upserts\":[{\"id\":\"\",\"namespace\":\"default\",\"name\":\"n\","
                 "\"kind\":\"Pod\",\"apiVersion\":\"v1\",\"apiGroup\":\"\","
                 "\"labels\":{\"a\\\"b\\\\c\":1},\"createdAt\":\"2024-01-15T10:30:00Z\"}]}",
                 "[\"upserts\",0,\"id\"]", "empty", "must not be empty");
    char *json = cw_issues_to_json(&I);
    CU_ASSERT_FATAL(json != NULL);
    CU_ASSERT_STRING_EQUAL(json,
        "{\"error\":\"Invalid payload\",\"details\":["
        "{\"path\":[\"upserts\",0,\"id\"],\"code\":\"empty\",\"message\":\"must not be empty\"},"
        "{\"path\":[\"upserts\",0,\"labels\",\"a\\\"b\\\\c\"],\"code\":\"invalid_type\","
        "\"message\":\"expected string, got number\"}]}");
    free(json);

    EXPECT_ISSUE("{\"deletes\":[\"\\u0000\"]}", "[\"deletes\",0]", "invalid_utf8", NULL);
    json = cw_issues_to_json(&I);
    CU_ASSERT_STRING_EQUAL(json,
        "{\"error\":\"Invalid payload\",\"details\":[{\"path\":[\"deletes\",0],"
        "\"code\":\"invalid_utf8\",\"message\":\"string is not valid UTF-8 or contains NUL (\\\\u0000)\"}]}");
    free(json);

    cw_issues empty;
    cw_issues_init(&empty);
    json = cw_issues_to_json(&empty);
    CU_ASSERT_STRING_EQUAL(json, "{\"error\":\"Invalid payload\",\"details\":[]}");
    free(json);
    CU_ASSERT_EQUAL(cw_issues_is_oom(&empty), 0);
}

static void test_long_key_in_path_is_shortened(void)
{
    char key[401], body[1024];
    memset(key, 'k', 400);
    key[400] = '\0';
    snprintf(body, sizeof body, UPSERTS(INSTANCE(",\"labels\":{\"%s\":1}")), key);
    EXPECT_ISSUE(body, "[\"upserts\",0,\"labels\",\"kkkkkkkkkkkkkkkkkkkkkkkk...\"]",
                 "invalid_type", "expected string, got number");
}

static void test_not_nul_terminated_input(void)
{
    static const char buf[] = "{\"deletes\":[\"a\"]}GARBAGE";
    CU_ASSERT_EQUAL_FATAL(parse_n(buf, sizeof buf - 1 - 7), 0);
    CU_ASSERT_STRING_EQUAL(P.deletes.items[0], "a");
    cw_sync_payload_free(&P);
}

static void test_free_null_and_zeroed(void)
{
    cw_sync_payload z;
    memset(&z, 0, sizeof z);
    cw_sync_payload_free(NULL);
    cw_sync_payload_free(&z);
    cw_sync_payload_free(&z);
    CU_ASSERT_PTR_NULL(z.arena_);
}

/* ---- the runtime checks on their own --------------------------------------- */

static void test_rt_utf8(void)
{
    CU_ASSERT_EQUAL(cw_rt_utf8_valid("", 0), 1);
    CU_ASSERT_EQUAL(cw_rt_utf8_valid("plain ascii", 11), 1);
    CU_ASSERT_EQUAL(cw_rt_utf8_valid("\xc2\x80", 2), 1);              /* U+0080 */
    CU_ASSERT_EQUAL(cw_rt_utf8_valid("\xdf\xbf", 2), 1);              /* U+07FF */
    CU_ASSERT_EQUAL(cw_rt_utf8_valid("\xe0\xa0\x80", 3), 1);          /* U+0800 */
    CU_ASSERT_EQUAL(cw_rt_utf8_valid("\xef\xbf\xbf", 3), 1);          /* U+FFFF */
    CU_ASSERT_EQUAL(cw_rt_utf8_valid("\xf0\x90\x80\x80", 4), 1);      /* U+10000 */
    CU_ASSERT_EQUAL(cw_rt_utf8_valid("\xf4\x8f\xbf\xbf", 4), 1);      /* U+10FFFF */
    CU_ASSERT_EQUAL(cw_rt_utf8_valid("a\0b", 3), 0);                  /* NUL */
    CU_ASSERT_EQUAL(cw_rt_utf8_valid("\xc0\x80", 2), 0);              /* overlong NUL */
    CU_ASSERT_EQUAL(cw_rt_utf8_valid("\xe0\x9f\xbf", 3), 0);          /* overlong U+07FF */
    CU_ASSERT_EQUAL(cw_rt_utf8_valid("\xf0\x8f\xbf\xbf", 4), 0);      /* overlong U+FFFF */
    CU_ASSERT_EQUAL(cw_rt_utf8_valid("\xed\xa0\x80", 3), 0);          /* U+D800 */
    CU_ASSERT_EQUAL(cw_rt_utf8_valid("\xed\xbf\xbf", 3), 0);          /* U+DFFF */
    CU_ASSERT_EQUAL(cw_rt_utf8_valid("\xf4\x90\x80\x80", 4), 0);      /* U+110000 */
    CU_ASSERT_EQUAL(cw_rt_utf8_valid("\xf8\x88\x80\x80\x80", 5), 0);  /* 5-byte form */
    CU_ASSERT_EQUAL(cw_rt_utf8_valid("\xe2\x82", 2), 0);              /* truncated */
    CU_ASSERT_EQUAL(cw_rt_utf8_valid("\xe2\x82\xac", 2), 0);          /* cut by len */
    CU_ASSERT_EQUAL(cw_rt_utf8_valid("\xe2\x28\xa1", 3), 0);          /* bad continuation */
    CU_ASSERT_EQUAL(cw_rt_utf8_valid("\xe2\x82\x28", 3), 0);
}

static void test_rt_datetime(void)
{
    CU_ASSERT_EQUAL(cw_rt_datetime_valid("2024-02-29T23:59:59Z", 20), 1);
    CU_ASSERT_EQUAL(cw_rt_datetime_valid("2024-02-29T23:59:59.000000001Z", 30), 1);
    CU_ASSERT_EQUAL(cw_rt_datetime_valid("2400-02-29T00:00:00Z", 20), 1);
    CU_ASSERT_EQUAL(cw_rt_datetime_valid("2100-02-29T00:00:00Z", 20), 0);
    CU_ASSERT_EQUAL(cw_rt_datetime_valid("2024-02-29T23:59:59Z", 19), 0);  /* cut before Z */
    CU_ASSERT_EQUAL(cw_rt_datetime_valid("2024-02-29T23:59:59.5", 21), 0);
    CU_ASSERT_EQUAL(cw_rt_datetime_valid("2024-12-31T23:59:59Z\0", 21), 0);
}

/* The last day of every month, and the day after it. */
static void test_rt_datetime_month_ends(void)
{
    static const struct { int year, month, last; } months[] = {
        { 2023, 1, 31 }, { 2023, 2, 28 }, { 2023, 3, 31 }, { 2023, 4, 30 }, { 2023, 5, 31 },
        { 2023, 6, 30 }, { 2023, 7, 31 }, { 2023, 8, 31 }, { 2023, 9, 30 }, { 2023, 10, 31 },
        { 2023, 11, 30 }, { 2023, 12, 31 }, { 2024, 2, 29 }, { 2000, 2, 29 }, { 1900, 2, 28 },
        { 2100, 2, 28 }, { 2400, 2, 29 }, { 1996, 2, 29 },
    };
    for (size_t i = 0; i < sizeof months / sizeof months[0]; i++) {
        char s[32];
        snprintf(s, sizeof s, "%04d-%02d-%02dT23:59:59Z", months[i].year, months[i].month,
                 months[i].last);
        CU_ASSERT_EQUAL(cw_rt_datetime_valid(s, strlen(s)), 1);
        snprintf(s, sizeof s, "%04d-%02d-%02dT00:00:00Z", months[i].year, months[i].month,
                 months[i].last + 1);
        CU_ASSERT_EQUAL(cw_rt_datetime_valid(s, strlen(s)), 0);
        if (cw_rt_datetime_valid(s, strlen(s)))
            fprintf(stderr, "\naccepted %s\n", s);
    }
    CU_ASSERT_EQUAL(cw_rt_datetime_valid("2024-06-30T23:59:60Z", 20), 0);   /* no leap second */
    CU_ASSERT_EQUAL(cw_rt_datetime_valid("2024-06-30T23:59:59.9999999999Z", 31), 0);
    CU_ASSERT_EQUAL(cw_rt_datetime_valid("2024-06-30T23:59:59.999999999Z", 30), 1);
    CU_ASSERT_EQUAL(cw_rt_datetime_valid("2024-06-30t23:59:59Z", 20), 0);
    CU_ASSERT_EQUAL(cw_rt_datetime_valid("2024-06-30T23:59:59z", 20), 0);
    CU_ASSERT_EQUAL(cw_rt_datetime_valid("+2024-06-30T23:59:59Z", 21), 0);
    CU_ASSERT_EQUAL(cw_rt_datetime_valid("2024-06-30T23:59:59.+1Z", 23), 0);
}

/* Regression (fuzz_sync_payload, 2026-12-07): a bad value (tier 1) used to
 * discard the schema issues before it for good; when that value was then
 * withdrawn as the earlier of a duplicate key, nothing was left and a
 * payload with a type error was accepted (upserts[0] a string, id ""). */
static void test_withdrawn_bad_value_keeps_schema_issues(void)
{
    EXPECT_ISSUE("{\"upserts\":[\"wigdetom\"],\"deletes\":[\"old.exa\xb6\xb6mple.com\"],"
                 "\"deletes\":[\"old.example.com\"]}",
                 "[\"upserts\",0]", "invalid_type", "expected object, got string");
    CU_ASSERT_EQUAL(I.total, 1);
    /* the schema issues after the bad value too, in document order */
    EXPECT_ISSUE("{\"upserts\":[1],\"deletes\":[\"\xff\"],\"upserts\":[2],\"deletes\":[]}",
                 "[\"upserts\",0]", "invalid_type", "expected object, got number");
    CU_ASSERT_EQUAL(I.total, 1);
    /* a bad value that stays still wins over the schema issues */
    EXPECT_ISSUE("{\"upserts\":[1],\"deletes\":[\"\xff\"]}", "[\"deletes\",0]", "invalid_utf8",
                 "string is not valid UTF-8 or contains NUL (\\u0000)");
    CU_ASSERT_EQUAL(I.total, 1);
}

/* ---- the CRD payload (schema/crd_sync_payload.schema) -------------------- */

static cw_crd_sync_payload C;

/* Issue 0 is exactly path/code/message (the parse failed, rc -1). */
static void check_issue0(int rc, const char *path, const char *code, const char *message,
                         int line)
{
    CU_ASSERT_EQUAL(rc, -1);
    CU_ASSERT_TRUE(I.len >= 1);
    if (rc != -1 || I.len < 1) {
        fprintf(stderr, "\n%s:%d expected an issue %s %s\n", __FILE__, line, path, code);
        return;
    }
    CU_ASSERT_STRING_EQUAL(I.items[0].path, path);
    CU_ASSERT_STRING_EQUAL(I.items[0].code, code);
    CU_ASSERT_STRING_EQUAL(I.items[0].message, message);
    if (strcmp(I.items[0].path, path) != 0 || strcmp(I.items[0].code, code) != 0 ||
        strcmp(I.items[0].message, message) != 0)
        fprintf(stderr, "\n%s:%d got %s %s \"%s\"\n", __FILE__, line, I.items[0].path,
                I.items[0].code, I.items[0].message);
}

/* The CRD parse of `body` failed, output zeroed, issue 0 exactly so. */
static void check_crd_issue(const char *body, const char *path, const char *code,
                            const char *message, int line)
{
    int rc = cw_crd_sync_payload_parse(body, strlen(body), &C, &I);

    CU_ASSERT_PTR_NULL(C.arena_);
    CU_ASSERT_PTR_NULL(C.upserts.items);
    CU_ASSERT_PTR_NULL(C.deletes.items);
    check_issue0(rc, path, code, message, line);
}
#define EXPECT_CRD_ISSUE(body, path, code, message) \
    check_crd_issue(body, path, code, message, __LINE__)

static void test_crd_accepts(void)
{
    static const char body[] = "{\"upserts\":[\"widgets.example.com\",\"gadgets.example.com\"],"
                               "\"deletes\":[\"old.example.com\"]}";

    CU_ASSERT_EQUAL_FATAL(cw_crd_sync_payload_parse(body, strlen(body), &C, &I), 0);
    CU_ASSERT_EQUAL(C.upserts.len, 2);
    CU_ASSERT_STRING_EQUAL(C.upserts.items[0], "widgets.example.com");
    CU_ASSERT_STRING_EQUAL(C.upserts.items[1], "gadgets.example.com");
    CU_ASSERT_EQUAL(C.deletes.len, 1);
    CU_ASSERT_STRING_EQUAL(C.deletes.items[0], "old.example.com");
    cw_crd_sync_payload_free(&C);
    /* omitempty: both keys absent; a nil slice sent as null */
    static const char *const empty[] = { "{}", "{\"upserts\":null,\"deletes\":null}",
                                         "{\"upserts\":[],\"deletes\":[]}" };
    for (size_t i = 0; i < sizeof empty / sizeof empty[0]; i++) {
        CU_ASSERT_EQUAL_FATAL(cw_crd_sync_payload_parse(empty[i], strlen(empty[i]), &C, &I), 0);
        CU_ASSERT_EQUAL(C.upserts.len, 0);
        CU_ASSERT_PTR_NULL(C.upserts.items);
        CU_ASSERT_EQUAL(C.deletes.len, 0);
        cw_crd_sync_payload_free(&C);
    }
}

static void test_crd_refuses(void)
{
    EXPECT_CRD_ISSUE("{\"upserts\":\"a\"}", "[\"upserts\"]", "invalid_type",
                     "expected array, got string");
    EXPECT_CRD_ISSUE("{\"deletes\":[\"a\",1]}", "[\"deletes\",1]", "invalid_type",
                     "expected string, got number");
    EXPECT_CRD_ISSUE("{\"upserts\":[\"\"]}", "[\"upserts\",0]", "empty", "must not be empty");
    EXPECT_CRD_ISSUE("[]", "[]", "not_object", "expected a JSON object, got array");
    EXPECT_CRD_ISSUE("{\"upserts\":[\"a\"", "[]", "invalid_json",
                     "malformed JSON: unexpected end of data");
}

/* ---- every type of the language (tests/payload/all_types.schema) --------- */

static tt_all_types T;

/* The required fields, valid, then `extra` (a later duplicate key wins). */
#define ALL(extra)                                                                     \
    "{\"flag\":true,\"count\":5,\"big\":-9223372036854775808,\"ratio\":1.5,"             \
    "\"phase\":\"Running\",\"at\":\"2024-01-15T10:30:00Z\","                             \
    "\"when\":\"2024-01-15T10:30:00.123+02:00\",\"owner\":{\"name\":\"rs\"}" extra "}"

static void parse_all_ok(const char *body, int line)
{
    int rc = tt_all_types_parse(body, strlen(body), &T, &I);
    if (rc != 0) {
        char *j = cw_issues_to_json(&I);
        fprintf(stderr, "\n%s:%d unexpected issues: %s\n", __FILE__, line, j);
        free(j);
    }
    CU_ASSERT_EQUAL_FATAL(rc, 0);
}
#define EXPECT_ALL_OK(body) parse_all_ok(body, __LINE__)

static void check_all_issue(const char *body, const char *path, const char *code,
                            const char *message, int line)
{
    int rc = tt_all_types_parse(body, strlen(body), &T, &I);

    if (rc == 0)
        tt_all_types_free(&T);
    CU_ASSERT_PTR_NULL(T.arena_);
    CU_ASSERT_PTR_NULL(T.owners.items);
    check_issue0(rc, path, code, message, line);
}
#define EXPECT_ALL_ISSUE(body, path, code, message) \
    check_all_issue(body, path, code, message, __LINE__)

/* Required fields only: the optionals read as empty, absent or their default. */
static void test_types_required_only(void)
{
    EXPECT_ALL_OK(ALL(""));
    CU_ASSERT_EQUAL(T.flag, true);
    CU_ASSERT_EQUAL(T.count, 5);
    CU_ASSERT_EQUAL(T.big, INT64_MIN);
    CU_ASSERT_DOUBLE_EQUAL(T.ratio, 1.5, 0);
    CU_ASSERT_EQUAL(T.phase, TT_ALL_TYPES_PHASE_RUNNING);
    CU_ASSERT_STRING_EQUAL(T.at, "2024-01-15T10:30:00Z");
    CU_ASSERT_STRING_EQUAL(T.when, "2024-01-15T10:30:00.123+02:00");
    CU_ASSERT_STRING_EQUAL(T.owner.name, "rs");
    CU_ASSERT_EQUAL(T.owner.has_controller, false);
    CU_ASSERT_EQUAL(T.owners.len, 0);
    CU_ASSERT_PTR_NULL(T.owners.items);
    CU_ASSERT_EQUAL(T.by_name.len, 0);
    CU_ASSERT_EQUAL(T.counts.len, 0);
    CU_ASSERT_EQUAL(T.grid.len, 0);
    CU_ASSERT_EQUAL(T.flags.len, 0);
    CU_ASSERT_EQUAL(T.ratios.len, 0);
    CU_ASSERT_EQUAL(T.phases.len, 0);
    CU_ASSERT_EQUAL(T.tags.len, 0);
    CU_ASSERT_EQUAL(T.stamps.len, 0);
    CU_ASSERT_EQUAL(T.has_maybe, false);
    CU_ASSERT_EQUAL(T.maybe, 0);
    CU_ASSERT_EQUAL(T.replicas, 1);
    CU_ASSERT_EQUAL(T.mode, TT_ALL_TYPES_MODE_SAFE);
    CU_ASSERT_STRING_EQUAL(T.label, "none");
    CU_ASSERT_DOUBLE_EQUAL(T.weight, 0.5, 0);
    CU_ASSERT_EQUAL(T.enabled, true);
    tt_all_types_free(&T);
}

/* Every optional given: containers of every kind, nested, and values. */
static void test_types_every_field(void)
{
    EXPECT_ALL_OK(ALL(",\"big\":9223372036854775807,\"ratio\":-2.5e-3,\"flag\":false,"
                      "\"phase\":\"Succ\\u0065eded\",\"owner\":{\"name\":\"o\",\"controller\":true},"
                      "\"owners\":[{\"name\":\"a\",\"controller\":false},{\"name\":\"b\",\"controller\":null}],"
                      "\"byName\":{\"x\":{\"name\":\"n\"},\"y\":{\"name\":\"p\"},\"x\":{\"name\":\"m\"}},"
                      "\"counts\":{\"a\":0,\"b\":255},\"grid\":[[1,-9],[],[9]],\"flags\":[true,false],"
                      "\"ratios\":{\"pi\":3.25,\"n\":-1E+2,\"i\":7},\"phases\":[\"b\",\"a\"],"
                      "\"tags\":{\"k\":[\"ab\",\"12345678\"],\"e\":[]},"
                      "\"stamps\":[\"2024-01-15T10:30:00-05:30\",\"2024-02-29T23:59:59.999999999Z\"],"
                      "\"maybe\":-7,\"replicas\":3,\"mode\":\"fast\",\"label\":\"l\",\"weight\":2,"
                      "\"enabled\":false"));
    CU_ASSERT_EQUAL(T.flag, false);
    CU_ASSERT_EQUAL(T.big, INT64_MAX);
    CU_ASSERT_DOUBLE_EQUAL(T.ratio, -2.5e-3, 0);
    CU_ASSERT_EQUAL(T.phase, TT_ALL_TYPES_PHASE_SUCCEEDED);
    CU_ASSERT_EQUAL(T.owner.controller, true);
    CU_ASSERT_EQUAL(T.owner.has_controller, true);
    CU_ASSERT_EQUAL_FATAL(T.owners.len, 2);
    CU_ASSERT_STRING_EQUAL(T.owners.items[0].name, "a");
    CU_ASSERT_EQUAL(T.owners.items[0].has_controller, true);
    CU_ASSERT_EQUAL(T.owners.items[0].controller, false);
    CU_ASSERT_STRING_EQUAL(T.owners.items[1].name, "b");
    CU_ASSERT_EQUAL(T.owners.items[1].has_controller, false);
    CU_ASSERT_EQUAL_FATAL(T.by_name.len, 2);         /* duplicate x: last wins, first place */
    CU_ASSERT_STRING_EQUAL(T.by_name.items[0].key, "x");
    CU_ASSERT_STRING_EQUAL(T.by_name.items[0].value.name, "m");
    CU_ASSERT_STRING_EQUAL(T.by_name.items[1].key, "y");
    CU_ASSERT_STRING_EQUAL(T.by_name.items[1].value.name, "p");
    CU_ASSERT_EQUAL_FATAL(T.counts.len, 2);
    CU_ASSERT_STRING_EQUAL(T.counts.items[1].key, "b");
    CU_ASSERT_EQUAL(T.counts.items[1].value, 255);
    CU_ASSERT_EQUAL_FATAL(T.grid.len, 3);
    CU_ASSERT_EQUAL_FATAL(T.grid.items[0].len, 2);
    CU_ASSERT_EQUAL(T.grid.items[0].items[1], -9);
    CU_ASSERT_EQUAL(T.grid.items[1].len, 0);
    CU_ASSERT_EQUAL(T.grid.items[2].items[0], 9);
    CU_ASSERT_EQUAL_FATAL(T.flags.len, 2);
    CU_ASSERT_EQUAL(T.flags.items[0], true);
    CU_ASSERT_EQUAL(T.flags.items[1], false);
    CU_ASSERT_EQUAL_FATAL(T.ratios.len, 3);
    CU_ASSERT_DOUBLE_EQUAL(T.ratios.items[0].value, 3.25, 0);
    CU_ASSERT_DOUBLE_EQUAL(T.ratios.items[1].value, -100, 0);
    CU_ASSERT_DOUBLE_EQUAL(T.ratios.items[2].value, 7, 0);
    CU_ASSERT_EQUAL_FATAL(T.phases.len, 2);
    CU_ASSERT_EQUAL(T.phases.items[0], TT_ALL_TYPES_PHASES_B);
    CU_ASSERT_EQUAL(T.phases.items[1], TT_ALL_TYPES_PHASES_A);
    CU_ASSERT_EQUAL_FATAL(T.tags.len, 2);
    CU_ASSERT_EQUAL_FATAL(T.tags.items[0].value.len, 2);
    CU_ASSERT_STRING_EQUAL(T.tags.items[0].value.items[1], "12345678");
    CU_ASSERT_EQUAL(T.tags.items[1].value.len, 0);
    CU_ASSERT_EQUAL_FATAL(T.stamps.len, 2);
    CU_ASSERT_STRING_EQUAL(T.stamps.items[0], "2024-01-15T10:30:00-05:30");
    CU_ASSERT_EQUAL(T.has_maybe, true);
    CU_ASSERT_EQUAL(T.maybe, -7);
    CU_ASSERT_EQUAL(T.replicas, 3);
    CU_ASSERT_EQUAL(T.mode, TT_ALL_TYPES_MODE_FAST);
    CU_ASSERT_STRING_EQUAL(T.label, "l");
    CU_ASSERT_DOUBLE_EQUAL(T.weight, 2, 0);
    CU_ASSERT_EQUAL(T.enabled, false);
    tt_all_types_free(&T);
}

/* null on a nullable field: no value (has_ false) or the default; the
 * last of duplicate keys decides. */
static void test_types_null_and_defaults(void)
{
    EXPECT_ALL_OK(ALL(",\"owners\":null,\"maybe\":5,\"maybe\":null,\"mode\":null,\"label\":null,"
                      "\"weight\":null,\"replicas\":4,\"replicas\":2"));
    CU_ASSERT_EQUAL(T.owners.len, 0);
    CU_ASSERT_EQUAL(T.has_maybe, false);
    CU_ASSERT_EQUAL(T.maybe, 0);
    CU_ASSERT_EQUAL(T.mode, TT_ALL_TYPES_MODE_SAFE);
    CU_ASSERT_STRING_EQUAL(T.label, "none");
    CU_ASSERT_DOUBLE_EQUAL(T.weight, 0.5, 0);
    CU_ASSERT_EQUAL(T.replicas, 2);
    tt_all_types_free(&T);
    EXPECT_ALL_OK(ALL(",\"maybe\":null,\"maybe\":0"));
    CU_ASSERT_EQUAL(T.has_maybe, true);
    tt_all_types_free(&T);
    /* not nullable: null is a type error */
    EXPECT_ALL_ISSUE(ALL(",\"enabled\":null"), "[\"enabled\"]", "invalid_type",
                     "expected boolean, got null");
    EXPECT_ALL_ISSUE(ALL(",\"byName\":null"), "[\"byName\"]", "invalid_type",
                     "expected object, got null");
    EXPECT_ALL_ISSUE(ALL(",\"replicas\":null"), "[\"replicas\"]", "invalid_type",
                     "expected integer, got null");
    EXPECT_ALL_ISSUE("{}", "[\"flag\"]", "required", "required field is missing");
}

static void test_types_bool(void)
{
    EXPECT_ALL_ISSUE(ALL(",\"flag\":\"true\""), "[\"flag\"]", "invalid_type",
                     "expected boolean, got string");
    EXPECT_ALL_ISSUE(ALL(",\"flag\":1"), "[\"flag\"]", "invalid_type",
                     "expected boolean, got number");
    EXPECT_ALL_ISSUE(ALL(",\"flag\":null"), "[\"flag\"]", "invalid_type",
                     "expected boolean, got null");
    EXPECT_ALL_ISSUE(ALL(",\"flags\":[true,null]"), "[\"flags\",1]", "invalid_type",
                     "expected boolean, got null");
    EXPECT_ALL_ISSUE(ALL(",\"flag\":True"), "[]", "invalid_json",
                     "malformed JSON: unexpected character");
    EXPECT_ALL_ISSUE(ALL(",\"flag\":truex"), "[]", "invalid_json",
                     "malformed JSON: unexpected character");
}

static void test_types_int(void)
{
    static const char frac[] = "expected integer, got a number with a fraction or exponent";

    EXPECT_ALL_ISSUE(ALL(",\"count\":1.0"), "[\"count\"]", "invalid_type", frac);
    EXPECT_ALL_ISSUE(ALL(",\"count\":1e2"), "[\"count\"]", "invalid_type", frac);
    EXPECT_ALL_ISSUE(ALL(",\"count\":\"1\""), "[\"count\"]", "invalid_type",
                     "expected integer, got string");
    EXPECT_ALL_ISSUE(ALL(",\"count\":101"), "[\"count\"]", "out_of_range", "must be at most 100");
    EXPECT_ALL_ISSUE(ALL(",\"count\":-1"), "[\"count\"]", "out_of_range", "must be at least 0");
    EXPECT_ALL_ISSUE(ALL(",\"big\":9223372036854775808"), "[\"big\"]", "out_of_range",
                     "integer is outside int64 [-9223372036854775808, 9223372036854775807]");
    EXPECT_ALL_ISSUE(ALL(",\"big\":18446744073709551615"), "[\"big\"]", "out_of_range",
                     "integer is outside int64 [-9223372036854775808, 9223372036854775807]");
    /* beyond what any JSON number here may be: the scanner's own refusal */
    EXPECT_ALL_ISSUE(ALL(",\"big\":-9223372036854775809"), "[\"big\"]", "invalid_number",
                     "number is NaN, Infinity or out of range");
    EXPECT_ALL_ISSUE(ALL(",\"big\":-01"), "[]", "invalid_json", "malformed JSON: invalid number");
    EXPECT_ALL_ISSUE(ALL(",\"counts\":{\"a\":256}"), "[\"counts\",\"a\"]", "out_of_range",
                     "must be at most 255");
    EXPECT_ALL_ISSUE(ALL(",\"grid\":[[1],[2,10]]"), "[\"grid\",1,1]", "out_of_range",
                     "must be at most 9");
    EXPECT_ALL_ISSUE(ALL(",\"grid\":[[1],[-10]]"), "[\"grid\",1,0]", "out_of_range",
                     "must be at least -9");
    EXPECT_ALL_ISSUE(ALL(",\"grid\":[1]"), "[\"grid\",0]", "invalid_type",
                     "expected array, got number");
    EXPECT_ALL_ISSUE(ALL(",\"maybe\":\"x\""), "[\"maybe\"]", "invalid_type",
                     "expected integer, got string");
}

static void test_types_number(void)
{
    static const char not_finite[] = "number is NaN, Infinity or out of range";

    EXPECT_ALL_OK(ALL(",\"ratio\":-0,\"weight\":1e-400"));
    CU_ASSERT_DOUBLE_EQUAL(T.ratio, 0, 0);
    CU_ASSERT_DOUBLE_EQUAL(T.weight, 0, 0);          /* underflow rounds to 0: finite */
    tt_all_types_free(&T);
    EXPECT_ALL_ISSUE(ALL(",\"ratio\":1e400"), "[\"ratio\"]", "invalid_number", not_finite);
    EXPECT_ALL_ISSUE(ALL(",\"ratio\":-1e400"), "[\"ratio\"]", "invalid_number", not_finite);
    EXPECT_ALL_ISSUE(ALL(",\"ratio\":NaN"), "[\"ratio\"]", "invalid_number", not_finite);
    EXPECT_ALL_ISSUE(ALL(",\"ratio\":Infinity"), "[\"ratio\"]", "invalid_number", not_finite);
    EXPECT_ALL_ISSUE(ALL(",\"ratio\":-Infinity"), "[\"ratio\"]", "invalid_number", not_finite);
    EXPECT_ALL_ISSUE(ALL(",\"ratio\":\"1.5\""), "[\"ratio\"]", "invalid_type",
                     "expected number, got string");
    EXPECT_ALL_ISSUE(ALL(",\"ratios\":{\"x\":true}"), "[\"ratios\",\"x\"]", "invalid_type",
                     "expected number, got boolean");
    EXPECT_ALL_ISSUE(ALL(",\"ratio\":.5"), "[]", "invalid_json",
                     "malformed JSON: unexpected character");
}

static void test_types_enum(void)
{
    EXPECT_ALL_ISSUE(ALL(",\"phase\":\"running\""), "[\"phase\"]", "invalid_enum",
                     "must be one of \"Pending\", \"Running\", \"Succeeded\"");
    EXPECT_ALL_ISSUE(ALL(",\"phase\":1"), "[\"phase\"]", "invalid_type",
                     "expected string, got number");
    EXPECT_ALL_ISSUE(ALL(",\"phase\":null"), "[\"phase\"]", "invalid_type",
                     "expected string, got null");
    EXPECT_ALL_ISSUE(ALL(",\"phases\":[\"a\",\"c\"]"), "[\"phases\",1]", "invalid_enum",
                     "must be one of \"a\", \"b\"");
    EXPECT_ALL_ISSUE(ALL(",\"mode\":\"\""), "[\"mode\"]", "invalid_enum",
                     "must be one of \"fast\", \"safe\"");
    EXPECT_ALL_ISSUE(ALL(",\"phase\":\"Run\xff" "ning\""), "[\"phase\"]", "invalid_utf8",
                     "string is not valid UTF-8 or contains NUL (\\u0000)");
}

static void test_types_formats(void)
{
    static const char *const rfc3339_ok[] = {
        "2024-01-15T10:30:00Z", "2024-01-15T10:30:00+00:00", "2024-01-15T10:30:00-08:00",
        "2024-01-15T10:30:00.5+05:30", "2024-01-15T10:30:00.123456789+23:59",
        "2000-02-29T00:00:00Z",
    };
    static const char *const rfc3339_bad[] = {
        "2024-01-15T10:30:00", "2024-01-15T10:30:00+24:00", "2024-01-15T10:30:00+05:60",
        "2024-01-15T10:30:00+0530", "2024-01-15T10:30:00+05", "2024-01-15 10:30:00Z",
        "2024-01-15T10:30:00z", "2023-02-29T00:00:00Z", "2024-01-15T10:30:00.Z",
        "2024-01-15T10:30:00.1234567890Z", "2024-01-15T10:30:00Z+01:00", "",
    };
    char body[512];

    for (size_t i = 0; i < sizeof rfc3339_ok / sizeof rfc3339_ok[0]; i++) {
        snprintf(body, sizeof body, ALL(",\"when\":\"%s\",\"stamps\":[\"%s\"]"), rfc3339_ok[i],
                 rfc3339_ok[i]);
        EXPECT_ALL_OK(body);
        CU_ASSERT_STRING_EQUAL(T.when, rfc3339_ok[i]);
        tt_all_types_free(&T);
    }
    for (size_t i = 0; i < sizeof rfc3339_bad / sizeof rfc3339_bad[0]; i++) {
        snprintf(body, sizeof body, ALL(",\"when\":\"%s\""), rfc3339_bad[i]);
        EXPECT_ALL_ISSUE(body, "[\"when\"]", "invalid_datetime",
                         "expected an RFC 3339 datetime YYYY-MM-DDTHH:MM:SS[.fraction](Z|+HH:MM|-HH:MM)");
    }
    EXPECT_ALL_ISSUE(ALL(",\"stamps\":[\"2024-01-15T10:30:00Z\",\"2024-13-01T00:00:00Z\"]"),
                     "[\"stamps\",1]", "invalid_datetime",
                     "expected an RFC 3339 datetime YYYY-MM-DDTHH:MM:SS[.fraction](Z|+HH:MM|-HH:MM)");
    /* datetime stays UTC only */
    EXPECT_ALL_ISSUE(ALL(",\"at\":\"2024-01-15T10:30:00+00:00\""), "[\"at\"]", "invalid_datetime",
                     "expected a UTC datetime YYYY-MM-DDTHH:MM:SS[.fraction]Z");
    CU_ASSERT_EQUAL(cw_rt_rfc3339_valid("2024-01-15T10:30:00+01:00", 25), 1);
    CU_ASSERT_EQUAL(cw_rt_rfc3339_valid("2024-01-15T10:30:00+01:00", 24), 0);
}

static void test_types_nested_paths(void)
{
    EXPECT_ALL_ISSUE(ALL(",\"owner\":{}"), "[\"owner\",\"name\"]", "required",
                     "required field is missing");
    EXPECT_ALL_ISSUE(ALL(",\"owner\":{\"name\":\"\"}"), "[\"owner\",\"name\"]", "empty",
                     "must not be empty");
    EXPECT_ALL_ISSUE(ALL(",\"owner\":[]"), "[\"owner\"]", "invalid_type",
                     "expected object, got array");
    EXPECT_ALL_ISSUE(ALL(",\"owners\":[{\"name\":\"a\"},{\"name\":\"b\",\"controller\":\"yes\"}]"),
                     "[\"owners\",1,\"controller\"]", "invalid_type",
                     "expected boolean, got string");
    EXPECT_ALL_ISSUE(ALL(",\"byName\":{\"k\":{\"name\":1}}"), "[\"byName\",\"k\",\"name\"]",
                     "invalid_type", "expected string, got number");
    EXPECT_ALL_ISSUE(ALL(",\"tags\":{\"k\":[\"123456789\"]}"), "[\"tags\",\"k\",0]", "too_long",
                     "longer than 8 bytes");
    EXPECT_ALL_ISSUE(ALL(",\"tags\":{\"k\":[\"a\",\"\"]}"), "[\"tags\",\"k\",1]", "empty",
                     "must not be empty");
    EXPECT_ALL_ISSUE(ALL(",\"tags\":{\"k\":\"a\"}"), "[\"tags\",\"k\"]", "invalid_type",
                     "expected array, got string");
    /* the issue of an earlier duplicate is withdrawn: last wins */
    EXPECT_ALL_OK(ALL(",\"counts\":{\"a\":999,\"a\":1}"));
    CU_ASSERT_EQUAL_FATAL(T.counts.len, 1);
    CU_ASSERT_EQUAL(T.counts.items[0].value, 1);
    tt_all_types_free(&T);
}

/* A map large enough for its key index (more than 16 keys), with
 * duplicates: payload order, last value at the first position. */
static void test_types_large_map(void)
{
    char body[4096], *o = body;

    o += sprintf(o, "%s", ALL(""));
    o--;                                 /* before ALL's closing brace */
    o += sprintf(o, ",\"counts\":{");
    for (int i = 0; i < 40; i++)
        o += sprintf(o, "%s\"k%d\":%d", i > 0 ? "," : "", i, i);
    for (int i = 0; i < 40; i += 3)
        o += sprintf(o, ",\"k%d\":%d", i, 200 + i % 50);
    o += sprintf(o, "}}");
    EXPECT_ALL_OK(body);
    CU_ASSERT_EQUAL_FATAL(T.counts.len, 40);
    for (int i = 0; i < 40; i++) {
        char key[8];
        snprintf(key, sizeof key, "k%d", i);
        CU_ASSERT_STRING_EQUAL(T.counts.items[i].key, key);
        CU_ASSERT_EQUAL(T.counts.items[i].value, i % 3 == 0 ? 200 + i % 50 : i);
    }
    tt_all_types_free(&T);
}

static CU_TestInfo tests[] = {
    { "regression: a withdrawn bad value keeps the schema issues",
      test_withdrawn_bad_value_keeps_schema_issues },
    { "crd payload: accepted, omitempty and nil", test_crd_accepts },
    { "crd payload: refused, exact paths", test_crd_refuses },
    { "types: required only, optionals empty or default", test_types_required_only },
    { "types: every field, every container", test_types_every_field },
    { "types: null, has_ flags, defaults, duplicates", test_types_null_and_defaults },
    { "types: bool", test_types_bool },
    { "types: int (strict, int64, min/max)", test_types_int },
    { "types: number (finite)", test_types_number },
    { "types: enum", test_types_enum },
    { "types: formats datetime and rfc3339", test_types_formats },
    { "types: nested records, lists and maps: exact paths", test_types_nested_paths },
    { "types: large map with duplicates", test_types_large_map },
    { "reference: valid instance", test_valid_instance },
    { "reference: labels/annotations omitted -> {}", test_labels_annotations_omitted },
    { "reference: labels/annotations null -> {}", test_labels_annotations_null },
    { "labels/annotations {}", test_labels_annotations_empty },
    { "reference: missing required field (each)", test_missing_required_fields },
    { "every missing field reported, in order", test_every_missing_field_reported_in_order },
    { "reference: non-string field values", test_non_string_field_values },
    { "reference: non-string label values", test_non_string_label_values },
    { "reference: upserts/deletes omitted -> []", test_upserts_deletes_omitted },
    { "reference: upserts/deletes null -> []", test_upserts_deletes_null },
    { "reference: empty payload", test_empty_payload },
    { "reference: empty object", test_empty_object },
    { "reference: multiple upserts", test_multiple_upserts },
    { "error path names the second upsert", test_error_in_second_upsert },
    { "reference: invalid instance shape", test_invalid_instance_shape },
    { "reference: non-string deletes", test_non_string_deletes },
    { "reference: non-object and array payloads", test_non_object_payloads },
    { "empty id and empty delete refused", test_empty_id_and_delete },
    { "max lengths", test_max_lengths },
    { "controller shapes (_cluster, core group, nil)", test_controller_shapes },
    { "hostile: 100k-deep nesting", test_deep_nesting_100k },
    { "nesting at the depth limit", test_nesting_at_the_limit },
    { "valid multi-byte UTF-8 kept", test_utf8_valid_multibyte },
    { "hostile: overlong UTF-8", test_utf8_overlong },
    { "hostile: encoded surrogates", test_utf8_surrogates },
    { "hostile: above U+10FFFF", test_utf8_above_max },
    { "hostile: truncated sequences", test_utf8_truncated },
    { "hostile: \\u0000", test_nul_escape },
    { "raw-text scan: every offset of a word", test_scan_every_offset },
    { "hostile: raw NUL byte", test_raw_nul_byte },
    { "hostile: bad UTF-8 in ignored keys/values", test_bad_utf8_in_ignored_places },
    { "hostile: every invalid UTF-8 class, every place", test_utf8_every_class_everywhere },
    { "hostile: trailing garbage", test_trailing_garbage },
    { "hostile: two documents", test_two_documents },
    { "hostile: empty and whitespace bodies", test_empty_and_whitespace_bodies },
    { "malformed JSON", test_malformed_json },
    { "hostile: NaN, Infinity, 1e999", test_not_finite_numbers },
    { "hostile: lone surrogate escapes", test_lone_surrogate_escapes },
    { "hostile: strict RFC 8259 (quotes, commas, comments)", test_rfc8259_strict },
    { "hostile: raw control characters in strings", test_control_chars_in_strings },
    { "hostile: numbers json-c takes but RFC 8259 does not", test_numbers_rfc8259 },
    { "hostile: integers beyond 64 bits", test_huge_integers },
    { "duplicate keys: last wins", test_duplicate_keys_last_wins },
    { "unknown fields at any depth ignored", test_unknown_fields_ignored },
    { "datetimes accepted", test_datetimes_accepted },
    { "datetimes rejected", test_datetimes_rejected },
    { "issue cap: 20 stored, all counted", test_issue_cap },
    { "issues as JSON", test_issues_to_json },
    { "long key shortened in a path", test_long_key_in_path_is_shortened },
    { "input need not be NUL-terminated", test_not_nul_terminated_input },
    { "free(NULL), free(zeroed)", test_free_null_and_zeroed },
    { "runtime: UTF-8 check", test_rt_utf8 },
    { "runtime: datetime check", test_rt_datetime },
    { "runtime: datetime month ends, leap years", test_rt_datetime_month_ends },
    CU_TEST_INFO_NULL,
};

int main(void)
{
    return cw_test_run("payload", tests);
}
