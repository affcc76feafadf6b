/* earlyflow gen: write a labelled synthetic capture (pcap + MAWILab CSV). */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "commands.h"
#include "gen/gen.h"
#include "net/decode.h"
#include "util/clock.h"

static void usage(FILE *out)
{
    ef_gen_config_t d;
    ef_gen_config_default(&d);
    fprintf(out,
            "usage: earlyflow gen -o OUT.pcap --labels OUT_anomalous_suspicious.csv [options]\n"
            "\n"
            "Write a synthetic capture of benign traffic and anomalies of every MAWILab\n"
            "category, and the matching label file in MAWILab's CSV format.\n"
            "\n"
            "  -o, --output FILE      capture to write (pcap)\n"
            "  -l, --labels FILE      label file to write (MAWILab CSV)\n"
            "  -s, --seed N           random seed (default %" PRIu64 "); same options, same files\n"
            "  -d, --duration SECS    capture length (default %g)\n"
            "  -n, --flows N          flows over all categories (default %" PRIu64 ")\n"
            "  -m, --mix SPEC         relative weights per category, e.g. benign=80,DoS=5\n"
            "                         (default %s)\n"
            "      --start EPOCH      first second of the capture (default %u,\n"
            "                         2020-09-01 14:00 JST like a MAWI daily trace)\n"
            "      --reorder P        probability that a packet swaps with the next of its flow\n"
            "      --jitter MS        mean extra delay per packet in milliseconds\n"
            "      --loss P           probability that a packet is not captured\n"
            "      --dup P            probability that a packet is captured twice\n"
            "      --one-way P        fraction of flows captured in one direction only\n"
            "      --snaplen N        bytes kept per packet (default %u; 96 is MAWI-like)\n"
            "      --linktype TYPE    ethernet (default) or raw\n"
            "      --truth FILE       also write one CSV line per flow: its category, anomaly,\n"
            "                         addresses and packet counts (the generator's ground truth)\n"
            "  -q, --quiet            no summary\n"
            "  -h, --help             this help\n"
            "\n"
            "See docs/generator.md for the traffic shapes and their sources.\n",
            d.seed, d.duration_s, d.flows, ef_gen_default_mix(), d.start_epoch, d.snaplen);
}

static int parse_u64(const char *opt, const char *s, uint64_t *out)
{
    char *end = NULL;
    errno = 0;
    if (!*s || *s == '-') {
        fprintf(stderr, "earlyflow gen: %s: '%s' is not a non-negative integer\n", opt, s);
        return -1;
    }
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end) {
        fprintf(stderr, "earlyflow gen: %s: '%s' is not a non-negative integer\n", opt, s);
        return -1;
    }
    *out = v;
    return 0;
}

static int parse_double(const char *opt, const char *s, double *out)
{
    char *end = NULL;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end) {
        fprintf(stderr, "earlyflow gen: %s: '%s' is not a number\n", opt, s);
        return -1;
    }
    *out = v;
    return 0;
}

typedef struct truth {
    FILE *f;
    int failed;
} truth_t;

static void format_addr(const uint8_t *a, int v6, char *out, size_t cap)
{
    if (!v6) {
        snprintf(out, cap, "%u.%u.%u.%u", a[0], a[1], a[2], a[3]);
        return;
    }
    size_t n = 0;
    for (int i = 0; i < 16 && n < cap; i += 2)
        n += (size_t)snprintf(out + n, cap - n, "%s%x", i ? ":" : "", a[i] << 8 | a[i + 1]);
}

