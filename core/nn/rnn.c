/* Recurrent stacks: forward and backward over time-major batches. */
#include "nn/rnn.h"

#include <stdio.h>
#include <string.h>

#include "nn/act.h"
#include "nn/ops.h"

void ef_rnn_init(ef_rnn_t *r, int gates, int L, int H, int In, int T, int Bmax)
{
    memset(r, 0, sizeof *r);
    r->gates = gates;
    r->L = L;
    r->H = H;
    r->In = In;
    r->T = T;
    r->Bmax = Bmax;
}

static size_t per_layer_floats(const ef_rnn_t *r)
{
    size_t TB = (size_t)r->T * r->Bmax, H = (size_t)r->H, G = (size_t)r->gates;
    size_t n = TB * G * H          /* act */
             + (TB + r->Bmax) * H  /* h */
             + TB * G * H;         /* dpre */
    if (r->gates == 4)
        n += (TB + r->Bmax) * H    /* c */
           + TB * H;               /* tc */
    else
        n += TB * H                /* hn */
           + TB * 3 * H;           /* dgh */
    return n;
}

size_t ef_rnn_arena_floats(const ef_rnn_t *r)
{
    size_t TB = (size_t)r->T * r->Bmax, H = (size_t)r->H;
    return per_layer_floats(r) * (size_t)r->L + TB * (size_t)r->In /* x */
           + 2 * TB * H                                            /* dseq */
           + 4 * (size_t)r->Bmax * H                               /* dh, dc, tmp, direct */
           + (size_t)r->Bmax * 3 * H;                              /* gh */
}

/* The GRU's "direct" term d(h_{t-1}) = dh * z lives after `tmp`. */
static float *direct_buf(const ef_rnn_t *r)
{
    return r->tmp + (size_t)r->Bmax * r->H;
}

void ef_rnn_bind_arena(ef_rnn_t *r, float *p)
{
    size_t TB = (size_t)r->T * r->Bmax, H = (size_t)r->H, G = (size_t)r->gates;
    for (int l = 0; l < r->L; l++) {
        r->act[l] = p, p += TB * G * H;
        r->h[l] = p, p += (TB + r->Bmax) * H;
        r->dpre[l] = p, p += TB * G * H;
        if (r->gates == 4) {
            r->c[l] = p, p += (TB + r->Bmax) * H;
            r->tc[l] = p, p += TB * H;
        } else {
            r->hn[l] = p, p += TB * H;
            r->dgh[l] = p, p += TB * 3 * H;
        }
    }
    r->x = p, p += TB * (size_t)r->In;
    r->dseq[0] = p, p += TB * H;
    r->dseq[1] = p, p += TB * H;
    r->dh = p, p += (size_t)r->Bmax * H;
    r->dc = p, p += (size_t)r->Bmax * H;
    r->tmp = p, p += 2 * (size_t)r->Bmax * H; /* tmp + direct */
    r->gh = p;
}

int ef_rnn_bind_params(ef_rnn_t *r, const ef_layout_t *lay, const char *prefix, float *params,
                       float *grads)
{
    static const char *const kinds[4] = {"weight_ih", "weight_hh", "bias_ih", "bias_hh"};
    for (int l = 0; l < r->L; l++) {
        for (int k = 0; k < 4; k++) {
            char name[EF_NET_NAME_MAX];
            snprintf(name, sizeof name, "%s.%s_l%d", prefix, kinds[k], l);
            int i = ef_layout_find(lay, name);
            if (i < 0)
                return -1;
            size_t off = lay->t[i].offset;
            const float **w = k == 0 ? r->w_ih : k == 1 ? r->w_hh : k == 2 ? r->b_ih : r->b_hh;
            float **g = k == 0 ? r->gw_ih : k == 1 ? r->gw_hh : k == 2 ? r->gb_ih : r->gb_hh;
            w[l] = params + off;
            g[l] = grads + off;
        }
    }
    return 0;
}

