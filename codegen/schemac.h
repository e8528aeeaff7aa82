/* cw-schemac: the schema AST and the phases that build, check and emit it.
 *
 *   source.c   read a schema file; report `file:line:col: message` + line + caret
 *   lexer.re   text → tokens
 *   parser.c   tokens → AST (recursive descent; stops at the first error)
 *   check.c    AST → resolved AST (reports every error it finds)
 *   emit_c.c   resolved AST → OUTDIR/<name>.h and OUTDIR/<name>.c
 *   main.c     wires the phases; exit 0 ok, 1 schema error, 2 usage
 *
 * The schema owns every AST node and string; schema_free() releases all.
 */
#ifndef CW_SCHEMAC_H
#define CW_SCHEMAC_H

#include <stddef.h>
#include <stdio.h>

#define SCHEMAC_MUST_CHECK __attribute__((warn_unused_result))

/* Deepest map<> / list<> nesting the parser reads. */
#define SCHEMAC_MAX_TYPE_DEPTH 8
/* Longest prefix, record name, field name and schema file base name, in
 * bytes: every C name and comment the emitter derives from them then fits
 * its buffers, so nothing is ever cut short. */
#define SCHEMAC_MAX_NAME 64

/* ---- source and diagnostics -------------------------------------------- */

typedef struct source {
    char *path;      /* as given on the command line */
    char *text;      /* file contents + a NUL sentinel */
    size_t len;
} source;

/* Read `path`. Returns 0, or -1 after printing a one-line error. */
SCHEMAC_MUST_CHECK int source_read(source *src, const char *path);
void source_free(source *src);

/* Print "path:line:col: message", the source line and a caret under col. */
void source_error(const source *src, int line, int col, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* ---- AST --------------------------------------------------------------- */

typedef enum type_kind {
    TYPE_STRING, TYPE_BOOL, TYPE_INT, TYPE_NUMBER, TYPE_ENUM,   /* scalars */
    TYPE_MAP, TYPE_LIST, TYPE_RECORD
} type_kind;

struct record;

typedef struct type_ref {
    type_kind kind;
    struct type_ref *elem;       /* TYPE_MAP, TYPE_LIST */
    char *name;                  /* TYPE_RECORD: as written */
    struct record *record;       /* TYPE_RECORD: resolved by check */
    char **values;               /* TYPE_ENUM: the strings, in order */
    size_t nvalues;
    char *c_name;                /* TYPE_ENUM: "<record>_<member>", its C type without prefix (check) */
    int line, col;
} type_ref;

/* Modifiers; each remembers where it was written (line 0: absent). */
typedef struct modifier_pos { int line, col; } modifier_pos;

typedef enum format_kind { FORMAT_NONE, FORMAT_DATETIME, FORMAT_RFC3339 } format_kind;

/* A literal of default(...), as written. */
typedef enum literal_kind { LIT_STRING, LIT_INT, LIT_NUMBER, LIT_BOOL } literal_kind;

typedef struct field {
    char *json_name;             /* the JSON key, as written */
    char *c_name;                /* snake_case member name (check) */
    type_ref *type;
    modifier_pos nullable, optional, nonempty, maxlen, format, min, max, dflt;
    unsigned long maxlen_value;
    long long min_value, max_value;
    char *format_name;
    format_kind format_kind;     /* check */
    literal_kind dflt_kind;
    char *dflt_text;             /* the literal as written (strings: without quotes) */
    long long dflt_int;          /* LIT_INT; LIT_BOOL: 0 or 1 */
    size_t dflt_enum;            /* check: the default's index among the enum's values */
    int has_flag;                /* check: bool/int/number/enum that can be absent or null, with no default */
    int line, col;
    struct field *next;
} field;

typedef struct record {
    char *name;
    field *fields;
    int line, col;
    int is_root;                 /* check */
    int emitted;                 /* emit: struct already written */
    int visiting;                /* check: cycle detection */
    int reachable;               /* check: the root contains it (or is it) */
    struct record *next;
} record;

typedef struct schema {
    char *prefix;
    int prefix_line, prefix_col;
    char *root_name;
    int root_line, root_col;
    record *records;             /* in source order */
    record *root;                /* check */
} schema;

void schema_free(schema *s);

/* A type as written in a schema ("list<resource_instance>") into buf. */
void schema_type_text(const type_ref *t, char *buf, size_t cap);

/* The innermost type of `t` (the T of list<map<T>>): what the string,
 * int and enum modifiers of a field apply to. */
const type_ref *schema_leaf(const type_ref *t);

/* 1 for string, bool, int, number and enum. */
int schema_is_scalar(type_kind kind);

/* The C name of type `t` without the prefix, as the generated header
 * names it: "str", "bool", "int", "number", the enum's c_name, the record
 * name, then "_list" / "_map" per container ("resource_instance_list",
 * "int_list_map"). Needs a checked schema. */
void schema_c_base(const type_ref *t, char *buf, size_t cap);

/* camelCase / PascalCase → snake_case, the rule for C member names and
 * imported record names ("apiVersion" → "api_version", "podIP" → "pod_ip",
 * "HTTPPort" → "http_port"): s[0..n) into a malloc'd string, NULL on OOM.
 * (check.c) */
char *schemac_snake_case(const char *s, size_t n);

/* The C constant of enum value `v` of enum type `t` into buf:
 * "<PREFIX>_<ENUM>_<VALUE>", upper case, any byte but a letter or digit
 * as '_'. (check.c) */
void schemac_enum_constant(const char *prefix, const type_ref *t, const char *v, char *buf,
                           size_t cap);

/* ---- phases ------------------------------------------------------------ */

/* Parse `src` into `out` (zeroed first). Returns 0, or -1 after printing
 * the first error; `out` then holds what was parsed (free it). */
SCHEMAC_MUST_CHECK int parse_schema(const source *src, schema *out);

/* Resolve and check. Returns the number of errors printed (0 = ok). */
SCHEMAC_MUST_CHECK int check_schema(const source *src, schema *s);

/* Write OUTDIR/<base>.h and OUTDIR/<base>.c, <base> being the schema file
 * name without directory and extension. Returns 0, or -1 after printing a
 * one-line error. */
SCHEMAC_MUST_CHECK int emit_c(const source *src, const schema *s, const char *outdir);

/* The same output written to `h` and `c` (borrowed, left open), `path`
 * naming it as a schema file would. Returns 0, or -1 (a one-line error
 * when the name is not a C identifier; no message on a stream error). */
SCHEMAC_MUST_CHECK int emit_c_streams(const schema *s, const char *path, FILE *h, FILE *c);

#endif
