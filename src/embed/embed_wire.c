#include "embed_wire.h"

#include "cw_base64.h"

#include <json-c/json.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Answers are at most a few levels deep; anything deeper is not ours. */
#define WIRE_MAX_DEPTH 16

size_t cw_embed_wire_cut(const char *text, size_t max)
{
    size_t len = strlen(text);

    if (max == 0 || len <= max)
        return len;
    while (max > 0 && ((unsigned char)text[max] & 0xC0) == 0x80)
        max--;
    return max;
}

char *cw_embed_wire_request(const char *const *texts, size_t n, const char *model,
                            const char *input_type, size_t max_text_bytes, int base64,
                            cw_error *err)
{
    char *body = NULL;
    json_object *root = json_object_new_object();
    json_object *input = json_object_new_array_ext((int)n);

    if (root == NULL || input == NULL)
        goto out;
    for (size_t i = 0; i < n; i++) {
        json_object *s = json_object_new_string_len(texts[i], (int)cw_embed_wire_cut(texts[i], max_text_bytes));
        if (s == NULL || json_object_array_add(input, s) != 0) {
            json_object_put(s);
            goto out;
        }
    }
    if (json_object_object_add(root, "input", input) != 0)
        goto out;
    input = NULL;   /* owned by root now */
    if (json_object_object_add(root, "model", json_object_new_string(model)) != 0)
        goto out;
    if (input_type != NULL
        && json_object_object_add(root, "input_type", json_object_new_string(input_type)) != 0)
        goto out;
    if (base64 && json_object_object_add(root, "encoding_format", json_object_new_string("base64")) != 0)
        goto out;
    const char *text = json_object_to_json_string_ext(root, JSON_C_TO_STRING_PLAIN
                                                              | JSON_C_TO_STRING_NOSLASHESCAPE);
    if (text != NULL)
        body = strdup(text);
out:
    if (body == NULL)
        cw_error_set(err, CW_E_NOMEM, "out of memory building an embedding request");
    json_object_put(input);
    json_object_put(root);
    return body;
}

/* Parse a whole JSON document (trailing whitespace allowed); NULL if it is not one. */
static json_object *parse_json(const char *body, size_t len)
{
    json_object *root = NULL;
    json_tokener *tok = json_tokener_new_ex(WIRE_MAX_DEPTH);

    if (tok == NULL || len == 0 || len > (size_t)INT32_MAX)
        goto out;
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
    root = json_tokener_parse_ex(tok, body, (int)len);
    if (root == NULL || json_tokener_get_error(tok) != json_tokener_success) {
        json_object_put(root);
        root = NULL;
        goto out;
    }
    for (size_t i = json_tokener_get_parse_end(tok); i < len; i++) {
        if (body[i] != ' ' && body[i] != '\n' && body[i] != '\r' && body[i] != '\t') {
            json_object_put(root);
            root = NULL;
            goto out;
        }
    }
out:
    if (tok != NULL)
        json_tokener_free(tok);
    return root;
}

static int is_number(json_object *o)
{
    json_type t = json_object_get_type(o);
    return t == json_type_double || t == json_type_int;
}

/* An answer being read: its vectors, once the first one gave their size. */
typedef struct wire_answer {
    const char *name;
    size_t n, max_dim, dim;        /* dim: 0 until the first vector */
    float *vecs;                   /* n x dim */
    float *scratch;                /* the first packed vector, before vecs exists */
    unsigned char *seen;           /* [n] */
} wire_answer;

/* data[i]: its "embedding" (array or base64 string) and the slot its
 * "index" names (i without one); each slot once. */
