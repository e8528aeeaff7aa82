/* cw_httpc against a real HTTP server in this process (a small
 * libmicrohttpd daemon on 127.0.0.1, port 0 read back): the handle pool's
 * stack and its bound, options reset on release while the connection
 * stays, the bounded body, the options every call sets (User-Agent, the
 * JSON headers, no Expect, no redirects, the total timeout) and POST. */
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <string.h>

#include "cw_test.h"
#include "httpc.h"

/* ---- the server ----------------------------------------------------------- */

typedef struct server {
    struct MHD_Daemon *daemon;
    char url[64];                 /* http://127.0.0.1:PORT */
    pthread_mutex_t lock;         /* guards everything below */
    pthread_cond_t cond;
    int connections;              /* TCP connections accepted */
    int echo_requests;            /* requests to /echo */
    int released;                 /* the test let /hold answer */
} server;

static server S;

typedef struct req {
    char body[4096];
    size_t len;
} req;

static const char *header(struct MHD_Connection *c, const char *name)
{
    const char *v = MHD_lookup_connection_value(c, MHD_HEADER_KIND, name);
    return v != NULL ? v : "-";
}

static enum MHD_Result answer(struct MHD_Connection *c, unsigned status, const char *text,
                              const char *location)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(strlen(text), (void *)text,
                                                             MHD_RESPMEM_MUST_COPY);
    if (r == NULL)
        return MHD_NO;
    if (location != NULL)
        MHD_add_response_header(r, "Location", location);
    enum MHD_Result ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_size, void **req_cls)
{
    (void)cls;
    (void)version;
    req *rq = *req_cls;
    if (rq == NULL) {
        rq = calloc(1, sizeof *rq);
        if (rq == NULL)
            return MHD_NO;
        *req_cls = rq;
        return MHD_YES;
    }
    if (*upload_size > 0) {
        size_t n = *upload_size;
        if (n > sizeof rq->body - 1 - rq->len)
            n = sizeof rq->body - 1 - rq->len;
        memcpy(rq->body + rq->len, upload_data, n);
        rq->len += n;
        *upload_size = 0;
        return MHD_YES;
    }

    if (strcmp(url, "/echo") == 0) {
        pthread_mutex_lock(&S.lock);
        S.echo_requests++;
        pthread_mutex_unlock(&S.lock);
        char text[8192];
        snprintf(text, sizeof text,
                 "%s\nua=%s\ncontent-type=%s\naccept=%s\nexpect=%s\nauth=%s\nbody=%.*s\n",
                 method, header(c, "User-Agent"), header(c, "Content-Type"),
                 header(c, "Accept"), header(c, "Expect"), header(c, "Authorization"),
                 (int)rq->len, rq->body);
        return answer(c, 200, text, NULL);
    }
    if (strncmp(url, "/bytes/", 7) == 0) {
        static char bytes[4096];
        size_t n = strtoul(url + 7, NULL, 10);
        memset(bytes, 'b', sizeof bytes - 1);
        bytes[n < sizeof bytes ? n : sizeof bytes - 1] = '\0';
        return answer(c, 200, bytes, NULL);
    }
    if (strcmp(url, "/redirect") == 0)
        return answer(c, 302, "moved", "/echo");
    if (strcmp(url, "/hold") == 0) {
        pthread_mutex_lock(&S.lock);
        while (!S.released)
            pthread_cond_wait(&S.cond, &S.lock);
        pthread_mutex_unlock(&S.lock);
        return answer(c, 200, "late", NULL);
    }
    return answer(c, 404, "no such path", NULL);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **req_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)c;
    (void)toe;
    free(*req_cls);
    *req_cls = NULL;
}

static void on_connection(void *cls, struct MHD_Connection *c, void **socket_ctx,
                          enum MHD_ConnectionNotificationCode code)
{
    (void)cls;
    (void)c;
    (void)socket_ctx;
    if (code != MHD_CONNECTION_NOTIFY_STARTED)
        return;
    pthread_mutex_lock(&S.lock);
    S.connections++;
    pthread_mutex_unlock(&S.lock);
}

