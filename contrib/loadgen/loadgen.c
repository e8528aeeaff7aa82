/* cw-loadgen — many k8s-vectordb-sync controllers at once against
 * POST /api/v1/instances/sync.
 *
 * Each client thread behaves like one controller: it POSTs bodies made by
 * lg_payload (unique instances, the controller's shapes), opens a new
 * connection for every attempt (the Go client drops the connection when it
 * does not read the answer), and retries 5xx and network errors with
 * exponential backoff and jitter (lg_backoff: 1 s initial, 30 s max,
 * 3 retries by default); 4xx are never retried. Retry-After is ignored,
 * as the controller ignores it.
 *
 * Modes:
 *   fanin         --clients C send batches of --batch B for --duration D
 *                 seconds or --requests N requests in total
 *   deletes       the same, one delete id per request ("upserts":null);
 *                 with the --run-id of an earlier fan-in at B=1 the ids exist
 *   initial-sync  one controller sends --instances K in batches of B
 *                 (default 50), one after another
 *
 * Prints a readable summary and one line `result key=value ...` for scripts:
 * requests/s, instances/s (instances in requests that succeeded), latency
 * p50/p99/max of a request (first attempt to final answer, retries
 * included), status counts, retries.
 *
 * Exit: 0 when every request ended below 400, 1 otherwise or when the
 * server cannot be reached at all, 2 on a usage error. */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "backoff.h"
#include "lg_cli.h"
#include "payload.h"

#define PROG "cw-loadgen"
#define MAX_STATUS 600

typedef enum { MODE_FANIN, MODE_DELETES, MODE_INITIAL_SYNC } lg_mode;

typedef struct config {
    const char *url;           /* base, e.g. http://127.0.0.1:3000 */
    lg_mode mode;
    long clients;
    long batch;
    double duration_s;         /* 0: not bounded by time */
    long requests;             /* total over all clients; 0: not bounded by count */
    long instances;            /* initial sync: K */
    long retries;
    lg_backoff backoff;
    long timeout_ms;           /* per attempt */
    char run[LG_RUN_MAX + 1];  /* id token unique to this run */
} config;

/* Shared by the client threads: what is left to send. */
typedef struct plan {
    const config *cfg;
    int64_t deadline_us;       /* 0: none */
    atomic_long next;          /* next request number over all clients */
} plan;

typedef struct client {
    plan *plan;
    unsigned index;
    unsigned seed;
    double *latency_ms;        /* one per finished request */
    size_t n_latency, cap_latency;
    long requests, ok, failed, retries, net_errors, instances_ok, oom;
    long status[MAX_STATUS];   /* final-or-not answers by code, every attempt */
} client;

static void sleep_ms(long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

static size_t discard(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    (void)ptr;
    (void)userdata;
    return size * nmemb;
}

static const char *mode_name(lg_mode m)
{
    switch (m) {
    case MODE_FANIN: return "fanin";
    case MODE_DELETES: return "deletes";
    case MODE_INITIAL_SYNC: return "initial-sync";
    }
    return "?";
}

/* Claim request number `*r` for this client and say how many instances it
 * carries; 0 when there is nothing left to send. */
static int claim(client *c, long *r, long *n_instances)
{
    plan *p = c->plan;
    const config *cfg = p->cfg;
    if (p->deadline_us > 0 && lg_now_us() >= p->deadline_us)
        return 0;
    long k = atomic_fetch_add(&p->next, 1);
    if (cfg->mode == MODE_INITIAL_SYNC) {
        long first = k * cfg->batch;
        if (first >= cfg->instances)
            return 0;
        *n_instances = cfg->instances - first < cfg->batch ? cfg->instances - first : cfg->batch;
    } else {
        if (cfg->requests > 0 && k >= cfg->requests)
            return 0;
        *n_instances = cfg->mode == MODE_DELETES ? 1 : cfg->batch;
    }
    *r = k;
    return 1;
}

/* The body of this client's `local`-th request (malloc'd), NULL on OOM. */
static char *make_body(const client *c, long global, long local, long n)
{
    const config *cfg = c->plan->cfg;
    switch (cfg->mode) {
    case MODE_INITIAL_SYNC:
        return lg_payload_upserts(cfg->run, 0, (unsigned long)(global * cfg->batch), (size_t)n, NULL);
    case MODE_DELETES:
        return lg_payload_delete(cfg->run, c->index, (unsigned long)local, NULL);
    case MODE_FANIN:
        break;
    }
    return lg_payload_upserts(cfg->run, c->index, (unsigned long)(local * cfg->batch), (size_t)n, NULL);
}

static int record_latency(client *c, double ms)
{
    if (c->n_latency == c->cap_latency) {
        size_t cap = c->cap_latency ? c->cap_latency * 2 : 256;
        double *grown = realloc(c->latency_ms, cap * sizeof *grown);
        if (grown == NULL)
            return -1;
        c->latency_ms = grown;
        c->cap_latency = cap;
    }
    c->latency_ms[c->n_latency++] = ms;
    return 0;
}

/* One attempt on a fresh handle (a new connection). Returns the HTTP
 * status, or 0 on a network error. */
static long attempt(const config *cfg, const char *url, const char *body)
{
    CURL *curl = curl_easy_init();
    if (curl == NULL)
        return 0;
    struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
    struct curl_slist *h2 = h != NULL ? curl_slist_append(h, "Expect:") : NULL;
    long status = 0;
    if (h2 == NULL)
        goto out;
    h = h2;
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_FORBID_REUSE, 1L);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, cfg->timeout_ms < 5000 ? cfg->timeout_ms : 5000L);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, cfg->timeout_ms);
    if (curl_easy_perform(curl) == CURLE_OK)
        curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
