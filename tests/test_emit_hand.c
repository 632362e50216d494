/* test_emit_hand.c — hand-built specs with every data kind, layer, init, loss, optimizer
 * and schedule, emitted and read back: the round trip checks that the emitter writes what
 * the parser reads (skipped with a message while it cannot). */
#include <yaml.h>

#include "emit_util.h"

/* A temporary directory with the data files the hand-built specs name. */
typedef struct {
    char dir[4096], csv[4200], params[4200], names[4200], ckpt[4200], spec[4200];
} fixture;

static void fixture_make(fixture *fx)
{
    char tmpl[] = "/tmp/nn_emitdir_XXXXXX";
    assert_non_null(mkdtemp(tmpl));
    char *dir = realpath(tmpl, NULL); /* the emitter writes canonical paths */
    assert_non_null(dir);
    snprintf(fx->dir, sizeof fx->dir, "%s", dir);
    free(dir);
    snprintf(fx->csv, sizeof fx->csv, "%s/moons.csv", fx->dir);
    snprintf(fx->params, sizeof fx->params, "%s/params.csv", fx->dir);
    snprintf(fx->names, sizeof fx->names, "%s/names.txt", fx->dir);
    snprintf(fx->ckpt, sizeof fx->ckpt, "%s/model.safetensors", fx->dir);
    snprintf(fx->spec, sizeof fx->spec, "%s/hand.yaml", fx->dir);
    writef(fx->csv, "x0,x1,y\n1.5,0.25,-1\n-0.5,0.75,1\n");
    writef(fx->params, "layer,neuron,kind,index,value\n0,0,w,0,0.25\n0,0,w,1,-0.5\n0,0,b,0,0.0\n");
    writef(fx->names, "emma\nolivia\nava\n");
    writef(fx->spec, "# only named by the hand-built specs\n");
}

static void fixture_free(fixture *fx)
{
    unlink(fx->csv), unlink(fx->params), unlink(fx->names), unlink(fx->spec), rmdir(fx->dir);
}

/* Whether text is well-formed YAML, whatever the schema says. */
static int yaml_ok(const char *text)
{
    yaml_parser_t p;
    yaml_document_t doc;
    yaml_parser_initialize(&p);
    yaml_parser_set_input_string(&p, (const unsigned char *)text, strlen(text));
    int ok = yaml_parser_load(&p, &doc) && yaml_document_get_root_node(&doc);
    if (!ok)
        fprintf(stderr, "YAML error: %s at line %zu\n%s", p.problem ? p.problem : "?",
                p.problem_mark.line + 1, text);
    else
        yaml_document_delete(&doc);
    yaml_parser_delete(&p);
    return ok;
}

/* Emits a hand-built spec, checks the forms `want` and that no line passes 100 columns
 * (save for long paths), then the round trip when the parser reads the spec already. */
static void check_hand(const nn_spec *s, const char *const *want)
{
    char path[64];
    char *t = emit_tmp(s, path, sizeof path);
    assert_true(yaml_ok(t));
    for (; *want; want++)
        assert_has(t, *want);
    for (const char *l = t; *l;) {
        const char *e = strchr(l, '\n');
        size_t n = e ? (size_t)(e - l) : strlen(l);
        char line[4096];
        snprintf(line, sizeof line, "%.*s", (int)n, l);
        if (n > 100 && !strstr(line, "'/")) fail_msg("line of %zu columns: %s", n, line);
        l += n + (e != NULL);
    }
    nn_diag *d = nn_diag_new();
    nn_spec *s2 = nn_spec_load(path, NULL, 0, d);
    if (s2) {
        nn_spec_free(s2);
        free(round_trip(s));
    }
    unlink(path);
    free(t);
    if (!s2) { /* the emitted spec must read back: a failure, never a skip */
        nn_diag_print(d, stderr);
        fail_msg("the emitted spec does not read back");
    }
    nn_diag_free(d);
}