static int server_start(void)
{
    pthread_mutex_init(&S.lock, NULL);
    pthread_cond_init(&S.cond, NULL);
    struct sockaddr_in addr;
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    S.daemon = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION,
                                0, NULL, NULL, on_request, NULL,
                                MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
                                MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL,
                                MHD_OPTION_NOTIFY_CONNECTION, on_connection, NULL,
                                MHD_OPTION_END);
    if (S.daemon == NULL)
        return -1;
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(S.daemon, MHD_DAEMON_INFO_BIND_PORT);
    if (info == NULL || info->port == 0)
        return -1;
    snprintf(S.url, sizeof S.url, "http://127.0.0.1:%u", (unsigned)info->port);
    return 0;
}

static void server_stop(void)
{
    pthread_mutex_lock(&S.lock);
    S.released = 1;
    pthread_cond_broadcast(&S.cond);
    pthread_mutex_unlock(&S.lock);
    if (S.daemon != NULL)
        MHD_stop_daemon(S.daemon);
    pthread_cond_destroy(&S.cond);
    pthread_mutex_destroy(&S.lock);
}

static int counter(const int *field)
{
    pthread_mutex_lock(&S.lock);
    int v = *field;
    pthread_mutex_unlock(&S.lock);
    return v;
}

static const char *url(const char *path)
{
    static char buf[128];
    snprintf(buf, sizeof buf, "%s%s", S.url, path);
    return buf;
}

/* ---- the tests ------------------------------------------------------------ */

static void test_pool(void)
{
    cw_httpc_pool *p = cw_httpc_pool_create(1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    CURL *a = cw_httpc_pool_acquire(p);
    CURL *b = cw_httpc_pool_acquire(p);       /* none idle: a new one, never a wait */
    CU_ASSERT_PTR_NOT_NULL_FATAL(a);
    CU_ASSERT_PTR_NOT_NULL_FATAL(b);
    CU_ASSERT_PTR_NOT_EQUAL(a, b);
    cw_httpc_pool_release(p, a);
    cw_httpc_pool_release(p, b);              /* past max_idle: cleaned up */
    cw_httpc_pool_release(p, NULL);
    CURL *c = cw_httpc_pool_acquire(p);
    CU_ASSERT_PTR_EQUAL(c, a);                /* the one idle handle */
    CURL *d = cw_httpc_pool_acquire(p);
    CU_ASSERT_PTR_NOT_NULL(d);
    CU_ASSERT_PTR_NOT_EQUAL(d, a);
    cw_httpc_pool_release(p, c);
    cw_httpc_pool_release(p, d);
    cw_httpc_pool_destroy(p);
    cw_httpc_pool_destroy(NULL);

    p = cw_httpc_pool_create(0);              /* 0 counts as 1 */
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    a = cw_httpc_pool_acquire(p);
    cw_httpc_pool_release(p, a);
    CU_ASSERT_PTR_EQUAL(cw_httpc_pool_acquire(p), a);
    cw_httpc_pool_release(p, a);
    cw_httpc_pool_destroy(p);
}

static void test_body_write(void)
{
    cw_httpc_body b = { .max = 5 };
    char abc[] = "abc", de[] = "de", f[] = "f";
    CU_ASSERT_EQUAL(cw_httpc_body_write(abc, 1, 3, &b), 3);
    CU_ASSERT_STRING_EQUAL(b.data, "abc");
    CU_ASSERT_EQUAL(b.len, 3);
    CU_ASSERT_EQUAL(cw_httpc_body_write(de, 2, 1, &b), 2);
    CU_ASSERT_STRING_EQUAL(b.data, "abcde");
    CU_ASSERT_EQUAL(b.cap, 6);                /* never more than max + the NUL */
    CU_ASSERT_EQUAL(b.too_big, 0);
    CU_ASSERT_EQUAL(cw_httpc_body_write(f, 1, 1, &b), 0);
    CU_ASSERT_EQUAL(b.too_big, 1);
    CU_ASSERT_STRING_EQUAL(b.data, "abcde");  /* what fit is kept */
    cw_httpc_body_clear(&b);
    CU_ASSERT_PTR_NULL(b.data);
    CU_ASSERT_EQUAL(b.len, 0);
    CU_ASSERT_EQUAL(b.cap, 0);
    CU_ASSERT_EQUAL(b.too_big, 0);
    CU_ASSERT_EQUAL(b.max, 5);
    cw_httpc_body_clear(NULL);

    /* Growth by doubling from 4 KiB up to a large max. */
    static char chunk[3000];
    memset(chunk, 'x', sizeof chunk);
    cw_httpc_body big = { .max = 1 << 20 };
    for (int i = 0; i < 10; i++)
        CU_ASSERT_EQUAL(cw_httpc_body_write(chunk, 1, sizeof chunk, &big), sizeof chunk);
    CU_ASSERT_EQUAL(big.len, 30000);
    CU_ASSERT_EQUAL(big.cap, 32768);
    CU_ASSERT_EQUAL(big.data[30000], '\0');
    cw_httpc_body_clear(&big);
}

static void test_json_headers(void)
{
    static const char *const want[] = {
        "Content-Type: application/json", "Accept: application/json", "Expect:",
        "Authorization: Bearer t",
    };
    struct curl_slist *list = cw_httpc_json_headers("Authorization: Bearer t");
    size_t n = 0;
    for (struct curl_slist *l = list; l != NULL; l = l->next, n++) {
        CU_ASSERT_FATAL(n < 4);
        CU_ASSERT_STRING_EQUAL(l->data, want[n]);
    }
    CU_ASSERT_EQUAL(n, 4);
    curl_slist_free_all(list);

    list = cw_httpc_json_headers(NULL);
    n = 0;
    for (struct curl_slist *l = list; l != NULL; l = l->next)
        n++;
    CU_ASSERT_EQUAL(n, 3);
    curl_slist_free_all(list);
}

/* One call on a pool handle: status, body (caller clears). */
static CURLcode call(cw_httpc_pool *p, const char *path, const struct curl_slist *headers,
                     const char *post, size_t post_len, int do_post, long timeout_ms,
                     cw_httpc_body *body, long *status, long *new_connections)
{
    CURL *h = cw_httpc_pool_acquire(p);
    CU_ASSERT_PTR_NOT_NULL_FATAL(h);
    cw_httpc_prepare(h, url(path), headers, 5000, timeout_ms, body);
    if (do_post)
        cw_httpc_post(h, post, post_len);
    CURLcode rc = curl_easy_perform(h);
    *status = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, status);
    if (new_connections != NULL) {
        *new_connections = -1;
        curl_easy_getinfo(h, CURLINFO_NUM_CONNECTS, new_connections);
    }
    cw_httpc_pool_release(p, h);
    return rc;
}

