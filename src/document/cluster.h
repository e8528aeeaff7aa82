/* cw_cluster — which cluster a document belongs to, and how that shows in
 * what is stored (issue 14: many clusters into one server).
 *
 * The controller (one per cluster) sends ids like
 * `default/apps/v1/Deployment/nginx`, the same in every cluster, and no
 * cluster name; the operator names the cluster in the controller's
 * endpoint URL (`?cluster=NAME` or `/api/v1/clusters/NAME/instances/sync`)
 * or with `serve --cluster NAME`.
 *
 * Storage layout: ONE collection, cluster-qualified ids. A document of
 * cluster NAME is stored under the id `NAME:<id>`, with metadata
 * `cluster: NAME` and the text naming the cluster; a document of no
 * cluster is stored exactly as the reference stores it (same id, text and
 * metadata, no `cluster` key). Why one collection and not one per cluster:
 *   - search across all clusters is one Chroma query and one scan, ranked
 *     on one index with one set of BM25 statistics; per-cluster
 *     collections would need a query per cluster and a merge of distances
 *     from different HNSW indexes. One cluster is a metadata filter
 *     (`where: {"cluster": NAME}`), which Chroma applies in the query.
 *   - the pipeline stays one ordered writer over one store: a batch that
 *     mixes clusters is still one get (the skip-unchanged lookup of the
 *     batch's ids), one delete and one upsert, instead of one of each per
 *     cluster in the batch (Chroma's throughput is per call: ~1,100 docs/s
 *     in 100-doc batches from one writer, far less in small ones).
 *   - ordering, coalescing and skip-unchanged are keyed by the stored id,
 *     so qualifying the id makes them per (cluster, id) with no other
 *     change: two clusters never share a per-id order.
 *   - Chroma's limits: every collection is its own HNSW index, segment
 *     files and compaction work, and Chroma 1.0 wants collection names of
 *     3-63 characters ("instances-" + a 63-character cluster name does not
 *     fit), and each collection's id would need caching and recreating.
 *   - the cost: deleting a cluster is not a collection drop but a batched
 *     get-by-metadata + delete-by-ids (`cluster-whisperer forget-cluster`),
 *     which is resumable since each batch is final on its own.
 *
 * Names: a DNS-1123 label (1-63 characters of a-z, 0-9 and '-', starting
 * and ending with a letter or digit), so a name never holds ':' and
 * `NAME:<id>` splits at its first ':' — qualification is injective. An id
 * of NO cluster that itself starts with `<label>:` would read as another
 * cluster's id (and overwrite or delete it), so such ids are refused in
 * requests of no cluster (cw_cluster_id_is_qualified). The controller
 * never sends one: its ids start with a namespace (a DNS-1123 label) or
 * `_cluster`, neither of which holds ':'.
 *
 * Pure functions; any thread.
 */
#ifndef CW_CLUSTER_H
#define CW_CLUSTER_H

#include <stddef.h>

#include "cw_error.h"
#include "schema_rt.h"
#include "sync_payload.h"

#define CW_CLUSTER_NAME_MAX 63
#define CW_CLUSTER_SEP ':'
/* The longest stored id: a name, the separator, the payload's 2048 bytes. */
#define CW_CLUSTER_ID_MAX (CW_CLUSTER_NAME_MAX + 1 + 2048)

/* The issue code of an id refused in a request of no cluster. */
#define CW_ISSUE_QUALIFIED_ID "cluster_qualified_id"

/* Check name[0..len) (need not be NUL-terminated; a NUL inside is a bad
 * character). 0 when it is a DNS-1123 label, else -1 with CW_E_INVALID
 * and one line saying what is wrong, e.g.
 *   cluster name 'Prod' is not a DNS-1123 label: 'P' at position 1 (only a-z, 0-9 and '-')
 * The name is quoted only when it is printable ASCII of at most 63 bytes
 * (it comes from the client and goes back in a JSON answer). */
CW_MUST_CHECK int cw_cluster_name_check(const char *name, size_t len, cw_error *err);

/* The stored id of `id` in `cluster`: "cluster:id", or a copy of `id`
 * when `cluster` is NULL. malloc'd; NULL when out of memory. */
char *cw_cluster_qualify(const char *cluster, const char *id);

/* 1 when `id` starts with a DNS-1123 label and ':' (the shape of a
 * cluster-qualified id), else 0. */
int cw_cluster_id_is_qualified(const char *id);

/* The cluster of a stored id: the length of its name when `id` is
 * qualified (id[0..len) is the name, the rest after the ':' the
 * controller's id), else 0. */
size_t cw_cluster_of_id(const char *id);

/* For a request of no cluster (`cluster` NULL): add an issue (code
 * CW_ISSUE_QUALIFIED_ID, path ["upserts",i,"id"] or ["deletes",i]) to
 * `issues` for every id of `payload` that is cluster-qualified. Returns
 * the number of such ids (0: nothing added; always 0 when `cluster` is
 * set). `issues` is not cleared first. */
size_t cw_cluster_payload_issues(const cw_sync_payload *payload, const char *cluster,
                                 cw_issues *issues);

#endif
