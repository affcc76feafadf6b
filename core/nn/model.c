/* Inference: a validated model file, its weights repacked once for the
 * single-flow kernels (infer.h), and per-thread scratch. Predicting
 * allocates nothing and writes only to the scratch and the caller's
 * output. */
#include "nn/model.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/infer.h"
#include "nn/layout.h"
#include "nn/model_file.h"
#include "nn/net.h"
#include "nn/preproc.h"

typedef struct prep_layer {
    const float *wx, *wh, *bias;
    int nx;
} prep_layer_t;

typedef struct prep_dense {
    const float *wt, *bias; /* [in][outp], [outp] */
    int in, out, outp;
} prep_dense_t;

struct ef_model {
    char *name;
    ef_model_file_t f;
    int gates, H, Hp, R, L, C, K, F, k;
    int n_stacks;
    prep_layer_t layer[2][EF_NET_MAX_LAYERS];
    prep_dense_t mlp[EF_NET_MAX_LAYERS + 1];
    const float *ctx_w[2], *ctx_b[2]; /* mlp1/mlp2 row-major [SC][S] */
    const float *head_w, *head_b;     /* fc1 row-major [K][in] */
    int S, top;                       /* context input width; top-h row offset */
    float *block;                     /* repacked weights (aligned) */
    ef_model_kernel_t kernel;
    ef_infer_layer_fn lstm_layer, gru_layer;
    void (*dense)(const float *, int, const float *, const float *, int, float *);
};

struct ef_model_scratch {
    const ef_model_t *m;
    int max_batch;
    float *x, *xrev;        /* [k][F] */
    float *seq[2];          /* [k][Hp] */
    float *acc;             /* [max rows] */
    float *zero;            /* [Hp] */
    float *fin_h, *fin_c;   /* [2][L][Hp] */
    float *s;               /* [S] */
    float *head_in;         /* [2C or H] */
    float *logits;          /* [K] */
    float *mbuf[2];         /* mlp activations */
    float *sizes, *iats;    /* [k] (predict_features) */
    unsigned char *dirs;    /* [k] */
    float *mem;
};

static int round8(int v)
{
    return (v + 7) & ~7;
}

/* ---- kernels ---- */

static int cpu_has_avx2(void)
{
#ifdef EF_INFER_HAVE_AVX2
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
    return 0;
#endif
}

int ef_model_set_kernel(ef_model_t *m, ef_model_kernel_t k)
{
    if (k == EF_MODEL_KERNEL_AUTO)
        k = cpu_has_avx2() ? EF_MODEL_KERNEL_AVX2 : EF_MODEL_KERNEL_PORTABLE;
    if (k == EF_MODEL_KERNEL_AVX2) {
#ifdef EF_INFER_HAVE_AVX2
        if (!cpu_has_avx2())
            return -1;
        m->lstm_layer = ef_infer_lstm_layer_avx2;
        m->gru_layer = ef_infer_gru_layer_avx2;
        m->dense = ef_infer_dense_avx2;
#else
        return -1;
#endif
    } else if (k == EF_MODEL_KERNEL_PORTABLE) {
        m->lstm_layer = ef_infer_lstm_layer_generic;
        m->gru_layer = ef_infer_gru_layer_generic;
        m->dense = ef_infer_dense_generic;
    } else
        return -1;
    m->kernel = k;
    return 0;
}

ef_model_kernel_t ef_model_kernel(const ef_model_t *m)
{
    return m->kernel;
}

/* ---- repacking ---- */

static const float *tensor(const ef_model_t *m, const char *name)
{
    int i = ef_layout_find(&m->f.layout, name);
    return i < 0 ? NULL : m->f.params + m->f.layout.t[i].offset;
}

static size_t prep_floats(const ef_model_t *m)
{
    size_t n = 0;
    for (int l = 0; l < m->L && m->n_stacks; l++) {
        int nx = l ? m->H : m->F;
        n += (size_t)m->n_stacks * ((size_t)(nx + m->H) * m->R + (size_t)m->R);
    }
    if (m->f.cfg.arch == EF_ARCH_MLP)
        for (int i = 0; i <= m->L; i++) {
            int in = i ? m->H : m->F * m->k, out = i == m->L ? m->K : m->H;
            n += (size_t)(in + 1) * (size_t)round8(out);
        }
    return n;
}

/* Gate block b of the PyTorch matrix (rows b*H..) -> rows [dst_blk*Hp..) of
 * the transposed, padded matrix. */
