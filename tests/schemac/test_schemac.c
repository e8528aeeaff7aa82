/* cw-schemac: exact error messages (file:line:col, source line, caret),
 * exit codes, and a successful compile. Runs the real compiler binary
 * (CW_SCHEMAC) on schema files written to a scratch directory. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cw_test.h"

static char g_dir[256];
static char g_schema[512];   /* g_dir/t.schema */
static char g_out[512];      /* g_dir/out */

static void setup_dir(void)
{
    if (g_dir[0] != '\0')
        return;
    snprintf(g_dir, sizeof g_dir, "/tmp/cw-schemac-test-XXXXXX");
    if (mkdtemp(g_dir) == NULL) {
        perror("mkdtemp");
        exit(1);
    }
    snprintf(g_schema, sizeof g_schema, "%s/t.schema", g_dir);
    snprintf(g_out, sizeof g_out, "%s/out", g_dir);
    mkdir(g_out, 0700);
}

static void write_bytes(const char *path, const char *text, size_t len)
{
    FILE *f = fopen(path, "wb");
    CU_ASSERT_FATAL(f != NULL);
    CU_ASSERT_FATAL(fwrite(text, 1, len, f) == len);
    fclose(f);
}

/* Run cw-schemac with `args` (already quoted), return its exit code and
 * stderr (malloc'd) in *err. */
