/* Trainable networks (nn/net.h): the architectures composed from dense
 * layers (ops.c) and recurrent stacks (rnn.c), each with its backward pass.
 *
 * Memory: one parameter buffer, one gradient buffer (same layout, from
 * nn/layout.c) and one activation arena, all allocated in ef_net_new; a
 * forward/backward call allocates nothing. */
#include "nn/net.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/layout.h"
#include "nn/ops.h"
#include "nn/rng.h"
#include "nn/rnn.h"

typedef struct dense {
    const float *w, *b;
    float *gw, *gb;
    int in, out;
} dense_t;

struct ef_net {
    ef_net_config_t cfg;
    ef_layout_t lay;
    int Bmax;
    float *params, *grads;
    float *arena;
    size_t arena_floats;

    int n_rnn;        /* recurrent stacks: 0, 1 or 2 */
    ef_rnn_t rnn[2];  /* encoder / forward / decoder (autoenc: [1]) / backward */
    int S, SC;        /* context-layer input (per-layer states) and output widths */

    dense_t fc[EF_NET_MAX_LAYERS + 1]; /* mlp: fc1..fc{L+1} */
    dense_t mlp[2];   /* mlp1.fc1, mlp2.fc1 */
    dense_t head;     /* fc1 (classifiers) or decoder.fc_out (autoenc) */

    int *n;           /* [Bmax] lengths clamped to 0..k */
    /* mlp */
    float *mlp_in;            /* [B][k*F] zero-padded input */
    float *mlp_a[EF_NET_MAX_LAYERS]; /* [B][H] post-ReLU activations */
    float *dbuf[2];           /* [B][max(k*F, H)] */
    /* context / heads */
    float *state[2], *ctx[2];  /* [B][S], [B][SC] */
    float *dstate, *dctx;      /* [B][S], [B][SC] */
    float *head_in, *dhead_in; /* [B][2C] */
    float *dhn, *dcn;          /* [L][B][H] */
    float *logits, *probs, *dlogits; /* [B][K] */
    /* autoencoder */
    float *dec_init, *ddec_init; /* [B][S] mlp2 output */
    float *h0, *c0;            /* [L][B][H] decoder initial state / its gradient */
    float *y;                  /* [T][B][F] reconstruction (post-ReLU) */
    float *dy;                 /* [T][B][F] */
    float *dx_next, *dtop, *dfrom; /* [B][F], [B][H], [B][H] */
    float *carry_h, *carry_c;  /* [L][B][H] */
};

/* ---- construction ---- */

static int bind_dense(dense_t *d, ef_net_t *net, const char *prefix)
{
    char name[EF_NET_NAME_MAX];
    snprintf(name, sizeof name, "%s.weight", prefix);
    int iw = ef_layout_find(&net->lay, name);
    snprintf(name, sizeof name, "%s.bias", prefix);
    int ib = ef_layout_find(&net->lay, name);
    if (iw < 0 || ib < 0)
        return -1;
    d->w = net->params + net->lay.t[iw].offset;
    d->gw = net->grads + net->lay.t[iw].offset;
    d->b = net->params + net->lay.t[ib].offset;
    d->gb = net->grads + net->lay.t[ib].offset;
    d->out = net->lay.t[iw].shape[0];
    d->in = net->lay.t[iw].shape[1];
    return 0;
}

/* Assign every activation buffer from `base` (NULL: only count). Returns
 * the floats used. */