static void put_block(float *wt, int R, int Hp, int dst_blk, const float *w, int src_blk, int H,
                      int cols)
{
    for (int u = 0; u < H; u++)
        for (int j = 0; j < cols; j++)
            wt[(size_t)j * R + (size_t)dst_blk * Hp + u] = w[(size_t)(src_blk * H + u) * cols + j];
}

static void prep_rnn_layer(ef_model_t *m, int s, int l, float **cursor)
{
    char name[EF_NET_NAME_MAX];
    const char *prefix = ef_arch_stack_prefix(m->f.cfg.arch, s);
    int H = m->H, Hp = m->Hp, R = m->R, nx = l ? H : m->F;
    snprintf(name, sizeof name, "%s.weight_ih_l%d", prefix, l);
    const float *w_ih = tensor(m, name);
    snprintf(name, sizeof name, "%s.weight_hh_l%d", prefix, l);
    const float *w_hh = tensor(m, name);
    snprintf(name, sizeof name, "%s.bias_ih_l%d", prefix, l);
    const float *b_ih = tensor(m, name);
    snprintf(name, sizeof name, "%s.bias_hh_l%d", prefix, l);
    const float *b_hh = tensor(m, name);
    float *wx = *cursor, *wh = wx + (size_t)nx * R, *bias = wh + (size_t)H * R;
    *cursor = bias + R;
    if (m->gates == 4) {
        for (int g = 0; g < 4; g++) {
            put_block(wx, R, Hp, g, w_ih, g, H, nx);
            put_block(wh, R, Hp, g, w_hh, g, H, H);
            for (int u = 0; u < H; u++)
                bias[g * Hp + u] = b_ih[g * H + u] + b_hh[g * H + u];
        }
    } else {
        /* r, z: both sides summed; n: input side in block 2, hidden in 3 */
        for (int g = 0; g < 2; g++) {
            put_block(wx, R, Hp, g, w_ih, g, H, nx);
            put_block(wh, R, Hp, g, w_hh, g, H, H);
            for (int u = 0; u < H; u++)
                bias[g * Hp + u] = b_ih[g * H + u] + b_hh[g * H + u];
        }
        put_block(wx, R, Hp, 2, w_ih, 2, H, nx);
        put_block(wh, R, Hp, 3, w_hh, 2, H, H);
        for (int u = 0; u < H; u++) {
            bias[2 * Hp + u] = b_ih[2 * H + u];
            bias[3 * Hp + u] = b_hh[2 * H + u];
        }
    }
    m->layer[s][l] = (prep_layer_t){wx, wh, bias, nx};
}

static void prep_mlp(ef_model_t *m, float **cursor)
{
    for (int i = 0; i <= m->L; i++) {
        char name[32];
        int in = i ? m->H : m->F * m->k, out = i == m->L ? m->K : m->H, outp = round8(out);
        snprintf(name, sizeof name, "fc%d.weight", i + 1);
        const float *w = tensor(m, name);
        snprintf(name, sizeof name, "fc%d.bias", i + 1);
        const float *b = tensor(m, name);
        float *wt = *cursor, *bias = wt + (size_t)in * outp;
        *cursor = bias + outp;
        for (int o = 0; o < out; o++) {
            for (int j = 0; j < in; j++)
                wt[(size_t)j * outp + o] = w[(size_t)o * in + j];
            bias[o] = b[o];
        }
        m->mlp[i] = (prep_dense_t){wt, bias, in, out, outp};
    }
}

