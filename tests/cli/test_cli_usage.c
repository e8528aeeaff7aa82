/* The binary's flags and exit codes: 0 ok, 1 failure, 2 usage error. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cw_test.h"
#include "proc.h"

static const char *bin(void) { return getenv("CW_BIN"); }

/* Run the binary with up to 6 arguments; returns exit code. */
static int run(char **out, char **err, const char *a1, const char *a2, const char *a3)
{
    char *argv[] = { (char *)bin(), (char *)a1, (char *)a2, (char *)a3, NULL };
    return proc_run(argv, out, err);
}

static void test_help_lists_commands(void)
{
    char *out = NULL, *err = NULL;
    CU_ASSERT_EQUAL(run(&out, &err, "--help", NULL, NULL), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "usage: cluster-whisperer COMMAND [OPTIONS]"));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "  serve "));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "  sync "));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "  search "));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "  validate "));
    free(out);
    free(err);
}

static void test_version(void)
{
    char *out = NULL;
    CU_ASSERT_EQUAL(run(&out, NULL, "--version", NULL, NULL), 0);
    CU_ASSERT_STRING_EQUAL(out, "cluster-whisperer " CW_VERSION "\n");
    free(out);
}

static void test_no_command_is_usage_error(void)
{
    char *err = NULL;
    CU_ASSERT_EQUAL(run(NULL, &err, NULL, NULL, NULL), 2);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "usage: cluster-whisperer"));
    free(err);
}

static void test_unknown_command(void)
{
    char *err = NULL;
    CU_ASSERT_EQUAL(run(NULL, &err, "frobnicate", NULL, NULL), 2);
    CU_ASSERT_STRING_EQUAL(err, "cluster-whisperer: unknown command 'frobnicate' (see --help)\n");
    free(err);
}

static void test_unknown_flag(void)
{
    char *err = NULL;
    CU_ASSERT_EQUAL(run(NULL, &err, "serve", "--bogus", NULL), 2);
    CU_ASSERT_STRING_EQUAL(err, "cluster-whisperer serve: unknown option '--bogus' (see --help)\n");
    free(err);
}

static void test_bad_number(void)
{
    char *err = NULL;
    CU_ASSERT_EQUAL(run(NULL, &err, "serve", "--port", "70000"), 2);
    CU_ASSERT_STRING_EQUAL(err, "cluster-whisperer serve: --port wants a number from 0 to 65535, got '70000'\n");
    free(err);
}

static void test_missing_value(void)
{
    char *err = NULL;
    CU_ASSERT_EQUAL(run(NULL, &err, "serve", "--port", NULL), 2);
    CU_ASSERT_STRING_EQUAL(err, "cluster-whisperer serve: option '--port' needs a value\n");
    free(err);
}

static void test_bad_embedder(void)
{
    char *err = NULL;
    CU_ASSERT_EQUAL(run(NULL, &err, "search", "--embedder", "bert"), 2);
    CU_ASSERT_STRING_EQUAL(err, "cluster-whisperer search: --embedder must be local, voyage or openai, got 'bert'\n");
    free(err);
}

static void test_search_needs_query(void)
{
    char *err = NULL;
    CU_ASSERT_EQUAL(run(NULL, &err, "search", NULL, NULL), 2);
    CU_ASSERT_STRING_EQUAL(err, "cluster-whisperer search: missing QUERY (see --help)\n");
    free(err);
}