static size_t carve(ef_net_t *net, float *base)
{
    const ef_net_config_t *c = &net->cfg;
    size_t B = (size_t)net->Bmax, T = (size_t)c->k, F = (size_t)c->features;
    size_t H = (size_t)c->hidden, L = (size_t)c->layers, K = (size_t)(c->classes ? c->classes : 1);
    size_t used = 0;
#define TAKE(ptr, count)                                                                          \
    do {                                                                                          \
        size_t n_ = (count);                                                                      \
        (ptr) = base ? base + used : NULL;                                                        \
        used += (n_ + 15) & ~(size_t)15; /* keep every buffer 64-byte aligned */                  \
    } while (0)
    for (int i = 0; i < net->n_rnn; i++) {
        size_t n = ef_rnn_arena_floats(&net->rnn[i]);
        float *p;
        TAKE(p, n);
        if (base)
            ef_rnn_bind_arena(&net->rnn[i], p);
    }
    size_t wide = T * F > H ? T * F : H;
    TAKE(net->mlp_in, B * T * F);
    for (size_t l = 0; l < L; l++)
        TAKE(net->mlp_a[l], B * H);
    TAKE(net->dbuf[0], B * wide);
    TAKE(net->dbuf[1], B * wide);
    size_t S = (size_t)net->S, SC = (size_t)net->SC;
    TAKE(net->state[0], B * S);
    TAKE(net->state[1], B * S);
    TAKE(net->ctx[0], B * SC);
    TAKE(net->ctx[1], B * SC);
    TAKE(net->dstate, B * S);
    TAKE(net->dctx, B * SC);
    size_t hw = 2 * (size_t)c->context > H ? 2 * (size_t)c->context : H;
    TAKE(net->head_in, B * hw);
    TAKE(net->dhead_in, B * hw);
    TAKE(net->dhn, L * B * H);
    TAKE(net->dcn, L * B * H);
    TAKE(net->logits, B * K);
    TAKE(net->probs, B * K);
    TAKE(net->dlogits, B * K);
    if (c->arch == EF_ARCH_AUTOENC) {
        TAKE(net->dec_init, B * S);
        TAKE(net->ddec_init, B * S);
        TAKE(net->h0, L * B * H);
        TAKE(net->c0, L * B * H);
        TAKE(net->y, T * B * F);
        TAKE(net->dy, T * B * F);
        TAKE(net->dx_next, B * F);
        TAKE(net->dtop, B * H);
        TAKE(net->dfrom, B * H);
        TAKE(net->carry_h, L * B * H);
        TAKE(net->carry_c, L * B * H);
    }
#undef TAKE
    return used;
}

static int bind_all(ef_net_t *net)
{
    const ef_net_config_t *c = &net->cfg;
    int G = ef_arch_gates(c->arch);
    net->n_rnn = c->arch == EF_ARCH_MLP ? 0
               : (ef_arch_bidirectional(c->arch) || c->arch == EF_ARCH_AUTOENC) ? 2 : 1;
    for (int i = 0; i < net->n_rnn; i++) {
        ef_rnn_init(&net->rnn[i], G, c->layers, c->hidden, c->features, c->k, net->Bmax);
        if (ef_rnn_bind_params(&net->rnn[i], &net->lay, ef_arch_stack_prefix(c->arch, i),
                               net->params, net->grads) < 0)
            return -1;
    }
    int per_layer = G == 4 ? 2 : 1;
    net->S = per_layer * c->layers * c->hidden;
    net->SC = per_layer * c->layers * c->context;
    switch (c->arch) {
    case EF_ARCH_MLP:
        for (int i = 0; i <= c->layers; i++) {
            char name[16];
            snprintf(name, sizeof name, "fc%d", i + 1);
            if (bind_dense(&net->fc[i], net, name) < 0)
                return -1;
        }
        return 0;
    case EF_ARCH_LSTM:
    case EF_ARCH_GRU:
        return bind_dense(&net->head, net, "fc1");
    case EF_ARCH_BILSTM:
    case EF_ARCH_BIGRU:
        if (bind_dense(&net->mlp[1], net, "mlp2.fc1") < 0)
            return -1;
        /* fall through */
    case EF_ARCH_SEQ2SEQ:
        if (bind_dense(&net->mlp[0], net, "mlp1.fc1") < 0)
            return -1;
        return bind_dense(&net->head, net, "fc1");
    case EF_ARCH_AUTOENC:
        if (bind_dense(&net->mlp[0], net, "mlp1.fc1") < 0 ||
            bind_dense(&net->mlp[1], net, "mlp2.fc1") < 0)
            return -1;
        return bind_dense(&net->head, net, "decoder.fc_out");
    default:
        return -1;
    }
}

