#include "pfixture.h"

#include <stdlib.h>
#include <string.h>

#include "cw_test.h"

void fx_start(fixture *fx, size_t dim, const cw_pipeline_config *cfg)
{
    cw_error err;
    cw_error_clear(&err);
    fx->store = fake_store_create();
    fx->emb = fake_embedder_create(dim, DIM);
    fx->p = cw_pipeline_create(cfg, fake_embedder_base(fx->emb), fake_store_base(fx->store),
                               &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(fx->p);
}

void fx_stop(fixture *fx)
{
    cw_pipeline_destroy(fx->p);
    cw_store_destroy(fake_store_base(fx->store));
    cw_embedder_destroy(fake_embedder_base(fx->emb));
    memset(fx, 0, sizeof *fx);
}

int fx_submit(fixture *fx, const char *spec, int64_t deadline_ms, cw_pipeline_result *res,
              cw_error *err)
{
    cw_sync_payload *payload = tp_new(spec);
    cw_error_clear(err);
    int rc = cw_pipeline_submit(fx->p, payload, deadline_ms, res, err);
    tp_free(payload);
    return rc;
}

int fx_submit_in(fixture *fx, const char *cluster, const char *spec, int64_t deadline_ms,
                 cw_pipeline_result *res, cw_error *err)
{
    cw_sync_payload *payload = tp_new(spec);
    cw_error_clear(err);
    int rc = cw_pipeline_submit_in(fx->p, cluster, payload, deadline_ms, res, err);
    tp_free(payload);
    return rc;
}

void fx_assert_log(fixture *fx, const char *want)
{
    char *log = fake_store_log(fx->store);
    CU_ASSERT_STRING_EQUAL(log, want);
    if (strcmp(log, want) != 0)
        fprintf(stderr, "\n  log:  %s\n  want: %s\n", log, want);
    free(log);
    fake_store_log_reset(fx->store);
}

void fx_assert_log_split(fixture *fx, const char *want_gets, const char *want_writes)
{
    char *log = fake_store_log(fx->store);
    size_t len = strlen(log) + 1;
    char *gets = calloc(1, len), *writes = calloc(1, len);
    CU_ASSERT_PTR_NOT_NULL_FATAL(gets);
    CU_ASSERT_PTR_NOT_NULL_FATAL(writes);
    char *save = NULL;
    for (char *tok = strtok_r(log, " ", &save); tok != NULL; tok = strtok_r(NULL, " ", &save)) {
        char *to = strncmp(tok, "get(", 4) == 0 ? gets : writes;
        if (to[0] != '\0')
            strcat(to, " ");
        strcat(to, tok);
    }
    if (want_gets == NULL)
        want_gets = gets;
    CU_ASSERT_STRING_EQUAL(gets, want_gets);
    CU_ASSERT_STRING_EQUAL(writes, want_writes);
    if (strcmp(gets, want_gets) != 0 || strcmp(writes, want_writes) != 0)
        fprintf(stderr, "\n  gets:   %s\n  want:   %s\n  writes: %s\n  want:   %s\n", gets,
                want_gets, writes, want_writes);
    free(gets);
    free(writes);
    free(log);
    fake_store_log_reset(fx->store);
}

void fx_hold(fixture *fx, submitter *s, const char *spec, size_t gets)
{
    fake_store_gate_gets(fx->store, 1);
    fake_store_gate(fx->store, 1);
    submitter_start(s, fx->p, spec, FAR_MS);
    fake_store_wait_gets(fx->store, gets + 1);
}

void fx_release(fixture *fx)
{
    fake_store_gate_gets(fx->store, 0);
    fake_store_gate(fx->store, 0);
}

int fx_stored_as(fixture *fx, const char *id, const char *name)
{
    char *text = fake_store_text(fx->store, id);
    float got[DIM], want[DIM];
    int ok = text != NULL && strcmp(text, tp_text(name)) == 0 &&
             fake_store_vec(fx->store, id, got, DIM) == 0;
    free(text);
    if (ok) {
        fake_vector(tp_text(name), DIM, want);
        ok = memcmp(got, want, sizeof got) == 0;
    }
    return ok;
}

void fx_wait_queued(fixture *fx, size_t n)
{
    cw_pipeline_stats st;
    for (;;) {
        cw_pipeline_stats_get(fx->p, &st);
        if (st.queue_depth == n)
            return;
        cw_sleep_ms(1);
    }
}

static void *submitter_main(void *arg)
{
    submitter *s = arg;
    cw_sync_payload *payload = tp_new(s->spec);
    cw_error_clear(&s->err);
    s->rc = cw_pipeline_submit_in(s->p, s->cluster, payload, s->deadline_ms, &s->res, &s->err);
    tp_free(payload);        /* the pipeline may still be writing: it copied */
    return NULL;
}

void submitter_start(submitter *s, cw_pipeline *p, const char *spec, int64_t deadline_ms)
{
    memset(s, 0, sizeof *s);
    s->p = p;
    s->spec = spec;
    s->deadline_ms = deadline_ms;
    s->rc = 99;
    if (pthread_create(&s->thread, NULL, submitter_main, s) != 0)
        abort();
}

void submitter_start_in(submitter *s, cw_pipeline *p, const char *cluster, const char *spec,
                        int64_t deadline_ms)
{
    memset(s, 0, sizeof *s);
    s->p = p;
    s->cluster = cluster;
    s->spec = spec;
    s->deadline_ms = deadline_ms;
    s->rc = 99;
    if (pthread_create(&s->thread, NULL, submitter_main, s) != 0)
        abort();
}

void submitter_join(submitter *s)
{
    pthread_join(s->thread, NULL);
}