out:
    curl_slist_free_all(h);
    curl_easy_cleanup(curl);
    return status;
}

static void *client_main(void *arg)
{
    client *c = arg;
    const config *cfg = c->plan->cfg;
    char url[1024];
    snprintf(url, sizeof url, "%s/api/v1/instances/sync", cfg->url);
    long global = 0, n = 0;
    for (long local = 0; claim(c, &global, &n); local++) {
        char *body = make_body(c, global, local, n);
        if (body == NULL) {
            c->oom++;
            c->failed++;
            continue;
        }
        int64_t start = lg_now_us();
        int done = 0;
        c->requests++;
        for (long a = 0; a <= cfg->retries; a++) {
            if (a > 0) {
                sleep_ms(lg_backoff_wait_ms(&cfg->backoff, (unsigned)(a - 1), &c->seed));
                c->retries++;
            }
            long status = attempt(cfg, url, body);
            if (status == 0) {
                c->net_errors++;
                continue;                      /* network error: retried */
            }
            c->status[status < MAX_STATUS ? status : MAX_STATUS - 1]++;
            if (status < 400) {
                done = 1;
                break;
            }
            if (status < 500)
                break;                         /* 4xx: never retried */
        }
        if (done) {
            c->ok++;
            c->instances_ok += cfg->mode == MODE_DELETES ? 1 : n;
        } else {
            c->failed++;
        }
        if (record_latency(c, (double)(lg_now_us() - start) / 1000.0) != 0)
            c->oom++;
        free(body);
    }
    return NULL;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y ? 1 : 0;
}

/* Nearest-rank percentile of sorted[0..n). */
static double percentile(const double *sorted, size_t n, double p)
{
    if (n == 0)
        return 0;
    size_t rank = (size_t)(p / 100.0 * (double)n + 0.999999);
    if (rank < 1)
        rank = 1;
    return sorted[(rank > n ? n : rank) - 1];
}

static void usage(FILE *to)
{
    fprintf(to,
        "usage: cw-loadgen --url URL [options]\n"
        "Many k8s-vectordb-sync controllers at once against POST /api/v1/instances/sync:\n"
        "one new connection per request, 5xx and network errors retried with exponential\n"
        "backoff and jitter, 4xx never retried.\n\n"
        "options:\n"
        "  --url URL             server base URL (required), e.g. http://127.0.0.1:3000\n"
        "  --mode MODE           fanin | deletes | initial-sync (default fanin)\n"
        "  --clients C           concurrent controllers (default 8; initial-sync: 1)\n"
        "  --batch B             instances per upsert request (default 50)\n"
        "  --duration S          fanin/deletes: send for S seconds (default 10 unless --requests)\n"
        "  --requests N          fanin/deletes: N requests in total over all clients\n"
        "  --instances K         initial-sync: instances to send (default 5000)\n"
        "  --run-id TOKEN        [a-z0-9]{1,32} in every id; the same token re-sends the same\n"
        "                        instances (default: time and pid)\n"
        "  --retries N           retries per request (default 3)\n"
        "  --backoff-initial-ms MS  first wait (default 1000)\n"
        "  --backoff-max-ms MS   longest wait (default 30000)\n"
        "  --jitter F            wait = base x (1 - F/2 + U[0,1) x F), F in 0..1 (default 0.5)\n"
        "  --timeout-ms MS       per attempt (default 30000, the controller's)\n"
        "  --help                this text\n\n"
        "Output: a summary, then `result key=value ...` (one line). Exit 0 when every\n"
        "request succeeded, 1 otherwise, 2 on a usage error.\n");
}

