/* earlyflow model info FILE: what a model file holds, validated the way
 * the plugin would load it. */
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "nn/layout.h"
#include "nn/model.h"
#include "nn/model_file.h"

static void usage(FILE *out)
{
    fprintf(out,
            "usage: earlyflow model info FILE\n"
            "\n"
            "Validate a model file (safetensors) and print its architecture, dimensions,\n"
            "class labels, preprocessing constants, provenance metadata and tensors.\n"
            "Exit status: 0 valid, 1 refused (the reason is printed), 2 usage error.\n");
}

static void print_info(const char *path, const ef_model_file_t *f)
{
    const ef_net_config_t *c = &f->cfg;
    printf("file:         %s\n", path);
    printf("format:       %s version %s\n", ef_model_file_meta(f, "format"),
           ef_model_file_meta(f, "format_version"));
    printf("arch:         %s\n", ef_arch_name(c->arch));
    printf("k:            %d\n", c->k);
    printf("features:     %d (%s)\n", c->features,
           c->features == 3 ? "size, inter-arrival time, direction" : "size, inter-arrival time");
    printf("hidden:       %d\n", c->hidden);
    printf("layers:       %d\n", c->layers);
    printf("context:      %d\n", c->context);
    printf("classes:      %d", c->classes);
    for (int i = 0; i < f->n_labels; i++)
        printf("%s%s", i ? "," : " (", f->labels[i]);
    printf("%s\n", f->n_labels ? ")" : "");
    printf("preprocess:   size' = (log2(size) - %g) / (%g - %g), time' = (log2(iat_s + 1) - %g) "
           "/ (%g - %g), clipped to [0,1]\n",
           (double)f->pp.size_min, (double)f->pp.size_max, (double)f->pp.size_min,
           (double)f->pp.time_min, (double)f->pp.time_max, (double)f->pp.time_min);
    printf("parameters:   %zu\n", f->layout.total);
    int extra = 0;
    for (size_t i = 0; i < f->n_meta; i++)
        if (!ef_model_meta_reserved(f->meta_keys[i]))
            extra++;
    printf("metadata:     %d provenance entr%s\n", extra, extra == 1 ? "y" : "ies");
    for (size_t i = 0; i < f->n_meta; i++)
        if (!ef_model_meta_reserved(f->meta_keys[i]))
            printf("  %-22s %s\n", f->meta_keys[i], f->meta_values[i]);
    printf("tensors:      %d\n", f->layout.n);
    for (int i = 0; i < f->layout.n; i++) {
        const ef_tensor_info_t *t = &f->layout.t[i];
        char shape[32];
        if (t->ndim == 2)
            snprintf(shape, sizeof shape, "[%d,%d]", t->shape[0], t->shape[1]);
        else
            snprintf(shape, sizeof shape, "[%d]", t->shape[0]);
        printf("  %-34s %-10s %8d\n", t->name, shape,
               t->shape[0] * (t->ndim == 2 ? t->shape[1] : 1));
    }
}

static int model_info(const char *path)
{
    ef_err_t err;
    ef_model_file_t f;
    if (ef_model_file_read(path, &f, &err) < 0) {
        fprintf(stderr, "earlyflow: %s\n", err.msg);
        return 1;
    }
    print_info(path, &f);
    int rc = 0;
    if (f.cfg.arch == EF_ARCH_AUTOENC) {
        printf("valid:        yes (SEQ pre-training network: use it with train --pretrained)\n");
    } else {
        /* the inference loader repacks the weights: prove that works too */
        ef_model_t *m = ef_model_load_file(path, &err);
        if (!m) {
            fprintf(stderr, "earlyflow: %s\n", err.msg);
            rc = 1;
        } else {
            printf("valid:        yes (loads for inference)\n");
            ef_model_free(m);
        }
    }
    ef_model_file_free(&f);
    return rc;
}

int ef_cmd_model(int argc, char **argv)
{
    if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
        usage(stdout);
        return 0;
    }
    if (argc == 3 && !strcmp(argv[1], "info")) {
        if (!strcmp(argv[2], "--help") || !strcmp(argv[2], "-h")) {
            usage(stdout);
            return 0;
        }
        return model_info(argv[2]);
    }
    usage(stderr);
    return 2;
}
