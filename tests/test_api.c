/* test_api.c — libnnrun's C API (include/nnrun/nnrun.h): errors as values with positions
 * (a bad spec file, a bad --set, bad spec text, unknown names, wrong sizes, NULLs), a run
 * trained in pieces computing exactly what one call and `nnrun run` compute, the
 * evaluation callback, tensors by name, probes, save/load, sampling and a run directory. */
#include "testutil.h"

#include <math.h>
#include <sys/stat.h>

#include "config.h"
#include "nnrun/nnrun.h"
#include "runtime/data/csv.h"

static char tmp[64];

static int setup(void **st)
{
    (void)st;
    return tu_mkdtemp(tmp, sizeof tmp, "/tmp/nnrun-api-XXXXXX");
}
static int teardown(void **st)
{
    (void)st;
    return tu_rmtree(tmp);
}

/* A small lesson-4 run: the names starting with q, 60 steps, evaluations every 20. */
static const char *const SETS[] = {"train.steps=60", "eval.every=20", "data.filter=^q[a-z]+$",
                                   "sample.count=2", "report.plots=none"};
enum { NSETS = 5 };

static nnrun_run *small_run(const nnrun_run_opts *o)
{
    nnrun_errors *err = NULL;
    nnrun_spec *s = nnrun_spec_load(tu_path("specs/mlp_bn.yaml"), SETS, NSETS, &err);
    if (!s) fprintf(stderr, "%s", nnrun_errors_text(err));
    assert_non_null(s);
    nnrun_run *r = nnrun_run_new(s, o, &err);
    if (!r) fprintf(stderr, "%s", nnrun_errors_text(err));
    assert_non_null(r);
    nnrun_spec_free(s);
    return r;
}

/* The metrics column `col` (malloc'd) and its length. */
static double *column(nnrun_run *r, int col, long *rows)
{
    *rows = nnrun_metrics_rows(r);
    assert_true(*rows > 0);
    double *v = malloc((size_t)*rows * sizeof *v);
    assert_non_null(v);
    assert_int_equal(nnrun_metrics_column(r, col, v, *rows), NNRUN_OK);
    return v;
}

static void test_version(void **st)
{
    (void)st;
    assert_string_equal(nnrun_version(), PACKAGE_VERSION);
    assert_int_equal(nnrun_api_version(), NNRUN_API_VERSION);
}

static void test_bad_spec_file(void **st)
{
    (void)st;
    char path[128];
    snprintf(path, sizeof path, "%s/bad.yaml", tmp);
    const char *text = "name: bad\nmodel:\n  - lienar: {out: 3}\n";
    tu_write_bytes(tmp, "bad.yaml", text, strlen(text));
    nnrun_errors *err = NULL;
    assert_null(nnrun_spec_load(path, NULL, 0, &err));
    assert_non_null(err);
    assert_true(nnrun_errors_count(err) >= 1);
    nnrun_error e;
    assert_int_equal(nnrun_errors_get(err, 0, &e), NNRUN_OK);
    assert_string_equal(e.file, path);
    assert_int_equal(e.line, 3);
    assert_true(e.column > 0);
    assert_non_null(strstr(e.message, "linear"));
    char head[200];
    snprintf(head, sizeof head, "%s:3:%d: error: ", path, e.column);
    assert_non_null(strstr(nnrun_errors_text(err), head));
    assert_int_equal(nnrun_errors_get(err, 99, &e), NNRUN_EINPUT);
    nnrun_errors_free(err);
    /* a missing file, and no path at all */
    assert_null(nnrun_spec_load("/nonexistent/x.yaml", NULL, 0, &err));
    assert_true(nnrun_errors_count(err) == 1);
    nnrun_errors_free(err);
    assert_null(nnrun_spec_load(NULL, NULL, 0, &err));
    assert_true(nnrun_errors_count(err) == 1);
    nnrun_errors_free(err);
    assert_null(nnrun_spec_load(NULL, NULL, 0, NULL)); /* no list wanted: still no crash */
}

static void test_bad_set(void **st)
{
    (void)st;
    const char *sets[] = {"train.steps=-5"};
    nnrun_errors *err = NULL;
    assert_null(nnrun_spec_load(tu_path("specs/mlp_bn.yaml"), sets, 1, &err));
    nnrun_error e;
    assert_int_equal(nnrun_errors_get(err, 0, &e), NNRUN_OK);
    assert_string_equal(e.file, "--set");
    assert_int_equal(e.line, 1);
    assert_true(e.column > 1);
    nnrun_errors_free(err);
}

