/* cluster-whisperer serve (also `cw-serve`): the sync server.
 *
 * Threads: the main thread only waits for SIGTERM/SIGINT (sigwait; every
 * other thread inherits the blocked mask), then drains (see drain()) and
 * exits 0. */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "app.h"
#include "commands.h"
#include "cw_log.h"
#include "cw_time.h"
#include "http_server.h"

/* At most this much of the drain deadline (and at most half of it) is kept
 * to answer 503 to the requests that could not finish: an abandoned
 * embedding call ends within about a second (libcurl looks at its progress
 * callback about once a second while a peer is silent). */
#define DRAIN_ANSWER_GRACE_MS 2500
/* Time to send the answers of a write that finished past the deadline. */
#define LATE_ANSWER_MS 500

/* Readiness: Chroma answers a heartbeat, and its collection's vectors have
 * the embedder's dimension. The dimension is re-read at most every 10 s.
 * `lock` guards the cached dimension verdict. */
typedef struct readiness {
    cw_app *app;
    int on_journal;             /* --ready-on journal */
    pthread_mutex_t lock;
    int64_t checked_at_ms;
    char dim_problem[512];      /* "" when fine */
} readiness;

/* How long the apply loop's writes must have failed before /readyz says
 * Chroma accepts none (one failed try is not a verdict). */
#define WRITE_FAILING_MS 2000

/* --ready-on journal: ready while the journal can take requests. Whatever
 * Chroma does then, an accepted request is durable, and a pod taken out of
 * its Service would make the controller fail to connect and drop batches.
 * Chroma's state is still reported (1 = ready with a warning in `why`). */
static int ready_journal(readiness *r, char *why, size_t cap)
{
    cw_pipeline_stats st;
    cw_pipeline_stats_get(r->app->pipeline, &st);
    const cw_journal_stats *js = &st.journal;
    if (js->backlog_bytes + (js->max_bytes / 100) >= js->max_bytes) {
        snprintf(why, cap, "journal %s full: %llu of %llu bytes unapplied (Chroma or the embedder "
                 "is behind)", cw_journal_path(r->app->journal),
                 (unsigned long long)js->backlog_bytes, (unsigned long long)js->max_bytes);
        return 0;
    }
    char w[512];
    if (!cw_pipeline_write_health(r->app->pipeline, WRITE_FAILING_MS, w, sizeof w)) {
        snprintf(why, cap, "chroma accepts no writes: %s — restart Chroma; %llu operations "
                 "wait in the journal", w, (unsigned long long)js->backlog_ops);
        return 2;
    }
    return 1;
}

static int ready_cb(void *ctx, char *why, size_t cap)
{
    readiness *r = ctx;
    cw_error err;
    cw_error_clear(&err);
    /* Wrong credentials are a rollout's mistake, not an outage: unready in
     * either mode, so a rolling update stops here and the pods still
     * running the right token keep taking the controller's batches. */
    long refused = cw_chroma_auth_refused(r->app->chroma);
    if (refused != 0) {
        snprintf(why, cap, "chroma refuses our credentials (HTTP %ld): check --chroma-token / "
                 "CHROMA_TOKEN / --chroma-token-file and --chroma-auth-header", refused);
        return 0;
    }
    if (r->on_journal)
        return ready_journal(r, why, cap);
    if (cw_chroma_heartbeat(r->app->chroma, 1000, &err) != 0) {
        snprintf(why, cap, "chroma: %s", err.msg);
        return 0;
    }
    char w[512];
    if (r->app->journal != NULL &&
        !cw_pipeline_write_health(r->app->pipeline, WRITE_FAILING_MS, w, sizeof w)) {
        snprintf(why, cap, "chroma accepts no writes: %s — restart Chroma", w);
        return 0;
    }
    pthread_mutex_lock(&r->lock);
    int stale = r->checked_at_ms == 0 || cw_now_ms() - r->checked_at_ms > 10000;
    pthread_mutex_unlock(&r->lock);
    if (stale) {                      /* Chroma is asked outside the lock */
        char msg[512] = "";
        cw_app_dimension_problem(r->app, msg, sizeof msg);
        pthread_mutex_lock(&r->lock);
        snprintf(r->dim_problem, sizeof r->dim_problem, "%s", msg);
        r->checked_at_ms = cw_now_ms();
        pthread_mutex_unlock(&r->lock);
    }
    pthread_mutex_lock(&r->lock);
    int ok = r->dim_problem[0] == '\0';
    if (!ok)
        snprintf(why, cap, "%s", r->dim_problem);
    pthread_mutex_unlock(&r->lock);
    return ok;
}

/* The part of the drain deadline kept for answering what is cut off. */
static int64_t answer_grace_ms(int drain_ms)
{
    int64_t grace = drain_ms / 2;
    return grace < DRAIN_ANSWER_GRACE_MS ? grace : DRAIN_ANSWER_GRACE_MS;
}

/* SIGTERM/SIGINT (DESIGN §6): /readyz 503 at once and the main listener
 * quiesced; requests in flight finish until the drain deadline. What has
 * not finished by (deadline - grace) is cut off: embedding calls are
 * abandoned (they write nothing) and queued requests failed, so their
 * callers get 503 + Retry-After in the grace time left. A Chroma write in
 * flight is never aborted: the pipeline waits for it, even past the
 * deadline (Chroma 1.0 wedges when a client hangs up on an upsert). */
/* With a journal: requests in flight are answered (200 or 202 within the
 * ack wait), the apply loop goes on until the deadline, then the threads
 * stop: an embedding call is abandoned, a Chroma write in flight (one
 * bounded batch) is finished, and the rest stays in the journal for the
 * next start. */
