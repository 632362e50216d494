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
    snprintf(tmp, sizeof tmp, "/tmp/nn_badin_XXXXXX");
    return mkdtemp(tmp) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
    return system(cmd) == 0 ? 0 : -1;
}

static void write_file(const char *name, const char *text)
{
    char p[512];
    snprintf(p, sizeof p, "%s/%s", tmp, name);
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plugin_symbol_not_function),
        cmocka_unit_test(test_plugin_arg_float_range),
        cmocka_unit_test(test_formula_number_range),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
