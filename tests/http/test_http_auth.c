/* cw_http_auth: the bearer token of --auth-token-file, read again when the
 * file changes (at most once a second) or when asked (SIGHUP), and kept
 * when the file turns unreadable. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "auth.h"
#include "cw_test.h"
#include "cw_time.h"

static char dir[] = "/tmp/cw_auth_XXXXXX";
static char path[256];

/* Replace the file the way the kubelet does: a new file renamed over. */
static void put_token(const char *text)
{
    char tmp[300];
    snprintf(tmp, sizeof tmp, "%s.new", path);
    FILE *f = fopen(tmp, "w");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    fputs(text, f);
    fclose(f);
    CU_ASSERT_EQUAL_FATAL(rename(tmp, path), 0);
}

static void test_check(void)
{
    put_token("tok-1\n");
    cw_error err;
    cw_error_clear(&err);
    cw_http_auth *a = cw_http_auth_open(path, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(a);
    CU_ASSERT_EQUAL(cw_http_auth_check(a, "Bearer tok-1"), 1);
    CU_ASSERT_EQUAL(cw_http_auth_check(a, "bearer tok-1"), 1);     /* the scheme is case-insensitive */
    CU_ASSERT_EQUAL(cw_http_auth_check(a, "Bearer  tok-1"), 1);
    CU_ASSERT_EQUAL(cw_http_auth_check(a, NULL), 0);
    CU_ASSERT_EQUAL(cw_http_auth_check(a, ""), 0);
    CU_ASSERT_EQUAL(cw_http_auth_check(a, "tok-1"), 0);
    CU_ASSERT_EQUAL(cw_http_auth_check(a, "Basic tok-1"), 0);
    CU_ASSERT_EQUAL(cw_http_auth_check(a, "Bearer tok-"), 0);
    CU_ASSERT_EQUAL(cw_http_auth_check(a, "Bearer tok-12"), 0);
    CU_ASSERT_EQUAL(cw_http_auth_check(a, "Bearer TOK-1"), 0);    /* the token is not */
    CU_ASSERT_EQUAL(cw_http_auth_check(a, "Bearer"), 0);
    cw_http_auth_close(a);
}

static void test_rotation(void)
{
    put_token("old-token");
    cw_error err;
    cw_error_clear(&err);
    cw_http_auth *a = cw_http_auth_open(path, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(a);
    CU_ASSERT_EQUAL(cw_http_auth_check(a, "Bearer old-token"), 1);

    /* A changed file is seen by a later check, without a signal (the
     * file is looked at again once a second: RECHECK_MS in auth.c). No
     * bound on how long that took: on a loaded machine it is only later,
     * and the test's ctest TIMEOUT catches "never". What counts: the old
     * token is refused from then on, after exactly one reload. */
    put_token("new-token");
    int seen = 0;
    for (int i = 0; i < 6000 && !seen; i++) {
        seen = cw_http_auth_check(a, "Bearer new-token");
        if (!seen)
            cw_sleep_ms(50);
    }
    CU_ASSERT_EQUAL(seen, 1);
    CU_ASSERT_EQUAL(cw_http_auth_check(a, "Bearer old-token"), 0);
    CU_ASSERT_EQUAL(cw_http_auth_reloads(a), 1);

    /* A reload (SIGHUP) reads it at the next check, whatever the clock. */
    put_token("third-token");
    cw_http_auth_reload(a);
    CU_ASSERT_EQUAL(cw_http_auth_check(a, "Bearer third-token"), 1);
    CU_ASSERT_EQUAL(cw_http_auth_reloads(a), 2);

    /* The file gone or emptied: the token in use stays. */
    CU_ASSERT_EQUAL(unlink(path), 0);
    cw_http_auth_reload(a);
    CU_ASSERT_EQUAL(cw_http_auth_check(a, "Bearer third-token"), 1);
    put_token("\n");
    cw_http_auth_reload(a);
    CU_ASSERT_EQUAL(cw_http_auth_check(a, "Bearer third-token"), 1);
    CU_ASSERT_EQUAL(cw_http_auth_reloads(a), 2);
    cw_http_auth_close(a);
}

static void test_open_refused(void)
{
    put_token("");
    cw_error err;
    cw_error_clear(&err);
    CU_ASSERT_PTR_NULL(cw_http_auth_open(path, &err));
    CU_ASSERT_EQUAL(err.code, CW_E_CONFIG);
    char want[400];
    snprintf(want, sizeof want, "token file %s: empty", path);
    CU_ASSERT_STRING_EQUAL(err.msg, want);
}

int main(void)
{
    if (mkdtemp(dir) == NULL)
        return 1;
    snprintf(path, sizeof path, "%s/token", dir);
    CU_TestInfo tests[] = {
        { "Bearer <token>: exact token, any scheme case", test_check },
        { "rotation: file change within 1 s, reload at once, unreadable keeps the old", test_rotation },
        { "an unusable file at start is one clear error", test_open_refused },
        CU_TEST_INFO_NULL,
    };
    int rc = cw_test_run("http_auth", tests);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0)
        rc = 1;
    return rc;
}
