/* test_runtime_data.c — numeric data (generated, csv, inline), pattern tokens, given inits
 * (values, csv, from), the counting bigram, and micrograd's demo step 0, against the
 * lessons' numbers.  Specs are built in C (runtime_util.h). */
#include "runtime_util.h"

static const char *temp_file(const char *name, const char *text)
{
    static char path[256];
    snprintf(path, sizeof path, "/tmp/nnrun_test_runtime_%d_%s", (int)getpid(), name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    return path;
}

static void test_moons_xor(void **state)
{
    (void)state;
    nn_spec s = base_spec();
    s.data.kind = NN_DATA_GENERATE;
    s.data.generator = NN_GEN_MOONS;
    s.data.gen_n = 101, s.data.gen_noise = 0.1, s.data.gen_seed = 7;
    s.train.loss = NN_LOSS_HINGE;
    nn_diag *d = nn_diag_new();
    nn_dataset *ds = nn_dataset_load(&s, d);
    assert_non_null(ds);
    assert_int_equal(ds->features, 2);
    assert_int_equal(ds->split[0].n, 101);
    int pos = 0;
    for (long i = 0; i < 101; i++) {
        float y = ds->split[0].fy[i];
        assert_true(y == 1 || y == -1);
        pos += y > 0;
    }
    assert_int_equal(pos, 51); /* sklearn: n/2 outer (−1), the rest inner (+1) */
    nn_dataset_free(ds);
    /* class ids for cross_entropy; the split by counts, in file order without shuffle */
    s.train.loss = NN_LOSS_CROSS_ENTROPY;
    s.data.generator = NN_GEN_XOR;
    s.data.gen_n = 40;
    s.data.split_counts = 1;
    s.data.split_count[0] = 30, s.data.split_count[1] = 10;
    ds = nn_dataset_load(&s, d);
    assert_non_null(ds);
    assert_int_equal(ds->vocab, 2);
    assert_int_equal(ds->split[0].n, 30);
    assert_int_equal(ds->split[1].n, 10);
    int ones = 0;
    for (int sp = 0; sp < 2; sp++)
        for (long i = 0; i < ds->split[sp].n; i++)
            ones += ds->split[sp].y[i];
    assert_int_equal(ones, 20);
    nn_dataset_free(ds);
    assert_int_equal(nn_diag_count(d), 0);
    nn_diag_free(d);
}

static nn_dataset *load_csv(const char *path, const char *const *x, int nx, const char *y,
                            nn_loss_kind loss, nn_diag *d)
{
    nn_spec s = base_spec();
    s.data.kind = NN_DATA_CSV;
    s.data.source = (char *)path;
    s.data.x_cols = (char **)x, s.data.nx = nx, s.data.y_col = (char *)y;
    s.train.loss = loss;
    return nn_dataset_load(&s, d);
}

static void test_csv_data(void **state)
{
    (void)state;
    static const char *const x[] = {"x0", "x1"};
    nn_diag *d = nn_diag_new();
    nn_dataset *ds = load_csv(tu_path("examples/data/moons_n100_noise0.1_seed1337.csv"), x, 2, "y",
                              NN_LOSS_HINGE, d);
    assert_non_null(ds);
    assert_int_equal(ds->split[0].n, 100);
    NEAR(ds->split[0].fx[0], 1.1221146075409683, 1e-7);
    NEAR(ds->split[0].fx[1], 0.08147717341718697, 1e-8);
    NEAR(ds->split[0].fy[0], -1, 0);
    nn_dataset_free(ds);

    /* class ids, columns in any order, quoted cells */
    const char *p = temp_file("ok.csv", "y,\"x1\",x0\n1,2,3\n0,5,6\n\n2,8,9\n");
    ds = load_csv(p, x, 2, "y", NN_LOSS_CROSS_ENTROPY, d);
    assert_non_null(ds);
    assert_int_equal(ds->vocab, 3);
    assert_int_equal(ds->split[0].n, 3);
    NEAR(ds->split[0].fx[0], 3, 0);
    NEAR(ds->split[0].fx[1], 2, 0);
    assert_int_equal(ds->split[0].y[2], 2);
    nn_dataset_free(ds);
    remove(p);
    assert_int_equal(nn_diag_count(d), 0);
    nn_diag_free(d);

    char want[300];
    struct {
        const char *name, *text, *where, *needle;
        nn_loss_kind loss;
    } bad[] = {
        {"col.csv", "x0,y\n1,2\n", "1:1", "has no column 'x1'", NN_LOSS_HINGE},
        {"num.csv", "x0,x1,y\n1,2,1\n3, 4x ,1\n", "3:4", "'4x' is not a number", NN_LOSS_HINGE},
        {"short.csv", "x0,x1,y\n1,2,1\n3,4\n", "3:4", "this row has 2 cells, the header has 3",
         NN_LOSS_HINGE},
        {"long.csv", "x0,x1,y\n1,2,1,7\n", "2:7", "this row has 4 cells", NN_LOSS_HINGE},
        {"cls.csv", "x0,x1,y\n1,2,1\n3,4,-1\n", "3:5", "cross_entropy needs class ids",
         NN_LOSS_CROSS_ENTROPY},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        d = nn_diag_new();
        p = temp_file(bad[i].name, bad[i].text);
        assert_null(load_csv(p, x, 2, "y", bad[i].loss, d));
        snprintf(want, sizeof want, "%s:%s: error: ", p, bad[i].where);
        expect_error(d, want, bad[i].needle);
        nn_diag_free(d);
        remove(p);
    }
}

static void test_inline_data(void **state)
{
    (void)state;
    double x[12] = {2, 3, -1, 3, -1, 0.5, 0.5, 1, 1, 1, 1, -1}, y[4] = {1, -1, -1, 1};
    nn_spec s = base_spec();
    s.data.kind = NN_DATA_INLINE;
    s.data.inline_x = x, s.data.inline_y = y, s.data.inline_rows = 4, s.data.inline_cols = 3;
    s.train.loss = NN_LOSS_MSE;
    nn_diag *d = nn_diag_new();
    nn_dataset *ds = nn_dataset_load(&s, d);
    assert_non_null(ds);
    assert_int_equal(ds->features, 3);
    assert_int_equal(ds->split[0].n, 4);
    NEAR(ds->split[0].fx[5], 0.5, 0);
    NEAR(ds->split[0].fy[3], 1, 0);
    nn_dataset_free(ds);
    nn_diag_free(d);
}

/* tokens: {pattern}: one token per match, the vocabulary sorted bytewise after '.' */
static void test_pattern_tokens(void **state)
{
    (void)state;
    nn_spec s = base_spec();
    s.data.source = (char *)temp_file("words.txt", "the cat sat\nthe dog\n");
    s.data.tokens = NN_TOKENS_PATTERN;
    s.data.token_pattern = "[a-z]+";
    s.data.context = 2;
    nn_diag *d = nn_diag_new();
    nn_dataset *ds = nn_dataset_load(&s, d);
    if (!ds) nn_diag_print(d, stderr);
    assert_non_null(ds);
    assert_int_equal(ds->vocab, 5);
    static const char *const want[] = {".", "cat", "dog", "sat", "the"};
    for (int i = 0; i < 5; i++)
        assert_string_equal(nn_dataset_token(ds, i), want[i]);
    assert_int_equal(ds->split[0].n, 4 + 3);
    assert_int_equal(ds->split[0].y[0], 4); /* "the" */
    assert_int_equal(ds->split[0].y[1], 1); /* "cat" */
    int32_t ids[4];
    int bad = -1;
    assert_int_equal(nn_dataset_encode(ds, &s, "the cat", ids, 4, &bad), 2);
    assert_int_equal(ids[1], 1);
    assert_int_equal(nn_dataset_encode(ds, &s, "the fox", ids, 4, &bad), -1);
    assert_int_equal(bad, 4);
    nn_dataset_free(ds);
    nn_diag_free(d);
    remove(s.data.source);
}

/* ---- given inits --------------------------------------------------------------------- */

/* A [2, 3] weight from a list in [out][in] order (transpose), and a bias. */
static void test_init_values(void **state)
{
    (void)state;
    static double w[6] = {1, 2, 3, 4, 5, 6}, b[3] = {7, 8, 9};
    nn_layer L[1] = {layer(NN_LAYER_LINEAR, 10)};
    L[0].out = 3, L[0].bias = 1;
    L[0].init = (nn_init){.kind = NN_INIT_VALUES, .values = w, .nvalues = 6, .transpose = 1};
    L[0].bias_init = (nn_init){.kind = NN_INIT_VALUES, .values = b, .nvalues = 3};
    nn_spec s = base_spec();
    s.layers = L, s.nlayers = 1;
    s.train.loss = NN_LOSS_CROSS_ENTROPY;
    net n;
    net_open(&n, &s, 2, 3, 0, 2);
    const float *W = nn_params_find(n.P, "layers.0.weight")->data;
    static const float want[6] = {1, 3, 5, 2, 4, 6}; /* W[i][j] = list[j][i] */
    for (int i = 0; i < 6; i++)
        NEAR(W[i], want[i], 0);
    NEAR(nn_params_find(n.P, "layers.0.bias")->data[2], 9, 0);
    net_close(&n);
    L[0].init.transpose = 0;
    net_open(&n, &s, 2, 3, 0, 2);
    NEAR(nn_params_find(n.P, "layers.0.weight")->data[1], 2, 0);
    net_close(&n);

    /* a count mismatch is an error at the init's mark, before training */
    L[0].init.nvalues = 5;
    L[0].init.mark = M(12);
    nn_diag *d = nn_diag_new();
    nn_build_opts o = {2, 1, 1, 3, 0, 2};
    nn_graph *g = nn_build(&s, &o, d);
    nn_params *P = nn_params_new(g, 0);
    nn_rng r;
    nn_rng_seed(&r, 0, 1);
    assert_int_equal(nn_params_init(P, &r, nn_ckpt_init_param, d), -1);
    expect_error(d, "spec.yaml:12:5: error: layers.0.weight needs 6 values, the list gives 5", "");
    nn_params_free(P);
    nn_graph_free(g);
    nn_diag_free(d);
}

static nn_init micrograd_init(int layer, int weight)
{
    static nn_where where[3][2][2];
    static char num[3][4];
    snprintf(num[layer], sizeof num[layer], "%d", layer);
    where[layer][weight][0] = (nn_where){"layer", num[layer]};
    where[layer][weight][1] = (nn_where){"kind", weight ? "w" : "b"};
    static char path[4096];
    snprintf(path, sizeof path, "%s", tu_path("examples/data/micrograd_demo_init_params.csv"));
    return (nn_init){.kind = NN_INIT_CSV,
                     .file = path,
                     .column = "value",
                     .where = where[layer][weight],
                     .nwhere = 2,
                     .transpose = weight,
                     .mark = M(20 + layer)};
}

static void test_init_csv(void **state)
{
    (void)state;
    nn_layer L[1] = {layer(NN_LAYER_LINEAR, 10)};
    L[0].out = 16, L[0].bias = 1;
    L[0].init = micrograd_init(0, 1);
    L[0].bias_init = micrograd_init(0, 0);
    nn_spec s = base_spec();
    s.layers = L, s.nlayers = 1;
    s.train.loss = NN_LOSS_CROSS_ENTROPY;
    net n;
    net_open(&n, &s, 2, 16, 0, 2);
    nn_param *w = nn_params_find(n.P, "layers.0.weight");
    assert_int_equal(w->dim[0], 2);
    assert_int_equal(w->dim[1], 16);
    NEAR(w->data[0], 0.23550571390294128, 1e-7);  /* neuron 0, input 0 */
    NEAR(w->data[16], 0.06653114721000164, 1e-7); /* neuron 0, input 1 */
    NEAR(w->data[1], -0.26830328150124894, 1e-7); /* neuron 1, input 0 */
    net_close(&n);

    /* layer 1's weights are 16×16: 256 numbers for a [2, 16] weight */
    L[0].init = micrograd_init(1, 1);
    nn_diag *d = nn_diag_new();
    nn_build_opts o = {2, 1, 1, 16, 0, 2};
    nn_graph *g = nn_build(&s, &o, d);
    nn_params *P = nn_params_new(g, 0);
    nn_rng r;
    nn_rng_seed(&r, 0, 1);
    assert_int_equal(nn_params_init(P, &r, nn_ckpt_init_param, d), -1);
    expect_error(d, "spec.yaml:21:5: error: layers.0.weight needs 32 values, the csv gives 256",
                 "");
    nn_params_free(P);
    nn_graph_free(g);
    nn_diag_free(d);

    /* a bad cell is blamed in the file */
    const char *p = temp_file("init.csv", "value\n1\nx\n");
    nn_init bad = {.kind = NN_INIT_CSV, .file = (char *)p, .column = "value", .mark = M(5)};
    L[0].init = bad;
    d = nn_diag_new();
    g = nn_build(&s, &o, d);
    P = nn_params_new(g, 0);
    assert_int_equal(nn_params_init(P, &r, nn_ckpt_init_param, d), -1);
    char want[300];
    snprintf(want, sizeof want, "%s:3:1: error: 'x' is not a number", p);
    expect_error(d, want, "");
    nn_params_free(P);
    nn_graph_free(g);
    nn_diag_free(d);
    remove(p);

    L[0].init = (nn_init){.kind = NN_INIT_FROM, .file = "w.safetensors", .mark = M(6)};
    d = nn_diag_new();
    g = nn_build(&s, &o, d);
    P = nn_params_new(g, 0);
    assert_int_equal(nn_params_init(P, &r, nn_ckpt_init_param, d), -1);
    expect_error(d, "spec.yaml:6:5: error: cannot read the checkpoint 'w.safetensors'", "");
    nn_params_free(P);
    nn_graph_free(g);
    nn_diag_free(d);
}

/* ---- the counting bigram (lesson 2) -------------------------------------------------- */

static void test_bigram_counts(void **state)
{
    (void)state;
    nn_layer L[1] = {layer(NN_LAYER_NGRAM, 10)};
    L[0].n = 2, L[0].smoothing = 1;
    nn_spec s = base_spec();
    s.layers = L, s.nlayers = 1;
    s.rng = NN_RNG_TORCH;
    s.data.source = (char *)tu_path("examples/data/names.txt");
    s.data.context = 1;
    s.sample = (nn_sample_spec){.count = 5, .seed = 2147483647, .temperature = 1, .max_len = 64};
    nn_diag *d = nn_diag_new();
    nn_dataset *ds = nn_dataset_load(&s, d);
    assert_non_null(ds);
    nn_trainer *tr = nn_trainer_new(&s, ds, d);
    assert_non_null(tr);
    assert_non_null(nn_trainer_ngram(tr));
    assert_int_equal(ds->split[0].n, 228146);
    assert_int_equal(nn_trainer_ngram(tr)->counts[1 * 27 + 14], 5438); /* ('a', 'n') */
    nn_run_opts o = {.quiet = 1};
    nn_result r;
    memset(&r, 0, sizeof r);
    assert_int_equal(nn_trainer_run(tr, &o, &r), 0);
    assert_true(isnan(r.step0) && r.steps == 0);
    print_message("bigram NLL (+1 smoothing, all words): %.15f\n", r.split[0]);
    NEAR(r.split[0], 2.454576820116076, 1e-4);
    assert_false(r.have_split[NN_SPLIT_DEV]);
    assert_int_equal(r.nsamples, 5);
    static const char *const want[] = {"mor.", "axx.", "minaymoryles.", "kondlaisah.",
                                       "anchshizarie."};
    for (int i = 0; i < 5; i++)
        assert_string_equal(r.samples[i], want[i]);
    nn_result_free(&r);
    nn_trainer_free(tr);

    /* a prefix starts every item; a character outside the vocabulary is an error */
    s.sample.prefix = "ma";
    tr = nn_trainer_new(&s, ds, d);
    assert_non_null(tr);
    char **items = nn_trainer_sample(tr, 3, 1, 1.0, 20);
    for (int i = 0; i < 3; i++) {
        assert_true(strncmp(items[i], "ma", 2) == 0);
        free(items[i]);
    }
    free(items);
    nn_trainer_free(tr);
    s.sample.prefix = "mA";
    s.sample.prefix_mark = (nn_mark){"spec.yaml", 9, 13};
    assert_null(nn_trainer_new(&s, ds, d));
    expect_error(d,
                 "spec.yaml:9:13:", "sample.prefix 'mA': 'A' at byte 2 is not in the vocabulary");
    nn_diag_free(d);

    /* a network with a score loss on text data is refused before training */
    nn_layer net_layers[3] = {layer(NN_LAYER_EMBEDDING, 10), layer(NN_LAYER_FLATTEN, 11),
                              layer(NN_LAYER_LINEAR, 12)};
    net_layers[0].dim = 2, net_layers[2].out = 1;
    s.layers = net_layers, s.nlayers = 3;
    s.sample.prefix = NULL;
    s.train.loss = NN_LOSS_MSE;
    s.train.loss_mark = M(30);
    d = nn_diag_new();
    assert_null(nn_trainer_new(&s, ds, d));
    expect_error(d, "spec.yaml:30:5: error: mse needs numeric targets", "");
    nn_dataset_free(ds);
    nn_diag_free(d);
}

/* ---- micrograd's demo, step 0 -------------------------------------------------------- */

static void test_micrograd_demo(void **state)
{
    (void)state;
    nn_layer L[5] = {layer(NN_LAYER_LINEAR, 10), layer(NN_LAYER_RELU, 11),
                     layer(NN_LAYER_LINEAR, 12), layer(NN_LAYER_RELU, 13),
                     layer(NN_LAYER_LINEAR, 14)};
    int outs[3] = {16, 16, 1};
    for (int k = 0; k < 3; k++) {
        L[2 * k].out = outs[k], L[2 * k].bias = 1;
        L[2 * k].init = micrograd_init(k, 1);
        L[2 * k].bias_init = micrograd_init(k, 0);
    }
    static const char *const x[] = {"x0", "x1"};
    nn_spec s = base_spec();
    s.layers = L, s.nlayers = 5;
    s.data.kind = NN_DATA_CSV;
    s.data.source = (char *)tu_path("examples/data/moons_n100_noise0.1_seed1337.csv");
    s.data.x_cols = (char **)x, s.data.nx = 2, s.data.y_col = "y";
    s.train = (nn_train_spec){.steps = 100,
                              .full_batch = 1,
                              .loss = NN_LOSS_HINGE,
                              .l2 = 1e-4,
                              .l2_reduce = NN_L2_SUM,
                              .l2_all = 1,
                              .lr = {.kind = NN_LR_LINEAR, .start = 1.0, .end = 0.1}};
    nn_diag *d = nn_diag_new();
    nn_dataset *ds = nn_dataset_load(&s, d);
    nn_trainer *tr = ds ? nn_trainer_new(&s, ds, d) : NULL;
    if (!tr) {
        nn_diag_print(d, stderr);
        fail();
    }
    assert_int_equal(nn_trainer_batch(tr), 100);
    assert_int_equal(nn_trainer_params(tr)->count, 337);
    double acc;
    nn_trainer_eval_acc(tr, NN_SPLIT_TRAIN, &acc);
    NEAR(acc, 0.5, 0);
    nn_run_opts o = {.quiet = 1};
    nn_result r;
    memset(&r, 0, sizeof r);
    assert_int_equal(nn_trainer_run(tr, &o, &r), 0);
    print_message("micrograd demo: step 0 %.9f, step 99 %.9f, accuracy %.2f\n", r.step0, r.last,
                  r.accuracy[0]);
    NEAR(r.step0, 0.8958441028683222, 1e-6);
    assert_true(r.have_accuracy);
    /* float32 through 100 full-batch steps still lands within 1e-8 here; allow 1e-5 */
    NEAR(r.last, 0.010978370135492717, 1e-5);
    NEAR(r.accuracy[0], 1.0, 0);
    nn_result_free(&r);
    nn_trainer_free(tr);
    nn_dataset_free(ds);
    nn_diag_free(d);
}

int main(void)
{
    nn_kernels_select("scalar");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_moons_xor),     cmocka_unit_test(test_csv_data),
        cmocka_unit_test(test_inline_data),   cmocka_unit_test(test_pattern_tokens),
        cmocka_unit_test(test_init_values),   cmocka_unit_test(test_init_csv),
        cmocka_unit_test(test_bigram_counts), cmocka_unit_test(test_micrograd_demo),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
