/* test_plugin.c — activation plugins (issue 7), end to end through the binary: plugins
 * written and compiled here, outside the source tree, with only nnrun/plugin.h
 * (cc -shared -fPIC x.c -o x.so -I<srcdir>/include), named by specs written here.  Each
 * load-time error has its FILE:LINE:COL first line and exit 2; a NaN from a plugin during
 * training stops the run with exit 1, naming the plugin and the step, keeping metrics.csv;
 * the examples train; and the callables agree with a scalar reference and with finite
 * differences (the typed-pointer and the libffi paths alike). */
#include <math.h>
#include <sys/stat.h>
#include <unistd.h>

#include "testutil.h"

#include "parser/spec.h"
#include "runtime/plugin/plugin.h"

static char tmp[256];

static int setup(void **state)
{
    (void)state;
    return tu_mkdtemp(tmp, sizeof tmp, "/tmp/nn_plugin_XXXXXX");
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

/* Compiles tmp/NAME.c into tmp/NAME.so as a user would: cc, -shared -fPIC, the header. */
static void compile(const char *name, const char *source)
{
    char c[64], cmd[2048];
    snprintf(c, sizeof c, "%s.c", name);
    write_file(c, source);
    snprintf(cmd, sizeof cmd, "cd '%s' && cc -shared -fPIC %s.c -o %s.so -I'%s/include' -lm", tmp,
             name, name, tu_srcdir());
    if (system(cmd) != 0) fail_msg("cannot compile %s.c", name);
}

/* A small character MLP with `act` as its activation layer (line 9 of the file), after
 * the plugins section `plugins` (lines 5–6). */
static void write_spec(const char *name, const char *plugins, const char *act, long steps)
{
    char text[4096];
    snprintf(text, sizeof text,
             "name: t\n"
             "data: {source: '%s/examples/data/names.txt', context: 3}\n"
             "train: {steps: %ld, batch: 32, lr: 0.1}\n"
             "plugins:\n"
             "%s\n"
             "model:\n"
             "  - embedding: {dim: 4}\n"
             "  - flatten\n"
             "  - linear: {out: 16}\n"
             "  - activation: %s\n"
             "  - linear\n"
             "eval: {every: 0}\n"
             "sample: {count: 0}\n"
             "report: {plots: none}\n",
             tu_srcdir(), steps, plugins, act);
    write_file(name, text);
}

/* `nnrun ARGS` on tmp/SPEC: exit `rc`, and the first stderr line starts with
 * "tmp/SPEC:LINE:COL: error: " and holds `what`. */
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

static const char swish_src[] =
    "#include <math.h>\n"
    "#include <nnrun/plugin.h>\n"
    "NNRUN_PLUGIN_ABI_EXPORT;\n"
    "NNRUN_PLUGIN_ARGS(sw_fwd, \"f\");\n"
    "void sw_fwd(const float *x, float *y, size_t n, float b)\n"
    "{ for (size_t i = 0; i < n; i++) y[i] = x[i] / (1 + expf(-b * x[i])); }\n"
    "void sw_bwd(const float *x, const float *y, const float *dy, float *dx, size_t n, float b)\n"
    "{ for (size_t i = 0; i < n; i++) { float s = 1 / (1 + expf(-b * x[i]));\n"
    "    dx[i] = dy[i] * (s + b * x[i] * s * (1 - s)); } (void)y; }\n"
    /* wrong: forgets the second term of the product rule */
    "void sw_bad(const float *x, const float *y, const float *dy, float *dx, size_t n, float b)\n"
    "{ for (size_t i = 0; i < n; i++) dx[i] = dy[i] / (1 + expf(-b * x[i])); (void)y; }\n";

#define SWISH(extra)                                                                               \
    "  sw: {library: sw.so, forward: sw_fwd, backward: sw_bwd, args: {beta: 1.0}" extra "}"

/* A plugin compiled outside the tree, with only nnrun/plugin.h, trains; --set reaches its
 * arguments; a per-layer override; check --resolved round-trips. */
static void test_out_of_tree_plugin(void **state)
{
    (void)state;
    compile("sw", swish_src);
    write_spec("ok.yaml", SWISH(""), "sw", 50);
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "'%s/ok.yaml' --out '%s/run' --force --quiet", tmp, tmp);
    if (tu_nnrun(tmp, cmd) != 0) fail_msg("%s", tu_captured(tmp, "err"));
    char p[512];
    snprintf(p, sizeof p, "%s/run/summary.json", tmp);
    char *summary = tu_read_file(p);
    assert_non_null(summary);
    assert_non_null(strstr(summary, "\"dev\""));
    free(summary);
    /* --set plugins.sw.args.beta=2 is typed like the file: a plain number is a float */
    snprintf(cmd, sizeof cmd, "check --resolved '%s/ok.yaml' --set plugins.sw.args.beta=2", tmp);
    assert_int_equal(tu_nnrun(tmp, cmd), 0);
    char *out = tu_captured(tmp, "out");
    assert_non_null(strstr(out, "args: {beta: 2.0}"));
    assert_non_null(strstr(out, "library: '"));
    free(out);
    /* the resolved spec (absolute library path) runs again */
    snprintf(cmd, sizeof cmd,
             "check --resolved '%s/ok.yaml' >'%s/r.yaml' && '%s' check --resolved '%s/r.yaml' "
             ">'%s/r2.yaml' && cmp '%s/r.yaml' '%s/r2.yaml' && '%s' check '%s/r.yaml'",
             tmp, tmp, getenv("NNRUN_BIN") ? getenv("NNRUN_BIN") : "./nnrun", tmp, tmp, tmp, tmp,
             getenv("NNRUN_BIN") ? getenv("NNRUN_BIN") : "./nnrun", tmp);
    if (tu_nnrun(tmp, cmd) != 0) fail_msg("the resolved spec does not round-trip");
    /* a per-layer override */
    write_spec("override.yaml", SWISH(""), "{sw: {beta: 2.0}}", 5);
    snprintf(cmd, sizeof cmd, "check '%s/override.yaml'", tmp);
    assert_int_equal(tu_nnrun(tmp, cmd), 0);
}

