/* cmd_run.c — a run: the spec's model trained, evaluated and sampled into its run
 * directory (spec.resolved.yaml, metrics, summary.json, samples, report.html, checkpoints);
 * and the spec → data → model opening every subcommand with a spec shares. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kernels/kernels.h"
#include "runtime/cli/cli.h"
#include "runtime/plugin/plugin.h"
#include "runtime/report/html.h"
#include "runtime/report/stats.h"
#include "runtime/report/summary.h"
#include "runtime/store/dirlock.h"
#include "runtime/store/rundir.h"
#include "runtime/train/nancheck.h"
#include "runtime/train/runctl.h"

/* `nnrun --resume RUN_DIR` runs the directory's stored spec: the libraries its `plugins:`
 * names are loaded (their code runs) only when the user says so, as for sample. */
static int refuse_stored_plugins(const nn_cli *c, const nn_spec *spec, nn_diag *d)
{
    if (!c->spec_from_run || spec->nplugins == 0 || c->allow_plugins) return 0;
    nn_diag_error(d, spec->plugins[0].mark,
                  "the stored spec of this run loads the plugin '%s' (its code would run); "
                  "resume with --allow-plugins if you trust it, or name the spec: nnrun "
                  "SPEC.yaml --resume RUN_DIR",
                  spec->plugins[0].name);
    return -1;
}

int nn_cli_model_open(const nn_cli *c, nn_cli_model *m, nn_diag *d)
{
    memset(m, 0, sizeof *m);
    if (c->point_label) {
        char ctx[1024];
        snprintf(ctx, sizeof ctx, "matrix point %s", c->point_label);
        nn_diag_context(d, ctx);
    }
    m->extended = c->resume && c->steps > 0; /* run --resume DIR --steps N */
    if (!(m->spec = c->point ? nn_spec_load_point(c->spec, c->sets, c->nsets, c->point - 1, d)
                             : nn_spec_load(c->spec, c->sets, c->nsets, d)) ||
        (m->extended && nn_runctl_extend_spec(c->resume, m->spec, c->steps, &m->ext, d) != 0) ||
        refuse_stored_plugins(c, m->spec, d) != 0 || !(m->ds = nn_dataset_load(m->spec, d)) ||
        !(m->tr = nn_trainer_new(m->spec, m->ds, d))) {
        nn_cli_model_close(m);
        return -1;
    }
    nn_trainer_set_nan_check(m->tr, !c->no_nan_check);
    if (nn_stats_attach(m->tr, d) != 0) { /* the report's statistics ride on the loop */
        nn_cli_model_close(m);
        return -1;
    }
    return 0;
}

void nn_cli_model_close(nn_cli_model *m)
{
    nn_trainer_free(m->tr);
    nn_dataset_free(m->ds);
    nn_spec_free(m->spec);
    memset(m, 0, sizeof *m);
}

static void print_data(FILE *f, const nn_dataset *ds, long params)
{
    /* text has a vocabulary; a table's class labels are classes (none for regression) */
    char what[64] = "";
    if (ds->kind == NN_DATASET_TEXT)
        snprintf(what, sizeof what, ", vocabulary %d", ds->vocab);
    else if (ds->vocab > 1)
        snprintf(what, sizeof what, ", %d classes", ds->vocab);
    fprintf(f, "data: %ld items (%ld dropped)%s, examples train %ld / dev %ld / test %ld\n",
            ds->lines - ds->dropped, ds->dropped, what, ds->split[0].n, ds->split[1].n,
            ds->split[2].n);
    fprintf(f, "model: %ld parameters, kernels %s\n", params, nn_k->isa);
}

static void print_result(FILE *f, const nn_result *r, const char *dir)
{
    static const char *names[NN_SPLIT_COUNT] = {"train", "dev", "test"};
    fprintf(f, "final:");
    for (int s = 0; s < NN_SPLIT_COUNT; s++)
        if (r->have_split[s]) fprintf(f, "  %s %.4f", names[s], r->split[s]);
    for (int s = 0; s < NN_SPLIT_COUNT && r->have_accuracy; s++)
        if (r->have_split[s]) fprintf(f, "  %s accuracy %.1f%%", names[s], 100 * r->accuracy[s]);
    fprintf(f, "  (%ld steps, %.1f s, %.0f steps/s)\n", r->steps, r->wall_seconds,
            r->train_seconds > 0 ? (double)(r->steps - r->first_step) / r->train_seconds : 0.0);
    if (r->nsamples) fprintf(f, "samples:\n");
    for (int i = 0; i < r->nsamples; i++)
        fprintf(f, "  %s\n", r->samples[i]);
    fprintf(f, "run directory: %s\n", dir);
}