ef_net_t *ef_net_new(const ef_net_config_t *cfg, int max_batch, ef_err_t *err)
{
    if (max_batch < 1 || max_batch > 65536) {
        ef_err_set(err, "max_batch %d out of range 1..65536", max_batch);
        return NULL;
    }
    ef_net_t *net = calloc(1, sizeof *net);
    if (!net) {
        ef_err_set(err, "out of memory");
        return NULL;
    }
    ef_blas_single_thread();
    net->cfg = *cfg;
    net->Bmax = max_batch;
    if (ef_layout_build(cfg, &net->lay, err) < 0) {
        free(net);
        return NULL;
    }
    size_t np = net->lay.total;
    net->params = calloc(np ? np : 1, sizeof(float));
    net->grads = calloc(np ? np : 1, sizeof(float));
    net->n = calloc((size_t)max_batch, sizeof(int));
    if (!net->params || !net->grads || !net->n || bind_all(net) < 0) {
        ef_err_set(err, "out of memory");
        ef_net_free(net);
        return NULL;
    }
    net->arena_floats = carve(net, NULL);
    size_t bytes = (net->arena_floats * sizeof(float) + 63) & ~(size_t)63;
    net->arena = aligned_alloc(64, bytes ? bytes : 64);
    if (!net->arena) {
        ef_err_set(err, "out of memory (%zu bytes of activations)", bytes);
        ef_net_free(net);
        return NULL;
    }
    memset(net->arena, 0, bytes);
    carve(net, net->arena);
    return net;
}

void ef_net_free(ef_net_t *net)
{
    if (!net)
        return;
    free(net->params);
    free(net->grads);
    free(net->n);
    free(net->arena);
    free(net);
}

const ef_net_config_t *ef_net_config(const ef_net_t *net)
{
    return &net->cfg;
}

size_t ef_net_num_params(const ef_net_t *net)
{
    return net->lay.total;
}

float *ef_net_params(ef_net_t *net)
{
    return net->params;
}

float *ef_net_grads(ef_net_t *net)
{
    return net->grads;
}

int ef_net_num_tensors(const ef_net_t *net)
{
    return net->lay.n;
}

const ef_tensor_info_t *ef_net_tensor(const ef_net_t *net, int i)
{
    return i >= 0 && i < net->lay.n ? &net->lay.t[i] : NULL;
}

const float *ef_net_logits(const ef_net_t *net)
{
    return net->logits;
}

void ef_net_zero_grad(ef_net_t *net)
{
    memset(net->grads, 0, net->lay.total * sizeof(float));
}

/* ---- initialisation ---- */

void ef_net_init(ef_net_t *net, ef_init_t scheme, uint64_t seed)
{
    ef_rng_t rng;
    ef_rng_seed(&rng, seed);
    for (int i = 0; i < net->lay.n; i++) {
        const ef_tensor_info_t *t = &net->lay.t[i];
        size_t count = (size_t)t->shape[0] * (size_t)(t->ndim > 1 ? t->shape[1] : 1);
        float *p = net->params + t->offset;
        if (scheme == EF_INIT_SEED_UNIFORM) {
            for (size_t j = 0; j < count; j++)
                p[j] = t->ndim > 1 ? ef_rng_uniform(&rng) : 0.0f;
            continue;
        }
        /* PyTorch: RNN tensors U(-1/sqrt(hidden), +); Linear weight and bias
         * U(-1/sqrt(in_features), +), the bias taking its weight's fan-in. */
        int fan;
        if (strstr(t->name, ".rnn."))
            fan = net->cfg.hidden;
        else if (t->ndim > 1)
            fan = t->shape[1];
        else
            fan = net->lay.t[i - 1].shape[1];
        float bound = 1.0f / sqrtf((float)fan);
        for (size_t j = 0; j < count; j++)
            p[j] = (2.0f * ef_rng_uniform(&rng) - 1.0f) * bound;
    }
}

