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

static int selected; /* the kernels are chosen for this process */

void nn_api_kernels_chosen(void)
{
    selected = 1;
}

int nn_api_init_kernels(int threads)
{
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

int nn_api_attach_hooks(nnrun_run *r)
{
    return nn_trainer_attach(r->tr, &api_hooks, r);
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
/* Why a run failed (status −1), as an error of r. */
static void run_failed(nnrun_run *r)
{
    const char *pf = nn_plugins_failure(nn_trainer_plugins(r->tr));
    if (pf)
        nn_api_error(&r->err, "%s at step %ld", pf, r->res.steps);
    else if (r->res.nan)
        nn_nan_diag(r->res.nan, r->spec->s->path, r->err.d);
    else
        nn_api_error(&r->err, "the run stopped at step %ld (out of memory)", r->res.steps);
}

/* The end of a run with a directory: run control detached (its last checkpoint is
 * written) and the metrics files closed, a failed write (a full disk) making the status
 * −2 where the run had ended well. */
static int close_outputs(nnrun_run *r, int status)
{
    nn_runctl_free(r->ctl);
    r->ctl = NULL;
    int bad = nn_rundir_close_metrics(r->csv, r->dir, "metrics.csv", r->res.out_errno) |
              nn_rundir_close_metrics(r->jsonl, r->dir, "metrics.jsonl", r->res.out_errno);
    r->csv = r->jsonl = NULL;
    r->o.metrics_csv = r->o.metrics_jsonl = NULL;
    return bad && status == 0 ? -2 : status;
}

int nnrun_train(nnrun_run *r, long steps, nnrun_eval_fn eval, void *ctx)
{
    if (!r) return NNRUN_EINPUT;
    if (nn_api_errors_reset(&r->err) != 0) return NNRUN_ERUN;
    long total = r->spec->s->train.steps;
    if (r->ended) {
        if (r->finished)
            nn_api_error(&r->err,
                         "the run has trained its %ld steps (train.steps; load the spec "
                         "with a larger train.steps to train longer)",
                         total);
        else
            nn_api_error(&r->err, "the run stopped at step %ld and does not go on%s", r->done,
                         r->status == 1 ? " (continue it from its checkpoint: nnrun --resume)"
                                        : "");
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
    r->done = r->res.steps;
    /* stopped where this call ends, or where the callback asked: the run goes on later */
    int halted = rc == 1 && r->done < r->target && !r->stop_req; /* run control stopped it */
    if (rc == 1 && !halted) return r->stop_req && r->done < r->target ? NNRUN_STOPPED : NNRUN_OK;
    r->ended = 1; /* finished, failed, or halted (--stop-after, a signal) with a checkpoint */
    if (r->dir) rc = close_outputs(r, rc);
    r->status = rc;
    if (rc == -2) { /* what was written stays; nothing more is tried */
        nn_api_error(&r->err, "the run stopped at step %ld: its metrics could not be written",
                     r->res.steps);
        return NNRUN_EOUTPUT;
    }
    if (rc < 0) run_failed(r);
    r->finished = rc == 0;
    if (r->csv) fflush(r->csv);
    /* a failed or halted run still writes what it has: summary, samples, report */
    if (r->dir && nn_api_write_results(r, rc == 0) != 0) return NNRUN_EOUTPUT;
    return rc < 0 ? NNRUN_ERUN : rc == 1 ? NNRUN_STOPPED : NNRUN_OK;
}

int nn_api_write_results(nnrun_run *r, int stats)
{
    nn_run_info info = {r->threads, nn_k->isa};
    char *json = nn_summary_json(r->spec->s, r->ds, r->tr, &r->res, &info);
    const nn_stats *st = stats ? nn_trainer_stats(r->tr) : NULL; /* complete at the end only */
    int rc = 0;
    if (!json || nn_rundir_write_results(r->dir, json, &r->res) != 0 ||
        (st && nn_stats_write(st, r->dir) != 0)) {
        nn_api_error(&r->err, "cannot write the results to '%s'", r->dir);
        rc = -1;
    } else if (nn_report_render(r->dir, r->err.d) != 0) {
        rc = -1;
    }
    free(r->summary);
    r->summary = json;
    return rc;
}

/* --- what the nnrun command reads of a run (api_cmd.h) --------------------------------- */
nn_diag *nn_api_run_diag(nnrun_run *r)
{
    return r->err.d;
}
nn_trainer *nn_api_run_trainer(nnrun_run *r)
{
    return r->tr;
}
const nn_dataset *nn_api_run_data(const nnrun_run *r)
{
    return r->ds;
}
nn_runctl *nn_api_run_control(nnrun_run *r)
{
    return r->ctl;
}
const nn_result *nn_api_run_result(const nnrun_run *r)
{
    return &r->res;
}
int nn_api_run_status(const nnrun_run *r)
{
    return r->status;
}
const char *nn_api_run_summary(const nnrun_run *r)
{
    return r->summary;
}
