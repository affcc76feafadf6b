/* safetensors reader (untrusted input) and writer. */
#include "nn/safetensors.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct dtype_info {
    const char *name;
    size_t size;
} dtype_info_t;

static const dtype_info_t dtypes[] = {
    {"F64", 8}, {"F32", 4}, {"F16", 2}, {"BF16", 2}, {"I64", 8}, {"I32", 4},
    {"I16", 2}, {"I8", 1},  {"U64", 8}, {"U32", 4},  {"U16", 2}, {"U8", 1},
    {"BOOL", 1}, {"F8_E4M3", 1}, {"F8_E5M2", 1},
};

static size_t dtype_size(const char *name)
{
    for (size_t i = 0; i < sizeof dtypes / sizeof dtypes[0]; i++)
        if (!strcmp(dtypes[i].name, name))
            return dtypes[i].size;
    return 0;
}

static uint64_t load_le64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

static void store_le64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static int parse_meta(ef_st_file_t *f, const ef_json_value_t *m, const char *name, ef_err_t *err)
{
    if (m->type != EF_JSON_OBJECT)
        return ef_err_set(err, "%s: __metadata__ is a JSON %s, expected an object", name,
                          ef_json_type_name(m->type));
    f->meta = calloc(m->count ? m->count : 1, sizeof *f->meta);
    if (!f->meta)
        return ef_err_set(err, "%s: out of memory", name);
    for (const ef_json_value_t *c = m->child; c; c = c->next) {
        if (c->type != EF_JSON_STRING)
            return ef_err_set(err, "%s: __metadata__ value of \"%s\" is a JSON %s, expected a string",
                              name, c->key, ef_json_type_name(c->type));
        if (strlen(c->key) != c->key_len || strlen(c->str) != c->str_len)
            return ef_err_set(err, "%s: __metadata__ entry \"%s\" holds a NUL character", name,
                              c->key);
        f->meta[f->n_meta].key = c->key;
        f->meta[f->n_meta].value = c->str;
        f->n_meta++;
    }
    return 0;
}

static int parse_u64_array(const ef_json_value_t *a, uint64_t *out, int max, int *n)
{
    if (a->type != EF_JSON_ARRAY || a->count > (size_t)max)
        return -1;
    int i = 0;
    for (const ef_json_value_t *c = a->child; c; c = c->next)
        if (ef_json_u64(c, &out[i++]) < 0)
            return -1;
    *n = i;
    return 0;
}