/* ---- forward passes ---- */

static void set_lengths(ef_net_t *net, int B, const int *n)
{
    int k = net->cfg.k;
    for (int b = 0; b < B; b++) {
        int v = n ? n[b] : k;
        net->n[b] = v < 0 ? 0 : v > k ? k : v;
    }
}

/* x [B][k][F] -> time-major [k][B][F]; reversed: sample b's first n[b]
 * steps backwards, zeros after. */
static void to_time_major(float *dst, const float *x, const int *n, int B, int T, int F,
                          int reversed)
{
    for (int t = 0; t < T; t++)
        for (int b = 0; b < B; b++) {
            float *d = dst + ((size_t)t * B + b) * F;
            int src = reversed ? n[b] - 1 - t : t;
            if (src < 0)
                memset(d, 0, (size_t)F * sizeof *d);
            else
                memcpy(d, x + ((size_t)b * T + src) * F, (size_t)F * sizeof *d);
        }
}

/* Final (h, c) of every layer -> s[B][S], per sample: h_0, c_0, h_1, c_1...
 * (GRU: h_0, h_1, ...) */
static void gather_state(const ef_net_t *net, const ef_rnn_t *r, int B, float *s)
{
    int H = r->H, per = r->gates == 4 ? 2 : 1;
    for (int l = 0; l < r->L; l++) {
        const float *h = ef_rnn_final_h(r, l, B);
        const float *c = r->gates == 4 ? ef_rnn_final_c(r, l, B) : NULL;
        for (int b = 0; b < B; b++) {
            float *row = s + (size_t)b * net->S + (size_t)l * per * H;
            memcpy(row, h + (size_t)b * H, (size_t)H * sizeof(float));
            if (c)
                memcpy(row + H, c + (size_t)b * H, (size_t)H * sizeof(float));
        }
    }
}

/* Inverse of gather_state for gradients: ds[B][S] -> dhn, dcn [L][B][H]. */
static void scatter_state(const ef_net_t *net, const ef_rnn_t *r, int B, const float *ds,
                          float *dh, float *dc)
{
    int H = r->H, per = r->gates == 4 ? 2 : 1;
    for (int l = 0; l < r->L; l++)
        for (int b = 0; b < B; b++) {
            const float *row = ds + (size_t)b * net->S + (size_t)l * per * H;
            memcpy(dh + ((size_t)l * B + b) * H, row, (size_t)H * sizeof(float));
            if (per == 2)
                memcpy(dc + ((size_t)l * B + b) * H, row + H, (size_t)H * sizeof(float));
        }
}

/* Offset of the top layer's context h in a context-layer output row. */
static int top_ctx_offset(const ef_net_t *net)
{
    int per = ef_arch_gates(net->cfg.arch) == 4 ? 2 : 1;
    return (net->cfg.layers - 1) * per * net->cfg.context;
}

static void forward_mlp(ef_net_t *net, int B, const float *x)
{
    const ef_net_config_t *c = &net->cfg;
    int TF = c->k * c->features;
    for (int b = 0; b < B; b++) {
        size_t valid = (size_t)net->n[b] * c->features;
        memcpy(net->mlp_in + (size_t)b * TF, x + (size_t)b * TF, valid * sizeof(float));
        memset(net->mlp_in + (size_t)b * TF + valid, 0, ((size_t)TF - valid) * sizeof(float));
    }
    const float *in = net->mlp_in;
    for (int l = 0; l < c->layers; l++) {
        dense_t *d = &net->fc[l];
        ef_dense_forward(net->mlp_a[l], in, d->w, d->b, B, d->in, d->out);
        ef_relu_forward(net->mlp_a[l], net->mlp_a[l], (size_t)B * d->out);
        in = net->mlp_a[l];
    }
    dense_t *d = &net->fc[c->layers];
    ef_dense_forward(net->logits, in, d->w, d->b, B, d->in, d->out);
}