static void test_spec_string(void **st)
{
    (void)st;
    char base[4096];
    snprintf(base, sizeof base, "%s/specs", tu_srcdir());
    char *text = tu_read_file(tu_path("specs/mlp_bn.yaml"));
    assert_non_null(text);
    char *named = strstr(text, "name: mlp_bn\n"); /* the name from the argument then */
    assert_non_null(named);
    memcpy(named, "#   ", 4);
    nnrun_errors *err = NULL;
    nnrun_spec *s = nnrun_spec_load_string(text, base, "lesson4", SETS, NSETS, &err);
    if (!s) fprintf(stderr, "%s", nnrun_errors_text(err));
    assert_non_null(s);
    assert_string_equal(nnrun_spec_name(s), "lesson4");
    char *res = nnrun_spec_resolved(s);
    assert_non_null(strstr(res, "names.txt")); /* the data path resolved in base */
    free(res);
    nnrun_spec_free(s);
    free(text);
    /* errors name "<string>" at their line and column; nothing is left in base */
    const char *bad = "model:\n  - linear: {out: x}\n";
    assert_null(nnrun_spec_load_string(bad, tmp, NULL, NULL, 0, &err));
    nnrun_error e;
    assert_int_equal(nnrun_errors_get(err, 0, &e), NNRUN_OK);
    assert_string_equal(e.file, "<string>");
    assert_int_equal(e.line, 2);
    assert_non_null(strstr(nnrun_errors_text(err), "<string>:2:"));
    nnrun_errors_free(err);
    char cmd[200];
    snprintf(cmd, sizeof cmd, "test -z \"$(ls -A '%s' | grep nnrun-string)\"", tmp);
    assert_int_equal(system(cmd), 0);
}

/* Trained in pieces (with evaluations between) = in one call = `nnrun run`, bit for bit. */
static void test_pieces_same_as_cli(void **st)
{
    (void)st;
    nnrun_run *a = small_run(NULL), *b = small_run(NULL);
    assert_int_equal(nnrun_train(a, 0, NULL, NULL), NNRUN_OK);
    assert_int_equal(nnrun_train(b, 7, NULL, NULL), NNRUN_OK);
    assert_int_equal(nnrun_steps_done(b), 7);
    assert_int_equal(nnrun_train(b, 13, NULL, NULL), NNRUN_OK); /* ends at an evaluation */
    assert_int_equal(nnrun_train(b, 25, NULL, NULL), NNRUN_OK);
    assert_false(nnrun_finished(b));
    assert_int_equal(nnrun_train(b, 1000, NULL, NULL), NNRUN_OK); /* only up to the end */
    assert_int_equal(nnrun_steps_done(b), 60);
    assert_true(nnrun_finished(b));
    assert_int_equal(nnrun_train(b, 1, NULL, NULL), NNRUN_EINPUT); /* past the end */
    long na, nb;
    for (int col = 0; col < nnrun_metrics_columns(); col++) {
        const char *name = nnrun_metrics_column_name(col);
        if (!strcmp(name, "elapsed_s") || !strcmp(name, "steps_per_s")) continue; /* times */
        double *x = column(a, col, &na), *y = column(b, col, &nb);
        assert_int_equal(na, nb);
        for (long i = 0; i < na; i++)
            assert_true(memcmp(&x[i], &y[i], sizeof x[i]) == 0 || (isnan(x[i]) && isnan(y[i])));
        free(x);
        free(y);
    }
    assert_true(nnrun_final_loss(a, 1) == nnrun_final_loss(b, 1));
    /* the command line's metrics.csv holds the same losses */
    char args[1024], path[256];
    snprintf(
        args, sizeof args,
        "run specs/mlp_bn.yaml --quiet --out %s/cli --set %s --set %s --set '%s' --set %s --set %s",
        tmp, SETS[0], SETS[1], SETS[2], SETS[3], SETS[4]);
    assert_int_equal(tu_nnrun(tmp, args), 0);
    snprintf(path, sizeof path, "%s/cli/metrics.csv", tmp);
    const char *names[] = {"loss", "dev_loss"};
    double *cols[2];
    long rows;
    nn_diag *d = nn_diag_new();
    assert_int_equal(nn_csv_read_numbers(path, (nn_mark){path, 0, 0}, names, 2, 2, cols, &rows, d),
                     0);
    nn_diag_free(d);
    double *x = column(a, 2, &na), *y = column(a, 4, &nb);
    assert_int_equal(rows, na);
    for (long i = 0; i < rows; i++) {
        assert_true(memcmp(&x[i], &cols[0][i], sizeof *x) == 0 ||
                    (isnan(x[i]) && isnan(cols[0][i])));
        assert_true(memcmp(&y[i], &cols[1][i], sizeof *y) == 0 ||
                    (isnan(y[i]) && isnan(cols[1][i])));
    }
    free(x), free(y), free(cols[0]), free(cols[1]);
    nnrun_run_free(a);
    nnrun_run_free(b);
}