static int prepare(ef_model_t *m, ef_err_t *err)
{
    const ef_net_config_t *c = &m->f.cfg;
    m->gates = ef_arch_gates(c->arch);
    m->H = c->hidden;
    m->Hp = round8(c->hidden);
    m->R = 4 * m->Hp;
    m->L = c->layers;
    m->C = c->context;
    m->K = c->classes;
    m->F = c->features;
    m->k = c->k;
    m->n_stacks = c->arch == EF_ARCH_MLP ? 0 : ef_arch_bidirectional(c->arch) ? 2 : 1;
    int per = m->gates == 4 ? 2 : 1;
    m->S = per * m->L * m->H;
    m->top = (m->L - 1) * per * m->C;
    size_t n = prep_floats(m);
    size_t bytes = (n * sizeof(float) + 63) & ~(size_t)63;
    m->block = aligned_alloc(64, bytes ? bytes : 64);
    if (!m->block)
        return ef_err_set(err, "%s: out of memory", m->name);
    memset(m->block, 0, bytes ? bytes : 64);
    float *cursor = m->block;
    for (int s = 0; s < m->n_stacks; s++)
        for (int l = 0; l < m->L; l++)
            prep_rnn_layer(m, s, l, &cursor);
    if (c->arch == EF_ARCH_MLP)
        prep_mlp(m, &cursor);
    if (c->arch == EF_ARCH_BILSTM || c->arch == EF_ARCH_BIGRU || c->arch == EF_ARCH_SEQ2SEQ) {
        m->ctx_w[0] = tensor(m, "mlp1.fc1.weight");
        m->ctx_b[0] = tensor(m, "mlp1.fc1.bias");
        m->ctx_w[1] = tensor(m, "mlp2.fc1.weight");
        m->ctx_b[1] = tensor(m, "mlp2.fc1.bias");
    }
    m->head_w = tensor(m, "fc1.weight");
    m->head_b = tensor(m, "fc1.bias");
    return 0;
}

/* ---- loading ---- */

static char *model_name_from_path(const char *path)
{
    const char *b = strrchr(path, '/');
    b = b ? b + 1 : path;
    size_t n = strlen(b);
    const char *ext = ".safetensors";
    size_t el = strlen(ext);
    if (n > el && !strcmp(b + n - el, ext))
        n -= el;
    return strndup(b, n);
}

static ef_model_t *finish_load(ef_model_t *m, ef_err_t *err)
{
    if (m->f.cfg.arch == EF_ARCH_AUTOENC) {
        ef_err_set(err, "%s: an autoenc model is the SEQ pre-training network, not a classifier "
                   "(train a seq2seq model from it)", m->name);
        ef_model_free(m);
        return NULL;
    }
    if (prepare(m, err) < 0 || ef_model_set_kernel(m, EF_MODEL_KERNEL_AUTO) < 0) {
        ef_model_free(m);
        return NULL;
    }
    return m;
}

ef_model_t *ef_model_load_mem(const void *data, size_t len, const char *name, ef_err_t *err)
{
    ef_model_t *m = calloc(1, sizeof *m);
    if (!m || !(m->name = strdup(name ? name : "model"))) {
        free(m);
        ef_err_set(err, "out of memory");
        return NULL;
    }
    if (ef_model_file_parse(data, len, m->name, &m->f, err) < 0) {
        ef_model_free(m);
        return NULL;
    }
    return finish_load(m, err);
}

ef_model_t *ef_model_load_file(const char *path, ef_err_t *err)
{
    ef_model_t *m = calloc(1, sizeof *m);
    if (!m || !(m->name = model_name_from_path(path))) {
        free(m);
        ef_err_set(err, "out of memory");
        return NULL;
    }
    if (ef_model_file_read(path, &m->f, err) < 0) {
        ef_model_free(m);
        return NULL;
    }
    return finish_load(m, err);
}

void ef_model_free(ef_model_t *m)
{
    if (!m)
        return;
    ef_model_file_free(&m->f);
    free(m->block);
    free(m->name);
    free(m);
}

const char *ef_model_name(const ef_model_t *m)
{
    return m->name;
}

const char *ef_model_arch(const ef_model_t *m)
{
    return ef_arch_name(m->f.cfg.arch);
}

int ef_model_k(const ef_model_t *m)
{
    return m->k;
}

int ef_model_num_classes(const ef_model_t *m)
{
    return m->K;
}

const char *const *ef_model_labels(const ef_model_t *m)
{
    return (const char *const *)m->f.labels;
}

const char *ef_model_meta(const ef_model_t *m, const char *key)
{
    return ef_model_file_meta(&m->f, key);
}

/* ---- scratch ---- */

