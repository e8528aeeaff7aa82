/* The json-c front end of every generated parser (cw_rt_parse_document):
 * closes json-c 0.16's traps (DESIGN §6b) — depth limit, strict mode,
 * whole body consumed, "continue" on empty/scalar bodies, its lax UTF-8
 * check, `\u0000` turning into an embedded NUL (silently truncating
 * object keys), NaN/Infinity/1e999 accepted even in strict mode. */
#include <limits.h>
#include <math.h>
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

/* Check every string, key and number under `v` (depth is bounded by the
 * tokener). Returns 1 when all are fine, else 0 with issues recorded. */
static int walk(cw_rt_ctx *ctx, struct json_object *v)
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
            if (!cw_rt_utf8_valid(key, strlen(key))) {
                cw_rt_issue(ctx, CW_ISSUE_INVALID_UTF8, "object key is not valid UTF-8");
                ok = 0;
                continue;
            }
            cw_rt_push_key(ctx, key);
            ok &= walk(ctx, val);
            cw_rt_pop(ctx);
        }
        break;
    }
    case json_type_array: {
        size_t n = json_object_array_length(v);
        for (size_t i = 0; i < n; i++) {
            cw_rt_push_index(ctx, i);
            ok &= walk(ctx, json_object_array_get_idx(v, i));
            cw_rt_pop(ctx);
        }
        break;
    }
    case json_type_null:
    case json_type_boolean:
    case json_type_int:
        break;
    }
    return ok;
}

/* Number of `\u0000` escapes inside strings of the (syntactically valid)
 * JSON text. */
static size_t count_nul_escapes(const char *s, size_t len)
{
    size_t count = 0;
    int in_string = 0;

    for (size_t i = 0; i < len; i++) {
        if (!in_string) {
            if (s[i] == '"')
                in_string = 1;
        } else if (s[i] == '"') {
            in_string = 0;
        } else if (s[i] == '\\' && i + 1 < len) {
            if (s[i + 1] == 'u' && i + 5 < len && memcmp(s + i + 2, "0000", 4) == 0)
                count++;
            i++;   /* skip the escaped character; \uXXXX digits are harmless */
        }
    }
    return count;
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
    size_t start = 0, end;

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
    if (!json_object_is_type(root, json_type_object)) {
        cw_rt_issue(ctx, CW_ISSUE_NOT_OBJECT, "expected a JSON object, got %s",
                    cw_rt_type_name(root));
        goto fail;
    }

    if (!walk(ctx, root))
        goto fail;
    if (count_nul_escapes(bytes, len) > 0) {
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
