/* test_spec2.c — the spec parser, full language: data kinds, new layers and inits,
 * losses, optimizers, schedules, l2 forms, report plots, merge keys and includes.
 * (Hostile input is tested in test_spec.c.) */
#include <math.h>
#include <unistd.h>

#include "testutil.h"

#include "parser/diag.h"
#include "parser/spec.h"

static nn_spec *load(const char *rel, const char *const *sets, int nsets, nn_diag **d)
{
    char path[4096];
    snprintf(path, sizeof path, "%s", tu_path(rel));
    *d = nn_diag_new();
    nn_spec *s = nn_spec_load(path, sets, nsets, *d);
    if (!s && nn_diag_count(*d) == 0) fail_msg("%s: NULL without an error", rel);
    return s;
}

/* Loads a spec that must be valid; prints its errors otherwise. */
static nn_spec *load_good(const char *rel, nn_diag **d)
{
    nn_spec *s = load(rel, NULL, 0, d);
    if (!s) nn_diag_print(*d, stderr);
    assert_non_null(s);
    assert_int_equal(nn_diag_count(*d), 0);
    return s;
}

/* Writes `len` bytes to a fresh temporary file; the caller unlinks `path`. */
static void write_tmp(char *path, size_t size, const char *text, size_t len)
{
    snprintf(path, size, "/tmp/nn_spec2_XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    for (size_t off = 0; off < len;) {
        ssize_t w = write(fd, text + off, len - off);
        assert_true(w > 0);
        off += (size_t)w;
    }
    close(fd);
}

/* Loads `text` from a temporary file: the spec, or NULL with the errors in *d. */
static nn_spec *load_text(const char *text, nn_diag **d)
{
    char path[64];
    write_tmp(path, sizeof path, text, strlen(text));
    *d = nn_diag_new();
    nn_spec *s = nn_spec_load(path, NULL, 0, *d);
    unlink(path);
    return s;
}

/* The first error of a spec that must fail contains `want`. */
static void assert_fails(const char *text, const char *want)
{
    nn_diag *d;
    nn_spec *s = load_text(text, &d);
    if (s) fail_msg("loaded without an error:\n%s", text);
    assert_true(nn_diag_count(d) >= 1);
    if (!strstr(nn_diag_line(d, 0), want))
        fail_msg("got  %s\nwant ...%s", nn_diag_line(d, 0), want);
    nn_diag_free(d);
}

static void assert_close(double a, double b)
{
    if (!tu_close(a, b, 1e-12, 1e-12)) fail_msg("%.17g != %.17g", a, b);
}

/* "<srcdir>/tests/specs/good/<rel>" */
static void assert_path(const char *got, const char *rel)
{
    char want[4200];
    snprintf(want, sizeof want, "%s", tu_path("tests/specs/good/"));
    strncat(want, rel, sizeof want - strlen(want) - 1);
    assert_string_equal(got, want);
}

