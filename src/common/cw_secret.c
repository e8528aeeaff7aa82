/* cw_secret — see cw_secret.h. */
#include "cw_secret.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int is_space(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

char *cw_secret_read_file(const char *path, cw_error *err)
{
    char *buf = NULL;
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        cw_error_set(err, CW_E_CONFIG, "token file %s: %s", path, strerror(errno));
        goto fail;
    }
    buf = malloc(CW_SECRET_MAX + 2);
    if (buf == NULL) {
        cw_error_set(err, CW_E_NOMEM, "token file %s: out of memory", path);
        goto fail;
    }
    size_t n = fread(buf, 1, CW_SECRET_MAX + 2, f);
    if (ferror(f)) {
        cw_error_set(err, CW_E_CONFIG, "token file %s: cannot read it", path);
        goto fail;
    }
    size_t start = 0;
    while (start < n && is_space((unsigned char)buf[start]))
        start++;
    while (n > start && is_space((unsigned char)buf[n - 1]))
        n--;
    if (n - start > CW_SECRET_MAX) {
        cw_error_set(err, CW_E_CONFIG, "token file %s: longer than %d bytes", path, CW_SECRET_MAX);
        goto fail;
    }
    if (n == start) {
        cw_error_set(err, CW_E_CONFIG, "token file %s: empty", path);
        goto fail;
    }
    for (size_t i = start; i < n; i++) {
        unsigned char c = (unsigned char)buf[i];
        if (c <= ' ' || c >= 0x7f) {
            cw_error_set(err, CW_E_CONFIG, "token file %s: byte %zu is not printable ASCII "
                         "(a token is one word)", path, i - start + 1);
            goto fail;
        }
    }
    memmove(buf, buf + start, n - start);
    buf[n - start] = '\0';
    fclose(f);
    return buf;
fail:
    if (f != NULL)
        fclose(f);
    if (buf != NULL) {
        explicit_bzero(buf, CW_SECRET_MAX + 2);
        free(buf);
    }
    return NULL;
}

void cw_secret_free(char *s)
{
    if (s == NULL)
        return;
    explicit_bzero(s, strlen(s));
    free(s);
}

int cw_secret_equal(const char *want, const char *given, size_t len)
{
    size_t wlen = strlen(want);
    unsigned char diff = (unsigned char)(wlen != len);
    /* Walk the given bytes in full; compare against the wanted ones modulo
     * their length so a wrong length costs the same as a wrong byte. */
    for (size_t i = 0; i < len; i++)
        diff |= (unsigned char)(given[i] ^ (wlen > 0 ? want[i % wlen] : 0));
    return diff == 0;
}