static void drain_journal(cw_app *app, cw_http_server *server, int drain_ms)
{
    int64_t deadline = cw_now_ms() + drain_ms;
    cw_http_server_begin_shutdown(server);
    size_t left = cw_http_server_drain(server, deadline);
    cw_pipeline_shutdown(app->pipeline, deadline);
    left = cw_http_server_drain(server, cw_now_ms() + LATE_ANSWER_MS);
    if (left > 0)
        cw_log_warn("%zu requests still in flight at the drain deadline", left);
    cw_pipeline_stats st;
    cw_pipeline_stats_get(app->pipeline, &st);
    if (st.journal.backlog_ops > 0)
        cw_log_info("journal: %llu operations left for the next start",
                    (unsigned long long)st.journal.backlog_ops);
}

static void drain(cw_app *app, cw_http_server *server, int drain_ms)
{
    if (app->journal != NULL) {
        drain_journal(app, server, drain_ms);
        return;
    }
    int64_t deadline = cw_now_ms() + drain_ms;
    int64_t cut = deadline - answer_grace_ms(drain_ms);

    cw_http_server_begin_shutdown(server);
    size_t left = cw_http_server_drain(server, cut);
    if (left > 0) {
        cw_log_warn("%zu requests still in flight near the drain deadline: abandoning "
                    "embedding calls, answering them 503", left);
        cw_embedder_cancel(app->embedder);
    }
    cw_pipeline_shutdown(app->pipeline, cut);
    /* A Chroma write that ran past the deadline has just finished: give its
     * answer a moment to go out rather than closing on it. */
    int64_t answer_by = cw_now_ms() + LATE_ANSWER_MS;
    left = cw_http_server_drain(server, deadline > answer_by ? deadline : answer_by);
    if (left > 0)
        cw_log_warn("%zu requests still in flight at the drain deadline", left);
}

/* What a started server says once: its cluster, where it listens, its auth. */
static void log_started(const cw_options *o, cw_http_server *server)
{
    if (o->cluster != NULL)
        cw_log_info("sync requests that name no cluster are of cluster %s", o->cluster);
    if (o->http.admin_port != 0)
        cw_log_info("listening on %s:%u (admin %u), chroma %s, collection %s", o->http.host,
                    cw_http_server_port(server), cw_http_server_admin_port(server), o->chroma.url,
                    o->chroma.collection);
    else
        cw_log_info("listening on %s:%u, chroma %s, collection %s", o->http.host,
                    cw_http_server_port(server), o->chroma.url, o->chroma.collection);
    if (o->http.auth_token_file != NULL)
        cw_log_info("auth: sync and search want a bearer token (%s; re-read on change or SIGHUP)",
                    o->http.auth_token_file);
}

int cw_cmd_serve(int argc, char **argv)
{
    cw_options o;
    int early = cw_options_begin(&o, CW_CMD_SERVE, argc, argv, CW_LOG_INFO);
    if (early >= 0)
        return early;

    /* Two malloc arenas and pinned thresholds (http_server.h): two arenas
     * keep the peak flat under fan-in (64 controllers, batches of 100:
     * VmHWM 46 -> 34 MB) at no measured cost; pinned thresholds give a big
     * request's memory back once it is freed. */
    cw_http_tune_malloc();
    unsigned long fds_before = 0, fds = cw_http_raise_fd_limit(&fds_before);
    if (fds > fds_before)
        cw_log_debug("open-file limit raised from %lu to %lu", fds_before, fds);

    /* Block the shutdown signals before any thread exists; ignore SIGPIPE. */
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);

    int rc = 1;
    cw_app app;
    cw_http_server *server = NULL;
    readiness ready = { .app = &app };
    pthread_mutex_init(&ready.lock, NULL);
    cw_error err;
    cw_error_clear(&err);

    if (cw_app_open(&app, &o, CW_APP_PIPELINE | CW_APP_JOURNAL, 0, &err) != 0) {
        fprintf(stderr, "cluster-whisperer serve: %s\n", err.msg);
        goto out;
    }

    ready.on_journal = app.journal != NULL &&
                       (o.ready_on == NULL || strcmp(o.ready_on, "journal") == 0);
    if (app.journal == NULL && o.ready_on != NULL && strcmp(o.ready_on, "journal") == 0) {
        fprintf(stderr, "cluster-whisperer serve: --ready-on journal needs a journal (not --journal off)\n");
        goto out;
    }
    cw_http_config hc = o.http;       /* the flags wrote into it */
    hc.search_chroma = app.chroma;
    hc.search_embedder = app.embedder;
    hc.default_cluster = o.cluster;
    server = cw_http_server_start(&hc, app.pipeline, ready_cb, &ready, &err);
    if (server == NULL) {
        fprintf(stderr, "cluster-whisperer serve: %s\n", err.msg);
        goto out;
    }
    log_started(&o, server);
    int sig = 0;
    while (sigwait(&sigs, &sig) == 0 && sig == SIGHUP) {
        cw_log_info("SIGHUP: reading the token file again");
        cw_http_server_reload_auth(server);
    }
    cw_log_info("%s: draining (up to %d ms)", sig == SIGTERM ? "SIGTERM" : "SIGINT", o.drain_ms);
    drain(&app, server, o.drain_ms);
    cw_log_info("stopped");
    rc = 0;
out:
    cw_http_server_stop(server);
    cw_app_close(&app);
    pthread_mutex_destroy(&ready.lock);
    return rc;
}
