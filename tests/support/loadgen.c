/* cw-loadgen — many controllers at once against POST /api/v1/instances/sync.
 *
 * Each client thread behaves like one k8s-vectordb-sync controller: it
 * sends upsert batches of --batch instances (unique ids per run, client and
 * request), opens a new connection for every request, and retries 5xx and
 * network errors with exponential backoff and jitter (--retries times,
 * 100 ms doubling to 3 s; a Retry-After answer is honoured up to 3 s); 4xx
 * are not retried. Optionally every --delete-every-th request is a single
 * delete of an id it stored earlier (what the controller sends on a delete).
 *
 * Prints one result line of `key=value` pairs (for scripts) and a readable
 * summary: requests/s, instances/s, latency percentiles of the requests
 * (first attempt to final answer, retries included).
 *
 * Exit: 0 when every request ended 2xx, 1 otherwise, 2 on a usage error. */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

typedef struct config {
    const char *url;         /* base, e.g. http://127.0.0.1:3000 */
    long clients;
    long requests;           /* per client */
    long batch;
    long retries;
    long delete_every;       /* 0: no deletes */
    long timeout_ms;
    char run[32];            /* id prefix unique to this run */
} config;

typedef struct client {
    const config *cfg;
    int index;
    double *latency_ms;      /* one per request */
    long ok, failed, attempts, retried, status_4xx, status_5xx, net_errors;
} client;

static int64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

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

static size_t on_header(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    long *retry_after = userdata;
    size_t n = size * nmemb;
    if (n > 12 && strncasecmp(ptr, "Retry-After:", 12) == 0)
        *retry_after = strtol(ptr + 12, NULL, 10);
    return n;
}

/* The body of request `r` of client `c` (malloc'd). */
static char *make_body(const client *c, long r)
{
    const config *cfg = c->cfg;
    if (cfg->delete_every > 0 && r > 0 && r % cfg->delete_every == 0) {
        char *out = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&out, &len);
        if (f == NULL)
            return NULL;
        fprintf(f, "{\"upserts\":null,\"deletes\":[\"lg-%s-c%d/apps/v1/Deployment/r%ld-0\"]}",
                cfg->run, c->index, r - 1);
        fclose(f);
        return out;
    }
    char *out = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&out, &len);
    if (f == NULL)
        return NULL;
    fputs("{\"upserts\":[", f);
    for (long i = 0; i < cfg->batch; i++) {
        fprintf(f,
                "%s{\"id\":\"lg-%s-c%d/apps/v1/Deployment/r%ld-%ld\",\"namespace\":\"lg-%s-c%d\","
                "\"name\":\"r%ld-%ld\",\"kind\":\"Deployment\",\"apiVersion\":\"apps/v1\","
                "\"apiGroup\":\"apps\",\"labels\":{\"app\":\"loadgen\",\"client\":\"c%d\"},"
                "\"annotations\":{\"description\":\"load generator instance %ld of request %ld\"},"
                "\"createdAt\":\"2026-02-20T10:00:00Z\"}",
                i > 0 ? "," : "", cfg->run, c->index, r, i, cfg->run, c->index, r, i, c->index,
                i, r);
    }
    fputs("],\"deletes\":null}", f);
    fclose(f);
    return out;
}

