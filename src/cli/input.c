#include "input.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int cw_input_read(const char *path, size_t max, char **buf_out, size_t *len_out, cw_error *err)
{
    int rc = -1;
    int is_stdin = strcmp(path, "-") == 0;
    FILE *f = is_stdin ? stdin : fopen(path, "rb");
    char *buf = NULL;
    size_t len = 0, cap = 0;
    const char *name = is_stdin ? "standard input" : path;

    if (f == NULL) {
        cw_error_set(err, CW_E_INVALID, "cannot open %s: %s", name, strerror(errno));
        goto out;
    }
    for (;;) {
        if (len + 1 >= cap) {
            size_t ncap = cap == 0 ? 65536 : cap * 2;
            char *nb = realloc(buf, ncap);
            if (nb == NULL) {
                cw_error_set(err, CW_E_NOMEM, "out of memory reading %s", name);
                goto out;
            }
            buf = nb;
            cap = ncap;
        }
        size_t got = fread(buf + len, 1, cap - len - 1, f);
        len += got;
        if (len > max) {
            cw_error_set(err, CW_E_INVALID, "%s is larger than %zu bytes", name, max);
            goto out;
        }
        if (got == 0) {
            if (ferror(f)) {
                cw_error_set(err, CW_E_INVALID, "cannot read %s: %s", name, strerror(errno));
                goto out;
            }
            break;
        }
    }
    buf[len] = '\0';
    *buf_out = buf;
    *len_out = len;
    buf = NULL;
    rc = 0;
out:
    free(buf);
    if (f != NULL && !is_stdin)
        fclose(f);
    return rc;
}
