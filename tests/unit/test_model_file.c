/* Model files: a saved model loads back bit-exact; every kind of damage is
 * refused with a message naming the problem (asserted word for word), and
 * nothing crashes — truncation at every byte, hand-made hostile headers,
 * wrong shapes and dtypes, NaN/Inf, bad offsets, bad metadata. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eftest.h"
#include "nn/layout.h"
#include "nn/model.h"
#include "nn/model_file.h"
#include "nn/net.h"
#include "nn/rng.h"
#include "nn/safetensors.h"

/* ---- round trip ---- */

static ef_net_t *small_net(ef_arch_t arch, int k, int hidden)
{
    ef_net_config_t cfg;
    ef_net_config_default(&cfg, arch, k, 3);
    cfg.hidden = hidden;
    cfg.layers = 2;
    cfg.context = 2;
    ef_err_t err;
    ef_net_t *net = ef_net_new(&cfg, 4, &err);
    ck_assert_msg(net != NULL, "%s", err.msg);
    ef_net_init(net, EF_INIT_TORCH, 7);
    return net;
}

static const char *const labels3[] = {"Unlabeled", "HTTP", "Alpha"};

START_TEST(save_then_load_is_exact)
{
    char *dir = eft_mkdtemp("mf");
    char *path = eft_path(dir, "m.safetensors");
    for (int a = 0; a < EF_ARCH__COUNT; a++) {
        ef_net_t *net = small_net((ef_arch_t)a, 5, 6);
        ef_preproc_t pp = {5.321928f, 10.554589f, 0.0f, 3.4594316f, 0};
        ef_kv_t extra[] = {{"seed", "42"}, {"data_sha256", "abc"}, {"note", "quote \" and \\ ok"}};
        const char *const *labels = a == EF_ARCH_AUTOENC ? NULL : labels3;
        ef_err_t err;
        ck_assert_msg(ef_net_save(net, &pp, labels, extra, 3, path, &err) == 0, "%s", err.msg);
        ef_preproc_t pp2;
        ef_net_t *back = ef_net_load(path, 2, &pp2, &err);
        ck_assert_msg(back != NULL, "%s: %s", ef_arch_name((ef_arch_t)a), err.msg);
        ck_assert_uint_eq(ef_net_num_params(back), ef_net_num_params(net));
        ck_assert(memcmp(ef_net_params(back), ef_net_params(net),
                         ef_net_num_params(net) * sizeof(float)) == 0);
        ck_assert(memcmp(&pp, &pp2, sizeof pp) == 0);
        ck_assert_int_eq(ef_net_config(back)->arch, a);
        ef_model_file_t f;
        ck_assert_msg(ef_model_file_read(path, &f, &err) == 0, "%s", err.msg);
        ck_assert_str_eq(ef_model_file_meta(&f, "seed"), "42");
        ck_assert_str_eq(ef_model_file_meta(&f, "note"), "quote \" and \\ ok");
        ck_assert_str_eq(ef_model_file_meta(&f, "format"), "earlyflow-model");
        ck_assert_str_eq(ef_model_file_meta(&f, "arch"), ef_arch_name((ef_arch_t)a));
        ef_model_file_free(&f);
        ef_model_t *m = ef_model_load_file(path, &err);
        if (a == EF_ARCH_AUTOENC) {
            ck_assert_ptr_null(m);
            ck_assert_str_eq(err.msg, "m: an autoenc model is the SEQ pre-training network, not "
                             "a classifier (train a seq2seq model from it)");
        } else {
            ck_assert_msg(m != NULL, "%s", err.msg);
            ck_assert_str_eq(ef_model_name(m), "m");
            ck_assert_str_eq(ef_model_arch(m), ef_arch_name((ef_arch_t)a));
            ck_assert_int_eq(ef_model_k(m), 5);
            ck_assert_int_eq(ef_model_num_classes(m), 3);
            ck_assert_str_eq(ef_model_labels(m)[2], "Alpha");
            ck_assert_ptr_null(ef_model_labels(m)[3]);
            ck_assert_str_eq(ef_model_meta(m, "data_sha256"), "abc");
            ck_assert_ptr_null(ef_model_meta(m, "nope"));
            ef_model_free(m);
        }
        ef_net_free(back);
        ef_net_free(net);
    }
    free(path);
    eft_rmtree(dir);
    free(dir);
}
END_TEST

START_TEST(load_mem_equals_load_file)
{
    char *dir = eft_mkdtemp("mf");
    char *path = eft_path(dir, "x.safetensors");
    ef_net_t *net = small_net(EF_ARCH_BILSTM, 5, 20);
    ef_preproc_t pp = {5.0f, 11.0f, 0.0f, 3.0f, 0};
    ef_err_t err;
    ck_assert(ef_net_save(net, &pp, labels3, NULL, 0, path, &err) == 0);
    size_t len;
    char *bytes = eft_read_file(path, &len);
    ef_model_t *a = ef_model_load_file(path, &err), *b = ef_model_load_mem(bytes, len, "builtin_k5", &err);
    ck_assert(a && b);
    ck_assert_str_eq(ef_model_name(b), "builtin_k5");
    free(bytes); /* the model keeps its own copy */
    ef_model_scratch_t *sa = ef_model_scratch_new(a, 1, &err), *sb = ef_model_scratch_new(b, 1, &err);
    float size[5] = {60, 1500, 40, 52, 1400}, iat[5] = {0, 0.01f, 0.2f, 0.0001f, 3.0f};
    uint8_t d[5] = {1, 0, 1, 1, 0};
    float pa[3], pb[3];
    ck_assert_int_eq(ef_model_predict(a, sa, size, iat, d, 5, pa),
                     ef_model_predict(b, sb, size, iat, d, 5, pb));
    ck_assert(memcmp(pa, pb, sizeof pa) == 0);
    /* scratch of another model and n < 1 are refused */
    ck_assert_int_eq(ef_model_predict(a, sb, size, iat, d, 5, pa), -1);
    ck_assert_int_eq(ef_model_predict(a, sa, size, iat, d, 0, pa), -1);
    ef_model_scratch_free(sa);
    ef_model_scratch_free(sb);
    ef_model_free(a);
    ef_model_free(b);
    ef_net_free(net);
    free(path);
    eft_rmtree(dir);
    free(dir);
}
END_TEST

