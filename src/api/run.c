/* run.c — a run through the API: the spec's data and model (the trainer), trained in
 * pieces on the trainer's own loop.
 *
 * Training in pieces is the loop's resume path (hooks.h): each nnrun_train call runs
 * nn_trainer_run, whose `start` hook puts the loop at the steps done with the smoothed
 * loss's state, and whose `after_step` hook stops it (NN_HOOK_STOP) where the call
 * ends, saving that state.  Parameters, optimizer state and the random stream stay in
 * the trainer between calls, and the schedule is the whole run's, so the numbers are
 * those of one uninterrupted run — of `nnrun run`. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api/api_int.h"
#include "config.h"
#include "kernels/kernels.h"
#include "runtime/plugin/plugin.h"
#include "runtime/report/html.h"
#include "runtime/report/stats.h"
#include "runtime/report/summary.h"
#include "runtime/store/rundir.h"
#include "runtime/train/hooks.h"
#include "runtime/train/nancheck.h"

const char *nnrun_version(void)
{
    return PACKAGE_VERSION;
}
int nnrun_api_version(void)
{
    return NNRUN_API_VERSION;
}

int nn_api_init_kernels(int threads)
{
    static int selected;
    if (!selected && nn_kernels_select(NULL) != 0) nn_kernels_select("scalar");
    selected = 1;
    if (threads <= 0) {
        long cores = sysconf(_SC_NPROCESSORS_ONLN);
        threads = cores < 1 ? 1 : cores > NN_MAX_THREADS ? NN_MAX_THREADS : (int)cores;
    }
    if (threads > NN_MAX_THREADS) threads = NN_MAX_THREADS;
    nn_kernels_set_threads(threads);
    return threads;
}

/* --- the hook that cuts the loop into calls ------------------------------------------ */
static void h_start(void *ctx, nn_train_state *st)
{
    nnrun_run *r = ctx;
    if (r->done == 0) return;
    st->step = r->done;
    st->ema = r->ema, st->beta_pow = r->beta_pow;
}

static void h_at_eval(void *ctx, long step, const double loss[NN_SPLIT_COUNT])
{
    nnrun_run *r = ctx;
    if (r->eval && r->eval(r->eval_ctx, step, loss) != 0) r->stop_req = 1;
}

static int h_after_step(void *ctx, long done, long steps)
{
    nnrun_run *r = ctx;
    if (done < steps && (done >= r->target || r->stop_req)) return NN_HOOK_SAVE | NN_HOOK_STOP;
    return 0;
}

static int h_save(void *ctx, const nn_train_state *st)
{
    nnrun_run *r = ctx;
    r->ema = st->ema, r->beta_pow = st->beta_pow;
    return 0;
}

static const nn_train_hooks api_hooks = {
    .start = h_start, .at_eval = h_at_eval, .after_step = h_after_step, .save = h_save};