static int answer_slot(wire_answer *a, json_object *item, size_t i, json_object **emb,
                       size_t *slot, cw_error *err)
{
    json_object *index = NULL;
    *slot = i;
    if (!json_object_is_type(item, json_type_object)
        || !json_object_object_get_ex(item, "embedding", emb)
        || (!json_object_is_type(*emb, json_type_array) && !json_object_is_type(*emb, json_type_string)))
        return cw_error_set(err, CW_E_INTERNAL, "%s: malformed answer: data[%zu] has no \"embedding\" array",
                            a->name, i);
    if (json_object_object_get_ex(item, "index", &index)) {
        int64_t at = json_object_get_int64(index);
        if (!json_object_is_type(index, json_type_int) || at < 0 || (uint64_t)at >= a->n)
            return cw_error_set(err, CW_E_INTERNAL, "%s: malformed answer: data[%zu] has index %s, expected 0..%zu",
                                a->name, i, json_object_to_json_string(index), a->n - 1);
        *slot = (size_t)at;
    }
    if (a->seen[*slot])
        return cw_error_set(err, CW_E_INTERNAL, "%s: malformed answer: index %zu appears twice", a->name, *slot);
    a->seen[*slot] = 1;
    return 0;
}

/* The vector's size d: the first one sets dim and allocates vecs (moving
 * a packed first vector out of scratch); later ones must match. */
static int answer_size(wire_answer *a, size_t d, size_t slot, int packed, cw_error *err)
{
    if (a->vecs != NULL) {
        if (d != a->dim)
            return cw_error_set(err, CW_E_INTERNAL, "%s: malformed answer: embedding %zu has %zu values, expected %zu",
                                a->name, slot, d, a->dim);
        return 0;
    }
    if (d == 0 || d > a->max_dim)
        return cw_error_set(err, CW_E_INTERNAL, "%s: malformed answer: a vector of %zu values (expected 1..%zu)",
                            a->name, d, a->max_dim);
    a->dim = d;
    a->vecs = malloc(a->n * d * sizeof *a->vecs);
    if (a->vecs == NULL)
        return cw_error_set(err, CW_E_NOMEM, "%s: out of memory reading an answer", a->name);
    if (packed)
        memcpy(&a->vecs[slot * d], a->scratch, d * sizeof *a->vecs);
    return 0;
}

/* A base64-packed float32 vector into its slot. */
static int answer_packed(wire_answer *a, json_object *emb, size_t slot, cw_error *err)
{
    if (a->vecs == NULL && a->scratch == NULL) {
        /* the first vector's size: decode it into a scratch row */
        a->scratch = malloc(a->max_dim * sizeof *a->scratch);
        if (a->scratch == NULL)
            return cw_error_set(err, CW_E_NOMEM, "%s: out of memory reading an answer", a->name);
    }
    size_t cap = a->vecs == NULL ? a->max_dim : a->dim;
    long d = cw_base64_decode_f32le(json_object_get_string(emb), (size_t)json_object_get_string_len(emb),
                                    a->vecs == NULL ? a->scratch : &a->vecs[slot * a->dim], cap);
    if (d < 0)
        return cw_error_set(err, CW_E_INTERNAL, "%s: malformed answer: embedding %zu is not base64-packed "
                            "float32 (at most %zu values)", a->name, slot, cap);
    if (answer_size(a, (size_t)d, slot, 1, err) != 0)
        return -1;
    /* JSON cannot carry NaN or infinity; a packed vector can. */
    for (size_t k = 0; k < a->dim; k++) {
        if (!isfinite(a->vecs[slot * a->dim + k]))
            return cw_error_set(err, CW_E_INTERNAL, "%s: malformed answer: embedding %zu holds a non-finite value",
                                a->name, slot);
    }
    return 0;
}

/* A JSON array of numbers into its slot. */
static int answer_array(wire_answer *a, json_object *emb, size_t slot, cw_error *err)
{
    if (answer_size(a, json_object_array_length(emb), slot, 0, err) != 0)
        return -1;
    for (size_t k = 0; k < a->dim; k++) {
        json_object *v = json_object_array_get_idx(emb, k);
        if (!is_number(v))
            return cw_error_set(err, CW_E_INTERNAL, "%s: malformed answer: embedding %zu holds a non-number",
                                a->name, slot);
        a->vecs[slot * a->dim + k] = (float)json_object_get_double(v);
    }
    return 0;
}

