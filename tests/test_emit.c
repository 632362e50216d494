/* test_emit.c — the resolved-spec emitter (nn_spec_emit).  For every spec in specs/ and
 * tests/specs/good/: load → emit → load → emit gives the same text byte for byte (the
 * header keeps naming the original file) and the same nn_spec.  Then the value forms
 * (floats, u64 seeds, quoted strings, paths), --set overrides, and hand-built specs with
 * every data kind, layer, init, loss, optimizer and schedule, whose round trip checks that
 * the emitter writes what the parser reads (skipped with a message while it cannot). */
#include <dirent.h>
#include <math.h>
#include <unistd.h>

#include <yaml.h>

#include "testutil.h"

#include "parser/diag.h"
#include "parser/matrix.h"
#include "parser/spec.h"

/* --- helpers ------------------------------------------------------------------------ */

/* Emits s into a fresh temporary .yaml file; returns its text, the path in `path`. */
static char *emit_tmp(const nn_spec *s, char *path, size_t size)
{
    snprintf(path, size, "/tmp/nn_emit_XXXXXX.yaml");
    int fd = mkstemps(path, 5);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "w");
    assert_non_null(f);
    assert_int_equal(nn_spec_emit(s, f), 0);
    fclose(f);
    char *text = tu_read_file(path);
    assert_non_null(text);
    return text;
}

/* The file a resolved text names in its header comment (up to the end of the line). */
static const char *header_from(const char *text)
{
    assert_true(strncmp(text, "# resolved by nnrun ", 20) == 0);
    const char *from = strstr(text, " from ");
    assert_non_null(from);
    return from + 6;
}