/* --json: summary.json with the run directory added, on stdout. */
static void print_summary_json(const char *summary, const char *dir)
{
    json_t *j = json_loads(summary, 0, NULL);
    if (j) json_object_set_new(j, "run_dir", json_string(dir));
    char *text = j ? json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
    printf("%s\n", text ? text : summary);
    free(text);
    json_decref(j);
}

/* " (matrix point LABEL)" for a sweep cell's messages, or "". */
static const char *point_of(const nn_cli *c, char *buf, size_t len)
{
    if (!c->point_label) return "";
    snprintf(buf, len, " (matrix point %s)", c->point_label);
    return buf;
}

/* The run directory, locked for this process (dirlock.h): --resume's, a new one, or — for
 * a sweep cell stopped earlier — the cell's, continued from its checkpoint (*resume set). */
static char *claim_run_dir(const nn_cli *c, const nn_spec *spec, nn_mark at, int *resume,
                           nn_diag *d)
{
    const char *cont = c->resume;
    long step = 0;
    if (!cont && c->point && nn_runctl_checkpoint_step(c->out, spec, &step) == 0) cont = c->out;
    *resume = cont != NULL;
    if (!cont) return nn_rundir_create(spec->name, c->out, c->force, at, d);
    /* (no directory, no checkpoint: nn_runctl_new says so) */
    if (access(cont, F_OK) == 0 && nn_dirlock_claim(cont, 0, "run directory", at, d) != 0)
        return NULL;
    if (!c->resume)
        fprintf(stderr, "nnrun: matrix point %s continues from its checkpoint at step %ld\n",
                c->point_label ? c->point_label : "?", step);
    return strdup(cont);
}

