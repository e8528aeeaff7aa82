/* embedder_util — helpers over the cw_embedder interface (embedder.h) that
 * work with every backend. */
#ifndef CW_EMBEDDER_UTIL_H
#define CW_EMBEDDER_UTIL_H

#include "embedder.h"

/* The largest vector a backend whose dim is still 0 may learn. Remote
 * backends refuse bigger answers (CW_E_INTERNAL), so a probe buffer of this
 * size is always enough. */
#define CW_EMBEDDER_MAX_DIM 16384

/* Learn the vector size: when e->dim is 0, embed one short query text so the
 * backend learns it from the answer; no-op (no call) when dim is known.
 * Returns 0 with e->dim > 0, or -1 with `err` set as cw_embedder_embed()
 * does (e.g. CW_E_UNAVAILABLE when the API is down). Call it before
 * sharing the embedder between threads. */
CW_MUST_CHECK int cw_embedder_probe_dim(cw_embedder *e, cw_error *err);

#endif
