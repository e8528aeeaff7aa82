/* cw_base64 — RFC 4648 base64 (standard alphabet, '=' padding), and the
 * packed vectors embedding APIs answer with `encoding_format: "base64"`:
 * the bytes of little-endian IEEE-754 float32 values, one after another.
 *
 * Pure functions: no allocation, no shared state, safe from any thread.
 * The caller owns every buffer.
 */
#ifndef CW_BASE64_H
#define CW_BASE64_H

#include <stddef.h>

#include "cw_error.h"

/* Characters cw_base64_encode() writes for `n` bytes (no NUL counted). */
#define CW_BASE64_ENCODED_LEN(n) (4 * (((n) + 2) / 3))

/* Encode src[0..n) into dst, which holds CW_BASE64_ENCODED_LEN(n) + 1
 * bytes; NUL-terminated. Returns the length written (without the NUL). */
size_t cw_base64_encode(const void *src, size_t n, char *dst);

/* Bytes src[0..len) decode to at most (a padded input of len bytes). */
#define CW_BASE64_DECODED_MAX(len) (3 * ((len) / 4) + 2)

/* Decode src[0..len) into dst[0..cap). Strict: the standard alphabet, no
 * white space, the length a multiple of 4 with at most two '=' at the end,
 * unused bits of the last group zero (one encoding per value). Returns the
 * number of bytes written, or -1 when the text is not such base64 or dst is
 * too small (nothing useful is left in dst then). */
CW_MUST_CHECK long cw_base64_decode(const char *src, size_t len, unsigned char *dst, size_t cap);

/* Decode a base64 string of packed little-endian float32 values into
 * out[0..max). Returns the number of floats, or -1 when the text is not
 * strict base64 (as above), its byte count is not a multiple of 4, or it
 * holds more than `max` values. Whatever the host's byte order. */
CW_MUST_CHECK long cw_base64_decode_f32le(const char *src, size_t len, float *out, size_t max);

/* Encode v[0..n) as packed little-endian float32 base64 into dst, which
 * holds CW_BASE64_ENCODED_LEN(4 * n) + 1 bytes. Returns the length. */
size_t cw_base64_encode_f32le(const float *v, size_t n, char *dst);

#endif
