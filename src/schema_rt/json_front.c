/* The json-c front end of every generated parser (cw_rt_parse_document):
 * closes json-c 0.16's traps (DESIGN §6b) — depth limit, strict mode,
 * whole body consumed, "continue" on empty/scalar bodies, its lax UTF-8
 * check, `\u0000` turning into an embedded NUL (silently truncating
 * object keys), NaN/Infinity/1e999 accepted even in strict mode, and
 * what strict mode still takes against RFC 8259: raw control characters
 * in strings, numbers like `1.` or `00`, integers far out of range
 * clamped to 64 bits, single-quoted strings, and `\u` escapes of lone
 * UTF-16 surrogates (json-c turns each into U+FFFD, so "\ud800" and
 * "\udbff" would be the same id). */
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "schema_rt.h"

const char *cw_rt_type_name(struct json_object *v)
{
    switch (json_object_get_type(v)) {
    case json_type_null:    return "null";
    case json_type_boolean: return "boolean";
    case json_type_double:  return "number";
    case json_type_int:     return "number";
    case json_type_object:  return "object";
    case json_type_array:   return "array";
    case json_type_string:  return "string";
    }
    return "unknown";
}

#define REPLACEMENT "\xef\xbf\xbd"   /* U+FFFD, what json-c makes of a lone surrogate */

static int has_replacement(const char *s, size_t n)
{
    for (size_t i = 0; i + 3 <= n; i++)
        if (memcmp(s + i, REPLACEMENT, 3) == 0)
            return 1;
    return 0;
}

/* What walk() looks for beyond UTF-8 and finite numbers, and what it found. */
typedef struct walk_state {
    int huge;               /* the text has integer literals beyond 64 bits */
    size_t huge_found;      /* integers json-c clamped, reported where they are */
    int surrogates;         /* the text has lone surrogate escapes: a U+FFFD is one */
    size_t surrogates_found;
} walk_state;

/* Check every string, key and number under `v` (depth is bounded by the
 * tokener), recording issues where they are. Returns 1 when all are fine,
 * else 0. */
static int walk(cw_rt_ctx *ctx, struct json_object *v, walk_state *st)
{
    int ok = 1;

    switch (json_object_get_type(v)) {
    case json_type_string: {
        const char *s = json_object_get_string(v);
        size_t n = (size_t)json_object_get_string_len(v);
        if (!cw_rt_utf8_valid(s, n)) {
            cw_rt_issue(ctx, CW_ISSUE_INVALID_UTF8,
                        "string is not valid UTF-8 or contains NUL (\\u0000)");
            ok = 0;
        } else if (st->surrogates && has_replacement(s, n)) {
            cw_rt_issue(ctx, CW_ISSUE_INVALID_UTF8,
                        "string has a \\u escape of a lone UTF-16 surrogate");
            st->surrogates_found++;
            ok = 0;
        }
        break;
    }
    case json_type_double:
        if (!isfinite(json_object_get_double(v))) {
            cw_rt_issue(ctx, CW_ISSUE_INVALID_NUMBER,
                        "number is NaN, Infinity or out of range");
            ok = 0;
        }
        break;
    case json_type_object: {
        json_object_object_foreach(v, key, val) {
            int lone = st->surrogates && has_replacement(key, strlen(key));
            if (lone || !cw_rt_utf8_valid(key, strlen(key))) {
                cw_rt_issue(ctx, CW_ISSUE_INVALID_UTF8, "object key is not valid UTF-8");
                st->surrogates_found += (size_t)lone;
                ok = 0;
                continue;
            }
            cw_rt_push_key(ctx, key);
            ok &= walk(ctx, val, st);
            cw_rt_pop(ctx);
        }
        break;
    }
    case json_type_array: {
        size_t n = json_object_array_length(v);
        for (size_t i = 0; i < n; i++) {
            cw_rt_push_index(ctx, i);
            ok &= walk(ctx, json_object_array_get_idx(v, i), st);
            cw_rt_pop(ctx);
        }
        break;
    }
    case json_type_int:
        if (st->huge && (json_object_get_int64(v) == INT64_MIN ||
                         json_object_get_uint64(v) == UINT64_MAX)) {
            cw_rt_issue(ctx, CW_ISSUE_INVALID_NUMBER,
                        "number is NaN, Infinity or out of range");
            st->huge_found++;
            ok = 0;
        }
        break;
    case json_type_null:
    case json_type_boolean:
        break;
    }
    return ok;
}

