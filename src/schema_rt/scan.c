/* The JSON scanner under every generated parser: reads the bytes once,
 * strict RFC 8259, checking as it goes what the old json-c front end
 * checked afterwards — depth, UTF-8 (RFC 3629, no NUL, no lone surrogate
 * escape), numbers (RFC 8259 grammar, finite, integers within 64 bits),
 * one value and nothing after it — and fills the arena with the decoded
 * strings and the lists and maps at their final size.
 *
 * Syntax errors keep json-c's wording ("malformed JSON: unexpected
 * character", ...) so the 400 answers read as before. */
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "schema_rt.h"

/* ---- arena --------------------------------------------------------------- */

struct cw_rt_arena {
    struct cw_rt_arena *next;    /* the block filled before this one */
    size_t cap, used;
    _Alignas(16) char data[];
};

void cw_rt_arena_free(cw_rt_arena *arena)
{
    while (arena != NULL) {
        cw_rt_arena *next = arena->next;
        free(arena);
        arena = next;
    }
}

/* `n` bytes aligned to `align` (a power of two) from the current block, or
 * from a new one: the first is sized from the body (its strings fit), the
 * next as large as the one before. */
static void *arena_get(cw_rt_ctx *ctx, size_t n, size_t align)
{
    cw_rt_arena *a = ctx->arena;

    if (a != NULL) {
        size_t at = (a->used + align - 1) & ~(align - 1);
        if (at <= a->cap && a->cap - at >= n) {
            a->used = at + n;
            return a->data + at;
        }
    }
    size_t cap = a != NULL ? a->cap : (size_t)(ctx->end - ctx->start) + 4096;
    if (cap < n + 64)
        cap = n + 64;
    cw_rt_arena *b = malloc(sizeof *b + cap);
    if (b == NULL) {
        cw_rt_oom(ctx);
        return NULL;
    }
    b->next = a;
    b->cap = cap;
    b->used = n;
    ctx->arena = b;
    return b->data;
}

void *cw_rt_alloc(cw_rt_ctx *ctx, size_t n)
{
    return arena_get(ctx, n, 8);
}

/* ---- context ------------------------------------------------------------- */

void cw_rt_ctx_init(cw_rt_ctx *ctx, cw_issues *issues, const char *bytes, size_t len)
{
    memset(ctx, 0, sizeof *ctx);
    ctx->issues = issues;
    ctx->p = bytes;
    ctx->start = bytes;
    ctx->end = bytes + len;
}

void cw_rt_ctx_done(cw_rt_ctx *ctx)
{
    free(ctx->scratch);
    ctx->scratch = NULL;
    cw_rt_arena_free(ctx->arena);
    ctx->arena = NULL;
}

int cw_rt_scratch_push(cw_rt_ctx *ctx, const void *elem, size_t size)
{
    if (ctx->scratch_cap - ctx->scratch_len < size) {
        /* First sized from the body (a list of records needs about a
         * quarter of it), so a large payload is not copied over and over
         * while its list grows; pages never written cost no memory. */
        size_t first = (size_t)(ctx->end - ctx->start) / 4;
        size_t cap = ctx->scratch_cap != 0 ? ctx->scratch_cap * 2 : first > 4096 ? first : 4096;
        while (cap - ctx->scratch_len < size)
            cap *= 2;
        char *s = realloc(ctx->scratch, cap);
        if (s == NULL)
            return cw_rt_oom(ctx);
        ctx->scratch = s;
        ctx->scratch_cap = cap;
    }
    memcpy(ctx->scratch + ctx->scratch_len, elem, size);
    ctx->scratch_len += size;
    return 1;
}

int cw_rt_scratch_take(cw_rt_ctx *ctx, size_t mark, size_t size, void **items, size_t *len)
{
    size_t bytes = ctx->scratch_len - mark;

    *items = NULL;
    *len = bytes / size;
    if (bytes == 0)
        return 1;
    void *dst = cw_rt_alloc(ctx, bytes);
    if (dst == NULL) {
        *len = 0;
        return 0;
    }
    memcpy(dst, ctx->scratch + mark, bytes);
    ctx->scratch_len = mark;
    *items = dst;
    return 1;
}

/* ---- errors -------------------------------------------------------------- */

/* A syntax error (path [], replaces every other issue, stops the parse).
 * Returns 0. */
static int syntax(cw_rt_ctx *ctx, const char *what)
{
    ctx->depth = 0;
    cw_rt_issue_tier(ctx, 2, CW_ISSUE_INVALID_JSON, "malformed JSON: %s", what);
    return 0;
}

/* What was expected at ctx->p: "unexpected end of data" at the end. */
static int syntax_at(cw_rt_ctx *ctx, const char *what)
{
    return syntax(ctx, ctx->p >= ctx->end ? "unexpected end of data" : what);
}

static int bad_number(cw_rt_ctx *ctx)
{
    cw_rt_issue_tier(ctx, 1, CW_ISSUE_INVALID_NUMBER, "number is NaN, Infinity or out of range");
    return 1;
}

/* ---- lexical ------------------------------------------------------------- */