static void truth_line(void *user, const ef_gen_flow_info_t *fl)
{
    truth_t *t = user;
    char ca[48], sa[48];
    format_addr(fl->client_addr, fl->ip_version == 6, ca, sizeof ca);
    format_addr(fl->server_addr, fl->ip_version == 6, sa, sizeof sa);
    if (fprintf(t->f,
                "%" PRIu64 ",%s,%" PRId64 ",%s,%s,%u,%s,%u,%s,%u,%" PRIu64 ".%06" PRIu64
                ",%" PRIu64 ".%06" PRIu64 ",%u,%u,%" PRIu64 "\n",
                fl->id, ef_category_label(fl->category), fl->anomaly_id, fl->taxonomy,
                fl->shape, fl->proto, ca, fl->client_port, sa, fl->server_port,
                fl->first_ts_us / 1000000, fl->first_ts_us % 1000000, fl->last_ts_us / 1000000,
                fl->last_ts_us % 1000000, fl->packets, fl->packets_c2s, fl->bytes) < 0)
        t->failed = 1;
}


int ef_cmd_gen(int argc, char **argv)
{
    enum { O_START = 256, O_REORDER, O_JITTER, O_LOSS, O_DUP, O_ONEWAY, O_SNAPLEN, O_LINKTYPE,
           O_TRUTH };
    static const struct option opts[] = {
        {"output", required_argument, NULL, 'o'},   {"labels", required_argument, NULL, 'l'},
        {"seed", required_argument, NULL, 's'},     {"duration", required_argument, NULL, 'd'},
        {"flows", required_argument, NULL, 'n'},    {"mix", required_argument, NULL, 'm'},
        {"start", required_argument, NULL, O_START}, {"reorder", required_argument, NULL, O_REORDER},
        {"jitter", required_argument, NULL, O_JITTER}, {"loss", required_argument, NULL, O_LOSS},
        {"dup", required_argument, NULL, O_DUP},    {"one-way", required_argument, NULL, O_ONEWAY},
        {"snaplen", required_argument, NULL, O_SNAPLEN},
        {"linktype", required_argument, NULL, O_LINKTYPE},
        {"truth", required_argument, NULL, O_TRUTH}, {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},           {NULL, 0, NULL, 0},
    };
    ef_gen_config_t cfg;
    ef_gen_config_default(&cfg);
    const char *out = NULL, *labels = NULL, *truth_path = NULL;
    int quiet = 0, c;
    uint64_t u;
    ef_err_t err;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":o:l:s:d:n:m:qh", opts, NULL)) != -1) {
        switch (c) {
        case 'o': out = optarg; break;
        case 'l': labels = optarg; break;
        case 's':
            if (parse_u64("--seed", optarg, &cfg.seed) < 0)
                return 2;
            break;
        case 'd':
            if (parse_double("--duration", optarg, &cfg.duration_s) < 0)
                return 2;
            break;
        case 'n':
            if (parse_u64("--flows", optarg, &cfg.flows) < 0)
                return 2;
            break;
        case 'm':
            if (ef_gen_parse_mix(optarg, cfg.mix, &err) < 0) {
                fprintf(stderr, "earlyflow gen: --%s\n", err.msg);
                return 2;
            }
            break;
        case O_START:
            if (parse_u64("--start", optarg, &u) < 0)
                return 2;
            if (u > UINT32_MAX) {
                fprintf(stderr, "earlyflow gen: --start: %s does not fit a pcap timestamp\n", optarg);
                return 2;
            }
            cfg.start_epoch = (uint32_t)u;
            break;
        case O_REORDER:
            if (parse_double("--reorder", optarg, &cfg.reorder) < 0)
                return 2;
            break;
        case O_JITTER:
            if (parse_double("--jitter", optarg, &cfg.jitter_ms) < 0)
                return 2;
            break;
        case O_LOSS:
            if (parse_double("--loss", optarg, &cfg.loss) < 0)
                return 2;
            break;
        case O_DUP:
            if (parse_double("--dup", optarg, &cfg.dup) < 0)
                return 2;
            break;
        case O_ONEWAY:
            if (parse_double("--one-way", optarg, &cfg.one_way) < 0)
                return 2;
            break;
        case O_SNAPLEN:
            if (parse_u64("--snaplen", optarg, &u) < 0)
                return 2;
            cfg.snaplen = u > UINT32_MAX ? UINT32_MAX : (uint32_t)u;
            break;
        case O_LINKTYPE:
            if (!strcmp(optarg, "ethernet") || !strcmp(optarg, "en10mb")) {
                cfg.linktype = EF_DLT_EN10MB;
            } else if (!strcmp(optarg, "raw")) {
                cfg.linktype = EF_DLT_LINKTYPE_RAW;
            } else {
                fprintf(stderr, "earlyflow gen: --linktype: '%s' is not ethernet or raw\n", optarg);
                return 2;
            }
            break;
        case O_TRUTH: truth_path = optarg; break;
        case 'q': quiet = 1; break;
        case 'h':
            usage(stdout);
            return 0;
        case ':':
            fprintf(stderr, "earlyflow gen: option %s needs a value\n", argv[optind - 1]);
            return 2;
        default:
            fprintf(stderr, "earlyflow gen: unknown option '%s' (see earlyflow gen --help)\n",
                    argv[optind - 1]);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "earlyflow gen: unexpected argument '%s'\n", argv[optind]);
        return 2;
    }
    if (!out || !labels) {
        fprintf(stderr, "earlyflow gen: both -o OUT.pcap and --labels FILE.csv are required\n");
        usage(stderr);
        return 2;
    }
    if (ef_gen_config_check(&cfg, &err) < 0) {
        fprintf(stderr, "earlyflow gen: --%s\n", err.msg);
        return 2;
    }
    truth_t truth = {NULL, 0};
    char *truth_tmp = NULL;
    if (truth_path) {
        if (asprintf(&truth_tmp, "%s.tmp-%ld", truth_path, (long)getpid()) < 0)
            return 1;
        truth.f = fopen(truth_tmp, "w");
        if (!truth.f) {
            fprintf(stderr, "earlyflow gen: %s: cannot create: %s\n", truth_path, strerror(errno));
            free(truth_tmp);
            return 1;
        }
        fputs("flow_id,category,anomalyID,taxonomy,shape,proto,client,client_port,server,"
              "server_port,first_ts,last_ts,packets,packets_c2s,bytes\n",
              truth.f);
    }
    ef_gen_stats_t st;
    double t0 = ef_mono_s();
    int rc = ef_gen_write(&cfg, out, labels, truth.f ? truth_line : NULL, &truth, &st, &err);
    double secs = ef_mono_s() - t0;
    if (truth.f) {
        int bad = fclose(truth.f) != 0 || truth.failed;
        if (rc == 0 && bad) {
            snprintf(err.msg, sizeof err.msg, "%s: write failed", truth_path);
            rc = -1;
        }
        if (rc == 0 && rename(truth_tmp, truth_path) < 0) {
            snprintf(err.msg, sizeof err.msg, "%s: cannot rename into place: %s", truth_path,
                     strerror(errno));
            rc = -1;
        }
        if (rc < 0)
            unlink(truth_tmp);
        free(truth_tmp);
    }
    if (rc < 0) {
        fprintf(stderr, "earlyflow gen: %s\n", err.msg);
        return 1;
    }
    if (!quiet) {
        uint64_t flows = 0;
        for (int i = 0; i < EF_CAT__COUNT; i++)
            flows += st.flows[i];
        printf("%s: %" PRIu64 " packets, %" PRIu64 " bytes, %" PRIu64 " flows in %.2f s "
               "(%.0f packets/s)\n",
               out, st.packets, st.bytes, flows, secs, secs > 0 ? st.packets / secs : 0.0);
        printf("%s: %" PRIu64 " anomalies, %" PRIu64 " rows\n", labels, st.anomalies,
               st.label_rows);
        printf("flows per category:");
        for (int i = 0; i < EF_CAT__COUNT; i++)
            if (st.flows[i])
                printf(" %s=%" PRIu64, ef_category_label((ef_category_t)i), st.flows[i]);
        printf("\n");
        if (cfg.loss > 0 || cfg.dup > 0 || cfg.reorder > 0)
            printf("dynamics: %" PRIu64 " lost, %" PRIu64 " duplicated, %" PRIu64 " reordered\n",
                   st.lost, st.duplicated, st.reordered);
    }
    return 0;
}
