/* cw_log — one-line log records on stderr, text or JSON (--log-format).
 * Thread-safe: each record is formatted into a local buffer and written with
 * one write(2). Messages are single lines; embedded newlines are escaped. */
#ifndef CW_LOG_H
#define CW_LOG_H

typedef enum { CW_LOG_DEBUG, CW_LOG_INFO, CW_LOG_WARN, CW_LOG_ERROR } cw_log_level;
typedef enum { CW_LOG_TEXT, CW_LOG_JSON } cw_log_format;

/* Process-wide settings; call before starting threads. Defaults: INFO, TEXT. */
void cw_log_configure(cw_log_level min_level, cw_log_format format);

void cw_log(cw_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define cw_log_debug(...) cw_log(CW_LOG_DEBUG, __VA_ARGS__)
#define cw_log_info(...)  cw_log(CW_LOG_INFO, __VA_ARGS__)
#define cw_log_warn(...)  cw_log(CW_LOG_WARN, __VA_ARGS__)
#define cw_log_error(...) cw_log(CW_LOG_ERROR, __VA_ARGS__)

#endif
