/* test_cli.c — the command-line contract: exit codes, error lines, the run directory. */
#include "testutil.h"

#include <dirent.h>
#include <jansson.h>
#include <sys/stat.h>
#include <unistd.h>

static char tmp[256];

static void write_file(const char *name, const char *text)
{
    tu_write_bytes(tmp, name, text, strlen(text));
}

static void test_help_and_version(void **state)
{
    (void)state;
    assert_int_equal(tu_nnrun(tmp, "--help"), 0);
    char *out = tu_captured(tmp, "out");
    assert_non_null(strstr(out, "usage: nnrun SPEC.yaml"));
    free(out);
    assert_int_equal(tu_nnrun(tmp, "--version"), 0);
    out = tu_captured(tmp, "out");
    assert_non_null(strstr(out, "nnrun "));
    free(out);
}

static void test_usage_errors(void **state)
{
    (void)state;
    assert_int_equal(tu_nnrun(tmp, ""), 2);
    assert_int_equal(tu_nnrun(tmp, "--bogus specs/mlp_bn.yaml"), 2);
    char *err = tu_captured(tmp, "err");
    assert_non_null(strstr(err, "unknown option '--bogus'"));
    free(err);
    assert_int_equal(tu_nnrun(tmp, "specs/mlp_bn.yaml --threads 0"), 2);
    assert_int_equal(tu_nnrun(tmp, "specs/mlp_bn.yaml --set nonsense"), 2);
    assert_int_equal(tu_nnrun(tmp, "check specs/mlp_bn.yaml --isa vax"), 2);
    assert_int_equal(tu_nnrun(tmp, "check no/such/spec.yaml"), 2);
}

static void test_check(void **state)
{
    (void)state;
    assert_int_equal(tu_nnrun(tmp, "check specs/mlp_bn.yaml"), 0);
    char *out = tu_captured(tmp, "out");
    assert_non_null(strstr(out, "12097 parameters"));
    free(out);
    assert_int_equal(tu_nnrun(tmp, "check specs/mlp_bn.yaml --isa scalar"), 0);
}

/* A misspelt layer: FILE:LINE:COL, a did-you-mean, exit 2, nothing trained or written. */
static void test_unknown_layer(void **state)
{
    (void)state;
    char *spec = tu_read_file(tu_path("specs/mlp_bn.yaml"));
    assert_non_null(spec);
    char *at = strstr(spec, "  - linear: {out: 200");
    assert_non_null(at);
    memcpy(at + 4, "lienar", 6);
    int line = 1;
    for (char *p = spec; p < at; p++)
        line += *p == '\n';
    /* the spec's relative data path must still resolve from tmp */
    char *src = strstr(spec, "../examples/data/names.txt");
    assert_non_null(src);
    char fixed[64 * 1024];
    snprintf(fixed, sizeof fixed, "%.*s%s/examples/data/names.txt%s", (int)(src - spec), spec,
             tu_srcdir(), src + strlen("../examples/data/names.txt"));
    write_file("lienar.yaml", fixed);
    free(spec);
    char args[600], want[400];
    snprintf(args, sizeof args, "'%s/lienar.yaml' --out '%s/lienar_run'", tmp, tmp);
    assert_int_equal(tu_nnrun(tmp, args), 2);
    char *err = tu_captured(tmp, "err");
    snprintf(want, sizeof want,
             "%s/lienar.yaml:%d:5: error: unknown layer 'lienar' (did you mean 'linear'?)\n", tmp,
             line);
    if (strncmp(err, want, strlen(want)) != 0) fail_msg("stderr:\n%s\nwant:\n%s", err, want);
    free(err);
    char run[300];
    snprintf(run, sizeof run, "%s/lienar_run", tmp);
    struct stat st;
    assert_int_not_equal(stat(run, &st), 0); /* nothing written */
}

static json_t *load_json(const char *path)
{
    json_error_t e;
    json_t *j = json_load_file(path, 0, &e);
    if (!j) fail_msg("%s: %s", path, e.text);
    return j;
}

