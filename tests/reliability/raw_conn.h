/* raw_conn — a raw TCP client for the reliability tests: it sends exactly
 * the bytes it is given (broken framing, `Expect: 100-continue` without a
 * body, a body dripped byte by byte, an endless chunked stream) and tells
 * when and how the server answered or hung up. Connections go to
 * 127.0.0.1. Every function is bounded by the timeout it takes; none
 * raises SIGPIPE. Connect with http_connect_local() (http_client.h); the
 * caller owns the descriptor (rc_close()). */
#ifndef CW_TEST_RAW_CONN_H
#define CW_TEST_RAW_CONN_H

#include <stddef.h>

/* Send all `n` bytes. 0, or -1 when the peer closed or reset. */
int rc_send(int fd, const void *buf, size_t n);

/* Read one HTTP answer (status line, headers, Content-Length body) into
 * out[cap] (NUL-terminated), waiting at most `timeout_ms`. Returns its
 * status, or 0 when the peer closed (or the time ran out) before a whole
 * status line and headers arrived. Bytes that arrived after the answer
 * are counted in *extra (when not NULL): they belong to a second answer. */
int rc_read_answer(int fd, int timeout_ms, char *out, size_t cap, size_t *extra);

/* Wait until the peer closes or resets the connection. Returns the
 * milliseconds waited, or -1 when it is still open after `timeout_ms`.
 * Bytes read meanwhile are counted in *extra (when not NULL). */
long rc_wait_closed(int fd, int timeout_ms, size_t *extra);

/* 1 when the peer has closed or reset the connection (without waiting). */
int rc_is_closed(int fd);

/* 1 when `answer` (a whole raw HTTP answer, as rc_read_answer gives it) has
 * exactly `body` after its headers. */
int rc_answer_body_is(const char *answer, const char *body);

void rc_close(int fd);

#endif
