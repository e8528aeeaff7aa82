#include "embed_http.h"

#include <ctype.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "cw_log.h"
#include "cw_time.h"
#include "embed_wire.h"
#include "embedder_util.h"
#include "httpc.h"

#define DEFAULT_TIMEOUT_MS 20000L
#define DEFAULT_DEADLINE_MS 20000L
#define CONNECT_TIMEOUT_MS 5000L
#define POOL_MAX_IDLE 16
#define BACKOFF_FIRST_MS 100
#define BACKOFF_MAX_MS 5000
#define AUTH_LOG_EVERY_MS 60000
#define RETRY_AFTER_MAX_S 86400
#define CANCEL_POLL_MS 50          /* how often a backoff sleep looks at the cancel flag */
#define RETRY_CANCELLED_S 2        /* Retry-After once cancelled (the server is stopping) */

typedef struct remote_flavor {
    const char *name;           /* backend name, also the message prefix */
    const char *default_url;
    const char *default_model;
    size_t default_max_batch;
    const char *key_env;        /* where the operator sets the key */
    int send_input_type;        /* voyage: "input_type":"document"|"query" */
    int key_required;
    size_t default_max_text_bytes;  /* 0 = send texts whole */
    size_t default_max_call_bytes;  /* text bytes per upstream call */
} remote_flavor;

static const remote_flavor VOYAGE = {
    "voyage", "https://api.voyageai.com/v1", "voyage-4", 128, "VOYAGE_API_KEY", 1, 1, 0, 256u * 1024u,
};
static const remote_flavor OPENAI = {
    "openai", "https://api.openai.com/v1", "text-embedding-3-small", 256, "OPENAI_API_KEY", 0, 0, 16384,
    256u * 1024u,
};

typedef struct remote_embedder {
    cw_embedder base;             /* first member: the public part */
    const remote_flavor *flavor;
    int has_key;
    char *model;                  /* base.model points here */
    char *endpoint;               /* "{url}/embeddings" */
    struct curl_slist *headers;   /* built by create, then only read */
    long timeout_ms;
    long deadline_ms;
    size_t max_text_bytes;        /* 0 = no cut */
    size_t max_call_bytes;        /* text bytes per upstream call (≥ one text) */
    cw_httpc_pool *pool;
    pthread_mutex_t lock;         /* guards base.dim (written once), last_auth_log_ms, rng */
    int lock_ready;
    int64_t last_auth_log_ms;     /* when the refused-key line was last logged; 0 = never */
    uint64_t rng;                 /* backoff jitter state (xorshift64) */
    int floats_only;              /* set (atomically, once) when the API refused a base64 request */
} remote_embedder;

/* One upstream answer as it arrives. */
typedef struct answer {
    cw_httpc_body body;           /* at most CW_EMBED_HTTP_MAX_ANSWER bytes */
    int retry_after_s;            /* Retry-After seconds; 0 = none */
} answer;

int cw_embed_http_retry_after(const char *value, size_t len, time_t now)
{
    size_t i = 0;
    long secs = 0;
    char date[64];

    while (i < len && (value[i] == ' ' || value[i] == '\t'))
        i++;
    while (len > i && (value[len - 1] == '\r' || value[len - 1] == '\n' || value[len - 1] == ' '
                       || value[len - 1] == '\t'))
        len--;
    if (i == len)
        return -1;
    if (isdigit((unsigned char)value[i])) {
        /* delta-seconds: digits only, capped (no overflow on huge values). */
        for (; i < len && isdigit((unsigned char)value[i]); i++) {
            if (secs <= RETRY_AFTER_MAX_S)
                secs = secs * 10 + (value[i] - '0');
        }
        if (i != len)
            return -1;
        return secs > RETRY_AFTER_MAX_S ? RETRY_AFTER_MAX_S : (int)secs;
    }
    /* HTTP-date (RFC 9110 IMF-fixdate, or the obsolete forms curl reads). */
    if (len - i >= sizeof date)
        return -1;
    memcpy(date, value + i, len - i);
    date[len - i] = '\0';
    time_t at = curl_getdate(date, NULL);
    if (at == (time_t)-1)
        return -1;
    if (at <= now)
        return 0;
    return at - now > RETRY_AFTER_MAX_S ? RETRY_AFTER_MAX_S : (int)(at - now);
}

