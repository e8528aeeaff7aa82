/* cw-schemac import-go: the exact schema printed for each mapping rule,
 * the exact `file:line: message` of each refusal, and the controller's
 * structs imported, then compiled. Runs the real compiler binary
 * (CW_SCHEMAC) on Go files written to a scratch directory. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cw_test.h"

static char g_dir[256];
static char g_go[512];    /* g_dir/types.go */
static char g_out[512];   /* g_dir/out */

static void setup_dir(void)
{
    if (g_dir[0] != '\0')
        return;
    snprintf(g_dir, sizeof g_dir, "/tmp/cw-import-go-test-XXXXXX");
    if (mkdtemp(g_dir) == NULL) {
        perror("mkdtemp");
        exit(1);
    }
    snprintf(g_go, sizeof g_go, "%s/types.go", g_dir);
    snprintf(g_out, sizeof g_out, "%s/out", g_dir);
    mkdir(g_out, 0700);
}

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "wb");
    CU_ASSERT_FATAL(f != NULL);
    CU_ASSERT_FATAL(fwrite(text, 1, strlen(text), f) == strlen(text));
    fclose(f);
}

/* Run cw-schemac with `args` (already quoted); its exit code, stdout and
 * stderr (malloc'd, final newline dropped by cw_test_read_file). */
