/* cluster-whisperer search QUERY: what the agent's vector search finds —
 * the query embedded as a query, the nearest instances by cosine distance. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "commands.h"
#include "cw_log.h"

static void usage(FILE *out)
{
    fprintf(out, "usage: cluster-whisperer search [OPTIONS] QUERY\n\n"
                 "Print the instances nearest to QUERY: rank, cosine distance, id, kind,\n"
                 "namespace, name.\n\noptions:\n");
    cw_options_help(out, CW_CMD_SEARCH);
}

/* Print a cell padded to `width`, or as is when longer. */
static void cell(const char *s, int width)
{
    printf("%-*s  ", width, s != NULL ? s : "");
}

int cw_cmd_search(int argc, char **argv)
{
    cw_options o;
    int early = cw_options_begin(&o, CW_CMD_SEARCH, argc, argv, usage, CW_LOG_WARN);
    if (early >= 0)
        return early;

    int rc = 1;
    cw_app app;
    memset(&app, 0, sizeof app);
    float *vec = NULL;
    cw_chroma_hits hits;
    memset(&hits, 0, sizeof hits);
    cw_error err;
    cw_error_clear(&err);

    if (cw_app_open(&app, &o, 0, 1, &err) != 0) {
        fprintf(stderr, "cluster-whisperer search: %s\n", err.msg);
        goto out;
    }
    if (app.embedder->dim == 0) {
        fprintf(stderr, "cluster-whisperer search: the embedder's vector size is unknown (is it reachable?)\n");
        goto out;
    }
    vec = malloc(app.embedder->dim * sizeof *vec);
    if (vec == NULL) {
        fprintf(stderr, "cluster-whisperer search: out of memory\n");
        goto out;
    }
    const char *texts[1] = { o.positional };
    if (cw_embedder_embed(app.embedder, texts, 1, CW_EMBED_QUERY, vec, &err) != 0
        || cw_chroma_query(app.chroma, vec, app.embedder->dim, o.n_results, o.kind, o.ns, &hits, &err) != 0) {
        fprintf(stderr, "cluster-whisperer search: %s\n", err.msg);
        goto out;
    }
    if (hits.len == 0) {
        printf("no instances found\n");
        rc = 0;
        goto out;
    }
    int wid = 2, wkind = 4, wns = 9;
    for (size_t i = 0; i < hits.len; i++) {
        int l = (int)strlen(hits.items[i].id);
        if (l > wid) wid = l;
        l = hits.items[i].kind != NULL ? (int)strlen(hits.items[i].kind) : 0;
        if (l > wkind) wkind = l;
        l = hits.items[i].namespace != NULL ? (int)strlen(hits.items[i].namespace) : 0;
        if (l > wns) wns = l;
    }
    printf("%-4s  %-8s  ", "rank", "distance");
    cell("id", wid);
    cell("kind", wkind);
    cell("namespace", wns);
    printf("name\n");
    for (size_t i = 0; i < hits.len; i++) {
        printf("%-4zu  %-8.4f  ", i + 1, hits.items[i].distance);
        cell(hits.items[i].id, wid);
        cell(hits.items[i].kind, wkind);
        cell(hits.items[i].namespace, wns);
        printf("%s\n", hits.items[i].name != NULL ? hits.items[i].name : "");
    }
    rc = 0;
out:
    cw_chroma_hits_free(&hits);
    free(vec);
    cw_app_close(&app);
    return rc;
}
