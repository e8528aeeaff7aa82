/* Element-wise math for the BERT forward pass — see bert_math.h. */
#include "bert_math.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define BM_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define BM_CLONES
#endif

/* exp of one value; inlined into the loops below so they vectorize. */
static inline float bm_exp1(float x)
{
    const float magic = 12582912.0f;   /* 1.5 * 2^23: round to nearest integer */
    x = x < -87.0f ? -87.0f : x;
    x = x > 88.0f ? 88.0f : x;
    float t = x * 1.44269504088896341f + magic;
    float n = t - magic;
    int32_t ti;
    memcpy(&ti, &t, sizeof ti);
    int32_t ni = ti - 0x4B400000;       /* the integer n, from t's mantissa */
    float r = x - n * 0.693359375f;
    r = r + n * 2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * r * r + r + 1.0f;
    int32_t bits = (ni + 127) << 23;
    float scale;
    memcpy(&scale, &bits, sizeof scale);
    return p * scale;
}

BM_CLONES void cw_bert_exp(float *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        x[i] = bm_exp1(x[i]);
}

BM_CLONES void cw_bert_gelu(float *x, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        float v = x[i];
        float z = fabsf(v) * 0.70710678118654752f;
        float t = 1.0f / (1.0f + 0.3275911f * z);
        float poly = t * (0.254829592f +
                          t * (-0.284496736f +
                               t * (1.421413741f + t * (-1.453152027f + t * 1.061405429f))));
        float erf_abs = 1.0f - poly * bm_exp1(-z * z);
        float erf_v = copysignf(erf_abs, v);
        x[i] = 0.5f * v * (1.0f + erf_v);
    }
}

BM_CLONES void cw_bert_gelu_tanh(float *x, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        float v = x[i];
        float u = 0.7978845608028654f * (v + 0.044715f * v * v * v);
        /* tanh(u) = 1 - 2 / (exp(2u) + 1) */
        float e = bm_exp1(2.0f * u);
        x[i] = 0.5f * v * (1.0f + (1.0f - 2.0f / (e + 1.0f)));
    }
}

/* Round to nearest even bf16 (the upper half of the float). Finite inputs
 * only (the model's activations are). */
BM_CLONES void cw_bert_to_bf16(const float *x, size_t n, void *out)
{
    uint16_t *o = out;
    for (size_t i = 0; i < n; i++) {
        uint32_t u;
        memcpy(&u, &x[i], sizeof u);
        u += 0x7FFFu + ((u >> 16) & 1u);
        o[i] = (uint16_t)(u >> 16);
    }
}

BM_CLONES float cw_bert_quantize_s8(const float *x, size_t n, int8_t *q)
{
    float amax = 0.0f;
    for (size_t i = 0; i < n; i++) {
        float a = fabsf(x[i]);
        amax = a > amax ? a : amax;
    }
    if (amax == 0.0f) {
        memset(q, 0, n);
        return 0.0f;
    }
    float inv = 127.0f / amax;
    for (size_t i = 0; i < n; i++) {
        float v = x[i] * inv;
        v = v >= 0.0f ? v + 0.5f : v - 0.5f;   /* round half away from zero */
        q[i] = (int8_t)(int32_t)v;             /* |v| <= 127.5: in range */
    }
    return amax / 127.0f;
}

BM_CLONES void cw_bert_dequant_add(const int32_t *acc, const float *row_scale,
                                   const float *col_scale, size_t rows, size_t cols, float *y)
{
    for (size_t r = 0; r < rows; r++) {
        const int32_t *a = acc + r * cols;
        float *d = y + r * cols;
        float s = row_scale[r];
        for (size_t c = 0; c < cols; c++)
            d[c] += (float)a[c] * (s * col_scale[c]);
    }
}

BM_CLONES float cw_bert_absmax_masked(const float *x, const float *mask, size_t n)
{
    float amax = 0.0f;
    for (size_t i = 0; i < n; i++) {
        float a = fabsf(x[i] * mask[i]);
        amax = a > amax ? a : amax;
    }
    return amax;
}

BM_CLONES void cw_bert_quantize_s8_masked(const float *x, const float *mask, size_t n, float amax,
                                          int8_t *q)
{
    float inv = amax > 0.0f ? 127.0f / amax : 0.0f;
    for (size_t i = 0; i < n; i++) {
        float v = x[i] * mask[i] * inv;
        v = v > 127.0f ? 127.0f : v;
        v = v < -127.0f ? -127.0f : v;
        v = v >= 0.0f ? v + 0.5f : v - 0.5f;
        q[i] = (int8_t)(int32_t)v;
    }
}