START_TEST(writer_refuses_what_the_loader_would)
{
    char *dir = eft_mkdtemp("mf");
    char *path = eft_path(dir, "w.safetensors");
    ef_net_t *net = small_net(EF_ARCH_LSTM, 3, 4);
    ef_preproc_t pp = {5.0f, 11.0f, 0.0f, 3.0f, 0};
    ef_err_t err;
    const char *comma[] = {"a", "b,c", "d"};
    ck_assert_int_eq(ef_net_save(net, &pp, comma, NULL, 0, path, &err), -1);
    ck_assert_str_eq(strstr(err.msg, "label"), "label 1 is missing, empty or holds a comma");
    ef_kv_t res[] = {{"k", "9"}};
    ck_assert_int_eq(ef_net_save(net, &pp, labels3, res, 1, path, &err), -1);
    ck_assert_ptr_nonnull(strstr(err.msg, "metadata key \"k\" is reserved"));
    ef_kv_t twice[] = {{"seed", "1"}, {"seed", "2"}};
    ck_assert_int_eq(ef_net_save(net, &pp, labels3, twice, 2, path, &err), -1);
    ck_assert_ptr_nonnull(strstr(err.msg, "metadata key \"seed\" given twice"));
    ef_kv_t bad_utf8[] = {{"note", "\xff"}};
    ck_assert_int_eq(ef_net_save(net, &pp, labels3, bad_utf8, 1, path, &err), -1);
    ck_assert_ptr_nonnull(strstr(err.msg, "not valid UTF-8"));
    ef_preproc_t unfitted;
    ef_preproc_fit_begin(&unfitted, 0);
    ck_assert_int_eq(ef_net_save(net, &unfitted, labels3, NULL, 0, path, &err), -1);
    ck_assert_ptr_nonnull(strstr(err.msg, "preprocessing constants"));
    ef_net_params(net)[3] = NAN;
    ck_assert_int_eq(ef_net_save(net, &pp, labels3, NULL, 0, path, &err), -1);
    ck_assert_ptr_nonnull(strstr(err.msg, "parameter 3 is not finite"));
    /* nothing was left behind, not even a temporary file */
    char *out = NULL;
    char *cmd;
    ck_assert(asprintf(&cmd, "ls -A '%s'", dir) > 0);
    ck_assert_int_eq(eft_run(cmd, &out, NULL), 0);
    ck_assert_str_eq(out, "");
    free(out);
    free(cmd);
    ef_net_free(net);
    free(path);
    eft_rmtree(dir);
    free(dir);
}
END_TEST

/* Batches: flows with no packets get class -1 and a zero row, n > k uses
 * the first k packets, on both batch paths; batch > max_batch is refused. */
START_TEST(batch_edge_cases)
{
    char *dir = eft_mkdtemp("mf");
    char *path = eft_path(dir, "b.safetensors");
    ef_net_t *net = small_net(EF_ARCH_BILSTM, 5, 20);
    ef_preproc_t pp = {5.0f, 11.0f, 0.0f, 3.0f, 1};
    ef_net_config_t cfg = *ef_net_config(net);
    cfg.features = 3;
    ef_net_t *net3 = ef_net_new(&cfg, 1, NULL);
    ef_net_init(net3, EF_INIT_TORCH, 5);
    ef_err_t err;
    ck_assert(ef_net_save(net3, &pp, labels3, NULL, 0, path, &err) == 0);
    ef_model_t *m = ef_model_load_file(path, &err);
    ck_assert_msg(m != NULL, "%s", err.msg);
    float size[4 * 5], iat[4 * 5];
    uint8_t d[4 * 5];
    for (int i = 0; i < 20; i++) {
        size[i] = 60.0f + 50.0f * (float)i;
        iat[i] = 0.01f * (float)i;
        d[i] = (uint8_t)(i & 1);
    }
    int n[4] = {0, 9, -3, 2};
    for (int p = EF_MODEL_BATCH_CELLS; p <= EF_MODEL_BATCH_BLAS; p++) {
        ef_model_set_batch_path(m, (ef_model_batch_path_t)p);
        ef_model_scratch_t *s = ef_model_scratch_new(m, 4, &err);
        float probs[4 * 3], one[3];
        int cls[4];
        ck_assert_int_eq(ef_model_predict_batch(m, s, 4, size, iat, d, n, probs, cls), 0);
        ck_assert_int_eq(cls[0], -1);
        ck_assert_int_eq(cls[2], -1);
        for (int j = 0; j < 3; j++)
            ck_assert(probs[j] == 0.0f && probs[6 + j] == 0.0f);
        /* 9 packets = the first 5 */
        ck_assert_int_eq(ef_model_predict(m, s, size + 5, iat + 5, d + 5, 5, one), cls[1]);
        for (int j = 0; j < 3; j++)
            ck_assert(fabsf(one[j] - probs[3 + j]) < 1e-6f);
        ck_assert_int_eq(ef_model_predict(m, s, size + 15, iat + 15, d + 15, 2, one), cls[3]);
        ck_assert_int_eq(ef_model_predict_batch(m, s, 5, size, iat, d, n, probs, cls), -1);
        ef_model_scratch_free(s);
    }
    ef_model_free(m);
    ef_net_free(net);
    ef_net_free(net3);
    free(path);
    eft_rmtree(dir);
    free(dir);
}
END_TEST

