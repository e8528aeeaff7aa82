/* cw_bench_embed — throughput of the local embedder (contrib/bench-embed.sh).
 *
 *   cw_bench_embed [--model-dir DIR] [--threads N] [--seconds S]
 *
 *                  [--precision fp32|bf16|int8|auto] [--int8-per-tensor]
 *                  [--texts FILE]   (one text per line, up to 64)
 *
 * S (default 3) one-second windows per batch size; the median is shown.
 * Prints one markdown row: the precision as the embedder describes it,
 * texts/s (median) for batches of 1, 8 and 64 typical instance texts
 * (~40 tokens), texts per CPU-second at batch 64, GFLOP/s at 64, tokens per
 * text, model load time and peak RSS (contrib/bench-embed.sh runs one
 * process per precision, so load and RSS are each mode's own). */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "cw_time.h"
#include "embed_local.h"
#include "wordpiece.h"

#define NTEXTS 64

static const char *const kinds[] = { "Deployment", "StatefulSet", "Service", "ConfigMap",
                                     "CronJob", "Ingress", "DaemonSet", "Secret" };
static const char *const apps[] = { "payments-api", "postgres", "nginx-ingress", "redis-cache",
                                    "kafka-broker", "grafana", "checkout-web", "fluent-bit" };
static const char *const nss[] = { "prod-eu", "db", "web", "cache", "streaming", "monitoring" };

static double now_s(void)
{
    return (double)cw_now_ms() / 1000.0;
}

