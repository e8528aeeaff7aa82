#include "fault_proxy.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <curl/curl.h>
#include <microhttpd.h>

#define MAX_PATHS 128
#define MAX_BODY (64u * 1024u * 1024u)

typedef struct path_count {
    char *path;
    unsigned long n;
} path_count;

struct cw_fault_proxy {
    struct MHD_Daemon *daemon;
    char *upstream;
    char url[64];
    pthread_mutex_t lock;          /* guards the fields below */
    char *fail_suffix;             /* NULL: nothing armed */
    int fail_status;
    int fail_count;                /* -1: forever */
    char *delay_suffix;            /* NULL: nothing delayed */
    int delay_ms;
    int delay_count;               /* -1: forever */
    unsigned long cut_off;         /* requests not answered to the end */
    char *gate_header;             /* NULL: no auth gate */
    char *gate_value;
    unsigned long refused;         /* requests the gate answered 401 */
    path_count paths[MAX_PATHS];
    size_t n_paths;
};

typedef struct buf {
    char *data;
    size_t len;
    int failed;
} buf;

static void buf_add(buf *b, const char *data, size_t n)
{
    if (b->failed)
        return;
    if (b->len + n > MAX_BODY) {
        b->failed = 1;
        return;
    }
    char *nd = realloc(b->data, b->len + n + 1);
    if (nd == NULL) {
        b->failed = 1;
        return;
    }
    b->data = nd;
    memcpy(b->data + b->len, data, n);
    b->len += n;
    b->data[b->len] = '\0';
}

static int ends_with(const char *s, const char *suffix)
{
    size_t ls = strlen(s), lx = strlen(suffix);
    return ls >= lx && strcmp(s + ls - lx, suffix) == 0;
}

/* Count the call; return the status to inject, or 0 to forward after
 * *delay_ms. */
static int note_call(cw_fault_proxy *p, const char *path, int *delay_ms)
{
    int status = 0;
    *delay_ms = 0;
    pthread_mutex_lock(&p->lock);
    size_t i;
    for (i = 0; i < p->n_paths; i++)
        if (strcmp(p->paths[i].path, path) == 0)
            break;
    if (i == p->n_paths && p->n_paths < MAX_PATHS) {
        p->paths[i].path = strdup(path);
        if (p->paths[i].path != NULL)
            p->n_paths++;
    }
    if (i < p->n_paths)
        p->paths[i].n++;
    if (p->fail_suffix != NULL && p->fail_count != 0 && ends_with(path, p->fail_suffix)) {
        status = p->fail_status;
        if (p->fail_count > 0)
            p->fail_count--;
    }
    if (p->delay_suffix != NULL && p->delay_count != 0 && ends_with(path, p->delay_suffix)) {
        *delay_ms = p->delay_ms;
        if (p->delay_count > 0)
            p->delay_count--;
    }
    pthread_mutex_unlock(&p->lock);
    return status;
}

typedef struct query {
    CURL *curl;
    buf out;
} query;

static enum MHD_Result add_arg(void *cls, enum MHD_ValueKind kind, const char *key,
                               const char *value)
{
    query *q = cls;
    (void)kind;
    buf_add(&q->out, q->out.len == 0 ? "?" : "&", 1);
    char *k = curl_easy_escape(q->curl, key, 0);
    char *v = value != NULL ? curl_easy_escape(q->curl, value, 0) : NULL;
    if (k != NULL)
        buf_add(&q->out, k, strlen(k));
    if (v != NULL) {
        buf_add(&q->out, "=", 1);
        buf_add(&q->out, v, strlen(v));
    }
    curl_free(k);
    curl_free(v);
    return MHD_YES;
}

static size_t on_data(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    buf_add(userdata, ptr, size * nmemb);
    return size * nmemb;
}

static enum MHD_Result answer(struct MHD_Connection *conn, int status, const char *ctype,
                              const char *body, size_t len)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
    if (r == NULL)
        return MHD_NO;
    if (ctype != NULL)
        MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
    enum MHD_Result ok = MHD_queue_response(conn, (unsigned)status, r);
    MHD_destroy_response(r);
    return ok;
}

