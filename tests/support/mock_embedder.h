/* cw_mock_embedder — an OpenAI/Voyage-compatible embedding server for tests.
 *
 * A real HTTP peer (libmicrohttpd, its own polling thread plus a thread per
 * connection, bound to 127.0.0.1) that answers `POST .../embeddings` with
 * {"input": "text" | ["text", ...], "model": "m", "input_type"?: ...,
 *  "encoding_format"?: "float" | "base64" | null} by
 * {"object":"list","data":[{"object":"embedding","embedding":[...],"index":i}],
 *  "model":"m","usage":{...}}, the vectors being cw_mock_embedder_vector();
 * with "base64" each "embedding" is a string, the base64 of the vector's
 * little-endian float32 bytes (as OpenAI answers; see cw_mock_base64).
 * A malformed body answers 400 {"error":{"message":"..."}}; another path
 * 404, another method 405.
 *
 * Tests inject latency, failing statuses (with Retry-After) and broken
 * answers, and read call counters and the last request's headers. Every
 * function is thread-safe. The mock owns all its memory; getters copy out.
 */
#ifndef CW_MOCK_EMBEDDER_H
#define CW_MOCK_EMBEDDER_H

#include <stddef.h>

typedef struct cw_mock_embedder cw_mock_embedder;

/* What a successful (non-failing) call answers. */
typedef enum cw_mock_answer {
    CW_MOCK_ANSWER_OK,         /* the vectors, in input order */
    CW_MOCK_ANSWER_REVERSED,   /* the vectors in reverse order, each with its index */
    CW_MOCK_ANSWER_SHORT,      /* one vector fewer than inputs */
    CW_MOCK_ANSWER_RAGGED,     /* the last vector one value short */
    CW_MOCK_ANSWER_GARBAGE     /* 200 with a body that is not JSON */
} cw_mock_answer;

/* What the mock does with "encoding_format": "base64". */
typedef enum cw_mock_base64 {
    CW_MOCK_BASE64_HONOUR,     /* packed vectors (the default, as OpenAI) */
    CW_MOCK_BASE64_IGNORE,     /* arrays of numbers all the same (a server without the option) */
    CW_MOCK_BASE64_REFUSE      /* 400 to any request naming "encoding_format" (a strict server) */
} cw_mock_base64;

/* Start on 127.0.0.1:`port` (0 = any free port) answering vectors of `dim`
 * values. NULL when the port cannot be bound or on out of memory. */
cw_mock_embedder *cw_mock_embedder_start(unsigned short port, size_t dim);

/* Stop the server (waits for in-flight calls; injected latency is cut
 * short) and free everything. NULL is a no-op. */
void cw_mock_embedder_stop(cw_mock_embedder *m);

unsigned short cw_mock_embedder_port(const cw_mock_embedder *m);

/* "http://127.0.0.1:PORT/v1", owned by the mock. */
const char *cw_mock_embedder_url(const cw_mock_embedder *m);

/* Every call waits `ms` before answering (0 = none). */
void cw_mock_embedder_set_latency(cw_mock_embedder *m, int ms);

/* The next `count` calls wait `ms` before answering (instead of the
 * set_latency value); later calls are not slowed. */
void cw_mock_embedder_slow_calls(cw_mock_embedder *m, int ms, int count);

/* The next `count` calls answer `status` (e.g. 429, 500, 401) with body
 * {"error":{"message":"mock: injected HTTP <status>"}} and, when
 * retry_after_s > 0, `Retry-After: <retry_after_s>`; count -1 = until reset. */
void cw_mock_embedder_fail(cw_mock_embedder *m, int status, int count, int retry_after_s);

/* Random faults, for soak runs: each call independently answers
 * `fail_status` (no Retry-After) with probability fail_pct %, or else waits
 * `stall_ms` before answering normally with probability stall_pct % (past
 * the caller's timeout, that is an upstream timeout). Draws come from a
 * PRNG seeded with `seed`; 0 % and 0 % turn them off. A queued
 * cw_mock_embedder_fail() failure takes precedence. */
void cw_mock_embedder_set_fault_rates(cw_mock_embedder *m, int fail_pct, int fail_status,
                                      int stall_pct, int stall_ms, unsigned long seed);

/* How many calls the random faults failed and stalled so far. */
void cw_mock_embedder_fault_counts(const cw_mock_embedder *m, unsigned long *fails,
                                   unsigned long *stalls);

/* Change what successful calls answer (see cw_mock_answer). */
void cw_mock_embedder_set_answer(cw_mock_embedder *m, cw_mock_answer answer);

/* How to treat "encoding_format":"base64" from now on (reset: HONOUR). */
void cw_mock_embedder_set_base64(cw_mock_embedder *m, cw_mock_base64 mode);

/* Calls answered with base64-packed vectors. */
unsigned long cw_mock_embedder_packed_calls(const cw_mock_embedder *m);

/* Answer vectors of `dim` values from now on (e.g. a model switch). */
void cw_mock_embedder_set_dim(cw_mock_embedder *m, size_t dim);

/* Clear failures, latency, answer mode, dim (back to the start value),
 * counters and the recorded request. Calls still in flight (a slow call a
 * client already gave up on) stop sleeping, count no inputs and answer 400,
 * so they never come back as a late success. */
void cw_mock_embedder_reset(cw_mock_embedder *m);

unsigned long cw_mock_embedder_calls(const cw_mock_embedder *m);      /* POST .../embeddings calls received (failed ones too) */
unsigned long cw_mock_embedder_inputs(const cw_mock_embedder *m);     /* texts embedded in total */
unsigned long cw_mock_embedder_max_inputs(const cw_mock_embedder *m); /* most texts in one call */
unsigned long cw_mock_embedder_connections(const cw_mock_embedder *m); /* TCP connections accepted */

/* The last embedding call's Authorization header, input_type and model,
 * copied into buf (cap > 0; truncated to cap - 1 bytes). Each returns 1 when
 * the last call carried the value, 0 otherwise (buf is then ""). */
int cw_mock_embedder_last_auth(const cw_mock_embedder *m, char *buf, size_t cap);
int cw_mock_embedder_last_input_type(const cw_mock_embedder *m, char *buf, size_t cap);
int cw_mock_embedder_last_model(const cw_mock_embedder *m, char *buf, size_t cap);

/* The deterministic vector the mock returns for `text`: a hashed bag of
 * words (lower-cased runs of letters and digits, each adding a dense
 * pseudo-random vector seeded by its hash), L2-normalised. Texts sharing
 * words are closer than unrelated ones; a text without words gets a vector
 * seeded by its bytes. `out` holds `dim` floats. */
void cw_mock_embedder_vector(const char *text, size_t dim, float *out);

#endif
