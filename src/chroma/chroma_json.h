/* cw_chroma_json — request bodies for and answers from Chroma's v2 API,
 * built and read with json-c. Internal to src/chroma/.
 *
 * Builders return a malloc'd NUL-terminated JSON string (caller frees) or
 * NULL with `err` set. Readers fill caller-provided outputs; on failure the
 * outputs are already released (zeroed) and `err` holds CW_E_INTERNAL
 * ("chroma <what>: unexpected answer: ...") or CW_E_NOMEM.
 *
 * Vectors are written as "%.9g" would write each value (round-trips every
 * float; cw_float_format, without printf) and without one json-c object
 * per number. Chroma 1.0.0's API takes upsert and query embeddings only as
 * arrays of numbers: its OpenAPI document (GET /openapi.json) types them
 * {"type":"array","items":{"type":"number","format":"float"}}, and a
 * base64 string answers 400 "invalid type: string ..., expected a sequence".
 */
#ifndef CW_CHROMA_JSON_H
#define CW_CHROMA_JSON_H

#include <stddef.h>

#include "chroma.h"
#include "cw_error.h"
#include "document.h"

/* {"name":..., "get_or_create":true, cosine in both configuration.hnsw.space
 * and metadata "hnsw:space"} */
CW_MUST_CHECK char *cw_chroma_json_create_collection(const char *name, cw_error *err);

/* {"ids":[...], "embeddings":[[...]...], "documents":[...], "metadatas":[...]}
 * for docs[0..n). Refuses a non-finite value (CW_E_INTERNAL). */
CW_MUST_CHECK char *cw_chroma_json_upsert(const cw_document *docs, const float *vecs, size_t n, size_t dim,
                            cw_error *err);

/* {"ids":[...]} (delete) */
CW_MUST_CHECK char *cw_chroma_json_ids(const char *const *ids, size_t n, cw_error *err);

/* {"ids":[...], "include":["documents","metadatas"(,"embeddings")]} */
CW_MUST_CHECK char *cw_chroma_json_get(const char *const *ids, size_t n, int with_embeddings, cw_error *err);

/* {"limit":L, "offset":O, "include":["documents","metadatas"], "where":...} */
CW_MUST_CHECK char *cw_chroma_json_scan(size_t limit, size_t offset, const char *kind, const char *ns,
                                        cw_error *err);

/* The same with any filter of `f` (NULL or all-NULL: no "where"; one
 * field: an equality; several: $and in the order kind, namespace,
 * cluster); `with_texts` 0 asks for ids only ("include":[]). */
CW_MUST_CHECK char *cw_chroma_json_scan_where(size_t limit, size_t offset, const cw_chroma_filter *f,
                                              int with_texts, cw_error *err);

/* {"query_embeddings":[[...]], "n_results":N, "include":[...], "where":...} */
CW_MUST_CHECK char *cw_chroma_json_query(const float *vec, size_t dim, size_t n_results, const char *kind,
                           const char *ns, cw_error *err);
CW_MUST_CHECK char *cw_chroma_json_query_where(const float *vec, size_t dim, size_t n_results,
                                               const cw_chroma_filter *f, cw_error *err);

/* Append the records of a get answer to `out` (which may already hold some
 * of earlier batches). `out->dim` is set from the first embedding seen; an
 * embedding of another length is an error. On failure `out` is released. */
CW_MUST_CHECK int cw_chroma_json_read_get(const char *body, cw_chroma_records *out, cw_error *err);

/* The hits of a query answer (first query). On failure `out` is zeroed. */
CW_MUST_CHECK int cw_chroma_json_read_query(const char *body, cw_chroma_hits *out, cw_error *err);

/* "id" and the hnsw space of a collection answer. *id_out malloc'd; *space_out
 * malloc'd or NULL when absent. */
CW_MUST_CHECK int cw_chroma_json_read_collection(const char *body, char **id_out, char **space_out,
                                   cw_error *err);

/* "dimension" of a collection answer: 0 when null. */
CW_MUST_CHECK int cw_chroma_json_read_dimension(const char *body, size_t *dim, cw_error *err);

/* "max_batch_size" of a pre-flight-checks answer. */
CW_MUST_CHECK int cw_chroma_json_read_max_batch(const char *body, size_t *max_batch, cw_error *err);

/* The count answer (a bare number). */
CW_MUST_CHECK int cw_chroma_json_read_count(const char *body, size_t *count, cw_error *err);

/* Chroma's error answer {"error":E,"message":M} as one line: "E: M", or
 * the body itself (first line, cut to ~300 bytes) when not in that shape.
 * Writes into buf[0..cap). Returns buf. *message_out (may be NULL) points at
 * the message part inside buf. */
const char *cw_chroma_json_error_line(const char *body, char *buf, size_t cap,
                                      const char **message_out);

#endif
