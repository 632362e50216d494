/* test_wavenet.c — lesson 5 (makemore part 5: WaveNet, /work/shared/LESSONS-5.md): the five
 * specs check with the lecture's parameter counts; short runs reproduce the notebook's own
 * code (bench/wavenet/lecture.py on torch 1.13, torch's global generator after
 * torch.manual_seed(42)) step for step: E's first 2,000 minibatch losses, its train/dev loss
 * and its 20 samples after them (the samples continue the training stream), and A-D's first
 * steps; shape errors of [B, T, C] layers; the rng and sample keys; formula and plugin
 * activations on rank 3 against finite differences.  The 200,000-step numbers are
 * bench/lessons' job. */
#include "testutil.h"

#include <jansson.h>
#include <math.h>

static char tmp[256];

#define NEAR(what, got, want, tol)                                                                 \
    do {                                                                                           \
        double g_ = (got), w_ = (want);                                                            \
        if (!(fabs(g_ - w_) <= (tol)))                                                             \
            fail_msg("%s: nnrun %.10g, lecture %.10g (tolerance %g)", what, g_, w_,                \
                     (double)(tol));                                                               \
    } while (0)

#define DEC4 5e-5 /* a 4-decimal published number */
#define STEP 1e-5 /* a recomputed minibatch loss: the same draws, float rounding apart */

/* Runs specs/NAME.yaml with the extra arguments into tmp/NAME; returns summary.json. */
static json_t *run_spec(const char *name, const char *extra)
{
    char args[2048], p[400];
    snprintf(args, sizeof args, "'specs/%s.yaml' %s --out '%s/%s' --force --quiet", name, extra,
             tmp, name);
    if (tu_nnrun(tmp, args) != 0) fail_msg("nnrun %s failed:\n%s", args, tu_captured(tmp, "err"));
    snprintf(p, sizeof p, "%s/%s/summary.json", tmp, name);
    json_error_t e;
    json_t *j = json_load_file(p, 0, &e);
    if (!j) fail_msg("%s: %s", p, e.text);
    return j;
}

static double num(json_t *j, const char *section, const char *key)
{
    json_t *v = json_object_get(json_object_get(j, section), key);
    if (!json_is_number(v)) fail_msg("summary.json: %s.%s is not a number", section, key);
    return json_number_value(v);
}

/* The minibatch loss of `step` from tmp/NAME/metrics.csv (step,lr,loss,...). */
static double step_loss(const char *name, long step)
{
    char p[400], line[512];
    snprintf(p, sizeof p, "%s/%s/metrics.csv", tmp, name);
    FILE *f = fopen(p, "r");
    assert_non_null(f);
    double loss = NAN;
    while (fgets(line, sizeof line, f)) {
        char *end;
        long s = strtol(line, &end, 10);
        if (end == line || s != step || *end != ',') continue;
        char *c = strchr(end + 1, ','); /* after lr */
        if (c && c[1] != ',') loss = strtod(c + 1, NULL);
        if (!isnan(loss)) break;
    }
    fclose(f);
    if (isnan(loss)) fail_msg("%s: no loss for step %ld", p, step);
    return loss;
}

static void test_specs_check(void **state)
{
    (void)state;
    static const struct {
        const char *name;
        long params;
    } specs[] = {{"wavenet", 76579},
                 {"wavenet_flat3", 12097},
                 {"wavenet_flat8", 22097},
                 {"wavenet_hier_bnbug", 22397},
                 {"wavenet_hier", 22397}};
    for (size_t i = 0; i < sizeof specs / sizeof *specs; i++) {
        char args[300], want[64];
        snprintf(args, sizeof args, "check 'specs/%s.yaml'", specs[i].name);
        if (tu_nnrun(tmp, args) != 0) fail_msg("%s:\n%s", args, tu_captured(tmp, "err"));
        char *out = tu_captured(tmp, "out");
        snprintf(want, sizeof want, "(%ld parameters,", specs[i].params);
        if (!strstr(out, want)) fail_msg("nnrun %s: want '%s' in:\n%s", args, want, out);
        free(out);
    }
}

