#include "embedder_util.h"

#include <stdlib.h>

int cw_embedder_probe_dim(cw_embedder *e, cw_error *err)
{
    int rc = -1;
    float *probe = NULL;
    const char *texts[] = { "probe" };

    if (e->dim != 0)
        return 0;
    probe = malloc(CW_EMBEDDER_MAX_DIM * sizeof *probe);
    if (probe == NULL) {
        cw_error_set(err, CW_E_NOMEM, "%s: out of memory probing the vector size", e->name);
        goto out;
    }
    if (cw_embedder_embed(e, texts, 1, CW_EMBED_QUERY, probe, err) != 0)
        goto out;
    if (e->dim == 0 || e->dim > CW_EMBEDDER_MAX_DIM) {
        cw_error_set(err, CW_E_INTERNAL, "%s: the backend did not report a usable vector size (%zu)",
                     e->name, e->dim);
        goto out;
    }
    rc = 0;
out:
    free(probe);
    return rc;
}
