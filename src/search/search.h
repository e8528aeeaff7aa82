/* cw_search — hybrid ranking of stored instances for a query: what the
 * `search` CLI, the server's search API and the MCP server answer with.
 *
 * Signals, each shown by --explain:
 *   vector    cosine similarity of the query's embedding to the record's
 *             (Chroma's nearest neighbours), weight CW_SEARCH_W_VECTOR
 *   lexical   BM25 (k1 1.2, b 0.75) of the query's terms in the stored
 *             text, names split on - . _ / and CamelCase kinds split, plural
 *             forms folded; divided by the sum of the query words' idf
 *             (about 1 for a record holding each word once), capped at 1
 *             in hybrid ranking, weight CW_SEARCH_W_LEXICAL
 *             A word for a family of products ("databases", "queue",
 *             "cache", "monitoring"...) also finds records that name one of
 *             its products (postgres, kafka, redis, prometheus...), each
 *             occurrence counting CW_SEARCH_W_RELATED of the word itself
 *   kind      the query names a kind ("which StatefulSets", "cron jobs",
 *             "PDB", "ingresses"): records of that kind get CW_SEARCH_W_KIND
 *   scope     the query names a namespace or a team (label team/owner):
 *             records in it get CW_SEARCH_W_SCOPE
 *   workload  the query names no kind: records that run something
 *             (Deployment, StatefulSet, DaemonSet, CronJob, Job) get
 *             CW_SEARCH_W_WORKLOAD, ahead of their own Service, ConfigMap
 *             or PodDisruptionBudget
 * Ties are broken by id, so the order is deterministic for a given corpus
 * and vector answer.
 *
 * Ownership: cw_search_rank() borrows its inputs; the results own copies
 * of every string (cw_search_results_free). On failure the results are
 * already released (zeroed). */
#ifndef CW_SEARCH_H
#define CW_SEARCH_H

#include <stddef.h>

#include "chroma.h"
#include "cw_error.h"
#include "embedder.h"

#define CW_SEARCH_W_VECTOR  1.0
#define CW_SEARCH_W_LEXICAL 0.35
#define CW_SEARCH_W_KIND    0.25
#define CW_SEARCH_W_SCOPE   0.15
#define CW_SEARCH_W_WORKLOAD 0.04
#define CW_SEARCH_W_RELATED 0.5

#define CW_SEARCH_MAX_N        100      /* results per query */
#define CW_SEARCH_MAX_QUERY    1024     /* bytes of query text */
#define CW_SEARCH_MAX_CORPUS   200000   /* records scanned for lexical scoring */
#define CW_SEARCH_VECTOR_POOL  1000     /* nearest neighbours asked of Chroma */

typedef enum cw_search_mode {
    CW_SEARCH_HYBRID = 0,
    CW_SEARCH_VECTOR,
    CW_SEARCH_LEXICAL,
} cw_search_mode;

/* "hybrid", "vector", "lexical" → mode; -1 for anything else. */
int cw_search_mode_parse(const char *s);
const char *cw_search_mode_name(cw_search_mode m);

typedef struct cw_search_result {
    char *id;
    char *cluster;         /* the stored metadata "cluster", or NULL */
    char *namespace;
    char *kind;
    char *name;
    char *document;
    double distance;       /* cosine distance; -1 when not a vector candidate */
    double score;          /* sum of the parts below */
    size_t vector_rank;    /* 1-based among the vector candidates; 0 = none */
    double vector_part;
    size_t lexical_rank;   /* 1-based among records sharing a term; 0 = none */
    double bm25;
    double lexical_part;
    double kind_part;
    double scope_part;
    double workload_part;
} cw_search_result;

typedef struct cw_search_results {
    cw_search_result *items;   /* best first */
    size_t len;
    char *intent_kind;         /* the kind the query names, or NULL */
    char *intent_scope;        /* the namespace or team it names, or NULL */
} cw_search_results;

/* Rank `corpus` (every stored record; documents and metadata) for `query`
 * in `mode`, given Chroma's nearest neighbours `vhits` (nearest first; may
 * be NULL/empty in lexical mode), and keep the best `n`. In vector mode the
 * order is exactly Chroma's. A record of `vhits` missing from the corpus is
 * still ranked (from the hit's own fields). 0, or -1 with CW_E_NOMEM. */
