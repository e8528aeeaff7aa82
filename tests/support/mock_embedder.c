#include "mock_embedder.h"

#include <arpa/inet.h>
#include <json-c/json.h>
#include <math.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cw_base64.h"
#include "cw_float.h"
#include "cw_time.h"

#define MOCK_MAX_BODY (64u * 1024u * 1024u)
#define MOCK_LATENCY_SLICE_MS 10

struct cw_mock_embedder {
    struct MHD_Daemon *daemon;
    unsigned short port;
    size_t start_dim;
    char url[64];
    int stopping;                 /* set once by stop (atomic): cuts latency short */
    unsigned epoch;               /* bumped by reset (atomic): calls begun before it stop
                                   * sleeping, count no inputs and answer 400 (a test's
                                   * timed-out call must neither land in the next test's
                                   * counters nor come back as a late success) */

    pthread_mutex_t lock;         /* guards every field below */
    size_t dim;
    int latency_ms;
    int slow_ms;                  /* latency of the next slow_left calls */
    int slow_left;
    int fail_status;
    int fail_left;                /* calls still to fail; -1 = until reset */
    int fail_retry_after_s;
    int rate_fail_pct;            /* random faults (soak): % of calls answering rate_fail_status */
    int rate_fail_status;
    int rate_stall_pct;           /* % of calls stalling rate_stall_ms (upstream timeouts) */
    int rate_stall_ms;
    uint64_t rate_seed;           /* splitmix64 state of the fault draws */
    unsigned long rate_fails, rate_stalls;
    cw_mock_answer answer;
    cw_mock_base64 base64;
    unsigned long calls;
    unsigned long packed_calls;   /* answered with base64-packed vectors */
    unsigned long inputs;
    unsigned long max_inputs;
    unsigned long connections;
    int has_auth;
    char last_auth[512];
    int has_input_type;
    char last_input_type[64];
    int has_model;
    char last_model[256];
};

/* One request's upload, in *req_cls; freed by on_completed. */
typedef struct mock_request {
    char *body;
    size_t len;
    size_t cap;
    int too_big;
} mock_request;

/* ---- the vectors ------------------------------------------------------ */

