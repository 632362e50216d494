/* nnrun.c — the command line: a table of subcommands, a table of options saying which
 * subcommands take each, and the dispatch.  What a subcommand does is in runtime/cli/.
 *
 * An option a subcommand does not take is a usage error naming the subcommands that take
 * it: nothing given on the command line is silently ignored.
 *
 * Exit codes (DESIGN.md): 0 done; 2 anything wrong found before training starts (usage,
 * spec, data file, output directory); 1 a failure during the run.
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "kernels/kernels.h"
#include "runtime/cli/cli.h"
#include "runtime/exec/limits.h"

/* --- the subcommands ---------------------------------------------------------------- */

enum {
    RUN = 1 << 0,
    CHECK = 1 << 1,
    GRAPH = 1 << 2,
    BENCH = 1 << 3,
    GRADCHECK = 1 << 4,
    REPORT = 1 << 5,
    SWEEP = 1 << 6,
    SUMMARIZE = 1 << 7,
    SAMPLE = 1 << 8,
    EXPORT = 1 << 9,
    PREDICT = 1 << 10,
    COMPARE = 1 << 11,
    ALL = (1 << 12) - 1,
    SPECS = RUN | CHECK | GRAPH | BENCH | GRADCHECK | SWEEP, /* those that read a spec */
};

typedef struct {
    const char *name;
    unsigned bit;
    const char *operand; /* what the one positional argument is */
    int (*fn)(nn_cli *c);
    const char *what; /* for --help */
} subcommand;

static const subcommand CMDS[] = {
    {"run", RUN, "SPEC.yaml", nn_cmd_run,
     "train, evaluate and sample into a run directory ('run' may be left out)"},
    {"check", CHECK, "SPEC.yaml", nn_cmd_check,
     "validate the spec, data and model (every cell of a matrix); exit 0 or 2"},
    {"graph", GRAPH, "SPEC.yaml", nn_cmd_graph,
     "the IR graph as text, --json, graphviz --dot, or the lowered --plan"},
    {"bench", BENCH, "SPEC.yaml", nn_cmd_bench, "training-step throughput, one JSON line"},
    {"gradcheck", GRADCHECK, "SPEC.yaml", nn_cmd_gradcheck,
     "analytic gradients vs central differences on 8 examples; exit 1 above the tolerance"},
    {"report", REPORT, "RUN_DIR", nn_cmd_report, "re-render RUN_DIR/report.html from its files"},
    {"sweep", SWEEP, "SPEC.yaml", nn_cmd_sweep,
     "run every cell of the spec's matrix not yet DONE, in worker processes"},
    {"summarize", SUMMARIZE, "SWEEP_DIR", nn_cmd_summarize,
     "summary.csv and report.html of a sweep's DONE cells"},
    {"sample", SAMPLE, "RUN_DIR|FILE.safetensors", nn_cmd_sample,
     "draw items from a trained model (no spec)"},
    {"export", EXPORT, "RUN_DIR", nn_cmd_export,
     "write the run's model as a standalone PyTorch file (--pytorch FILE)"},
    {"predict", PREDICT, "RUN_DIR INPUT", nn_cmd_predict,
     "the trained model on new inputs: CSV rows (table data) or text prefixes, one line "
     "each (INPUT - reads stdin)"},
    {"compare", COMPARE, "RUN_DIR RUN_DIR...", nn_cmd_compare,
     "two or more runs side by side in one page: loss (and accuracy) curves, results, spec "
     "differences (--out FILE, default compare.html)"},
};
enum { NCMDS = sizeof CMDS / sizeof *CMDS };

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int usage_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "nnrun: error: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\nTry 'nnrun --help'.\n");
    va_end(ap);
    return -1;
}

/* --- option values ------------------------------------------------------------------ */

/* A whole number in [lo, hi], or −1. */
static long whole(const char *s, long lo, long hi)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    return !*s || *end || errno || v < lo || v > hi ? -1 : v;
}