static void backward_mlp(ef_net_t *net, int B)
{
    const ef_net_config_t *c = &net->cfg;
    int L = c->layers;
    float *d = net->dbuf[0];
    dense_t *o = &net->fc[L];
    ef_dense_backward(d, o->gw, o->gb, net->dlogits, net->mlp_a[L - 1], o->w, B, o->in, o->out);
    for (int l = L - 1; l >= 0; l--) {
        dense_t *fc = &net->fc[l];
        ef_relu_backward(d, net->mlp_a[l], (size_t)B * fc->out);
        float *dx = l > 0 ? net->dbuf[(L - l) & 1] : NULL;
        const float *in = l > 0 ? net->mlp_a[l - 1] : net->mlp_in;
        ef_dense_backward(dx, fc->gw, fc->gb, d, in, fc->w, B, fc->in, fc->out);
        d = dx;
    }
}

static void run_encoders(ef_net_t *net, int B, const float *x, int stacks)
{
    const ef_net_config_t *c = &net->cfg;
    for (int i = 0; i < stacks; i++) {
        ef_rnn_t *r = &net->rnn[i];
        to_time_major(r->x, x, net->n, B, c->k, c->features, i == 1);
        ef_rnn_set_initial(r, B, NULL, NULL);
        ef_rnn_forward(r, B, net->n);
    }
}

static void forward_fwd(ef_net_t *net, int B, const float *x)
{
    run_encoders(net, B, x, 1);
    const ef_rnn_t *r = &net->rnn[0];
    ef_dense_forward(net->logits, ef_rnn_final_h(r, r->L - 1, B), net->head.w, net->head.b, B,
                     net->head.in, net->head.out);
}

static void backward_fwd(ef_net_t *net, int B)
{
    ef_rnn_t *r = &net->rnn[0];
    size_t BH = (size_t)B * r->H;
    memset(net->dhn, 0, (size_t)r->L * BH * sizeof(float));
    float *dtop = net->dhn + (size_t)(r->L - 1) * BH;
    ef_dense_backward(dtop, net->head.gw, net->head.gb, net->dlogits,
                      ef_rnn_final_h(r, r->L - 1, B), net->head.w, B, net->head.in,
                      net->head.out);
    ef_rnn_backward(r, B, net->n, NULL, net->dhn, NULL, NULL, NULL);
}

/* BI (two stacks) and SEQ (one): stacks -> context layers -> top context h
 * of each -> fc1. */
static void forward_ctx(ef_net_t *net, int B, const float *x)
{
    int stacks = ef_arch_bidirectional(net->cfg.arch) ? 2 : 1;
    int C = net->cfg.context, top = top_ctx_offset(net);
    run_encoders(net, B, x, stacks);
    for (int i = 0; i < stacks; i++) {
        gather_state(net, &net->rnn[i], B, net->state[i]);
        ef_dense_forward(net->ctx[i], net->state[i], net->mlp[i].w, net->mlp[i].b, B, net->S,
                         net->SC);
        for (int b = 0; b < B; b++)
            memcpy(net->head_in + (size_t)b * stacks * C + (size_t)i * C,
                   net->ctx[i] + (size_t)b * net->SC + top, (size_t)C * sizeof(float));
    }
    ef_dense_forward(net->logits, net->head_in, net->head.w, net->head.b, B, net->head.in,
                     net->head.out);
}

