#include "options.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cluster.h"
#include "cw_log.h"
#include "cw_secret.h"
#include "embed_http.h"
#include "embed_local.h"

#define ALL (CW_CMD_SERVE | CW_CMD_SYNC | CW_CMD_SEARCH | CW_CMD_MCP | CW_CMD_FORGET)
#define CHROMA_ONLY (CW_CMD_SERVE | CW_CMD_SYNC | CW_CMD_SEARCH | CW_CMD_MCP)   /* not forget-cluster */
#define PIPE (CW_CMD_SERVE | CW_CMD_SYNC)
#define EMBED_DEADLINE_CAP_MS 20000   /* the remote backends' own default deadline */

/* One row per flag: which commands take it, and its help line. */
typedef enum {
    O_HOST = 1000, O_PORT, O_ADMIN_PORT, O_MAX_BODY, O_MAX_INFLIGHT, O_CONN_LIMIT, O_CONN_TIMEOUT,
    O_REQ_TIMEOUT, O_HEADERS_TIMEOUT, O_BODY_STALL, O_BODY_MIN_RATE, O_MAX_HANDLING, O_DRAIN, O_CHROMA_URL, O_TENANT, O_DATABASE, O_COLLECTION,
    O_EMBEDDER, O_EMBED_URL, O_EMBED_MODEL, O_MODEL_DIR, O_EMBED_THREADS, O_EMBED_PRECISION, O_BATCH_MAX, O_LINGER,
    O_WORKERS, O_QUEUE_MAX, O_LOG_FORMAT, O_LOG_PROBES, O_KIND, O_NAMESPACE, O_JSON, O_EXPLAIN,
    O_RANKING, O_SERVER, O_JOURNAL, O_JOURNAL_MAX, O_ACK_WAIT, O_READY_ON, O_CLUSTER, O_DRY_RUN,
    O_FORGET_BATCH, O_CHROMA_TOKEN, O_CHROMA_TOKEN_FILE, O_CHROMA_AUTH_HEADER, O_CHROMA_CA_FILE,
    O_AUTH_TOKEN_FILE, O_N = 'n', O_HELP = 'h'
} opt_id;

typedef struct flag {
    const char *name;
    opt_id id;
    unsigned commands;
    const char *arg;             /* NULL: the flag takes no value */
    const char *help;
} flag;