/* A library that is not where the spec says is looked for by name in $NNRUN_PLUGIN_PATH (a
 * VPATH build's examples/plugins); without it, the spec's path is an error. */
static void test_plugin_path(void **state)
{
    (void)state;
    compile("sw", swish_src);
    write_spec("away.yaml",
               "  sw: {library: elsewhere/sw.so, forward: sw_fwd, backward: sw_bwd, "
               "args: {beta: 1.0}}",
               "sw", 5);
    char cmd[4096], keep[4096] = "";
    snprintf(cmd, sizeof cmd, "check '%s/away.yaml'", tmp);
    if (getenv("NNRUN_PLUGIN_PATH")) snprintf(keep, sizeof keep, "%s", getenv("NNRUN_PLUGIN_PATH"));
    unsetenv("NNRUN_PLUGIN_PATH");
    assert_int_equal(tu_nnrun(tmp, cmd), 2);
    char *err = tu_captured(tmp, "err");
    assert_non_null(strstr(err, "NNRUN_PLUGIN_PATH"));
    free(err);
    char dirs[600];
    snprintf(dirs, sizeof dirs, "/nonexistent:%s", tmp);
    setenv("NNRUN_PLUGIN_PATH", dirs, 1);
    int rc = tu_nnrun(tmp, cmd);
    setenv("NNRUN_PLUGIN_PATH", keep, 1);
    if (rc != 0) fail_msg("%s", tu_captured(tmp, "err"));
}

