/* The issue list: the JSON path of the value being read, recording issues
 * (first CW_ISSUES_MAX kept, the rest counted) and rendering them as the
 * 400 body. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "schema_rt.h"

/* Keys longer than this are shortened in a path that would not fit. */
#define PATH_KEY_SHORT 24

void cw_issues_init(cw_issues *issues)
{
    memset(issues, 0, sizeof *issues);
}

int cw_issues_is_oom(const cw_issues *issues)
{
    for (size_t i = 0; i < issues->len; i++) {
        if (strcmp(issues->items[i].code, CW_ISSUE_OUT_OF_MEMORY) == 0)
            return 1;
    }
    return 0;
}

/* A small bounded string builder: `full` is set once something did not fit. */
typedef struct sbuf {
    char *buf;
    size_t cap;
    size_t len;
    int full;
} sbuf;

static void sbuf_putc(sbuf *b, char c)
{
    if (b->len + 1 >= b->cap) {
        b->full = 1;
        return;
    }
    b->buf[b->len++] = c;
    b->buf[b->len] = '\0';
}

static void sbuf_puts(sbuf *b, const char *s)
{
    while (*s != '\0')
        sbuf_putc(b, *s++);
}

/* Append `s` (n bytes, valid UTF-8) as a JSON string literal. */
static void sbuf_json_string(sbuf *b, const char *s, size_t n)
{
    sbuf_putc(b, '"');
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\') {
            sbuf_putc(b, '\\');
            sbuf_putc(b, (char)c);
        } else if (c < 0x20) {
            char esc[8];
            snprintf(esc, sizeof esc, "\\u%04x", c);
            sbuf_puts(b, esc);
        } else {
            sbuf_putc(b, (char)c);
        }
    }
    sbuf_putc(b, '"');
}

/* Length of the longest prefix of s[0..n) that is at most `max` bytes and
 * does not split a UTF-8 sequence. */
