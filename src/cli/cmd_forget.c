/* cluster-whisperer forget-cluster NAME: delete every document of one
 * cluster (issue 14) from the collection.
 *
 * With one collection and cluster-qualified ids (src/document/cluster.h)
 * a cluster is not a collection to drop but the records whose metadata
 * `cluster` is NAME. They go in batches: get a page of those ids (ids
 * only, at most --batch-max or Chroma's max batch), delete exactly those,
 * and again until a page comes back empty. Each batch is final on its own,
 * so a run cut short (Ctrl-C, Chroma gone) is finished by running it
 * again; a delete is never aborted midway (Chroma 1.0 wedges when a client
 * hangs up on a write), only the next batch is not started. Records of no
 * cluster and of other clusters are never listed, so never deleted.
 * --dry-run pages through the same ids and prints their count.
 *
 * Run it after the cluster's controller stopped pushing (or points
 * elsewhere) and the server's journal holds nothing more for it (`journal
 * status`): what is still applied for NAME afterwards comes back. */
#include <curl/curl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluster.h"
#include "commands.h"
#include "cw_log.h"
#include "options.h"

static volatile sig_atomic_t g_stop;

static void on_signal(int sig)
{
    (void)sig;
    g_stop = 1;
}

/* Count the ids of `f`, page by page. 0 or -1. */
static int count_ids(cw_chroma *c, const cw_chroma_filter *f, size_t batch, size_t *n,
                     cw_error *err)
{
    *n = 0;
    for (;;) {
        cw_chroma_records page;
        if (cw_chroma_ids_where(c, f, *n, batch, &page, err) != 0)
            return -1;
        size_t got = page.len;
        cw_chroma_records_free(&page);
        *n += got;
        if (got == 0 || (batch != 0 && got < batch) || g_stop)
            return 0;
    }
}

/* Delete one page of the ids of `f` (at most `batch`); *n the number
 * deleted, 0 when none was left. `last_first` is the first id of the page
 * before, replaced by this page's: seen again means Chroma did not delete
 * it. 0, or -1 with one line printed. */
static int delete_page(cw_chroma *c, const cw_chroma_filter *f, size_t batch, size_t total,
                       char **last_first, size_t *n)
{
    int rc = -1;
    char **ids = NULL;
    cw_chroma_records page;
    memset(&page, 0, sizeof page);
    cw_error err;
    cw_error_clear(&err);
    *n = 0;
    if (cw_chroma_ids_where(c, f, 0, batch, &page, &err) != 0)
        goto out;
    if (page.len == 0) {
        rc = 0;
        goto out;
    }
    if (*last_first != NULL && strcmp(*last_first, page.items[0].id) == 0) {
        fprintf(stderr, "cluster-whisperer forget-cluster: Chroma still lists %s after "
                "deleting it; stopping after %zu documents\n", *last_first, total);
        goto out;
    }
    free(*last_first);
    *last_first = strdup(page.items[0].id);
    ids = calloc(page.len, sizeof *ids);
    if (ids == NULL || *last_first == NULL) {
        cw_error_set(&err, CW_E_NOMEM, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < page.len; i++)
        ids[i] = page.items[i].id;
    if (cw_chroma_delete(c, (const char *const *)ids, page.len, &err) != 0)
        goto out;
    *n = page.len;
    rc = 0;
out:
    if (err.code != CW_OK)
        fprintf(stderr, "cluster-whisperer forget-cluster: %s (after %zu documents deleted; run "
                "it again to delete the rest)\n", err.msg, total);
    free(ids);
    cw_chroma_records_free(&page);
    return rc;
}

/* Delete page after page until none is left or a signal came. 0, or -1
 * with one line printed. */
static int delete_batches(cw_chroma *c, const cw_chroma_filter *f, size_t batch, size_t *total,
                          size_t *batches)
{
    int rc = -1;
    char *last_first = NULL;
    for (;;) {
        if (g_stop) {
            fprintf(stderr, "cluster-whisperer forget-cluster: interrupted after %zu batches "
                    "(%zu documents deleted); run it again to delete the rest\n", *batches, *total);
            goto out;
        }
        size_t n = 0;
        if (delete_page(c, f, batch, *total, &last_first, &n) != 0)
            goto out;
        if (n == 0)
            break;
        *total += n;
        (*batches)++;
        printf("batch %zu: deleted %zu documents of cluster %s (%zu so far)\n", *batches, n,
               f->cluster, *total);
        fflush(stdout);
    }
    rc = 0;
out:
    free(last_first);
    return rc;
}

int cw_cmd_forget_cluster(int argc, char **argv)
{
    cw_options o;
    int early = cw_options_begin(&o, CW_CMD_FORGET, argc, argv, CW_LOG_WARN);
    if (early >= 0)
        return early;
    const char *name = o.positional;
    cw_error err;
    cw_error_clear(&err);
    if (cw_cluster_name_check(name, strlen(name), &err) != 0) {
        fprintf(stderr, "cluster-whisperer forget-cluster: %s\n", err.msg);
        return 2;
    }

    int rc = 1, curl_ready = 0;
    cw_chroma *c = NULL;
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        fprintf(stderr, "cluster-whisperer forget-cluster: libcurl could not be initialised\n");
        return 1;
    }
    curl_ready = 1;
    signal(SIGPIPE, SIG_IGN);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    c = cw_options_make_chroma(&o, &err);
    if (c == NULL || cw_chroma_ensure_collection(c, &err) != 0) {
        fprintf(stderr, "cluster-whisperer forget-cluster: %s\n", err.msg);
        goto out;
    }
    const char *coll = cw_chroma_collection_name(c);
    size_t batch = o.forget_batch != 0 ? o.forget_batch : cw_chroma_max_batch(c);
    cw_chroma_filter f = { .cluster = name };

    if (o.dry_run) {
        size_t n = 0;
        if (count_ids(c, &f, batch, &n, &err) != 0) {
            fprintf(stderr, "cluster-whisperer forget-cluster: %s\n", err.msg);
            goto out;
        }
        printf("cluster %s: %zu documents in collection %s (dry run: nothing deleted)\n", name, n,
               coll);
        rc = 0;
        goto out;
    }

    size_t total = 0, batches = 0;
    if (delete_batches(c, &f, batch, &total, &batches) != 0)
        goto out;
    if (total == 0)
        printf("cluster %s: no documents in collection %s, nothing deleted\n", name, coll);
    else
        printf("forgot cluster %s: deleted %zu documents in %zu batches from collection %s\n", name,
               total, batches, coll);
    rc = 0;
out:
    cw_chroma_destroy(c);
    if (curl_ready)
        curl_global_cleanup();
    return rc;
}
