#include "data/taxonomy.h"

#include <string.h>

static const char *const labels[EF_CAT__COUNT] = {
    [EF_CAT_UNLABELED] = "Unlabeled",     [EF_CAT_HTTP] = "HTTP",
    [EF_CAT_MULTI] = "Multi",             [EF_CAT_ALPHA] = "Alpha",
    [EF_CAT_NETWORKSCAN] = "NetworkScan", [EF_CAT_PORTSCAN] = "PortScan",
    [EF_CAT_DOS] = "DoS",                 [EF_CAT_IPV6TUNNEL] = "IPv6Tunnel",
    [EF_CAT_OTHER] = "Other",             [EF_CAT_UNKNOWN] = "Unknown",
};

const char *ef_category_label(ef_category_t c)
{
    return (unsigned)c < EF_CAT__COUNT ? labels[c] : "Unknown";
}

int ef_category_from_label(const char *label)
{
    for (int c = 0; c < EF_CAT__COUNT; c++)
        if (!strcmp(labels[c], label))
            return c;
    return -1;
}

/* Prefix table from MAWILab's taxonomy (see docs/labels.md). Order matters:
 * the first matching prefix wins, so every HTTP code comes before the
 * shorter multi-point / alpha prefixes it extends, and longer prefixes come
 * before shorter ones that share a start (ptpposcaUDP before ptpposca). */
static const struct {
    const char *prefix;
    ef_category_t cat;
} prefixes[] = {
    {"alphflHTTP", EF_CAT_HTTP},   {"ptmplaHTTP", EF_CAT_HTTP},
    {"mptplaHTTP", EF_CAT_HTTP},   {"ptmpHTTP", EF_CAT_HTTP},
    {"mptpHTTP", EF_CAT_HTTP},
    {"ptpposcaUDP", EF_CAT_NETWORKSCAN},
    {"ptpposca", EF_CAT_PORTSCAN}, {"posca", EF_CAT_PORTSCAN},
    {"mptmp", EF_CAT_MULTI},       {"ptmp", EF_CAT_MULTI},
    {"mptp", EF_CAT_MULTI},
    {"malphfl", EF_CAT_ALPHA},     {"salphfl", EF_CAT_ALPHA},
    {"alphfl", EF_CAT_ALPHA},      {"point_to_point", EF_CAT_ALPHA},
    {"heavy_hitter", EF_CAT_ALPHA},
    {"ipv4gretun", EF_CAT_IPV6TUNNEL}, {"ipv46tun", EF_CAT_IPV6TUNNEL},
    {"dntscIC", EF_CAT_NETWORKSCAN}, {"dntscSYN", EF_CAT_NETWORKSCAN},
    {"sntscSYN", EF_CAT_NETWORKSCAN}, {"ntscIC", EF_CAT_NETWORKSCAN},
    {"ntscUDP", EF_CAT_NETWORKSCAN}, {"ntscACK", EF_CAT_NETWORKSCAN},
    {"ntscSYN", EF_CAT_NETWORKSCAN}, {"ntscTCP", EF_CAT_NETWORKSCAN},
    {"ntscnull", EF_CAT_NETWORKSCAN}, {"ntscXmas", EF_CAT_NETWORKSCAN},
    {"ntscFIN", EF_CAT_NETWORKSCAN},
    {"distributed_dos", EF_CAT_DOS}, {"sptpDoS", EF_CAT_DOS},
    {"ptpDoS", EF_CAT_DOS},        {"DDoS", EF_CAT_DOS},
    {"DoS", EF_CAT_DOS},           {"rflat", EF_CAT_DOS},
    {"ttl_error", EF_CAT_OTHER},   {"hostout", EF_CAT_OTHER},
    {"netout", EF_CAT_OTHER},      {"icmp_error", EF_CAT_OTHER},
    {"unk", EF_CAT_UNKNOWN},       {"empty", EF_CAT_UNKNOWN},
};

ef_category_t ef_taxonomy_category(const char *code)
{
    if (!code)
        return EF_CAT_UNKNOWN;
    for (size_t i = 0; i < sizeof prefixes / sizeof prefixes[0]; i++)
        if (!strncmp(code, prefixes[i].prefix, strlen(prefixes[i].prefix)))
            return prefixes[i].cat;
    return EF_CAT_UNKNOWN;
}