CW_MUST_CHECK int cw_search_rank(const cw_chroma_records *corpus, const cw_chroma_hits *vhits,
                                 const char *query, cw_search_mode mode, size_t n,
                                 cw_search_results *out, cw_error *err);

typedef struct cw_search_request {
    const char *query;     /* non-empty, at most CW_SEARCH_MAX_QUERY bytes */
    size_t n;              /* 1..CW_SEARCH_MAX_N */
    const char *kind;      /* equality filter or NULL */
    const char *ns;        /* equality filter or NULL */
    cw_search_mode mode;
    int explain;           /* the answer shows each signal's contribution */
} cw_search_request;

/* n 10, hybrid, everything else empty. */
void cw_search_request_init(cw_search_request *req);

/* One parameter of a URL query string, decoded: `key` is q (or query), n,
 * kind, namespace, ranking or explain (true/false/1/0; empty = true);
 * `value[0..value_len)` must be UTF-8 without NUL (value_len is the
 * decoded length, so an embedded NUL is seen). `seen` (0 at first) catches
 * a parameter given twice. Strings are borrowed. 0, or -1 with
 * CW_E_INVALID and one line naming the parameter. Check the whole request
 * with cw_search_request_check() after the last one. */
CW_MUST_CHECK int cw_search_request_param(cw_search_request *req, unsigned *seen, const char *key,
                                          const char *value, size_t value_len, cw_error *err);

/* The request a JSON object asks for: {"query":S (or "q"), "n":INT,
 * "kind":S, "namespace":S, "ranking":S, "explain":BOOL}; only "query" is
 * required, null reads as absent, any other key is an error. Strings are
 * borrowed from `obj`. Runs cw_search_request_check(). 0, or -1 with
 * CW_E_INVALID and one line naming the parameter. */
struct json_object;
CW_MUST_CHECK int cw_search_request_from_json(cw_search_request *req, struct json_object *obj,
                                              cw_error *err);

/* Check a request's bounds: 0, or -1 with CW_E_INVALID and a one-line
 * message naming the parameter ("q", "n", "kind", "namespace"). */
CW_MUST_CHECK int cw_search_request_check(const cw_search_request *req, cw_error *err);

/* Scan the collection (lexical), embed the query and ask Chroma for its
 * nearest neighbours (vector), rank. Borrows `c` and `e` (thread-safe
 * calls only). 0 or -1 with err (Chroma and embedder errors as theirs). */
CW_MUST_CHECK int cw_search_run(cw_chroma *c, cw_embedder *e, const cw_search_request *req,
                                cw_search_results *out, cw_error *err);

/* One JSON document:
 * {"query":Q,"ranking":"hybrid","results":[{"rank":1,"id":..,"cluster":C|null,"namespace":..,
 *  "kind":..,"name":..,"distance":D|null,"score":S,"document":..}...]}
 * with, when `explain`, "intent":{"kind":K|null,"scope":S|null} and per
 * result "explain":{"vector":{"rank":R|null,"similarity":..,"contribution":..},
 * "lexical":{"rank":R|null,"bm25":..,"contribution":..},"kind":..,"scope":..,
 * "workload":..}.
 * Numbers with 4 decimals (deterministic). malloc'd, or NULL (no memory). */
char *cw_search_results_json(const char *query, cw_search_mode mode, const cw_search_results *r,
                             int explain);

void cw_search_results_free(cw_search_results *r);

#define CW_SEARCH_MAX_ID 2048   /* bytes of an instance id (the payload's own bound) */

/* The stored record of instance `id` (one Chroma get): on success out->len
 * is 0 (not stored) or at least 1 with out->items[0] the record; free with
 * cw_chroma_records_free. -1 with err: CW_E_INVALID for an empty, too long
 * or non-UTF-8 id, else Chroma's error. */
CW_MUST_CHECK int cw_search_get(cw_chroma *c, const char *id, cw_chroma_records *out, cw_error *err);

/* {"id":..,"cluster":C|null,"namespace":..,"kind":..,"name":..,
 *  "apiVersion":..,"apiGroup":..,"labels":"k=v,..","document":..}
 * (absent metadata as null), malloc'd, or NULL (no memory). */
char *cw_search_instance_json(const cw_chroma_record *r);

#endif
