/* test_clip_dropout.c — issue 19's training rules around sequence models: gradient clipping
 * by global norm (clip_grad_norm_'s numbers), AdamW's decay on the matrices only (nanoGPT's
 * groups), their spec errors at file:line:col, and dropout's own stream of the run's seed
 * (another seed draws other masks, the thread count none; gradcheck holds the masks).
 * tests/parity/rules.py compares clipping and the decay groups with PyTorch. */
#include "testutil.h"

#include <limits.h>
#include <math.h>
#include <stdlib.h>

#include "runtime/exec/plan.h"
#include "runtime/train/train.h"

static char tmp[256];

static int setup(void **state)
{
    (void)state;
    return tu_mkdtemp(tmp, sizeof tmp, "/tmp/nnrun-clipdrop-XXXXXX");
}

static int teardown(void **state)
{
    (void)state;
    return tu_rmtree(tmp);
}

/* Two parameters with gradients (3, 4) and (12): the global norm is 13. */
static void two_params(nn_param p[2], float *d0, float *g0, float *d1, float *g1)
{
    g0[0] = 3, g0[1] = 4, g1[0] = 12;
    d0[0] = d0[1] = d1[0] = 1;
    p[0] =
        (nn_param){.ndim = 2, .dim = {1, 2}, .numel = 2, .role = NN_PARAM, .data = d0, .grad = g0};
    p[1] = (nn_param){.ndim = 1, .dim = {1}, .numel = 1, .role = NN_PARAM, .data = d1, .grad = g1};
}

/* clip_grad_norm_(max): coef = max / (norm + 1e-6), applied only below 1. */
static void test_clip_numbers(void **state)
{
    (void)state;
    float d0[2], g0[2], d1[1], g1[1];
    nn_param p[2];
    two_params(p, d0, g0, d1, g1);
    nn_params P = {.p = p, .n = 2};
    assert_true(fabs(nn_grad_norm(&P) - 13.0) < 1e-12);
    assert_true(fabs(nn_clip_grad_norm(&P, 1.3) - 13.0) < 1e-6);
    float coef = 1.3f / (13.0f + 1e-6f);
    assert_true(g0[0] == 3 * coef && g0[1] == 4 * coef && g1[0] == 12 * coef);
    assert_true(fabs(nn_grad_norm(&P) - 1.3) < 1e-6);
    /* a norm under the limit is left alone */
    two_params(p, d0, g0, d1, g1);
    nn_clip_grad_norm(&P, 20.0);
    assert_true(g0[0] == 3 && g0[1] == 4 && g1[0] == 12);
    /* in a step: SGD with lr 1 moves by the clipped gradient */
    nn_train_spec t = {.optimizer = NN_OPT_SGD, .clip_norm = 1.3};
    nn_optim_step(&P, &t, 1.0f);
    assert_true(tu_close(d1[0], 1 - 1.2, 1e-6, 1e-6));
}

/* decay: matrices — the 2-D parameter decays, the vector does not; decay: all both. */
static void test_decay_matrices(void **state)
{
    (void)state;
    for (int matrices = 0; matrices <= 1; matrices++) {
        float d0[2], g0[2], d1[1], g1[1], m0[2] = {0}, v0[2] = {0}, m1[1] = {0}, v1[1] = {0};
        nn_param p[2];
        two_params(p, d0, g0, d1, g1);
        g0[0] = g0[1] = g1[0] = 0; /* zero gradients: only the decay moves the weights */
        p[0].velocity = m0, p[0].sq = v0, p[1].velocity = m1, p[1].sq = v1;
        nn_params P = {.p = p, .n = 2};
        nn_train_spec t = {.optimizer = NN_OPT_ADAM,
                           .beta1 = 0.9,
                           .beta2 = 0.99,
                           .eps = 1e-8,
                           .weight_decay = 0.5,
                           .decay_matrices = matrices};
        nn_optim_step(&P, &t, 0.1f);
        float decayed = (float)(1.0 - 0.1 * 0.5);
        assert_true(d0[0] == decayed && d0[1] == decayed);
        assert_true(d1[0] == (matrices ? 1.0f : decayed));
    }
}

