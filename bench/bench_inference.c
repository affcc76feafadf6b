/* Inference speed, µs per flow, for every classifier architecture at the
 * seed's dimensions (k=5, 2 features, hidden 20, 3 layers, context 3, 4
 * classes), raw packet sizes and times in (preprocessing included).
 *
 *   batch 1   ef_model_predict, one flow after another
 *   batch 64  ef_model_predict_batch
 *   blas 64   the training network's batched forward (OpenBLAS sgemm per
 *             step over the 64 flows; ef_preproc_apply + ef_net_forward),
 *             the alternative batch path
 *
 * for the AVX2 kernels and the portable C kernels (the baseline measured in
 * the same run). Each figure is the best of several repetitions of about
 * 0.1 s. Output: one "key=value ..." line per measurement, then a table.
 *
 *   bench_inference [--arch NAME] [--quick]                                  */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "nn/model.h"
#include "nn/net.h"
#include "nn/preproc.h"
#include "nn/rng.h"

enum { K_STEPS = 5, NFLOWS = 1024, BATCH = 64, CLASSES = 4 };

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

typedef struct inputs {
    float size[NFLOWS * K_STEPS], iat[NFLOWS * K_STEPS];
    uint8_t dir[NFLOWS * K_STEPS];
    int n[NFLOWS];
} inputs_t;

static void make_inputs(inputs_t *in)
{
    ef_rng_t r;
    ef_rng_seed(&r, 42);
    for (int i = 0; i < NFLOWS * K_STEPS; i++) {
        in->size[i] = 40.0f + (float)ef_rng_below(&r, 1460);
        in->iat[i] = ef_rng_uniform(&r) * ef_rng_uniform(&r) * 2.0f;
        in->dir[i] = (uint8_t)(ef_rng_next(&r) & 1);
    }
    for (int i = 0; i < NFLOWS; i++)
        in->n[i] = K_STEPS;
}

static volatile float sink;

/* µs per flow: best of `reps` rounds, each running whole passes over the
 * input set until ~budget seconds have passed. */
typedef void (*pass_fn)(void *ctx);

static double measure(pass_fn fn, void *ctx, double budget, int reps)
{
    double best = 1e30;
    fn(ctx); /* warm-up */
    for (int r = 0; r < reps; r++) {
        long passes = 0;
        double t0 = now(), t;
        do {
            fn(ctx);
            passes++;
            t = now();
        } while (t - t0 < budget);
        double us = (t - t0) * 1e6 / ((double)passes * NFLOWS);
        if (us < best)
            best = us;
    }
    return best;
}

typedef struct ctx {
    const ef_model_t *m;
    ef_model_scratch_t *s;
    const inputs_t *in;
    float probs[BATCH * CLASSES];
    int cls[BATCH];
    ef_net_t *net;
    ef_preproc_t pp;
    float x[BATCH * K_STEPS * 3];
} ctx_t;

static void pass_single(void *p)
{
    ctx_t *c = p;
    float acc = 0;
    for (int f = 0; f < NFLOWS; f++)
        acc += (float)ef_model_predict(c->m, c->s, c->in->size + f * K_STEPS,
                                       c->in->iat + f * K_STEPS, c->in->dir + f * K_STEPS,
                                       c->in->n[f], c->probs);
    sink = acc + c->probs[0];
}

static void pass_batch(void *p)
{
    ctx_t *c = p;
    for (int f = 0; f < NFLOWS; f += BATCH)
        ef_model_predict_batch(c->m, c->s, BATCH, c->in->size + f * K_STEPS,
                               c->in->iat + f * K_STEPS, c->in->dir + f * K_STEPS, c->in->n + f,
                               c->probs, c->cls);
    sink = c->probs[0];
}

