/* cluster-whisperer validate FILE|- : check a sync payload with the
 * generated validator (the same one the server runs) and print either
 * `ok: N upserts, M deletes` (exit 0) or the issues as the server's 400
 * body (exit 1). Usage errors exit 2. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "cw_error.h"
#include "input.h"
#include "schema_rt.h"
#include "sync_payload.h"

/* json-c takes at most INT_MAX bytes; far above any real payload. */
#define VALIDATE_MAX_FILE (1024u * 1024 * 1024)

static void usage(FILE *out)
{
    fprintf(out, "usage: cluster-whisperer validate [--] FILE|-\n\n"
                 "Check a sync payload (the body of POST /api/v1/instances/sync) with the\n"
                 "validator generated from schema/sync_payload.schema. Prints\n"
                 "`ok: N upserts, M deletes` (exit 0) or the issues as JSON, exactly as the\n"
                 "server's 400 answer (exit 1). `-` reads standard input.\n");
}

int cw_cmd_validate(int argc, char **argv)
{
    const char *path = NULL;

    int options_end = 0;          /* after "--" every argument is the FILE */
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!options_end && strcmp(a, "--") == 0) {
            options_end = 1;
            continue;
        }
        if (options_end) {
            /* a FILE that looks like an option */
        } else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            return 0;
        } else if (a[0] == '-' && a[1] != '\0') {
            fprintf(stderr, "cluster-whisperer validate: unknown option '%s' (see --help)\n", a);
            return 2;
        }
        if (path != NULL) {
            fprintf(stderr, "cluster-whisperer validate: unexpected argument '%s' (see --help)\n",
                    a);
            return 2;
        }
        path = a;
    }
    if (path == NULL) {
        fprintf(stderr, "cluster-whisperer validate: missing FILE (see --help)\n");
        return 2;
    }

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
