/* cw-chroma-ceiling — how fast Chroma itself stores the load generator's
 * batches from one writer: the ceiling the sync server is measured against.
 *
 * For each batch it makes the same body cw-loadgen sends (lg_payload),
 * parses it with the generated parser, turns each instance into its
 * document (cw_document) and its vector into what the mock embedder answers
 * for that text (cw_mock_embedder_vector), then upserts the batch with the
 * project's Chroma client (cw_chroma), one call after another. Only the
 * upsert calls are timed: docs/s = documents / time inside upserts.
 *
 * The collection is deleted first (a fresh one) and, unless --keep, after.
 * Prints a summary and `result key=value ...`. Exit 0, 1 on failure (one
 * line saying what failed), 2 on a usage error. */
#include <getopt.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>

#include "chroma.h"
#include "document.h"
#include "lg_cli.h"
#include "mock_embedder.h"
#include "payload.h"
#include "sync_payload.h"

#define PROG "cw-chroma-ceiling"

typedef struct config {
    const char *url;
    const char *collection;
    long batch;
    long instances;
    double duration_s;
    long dim;
    int keep;
    char run[LG_RUN_MAX + 1];
} config;

/* One batch ready to send: documents and their vectors (owned). */
typedef struct prepared {
    cw_document *docs;
    float *vecs;
    size_t n;
} prepared;

static void prepared_clear(prepared *p)
{
    for (size_t i = 0; p->docs != NULL && i < p->n; i++)
        cw_document_clear(&p->docs[i]);
    free(p->docs);
    free(p->vecs);
    memset(p, 0, sizeof *p);
}

/* Batch `k` (instances k*B .. k*B+n-1 of client 0) into `out`. 0, or -1
 * with `err` set and `out` cleared. */
