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
 * Threads: cw_embedder_embed() may be called from any number of threads at
 * once. Compute is bounded by `threads` slots (a counter under one mutex):
 * a call takes one slot (waiting when none is free), plus as many more free
 * slots as it has texts to spread over; each slot is one thread running
 * single-threaded OpenBLAS on a share of the batch (the caller's thread and
 * helpers it starts for the call). So never more than `threads` threads
 * compute, and `threads` is at most the number of online cores.
 * cw_embedder_local_create() sets OpenBLAS to one thread per call
 * (openblas_set_num_threads(1)) for the whole process; no other module
 * uses BLAS.
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

/* Load the model once. threads = max compute threads (0 = number of online
 * cores; more than the cores is clamped). NULL + err on failure: CW_E_CONFIG
 * with one line naming the missing or corrupt file and "run
 * contrib/install-model.sh", or CW_E_NOMEM. The embedder owns everything it
 * loaded; destroy it with cw_embedder_destroy(). Its embed() fails only with
 * CW_E_NOMEM; `purpose` is ignored (the model is symmetric). */
CW_MUST_CHECK cw_embedder *cw_embedder_local_create(const char *model_dir, size_t threads,
                                                    cw_error *err);

#endif
