/* test_bad_inputs.c — wrong inputs to the plugin, formula and checkpoint features, as an
 * outside user would give them: each must be an error (FILE:LINE:COL for a spec, the file
 * for a checkpoint), exit 2, never a crash and never a silent success.  Found by testing
 * the merged features against their issues (7, 9, 11). */
#include <jansson.h>
#include <sys/stat.h>
#include <unistd.h>

#include "testutil.h"

static char tmp[256];

static int setup(void **state)
{
    (void)state;
    return tu_mkdtemp(tmp, sizeof tmp, "/tmp/nn_badin_XXXXXX");
}

static int teardown(void **state)
{
    (void)state;
    return tu_rmtree(tmp);
}

static void write_file(const char *name, const char *text)
{
    tu_write_bytes(tmp, name, text, strlen(text));
}

/* `nnrun ARGS tmp/SPEC`: exit 2 and a first stderr line "tmp/SPEC:LINE:COL: error: ..."
 * holding `what`. */
static void expect_error(const char *args, const char *spec, int line, int col, const char *what)
{
    char cmd[1024], want[600];
    snprintf(cmd, sizeof cmd, "%s '%s/%s'", args, tmp, spec);
    int rc = tu_nnrun(tmp, cmd);
    char *err = tu_captured(tmp, "err");
    char *nl = strchr(err, '\n');
    if (nl) *nl = 0;
    snprintf(want, sizeof want, "%s/%s:%d:%d: error: ", tmp, spec, line, col);
    if (rc != 2 || strncmp(err, want, strlen(want)) != 0 || !strstr(err, what))
        fail_msg("nnrun %s: exit %d, first line\n  %s\nwant exit 2, '%s...' with '%s'", cmd, rc,
                 err, want, what);
    free(err);
}

/* A four-example inline regression with `act` as the activation (line 7) after the
 * plugins section `plugins` (line 5). */
static void write_spec(const char *name, const char *plugins, const char *act)
{
    char text[2048];
    snprintf(text, sizeof text,
             "name: t\n"
             "data: {inline: {x: [[2.0, 3.0], [3.0, -1.0], [0.5, 1.0], [1.0, -1.0]], y: [1, -1, "
             "-1, 1]}}\n"
             "train: {steps: 3, batch: full, loss: mse, lr: 0.1}\n"
             "plugins:\n"
             "%s\n"
             "model:\n"
             "  - linear: {out: 4}\n"
             "  - activation: %s\n"
             "  - linear: {out: 1}\n"
             "report: {plots: none}\n",
             plugins, act);
    write_file(name, text);
}

static void compile(const char *name, const char *source)
{
    char c[64], cmd[2048];
    snprintf(c, sizeof c, "%s.c", name);
    write_file(c, source);
    snprintf(cmd, sizeof cmd, "cd '%s' && cc -shared -fPIC %s.c -o %s.so -I'%s/include' -lm", tmp,
             name, name, tu_srcdir());
    if (system(cmd) != 0) fail_msg("cannot compile %s.c", name);
}

/* `forward` naming a variable of the library (dlsym finds data too) was called: a crash. */
static void test_plugin_symbol_not_function(void **state)
{
    (void)state;
    compile("k", "#include <nnrun/plugin.h>\n"
                 "NNRUN_PLUGIN_ABI_EXPORT;\n"
                 "const float table[64] = {1};\n"
                 "float f(float x) { return x; }\n"
                 "float df(float x, float y) { (void)x; (void)y; return 1; }\n");
    write_spec("data.yaml", "  k: {library: k.so, forward: table, form: scalar}", "k");
    expect_error("check", "data.yaml", 5, 31, "'table' in the library is a variable");
    write_spec("abi.yaml",
               "  k: {library: k.so, forward: f, backward: nnrun_plugin_abi, form: scalar}", "k");
    expect_error("check", "abi.yaml", 5, 44, "is a variable, not a function");
    write_spec("ok.yaml", "  k: {library: k.so, forward: f, backward: df, form: scalar}", "k");
    char cmd[600];
    snprintf(cmd, sizeof cmd, "check '%s/ok.yaml'", tmp);
    assert_int_equal(tu_nnrun(tmp, cmd), 0);
}