static inline void skip_ws(cw_rt_ctx *ctx)
{
    const char *p = ctx->p, *e = ctx->end;

    while (p < e && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t'))
        p++;
    ctx->p = p;
}

static inline int peek(const cw_rt_ctx *ctx)
{
    return ctx->p < ctx->end ? (unsigned char)*ctx->p : -1;
}

/* The first byte at or after p that is '"', '\\', below 0x20 or 0x80 and
 * above (end when none): 16 bytes a step. */
static inline const char *find_special(const char *p, const char *e)
{
#ifdef __SSE2__
    const __m128i quote = _mm_set1_epi8('"');
    const __m128i bslash = _mm_set1_epi8('\\');
    const __m128i space = _mm_set1_epi8(0x20);
    while (e - p >= 16) {
        __m128i x = _mm_loadu_si128((const __m128i *)(const void *)p);
        /* signed compare: bytes of 0x80 and above are negative, so < 0x20 */
        __m128i m = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(x, quote), _mm_cmpeq_epi8(x, bslash)),
                                 _mm_cmplt_epi8(x, space));
        unsigned bits = (unsigned)_mm_movemask_epi8(m);
        if (bits != 0)
            return p + __builtin_ctz(bits);
        p += 16;
    }
#endif
    while (p < e) {
        unsigned char c = (unsigned char)*p;
        if (c == '"' || c == '\\' || c < 0x20 || c >= 0x80)
            return p;
        p++;
    }
    return e;
}

/* Length of the RFC 3629 sequence at s[0..n) (lead byte >= 0x80), or 0. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
    unsigned char c = s[0], lo = 0x80, hi = 0xBF;
    size_t need;

    if (c >= 0xC2 && c <= 0xDF) {
        need = 1;
    } else if (c == 0xE0) {
        need = 2; lo = 0xA0;
    } else if ((c >= 0xE1 && c <= 0xEC) || c == 0xEE || c == 0xEF) {
        need = 2;
    } else if (c == 0xED) {
        need = 2; hi = 0x9F;
    } else if (c == 0xF0) {
        need = 3; lo = 0x90;
    } else if (c >= 0xF1 && c <= 0xF3) {
        need = 3;
    } else if (c == 0xF4) {
        need = 3; hi = 0x8F;
    } else {
        return 0;
    }
    if (n - 1 < need || s[1] < lo || s[1] > hi)
        return 0;
    for (size_t k = 2; k <= need; k++) {
        if (s[k] < 0x80 || s[k] > 0xBF)
            return 0;
    }
    return need + 1;
}

static int hex4(const char *s, unsigned *out)
{
    unsigned v = 0;

    for (int i = 0; i < 4; i++) {
        char c = s[i];
        v <<= 4;
        if (c >= '0' && c <= '9')
            v |= (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f')
            v |= (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            v |= (unsigned)(c - 'A' + 10);
        else
            return 0;
    }
    *out = v;
    return 1;
}

/* What a string holds that makes it unacceptable (not a syntax error). */
#define STR_BAD_UTF8  0x1u   /* raw bytes that are not RFC 3629 UTF-8 */
#define STR_NUL       0x2u   /* \u0000 */
#define STR_SURROGATE 0x4u   /* a \uD800-DFFF escape that is not half of a pair */
#define STR_PROBLEMS  0x7u
#define STR_ESCAPED   0x8u   /* not a problem: the string has a backslash escape */

static char *put_utf8(char *o, unsigned cp)
{
    if (cp < 0x80) {
        *o++ = (char)cp;
    } else if (cp < 0x800) {
        *o++ = (char)(0xC0 | (cp >> 6));
        *o++ = (char)(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        *o++ = (char)(0xE0 | (cp >> 12));
        *o++ = (char)(0x80 | ((cp >> 6) & 0x3F));
        *o++ = (char)(0x80 | (cp & 0x3F));
    } else {
        *o++ = (char)(0xF0 | (cp >> 18));
        *o++ = (char)(0x80 | ((cp >> 12) & 0x3F));
        *o++ = (char)(0x80 | ((cp >> 6) & 0x3F));
        *o++ = (char)(0x80 | (cp & 0x3F));
    }
    return o;
}

/* Decode the body of a string s[0..n) (no raw control characters, no
 * unescaped quote) into dst (NULL: check only). Returns the decoded
 * length, or (size_t)-1 for a bad escape (a syntax error); *problems
 * gets STR_* bits. */
static size_t decode_string(const char *s, size_t n, char *dst, unsigned *problems)
{
    char buf[4], *o = dst;
    size_t i = 0, out = 0;

    while (i < n) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x80 && c != '\\') {
            size_t run = i + 1;
            while (run < n && (unsigned char)s[run] < 0x80 && s[run] != '\\')
                run++;
            if (o != NULL) {
                memcpy(o, s + i, run - i);
                o += run - i;
            }
            out += run - i;
            i = run;
            continue;
        }
        if (c >= 0x80) {
            size_t k = utf8_seq((const unsigned char *)s + i, n - i);
            if (k == 0) {
                *problems |= STR_BAD_UTF8;
                k = 1;
            }
            if (o != NULL) {
                memcpy(o, s + i, k);
                o += k;
            }
            out += k;
            i += k;
            continue;
        }
        /* an escape: the scanner saw the backslash and one more byte */
        char e = s[i + 1];
        char one;
        switch (e) {
        case '"': one = '"'; break;
        case '\\': one = '\\'; break;
        case '/': one = '/'; break;
        case 'b': one = '\b'; break;
        case 'f': one = '\f'; break;
        case 'n': one = '\n'; break;
        case 'r': one = '\r'; break;
        case 't': one = '\t'; break;
        case 'u': {
            unsigned cp, lo;
            if (n - i < 6 || !hex4(s + i + 2, &cp))
                return (size_t)-1;
            i += 6;
            if (cp >= 0xD800 && cp <= 0xDBFF && n - i >= 6 && s[i] == '\\' && s[i + 1] == 'u' &&
                hex4(s + i + 2, &lo) && lo >= 0xDC00 && lo <= 0xDFFF) {
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                i += 6;
            } else if (cp >= 0xD800 && cp <= 0xDFFF) {
                *problems |= STR_SURROGATE;
                continue;
            }
            if (cp == 0)
                *problems |= STR_NUL;
            char *end = put_utf8(buf, cp);
            size_t k = (size_t)(end - buf);
            if (o != NULL) {
                memcpy(o, buf, k);
                o += k;
            }
            out += k;
            continue;
        }
        default:
            return (size_t)-1;
        }
        if (o != NULL)
            *o++ = one;
        out++;
        i += 2;
    }
    return out;
}