static double cpu_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static long rss_kb(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

/* Dense + attention FLOPs for a text of `len` tokens (as cw_bert_flops). */
static double flops_for(const char *config, size_t len)
{
    json_object *c = json_object_from_file(config);
    double H = 384, IM = 1536, L = 6;
    json_object *v = NULL;
    if (c != NULL && json_object_object_get_ex(c, "hidden_size", &v))
        H = json_object_get_double(v);
    if (c != NULL && json_object_object_get_ex(c, "intermediate_size", &v))
        IM = json_object_get_double(v);
    if (c != NULL && json_object_object_get_ex(c, "num_hidden_layers", &v))
        L = json_object_get_double(v);
    json_object_put(c);
    double n = (double)len;
    return L * (2.0 * n * H * (4.0 * H + 2.0 * IM) + 4.0 * n * n * H);
}

int main(int argc, char **argv)
{
    char dirbuf[1024];
    const char *dir = cw_local_default_model_dir(dirbuf, sizeof dirbuf);
    size_t threads = 0;
    cw_local_precision prec = CW_LOCAL_AUTO;
    int per_tensor = 0;
    const char *texts_file = NULL;
    double seconds = 3.0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--model-dir") == 0 && i + 1 < argc) {
            dir = argv[++i];
        } else if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc) {
            threads = (size_t)strtoul(argv[++i], NULL, 10);
        } else if (strcmp(argv[i], "--precision") == 0 && i + 1 < argc) {
            if (cw_local_precision_parse(argv[++i], &prec) != 0) {
                fprintf(stderr, "%s: --precision must be fp32, bf16, int8 or auto\n", argv[0]);
                return 2;
            }
        } else if (strcmp(argv[i], "--texts") == 0 && i + 1 < argc) {
            texts_file = argv[++i];
        } else if (strcmp(argv[i], "--int8-per-tensor") == 0) {
            per_tensor = 1;
        } else if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc) {
            seconds = strtod(argv[++i], NULL);
        } else {
            fprintf(stderr, "usage: %s [--model-dir DIR] [--threads N] [--seconds S]\n", argv[0]);
            return 2;
        }
    }

    static char storage[NTEXTS][1024];
    const char *texts[NTEXTS];
    for (size_t i = 0; i < NTEXTS; i++) {
        snprintf(storage[i], sizeof storage[i],
                 "%s %s-%zu | namespace: %s | apiVersion: apps/v1 | labels: app=%s, "
                 "tier=backend | Managed by Helm",
                 kinds[i % 8], apps[(i / 8) % 8], i, nss[i % 6], apps[(i / 8) % 8]);
        texts[i] = storage[i];
    }
    /* --texts FILE: up to NTEXTS lines replace them (cycled if fewer). */
    if (texts_file != NULL) {
        FILE *f = fopen(texts_file, "r");
        if (f == NULL) {
            perror(texts_file);
            return 1;
        }
        size_t got = 0;
        while (got < NTEXTS && fgets(storage[got], sizeof storage[got], f) != NULL) {
            storage[got][strcspn(storage[got], "\n")] = '\0';
            got++;
        }
        fclose(f);
        if (got == 0) {
            fprintf(stderr, "%s: no texts\n", texts_file);
            return 1;
        }
        for (size_t i = 0; i < NTEXTS; i++)
            texts[i] = storage[i % got];
    }

    long rss_before = rss_kb();
    double t0 = now_s();
    cw_error err;
    cw_error_clear(&err);
    cw_embedder *e = cw_embedder_local_create(dir, &(cw_local_options){ .threads = threads, .precision = prec, .int8_per_tensor = per_tensor }, &err);
    double load_s = now_s() - t0;
    if (e == NULL) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    long rss_loaded = rss_kb();

    char path[1200];
    snprintf(path, sizeof path, "%s/tokenizer.json", dir);
    cw_wordpiece *wp = cw_wordpiece_create(path, &err);
    if (wp == NULL) {
        fprintf(stderr, "%s\n", err.msg);
        cw_embedder_destroy(e);
        return 1;
    }
    snprintf(path, sizeof path, "%s/config.json", dir);
    double total_tokens = 0.0, flops_all = 0.0;
    for (size_t i = 0; i < NTEXTS; i++) {
        int32_t ids[256];
        size_t n = 0;
        if (cw_wordpiece_encode(wp, texts[i], strlen(texts[i]), ids, 256, &n, &err) != 0) {
            fprintf(stderr, "%s\n", err.msg);
            return 1;
        }
        total_tokens += (double)n;
        flops_all += flops_for(path, n);
    }
    cw_wordpiece_destroy(wp);
    double flops_per_text = flops_all / NTEXTS;

    float *out = malloc(NTEXTS * e->dim * sizeof *out);
    if (out == NULL)
        return 1;
    /* The machine may be shared: measure `seconds` one-second windows per
     * batch size and report the median, plus texts per CPU-second (user +
     * sys of this process) at batch 64, which other load distorts less.
     * One markdown row; contrib/bench-embed.sh prints the header. */
    static const size_t batches[] = { 1, 8, 64 };
    size_t windows = seconds < 1.0 ? 1 : (size_t)seconds;
    double rates[64], median[3], per_cpu = 0.0;
    windows = windows > 64 ? 64 : windows;
    for (size_t b = 0; b < 3; b++) {
        size_t bs = batches[b];
        if (cw_embedder_embed(e, texts, bs, CW_EMBED_DOCUMENT, out, &err) != 0) {   /* warm up */
            fprintf(stderr, "%s\n", err.msg);
            return 1;
        }
        size_t total_done = 0;
        double cpu0 = cpu_s();
        for (size_t w = 0; w < windows; w++) {
            size_t calls = 0, done = 0;
            double start = now_s(), el = 0.0;
            do {
                if (cw_embedder_embed(e, texts + (calls * bs) % NTEXTS, bs, CW_EMBED_DOCUMENT,
                                      out, &err) != 0) {
                    fprintf(stderr, "%s\n", err.msg);
                    return 1;
                }
                calls++;
                done += bs;
                el = now_s() - start;
            } while (el < 1.0 || calls < 2);
            rates[w] = (double)done / el;
            total_done += done;
        }
        double cpu = cpu_s() - cpu0;
        qsort(rates, windows, sizeof rates[0], cmp_double);
        median[b] = rates[windows / 2];
        per_cpu = (double)total_done / cpu;
    }
    printf("| %s | %.0f | %.0f | %.0f | %.0f | %.1f | %.0f | %.0f | %.0f |\n",
           cw_embedder_local_describe(e), median[0], median[1], median[2], per_cpu,
           median[2] * flops_per_text / 1e9, total_tokens / NTEXTS, load_s * 1000.0,
           (double)rss_kb() / 1024.0);
    (void)rss_loaded;
    (void)rss_before;
    free(out);
    cw_embedder_destroy(e);
    return 0;
}
