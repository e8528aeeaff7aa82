/* cw-schemac import-go (see import_go.h): a Go tokenizer, a scan of the
 * file's top-level declarations, the mapping of the reached types, and the
 * schema text, built in memory and written only when nothing failed. The
 * first error stops the import. */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "import_go.h"

/* ---- a growable text buffer ------------------------------------------- */

/* `failed` is sticky (as ferror is): check it once, after writing. */
typedef struct sbuf {
    char *text;
    size_t len, cap;
    int failed;
} sbuf;

static void sb_vprintf(sbuf *b, const char *fmt, va_list ap)
{
    va_list again;

    if (b->failed)
        return;
    va_copy(again, ap);
    int n = vsnprintf(NULL, 0, fmt, again);
    va_end(again);
    if (n < 0) {
        b->failed = 1;
        return;
    }
    if (b->len + (size_t)n + 1 > b->cap) {
        size_t cap = b->cap == 0 ? 256 : b->cap;
        while (b->len + (size_t)n + 1 > cap)
            cap *= 2;
        char *bigger = realloc(b->text, cap);
        if (bigger == NULL) {
            b->failed = 1;
            return;
        }
        b->text = bigger;
        b->cap = cap;
    }
    vsnprintf(b->text + b->len, (size_t)n + 1, fmt, ap);
    b->len += (size_t)n;
}