static enum MHD_Result forward(cw_fault_proxy *p, struct MHD_Connection *conn, const char *url,
                               const char *method, const buf *body)
{
    CURL *curl = curl_easy_init();
    if (curl == NULL)
        return answer(conn, 502, NULL, "", 0);
    query q = { curl, { NULL, 0, 0 } };
    MHD_get_connection_values(conn, MHD_GET_ARGUMENT_KIND, add_arg, &q);
    buf target = { NULL, 0, 0 };
    buf_add(&target, p->upstream, strlen(p->upstream));
    buf_add(&target, url, strlen(url));
    if (q.out.len > 0)
        buf_add(&target, q.out.data, q.out.len);
    buf reply = { NULL, 0, 0 };
    struct curl_slist *headers = NULL;
    const char *ctype = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Type");
    char line[256];
    snprintf(line, sizeof line, "Content-Type: %s", ctype != NULL ? ctype : "application/json");
    headers = curl_slist_append(headers, line);
    headers = curl_slist_append(headers, "Expect:");

    curl_easy_setopt(curl, CURLOPT_URL, target.data);
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body->data != NULL ? body->data : "");
        curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body->len);
    }
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &reply);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, 2000L);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 120000L);
    enum MHD_Result ok;
    if (target.failed || q.out.failed) {
        ok = answer(conn, 502, NULL, "", 0);
    } else if (curl_easy_perform(curl) != CURLE_OK || reply.failed) {
        ok = answer(conn, 502, "application/json", "{\"error\":\"fault_proxy: upstream failed\"}",
                    strlen("{\"error\":\"fault_proxy: upstream failed\"}"));
    } else {
        long status = 0;
        char *rtype = NULL;
        curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
        curl_easy_getinfo(curl, CURLINFO_CONTENT_TYPE, &rtype);
        ok = answer(conn, (int)status, rtype, reply.data != NULL ? reply.data : "", reply.len);
    }
    curl_slist_free_all(headers);
    curl_easy_cleanup(curl);
    free(q.out.data);
    free(target.data);
    free(reply.data);
    return ok;
}

/* 1 when no gate is up or the request carries its header and value;
 * else counts the refusal and returns 0. */
