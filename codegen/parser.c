/* Recursive-descent parser: tokens → AST. Grammar:
 *
 *   schema   := decl* EOF
 *   decl     := 'prefix' IDENT ';'
 *             | 'record' IDENT '{' field* '}'
 *             | 'root' IDENT ';'
 *   field    := NAME ':' type modifier* ';'      NAME: identifier or keyword
 *   type     := 'string' | 'bool' | 'int' | 'number'
 *             | 'enum' '(' QUOTED (',' QUOTED)* ')'
 *             | 'map' '<' type '>' | 'list' '<' type '>' | IDENT
 *   modifier := 'nullable' | 'optional' | 'nonempty'
 *             | 'maxlen' '(' INT ')' | 'format' '(' IDENT ')'
 *             | 'min' '(' INT ')' | 'max' '(' INT ')'
 *             | 'default' '(' QUOTED | INT | NUMBER | 'true' | 'false' ')'
 *
 * The first syntax error stops the parse. Types nest at most
 * SCHEMAC_MAX_TYPE_DEPTH deep (the recursion must not overflow the stack
 * on a hostile file).
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "lexer.h"
#include "schemac.h"

typedef struct parser {
    const source *src;
    lexer lx;
    token tok;         /* current (not yet consumed) token */
} parser;

static void advance(parser *p)
{
    p->tok = lexer_next(&p->lx);
}

/* Print "expected X, got Y" at the current token. Returns -1. */
static int error_expected(parser *p, const char *what)
{
    const token *t = &p->tok;

    if (t->kind == TOK_ERROR) {
        unsigned char c = (unsigned char)t->start[0];
        if (c >= 0x21 && c < 0x7f)
            source_error(p->src, t->line, t->col, "unexpected character '%c'", c);
        else
            source_error(p->src, t->line, t->col, "unexpected byte 0x%02x", c);
    } else if (t->kind == TOK_IDENT || t->kind == TOK_INT || t->kind == TOK_NUMBER ||
               t->kind == TOK_QUOTED) {
        source_error(p->src, t->line, t->col, "expected %s, got %s '%.*s'", what,
                     token_name(t->kind), (int)t->len, t->start);
    } else {
        source_error(p->src, t->line, t->col, "expected %s, got %s", what,
                     token_name(t->kind));
    }
    return -1;
}

/* Consume a token of `kind` or report what was expected. */
static int expect(parser *p, token_kind kind, const char *what)
{
    if (p->tok.kind != kind)
        return error_expected(p, what);
    advance(p);
    return 0;
}

static char *token_text(const token *t)
{
    return strndup(t->start, t->len);
}

static int oom(void)
{
    fprintf(stderr, "cw-schemac: out of memory\n");
    return -1;
}

static void type_free(type_ref *t)
{
    if (t == NULL)
        return;
    type_free(t->elem);
    free(t->name);
    for (size_t i = 0; i < t->nvalues; i++)
        free(t->values[i]);
    free(t->values);
    free(t->c_name);
    free(t);
}

static void field_free(field *f)
{
    if (f == NULL)
        return;
    free(f->json_name);
    free(f->c_name);
    free(f->format_name);
    free(f->dflt_text);
    type_free(f->type);
    free(f);
}

void schema_free(schema *s)
{
    if (s == NULL)
        return;
    record *r = s->records;
    while (r != NULL) {
        record *next_r = r->next;
        field *f = r->fields;
        while (f != NULL) {
            field *next_f = f->next;
            field_free(f);
            f = next_f;
        }
        free(r->name);
        free(r);
        r = next_r;
    }
    free(s->prefix);
    free(s->root_name);
    memset(s, 0, sizeof *s);
}

/* "list<resource_instance>" etc. into buf. */
void schema_type_text(const type_ref *t, char *buf, size_t cap)
{
    switch (t->kind) {
    case TYPE_STRING:
        snprintf(buf, cap, "string");
        break;
    case TYPE_BOOL:
        snprintf(buf, cap, "bool");
        break;
    case TYPE_INT:
        snprintf(buf, cap, "int");
        break;
    case TYPE_NUMBER:
        snprintf(buf, cap, "number");
        break;
    case TYPE_ENUM: {
        size_t n = (size_t)snprintf(buf, cap, "enum(");
        for (size_t i = 0; i < t->nvalues && n < cap; i++)
            n += (size_t)snprintf(buf + n, cap - n, "%s\"%s\"", i > 0 ? ", " : "", t->values[i]);
        if (n < cap)
            snprintf(buf + n, cap - n, ")");      /* cut when long: only for messages */
        break;
    }
    case TYPE_RECORD:
        snprintf(buf, cap, "%s", t->name);
        break;
    case TYPE_MAP:
    case TYPE_LIST: {
        char inner[200];
        schema_type_text(t->elem, inner, sizeof inner);
        if (snprintf(buf, cap, "%s<%s>", t->kind == TYPE_MAP ? "map" : "list", inner) >= (int)cap)
            buf[cap - 1] = '\0';            /* cut: the text is only for messages */
        break;
    }
    }
}