static void test_micrograd_moons(void **state)
{
    (void)state;
    nn_diag *d;
    nn_spec *s = load_good("tests/specs/good/micrograd_moons.yaml", &d);
    const nn_data_spec *da = &s->data;
    assert_int_equal(da->kind, NN_DATA_CSV);
    assert_int_equal(da->kind_mark.line, 6);
    assert_path(da->source, "../../../examples/data/moons_n100_noise0.1_seed1337.csv");
    assert_int_equal(da->nx, 2);
    assert_string_equal(da->x_cols[0], "x0");
    assert_string_equal(da->x_cols[1], "x1");
    assert_string_equal(da->y_col, "y");
    assert_close(da->split[NN_SPLIT_TRAIN], 1);
    assert_close(da->split[NN_SPLIT_DEV] + da->split[NN_SPLIT_TEST], 0);
    assert_int_equal(da->split_counts, 0);
    assert_int_equal(da->shuffle, 1);
    assert_int_equal(s->nlayers, 5);
    const nn_layer *l = s->layers;
    assert_int_equal(l[0].kind, NN_LAYER_LINEAR);
    assert_int_equal(l[0].out, 16);
    const nn_init *in = &l[0].init;
    assert_int_equal(in->kind, NN_INIT_CSV);
    assert_path(in->file, "params.csv");
    assert_string_equal(in->column, "value");
    assert_int_equal(in->nwhere, 2);
    assert_string_equal(in->where[0].column, "layer");
    assert_string_equal(in->where[0].equals, "0"); /* a plain number keeps its text */
    assert_string_equal(in->where[1].column, "kind");
    assert_string_equal(in->where[1].equals, "w");
    assert_int_equal(in->transpose, 1);
    assert_close(in->scale, 1);
    assert_int_equal(l[0].bias_init.kind, NN_INIT_CSV);
    assert_int_equal(l[0].bias_init.transpose, 0);
    assert_string_equal(l[0].bias_init.where[1].equals, "b");
    assert_int_equal(l[1].kind, NN_LAYER_RELU);
    assert_string_equal(l[2].init.where[0].equals, "1");
    assert_int_equal(l[2].bias_init.kind, NN_INIT_ZEROS);
    assert_int_equal(l[3].kind, NN_LAYER_RELU);
    assert_int_equal(l[4].init.kind, NN_INIT_UNIFORM);
    assert_close(l[4].init.a, -1);
    const nn_train_spec *t = &s->train;
    assert_true(t->steps == 100);
    assert_int_equal(t->full_batch, 1);
    assert_int_equal(t->loss, NN_LOSS_HINGE);
    assert_int_equal(t->loss_sum, 0);
    assert_int_equal(t->loss_mark.line, 24);
    assert_int_equal(t->optimizer, NN_OPT_SGD);
    assert_int_equal(t->lr.kind, NN_LR_LINEAR);
    assert_close(t->lr.start, 1.0);
    assert_close(t->lr.end, 0.1);
    assert_true(t->lr.warmup == 0);
    assert_close(t->l2, 1e-4);
    assert_int_equal(t->l2_reduce, NN_L2_SUM);
    assert_int_equal(t->l2_all, 1);
    assert_int_equal(s->eval.splits, 1 << NN_SPLIT_TRAIN);
    assert_int_equal(s->report.plots_all, 0);
    assert_int_equal(s->report.nplots, 2);
    assert_string_equal(s->report.plots[0], "loss");
    assert_string_equal(s->report.plots[1], "boundary");
    assert_true(s->report.every == 10);
    nn_spec_free(s);
    nn_diag_free(d);
}

static void test_bigram_nn(void **state)
{
    (void)state;
    nn_diag *d;
    nn_spec *s = load_good("tests/specs/good/bigram_nn.yaml", &d);
    assert_int_equal(s->data.kind, NN_DATA_TEXT);
    assert_int_equal(s->data.context, 1);
    assert_close(s->data.split[NN_SPLIT_TRAIN], 1); /* {train: 1} is a fraction */
    assert_close(s->data.split[NN_SPLIT_DEV], 0);
    assert_int_equal(s->data.split_counts, 0);
    assert_int_equal(s->data.shuffle, 0);
    assert_int_equal(s->nlayers, 3);
    assert_int_equal(s->layers[0].kind, NN_LAYER_ONEHOT);
    assert_int_equal(s->layers[1].kind, NN_LAYER_FLATTEN);
    assert_int_equal(s->layers[2].bias, 0);
    assert_int_equal(s->train.full_batch, 1);
    assert_int_equal(s->train.lr.kind, NN_LR_CONSTANT);
    assert_close(s->train.lr.value, 50);
    assert_close(s->train.l2, 0.01);
    assert_int_equal(s->train.l2_reduce, NN_L2_MEAN);
    assert_int_equal(s->train.l2_all, 0);
    assert_int_equal(s->report.plots_all, 0);
    assert_int_equal(s->report.nplots, 0);
    assert_null(s->sample.prefix);
    nn_spec_free(s);
    nn_diag_free(d);
}

