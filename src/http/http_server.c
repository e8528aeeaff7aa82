/* The libmicrohttpd transport: daemons, the request lifecycle of
 * largepost.c (context in *req_cls, checks on the headers call, each body
 * chunk consumed, the answer on the final call, the context freed in the
 * completed callback and nowhere else), in-flight accounting and drain.
 *
 * The request deadline while a body is read: libmicrohttpd's connection
 * timeout only counts idle time, so a body dripped byte by byte would
 * live forever. From the headers of a request with a body to its final
 * call, the connection's timeout is the time left to the deadline (whole
 * seconds, re-armed at every chunk), and a chunk arriving after the
 * deadline closes the connection: a body still arriving at the deadline
 * is cut there (without an answer — 0.9.75 cannot queue one mid-body —
 * which the controller retries like any network error).
 *
 * Before the headers are in there is no request yet, and the idle timeout
 * restarts at every byte, so headers dripped byte by byte would hold a
 * connection forever. Every connection is watched from its accept (and
 * again after each answer) until its next request's headers are in: the
 * `reaper` thread shuts down the socket of one that has not delivered them
 * in time: headers_timeout_ms from its accept for its first request,
 * max(request deadline, idle timeout) from an answer for the next one. */
#include "http_server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <malloc.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <microhttpd.h>

#include "access_log.h"
#include "answer.h"
#include "cluster.h"
#include "cw_log.h"
#include "cw_time.h"
#include "metrics.h"
#include "request.h"
#include "auth.h"
#include "routes.h"

#define RETRY_BUSY_S 1               /* Retry-After when every sync slot is busy */
#define MAX_FIELDS 100               /* header fields a request may have (400 beyond) */
#define TRIM_MIN_BYTES (1024u * 1024u) /* a handled body this big is worth a malloc_trim */

/* *req_cls of a request answered 503 because its context could not be
 * allocated: never freed, its body is discarded. */
static char no_context_mark;
#define NO_CONTEXT ((void *)&no_context_mark)

typedef struct listener listener;

/* An open connection, watched while it waits for the headers of a request. */
typedef struct conn_watch {
    struct conn_watch *prev, *next;  /* newest first */
    listener *l;
    MHD_socket fd;               /* libmicrohttpd's; only shut down, never closed here */
    int64_t deadline_ms;         /* headers due by then; 0: a request is being served */
    int cut;                     /* shut down by the reaper or an eviction, not yet closed */
    const char *raw_uri;         /* the request target as received (on_uri); these three */
    size_t raw_uri_len;          /* are the connection thread's alone, never locked */
    int raw_uri_pct00;
} conn_watch;

struct listener {
    cw_http_server *server;
    struct MHD_Daemon *daemon;
    int admin;                   /* 1: probes and metrics only */
    unsigned short port;         /* the real bound port */
    MHD_socket quiesced;         /* listen socket handed back by quiesce */
    unsigned limit;              /* libmicrohttpd's connection limit for it */
    unsigned open;               /* watched connections (server lock) */
    unsigned cut;                /* of those, shut down and not yet closed (server lock) */
};

struct cw_http_server {
    cw_http_config cfg;          /* copy; cfg.host points at `host`, cfg.default_cluster at
                                    `default_cluster` */
    char *host;
    char *default_cluster;       /* NULL: none */
    cw_pipeline *pipeline;       /* borrowed */
    cw_http_ready_fn ready;
    void *ready_ctx;             /* borrowed */
    cw_http_metrics *metrics;
    cw_http_auth *auth;          /* NULL: no --auth-token-file */
    listener main;
    listener admin;
    int lock_ready;              /* lock and cond initialised */
    pthread_mutex_t lock;        /* guards in_flight, sync_active, sync_bytes, search_active,
                                    shutting_down, handling, watches (and listener open/cut),
                                    reaper_stop */
    pthread_cond_t idle;         /* signalled whenever in_flight drops */
    pthread_cond_t reaper_wake;  /* signalled to stop the reaper */
    pthread_t reaper;
    int reaper_running;
    int reaper_stop;
    conn_watch *watches;         /* every open connection (both listeners) */
    size_t in_flight;            /* requests between headers and completion */
    size_t sync_active;          /* sync requests holding a slot (≤ connection_limit) */
    size_t sync_bytes;           /* body bytes those requests received and hold (≤ max_inflight_bytes) */
    unsigned search_active;      /* searches between their headers and their answer */
    size_t handling;             /* estimated memory of the bodies being handled (≤ max_handling_bytes) */
    int shutting_down;
};

void cw_http_config_defaults(cw_http_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->host = "0.0.0.0";
    cfg->port = 3000;
    cfg->admin_port = 0;
    cfg->max_body = 5u * 1024u * 1024u;
    cfg->connection_limit = 256;
    cfg->max_inflight_bytes = 64u * 1024u * 1024u;
    cfg->connection_timeout_s = 30;
    cfg->request_deadline_ms = 25000;
    cfg->thread_stack_size = 256u * 1024u;
    cfg->search_limit = 4;
    cfg->headers_timeout_ms = 5000;
    cfg->body_stall_s = 5;
    cfg->body_min_rate = 1024;
    cfg->max_handling_bytes = 128u * 1024u * 1024u;
}

void cw_http_tune_malloc(void)
{
    if (mallopt(M_ARENA_MAX, 2) != 1 || mallopt(M_MMAP_THRESHOLD, 128 * 1024) != 1
        || mallopt(M_TRIM_THRESHOLD, 128 * 1024) != 1)
        cw_log_debug("http: mallopt refused a setting (not glibc's allocator?)");
}

unsigned long cw_http_raise_fd_limit(unsigned long *before)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return 0;
    if (before != NULL)
        *before = (unsigned long)rl.rlim_cur;
    rlim_t want = rl.rlim_max == RLIM_INFINITY ? (rlim_t)1 << 20 : rl.rlim_max;
    if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < want) {
        rlim_t was = rl.rlim_cur;
        rl.rlim_cur = want;
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
            rl.rlim_cur = was;
    }
    return rl.rlim_cur == RLIM_INFINITY ? ULONG_MAX : (unsigned long)rl.rlim_cur;
}

