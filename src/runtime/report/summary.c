/* summary.c — summary.json and samples.txt: what a finished (or stopped) run reports
 * (see summary.h). */
#include "runtime/report/summary.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "config.h"
#include "runtime/store/rundir.h"
#include "runtime/train/nancheck.h"

static json_t *num_or_null(double v)
{
    return isfinite(v) ? json_real(v) : json_null();
}

int nn_run_diverged(const nn_spec *spec, const nn_dataset *ds, const nn_result *r, char *why,
                    size_t n)
{
    if (r->steps <= 0 || !isfinite(r->step0) || r->nan) return 0;
    int train = r->have_split[NN_SPLIT_TRAIN] && isfinite(r->split[NN_SPLIT_TRAIN]);
    double end = train ? r->split[NN_SPLIT_TRAIN] : r->last, start = r->step0;
    int ce = spec->train.loss == NN_LOSS_CROSS_ENTROPY && ds->vocab > 1;
    double uniform = ce ? log((double)ds->vocab) : 0, ref = fmax(start, uniform);
    if (!isfinite(end) || !(ref > 0) || end <= NN_DIVERGED * ref) return 0;
    int k = snprintf(why, n,
                     "the training diverged: %s loss %.4g at the end is %.0f times its start "
                     "(%.4g at step 0",
                     train ? "train" : "the last step's", end, end / start, start);
    if (ce && k > 0 && (size_t)k < n)
        k += snprintf(why + k, n - (size_t)k, "; a uniform guess over %d classes scores %.4g",
                      ds->vocab, uniform);
    if (k > 0 && (size_t)k < n)
        snprintf(why + k, n - (size_t)k, "); a smaller train.lr (or a warmup) usually helps");
    return 1;
}

char *nn_summary_json(const nn_spec *spec, const nn_dataset *ds, const nn_trainer *tr,
                      const nn_result *r, const nn_run_info *info)
{
    static const char *split_names[NN_SPLIT_COUNT] = {"train", "dev", "test"};
    json_t *loss = json_object(), *examples = json_object(), *samples = json_array();
    json_object_set_new(loss, "step0", num_or_null(r->step0));
    json_object_set_new(loss, "last", num_or_null(r->last));
    for (int s = 0; s < NN_SPLIT_COUNT; s++) {
        json_object_set_new(loss, split_names[s],
                            r->have_split[s] ? num_or_null(r->split[s]) : json_null());
        json_object_set_new(examples, split_names[s], json_integer(ds->split[s].n));
    }
    for (int i = 0; i < r->nsamples; i++)
        json_array_append_new(samples, json_string(r->samples[i]));
    char seed[32];
    snprintf(seed, sizeof seed, "%llu", (unsigned long long)spec->seed);
    json_t *root = json_pack(
        "{s:s, s:s, s:I, s:I, s:o, s:f, s:f, s:s, s:i, s:o, s:s, s:i, s:o, s:o}", "name",
        spec->name, "version", PACKAGE_VERSION, "steps", (json_int_t)r->steps, "params",
        (json_int_t)nn_trainer_params(tr)->count, "loss", loss, "wall_seconds", r->wall_seconds,
        "steps_per_second",
        r->train_seconds > 0 ? (double)(r->steps - r->first_step) / r->train_seconds : 0.0, "isa",
        info->isa, "threads", info->threads,
        /* seeds are unsigned 64-bit: a JSON integer where it fits exactly, else a string */
        "seed",
        spec->seed <= (1ull << 53) ? json_integer((json_int_t)spec->seed) : json_string(seed),
        "rng", spec->rng == NN_RNG_TORCH ? "torch" : "native", "vocab", ds->vocab, "examples",
        examples, "samples", samples);
    char hash[17];
    if (root) json_object_set_new(root, "spec_hash", json_string(nn_spec_hash(spec, hash)));
    /* what the losses are (the report names its axis) and whether the data is text or a
     * table (tokens or classes) */
    static const char *const objective[] = {"cross_entropy", "hinge", "mse", "value", "expr"};
    int lk = (int)spec->train.loss;
    if (root && lk >= 0 && lk < 5)
        json_object_set_new(root, "objective", json_string(objective[lk]));
    if (root)
        json_object_set_new(root, "data",
                            json_string(ds->kind == NN_DATASET_TEXT ? "text" : "table"));
    if (root && r->have_accuracy) { /* classifiers only, keys as in `loss` */
        json_t *acc = json_object();
        for (int s = 0; s < NN_SPLIT_COUNT; s++)
            json_object_set_new(acc, split_names[s],
                                r->have_split[s] ? num_or_null(r->accuracy[s]) : json_null());
        json_object_set_new(root, "accuracy", acc);
    }
    char diverged[400];
    if (root && nn_run_diverged(spec, ds, r, diverged, sizeof diverged))
        json_object_set_new(root, "diverged", json_string(diverged));
    if (root && r->nan) { /* stopped early (nancheck.h): why, in the CLI's words */
        char why[512];
        json_object_set_new(root, "stopped", json_string(nn_nan_describe(r->nan, why, sizeof why)));
    }
    char *s = root ? json_dumps(root, JSON_INDENT(2) | JSON_REAL_PRECISION(17)) : NULL;
    json_decref(root);
    return s;
}

int nn_rundir_write_results(const char *dir, const char *summary_json, const nn_result *r)
{
    FILE *f = nn_rundir_open(dir, "summary.json");
    if (!f) return -1;
    int bad = fputs(summary_json, f) < 0 || fputc('\n', f) == EOF;
    bad |= fclose(f) != 0;
    if (bad || !(f = nn_rundir_open(dir, "samples.txt"))) return -1;
    for (int i = 0; i < r->nsamples; i++)
        bad |= fprintf(f, "%s\n", r->samples[i]) < 0;
    bad |= fclose(f) != 0;
    return bad ? -1 : 0;
}
