/* test_rules.c — the training rules around the layers, as docs/spec.md states them (issue 15):
 * l2 reaches BatchNorm's gain and shift, `params: weights` counts embedding tables,
 * `variance: pytorch`, the warm-up and running-std formulas, and init_from's vocabulary
 * check.  tests/parity/rules.py compares the same rules with PyTorch over whole runs. */
#include "testutil.h"

#include <jansson.h>
#include <math.h>

#include "ir/build.h"
#include "kernels/kernels.h"
#include "runtime/exec/plan.h"
#include "runtime/store/safetensors.h"
#include "runtime/train/train.h"

#define ROWS 6
#define FEAT 3
#define VOCAB 5
#define CTX 2

static char tmp[256];

static int setup(void **state)
{
    (void)state;
    return tu_mkdtemp(tmp, sizeof tmp, "/tmp/nnrun-rules-XXXXXX");
}

static int teardown(void **state)
{
    (void)state;
    return tu_rmtree(tmp);
}

static nn_layer layer(nn_layer_kind k)
{
    nn_layer l = {.kind = k, .mark = {"rules.yaml", 1, 1}};
    if (k == NN_LAYER_BATCHNORM) l.eps = 1e-5, l.momentum = 0.1;
    return l;
}

static nn_spec spec_of(nn_layer *layers, int n, nn_loss_kind loss)
{
    nn_spec s;
    memset(&s, 0, sizeof s);
    s.path = "rules.yaml";
    s.layers = layers;
    s.nlayers = n;
    s.train.loss = loss;
    return s;
}

typedef struct {
    nn_graph *g;
    nn_params *P;
    nn_plan *p;
} net;

/* The graph of `s` on fixed inputs (features, or token ids with features 0) and fixed
 * parameters (so two specs that differ only in l2 start from the same point), after one
 * forward and backward pass. */
static void net_run(net *m, const nn_spec *s, int features, int training)
{
    nn_diag *d = nn_diag_new();
    nn_build_opts o = {ROWS, training, training, VOCAB, CTX, features, 0};
    m->g = nn_build(s, &o, d);
    if (!m->g) nn_diag_print(d, stderr);
    assert_non_null(m->g);
    nn_diag_free(d);
    m->P = nn_params_new(m->g, 0);
    m->p = nn_plan_lower(m->g, m->P, NN_LOWER_KEEP_ALL);
    assert_non_null(m->p);
    for (int i = 0; i < m->P->n; i++)
        for (long k = 0; k < m->P->p[i].numel; k++)
            m->P->p[i].data[k] = m->P->p[i].role == NN_PARAM ? (float)sin(1.0 + i + 0.7 * k) : 1.0f;
    if (features) {
        float *x = nn_plan_ptr(m->p, m->g->x);
        for (int k = 0; k < ROWS * features; k++)
            x[k] = (float)cos(0.3 * k * k);
    } else {
        int32_t *x = nn_plan_ptr(m->p, m->g->x);
        for (int k = 0; k < ROWS * CTX; k++)
            x[k] = (k * 3 + 1) % VOCAB;
    }
    if (m->g->t[m->g->y].dtype == NN_F32)
        for (int i = 0; i < ROWS; i++)
            ((float *)nn_plan_ptr(m->p, m->g->y))[i] = (float)(i % 2 ? 1 : -1);
    else
        for (int i = 0; i < ROWS; i++)
            ((int32_t *)nn_plan_ptr(m->p, m->g->y))[i] = i % VOCAB;
    nn_plan_forward(m->p, ROWS);
    if (training) nn_plan_backward(m->p, ROWS);
}

static void net_free(net *m)
{
    nn_plan_free(m->p);
    nn_params_free(m->P);
    nn_graph_free(m->g);
}

static float loss_of(const net *m)
{
    return *(const float *)nn_plan_ptr(m->p, m->g->loss);
}

/* BatchNorm's kernel adds into dgamma and dbeta where the plan says so (accumulate bits 1
 * and 2), and dx stays what it is without them. */
