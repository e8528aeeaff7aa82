/* cw_chroma — a client for Chroma's v2 REST API over libcurl (DESIGN §8),
 * and the Chroma-backed cw_store.
 *
 * One cw_chroma talks to one collection (tenant/database/collection from the
 * config). It owns:
 *   - a locked pool of curl easy handles for collection calls (concurrent
 *     callers never share a handle; idle handles keep their connection),
 *   - a separate pool for the heartbeat, so a probe never waits behind a
 *     write and never competes with one for a connection,
 *   - the cached collection id and the server's max batch size.
 * It borrows nothing from the config after cw_chroma_create() returns.
 *
 * Process setup is the caller's job: call curl_global_init(CURL_GLOBAL_ALL)
 * once at process start, before any thread exists, and ignore SIGPIPE.
 * Every easy handle uses CURLOPT_NOSIGNAL, a connect timeout and a total
 * timeout.
 *
 * Writes (upsert, delete) are never cancelled: no progress or abort
 * callback, only the long write timeout (Chroma 1.0 wedges when a client
 * hangs up during an upsert).
 *
 * Thread-safety: every function may be called concurrently on one cw_chroma.
 *
 * Errors (cw_error, first error wins):
 *   CW_E_UNAVAILABLE  connection refused, timeout, Chroma 5xx (retry_after_s
 *                     set); Chroma answers 401/403 (it refuses our
 *                     credentials: nothing a request did, so nothing is
 *                     dead-lettered — cw_chroma_auth_refused() tells
 *                     readiness, and the work waits for a right token)
 *   CW_E_CONFIG       the collection holds vectors of another dimension;
 *                     the tenant/database is missing or the collection name
 *                     is refused by Chroma
 *   CW_E_INTERNAL     Chroma refused our request (4xx) — its message in one line;
 *                     an answer we cannot read
 *   CW_E_NOMEM        allocation failure
 * Chroma's "collection not found" (HTTP 404) on a collection call makes the
 * client recreate the collection once and retry that call once (a second
 * 404 is CW_E_UNAVAILABLE).
 *
 * Chroma 1.0 behaviours this relies on (measured against chromadb 3.0.3):
 *   - a call on a deleted collection id: 404 {"error":"NotFoundError",
 *     "message":"Collection [<id>] does not exists."}
 *   - a vector of another dimension (upsert or query): 400
 *     {"error":"InvalidArgumentError","message":"Collection expecting
 *     embedding with dimension of 3, got 4"} → CW_E_CONFIG
 *   - more records in one call than pre-flight-checks' max_batch_size: 500
 *     "too many SQL variables" (so every call is split to that size)
 *   - delete with an empty id list: 400 (so n == 0 makes no call)
 *   - a cosine collection gives back vectors within float rounding of what
 *     was written, not bit for bit (it keeps them normalized).
 */
#ifndef CW_CHROMA_H
#define CW_CHROMA_H

#include <stddef.h>

#include "cw_error.h"
#include "document.h"
#include "store.h"

typedef struct cw_chroma cw_chroma;

typedef struct cw_chroma_config {
    const char *url;          /* e.g. http://localhost:8000 (trailing slash fine); required */
    const char *tenant;       /* default "default_tenant" when NULL */
    const char *database;     /* default "default_database" when NULL */
    const char *collection;   /* default "instances" when NULL */
    long connect_timeout_ms;  /* default 2000 when <= 0 */
    long read_timeout_ms;     /* total timeout for create/get/query/count, default 15000 */
    long write_timeout_ms;    /* total timeout for upsert/delete, default 120000 */
    const char *token;        /* Chroma's auth token, NULL/"" for none; copied, never logged */
    int token_as_bearer;      /* 1: send it as "Authorization: Bearer T", 0: as "x-chroma-token: T" */
    const char *ca_file;      /* PEM CA bundle for an https:// url, NULL = the system's */
} cw_chroma_config;

/* Fill `cfg` with the defaults: url http://localhost:8000, the tenant,
 * database, collection and timeouts above, no token, the system's CAs. */
void cw_chroma_config_defaults(cw_chroma_config *cfg);

/* Copy the config; no network I/O. NULL with `err` set (CW_E_CONFIG for a
 * missing url, CW_E_NOMEM). */