/* Descriptors besides the listeners' connections: Chroma and embedder
 * pools, the journal, logs, the listening sockets themselves. */
#define FD_HEADROOM 64

/* One line when the listeners could hold more connections than the process
 * may open files: accept() would fail before our own limits answer. */
static void warn_if_fds_short(const cw_http_server *s)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY)
        return;
    unsigned long need = s->main.limit + (s->admin.daemon != NULL ? s->admin.limit : 0) + FD_HEADROOM;
    if ((unsigned long)rl.rlim_cur < need)
        cw_log_warn("http: the open-file limit (%lu) is below the %lu descriptors the listeners "
                    "may need: raise the nofile limit (ulimit -n, the container runtime's) or "
                    "lower --connection-limit", (unsigned long)rl.rlim_cur, need);
}

/* ---- small helpers ------------------------------------------------------ */

static int is_shutting_down(cw_http_server *s)
{
    pthread_mutex_lock(&s->lock);
    int v = s->shutting_down;
    pthread_mutex_unlock(&s->lock);
    return v;
}

static void log_mhd(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    char msg[512];
    vsnprintf(msg, sizeof msg, fmt, ap);
    size_t n = strlen(msg);
    while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
        msg[--n] = '\0';
    cw_log_warn("http: %s", msg);
}

/* Gather the framing headers (MHD_KeyValueIterator). */
static enum MHD_Result collect_header(void *cls, enum MHD_ValueKind kind, const char *key,
                                      const char *value)
{
    cw_http_head *h = cls;
    (void)kind;
    if (strcasecmp(key, "Content-Length") == 0) {
        if (h->content_length_count++ == 0)
            h->content_length = value;
    } else if (strcasecmp(key, "Transfer-Encoding") == 0) {
        if (h->transfer_encoding_count++ == 0)
            h->transfer_encoding = value;
    } else if (strcasecmp(key, "Content-Type") == 0) {
        if (h->content_type == NULL)
            h->content_type = value;
    } else if (strcasecmp(key, "Authorization") == 0) {
        if (h->authorization == NULL)
            h->authorization = value;
    }
    return MHD_YES;
}

/* Gather the URL query parameters (MHD_KeyValueIteratorN): decoded, with
 * their lengths, so that an escaped NUL (%00) is seen. */
static enum MHD_Result collect_arg(void *cls, enum MHD_ValueKind kind, const char *key,
                                   size_t key_size, const char *value, size_t value_size)
{
    cw_http_args *args = cls;
    (void)kind;
    (void)key_size;
    if (args->len == CW_HTTP_MAX_ARGS) {
        args->more = 1;
        return MHD_NO;
    }
    args->items[args->len++] = (cw_http_arg){ key, value, value != NULL ? value_size : 0 };
    return MHD_YES;
}

/* Count the "cluster" query parameters and keep the first
 * (MHD_KeyValueIteratorN; every parameter is seen, however many). */
static enum MHD_Result collect_cluster_arg(void *cls, enum MHD_ValueKind kind, const char *key,
                                           size_t key_size, const char *value, size_t value_size)
{
    cw_http_head *h = cls;
    (void)kind;
    if (key_size != 7 || memcmp(key, "cluster", 7) != 0)
        return MHD_YES;
    if (h->cluster_arg_count++ == 0) {
        h->cluster_arg = value;
        h->cluster_arg_len = value != NULL ? value_size : 0;
    }
    return MHD_YES;
}

/* Turn `a` into the response: the one place an answer meets libmicrohttpd.
 * Clears `a`. `r` may be NULL (no request context: out of memory). */
static enum MHD_Result send_answer(listener *l, struct MHD_Connection *conn,
                                   cw_http_request *r, cw_http_answer *a)
{
    cw_http_server *s = l->server;
    if (!l->admin && is_shutting_down(s))
        a->close = 1;
    size_t len = 0;
    const char *bytes = cw_http_answer_bytes(a, &len);
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(len, (void *)bytes, MHD_RESPMEM_MUST_COPY);
    if (resp == NULL) {
        cw_http_answer_clear(a);
        return MHD_NO;
    }
    enum MHD_Result ok = MHD_YES;
    if (MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, a->content_type) != MHD_YES)
        ok = MHD_NO;
    if (a->allow != NULL && MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, a->allow) != MHD_YES)
        ok = MHD_NO;
    if (a->www_authenticate != NULL &&
        MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE, a->www_authenticate) != MHD_YES)
        ok = MHD_NO;
    if (a->retry_after_s > 0) {
        char secs[16];
        snprintf(secs, sizeof secs, "%d", a->retry_after_s);
        if (MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, secs) != MHD_YES)
            ok = MHD_NO;
    }
    if (a->close && MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close") != MHD_YES)
        ok = MHD_NO;
    if (ok == MHD_YES)
        ok = MHD_queue_response(conn, a->status, resp);
    MHD_destroy_response(resp);
    cw_http_access_done(s->metrics, s->cfg.log_probes, r, a);
    if (r != NULL)
        r->answered = 1;
    cw_http_answer_clear(a);
    return ok;
}

/* ---- headers deadline (the reaper) ------------------------------------- */

/* How long a connection may take to deliver a request's headers. */
static int64_t headers_allowance_ms(const cw_http_server *s)
{
    int64_t idle = 1000 * (int64_t)s->cfg.connection_timeout_s;
    return idle > s->cfg.request_deadline_ms ? idle : s->cfg.request_deadline_ms;
}

/* How long a new connection may take to deliver its first request's headers. */
static int64_t first_headers_allowance_ms(const cw_http_server *s)
{
    int64_t later = headers_allowance_ms(s);
    int64_t first = s->cfg.headers_timeout_ms;
    return first > 0 && first < later ? first : later;
}

