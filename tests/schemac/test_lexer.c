/* The schema lexer (codegen/lexer.re) in process, in the manner of
 * ninja's lexer_test.cc: the token sequence of a text, each token's text,
 * line and column, and the exact error text (file:line:col: message, the
 * source line, a caret) the parser prints for what the lexer rejects. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cw_test.h"
#include "lexer.h"
#include "schemac.h"

/* Every token of `text` as "kind" or "kind(text)" for the tokens that
 * carry text, joined by spaces, ending with "end of file". */
static const char *lex(const char *text)
{
    static char out[4096];
    lexer lx;
    size_t n = 0;
    out[0] = '\0';
    lexer_init(&lx, text, strlen(text));
    for (int guard = 0; guard < 200; guard++) {
        token t = lexer_next(&lx);
        int with_text = t.kind == TOK_IDENT || t.kind == TOK_INT || t.kind == TOK_NUMBER
                        || t.kind == TOK_QUOTED || t.kind == TOK_ERROR;
        int w = with_text
                    ? snprintf(out + n, sizeof out - n, "%s%s(%.*s)", n > 0 ? " " : "",
                               token_name(t.kind), (int)t.len, t.start)
                    : snprintf(out + n, sizeof out - n, "%s%s", n > 0 ? " " : "",
                               token_name(t.kind));
        if (w < 0 || (size_t)w >= sizeof out - n)
            break;
        n += (size_t)w;
        if (t.kind == TOK_EOF)
            break;
    }
    return out;
}

static void test_punctuation_and_keywords(void)
{
    CU_ASSERT_STRING_EQUAL(lex(""), "end of file");
    CU_ASSERT_STRING_EQUAL(lex("{}<>();:,"),
                           "'{' '}' '<' '>' '(' ')' ';' ':' ',' end of file");
    CU_ASSERT_STRING_EQUAL(lex("prefix record root string map list nullable optional"),
                           "'prefix' 'record' 'root' 'string' 'map' 'list' 'nullable' "
                           "'optional' end of file");
    CU_ASSERT_STRING_EQUAL(lex("nonempty maxlen format bool int number enum min max default"),
                           "'nonempty' 'maxlen' 'format' 'bool' 'int' 'number' 'enum' 'min' "
                           "'max' 'default' end of file");
    /* A keyword is a whole word: longer words are identifiers. */
    CU_ASSERT_STRING_EQUAL(lex("records root_ _x mapping int8 Root"),
                           "identifier(records) identifier(root_) identifier(_x) "
                           "identifier(mapping) identifier(int8) identifier(Root) end of file");
}

static void test_field_line(void)
{
    CU_ASSERT_STRING_EQUAL(lex("  replicas: int optional min(0) default(1);"),
                           "identifier(replicas) ':' 'int' 'optional' 'min' '(' integer(0) ')' "
                           "'default' '(' integer(1) ')' ';' end of file");
    CU_ASSERT_STRING_EQUAL(lex("labels: map<string> maxlen(63);"),
                           "identifier(labels) ':' 'map' '<' 'string' '>' 'maxlen' '(' "
                           "integer(63) ')' ';' end of file");
    CU_ASSERT_STRING_EQUAL(lex("k: enum(\"a\", \"b c\") default(\"a\");"),
                           "identifier(k) ':' 'enum' '(' quoted string(\"a\") ',' "
                           "quoted string(\"b c\") ')' 'default' '(' quoted string(\"a\") ')' "
                           "';' end of file");
}

static void test_numbers(void)
{
    CU_ASSERT_STRING_EQUAL(lex("0 -12 3.5 -0.25 1e9 2E-3 1.5e+2"),
                           "integer(0) integer(-12) number(3.5) number(-0.25) number(1e9) "
                           "number(2E-3) number(1.5e+2) end of file");
    /* No digits after '.' or 'e': the number stops, the rest lexes on. */
    CU_ASSERT_STRING_EQUAL(lex("1."), "integer(1) invalid character(.) end of file");
    CU_ASSERT_STRING_EQUAL(lex("1e"), "integer(1) identifier(e) end of file");
    CU_ASSERT_STRING_EQUAL(lex("-x"), "invalid character(-) identifier(x) end of file");
}

