/* Inference: a validated model file, its weights repacked for the chosen
 * cell kernel (infer.h), and per-thread scratch. Predicting allocates
 * nothing and writes only to the scratch and the caller's output.
 *
 * Recurrent models run in wavefront order: on diagonal d every (flow,
 * direction, layer l) whose step t = d - l exists is independent of the
 * others on that diagonal (it needs layer l-1 at step t and layer l at step
 * t-1, both on diagonal d-1), so the kernel receives them together and
 * overlaps their dependency chains. */
#include "nn/model.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/infer.h"
#include "nn/layout.h"
#include "nn/model_file.h"
#include "nn/net.h"
#include "nn/ops.h"
#include "nn/preproc.h"

/* Flows run through the wavefront together by ef_model_predict_batch. */
#define GROUP 4

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
    int H, Hs, L, C, K, F, k;
    int n_stacks;
    int S, top;                       /* context input width; top-h row offset */
    ef_infer_shape_t shape;
    prep_layer_t layer[2][EF_NET_MAX_LAYERS];
    prep_dense_t mlp[EF_NET_MAX_LAYERS + 1];
    const float *ctx_w[2], *ctx_b[2]; /* mlp1/mlp2 row-major [SC][S] */
    prep_dense_t ctx[2];              /* their top-h rows, transposed [S][round8(C)] */
    const float *head_w, *head_b;     /* fc1 row-major [K][in] */
    float *block;                     /* repacked weights (aligned) */
    ef_model_kernel_t kernel;
    ef_infer_cells_fn cells;
    ef_infer_dense_fn dense;
    ef_model_batch_path_t batch_request, batch_path;
};

/* Per flow of a group: inputs and every layer's outputs. */
typedef struct flow_slot {
    float *x, *xrev;  /* [k][F] */
    float *hseq;      /* [stacks][L][k][Hs] */
    float *cst;       /* [stacks][L][Hs] */
    int n;
} flow_slot_t;

struct ef_model_scratch {
    const ef_model_t *m;
    int max_batch;
    flow_slot_t slot[GROUP];
    float *zero;            /* [Hs] */
    float *s;               /* [S] */
    float *head_in;         /* [2C or H] */
    float *logits;          /* [K] */
    float *mbuf[2];         /* mlp activations */
    float *sizes, *iats;    /* [k] (predict_features) */
    unsigned char *dirs;    /* [k] */
    ef_cell_job_t jobs[GROUP * 2 * EF_NET_MAX_LAYERS];
    float *mem;
    /* the BLAS batch path (NULL when max_batch is 1 or the path is CELLS) */
    ef_net_t *net;
    float *xb; /* [max_batch][k][F] */
    int *nb;   /* [max_batch] */
};

static int round8(int v)
{
    return (v + 7) & ~7;
}

static int round16(int v)
{
    return (v + 15) & ~15;
}

/* ---- repacking ---- */

static const float *tensor(const ef_model_t *m, const char *name)
{
    int i = ef_layout_find(&m->f.layout, name);
    return i < 0 ? NULL : m->f.params + m->f.layout.t[i].offset;
}

typedef int (*row_fn)(const ef_infer_shape_t *, int, int);

/* Gate block src_blk of the PyTorch matrix w [G*H][cols] -> gate dst_blk of
 * the transposed matrix wt [cols][R]. */
static void put_block(const ef_infer_shape_t *sh, row_fn row, float *wt, int dst_blk,
                      const float *w, int src_blk, int cols)
{
    for (int u = 0; u < sh->H; u++) {
        int r = row(sh, dst_blk, u);
        for (int j = 0; j < cols; j++)
            wt[(size_t)j * sh->R + r] = w[(size_t)(src_blk * sh->H + u) * cols + j];
    }
}

