/* cw_dense — see dense.h. */
#include "dense.h"

#include <cblas.h>
#include <math.h>
#include <omp.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <oneapi/dnnl/dnnl.h>

#include "bert_math.h"

/* Rows of the product the weights layout is chosen for at create (any
 * other m reuses that layout). */
#define DENSE_LAYOUT_M 512
/* int8: input channels whose max |x| over the product's rows exceeds
 * DENSE_OUTLIER go through an F32 product instead (LLM.int8()'s
 * decomposition: BERT's residual stream has a few channels far larger than
 * the rest, which would crush every other channel of a token to a few
 * levels); at most DENSE_MAX_OUTLIERS of them, the largest. */
#define DENSE_OUTLIER 6.0f
#define DENSE_MAX_OUTLIERS 32

struct cw_dense {
    cw_dense_precision prec;
    cw_dense_act act;
    size_t n, k;
    const float *w32;              /* fp32 (OpenBLAS): borrowed weights */
    void *wq;                      /* oneDNN: weights in wmd's layout; NULL for OpenBLAS */
    dnnl_memory_desc_t wmd;        /* their memory descriptor */
    float *wscale;                 /* int8: [n] per output channel */
    float *wt32;                   /* int8: W^T [k x n] F32, for outlier input channels */
    char impl[64];
};

struct cw_dense_ctx {
    dnnl_stream_t stream;
    void *xq;                      /* x as bf16 or s8, max_m x max_k */
    int32_t *acc;                  /* int8: s32 product, max_m x max_n */
    float *xscale;                 /* int8: [max_m] */
    float *colmax;                 /* int8: [max_k] max |x| per input channel */
    size_t *outl;                  /* int8: the outlier channels, [DENSE_MAX_OUTLIERS] */
    float *xo;                     /* int8: x's outlier columns, max_m x DENSE_MAX_OUTLIERS */
    float *wo;                     /* int8: W's outlier columns^T, DENSE_MAX_OUTLIERS x max_n */
    void *pad;                     /* oneDNN scratchpad */
    size_t pad_size;
};

/* One CPU engine for the process (engines are thread-safe). */
static dnnl_engine_t dense_engine;
static dnnl_status_t dense_engine_status = dnnl_success;
static pthread_once_t dense_engine_once = PTHREAD_ONCE_INIT;

static void dense_engine_init(void)
{
    dense_engine_status = dnnl_engine_create(&dense_engine, dnnl_cpu, 0);
}

static int dense_dnnl_fail(cw_error *err, const char *what, dnnl_status_t st)
{
    return cw_error_set(err, CW_E_INTERNAL, "oneDNN: %s failed (status %d)", what, (int)st);
}

const char *cw_dense_precision_name(cw_dense_precision p)
{
    switch (p) {
    case CW_DENSE_BF16: return "bf16";
    case CW_DENSE_INT8: return "int8";
    case CW_DENSE_FP32:
    case CW_DENSE_FP32_ONEDNN: break;
    }
    return "fp32";
}

static dnnl_data_type_t dense_src_type(cw_dense_precision p)
{
    return p == CW_DENSE_FP32 || p == CW_DENSE_FP32_ONEDNN ? dnnl_f32 : p == CW_DENSE_BF16 ? dnnl_bf16 : dnnl_s8;
}

/* The matmul primitive descriptor for m rows; wmd NULL asks for the
 * preferred weights layout. */
