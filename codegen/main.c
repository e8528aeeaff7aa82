/* cw-schemac SCHEMA OUTDIR — compile a payload schema into
 * OUTDIR/<name>.h and OUTDIR/<name>.c; exit 0 ok, 1 error in the schema
 * (or I/O), 2 usage.
 * cw-schemac import-go FILE.go TYPE... — print the schema of Go structs
 * (import_go.h); exit 0 ok, 2 on any error.
 * Only wires the phases together. */
#include <stdio.h>
#include <string.h>

#include "import_go.h"
#include "schemac.h"

static const char usage[] =
    "usage: cw-schemac SCHEMA OUTDIR\n"
    "       cw-schemac import-go FILE.go TYPE...\n"
    "       cw-schemac --help\n";

static const char help[] =
    "cw-schemac SCHEMA OUTDIR\n"
    "    Compile SCHEMA (e.g. schema/sync_payload.schema) into OUTDIR/<name>.h\n"
    "    and OUTDIR/<name>.c. Exit 0 ok, 1 error in the schema, 2 usage.\n"
    "\n"
    "cw-schemac import-go FILE.go TYPE...\n"
    "    Print (to stdout) a schema for the Go struct TYPE(s) declared in FILE.go\n"
    "    and every named struct they reach, as encoding/json sends them: json tags\n"
    "    name the keys, omitempty makes a field optional, slices, maps and pointers\n"
    "    are nullable; the first TYPE is the root. Exit 0 ok, 2 on any error.\n"
    "\n"
    "cw-schemac --help\n"
    "    This text.\n";

static int compile(const char *schema_path, const char *outdir)
{
    source src;
    schema s;
    int rc = 1;

    if (source_read(&src, schema_path) != 0)
        return 1;
    if (parse_schema(&src, &s) != 0)
        goto out;
    if (check_schema(&src, &s) != 0)
        goto out;
    if (emit_c(&src, &s, outdir) != 0)
        goto out;
    rc = 0;
out:
    schema_free(&s);
    source_free(&src);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        fputs(help, stdout);
        return 0;
    }
    if (argc >= 2 && strcmp(argv[1], "import-go") == 0) {
        if (argc < 4 || argv[2][0] == '-') {
            fprintf(stderr, "usage: cw-schemac import-go FILE.go TYPE...\n");
            return 2;
        }
        return import_go(argv[2], argv + 3, argc - 3, stdout);
    }
    if (argc != 3 || argv[1][0] == '-') {
        fputs(usage, stderr);
        return 2;
    }
    return compile(argv[1], argv[2]);
}