static int gate_passes(cw_fault_proxy *p, struct MHD_Connection *conn)
{
    pthread_mutex_lock(&p->lock);
    int ok = 1;
    if (p->gate_header != NULL) {
        const char *v = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, p->gate_header);
        ok = v != NULL && strcmp(v, p->gate_value) == 0;
        if (!ok)
            p->refused++;
    }
    pthread_mutex_unlock(&p->lock);
    return ok;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_data_size,
                                  void **req_cls)
{
    cw_fault_proxy *p = cls;
    (void)version;
    buf *body = *req_cls;
    if (body == NULL) {
        body = calloc(1, sizeof *body);
        if (body == NULL)
            return MHD_NO;
        *req_cls = body;
        return MHD_YES;
    }
    if (*upload_data_size != 0) {
        buf_add(body, upload_data, *upload_data_size);
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (!gate_passes(p, conn)) {
        static const char denied[] = "{\"error\":\"AuthError\",\"message\":\"Unauthorized\"}";
        return answer(conn, 401, "application/json", denied, strlen(denied));
    }
    int delay_ms = 0;
    int status = note_call(p, url, &delay_ms);
    if (status == 0 && delay_ms > 0) {
        struct timespec ts = { delay_ms / 1000, (long)(delay_ms % 1000) * 1000000L };
        while (nanosleep(&ts, &ts) != 0)
            ;
    }
    if (status != 0) {
        char msg[96];
        snprintf(msg, sizeof msg, "{\"error\":\"fault_proxy: injected HTTP %d\"}", status);
        return answer(conn, status, "application/json", msg, strlen(msg));
    }
    return forward(p, conn, url, method, body);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **req_cls,
                         enum MHD_RequestTerminationCode toe)
{
    cw_fault_proxy *p = cls;
    (void)conn;
    buf *body = *req_cls;
    if (body != NULL && toe != MHD_REQUEST_TERMINATED_COMPLETED_OK) {
        pthread_mutex_lock(&p->lock);
        p->cut_off++;
        pthread_mutex_unlock(&p->lock);
    }
    if (body != NULL) {
        free(body->data);
        free(body);
    }
    *req_cls = NULL;
}

static cw_fault_proxy *start(const char *upstream, const char *cert_pem, const char *key_pem);

cw_fault_proxy *cw_fault_proxy_start(const char *upstream)
{
    return start(upstream, NULL, NULL);
}

cw_fault_proxy *cw_fault_proxy_start_tls(const char *upstream, const char *cert_pem,
                                         const char *key_pem)
{
    return start(upstream, cert_pem, key_pem);
}

static cw_fault_proxy *start(const char *upstream, const char *cert_pem, const char *key_pem)
{
    cw_fault_proxy *p = calloc(1, sizeof *p);
    if (p == NULL)
        return NULL;
    if (pthread_mutex_init(&p->lock, NULL) != 0) {
        free(p);
        return NULL;
    }
    p->upstream = strdup(upstream);
    if (p->upstream == NULL)
        goto fail;
    size_t n = strlen(p->upstream);
    while (n > 0 && p->upstream[n - 1] == '/')
        p->upstream[--n] = '\0';
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    unsigned flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL;
    if (cert_pem != NULL)
        p->daemon = MHD_start_daemon(flags | MHD_USE_TLS, 0, NULL, NULL, on_request, p,
                                     MHD_OPTION_SOCK_ADDR, &sa,
                                     MHD_OPTION_NOTIFY_COMPLETED, on_completed, p,
                                     MHD_OPTION_HTTPS_MEM_CERT, cert_pem,
                                     MHD_OPTION_HTTPS_MEM_KEY, key_pem, MHD_OPTION_END);
    else
        p->daemon = MHD_start_daemon(flags, 0, NULL, NULL, on_request, p,
                                     MHD_OPTION_SOCK_ADDR, &sa,
                                     MHD_OPTION_NOTIFY_COMPLETED, on_completed, p, MHD_OPTION_END);
    if (p->daemon == NULL)
        goto fail;
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(p->daemon, MHD_DAEMON_INFO_BIND_PORT);
    if (info == NULL)
        goto fail;
    snprintf(p->url, sizeof p->url, "%s://127.0.0.1:%u", cert_pem != NULL ? "https" : "http",
             (unsigned)info->port);
    return p;
fail:
    cw_fault_proxy_stop(p);
    return NULL;
}

void cw_fault_proxy_stop(cw_fault_proxy *p)
{
    if (p == NULL)
        return;
    if (p->daemon != NULL)
        MHD_stop_daemon(p->daemon);
    for (size_t i = 0; i < p->n_paths; i++)
        free(p->paths[i].path);
    free(p->fail_suffix);
    free(p->delay_suffix);
    free(p->gate_header);
    free(p->gate_value);
    free(p->upstream);
    pthread_mutex_destroy(&p->lock);
    free(p);
}

const char *cw_fault_proxy_url(const cw_fault_proxy *p)
{
    return p->url;
}

void cw_fault_proxy_fail(cw_fault_proxy *p, const char *suffix, int status, int count)
{
    char *copy = suffix != NULL ? strdup(suffix) : NULL;
    pthread_mutex_lock(&p->lock);
    free(p->fail_suffix);
    p->fail_suffix = copy;
    p->fail_status = status;
    p->fail_count = copy != NULL ? count : 0;
    pthread_mutex_unlock(&p->lock);
}

void cw_fault_proxy_require(cw_fault_proxy *p, const char *header, const char *value)
{
    char *h = header != NULL ? strdup(header) : NULL;
    char *v = header != NULL ? strdup(value) : NULL;
    pthread_mutex_lock(&p->lock);
    free(p->gate_header);
    free(p->gate_value);
    p->gate_header = h != NULL && v != NULL ? h : NULL;
    p->gate_value = h != NULL && v != NULL ? v : NULL;
    if (p->gate_header == NULL) {
        free(h);
        free(v);
    }
    pthread_mutex_unlock(&p->lock);
}

unsigned long cw_fault_proxy_refused(cw_fault_proxy *p)
{
    pthread_mutex_lock(&p->lock);
    unsigned long n = p->refused;
    pthread_mutex_unlock(&p->lock);
    return n;
}

unsigned long cw_fault_proxy_calls(cw_fault_proxy *p, const char *suffix)
{
    unsigned long n = 0;
    pthread_mutex_lock(&p->lock);
    for (size_t i = 0; i < p->n_paths; i++)
        if (ends_with(p->paths[i].path, suffix))
            n += p->paths[i].n;
    pthread_mutex_unlock(&p->lock);
    return n;
}

void cw_fault_proxy_delay(cw_fault_proxy *p, const char *suffix, int ms, int count)
{
    char *copy = suffix != NULL ? strdup(suffix) : NULL;
    pthread_mutex_lock(&p->lock);
    free(p->delay_suffix);
    p->delay_suffix = copy;
    p->delay_ms = ms;
    p->delay_count = copy != NULL ? count : 0;
    pthread_mutex_unlock(&p->lock);
}

unsigned long cw_fault_proxy_cut_off(cw_fault_proxy *p)
{
    pthread_mutex_lock(&p->lock);
    unsigned long n = p->cut_off;
    pthread_mutex_unlock(&p->lock);
    return n;
}
