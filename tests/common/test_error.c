/* cw_error: the first error wins (set, set_retry and copy never overwrite
 * a recorded error), NULL is accepted everywhere, messages are cut at
 * CW_ERROR_MSG_MAX - 1 bytes, and every code has its name and HTTP status. */
#include <string.h>

#include "cw_error.h"
#include "cw_test.h"

static void test_set_first_wins(void)
{
    cw_error err;
    cw_error_clear(&err);
    CU_ASSERT_EQUAL(err.code, CW_OK);
    CU_ASSERT_EQUAL(err.retry_after_s, 0);
    CU_ASSERT_STRING_EQUAL(err.msg, "");

    CU_ASSERT_EQUAL(cw_error_set(&err, CW_E_INVALID, "field %s: %d", "name", 3), -1);
    CU_ASSERT_EQUAL(err.code, CW_E_INVALID);
    CU_ASSERT_STRING_EQUAL(err.msg, "field name: 3");

    /* A later error, of any code, with or without a hint, changes nothing. */
    CU_ASSERT_EQUAL(cw_error_set(&err, CW_E_INTERNAL, "cleanup failed"), -1);
    CU_ASSERT_EQUAL(cw_error_set_retry(&err, CW_E_UNAVAILABLE, 7, "chroma down"), -1);
    CU_ASSERT_EQUAL(err.code, CW_E_INVALID);
    CU_ASSERT_EQUAL(err.retry_after_s, 0);
    CU_ASSERT_STRING_EQUAL(err.msg, "field name: 3");

    /* Cleared, the next error is recorded again. */
    cw_error_clear(&err);
    CU_ASSERT_EQUAL(cw_error_set_retry(&err, CW_E_UNAVAILABLE, 7, "chroma %s", "down"), -1);
    CU_ASSERT_EQUAL(err.code, CW_E_UNAVAILABLE);
    CU_ASSERT_EQUAL(err.retry_after_s, 7);
    CU_ASSERT_STRING_EQUAL(err.msg, "chroma down");
    CU_ASSERT_EQUAL(cw_error_set(&err, CW_E_INVALID, "later"), -1);
    CU_ASSERT_EQUAL(err.code, CW_E_UNAVAILABLE);
    CU_ASSERT_EQUAL(err.retry_after_s, 7);
    CU_ASSERT_STRING_EQUAL(err.msg, "chroma down");
}

static void test_copy_first_wins(void)
{
    cw_error src, dst;
    cw_error_clear(&src);
    cw_error_clear(&dst);

    /* An empty source copies nothing. */
    cw_error_copy(&dst, &src);
    CU_ASSERT_EQUAL(dst.code, CW_OK);
    CU_ASSERT_STRING_EQUAL(dst.msg, "");

    CU_ASSERT_EQUAL(cw_error_set_retry(&src, CW_E_UNAVAILABLE, 2, "embedder timed out"), -1);
    cw_error_copy(&dst, &src);
    CU_ASSERT_EQUAL(dst.code, CW_E_UNAVAILABLE);
    CU_ASSERT_EQUAL(dst.retry_after_s, 2);
    CU_ASSERT_STRING_EQUAL(dst.msg, "embedder timed out");

    /* A destination that holds an error keeps it. */
    cw_error other;
    cw_error_clear(&other);
    CU_ASSERT_EQUAL(cw_error_set(&other, CW_E_INTERNAL, "second"), -1);
    cw_error_copy(&dst, &other);
    CU_ASSERT_EQUAL(dst.code, CW_E_UNAVAILABLE);
    CU_ASSERT_EQUAL(dst.retry_after_s, 2);
    CU_ASSERT_STRING_EQUAL(dst.msg, "embedder timed out");
}

static void test_null(void)
{
    cw_error err;
    cw_error_clear(&err);
    cw_error_clear(NULL);
    CU_ASSERT_EQUAL(cw_error_set(NULL, CW_E_INVALID, "dropped"), -1);
    CU_ASSERT_EQUAL(cw_error_set_retry(NULL, CW_E_UNAVAILABLE, 1, "dropped"), -1);
    cw_error_copy(NULL, &err);
    cw_error_copy(&err, NULL);
    CU_ASSERT_EQUAL(err.code, CW_OK);
}

static void test_long_message_cut(void)
{
    char long_text[CW_ERROR_MSG_MAX * 2];
    memset(long_text, 'x', sizeof long_text - 1);
    long_text[sizeof long_text - 1] = '\0';

    cw_error err;
    cw_error_clear(&err);
    CU_ASSERT_EQUAL(cw_error_set(&err, CW_E_INVALID, "%s", long_text), -1);
    CU_ASSERT_EQUAL(strlen(err.msg), (size_t)CW_ERROR_MSG_MAX - 1);
    CU_ASSERT_EQUAL(strncmp(err.msg, long_text, CW_ERROR_MSG_MAX - 1), 0);
}

static void test_names_and_http(void)
{
    CU_ASSERT_STRING_EQUAL(cw_status_name(CW_OK), "ok");
    CU_ASSERT_STRING_EQUAL(cw_status_name(CW_E_INVALID), "invalid");
    CU_ASSERT_STRING_EQUAL(cw_status_name(CW_E_UNAVAILABLE), "unavailable");
    CU_ASSERT_STRING_EQUAL(cw_status_name(CW_E_INTERNAL), "internal");
    CU_ASSERT_STRING_EQUAL(cw_status_name(CW_E_CONFIG), "config");
    CU_ASSERT_STRING_EQUAL(cw_status_name(CW_E_NOMEM), "out of memory");
    CU_ASSERT_STRING_EQUAL(cw_status_name((cw_status)99), "unknown");

    CU_ASSERT_EQUAL(cw_status_http(CW_OK), 200);
    CU_ASSERT_EQUAL(cw_status_http(CW_E_INVALID), 400);
    CU_ASSERT_EQUAL(cw_status_http(CW_E_UNAVAILABLE), 503);
    CU_ASSERT_EQUAL(cw_status_http(CW_E_CONFIG), 503);     /* our misconfiguration, never 4xx */
    CU_ASSERT_EQUAL(cw_status_http(CW_E_NOMEM), 503);
    CU_ASSERT_EQUAL(cw_status_http(CW_E_INTERNAL), 500);
    CU_ASSERT_EQUAL(cw_status_http((cw_status)99), 500);
}

int main(void)
{
    CU_TestInfo tests[] = {
        { "set: the first error wins over set and set_retry", test_set_first_wins },
        { "copy: an empty source or a set destination copies nothing", test_copy_first_wins },
        { "NULL errors are accepted and dropped", test_null },
        { "a long message is cut at CW_ERROR_MSG_MAX - 1 bytes", test_long_message_cut },
        { "every code's name and HTTP status", test_names_and_http },
        CU_TEST_INFO_NULL,
    };
    return cw_test_run("common_error", tests);
}