static dnnl_status_t dense_pd(const cw_dense *d, size_t m, const dnnl_memory_desc_t *wmd,
                              dnnl_primitive_desc_t *pd)
{
    dnnl_memory_desc_t src, wei, dst;
    dnnl_dims_t sdims = { (dnnl_dim_t)m, (dnnl_dim_t)d->k };
    dnnl_dims_t wdims = { (dnnl_dim_t)d->k, (dnnl_dim_t)d->n };
    dnnl_dims_t ddims = { (dnnl_dim_t)m, (dnnl_dim_t)d->n };
    dnnl_primitive_attr_t attr = NULL;
    dnnl_post_ops_t po = NULL;
    dnnl_matmul_desc_t md;
    dnnl_status_t st;
    *pd = NULL;
    st = dnnl_memory_desc_init_by_tag(&src, 2, sdims, dense_src_type(d->prec), dnnl_ab);
    if (st != dnnl_success)
        return st;
    if (wmd != NULL)
        wei = *wmd;
    else if ((st = dnnl_memory_desc_init_by_tag(&wei, 2, wdims, dense_src_type(d->prec),
                                                dnnl_format_tag_any)) != dnnl_success)
        return st;
    st = dnnl_memory_desc_init_by_tag(&dst, 2, ddims, d->prec == CW_DENSE_INT8 ? dnnl_s32 : dnnl_f32,
                                      dnnl_ab);
    if (st != dnnl_success)
        return st;
    if ((st = dnnl_matmul_desc_init(&md, &src, &wei, NULL, &dst)) != dnnl_success)
        return st;
    if ((st = dnnl_primitive_attr_create(&attr)) != dnnl_success)
        return st;
    st = dnnl_primitive_attr_set_scratchpad_mode(attr, dnnl_scratchpad_mode_user);
    if (st == dnnl_success && d->prec != CW_DENSE_INT8) {
        /* y += x W^T: accumulate onto what the caller put in y. */
        st = dnnl_post_ops_create(&po);
        if (st == dnnl_success)
            st = dnnl_post_ops_append_sum(po, 1.0f);
        if (st == dnnl_success)
            st = dnnl_primitive_attr_set_post_ops(attr, po);
    }
    if (st == dnnl_success)
        st = dnnl_primitive_desc_create(pd, &md, attr, dense_engine, NULL);
    dnnl_post_ops_destroy(po);
    dnnl_primitive_attr_destroy(attr);
    return st;
}

/* Reorder plain weights src (type t, [k x n] as tag ba = our [n x k]) into
 * d->wq in d->wmd's layout. */
static int dense_reorder_in(cw_dense *d, const void *src, dnnl_data_type_t t, cw_error *err)
{
    int rc = -1;
    dnnl_memory_desc_t plain;
    dnnl_dims_t wdims = { (dnnl_dim_t)d->k, (dnnl_dim_t)d->n };
    dnnl_primitive_desc_t rpd = NULL;
    dnnl_primitive_t r = NULL;
    dnnl_memory_t ms = NULL, md = NULL;
    dnnl_stream_t s = NULL;
    dnnl_status_t st = dnnl_memory_desc_init_by_tag(&plain, 2, wdims, t, dnnl_ba);
    if (st == dnnl_success)
        st = dnnl_reorder_primitive_desc_create(&rpd, &plain, dense_engine, &d->wmd, dense_engine,
                                                NULL);
    if (st == dnnl_success)
        st = dnnl_primitive_create(&r, rpd);
    if (st == dnnl_success)
        st = dnnl_memory_create(&ms, &plain, dense_engine, (void *)src);
    if (st == dnnl_success)
        st = dnnl_memory_create(&md, &d->wmd, dense_engine, d->wq);
    if (st == dnnl_success)
        st = dnnl_stream_create(&s, dense_engine, dnnl_stream_default_flags);
    if (st == dnnl_success) {
        dnnl_exec_arg_t args[] = { { DNNL_ARG_FROM, ms }, { DNNL_ARG_TO, md } };
        st = dnnl_primitive_execute(r, s, 2, args);
    }
    if (st == dnnl_success)
        st = dnnl_stream_wait(s);
    if (st != dnnl_success) {
        dense_dnnl_fail(err, "weights reorder", st);
        goto out;
    }
    rc = 0;
out:
    dnnl_stream_destroy(s);
    dnnl_memory_destroy(ms);
    dnnl_memory_destroy(md);
    dnnl_primitive_destroy(r);
    dnnl_primitive_desc_destroy(rpd);
    return rc;
}

