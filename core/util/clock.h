/* The monotonic clock, for durations and rate limits (never for packet
 * time, which comes from capture timestamps). Thread-safe, no state. */
#ifndef EF_UTIL_CLOCK_H
#define EF_UTIL_CLOCK_H

#include <stdint.h>
#include <time.h>

static inline uint64_t ef_mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static inline uint64_t ef_mono_us(void) { return ef_mono_ns() / 1000u; }
static inline uint64_t ef_mono_ms(void) { return ef_mono_ns() / 1000000u; }
static inline double ef_mono_s(void) { return (double)ef_mono_ns() * 1e-9; }

#endif