/* Each setter stores its option's value, or says what is wrong and returns −1. */
typedef int (*setter)(nn_cli *c, const char *arg);

static int o_set(nn_cli *c, const char *a)
{
    if (!strchr(a, '=')) return usage_error("--set expects KEY=VALUE, got '%s'", a);
    c->sets[c->nsets++] = a;
    return 0;
}
static int o_out(nn_cli *c, const char *a) { return c->out = a, 0; }
static int o_color_by(nn_cli *c, const char *a) { return c->color_by = a, 0; }
static int o_force(nn_cli *c, const char *a) { return (void)a, c->force = 1, 0; }
static int o_threads(nn_cli *c, const char *a)
{
    long v = whole(a, 1, 16);
    if (v < 0) return usage_error("--threads expects a whole number from 1 to 16, got '%s'", a);
    return c->threads = (int)v, c->threads_given = 1, 0;
}
static int o_isa(nn_cli *c, const char *a) { return c->isa = a, 0; }
static int o_quiet(nn_cli *c, const char *a) { return (void)a, c->quiet = 1, 0; }
static int o_json(nn_cli *c, const char *a) { return (void)a, c->json = 1, 0; }
static int o_dot(nn_cli *c, const char *a) { return (void)a, c->dot = 1, 0; }
static int o_values(nn_cli *c, const char *a) { return (void)a, c->values = 1, 0; }
static int o_plan(nn_cli *c, const char *a) { return (void)a, c->plan = 1, 0; }
static int o_profile(nn_cli *c, const char *a) { return (void)a, c->profile = 1, 0; }
static int o_resolved(nn_cli *c, const char *a) { return (void)a, c->resolved = 1, 0; }
static int o_steps(nn_cli *c, const char *a)
{
    if ((c->steps = whole(a, 1, 100000000)) < 0)
        return usage_error("--steps expects a whole number from 1 to 100000000, got '%s'", a);
    return 0;
}
static int o_jobs(nn_cli *c, const char *a)
{
    if ((c->sw.jobs = (int)whole(a, 1, 64)) < 0)
        return usage_error("-j expects a whole number of workers from 1 to 64, got '%s'", a);
    return 0;
}
static int o_cell(nn_cli *c, const char *a)
{
    if ((c->sw.cell = whole(a, 0, 100000000)) < 0)
        return usage_error("--cell expects a cell index (0, 1, ...; see --list), got '%s'", a);
    return 0;
}
static int o_cell_id(nn_cli *c, const char *a) { return c->sw.cell_id = a, 0; }
static int o_shard(nn_cli *c, const char *a)
{
    char *end;
    c->sw.shard_k = (int)strtol(a, &end, 10);
    if (end != a && *end == '/' && (c->sw.shard_n = (int)whole(end + 1, 1, 100000)) > 0 &&
        c->sw.shard_k >= 0 && c->sw.shard_k < c->sw.shard_n)
        return 0;
    return usage_error("--shard expects K/N with 0 <= K < N (e.g. 0/4), got '%s'", a);
}
static int o_list(nn_cli *c, const char *a) { return (void)a, c->sw.list = 1, 0; }
static int o_sbatch(nn_cli *c, const char *a) { return (void)a, c->sw.emit_sbatch = 1, 0; }
static int o_partition(nn_cli *c, const char *a) { return c->sw.partition = a, 0; }
static int o_time(nn_cli *c, const char *a) { return c->sw.time = a, 0; }
static int o_cpus(nn_cli *c, const char *a)
{
    if ((c->sw.cpus = (int)whole(a, 1, 4096)) < 0)
        return usage_error("--cpus expects a whole number from 1 to 4096, got '%s'", a);
    return 0;
}
static int o_resume(nn_cli *c, const char *a) { return c->resume = a, 0; }
static int o_stop_after(nn_cli *c, const char *a)
{
    if ((c->stop_after = whole(a, 1, 0x7fffffffL)) < 0)
        return usage_error("--stop-after expects a whole number of steps ≥ 1, got '%s'", a);
    return 0;
}
static int o_dump_step(nn_cli *c, const char *a)
{
    if ((c->dump_step = whole(a, 0, 0x7fffffffL)) < 0)
        return usage_error("--dump-step expects a step number ≥ 0, got '%s'", a);
    return 0;
}
static int o_count(nn_cli *c, const char *a)
{
    long v = whole(a, 1, 100000);
    if (v < 0) return usage_error("--count expects a whole number from 1 to 100000, got '%s'", a);
    return c->count = (int)v, 0;
}
static int o_seed(nn_cli *c, const char *a)
{
    char *end;
    errno = 0;
    c->seed = strtoull(a, &end, 10);
    if (!*a || *end || errno || strspn(a, "0123456789") != strlen(a))
        return usage_error("--seed expects a whole number from 0 to 18446744073709551615, got "
                           "'%s'",
                           a);
    return c->has_seed = 1, 0;
}
static int o_temperature(nn_cli *c, const char *a)
{
    char *end;
    c->temperature = strtod(a, &end);
    if (!*a || *end || !(c->temperature > 0) || !isfinite(c->temperature))
        return usage_error("--temperature expects a number > 0, got '%s'", a);
    return 0;
}
static int o_prefix(nn_cli *c, const char *a) { return c->prefix = a, 0; }
static int o_top(nn_cli *c, const char *a)
{
    long v = whole(a, 1, 1000000);
    if (v < 0) return usage_error("--top expects a whole number ≥ 1, got '%s'", a);
    return c->top = (int)v, 0;
}
static int o_allow_plugins(nn_cli *c, const char *a) { return (void)a, c->allow_plugins = 1, 0; }
static int o_pytorch(nn_cli *c, const char *a) { return c->pytorch = a, 0; }
static int o_tolerance(nn_cli *c, const char *a)
{
    char *end;
    c->tolerance = strtod(a, &end);
    if (!*a || *end || !(c->tolerance > 0) || !isfinite(c->tolerance))
        return usage_error("--tolerance expects a number > 0, got '%s'", a);
    return 0;
}
static int o_max_memory(nn_cli *c, const char *a)
{
    if (nn_parse_bytes(a, &c->max_memory) != 0)
        return usage_error("--max-memory expects a size in bytes, with an optional suffix K, M "
                           "or G (e.g. 512M), got '%s'",
                           a);
    return 0;
}
static int o_nan_check(nn_cli *c, const char *a) { return (void)a, c->no_nan_check = 0, 0; }
static int o_no_nan_check(nn_cli *c, const char *a) { return (void)a, c->no_nan_check = 1, 0; }