static int parse_tensor(ef_st_tensor_t *t, const ef_json_value_t *v, const char *name,
                        uint64_t data_len, ef_err_t *err)
{
    t->name = v->key;
    if (v->key_len == 0 || strlen(v->key) != v->key_len)
        return ef_err_set(err, "%s: a tensor name is empty or holds a NUL character", name);
    if (v->type != EF_JSON_OBJECT)
        return ef_err_set(err, "%s: tensor %s: entry is a JSON %s, expected an object", name,
                          t->name, ef_json_type_name(v->type));
    const ef_json_value_t *dt = NULL, *shape = NULL, *offs = NULL;
    for (const ef_json_value_t *c = v->child; c; c = c->next) {
        if (!strcmp(c->key, "dtype"))
            dt = c;
        else if (!strcmp(c->key, "shape"))
            shape = c;
        else if (!strcmp(c->key, "data_offsets"))
            offs = c;
        else
            return ef_err_set(err, "%s: tensor %s: unknown field \"%.60s\"", name, t->name,
                              c->key);
    }
    if (!dt || !shape || !offs)
        return ef_err_set(err, "%s: tensor %s: missing field \"%s\"", name, t->name,
                          !dt ? "dtype" : !shape ? "shape" : "data_offsets");
    if (dt->type != EF_JSON_STRING || !(t->dtype_size = dtype_size(dt->str)))
        return ef_err_set(err, "%s: tensor %s: unknown dtype %.40s%s%s", name, t->name,
                          dt->type == EF_JSON_STRING ? "\"" : "",
                          dt->type == EF_JSON_STRING ? dt->str : ef_json_type_name(dt->type),
                          dt->type == EF_JSON_STRING ? "\"" : "");
    t->dtype = dt->str;
    if (parse_u64_array(shape, t->shape, EF_ST_MAX_DIMS, &t->ndim) < 0)
        return ef_err_set(err, "%s: tensor %s: shape must be an array of at most %d "
                          "non-negative integers", name, t->name, EF_ST_MAX_DIMS);
    uint64_t off[2];
    int n_off = 0;
    if (parse_u64_array(offs, off, 2, &n_off) < 0 || n_off != 2)
        return ef_err_set(err, "%s: tensor %s: data_offsets must be [begin, end] "
                          "(two non-negative integers)", name, t->name);
    t->begin = off[0];
    t->end = off[1];
    /* Element count and byte size, refusing overflow instead of wrapping. */
    uint64_t nelem = 1;
    for (int i = 0; i < t->ndim; i++) {
        if (t->shape[i] && nelem > UINT64_MAX / t->shape[i])
            return ef_err_set(err, "%s: tensor %s: shape overflows", name, t->name);
        nelem *= t->shape[i];
    }
    if (nelem > UINT64_MAX / t->dtype_size)
        return ef_err_set(err, "%s: tensor %s: shape overflows", name, t->name);
    t->nelem = nelem;
    if (t->end < t->begin)
        return ef_err_set(err, "%s: tensor %s: data_offsets [%llu,%llu] end before begin", name,
                          t->name, (unsigned long long)t->begin, (unsigned long long)t->end);
    if (t->end > data_len)
        return ef_err_set(err, "%s: tensor %s: data_offsets [%llu,%llu] run past the data "
                          "section (%llu bytes)", name, t->name, (unsigned long long)t->begin,
                          (unsigned long long)t->end, (unsigned long long)data_len);
    if (t->end - t->begin != nelem * t->dtype_size)
        return ef_err_set(err, "%s: tensor %s: data_offsets [%llu,%llu] hold %llu bytes, dtype "
                          "%s x %llu elements need %llu", name, t->name,
                          (unsigned long long)t->begin, (unsigned long long)t->end,
                          (unsigned long long)(t->end - t->begin), t->dtype,
                          (unsigned long long)nelem, (unsigned long long)(nelem * t->dtype_size));
    t->nbytes = (size_t)(t->end - t->begin);
    return 0;
}

static int cmp_begin(const void *a, const void *b)
{
    const ef_st_tensor_t *const *x = a, *const *y = b;
    if ((*x)->begin != (*y)->begin)
        return (*x)->begin < (*y)->begin ? -1 : 1;
    return ((*x)->end > (*y)->end) - ((*x)->end < (*y)->end);
}

/* The tensors must tile [0, data_len) exactly, as the reference format
 * requires: nothing unaccounted for, nothing read twice. */
static int check_tiling(ef_st_file_t *f, uint64_t data_len, const char *name, ef_err_t *err)
{
    if (f->n_tensors == 0) {
        if (data_len)
            return ef_err_set(err, "%s: %llu bytes of data but no tensors", name,
                              (unsigned long long)data_len);
        return 0;
    }
    ef_st_tensor_t **order = malloc(f->n_tensors * sizeof *order);
    if (!order)
        return ef_err_set(err, "%s: out of memory", name);
    for (size_t i = 0; i < f->n_tensors; i++)
        order[i] = &f->tensors[i];
    qsort(order, f->n_tensors, sizeof *order, cmp_begin);
    uint64_t at = 0;
    int rc = 0;
    for (size_t i = 0; i < f->n_tensors && rc == 0; i++) {
        const ef_st_tensor_t *t = order[i];
        if (t->begin < at)
            rc = ef_err_set(err, "%s: tensor %s: data_offsets [%llu,%llu] overlap tensor %s",
                            name, t->name, (unsigned long long)t->begin,
                            (unsigned long long)t->end, order[i - 1]->name);
        else if (t->begin > at)
            rc = ef_err_set(err, "%s: tensor %s: data_offsets [%llu,%llu] leave a gap of %llu "
                            "bytes before them", name, t->name, (unsigned long long)t->begin,
                            (unsigned long long)t->end, (unsigned long long)(t->begin - at));
        at = t->end;
    }
    if (rc == 0 && at != data_len)
        rc = ef_err_set(err, "%s: %llu bytes of data after the last tensor", name,
                        (unsigned long long)(data_len - at));
    free(order);
    return rc;
}

