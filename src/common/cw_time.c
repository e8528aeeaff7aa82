#include "cw_time.h"

#include <errno.h>

int64_t cw_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t cw_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t cw_ms_left(int64_t deadline_ms)
{
    int64_t left = deadline_ms - cw_now_ms();
    return left > 0 ? left : 0;
}

struct timespec cw_abstime_in_ms(int64_t ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += ms / 1000;
    ts.tv_nsec += (ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec += 1;
        ts.tv_nsec -= 1000000000L;
    }
    return ts;
}

void cw_sleep_ms(int64_t ms)
{
    struct timespec req = { ms / 1000, (ms % 1000) * 1000000L }, rem;
    while (nanosleep(&req, &rem) != 0 && errno == EINTR)
        req = rem;
}