static const flag FLAGS[] = {
    { "host",            O_HOST,        CW_CMD_SERVE, "ADDR", "address to listen on (default 0.0.0.0)" },
    { "port",            O_PORT,        CW_CMD_SERVE, "N",    "port to listen on (env PORT, default 3000)" },
    { "admin-port",      O_ADMIN_PORT,  CW_CMD_SERVE, "N",    "extra listener for /healthz /readyz /metrics only (default off)" },
    { "max-body",        O_MAX_BODY,    CW_CMD_SERVE, "BYTES","largest accepted body (default 5242880 = 5 MiB)" },
    { "max-inflight-bytes", O_MAX_INFLIGHT, CW_CMD_SERVE, "BYTES", "sync bodies in flight at once before 503 (default 67108864 = 64 MiB)" },
    { "connection-limit",O_CONN_LIMIT,  CW_CMD_SERVE, "N",    "concurrent sync requests before 503; probes keep a reserve (default 256)" },
    { "connection-timeout", O_CONN_TIMEOUT, CW_CMD_SERVE, "S", "idle connection timeout in seconds (default 30)" },
    { "request-timeout-ms", O_REQ_TIMEOUT, CW_CMD_SERVE, "MS", "answer 503 + Retry-After past this (default 25000)" },
    { "headers-timeout-ms", O_HEADERS_TIMEOUT, CW_CMD_SERVE, "MS", "a new connection's first request headers are due within this, else it is closed (default 5000; 0 = as later requests)" },
    { "body-stall-timeout", O_BODY_STALL, CW_CMD_SERVE, "S",   "a request body with no byte for this long is cut and its slot freed (default 5; 0 = off)" },
    { "body-min-rate",   O_BODY_MIN_RATE, CW_CMD_SERVE, "BYTES", "bytes/s a body must average once --body-stall-timeout has passed, else it is cut (default 1024; 0 = off)" },
    { "max-handling-bytes", O_MAX_HANDLING, CW_CMD_SERVE, "BYTES", "estimated memory of the sync bodies being parsed at once (4 x body) before 503 (default 134217728 = 128 MiB)" },
    { "drain-ms",        O_DRAIN,       CW_CMD_SERVE, "MS",   "on SIGTERM, keep applying this long, then exit (the rest stays journaled; without a journal: 503) (default 20000)" },
    { "journal",         O_JOURNAL,     CW_CMD_SERVE, "DIR",  "durable journal of accepted requests, or 'off' (answers then wait for Chroma) (env "
                                                              "CW_JOURNAL, default $XDG_STATE_HOME or ~/.local/state: cluster-whisperer/journal)" },
    { "journal-max-bytes", O_JOURNAL_MAX, CW_CMD_SERVE, "BYTES", "unapplied operations the journal holds before 503 (default 1073741824 = 1 GiB)" },
    { "ack-wait-ms",     O_ACK_WAIT,    CW_CMD_SERVE, "MS",   "with a journal: answer 200 if applied within this, else 202 accepted (default 3000)" },
    { "ready-on",        O_READY_ON,    CW_CMD_SERVE, "WHAT", "journal | chroma: what /readyz requires (default journal with a journal: no data lost "
                                                              "while Chroma is down; chroma without one)" },
    { "chroma-url",      O_CHROMA_URL,  ALL,  "URL",  "Chroma server (env CHROMA_URL, default http://localhost:8000)" },
    { "chroma-tenant",   O_TENANT,      ALL,  "NAME", "Chroma tenant (default default_tenant)" },
    { "chroma-database", O_DATABASE,    ALL,  "NAME", "Chroma database (default default_database)" },
    { "collection",      O_COLLECTION,  ALL,  "NAME", "Chroma collection (default instances)" },
    { "chroma-token",    O_CHROMA_TOKEN, ALL, "TOKEN", "Chroma auth token (env CHROMA_TOKEN, which ps cannot show; default none)" },
    { "chroma-token-file", O_CHROMA_TOKEN_FILE, ALL, "FILE", "read the Chroma auth token from FILE (e.g. a mounted Secret)" },
    { "chroma-auth-header", O_CHROMA_AUTH_HEADER, ALL, "NAME", "x-chroma-token | authorization (Bearer) (default x-chroma-token)" },
    { "chroma-ca-file",  O_CHROMA_CA_FILE, ALL, "FILE", "PEM CA bundle that verifies an https:// Chroma (default: the system's)" },
    { "auth-token-file", O_AUTH_TOKEN_FILE, CW_CMD_SERVE, "FILE", "sync and search require \"Authorization: Bearer <the token in FILE>\"; "
                                                              "FILE is re-read when it changes or on SIGHUP; probes and /metrics stay open (default: no auth)" },
    { "embedder",        O_EMBEDDER,    CHROMA_ONLY, "NAME", "local | voyage | openai (default: voyage if VOYAGE_API_KEY is set, "
                                                      "else openai if OPENAI_API_KEY is set, else local)" },
    { "embed-url",       O_EMBED_URL,   CHROMA_ONLY, "URL",  "embedding API base URL (voyage/openai; e.g. http://localhost:11434/v1)" },
    { "embed-model",     O_EMBED_MODEL, CHROMA_ONLY,  "NAME", "embedding model (voyage default voyage-4, openai text-embedding-3-small)" },
    { "model-dir",       O_MODEL_DIR,   CHROMA_ONLY, "DIR",  "local model directory (env CW_MODEL_DIR; default ~/.local/share/cluster-whisperer/all-MiniLM-L6-v2)" },
    { "embed-threads",   O_EMBED_THREADS, CHROMA_ONLY, "N",   "local model: threads that compute embeddings, in all (default: every core)" },
    { "embed-precision", O_EMBED_PRECISION, CHROMA_ONLY, "MODE", "local model: fp32 | bf16 | int8 | auto (default auto: int8 with AVX-512 VNNI, "
                                                         "else bf16 with AVX-512 BF16, else fp32)" },
    { "batch-max",       O_BATCH_MAX,   PIPE, "N",    "texts per embedding batch (default 64)" },
    { "batch-linger-ms", O_LINGER,      PIPE, "MS",   "wait this long to coalesce concurrent requests (default 5)" },
    { "workers",         O_WORKERS,     PIPE, "N",    "embedding worker threads (default 2)" },
    { "queue-max",       O_QUEUE_MAX,   PIPE, "N",    "queued requests before answering 503 (default 256)" },
    { "log-format",      O_LOG_FORMAT,  ALL,  "FMT",  "text | json (default text); serve logs one line per request" },
    { "log-probes",      O_LOG_PROBES,  CW_CMD_SERVE, NULL, "also log /healthz, /readyz and /metrics requests (default: not logged)" },
    { "cluster",         O_CLUSTER,     CW_CMD_SERVE, "NAME", "the cluster of sync requests whose URL names none (a DNS-1123 label; "
                                                              "default none: ids and documents exactly as the single-cluster reference's)" },
    { "cluster",         O_CLUSTER,     CW_CMD_SYNC,  "NAME", "the cluster whose data the payload is (a DNS-1123 label; default none)" },
    { "cluster",         O_CLUSTER,     CW_CMD_SEARCH, "NAME", "only instances of this cluster (default: every cluster)" },
    { "dry-run",         O_DRY_RUN,     CW_CMD_FORGET, NULL,   "count the cluster's documents, delete nothing" },
    { "batch-max",       O_FORGET_BATCH, CW_CMD_FORGET, "N",   "ids per Chroma get and delete call (default: Chroma's max batch size)" },
    { "kind",            O_KIND,        CW_CMD_SEARCH, "KIND", "only instances of this kind" },
    { "namespace",       O_NAMESPACE,   CW_CMD_SEARCH, "NS",   "only instances in this namespace" },
    { "json",            O_JSON,        CW_CMD_SEARCH, NULL,   "print one JSON document: the query and every result with its stored text" },
    { "explain",         O_EXPLAIN,     CW_CMD_SEARCH, NULL,   "show each ranking signal's contribution to every result's score" },
    { "ranking",         O_RANKING,     CW_CMD_SEARCH, "MODE", "hybrid | vector | lexical (default hybrid)" },
    { "server",          O_SERVER,      CW_CMD_MCP,    "URL",  "answer from a running `serve` (its search API, e.g. http://localhost:3000) "
                                                               "instead of Chroma and a model of our own" },
};
#define N_FLAGS (sizeof FLAGS / sizeof FLAGS[0])