static void sb_printf(sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void sb_printf(sbuf *b, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    sb_vprintf(b, fmt, ap);
    va_end(ap);
}

/* The text so far ("" when empty). */
static const char *sb_text(const sbuf *b)
{
    return b->text != NULL ? b->text : "";
}

/* ---- Go tokens -------------------------------------------------------- */

typedef enum gtok_kind {
    GT_EOF,
    GT_IDENT,      /* identifiers and keywords */
    GT_NUMBER,
    GT_STRING,     /* "interpreted", quotes included */
    GT_RAW,        /* `raw`, backquotes included */
    GT_CHAR,       /* 'rune' */
    GT_OP,         /* one punctuation byte, or "++" / "--" */
    GT_SEMI        /* ';' as written, or inserted at a line end (len 0) */
} gtok_kind;

typedef struct gtok {
    gtok_kind kind;
    const char *s;
    size_t len;
    int line;
} gtok;

/* One type declaration of the file. */
enum { DECL_GENERIC = 1, DECL_STRUCT = 2 };
enum { STATE_NEW, STATE_VISITING, STATE_DONE };

/* How many named types deep the mapping goes (a guard for the C stack
 * against a hostile file; real payloads nest a few levels). */
#define MAX_NESTING 256

typedef struct gfield {
    const gtok *name;     /* the Go field name */
    char *key;            /* the JSON key */
    char *decl;           /* "key: TYPE MODIFIERS;" without padding */
    char *go;             /* "Name GoType" for the comment */
    size_t key_len;
} gfield;

typedef struct gdecl {
    const gtok *name;
    size_t type_tok;          /* index of the first token of its type */
    unsigned flags;
    const gtok *marshaler;    /* the MarshalJSON/MarshalText method, if any */
    int state;
    int is_root, needs_root;  /* a root; contains a root (transitively) */
    char *snake;              /* record name, once a struct is built */
    gfield *fields;
    size_t nfields;
} gdecl;

typedef struct gimport {
    const char *name, *path;  /* local name; path without quotes */
    size_t name_len, path_len;
} gimport;

typedef struct importer {
    source src;
    gtok *toks;
    size_t ntoks;
    gdecl *decls;
    size_t ndecls;
    gimport *imports;
    size_t nimports;
    gdecl **order;            /* built records, dependencies first */
    size_t norder, order_cap;
    gdecl *building;          /* the record whose fields are being mapped */
    int nesting;              /* named types being mapped, one inside the other */
    int failed;               /* an error was printed */
} importer;

static int fail(importer *im, int line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Print "path:line: message" (the first error only) and return -1. */
static int fail(importer *im, int line, const char *fmt, ...)
{
    va_list ap;

    if (im->failed)
        return -1;
    im->failed = 1;
    fprintf(stderr, "%s:%d: ", im->src.path, line);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return -1;
}

static int oom(importer *im)
{
    if (!im->failed)
        fprintf(stderr, "cw-schemac: out of memory\n");
    im->failed = 1;
    return -1;
}

/* Grow `*arr` (of `size`-byte items) so one more fits; 0 or -1. */
static int grow(void **arr, size_t n, size_t *cap, size_t size)
{
    if (n < *cap)
        return 0;
    size_t ncap = *cap == 0 ? 16 : *cap * 2;
    void *bigger = realloc(*arr, ncap * size);
    if (bigger == NULL)
        return -1;
    *arr = bigger;
    *cap = ncap;
    return 0;
}

static int tok_is(const gtok *t, const char *text)
{
    size_t n = strlen(text);
    return (t->kind == GT_IDENT || t->kind == GT_OP) && t->len == n && memcmp(t->s, text, n) == 0;
}

/* Keywords after which a line end is no ';' (break, continue,
 * fallthrough and return are). */
static int ident_ends_statement(const char *s, size_t len)
{
    static const char *const kw[] = {
        "case", "chan", "const", "default", "defer", "else", "for", "func", "go", "goto",
        "if", "import", "interface", "map", "package", "range", "select", "struct",
        "switch", "type", "var",
    };
    for (size_t i = 0; i < sizeof kw / sizeof kw[0]; i++) {
        if (strlen(kw[i]) == len && memcmp(kw[i], s, len) == 0)
            return 0;
    }
    return 1;
}

/* Whether Go inserts a ';' after `t` at a line end. */
static int ends_statement(const gtok *t)
{
    switch (t->kind) {
    case GT_IDENT:
        return ident_ends_statement(t->s, t->len);
    case GT_NUMBER:
    case GT_STRING:
    case GT_RAW:
    case GT_CHAR:
        return 1;
    case GT_OP:
        return tok_is(t, ")") || tok_is(t, "]") || tok_is(t, "}") || tok_is(t, "++") ||
               tok_is(t, "--");
    default:
        return 0;
    }
}

static int push_tok(importer *im, size_t *cap, gtok_kind kind, const char *s, size_t len, int line)
{
    if (grow((void **)&im->toks, im->ntoks, cap, sizeof *im->toks) != 0)
        return oom(im);
    im->toks[im->ntoks++] = (gtok){ kind, s, len, line };
    return 0;
}

/* A line end (or the end of the file): Go's automatic semicolon. */
static int line_end(importer *im, size_t *cap, const char *at, int line)
{
    if (im->ntoks > 0 && ends_statement(&im->toks[im->ntoks - 1]))
        return push_tok(im, cap, GT_SEMI, at, 0, line);
    return 0;
}

/* The whole file into im->toks, ending with GT_EOF. */
static int tokenize(importer *im)
{
    const char *p = im->src.text, *end = im->src.text + im->src.len;
    size_t cap = 0;
    int line = 1;

    while (p < end) {
        const char *start = p;
        unsigned char c = (unsigned char)*p;
        int start_line = line;

        if (c == '\n') {
            if (line_end(im, &cap, p, line) != 0)
                return -1;
            line++;
            p++;
        } else if (c == ' ' || c == '\t' || c == '\r') {
            p++;
        } else if (c == '/' && p + 1 < end && p[1] == '/') {
            while (p < end && *p != '\n')
                p++;
        } else if (c == '/' && p + 1 < end && p[1] == '*') {
            int newline = 0;
            for (p += 2; p < end && !(p[0] == '*' && p + 1 < end && p[1] == '/'); p++) {
                if (*p == '\n') {
                    newline = 1;
                    line++;
                }
            }
            if (p >= end)
                return fail(im, start_line, "comment not terminated");
            p += 2;
            /* A comment across lines counts as a line end. */
            if (newline && line_end(im, &cap, start, start_line) != 0)
                return -1;
        } else if (isalpha(c) || c == '_') {
            while (p < end && (isalnum((unsigned char)*p) || *p == '_'))
                p++;
            if (push_tok(im, &cap, GT_IDENT, start, (size_t)(p - start), line) != 0)
                return -1;
        } else if (isdigit(c) || (c == '.' && p + 1 < end && isdigit((unsigned char)p[1]))) {
            while (p < end && (isalnum((unsigned char)*p) || *p == '_' || *p == '.'))
                p++;
            if (push_tok(im, &cap, GT_NUMBER, start, (size_t)(p - start), line) != 0)
                return -1;
        } else if (c == '`') {
            for (p++; p < end && *p != '`'; p++) {
                if (*p == '\n')
                    line++;
            }
            if (p >= end)
                return fail(im, start_line, "raw string not terminated");
            p++;
            if (push_tok(im, &cap, GT_RAW, start, (size_t)(p - start), start_line) != 0)
                return -1;
        } else if (c == '"' || c == '\'') {
            for (p++; p < end && *p != (char)c && *p != '\n'; p++) {
                if (*p == '\\' && p + 1 < end && p[1] != '\n')
                    p++;
            }
            if (p >= end || *p == '\n')
                return fail(im, line, c == '"' ? "string not terminated" : "rune literal not terminated");
            p++;
            if (push_tok(im, &cap, c == '"' ? GT_STRING : GT_CHAR, start, (size_t)(p - start), line) != 0)
                return -1;
        } else if (c >= 0x80) {
            return fail(im, line, "non-ASCII byte 0x%02x outside strings and comments "
                        "(non-ASCII identifiers are not supported)", c);
        } else if (c < 0x20 || c == 0x7f) {
            return fail(im, line, "unexpected byte 0x%02x", c);
        } else if (c == ';') {
            p++;
            if (push_tok(im, &cap, GT_SEMI, start, 1, line) != 0)
                return -1;
        } else {
            size_t n = (c == '+' || c == '-') && p + 1 < end && p[1] == (char)c ? 2 : 1;
            p += n;
            if (push_tok(im, &cap, GT_OP, start, n, line) != 0)
                return -1;
        }
    }
    if (line_end(im, &cap, end, line) != 0)
        return -1;
    return push_tok(im, &cap, GT_EOF, end, 0, line);
}

/* How a token reads in a message. */
static void tok_describe(const gtok *t, char *buf, size_t cap)
{
    if (t->kind == GT_EOF)
        snprintf(buf, cap, "end of file");
    else if (t->kind == GT_SEMI && t->len == 0)
        snprintf(buf, cap, "end of line");
    else
        snprintf(buf, cap, "'%.*s'", (int)(t->len > 32 ? 32 : t->len), t->s);
}

static int expected(importer *im, size_t i, const char *what)
{
    char got[48];

    tok_describe(&im->toks[i], got, sizeof got);
    return fail(im, im->toks[i].line, "expected %s, got %s", what, got);
}

/* ---- the file's declarations ----------------------------------------- */

/* From `*pi`, skip to the ';' (or unmatched closer, or end of file) that
 * ends the current declaration, brackets balanced. */
static int skip_decl(importer *im, size_t *pi)
{
    size_t i = *pi;
    int depth = 0;

    for (;; i++) {
        const gtok *t = &im->toks[i];
        if (t->kind == GT_EOF) {
            if (depth > 0)
                return fail(im, t->line, "unexpected end of file (unbalanced brackets)");
            break;
        }
        if (depth == 0 && t->kind == GT_SEMI)
            break;
        if (tok_is(t, "(") || tok_is(t, "[") || tok_is(t, "{")) {
            depth++;
        } else if (tok_is(t, ")") || tok_is(t, "]") || tok_is(t, "}")) {
            if (depth == 0)
                break;
            depth--;
        }
    }
    *pi = i;
    return 0;
}

/* After one spec of a declaration: ';' (consumed), or the group's ')' /
 * the end of the file (left). */
static int end_spec(importer *im, size_t *pi, int grouped)
{
    const gtok *t = &im->toks[*pi];

    if (t->kind == GT_SEMI) {
        (*pi)++;
        return 0;
    }
    if ((grouped && tok_is(t, ")")) || (!grouped && t->kind == GT_EOF))
        return 0;
    return expected(im, *pi, grouped ? "';' or ')'" : "';' or a new line");
}

static gdecl *find_decl(const importer *im, const char *s, size_t len)
{
    for (size_t i = 0; i < im->ndecls; i++) {
        if (im->decls[i].name->len == len && memcmp(im->decls[i].name->s, s, len) == 0)
            return &im->decls[i];
    }
    return NULL;
}

/* `import "path"` or `import name "path"`. */
static int import_spec(importer *im, size_t *pi, size_t *cap)
{
    size_t i = *pi;
    const gtok *name = NULL;

    if (im->toks[i].kind == GT_IDENT || tok_is(&im->toks[i], "."))
        name = &im->toks[i++];
    const gtok *path = &im->toks[i];
    if (path->kind != GT_STRING && path->kind != GT_RAW)
        return expected(im, i, "an import path");
    i++;
    if (grow((void **)&im->imports, im->nimports, cap, sizeof *im->imports) != 0)
        return oom(im);
    gimport *g = &im->imports[im->nimports++];
    g->path = path->s + 1;
    g->path_len = path->len - 2;
    if (name != NULL) {
        g->name = name->s;
        g->name_len = name->len;
    } else {
        size_t k = g->path_len;
        while (k > 0 && g->path[k - 1] != '/')
            k--;
        g->name = g->path + k;   /* "k8s.io/api/core/v1" → "v1" */
        g->name_len = g->path_len - k;
    }
    *pi = i;
    return 0;
}

/* `Name [TypeParams] [=] Type`: remembered, then skipped. */
static int type_spec(importer *im, size_t *pi, size_t *cap)
{
    size_t i = *pi;
    gdecl d = { 0 };

    if (im->toks[i].kind != GT_IDENT)
        return expected(im, i, "a type name");
    d.name = &im->toks[i++];
    /* `Name[T any]` declares a generic type; `Name [N]T` an array. */
    if (tok_is(&im->toks[i], "[") && im->toks[i + 1].kind == GT_IDENT &&
        !tok_is(&im->toks[i + 2], "]")) {
        d.flags |= DECL_GENERIC;
        i++;
        if (skip_decl(im, &i) != 0)
            return -1;
        if (!tok_is(&im->toks[i], "]"))
            return expected(im, i, "']'");
        i++;
    }
    if (tok_is(&im->toks[i], "=")) {
        i++;   /* an alias maps as what it names */
    } else if (tok_is(&im->toks[i], "struct")) {
        d.flags |= DECL_STRUCT;
    }
    d.type_tok = i;
    if (skip_decl(im, &i) != 0)
        return -1;
    if (i == d.type_tok)
        return expected(im, i, "a type");
    if (find_decl(im, d.name->s, d.name->len) == NULL) {
        if (grow((void **)&im->decls, im->ndecls, cap, sizeof *im->decls) != 0)
            return oom(im);
        im->decls[im->ndecls++] = d;
    }
    *pi = i;
    return 0;
}

/* `func (r *T) MarshalJSON...`: T's JSON form is its own. Returns the
 * receiver type name token, or NULL when this is no such method. */
static const gtok *marshaler_receiver(const importer *im, size_t i, const gtok **method)
{
    if (!tok_is(&im->toks[i], "("))
        return NULL;
    i++;
    if (im->toks[i].kind == GT_IDENT && (im->toks[i + 1].kind == GT_IDENT || tok_is(&im->toks[i + 1], "*")))
        i++;   /* the receiver's name */
    if (tok_is(&im->toks[i], "*"))
        i++;
    if (im->toks[i].kind != GT_IDENT)
        return NULL;
    const gtok *type = &im->toks[i];
    while (im->toks[i].kind != GT_EOF && !tok_is(&im->toks[i], ")"))
        i++;   /* type parameters of a generic receiver */
    if (im->toks[i].kind == GT_EOF)
        return NULL;
    const gtok *name = &im->toks[i + 1];
    if (tok_is(name, "MarshalJSON") || tok_is(name, "MarshalText")) {
        *method = name;
        return type;
    }
    return NULL;
}

/* The top level: package, imports, types (remembered), funcs (their
 * marshaler methods noted), vars and consts (skipped). */
static int scan_file(importer *im)
{
    size_t i = 0, decl_cap = 0, import_cap = 0;
    const gtok **marsh = NULL, **marsh_method = NULL;
    size_t nmarsh = 0, marsh_cap = 0, method_cap = 0;
    int rc = -1;

    while (im->toks[i].kind == GT_SEMI)
        i++;
    if (!tok_is(&im->toks[i], "package"))
        goto expected_package;
    i++;
    if (im->toks[i].kind != GT_IDENT) {
        expected(im, i, "a package name");
        goto out;
    }
    i++;
    for (;;) {
        const gtok *t = &im->toks[i];
        if (t->kind == GT_EOF)
            break;
        if (t->kind == GT_SEMI) {
            i++;
            continue;
        }
        if (tok_is(t, "import") || tok_is(t, "type")) {
            int is_type = tok_is(t, "type");
            i++;
            int grouped = tok_is(&im->toks[i], "(");
            if (grouped)
                i++;
            do {
                if (grouped && im->toks[i].kind == GT_SEMI) {
                    i++;
                    continue;
                }
                if (grouped && tok_is(&im->toks[i], ")"))
                    break;
                if ((is_type ? type_spec(im, &i, &decl_cap) : import_spec(im, &i, &import_cap)) != 0)
                    goto out;
                if (end_spec(im, &i, grouped) != 0)
                    goto out;
            } while (grouped);
            if (grouped) {
                i++;   /* ')' */
                if (end_spec(im, &i, 0) != 0)
                    goto out;
            }
        } else if (tok_is(t, "func") || tok_is(t, "var") || tok_is(t, "const")) {
            const gtok *method = NULL, *recv = NULL;
            if (tok_is(t, "func"))
                recv = marshaler_receiver(im, i + 1, &method);
            if (recv != NULL) {
                if (grow((void **)&marsh, nmarsh, &marsh_cap, sizeof *marsh) != 0 ||
                    grow((void **)&marsh_method, nmarsh, &method_cap, sizeof *marsh_method) != 0) {
                    oom(im);
                    goto out;
                }
                marsh[nmarsh] = recv;
                marsh_method[nmarsh++] = method;
            }
            i++;
            if (skip_decl(im, &i) != 0)
                goto out;
            if (end_spec(im, &i, 0) != 0)
                goto out;
        } else {
            expected(im, i, "a declaration (import, type, func, var or const)");
            goto out;
        }
    }
    for (size_t k = 0; k < nmarsh; k++) {
        gdecl *d = find_decl(im, marsh[k]->s, marsh[k]->len);
        if (d != NULL && d->marshaler == NULL)
            d->marshaler = marsh_method[k];
    }
    rc = 0;
    goto out;
expected_package:
    expected(im, i, "'package'");
out:
    free(marsh);
    free(marsh_method);
    return rc;
}

/* ---- mapping Go types ------------------------------------------------- */

/* One Go type as the schema writes it. */
typedef struct gtype {
    sbuf text;               /* "list<resource_instance>" */
    int nullable;            /* the field itself may be null */
    int is_uint8;            /* uint8 (or a type of that kind): []T is base64 */
    int is_string;           /* string (or a type of that kind): a map key */
    const char *min, *max;   /* bounds of a sized integer */
    const char *format;
} gtype;

static void gtype_free(gtype *g)
{
    free(g->text.text);
    memset(g, 0, sizeof *g);
}

/* The JSON scalars of Go's predeclared types. */
static const struct builtin {
    const char *name, *schema, *min, *max;
} builtins[] = {
    { "string", "string", NULL, NULL },
    { "bool", "bool", NULL, NULL },
    { "int", "int", NULL, NULL },
    { "int8", "int", "-128", "127" },
    { "int16", "int", "-32768", "32767" },
    { "int32", "int", "-2147483648", "2147483647" },
    { "rune", "int", "-2147483648", "2147483647" },
    { "int64", "int", NULL, NULL },
    { "uint", "int", "0", NULL },
    { "uint8", "int", "0", "255" },
    { "byte", "int", "0", "255" },
    { "uint16", "int", "0", "65535" },
    { "uint32", "int", "0", "4294967295" },
    { "uint64", "int", "0", NULL },
    { "uintptr", "int", "0", NULL },
    { "float32", "number", NULL, NULL },
    { "float64", "number", NULL, NULL },
};

static int build_record(importer *im, gdecl *d);
static int map_type(importer *im, size_t *pi, int depth, gtype *g);

/* The Go text of the type at token `i`, as written (up to the end of
 * its line), for a message: *len bytes from the returned pointer. */
static const char *type_text(const importer *im, size_t i, int *len)
{
    size_t j = i;
    int depth = 0;

    for (;; j++) {
        const gtok *t = &im->toks[j];
        if (t->kind == GT_EOF || (depth == 0 && (t->kind == GT_SEMI || t->kind == GT_STRING ||
                                                 t->kind == GT_RAW || tok_is(t, ","))))
            break;
        if (tok_is(t, "(") || tok_is(t, "[") || tok_is(t, "{")) {
            depth++;
        } else if (tok_is(t, ")") || tok_is(t, "]") || tok_is(t, "}")) {
            if (depth == 0)
                break;
            depth--;
        }
    }
    const char *start = im->toks[i].s;
    const char *end = j > i ? im->toks[j - 1].s + im->toks[j - 1].len : start;
    const char *nl = memchr(start, '\n', (size_t)(end - start));
    *len = (int)((nl != NULL ? nl : end) - start);
    return start;
}

/* The element of []T or the value of map[K]T folded into `g`: the
 * bounds and format apply to the values, a nil inside is not said. */
static void wrap(gtype *g, const char *kind, gtype *inner, int depth)
{
    sb_printf(&g->text, "%s<%s>", kind, sb_text(&inner->text));
    if (inner->text.failed)
        g->text.failed = 1;
    g->min = inner->min;
    g->max = inner->max;
    g->format = inner->format;
    if (depth == 0)
        g->nullable = 1;
}

/* 1 (after an error) when `d` encodes itself (MarshalJSON/MarshalText):
 * its JSON shape is not in its declaration. */
static int has_marshaler(importer *im, const gdecl *d, int line)
{
    if (d->marshaler == NULL)
        return 0;
    fail(im, line, "type %.*s has a %.*s method (line %d): its JSON form is its own",
         (int)d->name->len, d->name->s, (int)d->marshaler->len, d->marshaler->s, d->marshaler->line);
    return 1;
}

/* A type declared in the file, used at line `line`. */
static int map_named(importer *im, gdecl *d, int line, int depth, gtype *g)
{
    int n = (int)d->name->len;
    const char *s = d->name->s;

    if (d->flags & DECL_GENERIC)
        return fail(im, line, "generic type %.*s is not supported", n, s);
    if (has_marshaler(im, d, line))
        return -1;
    if (d->state == STATE_VISITING)
        return fail(im, line, "type %.*s contains itself (a schema record cannot)", n, s);
    if (im->nesting >= MAX_NESTING)
        return fail(im, line, "types nested more than %d deep", MAX_NESTING);
    im->nesting++;
    int rc = -1;
    if (d->flags & DECL_STRUCT) {
        if (d->state == STATE_NEW && build_record(im, d) != 0)
            goto out;
        sb_printf(&g->text, "%s", d->snake);
        if (d->is_root || d->needs_root)
            im->building->needs_root = 1;
    } else {
        /* A defined or alias type: JSON sees what it is made of. */
        size_t j = d->type_tok;
        d->state = STATE_VISITING;
        if (map_type(im, &j, depth, g) != 0)
            goto out;
        d->state = STATE_NEW;
    }
    rc = 0;
out:
    im->nesting--;
    return rc;
}

/* A slice "[]T" at i (the "["): a list, or one base64 string for []byte.
 * i is advanced past it. */
static int map_slice(importer *im, size_t *i, int depth, gtype *g, const char *text, int text_len)
{
    const gtok *t = &im->toks[*i];
    if (!tok_is(&im->toks[*i + 1], "]"))
        return fail(im, t->line, "array type %.*s is not supported (only slices)", text_len, text);
    gtype elem = { 0 };
    *i += 2;
    int rc = map_type(im, i, depth + 1, &elem);
    if (rc == 0 && elem.is_uint8) {
        sb_printf(&g->text, "string");   /* []byte: one base64 string */
        if (depth == 0)
            g->nullable = 1;
    } else if (rc == 0) {
        wrap(g, "list", &elem, depth);
    }
    gtype_free(&elem);
    return rc != 0 ? -1 : 0;
}

/* A map "map[string]T" at i (the "map"); only string keys. */
static int map_map(importer *im, size_t *i, int depth, gtype *g, const char *text, int text_len)
{
    const gtok *t = &im->toks[*i];
    gtype key = { 0 }, value = { 0 };
    size_t key_tok = *i + 2;
    int rc = -1;
    *i = key_tok;
    if (map_type(im, i, depth + 1, &key) != 0)
        goto out;
    if (!key.is_string || key.nullable) {
        fail(im, t->line, "map key type %.*s of %.*s is not supported (only string keys)",
             (int)(im->toks[*i].s - im->toks[key_tok].s), im->toks[key_tok].s, text_len, text);
        goto out;
    }
    if (!tok_is(&im->toks[*i], "]")) {
        expected(im, *i, "']'");
        goto out;
    }
    (*i)++;
    if (map_type(im, i, depth + 1, &value) != 0)
        goto out;
    wrap(g, "map", &value, depth);
    rc = 0;
out:
    gtype_free(&key);
    gtype_free(&value);
    return rc;
}

/* A qualified name "pkg.Name" at i: only time.Time (an RFC 3339 string). */
static int map_qualified(importer *im, size_t *i, gtype *g)
{
    const gtok *t = &im->toks[*i];
    const gtok *name = &im->toks[*i + 2];
    const gimport *imp = NULL;
    for (size_t k = 0; k < im->nimports; k++) {
        if (im->imports[k].name_len == t->len && memcmp(im->imports[k].name, t->s, t->len) == 0)
            imp = &im->imports[k];
    }
    if (imp == NULL || imp->path_len != 4 || memcmp(imp->path, "time", 4) != 0 ||
        !tok_is(name, "Time"))
        return fail(im, t->line, "unknown type %.*s.%.*s (only time.Time from other packages)",
                    (int)t->len, t->s, (int)name->len, name->s);
    sb_printf(&g->text, "string");
    g->format = "rfc3339";
    *i += 3;
    return 0;
}

/* A name at i: a type declared in the file, or a Go builtin. */
static int map_ident(importer *im, size_t *i, int depth, gtype *g, const char *text, int text_len)
{
    const gtok *t = &im->toks[*i];
    gdecl *d = find_decl(im, t->s, t->len);
    if (tok_is(&im->toks[*i + 1], "["))
        return fail(im, t->line, "generic type %.*s is not supported", text_len, text);
    if (d != NULL) {
        if (map_named(im, d, t->line, depth, g) != 0)
            return -1;
    } else {
        const struct builtin *b = NULL;
        for (size_t k = 0; k < sizeof builtins / sizeof builtins[0]; k++) {
            if (tok_is(t, builtins[k].name))
                b = &builtins[k];
        }
        if (b == NULL)
            return fail(im, t->line, "unknown type %.*s", (int)t->len, t->s);
        sb_printf(&g->text, "%s", b->schema);
        g->min = b->min;
        g->max = b->max;
        g->is_uint8 = strcmp(b->name, "uint8") == 0 || strcmp(b->name, "byte") == 0;
        g->is_string = strcmp(b->name, "string") == 0;
    }
    (*i)++;
    return 0;
}

/* The type at `*pi` (advanced past it) into `g`; `depth` counts the
 * lists and maps around it. */
static int map_type(importer *im, size_t *pi, int depth, gtype *g)
{
    size_t i = *pi;
    int pointer = 0, rc;

    if (depth > SCHEMAC_MAX_TYPE_DEPTH)
        return fail(im, im->toks[i].line, "type nested more than %d levels deep", SCHEMAC_MAX_TYPE_DEPTH);
    for (; tok_is(&im->toks[i], "*"); i++) {
        pointer = 1;
        if (depth == 0)
            g->nullable = 1;
    }
    const gtok *t = &im->toks[i];
    int text_len;
    const char *text = type_text(im, i, &text_len);
    if (tok_is(t, "["))
        rc = map_slice(im, &i, depth, g, text, text_len);
    else if (tok_is(t, "map") && tok_is(&im->toks[i + 1], "["))
        rc = map_map(im, &i, depth, g, text, text_len);
    else if (tok_is(t, "chan") || tok_is(t, "<"))
        return fail(im, t->line, "channel type %.*s is not supported", text_len, text);
    else if (tok_is(t, "func"))
        return fail(im, t->line, "func type %.*s is not supported", text_len, text);
    else if (tok_is(t, "interface") || tok_is(t, "any") || tok_is(t, "error"))
        return fail(im, t->line, "interface type %.*s is not supported", text_len, text);
    else if (tok_is(t, "struct"))
        return fail(im, t->line, "anonymous struct type %.*s is not supported (declare it as a named type)",
                    text_len, text);
    else if (t->kind == GT_IDENT && tok_is(&im->toks[i + 1], ".") && im->toks[i + 2].kind == GT_IDENT)
        rc = map_qualified(im, &i, g);
    else if (t->kind == GT_IDENT)
        rc = map_ident(im, &i, depth, g, text, text_len);
    else
        return expected(im, i, "a type");
    if (rc != 0)
        return -1;
    if (pointer) {
        g->is_uint8 = 0;   /* []*byte is a list of numbers */
        g->is_string = 0;
    }
    if (g->text.failed)
        return oom(im);
    *pi = i;
    return 0;
}

/* ---- struct fields ---------------------------------------------------- */

/* The contents of a Go string literal (raw or interpreted) into `out`
 * (malloc'd). Returns 0, or -1 after an error. */
static int unquote(importer *im, const gtok *t, char **out)
{
    char *s = malloc(t->len + 1), *o = s;

    if (s == NULL)
        return oom(im);
    for (size_t k = 1; k + 1 < t->len; k++) {
        char c = t->s[k];
        if (t->kind == GT_STRING && c == '\\') {
            char e = t->s[++k];
            switch (e) {
            case '\\': case '"': case '\'': c = e; break;
            case 'n': c = '\n'; break;
            case 't': c = '\t'; break;
            default:
                free(s);
                return fail(im, t->line, "escape \\%c in a struct tag is not supported", e);
            }
        }
        if (t->kind != GT_RAW || c != '\r')
            *o++ = c;
    }
    *o = '\0';
    *out = s;
    return 0;
}

/* The value under `key` in a struct tag, as reflect.StructTag.Lookup
 * reads it: *value (malloc'd) or NULL when absent or malformed. */
static int tag_lookup(importer *im, int line, const char *tag, const char *key, char **value)
{
    size_t klen = strlen(key);

    *value = NULL;
    while (*tag != '\0') {
        while (*tag == ' ')
            tag++;
        size_t n = 0;
        while (tag[n] > ' ' && tag[n] != ':' && tag[n] != '"' && tag[n] != 0x7f)
            n++;
        if (n == 0 || tag[n] != ':' || tag[n + 1] != '"')
            break;
        const char *name = tag;
        tag += n + 1;
        size_t q = 1;
        while (tag[q] != '\0' && tag[q] != '"') {
            if (tag[q] == '\\' && tag[q + 1] != '\0')
                q++;
            q++;
        }
        if (tag[q] == '\0')
            break;
        if (n == klen && memcmp(name, key, n) == 0) {
            gtok t = { GT_STRING, tag, q + 1, line };
            return unquote(im, &t, value);
        }
        tag += q + 1;
    }
    return 0;
}

/* A JSON name encoding/json accepts from a tag (isValidTag). */
static int valid_json_name(const char *s, size_t n)
{
    if (n == 0)
        return 0;
    for (size_t k = 0; k < n; k++) {
        if (!isalnum((unsigned char)s[k]) && strchr("!#$%&()*+-./:;<=>?@[]^_{|}~ ", s[k]) == NULL)
            return 0;
    }
    return 1;
}

static int schema_ident(const char *s)
{
    if (!isalpha((unsigned char)s[0]) && s[0] != '_')
        return 0;
    for (; *s != '\0'; s++) {
        if (!isalnum((unsigned char)*s) && *s != '_')
            return 0;
    }
    return 1;
}

/* What the json tag says of a field: skip it, its key (malloc'd), and
 * whether it may be absent. */
typedef struct json_tag {
    int skip, optional;
    char *key;
} json_tag;

static int read_json_tag(importer *im, const gtok *name, const gtok *tag, json_tag *out)
{
    char *raw = NULL, *value = NULL;
    int rc = -1;

    memset(out, 0, sizeof *out);
    if (tag != NULL && unquote(im, tag, &raw) != 0)
        goto out;
    if (raw != NULL && tag_lookup(im, tag->line, raw, "json", &value) != 0)
        goto out;
    if (value != NULL && strcmp(value, "-") == 0) {
        out->skip = 1;
        rc = 0;
        goto out;
    }
    const char *comma = value != NULL ? strchr(value, ',') : NULL;
    size_t n = value == NULL ? 0 : comma != NULL ? (size_t)(comma - value) : strlen(value);
    for (const char *opt = comma; opt != NULL; opt = strchr(opt + 1, ',')) {
        const char *next = strchr(opt + 1, ',');
        size_t len = next != NULL ? (size_t)(next - opt - 1) : strlen(opt + 1);
        if ((len == 9 && memcmp(opt + 1, "omitempty", 9) == 0) ||
            (len == 8 && memcmp(opt + 1, "omitzero", 8) == 0))
            out->optional = 1;
        else if (len == 6 && memcmp(opt + 1, "string", 6) == 0) {
            fail(im, tag->line, "json option 'string' of field %.*s is not supported",
                 (int)name->len, name->s);
            goto out;
        }
    }
    if (valid_json_name(value, n))
        out->key = strndup(value, n);
    else
        out->key = strndup(name->s, name->len);
    if (out->key == NULL) {
        oom(im);
        goto out;
    }
    if (!schema_ident(out->key)) {
        fail(im, name->line, "JSON key '%s' of field %.*s is not a schema field name "
             "([A-Za-z_][A-Za-z0-9_]*)", out->key, (int)name->len, name->s);
        free(out->key);
        out->key = NULL;
        goto out;
    }
    rc = 0;
out:
    free(raw);
    free(value);
    return rc;
}

static int add_field(importer *im, gdecl *d, size_t *cap, const gtok *name, json_tag *tag,
                     const gtype *g, const char *go_type, int go_len)
{
    sbuf decl = { 0 }, go = { 0 };

    for (size_t k = 0; k < d->nfields; k++) {
        if (strcmp(d->fields[k].key, tag->key) == 0)
            return fail(im, name->line, "JSON key '%s' of field %.*s is already used by field %.*s (line %d)",
                        tag->key, (int)name->len, name->s, (int)d->fields[k].name->len,
                        d->fields[k].name->s, d->fields[k].name->line);
    }
    sb_printf(&decl, "%s: %s", tag->key, sb_text(&g->text));
    if (g->nullable)
        sb_printf(&decl, " nullable");
    if (tag->optional)
        sb_printf(&decl, " optional");
    if (g->min != NULL)
        sb_printf(&decl, " min(%s)", g->min);
    if (g->max != NULL)
        sb_printf(&decl, " max(%s)", g->max);
    if (g->format != NULL)
        sb_printf(&decl, " format(%s)", g->format);
    sb_printf(&decl, ";");
    sb_printf(&go, "%.*s %.*s", (int)name->len, name->s, go_len, go_type);
    if (decl.failed || go.failed || grow((void **)&d->fields, d->nfields, cap, sizeof *d->fields) != 0) {
        free(decl.text);
        free(go.text);
        return oom(im);
    }
    d->fields[d->nfields++] = (gfield){ name, tag->key, decl.text, go.text, strlen(tag->key) };
    tag->key = NULL;
    return 0;
}

/* The schema language's words, today's and v2's: a record cannot be
 * named by one. */
static int schema_keyword(const char *name)
{
    static const char *const words[] = {
        "prefix", "record", "root", "string", "bool", "int", "number", "enum", "map", "list",
        "nullable", "optional", "default", "nonempty", "maxlen", "min", "max", "format",
    };
    for (size_t k = 0; k < sizeof words / sizeof words[0]; k++) {
        if (strcmp(words[k], name) == 0)
            return 1;
    }
    return 0;
}

/* One field declaration at `*pi` (names, type, tag) into d->fields. */
static int struct_field(importer *im, gdecl *d, size_t *pi, size_t *cap)
{
    size_t i = *pi, first_name = i, nnames = 0;
    int rc = -1;
    gtype g = { 0 };
    json_tag tag = { 0 };

    /* Names, unless the field is embedded: `T`, `*T`, `pkg.T`. */
    const gtok *t = &im->toks[i], *next = &im->toks[i + 1];
    int embedded = tok_is(t, "*") ||
                   (t->kind == GT_IDENT && (next->kind == GT_SEMI || next->kind == GT_STRING ||
                                            next->kind == GT_RAW || tok_is(next, "}") ||
                                            tok_is(next, ".")));
    if (!embedded) {
        for (;;) {
            if (im->toks[i].kind != GT_IDENT)
                return expected(im, i, "a field name");
            nnames++;
            i++;
            if (!tok_is(&im->toks[i], ","))
                break;
            i++;
        }
    }
    size_t type_tok = i;
    int depth = 0;
    for (;; i++) {
        const gtok *u = &im->toks[i];
        if (u->kind == GT_EOF)
            return expected(im, i, "'}'");
        if (depth == 0 && (u->kind == GT_SEMI || u->kind == GT_STRING || u->kind == GT_RAW ||
                           tok_is(u, "}")))
            break;
        if (tok_is(u, "(") || tok_is(u, "[") || tok_is(u, "{"))
            depth++;
        else if (tok_is(u, ")") || tok_is(u, "]") || tok_is(u, "}"))
            depth--;
    }
    if (i == type_tok)
        return expected(im, i, "a type");
    size_t type_end = i;
    const char *go_type = im->toks[type_tok].s;
    int go_len = (int)(im->toks[i - 1].s + im->toks[i - 1].len - go_type);
    const gtok *tag_tok = NULL;
    if (im->toks[i].kind == GT_STRING || im->toks[i].kind == GT_RAW)
        tag_tok = &im->toks[i++];
    if (im->toks[i].kind == GT_SEMI)
        i++;
    else if (!tok_is(&im->toks[i], "}"))
        return expected(im, i, "';' or '}' after the field");

    if (embedded) {
        if (read_json_tag(im, &im->toks[type_tok], tag_tok, &tag) != 0)
            goto out;
        if (!tag.skip) {
            fail(im, im->toks[type_tok].line, "embedded field %.*s is not supported", go_len, go_type);
            goto out;
        }
        rc = 0;
        goto out;
    }
    int mapped = 0;
    for (size_t k = 0; k < nnames; k++) {
        const gtok *name = &im->toks[first_name + 2 * k];
        if (!isupper((unsigned char)name->s[0]))
            continue;   /* unexported: encoding/json does not see it */
        free(tag.key);
        if (read_json_tag(im, name, tag_tok, &tag) != 0)
            goto out;
        if (tag.skip)
            continue;
        if (!mapped) {
            size_t j = type_tok;
            if (map_type(im, &j, 0, &g) != 0)
                goto out;
            if (j != type_end) {
                expected(im, j, "the end of the field type");
                goto out;
            }
            mapped = 1;
        }
        if (add_field(im, d, cap, name, &tag, &g, go_type, go_len) != 0)
            goto out;
    }
    rc = 0;
out:
    free(tag.key);
    gtype_free(&g);
    if (rc == 0)
        *pi = i;
    return rc;
}

/* The record of struct `d`: its fields mapped (building the records they
 * use first), then `d` appended to im->order. */
static int build_record(importer *im, gdecl *d)
{
    size_t i = d->type_tok + 1, cap = 0;
    gdecl *outer = im->building;

    d->state = STATE_VISITING;
    if (!tok_is(&im->toks[i], "{"))
        return expected(im, i, "'{'");
    im->building = d;
    for (i++;;) {
        if (im->toks[i].kind == GT_SEMI) {
            i++;
            continue;
        }
        if (tok_is(&im->toks[i], "}"))
            break;
        if (struct_field(im, d, &i, &cap) != 0)
            return -1;
    }
    im->building = outer;
    if (d->nfields == 0)
        return fail(im, d->name->line, "struct %.*s has no field encoding/json would send",
                    (int)d->name->len, d->name->s);
    d->snake = schemac_snake_case(d->name->s, d->name->len);
    if (d->snake == NULL)
        return oom(im);
    if (schema_keyword(d->snake))
        return fail(im, d->name->line, "type %.*s would become record '%s', a word of the schema language",
                    (int)d->name->len, d->name->s, d->snake);
    for (size_t k = 0; k < im->norder; k++) {
        if (strcmp(im->order[k]->snake, d->snake) == 0)
            return fail(im, d->name->line, "types %.*s and %.*s both become record '%s'",
                        (int)im->order[k]->name->len, im->order[k]->name->s,
                        (int)d->name->len, d->name->s, d->snake);
    }
    if (outer != NULL && d->needs_root)
        outer->needs_root = 1;
    if (grow((void **)&im->order, im->norder, &im->order_cap, sizeof *im->order) != 0)
        return oom(im);
    im->order[im->norder++] = d;
    d->state = STATE_DONE;
    return 0;
}

/* ---- output ----------------------------------------------------------- */

static void println(sbuf *out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* One line of the schema: the formatted text and a newline. */
static void println(sbuf *out, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    sb_vprintf(out, fmt, ap);
    va_end(ap);
    sb_printf(out, "\n");
}

/* `record name { key: TYPE MODS;   # Go: Name Type }`, keys and comments
 * aligned. */
static void emit_record(sbuf *out, const gdecl *d)
{
    size_t key_w = 0, decl_w = 0;

    for (size_t k = 0; k < d->nfields; k++) {
        if (d->fields[k].key_len > key_w)
            key_w = d->fields[k].key_len;
    }
    for (size_t k = 0; k < d->nfields; k++) {
        size_t w = strlen(d->fields[k].decl) + (key_w - d->fields[k].key_len);
        if (w > decl_w)
            decl_w = w;
    }
    println(out, "record %s {", d->snake);
    for (size_t k = 0; k < d->nfields; k++) {
        const gfield *f = &d->fields[k];
        const char *type = f->decl + f->key_len + 2;   /* after "key: " */
        int pad = (int)(key_w - f->key_len);
        int tail = (int)(decl_w - strlen(f->decl) - (size_t)pad);
        println(out, "    %s:%*s %s%*s   # Go: %s", f->key, pad, "", type, tail, "", f->go);
    }
    println(out, "}");
}

static void emit_schema(const importer *im, char *const *types, int ntypes, sbuf *out)
{
    sbuf names = { 0 };

    for (int k = 0; k < ntypes; k++)
        sb_printf(&names, "%s%s", k > 0 ? ", " : "", types[k]);
    println(out, "# Imported from %s by `cw-schemac import-go` (%s).", im->src.path, sb_text(&names));
    println(out, "# As Go's encoding/json sends them: a field without omitempty is always");
    println(out, "# there (required); a nil slice, map or pointer is null (nullable). Add");
    println(out, "# the bounds Go cannot say (nonempty, maxlen, format(datetime)) by hand.");
    println(out, "%s", "");
    println(out, "prefix cw;");
    /* Records no root depends on first, then the rest: each still after
     * what it uses. */
    for (int pass = 0; pass < 2; pass++) {
        for (size_t k = 0; k < im->norder; k++) {
            const gdecl *d = im->order[k];
            if ((d->is_root || d->needs_root) != (pass == 1))
                continue;
            println(out, "%s", "");
            emit_record(out, d);
        }
    }
    gdecl *root = find_decl(im, types[0], strlen(types[0]));
    println(out, "%s", "");
    println(out, "root %s;", root->snake);
    if (names.failed)
        out->failed = 1;
    free(names.text);
}

/* ---- the entry point -------------------------------------------------- */

static void importer_destroy(importer *im)
{
    if (im == NULL)
        return;
    for (size_t k = 0; k < im->ndecls; k++) {
        gdecl *d = &im->decls[k];
        for (size_t f = 0; f < d->nfields; f++) {
            free(d->fields[f].key);
            free(d->fields[f].decl);
            free(d->fields[f].go);
        }
        free(d->fields);
        free(d->snake);
    }
    free(im->decls);
    free(im->imports);
    free(im->toks);
    free(im->order);
    source_free(&im->src);
    free(im);
}

int import_go(const char *path, char *const *types, int ntypes, FILE *out)
{
    importer *im = calloc(1, sizeof *im);
    sbuf text = { 0 };
    int rc = 2;

    if (im == NULL) {
        fprintf(stderr, "cw-schemac: out of memory\n");
        goto out;
    }
    if (source_read(&im->src, path) != 0)
        goto out;
    if (tokenize(im) != 0 || scan_file(im) != 0)
        goto out;
    for (int k = 0; k < ntypes; k++) {
        gdecl *d = find_decl(im, types[k], strlen(types[k]));
        if (d == NULL || !(d->flags & DECL_STRUCT) || (d->flags & DECL_GENERIC)) {
            fprintf(stderr, "%s: no struct type %s\n", path, types[k]);
            goto out;
        }
        d->is_root = 1;
    }
    for (int k = 0; k < ntypes; k++) {
        gdecl *d = find_decl(im, types[k], strlen(types[k]));
        if (has_marshaler(im, d, d->name->line))
            goto out;
        if (d->state == STATE_NEW && build_record(im, d) != 0)
            goto out;
    }
    emit_schema(im, types, ntypes, &text);
    if (text.failed) {
        oom(im);
        goto out;
    }
    if (fwrite(text.text, 1, text.len, out) != text.len || fflush(out) != 0) {
        fprintf(stderr, "cw-schemac: cannot write the schema: %s\n", strerror(errno));
        goto out;
    }
    rc = 0;
out:
    free(text.text);
    importer_destroy(im);
    return rc;
}
