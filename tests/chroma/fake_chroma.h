/* fake_chroma — a tiny stand-in for a Chroma server, for the client
 * behaviours a real Chroma cannot be made to show on demand: a 5xx answer,
 * a slow write, a hung read, and how many TCP connections the client opens.
 *
 * It answers heartbeat, pre-flight-checks (max_batch_size 100), collection
 * create (id "fake-id"), and count/upsert/get/delete on "fake-id" per the
 * mode below. libmicrohttpd, thread per connection, 127.0.0.1, any free port.
 * Everything the test thread reads is behind one lock.
 */
#ifndef FAKE_CHROMA_H
#define FAKE_CHROMA_H

typedef enum fake_mode {
    FAKE_OK,            /* every call answers 200 */
    FAKE_FAIL_500,      /* collection calls answer 500 "Error sending message to compactor" */
    FAKE_SLOW,          /* collection calls answer 200 after `delay_ms` */
    FAKE_FAIL_401,      /* collection calls answer 401 (an auth-enabled Chroma) */
} fake_mode;

typedef struct fake_chroma fake_chroma;

fake_chroma *fake_chroma_start(void);
void fake_chroma_stop(fake_chroma *f);            /* NULL is fine */
const char *fake_chroma_url(const fake_chroma *f); /* "http://127.0.0.1:PORT" */
void fake_chroma_set(fake_chroma *f, fake_mode mode, long delay_ms);
unsigned long fake_chroma_connections(fake_chroma *f);  /* TCP connections accepted */
unsigned long fake_chroma_requests(fake_chroma *f);     /* requests answered */

#endif