/* The watch of `conn` (NULL when it could not be allocated). */
static conn_watch *watch_of(struct MHD_Connection *conn)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    return ci != NULL ? ci->socket_context : NULL;
}

/* Headers in (`waiting` 0) or the next request's headers awaited (1). */
static void watch_set(cw_http_server *s, struct MHD_Connection *conn, int waiting)
{
    conn_watch *w = watch_of(conn);
    if (w == NULL)
        return;
    pthread_mutex_lock(&s->lock);
    w->deadline_ms = waiting ? cw_now_ms() + headers_allowance_ms(s) : 0;
    pthread_mutex_unlock(&s->lock);
}

/* Shut down `w`'s socket (its connection thread then sees the end of the
 * stream and closes it). Server lock held. */
static void watch_cut(conn_watch *w)
{
    shutdown(w->fd, SHUT_RDWR);
    w->deadline_ms = 0;
    w->cut = 1;
    w->l->cut++;
}

/* While `l` has fewer than CW_HTTP_EVICT_MARGIN places left (counting
 * connections already cut as gone), cut its oldest connection waiting for
 * request headers. Returns how many were cut. Server lock held; runs on
 * the listener thread (from the accept notification), so a flood of idle
 * sockets never fills the listener: the newest connection, a probe that
 * sends its request at once, always gets in. */
static unsigned evict_idle(listener *l)
{
    cw_http_server *s = l->server;
    unsigned evicted = 0;
    unsigned room = l->limit > CW_HTTP_EVICT_MARGIN ? l->limit - CW_HTTP_EVICT_MARGIN : 1;
    conn_watch *oldest = NULL;
    for (conn_watch *w = s->watches; w != NULL; w = w->next)
        oldest = w;
    for (conn_watch *w = oldest; w != NULL && l->open - l->cut > room; w = w->prev) {
        if (w->l == l && !w->cut && w->deadline_ms != 0 && w != s->watches) {
            watch_cut(w);
            evicted++;
        }
    }
    return evicted;
}

/* MHD_OPTION_NOTIFY_CONNECTION: watch each connection from its accept to
 * its close. libmicrohttpd calls CLOSED before it closes the socket, so the
 * reaper never shuts down a descriptor that was reused. */
static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
                          enum MHD_ConnectionNotificationCode toe)
{
    listener *l = cls;
    cw_http_server *s = l->server;
    conn_watch *w = *socket_context;
    if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
        w = ci != NULL ? calloc(1, sizeof *w) : NULL;
        if (w == NULL)
            return;                          /* unwatched: only the idle timeout applies */
        w->fd = ci->connect_fd;
        w->l = l;
        pthread_mutex_lock(&s->lock);
        w->deadline_ms = cw_now_ms() + first_headers_allowance_ms(s);
        w->next = s->watches;
        if (s->watches != NULL)
            s->watches->prev = w;
        s->watches = w;
        l->open++;
        unsigned evicted = evict_idle(l);
        pthread_mutex_unlock(&s->lock);
        *socket_context = w;
        if (evicted > 0) {
            cw_http_metrics_guard(s->metrics, CW_GUARD_IDLE_EVICTED, evicted);
            cw_log_debug("http: %s listener nearly full: cut %u connection(s) waiting for headers",
                         l->admin ? "admin" : "main", evicted);
        }
        return;
    }
    if (w == NULL)
        return;
    pthread_mutex_lock(&s->lock);
    l->open--;
    if (w->cut)
        l->cut--;
    if (w->prev != NULL)
        w->prev->next = w->next;
    else
        s->watches = w->next;
    if (w->next != NULL)
        w->next->prev = w->prev;
    pthread_mutex_unlock(&s->lock);
    free(w);
    *socket_context = NULL;
}

/* MHD_OPTION_URI_LOG_CALLBACK, on the connection thread: libmicrohttpd
 * hands over the request target as received, before it splits off the
 * query and unescapes the path in place. Note where it is and how long, for
 * cw_http_request_line_problem() on the headers call. Returns the initial
 * *req_cls: NULL, so that call creates the request. */
static void *on_uri(void *cls, const char *uri, struct MHD_Connection *conn)
{
    (void)cls;
    conn_watch *w = watch_of(conn);
    if (w != NULL) {
        w->raw_uri = uri;
        w->raw_uri_len = uri != NULL ? strlen(uri) : 0;
        w->raw_uri_pct00 = cw_http_target_has_pct00(uri);
    }
    return NULL;
}

/* The reaper thread: every 250 ms, shut down the sockets of connections
 * whose headers are overdue (their connection thread then sees the end of
 * the stream and closes them). */
static void *reaper_main(void *arg)
{
    cw_http_server *s = arg;
    pthread_mutex_lock(&s->lock);
    while (!s->reaper_stop) {
        int64_t now = cw_now_ms();
        unsigned cut = 0;
        for (conn_watch *w = s->watches; w != NULL; w = w->next) {
            if (w->deadline_ms != 0 && now >= w->deadline_ms) {
                watch_cut(w);
                cut++;
            }
        }
        if (cut > 0) {
            cw_http_metrics_guard(s->metrics, CW_GUARD_HEADERS_TIMEOUT, cut);
            cw_log_warn("http: closed %u connection(s) that sent no complete request headers "
                        "in time (%lld ms for a first request, %lld ms after an answer)", cut,
                        (long long)first_headers_allowance_ms(s), (long long)headers_allowance_ms(s));
        }
        struct timespec until = cw_abstime_in_ms(250);
        pthread_cond_timedwait(&s->reaper_wake, &s->lock, &until);
    }
    pthread_mutex_unlock(&s->lock);
    return NULL;
}

/* ---- the request lifecycle ---------------------------------------------- */

/* Give `r` one of the connection_limit sync slots. 0, or -1 with a reason
 * in msg[cap] when they are all taken. Given back in on_completed(). */
