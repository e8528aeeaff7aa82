/* cw_chroma — the Chroma v2 client: collection lifecycle, batching, the
 * recreate-once rule and error mapping. Transport in chroma_http.c, JSON in
 * chroma_json.c. See chroma.h. */
#include "chroma.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chroma_http.h"
#include "chroma_json.h"
#include "cw_log.h"
#include "cw_secret.h"

#define CW_CHROMA_DEFAULT_BATCH 1000
#define CW_CHROMA_ID_MAX 128
#define CW_CHROMA_URL_MAX 2048
#define CW_CHROMA_PROBE_TIMEOUT_MS 2000
/* The defaults of cw_chroma_config (also what NULL and 0 fields mean). */
#define DEFAULT_URL "http://localhost:8000"
#define DEFAULT_TENANT "default_tenant"
#define DEFAULT_DATABASE "default_database"
#define DEFAULT_COLLECTION "instances"
#define DEFAULT_CONNECT_TIMEOUT_MS 2000
#define DEFAULT_READ_TIMEOUT_MS 15000
#define DEFAULT_WRITE_TIMEOUT_MS 120000

struct cw_chroma {
    char *url;               /* base URL without trailing slash */
    char *collection;
    char *db_url;            /* {url}/api/v2/tenants/{t}/databases/{d} */
    long read_timeout_ms;
    long write_timeout_ms;
    cw_chroma_http *ops;     /* handles for collection calls */
    cw_chroma_http *probe;   /* handles for the heartbeat only */
    pthread_mutex_t lock;    /* guards coll_id, server_max_batch, forced_max_batch */
    int lock_ready;
    char coll_id[CW_CHROMA_ID_MAX];   /* "" when not known */
    size_t server_max_batch;          /* 0 until pre-flight-checks answered */
    size_t forced_max_batch;          /* 0 = none */
};

/* ---- create / destroy --------------------------------------------------- */

static char *escape_dup(const char *s)
{
    char *e = curl_easy_escape(NULL, s, 0);
    if (e == NULL)
        return NULL;
    char *copy = strdup(e);
    curl_free(e);
    return copy;
}

void cw_chroma_config_defaults(cw_chroma_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->url = DEFAULT_URL;
    cfg->tenant = DEFAULT_TENANT;
    cfg->database = DEFAULT_DATABASE;
    cfg->collection = DEFAULT_COLLECTION;
    cfg->connect_timeout_ms = DEFAULT_CONNECT_TIMEOUT_MS;
    cfg->read_timeout_ms = DEFAULT_READ_TIMEOUT_MS;
    cfg->write_timeout_ms = DEFAULT_WRITE_TIMEOUT_MS;
}