/* ---- truncation ---- */

START_TEST(truncation_at_every_byte_is_refused)
{
    char *dir = eft_mkdtemp("mf");
    char *path = eft_path(dir, "t.safetensors");
    ef_net_t *net = small_net(EF_ARCH_BILSTM, 3, 3);
    ef_preproc_t pp = {5.0f, 11.0f, 0.0f, 3.0f, 1};
    ef_net_config_t cfg = *ef_net_config(net);
    cfg.features = 3;
    ef_net_t *net3 = ef_net_new(&cfg, 1, NULL);
    ef_net_init(net3, EF_INIT_TORCH, 1);
    ef_err_t err;
    ck_assert_msg(ef_net_save(net3, &pp, labels3, NULL, 0, path, &err) == 0, "%s", err.msg);
    size_t len;
    unsigned char *bytes = (unsigned char *)eft_read_file(path, &len);
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--)
        hlen = hlen << 8 | bytes[i];
    ef_model_t *ok = ef_model_load_mem(bytes, len, "t", &err);
    ck_assert_msg(ok != NULL, "%s", err.msg);
    ef_model_free(ok);
    for (size_t cut = 0; cut < len; cut++) {
        /* a fresh copy of exactly `cut` bytes, so tools like ASan see overreads */
        unsigned char *part = malloc(cut ? cut : 1);
        memcpy(part, bytes, cut);
        ef_model_t *m = ef_model_load_mem(part, cut, "t", &err);
        ck_assert_msg(m == NULL, "accepted a file cut at %zu of %zu bytes", cut, len);
        char want[160];
        if (cut < 8)
            snprintf(want, sizeof want, "t: %zu bytes, too short for a safetensors file", cut);
        else if (cut < 8 + hlen)
            snprintf(want, sizeof want, "t: header length %llu runs past the end of the file "
                     "(%zu bytes)", (unsigned long long)hlen, cut);
        else if (cut == 8 + hlen)
            snprintf(want, sizeof want, "t: tensor forward_lstm.rnn.weight_ih_l0: data_offsets");
        else
            snprintf(want, sizeof want, "t: tensor ");
        ck_assert_msg(strncmp(err.msg, want, strlen(want)) == 0, "cut %zu: \"%s\"", cut, err.msg);
        if (cut > 8 + hlen)
            ck_assert_msg(strstr(err.msg, "run past the data section"), "cut %zu: %s", cut,
                          err.msg);
        free(part);
    }
    free(bytes);
    ef_net_free(net);
    ef_net_free(net3);
    free(path);
    eft_rmtree(dir);
    free(dir);
}
END_TEST

/* ---- hand-made files ----
 * The smallest model: mlp, k=1, 2 features, hidden 1, 1 layer, 2 classes:
 * fc1.weight [1,2], fc1.bias [1], fc2.weight [2,1], fc2.bias [2] = 7 floats. */

typedef struct kv {
    const char *key, *json; /* json: the value as written (NULL: drop the key) */
} kv_t;

static const kv_t base_meta[] = {
    {"format", "\"earlyflow-model\""}, {"format_version", "\"1\""}, {"arch", "\"mlp\""},
    {"k", "\"1\""}, {"features", "\"2\""}, {"hidden", "\"1\""}, {"layers", "\"1\""},
    {"context", "\"3\""}, {"classes", "\"2\""}, {"labels", "\"Unlabeled,HTTP\""},
    {"size_min", "\"5\""}, {"size_max", "\"11\""}, {"time_min", "\"0\""},
    {"time_max", "\"3.5\""}, {"use_dir", "\"0\""},
};
#define N_META (sizeof base_meta / sizeof base_meta[0])

static const char *base_tensors =
    "\"fc1.weight\":{\"dtype\":\"F32\",\"shape\":[1,2],\"data_offsets\":[0,8]},"
    "\"fc1.bias\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]},"
    "\"fc2.weight\":{\"dtype\":\"F32\",\"shape\":[2,1],\"data_offsets\":[12,20]},"
    "\"fc2.bias\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[20,28]}";

static const float base_data[7] = {0.5f, -0.25f, 0.1f, 1.0f, -1.0f, 0.2f, -0.2f};

/* Build a file: metadata = base with `over` applied (replace or drop a key,
 * or add one), tensors JSON, data. */