static int take_sync_slot(cw_http_server *s, cw_http_request *r, char *msg, size_t cap)
{
    int rc = -1;
    pthread_mutex_lock(&s->lock);
    if (s->sync_active >= s->cfg.connection_limit) {
        snprintf(msg, cap, "too many concurrent sync requests (limit %u)", s->cfg.connection_limit);
    } else {
        s->sync_active++;
        r->sync_slot = 1;
        rc = 0;
    }
    pthread_mutex_unlock(&s->lock);
    return rc;
}

/* Give `r` one of the search_limit search slots: 0, or -1 when all are
 * taken. Given back in on_completed(). */
static int take_search_slot(cw_http_server *s, cw_http_request *r)
{
    int rc = -1;
    pthread_mutex_lock(&s->lock);
    if (s->search_active < s->cfg.search_limit) {
        s->search_active++;
        r->search_slot = 1;
        rc = 0;
    }
    pthread_mutex_unlock(&s->lock);
    return rc;
}

/* Reserve `n` more received body bytes for `r` in the in-flight budget.
 * 0, or -1 when it is spent (unless r would hold it all alone). */
static int reserve_body(cw_http_server *s, cw_http_request *r, size_t n)
{
    int rc = -1;
    pthread_mutex_lock(&s->lock);
    size_t others = s->sync_bytes - r->reserved_bytes;
    if (others == 0 || s->sync_bytes + n <= s->cfg.max_inflight_bytes) {
        s->sync_bytes += n;
        r->reserved_bytes += n;
        rc = 0;
    }
    pthread_mutex_unlock(&s->lock);
    return rc;
}

/* Give back every body byte `r` holds (its body was freed or dropped). */
static void release_body(cw_http_server *s, cw_http_request *r)
{
    pthread_mutex_lock(&s->lock);
    s->sync_bytes -= r->reserved_bytes;
    r->reserved_bytes = 0;
    pthread_mutex_unlock(&s->lock);
}

/* Admit `cost` bytes of handling memory. 0, or -1 when the budget is spent
 * (unless this would be the only request being handled). */
static int admit_handling(cw_http_server *s, size_t cost, char *msg, size_t cap)
{
    int rc = -1;
    pthread_mutex_lock(&s->lock);
    if (s->handling == 0 || s->handling + cost <= s->cfg.max_handling_bytes) {
        s->handling += cost;
        rc = 0;
    }
    if (rc != 0)
        snprintf(msg, cap, "server busy: %zu MiB of %zu MiB of request memory in use",
                 s->handling >> 20, s->cfg.max_handling_bytes >> 20);
    pthread_mutex_unlock(&s->lock);
    return rc;
}

/* Give back handling memory; when none is left in use and a big body was
 * handled, return freed heap pages to the system. */
static void end_handling(cw_http_server *s, size_t cost, size_t body_len)
{
    pthread_mutex_lock(&s->lock);
    s->handling -= cost;
    int idle = s->handling == 0;
    pthread_mutex_unlock(&s->lock);
    if (idle && body_len >= TRIM_MIN_BYTES)
        malloc_trim(0);
}

/* Make the connection's timeout the seconds left to r's deadline (at
 * least 1, at most body_stall_s and the idle timeout), or give it back the
 * idle timeout (`on` 0). Setting it restarts libmicrohttpd's timer, so
 * while a body is read it is also the longest a body may stall. */
static void deadline_timer(cw_http_server *s, struct MHD_Connection *conn, cw_http_request *r,
                           int on)
{
    unsigned secs = s->cfg.connection_timeout_s;
    if (on) {
        int64_t left_s = (cw_ms_left(r->deadline_ms) + 999) / 1000;
        if (left_s < 1)
            left_s = 1;
        if (s->cfg.body_stall_s > 0 && (uint64_t)left_s > s->cfg.body_stall_s)
            left_s = s->cfg.body_stall_s;
        if (secs == 0 || (uint64_t)left_s < secs)
            secs = (unsigned)left_s;
    } else if (!r->deadline_timer) {
        return;
    }
    if (MHD_set_connection_option(conn, MHD_CONNECTION_OPTION_TIMEOUT, secs) != MHD_YES)
        cw_log_debug("http: could not set the connection timeout");
    r->deadline_timer = on;
}

/* The header fields in received order (MHD_KeyValueIteratorN). */
typedef struct field_list {
    cw_http_field f[MAX_FIELDS];
    size_t n;
    int overflow;
} field_list;

static enum MHD_Result collect_field(void *cls, enum MHD_ValueKind kind, const char *key,
                                     size_t key_size, const char *value, size_t value_size)
{
    field_list *fl = cls;
    (void)kind;
    if (fl->n == MAX_FIELDS) {
        fl->overflow = 1;
        return MHD_NO;
    }
    cw_http_field *f = &fl->f[fl->n++];
    f->key = key;
    f->key_len = key_size;
    f->value = value != NULL ? value : "";
    f->value_len = value != NULL ? value_size : 0;
    return MHD_YES;
}

/* Why the request's header block is malformed (cw_http_head_block_problem
 * over what libmicrohttpd left in its read buffer), or NULL. `method` and
 * `version` are libmicrohttpd's pointers into that buffer. */
static const char *header_problem(struct MHD_Connection *conn, const char *method,
                                  const char *version)
{
    field_list *fl = calloc(1, sizeof *fl);
    if (fl == NULL)
        return NULL;                    /* no memory to look: the framing checks still run */
    const char *why = NULL;
    MHD_get_connection_values_n(conn, MHD_HEADER_KIND, collect_field, fl);
    if (fl->overflow) {
        why = "too many header fields";
        goto out;
    }
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_REQUEST_HEADER_SIZE);
    const char *after_line = NULL, *end = NULL;
    size_t vlen = version != NULL ? strlen(version) : 0;
    /* The version lies in the block when the request line had one. */
    if (ci != NULL && vlen > 0 && version > method && version < method + ci->header_size) {
        after_line = version + vlen;
        end = method + ci->header_size;
    }
    why = cw_http_head_block_problem(after_line, end, fl->f, fl->n);
out:
    free(fl);
    return why;
}

