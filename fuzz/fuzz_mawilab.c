/* Fuzz target: the MAWILab label CSV reader and the label join.
 *
 * The input is a label file (written to a scratch file: ef_mawilab_load
 * reads paths). When it loads, every rule's own addresses and ports are
 * joined back, forward and reversed, as flows: the rule (or a more specific
 * one) must match, which also exercises the join's index. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "data/mawilab.h"
#include "fuzz_util.h"

static void join_rules(const ef_mawilab_t *m)
{
    uint32_t n = ef_mawilab_rule_count(m);
    for (uint32_t i = 0; i < n && i < 256; i++) {
        const ef_mawilab_rule_t *r = ef_mawilab_rule(m, i);
        if (!r)
            abort();
        ef_mawilab_flow_t f = {
            .client_addr = r->src,
            .server_addr = r->dst,
            .client_port = r->sport,
            .server_port = r->dport,
            .ip_version = r->ip_version ? r->ip_version : 4,
            .has_ports = 1,
        };
        ef_mawilab_match_t out;
        ef_mawilab_match(m, &f, &out);
        /* A rule with no address can only match flows of its own version
         * when it names one; one that names ports matches its own flow. */
        if (r->ip_version && !out.rule)
            abort();
        f.client_addr = r->dst;
        f.server_addr = r->src;
        f.client_port = r->dport;
        f.server_port = r->sport;
        ef_mawilab_match(m, &f, &out);
        if (r->ip_version && !out.rule)
            abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > (1u << 20))
        return 0;
    const char *path = fuzz_scratch_file(".csv", data, size);
    if (!path)
        return 0;
    ef_err_t err = {{0}};
    ef_mawilab_t *m = ef_mawilab_load(&path, 1, &err);
    if (!m) {
        if (!err.msg[0])
            abort();
        return 0;
    }
    ef_mawilab_file_info_t info;
    if (ef_mawilab_file_count(m) != 1 || ef_mawilab_file_info(m, 0, &info) != 0)
        abort();
    join_rules(m);
    ef_mawilab_free(m);
    return 0;
}
