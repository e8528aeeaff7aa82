#include "backoff.h"

#include <stdlib.h>

long lg_backoff_wait_ms(const lg_backoff *b, unsigned retry, unsigned *seed)
{
    double base = (double)b->initial_ms;
    for (unsigned i = 0; i < retry && base < (double)b->max_ms; i++)
        base *= 2;
    if (base > (double)b->max_ms)
        base = (double)b->max_ms;
    double u = (double)rand_r(seed) / ((double)RAND_MAX + 1.0);
    double wait = base * (1.0 - b->jitter / 2.0 + u * b->jitter);
    if (wait > (double)b->max_ms)
        wait = (double)b->max_ms;
    return (long)wait;
}
