/* sweep_sbatch.c — `nnrun sweep SPEC --emit-sbatch`: a Slurm job-array script, one array
 * task per cell, each running `nnrun sweep SPEC --cell $SLURM_ARRAY_TASK_ID`.  Paths are
 * made absolute so the script runs from any directory of a shared file system. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "runtime/sweep/sweep.h"

/* Writes s single-quoted for the shell. */
static void shq(FILE *f, const char *s)
{
    fputc('\'', f);
    for (; *s; s++)
        if (*s == '\'')
            fputs("'\\''", f);
        else
            fputc(*s, f);
    fputc('\'', f);
}

int nn_sweep_emit_sbatch(const nn_sweep_opts *o, const char *name, const char *dir, int ncells,
                         FILE *out)
{
    char exe[PATH_MAX], spec[PATH_MAX], base[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0 || !realpath(o->spec, spec) || !realpath(dir, base)) {
        fprintf(stderr, "nnrun: error: cannot resolve the paths of the binary, spec or '%s'\n",
                dir);
        return 2;
    }
    exe[n] = 0;
    /* --threads given to the sweep is every cell's, and the task's CPUs unless --cpus */
    int cpus = o->cpus > 0 ? o->cpus : o->threads > 0 ? o->threads : 1;
    int threads = o->threads > 0 ? o->threads : cpus > 16 ? 16 : cpus;
    fprintf(out, "#!/bin/sh\n");
    fprintf(out, "# nnrun sweep %s: %d cells as a Slurm job array (submit with sbatch)\n", name,
            ncells);
    fprintf(out, "#SBATCH --job-name=nnrun-%s\n", name);
    fprintf(out, "#SBATCH --array=0-%d\n", ncells - 1);
    fprintf(out, "#SBATCH --cpus-per-task=%d\n", cpus);
    fprintf(out, "#SBATCH --output=%s/slurm-%%A_%%a.out\n", base);
    if (o->partition) fprintf(out, "#SBATCH --partition=%s\n", o->partition);
    if (o->time) fprintf(out, "#SBATCH --time=%s\n", o->time);
    fprintf(out, "exec ");
    shq(out, exe);
    fprintf(out, " sweep ");
    shq(out, spec);
    fprintf(out, " --cell \"$SLURM_ARRAY_TASK_ID\" --out ");
    shq(out, base);
    fprintf(out, " --threads %d", threads);
    for (int i = 0; i < o->nrun_args; i++) { /* --isa, --max-memory, --no-nan-check, ... */
        const char *a = o->run_args[i];
        fputc(' ', out);
        if (a[0] == '-' && a[strspn(a, "-abcdefghijklmnopqrstuvwxyz")] == 0)
            fputs(a, out); /* an option name: no quotes needed */
        else
            shq(out, a);
    }
    for (int i = 0; i < o->nsets; i++)
        fprintf(out, " --set "), shq(out, o->sets[i]);
    fprintf(out, "\n");
    return 0;
}