/* body[0..n) (no escape, so no decoding), NUL-terminated, into the
 * arena; NULL after cw_rt_oom(). Most strings are short: when 32 bytes can
 * be read at body (the input goes on) and written at the arena's cursor
 * (the block has room), two 16-byte moves replace the call to memcpy;
 * only n + 1 bytes are taken from the arena. */
static inline char *copy_plain(cw_rt_ctx *ctx, const char *body, size_t n)
{
#ifdef __SSE2__
    cw_rt_arena *a = ctx->arena;
    if (n < 32 && a != NULL && a->cap - a->used >= 32 && ctx->end - body >= 32) {
        char *dst = a->data + a->used;
        __m128i lo = _mm_loadu_si128((const __m128i *)(const void *)body);
        __m128i hi = _mm_loadu_si128((const __m128i *)(const void *)(body + 16));
        _mm_storeu_si128((__m128i *)(void *)dst, lo);
        _mm_storeu_si128((__m128i *)(void *)(dst + 16), hi);
        dst[n] = '\0';
        a->used += n + 1;
        return dst;
    }
#endif
    char *dst = arena_get(ctx, n + 1, 1);
    if (dst == NULL)
        return NULL;
    memcpy(dst, body, n);
    dst[n] = '\0';
    return dst;
}

/* A string at ctx->p (on the opening quote). With `store`, the decoded
 * bytes go to the arena, NUL-terminated, into `out` and `out_len` (""
 * when empty); without, `out` is the raw body (for a key's matching when
 * it has no escape). `raw` and `raw_len`: the text between the quotes.
 * Returns 1 (problems in `problems`), or 0 on a syntax error. */
static int scan_string(cw_rt_ctx *ctx, int store, const char **out, size_t *out_len,
                       const char **raw, size_t *raw_len, unsigned *problems)
{
    const char *body = ctx->p + 1, *q = body, *e = ctx->end;
    int plain = 1;

    *problems = 0;
    for (;;) {
        q = find_special(q, e);
        if (q >= e) {
            ctx->p = e;
            return syntax(ctx, "unexpected end of data");
        }
        unsigned char c = (unsigned char)*q;
        if (c == '"')
            break;
        if (c == '\\') {
            plain = 0;
            *problems |= STR_ESCAPED;
            if (e - q < 2) {
                ctx->p = e;
                return syntax(ctx, "unexpected end of data");
            }
            q += 2;
        } else if (c < 0x20) {
            return syntax(ctx, "control character in a string");
        } else {
            plain = 0;
            q++;
        }
    }
    size_t n = (size_t)(q - body);
    ctx->p = q + 1;
    *raw = body;
    *raw_len = n;
    if (plain) {
        if (!store) {
            *out = body;
            *out_len = n;
            return 1;
        }
        if (n == 0) {
            *out = "";
            *out_len = 0;
            return 1;
        }
        char *dst = copy_plain(ctx, body, n);
        if (dst == NULL)
            return 0;
        *out = dst;
        *out_len = n;
        return 1;
    }
    if (!store) {
        size_t k = decode_string(body, n, NULL, problems);
        if (k == (size_t)-1)
            return syntax(ctx, "invalid string sequence");
        *out = body;
        *out_len = n;
        return 1;
    }
    char *dst = arena_get(ctx, n + 1, 1);
    if (dst == NULL)
        return 0;
    size_t k = decode_string(body, n, dst, problems);
    if (k == (size_t)-1)
        return syntax(ctx, "invalid string sequence");
    dst[k] = '\0';
    *out = dst;
    *out_len = k;
    return 1;
}

/* Report a string value's problems at the current path; 1 when there
 * were none. */
static int string_ok(cw_rt_ctx *ctx, unsigned problems)
{
    if (problems & (STR_BAD_UTF8 | STR_NUL)) {
        cw_rt_issue_tier(ctx, 1, CW_ISSUE_INVALID_UTF8,
                         "string is not valid UTF-8 or contains NUL (\\u0000)");
        return 0;
    }
    if (problems & STR_SURROGATE) {
        cw_rt_issue_tier(ctx, 1, CW_ISSUE_INVALID_UTF8,
                         "string has a \\u escape of a lone UTF-16 surrogate");
        return 0;
    }
    return 1;
}

/* Report an object key's problems: bad UTF-8 at the object's path, NUL
 * at the top (as before). 1 when there were none. */