static void backward_ctx(ef_net_t *net, int B)
{
    int stacks = ef_arch_bidirectional(net->cfg.arch) ? 2 : 1;
    int C = net->cfg.context, top = top_ctx_offset(net);
    ef_dense_backward(net->dhead_in, net->head.gw, net->head.gb, net->dlogits, net->head_in,
                      net->head.w, B, net->head.in, net->head.out);
    for (int i = 0; i < stacks; i++) {
        ef_rnn_t *r = &net->rnn[i];
        memset(net->dctx, 0, (size_t)B * net->SC * sizeof(float));
        for (int b = 0; b < B; b++)
            memcpy(net->dctx + (size_t)b * net->SC + top,
                   net->dhead_in + (size_t)b * stacks * C + (size_t)i * C,
                   (size_t)C * sizeof(float));
        ef_dense_backward(net->dstate, net->mlp[i].gw, net->mlp[i].gb, net->dctx,
                          net->state[i], net->mlp[i].w, B, net->S, net->SC);
        scatter_state(net, r, B, net->dstate, net->dhn, net->dcn);
        ef_rnn_backward(r, B, net->n, NULL, net->dhn, r->gates == 4 ? net->dcn : NULL, NULL,
                        NULL);
    }
}

/* SEQ pre-training: encoder -> mlp1 -> mlp2 -> the decoder's initial
 * (h, c) -> autoregressive LSTM decoder from a zero start token, each
 * output ReLU(fc_out(top h)) fed back as the next input. */
static void forward_autoenc(ef_net_t *net, int B, const float *x)
{
    const ef_net_config_t *c = &net->cfg;
    int T = c->k, F = c->features, H = c->hidden, L = c->layers;
    ef_rnn_t *enc = &net->rnn[0], *dec = &net->rnn[1];
    run_encoders(net, B, x, 1);
    gather_state(net, enc, B, net->state[0]);
    ef_dense_forward(net->ctx[0], net->state[0], net->mlp[0].w, net->mlp[0].b, B, net->S,
                     net->SC);
    ef_dense_forward(net->dec_init, net->ctx[0], net->mlp[1].w, net->mlp[1].b, B, net->SC,
                     net->S);
    /* mlp2's output row is laid out like the encoder state: h_0, c_0, h_1... */
    for (int l = 0; l < L; l++)
        for (int b = 0; b < B; b++) {
            const float *row = net->dec_init + (size_t)b * net->S + (size_t)l * 2 * H;
            memcpy(net->h0 + ((size_t)l * B + b) * H, row, (size_t)H * sizeof(float));
            memcpy(net->c0 + ((size_t)l * B + b) * H, row + H, (size_t)H * sizeof(float));
        }
    ef_rnn_set_initial(dec, B, net->h0, net->c0);
    memset(dec->x, 0, (size_t)B * F * sizeof(float));
    size_t BH = (size_t)B * H, BF = (size_t)B * F;
    for (int t = 0; t < T; t++) {
        for (int l = 0; l < L; l++) {
            const float *in = l == 0 ? dec->x + (size_t)t * BF : dec->h[l - 1] + (t + 1) * BH;
            ef_rnn_step_forward(dec, l, t, B, net->n, in);
        }
        float *yt = net->y + (size_t)t * BF;
        ef_dense_forward(yt, dec->h[L - 1] + (t + 1) * BH, net->head.w, net->head.b, B, H, F);
        ef_relu_forward(yt, yt, BF);
        if (t + 1 < T)
            memcpy(dec->x + (size_t)(t + 1) * BF, yt, BF * sizeof(float));
    }
}

/* MSE over every valid (sample, step, feature); dy receives its gradient. */
static float mse_autoenc(ef_net_t *net, int B, const float *x, float *dy)
{
    int T = net->cfg.k, F = net->cfg.features;
    size_t count = 0;
    for (int b = 0; b < B; b++)
        count += (size_t)net->n[b] * F;
    double sum = 0.0;
    float scale = count ? 2.0f / (float)count : 0.0f;
    for (int t = 0; t < T; t++)
        for (int b = 0; b < B; b++)
            for (int f = 0; f < F; f++) {
                size_t yi = ((size_t)t * B + b) * F + f;
                float diff = t < net->n[b] ? net->y[yi] - x[((size_t)b * T + t) * F + f] : 0.0f;
                sum += (double)diff * diff;
                if (dy)
                    dy[yi] = diff * scale;
            }
    return count ? (float)(sum / (double)count) : 0.0f;
}

