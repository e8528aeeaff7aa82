/* cw_mcp — a Model Context Protocol server: what `cluster-whisperer mcp`
 * runs, so that an agent (Claude Desktop, Claude Code, Cursor, any MCP
 * client) can search the stored instances.
 *
 * Transport: stdio. One JSON-RPC 2.0 message per line on stdin, one answer
 * per line on stdout (UTF-8, no embedded newline); nothing else is ever
 * written to stdout (logs go to stderr). A line longer than
 * CW_MCP_MAX_MESSAGE bytes is answered as a parse error and skipped.
 *
 * Protocol (MCP 2025-06-18; also 2025-03-26 and 2024-11-05):
 *   initialize                  version negotiation: the client's
 *                               protocolVersion when supported, else the
 *                               latest; capabilities {"tools":{"listChanged":false}}
 *   notifications/initialized   (and every other notification) no answer
 *   ping                        {}
 *   tools/list                  search_instances, get_instance, each with a
 *                               JSON Schema of its arguments
 *   tools/call                  {"content":[{"type":"text","text":JSON}],
 *                               "structuredContent":{...},"isError":false};
 *                               a failure of the search itself (Chroma
 *                               down...) is a result with "isError":true
 * Errors are JSON-RPC error objects, never a crash or silence:
 *   -32700 parse error      not JSON, not UTF-8, nested deeper than 8, too long
 *   -32600 invalid request  not an object, a batch, "jsonrpc" not "2.0",
 *                           id neither string nor integer, method not a string,
 *                           params neither object nor array
 *   -32601 method not found
 *   -32602 invalid params   params not an object, unknown tool, bad arguments
 *                           (the message names the argument)
 * Messages that are answers (result/error, no method) are ignored: this
 * server sends no requests.
 *
 * Threads: one; a cw_mcp is not shared. */
#ifndef CW_MCP_H
#define CW_MCP_H

#include <stddef.h>
#include <stdio.h>

#include "cw_error.h"
#include "search.h"

#define CW_MCP_MAX_MESSAGE (1024 * 1024)
#define CW_MCP_PROTOCOL_LATEST "2025-06-18"

/* Where the tools get their answers: the search module on Chroma directly
 * (cw_mcp_backend_direct) or a running server's search API
 * (cw_mcp_backend_remote). Each call fills *json_out with a malloc'd JSON
 * object text the caller frees: search → cw_search_results_json's shape,
 * get → cw_search_instance_json's shape, or NULL when the id is not stored
 * (rc 0). -1 with err on failure (its message goes to the agent). */
typedef struct cw_mcp_backend {
    int (*search)(void *ctx, const cw_search_request *req, char **json_out, cw_error *err);
    int (*get)(void *ctx, const char *id, char **json_out, cw_error *err);
    void *ctx;
} cw_mcp_backend;

typedef struct cw_mcp cw_mcp;

/* `backend` is copied; its ctx is borrowed until destroy. NULL on OOM. */
CW_MUST_CHECK cw_mcp *cw_mcp_create(const cw_mcp_backend *backend);
void cw_mcp_destroy(cw_mcp *m);   /* NULL-safe */

/* Handle one message msg[0..len) (need not be NUL-terminated). Returns the
 * answer (malloc'd, NUL-terminated, no newline), or NULL when none is due
 * (a notification, an answer). Out of memory also gives NULL. */
char *cw_mcp_handle(cw_mcp *m, const char *msg, size_t len);

/* Read messages from `in` until end of input, answer each on `out`
 * (flushed per line). 0 at end of input, -1 when `out` fails. */
int cw_mcp_serve(cw_mcp *m, FILE *in, FILE *out);

/* The direct backend: cw_search_run / cw_search_get on `chroma` with
 * `embedder` (both borrowed). */
void cw_mcp_backend_direct(cw_mcp_backend *b, cw_chroma *chroma, cw_embedder *embedder);

/* The remote backend: POST {url}/api/v1/instances/search and
 * GET {url}/api/v1/instances/ID of a running `cluster-whisperer serve`.
 * NULL on OOM; free with cw_mcp_remote_destroy. Needs curl_global_init. */
typedef struct cw_mcp_remote cw_mcp_remote;
CW_MUST_CHECK cw_mcp_remote *cw_mcp_remote_create(const char *url, long timeout_ms);
void cw_mcp_remote_destroy(cw_mcp_remote *r);
void cw_mcp_backend_remote(cw_mcp_backend *b, cw_mcp_remote *r);

#endif
