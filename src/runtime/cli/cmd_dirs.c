/* cmd_dirs.c — the subcommands that read what runs left, with no spec: report (a run
 * directory's report.html again), summarize (a sweep directory's tables), sample (items
 * from a trained model file), compare (runs side by side in one page). */
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runtime/cli/cli.h"
#include "runtime/report/html.h"
#include "runtime/store/dirlock.h"
#include "runtime/train/model_file.h"

/* `nnrun report RUN_DIR`: re-renders report.html from the run directory's files. */
int nn_cmd_report(nn_cli *c)
{
    char summary[4200];
    snprintf(summary, sizeof summary, "%s/summary.json", c->spec);
    if (access(summary, R_OK) != 0) {
        fprintf(stderr, "%s: error: not a run directory (no readable summary.json)\n", c->spec);
        return NN_EXIT_INPUT;
    }
    nn_diag *d = nn_diag_new();
    if (!d) return NN_EXIT_RUN;
    if (nn_dirlock_claim(c->spec, 0, "run directory", (nn_mark){c->spec, 0, 0}, d) != 0) {
        nn_diag_print(d, stderr); /* a run still writing it renders its own report */
        nn_diag_free(d);
        return NN_EXIT_INPUT;
    }
    int rc = nn_report_render(c->spec, d) == 0 ? NN_EXIT_OK : NN_EXIT_INPUT;
    if (rc == NN_EXIT_OK)
        printf("%s/report.html\n", c->spec);
    else
        nn_diag_print(d, stderr);
    nn_diag_free(d);
    return rc;
}

/* `nnrun summarize SWEEP_DIR [--json]`. */
int nn_cmd_summarize(nn_cli *c)
{
    return nn_sweep_summarize(c->spec, stdout, c->json, c->color_by);
}

/* `nnrun sample RUN_DIR|FILE`: items from a trained model, no spec file. */
int nn_cmd_sample(nn_cli *c)
{
    nn_diag *d = nn_diag_new();
    nn_model_file m;
    if (!d) return NN_EXIT_RUN;
    if (nn_model_file_load(c->spec, c->prefix, c->allow_plugins, &m, d) != 0) {
        int rc = nn_cli_fail_input(d);
        nn_diag_free(d);
        return rc;
    }
    if (m.ds->kind != NN_DATASET_TEXT) {
        fprintf(stderr,
                "%s: error: the model was trained on table data: sampling draws text (its "
                "predictions on new rows: nnrun predict RUN_DIR ROWS.csv)\n",
                c->spec);
        nn_model_file_free(&m);
        nn_diag_free(d);
        return NN_EXIT_INPUT;
    }
    const nn_sample_spec *ss = &m.spec->sample;
    int count = c->count ? c->count : ss->count > 0 ? ss->count : 20;
    char **items =
        nn_trainer_sample(m.tr, count, c->has_seed ? c->seed : ss->seed,
                          c->temperature > 0 ? c->temperature : ss->temperature, ss->max_len);
    int rc = items ? NN_EXIT_OK : NN_EXIT_RUN;
    for (int i = 0; items && i < count; i++) {
        printf("%s\n", items[i]);
        free(items[i]);
    }
    free(items);
    nn_model_file_free(&m);
    nn_diag_free(d);
    return rc;
}

/* `nnrun compare RUN_DIR RUN_DIR... [--out FILE]`: one page with the runs side by side.
 * One run is refused: there is nothing to compare it with (its report.html shows it). */
int nn_cmd_compare(nn_cli *c)
{
    if (c->noperands < 2) {
        fprintf(stderr,
                "nnrun: error: compare needs two or more run directories, got %d (e.g. nnrun "
                "compare runs/a runs/b); one run's page is its report.html\n",
                c->noperands);
        return NN_EXIT_INPUT;
    }
    for (int i = 0; i < c->noperands; i++) {
        char summary[4200];
        snprintf(summary, sizeof summary, "%s/summary.json", c->operands[i]);
        if (access(summary, R_OK) != 0) {
            snprintf(summary, sizeof summary, "%s/sweep.json", c->operands[i]);
            int sweep = access(summary, F_OK) == 0;
            fprintf(stderr, "%s: error: not a run directory (no readable summary.json)%s%s%s\n",
                    c->operands[i],
                    sweep ? "; a sweep directory: its cells are runs (nnrun compare " : "",
                    sweep ? c->operands[i] : "", sweep ? "/*/)" : "");
            return NN_EXIT_INPUT;
        }
    }
    const char *out = c->out ? c->out : "compare.html";
    struct stat st;
    if (stat(out, &st) == 0 && S_ISDIR(st.st_mode)) {
        fprintf(stderr,
                "nnrun: error: --out '%s' is a directory: give the page's file name (e.g. "
                "%s/compare.html)\n",
                out, out);
        return NN_EXIT_INPUT;
    }
    nn_diag *d = nn_diag_new();
    if (!d) return NN_EXIT_RUN;
    int rc = nn_report_compare(c->operands, c->noperands, out, d) == 0 ? NN_EXIT_OK : NN_EXIT_INPUT;
    if (rc == NN_EXIT_OK)
        printf("%s\n", out);
    else
        nn_diag_print(d, stderr);
    nn_diag_free(d);
    return rc;
}