/* E: 2,000 steps of the final model, then the split losses and 20 samples. */
static void test_wavenet_short(void **state)
{
    (void)state;
    json_t *j = run_spec("wavenet", "--set train.steps=2000 --set eval.every=0 "
                                    "--set report.plots=none");
    assert_int_equal(json_integer_value(json_object_get(j, "params")), 76579);
    NEAR("E step 0 (published, cell 10)", num(j, "loss", "step0"), 3.3167, DEC4);
    static const struct {
        long step;
        double loss;
    } want[] = {{0, 3.3167154788970947},   {1, 3.2927401065826416},   {100, 2.602126359939575},
                {500, 2.5193042755126953}, {1000, 2.067333698272705}, {1999, 2.435138463973999}};
    for (size_t i = 0; i < sizeof want / sizeof *want; i++) {
        char what[64];
        snprintf(what, sizeof what, "E step %ld", want[i].step);
        NEAR(what, step_loss("wavenet", want[i].step), want[i].loss, STEP);
    }
    NEAR("E train after 2000 steps", num(j, "loss", "train"), 2.2389769554138184, STEP);
    NEAR("E dev after 2000 steps", num(j, "loss", "dev"), 2.2481400966644287, STEP);
    static const char *const samples[] = {
        "madirer.", "kazerbe.",   "maqsyn.",  "tpriu.", "gydann.",    "daralyns.", "charlin.",
        "ammiyah.", "joylie.",    "yelasia.", "dist.",  "ketsthand.", "dowit.",    "shaelon.",
        "riorll.",  "tteghango.", "kawnnae.", "kozel.", "kynni.",     "gllygyah."};
    json_t *s = json_object_get(j, "samples");
    assert_int_equal(json_array_size(s), 20);
    for (size_t i = 0; i < 20; i++) {
        const char *got = json_string_value(json_array_get(s, i));
        if (!got || strcmp(got, samples[i]) != 0)
            fail_msg("sample %zu: '%s', want '%s'", i, got ? got : "(none)", samples[i]);
    }
    json_decref(j);
}

/* A-D: step 0 (LESSONS-5.md) and later steps of the notebook's code with A-D's layers.  C's
 * per-position statistics of nearly constant positions amplify rounding, so it is compared
 * over its first 100 steps only. */
static void test_ladder_short(void **state)
{
    (void)state;
    static const struct {
        const char *name;
        long steps;
        double step0, at100, last;
    } rungs[] = {
        {"wavenet_flat3", 300, 3.2966, 2.4917774200439453, 2.831831455230713},
        {"wavenet_flat8", 300, 3.2847, 2.7753522396087646, 2.6316471099853516},
        {"wavenet_hier_bnbug", 101, 3.3107, 2.6487417221069336, NAN},
        {"wavenet_hier", 300, 3.3142, 2.62776780128479, 2.232591152191162},
    };
    for (size_t i = 0; i < sizeof rungs / sizeof *rungs; i++) {
        char extra[200], what[96];
        snprintf(extra, sizeof extra,
                 "--set train.steps=%ld --set eval.every=0 --set eval.splits=[dev] "
                 "--set report.plots=none --set sample.count=0",
                 rungs[i].steps);
        json_t *j = run_spec(rungs[i].name, extra);
        snprintf(what, sizeof what, "%s step 0", rungs[i].name);
        NEAR(what, num(j, "loss", "step0"), rungs[i].step0, DEC4);
        snprintf(what, sizeof what, "%s step 100", rungs[i].name);
        NEAR(what, step_loss(rungs[i].name, 100), rungs[i].at100, STEP);
        if (!isnan(rungs[i].last)) {
            snprintf(what, sizeof what, "%s step %ld", rungs[i].name, rungs[i].steps - 1);
            NEAR(what, step_loss(rungs[i].name, rungs[i].steps - 1), rungs[i].last, STEP);
        }
        json_decref(j);
    }
}