/* Parse argv into cfg: 0, 1 (--help printed), or -1 (error printed). */
static int parse_args(int argc, char **argv, config *cfg)
{
    enum { O_URL = 1, O_MODE, O_CLIENTS, O_BATCH, O_DURATION, O_REQUESTS, O_INSTANCES, O_RUN,
           O_RETRIES, O_BINIT, O_BMAX, O_JITTER, O_TIMEOUT, O_HELP };
    static const struct option opts[] = {
        { "url", required_argument, NULL, O_URL },
        { "mode", required_argument, NULL, O_MODE },
        { "clients", required_argument, NULL, O_CLIENTS },
        { "batch", required_argument, NULL, O_BATCH },
        { "duration", required_argument, NULL, O_DURATION },
        { "requests", required_argument, NULL, O_REQUESTS },
        { "instances", required_argument, NULL, O_INSTANCES },
        { "run-id", required_argument, NULL, O_RUN },
        { "retries", required_argument, NULL, O_RETRIES },
        { "backoff-initial-ms", required_argument, NULL, O_BINIT },
        { "backoff-max-ms", required_argument, NULL, O_BMAX },
        { "jitter", required_argument, NULL, O_JITTER },
        { "timeout-ms", required_argument, NULL, O_TIMEOUT },
        { "help", no_argument, NULL, O_HELP },
        { NULL, 0, NULL, 0 },
    };
    int clients_set = 0;
    opterr = 0;
    for (;;) {
        int o = getopt_long(argc, argv, ":", opts, NULL);
        if (o == -1)
            break;
        int bad = 0;
        switch (o) {
        case O_URL: cfg->url = optarg; break;
        case O_MODE:
            if (strcmp(optarg, "fanin") == 0)
                cfg->mode = MODE_FANIN;
            else if (strcmp(optarg, "deletes") == 0)
                cfg->mode = MODE_DELETES;
            else if (strcmp(optarg, "initial-sync") == 0)
                cfg->mode = MODE_INITIAL_SYNC;
            else {
                fprintf(stderr, "cw-loadgen: --mode must be fanin, deletes or initial-sync, got '%s'\n",
                        optarg);
                bad = -1;
            }
            break;
        case O_CLIENTS:
            bad = lg_flag_long(PROG, "--clients", optarg, 1, 4096, &cfg->clients);
            clients_set = 1;
            break;
        case O_BATCH: bad = lg_flag_long(PROG, "--batch", optarg, 1, 100000, &cfg->batch); break;
        case O_DURATION:
            bad = lg_flag_double(PROG, "--duration", optarg, 0.001, 86400, &cfg->duration_s);
            break;
        case O_REQUESTS:
            bad = lg_flag_long(PROG, "--requests", optarg, 1, 100000000, &cfg->requests);
            break;
        case O_INSTANCES:
            bad = lg_flag_long(PROG, "--instances", optarg, 1, 100000000, &cfg->instances);
            break;
        case O_RUN: bad = lg_flag_run(PROG, optarg, cfg->run); break;
        case O_RETRIES: bad = lg_flag_long(PROG, "--retries", optarg, 0, 100, &cfg->retries); break;
        case O_BINIT:
            bad = lg_flag_long(PROG, "--backoff-initial-ms", optarg, 1, 3600000, &cfg->backoff.initial_ms);
            break;
        case O_BMAX:
            bad = lg_flag_long(PROG, "--backoff-max-ms", optarg, 1, 3600000, &cfg->backoff.max_ms);
            break;
        case O_JITTER: bad = lg_flag_double(PROG, "--jitter", optarg, 0, 1, &cfg->backoff.jitter); break;
        case O_TIMEOUT:
            bad = lg_flag_long(PROG, "--timeout-ms", optarg, 1, 3600000, &cfg->timeout_ms);
            break;
        case O_HELP: usage(stdout); return 1;
        default: return lg_getopt_error(PROG, o, argv);
        }
        if (bad != 0)
            return -1;
    }
    if (lg_no_operands(PROG, argc, argv) != 0)
        return -1;
    if (cfg->url == NULL) {
        fprintf(stderr, "cw-loadgen: --url is required (see --help)\n");
        return -1;
    }
    if (cfg->backoff.max_ms < cfg->backoff.initial_ms) {
        fprintf(stderr, "cw-loadgen: --backoff-max-ms %ld is below --backoff-initial-ms %ld\n",
                cfg->backoff.max_ms, cfg->backoff.initial_ms);
        return -1;
    }
    if (cfg->mode == MODE_INITIAL_SYNC) {
        if (clients_set && cfg->clients != 1) {
            fprintf(stderr, "cw-loadgen: initial-sync is one controller; drop --clients\n");
            return -1;
        }
        if (cfg->requests > 0 || cfg->duration_s > 0) {
            fprintf(stderr, "cw-loadgen: initial-sync sends --instances K; --requests and --duration do not apply\n");
            return -1;
        }
        cfg->clients = 1;
    } else if (cfg->requests == 0 && cfg->duration_s == 0) {
        cfg->duration_s = 10;
    }
    if (cfg->run[0] == '\0')
        lg_run_default(cfg->run);
    return 0;
}

