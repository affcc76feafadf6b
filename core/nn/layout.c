#include "nn/layout.h"

#include <stdio.h>
#include <string.h>

#include "net/features.h"

static const char *const arch_names[EF_ARCH__COUNT] = {
    "mlp", "lstm", "bilstm", "seq2seq", "autoenc", "gru", "bigru",
};

const char *ef_arch_name(ef_arch_t a)
{
    return (unsigned)a < EF_ARCH__COUNT ? arch_names[a] : "?";
}

int ef_arch_from_name(const char *name)
{
    for (int i = 0; i < EF_ARCH__COUNT; i++)
        if (name && !strcmp(name, arch_names[i]))
            return i;
    return -1;
}

int ef_arch_gates(ef_arch_t a)
{
    switch (a) {
    case EF_ARCH_LSTM: case EF_ARCH_BILSTM: case EF_ARCH_SEQ2SEQ: case EF_ARCH_AUTOENC:
        return 4;
    case EF_ARCH_GRU: case EF_ARCH_BIGRU:
        return 3;
    default:
        return 0;
    }
}

int ef_arch_bidirectional(ef_arch_t a)
{
    return a == EF_ARCH_BILSTM || a == EF_ARCH_BIGRU;
}

const char *ef_arch_stack_prefix(ef_arch_t a, int which)
{
    switch (a) {
    case EF_ARCH_BILSTM: return which ? "backward_lstm.rnn" : "forward_lstm.rnn";
    case EF_ARCH_BIGRU: return which ? "backward_gru.rnn" : "forward_gru.rnn";
    case EF_ARCH_AUTOENC: return which ? "decoder.rnn" : "encoder.rnn";
    case EF_ARCH_MLP: return NULL;
    default: return which ? NULL : "encoder.rnn";
    }
}

void ef_net_config_default(ef_net_config_t *cfg, ef_arch_t arch, int k, int classes)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->arch = arch;
    cfg->k = k;
    cfg->features = 2;
    cfg->hidden = 20;
    cfg->layers = 3;
    cfg->context = 3;
    cfg->classes = arch == EF_ARCH_AUTOENC ? 0 : classes;
}

int ef_net_config_check(const ef_net_config_t *c, ef_err_t *err)
{
    if ((unsigned)c->arch >= EF_ARCH__COUNT)
        return ef_err_set(err, "unknown architecture %d", (int)c->arch);
    if (c->k < 1 || c->k > EF_K_MAX)
        return ef_err_set(err, "k %d out of range 1..%d", c->k, EF_K_MAX);
    if (c->features < 2 || c->features > 3)
        return ef_err_set(err, "features %d out of range 2..3", c->features);
    if (c->hidden < 1 || c->hidden > EF_NET_MAX_HIDDEN)
        return ef_err_set(err, "hidden %d out of range 1..%d", c->hidden, EF_NET_MAX_HIDDEN);
    if (c->layers < 1 || c->layers > EF_NET_MAX_LAYERS)
        return ef_err_set(err, "layers %d out of range 1..%d", c->layers, EF_NET_MAX_LAYERS);
    if (c->context < 1 || c->context > EF_NET_MAX_CONTEXT)
        return ef_err_set(err, "context %d out of range 1..%d", c->context, EF_NET_MAX_CONTEXT);
    if (c->arch == EF_ARCH_AUTOENC) {
        if (c->classes != 0)
            return ef_err_set(err, "classes %d: the autoencoder has no classes (0)", c->classes);
    } else if (c->classes < 2 || c->classes > EF_NET_MAX_CLASSES)
        return ef_err_set(err, "classes %d out of range 2..%d", c->classes, EF_NET_MAX_CLASSES);
    return 0;
}

