#include "cw_log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define LINE_MAX_BYTES 4096

static cw_log_level g_min = CW_LOG_INFO;
static cw_log_format g_format = CW_LOG_TEXT;
static cw_log_sink g_sink;
static void *g_sink_ctx;

void cw_log_configure(cw_log_level min_level, cw_log_format format)
{
    g_min = min_level;
    g_format = format;
}

cw_log_format cw_log_get_format(void)
{
    return g_format;
}

void cw_log_set_sink(cw_log_sink sink, void *ctx)
{
    g_sink = sink;
    g_sink_ctx = ctx;
}

static const char *level_name(cw_log_level l)
{
    switch (l) {
    case CW_LOG_DEBUG: return "debug";
    case CW_LOG_INFO:  return "info";
    case CW_LOG_WARN:  return "warn";
    case CW_LOG_ERROR: return "error";
    }
    return "info";
}

/* A record being built; one byte is always kept for the final '\n'. */
typedef struct line {
    char buf[LINE_MAX_BYTES];
    size_t len;
} line;

static void put(line *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void put(line *l, const char *fmt, ...)
{
    size_t room = sizeof l->buf - 1 - l->len;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(l->buf + l->len, room, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    l->len += (size_t)n < room ? (size_t)n : (room > 0 ? room - 1 : 0);
}

/* Append `s`, escaping for JSON or flattening control characters. */
static void put_escaped(line *l, const char *s, int json)
{
    for (; *s != '\0' && l->len + 8 < sizeof l->buf; s++) {
        unsigned char c = (unsigned char)*s;
        if (json && (c == '"' || c == '\\')) {
            l->buf[l->len++] = '\\';
            l->buf[l->len++] = (char)c;
        } else if (c < 0x20 || c == 0x7f) {
            put(l, json ? "\\u%04x" : "\\x%02x", c);
        } else {
            l->buf[l->len++] = (char)c;
        }
    }
}

/* Time and level: the start of every record. */
static void put_head(line *l, cw_log_level level, int json)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    char when[96];
    snprintf(when, sizeof when, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ",
             tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
             tm.tm_min, tm.tm_sec, (long)(ts.tv_nsec / 1000000L) % 1000);
    if (json)
        put(l, "{\"time\":\"%s\",\"level\":\"%s\",\"msg\":\"", when, level_name(level));
    else
        put(l, "%s %-5s ", when, level_name(level));
}

static void emit(line *l)
{
    l->buf[l->len++] = '\n';
    if (g_sink != NULL) {
        g_sink(g_sink_ctx, l->buf, l->len);
        return;
    }
    ssize_t w = write(STDERR_FILENO, l->buf, l->len);
    (void)w;
}

void cw_log(cw_log_level level, const char *fmt, ...)
{
    if (level < g_min)
        return;
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);

    int json = g_format == CW_LOG_JSON;
    line l;
    l.len = 0;
    put_head(&l, level, json);
    put_escaped(&l, msg, json);
    if (json)
        put(&l, "\"}");
    emit(&l);
}

void cw_log_fields(cw_log_level level, const char *text, const char *msg,
                   const cw_log_field *fields, size_t n)
{
    if (level < g_min)
        return;
    int json = g_format == CW_LOG_JSON;
    line l;
    l.len = 0;
    put_head(&l, level, json);
    if (!json) {
        put_escaped(&l, text, 0);
        emit(&l);
        return;
    }
    put_escaped(&l, msg, 1);
    put(&l, "\"");
    for (size_t i = 0; i < n; i++) {
        const cw_log_field *f = &fields[i];
        switch (f->type) {
        case CW_LOG_FIELD_STR:
            if (f->s == NULL)
                break;
            put(&l, ",\"%s\":\"", f->key);
            put_escaped(&l, f->s, 1);
            put(&l, "\"");
            break;
        case CW_LOG_FIELD_INT:
            put(&l, ",\"%s\":%lld", f->key, f->i);
            break;
        case CW_LOG_FIELD_NUM:
            put(&l, ",\"%s\":%.1f", f->key, f->d);
            break;
        }
    }
    put(&l, "}");
    emit(&l);
}