static unsigned char *build(const kv_t *over, const char *tensors, const void *data, size_t dlen,
                            size_t *out_len)
{
    char header[4096];
    size_t at = (size_t)snprintf(header, sizeof header, "{\"__metadata__\":{");
    int first = 1, used = 0;
    for (size_t i = 0; i < N_META; i++) {
        const char *v = base_meta[i].json;
        if (over && !strcmp(over->key, base_meta[i].key)) {
            v = over->json;
            used = 1;
        }
        if (!v)
            continue;
        at += (size_t)snprintf(header + at, sizeof header - at, "%s\"%s\":%s", first ? "" : ",",
                               base_meta[i].key, v);
        first = 0;
    }
    if (over && !used && over->json)
        at += (size_t)snprintf(header + at, sizeof header - at, ",\"%s\":%s", over->key,
                               over->json);
    at += (size_t)snprintf(header + at, sizeof header - at, "},%s}", tensors);
    unsigned char *buf = malloc(8 + at + dlen);
    for (int i = 0; i < 8; i++)
        buf[i] = (unsigned char)((uint64_t)at >> (8 * i));
    memcpy(buf + 8, header, at);
    memcpy(buf + 8 + at, data, dlen);
    *out_len = 8 + at + dlen;
    return buf;
}

static void expect_refused(unsigned char *buf, size_t len, const char *msg)
{
    ef_err_t err;
    memset(&err, 0, sizeof err);
    ef_model_t *m = ef_model_load_mem(buf, len, "m.safetensors", &err);
    ck_assert_msg(m == NULL, "accepted; expected: %s", msg);
    ck_assert_msg(strcmp(err.msg, msg) == 0, "got      \"%s\"\nexpected \"%s\"", err.msg, msg);
    free(buf);
}

START_TEST(the_base_file_is_valid)
{
    size_t len;
    unsigned char *buf = build(NULL, base_tensors, base_data, sizeof base_data, &len);
    ef_err_t err;
    ef_model_t *m = ef_model_load_mem(buf, len, "m.safetensors", &err);
    ck_assert_msg(m != NULL, "%s", err.msg);
    ef_model_scratch_t *s = ef_model_scratch_new(m, 1, &err);
    float size = 100, iat = 0, probs[2];
    ck_assert_int_ge(ef_model_predict(m, s, &size, &iat, NULL, 1, probs), 0);
    ck_assert(fabsf(probs[0] + probs[1] - 1.0f) < 1e-6f);
    ef_model_scratch_free(s);
    ef_model_free(m);
    free(buf);
}
END_TEST

START_TEST(every_missing_metadata_key_is_named)
{
    kv_t drop = {base_meta[_i].key, NULL};
    size_t len;
    unsigned char *buf = build(&drop, base_tensors, base_data, sizeof base_data, &len);
    char want[128];
    snprintf(want, sizeof want, "m.safetensors: missing __metadata__ key \"%s\"",
             base_meta[_i].key);
    expect_refused(buf, len, want);
}
END_TEST

static const struct {
    kv_t over;
    const char *msg;
} bad_meta[] = {
    {{"format", "\"gguf\""}, "m.safetensors: format \"gguf\", expected \"earlyflow-model\""},
    {{"format_version", "\"2\""},
     "m.safetensors: format_version \"2\" is not supported (this build reads version 1)"},
    {{"arch", "\"transformer\""}, "m.safetensors: unknown arch \"transformer\""},
    {{"k", "\"25\""}, "m.safetensors: k 25 out of range 1..20"},
    {{"k", "\"0\""}, "m.safetensors: k 0 out of range 1..20"},
    {{"k", "\"five\""}, "m.safetensors: metadata k \"five\" is not an integer"},
    {{"k", "\" 1\""}, "m.safetensors: metadata k \" 1\" is not an integer"},
    {{"k", "\"\""}, "m.safetensors: metadata k \"\" is not an integer"},
    {{"k", "\"99999999999999999999\""},
     "m.safetensors: metadata k \"99999999999999999999\" is out of range"},
    {{"k", "5"}, "m.safetensors: __metadata__ value of \"k\" is a JSON number, expected a string"},
    {{"hidden", "\"100000\""}, "m.safetensors: hidden 100000 out of range 1..256"},
    {{"layers", "\"9\""}, "m.safetensors: layers 9 out of range 1..8"},
    {{"context", "\"-1\""}, "m.safetensors: context -1 out of range 1..64"},
    {{"classes", "\"1\""}, "m.safetensors: classes 1 out of range 2..64"},
    {{"features", "\"7\""}, "m.safetensors: features 7 out of range 2..3"},
    {{"features", "\"3\""}, "m.safetensors: features 3 but use_dir 0 (expected features 2)"},
    {{"use_dir", "\"2\""}, "m.safetensors: metadata use_dir 2, expected 0 or 1"},
    {{"labels", "\"Unlabeled,HTTP,Alpha\""}, "m.safetensors: labels lists 3 names, classes is 2"},
    {{"labels", "\"Unlabeled\""}, "m.safetensors: labels lists 1 names, classes is 2"},
    {{"labels", "\"Unlabeled,\""}, "m.safetensors: labels: name 2 is empty"},
    {{"labels", "\"HTTP,HTTP\""}, "m.safetensors: labels: \"HTTP\" appears twice"},
    {{"size_min", "\"nan\""}, "m.safetensors: metadata size_min \"nan\" is not a finite float"},
    {{"size_max", "\"1e999\""}, "m.safetensors: metadata size_max \"1e999\" is not a finite float"},
    {{"time_min", "\"0,5\""}, "m.safetensors: metadata time_min \"0,5\" is not a number"},
    {{"time_max", "\"-1\""}, "m.safetensors: time_min 0 is above time_max -1"},
    {{"size_min", "\"12\""}, "m.safetensors: size_min 12 is above size_max 11"},
    {{"labels", "\"a\\u0000b,c\""}, "m.safetensors: __metadata__ entry \"labels\" holds a NUL character"},
};

