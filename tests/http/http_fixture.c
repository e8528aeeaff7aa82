#include "http_fixture.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cw_test.h"
#include "cw_test_chroma.h"
#include "cw_time.h"
#include "embed_http.h"
#include "embedder_util.h"

static int g_serial;

char *fx_printf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return NULL;
    char *s = malloc((size_t)n + 1);
    if (s == NULL)
        return NULL;
    va_start(ap, fmt);
    vsnprintf(s, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return s;
}

char *fx_instance(const char *ns, const char *name)
{
    return fx_printf("{\"id\":\"%s/apps/v1/Deployment/%s\",\"namespace\":\"%s\",\"name\":\"%s\","
                     "\"kind\":\"Deployment\",\"apiVersion\":\"apps/v1\",\"apiGroup\":\"apps\","
                     "\"labels\":{\"app\":\"%s\"},\"annotations\":null,"
                     "\"createdAt\":\"2026-02-20T10:00:00Z\"}",
                     ns, name, ns, name, name);
}

int fx_ready(void *ctx, char *why, size_t cap)
{
    fx *f = ctx;
    cw_error err;
    cw_error_clear(&err);
    if (cw_chroma_heartbeat(f->chroma, 1000, &err) == 0)
        return 1;
    snprintf(why, cap, "chroma: %s", err.msg);
    return 0;
}

int fx_open(fx *f, const fx_opts *o)
{
    int rc = -1;
    cw_error err;
    cw_error_clear(&err);
    memset(f, 0, sizeof *f);
    snprintf(f->collection, sizeof f->collection, "t_http_%d_%d", (int)getpid(), ++g_serial);

    f->chroma_url = o->chroma_url != NULL ? strdup(o->chroma_url) : cw_test_chroma_url();
    if (f->chroma_url == NULL) {
        fprintf(stderr, "fx: no Chroma URL (CW_TEST_CHROMA_URL_FILE)\n");
        goto out;
    }
    const char *server_chroma = f->chroma_url;
    if (o->chroma_url == NULL) {
        f->proxy = cw_fault_proxy_start(f->chroma_url);
        if (f->proxy == NULL) {
            fprintf(stderr, "fx: fault proxy did not start\n");
            goto out;
        }
        server_chroma = cw_fault_proxy_url(f->proxy);
    }

    f->mock = cw_mock_embedder_start(0, FX_DIM);
    if (f->mock == NULL) {
        fprintf(stderr, "fx: mock embedder did not start\n");
        goto out;
    }
    cw_remote_embedder_config ec;
    memset(&ec, 0, sizeof ec);
    ec.url = cw_mock_embedder_url(f->mock);
    ec.model = "mock";
    ec.timeout_ms = 2000;
    ec.deadline_ms = o->embed_deadline_ms > 0 ? o->embed_deadline_ms : 3000;
    f->embedder = cw_embedder_openai_create(&ec, &err);
    if (f->embedder == NULL || cw_embedder_probe_dim(f->embedder, &err) != 0) {
        fprintf(stderr, "fx: embedder: %s\n", err.msg);
        goto out;
    }

    f->chroma = cw_test_chroma_open(server_chroma, f->collection);
    f->direct = cw_test_chroma_open(f->chroma_url, f->collection);
    if (f->chroma == NULL || f->direct == NULL)
        goto out;
    if (o->chroma_url == NULL && cw_chroma_ensure_collection(f->chroma, &err) != 0) {
        fprintf(stderr, "fx: ensure collection: %s\n", err.msg);
        goto out;
    }
    f->store = cw_store_chroma_create(f->chroma, &err);
    if (f->store == NULL) {
        fprintf(stderr, "fx: store: %s\n", err.msg);
        goto out;
    }
    cw_pipeline_config pc;
    cw_pipeline_config_defaults(&pc);
    if (o->queue_max > 0)
        pc.queue_max = o->queue_max;
    f->pipeline = cw_pipeline_create(&pc, f->embedder, f->store, &err);
    if (f->pipeline == NULL) {
        fprintf(stderr, "fx: pipeline: %s\n", err.msg);
        goto out;
    }

    cw_http_config hc;
    cw_http_config_defaults(&hc);
    hc.host = "127.0.0.1";
    hc.port = 0;
    if (o->max_body > 0)
        hc.max_body = o->max_body;
    if (o->request_deadline_ms > 0)
        hc.request_deadline_ms = o->request_deadline_ms;
    if (o->connection_timeout_s > 0)
        hc.connection_timeout_s = o->connection_timeout_s;
    if (o->connection_limit > 0)
        hc.connection_limit = o->connection_limit;
    if (o->max_inflight_bytes > 0)
        hc.max_inflight_bytes = o->max_inflight_bytes;
    if (o->headers_timeout_ms > 0)
        hc.headers_timeout_ms = o->headers_timeout_ms;
    hc.admin_port = o->with_admin ? http_free_port() : 0;
    hc.search_chroma = f->chroma;
    hc.search_embedder = f->embedder;
    if (o->search_limit > 0)
        hc.search_limit = o->search_limit;
    f->server = cw_http_server_start(&hc, f->pipeline, fx_ready, f, &err);
    if (f->server == NULL) {
        fprintf(stderr, "fx: server: %s\n", err.msg);
        goto out;
    }
    snprintf(f->base, sizeof f->base, "http://127.0.0.1:%u", (unsigned)cw_http_server_port(f->server));
    if (o->with_admin)
        snprintf(f->admin, sizeof f->admin, "http://127.0.0.1:%u",
                 (unsigned)cw_http_server_admin_port(f->server));
    rc = 0;
out:
    return rc;
}