static void backward_autoenc(ef_net_t *net, int B)
{
    const ef_net_config_t *c = &net->cfg;
    int T = c->k, F = c->features, H = c->hidden, L = c->layers;
    ef_rnn_t *enc = &net->rnn[0], *dec = &net->rnn[1];
    size_t BH = (size_t)B * H, BF = (size_t)B * F;
    memset(net->carry_h, 0, (size_t)L * BH * sizeof(float));
    memset(net->carry_c, 0, (size_t)L * BH * sizeof(float));
    memset(net->dx_next, 0, BF * sizeof(float));
    for (int t = T - 1; t >= 0; t--) {
        /* d(y_t): from the loss, and from being the input of step t+1 */
        float *dyt = net->dy + (size_t)t * BF;
        if (t + 1 < T)
            for (size_t i = 0; i < BF; i++)
                dyt[i] += net->dx_next[i];
        ef_relu_backward(dyt, net->y + (size_t)t * BF, BF);
        ef_dense_backward(net->dtop, net->head.gw, net->head.gb, dyt, dec->h[L - 1] + (t + 1) * BH,
                          net->head.w, B, H, F);
        const float *from_above = net->dtop;
        for (int l = L - 1; l >= 0; l--) {
            float *ch = net->carry_h + (size_t)l * BH, *cc = net->carry_c + (size_t)l * BH;
            for (size_t i = 0; i < BH; i++)
                dec->tmp[i] = from_above[i] + ch[i];
            float *din = l > 0 ? net->dfrom : (t > 0 ? net->dx_next : NULL);
            ef_rnn_step_backward(dec, l, t, B, net->n, dec->tmp, cc, ch, din);
            from_above = net->dfrom;
        }
    }
    for (int l = 0; l < L; l++)
        ef_rnn_weight_grads(dec, l, B);
    /* decoder initial state -> mlp2 -> mlp1 -> encoder final states */
    for (int l = 0; l < L; l++)
        for (int b = 0; b < B; b++) {
            float *row = net->ddec_init + (size_t)b * net->S + (size_t)l * 2 * H;
            memcpy(row, net->carry_h + ((size_t)l * B + b) * H, (size_t)H * sizeof(float));
            memcpy(row + H, net->carry_c + ((size_t)l * B + b) * H, (size_t)H * sizeof(float));
        }
    ef_dense_backward(net->dctx, net->mlp[1].gw, net->mlp[1].gb, net->ddec_init, net->ctx[0],
                      net->mlp[1].w, B, net->SC, net->S);
    ef_dense_backward(net->dstate, net->mlp[0].gw, net->mlp[0].gb, net->dctx, net->state[0],
                      net->mlp[0].w, B, net->S, net->SC);
    scatter_state(net, enc, B, net->dstate, net->dhn, net->dcn);
    ef_rnn_backward(enc, B, net->n, NULL, net->dhn, net->dcn, NULL, NULL);
}

static void forward_any(ef_net_t *net, int B, const float *x, const int *n)
{
    set_lengths(net, B, n);
    switch (net->cfg.arch) {
    case EF_ARCH_MLP: forward_mlp(net, B, x); break;
    case EF_ARCH_LSTM:
    case EF_ARCH_GRU: forward_fwd(net, B, x); break;
    case EF_ARCH_BILSTM:
    case EF_ARCH_BIGRU:
    case EF_ARCH_SEQ2SEQ: forward_ctx(net, B, x); break;
    case EF_ARCH_AUTOENC: forward_autoenc(net, B, x); break;
    default: break;
    }
    if (net->cfg.arch != EF_ARCH_AUTOENC)
        ef_softmax_rows(net->probs, net->logits, B, net->cfg.classes);
}

