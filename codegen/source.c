/* Reading a schema file and printing errors that point into it. */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "schemac.h"

int source_read(source *src, const char *path)
{
    int rc = -1;
    FILE *f = NULL;
    char *text = NULL;
    size_t cap = 4096, len = 0;

    memset(src, 0, sizeof *src);
    f = fopen(path, "rb");
    if (f == NULL) {
        fprintf(stderr, "cw-schemac: cannot open %s: %s\n", path, strerror(errno));
        goto out;
    }
    text = malloc(cap);
    if (text == NULL)
        goto oom;
    for (;;) {
        size_t got = fread(text + len, 1, cap - len - 1, f);
        len += got;
        if (got == 0)
            break;
        if (len + 1 == cap) {
            char *bigger = realloc(text, cap * 2);
            if (bigger == NULL)
                goto oom;
            text = bigger;
            cap *= 2;
        }
    }
    if (ferror(f)) {
        fprintf(stderr, "cw-schemac: cannot read %s: %s\n", path, strerror(errno));
        goto out;
    }
    text[len] = '\0';   /* the lexer's sentinel */
    src->path = strdup(path);
    if (src->path == NULL)
        goto oom;
    src->text = text;
    src->len = len;
    text = NULL;
    rc = 0;
    goto out;
oom:
    fprintf(stderr, "cw-schemac: out of memory\n");
out:
    free(text);
    if (f != NULL)
        fclose(f);
    return rc;
}

void source_free(source *src)
{
    if (src == NULL)
        return;
    free(src->path);
    free(src->text);
    memset(src, 0, sizeof *src);
}

void source_error(const source *src, int line, int col, const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "%s:%d:%d: ", src->path, line, col);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);

    /* The offending line, then a caret under the column (tabs kept so the
     * caret lines up in a terminal). */
    const char *p = src->text, *end = src->text + src->len;
    for (int l = 1; l < line && p < end; p++) {
        if (*p == '\n')
            l++;
    }
    const char *eol = p;
    while (eol < end && *eol != '\n' && *eol != '\r')
        eol++;
    fprintf(stderr, "%.*s\n", (int)(eol - p), p);
    for (int i = 1; i < col; i++)
        fputc(p + i - 1 < eol && p[i - 1] == '\t' ? '\t' : ' ', stderr);
    fputs("^\n", stderr);
}
