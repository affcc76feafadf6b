/* tools/convert_torch.py end to end (needs /usr/bin/python3 with torch;
 * the suite exits 77 = skipped without it): checkpoints saved by
 * torch.save(model.state_dict()) from the seed's four module layouts
 * (tools/make_parity_fixtures.py --checkpoint) convert, load in C and give
 * the probabilities PyTorch computed from the same raw packets; damaged or
 * mismatched checkpoints are refused with a message naming the problem. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eftest.h"
#include "nn/model.h"
#include "nn/safetensors.h"

#define PY "/usr/bin/python3"

static char *dir;

static void make_checkpoints(void)
{
    dir = eft_mkdtemp("convert");
    char *cmd, *err = NULL;
    ck_assert(asprintf(&cmd, PY " %s/tools/make_parity_fixtures.py --checkpoint %s",
                       EF_SOURCE_DIR, dir) > 0);
    int rc = eft_run(cmd, NULL, &err);
    ck_assert_msg(rc == 0, "%s: %s", cmd, err);
    free(cmd);
    free(err);
}

static void remove_checkpoints(void)
{
    eft_rmtree(dir);
    free(dir);
}

/* Run the converter with `args`; returns its exit status, stderr in *err. */
static int convert(const char *args, char **err)
{
    char *cmd;
    ck_assert(asprintf(&cmd, PY " %s/tools/convert_torch.py %s", EF_SOURCE_DIR, args) > 0);
    int rc = eft_run(cmd, NULL, err);
    free(cmd);
    return rc;
}

typedef struct expect {
    unsigned char *buf;
    size_t len;
    ef_st_file_t st;
} expect_t;

static float *tensor(const expect_t *e, const char *name, size_t *count)
{
    const ef_st_tensor_t *t = ef_st_find(&e->st, name);
    ck_assert_msg(t != NULL, "expect file lacks %s", name);
    float *v = malloc(t->nelem * sizeof *v);
    ef_st_read_f32(t, v);
    *count = t->nelem;
    return v;
}

static const char *const archs[] = {"mlp", "lstm", "bilstm", "seq2seq"};

START_TEST(converted_checkpoints_match_pytorch)
{
    const char *arch = archs[_i];
    char path[512];
    snprintf(path, sizeof path, "%s/%s-expect.safetensors", dir, arch);
    expect_t e;
    ef_err_t err;
    ck_assert(ef_read_whole_file(path, 1 << 20, &e.buf, &e.len, &err) == 0);
    ck_assert_msg(ef_st_parse(&e.st, e.buf, e.len, path, &err) == 0, "%s", err.msg);
    char *args, *errs = NULL;
    ck_assert(asprintf(&args, "%s/%s.pt --arch %s -k 5 --labels Unlabeled,HTTP,Alpha,Multi "
                       "--size-min %s --size-max %s --time-min %s --time-max %s "
                       "-o %s/%s.safetensors", dir, arch, arch,
                       ef_st_meta_get(&e.st, "size_min"), ef_st_meta_get(&e.st, "size_max"),
                       ef_st_meta_get(&e.st, "time_min"), ef_st_meta_get(&e.st, "time_max"),
                       dir, arch) > 0);
    ck_assert_msg(convert(args, &errs) == 0, "convert_torch.py %s: %s", args, errs);
    free(args);
    free(errs);
    snprintf(path, sizeof path, "%s/%s.safetensors", dir, arch);
    ef_model_t *m = ef_model_load_file(path, &err);
    ck_assert_msg(m != NULL, "%s", err.msg);
    char pt[64];
    snprintf(pt, sizeof pt, "%s.pt", arch);
    ck_assert_ptr_nonnull(ef_model_meta(m, "converted_from"));
    ck_assert_str_eq(ef_model_meta(m, "converted_from"), pt);
    size_t ns, nt, nn, np;
    float *sizes = tensor(&e, "sizes", &ns), *times = tensor(&e, "times", &nt);
    float *n = tensor(&e, "n", &nn), *probs = tensor(&e, "probs", &np);
    int K = ef_model_num_classes(m), k = ef_model_k(m);
    ck_assert_int_eq(K, 4);
    ck_assert_uint_eq(np, nn * (size_t)K);
    ef_model_scratch_t *s = ef_model_scratch_new(m, 1, &err);
    for (size_t b = 0; b < nn; b++) {
        float got[4];
        int cls = ef_model_predict(m, s, sizes + b * k, times + b * k, NULL, (int)n[b], got);
        int best = 0;
        for (int j = 0; j < K; j++) {
            ck_assert_msg(fabsf(got[j] - probs[b * K + j]) <= 1e-5f * fmaxf(1.0f, probs[b * K + j]),
                          "%s flow %zu class %d: C %.7f, PyTorch %.7f", arch, b, j, got[j],
                          probs[b * K + j]);
            if (probs[b * K + j] > probs[b * K + best])
                best = j;
        }
        ck_assert_int_eq(cls, best);
    }
    /* the CLI validates it too */
    char *cmd;
    ck_assert(asprintf(&cmd, "%s model info %s", eft_bin(), path) > 0);
    ck_assert_int_eq(eft_run(cmd, NULL, NULL), 0);
    free(cmd);
    ef_model_scratch_free(s);
    ef_model_free(m);
    free(sizes);
    free(times);
    free(n);
    free(probs);
    ef_st_release(&e.st);
    free(e.buf);
}
END_TEST

