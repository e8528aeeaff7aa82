#include "options.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "cluster.h"
#include "cw_log.h"
#include "cw_secret.h"
#include "journal.h"

#define AT(field) .at = CW_FLAG_AT(cw_options, field)
#define END { .name = NULL }
#define MiB (1ull << 20)
#define GiB (1ull << 30)
#define TiB (1ull << 40)

static int check_cluster(const char *v, cw_error *err)
{
    return cw_cluster_name_check(v, strlen(v), err);
}

static int check_url(const char *v, cw_error *err)
{
    if (strncmp(v, "http://", 7) == 0 || strncmp(v, "https://", 8) == 0)
        return 0;
    return cw_error_set(err, CW_E_CONFIG, "'%s' is not an http:// or https:// URL", v);
}

static const char *const LOG_FORMATS[] = { "text", "json", NULL };
static const char *const EMBEDDERS[] = { "local", "voyage", "openai", NULL };
static const char *const RANKINGS[] = { "hybrid", "vector", "lexical", NULL };
static const char *const READY_ON[] = { "journal", "chroma", NULL };
/* token_as_bearer: 0 x-chroma-token, 1 authorization */
static const char *const AUTH_HEADERS[] = { "x-chroma-token", "authorization", NULL };
/* in cw_local_precision's order (a test checks it) */
static const char *const PRECISIONS[] = { "auto", "fp32", "bf16", "int8", NULL };

static const cw_flag SERVE_HTTP[] = {
    { .name = "host", .kind = CW_FLAG_STRING, .arg = "ADDR", .help = "address to listen on",
      AT(http.host) },
    { .name = "port", .kind = CW_FLAG_NUMBER, .arg = "N", .help = "port to listen on",
      .env = "PORT", .min = 0, .max = 65535, AT(http.port) },
    { .name = "admin-port", .kind = CW_FLAG_NUMBER, .arg = "N", .min = 0, .max = 65535,
      .help = "extra listener for /healthz /readyz /metrics only", .zero = "off",
      AT(http.admin_port) },
    { .name = "max-body", .kind = CW_FLAG_BYTES, .arg = "BYTES", .min = 2, .max = GiB,
      .help = "largest accepted body", AT(http.max_body) },
    { .name = "max-inflight-bytes", .kind = CW_FLAG_BYTES, .arg = "BYTES", .min = 1, .max = TiB,
      .help = "sync bodies in flight at once before 503", AT(http.max_inflight_bytes) },
    { .name = "connection-limit", .kind = CW_FLAG_NUMBER, .arg = "N", .min = 1, .max = 100000,
      .help = "concurrent sync requests before 503; probes keep a reserve",
      AT(http.connection_limit) },
    { .name = "connection-timeout", .kind = CW_FLAG_NUMBER, .arg = "S", .min = 1, .max = 3600,
      .help = "idle connection timeout in seconds", AT(http.connection_timeout_s) },
    { .name = "request-timeout-ms", .kind = CW_FLAG_NUMBER, .arg = "MS", .min = 100,
      .max = 600000, .help = "answer 503 + Retry-After past this", AT(http.request_deadline_ms) },
    { .name = "headers-timeout-ms", .kind = CW_FLAG_NUMBER, .arg = "MS", .min = 0, .max = 600000,
      .help = "a new connection's first request headers are due within this, else it is closed",
      .zero = "as later requests", AT(http.headers_timeout_ms) },
    { .name = "body-stall-timeout", .kind = CW_FLAG_NUMBER, .arg = "S", .min = 0, .max = 3600,
      .help = "a request body with no byte for this long is cut and its slot freed",
      .zero = "off", AT(http.body_stall_s) },
    { .name = "body-min-rate", .kind = CW_FLAG_BYTES, .arg = "BYTES", .min = 0, .max = GiB,
      .help = "bytes/s a body must average once --body-stall-timeout has passed, else it is cut",
      .zero = "off", AT(http.body_min_rate) },
    { .name = "max-handling-bytes", .kind = CW_FLAG_BYTES, .arg = "BYTES", .min = MiB, .max = TiB,
      .help = "estimated memory of the sync bodies being parsed at once (4 x body) before 503",
      AT(http.max_handling_bytes) },
    { .name = "drain-ms", .kind = CW_FLAG_NUMBER, .arg = "MS", .min = 0, .max = 600000,
      .help = "on SIGTERM, keep applying this long, then exit; the rest stays journaled "
              "(without a journal: answered 503)", AT(drain_ms) },
    END
};