/* --- the options: which subcommands take each ---------------------------------------- */

typedef struct {
    const char *name;
    const char *arg; /* its value's name; NULL: a flag */
    unsigned cmds;   /* the subcommands that take it */
    int cell;        /* a sweep gives it to every cell (worker processes, sbatch scripts) */
    setter set;
    const char *help;
} option;

static const option OPTS[] = {
    {"set", "KEY=VALUE", SPECS, 0, o_set,
     "override a spec value (typed and checked like the file), e.g. --set train.steps=2000"},
    {"out", "DIR", RUN | SWEEP | PREDICT | COMPARE, 0, o_out,
     "the run directory (default: runs/NAME), or the sweep's; predict: the file to write "
     "(default: stdout); compare: the page's FILE (default: compare.html)"},
    {"force", NULL, RUN, 0, o_force, "reuse an output directory that holds an earlier run"},
    {"threads", "N", RUN | SWEEP | BENCH | EXPORT | PREDICT, 0, o_threads,
     "threads for evaluation and large matrix products (default: every core; results do "
     "not depend on N; with 2+, evaluation points run beside training)"},
    {"isa", "NAME", SPECS | SAMPLE | PREDICT, 1, o_isa,
     "kernel path: scalar, avx2 or avx512 (default: the best this CPU has; also NNRUN_ISA)"},
    {"quiet", NULL, RUN | SWEEP | EXPORT | PREDICT, 0, o_quiet,
     "no progress output (predict: no accuracy line)"},
    {"json", NULL, RUN | CHECK | GRAPH | BENCH | GRADCHECK | SUMMARIZE | PREDICT, 0, o_json,
     "the result as JSON on stdout (a run: summary.json and run_dir, progress to stderr; "
     "check: every diagnostic; graph: nodes and tensors; gradcheck: per-parameter errors; "
     "summarize: the rows; predict: one object per line)"},
    {"resume", "RUN_DIR", RUN, 0, o_resume,
     "continue the run in RUN_DIR from its last checkpoint (the spec may be left out: "
     "RUN_DIR/spec.resolved.yaml is the run's own; a spec given must be the same, with the "
     "same --set)"},
    {"stop-after", "N", RUN, 0, o_stop_after,
     "end this invocation after N steps with a checkpoint (exit 0); resume with --resume"},
    {"dump-step", "K", RUN, 0, o_dump_step,
     "write every tensor of training step K to RUN_DIR/dump.safetensors"},
    {"max-memory", "BYTES", SPECS | SAMPLE | PREDICT, 1, o_max_memory,
     "refuse a model whose parameters and plans need more (suffixes K, M, G; default: 80% "
     "of physical memory)"},
    {"nan-check", NULL, RUN | SWEEP | BENCH, 1, o_nan_check,
     "check the gradients and running buffers for non-finite values too (the default)"},
    {"no-nan-check", NULL, RUN | SWEEP | BENCH, 1, o_no_nan_check,
     "check only the loss for non-finite values"},
    {"resolved", NULL, CHECK, 0, o_resolved, "print the spec with every default"},
    {"dot", NULL, GRAPH, 0, o_dot, "graphviz DOT"},
    {"values", NULL, GRAPH, 0, o_values,
     "with --dot: data and grad of every tensor after one forward/backward"},
    {"plan", NULL, GRAPH, 0, o_plan, "the lowered plan: fused steps, arena offsets"},
    {"steps", "N", BENCH | RUN, 0, o_steps,
     "bench: training steps to time (default 2000; 200 with --profile); run --resume: train "
     "N steps past the checkpoint (train.steps becomes its step + N)"},
    {"profile", NULL, BENCH, 0, o_profile,
     "time each plan step (forward, backward, update) with its FLOPs and share of the "
     "measured FMA peak: the top ten"},
    {"tolerance", "X", GRADCHECK, 0, o_tolerance, "the largest relative error (default 1e-2)"},
    {"jobs", "N", SWEEP, 0, o_jobs, "worker processes (also -j N; default: the cores)"},
    {"cell", "INDEX", SWEEP, 0, o_cell, "run only this cell (0-based, in --list order)"},
    {"cell-id", "ID", SWEEP, 0, o_cell_id, "run only the cell with this id"},
    {"shard", "K/N", SWEEP, 0, o_shard, "run only the cells whose index % N is K"},
    {"list", NULL, SWEEP, 0, o_list, "print the cells instead"},
    {"emit-sbatch", NULL, SWEEP, 0, o_sbatch, "print a Slurm job-array script, one task a cell"},
    {"partition", "P", SWEEP, 0, o_partition, "with --emit-sbatch: the Slurm partition"},
    {"time", "T", SWEEP, 0, o_time, "with --emit-sbatch: the Slurm time limit"},
    {"cpus", "C", SWEEP, 0, o_cpus, "with --emit-sbatch: CPUs per task"},
    {"count", "N", SAMPLE, 0, o_count, "items to draw (default: the spec's sample.count, or 20)"},
    {"seed", "S", SAMPLE, 0, o_seed, "the sampling seed (default: the spec's)"},
    {"temperature", "T", SAMPLE, 0, o_temperature, "softmax temperature (default: the spec's)"},
    {"prefix", "TEXT", SAMPLE, 0, o_prefix, "every item starts with TEXT"},
    {"top", "K", PREDICT, 0, o_top,
     "with --json, text: the K most likely next tokens (default 5)"},
    {"allow-plugins", NULL, RUN | SAMPLE | PREDICT, 0, o_allow_plugins,
     "load the plugins a stored spec names (the model file's; --resume RUN_DIR without a "
     "spec: the run's) — their code runs"},
    {"color-by", "AXIS", SUMMARIZE, 0, o_color_by,
     "the matrix axis whose values colour the cells' loss curves in the sweep's report.html "
     "(default: the first)"},
    {"pytorch", "FILE", EXPORT, 0, o_pytorch,
     "the PyTorch file to write: an nn.Module of the model and load(model.safetensors)"},
};
enum { NOPTS = sizeof OPTS / sizeof *OPTS, OPT_HELP = NOPTS, OPT_VERSION };