static void test_trigram_counts(void **state)
{
    (void)state;
    nn_diag *d;
    nn_spec *s = load_good("tests/specs/good/trigram_counts.yaml", &d);
    assert_int_equal(s->nlayers, 1);
    assert_int_equal(s->layers[0].kind, NN_LAYER_NGRAM);
    assert_int_equal(s->layers[0].n, 3);
    assert_close(s->layers[0].smoothing, 1);
    assert_int_equal(s->data.context, 2); /* n − 1 */
    assert_int_equal(s->data.shuffle_compat, NN_SHUFFLE_PYTHON);
    assert_string_equal(s->sample.prefix, "em");
    assert_int_equal(s->sample.count, 10);
    assert_int_equal(s->report.nplots, 1);
    assert_string_equal(s->report.plots[0], "counts");
    nn_spec_free(s);
    nn_diag_free(d);
    /* a bigram by default; context may be written when it agrees */
    s = load_text("data: {source: a.txt, context: 1}\nmodel: [ngram]\n", &d);
    assert_non_null(s);
    assert_int_equal(s->layers[0].n, 2);
    assert_close(s->layers[0].smoothing, 0);
    assert_int_equal(s->data.context, 1);
    nn_spec_free(s);
    nn_diag_free(d);
}

static void test_toy_mse(void **state)
{
    (void)state;
    nn_diag *d;
    nn_spec *s = load_good("tests/specs/good/toy_mse.yaml", &d);
    const nn_data_spec *da = &s->data;
    assert_int_equal(da->kind, NN_DATA_INLINE);
    assert_int_equal(da->inline_rows, 4);
    assert_int_equal(da->inline_cols, 3);
    static const double x[] = {2, 3, -1, 3, -1, 0.5, 0.5, 1, 1, 1, 1, -1}, y[] = {1, -1, -1, 1};
    for (int i = 0; i < 12; i++)
        assert_close(da->inline_x[i], x[i]);
    for (int i = 0; i < 4; i++)
        assert_close(da->inline_y[i], y[i]);
    assert_close(da->split[NN_SPLIT_TRAIN], 1);
    assert_int_equal(s->nlayers, 6);
    assert_int_equal(s->layers[0].bias_init.kind, NN_INIT_UNIFORM);
    const nn_init *v = &s->layers[4].init;
    assert_int_equal(v->kind, NN_INIT_VALUES);
    assert_int_equal(v->nvalues, 4);
    assert_close(v->values[3], -0.4);
    assert_int_equal(v->transpose, 0);
    assert_int_equal(s->layers[4].bias_init.nvalues, 1);
    assert_close(s->layers[4].bias_init.values[0], 0.5);
    assert_int_equal(s->train.loss, NN_LOSS_MSE);
    assert_int_equal(s->train.loss_sum, 1);
    assert_int_equal(s->train.loss_mark.line, 16);
    assert_int_equal(s->train.loss_mark.col, 10);
    assert_close(s->train.momentum, 0.5);
    assert_int_equal(s->train.nesterov, 1);
    nn_spec_free(s);
    nn_diag_free(d);
}