static const cw_flag SERVE_JOURNAL[] = {
    { .name = "journal", .kind = CW_FLAG_STRING, .arg = "DIR", .env = "CW_JOURNAL",
      .help = "durable journal of accepted requests, or 'off': answers then wait for Chroma",
      .dflt = "$XDG_STATE_HOME or ~/.local/state: cluster-whisperer/journal", AT(journal) },
    { .name = "journal-max-bytes", .kind = CW_FLAG_BYTES, .arg = "BYTES", .min = MiB,
      .max = 1ull << 50, .help = "unapplied operations the journal holds before 503",
      AT(journal_max_bytes) },
    { .name = "ack-wait-ms", .kind = CW_FLAG_NUMBER, .arg = "MS", .min = 1, .max = 600000,
      .help = "with a journal: answer 200 if applied within this, else 202 accepted",
      AT(pipeline.ack_wait_ms) },
    { .name = "ready-on", .kind = CW_FLAG_CHOICE, .arg = "WHAT", .choices = READY_ON,
      .help = "what /readyz requires",
      .dflt = "journal with a journal, so no data is lost while Chroma is down; chroma "
              "without one",
      AT(ready_on) },
    END
};

static const cw_flag SERVE_OWN[] = {
    { .name = "auth-token-file", .kind = CW_FLAG_FILE, .arg = "FILE",
      .help = "sync and search require \"Authorization: Bearer <the token in FILE>\"; FILE is "
              "re-read when it changes or on SIGHUP; probes and /metrics stay open",
      .dflt = "no auth", AT(http.auth_token_file) },
    { .name = "cluster", .kind = CW_FLAG_STRING, .arg = "NAME", .check = check_cluster,
      .help = "the cluster of sync requests whose URL names none (a DNS-1123 label)",
      .dflt = "none, ids and documents exactly as the single-cluster reference's",
      AT(cluster) },
    { .name = "log-probes", .kind = CW_FLAG_SWITCH,
      .help = "also log /healthz, /readyz and /metrics requests", .dflt = "not logged",
      AT(http.log_probes) },
    END
};

static const cw_flag CHROMA[] = {
    { .name = "chroma-url", .kind = CW_FLAG_STRING, .arg = "URL", .env = "CHROMA_URL",
      .help = "Chroma server", AT(chroma.url) },
    { .name = "chroma-tenant", .kind = CW_FLAG_STRING, .arg = "NAME", .help = "Chroma tenant",
      AT(chroma.tenant) },
    { .name = "chroma-database", .kind = CW_FLAG_STRING, .arg = "NAME", .help = "Chroma database",
      AT(chroma.database) },
    { .name = "collection", .kind = CW_FLAG_STRING, .arg = "NAME", .help = "Chroma collection",
      AT(chroma.collection) },
    { .name = "chroma-token", .kind = CW_FLAG_STRING, .arg = "TOKEN", .env = "CHROMA_TOKEN",
      .help = "Chroma auth token; the environment variable is safer, ps cannot show it",
      .dflt = "none", AT(chroma.token) },
    { .name = "chroma-token-file", .kind = CW_FLAG_FILE, .arg = "FILE",
      .help = "read the Chroma auth token from FILE (e.g. a mounted Secret)",
      AT(chroma_token_file) },
    { .name = "chroma-auth-header", .kind = CW_FLAG_CHOICE_INDEX, .arg = "NAME",
      .choices = AUTH_HEADERS, .help = "how the token is sent (authorization: as Bearer)",
      AT(chroma.token_as_bearer) },
    { .name = "chroma-ca-file", .kind = CW_FLAG_FILE, .arg = "FILE",
      .help = "PEM CA bundle that verifies an https:// Chroma", .dflt = "the system's",
      AT(chroma.ca_file) },
    END
};

