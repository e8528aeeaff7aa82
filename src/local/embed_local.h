/* cw_embedder_local — all-MiniLM-L6-v2 sentence embeddings in-process
 * (`--embedder local`): WordPiece tokens (wordpiece.h, at most 256 per text
 * including [CLS]/[SEP]) → 6-layer BERT encoder (bert.h) → mean pooling over
 * the text's tokens → L2 normalisation. 384-d for all-MiniLM-L6-v2 (the
 * model's hidden size in general). Same vectors as Chroma's default
 * embedding function and as @lat.md/embed (cosine >= 0.999, tested).
 *
 * The model directory holds tokenizer.json, config.json and the weights as
 * model.safetensors (F32, the Hugging Face layout) or model.fp16.safetensors
 * (what contrib/install-model.sh installs); model.safetensors wins when
 * both exist.
 *
 * Precision (cw_local_options.precision): the dense products in fp32,
 * bf16 or int8 (oneDNN matmul; dense.h), converted once at create; fp32
 * runs on OpenBLAS instead where oneDNN has no JIT for the CPU (below
 * AVX2) or it is hidden. `auto` picks the fastest mode this CPU runs natively — int8 with
 * AVX-512 VNNI, else bf16 with AVX-512 BF16, else fp32 — all within the
 * accuracy bars tested in tests/local (cosine to fp32 >= 0.995 int8,
 * >= 0.999 bf16). The CPU's features come from cpuid and oneDNN's
 * effective ISA (so ONEDNN_MAX_CPU_ISA=AVX2 hides them too), and
 * CW_EMBED_CPU_FEATURES hides them for tests: "none", or a comma list of
 * the ones to keep ("vnni", "bf16", "jit" = oneDNN for fp32). An explicit bf16/int8 runs even where
 * it is not native (oneDNN emulates; slower) — cw_embedder_local_describe()
 * says so.
 *
 * Threads: cw_embedder_embed() may be called from any number of threads at
 * once. Compute is bounded by `threads` slots (a counter under one mutex):
 * a call takes one slot (waiting when none is free), plus as many more free
 * slots as it has texts to spread over; each slot is one thread running
 * single-threaded OpenBLAS on a share of the batch (the caller's thread and
 * helpers it starts for the call, named "cw-compute"). So never more than
 * `threads` threads compute, and `threads` is at most the number of online
 * cores. cw_embedder_local_create() sets OpenBLAS to one thread per call
 * (openblas_set_num_threads(1)) for the whole process (no other module
 * uses BLAS), and every computing thread sets its OpenMP team (oneDNN's)
 * to 1: no BLAS or OpenMP worker threads compute or spin.
 *
 * Memory: ~90 MB of F32 weights, plus per computing thread scratch for at
 * most 2048 tokens at a time (~31 MB), freed after each call.
 */
#ifndef CW_EMBED_LOCAL_H
#define CW_EMBED_LOCAL_H

#include <stddef.h>

#include "cw_error.h"
#include "embedder.h"

/* Texts per call the pipeline should prefer (cw_embedder.max_batch). */
#define CW_LOCAL_MAX_BATCH 64
/* Tokens per text, [CLS] and [SEP] included (longer texts are truncated). */
#define CW_LOCAL_MAX_TOKENS 256

/* Default model dir: $CW_MODEL_DIR, else
 * ${XDG_DATA_HOME:-$HOME/.local/share}/cluster-whisperer/all-MiniLM-L6-v2
 * (an empty variable counts as unset; no HOME gives "."). Writes into buf
 * (truncated to cap - 1 bytes if needed); returns buf. */
const char *cw_local_default_model_dir(char *buf, size_t cap);

typedef enum cw_local_precision {
    CW_LOCAL_AUTO,
    CW_LOCAL_FP32,
    CW_LOCAL_BF16,
    CW_LOCAL_INT8
} cw_local_precision;

typedef struct cw_local_options {
    size_t threads;                 /* max compute threads; 0 = online cores */
    cw_local_precision precision;   /* default (zero): auto */
    int int8_per_tensor;            /* int8 activations: 1 per tensor, 0 per token */
} cw_local_options;

/* "auto", "fp32", "bf16", "int8" -> *out; -1 for anything else. */
CW_MUST_CHECK int cw_local_precision_parse(const char *s, cw_local_precision *out);

/* What `auto` resolves to on this CPU now (reads CW_EMBED_CPU_FEATURES). */
cw_local_precision cw_local_precision_auto(void);

/* Load the model once; opt NULL = defaults (all cores, auto). More threads
 * than cores are clamped. NULL + err on failure: CW_E_CONFIG with one line
 * naming the missing or corrupt file and "run contrib/install-model.sh" (or
 * the precision oneDNN cannot run), or CW_E_NOMEM. The embedder owns
 * everything it loaded; destroy it with cw_embedder_destroy(). Its embed()
 * fails only with CW_E_NOMEM (or CW_E_INTERNAL from oneDNN); `purpose` is
 * ignored (the model is symmetric). */
CW_MUST_CHECK cw_embedder *cw_embedder_local_create(const char *model_dir,
                                                    const cw_local_options *opt, cw_error *err);

/* The precision in use (never AUTO) of an embedder from
 * cw_embedder_local_create(). */
cw_local_precision cw_embedder_local_precision(const cw_embedder *e);

/* One line for the log: "int8 (auto; brg:avx512_core_vnni), 2 compute
 * threads" — "not native on this CPU" added where oneDNN emulates. Borrowed
 * from the embedder. */
const char *cw_embedder_local_describe(const cw_embedder *e);

#endif
