/* cluster-whisperer search QUERY: what an agent finds — the stored
 * instances ranked for QUERY by the search module (src/search/: vector
 * similarity, BM25 over the stored text and the query's intent), as a
 * table, or as one JSON document with --json. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "commands.h"
#include "cw_log.h"
#include "search.h"

/* Print a cell padded to `width`, or as is when longer. */
static void cell(const char *s, int width)
{
    printf("%-*s  ", width, s != NULL ? s : "");
}

static void print_table(const cw_search_results *r, int explain)
{
    if (explain)
        printf("intent: kind %s, scope %s\n", r->intent_kind != NULL ? r->intent_kind : "-",
               r->intent_scope != NULL ? r->intent_scope : "-");
    int wid = 2, wkind = 4, wns = 9, wcl = 0;
    for (size_t i = 0; i < r->len; i++) {
        int lc = r->items[i].cluster != NULL ? (int)strlen(r->items[i].cluster) : 0;
        if (lc > 0 && wcl < 7)
            wcl = 7;                    /* a cluster column only when a result has one */
        if (lc > wcl) wcl = lc;
        int l = (int)strlen(r->items[i].id);
        if (l > wid) wid = l;
        l = r->items[i].kind != NULL ? (int)strlen(r->items[i].kind) : 0;
        if (l > wkind) wkind = l;
        l = r->items[i].namespace != NULL ? (int)strlen(r->items[i].namespace) : 0;
        if (l > wns) wns = l;
    }
    printf("%-4s  %-6s  %-8s  ", "rank", "score", "distance");
    if (wcl > 0)
        cell("cluster", wcl);
    cell("id", wid);
    cell("kind", wkind);
    cell("namespace", wns);
    printf("name\n");
    for (size_t i = 0; i < r->len; i++) {
        const cw_search_result *h = &r->items[i];
        char dist[32] = "-";
        if (h->distance >= 0)
            snprintf(dist, sizeof dist, "%.4f", h->distance);
        printf("%-4zu  %-6.4f  %-8s  ", i + 1, h->score, dist);
        if (wcl > 0)
            cell(h->cluster != NULL ? h->cluster : "-", wcl);
        cell(h->id, wid);
        cell(h->kind, wkind);
        cell(h->namespace, wns);
        printf("%s\n", h->name != NULL ? h->name : "");
        if (explain) {
            char vr[32] = "-", lr[32] = "-";
            if (h->vector_rank != 0)
                snprintf(vr, sizeof vr, "%zu", h->vector_rank);
            if (h->lexical_rank != 0)
                snprintf(lr, sizeof lr, "%zu", h->lexical_rank);
            printf("      = vector %.4f (rank %s) + lexical %.4f (rank %s, bm25 %.4f) + kind %.4f + scope %.4f"
                   " + workload %.4f\n",
                   h->vector_part, vr, h->lexical_part, lr, h->bm25, h->kind_part, h->scope_part, h->workload_part);
        }
    }
}

int cw_cmd_search(int argc, char **argv)
{
    cw_options o;
    int early = cw_options_begin(&o, CW_CMD_SEARCH, argc, argv, CW_LOG_WARN);
    if (early >= 0)
        return early;

    int rc = 1;
    cw_app app;
    memset(&app, 0, sizeof app);
    cw_search_results res;
    memset(&res, 0, sizeof res);
    cw_error err;
    cw_error_clear(&err);

    cw_search_request req = { .query = o.positional, .n = o.n_results, .kind = o.kind, .ns = o.ns,
                              .cluster = o.cluster,
                              .mode = (cw_search_mode)cw_search_mode_parse(o.ranking), .explain = o.explain };
    if (cw_search_request_check(&req, &err) != 0) {
        fprintf(stderr, "cluster-whisperer search: %s\n", err.msg);
        return 2;
    }
    if (cw_app_open(&app, &o, 0, 1, &err) != 0 || cw_search_run(app.chroma, app.embedder, &req, &res, &err) != 0) {
        fprintf(stderr, "cluster-whisperer search: %s\n", err.msg);
        goto out;
    }
    if (o.json) {
        char *json = cw_search_results_json(req.query, req.mode, &res, req.explain);
        if (json == NULL) {
            fprintf(stderr, "cluster-whisperer search: out of memory\n");
            goto out;
        }
        printf("%s\n", json);
        free(json);
    } else if (res.len == 0) {
        printf("no instances found\n");
    } else {
        print_table(&res, o.explain);
    }
    rc = 0;
out:
    cw_search_results_free(&res);
    cw_app_close(&app);
    return rc;
}
