/* Field readers called by generated parse functions: presence, null,
 * JSON type, and the string modifiers (nonempty, maxlen, format). Each
 * records issues at the current path and returns 1 (acceptable) or 0. */
#include <stdlib.h>
#include <string.h>

#include "schema_rt.h"

int cw_rt_lookup(struct json_object *obj, const char *key, struct json_object **v)
{
    *v = NULL;
    return json_object_object_get_ex(obj, key, v) ? 1 : 0;
}

int cw_rt_expect_object(cw_rt_ctx *ctx, struct json_object *v)
{
    if (json_object_is_type(v, json_type_object))
        return 1;
    cw_rt_issue(ctx, CW_ISSUE_INVALID_TYPE, "expected object, got %s", cw_rt_type_name(v));
    return 0;
}

/* Presence and null handling shared by every reader. Returns 1 when the
 * value is to be read, 0 when it is absent/null and acceptable (nothing
 * to read), -1 after recording an issue. */
static int presence(cw_rt_ctx *ctx, int present, struct json_object *v, unsigned flags,
                    const char *expected)
{
    if (!present) {
        if (flags & CW_RT_REQUIRED) {
            cw_rt_issue(ctx, CW_ISSUE_REQUIRED, "required field is missing");
            return -1;
        }
        return 0;
    }
    if (v == NULL) {
        if (flags & CW_RT_NULLABLE)
            return 0;
        cw_rt_issue(ctx, CW_ISSUE_INVALID_TYPE, "expected %s, got null", expected);
        return -1;
    }
    return 1;
}

/* `v` is a non-NULL JSON value that must be a string obeying the modifiers. */
static int check_string(cw_rt_ctx *ctx, struct json_object *v, unsigned flags,
                        size_t maxlen, int format, const char **out)
{
    if (!json_object_is_type(v, json_type_string)) {
        cw_rt_issue(ctx, CW_ISSUE_INVALID_TYPE, "expected string, got %s", cw_rt_type_name(v));
        return 0;
    }
    const char *s = json_object_get_string(v);
    size_t n = (size_t)json_object_get_string_len(v);
    if ((flags & CW_RT_NONEMPTY) && n == 0) {
        cw_rt_issue(ctx, CW_ISSUE_EMPTY, "must not be empty");
        return 0;
    }
    if (maxlen > 0 && n > maxlen) {
        cw_rt_issue(ctx, CW_ISSUE_TOO_LONG, "longer than %zu bytes", maxlen);
        return 0;
    }
    if (format == CW_RT_FMT_DATETIME && !cw_rt_datetime_valid(s, n)) {
        cw_rt_issue(ctx, CW_ISSUE_INVALID_DATETIME,
                    "expected a UTC datetime YYYY-MM-DDTHH:MM:SS[.fraction]Z");
        return 0;
    }
    *out = s;
    return 1;
}

int cw_rt_read_string(cw_rt_ctx *ctx, int present, struct json_object *v, unsigned flags,
                      size_t maxlen, int format, const char **out)
{
    *out = "";
    int p = presence(ctx, present, v, flags, "string");
    if (p <= 0)
        return p == 0;
    return check_string(ctx, v, flags, maxlen, format, out);
}

int cw_rt_read_str_map(cw_rt_ctx *ctx, int present, struct json_object *v, unsigned flags,
                       size_t maxlen, int format, cw_str_map *out)
{
    out->items = NULL;
    out->len = 0;
    int p = presence(ctx, present, v, flags, "object");
    if (p <= 0)
        return p == 0;
    if (!cw_rt_expect_object(ctx, v))
        return 0;
    size_t n = (size_t)json_object_object_length(v);
    if (n == 0)
        return 1;
    out->items = calloc(n, sizeof *out->items);
    if (out->items == NULL)
        return cw_rt_oom(ctx);

    int ok = 1;
    json_object_object_foreach(v, key, val) {
        cw_str_pair *pair = &out->items[out->len++];
        pair->key = key;
        pair->value = "";
        cw_rt_push_key(ctx, key);
        if (val == NULL) {
            cw_rt_issue(ctx, CW_ISSUE_INVALID_TYPE, "expected string, got null");
            ok = 0;
        } else {
            ok &= check_string(ctx, val, flags, maxlen, format, &pair->value);
        }
        cw_rt_pop(ctx);
    }
    return ok;
}

int cw_rt_read_str_list(cw_rt_ctx *ctx, int present, struct json_object *v, unsigned flags,
                        size_t maxlen, int format, cw_str_list *out)
{
    out->items = NULL;
    out->len = 0;
    size_t n = 0;
    if (!cw_rt_read_array(ctx, present, v, flags, &n))
        return 0;
    if (n == 0)
        return 1;
    out->items = calloc(n, sizeof *out->items);
    if (out->items == NULL)
        return cw_rt_oom(ctx);
    out->len = n;

    int ok = 1;
    for (size_t i = 0; i < n; i++) {
        struct json_object *item = json_object_array_get_idx(v, i);
        out->items[i] = "";
        cw_rt_push_index(ctx, i);
        if (item == NULL) {
            cw_rt_issue(ctx, CW_ISSUE_INVALID_TYPE, "expected string, got null");
            ok = 0;
        } else {
            ok &= check_string(ctx, item, flags, maxlen, format, &out->items[i]);
        }
        cw_rt_pop(ctx);
    }
    return ok;
}

int cw_rt_read_array(cw_rt_ctx *ctx, int present, struct json_object *v, unsigned flags,
                     size_t *len)
{
    *len = 0;
    int p = presence(ctx, present, v, flags, "array");
    if (p <= 0)
        return p == 0;
    if (!json_object_is_type(v, json_type_array)) {
        cw_rt_issue(ctx, CW_ISSUE_INVALID_TYPE, "expected array, got %s", cw_rt_type_name(v));
        return 0;
    }
    *len = json_object_array_length(v);
    return 1;
}

int cw_rt_read_record(cw_rt_ctx *ctx, int present, struct json_object *v, unsigned flags,
                      int *has)
{
    *has = 0;
    int p = presence(ctx, present, v, flags, "object");
    if (p <= 0)
        return p == 0;
    if (!cw_rt_expect_object(ctx, v))
        return 0;
    *has = 1;
    return 1;
}
