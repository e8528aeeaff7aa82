/* cw-schemac SCHEMA OUTDIR — compile a payload schema into
 * OUTDIR/<name>.h and OUTDIR/<name>.c. Only wires the phases together;
 * exit 0 ok, 1 error in the schema (or I/O), 2 usage. */
#include <stdio.h>
#include <string.h>

#include "schemac.h"

int main(int argc, char **argv)
{
    source src;
    schema s;
    int rc = 1;

    if (argc != 3 || argv[1][0] == '-') {
        fprintf(stderr, "usage: cw-schemac SCHEMA OUTDIR\n");
        return 2;
    }
    if (source_read(&src, argv[1]) != 0)
        return 1;
    if (parse_schema(&src, &s) != 0)
        goto out;
    if (check_schema(&src, &s) != 0)
        goto out;
    if (emit_c(&src, &s, argv[2]) != 0)
        goto out;
    rc = 0;
out:
    schema_free(&s);
    source_free(&src);
    return rc;
}