static void test_adam_cosine(void **state)
{
    (void)state;
    nn_diag *d;
    nn_spec *s = load_good("tests/specs/good/adam_cosine.yaml", &d);
    const nn_data_spec *da = &s->data;
    assert_int_equal(da->tokens, NN_TOKENS_PATTERN);
    assert_string_equal(da->token_pattern, "[aeiou]+|[^aeiou]");
    assert_int_equal(da->context, 4);
    assert_int_equal(da->split_counts, 1);
    assert_true(da->split_count[0] == 30000 && da->split_count[1] == 1000);
    assert_true(da->split_count[2] == 1033);
    assert_true(da->shuffle == 1 && da->shuffle_seed == 7);
    const nn_layer *l = s->layers;
    assert_int_equal(s->nlayers, 7);
    assert_int_equal(l[0].init.kind, NN_INIT_FROM);
    assert_path(l[0].init.file, "base.safetensors");
    assert_string_equal(l[0].init.tensor, "emb.weight");
    assert_close(l[0].init.scale, 0.5);
    assert_int_equal(l[2].init.kind, NN_INIT_VALUES);
    assert_int_equal(l[2].init.nvalues, 6);
    assert_int_equal(l[2].init.transpose, 1);
    assert_int_equal(l[3].kind, NN_LAYER_SIGMOID);
    assert_int_equal(l[4].kind, NN_LAYER_ACTIVATION);
    assert_string_equal(l[4].activation, "swish");
    assert_int_equal(l[4].nargs, 3);
    assert_string_equal(l[4].args[0].name, "beta");
    assert_int_equal(l[4].args[0].type, NN_ARG_FLOAT);
    assert_close(l[4].args[0].value, 1.5);
    assert_string_equal(l[4].args[1].name, "gamma");
    assert_int_equal(l[4].args[1].type, NN_ARG_DOUBLE);
    assert_close(l[4].args[1].value, 0.25);
    assert_int_equal(l[4].args[2].type, NN_ARG_INT);
    assert_close(l[4].args[2].value, 3);
    assert_int_equal(l[4].args[2].mark.line, 12);
    assert_string_equal(l[5].activation, "mish");
    assert_int_equal(l[5].nargs, 0);
    /* the plugins section: paths relative to the spec, symbols, typed defaults, options */
    assert_int_equal(s->nplugins, 2);
    const nn_plugin_spec *pl = s->plugins;
    assert_string_equal(pl[0].name, "swish");
    assert_path(pl[0].library, "plugins/swish.so");
    assert_string_equal(pl[0].forward, "swish_fwd");
    assert_string_equal(pl[0].backward, "swish_bwd");
    assert_int_equal(pl[0].nargs, 3);
    assert_int_equal(pl[0].args[1].type, NN_ARG_DOUBLE);
    assert_int_equal(pl[0].args[2].type, NN_ARG_INT);
    assert_int_equal(pl[0].scalar, 0);
    assert_int_equal(pl[0].check, 1);
    assert_string_equal(pl[1].library, "/opt/mish.so");
    assert_null(pl[1].backward);
    assert_int_equal(pl[1].scalar, 1);
    assert_int_equal(pl[1].check, 0);
    const nn_train_spec *t = &s->train;
    assert_int_equal(t->batch, 64);
    assert_int_equal(t->full_batch, 0);
    assert_int_equal(t->loss, NN_LOSS_CROSS_ENTROPY);
    assert_int_equal(t->optimizer, NN_OPT_ADAM);
    assert_close(t->beta1, 0.8);
    assert_close(t->beta2, 0.99);
    assert_close(t->eps, 1e-6);
    assert_close(t->weight_decay, 0.01);
    assert_int_equal(t->lr.kind, NN_LR_COSINE);
    assert_close(t->lr.start, 3e-3);
    assert_close(t->lr.end, 1e-5);
    assert_true(t->lr.warmup == 200);
    assert_close(t->l2, 0.5);
    assert_int_equal(t->l2_reduce, NN_L2_SUM);
    assert_int_equal(t->l2_all, 0);
    assert_int_equal(s->report.plots_all, 1);
    assert_true(s->report.every == 100);
    nn_spec_free(s);
    nn_diag_free(d);
}