static void test_bn_bwd_accumulates(void **state)
{
    (void)state;
    static const char *const isas[] = {"scalar", "avx2"};
    static const int widths[] = {3, 16};
    for (int k = 0; k < 2; k++) {
        const nn_kernels *K = nn_kernels_get(isas[k]);
        if (!K || !nn_kernels_supported(isas[k])) continue;
        for (int w = 0; w < 2; w++) {
            int m = 5, n = widths[w];
            float xhat[80], dy[80], sd[16], ga[16], dx0[80], dx1[80];
            float dg0[16], db0[16], dg1[16], db1[16];
            for (int i = 0; i < m * n; i++)
                xhat[i] = (float)sin(i), dy[i] = (float)cos(3.0 * i);
            for (int j = 0; j < n; j++)
                sd[j] = 1.5f + (float)j / 8, ga[j] = 0.5f + (float)j / 4, dg1[j] = 10.0f + (float)j,
                db1[j] = -2.0f * (float)j;
            K->bn_bwd(m, n, xhat, sd, ga, dy, 0, dx0, dg0, db0, 0);
            K->bn_bwd(m, n, xhat, sd, ga, dy, 0, dx1, dg1, db1, 6);
            for (int j = 0; j < n; j++) {
                assert_true(tu_close(dg1[j], 10.0 + j + dg0[j], 1e-5, 1e-6));
                assert_true(tu_close(db1[j], -2.0 * j + db0[j], 1e-5, 1e-6));
            }
            assert_memory_equal(dx0, dx1, (size_t)(m * n) * sizeof *dx0);
        }
    }
}

/* BatchNorm's batch mean and std over many rows are as exact as one float allows (summed in
 * double): a float running sum of 4096 values near 1 lost ~1e-4 of the mean, and runs with
 * BatchNorm over a full batch drifted 1e-5 from PyTorch, whose sums are pairwise. */
static void test_bn_statistics_exact(void **state)
{
    (void)state;
    static const char *const isas[] = {"scalar", "avx2"};
    enum { M = 4096, N = 9 }; /* one whole strip and a partial one */
    static float x[M * N], xhat[M * N], y[M * N];
    float ga[N], be[N], mean[N], sd[N];
    for (int i = 0; i < M * N; i++)
        x[i] = 1.0f + (float)((i * 7919) % 1000) * 1e-4f;
    for (int j = 0; j < N; j++)
        ga[j] = 1, be[j] = 0;
    for (int k = 0; k < 2; k++) {
        const nn_kernels *K = nn_kernels_get(isas[k]);
        if (!K || !nn_kernels_supported(isas[k])) continue;
        for (int n = N; n >= 8; n -= 1) { /* 9: column strips; 8: the row-major pass */
            K->bn_train_fwd(M, n, x, ga, be, 1e-5f, 1, mean, sd, xhat, y);
            for (int j = 0; j < n; j++) {
                double s = 0, ss = 0;
                for (int i = 0; i < M; i++)
                    s += x[i * n + j];
                for (int i = 0; i < M; i++)
                    ss += (x[i * n + j] - s / M) * (x[i * n + j] - s / M);
                if (!tu_close(mean[j], s / M, 0, 1.2e-7) ||
                    !tu_close(sd[j], sqrt(ss / (M - 1) + 1e-5), 0, 1.2e-7))
                    fail_msg("%s n=%d column %d: mean %.9g (exact %.9g), std %.9g (exact %.9g)",
                             isas[k], n, j, mean[j], s / M, sd[j], sqrt(ss / (M - 1) + 1e-5));
            }
        }
    }
}

/* l2 {coef: c, reduce: sum, params: all}: the gradient of BatchNorm's gain and shift gains
 * 2c·p, as every other parameter's does (the BatchNorm backward used to overwrite it). */