static void test_comments_and_space(void)
{
    CU_ASSERT_STRING_EQUAL(lex("# a comment { ; }\n\t root # more\r\n;"),
                           "'root' ';' end of file");
    CU_ASSERT_STRING_EQUAL(lex("#"), "end of file");
}

static void test_errors_one_byte(void)
{
    /* Each unexpected byte is one TOK_ERROR, and lexing goes on after it. */
    CU_ASSERT_STRING_EQUAL(lex("a@b"), "identifier(a) invalid character(@) identifier(b) "
                                       "end of file");
    CU_ASSERT_STRING_EQUAL(lex("\"open"), "invalid character(\") identifier(open) end of file");
    CU_ASSERT_STRING_EQUAL(lex("\"a\nb\""),
                           "invalid character(\") identifier(a) identifier(b) "
                           "invalid character(\") end of file");
    CU_ASSERT_STRING_EQUAL(lex("\"back\\slash\""),
                           "invalid character(\") identifier(back) invalid character(\\) "
                           "identifier(slash) invalid character(\") end of file");
}

static void test_nul_inside(void)
{
    /* A NUL before the limit is an error, not the end; at the limit it is. */
    static const char text[] = "ab\0cd";
    lexer lx;
    lexer_init(&lx, text, sizeof text - 1);
    token t = lexer_next(&lx);
    CU_ASSERT_EQUAL(t.kind, TOK_IDENT);
    CU_ASSERT_EQUAL(t.len, 2);
    t = lexer_next(&lx);
    CU_ASSERT_EQUAL(t.kind, TOK_ERROR);
    CU_ASSERT_EQUAL(t.len, 1);
    CU_ASSERT_EQUAL(t.col, 3);
    t = lexer_next(&lx);
    CU_ASSERT_EQUAL(t.kind, TOK_IDENT);
    CU_ASSERT_EQUAL(t.col, 4);
    t = lexer_next(&lx);
    CU_ASSERT_EQUAL(t.kind, TOK_EOF);
    CU_ASSERT_EQUAL(t.len, 0);
    t = lexer_next(&lx);                    /* and stays there */
    CU_ASSERT_EQUAL(t.kind, TOK_EOF);
}

static void test_positions(void)
{
    static const char text[] = "record r {\n\tname: string;\n}\n";
    static const struct { token_kind kind; int line, col; const char *text; } want[] = {
        { TOK_RECORD, 1, 1, "record" }, { TOK_IDENT, 1, 8, "r" }, { TOK_LBRACE, 1, 10, "{" },
        { TOK_IDENT, 2, 2, "name" },    { TOK_COLON, 2, 6, ":" }, { TOK_STRING, 2, 8, "string" },
        { TOK_SEMI, 2, 14, ";" },       { TOK_RBRACE, 3, 1, "}" }, { TOK_EOF, 4, 1, "" },
    };
    lexer lx;
    lexer_init(&lx, text, sizeof text - 1);
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        token t = lexer_next(&lx);
        CU_ASSERT_EQUAL(t.kind, want[i].kind);
        CU_ASSERT_EQUAL(t.line, want[i].line);
        CU_ASSERT_EQUAL(t.col, want[i].col);
        CU_ASSERT_EQUAL(t.len, strlen(want[i].text));
        CU_ASSERT_EQUAL(strncmp(t.start, want[i].text, t.len), 0);
    }
}

