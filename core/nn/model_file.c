/* Model files: the metadata contract and the tensor layout, validated. */
#include "nn/model_file.h"

#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/safetensors.h"

static const char *const reserved_keys[] = {
    "format", "format_version", "arch", "k", "features", "hidden", "layers", "context",
    "classes", "labels", "size_min", "size_max", "time_min", "time_max", "use_dir",
};
#define N_RESERVED (sizeof reserved_keys / sizeof reserved_keys[0])

int ef_model_meta_reserved(const char *key)
{
    for (size_t i = 0; i < N_RESERVED; i++)
        if (!strcmp(key, reserved_keys[i]))
            return 1;
    return 0;
}

static const char *need_meta(const ef_st_file_t *st, const char *key, const char *name,
                             ef_err_t *err)
{
    const char *v = ef_st_meta_get(st, key);
    if (!v)
        ef_err_set(err, "%s: missing __metadata__ key \"%s\"", name, key);
    return v;
}

static int parse_int_meta(const ef_st_file_t *st, const char *key, int *out, const char *name,
                          ef_err_t *err)
{
    const char *v = need_meta(st, key, name, err);
    if (!v)
        return -1;
    long x = 0;
    size_t i = 0;
    int neg = v[0] == '-';
    if (neg)
        i++;
    if (!v[i])
        return ef_err_set(err, "%s: metadata %s \"%.40s\" is not an integer", name, key, v);
    for (; v[i]; i++) {
        if (v[i] < '0' || v[i] > '9')
            return ef_err_set(err, "%s: metadata %s \"%.40s\" is not an integer", name, key, v);
        x = x * 10 + (v[i] - '0');
        if (x > 1000000000L)
            return ef_err_set(err, "%s: metadata %s \"%.40s\" is out of range", name, key, v);
    }
    *out = (int)(neg ? -x : x);
    return 0;
}

static int parse_float_meta(const ef_st_file_t *st, const char *key, float *out, locale_t loc,
                            const char *name, ef_err_t *err)
{
    const char *v = need_meta(st, key, name, err);
    if (!v)
        return -1;
    char *end;
    double d = strtod_l(v, &end, loc);
    if (!v[0] || *end || v[0] == ' ' || v[0] == '\t' || v[0] == '\n')
        return ef_err_set(err, "%s: metadata %s \"%.40s\" is not a number", name, key, v);
    if (!isfinite(d) || !isfinite((float)d))
        return ef_err_set(err, "%s: metadata %s \"%.40s\" is not a finite float", name, key, v);
    *out = (float)d;
    return 0;
}

static int parse_labels(ef_model_file_t *f, const char *v, const char *name, ef_err_t *err)
{
    int count = 0;
    if (v[0]) {
        count = 1;
        for (const char *p = v; *p; p++)
            count += *p == ',';
    }
    if (count != f->cfg.classes)
        return ef_err_set(err, "%s: labels lists %d names, classes is %d", name, count,
                          f->cfg.classes);
    f->labels = calloc((size_t)count + 1, sizeof *f->labels);
    if (!f->labels)
        return ef_err_set(err, "%s: out of memory", name);
    const char *p = v;
    for (int i = 0; i < count; i++) {
        size_t n = strcspn(p, ",");
        if (n == 0)
            return ef_err_set(err, "%s: labels: name %d is empty", name, i + 1);
        f->labels[i] = strndup(p, n);
        if (!f->labels[i])
            return ef_err_set(err, "%s: out of memory", name);
        f->n_labels = i + 1;
        for (int j = 0; j < i; j++)
            if (!strcmp(f->labels[j], f->labels[i]))
                return ef_err_set(err, "%s: labels: \"%s\" appears twice", name, f->labels[i]);
        p += n + (p[n] == ',');
    }
    return 0;
}

static void shape_str(char *buf, size_t len, const uint64_t *shape, int ndim)
{
    size_t at = (size_t)snprintf(buf, len, "[");
    for (int i = 0; i < ndim && at < len; i++)
        at += (size_t)snprintf(buf + at, len - at, "%s%llu", i ? "," : "",
                               (unsigned long long)shape[i]);
    if (at < len)
        snprintf(buf + at, len - at, "]");
}