CW_MUST_CHECK cw_chroma *cw_chroma_create(const cw_chroma_config *cfg, cw_error *err);

/* Free everything. NULL is fine. No call may be in flight. */
void cw_chroma_destroy(cw_chroma *c);

/* Chroma's last answer to us was 401 or 403 and no success came after it:
 * that status, else 0. Any thread; no I/O. */
long cw_chroma_auth_refused(cw_chroma *c);

/* The collection name in use (owned by `c`). */
const char *cw_chroma_collection_name(const cw_chroma *c);

/* GET /api/v2/heartbeat within `timeout_ms` (connect and total), on the
 * probe pool. 0 when Chroma answers 200; -1 with CW_E_UNAVAILABLE. */
CW_MUST_CHECK int cw_chroma_heartbeat(cw_chroma *c, long timeout_ms, cw_error *err);

/* Read the server's max batch size (GET /api/v2/pre-flight-checks), then
 * get-or-create the collection with cosine distance and cache its id.
 * Collection calls do this themselves when no id is cached yet. 0 or -1. */
CW_MUST_CHECK int cw_chroma_ensure_collection(cw_chroma *c, cw_error *err);

/* Force a smaller batch size than the server's (tests); 0 = the server's. */
void cw_chroma_set_max_batch(cw_chroma *c, size_t n);

/* Records per call: the forced size, else the server's (after
 * ensure_collection), else 1000. */
size_t cw_chroma_max_batch(cw_chroma *c);

/* Dimension of the vectors stored in the collection; *dim = 0 when the
 * collection has none yet or does not exist. 0 or -1. */
CW_MUST_CHECK int cw_chroma_dimension(cw_chroma *c, size_t *dim, cw_error *err);

/* Insert or replace docs[0..n) with vectors vecs[i*dim .. i*dim+dim).
 * Document = doc->text, id = doc->id, metadata = namespace, name, kind,
 * apiVersion, apiGroup, labels, source (CW_DOCUMENT_SOURCE), and cluster
 * when doc->cluster is set (no such key otherwise). Split into
 * calls of at most cw_chroma_max_batch() records, sent in order. A
 * non-finite vector value is refused (CW_E_INTERNAL) before any call.
 * n == 0 makes no call. 0 or -1 (earlier batches may have landed: retrying
 * is safe). */
CW_MUST_CHECK int cw_chroma_upsert(cw_chroma *c, const cw_document *docs, const float *vecs,
                                   size_t n, size_t dim, cw_error *err);

/* Delete ids[0..n); ids that are not stored are fine. n == 0 makes no call. */
CW_MUST_CHECK int cw_chroma_delete(cw_chroma *c, const char *const *ids, size_t n, cw_error *err);

/* One stored record. Every string is owned by the enclosing records and is
 * NULL when Chroma holds none; metadata fields are the DESIGN §4 keys. */
typedef struct cw_chroma_record {
    char *id;
    char *document;
    float *embedding;      /* `dim` floats of the enclosing records, or NULL */
    char *namespace;
    char *name;
    char *kind;
    char *api_version;
    char *api_group;
    char *labels;
    char *source;
    char *cluster;         /* metadata "cluster" when the writer stored one */
} cw_chroma_record;

typedef struct cw_chroma_records {
    cw_chroma_record *items;
    size_t len;
    size_t dim;            /* length of every embedding; 0 when none returned */
} cw_chroma_records;

/* Fetch the stored records among ids[0..n), with documents and metadata,
 * and with embeddings when `with_embeddings`. Ids not stored are simply
 * absent from `out`; the order is Chroma's, not the order of `ids`. A
 * record whose vector Chroma answers as nulls has embedding NULL. On
 * success `out` is owned by the caller (cw_chroma_records_free); on failure
 * `out` is zeroed and there is nothing to free. */
CW_MUST_CHECK int cw_chroma_get(cw_chroma *c, const char *const *ids, size_t n, int with_embeddings,
                                cw_chroma_records *out, cw_error *err);

/* Free the records and zero the struct. NULL and a zeroed struct are fine. */
void cw_chroma_records_free(cw_chroma_records *r);

