/* cluster-whisperer mcp: a Model Context Protocol server over stdio
 * (src/mcp), so that an agent can call search_instances and get_instance.
 * It answers from Chroma with a model of its own (the flags of `search`),
 * or, with --server URL, from a running `serve`'s search API (no model
 * loaded here). stdout carries the protocol only; logs go to stderr. */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include <curl/curl.h>

#include "app.h"
#include "commands.h"
#include "cw_log.h"
#include "mcp.h"

int cw_cmd_mcp(int argc, char **argv)
{
    cw_options o;
    int early = cw_options_begin(&o, CW_CMD_MCP, argc, argv, CW_LOG_WARN);
    if (early >= 0)
        return early;
    signal(SIGPIPE, SIG_IGN);

    int rc = 1;
    cw_app app;
    memset(&app, 0, sizeof app);
    cw_mcp_remote *remote = NULL;
    cw_mcp *m = NULL;
    cw_mcp_backend backend;
    cw_error err;
    cw_error_clear(&err);
    int curl_ready = 0;

    if (o.server != NULL) {
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
            fprintf(stderr, "cluster-whisperer mcp: libcurl could not be initialised\n");
            goto out;
        }
        curl_ready = 1;
        remote = cw_mcp_remote_create(o.server, 30000);
        if (remote == NULL) {
            fprintf(stderr, "cluster-whisperer mcp: out of memory\n");
            goto out;
        }
        cw_mcp_backend_remote(&backend, remote);
    } else {
        /* Chroma may come up later: each tool call then says it is down */
        if (cw_app_open(&app, &o, 0, 0, &err) != 0) {
            fprintf(stderr, "cluster-whisperer mcp: %s\n", err.msg);
            goto out;
        }
        cw_mcp_backend_direct(&backend, app.chroma, app.embedder);
    }
    m = cw_mcp_create(&backend);
    if (m == NULL) {
        fprintf(stderr, "cluster-whisperer mcp: out of memory\n");
        goto out;
    }
    if (cw_mcp_serve(m, stdin, stdout) != 0) {
        fprintf(stderr, "cluster-whisperer mcp: cannot write to stdout\n");
        goto out;
    }
    rc = 0;
out:
    cw_mcp_destroy(m);
    cw_mcp_remote_destroy(remote);
    cw_app_close(&app);
    if (curl_ready)
        curl_global_cleanup();
    return rc;
}
