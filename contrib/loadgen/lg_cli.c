#include "lg_cli.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

int64_t lg_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t lg_now_us(void)
{
    return lg_now_ns() / 1000;
}

int lg_flag_long(const char *prog, const char *flag, const char *s, long min, long max, long *out)
{
    char *end = NULL;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v < min || v > max) {
        fprintf(stderr, "%s: %s must be a whole number in %ld..%ld, got '%s'\n", prog, flag, min,
                max, s);
        return -1;
    }
    *out = v;
    return 0;
}

int lg_flag_double(const char *prog, const char *flag, const char *s, double min, double max,
                   double *out)
{
    char *end = NULL;
    errno = 0;
    double v = strtod(s, &end);
    if (errno != 0 || end == s || *end != '\0' || !(v >= min && v <= max)) {
        fprintf(stderr, "%s: %s must be a number in %g..%g, got '%s'\n", prog, flag, min, max, s);
        return -1;
    }
    *out = v;
    return 0;
}

int lg_flag_run(const char *prog, const char *s, char run[LG_RUN_MAX + 1])
{
    if (!lg_run_valid(s)) {
        fprintf(stderr, "%s: --run-id must be 1 to %d of [a-z0-9], got '%s'\n", prog, LG_RUN_MAX, s);
        return -1;
    }
    snprintf(run, LG_RUN_MAX + 1, "%s", s);
    return 0;
}

void lg_run_default(char run[LG_RUN_MAX + 1])
{
    snprintf(run, LG_RUN_MAX + 1, "%lx%x", (unsigned long)time(NULL), (unsigned)getpid());
}

int lg_getopt_error(const char *prog, int o, char **argv)
{
    if (o == ':')
        fprintf(stderr, "%s: %s needs a value (see --help)\n", prog, argv[optind - 1]);
    else
        fprintf(stderr, "%s: unknown option '%s' (see --help)\n", prog, argv[optind - 1]);
    return -1;
}

int lg_no_operands(const char *prog, int argc, char **argv)
{
    if (optind == argc)
        return 0;
    fprintf(stderr, "%s: unexpected argument '%s' (see --help)\n", prog, argv[optind]);
    return -1;
}