static nn_spec hand_base(const fixture *fx, const char *name)
{
    nn_spec s = {.path = (char *)fx->spec, .name = (char *)name, .seed = 1337};
    s.data.split[NN_SPLIT_TRAIN] = 1;
    s.train = (nn_train_spec){.steps = 100, .batch = 32, .lr = {.value = 0.1}};
    s.eval = (nn_eval_spec){.every = 0, .splits = 1 << NN_SPLIT_TRAIN};
    s.sample = (nn_sample_spec){.count = 20, .seed = 1347, .temperature = 1, .max_len = 64};
    s.report.plots_all = 1;
    return s;
}

static const nn_init I_ZEROS = {.kind = NN_INIT_ZEROS, .scale = 1};

/* Lesson 1: CSV data, CSV-initialised weights, hinge loss, Σp² over every parameter. */
static void test_hand_csv(void **state)
{
    (void)state;
    fixture fx;
    fixture_make(&fx);
    char *x[] = {"x0", "x1"};
    nn_where where[] = {{"layer", "0"}, {"kind", "w"}};
    nn_spec s = hand_base(&fx, "micrograd");
    s.data = (nn_data_spec){.kind = NN_DATA_CSV,
                            .source = fx.csv,
                            .x_cols = x,
                            .nx = 2,
                            .y_col = "y",
                            .split = {1, 0, 0}};
    nn_layer l[] = {
        {.kind = NN_LAYER_LINEAR,
         .out = 16,
         .bias = 1,
         .bias_init = I_ZEROS,
         .init = {.kind = NN_INIT_CSV,
                  .file = fx.params,
                  .column = "value",
                  .where = where,
                  .nwhere = 2,
                  .transpose = 1,
                  .scale = 1}},
        {.kind = NN_LAYER_RELU},
        {.kind = NN_LAYER_LINEAR,
         .out = 1,
         .bias = 1,
         .bias_init = I_ZEROS,
         .init = {.kind = NN_INIT_UNIFORM, .a = -1, .b = 1, .scale = 1}},
    };
    s.layers = l, s.nlayers = 3;
    s.train.full_batch = 1, s.train.loss = NN_LOSS_HINGE;
    s.train.lr = (nn_lr_spec){.kind = NN_LR_LINEAR, .start = 1.0, .end = 0.1};
    s.train.l2 = 1e-4, s.train.l2_reduce = NN_L2_SUM, s.train.l2_all = 1;
    char src[4300];
    snprintf(src, sizeof src, "\n  csv: '%s'\n  x: [x0, x1]\n  y: 'y'\n", fx.csv);
    const char *want[] = {src,
                          "\n    train: 1.0\n    dev: 0.0\n    test: 0.0\n    shuffle: false\n",
                          "\n  - relu: {}\n",
                          "\n  batch: full\n",
                          "\n  loss: {hinge: {reduce: mean}}\n",
                          "\n  l2: {coef: 0.0001, reduce: sum, params: all}\n",
                          "\n  lr:\n    linear: {start: 1.0, end: 0.1}\n",
                          "\n      init:\n        csv:\n          file: '/",
                          "\n          column: value\n          where: {layer: '0', kind: 'w'}"
                          "\n          transpose: true\n        scale: 1.0\n",
                          "\n  - linear:\n      out: 1\n",
                          NULL};
    check_hand(&s, want);
    fixture_free(&fx);
}

/* Generated data, Adam, a cosine schedule with warm-up, summed MSE, an l2 term, a list of
 * plots. */
