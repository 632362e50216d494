/* test_lessons.c — the lesson specs of specs/ reach the lectures' deterministic numbers
 * (/work/shared/LESSONS.md): every spec checks; short runs (--set train.steps=N) give the
 * step-0 losses, split sizes, count-model losses and samples; micrograd's demo and the
 * neural bigram run at full length (they are fast). Numbers are read from summary.json of
 * runs of the built binary ($NNRUN_BIN) into a temporary directory. The 200,000-step
 * numbers are bench/lessons' job, not a unit test's.
 *
 * Also the gradient of `loss: value` (ops/value.c) against finite differences, in the style
 * of test_ir.c. */
#include "testutil.h"

#include <jansson.h>
#include <math.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ir/build.h"
#include "runtime/exec/plan.h"
#include "runtime/data/rng.h"

static char tmp[256];

/* Runs specs/NAME.yaml with the extra arguments into tmp/NAME and returns its summary.json. */
static json_t *run_spec(const char *name, const char *extra)
{
    char args[2048], p[400];
    snprintf(args, sizeof args, "'specs/%s.yaml' %s --out '%s/%s' --force --quiet", name, extra,
             tmp, name);
    if (tu_nnrun(tmp, args) != 0) {
        char *err = tu_captured(tmp, "err");
        fail_msg("nnrun %s failed:\n%s", args, err);
    }
    snprintf(p, sizeof p, "%s/%s/summary.json", tmp, name);
    json_error_t e;
    json_t *j = json_load_file(p, 0, &e);
    if (!j) fail_msg("%s: %s", p, e.text);
    return j;
}

/* summary.json's SECTION.KEY as a number (fails if absent or null). */
static double num(json_t *j, const char *section, const char *key)
{
    json_t *v = json_object_get(json_object_get(j, section), key);
    if (!json_is_number(v)) fail_msg("summary.json: %s.%s is not a number", section, key);
    return json_number_value(v);
}

#define NEAR(what, got, want, tol)                                                                 \
    do {                                                                                           \
        double g_ = (got), w_ = (want);                                                            \
        if (!(fabs(g_ - w_) <= (tol)))                                                             \
            fail_msg("%s: nnrun %.10g, lecture %.10g (tolerance %g)", what, g_, w_,                \
                     (double)(tol));                                                               \
    } while (0)

/* A 4-decimal reference: equal when rounded, |got − want| ≤ half a unit of the 4th decimal. */
#define DEC4 5e-5

/* ---- every lesson spec checks ---------------------------------------------------------- */

static const struct {
    const char *name;
    long params;
} lesson_specs[] = {
    {"neuron", 3},           {"micrograd_moons", 337},
    {"bigram_counts", 0},    {"bigram_nn", 729},
    {"trigram_counts", 0},   {"trigram_nn", 1458},
    {"mlp", 11897},          {"mlp_lrfind", 11897},
    {"mlp_original", 11897}, {"mlp_fix_softmax", 11897},
    {"mlp_fix_tanh", 11897}, {"mlp_kaiming", 11897},
    {"mlp_bn", 12097},       {"deep_bn", 47024},
    {"deep_bn_full", 47024},
};

static void test_specs_check(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof lesson_specs / sizeof *lesson_specs; i++) {
        char args[300], want[64];
        snprintf(args, sizeof args, "check 'specs/%s.yaml'", lesson_specs[i].name);
        if (tu_nnrun(tmp, args) != 0) {
            char *err = tu_captured(tmp, "err");
            fail_msg("nnrun %s failed:\n%s", args, err);
        }
        char *out = tu_captured(tmp, "out");
        snprintf(want, sizeof want, "(%ld parameters,", lesson_specs[i].params);
        if (!strstr(out, want)) fail_msg("nnrun %s: want '%s' in:\n%s", args, want, out);
        free(out);
    }
}

/* ---- lesson 1 -------------------------------------------------------------------------- */

/* micrograd's demo, all 100 steps (they take milliseconds). */
static void test_micrograd_moons(void **state)
{
    (void)state;
    json_t *j = run_spec("micrograd_moons", "");
    assert_int_equal(json_integer_value(json_object_get(j, "params")), 337);
    NEAR("micrograd step 0", num(j, "loss", "step0"), 0.8958441028683222, 1e-6);
    NEAR("micrograd step 99", num(j, "loss", "last"), 0.010978370135492717, 1e-4);
    NEAR("micrograd accuracy", num(j, "accuracy", "train"), 1.0, 0);
    json_decref(j);
}