const float *ef_rnn_layer_input(const ef_rnn_t *r, int l, int B)
{
    return l == 0 ? r->x : r->h[l - 1] + (size_t)B * r->H;
}

static int layer_in(const ef_rnn_t *r, int l)
{
    return l == 0 ? r->In : r->H;
}

void ef_rnn_set_initial(ef_rnn_t *r, int B, const float *h0, const float *c0)
{
    size_t BH = (size_t)B * r->H;
    for (int l = 0; l < r->L; l++) {
        if (h0)
            memcpy(r->h[l], h0 + l * BH, BH * sizeof(float));
        else
            memset(r->h[l], 0, BH * sizeof(float));
        if (r->gates == 4) {
            if (c0)
                memcpy(r->c[l], c0 + l * BH, BH * sizeof(float));
            else
                memset(r->c[l], 0, BH * sizeof(float));
        }
    }
}

static void fill_rows(float *dst, const float *row, int rows, int width)
{
    for (int i = 0; i < rows; i++)
        memcpy(dst + (size_t)i * width, row, (size_t)width * sizeof *dst);
}

/* Input projection of `rows` rows of layer l's input into the buffer the
 * cell reads: LSTM act (with both biases), GRU gi (with b_ih) kept in dpre
 * until the backward pass needs that memory. */
static void project_input(ef_rnn_t *r, int l, int t0, int rows, const float *in)
{
    int GH = r->gates * r->H;
    size_t at = (size_t)t0 * GH;
    if (r->gates == 4) {
        float *pre = r->act[l] + at;
        float bsum[4 * EF_NET_MAX_HIDDEN];
        for (int j = 0; j < GH; j++)
            bsum[j] = r->b_ih[l][j] + r->b_hh[l][j];
        fill_rows(pre, bsum, rows, GH);
        ef_mm_nt(rows, GH, layer_in(r, l), in, r->w_ih[l], pre, 1.0f);
    } else {
        float *gi = r->dpre[l] + at;
        fill_rows(gi, r->b_ih[l], rows, GH);
        ef_mm_nt(rows, GH, layer_in(r, l), in, r->w_ih[l], gi, 1.0f);
    }
}

/* The recurrent half of step t of layer l and the cell; inactive rows keep
 * their previous state. */
static void cell_step(ef_rnn_t *r, int l, int t, int B, const int *n)
{
    int H = r->H, GH = r->gates * H;
    size_t BH = (size_t)B * H;
    const float *hp = r->h[l] + (size_t)t * BH;
    float *hc = r->h[l] + (size_t)(t + 1) * BH;
    if (r->gates == 4) {
        float *pre = r->act[l] + (size_t)t * B * GH;
        const float *cp = r->c[l] + (size_t)t * BH;
        float *cc = r->c[l] + (size_t)(t + 1) * BH;
        ef_mm_nt(B, GH, H, hp, r->w_hh[l], pre, 1.0f);
        ef_lstm_cell_forward(B, H, pre, cp, cc, hc, r->tc[l] + (size_t)t * BH);
        for (int b = 0; b < B; b++)
            if (t >= n[b])
                memcpy(cc + (size_t)b * H, cp + (size_t)b * H, (size_t)H * sizeof(float));
    } else {
        fill_rows(r->gh, r->b_hh[l], B, GH);
        ef_mm_nt(B, GH, H, hp, r->w_hh[l], r->gh, 1.0f);
        ef_gru_cell_forward(B, H, r->dpre[l] + (size_t)t * B * GH, r->gh, hp,
                            r->act[l] + (size_t)t * B * GH, r->hn[l] + (size_t)t * BH, hc);
    }
    for (int b = 0; b < B; b++)
        if (t >= n[b])
            memcpy(hc + (size_t)b * H, hp + (size_t)b * H, (size_t)H * sizeof(float));
}

