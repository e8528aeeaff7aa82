#include "app.h"

#include <curl/curl.h>
#include <string.h>

#include "cw_log.h"
#include "embedder_util.h"

int cw_app_open(cw_app *app, const cw_options *o, unsigned what, int require_chroma, cw_error *err)
{
    int rc = -1;
    memset(app, 0, sizeof *app);
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        cw_error_set(err, CW_E_INTERNAL, "libcurl could not be initialised");
        goto out;
    }
    app->curl_ready = 1;

    app->embedder = cw_options_make_embedder(o, err);
    if (app->embedder == NULL)
        goto out;
    cw_log_info("embedder: %s (model %s%s)", app->embedder->name,
                app->embedder->model != NULL ? app->embedder->model : "?",
                app->embedder->dim > 0 ? "" : ", dimension learned on first call");

    if (app->embedder->dim == 0) {
        cw_error perr;
        cw_error_clear(&perr);
        if (cw_embedder_probe_dim(app->embedder, &perr) != 0)
            cw_log_warn("embedder: could not learn the vector size yet: %s", perr.msg);
    }

    app->chroma = cw_options_make_chroma(o, err);
    if (app->chroma == NULL)
        goto out;

    cw_error cerr;
    cw_error_clear(&cerr);
    if (cw_chroma_ensure_collection(app->chroma, &cerr) != 0) {
        if (require_chroma) {
            cw_error_copy(err, &cerr);
            goto out;
        }
        cw_log_warn("Chroma at %s is not usable yet (%s); /readyz answers 503 until it is",
                    o->chroma.url, cerr.msg);
    } else {
        char msg[512];
        if (cw_app_dimension_problem(app, msg, sizeof msg))
            cw_log_error("%s", msg);
    }

    if (what & CW_APP_PIPELINE) {
        app->store = cw_store_chroma_create(app->chroma, err);
        if (app->store == NULL)
            goto out;
        if ((what & CW_APP_JOURNAL) && (o->journal == NULL || strcmp(o->journal, "off") != 0)) {
            char dflt[4096];
            const char *dir = o->journal != NULL ? o->journal
                                                 : cw_journal_default_dir(dflt, sizeof dflt);
            if (dir == NULL) {
                cw_error_set(err, CW_E_CONFIG, "no journal directory: set --journal DIR (or "
                             "HOME / XDG_STATE_HOME), or --journal off");
                goto out;
            }
            app->journal = cw_journal_open(dir, o->journal_max_bytes, CW_JOURNAL_APPEND, err);
            if (app->journal == NULL)
                goto out;
            cw_journal_stats js;
            cw_journal_stats_get(app->journal, &js);
            cw_log_info("journal: %s (%llu operations not yet applied, %llu dead letters)",
                        cw_journal_path(app->journal), (unsigned long long)js.backlog_ops,
                        (unsigned long long)js.dead_letters);
        }
        cw_pipeline_config pc = o->pipeline;   /* the flags wrote into it */
        pc.journal = app->journal;
        app->pipeline = cw_pipeline_create(&pc, app->embedder, app->store, err);
        if (app->pipeline == NULL)
            goto out;
    }
    rc = 0;
out:
    return rc;
}

int cw_app_dimension_problem(cw_app *app, char *msg, size_t cap)
{
    if (app->chroma == NULL || app->embedder == NULL || app->embedder->dim == 0)
        return 0;
    return cw_chroma_check_dimension(app->chroma, app->embedder->dim, msg, cap) != 0;
}

void cw_app_close(cw_app *app)
{
    if (app == NULL)
        return;
    cw_pipeline_destroy(app->pipeline);
    app->pipeline = NULL;
    cw_journal_close(app->journal);
    app->journal = NULL;
    cw_store_destroy(app->store);
    app->store = NULL;
    cw_chroma_destroy(app->chroma);
    app->chroma = NULL;
    cw_embedder_destroy(app->embedder);
    app->embedder = NULL;
    if (app->curl_ready)
        curl_global_cleanup();
    app->curl_ready = 0;
}