static int stop_at_40(void *ctx, long step, const double loss[3])
{
    int *calls = ctx;
    ++*calls;
    assert_true(isfinite(loss[1]));
    return step >= 40;
}

static void test_eval_callback(void **st)
{
    (void)st;
    nnrun_run *r = small_run(NULL);
    int calls = 0;
    assert_int_equal(nnrun_train(r, 0, stop_at_40, &calls), NNRUN_STOPPED);
    assert_int_equal(calls, 2); /* steps 20 and 40 */
    assert_int_equal(nnrun_steps_done(r), 40);
    assert_int_equal(nnrun_train(r, 0, stop_at_40, &calls), NNRUN_OK); /* the final one */
    assert_int_equal(calls, 3);
    nnrun_run_free(r);
}

static void test_tensors(void **st)
{
    (void)st;
    nnrun_run *r = small_run(NULL);
    nnrun_shape sh;
    assert_int_equal(nnrun_tensor_shape(r, "layers.2.weight", &sh), NNRUN_OK);
    assert_int_equal(sh.ndim, 2);
    assert_int_equal(sh.dim[0], 30);
    assert_int_equal(sh.dim[1], 200);
    assert_int_equal(sh.kind, NNRUN_PARAM);
    assert_int_equal(nnrun_tensor_shape(r, "layers.3.running_std", &sh), NNRUN_OK);
    assert_int_equal(sh.kind, NNRUN_BUFFER);
    /* unknown names, wrong sizes, computed tensors, NULLs: error values */
    float buf[8];
    assert_int_equal(nnrun_tensor_get(r, "layers.2.wieght", buf, 8), NNRUN_EINPUT);
    assert_non_null(
        strstr(nnrun_errors_text(nnrun_run_errors(r)), "did you mean 'layers.2.weight'"));
    assert_int_equal(nnrun_tensor_get(r, "layers.2.weight", buf, 8), NNRUN_EINPUT);
    assert_non_null(strstr(nnrun_errors_text(nnrun_run_errors(r)), "6000 elements"));
    assert_int_equal(nnrun_tensor_set(r, "layers.4.out", buf, 8), NNRUN_EINPUT);
    assert_int_equal(nnrun_tensor_get(r, NULL, buf, 8), NNRUN_EINPUT);
    assert_int_equal(nnrun_tensor_get(NULL, "x", buf, 8), NNRUN_EINPUT);
    assert_int_equal(nnrun_train(NULL, 1, NULL, NULL), NNRUN_EINPUT);
    assert_int_equal(nnrun_tensor_get(r, "layers.2.weight", NULL, 6000), NNRUN_EINPUT);
    /* set then get */
    float *w = calloc(6000, sizeof *w), *back = calloc(6000, sizeof *back);
    for (int i = 0; i < 6000; i++)
        w[i] = (float)i / 6000.0f;
    assert_int_equal(nnrun_tensor_set(r, "layers.2.weight", w, 6000), NNRUN_OK);
    assert_int_equal(nnrun_tensor_get(r, "layers.2.weight", back, 6000), NNRUN_OK);
    assert_memory_equal(w, back, 6000 * sizeof *w);
    /* an activation and its gradient on a probe of 5 rows; the buffers do not move */
    float rs[200], rs2[200];
    assert_int_equal(nnrun_tensor_get(r, "layers.3.running_std", rs, 200), NNRUN_OK);
    assert_int_equal(nnrun_probe(r, 5), 5);
    assert_int_equal(nnrun_tensor_shape(r, "layers.4.out", &sh), NNRUN_OK);
    assert_int_equal(sh.kind, NNRUN_ACTIVATION);
    assert_int_equal(sh.dim[0], 5);
    assert_int_equal(sh.numel, 1000);
    float act[1000];
    assert_int_equal(nnrun_tensor_get(r, "layers.4.out", act, 1000), NNRUN_OK);
    for (int i = 0; i < 1000; i++)
        assert_true(act[i] >= -1 && act[i] <= 1); /* after tanh */
    assert_int_equal(nnrun_tensor_shape(r, "dlayers.4.out", &sh), NNRUN_OK);
    assert_int_equal(sh.kind, NNRUN_GRADIENT);
    assert_int_equal(nnrun_tensor_get(r, "layers.3.running_std", rs2, 200), NNRUN_OK);
    assert_memory_equal(rs, rs2, sizeof rs);
    assert_string_equal(nnrun_tensor_name(r, 0), "layers.0.weight");
    assert_null(nnrun_tensor_name(r, 100000));
    free(w);
    free(back);
    nnrun_run_free(r);
}