START_TEST(bad_metadata_is_refused)
{
    size_t len;
    unsigned char *buf = build(&bad_meta[_i].over, base_tensors, base_data, sizeof base_data, &len);
    expect_refused(buf, len, bad_meta[_i].msg);
}
END_TEST

#define T1W "\"fc1.weight\":{\"dtype\":\"F32\",\"shape\":[1,2],\"data_offsets\":[0,8]},"
#define T1B "\"fc1.bias\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]},"
#define T2W_ "\"fc2.weight\":{\"dtype\":\"F32\",\"shape\":[2,1],\"data_offsets\":[12,20]}"
#define T2W T2W_ ","
#define T2B "\"fc2.bias\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[20,28]}"

static const struct {
    const char *tensors;
    size_t dlen; /* bytes of base_data to append (0: all 28) */
    const char *msg;
} bad_tensors[] = {
    {T1W T1B T2W_, 20, "m.safetensors: missing tensor fc2.bias"},
    {T1W T1B T2W T2B ",\"extra\":{\"dtype\":\"F32\",\"shape\":[],\"data_offsets\":[28,32]}", 32,
     "m.safetensors: unexpected tensor extra (not part of a mlp model)"},
    {"\"fc1.weight\":{\"dtype\":\"F32\",\"shape\":[2,1],\"data_offsets\":[0,8]}," T1B T2W T2B, 0,
     "m.safetensors: tensor fc1.weight: shape [2,1], expected [1,2]"},
    {"\"fc1.weight\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}," T1B T2W T2B, 0,
     "m.safetensors: tensor fc1.weight: shape [2], expected [1,2]"},
    {"\"fc1.weight\":{\"dtype\":\"F16\",\"shape\":[1,4],\"data_offsets\":[0,8]}," T1B T2W T2B, 0,
     "m.safetensors: tensor fc1.weight: dtype F16, expected F32"},
    {"\"fc1.weight\":{\"dtype\":\"F33\",\"shape\":[1,2],\"data_offsets\":[0,8]}," T1B T2W T2B, 0,
     "m.safetensors: tensor fc1.weight: unknown dtype \"F33\""},
    {"\"fc1.weight\":{\"dtype\":32,\"shape\":[1,2],\"data_offsets\":[0,8]}," T1B T2W T2B, 0,
     "m.safetensors: tensor fc1.weight: unknown dtype number"},
    {"\"fc1.weight\":{\"dtype\":\"F32\",\"shape\":[1,2],\"data_offsets\":[0,12]}," T1B T2W T2B, 0,
     "m.safetensors: tensor fc1.weight: data_offsets [0,12] hold 12 bytes, dtype F32 x 2 "
     "elements need 8"},
    {"\"fc1.weight\":{\"dtype\":\"F32\",\"shape\":[1,2],\"data_offsets\":[8,0]}," T1B T2W T2B, 0,
     "m.safetensors: tensor fc1.weight: data_offsets [8,0] end before begin"},
    {"\"fc1.weight\":{\"dtype\":\"F32\",\"shape\":[1,2],\"data_offsets\":[1000,1008]}," T1B T2W
     T2B, 0, "m.safetensors: tensor fc1.weight: data_offsets [1000,1008] run past the data "
     "section (28 bytes)"},
    {"\"fc1.weight\":{\"dtype\":\"F32\",\"shape\":[1,2],\"data_offsets\":[18446744073709551608,"
     "18446744073709551615]}," T1B T2W T2B, 0,
     "m.safetensors: tensor fc1.weight: data_offsets [18446744073709551608,18446744073709551615] "
     "run past the data section (28 bytes)"},
    {"\"fc1.weight\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296,4294967296],"
     "\"data_offsets\":[0,8]}," T1B T2W T2B, 0, "m.safetensors: tensor fc1.weight: shape overflows"},
    {"\"fc1.weight\":{\"dtype\":\"F32\",\"shape\":[1,-2],\"data_offsets\":[0,8]}," T1B T2W T2B, 0,
     "m.safetensors: tensor fc1.weight: shape must be an array of at most 8 non-negative integers"},
    {"\"fc1.weight\":{\"dtype\":\"F32\",\"shape\":[1,2],\"data_offsets\":[0]}," T1B T2W T2B, 0,
     "m.safetensors: tensor fc1.weight: data_offsets must be [begin, end] (two non-negative "
     "integers)"},
    {"\"fc1.weight\":{\"dtype\":\"F32\",\"shape\":[1,2]}," T1B T2W T2B, 0,
     "m.safetensors: tensor fc1.weight: missing field \"data_offsets\""},
    {"\"fc1.weight\":{\"dtype\":\"F32\",\"shape\":[1,2],\"data_offsets\":[0,8],\"x\":1}," T1B T2W
     T2B, 0, "m.safetensors: tensor fc1.weight: unknown field \"x\""},
    {"\"fc1.weight\":[0,8]," T1B T2W T2B, 0,
     "m.safetensors: tensor fc1.weight: entry is a JSON array, expected an object"},
    /* overlap: fc1.bias reads the second weight float again */
    {T1W "\"fc1.bias\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]},"
         "\"fc2.weight\":{\"dtype\":\"F32\",\"shape\":[2,1],\"data_offsets\":[8,16]},"
         "\"fc2.bias\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[16,24]}", 24,
     "m.safetensors: tensor fc1.bias: data_offsets [4,8] overlap tensor fc1.weight"},
    {T1W "\"fc1.bias\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[12,16]},"
         "\"fc2.weight\":{\"dtype\":\"F32\",\"shape\":[2,1],\"data_offsets\":[16,24]},"
         "\"fc2.bias\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[24,32]}", 32,
     "m.safetensors: tensor fc1.bias: data_offsets [12,16] leave a gap of 4 bytes before them"},
    {T1W T1B T2W T2B, 32, "m.safetensors: 4 bytes of data after the last tensor"},
    {T1W T1B T2W "\"fc1.bias\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}", 0, "m.safetensors: header: byte 0: duplicate key \"fc1.bias\" in object"},
};

