#include "routes.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "cluster.h"
#include "cw_log.h"
#include "cw_time.h"
#include "http_server.h"
#include "sync_payload.h"

static const char *const ROUTE_NAMES[CW_ROUTE_COUNT] = {
    [CW_ROUTE_SYNC] = "sync",
    [CW_ROUTE_HEALTHZ] = "healthz",
    [CW_ROUTE_READYZ] = "readyz",
    [CW_ROUTE_METRICS] = "metrics",
    [CW_ROUTE_SEARCH] = "search",
    [CW_ROUTE_INSTANCE] = "instance",
    [CW_ROUTE_OTHER] = "other",
};

/* `path` is `route`, or `route` and one trailing slash (the reference's
 * router is not strict about it, so an endpoint URL written with one works). */
static int path_is(const char *path, const char *route)
{
    size_t n = strlen(route);
    return strncmp(path, route, n) == 0 && (path[n] == '\0' || (path[n] == '/' && path[n + 1] == '\0'));
}

int cw_http_sync_path_cluster(const char *path, const char **name, size_t *name_len)
{
    static const char PREFIX[] = CW_HTTP_CLUSTERS_PREFIX;      /* "/api/v1/clusters/" */
    static const char SUFFIX[] = "/instances/sync";
    size_t np = sizeof PREFIX - 1;
    if (strncmp(path, PREFIX, np) != 0)
        return 0;
    const char *seg = path + np;
    const char *end = strchr(seg, '/');
    if (end == NULL || !path_is(end, SUFFIX))
        return 0;
    *name = seg;
    *name_len = (size_t)(end - seg);
    return 1;
}

cw_http_route cw_http_route_find(const char *path, int admin)
{
    const char *name;
    size_t name_len;
    if (path_is(path, CW_HTTP_SYNC_PATH) || cw_http_sync_path_cluster(path, &name, &name_len))
        return admin ? CW_ROUTE_OTHER : CW_ROUTE_SYNC;
    if (path_is(path, "/healthz"))
        return CW_ROUTE_HEALTHZ;
    if (path_is(path, "/readyz"))
        return CW_ROUTE_READYZ;
    if (path_is(path, "/metrics"))
        return CW_ROUTE_METRICS;
    size_t np = sizeof CW_HTTP_INSTANCE_PREFIX - 1;
    if (!admin && strncmp(path, CW_HTTP_INSTANCE_PREFIX, np) == 0) {
        const char *rest = path + np;
        if (strcmp(rest, "search") == 0 || strcmp(rest, "search/") == 0)
            return CW_ROUTE_SEARCH;
        if (rest[0] != '\0' && strcmp(rest, "sync") != 0 && strcmp(rest, "sync/") != 0)
            return CW_ROUTE_INSTANCE;
    }
    return CW_ROUTE_OTHER;
}

const char *cw_http_route_name(cw_http_route route)
{
    return route < CW_ROUTE_COUNT ? ROUTE_NAMES[route] : "other";
}

const char *cw_http_route_allow(cw_http_route route)
{
    switch (route) {
    case CW_ROUTE_SYNC:     return "POST";
    case CW_ROUTE_SEARCH:   return "GET, POST";
    case CW_ROUTE_INSTANCE: return "GET";
    default:                return "GET, HEAD";
    }
}

int cw_http_route_method_ok(cw_http_route route, const char *method)
{
    if (route == CW_ROUTE_SYNC)
        return strcmp(method, "POST") == 0;
    if (route == CW_ROUTE_SEARCH)
        return strcmp(method, "GET") == 0 || strcmp(method, "POST") == 0;
    if (route == CW_ROUTE_INSTANCE)
        return strcmp(method, "GET") == 0;
    return strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;
}

/* 400 from the parser's issues; 503 + Retry-After when the parser ran out
 * of memory (an overload: the same payload can succeed later). */
static void answer_issues(cw_http_answer *a, const cw_issues *issues)
{
    if (cw_issues_is_oom(issues)) {
        cw_http_answer_unavailable(a, "out of memory while parsing", 0);
        return;
    }
    cw_http_answer_json(a, 400, cw_issues_to_json(issues));
    if (a->status == 400 && issues->len > 0) {
        const cw_issue *first = &issues->items[0];
        if (issues->total > 1)
            cw_http_answer_note_error(a, "invalid payload: %s %s: %s (and %zu more)",
                                      first->path, first->code, first->message, issues->total - 1);
        else
            cw_http_answer_note_error(a, "invalid payload: %s %s: %s", first->path, first->code,
                                      first->message);
    }
}

/* The pipeline's failure as an answer: its code decides the status. The
 * request's log line (access_log.c) says what failed and what was told. */
