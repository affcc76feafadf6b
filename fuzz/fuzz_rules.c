/* Fuzz target: the rules parser and matcher.
 *
 * The input is a rules file's text, loaded with ef_ruleset_add_string
 * against a fixed config that defines address and port variables (nested,
 * negated), then finalised and matched against verdicts of several labels,
 * scores and k on IPv4 and IPv6 flows. Oracles beyond the sanitizers: every
 * diagnostic has a message and a line inside the input; a match returns at
 * most the rules loaded; a matching pass rule comes alone. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "data/taxonomy.h"
#include "ids/config.h"
#include "ids/rules.h"

static const char config_yaml[] =
    "vars:\n"
    "  address-groups:\n"
    "    HOME_NET: \"[192.168.0.0/16,10.0.0.0/8,2001:db8::/32]\"\n"
    "    EXTERNAL_NET: \"!$HOME_NET\"\n"
    "    DNS_SERVERS: \"[$HOME_NET,!10.1.0.0/16]\"\n"
    "    LOOP_A: \"$LOOP_B\"\n"
    "    LOOP_B: \"$LOOP_A\"\n"
    "  port-groups:\n"
    "    HTTP_PORTS: \"[80,8080:8090]\"\n"
    "    NOT_HTTP: \"!$HTTP_PORTS\"\n"
    "earlyflow:\n"
    "  k: [3, 5, 20]\n";

typedef struct diag_ctx {
    int lines; /* lines in the input (+1) */
} diag_ctx_t;

static void on_diag(void *user, const ef_diag_t *d)
{
    const diag_ctx_t *dc = user;
    if (!d->msg || d->line < 0 || d->line > dc->lines)
        abort();
}

static void match_all(const ef_ruleset_t *rs)
{
    static const uint8_t a4[2][16] = {{192, 168, 1, 5}, {8, 8, 8, 8}};
    static const uint8_t a6[2][16] = {{0x20, 0x01, 0x0d, 0xb8, [15] = 1},
                                      {0x20, 0x01, 0x0d, 0xb9, [15] = 2}};
    static const uint8_t protos[] = {6, 17, 1, 58, 41};
    static const int ks[] = {3, 5, 10, 20};
    static const float scores[] = {0.0f, 0.5f, 0.9f, 1.0f};
    float probs[EF_CAT__COUNT] = {0};
    const char *labels[EF_CAT__COUNT];
    for (int c = 0; c < EF_CAT__COUNT; c++)
        labels[c] = ef_category_label((ef_category_t)c);
    size_t total = ef_ruleset_count(rs);
    const ef_rule_t *hits[32];
    for (int c = 0; c < EF_CAT__COUNT; c++)
        for (size_t k = 0; k < 4; k++)
            for (size_t p = 0; p < sizeof protos; p++)
                for (int v6 = 0; v6 < 2; v6++) {
                    ef_verdict_t v = {
                        .label = labels[c], .score = scores[(c + k) % 4], .k = ks[k],
                        .packets = ks[k], .model = "fuzz", .n_classes = EF_CAT__COUNT,
                        .class_labels = labels, .probs = probs,
                    };
                    ef_rule_flow_t f = {
                        .ip_version = v6 ? 6 : 4, .proto = protos[p],
                        .client_port = protos[p] == 6 || protos[p] == 17 ? 40000 : 0,
                        .server_port = protos[p] == 6 || protos[p] == 17 ? 80 : 0,
                        .client_addr = v6 ? a6[c & 1] : a4[c & 1],
                        .server_addr = v6 ? a6[!(c & 1)] : a4[!(c & 1)],
                    };
                    size_t n = ef_ruleset_match(rs, &f, &v, hits, 32);
                    if (n > total)
                        abort();
                    for (size_t i = 0; i < n && i < 32; i++)
                        if (hits[i]->action == EF_ACTION_PASS && n != 1)
                            abort();
                }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > (1u << 20))
        return 0;
    ef_err_t err = {{0}};
    ef_config_t *cfg = ef_config_load_string("fuzz.yaml", config_yaml, sizeof config_yaml - 1,
                                             NULL, NULL, &err);
    if (!cfg)
        abort();
    diag_ctx_t dc = {1};
    for (size_t i = 0; i < size; i++)
        dc.lines += data[i] == '\n';
    ef_rules_opts_t ro = {.config = cfg, .diag = on_diag, .diag_user = &dc};
    ef_ruleset_t *rs = ef_ruleset_new(&ro, &err);
    if (!rs)
        abort();
    if (ef_ruleset_add_string(rs, "fuzz.rules", (const char *)data, size, &err) < 0 &&
        !err.msg[0])
        abort();
    if (ef_ruleset_finalize(rs, &err) == 0) {
        const ef_rules_counts_t *n = ef_ruleset_counts(rs);
        if (n->loaded != ef_ruleset_count(rs))
            abort();
        match_all(rs);
        (void)ef_ruleset_k_mask(rs);
    }
    ef_ruleset_free(rs);
    ef_config_free(cfg);
    return 0;
}
