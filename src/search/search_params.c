/* A search request from its parameters — a URL query string (the server's
 * GET) or a JSON object (its POST body, the MCP tool's arguments) — and
 * the JSON of one stored instance (search.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "schema_rt.h"
#include "search.h"

#define PARAM_NAMES "query (or q), n, kind, namespace, ranking, explain"

enum {
    SEEN_QUERY = 1u << 0,
    SEEN_N = 1u << 1,
    SEEN_KIND = 1u << 2,
    SEEN_NS = 1u << 3,
    SEEN_RANKING = 1u << 4,
    SEEN_EXPLAIN = 1u << 5,
};

int cw_search_request_check(const cw_search_request *req, cw_error *err)
{
    if (req->query == NULL || req->query[0] == '\0')
        return cw_error_set(err, CW_E_INVALID, "q: the query is empty");
    if (strlen(req->query) > CW_SEARCH_MAX_QUERY)
        return cw_error_set(err, CW_E_INVALID, "q: the query is longer than %d bytes", CW_SEARCH_MAX_QUERY);
    if (req->n < 1 || req->n > CW_SEARCH_MAX_N)
        return cw_error_set(err, CW_E_INVALID, "n: wants a number from 1 to %d", CW_SEARCH_MAX_N);
    if (req->kind != NULL && (req->kind[0] == '\0' || strlen(req->kind) > 256))
        return cw_error_set(err, CW_E_INVALID, "kind: wants 1 to 256 bytes");
    if (req->ns != NULL && (req->ns[0] == '\0' || strlen(req->ns) > 256))
        return cw_error_set(err, CW_E_INVALID, "namespace: wants 1 to 256 bytes");
    return 0;
}

void cw_search_request_init(cw_search_request *req)
{
    memset(req, 0, sizeof *req);
    req->n = 10;
    req->mode = CW_SEARCH_HYBRID;
}

/* The bit of parameter `key`, or 0 when it is not one. */
static unsigned param_bit(const char *key)
{
    if (strcmp(key, "q") == 0 || strcmp(key, "query") == 0)
        return SEEN_QUERY;
    if (strcmp(key, "n") == 0)
        return SEEN_N;
    if (strcmp(key, "kind") == 0)
        return SEEN_KIND;
    if (strcmp(key, "namespace") == 0)
        return SEEN_NS;
    if (strcmp(key, "ranking") == 0)
        return SEEN_RANKING;
    if (strcmp(key, "explain") == 0)
        return SEEN_EXPLAIN;
    return 0;
}

/* Name the parameter in the error only when it is short UTF-8: it comes
 * from the client, and the message goes back in a JSON string. */
static int unknown(cw_error *err, const char *key)
{
    size_t n = strlen(key);
    if (n > 64 || !cw_rt_utf8_valid(key, n))
        return cw_error_set(err, CW_E_INVALID, "unknown parameter (expected " PARAM_NAMES ")");
    return cw_error_set(err, CW_E_INVALID, "unknown parameter '%s' (expected " PARAM_NAMES ")", key);
}

static int seen_once(unsigned *seen, unsigned bit, const char *key, cw_error *err)
{
    if (*seen & bit)
        return cw_error_set(err, CW_E_INVALID, "%s: given more than once", key);
    *seen |= bit;
    return 0;
}

static int set_mode(cw_search_request *req, const char *v, cw_error *err)
{
    int m = cw_search_mode_parse(v);
    if (m < 0)
        return cw_error_set(err, CW_E_INVALID, "ranking: wants hybrid, vector or lexical");
    req->mode = (cw_search_mode)m;
    return 0;
}

int cw_search_request_param(cw_search_request *req, unsigned *seen, const char *key, const char *value,
                            size_t value_len, cw_error *err)
{
    unsigned bit = param_bit(key);
    if (bit == 0)
        return unknown(err, key);
    if (seen_once(seen, bit, bit == SEEN_QUERY ? "q" : key, err) != 0)
        return -1;
    if (value == NULL)
        value = "";
    if (!cw_rt_utf8_valid(value, value_len))
        return cw_error_set(err, CW_E_INVALID, "%s: not valid UTF-8, or holds a NUL byte",
                            bit == SEEN_QUERY ? "q" : key);
    switch (bit) {
    case SEEN_QUERY:
        req->query = value;
        return 0;
    case SEEN_N: {
        char *end = NULL;
        errno = 0;
        unsigned long v = strtoul(value, &end, 10);
        if (value[0] < '0' || value[0] > '9' || *end != '\0' || errno != 0 || v < 1 || v > CW_SEARCH_MAX_N)
            return cw_error_set(err, CW_E_INVALID, "n: wants a number from 1 to %d", CW_SEARCH_MAX_N);
        req->n = (size_t)v;
        return 0;
    }
    case SEEN_KIND:
        req->kind = value;
        return 0;
    case SEEN_NS:
        req->ns = value;
        return 0;
    case SEEN_RANKING:
        return set_mode(req, value, err);
    case SEEN_EXPLAIN:
        if (strcmp(value, "true") == 0 || strcmp(value, "1") == 0 || value[0] == '\0')
            req->explain = 1;
        else if (strcmp(value, "false") == 0 || strcmp(value, "0") == 0)
            req->explain = 0;
        else
            return cw_error_set(err, CW_E_INVALID, "explain: wants true or false");
        return 0;
    }
    return unknown(err, key);
}