/* "run, sweep": the subcommands in `cmds`. */
static const char *cmd_names(unsigned cmds, char *buf, size_t len)
{
    size_t at = 0;
    buf[0] = 0;
    for (int i = 0; i < NCMDS; i++)
        if (cmds & CMDS[i].bit)
            at += (size_t)snprintf(buf + at, len - at, "%s%s", at ? ", " : "", CMDS[i].name);
    return buf;
}

/* Prints `text` from column `col` on, wrapped at 100 columns. */
static void print_wrapped(const char *text, int col)
{
    int at = col;
    while (*text) {
        size_t word = strcspn(text, " ");
        if (at > col && at + 1 + (int)word > 100) {
            printf("\n%*s", col, "");
            at = col;
        } else if (at > col) {
            putchar(' ');
            at++;
        }
        printf("%.*s", (int)word, text);
        at += (int)word;
        text += word;
        text += strspn(text, " ");
    }
    putchar('\n');
}

static void print_help(void)
{
    printf("usage: nnrun SPEC.yaml [--set K=V]... [--out DIR] [--threads N] [--quiet] [--json]\n"
           "       nnrun [SPEC.yaml] --resume RUN_DIR [--steps N] [--stop-after N]\n"
           "       nnrun SUBCOMMAND OPERAND [OPTION]...\n\nsubcommands:\n");
    for (int i = 0; i < NCMDS; i++) {
        printf("  nnrun %-10s %-25s ", CMDS[i].name, CMDS[i].operand);
        print_wrapped(CMDS[i].what, 45);
    }
    printf("\noptions (each taken only by the subcommands in brackets):\n");
    char names[200], flag[64], text[600];
    for (int i = 0; i < NOPTS; i++) {
        snprintf(flag, sizeof flag, "--%s%s%s", OPTS[i].name, OPTS[i].arg ? " " : "",
                 OPTS[i].arg ? OPTS[i].arg : "");
        snprintf(text, sizeof text, "%s [%s]", OPTS[i].help,
                 cmd_names(OPTS[i].cmds, names, sizeof names));
        printf("  %-21s ", flag);
        print_wrapped(text, 24);
    }
    printf("  --help, --version\n\nA sweep gives its cells every run option it was given "
           "(--isa, --max-memory,\n--nan-check, --no-nan-check), also in --emit-sbatch "
           "scripts.\n");
}