static size_t on_header(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    answer *a = userdata;
    size_t len = size * nmemb;
    static const char name[] = "retry-after:";

    if (len >= 5 && strncmp(ptr, "HTTP/", 5) == 0) {
        a->retry_after_s = 0;     /* a new response (after a redirect or 100) */
    } else if (len > sizeof name - 1 && strncasecmp(ptr, name, sizeof name - 1) == 0) {
        /* Seconds or an HTTP-date; anything else (negative, garbage) is
         * ignored and the backoff applies. */
        int secs = cw_embed_http_retry_after(ptr + sizeof name - 1, len - (sizeof name - 1),
                                             time(NULL));
        if (secs > 0)
            a->retry_after_s = secs;
    }
    return len;
}

/* libcurl progress callback: abandon the call once the embedder is
 * cancelled (shutdown past its drain deadline). */
static int on_progress(void *clientp, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                       curl_off_t ulnow)
{
    (void)dltotal;
    (void)dlnow;
    (void)ultotal;
    (void)ulnow;
    return cw_embedder_cancelled(clientp) ? 1 : 0;
}

/* Sleep `ms`, in short slices, unless the embedder is cancelled first. */
static void sleep_unless_cancelled(remote_embedder *r, int64_t ms)
{
    int64_t until = cw_now_ms() + ms;
    for (int64_t left = ms; left > 0 && !cw_embedder_cancelled(&r->base); left = cw_ms_left(until))
        cw_sleep_ms(left < CANCEL_POLL_MS ? left : CANCEL_POLL_MS);
}

/* One POST of `body` with a `call_ms` budget. Fills *a, *status (0 when no
 * HTTP answer) and *cc. Returns -1 only when no handle could be had. */
static int post_once(remote_embedder *r, const char *body, long call_ms, answer *a,
                     long *status, CURLcode *cc, cw_error *err)
{
    CURL *h = cw_httpc_pool_acquire(r->pool);

    *status = 0;
    if (h == NULL)
        return cw_error_set(err, CW_E_NOMEM, "%s: out of memory for an HTTP handle", r->base.name);
    cw_httpc_prepare(h, r->endpoint, r->headers, CONNECT_TIMEOUT_MS, call_ms, &a->body);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, "");
    cw_httpc_post(h, body, strlen(body));
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, a);
    curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(h, CURLOPT_XFERINFODATA, &r->base);
    *cc = curl_easy_perform(h);
    if (*cc == CURLE_OK)
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, status);
    cw_httpc_pool_release(r->pool, h);
    return 0;
}

/* Curl failures that retrying cannot fix (a bad URL or TLS set-up). */
static int curl_error_is_permanent(CURLcode cc)
{
    switch (cc) {
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_URL_MALFORMAT:
    case CURLE_NOT_BUILT_IN:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_BAD_FUNCTION_ARGUMENT:
        return 1;
    default:
        return 0;
    }
}

/* Exponential backoff with equal jitter for the given attempt (1-based). */
static int64_t backoff_ms(remote_embedder *r, unsigned attempt)
{
    unsigned shift = attempt > 7 ? 6 : attempt - 1;
    int64_t base = (int64_t)BACKOFF_FIRST_MS << shift;
    if (base > BACKOFF_MAX_MS)
        base = BACKOFF_MAX_MS;
    pthread_mutex_lock(&r->lock);
    r->rng ^= r->rng << 13;
    r->rng ^= r->rng >> 7;
    r->rng ^= r->rng << 17;
    uint64_t x = r->rng;
    pthread_mutex_unlock(&r->lock);
    return base / 2 + (int64_t)(x % (uint64_t)(base / 2 + 1));
}

