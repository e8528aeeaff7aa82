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

/* x[i] = exp(x[i]) */
void cw_bert_exp(float *x, size_t n);

/* x[i] = x[i] * 0.5 * (1 + erf(x[i] / sqrt(2)))   (exact GELU) */
void cw_bert_gelu(float *x, size_t n);

/* x[i] = 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))   (gelu_new) */
void cw_bert_gelu_tanh(float *x, size_t n);

#endif
