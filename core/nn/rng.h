/* A small seeded PRNG (xoshiro256**, state seeded by splitmix64): the same
 * seed gives the same stream on every platform, unlike rand().
 * The state is a plain value owned by the caller: no global state. */
#ifndef EF_NN_RNG_H
#define EF_NN_RNG_H

#include <stdint.h>

typedef struct ef_rng {
    uint64_t s[4];
} ef_rng_t;

void ef_rng_seed(ef_rng_t *r, uint64_t seed);
uint64_t ef_rng_next(ef_rng_t *r);
/* Uniform in [0, 1) with 24 random bits (exactly representable floats). */
float ef_rng_uniform(ef_rng_t *r);
/* Uniform integer in [0, n) without modulo bias (n >= 1). */
uint64_t ef_rng_below(ef_rng_t *r, uint64_t n);

#endif