static const char *command_name(unsigned command)
{
    switch (command) {
    case CW_CMD_SERVE:  return "serve";
    case CW_CMD_SYNC:   return "sync";
    case CW_CMD_SEARCH: return "search";
    case CW_CMD_MCP:    return "mcp";
    case CW_CMD_FORGET: return "forget-cluster";
    }
    return "?";
}

void cw_options_help(FILE *out, unsigned command)
{
    if (command == CW_CMD_SEARCH)
        fprintf(out, "  -n N                   number of results (default 10, at most 100)\n");
    for (size_t i = 0; i < N_FLAGS; i++) {
        if ((FLAGS[i].commands & command) == 0)
            continue;
        char left[64];
        if (FLAGS[i].arg != NULL)
            snprintf(left, sizeof left, "--%s %s", FLAGS[i].name, FLAGS[i].arg);
        else
            snprintf(left, sizeof left, "--%s", FLAGS[i].name);
        fprintf(out, "  %-22s %s\n", left, FLAGS[i].help);
    }
    fprintf(out, "  %-22s %s\n", "-h, --help", "show this help");
}

static void defaults(cw_options *o)
{
    memset(o, 0, sizeof *o);
    o->host = "0.0.0.0";
    o->port = 3000;
    o->max_body = 5u * 1024 * 1024;
    o->connection_limit = 256;
    o->max_inflight_bytes = 64u * 1024 * 1024;
    o->connection_timeout_s = 30;
    o->request_deadline_ms = 25000;
    o->headers_timeout_ms = 5000;
    o->body_stall_s = 5;
    o->body_min_rate = 1024;
    o->max_handling_bytes = 128u * 1024 * 1024;
    o->drain_ms = 20000;
    o->chroma_url = "http://localhost:8000";
    o->batch_max = 64;
    o->batch_linger_ms = 5;
    o->workers = 2;
    o->queue_max = 256;
    o->journal_max_bytes = 1ull << 30;
    o->ack_wait_ms = 3000;
    o->log_format = "text";
    o->n_results = 10;
    o->ranking = "hybrid";

    const char *env = getenv("PORT");
    if (env != NULL && *env != '\0')
        o->port = (unsigned)strtoul(env, NULL, 10);
    env = getenv("CHROMA_URL");
    if (env != NULL && *env != '\0')
        o->chroma_url = env;
    env = getenv("CHROMA_TOKEN");
    if (env != NULL && *env != '\0')
        o->chroma_token = env;
    env = getenv("CW_JOURNAL");
    if (env != NULL && *env != '\0')
        o->journal = env;
    env = getenv("CW_MODEL_DIR");
    if (env != NULL && *env != '\0')
        o->model_dir = env;
}