static void test_calls(void)
{
    cw_httpc_pool *p = cw_httpc_pool_create(2);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    struct curl_slist *headers = cw_httpc_json_headers("Authorization: Bearer tok");
    CU_ASSERT_PTR_NOT_NULL_FATAL(headers);
    int conns0 = counter(&S.connections);

    cw_httpc_body b = { .max = 4096 };
    long status, fresh;
    CU_ASSERT_EQUAL(call(p, "/echo", headers, "{\"a\":1}", 7, 1, 10000, &b, &status, &fresh),
                    CURLE_OK);
    CU_ASSERT_EQUAL(status, 200);
    CU_ASSERT_EQUAL(fresh, 1);
    CU_ASSERT_STRING_EQUAL(b.data,
                           "POST\n"
                           "ua=cluster-whisperer/" CW_VERSION "\n"
                           "content-type=application/json\n"
                           "accept=application/json\n"
                           "expect=-\n"
                           "auth=Bearer tok\n"
                           "body={\"a\":1}\n");
    cw_httpc_body_clear(&b);

    /* The released handle kept its connection: no new one for the second
     * call, one TCP connection for both on the server. A NULL post body
     * is an empty POST; without cw_httpc_post it is a GET. */
    CU_ASSERT_EQUAL(call(p, "/echo", NULL, NULL, 0, 1, 10000, &b, &status, &fresh), CURLE_OK);
    CU_ASSERT_EQUAL(fresh, 0);
    CU_ASSERT_STRING_EQUAL(b.data,
                           "POST\n"
                           "ua=cluster-whisperer/" CW_VERSION "\n"
                           "content-type=application/x-www-form-urlencoded\n"
                           "accept=*/*\n"
                           "expect=-\n"
                           "auth=-\n"
                           "body=\n");
    cw_httpc_body_clear(&b);
    CU_ASSERT_EQUAL(call(p, "/echo", NULL, NULL, 0, 0, 10000, &b, &status, &fresh), CURLE_OK);
    CU_ASSERT_EQUAL(fresh, 0);
    CU_ASSERT_EQUAL(strncmp(b.data, "GET\n", 4), 0);
    cw_httpc_body_clear(&b);
    CU_ASSERT_EQUAL(counter(&S.connections), conns0 + 1);

    /* Release resets every option: a call with none set has no URL. */
    CURL *h = cw_httpc_pool_acquire(p);
    CU_ASSERT_PTR_NOT_NULL_FATAL(h);
    CU_ASSERT_EQUAL(curl_easy_perform(h), CURLE_URL_MALFORMAT);
    cw_httpc_pool_release(p, h);

    curl_slist_free_all(headers);
    cw_httpc_pool_destroy(p);
}

