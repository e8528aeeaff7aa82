/* The checker: resolves record types and the root, derives C member names,
 * and reports every error it finds (unknown type, duplicate field or
 * record, modifier that does not fit the type, unsupported nesting,
 * recursive records, records the root does not use, missing prefix or
 * root). */
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
        "void", "volatile", "while", "arena_", NULL,
    };
    for (size_t i = 0; words[i] != NULL; i++) {
        if (strcmp(words[i], name) == 0)
            return 1;
    }
    return 0;
}

/* Resolve record names in `t`; check the nesting we can generate. */
static int check_type(const source *src, schema *s, type_ref *t, int top)
{
    char text[256];

    switch (t->kind) {
    case TYPE_STRING:
        return 0;
    case TYPE_RECORD:
        t->record = find_record(s, t->name);
        if (t->record == NULL) {
            source_error(src, t->line, t->col, "unknown type '%s'", t->name);
            return 1;
        }
        return 0;
    case TYPE_MAP:
        if (t->elem->kind != TYPE_STRING) {
            schema_type_text(t, text, sizeof text);
            source_error(src, t->elem->line, t->elem->col,
                         "unsupported type %s: map values must be string", text);
            return 1;
        }
        return 0;
    case TYPE_LIST:
        if (!top || (t->elem->kind != TYPE_STRING && t->elem->kind != TYPE_RECORD)) {
            schema_type_text(t, text, sizeof text);
            source_error(src, t->elem->line, t->elem->col,
                         "unsupported type %s: list elements must be string or a record",
                         text);
            return 1;
        }
        return check_type(src, s, t->elem, 0);
    }
    return 0;
}

/* nonempty / maxlen / format apply to strings: a string field, the values
 * of a map<string> or the elements of a list<string>. */
static int takes_string_modifiers(const type_ref *t)
{
    if (t->kind == TYPE_STRING)
        return 1;
    return (t->kind == TYPE_MAP || t->kind == TYPE_LIST) && t->elem->kind == TYPE_STRING;
}

static int check_modifiers(const source *src, field *f)
{
    int errors = 0;
    char text[256];
    struct { const char *name; modifier_pos pos; } mods[] = {
        { "nonempty", f->nonempty }, { "maxlen", f->maxlen }, { "format", f->format },
    };

    schema_type_text(f->type, text, sizeof text);
    if (!takes_string_modifiers(f->type)) {
        for (size_t i = 0; i < sizeof mods / sizeof mods[0]; i++) {
            if (mods[i].pos.line == 0)
                continue;
            source_error(src, mods[i].pos.line, mods[i].pos.col,
                         "modifier '%s' does not fit type %s", mods[i].name, text);
            errors++;
        }
    }
    if (f->format_name != NULL) {
        if (strcmp(f->format_name, "datetime") == 0) {
            f->format_kind = FORMAT_DATETIME;
        } else {
            source_error(src, f->format.line, f->format.col,
                         "unknown format '%s' (known: datetime)", f->format_name);
            errors++;
        }
    }
    return errors;
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
        int type_errors = check_type(src, s, f->type, 1);
        errors += type_errors;
        if (type_errors == 0) {
            errors += check_modifiers(src, f);
            if (f->type->kind == TYPE_LIST && f->type->elem->kind == TYPE_RECORD)
                f->type->elem->record->used_in_list = 1;
        }
    }
    return errors;
}

/* The record that `t` makes `r` contain, if any. */
static record *contained(const type_ref *t)
{
    if (t->kind == TYPE_RECORD)
        return t->record;
    if (t->kind == TYPE_LIST && t->elem->kind == TYPE_RECORD)
        return t->elem->record;
    return NULL;
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
    for (record *r = s->records; r != NULL; r = r->next) {
        char list_name[512];
        snprintf(list_name, sizeof list_name, "%s_list", r->name);
        record *clash = r->used_in_list ? find_record(s, list_name) : NULL;
        if (clash != NULL) {
            source_error(src, clash->line, clash->col,
                         "record name '%s' clashes with the list type of record '%s'",
                         clash->name, r->name);
            errors++;
        }
    }
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
