/* cw-mock-embedder — the mock embedding server as a program, for manual runs
 * and load tests. Prints the port on stdout's first line and the base URL on
 * the second, serves until SIGINT/SIGTERM, then prints its counters on
 * stderr and exits 0. Exit 2 on a usage error, 1 when it cannot start. */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mock_embedder.h"

static void usage(FILE *to)
{
    fprintf(to,
            "usage: cw-mock-embedder [options]\n"
            "An OpenAI/Voyage-compatible embedding server on 127.0.0.1 (POST /v1/embeddings).\n\n"
            "options:\n"
            "  --port N          port to bind (default 0: any free port)\n"
            "  --dim D           vector size (default 384)\n"
            "  --latency-ms MS   wait before each answer (default 0)\n"
            "  --fail-status S   answer HTTP S instead of vectors (e.g. 429, 500, 401)\n"
            "  --fail-count K    that many calls (default -1: all of them)\n"
            "  --retry-after S   send Retry-After: S with the failures\n"
            "  --fail-rate PCT   instead: each call fails with --fail-status (default 500)\n"
            "                    with probability PCT %%\n"
            "  --stall-rate PCT  each call waits --stall-ms first with probability PCT %%\n"
            "  --stall-ms MS     the stall (default 30000: past a 20 s client timeout)\n"
            "  --seed N          seed of the random faults (default 1)\n"
            "  --help            this text\n");
}

/* Parse a whole decimal number in [min, max]; -1 when it is not one. */
static int parse_num(const char *flag, const char *s, long min, long max, long *out)
{
    char *end = NULL;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v < min || v > max) {
        fprintf(stderr, "cw-mock-embedder: %s must be a number in %ld..%ld, got '%s'\n", flag, min, max, s);
        return -1;
    }
    *out = v;
    return 0;
}

int main(int argc, char **argv)
{
    enum { O_PORT = 1, O_DIM, O_LATENCY, O_FAIL_STATUS, O_FAIL_COUNT, O_RETRY_AFTER, O_HELP,
           O_FAIL_RATE, O_STALL_RATE, O_STALL_MS, O_SEED };
    static const struct option opts[] = {
        { "port", required_argument, NULL, O_PORT },
        { "dim", required_argument, NULL, O_DIM },
        { "latency-ms", required_argument, NULL, O_LATENCY },
        { "fail-status", required_argument, NULL, O_FAIL_STATUS },
        { "fail-count", required_argument, NULL, O_FAIL_COUNT },
        { "retry-after", required_argument, NULL, O_RETRY_AFTER },
        { "help", no_argument, NULL, O_HELP },
        { "fail-rate", required_argument, NULL, O_FAIL_RATE },
        { "stall-rate", required_argument, NULL, O_STALL_RATE },
        { "stall-ms", required_argument, NULL, O_STALL_MS },
        { "seed", required_argument, NULL, O_SEED },
        { NULL, 0, NULL, 0 },
    };
    long port = 0, dim = 384, latency = 0, fail_status = 0, fail_count = -1, retry_after = 0;
    long fail_rate = 0, stall_rate = 0, stall_ms = 30000, seed = 1;
    for (;;) {
        int c = getopt_long(argc, argv, "", opts, NULL);
        int bad = 0;
        if (c == -1)
            break;
        switch (c) {
        case O_PORT:        bad = parse_num("--port", optarg, 0, 65535, &port); break;
        case O_DIM:         bad = parse_num("--dim", optarg, 1, 16384, &dim); break;
        case O_LATENCY:     bad = parse_num("--latency-ms", optarg, 0, 3600000, &latency); break;
        case O_FAIL_STATUS: bad = parse_num("--fail-status", optarg, 100, 599, &fail_status); break;
        case O_FAIL_COUNT:  bad = parse_num("--fail-count", optarg, -1, 1000000000, &fail_count); break;
        case O_RETRY_AFTER: bad = parse_num("--retry-after", optarg, 0, 86400, &retry_after); break;
        case O_FAIL_RATE:   bad = parse_num("--fail-rate", optarg, 0, 100, &fail_rate); break;
        case O_STALL_RATE:  bad = parse_num("--stall-rate", optarg, 0, 100, &stall_rate); break;
        case O_STALL_MS:    bad = parse_num("--stall-ms", optarg, 0, 3600000, &stall_ms); break;
        case O_SEED:        bad = parse_num("--seed", optarg, 0, 2147483647, &seed); break;
        case O_HELP:        usage(stdout); return 0;
        default:            usage(stderr); return 2;
        }
        if (bad)
            return 2;
    }
    if (fail_rate + stall_rate > 100) {
        fprintf(stderr, "cw-mock-embedder: --fail-rate plus --stall-rate must be at most 100\n");
        return 2;
    }
    if (optind < argc) {
        fprintf(stderr, "cw-mock-embedder: unexpected argument '%s'\n", argv[optind]);
        return 2;
    }

    /* Block the stop signals before any thread starts so that only sigwait sees them. */
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop, NULL);
    signal(SIGPIPE, SIG_IGN);

    cw_mock_embedder *m = cw_mock_embedder_start((unsigned short)port, (size_t)dim);
    if (m == NULL) {
        fprintf(stderr, "cw-mock-embedder: cannot listen on 127.0.0.1:%ld\n", port);
        return 1;
    }
    cw_mock_embedder_set_latency(m, (int)latency);
    if (fail_rate > 0 || stall_rate > 0)
        cw_mock_embedder_set_fault_rates(m, (int)fail_rate, fail_status != 0 ? (int)fail_status : 500,
                                         (int)stall_rate, (int)stall_ms, (unsigned long)seed);
    else if (fail_status != 0)
        cw_mock_embedder_fail(m, (int)fail_status, (int)fail_count, (int)retry_after);
    printf("%u\n%s\n", (unsigned)cw_mock_embedder_port(m), cw_mock_embedder_url(m));
    fflush(stdout);

    int sig = 0;
    sigwait(&stop, &sig);
    fprintf(stderr, "cw-mock-embedder: calls=%lu inputs=%lu max_inputs_per_call=%lu",
            cw_mock_embedder_calls(m), cw_mock_embedder_inputs(m), cw_mock_embedder_max_inputs(m));
    if (fail_rate > 0 || stall_rate > 0) {
        unsigned long rate_fails = 0, rate_stalls = 0;
        cw_mock_embedder_fault_counts(m, &rate_fails, &rate_stalls);
        fprintf(stderr, " random_fails=%lu random_stalls=%lu", rate_fails, rate_stalls);
    }
    fputc('\n', stderr);
    cw_mock_embedder_stop(m);
    return 0;
}