/* What json-c 0.16 lets through that only the raw text shows, and what
 * tells whether walk() can find anything at all. */
typedef struct text_scan {
    size_t nul_escapes;     /* `\u0000` inside strings */
    size_t huge_integers;   /* integer literals beyond 64 bits (json-c clamps them) */
    int control_char;       /* a raw byte below 0x20 inside a string */
    int bad_number;         /* a number RFC 8259 does not allow: 1. 1.e5 00 -01 */
    int single_quote;       /* a ' outside every "..." string: json-c took a 'string' */
    size_t lone_surrogates; /* \u escapes of a surrogate that is not half of a pair */
    int needs_walk;         /* a \u escape, a number, a literal other than
                               true/false/null, or raw bytes that are not
                               RFC 3629 UTF-8: only then can a decoded string,
                               key or number be wrong */
} text_scan;

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* 1 when s[0..n) is an RFC 8259 number,
 * -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?; *integer = 1 when it
 * has neither fraction nor exponent. */
static int number_ok(const char *s, size_t n, int *integer)
{
    size_t i = 0, start;

    *integer = 1;
    if (i < n && s[i] == '-')
        i++;
    if (i < n && s[i] == '0') {
        i++;
    } else if (i < n && s[i] >= '1' && s[i] <= '9') {
        while (i < n && is_digit(s[i]))
            i++;
    } else {
        return 0;
    }
    if (i < n && s[i] == '.') {
        *integer = 0;
        start = ++i;
        while (i < n && is_digit(s[i]))
            i++;
        if (i == start)
            return 0;
    }
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        *integer = 0;
        i++;
        if (i < n && (s[i] == '+' || s[i] == '-'))
            i++;
        start = i;
        while (i < n && is_digit(s[i]))
            i++;
        if (i == start)
            return 0;
    }
    return i == n;
}

/* 1 when the integer literal s[0..n) (RFC 8259: no leading zeros) is
 * outside [-2^63, 2^64-1]: json-c 0.16 would clamp it to one of those
 * bounds without a word, so the value read would not be the value sent. */
static int integer_huge(const char *s, size_t n)
{
    int negative = s[0] == '-';
    const char *digits = s + negative;
    size_t nd = n - (size_t)negative;
    const char *limit = negative ? "9223372036854775808" : "18446744073709551615";
    size_t nl = strlen(limit);

    if (nd != nl)
        return nd > nl;
    return memcmp(digits, limit, nl) > 0;
}

/* Bytes of a string's body that need a look: '"', '\\', below 0x20, or
 * 0x80 and above. SWAR over 8 bytes at a time: the common run of plain
 * ASCII costs a few instructions per word. */
#define ONES  0x0101010101010101ULL
#define HIGHS 0x8080808080808080ULL

static int word_is_plain(uint64_t w)
{
    uint64_t quote = w ^ (ONES * '"');
    uint64_t bslash = w ^ (ONES * '\\');
    uint64_t special = ((quote - ONES) & ~quote)        /* a zero byte: '"' */
                     | ((bslash - ONES) & ~bslash)      /* a zero byte: '\\' */
                     | (w - ONES * 0x20)                /* a byte below 0x20 */
                     | w;                               /* a byte of 0x80 or above */
    return (special & HIGHS) == 0;
}

/* The code unit of the \uXXXX escape at s[i] (the backslash), or -1 when
 * there is none there. */
static long escape_unit(const char *s, size_t len, size_t i)
{
    if (i + 5 >= len || s[i] != '\\' || s[i + 1] != 'u')
        return -1;
    long v = 0;
    for (size_t k = i + 2; k < i + 6; k++) {
        char c = s[k];
        int d = c >= '0' && c <= '9' ? c - '0'
              : c >= 'a' && c <= 'f' ? c - 'a' + 10
              : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
        if (d < 0)
            return -1;
        v = v * 16 + d;
    }
    return v;
}

