#include "rel_harness.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cw_time.h"
#include "http_client.h"
#include "proc.h"

static int g_serial;

char *rel_printf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        abort();
    char *s = malloc((size_t)n + 1);
    if (s == NULL)
        abort();
    va_start(ap, fmt);
    vsnprintf(s, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return s;
}

int rel_serve_start(rel_server *s, const char *chroma_url, const char *collection,
                    const char *embed_url, const char *const *extra)
{
    const char *bin = getenv("CW_BIN");
    const char *state = getenv("CW_TEST_STATE");
    char port[16], admin[16];
    char *argv[48];
    size_t k = 0;

    memset(s, 0, sizeof *s);
    if (bin == NULL) {
        fprintf(stderr, "rel: CW_BIN is not set\n");
        return -1;
    }
    s->port = http_free_port();
    s->admin_port = http_free_port();
    while (s->admin_port == s->port)
        s->admin_port = http_free_port();
    snprintf(port, sizeof port, "%u", (unsigned)s->port);
    snprintf(admin, sizeof admin, "%u", (unsigned)s->admin_port);
    snprintf(s->base, sizeof s->base, "http://127.0.0.1:%u", (unsigned)s->port);
    snprintf(s->admin, sizeof s->admin, "http://127.0.0.1:%u", (unsigned)s->admin_port);
    snprintf(s->log, sizeof s->log, "%s/rel-faults-serve-%d-%d.log",
             state != NULL ? state : "/tmp", (int)getpid(), ++g_serial);

    const char *fixed[] = {
        bin, "serve", "--host", "127.0.0.1", "--port", port, "--admin-port", admin,
        "--chroma-url", chroma_url, "--collection", collection,
    };
    const char *remote[] = { "--embedder", "openai", "--embed-url", embed_url, "--embed-model", "mock" };
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
        argv[k++] = (char *)fixed[i];
    for (size_t i = 0; embed_url != NULL && i < sizeof remote / sizeof remote[0]; i++)
        argv[k++] = (char *)remote[i];
    for (size_t i = 0; extra != NULL && extra[i] != NULL && k < 47; i++)
        argv[k++] = (char *)extra[i];
    argv[k] = NULL;
    pid_t pid = proc_serve(argv, s->log, s->port, 60000);
    s->pid = pid > 0 ? pid : 0;
    return pid > 0 ? 0 : -1;
}

int rel_serve_stop(rel_server *s, int sig, int timeout_ms, int64_t *took_ms)
{
    if (s->pid == 0)
        return -1;
    int64_t t0 = cw_now_ms();
    int rc = proc_stop(s->pid, sig, timeout_ms);
    if (took_ms != NULL)
        *took_ms = cw_now_ms() - t0;
    s->pid = 0;
    return rc;
}

char *rel_instance(const char *ns, const char *name, int version)
{
    return rel_printf("{\"id\":\"%s/apps/v1/Deployment/%s\",\"namespace\":\"%s\",\"name\":\"%s\","
                      "\"kind\":\"Deployment\",\"apiVersion\":\"apps/v1\",\"apiGroup\":\"apps\","
                      "\"labels\":{\"app\":\"%s\",\"v\":\"%d\"},\"annotations\":null,"
                      "\"createdAt\":\"2026-02-20T10:00:00Z\"}",
                      ns, name, ns, name, name, version);
}

char *rel_instance_text(const char *ns, const char *name, int version)
{
    return rel_printf("Deployment %s | namespace: %s | apiVersion: apps/v1 | labels: app=%s, v=%d",
                      name, ns, name, version);
}

long rel_post(const char *base, const char *json, int *retry_after, int64_t *took_ms)
{
    http_reply r;
    char ra[32];
    int64_t t0 = cw_now_ms();
    http_post_sync(base, json, &r);
    if (took_ms != NULL)
        *took_ms = cw_now_ms() - t0;
    if (retry_after != NULL)
        *retry_after = http_reply_header(&r, "Retry-After", ra, sizeof ra) == 1 ? atoi(ra) : 0;
    long st = r.status;
    http_reply_free(&r);
    return st;
}

long rel_get(const char *base, const char *path, char **body)
{
    char *u = rel_printf("%s%s", base, path);
    http_reply r;
    http_request("GET", u, NULL, NULL, 0, 0, &r);
    long st = r.status;
    if (body != NULL)
        *body = strdup(r.body != NULL ? r.body : "");
    http_reply_free(&r);
    free(u);
    return st;
}

long rel_metric(const char *base, const char *name)
{
    char *body = NULL;
    long v = -1;
    if (rel_get(base, "/metrics", &body) == 200) {
        char *want = rel_printf("\n%s ", name);
        const char *at = strstr(body, want);
        if (at != NULL)
            v = strtol(at + strlen(want), NULL, 10);
        free(want);
    }
    free(body);
    return v;
}

static int same_str(const char *what, const char *id, const char *a, const char *b)
{
    if ((a == NULL) != (b == NULL) || (a != NULL && strcmp(a, b) != 0)) {
        fprintf(stderr, "\n  %s of %s differs: '%s' vs '%s'\n", what, id, a ? a : "(null)",
                b ? b : "(null)");
        return 0;
    }
    return 1;
}

static const cw_chroma_record *find(const cw_chroma_records *r, const char *id)
{
    for (size_t i = 0; i < r->len; i++)
        if (r->items[i].id != NULL && strcmp(r->items[i].id, id) == 0)
            return &r->items[i];
    return NULL;
}

int rel_same_records(cw_chroma *a, cw_chroma *b, const char *const *ids, size_t n)
{
    cw_chroma_records ra, rb;
    cw_error err;
    cw_error_clear(&err);
    if (cw_chroma_get(a, ids, n, 1, &ra, &err) != 0) {
        fprintf(stderr, "\n  rel_same_records: %s\n", err.msg);
        return -1;
    }
    if (cw_chroma_get(b, ids, n, 1, &rb, &err) != 0) {
        fprintf(stderr, "\n  rel_same_records: %s\n", err.msg);
        cw_chroma_records_free(&ra);
        return -1;
    }
    int same = ra.len == rb.len && ra.dim == rb.dim;
    if (!same)
        fprintf(stderr, "\n  %zu records of dim %zu vs %zu of dim %zu\n", ra.len, ra.dim, rb.len,
                rb.dim);
    for (size_t i = 0; same && i < n; i++) {
        const cw_chroma_record *x = find(&ra, ids[i]), *y = find(&rb, ids[i]);
        if ((x == NULL) != (y == NULL)) {
            fprintf(stderr, "\n  %s is stored in only one of them\n", ids[i]);
            same = 0;
            break;
        }
        if (x == NULL)
            continue;
        same = same_str("document", ids[i], x->document, y->document)
            && same_str("namespace", ids[i], x->namespace, y->namespace)
            && same_str("name", ids[i], x->name, y->name)
            && same_str("kind", ids[i], x->kind, y->kind)
            && same_str("apiVersion", ids[i], x->api_version, y->api_version)
            && same_str("apiGroup", ids[i], x->api_group, y->api_group)
            && same_str("labels", ids[i], x->labels, y->labels)
            && same_str("source", ids[i], x->source, y->source);
        if (same && (x->embedding == NULL || y->embedding == NULL
                     || memcmp(x->embedding, y->embedding, ra.dim * sizeof(float)) != 0)) {
            fprintf(stderr, "\n  the embedding of %s differs\n", ids[i]);
            same = 0;
        }
    }
    cw_chroma_records_free(&ra);
    cw_chroma_records_free(&rb);
    return same;
}
