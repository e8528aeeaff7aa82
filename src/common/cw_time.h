/* cw_time — monotonic clock helpers for deadlines and latency. */
#ifndef CW_TIME_H
#define CW_TIME_H

#include <stdint.h>
#include <time.h>

/* Milliseconds on CLOCK_MONOTONIC. */
int64_t cw_now_ms(void);

/* Microseconds on CLOCK_MONOTONIC (latency histograms). */
int64_t cw_now_us(void);

/* Milliseconds left until `deadline_ms` (a cw_now_ms() value); 0 if past. */
int64_t cw_ms_left(int64_t deadline_ms);

/* Absolute CLOCK_REALTIME timespec `ms` from now, for pthread_cond_timedwait. */
struct timespec cw_abstime_in_ms(int64_t ms);

/* Sleep `ms` milliseconds (restarts on EINTR). */
void cw_sleep_ms(int64_t ms);

#endif
