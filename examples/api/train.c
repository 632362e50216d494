/* train.c — libnnrun's C API in one program (docs/api.md walks through it).
 *
 *   cc train.c $(pkg-config --cflags --libs nnrun) -o train
 *   ./train specs/mlp_bn.yaml train.steps=2000 eval.every=500
 *
 * Loads a spec with --set-style overrides, builds a run, trains it in two pieces with a
 * callback at each evaluation, prints the metrics, reads a weight and an activation by
 * name, samples, and saves the weights; then shows what a wrong call returns. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include <nnrun/nnrun.h>

/* Called after each evaluation: print it; returning nonzero would stop training. */
static int on_eval(void *ctx, long step, const double loss[3])
{
    (void)ctx;
    printf("eval at step %ld: train %.4f dev %.4f\n", step, loss[0], loss[1]);
    return 0;
}

/* Prints a failed call's errors (FILE:LINE:COL: error: ...) and exits. */
static void fail(const char *what, const nnrun_errors *e)
{
    fprintf(stderr, "%s failed:\n%s", what, nnrun_errors_text(e));
    exit(2);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s SPEC.yaml [KEY=VALUE...]\n", argv[0]);
        return 2;
    }
    printf("libnnrun %s\n", nnrun_version());

    /* 1. the spec, with overrides as --set takes them */
    nnrun_errors *err = NULL;
    nnrun_spec *spec = nnrun_spec_load(argv[1], (const char *const *)argv + 2, argc - 2, &err);
    if (!spec) fail("loading the spec", err);

    /* 2. a run: data loaded, model built and initialised (no run directory: opts NULL) */
    nnrun_run *run = nnrun_run_new(spec, NULL, &err);
    if (!run) fail("building the run", err);
    nnrun_spec_free(spec); /* the run keeps what it needs */

    /* 3. train: half the steps, then the rest (the same numbers as one call) */
    long total = nnrun_steps_total(run);
    if (nnrun_train(run, total / 2, on_eval, NULL) < 0 || nnrun_train(run, 0, on_eval, NULL) < 0)
        fail("training", nnrun_run_errors(run));
    printf("trained %ld steps; final dev loss %.4f\n", nnrun_steps_done(run),
           nnrun_final_loss(run, 1));

    /* 4. metrics: one column of the table metrics.csv holds */
    long rows = nnrun_metrics_rows(run);
    double *loss = malloc((size_t)rows * sizeof *loss);
    if (rows < 0 || !loss || nnrun_metrics_column(run, 2, loss, rows) != NNRUN_OK)
        fail("reading the metrics", nnrun_run_errors(run));
    printf("metrics: %ld rows; step 0 loss %.4f\n", rows, loss[0]);
    free(loss);

    /* 5. a parameter and an activation by name, as float arrays with their shapes */
    const char *names[] = {"layers.2.weight", "layers.4.out"};
    for (int k = 0; k < 2; k++) {
        nnrun_shape sh;
        if (nnrun_tensor_shape(run, names[k], &sh) != NNRUN_OK)
            fail("a tensor's shape", nnrun_run_errors(run));
        float *v = malloc((size_t)sh.numel * sizeof *v);
        if (!v || nnrun_tensor_get(run, names[k], v, sh.numel) != NNRUN_OK)
            fail("reading a tensor", nnrun_run_errors(run));
        double sum = 0;
        for (int64_t i = 0; i < sh.numel; i++)
            sum += fabs(v[i]);
        printf("%s [%lld, %lld]: mean |x| %.4f\n", names[k], (long long)sh.dim[0],
               (long long)sh.dim[1], sum / (double)sh.numel);
        free(v);
    }

    /* 6. samples, and the weights as model.safetensors (`nnrun sample` reads the file) */
    char **items = nnrun_sample(run, 5, 42, 1.0);
    if (!items) fail("sampling", nnrun_run_errors(run));
    for (int i = 0; i < 5; i++)
        printf("sample: %s\n", items[i]);
    nnrun_strings_free(items, 5);
    if (nnrun_save(run, "model.safetensors") != NNRUN_OK) fail("saving", nnrun_run_errors(run));

    /* 7. a wrong call is an error value with a message, never a crash */
    float w[3];
    if (nnrun_tensor_get(run, "layers.2.wieght", w, 3) == NNRUN_EINPUT)
        printf("as expected: %s", nnrun_errors_text(nnrun_run_errors(run)));
    nnrun_run_free(run);
    return 0;
}