START_TEST(bad_tensors_are_refused)
{
    size_t len;
    float data[8];
    memcpy(data, base_data, sizeof base_data);
    data[7] = 9.0f;
    size_t dlen = bad_tensors[_i].dlen ? bad_tensors[_i].dlen : sizeof base_data;
    unsigned char *buf = build(NULL, bad_tensors[_i].tensors, data, dlen, &len);
    expect_refused(buf, len, bad_tensors[_i].msg);
}
END_TEST

START_TEST(nan_and_inf_weights_are_refused)
{
    float data[7];
    size_t len;
    memcpy(data, base_data, sizeof data);
    data[4] = NAN; /* fc2.weight element 1 */
    {
        unsigned char *b_ = build(NULL, base_tensors, data, sizeof data, &len);
        expect_refused(b_, len, "m.safetensors: tensor fc2.weight: element 1 is NaN");
    }
    memcpy(data, base_data, sizeof data);
    data[6] = -INFINITY; /* fc2.bias element 1 */
    {
        unsigned char *b_ = build(NULL, base_tensors, data, sizeof data, &len);
        expect_refused(b_, len, "m.safetensors: tensor fc2.bias: element 1 is infinite");
    }
}
END_TEST

static unsigned char *raw(uint64_t hlen, const char *header, size_t *len)
{
    size_t n = strlen(header);
    unsigned char *b = malloc(8 + n);
    for (int i = 0; i < 8; i++)
        b[i] = (unsigned char)(hlen >> (8 * i));
    memcpy(b + 8, header, n);
    *len = 8 + n;
    return b;
}

START_TEST(hostile_headers_are_refused)
{
    size_t len;
    {
        unsigned char *b_ = raw((uint64_t)1 << 40, "{}", &len);
        expect_refused(b_, len, "m.safetensors: header length 1099511627776 exceeds the limit of 1048576 bytes");
    }
    {
        unsigned char *b_ = raw(UINT64_MAX, "{}", &len);
        expect_refused(b_, len, "m.safetensors: header length 18446744073709551615 exceeds the limit of "
                   "1048576 bytes");
    }
    {
        unsigned char *b_ = raw(100, "{}", &len);
        expect_refused(b_, len, "m.safetensors: header length 100 runs past the end of the file (10 bytes)");
    }
    {
        unsigned char *b_ = raw(3, "[1]", &len);
        expect_refused(b_, len, "m.safetensors: header does not start with a JSON object");
    }
    {
        unsigned char *b_ = raw(0, "", &len);
        expect_refused(b_, len, "m.safetensors: header does not start with a JSON object");
    }
    {
        unsigned char *b_ = raw(6, "{\"a\":}", &len);
        expect_refused(b_, len, "m.safetensors: header: byte 5: expected a JSON value");
    }
    {
        unsigned char *b_ = raw(2, "{}", &len);
        expect_refused(b_, len, "m.safetensors: no __metadata__ (not an earlyflow model file)");
    }
    {
        unsigned char *b_ = raw(18, "{\"__metadata__\":1}", &len);
        expect_refused(b_, len, "m.safetensors: __metadata__ is a JSON number, expected an object");
    }
    {
        unsigned char *b_ = raw(37, "{\"__metadata__\":{\"a\":{\"b\":{\"c\":{}}}}}", &len);
        expect_refused(b_, len, "m.safetensors: header: byte 31: nesting too deep");
    }
    /* a 1 MiB header of one deep array: bounded, refused, no crash */
    size_t n = (size_t)1 << 20;
    char *deep = malloc(n + 1);
    memset(deep, '[', n);
    deep[0] = '{';
    deep[n] = '\0';
    {
        unsigned char *b_ = raw(n, deep, &len);
        expect_refused(b_, len, "m.safetensors: header: byte 1: expected a string key in object");
    }
    free(deep);
    expect_refused(malloc(1), 0,
                   "m.safetensors: 0 bytes, too short for a safetensors file (8-byte header "
                   "length missing)");
}
END_TEST

START_TEST(files_that_cannot_be_read)
{
    ef_err_t err;
    ck_assert_ptr_null(ef_model_load_file("/nonexistent/x.safetensors", &err));
    ck_assert_str_eq(err.msg, "/nonexistent/x.safetensors: cannot open: No such file or directory");
    ck_assert_ptr_null(ef_model_load_file("/", &err));
    ck_assert_ptr_nonnull(strstr(err.msg, "/: "));
}
END_TEST