static void expect_refusal(const char *args, const char *msg)
{
    char *errs = NULL;
    int rc = convert(args, &errs);
    ck_assert_msg(rc == 1, "exit %d for %s (%s)", rc, args, errs);
    ck_assert_msg(errs && strstr(errs, msg), "args %s: stderr \"%s\" lacks \"%s\"", args, errs,
                  msg);
    free(errs);
}

#define PP "--size-min 5 --size-max 11 --time-min 0 --time-max 3"

START_TEST(bad_checkpoints_and_options_are_refused)
{
    char *a;
    /* a tensor missing from the checkpoint */
    char *cmd;
    ck_assert(asprintf(&cmd, PY " -c \"import torch; sd = torch.load('%s/lstm.pt'); "
                       "del sd['fc1.bias']; sd['encoder.rnn.weight_hh_l1'] = sd['encoder.rnn.weight_hh_l1'][:, :5]; "
                       "torch.save(sd, '%s/broken.pt')\"", dir, dir) > 0);
    ck_assert_int_eq(eft_run(cmd, NULL, NULL), 0);
    free(cmd);
    ck_assert(asprintf(&a, "%s/broken.pt --arch lstm -k 5 --labels a,b,c,d " PP " -o %s/x.st",
                       dir, dir) > 0);
    expect_refusal(a, "missing tensor fc1.bias [4]");
    expect_refusal(a, "tensor encoder.rnn.weight_hh_l1: shape [80, 5], expected [80, 20]");
    free(a);
    /* labels that do not match the classifier */
    ck_assert(asprintf(&a, "%s/lstm.pt --arch lstm -k 5 --labels a,b,c " PP " -o %s/x.st", dir,
                       dir) > 0);
    expect_refusal(a, "--labels names 3 classes, the checkpoint's fc1 has 4 outputs");
    free(a);
    /* dimensions given that the tensors contradict */
    ck_assert(asprintf(&a, "%s/bilstm.pt --arch bilstm -k 5 --hidden 32 --labels a,b,c,d " PP
                       " -o %s/x.st", dir, dir) > 0);
    expect_refusal(a, "--hidden 32, but the checkpoint's tensors say 20");
    free(a);
    /* the wrong architecture for the checkpoint */
    ck_assert(asprintf(&a, "%s/lstm.pt --arch bilstm -k 5 --labels a,b,c,d " PP " -o %s/x.st",
                       dir, dir) > 0);
    expect_refusal(a, "missing tensor forward_lstm.rnn.weight_hh_l0 (is this a bilstm checkpoint?)");
    free(a);
    /* no preprocessing constants */
    ck_assert(asprintf(&a, "%s/lstm.pt --arch lstm -k 5 --labels a,b,c,d -o %s/x.st", dir,
                       dir) > 0);
    expect_refusal(a, "give --size-min, --size-max, --time-min, --time-max");
    free(a);
    /* not a checkpoint at all */
    char *junk = eft_path(dir, "junk.pt");
    eft_write_file(junk, "not a pickle", 12);
    ck_assert(asprintf(&a, "%s --arch lstm -k 5 --labels a,b,c,d " PP " -o %s/x.st", junk,
                       dir) > 0);
    expect_refusal(a, "junk.pt: cannot load with torch.load");
    free(a);
    free(junk);
    /* nothing was written by any refusal */
    char *x = eft_path(dir, "x.st");
    ck_assert_ptr_null(eft_read_file(x, NULL));
    free(x);
}
END_TEST

int main(void)
{
    if (eft_run(PY " -c 'import torch'", NULL, NULL) != 0) {
        printf("test_convert_torch: skipped (" PY " cannot import torch)\n");
        return 77;
    }
    Suite *s = suite_create("convert_torch");
    TCase *tc = tcase_create("convert");
    tcase_set_timeout(tc, 120);
    tcase_add_unchecked_fixture(tc, make_checkpoints, remove_checkpoints);
    tcase_add_loop_test(tc, converted_checkpoints_match_pytorch, 0, 4);
    tcase_add_test(tc, bad_checkpoints_and_options_are_refused);
    suite_add_tcase(s, tc);
    return eft_run_suite(s);
}
