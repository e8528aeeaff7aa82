/* The schema lexer (lexer.re, compiled by re2c): turns schema text into
 * tokens. The lexer borrows the source buffer, which must be followed by a
 * NUL byte (the sentinel) at `lim`; NUL bytes inside the text are errors. */
#ifndef CW_SCHEMAC_LEXER_H
#define CW_SCHEMAC_LEXER_H

#include <stddef.h>

#define TOKEN_LIST(X)                         \
    X(TOK_EOF,       "end of file")           \
    X(TOK_ERROR,     "invalid character")     \
    X(TOK_IDENT,     "identifier")            \
    X(TOK_INT,       "integer")               \
    X(TOK_NUMBER,    "number")                \
    X(TOK_QUOTED,    "quoted string")         \
    X(TOK_LBRACE,    "'{'")                   \
    X(TOK_RBRACE,    "'}'")                   \
    X(TOK_LANGLE,    "'<'")                   \
    X(TOK_RANGLE,    "'>'")                   \
    X(TOK_LPAREN,    "'('")                   \
    X(TOK_RPAREN,    "')'")                   \
    X(TOK_SEMI,      "';'")                   \
    X(TOK_COLON,     "':'")                   \
    X(TOK_COMMA,     "','")                   \
    X(TOK_PREFIX,    "'prefix'")              \
    X(TOK_RECORD,    "'record'")              \
    X(TOK_ROOT,      "'root'")                \
    X(TOK_STRING,    "'string'")              \
    X(TOK_MAP,       "'map'")                 \
    X(TOK_LIST,      "'list'")                \
    X(TOK_NULLABLE,  "'nullable'")            \
    X(TOK_OPTIONAL,  "'optional'")            \
    X(TOK_NONEMPTY,  "'nonempty'")            \
    X(TOK_MAXLEN,    "'maxlen'")              \
    X(TOK_FORMAT,    "'format'")              \
    X(TOK_BOOL,      "'bool'")                \
    X(TOK_INT_TYPE,  "'int'")                 \
    X(TOK_NUMBER_TYPE, "'number'")            \
    X(TOK_ENUM,      "'enum'")                \
    X(TOK_MIN,       "'min'")                 \
    X(TOK_MAX,       "'max'")                 \
    X(TOK_DEFAULT,   "'default'")

typedef enum token_kind {
#define TOKEN_ENUM(name, text) name,
    TOKEN_LIST(TOKEN_ENUM)
#undef TOKEN_ENUM
} token_kind;

typedef struct token {
    token_kind kind;
    const char *start;   /* into the source buffer */
    size_t len;
    int line;            /* 1-based */
    int col;             /* 1-based, in bytes */
} token;

typedef struct lexer {
    const char *cur;
    const char *lim;         /* end of the text; *lim == '\0' */
    const char *marker;
    const char *line_start;
    int line;
} lexer;

/* How a token kind reads in messages: "identifier", "';'", "end of file". */
const char *token_name(token_kind kind);

/* 1 for the keyword tokens (prefix ... default), else 0. */
int token_is_keyword(token_kind kind);

void lexer_init(lexer *lx, const char *text, size_t len);

/* The next token. TOK_ERROR covers exactly one unexpected byte. */
token lexer_next(lexer *lx);

#endif
