/* cw-parse-bench — MB/s of the generated parse+validate
 * (cw_sync_payload_parse + cw_sync_payload_free) on one cw-loadgen payload,
 * and of json-c's strict tokenizer alone on the same bytes for comparison.
 *
 * Each round parses the payload repeatedly for at least --round-ms and
 * gives bytes/s; the best of --rounds rounds is reported (the least
 * disturbed by other work on the machine). Before that, once, the peak
 * memory of one parse of a body of --memory-mib MiB (instances added until
 * it is that large): the growth of the peak RSS while the parsed payload
 * is alive, next to the body size. Prints a summary and
 * `result key=value ...`. Exit 0, 1 when the payload does not parse, 2 on
 * a usage error. */
#include <getopt.h>
#include <stdint.h>
#include <sys/resource.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "lg_cli.h"
#include "payload.h"
#include "sync_payload.h"

#define PROG "cw-parse-bench"

/* One parse of body with the generated parser: 0, -1 when refused. */
static int parse_generated(const char *body, size_t len)
{
    cw_sync_payload p;
    cw_issues issues;
    cw_issues_init(&issues);
    if (cw_sync_payload_parse(body, len, &p, &issues) != 0)
        return -1;
    cw_sync_payload_free(&p);
    return 0;
}

/* One parse with json-c's strict tokenizer alone: 0 or -1. */
static int parse_tokener(const char *body, size_t len)
{
    json_tokener *tok = json_tokener_new();
    if (tok == NULL)
        return -1;
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
    json_object *o = json_tokener_parse_ex(tok, body, (int)len);
    int rc = o != NULL && json_tokener_get_error(tok) == json_tokener_success ? 0 : -1;
    json_object_put(o);
    json_tokener_free(tok);
    return rc;
}

static long max_rss_kib(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

/* Peak RSS growth (bytes) of one parse of a payload of about `mib` MiB,
 * its size in *body_len; -1 when it does not parse. */
static long parse_peak(long mib, size_t *body_len)
{
    size_t per = 0, len = 0;
    char *probe = lg_payload_upserts("parsebench", 0, 0, 100, &per);
    if (probe == NULL)
        return -1;
    free(probe);
    size_t n = (size_t)mib * 1024 * 1024 / (per / 100);
    char *body = lg_payload_upserts("parsebench", 0, 0, n, &len);
    if (body == NULL)
        return -1;
    while (len > (size_t)mib * 1024 * 1024 && n > 1) {
        free(body);
        n -= n / 100 + 1;
        body = lg_payload_upserts("parsebench", 0, 0, n, &len);
        if (body == NULL)
            return -1;
    }
    long before = max_rss_kib();
    cw_sync_payload p;
    cw_issues issues;
    long peak = -1;
    if (cw_sync_payload_parse(body, len, &p, &issues) == 0) {
        peak = (max_rss_kib() - before) * 1024;
        cw_sync_payload_free(&p);
    }
    free(body);
    *body_len = len;
    return peak;
}

/* Best MB/s (1e6 bytes) over `rounds` rounds of >= round_ms each; -1 on a refused parse. */
static double best_mbps(int (*parse)(const char *, size_t), const char *body, size_t len, long rounds,
                        long round_ms)
{
    double best = 0;
    for (long r = 0; r < rounds; r++) {
        int64_t t0 = lg_now_ns(), t;
        long n = 0;
        do {
            if (parse(body, len) != 0)
                return -1;
            n++;
            t = lg_now_ns();
        } while (t - t0 < round_ms * 1000000L);
        double mbps = (double)len * (double)n / ((double)(t - t0) / 1e9) / 1e6;
        if (mbps > best)
            best = mbps;
    }
    return best;
}

int main(int argc, char **argv)
{
    enum { O_INST = 1, O_ROUNDS, O_ROUND_MS, O_MEM, O_HELP };
    static const struct option opts[] = {
        { "memory-mib", required_argument, NULL, O_MEM },
        { "instances", required_argument, NULL, O_INST },
        { "rounds", required_argument, NULL, O_ROUNDS },
        { "round-ms", required_argument, NULL, O_ROUND_MS },
        { "help", no_argument, NULL, O_HELP },
        { NULL, 0, NULL, 0 },
    };
    long instances = 1000, rounds = 7, round_ms = 300, mem_mib = 5;
    opterr = 0;
    for (;;) {
        int o = getopt_long(argc, argv, ":", opts, NULL);
        if (o == -1)
            break;
        int bad = 0;
        switch (o) {
        case O_INST: bad = lg_flag_long(PROG, "--instances", optarg, 1, 1000000, &instances); break;
        case O_ROUNDS: bad = lg_flag_long(PROG, "--rounds", optarg, 1, 1000, &rounds); break;
        case O_ROUND_MS: bad = lg_flag_long(PROG, "--round-ms", optarg, 1, 60000, &round_ms); break;
        case O_MEM: bad = lg_flag_long(PROG, "--memory-mib", optarg, 1, 512, &mem_mib); break;
        case O_HELP:
            printf("usage: cw-parse-bench [--instances N] [--rounds R] [--round-ms MS] [--memory-mib M]\n"
                   "MB/s of the generated parse+validate on one N-instance cw-loadgen payload\n"
                   "(default 1000), best of R rounds (default 7) of at least MS ms (default 300),\n"
                   "beside json-c's strict tokenizer alone on the same bytes; first the peak RSS\n"
                   "growth of one parse of an M MiB payload (default 5).\n");
            return 0;
        default:
            lg_getopt_error(PROG, o, argv);
            return 2;
        }
        if (bad != 0)
            return 2;
    }
    if (lg_no_operands(PROG, argc, argv) != 0)
        return 2;
    size_t mem_len = 0;
    long peak = parse_peak(mem_mib, &mem_len);
    if (peak < 0) {
        fprintf(stderr, "cw-parse-bench: the memory payload did not parse\n");
        return 1;
    }
    size_t len = 0;
    char *body = lg_payload_upserts("parsebench", 0, 0, (size_t)instances, &len);
    if (body == NULL) {
        fprintf(stderr, "cw-parse-bench: out of memory making the payload\n");
        return 1;
    }
    double gen = best_mbps(parse_generated, body, len, rounds, round_ms);
    double tok = gen < 0 ? -1 : best_mbps(parse_tokener, body, len, rounds, round_ms);
    free(body);
    if (gen < 0 || tok < 0) {
        fprintf(stderr, "cw-parse-bench: the payload did not parse\n");
        return 1;
    }
    printf("cw-parse-bench: %ld-instance payload of %zu bytes, best of %ld rounds\n", instances, len,
           rounds);
    printf("  generated parse+validate  %.1f MB/s\n  json-c strict tokenizer   %.1f MB/s\n", gen, tok);
    printf("  peak memory of one parse  %.2f MiB for a %.2f MiB body (%.2fx)\n",
           (double)peak / 1048576.0, (double)mem_len / 1048576.0, (double)peak / (double)mem_len);
    printf("result instances=%ld bytes=%zu parse_mb_per_s=%.1f tokener_mb_per_s=%.1f "
           "peak_parse_bytes=%ld peak_body_bytes=%zu\n", instances, len, gen, tok, peak, mem_len);
    return 0;
}