static uint64_t splitmix64(uint64_t *state)
{
    uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* Add a dense pseudo-random vector in [-1, 1)^dim seeded by `seed`. */
static void add_seeded(float *out, size_t dim, uint64_t seed)
{
    uint64_t state = seed;
    for (size_t i = 0; i < dim; i++)
        out[i] += (float)((double)(splitmix64(&state) >> 11) * (2.0 / 9007199254740992.0) - 1.0);
}

static int is_word_byte(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c >= 0x80;
}

void cw_mock_embedder_vector(const char *text, size_t dim, float *out)
{
    const unsigned char *p = (const unsigned char *)text;
    size_t words = 0;
    double norm = 0.0;

    memset(out, 0, dim * sizeof *out);
    while (*p != '\0') {
        uint64_t h = 0xcbf29ce484222325ull;     /* FNV-1a of the lower-cased word */
        if (!is_word_byte(*p)) {
            p++;
            continue;
        }
        for (; is_word_byte(*p); p++) {
            unsigned char c = (*p >= 'A' && *p <= 'Z') ? (unsigned char)(*p - 'A' + 'a') : *p;
            h = (h ^ c) * 0x100000001b3ull;
        }
        add_seeded(out, dim, h);
        words++;
    }
    if (words == 0) {
        uint64_t h = 0x84222325cbf29ce4ull;
        for (p = (const unsigned char *)text; *p != '\0'; p++)
            h = (h ^ *p) * 0x100000001b3ull;
        add_seeded(out, dim, h);
    }
    for (size_t i = 0; i < dim; i++)
        norm += (double)out[i] * out[i];
    norm = sqrt(norm);
    for (size_t i = 0; i < dim && norm > 0.0; i++)
        out[i] = (float)(out[i] / norm);
}

/* ---- answers ---------------------------------------------------------- */

/* Queue `body` (malloc'd; always taken over, even on failure). */
static enum MHD_Result answer_owned(struct MHD_Connection *conn, unsigned status, char *body,
                                    int retry_after_s)
{
    struct MHD_Response *resp = NULL;
    enum MHD_Result ok = MHD_NO;

    if (body == NULL)
        return MHD_NO;
    resp = MHD_create_response_from_buffer(strlen(body), body, MHD_RESPMEM_MUST_FREE);
    if (resp == NULL) {
        free(body);
        return MHD_NO;
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
    if (retry_after_s > 0) {
        char secs[16];
        snprintf(secs, sizeof secs, "%d", retry_after_s);
        MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, secs);
    }
    ok = MHD_queue_response(conn, status, resp);
    MHD_destroy_response(resp);
    return ok;
}

static enum MHD_Result answer_text(struct MHD_Connection *conn, unsigned status, const char *body,
                                   int retry_after_s)
{
    return answer_owned(conn, status, strdup(body), retry_after_s);
}

static enum MHD_Result answer_error(struct MHD_Connection *conn, unsigned status, const char *msg,
                                    int retry_after_s)
{
    json_object *root = json_object_new_object(), *e = json_object_new_object();
    enum MHD_Result ok;

    json_object_object_add(e, "message", json_object_new_string(msg));
    json_object_object_add(e, "type", json_object_new_string("invalid_request_error"));
    json_object_object_add(root, "error", e);
    ok = answer_text(conn, status, json_object_to_json_string_ext(root, JSON_C_TO_STRING_PLAIN),
                     retry_after_s);
    json_object_put(root);
    return ok;
}

/* A growable answer body; `oom` sticks once an allocation failed. */
typedef struct body_buf {
    char *p;
    size_t len;
    size_t cap;
    int oom;
} body_buf;

static void body_add(body_buf *b, const char *s, size_t n)
{
    if (b->oom)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap > 0 ? b->cap : 4096;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *grown = realloc(b->p, cap);
        if (grown == NULL) {
            b->oom = 1;
            return;
        }
        b->p = grown;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void body_str(body_buf *b, const char *s)
{
    body_add(b, s, strlen(s));
}

/* Append a short formatted piece (a number, a closing bracket...). */
static void body_fmt(body_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void body_fmt(body_buf *b, const char *fmt, ...)
{
    char piece[128];
    va_list ap;
    va_start(ap, fmt);
    int len = vsnprintf(piece, sizeof piece, fmt, ap);
    va_end(ap);
    if (len < 0 || (size_t)len >= sizeof piece) {
        b->oom = 1;      /* never truncate silently */
        return;
    }
    body_add(b, piece, (size_t)len);
}

/* The success body for `inputs` (an array of strings), malloc'd; NULL on
 * out of memory. Written by hand rather than through json-c objects: the
 * mock must not be the bottleneck of a load test. Floats are printed as
 * %.9g prints them (cw_float_format), which reads back as exactly the same
 * float; `packed`: each vector as base64 of its little-endian float32
 * bytes instead. */
static char *embeddings_answer(json_object *inputs, const char *model, size_t dim,
                               cw_mock_answer mode, int packed)
{
    size_t n = json_object_array_length(inputs), shown = n, tokens = 0;
    body_buf b = { NULL, 0, 0, 0 };
    float *vec = malloc(dim * sizeof *vec);
    char *text_buf = malloc(dim * (CW_FLOAT_FMT_MAX + 1) + CW_BASE64_ENCODED_LEN(4 * dim) + 1);
    json_object *model_json = json_object_new_string(model);

    if (vec == NULL || text_buf == NULL || model_json == NULL) {
        free(vec);
        free(text_buf);
        json_object_put(model_json);
        return NULL;
    }
    if (mode == CW_MOCK_ANSWER_SHORT && shown > 0)
        shown--;
    body_str(&b, "{\"object\":\"list\",\"data\":[");
    for (size_t k = 0; k < shown; k++) {
        size_t i = mode == CW_MOCK_ANSWER_REVERSED ? n - 1 - k : k;
        const char *text = json_object_get_string(json_object_array_get_idx(inputs, i));
        size_t values = (mode == CW_MOCK_ANSWER_RAGGED && k == shown - 1 && dim > 1) ? dim - 1 : dim;

        cw_mock_embedder_vector(text, dim, vec);
        body_str(&b, k > 0 ? ",{\"object\":\"embedding\",\"embedding\":" : "{\"object\":\"embedding\",\"embedding\":");
        if (packed) {
            body_str(&b, "\"");
            body_add(&b, text_buf, cw_base64_encode_f32le(vec, values, text_buf));
            body_str(&b, "\"");
        } else {
            body_str(&b, "[");
            body_add(&b, text_buf, cw_float_format_list(vec, values, text_buf));
            body_str(&b, "]");
        }
        body_fmt(&b, ",\"index\":%zu}", i);
        tokens += strlen(text) / 4 + 1;
    }
    body_str(&b, "],\"model\":");
    body_str(&b, json_object_to_json_string_ext(model_json, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
    body_fmt(&b, ",\"usage\":{\"prompt_tokens\":%zu,\"total_tokens\":%zu}}", tokens, tokens);
    free(vec);
    free(text_buf);
    json_object_put(model_json);
    if (b.oom) {
        free(b.p);
        return NULL;
    }
    return b.p;
}

static void copy_bounded(char *dst, size_t cap, const char *src)
{
    snprintf(dst, cap, "%s", src != NULL ? src : "");
}

/* Validate the request body; on success *inputs (an array of strings, owned
 * by *root) and *model are set. Returns NULL or the 400 message. */
static const char *parse_request(const mock_request *req, json_object **root, json_object **inputs,
                                 const char **model, const char **input_type, int *packed,
                                 cw_mock_base64 b64)
{
    json_object *in = NULL, *mo = NULL, *it = NULL, *ef = NULL;
    json_tokener *tok = json_tokener_new();

    *root = NULL;
    *input_type = NULL;
    *packed = 0;
    if (tok == NULL)
        return "out of memory";
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
    if (req->len > 0)
        *root = json_tokener_parse_ex(tok, req->body, (int)req->len);
    int complete = *root != NULL && json_tokener_get_error(tok) == json_tokener_success
                   && json_tokener_get_parse_end(tok) == req->len;
    json_tokener_free(tok);
    if (!complete || !json_object_is_type(*root, json_type_object))
        return "the body is not a JSON object";
    if (!json_object_object_get_ex(*root, "model", &mo) || !json_object_is_type(mo, json_type_string))
        return "\"model\" must be a string";
    *model = json_object_get_string(mo);
    if (json_object_object_get_ex(*root, "input_type", &it) && it != NULL) {
        if (!json_object_is_type(it, json_type_string))
            return "\"input_type\" must be \"document\", \"query\" or null";
        *input_type = json_object_get_string(it);
        if (strcmp(*input_type, "document") != 0 && strcmp(*input_type, "query") != 0)
            return "\"input_type\" must be \"document\", \"query\" or null";
    }
    if (json_object_object_get_ex(*root, "encoding_format", &ef) && ef != NULL) {
        if (b64 == CW_MOCK_BASE64_REFUSE)
            return "unknown field \"encoding_format\"";
        const char *f = json_object_is_type(ef, json_type_string) ? json_object_get_string(ef) : "";
        if (strcmp(f, "float") != 0 && strcmp(f, "base64") != 0)
            return "\"encoding_format\" must be \"float\", \"base64\" or null";
        *packed = strcmp(f, "base64") == 0 && b64 == CW_MOCK_BASE64_HONOUR;
    }
    if (!json_object_object_get_ex(*root, "input", &in))
        return "\"input\" is required";
    if (json_object_is_type(in, json_type_string)) {
        json_object *arr = json_object_new_array();
        json_object_array_add(arr, json_object_get(in));
        json_object_object_add(*root, "input", arr);   /* replaces (and releases) the string */
        in = arr;
    }
    if (!json_object_is_type(in, json_type_array) || json_object_array_length(in) == 0)
        return "\"input\" must be a string or a non-empty array of strings";
    for (size_t i = 0; i < json_object_array_length(in); i++)
        if (!json_object_is_type(json_object_array_get_idx(in, i), json_type_string))
            return "\"input\" must be a string or a non-empty array of strings";
    *inputs = in;
    return NULL;
}

static void wait_latency(cw_mock_embedder *m, int ms, unsigned epoch)
{
    int64_t until = cw_now_ms() + ms;
    while (!__atomic_load_n(&m->stopping, __ATOMIC_ACQUIRE) &&
           __atomic_load_n(&m->epoch, __ATOMIC_ACQUIRE) == epoch) {
        int64_t left = cw_ms_left(until);
        if (left <= 0)
            break;
        cw_sleep_ms(left < MOCK_LATENCY_SLICE_MS ? left : MOCK_LATENCY_SLICE_MS);
    }
}

static enum MHD_Result handle_embeddings(cw_mock_embedder *m, struct MHD_Connection *conn,
                                         const mock_request *req)
{
    const char *auth = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
    int fail_status = 0, retry_after_s = 0, latency_ms;
    size_t dim;
    cw_mock_answer mode;

    pthread_mutex_lock(&m->lock);
    unsigned epoch = m->epoch;
    m->calls++;
    m->has_auth = auth != NULL;
    copy_bounded(m->last_auth, sizeof m->last_auth, auth);
    if (m->fail_left != 0) {
        fail_status = m->fail_status;
        retry_after_s = m->fail_retry_after_s;
        if (m->fail_left > 0)
            m->fail_left--;
    }
    latency_ms = m->latency_ms;
    if (m->slow_left > 0) {
        latency_ms = m->slow_ms;
        m->slow_left--;
    }
    if (m->rate_fail_pct > 0 || m->rate_stall_pct > 0) {
        /* One draw per call: [0, fail) fails, [fail, fail + stall) stalls. */
        int draw = (int)(splitmix64(&m->rate_seed) % 100);
        if (draw < m->rate_fail_pct && fail_status == 0) {
            fail_status = m->rate_fail_status;
            m->rate_fails++;
        } else if (draw >= m->rate_fail_pct && draw < m->rate_fail_pct + m->rate_stall_pct) {
            latency_ms = m->rate_stall_ms;
            m->rate_stalls++;
        }
    }
    dim = m->dim;
    mode = m->answer;
    cw_mock_base64 b64 = m->base64;
    pthread_mutex_unlock(&m->lock);

    if (latency_ms > 0)
        wait_latency(m, latency_ms, epoch);
    if (__atomic_load_n(&m->epoch, __ATOMIC_ACQUIRE) != epoch)
        return answer_error(conn, MHD_HTTP_BAD_REQUEST, "mock: reset while this call was in flight", 0);
    if (fail_status != 0) {
        char msg[64];
        snprintf(msg, sizeof msg, "mock: injected HTTP %d", fail_status);
        return answer_error(conn, (unsigned)fail_status, msg, retry_after_s);
    }
    if (req->too_big)
        return answer_error(conn, 413, "the body is too large", 0);

    json_object *root = NULL, *inputs = NULL;
    char *answer = NULL;
    const char *model = NULL, *input_type = NULL;
    int packed = 0;
    const char *bad = parse_request(req, &root, &inputs, &model, &input_type, &packed, b64);
    enum MHD_Result ok;
    if (bad != NULL) {
        ok = answer_error(conn, MHD_HTTP_BAD_REQUEST, bad, 0);
        goto out;
    }
    size_t n = json_object_array_length(inputs);
    pthread_mutex_lock(&m->lock);
    if (m->epoch == epoch) {
        m->inputs += n;
        m->packed_calls += packed && mode != CW_MOCK_ANSWER_GARBAGE;
        if (n > m->max_inputs)
            m->max_inputs = n;
        m->has_input_type = input_type != NULL;
        copy_bounded(m->last_input_type, sizeof m->last_input_type, input_type);
        m->has_model = 1;
        copy_bounded(m->last_model, sizeof m->last_model, model);
    }
    pthread_mutex_unlock(&m->lock);

    if (mode == CW_MOCK_ANSWER_GARBAGE) {
        ok = answer_text(conn, MHD_HTTP_OK, "this is not json", 0);
        goto out;
    }
    answer = embeddings_answer(inputs, model, dim, mode, packed);
    if (answer == NULL) {
        ok = answer_error(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "mock: out of memory", 0);
        goto out;
    }
    ok = answer_owned(conn, MHD_HTTP_OK, answer, 0);
out:
    json_object_put(root);
    return ok;
}

static int ends_with(const char *s, const char *suffix)
{
    size_t ls = strlen(s), lx = strlen(suffix);
    return ls >= lx && strcmp(s + ls - lx, suffix) == 0;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **req_cls)
{
    cw_mock_embedder *m = cls;
    mock_request *req = *req_cls;
    (void)version;

    if (req == NULL) {
        req = calloc(1, sizeof *req);
        if (req == NULL)
            return MHD_NO;
        *req_cls = req;
        return MHD_YES;
    }
    if (*upload_data_size > 0) {
        size_t add = *upload_data_size;
        *upload_data_size = 0;
        if (req->too_big || add > MOCK_MAX_BODY - req->len) {
            req->too_big = 1;
            return MHD_YES;
        }
        if (req->len + add + 1 > req->cap) {
            size_t cap = req->cap > 0 ? req->cap : 4096;
            while (cap < req->len + add + 1)
                cap *= 2;
            char *grown = realloc(req->body, cap);
            if (grown == NULL)
                return MHD_NO;
            req->body = grown;
            req->cap = cap;
        }
        memcpy(req->body + req->len, upload_data, add);
        req->len += add;
        req->body[req->len] = '\0';
        return MHD_YES;
    }
    if (!ends_with(url, "/embeddings"))
        return answer_error(conn, MHD_HTTP_NOT_FOUND, "mock: unknown path", 0);
    if (strcmp(method, "POST") != 0)
        return answer_error(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "mock: use POST", 0);
    return handle_embeddings(m, conn, req);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **req_cls,
                         enum MHD_RequestTerminationCode toe)
{
    mock_request *req = *req_cls;
    (void)cls;
    (void)conn;
    (void)toe;
    if (req != NULL) {
        free(req->body);
        free(req);
        *req_cls = NULL;
    }
}

static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
                          enum MHD_ConnectionNotificationCode toe)
{
    cw_mock_embedder *m = cls;
    (void)conn;
    (void)socket_context;
    if (toe != MHD_CONNECTION_NOTIFY_STARTED)
        return;
    pthread_mutex_lock(&m->lock);
    m->connections++;
    pthread_mutex_unlock(&m->lock);
}

/* ---- lifecycle and knobs ---------------------------------------------- */

cw_mock_embedder *cw_mock_embedder_start(unsigned short port, size_t dim)
{
    cw_mock_embedder *m = calloc(1, sizeof *m);
    struct sockaddr_in addr;

    if (m == NULL || dim == 0)
        goto fail;
    if (pthread_mutex_init(&m->lock, NULL) != 0) {
        free(m);
        return NULL;
    }
    m->start_dim = dim;
    m->dim = dim;
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    m->daemon = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION
                                     | MHD_USE_POLL,
                                 port, NULL, NULL, on_request, m,
                                 MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
                                 MHD_OPTION_NOTIFY_COMPLETED, on_completed, m,
                                 MHD_OPTION_NOTIFY_CONNECTION, on_connection, m,
                                 MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)60,
                                 MHD_OPTION_END);
    if (m->daemon == NULL)
        goto fail;
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(m->daemon, MHD_DAEMON_INFO_BIND_PORT);
    if (info == NULL || info->port == 0)
        goto fail;
    m->port = info->port;
    snprintf(m->url, sizeof m->url, "http://127.0.0.1:%u/v1", (unsigned)m->port);
    return m;
fail:
    cw_mock_embedder_stop(m);
    return NULL;
}

void cw_mock_embedder_stop(cw_mock_embedder *m)
{
    if (m == NULL)
        return;
    __atomic_store_n(&m->stopping, 1, __ATOMIC_RELEASE);
    if (m->daemon != NULL)
        MHD_stop_daemon(m->daemon);
    if (m->start_dim != 0)
        pthread_mutex_destroy(&m->lock);
    free(m);
}

unsigned short cw_mock_embedder_port(const cw_mock_embedder *m)
{
    return m->port;
}

const char *cw_mock_embedder_url(const cw_mock_embedder *m)
{
    return m->url;
}

/* The lock is logically mutable state: getters take it on a const mock. */
#define MOCK_LOCK(m) pthread_mutex_lock((pthread_mutex_t *)&(m)->lock)
#define MOCK_UNLOCK(m) pthread_mutex_unlock((pthread_mutex_t *)&(m)->lock)

void cw_mock_embedder_set_latency(cw_mock_embedder *m, int ms)
{
    MOCK_LOCK(m);
    m->latency_ms = ms > 0 ? ms : 0;
    MOCK_UNLOCK(m);
}

void cw_mock_embedder_slow_calls(cw_mock_embedder *m, int ms, int count)
{
    MOCK_LOCK(m);
    m->slow_ms = ms > 0 ? ms : 0;
    m->slow_left = count > 0 ? count : 0;
    MOCK_UNLOCK(m);
}

void cw_mock_embedder_fail(cw_mock_embedder *m, int status, int count, int retry_after_s)
{
    MOCK_LOCK(m);
    m->fail_status = status;
    m->fail_left = count;
    m->fail_retry_after_s = retry_after_s;
    MOCK_UNLOCK(m);
}

void cw_mock_embedder_set_fault_rates(cw_mock_embedder *m, int fail_pct, int fail_status,
                                      int stall_pct, int stall_ms, unsigned long seed)
{
    MOCK_LOCK(m);
    m->rate_fail_pct = fail_pct < 0 ? 0 : fail_pct > 100 ? 100 : fail_pct;
    m->rate_fail_status = fail_status;
    m->rate_stall_pct = stall_pct < 0 ? 0 : stall_pct > 100 - m->rate_fail_pct ? 100 - m->rate_fail_pct : stall_pct;
    m->rate_stall_ms = stall_ms > 0 ? stall_ms : 0;
    m->rate_seed = seed;
    MOCK_UNLOCK(m);
}

void cw_mock_embedder_fault_counts(const cw_mock_embedder *m, unsigned long *fails,
                                   unsigned long *stalls)
{
    MOCK_LOCK(m);
    *fails = m->rate_fails;
    *stalls = m->rate_stalls;
    MOCK_UNLOCK(m);
}

void cw_mock_embedder_set_answer(cw_mock_embedder *m, cw_mock_answer answer)
{
    MOCK_LOCK(m);
    m->answer = answer;
    MOCK_UNLOCK(m);
}

void cw_mock_embedder_set_base64(cw_mock_embedder *m, cw_mock_base64 mode)
{
    MOCK_LOCK(m);
    m->base64 = mode;
    MOCK_UNLOCK(m);
}

unsigned long cw_mock_embedder_packed_calls(const cw_mock_embedder *m)
{
    MOCK_LOCK(m);
    unsigned long v = m->packed_calls;
    MOCK_UNLOCK(m);
    return v;
}

void cw_mock_embedder_set_dim(cw_mock_embedder *m, size_t dim)
{
    MOCK_LOCK(m);
    if (dim > 0)
        m->dim = dim;
    MOCK_UNLOCK(m);
}

void cw_mock_embedder_reset(cw_mock_embedder *m)
{
    MOCK_LOCK(m);
    __atomic_store_n(&m->epoch, m->epoch + 1, __ATOMIC_RELEASE);
    m->dim = m->start_dim;
    m->latency_ms = 0;
    m->slow_ms = 0;
    m->slow_left = 0;
    m->fail_status = 0;
    m->fail_left = 0;
    m->fail_retry_after_s = 0;
    m->rate_fail_pct = 0;
    m->rate_stall_pct = 0;
    m->rate_fails = 0;
    m->rate_stalls = 0;
    m->answer = CW_MOCK_ANSWER_OK;
    m->base64 = CW_MOCK_BASE64_HONOUR;
    m->calls = 0;
    m->packed_calls = 0;
    m->inputs = 0;
    m->max_inputs = 0;
    m->connections = 0;
    m->has_auth = 0;
    m->last_auth[0] = '\0';
    m->has_input_type = 0;
    m->last_input_type[0] = '\0';
    m->has_model = 0;
    m->last_model[0] = '\0';
    MOCK_UNLOCK(m);
}

unsigned long cw_mock_embedder_calls(const cw_mock_embedder *m)
{
    MOCK_LOCK(m);
    unsigned long v = m->calls;
    MOCK_UNLOCK(m);
    return v;
}

unsigned long cw_mock_embedder_inputs(const cw_mock_embedder *m)
{
    MOCK_LOCK(m);
    unsigned long v = m->inputs;
    MOCK_UNLOCK(m);
    return v;
}

unsigned long cw_mock_embedder_max_inputs(const cw_mock_embedder *m)
{
    MOCK_LOCK(m);
    unsigned long v = m->max_inputs;
    MOCK_UNLOCK(m);
    return v;
}

/* Copy the recorded field `which` (0 auth, 1 input_type, 2 model) out. */
unsigned long cw_mock_embedder_connections(const cw_mock_embedder *m)
{
    MOCK_LOCK(m);
    unsigned long v = m->connections;
    MOCK_UNLOCK(m);
    return v;
}

static int copy_out(const cw_mock_embedder *m, int which, char *buf, size_t cap)
{
    MOCK_LOCK(m);
    int present = which == 0 ? m->has_auth : which == 1 ? m->has_input_type : m->has_model;
    const char *value = which == 0 ? m->last_auth : which == 1 ? m->last_input_type : m->last_model;
    snprintf(buf, cap, "%s", present ? value : "");
    MOCK_UNLOCK(m);
    return present;
}

int cw_mock_embedder_last_auth(const cw_mock_embedder *m, char *buf, size_t cap)
{
    return copy_out(m, 0, buf, cap);
}

int cw_mock_embedder_last_input_type(const cw_mock_embedder *m, char *buf, size_t cap)
{
    return copy_out(m, 1, buf, cap);
}

int cw_mock_embedder_last_model(const cw_mock_embedder *m, char *buf, size_t cap)
{
    return copy_out(m, 2, buf, cap);
}
