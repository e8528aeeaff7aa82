/* cw_bert — see bert.h. */
#include "bert.h"

#include <cblas.h>
#include <json-c/json.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bert_math.h"
#include "safetensors.h"

typedef struct bert_layer {
    float *wqkv, *bqkv;       /* [3H x H], [3H]: query, key, value rows stacked */
    float *wo, *bo;           /* [H x H], [H] */
    float *ln1_g, *ln1_b;     /* [H] */
    float *w1, *b1;           /* [I x H], [I] */
    float *w2, *b2;           /* [H x I], [H] */
    float *ln2_g, *ln2_b;     /* [H] */
    cw_dense *dqkv, *dwo, *dw1, *dw2;   /* the four products in cfg precision */
} bert_layer;

struct cw_bert {
    cw_bert_config cfg;
    float *word, *pos, *type;  /* [V x H], [P x H], [types x H] */
    float *emb_ln_g, *emb_ln_b;
    bert_layer *layer;         /* cfg.layers entries */
    cw_bert_options opt;
};

/* ---- config.json ---- */

static int bert_cfg_size(json_object *root, const char *path, const char *key, size_t *out,
                         cw_error *err)
{
    json_object *v = NULL;
    if (!json_object_object_get_ex(root, key, &v) || !json_object_is_type(v, json_type_int) ||
        json_object_get_int64(v) <= 0 || json_object_get_int64(v) > (1 << 20))
        return cw_error_set(err, CW_E_CONFIG, "%s: missing or bad \"%s\"", path, key);
    *out = (size_t)json_object_get_int64(v);
    return 0;
}

static int bert_read_config(const char *path, cw_bert_config *cfg, cw_error *err)
{
    int rc = -1;
    json_object *root = json_object_from_file(path);
    if (root == NULL || !json_object_is_type(root, json_type_object)) {
        cw_error_set(err, CW_E_CONFIG, "%s: cannot read model config JSON", path);
        goto out;
    }
    if (bert_cfg_size(root, path, "hidden_size", &cfg->hidden, err) != 0 ||
        bert_cfg_size(root, path, "num_hidden_layers", &cfg->layers, err) != 0 ||
        bert_cfg_size(root, path, "num_attention_heads", &cfg->heads, err) != 0 ||
        bert_cfg_size(root, path, "intermediate_size", &cfg->intermediate, err) != 0 ||
        bert_cfg_size(root, path, "vocab_size", &cfg->vocab, err) != 0 ||
        bert_cfg_size(root, path, "max_position_embeddings", &cfg->max_positions, err) != 0)
        goto out;
    json_object *v = NULL;
    cfg->type_vocab = 2;
    if (json_object_object_get_ex(root, "type_vocab_size", &v) &&
        bert_cfg_size(root, path, "type_vocab_size", &cfg->type_vocab, err) != 0)
        goto out;
    cfg->ln_eps = 1e-12f;
    if (json_object_object_get_ex(root, "layer_norm_eps", &v)) {
        if (!json_object_is_type(v, json_type_double) && !json_object_is_type(v, json_type_int)) {
            cw_error_set(err, CW_E_CONFIG, "%s: bad \"layer_norm_eps\"", path);
            goto out;
        }
        cfg->ln_eps = (float)json_object_get_double(v);
        /* Not positive: LayerNorm of a flat row divides by zero or takes
         * the root of a negative number, and every vector is NaN. */
        if (!(cfg->ln_eps > 0.0f && cfg->ln_eps < 1.0f)) {
            cw_error_set(err, CW_E_CONFIG, "%s: bad \"layer_norm_eps\"", path);
            goto out;
        }
    }
    cfg->gelu_tanh = 0;
    if (json_object_object_get_ex(root, "hidden_act", &v)) {
        const char *act = json_object_is_type(v, json_type_string) ? json_object_get_string(v)
                                                                   : NULL;
        if (act == NULL) {
            cw_error_set(err, CW_E_CONFIG, "%s: unsupported hidden_act %s", path,
                         json_object_to_json_string(v));
            goto out;
        }
        if (strcmp(act, "gelu_new") == 0 || strcmp(act, "gelu_pytorch_tanh") == 0) {
            cfg->gelu_tanh = 1;
        } else if (strcmp(act, "gelu") != 0) {
            cw_error_set(err, CW_E_CONFIG, "%s: unsupported hidden_act \"%s\"", path, act);
            goto out;
        }
    }
    if (cfg->hidden % cfg->heads != 0) {
        cw_error_set(err, CW_E_CONFIG, "%s: hidden_size %zu not divisible by %zu heads", path,
                     cfg->hidden, cfg->heads);
        goto out;
    }
    rc = 0;
out:
    json_object_put(root);
    return rc;
}

