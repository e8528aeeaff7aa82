/* cw-soak-client — controller-like load over a bounded id space, then a
 * comparison of Chroma with what was acknowledged (contrib/soak.sh).
 *
 * Each of --clients threads owns --ids instances (ids
 * "soak/v1/ConfigMap/c<client>-<k>", disjoint between clients, so each id
 * has one writer and its history is a sequence). Until --duration-s runs
 * out, a client sends either an upsert batch of 1..--batch distinct ids of
 * its own, each with a fresh revision in a label and an annotation, or
 * (--delete-pct % of requests) a single delete, as the k8s-vectordb-sync
 * controller does. Every request is retried like the controller retries:
 * 5xx and network errors with exponential backoff and jitter (100 ms
 * doubling to 3 s; a Retry-After honoured up to 3 s), 4xx never. A request
 * is retried until it is acknowledged (2xx) or --give-up-s after the end of
 * the run; one new connection per attempt.
 *
 * The sent state of an id is its last acknowledged operation: present with
 * the document of that revision, or absent. An id whose last request was
 * never acknowledged is "unknown" and not compared. After the load the
 * client reads the whole collection from Chroma (v2 REST, paged) and
 * checks: every present id holds exactly the expected document text and
 * labels metadata; no absent id is there (no resurrected delete, no lost
 * delete); Chroma holds no other id.
 *
 * Prints `result key=value ...` and a readable summary. Exit 0 when Chroma
 * equals the sent state and no request got a 4xx, 1 otherwise, 2 on a
 * usage error. */
#include <errno.h>
#include <getopt.h>
#include <json-c/json.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>

enum { ID_ABSENT = 0, ID_PRESENT = 1, ID_UNKNOWN = 2 };

typedef struct config {
    const char *url;          /* the sync server */
    const char *chroma_url;
    const char *collection;
    long clients, ids, batch, delete_pct, duration_s, give_up_s, timeout_ms;
} config;

typedef struct id_state {
    int state;                /* ID_* after the last acknowledged request */
    long rev;                 /* ID_PRESENT: the revision Chroma must hold */
    int seen;                 /* Chroma holds it (verification) */
} id_state;

typedef struct client {
    const config *cfg;
    int index;
    id_state *ids;            /* cfg->ids of them */
    long next_rev;
    unsigned seed;
    long requests, upserts, deletes, acked, abandoned, attempts, retried;
    long status_4xx, status_5xx, net_errors, timeouts;
} client;

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/* ---- what is sent and what Chroma must hold --------------------------- */

static void instance_name(int c, long k, char *buf, size_t cap)
{
    snprintf(buf, cap, "c%d-%ld", c, k);
}

/* The stored text DESIGN §4 makes of the instance below (written out here,
 * independently of src/document/). */
static void expected_text(int c, long k, long rev, char *buf, size_t cap)
{
    char name[64];
    instance_name(c, k, name, sizeof name);
    snprintf(buf, cap,
             "ConfigMap %s | namespace: soak | apiVersion: v1 | labels: soak-rev=%ld"
             " | soak instance %s revision %ld",
             name, rev, name, rev);
}

static void append_instance(FILE *f, int c, long k, long rev, int first)
{
    char name[64];
    instance_name(c, k, name, sizeof name);
    fprintf(f,
            "%s{\"id\":\"soak/v1/ConfigMap/%s\",\"namespace\":\"soak\",\"name\":\"%s\","
            "\"kind\":\"ConfigMap\",\"apiVersion\":\"v1\",\"apiGroup\":\"\","
            "\"labels\":{\"soak-rev\":\"%ld\"},"
            "\"annotations\":{\"description\":\"soak instance %s revision %ld\"},"
            "\"createdAt\":\"2026-01-01T00:00:00Z\"}",
            first ? "" : ",", name, name, rev, name, rev);
}

/* ---- one request, retried like the controller ------------------------- */

static size_t discard(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    (void)ptr;
    (void)userdata;
    return size * nmemb;
}

static size_t on_header(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    long *retry_after = userdata;
    size_t n = size * nmemb;
    if (n > 12 && strncasecmp(ptr, "Retry-After:", 12) == 0)
        *retry_after = strtol(ptr + 12, NULL, 10);
    return n;
}