START_TEST(load_matching_carries_pretraining_over)
{
    char *dir = eft_mkdtemp("mf");
    char *path = eft_path(dir, "ae.safetensors");
    ef_net_t *ae = small_net(EF_ARCH_AUTOENC, 5, 6);
    ef_net_t *seq = small_net(EF_ARCH_SEQ2SEQ, 5, 6);
    ef_net_init(seq, EF_INIT_TORCH, 99);
    ef_preproc_t pp = {5.0f, 11.0f, 0.0f, 3.0f, 0};
    ef_err_t err;
    ck_assert_msg(ef_net_save(ae, &pp, NULL, NULL, 0, path, &err) == 0, "%s", err.msg);
    int copied = ef_net_load_matching(seq, path, &err);
    /* encoder: 2 layers x 4 tensors, plus mlp1.fc1.{weight,bias} */
    ck_assert_int_eq(copied, 10);
    for (int i = 0; i < ef_net_num_tensors(seq); i++) {
        const ef_tensor_info_t *t = ef_net_tensor(seq, i);
        size_t cnt = (size_t)t->shape[0] * (size_t)(t->ndim > 1 ? t->shape[1] : 1);
        int j;
        for (j = 0; j < ef_net_num_tensors(ae); j++)
            if (!strcmp(ef_net_tensor(ae, j)->name, t->name))
                break;
        int same = j < ef_net_num_tensors(ae) &&
                   memcmp(ef_net_params(seq) + t->offset,
                          ef_net_params(ae) + ef_net_tensor(ae, j)->offset, cnt * 4) == 0;
        ck_assert_msg(same == (strncmp(t->name, "fc1", 3) != 0), "%s", t->name);
    }
    /* a classifier of another hidden size refuses the file by name */
    ef_net_t *other = small_net(EF_ARCH_SEQ2SEQ, 5, 8);
    ck_assert_int_eq(ef_net_load_matching(other, path, &err), -1);
    ck_assert_ptr_nonnull(strstr(err.msg, "tensor encoder.rnn.weight_ih_l0: shape [24,2] in the "
                                          "file, [32,2] in the model being trained"));
    ef_net_free(other);
    ef_net_free(ae);
    ef_net_free(seq);
    free(path);
    eft_rmtree(dir);
    free(dir);
}
END_TEST

/* ---- earlyflow model info ---- */

START_TEST(cli_model_info_prints_and_validates)
{
    char *dir = eft_mkdtemp("mf");
    char *path = eft_path(dir, "cli.safetensors");
    ef_net_t *net = small_net(EF_ARCH_SEQ2SEQ, 5, 6);
    ef_preproc_t pp = {5.5f, 10.5f, 0.0f, 3.25f, 0};
    ef_kv_t extra[] = {{"data_sha256", "0123abcd"}};
    ef_err_t err;
    ck_assert(ef_net_save(net, &pp, labels3, extra, 1, path, &err) == 0);
    char *cmd, *out = NULL, *errs = NULL;
    ck_assert(asprintf(&cmd, "%s model info %s", eft_bin(), path) > 0);
    ck_assert_int_eq(eft_run(cmd, &out, &errs), 0);
    ck_assert_ptr_nonnull(strstr(out, "arch:         seq2seq\n"));
    ck_assert_ptr_nonnull(strstr(out, "classes:      3 (Unlabeled,HTTP,Alpha)\n"));
    ck_assert_ptr_nonnull(strstr(out, "size' = (log2(size) - 5.5) / (10.5 - 5.5)"));
    ck_assert_ptr_nonnull(strstr(out, "  data_sha256            0123abcd\n"));
    ck_assert_ptr_nonnull(strstr(out, "  mlp1.fc1.weight                    [8,24]          192\n"));
    char want[64];
    snprintf(want, sizeof want, "parameters:   %zu\n", ef_net_num_params(net));
    ck_assert_ptr_nonnull(strstr(out, want));
    ck_assert_ptr_nonnull(strstr(out, "valid:        yes (loads for inference)\n"));
    free(cmd);
    free(out);
    free(errs);
    /* a damaged copy: exit 1 and the loader's message */
    size_t len;
    char *bytes = eft_read_file(path, &len);
    /* the last float becomes 0x7fc00000 = NaN (little endian) */
    bytes[len - 4] = 0;
    bytes[len - 3] = 0;
    bytes[len - 2] = (char)0xc0;
    bytes[len - 1] = 0x7f;
    char *bad = eft_path(dir, "bad.safetensors");
    eft_write_file(bad, bytes, len);
    ck_assert(asprintf(&cmd, "%s model info %s", eft_bin(), bad) > 0);
    out = errs = NULL;
    ck_assert_int_eq(eft_run(cmd, &out, &errs), 1);
    char msg[512];
    snprintf(msg, sizeof msg, "earlyflow: %s: tensor fc1.bias: element 2 is NaN\n", bad);
    ck_assert_str_eq(errs, msg);
    free(cmd);
    free(out);
    free(errs);
    /* usage */
    ck_assert(asprintf(&cmd, "%s model", eft_bin()) > 0);
    ck_assert_int_eq(eft_run(cmd, NULL, NULL), 2);
    free(cmd);
    ck_assert(asprintf(&cmd, "%s model --help", eft_bin()) > 0);
    out = NULL;
    ck_assert_int_eq(eft_run(cmd, &out, NULL), 0);
    ck_assert_ptr_nonnull(strstr(out, "usage: earlyflow model info FILE"));
    free(out);
    free(cmd);
    free(bytes);
    free(bad);
    ef_net_free(net);
    free(path);
    eft_rmtree(dir);
    free(dir);
}
END_TEST