static int key_ok(cw_rt_ctx *ctx, unsigned problems)
{
    if (problems & (STR_BAD_UTF8 | STR_SURROGATE)) {
        cw_rt_issue_tier(ctx, 1, CW_ISSUE_INVALID_UTF8, "object key is not valid UTF-8");
        return 0;
    }
    if (problems & STR_NUL) {
        size_t depth = ctx->depth;
        ctx->depth = 0;
        cw_rt_issue_tier(ctx, 1, CW_ISSUE_INVALID_UTF8, "object key contains NUL (\\u0000)");
        ctx->depth = depth;
        return 0;
    }
    return 1;
}

static inline int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* 1 when the integer digits d[0..n) (no leading zeros) exceed `limit`. */
static int digits_above(const char *d, size_t n, const char *limit)
{
    size_t nl = strlen(limit);

    if (n != nl)
        return n > nl;
    return memcmp(d, limit, nl) > 0;
}

/* What scan_number() read: the text, whether it is an integer (no
 * fraction, no exponent), and whether it was refused (invalid_number). */
typedef struct number_text {
    const char *s;
    size_t len;
    int integer;
    int bad;
} number_text;

/* A number at ctx->p: RFC 8259 grammar (syntax error otherwise), then
 * finite and, for an integer, within [-2^63, 2^64-1] (json-c's range, as
 * before), else invalid_number. -Infinity lands here too. `nt` (may be
 * NULL) gets what was read. */
static int scan_number(cw_rt_ctx *ctx, number_text *nt)
{
    const char *s = ctx->p, *q = s, *e = ctx->end, *digits;
    int negative = 0, integer = 1, exponent = 0;
    number_text ignored;

    if (nt == NULL)
        nt = &ignored;
    nt->s = s;
    nt->len = 0;
    nt->integer = 0;
    nt->bad = 1;
    if (*q == '-') {
        negative = 1;
        q++;
        if (e - q >= 8 && memcmp(q, "Infinity", 8) == 0) {
            ctx->p = q + 8;
            return bad_number(ctx);
        }
    }
    digits = q;
    if (q >= e) {
        ctx->p = q;
        return syntax(ctx, "unexpected end of data");
    }
    if (*q == '0') {
        q++;
        if (q < e && is_digit(*q)) {
            ctx->p = q;
            return syntax(ctx, *q != '0' && !negative ? "number expected" : "invalid number");
        }
    } else if (*q >= '1' && *q <= '9') {
        while (q < e && is_digit(*q))
            q++;
    } else {
        ctx->p = q;
        return syntax(ctx, "invalid number");
    }
    size_t int_digits = (size_t)(q - digits);
    if (q < e && *q == '.') {
        integer = 0;
        q++;
        const char *f = q;
        while (q < e && is_digit(*q))
            q++;
        if (q == f) {
            ctx->p = q;
            return syntax(ctx, "invalid number");
        }
    }
    if (q < e && (*q == 'e' || *q == 'E')) {
        integer = 0;
        exponent = 1;
        q++;
        if (q < e && (*q == '+' || *q == '-'))
            q++;
        const char *x = q;
        while (q < e && is_digit(*q))
            q++;
        if (q == x) {
            ctx->p = q;
            return syntax(ctx, "invalid number");
        }
    }
    ctx->p = q;
    nt->len = (size_t)(q - s);
    nt->integer = integer;
    if (integer) {
        if (digits_above(digits, int_digits,
                         negative ? "9223372036854775808" : "18446744073709551615"))
            return bad_number(ctx);
        nt->bad = 0;
        return 1;
    }
    if (!exponent && int_digits <= 308) {
        nt->bad = 0;
        return 1;
    }
    /* Only strtod knows: copy (the input need not be NUL-terminated). */
    size_t n = (size_t)(q - s);
    char small[128], *copy = n < sizeof small ? small : malloc(n + 1);
    if (copy == NULL)
        return cw_rt_oom(ctx);
    memcpy(copy, s, n);
    copy[n] = '\0';
    double v = strtod(copy, NULL);
    if (copy != small)
        free(copy);
    if (!isfinite(v))
        return bad_number(ctx);
    nt->bad = 0;
    return 1;
}

/* A literal at ctx->p: true, false, null; NaN and Infinity (which json-c
 * read as numbers) are invalid_number; anything else a syntax error. */
static int scan_word(cw_rt_ctx *ctx)
{
    const char *s = ctx->p, *q = s, *e = ctx->end;

    while (q < e && ((*q >= 'a' && *q <= 'z') || (*q >= 'A' && *q <= 'Z')))
        q++;
    size_t n = (size_t)(q - s);
    ctx->p = q;
    if ((n == 4 && (memcmp(s, "true", 4) == 0 || memcmp(s, "null", 4) == 0)) ||
        (n == 5 && memcmp(s, "false", 5) == 0))
        return 1;
    if ((n == 3 && memcmp(s, "NaN", 3) == 0) || (n == 8 && memcmp(s, "Infinity", 8) == 0))
        return bad_number(ctx);
    if (q >= e && n < 5 && (memcmp("true", s, n) == 0 || memcmp("null", s, n) == 0 ||
                            memcmp("false", s, n) == 0))
        return syntax(ctx, "unexpected end of data");
    ctx->p = s;
    return syntax(ctx, "unexpected character");
}

/* A `null` literal at ctx->p: consumed, 1; anything else: 0 (untouched). */
static int take_null(cw_rt_ctx *ctx)
{
    const char *s = ctx->p;

    if (ctx->end - s >= 4 && memcmp(s, "null", 4) == 0 &&
        (ctx->end - s == 4 || !((s[4] >= 'a' && s[4] <= 'z') || (s[4] >= 'A' && s[4] <= 'Z')))) {
        ctx->p = s + 4;
        return 1;
    }
    return 0;
}