cw_dense *cw_dense_create(const float *w, size_t n, size_t k, cw_dense_precision p,
                          cw_dense_act act, cw_error *err)
{
    dnnl_primitive_desc_t pd = NULL;
    int8_t *q = NULL;
    cw_dense *d = calloc(1, sizeof *d);
    if (d == NULL) {
        cw_error_set(err, CW_E_NOMEM, "dense: out of memory");
        goto fail;
    }
    d->prec = p;
    d->act = act;
    d->n = n;
    d->k = k;
    d->w32 = w;
    strcpy(d->impl, "openblas");
    if (p == CW_DENSE_FP32)
        return d;
    pthread_once(&dense_engine_once, dense_engine_init);
    if (dense_engine_status != dnnl_success) {
        dense_dnnl_fail(err, "CPU engine", dense_engine_status);
        goto fail;
    }
    dnnl_status_t st = dense_pd(d, DENSE_LAYOUT_M, NULL, &pd);
    if (st != dnnl_success) {
        cw_error_set(err, CW_E_CONFIG, "oneDNN has no %s matmul on this CPU (status %d)",
                     cw_dense_precision_name(p), (int)st);
        goto fail;
    }
    const char *impl = NULL;
    if (dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &impl) == dnnl_success &&
        impl != NULL)
        snprintf(d->impl, sizeof d->impl, "%s", impl);
    d->wmd = *dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0);
    d->wq = aligned_alloc(64, (dnnl_memory_desc_get_size(&d->wmd) + 63) / 64 * 64);
    if (d->wq == NULL) {
        cw_error_set(err, CW_E_NOMEM, "dense: out of memory for weights");
        goto fail;
    }
    if (p != CW_DENSE_INT8) {
        if (dense_reorder_in(d, w, dnnl_f32, err) != 0)
            goto fail;
    } else {
        /* Symmetric per-output-channel scales: row r of W scaled by
         * max |W[r]| / 127. */
        d->wscale = malloc(n * sizeof *d->wscale);
        q = malloc(n * k);
        if (d->wscale == NULL || q == NULL) {
            cw_error_set(err, CW_E_NOMEM, "dense: out of memory for weights");
            goto fail;
        }
        for (size_t r = 0; r < n; r++)
            d->wscale[r] = cw_bert_quantize_s8(w + r * k, k, q + r * k);
        d->wt32 = malloc(n * k * sizeof *d->wt32);
        if (d->wt32 == NULL) {
            cw_error_set(err, CW_E_NOMEM, "dense: out of memory for weights");
            goto fail;
        }
        for (size_t r = 0; r < n; r++)
            for (size_t c = 0; c < k; c++)
                d->wt32[c * n + r] = w[r * k + c];
        if (dense_reorder_in(d, q, dnnl_s8, err) != 0)
            goto fail;
    }
    free(q);
    dnnl_primitive_desc_destroy(pd);
    return d;
fail:
    free(q);
    dnnl_primitive_desc_destroy(pd);
    cw_dense_destroy(d);
    return NULL;
}

void cw_dense_destroy(cw_dense *d)
{
    if (d == NULL)
        return;
    free(d->wq);
    free(d->wscale);
    free(d->wt32);
    free(d);
}

const char *cw_dense_impl(const cw_dense *d)
{
    return d->impl;
}

cw_dense_ctx *cw_dense_ctx_create(size_t max_m, size_t max_k, size_t max_n, cw_error *err)
{
    cw_dense_ctx *c = calloc(1, sizeof *c);
    if (c == NULL)
        goto nomem;
    /* This thread computes alone: no OpenMP team (whose idle threads would
     * spin) inside oneDNN's primitives. */
    omp_set_num_threads(1);
    c->xq = malloc(max_m * max_k * 2);
    c->acc = malloc(max_m * max_n * sizeof *c->acc);
    c->xscale = malloc(max_m * sizeof *c->xscale);
    c->colmax = malloc(max_k * sizeof *c->colmax);
    c->outl = malloc(DENSE_MAX_OUTLIERS * sizeof *c->outl);
    c->xo = malloc(max_m * DENSE_MAX_OUTLIERS * sizeof *c->xo);
    c->wo = malloc(DENSE_MAX_OUTLIERS * max_n * sizeof *c->wo);
    if (c->xq == NULL || c->acc == NULL || c->xscale == NULL || c->colmax == NULL ||
        c->outl == NULL || c->xo == NULL || c->wo == NULL)
        goto nomem;
    pthread_once(&dense_engine_once, dense_engine_init);
    if (dense_engine_status == dnnl_success) {
        dnnl_status_t st = dnnl_stream_create(&c->stream, dense_engine, dnnl_stream_default_flags);
        if (st != dnnl_success) {
            dense_dnnl_fail(err, "stream", st);
            cw_dense_ctx_destroy(c);
            return NULL;
        }
    }
    return c;
nomem:
    cw_error_set(err, CW_E_NOMEM, "dense: out of memory for %zu rows", max_m);
    cw_dense_ctx_destroy(c);
    return NULL;
}