/* The load-time errors: each at its spec line, exit 2, before anything is trained. */
static void test_load_errors(void **state)
{
    (void)state;
    compile("sw", swish_src);
    write_spec("nolib.yaml", "  sw: {library: missing.so, forward: sw_fwd, args: {beta: 1.0}}",
               "sw", 5);
    expect_error("check", "nolib.yaml", 5, 17, "cannot load the library of plugin 'sw': ");
    expect_error("check", "nolib.yaml", 5, 17, "missing.so: cannot open shared object file");
    write_spec("nosym.yaml", "  sw: {library: sw.so, forward: sw_fwdd, args: {beta: 1.0}}", "sw",
               5);
    expect_error("", "nosym.yaml", 5, 33, "the library has no symbol 'sw_fwdd'");
    /* the library declares (float); the spec says int */
    write_spec("types.yaml", "  sw: {library: sw.so, forward: sw_fwd, args: {beta: {int: 1}}}",
               "sw", 5);
    expect_error("check", "types.yaml", 5, 47, "takes arguments of types \"f\"");
    write_spec("bad_bwd.yaml",
               "  sw: {library: sw.so, forward: sw_fwd, backward: sw_bad, "
               "args: {beta: 1.0}}",
               "sw", 5);
    expect_error("check", "bad_bwd.yaml", 5, 51, "disagrees with finite differences");
    expect_error("check", "bad_bwd.yaml", 5, 51, "relative error");
    /* a declared plugin no layer uses is checked too (line 6) */
    write_spec("unused.yaml",
               SWISH("") "\n  sb: {library: sw.so, forward: sw_fwd, backward: sw_bad, "
                         "args: {beta: 1.0}}",
               "sw", 5);
    expect_error("check", "unused.yaml", 6, 51, "backward 'sw_bad' disagrees");
    /* check: false lets it through */
    write_spec("nocheck.yaml",
               "  sw: {library: sw.so, forward: sw_fwd, backward: sw_bad, "
               "args: {beta: 1.0}, check: false}",
               "sw", 5);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "check '%s/nocheck.yaml'", tmp);
    assert_int_equal(tu_nnrun(tmp, cmd), 0);
    compile("abi", "#include <stddef.h>\n"
                   "const int nnrun_plugin_abi = 99;\n"
                   "void f(const float *x, float *y, size_t n) { for (size_t i = 0; i < n; i++) "
                   "y[i] = x[i]; }\n");
    write_spec("abi.yaml", "  ab: {library: abi.so, forward: f}", "ab", 5);
    expect_error("check", "abi.yaml", 5, 17, "built for plugin ABI 99");
}

/* Errors the parser finds: names, overrides, expressions. */
static void test_spec_errors(void **state)
{
    (void)state;
    write_spec("shadow.yaml", "  tanh: {library: x.so, forward: f}", "tanh", 5);
    expect_error("check", "shadow.yaml", 5, 3, "plugin name 'tanh' is taken by a builtin layer");
    write_spec("expr.yaml", "  expr: {library: x.so, forward: f}", "expr", 5);
    expect_error("check", "expr.yaml", 5, 3, "plugin name 'expr' is taken by expression");
    write_spec("expr_layer.yaml", "  sw: {library: x.so, forward: f}", "expr", 5);
    expect_error("check", "expr_layer.yaml", 10, 17, "needs its formula");
    write_spec("undeclared.yaml", "  sw: {library: x.so, forward: f}", "sx", 5);
    expect_error("check", "undeclared.yaml", 10, 5, "activation 'sx' is no declared plugin");
    write_spec("override.yaml", "  sw: {library: x.so, forward: f, args: {beta: 1.0}}",
               "{sw: {beta: {double: 2.0}}}", 5);
    expect_error("check", "override.yaml", 10, 29, "is declared a float");
    write_spec("unknown_arg.yaml", "  sw: {library: x.so, forward: f, args: {beta: 1.0}}",
               "{sw: {gamma: 2.0}}", 5);
    expect_error("check", "unknown_arg.yaml", 10, 30, "declares no argument 'gamma'");
    write_spec("nofwd.yaml", "  sw: {library: x.so}", "sw", 5);
    expect_error("check", "nofwd.yaml", 5, 7, "missing required key 'forward'");
}