static void test_generate_xor(void **state)
{
    (void)state;
    nn_diag *d;
    nn_spec *s = load_good("tests/specs/good/generate_xor.yaml", &d);
    const nn_data_spec *da = &s->data;
    assert_int_equal(da->kind, NN_DATA_GENERATE);
    assert_int_equal(da->generator, NN_GEN_XOR);
    assert_true(da->gen_n == 400);
    assert_close(da->gen_noise, 0.05);
    assert_true(da->gen_seed == UINT64_MAX);
    assert_int_equal(da->split_counts, 1);
    assert_true(da->split_count[0] == 300 && da->split_count[1] == 100 && da->split_count[2] == 0);
    assert_int_equal(s->train.loss, NN_LOSS_HINGE);
    assert_int_equal(s->train.loss_sum, 1);
    assert_int_equal(s->train.lr.kind, NN_LR_EXPONENTIAL);
    assert_close(s->train.lr.start, 0.5);
    assert_close(s->train.lr.gamma, 0.999);
    assert_int_equal(s->train.optimizer, NN_OPT_SGD);
    nn_spec_free(s);
    nn_diag_free(d);
    /* generate defaults */
    s = load_text("data: {generate: moons}\nmodel: [{linear: {out: 1}}]\n", &d);
    assert_non_null(s);
    assert_int_equal(s->data.generator, NN_GEN_MOONS);
    assert_true(s->data.gen_n == 100 && s->data.gen_seed == 0);
    assert_close(s->data.gen_noise, 0.1);
    assert_close(s->data.split[0], 1);
    assert_int_equal(s->data.shuffle, 1);
    nn_spec_free(s);
    nn_diag_free(d);
}

static void test_lr_find_and_defaults(void **state)
{
    (void)state;
    nn_diag *d;
    nn_spec *s = load_good("tests/specs/good/lr_find.yaml", &d);
    assert_int_equal(s->train.lr.kind, NN_LR_FIND);
    assert_close(s->train.lr.start, 1e-3);
    assert_close(s->train.lr.end, 1);
    assert_int_equal(s->data.shuffle, 0);
    assert_close(s->data.split[0], 0.8); /* the text default stays */
    assert_string_equal(s->report.plots[1], "lr_find");
    nn_spec_free(s);
    nn_diag_free(d);
    /* schedule boundaries beyond the last step are legal */
    s = load_text("data: {source: a}\nmodel: [tanh]\ntrain: {steps: 10, lr: {steps: "
                  "{boundaries: [100000], values: [0.1, 0.01]}, warmup: 5}}\n",
                  &d);
    assert_non_null(s);
    assert_true(s->train.lr.boundaries[0] == 100000 && s->train.lr.warmup == 5);
    nn_spec_free(s);
    nn_diag_free(d);
    s = load_good("tests/specs/good/minimal.yaml", &d);
    assert_int_equal(s->data.kind, NN_DATA_TEXT);
    assert_int_equal(s->data.tokens, NN_TOKENS_CHARS);
    assert_null(s->data.token_pattern);
    assert_int_equal(s->data.shuffle, 1);
    assert_int_equal(s->data.split_counts, 0);
    assert_int_equal(s->train.full_batch, 0);
    assert_int_equal(s->train.loss, NN_LOSS_CROSS_ENTROPY);
    assert_int_equal(s->train.loss_sum, 0);
    assert_close(s->train.beta1, 0.9);
    assert_close(s->train.beta2, 0.999);
    assert_close(s->train.eps, 1e-8);
    assert_close(s->train.weight_decay, 0);
    assert_int_equal(s->train.nesterov, 0);
    assert_true(s->train.lr.warmup == 0);
    assert_close(s->train.l2, 0);
    assert_int_equal(s->train.l2_reduce, NN_L2_MEAN);
    assert_int_equal(s->train.l2_all, 0);
    assert_null(s->sample.prefix);
    assert_int_equal(s->report.plots_all, 1);
    assert_true(s->report.every == 0);
    assert_int_equal(s->layers[0].init.kind, NN_INIT_NORMAL);
    assert_null(s->layers[0].init.values);
    nn_spec_free(s);
    nn_diag_free(d);
}

