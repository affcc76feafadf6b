/* Inference speed, µs per flow, for every classifier architecture at the
 * seed's dimensions (k=5, 2 features, hidden 20, 3 layers, context 3, 4
 * classes), raw packet sizes and times in (preprocessing included).
 *
 *   batch 1   ef_model_predict, one flow after another
 *   batch 64  ef_model_predict_batch
 *   blas 64   ef_model_predict_batch on its OpenBLAS path (the training
 *             network's batched forward: one sgemm per layer and step over
 *             the 64 flows), the alternative batch path
 *
 * for each cell kernel the CPU has (portable C, AVX2, AVX-512); the portable
 * kernel is the baseline measured in the same run. Time is the benchmark
 * thread's CPU time (CLOCK_THREAD_CPUTIME_ID: robust to the process being
 * descheduled on a shared machine, not to a busy SMT sibling), the best of
 * several repetitions of about 0.1 s.
 *
 * Calibration: the same run measures this core's peak rate of independent
 * 8-lane FMAs; each result is also given as GFLOP/s of the architecture's
 * useful multiply-adds (padding excluded) and as a fraction of that peak,
 * which is comparable across busy and quiet machines.
 *
 * Output: one "key=value ..." line per measurement.
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

static volatile float sink;

enum { K_STEPS = 5, NFLOWS = 1024, BATCH = 64, CLASSES = 4 };

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
/* Peak 8-lane FMA rate of this core, GFLOP/s: 16 independent chains,
 * written out so they stay in registers. */
__attribute__((target("avx2,fma"))) static double fma_peak_gflops(double budget)
{
    const __m256 b = _mm256_set1_ps(0.999f), c = _mm256_set1_ps(1e-4f);
#define A16(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11) X(12) X(13) X(14) X(15)
#define DECL(i) __m256 a##i = _mm256_set1_ps((float)(i) * 1e-3f);
#define STEP(i) a##i = _mm256_fmadd_ps(a##i, b, c);
#define SUM(i) s += a##i[0];
    A16(DECL)
    double best = 0;
    for (int rep = 0; rep < 5; rep++) {
        long n = 0;
        double t0 = now(), t;
        do {
            for (int it = 0; it < 4096; it++) {
                A16(STEP)
            }
            n += 4096 * 16;
            t = now();
        } while (t - t0 < budget / 2);
        double g = (double)n * 16.0 / (t - t0) / 1e9;
        if (g > best)
            best = g;
    }
    float s = 0;
    A16(SUM)
    sink = s;
    return best;
#undef A16
#undef DECL
#undef STEP
#undef SUM
}
#else
static double fma_peak_gflops(double budget)
{
    (void)budget;
    return 0;
}
#endif

/* Multiply-adds of one full-length flow, padding excluded. */
static double useful_macs(const ef_net_config_t *c)
{
    if (c->arch == EF_ARCH_MLP)
        return (double)c->hidden * c->k * c->features +
               (double)(c->layers - 1) * c->hidden * c->hidden + (double)c->classes * c->hidden;
    int G = c->arch == EF_ARCH_GRU || c->arch == EF_ARCH_BIGRU ? 3 : 4;
    int stacks = c->arch == EF_ARCH_BILSTM || c->arch == EF_ARCH_BIGRU ? 2 : 1;
    double per_step = 0;
    for (int l = 0; l < c->layers; l++)
        per_step += (double)G * c->hidden * ((l ? c->hidden : c->features) + c->hidden);
    int per = G == 4 ? 2 : 1;
    double heads = c->arch == EF_ARCH_LSTM || c->arch == EF_ARCH_GRU
                 ? (double)c->classes * c->hidden
                 : stacks * (double)c->context * per * c->layers * c->hidden +
                   (double)c->classes * stacks * c->context;
    return stacks * per_step * c->k + heads;
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

static void report(const char *arch, const char *kernel, int batch, double us, double macs,
                   double peak)
{
    double gflops = 2.0 * macs / (us * 1e3);
    printf("arch=%s kernel=%s batch=%d us_per_flow=%.3f gflops=%.2f peak_fraction=%.3f\n", arch,
           kernel, batch, us, gflops, peak > 0 ? gflops / peak : 0.0);
}

static int run_arch(const char *arch, const inputs_t *in, double budget, int reps,
                    const char *dir, double peak)
{
    ef_net_config_t cfg;
    ef_net_config_default(&cfg, (ef_arch_t)ef_arch_from_name(arch), K_STEPS, CLASSES);
    ef_err_t err;
    ef_net_t *net = ef_net_new(&cfg, 1, &err);
    if (!net) {
        fprintf(stderr, "bench_inference: %s\n", err.msg);
        return -1;
    }
    ef_net_init(net, EF_INIT_TORCH, 1);
    double macs = useful_macs(&cfg);
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

    const struct {
        ef_model_kernel_t k;
        const char *name;
    } kernels[] = {{EF_MODEL_KERNEL_PORTABLE, "portable"}, {EF_MODEL_KERNEL_AVX2, "avx2"},
                   {EF_MODEL_KERNEL_AVX512, "avx512"}};
    for (int i = 0; i < 3; i++) {
        if (ef_model_set_kernel(m, kernels[i].k) < 0)
            continue;
        ef_model_set_batch_path(m, EF_MODEL_BATCH_CELLS);
        c->s = ef_model_scratch_new(m, BATCH, &err);
        double b1 = measure(pass_single, c, budget, reps);
        double b64 = measure(pass_batch, c, budget, reps);
        report(arch, kernels[i].name, 1, b1, macs, peak);
        report(arch, kernels[i].name, 64, b64, macs, peak);
        ef_model_scratch_free(c->s);
    }
    ef_model_set_batch_path(m, EF_MODEL_BATCH_BLAS);
    c->s = ef_model_scratch_new(m, BATCH, &err);
    double blas = measure(pass_batch, c, budget, reps);
    report(arch, "blas", 64, blas, macs, peak);
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
    double peak = fma_peak_gflops(budget);
    printf("calibration fma8_peak_gflops=%.1f\n", peak);
    int rc = 0;
    for (size_t i = 0; i < sizeof archs / sizeof archs[0]; i++)
        if (!only || !strcmp(only, archs[i]))
            rc |= run_arch(archs[i], &in, budget, reps, dir, peak) < 0;
    printf("calibration fma8_peak_gflops=%.1f\n", fma_peak_gflops(budget));
    rmdir(dir);
    return rc;
}