static void test_token_names(void)
{
    CU_ASSERT_STRING_EQUAL(token_name(TOK_EOF), "end of file");
    CU_ASSERT_STRING_EQUAL(token_name(TOK_ERROR), "invalid character");
    CU_ASSERT_STRING_EQUAL(token_name(TOK_DEFAULT), "'default'");
    CU_ASSERT_STRING_EQUAL(token_name((token_kind)999), "?");
    CU_ASSERT_EQUAL(token_is_keyword(TOK_PREFIX), 1);
    CU_ASSERT_EQUAL(token_is_keyword(TOK_DEFAULT), 1);
    CU_ASSERT_EQUAL(token_is_keyword(TOK_IDENT), 0);
    CU_ASSERT_EQUAL(token_is_keyword(TOK_COMMA), 0);
}

/* What parse_schema prints on stderr for `text` (`len` bytes; (size_t)-1:
 * up to its NUL) named "t.schema". */
static const char *parse_errors(const char *text, size_t len)
{
    static char out[4096];
    if (len == (size_t)-1)
        len = strlen(text);
    source src = { .path = "t.schema", .text = (char *)text, .len = len };
    schema s;
    FILE *tmp = tmpfile();
    CU_ASSERT_PTR_NOT_NULL_FATAL(tmp);
    fflush(stderr);
    int saved = dup(STDERR_FILENO);
    CU_ASSERT_FATAL(saved >= 0);
    CU_ASSERT_FATAL(dup2(fileno(tmp), STDERR_FILENO) >= 0);
    int rc = parse_schema(&src, &s);
    fflush(stderr);
    dup2(saved, STDERR_FILENO);
    close(saved);
    CU_ASSERT_EQUAL(rc, -1);
    schema_free(&s);
    rewind(tmp);
    size_t n = fread(out, 1, sizeof out - 1, tmp);
    out[n] = '\0';
    fclose(tmp);
    return out;
}

static void test_error_texts(void)
{
    CU_ASSERT_STRING_EQUAL(parse_errors("prefix cw;\nrecord r {\n  a@b: string;\n}\n", (size_t)-1),
                           "t.schema:3:4: unexpected character '@'\n"
                           "  a@b: string;\n"
                           "   ^\n");
    /* A tab before the column stays a tab under it, so the caret lines up. */
    CU_ASSERT_STRING_EQUAL(parse_errors("prefix cw;\n\t$\n", (size_t)-1),
                           "t.schema:2:2: unexpected character '$'\n"
                           "\t$\n"
                           "\t^\n");
    CU_ASSERT_STRING_EQUAL(parse_errors("prefix \x01;\n", (size_t)-1),
                           "t.schema:1:8: unexpected byte 0x01\n"
                           "prefix \x01;\n"
                           "       ^\n");
    static const char nul[] = "root\0x;";
    CU_ASSERT_STRING_EQUAL(parse_errors(nul, sizeof nul - 1),
                           "t.schema:1:5: unexpected byte 0x00\n"
                           "root\n"
                           "    ^\n");
    CU_ASSERT_STRING_EQUAL(parse_errors("record r { n: \"str\" ; }", (size_t)-1),
                           "t.schema:1:15: expected a type, got quoted string '\"str\"'\n"
                           "record r { n: \"str\" ; }\n"
                           "              ^\n");
}

int main(void)
{
    CU_TestInfo tests[] = {
        { "punctuation, keywords, and keywords inside longer words", test_punctuation_and_keywords },
        { "field lines: types, modifiers, enum strings", test_field_line },
        { "integers and numbers, and where a number stops", test_numbers },
        { "comments and white space are skipped", test_comments_and_space },
        { "an unexpected byte is one error token, then lexing goes on", test_errors_one_byte },
        { "NUL inside the text is an error, at the limit the end", test_nul_inside },
        { "line and column of every token (tabs count one byte)", test_positions },
        { "token names for messages and the keyword range", test_token_names },
        { "exact error texts: position, line, caret", test_error_texts },
        CU_TEST_INFO_NULL,
    };
    return cw_test_run("schemac_lexer", tests);
}
