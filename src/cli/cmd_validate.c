/* cluster-whisperer validate FILE|- : check a sync payload with the
 * generated validator (the same one the server runs) and print either
 * `ok: N upserts, M deletes` (exit 0) or the issues as the server's 400
 * body (exit 1). Usage errors exit 2. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "cw_error.h"
#include "cw_log.h"
#include "options.h"
#include "input.h"
#include "schema_rt.h"
#include "sync_payload.h"

/* json-c takes at most INT_MAX bytes; far above any real payload. */
#define VALIDATE_MAX_FILE (1024u * 1024 * 1024)

int cw_cmd_validate(int argc, char **argv)
{
    cw_options o;
    int early = cw_options_begin(&o, CW_CMD_VALIDATE, argc, argv, CW_LOG_WARN);
    if (early >= 0)
        return early;
    const char *path = o.positional;

    int rc = 1;
    char *body = NULL;
    size_t len = 0;
    cw_sync_payload payload;
    cw_issues issues;
    cw_error err;

    memset(&payload, 0, sizeof payload);
    cw_error_clear(&err);
    if (cw_input_read(path, VALIDATE_MAX_FILE, &body, &len, &err) != 0) {
        fprintf(stderr, "cluster-whisperer validate: %s\n", err.msg);
        goto out;
    }
    if (cw_sync_payload_parse(body, len, &payload, &issues) != 0) {
        char *json = cw_issues_to_json(&issues);
        if (json == NULL) {
            fprintf(stderr, "cluster-whisperer validate: out of memory\n");
            goto out;
        }
        printf("%s\n", json);
        free(json);
        goto out;
    }
    printf("ok: %zu upserts, %zu deletes\n", payload.upserts.len, payload.deletes.len);
    rc = 0;
out:
    cw_sync_payload_free(&payload);
    free(body);
    return rc;
}
