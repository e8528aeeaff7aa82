/* http_fixture — a real server stack for the contract tests, in process:
 *   mock embedding server (tests/support/mock_embedder.h)
 *   → openai embedder → pipeline → Chroma store → fault proxy → real Chroma
 *   and cw_http_server on 127.0.0.1, port 0, in front of the pipeline, with
 *   the search API on the same embedder and Chroma client.
 * Each fixture uses its own collection (t_http_<pid>_<n>), deleted on close.
 * Effects are read straight from Chroma (`direct`, not through the proxy).
 */
#ifndef CW_TEST_HTTP_FIXTURE_H
#define CW_TEST_HTTP_FIXTURE_H

#include <stddef.h>

#include "chroma.h"
#include "fault_proxy.h"
#include "http_client.h"
#include "http_server.h"
#include "mock_embedder.h"
#include "pipeline.h"

#define FX_DIM 8

typedef struct fx_opts {
    const char *chroma_url;     /* NULL: the ctest Chroma, through the fault proxy */
    size_t max_body;            /* 0: the server default */
    int request_deadline_ms;    /* 0: the server default */
    int with_admin;             /* 1: also start the admin listener */
    long embed_deadline_ms;     /* 0: 3000 (persistent upstream failures end fast) */
    unsigned connection_timeout_s; /* 0: the server default */
    size_t queue_max;           /* 0: the pipeline default */
    unsigned connection_limit;  /* 0: the server default */
    size_t max_inflight_bytes;  /* 0: the server default */
    unsigned search_limit;      /* 0: the server default */
    int headers_timeout_ms;     /* 0: the server default */
} fx_opts;

typedef struct fx {
    cw_mock_embedder *mock;
    cw_fault_proxy *proxy;      /* NULL when chroma_url was given */
    cw_embedder *embedder;
    cw_chroma *chroma;          /* what the server uses (through the proxy) */
    cw_chroma *direct;          /* what the tests read */
    cw_store *store;
    cw_pipeline *pipeline;
    cw_http_server *server;
    char base[64];              /* http://127.0.0.1:PORT */
    char admin[64];             /* admin listener base, "" when none */
    char collection[64];
    char *chroma_url;           /* malloc'd */
} fx;

/* Build the stack. 0, or -1 with the reason printed (fx_close() it anyway). */
int fx_open(fx *f, const fx_opts *o);

/* Shut down in the documented order and free; deletes the collection. */
void fx_close(fx *f);

/* The readiness callback the server gets: a Chroma heartbeat (1 s). */
int fx_ready(void *ctx, char *why, size_t cap);

/* The JSON of one Deployment instance `name` in namespace `ns`, with
 * label app=<name> (malloc'd). Its id is "<ns>/apps/v1/Deployment/<name>"
 * and its document text "Deployment <name> | namespace: <ns> |
 * apiVersion: apps/v1 | labels: app=<name>". */
char *fx_instance(const char *ns, const char *name);

/* printf into a malloc'd string. */
char *fx_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* 1 when `id` is stored in the fixture's collection, 0 when not, -1 on error. */
int fx_stored(fx *f, const char *id);

/* The stored document text of `id` (malloc'd), NULL when absent. */
char *fx_stored_text(fx *f, const char *id);

/* Records in the collection ((size_t)-1 on error). */
size_t fx_count(fx *f);

/* Pipeline stats snapshot (store_calls, embed_calls ...). */
cw_pipeline_stats fx_stats(fx *f);

/* Start / stop a Chroma of our own with contrib/chroma.sh in `dir`
 * (port 0: a free one). 0 on success. */
int fx_chroma_start(const char *dir, unsigned short port);
void fx_chroma_stop(const char *dir);

#endif