const type_ref *schema_leaf(const type_ref *t)
{
    while (t->kind == TYPE_MAP || t->kind == TYPE_LIST)
        t = t->elem;
    return t;
}

int schema_is_scalar(type_kind kind)
{
    return kind == TYPE_STRING || kind == TYPE_BOOL || kind == TYPE_INT || kind == TYPE_NUMBER ||
           kind == TYPE_ENUM;
}

void schema_c_base(const type_ref *t, char *buf, size_t cap)
{
    char inner[256];

    switch (t->kind) {
    case TYPE_STRING: snprintf(buf, cap, "str"); break;
    case TYPE_BOOL:   snprintf(buf, cap, "bool"); break;
    case TYPE_INT:    snprintf(buf, cap, "int"); break;
    case TYPE_NUMBER: snprintf(buf, cap, "number"); break;
    case TYPE_ENUM:   snprintf(buf, cap, "%s", t->c_name); break;
    case TYPE_RECORD: snprintf(buf, cap, "%s", t->record->name); break;
    case TYPE_MAP:
    case TYPE_LIST:
        schema_c_base(t->elem, inner, sizeof inner);
        snprintf(buf, cap, "%s_%s", inner, t->kind == TYPE_MAP ? "map" : "list");
        break;
    }
}

/* enum '(' QUOTED (',' QUOTED)* ')', 'enum' already consumed, into t. */
static int parse_enum_values(parser *p, type_ref *t)
{
    if (expect(p, TOK_LPAREN, "'('") != 0)
        return -1;
    for (;;) {
        if (p->tok.kind != TOK_QUOTED)
            return error_expected(p, "a quoted enum value");
        char **values = realloc(t->values, (t->nvalues + 1) * sizeof *values);
        if (values == NULL)
            return oom();
        t->values = values;
        t->values[t->nvalues] = strndup(p->tok.start + 1, p->tok.len - 2);
        if (t->values[t->nvalues] == NULL)
            return oom();
        t->nvalues++;
        advance(p);
        if (p->tok.kind != TOK_COMMA)
            break;
        advance(p);
    }
    return expect(p, TOK_RPAREN, "')'");
}

/* `depth`: 1 for a field's type, +1 inside each map<> / list<>. */
static int parse_type(parser *p, type_ref **out, int depth)
{
    int rc = -1;
    type_ref *t = NULL;

    if (depth > SCHEMAC_MAX_TYPE_DEPTH) {
        source_error(p->src, p->tok.line, p->tok.col, "type nested more than %d levels deep",
                     SCHEMAC_MAX_TYPE_DEPTH);
        return -1;
    }
    t = calloc(1, sizeof *t);
    if (t == NULL)
        return oom();
    t->line = p->tok.line;
    t->col = p->tok.col;
    switch (p->tok.kind) {
    case TOK_STRING:
    case TOK_BOOL:
    case TOK_INT_TYPE:
    case TOK_NUMBER_TYPE:
        t->kind = p->tok.kind == TOK_STRING ? TYPE_STRING
                : p->tok.kind == TOK_BOOL ? TYPE_BOOL
                : p->tok.kind == TOK_INT_TYPE ? TYPE_INT : TYPE_NUMBER;
        advance(p);
        break;
    case TOK_ENUM:
        t->kind = TYPE_ENUM;
        advance(p);
        if (parse_enum_values(p, t) != 0)
            goto out;
        break;
    case TOK_MAP:
    case TOK_LIST:
        t->kind = p->tok.kind == TOK_MAP ? TYPE_MAP : TYPE_LIST;
        advance(p);
        if (expect(p, TOK_LANGLE, "'<'") != 0)
            goto out;
        if (parse_type(p, &t->elem, depth + 1) != 0)
            goto out;
        if (expect(p, TOK_RANGLE, "'>'") != 0)
            goto out;
        break;
    case TOK_IDENT:
        t->kind = TYPE_RECORD;
        t->name = token_text(&p->tok);
        if (t->name == NULL) {
            oom();
            goto out;
        }
        advance(p);
        break;
    default:
        error_expected(p, "a type");
        goto out;
    }
    *out = t;
    t = NULL;
    rc = 0;
out:
    type_free(t);
    return rc;
}