ef_model_scratch_t *ef_model_scratch_new(const ef_model_t *m, int max_batch, ef_err_t *err)
{
    if (max_batch < 1) {
        ef_err_set(err, "max_batch %d must be at least 1", max_batch);
        return NULL;
    }
    ef_model_scratch_t *s = calloc(1, sizeof *s);
    if (!s) {
        ef_err_set(err, "out of memory");
        return NULL;
    }
    s->m = m;
    s->max_batch = max_batch;
    size_t kF = (size_t)m->k * m->F, kH = (size_t)m->k * m->Hp, Hp = (size_t)m->Hp;
    size_t L = (size_t)m->L, rows = (size_t)m->R;
    size_t wide = kF > Hp ? kF : Hp;
    if ((size_t)round8(m->K) > wide)
        wide = (size_t)round8(m->K);
    if (wide > rows)
        rows = wide;
    size_t head = 2 * (size_t)m->C > Hp ? 2 * (size_t)m->C : Hp;
    size_t sizes[] = {kF, kF, kH, kH, rows, Hp, 2 * L * Hp, 2 * L * Hp, (size_t)m->S + 8,
                      head, (size_t)m->K + 8, wide, wide, (size_t)m->k, (size_t)m->k};
    size_t total = 0;
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
        total += (sizes[i] + 15) & ~(size_t)15;
    total += 16; /* dirs */
    s->mem = aligned_alloc(64, total * sizeof(float));
    if (!s->mem) {
        free(s);
        ef_err_set(err, "out of memory");
        return NULL;
    }
    memset(s->mem, 0, total * sizeof(float));
    float *p = s->mem;
    float **dst[] = {&s->x, &s->xrev, &s->seq[0], &s->seq[1], &s->acc, &s->zero, &s->fin_h,
                     &s->fin_c, &s->s, &s->head_in, &s->logits, &s->mbuf[0], &s->mbuf[1],
                     &s->sizes, &s->iats};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        *dst[i] = p;
        p += (sizes[i] + 15) & ~(size_t)15;
    }
    s->dirs = (unsigned char *)p;
    return s;
}

void ef_model_scratch_free(ef_model_scratch_t *s)
{
    if (!s)
        return;
    free(s->mem);
    free(s);
}

/* ---- prediction ---- */

/* One stack over n steps of x (already in the stack's time order); the
 * final (h, c) of each layer land in fin_h/fin_c [L][Hp]. */
static void run_stack(const ef_model_t *m, ef_model_scratch_t *s, int which, const float *x,
                      int n)
{
    int Hp = m->Hp;
    float *fh = s->fin_h + (size_t)which * m->L * Hp, *fc = s->fin_c + (size_t)which * m->L * Hp;
    ef_infer_layer_fn fn = m->gates == 4 ? m->lstm_layer : m->gru_layer;
    const float *in = x;
    int stride = m->F;
    for (int l = 0; l < m->L; l++) {
        float *out = s->seq[l & 1];
        float *c = fc + (size_t)l * Hp;
        memset(c, 0, (size_t)Hp * sizeof *c);
        ef_infer_layer_args_t a = {
            .wx = m->layer[which][l].wx, .nx = m->layer[which][l].nx, .wh = m->layer[which][l].wh,
            .H = m->H, .Hp = Hp, .R = m->R, .bias = m->layer[which][l].bias, .in = in,
            .in_stride = stride, .n = n, .out = out, .c = c, .acc = s->acc, .zero = s->zero,
        };
        fn(&a);
        memcpy(fh + (size_t)l * Hp, out + (size_t)(n - 1) * Hp, (size_t)Hp * sizeof(float));
        in = out;
        stride = Hp;
    }
}

static float dot(const float *a, const float *b, int n)
{
    float s = 0.0f;
    for (int i = 0; i < n; i++)
        s += a[i] * b[i];
    return s;
}

/* The top layer's context h of one stack: only the C rows of the context
 * layer that the classifier reads are computed. */
static void context_top(const ef_model_t *m, ef_model_scratch_t *s, int which, float *out)
{
    int H = m->H, Hp = m->Hp, per = m->gates == 4 ? 2 : 1;
    const float *fh = s->fin_h + (size_t)which * m->L * Hp;
    const float *fc = s->fin_c + (size_t)which * m->L * Hp;
    for (int l = 0; l < m->L; l++) {
        memcpy(s->s + (size_t)l * per * H, fh + (size_t)l * Hp, (size_t)H * sizeof(float));
        if (per == 2)
            memcpy(s->s + (size_t)l * 2 * H + H, fc + (size_t)l * Hp, (size_t)H * sizeof(float));
    }
    for (int j = 0; j < m->C; j++) {
        int row = m->top + j;
        out[j] = m->ctx_b[which][row] + dot(m->ctx_w[which] + (size_t)row * m->S, s->s, m->S);
    }
}

static void head(const ef_model_t *m, const float *in, int in_n, float *logits)
{
    for (int o = 0; o < m->K; o++)
        logits[o] = m->head_b[o] + dot(m->head_w + (size_t)o * in_n, in, in_n);
}