/* A short real run: summary.json with the contract's keys, metrics.csv, samples. */
static void test_short_run(void **state)
{
    (void)state;
    char args[600], p[400];
    snprintf(args, sizeof args,
             "specs/mlp_bn.yaml --set train.steps=300 --set eval.every=100 --out '%s/run' --quiet",
             tmp);
    assert_int_equal(tu_nnrun(tmp, args), 0);
    snprintf(p, sizeof p, "%s/run/summary.json", tmp);
    json_t *j = load_json(p);
    static const char *keys[] = {
        "name", "version", "steps", "params",    "loss", "wall_seconds", "steps_per_second",
        "isa",  "threads", "seed",  "spec_hash", NULL};
    for (int i = 0; keys[i]; i++)
        if (!json_object_get(j, keys[i])) fail_msg("summary.json lacks '%s'", keys[i]);
    assert_int_equal(json_integer_value(json_object_get(j, "steps")), 300);
    assert_int_equal(json_integer_value(json_object_get(j, "params")), 12097);
    json_t *loss = json_object_get(j, "loss");
    static const char *lkeys[] = {"step0", "last", "train", "dev", "test", NULL};
    for (int i = 0; lkeys[i]; i++)
        assert_true(json_is_number(json_object_get(loss, lkeys[i])));
    json_decref(j);
    snprintf(p, sizeof p, "%s/run/metrics.csv", tmp);
    char *csv = tu_read_file(p);
    assert_non_null(csv);
    assert_int_equal(strncmp(csv, "step,lr,loss,", 13), 0);
    int lines = 0;
    for (char *c = csv; *c; c++)
        lines += *c == '\n';
    assert_true(lines >= 301); /* header + one row per step + eval rows */
    free(csv);
    /* the same --out again: refused without --force, accepted with it */
    assert_int_equal(tu_nnrun(tmp, args), 2);
    char *err = tu_captured(tmp, "err");
    assert_non_null(strstr(err, "already holds a run"));
    free(err);
    snprintf(args, sizeof args,
             "specs/mlp_bn.yaml --set train.steps=50 --out '%s/run' --force --json", tmp);
    assert_int_equal(tu_nnrun(tmp, args), 0);
    snprintf(p, sizeof p, "%s/out", tmp);
    j = load_json(p); /* --json: stdout is exactly summary.json */
    assert_int_equal(json_integer_value(json_object_get(j, "steps")), 50);
    json_decref(j);
}

/* Every bad spec of the corpus, through the binary: exit 2 and the golden first line. */
static void test_bad_spec_corpus(void **state)
{
    (void)state;
    DIR *dir = opendir(tu_path("tests/specs/bad"));
    assert_non_null(dir);
    struct dirent *e;
    int n = 0;
    while ((e = readdir(dir))) {
        size_t len = strlen(e->d_name);
        if (len < 6 || strcmp(e->d_name + len - 5, ".yaml") != 0) continue;
        char rel[600], golden_path[700], args[700];
        snprintf(rel, sizeof rel, "tests/specs/bad/%s", e->d_name);
        snprintf(golden_path, sizeof golden_path, "%s/tests/specs/bad/%.*s.err", tu_srcdir(),
                 (int)(len - 5), e->d_name);
        char *golden = tu_read_file(golden_path);
        if (!golden) fail_msg("%s has no golden .err file", rel);
        snprintf(args, sizeof args, "check '%s'", rel);
        int rc = tu_nnrun(tmp, args);
        char *err = tu_captured(tmp, "err");
        char *nl = strchr(err, '\n');
        if (nl) *nl = 0;
        nl = strchr(golden, '\n');
        if (nl) *nl = 0;
        /* the golden line names the file FILE, or DIR/ for another file beside it */
        char want[2048];
        const char *f = strstr(golden, "FILE");
        if (strncmp(golden, "DIR/", 4) == 0)
            snprintf(want, sizeof want, "tests/specs/bad/%s", golden + 4);
        else if (f)
            snprintf(want, sizeof want, "%.*s%s%s", (int)(f - golden), golden, rel, f + 4);
        else
            snprintf(want, sizeof want, "%s", golden);
        if (rc != 2 || strcmp(err, want) != 0)
            fail_msg("%s: exit %d, first line\n  %s\nwant exit 2 and\n  %s", rel, rc, err, want);
        free(err);
        free(golden);
        n++;
    }
    closedir(dir);
    assert_true(n >= 10);
}