/* An INT token into *v; -1 after an error when it is beyond int64. */
static int int_value(parser *p, const char *what, long long *v)
{
    char text[64];

    if (p->tok.kind != TOK_INT)
        return error_expected(p, "an integer");
    snprintf(text, sizeof text, "%.*s", (int)(p->tok.len < 63 ? p->tok.len : 63), p->tok.start);
    errno = 0;
    *v = strtoll(text, NULL, 10);
    if (errno != 0 || p->tok.len > 63) {
        source_error(p->src, p->tok.line, p->tok.col,
                     "%s must be within [-9223372036854775808, 9223372036854775807]", what);
        return -1;
    }
    return 0;
}

/* '(' literal ')' of default(...) into f. */
static int parse_default(parser *p, field *f)
{
    if (expect(p, TOK_LPAREN, "'('") != 0)
        return -1;
    const token *t = &p->tok;
    if (t->kind == TOK_QUOTED) {
        f->dflt_kind = LIT_STRING;
        f->dflt_text = strndup(t->start + 1, t->len - 2);
    } else if (t->kind == TOK_INT) {
        f->dflt_kind = LIT_INT;
        if (int_value(p, "default", &f->dflt_int) != 0)
            return -1;
        f->dflt_text = token_text(t);
    } else if (t->kind == TOK_NUMBER) {
        f->dflt_kind = LIT_NUMBER;
        f->dflt_text = token_text(t);
        if (f->dflt_text != NULL && !isfinite(strtod(f->dflt_text, NULL))) {
            source_error(p->src, t->line, t->col, "default %s is not a finite number",
                         f->dflt_text);
            return -1;
        }
    } else if (t->kind == TOK_IDENT && t->len == 4 && memcmp(t->start, "true", 4) == 0) {
        f->dflt_kind = LIT_BOOL;
        f->dflt_int = 1;
        f->dflt_text = token_text(t);
    } else if (t->kind == TOK_IDENT && t->len == 5 && memcmp(t->start, "false", 5) == 0) {
        f->dflt_kind = LIT_BOOL;
        f->dflt_text = token_text(t);
    } else {
        return error_expected(p, "a default value (a quoted string, a number, true or false)");
    }
    if (f->dflt_text == NULL)
        return oom();
    advance(p);
    return expect(p, TOK_RPAREN, "')'");
}

/* The modifier at p->tok into *slot (its position); an error when the
 * field has it already. Consumes the keyword. */
static int take_modifier(parser *p, modifier_pos *slot)
{
    if (slot->line != 0) {
        source_error(p->src, p->tok.line, p->tok.col, "duplicate modifier %s",
                     token_name(p->tok.kind));
        return -1;
    }
    *slot = (modifier_pos){ p->tok.line, p->tok.col };
    advance(p);
    return 0;
}

/* maxlen's "(N)": 1 <= N <= 999999999. */
static int parse_maxlen_arg(parser *p, field *f)
{
    if (expect(p, TOK_LPAREN, "'('") != 0)
        return -1;
    if (p->tok.kind != TOK_INT)
        return error_expected(p, "a length in bytes");
    if (p->tok.start[0] == '-' || strspn(p->tok.start, "0") == p->tok.len) {
        source_error(p->src, p->tok.line, p->tok.col, "maxlen must be at least 1");
        return -1;
    }
    if (p->tok.len > 9) {
        source_error(p->src, p->tok.line, p->tok.col, "maxlen must be at most 999999999");
        return -1;
    }
    f->maxlen_value = strtoul(p->tok.start, NULL, 10);
    advance(p);
    return expect(p, TOK_RPAREN, "')'");
}

/* min's or max's "(N)". */
static int parse_bound_arg(parser *p, int is_min, long long *value)
{
    if (expect(p, TOK_LPAREN, "'('") != 0)
        return -1;
    if (int_value(p, is_min ? "min" : "max", value) != 0)
        return -1;
    advance(p);
    return expect(p, TOK_RPAREN, "')'");
}

/* format's "(name)". */
static int parse_format_arg(parser *p, field *f)
{
    if (expect(p, TOK_LPAREN, "'('") != 0)
        return -1;
    if (p->tok.kind != TOK_IDENT)
        return error_expected(p, "a format name");
    f->format_name = token_text(&p->tok);
    if (f->format_name == NULL)
        return oom();
    advance(p);
    return expect(p, TOK_RPAREN, "')'");
}