/* The JSON type of the value starting with `c`, for messages. */
static const char *type_name(int c)
{
    switch (c) {
    case '"': return "string";
    case '{': return "object";
    case '[': return "array";
    case 't':
    case 'f': return "boolean";
    case 'n': return "null";
    default:  return "number";
    }
}

/* The value at the cursor (first byte `c`, -1 at the end) is not the
 * `want` the reader reads: null on a nullable field is no value; anything
 * else is an invalid_type issue, and the value is skipped. Returns 2, or
 * 0 to stop. */
static int not_a(cw_rt_ctx *ctx, unsigned flags, const char *want, int c)
{
    if (c == 'n' && take_null(ctx)) {
        if (!(flags & CW_RT_NULLABLE))
            cw_rt_issue(ctx, CW_ISSUE_INVALID_TYPE, "expected %s, got null", want);
        return 2;
    }
    if (c < 0)
        return syntax(ctx, "unexpected end of data");
    cw_rt_issue(ctx, CW_ISSUE_INVALID_TYPE, "expected %s, got %s", want, type_name(c));
    return cw_rt_skip_value(ctx) ? 2 : 0;
}

static int open_nested(cw_rt_ctx *ctx)
{
    ctx->p++;
    ctx->nest++;
    if (ctx->nest > CW_RT_MAX_DEPTH) {
        ctx->depth = 0;
        cw_rt_issue_tier(ctx, 2, CW_ISSUE_TOO_DEEP, "JSON nesting is deeper than %d levels",
                         CW_RT_MAX_DEPTH);
        return 0;
    }
    return 1;
}

/* ---- objects and arrays ---------------------------------------------------- */

/* The next member of an open object (see cw_rt_object_next); `store`
 * decodes the key into the arena (map keys). Keys with problems are
 * reported here and their values skipped. */
static int next_member(cw_rt_ctx *ctx, cw_rt_key *key, int store);

int cw_rt_object_next(cw_rt_ctx *ctx, cw_rt_key *key)
{
    return next_member(ctx, key, 0);
}

static int next_member(cw_rt_ctx *ctx, cw_rt_key *key, int store)
{
    for (;;) {
        unsigned problems;
        skip_ws(ctx);
        int c = peek(ctx);
        if (c == '}') {
            ctx->p++;
            ctx->nest--;
            return 2;
        }
        if (key->count > 0) {
            if (c != ',')
                return syntax_at(ctx, "object value separator ',' expected");
            ctx->p++;
            skip_ws(ctx);
            c = peek(ctx);
            if (c == '}')
                return syntax(ctx, "unexpected character");
        }
        if (c != '"')
            return syntax_at(ctx, "quoted object property name expected");
        if (!scan_string(ctx, store, &key->s, &key->len, &key->raw, &key->raw_len, &problems))
            return 0;
        key->count++;
        if (!store && problems == STR_ESCAPED) {
            /* escapes: decode for matching, when short enough to be a field */
            if (key->raw_len < CW_RT_KEY_BUF) {
                unsigned ignored = 0;
                key->len = decode_string(key->raw, key->raw_len, ctx->keybuf, &ignored);
                key->s = ctx->keybuf;
            } else {
                key->len = (size_t)-1;
            }
        }
        skip_ws(ctx);
        if (peek(ctx) != ':')
            return syntax_at(ctx, "object property name separator ':' expected");
        ctx->p++;
        if (problems & STR_PROBLEMS) {
            (void)key_ok(ctx, problems);
            if (!cw_rt_skip_value(ctx))
                return 0;
            continue;
        }
        return 1;
    }
}

int cw_rt_object_begin(cw_rt_ctx *ctx, unsigned flags)
{
    skip_ws(ctx);
    int c = peek(ctx);
    if (c == '{')
        return open_nested(ctx);
    return not_a(ctx, flags, "object", c);
}

int cw_rt_array_begin(cw_rt_ctx *ctx, unsigned flags)
{
    skip_ws(ctx);
    int c = peek(ctx);
    if (c == '[')
        return open_nested(ctx);
    return not_a(ctx, flags, "array", c);
}

int cw_rt_array_next(cw_rt_ctx *ctx, size_t index)
{
    skip_ws(ctx);
    int c = peek(ctx);
    if (c == ']') {
        ctx->p++;
        ctx->nest--;
        return 2;
    }
    if (index > 0) {
        if (c != ',')
            return syntax_at(ctx, "array value separator ',' expected");
        ctx->p++;
        skip_ws(ctx);
        if (peek(ctx) == ']')
            return syntax(ctx, "unexpected character");
    }
    if (peek(ctx) < 0)
        return syntax(ctx, "unexpected end of data");
    return 1;
}

/* Any value, checked and dropped; the path names it. */
int cw_rt_skip_value(cw_rt_ctx *ctx)
{
    skip_ws(ctx);
    int c = peek(ctx);
    switch (c) {
    case '"': {
        const char *s, *raw;
        size_t n, raw_n;
        unsigned problems;
        if (!scan_string(ctx, 0, &s, &n, &raw, &raw_n, &problems))
            return 0;
        (void)string_ok(ctx, problems);
        return 1;
    }
    case '{': {
        cw_rt_key key = { 0 };
        if (!open_nested(ctx))
            return 0;
        for (;;) {
            int st = next_member(ctx, &key, 0);
            if (st != 1)
                return st == 2;
            if (!cw_rt_skip_field(ctx, &key))
                return 0;
        }
    }
    case '[': {
        if (!open_nested(ctx))
            return 0;
        for (size_t i = 0;; i++) {
            int st = cw_rt_array_next(ctx, i);
            if (st != 1)
                return st == 2;
            cw_rt_push_index(ctx, i);
            int ok = cw_rt_skip_value(ctx);
            cw_rt_pop(ctx);
            if (!ok)
                return 0;
        }
    }
    case -1:
        return syntax(ctx, "unexpected end of data");
    default:
        if (c == '-' || is_digit((char)c))
            return scan_number(ctx, NULL);
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
            return scan_word(ctx);
        return syntax(ctx, "unexpected character");
    }
}