static void test_l2_reaches_batchnorm(void **state)
{
    (void)state;
    nn_layer layers[] = {layer(NN_LAYER_LINEAR), layer(NN_LAYER_BATCHNORM), layer(NN_LAYER_TANH),
                         layer(NN_LAYER_LINEAR)};
    layers[0].out = 4, layers[0].bias = 1, layers[3].out = 1, layers[3].bias = 1;
    nn_spec s = spec_of(layers, 4, NN_LOSS_MSE);
    net plain, reg;
    net_run(&plain, &s, FEAT, 1);
    s.train.l2 = 0.25, s.train.l2_reduce = NN_L2_SUM, s.train.l2_all = 1;
    net_run(&reg, &s, FEAT, 1);
    const char *names[] = {"layers.0.weight", "layers.0.bias", "layers.1.weight",
                           "layers.1.bias",   "layers.3.weight", "layers.3.bias"};
    for (int t = 0; t < 6; t++) {
        nn_param *a = nn_params_find(plain.P, names[t]), *b = nn_params_find(reg.P, names[t]);
        assert_non_null(a);
        assert_non_null(b);
        for (long k = 0; k < a->numel; k++)
            if (!tu_close(b->grad[k] - a->grad[k], 2 * 0.25 * a->data[k], 1e-5, 1e-4))
                fail_msg("%s[%ld]: the l2 term adds %g to the gradient, want %g", names[t], k,
                         b->grad[k] - a->grad[k], 2 * 0.25 * a->data[k]);
    }
    net_free(&plain);
    net_free(&reg);
}

/* l2 {params: weights} means the 2-D parameters: the embedding table and the linear weight,
 * not the bias. */
static void test_l2_weights_include_embedding(void **state)
{
    (void)state;
    nn_layer layers[] = {layer(NN_LAYER_EMBEDDING), layer(NN_LAYER_FLATTEN), layer(NN_LAYER_LINEAR)};
    layers[0].dim = 3, layers[2].bias = 1;
    nn_spec s = spec_of(layers, 3, NN_LOSS_CROSS_ENTROPY);
    net plain, reg;
    net_run(&plain, &s, 0, 1);
    s.train.l2 = 0.5; /* mean(W²) per weight tensor */
    net_run(&reg, &s, 0, 1);
    double want = 0;
    const char *names[] = {"layers.0.weight", "layers.2.weight", "layers.2.bias"};
    for (int t = 0; t < 3; t++) {
        nn_param *a = nn_params_find(plain.P, names[t]), *b = nn_params_find(reg.P, names[t]);
        double sq = 0, c = t < 2 ? 2 * 0.5 / (double)a->numel : 0;
        for (long k = 0; k < a->numel; k++) {
            sq += (double)a->data[k] * a->data[k];
            if (!tu_close(b->grad[k] - a->grad[k], c * a->data[k], 1e-6, 1e-4))
                fail_msg("%s[%ld]: l2 adds %g, want %g", names[t], k, b->grad[k] - a->grad[k],
                         c * a->data[k]);
        }
        if (t < 2) want += 0.5 * sq / (double)a->numel;
    }
    assert_true(tu_close(loss_of(&reg) - loss_of(&plain), want, 1e-5, 1e-5));
    net_free(&plain);
    net_free(&reg);
}

/* variance: pytorch — torch.nn.BatchNorm1d: normalise with the biased batch variance, keep
 * the unbiased one in running_var (and its sqrt(v + eps) with running: std); evaluation
 * divides by sqrt(running_var + eps). */