/* ---- weights ---- */

/* Find `name` under the usual prefixes and LayerNorm spellings. */
static const cw_st_tensor *bert_find(const cw_safetensors *st, const char *name)
{
    static const char *const prefixes[] = { "", "bert.", "model.", "0.auto_model." };
    char buf[256];
    for (size_t p = 0; p < sizeof prefixes / sizeof prefixes[0]; p++) {
        snprintf(buf, sizeof buf, "%s%s", prefixes[p], name);
        const cw_st_tensor *t = cw_safetensors_find(st, buf);
        if (t != NULL)
            return t;
        /* Old TF-converted checkpoints name LayerNorm parameters gamma/beta. */
        size_t len = strlen(buf);
        if (strstr(buf, "LayerNorm.") != NULL && len > 7) {
            if (strcmp(buf + len - 7, ".weight") == 0)
                strcpy(buf + len - 7, ".gamma");
            else if (len > 5 && strcmp(buf + len - 5, ".bias") == 0)
                strcpy(buf + len - 5, ".beta");
            t = cw_safetensors_find(st, buf);
            if (t != NULL)
                return t;
        }
    }
    return NULL;
}

/* Copy tensor `name` of shape [rows] (cols == 0) or [rows x cols] into dst. */
static int bert_load(const cw_safetensors *st, const char *path, const char *name, size_t rows,
                     size_t cols, float *dst, cw_error *err)
{
    const cw_st_tensor *t = bert_find(st, name);
    if (t == NULL)
        return cw_error_set(err, CW_E_CONFIG, "%s: tensor '%s' missing", path, name);
    int ok = cols == 0 ? (t->ndim == 1 && t->shape[0] == rows)
                       : (t->ndim == 2 && t->shape[0] == rows && t->shape[1] == cols);
    if (!ok)
        return cw_error_set(err, CW_E_CONFIG, "%s: tensor '%s' has the wrong shape for config.json",
                            path, t->name);
    size_t n = cols == 0 ? rows : rows * cols;
    cw_error e2;
    cw_error_clear(&e2);
    if (cw_safetensors_to_f32(t, dst, n, &e2) != 0)
        return cw_error_set(err, e2.code, "%s: %s", path, e2.msg);
    /* A NaN or Inf (a flipped bit) would poison every vector. */
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(dst[i]))
            return cw_error_set(err, CW_E_CONFIG,
                                "%s: tensor '%s' holds a non-finite value at %zu (corrupt file?)",
                                path, t->name, i);
    }
    return 0;
}

static float *bert_alloc(size_t n, cw_error *err)
{
    float *p = malloc(n * sizeof *p);
    if (p == NULL)
        cw_error_set(err, CW_E_NOMEM, "bert: out of memory (%zu floats)", n);
    return p;
}