int cw_rt_skip_field(cw_rt_ctx *ctx, const cw_rt_key *key)
{
    cw_rt_push_key(ctx, key->raw, key->raw_len);
    if (ctx->depth <= CW_RT_PATH_MAX)
        ctx->path[ctx->depth - 1].raw = 1;
    int ok = cw_rt_skip_value(ctx);
    cw_rt_pop(ctx);
    return ok;
}

void cw_rt_required(cw_rt_ctx *ctx, unsigned long long seen, unsigned long long bit,
                    const char *name, size_t n)
{
    if (seen & bit)
        return;
    cw_rt_push_key(ctx, name, n);
    cw_rt_issue(ctx, CW_ISSUE_REQUIRED, "required field is missing");
    cw_rt_pop(ctx);
}

/* ---- strings, maps and lists of strings ----------------------------------- */

/* A string value: type, null, then the modifiers. `flags` may carry
 * CW_RT_NULLABLE (a field) or not (an element of a map or list). */
static int read_string(cw_rt_ctx *ctx, unsigned flags, size_t maxlen, int format,
                       const char **out)
{
    const char *raw;
    size_t n, raw_n;
    unsigned problems;

    *out = "";
    skip_ws(ctx);
    int c = peek(ctx);
    if (c != '"')
        return not_a(ctx, flags, "string", c);
    if (!scan_string(ctx, 1, out, &n, &raw, &raw_n, &problems))
        return 0;
    if (!string_ok(ctx, problems))
        return 2;
    if ((flags & CW_RT_NONEMPTY) && n == 0) {
        cw_rt_issue(ctx, CW_ISSUE_EMPTY, "must not be empty");
        return 2;
    }
    if (maxlen > 0 && n > maxlen) {
        cw_rt_issue(ctx, CW_ISSUE_TOO_LONG, "longer than %zu bytes", maxlen);
        return 2;
    }
    if (format == CW_RT_FMT_DATETIME && !cw_rt_datetime_valid(*out, n)) {
        cw_rt_issue(ctx, CW_ISSUE_INVALID_DATETIME,
                    "expected a UTC datetime YYYY-MM-DDTHH:MM:SS[.fraction]Z");
        return 2;
    }
    if (format == CW_RT_FMT_RFC3339 && !cw_rt_rfc3339_valid(*out, n)) {
        cw_rt_issue(ctx, CW_ISSUE_INVALID_DATETIME,
                    "expected an RFC 3339 datetime YYYY-MM-DDTHH:MM:SS[.fraction](Z|+HH:MM|-HH:MM)");
        return 2;
    }
    return 1;
}

int cw_rt_read_string(cw_rt_ctx *ctx, unsigned flags, size_t maxlen, int format,
                      const char **out)
{
    return read_string(ctx, flags, maxlen, format, out);
}

/* A literal `word` (n bytes) at ctx->p, not followed by a letter:
 * consumed, 1; else 0 (untouched). */
static int take_word(cw_rt_ctx *ctx, const char *word, size_t n)
{
    const char *s = ctx->p;

    if ((size_t)(ctx->end - s) >= n && memcmp(s, word, n) == 0 &&
        ((size_t)(ctx->end - s) == n ||
         !((s[n] >= 'a' && s[n] <= 'z') || (s[n] >= 'A' && s[n] <= 'Z')))) {
        ctx->p = s + n;
        return 1;
    }
    return 0;
}

int cw_rt_read_bool(cw_rt_ctx *ctx, unsigned flags, bool *out)
{
    *out = false;
    skip_ws(ctx);
    if (take_word(ctx, "true", 4)) {
        *out = true;
        return 1;
    }
    if (take_word(ctx, "false", 5))
        return 1;
    return not_a(ctx, flags, "boolean", peek(ctx));
}

/* A JSON number at the cursor for a reader of `want`: 1 with *nt read,
 * 2 when there is none (another type, null, or a number refused), 0 to
 * stop. */
static int number_value(cw_rt_ctx *ctx, unsigned flags, const char *want, number_text *nt)
{
    skip_ws(ctx);
    int c = peek(ctx);
    if (c != '-' && !(c >= '0' && c <= '9'))
        return not_a(ctx, flags, want, c);
    if (!scan_number(ctx, nt))
        return 0;
    return nt->bad ? 2 : 1;
}