/* The file-size limit admits every valid model: the largest layout (every
 * dimension at its limit) plus a generous header fits. */
START_TEST(largest_layout_fits_the_file_limit)
{
    size_t largest = 0;
    for (int a = 0; a < EF_ARCH__COUNT; a++) {
        ef_net_config_t c = {(ef_arch_t)a, EF_K_MAX, 3, EF_NET_MAX_HIDDEN, EF_NET_MAX_LAYERS,
                             EF_NET_MAX_CONTEXT, a == EF_ARCH_AUTOENC ? 0 : EF_NET_MAX_CLASSES};
        ef_layout_t l;
        ef_err_t err;
        ck_assert_msg(ef_layout_build(&c, &l, &err) == 0, "%s", err.msg);
        if (l.total > largest)
            largest = l.total;
    }
    ck_assert_uint_gt(largest * 4, EF_MODEL_MAX_FILE / 2); /* the limit is not loose */
    ck_assert_uint_le(largest * 4 + (1 << 20), EF_MODEL_MAX_FILE);
}
END_TEST

/* Seeded random damage (bytes overwritten, mostly in the header where the
 * structure is): every result is a loaded model or a refusal with a
 * message; nothing crashes (run under ASan/UBSan in CI). */
START_TEST(random_damage_is_refused_or_harmless)
{
    char *dir = eft_mkdtemp("mf");
    char *path = eft_path(dir, "r.safetensors");
    ef_net_t *net = small_net(EF_ARCH_BIGRU, 3, 3);
    ef_preproc_t pp = {5.0f, 11.0f, 0.0f, 3.0f, 0};
    ef_err_t err;
    ck_assert(ef_net_save(net, &pp, labels3, NULL, 0, path, &err) == 0);
    size_t len;
    unsigned char *orig = (unsigned char *)eft_read_file(path, &len);
    size_t hlen = 0;
    for (int i = 7; i >= 0; i--)
        hlen = hlen << 8 | orig[i];
    ef_rng_t r;
    ef_rng_seed(&r, 2024);
    unsigned char *buf = malloc(len);
    int loaded = 0, refused = 0;
    static const char pool[] = "{}[],:\"0123456789-.eE\\ ntfu";
    for (int it = 0; it < 3000; it++) {
        memcpy(buf, orig, len);
        int edits = 1 + (int)ef_rng_below(&r, 4);
        for (int e = 0; e < edits; e++) {
            size_t at = ef_rng_below(&r, 4) ? 8 + ef_rng_below(&r, hlen) : ef_rng_below(&r, len);
            buf[at] = ef_rng_below(&r, 2) ? (unsigned char)pool[ef_rng_below(&r, sizeof pool - 1)]
                                          : (unsigned char)ef_rng_next(&r);
        }
        size_t cut = ef_rng_below(&r, 8) ? len : ef_rng_below(&r, len);
        err.msg[0] = '\0';
        ef_model_t *m = ef_model_load_mem(buf, cut, "r", &err);
        if (m) {
            ef_model_scratch_t *s = ef_model_scratch_new(m, 1, &err);
            float size[3] = {60, 600, 1400}, iat[3] = {0, 0.1f, 1}, probs[64];
            ck_assert_int_ge(ef_model_predict(m, s, size, iat, NULL, 3, probs), 0);
            ef_model_scratch_free(s);
            ef_model_free(m);
            loaded++;
        } else {
            ck_assert_msg(strncmp(err.msg, "r: ", 3) == 0, "iteration %d: \"%s\"", it, err.msg);
            refused++;
        }
    }
    ck_assert_int_gt(refused, 1000); /* the damage does hit the structure */
    free(buf);
    free(orig);
    ef_net_free(net);
    free(path);
    eft_rmtree(dir);
    free(dir);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("model_file");
    TCase *tc = tcase_create("file");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, save_then_load_is_exact);
    tcase_add_test(tc, load_mem_equals_load_file);
    tcase_add_test(tc, batch_edge_cases);
    tcase_add_test(tc, writer_refuses_what_the_loader_would);
    tcase_add_test(tc, truncation_at_every_byte_is_refused);
    tcase_add_test(tc, the_base_file_is_valid);
    tcase_add_loop_test(tc, every_missing_metadata_key_is_named, 0, (int)N_META);
    tcase_add_loop_test(tc, bad_metadata_is_refused, 0,
                        (int)(sizeof bad_meta / sizeof bad_meta[0]));
    tcase_add_loop_test(tc, bad_tensors_are_refused, 0,
                        (int)(sizeof bad_tensors / sizeof bad_tensors[0]));
    tcase_add_test(tc, nan_and_inf_weights_are_refused);
    tcase_add_test(tc, hostile_headers_are_refused);
    tcase_add_test(tc, files_that_cannot_be_read);
    tcase_add_test(tc, load_matching_carries_pretraining_over);
    tcase_add_test(tc, cli_model_info_prints_and_validates);
    tcase_add_test(tc, largest_layout_fits_the_file_limit);
    tcase_add_test(tc, random_damage_is_refused_or_harmless);
    suite_add_tcase(s, tc);
    return eft_run_suite(s);
}
