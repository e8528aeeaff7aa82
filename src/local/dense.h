/* cw_dense — one dense product of the encoder, y[m x n] += x[m x k] W^T,
 * in the precision chosen at load (internal to src/local).
 *
 *   fp32  OpenBLAS cblas_sgemm on the F32 weights (borrowed from the
 *         caller, which keeps them alive).
 *   fp32 on oneDNN  oneDNN's f32 matmul, JIT-compiled for the CPU it runs
 *         on: the weights copied once at create into the layout the
 *         primitive prefers; added onto y (the "sum" post-op). Debian's
 *         OpenBLAS 0.3.21 falls back to its SSE3 (Prescott) kernels on
 *         CPUs newer than it knows (measured 3.4x slower here).
 *   bf16  oneDNN matmul: weights converted to bf16 once at create (in the
 *         layout the primitive prefers); x rounded to bf16 per call; f32
 *         accumulation, added onto y (the "sum" post-op).
 *   int8  oneDNN matmul s8 x s8 -> s32: weights quantized once at create
 *         with one scale per output channel (max |w| / 127); x quantized
 *         per call with one scale per row (token) or one for the whole
 *         matrix (cw_dense_act); y += s32 * x_scale * w_scale. Input
 *         channels with |x| > 6 (BERT's few outlier channels, at most 32)
 *         are left out of the int8 product and added in F32 (LLM.int8()),
 *         from an F32 copy of W^T kept for that. Measured on the model
 *         (tests/local/test_local_precision): min cosine to fp32 0.996 per
 *         token, 0.988 per tensor, 0.979 per token without the outliers.
 *
 * Created once per projection, read-only after: cw_dense_run() may run on
 * several threads at once, each with its own cw_dense_ctx. Every call is
 * single-threaded (OpenBLAS set to 1 thread by the embedder; oneDNN's
 * OpenMP team is 1 thread in every thread that calls cw_dense_ctx_create).
 */
#ifndef CW_DENSE_H
#define CW_DENSE_H

#include <stddef.h>

#include "cw_error.h"

typedef enum cw_dense_precision {
    CW_DENSE_FP32,          /* OpenBLAS */
    CW_DENSE_FP32_ONEDNN,   /* oneDNN f32 matmul (JIT for this CPU) */
    CW_DENSE_BF16,
    CW_DENSE_INT8
} cw_dense_precision;

/* How int8 quantizes the activations. */
typedef enum cw_dense_act {
    CW_DENSE_ACT_PER_TOKEN,
    CW_DENSE_ACT_PER_TENSOR
} cw_dense_act;

typedef struct cw_dense cw_dense;
typedef struct cw_dense_ctx cw_dense_ctx;

/* "fp32" (both fp32 kinds), "bf16", "int8". */
const char *cw_dense_precision_name(cw_dense_precision p);

/* A product with weights w[n x k] (row-major, borrowed: fp32 keeps the
 * pointer, bf16/int8 copy what they need). NULL + err (CW_E_CONFIG when
 * oneDNN has no implementation, naming it; CW_E_NOMEM) on failure. */
CW_MUST_CHECK cw_dense *cw_dense_create(const float *w, size_t n, size_t k,
                                        cw_dense_precision p, cw_dense_act act, cw_error *err);

/* Free; NULL is a no-op. */
void cw_dense_destroy(cw_dense *d);

/* oneDNN's implementation name ("brg:avx512_core_vnni", ...; "openblas"
 * for fp32). */
const char *cw_dense_impl(const cw_dense *d);

/* Per-thread state of one forward pass for products of up to `max_m` rows
 * and `max_k`/`max_n` columns: stream and buffers. Sets this thread's
 * OpenMP team to 1 thread. NULL + err (CW_E_NOMEM, CW_E_INTERNAL). */
CW_MUST_CHECK cw_dense_ctx *cw_dense_ctx_create(size_t max_m, size_t max_k, size_t max_n,
                                                cw_error *err);
void cw_dense_ctx_destroy(cw_dense_ctx *ctx);

/* y[m x n] += x[m x k] W^T (x and y row-major, leading dims k and n;
 * m <= the ctx's max_m). -1 + err (CW_E_INTERNAL naming the oneDNN
 * status, CW_E_NOMEM) on failure. */
CW_MUST_CHECK int cw_dense_run(const cw_dense *d, cw_dense_ctx *ctx, const float *x, size_t m,
                               float *y, cw_error *err);

#endif