/* Writes tmp/NAME.yaml: names.txt, context 8, (with_swish) the example swish plugin that
 * `make` builds, the given model lines; returns its path. */
static const char *write_spec(const char *name, int with_swish, const char *model)
{
    static char p[300];
    snprintf(p, sizeof p, "%s/%s.yaml", tmp, name);
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    fprintf(f, "data: {source: '%s/examples/data/names.txt', context: 8}\n", tu_srcdir());
    if (with_swish)
        fprintf(f,
                "plugins:\n"
                "  swish: {library: '%s/examples/plugins/swish.so', forward: swish_fwd, "
                "backward: swish_bwd, args: {beta: 1.0}}\n",
                tu_srcdir());
    fprintf(f, "model:\n%s", model);
    fclose(f);
    return p;
}

/* A [B, T, C] shape error names the layer's line and both shapes, exit 2. */
static void test_shape_error(void **state)
{
    (void)state;
    const char *p = write_spec("fc3", 0,
                               "  - embedding: {dim: 10}\n"
                               "  - flatten_consecutive: {n: 3}\n"
                               "  - linear: {}\n");
    char args[400], want[400];
    snprintf(args, sizeof args, "check '%s'", p);
    assert_int_equal(tu_nnrun(tmp, args), 2);
    char *err = tu_captured(tmp, "err");
    snprintf(want, sizeof want,
             "%s:4:5: error: layer 1 (flatten_consecutive) groups n = 3 consecutive positions, "
             "but layer 0 (embedding) gives [32, 8, 10]: 8 positions do not split into groups "
             "of 3, so there is no [32, 8/3, 10·3]",
             p);
    if (!strstr(err, want)) fail_msg("want '%s' in:\n%s", want, err);
    free(err);
    snprintf(args, sizeof args, "'%s' --out '%s/fc3run' --quiet", p, tmp);
    assert_int_equal(tu_nnrun(tmp, args), 2); /* a run fails the same way, before training */
}

/* Formula, plugin, relu and sigmoid activations on [B, T, C], and a rank-3 batchnorm of
 * each reduction, against central differences (nnrun gradcheck). */
static void test_rank3_activations(void **state)
{
    (void)state;
    const char *p =
        write_spec("acts", 1,
                   "  - embedding: {dim: 4}\n"
                   "  - flatten_consecutive: {n: 2}\n"
                   "  - linear: {out: 6}\n"
                   "  - activation: {expr: 'x * sigmoid(beta * x)', params: {beta: 1.5}, "
                   "learn: [beta], per: unit}\n"
                   "  - activation: swish\n"
                   "  - batchnorm: {over: batch}\n"
                   "  - relu\n"
                   "  - flatten_consecutive: {n: 2}\n"
                   "  - linear: {out: 5}\n"
                   "  - batchnorm: {}\n"
                   "  - sigmoid\n"
                   "  - flatten_consecutive: {n: 2}\n"
                   "  - linear: {}\n");
    char args[400];
    snprintf(args, sizeof args, "gradcheck '%s'", p);
    if (tu_nnrun(tmp, args) != 0)
        fail_msg("%s\n%s", tu_captured(tmp, "out"), tu_captured(tmp, "err"));
}

