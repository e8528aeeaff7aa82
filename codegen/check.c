/* The checker: resolves record types and the root, derives C member and
 * type names, and reports every error it finds (unknown type, duplicate
 * field, record or enum value, modifier that does not fit the type, a
 * default out of bounds, clashing C names, recursive records, records the
 * root does not use, missing prefix or root). */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "schemac.h"

static record *find_record(const schema *s, const char *name)
{
    for (record *r = s->records; r != NULL; r = r->next) {
        if (strcmp(r->name, name) == 0)
            return r;
    }
    return NULL;
}

/* camelCase / PascalCase → snake_case (schemac.h). */
char *schemac_snake_case(const char *s, size_t n)
{
    char *out = malloc(2 * n + 1), *o = out;

    if (out == NULL)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (isupper(c) && i > 0) {
            unsigned char prev = (unsigned char)s[i - 1];
            unsigned char next = i + 1 < n ? (unsigned char)s[i + 1] : 0;
            if (islower(prev) || isdigit(prev) || (isupper(prev) && islower(next)))
                *o++ = '_';
        }
        *o++ = (char)tolower(c);
    }
    *o = '\0';
    return out;
}

/* 1 (after an error) when `name` is longer than SCHEMAC_MAX_NAME bytes. */
static int name_too_long(const source *src, const char *what, const char *name, int line,
                         int col)
{
    size_t n = strlen(name);

    if (n <= SCHEMAC_MAX_NAME)
        return 0;
    source_error(src, line, col, "%s '%.16s...' is %zu bytes long (at most %d)", what, name, n,
                 SCHEMAC_MAX_NAME);
    return 1;
}

static int is_c_keyword(const char *name)
{
    static const char *const words[] = {
        "auto", "break", "case", "char", "const", "continue", "default", "do",
        "double", "else", "enum", "extern", "float", "for", "goto", "if", "inline",
        "int", "long", "register", "restrict", "return", "short", "signed",
        "sizeof", "static", "struct", "switch", "typedef", "union", "unsigned",
        "void", "volatile", "while", "arena_", "bool", "true", "false", NULL,
    };
    for (size_t i = 0; words[i] != NULL; i++) {
        if (strcmp(words[i], name) == 0)
            return 1;
    }
    return 0;
}

/* Resolve record names in `t` (at any depth); check enum values. */
static int check_type(const source *src, schema *s, type_ref *t)
{
    switch (t->kind) {
    case TYPE_STRING:
    case TYPE_BOOL:
    case TYPE_INT:
    case TYPE_NUMBER:
        return 0;
    case TYPE_ENUM:
        for (size_t i = 0; i < t->nvalues; i++) {
            for (size_t k = 0; k < i; k++) {
                if (strcmp(t->values[i], t->values[k]) == 0) {
                    source_error(src, t->line, t->col, "duplicate enum value \"%s\"",
                                 t->values[i]);
                    return 1;
                }
            }
        }
        return 0;
    case TYPE_RECORD:
        t->record = find_record(s, t->name);
        if (t->record == NULL) {
            source_error(src, t->line, t->col, "unknown type '%s'", t->name);
            return 1;
        }
        return 0;
    case TYPE_MAP:
    case TYPE_LIST:
        return check_type(src, s, t->elem);
    }
    return 0;
}

/* The C constant of enum value `v` into buf: "<PREFIX>_<ENUM>_<VALUE>",
 * upper case, every byte that is not a letter or digit as '_'. */
void schemac_enum_constant(const char *prefix, const type_ref *t, const char *v, char *buf,
                           size_t cap)
{
    size_t n = (size_t)snprintf(buf, cap, "%s_%s_", prefix, t->c_name);

    for (const char *c = v; *c != '\0' && n + 1 < cap; c++)
        buf[n++] = isalnum((unsigned char)*c) && (unsigned char)*c < 0x80 ? *c : '_';
    if (n < cap)
        buf[n] = '\0';
    for (char *c = buf; *c != '\0'; c++)
        *c = (char)toupper((unsigned char)*c);
}