/* 0 when a GET of URL/healthz gets any HTTP answer; -1 (printed) when the
 * server cannot be reached at all. */
static int preflight(const config *cfg)
{
    char url[1024];
    snprintf(url, sizeof url, "%s/healthz", cfg->url);
    CURL *curl = curl_easy_init();
    if (curl == NULL) {
        fprintf(stderr, "cw-loadgen: libcurl could not make a handle\n");
        return -1;
    }
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 5000L);
    CURLcode rc = curl_easy_perform(curl);
    curl_easy_cleanup(curl);
    if (rc != CURLE_OK) {
        fprintf(stderr, "cw-loadgen: cannot reach %s: %s\n", cfg->url, curl_easy_strerror(rc));
        return -1;
    }
    return 0;
}

typedef struct totals {
    long requests, ok, failed, retries, net_errors, instances_ok, oom;
    long status[MAX_STATUS];
    double *latency;
    size_t n_latency;
} totals;

static int sum_clients(const client *clients, size_t n, totals *t)
{
    memset(t, 0, sizeof *t);
    size_t all = 0;
    for (size_t i = 0; i < n; i++)
        all += clients[i].n_latency;
    t->latency = malloc((all ? all : 1) * sizeof *t->latency);
    if (t->latency == NULL)
        return -1;
    for (size_t i = 0; i < n; i++) {
        const client *c = &clients[i];
        t->requests += c->requests;
        t->ok += c->ok;
        t->failed += c->failed;
        t->retries += c->retries;
        t->net_errors += c->net_errors;
        t->instances_ok += c->instances_ok;
        t->oom += c->oom;
        for (int s = 0; s < MAX_STATUS; s++)
            t->status[s] += c->status[s];
        memcpy(t->latency + t->n_latency, c->latency_ms, c->n_latency * sizeof *t->latency);
        t->n_latency += c->n_latency;
    }
    qsort(t->latency, t->n_latency, sizeof *t->latency, cmp_double);
    return 0;
}