static void add(ef_layout_t *l, const char *name, int ndim, int d0, int d1)
{
    int i = l->n++;
    snprintf(l->names[i], EF_NET_NAME_MAX, "%s", name);
    l->t[i].name = l->names[i];
    l->t[i].offset = l->total;
    l->t[i].ndim = ndim;
    l->t[i].shape[0] = d0;
    l->t[i].shape[1] = ndim > 1 ? d1 : 0;
    l->total += (size_t)d0 * (size_t)(ndim > 1 ? d1 : 1);
}

static void add_linear(ef_layout_t *l, const char *prefix, int out, int in)
{
    char name[EF_NET_NAME_MAX];
    snprintf(name, sizeof name, "%s.weight", prefix);
    add(l, name, 2, out, in);
    snprintf(name, sizeof name, "%s.bias", prefix);
    add(l, name, 1, out, 0);
}

static void add_rnn(ef_layout_t *l, const char *prefix, int gates, int in, int hidden, int layers)
{
    char name[EF_NET_NAME_MAX];
    for (int k = 0; k < layers; k++) {
        snprintf(name, sizeof name, "%s.weight_ih_l%d", prefix, k);
        add(l, name, 2, gates * hidden, k ? hidden : in);
        snprintf(name, sizeof name, "%s.weight_hh_l%d", prefix, k);
        add(l, name, 2, gates * hidden, hidden);
        snprintf(name, sizeof name, "%s.bias_ih_l%d", prefix, k);
        add(l, name, 1, gates * hidden, 0);
        snprintf(name, sizeof name, "%s.bias_hh_l%d", prefix, k);
        add(l, name, 1, gates * hidden, 0);
    }
}

int ef_layout_build(const ef_net_config_t *c, ef_layout_t *l, ef_err_t *err)
{
    memset(l, 0, sizeof *l);
    if (ef_net_config_check(c, err) < 0)
        return -1;
    int F = c->features, H = c->hidden, L = c->layers, C = c->context, K = c->classes;
    int G = ef_arch_gates(c->arch);
    /* (h, c) of every layer for LSTMs; h only for GRUs. */
    int state = (G == 4 ? 2 : 1) * L;
    switch (c->arch) {
    case EF_ARCH_MLP: {
        char name[16];
        for (int i = 1; i <= L + 1; i++) {
            snprintf(name, sizeof name, "fc%d", i);
            add_linear(l, name, i == L + 1 ? K : H, i == 1 ? F * c->k : H);
        }
        break;
    }
    case EF_ARCH_LSTM:
    case EF_ARCH_GRU:
        add_rnn(l, "encoder.rnn", G, F, H, L);
        add_linear(l, "fc1", K, H);
        break;
    case EF_ARCH_BILSTM:
    case EF_ARCH_BIGRU:
        add_rnn(l, ef_arch_stack_prefix(c->arch, 0), G, F, H, L);
        add_rnn(l, ef_arch_stack_prefix(c->arch, 1), G, F, H, L);
        add_linear(l, "mlp1.fc1", state * C, state * H);
        add_linear(l, "mlp2.fc1", state * C, state * H);
        add_linear(l, "fc1", K, 2 * C);
        break;
    case EF_ARCH_SEQ2SEQ:
        add_rnn(l, "encoder.rnn", G, F, H, L);
        add_linear(l, "mlp1.fc1", state * C, state * H);
        add_linear(l, "fc1", K, C);
        break;
    case EF_ARCH_AUTOENC:
        add_rnn(l, "encoder.rnn", G, F, H, L);
        add_linear(l, "mlp1.fc1", state * C, state * H);
        add_linear(l, "mlp2.fc1", state * H, state * C);
        add_rnn(l, "decoder.rnn", G, F, H, L);
        add_linear(l, "decoder.fc_out", F, H);
        break;
    default:
        return ef_err_set(err, "unknown architecture");
    }
    return 0;
}

int ef_layout_find(const ef_layout_t *l, const char *name)
{
    for (int i = 0; i < l->n; i++)
        if (!strcmp(l->names[i], name))
            return i;
    return -1;
}
