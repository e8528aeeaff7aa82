/* lg_payload — the bodies a k8s-vectordb-sync controller POSTs to
 * /api/v1/instances/sync, made up for load tests (cw-loadgen, and the
 * benchmark's own tools that must send the very same instances).
 *
 * An instance is named by (run, client, seq): `run` is a short token unique
 * to one load run (lower-case letters and digits), `client` the simulated
 * controller, `seq` its instance counter. The same triple always gives the
 * same instance, byte for byte (an initial sync re-sent unchanged is the
 * same body); different triples give different ids.
 *
 * What the instances look like (as the controller sends them):
 *   - kinds from a fixed mix: Deployment, Service, ConfigMap, StatefulSet,
 *     Ingress, CronJob, a CNPG Cluster, and cluster-scoped Namespace, Node
 *     and CustomResourceDefinition (namespace "_cluster");
 *   - id `namespace/apiVersion/Kind/name`, apiGroup "" for the core group;
 *   - app.kubernetes.io labels, or `"labels":null` (a Go nil map) for some;
 *   - a `description` annotation, or `"annotations":null` for some;
 *   - createdAt as the controller formats it: `YYYY-MM-DDTHH:MM:SSZ` (UTC);
 *   - upsert batches carry `"deletes":null`, a delete carries
 *     `"upserts":null` and exactly one id (Go nil slices).
 *
 * Every function returns a malloc'd NUL-terminated string owned by the
 * caller (free()), or NULL when out of memory (or for bad arguments).
 * Thread-safe: no shared state.
 */
#ifndef LG_PAYLOAD_H
#define LG_PAYLOAD_H

#include <stddef.h>

/* Longest `run` token accepted (without the NUL). */
#define LG_RUN_MAX 32

/* {"upserts":[ n instances (run, client, first_seq .. first_seq+n-1) ],
 *  "deletes":null}. n == 0 gives "upserts":[]. `*len` (when not NULL)
 * receives the length. NULL when `run` is empty, longer than LG_RUN_MAX or
 * holds other than [a-z0-9], or on out of memory. */
char *lg_payload_upserts(const char *run, unsigned client, unsigned long first_seq, size_t n,
                         size_t *len);

/* {"upserts":null,"deletes":["<id of (run, client, seq)>"]}. NULL as above. */
char *lg_payload_delete(const char *run, unsigned client, unsigned long seq, size_t *len);

/* The id of instance (run, client, seq), malloc'd. NULL as above. */
char *lg_instance_id(const char *run, unsigned client, unsigned long seq);

/* 1 when `run` is a usable run token, 0 otherwise. */
int lg_run_valid(const char *run);

#endif