static void test_command_help(void)
{
    const char *cmds[] = { "serve", "sync", "search", "validate" };
    for (size_t i = 0; i < 4; i++) {
        char *out = NULL;
        CU_ASSERT_EQUAL(run(&out, NULL, cmds[i], "--help", NULL), 0);
        CU_ASSERT_PTR_NOT_NULL(strstr(out, "usage: cluster-whisperer"));
        free(out);
    }
    char *out = NULL;
    CU_ASSERT_EQUAL(run(&out, NULL, "serve", "--help", NULL), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "--chroma-url URL"));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "--batch-linger-ms MS"));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "\n  --log-probes           also log /healthz, /readyz and /metrics requests\n"
                                       "                         (default: not logged)\n"));
    free(out);
    /* a serve-only flag */
    CU_ASSERT_EQUAL(run(&out, NULL, "sync", "--help", NULL), 0);
    CU_ASSERT_PTR_NULL(strstr(out, "--log-probes"));
    free(out);
    char *err = NULL;
    CU_ASSERT_EQUAL(run(NULL, &err, "sync", "--log-probes", "x.json"), 2);
    CU_ASSERT_STRING_EQUAL(err, "cluster-whisperer sync: unknown option '--log-probes' (see --help)\n");
    free(err);
}

static void test_cw_serve_link_means_serve(void)
{
    /* The build puts the cw-serve symlink beside the binary. */
    char path[4096];
    snprintf(path, sizeof path, "%s", bin());
    char *slash = strrchr(path, '/');
    CU_ASSERT_PTR_NOT_NULL_FATAL(slash);
    snprintf(slash + 1, sizeof path - (size_t)(slash + 1 - path), "cw-serve");
    char *argv[] = { path, "--help", NULL };
    char *out = NULL;
    CU_ASSERT_EQUAL(proc_run(argv, &out, NULL), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "usage: cluster-whisperer serve [OPTIONS]"));
    free(out);
    /* The image's ENTRYPOINT is cw-serve: `docker run IMAGE --version`. */
    char *version[] = { path, "--version", NULL };
    CU_ASSERT_EQUAL(proc_run(version, &out, NULL), 0);
    CU_ASSERT_STRING_EQUAL(out, "cluster-whisperer " CW_VERSION "\n");
    free(out);
}

static void test_unreachable_model_dir_one_line(void)
{
    char *err = NULL;
    char *argv[] = { (char *)bin(), "search", "--embedder", "local", "--model-dir", "/nonexistent/model",
                     "--chroma-url", "http://127.0.0.1:1", "databases", NULL };
    CU_ASSERT_EQUAL(proc_run(argv, NULL, &err), 1);
    /* exactly one line, naming the install command */
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "contrib/install-model.sh"));
    CU_ASSERT_PTR_NOT_NULL(strchr(err, '\n'));
    CU_ASSERT_EQUAL(strchr(err, '\n')[1], '\0');
    free(err);
}

/* Options before or after the positional argument (GNU-style permutation),
 * `--` ends them: each case is told apart by the error it ends in. */
static int runv(char **err, const char *const *args)
{
    char *argv[16];
    size_t k = 0;
    argv[k++] = (char *)bin();
    for (size_t i = 0; args[i] != NULL && k < 15; i++)
        argv[k++] = (char *)args[i];
    argv[k] = NULL;
    return proc_run(argv, NULL, err);
}

static void expect(const char *const *args, int code, const char *err_text)
{
    char *err = NULL;
    CU_ASSERT_EQUAL(runv(&err, args), code);
    CU_ASSERT_PTR_NOT_NULL_FATAL(err);
    if (strcmp(err, err_text) != 0)
        fprintf(stderr, "\nexpected: %sgot:      %s", err_text, err);
    CU_ASSERT_STRING_EQUAL(err, err_text);
    free(err);
}

#define DOWN "--chroma-url", "http://127.0.0.1:1", "--embedder", "local", "--model-dir", "/nonexistent/model"

