/* test_extend.c — resuming without the spec (`nnrun --resume RUN_DIR`: the run's own
 * spec.resolved.yaml) and training further (`--resume RUN_DIR --steps N`, issue 21): a run
 * of K steps trained N further computes what a run of K + N steps computes (metrics,
 * losses, samples, spec hash), also when stopped and resumed on the way; a schedule that
 * depends on the run's length, another spec, the counting model and a directory without a
 * run are errors (exit 2). */
#include <jansson.h>
#include <sys/stat.h>
#include <unistd.h>

#include "testutil.h"

static char tmp[256];
static const char SPEC[] = "tests/specs/ckpt/adam_bn.yaml";
static const char CONST_LR[] = "--set train.lr=0.01"; /* adam_bn's own lr is a cosine */

static int setup(void **state)
{
    (void)state;
    return tu_mkdtemp(tmp, sizeof tmp, "/tmp/nn_extend_XXXXXX");
}

static int teardown(void **state)
{
    (void)state;
    return tu_rmtree(tmp);
}

/* A run that neither succeeds nor is refused (exit 2) fails the test with its stderr. */
static int checked(int rc)
{
    if (rc != 0 && rc != 2) fail_msg("nnrun: exit %d:\n%s", rc, tu_captured(tmp, "err"));
    return rc;
}
#define run(...) checked(tu_nnrunf(tmp, __VA_ARGS__))
#define expect_err(want) tu_expect_err(tmp, want)

static char *read_in(const char *dir, const char *file)
{
    char p[600];
    snprintf(p, sizeof p, "%s/%s/%s", tmp, dir, file);
    char *s = tu_read_file(p);
    if (!s) fail_msg("cannot read %s", p);
    return s;
}

/* metrics.csv without the timing columns (elapsed_s, steps_per_s: 7th and 9th). */
static char *metrics_without_timing(const char *dir)
{
    char *s = read_in(dir, "metrics.csv"), *out = malloc(strlen(s) + 1), *o = out;
    int col = 0;
    for (const char *c = s; *c; c++) {
        if (*c == '\n') col = -1;
        if (*c == ',') col++;
        if (col != 6 && col != 8) *o++ = *c;
        if (col == -1) col = 0;
    }
    *o = 0;
    free(s);
    return out;
}

static json_t *summary(const char *dir)
{
    char p[600];
    snprintf(p, sizeof p, "%s/%s/summary.json", tmp, dir);
    json_t *j = json_load_file(p, 0, NULL);
    if (!j) fail_msg("cannot read %s", p);
    return j;
}

/* The same run: metrics rows, losses, accuracy, samples, steps and spec hash. */
static void assert_same_run(const char *a, const char *b)
{
    char *x = metrics_without_timing(a), *y = metrics_without_timing(b);
    assert_true(strlen(x) > 200);
    assert_string_equal(x, y);
    free(x);
    free(y);
    char *sa = read_in(a, "samples.txt"), *sb = read_in(b, "samples.txt");
    assert_string_equal(sa, sb);
    free(sa);
    free(sb);
    json_t *ja = summary(a), *jb = summary(b);
    static const char *keys[] = {"loss", "steps", "spec_hash"};
    for (int k = 0; k < 3; k++)
        if (!json_equal(json_object_get(ja, keys[k]), json_object_get(jb, keys[k])))
            fail_msg("summary.json '%s' differs between %s and %s", keys[k], a, b);
    json_decref(ja);
    json_decref(jb);
}

/* `nnrun --resume RUN_DIR`: the spec is the run's own; a stopped run resumed that way ends
 * as one that ran through. */
static void test_resume_without_spec(void **state)
{
    (void)state;
    assert_int_equal(run("%s --quiet --out '%s/full'", SPEC, tmp), 0);
    assert_int_equal(run("%s --quiet --out '%s/part' --stop-after 55", SPEC, tmp), 0);
    assert_int_equal(run("--resume '%s/part' --quiet --stop-after 60", tmp), 0);
    assert_int_equal(run("run --resume '%s/part' --quiet", tmp), 0);
    assert_same_run("full", "part");
    /* the rewritten spec.resolved.yaml still names the spec it was resolved from */
    char *resolved = read_in("part", "spec.resolved.yaml");
    char *nl = strchr(resolved, '\n');
    assert_non_null(nl);
    *nl = 0;
    assert_non_null(strstr(resolved, " from "));
    assert_non_null(strstr(resolved, "tests/specs/ckpt/adam_bn.yaml"));
    free(resolved);
    /* a directory without a run */
    char p[600];
    snprintf(p, sizeof p, "%s/empty", tmp);
    assert_int_equal(mkdir(p, 0777), 0);
    assert_int_equal(run("--resume '%s/empty'", tmp), 2);
    expect_err("empty: error: not a run directory: cannot read");
    expect_err("resume with the spec: nnrun SPEC.yaml --resume");
}

