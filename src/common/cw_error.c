#include "cw_error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

const char *cw_status_name(cw_status code)
{
    switch (code) {
#define CW_X_CASE(name, text) case name: return text;
        CW_STATUS_LIST(CW_X_CASE)
#undef CW_X_CASE
    }
    return "unknown";
}

void cw_error_clear(cw_error *err)
{
    if (err == NULL)
        return;
    err->code = CW_OK;
    err->retry_after_s = 0;
    err->msg[0] = '\0';
}

static int set_va(cw_error *err, cw_status code, int retry_after_s,
                  const char *fmt, va_list ap)
{
    if (err == NULL || err->code != CW_OK)
        return -1;
    err->code = code;
    err->retry_after_s = retry_after_s;
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    return -1;
}

int cw_error_set(cw_error *err, cw_status code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    set_va(err, code, 0, fmt, ap);
    va_end(ap);
    return -1;
}

int cw_error_set_retry(cw_error *err, cw_status code, int retry_after_s,
                       const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    set_va(err, code, retry_after_s, fmt, ap);
    va_end(ap);
    return -1;
}

void cw_error_copy(cw_error *dst, const cw_error *src)
{
    if (dst == NULL || src == NULL || dst->code != CW_OK || src->code == CW_OK)
        return;
    *dst = *src;
}

int cw_status_http(cw_status code)
{
    switch (code) {
    case CW_OK:            return 200;
    case CW_E_INVALID:     return 400;
    case CW_E_UNAVAILABLE: return 503;
    case CW_E_CONFIG:      return 503;
    case CW_E_NOMEM:       return 503;
    case CW_E_INTERNAL:    return 500;
    }
    return 500;
}