void fx_close(fx *f)
{
    if (f->server != NULL) {
        cw_http_server_begin_shutdown(f->server);
        size_t left = cw_http_server_drain(f->server, cw_now_ms() + 10000);
        if (left != 0)
            fprintf(stderr, "fx: %zu requests still in flight after the drain\n", left);
    }
    if (f->pipeline != NULL)
        cw_pipeline_shutdown(f->pipeline, cw_now_ms() + 10000);
    cw_http_server_stop(f->server);
    cw_pipeline_destroy(f->pipeline);
    cw_store_destroy(f->store);
    cw_chroma_destroy(f->chroma);
    if (f->direct != NULL) {
        cw_error err;
        cw_error_clear(&err);
        if (cw_chroma_delete_collection(f->direct, &err) != 0)
            fprintf(stderr, "fx: could not delete collection %s: %s\n", f->collection, err.msg);
    }
    cw_chroma_destroy(f->direct);
    cw_embedder_destroy(f->embedder);
    cw_mock_embedder_stop(f->mock);
    cw_fault_proxy_stop(f->proxy);
    free(f->chroma_url);
    memset(f, 0, sizeof *f);
}

int fx_stored(fx *f, const char *id)
{
    return cw_test_chroma_stored(f->direct, id, NULL);
}

char *fx_stored_text(fx *f, const char *id)
{
    char *text;
    (void)cw_test_chroma_stored(f->direct, id, &text);   /* text stays NULL unless stored */
    return text;
}

size_t fx_count(fx *f)
{
    size_t n = 0;
    cw_error err;
    cw_error_clear(&err);
    if (cw_chroma_count(f->direct, &n, &err) != 0) {
        fprintf(stderr, "fx_count: %s\n", err.msg);
        return (size_t)-1;
    }
    return n;
}

cw_pipeline_stats fx_stats(fx *f)
{
    cw_pipeline_stats st;
    memset(&st, 0, sizeof st);
    cw_pipeline_stats_get(f->pipeline, &st);
    return st;
}

int fx_chroma_start(const char *dir, unsigned short port)
{
    const char *src = getenv("CW_SOURCE_DIR");
    char cmd[1024], port_arg[16] = "";
    if (port != 0)
        snprintf(port_arg, sizeof port_arg, "%u", (unsigned)port);
    snprintf(cmd, sizeof cmd, "'%s/contrib/chroma.sh' start '%s' %s >/dev/null",
             src != NULL ? src : ".", dir, port_arg);
    return system(cmd) == 0 ? 0 : -1;
}

void fx_chroma_stop(const char *dir)
{
    const char *src = getenv("CW_SOURCE_DIR");
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "'%s/contrib/chroma.sh' stop '%s' >/dev/null",
             src != NULL ? src : ".", dir);
    int rc = system(cmd);
    (void)rc;
}