static void test_bounded_body(void)
{
    cw_httpc_pool *p = cw_httpc_pool_create(1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    cw_httpc_body b = { .max = 10 };
    long status;
    CU_ASSERT_EQUAL(call(p, "/bytes/10", NULL, NULL, 0, 0, 10000, &b, &status, NULL), CURLE_OK);
    CU_ASSERT_EQUAL(b.len, 10);
    CU_ASSERT_STRING_EQUAL(b.data, "bbbbbbbbbb");
    CU_ASSERT_EQUAL(b.too_big, 0);
    cw_httpc_body_clear(&b);
    CU_ASSERT_EQUAL(call(p, "/bytes/11", NULL, NULL, 0, 0, 10000, &b, &status, NULL),
                    CURLE_WRITE_ERROR);
    CU_ASSERT_EQUAL(b.too_big, 1);
    cw_httpc_body_clear(&b);
    cw_httpc_pool_destroy(p);
}

static void test_no_redirect(void)
{
    cw_httpc_pool *p = cw_httpc_pool_create(1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    int echo0 = counter(&S.echo_requests);
    cw_httpc_body b = { .max = 4096 };
    long status;
    CU_ASSERT_EQUAL(call(p, "/redirect", NULL, NULL, 0, 0, 10000, &b, &status, NULL), CURLE_OK);
    CU_ASSERT_EQUAL(status, 302);
    CU_ASSERT_STRING_EQUAL(b.data, "moved");
    CU_ASSERT_EQUAL(counter(&S.echo_requests), echo0);    /* Location not followed */
    cw_httpc_body_clear(&b);
    cw_httpc_pool_destroy(p);
}

static void test_timeout(void)
{
    /* The server holds the answer until the test lets it go, which is
     * after the call returned: only the total timeout can have ended it
     * (whether it struck before or after the request arrived). */
    cw_httpc_pool *p = cw_httpc_pool_create(1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    cw_httpc_body b = { .max = 4096 };
    long status;
    CU_ASSERT_EQUAL(call(p, "/hold", NULL, NULL, 0, 0, 300, &b, &status, NULL),
                    CURLE_OPERATION_TIMEDOUT);
    CU_ASSERT_EQUAL(status, 0);
    CU_ASSERT_PTR_NULL(b.data);
    pthread_mutex_lock(&S.lock);
    CU_ASSERT_EQUAL(S.released, 0);      /* no answer could have been sent */
    S.released = 1;
    pthread_cond_broadcast(&S.cond);
    pthread_mutex_unlock(&S.lock);
    cw_httpc_pool_destroy(p);
}

int main(void)
{
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK || server_start() != 0) {
        fprintf(stderr, "test_httpc: cannot start curl or the local server\n");
        return 1;
    }
    CU_TestInfo tests[] = {
        { "pool: a stack of at most max_idle, acquire never waits", test_pool },
        { "body: bounded by max, cap at most max + 1, clear keeps max", test_body_write },
        { "JSON headers: content type, accept, no Expect, the extra line", test_json_headers },
        { "calls: user agent, headers, POST bodies, the connection kept", test_calls },
        { "a body past max fails the call with too_big set", test_bounded_body },
        { "redirects are answers, not followed", test_no_redirect },
        { "the total timeout ends a call the server holds", test_timeout },
        CU_TEST_INFO_NULL,
    };
    int rc = cw_test_run("httpc", tests);
    server_stop();
    curl_global_cleanup();
    return rc;
}
