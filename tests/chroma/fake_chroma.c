/* fake_chroma — see fake_chroma.h. */
#include "fake_chroma.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct fake_chroma {
    struct MHD_Daemon *daemon;
    char url[64];
    pthread_mutex_t lock;    /* guards mode, delay_ms, connections, requests */
    fake_mode mode;
    long delay_ms;
    unsigned long connections;
    unsigned long requests;
};

static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
                          enum MHD_ConnectionNotificationCode toe)
{
    (void)conn;
    (void)socket_context;
    fake_chroma *f = cls;
    if (toe != MHD_CONNECTION_NOTIFY_STARTED)
        return;
    pthread_mutex_lock(&f->lock);
    f->connections++;
    pthread_mutex_unlock(&f->lock);
}

static enum MHD_Result reply(struct MHD_Connection *conn, unsigned status, const char *body)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(strlen(body), (void *)body, MHD_RESPMEM_MUST_COPY);
    if (r == NULL)
        return MHD_NO;
    MHD_add_response_header(r, "Content-Type", "application/json");
    enum MHD_Result ret = MHD_queue_response(conn, status, r);
    MHD_destroy_response(r);
    return ret;
}

static int ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && strcmp(s + a - b, suffix) == 0;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_data_size,
                                  void **req_cls)
{
    (void)method;
    (void)version;
    (void)upload_data;
    fake_chroma *f = cls;
    if (*req_cls == NULL) {          /* headers call */
        *req_cls = f;
        return MHD_YES;
    }
    if (*upload_data_size > 0) {     /* the body is ignored */
        *upload_data_size = 0;
        return MHD_YES;
    }
    pthread_mutex_lock(&f->lock);
    fake_mode mode = f->mode;
    long delay_ms = f->delay_ms;
    f->requests++;
    pthread_mutex_unlock(&f->lock);

    if (strcmp(url, "/api/v2/heartbeat") == 0)
        return reply(conn, 200, "{\"nanosecond heartbeat\":1}");
    if (strcmp(url, "/api/v2/pre-flight-checks") == 0)
        return reply(conn, 200, "{\"max_batch_size\":100}");
    if (ends_with(url, "/collections"))
        return reply(conn, 200, "{\"id\":\"fake-id\",\"name\":\"fake\",\"configuration_json\":"
                                "{\"hnsw\":{\"space\":\"cosine\"}},\"dimension\":null}");
    if (mode == FAKE_FAIL_500)
        return reply(conn, 500, "{\"error\":\"ChromaError\",\"message\":\"Error sending message "
                                "to compactor\"}");
    if (mode == FAKE_FAIL_401)
        return reply(conn, 401, "{\"error\":\"AuthError\",\"message\":\"Unauthorized\"}");
    if (mode == FAKE_SLOW) {
        struct timespec ts = { delay_ms / 1000, (delay_ms % 1000) * 1000000L };
        nanosleep(&ts, NULL);
    }
    if (ends_with(url, "/count"))
        return reply(conn, 200, "7");
    if (ends_with(url, "/get"))
        return reply(conn, 200, "{\"ids\":[],\"embeddings\":[],\"documents\":[],\"metadatas\":[]}");
    return reply(conn, 200, "{}");
}

fake_chroma *fake_chroma_start(void)
{
    fake_chroma *f = calloc(1, sizeof(*f));
    if (f == NULL)
        return NULL;
    pthread_mutex_init(&f->lock, NULL);
    struct sockaddr_in addr = { .sin_family = AF_INET, .sin_port = 0 };
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    f->daemon = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION |
                                     MHD_USE_POLL,
                                 0, NULL, NULL, on_request, f,
                                 MHD_OPTION_NOTIFY_CONNECTION, on_connection, f,
                                 MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
                                 MHD_OPTION_END);
    if (f->daemon == NULL) {
        fake_chroma_stop(f);
        return NULL;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(f->daemon, MHD_DAEMON_INFO_BIND_PORT);
    snprintf(f->url, sizeof(f->url), "http://127.0.0.1:%u", info != NULL ? info->port : 0);
    return f;
}

void fake_chroma_stop(fake_chroma *f)
{
    if (f == NULL)
        return;
    if (f->daemon != NULL)
        MHD_stop_daemon(f->daemon);
    pthread_mutex_destroy(&f->lock);
    free(f);
}

const char *fake_chroma_url(const fake_chroma *f)
{
    return f->url;
}

void fake_chroma_set(fake_chroma *f, fake_mode mode, long delay_ms)
{
    pthread_mutex_lock(&f->lock);
    f->mode = mode;
    f->delay_ms = delay_ms;
    pthread_mutex_unlock(&f->lock);
}

unsigned long fake_chroma_connections(fake_chroma *f)
{
    pthread_mutex_lock(&f->lock);
    unsigned long n = f->connections;
    pthread_mutex_unlock(&f->lock);
    return n;
}

unsigned long fake_chroma_requests(fake_chroma *f)
{
    pthread_mutex_lock(&f->lock);
    unsigned long n = f->requests;
    pthread_mutex_unlock(&f->lock);
    return n;
}