static void test_save_load_sample(void **st)
{
    (void)st;
    nnrun_run *r = small_run(NULL);
    assert_int_equal(nnrun_train(r, 20, NULL, NULL), NNRUN_OK);
    char path[128];
    snprintf(path, sizeof path, "%s/m.safetensors", tmp);
    assert_int_equal(nnrun_save(r, path), NNRUN_OK);
    float w[6000], z[6000] = {0}, back[6000];
    assert_int_equal(nnrun_tensor_get(r, "layers.2.weight", w, 6000), NNRUN_OK);
    assert_int_equal(nnrun_tensor_set(r, "layers.2.weight", z, 6000), NNRUN_OK);
    if (nnrun_load(r, path) != NNRUN_OK) fail_msg("%s", nnrun_errors_text(nnrun_run_errors(r)));
    assert_int_equal(nnrun_tensor_get(r, "layers.2.weight", back, 6000), NNRUN_OK);
    assert_memory_equal(w, back, sizeof w);
    assert_int_equal(nnrun_load(r, "/nonexistent.safetensors"), NNRUN_EINPUT);
    assert_true(nnrun_errors_count(nnrun_run_errors(r)) >= 1);
    assert_int_equal(nnrun_save(r, "/nonexistent/dir/m.safetensors"), NNRUN_EOUTPUT);
    char **s = nnrun_sample(r, 3, 7, 1.0), **t = nnrun_sample(r, 3, 7, 1.0);
    assert_non_null(s);
    for (int i = 0; i < 3; i++)
        assert_string_equal(s[i], t[i]); /* the same seed, the same items */
    nnrun_strings_free(s, 3);
    nnrun_strings_free(t, 3);
    assert_null(nnrun_sample(r, 0, 7, 1.0));
    nnrun_run_free(r);
}

static void test_forward_export(void **st)
{
    (void)st;
    nnrun_run *r = small_run(NULL);
    nnrun_shape in, out;
    assert_int_equal(nnrun_forward_shape(r, 2, &in, &out), NNRUN_OK);
    assert_int_equal(in.numel, 6); /* [2, 3] token ids */
    assert_int_equal(out.dim[0], 2);
    float x[6] = {0, 0, 1, 1, 2, 3}, a[64], b[64];
    assert_true(out.numel <= 64);
    assert_int_equal(nnrun_forward(r, x, 2, a, out.numel), NNRUN_OK);
    assert_int_equal(nnrun_forward(r, x, 2, b, out.numel), NNRUN_OK);
    assert_memory_equal(a, b, (size_t)out.numel * sizeof *a);
    /* wrong calls: a token id out of the vocabulary, a wrong size, no rows */
    x[4] = 999;
    assert_int_equal(nnrun_forward(r, x, 2, a, out.numel), NNRUN_EINPUT);
    assert_non_null(strstr(nnrun_errors_text(nnrun_run_errors(r)), "token ids are whole numbers"));
    x[4] = 2;
    assert_int_equal(nnrun_forward(r, x, 2, a, out.numel - 1), NNRUN_EINPUT);
    assert_int_equal(nnrun_forward(r, x, 0, a, 0), NNRUN_EINPUT);
    assert_int_equal(nnrun_forward(r, NULL, 2, a, out.numel), NNRUN_EINPUT);
    /* the PyTorch file, and one that cannot be written */
    char path[160];
    snprintf(path, sizeof path, "%s/model.py", tmp);
    assert_int_equal(nnrun_export_pytorch(r, path), NNRUN_OK);
    char *py = tu_read_file(path);
    assert_non_null(py);
    assert_non_null(strstr(py, "class Model(nn.Module):"));
    assert_non_null(strstr(py, "def load(path"));
    free(py);
    assert_int_equal(nnrun_export_pytorch(r, "/nonexistent/dir/m.py"), NNRUN_EOUTPUT);
    assert_int_equal(nnrun_export_pytorch(r, NULL), NNRUN_EINPUT);
    nnrun_run_free(r);
    /* the counting model: refused with a message, no file */
    nnrun_errors *err = NULL;
    nnrun_spec *s = nnrun_spec_load(tu_path("specs/bigram_counts.yaml"), NULL, 0, &err);
    assert_non_null(s);
    r = nnrun_run_new(s, NULL, &err);
    nnrun_spec_free(s);
    assert_non_null(r);
    snprintf(path, sizeof path, "%s/counts.py", tmp);
    assert_int_equal(nnrun_export_pytorch(r, path), NNRUN_EINPUT);
    assert_non_null(strstr(nnrun_errors_text(nnrun_run_errors(r)), "counting model"));
    assert_null(tu_read_file(path));
    assert_int_equal(nnrun_forward(r, x, 1, a, 27), NNRUN_EINPUT);
    assert_int_equal(nnrun_probe(r, 4), NNRUN_EINPUT);
    nnrun_run_free(r);
}

