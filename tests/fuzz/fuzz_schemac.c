/* libFuzzer entry point for the schema compiler (cw-schemac): the bytes are
 * a schema file; it goes through the lexer, the parser, the checker and,
 * when the checker accepts it, the C emitter into memory (open_memstream).
 *
 *   contrib/fuzz.sh schemac [SECONDS]
 *
 * Run it with -close_fd_mask=2: every refused schema prints its diagnostic
 * on stderr (libFuzzer and the sanitizers keep reporting on a copy).
 *
 * Checks beyond "no crash, no leak, no UB": a schema the parser refuses is
 * not checked (as in main.c) and frees cleanly; an accepted one emits a
 * header and a source that are non-empty, never print a NULL string
 * ("(null)"), are byte-identical when emitted twice (the committed
 * generated/ relies on that), and name every record's C type in full (a
 * name cut short by a fixed buffer makes C that does not compile). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "schemac.h"

static void must(int cond)
{
    if (!cond)
        abort();
}

/* Emit `s` into two malloc'd buffers. Returns emit_c_streams()'s result. */
static int emit_to_memory(const schema *s, char **h, size_t *hlen, char **c, size_t *clen)
{
    FILE *hf = open_memstream(h, hlen);
    FILE *cf = open_memstream(c, clen);

    must(hf != NULL && cf != NULL);
    int rc = emit_c_streams(s, "fuzz.schema", hf, cf);
    must(fclose(hf) == 0 && fclose(cf) == 0);
    return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    source src = { 0 };
    schema s;

    /* What source_read() makes of a file holding these bytes. */
    src.path = "fuzz.schema";
    src.text = malloc(size + 1);
    must(src.text != NULL);
    memcpy(src.text, data, size);
    src.text[size] = '\0';
    src.len = size;

    if (parse_schema(&src, &s) == 0 && check_schema(&src, &s) == 0) {
        char *h1 = NULL, *c1 = NULL, *h2 = NULL, *c2 = NULL;
        size_t h1len = 0, c1len = 0, h2len = 0, c2len = 0;
        must(emit_to_memory(&s, &h1, &h1len, &c1, &c1len) == 0);
        must(emit_to_memory(&s, &h2, &h2len, &c2, &c2len) == 0);
        must(h1len > 0 && c1len > 0);
        must(h1len == h2len && memcmp(h1, h2, h1len) == 0);
        must(c1len == c2len && memcmp(c1, c2, c1len) == 0);
        must(strstr(h1, "(null)") == NULL && strstr(c1, "(null)") == NULL);
        for (const record *r = s.records; r != NULL; r = r->next) {
            char name[4 * SCHEMAC_MAX_NAME];
            snprintf(name, sizeof name, "typedef struct %s_%s {", s.prefix, r->name);
            must(strstr(h1, name) != NULL);
            snprintf(name, sizeof name, "} %s_%s;", s.prefix, r->name);
            must(strstr(h1, name) != NULL);
        }
        free(h1);
        free(c1);
        free(h2);
        free(c2);
    }
    schema_free(&s);
    free(src.text);
    return 0;
}
