/* src/cli/flags.c on a table of its own: parsing (GNU style, env
 * fallbacks, limits), the exact error lines, the --help rendering and the
 * table check. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cw_test.h"
#include "flags.h"

typedef struct toy {
    unsigned short port;
    size_t bytes;
    int stall;
    int verbose;
    int mode;
    const char *name;
    const char *fmt;
    const char *file;
    const char *arg;
} toy;

static int no_x(const char *v, cw_error *err)
{
    return strchr(v, 'x') != NULL ? cw_error_set(err, CW_E_CONFIG, "'%s' holds an x", v) : 0;
}

static const char *const FMTS[] = { "text", "json", NULL };
static const char *const MODES[] = { "a", "b", "c", NULL };

#define AT(f) .at = CW_FLAG_AT(toy, f)
static const cw_flag TOY_FLAGS[] = {
    { .name = "port", .short_name = 'p', .kind = CW_FLAG_NUMBER, .arg = "N", .min = 1, .max = 65535,
      .env = "TOY_PORT", .help = "port", AT(port) },
    { .name = "bytes", .kind = CW_FLAG_BYTES, .arg = "BYTES", .min = 0, .max = 1ull << 40,
      .zero = "off", .help = "a byte count", AT(bytes) },
    { .name = "stall", .kind = CW_FLAG_NUMBER, .arg = "S", .min = 1, .max = 9, .zero = "never",
      .help = "seconds", AT(stall) },
    { .name = "verbose", .short_name = 'v', .kind = CW_FLAG_SWITCH, .help = "say more",
      AT(verbose) },
    { .name = NULL },
};
static const cw_flag TOY_MORE[] = {
    { .name = "mode", .kind = CW_FLAG_CHOICE_INDEX, .arg = "M", .choices = MODES, AT(mode) },
    { .name = "format", .kind = CW_FLAG_CHOICE, .arg = "FMT", .choices = FMTS,
      .help = "how to print", AT(fmt) },
    { .name = "name", .kind = CW_FLAG_STRING, .arg = "NAME", .check = no_x,
      .help = "a name that is long enough to need the second line of its entry, and a third",
      .dflt = "the host's", AT(name) },
    { .name = "a-rather-long-flag-name", .kind = CW_FLAG_FILE, .arg = "FILE", .help = "a file",
      AT(file) },
    { .name = NULL },
};

static const cw_flag_command TOY = {
    .name = "toy",
    .usage = "usage: toy [OPTIONS] ARG\n",
    .positional = "ARG",
    .positional_at = CW_FLAG_AT(toy, arg),
    .groups = (const cw_flag *const[]){ TOY_FLAGS, TOY_MORE, NULL },
};

static void defaults(toy *t)
{
    memset(t, 0, sizeof *t);
    t->port = 8080;
    t->bytes = 5u << 20;
    t->fmt = "text";
    t->mode = 1;
}

/* Parse a NULL-terminated argument list (after the command name); the
 * exit code, *t the result, errtext what was printed. */
static int parse(toy *t, char *errtext, size_t cap, const char *const *args)
{
    char *argv[32];
    int argc = 0;
    argv[argc++] = "toy";
    for (size_t i = 0; args[i] != NULL && argc < 31; i++)
        argv[argc++] = (char *)args[i];
    argv[argc] = NULL;
    defaults(t);
    FILE *err = fmemopen(errtext, cap, "w");
    int rc = cw_flags_parse(&TOY, t, argc, argv, err);
    fclose(err);
    return rc;
}

#define ARGS(...) ((const char *const[]){ __VA_ARGS__, NULL })

static void expect_error(const char *const *args, const char *want)
{
    toy t;
    char got[512] = "";
    CU_ASSERT_EQUAL(parse(&t, got, sizeof got, args), 2);
    if (strcmp(got, want) != 0)
        fprintf(stderr, "\nexpected: %sgot:      %s", want, got);
    CU_ASSERT_STRING_EQUAL(got, want);
}