/* Every shipped spec checks, and its resolved form resolves to itself. */
static void test_specs_check_and_resolve(void **state)
{
    (void)state;
    DIR *dir = opendir(tu_path("specs"));
    assert_non_null(dir);
    struct dirent *e;
    int n = 0;
    while ((e = readdir(dir))) {
        size_t len = strlen(e->d_name);
        if (len < 6 || strcmp(e->d_name + len - 5, ".yaml") != 0) continue;
        char args[4096];
        snprintf(args, sizeof args, "check 'specs/%s'", e->d_name);
        if (tu_nnrun(tmp, args) != 0) {
            char *err = tu_captured(tmp, "err");
            fail_msg("nnrun %s failed:\n%s", args, err);
        }
        snprintf(args, sizeof args, "%s/specs/%s", tu_srcdir(), e->d_name);
        char *text = tu_read_file(args);
        int sweep = text && (!strncmp(text, "matrix:", 7) || strstr(text, "\nmatrix:"));
        free(text);
        if (sweep) { /* a sweep: every cell runs two steps (test_sweep tests the rest) */
            snprintf(args, sizeof args,
                     "sweep 'specs/%s' --set train.steps=2 --set eval.every=0 -j 2 "
                     "--out '%s/sweep' --quiet",
                     e->d_name, tmp);
            if (tu_nnrun(tmp, args) != 0) fail_msg("a 2-step sweep of specs/%s failed", e->d_name);
            n++;
            continue;
        }
        snprintf(args, sizeof args,
                 "check --resolved 'specs/%s' >'%s/a.yaml' 2>&1 && "
                 "'%s' check --resolved '%s/a.yaml' >'%s/b.yaml' && cmp '%s/a.yaml' '%s/b.yaml'",
                 e->d_name, tmp, getenv("NNRUN_BIN") ? getenv("NNRUN_BIN") : "./nnrun", tmp, tmp,
                 tmp, tmp);
        if (tu_nnrun(tmp, args) != 0)
            fail_msg("the resolved form of specs/%s does not resolve to itself", e->d_name);
        /* and it runs (two steps; large.yaml is a benchmark shape whose final evaluation
         * alone takes seconds) */
        if (strcmp(e->d_name, "large.yaml") != 0) {
            snprintf(args, sizeof args,
                     "'specs/%s' --set train.steps=2 --set eval.every=0 "
                     "--out '%s/short' --force --quiet",
                     e->d_name, tmp);
            if (tu_nnrun(tmp, args) != 0) {
                char *err = tu_captured(tmp, "err");
                fail_msg("a 2-step run of specs/%s failed:\n%s", e->d_name, err);
            }
        }
        n++;
    }
    closedir(dir);
    assert_true(n >= 1);
}

/* Each kind of spec gets the plots that apply to it, and none that do not. */
static void test_report_plots_per_spec(void **state)
{
    (void)state;
    static const struct {
        const char *spec, *want, *absent; /* space-separated figure id prefixes */
    } t[] = {
        {"mlp_bn",
         "fig-loss fig-lr fig-act- fig-grad- fig-weights fig-updates fig-saturation "
         "fig-embedding",
         "fig-counts fig-boundary fig-lrfind fig-confusion"},
        {"deep_bn", "fig-loss fig-act- fig-grad- fig-updates fig-saturation", "fig-counts"},
        {"mlp_lrfind", "fig-loss fig-lrfind", "fig-counts fig-boundary"},
        {"bigram_counts", "fig-counts", "fig-loss fig-act- fig-boundary fig-confusion"},
        {"trigram_counts", "fig-counts", "fig-loss fig-boundary"},
        /* report: {plots: [loss, boundary]} — only what the spec lists is collected */
        {"micrograd_moons", "fig-loss fig-boundary", "fig-counts fig-embedding fig-act-"},
        {"bigram_nn", "fig-loss", "fig-counts fig-act- fig-saturation"},
        {"makemore_gru", "fig-loss fig-rnn-saturation fig-rnn-grad fig-gru-gates",
         "fig-counts fig-boundary fig-saturation"},
        {"makemore_rnn", "fig-rnn-saturation fig-rnn-grad", "fig-gru-gates fig-counts"},
    };
    for (size_t i = 0; i < sizeof t / sizeof *t; i++) {
        char args[1200], path[600];
        /* sample: is a key of text data only (micrograd_moons has points) */
        snprintf(args, sizeof args,
                 "'specs/%s.yaml' --set train.steps=20 --set eval.every=10 %s "
                 "--out '%s/plots' --force --quiet",
                 t[i].spec, strstr(t[i].spec, "micrograd") ? "" : "--set sample.count=1", tmp);
        if (tu_nnrun(tmp, args) != 0) fail_msg("run of %s failed", t[i].spec);
        snprintf(path, sizeof path, "%s/plots/report.html", tmp);
        char *html = tu_read_file(path);
        if (!html) fail_msg("%s: no report.html", t[i].spec);
        assert_null(strstr(html, "http://"));
        assert_null(strstr(html, "https://"));
        for (int pass = 0; pass < 2; pass++) {
            char list[300], *save = NULL;
            snprintf(list, sizeof list, "%s", pass ? t[i].absent : t[i].want);
            for (char *id = strtok_r(list, " ", &save); id; id = strtok_r(NULL, " ", &save)) {
                char needle[64];
                snprintf(needle, sizeof needle, "id=\"%s", id);
                int has = strstr(html, needle) != NULL;
                if (has == pass)
                    fail_msg("%s: report %s %s", t[i].spec, pass ? "has" : "lacks", id);
            }
        }
        free(html);
    }
}

