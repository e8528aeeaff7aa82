/* cw_safetensors — a bounds-checked reader for .safetensors files.
 *
 * Format: 8-byte little-endian header length N, N bytes of JSON
 * {"name": {"dtype": "F16", "shape": [..], "data_offsets": [begin, end]},
 *  "__metadata__": {...}}, then the data buffer; offsets are relative to it.
 *
 * cw_safetensors_create() maps the file read-only and checks everything
 * before handing out a tensor: the header length against the file size, the
 * JSON (parsed with json-c), every dtype, shape and offset pair (begin <= end
 * <= data size, end - begin == elements * dtype size, no overflow). A file
 * that fails any check is refused with CW_E_CONFIG and a one-line message
 * starting with the path; nothing is left mapped.
 *
 * Ownership: the reader owns the mapping and the tensor table; tensor `data`
 * pointers and names borrow from it and die with cw_safetensors_destroy().
 * Not thread-safe to destroy while in use; reading is read-only.
 */
#ifndef CW_SAFETENSORS_H
#define CW_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

#include "cw_error.h"

#define CW_ST_MAX_DIMS 8

typedef enum cw_st_dtype {
    CW_ST_F32,
    CW_ST_F16,
    CW_ST_BF16,
    CW_ST_OTHER      /* a known non-float dtype (I64, U8, ...): size-checked only */
} cw_st_dtype;

typedef struct cw_st_tensor {
    const char *name;           /* borrowed from the reader */
    const char *dtype_name;     /* "F16", "I64", ... (static string) */
    cw_st_dtype dtype;
    size_t ndim;
    size_t shape[CW_ST_MAX_DIMS];
    size_t nelem;               /* product of shape (1 for a scalar) */
    const unsigned char *data;  /* borrowed, may be unaligned */
    size_t nbytes;
} cw_st_tensor;

typedef struct cw_safetensors cw_safetensors;

/* Map and validate `path`. NULL + err (CW_E_CONFIG "<path>: <problem>",
 * or CW_E_NOMEM) on failure. */
CW_MUST_CHECK cw_safetensors *cw_safetensors_create(const char *path, cw_error *err);

/* Unmap and free; NULL is a no-op. */
void cw_safetensors_destroy(cw_safetensors *st);

/* Number of tensors and the i-th one (i < count), in header order. */
size_t cw_safetensors_count(const cw_safetensors *st);
const cw_st_tensor *cw_safetensors_at(const cw_safetensors *st, size_t i);

/* The tensor called `name`, or NULL. */
const cw_st_tensor *cw_safetensors_find(const cw_safetensors *st, const char *name);

/* Convert an F32, F16 or BF16 tensor into out[0..nelem). `want` must equal
 * t->nelem. Returns 0, or -1 + err (CW_E_CONFIG naming the tensor) when the
 * dtype is not a float type or the element count differs. */
CW_MUST_CHECK int cw_safetensors_to_f32(const cw_st_tensor *t, float *out, size_t want,
                                        cw_error *err);

/* IEEE half → float (exact, subnormals/inf/NaN included). */
float cw_f16_to_f32(uint16_t h);

#endif