/* Metadata equality filters; NULL fields filter nothing. */
typedef struct cw_chroma_filter {
    const char *kind;
    const char *ns;          /* metadata "namespace" */
    const char *cluster;     /* metadata "cluster" */
} cw_chroma_filter;

/* Every stored record (documents and metadata, no embeddings), at most
 * `max_records`, filtered like cw_chroma_query when `kind`/`ns` are not
 * NULL: pages of cw_chroma_max_batch() records by limit/offset, in
 * Chroma's order. Ownership of `out` as for cw_chroma_get. */
CW_MUST_CHECK int cw_chroma_scan(cw_chroma *c, const char *kind, const char *ns, size_t max_records,
                                 cw_chroma_records *out, cw_error *err);

/* cw_chroma_scan with every filter of `f` (may be NULL). */
CW_MUST_CHECK int cw_chroma_scan_where(cw_chroma *c, const cw_chroma_filter *f, size_t max_records,
                                       cw_chroma_records *out, cw_error *err);

/* One page of the ids `f` matches: at most `limit` (0: the max batch)
 * from `offset`, in Chroma's order, ids only (every other field NULL).
 * Ownership of `out` as for cw_chroma_get. */
CW_MUST_CHECK int cw_chroma_ids_where(cw_chroma *c, const cw_chroma_filter *f, size_t offset,
                                      size_t limit, cw_chroma_records *out, cw_error *err);

typedef struct cw_chroma_hit {
    char *id;
    double distance;       /* cosine distance: 0 = same direction */
    char *document;
    char *kind;
    char *namespace;
    char *name;
    char *cluster;         /* metadata "cluster" when the writer stored one */
} cw_chroma_hit;

typedef struct cw_chroma_hits {
    cw_chroma_hit *items;  /* nearest first */
    size_t len;
} cw_chroma_hits;

/* The n_results nearest records to vec[0..dim). `kind` and `ns`, when not
 * NULL, are equality filters on the metadata (both: $and). Ownership of
 * `out` as for cw_chroma_get. A vector of the wrong dimension gives
 * CW_E_CONFIG. */
CW_MUST_CHECK int cw_chroma_query(cw_chroma *c, const float *vec, size_t dim, size_t n_results,
                                  const char *kind, const char *ns, cw_chroma_hits *out,
                                  cw_error *err);

/* cw_chroma_query with every filter of `f` (may be NULL). */
CW_MUST_CHECK int cw_chroma_query_where(cw_chroma *c, const float *vec, size_t dim, size_t n_results,
                                        const cw_chroma_filter *f, cw_chroma_hits *out,
                                        cw_error *err);

/* Free the hits and zero the struct. NULL and a zeroed struct are fine. */
void cw_chroma_hits_free(cw_chroma_hits *h);

/* Number of records in the collection. 0 or -1. */
CW_MUST_CHECK int cw_chroma_count(cw_chroma *c, size_t *count, cw_error *err);

/* Delete the whole collection (tests and tooling) and forget its id.
 * A collection that does not exist is fine. 0 or -1. */
CW_MUST_CHECK int cw_chroma_delete_collection(cw_chroma *c, cw_error *err);

/* One line for /readyz and startup when the stored dimension differs from
 * the embedder's, e.g.
 *   collection 'instances' holds 1024-d vectors but the embedder makes
 *   384-d vectors: use the embedder that filled it, or another --collection
 * Returns 1 and writes the line into msg[0..cap) (truncated, always
 * NUL-terminated when cap > 0) when they differ; 0 (msg "") when they match
 * or the stored dimension is unknown (empty or missing collection, Chroma
 * unreachable). One GET on the probe pool, bounded by 2 s: fit for /readyz. */
int cw_chroma_check_dimension(cw_chroma *c, size_t embedder_dim, char *msg, size_t cap);

/* A cw_store (src/pipeline/store.h) over `c`, which it borrows: `c` must
 * outlive the store. get = one cw_chroma_get with embeddings; a record
 * whose vector is not `dim` floats or which has no document counts as not
 * found. NULL with `err` set (CW_E_NOMEM). */
CW_MUST_CHECK cw_store *cw_store_chroma_create(cw_chroma *c, cw_error *err);

#endif