void cw_dense_ctx_destroy(cw_dense_ctx *c)
{
    if (c == NULL)
        return;
    if (c->stream != NULL)
        dnnl_stream_destroy(c->stream);
    free(c->xq);
    free(c->acc);
    free(c->xscale);
    free(c->colmax);
    free(c->outl);
    free(c->xo);
    free(c->wo);
    free(c->pad);
    free(c);
}

/* The outlier input channels of x[m x k] into c->outl (largest first);
 * c->colmax becomes the mask: 0 on them, 1 elsewhere. Returns how many. */
static size_t dense_outliers(size_t k, cw_dense_ctx *c, const float *x, size_t m)
{
    float *cm = c->colmax;
    for (size_t j = 0; j < k; j++)
        cm[j] = 0.0f;
    for (size_t r = 0; r < m; r++) {
        const float *row = x + r * k;
        for (size_t j = 0; j < k; j++) {
            float a = fabsf(row[j]);
            cm[j] = a > cm[j] ? a : cm[j];
        }
    }
    size_t no = 0;
    while (no < DENSE_MAX_OUTLIERS) {
        size_t best = k;
        float bv = DENSE_OUTLIER;
        for (size_t j = 0; j < k; j++) {
            if (cm[j] > bv) {
                bv = cm[j];
                best = j;
            }
        }
        if (best == k)
            break;
        c->outl[no++] = best;
        cm[best] = -1.0f;   /* taken */
    }
    for (size_t j = 0; j < k; j++)
        cm[j] = cm[j] < 0.0f ? 0.0f : 1.0f;
    return no;
}

/* int8: x[m x k] into c->xq as s8 with c->xscale per row (or one scale
 * for all rows), leaving out the outlier channels; returns how many
 * outliers (c->outl). */
static size_t dense_quantize(const cw_dense *d, cw_dense_ctx *c, const float *x, size_t m)
{
    size_t k = d->k;
    size_t no = dense_outliers(k, c, x, m);
    const float *mask = c->colmax;   /* 1, or 0 on the outlier channels */
    float amax = 0.0f;
    if (d->act == CW_DENSE_ACT_PER_TENSOR) {
        for (size_t r = 0; r < m; r++) {
            float a = cw_bert_absmax_masked(x + r * k, mask, k);
            amax = a > amax ? a : amax;
        }
    }
    for (size_t r = 0; r < m; r++) {
        if (d->act != CW_DENSE_ACT_PER_TENSOR)
            amax = cw_bert_absmax_masked(x + r * k, mask, k);
        c->xscale[r] = amax / 127.0f;
        cw_bert_quantize_s8_masked(x + r * k, mask, k, amax, (int8_t *)c->xq + r * k);
    }
    return no;
}

/* int8: y += x[:, O] W[:, O]^T in F32 for the `no` outlier channels O. */
static void dense_outliers_add(const cw_dense *d, cw_dense_ctx *c, const float *x, size_t m,
                               size_t no, float *y)
{
    size_t n = d->n, k = d->k;
    for (size_t r = 0; r < m; r++)
        for (size_t j = 0; j < no; j++)
            c->xo[r * no + j] = x[r * k + c->outl[j]];
    for (size_t j = 0; j < no; j++)
        memcpy(c->wo + j * n, d->wt32 + c->outl[j] * n, n * sizeof *c->wo);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)m, (int)n, (int)no, 1.0f, c->xo,
                (int)no, c->wo, (int)n, 1.0f, y, (int)n);
}