/* bench --profile: every plan step with its gemm FLOPs (mlp_bn, batch 32: X[32×30]·W[30×200]
 * is 2·32·30·200 = 384,000 forward, its dX and dW twice that), times that are positive, and
 * in the text the phase totals and a top-ten table. */
static void profile_flops(int threads)
{
    char args[128];
    snprintf(args, sizeof args, "bench specs/mlp_bn.yaml --profile --steps 20 --json --threads %d",
             threads);
    assert_int_equal(tu_nnrun(tmp, args), 0);
    char *out = tu_captured(tmp, "out");
    json_error_t e;
    json_t *j = json_loads(out, 0, &e);
    assert_non_null(j);
    json_t *parts = json_object_get(j, "parts");
    assert_true(json_array_size(parts) >= 8);
    double fwd = -1, bwd = -1, total_us = 0;
    for (size_t i = 0; i < json_array_size(parts); i++) {
        json_t *p = json_array_get(parts, i);
        const char *name = json_string_value(json_object_get(p, "name"));
        double flops = json_real_value(json_object_get(p, "flops"));
        total_us += json_real_value(json_object_get(p, "us"));
        if (strcmp(name, "linear -> layers.2.out") == 0) fwd = flops;
        if (strcmp(name, "linear_grad -> dlayers.1.out") == 0) bwd = flops;
    }
    assert_true(fwd == 384000.0);
    assert_true(bwd == 768000.0);
    assert_true(total_us > 0);
    assert_true(json_real_value(json_object_get(j, "fma_peak_gflops_per_core")) >= 0);
    json_decref(j);
    free(out);
}

static void test_bench_profile(void **state)
{
    (void)state;
    for (int threads = 1; threads <= 2; threads++) /* 2: dX and dW side by side, counted alike */
        profile_flops(threads);
    assert_int_equal(tu_nnrun(tmp, "bench specs/mlp_bn.yaml --profile --steps 20"), 0);
    char *out = tu_captured(tmp, "out");
    assert_non_null(strstr(out, "FMA peak"));
    assert_non_null(strstr(out, "backward"));
    assert_non_null(strstr(out, "top 10 parts"));
    free(out);
}

static int setup(void **state)
{
    (void)state;
    return tu_mkdtemp(tmp, sizeof tmp, "/tmp/nnrun-cli-XXXXXX");
}

static int teardown(void **state)
{
    (void)state;
    return tu_rmtree(tmp);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_help_and_version),
        cmocka_unit_test(test_usage_errors),
        cmocka_unit_test(test_check),
        cmocka_unit_test(test_unknown_layer),
        cmocka_unit_test(test_short_run),
        cmocka_unit_test(test_bad_spec_corpus),
        cmocka_unit_test(test_specs_check_and_resolve),
        cmocka_unit_test(test_report_plots_per_spec),
        cmocka_unit_test(test_bench_profile),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
