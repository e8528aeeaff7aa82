/* `cluster-whisperer validate FILE|-` (src/cli/cmd_validate.c), called
 * in-process with stdout/stderr captured: exact output and exit codes. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "commands.h"
#include "cw_test.h"

static char g_dir[256];

static const char *scratch(const char *name)
{
    static char path[512];
    if (g_dir[0] == '\0') {
        snprintf(g_dir, sizeof g_dir, "/tmp/cw-validate-test-XXXXXX");
        if (mkdtemp(g_dir) == NULL) {
            perror("mkdtemp");
            exit(1);
        }
    }
    snprintf(path, sizeof path, "%s/%s", g_dir, name);
    return path;
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "wb");
    CU_ASSERT_FATAL(f != NULL);
    fputs(text, f);
    fclose(f);
}

/* Run validate with argv (NULL-terminated) and stdin from `stdin_path`
 * (or NULL); return its exit code, stdout and stderr (malloc'd). */
static int run(char **argv, const char *stdin_path, char **out, char **err)
{
    char out_path[512], err_path[512];
    int argc = 0;

    while (argv[argc] != NULL)
        argc++;
    snprintf(out_path, sizeof out_path, "%s", scratch("stdout"));
    snprintf(err_path, sizeof err_path, "%s", scratch("stderr"));
    fflush(stdout);
    fflush(stderr);
    int saved_out = dup(1), saved_err = dup(2), saved_in = dup(0);
    int fo = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    int fe = open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    dup2(fo, 1);
    dup2(fe, 2);
    close(fo);
    close(fe);
    if (stdin_path != NULL) {
        int fi = open(stdin_path, O_RDONLY);
        dup2(fi, 0);
        close(fi);
    }
    int rc = cw_cmd_validate(argc, argv);
    fflush(stdout);
    fflush(stderr);
    dup2(saved_out, 1);
    dup2(saved_err, 2);
    dup2(saved_in, 0);
    close(saved_out);
    close(saved_err);
    close(saved_in);
    clearerr(stdin);
    *out = cw_test_read_file(out_path);
    *err = cw_test_read_file(err_path);
    return rc;
}

static void expect(char **argv, const char *stdin_path, int code, const char *out,
                   const char *err)
{
    char *o = NULL, *e = NULL;
    int rc = run(argv, stdin_path, &o, &e);
    CU_ASSERT_EQUAL(rc, code);
    CU_ASSERT_PTR_NOT_NULL_FATAL(o);
    CU_ASSERT_PTR_NOT_NULL_FATAL(e);
    CU_ASSERT_STRING_EQUAL(o, out);
    CU_ASSERT_STRING_EQUAL(e, err);
    if (rc != code || strcmp(o, out) != 0 || strcmp(e, err) != 0)
        fprintf(stderr, "\ngot rc=%d out=[%s] err=[%s]\n", rc, o, e);
    free(o);
    free(e);
}

static void test_valid_file(void)
{
    char path[512];
    snprintf(path, sizeof path, "%s", scratch("ok.json"));
    write_file(path, "{\"upserts\":[{\"id\":\"a\",\"namespace\":\"n\",\"name\":\"x\",\"kind\":\"Pod\","
                     "\"apiVersion\":\"v1\",\"apiGroup\":\"\",\"createdAt\":\"2024-01-15T10:30:00Z\"}],"
                     "\"deletes\":[\"b\",\"c\"]}\n");
    char *argv[] = { "validate", path, NULL };
    expect(argv, NULL, 0, "ok: 1 upserts, 2 deletes", "");
}

static void test_invalid_file(void)
{
    char path[512];
    snprintf(path, sizeof path, "%s", scratch("bad.json"));
    write_file(path, "{\"deletes\":[1]}");
    char *argv[] = { "validate", path, NULL };
    expect(argv, NULL, 1,
           "{\"error\":\"Invalid payload\",\"details\":[{\"path\":[\"deletes\",0],"
           "\"code\":\"invalid_type\",\"message\":\"expected string, got number\"}]}", "");
}

static void test_stdin(void)
{
    char path[512];
    snprintf(path, sizeof path, "%s", scratch("in.json"));
    write_file(path, "{\"upserts\":null,\"deletes\":null}");
    char *argv[] = { "validate", "-", NULL };
    expect(argv, path, 0, "ok: 0 upserts, 0 deletes", "");
    write_file(path, "");
    expect(argv, path, 1,
           "{\"error\":\"Invalid payload\",\"details\":[{\"path\":[],\"code\":\"invalid_json\","
           "\"message\":\"body is empty\"}]}", "");
}

static void test_help(void)
{
    char *argv[] = { "validate", "--help", NULL };
    char *o = NULL, *e = NULL;
    CU_ASSERT_EQUAL(run(argv, NULL, &o, &e), 0);
    CU_ASSERT_PTR_NOT_NULL(o != NULL ? strstr(o, "usage: cluster-whisperer validate [--] FILE|-\n") : NULL);
    CU_ASSERT_STRING_EQUAL(e, "");
    free(o);
    free(e);
}

static void test_usage_errors(void)
{
    char *none[] = { "validate", NULL };
    expect(none, NULL, 2, "", "cluster-whisperer validate: missing FILE (see --help)");
    char *two[] = { "validate", "a.json", "b.json", NULL };
    expect(two, NULL, 2, "", "cluster-whisperer validate: unexpected argument 'b.json' (see --help)");
    char *opt[] = { "validate", "--strict", "a.json", NULL };
    expect(opt, NULL, 2, "", "cluster-whisperer validate: unknown option '--strict' (see --help)");
}

static void test_unreadable_file(void)
{
    char path[512], msg[700];
    snprintf(path, sizeof path, "%s", scratch("missing.json"));
    snprintf(msg, sizeof msg, "cluster-whisperer validate: cannot open %s: No such file or directory",
             path);
    char *argv[] = { "validate", path, NULL };
    expect(argv, NULL, 1, "", msg);
}

static CU_TestInfo tests[] = {
    { "valid file: ok line, exit 0", test_valid_file },
    { "invalid file: issues JSON, exit 1", test_invalid_file },
    { "stdin via -", test_stdin },
    { "--help", test_help },
    { "usage errors: exit 2, one line", test_usage_errors },
    { "unreadable file: one line, exit 1", test_unreadable_file },
    CU_TEST_INFO_NULL,
};

int main(void)
{
    int rc = cw_test_run("validate", tests);
    if (g_dir[0] != '\0') {
        char cmd[400];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_dir);
        if (system(cmd) != 0)
            fprintf(stderr, "could not remove %s\n", g_dir);
    }
    return rc;
}
