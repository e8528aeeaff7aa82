/* lg_cli — what the load tools' command lines and clocks have in common
 * (cw-loadgen, cw-chroma-ceiling, cw-parse-bench): numeric flags checked
 * against a range, the --run-id token, getopt_long's errors and stray
 * operands, the monotonic clock.
 *
 * Every error is one line on stderr starting with `prog: ` (the tool's
 * name, given by the caller) and ending with what was given. Nothing is
 * allocated; `out` and `run` belong to the caller and are written only on
 * success. No shared state besides getopt's `optind`, which is read. */
#ifndef LG_CLI_H
#define LG_CLI_H

#include <stdint.h>

#include "payload.h"

/* CLOCK_MONOTONIC in nanoseconds / microseconds. */
int64_t lg_now_ns(void);
int64_t lg_now_us(void);

/* `s` as a whole number in min..max into *out: 0, or -1 (printed). */
int lg_flag_long(const char *prog, const char *flag, const char *s, long min, long max, long *out);

/* `s` as a number in min..max into *out: 0, or -1 (printed). */
int lg_flag_double(const char *prog, const char *flag, const char *s, double min, double max,
                   double *out);

/* The --run-id `s` checked (lg_run_valid) and copied into run: 0, or -1
 * (printed). */
int lg_flag_run(const char *prog, const char *s, char run[LG_RUN_MAX + 1]);

/* A run token unique to this process and second (time and pid, in hex). */
void lg_run_default(char run[LG_RUN_MAX + 1]);

/* Print why getopt_long(..., ":", ...) returned `o` (':' a flag without
 * its value, anything else an unknown option); always -1. */
int lg_getopt_error(const char *prog, int o, char **argv);

/* -1 (printed) when an operand is left after the options, 0 otherwise. */
int lg_no_operands(const char *prog, int argc, char **argv);

#endif