void ef_rnn_forward(ef_rnn_t *r, int B, const int *n)
{
    for (int l = 0; l < r->L; l++) {
        project_input(r, l, 0, r->T * B, ef_rnn_layer_input(r, l, B));
        for (int t = 0; t < r->T; t++)
            cell_step(r, l, t, B, n);
    }
}

void ef_rnn_step_forward(ef_rnn_t *r, int l, int t, int B, const int *n, const float *in)
{
    project_input(r, l, t * B, B, in);
    cell_step(r, l, t, B, n);
}

static void lstm_cell_backward(ef_rnn_t *r, int l, int t, int B, const int *n, const float *dh,
                               float *dc)
{
    int H = r->H, GH = 4 * H;
    size_t BH = (size_t)B * H;
    const float *act = r->act[l] + (size_t)t * B * GH;
    const float *tc = r->tc[l] + (size_t)t * BH;
    const float *cp = r->c[l] + (size_t)t * BH;
    float *dp = r->dpre[l] + (size_t)t * B * GH;
    for (int b = 0; b < B; b++) {
        float *d = dp + (size_t)b * GH;
        if (t >= n[b]) {
            memset(d, 0, (size_t)GH * sizeof *d);
            continue;
        }
        const float *a = act + (size_t)b * GH;
        size_t o = (size_t)b * H;
        for (int j = 0; j < H; j++) {
            float ig = a[j], fg = a[H + j], gg = a[2 * H + j], og = a[3 * H + j];
            float th = tc[o + j], g_h = dh[o + j];
            float dcj = dc[o + j] + g_h * og * (1.0f - th * th);
            d[j] = dcj * gg * ig * (1.0f - ig);
            d[H + j] = dcj * cp[o + j] * fg * (1.0f - fg);
            d[2 * H + j] = dcj * ig * (1.0f - gg * gg);
            d[3 * H + j] = g_h * th * og * (1.0f - og);
            dc[o + j] = dcj * fg;
        }
    }
}

static void gru_cell_backward(ef_rnn_t *r, int l, int t, int B, const int *n, const float *dh,
                              float *direct)
{
    int H = r->H, GH = 3 * H;
    size_t BH = (size_t)B * H;
    const float *act = r->act[l] + (size_t)t * B * GH;
    const float *hn = r->hn[l] + (size_t)t * BH;
    const float *hp = r->h[l] + (size_t)t * BH;
    float *di = r->dpre[l] + (size_t)t * B * GH;
    float *dg = r->dgh[l] + (size_t)t * B * GH;
    for (int b = 0; b < B; b++) {
        float *dib = di + (size_t)b * GH, *dgb = dg + (size_t)b * GH;
        size_t o = (size_t)b * H;
        if (t >= n[b]) {
            memset(dib, 0, (size_t)GH * sizeof *dib);
            memset(dgb, 0, (size_t)GH * sizeof *dgb);
            memcpy(direct + o, dh + o, (size_t)H * sizeof(float));
            continue;
        }
        const float *a = act + (size_t)b * GH;
        for (int j = 0; j < H; j++) {
            float rg = a[j], zg = a[H + j], ng = a[2 * H + j], g_h = dh[o + j];
            float dnp = g_h * (1.0f - zg) * (1.0f - ng * ng);
            float dzp = g_h * (hp[o + j] - ng) * zg * (1.0f - zg);
            float drp = dnp * hn[o + j] * rg * (1.0f - rg);
            dib[j] = dgb[j] = drp;
            dib[H + j] = dgb[H + j] = dzp;
            dib[2 * H + j] = dnp;
            dgb[2 * H + j] = dnp * rg;
            direct[o + j] = g_h * zg;
        }
    }
}