static const cw_flag EMBED[] = {
    { .name = "embedder", .kind = CW_FLAG_CHOICE, .arg = "NAME", .choices = EMBEDDERS,
      .help = "the embedding backend", .dflt = "voyage if VOYAGE_API_KEY is set, else openai if "
      "OPENAI_API_KEY is set, else local", AT(embedder) },
    { .name = "embed-url", .kind = CW_FLAG_STRING, .arg = "URL",
      .help = "embedding API base URL (voyage/openai; e.g. http://localhost:11434/v1)",
      .dflt = "the backend's", AT(remote.url) },
    { .name = "embed-model", .kind = CW_FLAG_STRING, .arg = "NAME", .help = "embedding model",
      .dflt = "voyage-4 for voyage, text-embedding-3-small for openai", AT(remote.model) },
    { .name = "model-dir", .kind = CW_FLAG_STRING, .arg = "DIR", .env = "CW_MODEL_DIR",
      .help = "local model directory",
      .dflt = "~/.local/share/cluster-whisperer/all-MiniLM-L6-v2", AT(model_dir) },
    { .name = "embed-threads", .kind = CW_FLAG_NUMBER, .arg = "N", .min = 1, .max = 1024,
      .help = "local model: threads that compute embeddings, in all", .zero = "every core",
      AT(local.threads) },
    { .name = "embed-precision", .kind = CW_FLAG_CHOICE_INDEX, .arg = "MODE",
      .choices = PRECISIONS, .help = "local model; auto: int8 with AVX-512 VNNI, else bf16 with "
      "AVX-512 BF16, else fp32", AT(local.precision) },
    END
};

static const cw_flag PIPE[] = {
    { .name = "batch-max", .kind = CW_FLAG_NUMBER, .arg = "N", .min = 1, .max = 4096,
      .help = "texts per embedding batch", AT(pipeline.batch_max) },
    { .name = "batch-linger-ms", .kind = CW_FLAG_NUMBER, .arg = "MS", .min = 0, .max = 10000,
      .help = "wait this long to coalesce concurrent requests", .zero = "no wait",
      AT(pipeline.batch_linger_ms) },
    { .name = "workers", .kind = CW_FLAG_NUMBER, .arg = "N", .min = 1, .max = 64,
      .help = "embedding worker threads", AT(pipeline.workers) },
    { .name = "queue-max", .kind = CW_FLAG_NUMBER, .arg = "N", .min = 1, .max = 1000000,
      .help = "queued requests before answering 503", AT(pipeline.queue_max) },
    END
};

static const cw_flag LOG[] = {
    { .name = "log-format", .kind = CW_FLAG_CHOICE, .arg = "FMT", .choices = LOG_FORMATS,
      .help = "the log lines on stderr (serve: one per request)", AT(log_format) },
    END
};

static const cw_flag SYNC_OWN[] = {
    { .name = "cluster", .kind = CW_FLAG_STRING, .arg = "NAME", .check = check_cluster,
      .help = "the cluster whose data the payload is (a DNS-1123 label)", .dflt = "none",
      AT(cluster) },
    END
};

static const cw_flag SEARCH_OWN[] = {
    { .short_name = 'n', .kind = CW_FLAG_NUMBER, .arg = "N", .min = 1, .max = 100,
      .help = "number of results", AT(n_results) },
    { .name = "kind", .kind = CW_FLAG_STRING, .arg = "KIND", .help = "only instances of this kind",
      AT(kind) },
    { .name = "namespace", .kind = CW_FLAG_STRING, .arg = "NS",
      .help = "only instances in this namespace", AT(ns) },
    { .name = "cluster", .kind = CW_FLAG_STRING, .arg = "NAME", .check = check_cluster,
      .help = "only instances of this cluster", .dflt = "every cluster", AT(cluster) },
    { .name = "ranking", .kind = CW_FLAG_CHOICE, .arg = "MODE", .choices = RANKINGS,
      .help = "how results are ranked", AT(ranking) },
    { .name = "json", .kind = CW_FLAG_SWITCH,
      .help = "print one JSON document: the query and every result with its stored text",
      AT(json) },
    { .name = "explain", .kind = CW_FLAG_SWITCH,
      .help = "show each ranking signal's contribution to every result's score", AT(explain) },
    END
};

static const cw_flag MCP_OWN[] = {
    { .name = "server", .kind = CW_FLAG_STRING, .arg = "URL", .check = check_url,
      .help = "answer from a running `serve` (its search API, e.g. http://localhost:3000) "
              "instead of Chroma and a model of our own", AT(server) },
    END
};

static const cw_flag FORGET_OWN[] = {
    { .name = "dry-run", .kind = CW_FLAG_SWITCH, .help = "count the cluster's documents, delete nothing",
      AT(dry_run) },
    { .name = "batch-max", .kind = CW_FLAG_NUMBER, .arg = "N", .min = 1, .max = 100000,
      .help = "ids per Chroma get and delete call", .zero = "Chroma's max batch size",
      AT(forget_batch) },
    END
};