static int run_args(const char *args, char **out, char **err)
{
    char cmd[4096], outpath[600], errpath[600];
    const char *schemac = getenv("CW_SCHEMAC");

    CU_ASSERT_FATAL(schemac != NULL);
    setup_dir();
    snprintf(outpath, sizeof outpath, "%s/stdout", g_dir);
    snprintf(errpath, sizeof errpath, "%s/stderr", g_dir);
    snprintf(cmd, sizeof cmd, "'%s' %s >'%s' 2>'%s'", schemac, args, outpath, errpath);
    int status = system(cmd);
    *out = cw_test_read_file(outpath);
    *err = cw_test_read_file(errpath);
    if (*out == NULL)
        *out = strdup("");
    if (*err == NULL)
        *err = strdup("");
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* Write `go` to g_go and import `types` (space-separated) from it. */
static int import(const char *go, const char *types, char **out, char **err)
{
    char args[1200];

    setup_dir();
    write_text(g_go, go);
    snprintf(args, sizeof args, "import-go '%s' %s", g_go, types);
    return run_args(args, out, err);
}

/* `tmpl` with every "%s" replaced by the Go file's path. */
static void expand(const char *tmpl, char *out, size_t cap)
{
    size_t n = 0, plen = strlen(g_go);

    while (*tmpl != '\0' && n + plen + 1 < cap) {
        if (tmpl[0] == '%' && tmpl[1] == 's') {
            memcpy(out + n, g_go, plen);
            n += plen;
            tmpl += 2;
        } else {
            out[n++] = *tmpl++;
        }
    }
    out[n] = '\0';
}

static void assert_text(const char *got, const char *expected)
{
    CU_ASSERT_STRING_EQUAL(got, expected);
    if (strcmp(got, expected) != 0)
        fprintf(stderr, "\n--- got:\n%s\n--- expected:\n%s\n", got, expected);
}

/* Import; expect exit 0, nothing on stderr, and exactly `expected_tmpl`
 * ("%s": the Go file's path) on stdout. */
static void expect_schema(const char *go, const char *types, const char *expected_tmpl)
{
    char *out = NULL, *err = NULL, expected[8192];

    int rc = import(go, types, &out, &err);
    expand(expected_tmpl, expected, sizeof expected);
    CU_ASSERT_EQUAL(rc, 0);
    assert_text(err, "");
    assert_text(out, expected);
    free(out);
    free(err);
}

/* Import; expect exit 2, nothing on stdout, and exactly `expected_tmpl`
 * on stderr. */
static void expect_error(const char *go, const char *types, const char *expected_tmpl)
{
    char *out = NULL, *err = NULL, expected[2048];

    int rc = import(go, types, &out, &err);
    expand(expected_tmpl, expected, sizeof expected);
    CU_ASSERT_EQUAL(rc, 2);
    assert_text(out, "");
    assert_text(err, expected);
    free(out);
    free(err);
}

/* The first lines of every imported schema. */
#define HEADER(types)                                                                   \
    "# Imported from %s by `cw-schemac import-go` (" types ").\n"                       \
    "# As Go's encoding/json sends them: a field without omitempty is always\n"         \
    "# there (required); a nil slice, map or pointer is null (nullable). Add\n"         \
    "# the bounds Go cannot say (nonempty, maxlen, format(datetime)) by hand.\n"        \
    "\n"                                                                                \
    "prefix cw;\n"

/* ---- mapping rules ---------------------------------------------------- */

static void test_scalars(void)
{
    expect_schema("package p\n"
                  "type T struct {\n"
                  "\tS   string  `json:\"s\"`\n"
                  "\tB   bool    `json:\"b\"`\n"
                  "\tI   int     `json:\"i\"`\n"
                  "\tI8  int8    `json:\"i8\"`\n"
                  "\tI16 int16   `json:\"i16\"`\n"
                  "\tI32 int32   `json:\"i32\"`\n"
                  "\tI64 int64   `json:\"i64\"`\n"
                  "\tU   uint    `json:\"u\"`\n"
                  "\tU8  uint8   `json:\"u8\"`\n"
                  "\tU16 uint16  `json:\"u16\"`\n"
                  "\tU32 uint32  `json:\"u32\"`\n"
                  "\tU64 uint64  `json:\"u64\"`\n"
                  "\tBy  byte    `json:\"by\"`\n"
                  "\tR   rune    `json:\"r\"`\n"
                  "\tF32 float32 `json:\"f32\"`\n"
                  "\tF64 float64 `json:\"f64\"`\n"
                  "}\n",
                  "T",
                  HEADER("T")
                  "\n"
                  "record t {\n"
                  "    s:   string;                                 # Go: S string\n"
                  "    b:   bool;                                   # Go: B bool\n"
                  "    i:   int;                                    # Go: I int\n"
                  "    i8:  int min(-128) max(127);                 # Go: I8 int8\n"
                  "    i16: int min(-32768) max(32767);             # Go: I16 int16\n"
                  "    i32: int min(-2147483648) max(2147483647);   # Go: I32 int32\n"
                  "    i64: int;                                    # Go: I64 int64\n"
                  "    u:   int min(0);                             # Go: U uint\n"
                  "    u8:  int min(0) max(255);                    # Go: U8 uint8\n"
                  "    u16: int min(0) max(65535);                  # Go: U16 uint16\n"
                  "    u32: int min(0) max(4294967295);             # Go: U32 uint32\n"
                  "    u64: int min(0);                             # Go: U64 uint64\n"
                  "    by:  int min(0) max(255);                    # Go: By byte\n"
                  "    r:   int min(-2147483648) max(2147483647);   # Go: R rune\n"
                  "    f32: number;                                 # Go: F32 float32\n"
                  "    f64: number;                                 # Go: F64 float64\n"
                  "}\n"
                  "\n"
                  "root t;");
}

/* []T and map[string]T are nullable (a nil one marshals as null), *T
 * too; the bounds of the values go on the field; []byte is one base64
 * string. */
static void test_containers_and_pointers(void)
{
    expect_schema("package p\n"
                  "type T struct {\n"
                  "\tTags   []string           `json:\"tags\"`\n"
                  "\tLabels map[string]string  `json:\"labels\"`\n"
                  "\tCounts map[string]uint16  `json:\"counts\"`\n"
                  "\tGrid   [][]int8           `json:\"grid\"`\n"
                  "\tByKey  map[string][]bool  `json:\"byKey\"`\n"
                  "\tName   *string            `json:\"name\"`\n"
                  "\tSize   *int32             `json:\"size\"`\n"
                  "\tMaybe  *[]string          `json:\"maybe\"`\n"
                  "\tBlob   []byte             `json:\"blob\"`\n"
                  "\tBytes  []*byte            `json:\"bytes\"`\n"
                  "}\n",
                  "T",
                  HEADER("T")
                  "\n"
                  "record t {\n"
                  "    tags:   list<string> nullable;                           # Go: Tags []string\n"
                  "    labels: map<string> nullable;                            # Go: Labels map[string]string\n"
                  "    counts: map<int> nullable min(0) max(65535);             # Go: Counts map[string]uint16\n"
                  "    grid:   list<list<int>> nullable min(-128) max(127);     # Go: Grid [][]int8\n"
                  "    byKey:  map<list<bool>> nullable;                        # Go: ByKey map[string][]bool\n"
                  "    name:   string nullable;                                 # Go: Name *string\n"
                  "    size:   int nullable min(-2147483648) max(2147483647);   # Go: Size *int32\n"
                  "    maybe:  list<string> nullable;                           # Go: Maybe *[]string\n"
                  "    blob:   string nullable;                                 # Go: Blob []byte\n"
                  "    bytes:  list<int> nullable min(0) max(255);              # Go: Bytes []*byte\n"
                  "}\n"
                  "\n"
                  "root t;");
}

static void test_time(void)
{
    expect_schema("package p\n"
                  "\n"
                  "import \"time\"\n"
                  "\n"
                  "type T struct {\n"
                  "\tAt     time.Time    `json:\"at\"`\n"
                  "\tSeen   *time.Time   `json:\"seen\"`\n"
                  "\tGone   *time.Time   `json:\"gone,omitempty\"`\n"
                  "\tStamps []time.Time  `json:\"stamps\"`\n"
                  "}\n",
                  "T",
                  HEADER("T")
                  "\n"
                  "record t {\n"
                  "    at:     string format(rfc3339);                     # Go: At time.Time\n"
                  "    seen:   string nullable format(rfc3339);            # Go: Seen *time.Time\n"
                  "    gone:   string nullable optional format(rfc3339);   # Go: Gone *time.Time\n"
                  "    stamps: list<string> nullable format(rfc3339);      # Go: Stamps []time.Time\n"
                  "}\n"
                  "\n"
                  "root t;");
    /* The package is found by its import, under any name. */
    expect_schema("package p\n"
                  "\n"
                  "import (\n"
                  "\t\"fmt\"\n"
                  "\tclock \"time\"\n"
                  ")\n"
                  "\n"
                  "var _ = fmt.Sprint\n"
                  "\n"
                  "type T struct {\n"
                  "\tAt clock.Time `json:\"at\"`\n"
                  "}\n",
                  "T",
                  HEADER("T")
                  "\n"
                  "record t {\n"
                  "    at: string format(rfc3339);   # Go: At clock.Time\n"
                  "}\n"
                  "\n"
                  "root t;");
}

/* Keys as encoding/json picks them: the tag's name, else the Go name;
 * omitempty (and omitzero) → optional; "-", unexported fields and
 * non-json tags do not count. */
static void test_tags(void)
{
    expect_schema("package p\n"
                  "type T struct {\n"
                  "\tID       string   `json:\"id\"`\n"
                  "\tNote     string   `json:\"note,omitempty\"`\n"
                  "\tZero     int      `json:\"zero,omitzero\"`\n"
                  "\tKept     bool     `json:\",omitempty\"`\n"
                  "\tPlain    string\n"
                  "\tOther    string   `yaml:\"x\" json:\"other\"`\n"
                  "\tYamlOnly string   `yaml:\"y\"`\n"
                  "\tQuoted   string   \"json:\\\"quoted\\\"\"\n"
                  "\tBadTag   string   `json:bad`\n"
                  "\tSkip     chan int `json:\"-\"`\n"
                  "\tA, B     string\n"
                  "\thidden   func()\n"
                  "\t_        int\n"
                  "}\n",
                  "T",
                  HEADER("T")
                  "\n"
                  "record t {\n"
                  "    id:       string;            # Go: ID string\n"
                  "    note:     string optional;   # Go: Note string\n"
                  "    zero:     int optional;      # Go: Zero int\n"
                  "    Kept:     bool optional;     # Go: Kept bool\n"
                  "    Plain:    string;            # Go: Plain string\n"
                  "    other:    string;            # Go: Other string\n"
                  "    YamlOnly: string;            # Go: YamlOnly string\n"
                  "    quoted:   string;            # Go: Quoted string\n"
                  "    BadTag:   string;            # Go: BadTag string\n"
                  "    A:        string;            # Go: A string\n"
                  "    B:        string;            # Go: B string\n"
                  "}\n"
                  "\n"
                  "root t;");
}

/* `json:"-,"` names the key "-": not a schema field name. */
static void test_dash_comma_key(void)
{
    expect_error("package p\n"
                 "type T struct {\n"
                 "\tDash string `json:\"-,\"`\n"
                 "}\n",
                 "T",
                 "%s:3: JSON key '-' of field Dash is not a schema field name ([A-Za-z_][A-Za-z0-9_]*)");
}

/* Named structs become records, named after the type in snake_case,
 * each after the records it uses; defined and alias types map as what
 * they are made of. */
static void test_records_in_dependency_order(void)
{
    expect_schema("package p\n"
                  "\n"
                  "type (\n"
                  "\tPhase  string\n"
                  "\tLabels map[string]string\n"
                  "\tHost   = HTTPServer\n"
                  ")\n"
                  "\n"
                  "// Top uses everything below.\n"
                  "type Top struct {\n"
                  "\tServers []HTTPServer           `json:\"servers\"`\n"
                  "\tMain    *Host                  `json:\"main,omitempty\"`\n"
                  "\tByName  map[string]PodStatus   `json:\"byName\"`\n"
                  "}\n"
                  "\n"
                  "type PodStatus struct {\n"
                  "\tPhase  Phase  `json:\"phase\"`\n"
                  "\tLabels Labels `json:\"labels\"`\n"
                  "}\n"
                  "\n"
                  "type HTTPServer struct {\n"
                  "\tPort uint16    `json:\"port\"`\n"
                  "\tPod  PodStatus `json:\"pod\"`\n"
                  "}\n"
                  "\n"
                  "func (s HTTPServer) String() string { return \"{\" + \"}\" }\n",
                  "Top",
                  HEADER("Top")
                  "\n"
                  "record pod_status {\n"
                  "    phase:  string;                 # Go: Phase Phase\n"
                  "    labels: map<string> nullable;   # Go: Labels Labels\n"
                  "}\n"
                  "\n"
                  "record http_server {\n"
                  "    port: int min(0) max(65535);   # Go: Port uint16\n"
                  "    pod:  pod_status;              # Go: Pod PodStatus\n"
                  "}\n"
                  "\n"
                  "record top {\n"
                  "    servers: list<http_server> nullable;      # Go: Servers []HTTPServer\n"
                  "    main:    http_server nullable optional;   # Go: Main *Host\n"
                  "    byName:  map<pod_status> nullable;        # Go: ByName map[string]PodStatus\n"
                  "}\n"
                  "\n"
                  "root top;");
}

/* Several roots: what no root depends on first, the roots last (a root
 * another root uses still before it), `root` names the first TYPE. */
static void test_several_roots(void)
{
    expect_schema("package p\n"
                  "type Leaf struct{ X string }\n"
                  "type First struct{ L Leaf; S Second }\n"
                  "type Second struct{ C Cee }\n"
                  "type Cee struct{ Y string }\n",
                  "First Second",
                  HEADER("First, Second")
                  "\n"
                  "record leaf {\n"
                  "    X: string;   # Go: X string\n"
                  "}\n"
                  "\n"
                  "record cee {\n"
                  "    Y: string;   # Go: Y string\n"
                  "}\n"
                  "\n"
                  "record second {\n"
                  "    C: cee;   # Go: C Cee\n"
                  "}\n"
                  "\n"
                  "record first {\n"
                  "    L: leaf;     # Go: L Leaf\n"
                  "    S: second;   # Go: S Second\n"
                  "}\n"
                  "\n"
                  "root first;");
}

/* What the importer does not read it skips: funcs (braces in strings,
 * runes and comments included), vars, consts, other types. */
static void test_skips_the_rest_of_the_file(void)
{
    expect_schema("// Package p /* not a comment start */\n"
                  "package p\n"
                  "\n"
                  "import \"strings\"\n"
                  "\n"
                  "const (\n"
                  "\tA = iota\n"
                  "\tB\n"
                  ")\n"
                  "\n"
                  "var table = map[string]func() int{\"}\": func() int { return '}' }}\n"
                  "\n"
                  "type Handler interface{ Serve(ch chan<- int) }\n"
                  "\n"
                  "type Box[T any] struct{ V T }\n"
                  "\n"
                  "/* a block comment with a } brace\n"
                  "   over two lines */\n"
                  "type T struct { // trailing comment {\n"
                  "\tName string `json:\"name\"` /* { */\n"
                  "}\n"
                  "\n"
                  "func f(s string) string {\n"
                  "\tif strings.HasPrefix(s, `}`) {\n"
                  "\t\treturn \"{\\\"\"\n"
                  "\t}\n"
                  "\treturn s\n"
                  "}\n",
                  "T",
                  HEADER("T")
                  "\n"
                  "record t {\n"
                  "    name: string;   # Go: Name string\n"
                  "}\n"
                  "\n"
                  "root t;");
}

/* ---- refusals --------------------------------------------------------- */

/* One field of `type` inside `type T struct`, at line 3. */
#define ONE_FIELD(field) "package p\n\ntype T struct {\n\t" field "\n}\n"

static void test_error_interfaces(void)
{
    expect_error(ONE_FIELD("A interface{} `json:\"a\"`"), "T",
                 "%s:4: interface type interface{} is not supported");
    expect_error(ONE_FIELD("A any"), "T", "%s:4: interface type any is not supported");
    expect_error(ONE_FIELD("A error"), "T", "%s:4: interface type error is not supported");
    expect_error(ONE_FIELD("A []any"), "T", "%s:4: interface type any is not supported");
}

static void test_error_channels_and_funcs(void)
{
    expect_error(ONE_FIELD("C chan int `json:\"c\"`"), "T",
                 "%s:4: channel type chan int is not supported");
    expect_error(ONE_FIELD("C <-chan int"), "T", "%s:4: channel type <-chan int is not supported");
    expect_error(ONE_FIELD("F func(int) error"), "T",
                 "%s:4: func type func(int) error is not supported");
}

static void test_error_embedded(void)
{
    static const char other[] = "type Other struct{ X string }\n";
    char go[512];

    snprintf(go, sizeof go, "%s%s", ONE_FIELD("Other"), other);
    expect_error(go, "T", "%s:4: embedded field Other is not supported");
    snprintf(go, sizeof go, "%s%s", ONE_FIELD("*Other `json:\"o\"`"), other);
    expect_error(go, "T", "%s:4: embedded field *Other is not supported");
    /* Skipped by its tag, it is fine. */
    snprintf(go, sizeof go, "%s%s", "package p\ntype T struct {\n\tOther `json:\"-\"`\n\tA string\n}\n", other);
    expect_schema(go, "T",
                  HEADER("T")
                  "\n"
                  "record t {\n"
                  "    A: string;   # Go: A string\n"
                  "}\n"
                  "\n"
                  "root t;");
}

static void test_error_map_keys(void)
{
    expect_error(ONE_FIELD("M map[int]string"), "T",
                 "%s:4: map key type int of map[int]string is not supported (only string keys)");
    expect_error(ONE_FIELD("M map[*string]string"), "T",
                 "%s:4: map key type *string of map[*string]string is not supported (only string keys)");
    /* A key of a string type is a string. */
    expect_schema("package p\ntype Key string\ntype T struct {\n\tM map[Key]bool\n}\n", "T",
                  HEADER("T")
                  "\n"
                  "record t {\n"
                  "    M: map<bool> nullable;   # Go: M map[Key]bool\n"
                  "}\n"
                  "\n"
                  "root t;");
}

static void test_error_unknown_types(void)
{
    expect_error(ONE_FIELD("U Unknown"), "T", "%s:4: unknown type Unknown");
    expect_error("package p\n\nimport \"encoding/json\"\n\ntype T struct {\n\tU json.RawMessage\n}\n", "T",
                 "%s:6: unknown type json.RawMessage (only time.Time from other packages)");
    /* time.Time needs its import. */
    expect_error(ONE_FIELD("At time.Time"), "T",
                 "%s:4: unknown type time.Time (only time.Time from other packages)");
}

static void test_error_generics(void)
{
    expect_error("package p\ntype Box[V any] struct{ X V }\ntype T struct {\n\tB Box[int]\n}\n", "T",
                 "%s:4: generic type Box[int] is not supported");
    expect_error("package p\ntype Box[V any] struct{ X V }\ntype T struct {\n\tB *Box\n}\n", "T",
                 "%s:4: generic type Box is not supported");
    expect_error("package p\ntype T[V any] struct{ X V }\n", "T", "%s: no struct type T");
}

static void test_error_arrays_and_anonymous_structs(void)
{
    expect_error(ONE_FIELD("A [4]int"), "T", "%s:4: array type [4]int is not supported (only slices)");
    expect_error(ONE_FIELD("A struct{ X int }"), "T",
                 "%s:4: anonymous struct type struct{ X int } is not supported (declare it as a named type)");
}

static void test_error_recursion(void)
{
    expect_error("package p\ntype T struct {\n\tKids []T\n}\n", "T",
                 "%s:3: type T contains itself (a schema record cannot)");
    expect_error("package p\ntype L []L\ntype T struct {\n\tA L\n}\n", "T",
                 "%s:2: type L contains itself (a schema record cannot)");
}

/* A type with its own MarshalJSON/MarshalText sends something its
 * declaration does not say. */
static void test_error_marshaler(void)
{
    expect_error("package p\n"
                 "type M struct{ X string }\n"
                 "func (m *M) MarshalJSON() ([]byte, error) { return nil, nil }\n"
                 "type T struct {\n"
                 "\tA M\n"
                 "}\n",
                 "T", "%s:5: type M has a MarshalJSON method (line 3): its JSON form is its own");
    expect_error("package p\n"
                 "type T struct{ X string }\n"
                 "func (T) MarshalText() ([]byte, error) { return nil, nil }\n",
                 "T", "%s:2: type T has a MarshalText method (line 3): its JSON form is its own");
}

static void test_error_tags(void)
{
    expect_error(ONE_FIELD("A int `json:\"a,string\"`"), "T",
                 "%s:4: json option 'string' of field A is not supported");
    expect_error(ONE_FIELD("A string `json:\"api-version\"`"), "T",
                 "%s:4: JSON key 'api-version' of field A is not a schema field name ([A-Za-z_][A-Za-z0-9_]*)");
    expect_error("package p\ntype T struct {\n\tA string `json:\"x\"`\n\tB string `json:\"x\"`\n}\n", "T",
                 "%s:4: JSON key 'x' of field B is already used by field A (line 3)");
    expect_error(ONE_FIELD("A string \"json:\\u0022a\\u0022\""), "T",
                 "%s:4: escape \\u in a struct tag is not supported");
}

static void test_error_records(void)
{
    expect_error("package p\ntype T struct {\n\thidden string\n\tSkip string `json:\"-\"`\n}\n", "T",
                 "%s:2: struct T has no field encoding/json would send");
    expect_error("package p\ntype Record struct{ X string }\ntype T struct {\n\tR Record\n}\n", "T",
                 "%s:2: type Record would become record 'record', a word of the schema language");
    expect_error("package p\ntype HTTPPort struct{ X string }\ntype HttpPort struct{ Y string }\n"
                 "type T struct {\n\tA HTTPPort\n\tB HttpPort\n}\n", "T",
                 "%s:3: types HTTPPort and HttpPort both become record 'http_port'");
}

static void test_error_root_types(void)
{
    expect_error("package p\ntype S struct{ X string }\n", "Missing", "%s: no struct type Missing");
    expect_error("package p\ntype Phase string\n", "Phase", "%s: no struct type Phase");
    expect_error("package p\ntype S struct{ X string }\n", "S Missing", "%s: no struct type Missing");
}

static void test_error_go_syntax(void)
{
    expect_error("package p\ntype T struct {\n\tA string `json:\"a\"\n}\n", "T",
                 "%s:3: raw string not terminated");
    expect_error("package p\ntype T struct {\n\tA string\n", "T",
                 "%s:4: unexpected end of file (unbalanced brackets)");
    expect_error("package p\n/* never closed\ntype T struct{}\n", "T", "%s:2: comment not terminated");
    expect_error("type T struct{ A string }\n", "T", "%s:1: expected 'package', got 'type'");
    expect_error("package p\ntype T struct{ A string }\nfoo()\n", "T",
                 "%s:3: expected a declaration (import, type, func, var or const), got 'foo'");
    expect_error("package p\ntype T struct{ A string \"x\n}\n", "T", "%s:2: string not terminated");
    expect_error("package p\ntype T struct{ \xc3\xa9 string }\n", "T",
                 "%s:2: non-ASCII byte 0xc3 outside strings and comments (non-ASCII identifiers are not supported)");
}

static void test_usage_and_io_errors(void)
{
    char *out = NULL, *err = NULL, args[700], expected[700];

    CU_ASSERT_EQUAL(run_args("import-go", &out, &err), 2);
    assert_text(err, "usage: cw-schemac import-go FILE.go TYPE...");
    free(out);
    free(err);
    CU_ASSERT_EQUAL(run_args("import-go x.go", &out, &err), 2);
    assert_text(err, "usage: cw-schemac import-go FILE.go TYPE...");
    free(out);
    free(err);

    snprintf(args, sizeof args, "import-go '%s/missing.go' T", g_dir);
    CU_ASSERT_EQUAL(run_args(args, &out, &err), 2);
    snprintf(expected, sizeof expected, "cw-schemac: cannot open %s/missing.go: No such file or directory",
             g_dir);
    assert_text(err, expected);
    assert_text(out, "");
    free(out);
    free(err);
}

static void test_help(void)
{
    char *out = NULL, *err = NULL;

    CU_ASSERT_EQUAL(run_args("--help", &out, &err), 0);
    assert_text(err, "");
    assert_text(out,
                "cw-schemac SCHEMA OUTDIR\n"
                "    Compile SCHEMA (e.g. schema/sync_payload.schema) into OUTDIR/<name>.h\n"
                "    and OUTDIR/<name>.c. Exit 0 ok, 1 error in the schema, 2 usage.\n"
                "\n"
                "cw-schemac import-go FILE.go TYPE...\n"
                "    Print (to stdout) a schema for the Go struct TYPE(s) declared in FILE.go\n"
                "    and every named struct they reach, as encoding/json sends them: json tags\n"
                "    name the keys, omitempty makes a field optional, slices, maps and pointers\n"
                "    are nullable; the first TYPE is the root. Exit 0 ok, 2 on any error.\n"
                "\n"
                "cw-schemac --help\n"
                "    This text.");
    free(out);
    free(err);
}

/* ---- the controller's payload ----------------------------------------- */

static const char controller_go[] =
    "package client\n"
    "// ResourceInstance is one Kubernetes resource as the controller sends it.\n"
    "type ResourceInstance struct {\n"
    "\tID          string            `json:\"id\"`\n"
    "\tNamespace   string            `json:\"namespace\"`\n"
    "\tName        string            `json:\"name\"`\n"
    "\tKind        string            `json:\"kind\"`\n"
    "\tAPIVersion  string            `json:\"apiVersion\"`\n"
    "\tAPIGroup    string            `json:\"apiGroup\"`\n"
    "\tLabels      map[string]string `json:\"labels\"`\n"
    "\tAnnotations map[string]string `json:\"annotations\"`\n"
    "\tCreatedAt   string            `json:\"createdAt\"`\n"
    "}\n"
    "// SyncPayload is the body of POST /api/v1/instances/sync.\n"
    "type SyncPayload struct {\n"
    "\tUpserts []ResourceInstance `json:\"upserts\"`\n"
    "\tDeletes []string           `json:\"deletes\"`\n"
    "}\n"
    "// CrdSyncPayload is the body of the capabilities endpoint.\n"
    "type CrdSyncPayload struct {\n"
    "\tUpserts []string `json:\"upserts,omitempty\"`\n"
    "\tDeletes []string `json:\"deletes,omitempty\"`\n"
    "}\n";

/* Following Go, the import makes labels, annotations, upserts and deletes
 * required + nullable: Go always sends them (null when nil). The
 * hand-written schema/sync_payload.schema marks them `nullable optional`
 * instead, because the reference server also accepts the keys absent;
 * keep that when carrying an import over (README, "When the controller
 * payload changes"). */
static const char sync_payload_schema[] =
    HEADER("SyncPayload")
    "\n"
    "record resource_instance {\n"
    "    id:          string;                 # Go: ID string\n"
    "    namespace:   string;                 # Go: Namespace string\n"
    "    name:        string;                 # Go: Name string\n"
    "    kind:        string;                 # Go: Kind string\n"
    "    apiVersion:  string;                 # Go: APIVersion string\n"
    "    apiGroup:    string;                 # Go: APIGroup string\n"
    "    labels:      map<string> nullable;   # Go: Labels map[string]string\n"
    "    annotations: map<string> nullable;   # Go: Annotations map[string]string\n"
    "    createdAt:   string;                 # Go: CreatedAt string\n"
    "}\n"
    "\n"
    "record sync_payload {\n"
    "    upserts: list<resource_instance> nullable;   # Go: Upserts []ResourceInstance\n"
    "    deletes: list<string> nullable;              # Go: Deletes []string\n"
    "}\n"
    "\n"
    "root sync_payload;";

static void test_controller_sync_payload(void)
{
    expect_schema(controller_go, "SyncPayload", sync_payload_schema);
}

static void test_controller_crd_sync_payload(void)
{
    expect_schema(controller_go, "CrdSyncPayload",
                  HEADER("CrdSyncPayload")
                  "\n"
                  "record crd_sync_payload {\n"
                  "    upserts: list<string> nullable optional;   # Go: Upserts []string\n"
                  "    deletes: list<string> nullable optional;   # Go: Deletes []string\n"
                  "}\n"
                  "\n"
                  "root crd_sync_payload;");
}

/* The member lines of `typedef struct NAME {` ... `}` in a header, each
 * without its comment and padding ("const char *id;\n..."), malloc'd. */
static char *members(const char *h, const char *name)
{
    char open[128];
    snprintf(open, sizeof open, "typedef struct %s {\n", name);
    const char *p = strstr(h, open);
    if (p == NULL)
        return strdup("(no struct)");
    p += strlen(open);
    const char *end = strstr(p, "\n}");
    char *out = calloc(1, (size_t)(end - p) + 2), *o = out;
    while (p < end) {
        const char *eol = strchr(p, '\n');
        if (eol == NULL || eol > end)
            eol = end;
        const char *semi = memchr(p, ';', (size_t)(eol - p));
        const char *start = p;
        while (*start == ' ')
            start++;
        if (semi != NULL) {
            memcpy(o, start, (size_t)(semi + 1 - start));
            o += semi + 1 - start;
            *o++ = '\n';
        }
        p = eol + 1;
    }
    return out;
}

/* The imported schema compiles with today's cw-schemac, into the same
 * struct members as the committed generated/sync_payload.h. */
static void test_controller_schema_compiles(void)
{
    char *out = NULL, *err = NULL, schema[600], args[1400], committed_path[600];
    const char *src = getenv("CW_SOURCE_DIR");

    CU_ASSERT_FATAL(src != NULL);
    CU_ASSERT_EQUAL_FATAL(import(controller_go, "SyncPayload", &out, &err), 0);
    snprintf(schema, sizeof schema, "%s/sync_payload.schema", g_dir);
    write_text(schema, out);
    free(out);
    free(err);

    snprintf(args, sizeof args, "'%s' '%s'", schema, g_out);
    CU_ASSERT_EQUAL(run_args(args, &out, &err), 0);
    assert_text(err, "");
    free(out);
    free(err);

    char h_path[600];
    snprintf(h_path, sizeof h_path, "%s/sync_payload.h", g_out);
    snprintf(committed_path, sizeof committed_path, "%s/generated/sync_payload.h", src);
    char *fresh = cw_test_read_file(h_path), *committed = cw_test_read_file(committed_path);
    CU_ASSERT_FATAL(fresh != NULL && committed != NULL);
    static const char *const structs[] = { "cw_resource_instance", "cw_sync_payload" };
    for (size_t k = 0; k < sizeof structs / sizeof structs[0]; k++) {
        char *a = members(fresh, structs[k]), *b = members(committed, structs[k]);
        assert_text(a, b);
        free(a);
        free(b);
    }
    char *ri = members(fresh, "cw_resource_instance");
    assert_text(ri,
                "const char *id;\n"
                "const char *namespace;\n"
                "const char *name;\n"
                "const char *kind;\n"
                "const char *api_version;\n"
                "const char *api_group;\n"
                "cw_str_map labels;\n"
                "cw_str_map annotations;\n"
                "const char *created_at;\n");
    free(ri);
    free(fresh);
    free(committed);
}

/* Every Go kind the importer maps (bool, sized ints, floats, maps,
 * slices, pointers, time.Time, nested structs) compiles with cw-schemac
 * into the C members a reader expects. */
static void test_every_mapping_compiles(void)
{
    char *out = NULL, *err = NULL, schema[600], args[1400], h_path[600];

    CU_ASSERT_EQUAL_FATAL(import("package p\n"
                                 "import \"time\"\n"
                                 "type Owner struct {\n"
                                 "\tName       string `json:\"name\"`\n"
                                 "\tController *bool  `json:\"controller,omitempty\"`\n"
                                 "}\n"
                                 "type Spec struct {\n"
                                 "\tReplicas   *int32             `json:\"replicas\"`\n"
                                 "\tGeneration int64              `json:\"generation\"`\n"
                                 "\tPort       uint16             `json:\"port\"`\n"
                                 "\tRatio      float64            `json:\"ratio\"`\n"
                                 "\tPaused     bool               `json:\"paused\"`\n"
                                 "\tCreated    time.Time          `json:\"created\"`\n"
                                 "\tDeleted    *time.Time         `json:\"deleted,omitempty\"`\n"
                                 "\tOwners     []Owner            `json:\"owners\"`\n"
                                 "\tByName     map[string]Owner   `json:\"byName\"`\n"
                                 "\tCounts     map[string]uint8   `json:\"counts\"`\n"
                                 "\tGrid       [][]int8           `json:\"grid\"`\n"
                                 "\tTags       map[string][]string `json:\"tags\"`\n"
                                 "}\n",
                                 "Spec", &out, &err), 0);
    assert_text(err, "");
    snprintf(schema, sizeof schema, "%s/spec.schema", g_dir);
    write_text(schema, out);
    free(out);
    free(err);

    snprintf(args, sizeof args, "'%s' '%s'", schema, g_out);
    CU_ASSERT_EQUAL(run_args(args, &out, &err), 0);
    assert_text(err, "");
    free(out);
    free(err);

    snprintf(h_path, sizeof h_path, "%s/spec.h", g_out);
    char *h = cw_test_read_file(h_path);
    CU_ASSERT_PTR_NOT_NULL_FATAL(h);
    char *owner = members(h, "cw_owner"), *spec = members(h, "cw_spec");
    assert_text(owner,
                "const char *name;\n"
                "bool controller;\n"
                "bool has_controller;\n");
    assert_text(spec,
                "int64_t replicas;\n"
                "bool has_replicas;\n"
                "int64_t generation;\n"
                "int64_t port;\n"
                "double ratio;\n"
                "bool paused;\n"
                "const char *created;\n"
                "const char *deleted;\n"
                "cw_owner_list owners;\n"
                "cw_owner_map by_name;\n"
                "cw_int_map counts;\n"
                "cw_int_list_list grid;\n"
                "cw_str_list_map tags;\n"
                "cw_rt_arena *arena_;\n");
    free(owner);
    free(spec);
    free(h);
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
    { "scalars: string, bool, sized ints with their bounds, floats", test_scalars },
    { "slices, maps and pointers are nullable; []byte is a string", test_containers_and_pointers },
    { "time.Time is string format(rfc3339), under any import name", test_time },
    { "json tags: keys, omitempty, \"-\", untagged and unexported fields", test_tags },
    { "json:\"-,\" names the key \"-\"", test_dash_comma_key },
    { "named structs are records, in dependency order", test_records_in_dependency_order },
    { "several roots: roots last, root is the first", test_several_roots },
    { "funcs, vars, consts and other types are skipped", test_skips_the_rest_of_the_file },
    { "error: interfaces", test_error_interfaces },
    { "error: channels and funcs", test_error_channels_and_funcs },
    { "error: embedded structs", test_error_embedded },
    { "error: map keys other than string", test_error_map_keys },
    { "error: unknown named types", test_error_unknown_types },
    { "error: generics", test_error_generics },
    { "error: arrays and anonymous structs", test_error_arrays_and_anonymous_structs },
    { "error: recursive types", test_error_recursion },
    { "error: MarshalJSON / MarshalText", test_error_marshaler },
    { "error: json tags the schema cannot say", test_error_tags },
    { "error: records the schema cannot name", test_error_records },
    { "error: TYPE not a struct of the file", test_error_root_types },
    { "error: Go syntax", test_error_go_syntax },
    { "usage and unreadable file", test_usage_and_io_errors },
    { "--help lists import-go", test_help },
    { "controller: SyncPayload", test_controller_sync_payload },
    { "controller: CrdSyncPayload", test_controller_crd_sync_payload },
    { "every mapping compiles to the C members", test_every_mapping_compiles },
    { "controller: the imported schema compiles to generated/'s members",
      test_controller_schema_compiles },
    CU_TEST_INFO_NULL,
};

int main(void)
{
    int rc = cw_test_run("schemac_import_go", tests);
    cleanup();
    return rc;
}