/* A plain-number argument is a C float: 1e40 would be passed as inf. */
static void test_plugin_arg_float_range(void **state)
{
    (void)state;
    compile("k", "#include <nnrun/plugin.h>\n"
                 "float f(float x, float b) { return b * x; }\n");
    write_spec("big.yaml", "  k: {library: k.so, forward: f, form: scalar, args: {b: 1e40}}", "k");
    expect_error("check", "big.yaml", 5, 58, "'plugins.k.args.b' must be between");
    write_spec("dbl.yaml", "  k: {library: k.so, forward: f, form: scalar, args: {b: 1.0}}",
               "{k: {b: -1e39}}");
    expect_error("check", "dbl.yaml", 8, 25, "must be between");
}

/* Numbers in a formula and its params are floats in the kernels: 1e999 is no number. */
static void test_formula_number_range(void **state)
{
    (void)state;
    write_spec("num.yaml", "  {}", "{expr: 'x * 1e999'}");
    expect_error("check", "num.yaml", 8, 29, "too large for a float");
    write_spec("par.yaml", "  {}", "{expr: 'b * x', params: {b: 1e39}}");
    expect_error("check", "par.yaml", 8, 45, "must be between");
}

/* A tiny character model trained for a few steps into tmp/run (model.safetensors). */
static void train_tiny(void)
{
    char text[1024], cmd[1200];
    snprintf(text, sizeof text,
             "name: tiny\n"
             "data: {source: '%s/examples/data/names.txt', context: 2}\n"
             "model: [{embedding: {dim: 2}}, flatten, {linear: {out: 8}}, tanh, linear]\n"
             "train: {steps: 5, batch: 8, lr: 0.1}\n"
             "eval: {splits: [dev]}\n"
             "sample: {count: 0}\n"
             "report: {plots: none}\n",
             tu_srcdir());
    write_file("tiny.yaml", text);
    snprintf(cmd, sizeof cmd, "'%s/tiny.yaml' --out '%s/run' --force --quiet", tmp, tmp);
    if (tu_nnrun(tmp, cmd) != 0) fail_msg("%s", tu_captured(tmp, "err"));
}

/* Rewrites tmp/run/model.safetensors into tmp/NAME with `edit` applied to its header
 * (jansson) and to its data bytes. */
static void rewrite(const char *name, void (*edit)(json_t *h, unsigned char *data))
{
    char p[512];
    snprintf(p, sizeof p, "%s/run/model.safetensors", tmp);
    FILE *f = fopen(p, "rb");
    assert_non_null(f);
    static unsigned char buf[1 << 20];
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--)
        hlen = hlen << 8 | buf[i];
    json_t *h = json_loadb((const char *)buf + 8, (size_t)hlen, 0, NULL);
    assert_non_null(h);
    edit(h, buf + 8 + hlen);
    char *text = json_dumps(h, JSON_COMPACT);
    size_t tl = strlen(text), pad = (8 - tl % 8) % 8;
    snprintf(p, sizeof p, "%s/%s", tmp, name);
    f = fopen(p, "wb");
    assert_non_null(f);
    for (int i = 0; i < 8; i++)
        fputc((int)((tl + pad) >> (8 * i) & 0xff), f);
    fputs(text, f);
    for (size_t i = 0; i < pad; i++)
        fputc(' ', f);
    fwrite(buf + 8 + hlen, 1, n - 8 - hlen, f);
    fclose(f);
    free(text);
    json_decref(h);
}

/* `nnrun sample tmp/FILE`: exit 2, nothing on stdout, stderr starting "tmp/FILE: error: "
 * and holding `what`. */
static void expect_sample_error(const char *file, const char *what)
{
    char cmd[600], want[600];
    snprintf(cmd, sizeof cmd, "sample '%s/%s' --count 2", tmp, file);
    int rc = tu_nnrun(tmp, cmd);
    char *out = tu_captured(tmp, "out"), *err = tu_captured(tmp, "err");
    snprintf(want, sizeof want, "%s/%s: error: ", tmp, file);
    if (rc != 2 || *out || strncmp(err, want, strlen(want)) != 0 || !strstr(err, what))
        fail_msg("nnrun %s: exit %d, stdout '%s', stderr\n%s\nwant exit 2, '%s' with '%s'", cmd, rc,
                 out, err, want, what);
    free(out);
    free(err);
}

