/* cli options — every command's flags (DESIGN §9) as flag tables (flags.h),
 * the struct they parse into, and the factories that turn it into an
 * embedder and a Chroma client.
 *
 * The defaults are the libraries' own: cw_options_defaults() fills the
 * embedded configs from cw_http_config_defaults(),
 * cw_pipeline_config_defaults(), cw_chroma_config_defaults() and
 * cw_remote_embedder_config_defaults(); what only the CLI has (drain time,
 * result count, …) is set there too, once. The flags write straight into
 * those configs, so a command hands them on as they are.
 *
 * Strings in cw_options point into argv, the environment or static
 * defaults: borrowed, never freed. */
#ifndef CW_OPTIONS_H
#define CW_OPTIONS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "chroma.h"
#include "cw_error.h"
#include "embed_http.h"
#include "embed_local.h"
#include "embedder.h"
#include "flags.h"
#include "http_server.h"
#include "pipeline.h"

typedef enum cw_command_id {
    CW_CMD_SERVE,
    CW_CMD_SYNC,
    CW_CMD_SEARCH,
    CW_CMD_MCP,
    CW_CMD_FORGET,                /* forget-cluster */
    CW_CMD_JOURNAL,
    CW_CMD_VALIDATE,
    CW_CMD_COUNT
} cw_command_id;

typedef struct cw_options {
    /* the libraries' configs, defaults from their *_config_defaults() */
    cw_http_config http;          /* serve; search_*, default_cluster set by serve */
    cw_pipeline_config pipeline;  /* serve, sync; journal set by cw_app_open() */
    cw_chroma_config chroma;      /* token from --chroma-token / CHROMA_TOKEN */
    cw_remote_embedder_config remote;  /* voyage / openai: url, model */
    cw_local_options local;       /* the local model: threads, precision */
    /* serve */
    int drain_ms;
    const char *journal;          /* DIR, "off", or NULL = the default directory */
    uint64_t journal_max_bytes;
    const char *ready_on;         /* "journal", "chroma", or NULL = by journal */
    /* Chroma, beyond its config */
    const char *chroma_token_file;
    /* embedder */
    const char *embedder;         /* "local", "voyage", "openai"; NULL = by the API keys set */
    const char *model_dir;        /* NULL = cw_local_default_model_dir() */
    /* logging */
    const char *log_format;       /* "text" or "json" */
    /* search */
    size_t n_results;
    const char *kind;
    const char *ns;
    int json;                     /* --json: one JSON document on stdout (search, journal) */
    int explain;                  /* --explain: each signal's contribution */
    const char *ranking;          /* "hybrid", "vector", "lexical" */
    /* clusters (issue 14) */
    const char *cluster;          /* serve/sync: the cluster of requests that name none;
                                     search: only this cluster's instances (checked) */
    int dry_run;                  /* forget-cluster --dry-run: count only */
    size_t forget_batch;          /* forget-cluster --batch-max: ids per call (0: Chroma's) */
    /* mcp */
    const char *server;           /* --server URL: a running serve's search API; NULL = Chroma directly */
    /* journal */
    size_t limit;                 /* dead-letters: at most this many; 0 = all */
    /* the positional argument (search QUERY, sync FILE, forget-cluster NAME,
     * journal ACTION, validate FILE), before or after the options; after
     * "--" it may start with '-' */
    const char *positional;
} cw_options;

/* The defaults every command starts from (no environment read). */
void cw_options_defaults(cw_options *o);

/* The flag table of `command`. */
const cw_flag_command *cw_options_command(cw_command_id command);

/* What every command does first: fill the defaults, parse argv (argv[0]
 * is the command name) for `command`, print its --help when asked, set up
 * logging at `level` in the chosen format. Returns -1 to go on, else the
 * exit code (0 after --help, 2 after a usage error, printed in one line). */
int cw_options_begin(cw_options *o, cw_command_id command, int argc, char **argv, int level);

/* Print the whole --help of `command`: what its flag table renders. */
void cw_options_help(FILE *out, cw_command_id command);

/* Build the embedder the options name. NULL + err on failure (one line). */
cw_embedder *cw_options_make_embedder(const cw_options *o, cw_error *err);

/* Build the Chroma client (no I/O yet). NULL + err on failure. */
cw_chroma *cw_options_make_chroma(const cw_options *o, cw_error *err);

#endif