static int check_tensors(ef_model_file_t *f, const ef_st_file_t *st, const char *name,
                         ef_err_t *err)
{
    const ef_layout_t *l = &f->layout;
    for (int i = 0; i < l->n; i++) {
        const ef_tensor_info_t *want = &l->t[i];
        const ef_st_tensor_t *t = ef_st_find(st, want->name);
        if (!t)
            return ef_err_set(err, "%s: missing tensor %s", name, want->name);
        if (strcmp(t->dtype, "F32") != 0)
            return ef_err_set(err, "%s: tensor %s: dtype %s, expected F32", name, t->name,
                              t->dtype);
        uint64_t ws[2] = {(uint64_t)want->shape[0], (uint64_t)want->shape[1]};
        int same = t->ndim == want->ndim;
        for (int d = 0; same && d < t->ndim; d++)
            same = t->shape[d] == ws[d];
        if (!same) {
            char got[128], exp[64];
            shape_str(got, sizeof got, t->shape, t->ndim);
            shape_str(exp, sizeof exp, ws, want->ndim);
            return ef_err_set(err, "%s: tensor %s: shape %s, expected %s", name, t->name, got,
                              exp);
        }
    }
    for (size_t i = 0; i < st->n_tensors; i++)
        if (ef_layout_find(l, st->tensors[i].name) < 0)
            return ef_err_set(err, "%s: unexpected tensor %.80s (not part of a %s model)", name,
                              st->tensors[i].name, ef_arch_name(f->cfg.arch));
    f->params = malloc((l->total ? l->total : 1) * sizeof(float));
    if (!f->params)
        return ef_err_set(err, "%s: out of memory", name);
    for (int i = 0; i < l->n; i++) {
        const ef_st_tensor_t *t = ef_st_find(st, l->t[i].name);
        float *dst = f->params + l->t[i].offset;
        ef_st_read_f32(t, dst);
        for (uint64_t e = 0; e < t->nelem; e++)
            if (!isfinite(dst[e]))
                return ef_err_set(err, "%s: tensor %s: element %llu is %s", name, t->name,
                                  (unsigned long long)e, isnan(dst[e]) ? "NaN" : "infinite");
    }
    return 0;
}

static int copy_meta(ef_model_file_t *f, const ef_st_file_t *st, const char *name, ef_err_t *err)
{
    f->meta_keys = calloc(st->n_meta + 1, sizeof(char *));
    f->meta_values = calloc(st->n_meta + 1, sizeof(char *));
    if (!f->meta_keys || !f->meta_values)
        return ef_err_set(err, "%s: out of memory", name);
    for (size_t i = 0; i < st->n_meta; i++) {
        f->meta_keys[i] = strdup(st->meta[i].key);
        f->meta_values[i] = strdup(st->meta[i].value);
        f->n_meta = i + 1;
        if (!f->meta_keys[i] || !f->meta_values[i])
            return ef_err_set(err, "%s: out of memory", name);
    }
    return 0;
}

static int parse_meta_block(ef_model_file_t *f, const ef_st_file_t *st, const char *name,
                            ef_err_t *err)
{
    if (st->n_meta == 0)
        return ef_err_set(err, "%s: no __metadata__ (not an earlyflow model file)", name);
    const char *fmt = need_meta(st, "format", name, err);
    if (!fmt)
        return -1;
    if (strcmp(fmt, EF_MODEL_FORMAT) != 0)
        return ef_err_set(err, "%s: format \"%.40s\", expected \"%s\"", name, fmt,
                          EF_MODEL_FORMAT);
    const char *ver = need_meta(st, "format_version", name, err);
    if (!ver)
        return -1;
    if (strcmp(ver, EF_MODEL_FORMAT_VERSION) != 0)
        return ef_err_set(err, "%s: format_version \"%.20s\" is not supported (this build reads "
                          "version %s)", name, ver, EF_MODEL_FORMAT_VERSION);
    const char *arch = need_meta(st, "arch", name, err);
    if (!arch)
        return -1;
    int a = ef_arch_from_name(arch);
    if (a < 0)
        return ef_err_set(err, "%s: unknown arch \"%.40s\"", name, arch);
    f->cfg.arch = (ef_arch_t)a;
    int use_dir;
    if (parse_int_meta(st, "k", &f->cfg.k, name, err) < 0 ||
        parse_int_meta(st, "features", &f->cfg.features, name, err) < 0 ||
        parse_int_meta(st, "hidden", &f->cfg.hidden, name, err) < 0 ||
        parse_int_meta(st, "layers", &f->cfg.layers, name, err) < 0 ||
        parse_int_meta(st, "context", &f->cfg.context, name, err) < 0 ||
        parse_int_meta(st, "classes", &f->cfg.classes, name, err) < 0 ||
        parse_int_meta(st, "use_dir", &use_dir, name, err) < 0)
        return -1;
    if (use_dir != 0 && use_dir != 1)
        return ef_err_set(err, "%s: metadata use_dir %d, expected 0 or 1", name, use_dir);
    if (ef_net_config_check(&f->cfg, err) < 0)
        return ef_err_prefix(err, "%s", name);
    if (f->cfg.features != 2 + use_dir)
        return ef_err_set(err, "%s: features %d but use_dir %d (expected features %d)", name,
                          f->cfg.features, use_dir, 2 + use_dir);
    f->pp.use_dir = use_dir;
    locale_t loc = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0);
    if (!loc)
        return ef_err_set(err, "%s: out of memory", name);
    int rc = 0;
    if (parse_float_meta(st, "size_min", &f->pp.size_min, loc, name, err) < 0 ||
        parse_float_meta(st, "size_max", &f->pp.size_max, loc, name, err) < 0 ||
        parse_float_meta(st, "time_min", &f->pp.time_min, loc, name, err) < 0 ||
        parse_float_meta(st, "time_max", &f->pp.time_max, loc, name, err) < 0)
        rc = -1;
    freelocale(loc);
    if (rc < 0)
        return -1;
    if (f->pp.size_min > f->pp.size_max)
        return ef_err_set(err, "%s: size_min %g is above size_max %g", name, f->pp.size_min,
                          f->pp.size_max);
    if (f->pp.time_min > f->pp.time_max)
        return ef_err_set(err, "%s: time_min %g is above time_max %g", name, f->pp.time_min,
                          f->pp.time_max);
    const char *labels = need_meta(st, "labels", name, err);
    if (!labels)
        return -1;
    return parse_labels(f, labels, name, err);
}