static const cw_flag JOURNAL_OWN[] = {
    { .name = "journal", .kind = CW_FLAG_STRING, .arg = "DIR", .env = "CW_JOURNAL",
      .help = "the journal directory",
      .dflt = "$XDG_STATE_HOME or ~/.local/state: cluster-whisperer/journal", AT(journal) },
    { .name = "json", .kind = CW_FLAG_SWITCH, .help = "JSON output (status, dead-letters)",
      AT(json) },
    { .name = "limit", .kind = CW_FLAG_NUMBER, .arg = "N", .min = 1, .max = 1000000000,
      .help = "dead-letters: at most N", .zero = "all", AT(limit) },
    END
};

#define GROUPS(...) (const cw_flag *const[]){ __VA_ARGS__, NULL }
#define POSITIONAL(what) .positional = what, .positional_at = CW_FLAG_AT(cw_options, positional)

static const cw_flag_command COMMANDS[CW_CMD_COUNT] = {
    [CW_CMD_SERVE] = {
        .name = "serve",
        .usage = "usage: cluster-whisperer serve [OPTIONS]   (or: cw-serve [OPTIONS])\n\n"
                 "Receive the k8s-vectordb-sync controller's POST /api/v1/instances/sync,\n"
                 "embed each instance and keep Chroma in step. Probes: GET /healthz, /readyz;\n"
                 "Prometheus metrics: GET /metrics. Search (main port only):\n"
                 "GET /api/v1/instances/search?q=...&n=10&kind=&namespace=&cluster=&ranking=&explain=,\n"
                 "or POST it a JSON object; GET /api/v1/instances/ID for one instance.\n"
                 "Many clusters: POST /api/v1/instances/sync?cluster=NAME or\n"
                 "/api/v1/clusters/NAME/instances/sync (set in each controller's INSTANCES_ENDPOINT).\n",
        .groups = GROUPS(SERVE_HTTP, SERVE_JOURNAL, SERVE_OWN, CHROMA, EMBED, PIPE, LOG),
    },
    [CW_CMD_SYNC] = {
        .name = "sync",
        .usage = "usage: cluster-whisperer sync [OPTIONS] FILE|-\n\n"
                 "Apply a sync payload (the controller's JSON) to Chroma through the same\n"
                 "pipeline as `serve`: deletes, then upserts, embedding only changed texts.\n"
                 "With --cluster NAME, as `serve` stores a request of that cluster.\n",
        POSITIONAL("FILE"),
        .groups = GROUPS(SYNC_OWN, CHROMA, EMBED, PIPE, LOG),
    },
    [CW_CMD_SEARCH] = {
        .name = "search",
        .usage = "usage: cluster-whisperer search [OPTIONS] QUERY [OPTIONS]\n\n"
                 "Print the instances that best match QUERY: rank, score, cosine distance, id,\n"
                 "kind, namespace, name (and cluster, when results have one). Options may come\n"
                 "before or after QUERY; `--` ends them (for a QUERY that starts with '-').\n"
                 "Every cluster is searched unless --cluster names one.\n",
        POSITIONAL("QUERY"),
        .groups = GROUPS(SEARCH_OWN, CHROMA, EMBED, LOG),
    },
    [CW_CMD_MCP] = {
        .name = "mcp",
        .usage = "usage: cluster-whisperer mcp [OPTIONS]\n\n"
                 "Serve the Model Context Protocol (JSON-RPC 2.0, one message per line) on\n"
                 "stdin/stdout, with the tools search_instances (query, n, kind, namespace,\n"
                 "ranking, explain) and get_instance (id). Register it with an MCP client as\n"
                 "the command `cluster-whisperer mcp` (see README). Logs go to stderr.\n",
        .groups = GROUPS(MCP_OWN, CHROMA, EMBED, LOG),
    },
    [CW_CMD_FORGET] = {
        .name = "forget-cluster",
        .usage = "usage: cluster-whisperer forget-cluster [OPTIONS] NAME\n\n"
                 "Delete every document of cluster NAME (metadata cluster = NAME) from the\n"
                 "collection, in batches: a page of its ids, then a delete of those, until none\n"
                 "is left. Each batch stands on its own: an interrupted run is finished by\n"
                 "running it again. Documents of other clusters, and of none, are not touched.\n"
                 "Stop the cluster's controller first and let serve's journal drain\n"
                 "(`cluster-whisperer journal status`), or what it still applies comes back.\n",
        POSITIONAL("NAME"),
        .groups = GROUPS(FORGET_OWN, CHROMA, LOG),
    },
    [CW_CMD_JOURNAL] = {
        .name = "journal",
        .usage = "usage: cluster-whisperer journal status|dead-letters|requeue [OPTIONS]\n\n"
                 "Inspect serve's journal of accepted requests not yet applied to Chroma.\n"
                 "  status         operations waiting, their bytes and age, dead letters\n"
                 "  dead-letters   the operations refused for good, with the reason\n"
                 "  requeue        move the dead letters back to the journal to be applied again\n"
                 "                 (stop the server first; it applies them when started)\n",
        POSITIONAL("status, dead-letters or requeue"),
        .groups = GROUPS(JOURNAL_OWN),
    },
    [CW_CMD_VALIDATE] = {
        .name = "validate",
        .usage = "usage: cluster-whisperer validate [--] FILE|-\n\n"
                 "Check a sync payload (the body of POST /api/v1/instances/sync) with the\n"
                 "validator generated from schema/sync_payload.schema. Prints\n"
                 "`ok: N upserts, M deletes` (exit 0) or the issues as JSON, exactly as the\n"
                 "server's 400 answer (exit 1). `-` reads standard input.\n",
        POSITIONAL("FILE"),
        .groups = NULL,
    },
};

