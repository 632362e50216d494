/* test_cli_opts.c — every subcommand takes only its own options (issue 16, point 4): an
 * option a subcommand does not take is a usage error (exit 2) naming the subcommands that
 * take it, and nothing is done; --json prints the result of check, graph, gradcheck,
 * summarize and a run; a sweep's workers and sbatch scripts get its run options; `sample:`
 * on data that is not text is an error at the key. */
#include <jansson.h>
#include <sys/stat.h>
#include <unistd.h>

#include "testutil.h"

static char tmp[256];

static int setup(void **state)
{
    (void)state;
    return tu_mkdtemp(tmp, sizeof tmp, "/tmp/nn_cliopts_XXXXXX");
}

static int teardown(void **state)
{
    (void)state;
    return tu_rmtree(tmp);
}

static int run(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int run(const char *fmt, ...)
{
    char args[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    return tu_nnrun(tmp, args);
}

static int exists(const char *name)
{
    char p[600];
    snprintf(p, sizeof p, "%s/%s", tmp, name);
    struct stat sb;
    return stat(p, &sb) == 0;
}

/* stdout of the last run as JSON (the test fails when it is not). */
static json_t *out_json(void)
{
    char *out = tu_captured(tmp, "out");
    json_error_t e;
    json_t *j = json_loads(out, 0, &e);
    if (!j) fail_msg("stdout is no JSON (%s at line %d):\n%s", e.text, e.line, out);
    free(out);
    return j;
}

static void expect_err(const char *want)
{
    char *err = tu_captured(tmp, "err");
    if (!strstr(err, want)) fail_msg("stderr lacks '%s':\n%s", want, err);
    free(err);
}

/* A run directory to point report and sample at, and a sweep directory for summarize. */
static void make_dirs(void)
{
    if (exists("run/summary.json")) return;
    assert_int_equal(run("specs/mlp_bn.yaml --set train.steps=30 --set eval.every=0 --quiet "
                         "--out '%s/run'",
                         tmp),
                     0);
    assert_int_equal(run("sweep specs/grid.yaml --set train.steps=20 --shard 0/6 -j 1 --quiet "
                         "--out '%s/sweep'",
                         tmp),
                     0);
}

/* Options given to a subcommand that does not take them: exit 2, the subcommands that do
 * are named, and nothing is written. */
static void test_foreign_options(void **state)
{
    (void)state;
    make_dirs();
    static const struct {
        const char *args, *want;
    } cases[] = {
        {"check specs/mlp_bn.yaml --out %s/x", "--out is not an option of 'nnrun check' "
                                               "(the subcommands that take it: run, sweep, "
                                               "predict, compare)"},
        {"check specs/mlp_bn.yaml --force", "--force is not an option of 'nnrun check' "
                                            "(the subcommands that take it: run)"},
        {"check specs/mlp_bn.yaml --quiet", "take it: run, sweep"},
        {"check specs/mlp_bn.yaml --threads 2", "take it: run, bench, sweep"},
        {"graph specs/mlp_bn.yaml --out %s/x", "--out is not an option of 'nnrun graph'"},
        {"graph specs/mlp_bn.yaml --force", "--force is not an option of 'nnrun graph'"},
        {"bench specs/mlp_bn.yaml --out %s/x", "--out is not an option of 'nnrun bench'"},
        {"bench specs/mlp_bn.yaml --force", "--force is not an option of 'nnrun bench'"},
        {"gradcheck specs/mlp_bn.yaml --out %s/x", "--out is not an option of 'nnrun gradcheck'"},
        {"gradcheck specs/mlp_bn.yaml --force", "--force is not an option of 'nnrun gradcheck'"},
        {"report %s/run --set train.steps=1", "--set is not an option of 'nnrun report' (the "
                                              "subcommands that take it: run, check, graph, "
                                              "bench, gradcheck, sweep)"},
        {"report %s/run --json", "--json is not an option of 'nnrun report'"},
        {"report %s/run --out %s/x", "--out is not an option of 'nnrun report'"},
        {"report %s/run --force", "--force is not an option of 'nnrun report'"},
        {"summarize %s/sweep --set train.steps=1", "--set is not an option of 'nnrun summarize'"},
        {"summarize %s/sweep --out %s/x", "--out is not an option of 'nnrun summarize'"},
        {"summarize %s/sweep --force", "--force is not an option of 'nnrun summarize'"},
        {"sample %s/run --json", "--json is not an option of 'nnrun sample'"},
        {"compare %s/run %s/run --force", "--force is not an option of 'nnrun compare'"},
        {"sweep specs/grid.yaml --color-by lr", "take it: summarize"},
        {"sample %s/run --set train.steps=1", "--set is not an option of 'nnrun sample'"},
        {"sweep specs/grid.yaml --force", "--force is not an option of 'nnrun sweep'"},
        {"sweep specs/grid.yaml --stop-after 5", "--stop-after is not an option of 'nnrun sweep'"},
        {"check specs/mlp_bn.yaml --steps 5", "--steps is not an option of 'nnrun check' (the "
                                              "subcommands that take it: run, bench)"},
        {"specs/mlp_bn.yaml --steps 5", "--steps N trains a run N steps further"},
        {"sample %s/run --top 3", "--top is not an option of 'nnrun sample' (the subcommands "
                                  "that take it: predict)"},
        {"specs/mlp_bn.yaml --cell 1", "take it: sweep"},
        {"specs/mlp_bn.yaml --count 3", "take it: sample"},
        {"check specs/mlp_bn.yaml --allow-plugins", "take it: run, sample, predict"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char args[1024];
        snprintf(args, sizeof args, cases[i].args, tmp, tmp);
        int rc = tu_nnrun(tmp, args);
        if (rc != 2) fail_msg("nnrun %s: exit %d, want 2", args, rc);
        expect_err(cases[i].want);
        expect_err("Try 'nnrun --help'");
        assert_false(exists("x"));
    }
}

/* check --json: the verdict and the model; every diagnostic with file, line, column and
 * message (and stderr still says it). */
static void test_check_json(void **state)
{
    (void)state;
    assert_int_equal(run("check specs/mlp_bn.yaml --json"), 0);
    json_t *j = out_json();
    assert_true(json_is_true(json_object_get(j, "ok")));
    assert_int_equal(json_integer_value(json_object_get(j, "params")), 12097);
    assert_int_equal(json_array_size(json_object_get(j, "diagnostics")), 0);
    json_decref(j);

    assert_int_equal(run("check tests/specs/bad/lienar.yaml --json"), 2);
    j = out_json();
    assert_true(json_is_false(json_object_get(j, "ok")));
    json_t *d = json_array_get(json_object_get(j, "diagnostics"), 0);
    assert_non_null(d);
    const char *file = json_string_value(json_object_get(d, "file"));
    assert_non_null(file);
    assert_non_null(strstr(file, "lienar.yaml"));
    assert_true(json_integer_value(json_object_get(d, "line")) > 0);
    assert_true(json_integer_value(json_object_get(d, "column")) > 0);
    assert_non_null(strstr(json_string_value(json_object_get(d, "message")), "lienar"));
    json_decref(j);
    expect_err("error: ");

    /* a matrix: one entry per cell */
    assert_int_equal(run("check specs/grid.yaml --json --set train.steps=5"), 0);
    j = out_json();
    assert_int_equal(json_array_size(json_object_get(j, "cells")), 12);
    json_decref(j);
}

/* graph --json: the nodes (forward and backward) and the tensors. */
static void test_graph_json(void **state)
{
    (void)state;
    assert_int_equal(run("graph specs/mlp_bn.yaml --json"), 0);
    json_t *j = out_json(), *nodes = json_object_get(j, "nodes"),
           *tensors = json_object_get(j, "tensors");
    assert_true(json_array_size(nodes) > 10);
    assert_true(json_array_size(tensors) > 10);
    json_t *n0 = json_array_get(nodes, 0);
    assert_non_null(json_string_value(json_object_get(n0, "op")));
    assert_true(json_is_array(json_object_get(n0, "inputs")));
    int params = 0, backward = 0;
    size_t i;
    json_t *v;
    json_array_foreach(tensors, i, v) params +=
        !strcmp(json_string_value(json_object_get(v, "role")), "param");
    json_array_foreach(nodes, i, v) backward +=
        !strcmp(json_string_value(json_object_get(v, "pass")), "backward");
    assert_true(params >= 4);
    assert_true(backward > 0);
    assert_int_equal(json_integer_value(json_object_get(j, "parameters")), 12097);
    json_decref(j);
    assert_int_equal(run("graph specs/mlp_bn.yaml --json --dot"), 2);
}

/* gradcheck --json: one entry per parameter tensor with its worst relative error. */
static void test_gradcheck_json(void **state)
{
    (void)state;
    assert_int_equal(run("gradcheck specs/neuron.yaml --json"), 0);
    json_t *j = out_json(), *p = json_object_get(j, "parameters");
    assert_true(json_is_true(json_object_get(j, "ok")));
    assert_true(json_array_size(p) >= 2);
    size_t i;
    json_t *v;
    json_array_foreach(p, i, v)
    {
        assert_non_null(json_string_value(json_object_get(v, "name")));
        double e = json_number_value(json_object_get(v, "worst_relative_error"));
        assert_true(json_is_number(json_object_get(v, "worst_relative_error")) && e < 1e-2);
    }
    json_decref(j);
}

/* A run's --json: summary.json's keys and the run directory; summarize --json: the rows. */
static void test_run_and_summarize_json(void **state)
{
    (void)state;
    assert_int_equal(run("specs/mlp_bn.yaml --set train.steps=20 --set eval.every=0 --quiet "
                         "--json --out '%s/jrun'",
                         tmp),
                     0);
    json_t *j = out_json();
    char want[600];
    snprintf(want, sizeof want, "%s/jrun", tmp);
    assert_non_null(json_string_value(json_object_get(j, "run_dir")));
    assert_string_equal(json_string_value(json_object_get(j, "run_dir")), want);
    assert_int_equal(json_integer_value(json_object_get(j, "steps")), 20);
    assert_non_null(json_object_get(j, "loss"));
    json_decref(j);

    make_dirs();
    assert_int_equal(run("summarize '%s/sweep' --json", tmp), 0);
    j = out_json();
    json_t *rows = json_object_get(j, "rows");
    assert_int_equal(json_array_size(rows), 2); /* shard 0/6 of 12 cells */
    json_t *r0 = json_array_get(rows, 0);
    assert_string_equal(json_string_value(json_object_get(r0, "status")), "done");
    assert_true(json_is_number(json_object_get(json_object_get(r0, "loss"), "dev")));
    assert_non_null(json_object_get(json_object_get(r0, "values"), "hidden"));
    assert_int_equal(json_integer_value(json_object_get(j, "cells")), 12);
    json_decref(j);
}

/* Worker processes and sbatch scripts get the sweep's run options. */
static void test_sweep_passes_run_options(void **state)
{
    (void)state;
    assert_int_equal(run("sweep specs/grid.yaml --emit-sbatch --max-memory 512M --no-nan-check "
                         "--isa scalar --threads 3 --out '%s/sb'",
                         tmp),
                     0);
    char *out = tu_captured(tmp, "out");
    assert_non_null(strstr(out, " --threads 3"));
    assert_non_null(strstr(out, "#SBATCH --cpus-per-task=3"));
    assert_non_null(strstr(out, " --max-memory '512M'"));
    assert_non_null(strstr(out, " --no-nan-check"));
    assert_non_null(strstr(out, " --isa 'scalar'"));
    free(out);
    /* a worker (-j 1: a process of its own) refuses the cell as the sweep would */
    assert_int_equal(run("sweep specs/grid.yaml --set train.steps=5 -j 1 --shard 0/12 "
                         "--max-memory 4K --quiet --out '%s/mm'",
                         tmp),
                     1);
    char p[600];
    snprintf(p, sizeof p, "%s/mm/sweep.json", tmp);
    json_t *sw = json_load_file(p, 0, NULL);
    assert_non_null(sw);
    json_t *cell0 = json_array_get(json_object_get(sw, "cells"), 0);
    const char *id = json_string_value(json_object_get(cell0, "id"));
    assert_non_null(id);
    snprintf(p, sizeof p, "%s/mm/%s/FAILED", tmp, id);
    json_decref(sw);
    char *failed = tu_read_file(p);
    assert_non_null(failed);
    if (!strstr(failed, "more than --max-memory 4.0 KiB")) fail_msg("FAILED says:\n%s", failed);
    free(failed);
}

/* `sample:` belongs to text data: on other data it is an error at the key. */
static void test_sample_key_needs_text(void **state)
{
    (void)state;
    tu_write_bytes(tmp, "xor.yaml",
                   "data:\n  generate: xor\n  n: 40\nmodel:\n  - linear: {out: 2}\n"
                   "sample: {count: 3}\n",
                   strlen("data:\n  generate: xor\n  n: 40\nmodel:\n  - linear: {out: 2}\n"
                          "sample: {count: 3}\n"));
    assert_int_equal(run("check '%s/xor.yaml'", tmp), 2);
    expect_err("xor.yaml:6:1: error: 'sample' is only for text data (source: FILE), not for "
               "generated data");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_foreign_options),
        cmocka_unit_test(test_check_json),
        cmocka_unit_test(test_graph_json),
        cmocka_unit_test(test_gradcheck_json),
        cmocka_unit_test(test_run_and_summarize_json),
        cmocka_unit_test(test_sweep_passes_run_options),
        cmocka_unit_test(test_sample_key_needs_text),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