/* --- parsing ------------------------------------------------------------------------ */

static const subcommand *find_cmd(const char *name)
{
    for (int i = 0; i < NCMDS; i++)
        if (!strcmp(name, CMDS[i].name)) return &CMDS[i];
    return NULL;
}

/* The combinations a table cannot say. */
static int check_combinations(const nn_cli *c, unsigned cmd)
{
    const nn_sweep_opts *o = &c->sw;
    if (cmd == GRAPH && c->plan && c->dot) return usage_error("choose one of --plan and --dot");
    if (cmd == GRAPH && c->values && !c->dot) return usage_error("--values needs --dot");
    if (cmd == GRAPH && c->json && (c->dot || c->plan))
        return usage_error("--json prints the graph's nodes and tensors: leave out --dot and "
                           "--plan");
    if (cmd == CHECK && c->json && c->resolved)
        return usage_error("choose one of --resolved and --json");
    if (cmd == RUN && c->resume && (c->out || c->force))
        return usage_error("--resume continues in RUN_DIR itself: leave out --out and --force");
    if (cmd == RUN && c->steps && !c->resume)
        return usage_error("--steps N trains a run N steps further: give the run with --resume "
                           "RUN_DIR (a new run's length is --set train.steps=N)");
    if (cmd == PREDICT && c->top && !c->json)
        return usage_error("--top K chooses how many tokens --json lists: add --json");
    if (cmd == EXPORT && !c->pytorch)
        return usage_error("nnrun export writes a PyTorch file: give it with --pytorch FILE");
    if (cmd != SWEEP) return 0;
    int modes = (o->cell >= 0 || o->cell_id) + (o->shard_n > 0) + o->list + o->emit_sbatch;
    if (o->cell >= 0 && o->cell_id) return usage_error("choose one of --cell and --cell-id");
    if (modes > 1)
        return usage_error("choose one of --cell/--cell-id, --shard, --list and --emit-sbatch");
    if ((o->partition || o->time || o->cpus) && !o->emit_sbatch)
        return usage_error("--partition, --time and --cpus are options of --emit-sbatch");
    return 0;
}