cw_chroma *cw_chroma_create(const cw_chroma_config *cfg, cw_error *err)
{
    cw_chroma *c = NULL;
    char *tenant = NULL, *database = NULL, *auth_line = NULL;
    if (cfg == NULL || cfg->url == NULL || cfg->url[0] == '\0') {
        cw_error_set(err, CW_E_CONFIG, "chroma: no URL configured");
        return NULL;
    }
    c = calloc(1, sizeof(*c));
    if (c == NULL)
        goto nomem;
    if (pthread_mutex_init(&c->lock, NULL) != 0)
        goto nomem;
    c->lock_ready = 1;
    c->url = strdup(cfg->url);
    c->collection = strdup(cfg->collection != NULL ? cfg->collection : DEFAULT_COLLECTION);
    tenant = escape_dup(cfg->tenant != NULL ? cfg->tenant : DEFAULT_TENANT);
    database = escape_dup(cfg->database != NULL ? cfg->database : DEFAULT_DATABASE);
    if (c->url == NULL || c->collection == NULL || tenant == NULL || database == NULL)
        goto nomem;
    size_t len = strlen(c->url);
    while (len > 0 && c->url[len - 1] == '/')
        c->url[--len] = '\0';
    size_t cap = len + strlen(tenant) + strlen(database) + 64;
    c->db_url = malloc(cap);
    if (c->db_url == NULL)
        goto nomem;
    snprintf(c->db_url, cap, "%s/api/v2/tenants/%s/databases/%s", c->url, tenant, database);
    c->read_timeout_ms = cfg->read_timeout_ms > 0 ? cfg->read_timeout_ms : DEFAULT_READ_TIMEOUT_MS;
    c->write_timeout_ms = cfg->write_timeout_ms > 0 ? cfg->write_timeout_ms : DEFAULT_WRITE_TIMEOUT_MS;
    long connect_ms = cfg->connect_timeout_ms > 0 ? cfg->connect_timeout_ms : DEFAULT_CONNECT_TIMEOUT_MS;
    if (cfg->token != NULL && cfg->token[0] != '\0') {
        if (strpbrk(cfg->token, "\r\n") != NULL) {
            cw_error_set(err, CW_E_CONFIG, "chroma: the auth token holds a line break");
            goto fail;
        }
        size_t cap = strlen(cfg->token) + 32;
        auth_line = malloc(cap);
        if (auth_line == NULL)
            goto nomem;
        snprintf(auth_line, cap, "%s%s", cfg->token_as_bearer ? "Authorization: Bearer "
                                                              : "x-chroma-token: ", cfg->token);
    }
    cw_chroma_http_auth auth = { .auth_line = auth_line, .ca_file = cfg->ca_file };
    c->ops = cw_chroma_http_create(connect_ms, &auth, err);
    if (c->ops == NULL)
        goto fail;
    c->probe = cw_chroma_http_create(connect_ms, &auth, err);
    if (c->probe == NULL)
        goto fail;
    free(tenant);
    free(database);
    cw_secret_free(auth_line);
    return c;
nomem:
    cw_error_set(err, CW_E_NOMEM, "chroma: out of memory creating the client");
fail:
    free(tenant);
    free(database);
    cw_secret_free(auth_line);
    cw_chroma_destroy(c);
    return NULL;
}

void cw_chroma_destroy(cw_chroma *c)
{
    if (c == NULL)
        return;
    cw_chroma_http_destroy(c->ops);
    cw_chroma_http_destroy(c->probe);
    free(c->url);
    free(c->collection);
    free(c->db_url);
    if (c->lock_ready)
        pthread_mutex_destroy(&c->lock);
    free(c);
}

long cw_chroma_auth_refused(cw_chroma *c)
{
    long st = cw_chroma_http_auth_refused(c->ops);
    return st != 0 ? st : cw_chroma_http_auth_refused(c->probe);
}

const char *cw_chroma_collection_name(const cw_chroma *c)
{
    return c->collection;
}

void cw_chroma_set_max_batch(cw_chroma *c, size_t n)
{
    pthread_mutex_lock(&c->lock);
    c->forced_max_batch = n;
    pthread_mutex_unlock(&c->lock);
}

size_t cw_chroma_max_batch(cw_chroma *c)
{
    pthread_mutex_lock(&c->lock);
    size_t n = c->server_max_batch > 0 ? c->server_max_batch : CW_CHROMA_DEFAULT_BATCH;
    if (c->forced_max_batch > 0 && (c->forced_max_batch < n || c->server_max_batch == 0))
        n = c->forced_max_batch;
    pthread_mutex_unlock(&c->lock);
    return n;
}

