/* cw_secret: token files read exactly, refused with one clear line that
 * never holds the token, compared by value. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cw_secret.h"
#include "cw_test.h"

static char dir[] = "/tmp/cw_secret_XXXXXX";

static const char *write_file(const char *name, const char *bytes, size_t len)
{
    static char path[256];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    CU_ASSERT_EQUAL(fwrite(bytes, 1, len, f), len);
    fclose(f);
    return path;
}

static void expect_token(const char *bytes, const char *want)
{
    cw_error err;
    cw_error_clear(&err);
    char *t = cw_secret_read_file(write_file("t", bytes, strlen(bytes)), &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    CU_ASSERT_STRING_EQUAL(t, want);
    CU_ASSERT_EQUAL(err.code, CW_OK);
    cw_secret_free(t);
}

static void expect_refused(const char *bytes, size_t len, const char *suffix)
{
    cw_error err;
    cw_error_clear(&err);
    const char *path = write_file("bad", bytes, len);
    char *t = cw_secret_read_file(path, &err);
    CU_ASSERT_PTR_NULL(t);
    CU_ASSERT_EQUAL(err.code, CW_E_CONFIG);
    char want[512];
    snprintf(want, sizeof want, "token file %s: %s", path, suffix);
    CU_ASSERT_STRING_EQUAL(err.msg, want);
}

static void test_read(void)
{
    expect_token("s3cret", "s3cret");
    expect_token("s3cret\n", "s3cret");              /* echo, kubectl --from-file */
    expect_token("  \tabc.DEF-123_~=\r\n\n", "abc.DEF-123_~=");
    char big[CW_SECRET_MAX + 1];
    memset(big, 'k', CW_SECRET_MAX);
    big[CW_SECRET_MAX] = '\0';
    expect_token(big, big);
}

static void test_refused(void)
{
    expect_refused("", 0, "empty");
    expect_refused(" \n\n", 3, "empty");
    expect_refused("two words", 9, "byte 4 is not printable ASCII (a token is one word)");
    expect_refused("tab\there", 8, "byte 4 is not printable ASCII (a token is one word)");
    expect_refused("nul\0x", 5, "byte 4 is not printable ASCII (a token is one word)");
    expect_refused("caf\xc3\xa9", 5, "byte 4 is not printable ASCII (a token is one word)");
    char big[CW_SECRET_MAX + 1];
    memset(big, 'k', sizeof big);
    expect_refused(big, sizeof big, "longer than 4096 bytes");

    cw_error err;
    cw_error_clear(&err);
    char path[300];
    snprintf(path, sizeof path, "%s/missing", dir);
    CU_ASSERT_PTR_NULL(cw_secret_read_file(path, &err));
    char want[400];
    snprintf(want, sizeof want, "token file %s: No such file or directory", path);
    CU_ASSERT_STRING_EQUAL(err.msg, want);
}

static void test_equal(void)
{
    CU_ASSERT_EQUAL(cw_secret_equal("abc", "abc", 3), 1);
    CU_ASSERT_EQUAL(cw_secret_equal("abc", "abd", 3), 0);
    CU_ASSERT_EQUAL(cw_secret_equal("abc", "ab", 2), 0);
    CU_ASSERT_EQUAL(cw_secret_equal("abc", "abcabc", 6), 0);   /* not a prefix match either way */
    CU_ASSERT_EQUAL(cw_secret_equal("abc", "abcd", 3), 1);     /* only `len` bytes are looked at */
    CU_ASSERT_EQUAL(cw_secret_equal("abc", "", 0), 0);
    CU_ASSERT_EQUAL(cw_secret_equal("", "", 0), 1);
    cw_secret_free(NULL);
}

int main(void)
{
    if (mkdtemp(dir) == NULL)
        return 1;
    CU_TestInfo tests[] = {
        { "token files: whitespace around dropped, up to 4096 bytes", test_read },
        { "token files refused with one line naming the file, never the token", test_refused },
        { "constant-time equality: length and every byte", test_equal },
        CU_TEST_INFO_NULL,
    };
    int rc = cw_test_run("common_secret", tests);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0)
        rc = 1;
    return rc;
}