/* POST `body` until a 2xx (1), a 4xx (0) or `give_up_at` (0). */
static int send_acked(client *c, const char *body, int64_t give_up_at)
{
    const config *cfg = c->cfg;
    char url[512];
    long backoff = 100;

    snprintf(url, sizeof url, "%s/api/v1/instances/sync", cfg->url);
    for (long attempt = 0;; attempt++) {
        CURL *curl = curl_easy_init();
        if (curl == NULL)
            return 0;
        struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
        h = curl_slist_append(h, "Expect:");
        long retry_after = 0, status = 0;
        curl_easy_setopt(curl, CURLOPT_URL, url);
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(curl, CURLOPT_HTTPHEADER, h);
        curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, discard);
        curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
        curl_easy_setopt(curl, CURLOPT_HEADERDATA, &retry_after);
        curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(curl, CURLOPT_FORBID_REUSE, 1L);
        curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
        curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, cfg->timeout_ms);
        c->attempts++;
        if (attempt > 0)
            c->retried++;
        CURLcode rc = curl_easy_perform(curl);
        if (rc == CURLE_OK)
            curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
        curl_slist_free_all(h);
        curl_easy_cleanup(curl);
        if (rc == CURLE_OK && status >= 200 && status < 300)
            return 1;
        if (rc == CURLE_OPERATION_TIMEDOUT) {
            c->timeouts++;
        } else if (rc != CURLE_OK) {
            if (c->net_errors++ < 3)
                fprintf(stderr, "cw-soak-client: client %d: %s\n", c->index,
                        curl_easy_strerror(rc));
        } else if (status < 500) {
            c->status_4xx++;
            fprintf(stderr, "cw-soak-client: HTTP %ld (never retried): %.200s\n", status, body);
            return 0;
        } else {
            c->status_5xx++;
        }
        long wait = backoff + (long)(rand_r(&c->seed) % (unsigned)(backoff / 2 + 1));
        if (retry_after > 0 && retry_after * 1000 <= 3000)
            wait = retry_after * 1000;
        if (now_ms() + wait >= give_up_at)
            return 0;
        sleep_ms(wait);
        backoff = backoff * 2 > 3000 ? 3000 : backoff * 2;
    }
}

static void *client_main(void *arg)
{
    client *c = arg;
    const config *cfg = c->cfg;
    int64_t end = now_ms() + cfg->duration_s * 1000;
    int64_t give_up_at = end + cfg->give_up_s * 1000;
    long *pick = malloc((size_t)cfg->ids * sizeof *pick);
    long *revs = malloc((size_t)cfg->batch * sizeof *revs);

    if (pick == NULL || revs == NULL)
        goto out;
    while (now_ms() < end) {
        char *body = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&body, &len);
        if (f == NULL)
            break;
        int is_delete = (long)(rand_r(&c->seed) % 100) < cfg->delete_pct;
        long n = is_delete ? 1 : 1 + (long)(rand_r(&c->seed) % (unsigned)cfg->batch);
        /* n distinct ids: a partial Fisher-Yates shuffle of 0..ids-1. */
        for (long i = 0; i < cfg->ids; i++)
            pick[i] = i;
        for (long i = 0; i < n; i++) {
            long j = i + (long)(rand_r(&c->seed) % (unsigned)(cfg->ids - i));
            long t = pick[i];
            pick[i] = pick[j];
            pick[j] = t;
        }
        if (is_delete) {
            char name[64];
            instance_name(c->index, pick[0], name, sizeof name);
            fprintf(f, "{\"upserts\":null,\"deletes\":[\"soak/v1/ConfigMap/%s\"]}", name);
        } else {
            fputs("{\"upserts\":[", f);
            for (long i = 0; i < n; i++) {
                revs[i] = ++c->next_rev;
                append_instance(f, c->index, pick[i], revs[i], i == 0);
            }
            fputs("],\"deletes\":null}", f);
        }
        if (fclose(f) != 0) {
            free(body);
            break;
        }
        c->requests++;
        if (is_delete)
            c->deletes++;
        else
            c->upserts += n;
        int acked = send_acked(c, body, give_up_at);
        free(body);
        for (long i = 0; i < n; i++) {
            id_state *s = &c->ids[pick[i]];
            if (!acked)
                s->state = ID_UNKNOWN;
            else if (is_delete)
                s->state = ID_ABSENT;
            else {
                s->state = ID_PRESENT;
                s->rev = revs[i];
            }
        }
        if (acked)
            c->acked++;
        else
            c->abandoned++;
    }
out:
    free(pick);
    free(revs);
    return NULL;
}

/* ---- reading Chroma back ---------------------------------------------- */

typedef struct buf {
    char *data;
    size_t len;
} buf;

static size_t collect(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    buf *b = userdata;
    size_t n = size * nmemb;
    char *more = realloc(b->data, b->len + n + 1);
    if (more == NULL)
        return 0;
    memcpy(more + b->len, ptr, n);
    b->len += n;
    more[b->len] = '\0';
    b->data = more;
    return n;
}