void cw_options_defaults(cw_options *o)
{
    memset(o, 0, sizeof *o);
    cw_http_config_defaults(&o->http);
    cw_pipeline_config_defaults(&o->pipeline);
    cw_chroma_config_defaults(&o->chroma);
    cw_remote_embedder_config_defaults(&o->remote);
    o->journal_max_bytes = CW_JOURNAL_DEFAULT_MAX_BYTES;
    o->drain_ms = 20000;
    o->log_format = "text";
    o->n_results = 10;
    o->ranking = "hybrid";
}

const cw_flag_command *cw_options_command(cw_command_id command)
{
    return &COMMANDS[command];
}

void cw_options_help(FILE *out, cw_command_id command)
{
    cw_options d;
    cw_options_defaults(&d);
    cw_flags_help(out, &COMMANDS[command], &d);
}

int cw_options_begin(cw_options *o, cw_command_id command, int argc, char **argv, int level)
{
    cw_options_defaults(o);
    int prc = cw_flags_parse(&COMMANDS[command], o, argc, argv, stderr);
    if (prc == 1) {
        cw_options_help(stdout, command);
        return 0;
    }
    if (prc != 0)
        return 2;
    cw_log_configure((cw_log_level)level, strcmp(o->log_format, "json") == 0 ? CW_LOG_JSON : CW_LOG_TEXT);
    return -1;
}

/* --embedder unset: voyage if VOYAGE_API_KEY is set, else openai if
 * OPENAI_API_KEY is, else local. */
static const char *embedder_name(const cw_options *o)
{
    const char *vk = getenv("VOYAGE_API_KEY"), *ok = getenv("OPENAI_API_KEY");
    if (o->embedder != NULL)
        return o->embedder;
    if (vk != NULL && *vk != '\0')
        return "voyage";
    if (ok != NULL && *ok != '\0')
        return "openai";
    return "local";
}

cw_embedder *cw_options_make_embedder(const cw_options *o, cw_error *err)
{
    const char *name = embedder_name(o);
    if (strcmp(name, "local") == 0) {
        char dir[PATH_MAX];
        const char *model_dir = o->model_dir != NULL ? o->model_dir
                                                     : cw_local_default_model_dir(dir, sizeof dir);
        cw_embedder *e = cw_embedder_local_create(model_dir, &o->local, err);
        if (e != NULL)
            cw_log(CW_LOG_INFO, "local model: %s", cw_embedder_local_describe(e));
        return e;
    }

    cw_remote_embedder_config cfg = o->remote;
    /* Nobody waits for an embedding past the request deadline: give up (and
     * answer 503 with the upstream's Retry-After) within 4/5 of it, keeping
     * the rest for the Chroma write, so a dead call never holds the batcher
     * longer than a request may wait. The backend's default caps it. */
    int deadline_ms = o->http.request_deadline_ms / 5 * 4;
    if (deadline_ms > 0 && deadline_ms < cfg.deadline_ms) {
        cfg.deadline_ms = deadline_ms;
        cfg.timeout_ms = deadline_ms;
    }
    if (strcmp(name, "voyage") == 0) {
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
    cw_chroma_config cfg = o->chroma;
    if (o->chroma_token_file != NULL) {
        from_file = cw_secret_read_file(o->chroma_token_file, err);
        if (from_file == NULL)
            goto out;
        cfg.token = from_file;
    }
    c = cw_chroma_create(&cfg, err);
out:
    cw_secret_free(from_file);
    return c;
}
