/*
 * clock.h — wall and monotonic time in milliseconds.
 *
 * Owns: reading the system clocks. Injectable clocks for tests are a hub
 * option (durata_clock_fn); this file is the default behind it.
 * Threading: thread-safe (no state).
 */
#ifndef DT_BASE_CLOCK_H
#define DT_BASE_CLOCK_H

#include <stdint.h>
#include <time.h>

/* Milliseconds since the Unix epoch (CLOCK_REALTIME). */
int64_t dt_clock_wall_ms(void);
/* Milliseconds of CLOCK_MONOTONIC, for intervals and deadlines. */
int64_t dt_clock_mono_ms(void);
/* Microseconds of CLOCK_MONOTONIC, for latency measurements. */
int64_t dt_clock_mono_us(void);
/* The time ms milliseconds from now on clock `id` (CLOCK_REALTIME for a
 * default condition variable, CLOCK_MONOTONIC for one set to it), as the
 * absolute deadline pthread_cond_timedwait takes. */
void dt_clock_deadline(clockid_t id, int64_t ms, struct timespec *out);
/* A durata_clock_fn reading the wall clock (arg unused). */
int64_t dt_clock_system(void *arg);

#endif