static void put_nan(json_t *h, unsigned char *data)
{
    json_t *off = json_object_get(json_object_get(h, "layers.2.weight"), "data_offsets");
    long at = (long)json_integer_value(json_array_get(off, 0)) + 4;
    memcpy(data + at, "\x00\x00\xc0\x7f", 4); /* a quiet NaN, little-endian */
}

/* layers.2.weight's range starts 4 bytes early, into the tensor before it. */
static void overlap(json_t *h, unsigned char *data)
{
    (void)data;
    json_t *off = json_object_get(json_object_get(h, "layers.2.weight"), "data_offsets");
    long lo = (long)json_integer_value(json_array_get(off, 0));
    long hi = (long)json_integer_value(json_array_get(off, 1));
    assert_true(lo >= 4);
    json_array_set_new(off, 0, json_integer(lo - 4));
    json_array_set_new(off, 1, json_integer(hi - 4));
}

static void repeat_vocab(json_t *h, unsigned char *data)
{
    (void)data;
    json_t *meta = json_object_get(h, "__metadata__");
    json_t *v = json_loads(json_string_value(json_object_get(meta, "vocab")), 0, NULL);
    assert_non_null(v);
    json_array_set_new(v, json_array_size(v) - 1, json_string("a")); /* 'z' becomes 'a' */
    char *text = json_dumps(v, JSON_COMPACT);
    json_object_set_new(meta, "vocab", json_string(text));
    free(text);
    json_decref(v);
}

static void break_spec(json_t *h, unsigned char *data)
{
    (void)data;
    json_object_set_new(json_object_get(h, "__metadata__"), "spec", json_string("name: [oops\n"));
}

/* Corrupted model files that parse: each an error, not garbage samples. */
static void test_corrupted_checkpoints(void **state)
{
    (void)state;
    train_tiny();
    char cmd[600];
    snprintf(cmd, sizeof cmd, "sample '%s/run' --count 2", tmp);
    assert_int_equal(tu_nnrun(tmp, cmd), 0);
    rewrite("nan.safetensors", put_nan);
    expect_sample_error("nan.safetensors", "non-finite");
    rewrite("overlap.safetensors", overlap);
    expect_sample_error("overlap.safetensors", "overlap");
    rewrite("vocab.safetensors", repeat_vocab);
    expect_sample_error("vocab.safetensors", "twice");
    /* an error in the stored spec names the model file, not only a temporary copy */
    rewrite("spec.safetensors", break_spec);
    snprintf(cmd, sizeof cmd, "sample '%s/spec.safetensors'", tmp);
    assert_int_equal(tu_nnrun(tmp, cmd), 2);
    char *err = tu_captured(tmp, "err");
    if (!strstr(err, "spec.safetensors")) fail_msg("the model file is not named:\n%s", err);
    free(err);
}

/* init: {from: X} and init_from: X naming a directory or a file that is no safetensors:
 * the error points at the spec's line (as a missing file's does), and names the file. */
static void test_init_from_bad_files(void **state)
{
    (void)state;
    char text[1024];
    write_file("junk.safetensors", "this is no safetensors file, only text\n");
    const char *froms[] = {".", "junk.safetensors"};
    const char *whats[] = {"a directory", "junk.safetensors': not a safetensors file"};
    for (int i = 0; i < 2; i++) {
        snprintf(text, sizeof text,
                 "name: t\n"
                 "data: {inline: {x: [[2.0, 3.0], [3.0, -1.0]], y: [1, -1]}}\n"
                 "train: {steps: 3, batch: full, loss: mse, lr: 0.1}\n"
                 "model:\n"
                 "  - linear: {out: 1, init: {from: '%s', tensor: w}}\n"
                 "report: {plots: none}\n",
                 froms[i]);
        write_file("from.yaml", text);
        expect_error("check", "from.yaml", 5, 28, whats[i]);
        snprintf(text, sizeof text,
                 "name: t\n"
                 "data: {inline: {x: [[2.0, 3.0], [3.0, -1.0]], y: [1, -1]}}\n"
                 "train: {steps: 3, batch: full, loss: mse, lr: 0.1}\n"
                 "model: [{linear: {out: 1}}]\n"
                 "init_from: '%s'\n"
                 "report: {plots: none}\n",
                 froms[i]);
        write_file("all.yaml", text);
        expect_error("check", "all.yaml", 5, 12, whats[i]);
    }
}