/* NaN from a plugin during training: exit 1 naming the plugin and the step; metrics kept. */
static void test_nan_during_training(void **state)
{
    (void)state;
    /* finite at load (the gradient check calls it 3 times), NaN from its 20th call on */
    compile("nan", "#include <math.h>\n#include <stddef.h>\n"
                   "static int calls;\n"
                   "void f(const float *x, float *y, size_t n) {\n"
                   "  for (size_t i = 0; i < n; i++) y[i] = tanhf(x[i]);\n"
                   "  if (++calls >= 20) y[n / 2] = NAN; }\n"
                   "void df(const float *x, const float *y, const float *dy, float *dx, size_t "
                   "n) { for (size_t i = 0; i < n; i++) dx[i] = dy[i] * (1 - y[i] * y[i]); "
                   "(void)x; }\n");
    write_spec("nan.yaml", "  bad: {library: nan.so, forward: f, backward: df}", "bad", 100);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "'%s/nan.yaml' --out '%s/nanrun' --force --quiet", tmp, tmp);
    assert_int_equal(tu_nnrun(tmp, cmd), 1);
    char *err = tu_captured(tmp, "err");
    /* calls 1-3 are the gradient check's, then one per step: the 20th is step 16 */
    char want[400];
    snprintf(want, sizeof want, "%s/nan.yaml:5:3: error: plugin 'bad': forward 'f' returned nan",
             tmp);
    if (strncmp(err, want, strlen(want)) != 0 || !strstr(err, "at step 16"))
        fail_msg("stderr:\n%s", err);
    free(err);
    char p[512];
    snprintf(p, sizeof p, "%s/nanrun/metrics.csv", tmp);
    char *csv = tu_read_file(p);
    assert_non_null(csv);
    assert_non_null(strstr(csv, "\n15,")); /* the steps before it */
    assert_null(strstr(csv, "\n16,"));
    free(csv);
    /* and a report of them, with a summary that has no split losses */
    snprintf(p, sizeof p, "%s/nanrun/summary.json", tmp);
    char *summary = tu_read_file(p);
    assert_non_null(summary);
    assert_non_null(strstr(summary, "\"dev\": null"));
    free(summary);
    snprintf(p, sizeof p, "%s/nanrun/report.html", tmp);
    assert_int_equal(access(p, R_OK), 0);
}

/* A scalar plugin without backward: finite differences, said once; it trains. */
static void test_scalar_without_backward(void **state)
{
    (void)state;
    compile("ss", "float ss(float x) { return x / (1 + (x < 0 ? -x : x)); }\n");
    write_spec("ss.yaml", "  ss: {library: ss.so, forward: ss, form: scalar}", "ss", 20);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "'%s/ss.yaml' --out '%s/ssrun' --force --quiet", tmp, tmp);
    assert_int_equal(tu_nnrun(tmp, cmd), 0);
    char *err = tu_captured(tmp, "err");
    const char *note = strstr(err, "has no backward");
    assert_non_null(note);
    assert_null(strstr(note + 1, "has no backward")); /* once */
    free(err);
}

/* `--set` naming this build's example library `name` (the specs name the in-tree one, so a
 * VPATH build points them at its own); "" when the binary's directory is unknown. */
static void example_lib_set(char *out, size_t len, const char *name)
{
    char bin[500];
    snprintf(bin, sizeof bin, "%s", getenv("NNRUN_BIN") ? getenv("NNRUN_BIN") : "./nnrun");
    char *slash = strrchr(bin, '/');
    out[0] = 0;
    if (slash) {
        *slash = 0;
        snprintf(out, len, "--set 'plugins.%s.library=%s/examples/plugins/%s.so'", name, bin,
                 name);
    }
}