static int run_args(const char *args, char **err)
{
    char cmd[2048], errpath[600];
    const char *schemac = getenv("CW_SCHEMAC");

    CU_ASSERT_FATAL(schemac != NULL);
    snprintf(errpath, sizeof errpath, "%s/stderr", g_dir);
    snprintf(cmd, sizeof cmd, "'%s' %s 2>'%s'", schemac, args, errpath);
    int status = system(cmd);
    *err = cw_test_read_file(errpath);
    if (*err == NULL)
        *err = strdup("");
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* Compile `len` bytes of schema text; exit code and stderr. */
static int compile_bytes(const char *text, size_t len, char **err)
{
    char args[1200];

    setup_dir();
    write_bytes(g_schema, text, len);
    snprintf(args, sizeof args, "'%s' '%s'", g_schema, g_out);
    return run_args(args, err);
}

/* `tmpl` with every "%s" replaced by the schema path, into out. */
static void expand(const char *tmpl, char *out, size_t cap)
{
    size_t n = 0, plen = strlen(g_schema);

    while (*tmpl != '\0' && n + plen + 1 < cap) {
        if (tmpl[0] == '%' && tmpl[1] == 's') {
            memcpy(out + n, g_schema, plen);
            n += plen;
            tmpl += 2;
        } else {
            out[n++] = *tmpl++;
        }
    }
    out[n] = '\0';
}

/* Compile `text`; expect exit 1 and stderr == expected, where every "%s"
 * in `expected_tmpl` stands for the schema path. (cw_test_read_file drops
 * the final newline.) */
static void expect_error(const char *text, const char *expected_tmpl)
{
    char *err = NULL, expected[2048];

    int rc = compile_bytes(text, strlen(text), &err);
    expand(expected_tmpl, expected, sizeof expected);
    CU_ASSERT_EQUAL(rc, 1);
    CU_ASSERT_STRING_EQUAL(err, expected);
    if (strcmp(err, expected) != 0)
        fprintf(stderr, "\n--- got:\n%s\n--- expected:\n%s\n", err, expected);
    free(err);
}

#define HEAD "prefix cw;\n"

static void test_lexer_unexpected_character(void)
{
    expect_error(HEAD "record a {\n  x: string $;\n}\nroot a;\n",
                 "%s:3:13: unexpected character '$'\n"
                 "  x: string $;\n"
                 "            ^");
}

static void test_lexer_unexpected_byte(void)
{
    expect_error(HEAD "record a { x: string\x01; }\nroot a;\n",
                 "%s:2:21: unexpected byte 0x01\n"
                 "record a { x: string\x01; }\n"
                 "                    ^");
}

static void test_lexer_nul_byte(void)
{
    char *err = NULL, expected[1024];
    static const char text[] = "prefix cw;\nrecord a { x: string;\0 }\nroot a;\n";

    int rc = compile_bytes(text, sizeof text - 1, &err);
    snprintf(expected, sizeof expected,
             "%s:2:22: unexpected byte 0x00\n"
             "record a { x: string;\n"
             "                     ^", g_schema);
    CU_ASSERT_EQUAL(rc, 1);
    CU_ASSERT_STRING_EQUAL(err, expected);
    free(err);
}

static void test_lexer_tab_keeps_caret_aligned(void)
{
    expect_error(HEAD "record a {\n\tx: string @;\n}\nroot a;\n",
                 "%s:3:12: unexpected character '@'\n"
                 "\tx: string @;\n"
                 "\t          ^");
}

static void test_parse_missing_semicolon(void)
{
    expect_error(HEAD "record a {\n  x: string\n  y: string;\n}\nroot a;\n",
                 "%s:4:3: expected a modifier or ';', got identifier 'y'\n"
                 "  y: string;\n"
                 "  ^");
}

static void test_parse_missing_colon(void)
{
    expect_error(HEAD "record a { x string; }\nroot a;\n",
                 "%s:2:14: expected ':' after the field name, got 'string'\n"
                 "record a { x string; }\n"
                 "             ^");
}

static void test_parse_unterminated_record(void)
{
    expect_error(HEAD "record a {\n  x: string;\n",
                 "%s:4:1: expected a field name or '}', got end of file\n"
                 "\n"
                 "^");
}

static void test_parse_bad_toplevel(void)
{
    expect_error(HEAD "struct a { }\n",
                 "%s:2:1: expected 'prefix', 'record' or 'root', got identifier 'struct'\n"
                 "struct a { }\n"
                 "^");
}

static void test_parse_bad_type(void)
{
    expect_error(HEAD "record a { x: 42; }\nroot a;\n",
                 "%s:2:15: expected a type, got integer '42'\n"
                 "record a { x: 42; }\n"
                 "              ^");
}

static void test_parse_map_missing_angle(void)
{
    expect_error(HEAD "record a { x: map<string; }\nroot a;\n",
                 "%s:2:25: expected '>', got ';'\n"
                 "record a { x: map<string; }\n"
                 "                        ^");
}

static void test_parse_maxlen_needs_number(void)
{
    expect_error(HEAD "record a { x: string maxlen(big); }\nroot a;\n",
                 "%s:2:29: expected a length in bytes, got identifier 'big'\n"
                 "record a { x: string maxlen(big); }\n"
                 "                            ^");
}

static void test_parse_maxlen_zero(void)
{
    expect_error(HEAD "record a { x: string maxlen(0); }\nroot a;\n",
                 "%s:2:29: maxlen must be at least 1\n"
                 "record a { x: string maxlen(0); }\n"
                 "                            ^");
}

static void test_parse_duplicate_modifier(void)
{
    expect_error(HEAD "record a { x: string nullable nullable; }\nroot a;\n",
                 "%s:2:31: duplicate modifier 'nullable'\n"
                 "record a { x: string nullable nullable; }\n"
                 "                              ^");
}

static void test_parse_duplicate_root(void)
{
    expect_error(HEAD "record a { x: string; }\nroot a;\nroot a;\n",
                 "%s:4:1: duplicate 'root' declaration (first at line 3)\n"
                 "root a;\n"
                 "^");
}

static void test_check_unknown_type(void)
{
    expect_error(HEAD "record a {\n  x: list<thing>;\n}\nroot a;\n",
                 "%s:3:11: unknown type 'thing'\n"
                 "  x: list<thing>;\n"
                 "          ^");
}

static void test_check_duplicate_field(void)
{
    expect_error(HEAD "record a {\n  x: string;\n  x: string;\n}\nroot a;\n",
                 "%s:4:3: duplicate field 'x' in record 'a' (first at line 3)\n"
                 "  x: string;\n"
                 "  ^");
}

static void test_check_c_name_collision(void)
{
    expect_error(HEAD "record a {\n  fooBar: string;\n  foo_bar: string;\n}\nroot a;\n",
                 "%s:4:3: field 'foo_bar' and field 'fooBar' (line 3) both become C member 'foo_bar'\n"
                 "  foo_bar: string;\n"
                 "  ^");
}

static void test_check_duplicate_record(void)
{
    expect_error(HEAD "record a { x: string; }\nrecord a { y: string; }\nroot a;\n",
                 "%s:3:8: duplicate record 'a' (first at line 2)\n"
                 "record a { y: string; }\n"
                 "       ^");
}

static void test_check_modifier_does_not_fit(void)
{
    expect_error(HEAD "record b { y: string; }\nrecord a { x: list<b> maxlen(10); }\nroot a;\n",
                 "%s:3:23: modifier 'maxlen' does not fit type list<b>\n"
                 "record a { x: list<b> maxlen(10); }\n"
                 "                      ^");
}

static void test_check_format_on_record(void)
{
    expect_error(HEAD "record b { y: string; }\nrecord a { x: b nonempty format(datetime); }\nroot a;\n",
                 "%s:3:17: modifier 'nonempty' does not fit type b\n"
                 "record a { x: b nonempty format(datetime); }\n"
                 "                ^\n"
                 "%s:3:26: modifier 'format' does not fit type b\n"
                 "record a { x: b nonempty format(datetime); }\n"
                 "                         ^");
}

static void test_check_unknown_format(void)
{
    expect_error(HEAD "record a { x: string format(date); }\nroot a;\n",
                 "%s:2:22: unknown format 'date' (known: datetime, rfc3339)\n"
                 "record a { x: string format(date); }\n"
                 "                     ^");
}

/* Any nesting compiles now (v2); what is refused is said exactly. */
static char *read_out(const char *name);

static void test_check_nesting_compiles(void)
{
    static const char text[] =
        HEAD "record b { y: string; }\n"
        "record a {\n"
        "  x: map<list<string>>;\n"
        "  grid: list<list<int>> min(0) max(9);\n"
        "  byName: map<b> nullable optional;\n"
        "  deep: list<map<list<b>>>;\n"
        "  phases: list<enum(\"Up\", \"Down\")>;\n"
        "}\nroot a;\n";
    char *err = NULL, *h = NULL;

    CU_ASSERT_EQUAL(compile_bytes(text, strlen(text), &err), 0);
    CU_ASSERT_STRING_EQUAL(err, "");
    free(err);
    h = read_out("t.h");
    CU_ASSERT_PTR_NOT_NULL_FATAL(h);
    CU_ASSERT_PTR_NOT_NULL(strstr(h, "typedef struct cw_str_list_pair { const char *key; cw_str_list value; } cw_str_list_pair;\n"
                                     "typedef struct cw_str_list_map { cw_str_list_pair *items; size_t len; } cw_str_list_map;\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(h, "typedef struct cw_int_list_list { cw_int_list *items; size_t len; } cw_int_list_list;\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(h, "typedef struct cw_b_list_map { cw_b_list_pair *items; size_t len; } cw_b_list_map;\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(h, "    CW_A_PHASES_UP,                  /* \"Up\" */\n"
                                     "    CW_A_PHASES_DOWN,                /* \"Down\" */\n"
                                     "} cw_a_phases;\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(h, "    cw_int_list_list grid;           /* grid: list<list<int>> min(0) max(9) */\n"));
    free(h);
}

static void test_check_int_modifiers(void)
{
    expect_error(HEAD "record a { x: string min(1); y: list<int> max(1) min(2); }\nroot a;\n",
                 "%s:2:22: modifier 'min' does not fit type string\n"
                 "record a { x: string min(1); y: list<int> max(1) min(2); }\n"
                 "                     ^\n"
                 "%s:2:43: max(1) is below min(2)\n"
                 "record a { x: string min(1); y: list<int> max(1) min(2); }\n"
                 "                                          ^");
    expect_error(HEAD "record a { x: int max(9223372036854775808); }\nroot a;\n",
                 "%s:2:23: max must be within [-9223372036854775808, 9223372036854775807]\n"
                 "record a { x: int max(9223372036854775808); }\n"
                 "                      ^");
}

static void test_check_defaults(void)
{
    expect_error(HEAD "record a {\n  x: int default(\"1\");\n  y: int min(0) default(-1);\n"
                 "  z: list<string> default(\"a\");\n  e: enum(\"a\") default(\"b\");\n"
                 "  s: string maxlen(2) default(\"abc\");\n  n: number default(true);\n}\nroot a;\n",
                 "%s:3:10: default(\"1\") is not an int\n"
                 "  x: int default(\"1\");\n"
                 "         ^\n"
                 "%s:4:17: default(-1) is outside min/max\n"
                 "  y: int min(0) default(-1);\n"
                 "                ^\n"
                 "%s:5:19: modifier 'default' does not fit type list<string> (an absent map, list or record is already empty)\n"
                 "  z: list<string> default(\"a\");\n"
                 "                  ^\n"
                 "%s:6:16: default(\"b\") is not one of the enum's values\n"
                 "  e: enum(\"a\") default(\"b\");\n"
                 "               ^\n"
                 "%s:7:23: default(\"abc\") breaks the field's nonempty or maxlen\n"
                 "  s: string maxlen(2) default(\"abc\");\n"
                 "                      ^\n"
                 "%s:8:13: default(true) is not a number\n"
                 "  n: number default(true);\n"
                 "            ^");
    expect_error(HEAD "record a { x: bool default(yes); }\nroot a;\n",
                 "%s:2:28: expected a default value (a quoted string, a number, true or false), got identifier 'yes'\n"
                 "record a { x: bool default(yes); }\n"
                 "                           ^");
}

static void test_check_enums(void)
{
    expect_error(HEAD "record a { x: enum(\"a\", \"b\", \"a\"); }\nroot a;\n",
                 "%s:2:15: duplicate enum value \"a\"\n"
                 "record a { x: enum(\"a\", \"b\", \"a\"); }\n"
                 "              ^");
    expect_error(HEAD "record a { x: enum(\"a-b\", \"a.b\"); }\nroot a;\n",
                 "%s:2:15: enum values \"a-b\" and \"a.b\" both become C constant CW_A_X_A_B\n"
                 "record a { x: enum(\"a-b\", \"a.b\"); }\n"
                 "              ^");
    expect_error(HEAD "record a { x: enum(); }\nroot a;\n",
                 "%s:2:20: expected a quoted enum value, got ')'\n"
                 "record a { x: enum(); }\n"
                 "                   ^");
    expect_error(HEAD "record a_x { y: string; }\nrecord a { x: enum(\"u\"); z: a_x; }\nroot a;\n",
                 "%s:3:15: the enum of field 'x' is C type cw_a_x, as is record 'a_x'\n"
                 "record a { x: enum(\"u\"); z: a_x; }\n"
                 "              ^");
}

/* A bool, int, number or enum that can be absent or null gets has_<name>. */
static void test_check_presence_flag_clash(void)
{
    expect_error(HEAD "record a {\n  n: int optional;\n  hasN: string;\n}\nroot a;\n",
                 "%s:4:3: field 'hasN' becomes C member 'has_n', the presence flag of field 'n' (line 3)\n"
                 "  hasN: string;\n"
                 "  ^");
}

static void test_check_missing_root(void)
{
    expect_error(HEAD "record a { x: string; }\n",
                 "%s:1:1: missing 'root' declaration (e.g. `root payload;`)\n"
                 "prefix cw;\n"
                 "^");
}

static void test_check_missing_prefix(void)
{
    expect_error("record a { x: string; }\nroot a;\n",
                 "%s:1:1: missing 'prefix' declaration (e.g. `prefix cw;`)\n"
                 "record a { x: string; }\n"
                 "^");
}

static void test_check_unknown_root(void)
{
    expect_error(HEAD "record a { x: string; }\nroot b;\n",
                 "%s:3:6: unknown root record 'b'\n"
                 "root b;\n"
                 "     ^");
}

static void test_check_recursive_record(void)
{
    expect_error(HEAD "record a { x: list<b>; }\nrecord b { y: a; }\nrecord r { z: a; }\nroot r;\n",
                 "%s:2:8: record 'a' contains itself\n"
                 "record a { x: list<b>; }\n"
                 "       ^");
}

static void test_check_list_name_clash(void)
{
    expect_error(HEAD "record a { x: string; }\nrecord a_list { y: string; }\nrecord r { z: list<a>; }\nroot r;\n",
                 "%s:3:8: record name 'a_list' clashes with the list type of record 'a'\n"
                 "record a_list { y: string; }\n"
                 "       ^");
}

/* An unused record would make the generated C fail -Werror
 * (unused static functions): it is a schema error instead. */
static void test_check_unused_record(void)
{
    expect_error(HEAD "record a { x: string; }\nrecord b { y: string; }\nroot a;\n",
                 "%s:3:8: record 'b' is not used by the root record 'a'\n"
                 "record b { y: string; }\n"
                 "       ^");
}

static void test_check_empty_record(void)
{
    expect_error(HEAD "record a { }\nroot a;\n",
                 "%s:2:8: record 'a' has no fields\n"
                 "record a { }\n"
                 "       ^");
}

static void test_check_reserved_c_name(void)
{
    expect_error(HEAD "record a { int: string; }\nroot a;\n",
                 "%s:2:12: field name 'int' is reserved in C\n"
                 "record a { int: string; }\n"
                 "           ^");
}

static void test_check_root_as_field_type(void)
{
    expect_error(HEAD "record b { r: a; }\nrecord a { x: list<b>; }\nroot a;\n",
                 "%s:2:15: the root record 'a' cannot be used as a field type\n"
                 "record b { r: a; }\n"
                 "              ^");
}

static void test_parse_maxlen_too_big(void)
{
    expect_error(HEAD "record a { x: string maxlen(1000000000); }\nroot a;\n",
                 "%s:2:29: maxlen must be at most 999999999\n"
                 "record a { x: string maxlen(1000000000); }\n"
                 "                            ^");
}

static void test_parse_duplicate_prefix(void)
{
    expect_error(HEAD "prefix x;\nrecord a { x: string; }\nroot a;\n",
                 "%s:2:1: duplicate 'prefix' declaration (first at line 1)\n"
                 "prefix x;\n"
                 "^");
}

static void test_parse_format_needs_name(void)
{
    expect_error(HEAD "record a { x: string format(1); }\nroot a;\n",
                 "%s:2:29: expected a format name, got integer '1'\n"
                 "record a { x: string format(1); }\n"
                 "                            ^");
}

static void test_parse_record_needs_name(void)
{
    expect_error(HEAD "record { x: string; }\nroot a;\n",
                 "%s:2:8: expected a record name, got '{'\n"
                 "record { x: string; }\n"
                 "       ^");
}

static void test_parse_duplicate_maxlen_and_format(void)
{
    expect_error(HEAD "record a { x: string maxlen(3) maxlen(4); }\nroot a;\n",
                 "%s:2:32: duplicate modifier 'maxlen'\n"
                 "record a { x: string maxlen(3) maxlen(4); }\n"
                 "                               ^");
    expect_error(HEAD "record a { x: string format(datetime) format(datetime); }\nroot a;\n",
                 "%s:2:39: duplicate modifier 'format'\n"
                 "record a { x: string format(datetime) format(datetime); }\n"
                 "                                      ^");
}

static void test_file_name_not_identifier(void)
{
    char *err = NULL, args[1200], expected[1200], path[600];
    static const char text[] = HEAD "record a { x: string; }\nroot a;\n";

    setup_dir();
    snprintf(path, sizeof path, "%s/my-payload.schema", g_dir);
    write_bytes(path, text, sizeof text - 1);
    snprintf(args, sizeof args, "'%s' '%s'", path, g_out);
    CU_ASSERT_EQUAL(run_args(args, &err), 1);
    snprintf(expected, sizeof expected,
             "cw-schemac: %s: the schema file name must be a C identifier", path);
    CU_ASSERT_STRING_EQUAL(err, expected);
    free(err);
}

static void test_unwritable_outdir(void)
{
    char *err = NULL, args[1200], expected[1200];
    static const char text[] = HEAD "record a { x: string; }\nroot a;\n";

    setup_dir();
    write_bytes(g_schema, text, sizeof text - 1);
    snprintf(args, sizeof args, "'%s' '%s/no-such-dir'", g_schema, g_dir);
    CU_ASSERT_EQUAL(run_args(args, &err), 1);
    snprintf(expected, sizeof expected,
             "cw-schemac: cannot write %s/no-such-dir/t.h.tmp: No such file or directory", g_dir);
    CU_ASSERT_STRING_EQUAL(err, expected);
    free(err);
}

static void test_check_reports_every_error(void)
{
    expect_error(HEAD "record a {\n  x: nothing;\n  y: string format(x);\n}\nroot a;\n",
                 "%s:3:6: unknown type 'nothing'\n"
                 "  x: nothing;\n"
                 "     ^\n"
                 "%s:4:13: unknown format 'x' (known: datetime, rfc3339)\n"
                 "  y: string format(x);\n"
                 "            ^");
}

static void test_usage_and_io_errors(void)
{
    char *err = NULL, args[1200], expected[1200];

    setup_dir();
    CU_ASSERT_EQUAL(run_args("", &err), 2);
    CU_ASSERT_STRING_EQUAL(err, "usage: cw-schemac SCHEMA OUTDIR\n"
                                "       cw-schemac import-go FILE.go TYPE...\n"
                                "       cw-schemac --help");
    free(err);

    snprintf(args, sizeof args, "'%s/missing.schema' '%s'", g_dir, g_out);
    CU_ASSERT_EQUAL(run_args(args, &err), 1);
    snprintf(expected, sizeof expected,
             "cw-schemac: cannot open %s/missing.schema: No such file or directory", g_dir);
    CU_ASSERT_STRING_EQUAL(err, expected);
    free(err);
}

static char *read_out(const char *name);

/* Type nesting is bounded: the recursive parser must not overflow its
 * stack on a hostile file (200000 levels crashed cw-schemac with SIGSEGV). */
static void test_parse_type_nested_too_deep(void)
{
    expect_error(HEAD "record a { x: list<list<list<list<list<list<list<list<list<string>>>>>>>>>; }\nroot a;\n",
                 "%s:2:55: type nested more than 8 levels deep\n"
                 "record a { x: list<list<list<list<list<list<list<list<list<string>>>>>>>>>; }\n"
                 "                                                      ^");
}

static void test_parse_hostile_nesting(void)
{
    enum { LEVELS = 200000 };
    const char head[] = HEAD "record a { x: ", tail[] = "; }\nroot a;\n";
    size_t cap = sizeof head + LEVELS * 6 + 16 + sizeof tail, n = 0;
    char *text = malloc(cap), *err = NULL, expected[1024];

    CU_ASSERT_PTR_NOT_NULL_FATAL(text);
    n += (size_t)sprintf(text + n, "%s", head);
    for (int i = 0; i < LEVELS; i++)
        n += (size_t)sprintf(text + n, "map<");
    n += (size_t)sprintf(text + n, "string");
    for (int i = 0; i < LEVELS; i++)
        text[n++] = '>';
    n += (size_t)sprintf(text + n, "%s", tail);
    int rc = compile_bytes(text, n, &err);
    CU_ASSERT_EQUAL(rc, 1);
    snprintf(expected, sizeof expected, "%s:2:47: type nested more than 8 levels deep\n", g_schema);
    CU_ASSERT_NSTRING_EQUAL(err, expected, strlen(expected));
    free(err);
    free(text);
}

/* Names longer than 64 bytes are refused: a 300-byte record name used to
 * come out cut at 255 bytes, two records then had one C type name, and the
 * generated C did not compile (cw-schemac still exited 0). */
static void test_check_name_too_long(void)
{
    char longname[301], text[2000], tmpl[4000];

    memset(longname, 'r', 300);
    longname[300] = '\0';
    snprintf(text, sizeof text,
             HEAD "record %s1 { x: string; }\nrecord %s2 { y: list<%s1>; }\nroot %s2;\n",
             longname, longname, longname, longname);
    snprintf(tmpl, sizeof tmpl,
             "%%s:2:8: record name 'rrrrrrrrrrrrrrrr...' is 301 bytes long (at most 64)\n"
             "record %s1 { x: string; }\n"
             "       ^\n"
             "%%s:3:8: record name 'rrrrrrrrrrrrrrrr...' is 301 bytes long (at most 64)\n"
             "record %s2 { y: list<%s1>; }\n"
             "       ^",
             longname, longname, longname);
    expect_error(text, tmpl);

    expect_error("prefix p_234567890123456789012345678901234567890123456789012345678901234;\n"
                 "record a { f_234567890123456789012345678901234567890123456789012345678901234: string; }\n"
                 "root a;\n",
                 "%s:1:8: prefix 'p_23456789012345...' is 65 bytes long (at most 64)\n"
                 "prefix p_234567890123456789012345678901234567890123456789012345678901234;\n"
                 "       ^\n"
                 "%s:2:12: field name 'f_23456789012345...' is 65 bytes long (at most 64)\n"
                 "record a { f_234567890123456789012345678901234567890123456789012345678901234: string; }\n"
                 "           ^");
}

/* 64 bytes is fine, and every generated name is whole. */
static void test_names_at_the_limit(void)
{
    static const char text[] =
        "prefix p_23456789012345678901234567890123456789012345678901234567890123;\n"
        "record r_23456789012345678901234567890123456789012345678901234567890123 {\n"
        "  fieldNameIsSixtyFourBytesLong_2345678901234567890123456789012345: string;\n"
        "}\n"
        "record t { items: list<r_23456789012345678901234567890123456789012345678901234567890123>; }\n"
        "root t;\n";
    char *err = NULL, *h = NULL;

    CU_ASSERT_EQUAL(compile_bytes(text, strlen(text), &err), 0);
    CU_ASSERT_STRING_EQUAL(err, "");
    free(err);
    h = read_out("t.h");
    CU_ASSERT_PTR_NOT_NULL_FATAL(h);
    CU_ASSERT_PTR_NOT_NULL(strstr(h, "} p_23456789012345678901234567890123456789012345678901234567890123"
                                     "_r_23456789012345678901234567890123456789012345678901234567890123_list;"));
    CU_ASSERT_PTR_NOT_NULL(strstr(h, "const char *field_name_is_sixty_four_bytes_long_"
                                     "2345678901234567890123456789012345;"));
    free(h);
}

static void test_file_name_too_long(void)
{
    char *err = NULL, args[1600], expected[1600], path[700];
    static const char text[] = HEAD "record a { x: string; }\nroot a;\n";

    setup_dir();
    snprintf(path, sizeof path, "%s/%s.schema", g_dir,
             "s_234567890123456789012345678901234567890123456789012345678901234");
    write_bytes(path, text, sizeof text - 1);
    snprintf(args, sizeof args, "'%s' '%s'", path, g_out);
    CU_ASSERT_EQUAL(run_args(args, &err), 1);
    snprintf(expected, sizeof expected,
             "cw-schemac: %s: the schema file name is longer than 64 bytes", path);
    CU_ASSERT_STRING_EQUAL(err, expected);
    free(err);
}

static char *read_out(const char *name)
{
    char path[700];
    snprintf(path, sizeof path, "%s/%s", g_out, name);
    return cw_test_read_file(path);
}

static void test_successful_compile(void)
{
    static const char text[] =
        "# a comment\n"
        "prefix demo;\n"
        "record item {\n"
        "  format: string nonempty maxlen(8);   # keywords are fine as field names\n"
        "  whenSeen: string optional format(datetime);\n"
        "  tags: map<string> nullable optional;\n"
        "  podIP: string optional;\n"
        "  HTTPPort: string optional;\n"
        "}\n"
        "record t {\n"
        "  items: list<item>;\n"
        "  names: list<string> nullable;\n"
        "  first: item optional;\n"
        "}\n"
        "root t;\n";
    char *err = NULL;

    CU_ASSERT_EQUAL(compile_bytes(text, strlen(text), &err), 0);
    CU_ASSERT_STRING_EQUAL(err, "");
    free(err);

    char *h = read_out("t.h");
    char *c = read_out("t.c");
    CU_ASSERT_FATAL(h != NULL && c != NULL);
    /* The banner names the schema and the compiler, and nothing that
     * changes between runs or machines (no date, no directory). */
    static const char banner[] =
        "/* Generated by cw-schemac from t.schema -- DO NOT EDIT.\n"
        " * Change the schema, then run `cmake --build <build dir> --target regen`\n"
        " * and commit generated/. */\n";
    CU_ASSERT_EQUAL(strncmp(h, banner, sizeof banner - 1), 0);
    CU_ASSERT_EQUAL(strncmp(c, banner, sizeof banner - 1), 0);
    CU_ASSERT_PTR_NULL(strstr(h, g_dir));
    CU_ASSERT_PTR_NULL(strstr(c, g_dir));
    CU_ASSERT_PTR_NOT_NULL(strstr(h, "#ifndef DEMO_T_H\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(h, "#if CW_SCHEMA_RT_VERSION != 3\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(h,
        "typedef struct demo_item {\n"
        "    const char *format;              /* format: string nonempty maxlen(8) */\n"
        "    const char *when_seen;           /* whenSeen: string optional format(datetime) */\n"
        "    cw_str_map tags;                 /* tags: map<string> nullable optional */\n"
        "    const char *pod_ip;              /* podIP: string optional */\n"
        "    const char *http_port;           /* HTTPPort: string optional */\n"
        "} demo_item;\n"
        "\n"
        "typedef struct demo_item_list { demo_item *items; size_t len; } demo_item_list;\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(h,
        "typedef struct demo_t {\n"
        "    demo_item_list items;            /* items: list<item> */\n"
        "    cw_str_list names;               /* names: list<string> nullable */\n"
        "    demo_item first;                 /* first: item optional */\n"
        "    cw_rt_arena *arena_;             /* owns every string and array above */\n"
        "} demo_t;\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(h,
        "int demo_t_parse(const char *bytes, size_t len, demo_t *out, cw_issues *issues);\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(h, "void demo_t_free(demo_t *p);\n"));
    /* One straight-line match per field: push the name, read the value. */
    CU_ASSERT_PTR_NOT_NULL(strstr(c,
        "        } else if (cw_rt_key_is(&key, \"whenSeen\", 8)) {\n"
        "            cw_rt_field(ctx, &seen, 0x2ull, \"whenSeen\", 8);\n"
        "            st = cw_rt_read_string(ctx, 0, 0, CW_RT_FMT_DATETIME, &out->when_seen);\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(c,
        "st = cw_rt_read_str_list(ctx, CW_RT_REQUIRED | CW_RT_NULLABLE, 0, CW_RT_FMT_NONE, &out->names);\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(c, "st = demo_item_read_(ctx, 0, &out->first);\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(c, "    cw_rt_required(ctx, seen, 0x1ull, \"format\", 6);\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(c, "    cw_rt_arena_free(p->arena_);\n"));
    /* An absent optional record still has "" strings (never NULL, as the
     * header promises). */
    CU_ASSERT_PTR_NOT_NULL(strstr(c,
        "    memset(out, 0, sizeof *out);\n"
        "    out->format = \"\";\n"
        "    out->when_seen = \"\";\n"
        "    out->pod_ip = \"\";\n"
        "    out->http_port = \"\";\n"
        "}\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(c, "    demo_item_init_(&out->first);\n"));
    CU_ASSERT_PTR_NULL(strstr(c, " \n"));   /* no trailing blanks */

    /* The generated code is valid, warning-free C against the runtime header. */
    const char *cc = getenv("CW_CC"), *cflags = getenv("CW_RT_CFLAGS");
    CU_ASSERT_FATAL(cc != NULL && cflags != NULL);
    char cmd[2048];
    /* Compiled for real (-c), not -fsyntax-only: unused static functions
     * are only reported when code is generated. */
    snprintf(cmd, sizeof cmd, "'%s' -std=gnu11 -Wall -Wextra -Werror -c -o /dev/null %s -I'%s' '%s/t.c'",
             cc, cflags, g_out, g_out);
    CU_ASSERT_EQUAL(system(cmd), 0);

    /* Deterministic: a second run writes the same bytes. */
    char *err2 = NULL;
    CU_ASSERT_EQUAL(compile_bytes(text, strlen(text), &err2), 0);
    free(err2);
    char *h2 = read_out("t.h");
    char *c2 = read_out("t.c");
    CU_ASSERT_STRING_EQUAL(h, h2);
    CU_ASSERT_STRING_EQUAL(c, c2);
    free(h);
    free(c);
    free(h2);
    free(c2);
}

static void cleanup(void)
{
    char cmd[400];
    if (g_dir[0] != '\0') {
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_dir);
        if (system(cmd) != 0)
            fprintf(stderr, "could not remove %s\n", g_dir);
    }
}

static CU_TestInfo tests[] = {
    { "lexer: unexpected character", test_lexer_unexpected_character },
    { "lexer: unexpected control byte", test_lexer_unexpected_byte },
    { "lexer: NUL byte before the end", test_lexer_nul_byte },
    { "lexer: caret under a tab-indented line", test_lexer_tab_keeps_caret_aligned },
    { "parse: missing ';'", test_parse_missing_semicolon },
    { "parse: missing ':'", test_parse_missing_colon },
    { "parse: end of file inside a record", test_parse_unterminated_record },
    { "parse: unknown declaration", test_parse_bad_toplevel },
    { "parse: not a type", test_parse_bad_type },
    { "parse: map without '>'", test_parse_map_missing_angle },
    { "parse: maxlen needs a number", test_parse_maxlen_needs_number },
    { "parse: maxlen(0)", test_parse_maxlen_zero },
    { "parse: duplicate modifier", test_parse_duplicate_modifier },
    { "parse: duplicate root", test_parse_duplicate_root },
    { "check: unknown type", test_check_unknown_type },
    { "check: duplicate field", test_check_duplicate_field },
    { "check: two fields, one C name", test_check_c_name_collision },
    { "check: duplicate record", test_check_duplicate_record },
    { "check: modifier does not fit the type", test_check_modifier_does_not_fit },
    { "check: string modifiers on a record", test_check_format_on_record },
    { "check: unknown format", test_check_unknown_format },
    { "check: any nesting compiles", test_check_nesting_compiles },
    { "check: min and max", test_check_int_modifiers },
    { "check: defaults", test_check_defaults },
    { "check: enums", test_check_enums },
    { "check: has_ flag clashes with a member", test_check_presence_flag_clash },
    { "check: missing root", test_check_missing_root },
    { "check: missing prefix", test_check_missing_prefix },
    { "check: unknown root", test_check_unknown_root },
    { "check: recursive record", test_check_recursive_record },
    { "check: record name clashes with a list type", test_check_list_name_clash },
    { "check: every error is reported", test_check_reports_every_error },
    { "check: unused record", test_check_unused_record },
    { "check: record without fields", test_check_empty_record },
    { "check: field name reserved in C", test_check_reserved_c_name },
    { "check: root record as a field type", test_check_root_as_field_type },
    { "parse: maxlen too big", test_parse_maxlen_too_big },
    { "parse: duplicate prefix", test_parse_duplicate_prefix },
    { "parse: format needs a name", test_parse_format_needs_name },
    { "parse: record needs a name", test_parse_record_needs_name },
    { "parse: duplicate maxlen / format", test_parse_duplicate_maxlen_and_format },
    { "schema file name must be a C identifier", test_file_name_not_identifier },
    { "unwritable output directory", test_unwritable_outdir },
    { "usage and unreadable file", test_usage_and_io_errors },
    { "successful compile", test_successful_compile },
    { "parse: type nested too deep", test_parse_type_nested_too_deep },
    { "parse: 200000 nested types (was SIGSEGV)", test_parse_hostile_nesting },
    { "check: names over 64 bytes (were cut short)", test_check_name_too_long },
    { "names of 64 bytes come out whole", test_names_at_the_limit },
    { "schema file name over 64 bytes", test_file_name_too_long },
    CU_TEST_INFO_NULL,
};

int main(void)
{
    int rc = cw_test_run("schemac", tests);
    cleanup();
    return rc;
}
