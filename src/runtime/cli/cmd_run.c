/* cmd_run.c — a run: the spec's model trained, evaluated and sampled into its run
 * directory (spec.resolved.yaml, metrics, summary.json, samples, report.html, checkpoints),
 * as a run of the C API (src/api/api_cmd.h: built as nnrun_run_new builds one, in the
 * directory the command claims, trained by nnrun_train); and the spec → data → model
 * opening every other subcommand with a spec shares. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api/api_cmd.h"
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

/* The spec: --set, a sweep cell's matrix point, --resume DIR --steps N's extension, and a
 * stored spec's plugins only with --allow-plugins.  Errors carry the matrix point. */
static int open_spec(const nn_cli *c, nn_cli_model *m, nn_diag *d)
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
        refuse_stored_plugins(c, m->spec, d) != 0) {
        nn_cli_model_close(m);
        return -1;
    }
    return 0;
}

int nn_cli_model_open(const nn_cli *c, nn_cli_model *m, nn_diag *d)
{
    if (open_spec(c, m, d) != 0) return -1;
    if (!(m->ds = nn_dataset_load(m->spec, d)) || !(m->tr = nn_trainer_new(m->spec, m->ds, d))) {
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

/* The run as the C API builds it (api_cmd.h), in the directory claim_run_dir chose, with
 * run control; NULL after printing why (*status: the exit code). */
static nnrun_run *open_run(const nn_cli *c, nn_cli_model *m, FILE *progress, int *status,
                           nn_diag *d)
{
    nn_spec *spec = m->spec;
    char ctx[1024];
    if (c->point_label) snprintf(ctx, sizeof ctx, "matrix point %s", c->point_label);
    nn_api_build b = {.threads = c->threads,
                      .kernels_chosen = 1,
                      .stats = 1,
                      .nan_check = !c->no_nan_check,
                      .progress = c->quiet ? NULL : progress,
                      .context = c->point_label ? ctx : NULL};
    nnrun_spec *hs = nn_api_spec_adopt(spec);
    m->spec = NULL; /* the handle owns it */
    nnrun_errors *err = NULL;
    nnrun_run *r = hs ? nn_api_run_build(hs, &b, &err) : NULL;
    nnrun_spec_free(hs); /* the run holds its own reference */
    *status = NN_EXIT_INPUT;
    if (!r) {
        if (err) nn_diag_print(nn_api_errors_diag(err), stderr);
        nnrun_errors_free(err);
        if (!hs || !err) *status = NN_EXIT_RUN; /* out of memory */
        return NULL;
    }
    nn_trainer *tr = nn_api_run_trainer(r);
    if (c->dump_step >= 0 && (nn_trainer_ngram(tr) || c->dump_step >= spec->train.steps)) {
        fprintf(stderr, "nnrun: error: --dump-step %ld is no training step of this run (%s)\n",
                c->dump_step,
                nn_trainer_ngram(tr) ? "the counting model takes none" : "they are 0 to steps - 1");
        nnrun_run_free(r);
        return NULL;
    }
    int resume = 0;
    nn_mark at = {c->out ? "--out" : spec->path, 1, 1};
    char *dir = claim_run_dir(c, spec, at, &resume, d);
    int rc =
        dir ? nn_api_run_attach_dir(r, dir, resume, m->extended ? &m->ext : NULL, c->stop_after)
            : -1;
    if (rc != 0) {
        if (!dir)
            nn_diag_print(d, stderr);
        else if (rc == -1)
            nn_diag_print(nn_api_run_diag(r), stderr);
        nnrun_run_free(r);
        return NULL;
    }
    if (c->dump_step >= 0) nn_runctl_dump_at(nn_api_run_control(r), c->dump_step);
    return r;
}

/* Why a run that failed stopped (status −1 or −2). */
static void print_failure(const nn_cli *c, nnrun_run *r, const nn_spec *spec, const char *dir)
{
    char pt[1100];
    const nn_result *res = nn_api_run_result(r);
    const char *pf = nn_plugins_failure(nn_trainer_plugins(nn_api_run_trainer(r)));
    if (nn_api_run_status(r) == -2) /* the output filled up: what was written stays */
        fprintf(stderr,
                "nnrun: error: the run stopped at step %ld%s: its output could not be "
                "written (spec.resolved.yaml and metrics up to there are in '%s')\n",
                res->steps, point_of(c, pt, sizeof pt), dir);
    else if (pf)
        fprintf(stderr, "%s at step %ld%s; stopped (the steps before it are in %s)\n", pf,
                res->steps, point_of(c, pt, sizeof pt), dir);
    else if (res->nan) /* the API's error: the diagnosis at the spec's lines */
        nn_diag_print(nn_api_run_diag(r), stderr);
    else
        fprintf(stderr, "%s: error: the run stopped at step %ld%s (out of memory)\n", spec->path,
                res->steps, point_of(c, pt, sizeof pt));
}

/* Trains, evaluates, samples, and writes the run directory: a run of the C API. */
static int run_experiment(const nn_cli *c, nn_cli_model *m, nn_diag *d)
{
    FILE *progress = c->json ? stderr : stdout;
    int status;
    nnrun_run *r = open_run(c, m, progress, &status, d);
    if (!r) return status;
    const nn_spec *spec = nn_trainer_spec(nn_api_run_trainer(r));
    const char *dir = nnrun_run_dir(r);
    char pt[1100];
    if (!c->quiet)
        print_data(progress, nn_api_run_data(r), nn_trainer_params(nn_api_run_trainer(r))->count);
    if (!c->quiet && m->extended)
        fprintf(progress,
                "training further: from the checkpoint at step %ld to step %ld (the run "
                "had train.steps %ld)\n",
                m->ext.step, spec->train.steps, m->ext.old_steps);
    nn_runctl_catch_signals();
    int api = nnrun_train(r, 0, NULL, NULL);
    int rc = nn_api_run_status(r), sig = nn_runctl_signal();
    const nn_result *res = nn_api_run_result(r);
    if (rc < 0) print_failure(c, r, spec, dir);
    if (rc == -2) {
        nnrun_run_free(r);
        return NN_EXIT_RUN;
    }
    status = rc < 0 ? NN_EXIT_RUN : NN_EXIT_OK;
    if (api == NNRUN_EOUTPUT) { /* the results or the report could not be written */
        nn_diag_print(nn_api_run_diag(r), stderr);
        status = NN_EXIT_RUN;
    }
    if (!c->quiet && rc == 1)
        fprintf(progress,
                "stopped after step %ld (checkpoint written); continue with --resume %s\n",
                res->steps, dir);
    if (!c->quiet && rc == 0) print_result(progress, res, dir);
    char why[400];
    if (rc == 0 && nn_run_diverged(spec, nn_api_run_data(r), res, why, sizeof why))
        fprintf(stderr, "%s: warning: %s%s\n", spec->path, why, point_of(c, pt, sizeof pt));
    if (!c->quiet && rc < 0) fprintf(progress, "run directory: %s\n", dir);
    if (c->json && nn_api_run_summary(r)) print_summary_json(nn_api_run_summary(r), dir);
    nnrun_run_free(r);
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
    int rc = open_spec(c, &m, d) != 0 ? nn_cli_fail_input(d) : run_experiment(c, &m, d);
    nn_cli_model_close(&m);
    nn_diag_free(d);
    return rc;
}
