/* Saving and loading trainable nets through the model file (model_file.c). */
#include "nn/net.h"

#include <string.h>

#include "nn/model_file.h"

int ef_net_save(const ef_net_t *net, const ef_preproc_t *pp, const char *const *labels,
                const ef_kv_t *extra, int n_extra, const char *path, ef_err_t *err)
{
    ef_net_t *mut = (ef_net_t *)net; /* the accessor is not const; nothing is written */
    return ef_model_file_write(path, ef_net_config(net), ef_net_params(mut), pp, labels, extra,
                               n_extra, err);
}

ef_net_t *ef_net_load(const char *path, int max_batch, ef_preproc_t *pp_out, ef_err_t *err)
{
    ef_model_file_t f;
    if (ef_model_file_read(path, &f, err) < 0)
        return NULL;
    ef_net_t *net = ef_net_new(&f.cfg, max_batch, err);
    if (net) {
        memcpy(ef_net_params(net), f.params, ef_net_num_params(net) * sizeof(float));
        if (pp_out)
            *pp_out = f.pp;
    }
    ef_model_file_free(&f);
    return net;
}

int ef_net_load_matching(ef_net_t *net, const char *path, ef_err_t *err)
{
    ef_model_file_t f;
    if (ef_model_file_read(path, &f, err) < 0)
        return -1;
    int copied = 0;
    float *params = ef_net_params(net);
    for (int i = 0; i < ef_net_num_tensors(net); i++) {
        const ef_tensor_info_t *t = ef_net_tensor(net, i);
        int j = ef_layout_find(&f.layout, t->name);
        if (j < 0)
            continue;
        const ef_tensor_info_t *s = &f.layout.t[j];
        if (s->ndim != t->ndim || s->shape[0] != t->shape[0] || s->shape[1] != t->shape[1]) {
            ef_err_set(err, "%s: tensor %s: shape [%d,%d] in the file, [%d,%d] in the model being "
                       "trained", path, t->name, s->shape[0], s->shape[1], t->shape[0],
                       t->shape[1]);
            ef_model_file_free(&f);
            return -1;
        }
        size_t count = (size_t)t->shape[0] * (size_t)(t->ndim > 1 ? t->shape[1] : 1);
        memcpy(params + t->offset, f.params + s->offset, count * sizeof(float));
        copied++;
    }
    ef_model_file_free(&f);
    return copied;
}