/* GET (post_body NULL) or POST JSON; the parsed answer of a 200, else NULL. */
static json_object *chroma_call(const char *url, const char *post_body)
{
    CURL *curl = curl_easy_init();
    buf b = { NULL, 0 };
    long status = 0;
    json_object *out = NULL;

    if (curl == NULL)
        return NULL;
    struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, h);
    if (post_body != NULL)
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, post_body);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 60000L);
    CURLcode rc = curl_easy_perform(curl);
    if (rc == CURLE_OK)
        curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    if (rc != CURLE_OK || status != 200)
        fprintf(stderr, "cw-soak-client: %s: %s (HTTP %ld) %.200s\n", url,
                rc != CURLE_OK ? curl_easy_strerror(rc) : "refused", status,
                b.data != NULL ? b.data : "");
    else
        out = json_tokener_parse(b.data != NULL ? b.data : "");
    curl_slist_free_all(h);
    curl_easy_cleanup(curl);
    free(b.data);
    return out;
}

typedef struct verdict {
    long present_ok, absent_ok, unknown, wrong_doc, missing, resurrected, stray, chroma_total;
} verdict;

/* Parse "soak/v1/ConfigMap/c<client>-<k>" into *c, *k. */
static int parse_id(const char *id, const config *cfg, int *c, long *k)
{
    char tail;
    if (sscanf(id, "soak/v1/ConfigMap/c%d-%ld%c", c, k, &tail) != 2)
        return -1;
    return *c >= 0 && *c < cfg->clients && *k >= 0 && *k < cfg->ids ? 0 : -1;
}

static int verify(const config *cfg, client *clients, verdict *v)
{
    char url[1024];
    const char *db = "api/v2/tenants/default_tenant/databases/default_database";

    memset(v, 0, sizeof *v);
    snprintf(url, sizeof url, "%s/%s/collections/%s", cfg->chroma_url, db, cfg->collection);
    json_object *coll = chroma_call(url, NULL);
    json_object *jid = NULL;
    if (coll == NULL || !json_object_object_get_ex(coll, "id", &jid)) {
        fprintf(stderr, "cw-soak-client: cannot read collection %s\n", cfg->collection);
        json_object_put(coll);
        return -1;
    }
    char coll_id[128];
    snprintf(coll_id, sizeof coll_id, "%s", json_object_get_string(jid));
    json_object_put(coll);

    const long page = 500;
    for (long offset = 0;; offset += page) {
        char body[160];
        snprintf(url, sizeof url, "%s/%s/collections/%s/get", cfg->chroma_url, db, coll_id);
        snprintf(body, sizeof body,
                 "{\"limit\":%ld,\"offset\":%ld,\"include\":[\"documents\",\"metadatas\"]}",
                 page, offset);
        json_object *got = chroma_call(url, body);
        json_object *ids, *docs, *metas;
        if (got == NULL || !json_object_object_get_ex(got, "ids", &ids)
            || !json_object_object_get_ex(got, "documents", &docs)
            || !json_object_object_get_ex(got, "metadatas", &metas)) {
            json_object_put(got);
            return -1;
        }
        size_t n = json_object_array_length(ids);
        for (size_t i = 0; i < n; i++) {
            const char *id = json_object_get_string(json_object_array_get_idx(ids, i));
            const char *doc = json_object_get_string(json_object_array_get_idx(docs, i));
            json_object *meta = json_object_array_get_idx(metas, i), *jl = NULL;
            const char *labels = meta != NULL && json_object_object_get_ex(meta, "labels", &jl)
                                     ? json_object_get_string(jl) : "";
            int c;
            long k;
            v->chroma_total++;
            if (id == NULL || parse_id(id, cfg, &c, &k) != 0) {
                fprintf(stderr, "cw-soak-client: stray id in Chroma: %s\n", id ? id : "(null)");
                v->stray++;
                continue;
            }
            id_state *s = &clients[c].ids[k];
            s->seen = 1;
            if (s->state == ID_UNKNOWN) {
                continue;
            } else if (s->state == ID_ABSENT) {
                fprintf(stderr, "cw-soak-client: %s is in Chroma but its last acknowledged"
                                " operation deleted it (or it was never upserted)\n", id);
                v->resurrected++;
            } else {
                char want[512], want_labels[64];
                expected_text(c, k, s->rev, want, sizeof want);
                snprintf(want_labels, sizeof want_labels, "soak-rev=%ld", s->rev);
                if (doc == NULL || strcmp(doc, want) != 0 || labels == NULL
                    || strcmp(labels, want_labels) != 0) {
                    fprintf(stderr, "cw-soak-client: %s holds \"%s\" [%s], expected \"%s\" [%s]\n",
                            id, doc ? doc : "(null)", labels ? labels : "(null)", want,
                            want_labels);
                    v->wrong_doc++;
                } else {
                    v->present_ok++;
                }
            }
        }
        json_object_put(got);
        if ((long)n < page)
            break;
    }
    for (long c = 0; c < cfg->clients; c++) {
        for (long k = 0; k < cfg->ids; k++) {
            const id_state *s = &clients[c].ids[k];
            if (s->state == ID_UNKNOWN) {
                v->unknown++;
            } else if (s->state == ID_PRESENT && !s->seen) {
                fprintf(stderr, "cw-soak-client: soak/v1/ConfigMap/c%ld-%ld (revision %ld) was"
                                " acknowledged but is not in Chroma\n", c, k, s->rev);
                v->missing++;
            } else if (s->state == ID_ABSENT && !s->seen) {
                v->absent_ok++;
            }
        }
    }
    return 0;
}