static void test_bn_pytorch_variance(void **state)
{
    (void)state;
    for (int std = 0; std < 2; std++) {
        nn_layer layers[] = {layer(NN_LAYER_BATCHNORM), layer(NN_LAYER_LINEAR)};
        layers[0].unbiased = NN_BN_PYTORCH, layers[0].eps = 1e-3, layers[0].momentum = 0.5;
        layers[0].running_std = std, layers[1].out = 1;
        nn_spec s = spec_of(layers, 2, NN_LOSS_MSE);
        net m;
        net_run(&m, &s, FEAT, 1);
        const float *x = nn_plan_ptr(m.p, m.g->x), *y = nn_plan_ptr(m.p, m.g->n[0].out[0]);
        nn_param *ga = nn_params_find(m.P, "layers.0.weight"), *be = nn_params_find(m.P, "layers.0.bias");
        nn_param *rv = nn_params_find(m.P, std ? "layers.0.running_std" : "layers.0.running_var");
        assert_non_null(rv);
        for (int j = 0; j < FEAT; j++) {
            double mean = 0, ss = 0;
            for (int i = 0; i < ROWS; i++)
                mean += x[i * FEAT + j] / (double)ROWS;
            for (int i = 0; i < ROWS; i++)
                ss += (x[i * FEAT + j] - mean) * (x[i * FEAT + j] - mean);
            double unb = ss / (ROWS - 1), running = std ? sqrt(unb + 1e-3) : unb;
            assert_true(tu_close(rv->data[j], 0.5 * 1.0 + 0.5 * running, 1e-6, 1e-5));
            for (int i = 0; i < ROWS; i++) {
                double want = ga->data[j] * (x[i * FEAT + j] - mean) / sqrt(ss / ROWS + 1e-3) +
                              be->data[j];
                assert_true(tu_close(y[i * FEAT + j], want, 1e-5, 1e-5));
            }
        }
        net_free(&m);
    }
}

/* torch.optim.AdamW's scalars are Python doubles rounded once: after one step with g = 1,
 * exp_avg_sq is (float)(1 − 0.999) = 0.001f and exp_avg (float)(1 − 0.9); computing 1 − b2
 * from the float b2 gave 0.00099998713, 1.3e-5 off.  p·(1 − lr·wd) is the decay. */
static void test_adam_coefficients(void **state)
{
    (void)state;
    float data[1] = {2}, grad[1] = {1}, m[1] = {0}, v[1] = {0};
    nn_param p = {.numel = 1, .role = NN_PARAM, .data = data, .grad = grad, .velocity = m, .sq = v};
    nn_params P = {.p = &p, .n = 1};
    nn_train_spec t = {.optimizer = NN_OPT_ADAM, .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8,
                       .weight_decay = 0.1};
    nn_optim_step(&P, &t, 0.01f);
    assert_true(v[0] == (float)(1.0 - 0.999));
    assert_true(m[0] == (float)(1.0 - 0.9));
    /* p·(1 − lr·wd) − lr/bc1 · m/(sqrt(v)/sqrt(bc2) + eps): the first step moves by lr */
    assert_true(tu_close(data[0], 2 * (1 - 0.01f * 0.1) - 0.01, 1e-7, 0));
    assert_int_equal(P.adam_t, 1);
}

/* docs/spec.md states the warm-up the code runs, rate·(step + 1)/warmup, and the running
 * std's formulas with eps. */
static void test_documented_formulas(void **state)
{
    (void)state;
    nn_lr_spec lr = {.kind = NN_LR_CONSTANT, .value = 0.4, .warmup = 4};
    assert_true(tu_close(nn_lr_at(&lr, 0, 100), 0.1, 1e-12, 0));
    assert_true(tu_close(nn_lr_at(&lr, 3, 100), 0.4, 1e-12, 0));
    assert_true(tu_close(nn_lr_at(&lr, 4, 100), 0.4, 1e-12, 0));
    char *doc = tu_read_file(tu_path("docs/spec.md"));
    assert_non_null(doc);
    assert_null(strstr(doc, "rises linearly from 0"));
    assert_non_null(strstr(doc, "rate · (step + 1) / warmup"));
    assert_non_null(strstr(doc, "running_std ← (1 − momentum)·running_std + momentum·sqrt(v + eps)"));
    assert_non_null(strstr(doc, "(x − running_mean) / running_std"));
    free(doc);
}

/* Writes a copy of model file `from` to `to` with its "vocab" metadata replaced by `vocab`
 * (NULL: none). */