int ef_model_file_parse(const void *buf, size_t len, const char *name, ef_model_file_t *f,
                        ef_err_t *err)
{
    memset(f, 0, sizeof *f);
    ef_st_file_t st;
    if (ef_st_parse(&st, buf, len, name, err) < 0)
        return -1;
    int rc = parse_meta_block(f, &st, name, err);
    if (rc == 0 && ef_layout_build(&f->cfg, &f->layout, err) < 0)
        rc = ef_err_prefix(err, "%s", name);
    if (rc == 0)
        rc = check_tensors(f, &st, name, err);
    if (rc == 0)
        rc = copy_meta(f, &st, name, err);
    ef_st_release(&st);
    if (rc < 0)
        ef_model_file_free(f);
    return rc;
}

int ef_model_file_read(const char *path, ef_model_file_t *f, ef_err_t *err)
{
    unsigned char *buf;
    size_t len;
    memset(f, 0, sizeof *f);
    if (ef_read_whole_file(path, EF_MODEL_MAX_FILE, &buf, &len, err) < 0)
        return -1;
    int rc = ef_model_file_parse(buf, len, path, f, err);
    free(buf);
    return rc;
}

void ef_model_file_free(ef_model_file_t *f)
{
    if (!f)
        return;
    if (f->labels)
        for (int i = 0; i < f->n_labels; i++)
            free(f->labels[i]);
    free(f->labels);
    free(f->params);
    for (size_t i = 0; i < f->n_meta; i++) {
        free(f->meta_keys[i]);
        free(f->meta_values[i]);
    }
    free(f->meta_keys);
    free(f->meta_values);
    memset(f, 0, sizeof *f);
}

const char *ef_model_file_meta(const ef_model_file_t *f, const char *key)
{
    for (size_t i = 0; i < f->n_meta; i++)
        if (!strcmp(f->meta_keys[i], key))
            return f->meta_values[i];
    return NULL;
}

/* ---- writing ---- */

/* "%.9g" round-trips every float; the C locale keeps the '.' whatever
 * locale the host program set. */
static void fmt_float(char *buf, size_t len, float v)
{
    locale_t loc = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0);
    locale_t old = loc ? uselocale(loc) : (locale_t)0;
    snprintf(buf, len, "%.9g", (double)v);
    if (loc) {
        uselocale(old);
        freelocale(loc);
    }
}

