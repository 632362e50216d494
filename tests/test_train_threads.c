/* test_train_threads.c — makemore's transformer and MLP give the same bits at one thread
 * and at two: their attention, LayerNorm and GELU kernels split over the pool (split.c), and
 * the MLP's window gemm is split too.  (mlp_bn's check is in test_train.c.) */
#include "testutil.h"

#include "kernels/kernels.h"
#include "parser/spec.h"
#include "runtime/data/data.h"
#include "runtime/train/train.h"

static nn_result run_spec(const char *spec, const char *steps)
{
    char set_steps[64];
    snprintf(set_steps, sizeof set_steps, "train.steps=%s", steps);
    /* the final evaluation on the test split only: the whole training split through the
     * transformer takes minutes under the sanitizers, and adds no path the test lacks */
    const char *sets[] = {set_steps, "sample.count=5", "eval.splits=[test]"};
    nn_diag *d = nn_diag_new();
    nn_spec *s = nn_spec_load(tu_path(spec), sets, 3, d);
    nn_dataset *ds = s ? nn_dataset_load(s, d) : NULL;
    nn_trainer *tr = ds ? nn_trainer_new(s, ds, d) : NULL;
    if (!tr) {
        nn_diag_print(d, stderr);
        fail();
    }
    nn_diag_free(d);
    nn_run_opts o = {.quiet = 1};
    nn_result r;
    memset(&r, 0, sizeof r);
    assert_int_equal(nn_trainer_run(tr, &o, &r), 0);
    nn_trainer_free(tr);
    nn_dataset_free(ds);
    nn_spec_free(s);
    return r;
}

static void test_makemore_threads_bit_identical(void **state)
{
    (void)state;
    const char *specs[] = {"specs/makemore_transformer.yaml", "specs/makemore_mlp.yaml"};
    for (size_t k = 0; k < sizeof specs / sizeof *specs; k++) {
        nn_kernels_set_threads(1);
        nn_result one = run_spec(specs[k], "20");
        nn_kernels_set_threads(2);
        nn_result two = run_spec(specs[k], "20");
        nn_kernels_set_threads(1);
        assert_memory_equal(&one.last, &two.last, sizeof one.last);
        assert_memory_equal(one.split, two.split, sizeof one.split);
        for (int i = 0; i < one.nsamples; i++)
            assert_string_equal(one.samples[i], two.samples[i]);
        nn_result_free(&one);
        nn_result_free(&two);
    }
}

int main(void)
{
    /* the vector paths: theirs are the kernels that split (the scalar one never does) */
    if (nn_kernels_select(NULL) != 0) nn_kernels_select("scalar");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_makemore_threads_bit_identical),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