static int bert_load_layer(cw_bert *b, const cw_safetensors *st, const char *path, size_t l,
                           cw_error *err)
{
    size_t H = b->cfg.hidden, IM = b->cfg.intermediate;
    bert_layer *ly = &b->layer[l];
    char name[128];
#define LNAME(suffix) (snprintf(name, sizeof name, "encoder.layer.%zu.%s", l, suffix), name)
    ly->wqkv = bert_alloc(3 * H * H, err);
    ly->bqkv = bert_alloc(3 * H, err);
    ly->wo = bert_alloc(H * H, err);
    ly->bo = bert_alloc(H, err);
    ly->ln1_g = bert_alloc(H, err);
    ly->ln1_b = bert_alloc(H, err);
    ly->w1 = bert_alloc(IM * H, err);
    ly->b1 = bert_alloc(IM, err);
    ly->w2 = bert_alloc(H * IM, err);
    ly->b2 = bert_alloc(H, err);
    ly->ln2_g = bert_alloc(H, err);
    ly->ln2_b = bert_alloc(H, err);
    if (ly->wqkv == NULL || ly->bqkv == NULL || ly->wo == NULL || ly->bo == NULL ||
        ly->ln1_g == NULL || ly->ln1_b == NULL || ly->w1 == NULL || ly->b1 == NULL ||
        ly->w2 == NULL || ly->b2 == NULL || ly->ln2_g == NULL || ly->ln2_b == NULL)
        return -1;
    if (bert_load(st, path, LNAME("attention.self.query.weight"), H, H, ly->wqkv, err) != 0 ||
        bert_load(st, path, LNAME("attention.self.key.weight"), H, H, ly->wqkv + H * H, err) != 0 ||
        bert_load(st, path, LNAME("attention.self.value.weight"), H, H, ly->wqkv + 2 * H * H,
                  err) != 0 ||
        bert_load(st, path, LNAME("attention.self.query.bias"), H, 0, ly->bqkv, err) != 0 ||
        bert_load(st, path, LNAME("attention.self.key.bias"), H, 0, ly->bqkv + H, err) != 0 ||
        bert_load(st, path, LNAME("attention.self.value.bias"), H, 0, ly->bqkv + 2 * H, err) != 0 ||
        bert_load(st, path, LNAME("attention.output.dense.weight"), H, H, ly->wo, err) != 0 ||
        bert_load(st, path, LNAME("attention.output.dense.bias"), H, 0, ly->bo, err) != 0 ||
        bert_load(st, path, LNAME("attention.output.LayerNorm.weight"), H, 0, ly->ln1_g,
                  err) != 0 ||
        bert_load(st, path, LNAME("attention.output.LayerNorm.bias"), H, 0, ly->ln1_b, err) != 0 ||
        bert_load(st, path, LNAME("intermediate.dense.weight"), IM, H, ly->w1, err) != 0 ||
        bert_load(st, path, LNAME("intermediate.dense.bias"), IM, 0, ly->b1, err) != 0 ||
        bert_load(st, path, LNAME("output.dense.weight"), H, IM, ly->w2, err) != 0 ||
        bert_load(st, path, LNAME("output.dense.bias"), H, 0, ly->b2, err) != 0 ||
        bert_load(st, path, LNAME("output.LayerNorm.weight"), H, 0, ly->ln2_g, err) != 0 ||
        bert_load(st, path, LNAME("output.LayerNorm.bias"), H, 0, ly->ln2_b, err) != 0)
        return -1;
#undef LNAME
    return 0;
}

/* The layer's four products in b->opt's precision; oneDNN copies the
 * weights, so their F32 copies are freed (OpenBLAS fp32 borrows them). */