/* Every option given must be one the subcommand takes. */
static int check_taken(const char *const *given, unsigned cmd, const char *cmd_name)
{
    char names[200];
    for (int i = 0; i < NOPTS; i++)
        if (given[i] && !(OPTS[i].cmds & cmd))
            return usage_error("%s is not an option of 'nnrun %s' (the subcommands that take "
                               "it: %s)",
                               given[i],
                               cmd_name, cmd_names(OPTS[i].cmds, names, sizeof names));
    return 0;
}

/* Fills c; returns −1 to go on, or an exit code (help, version, usage error). */
static int parse_args(int argc, char **argv, nn_cli *c, const subcommand **cmd)
{
    struct option lo[NOPTS + 3];
    for (int i = 0; i < NOPTS; i++)
        lo[i] = (struct option){OPTS[i].name, OPTS[i].arg ? required_argument : no_argument,
                                NULL, 256 + i};
    lo[NOPTS] = (struct option){"help", no_argument, NULL, 256 + OPT_HELP};
    lo[NOPTS + 1] = (struct option){"version", no_argument, NULL, 256 + OPT_VERSION};
    lo[NOPTS + 2] = (struct option){0, 0, 0, 0};
    static char flag[NOPTS][32]; /* "--NAME" */
    const char *given[NOPTS] = {0};
    for (int i = 0; i < NOPTS; i++)
        snprintf(flag[i], sizeof flag[i], "%s--%s", OPTS[i].set == o_jobs ? "-j/" : "",
                 OPTS[i].name);
    c->sets = calloc((size_t)argc + 1, sizeof *c->sets);
    c->fwd = calloc(2 * (size_t)argc + 1, sizeof *c->fwd);
    c->operands = calloc((size_t)argc + 1, sizeof *c->operands);
    if (!c->sets || !c->fwd || !c->operands) return NN_EXIT_RUN;
    long cores = sysconf(_SC_NPROCESSORS_ONLN); /* default: every core */
    c->threads = cores < 1 ? 1 : cores > 16 ? 16 : (int)cores;
    c->dump_step = -1;
    c->sw.cell = -1;
    opterr = 0;
    int ch, jobs = -1;
    for (int i = 0; i < NOPTS; i++)
        if (!strcmp(OPTS[i].name, "jobs")) jobs = i;
    while ((ch = getopt_long(argc, argv, "+:j:", lo, NULL)) != -1 || optind < argc) {
        if (ch == -1) { /* a positional argument: the subcommand or the operand */
            const char *a = argv[optind++];
            if (!*cmd && !c->spec && find_cmd(a))
                *cmd = find_cmd(a);
            else if (!c->spec || (*cmd && (*cmd)->bit == COMPARE)) /* compare: several */
                c->spec = c->spec ? c->spec : a, c->operands[c->noperands++] = a;
            else if (*cmd && (*cmd)->bit == PREDICT && !c->input)
                c->input = a;
            else
                return usage_error("unexpected argument '%s'", a), NN_EXIT_INPUT;
            continue;
        }
        if (ch == 256 + OPT_HELP) return print_help(), NN_EXIT_OK;
        if (ch == 256 + OPT_VERSION) return printf("nnrun %s\n", PACKAGE_VERSION), NN_EXIT_OK;
        if (ch == ':')
            return usage_error("option '%s' needs a value", argv[optind - 1]), NN_EXIT_INPUT;
        if (ch == 'j') ch = 256 + jobs;
        if (ch < 256 || ch >= 256 + NOPTS)
            return usage_error("unknown option '%s'", argv[optind - 1]), NN_EXIT_INPUT;
        int i = ch - 256;
        if (OPTS[i].set(c, optarg) != 0) return NN_EXIT_INPUT;
        given[i] = flag[i];
        if (OPTS[i].cell) { /* as a cell gets it: --NAME [VALUE] (no cell option is -j) */
            c->fwd[c->nfwd++] = flag[i];
            if (OPTS[i].arg) c->fwd[c->nfwd++] = optarg;
        }
    }
    if (!*cmd) *cmd = &CMDS[0];
    c->cmd = (*cmd)->name;
    if (!c->spec && (*cmd)->bit == RUN && c->resume) { /* the run's own spec */
        static char own[4200];
        snprintf(own, sizeof own, "%s/spec.resolved.yaml", c->resume);
        c->spec = own;
        c->spec_from_run = 1;
    }
    if (!c->spec)
        return usage_error("no %s given (nnrun %s %s)", (*cmd)->operand, c->cmd, (*cmd)->operand),
               NN_EXIT_INPUT;
    if ((*cmd)->bit == PREDICT && !c->input)
        return usage_error("no INPUT given (nnrun predict RUN_DIR INPUT: a CSV file of rows, or "
                           "a text file of prefixes; - reads stdin)"),
               NN_EXIT_INPUT;
    if (check_taken(given, (*cmd)->bit, c->cmd) != 0 || check_combinations(c, (*cmd)->bit) != 0)
        return NN_EXIT_INPUT;
    return -1;
}