static void test_merge_keys(void **state)
{
    (void)state;
    nn_diag *d;
    nn_spec *s = load_good("tests/specs/good/merge_keys.yaml", &d);
    const nn_layer *l = s->layers;
    assert_int_equal(s->nlayers, 7);
    assert_int_equal(l[2].out, 200); /* its own key wins */
    assert_int_equal(l[2].bias, 0);
    assert_close(l[2].init.gain, 5.0 / 3.0);
    assert_int_equal(l[2].init.mark.line, 2); /* merged keys keep their marks */
    assert_close(l[3].eps, 0);
    assert_close(l[3].momentum, 0.01);
    assert_int_equal(l[3].init.kind, NN_INIT_NORMAL);
    assert_close(l[3].init.scale, 0.1);
    assert_int_equal(l[5].out, 100);
    assert_int_equal(l[6].init.kind, NN_INIT_NORMAL); /* the first merged map wins */
    assert_int_equal(l[6].out, 100);
    nn_spec_free(s);
    nn_diag_free(d);
    /* a quoted '<<' is an ordinary (unknown) key; a merge inside a --set value works */
    assert_fails("data: {source: a}\nmodel: [tanh]\ntrain: {'<<': {steps: 1}}\n",
                 ":3:9: error: unknown key '<<' in 'train'");
    const char *sets[] = {"train={<<: {steps: 7, batch: 3}, batch: 4}"};
    s = load("tests/specs/good/minimal.yaml", sets, 1, &d);
    assert_non_null(s);
    assert_true(s->train.steps == 7 && s->train.batch == 4);
    nn_spec_free(s);
    nn_diag_free(d);
    /* every bad merge value is reported, and the map is still checked */
    nn_spec *bad = load_text("x-a: &a [1]\ndata: {source: a}\nmodel: [tanh]\n"
                             "train: {<<: [*a, 3], stpes: 1}\n",
                             &d);
    assert_null(bad);
    assert_int_equal(nn_diag_count(d), 3);
    assert_non_null(strstr(nn_diag_line(d, 0), ":4:9: error: the merge key '<<' takes a map"));
    assert_non_null(strstr(nn_diag_line(d, 2), ":4:22: error: unknown key 'stpes'"));
    nn_diag_free(d);
}

static void test_include_override(void **state)
{
    (void)state;
    nn_diag *d;
    nn_spec *s = load_good("tests/specs/good/include_override.yaml", &d);
    assert_string_equal(s->name, "child");
    assert_true(s->seed == 42);                      /* from the base */
    assert_path(s->data.source, "inc/names.txt");    /* relative to the base's file */
    assert_string_equal(s->data.filter, "^[a-z]+$"); /* maps merge key by key */
    assert_non_null(strstr(s->data.filter_mark.file, "inc/base.yaml"));
    assert_int_equal(s->data.filter_mark.line, 6);
    assert_int_equal(s->data.context, 5);
    assert_close(s->data.split[0], 0.9);
    assert_close(s->data.split[2], 0.05);
    assert_int_equal(s->nlayers, 5); /* sequences are replaced whole */
    assert_int_equal(s->layers[0].dim, 4);
    assert_non_null(strstr(s->layers[0].mark.file, "include_override.yaml"));
    assert_true(s->train.steps == 50);
    assert_int_equal(s->train.batch, 64); /* the later include overrides the earlier */
    assert_true(s->eval.every == 100);
    nn_spec_free(s);
    nn_diag_free(d);
    const char *sets[] = {"data.source=x.txt", "include=inc/extra.yaml"};
    s = load("tests/specs/good/include_override.yaml", sets, 1, &d);
    assert_path(s->data.source, "x.txt"); /* --set: relative to the spec file */
    nn_spec_free(s);
    nn_diag_free(d);
    assert_null(load("tests/specs/good/include_override.yaml", sets + 1, 1, &d));
    assert_string_equal(nn_diag_line(d, 0), "--set:1:1: error: 'include' cannot be set with "
                                            "--set: includes are read with the spec file");
    nn_diag_free(d);
}

