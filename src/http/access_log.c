#include "access_log.h"

#include <stdio.h>
#include <string.h>

#include "cw_log.h"
#include "cw_time.h"

#define PATH_LOG_MAX 256

/* A probe: GET or HEAD on /healthz, /readyz or /metrics (whatever the
 * answer). Another method there is a client's mistake, logged. */
static int is_probe(const cw_http_access *e)
{
    return (e->route == CW_ROUTE_HEALTHZ || e->route == CW_ROUTE_READYZ ||
            e->route == CW_ROUTE_METRICS) && e->method != NULL &&
           (strcmp(e->method, "GET") == 0 || strcmp(e->method, "HEAD") == 0);
}

static cw_log_level level_of(unsigned status)
{
    if (status < 500)
        return CW_LOG_INFO;
    return status == 503 ? CW_LOG_WARN : CW_LOG_ERROR;
}

void cw_http_access_log(const cw_http_access *e, int log_probes)
{
    if (is_probe(e) && !log_probes)
        return;
    const cw_http_answer *a = e->answer;
    const cw_http_answer_note *n = &a->note;
    const char *method = e->method != NULL ? e->method : "-";
    char path[PATH_LOG_MAX + 4];
    snprintf(path, sizeof path, "%s", e->path != NULL ? e->path : "-");
    if (strlen(path) > PATH_LOG_MAX)
        memcpy(path + PATH_LOG_MAX - 3, "...", 4);
    double ms = (double)e->duration_us / 1000.0;
    int failed = a->status >= 400;
    const char *error = failed && n->error[0] != '\0' ? n->error : failed ? "?" : NULL;

    char text[1024];
    int len = snprintf(text, sizeof text, "%s %s %u %.1fms", method, path, a->status, ms);
    if (n->payload_ok && len > 0 && (size_t)len < sizeof text)
        len += snprintf(text + len, sizeof text - (size_t)len,
                        " upserts=%zu deletes=%zu embed_calls=%llu", n->upserts, n->deletes,
                        n->embed_calls);
    if (n->payload_ok && n->cluster[0] != '\0' && len > 0 && (size_t)len < sizeof text)
        len += snprintf(text + len, sizeof text - (size_t)len, " cluster=%s", n->cluster);
    if (error != NULL && len > 0 && (size_t)len < sizeof text) {
        len += snprintf(text + len, sizeof text - (size_t)len, ": %s; told client %u", error,
                        a->status);
        if (a->retry_after_s > 0 && len > 0 && (size_t)len < sizeof text)
            snprintf(text + len, sizeof text - (size_t)len, ", Retry-After: %d",
                     a->retry_after_s);
    }

    char msg[PATH_LOG_MAX + 32];
    snprintf(msg, sizeof msg, "%s %s %u", method, path, a->status);
    cw_log_field f[12];
    size_t k = 0;
    f[k++] = CW_LOG_STR("method", method);
    f[k++] = CW_LOG_STR("path", path);
    f[k++] = CW_LOG_STR("route", cw_http_route_name(e->route));
    f[k++] = CW_LOG_INT("status", a->status);
    f[k++] = CW_LOG_NUM("duration_ms", ms);
    if (n->payload_ok) {
        f[k++] = CW_LOG_INT("upserts", n->upserts);
        f[k++] = CW_LOG_INT("deletes", n->deletes);
        f[k++] = CW_LOG_INT("embed_calls", n->embed_calls);
        if (n->cluster[0] != '\0')
            f[k++] = CW_LOG_STR("cluster", n->cluster);
    }
    if (error != NULL) {
        f[k++] = CW_LOG_STR("error", error);
        if (a->retry_after_s > 0)
            f[k++] = CW_LOG_INT("retry_after_s", a->retry_after_s);
    }
    cw_log_fields(level_of(a->status), text, msg, f, k);
}

void cw_http_access_done(cw_http_metrics *m, int log_probes, const cw_http_request *r,
                         const cw_http_answer *a)
{
    cw_http_access e = {
        .method = r != NULL ? r->method : NULL,
        .path = r != NULL ? r->path : NULL,
        .route = r != NULL ? r->route : CW_ROUTE_OTHER,
        .duration_us = r != NULL ? cw_now_us() - r->start_us : 0,
        .answer = a,
    };
    cw_http_metrics_count(m, e.route, a->status, e.duration_us);
    if (a->note.payload_ok) {
        cw_http_metrics_ops(m, a->note.upserts, a->note.deletes);
        cw_http_metrics_cluster(m, a->note.cluster, a->note.upserts, a->note.deletes);
    }
    cw_http_access_log(&e, log_probes);
}