/* Parse an unsigned number in [min, max]; -1 on error. */
static int parse_num(const char *cmd, const char *flag_name, const char *text,
                     unsigned long long min, unsigned long long max,
                     unsigned long long *out)
{
    char *end = NULL;
    errno = 0;
    unsigned long long v = strtoull(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0' || text[0] == '-' || v < min || v > max) {
        fprintf(stderr, "cluster-whisperer %s: --%s wants a number from %llu to %llu, got '%s'\n",
                cmd, flag_name, min, max, text);
        return -1;
    }
    *out = v;
    return 0;
}

/* 0 ok, 1 when --help was asked for, 2 on a usage error (one line printed). */
static int parse(cw_options *o, unsigned command, int argc, char **argv)
{
    const char *cmd = command_name(command);
    defaults(o);

    struct option longopts[N_FLAGS + 2];
    size_t k = 0;
    for (size_t i = 0; i < N_FLAGS; i++)
        if (FLAGS[i].commands & command)
            longopts[k++] = (struct option){ FLAGS[i].name,
                                             FLAGS[i].arg != NULL ? required_argument : no_argument,
                                             NULL, (int)FLAGS[i].id };
    longopts[k++] = (struct option){ "help", no_argument, NULL, O_HELP };
    longopts[k] = (struct option){ NULL, 0, NULL, 0 };
    /* "-": GNU-style permutation that does not depend on POSIXLY_CORRECT —
     * every non-option comes back as code 1, in order, so options may come
     * before or after the positional argument; "--" ends the options. */
    const char *shortopts = command == CW_CMD_SEARCH ? "-:n:h" : "-:h";
    int want_positional = command == CW_CMD_SEARCH || command == CW_CMD_SYNC ||
                          command == CW_CMD_FORGET;

    optind = 1;
    opterr = 0;
    int c;
    unsigned long long v;
    for (;;) {
        c = getopt_long(argc, argv, shortopts, longopts, NULL);
        if (c == -1)
            break;
        const char *flag_name = "?";
        for (size_t i = 0; i < N_FLAGS; i++)
            if ((int)FLAGS[i].id == c)
                flag_name = FLAGS[i].name;
        switch (c) {
        case 1:
            if (!want_positional || o->positional != NULL) {
                fprintf(stderr, "cluster-whisperer %s: unexpected argument '%s' (see --help)\n", cmd, optarg);
                return 2;
            }
            o->positional = optarg;
            break;
        case O_HELP: return 1;
        case O_HOST: o->host = optarg; break;
        case O_PORT:
            if (parse_num(cmd, flag_name, optarg, 0, 65535, &v) != 0) return 2;
            o->port = (unsigned)v; break;
        case O_ADMIN_PORT:
            if (parse_num(cmd, flag_name, optarg, 0, 65535, &v) != 0) return 2;
            o->admin_port = (unsigned)v; break;
        case O_MAX_BODY:
            if (parse_num(cmd, flag_name, optarg, 2, 1ull << 30, &v) != 0) return 2;
            o->max_body = (size_t)v; break;
        case O_MAX_INFLIGHT:
            if (parse_num(cmd, flag_name, optarg, 1, 1ull << 40, &v) != 0) return 2;
            o->max_inflight_bytes = (size_t)v; break;
        case O_CONN_LIMIT:
            if (parse_num(cmd, flag_name, optarg, 1, 100000, &v) != 0) return 2;
            o->connection_limit = (unsigned)v; break;
        case O_CONN_TIMEOUT:
            if (parse_num(cmd, flag_name, optarg, 1, 3600, &v) != 0) return 2;
            o->connection_timeout_s = (unsigned)v; break;
        case O_REQ_TIMEOUT:
            if (parse_num(cmd, flag_name, optarg, 100, 600000, &v) != 0) return 2;
            o->request_deadline_ms = (int)v; break;
        case O_HEADERS_TIMEOUT:
            if (parse_num(cmd, flag_name, optarg, 0, 600000, &v) != 0) return 2;
            o->headers_timeout_ms = (int)v; break;
        case O_BODY_STALL:
            if (parse_num(cmd, flag_name, optarg, 0, 3600, &v) != 0) return 2;
            o->body_stall_s = (unsigned)v; break;
        case O_BODY_MIN_RATE:
            if (parse_num(cmd, flag_name, optarg, 0, 1ull << 30, &v) != 0) return 2;
            o->body_min_rate = (size_t)v; break;
        case O_MAX_HANDLING:
            if (parse_num(cmd, flag_name, optarg, 1ull << 20, 1ull << 40, &v) != 0) return 2;
            o->max_handling_bytes = (size_t)v; break;
        case O_DRAIN:
            if (parse_num(cmd, flag_name, optarg, 0, 600000, &v) != 0) return 2;
            o->drain_ms = (int)v; break;
        case O_CHROMA_URL: o->chroma_url = optarg; break;
        case O_TENANT: o->chroma_tenant = optarg; break;
        case O_DATABASE: o->chroma_database = optarg; break;
        case O_COLLECTION: o->collection = optarg; break;
        case O_CHROMA_TOKEN: o->chroma_token = optarg; break;
        case O_CHROMA_TOKEN_FILE: o->chroma_token_file = optarg; break;
        case O_CHROMA_AUTH_HEADER:
            if (strcmp(optarg, "x-chroma-token") != 0 && strcmp(optarg, "authorization") != 0) {
                fprintf(stderr, "cluster-whisperer %s: --chroma-auth-header must be x-chroma-token or authorization, got '%s'\n", cmd, optarg);
                return 2;
            }
            o->chroma_auth_header = optarg; break;
        case O_CHROMA_CA_FILE: o->chroma_ca_file = optarg; break;
        case O_AUTH_TOKEN_FILE: o->auth_token_file = optarg; break;
        case O_EMBEDDER:
            if (strcmp(optarg, "local") != 0 && strcmp(optarg, "voyage") != 0 && strcmp(optarg, "openai") != 0) {
                fprintf(stderr, "cluster-whisperer %s: --embedder must be local, voyage or openai, got '%s'\n", cmd, optarg);
                return 2;
            }
            o->embedder = optarg; break;
        case O_EMBED_URL: o->embed_url = optarg; break;
        case O_EMBED_MODEL: o->embed_model = optarg; break;
        case O_MODEL_DIR: o->model_dir = optarg; break;
        case O_BATCH_MAX:
            if (parse_num(cmd, flag_name, optarg, 1, 4096, &v) != 0) return 2;
            o->batch_max = (size_t)v; break;
        case O_LINGER:
            if (parse_num(cmd, flag_name, optarg, 0, 10000, &v) != 0) return 2;
            o->batch_linger_ms = (int)v; break;
        case O_EMBED_THREADS:
            if (parse_num(cmd, flag_name, optarg, 1, 1024, &v) != 0) return 2;
            o->embed_threads = (size_t)v; break;
        case O_EMBED_PRECISION: {
            cw_local_precision p;
            if (cw_local_precision_parse(optarg, &p) != 0) {
                fprintf(stderr, "cluster-whisperer %s: --embed-precision must be fp32, bf16, int8 or auto, got '%s'\n", cmd, optarg);
                return 2;
            }
            o->embed_precision = (int)p;
            break;
        }
        case O_WORKERS:
            if (parse_num(cmd, flag_name, optarg, 1, 64, &v) != 0) return 2;
            o->workers = (size_t)v; break;
        case O_QUEUE_MAX:
            if (parse_num(cmd, flag_name, optarg, 1, 1000000, &v) != 0) return 2;
            o->queue_max = (size_t)v; break;
        case O_LOG_FORMAT:
            if (strcmp(optarg, "text") != 0 && strcmp(optarg, "json") != 0) {
                fprintf(stderr, "cluster-whisperer %s: --log-format must be text or json, got '%s'\n", cmd, optarg);
                return 2;
            }
            o->log_format = optarg; break;
        case O_LOG_PROBES: o->log_probes = 1; break;
        case O_JOURNAL: o->journal = optarg; break;
        case O_JOURNAL_MAX:
            if (parse_num(cmd, flag_name, optarg, 1u << 20, 1ull << 50, &v) != 0) return 2;
            o->journal_max_bytes = v; break;
        case O_ACK_WAIT:
            if (parse_num(cmd, flag_name, optarg, 1, 600000, &v) != 0) return 2;
            o->ack_wait_ms = (int)v; break;
        case O_READY_ON:
            if (strcmp(optarg, "journal") != 0 && strcmp(optarg, "chroma") != 0) {
                fprintf(stderr, "cluster-whisperer %s: --ready-on must be journal or chroma, got '%s'\n", cmd, optarg);
                return 2;
            }
            o->ready_on = optarg; break;
        case O_CLUSTER: {
            cw_error cerr;
            cw_error_clear(&cerr);
            if (cw_cluster_name_check(optarg, strlen(optarg), &cerr) != 0) {
                fprintf(stderr, "cluster-whisperer %s: --cluster: %s\n", cmd, cerr.msg);
                return 2;
            }
            o->cluster = optarg; break;
        }
        case O_DRY_RUN: o->dry_run = 1; break;
        case O_FORGET_BATCH:
            if (parse_num(cmd, flag_name, optarg, 1, 100000, &v) != 0) return 2;
            o->forget_batch = (size_t)v; break;
        case O_KIND: o->kind = optarg; break;
        case O_NAMESPACE: o->ns = optarg; break;
        case O_SERVER:
            if (strncmp(optarg, "http://", 7) != 0 && strncmp(optarg, "https://", 8) != 0) {
                fprintf(stderr, "cluster-whisperer %s: --server wants an http:// or https:// URL, got '%s'\n", cmd, optarg);
                return 2;
            }
            o->server = optarg; break;
        case O_JSON: o->json = 1; break;
        case O_EXPLAIN: o->explain = 1; break;
        case O_RANKING:
            if (strcmp(optarg, "hybrid") != 0 && strcmp(optarg, "vector") != 0 && strcmp(optarg, "lexical") != 0) {
                fprintf(stderr, "cluster-whisperer %s: --ranking must be hybrid, vector or lexical, got '%s'\n", cmd, optarg);
                return 2;
            }
            o->ranking = optarg; break;
        case 'n':
            if (parse_num(cmd, "n", optarg, 1, 100, &v) != 0) return 2;
            o->n_results = (size_t)v; break;
        case ':':
            fprintf(stderr, "cluster-whisperer %s: option '%s' needs a value\n", cmd, argv[optind - 1]);
            return 2;
        default:
            fprintf(stderr, "cluster-whisperer %s: unknown option '%s' (see --help)\n", cmd, argv[optind - 1]);
            return 2;
        }
    }

    /* after "--": what is left is positional, whatever it looks like */
    if (want_positional && o->positional == NULL && optind < argc)
        o->positional = argv[optind++];
    if (want_positional) {
        if (o->positional == NULL) {
            fprintf(stderr, "cluster-whisperer %s: missing %s (see --help)\n", cmd,
                    command == CW_CMD_SEARCH ? "QUERY" : command == CW_CMD_FORGET ? "NAME" : "FILE");
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "cluster-whisperer %s: unexpected argument '%s' (see --help)\n", cmd, argv[optind]);
        return 2;
    }
    /* Files named on the command line: unreadable ones stop us before
     * anything starts, in one line. */
    const struct { const char *flag, *path; } files[] = {
        { "chroma-ca-file", o->chroma_ca_file },
        { "chroma-token-file", o->chroma_token_file },
        { "auth-token-file", o->auth_token_file },
    };
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++)
        if (files[i].path != NULL && access(files[i].path, R_OK) != 0) {
            fprintf(stderr, "cluster-whisperer %s: --%s %s: %s\n", cmd, files[i].flag,
                    files[i].path, strerror(errno));
            return 2;
        }

    if (o->embedder == NULL) {
        const char *vk = getenv("VOYAGE_API_KEY"), *ok = getenv("OPENAI_API_KEY");
        if (vk != NULL && *vk != '\0')
            o->embedder = "voyage";
        else if (ok != NULL && *ok != '\0')
            o->embedder = "openai";
        else
            o->embedder = "local";
    }
    return 0;
}

