/* cw_document — a resource instance turned into what is stored in Chroma
 * (DESIGN §4, byte-for-byte the reference's instanceToDocument()).
 *
 *   text:  "<kind> <name> | namespace: <ns> | apiVersion: <apiVersion>"
 *          + " | labels: k1=v1, k2=v2"            if any labels
 *          + " | <annotation values joined by '. '>" if any annotations
 *   metadata: namespace, name, kind, apiVersion, apiGroup,
 *             labels ("k1=v1,k2=v2" or ""), source "resource-sync"
 *
 * In a cluster (cluster.h: why one collection with qualified ids), the
 * same document with three differences, and no other:
 *   id:       "<cluster>:<id>"
 *   text:     " | cluster: <cluster>" after the namespace part
 *   metadata: cluster "<cluster>" besides the keys above
 * Without a cluster (`cluster` NULL) every byte is the reference's.
 *
 * A cw_document owns every string in it (malloc'd); free with
 * cw_document_clear(). Label and annotation order is the payload's order.
 */
#ifndef CW_DOCUMENT_H
#define CW_DOCUMENT_H

#include <stddef.h>

#include "cw_error.h"
#include "sync_payload.h"   /* generated: cw_resource_instance */

#define CW_DOCUMENT_SOURCE "resource-sync"

typedef struct cw_document {
    char *id;
    char *text;
    char *namespace;
    char *name;
    char *kind;
    char *api_version;
    char *api_group;
    char *labels;        /* "k1=v1,k2=v2", "" when none */
    char *cluster;       /* the cluster's name, NULL for none (the reference's shape) */
} cw_document;

/* Fill `out` from `in` (borrowed; every string is copied). A NULL string
 * field (the parser never makes one) counts as "". Returns 0, or -1 with
 * `err` set (CW_E_NOMEM); on failure `out` is already cleared: nothing to
 * free. */
CW_MUST_CHECK int cw_document_from_instance(const cw_resource_instance *in,
                                            cw_document *out, cw_error *err);

/* The same, in `cluster` (a DNS-1123 label, checked by the caller; NULL =
 * no cluster: exactly cw_document_from_instance()). */
CW_MUST_CHECK int cw_document_from_instance_in(const cw_resource_instance *in,
                                               const char *cluster, cw_document *out,
                                               cw_error *err);

/* Deep copy `src` (borrowed) into `dst` (a NULL cluster stays NULL). Returns 0, or -1 with `err` set
 * (CW_E_NOMEM) and `dst` already cleared. */
CW_MUST_CHECK int cw_document_copy(const cw_document *src, cw_document *dst,
                                   cw_error *err);

/* Free the strings and zero the struct. NULL and a zeroed struct are fine. */
void cw_document_clear(cw_document *doc);

#endif