/* The string body starting at s[i] (after the opening quote): returns the
 * index of the closing quote (or len), noting what text_scan wants. Raw
 * bytes of 0x80 and above are checked as UTF-8 sequence by sequence. */
static size_t scan_string(const char *s, size_t len, size_t i, text_scan *out)
{
    while (i < len) {
        while (i + 8 <= len) {
            uint64_t w;
            memcpy(&w, s + i, 8);
            if (!word_is_plain(w))
                break;
            i += 8;
        }
        if (i >= len)
            break;
        unsigned char c = (unsigned char)s[i];
        if (c == '"')
            return i;
        if (c < 0x20) {
            out->control_char = 1;
            i++;
        } else if (c == '\\') {
            if (i + 1 < len && s[i + 1] == 'u') {
                out->needs_walk = 1;
                if (i + 5 < len && memcmp(s + i + 2, "0000", 4) == 0)
                    out->nul_escapes++;
                long u = escape_unit(s, len, i);
                if (u >= 0xD800 && u <= 0xDBFF) {
                    long lo = escape_unit(s, len, i + 6);
                    if (lo >= 0xDC00 && lo <= 0xDFFF) {
                        i += 12;      /* a pair: one character */
                        continue;
                    }
                    out->lone_surrogates++;
                } else if (u >= 0xDC00 && u <= 0xDFFF) {
                    out->lone_surrogates++;
                }
            }
            i += 2;   /* the escaped character; \uXXXX digits are harmless */
        } else if (c >= 0x80) {
            size_t n = 1;
            while (i + n < len && n < 4 && ((unsigned char)s[i + n] & 0xC0) == 0x80)
                n++;
            if (!cw_rt_utf8_valid(s + i, n))
                out->needs_walk = 1;
            i += n;
        } else {
            i++;
        }
    }
    return len;
}

/* 1 when s[0..n) is one of the literals every payload may hold. */
static int plain_literal(const char *s, size_t n)
{
    return (n == 4 && (memcmp(s, "true", 4) == 0 || memcmp(s, "null", 4) == 0)) ||
           (n == 5 && memcmp(s, "false", 5) == 0);
}

/* Scan the (syntactically valid) JSON text for what json-c accepted but
 * must not be: see text_scan. */