/* The example specs: swish trains about as well as tanh at the same steps (CI length). */
static void test_swish_vs_tanh(void **state)
{
    (void)state;
    const char *specs[2] = {"mlp_bn", "mlp_swish"};
    double dev[2];
    char lib[600];
    example_lib_set(lib, sizeof lib, "swish");
    for (int k = 0; k < 2; k++) {
        char cmd[1600], p[512];
        snprintf(cmd, sizeof cmd,
                 "specs/%s.yaml --set train.steps=2000 --set eval.every=0 --set sample.count=0 "
                 "--set report.plots=none --out '%s/%s' --force --quiet --json %s",
                 specs[k], tmp, specs[k], k ? lib : "");
        if (tu_nnrun(tmp, cmd) != 0) fail_msg("%s: %s", specs[k], tu_captured(tmp, "err"));
        snprintf(p, sizeof p, "%s/%s/summary.json", tmp, specs[k]);
        char *s = tu_read_file(p);
        assert_non_null(s);
        const char *d = strstr(s, "\"dev\":");
        assert_non_null(d);
        dev[k] = strtod(d + 6, NULL);
        free(s);
    }
    if (!(fabs(dev[0] - dev[1]) < 0.05 && dev[1] < 2.6))
        fail_msg("dev loss: tanh %.4f, swish %.4f", dev[0], dev[1]);
}

/* Reads the train_loss and dev_loss cells of metrics.csv's evaluation rows (at most `max`);
 * returns the rows read. */
static int eval_losses(const char *csv, double (*loss)[2], int max)
{
    char *s = tu_read_file(csv);
    assert_non_null(s);
    int col[2] = {-1, -1}, n = 0, c = 0;
    const char *h = s;
    for (const char *q = s; *q && *q != '\n'; q++) /* header: find the two columns */
        if (*q == ',') {
            c++;
            if (!strncmp(q + 1, "train_loss,", 11)) col[0] = c;
            if (!strncmp(q + 1, "dev_loss,", 9)) col[1] = c;
        }
    assert_true(col[0] > 0 && col[1] > 0);
    for (h = strchr(s, '\n'); h && h[1] && n < max; h = strchr(h + 1, '\n')) {
        const char *f = h + 1;
        double v[2] = {NAN, NAN};
        for (int k = 0; *f && *f != '\n'; k++) { /* each cell of the row */
            for (int j = 0; j < 2; j++)
                if (k == col[j] && *f != ',') v[j] = strtod(f, NULL);
            while (*f && *f != ',' && *f != '\n') f++;
            if (*f == ',') f++;
        }
        if (!isnan(v[1])) loss[n][0] = v[0], loss[n][1] = v[1], n++;
    }
    free(s);
    return n;
}

/* Swish written as a formula runs as the swish plugin does: train and dev losses equal
 * within 1e-5 at every evaluation point of a 2000-step run (issue 11). */
static void test_swish_expr_matches_plugin(void **state)
{
    (void)state;
    const char *specs[2] = {"mlp_swish", "mlp_swish_expr"};
    double loss[2][16][2];
    int n[2];
    char lib[600];
    example_lib_set(lib, sizeof lib, "swish");
    for (int k = 0; k < 2; k++) {
        char cmd[1600], p[512];
        snprintf(cmd, sizeof cmd,
                 "specs/%s.yaml --set train.steps=2000 --set eval.every=200 --set sample.count=0 "
                 "--set report.plots=none --out '%s/%s' --force --quiet %s",
                 specs[k], tmp, specs[k], k ? "" : lib);
        if (tu_nnrun(tmp, cmd) != 0) fail_msg("%s: %s", specs[k], tu_captured(tmp, "err"));
        snprintf(p, sizeof p, "%s/%s/metrics.csv", tmp, specs[k]);
        n[k] = eval_losses(p, loss[k], 16);
    }
    assert_int_equal(n[0], 10);
    assert_int_equal(n[1], 10);
    for (int i = 0; i < n[0]; i++)
        for (int j = 0; j < 2; j++)
            if (!(fabs(loss[0][i][j] - loss[1][i][j]) <= 1e-5))
                fail_msg("eval %d, %s: plugin %.8f, formula %.8f", i + 1, j ? "dev" : "train",
                         loss[0][i][j], loss[1][i][j]);
}

