/* Element-wise math of the BERT forward pass (internal to src/local).
 *
 * Branch-free float approximations written so the compiler vectorizes them
 * (bert_math.c is built with -O3 and an AVX2 clone picked at run time):
 *   exp: Cephes-style range reduction + degree-6 polynomial, rel. error
 *        < 2e-7 on [-87, 88]; inputs below -87 give 0.
 *   erf: Abramowitz & Stegun 7.1.26, abs. error < 1.5e-7.
 * All functions work in place on x[0..n). */
#ifndef CW_BERT_MATH_H
#define CW_BERT_MATH_H

#include <stddef.h>
#include <stdint.h>

/* x[i] = exp(x[i]) */
void cw_bert_exp(float *x, size_t n);

/* x[i] = x[i] * 0.5 * (1 + erf(x[i] / sqrt(2)))   (exact GELU) */
void cw_bert_gelu(float *x, size_t n);

/* x[i] = 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))   (gelu_new) */
void cw_bert_gelu_tanh(float *x, size_t n);

/* out[i] = x[i] rounded to bf16 (nearest even); out holds n uint16. */
void cw_bert_to_bf16(const float *x, size_t n, void *out);

/* Symmetric int8: q[i] = round(x[i] / s) with s = max |x| / 127, returned
 * (0 and all-zero q for an all-zero x). */
float cw_bert_quantize_s8(const float *x, size_t n, int8_t *q);

/* max |x[i] * mask[i]| */
float cw_bert_absmax_masked(const float *x, const float *mask, size_t n);

/* q[i] = round(x[i] * mask[i] * 127 / amax), clamped to +-127 (0 for
 * amax 0). */
void cw_bert_quantize_s8_masked(const float *x, const float *mask, size_t n, float amax,
                                int8_t *q);

/* y[r][c] += acc[r][c] * row_scale[r] * col_scale[c] (int8 dequantize). */
void cw_bert_dequant_add(const int32_t *acc, const float *row_scale, const float *col_scale,
                         size_t rows, size_t cols, float *y);

#endif