int cw_rt_read_int(cw_rt_ctx *ctx, unsigned flags, int64_t min, int64_t max, int64_t *out)
{
    number_text nt;

    *out = 0;
    int st = number_value(ctx, flags, "integer", &nt);
    if (st != 1)
        return st;
    if (!nt.integer) {
        cw_rt_issue(ctx, CW_ISSUE_INVALID_TYPE,
                    "expected integer, got a number with a fraction or exponent");
        return 2;
    }
    /* The grammar is checked: an optional '-', then digits, no leading 0. */
    int negative = nt.s[0] == '-';
    const char *d = nt.s + negative;
    size_t nd = nt.len - (size_t)negative;
    if (digits_above(d, nd, negative ? "9223372036854775808" : "9223372036854775807")) {
        cw_rt_issue(ctx, CW_ISSUE_OUT_OF_RANGE,
                    "integer is outside int64 [-9223372036854775808, 9223372036854775807]");
        return 2;
    }
    uint64_t u = 0;
    for (size_t i = 0; i < nd; i++)
        u = u * 10 + (uint64_t)(d[i] - '0');
    int64_t v = negative ? (int64_t)(0 - u) : (int64_t)u;
    if (v < min) {
        cw_rt_issue(ctx, CW_ISSUE_OUT_OF_RANGE, "must be at least %lld", (long long)min);
        return 2;
    }
    if (v > max) {
        cw_rt_issue(ctx, CW_ISSUE_OUT_OF_RANGE, "must be at most %lld", (long long)max);
        return 2;
    }
    *out = v;
    return 1;
}

int cw_rt_read_number(cw_rt_ctx *ctx, unsigned flags, double *out)
{
    number_text nt;
    char small[64];

    *out = 0;
    int st = number_value(ctx, flags, "number", &nt);
    if (st != 1)
        return st;
    /* strtod needs a NUL-terminated copy; the body need not have one. */
    char *copy = nt.len < sizeof small ? small : malloc(nt.len + 1);
    if (copy == NULL)
        return cw_rt_oom(ctx);
    memcpy(copy, nt.s, nt.len);
    copy[nt.len] = '\0';
    *out = strtod(copy, NULL);     /* finite: scan_number checked */
    if (copy != small)
        free(copy);
    return 1;
}

int cw_rt_read_enum(cw_rt_ctx *ctx, unsigned flags, const char *const *names, size_t n,
                    int *out)
{
    const char *s, *raw;
    size_t len, raw_len;
    unsigned problems;
    char msg[120];

    *out = 0;
    skip_ws(ctx);
    int c = peek(ctx);
    if (c != '"')
        return not_a(ctx, flags, "string", c);
    if (!scan_string(ctx, 0, &s, &len, &raw, &raw_len, &problems))
        return 0;
    if (!string_ok(ctx, problems))
        return 2;
    if (problems & STR_ESCAPED) {
        /* escapes: decode, when short enough to be a value */
        len = (size_t)-1;
        if (raw_len < CW_RT_KEY_BUF) {
            len = decode_string(raw, raw_len, ctx->keybuf, &problems);
            s = ctx->keybuf;
        }
    }
    for (size_t i = 0; i < n; i++) {
        if (strlen(names[i]) == len && memcmp(names[i], s, len) == 0) {
            *out = (int)i;
            return 1;
        }
    }
    size_t used = 0;
    msg[0] = '\0';
    for (size_t i = 0; i < n && used < sizeof msg; i++) {
        int k = snprintf(msg + used, sizeof msg - used, "%s\"%s\"", i > 0 ? ", " : "", names[i]);
        used += k > 0 ? (size_t)k : 0;
    }
    cw_rt_issue(ctx, CW_ISSUE_INVALID_ENUM, "must be one of %s%s", msg,
                used >= sizeof msg ? "..." : "");
    return 2;
}

int cw_rt_read_str_list(cw_rt_ctx *ctx, unsigned flags, size_t maxlen, int format,
                        cw_str_list *out)
{
    size_t mark = cw_rt_scratch_mark(ctx), i;
    void *items;

    out->items = NULL;
    out->len = 0;
    int st = cw_rt_array_begin(ctx, flags);
    if (st != 1)
        return st == 2;
    for (i = 0;; i++) {
        const char *s;
        st = cw_rt_array_next(ctx, i);
        if (st != 1)
            break;
        cw_rt_push_index(ctx, i);
        int ok = read_string(ctx, flags & ~CW_RT_NULLABLE, maxlen, format, &s);
        cw_rt_pop(ctx);
        if (!ok || !cw_rt_scratch_push(ctx, &s, sizeof s))
            return 0;
    }
    if (st == 0)
        return 0;
    if (!cw_rt_scratch_take(ctx, mark, sizeof(const char *), &items, &out->len))
        return 0;
    out->items = items;
    return 1;
}

/* FNV-1a, for the key index of large maps. */
static uint32_t key_hash(const char *s)
{
    uint32_t h = 2166136261u;

    while (*s != '\0')
        h = (h ^ (unsigned char)*s++) * 16777619u;
    return h;
}

/* Duplicate keys of a map: linear search up to this many pairs, then an
 * open-addressing index (pair number + 1; 0 is empty), rebuilt at half
 * load. */
#define MAP_LINEAR 16

/* The key of pair i (each pair starts with its `const char *key`). */
static const char *pair_key(const cw_rt_ctx *ctx, const cw_rt_map *m, size_t i)
{
    const char *key;

    memcpy(&key, ctx->scratch + m->mark + i * m->size, sizeof key);
    return key;
}

static void index_insert(const cw_rt_ctx *ctx, cw_rt_map *m, size_t i)
{
    size_t mask = m->cap - 1, h = key_hash(pair_key(ctx, m, i)) & mask;

    while (m->slots[h] != 0)
        h = (h + 1) & mask;
    m->slots[h] = (uint32_t)(i + 1);
}

