/* cw_log — one-line log records on stderr, text or JSON (--log-format).
 *
 * Text:  2026-11-27T17:00:00.123Z info  <message>
 * JSON:  {"time":"2026-11-27T17:00:00.123Z","level":"info","msg":"<message>"[,fields]}
 *
 * Thread-safe: each record is formatted into a local buffer and written with
 * one write(2) (or handed to the sink). Messages are single lines; control
 * characters are escaped. A record longer than 4 KiB is cut. */
#ifndef CW_LOG_H
#define CW_LOG_H

#include <stddef.h>

typedef enum { CW_LOG_DEBUG, CW_LOG_INFO, CW_LOG_WARN, CW_LOG_ERROR } cw_log_level;
typedef enum { CW_LOG_TEXT, CW_LOG_JSON } cw_log_format;

/* Process-wide settings; call before starting threads. Defaults: INFO, TEXT. */
void cw_log_configure(cw_log_level min_level, cw_log_format format);

/* The format configured. */
cw_log_format cw_log_get_format(void);

/* Where records go instead of stderr (tests): `sink(ctx, line, len)` gets
 * each whole record, '\n' included, from whichever thread logs. NULL sink =
 * stderr again. Call while no other thread logs. */
typedef void (*cw_log_sink)(void *ctx, const char *line, size_t len);
void cw_log_set_sink(cw_log_sink sink, void *ctx);

void cw_log(cw_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define cw_log_debug(...) cw_log(CW_LOG_DEBUG, __VA_ARGS__)
#define cw_log_info(...)  cw_log(CW_LOG_INFO, __VA_ARGS__)
#define cw_log_warn(...)  cw_log(CW_LOG_WARN, __VA_ARGS__)
#define cw_log_error(...) cw_log(CW_LOG_ERROR, __VA_ARGS__)

/* A named value of a structured record. */
typedef enum { CW_LOG_FIELD_STR, CW_LOG_FIELD_INT, CW_LOG_FIELD_NUM } cw_log_field_type;
typedef struct cw_log_field {
    const char *key;           /* a plain JSON key: letters, digits, '_' */
    cw_log_field_type type;
    const char *s;             /* STR (NULL: the field is left out) */
    long long i;               /* INT */
    double d;                  /* NUM, written with 1 decimal */
} cw_log_field;

#define CW_LOG_STR(k, v) ((cw_log_field){ .key = (k), .type = CW_LOG_FIELD_STR, .s = (v) })
#define CW_LOG_INT(k, v) ((cw_log_field){ .key = (k), .type = CW_LOG_FIELD_INT, .i = (long long)(v) })
#define CW_LOG_NUM(k, v) ((cw_log_field){ .key = (k), .type = CW_LOG_FIELD_NUM, .d = (double)(v) })

/* A record with fields. Text: the `text` line as it is (the fields are
 * for JSON only, so `text` should say what they say). JSON: "msg" is
 * `msg`, then each field as its own key. */
void cw_log_fields(cw_log_level level, const char *text, const char *msg,
                   const cw_log_field *fields, size_t n);

#endif
