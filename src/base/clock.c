/*
 * clock.c — reads the system clocks (CLOCK_REALTIME, CLOCK_MONOTONIC).
 *
 * Owns: nothing but the conversion to milliseconds / microseconds. Fake
 * clocks for tests live in the hub options (durata_clock_fn), not here.
 * Threading: thread-safe; no state.
 */
#include "base/clock.h"

#include <time.h>

static int64_t
read_ns(clockid_t id)
{
    struct timespec ts;

    /* clock_gettime only fails for an invalid clock id, which these are not. */
    if (clock_gettime(id, &ts) != 0)
        return 0;
    return (int64_t)ts.tv_sec * 1000000000 + (int64_t)ts.tv_nsec;
}

int64_t
dt_clock_wall_ms(void)
{
    int64_t ns = read_ns(CLOCK_REALTIME);

    /* Floor division keeps times before 1970 consistent with dt_time_*. */
    return ns >= 0 ? ns / 1000000 : -((-ns + 999999) / 1000000);
}

int64_t
dt_clock_mono_ms(void)
{
    return read_ns(CLOCK_MONOTONIC) / 1000000;
}

int64_t
dt_clock_mono_us(void)
{
    return read_ns(CLOCK_MONOTONIC) / 1000;
}

void
dt_clock_deadline(clockid_t id, int64_t ms, struct timespec *out)
{
    clock_gettime(id, out);
    out->tv_sec += (time_t)(ms / 1000);
    out->tv_nsec += (long)(ms % 1000) * 1000000L;
    if (out->tv_nsec >= 1000000000L) {
        out->tv_sec++;
        out->tv_nsec -= 1000000000L;
    }
}

int64_t
dt_clock_system(void *arg)
{
    (void)arg;
    return dt_clock_wall_ms();
}