static int bert_make_dense(cw_bert *b, bert_layer *ly, cw_error *err)
{
    size_t H = b->cfg.hidden, IM = b->cfg.intermediate;
    cw_dense_precision p = b->opt.precision;
    cw_dense_act a = b->opt.act;
    ly->dqkv = cw_dense_create(ly->wqkv, 3 * H, H, p, a, err);
    if (ly->dqkv == NULL)
        return -1;
    ly->dwo = cw_dense_create(ly->wo, H, H, p, a, err);
    if (ly->dwo == NULL)
        return -1;
    ly->dw1 = cw_dense_create(ly->w1, IM, H, p, a, err);
    if (ly->dw1 == NULL)
        return -1;
    ly->dw2 = cw_dense_create(ly->w2, H, IM, p, a, err);
    if (ly->dw2 == NULL)
        return -1;
    if (p != CW_DENSE_FP32) {
        free(ly->wqkv);
        free(ly->wo);
        free(ly->w1);
        free(ly->w2);
        ly->wqkv = ly->wo = ly->w1 = ly->w2 = NULL;
    }
    return 0;
}

cw_bert *cw_bert_create(const char *config_path, const char *weights_path,
                        const cw_bert_options *opt, cw_error *err)
{
    cw_safetensors *st = NULL;
    cw_bert *b = calloc(1, sizeof *b);
    if (b == NULL) {
        cw_error_set(err, CW_E_NOMEM, "bert: out of memory");
        goto fail;
    }
    if (opt != NULL)
        b->opt = *opt;
    if (bert_read_config(config_path, &b->cfg, err) != 0)
        goto fail;
    st = cw_safetensors_create(weights_path, err);
    if (st == NULL)
        goto fail;
    const cw_bert_config *c = &b->cfg;
    size_t H = c->hidden;
    b->layer = calloc(c->layers, sizeof *b->layer);
    if (b->layer == NULL) {
        cw_error_set(err, CW_E_NOMEM, "bert: out of memory");
        goto fail;
    }
    b->word = bert_alloc(c->vocab * H, err);
    b->pos = bert_alloc(c->max_positions * H, err);
    b->type = bert_alloc(c->type_vocab * H, err);
    b->emb_ln_g = bert_alloc(H, err);
    b->emb_ln_b = bert_alloc(H, err);
    if (b->word == NULL || b->pos == NULL || b->type == NULL || b->emb_ln_g == NULL ||
        b->emb_ln_b == NULL)
        goto fail;
    if (bert_load(st, weights_path, "embeddings.word_embeddings.weight", c->vocab, H, b->word,
                  err) != 0 ||
        bert_load(st, weights_path, "embeddings.position_embeddings.weight", c->max_positions, H,
                  b->pos, err) != 0 ||
        bert_load(st, weights_path, "embeddings.token_type_embeddings.weight", c->type_vocab, H,
                  b->type, err) != 0 ||
        bert_load(st, weights_path, "embeddings.LayerNorm.weight", H, 0, b->emb_ln_g, err) != 0 ||
        bert_load(st, weights_path, "embeddings.LayerNorm.bias", H, 0, b->emb_ln_b, err) != 0)
        goto fail;
    for (size_t l = 0; l < c->layers; l++) {
        if (bert_load_layer(b, st, weights_path, l, err) != 0 ||
            bert_make_dense(b, &b->layer[l], err) != 0)
            goto fail;
    }
    cw_safetensors_destroy(st);
    return b;
fail:
    cw_safetensors_destroy(st);
    cw_bert_destroy(b);
    return NULL;
}

void cw_bert_destroy(cw_bert *b)
{
    if (b == NULL)
        return;
    if (b->layer != NULL) {
        for (size_t l = 0; l < b->cfg.layers; l++) {
            bert_layer *ly = &b->layer[l];
            free(ly->wqkv);
            free(ly->bqkv);
            free(ly->wo);
            free(ly->bo);
            free(ly->ln1_g);
            free(ly->ln1_b);
            free(ly->w1);
            free(ly->b1);
            free(ly->w2);
            free(ly->b2);
            free(ly->ln2_g);
            free(ly->ln2_b);
            cw_dense_destroy(ly->dqkv);
            cw_dense_destroy(ly->dwo);
            cw_dense_destroy(ly->dw1);
            cw_dense_destroy(ly->dw2);
        }
        free(b->layer);
    }
    free(b->word);
    free(b->pos);
    free(b->type);
    free(b->emb_ln_g);
    free(b->emb_ln_b);
    free(b);
}