static void test_hand_generate(void **state)
{
    (void)state;
    fixture fx;
    fixture_make(&fx);
    char *plots[] = {"loss", "lr"};
    nn_spec s = hand_base(&fx, "moons");
    s.rng = NN_RNG_NATIVE;
    s.data = (nn_data_spec){.kind = NN_DATA_GENERATE,
                            .generator = NN_GEN_MOONS,
                            .gen_n = 100,
                            .gen_noise = 0.1,
                            .gen_seed = 1337,
                            .split = {0.8, 0.2, 0},
                            .shuffle = 1,
                            .shuffle_seed = 3};
    nn_layer l[] = {
        {.kind = NN_LAYER_LINEAR,
         .out = 16,
         .bias = 1,
         .bias_init = I_ZEROS,
         .init = {.kind = NN_INIT_KAIMING, .gain = 1.4142135623730951, .scale = 1}},
        {.kind = NN_LAYER_SIGMOID},
        {.kind = NN_LAYER_LINEAR,
         .out = 2,
         .init = {.kind = NN_INIT_NORMAL, .std = 0.02, .scale = 1}},
    };
    s.layers = l, s.nlayers = 3;
    s.train.loss = NN_LOSS_MSE, s.train.loss_sum = 1, s.train.optimizer = NN_OPT_ADAM;
    s.train.beta1 = 0.9, s.train.beta2 = 0.99, s.train.eps = 1e-8, s.train.weight_decay = 0.01;
    s.train.lr = (nn_lr_spec){.kind = NN_LR_COSINE, .start = 5e-4, .end = 0, .warmup = 10};
    s.train.l2 = 0.01; /* mean over weights, but not 0: the map form */
    s.eval = (nn_eval_spec){.every = 100, .splits = 1 << NN_SPLIT_TRAIN | 1 << NN_SPLIT_DEV};
    s.report = (nn_report_spec){.plots = plots, .nplots = 2, .every = 100};
    const char *want[] = {"\n  generate: moons\n  n: 100\n  noise: 0.1\n  seed: 1337\n",
                          "\n    shuffle: {seed: 3, compat: native}\n",
                          "\n  loss: {mse: {reduce: sum}}\n",
                          "\n    adam: {beta1: 0.9, beta2: 0.99, eps: 1.0e-08, weight_decay: 0.01}\n",
                          "\n    cosine: {start: 0.0005, end: 0.0}\n    warmup: 10\n",
                          "init: {kaiming: 1.4142135623730951, scale: 1.0}",
                          "\n      bias: false\n      init: {normal: 0.02, scale: 1.0}\ntrain:",
                          "\n  splits: [train, dev]\n",
                          "\n  l2: {coef: 0.01, reduce: mean, params: weights}\n",
                          "\n  plots: [loss, lr]\n  every: 100\n",
                          NULL};
    check_hand(&s, want);
    fixture_free(&fx);
}

/* Regex tokens, split counts, the counting n-gram, a sampling prefix, the lr finder. */
static void test_hand_ngram(void **state)
{
    (void)state;
    fixture fx;
    fixture_make(&fx);
    nn_spec s = hand_base(&fx, "trigram");
    s.rng = NN_RNG_TORCH;
    s.data = (nn_data_spec){.kind = NN_DATA_TEXT,
                            .source = fx.names,
                            .tokens = NN_TOKENS_PATTERN,
                            .token_pattern = "\\w+|[^\\w\\s]",
                            .context = 2,
                            .split_counts = 1,
                            .split_count = {25000, 3000, 4033},
                            .shuffle = 1,
                            .shuffle_seed = 7,
                            .shuffle_compat = NN_SHUFFLE_PYTHON};
    nn_layer l[] = {{.kind = NN_LAYER_NGRAM, .n = 3, .smoothing = 1}};
    s.layers = l, s.nlayers = 1;
    s.train.lr = (nn_lr_spec){.kind = NN_LR_FIND, .start = 1e-3, .end = 1};
    s.sample =
        (nn_sample_spec){.count = 5, .seed = 9, .temperature = 0.5, .max_len = 20, .prefix = "a'b"};
    const char *want[] = {"\nrng: torch\n",
                          "\n  tokens: {pattern: '\\w+|[^\\w\\s]'}\n  context: 2\n",
                          "\n    train: 25000\n    dev: 3000\n    test: 4033\n",
                          "\n  - ngram:\n      n: 3\n      smoothing: 1.0\n",
                          "\n    find: {min: 0.001, max: 1.0}\n",
                          "\n  prefix: 'a''b'\n",
                          NULL};
    check_hand(&s, want);
    fixture_free(&fx);
}

