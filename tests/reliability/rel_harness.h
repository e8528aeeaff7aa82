/* rel_harness — what the fault tests need to drive the real binary:
 *   - `cluster-whisperer serve` as a child process (main and admin ports,
 *     the mock embedder or any embedding URL, any Chroma URL, extra flags);
 *   - a comparison of two collections record by record (reading one id
 *     straight from Chroma is tests/support/cw_test_chroma.h);
 *   - payload builders and small HTTP helpers.
 * Everything malloc'd is the caller's unless a comment says otherwise.
 */
#ifndef CW_REL_HARNESS_H
#define CW_REL_HARNESS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "chroma.h"

#define REL_DIM 8     /* the mock's vector size in these tests */

typedef struct rel_server {
    pid_t pid;                /* 0 once stopped */
    unsigned short port;
    unsigned short admin_port;
    char base[64];            /* http://127.0.0.1:PORT */
    char admin[64];           /* http://127.0.0.1:ADMIN */
    char log[512];            /* its stdout+stderr */
} rel_server;

/* Start serve against `chroma_url`, collection `collection`, embedder
 * openai at `embed_url` (NULL: serve's default, the local model), with `extra` flags (NULL-terminated, may be NULL);
 * wait until /healthz answers. 0, or -1 with the reason printed. */
int rel_serve_start(rel_server *s, const char *chroma_url, const char *collection,
                    const char *embed_url, const char *const *extra);

/* Send `sig` and wait up to timeout_ms for the exit. Returns the exit code
 * (-1: killed after the timeout or died by a signal); *took_ms how long
 * from the signal to the exit. */
int rel_serve_stop(rel_server *s, int sig, int timeout_ms, int64_t *took_ms);

/* A Deployment instance JSON: id "<ns>/apps/v1/Deployment/<name>", labels
 * app=<name>, v=<version>. */
char *rel_instance(const char *ns, const char *name, int version);

/* The document text the server makes of rel_instance(ns, name, version). */
char *rel_instance_text(const char *ns, const char *name, int version);

char *rel_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* POST `json` to base + the sync path. Returns the status (0: network
 * error); *retry_after the Retry-After seconds (0: none); *took_ms. */
long rel_post(const char *base, const char *json, int *retry_after, int64_t *took_ms);

/* GET base+path: the status (0: network error); the body into *body when
 * not NULL (malloc'd). */
long rel_get(const char *base, const char *path, char **body);

/* The value of a plain (unlabelled) metric in base/metrics, -1 if absent. */
long rel_metric(const char *base, const char *name);

/* 1 when every record of `a` among ids[0..n) equals `b`'s (same ids
 * present, same document, metadata and embedding bit for bit); 0 with the
 * first difference printed; -1 when Chroma could not be read. */
int rel_same_records(cw_chroma *a, cw_chroma *b, const char *const *ids, size_t n);

#endif