static int parse_modifiers(parser *p, field *f)
{
    for (;;) {
        switch (p->tok.kind) {
        case TOK_SEMI:
            advance(p);
            return 0;
        case TOK_NULLABLE:
            if (take_modifier(p, &f->nullable) != 0)
                return -1;
            break;
        case TOK_OPTIONAL:
            if (take_modifier(p, &f->optional) != 0)
                return -1;
            break;
        case TOK_NONEMPTY:
            if (take_modifier(p, &f->nonempty) != 0)
                return -1;
            break;
        case TOK_MAXLEN:
            if (take_modifier(p, &f->maxlen) != 0 || parse_maxlen_arg(p, f) != 0)
                return -1;
            break;
        case TOK_MIN:
            if (take_modifier(p, &f->min) != 0 || parse_bound_arg(p, 1, &f->min_value) != 0)
                return -1;
            break;
        case TOK_MAX:
            if (take_modifier(p, &f->max) != 0 || parse_bound_arg(p, 0, &f->max_value) != 0)
                return -1;
            break;
        case TOK_DEFAULT:
            if (take_modifier(p, &f->dflt) != 0 || parse_default(p, f) != 0)
                return -1;
            break;
        case TOK_FORMAT:
            if (take_modifier(p, &f->format) != 0 || parse_format_arg(p, f) != 0)
                return -1;
            break;
        default:
            return error_expected(p, "a modifier or ';'");
        }
    }
}

static int parse_field(parser *p, field ***tail)
{
    int rc = -1;
    field *f = calloc(1, sizeof *f);

    if (f == NULL)
        return oom();
    f->line = p->tok.line;
    f->col = p->tok.col;
    if (p->tok.kind != TOK_IDENT && !token_is_keyword(p->tok.kind)) {
        error_expected(p, "a field name or '}'");
        goto out;
    }
    f->json_name = token_text(&p->tok);
    if (f->json_name == NULL) {
        oom();
        goto out;
    }
    advance(p);
    if (expect(p, TOK_COLON, "':' after the field name") != 0)
        goto out;
    if (parse_type(p, &f->type, 1) != 0)
        goto out;
    if (parse_modifiers(p, f) != 0)
        goto out;
    rc = 0;
out:
    /* Linked in even on failure so schema_free() releases it. */
    **tail = f;
    *tail = &f->next;
    return rc;
}

static int parse_record(parser *p, record ***tail)
{
    record *r = calloc(1, sizeof *r);

    if (r == NULL)
        return oom();
    **tail = r;
    *tail = &r->next;
    r->line = p->tok.line;
    r->col = p->tok.col;
    advance(p);                                   /* 'record' */
    if (p->tok.kind != TOK_IDENT)
        return error_expected(p, "a record name");
    r->name = token_text(&p->tok);
    if (r->name == NULL)
        return oom();
    r->line = p->tok.line;
    r->col = p->tok.col;
    advance(p);
    if (expect(p, TOK_LBRACE, "'{'") != 0)
        return -1;
    field **ftail = &r->fields;
    while (p->tok.kind != TOK_RBRACE) {
        if (parse_field(p, &ftail) != 0)
            return -1;
    }
    advance(p);                                   /* '}' */
    return 0;
}

/* 'prefix' IDENT ';' or 'root' IDENT ';' into *name / *line / *col. */
static int parse_named_decl(parser *p, const char *what, char **name, int *line, int *col)
{
    token kw = p->tok;

    advance(p);
    if (p->tok.kind != TOK_IDENT)
        return error_expected(p, what);
    if (*name != NULL) {
        source_error(p->src, kw.line, kw.col, "duplicate %s declaration (first at line %d)",
                     token_name(kw.kind), *line);
        return -1;
    }
    *name = token_text(&p->tok);
    if (*name == NULL)
        return oom();
    *line = p->tok.line;
    *col = p->tok.col;
    advance(p);
    return expect(p, TOK_SEMI, "';'");
}

int parse_schema(const source *src, schema *out)
{
    parser p;
    record **tail = &out->records;

    memset(out, 0, sizeof *out);
    p.src = src;
    lexer_init(&p.lx, src->text, src->len);
    advance(&p);
    for (;;) {
        int rc;
        switch (p.tok.kind) {
        case TOK_EOF:
            return 0;
        case TOK_PREFIX:
            rc = parse_named_decl(&p, "a prefix", &out->prefix, &out->prefix_line,
                                  &out->prefix_col);
            break;
        case TOK_ROOT:
            rc = parse_named_decl(&p, "a record name", &out->root_name, &out->root_line,
                                  &out->root_col);
            break;
        case TOK_RECORD:
            rc = parse_record(&p, &tail);
            break;
        default:
            rc = error_expected(&p, "'prefix', 'record' or 'root'");
            break;
        }
        if (rc != 0)
            return -1;
    }
}