/* 1 when the request says a body follows. */
static int has_body(const cw_http_head *h)
{
    if (h->content_length != NULL)
        return strcmp(h->content_length, "0") != 0;
    return h->transfer_encoding != NULL;
}

/* Routes behind --auth-token-file: what writes or reads the inventory. */
static int needs_auth(cw_http_route route)
{
    return route == CW_ROUTE_SYNC || route == CW_ROUTE_SEARCH || route == CW_ROUTE_INSTANCE;
}

/* First call: headers only. Create the context and run the header checks. */
static enum MHD_Result on_headers(listener *l, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, void **req_cls)
{
    cw_http_server *s = l->server;
    cw_http_answer a;
    memset(&a, 0, sizeof a);

    watch_set(s, conn, 0);
    cw_http_request *r = cw_http_request_create(s->cfg.max_body, s->cfg.request_deadline_ms);
    if (r == NULL) {
        *req_cls = NO_CONTEXT;
        cw_http_answer_unavailable(&a, "out of memory", 0);
        a.close = 1;
        return send_answer(l, conn, NULL, &a);
    }
    *req_cls = r;
    r->method = method;
    r->path = url;
    pthread_mutex_lock(&s->lock);
    s->in_flight++;
    pthread_mutex_unlock(&s->lock);

    cw_http_head h;
    memset(&h, 0, sizeof h);
    h.method = method;
    h.path = url;
    h.admin = l->admin;
    MHD_get_connection_values(conn, MHD_HEADER_KIND, collect_header, &h);
    r->route = cw_http_route_find(url, l->admin);        /* the metrics label of a 400 */
    if (r->route == CW_ROUTE_SYNC)
        MHD_get_connection_values_n(conn, MHD_GET_ARGUMENT_KIND, collect_cluster_arg, &h);
    conn_watch *w = watch_of(conn);
    const char *bad = w != NULL ? cw_http_request_line_problem(method, w->raw_uri, w->raw_uri_len,
                                                               w->raw_uri_pct00, version)
                                : NULL;
    if (w != NULL)
        w->raw_uri = NULL;                               /* this request's only */
    if (bad == NULL)
        bad = header_problem(conn, method, version);
    if (bad != NULL) {
        cw_http_metrics_guard(s->metrics, CW_GUARD_MALFORMED_HEADERS, 1);
        cw_http_answer_error(&a, 400, "Bad request", bad);
        a.close = 1;
        /* Whatever follows (a body its framing hides, a pipelined request)
         * is read and dropped, so the client sees the 400 and not a reset. */
        r->linger = 1;
        return send_answer(l, conn, r, &a);
    }
    if (cw_http_request_check_head(r, &h, &a)) {
        r->linger = a.close && has_body(&h);
        return send_answer(l, conn, r, &a);
    }
    if (s->auth != NULL && needs_auth(r->route) && !cw_http_auth_check(s->auth, h.authorization)) {
        cw_http_metrics_guard(s->metrics, CW_GUARD_UNAUTHORIZED, 1);
        cw_http_answer_error(&a, 401, "Unauthorized", h.authorization == NULL
                             ? "this server wants \"Authorization: Bearer <token>\" (--auth-token-file)"
                             : "the bearer token is not the one this server wants");
        a.www_authenticate = "Bearer realm=\"cluster-whisperer\"";
        a.close = has_body(&h);            /* the body is not read: read and dropped */
        r->linger = a.close;
        return send_answer(l, conn, r, &a);
    }
    char msg[160];
    if (r->route == CW_ROUTE_SYNC && take_sync_slot(s, r, msg, sizeof msg) != 0) {
        cw_http_answer_unavailable(&a, msg, RETRY_BUSY_S);
        a.close = 1;
        r->linger = has_body(&h);
        return send_answer(l, conn, r, &a);
    }
    if ((r->route == CW_ROUTE_SEARCH || r->route == CW_ROUTE_INSTANCE) && s->cfg.search_chroma == NULL) {
        cw_http_answer_not_found(&a, method, url);
        cw_http_answer_note_error(&a, "the search API is not configured on this server");
        return send_answer(l, conn, r, &a);
    }
    if (r->route == CW_ROUTE_SEARCH && take_search_slot(s, r) != 0) {
        snprintf(msg, sizeof msg, "too many concurrent searches (limit %u)", s->cfg.search_limit);
        cw_http_answer_unavailable(&a, msg, RETRY_BUSY_S);
        return send_answer(l, conn, r, &a);
    }
    if (has_body(&h)) {
        r->body_start_ms = cw_now_ms();
        deadline_timer(s, conn, r, 1);   /* a body follows: bound it by the deadline and stalls */
    }
    return MHD_YES;
}

/* Final call: the whole body is in (or was discarded). Answer. */
static enum MHD_Result on_complete(listener *l, struct MHD_Connection *conn, cw_http_request *r)
{
    cw_http_server *s = l->server;
    cw_http_answer a;
    memset(&a, 0, sizeof a);

    deadline_timer(s, conn, r, 0);       /* the answer and keep-alive: the idle timeout */
    switch (r->body_state) {
    case CW_BODY_TOO_LARGE: {
        char msg[128];
        snprintf(msg, sizeof msg, "body is over the limit of %zu bytes", s->cfg.max_body);
        cw_http_answer_error(&a, 413, "Payload too large", msg);
        a.close = 1;
        return send_answer(l, conn, r, &a);
    }
    case CW_BODY_LATE:
        cw_http_answer_unavailable(&a, "request deadline passed while reading the body", 0);
        cw_http_answer_note_error(&a, "request deadline (%d ms) passed while reading a %zu-byte body",
                                  s->cfg.request_deadline_ms, r->seen);
        a.close = 1;
        return send_answer(l, conn, r, &a);
    case CW_BODY_NOMEM:
        cw_http_answer_unavailable(&a, "out of memory", 0);
        a.close = 1;
        return send_answer(l, conn, r, &a);
    case CW_BODY_BUSY:
        cw_http_answer_unavailable(&a, "server busy: too many sync body bytes in flight",
                                   RETRY_BUSY_S);
        cw_http_answer_note_error(&a, "in-flight body budget of %zu bytes spent (%zu bytes discarded)",
                                  s->cfg.max_inflight_bytes, r->seen);
        return send_answer(l, conn, r, &a);
    case CW_BODY_KEEP:
        break;
    }