static void copy_with_vocab(const char *from, const char *to, const char *vocab)
{
    nn_diag *d = nn_diag_new();
    nn_st_file *f = nn_st_read(from, d);
    assert_non_null(f);
    int n = nn_st_count(f);
    nn_st_tensor *t = calloc((size_t)n, sizeof *t);
    for (int i = 0; i < n; i++) {
        t[i] = *nn_st_at(f, i);
        long numel = 1;
        for (int k = 0; k < t[i].ndim; k++)
            numel *= t[i].dim[k];
        void *copy = malloc((size_t)numel * 4 + 1); /* the reader's data may be unaligned */
        memcpy(copy, t[i].data, (size_t)numel * 4);
        t[i].data = copy;
    }
    nn_st_meta meta[] = {{"format", "nnrun"}, {"vocab", vocab}};
    assert_int_equal(nn_st_write(to, t, n, meta, vocab ? 2 : 1), 0);
    for (int i = 0; i < n; i++)
        free((void *)t[i].data);
    free(t);
    nn_st_free(f);
    nn_diag_free(d);
}

/* init_from compares vocabularies as JSON arrays (Python's json.dumps writes ", "), and a
 * file without one is an error naming the file when the data is text. */
static void test_init_from_vocab(void **state)
{
    (void)state;
    static const char spec[] = "tests/specs/ckpt/adam_bn.yaml";
    char run[600], args[2048], model[700], spaced[700], none[700], other[700];
    snprintf(run, sizeof run, "%s/run", tmp);
    snprintf(args, sizeof args, "%s --quiet --out %s --set train.steps=1 --set checkpoint.every=0",
             spec, run);
    assert_int_equal(tu_nnrun(tmp, args), 0);
    snprintf(model, sizeof model, "%s/model.safetensors", run);
    nn_diag *d = nn_diag_new();
    nn_st_file *f = nn_st_read(model, d);
    assert_non_null(f);
    json_t *v = json_loads(nn_st_meta_get(f, "vocab"), 0, NULL);
    assert_true(json_array_size(v) == 27);
    char *text = json_dumps(v, 0); /* jansson's default separators: ", " */
    assert_non_null(strstr(text, "\", \""));
    json_array_set_new(v, 1, json_string("A"));
    char *changed = json_dumps(v, 0);
    nn_st_free(f);
    nn_diag_free(d);
    snprintf(spaced, sizeof spaced, "%s/spaced.safetensors", tmp);
    snprintf(none, sizeof none, "%s/none.safetensors", tmp);
    snprintf(other, sizeof other, "%s/other.safetensors", tmp);
    copy_with_vocab(model, spaced, text);
    copy_with_vocab(model, none, NULL);
    copy_with_vocab(model, other, changed);
    snprintf(args, sizeof args, "check %s --set init_from=%s", spec, spaced);
    assert_int_equal(tu_nnrun(tmp, args), 0);
    snprintf(args, sizeof args, "check %s --set init_from=%s", spec, none);
    assert_int_equal(tu_nnrun(tmp, args), 2);
    char *err = tu_captured(tmp, "err");
    assert_non_null(strstr(err, "--set:1:11: error: '"));
    assert_non_null(strstr(err, "none.safetensors' has no vocabulary"));
    free(err);
    snprintf(args, sizeof args, "check %s --set init_from=%s", spec, other);
    assert_int_equal(tu_nnrun(tmp, args), 2);
    err = tu_captured(tmp, "err");
    assert_non_null(strstr(err, "other.safetensors' was trained on another vocabulary"));
    free(err);
    free(text);
    free(changed);
    json_decref(v);
}

int main(void)
{
    nn_kernels_select(NULL);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bn_bwd_accumulates),
        cmocka_unit_test(test_bn_statistics_exact),
        cmocka_unit_test(test_l2_reaches_batchnorm),
        cmocka_unit_test(test_l2_weights_include_embedding),
        cmocka_unit_test(test_bn_pytorch_variance),
        cmocka_unit_test(test_adam_coefficients),
        cmocka_unit_test(test_documented_formulas),
        cmocka_unit_test(test_init_from_vocab),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