static void test_run_dir(void **st)
{
    (void)st;
    char out[128], p[200];
    snprintf(out, sizeof out, "%s/rundir", tmp);
    nnrun_run_opts o = {out, 0, 0, 1};
    nnrun_run *r = small_run(&o);
    assert_string_equal(nnrun_run_dir(r), out);
    assert_int_equal(nnrun_train(r, 0, NULL, NULL), NNRUN_OK);
    assert_true(nnrun_metrics_rows(r) > 0); /* the closed metrics.csv, read from its path */
    const char *files[] = {"metrics.csv", "summary.json", "report.html", "spec.resolved.yaml",
                           "model.safetensors"};
    struct stat sb;
    for (int i = 0; i < 5; i++) {
        snprintf(p, sizeof p, "%s/%s", out, files[i]);
        assert_int_equal(stat(p, &sb), 0);
    }
    nnrun_run_free(r);
    /* the directory exists now: a second run there without force is an error value */
    nnrun_errors *err = NULL;
    nnrun_spec *s = nnrun_spec_load(tu_path("specs/mlp_bn.yaml"), SETS, NSETS, &err);
    assert_null(nnrun_run_new(s, &o, &err));
    assert_true(nnrun_errors_count(err) >= 1);
    nnrun_errors_free(err);
    nnrun_spec_free(s);
}

/* A run that fails (the loss becomes NaN) still writes what it has, as `nnrun run` does
 * (the command is a run of this API), returns NNRUN_ERUN with the diagnosis at the spec's
 * line, and takes no more steps. */
static void test_failed_run_dir(void **st)
{
    (void)st;
    char out[128], p[200];
    snprintf(out, sizeof out, "%s/failed", tmp);
    const char *sets[NSETS + 1];
    for (int i = 0; i < NSETS; i++)
        sets[i] = SETS[i];
    sets[NSETS] = "train.lr=1e30";
    nnrun_errors *err = NULL;
    nnrun_spec *s = nnrun_spec_load(tu_path("specs/mlp_bn.yaml"), sets, NSETS + 1, &err);
    assert_non_null(s);
    nnrun_run_opts o = {out, 0, 0, 1};
    nnrun_run *r = nnrun_run_new(s, &o, &err);
    assert_non_null(r);
    nnrun_spec_free(s);
    assert_int_equal(nnrun_train(r, 0, NULL, NULL), NNRUN_ERUN);
    assert_true(nnrun_errors_count(nnrun_run_errors(r)) >= 1);
    nnrun_error e;
    assert_int_equal(nnrun_errors_get(nnrun_run_errors(r), 0, &e), NNRUN_OK);
    assert_non_null(strstr(e.file, "mlp_bn.yaml"));
    assert_true(e.line > 0);
    assert_non_null(strstr(e.message, "non-finite"));
    assert_int_equal(nnrun_finished(r), 0);
    const char *files[] = {"metrics.csv", "summary.json", "report.html"};
    struct stat sb;
    for (int i = 0; i < 3; i++) {
        snprintf(p, sizeof p, "%s/%s", out, files[i]);
        assert_int_equal(stat(p, &sb), 0);
    }
    assert_true(nnrun_metrics_rows(r) > 0);
    assert_int_equal(nnrun_train(r, 10, NULL, NULL), NNRUN_EINPUT); /* over: no more steps */
    nnrun_run_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_version),
        cmocka_unit_test(test_bad_spec_file),
        cmocka_unit_test(test_bad_set),
        cmocka_unit_test(test_spec_string),
        cmocka_unit_test(test_pieces_same_as_cli),
        cmocka_unit_test(test_eval_callback),
        cmocka_unit_test(test_tensors),
        cmocka_unit_test(test_save_load_sample),
        cmocka_unit_test(test_forward_export),
        cmocka_unit_test(test_run_dir),
        cmocka_unit_test(test_failed_run_dir),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