    switch (r->route) {
    case CW_ROUTE_SYNC: {
        cw_http_metrics_body(s->metrics, r->len);
        if (cw_ms_left(r->deadline_ms) == 0) {
            cw_http_answer_unavailable(&a, "request deadline passed while reading the body", 0);
            break;
        }
        char msg[160];
        size_t cost = r->len * CW_HTTP_HANDLING_COST;
        if (admit_handling(s, cost, msg, sizeof msg) != 0) {
            cw_http_metrics_guard(s->metrics, CW_GUARD_MEMORY_BUDGET, 1);
            cw_http_answer_unavailable(&a, msg, RETRY_BUSY_S);
            break;
        }
        cw_http_handle_sync_in(&a, s->pipeline, r->has_cluster ? r->cluster : s->default_cluster,
                               r->body != NULL ? r->body : "", r->len, r->deadline_ms);
        size_t len = r->len;
        cw_http_request_drop(r, CW_BODY_KEEP);   /* the body's memory, before the answer goes */
        release_body(s, r);
        end_handling(s, cost, len);
        break;
    }
    case CW_ROUTE_SEARCH: {
        cw_http_args args;
        memset(&args, 0, sizeof args);
        MHD_get_connection_values_n(conn, MHD_GET_ARGUMENT_KIND, collect_arg, &args);
        cw_http_handle_search(&a, s->cfg.search_chroma, s->cfg.search_embedder, s->metrics, r->method,
                              &args, r->body != NULL ? r->body : "", r->len);
        break;
    }
    case CW_ROUTE_INSTANCE:
        cw_http_handle_instance(&a, s->cfg.search_chroma, r->path);
        break;
    case CW_ROUTE_HEALTHZ:
        cw_http_handle_healthz(&a);
        break;
    case CW_ROUTE_READYZ:
        cw_http_handle_readyz(&a, is_shutting_down(s), s->ready, s->ready_ctx);
        break;
    case CW_ROUTE_METRICS:
        cw_http_handle_metrics(&a, s->metrics, cw_http_server_in_flight(s), s->pipeline);
        break;
    case CW_ROUTE_OTHER:
    case CW_ROUTE_COUNT:
        cw_http_answer_error(&a, 500, "Internal error", "no handler");
        break;
    }
    return send_answer(l, conn, r, &a);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_data_size,
                                  void **req_cls)
{
    listener *l = cls;
    cw_http_request *r = *req_cls;
    (void)version;

    if (r == NULL)
        return on_headers(l, conn, url, method, version, req_cls);
    if ((void *)r == NO_CONTEXT || r->answered) {   /* answered from the headers: drop the body */
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (*upload_data_size != 0) {
        cw_http_server *s = l->server;
        size_t n = *upload_data_size;
        *upload_data_size = 0;
        if (r->sync_slot && r->body_state == CW_BODY_KEEP && reserve_body(s, r, n) != 0) {
            cw_http_metrics_guard(s->metrics, CW_GUARD_BODY_BUDGET, 1);
            cw_http_request_drop(r, CW_BODY_BUSY);
            release_body(s, r);
        }
        cw_http_request_take(r, upload_data, n);
        if (r->sync_slot && r->body_state != CW_BODY_KEEP && r->reserved_bytes > 0)
            release_body(s, r);                   /* dropped (too large, late, no memory) */
        /* libmicrohttpd 0.9.75 cannot answer before the body ends: a body
         * still arriving at the deadline, or far too slowly, is cut. */
        if (cw_ms_left(r->deadline_ms) == 0) {
            cw_log_warn("http: request deadline (%d ms) passed with the body still arriving "
                        "(%zu bytes so far): closing the connection",
                        s->cfg.request_deadline_ms, r->seen);
            return MHD_NO;
        }
        int64_t took_ms = cw_now_ms() - r->body_start_ms;
        if (s->cfg.body_min_rate > 0 && r->body_start_ms > 0
            && took_ms >= 1000 * (int64_t)s->cfg.body_stall_s
            && (double)r->seen * 1000.0 < (double)s->cfg.body_min_rate * (double)took_ms) {
            cw_http_metrics_guard(s->metrics, CW_GUARD_SLOW_BODY, 1);
            cw_log_warn("http: body arriving at %.0f bytes/s, under the minimum of %zu "
                        "(%zu bytes in %lld ms): closing the connection",
                        (double)r->seen * 1000.0 / (double)took_ms, s->cfg.body_min_rate, r->seen,
                        (long long)took_ms);
            return MHD_NO;
        }
        deadline_timer(s, conn, r, 1);
        return MHD_YES;
    }
    return on_complete(l, conn, r);
}

/* Lingering close (nginx's lingering_close): the early answer is sent;
 * send our FIN and read and discard what the client still writes, until it
 * closes, CW_HTTP_LINGER_MAX_BYTES or CW_HTTP_LINGER_MS. libmicrohttpd
 * closes the socket after; had it closed with unread bytes, the kernel
 * would reset the connection and a client still writing its body would
 * see a broken pipe instead of the answer. Runs on the connection thread
 * (its request already freed, its slot given back). */
static void linger_close(cw_http_server *s, struct MHD_Connection *conn)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
    if (ci == NULL)
        return;
    MHD_socket fd = ci->connect_fd;
    cw_http_metrics_guard(s->metrics, CW_GUARD_LINGER, 1);
    if (shutdown(fd, SHUT_WR) != 0)
        return;
    int64_t until = cw_now_ms() + CW_HTTP_LINGER_MS;
    size_t got = 0;
    char buf[16384];
    while (got < CW_HTTP_LINGER_MAX_BYTES) {
        int64_t left = cw_ms_left(until);
        if (left == 0)
            break;
        struct pollfd p = { .fd = fd, .events = POLLIN, .revents = 0 };
        int ready = poll(&p, 1, (int)(left < 1000 ? left : 1000));
        if (ready < 0 && errno != EINTR)
            break;
        if (ready <= 0)
            continue;
        ssize_t n = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
        if (n == 0)
            break;                           /* the client is done */
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
                continue;
            break;
        }
        got += (size_t)n;
    }
    cw_log_debug("http: lingering close discarded %zu body bytes", got);
}

