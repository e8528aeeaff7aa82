#include "cw_log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static cw_log_level g_min = CW_LOG_INFO;
static cw_log_format g_format = CW_LOG_TEXT;

void cw_log_configure(cw_log_level min_level, cw_log_format format)
{
    g_min = min_level;
    g_format = format;
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

/* Append `s` to buf[*len..cap), escaping for JSON or flattening newlines. */
static void append_escaped(char *buf, size_t *len, size_t cap, const char *s, int json)
{
    for (; *s != '\0' && *len + 7 < cap; s++) {
        unsigned char c = (unsigned char)*s;
        if (json && (c == '"' || c == '\\')) {
            buf[(*len)++] = '\\';
            buf[(*len)++] = (char)c;
        } else if (c < 0x20) {
            *len += (size_t)snprintf(buf + *len, cap - *len, json ? "\\u%04x" : "\\x%02x", c);
        } else {
            buf[(*len)++] = (char)c;
        }
    }
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

    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    char when[96];
    snprintf(when, sizeof when, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ",
             tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
             tm.tm_min, tm.tm_sec, (long)(ts.tv_nsec / 1000000L) % 1000);

    char line[4096];
    size_t len = 0;
    int json = g_format == CW_LOG_JSON;
    if (json)
        len = (size_t)snprintf(line, sizeof line, "{\"time\":\"%s\",\"level\":\"%s\",\"msg\":\"",
                               when, level_name(level));
    else
        len = (size_t)snprintf(line, sizeof line, "%s %-5s ", when, level_name(level));
    append_escaped(line, &len, sizeof line, msg, json);
    if (json)
        len += (size_t)snprintf(line + len, sizeof line - len, "\"}");
    line[len++] = '\n';
    ssize_t w = write(STDERR_FILENO, line, len);
    (void)w;
}