static const char *article_type(type_kind kind)
{
    switch (kind) {
    case TYPE_STRING: return "a string";
    case TYPE_BOOL:   return "a bool";
    case TYPE_INT:    return "an int";
    case TYPE_NUMBER: return "a number";
    case TYPE_ENUM:   return "one of the enum's values";
    default:          return "a scalar";
    }
}

/* default(...): fits the field's type, modifiers and bounds. */
static int check_default(const source *src, field *f)
{
    const type_ref *t = f->type;
    char text[256];
    int ok;

    if (!schema_is_scalar(t->kind)) {
        schema_type_text(t, text, sizeof text);
        source_error(src, f->dflt.line, f->dflt.col,
                     "modifier 'default' does not fit type %s (an absent map, list or record "
                     "is already empty)", text);
        return 1;
    }
    switch (t->kind) {
    case TYPE_STRING:
    case TYPE_ENUM: ok = f->dflt_kind == LIT_STRING; break;
    case TYPE_BOOL:   ok = f->dflt_kind == LIT_BOOL; break;
    case TYPE_INT:    ok = f->dflt_kind == LIT_INT; break;
    default:          ok = f->dflt_kind == LIT_INT || f->dflt_kind == LIT_NUMBER; break;
    }
    if (ok && t->kind == TYPE_ENUM) {
        ok = 0;
        for (size_t i = 0; i < t->nvalues; i++) {
            if (strcmp(t->values[i], f->dflt_text) == 0) {
                f->dflt_enum = i;
                ok = 1;
            }
        }
    }
    if (!ok) {
        source_error(src, f->dflt.line, f->dflt.col, "default(%s%s%s) is not %s",
                     f->dflt_kind == LIT_STRING ? "\"" : "", f->dflt_text,
                     f->dflt_kind == LIT_STRING ? "\"" : "", article_type(t->kind));
        return 1;
    }
    if (t->kind == TYPE_INT && ((f->min.line != 0 && f->dflt_int < f->min_value) ||
                                (f->max.line != 0 && f->dflt_int > f->max_value))) {
        source_error(src, f->dflt.line, f->dflt.col, "default(%lld) is outside min/max",
                     f->dflt_int);
        return 1;
    }
    if (t->kind == TYPE_STRING && ((f->nonempty.line != 0 && f->dflt_text[0] == '\0') ||
                                   (f->maxlen.line != 0 &&
                                    strlen(f->dflt_text) > f->maxlen_value))) {
        source_error(src, f->dflt.line, f->dflt.col,
                     "default(\"%s\") breaks the field's nonempty or maxlen", f->dflt_text);
        return 1;
    }
    return 0;
}

/* nonempty / maxlen / format apply to strings, min / max to ints: the
 * field's own type, or the values of its maps and the elements of its
 * lists (schema_leaf). */
static int check_modifiers(const source *src, field *f)
{
    int errors = 0;
    char text[256];
    const type_ref *leaf = schema_leaf(f->type);
    struct { const char *name; modifier_pos pos; type_kind fits; } mods[] = {
        { "nonempty", f->nonempty, TYPE_STRING }, { "maxlen", f->maxlen, TYPE_STRING },
        { "format", f->format, TYPE_STRING },     { "min", f->min, TYPE_INT },
        { "max", f->max, TYPE_INT },
    };

    schema_type_text(f->type, text, sizeof text);
    for (size_t i = 0; i < sizeof mods / sizeof mods[0]; i++) {
        if (mods[i].pos.line == 0 || leaf->kind == mods[i].fits)
            continue;
        source_error(src, mods[i].pos.line, mods[i].pos.col, "modifier '%s' does not fit type %s",
                     mods[i].name, text);
        errors++;
    }
    if (f->min.line != 0 && f->max.line != 0 && f->min_value > f->max_value) {
        source_error(src, f->max.line, f->max.col, "max(%lld) is below min(%lld)", f->max_value,
                     f->min_value);
        errors++;
    }
    if (f->format_name != NULL) {
        if (strcmp(f->format_name, "datetime") == 0) {
            f->format_kind = FORMAT_DATETIME;
        } else if (strcmp(f->format_name, "rfc3339") == 0) {
            f->format_kind = FORMAT_RFC3339;
        } else {
            source_error(src, f->format.line, f->format.col,
                         "unknown format '%s' (known: datetime, rfc3339)", f->format_name);
            errors++;
        }
    }
    if (errors == 0 && f->dflt.line != 0)
        errors += check_default(src, f);
    f->has_flag = (f->type->kind == TYPE_BOOL || f->type->kind == TYPE_INT ||
                   f->type->kind == TYPE_NUMBER || f->type->kind == TYPE_ENUM) &&
                  (f->optional.line != 0 || f->nullable.line != 0) && f->dflt.line == 0;
    return errors;
}

