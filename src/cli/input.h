/* input — read a whole payload file, or standard input for "-". */
#ifndef CW_INPUT_H
#define CW_INPUT_H

#include <stddef.h>

#include "cw_error.h"

/* Read `path` ("-" = stdin) into a malloc'd buffer (caller frees; NUL
 * appended, not counted in *len). Refuses more than `max` bytes. Returns 0,
 * or -1 with a one-line err naming the file. */
CW_MUST_CHECK int cw_input_read(const char *path, size_t max, char **buf, size_t *len, cw_error *err);

#endif
