/* cw_fault_proxy — a small HTTP proxy for tests that sits in front of a
 * real server (Chroma) and fails chosen calls.
 *
 * It listens on 127.0.0.1 (any free port), forwards every request (method,
 * path, query, body, Content-Type) to the upstream with libcurl and relays
 * the answer — except requests whose path ends with an armed suffix, which
 * get the injected status with {"error":"fault_proxy: injected HTTP N"}
 * and never reach the upstream, and requests whose path ends with a
 * delayed suffix, which are held that long before they are forwarded (a
 * slow upstream). It counts requests by path, and requests whose client
 * hung up before their answer was sent.
 *
 * The process must have called curl_global_init() before starting it.
 * Every function is thread-safe; the proxy owns all its memory.
 */
#ifndef CW_FAULT_PROXY_H
#define CW_FAULT_PROXY_H

typedef struct cw_fault_proxy cw_fault_proxy;

/* Start in front of `upstream` (e.g. "http://127.0.0.1:8000"). NULL on
 * failure (bind, out of memory). */
cw_fault_proxy *cw_fault_proxy_start(const char *upstream);

/* The same, serving HTTPS with the PEM certificate and key given (the
 * text, not file names); its url is then "https://127.0.0.1:PORT". */
cw_fault_proxy *cw_fault_proxy_start_tls(const char *upstream, const char *cert_pem,
                                         const char *key_pem);

/* Stop (waits for calls in flight) and free. NULL is a no-op. */
void cw_fault_proxy_stop(cw_fault_proxy *p);

/* "http://127.0.0.1:PORT", owned by the proxy. */
const char *cw_fault_proxy_url(const cw_fault_proxy *p);

/* Answer `status` to the next `count` requests (-1: until disarmed) whose
 * path ends with `suffix` (e.g. "/delete"). A NULL suffix disarms. */
void cw_fault_proxy_fail(cw_fault_proxy *p, const char *suffix, int status, int count);

/* Hold the next `count` requests (-1: until disarmed) whose path ends with
 * `suffix` for `ms` before forwarding them. A NULL suffix disarms. */
void cw_fault_proxy_delay(cw_fault_proxy *p, const char *suffix, int ms, int count);

/* Requests whose client went away (or that libmicrohttpd ended) before
 * their answer was sent — e.g. a Chroma write the server hung up on. */
unsigned long cw_fault_proxy_cut_off(cw_fault_proxy *p);

/* Act as the auth gate operators put in front of Chroma: from now on a
 * request whose `header` is not exactly `value` gets 401
 * {"error":"AuthError","message":"Unauthorized"} and is not forwarded.
 * A NULL header lifts the gate. */
void cw_fault_proxy_require(cw_fault_proxy *p, const char *header, const char *value);

/* Requests the gate refused (401). */
unsigned long cw_fault_proxy_refused(cw_fault_proxy *p);

/* Requests received (forwarded or failed) whose path ends with `suffix`. */
unsigned long cw_fault_proxy_calls(cw_fault_proxy *p, const char *suffix);

#endif