static void writef(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

/* Field comparisons that name the field; expressions, so they chain with commas. */
static void eq_i(const char *what, long long x, long long y)
{
    if (x != y) fail_msg("%s: %lld != %lld", what, x, y);
}
static void eq_d(const char *what, double x, double y)
{
    if (x != y && !(isnan(x) && isnan(y))) fail_msg("%s: %.17g != %.17g", what, x, y);
}
static void eq_s(const char *what, const char *x, const char *y)
{
    if (!x != !y || (x && strcmp(x, y)))
        fail_msg("%s: '%s' != '%s'", what, x ? x : "(null)", y ? y : "(null)");
}
#define EQ_I(f) eq_i(#f, (long long)(a)->f, (long long)(b)->f)
#define EQ_D(f) eq_d(#f, (a)->f, (b)->f)
#define EQ_S(f) eq_s(#f, (a)->f, (b)->f)

/* Paths compare by the file they name (the emitter makes them absolute). */
static void eq_path(const char *what, const char *x, const char *y)
{
    if (!x || !y) {
        if (x != y) fail_msg("%s: one is NULL", what);
        return;
    }
    char *rx = realpath(x, NULL), *ry = realpath(y, NULL);
    int same = rx && ry ? !strcmp(rx, ry) : !strcmp(x, y) || (!rx && !ry);
    free(rx);
    free(ry);
    if (!same) fail_msg("%s: '%s' != '%s'", what, x, y);
}

static void eq_init(const nn_init *a, const nn_init *b)
{
    EQ_I(kind);
    switch (a->kind) {
    case NN_INIT_KAIMING: EQ_D(gain); break;
    case NN_INIT_NORMAL: EQ_D(std); break;
    case NN_INIT_UNIFORM: EQ_D(a), EQ_D(b); break;
    case NN_INIT_VALUES:
        EQ_I(nvalues), EQ_I(transpose);
        for (long i = 0; i < a->nvalues; i++)
            EQ_D(values[i]);
        break;
    case NN_INIT_CSV:
        eq_path("init.file", a->file, b->file);
        EQ_S(column), EQ_I(nwhere), EQ_I(transpose);
        for (int i = 0; i < a->nwhere; i++)
            EQ_S(where[i].column), EQ_S(where[i].equals);
        break;
    case NN_INIT_FROM: eq_path("init.file", a->file, b->file), EQ_S(tensor); return;
    default: break;
    }
    EQ_D(scale);
}

static void eq_layer(const nn_layer *a, const nn_layer *b)
{
    EQ_I(kind);
    switch (a->kind) {
    case NN_LAYER_EMBEDDING: EQ_I(dim), eq_init(&a->init, &b->init); break;
    case NN_LAYER_LINEAR:
        EQ_I(out), EQ_I(bias), eq_init(&a->init, &b->init);
        if (a->bias) eq_init(&a->bias_init, &b->bias_init);
        break;
    case NN_LAYER_BATCHNORM:
        EQ_I(unbiased), EQ_D(eps), EQ_D(momentum), EQ_I(running_std);
        eq_init(&a->init, &b->init), eq_init(&a->bias_init, &b->bias_init);
        break;
    case NN_LAYER_ACTIVATION:
        EQ_S(activation), EQ_I(nargs);
        for (int i = 0; i < a->nargs; i++)
            EQ_S(args[i].name), EQ_I(args[i].type), EQ_D(args[i].value);
        break;
    case NN_LAYER_NGRAM: EQ_I(n), EQ_D(smoothing); break;
    default: break;
    }
}

static void eq_data(const nn_data_spec *a, const nn_data_spec *b)
{
    EQ_I(kind);
    switch (a->kind) {
    case NN_DATA_TEXT:
        eq_path("data.source", a->source, b->source);
        EQ_S(filter), EQ_I(tokens), EQ_I(context);
        if (a->tokens == NN_TOKENS_PATTERN) EQ_S(token_pattern);
        break;
    case NN_DATA_GENERATE: EQ_I(generator), EQ_I(gen_n), EQ_D(gen_noise), EQ_I(gen_seed); break;
    case NN_DATA_CSV:
        eq_path("data.source", a->source, b->source);
        EQ_I(nx), EQ_S(y_col);
        for (int i = 0; i < a->nx; i++)
            EQ_S(x_cols[i]);
        break;
    case NN_DATA_INLINE:
        EQ_I(inline_rows), EQ_I(inline_cols);
        for (int i = 0; i < a->inline_rows; i++) {
            EQ_D(inline_y[i]);
            for (int j = 0; j < a->inline_cols; j++)
                EQ_D(inline_x[i * a->inline_cols + j]);
        }
        break;
    }
    EQ_I(split_counts), EQ_I(shuffle);
    for (int i = 0; i < NN_SPLIT_COUNT; i++)
        a->split_counts ? EQ_I(split_count[i]) : EQ_D(split[i]);
    if (a->shuffle) EQ_I(shuffle_seed), EQ_I(shuffle_compat);
}

static void eq_train(const nn_train_spec *a, const nn_train_spec *b)
{
    EQ_I(steps), EQ_I(full_batch), EQ_I(loss), EQ_I(loss_sum), EQ_I(optimizer);
    if (!a->full_batch) EQ_I(batch);
    if (a->optimizer == NN_OPT_SGD)
        EQ_D(momentum), EQ_I(nesterov);
    else
        EQ_D(beta1), EQ_D(beta2), EQ_D(eps), EQ_D(weight_decay);
    EQ_D(l2), EQ_I(l2_reduce), EQ_I(l2_all);
    EQ_I(lr.kind), EQ_I(lr.warmup);
    switch (a->lr.kind) {
    case NN_LR_CONSTANT: EQ_D(lr.value); break;
    case NN_LR_STEPS:
        EQ_I(lr.nboundaries);
        for (int i = 0; i < a->lr.nboundaries; i++)
            EQ_I(lr.boundaries[i]), EQ_D(lr.values[i]);
        EQ_D(lr.values[a->lr.nboundaries]);
        break;
    case NN_LR_EXPONENTIAL: EQ_D(lr.start), EQ_D(lr.gamma); break;
    default: EQ_D(lr.start), EQ_D(lr.end); break;
    }
}

/* The meaningful fields (those the emitter writes) of two specs are equal. */
static void eq_plugin(const nn_plugin_spec *a, const nn_plugin_spec *b)
{
    EQ_S(name), EQ_S(forward), EQ_I(nargs), EQ_I(scalar), EQ_I(check);
    eq_path("plugins.library", a->library, b->library);
    if (a->backward || b->backward) EQ_S(backward);
    for (int i = 0; i < a->nargs; i++)
        EQ_S(args[i].name), EQ_I(args[i].type), EQ_D(args[i].value);
}

static void eq_spec(const nn_spec *a, const nn_spec *b)
{
    EQ_S(name), EQ_I(seed), EQ_I(rng), EQ_I(nlayers);
    eq_data(&a->data, &b->data);
    for (int i = 0; i < a->nlayers; i++)
        eq_layer(&a->layers[i], &b->layers[i]);
    EQ_I(nplugins);
    for (int i = 0; i < a->nplugins; i++)
        eq_plugin(&a->plugins[i], &b->plugins[i]);
    eq_train(&a->train, &b->train);
    EQ_I(eval.every), EQ_I(eval.splits);
    if (a->data.kind == NN_DATA_TEXT) {
        EQ_I(sample.count), EQ_I(sample.seed), EQ_D(sample.temperature), EQ_I(sample.max_len);
        EQ_S(sample.prefix);
    }
    EQ_I(report.plots_all), EQ_I(report.every);
    if (!a->report.plots_all) {
        EQ_I(report.nplots);
        for (int i = 0; i < a->report.nplots; i++)
            EQ_S(report.plots[i]);
    }
}

/* Emits s, loads that, emits again: the same text (after the header) and the same spec.
 * Returns the first emitted text (the caller frees it). */
static char *round_trip(const nn_spec *s)
{
    char p1[64], p2[64];
    char *t1 = emit_tmp(s, p1, sizeof p1);
    nn_diag *d = nn_diag_new();
    nn_spec *s2 = nn_spec_load(p1, NULL, 0, d);
    if (!s2) {
        nn_diag_print(d, stderr);
        fprintf(stderr, "--- emitted text:\n%s", t1);
    }
    assert_non_null(s2);
    char *t2 = emit_tmp(s2, p2, sizeof p2);
    if (strcmp(t1, t2)) fprintf(stderr, "--- first:\n%s--- second:\n%s", t1, t2);
    assert_string_equal(t1, t2); /* byte for byte: the header keeps naming the origin */
    char *origin = realpath(s->path, NULL);
    size_t n = origin ? strlen(origin) : 0;
    if (origin && (strncmp(header_from(t1), origin, n) || header_from(t1)[n] != '\n'))
        fail_msg("the header does not name '%s'", origin);
    free(origin);
    eq_spec(s, s2);
    nn_spec_free(s2);
    nn_diag_free(d);
    unlink(p1);
    unlink(p2);
    free(t2);
    return t1;
}

/* --- every spec of the tree --------------------------------------------------------- */

static void test_spec_file(void **state)
{
    const char *rel = *state;
    nn_diag *d = nn_diag_new();
    nn_matrix *m = nn_matrix_load(tu_path(rel), NULL, 0, d);
    int sweep = m && m->npoints > 0; /* a matrix: its first cell */
    nn_matrix_free(m);
    nn_spec *s = sweep ? nn_spec_load_point(tu_path(rel), NULL, 0, 0, d)
                       : nn_spec_load(tu_path(rel), NULL, 0, d);
    if (!s) { /* a spec of the tree the parser cannot read is a failure, not a skip */
        nn_diag_print(d, stderr);
        fail_msg("%s: the parser does not read it", rel);
    }
    free(round_trip(s));
    nn_spec_free(s);
    nn_diag_free(d);
}

/* --- value forms -------------------------------------------------------------------- */

static void assert_has(const char *text, const char *want)
{
    if (strstr(text, want)) return;
    fprintf(stderr, "--- emitted:\n%s--- end\n", text); /* fail_msg truncates */
    fail_msg("missing '%s'", want);
}

static void test_value_forms(void **state)
{
    (void)state;
    char path[64] = "/tmp/nn_emit_XXXXXX.yaml";
    int fd = mkstemps(path, 5);
    assert_true(fd >= 0);
    close(fd);
    writef(path, "name: 'yes'\n"
                 "seed: 18446744073709551615\n" /* sample.seed = seed + 10 wraps to 9 */
                 "data:\n"
                 "  source: nofile.txt\n"
                 "  filter: 'it''s \\d+ \"x\", # not a comment'\n"
                 "  context: 1\n"
                 "  split: {train: 0.7, dev: 0.2, test: 0.1}\n"
                 "model:\n"
                 "  - embedding: {dim: 2, init: {uniform: {a: -1, b: 1}}}\n"
                 "  - flatten\n"
                 "  - linear: {out: 7, init: {kaiming: 2.5, scale: 0.3333333333333333}}\n"
                 "  - batchnorm: {eps: 1e-300, momentum: 1e-5}\n"
                 "  - tanh\n"
                 "  - linear\n"
                 "train: {steps: 3, lr: 0.1}\n"
                 "sample: {temperature: 0.7}\n"
                 "report: {plots: none}\n");
    nn_diag *d = nn_diag_new();
    nn_spec *s = nn_spec_load(path, NULL, 0, d);
    if (!s) nn_diag_print(d, stderr);
    assert_non_null(s);
    char *t = round_trip(s);
    assert_has(t, "\nname: 'yes'\n");
    assert_has(t, "\nseed: 18446744073709551615\n");
    assert_has(t, "\n  seed: 9\n");
    assert_has(t, "\n  filter: 'it''s \\d+ \"x\", # not a comment'\n");
    assert_has(t, "\n  source: '/");
    assert_has(t, "/nofile.txt'\n");
    assert_has(t, "\n    train: 0.7\n    dev: 0.2\n    test: 0.1\n");
    assert_has(t, "init: {uniform: {a: -1.0, b: 1.0}, scale: 1.0}");
    assert_has(t, "init: {kaiming: 2.5, scale: 0.3333333333333333}");
    assert_has(t, "bias_init: {zeros: {}, scale: 1.0}");
    assert_has(t, "\n      eps: 1.0e-300\n      momentum: 1.0e-05\n");
    assert_has(t, "\n      # out: the vocabulary size\n");
    assert_has(t, "\n  lr: 0.1\n");
    assert_has(t, "\n  l2: 0.0\n");
    assert_has(t, "\n  temperature: 0.7\n");
    assert_has(t, "\n  plots: none\n");
    free(t);
    nn_spec_free(s);
    nn_diag_free(d);
    unlink(path);
}

/* --set values are emitted like values of the file, list indices included. */
static void test_set_overrides(void **state)
{
    (void)state;
    const char *sets[] = {"model.2.linear.out=300", "train.steps=20", "data.filter=^[a-z]{2,}$",
                          "eval.splits=[test, train]"};
    nn_diag *d = nn_diag_new();
    nn_spec *s = nn_spec_load(tu_path("specs/mlp_bn.yaml"), sets, 4, d);
    if (!s) nn_diag_print(d, stderr);
    assert_non_null(s);
    char *t = round_trip(s);
    assert_has(t, "  - linear:\n      out: 300\n      bias: false\n");
    assert_has(t, "\n  steps: 20\n");
    assert_has(t, "\n  filter: '^[a-z]{2,}$'\n");
    assert_has(t, "\n  splits: [train, test]\n");
    assert_has(t, "\n    steps:\n      boundaries: [100000]\n      values: [0.1, 0.01]\n");
    free(t);
    nn_spec_free(s);
    nn_diag_free(d);
}

/* --- hand-built specs: every form the parser does not read yet ---------------------- */

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
    static const char *const dirs[] = {"specs", "tests/specs/good"};
    struct CMUnitTest tests[256];
    char *names[256];
    int n = 0;
    for (int k = 0; k < 2; k++) {
        struct dirent **ents;
        int m = scandir(tu_path(dirs[k]), &ents, NULL, alphasort);
        for (int i = 0; i < m; i++) {
            size_t len = strlen(ents[i]->d_name);
            if (n < 240 && len > 5 && !strcmp(ents[i]->d_name + len - 5, ".yaml")) {
                char rel[512];
                snprintf(rel, sizeof rel, "%s/%s", dirs[k], ents[i]->d_name);
                names[n] = strdup(rel);
                tests[n] = (struct CMUnitTest){names[n], test_spec_file, NULL, NULL, names[n]};
                n++;
            }
            free(ents[i]);
        }
        if (m >= 0) free(ents);
    }
    int nfiles = n;
    tests[n++] = (struct CMUnitTest){"value_forms", test_value_forms, NULL, NULL, NULL};
    tests[n++] = (struct CMUnitTest){"set_overrides", test_set_overrides, NULL, NULL, NULL};
    tests[n++] = (struct CMUnitTest){"hand_csv", test_hand_csv, NULL, NULL, NULL};
    tests[n++] = (struct CMUnitTest){"hand_generate", test_hand_generate, NULL, NULL, NULL};
    tests[n++] = (struct CMUnitTest){"hand_ngram", test_hand_ngram, NULL, NULL, NULL};
    tests[n++] = (struct CMUnitTest){"hand_inline", test_hand_inline, NULL, NULL, NULL};
    int rc = _cmocka_run_group_tests("emit", tests, (size_t)n, NULL, NULL);
    for (int i = 0; i < nfiles; i++)
        free(names[i]);
    return rc;
}