static void test_values_land_in_their_fields(void)
{
    toy t;
    char err[256] = "";
    CU_ASSERT_EQUAL(parse(&t, err, sizeof err, ARGS("--port=99", "word", "--bytes", "0", "-v",
                                                    "--mode", "c", "--format", "json", "--name",
                                                    "n1", "--stall", "9")), 0);
    CU_ASSERT_STRING_EQUAL(err, "");
    CU_ASSERT_EQUAL(t.port, 99);
    CU_ASSERT_EQUAL(t.bytes, 0);
    CU_ASSERT_EQUAL(t.stall, 9);
    CU_ASSERT_EQUAL(t.verbose, 1);
    CU_ASSERT_EQUAL(t.mode, 2);
    CU_ASSERT_STRING_EQUAL(t.fmt, "json");
    CU_ASSERT_STRING_EQUAL(t.name, "n1");
    CU_ASSERT_STRING_EQUAL(t.arg, "word");
    CU_ASSERT_PTR_NULL(t.file);
    /* short names, an unambiguous prefix, 2^40 in a size_t */
    CU_ASSERT_EQUAL(parse(&t, err, sizeof err, ARGS("-p", "7", "--verb", "--bytes=1099511627776",
                                                    "--", "-x")), 0);
    CU_ASSERT_EQUAL(t.port, 7);
    CU_ASSERT_EQUAL(t.verbose, 1);
    CU_ASSERT_EQUAL(t.bytes, 1ull << 40);
    CU_ASSERT_STRING_EQUAL(t.arg, "-x");
    /* nothing given: the defaults stay */
    CU_ASSERT_EQUAL(parse(&t, err, sizeof err, ARGS("w")), 0);
    CU_ASSERT_EQUAL(t.port, 8080);
    CU_ASSERT_EQUAL(t.mode, 1);
    CU_ASSERT_EQUAL(parse(&t, err, sizeof err, ARGS("w", "--help", "--bogus")), 1);
}

static void test_environment_then_argv(void)
{
    toy t;
    char err[256] = "";
    setenv("TOY_PORT", "1234", 1);
    CU_ASSERT_EQUAL(parse(&t, err, sizeof err, ARGS("w")), 0);
    CU_ASSERT_EQUAL(t.port, 1234);
    CU_ASSERT_EQUAL(parse(&t, err, sizeof err, ARGS("w", "--port", "5")), 0);
    CU_ASSERT_EQUAL(t.port, 5);
    setenv("TOY_PORT", "", 1);                /* empty counts as unset */
    CU_ASSERT_EQUAL(parse(&t, err, sizeof err, ARGS("w")), 0);
    CU_ASSERT_EQUAL(t.port, 8080);
    setenv("TOY_PORT", "http", 1);
    expect_error(ARGS("w"), "cluster-whisperer toy: TOY_PORT wants a number from 1 to 65535, got 'http'\n");
    unsetenv("TOY_PORT");
}

static void test_error_lines(void)
{
    expect_error(ARGS("w", "--port", "0"),
                 "cluster-whisperer toy: --port wants a number from 1 to 65535, got '0'\n");
    expect_error(ARGS("-p", "-3", "w"),
                 "cluster-whisperer toy: --port wants a number from 1 to 65535, got '-3'\n");
    expect_error(ARGS("--bytes", "1099511627777"),
                 "cluster-whisperer toy: --bytes wants a number from 0 to 1099511627776, got '1099511627777'\n");
    expect_error(ARGS("--stall", "0"),
                 "cluster-whisperer toy: --stall wants a number from 1 to 9, got '0'\n");
    expect_error(ARGS("--mode", "d"), "cluster-whisperer toy: --mode must be a, b or c, got 'd'\n");
    expect_error(ARGS("--format", "xml"), "cluster-whisperer toy: --format must be text or json, got 'xml'\n");
    expect_error(ARGS("--name", "box"), "cluster-whisperer toy: --name: 'box' holds an x\n");
    expect_error(ARGS("w", "--port"), "cluster-whisperer toy: option '--port' needs a value\n");
    expect_error(ARGS("w", "--verbose=1"),
                 "cluster-whisperer toy: unknown option '--verbose=1' (see --help)\n");
    expect_error(ARGS("w", "--bogus"), "cluster-whisperer toy: unknown option '--bogus' (see --help)\n");
    expect_error(ARGS("w", "v"), "cluster-whisperer toy: unexpected argument 'v' (see --help)\n");
    expect_error(ARGS("--", "w", "v"), "cluster-whisperer toy: unexpected argument 'v' (see --help)\n");
    expect_error(ARGS("-v"), "cluster-whisperer toy: missing ARG (see --help)\n");
    expect_error(ARGS("w", "--a-rather-long-flag-name", "/nonexistent/f"),
                 "cluster-whisperer toy: --a-rather-long-flag-name /nonexistent/f: No such file or directory\n");
}

