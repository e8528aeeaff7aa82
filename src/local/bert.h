/* cw_bert — a BERT encoder (all-MiniLM-L6-v2 and any BertModel of the same
 * shape) computed in F32 with CBLAS.
 *
 * Sizes (hidden, layers, heads, intermediate, vocab, positions, token
 * types, LayerNorm eps, hidden_act gelu|gelu_new) come from config.json.
 * Weights come from a safetensors file (F16, BF16 or F32; converted to F32
 * at load); tensor names with or without a "bert." prefix, and LayerNorm
 * gamma/beta as well as weight/bias, are accepted. Every tensor's shape is
 * checked against the config.
 *
 * Precision (cw_bert_options): the four dense products of each layer run
 * through cw_dense (dense.h) in fp32 (OpenBLAS), bf16 or int8 (oneDNN),
 * weights converted once here; attention, LayerNorm and GELU stay F32.
 *
 * Forward pass: the texts of a batch are packed into one [tokens x hidden]
 * matrix for the dense layers (one sgemm per projection for the whole
 * batch); attention runs per text and head (no padding, so no mask). The
 * model is read-only after create: cw_bert_forward() may run on several
 * threads at once, each with its own scratch and cw_dense_ctx. It computes
 * in the calling thread only; the caller decides how many threads compute.
 */
#ifndef CW_BERT_H
#define CW_BERT_H

#include <stddef.h>
#include <stdint.h>

#include "cw_error.h"
#include "dense.h"

typedef struct cw_bert_config {
    size_t hidden, layers, heads, intermediate;
    size_t vocab, max_positions, type_vocab;
    float ln_eps;
    int gelu_tanh;     /* 0: exact GELU (erf); 1: tanh approximation */
} cw_bert_config;

typedef struct cw_bert cw_bert;

typedef struct cw_bert_options {
    cw_dense_precision precision;   /* default (zero): fp32 */
    cw_dense_act act;               /* int8 activations; default per token */
} cw_bert_options;

/* Load config.json and the weights; opt NULL = fp32. NULL + err
 * (CW_E_CONFIG naming the file and the problem or the missing oneDNN
 * implementation, or CW_E_NOMEM) on failure. */
CW_MUST_CHECK cw_bert *cw_bert_create(const char *config_path, const char *weights_path,
                                      const cw_bert_options *opt, cw_error *err);

/* Free; NULL is a no-op. */
void cw_bert_destroy(cw_bert *b);

const cw_bert_config *cw_bert_get_config(const cw_bert *b);
const cw_bert_options *cw_bert_get_options(const cw_bert *b);

/* The dense products' implementation (cw_dense_impl of the first FFN). */
const char *cw_bert_impl(const cw_bert *b);

/* A per-thread context for forward passes of up to `tokens` tokens (sets
 * the calling thread's OpenMP team to 1). Destroy with
 * cw_dense_ctx_destroy(). NULL + err on failure. */
CW_MUST_CHECK cw_dense_ctx *cw_bert_ctx_create(const cw_bert *b, size_t tokens, cw_error *err);

/* Floats of scratch cw_bert_forward() needs for `tokens` packed tokens
 * whose longest text has `max_len` tokens. */
size_t cw_bert_scratch_floats(const cw_bert *b, size_t tokens, size_t max_len);

/* Encode n texts: ids holds their tokens back to back (lens[i] each, every
 * len in 1..max_positions, every id < vocab — the caller guarantees it;
 * at most the ctx's tokens in all). Writes the last hidden states into
 * out[tokens x hidden]. 0, or -1 + err when oneDNN fails (CW_E_INTERNAL,
 * CW_E_NOMEM; fp32 never fails). */
CW_MUST_CHECK int cw_bert_forward(const cw_bert *b, const int32_t *ids, const size_t *lens,
                                  size_t n, float *scratch, cw_dense_ctx *ctx, float *out,
                                  cw_error *err);

/* FLOPs of the dense and attention products for one text of `len` tokens
 * (for benchmarks). */
double cw_bert_flops(const cw_bert *b, size_t len);

#endif