static void test_include_errors(void **state)
{
    (void)state;
    char dir[] = "/tmp/nn_inc_XXXXXX", path[128], text[256];
    assert_non_null(mkdtemp(dir));
    /* a chain f0 → f1 → ... → f10: too deep */
    for (int i = 0; i <= 10; i++) {
        snprintf(path, sizeof path, "%s/f%d.yaml", dir, i);
        snprintf(text, sizeof text, "include: f%d.yaml\nseed: %d\n", i + 1, i);
        if (i == 10) snprintf(text, sizeof text, "data: {source: a}\nmodel: [tanh]\n");
        FILE *f = fopen(path, "w");
        assert_non_null(f);
        fputs(text, f);
        fclose(f);
    }
    nn_diag *d = nn_diag_new();
    snprintf(path, sizeof path, "%s/f0.yaml", dir);
    assert_null(nn_spec_load(path, NULL, 0, d));
    assert_non_null(strstr(nn_diag_line(d, 0), "/f8.yaml:1:10: error: includes nested deeper "
                                               "than 8 levels"));
    nn_diag_free(d);
    d = nn_diag_new(); /* eight levels are fine */
    snprintf(path, sizeof path, "%s/f2.yaml", dir);
    nn_spec *s = nn_spec_load(path, NULL, 0, d);
    if (!s) nn_diag_print(d, stderr);
    assert_non_null(s);
    assert_true(s->seed == 2);
    nn_spec_free(s);
    nn_diag_free(d);
    for (int i = 0; i <= 10; i++) {
        snprintf(path, sizeof path, "%s/f%d.yaml", dir, i);
        unlink(path);
    }
    rmdir(dir);
    assert_fails("include: [3, {a: 1}]\n", ":1:11: error: cannot read the included file '3'");
    assert_fails("include: /tmp\n", "cannot read the included file '/tmp': it is a directory");
    assert_fails("include: []\n", "missing required top-level key 'data'");
}

/* Split forms: fractions, counts, and the 0/1 ambiguity. */
static void test_split_forms(void **state)
{
    (void)state;
    nn_diag *d;
    nn_spec *s = load_text("data: {source: a, split: {train: 1, dev: 1}}\nmodel: [tanh]\n", &d);
    assert_non_null(s);
    assert_int_equal(s->data.split_counts, 1); /* 1 + 1: counts */
    assert_true(s->data.split_count[0] == 1 && s->data.split_count[1] == 1);
    nn_spec_free(s);
    nn_diag_free(d);
    s = load_text("data: {source: a, split: {train: 1, dev: 0.0}}\nmodel: [tanh]\n", &d);
    assert_non_null(s);
    assert_int_equal(s->data.split_counts, 0);
    assert_close(s->data.split[0], 1);
    nn_spec_free(s);
    nn_diag_free(d);
    assert_fails("data: {source: a, split: {train: 1, dev: 0.5}}\nmodel: [tanh]\n",
                 "fractions must sum to 1, got 1.5");
    assert_fails("data: {source: a, split: {train: 10, dev: -1}}\nmodel: [tanh]\n",
                 "'data.split.dev' must be between 0 and 1000000000000, got -1");
    assert_fails("data: {source: a, split: {shuffle: 3}}\nmodel: [tanh]\n",
                 "expected {seed: N, compat: native|python} or false for 'data.split.shuffle'");
}