/* `nnrun check` on tmp/s.yaml with `train` as its train section: exit 2 and the first
 * stderr line at LINE:COL holding `what`; or exit 0 when what is NULL. */
static void expect(const char *train, int line, int col, const char *what)
{
    char text[1024], cmd[600], want[400];
    snprintf(text, sizeof text,
             "name: t\ndata: {inline: {x: [[1.0], [2.0], [3.0]], y: [1, -1, 1]}}\n"
             "model: [{linear: {out: 1}}]\n%s\n",
             train);
    tu_write_bytes(tmp, "s.yaml", text, strlen(text));
    snprintf(cmd, sizeof cmd, "check '%s/s.yaml'", tmp);
    int rc = tu_nnrun(tmp, cmd);
    char *err = tu_captured(tmp, "err");
    if (!what) {
        if (rc != 0) fail_msg("%s: exit %d: %s", train, rc, err);
        free(err);
        return;
    }
    snprintf(want, sizeof want, "%s/s.yaml:%d:%d: error: ", tmp, line, col);
    if (rc != 2 || strncmp(err, want, strlen(want)) != 0 || !strstr(err, what))
        fail_msg("%s: exit %d\n  %s\nwant exit 2, %s... %s", train, rc, err, want, what);
    free(err);
}

static void test_spec_errors(void **state)
{
    (void)state;
    expect("train: {loss: mse, clip: {norm: 1.0}, optimizer: {adamw: {decay: matrices}}}", 0, 0,
           NULL);
    expect("train: {loss: mse, clip: {norm: 0}}", 4, 33,
           "'train.clip.norm' must be greater than 0, got 0");
    expect("train: {loss: mse, clip: {norm: -2}}", 4, 33, "must be greater than 0, got -2");
    expect("train: {loss: mse, clip: {norm: big}}", 4, 33, "'train.clip.norm'");
    expect("train: {loss: mse, clip: 1.0}", 4, 26, "'train.clip' takes a map {norm: MAX}");
    expect("train: {loss: mse, clip: {max: 1}}", 4, 27, "unknown key 'max' in 'train.clip'");
    expect("train: {loss: mse, clip: {}}", 4, 26, "missing required key 'norm' in 'train.clip'");
    expect("train:\n  loss: mse\n  optimizer: {adamw: {decay: weights}}", 6, 30,
           "unknown value 'weights' for 'train.optimizer.adamw.decay'; expected one of: all, "
           "matrices");
    expect("train: {loss: mse, optimizer: {adamw: {weight_decay: -1}}}", 4, 54,
           "'train.optimizer.adamw.weight_decay'");
}

/* adamw is adam with torch.optim.AdamW's default weight decay, 0.01. */
static void test_adamw_resolved(void **state)
{
    (void)state;
    const char *text = "name: t\ndata: {inline: {x: [[1.0], [2.0]], y: [1, -1]}}\n"
                       "model: [{linear: {out: 1}}]\n"
                       "train: {loss: mse, optimizer: adamw, clip: {norm: 0.5}}\n";
    tu_write_bytes(tmp, "w.yaml", text, strlen(text));
    char cmd[600];
    snprintf(cmd, sizeof cmd, "check --resolved '%s/w.yaml'", tmp);
    assert_int_equal(tu_nnrun(tmp, cmd), 0);
    char *out = tu_captured(tmp, "out");
    if (!strstr(out, "adam: {beta1: 0.9, beta2: 0.999, eps: 1.0e-08, weight_decay: 0.01}") ||
        !strstr(out, "clip: {norm: 0.5}"))
        fail_msg("resolved:\n%s", out);
    free(out);
}

/* A sequence model with two dropouts on 40 names, trained full-batch from one saved model:
 * the only random thing left is dropout's masks. */
