/* Generator throughput: packets written per second by ef_gen_write, next to
 * two baselines measured in the same run on the same folder:
 *   write  - writing the same number of bytes with large write() calls
 *            (what the disk / page cache allows at best)
 *   read   - libpcap's read loop over the capture just written
 *
 *   bench_gen [--flows N] [--snaplen N] [--dir DIR] [--seed S] [--keep]
 *
 * Timing is wall-clock (CLOCK_MONOTONIC), best of --repeat runs (default 3);
 * on a shared machine the figures are noisy. */
#include <errno.h>
#include <fcntl.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "gen/gen.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static double raw_write(const char *path, uint64_t bytes)
{
    size_t chunk = 4u << 20;
    char *buf = malloc(chunk);
    if (!buf)
        return -1;
    for (size_t i = 0; i < chunk; i++)
        buf[i] = (char)(i * 131u);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) {
        free(buf);
        return -1;
    }
    double t0 = now_s();
    uint64_t done = 0;
    while (done < bytes) {
        size_t n = bytes - done < chunk ? (size_t)(bytes - done) : chunk;
        ssize_t w = write(fd, buf, n);
        if (w <= 0) {
            if (w < 0 && errno == EINTR)
                continue;
            break;
        }
        done += (uint64_t)w;
    }
    close(fd);
    double t = now_s() - t0;
    free(buf);
    unlink(path);
    return done == bytes ? t : -1;
}

static double pcap_read(const char *path, uint64_t *count)
{
    char eb[PCAP_ERRBUF_SIZE];
    double t0 = now_s();
    pcap_t *p = pcap_open_offline(path, eb);
    if (!p)
        return -1;
    struct pcap_pkthdr *h;
    const u_char *d;
    uint64_t n = 0, sum = 0;
    while (pcap_next_ex(p, &h, &d) == 1) {
        n++;
        sum += h->caplen ? d[0] : 0; /* touch the data */
    }
    pcap_close(p);
    volatile uint64_t sink = sum; /* keeps the loop from being optimised away */
    (void)sink;
    *count = n;
    return now_s() - t0;
}

int main(int argc, char **argv)
{
    ef_gen_config_t cfg;
    ef_gen_config_default(&cfg);
    cfg.flows = 5000;
    const char *dir = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    int keep = 0, repeat = 3;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--flows") && i + 1 < argc)
            cfg.flows = strtoull(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--snaplen") && i + 1 < argc)
            cfg.snaplen = (uint32_t)strtoul(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--dir") && i + 1 < argc)
            dir = argv[++i];
        else if (!strcmp(argv[i], "--seed") && i + 1 < argc)
            cfg.seed = strtoull(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--repeat") && i + 1 < argc)
            repeat = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--keep"))
            keep = 1;
        else {
            fprintf(stderr,
                    "usage: bench_gen [--flows N] [--snaplen N] [--dir DIR] [--seed S] "
                    "[--repeat N] [--keep]\n");
            return 2;
        }
    }
    if (repeat < 1)
        repeat = 1;
    char pcap[4096], csv[4096], raw[4096];
    snprintf(pcap, sizeof pcap, "%s/bench_gen-%ld.pcap", dir, (long)getpid());
    snprintf(csv, sizeof csv, "%s/bench_gen-%ld.csv", dir, (long)getpid());
    snprintf(raw, sizeof raw, "%s/bench_gen-%ld.raw", dir, (long)getpid());

    ef_gen_stats_t st;
    ef_err_t err;
    double best_gen = 1e30, best_write = 1e30, best_read = 1e30;
    uint64_t read_count = 0;
    for (int r = 0; r < repeat; r++) {
        double t0 = now_s();
        if (ef_gen_write(&cfg, pcap, csv, NULL, NULL, &st, &err) < 0) {
            fprintf(stderr, "bench_gen: %s\n", err.msg);
            return 1;
        }
        double t = now_s() - t0;
        best_gen = t < best_gen ? t : best_gen;
        double w = raw_write(raw, st.bytes);
        if (w < 0) {
            fprintf(stderr, "bench_gen: %s: baseline write failed\n", raw);
            return 1;
        }
        best_write = w < best_write ? w : best_write;
        double rd = pcap_read(pcap, &read_count);
        if (rd < 0 || read_count != st.packets) {
            fprintf(stderr, "bench_gen: %s: libpcap read %llu of %llu packets\n", pcap,
                    (unsigned long long)read_count, (unsigned long long)st.packets);
            return 1;
        }
        best_read = rd < best_read ? rd : best_read;
    }
    double pps = st.packets / best_gen;
    double write_pps = st.packets / best_write; /* same bytes, written raw */
    double read_pps = st.packets / best_read;
    printf("generator  flows=%llu snaplen=%u dir=%s: %llu packets, %.1f MB, best of %d\n",
           (unsigned long long)cfg.flows, cfg.snaplen, dir, (unsigned long long)st.packets,
           st.bytes / 1e6, repeat);
    printf("  %-34s %8.3f s  %10.0f packets/s  %8.1f MB/s\n", "ef_gen_write (generate + write)",
           best_gen, pps, st.bytes / 1e6 / best_gen);
    printf("  %-34s %8.3f s  %10.0f packets/s  %8.1f MB/s   gen/write = %.2f\n",
           "baseline: write() same bytes", best_write, write_pps, st.bytes / 1e6 / best_write,
           pps / write_pps);
    printf("  %-34s %8.3f s  %10.0f packets/s  %8.1f MB/s   gen/read  = %.2f\n",
           "baseline: libpcap read loop", best_read, read_pps, st.bytes / 1e6 / best_read,
           pps / read_pps);
    printf("  target >= 1000000 packets/s: %s\n", pps >= 1e6 ? "met" : "NOT met");
    if (!keep) {
        unlink(pcap);
        unlink(csv);
    } else {
        printf("  kept %s and %s\n", pcap, csv);
    }
    return 0;
}