static int refuse_key(remote_embedder *r, long status, cw_error *err)
{
    char msg[CW_ERROR_MSG_MAX];
    int64_t now = cw_now_ms();
    int log_it = 0;

    if (r->has_key)
        snprintf(msg, sizeof msg, "%s: the API key was refused (%ld) — check %s",
                 r->base.name, status, r->flavor->key_env);
    else
        snprintf(msg, sizeof msg, "%s: the embedding API requires an API key (%ld) — set %s",
                 r->base.name, status, r->flavor->key_env);
    pthread_mutex_lock(&r->lock);
    if (r->last_auth_log_ms == 0 || now - r->last_auth_log_ms >= AUTH_LOG_EVERY_MS) {
        r->last_auth_log_ms = now;
        log_it = 1;
    }
    pthread_mutex_unlock(&r->lock);
    if (log_it)
        cw_log_error("%s", msg);
    return cw_error_set(err, CW_E_CONFIG, "%s", msg);
}

/* 1 when a 400/422 answer names the encoding (vLLM, TEI, pydantic-based
 * servers name the field they refuse): only then is the request worth
 * sending again without "encoding_format". Any other 400 is the request's
 * own fault and is refused as before. */
static int refuses_base64(const answer *a)
{
    char msg[512];
    cw_embed_wire_upstream_message(a->body.data, a->body.len, msg, sizeof msg);
    for (char *c = msg; *c != '\0'; c++)
        *c = (char)tolower((unsigned char)*c);
    return strstr(msg, "encoding_format") != NULL || strstr(msg, "encoding format") != NULL ||
           strstr(msg, "base64") != NULL;
}

/* What a failed attempt means. */
typedef enum attempt_verdict {
    ATTEMPT_RETRY,        /* transient: desc says what happened */
    ATTEMPT_FAIL,         /* err set: not worth retrying */
    ATTEMPT_NO_BASE64     /* the API refused "encoding_format": ask for numbers */
} attempt_verdict;

/* A failed attempt (curl code cc, HTTP status) classified; desc (cap
 * CW_ERROR_MSG_MAX) describes a transient failure for the final error. */
static attempt_verdict classify(remote_embedder *r, const answer *a, CURLcode cc, long status,
                                int base64, char *desc, cw_error *err)
{
    const char *name = r->base.name;
    if (cc == CURLE_ABORTED_BY_CALLBACK) {
        cw_error_set_retry(err, CW_E_UNAVAILABLE, RETRY_CANCELLED_S,
                           "%s: shutting down (the call to %s was abandoned)", name, r->endpoint);
        return ATTEMPT_FAIL;
    }
    if (cc != CURLE_OK) {
        if (a->body.too_big) {
            cw_error_set(err, CW_E_INTERNAL, "%s: malformed answer: larger than %u bytes",
                         name, CW_EMBED_HTTP_MAX_ANSWER);
            return ATTEMPT_FAIL;
        }
        if (curl_error_is_permanent(cc)) {
            cw_error_set(err, CW_E_CONFIG, "%s: cannot call %s: %s", name, r->endpoint,
                         curl_easy_strerror(cc));
            return ATTEMPT_FAIL;
        }
        if (cc == CURLE_OPERATION_TIMEDOUT)
            snprintf(desc, CW_ERROR_MSG_MAX, "%s: no answer from %s in time", name, r->endpoint);
        else
            snprintf(desc, CW_ERROR_MSG_MAX, "%s: cannot reach %s: %s", name, r->endpoint,
                     curl_easy_strerror(cc));
        return ATTEMPT_RETRY;
    }
    if (status == 401 || status == 403) {
        refuse_key(r, status, err);
        return ATTEMPT_FAIL;
    }
    if (status == 408 || status == 429 || status >= 500) {
        snprintf(desc, CW_ERROR_MSG_MAX, "%s: the embedding API answered HTTP %ld", name, status);
        return ATTEMPT_RETRY;
    }
    if (base64 && (status == 400 || status == 422) && refuses_base64(a))
        return ATTEMPT_NO_BASE64;
    if (status >= 400) {
        char upstream[300];
        cw_embed_wire_upstream_message(a->body.data, a->body.len, upstream, sizeof upstream);
        cw_error_set(err, CW_E_CONFIG, "%s: the embedding API refused the request (HTTP %ld): %s",
                     name, status, upstream);
        return ATTEMPT_FAIL;
    }
    cw_error_set(err, CW_E_INTERNAL, "%s: unexpected HTTP status %ld from %s", name, status,
                 r->endpoint);
    return ATTEMPT_FAIL;
}