static void test_help_rendering(void)
{
    toy d;
    defaults(&d);
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    cw_flags_help(out, &TOY, &d);
    fclose(out);
    const char *want =
        "usage: toy [OPTIONS] ARG\n"
        "\n"
        "options:\n"
        "  -p, --port N           port (env TOY_PORT, default 8080, at most 65535)\n"
        "  --bytes BYTES          a byte count (default 5242880 = 5 MiB; 0 = off)\n"
        "  --stall S              seconds (default: never, at most 9)\n"
        "  -v, --verbose          say more\n"
        "  --mode M               a | b | c (default b)\n"
        "  --format FMT           text | json: how to print (default text)\n"
        "  --name NAME            a name that is long enough to need the second line of\n"
        "                         its entry, and a third (default: the host's)\n"
        "  --a-rather-long-flag-name FILE\n"
        "                         a file\n"
        "  -h, --help             show this help\n";
    if (strcmp(text, want) != 0)
        fprintf(stderr, "\n%s", text);
    CU_ASSERT_STRING_EQUAL(text, want);
    free(text);
}

static void test_table_check(void)
{
    toy d;
    defaults(&d);
    cw_error err;
    cw_error_clear(&err);
    CU_ASSERT_EQUAL(cw_flags_check_table(&TOY, &d, &err), 0);
    d.fmt = "yaml";
    CU_ASSERT_EQUAL(cw_flags_check_table(&TOY, &d, &err), -1);
    CU_ASSERT_STRING_EQUAL(err.msg, "toy --format has a default that is not one of its choices");

    static const cw_flag bad_max[] = {
        { .name = "port", .kind = CW_FLAG_NUMBER, .arg = "N", .min = 0, .max = 70000,
          .help = "p", .at = CW_FLAG_AT(toy, port) },
        { .name = NULL },
    };
    static const cw_flag bad_default[] = {
        { .name = "stall", .kind = CW_FLAG_NUMBER, .arg = "S", .min = 1, .max = 9, .help = "s",
          .at = CW_FLAG_AT(toy, stall) },
        { .name = NULL },
    };
    static const cw_flag bad_field[] = {
        { .name = "name", .kind = CW_FLAG_STRING, .arg = "N", .help = "n",
          .at = CW_FLAG_AT(toy, port) },
        { .name = NULL },
    };
    static const cw_flag twice[] = {
        { .name = "verbose", .kind = CW_FLAG_SWITCH, .help = "v", .at = CW_FLAG_AT(toy, verbose) },
        { .name = "verbose", .kind = CW_FLAG_SWITCH, .help = "v", .at = CW_FLAG_AT(toy, stall) },
        { .name = NULL },
    };
    static const cw_flag help[] = {
        { .name = "help", .kind = CW_FLAG_SWITCH, .help = "v", .at = CW_FLAG_AT(toy, verbose) },
        { .name = NULL },
    };
    const struct { const cw_flag *rows; const char *msg; } cases[] = {
        { bad_max, "toy --port has a maximum its field cannot hold" },
        { bad_default, "toy --stall has a default outside [min, max]" },
        { bad_field, "toy --name is not stored in a const char *" },
        { twice, "toy --verbose is there twice" },
        { help, "toy --help takes the name of --help" },
    };
    defaults(&d);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cw_flag_command c = TOY;
        c.groups = (const cw_flag *const[]){ cases[i].rows, NULL };
        cw_error_clear(&err);
        CU_ASSERT_EQUAL(cw_flags_check_table(&c, &d, &err), -1);
        CU_ASSERT_STRING_EQUAL(err.msg, cases[i].msg);
    }
}

int main(void)
{
    unsetenv("TOY_PORT");
    CU_TestInfo tests[] = {
        { "values land in their fields", test_values_land_in_their_fields },
        { "the environment, then argv", test_environment_then_argv },
        { "error lines", test_error_lines },
        { "--help rendering", test_help_rendering },
        { "table check", test_table_check },
        CU_TEST_INFO_NULL,
    };
    return cw_test_run("cli_flags", tests);
}
