/* cw-parse-bench — MB/s of the generated parse+validate
 * (cw_sync_payload_parse + cw_sync_payload_free) on one cw-loadgen payload,
 * and of json-c's strict tokenizer alone on the same bytes for comparison.
 *
 * Each round parses the payload repeatedly for at least --round-ms and
 * gives bytes/s; the best of --rounds rounds is reported (the least
 * disturbed by other work on the machine). Prints a summary and
 * `result key=value ...`. Exit 0, 1 when the payload does not parse, 2 on
 * a usage error. */
#include <getopt.h>
#include <stdint.h>
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
    enum { O_INST = 1, O_ROUNDS, O_ROUND_MS, O_HELP };
    static const struct option opts[] = {
        { "instances", required_argument, NULL, O_INST },
        { "rounds", required_argument, NULL, O_ROUNDS },
        { "round-ms", required_argument, NULL, O_ROUND_MS },
        { "help", no_argument, NULL, O_HELP },
        { NULL, 0, NULL, 0 },
    };
    long instances = 1000, rounds = 7, round_ms = 300;
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
        case O_HELP:
            printf("usage: cw-parse-bench [--instances N] [--rounds R] [--round-ms MS]\n"
                   "MB/s of the generated parse+validate on one N-instance cw-loadgen payload\n"
                   "(default 1000), best of R rounds (default 7) of at least MS ms (default 300),\n"
                   "beside json-c's strict tokenizer alone on the same bytes.\n");
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
    printf("result instances=%ld bytes=%zu parse_mb_per_s=%.1f tokener_mb_per_s=%.1f\n", instances, len,
           gen, tok);
    return 0;
}