/* The one place a request context is freed. */
static void on_completed(void *cls, struct MHD_Connection *conn, void **req_cls,
                         enum MHD_RequestTerminationCode toe)
{
    listener *l = cls;
    cw_http_server *s = l->server;
    cw_http_request *r = *req_cls;
    watch_set(s, conn, 1);
    if (r == NULL || (void *)r == NO_CONTEXT) {
        *req_cls = NULL;
        return;
    }
    if (toe == MHD_REQUEST_TERMINATED_TIMEOUT_REACHED && r->deadline_timer) {
        cw_http_metrics_guard(s->metrics, CW_GUARD_SLOW_BODY, 1);
        cw_log_warn("http: body stalled (%u s without a byte) or the request deadline (%d ms) "
                    "passed (%zu bytes so far): connection closed", s->cfg.body_stall_s,
                    s->cfg.request_deadline_ms, r->seen);
    } else if (toe != MHD_REQUEST_TERMINATED_COMPLETED_OK) {
        cw_log_debug("http: %s request ended early (libmicrohttpd code %d)",
                     cw_http_route_name(r->route), (int)toe);
    }
    int slot = r->sync_slot, search_slot = r->search_slot;
    size_t reserved = r->reserved_bytes;
    int linger = r->linger && toe == MHD_REQUEST_TERMINATED_COMPLETED_OK;
    size_t seen = r->seen;
    cw_http_request_destroy(r);
    *req_cls = NULL;
    pthread_mutex_lock(&s->lock);
    if (slot) {
        s->sync_active--;
        s->sync_bytes -= reserved;
    }
    if (search_slot)
        s->search_active--;
    s->in_flight--;
    int trim = seen >= TRIM_MIN_BYTES && s->sync_bytes == 0 && s->handling == 0;
    pthread_cond_broadcast(&s->idle);
    pthread_mutex_unlock(&s->lock);
    if (trim)
        malloc_trim(0);          /* the last big body is gone: give its pages back */
    if (linger)
        linger_close(s, conn);
}

/* ---- daemons ------------------------------------------------------------ */

static int start_listener(cw_http_server *s, listener *l, unsigned short port, int admin,
                          cw_error *err)
{
    struct addrinfo hints, *ai = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICHOST | AI_PASSIVE;
    char service[8];
    snprintf(service, sizeof service, "%u", (unsigned)port);
    int gai = getaddrinfo(s->host, service, &hints, &ai);
    if (gai != 0)
        return cw_error_set(err, CW_E_CONFIG, "--host %s is not a numeric address: %s",
                            s->host, gai_strerror(gai));

    unsigned flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD |
                     MHD_USE_POLL | MHD_USE_ITC | MHD_USE_ERROR_LOG;
    if (ai->ai_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    l->server = s;
    l->admin = admin;
    l->quiesced = MHD_INVALID_SOCKET;
    l->limit = admin ? CW_HTTP_ADMIN_CONNECTION_LIMIT
                     : s->cfg.connection_limit + CW_HTTP_PROBE_RESERVE + s->cfg.search_limit;
    l->daemon = MHD_start_daemon(
        flags, port, NULL, NULL, on_request, l,
        MHD_OPTION_EXTERNAL_LOGGER, log_mhd, NULL,   /* first, so it sees every message */
        MHD_OPTION_SOCK_ADDR, ai->ai_addr,
        MHD_OPTION_CONNECTION_LIMIT,
        (unsigned int)l->limit,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)s->cfg.connection_timeout_s,
        MHD_OPTION_THREAD_STACK_SIZE, s->cfg.thread_stack_size,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, l,
        MHD_OPTION_NOTIFY_CONNECTION, on_connection, l,
        MHD_OPTION_URI_LOG_CALLBACK, on_uri, l,
        MHD_OPTION_END);
    freeaddrinfo(ai);
    if (l->daemon == NULL)
        return cw_error_set(err, CW_E_CONFIG,
                            "cannot listen on %s port %u (in use, or not permitted)",
                            s->host, (unsigned)port);
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(l->daemon, MHD_DAEMON_INFO_BIND_PORT);
    l->port = info != NULL ? info->port : port;
    return 0;
}

static void stop_listener(listener *l)
{
    if (l->daemon != NULL)
        MHD_stop_daemon(l->daemon);
    l->daemon = NULL;
    if (l->quiesced != MHD_INVALID_SOCKET)
        close(l->quiesced);
    l->quiesced = MHD_INVALID_SOCKET;
}