static size_t utf8_prefix(const char *s, size_t n, size_t max)
{
    if (n <= max)
        return n;
    while (max > 0 && ((unsigned char)s[max] & 0xC0) == 0x80)
        max--;
    return max;
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* The JSON text of a key (already checked by the scanner) decoded into
 * out[0..cap), for an error path only: cut at `cap`; a \u escape that is
 * not one UTF-8 character on its own (a surrogate half) becomes '?'. */
static size_t decode_raw_key(const char *s, size_t n, char *out, size_t cap)
{
    size_t o = 0;

    for (size_t i = 0; i < n && o + 4 < cap; i++) {
        if (s[i] != '\\' || i + 1 >= n) {
            out[o++] = s[i];
            continue;
        }
        char c = s[++i];
        switch (c) {
        case 'b': out[o++] = '\b'; break;
        case 'f': out[o++] = '\f'; break;
        case 'n': out[o++] = '\n'; break;
        case 'r': out[o++] = '\r'; break;
        case 't': out[o++] = '\t'; break;
        case 'u': {
            unsigned cp = 0;
            if (i + 4 >= n)
                return o;
            for (int k = 1; k <= 4; k++)
                cp = cp * 16 + (unsigned)hex_value(s[i + k]);
            i += 4;
            if (cp < 0x80) {
                out[o++] = (char)cp;
            } else if (cp < 0x800) {
                out[o++] = (char)(0xC0 | (cp >> 6));
                out[o++] = (char)(0x80 | (cp & 0x3F));
            } else if (cp >= 0xD800 && cp <= 0xDFFF) {
                out[o++] = '?';
            } else {
                out[o++] = (char)(0xE0 | (cp >> 12));
                out[o++] = (char)(0x80 | ((cp >> 6) & 0x3F));
                out[o++] = (char)(0x80 | (cp & 0x3F));
            }
            break;
        }
        default: out[o++] = c; break;   /* " \\ / */
        }
    }
    return o;
}

static void render_path(const cw_rt_ctx *ctx, size_t key_max, sbuf *b)
{
    size_t depth = ctx->depth < CW_RT_PATH_MAX ? ctx->depth : CW_RT_PATH_MAX;

    sbuf_putc(b, '[');
    for (size_t i = 0; i < depth; i++) {
        const cw_rt_path_seg *seg = &ctx->path[i];
        if (i > 0)
            sbuf_putc(b, ',');
        if (seg->key != NULL) {
            char decoded[300];
            const char *key = seg->key;
            size_t n = seg->len;
            if (seg->raw && memchr(key, '\\', n) != NULL) {
                n = decode_raw_key(key, n, decoded, sizeof decoded);
                key = decoded;
            }
            size_t keep = utf8_prefix(key, n, key_max);
            if (keep < n) {
                char shortened[PATH_KEY_SHORT + 4];
                memcpy(shortened, key, keep);
                memcpy(shortened + keep, "...", 3);
                sbuf_json_string(b, shortened, keep + 3);
            } else {
                sbuf_json_string(b, key, n);
            }
        } else {
            char num[32];
            snprintf(num, sizeof num, "%zu", seg->index);
            sbuf_puts(b, num);
        }
    }
    sbuf_putc(b, ']');
}

/* The current path rendered as an issue path is. */
static void current_path(const cw_rt_ctx *ctx, char *buf, size_t cap)
{
    sbuf b = { buf, cap, 0, 0 };

    buf[0] = '\0';
    render_path(ctx, (size_t)-1, &b);
    if (b.full) {
        b.len = 0;
        b.full = 0;
        buf[0] = '\0';
        render_path(ctx, PATH_KEY_SHORT, &b);
    }
    if (b.full) {
        b.len = 0;
        b.full = 0;
        buf[0] = '\0';
        render_path(ctx, 0, &b);
    }
}

/* Drop from `issues` those at or under `path` (its text without the
 * closing ']' is n bytes). */
static void withdraw_from(cw_issues *issues, const char *path, size_t n)
{
    size_t kept = 0;

    for (size_t i = 0; i < issues->len; i++) {
        const char *q = issues->items[i].path;
        if (strncmp(q, path, n) == 0 && (q[n] == ']' || q[n] == ',')) {
            issues->total--;
            continue;
        }
        if (kept != i)
            issues->items[kept] = issues->items[i];
        kept++;
    }
    issues->len = kept;
}

void cw_rt_withdraw(cw_rt_ctx *ctx)
{
    char path[sizeof ctx->issues->items[0].path];

    if (ctx->tier >= 2 || (ctx->issues->len == 0 && ctx->held.len == 0))
        return;
    current_path(ctx, path, sizeof path);
    withdraw_from(ctx->issues, path, strlen(path) - 1);
    withdraw_from(&ctx->held, path, strlen(path) - 1);
}

/* Append an issue at the current path to `issues` (counted past the cap). */
static void append(cw_rt_ctx *ctx, cw_issues *issues, const char *code, const char *fmt,
                   va_list ap)
{
    issues->total++;
    if (issues->len >= CW_ISSUES_MAX)
        return;
    cw_issue *it = &issues->items[issues->len++];
    it->code = code;

    /* Long map keys: shortened (every key) when the path does not fit;
     * the path still locates the value. */
    current_path(ctx, it->path, sizeof it->path);
    vsnprintf(it->message, sizeof it->message, fmt, ap);
}

void cw_rt_issue_tier(cw_rt_ctx *ctx, int tier, const char *code, const char *fmt, ...)
{
    cw_issues *issues = ctx->issues;
    va_list ap;

    if (tier < ctx->tier) {
        /* A schema issue under a bad value elsewhere: held back, in case
         * that value is withdrawn (a duplicate key's earlier value). */
        if (tier == 0 && ctx->tier == 1) {
            va_start(ap, fmt);
            append(ctx, &ctx->held, code, fmt, ap);
            va_end(ap);
        }
        return;
    }
    if (tier > ctx->tier) {
        if (tier == 1 && ctx->tier == 0)
            ctx->held = *issues;
        else
            cw_issues_init(&ctx->held);
        cw_issues_init(issues);
        ctx->tier = tier;
    }
    if (tier >= 2)
        ctx->fatal = 1;
    va_start(ap, fmt);
    append(ctx, issues, code, fmt, ap);
    va_end(ap);
}

void cw_rt_issues_settle(cw_rt_ctx *ctx)
{
    if (ctx->tier == 1 && ctx->issues->total == 0) {
        *ctx->issues = ctx->held;
        cw_issues_init(&ctx->held);
        ctx->tier = 0;
    }
}

int cw_rt_oom(cw_rt_ctx *ctx)
{
    cw_rt_issue_tier(ctx, 3, CW_ISSUE_OUT_OF_MEMORY, "out of memory");
    return 0;
}

char *cw_issues_to_json(const cw_issues *issues)
{
    static const char head[] = "{\"error\":\"Invalid payload\",\"details\":[";
    /* Each stored issue: path + code + message, escaped (message ≤ 6x). */
    size_t cap = sizeof head + 4;
    for (size_t i = 0; i < issues->len; i++)
        cap += 48 + strlen(issues->items[i].path) + strlen(issues->items[i].code)
               + 6 * strlen(issues->items[i].message);

    char *out = malloc(cap);
    if (out == NULL)
        return NULL;
    sbuf b = { out, cap, 0, 0 };
    out[0] = '\0';
    sbuf_puts(&b, head);
    for (size_t i = 0; i < issues->len; i++) {
        const cw_issue *it = &issues->items[i];
        if (i > 0)
            sbuf_putc(&b, ',');
        sbuf_puts(&b, "{\"path\":");
        sbuf_puts(&b, it->path[0] != '\0' ? it->path : "[]");
        sbuf_puts(&b, ",\"code\":");
        sbuf_json_string(&b, it->code, strlen(it->code));
        sbuf_puts(&b, ",\"message\":");
        sbuf_json_string(&b, it->message, strlen(it->message));
        sbuf_putc(&b, '}');
    }
    sbuf_puts(&b, "]}");
    return out;
}