static void pass_blas(void *p)
{
    ctx_t *c = p;
    int F = ef_preproc_features(&c->pp);
    for (int f = 0; f < NFLOWS; f += BATCH) {
        for (int b = 0; b < BATCH; b++) {
            int i = (f + b) * K_STEPS;
            ef_preproc_apply(&c->pp, c->in->size + i, c->in->iat + i, c->in->dir + i, K_STEPS,
                             c->x + b * K_STEPS * F);
        }
        ef_net_forward(c->net, BATCH, c->x, c->in->n + f, c->probs);
    }
    sink = c->probs[0];
}

static int run_arch(const char *arch, const inputs_t *in, double budget, int reps,
                    const char *dir)
{
    ef_net_config_t cfg;
    ef_net_config_default(&cfg, (ef_arch_t)ef_arch_from_name(arch), K_STEPS, CLASSES);
    ef_err_t err;
    ef_net_t *net = ef_net_new(&cfg, BATCH, &err);
    if (!net) {
        fprintf(stderr, "bench_inference: %s\n", err.msg);
        return -1;
    }
    ef_net_init(net, EF_INIT_TORCH, 1);
    ef_preproc_t pp = {5.321928f, 10.554589f, 0.0f, 1.5849625f, 0};
    const char *labels[] = {"Unlabeled", "HTTP", "Alpha", "Multi"};
    char path[512];
    snprintf(path, sizeof path, "%s/%s.safetensors", dir, arch);
    if (ef_net_save(net, &pp, labels, NULL, 0, path, &err) < 0) {
        fprintf(stderr, "bench_inference: %s\n", err.msg);
        return -1;
    }
    ef_model_t *m = ef_model_load_file(path, &err);
    unlink(path);
    if (!m) {
        fprintf(stderr, "bench_inference: %s\n", err.msg);
        return -1;
    }
    ctx_t *c = calloc(1, sizeof *c);
    c->m = m;
    c->in = in;
    c->s = ef_model_scratch_new(m, BATCH, &err);
    c->net = net;
    c->pp = pp;
    const struct {
        ef_model_kernel_t k;
        const char *name;
    } kernels[] = {{EF_MODEL_KERNEL_PORTABLE, "portable"}, {EF_MODEL_KERNEL_AVX2, "avx2"},
                   {EF_MODEL_KERNEL_AVX512, "avx512"}};
    for (int i = 0; i < 3; i++) {
        if (ef_model_set_kernel(m, kernels[i].k) < 0)
            continue;
        double b1 = measure(pass_single, c, budget, reps);
        double b64 = measure(pass_batch, c, budget, reps);
        printf("arch=%s kernel=%s batch=1 us_per_flow=%.3f\n", arch, kernels[i].name, b1);
        printf("arch=%s kernel=%s batch=64 us_per_flow=%.3f\n", arch, kernels[i].name, b64);
    }
    double blas = measure(pass_blas, c, budget, reps);
    printf("arch=%s kernel=blas batch=64 us_per_flow=%.3f\n", arch, blas);
    fflush(stdout);
    ef_model_scratch_free(c->s);
    ef_model_free(m);
    ef_net_free(net);
    free(c);
    return 0;
}

int main(int argc, char **argv)
{
    const char *only = NULL;
    double budget = 0.1;
    int reps = 5;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--arch") && i + 1 < argc)
            only = argv[++i];
        else if (!strcmp(argv[i], "--quick")) {
            budget = 0.02;
            reps = 2;
        } else {
            fprintf(stderr, "usage: bench_inference [--arch NAME] [--quick]\n");
            return 2;
        }
    }
    static inputs_t in;
    make_inputs(&in);
    char dir[] = "/tmp/ef-bench-XXXXXX";
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    const char *archs[] = {"mlp", "lstm", "bilstm", "seq2seq", "gru", "bigru"};
    int rc = 0;
    for (size_t i = 0; i < sizeof archs / sizeof archs[0]; i++)
        if (!only || !strcmp(only, archs[i]))
            rc |= run_arch(archs[i], &in, budget, reps, dir) < 0;
    rmdir(dir);
    return rc;
}
