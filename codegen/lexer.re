/* The schema lexer. re2c generates lexer.c from this file at build time
 * (re2c --no-generation-date --no-version). End of input is explicit: the
 * text is followed by a NUL sentinel and re2c checks YYLIMIT (`$` rule);
 * every other byte no rule matches is caught by the `*` rule. */
#include "lexer.h"

const char *token_name(token_kind kind)
{
    switch (kind) {
#define TOKEN_CASE(name, text) case name: return text;
    TOKEN_LIST(TOKEN_CASE)
#undef TOKEN_CASE
    }
    return "?";
}

int token_is_keyword(token_kind kind)
{
    return kind >= TOK_PREFIX && kind <= TOK_DEFAULT;
}

void lexer_init(lexer *lx, const char *text, size_t len)
{
    lx->cur = text;
    lx->lim = text + len;
    lx->marker = text;
    lx->line_start = text;
    lx->line = 1;
}

token lexer_next(lexer *lx)
{
    token t;

    for (;;) {
        const char *start = lx->cur;
        t.start = start;
        t.line = lx->line;
        t.col = (int)(start - lx->line_start) + 1;
        /*!re2c
            re2c:define:YYCTYPE = "unsigned char";
            re2c:define:YYCURSOR = "lx->cur";
            re2c:define:YYLIMIT = "lx->lim";
            re2c:define:YYMARKER = "lx->marker";
            re2c:yyfill:enable = 0;
            re2c:eof = 0;
            re2c:api:style = free-form;
            re2c:define:YYPEEK = "(unsigned char)*lx->cur";
            re2c:define:YYSKIP = "++lx->cur;";
            re2c:define:YYBACKUP = "lx->marker = lx->cur;";
            re2c:define:YYRESTORE = "lx->cur = lx->marker;";
            re2c:define:YYLESSTHAN = "lx->lim - lx->cur < @@{len}";

            $                          { t.kind = TOK_EOF; break; }
            [ \t\r]+                   { continue; }
            "\n"                       { lx->line++; lx->line_start = lx->cur; continue; }
            "#" [^\n\x00]*             { continue; }
            "{"                        { t.kind = TOK_LBRACE; break; }
            "}"                        { t.kind = TOK_RBRACE; break; }
            "<"                        { t.kind = TOK_LANGLE; break; }
            ">"                        { t.kind = TOK_RANGLE; break; }
            "("                        { t.kind = TOK_LPAREN; break; }
            ")"                        { t.kind = TOK_RPAREN; break; }
            ";"                        { t.kind = TOK_SEMI; break; }
            ":"                        { t.kind = TOK_COLON; break; }
            ","                        { t.kind = TOK_COMMA; break; }
            "prefix"                   { t.kind = TOK_PREFIX; break; }
            "record"                   { t.kind = TOK_RECORD; break; }
            "root"                     { t.kind = TOK_ROOT; break; }
            "string"                   { t.kind = TOK_STRING; break; }
            "map"                      { t.kind = TOK_MAP; break; }
            "list"                     { t.kind = TOK_LIST; break; }
            "nullable"                 { t.kind = TOK_NULLABLE; break; }
            "optional"                 { t.kind = TOK_OPTIONAL; break; }
            "nonempty"                 { t.kind = TOK_NONEMPTY; break; }
            "maxlen"                   { t.kind = TOK_MAXLEN; break; }
            "format"                   { t.kind = TOK_FORMAT; break; }
            "bool"                     { t.kind = TOK_BOOL; break; }
            "int"                      { t.kind = TOK_INT_TYPE; break; }
            "number"                   { t.kind = TOK_NUMBER_TYPE; break; }
            "enum"                     { t.kind = TOK_ENUM; break; }
            "min"                      { t.kind = TOK_MIN; break; }
            "max"                      { t.kind = TOK_MAX; break; }
            "default"                  { t.kind = TOK_DEFAULT; break; }
            [a-zA-Z_][a-zA-Z0-9_]*     { t.kind = TOK_IDENT; break; }
            "-"? [0-9]+                { t.kind = TOK_INT; break; }
            "-"? [0-9]+ ("." [0-9]+ | ("." [0-9]+)? [eE] [+-]? [0-9]+)
                                       { t.kind = TOK_NUMBER; break; }
            ["] [^"\\\n\x00]* ["]     { t.kind = TOK_QUOTED; break; }
            *                          { t.kind = TOK_ERROR; break; }
        */
    }
    t.len = (size_t)(lx->cur - t.start);
    return t;
}