/* An unquoted formula in flow style ends at its first comma (YAML's doing): the error is
 * in the formula, and a note says to quote it. */
static void test_formula_unquoted_in_flow(void **state)
{
    (void)state;
    write_spec("flow.yaml", "  {}", "{expr: max(x, 0)}");
    expect_error("check", "flow.yaml", 8, 27, "'(' is never closed");
    char *err = tu_captured(tmp, "err");
    if (!strstr(err, "note: ") || !strstr(err, "quote"))
        fail_msg("no note to quote the formula:\n%s", err);
    free(err);
    /* `activation: tanh` asks for a plugin; the note points at the builtin layer */
    write_spec("builtin.yaml", "  {}", "tanh");
    expect_error("check", "builtin.yaml", 8, 5, "activation 'tanh' is no declared plugin");
    err = tu_captured(tmp, "err");
    if (!strstr(err, "'- tanh'")) fail_msg("no note on the builtin layer:\n%s", err);
    free(err);
    /* quoted, it is fine */
    write_spec("quoted.yaml", "  {}", "{expr: 'max(x, 0)'}");
    char cmd[600];
    snprintf(cmd, sizeof cmd, "check '%s/quoted.yaml'", tmp);
    assert_int_equal(tu_nnrun(tmp, cmd), 0);
}

/* Options that would silently do nothing for `nnrun sample` (no spec, nothing written). */
static void test_sample_usage(void **state)
{
    (void)state;
    const char *bad[] = {"--set train.steps=3", "--out x", "--force", "--json"};
    for (int i = 0; i < 4; i++) {
        char cmd[600];
        snprintf(cmd, sizeof cmd, "sample '%s/nothing' %s", tmp, bad[i]);
        assert_int_equal(tu_nnrun(tmp, cmd), 2);
        char *err = tu_captured(tmp, "err");
        if (!strstr(err, "nnrun: error: ") || !strstr(err, "'nnrun sample'"))
            fail_msg("nnrun %s:\n%s", cmd, err);
        free(err);
    }
}

/* --resume of a counting-model run: a clear error, not a missing training state. */
static void test_resume_counting_model(void **state)
{
    (void)state;
    char cmd[600];
    snprintf(cmd, sizeof cmd, "specs/bigram_counts.yaml --out '%s/c' --quiet", tmp);
    assert_int_equal(tu_nnrun(tmp, cmd), 0);
    snprintf(cmd, sizeof cmd, "specs/bigram_counts.yaml --resume '%s/c' --quiet", tmp);
    assert_int_equal(tu_nnrun(tmp, cmd), 2);
    char *err = tu_captured(tmp, "err");
    if (!strstr(err, "nothing to resume")) fail_msg("%s", err);
    free(err);
}

/* --dump-step past the last step would write nothing, silently. */
static void test_dump_step_past_end(void **state)
{
    (void)state;
    write_spec("dump.yaml", "  {}", "{expr: 'tanh(x)'}");
    char cmd[600], p[600];
    snprintf(cmd, sizeof cmd, "'%s/dump.yaml' --out '%s/d' --quiet --dump-step 3", tmp, tmp);
    assert_int_equal(tu_nnrun(tmp, cmd), 2);
    char *err = tu_captured(tmp, "err");
    if (!strstr(err, "--dump-step")) fail_msg("%s", err);
    free(err);
    snprintf(p, sizeof p, "%s/d", tmp);
    assert_int_not_equal(access(p, F_OK), 0); /* nothing written */
    snprintf(cmd, sizeof cmd, "'%s/dump.yaml' --out '%s/d' --quiet --dump-step 2", tmp, tmp);
    assert_int_equal(tu_nnrun(tmp, cmd), 0);
    snprintf(p, sizeof p, "%s/d/dump.safetensors", tmp);
    assert_int_equal(access(p, R_OK), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plugin_symbol_not_function),
        cmocka_unit_test(test_plugin_arg_float_range),
        cmocka_unit_test(test_formula_number_range),
        cmocka_unit_test(test_corrupted_checkpoints),
        cmocka_unit_test(test_init_from_bad_files),
        cmocka_unit_test(test_formula_unquoted_in_flow),
        cmocka_unit_test(test_sample_usage),
        cmocka_unit_test(test_dump_step_past_end),
        cmocka_unit_test(test_resume_counting_model),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
