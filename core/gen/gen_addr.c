/* Addresses: unique, public-looking, never a well-known host.
 *
 * IPv4 addresses come from a keyed 32-bit Feistel permutation of a counter,
 * so every address handed out is distinct (a permutation never repeats) and
 * the sequence looks as scattered as MAWI's scrambled addresses. Addresses
 * outside public unicast space, documentation ranges and the /24s of famous
 * public resolvers are skipped. Uniqueness is what keeps the label file
 * exact: an address written in a label row belongs to one anomaly only. */
#include <stdio.h>

#include "gen/gen_internal.h"

static uint32_t feistel32(const uint32_t key[4], uint32_t x)
{
    uint32_t l = x >> 16, r = x & 0xffffu;
    for (int i = 0; i < 4; i++) {
        uint32_t f = (uint32_t)gen_mix64(((uint64_t)key[i] << 16) ^ r) & 0xffffu;
        uint32_t t = r;
        r = l ^ f;
        l = t;
    }
    return l << 16 | r;
}

static int in_prefix(uint32_t a, uint32_t net, int len)
{
    uint32_t mask = len == 0 ? 0 : 0xffffffffu << (32 - len);
    return (a & mask) == (net & mask);
}

#define V4(a, b, c, d) (((uint32_t)(a) << 24) | ((uint32_t)(b) << 16) | ((uint32_t)(c) << 8) | (d))

int ef_gen_addr_usable(uint32_t a)
{
    static const struct {
        uint32_t net;
        int len;
    } reserved[] = {
        {V4(0, 0, 0, 0), 8},        {V4(10, 0, 0, 0), 8},       {V4(100, 64, 0, 0), 10},
        {V4(127, 0, 0, 0), 8},      {V4(169, 254, 0, 0), 16},   {V4(172, 16, 0, 0), 12},
        {V4(192, 0, 0, 0), 24},     {V4(192, 0, 2, 0), 24},     {V4(192, 88, 99, 0), 24},
        {V4(192, 168, 0, 0), 16},   {V4(198, 18, 0, 0), 15},    {V4(198, 51, 100, 0), 24},
        {V4(203, 0, 113, 0), 24},   {V4(224, 0, 0, 0), 3},
        /* well-known public resolvers: never generate traffic "to Google DNS" */
        {V4(1, 1, 1, 0), 24},       {V4(1, 0, 0, 0), 24},       {V4(8, 8, 8, 0), 24},
        {V4(8, 8, 4, 0), 24},       {V4(9, 9, 9, 0), 24},       {V4(149, 112, 112, 0), 24},
        {V4(208, 67, 222, 0), 24},  {V4(208, 67, 220, 0), 24},  {V4(4, 2, 2, 0), 24},
        {V4(64, 6, 64, 0), 23},     {V4(94, 140, 14, 0), 23},   {V4(185, 228, 168, 0), 24},
        {V4(76, 76, 2, 0), 24},     {V4(76, 76, 10, 0), 24},
    };
    uint32_t host = a & 0xffu;
    if (host == 0 || host == 255)
        return 0;
    for (size_t i = 0; i < sizeof reserved / sizeof reserved[0]; i++)
        if (in_prefix(a, reserved[i].net, reserved[i].len))
            return 0;
    return 1;
}

void ef_gen_addr_init(gen_ctx_t *c)
{
    for (int i = 0; i < 4; i++)
        c->addr_key[i] = (uint32_t)gen_hash3(c->cfg.seed, 0xadd7e55u, (uint64_t)i);
    c->addr_ctr = 0;
}

uint32_t ef_gen_addr_next(gen_ctx_t *c)
{
    for (;;) {
        /* 2^32 counters cover every address once; planning never needs more
         * than a few million, so the counter cannot wrap in practice. */
        uint32_t a = feistel32(c->addr_key, (uint32_t)c->addr_ctr++);
        if (ef_gen_addr_usable(a))
            return a;
    }
}

void ef_gen_addr_v6(uint64_t h, uint8_t out[16])
{
    uint64_t x = gen_mix64(h), y = gen_mix64(h ^ 0x6a09e667f3bcc909ull);
    out[0] = 0x20;
    out[1] = 0x01;
    out[2] = 0x0d;
    out[3] = 0xb8;
    for (int i = 0; i < 4; i++)
        out[4 + i] = (uint8_t)(x >> (8 * i));
    for (int i = 0; i < 8; i++)
        out[8 + i] = (uint8_t)(y >> (8 * i));
}

void ef_gen_format_v4(uint32_t a, char out[16])
{
    snprintf(out, 16, "%u.%u.%u.%u", a >> 24, (a >> 16) & 0xffu, (a >> 8) & 0xffu, a & 0xffu);
}