/* The tanh neuron: o = 0.7071 is the objective; the DOT dump shows the lecture's grads. */
static void test_neuron(void **state)
{
    (void)state;
    json_t *j = run_spec("neuron", "");
    NEAR("neuron o", num(j, "loss", "step0"), 0.7071067811865476, 1e-6);
    json_decref(j);
    assert_int_equal(tu_nnrun(tmp, "graph --dot --values specs/neuron.yaml"), 0);
    char *dot = tu_captured(tmp, "out");
    static const char *const want[] = {
        "{layers.0.weight | param [2, 1] | data -3.0000 1.0000 | grad 1.0000 0.0000}", /* w1, w2 */
        "{layers.0.bias | param [1] | data 6.8814 | grad 0.5000}",                     /* b */
        "{layers.0.out | act [1, 1] | data 0.8814 | grad 0.5000}",                     /* n */
        "{layers.1.out | act [1, 1] | data 0.7071 | grad 1.0000}",                     /* o */
        "label=\"value\"",
    };
    for (size_t i = 0; i < sizeof want / sizeof *want; i++)
        if (!strstr(dot, want[i])) fail_msg("graph --dot --values lacks '%s':\n%s", want[i], dot);
    free(dot);
}

/* `loss: value` is for numeric data and takes no options. */
static void test_value_loss_errors(void **state)
{
    (void)state;
    char p[300], args[400];
    snprintf(p, sizeof p, "%s/value_text.yaml", tmp);
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    fprintf(f,
            "data: {source: '%s/examples/data/names.txt'}\nmodel: [{embedding: {dim: 2}}, "
            "flatten, linear]\ntrain: {loss: value}\n",
            tu_srcdir());
    fclose(f);
    snprintf(args, sizeof args, "check '%s'", p);
    assert_int_equal(tu_nnrun(tmp, args), 2);
    char *err = tu_captured(tmp, "err");
    if (!strstr(err, ":3:15: error: 'value' makes the model's output itself the objective"))
        fail_msg("stderr:\n%s", err);
    free(err);
    assert_int_equal(
        tu_nnrun(tmp, "check specs/neuron.yaml --set 'train.loss={value: {reduce: sum}}'"), 2);
    err = tu_captured(tmp, "err");
    if (!strstr(err, "error: 'train.loss.value' takes no options")) fail_msg("stderr:\n%s", err);
    free(err);
}

/* ---- lesson 2 -------------------------------------------------------------------------- */

static void test_bigram_counts(void **state)
{
    (void)state;
    json_t *j = run_spec("bigram_counts", "");
    assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "examples"), "train")),
                     228146);
    NEAR("bigram counts NLL", num(j, "loss", "train"), 2.4545767307281494, 1e-4);
    json_t *s = json_object_get(j, "samples");
    static const char *const want[] = {"mor.", "axx.", "minaymoryles.", "kondlaisah.",
                                       "anchshizarie."};
    assert_true(json_array_size(s) >= 5);
    for (size_t i = 0; i < 5; i++) {
        const char *got = json_string_value(json_array_get(s, i));
        if (!got || strcmp(got, want[i]) != 0)
            fail_msg("sample %zu: '%s', want '%s'", i, got ? got : "(none)", want[i]);
    }
    json_decref(j);
}

/* The neural bigram at its full 100 steps (full batch of 228146 rows; a few seconds). */
static void test_bigram_nn(void **state)
{
    (void)state;
    json_t *j = run_spec("bigram_nn", "--set sample.count=0");
    NEAR("bigram_nn step 0", num(j, "loss", "step0"), 3.768618583679199, DEC4);
    NEAR("bigram_nn k = 99", num(j, "loss", "last"), 2.4901304244995117, 1e-4);
    json_decref(j);
}

static void test_trigram_counts(void **state)
{
    (void)state;
    json_t *j = run_spec("trigram_counts", "--set sample.count=0");
    NEAR("trigram counts train", num(j, "loss", "train"), 2.2155728659073963, 1e-4);
    NEAR("trigram counts dev", num(j, "loss", "dev"), 2.23646242952768, 1e-4);
    json_decref(j);
}

/* No reference number exists: it runs, and its first loss is a loss. */
static void test_trigram_nn(void **state)
{
    (void)state;
    json_t *j = run_spec("trigram_nn", "--set train.steps=2 --set sample.count=0 "
                                       "--set eval.splits=[dev]");
    double l0 = num(j, "loss", "step0");
    assert_true(isfinite(l0) && l0 > 0);
    assert_int_equal(json_integer_value(json_object_get(j, "params")), 1458);
    json_decref(j);
}

/* ---- lessons 3-4: split sizes and step-0 losses (one step each) ------------------------- */

static void test_mlp_step0(void **state)
{
    (void)state;
    static const struct {
        const char *name;
        double step0;
    } t[] = {
        {"mlp", 27.8817},          {"mlp_lrfind", 27.8817},
        {"mlp_original", 27.8817}, {"mlp_fix_softmax", 3.3221},
        {"mlp_fix_tanh", 3.3135},  {"mlp_kaiming", 3.3179},
        {"mlp_bn", 3.3239},        {"deep_bn", 3.2870},
    };
    for (size_t i = 0; i < sizeof t / sizeof *t; i++) {
        /* one step; the evaluation reads the smallest split, so the run stays short */
        json_t *j = run_spec(t[i].name, "--set train.steps=1 --set sample.count=0 "
                                        "--set eval.every=0 --set 'eval.splits=[dev]'");
        json_t *ex = json_object_get(j, "examples");
        long n[3] = {(long)json_integer_value(json_object_get(ex, "train")),
                     (long)json_integer_value(json_object_get(ex, "dev")),
                     (long)json_integer_value(json_object_get(ex, "test"))};
        if (n[0] != 182625 || n[1] != 22655 || n[2] != 22866)
            fail_msg("%s: split %ld / %ld / %ld, want 182625 / 22655 / 22866", t[i].name, n[0],
                     n[1], n[2]);
        char what[64];
        snprintf(what, sizeof what, "%s step 0", t[i].name);
        NEAR(what, num(j, "loss", "step0"), t[i].step0, DEC4);
        json_decref(j);
    }
}