cw_http_server *cw_http_server_start(const cw_http_config *cfg, cw_pipeline *pipeline,
                                     cw_http_ready_fn ready, void *ready_ctx, cw_error *err)
{
    cw_http_server *s = calloc(1, sizeof *s);
    if (s == NULL) {
        cw_error_set(err, CW_E_NOMEM, "out of memory starting the HTTP server");
        return NULL;
    }
    s->main.quiesced = MHD_INVALID_SOCKET;
    s->admin.quiesced = MHD_INVALID_SOCKET;
    s->cfg = *cfg;
    s->pipeline = pipeline;
    s->ready = ready;
    s->ready_ctx = ready_ctx;
    s->host = strdup(cfg->host != NULL ? cfg->host : "0.0.0.0");
    s->metrics = cw_http_metrics_create();
    if (cfg->default_cluster != NULL)
        s->default_cluster = strdup(cfg->default_cluster);
    if (s->host == NULL || s->metrics == NULL ||
        (cfg->default_cluster != NULL && s->default_cluster == NULL)) {
        cw_error_set(err, CW_E_NOMEM, "out of memory starting the HTTP server");
        goto fail;
    }
    s->cfg.host = s->host;
    s->cfg.default_cluster = s->default_cluster;
    cw_error name_err;
    cw_error_clear(&name_err);
    if (s->default_cluster != NULL &&
        cw_cluster_name_check(s->default_cluster, strlen(s->default_cluster), &name_err) != 0) {
        cw_error_set(err, CW_E_CONFIG, "default cluster: %s", name_err.msg);
        goto fail;
    }
    s->cfg.auth_token_file = NULL;             /* not kept: the auth has its own copy */
    if (cfg->auth_token_file != NULL) {
        s->auth = cw_http_auth_open(cfg->auth_token_file, err);
        if (s->auth == NULL)
            goto fail;
    }
    if (s->cfg.max_body == 0 || s->cfg.connection_limit == 0 || s->cfg.request_deadline_ms <= 0
        || s->cfg.max_inflight_bytes == 0) {
        cw_error_set(err, CW_E_CONFIG, "HTTP limits must be positive");
        goto fail;
    }
    if (pthread_mutex_init(&s->lock, NULL) != 0) {
        cw_error_set(err, CW_E_INTERNAL, "pthread_mutex_init failed");
        goto fail;
    }
    if (pthread_cond_init(&s->idle, NULL) != 0) {
        pthread_mutex_destroy(&s->lock);
        cw_error_set(err, CW_E_INTERNAL, "pthread_cond_init failed");
        goto fail;
    }
    if (pthread_cond_init(&s->reaper_wake, NULL) != 0) {
        pthread_cond_destroy(&s->idle);
        pthread_mutex_destroy(&s->lock);
        cw_error_set(err, CW_E_INTERNAL, "pthread_cond_init failed");
        goto fail;
    }
    s->lock_ready = 1;
    if (pthread_create(&s->reaper, NULL, reaper_main, s) != 0) {
        cw_error_set(err, CW_E_INTERNAL, "cannot start the connection reaper thread");
        goto fail;
    }
    s->reaper_running = 1;
    if (start_listener(s, &s->main, cfg->port, 0, err) != 0)
        goto fail;
    if (cfg->admin_port != 0 && start_listener(s, &s->admin, cfg->admin_port, 1, err) != 0)
        goto fail;
    warn_if_fds_short(s);
    cw_log_debug("http: listening on %s:%u%s", s->host, (unsigned)s->main.port,
                s->admin.daemon != NULL ? " (admin listener on its own port)" : "");
    return s;

fail:
    cw_http_server_stop(s);
    return NULL;
}

unsigned short cw_http_server_port(const cw_http_server *s)
{
    return s->main.port;
}

unsigned short cw_http_server_admin_port(const cw_http_server *s)
{
    return s->admin.daemon != NULL ? s->admin.port : 0;
}

void cw_http_server_begin_shutdown(cw_http_server *s)
{
    pthread_mutex_lock(&s->lock);
    int already = s->shutting_down;
    s->shutting_down = 1;
    pthread_mutex_unlock(&s->lock);
    if (already)
        return;
    /* Only this thread touches main.quiesced until stop. */
    s->main.quiesced = MHD_quiesce_daemon(s->main.daemon);
    if (s->main.quiesced == MHD_INVALID_SOCKET) {
        cw_log_warn("http: could not quiesce the listener; it keeps accepting until stop");
    } else {
        /* libmicrohttpd no longer accepts on it, but the kernel would still
         * complete handshakes into the backlog, leaving clients hanging.
         * shutdown() stops the listening (new connects are refused) while
         * the descriptor stays open until stop, as libmicrohttpd requires. */
        if (shutdown(s->main.quiesced, SHUT_RDWR) != 0)
            cw_log_debug("http: shutdown of the quiesced listener failed");
    }
    cw_log_info("http: shutting down: /readyz answers 503, no new connections");
}

size_t cw_http_server_in_flight(cw_http_server *s)
{
    pthread_mutex_lock(&s->lock);
    size_t n = s->in_flight;
    pthread_mutex_unlock(&s->lock);
    return n;
}

unsigned cw_http_server_connections(cw_http_server *s)
{
    const union MHD_DaemonInfo *info =
        MHD_get_daemon_info(s->main.daemon, MHD_DAEMON_INFO_CURRENT_CONNECTIONS);
    return info != NULL ? info->num_connections : 0;
}

size_t cw_http_server_drain(cw_http_server *s, int64_t deadline_ms)
{
    pthread_mutex_lock(&s->lock);
    while (s->in_flight > 0) {
        int64_t left = cw_ms_left(deadline_ms);
        if (left == 0)
            break;
        struct timespec until = cw_abstime_in_ms(left);
        pthread_cond_timedwait(&s->idle, &s->lock, &until);
    }
    size_t n = s->in_flight;
    pthread_mutex_unlock(&s->lock);
    return n;
}

void cw_http_server_stop(cw_http_server *s)
{
    if (s == NULL)
        return;
    stop_listener(&s->main);
    stop_listener(&s->admin);
    if (s->reaper_running) {
        pthread_mutex_lock(&s->lock);
        s->reaper_stop = 1;
        pthread_cond_signal(&s->reaper_wake);
        pthread_mutex_unlock(&s->lock);
        pthread_join(s->reaper, NULL);
    }
    if (s->lock_ready) {
        pthread_cond_destroy(&s->reaper_wake);
        pthread_cond_destroy(&s->idle);
        pthread_mutex_destroy(&s->lock);
    }
    cw_http_metrics_destroy(s->metrics);
    cw_http_auth_close(s->auth);
    free(s->host);
    free(s->default_cluster);
    free(s);
}

void cw_http_server_reload_auth(cw_http_server *s)
{
    cw_http_auth_reload(s->auth);
}