int cw_options_begin(cw_options *o, unsigned command, int argc, char **argv,
                     void (*usage)(FILE *out), int level)
{
    int prc = parse(o, command, argc, argv);
    if (prc == 1) {
        usage(stdout);
        return 0;
    }
    if (prc != 0)
        return 2;
    cw_log_configure((cw_log_level)level, strcmp(o->log_format, "json") == 0 ? CW_LOG_JSON : CW_LOG_TEXT);
    return -1;
}

cw_embedder *cw_options_make_embedder(const cw_options *o, cw_error *err)
{
    if (strcmp(o->embedder, "local") == 0) {
        char dir[PATH_MAX];
        const char *model_dir = o->model_dir != NULL ? o->model_dir
                                                     : cw_local_default_model_dir(dir, sizeof dir);
        cw_local_options lo = { .threads = o->embed_threads,
                                .precision = (cw_local_precision)o->embed_precision };
        cw_embedder *e = cw_embedder_local_create(model_dir, &lo, err);
        if (e != NULL)
            cw_log(CW_LOG_INFO, "local model: %s", cw_embedder_local_describe(e));
        return e;
    }

    cw_remote_embedder_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.url = o->embed_url;
    cfg.model = o->embed_model;
    /* Nobody waits for an embedding past the request deadline: give up (and
     * answer 503 with the upstream's Retry-After) within 4/5 of it, keeping
     * the rest for the Chroma write, so a dead call never holds the batcher
     * longer than a request may wait. The backend default caps it (20 s). */
    if (o->request_deadline_ms > 0 && o->request_deadline_ms / 5 * 4 < EMBED_DEADLINE_CAP_MS) {
        cfg.deadline_ms = o->request_deadline_ms / 5 * 4;
        cfg.timeout_ms = cfg.deadline_ms;
    }
    if (strcmp(o->embedder, "voyage") == 0) {
        cfg.api_key = getenv("VOYAGE_API_KEY");
        if (cfg.api_key == NULL || *cfg.api_key == '\0') {
            cw_error_set(err, CW_E_CONFIG, "--embedder voyage needs VOYAGE_API_KEY in the environment");
            return NULL;
        }
        return cw_embedder_voyage_create(&cfg, err);
    }
    cfg.api_key = getenv("OPENAI_API_KEY");
    return cw_embedder_openai_create(&cfg, err);
}

cw_chroma *cw_options_make_chroma(const cw_options *o, cw_error *err)
{
    cw_chroma *c = NULL;
    char *from_file = NULL;
    cw_chroma_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.url = o->chroma_url;
    cfg.tenant = o->chroma_tenant;
    cfg.database = o->chroma_database;
    cfg.collection = o->collection;
    cfg.token = o->chroma_token;
    if (o->chroma_token_file != NULL) {
        from_file = cw_secret_read_file(o->chroma_token_file, err);
        if (from_file == NULL)
            goto out;
        cfg.token = from_file;
    }
    cfg.token_as_bearer = o->chroma_auth_header != NULL && strcmp(o->chroma_auth_header, "authorization") == 0;
    cfg.ca_file = o->chroma_ca_file;
    c = cw_chroma_create(&cfg, err);
out:
    cw_secret_free(from_file);
    return c;
}
