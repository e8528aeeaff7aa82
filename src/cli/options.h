/* cli options — the flags shared by serve, sync, search and mcp (DESIGN §9),
 * with their environment fallbacks and defaults, and the factories that
 * turn them into an embedder and a Chroma client.
 *
 * Strings in cw_options point into argv, the environment or static
 * defaults: borrowed, never freed. */
#ifndef CW_OPTIONS_H
#define CW_OPTIONS_H

#include <stddef.h>
#include <stdio.h>

#include "chroma.h"
#include "cw_error.h"
#include "embedder.h"

enum {
    CW_CMD_SERVE  = 1u << 0,
    CW_CMD_SYNC   = 1u << 1,
    CW_CMD_SEARCH = 1u << 2,
    CW_CMD_MCP    = 1u << 3,
    CW_CMD_FORGET = 1u << 4,      /* forget-cluster */
};

typedef struct cw_options {
    /* HTTP (serve) */
    const char *host;
    unsigned port;
    unsigned admin_port;          /* 0 = none */
    size_t max_body;
    unsigned connection_limit;    /* sync requests at once */
    size_t max_inflight_bytes;    /* sync bodies in flight at once */
    unsigned connection_timeout_s;
    int request_deadline_ms;
    int headers_timeout_ms;       /* a new connection's first request headers; 0 = as later ones */
    unsigned body_stall_s;        /* a body with no byte this long is cut; 0 = off */
    size_t body_min_rate;         /* bytes/s a body must average after body_stall_s; 0 = off */
    size_t max_handling_bytes;    /* estimated memory of sync requests being handled at once */
    int drain_ms;
    /* Chroma */
    const char *chroma_url;
    const char *chroma_tenant;
    const char *chroma_database;
    const char *collection;
    const char *chroma_token;     /* env CHROMA_TOKEN; secret: never printed */
    const char *chroma_token_file;
    const char *chroma_auth_header; /* "x-chroma-token" (default) or "authorization" */
    const char *chroma_ca_file;
    /* our own endpoint (serve) */
    const char *auth_token_file;  /* sync and search want "Authorization: Bearer <its token>" */
    /* embedder */
    const char *embedder;         /* "local", "voyage", "openai" */
    const char *embed_url;        /* NULL = the backend's default */
    const char *embed_model;      /* NULL = the backend's default */
    const char *model_dir;        /* NULL = cw_local_default_model_dir() */
    /* pipeline */
    size_t batch_max;
    int batch_linger_ms;
    size_t embed_threads;         /* local model: 0 = every core */
    int embed_precision;          /* cw_local_precision; 0 = auto */
    size_t workers;
    size_t queue_max;
    /* journal (serve) */
    const char *journal;          /* DIR, "off", or NULL = the default directory */
    unsigned long long journal_max_bytes;
    int ack_wait_ms;
    const char *ready_on;         /* "journal", "chroma", or NULL = by journal */
    /* logging */
    const char *log_format;       /* "text" or "json" */
    int log_probes;               /* serve: log /healthz /readyz /metrics requests too */
    /* search */
    size_t n_results;
    const char *kind;
    const char *ns;
    int json;                     /* --json: one JSON document on stdout */
    int explain;                  /* --explain: each signal's contribution */
    const char *ranking;          /* "hybrid" (default), "vector", "lexical" */
    /* clusters (issue 14) */
    const char *cluster;          /* serve/sync: the cluster of requests that name none;
                                     search: only this cluster's instances (checked) */
    int dry_run;                  /* forget-cluster --dry-run: count only */
    size_t forget_batch;          /* forget-cluster --batch-max: ids per call (0: Chroma's) */
    /* mcp */
    const char *server;           /* --server URL: a running serve's search API; NULL = Chroma directly */
    /* the positional argument (search QUERY, sync FILE, forget-cluster NAME), before or after
     * the options; after "--" it may start with '-' */
    const char *positional;
} cw_options;

/* What every command does first: parse argv (argv[0] is the command name)
 * for `command` (one CW_CMD_*), print `usage` for --help, set up logging at
 * `level` in the chosen format. Returns -1 to go on, else the
 * exit code (0 after --help, 2 after a usage error). */
int cw_options_begin(cw_options *o, unsigned command, int argc, char **argv,
                     void (*usage)(FILE *out), int level);

/* Print the option list for `command`. */
void cw_options_help(FILE *out, unsigned command);

/* Build the embedder the options name. NULL + err on failure (one line). */
cw_embedder *cw_options_make_embedder(const cw_options *o, cw_error *err);

/* Build the Chroma client (no I/O yet). NULL + err on failure. */
cw_chroma *cw_options_make_chroma(const cw_options *o, cw_error *err);

#endif