/* Name the enums of `t` after the record and member that declare them. */
static int name_enums(record *r, field *f, type_ref *t)
{
    if (t->kind == TYPE_MAP || t->kind == TYPE_LIST)
        return name_enums(r, f, t->elem);
    if (t->kind != TYPE_ENUM)
        return 0;
    size_t n = strlen(r->name) + strlen(f->c_name) + 2;
    t->c_name = malloc(n);
    if (t->c_name == NULL)
        return -1;
    snprintf(t->c_name, n, "%s_%s", r->name, f->c_name);
    return 0;
}

static int check_record(const source *src, schema *s, record *r)
{
    int errors = name_too_long(src, "record name", r->name, r->line, r->col);

    if (r->fields == NULL) {
        source_error(src, r->line, r->col, "record '%s' has no fields", r->name);
        errors++;
    }
    size_t nfields = 0;
    for (field *f = r->fields; f != NULL; f = f->next)
        nfields++;
    if (nfields > 64) {
        /* the generated parser keeps the fields seen in one 64-bit mask */
        source_error(src, r->line, r->col, "record '%s' has %zu fields (at most 64)", r->name,
                     nfields);
        errors++;
    }
    for (field *f = r->fields; f != NULL; f = f->next) {
        errors += name_too_long(src, "field name", f->json_name, f->line, f->col);
        f->c_name = schemac_snake_case(f->json_name, strlen(f->json_name));
        if (f->c_name == NULL) {
            fprintf(stderr, "cw-schemac: out of memory\n");
            return errors + 1;
        }
        for (field *g = r->fields; g != f; g = g->next) {
            if (strcmp(g->json_name, f->json_name) == 0) {
                source_error(src, f->line, f->col,
                             "duplicate field '%s' in record '%s' (first at line %d)",
                             f->json_name, r->name, g->line);
                errors++;
                break;
            }
            if (strcmp(g->c_name, f->c_name) == 0) {
                source_error(src, f->line, f->col,
                             "field '%s' and field '%s' (line %d) both become C member '%s'",
                             f->json_name, g->json_name, g->line, f->c_name);
                errors++;
                break;
            }
        }
        if (is_c_keyword(f->c_name)) {
            source_error(src, f->line, f->col, "field name '%s' is reserved in C", f->c_name);
            errors++;
        }
        int type_errors = check_type(src, s, f->type);
        errors += type_errors;
        if (type_errors == 0)
            errors += check_modifiers(src, f);
        if (name_enums(r, f, f->type) != 0) {
            fprintf(stderr, "cw-schemac: out of memory\n");
            return errors + 1;
        }
    }
    return errors;
}

/* The record that `t` makes `r` contain, if any. */
static record *contained(const type_ref *t)
{
    const type_ref *leaf = schema_leaf(t);

    return leaf->kind == TYPE_RECORD ? leaf->record : NULL;
}

/* A C name the header will declare, for the clash check. */
typedef struct c_decl {
    char name[300];
    const char *what;        /* "record", "enum", or a type's text */
    const record *r;         /* record and enum: where declared */
    const type_ref *t;       /* container types: the type */
    int is_enum;
    int line, col;
} c_decl;

typedef struct c_decls { c_decl *items; size_t len, cap; } c_decls;

/* Append `decl` unless d->items[from..] has its name already. */
static int add_decl(c_decls *d, size_t from, const c_decl *decl)
{
    for (size_t i = from; i < d->len; i++) {
        if (strcmp(d->items[i].name, decl->name) == 0)
            return 0;                     /* the same container type, used twice */
    }
    if (d->len == d->cap) {
        size_t cap = d->cap ? d->cap * 2 : 32;
        c_decl *items = realloc(d->items, cap * sizeof *items);
        if (items == NULL)
            return -1;
        d->items = items;
        d->cap = cap;
    }
    d->items[d->len++] = *decl;
    return 0;
}