int cw_embed_wire_parse_answer(const char *name, const char *body, size_t len, size_t n,
                               size_t max_dim, float **out_vecs, size_t *out_dim, cw_error *err)
{
    int rc = -1;
    json_object *root = NULL, *data = NULL;
    wire_answer a = { .name = name, .n = n, .max_dim = max_dim };

    *out_vecs = NULL;
    *out_dim = 0;
    root = parse_json(body, len);
    if (root == NULL || !json_object_is_type(root, json_type_object)) {
        cw_error_set(err, CW_E_INTERNAL, "%s: malformed answer: not a JSON object", name);
        goto out;
    }
    if (!json_object_object_get_ex(root, "data", &data) || !json_object_is_type(data, json_type_array)) {
        cw_error_set(err, CW_E_INTERNAL, "%s: malformed answer: no \"data\" array", name);
        goto out;
    }
    size_t got = json_object_array_length(data);
    if (got != n) {
        cw_error_set(err, CW_E_INTERNAL, "%s: malformed answer: expected %zu embeddings, got %zu",
                     name, n, got);
        goto out;
    }
    a.seen = calloc(n > 0 ? n : 1, 1);
    if (a.seen == NULL) {
        cw_error_set(err, CW_E_NOMEM, "%s: out of memory reading an answer", name);
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        json_object *emb = NULL;
        size_t slot;
        if (answer_slot(&a, json_object_array_get_idx(data, i), i, &emb, &slot, err) != 0)
            goto out;
        int bad = json_object_is_type(emb, json_type_string) ? answer_packed(&a, emb, slot, err)
                                                             : answer_array(&a, emb, slot, err);
        if (bad)
            goto out;
    }
    *out_vecs = a.vecs;
    *out_dim = a.dim;
    a.vecs = NULL;
    rc = 0;
out:
    free(a.vecs);
    free(a.scratch);
    free(a.seen);
    json_object_put(root);
    return rc;
}

/* Copy `s` (len bytes) into buf as one line of at most cap - 1 bytes. */
static void copy_line(const char *s, size_t len, char *buf, size_t cap)
{
    size_t j = 0;
    for (size_t i = 0; i < len && j + 1 < cap; i++) {
        unsigned char c = (unsigned char)s[i];
        buf[j++] = (c < 0x20 || c == 0x7f) ? ' ' : (char)c;
    }
    while (j > 0 && buf[j - 1] == ' ')
        j--;
    buf[j] = '\0';
}

/* The string value of root[key] (or of root[key][0][sub] when sub is set). */
static const char *string_at(json_object *root, const char *key, const char *sub)
{
    json_object *v = NULL;
    if (!json_object_object_get_ex(root, key, &v))
        return NULL;
    if (sub != NULL) {
        json_object *inner = NULL;
        if (json_object_is_type(v, json_type_array) && json_object_array_length(v) > 0)
            v = json_object_array_get_idx(v, 0);
        if (!json_object_is_type(v, json_type_object) || !json_object_object_get_ex(v, sub, &inner))
            return NULL;
        v = inner;
    }
    return json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
}

void cw_embed_wire_upstream_message(const char *body, size_t len, char *buf, size_t cap)
{
    json_object *root = body != NULL ? parse_json(body, len) : NULL;
    const char *msg = NULL;

    if (json_object_is_type(root, json_type_object)) {
        msg = string_at(root, "error", "message");
        if (msg == NULL)
            msg = string_at(root, "error", NULL);
        if (msg == NULL)
            msg = string_at(root, "detail", NULL);
        if (msg == NULL)
            msg = string_at(root, "detail", "msg");
        if (msg == NULL)
            msg = string_at(root, "message", NULL);
    }
    if (msg != NULL)
        copy_line(msg, strlen(msg), buf, cap);
    else
        copy_line(body != NULL ? body : "", body != NULL ? len : 0, buf, cap);
    if (buf[0] == '\0')
        copy_line("(empty body)", strlen("(empty body)"), buf, cap);
    json_object_put(root);
}