const cw_bert_config *cw_bert_get_config(const cw_bert *b)
{
    return &b->cfg;
}

const cw_bert_options *cw_bert_get_options(const cw_bert *b)
{
    return &b->opt;
}

const char *cw_bert_impl(const cw_bert *b)
{
    return b->cfg.layers > 0 ? cw_dense_impl(b->layer[0].dw1) : "none";
}

cw_dense_ctx *cw_bert_ctx_create(const cw_bert *b, size_t tokens, cw_error *err)
{
    const cw_bert_config *c = &b->cfg;
    size_t wide = c->intermediate > 3 * c->hidden ? c->intermediate : 3 * c->hidden;
    return cw_dense_ctx_create(tokens, wide, wide, err);
}

size_t cw_bert_scratch_floats(const cw_bert *b, size_t tokens, size_t max_len)
{
    const cw_bert_config *c = &b->cfg;
    return tokens * (5 * c->hidden + c->intermediate) + max_len * max_len;
}

double cw_bert_flops(const cw_bert *b, size_t len)
{
    const cw_bert_config *c = &b->cfg;
    double H = (double)c->hidden, IM = (double)c->intermediate, L = (double)len;
    double dense = 2.0 * L * H * (4.0 * H + 2.0 * IM);
    double attention = 4.0 * L * L * H;
    return (double)c->layers * (dense + attention);
}

/* ---- forward ---- */

/* Every row of m[rows x cols] := v (bias broadcast). */
static void bert_fill_rows(float *m, const float *v, size_t rows, size_t cols)
{
    for (size_t r = 0; r < rows; r++)
        memcpy(m + r * cols, v, cols * sizeof *m);
}

/* dst[r] := src[r] + bias, row by row (residual plus bias). */
static void bert_add_rows(float *dst, const float *src, const float *bias, size_t rows,
                          size_t cols)
{
    for (size_t r = 0; r < rows; r++) {
        float *d = dst + r * cols;
        const float *s = src + r * cols;
        for (size_t i = 0; i < cols; i++)
            d[i] = s[i] + bias[i];
    }
}

/* out[r] := LayerNorm(in[r]) * g + b for each row. */
static void bert_layernorm(float *out, const float *in, const float *g, const float *bias,
                           size_t rows, size_t cols, float eps)
{
    for (size_t r = 0; r < rows; r++) {
        const float *x = in + r * cols;
        float *y = out + r * cols;
        float mean = 0.0f;
        for (size_t i = 0; i < cols; i++)
            mean += x[i];
        mean /= (float)cols;
        float var = 0.0f;
        for (size_t i = 0; i < cols; i++) {
            float d = x[i] - mean;
            var += d * d;
        }
        var /= (float)cols;
        float inv = 1.0f / sqrtf(var + eps);
        for (size_t i = 0; i < cols; i++)
            y[i] = (x[i] - mean) * inv * g[i] + bias[i];
    }
}

/* Row-wise softmax of s[n x n]. */
static void bert_softmax(float *s, size_t n)
{
    for (size_t r = 0; r < n; r++) {
        float *row = s + r * n;
        float mx = row[0];
        for (size_t i = 1; i < n; i++)
            mx = row[i] > mx ? row[i] : mx;
        for (size_t i = 0; i < n; i++)
            row[i] = row[i] - mx;
        cw_bert_exp(row, n);
        float sum = 0.0f;
        for (size_t i = 0; i < n; i++)
            sum += row[i];
        float inv = 1.0f / sum;
        for (size_t i = 0; i < n; i++)
            row[i] *= inv;
    }
}

