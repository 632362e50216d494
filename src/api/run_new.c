/* run_new.c — building a run: its data and model (nn_api_run_build), then its outputs —
 * a run directory with run control (nn_api_run_attach_dir), or metrics in a temporary
 * file.  nnrun_run_new takes these steps for a library caller; `nnrun run` (cmd_run.c)
 * takes the same ones with its own directory (--resume's, a sweep cell's) and run control
 * (--stop-after, --dump-step, an extended run), so the command is a run of this API. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api/api_int.h"
#include "runtime/report/stats.h"
#include "runtime/store/rundir.h"
#include "runtime/train/hooks.h"

nnrun_run *nn_api_run_build(nnrun_spec *spec, const nn_api_build *b, nnrun_errors **err)
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
    if (b->context) nn_diag_context(r->err.d, b->context);
    if (b->kernels_chosen) nn_api_kernels_chosen();
    r->threads = nn_api_init_kernels(b->threads);
    r->spec = spec;
    r->spec->refs++;
    r->beta_pow = 1;
    nn_diag *d = r->err.d;
    if (!(r->ds = nn_dataset_load(spec->s, d)) || !(r->tr = nn_trainer_new(spec->s, r->ds, d)))
        goto fail;
    nn_trainer_set_nan_check(r->tr, b->nan_check);
    /* with a run directory, the report's statistics ride on the loop */
    if ((b->stats && nn_stats_attach(r->tr, d) != 0) || nn_api_attach_hooks(r) != 0) goto fail;
    r->o.quiet = b->progress == NULL;
    r->o.progress = b->progress;
    r->res.step0 = r->res.last = NAN;
    r->probe_stale = 1;
    if (b->context) nn_diag_context(r->err.d, NULL);
    return r;
fail:
    if (!nn_diag_count(r->err.d)) nn_api_error(&r->err, "out of memory");
    if (err) *err = nn_api_errors_take(&r->err);
    nnrun_run_free(r);
    return NULL;
}

int nn_api_run_attach_dir(nnrun_run *r, char *dir, int resume, const nn_runctl_ext *ext,
                          long stop_after)
{
    const nn_spec *spec = r->spec->s;
    nn_diag *d = r->err.d;
    r->dir = dir;
    r->ctl = ext ? nn_runctl_new_extended(r->tr, dir, ext, stop_after, d)
                 : nn_runctl_new(r->tr, dir, resume, stop_after, d);
    if (!r->ctl) return -1;
    /* (an extended run's spec is written with its first checkpoint: runctl.c) */
    if (!ext && nn_rundir_write_resolved(dir, spec) != 0) {
        nn_api_error(&r->err, "cannot write '%s/spec.resolved.yaml'", dir);
        return -1;
    }
    /* nn_runctl_open_metrics prints why it failed */
    if (!(r->csv = nn_runctl_open_metrics(r->ctl, "metrics.csv")) ||
        !(r->jsonl = nn_runctl_open_metrics(r->ctl, "metrics.jsonl")))
        return -2;
    size_t n = strlen(dir) + 16;
    if (!(r->csv_path = malloc(n))) return -1;
    snprintf(r->csv_path, n, "%s/metrics.csv", dir);
    r->o.metrics_csv = r->csv;
    r->o.metrics_jsonl = r->jsonl;
    return 0;
}

/* Without a run directory the metrics go to a temporary file, unlinked at once and read
 * back through /proc/self/fd: nothing is left behind. */
static int open_temporary_metrics(nnrun_run *r)
{
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
    unlink(r->csv_path);
    snprintf(r->csv_path, n, "/proc/self/fd/%d", fd);
    r->o.metrics_csv = r->csv;
    return 0;
}

nnrun_run *nnrun_run_new(const nnrun_spec *spec, const nnrun_run_opts *opts, nnrun_errors **err)
{
    int with_dir = opts && opts->out;
    nn_api_build b = {.threads = opts ? opts->threads : 0,
                      .stats = with_dir,
                      .nan_check = 1,
                      .progress = opts && opts->progress ? stderr : NULL};
    nnrun_run *r = nn_api_run_build((nnrun_spec *)spec, &b, err);
    if (!r) return NULL;
    int rc;
    if (with_dir) {
        const nn_spec *s = r->spec->s;
        nn_mark at = {*opts->out ? "out" : s->path, 1, 1};
        char *dir =
            nn_rundir_create(s->name, *opts->out ? opts->out : NULL, opts->force, at, r->err.d);
        rc = dir ? nn_api_run_attach_dir(r, dir, 0, NULL, 0) : -1;
        if (rc != 0 && dir && !nn_diag_count(r->err.d))
            nn_api_error(&r->err, "cannot write the run directory '%s'", dir);
    } else {
        rc = open_temporary_metrics(r);
    }
    if (rc == 0) return r;
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
    free(r->summary);
    free(r->dir);
    free(r);
}
