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

/* Milliseconds since the Unix epoch (CLOCK_REALTIME). */
int64_t dt_clock_wall_ms(void);
/* Milliseconds of CLOCK_MONOTONIC, for intervals and deadlines. */
int64_t dt_clock_mono_ms(void);
/* Microseconds of CLOCK_MONOTONIC, for latency measurements. */
int64_t dt_clock_mono_us(void);
/* A durata_clock_fn reading the wall clock (arg unused). */
int64_t dt_clock_system(void *arg);

#endif
