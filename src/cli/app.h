/* app — the long-lived objects a command wires together from its options:
 * embedder → Chroma client → Chroma store → pipeline. serve and sync share
 * it; search uses the embedder and Chroma parts only.
 *
 * cw_app_open() builds in dependency order and cw_app_close() tears down in
 * reverse; a half-opened app is safe to close. */
#ifndef CW_APP_H
#define CW_APP_H

#include "chroma.h"
#include "cw_error.h"
#include "embedder.h"
#include "journal.h"
#include "options.h"
#include "pipeline.h"
#include "store.h"

typedef struct cw_app {
    cw_embedder *embedder;
    cw_chroma *chroma;
    cw_store *store;
    cw_pipeline *pipeline;
    cw_journal *journal;         /* NULL without CW_APP_JOURNAL or with --journal off */
    int curl_ready;
} cw_app;

/* CW_APP_JOURNAL (with CW_APP_PIPELINE): open the journal the options name
 * (--journal, default directory) and run the pipeline in journal mode. */
enum { CW_APP_PIPELINE = 1, CW_APP_JOURNAL = 2 };

/* Open the embedder and Chroma (and, with CW_APP_PIPELINE, the store and
 * the pipeline). When Chroma cannot be reached, `require_chroma` decides:
 * 1 → fail with err; 0 → warn once and go on (serve starts unready).
 * Returns 0, or -1 with err set and `app` half-built (close it). */
CW_MUST_CHECK int cw_app_open(cw_app *app, const cw_options *o, unsigned what,
                              int require_chroma, cw_error *err);

/* One line naming a dimension mismatch between the collection and the
 * embedder into msg (returns 1), or 0 when fine or not known yet. */
int cw_app_dimension_problem(cw_app *app, char *msg, size_t cap);

void cw_app_close(cw_app *app);

#endif
