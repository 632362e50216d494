/* test_spec.c — the spec parser: a good spec's values, defaults, --set overrides, the
 * bad-spec corpus (tests/specs/bad/NAME.yaml + golden NAME.err), diagnostics,
 * did-you-mean and hostile input.  The full language's features: test_spec2.c. */
#include <dirent.h>
#include <math.h>
#include <unistd.h>

#include "testutil.h"

#include "parser/diag.h"
#include "parser/spec.h"

/* Loads tests/specs/<rel> with overrides; the diag is returned through *d. */
static nn_spec *load(const char *rel, const char *const *sets, int nsets, nn_diag **d)
{
    char path[4096];
    snprintf(path, sizeof path, "%s", tu_path(rel));
    *d = nn_diag_new();
    return nn_spec_load(path, sets, nsets, *d);
}

/* Writes text to a fresh temporary .yaml file; the caller unlinks `path`. */
static void write_tmp(char *path, size_t size, const char *text)
{
    snprintf(path, size, "/tmp/nn_spec_XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
}

static void assert_close(double a, double b)
{
    if (!tu_close(a, b, 1e-12, 1e-12)) fail_msg("%.17g != %.17g", a, b);
}

static void test_good_spec(void **state)
{
    (void)state;
    nn_diag *d;
    nn_spec *s = load("tests/specs/good/mlp_bn.yaml", NULL, 0, &d);
    if (!s) nn_diag_print(d, stderr);
    assert_non_null(s);
    assert_string_equal(s->name, "mlp_bn");
    assert_true(s->seed == 2147483647u);
    assert_int_equal(s->rng, NN_RNG_TORCH);
    /* data */
    char want[4200];
    snprintf(want, sizeof want, "%s", tu_path("tests/specs/good/../../../examples/data/names.txt"));
    assert_string_equal(s->data.source, want); /* relative to the spec's directory */
    assert_int_equal(access(s->data.source, R_OK), 0);
    assert_int_equal(s->data.source_mark.line, 5);
    assert_int_equal(s->data.source_mark.col, 11);
    assert_string_equal(s->data.filter, "^[a-z]+$");
    assert_int_equal(s->data.filter_mark.line, 6);
    assert_int_equal(s->data.context, 3);
    assert_close(s->data.split[NN_SPLIT_TRAIN], 0.8);
    assert_close(s->data.split[NN_SPLIT_DEV], 0.1);
    assert_close(s->data.split[NN_SPLIT_TEST], 0.1);
    assert_int_equal(s->data.split_mark.line, 9);
    assert_true(s->data.shuffle_seed == 42);
    assert_int_equal(s->data.shuffle_compat, NN_SHUFFLE_PYTHON);
    /* model */
    assert_int_equal(s->nlayers, 6);
    const nn_layer *l = s->layers;
    assert_int_equal(l[0].kind, NN_LAYER_EMBEDDING);
    assert_int_equal(l[0].dim, 10);
    assert_int_equal(l[0].init.kind, NN_INIT_NORMAL);
    assert_close(l[0].init.std, 1.0);
    assert_close(l[0].init.scale, 1.0);
    assert_int_equal(l[0].mark.line, 11);
    assert_int_equal(l[0].mark.col, 5);
    assert_int_equal(l[1].kind, NN_LAYER_FLATTEN);
    assert_int_equal(l[2].kind, NN_LAYER_LINEAR);
    assert_int_equal(l[2].out, 200);
    assert_int_equal(l[2].bias, 0);
    assert_int_equal(l[2].init.kind, NN_INIT_KAIMING);
    assert_close(l[2].init.gain, 5.0 / 3.0);
    assert_close(l[2].init.scale, 1.0);
    assert_int_equal(l[2].init.mark.line, 13);
    assert_int_equal(l[3].kind, NN_LAYER_BATCHNORM);
    assert_int_equal(l[3].unbiased, 1);
    assert_close(l[3].eps, 0);
    assert_int_equal(l[3].running_std, 1);
    assert_close(l[3].momentum, 0.001);
    assert_int_equal(l[3].init.kind, NN_INIT_ONES);
    assert_int_equal(l[3].bias_init.kind, NN_INIT_ZEROS);
    assert_int_equal(l[4].kind, NN_LAYER_TANH);
    assert_int_equal(l[5].kind, NN_LAYER_LINEAR);
    assert_int_equal(l[5].out, 0);
    assert_int_equal(l[5].bias, 1);
    assert_int_equal(l[5].init.kind, NN_INIT_NORMAL);
    assert_close(l[5].init.std, 1.0);
    assert_close(l[5].init.scale, 0.01);
    assert_int_equal(l[5].bias_init.kind, NN_INIT_NORMAL);
    assert_close(l[5].bias_init.scale, 0);
    /* train, eval, sample, report */
    assert_true(s->train.steps == 200000);
    assert_int_equal(s->train.batch, 32);
    assert_int_equal(s->train.loss, NN_LOSS_CROSS_ENTROPY);
    assert_int_equal(s->train.optimizer, NN_OPT_SGD);
    assert_close(s->train.momentum, 0);
    assert_int_equal(s->train.lr.kind, NN_LR_STEPS);
    assert_int_equal(s->train.lr.nboundaries, 1);
    assert_true(s->train.lr.boundaries[0] == 100000);
    assert_close(s->train.lr.values[0], 0.1);
    assert_close(s->train.lr.values[1], 0.01);
    assert_int_equal(s->train.lr.mark.line, 22);
    assert_close(s->train.l2, 0);
    assert_true(s->eval.every == 10000);
    assert_int_equal(s->eval.splits, 1 << NN_SPLIT_TRAIN | 1 << NN_SPLIT_DEV);
    assert_int_equal(s->sample.count, 20);
    assert_true(s->sample.seed == 2147483657u);
    assert_close(s->sample.temperature, 1.0);
    assert_int_equal(s->sample.max_len, 64);
    assert_int_equal(s->report.plots_all, 1);
    assert_int_equal(nn_diag_count(d), 0);
    nn_spec_free(s);
    nn_diag_free(d);
}

static void test_defaults(void **state)
{
    (void)state;
    nn_diag *d;
    nn_spec *s = load("tests/specs/good/minimal.yaml", NULL, 0, &d);
    assert_non_null(s);
    assert_string_equal(s->name, "minimal");
    assert_true(s->seed == 1337 && s->sample.seed == 1347);
    assert_int_equal(s->rng, NN_RNG_NATIVE);
    assert_null(s->data.filter);
    assert_int_equal(s->data.context, 3);
    assert_close(s->data.split[0], 0.8);
    assert_true(s->data.shuffle_seed == 42);
    assert_int_equal(s->data.shuffle_compat, NN_SHUFFLE_NATIVE);
    assert_int_equal(s->nlayers, 3);
    assert_int_equal(s->layers[1].kind, NN_LAYER_FLATTEN);
    assert_int_equal(s->layers[2].out, 0);
    assert_int_equal(s->layers[2].bias, 1);
    assert_int_equal(s->layers[2].init.kind, NN_INIT_KAIMING);
    assert_close(s->layers[2].init.gain, 1.0);
    assert_int_equal(s->layers[2].bias_init.kind, NN_INIT_ZEROS);
    assert_true(s->train.steps == 1000 && s->train.batch == 32);
    assert_int_equal(s->train.lr.kind, NN_LR_CONSTANT);
    assert_close(s->train.lr.value, 0.1);
    assert_true(s->eval.every == 0);
    assert_int_equal(s->eval.splits, 3);
    assert_int_equal(s->sample.count, 20);
    assert_int_equal(s->report.plots_all, 1);
    nn_spec_free(s);
    nn_diag_free(d);
}

static void test_set_overrides(void **state)
{
    (void)state;
    const char *sets[] = {"train.steps=20000",
                          "model.2.linear.out=300",
                          "train.lr={steps: {boundaries: [10], values: [0.1, 0.01]}}",
                          "seed=18446744073709551615",
                          "model.5.linear.bias=false",
                          "model.5.linear.bias_init={kaiming: 2}",
                          "model.5.linear.bias=true",
                          "data.split.shuffle.compat=native",
                          "eval.splits=[test]",
                          "train.steps=30000"};
    nn_diag *d;
    nn_spec *s = load("tests/specs/good/mlp_bn.yaml", sets, 10, &d);
    if (!s) nn_diag_print(d, stderr);
    assert_non_null(s);
    assert_true(s->train.steps == 30000); /* applied in order: the last one wins */
    assert_int_equal(s->layers[2].out, 300);
    assert_int_equal(s->layers[5].bias, 1);
    assert_int_equal(s->layers[5].bias_init.kind, NN_INIT_KAIMING);
    assert_close(s->layers[5].bias_init.gain, 2);
    assert_string_equal(s->layers[5].bias_init.mark.file, "--set");
    assert_int_equal(s->train.lr.nboundaries, 1);
    assert_true(s->train.lr.boundaries[0] == 10);
    assert_string_equal(s->train.lr.mark.file, "--set");
    assert_int_equal(s->train.lr.mark.col, 10);
    assert_true(s->seed == UINT64_MAX);
    assert_true(s->sample.seed == 2147483657u); /* given in the file */
    assert_int_equal(s->data.shuffle_compat, NN_SHUFFLE_NATIVE);
    assert_int_equal(s->eval.splits, 1 << NN_SPLIT_TEST);
    nn_spec_free(s);
    nn_diag_free(d);
}

/* Missing maps are created; the derived sample seed wraps around. */
static void test_set_creates(void **state)
{
    (void)state;
    const char *sets[] = {"train.optimizer={sgd: {momentum: 0.9}}", "sample.count=3",
                          "seed=18446744073709551610", "data.filter='^[a-z]{2,}$'",
                          "model.0.embedding.init={uniform: {a: -1, b: 1}, scale: 2}"};
    nn_diag *d;
    nn_spec *s = load("tests/specs/good/minimal.yaml", sets, 5, &d);
    if (!s) nn_diag_print(d, stderr);
    assert_non_null(s);
    assert_close(s->train.momentum, 0.9);
    assert_int_equal(s->sample.count, 3);
    assert_true(s->sample.seed == 4); /* (2^64 − 6) + 10 wraps around to 4 */
    assert_string_equal(s->data.filter, "^[a-z]{2,}$");
    assert_int_equal(s->layers[0].init.kind, NN_INIT_UNIFORM);
    assert_close(s->layers[0].init.a, -1);
    assert_close(s->layers[0].init.b, 1);
    assert_close(s->layers[0].init.scale, 2);
    nn_spec_free(s);
    nn_diag_free(d);
}

/* Each bad --set yields its own error pointing into the argument. */
static void test_set_errors(void **state)
{
    (void)state;
    static const struct {
        const char *set, *line;
    } cases[] = {
        {"train.steps=1.5", "--set:1:13: error: expected an integer for 'train.steps', got '1.5'"},
        {"model.2.linear.out=0",
         "--set:1:20: error: 'model.2.linear.out' must be between 1 and 1048576, got 0"},
        {"train.steps", "--set:1:12: error: expected KEY=VALUE after --set (e.g. "
                        "train.steps=20000), got no '='"},
        {"model.9.tanh=1", "--set:1:7: error: 'model' is a sequence of 6 items: expected an "
                           "index from 0 to 5, got '9'"},
        {"train.steps.x=1", "--set:1:13: error: cannot set 'x' inside 'train.steps': that is a "
                            "value, not a map"},
        {"train.stpes=1", "--set:1:7: error: unknown key 'stpes' in 'train' (did you mean "
                          "'steps'?)"},
        {"train..steps=1", "--set:1:7: error: empty key name in the --set path 'train..steps'"},
        {"train.batch=[1,", "--set:1:16: error: YAML syntax error: did not find expected node "
                            "content"},
        {"rng=\"torch", "--set:1:11: error: YAML syntax error: found unexpected end of stream"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        nn_diag *d;
        nn_spec *s = load("tests/specs/good/mlp_bn.yaml", &cases[i].set, 1, &d);
        assert_null(s);
        assert_true(nn_diag_count(d) >= 1);
        assert_string_equal(nn_diag_line(d, 0), cases[i].line);
        nn_diag_free(d);
    }
    /* two bad overrides: both reported, in order */
    const char *two[] = {"seed=-1", "sample.count=1e3"};
    nn_diag *d;
    assert_null(load("tests/specs/good/mlp_bn.yaml", two, 2, &d));
    assert_int_equal(nn_diag_count(d), 2);
    assert_string_equal(
        nn_diag_line(d, 0),
        "--set:1:6: error: 'seed' must be between 0 and 18446744073709551615, got -1");
    assert_string_equal(nn_diag_line(d, 1),
                        "--set:1:14: error: expected an integer for 'sample.count', got '1e3'");
    nn_diag_free(d);
}

/* tests/specs/bad/NAME.yaml fails with the first line in NAME.err ("FILE" = the path). */
static void test_bad_corpus(void **state)
{
    (void)state;
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", tu_path("tests/specs/bad"));
    DIR *dp = opendir(dir);
    assert_non_null(dp);
    int n = 0;
    for (struct dirent *e; (e = readdir(dp));) {
        size_t len = strlen(e->d_name);
        if (len < 6 || strcmp(e->d_name + len - 5, ".yaml")) continue;
        char path[4400], errpath[4400], want[8800];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        snprintf(errpath, sizeof errpath, "%s/%.*s.err", dir, (int)(len - 5), e->d_name);
        char *golden = tu_read_file(errpath);
        if (!golden) fail_msg("%s has no golden .err file", path);
        golden[strcspn(golden, "\n")] = 0;
        /* FILE: the spec itself; DIR/: another file next to it (an included one) */
        assert_true(!strncmp(golden, "FILE:", 5) || !strncmp(golden, "DIR/", 4));
        if (golden[0] == 'F')
            snprintf(want, sizeof want, "%s%s", path, golden + 4);
        else
            snprintf(want, sizeof want, "%s%s", dir, golden + 3);
        nn_diag *d = nn_diag_new();
        nn_spec *s = nn_spec_load(path, NULL, 0, d);
        if (s) fail_msg("%s loaded without an error", path);
        assert_true(nn_diag_count(d) >= 1);
        if (strcmp(nn_diag_line(d, 0), want))
            fail_msg("%s:\n got  %s\n want %s", e->d_name, nn_diag_line(d, 0), want);
        FILE *devnull = fopen("/dev/null", "w");
        nn_diag_print(d, devnull); /* printing never crashes, whatever the input */
        fclose(devnull);
        nn_diag_free(d);
        free(golden);
        n++;
    }
    closedir(dp);
    assert_true(n >= 45);
}

static void test_many_errors(void **state)
{
    (void)state;
    nn_diag *d;
    assert_null(load("tests/specs/bad/many_errors.yaml", NULL, 0, &d));
    assert_int_equal(nn_diag_count(d), 6);
    const char *l4 = nn_diag_line(d, 4);
    assert_non_null(strstr(l4, ":5:24: error: expected a number for 'train.lr', got 'fast'"));
    nn_diag_free(d);
}

static void test_io_errors(void **state)
{
    (void)state;
    nn_diag *d = nn_diag_new();
    assert_null(nn_spec_load("/nonexistent/spec.yaml", NULL, 0, d));
    assert_string_equal(nn_diag_line(d, 0), "/nonexistent/spec.yaml: error: cannot read the "
                                            "spec: No such file or directory");
    assert_null(nn_spec_load("/tmp", NULL, 0, d));
    assert_string_equal(nn_diag_line(d, 1), "/tmp: error: cannot read the spec: it is a directory");
    nn_diag_free(d);
}

/* Comments, CRLF line ends, a BOM, anchors and aliases; edits through an alias stay local. */
static void test_yaml_features(void **state)
{
    (void)state;
    char path[64];
    write_tmp(path, sizeof path,
              "\xEF\xBB\xBF# comment\r\ndata: {source: /abs/names.txt}  # trailing\r\n"
              "model:\r\n  - linear: &l {out: 5, init: &i {normal: 2}}\r\n"
              "  - linear: *l\r\n  - batchnorm: {init: *i}\r\n");
    const char *sets[] = {"model.1.linear.out=7"};
    nn_diag *d = nn_diag_new();
    nn_spec *s = nn_spec_load(path, sets, 1, d);
    if (!s) nn_diag_print(d, stderr);
    assert_non_null(s);
    assert_string_equal(s->data.source, "/abs/names.txt");
    assert_int_equal(s->layers[0].out, 5);
    assert_int_equal(s->layers[1].out, 7);
    assert_close(s->layers[1].init.std, 2);
    assert_close(s->layers[2].init.std, 2);
    assert_int_equal(s->layers[1].mark.line, 5);
    nn_spec_free(s);
    unlink(path);
    /* an error in a CRLF file points at the right line and column */
    write_tmp(path, sizeof path, "data: {source: a}\r\nmodel:\r\n# c\r\n  - tahn\r\n");
    assert_null(nn_spec_load(path, NULL, 0, d));
    assert_non_null(strstr(nn_diag_line(d, 0), ":4:5: error: unknown layer 'tahn' (did you mean "
                                               "'tanh'?)"));
    unlink(path);
    nn_diag_free(d);
}

/* Writes `len` bytes to a fresh temporary file; the caller unlinks `path`. */
static void write_bytes(char *path, size_t size, const char *text, size_t len)
{
    snprintf(path, size, "/tmp/nn_spec_XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    for (size_t off = 0; off < len;) {
        ssize_t w = write(fd, text + off, len - off);
        assert_true(w > 0);
        off += (size_t)w;
    }
    close(fd);
}

/* Each robustness case fails with at least one error, never crashes or leaks.  (How long
 * it takes is bench/'s business: tests assert no timing.) */
static void expect_error(const char *path)
{
    nn_diag *d = nn_diag_new();
    nn_spec *s = nn_spec_load(path, NULL, 0, d);
    if (s) fail_msg("%s loaded", path);
    assert_true(nn_diag_count(d) >= 1);
    FILE *devnull = fopen("/dev/null", "w");
    nn_diag_print(d, devnull);
    fclose(devnull);
    nn_diag_free(d);
}

static void test_hostile_input(void **state)
{
    (void)state;
    char path[64];
    size_t big = 10u << 20;
    char *buf = malloc(big + 16);
    assert_non_null(buf);
    unsigned x = 12345;
    for (size_t i = 0; i < big; i++) { /* random bytes, NULs included */
        x = x * 1103515245u + 12345u;
        buf[i] = (char)(x >> 16);
    }
    write_bytes(path, sizeof path, buf, 4096); /* a small binary file */
    expect_error(path);
    unlink(path);
    write_bytes(path, sizeof path, buf, big); /* 10 MB of random bytes */
    expect_error(path);
    unlink(path);
    write_bytes(path, sizeof path, "", 0);
    expect_error(path);
    unlink(path);
    expect_error("/tmp");
    expect_error(tu_path("tests/specs/bad/alias_bomb.yaml"));
    size_t n = 0; /* 10^5 nested flow sequences */
    n += (size_t)sprintf(buf, "data: {source: a}\nmodel: ");
    for (int i = 0; i < 100000; i++)
        buf[n++] = '[';
    write_bytes(path, sizeof path, buf, n);
    expect_error(path);
    unlink(path);
    /* 10^6 layers: over the node limit; 20000: over the layer limit */
    for (int layers = 1000000; layers >= 20000; layers = layers == 20000 ? 0 : 20000) {
        n = (size_t)sprintf(buf, "data: {source: a}\nmodel:\n");
        for (int i = 0; i < layers; i++)
            n += (size_t)sprintf(buf + n, "- tanh\n");
        write_bytes(path, sizeof path, buf, n);
        nn_diag *d = nn_diag_new();
        assert_null(nn_spec_load(path, NULL, 0, d));
        assert_non_null(strstr(nn_diag_line(d, 0), layers > 20000
                                                       ? "the spec is too large"
                                                       : "'model' has 20000 layers; at most "
                                                         "10000 are supported"));
        nn_diag_free(d);
        expect_error(path);
        unlink(path);
    }
    free(buf);
}

static void test_diag_format(void **state)
{
    (void)state;
    nn_diag *d = nn_diag_new();
    const char *file = "x.yaml";
    nn_diag_add_source(d, file, "a: 1\n\tb:  [oops]\n", 18);
    nn_diag_error(d, (nn_mark){file, 2, 6}, "bad %s", "value");
    nn_diag_note(d, "valid: %d", 1);
    nn_diag_error(d, (nn_mark){NULL, 0, 0}, "no position");
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    nn_diag_print(d, out);
    fclose(out);
    assert_string_equal(buf, "x.yaml:2:6: error: bad value\n\tb:  [oops]\n\t    ^\n"
                             "note: valid: 1\nerror: no position\n");
    free(buf);
    assert_string_equal(nn_diag_line(d, 0), "x.yaml:2:6: error: bad value");
    assert_null(nn_diag_line(d, 2));
    for (int i = 0; i < 30; i++)
        nn_diag_error(d, (nn_mark){file, 1, 1}, "e%d", i);
    assert_int_equal(nn_diag_count(d), NN_DIAG_MAX);
    nn_diag_free(d);
}

static void test_suggest(void **state)
{
    (void)state;
    static const char *const layers[] = {"embedding", "flatten", "linear",
                                         "batchnorm", "tanh",    NULL};
    static const char *const keys[] = {"steps", "batch", "loss", "optimizer", "lr", "l2", NULL};
    assert_string_equal(nn_suggest("lienar", layers), "linear");
    assert_string_equal(nn_suggest("Linear", layers), "linear");
    assert_string_equal(nn_suggest("tahn", layers), "tanh");
    assert_string_equal(nn_suggest("batchnrom", layers), "batchnorm");
    assert_string_equal(nn_suggest("embeding", layers), "embedding");
    assert_string_equal(nn_suggest("stpes", keys), "steps");
    assert_string_equal(nn_suggest("optimiser", keys), "optimizer");
    assert_string_equal(nn_suggest("lrr", keys), "lr");
    assert_null(nn_suggest("conv2d", layers));
    assert_null(nn_suggest("epochs", keys));
    assert_null(nn_suggest("", keys));
    assert_null(nn_suggest("x", keys));
}

static void test_kind_names(void **state)
{
    (void)state;
    assert_string_equal(nn_layer_kind_name(NN_LAYER_EMBEDDING), "embedding");
    assert_string_equal(nn_layer_kind_name(NN_LAYER_BATCHNORM), "batchnorm");
    assert_string_equal(nn_layer_kind_name(NN_LAYER_TANH), "tanh");
    assert_string_equal(nn_layer_kind_name(NN_LAYER_RELU), "relu");
    assert_string_equal(nn_layer_kind_name(NN_LAYER_SIGMOID), "sigmoid");
    assert_string_equal(nn_layer_kind_name(NN_LAYER_ONEHOT), "onehot");
    assert_string_equal(nn_layer_kind_name(NN_LAYER_ACTIVATION), "activation");
    assert_string_equal(nn_layer_kind_name(NN_LAYER_NGRAM), "ngram");
    assert_string_equal(nn_layer_kind_name(NN_LAYER_KIND_COUNT), "?");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_good_spec),     cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_set_overrides), cmocka_unit_test(test_set_creates),
        cmocka_unit_test(test_set_errors),    cmocka_unit_test(test_bad_corpus),
        cmocka_unit_test(test_many_errors),   cmocka_unit_test(test_io_errors),
        cmocka_unit_test(test_yaml_features), cmocka_unit_test(test_diag_format),
        cmocka_unit_test(test_suggest),       cmocka_unit_test(test_kind_names),
        cmocka_unit_test(test_hostile_input),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