int ef_st_parse(ef_st_file_t *f, const void *vbuf, size_t len, const char *name, ef_err_t *err)
{
    const unsigned char *buf = vbuf;
    memset(f, 0, sizeof *f);
    if (len < 8)
        return ef_err_set(err, "%s: %zu bytes, too short for a safetensors file (8-byte header "
                          "length missing)", name, len);
    uint64_t hlen = load_le64(buf);
    if (hlen > EF_ST_MAX_HEADER)
        return ef_err_set(err, "%s: header length %llu exceeds the limit of %llu bytes", name,
                          (unsigned long long)hlen, (unsigned long long)EF_ST_MAX_HEADER);
    if (hlen > len - 8)
        return ef_err_set(err, "%s: header length %llu runs past the end of the file "
                          "(%zu bytes)", name, (unsigned long long)hlen, len);
    if (hlen < 2 || buf[8] != '{')
        return ef_err_set(err, "%s: header does not start with a JSON object", name);
    f->header_len = hlen;
    f->data_start = 8 + (size_t)hlen;
    ef_json_limits_t lim = {.max_len = EF_ST_MAX_HEADER, .max_depth = 4,
                            .max_values = 200000};
    char jname[300];
    snprintf(jname, sizeof jname, "%s: header", name);
    f->json = ef_json_parse((const char *)buf + 8, (size_t)hlen, &lim, jname, err);
    if (!f->json)
        return -1;
    const ef_json_value_t *root = ef_json_root(f->json);
    if (root->type != EF_JSON_OBJECT) {
        ef_st_release(f);
        return ef_err_set(err, "%s: header is not a JSON object", name);
    }
    if (root->count > EF_ST_MAX_TENSORS + 1) {
        ef_st_release(f);
        return ef_err_set(err, "%s: %zu header entries, more than the limit of %d tensors",
                          name, root->count, EF_ST_MAX_TENSORS);
    }
    f->tensors = calloc(root->count ? root->count : 1, sizeof *f->tensors);
    if (!f->tensors) {
        ef_st_release(f);
        return ef_err_set(err, "%s: out of memory", name);
    }
    uint64_t data_len = len - f->data_start;
    for (const ef_json_value_t *c = root->child; c; c = c->next) {
        int rc;
        if (!strcmp(c->key, "__metadata__") && c->key_len == 12)
            rc = parse_meta(f, c, name, err);
        else
            rc = parse_tensor(&f->tensors[f->n_tensors++], c, name, data_len, err);
        if (rc < 0) {
            ef_st_release(f);
            return -1;
        }
    }
    if (check_tiling(f, data_len, name, err) < 0) {
        ef_st_release(f);
        return -1;
    }
    for (size_t i = 0; i < f->n_tensors; i++)
        f->tensors[i].data = buf + f->data_start + f->tensors[i].begin;
    return 0;
}

void ef_st_release(ef_st_file_t *f)
{
    if (!f)
        return;
    free(f->tensors);
    free(f->meta);
    ef_json_free(f->json);
    memset(f, 0, sizeof *f);
}

const ef_st_tensor_t *ef_st_find(const ef_st_file_t *f, const char *name)
{
    for (size_t i = 0; i < f->n_tensors; i++)
        if (!strcmp(f->tensors[i].name, name))
            return &f->tensors[i];
    return NULL;
}

const char *ef_st_meta_get(const ef_st_file_t *f, const char *key)
{
    for (size_t i = 0; i < f->n_meta; i++)
        if (!strcmp(f->meta[i].key, key))
            return f->meta[i].value;
    return NULL;
}

int ef_st_read_f32(const ef_st_tensor_t *t, float *out)
{
    if (strcmp(t->dtype, "F32") != 0)
        return -1;
    for (uint64_t i = 0; i < t->nelem; i++) {
        const unsigned char *p = t->data + 4 * i;
        uint32_t u = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
                     (uint32_t)p[3] << 24;
        memcpy(&out[i], &u, 4);
    }
    return 0;
}

/* ---- writer ---- */

typedef struct sbuf {
    char *s;
    size_t len, cap;
    int oom;
} sbuf_t;

