/* cmd_sweep.c — `nnrun sweep`: the sweep subsystem (runtime/sweep) picks and runs the
 * cells; a cell run in this process is the run path (cmd_run.c) with the cell's point and
 * directory.  Worker processes and --emit-sbatch scripts get the run options the sweep was
 * given (c->fwd: --isa, --max-memory, --no-nan-check, ...), so a cell runs as it would here. */
#include "runtime/cli/cli.h"

/* One cell (sweep.c calls it): the run path with the cell's point and dir. */
static int sweep_cell(void *ctx, int point, const char *label, const char *dir)
{
    nn_cli c = *(const nn_cli *)ctx;
    c.cmd = "run";
    c.out = dir;
    c.force = 1; /* the cell directory may hold an interrupted attempt */
    c.point = point + 1;
    c.point_label = label;
    return nn_cmd_run(&c);
}

int nn_cmd_sweep(nn_cli *c)
{
    c->sw.spec = c->spec;
    c->sw.sets = c->sets;
    c->sw.nsets = c->nsets;
    c->sw.out = c->out;
    c->sw.threads = c->threads_given ? c->threads : 0;
    c->sw.quiet = c->quiet;
    c->sw.run_args = c->fwd;
    c->sw.nrun_args = c->nfwd;
    c->quiet = 1; /* a cell's own progress stays in its directory */
    return nn_sweep_run(&c->sw, sweep_cell, c);
}