static void scan_text(const char *s, size_t len, text_scan *out)
{
    size_t i = 0;

    memset(out, 0, sizeof *out);
    while (i < len) {
        char c = s[i];
        if (c == '"') {
            i = scan_string(s, len, i + 1, out) + 1;   /* past the closing quote */
        } else if (c == '-' || is_digit(c)) {
            size_t start = i;
            int integer;
            out->needs_walk = 1;
            while (i < len && (is_digit(s[i]) || s[i] == '.' || s[i] == 'e' || s[i] == 'E' ||
                               s[i] == '+' || s[i] == '-'))
                i++;
            if (i < len && s[i] == 'I')
                continue;  /* -Infinity: walk() reports it */
            if (!number_ok(s + start, i - start, &integer))
                out->bad_number = 1;
            else if (integer && integer_huge(s + start, i - start))
                out->huge_integers++;
        } else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) {
            size_t start = i;
            while (i < len && ((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z')))
                i++;
            if (!plain_literal(s + start, i - start))
                out->needs_walk = 1;   /* NaN, Infinity: walk() reports them */
        } else {
            if ((unsigned char)c >= 0x80)
                out->needs_walk = 1;
            if (c == '\'')
                out->single_quote = 1;
            i++;
        }
    }
}

static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

struct json_object *cw_rt_parse_document(cw_rt_ctx *ctx, const char *bytes, size_t len)
{
    struct json_tokener *tok = NULL;
    struct json_object *root = NULL;
    enum json_tokener_error err;
    text_scan scan;
    size_t start = 0, end;
    walk_state st;
    int ok;

    if (len > INT_MAX) {
        cw_rt_issue(ctx, CW_ISSUE_TOO_LARGE, "body is larger than %d bytes", INT_MAX);
        goto fail;
    }
    while (start < len && is_space(bytes[start]))
        start++;
    if (start == len) {
        cw_rt_issue(ctx, CW_ISSUE_INVALID_JSON, "body is empty");
        goto fail;
    }

    /* json-c allows max_depth - 1 levels of nesting. */
    tok = json_tokener_new_ex(CW_RT_MAX_DEPTH + 1);
    if (tok == NULL) {
        cw_rt_oom(ctx);
        goto fail;
    }
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
    root = json_tokener_parse_ex(tok, bytes, (int)len);
    err = json_tokener_get_error(tok);
    end = json_tokener_get_parse_end(tok);
    if (err == json_tokener_continue) {
        /* A bare scalar or a truncated text: feeding the terminating NUL
         * tells json-c the input has ended. */
        root = json_tokener_parse_ex(tok, "", 1);
        err = json_tokener_get_error(tok);
        end = len;
    }
    if (err == json_tokener_error_depth) {
        cw_rt_issue(ctx, CW_ISSUE_TOO_DEEP, "JSON nesting is deeper than %d levels",
                    CW_RT_MAX_DEPTH);
        goto fail;
    }
    if (err != json_tokener_success) {
        cw_rt_issue(ctx, CW_ISSUE_INVALID_JSON, "malformed JSON: %s",
                    json_tokener_error_desc(err));
        goto fail;
    }
    while (end < len && is_space(bytes[end]))
        end++;
    if (end != len) {
        cw_rt_issue(ctx, CW_ISSUE_INVALID_JSON, "unexpected data after the JSON value at byte %zu",
                    end);
        goto fail;
    }
    scan_text(bytes, len, &scan);
    if (scan.control_char) {
        cw_rt_issue(ctx, CW_ISSUE_INVALID_JSON, "malformed JSON: control character in a string");
        goto fail;
    }
    if (scan.bad_number) {
        cw_rt_issue(ctx, CW_ISSUE_INVALID_JSON, "malformed JSON: invalid number");
        goto fail;
    }
    if (scan.single_quote) {
        cw_rt_issue(ctx, CW_ISSUE_INVALID_JSON, "malformed JSON: single-quoted string");
        goto fail;
    }
    if (!json_object_is_type(root, json_type_object)) {
        cw_rt_issue(ctx, CW_ISSUE_NOT_OBJECT, "expected a JSON object, got %s",
                    cw_rt_type_name(root));
        goto fail;
    }

    /* Without escapes, numbers or odd literals, every decoded string and
     * key is a slice of the raw text, which the scan found to be UTF-8
     * without NUL: walk() would find nothing. */
    memset(&st, 0, sizeof st);
    st.huge = scan.huge_integers > 0;
    /* json-c made each lone surrogate a U+FFFD: with any in the text, a
     * U+FFFD in a decoded string is one (or, in a body that also sends a
     * real U+FFFD, may be: the body is refused either way). */
    st.surrogates = scan.lone_surrogates > 0;
    ok = scan.needs_walk ? walk(ctx, root, &st) : 1;
    if (st.huge_found < scan.huge_integers) {
        /* One that a later duplicate key dropped from the tree. */
        cw_rt_issue(ctx, CW_ISSUE_INVALID_NUMBER, "number is NaN, Infinity or out of range");
        ok = 0;
    }
    if (st.surrogates && st.surrogates_found == 0) {
        /* Dropped with a duplicate key: still refused, at the top. */
        cw_rt_issue(ctx, CW_ISSUE_INVALID_UTF8, "string has a \\u escape of a lone UTF-16 surrogate");
        ok = 0;
    }
    if (!ok)
        goto fail;
    if (scan.nul_escapes > 0) {
        /* No string value holds a NUL, so a key did: json-c cut it short. */
        cw_rt_issue(ctx, CW_ISSUE_INVALID_UTF8, "object key contains NUL (\\u0000)");
        goto fail;
    }
    json_tokener_free(tok);
    return root;

fail:
    json_object_put(root);
    if (tok != NULL)
        json_tokener_free(tok);
    return NULL;
}