/* The container types of `t` (a map also declares its pair type). */
static int add_container_decls(c_decls *d, size_t from, const type_ref *t)
{
    c_decl decl = { .t = t, .line = t->line, .col = t->col };

    if (t->kind != TYPE_MAP && t->kind != TYPE_LIST)
        return 0;
    if (add_container_decls(d, from, t->elem) != 0)
        return -1;
    if (t->elem->kind == TYPE_STRING)
        return 0;                         /* cw_str_list, cw_str_map: the runtime's */
    schema_c_base(t, decl.name, sizeof decl.name);
    if (add_decl(d, from, &decl) != 0)
        return -1;
    if (t->kind == TYPE_MAP) {
        schema_c_base(t->elem, decl.name, sizeof decl.name);
        strcat(decl.name, "_pair");
        return add_decl(d, from, &decl);
    }
    return 0;
}

static void describe_decl(const c_decl *d, char *buf, size_t cap)
{
    char text[256];

    if (d->t == NULL) {
        snprintf(buf, cap, "%s '%s'", d->what, d->r->name);
    } else if (d->t->kind == TYPE_LIST && d->t->elem->kind == TYPE_RECORD) {
        snprintf(buf, cap, "the list type of record '%s'", d->t->elem->record->name);
    } else {
        schema_type_text(d->t, text, sizeof text);
        snprintf(buf, cap, "the C type of %s", text);
    }
}

/* Two values of one enum must not become one C constant. */
static int check_enum_constants(const source *src, const schema *s, const type_ref *t)
{
    char a[400], b[400];

    for (size_t i = 0; i < t->nvalues; i++) {
        schemac_enum_constant(s->prefix, t, t->values[i], a, sizeof a);
        for (size_t k = 0; k < i; k++) {
            schemac_enum_constant(s->prefix, t, t->values[k], b, sizeof b);
            if (strcmp(a, b) == 0) {
                source_error(src, t->line, t->col,
                             "enum values \"%s\" and \"%s\" both become C constant %s",
                             t->values[k], t->values[i], a);
                return 1;
            }
        }
    }
    return 0;
}

/* Records, enums and container types must get distinct C names; and a
 * `has_<member>` flag must not be another member. */
static int check_c_names(const source *src, const schema *s)
{
    c_decls d = { NULL, 0, 0 };
    int errors = 0;

    for (const record *r = s->records; r != NULL; r = r->next) {
        c_decl decl = { .what = "record", .r = r, .line = r->line, .col = r->col };
        snprintf(decl.name, sizeof decl.name, "%s", r->name);
        errors += add_decl(&d, 0, &decl) != 0;
    }
    for (const record *r = s->records; r != NULL; r = r->next) {
        for (const field *f = r->fields; f != NULL; f = f->next) {
            const type_ref *leaf = schema_leaf(f->type);
            if (leaf->kind == TYPE_ENUM) {
                c_decl decl = { .what = "enum", .r = r, .is_enum = 1, .line = leaf->line,
                                .col = leaf->col };
                errors += check_enum_constants(src, s, leaf);
                snprintf(decl.name, sizeof decl.name, "%s", leaf->c_name);
                for (size_t i = 0; i < d.len; i++) {
                    if (strcmp(d.items[i].name, decl.name) == 0) {
                        char other[300];
                        describe_decl(&d.items[i], other, sizeof other);
                        source_error(src, leaf->line, leaf->col,
                                     "the enum of field '%s' is C type %s_%s, as is %s",
                                     f->json_name, s->prefix, decl.name, other);
                        errors++;
                    }
                }
                errors += add_decl(&d, 0, &decl) != 0;
            }
            if (!f->has_flag)
                continue;
            for (const field *g = r->fields; g != NULL; g = g->next) {
                if (strncmp(g->c_name, "has_", 4) == 0 && strcmp(g->c_name + 4, f->c_name) == 0) {
                    source_error(src, g->line, g->col,
                                 "field '%s' becomes C member '%s', the presence flag of field "
                                 "'%s' (line %d)", g->json_name, g->c_name, f->json_name,
                                 f->line);
                    errors++;
                }
            }
        }
    }
    size_t named = d.len;
    for (const record *r = s->records; r != NULL; r = r->next) {
        for (const field *f = r->fields; f != NULL; f = f->next)
            errors += add_container_decls(&d, named, f->type) != 0;
    }
    for (size_t i = named; i < d.len; i++) {
        for (size_t k = 0; k < named; k++) {
            if (strcmp(d.items[i].name, d.items[k].name) != 0)
                continue;
            char type[300];
            describe_decl(&d.items[i], type, sizeof type);
            if (!d.items[k].is_enum) {
                source_error(src, d.items[k].line, d.items[k].col,
                             "record name '%s' clashes with %s", d.items[k].name, type);
            } else {
                source_error(src, d.items[k].line, d.items[k].col,
                             "enum C type '%s' clashes with %s", d.items[k].name, type);
            }
            errors++;
        }
    }
    free(d.items);
    return errors;
}