/* rng: {torch: global, seed: N}; the seed once; sample.replacement; resolved back. */
static void test_rng_and_sample_keys(void **state)
{
    (void)state;
    assert_int_equal(tu_nnrun(tmp, "check specs/wavenet.yaml --set seed=3"), 2);
    char *err = tu_captured(tmp, "err");
    if (!strstr(err, "error: the seed is given twice: in 'seed' and in 'rng.seed'"))
        fail_msg("stderr:\n%s", err);
    free(err);
    assert_int_equal(tu_nnrun(tmp, "check specs/wavenet.yaml --set rng.torch=globl"), 2);
    err = tu_captured(tmp, "err");
    if (!strstr(err, "rng.torch") || !strstr(err, "global")) fail_msg("stderr:\n%s", err);
    free(err);
    assert_int_equal(tu_nnrun(tmp, "check specs/wavenet.yaml --set sample.replacement=2"), 2);
    assert_int_equal(tu_nnrun(tmp, "check --resolved specs/wavenet_hier_bnbug.yaml"), 0);
    char *out = tu_captured(tmp, "out");
    static const char *const want[] = {"\nseed: 42\n", "\nrng: {torch: global}\n",
                                       "replacement: false", "over: batch",
                                       "flatten_consecutive:\n      n: 2"};
    for (size_t i = 0; i < sizeof want / sizeof *want; i++)
        if (!strstr(out, want[i])) fail_msg("--resolved lacks '%s':\n%s", want[i], out);
    free(out);
}

/* nnrun graph: every layer's output shape and parameter count. */
static void test_graph(void **state)
{
    (void)state;
    assert_int_equal(tu_nnrun(tmp, "graph specs/wavenet.yaml"), 0);
    char *out = tu_captured(tmp, "out");
    static const char *const want[] = {"[32, 8, 24]",      "[32, 4, 48]", "[32, 4, 128]",
                                       "[32, 2, 256]",     "[32, 256]",   "[32, 27]",
                                       "parameters: 76579"};
    for (size_t i = 0; i < sizeof want / sizeof *want; i++)
        if (!strstr(out, want[i])) fail_msg("graph lacks '%s':\n%s", want[i], out);
    free(out);
}

/* The report's statistics of [B, T, C] layers count every position: the first tanh's
 * histograms hold 32 · 4 · 128 values, the saturation map 4 · 128 columns per row. */
static void test_report_rank3(void **state)
{
    (void)state;
    json_decref(run_spec("wavenet", "--set train.steps=3 --set eval.every=0 --set sample.count=0 "
                                    "--set eval.splits=[dev]"));
    char p[400];
    snprintf(p, sizeof p, "%s/wavenet/stats.json", tmp);
    json_error_t e;
    json_t *j = json_load_file(p, 0, &e);
    if (!j) fail_msg("%s: %s", p, e.text);
    for (int k = 0; k < 2; k++) {
        json_t *a = json_array_get(json_object_get(j, k ? "gradients" : "activations"), 0);
        assert_string_equal(json_string_value(json_object_get(a, "name")), "layers.4");
        json_t *counts = json_object_get(json_object_get(a, "hist"), "counts");
        long total = 0;
        for (size_t i = 0; i < json_array_size(counts); i++)
            total += (long)json_integer_value(json_array_get(counts, i));
        assert_int_equal(total, 32 * 4 * 128);
    }
    json_t *sat = json_object_get(j, "saturation");
    assert_int_equal(json_integer_value(json_object_get(sat, "cols")), 4 * 128);
    assert_int_equal(json_array_size(json_object_get(json_object_get(j, "updates"), "names")), 5);
    json_decref(j);
}

static int setup(void **state)
{
    (void)state;
    return tu_mkdtemp(tmp, sizeof tmp, "/tmp/nnrun-wavenet-XXXXXX");
}

static int teardown(void **state)
{
    (void)state;
    return tu_rmtree(tmp);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_specs_check),
        cmocka_unit_test(test_wavenet_short),
        cmocka_unit_test(test_ladder_short),
        cmocka_unit_test(test_shape_error),
        cmocka_unit_test(test_rank3_activations),
        cmocka_unit_test(test_rng_and_sample_keys),
        cmocka_unit_test(test_graph),
        cmocka_unit_test(test_report_rank3),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