static void answer_pipeline_error(cw_http_answer *a, const cw_error *err)
{
    int status = cw_status_http(err->code);
    if (status == 503)
        cw_http_answer_unavailable(a, err->msg, err->retry_after_s);
    else if (status == 400)
        cw_http_answer_error(a, 400, "Invalid payload", err->msg);
    else
        cw_http_answer_error(a, 500, "Internal error", err->msg);
    cw_http_answer_note_error(a, "%s: %s", cw_status_name(err->code), err->msg);
}

void cw_http_handle_sync(cw_http_answer *a, cw_pipeline *pipeline, const char *body,
                         size_t len, int64_t deadline_ms)
{
    cw_http_handle_sync_in(a, pipeline, NULL, body, len, deadline_ms);
}

void cw_http_handle_sync_in(cw_http_answer *a, cw_pipeline *pipeline, const char *cluster,
                            const char *body, size_t len, int64_t deadline_ms)
{
    cw_issues *issues = malloc(sizeof *issues);   /* ~8 KiB: keep it off small stacks */
    cw_sync_payload payload;
    memset(&payload, 0, sizeof payload);
    if (issues == NULL) {
        cw_http_answer_unavailable(a, "out of memory", 0);
        return;
    }
    cw_issues_init(issues);
    if (cw_sync_payload_parse(body, len, &payload, issues) != 0 ||
        cw_cluster_payload_issues(&payload, cluster, issues) > 0) {
        answer_issues(a, issues);
        free(issues);
        cw_sync_payload_free(&payload);
        return;
    }
    free(issues);

    cw_pipeline_result res;
    memset(&res, 0, sizeof res);
    cw_error err;
    cw_error_clear(&err);
    /* The pipeline copies the ops and frees the tree before the wait: count
     * them first. */
    size_t n_upserts = payload.upserts.len, n_deletes = payload.deletes.len;
    if (cw_pipeline_submit_take_in(pipeline, cluster, &payload, deadline_ms, &res, &err) != 0) {
        answer_pipeline_error(a, &err);
    } else if (res.accepted || res.dead_lettered > 0) {
        /* Journaled, not (all) applied yet: durable, applied later (202 is
         * success to the controller). Dead letters are in /metrics and
         * `cluster-whisperer journal dead-letters`. */
        char buf[160];
        if (res.dead_lettered > 0)
            snprintf(buf, sizeof buf,
                     "{\"status\":\"accepted\",\"journaled\":%zu,\"dead_lettered\":%zu}",
                     res.journaled, res.dead_lettered);
        else
            snprintf(buf, sizeof buf, "{\"status\":\"accepted\",\"journaled\":%zu}",
                     res.journaled);
        cw_http_answer_json(a, 202, strdup(buf));
        if (res.dead_lettered > 0)
            cw_http_answer_note_error(a, "%zu operations refused for good by Chroma or the "
                                      "embedder: kept as dead letters", res.dead_lettered);
    } else {
        char buf[96];
        snprintf(buf, sizeof buf, "{\"status\":\"ok\",\"upserted\":%zu,\"deleted\":%zu}",
                 res.upserted, res.deleted);
        cw_http_answer_json(a, 200, strdup(buf));
    }
    a->note.payload_ok = 1;
    snprintf(a->note.cluster, sizeof a->note.cluster, "%s", cluster != NULL ? cluster : "");
    a->note.upserts = n_upserts;
    a->note.deletes = n_deletes;
    a->note.embed_calls = res.embed_calls;
    cw_sync_payload_free(&payload);
}

void cw_http_handle_healthz(cw_http_answer *a)
{
    cw_http_answer_json(a, 200, strdup("{\"status\":\"ok\"}"));
}

void cw_http_handle_readyz(cw_http_answer *a, int shutting_down, cw_http_ready_fn ready,
                           void *ready_ctx)
{
    char why[1024] = "";
    int ok = 0, warned = 0;
    if (shutting_down) {
        snprintf(why, sizeof why, "shutting down");
    } else if (ready == NULL) {
        ok = 1;
    } else {
        int v = ready(ready_ctx, why, sizeof why);
        ok = v >= 1;
        warned = v == 2;
    }
    why[sizeof why - 1] = '\0';
    if (ok && !warned) {
        cw_http_answer_json(a, 200, strdup("{\"status\":\"ok\"}"));
        return;
    }
    struct json_object *obj = json_object_new_object();
    struct json_object *st = json_object_new_string(ok ? "degraded" : "unavailable");
    struct json_object *er = json_object_new_string(why[0] != '\0' ? why : "not ready");
    if (obj == NULL || st == NULL || er == NULL) {
        json_object_put(obj);
        json_object_put(st);
        json_object_put(er);
        cw_http_answer_json(a, 503, NULL);
        return;
    }
    json_object_object_add(obj, "status", st);
    json_object_object_add(obj, ok ? "warning" : "error", er);
    cw_http_answer_json(a, ok ? 200 : 503, cw_http_json_take(obj));
    if (!ok)
        a->retry_after_s = CW_HTTP_RETRY_AFTER_DEFAULT_S;
}