/* Sleep before the next attempt (Retry-After, else backoff), or -1 with
 * err set when that would pass the deadline. */
static int wait_to_retry(remote_embedder *r, const answer *a, unsigned attempt, int64_t deadline,
                         const char *desc, cw_error *err)
{
    int64_t wait = a->retry_after_s > 0 ? (int64_t)a->retry_after_s * 1000 : backoff_ms(r, attempt);
    if (wait >= cw_ms_left(deadline)) {
        if (a->retry_after_s > 0)
            return cw_error_set_retry(err, CW_E_UNAVAILABLE, a->retry_after_s,
                                      "%s (Retry-After %d s is past the deadline)", desc,
                                      a->retry_after_s);
        return cw_error_set_retry(err, CW_E_UNAVAILABLE, CW_EMBED_HTTP_RETRY_AFTER_S,
                                  "%s (gave up within the %ld ms deadline)", desc, r->deadline_ms);
    }
    cw_log_debug("%s; retry %u in %lld ms", desc, attempt, (long long)wait);
    sleep_unless_cancelled(r, wait);
    return 0;
}

/* One upstream batch, retried within `deadline`. On success *vecs (malloc'd
 * n * *dim floats) and *dim are set. */
static int embed_batch(remote_embedder *r, const char *const *texts, size_t n,
                       const char *input_type, int64_t deadline, float **vecs,
                       size_t *dim, cw_error *err)
{
    int rc = -1;
    const char *name = r->base.name;
    char desc[CW_ERROR_MSG_MAX];
    answer a = { .body = { .max = CW_EMBED_HTTP_MAX_ANSWER } };
    /* Packed float32 vectors unless this API refused them once: a quarter
     * of the bytes and no number parsing (~25% of our CPU per 1024-d
     * vector when answered as decimal numbers). */
    int base64 = !__atomic_load_n(&r->floats_only, __ATOMIC_RELAXED);
    long b64_refused_status = 0;  /* the 400/422 a base64 request got, if any */
    char b64_refusal[300] = "";
    char *body = cw_embed_wire_request(texts, n, r->model, input_type, r->max_text_bytes, base64, err);

    snprintf(desc, sizeof desc, "%s: no time left to call %s", name, r->endpoint);
    if (body == NULL)
        goto out;
    for (unsigned attempt = 1;; attempt++) {
        int64_t left = cw_ms_left(deadline);
        long status = 0;
        CURLcode cc = CURLE_OK;

        if (cw_embedder_cancelled(&r->base)) {
            cw_error_set_retry(err, CW_E_UNAVAILABLE, RETRY_CANCELLED_S, "%s: shutting down", name);
            goto out;
        }
        if (left <= 0) {
            cw_error_set_retry(err, CW_E_UNAVAILABLE, CW_EMBED_HTTP_RETRY_AFTER_S,
                               "%s (gave up within the %ld ms deadline)", desc, r->deadline_ms);
            goto out;
        }
        cw_httpc_body_clear(&a.body);
        a.retry_after_s = 0;
        if (post_once(r, body, left < r->timeout_ms ? (long)left : r->timeout_ms, &a, &status, &cc, err) != 0)
            goto out;
        if (cc == CURLE_OK && status >= 200 && status < 300) {
            if (b64_refused_status != 0 && !__atomic_exchange_n(&r->floats_only, 1, __ATOMIC_RELAXED))
                cw_log_info("%s: the embedding API refused \"encoding_format\":\"base64\" (HTTP %ld: %s) "
                            "and answered without it; asking for arrays of numbers from now on",
                            name, b64_refused_status, b64_refusal);
            rc = cw_embed_wire_parse_answer(name, a.body.data, a.body.len, n, CW_EMBEDDER_MAX_DIM, vecs, dim, err);
            goto out;
        }
        attempt_verdict v = classify(r, &a, cc, status, base64, desc, err);
        if (v == ATTEMPT_FAIL)
            goto out;
        if (v == ATTEMPT_NO_BASE64) {
            /* An API that knows no "encoding_format" (or not "base64"):
             * ask again for numbers, at once. Only if that is answered
             * does this backend ask for numbers from now on. */
            cw_embed_wire_upstream_message(a.body.data, a.body.len, b64_refusal, sizeof b64_refusal);
            b64_refused_status = status;
            base64 = 0;
            free(body);
            body = cw_embed_wire_request(texts, n, r->model, input_type, r->max_text_bytes, 0, err);
            if (body == NULL)
                goto out;
            continue;
        }
        if (wait_to_retry(r, &a, attempt, deadline, desc, err) != 0)
            goto out;
    }
out:
    cw_httpc_body_clear(&a.body);
    free(body);
    return rc;
}

