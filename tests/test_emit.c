/* test_emit.c — the resolved-spec emitter (nn_spec_emit).  For every spec in specs/ and
 * tests/specs/good/: load → emit → load → emit gives the same text byte for byte (the
 * header keeps naming the original file) and the same nn_spec.  Then the value forms
 * (floats, u64 seeds, quoted strings, paths) and --set overrides.  Hand-built specs with
 * every data kind, layer, init, loss, optimizer and schedule: test_emit_hand.c. */
#include <dirent.h>
#include <math.h>
#include <unistd.h>

#include <yaml.h>

#include "emit_util.h"
#include "parser/matrix.h"

/* --- every spec of the tree --------------------------------------------------------- */

static void test_spec_file(void **state)
{
    const char *rel = *state;
    nn_diag *d = nn_diag_new();
    nn_matrix *m = nn_matrix_load(tu_path(rel), NULL, 0, d);
    int sweep = m && m->npoints > 0; /* a matrix: its first cell */
    nn_matrix_free(m);
    nn_spec *s = sweep ? nn_spec_load_point(tu_path(rel), NULL, 0, 0, d)
                       : nn_spec_load(tu_path(rel), NULL, 0, d);
    if (!s) { /* a spec of the tree the parser cannot read is a failure, not a skip */
        nn_diag_print(d, stderr);
        fail_msg("%s: the parser does not read it", rel);
    }
    free(round_trip(s));
    nn_spec_free(s);
    nn_diag_free(d);
}

/* --- value forms -------------------------------------------------------------------- */


static void test_value_forms(void **state)
{
    (void)state;
    char path[64] = "/tmp/nn_emit_XXXXXX.yaml";
    int fd = mkstemps(path, 5);
    assert_true(fd >= 0);
    close(fd);
    writef(path, "name: 'yes'\n"
                 "seed: 18446744073709551615\n" /* sample.seed = seed + 10 wraps to 9 */
                 "data:\n"
                 "  source: nofile.txt\n"
                 "  filter: 'it''s \\d+ \"x\", # not a comment'\n"
                 "  context: 1\n"
                 "  split: {train: 0.7, dev: 0.2, test: 0.1}\n"
                 "model:\n"
                 "  - embedding: {dim: 2, init: {uniform: {a: -1, b: 1}}}\n"
                 "  - flatten\n"
                 "  - linear: {out: 7, init: {kaiming: 2.5, scale: 0.3333333333333333}}\n"
                 "  - batchnorm: {eps: 1e-300, momentum: 1e-5}\n"
                 "  - tanh\n"
                 "  - linear\n"
                 "train: {steps: 3, lr: 0.1}\n"
                 "sample: {temperature: 0.7}\n"
                 "report: {plots: none}\n");
    nn_diag *d = nn_diag_new();
    nn_spec *s = nn_spec_load(path, NULL, 0, d);
    if (!s) nn_diag_print(d, stderr);
    assert_non_null(s);
    char *t = round_trip(s);
    assert_has(t, "\nname: 'yes'\n");
    assert_has(t, "\nseed: 18446744073709551615\n");
    assert_has(t, "\n  seed: 9\n");
    assert_has(t, "\n  filter: 'it''s \\d+ \"x\", # not a comment'\n");
    assert_has(t, "\n  source: '/");
    assert_has(t, "/nofile.txt'\n");
    assert_has(t, "\n    train: 0.7\n    dev: 0.2\n    test: 0.1\n");
    assert_has(t, "init: {uniform: {a: -1.0, b: 1.0}, scale: 1.0}");
    assert_has(t, "init: {kaiming: 2.5, scale: 0.3333333333333333}");
    assert_has(t, "bias_init: {zeros: {}, scale: 1.0}");
    assert_has(t, "\n      eps: 1.0e-300\n      momentum: 1.0e-05\n");
    assert_has(t, "\n      # out: one per class (text: the vocabulary size)\n");
    assert_has(t, "\n  lr: 0.1\n");
    assert_has(t, "\n  l2: 0.0\n");
    assert_has(t, "\n  temperature: 0.7\n");
    assert_has(t, "\n  plots: none\n");
    free(t);
    nn_spec_free(s);
    nn_diag_free(d);
    unlink(path);
}

/* --set values are emitted like values of the file, list indices included. */
static void test_set_overrides(void **state)
{
    (void)state;
    const char *sets[] = {"model.2.linear.out=300", "train.steps=20", "data.filter=^[a-z]{2,}$",
                          "eval.splits=[test, train]"};
    nn_diag *d = nn_diag_new();
    nn_spec *s = nn_spec_load(tu_path("specs/mlp_bn.yaml"), sets, 4, d);
    if (!s) nn_diag_print(d, stderr);
    assert_non_null(s);
    char *t = round_trip(s);
    assert_has(t, "  - linear:\n      out: 300\n      bias: false\n");
    assert_has(t, "\n  steps: 20\n");
    assert_has(t, "\n  filter: '^[a-z]{2,}$'\n");
    assert_has(t, "\n  splits: [train, test]\n");
    assert_has(t, "\n    steps:\n      boundaries: [100000]\n      values: [0.1, 0.01]\n");
    free(t);
    nn_spec_free(s);
    nn_diag_free(d);
}

/* --- hand-built specs: every form the parser does not read yet ---------------------- */


int main(void)
{
    static const char *const dirs[] = {"specs", "tests/specs/good"};
    struct CMUnitTest tests[256];
    char *names[256];
    int n = 0;
    for (int k = 0; k < 2; k++) {
        struct dirent **ents;
        int m = scandir(tu_path(dirs[k]), &ents, NULL, alphasort);
        for (int i = 0; i < m; i++) {
            size_t len = strlen(ents[i]->d_name);
            if (n < 240 && len > 5 && !strcmp(ents[i]->d_name + len - 5, ".yaml")) {
                char rel[512];
                snprintf(rel, sizeof rel, "%s/%s", dirs[k], ents[i]->d_name);
                names[n] = strdup(rel);
                tests[n] = (struct CMUnitTest){names[n], test_spec_file, NULL, NULL, names[n]};
                n++;
            }
            free(ents[i]);
        }
        if (m >= 0) free(ents);
    }
    int nfiles = n;
    tests[n++] = (struct CMUnitTest){"value_forms", test_value_forms, NULL, NULL, NULL};
    tests[n++] = (struct CMUnitTest){"set_overrides", test_set_overrides, NULL, NULL, NULL};
    int rc = _cmocka_run_group_tests("emit", tests, (size_t)n, NULL, NULL);
    for (int i = 0; i < nfiles; i++)
        free(names[i]);
    return rc;
}