/* Trains, evaluates, samples, and writes the run directory. */
static int run_experiment(const nn_cli *c, const nn_cli_model *m, nn_diag *d)
{
    const nn_spec *spec = m->spec;
    const nn_dataset *ds = m->ds;
    nn_trainer *tr = m->tr;
    nn_mark at = {c->out ? "--out" : spec->path, 1, 1};
    char pt[1100];
    if (c->dump_step >= 0 && (nn_trainer_ngram(tr) || c->dump_step >= spec->train.steps)) {
        fprintf(stderr, "nnrun: error: --dump-step %ld is no training step of this run (%s)\n",
                c->dump_step,
                nn_trainer_ngram(tr) ? "the counting model takes none" : "they are 0 to steps - 1");
        return NN_EXIT_INPUT;
    }
    int resume = 0;
    char *dir = claim_run_dir(c, spec, at, &resume, d);
    if (!dir) return nn_cli_fail_input(d);
    nn_runctl *ctl = m->extended ? nn_runctl_new_extended(tr, dir, &m->ext, c->stop_after, d)
                                 : nn_runctl_new(tr, dir, resume, c->stop_after, d);
    if (!ctl) {
        free(dir);
        return nn_cli_fail_input(d);
    }
    nn_run_opts o;
    memset(&o, 0, sizeof o);
    /* (an extended run's spec is written with its first checkpoint: runctl.c) */
    if ((!m->extended && nn_rundir_write_resolved(dir, spec) != 0) ||
        !(o.metrics_csv = nn_runctl_open_metrics(ctl, "metrics.csv")) ||
        !(o.metrics_jsonl = nn_runctl_open_metrics(ctl, "metrics.jsonl"))) {
        if (o.metrics_csv) fclose(o.metrics_csv); /* the message is nn_runctl_open_metrics' */
        nn_runctl_free(ctl);
        free(dir);
        return NN_EXIT_INPUT;
    }
    FILE *progress = c->json ? stderr : stdout;
    if (!c->quiet) print_data(progress, ds, nn_trainer_params(tr)->count);
    if (!c->quiet && m->extended)
        fprintf(progress, "training further: from the checkpoint at step %ld to step %ld (the run "
                          "had train.steps %ld)\n",
                m->ext.step, spec->train.steps, m->ext.old_steps);
    o.quiet = c->quiet;
    o.progress = progress;
    if (c->dump_step >= 0) nn_runctl_dump_at(ctl, c->dump_step);
    nn_runctl_catch_signals();
    nn_result r;
    memset(&r, 0, sizeof r);
    int rc = nn_trainer_run(tr, &o, &r);
    nn_runctl_free(ctl);
    if ((nn_rundir_close_metrics(o.metrics_csv, dir, "metrics.csv", r.out_errno) |
         nn_rundir_close_metrics(o.metrics_jsonl, dir, "metrics.jsonl", r.out_errno)) &&
        rc == 0)
        rc = -2;
    int stopped = rc == 1, sig = nn_runctl_signal();
    if (rc == -2) { /* the output filled up: what was written stays, nothing more is tried */
        fprintf(stderr,
                "nnrun: error: the run stopped at step %ld%s: its output could not be "
                "written (spec.resolved.yaml and metrics up to there are in '%s')\n",
                r.steps, point_of(c, pt, sizeof pt), dir);
        nn_result_free(&r);
        free(dir);
        return NN_EXIT_RUN;
    }
    /* a stopped run (a non-finite loss or gradient, a plugin's NaN) still writes what it
     * has: the metrics so far, the summary and the report; then exit 1 */
    if (rc < 0 && nn_plugins_failure(nn_trainer_plugins(tr))) {
        fprintf(stderr, "%s at step %ld%s; stopped (the steps before it are in %s)\n",
                nn_plugins_failure(nn_trainer_plugins(tr)), r.steps, point_of(c, pt, sizeof pt),
                dir);
    } else if (rc < 0 && r.nan) {
        nn_nan_diag(r.nan, spec->path, d); /* d holds no error: the spec and data were good */
        nn_diag_print(d, stderr);
    } else if (rc < 0) {
        fprintf(stderr, "%s: error: the run stopped at step %ld%s (out of memory)\n", spec->path,
                r.steps, point_of(c, pt, sizeof pt));
    }
    nn_run_info info = {c->threads, nn_k->isa};
    char *json = nn_summary_json(spec, ds, tr, &r, &info);
    int status = rc < 0 ? NN_EXIT_RUN : NN_EXIT_OK;
    const nn_stats *stats = rc != 0 ? NULL : nn_trainer_stats(tr); /* complete at the end only */
    if (!json || nn_rundir_write_results(dir, json, &r) != 0 ||
        (stats && nn_stats_write(stats, dir) != 0)) {
        fprintf(stderr, "nnrun: error: cannot write the results to '%s'\n", dir);
        status = NN_EXIT_RUN;
    } else if (nn_report_render(dir, d) != 0) {
        nn_diag_print(d, stderr);
        status = NN_EXIT_RUN;
    }
    if (!c->quiet && stopped)
        fprintf(progress,
                "stopped after step %ld (checkpoint written); continue with --resume %s\n", r.steps,
                dir);
    if (!c->quiet && rc == 0) print_result(progress, &r, dir);
    char why[400];
    if (rc == 0 && nn_run_diverged(spec, ds, &r, why, sizeof why)) /* even with --quiet */
        fprintf(stderr, "%s: warning: %s%s\n", spec->path, why, point_of(c, pt, sizeof pt));
    if (!c->quiet && rc < 0) fprintf(progress, "run directory: %s\n", dir);
    if (c->json && json) print_summary_json(json, dir);
    free(json);
    nn_result_free(&r);
    free(dir);
    return status == NN_EXIT_OK && sig ? 128 + sig : status;
}

int nn_cmd_run(nn_cli *c)
{
    nn_diag *d = nn_diag_new();
    if (!d) return NN_EXIT_RUN;
    nn_cli_model m;
    if (c->spec_from_run && access(c->spec, R_OK) != 0) {
        fprintf(stderr,
                "%s: error: not a run directory: cannot read '%s' (%s); resume with the spec: "
                "nnrun SPEC.yaml --resume %s\n",
                c->resume, c->spec, strerror(errno), c->resume);
        nn_diag_free(d);
        return NN_EXIT_INPUT;
    }
    int rc = nn_cli_model_open(c, &m, d) != 0 ? nn_cli_fail_input(d) : run_experiment(c, &m, d);
    nn_cli_model_close(&m);
    nn_diag_free(d);
    return rc;
}
