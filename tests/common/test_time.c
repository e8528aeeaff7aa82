/* cw_time: the clocks agree with each other and never go back, ms_left is
 * bounded by readings taken around it, abstime is normalised, and a
 * signal does not cut a sleep short. Every assertion compares clock
 * readings taken in a known order (no wall-time budget that a loaded
 * machine could miss). */
#include <signal.h>
#include <string.h>
#include <sys/time.h>

#include "cw_test.h"
#include "cw_time.h"

static void test_clocks_ordered(void)
{
    int64_t a = cw_now_ms();
    int64_t u = cw_now_us();
    int64_t b = cw_now_ms();
    CU_ASSERT(a <= u / 1000);
    CU_ASSERT(u / 1000 <= b);
    for (int i = 0; i < 1000; i++) {
        int64_t next = cw_now_us();
        CU_ASSERT(next >= u);
        u = next;
    }
}

static void test_ms_left(void)
{
    int64_t t0 = cw_now_ms();
    CU_ASSERT_EQUAL(cw_ms_left(t0 - 1), 0);
    CU_ASSERT_EQUAL(cw_ms_left(0), 0);
    int64_t left = cw_ms_left(t0 + 100000);
    int64_t t1 = cw_now_ms();
    CU_ASSERT(left <= 100000);
    CU_ASSERT(left >= 100000 - (t1 - t0));
}

static int64_t realtime_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void test_abstime(void)
{
    static const int64_t cases[] = { 0, 1, 999, 1000, 1500, 86400001 };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int64_t ms = cases[i];
        int64_t before = realtime_ns();
        struct timespec ts = cw_abstime_in_ms(ms);
        int64_t after = realtime_ns();
        CU_ASSERT(ts.tv_nsec >= 0 && ts.tv_nsec < 1000000000L);
        int64_t at = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
        CU_ASSERT(at >= before + ms * 1000000);
        CU_ASSERT(at <= after + ms * 1000000);
    }
}

static volatile sig_atomic_t alarms;

static void on_alarm(int sig)
{
    (void)sig;
    alarms++;
}

static void test_sleep(void)
{
    int64_t t0 = cw_now_ms();
    cw_sleep_ms(0);
    cw_sleep_ms(20);
    CU_ASSERT(cw_now_ms() - t0 >= 20);

    /* A signal in the middle (no SA_RESTART: nanosleep returns EINTR) and
     * the sleep still lasts its whole time. */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_alarm;
    sigemptyset(&sa.sa_mask);
    CU_ASSERT_EQUAL_FATAL(sigaction(SIGALRM, &sa, NULL), 0);
    struct itimerval it = { .it_value = { 0, 10000 } };     /* 10 ms, once */
    alarms = 0;
    t0 = cw_now_ms();
    CU_ASSERT_EQUAL_FATAL(setitimer(ITIMER_REAL, &it, NULL), 0);
    cw_sleep_ms(1200);
    int64_t slept = cw_now_ms() - t0;
    CU_ASSERT_EQUAL(alarms, 1);
    CU_ASSERT(slept >= 1200);
    signal(SIGALRM, SIG_DFL);
}

int main(void)
{
    CU_TestInfo tests[] = {
        { "ms and us clocks agree and never go back", test_clocks_ordered },
        { "ms_left: 0 when past, bounded by the readings around it", test_ms_left },
        { "abstime: normalised and `ms` after the realtime clock", test_abstime },
        { "sleep: at least its time, also across a signal", test_sleep },
        CU_TEST_INFO_NULL,
    };
    return cw_test_run("common_time", tests);
}