void ef_rnn_step_backward(ef_rnn_t *r, int l, int t, int B, const int *n, const float *dh,
                          float *dc, float *dh_prev, float *din)
{
    int H = r->H, GH = r->gates * H;
    size_t BH = (size_t)B * H;
    const float *dp;
    if (r->gates == 4) {
        lstm_cell_backward(r, l, t, B, n, dh, dc);
        dp = r->dpre[l] + (size_t)t * B * GH;
        ef_mm_nn(B, H, GH, dp, r->w_hh[l], dh_prev, 0.0f);
        /* inactive rows: h_t = h_{t-1}, so the gradient passes through */
        for (int b = 0; b < B; b++)
            if (t >= n[b])
                memcpy(dh_prev + (size_t)b * H, dh + (size_t)b * H, (size_t)H * sizeof(float));
    } else {
        float *direct = direct_buf(r);
        gru_cell_backward(r, l, t, B, n, dh, direct);
        ef_mm_nn(B, H, GH, r->dgh[l] + (size_t)t * B * GH, r->w_hh[l], dh_prev, 0.0f);
        for (size_t i = 0; i < BH; i++)
            dh_prev[i] += direct[i];
        dp = r->dpre[l] + (size_t)t * B * GH;
    }
    if (din)
        ef_mm_nn(B, layer_in(r, l), GH, dp, r->w_ih[l], din, 0.0f);
}

void ef_rnn_weight_grads(ef_rnn_t *r, int l, int B)
{
    int H = r->H, GH = r->gates * H, TB = r->T * B;
    const float *in = ef_rnn_layer_input(r, l, B);
    ef_mm_tn_acc(GH, layer_in(r, l), TB, r->dpre[l], in, r->gw_ih[l]);
    ef_add_colsum(r->gb_ih[l], r->dpre[l], (size_t)TB, GH);
    const float *dh_side = r->gates == 4 ? r->dpre[l] : r->dgh[l];
    /* h slots 0..T-1 are the h_{t-1} of steps 0..T-1 */
    ef_mm_tn_acc(GH, H, TB, dh_side, r->h[l], r->gw_hh[l]);
    ef_add_colsum(r->gb_hh[l], dh_side, (size_t)TB, GH);
}

void ef_rnn_backward(ef_rnn_t *r, int B, const int *n, const float *dh_top, const float *dhn,
                     const float *dcn, float *dh0, float *dc0)
{
    int H = r->H, T = r->T;
    size_t BH = (size_t)B * H, TBH = (size_t)T * BH;
    int cur = 0;
    float *D = r->dseq[cur];
    if (dh_top)
        memcpy(D, dh_top, TBH * sizeof *D);
    else
        memset(D, 0, TBH * sizeof *D);
    for (int l = r->L - 1; l >= 0; l--) {
        D = r->dseq[cur];
        if (dhn)
            for (size_t i = 0; i < BH; i++)
                D[(size_t)(T - 1) * BH + i] += dhn[l * BH + i];
        memset(r->dh, 0, BH * sizeof(float));
        if (r->gates == 4) {
            if (dcn)
                memcpy(r->dc, dcn + l * BH, BH * sizeof(float));
            else
                memset(r->dc, 0, BH * sizeof(float));
        }
        for (int t = T - 1; t >= 0; t--) {
            const float *Dt = D + (size_t)t * BH;
            for (size_t i = 0; i < BH; i++)
                r->tmp[i] = Dt[i] + r->dh[i];
            ef_rnn_step_backward(r, l, t, B, n, r->tmp, r->dc, r->dh, NULL);
        }
        if (dh0)
            memcpy(dh0 + l * BH, r->dh, BH * sizeof(float));
        if (dc0 && r->gates == 4)
            memcpy(dc0 + l * BH, r->dc, BH * sizeof(float));
        ef_rnn_weight_grads(r, l, B);
        if (l > 0) {
            /* d(outputs of layer l-1) = d(input side of layer l) . W_ih */
            cur ^= 1;
            ef_mm_nn(T * B, H, r->gates * H, r->dpre[l], r->w_ih[l], r->dseq[cur], 0.0f);
        }
    }
}