/* Self-attention for every text and head: ctx[T x H] from qkv[T x 3H]. */
static void bert_attention(const cw_bert_config *c, const size_t *lens, size_t n,
                           const float *qkv, float *ctx, float *scores)
{
    size_t H = c->hidden, dh = H / c->heads;
    float scale = 1.0f / sqrtf((float)dh);
    size_t off = 0;
    for (size_t i = 0; i < n; i++) {
        size_t len = lens[i];
        for (size_t h = 0; h < c->heads; h++) {
            const float *q = qkv + off * 3 * H + h * dh;
            const float *k = q + H;
            const float *v = q + 2 * H;
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)len, (int)len, (int)dh,
                        scale, q, (int)(3 * H), k, (int)(3 * H), 0.0f, scores, (int)len);
            bert_softmax(scores, len);
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)len, (int)dh, (int)len,
                        1.0f, scores, (int)len, v, (int)(3 * H), 0.0f, ctx + off * H + h * dh,
                        (int)H);
        }
        off += len;
    }
}

int cw_bert_forward(const cw_bert *b, const int32_t *ids, const size_t *lens, size_t n,
                    float *scratch, cw_dense_ctx *ctx, float *out, cw_error *err)
{
    const cw_bert_config *c = &b->cfg;
    size_t H = c->hidden, IM = c->intermediate;
    size_t T = 0;
    for (size_t i = 0; i < n; i++)
        T += lens[i];
    float *x = out;                  /* the residual stream, [T x H] */
    float *qkv = scratch;            /* [T x 3H] */
    float *ctx_rows = qkv + T * 3 * H;   /* attention output, [T x H] */
    float *tmp = ctx_rows + T * H;   /* [T x H] */
    float *inter = tmp + T * H;      /* [T x I] */
    float *scores = inter + T * IM;   /* [max_len x max_len] */

    /* Embeddings: word + position + token type 0, then LayerNorm. */
    size_t t = 0;
    for (size_t i = 0; i < n; i++) {
        for (size_t p = 0; p < lens[i]; p++, t++) {
            const float *w = b->word + (size_t)ids[t] * H;
            const float *pe = b->pos + p * H;
            float *row = tmp + t * H;
            for (size_t k = 0; k < H; k++)
                row[k] = w[k] + pe[k] + b->type[k];
        }
    }
    bert_layernorm(x, tmp, b->emb_ln_g, b->emb_ln_b, T, H, c->ln_eps);

    for (size_t l = 0; l < c->layers; l++) {
        const bert_layer *ly = &b->layer[l];
        /* qkv = x Wqkv^T + bqkv */
        bert_fill_rows(qkv, ly->bqkv, T, 3 * H);
        if (cw_dense_run(ly->dqkv, ctx, x, T, qkv, err) != 0)
            return -1;
        bert_attention(c, lens, n, qkv, ctx_rows, scores);
        /* x = LN(x + ctx Wo^T + bo) */
        bert_add_rows(tmp, x, ly->bo, T, H);
        if (cw_dense_run(ly->dwo, ctx, ctx_rows, T, tmp, err) != 0)
            return -1;
        bert_layernorm(x, tmp, ly->ln1_g, ly->ln1_b, T, H, c->ln_eps);
        /* inter = gelu(x W1^T + b1) */
        bert_fill_rows(inter, ly->b1, T, IM);
        if (cw_dense_run(ly->dw1, ctx, x, T, inter, err) != 0)
            return -1;
        if (c->gelu_tanh)
            cw_bert_gelu_tanh(inter, T * IM);
        else
            cw_bert_gelu(inter, T * IM);
        /* x = LN(x + inter W2^T + b2) */
        bert_add_rows(tmp, x, ly->b2, T, H);
        if (cw_dense_run(ly->dw2, ctx, inter, T, tmp, err) != 0)
            return -1;
        bert_layernorm(x, tmp, ly->ln2_g, ly->ln2_b, T, H, c->ln_eps);
    }
    return 0;
}
