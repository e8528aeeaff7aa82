/* The C emitter: one header and one source file per schema, written
 * through println() with indent()/unindent(). The output depends only on
 * the schema (no timestamps, no paths), so a fresh run is byte-identical
 * to the committed generated/ files. */
#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "schema_rt_version.h"   /* CW_SCHEMA_RT_VERSION: the runtime's, one number */
#include "schemac.h"

typedef struct emitter {
    FILE *out;
    int indent;
    const schema *s;
    const char *base;      /* schema file name without directory/extension */
    const char *file;      /* schema file name without directory */
    char **done;           /* once(): container types and enums written */
    size_t ndone, cap;
    int oom;
} emitter;

static void println(emitter *e, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* One line: the current indent (4 spaces a level) unless the line is
 * empty, the formatted text, a newline. */
static void println(emitter *e, const char *fmt, ...)
{
    va_list ap;

    if (fmt[0] != '\0') {
        for (int i = 0; i < e->indent; i++)
            fputs("    ", e->out);
    }
    va_start(ap, fmt);
    vfprintf(e->out, fmt, ap);
    va_end(ap);
    fputc('\n', e->out);
}

static void blank(emitter *e)
{
    fputc('\n', e->out);
}

static void indent(emitter *e)
{
    e->indent++;
}

static void unindent(emitter *e)
{
    e->indent--;
}

/* ---- names ------------------------------------------------------------- */

/* "<prefix>_<record>" into buf; `suffix` appended ("", "_list", ...). */
static const char *rec_name(const emitter *e, const record *r, const char *suffix,
                            char *buf, size_t cap)
{
    snprintf(buf, cap, "%s_%s%s", e->s->prefix, r->name, suffix);
    return buf;
}

/* list<string> and map<string>: the runtime's cw_str_list / cw_str_map,
 * read by its own readers. */
static int is_rt_container(const type_ref *t)
{
    return (t->kind == TYPE_LIST || t->kind == TYPE_MAP) && t->elem->kind == TYPE_STRING;
}

static int is_container(const type_ref *t)
{
    return t->kind == TYPE_LIST || t->kind == TYPE_MAP;
}

/* A generated container reader takes a cw_rt_leaf when the strings or
 * ints inside have bounds to check. */
static int takes_leaf(const type_ref *t)
{
    type_kind leaf = schema_leaf(t)->kind;

    return is_container(t) && !is_rt_container(t) && (leaf == TYPE_STRING || leaf == TYPE_INT);
}

/* The C type of a value of type `t` ("int64_t", "cw_resource_instance",
 * "cw_str_map", "cw_int_list_map"). */
static const char *c_type(const emitter *e, const type_ref *t, char *buf, size_t cap)
{
    char base[300];

    switch (t->kind) {
    case TYPE_STRING: snprintf(buf, cap, "const char *"); break;
    case TYPE_BOOL:   snprintf(buf, cap, "bool"); break;
    case TYPE_INT:    snprintf(buf, cap, "int64_t"); break;
    case TYPE_NUMBER: snprintf(buf, cap, "double"); break;
    default:
        if (is_rt_container(t)) {
            snprintf(buf, cap, t->kind == TYPE_MAP ? "cw_str_map" : "cw_str_list");
        } else {
            schema_c_base(t, base, sizeof base);
            snprintf(buf, cap, "%s_%s", e->s->prefix, base);
        }
        break;
    }
    return buf;
}

/* `text` as a C string literal into buf: quotes, backslashes, '?' and
 * control bytes escaped. */
static const char *c_string(const char *text, char *buf, size_t cap)
{
    size_t n = 0;

    if (cap < 8)
        return "\"\"";
    buf[n++] = '"';
    for (const unsigned char *c = (const unsigned char *)text; *c != '\0' && n + 6 < cap; c++) {
        if (*c == '"' || *c == '\\' || *c == '?') {
            buf[n++] = '\\';
            buf[n++] = (char)*c;
        } else if (*c < 0x20 || *c == 0x7f) {
            n += (size_t)snprintf(buf + n, cap - n, "\\%03o", *c);
        } else {
            buf[n++] = (char)*c;
        }
    }
    buf[n++] = '"';
    buf[n] = '\0';
    return buf;
}

/* A comment's text must not end the comment early. */
static char *comment_safe(char *text)
{
    for (char *p = strstr(text, "*/"); p != NULL; p = strstr(p, "*/"))
        p[1] = '|';
    return text;
}

/* The field as declared, modifiers in a fixed order: for comments. */
static void field_decl_text(const field *f, char *buf, size_t cap)
{
    char type[256];
    size_t n;

    schema_type_text(f->type, type, sizeof type);
    n = (size_t)snprintf(buf, cap, "%s: %s", f->json_name, type);
    if (f->nullable.line != 0 && n < cap)
        n += (size_t)snprintf(buf + n, cap - n, " nullable");
    if (f->optional.line != 0 && n < cap)
        n += (size_t)snprintf(buf + n, cap - n, " optional");
    if (f->dflt.line != 0 && n < cap)
        n += (size_t)snprintf(buf + n, cap - n, f->dflt_kind == LIT_STRING ? " default(\"%s\")"
                                                                          : " default(%s)",
                              f->dflt_text);
    if (f->nonempty.line != 0 && n < cap)
        n += (size_t)snprintf(buf + n, cap - n, " nonempty");
    if (f->format.line != 0 && n < cap)
        n += (size_t)snprintf(buf + n, cap - n, " format(%s)", f->format_name);
    if (f->min.line != 0 && n < cap)
        n += (size_t)snprintf(buf + n, cap - n, " min(%lld)", f->min_value);
    if (f->max.line != 0 && n < cap)
        n += (size_t)snprintf(buf + n, cap - n, " max(%lld)", f->max_value);
    if (f->maxlen.line != 0 && n < cap)
        snprintf(buf + n, cap - n, " maxlen(%lu)", f->maxlen_value);
    comment_safe(buf);
}

/* An absent key is no error: `optional`, or a default. */
static int is_optional(const field *f)
{
    return f->optional.line != 0 || f->dflt.line != 0;
}

static const char *flags_text(const field *f, char *buf, size_t cap)
{
    buf[0] = '\0';
    if (!is_optional(f))
        snprintf(buf + strlen(buf), cap - strlen(buf), "CW_RT_REQUIRED");
    if (f->nullable.line != 0)
        snprintf(buf + strlen(buf), cap - strlen(buf), "%sCW_RT_NULLABLE",
                 buf[0] != '\0' ? " | " : "");
    if (f->nonempty.line != 0)
        snprintf(buf + strlen(buf), cap - strlen(buf), "%sCW_RT_NONEMPTY",
                 buf[0] != '\0' ? " | " : "");
    if (buf[0] == '\0')
        snprintf(buf, cap, "0");
    return buf;
}

static const char *format_text(const field *f)
{
    switch (f->format_kind) {
    case FORMAT_DATETIME: return "CW_RT_FMT_DATETIME";
    case FORMAT_RFC3339:  return "CW_RT_FMT_RFC3339";
    default:              return "CW_RT_FMT_NONE";
    }
}

/* min / max as C: the value, or INT64_MIN / INT64_MAX. */
static const char *bound_text(const modifier_pos *pos, long long v, int is_min, char *buf,
                              size_t cap)
{
    if (pos->line == 0 || v == INT64_MIN || v == INT64_MAX)
        snprintf(buf, cap, "%s", pos->line == 0 ? (is_min ? "INT64_MIN" : "INT64_MAX")
                                                : v == INT64_MIN ? "INT64_MIN" : "INT64_MAX");
    else
        snprintf(buf, cap, "%lld", v);
    return buf;
}

/* The field's default as a C expression. */
static const char *default_text(const emitter *e, const field *f, char *buf, size_t cap)
{
    switch (f->type->kind) {
    case TYPE_STRING:
        return c_string(f->dflt_text, buf, cap);
    case TYPE_ENUM:
        schemac_enum_constant(e->s->prefix, f->type, f->type->values[f->dflt_enum], buf, cap);
        return buf;
    case TYPE_BOOL:
        return f->dflt_int ? "true" : "false";
    case TYPE_INT:
        if (f->dflt_int == INT64_MIN)
            return "INT64_MIN";
        snprintf(buf, cap, "%lld", f->dflt_int);
        return buf;
    default:
        snprintf(buf, cap, "%s", f->dflt_text);
        return buf;
    }
}

/* Names already written (container types and enums appear once). */
static int once(emitter *e, const char *name)
{
    for (size_t i = 0; i < e->ndone; i++) {
        if (strcmp(e->done[i], name) == 0)
            return 0;
    }
    if (e->ndone == e->cap) {
        size_t cap = e->cap != 0 ? e->cap * 2 : 16;
        char **done = realloc(e->done, cap * sizeof *done);
        if (done == NULL) {
            e->oom = 1;
            return 0;
        }
        e->done = done;
        e->cap = cap;
    }
    e->done[e->ndone] = strdup(name);
    if (e->done[e->ndone] == NULL) {
        e->oom = 1;
        return 0;
    }
    e->ndone++;
    return 1;
}

/* Forget what once() saw (the header and the source each write theirs). */
static void forget(emitter *e)
{
    for (size_t i = 0; i < e->ndone; i++)
        free(e->done[i]);
    free(e->done);
    e->done = NULL;
    e->ndone = e->cap = 0;
}

/* ---- header ------------------------------------------------------------ */

static void emit_banner(emitter *e)
{
    println(e, "/* Generated by cw-schemac from %s -- DO NOT EDIT.", e->file);
    println(e, " * Change the schema, then run `cmake --build <build dir> --target regen`");
    println(e, " * and commit generated/. */");
}

static void emit_struct(emitter *e, const record *r)
{
    char name[256], type[300], decl[600], member[700];

    println(e, "/* %srecord %s (%s:%d) */", r->is_root ? "root " : "", r->name, e->file,
            r->line);
    println(e, "typedef struct %s {", rec_name(e, r, "", name, sizeof name));
    indent(e);
    for (const field *f = r->fields; f != NULL; f = f->next) {
        field_decl_text(f, decl, sizeof decl);
        c_type(e, f->type, type, sizeof type);
        snprintf(member, sizeof member, "%s%s%s;", type, f->type->kind == TYPE_STRING ? "" : " ",
                 f->c_name);
        println(e, "%-32s /* %s */", member, decl);
        if (f->has_flag) {
            snprintf(member, sizeof member, "bool has_%s;", f->c_name);
            println(e, "%-32s /* %s was given: not absent, not null */", member, f->json_name);
        }
    }
    if (r->is_root)
        println(e, "%-32s /* owns every string and array above */", "cw_rt_arena *arena_;");
    unindent(e);
    println(e, "} %s;", name);
    blank(e);
}

static void emit_struct_deps(emitter *e, record *r);

/* enum("a", "b"): a C enum, its constants numbered from 0 in order. */
static void emit_enum(emitter *e, const type_ref *t)
{
    char name[320], text[600], constant[400], value[300];

    snprintf(name, sizeof name, "%s_%s", e->s->prefix, t->c_name);
    schema_type_text(t, text, sizeof text);
    println(e, "/* %s (%s:%d) */", comment_safe(text), e->file, t->line);
    println(e, "typedef enum %s {", name);
    indent(e);
    for (size_t i = 0; i < t->nvalues; i++) {
        schemac_enum_constant(e->s->prefix, t, t->values[i], constant, sizeof constant);
        strcat(constant, ",");
        println(e, "%-32s /* %s */", constant,
                comment_safe((char *)c_string(t->values[i], value, sizeof value)));
    }
    unindent(e);
    println(e, "} %s;", name);
    blank(e);
}

/* The C declarations `t` needs, each once, before their first use. */
static void emit_type_deps(emitter *e, const type_ref *t)
{
    char name[320], elem[300], base[300], guard[340];

    if (t->kind == TYPE_RECORD) {
        emit_struct_deps(e, t->record);
        return;
    }
    if (t->kind == TYPE_ENUM) {
        snprintf(name, sizeof name, "%s_%s", e->s->prefix, t->c_name);
        if (once(e, name))
            emit_enum(e, t);
        return;
    }
    if (!is_container(t))
        return;
    emit_type_deps(e, t->elem);
    if (is_rt_container(t) || !once(e, c_type(e, t, name, sizeof name)))
        return;
    c_type(e, t->elem, elem, sizeof elem);
    /* Types of scalars alone may be in another schema's header too. */
    int shared = schema_leaf(t)->kind != TYPE_RECORD && schema_leaf(t)->kind != TYPE_ENUM;
    if (shared) {
        snprintf(guard, sizeof guard, "%s_DEFINED_", name);
        for (char *p = guard; *p != '\0'; p++)
            *p = (char)toupper((unsigned char)*p);
        println(e, "#ifndef %s", guard);
        println(e, "#define %s", guard);
    }
    if (t->kind == TYPE_LIST) {
        println(e, "typedef struct %s { %s *items; size_t len; } %s;", name, elem, name);
    } else {
        schema_c_base(t->elem, base, sizeof base);
        println(e, "typedef struct %s_%s_pair { const char *key; %s value; } %s_%s_pair;",
                e->s->prefix, base, elem, e->s->prefix, base);
        println(e, "typedef struct %s { %s_%s_pair *items; size_t len; } %s;", name,
                e->s->prefix, base, name);
    }
    if (shared)
        println(e, "#endif");
    blank(e);
}

/* Structs in dependency order: a record after the types it contains. */
static void emit_struct_deps(emitter *e, record *r)
{
    if (r->emitted)
        return;
    r->emitted = 1;
    for (const field *f = r->fields; f != NULL; f = f->next)
        emit_type_deps(e, f->type);
    emit_struct(e, r);
}

static void emit_header(emitter *e)
{
    char guard[256], root[256];
    const record *rt = e->s->root;

    snprintf(guard, sizeof guard, "%s_%s_H", e->s->prefix, e->base);
    for (char *p = guard; *p != '\0'; p++)
        *p = (char)toupper((unsigned char)*p);
    rec_name(e, rt, "", root, sizeof root);

    emit_banner(e);
    blank(e);
    println(e, "/* Ownership: %s_parse() reads the body itself (no DOM) and", root);
    println(e, " * copies what it keeps into one arena, `arena_`: every `const char *`");
    println(e, " * below, every key and value of a cw_str_map or cw_str_list, and every");
    println(e, " * `items` array lives there until %s_free(); the body may be", root);
    println(e, " * freed as soon as the parse returns. Strings are NUL-terminated UTF-8");
    println(e, " * and never NULL: an absent optional or a null nullable string");
    println(e, " * reads as \"\", an absent or null map or list as empty, a field's");
    println(e, " * default(...) when it has one. A bool, int, number or enum that may be");
    println(e, " * absent or null, with no default, has a has_<member> flag. */");
    println(e, "#ifndef %s", guard);
    println(e, "#define %s", guard);
    blank(e);
    println(e, "#include <stdbool.h>");
    println(e, "#include <stddef.h>");
    println(e, "#include <stdint.h>");
    blank(e);
    println(e, "#include \"schema_rt.h\"");
    blank(e);
    println(e, "#if CW_SCHEMA_RT_VERSION != %d", CW_SCHEMA_RT_VERSION);
    println(e, "#error \"%s.h was generated for schema_rt version %d: rebuild cw-schemac and run the regen target\"",
            e->base, CW_SCHEMA_RT_VERSION);
    println(e, "#endif");
    blank(e);
    for (record *r = e->s->records; r != NULL; r = r->next)
        emit_struct_deps(e, r);
    forget(e);
    println(e, "/* Parse and validate `len` bytes of JSON (borrowed; need not be");
    println(e, " * NUL-terminated). Returns 0 with `out` filled: free it with");
    println(e, " * %s_free(). Returns -1 with `issues` holding at least one", root);
    println(e, " * issue; `out` is then zeroed and there is nothing to free. */");
    println(e, "__attribute__((warn_unused_result))");
    println(e, "int %s_parse(const char *bytes, size_t len, %s *out, cw_issues *issues);",
            root, root);
    blank(e);
    println(e, "/* Release what `p` owns and zero it. NULL and a zeroed struct are fine. */");
    println(e, "void %s_free(%s *p);", root, root);
    blank(e);
    println(e, "#endif");
}

/* ---- source ------------------------------------------------------------ */

/* The reader of a container or enum type: "<C type>_read_". */
static const char *reader_name(const emitter *e, const type_ref *t, char *buf, size_t cap)
{
    char type[320];

    snprintf(buf, cap, "%s_read_", c_type(e, t, type, sizeof type));
    return buf;
}

static void container_signature(emitter *e, const type_ref *t, const char *end)
{
    char reader[340], type[320];

    reader_name(e, t, reader, sizeof reader);
    c_type(e, t, type, sizeof type);
    if (takes_leaf(t))
        println(e, "static int %s(cw_rt_ctx *ctx, unsigned flags, const cw_rt_leaf *leaf, %s *out)%s",
                reader, type, end);
    else
        println(e, "static int %s(cw_rt_ctx *ctx, unsigned flags, %s *out)%s", reader, type, end);
}

/* Call `fn` on every container and enum type of the schema with a
 * generated reader, each once, elements before their containers. */
static void each_reader_type(emitter *e, const type_ref *t,
                             void (*fn)(emitter *, const type_ref *))
{
    char name[320];

    if (is_container(t))
        each_reader_type(e, t->elem, fn);
    if ((t->kind == TYPE_ENUM || (is_container(t) && !is_rt_container(t))) &&
        once(e, c_type(e, t, name, sizeof name)))
        fn(e, t);
}

static void emit_reader_prototype(emitter *e, const type_ref *t)
{
    char reader[340], type[320];

    if (t->kind == TYPE_ENUM)
        println(e, "static int %s(cw_rt_ctx *ctx, unsigned flags, %s *out);",
                reader_name(e, t, reader, sizeof reader), c_type(e, t, type, sizeof type));
    else
        container_signature(e, t, ";");
}

static void emit_prototypes(emitter *e)
{
    char name[256];

    for (const record *r = e->s->records; r != NULL; r = r->next) {
        rec_name(e, r, "", name, sizeof name);
        println(e, "static void %s_init_(%s *out);", name, name);
        println(e, "static int %s_read_(cw_rt_ctx *ctx, unsigned flags, %s *out);", name, name);
    }
    forget(e);
    for (const record *r = e->s->records; r != NULL; r = r->next) {
        for (const field *f = r->fields; f != NULL; f = f->next)
            each_reader_type(e, f->type, emit_reader_prototype);
    }
    forget(e);
    blank(e);
}

/* The statement reading one value of type `t` into `target`: the
 * modifiers of field `f` as constants, or (f NULL, inside a container
 * reader) from `leaf`. */
static void emit_read(emitter *e, const type_ref *t, const field *f, const char *flags,
                      const char *target)
{
    char reader[340], leaf[400], min[32], max[32];

    switch (t->kind) {
    case TYPE_STRING:
        if (f != NULL)
            println(e, "st = cw_rt_read_string(ctx, %s, %lu, %s, %s);", flags, f->maxlen_value,
                    format_text(f), target);
        else
            println(e, "st = cw_rt_read_string(ctx, leaf->flags, leaf->maxlen, leaf->format, %s);",
                    target);
        return;
    case TYPE_BOOL:
        println(e, "st = cw_rt_read_bool(ctx, %s, %s);", flags, target);
        return;
    case TYPE_INT:
        if (f != NULL)
            println(e, "st = cw_rt_read_int(ctx, %s, %s, %s, %s);", flags,
                    bound_text(&f->min, f->min_value, 1, min, sizeof min),
                    bound_text(&f->max, f->max_value, 0, max, sizeof max), target);
        else
            println(e, "st = cw_rt_read_int(ctx, 0, leaf->min, leaf->max, %s);", target);
        return;
    case TYPE_NUMBER:
        println(e, "st = cw_rt_read_number(ctx, %s, %s);", flags, target);
        return;
    case TYPE_RECORD:
        println(e, "st = %s_read_(ctx, %s, %s);", rec_name(e, t->record, "", reader, sizeof reader),
                flags, target);
        return;
    default:
        break;
    }
    if (is_rt_container(t)) {
        const char *fn = t->kind == TYPE_MAP ? "cw_rt_read_str_map" : "cw_rt_read_str_list";
        if (f != NULL)
            println(e, "st = %s(ctx, %s, %lu, %s, %s);", fn, flags, f->maxlen_value,
                    format_text(f), target);
        else
            println(e, "st = %s(ctx, leaf->flags, leaf->maxlen, leaf->format, %s);", fn, target);
        return;
    }
    reader_name(e, t, reader, sizeof reader);
    if (!takes_leaf(t)) {
        println(e, "st = %s(ctx, %s, %s);", reader, flags, target);
        return;
    }
    if (f == NULL)
        snprintf(leaf, sizeof leaf, "leaf");
    else if (schema_leaf(t)->kind == TYPE_STRING)
        snprintf(leaf, sizeof leaf, "&(const cw_rt_leaf){ .flags = %s, .maxlen = %lu, .format = %s }",
                 f->nonempty.line != 0 ? "CW_RT_NONEMPTY" : "0", f->maxlen_value, format_text(f));
    else
        snprintf(leaf, sizeof leaf, "&(const cw_rt_leaf){ .min = %s, .max = %s }",
                 bound_text(&f->min, f->min_value, 1, min, sizeof min),
                 bound_text(&f->max, f->max_value, 0, max, sizeof max));
    println(e, "st = %s(ctx, %s, %s, %s);", reader, flags, leaf, target);
}

/* The read of one field's value, the path already naming it: into `st`;
 * then its has_ flag or its default. */
static void emit_field_read(emitter *e, const field *f)
{
    char flags[128], target[300], value[300];

    flags_text(f, flags, sizeof flags);
    snprintf(target, sizeof target, "&out->%s", f->c_name);
    emit_read(e, f->type, f, flags, target);
    if (f->has_flag)
        println(e, "out->has_%s = st == 1;", f->c_name);
    if (f->dflt.line != 0) {
        println(e, "if (st == 2)");
        println(e, "    out->%s = %s;", f->c_name, default_text(e, f, value, sizeof value));
    }
}

/* The values of an absent record or field: strings "" (never NULL, the
 * header's promise) or their default, scalars 0 or their default, maps
 * and lists empty, nested records the same. */
static void emit_init(emitter *e, const record *r)
{
    char name[256], value[300];

    rec_name(e, r, "", name, sizeof name);
    println(e, "static void %s_init_(%s *out)", name, name);
    println(e, "{");
    indent(e);
    println(e, "memset(out, 0, sizeof *out);");
    for (const field *f = r->fields; f != NULL; f = f->next) {
        if (f->dflt.line != 0)
            println(e, "out->%s = %s;", f->c_name, default_text(e, f, value, sizeof value));
        else if (f->type->kind == TYPE_STRING)
            println(e, "out->%s = \"\";", f->c_name);
        else if (f->type->kind == TYPE_RECORD)
            println(e, "%s_init_(&out->%s);",
                    rec_name(e, f->type->record, "", name, sizeof name), f->c_name);
    }
    unindent(e);
    println(e, "}");
    blank(e);
}

static void emit_record_functions(emitter *e, const record *r)
{
    char name[256];
    unsigned n = 0;

    rec_name(e, r, "", name, sizeof name);
    println(e, "/* record %s (%s:%d) */", r->name, e->file, r->line);
    emit_init(e, r);
    println(e, "static int %s_read_(cw_rt_ctx *ctx, unsigned flags, %s *out)", name, name);
    println(e, "{");
    indent(e);
    println(e, "cw_rt_key key = { 0 };");
    println(e, "unsigned long long seen = 0;");
    println(e, "int st;");
    blank(e);
    println(e, "%s_init_(out);", name);
    println(e, "st = cw_rt_object_begin(ctx, flags);");
    println(e, "if (st != 1)");
    println(e, "    return st == 2;");
    println(e, "for (;;) {");
    indent(e);
    println(e, "st = cw_rt_object_next(ctx, &key);");
    println(e, "if (st != 1)");
    println(e, "    break;");
    n = 0;
    for (const field *f = r->fields; f != NULL; f = f->next, n++) {
        size_t len = strlen(f->json_name);
        println(e, "%sif (cw_rt_key_is(&key, \"%s\", %zu)) {", n == 0 ? "" : "} else ",
                f->json_name, len);
        indent(e);
        println(e, "cw_rt_field(ctx, &seen, 0x%llxull, \"%s\", %zu);", 1ull << n, f->json_name,
                len);
        emit_field_read(e, f);
        unindent(e);
    }
    println(e, "} else {");
    indent(e);
    println(e, "if (!cw_rt_skip_field(ctx, &key))");
    println(e, "    return 0;");
    println(e, "continue;");
    unindent(e);
    println(e, "}");
    println(e, "cw_rt_pop(ctx);");
    println(e, "if (!st)");
    println(e, "    return 0;");
    unindent(e);
    println(e, "}");
    println(e, "if (st == 0)");
    println(e, "    return 0;");
    n = 0;
    for (const field *f = r->fields; f != NULL; f = f->next, n++) {
        if (!is_optional(f))
            println(e, "cw_rt_required(ctx, seen, 0x%llxull, \"%s\", %zu);", 1ull << n,
                    f->json_name, strlen(f->json_name));
    }
    println(e, "return 1;");
    unindent(e);
    println(e, "}");
    blank(e);
}

/* The flags an element is read with: records check their own required
 * fields; scalars and containers inside are never null. */
static const char *elem_flags(const type_ref *elem)
{
    return elem->kind == TYPE_RECORD ? "CW_RT_REQUIRED" : "0";
}

/* A container reader's head: the comment, the signature, the local
 * `first` (the list's scratch mark or the map), `items` and `st`, the
 * output emptied. */
static void emit_reader_head(emitter *e, const type_ref *t, const char *first)
{
    char text[600];

    schema_type_text(t, text, sizeof text);
    println(e, "/* %s */", comment_safe(text));
    container_signature(e, t, "");
    println(e, "{");
    indent(e);
    println(e, "%s", first);
    println(e, "void *items;");
    println(e, "int st;");
    blank(e);
    println(e, "out->items = NULL;");
    println(e, "out->len = 0;");
}

/* Its tail: the items taken are the output. */
static void emit_reader_tail(emitter *e)
{
    println(e, "    return 0;");
    println(e, "out->items = items;");
    println(e, "return 1;");
    unindent(e);
    println(e, "}");
    blank(e);
}

static void emit_list_reader(emitter *e, const type_ref *t)
{
    char elem[320];

    c_type(e, t->elem, elem, sizeof elem);
    emit_reader_head(e, t, "size_t mark = cw_rt_scratch_mark(ctx);");
    println(e, "st = cw_rt_array_begin(ctx, flags);");
    println(e, "if (st != 1)");
    println(e, "    return st == 2;");
    println(e, "for (size_t i = 0;; i++) {");
    indent(e);
    println(e, "%s item;", elem);
    blank(e);
    println(e, "st = cw_rt_array_next(ctx, i);");
    println(e, "if (st != 1)");
    println(e, "    break;");
    println(e, "cw_rt_push_index(ctx, i);");
    emit_read(e, t->elem, NULL, elem_flags(t->elem), "&item");
    println(e, "cw_rt_pop(ctx);");
    println(e, "if (!st || !cw_rt_scratch_push(ctx, &item, sizeof item))");
    println(e, "    return 0;");
    unindent(e);
    println(e, "}");
    println(e, "if (st == 0)");
    println(e, "    return 0;");
    println(e, "if (!cw_rt_scratch_take(ctx, mark, sizeof(%s), &items, &out->len))", elem);
    emit_reader_tail(e);
}

static void emit_map_reader(emitter *e, const type_ref *t)
{
    char base[300];

    schema_c_base(t->elem, base, sizeof base);
    emit_reader_head(e, t, "cw_rt_map map;");
    println(e, "st = cw_rt_map_begin(ctx, flags, sizeof(%s_%s_pair), &map);", e->s->prefix, base);
    println(e, "if (st != 1)");
    println(e, "    return st == 2;");
    println(e, "for (;;) {");
    indent(e);
    println(e, "%s_%s_pair pair = { 0 };", e->s->prefix, base);
    blank(e);
    println(e, "st = cw_rt_map_next(ctx, &map, &pair.key);");
    println(e, "if (st != 1)");
    println(e, "    break;");
    emit_read(e, t->elem, NULL, elem_flags(t->elem), "&pair.value");
    println(e, "cw_rt_pop(ctx);");
    println(e, "if (st)");
    println(e, "    st = cw_rt_map_put(ctx, &map, &pair);");
    println(e, "if (!st)");
    println(e, "    break;");
    unindent(e);
    println(e, "}");
    println(e, "if (!cw_rt_map_end(ctx, &map, st, &items, &out->len))");
    emit_reader_tail(e);
}

static void emit_enum_reader(emitter *e, const type_ref *t)
{
    char name[320], text[600], value[300], reader[340];

    c_type(e, t, name, sizeof name);
    schema_type_text(t, text, sizeof text);
    println(e, "/* %s */", comment_safe(text));
    println(e, "static const char *const %s_names_[] = {", name);
    indent(e);
    for (size_t i = 0; i < t->nvalues; i++)
        println(e, "%s,", c_string(t->values[i], value, sizeof value));
    unindent(e);
    println(e, "};");
    blank(e);
    println(e, "static int %s(cw_rt_ctx *ctx, unsigned flags, %s *out)",
            reader_name(e, t, reader, sizeof reader), name);
    println(e, "{");
    indent(e);
    println(e, "int index;");
    println(e, "int st = cw_rt_read_enum(ctx, flags, %s_names_, %zu, &index);", name, t->nvalues);
    blank(e);
    println(e, "*out = (%s)index;", name);
    println(e, "return st;");
    unindent(e);
    println(e, "}");
    blank(e);
}

static void emit_reader(emitter *e, const type_ref *t)
{
    if (t->kind == TYPE_ENUM)
        emit_enum_reader(e, t);
    else if (t->kind == TYPE_LIST)
        emit_list_reader(e, t);
    else
        emit_map_reader(e, t);
}

static void emit_entry_points(emitter *e)
{
    char root[256];
    const record *rt = e->s->root;

    rec_name(e, rt, "", root, sizeof root);
    println(e, "int %s_parse(const char *bytes, size_t len, %s *out, cw_issues *issues)",
            root, root);
    println(e, "{");
    indent(e);
    println(e, "cw_rt_ctx ctx;");
    blank(e);
    println(e, "memset(out, 0, sizeof *out);");
    println(e, "cw_issues_init(issues);");
    println(e, "cw_rt_ctx_init(&ctx, issues, bytes, len);");
    println(e, "if (!cw_rt_document_begin(&ctx))");
    println(e, "    goto fail;");
    println(e, "if (!%s_read_(&ctx, CW_RT_REQUIRED, out))", root);
    println(e, "    goto fail;");
    println(e, "if (!cw_rt_document_end(&ctx) || issues->total != 0)");
    println(e, "    goto fail;");
    println(e, "out->arena_ = ctx.arena;");
    println(e, "ctx.arena = NULL;");
    println(e, "cw_rt_ctx_done(&ctx);");
    println(e, "return 0;");
    unindent(e);
    println(e, "fail:");
    indent(e);
    println(e, "cw_rt_ctx_done(&ctx);");
    println(e, "memset(out, 0, sizeof *out);");
    println(e, "return -1;");
    unindent(e);
    println(e, "}");
    blank(e);
    println(e, "void %s_free(%s *p)", root, root);
    println(e, "{");
    indent(e);
    println(e, "if (p == NULL)");
    println(e, "    return;");
    println(e, "cw_rt_arena_free(p->arena_);");
    println(e, "memset(p, 0, sizeof *p);");
    unindent(e);
    println(e, "}");
}

static void emit_source(emitter *e)
{
    emit_banner(e);
    println(e, "#include <stdlib.h>");
    println(e, "#include <string.h>");
    blank(e);
    println(e, "#include \"%s.h\"", e->base);
    blank(e);
    emit_prototypes(e);
    for (const record *r = e->s->records; r != NULL; r = r->next) {
        emit_record_functions(e, r);
        for (const field *f = r->fields; f != NULL; f = f->next)
            each_reader_type(e, f->type, emit_reader);
    }
    forget(e);
    emit_entry_points(e);
}

/* ---- files ------------------------------------------------------------- */

/* Write one file through `body`: into "<path>.tmp", then renamed over
 * <path>, so an interrupted run never leaves a half-written file. Returns
 * -1 after a one-line error. */
static int write_file(emitter *e, const char *outdir, const char *ext,
                      void (*body)(emitter *))
{
    char path[4096], tmp[4100];

    if (snprintf(path, sizeof path, "%s/%s%s", outdir, e->base, ext) >= (int)sizeof path) {
        fprintf(stderr, "cw-schemac: the output directory name is too long: %.64s...\n", outdir);
        return -1;
    }
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    e->out = fopen(tmp, "w");
    if (e->out == NULL) {
        fprintf(stderr, "cw-schemac: cannot write %s: %s\n", tmp, strerror(errno));
        return -1;
    }
    e->indent = 0;
    body(e);
    int failed = ferror(e->out);
    if (fclose(e->out) != 0)
        failed = 1;
    e->out = NULL;
    if (failed || rename(tmp, path) != 0) {
        fprintf(stderr, "cw-schemac: cannot write %s: %s\n", path, strerror(errno));
        remove(tmp);
        return -1;
    }
    return 0;
}

/* The base name of `path` (no directory, no extension) into *base
 * (malloc'd) and the file name into *file (into `path`). Returns -1 after a
 * one-line error when the base is not a C identifier or on OOM. */
static int output_base(const char *path, char **base, const char **file)
{
    const char *slash = strrchr(path, '/');
    char *b = NULL;

    *file = slash != NULL ? slash + 1 : path;
    b = strdup(*file);
    if (b == NULL) {
        fprintf(stderr, "cw-schemac: out of memory\n");
        return -1;
    }
    char *dot = strrchr(b, '.');
    if (dot != NULL)
        *dot = '\0';
    if (strlen(b) > SCHEMAC_MAX_NAME) {
        fprintf(stderr, "cw-schemac: %s: the schema file name is longer than %d bytes\n", path,
                SCHEMAC_MAX_NAME);
        free(b);
        return -1;
    }
    int ok = b[0] != '\0' && !isdigit((unsigned char)b[0]);
    for (const char *p = b; *p != '\0'; p++) {
        if (!isalnum((unsigned char)*p) && *p != '_')
            ok = 0;
    }
    if (!ok) {
        fprintf(stderr, "cw-schemac: %s: the schema file name must be a C identifier\n", path);
        free(b);
        return -1;
    }
    *base = b;
    return 0;
}

int emit_c_streams(const schema *s, const char *path, FILE *h, FILE *c)
{
    char *base = NULL;
    const char *file;

    if (output_base(path, &base, &file) != 0)
        return -1;
    emitter e = { .s = s, .base = base, .file = file };
    for (record *r = s->records; r != NULL; r = r->next)
        r->emitted = 0;
    e.out = h;
    emit_header(&e);
    e.out = c;
    e.indent = 0;
    emit_source(&e);
    forget(&e);
    free(base);
    return ferror(h) || ferror(c) || e.oom ? -1 : 0;
}

int emit_c(const source *src, const schema *s, const char *outdir)
{
    int rc = -1;
    const char *file;
    char *base = NULL;
    emitter e = { .s = s };

    if (output_base(src->path, &base, &file) != 0)
        goto out;
    e.base = base;
    e.file = file;
    for (record *r = s->records; r != NULL; r = r->next)
        r->emitted = 0;
    if (write_file(&e, outdir, ".h", emit_header) != 0)
        goto out;
    if (write_file(&e, outdir, ".c", emit_source) != 0)
        goto out;
    if (e.oom) {
        fprintf(stderr, "cw-schemac: out of memory\n");
        goto out;
    }
    rc = 0;
out:
    forget(&e);
    free(base);
    return rc;
}
