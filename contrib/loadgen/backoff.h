/* lg_backoff — the controller's retry schedule: exponential backoff with
 * jitter, capped.
 *
 * The wait before retry r (0 = the first retry) is
 *     base = min(initial_ms * 2^r, max_ms)
 *     wait = min(max_ms, base * (1 - jitter/2 + u * jitter)),  u uniform in [0, 1)
 * so with jitter 0.5 a wait lies in [0.75, 1.25) x base, never above max_ms;
 * jitter 0 gives exactly initial, 2x initial, 4x initial, ... up to max.
 * `seed` is the caller's PRNG state (rand_r), advanced on every call.
 * Thread-safe: no shared state.
 */
#ifndef LG_BACKOFF_H
#define LG_BACKOFF_H

typedef struct lg_backoff {
    long initial_ms;   /* > 0 */
    long max_ms;       /* >= initial_ms */
    double jitter;     /* 0..1 */
} lg_backoff;

long lg_backoff_wait_ms(const lg_backoff *b, unsigned retry, unsigned *seed);

#endif