/* ---- the gradient of `loss: value` (test_ir.c's finite-difference check) ---------------- */

static double loss_at(nn_plan *p, const nn_graph *g, int rows)
{
    nn_plan_forward(p, rows);
    return *(float *)nn_plan_ptr(p, g->loss);
}

static void check_value_grads(int out, int rows)
{
    nn_layer layers[3];
    memset(layers, 0, sizeof layers);
    layers[0].kind = NN_LAYER_LINEAR, layers[0].out = 5, layers[0].bias = 1;
    layers[1].kind = NN_LAYER_TANH;
    layers[2].kind = NN_LAYER_LINEAR, layers[2].out = out, layers[2].bias = 1;
    for (int i = 0; i < 3; i++)
        layers[i].mark = (nn_mark){"model.yaml", 10 + i, 5};
    nn_spec s;
    memset(&s, 0, sizeof s);
    s.path = "model.yaml";
    s.layers = layers;
    s.nlayers = 3;
    s.train.loss = NN_LOSS_VALUE;
    nn_diag *d = nn_diag_new();
    nn_build_opts o = {rows, 1, 1, 7, 3, 3};
    nn_graph *g = nn_build(&s, &o, d);
    if (!g) {
        nn_diag_print(d, stderr);
        fail();
    }
    nn_diag_free(d);
    nn_params *P = nn_params_new(g, 0);
    nn_plan *p = nn_plan_lower(g, P, NN_LOWER_FAST);
    assert_non_null(p);
    nn_rng r;
    nn_rng_seed(&r, 0, 11);
    for (int i = 0; i < P->n; i++)
        if (P->p[i].role == NN_PARAM) nn_rng_randn(&r, P->p[i].data, (size_t)P->p[i].numel);
    nn_rng_randn(&r, (float *)nn_plan_ptr(p, g->x), (size_t)rows * 3);
    nn_rng_randn(&r, (float *)nn_plan_ptr(p, g->y), (size_t)rows); /* ignored by the loss */
    /* the loss is the sum of the outputs */
    nn_plan_forward(p, rows);
    const float *z = nn_plan_ptr(p, g->logits);
    double total = 0;
    for (int i = 0; i < rows * out; i++)
        total += z[i];
    NEAR("value loss = Σ outputs", *(float *)nn_plan_ptr(p, g->loss), total, 1e-4);
    nn_plan_backward(p, rows);
    int checked = 0;
    for (int i = 0; i < P->n; i++) {
        nn_param *q = &P->p[i];
        if (q->role != NN_PARAM) continue;
        float *analytic = malloc((size_t)q->numel * sizeof *analytic);
        memcpy(analytic, q->grad, (size_t)q->numel * sizeof *analytic);
        for (long k = 0; k < q->numel; k++) {
            float keep = q->data[k];
            const float h = 1e-2f;
            q->data[k] = keep + h;
            double up = loss_at(p, g, rows);
            q->data[k] = keep - h;
            double down = loss_at(p, g, rows);
            q->data[k] = keep;
            double numeric = (up - down) / (2.0 * h);
            if (!tu_close(analytic[k], numeric, 2e-3, 2e-2))
                fail_msg("%s[%ld]: analytic %.6g, numeric %.6g", q->name, k, analytic[k], numeric);
            checked++;
        }
        free(analytic);
    }
    assert_true(checked > 10);
    nn_plan_free(p);
    nn_params_free(P);
    nn_graph_free(g);
}

static void test_grad_value(void **state)
{
    (void)state;
    check_value_grads(1, 6); /* one output per row, as the neuron */
    check_value_grads(4, 5); /* several: every element counts once */
}

static int setup(void **state)
{
    (void)state;
    return tu_mkdtemp(tmp, sizeof tmp, "/tmp/nnrun-lessons-XXXXXX");
}

static int teardown(void **state)
{
    (void)state;
    return tu_rmtree(tmp);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_specs_check),    cmocka_unit_test(test_micrograd_moons),
        cmocka_unit_test(test_neuron),         cmocka_unit_test(test_value_loss_errors),
        cmocka_unit_test(test_bigram_counts),  cmocka_unit_test(test_bigram_nn),
        cmocka_unit_test(test_trigram_counts), cmocka_unit_test(test_trigram_nn),
        cmocka_unit_test(test_mlp_step0),      cmocka_unit_test(test_grad_value),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