/* Evaluation threads call one plugin at once; the results do not depend on their number. */
static void test_threads(void **state)
{
    (void)state;
    compile("sw", swish_src);
    write_spec("thr.yaml", SWISH(""), "sw", 30);
    char *loss[2];
    for (int t = 0; t < 2; t++) {
        char cmd[1024], p[512];
        snprintf(cmd, sizeof cmd, "'%s/thr.yaml' --threads %d --out '%s/thr%d' --force --quiet",
                 tmp, t + 1, tmp, t);
        if (tu_nnrun(tmp, cmd) != 0) fail_msg("%s", tu_captured(tmp, "err"));
        snprintf(p, sizeof p, "%s/thr%d/summary.json", tmp, t);
        char *s = tu_read_file(p);
        assert_non_null(s);
        char *l = strstr(s, "\"loss\"");
        assert_non_null(l);
        loss[t] = strndup(l, (size_t)(strchr(l, '}') - l));
        free(s);
    }
    assert_string_equal(loss[0], loss[1]);
    free(loss[0]), free(loss[1]);
}

/* --- the callables themselves, in process ----------------------------------------------- */

static nn_spec *load_spec_text(const char *name, const char *text)
{
    write_file(name, text);
    char p[512];
    snprintf(p, sizeof p, "%s/%s", tmp, name);
    nn_diag *d = nn_diag_new();
    nn_spec *s = nn_spec_load(p, NULL, 0, d);
    if (!s) nn_diag_print(d, stderr);
    nn_diag_free(d);
    assert_non_null(s);
    return s;
}

/* forward against double-precision swish; backward against central differences of it;
 * the accumulating backward adds. */
static void check_swish_callable(const nn_callable *c, double beta)
{
    enum { N = 1000 };
    static float x[N], y[N], dy[N], dx[N], acc[N];
    for (int i = 0; i < N; i++)
        x[i] = -8.0f + 16.0f * (float)i / N, dy[i] = 0.5f + (float)(i % 7) / 7, acc[i] = 1;
    c->forward(c, x, y, N);
    c->backward(c, x, y, dy, dx, N, 0);
    c->backward(c, x, y, dy, acc, N, 1);
    for (int i = 0; i < N; i++) {
        double xv = x[i], ref = xv / (1 + exp(-beta * xv)), h = 1e-5;
        double num =
            ((xv + h) / (1 + exp(-beta * (xv + h))) - (xv - h) / (1 + exp(-beta * (xv - h)))) /
            (2 * h);
        if (!tu_close(y[i], ref, 1e-5, 1e-4)) fail_msg("f(%g) = %g, want %g", xv, y[i], ref);
        if (!tu_close(dx[i], dy[i] * num, 1e-4, 1e-3))
            fail_msg("f'(%g)·dy = %g, want %g", xv, dx[i], dy[i] * num);
        if (!tu_close(acc[i], 1 + dx[i], 1e-6, 1e-6)) fail_msg("accumulate at %g", xv);
    }
}

static void test_callables(void **state)
{
    (void)state;
    compile("sw", swish_src);
    /* array swish; a scalar swish with two float args (typed-pointer path) and one with a
     * double (libffi per element); scalar and array without backward (finite differences) */
    compile("sc", "#include <math.h>\n"
                  "float s(float x, float b, float g) { return g * x / (1 + expf(-b * x)); }\n"
                  "float ds(float x, float y, float b, float g) { float s = 1 / (1 + expf(-b * "
                  "x)); (void)y; return g * (s + b * x * s * (1 - s)); }\n"
                  "float sd(float x, double b) { return x / (1 + expf(-(float)b * x)); }\n"
                  "float dsd(float x, float y, double b) { return ds(x, y, (float)b, 1); }\n");
    char text[2048];
    snprintf(text, sizeof text,
             "data: {source: '%s/examples/data/names.txt'}\n"
             "plugins:\n"
             "  a: {library: sw.so, forward: sw_fwd, backward: sw_bwd, args: {beta: 1.5}}\n"
             "  b: {library: sc.so, forward: s, backward: ds, form: scalar, args: {b: 1.0, g: "
             "1.0}}\n"
             "  c: {library: sc.so, forward: sd, backward: dsd, form: scalar, args: {b: {double: "
             "0.5}}}\n"
             "  d: {library: sc.so, forward: sd, form: scalar, args: {b: {double: 2.0}}}\n"
             "  e: {library: sw.so, forward: sw_fwd, args: {beta: 1.25}}\n"
             "model: [{embedding: {dim: 2}}, flatten, {activation: a}, {activation: {b: {b: "
             "0.75}}}, {activation: c}, {activation: d}, {activation: e}, linear]\n",
             tu_srcdir());
    nn_spec *s = load_spec_text("callables.yaml", text);
    nn_diag *d = nn_diag_new();
    nn_plugins *p = NULL;
    if (nn_plugins_load(s, &p, d) != 0) nn_diag_print(d, stderr);
    assert_non_null(p);
    const nn_callable *const *fn = nn_plugins_layer_fns(p);
    assert_null(fn[0]), assert_null(fn[1]), assert_null(fn[7]);
    check_swish_callable(fn[2], 1.5);
    check_swish_callable(fn[3], 0.75);
    check_swish_callable(fn[4], 0.5);
    check_swish_callable(fn[5], 2.0);  /* scalar, finite differences */
    check_swish_callable(fn[6], 1.25); /* array, finite differences */
    assert_null(nn_plugins_failure(p));
    nn_plugins_free(p);
    nn_diag_free(d);
    nn_spec_free(s);
}

