#include "answer.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "http_server.h"

static const char OOM_BODY[] =
    "{\"error\":\"Service unavailable\",\"message\":\"out of memory\"}";

char *cw_http_json_take(struct json_object *obj)
{
    if (obj == NULL)
        return NULL;
    const char *text = json_object_to_json_string_ext(
        obj, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
    char *copy = text != NULL ? strdup(text) : NULL;
    json_object_put(obj);
    return copy;
}

void cw_http_answer_json(cw_http_answer *a, unsigned status, char *body)
{
    cw_http_answer_clear(a);
    a->content_type = CW_HTTP_CT_JSON;
    if (body == NULL) {
        a->status = 503;
        a->static_body = OOM_BODY;
        a->retry_after_s = CW_HTTP_RETRY_AFTER_DEFAULT_S;
        cw_http_answer_note_error(a, "out of memory building the answer");
        return;
    }
    a->status = status;
    a->body = body;
    a->body_len = strlen(body);
}

/* Add `value` under `key`; 0 on success, -1 when out of memory. */
static int add_string(struct json_object *obj, const char *key, const char *value)
{
    struct json_object *s = json_object_new_string(value);
    if (s == NULL)
        return -1;
    if (json_object_object_add(obj, key, s) != 0) {
        json_object_put(s);
        return -1;
    }
    return 0;
}

void cw_http_answer_error(cw_http_answer *a, unsigned status, const char *title,
                          const char *message)
{
    struct json_object *obj = json_object_new_object();
    if (obj != NULL && (add_string(obj, "error", title) != 0 ||
                        add_string(obj, "message", message) != 0)) {
        json_object_put(obj);
        obj = NULL;
    }
    cw_http_answer_json(a, status, cw_http_json_take(obj));
    if (a->note.error[0] == '\0')
        cw_http_answer_note_error(a, "%s", message);
}

void cw_http_answer_unavailable(cw_http_answer *a, const char *message, int retry_after_s)
{
    cw_http_answer_error(a, 503, "Service unavailable", message);
    a->retry_after_s = retry_after_s > 0 ? retry_after_s : CW_HTTP_RETRY_AFTER_DEFAULT_S;
}

void cw_http_answer_note_error(cw_http_answer *a, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(a->note.error, sizeof a->note.error, fmt, ap);
    va_end(ap);
}

void cw_http_answer_not_found(cw_http_answer *a, const char *method, const char *path)
{
    char msg[512];
    snprintf(msg, sizeof msg, "no route for %s %s", method, path);
    cw_http_answer_error(a, 404, "Not found", msg);
}

void cw_http_answer_method(cw_http_answer *a, const char *method, const char *allow)
{
    char msg[128];
    snprintf(msg, sizeof msg, "%s is not allowed here; use %s", method, allow);
    cw_http_answer_error(a, 405, "Method not allowed", msg);
    a->allow = allow;
}

const char *cw_http_answer_bytes(const cw_http_answer *a, size_t *len)
{
    if (a->body != NULL) {
        *len = a->body_len;
        return a->body;
    }
    const char *s = a->static_body != NULL ? a->static_body : "";
    *len = strlen(s);
    return s;
}

void cw_http_answer_clear(cw_http_answer *a)
{
    free(a->body);
    memset(a, 0, sizeof *a);
}
