/* cw_document — a resource instance turned into what is stored in Chroma
 * (DESIGN §4, byte-for-byte the reference's instanceToDocument()).
 *
 *   text:  "<kind> <name> | namespace: <ns> | apiVersion: <apiVersion>"
 *          + " | labels: k1=v1, k2=v2"            if any labels
 *          + " | <annotation values joined by '. '>" if any annotations
 *   metadata: namespace, name, kind, apiVersion, apiGroup,
 *             labels ("k1=v1,k2=v2" or ""), source "resource-sync"
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
} cw_document;

/* Fill `out` from `in` (borrowed; every string is copied). A NULL string
 * field (the parser never makes one) counts as "". Returns 0, or -1 with
 * `err` set (CW_E_NOMEM); on failure `out` is already cleared: nothing to
 * free. */
CW_MUST_CHECK int cw_document_from_instance(const cw_resource_instance *in,
                                            cw_document *out, cw_error *err);

/* Deep copy `src` (borrowed) into `dst`. Returns 0, or -1 with `err` set
 * (CW_E_NOMEM) and `dst` already cleared. */
CW_MUST_CHECK int cw_document_copy(const cw_document *src, cw_document *dst,
                                   cw_error *err);

/* Free the strings and zero the struct. NULL and a zeroed struct are fine. */
void cw_document_clear(cw_document *doc);

#endif