static int clamp_batch(const ef_net_t *net, int B)
{
    return B < 0 ? 0 : B > net->Bmax ? net->Bmax : B;
}

float ef_net_forward_backward(ef_net_t *net, int B, const float *x, const int *n,
                              const int *labels, const float *class_weights)
{
    B = clamp_batch(net, B);
    if (B == 0)
        return 0.0f;
    forward_any(net, B, x, n);
    if (net->cfg.arch == EF_ARCH_AUTOENC) {
        float loss = mse_autoenc(net, B, x, net->dy);
        backward_autoenc(net, B);
        return loss;
    }
    int K = net->cfg.classes;
    float loss = ef_cross_entropy(net->probs, net->logits, labels, class_weights, B, K,
                                  net->dlogits);
    switch (net->cfg.arch) {
    case EF_ARCH_MLP: backward_mlp(net, B); break;
    case EF_ARCH_LSTM:
    case EF_ARCH_GRU: backward_fwd(net, B); break;
    default: backward_ctx(net, B); break;
    }
    return loss;
}

void ef_net_forward(ef_net_t *net, int B, const float *x, const int *n, float *out)
{
    B = clamp_batch(net, B);
    if (B == 0)
        return;
    forward_any(net, B, x, n);
    const ef_net_config_t *c = &net->cfg;
    if (c->arch != EF_ARCH_AUTOENC) {
        memcpy(out, net->probs, (size_t)B * c->classes * sizeof(float));
        return;
    }
    int T = c->k, F = c->features;
    for (int b = 0; b < B; b++)
        for (int t = 0; t < T; t++)
            for (int f = 0; f < F; f++)
                out[((size_t)b * T + t) * F + f] =
                    t < net->n[b] ? net->y[((size_t)t * B + b) * F + f] : 0.0f;
}

float ef_net_loss(ef_net_t *net, int B, const float *x, const int *n, const int *labels,
                  const float *class_weights)
{
    B = clamp_batch(net, B);
    if (B == 0)
        return 0.0f;
    forward_any(net, B, x, n);
    if (net->cfg.arch == EF_ARCH_AUTOENC)
        return mse_autoenc(net, B, x, NULL);
    return ef_cross_entropy(net->probs, net->logits, labels, class_weights, B, net->cfg.classes,
                            NULL);
}

/* ---- Adam ---- */

struct ef_adam {
    size_t n;
    float lr;
    long step;
    float *m, *v;
};

ef_adam_t *ef_adam_new(size_t n_params, float lr)
{
    ef_adam_t *o = calloc(1, sizeof *o);
    if (!o)
        return NULL;
    o->n = n_params;
    o->lr = lr;
    o->m = calloc(n_params ? n_params : 1, sizeof(float));
    o->v = calloc(n_params ? n_params : 1, sizeof(float));
    if (!o->m || !o->v) {
        ef_adam_free(o);
        return NULL;
    }
    return o;
}

/* PyTorch's Adam (betas 0.9/0.999, eps 1e-8, no weight decay, no amsgrad):
 * the bias corrections in double, the per-element update in float, in the
 * same order of operations. */
void ef_adam_step(ef_adam_t *o, float *params, const float *grads)
{
    const float b1 = 0.9f, b2 = 0.999f, eps = 1e-8f;
    o->step++;
    double bc1 = 1.0 - pow(0.9, (double)o->step);
    double bc2 = 1.0 - pow(0.999, (double)o->step);
    float step_size = (float)(o->lr / bc1);
    float bc2_sqrt = (float)sqrt(bc2);
    ef_adam_update(o->n, params, grads, o->m, o->v, b1, b2, eps, step_size, bc2_sqrt);
}

void ef_adam_free(ef_adam_t *o)
{
    if (!o)
        return;
    free(o->m);
    free(o->v);
    free(o);
}