int main(int argc, char **argv)
{
    nn_cli c;
    memset(&c, 0, sizeof c);
    const subcommand *cmd = NULL;
    /* past a file size limit (ulimit -f), writes fail with EFBIG and the run stops with an
     * error, instead of the signal killing it mid-write */
    signal(SIGXFSZ, SIG_IGN);
    int rc = parse_args(argc, argv, &c, &cmd);
    if (rc < 0 && nn_kernels_select(c.isa) != 0) {
        const char *want = c.isa ? c.isa : getenv("NNRUN_ISA");
        fprintf(stderr,
                "nnrun: error: %s '%s' is not a kernel path this machine can run (choose "
                "scalar%s%s)\n",
                c.isa ? "--isa" : "NNRUN_ISA", want ? want : "",
                nn_kernels_supported("avx2") ? ", avx2" : "",
                nn_kernels_supported("avx512") ? ", avx512" : "");
        rc = NN_EXIT_INPUT;
    } else if (rc < 0) {
        nn_kernels_set_threads(c.threads);
        nn_limits_set_max_memory(c.max_memory);
        nn_limits_expect_dump(c.dump_step >= 0);
        rc = cmd->fn(&c);
        nn_kernels_set_threads(1); /* back to the calling thread (workers idle) */
    }
    free(c.sets);
    free(c.fwd);
    free(c.operands);
    return rc;
}