static void sb_put(sbuf_t *b, const char *s, size_t n)
{
    if (b->oom)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 1024;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *t = realloc(b->s, cap);
        if (!t) {
            b->oom = 1;
            return;
        }
        b->s = t;
        b->cap = cap;
    }
    memcpy(b->s + b->len, s, n);
    b->len += n;
    b->s[b->len] = '\0';
}

static void sb_str(sbuf_t *b, const char *s)
{
    sb_put(b, s, strlen(s));
}

static int utf8_ok(const char *s)
{
    const unsigned char *u = (const unsigned char *)s;
    while (*u) {
        if (*u < 0x80) {
            u++;
            continue;
        }
        size_t n = (*u >= 0xC2 && *u <= 0xDF) ? 2 : (*u >= 0xE0 && *u <= 0xEF) ? 3
                 : (*u >= 0xF0 && *u <= 0xF4) ? 4 : 0;
        if (!n)
            return 0;
        for (size_t i = 1; i < n; i++)
            if (u[i] < 0x80 || u[i] > 0xBF)
                return 0;
        if ((u[0] == 0xE0 && u[1] < 0xA0) || (u[0] == 0xED && u[1] > 0x9F) ||
            (u[0] == 0xF0 && u[1] < 0x90) || (u[0] == 0xF4 && u[1] > 0x8F))
            return 0;
        u += n;
    }
    return 1;
}

static void sb_json_string(sbuf_t *b, const char *s)
{
    sb_put(b, "\"", 1);
    for (const unsigned char *u = (const unsigned char *)s; *u; u++) {
        if (*u == '"' || *u == '\\') {
            char e[2] = {'\\', (char)*u};
            sb_put(b, e, 2);
        } else if (*u < 0x20) {
            char e[8];
            snprintf(e, sizeof e, "\\u%04x", *u);
            sb_put(b, e, 6);
        } else
            sb_put(b, (const char *)u, 1);
    }
    sb_put(b, "\"", 1);
}

int ef_st_serialize(const ef_st_out_t *t, size_t n, const ef_st_meta_t *meta, size_t n_meta,
                    unsigned char **out, size_t *out_len, ef_err_t *err)
{
    *out = NULL;
    *out_len = 0;
    for (size_t i = 0; i < n_meta; i++)
        if (!utf8_ok(meta[i].key) || !utf8_ok(meta[i].value))
            return ef_err_set(err, "metadata \"%s\": not valid UTF-8", meta[i].key);
    sbuf_t h = {0};
    sb_put(&h, "{", 1);
    if (n_meta) {
        sb_str(&h, "\"__metadata__\":{");
        for (size_t i = 0; i < n_meta; i++) {
            if (i)
                sb_put(&h, ",", 1);
            sb_json_string(&h, meta[i].key);
            sb_put(&h, ":", 1);
            sb_json_string(&h, meta[i].value);
        }
        sb_put(&h, "}", 1);
    }
    uint64_t off = 0;
    for (size_t i = 0; i < n; i++) {
        if (!utf8_ok(t[i].name) || !t[i].name[0] || !strcmp(t[i].name, "__metadata__")) {
            free(h.s);
            return ef_err_set(err, "tensor name \"%s\" is not allowed", t[i].name);
        }
        uint64_t nelem = 1;
        for (int d = 0; d < t[i].ndim; d++)
            nelem *= t[i].shape[d];
        char num[64];
        if (n_meta || i)
            sb_put(&h, ",", 1);
        sb_json_string(&h, t[i].name);
        sb_str(&h, ":{\"dtype\":\"F32\",\"shape\":[");
        for (int d = 0; d < t[i].ndim; d++) {
            snprintf(num, sizeof num, "%s%llu", d ? "," : "", (unsigned long long)t[i].shape[d]);
            sb_str(&h, num);
        }
        snprintf(num, sizeof num, "],\"data_offsets\":[%llu,%llu]}", (unsigned long long)off,
                 (unsigned long long)(off + 4 * nelem));
        sb_str(&h, num);
        off += 4 * nelem;
    }
    sb_put(&h, "}", 1);
    while (!h.oom && (8 + h.len) % 8)
        sb_put(&h, " ", 1);
    if (h.oom) {
        free(h.s);
        return ef_err_set(err, "out of memory");
    }
    if (h.len > EF_ST_MAX_HEADER) {
        free(h.s);
        return ef_err_set(err, "header of %zu bytes exceeds the limit of %llu", h.len,
                          (unsigned long long)EF_ST_MAX_HEADER);
    }
    size_t total = 8 + h.len + (size_t)off;
    unsigned char *buf = malloc(total ? total : 1);
    if (!buf) {
        free(h.s);
        return ef_err_set(err, "out of memory");
    }
    store_le64(buf, h.len);
    memcpy(buf + 8, h.s, h.len);
    free(h.s);
    unsigned char *p = buf + 8 + h.len;
    for (size_t i = 0; i < n; i++) {
        uint64_t nelem = 1;
        for (int d = 0; d < t[i].ndim; d++)
            nelem *= t[i].shape[d];
        for (uint64_t e = 0; e < nelem; e++) {
            uint32_t u;
            memcpy(&u, &t[i].data[e], 4);
            p[0] = (unsigned char)u;
            p[1] = (unsigned char)(u >> 8);
            p[2] = (unsigned char)(u >> 16);
            p[3] = (unsigned char)(u >> 24);
            p += 4;
        }
    }
    *out = buf;
    *out_len = total;
    return 0;
}