/* K = 100 steps (an evaluation point: every 25), then 100 more: the run of 200 steps. */
static void test_steps_trains_further(void **state)
{
    (void)state;
    assert_int_equal(
        run("%s %s --quiet --set train.steps=200 --out '%s/s200'", SPEC, CONST_LR, tmp), 0);
    assert_int_equal(
        run("%s %s --quiet --set train.steps=100 --out '%s/s100'", SPEC, CONST_LR, tmp), 0);
    assert_int_equal(run("--resume '%s/s100' --steps 100", tmp), 0);
    char *out = tu_captured(tmp, "out");
    assert_non_null(strstr(out, "training further: from the checkpoint at step 100 to step 200"));
    free(out);
    assert_same_run("s200", "s100");
    char *resolved = read_in("s100", "spec.resolved.yaml");
    assert_non_null(strstr(resolved, "steps: 200\n"));
    free(resolved);
    /* with the spec and its --set, stopped on the way (30 of 50 more), then resumed plain:
     * the run of 150 steps */
    assert_int_equal(
        run("%s %s --quiet --set train.steps=150 --out '%s/s150'", SPEC, CONST_LR, tmp), 0);
    assert_int_equal(run("%s %s --quiet --set train.steps=100 --out '%s/x'", SPEC, CONST_LR, tmp),
                     0);
    assert_int_equal(run("%s %s --quiet --set train.steps=100 --resume '%s/x' --steps 50 "
                         "--stop-after 30",
                         SPEC, CONST_LR, tmp),
                     0);
    assert_int_equal(run("--resume '%s/x' --quiet", tmp), 0);
    assert_same_run("s150", "x");
    /* another spec (without the --set) is refused */
    assert_int_equal(run("%s --resume '%s/x' --steps 10", SPEC, tmp), 2);
    expect_err("the checkpoint was made by another spec");
}

/* A cosine schedule over train.steps: more steps would change the rates already used. */
static void test_steps_refused(void **state)
{
    (void)state;
    assert_int_equal(run("%s --quiet --set train.steps=50 --out '%s/cos'", SPEC, tmp), 0);
    assert_int_equal(run("--resume '%s/cos' --steps 10", tmp), 2);
    expect_err("cos/spec.resolved.yaml:");
    expect_err("error: train.lr is a cosine schedule over train.steps: training 10 steps past "
               "the checkpoint (step 50) would change the rate of every step already taken");
    expect_err("nnrun SPEC --set train.steps=60");
    char *resolved = read_in("cos", "spec.resolved.yaml"); /* left as it was */
    assert_non_null(strstr(resolved, "steps: 50\n"));
    free(resolved);
    assert_int_equal(run("tests/specs/good/trigram_counts.yaml --quiet --out '%s/tri'", tmp), 0);
    assert_int_equal(run("--resume '%s/tri' --steps 5", tmp), 2);
    expect_err("the counting model (ngram) takes no steps");
    assert_int_equal(run("specs/mlp_bn.yaml --steps 5"), 2);
    expect_err("--steps N trains a run N steps further: give the run with --resume RUN_DIR");
}

/* A stored spec's plugins are loaded only when the user says so (--allow-plugins). */
static void test_stored_plugins_refused(void **state)
{
    (void)state;
    assert_int_equal(run("specs/mlp_gelu.yaml --quiet --set train.steps=20 --stop-after 10 "
                         "--out '%s/plug'",
                         tmp),
                     0);
    assert_int_equal(run("--resume '%s/plug' --quiet", tmp), 2);
    expect_err("plug/spec.resolved.yaml:");
    expect_err("error: the stored spec of this run loads the plugin 'gelu'");
    assert_int_equal(run("--resume '%s/plug' --quiet --allow-plugins", tmp), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_resume_without_spec),
        cmocka_unit_test(test_steps_trains_further),
        cmocka_unit_test(test_steps_refused),
        cmocka_unit_test(test_stored_plugins_refused),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