static void forward_mlp(const ef_model_t *m, ef_model_scratch_t *s, int n)
{
    int kF = m->k * m->F;
    float *a = s->mbuf[0], *b = s->mbuf[1];
    memcpy(a, s->x, (size_t)n * m->F * sizeof(float));
    memset(a + (size_t)n * m->F, 0, (size_t)(kF - n * m->F) * sizeof(float));
    for (int i = 0; i <= m->L; i++) {
        const prep_dense_t *d = &m->mlp[i];
        m->dense(d->wt, d->in, a, d->bias, d->outp, b);
        if (i < m->L)
            for (int o = 0; o < d->outp; o++)
                b[o] = b[o] > 0.0f ? b[o] : 0.0f;
        float *t = a;
        a = b;
        b = t;
    }
    memcpy(s->logits, a, (size_t)m->K * sizeof(float));
}

static int softmax_argmax(const float *logits, int K, float *probs)
{
    int best = 0;
    for (int j = 1; j < K; j++)
        if (logits[j] > logits[best])
            best = j;
    float sum = 0.0f;
    for (int j = 0; j < K; j++) {
        probs[j] = expf(logits[j] - logits[best]);
        sum += probs[j];
    }
    for (int j = 0; j < K; j++)
        probs[j] /= sum;
    return best;
}

/* Preprocessed s->x [n][F] -> logits -> probs. */
static int forward(const ef_model_t *m, ef_model_scratch_t *s, int n, float *probs)
{
    ef_arch_t arch = m->f.cfg.arch;
    if (arch == EF_ARCH_MLP) {
        forward_mlp(m, s, n);
    } else if (arch == EF_ARCH_LSTM || arch == EF_ARCH_GRU) {
        run_stack(m, s, 0, s->x, n);
        head(m, s->fin_h + (size_t)(m->L - 1) * m->Hp, m->H, s->logits);
    } else {
        run_stack(m, s, 0, s->x, n);
        context_top(m, s, 0, s->head_in);
        if (m->n_stacks == 2) {
            for (int t = 0; t < n; t++)
                memcpy(s->xrev + (size_t)t * m->F, s->x + (size_t)(n - 1 - t) * m->F,
                       (size_t)m->F * sizeof(float));
            run_stack(m, s, 1, s->xrev, n);
            context_top(m, s, 1, s->head_in + m->C);
        }
        head(m, s->head_in, m->n_stacks * m->C, s->logits);
    }
    return softmax_argmax(s->logits, m->K, probs);
}

int ef_model_predict(const ef_model_t *m, ef_model_scratch_t *s, const float *size,
                     const float *iat_s, const uint8_t *dir, int n, float *probs)
{
    if (n < 1 || s->m != m)
        return -1;
    if (n > m->k)
        n = m->k;
    ef_preproc_apply(&m->f.pp, size, iat_s, dir, n, s->x);
    return forward(m, s, n, probs);
}

int ef_model_predict_features(const ef_model_t *m, ef_model_scratch_t *s,
                              const ef_features_t *f, int n, float *probs)
{
    if (n > f->n)
        n = f->n;
    if (n > m->k)
        n = m->k;
    if (n < 1 || s->m != m)
        return -1;
    for (int i = 0; i < n; i++) {
        s->sizes[i] = (float)f->size[i];
        s->iats[i] = (float)ef_features_iat_s(f, i);
        s->dirs[i] = (unsigned char)ef_features_dir(f, i);
    }
    ef_preproc_apply(&m->f.pp, s->sizes, s->iats, s->dirs, n, s->x);
    return forward(m, s, n, probs);
}

int ef_model_predict_batch(const ef_model_t *m, ef_model_scratch_t *s, int batch,
                           const float *size, const float *iat_s, const uint8_t *dir,
                           const int *n, float *probs, int *classes)
{
    if (s->m != m || batch < 0 || batch > s->max_batch)
        return -1;
    int k = m->k;
    for (int b = 0; b < batch; b++) {
        size_t off = (size_t)b * k;
        float *row = probs + (size_t)b * m->K;
        int c = ef_model_predict(m, s, size + off, iat_s + off, dir ? dir + off : NULL, n[b], row);
        if (c < 0)
            memset(row, 0, (size_t)m->K * sizeof *row);
        if (classes)
            classes[b] = c;
    }
    return 0;
}