static void test_options_after_the_query(void)
{
    /* the README's own example shape: flags after the query are read */
    expect((const char *[]){ "search", "which databases are running", "-n", "0", "--namespace", "default", NULL }, 2,
           "cluster-whisperer search: -n wants a number from 1 to 100, got '0'\n");
    expect((const char *[]){ "search", "which databases", "-n", "101", NULL }, 2,
           "cluster-whisperer search: -n wants a number from 1 to 100, got '101'\n");
    expect((const char *[]){ "search", "databases", "--kind", NULL }, 2,
           "cluster-whisperer search: option '--kind' needs a value\n");
    expect((const char *[]){ "search", "databases", "--bogus", NULL }, 2,
           "cluster-whisperer search: unknown option '--bogus' (see --help)\n");
    expect((const char *[]){ "search", "databases", "--json", "--ranking", "best", NULL }, 2,
           "cluster-whisperer search: --ranking must be hybrid, vector or lexical, got 'best'\n");
    /* options on both sides, then the query reaches Chroma (down: exit 1) */
    char *err = NULL;
    CU_ASSERT_EQUAL(runv(&err, (const char *[]){ "search", "--json", "databases", "-n", "5", DOWN, NULL }), 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "cluster-whisperer search: "));
    free(err);
}

static void test_one_positional_only(void)
{
    expect((const char *[]){ "search", "databases", "running", NULL }, 2,
           "cluster-whisperer search: unexpected argument 'running' (see --help)\n");
    expect((const char *[]){ "search", "-n", "3", "databases", "-n", "4", "running", NULL }, 2,
           "cluster-whisperer search: unexpected argument 'running' (see --help)\n");
    expect((const char *[]){ "serve", "--port", "0", "extra", NULL }, 2,
           "cluster-whisperer serve: unexpected argument 'extra' (see --help)\n");
    expect((const char *[]){ "sync", "a.json", "--bogus", NULL }, 2,
           "cluster-whisperer sync: unknown option '--bogus' (see --help)\n");
    expect((const char *[]){ "sync", "a.json", "b.json", NULL }, 2,
           "cluster-whisperer sync: unexpected argument 'b.json' (see --help)\n");
    expect((const char *[]){ "validate", "a.json", "b.json", NULL }, 2,
           "cluster-whisperer validate: unexpected argument 'b.json' (see --help)\n");
}

static void test_double_dash_ends_options(void)
{
    /* after --, "-n" is the query, and a second word is one too many */
    expect((const char *[]){ "search", "--", "-n", "5", NULL }, 2,
           "cluster-whisperer search: unexpected argument '5' (see --help)\n");
    expect((const char *[]){ "search", "-n", "5", "--", NULL }, 2,
           "cluster-whisperer search: missing QUERY (see --help)\n");
    char *err = NULL;
    CU_ASSERT_EQUAL(runv(&err, (const char *[]){ "search", DOWN, "-n", "2", "--", "--json", NULL }), 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "cluster-whisperer search: "));
    free(err);
    /* a file named like an option */
    expect((const char *[]){ "validate", "--", "-no-such.json", NULL }, 1,
           "cluster-whisperer validate: cannot open -no-such.json: No such file or directory\n");
    expect((const char *[]){ "sync", "--", "--help", "x", NULL }, 2,
           "cluster-whisperer sync: unexpected argument 'x' (see --help)\n");
    /* "-" is standard input, a positional, not an option */
    expect((const char *[]){ "validate", "-", "-", NULL }, 2,
           "cluster-whisperer validate: unexpected argument '-' (see --help)\n");
}

int main(void)
{
    CU_TestInfo tests[] = {
        { "help lists commands", test_help_lists_commands },
        { "version", test_version },
        { "no command is a usage error", test_no_command_is_usage_error },
        { "unknown command", test_unknown_command },
        { "unknown flag", test_unknown_flag },
        { "bad number", test_bad_number },
        { "missing value", test_missing_value },
        { "bad embedder", test_bad_embedder },
        { "search needs a query", test_search_needs_query },
        { "every command has --help", test_command_help },
        { "cw-serve link means serve", test_cw_serve_link_means_serve },
        { "missing model: one line naming the install command", test_unreachable_model_dir_one_line },
        { "options after the query", test_options_after_the_query },
        { "one positional only", test_one_positional_only },
        { "-- ends the options", test_double_dash_ends_options },
        CU_TEST_INFO_NULL,
    };
    return cw_test_run("cli_usage", tests);
}