/* A string member (a JSON null reads as absent: *out untouched). */
static int json_str(json_object *v, const char *key, const char **out, cw_error *err)
{
    if (v == NULL)
        return 0;
    if (!json_object_is_type(v, json_type_string))
        return cw_error_set(err, CW_E_INVALID, "%s: wants a string", key);
    const char *s = json_object_get_string(v);
    if (!cw_rt_utf8_valid(s, (size_t)json_object_get_string_len(v)))
        return cw_error_set(err, CW_E_INVALID, "%s: not valid UTF-8, or holds a NUL byte", key);
    *out = s;
    return 0;
}

int cw_search_request_from_json(cw_search_request *req, struct json_object *obj, cw_error *err)
{
    cw_search_request_init(req);
    if (!json_object_is_type(obj, json_type_object))
        return cw_error_set(err, CW_E_INVALID, "the parameters must be a JSON object");
    unsigned seen = 0;
    json_object_object_foreach(obj, key, v) {
        unsigned bit = param_bit(key);
        if (bit == 0)
            return unknown(err, key);
        if (seen_once(&seen, bit, bit == SEEN_QUERY ? "query" : key, err) != 0)
            return -1;
        const char *s = NULL;
        switch (bit) {
        case SEEN_QUERY:
            if (v == NULL)
                return cw_error_set(err, CW_E_INVALID, "query: wants a string");
            if (json_str(v, "query", &req->query, err) != 0)
                return -1;
            break;
        case SEEN_N: {
            if (v == NULL)
                break;
            int64_t n = json_object_get_int64(v);
            if (!json_object_is_type(v, json_type_int) || n < 1 || n > CW_SEARCH_MAX_N)
                return cw_error_set(err, CW_E_INVALID, "n: wants a number from 1 to %d", CW_SEARCH_MAX_N);
            req->n = (size_t)n;
            break;
        }
        case SEEN_KIND:
            if (json_str(v, "kind", &req->kind, err) != 0)
                return -1;
            break;
        case SEEN_NS:
            if (json_str(v, "namespace", &req->ns, err) != 0)
                return -1;
            break;
        case SEEN_RANKING:
            if (json_str(v, "ranking", &s, err) != 0 || (s != NULL && set_mode(req, s, err) != 0))
                return -1;
            break;
        case SEEN_EXPLAIN:
            if (v == NULL)
                break;
            if (!json_object_is_type(v, json_type_boolean))
                return cw_error_set(err, CW_E_INVALID, "explain: wants true or false");
            req->explain = json_object_get_boolean(v) ? 1 : 0;
            break;
        }
    }
    if ((seen & SEEN_QUERY) == 0)
        return cw_error_set(err, CW_E_INVALID, "query: missing");
    return cw_search_request_check(req, err);
}

static int put_str(json_object *o, const char *key, const char *s)
{
    json_object *v = NULL;
    if (s != NULL && (v = json_object_new_string(s)) == NULL)
        return 1;
    if (json_object_object_add(o, key, v) != 0) {
        json_object_put(v);
        return 1;
    }
    return 0;
}

char *cw_search_instance_json(const cw_chroma_record *r)
{
    json_object *o = json_object_new_object();
    char *s = NULL;
    if (o == NULL)
        return NULL;
    int bad = put_str(o, "id", r->id);
    bad |= put_str(o, "cluster", r->cluster);
    bad |= put_str(o, "namespace", r->namespace);
    bad |= put_str(o, "kind", r->kind);
    bad |= put_str(o, "name", r->name);
    bad |= put_str(o, "apiVersion", r->api_version);
    bad |= put_str(o, "apiGroup", r->api_group);
    bad |= put_str(o, "labels", r->labels);
    bad |= put_str(o, "document", r->document);
    if (!bad) {
        const char *t = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
        if (t != NULL)
            s = strdup(t);
    }
    json_object_put(o);
    return s;
}
