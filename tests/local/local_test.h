/* Helpers shared by the tests of src/local: where the installed model is,
 * scratch files. The model is found with cw_local_default_model_dir();
 * when it is missing the tests FAIL (never skip) and say how to install it. */
#ifndef CW_LOCAL_TEST_H
#define CW_LOCAL_TEST_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cw_test.h"
#include "embed_local.h"

/* The model directory, computed once (before any test changes the env). */
static inline const char *lt_model_dir(void)
{
    static char dir[1024];
    if (dir[0] == '\0')
        cw_local_default_model_dir(dir, sizeof dir);
    return dir;
}

/* `name` inside the model dir, in one of 8 rotating static buffers (so a
 * few results can be used together); NULL (with a message on stderr) when
 * the file is missing. */
static inline const char *lt_model_file(const char *name)
{
    static char paths[8][1200];
    static unsigned next;
    char *path = paths[next++ % 8];
    struct stat sb;
    snprintf(path, sizeof paths[0], "%s/%s", lt_model_dir(), name);
    if (stat(path, &sb) != 0) {
        fprintf(stderr,
                "\nMODEL MISSING: %s not found; run contrib/install-model.sh "
                "(or set CW_MODEL_DIR)\n",
                path);
        return NULL;
    }
    return path;
}

/* Write bytes to a file; 0 on success. */
static inline int lt_write_file(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (f == NULL)
        return -1;
    size_t put = fwrite(data, 1, len, f);
    int rc = fclose(f);
    return put == len && rc == 0 ? 0 : -1;
}

/* Copy the first `len` bytes of src (all when len == (size_t)-1) to dst. */
static inline int lt_copy_prefix(const char *src, const char *dst, size_t len)
{
    FILE *in = fopen(src, "rb");
    FILE *out = fopen(dst, "wb");
    int rc = in != NULL && out != NULL ? 0 : -1;
    char buf[65536];
    while (rc == 0 && len > 0) {
        size_t want = len < sizeof buf ? len : sizeof buf;
        size_t got = fread(buf, 1, want, in);
        if (got == 0)
            break;
        if (fwrite(buf, 1, got, out) != got)
            rc = -1;
        if (len != (size_t)-1)
            len -= got;
    }
    if (in != NULL)
        fclose(in);
    if (out != NULL && fclose(out) != 0)
        rc = -1;
    return rc;
}

/* all-MiniLM-L6-v2's vector size. */
#define LT_DIM 384

/* The dot product of two model vectors (cosine: they are unit length). */
static inline double lt_dot(const float *a, const float *b)
{
    double s = 0.0;
    for (size_t k = 0; k < LT_DIM; k++)
        s += (double)a[k] * b[k];
    return s;
}

/* Embed n texts as documents (malloc'd n x LT_DIM); a failed call fails
 * the test. */
static inline float *lt_embed_all(cw_embedder *e, const char *const *texts, size_t n)
{
    float *out = malloc(n * LT_DIM * sizeof *out);
    CU_ASSERT_PTR_NOT_NULL_FATAL(out);
    cw_error err;
    cw_error_clear(&err);
    int rc = cw_embedder_embed(e, texts, n, CW_EMBED_DOCUMENT, out, &err);
    if (rc != 0)
        fprintf(stderr, "\nembed: %s\n", err.msg);
    CU_ASSERT_EQUAL_FATAL(rc, 0);
    return out;
}

#endif
