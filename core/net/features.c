#include "net/features.h"

int ef_features_add(ef_features_t *f, uint64_t ts_us, uint16_t ip_len, int c2s)
{
    if (f->n >= EF_K_MAX)
        return f->n;
    uint32_t iat = 0;
    if (f->n > 0 && ts_us > f->last_ts_us) {
        uint64_t d = ts_us - f->last_ts_us;
        iat = d > UINT32_MAX ? UINT32_MAX : (uint32_t)d;
    }
    /* A reordered (earlier-stamped) packet does not move the clock back, so
     * the next packet's gap is measured from the latest time seen. */
    if (f->n == 0 || ts_us > f->last_ts_us)
        f->last_ts_us = ts_us;
    f->iat_us[f->n] = iat;
    f->size[f->n] = ip_len;
    if (c2s)
        f->dir_bits |= 1u << f->n;
    return ++f->n;
}

int ef_features_c2s(const ef_features_t *f, int k)
{
    if (k > f->n)
        k = f->n;
    if (k <= 0)
        return 0;
    uint32_t mask = k >= 32 ? 0xffffffffu : ((1u << k) - 1u);
    return __builtin_popcount(f->dir_bits & mask);
}