/* ---- main --------------------------------------------------------------- */

static void usage(FILE *to)
{
    fprintf(to,
            "usage: cw-soak-client --url URL --chroma-url URL --collection NAME [options]\n"
            "Controller-like load over a bounded id space, then Chroma compared with the\n"
            "last acknowledged operation of every id.\n\n"
            "  --clients N       concurrent controllers (default 16)\n"
            "  --ids K           ids owned by each client (default 64)\n"
            "  --batch B         at most B upserts per request (default 20)\n"
            "  --delete-pct P    P %% of requests are a single delete (default 25)\n"
            "  --duration-s S    send new requests for S seconds (default 60)\n"
            "  --give-up-s S     retry a request at most S seconds past the end (default 120)\n"
            "  --timeout-ms MS   client timeout of one attempt (default 35000)\n");
}

static int parse_long(const char *flag, const char *s, long min, long max, long *out)
{
    char *end = NULL;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v < min || v > max) {
        fprintf(stderr, "cw-soak-client: %s must be a number in %ld..%ld, got '%s'\n", flag,
                min, max, s);
        return -1;
    }
    *out = v;
    return 0;
}

int main(int argc, char **argv)
{
    enum { O_URL = 1, O_CHROMA, O_COLL, O_CLIENTS, O_IDS, O_BATCH, O_DEL, O_DUR, O_GIVEUP,
           O_TIMEOUT, O_HELP };
    static const struct option opts[] = {
        { "url", required_argument, NULL, O_URL },
        { "chroma-url", required_argument, NULL, O_CHROMA },
        { "collection", required_argument, NULL, O_COLL },
        { "clients", required_argument, NULL, O_CLIENTS },
        { "ids", required_argument, NULL, O_IDS },
        { "batch", required_argument, NULL, O_BATCH },
        { "delete-pct", required_argument, NULL, O_DEL },
        { "duration-s", required_argument, NULL, O_DUR },
        { "give-up-s", required_argument, NULL, O_GIVEUP },
        { "timeout-ms", required_argument, NULL, O_TIMEOUT },
        { "help", no_argument, NULL, O_HELP },
        { NULL, 0, NULL, 0 },
    };
    config cfg = { NULL, NULL, NULL, 16, 64, 20, 25, 60, 120, 35000 };
    int rc = 1;

    for (;;) {
        int o = getopt_long(argc, argv, "", opts, NULL), bad = 0;
        if (o == -1)
            break;
        switch (o) {
        case O_URL:     cfg.url = optarg; break;
        case O_CHROMA:  cfg.chroma_url = optarg; break;
        case O_COLL:    cfg.collection = optarg; break;
        case O_CLIENTS: bad = parse_long("--clients", optarg, 1, 1024, &cfg.clients); break;
        case O_IDS:     bad = parse_long("--ids", optarg, 1, 100000, &cfg.ids); break;
        case O_BATCH:   bad = parse_long("--batch", optarg, 1, 1000, &cfg.batch); break;
        case O_DEL:     bad = parse_long("--delete-pct", optarg, 0, 100, &cfg.delete_pct); break;
        case O_DUR:     bad = parse_long("--duration-s", optarg, 1, 86400, &cfg.duration_s); break;
        case O_GIVEUP:  bad = parse_long("--give-up-s", optarg, 0, 86400, &cfg.give_up_s); break;
        case O_TIMEOUT: bad = parse_long("--timeout-ms", optarg, 100, 3600000, &cfg.timeout_ms); break;
        case O_HELP:    usage(stdout); return 0;
        default:        usage(stderr); return 2;
        }
        if (bad)
            return 2;
    }
    if (cfg.url == NULL || cfg.chroma_url == NULL || cfg.collection == NULL || optind < argc) {
        usage(stderr);
        return 2;
    }
    if (cfg.batch > cfg.ids)
        cfg.batch = cfg.ids;

    curl_global_init(CURL_GLOBAL_ALL);
    client *clients = calloc((size_t)cfg.clients, sizeof *clients);
    pthread_t *threads = calloc((size_t)cfg.clients, sizeof *threads);
    long started = 0;
    if (clients == NULL || threads == NULL)
        goto out;
    for (long i = 0; i < cfg.clients; i++) {
        clients[i].cfg = &cfg;
        clients[i].index = (int)i;
        clients[i].seed = (unsigned)(i * 7919 + 17);
        clients[i].ids = calloc((size_t)cfg.ids, sizeof *clients[i].ids);   /* all ID_ABSENT */
        if (clients[i].ids == NULL)
            goto out;
    }
    int64_t t0 = now_ms();
    for (; started < cfg.clients; started++) {
        if (pthread_create(&threads[started], NULL, client_main, &clients[started]) != 0) {
            fprintf(stderr, "cw-soak-client: cannot start client %ld\n", started);
            goto out;
        }
    }
    client sum = { 0 };
    for (long i = 0; i < started; i++) {
        pthread_join(threads[i], NULL);
        sum.requests += clients[i].requests;
        sum.upserts += clients[i].upserts;
        sum.deletes += clients[i].deletes;
        sum.acked += clients[i].acked;
        sum.abandoned += clients[i].abandoned;
        sum.attempts += clients[i].attempts;
        sum.retried += clients[i].retried;
        sum.status_4xx += clients[i].status_4xx;
        sum.status_5xx += clients[i].status_5xx;
        sum.net_errors += clients[i].net_errors;
        sum.timeouts += clients[i].timeouts;
    }
    started = 0;
    double secs = (double)(now_ms() - t0) / 1000.0;

    verdict v;
    if (verify(&cfg, clients, &v) != 0) {
        fprintf(stderr, "cw-soak-client: could not read Chroma back\n");
        goto out;
    }
    int equal = v.wrong_doc == 0 && v.missing == 0 && v.resurrected == 0 && v.stray == 0;
    printf("result requests=%ld acked=%ld abandoned=%ld upserted_instances=%ld deletes=%ld"
           " attempts=%ld retries=%ld http_5xx=%ld http_4xx=%ld net_errors=%ld timeouts=%ld seconds=%.1f"
           " chroma_records=%ld present_ok=%ld absent_ok=%ld unknown=%ld wrong_doc=%ld"
           " missing=%ld resurrected=%ld stray=%ld equal=%d\n",
           sum.requests, sum.acked, sum.abandoned, sum.upserts, sum.deletes, sum.attempts,
           sum.retried, sum.status_5xx, sum.status_4xx, sum.net_errors, sum.timeouts, secs, v.chroma_total,
           v.present_ok, v.absent_ok, v.unknown, v.wrong_doc, v.missing, v.resurrected,
           v.stray, equal);
    printf("%ld requests (%ld upserted instances, %ld deletes) in %.0f s: %ld acknowledged,"
           " %ld abandoned; %ld retries (%ld HTTP 5xx, %ld network errors, %ld client timeouts),"
           " %ld HTTP 4xx\n",
           sum.requests, sum.upserts, sum.deletes, secs, sum.acked, sum.abandoned, sum.retried,
           sum.status_5xx, sum.net_errors, sum.timeouts, sum.status_4xx);
    printf("Chroma vs sent state over %ld ids: %ld present and right, %ld absent as deleted,"
           " %ld unknown; %ld wrong document, %ld lost, %ld resurrected, %ld stray -> %s\n",
           cfg.clients * cfg.ids, v.present_ok, v.absent_ok, v.unknown, v.wrong_doc, v.missing,
           v.resurrected, v.stray, equal ? "EQUAL" : "DIFFERENT");
    rc = equal && sum.status_4xx == 0 ? 0 : 1;
out:
    for (long i = 0; i < started; i++)
        pthread_join(threads[i], NULL);
    if (clients != NULL) {
        for (long i = 0; i < cfg.clients; i++)
            free(clients[i].ids);
    }
    free(clients);
    free(threads);
    curl_global_cleanup();
    return rc;
}
