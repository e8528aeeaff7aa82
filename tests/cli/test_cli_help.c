/* Every command's --help is byte for byte what its flag table renders
 * (the binary against cw_options_help() of the same tables), every table
 * passes cw_flags_check_table() against the defaults, and the defaults
 * are the libraries' own. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cw_test.h"
#include "options.h"
#include "proc.h"

static char *rendered(cw_command_id id)
{
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    cw_options_help(out, id);
    fclose(out);
    return text;
}

static void test_binary_help_is_the_table(void)
{
    for (int id = 0; id < CW_CMD_COUNT; id++) {
        const char *name = cw_options_command((cw_command_id)id)->name;
        char *argv[] = { getenv("CW_BIN"), (char *)name, "--help", NULL };
        char *out = NULL, *err = NULL;
        CU_ASSERT_EQUAL(proc_run(argv, &out, &err), 0);
        char *want = rendered((cw_command_id)id);
        CU_ASSERT_PTR_NOT_NULL_FATAL(out);
        if (strcmp(out, want) != 0)
            fprintf(stderr, "\n%s --help differs from its table:\n%s", name, out);
        CU_ASSERT_STRING_EQUAL(out, want);
        CU_ASSERT_STRING_EQUAL(err, "");
        /* -h is --help too */
        free(out);
        free(err);
        char *argv_h[] = { getenv("CW_BIN"), (char *)name, "-h", NULL };
        CU_ASSERT_EQUAL(proc_run(argv_h, &out, NULL), 0);
        CU_ASSERT_STRING_EQUAL(out, want);
        free(out);
        free(want);
    }
    /* cw-serve is serve */
    char path[4096];
    snprintf(path, sizeof path, "%s", getenv("CW_BIN"));
    char *slash = strrchr(path, '/');
    CU_ASSERT_PTR_NOT_NULL_FATAL(slash);
    snprintf(slash + 1, sizeof path - (size_t)(slash + 1 - path), "cw-serve");
    char *argv[] = { path, "--help", NULL };
    char *out = NULL, *want = rendered(CW_CMD_SERVE);
    CU_ASSERT_EQUAL(proc_run(argv, &out, NULL), 0);
    CU_ASSERT_STRING_EQUAL(out, want);
    free(out);
    free(want);
}

static void test_help_ignores_the_environment(void)
{
    char *before = rendered(CW_CMD_SERVE);
    setenv("PORT", "4000", 1);
    setenv("CHROMA_URL", "http://elsewhere:1", 1);
    char *after = rendered(CW_CMD_SERVE);
    CU_ASSERT_STRING_EQUAL(before, after);
    CU_ASSERT_PTR_NOT_NULL(strstr(before, "port to listen on (env PORT, default 3000, at most\n"));
    unsetenv("PORT");
    unsetenv("CHROMA_URL");
    free(before);
    free(after);
}

static void test_tables_check(void)
{
    cw_options d;
    cw_options_defaults(&d);
    for (int id = 0; id < CW_CMD_COUNT; id++) {
        const cw_flag_command *cmd = cw_options_command((cw_command_id)id);
        if (cmd->groups == NULL)
            continue;                         /* validate: no flags */
        cw_error err;
        cw_error_clear(&err);
        int rc = cw_flags_check_table(cmd, &d, &err);
        if (rc != 0)
            fprintf(stderr, "\n%s\n", err.msg);
        CU_ASSERT_EQUAL(rc, 0);
    }
}

/* The CLI adds no defaults of its own to the libraries' configs. */
static void test_defaults_are_the_libraries(void)
{
    cw_options o;
    cw_options_defaults(&o);
    cw_http_config hc;
    cw_http_config_defaults(&hc);
    CU_ASSERT_EQUAL(memcmp(&o.http, &hc, sizeof hc), 0);
    cw_pipeline_config pc;
    cw_pipeline_config_defaults(&pc);
    CU_ASSERT_EQUAL(memcmp(&o.pipeline, &pc, sizeof pc), 0);
    cw_chroma_config cc;
    cw_chroma_config_defaults(&cc);
    CU_ASSERT_EQUAL(memcmp(&o.chroma, &cc, sizeof cc), 0);
    CU_ASSERT_STRING_EQUAL(o.chroma.url, "http://localhost:8000");
    CU_ASSERT_EQUAL(o.journal_max_bytes, CW_JOURNAL_DEFAULT_MAX_BYTES);
}

/* --embed-precision stores its choice's index as a cw_local_precision. */
static void test_precision_choices_in_enum_order(void)
{
    const char *names[] = { "auto", "fp32", "bf16", "int8" };
    for (int i = 0; i < 4; i++) {
        cw_options o;
        char *argv[] = { "search", "--embed-precision", (char *)names[i], "q", NULL };
        cw_options_defaults(&o);
        CU_ASSERT_EQUAL(cw_flags_parse(cw_options_command(CW_CMD_SEARCH), &o, 4, argv, stderr), 0);
        cw_local_precision p;
        CU_ASSERT_EQUAL(cw_local_precision_parse(names[i], &p), 0);
        CU_ASSERT_EQUAL((int)o.local.precision, (int)p);
    }
}

int main(void)
{
    CU_TestInfo tests[] = {
        { "the binary's --help is its table, for every command", test_binary_help_is_the_table },
        { "--help does not depend on the environment", test_help_ignores_the_environment },
        { "every table passes its check", test_tables_check },
        { "the defaults are the libraries'", test_defaults_are_the_libraries },
        { "--embed-precision choices in cw_local_precision's order", test_precision_choices_in_enum_order },
        CU_TEST_INFO_NULL,
    };
    return cw_test_run("cli_help", tests);
}
