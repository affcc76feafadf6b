/* The MAWILab taxonomy as earlyflow uses it: ten category labels and the map
 * from MAWILab's taxonomy codes (e.g. "ntscSYN139445", "ptmpHTTP") to them.
 *
 * Label strings are one word each so they are easy to write in rules
 * (early.label:NetworkScan). "Unlabeled" is a flow no MAWILab rule matched,
 * i.e. benign background traffic. */
#ifndef EF_DATA_TAXONOMY_H
#define EF_DATA_TAXONOMY_H

typedef enum ef_category {
    EF_CAT_UNLABELED = 0,
    EF_CAT_HTTP,
    EF_CAT_MULTI,
    EF_CAT_ALPHA,
    EF_CAT_NETWORKSCAN,
    EF_CAT_PORTSCAN,
    EF_CAT_DOS,
    EF_CAT_IPV6TUNNEL,
    EF_CAT_OTHER,
    EF_CAT_UNKNOWN,
    EF_CAT__COUNT
} ef_category_t;

/* "Unlabeled", "HTTP", "Multi", "Alpha", "NetworkScan", "PortScan", "DoS",
 * "IPv6Tunnel", "Other", "Unknown". */
const char *ef_category_label(ef_category_t c);

/* Category for an exact label string (case-sensitive), or -1. */
int ef_category_from_label(const char *label);

/* Category of a MAWILab taxonomy code, matched by prefix (HTTP codes before
 * the multi-point / alpha codes they start with). Codes that match no known
 * prefix map to EF_CAT_UNKNOWN. */
ef_category_t ef_taxonomy_category(const char *code);

#endif
