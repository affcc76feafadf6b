/* Training speed: seconds per epoch of mini-batch Adam on random sequences.
 *
 * The seed configuration by default (3-layer LSTM, hidden 20, k = 5, two
 * input features, 4 classes, batch 20, 20,000 sequences), the same workload
 * as tools/bench_torch_train.py so bench/run-training.sh can print the
 * ratio. Only the training step is timed (forward + backward + Adam over
 * pre-made inputs), as on the PyTorch side.
 *
 * usage: bench_train [--arch lstm] [--sequences N] [--k K] [--batch B]
 *                    [--epochs E] [--hidden H] [--layers L]
 * Prints one line per epoch and `c_seconds_per_epoch X` (the median). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "nn/data.h"
#include "nn/net.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    const char *arch_name = "lstm";
    int seqs = 20000, k = 5, batch = 20, epochs = 3, hidden = 20, layers = 3, classes = 4;
    for (int i = 1; i + 1 < argc; i += 2) {
        const char *o = argv[i], *v = argv[i + 1];
        if (!strcmp(o, "--arch"))
            arch_name = v;
        else if (!strcmp(o, "--sequences"))
            seqs = atoi(v);
        else if (!strcmp(o, "--k"))
            k = atoi(v);
        else if (!strcmp(o, "--batch"))
            batch = atoi(v);
        else if (!strcmp(o, "--epochs"))
            epochs = atoi(v);
        else if (!strcmp(o, "--hidden"))
            hidden = atoi(v);
        else if (!strcmp(o, "--layers"))
            layers = atoi(v);
        else {
            fprintf(stderr, "bench_train: unknown option %s\n", o);
            return 2;
        }
    }
    int arch = ef_arch_from_name(arch_name);
    if (arch < 0 || seqs < 1 || k < 1 || k > 20 || batch < 1 || epochs < 1 || epochs > 50) {
        fprintf(stderr, "bench_train: bad arguments\n");
        return 2;
    }
    ef_net_config_t cfg;
    ef_net_config_default(&cfg, (ef_arch_t)arch, k, classes);
    cfg.hidden = hidden;
    cfg.layers = layers;
    ef_err_t err;
    ef_net_t *net = ef_net_new(&cfg, batch, &err);
    if (!net) {
        fprintf(stderr, "bench_train: %s\n", err.msg);
        return 1;
    }
    ef_net_init(net, EF_INIT_TORCH, 1);
    ef_adam_t *opt = ef_adam_new(ef_net_num_params(net), 0.001f);
    float *x = malloc((size_t)seqs * (size_t)k * 2 * sizeof *x);
    float *xb = malloc((size_t)batch * (size_t)k * 2 * sizeof *xb);
    int *y = malloc((size_t)seqs * sizeof *y), *yb = malloc((size_t)batch * sizeof *yb);
    int *n = malloc((size_t)batch * sizeof *n);
    size_t *order = malloc((size_t)seqs * sizeof *order);
    double *times = malloc((size_t)epochs * sizeof *times);
    if (!opt || !x || !xb || !y || !yb || !n || !order || !times) {
        fprintf(stderr, "bench_train: out of memory\n");
        return 1;
    }
    ef_data_rng_t rng;
    ef_data_rng_seed(&rng, 1, 0);
    for (size_t i = 0; i < (size_t)seqs * (size_t)k * 2; i++)
        x[i] = (float)ef_data_rng_uniform(&rng);
    for (int i = 0; i < seqs; i++) {
        y[i] = (int)ef_data_rng_below(&rng, (uint64_t)classes);
        order[i] = (size_t)i;
    }
    for (int b = 0; b < batch; b++)
        n[b] = k;
    const size_t row = (size_t)k * 2;
    for (int e = 0; e < epochs; e++) {
        ef_data_shuffle(&rng, order, (size_t)seqs);
        double t0 = now_s(), total = 0;
        for (int s = 0; s < seqs; s += batch) {
            int B = seqs - s < batch ? seqs - s : batch;
            for (int b = 0; b < B; b++) {
                memcpy(xb + (size_t)b * row, x + order[s + b] * row, row * sizeof *xb);
                yb[b] = y[order[s + b]];
            }
            ef_net_zero_grad(net);
            total += (double)ef_net_forward_backward(net, B, xb, n, yb, NULL) * B;
            ef_adam_step(opt, ef_net_params(net), ef_net_grads(net));
        }
        times[e] = now_s() - t0;
        fprintf(stderr, "C epoch %d: %.3f s, loss %.4f\n", e + 1, times[e], total / seqs);
    }
    qsort(times, (size_t)epochs, sizeof *times, cmp_double);
    printf("c_seconds_per_epoch %.4f\n", times[epochs / 2]);
    free(x);
    free(xb);
    free(y);
    free(yb);
    free(n);
    free(order);
    free(times);
    ef_adam_free(opt);
    ef_net_free(net);
    return 0;
}