static int index_rebuild(cw_rt_ctx *ctx, cw_rt_map *m)
{
    size_t cap = 64;

    while (cap < m->n * 4)
        cap *= 2;
    uint32_t *slots = calloc(cap, sizeof *slots);
    if (slots == NULL)
        return cw_rt_oom(ctx);
    free(m->slots);
    m->slots = slots;
    m->cap = cap;
    for (size_t i = 0; i < m->n; i++)
        index_insert(ctx, m, i);
    return 1;
}

/* Position of `key` among the pairs so far, or m->n. */
static size_t index_find(const cw_rt_ctx *ctx, const cw_rt_map *m, const char *key)
{
    if (m->slots == NULL) {
        for (size_t i = 0; i < m->n; i++) {
            if (strcmp(pair_key(ctx, m, i), key) == 0)
                return i;
        }
        return m->n;
    }
    size_t mask = m->cap - 1, h = key_hash(key) & mask;
    while (m->slots[h] != 0) {
        size_t i = m->slots[h] - 1;
        if (strcmp(pair_key(ctx, m, i), key) == 0)
            return i;
        h = (h + 1) & mask;
    }
    return m->n;
}

int cw_rt_map_begin(cw_rt_ctx *ctx, unsigned flags, size_t size, cw_rt_map *m)
{
    memset(m, 0, sizeof *m);
    m->mark = cw_rt_scratch_mark(ctx);
    m->size = size;
    return cw_rt_object_begin(ctx, flags);
}

int cw_rt_map_next(cw_rt_ctx *ctx, cw_rt_map *m, const char **key)
{
    int st = next_member(ctx, &m->key, 1);
    if (st != 1)
        return st;
    *key = m->key.s;
    m->at = index_find(ctx, m, m->key.s);
    cw_rt_push_key(ctx, m->key.s, m->key.len);
    if (m->at < m->n)
        cw_rt_withdraw(ctx);
    return 1;
}

int cw_rt_map_put(cw_rt_ctx *ctx, cw_rt_map *m, const void *pair)
{
    if (m->at < m->n) {
        /* last wins, at the first position (the key stays the first one) */
        memcpy(ctx->scratch + m->mark + m->at * m->size + sizeof(const char *),
               (const char *)pair + sizeof(const char *), m->size - sizeof(const char *));
        return 1;
    }
    if (!cw_rt_scratch_push(ctx, pair, m->size))
        return 0;
    m->n++;
    if (m->n == MAP_LINEAR || (m->slots != NULL && m->n * 2 > m->cap))
        return index_rebuild(ctx, m);
    if (m->slots != NULL)
        index_insert(ctx, m, m->n - 1);
    return 1;
}

int cw_rt_map_end(cw_rt_ctx *ctx, cw_rt_map *m, int st, void **items, size_t *len)
{
    free(m->slots);
    m->slots = NULL;
    *items = NULL;
    *len = 0;
    if (st == 0)
        return 0;
    return cw_rt_scratch_take(ctx, m->mark, m->size, items, len);
}

int cw_rt_read_str_map(cw_rt_ctx *ctx, unsigned flags, size_t maxlen, int format,
                       cw_str_map *out)
{
    cw_rt_map map;
    void *items;

    out->items = NULL;
    out->len = 0;
    int st = cw_rt_map_begin(ctx, flags, sizeof(cw_str_pair), &map);
    if (st != 1)
        return st == 2;
    for (;;) {
        cw_str_pair pair = { NULL, "" };
        st = cw_rt_map_next(ctx, &map, &pair.key);
        if (st != 1)
            break;
        st = read_string(ctx, flags & ~CW_RT_NULLABLE, maxlen, format, &pair.value);
        cw_rt_pop(ctx);
        if (st)
            st = cw_rt_map_put(ctx, &map, &pair);
        if (!st)
            break;
    }
    if (!cw_rt_map_end(ctx, &map, st, &items, &out->len))
        return 0;
    out->items = items;
    return 1;
}

/* ---- the document ---------------------------------------------------------- */

int cw_rt_document_begin(cw_rt_ctx *ctx)
{
    if ((size_t)(ctx->end - ctx->start) > INT_MAX) {
        cw_rt_issue_tier(ctx, 2, CW_ISSUE_TOO_LARGE, "body is larger than %d bytes", INT_MAX);
        return 0;
    }
    skip_ws(ctx);
    int c = peek(ctx);
    if (c < 0) {
        cw_rt_issue_tier(ctx, 2, CW_ISSUE_INVALID_JSON, "body is empty");
        return 0;
    }
    if (c == '{')
        return 1;
    /* Read it whole first: a malformed text is invalid_json, as before. */
    if (!cw_rt_skip_value(ctx) || !cw_rt_document_end(ctx))
        return 0;
    ctx->depth = 0;
    cw_rt_issue_tier(ctx, 2, CW_ISSUE_NOT_OBJECT, "expected a JSON object, got %s", type_name(c));
    return 0;
}

int cw_rt_document_end(cw_rt_ctx *ctx)
{
    skip_ws(ctx);
    if (ctx->p >= ctx->end) {
        cw_rt_issues_settle(ctx);
        return 1;
    }
    if (*ctx->p == '\0') {
        ctx->depth = 0;
        cw_rt_issue_tier(ctx, 2, CW_ISSUE_INVALID_JSON,
                         "unexpected data after the JSON value at byte %zu",
                         (size_t)(ctx->p - ctx->start));
        return 0;
    }
    return syntax(ctx, "unexpected character");
}