static void *client_main(void *arg)
{
    client *c = arg;
    const config *cfg = c->cfg;
    char url[512];
    snprintf(url, sizeof url, "%s/api/v1/instances/sync", cfg->url);
    unsigned seed = (unsigned)(c->index * 7919 + 17);
    for (long r = 0; r < cfg->requests; r++) {
        char *body = make_body(c, r);
        if (body == NULL) {
            c->failed++;
            continue;
        }
        int64_t start = now_us();
        long backoff = 100;
        int done = 0;
        for (long attempt = 0; attempt <= cfg->retries && !done; attempt++) {
            CURL *curl = curl_easy_init();   /* a new connection per request */
            if (curl == NULL)
                break;
            struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
            h = curl_slist_append(h, "Expect:");
            long retry_after = 0;
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
            long status = 0;
            if (rc == CURLE_OK)
                curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
            curl_slist_free_all(h);
            curl_easy_cleanup(curl);
            if (rc == CURLE_OK && status < 400) {
                done = 1;
                c->ok++;
                break;
            }
            if (rc != CURLE_OK)
                c->net_errors++;
            else if (status < 500)
                c->status_4xx++;
            else
                c->status_5xx++;
            if (rc == CURLE_OK && status < 500)
                break;                       /* 4xx: never retried */
            if (attempt == cfg->retries)
                break;
            long wait = backoff + (long)(rand_r(&seed) % (unsigned)(backoff / 2 + 1));
            if (retry_after > 0 && retry_after * 1000 < 3000)
                wait = retry_after * 1000;
            sleep_ms(wait);
            backoff = backoff * 2 > 3000 ? 3000 : backoff * 2;
        }
        if (!done)
            c->failed++;
        c->latency_ms[r] = (double)(now_us() - start) / 1000.0;
        free(body);
    }
    return NULL;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y ? 1 : 0;
}

static double percentile(const double *sorted, size_t n, double p)
{
    if (n == 0)
        return 0;
    size_t i = (size_t)(p / 100.0 * (double)(n - 1) + 0.5);
    return sorted[i < n ? i : n - 1];
}

static void usage(FILE *to)
{
    fprintf(to,
            "usage: cw-loadgen --url URL [options]\n"
            "Many controllers at once: POST /api/v1/instances/sync, one connection per\n"
            "request, 5xx and network errors retried with backoff.\n\n"
            "options:\n"
            "  --url URL          server base URL (required), e.g. http://127.0.0.1:3000\n"
            "  --clients N        concurrent controllers (default 8)\n"
            "  --requests N       requests per controller (default 20)\n"
            "  --batch N          instances per upsert request (default 50)\n"
            "  --retries N        retries per request (default 3)\n"
            "  --delete-every K   every K-th request is one delete (default 0: none)\n"
            "  --timeout-ms MS    per attempt (default 30000)\n"
            "  --help             this text\n");
}

static int num(const char *flag, const char *s, long min, long max, long *out)
{
    char *end = NULL;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v < min || v > max) {
        fprintf(stderr, "cw-loadgen: %s must be a number in %ld..%ld, got '%s'\n", flag, min, max, s);
        return -1;
    }
    *out = v;
    return 0;
}