int ef_model_file_write(const char *path, const ef_net_config_t *cfg, const float *params,
                        const ef_preproc_t *pp, const char *const *labels, const ef_kv_t *extra,
                        int n_extra, ef_err_t *err)
{
    ef_layout_t lay;
    if (ef_layout_build(cfg, &lay, err) < 0)
        return ef_err_prefix(err, "%s", path);
    if (cfg->features != 2 + (pp->use_dir ? 1 : 0))
        return ef_err_set(err, "%s: features %d does not match use_dir %d", path, cfg->features,
                          pp->use_dir);
    if (!isfinite(pp->size_min) || !isfinite(pp->size_max) || !isfinite(pp->time_min) ||
        !isfinite(pp->time_max) || pp->size_min > pp->size_max || pp->time_min > pp->time_max)
        return ef_err_set(err, "%s: preprocessing constants are not a finite min <= max "
                          "(was the preprocessing fitted?)", path);
    for (size_t i = 0; i < lay.total; i++)
        if (!isfinite(params[i]))
            return ef_err_set(err, "%s: parameter %zu is not finite (did training diverge?)",
                              path, i);
    /* labels joined with commas */
    size_t llen = 1;
    for (int i = 0; i < cfg->classes; i++) {
        if (!labels || !labels[i] || !labels[i][0] || strchr(labels[i], ','))
            return ef_err_set(err, "%s: label %d is missing, empty or holds a comma", path, i);
        llen += strlen(labels[i]) + 1;
    }
    for (int i = 0; i < n_extra; i++) {
        if (!extra[i].key || !extra[i].value || ef_model_meta_reserved(extra[i].key))
            return ef_err_set(err, "%s: metadata key \"%s\" is reserved or empty", path,
                              extra[i].key ? extra[i].key : "(null)");
        for (int j = 0; j < i; j++)
            if (!strcmp(extra[i].key, extra[j].key))
                return ef_err_set(err, "%s: metadata key \"%s\" given twice", path,
                                  extra[i].key);
    }
    char *joined = malloc(llen);
    ef_st_meta_t *meta = calloc(N_RESERVED + (size_t)(n_extra > 0 ? n_extra : 0), sizeof *meta);
    ef_st_out_t *t = calloc((size_t)lay.n, sizeof *t);
    if (!joined || !meta || !t) {
        free(joined);
        free(meta);
        free(t);
        return ef_err_set(err, "%s: out of memory", path);
    }
    joined[0] = '\0';
    for (int i = 0; i < cfg->classes; i++) {
        if (i)
            strcat(joined, ",");
        strcat(joined, labels[i]);
    }
    char num[9][32];
    snprintf(num[0], 32, "%d", cfg->k);
    snprintf(num[1], 32, "%d", cfg->features);
    snprintf(num[2], 32, "%d", cfg->hidden);
    snprintf(num[3], 32, "%d", cfg->layers);
    snprintf(num[4], 32, "%d", cfg->context);
    snprintf(num[5], 32, "%d", cfg->classes);
    fmt_float(num[6], 32, pp->size_min);
    fmt_float(num[7], 32, pp->size_max);
    char tmin[32], tmax[32];
    fmt_float(tmin, sizeof tmin, pp->time_min);
    fmt_float(tmax, sizeof tmax, pp->time_max);
    size_t m = 0;
    meta[m++] = (ef_st_meta_t){"format", EF_MODEL_FORMAT};
    meta[m++] = (ef_st_meta_t){"format_version", EF_MODEL_FORMAT_VERSION};
    meta[m++] = (ef_st_meta_t){"arch", ef_arch_name(cfg->arch)};
    meta[m++] = (ef_st_meta_t){"k", num[0]};
    meta[m++] = (ef_st_meta_t){"features", num[1]};
    meta[m++] = (ef_st_meta_t){"hidden", num[2]};
    meta[m++] = (ef_st_meta_t){"layers", num[3]};
    meta[m++] = (ef_st_meta_t){"context", num[4]};
    meta[m++] = (ef_st_meta_t){"classes", num[5]};
    meta[m++] = (ef_st_meta_t){"labels", joined};
    meta[m++] = (ef_st_meta_t){"size_min", num[6]};
    meta[m++] = (ef_st_meta_t){"size_max", num[7]};
    meta[m++] = (ef_st_meta_t){"time_min", tmin};
    meta[m++] = (ef_st_meta_t){"time_max", tmax};
    meta[m++] = (ef_st_meta_t){"use_dir", pp->use_dir ? "1" : "0"};
    for (int i = 0; i < n_extra; i++)
        meta[m++] = (ef_st_meta_t){extra[i].key, extra[i].value};
    for (int i = 0; i < lay.n; i++) {
        t[i].name = lay.t[i].name;
        t[i].ndim = lay.t[i].ndim;
        t[i].shape[0] = (uint64_t)lay.t[i].shape[0];
        t[i].shape[1] = (uint64_t)lay.t[i].shape[1];
        t[i].data = params + lay.t[i].offset;
    }
    int rc = ef_st_write_file(path, t, (size_t)lay.n, meta, m, err);
    free(joined);
    free(meta);
    free(t);
    return rc;
}