int ef_st_write_file(const char *path, const ef_st_out_t *t, size_t n, const ef_st_meta_t *meta,
                     size_t n_meta, ef_err_t *err)
{
    unsigned char *buf;
    size_t len;
    if (ef_st_serialize(t, n, meta, n_meta, &buf, &len, err) < 0)
        return ef_err_prefix(err, "%s", path);
    size_t plen = strlen(path);
    char *tmp = malloc(plen + 16);
    if (!tmp) {
        free(buf);
        return ef_err_set(err, "%s: out of memory", path);
    }
    memcpy(tmp, path, plen);
    memcpy(tmp + plen, ".tmp.XXXXXX", 12);
    int fd = mkstemp(tmp);
    if (fd < 0) {
        int e = errno;
        free(buf);
        free(tmp);
        return ef_err_set(err, "%s: cannot create a temporary file: %s", path, strerror(e));
    }
    size_t done = 0;
    int e = 0;
    while (done < len) {
        ssize_t w = write(fd, buf + done, len - done);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            e = errno;
            break;
        }
        done += (size_t)w;
    }
    free(buf);
    if (!e && fsync(fd) != 0)
        e = errno;
    if (close(fd) != 0 && !e)
        e = errno;
    /* mkstemp creates 0600; a model file is ordinary data. */
    if (!e && chmod(tmp, 0644) != 0)
        e = errno;
    if (!e && rename(tmp, path) != 0)
        e = errno;
    if (e) {
        unlink(tmp);
        free(tmp);
        return ef_err_set(err, "%s: write failed: %s", path, strerror(e));
    }
    free(tmp);
    return 0;
}

int ef_read_whole_file(const char *path, size_t max_len, unsigned char **out, size_t *out_len,
                       ef_err_t *err)
{
    *out = NULL;
    *out_len = 0;
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return ef_err_set(err, "%s: cannot open: %s", path, strerror(errno));
    size_t cap = 65536, len = 0;
    unsigned char *buf = malloc(cap);
    if (!buf) {
        fclose(fp);
        return ef_err_set(err, "%s: out of memory", path);
    }
    for (;;) {
        if (len == cap) {
            if (cap >= max_len + 1) {
                free(buf);
                fclose(fp);
                return ef_err_set(err, "%s: larger than the limit of %zu bytes", path, max_len);
            }
            size_t ncap = cap * 2 > max_len + 1 ? max_len + 1 : cap * 2;
            unsigned char *nb = realloc(buf, ncap);
            if (!nb) {
                free(buf);
                fclose(fp);
                return ef_err_set(err, "%s: out of memory", path);
            }
            buf = nb;
            cap = ncap;
        }
        size_t r = fread(buf + len, 1, cap - len, fp);
        len += r;
        if (r == 0)
            break;
    }
    int bad = ferror(fp);
    fclose(fp);
    if (bad) {
        free(buf);
        return ef_err_set(err, "%s: read error", path);
    }
    if (len > max_len) {
        free(buf);
        return ef_err_set(err, "%s: larger than the limit of %zu bytes", path, max_len);
    }
    *out = buf;
    *out_len = len;
    return 0;
}