static int prepare(const config *cfg, long k, size_t n, prepared *out, cw_error *err)
{
    int rc = -1;
    size_t len = 0;
    cw_sync_payload p = { 0 };
    cw_issues issues;
    cw_issues_init(&issues);
    memset(out, 0, sizeof *out);
    char *body = lg_payload_upserts(cfg->run, 0, (unsigned long)(k * cfg->batch), n, &len);
    if (body == NULL) {
        cw_error_set(err, CW_E_NOMEM, "out of memory making a payload");
        goto out;
    }
    if (cw_sync_payload_parse(body, len, &p, &issues) != 0) {
        cw_error_set(err, CW_E_INTERNAL, "the generated parser refused a load generator payload");
        goto out;
    }
    out->docs = calloc(n, sizeof *out->docs);
    out->vecs = malloc(n * (size_t)cfg->dim * sizeof *out->vecs);
    if (out->docs == NULL || out->vecs == NULL) {
        cw_error_set(err, CW_E_NOMEM, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < p.upserts.len; i++) {
        if (cw_document_from_instance(&p.upserts.items[i], &out->docs[i], err) != 0)
            goto out;
        out->n = i + 1;
        cw_mock_embedder_vector(out->docs[i].text, (size_t)cfg->dim, out->vecs + i * (size_t)cfg->dim);
    }
    rc = 0;
out:
    if (rc != 0)
        prepared_clear(out);
    cw_sync_payload_free(&p);
    free(body);
    return rc;
}

static void usage(FILE *to)
{
    fprintf(to,
        "usage: cw-chroma-ceiling --chroma-url URL [options]\n"
        "Upsert cw-loadgen's batches straight into Chroma from one writer (the\n"
        "project's Chroma client, the mock embedder's vectors) and report docs/s.\n\n"
        "options:\n"
        "  --chroma-url URL    Chroma server (required)\n"
        "  --collection NAME   collection to (re)create (default ceiling_<pid>)\n"
        "  --batch B           documents per upsert (default 50)\n"
        "  --instances N       documents in total (default 2000)\n"
        "  --duration S        stop after S seconds of upserts, if earlier\n"
        "  --dim D             vector size (default 384)\n"
        "  --run-id TOKEN      [a-z0-9]{1,32} in every id (default: time and pid)\n"
        "  --keep              keep the collection afterwards\n"
        "  --help              this text\n");
}

/* 0, 1 (--help printed) or -1 (error printed). */
static int parse_args(int argc, char **argv, config *cfg)
{
    enum { O_URL = 1, O_COLL, O_BATCH, O_INST, O_DUR, O_DIM, O_RUN, O_KEEP, O_HELP };
    static const struct option opts[] = {
        { "chroma-url", required_argument, NULL, O_URL },
        { "collection", required_argument, NULL, O_COLL },
        { "batch", required_argument, NULL, O_BATCH },
        { "instances", required_argument, NULL, O_INST },
        { "duration", required_argument, NULL, O_DUR },
        { "dim", required_argument, NULL, O_DIM },
        { "run-id", required_argument, NULL, O_RUN },
        { "keep", no_argument, NULL, O_KEEP },
        { "help", no_argument, NULL, O_HELP },
        { NULL, 0, NULL, 0 },
    };
    opterr = 0;
    for (;;) {
        int o = getopt_long(argc, argv, ":", opts, NULL);
        if (o == -1)
            break;
        int bad = 0;
        char *end = NULL;
        switch (o) {
        case O_URL: cfg->url = optarg; break;
        case O_COLL: cfg->collection = optarg; break;
        case O_BATCH: bad = lg_flag_long(PROG, "--batch", optarg, 1, 100000, &cfg->batch); break;
        case O_INST:
            bad = lg_flag_long(PROG, "--instances", optarg, 1, 100000000, &cfg->instances);
            break;
        case O_DIM: bad = lg_flag_long(PROG, "--dim", optarg, 1, 16384, &cfg->dim); break;
        case O_DUR:
            cfg->duration_s = strtod(optarg, &end);
            if (end == optarg || *end != '\0' || !(cfg->duration_s > 0)) {
                fprintf(stderr, "cw-chroma-ceiling: --duration must be a positive number, got '%s'\n", optarg);
                bad = -1;
            }
            break;
        case O_RUN: bad = lg_flag_run(PROG, optarg, cfg->run); break;
        case O_KEEP: cfg->keep = 1; break;
        case O_HELP: usage(stdout); return 1;
        default: return lg_getopt_error(PROG, o, argv);
        }
        if (bad != 0)
            return -1;
    }
    if (lg_no_operands(PROG, argc, argv) != 0)
        return -1;
    if (cfg->url == NULL) {
        fprintf(stderr, "cw-chroma-ceiling: --chroma-url is required (see --help)\n");
        return -1;
    }
    if (cfg->run[0] == '\0')
        lg_run_default(cfg->run);
    return 0;
}

int main(int argc, char **argv)
{
    config cfg = { .batch = 50, .instances = 2000, .dim = 384 };
    int rc = parse_args(argc, argv, &cfg);
    if (rc != 0)
        return rc > 0 ? 0 : 2;
    char coll[64];
    if (cfg.collection == NULL) {
        snprintf(coll, sizeof coll, "ceiling_%u", (unsigned)getpid());
        cfg.collection = coll;
    }

    signal(SIGPIPE, SIG_IGN);
    if (curl_global_init(CURL_GLOBAL_ALL) != CURLE_OK) {
        fprintf(stderr, "cw-chroma-ceiling: libcurl could not be initialised\n");
        return 1;
    }
    int status = 1;
    cw_error err = { 0 };
    prepared b = { 0 };
    cw_chroma_config cc = { .url = cfg.url, .collection = cfg.collection };
    cw_chroma *chroma = cw_chroma_create(&cc, &err);
    if (chroma == NULL)
        goto out;
    if (cw_chroma_delete_collection(chroma, &err) != 0 || cw_chroma_ensure_collection(chroma, &err) != 0)
        goto out;

    long sent = 0, calls = 0;
    int64_t in_upserts = 0, wall0 = lg_now_us();
    for (long k = 0; sent < cfg.instances; k++) {
        if (cfg.duration_s > 0 && (double)in_upserts / 1e6 >= cfg.duration_s)
            break;
        size_t n = (size_t)(cfg.instances - sent < cfg.batch ? cfg.instances - sent : cfg.batch);
        if (prepare(&cfg, k, n, &b, &err) != 0)
            goto out;
        int64_t t0 = lg_now_us();
        if (cw_chroma_upsert(chroma, b.docs, b.vecs, b.n, (size_t)cfg.dim, &err) != 0)
            goto out;
        in_upserts += lg_now_us() - t0;
        calls++;
        sent += (long)b.n;
        prepared_clear(&b);
    }
    double secs = (double)in_upserts / 1e6;
    double wall = (double)(lg_now_us() - wall0) / 1e6;
    size_t count = 0;
    if (cw_chroma_count(chroma, &count, &err) != 0)
        goto out;
    if ((long)count != sent) {
        cw_error_set(&err, CW_E_INTERNAL, "Chroma holds %zu documents after %ld were upserted", count, sent);
        goto out;
    }
    double dps = secs > 0 ? (double)sent / secs : 0;
    printf("cw-chroma-ceiling: %ld documents in %ld upserts of %ld (dim %ld), one writer\n", sent,
           calls, cfg.batch, cfg.dim);
    printf("  %.1f documents/s (%.2f s inside upserts, %.2f s wall), %.1f ms per upsert\n", dps, secs,
           wall, calls ? secs * 1000.0 / (double)calls : 0.0);
    printf("result batch=%ld dim=%ld instances=%ld calls=%ld seconds=%.3f wall_seconds=%.3f docs_per_s=%.1f\n",
           cfg.batch, cfg.dim, sent, calls, secs, wall, dps);
    status = 0;
    if (!cfg.keep && cw_chroma_delete_collection(chroma, &err) != 0)
        status = 1;
out:
    if (status != 0)
        fprintf(stderr, "cw-chroma-ceiling: %s\n", err.msg[0] ? err.msg : "failed");
    prepared_clear(&b);
    cw_chroma_destroy(chroma);
    curl_global_cleanup();
    return status;
}