/* Inline data, listed and checkpointed weights, a plugin activation, Nesterov momentum,
 * a warmed-up constant rate; long lists wrap. */
static void test_hand_inline(void **state)
{
    (void)state;
    fixture fx;
    fixture_make(&fx);
    double x[] = {0, 0, 0, 1, 1, 0, 1, 1}, y[] = {0, 1, 1, 0}, w[40];
    for (int i = 0; i < 40; i++)
        w[i] = (i - 20) / 7.0;
    nn_arg args[] = {
        {"beta", NN_ARG_FLOAT, 1, {0}}, {"k", NN_ARG_INT, 3, {0}}, {"d", NN_ARG_DOUBLE, 0.5, {0}}};
    nn_spec s = hand_base(&fx, "xor");
    s.data = (nn_data_spec){.kind = NN_DATA_INLINE,
                            .inline_x = x,
                            .inline_y = y,
                            .inline_rows = 4,
                            .inline_cols = 2,
                            .split = {1, 0, 0}};
    nn_layer l[] = {
        {.kind = NN_LAYER_LINEAR,
         .out = 20,
         .bias = 1,
         .bias_init = I_ZEROS,
         .init = {.kind = NN_INIT_VALUES, .values = w, .nvalues = 40, .transpose = 1, .scale = 1}},
        {.kind = NN_LAYER_TANH},
        {.kind = NN_LAYER_ACTIVATION, .activation = "swish", .args = args, .nargs = 3},
        {.kind = NN_LAYER_ACTIVATION, .activation = "swish"},
        {.kind = NN_LAYER_LINEAR,
         .out = 2,
         .init = {.kind = NN_INIT_FROM, .file = fx.ckpt, .tensor = "l3.w", .scale = 1}},
    };
    s.layers = l, s.nlayers = 5;
    nn_arg decl[] = {
        {"beta", NN_ARG_FLOAT, 2, {0}}, {"k", NN_ARG_INT, 1, {0}}, {"d", NN_ARG_DOUBLE, 0.25, {0}}};
    nn_plugin_spec pl = {.name = "swish",
                         .library = "/opt/it's/swish.so",
                         .forward = "swish_fwd",
                         .args = decl,
                         .nargs = 3,
                         .scalar = 1,
                         .check = 0};
    s.plugins = &pl, s.nplugins = 1;
    s.train.momentum = 0.9, s.train.nesterov = 1;
    s.train.lr = (nn_lr_spec){.kind = NN_LR_CONSTANT, .value = 0.05, .warmup = 5};
    const char *want[] = {
        "\n  inline:\n    x:\n      - [0.0, 0.0]\n      - [0.0, 1.0]\n",
        "\n    y: [0.0, 1.0, 1.0, 0.0]\n",
        "\n        values: [-2.857142857142857, -2.7142857142857144, -2.5714285714285716,\n",
        "\n        transpose: true\n        scale: 1.0\n",
        "\nplugins:\n  swish:\n    library: '/opt/it''s/swish.so'\n    forward: 'swish_fwd'\n"
        "    args: {beta: 2.0, k: {int: 1}, d: {double: 0.25}}\n    form: scalar\n"
        "    check: false\nmodel:\n",
        "\n  - activation:\n      swish: {beta: 1.0, k: {int: 3}, d: {double: 0.5}}\n",
        "\n  - activation: swish\n",
        "/model.safetensors'\n        tensor: l3.w\n        scale: 1.0\n",
        "\n    sgd: {momentum: 0.9, nesterov: true}\n",
        "\n  lr:\n    constant: 0.05\n    warmup: 5\n",
        NULL};
    check_hand(&s, want);
    fixture_free(&fx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hand_csv),
        cmocka_unit_test(test_hand_generate),
        cmocka_unit_test(test_hand_ngram),
        cmocka_unit_test(test_hand_inline),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