/* Depth-first search for a record that contains itself. */
static int check_cycle(const source *src, record *r)
{
    if (r->visiting) {
        source_error(src, r->line, r->col, "record '%s' contains itself", r->name);
        return 1;
    }
    if (r->emitted)          /* reused as "already checked" until emit resets it */
        return 0;
    r->visiting = 1;
    int errors = 0;
    for (field *f = r->fields; f != NULL && errors == 0; f = f->next) {
        record *inner = contained(f->type);
        if (inner != NULL)
            errors += check_cycle(src, inner);
    }
    r->visiting = 0;
    r->emitted = 1;
    return errors;
}

/* Mark `r` and every record it contains, at any depth. */
static void mark_reachable(record *r)
{
    if (r->reachable)
        return;
    r->reachable = 1;
    for (field *f = r->fields; f != NULL; f = f->next) {
        record *inner = contained(f->type);
        if (inner != NULL)
            mark_reachable(inner);
    }
}

int check_schema(const source *src, schema *s)
{
    int errors = 0;

    if (s->prefix == NULL) {
        source_error(src, 1, 1, "missing 'prefix' declaration (e.g. `prefix cw;`)");
        errors++;
    } else {
        errors += name_too_long(src, "prefix", s->prefix, s->prefix_line, s->prefix_col);
    }
    for (record *r = s->records; r != NULL; r = r->next) {
        for (record *q = s->records; q != r; q = q->next) {
            if (strcmp(q->name, r->name) == 0) {
                source_error(src, r->line, r->col, "duplicate record '%s' (first at line %d)",
                             r->name, q->line);
                errors++;
                break;
            }
        }
    }
    for (record *r = s->records; r != NULL; r = r->next)
        errors += check_record(src, s, r);

    if (s->root_name == NULL) {
        source_error(src, 1, 1, "missing 'root' declaration (e.g. `root payload;`)");
        errors++;
    } else {
        s->root = find_record(s, s->root_name);
        if (s->root == NULL) {
            source_error(src, s->root_line, s->root_col, "unknown root record '%s'",
                         s->root_name);
            errors++;
        } else {
            s->root->is_root = 1;
        }
    }
    if (errors != 0)
        return errors;

    for (record *r = s->records; r != NULL; r = r->next) {
        for (field *f = r->fields; f != NULL; f = f->next) {
            record *inner = contained(f->type);
            if (inner != NULL && inner->is_root) {
                source_error(src, f->type->line, f->type->col,
                             "the root record '%s' cannot be used as a field type",
                             inner->name);
                errors++;
            }
        }
    }
    errors += check_c_names(src, s);
    for (record *r = s->records; r != NULL && errors == 0; r = r->next)
        errors += check_cycle(src, r);
    for (record *r = s->records; r != NULL; r = r->next)
        r->emitted = 0;
    if (errors != 0)
        return errors;

    /* A record the root does not reach would be emitted as unused static
     * functions, which do not compile with -Werror. */
    mark_reachable(s->root);
    for (record *r = s->records; r != NULL; r = r->next) {
        if (!r->reachable) {
            source_error(src, r->line, r->col, "record '%s' is not used by the root record '%s'",
                         r->name, s->root->name);
            errors++;
        }
    }
    return errors;
}