/* The oneDNN matmul of m rows: src (x's f32, bf16 or s8 form) times the
 * weights into dst (y, or the s32 accumulator for int8). */
static int dense_execute(const cw_dense *d, cw_dense_ctx *c, size_t m, void *src, void *dst,
                         cw_error *err)
{
    int rc = -1;
    dnnl_primitive_desc_t pd = NULL;
    dnnl_primitive_t prim = NULL;
    dnnl_memory_t ms = NULL, mw = NULL, md = NULL, mp = NULL;
    /* oneDNN's primitive cache makes the same shape's creation cheap. */
    dnnl_status_t st = dense_pd(d, m, &d->wmd, &pd);
    if (st != dnnl_success) {
        dense_dnnl_fail(err, "matmul descriptor", st);
        goto out;
    }
    const dnnl_memory_desc_t *smd = dnnl_primitive_desc_query_md(pd, dnnl_query_src_md, 0);
    const dnnl_memory_desc_t *dmd = dnnl_primitive_desc_query_md(pd, dnnl_query_dst_md, 0);
    const dnnl_memory_desc_t *pmd = dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0);
    size_t need = pmd != NULL ? dnnl_memory_desc_get_size(pmd) : 0;
    if (need > c->pad_size) {
        free(c->pad);
        c->pad_size = 0;
        c->pad = aligned_alloc(64, (need + 63) / 64 * 64);
        if (c->pad == NULL) {
            cw_error_set(err, CW_E_NOMEM, "dense: out of memory for scratch");
            goto out;
        }
        c->pad_size = need;
    }
    st = dnnl_primitive_create(&prim, pd);
    if (st == dnnl_success)
        st = dnnl_memory_create(&ms, smd, dense_engine, src);
    if (st == dnnl_success)
        st = dnnl_memory_create(&mw, &d->wmd, dense_engine, d->wq);
    if (st == dnnl_success)
        st = dnnl_memory_create(&md, dmd, dense_engine, dst);
    if (st == dnnl_success && need > 0)
        st = dnnl_memory_create(&mp, pmd, dense_engine, c->pad);
    if (st == dnnl_success) {
        dnnl_exec_arg_t args[] = { { DNNL_ARG_SRC, ms }, { DNNL_ARG_WEIGHTS, mw },
                                   { DNNL_ARG_DST, md }, { DNNL_ARG_SCRATCHPAD, mp } };
        st = dnnl_primitive_execute(prim, c->stream, need > 0 ? 4 : 3, args);
    }
    if (st == dnnl_success)
        st = dnnl_stream_wait(c->stream);
    if (st != dnnl_success) {
        dense_dnnl_fail(err, "matmul", st);
        goto out;
    }
    rc = 0;
out:
    dnnl_memory_destroy(ms);
    dnnl_memory_destroy(mw);
    dnnl_memory_destroy(md);
    dnnl_memory_destroy(mp);
    dnnl_primitive_destroy(prim);
    dnnl_primitive_desc_destroy(pd);
    return rc;
}

int cw_dense_run(const cw_dense *d, cw_dense_ctx *c, const float *x, size_t m, float *y,
                 cw_error *err)
{
    size_t n = d->n, k = d->k;
    if (d->wq == NULL) {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)m, (int)n, (int)k, 1.0f, x,
                    (int)k, d->w32, (int)k, 1.0f, y, (int)n);
        return 0;
    }
    switch (d->prec) {
    case CW_DENSE_FP32:
    case CW_DENSE_FP32_ONEDNN:
        return dense_execute(d, c, m, (void *)x, y, err);
    case CW_DENSE_BF16:
        cw_bert_to_bf16(x, m * k, c->xq);
        return dense_execute(d, c, m, c->xq, y, err);
    case CW_DENSE_INT8:
        break;
    }
    size_t no = dense_quantize(d, c, x, m);
    if (dense_execute(d, c, m, c->xq, c->acc, err) != 0)
        return -1;
    cw_bert_dequant_add(c->acc, c->xscale, d->wscale, m, n, y);
    if (no > 0)
        dense_outliers_add(d, c, x, m, no, y);
    return 0;
}
