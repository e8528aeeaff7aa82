/* cw_error — the error value every fallible cw_* function fills.
 *
 * Errors are values: a code from CW_STATUS_LIST, a one-line message, and
 * (for transient failures) how long the client should wait before retrying.
 * The first error wins: cw_error_set() does nothing when `err` already holds
 * an error, so a cleanup path can never overwrite the cause.
 *
 * The code decides the HTTP status the controller sees (DESIGN §3):
 *   CW_E_INVALID      → 400  the input can never succeed
 *   CW_E_UNAVAILABLE  → 503 + Retry-After  dependency down/slow, overloaded
 *   CW_E_INTERNAL     → 500  anything else on our side
 *   CW_E_CONFIG       → 503 for a request (our misconfiguration, never 4xx);
 *                      a clear startup error for commands
 */
#ifndef CW_ERROR_H
#define CW_ERROR_H

#include <stddef.h>

#define CW_STATUS_LIST(X)                          \
    X(CW_OK,            "ok")                      \
    X(CW_E_INVALID,     "invalid")                 \
    X(CW_E_UNAVAILABLE, "unavailable")             \
    X(CW_E_INTERNAL,    "internal")                \
    X(CW_E_CONFIG,      "config")                  \
    X(CW_E_NOMEM,       "out of memory")

typedef enum cw_status {
#define CW_X_ENUM(name, text) name,
    CW_STATUS_LIST(CW_X_ENUM)
#undef CW_X_ENUM
} cw_status;

#define CW_ERROR_MSG_MAX 512

typedef struct cw_error {
    cw_status code;          /* CW_OK when no error has been set */
    int retry_after_s;       /* hint for 503 answers; 0 = use the default */
    char msg[CW_ERROR_MSG_MAX];
} cw_error;

#define CW_MUST_CHECK __attribute__((warn_unused_result))

/* Name of a status code ("invalid", ...). Never NULL. */
const char *cw_status_name(cw_status code);

/* Reset to CW_OK. `err` may be NULL. */
void cw_error_clear(cw_error *err);

/* Record an error unless one is already recorded (first error wins).
 * `err` may be NULL (the error is dropped). Always returns -1 so that
 * `return cw_error_set(...)` reads naturally in fallible functions. */
int cw_error_set(cw_error *err, cw_status code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Same, with a Retry-After hint in seconds (for CW_E_UNAVAILABLE). */
int cw_error_set_retry(cw_error *err, cw_status code, int retry_after_s,
                       const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Copy `src` into `dst` unless `dst` already holds an error. */
void cw_error_copy(cw_error *dst, const cw_error *src);

/* HTTP status for a code: 200, 400, 503 or 500. */
int cw_status_http(cw_status code);

#endif