/* The NaN/Inf check: a non-finite output from a non-finite input is not the plugin's
 * fault; from a finite one it is recorded, naming the plugin, the function and x. */
static void test_nonfinite_check(void **state)
{
    (void)state;
    compile("big", "#include <math.h>\n#include <stddef.h>\n"
                   "void f(const float *x, float *y, size_t n) { for (size_t i = 0; i < n; i++) "
                   "y[i] = x[i] > 100 ? INFINITY : x[i]; }\n"
                   "void df(const float *x, const float *y, const float *dy, float *dx, size_t "
                   "n) { for (size_t i = 0; i < n; i++) dx[i] = x[i] < -100 ? NAN : dy[i]; "
                   "(void)y; }\n");
    char text[1024];
    snprintf(text, sizeof text,
             "data: {source: '%s/examples/data/names.txt'}\n"
             "plugins:\n  big: {library: big.so, forward: f, backward: df}\n"
             "model: [{embedding: {dim: 2}}, flatten, {activation: big}, linear]\n",
             tu_srcdir());
    nn_spec *s = load_spec_text("big.yaml", text);
    nn_diag *d = nn_diag_new();
    nn_plugins *p = NULL;
    assert_int_equal(nn_plugins_load(s, &p, d), 0);
    const nn_callable *c = nn_plugins_layer_fns(p)[2];
    float x[20], y[20], dy[20], dx[20];
    for (int i = 0; i < 20; i++)
        x[i] = (float)i, dy[i] = 1;
    x[3] = NAN, x[5] = INFINITY;
    c->forward(c, x, y, 20);
    c->backward(c, x, y, dy, dx, 20, 0);
    assert_null(nn_plugins_failure(p)); /* NaN and Inf in, NaN and Inf out: fine */
    x[17] = -200;
    c->backward(c, x, y, dy, dx, 20, 1);
    const char *why = nn_plugins_failure(p);
    assert_non_null(why);
    assert_non_null(strstr(why, "big.yaml:3:3: error: plugin 'big': backward 'df' returned nan "
                                "for x = -200"));
    x[11] = 150; /* the first failure stays */
    c->forward(c, x, y, 20);
    assert_non_null(strstr(nn_plugins_failure(p), "backward 'df'"));
    nn_plugins_free(p);
    nn_diag_free(d);
    nn_spec_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_out_of_tree_plugin),
        cmocka_unit_test(test_load_errors),
        cmocka_unit_test(test_plugin_path),
        cmocka_unit_test(test_spec_errors),
        cmocka_unit_test(test_nan_during_training),
        cmocka_unit_test(test_scalar_without_backward),
        cmocka_unit_test(test_callables),
        cmocka_unit_test(test_nonfinite_check),
        cmocka_unit_test(test_threads),
        cmocka_unit_test(test_swish_vs_tanh),
        cmocka_unit_test(test_swish_expr_matches_plugin),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