/* More independent errors: all are reported, each at its own place. */
static void test_new_errors(void **state)
{
    (void)state;
    nn_diag *d;
    nn_spec *s = load_text("data:\n  generate: moons\n  tokens: chars\n  noise: -1\n"
                           "model:\n  - embedding: {dim: 2}\n  - ngram\n"
                           "train: {loss: {cross_entropy: {reduce: sum}}, optimizer: {adam: "
                           "{beta3: 1}}, lr: {warmup: -1, linear: {start: 0, end: 0}}}\n"
                           "report: {plots: [loss, loss], evry: 1}\nsample: {prefix: ''}\n",
                           &d);
    assert_null(s);
    static const char *const want[] = {
        ":3:3: error: 'data.tokens' is only for text data",
        ":4:10: error: 'data.noise' must be at least 0, got -1",
        ":7:5: error: 'ngram' is a whole model",
        ":8:31: error: 'train.loss.cross_entropy' takes no options",
        ":8:66: error: unknown key 'beta3' in 'train.optimizer.adam' (did you mean 'beta1'?)",
        ":8:91: error: 'train.lr.warmup' must be between 0 and",
        ":8:103: error: 'train.lr.linear' needs start or end above 0",
        ":9:24: error: duplicate plot 'loss' in 'report.plots'",
        ":9:31: error: unknown key 'evry' in 'report' (did you mean 'every'?)",
        ":10:18: error: 'sample.prefix' must be a non-empty string",
        ":6:5: error: 'embedding' needs token ids from text data",
        ":7:5: error: 'ngram' needs token ids from text data",
        ":10:1: error: 'sample' is only for text data (source: FILE), not for generated data",
    };
    int n = (int)(sizeof want / sizeof want[0]);
    if (nn_diag_count(d) != n) nn_diag_print(d, stderr);
    assert_int_equal(nn_diag_count(d), n);
    for (int i = 0; i < n; i++)
        if (!strstr(nn_diag_line(d, i), want[i]))
            fail_msg("error %d: got %s\nwant ...%s", i, nn_diag_line(d, i), want[i]);
    nn_diag_free(d);
    assert_fails("data: {inline: {x: [[1]], y: [1]}, context: 2}\nmodel: [tanh]\n",
                 "'data.context' is only for text data (source: FILE), not for inline data");
    assert_fails("data: {source: a}\nmodel: [{activation: 3x}]\n",
                 "expected a plugin name for 'model.0.activation'");
    assert_fails("data: {source: a}\nmodel: [{linear: {init: {from: a.st, transpose: true}}}]\n",
                 "'model.0.linear.init.transpose' is only for 'values'");
    assert_fails("data: {source: a}\nmodel: [{linear: {init: {values: [1], tensor: w}}}]\n",
                 "'model.0.linear.init.tensor' is only for 'from'");
    assert_fails("data: {source: a}\nmodel: [tanh]\ntrain: {lr: {find: {min: 0}}}\n",
                 "'train.lr.find.min' must be greater than 0, got 0");
    assert_fails("data: {source: a}\nmodel: [tanh]\ntrain: {l2: {reduce: sum}}\n",
                 "missing required key 'coef' in 'train.l2'");
    assert_fails("data: {source: a}\nmodel: [tanh]\ntrain: {loss: {mse: {}, hinge: {}}}\n",
                 "'train.loss' must name exactly one of cross_entropy, hinge, mse");
    assert_fails("data: {source: a}\nmodel: [tanh]\ntrain: {loss: squared}\n",
                 "unknown value 'squared' for 'train.loss'; expected one of: cross_entropy, "
                 "hinge, mse");
    assert_fails("data: {inline: {x: [[1, 2, 3], [], [4, 5, 6]], y: [1, 2, 3]}}\nmodel: [tanh]\n",
                 ":1:32: error: 'data.inline.x.1' has 0 values, but row 0 has 3");
    assert_fails("data: {source: a}\nmodel: [tanh]\nx-: 1\nxx: 2\n",
                 ":4:1: error: unknown top-level key 'xx'");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_micrograd_moons),      cmocka_unit_test(test_bigram_nn),
        cmocka_unit_test(test_trigram_counts),       cmocka_unit_test(test_toy_mse),
        cmocka_unit_test(test_adam_cosine),          cmocka_unit_test(test_generate_xor),
        cmocka_unit_test(test_lr_find_and_defaults), cmocka_unit_test(test_merge_keys),
        cmocka_unit_test(test_include_override),     cmocka_unit_test(test_include_errors),
        cmocka_unit_test(test_split_forms),          cmocka_unit_test(test_new_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
