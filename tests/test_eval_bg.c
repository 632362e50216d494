/* test_eval_bg.c — evaluation beside training (runtime/train/eval_bg.c): with two threads the
 * evaluation points run on a snapshot while training goes on; the metrics files and the
 * progress lines must be those of one thread (in place), bit for bit but for timings,
 * also when a run stops and checkpoints at an evaluation step. */
#include "testutil.h"

#include <jansson.h>
#include <math.h>
#include <stdarg.h>

#include "kernels/kernels.h"
#include "parser/spec.h"
#include "runtime/data/data.h"
#include "runtime/train/eval_bg.h"
#include "runtime/train/metrics_fmt.h"
#include "runtime/train/train.h"

static char tmp[256];

#define SHORT "specs/mlp_bn.yaml --set train.steps=2400 --set eval.every=400 --set sample.count=2"

static int run(const char *fmt, ...)
{
    char args[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    return tu_nnrun(tmp, args);
}

/* A metrics.csv without its timing cells (elapsed_s, steps_per_s: columns 7 and 9). */
static char *untimed_csv(const char *dir)
{
    char p[600];
    snprintf(p, sizeof p, "%s/metrics.csv", dir);
    char *s = tu_read_file(p);
    assert_non_null(s);
    char *w = s;
    int col = 1;
    for (const char *r = s; *r; r++) {
        if (*r == '\n') col = 0;
        if (*r == ',' || *r == '\n') col++;
        if ((col == 7 || col == 9) && *r != ',') continue;
        *w++ = *r;
    }
    *w = 0;
    return s;
}

/* The progress lines of stdout, cut before their timings (eval lines before "  lr"). */
static char *progress_lines(void)
{
    char *s = tu_captured(tmp, "out"), *w = s;
    for (char *line = s; *line;) {
        char *nl = strchr(line, '\n');
        size_t len = nl ? (size_t)(nl - line) + 1 : strlen(line);
        int keep = strstr(line, "/   2400") && strstr(line, "/   2400") < line + len;
        char *lr = strstr(line, "  lr ");
        if (keep) {
            size_t n = lr && lr < line + len ? (size_t)(lr - line) : len;
            memmove(w, line, n);
            w += n;
            if (w[-1] != '\n') *w++ = '\n';
        }
        line += len;
    }
    *w = 0;
    return s;
}

static void test_two_threads_same_files_and_lines(void **state)
{
    (void)state;
    char one[400], two[400];
    snprintf(one, sizeof one, "%s/one", tmp);
    snprintf(two, sizeof two, "%s/two", tmp);
    assert_int_equal(run(SHORT " --threads 1 --out %s --force", one), 0);
    char *lines1 = progress_lines();
    assert_int_equal(run(SHORT " --threads 2 --out %s --force", two), 0);
    char *lines2 = progress_lines();
    /* 6 step lines, 5 evaluation lines, each evaluation's line before its step's */
    assert_non_null(strstr(lines1, "    400/   2400  eval  train "));
    assert_non_null(strstr(lines1, "eval  train 2.4"));
    const char *e = strstr(lines1, "   2000/   2400  eval"), *l = strstr(lines1, "   2000/   2400: ");
    assert_true(e && l && e < l);
    assert_string_equal(lines1, lines2);
    char *m1 = untimed_csv(one), *m2 = untimed_csv(two);
    assert_true(strlen(m1) > 2400 * 10);
    assert_string_equal(m1, m2);
    free(lines1), free(lines2), free(m1), free(m2);
}

/* With two threads the evaluation points really run beside training (not the in-place
 * fallback the comparisons above would also pass with): one per evaluation point before the
 * last, in this process. */
static void test_background_path_runs(void **state)
{
    (void)state;
    const char *sets[] = {"train.steps=1200", "eval.every=400"};
    nn_diag *d = nn_diag_new();
    nn_spec *spec = nn_spec_load(tu_path("specs/mlp_bn.yaml"), sets, 2, d);
    nn_dataset *ds = spec ? nn_dataset_load(spec, d) : NULL;
    nn_kernels_set_threads(2);
    nn_trainer *tr = ds ? nn_trainer_new(spec, ds, d) : NULL;
    if (!tr) nn_diag_print(d, stderr);
    assert_non_null(tr);
    nn_run_opts o = {.quiet = 1};
    nn_result r;
    memset(&r, 0, sizeof r);
    long before = nn_eval_bg_threaded_runs();
    assert_int_equal(nn_trainer_run(tr, &o, &r), 0);
    long ran = nn_eval_bg_threaded_runs() - before;
    nn_kernels_set_threads(1);
    if (ran < 2) fail_msg("%ld evaluations ran beside training, want the points 400 and 800", ran);
    nn_result_free(&r);
    nn_trainer_free(tr);
    nn_dataset_free(ds);
    nn_spec_free(spec);
    nn_diag_free(d);
}

/* --stop-after at an evaluation step (the checkpoint waits for the evaluation's row), then
 * resumed: the files are those of an uninterrupted one-thread run. */
static void test_stop_at_eval_step(void **state)
{
    (void)state;
    char one[400], part[400];
    snprintf(one, sizeof one, "%s/one", tmp);
    snprintf(part, sizeof part, "%s/part", tmp);
    assert_int_equal(run(SHORT " --threads 1 --quiet --out %s --force", one), 0);
    assert_int_equal(run(SHORT " --threads 2 --quiet --out %s --force --stop-after 800", part), 0);
    char *m = untimed_csv(part);
    const char *eval800 = strstr(m, "\n800,0.1,,"); /* the eval row of step 800 */
    assert_non_null(eval800);
    assert_string_equal(strchr(eval800 + 1, '\n') + 1, ""); /* the last row */
    free(m);
    assert_int_equal(run(SHORT " --threads 2 --quiet --resume %s", part), 0);
    char *m1 = untimed_csv(one), *m2 = untimed_csv(part);
    assert_string_equal(m1, m2);
    free(m1), free(m2);
}

/* metrics.jsonl's numbers are written without jansson: the bytes must be json_dumps's. */
static void expect_json_real(double v)
{
    json_t *j = json_real(v);
    char buf[40], *want = json_dumps(j, JSON_ENCODE_ANY | JSON_REAL_PRECISION(9));
    json_decref(j);
    int n = nn_fmt_json_real(buf, nn_fmt_g9(buf, v));
    assert_non_null(want);
    if (strcmp(buf, want) != 0 || n != (int)strlen(want))
        fail_msg("%.17g: wrote '%s', jansson '%s'", v, buf, want);
    free(want);
}

static void test_json_reals_as_jansson(void **state)
{
    (void)state;
    const double fixed[] = {0,      -0.0,    1,     -1,      0.1f,     2.5,   100000, 1e9,
                            1e10,   1e20,    1e100, 1e-5,    1.5e-10,  1e-300, 123456789,
                            1234567891, 3.32386255, 0.00123, -7e-7, 4.9e-324, 1.7976931348623157e308};
    for (size_t i = 0; i < sizeof fixed / sizeof *fixed; i++)
        expect_json_real(fixed[i]);
    uint64_t x = 88172645463325252u;
    for (int i = 0; i < 200000; i++) { /* xorshift bits as doubles: every magnitude */
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        double v;
        memcpy(&v, &x, sizeof v);
        if (isfinite(v)) expect_json_real(v);
        expect_json_real((double)(float)(i * 0.37 - 5000)); /* float values, as the rows */
    }
}

static int setup(void **state)
{
    (void)state;
    return tu_mkdtemp(tmp, sizeof tmp, "/tmp/nnrun-evalbg-XXXXXX");
}

static int teardown(void **state)
{
    (void)state;
    return tu_rmtree(tmp);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_two_threads_same_files_and_lines),
        cmocka_unit_test(test_stop_at_eval_step),
        cmocka_unit_test(test_background_path_runs),
        cmocka_unit_test(test_json_reals_as_jansson),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