/* --- building ------------------------------------------------------------------------ */
static int open_outputs(nnrun_run *r, const nnrun_run_opts *o)
{
    const nn_spec *spec = r->spec->s;
    nn_diag *d = r->err.d;
    if (o && o->out) {
        nn_mark at = {*o->out ? "out" : spec->path, 1, 1};
        if (!(r->dir = nn_rundir_create(spec->name, *o->out ? o->out : NULL, o->force, at, d)))
            return -1;
        if (!(r->ctl = nn_runctl_new(r->tr, r->dir, 0, 0, d))) return -1;
        if (nn_rundir_write_resolved(r->dir, spec) != 0 ||
            !(r->csv = nn_runctl_open_metrics(r->ctl, "metrics.csv")) ||
            !(r->jsonl = nn_runctl_open_metrics(r->ctl, "metrics.jsonl"))) {
            nn_api_error(&r->err, "cannot write the run directory '%s'", r->dir);
            return -1;
        }
        size_t n = strlen(r->dir) + 16;
        if (!(r->csv_path = malloc(n))) return -1;
        snprintf(r->csv_path, n, "%s/metrics.csv", r->dir);
        return 0;
    }
    const char *tmp = getenv("TMPDIR");
    size_t n = strlen(tmp && *tmp ? tmp : "/tmp") + 32;
    if (!(r->csv_path = malloc(n))) return -1;
    snprintf(r->csv_path, n, "%s/nnrun-metrics-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    int fd = mkstemp(r->csv_path);
    if (fd < 0 || !(r->csv = fdopen(fd, "w+"))) {
        nn_api_error(&r->err, "cannot make a temporary file for the metrics in '%s'",
                     tmp && *tmp ? tmp : "/tmp");
        if (fd >= 0) close(fd);
        free(r->csv_path), r->csv_path = NULL;
        return -1;
    }
    unlink(r->csv_path); /* read back through /proc/self/fd: nothing is left behind */
    snprintf(r->csv_path, n, "/proc/self/fd/%d", fd);
    return 0;
}

nnrun_run *nnrun_run_new(const nnrun_spec *spec, const nnrun_run_opts *opts, nnrun_errors **err)
{
    if (err) *err = NULL;
    nnrun_run *r = calloc(1, sizeof *r);
    if (!r || nn_api_errors_reset(&r->err) != 0) {
        free(r);
        return NULL;
    }
    if (!spec) {
        nn_api_error(&r->err, "nnrun_run_new: no spec given");
        goto fail;
    }
    r->threads = nn_api_init_kernels(opts ? opts->threads : 0);
    r->spec = (nnrun_spec *)spec;
    r->spec->refs++;
    r->beta_pow = 1;
    nn_diag *d = r->err.d;
    if (!(r->ds = nn_dataset_load(spec->s, d)) || !(r->tr = nn_trainer_new(spec->s, r->ds, d)))
        goto fail;
    /* with a run directory, the report's statistics ride on the loop as in `nnrun run` */
    if (opts && opts->out && nn_stats_attach(r->tr, d) != 0) goto fail;
    if (open_outputs(r, opts) != 0 || nn_trainer_attach(r->tr, &api_hooks, r) != 0) goto fail;
    r->o.quiet = !(opts && opts->progress);
    r->o.progress = opts && opts->progress ? stderr : NULL;
    r->o.metrics_csv = r->csv;
    r->o.metrics_jsonl = r->jsonl;
    r->res.step0 = r->res.last = NAN;
    r->probe_stale = 1;
    return r;
fail:
    if (!nn_diag_count(r->err.d)) nn_api_error(&r->err, "out of memory");
    if (err) *err = nn_api_errors_take(&r->err);
    nnrun_run_free(r);
    return NULL;
}

void nnrun_run_free(nnrun_run *r)
{
    if (!r) return;
    nn_plan_free(r->probe);
    for (int c = 0; c < NN_API_METRIC_COLS; c++)
        free(r->mcol[c]);
    nn_runctl_free(r->ctl);
    if (r->tr) nn_trainer_detach(r->tr, r);
    if (r->csv) fclose(r->csv);
    if (r->jsonl) fclose(r->jsonl);
    nn_result_free(&r->res);
    nn_trainer_free(r->tr);
    nn_dataset_free(r->ds);
    nnrun_spec_free(r->spec);
    nn_diag_free(r->err.d);
    free(r->err.text);
    free(r->err.string_path);
    free(r->csv_path);
    free(r->dir);
    free(r);
}

const nnrun_errors *nnrun_run_errors(const nnrun_run *r)
{
    return r ? &r->err : NULL;
}
const char *nnrun_run_dir(const nnrun_run *r)
{
    return r ? r->dir : NULL;
}
long nnrun_steps_done(const nnrun_run *r)
{
    return r ? r->done : 0;
}
long nnrun_steps_total(const nnrun_run *r)
{
    return r ? r->spec->s->train.steps : 0;
}
int nnrun_finished(const nnrun_run *r)
{
    return r ? r->finished : 0;
}

double nnrun_final_loss(const nnrun_run *r, int split)
{
    if (!r || !r->finished || split < 0 || split >= NN_SPLIT_COUNT || !r->res.have_split[split])
        return NAN;
    return r->res.split[split];
}

/* --- training ------------------------------------------------------------------------ */
/* Why a run stopped with rc < 0, as an error of r. */
static void run_failed(nnrun_run *r, int rc)
{
    const char *pf = nn_plugins_failure(nn_trainer_plugins(r->tr));
    if (rc == -2)
        nn_api_error(&r->err, "the run stopped at step %ld: its metrics could not be written",
                     r->res.steps);
    else if (pf)
        nn_api_error(&r->err, "%s at step %ld", pf, r->res.steps);
    else if (r->res.nan)
        nn_nan_diag(r->res.nan, r->spec->s->path, r->err.d);
    else
        nn_api_error(&r->err, "the run stopped at step %ld (out of memory)", r->res.steps);
}

int nnrun_train(nnrun_run *r, long steps, nnrun_eval_fn eval, void *ctx)
{
    if (!r) return NNRUN_EINPUT;
    if (nn_api_errors_reset(&r->err) != 0) return NNRUN_ERUN;
    long total = r->spec->s->train.steps;
    if (r->finished) {
        nn_api_error(&r->err,
                     "the run has trained its %ld steps (train.steps; load the spec "
                     "with a larger train.steps to train longer)",
                     total);
        return NNRUN_EINPUT;
    }
    nn_api_init_kernels(r->threads);
    r->target = steps <= 0 || steps > total - r->done ? total : r->done + steps;
    r->eval = eval, r->eval_ctx = ctx, r->stop_req = 0;
    nn_trainer_set_eval_inline(r->tr, eval != NULL); /* the callback may stop right there */
    r->probe_stale = 1;
    r->metrics_valid = 0;
    int rc = nn_trainer_run(r->tr, &r->o, &r->res);
    r->eval = NULL;
    if (rc == 1) { /* stopped where this call ends */
        r->done = r->res.steps;
        return r->stop_req && r->done < r->target ? NNRUN_STOPPED : NNRUN_OK;
    }
    r->done = r->res.steps;
    if (rc < 0) {
        run_failed(r, rc);
        r->finished = 1; /* a failed run does not go on */
        return rc == -2 ? NNRUN_EOUTPUT : NNRUN_ERUN;
    }
    r->finished = 1;
    if (r->csv) fflush(r->csv);
    if (r->jsonl) fflush(r->jsonl);
    if (r->dir && nn_api_write_results(r) != 0) return NNRUN_EOUTPUT;
    return NNRUN_OK; /* the end: a stop asked at the final evaluation changes nothing */
}

int nn_api_write_results(nnrun_run *r)
{
    nn_run_info info = {r->threads, nn_k->isa};
    char *json = nn_summary_json(r->spec->s, r->ds, r->tr, &r->res, &info);
    const nn_stats *stats = nn_trainer_stats(r->tr);
    int rc = 0;
    if (!json || nn_rundir_write_results(r->dir, json, &r->res) != 0 ||
        (stats && nn_stats_write(stats, r->dir) != 0)) {
        nn_api_error(&r->err, "cannot write the results to '%s'", r->dir);
        rc = -1;
    } else if (nn_report_render(r->dir, r->err.d) != 0) {
        rc = -1;
    }
    free(json);
    return rc;
}