static void prep_rnn_layer(ef_model_t *m, row_fn row, int s, int l, float **cursor)
{
    char name[EF_NET_NAME_MAX];
    const char *prefix = ef_arch_stack_prefix(m->f.cfg.arch, s);
    const ef_infer_shape_t *sh = &m->shape;
    int H = m->H, R = sh->R, nx = l ? H : m->F;
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
    /* LSTM i, f, g, o; GRU r, z (both sides summed), then n's input side
     * in block 2 and its hidden side in block 3 */
    int both = sh->gru ? 2 : 4;
    for (int g = 0; g < both; g++) {
        put_block(sh, row, wx, g, w_ih, g, nx);
        put_block(sh, row, wh, g, w_hh, g, H);
        for (int u = 0; u < H; u++)
            bias[row(sh, g, u)] = b_ih[g * H + u] + b_hh[g * H + u];
    }
    if (sh->gru) {
        put_block(sh, row, wx, 2, w_ih, 2, nx);
        put_block(sh, row, wh, 3, w_hh, 2, H);
        for (int u = 0; u < H; u++) {
            bias[row(sh, 2, u)] = b_ih[2 * H + u];
            bias[row(sh, 3, u)] = b_hh[2 * H + u];
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

/* Only the C rows of a context layer that the classifier reads (the top
 * layer's h part), transposed for the dense kernel. */
static void prep_ctx(ef_model_t *m, float **cursor)
{
    int outp = round8(m->C);
    for (int st = 0; st < m->n_stacks && m->ctx_w[st]; st++) {
        float *wt = *cursor, *bias = wt + (size_t)m->S * outp;
        *cursor = bias + outp;
        for (int o = 0; o < m->C; o++) {
            for (int j = 0; j < m->S; j++)
                wt[(size_t)j * outp + o] = m->ctx_w[st][(size_t)(m->top + o) * m->S + j];
            bias[o] = m->ctx_b[st][m->top + o];
        }
        m->ctx[st] = (prep_dense_t){wt, bias, m->S, m->C, outp};
    }
}

static size_t prep_floats(const ef_model_t *m)
{
    size_t n = (size_t)m->n_stacks * (size_t)(m->S + 1) * (size_t)round8(m->C);
    for (int l = 0; l < m->L && m->n_stacks; l++) {
        int nx = l ? m->H : m->F;
        n += (size_t)m->n_stacks * ((size_t)(nx + m->H + 1) * (size_t)m->shape.R);
    }
    if (m->f.cfg.arch == EF_ARCH_MLP)
        for (int i = 0; i <= m->L; i++) {
            int in = i ? m->H : m->F * m->k, out = i == m->L ? m->K : m->H;
            n += (size_t)(in + 1) * (size_t)round8(out);
        }
    return n;
}

/* Repack every weight for the layout of `segmented` (0: padded). On
 * failure (out of memory) the model is unchanged. */
static int repack(ef_model_t *m, int segmented)
{
    ef_infer_shape_t sh;
    memset(&sh, 0, sizeof sh);
    sh.gru = ef_arch_gates(m->f.cfg.arch) == 3;
    sh.H = m->H;
    sh.Hs = m->Hs;
    row_fn row;
    if (segmented) {
        ef_infer_shape_segment(&sh, m->H);
        row = ef_infer_row_segmented;
    } else {
        sh.R = 4 * round8(m->H);
        row = ef_infer_row_padded;
    }
    ef_infer_shape_t old = m->shape;
    m->shape = sh;
    size_t n = prep_floats(m);
    size_t bytes = (n * sizeof(float) + 63) & ~(size_t)63;
    float *block = aligned_alloc(64, bytes ? bytes : 64);
    if (!block) {
        m->shape = old;
        return -1;
    }
    memset(block, 0, bytes ? bytes : 64);
    free(m->block);
    m->block = block;
    float *cursor = block;
    for (int s = 0; s < m->n_stacks; s++)
        for (int l = 0; l < m->L; l++)
            prep_rnn_layer(m, row, s, l, &cursor);
    if (m->f.cfg.arch == EF_ARCH_MLP)
        prep_mlp(m, &cursor);
    prep_ctx(m, &cursor);
    return 0;
}

/* ---- kernels ---- */

static int cpu_has(ef_model_kernel_t k)
{
#ifdef EF_INFER_HAVE_X86
    if (k == EF_MODEL_KERNEL_AVX2)
        return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    if (k == EF_MODEL_KERNEL_AVX512)
        return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
               __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx2") &&
               __builtin_cpu_supports("fma");
#endif
    return k == EF_MODEL_KERNEL_PORTABLE;
}

static void resolve_batch_path(ef_model_t *m);

int ef_model_set_kernel(ef_model_t *m, ef_model_kernel_t k)
{
    if (k == EF_MODEL_KERNEL_AUTO) {
        ef_infer_shape_t probe;
        int fits = ef_infer_shape_segment(&probe, m->H) <= EF_INFER_AVX512_MAX_VECS;
        k = cpu_has(EF_MODEL_KERNEL_AVX512) && fits ? EF_MODEL_KERNEL_AVX512
          : cpu_has(EF_MODEL_KERNEL_AVX2) ? EF_MODEL_KERNEL_AVX2 : EF_MODEL_KERNEL_PORTABLE;
    }
    if (!cpu_has(k))
        return -1;
    ef_infer_cells_fn cells = ef_infer_cells_generic;
    ef_infer_dense_fn dense = ef_infer_dense_generic;
#ifdef EF_INFER_HAVE_X86
    if (k == EF_MODEL_KERNEL_AVX512) {
        ef_infer_shape_t probe;
        if (ef_infer_shape_segment(&probe, m->H) > EF_INFER_AVX512_MAX_VECS)
            return -1;
        cells = ef_infer_cells_avx512;
        dense = ef_infer_dense_avx2;
    } else if (k == EF_MODEL_KERNEL_AVX2) {
        cells = ef_infer_cells_avx2;
        dense = ef_infer_dense_avx2;
    }
#endif
    if (repack(m, k == EF_MODEL_KERNEL_AVX512) < 0)
        return -1;
    m->cells = cells;
    m->dense = dense;
    m->kernel = k;
    resolve_batch_path(m);
    return 0;
}

ef_model_kernel_t ef_model_kernel(const ef_model_t *m)
{
    return m->kernel;
}

static void resolve_batch_path(ef_model_t *m)
{
    ef_model_batch_path_t p = m->batch_request;
    if (p == EF_MODEL_BATCH_AUTO)
        p = m->f.cfg.arch != EF_ARCH_MLP && m->kernel != EF_MODEL_KERNEL_AVX512
          ? EF_MODEL_BATCH_BLAS : EF_MODEL_BATCH_CELLS;
    m->batch_path = p;
}

void ef_model_set_batch_path(ef_model_t *m, ef_model_batch_path_t p)
{
    m->batch_request = p;
    resolve_batch_path(m);
}

ef_model_batch_path_t ef_model_batch_path(const ef_model_t *m)
{
    return m->batch_path;
}

const char *ef_model_kernel_name(ef_model_kernel_t k)
{
    switch (k) {
    case EF_MODEL_KERNEL_PORTABLE: return "portable";
    case EF_MODEL_KERNEL_AVX2: return "avx2";
    case EF_MODEL_KERNEL_AVX512: return "avx512";
    default: return "auto";
    }
}

/* ---- loading ---- */

static void set_dims(ef_model_t *m)
{
    const ef_net_config_t *c = &m->f.cfg;
    m->H = c->hidden;
    m->Hs = round16(c->hidden);
    m->L = c->layers;
    m->C = c->context;
    m->K = c->classes;
    m->F = c->features;
    m->k = c->k;
    m->n_stacks = c->arch == EF_ARCH_MLP ? 0 : ef_arch_bidirectional(c->arch) ? 2 : 1;
    int per = ef_arch_gates(c->arch) == 4 ? 2 : 1;
    m->S = per * m->L * m->H;
    m->top = (m->L - 1) * per * m->C;
    m->ctx_w[0] = tensor(m, "mlp1.fc1.weight");
    m->ctx_b[0] = tensor(m, "mlp1.fc1.bias");
    m->ctx_w[1] = tensor(m, "mlp2.fc1.weight");
    m->ctx_b[1] = tensor(m, "mlp2.fc1.bias");
    m->head_w = tensor(m, "fc1.weight");
    m->head_b = tensor(m, "fc1.bias");
}

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
    set_dims(m);
    if (ef_model_set_kernel(m, EF_MODEL_KERNEL_AUTO) < 0) {
        ef_err_set(err, "%s: out of memory", m->name);
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
    ef_blas_single_thread();
    s->m = m;
    s->max_batch = max_batch;
    size_t kF = (size_t)m->k * m->F, Hs = (size_t)m->Hs, L = (size_t)m->L, k = (size_t)m->k;
    size_t st = m->n_stacks ? (size_t)m->n_stacks : 1;
    size_t wide = kF > Hs ? kF : Hs;
    if ((size_t)round8(m->K) > wide)
        wide = (size_t)round8(m->K);
    size_t head = 2 * (size_t)m->C > Hs ? 2 * (size_t)m->C : Hs;
    int groups = max_batch < GROUP ? max_batch : GROUP;
    size_t per_flow[] = {kF, kF, st * L * k * Hs, st * L * Hs};
    size_t shared[] = {Hs, (size_t)m->S + 16, head, (size_t)m->K + 16, wide, wide, k, k, k};
    size_t total = 0;
    for (int g = 0; g < groups; g++)
        for (size_t i = 0; i < 4; i++)
            total += (per_flow[i] + 15) & ~(size_t)15;
    for (size_t i = 0; i < sizeof shared / sizeof shared[0]; i++)
        total += (shared[i] + 15) & ~(size_t)15;
    s->mem = aligned_alloc(64, total * sizeof(float));
    if (!s->mem) {
        free(s);
        ef_err_set(err, "out of memory");
        return NULL;
    }
    memset(s->mem, 0, total * sizeof(float));
    float *p = s->mem;
    for (int g = 0; g < groups; g++) {
        float **dst[] = {&s->slot[g].x, &s->slot[g].xrev, &s->slot[g].hseq, &s->slot[g].cst};
        for (size_t i = 0; i < 4; i++) {
            *dst[i] = p;
            p += (per_flow[i] + 15) & ~(size_t)15;
        }
    }
    float **dst[] = {&s->zero, &s->s, &s->head_in, &s->logits, &s->mbuf[0], &s->mbuf[1],
                     &s->sizes, &s->iats};
    for (size_t i = 0; i < 8; i++) {
        *dst[i] = p;
        p += (shared[i] + 15) & ~(size_t)15;
    }
    s->dirs = (unsigned char *)p;
    if (max_batch > 1 && m->batch_path == EF_MODEL_BATCH_BLAS) {
        s->net = ef_net_new(&m->f.cfg, max_batch, err);
        s->xb = malloc((size_t)max_batch * kF * sizeof(float));
        s->nb = malloc((size_t)max_batch * sizeof(int));
        if (!s->net || !s->xb || !s->nb) {
            if (s->net)
                ef_err_set(err, "out of memory");
            ef_model_scratch_free(s);
            return NULL;
        }
        memcpy(ef_net_params(s->net), m->f.params, ef_net_num_params(s->net) * sizeof(float));
    }
    return s;
}

void ef_model_scratch_free(ef_model_scratch_t *s)
{
    if (!s)
        return;
    ef_net_free(s->net);
    free(s->xb);
    free(s->nb);
    free(s->mem);
    free(s);
}

/* ---- recurrent stacks, wavefront order ---- */

static float *hseq_at(const ef_model_t *m, const flow_slot_t *f, int s, int l, int t)
{
    return f->hseq + (((size_t)s * m->L + l) * m->k + t) * m->Hs;
}

static float *cst_at(const ef_model_t *m, const flow_slot_t *f, int s, int l)
{
    return f->cst + ((size_t)s * m->L + l) * m->Hs;
}

static void run_stacks(const ef_model_t *m, ef_model_scratch_t *s, int G)
{
    int L = m->L, maxn = 0;
    for (int g = 0; g < G; g++) {
        flow_slot_t *f = &s->slot[g];
        if (f->n > maxn)
            maxn = f->n;
        memset(f->cst, 0, (size_t)m->n_stacks * L * m->Hs * sizeof(float));
        if (m->n_stacks == 2)
            for (int t = 0; t < f->n; t++)
                memcpy(f->xrev + (size_t)t * m->F, f->x + (size_t)(f->n - 1 - t) * m->F,
                       (size_t)m->F * sizeof(float));
    }
    for (int d = 0; d < L + maxn - 1; d++) {
        int nj = 0;
        for (int g = 0; g < G; g++) {
            const flow_slot_t *f = &s->slot[g];
            for (int st = 0; st < m->n_stacks; st++)
                for (int l = 0; l < L; l++) {
                    int t = d - l;
                    if (t < 0 || t >= f->n)
                        continue;
                    const prep_layer_t *p = &m->layer[st][l];
                    ef_cell_job_t *j = &s->jobs[nj++];
                    j->wx = p->wx;
                    j->nx = p->nx;
                    j->x = l ? hseq_at(m, f, st, l - 1, t)
                             : (st ? f->xrev : f->x) + (size_t)t * m->F;
                    j->wh = p->wh;
                    j->hprev = t ? hseq_at(m, f, st, l, t - 1) : s->zero;
                    j->bias = p->bias;
                    j->c = cst_at(m, f, st, l);
                    j->h = hseq_at(m, f, st, l, t);
                }
        }
        m->cells(&m->shape, nj, s->jobs);
    }
}

/* ---- heads ---- */

static float dot(const float *a, const float *b, int n)
{
    float s = 0.0f;
    for (int i = 0; i < n; i++)
        s += a[i] * b[i];
    return s;
}

/* The top layer's context h of one stack: only the C rows of the context
 * layer that the classifier reads are computed. */
static void context_top(const ef_model_t *m, ef_model_scratch_t *s, const flow_slot_t *f,
                        int st, float *out)
{
    int H = m->H, per = ef_arch_gates(m->f.cfg.arch) == 4 ? 2 : 1;
    for (int l = 0; l < m->L; l++) {
        memcpy(s->s + (size_t)l * per * H, hseq_at(m, f, st, l, f->n - 1),
               (size_t)H * sizeof(float));
        if (per == 2)
            memcpy(s->s + (size_t)l * 2 * H + H, cst_at(m, f, st, l), (size_t)H * sizeof(float));
    }
    /* out may hold fewer than round8(C) floats: compute into the scratch */
    float y[EF_NET_MAX_CONTEXT + 8];
    m->dense(m->ctx[st].wt, m->S, s->s, m->ctx[st].bias, m->ctx[st].outp, y);
    memcpy(out, y, (size_t)m->C * sizeof(float));
}

static void head(const ef_model_t *m, const float *in, int in_n, float *logits)
{
    for (int o = 0; o < m->K; o++)
        logits[o] = m->head_b[o] + dot(m->head_w + (size_t)o * in_n, in, in_n);
}

static void forward_mlp(const ef_model_t *m, ef_model_scratch_t *s, const flow_slot_t *f)
{
    int kF = m->k * m->F;
    float *a = s->mbuf[0], *b = s->mbuf[1];
    memcpy(a, f->x, (size_t)f->n * m->F * sizeof(float));
    memset(a + (size_t)f->n * m->F, 0, (size_t)(kF - f->n * m->F) * sizeof(float));
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

/* Slots 0..G-1 hold preprocessed flows (n >= 1) -> probs [G][K], classes. */
static void forward_group(const ef_model_t *m, ef_model_scratch_t *s, int G, float *probs,
                          int *classes)
{
    ef_arch_t arch = m->f.cfg.arch;
    if (arch != EF_ARCH_MLP)
        run_stacks(m, s, G);
    for (int g = 0; g < G; g++) {
        const flow_slot_t *f = &s->slot[g];
        if (arch == EF_ARCH_MLP) {
            forward_mlp(m, s, f);
        } else if (arch == EF_ARCH_LSTM || arch == EF_ARCH_GRU) {
            head(m, hseq_at(m, f, 0, m->L - 1, f->n - 1), m->H, s->logits);
        } else {
            for (int st = 0; st < m->n_stacks; st++)
                context_top(m, s, f, st, s->head_in + (size_t)st * m->C);
            head(m, s->head_in, m->n_stacks * m->C, s->logits);
        }
        classes[g] = softmax_argmax(s->logits, m->K, probs + (size_t)g * m->K);
    }
}

int ef_model_predict(const ef_model_t *m, ef_model_scratch_t *s, const float *size,
                     const float *iat_s, const uint8_t *dir, int n, float *probs)
{
    if (n < 1 || s->m != m)
        return -1;
    if (n > m->k)
        n = m->k;
    ef_preproc_apply(&m->f.pp, size, iat_s, dir, n, s->slot[0].x);
    s->slot[0].n = n;
    int cls;
    forward_group(m, s, 1, probs, &cls);
    return cls;
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
    return ef_model_predict(m, s, s->sizes, s->iats, s->dirs, n, probs);
}

/* The BLAS path: preprocess every flow, one batched forward, argmax. */
static void predict_batch_blas(const ef_model_t *m, ef_model_scratch_t *s, int batch,
                               const float *size, const float *iat_s, const uint8_t *dir,
                               const int *n, float *probs, int *classes)
{
    int k = m->k, kF = k * m->F;
    for (int b = 0; b < batch; b++) {
        size_t off = (size_t)b * k;
        int nb = n[b] > k ? k : n[b] < 0 ? 0 : n[b];
        s->nb[b] = nb;
        ef_preproc_apply(&m->f.pp, size + off, iat_s + off, dir ? dir + off : NULL, nb,
                         s->xb + (size_t)b * kF);
    }
    ef_net_forward(s->net, batch, s->xb, s->nb, probs);
    for (int b = 0; b < batch; b++) {
        float *row = probs + (size_t)b * m->K;
        int best = -1;
        if (s->nb[b] < 1)
            memset(row, 0, (size_t)m->K * sizeof *row);
        else
            for (int j = 0, first = 1; j < m->K; j++, first = 0)
                if (first || row[j] > row[best])
                    best = j;
        if (classes)
            classes[b] = best;
    }
}

int ef_model_predict_batch(const ef_model_t *m, ef_model_scratch_t *s, int batch,
                           const float *size, const float *iat_s, const uint8_t *dir,
                           const int *n, float *probs, int *classes)
{
    if (s->m != m || batch < 0 || batch > s->max_batch)
        return -1;
    if (batch > 1 && s->net && m->batch_path == EF_MODEL_BATCH_BLAS) {
        predict_batch_blas(m, s, batch, size, iat_s, dir, n, probs, classes);
        return 0;
    }
    int k = m->k, groups = s->max_batch < GROUP ? s->max_batch : GROUP;
    float *out[GROUP];
    int idx[GROUP], cls[GROUP];
    int G = 0;
    for (int b = 0; b <= batch; b++) {
        if (b < batch) {
            size_t off = (size_t)b * k;
            float *row = probs + (size_t)b * m->K;
            int nb = n[b] > k ? k : n[b];
            if (nb < 1) {
                memset(row, 0, (size_t)m->K * sizeof *row);
                if (classes)
                    classes[b] = -1;
                continue;
            }
            ef_preproc_apply(&m->f.pp, size + off, iat_s + off, dir ? dir + off : NULL, nb,
                             s->slot[G].x);
            s->slot[G].n = nb;
            out[G] = row;
            idx[G++] = b;
        }
        if (G == groups || (b == batch && G > 0)) {
            /* results land in a contiguous buffer, then move to their rows */
            float tmp[GROUP * EF_NET_MAX_CLASSES];
            forward_group(m, s, G, tmp, cls);
            for (int g = 0; g < G; g++) {
                memcpy(out[g], tmp + (size_t)g * m->K, (size_t)m->K * sizeof(float));
                if (classes)
                    classes[idx[g]] = cls[g];
            }
            G = 0;
        }
    }
    return 0;
}
