/* cw_secret — tokens read from files (a mounted Kubernetes Secret), compared
 * in constant time, and wiped when freed.
 *
 * A token file holds one token: surrounding whitespace (the trailing newline
 * `echo` or `kubectl create secret --from-file` leaves) is dropped; it must
 * then be 1..CW_SECRET_MAX bytes of printable ASCII without spaces. The
 * token's text never appears in an error message.
 *
 * Thread-safety: every function is reentrant; nothing is shared.
 */
#ifndef CW_SECRET_H
#define CW_SECRET_H

#include <stddef.h>

#include "cw_error.h"

#define CW_SECRET_MAX 4096

/* The token in `path`, malloc'd (free with cw_secret_free). NULL with `err`
 * set (CW_E_CONFIG naming the file and what is wrong, CW_E_NOMEM). */
CW_MUST_CHECK char *cw_secret_read_file(const char *path, cw_error *err);

/* Wipe and free. NULL is fine. */
void cw_secret_free(char *s);

/* 1 when the `len` bytes at `given` equal the NUL-terminated `want`; the
 * time taken depends on the lengths only, never on where they differ. */
int cw_secret_equal(const char *want, const char *given, size_t len);

#endif