/* Learn dim from the first answer, then enforce it. */
static int check_dim(remote_embedder *r, size_t dim, cw_error *err)
{
    size_t known;

    pthread_mutex_lock(&r->lock);
    if (r->base.dim == 0)
        r->base.dim = dim;
    known = r->base.dim;
    pthread_mutex_unlock(&r->lock);
    if (known != dim)
        return cw_error_set(err, CW_E_INTERNAL,
                            "%s: the embedding API answered vectors of %zu values, expected %zu (did the model change?)",
                            r->base.name, dim, known);
    return 0;
}

/* How many of texts[0..n) go in the next upstream call: at most max_batch,
 * and at most max_call_bytes of text (as sent, after the max_text_bytes
 * cut) — the providers limit tokens per request too — but always one. */
static size_t call_size(const remote_embedder *r, const char *const *texts, size_t n)
{
    size_t count = 0, bytes = 0;
    while (count < n && count < r->base.max_batch) {
        size_t len = strlen(texts[count]);
        if (r->max_text_bytes > 0 && len > r->max_text_bytes)
            len = r->max_text_bytes;
        if (count > 0 && len > r->max_call_bytes - bytes)
            break;
        bytes = len > r->max_call_bytes - bytes ? r->max_call_bytes : bytes + len;
        count++;
    }
    return count;
}

static int remote_embed(cw_embedder *self, const char *const *texts, size_t n,
                        cw_embed_purpose purpose, float *out, cw_error *err)
{
    int rc = -1;
    remote_embedder *r = (remote_embedder *)self;
    int64_t deadline = cw_now_ms() + r->deadline_ms;
    const char *input_type = NULL;
    float *vecs = NULL;

    if (r->flavor->send_input_type)
        input_type = purpose == CW_EMBED_QUERY ? "query" : "document";
    for (size_t off = 0, count = 0; off < n; off += count) {
        count = call_size(r, texts + off, n - off);
        size_t dim = 0;

        if (embed_batch(r, texts + off, count, input_type, deadline, &vecs, &dim, err) != 0
            || check_dim(r, dim, err) != 0)
            goto out;
        memcpy(out + off * dim, vecs, count * dim * sizeof *vecs);
        free(vecs);
        vecs = NULL;
    }
    rc = 0;
out:
    free(vecs);
    return rc;
}

static void remote_destroy(cw_embedder *self)
{
    remote_embedder *r = (remote_embedder *)self;

    if (r == NULL)
        return;
    cw_httpc_pool_destroy(r->pool);
    curl_slist_free_all(r->headers);
    free(r->endpoint);
    free(r->model);
    if (r->lock_ready)
        pthread_mutex_destroy(&r->lock);
    free(r);
}

static const cw_embedder_vtable REMOTE_VT = { remote_embed, remote_destroy };

void cw_remote_embedder_config_defaults(cw_remote_embedder_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->timeout_ms = DEFAULT_TIMEOUT_MS;
    cfg->deadline_ms = DEFAULT_DEADLINE_MS;
}

