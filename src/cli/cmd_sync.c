/* cluster-whisperer sync FILE|- : push a payload through the same pipeline
 * the server uses (validate, coalesce, embed, write Chroma), without HTTP. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "cluster.h"
#include "commands.h"
#include "cw_log.h"
#include "cw_time.h"
#include "input.h"
#include "schema_rt.h"
#include "sync_payload.h"

#define SYNC_MAX_FILE (1024u * 1024 * 1024)
#define SYNC_DEADLINE_MS (30 * 60 * 1000)

int cw_cmd_sync(int argc, char **argv)
{
    cw_options o;
    int early = cw_options_begin(&o, CW_CMD_SYNC, argc, argv, CW_LOG_WARN);
    if (early >= 0)
        return early;

    int rc = 1;
    char *body = NULL;
    size_t len = 0;
    cw_sync_payload payload;
    memset(&payload, 0, sizeof payload);
    cw_issues issues;
    cw_app app;
    memset(&app, 0, sizeof app);
    cw_error err;
    cw_error_clear(&err);

    if (cw_input_read(o.positional, SYNC_MAX_FILE, &body, &len, &err) != 0) {
        fprintf(stderr, "cluster-whisperer sync: %s\n", err.msg);
        goto out;
    }
    if (cw_sync_payload_parse(body, len, &payload, &issues) != 0 ||
        cw_cluster_payload_issues(&payload, o.cluster, &issues) > 0) {
        char *json = cw_issues_to_json(&issues);
        printf("%s\n", json != NULL ? json : "{\"error\":\"Invalid payload\"}");
        free(json);
        goto out;
    }
    if (cw_app_open(&app, &o, CW_APP_PIPELINE, 1, &err) != 0) {
        fprintf(stderr, "cluster-whisperer sync: %s\n", err.msg);
        goto out;
    }
    cw_pipeline_result res;
    if (cw_pipeline_submit_in(app.pipeline, o.cluster, &payload, cw_now_ms() + SYNC_DEADLINE_MS, &res,
                              &err) != 0) {
        fprintf(stderr, "cluster-whisperer sync: %s\n", err.msg);
        goto out;
    }
    if (o.cluster != NULL)
        printf("ok: %zu upserted, %zu deleted (cluster %s)\n", res.upserted, res.deleted, o.cluster);
    else
        printf("ok: %zu upserted, %zu deleted\n", res.upserted, res.deleted);
    rc = 0;
out:
    cw_app_close(&app);
    cw_sync_payload_free(&payload);
    free(body);
    return rc;
}