static void write_dropout_spec(void)
{
    char text[PATH_MAX + 1024], names[PATH_MAX];
    assert_non_null(realpath(tu_path("examples/data/names.txt"), names)); /* from tmp */
    snprintf(text, sizeof text,
             "name: d\nseed: 7\n"
             "data: {source: %s, context: 16, examples: sequence,\n"
             "       split: {train: 40, dev: 0, test: 10}}\n"
             "model:\n  - embedding: {dim: 8, positions: 16}\n  - dropout: {p: 0.3}\n"
             "  - residual: [layernorm, {attention: {heads: 2, causal: true}}, "
             "{dropout: {p: 0.2}}]\n"
             "  - layernorm\n  - linear\n"
             "train: {steps: 4, batch: 8, optimizer: adamw, lr: 1e-2}\n"
             "eval: {every: 0, splits: [train]}\nsample: {count: 0}\nreport: {plots: none}\n",
             names);
    tu_write_bytes(tmp, "d.yaml", text, strlen(text));
}

/* The objective column of run DIR's metrics.csv, one line per step. */
static char *losses(const char *dir)
{
    char path[600], *out = calloc(4096, 1);
    snprintf(path, sizeof path, "%s/%s/metrics.csv", tmp, dir);
    char *csv = tu_read_file(path);
    assert_non_null(csv);
    size_t at = 0;
    for (char *line = strchr(csv, '\n'); line && line[1]; line = strchr(line + 1, '\n')) {
        char *c = strchr(line + 1, ','), *e = c ? strchr(c + 1, ',') : NULL;
        char *f = e ? strchr(e + 1, ',') : NULL;
        if (f && at + (size_t)(f - e) < 4000)
            memcpy(out + at, e, (size_t)(f - e)), at += (size_t)(f - e);
    }
    free(csv);
    return out;
}

static void run_from(const char *dir, int seed, int threads)
{
    char cmd[1200];
    snprintf(cmd, sizeof cmd,
             "'%s/d.yaml' --quiet --force --out '%s/%s' --threads %d --set seed=%d --set "
             "train.batch=full --set init_from='%s/base/model.safetensors'",
             tmp, tmp, dir, threads, seed, tmp);
    if (tu_nnrun(tmp, cmd) != 0) {
        char *err = tu_captured(tmp, "err");
        fail_msg("%s: %s", cmd, err);
    }
}

static void test_dropout_stream(void **state)
{
    (void)state;
    write_dropout_spec();
    char cmd[600];
    snprintf(cmd, sizeof cmd, "'%s/d.yaml' --quiet --force --out '%s/base'", tmp, tmp);
    assert_int_equal(tu_nnrun(tmp, cmd), 0);
    run_from("s1t1", 1, 1);
    run_from("s1t2", 1, 2);
    run_from("s1again", 1, 1);
    run_from("s2t1", 2, 1);
    char *a = losses("s1t1"), *b = losses("s1t2"), *c = losses("s1again"), *e = losses("s2t1");
    assert_true(strlen(a) > 8);
    assert_string_equal(a, b); /* the thread count draws no other mask */
    assert_string_equal(a, c); /* the same seed the same masks */
    if (strcmp(a, e) == 0) fail_msg("seeds 1 and 2 trained alike: %s", a);
    free(a), free(b), free(c), free(e);
}

/* gradcheck holds the masks between the two evaluations of a difference: without, every
 * pass drew new masks and every tensor was "above the tolerance". */
static void test_dropout_gradcheck(void **state)
{
    (void)state;
    write_dropout_spec();
    char cmd[600];
    snprintf(cmd, sizeof cmd, "gradcheck '%s/d.yaml'", tmp);
    int rc = tu_nnrun(tmp, cmd);
    char *out = tu_captured(tmp, "out");
    if (rc != 0 || !strstr(out, "\nok\n")) fail_msg("gradcheck exit %d:\n%s", rc, out);
    free(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_clip_numbers),   cmocka_unit_test(test_decay_matrices),
        cmocka_unit_test(test_spec_errors),    cmocka_unit_test(test_adamw_resolved),
        cmocka_unit_test(test_dropout_stream), cmocka_unit_test(test_dropout_gradcheck),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