static cw_embedder *remote_create(const remote_flavor *flavor, const cw_remote_embedder_config *cfg,
                                  cw_error *err)
{
    remote_embedder *r = NULL;
    char *auth = NULL;
    const char *url = cfg->url != NULL && cfg->url[0] != '\0' ? cfg->url : flavor->default_url;
    const char *model = cfg->model != NULL && cfg->model[0] != '\0' ? cfg->model : flavor->default_model;
    size_t url_len = strlen(url);
    size_t key_len = cfg->api_key != NULL ? strlen(cfg->api_key) : 0;

    /* A key read from a file or a Secret often ends in a newline: drop
     * trailing white space; refuse control characters inside it. */
    while (key_len > 0 && isspace((unsigned char)cfg->api_key[key_len - 1]))
        key_len--;
    for (size_t i = 0; i < key_len; i++) {
        if ((unsigned char)cfg->api_key[i] < 0x20 || cfg->api_key[i] == 0x7f) {
            cw_error_set(err, CW_E_CONFIG, "%s: the API key holds control characters — check %s",
                         flavor->name, flavor->key_env);
            return NULL;
        }
    }
    if (flavor->key_required && key_len == 0) {
        cw_error_set(err, CW_E_CONFIG, "%s: no API key — set %s", flavor->name, flavor->key_env);
        return NULL;
    }
    r = calloc(1, sizeof *r);
    if (r == NULL)
        goto nomem;
    r->base.vt = &REMOTE_VT;
    r->base.name = flavor->name;
    r->base.max_batch = cfg->max_batch > 0 ? cfg->max_batch : flavor->default_max_batch;
    r->flavor = flavor;
    r->has_key = key_len > 0;
    r->timeout_ms = cfg->timeout_ms > 0 ? cfg->timeout_ms : DEFAULT_TIMEOUT_MS;
    r->deadline_ms = cfg->deadline_ms > 0 ? cfg->deadline_ms : DEFAULT_DEADLINE_MS;
    r->max_text_bytes = cfg->max_text_bytes > 0 ? cfg->max_text_bytes : flavor->default_max_text_bytes;
    r->max_call_bytes = cfg->max_call_bytes > 0 ? cfg->max_call_bytes : flavor->default_max_call_bytes;
    r->rng = (uint64_t)cw_now_ms() * 0x9E3779B97F4A7C15ull ^ (uint64_t)(uintptr_t)r;
    if (r->rng == 0)
        r->rng = 1;
    if (pthread_mutex_init(&r->lock, NULL) != 0)
        goto nomem;
    r->lock_ready = 1;
    r->model = strdup(model);
    r->base.model = r->model;
    while (url_len > 0 && url[url_len - 1] == '/')
        url_len--;
    r->endpoint = malloc(url_len + sizeof "/embeddings");
    r->pool = cw_httpc_pool_create(POOL_MAX_IDLE);
    if (r->model == NULL || r->endpoint == NULL || r->pool == NULL)
        goto nomem;
    memcpy(r->endpoint, url, url_len);
    memcpy(r->endpoint + url_len, "/embeddings", sizeof "/embeddings");
    if (key_len > 0) {
        size_t len = strlen("Authorization: Bearer ") + key_len + 1;
        auth = malloc(len);
        if (auth == NULL)
            goto nomem;
        snprintf(auth, len, "Authorization: Bearer %.*s", (int)key_len, cfg->api_key);
    }
    r->headers = cw_httpc_json_headers(auth);
    if (r->headers == NULL)
        goto nomem;
    free(auth);
    return &r->base;
nomem:
    cw_error_set(err, CW_E_NOMEM, "%s: out of memory creating the embedder", flavor->name);
    free(auth);
    remote_destroy(r != NULL ? &r->base : NULL);
    return NULL;
}

cw_embedder *cw_embedder_voyage_create(const cw_remote_embedder_config *cfg, cw_error *err)
{
    return remote_create(&VOYAGE, cfg, err);
}

cw_embedder *cw_embedder_openai_create(const cw_remote_embedder_config *cfg, cw_error *err)
{
    return remote_create(&OPENAI, cfg, err);
}