static void report(const config *cfg, const totals *t, double secs)
{
    double p50 = percentile(t->latency, t->n_latency, 50);
    double p99 = percentile(t->latency, t->n_latency, 99);
    double max = t->n_latency ? t->latency[t->n_latency - 1] : 0;
    double rps = secs > 0 ? (double)t->requests / secs : 0;
    double ips = secs > 0 ? (double)t->instances_ok / secs : 0;
    const char *unit = cfg->mode == MODE_DELETES ? "deletes" : "instances";

    printf("cw-loadgen %s: %ld client%s, %s%ld per request, run %s\n", mode_name(cfg->mode),
           cfg->clients, cfg->clients == 1 ? "" : "s", cfg->mode == MODE_DELETES ? "delete " : "batch ",
           cfg->mode == MODE_DELETES ? 1L : cfg->batch, cfg->run);
    printf("  %-12s %ld (%ld ok, %ld failed) in %.2f s\n", "requests", t->requests, t->ok,
           t->failed, secs);
    printf("  %-12s %.1f requests/s, %.1f %s/s (%ld %s acknowledged)\n", "throughput", rps, ips,
           unit, t->instances_ok, unit);
    printf("  %-12s p50 %.1f  p99 %.1f  max %.1f\n", "latency ms", p50, p99, max);
    printf("  %-12s", "answers");
    for (int s = 0; s < MAX_STATUS; s++) {
        if (t->status[s] > 0)
            printf(" %d:%ld", s, t->status[s]);
    }
    printf(" network-errors:%ld\n", t->net_errors);
    printf("  %-12s %ld\n", "retries", t->retries);
    if (t->oom > 0)
        printf("  %-12s %ld (results incomplete)\n", "out of memory", t->oom);

    printf("result mode=%s clients=%ld batch=%ld run=%s requests=%ld ok=%ld failed=%ld retries=%ld "
           "net_errors=%ld seconds=%.3f req_per_s=%.1f instances=%ld instances_per_s=%.1f "
           "p50_ms=%.1f p99_ms=%.1f max_ms=%.1f",
           mode_name(cfg->mode), cfg->clients, cfg->mode == MODE_DELETES ? 1L : cfg->batch, cfg->run,
           t->requests, t->ok, t->failed, t->retries, t->net_errors, secs, rps, t->instances_ok, ips,
           p50, p99, max);
    for (int s = 0; s < MAX_STATUS; s++) {
        if (t->status[s] > 0)
            printf(" status_%d=%ld", s, t->status[s]);
    }
    printf("\n");
}

int main(int argc, char **argv)
{
    config cfg = { .mode = MODE_FANIN, .clients = 8, .batch = 50, .instances = 5000, .retries = 3,
                   .backoff = { 1000, 30000, 0.5 }, .timeout_ms = 30000 };
    int rc = parse_args(argc, argv, &cfg);
    if (rc != 0)
        return rc > 0 ? 0 : 2;

    signal(SIGPIPE, SIG_IGN);
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        fprintf(stderr, "cw-loadgen: libcurl could not be initialised\n");
        return 1;
    }
    int status = 1;
    size_t n = (size_t)cfg.clients, started = 0;
    client *clients = NULL;
    pthread_t *threads = NULL;
    totals t = { 0 };
    plan p = { .cfg = &cfg };
    atomic_init(&p.next, 0);

    if (preflight(&cfg) != 0)
        goto out;
    clients = calloc(n, sizeof *clients);
    threads = calloc(n, sizeof *threads);
    if (clients == NULL || threads == NULL) {
        fprintf(stderr, "cw-loadgen: out of memory\n");
        goto out;
    }
    int64_t start = lg_now_us();
    if (cfg.duration_s > 0)
        p.deadline_us = start + (int64_t)(cfg.duration_s * 1e6);
    for (size_t i = 0; i < n; i++) {
        clients[i].plan = &p;
        clients[i].index = (unsigned)i;
        clients[i].seed = (unsigned)(lg_now_us() ^ (int64_t)(i * 7919u));
        if (pthread_create(&threads[i], NULL, client_main, &clients[i]) != 0) {
            fprintf(stderr, "cw-loadgen: could only start %zu of %zu client threads\n", i, n);
            break;
        }
        started++;
    }
    for (size_t i = 0; i < started; i++)
        pthread_join(threads[i], NULL);
    double secs = (double)(lg_now_us() - start) / 1e6;
    if (started < n)
        goto out;
    if (sum_clients(clients, started, &t) != 0) {
        fprintf(stderr, "cw-loadgen: out of memory\n");
        goto out;
    }
    report(&cfg, &t, secs);
    status = t.failed == 0 && t.oom == 0 ? 0 : 1;
out:
    for (size_t i = 0; clients != NULL && i < n; i++)
        free(clients[i].latency_ms);
    free(t.latency);
    free(threads);
    free(clients);
    curl_global_cleanup();
    return status;
}
