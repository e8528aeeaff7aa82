/* cw_embedder voyage / openai — embedding backends over HTTP (DESIGN §7).
 *
 * Both speak `POST {url}/embeddings` with a JSON body (embed_wire.h) and an
 * optional `Authorization: Bearer KEY`; voyage also sends `input_type`
 * ("document" for CW_EMBED_DOCUMENT, "query" for CW_EMBED_QUERY). The
 * openai backend works with OpenAI and compatible servers (Ollama, vLLM,
 * TEI, ...).
 *
 * Both ask for base64-packed float32 vectors ("encoding_format":"base64",
 * see embed_wire.h) and read arrays of numbers as well, for a server that
 * ignores the field. One that refuses it (HTTP 400 or 422 to such a
 * request, its message naming "encoding_format", "encoding format" or
 * "base64") is asked again at once without it; when that is answered, this
 * backend asks for numbers only from then on (logged once). A request
 * refused either way is refused as below.
 *
 * embed() splits the texts into calls of at most max_batch texts and
 * max_call_bytes of text (providers cap tokens per request), and, per call,
 * retries HTTP 408/429/5xx, connection failures and timeouts with
 * exponential backoff and jitter, honouring a `Retry-After` answer (seconds
 * or an HTTP-date) when it fits in the deadline, all within deadline_ms for the whole
 * embed(). Errors (messages start with the backend name):
 *   CW_E_UNAVAILABLE  still failing at the deadline, or a Retry-After past
 *                     it; retry_after_s = the upstream's Retry-After, else
 *                     CW_EMBED_HTTP_RETRY_AFTER_S; "<name>: shutting down"
 *                     once cw_embedder_cancel() was called (a call in
 *                     flight is abandoned within about a second)
 *   CW_E_CONFIG       401/403: "voyage: the API key was refused (401) —
 *                     check VOYAGE_API_KEY" (logged once a minute at most);
 *                     other 4xx: "voyage: the embedding API refused the
 *                     request (HTTP 400): <upstream message>"; an unusable URL
 *   CW_E_INTERNAL     malformed answer, an answer over 64 MiB, or vectors of
 *                     another size than the first answer's (dim is learned
 *                     from the first answer and then enforced)
 *   CW_E_NOMEM
 *
 * Threads: embed() may run concurrently; each call takes its own libcurl
 * easy handle from a locked pool (connections are reused, a handle is never
 * used by two threads at once). `dim` is written once, under the backend's
 * lock, by the first answer; call cw_embedder_probe_dim() (embedder_util.h)
 * before sharing the embedder so that it is known. While dim is still 0,
 * embed() writes n * (the learned dim) floats, at most
 * n * CW_EMBEDDER_MAX_DIM.
 *
 * The process must call curl_global_init(CURL_GLOBAL_DEFAULT) before
 * creating a backend (before any thread starts) and should ignore SIGPIPE:
 * the backends set CURLOPT_NOSIGNAL.
 */
#ifndef CW_EMBED_HTTP_H
#define CW_EMBED_HTTP_H

#include <stddef.h>
#include <time.h>

#include "embedder.h"

/* Retry-After hint (seconds) for CW_E_UNAVAILABLE when upstream gave none. */
#define CW_EMBED_HTTP_RETRY_AFTER_S 5
/* Largest answer body read from upstream. */
#define CW_EMBED_HTTP_MAX_ANSWER (64u * 1024u * 1024u)

/* The wait a Retry-After header value asks for, in seconds (at most one
 * day): delta-seconds, or an HTTP-date relative to `now` (0 when already
 * past). value[0..len) is the text after the colon (white space and CRLF
 * around it are fine). -1 when it is neither (e.g. negative or garbage). */
int cw_embed_http_retry_after(const char *value, size_t len, time_t now);

/* Zero / NULL fields take the defaults. All strings are borrowed: create
 * copies them. */
typedef struct cw_remote_embedder_config {
    const char *url;        /* base URL; voyage default "https://api.voyageai.com/v1", openai default "https://api.openai.com/v1" */
    const char *model;      /* voyage default "voyage-4"; openai default "text-embedding-3-small" */
    const char *api_key;    /* bearer; required for voyage, optional for openai (Ollama/vLLM/TEI need none) */
    size_t max_batch;       /* texts per upstream call; defaults: voyage 128, openai 256 */
    long timeout_ms;        /* per upstream call (default 20000) */
    long deadline_ms;       /* total time for one embed() incl. retries (default 20000) */
    size_t max_text_bytes;  /* longer texts are cut (at a UTF-8 boundary) before sending, so
                               that one huge resource cannot fail forever on the model's
                               context limit; default: voyage none (the API truncates
                               itself), openai 16384 */
    size_t max_call_bytes;  /* text bytes per upstream call (a longer text still goes
                               alone); default 256 KiB for both */
} cw_remote_embedder_config;

/* Fill `cfg` with the defaults both backends share (timeout_ms and
 * deadline_ms 20000); the rest stays zero: each backend's own default. */
void cw_remote_embedder_config_defaults(cw_remote_embedder_config *cfg);

/* A voyage backend (name "voyage", dim 0 until the first answer). Makes no
 * network call. Trailing white space (a newline from a Secret file) is
 * dropped from the key. Returns NULL with `err` set: CW_E_CONFIG
 * "voyage: no API key — set VOYAGE_API_KEY" when the key is NULL or blank,
 * CW_E_CONFIG "voyage: the API key holds control characters — check
 * VOYAGE_API_KEY", CW_E_NOMEM. Destroy with cw_embedder_destroy(). */
CW_MUST_CHECK cw_embedder *cw_embedder_voyage_create(const cw_remote_embedder_config *cfg, cw_error *err);

/* An OpenAI-compatible backend (name "openai"); no Authorization header
 * when the key is NULL or blank. Returns NULL with `err` set: the control
 * character error as above ("openai: ... OPENAI_API_KEY"), CW_E_NOMEM. */
CW_MUST_CHECK cw_embedder *cw_embedder_openai_create(const cw_remote_embedder_config *cfg, cw_error *err);

#endif
