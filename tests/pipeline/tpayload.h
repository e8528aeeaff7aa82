/* Hand-built sync payloads for the pipeline tests, every string on the heap
 * (so ASan sees any use after the caller freed its payload).
 *
 * Spec: space-separated ops in payload order, "-id" a delete, "+id" an
 * upsert named `id`, "+id:name" an upsert named `name`. Deletes and upserts
 * go to their own lists, each in spec order. */
#ifndef CW_TEST_TPAYLOAD_H
#define CW_TEST_TPAYLOAD_H

#include "sync_payload.h"

cw_sync_payload *tp_new(const char *spec);
void tp_free(cw_sync_payload *p);

/* The document text of an upsert named `name` (static buffer). */
const char *tp_text(const char *name);

#endif