/* snprintf into url[CW_CHROMA_URL_MAX]; CW_E_CONFIG when it does not fit. */
static int make_url(char *url, cw_error *err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int make_url(char *url, cw_error *err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int len = vsnprintf(url, CW_CHROMA_URL_MAX, fmt, ap);
    va_end(ap);
    if (len < 0 || len >= CW_CHROMA_URL_MAX)
        return cw_error_set(err, CW_E_CONFIG, "chroma: request URL longer than %d bytes",
                            CW_CHROMA_URL_MAX - 1);
    return 0;
}

/* ---- error mapping ------------------------------------------------------ */

/* Turn a non-2xx answer into the error DESIGN §3 needs. Returns -1. */
static int reply_error(cw_chroma *c, const char *what, const cw_chroma_reply *r, cw_error *err)
{
    char line[512];
    const char *message = NULL;
    cw_chroma_json_error_line(r->body, line, sizeof(line), &message);
    size_t want = 0, got = 0;
    if (r->status == 400 &&
        sscanf(message, "Collection expecting embedding with dimension of %zu, got %zu", &want,
               &got) == 2)
        return cw_error_set(err, CW_E_CONFIG, "collection '%s' holds %zu-d vectors but got %zu-d ones",
                            c->collection, want, got);
    if (r->status == 401 || r->status == 403)
        return cw_error_set_retry(err, CW_E_UNAVAILABLE, 5,
                                  "chroma %s: HTTP %ld: Chroma refuses our credentials (%s): check "
                                  "--chroma-token / CHROMA_TOKEN and --chroma-auth-header", what,
                                  r->status, line);
    if (r->status >= 500 || r->status == 429 || r->status == 408)
        return cw_error_set_retry(err, CW_E_UNAVAILABLE, 5, "chroma %s: HTTP %ld: %s", what,
                                  r->status, line);
    return cw_error_set(err, CW_E_INTERNAL, "chroma %s: HTTP %ld: %s", what, r->status, line);
}

static int is_success(const cw_chroma_reply *r)
{
    return r->status >= 200 && r->status < 300;
}

/* ---- heartbeat and collection lifecycle ----------------------------------- */

int cw_chroma_heartbeat(cw_chroma *c, long timeout_ms, cw_error *err)
{
    int rc = -1;
    cw_chroma_reply r = { 0 };
    char url[CW_CHROMA_URL_MAX];
    if (make_url(url, err, "%s/api/v2/heartbeat", c->url) != 0)
        goto out;
    if (cw_chroma_http_call(c->probe, "GET", url, NULL, 0, timeout_ms > 0 ? timeout_ms : 1000,
                            "heartbeat", &r, err) != 0)
        goto out;
    if (r.status != 200) {
        char line[512];
        cw_error_set_retry(err, CW_E_UNAVAILABLE, 2, "chroma heartbeat: HTTP %ld: %s", r.status,
                           cw_chroma_json_error_line(r.body, line, sizeof(line), NULL));
        goto out;
    }
    rc = 0;
out:
    cw_chroma_reply_clear(&r);
    return rc;
}

static int read_max_batch(cw_chroma *c, cw_error *err)
{
    int rc = -1;
    cw_chroma_reply r = { 0 };
    size_t max_batch = 0;
    char url[CW_CHROMA_URL_MAX];
    if (make_url(url, err, "%s/api/v2/pre-flight-checks", c->url) != 0)
        goto out;
    if (cw_chroma_http_call(c->ops, "GET", url, NULL, 0, c->read_timeout_ms, "pre-flight-checks",
                            &r, err) != 0)
        goto out;
    if (!is_success(&r)) {
        reply_error(c, "pre-flight-checks", &r, err);
        goto out;
    }
    if (cw_chroma_json_read_max_batch(r.body, &max_batch, err) != 0)
        goto out;
    pthread_mutex_lock(&c->lock);
    c->server_max_batch = max_batch;
    pthread_mutex_unlock(&c->lock);
    rc = 0;
out:
    cw_chroma_reply_clear(&r);
    return rc;
}

int cw_chroma_ensure_collection(cw_chroma *c, cw_error *err)
{
    int rc = -1;
    cw_chroma_reply r = { 0 };
    char *body = NULL, *id = NULL, *space = NULL;
    char url[CW_CHROMA_URL_MAX];
    if (read_max_batch(c, err) != 0)
        goto out;
    body = cw_chroma_json_create_collection(c->collection, err);
    if (body == NULL)
        goto out;
    if (make_url(url, err, "%s/collections", c->db_url) != 0)
        goto out;
    if (cw_chroma_http_call(c->ops, "POST", url, body, strlen(body), c->read_timeout_ms,
                            "create collection", &r, err) != 0)
        goto out;
    if (!is_success(&r)) {
        char line[512];
        cw_chroma_json_error_line(r.body, line, sizeof(line), NULL);
        if (r.status >= 400 && r.status < 500)
            cw_error_set(err, CW_E_CONFIG, "chroma: cannot get or create collection '%s': HTTP %ld: %s",
                         c->collection, r.status, line);
        else
            reply_error(c, "create collection", &r, err);
        goto out;
    }
    if (cw_chroma_json_read_collection(r.body, &id, &space, err) != 0)
        goto out;
    if (strlen(id) >= CW_CHROMA_ID_MAX) {
        cw_error_set(err, CW_E_INTERNAL, "chroma create collection: unexpected answer: id too long");
        goto out;
    }
    if (space != NULL && strcmp(space, "cosine") != 0)
        cw_log_warn("chroma: collection '%s' already exists with %s distance, not cosine; "
                    "distances will not be cosine", c->collection, space);
    pthread_mutex_lock(&c->lock);
    snprintf(c->coll_id, sizeof(c->coll_id), "%s", id);
    pthread_mutex_unlock(&c->lock);
    rc = 0;
out:
    free(body);
    free(id);
    free(space);
    cw_chroma_reply_clear(&r);
    return rc;
}

/* Copy the cached collection id into id[CW_CHROMA_ID_MAX], creating the
 * collection first when none is cached. */
static int current_id(cw_chroma *c, char *id, cw_error *err)
{
    pthread_mutex_lock(&c->lock);
    memcpy(id, c->coll_id, CW_CHROMA_ID_MAX);
    pthread_mutex_unlock(&c->lock);
    if (id[0] != '\0')
        return 0;
    if (cw_chroma_ensure_collection(c, err) != 0)
        return -1;
    pthread_mutex_lock(&c->lock);
    memcpy(id, c->coll_id, CW_CHROMA_ID_MAX);
    pthread_mutex_unlock(&c->lock);
    return 0;
}

/* Forget `id` unless another caller already replaced it. */
static void forget_id(cw_chroma *c, const char *id)
{
    pthread_mutex_lock(&c->lock);
    if (strcmp(c->coll_id, id) == 0)
        c->coll_id[0] = '\0';
    pthread_mutex_unlock(&c->lock);
}

/* One call on the collection: {db_url}/collections/{id}/{op}. When Chroma
 * answers 404 (the collection is gone) the collection is recreated once and
 * the call retried once. 0 with a 2xx reply in `out`; -1 otherwise. */
static int collection_call(cw_chroma *c, const char *method, const char *op, const char *body,
                           long timeout_ms, cw_chroma_reply *out, cw_error *err)
{
    char id[CW_CHROMA_ID_MAX];
    char url[CW_CHROMA_URL_MAX];
    for (int attempt = 0; attempt < 2; attempt++) {
        if (current_id(c, id, err) != 0)
            return -1;
        if (make_url(url, err, "%s/collections/%s/%s", c->db_url, id, op) != 0)
            return -1;
        if (cw_chroma_http_call(c->ops, method, url, body, body != NULL ? strlen(body) : 0,
                                timeout_ms, op, out, err) != 0)
            return -1;
        if (is_success(out))
            return 0;
        if (out->status == 404 && attempt > 0) {
            /* Gone again right after being recreated: someone is deleting
             * it; a later retry may well succeed. */
            char line[512];
            cw_error_set_retry(err, CW_E_UNAVAILABLE, 2,
                               "chroma %s: collection '%s' vanished again after being recreated: %s",
                               op, c->collection,
                               cw_chroma_json_error_line(out->body, line, sizeof(line), NULL));
            cw_chroma_reply_clear(out);
            return -1;
        }
        if (out->status != 404)
            break;
        cw_log_warn("chroma: collection '%s' (%s) is gone; recreating it", c->collection, id);
        forget_id(c, id);
        cw_chroma_reply_clear(out);
    }
    reply_error(c, op, out, err);
    cw_chroma_reply_clear(out);
    return -1;
}

/* ---- records ---------------------------------------------------------- */

/* Records per call for the next call: the collection is made known first
 * (that reads the server's max batch size), so even the first call of a
 * fresh client is split to the server's size. 0 on failure. */
static size_t next_batch(cw_chroma *c, cw_error *err)
{
    char id[CW_CHROMA_ID_MAX];
    if (current_id(c, id, err) != 0)
        return 0;
    return cw_chroma_max_batch(c);
}

int cw_chroma_upsert(cw_chroma *c, const cw_document *docs, const float *vecs, size_t n,
                     size_t dim, cw_error *err)
{
    /* Advance by what was sent (m), never by a batch size read later. */
    for (size_t at = 0, m = 0; at < n; at += m) {
        size_t batch = next_batch(c, err);
        if (batch == 0)
            return -1;
        m = n - at < batch ? n - at : batch;
        cw_chroma_reply r = { 0 };
        char *body = cw_chroma_json_upsert(docs + at, vecs + at * dim, m, dim, err);
        if (body == NULL)
            return -1;
        int rc = collection_call(c, "POST", "upsert", body, c->write_timeout_ms, &r, err);
        free(body);
        cw_chroma_reply_clear(&r);
        if (rc != 0)
            return -1;
    }
    return 0;
}

int cw_chroma_delete(cw_chroma *c, const char *const *ids, size_t n, cw_error *err)
{
    for (size_t at = 0, m = 0; at < n; at += m) {
        size_t batch = next_batch(c, err);
        if (batch == 0)
            return -1;
        m = n - at < batch ? n - at : batch;
        cw_chroma_reply r = { 0 };
        char *body = cw_chroma_json_ids(ids + at, m, err);
        if (body == NULL)
            return -1;
        int rc = collection_call(c, "POST", "delete", body, c->write_timeout_ms, &r, err);
        free(body);
        cw_chroma_reply_clear(&r);
        if (rc != 0)
            return -1;
    }
    return 0;
}

/* POST `body` (owned; NULL: building it failed, err set) to the
 * collection's get and append the records to `out`. 0, or -1 with err set
 * (a reply that does not parse has released `out`, as
 * cw_chroma_json_read_get says; the callers free it on -1 either way). */
static int post_get(cw_chroma *c, char *body, cw_chroma_records *out, cw_error *err)
{
    if (body == NULL)
        return -1;
    cw_chroma_reply r = { 0 };
    int rc = collection_call(c, "POST", "get", body, c->read_timeout_ms, &r, err);
    free(body);
    if (rc == 0)
        rc = cw_chroma_json_read_get(r.body, out, err);
    cw_chroma_reply_clear(&r);
    return rc;
}

int cw_chroma_get(cw_chroma *c, const char *const *ids, size_t n, int with_embeddings,
                  cw_chroma_records *out, cw_error *err)
{
    memset(out, 0, sizeof(*out));
    for (size_t at = 0, m = 0; at < n; at += m) {
        size_t batch = next_batch(c, err);
        if (batch == 0)
            goto fail;
        m = n - at < batch ? n - at : batch;
        if (post_get(c, cw_chroma_json_get(ids + at, m, with_embeddings, err), out, err) != 0)
            goto fail;
    }
    return 0;
fail:
    cw_chroma_records_free(out);
    return -1;
}

int cw_chroma_scan(cw_chroma *c, const char *kind, const char *ns, size_t max_records,
                   cw_chroma_records *out, cw_error *err)
{
    cw_chroma_filter f = { .kind = kind, .ns = ns };
    return cw_chroma_scan_where(c, &f, max_records, out, err);
}

int cw_chroma_ids_where(cw_chroma *c, const cw_chroma_filter *f, size_t offset, size_t limit,
                        cw_chroma_records *out, cw_error *err)
{
    memset(out, 0, sizeof(*out));
    size_t batch = next_batch(c, err);
    if (batch == 0)
        return -1;
    if (limit == 0 || limit > batch)
        limit = batch;
    return post_get(c, cw_chroma_json_scan_where(limit, offset, f, 0, err), out, err);
}

int cw_chroma_scan_where(cw_chroma *c, const cw_chroma_filter *f, size_t max_records,
                         cw_chroma_records *out, cw_error *err)
{
    memset(out, 0, sizeof(*out));
    for (;;) {
        size_t batch = next_batch(c, err);
        if (batch == 0)
            goto fail;
        if (max_records - out->len < batch)
            batch = max_records - out->len;
        if (batch == 0)
            break;
        size_t before = out->len;
        if (post_get(c, cw_chroma_json_scan_where(batch, out->len, f, 1, err), out, err) != 0)
            goto fail;
        if (out->len - before < batch)
            break;
    }
    return 0;
fail:
    cw_chroma_records_free(out);
    return -1;
}

int cw_chroma_query(cw_chroma *c, const float *vec, size_t dim, size_t n_results,
                    const char *kind, const char *ns, cw_chroma_hits *out, cw_error *err)
{
    cw_chroma_filter f = { .kind = kind, .ns = ns };
    return cw_chroma_query_where(c, vec, dim, n_results, &f, out, err);
}

int cw_chroma_query_where(cw_chroma *c, const float *vec, size_t dim, size_t n_results,
                          const cw_chroma_filter *f, cw_chroma_hits *out, cw_error *err)
{
    int rc = -1;
    cw_chroma_reply r = { 0 };
    memset(out, 0, sizeof(*out));
    char *body = cw_chroma_json_query_where(vec, dim, n_results, f, err);
    if (body == NULL)
        goto out;
    if (collection_call(c, "POST", "query", body, c->read_timeout_ms, &r, err) != 0)
        goto out;
    if (cw_chroma_json_read_query(r.body, out, err) != 0)
        goto out;
    rc = 0;
out:
    free(body);
    cw_chroma_reply_clear(&r);
    return rc;
}

int cw_chroma_count(cw_chroma *c, size_t *count, cw_error *err)
{
    int rc = -1;
    cw_chroma_reply r = { 0 };
    if (collection_call(c, "GET", "count", NULL, c->read_timeout_ms, &r, err) != 0)
        goto out;
    if (cw_chroma_json_read_count(r.body, count, err) != 0)
        goto out;
    rc = 0;
out:
    cw_chroma_reply_clear(&r);
    return rc;
}

/* ---- by name ------------------------------------------------------------ */

/* {db_url}/collections/{name}: GET answers the collection, DELETE removes it. */
static int by_name(cw_chroma *c, cw_chroma_http *pool, const char *method, long timeout_ms,
                   const char *what, cw_chroma_reply *out, cw_error *err)
{
    char url[CW_CHROMA_URL_MAX];
    char *name = escape_dup(c->collection);
    if (name == NULL)
        return cw_error_set(err, CW_E_NOMEM, "chroma %s: out of memory", what);
    int rc = make_url(url, err, "%s/collections/%s", c->db_url, name);
    free(name);
    if (rc != 0)
        return -1;
    return cw_chroma_http_call(pool, method, url, NULL, 0, timeout_ms, what, out, err);
}

static int dimension_on(cw_chroma *c, cw_chroma_http *pool, long timeout_ms, size_t *dim,
                        cw_error *err)
{
    int rc = -1;
    cw_chroma_reply r = { 0 };
    *dim = 0;
    if (by_name(c, pool, "GET", timeout_ms, "dimension", &r, err) != 0)
        goto out;
    if (r.status == 404) {
        rc = 0;
        goto out;
    }
    if (!is_success(&r)) {
        reply_error(c, "dimension", &r, err);
        goto out;
    }
    if (cw_chroma_json_read_dimension(r.body, dim, err) != 0)
        goto out;
    rc = 0;
out:
    cw_chroma_reply_clear(&r);
    return rc;
}

int cw_chroma_dimension(cw_chroma *c, size_t *dim, cw_error *err)
{
    return dimension_on(c, c->ops, c->read_timeout_ms, dim, err);
}

int cw_chroma_delete_collection(cw_chroma *c, cw_error *err)
{
    int rc = -1;
    cw_chroma_reply r = { 0 };
    if (by_name(c, c->ops, "DELETE", c->write_timeout_ms, "delete collection", &r, err) != 0)
        goto out;
    if (!is_success(&r) && r.status != 404) {
        reply_error(c, "delete collection", &r, err);
        goto out;
    }
    pthread_mutex_lock(&c->lock);
    c->coll_id[0] = '\0';
    pthread_mutex_unlock(&c->lock);
    rc = 0;
out:
    cw_chroma_reply_clear(&r);
    return rc;
}

int cw_chroma_check_dimension(cw_chroma *c, size_t embedder_dim, char *msg, size_t cap)
{
    size_t stored = 0;
    cw_error err = { 0 };
    if (cap > 0)
        msg[0] = '\0';
    /* On the probe pool with a probe's timeout: /readyz calls this. */
    long timeout = c->read_timeout_ms < CW_CHROMA_PROBE_TIMEOUT_MS ? c->read_timeout_ms
                                                                   : CW_CHROMA_PROBE_TIMEOUT_MS;
    if (dimension_on(c, c->probe, timeout, &stored, &err) != 0 || stored == 0 ||
        stored == embedder_dim)
        return 0;
    if (cap > 0)
        snprintf(msg, cap,
                 "collection '%s' holds %zu-d vectors but the embedder makes %zu-d vectors: "
                 "use the embedder that filled it, or another --collection",
                 c->collection, stored, embedder_dim);
    return 1;
}