int main(int argc, char **argv)
{
    enum { O_URL = 1, O_CLIENTS, O_REQUESTS, O_BATCH, O_RETRIES, O_DELETE, O_TIMEOUT, O_HELP };
    static const struct option opts[] = {
        { "url", required_argument, NULL, O_URL },
        { "clients", required_argument, NULL, O_CLIENTS },
        { "requests", required_argument, NULL, O_REQUESTS },
        { "batch", required_argument, NULL, O_BATCH },
        { "retries", required_argument, NULL, O_RETRIES },
        { "delete-every", required_argument, NULL, O_DELETE },
        { "timeout-ms", required_argument, NULL, O_TIMEOUT },
        { "help", no_argument, NULL, O_HELP },
        { NULL, 0, NULL, 0 },
    };
    config cfg = { NULL, 8, 20, 50, 3, 0, 30000, "" };
    for (;;) {
        int o = getopt_long(argc, argv, "", opts, NULL);
        if (o == -1)
            break;
        int bad = 0;
        switch (o) {
        case O_URL: cfg.url = optarg; break;
        case O_CLIENTS: bad = num("--clients", optarg, 1, 4096, &cfg.clients); break;
        case O_REQUESTS: bad = num("--requests", optarg, 1, 1000000, &cfg.requests); break;
        case O_BATCH: bad = num("--batch", optarg, 0, 100000, &cfg.batch); break;
        case O_RETRIES: bad = num("--retries", optarg, 0, 100, &cfg.retries); break;
        case O_DELETE: bad = num("--delete-every", optarg, 0, 1000000, &cfg.delete_every); break;
        case O_TIMEOUT: bad = num("--timeout-ms", optarg, 1, 600000, &cfg.timeout_ms); break;
        case O_HELP: usage(stdout); return 0;
        default: bad = -1; break;
        }
        if (bad != 0) {
            usage(stderr);
            return 2;
        }
    }
    if (cfg.url == NULL || optind != argc) {
        usage(stderr);
        return 2;
    }
    snprintf(cfg.run, sizeof cfg.run, "%lx%x", (unsigned long)time(NULL), (unsigned)getpid());
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        fprintf(stderr, "cw-loadgen: libcurl could not be initialised\n");
        return 1;
    }

    size_t n = (size_t)cfg.clients;
    client *clients = calloc(n, sizeof *clients);
    pthread_t *threads = calloc(n, sizeof *threads);
    double *all = calloc(n * (size_t)cfg.requests, sizeof *all);
    if (clients == NULL || threads == NULL || all == NULL) {
        fprintf(stderr, "cw-loadgen: out of memory\n");
        return 1;
    }
    int64_t start = now_us();
    size_t started = 0;
    for (size_t i = 0; i < n; i++) {
        clients[i].cfg = &cfg;
        clients[i].index = (int)i;
        clients[i].latency_ms = all + i * (size_t)cfg.requests;
        if (pthread_create(&threads[i], NULL, client_main, &clients[i]) != 0)
            break;
        started++;
    }
    for (size_t i = 0; i < started; i++)
        pthread_join(threads[i], NULL);
    double secs = (double)(now_us() - start) / 1e6;

    long ok = 0, failed = 0, attempts = 0, retried = 0, s4 = 0, s5 = 0, net = 0;
    for (size_t i = 0; i < started; i++) {
        ok += clients[i].ok;
        failed += clients[i].failed;
        attempts += clients[i].attempts;
        retried += clients[i].retried;
        s4 += clients[i].status_4xx;
        s5 += clients[i].status_5xx;
        net += clients[i].net_errors;
    }
    size_t total = started * (size_t)cfg.requests;
    qsort(all, total, sizeof *all, cmp_double);
    long deletes = cfg.delete_every > 0 ? (long)started * ((cfg.requests - 1) / cfg.delete_every) : 0;
    long instances = ((long)total - deletes) * cfg.batch;
    printf("result clients=%ld requests=%zu ok=%ld failed=%ld attempts=%ld retries=%ld "
           "http_4xx=%ld http_5xx=%ld net_errors=%ld seconds=%.3f req_per_s=%.1f "
           "instances_per_s=%.1f p50_ms=%.1f p90_ms=%.1f p99_ms=%.1f max_ms=%.1f\n",
           (long)started, total, ok, failed, attempts, retried, s4, s5, net, secs,
           (double)total / secs, (double)instances / secs, percentile(all, total, 50),
           percentile(all, total, 90), percentile(all, total, 99),
           total > 0 ? all[total - 1] : 0.0);
    printf("%ld clients x %ld requests (batch %ld): %ld ok, %ld failed, %ld retries\n"
           "%.1f requests/s, %.1f instances/s; latency ms p50 %.1f  p90 %.1f  p99 %.1f  max %.1f\n",
           (long)started, cfg.requests, cfg.batch, ok, failed, retried, (double)total / secs,
           (double)instances / secs, percentile(all, total, 50), percentile(all, total, 90),
           percentile(all, total, 99), total > 0 ? all[total - 1] : 0.0);
    free(all);
    free(threads);
    free(clients);
    curl_global_cleanup();
    return failed == 0 ? 0 : 1;
}
