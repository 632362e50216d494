/* cmd_export.c — `nnrun export RUN_DIR --pytorch FILE`: the run's model as a standalone
 * PyTorch file.  Built on the C API (include/nnrun/nnrun.h), as a program using libnnrun
 * would be: the run's spec (spec.resolved.yaml) builds a run, nnrun_export_pytorch writes
 * the file, and the weights (model.safetensors, which the file's load() reads) are checked
 * to fit the model. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "nnrun/nnrun.h"
#include "runtime/cli/cli.h"

/* Prints a failed call's errors; returns the exit status for them. */
static int fail(const nnrun_errors *e, int rc)
{
    fputs(nnrun_errors_text(e), stderr);
    return rc == NNRUN_EINPUT ? NN_EXIT_INPUT : NN_EXIT_RUN;
}

int nn_cmd_export(nn_cli *c)
{
    char spec_path[4200], model[4200];
    snprintf(spec_path, sizeof spec_path, "%s/spec.resolved.yaml", c->spec);
    snprintf(model, sizeof model, "%s/model.safetensors", c->spec);
    const char *missing = access(spec_path, R_OK) ? spec_path : access(model, R_OK) ? model : NULL;
    if (missing) {
        fprintf(stderr,
                "nnrun: error: '%s' is no finished run directory: cannot read '%s' (export "
                "takes the directory 'nnrun run' wrote)\n",
                c->spec, missing);
        return NN_EXIT_INPUT;
    }
    nnrun_errors *err = NULL;
    nnrun_spec *spec = nnrun_spec_load(spec_path, NULL, 0, &err);
    if (!spec) {
        int rc = fail(err, NNRUN_EINPUT);
        nnrun_errors_free(err);
        return rc;
    }
    if (nnrun_spec_plugins(spec) > 0) { /* refused before building the run loads their code */
        fprintf(stderr,
                "%s: error: the model uses activation plugins: the PyTorch export cannot "
                "express a plugin's activation (a C function PyTorch cannot call)\n",
                spec_path);
        nnrun_spec_free(spec);
        return NN_EXIT_INPUT;
    }
    nnrun_run_opts o = {NULL, 0, 0, c->threads};
    nnrun_run *run = nnrun_run_new(spec, &o, &err);
    nnrun_spec_free(spec);
    int rc = NN_EXIT_OK;
    if (!run) {
        rc = fail(err, NNRUN_EINPUT);
        nnrun_errors_free(err);
        return rc;
    }
    /* the file holds no weights (its load() reads model.safetensors): written first, so a
     * model it cannot express is refused as such; then the weights are checked to fit */
    int st = nnrun_export_pytorch(run, c->pytorch);
    if (st == NNRUN_OK && (st = nnrun_load(run, model)) != NNRUN_OK) remove(c->pytorch);
    if (st != NNRUN_OK)
        rc = fail(nnrun_run_errors(run), st);
    else if (!c->quiet)
        printf("wrote %s: the model of %s as a PyTorch module (model = load(\"%s\"))\n", c->pytorch,
               c->spec, model);
    nnrun_run_free(run);
    return rc;
}
