/* cw_embed_wire — the JSON of the OpenAI/Voyage `POST /embeddings` API.
 *
 *   request  {"input":["text",...],"model":"m"[,"input_type":"document"|"query"]
 *             [,"encoding_format":"base64"]}
 *   answer   {"data":[{"embedding":[0.1,...],"index":0},...],...}, or with
 *            base64 {"data":[{"embedding":"AACAPw...","index":0},...]}: the
 *            vector's little-endian float32 bytes (OpenAI, vLLM, TEI's
 *            OpenAI route; Voyage's `encoding_format: "base64"`, "a
 *            Base64-encoded NumPy array of single-precision floats"). A
 *            server that ignores the field answers arrays: both are read.
 *   error    {"error":{"message":"..."}} (OpenAI, vLLM), {"error":"..."}
 *            (Ollama, TEI), {"detail":"..."} or {"detail":[{"msg":...}]} (Voyage)
 *
 * Pure functions: no network, no shared state, safe from any thread.
 */
#ifndef CW_EMBED_WIRE_H
#define CW_EMBED_WIRE_H

#include <stddef.h>

#include "cw_error.h"

/* The request body for texts[0..n) (borrowed), NUL-terminated and malloc'd
 * (the caller frees it). `input_type` NULL omits the field; `base64` asks
 * for packed vectors ("encoding_format":"base64"). When
 * max_text_bytes > 0, a longer text is cut to at most that many bytes at a
 * UTF-8 character boundary. Returns NULL with CW_E_NOMEM set on out of memory. */
CW_MUST_CHECK char *cw_embed_wire_request(const char *const *texts, size_t n, const char *model,
                                          const char *input_type, size_t max_text_bytes,
                                          int base64, cw_error *err);

/* How many bytes of `text` fit in `max` bytes without splitting a UTF-8
 * character (strlen(text) when it fits, or when max is 0). */
size_t cw_embed_wire_cut(const char *text, size_t max);

/* Parse a 200 answer to a request of `n` texts. On success returns 0,
 * *out_vecs is a malloc'd array of n * *out_dim floats (row i is the vector
 * of text i, placed by each item's "index"; the caller frees it; each
 * "embedding" an array of numbers or a base64 string of packed float32,
 * whatever was asked for) and
 * *out_dim is the vector size (1..max_dim). On failure returns -1 with
 * *out_vecs NULL and `err` set: CW_E_INTERNAL "<name>: malformed answer:
 * <what>" (not JSON, missing data, wrong count, bad or repeated index,
 * vectors of different sizes, non-numbers, a string that is not strict
 * base64 of whole float32 values, a packed NaN or infinity, dim > max_dim)
 * or CW_E_NOMEM. */
CW_MUST_CHECK int cw_embed_wire_parse_answer(const char *name, const char *body, size_t len,
                                             size_t n, size_t max_dim, float **out_vecs,
                                             size_t *out_dim, cw_error *err);

/* The upstream's error message from an error answer's body, as one line
 * (control characters become spaces) of at most cap - 1 bytes in `buf`:
 * the first of error.message, error (a string), detail (a string, or the
 * first item's "msg"), message; otherwise the raw body; "(empty body)" when
 * there is nothing. `cap` must be > 0. */
void cw_embed_wire_upstream_message(const char *body, size_t len, char *buf, size_t cap);

#endif
