/* nnrun.c — the command line: subcommands, options, exit codes.  No logic of its own.
 *
 * Exit codes (DESIGN.md): 0 done; 2 anything wrong found before training starts (usage,
 * spec, data file, output directory); 1 a failure during the run.
 */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "config.h"
#include "ir/build.h"
#include "kernels/kernels.h"
#include "parser/spec.h"
#include "runtime/data/data.h"
#include "runtime/plugin/plugin.h"
#include "runtime/train/gradcheck.h"
#include "runtime/store/dirlock.h"
#include "runtime/train/model_file.h"
#include "runtime/exec/limits.h"
#include "runtime/train/nancheck.h"
#include "runtime/report/graphviz.h"
#include "runtime/report/html.h"
#include "runtime/store/rundir.h"
#include "runtime/report/stats.h"
#include "runtime/report/summary.h"
#include "runtime/sweep/sweep.h"
#include "runtime/train/runctl.h"
#include "runtime/train/train.h"

enum { EXIT_OK = 0, EXIT_RUN = 1, EXIT_INPUT = 2 };

typedef struct {
    const char *cmd, *spec, *out, *isa;
    const char **sets;
    int nsets, threads, quiet, json, force;
    int dot, values, plan, resolved; /* graph --dot [--values] | --plan; check --resolved */
    long bench_steps;                /* bench --steps N */
    nn_sweep_opts sw;                /* sweep options (-j, --cell, --shard, ...) */
    int sweep_opt, threads_given;    /* a sweep-only option was given; --threads was */
    int point;                       /* a sweep cell: matrix point + 1; 0: a plain run */
    const char *point_label;         /* its values, named in errors */
    const char *resume;              /* --resume RUN_DIR */
    long stop_after;                 /* --stop-after N (0: none) */
    long dump_step;                  /* --dump-step K (−1: none) */
    /* sample: --count, --seed, --temperature, --prefix (has_seed: --seed given) */
    int count, has_seed;
    unsigned long long seed;
    double temperature;
    const char *prefix;
    double tolerance; /* gradcheck --tolerance X */
    size_t max_memory;               /* --max-memory BYTES (0: the default) */
    int no_nan_check;                /* --no-nan-check */
    int allow_plugins;               /* sample --allow-plugins: a model file's plugins load */
} cli;

static const char usage_text[] =
    "usage: nnrun SPEC.yaml [--set K=V]... [--out DIR] [--threads N] [--quiet] [--json]\n"
    "       nnrun check SPEC.yaml [--resolved]     validate the spec, data and model; exit 0 or "
    "2;\n"
    "                                              --resolved prints the spec with every default\n"
    "       nnrun graph SPEC.yaml [--dot [--values]]  the IR graph as text, or graphviz DOT; "
    "--values\n"
    "                                              adds data and grad of every tensor after one\n"
    "                                              forward/backward on the first training "
    "examples\n"
    "       nnrun graph SPEC.yaml --plan           the lowered plan: fused steps, arena offsets\n"
    "       nnrun bench SPEC.yaml [--steps N] [--threads N]   training-step throughput, one JSON "
    "line\n"
    "       nnrun report RUN_DIR                   re-render RUN_DIR/report.html from its files\n"
    "       nnrun sweep SPEC.yaml [-j N] [--cell INDEX | --cell-id ID] [--shard K/N] [--list]\n"
    "                                              run every cell of the spec's matrix (not yet\n"
    "                                              DONE) in N worker processes (default: cores)\n"
    "       nnrun sweep SPEC.yaml --emit-sbatch [--partition P] [--time T] [--cpus C]\n"
    "                                              print a Slurm job-array script, one task a "
    "cell\n"
    "       nnrun summarize SWEEP_DIR              summary.csv, report.html of the DONE cells\n"
    "       nnrun gradcheck SPEC.yaml [--tolerance X]  analytic gradients vs central differences\n"
    "                                              on 8 examples; exit 1 above X (default 1e-2)\n"
    "       nnrun SPEC.yaml --resume RUN_DIR [--stop-after N]  continue RUN_DIR from its last\n"
    "                                              checkpoint (model.safetensors, "
    "training.safetensors)\n"
    "       nnrun sample RUN_DIR|FILE.safetensors [--count N] [--seed S] [--temperature T]\n"
    "                    [--prefix TEXT] [--allow-plugins]  draw items from a trained model (no\n"
    "                                              spec); a plugin the file's stored spec names\n"
    "                                              is refused unless --allow-plugins\n"
    "\n"
    "options:\n"
    "  --set KEY=VALUE   override a spec value (typed and checked like the file), e.g.\n"
    "                    --set train.steps=2000 --set model.2.linear.out=300\n"
    "  --out DIR         run directory (default: runs/NAME)\n"
    "  --force           reuse an output directory that holds an earlier run\n"
    "  --threads N       threads for evaluation and large matrix products (default: every\n"
    "                    core; the results do not depend on N; with 2+, evaluation points\n"
    "                    run beside training)\n"
    "  --isa NAME        kernel path: scalar, avx2 or avx512 (default: the best this CPU has;\n"
    "                    also NNRUN_ISA)\n"
    "  --stop-after N    end this invocation after N steps with a checkpoint (exit 0);\n"
    "                    resume it with --resume\n"
    "  --resume RUN_DIR  continue the run in RUN_DIR (same spec and --set) from its last "
    "checkpoint\n"
    "  --dump-step K     write every tensor of training step K (inputs, weights, activations,\n"
    "                    gradients) to RUN_DIR/dump.safetensors (tests/parity/ reads it)\n"
    "  --max-memory BYTES  refuse a model whose parameters and plans need more (suffixes K,\n"
    "                    M, G; default: 80% of physical memory)\n"
    "  --no-nan-check    check only the loss for non-finite values, not the gradients and\n"
    "                    running buffers (checked by default: --nan-check)\n"
    "  --quiet           no progress output\n"
    "  --json            print summary.json on stdout (progress goes to stderr)\n"
    "  --help, --version\n";

static int usage_error(const char *fmt, const char *arg)
{
    fprintf(stderr, "nnrun: error: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\nTry 'nnrun --help'.\n");
    return EXIT_INPUT;
}

static int is_subcommand(const char *a)
{
    static const char *const names[] = {"run",   "check",     "graph",  "bench",     "report",
                                        "sweep", "summarize", "sample", "gradcheck", NULL};
    for (int i = 0; names[i]; i++)
        if (!strcmp(a, names[i])) return 1;
    return 0;
}

static int parse_threads(const char *s, int *out)
{
    char *end;
    long v = strtol(s, &end, 10);
    if (!*s || *end || v < 1 || v > 16) return -1;
    *out = (int)v;
    return 0;
}

/* A whole number in [lo, hi], or −1. */
static long parse_count(const char *s, long lo, long hi)
{
    char *end;
    long v = strtol(s, &end, 10);
    return !*s || *end || v < lo || v > hi ? -1 : v;
}

/* One option of `nnrun sweep`; 0 or −1 after a usage error. */
static int parse_sweep_option(int ch, const char *arg, nn_sweep_opts *o)
{
    char *end;
    switch (ch) {
    case 'j':
        if ((o->jobs = (int)parse_count(arg, 1, 64)) >= 0) return 0;
        usage_error("-j expects a whole number of workers from 1 to 64, got '%s'", arg);
        return -1;
    case 1000:
        if ((o->cell = parse_count(arg, 0, 100000000)) >= 0) return 0;
        usage_error("--cell expects a cell index (0, 1, ...; see --list), got '%s'", arg);
        return -1;
    case 1001: o->cell_id = arg; return 0;
    case 1002:
        o->shard_k = (int)strtol(arg, &end, 10);
        if (end != arg && *end == '/' && (o->shard_n = (int)parse_count(end + 1, 1, 100000)) > 0 &&
            o->shard_k >= 0 && o->shard_k < o->shard_n)
            return 0;
        usage_error("--shard expects K/N with 0 <= K < N (e.g. 0/4), got '%s'", arg);
        return -1;
    case 1003: o->list = 1; return 0;
    case 1004: o->emit_sbatch = 1; return 0;
    case 1005: o->partition = arg; return 0;
    case 1006: o->time = arg; return 0;
    default:
        if ((o->cpus = (int)parse_count(arg, 1, 4096)) >= 0) return 0;
        usage_error("--cpus expects a whole number from 1 to 4096, got '%s'", arg);
        return -1;
    }
}

static int check_sweep_options(const nn_sweep_opts *o)
{
    int modes = (o->cell >= 0 || o->cell_id) + (o->shard_n > 0) + o->list + o->emit_sbatch;
    if (o->cell >= 0 && o->cell_id) return usage_error("%s", "choose one of --cell and --cell-id");
    if (modes > 1)
        return usage_error("%s", "choose one of --cell/--cell-id, --shard, --list and "
                                 "--emit-sbatch");
    if ((o->partition || o->time || o->cpus) && !o->emit_sbatch)
        return usage_error("%s", "--partition, --time and --cpus are options of --emit-sbatch");
    return 0;
}

/* Returns −1 to continue, or an exit code (help, version, usage error). */
static int parse_args(int argc, char **argv, cli *c)
{
    static const struct option opts[] = {
        {"set", required_argument, 0, 's'},
        {"out", required_argument, 0, 'o'},
        {"threads", required_argument, 0, 't'},
        {"isa", required_argument, 0, 'i'},
        {"quiet", no_argument, 0, 'q'},
        {"json", no_argument, 0, 'J'},
        {"force", no_argument, 0, 'f'},
        {"help", no_argument, 0, 'h'},
        {"version", no_argument, 0, 'V'},
        {"dot", no_argument, 0, 'D'},
        {"values", no_argument, 0, 'A'},
        {"resolved", no_argument, 0, 'R'},
        {"plan", no_argument, 0, 'P'},
        {"steps", required_argument, 0, 'N'},
        {"jobs", required_argument, 0, 'j'},
        {"cell", required_argument, 0, 1000},
        {"cell-id", required_argument, 0, 1001},
        {"shard", required_argument, 0, 1002},
        {"list", no_argument, 0, 1003},
        {"emit-sbatch", no_argument, 0, 1004},
        {"partition", required_argument, 0, 1005},
        {"time", required_argument, 0, 1006},
        {"cpus", required_argument, 0, 1007},
        {"resume", required_argument, 0, 'r'},
        {"stop-after", required_argument, 0, 'S'},
        {"dump-step", required_argument, 0, 'K'},
        {"count", required_argument, 0, 'c'},
        {"seed", required_argument, 0, 'e'},
        {"temperature", required_argument, 0, 'T'},
        {"prefix", required_argument, 0, 'x'},
        {"tolerance", required_argument, 0, 'L'},
        {"max-memory", required_argument, 0, 'M'},
        {"nan-check", no_argument, 0, 1100},
        {"no-nan-check", no_argument, 0, 1101},
        {"allow-plugins", no_argument, 0, 1102},
        {0, 0, 0, 0},
    };
    c->sets = calloc((size_t)argc + 1, sizeof *c->sets);
    c->dump_step = -1;
    long cores =
        sysconf(_SC_NPROCESSORS_ONLN); /* default: every core (results do not depend on it) */
    c->threads = cores < 1 ? 1 : cores > 16 ? 16 : (int)cores;
    if (!c->sets) return EXIT_RUN;
    opterr = 0;
    int ch;
    c->sw.cell = -1;
    while ((ch = getopt_long(argc, argv, "+:j:", opts, NULL)) != -1 || optind < argc) {
        if (ch == -1) { /* a positional argument: the subcommand or the spec */
            const char *a = argv[optind++];
            if (!c->cmd && !c->spec && is_subcommand(a))
                c->cmd = a;
            else if (!c->spec)
                c->spec = a;
            else
                return usage_error("unexpected argument '%s'", a);
            continue;
        }
        switch (ch) {
        case 's':
            if (!strchr(optarg, '='))
                return usage_error("--set expects KEY=VALUE, got '%s'", optarg);
            c->sets[c->nsets++] = optarg;
            break;
        case 'o': c->out = optarg; break;
        case 't':
            if (parse_threads(optarg, &c->threads) != 0)
                return usage_error("--threads expects a whole number from 1 to 16, got '%s'",
                                   optarg);
            c->threads_given = 1;
            break;
        case 'i': c->isa = optarg; break;
        case 'q': c->quiet = 1; break;
        case 'J': c->json = 1; break;
        case 'f': c->force = 1; break;
        case 'D': c->dot = 1; break;
        case 'A': c->values = 1; break;
        case 'R': c->resolved = 1; break;
        case 'P': c->plan = 1; break;
        case 'N': {
            char *end;
            c->bench_steps = strtol(optarg, &end, 10);
            if (!*optarg || *end || c->bench_steps < 1 || c->bench_steps > 100000000)
                return usage_error("--steps expects a whole number from 1 to 100000000, got '%s'",
                                   optarg);
            break;
        }
        case 'j':
        case 1000:
        case 1001:
        case 1002:
        case 1003:
        case 1004:
        case 1005:
        case 1006:
        case 1007:
            if (parse_sweep_option(ch, optarg, &c->sw) != 0) return EXIT_INPUT;
            c->sweep_opt = 1;
            break;
        case 'r': c->resume = optarg; break;
        case 'K': {
            char *end;
            c->dump_step = strtol(optarg, &end, 10);
            if (!*optarg || *end || c->dump_step < 0)
                return usage_error("--dump-step expects a step number ≥ 0, got '%s'", optarg);
            break;
        }
        case 'S': {
            char *end;
            c->stop_after = strtol(optarg, &end, 10);
            if (!*optarg || *end || c->stop_after < 1)
                return usage_error("--stop-after expects a whole number of steps ≥ 1, got '%s'",
                                   optarg);
            break;
        }
        case 'c': {
            char *end;
            long v = strtol(optarg, &end, 10);
            if (!*optarg || *end || v < 1 || v > 100000)
                return usage_error("--count expects a whole number from 1 to 100000, got '%s'",
                                   optarg);
            c->count = (int)v;
            break;
        }
        case 'e': {
            char *end;
            errno = 0;
            c->seed = strtoull(optarg, &end, 10);
            if (!*optarg || *end || errno || strspn(optarg, "0123456789") != strlen(optarg))
                return usage_error("--seed expects a whole number from 0 to 18446744073709551615, "
                                   "got '%s'",
                                   optarg);
            c->has_seed = 1;
            break;
        }
        case 'T': {
            char *end;
            c->temperature = strtod(optarg, &end);
            if (!*optarg || *end || !(c->temperature > 0) || !isfinite(c->temperature))
                return usage_error("--temperature expects a number > 0, got '%s'", optarg);
            break;
        }
        case 'x': c->prefix = optarg; break;
        case 'L': {
            char *end;
            c->tolerance = strtod(optarg, &end);
            if (!*optarg || *end || !(c->tolerance > 0))
                return usage_error("--tolerance expects a number > 0, got '%s'", optarg);
            break;
        }
        case 'M':
            if (nn_parse_bytes(optarg, &c->max_memory) != 0)
                return usage_error("--max-memory expects a size in bytes, with an optional "
                                   "suffix K, M or G (e.g. 512M), got '%s'",
                                   optarg);
            break;
        case 1100: c->no_nan_check = 0; break;
        case 1101: c->no_nan_check = 1; break;
        case 1102: c->allow_plugins = 1; break;
        case 'h': fputs(usage_text, stdout); return EXIT_OK;
        case 'V': printf("nnrun %s\n", PACKAGE_VERSION); return EXIT_OK;
        case ':': return usage_error("option '%s' needs a value", argv[optind - 1]);
        default: return usage_error("unknown option '%s'", argv[optind - 1]);
        }
    }
    if (!c->cmd) c->cmd = "run";
    if (!c->spec)
        return usage_error("%s", !strcmp(c->cmd, "report")      ? "no run directory given"
                                 : !strcmp(c->cmd, "summarize") ? "no sweep directory given"
                                 : !strcmp(c->cmd, "sample")
                                     ? "no run directory or .safetensors file given"
                                     : "no spec file given");
    if ((c->dot || c->values || c->plan) && strcmp(c->cmd, "graph") != 0)
        return usage_error("%s", "--dot, --values and --plan are options of 'nnrun graph'");
    if (c->plan && c->dot) return usage_error("%s", "choose one of --plan and --dot");
    if (c->values && !c->dot) return usage_error("%s", "--values needs --dot");
    if (c->bench_steps && strcmp(c->cmd, "bench") != 0)
        return usage_error("%s", "--steps is an option of 'nnrun bench' (use --set train.steps=N)");
    if ((c->count || c->has_seed || c->temperature > 0 || c->prefix || c->allow_plugins) &&
        strcmp(c->cmd, "sample"))
        return usage_error("%s", "--count, --seed, --temperature, --prefix and --allow-plugins "
                                 "are options of 'nnrun sample'");
    if (!strcmp(c->cmd, "sample") && (c->nsets || c->out || c->force || c->json))
        return usage_error("%s", "--set, --out, --force and --json are no options of 'nnrun "
                                 "sample' (it reads no spec and writes no run directory)");
    if (c->resume && (c->out || c->force))
        return usage_error("%s",
                           "--resume continues in RUN_DIR itself: leave out --out and --force");
    if (c->tolerance > 0 && strcmp(c->cmd, "gradcheck") != 0)
        return usage_error("%s", "--tolerance is an option of 'nnrun gradcheck'");
    if ((c->resume || c->stop_after || c->dump_step >= 0) && strcmp(c->cmd, "run") != 0)
        return usage_error("%s", "--resume, --stop-after and --dump-step are options of a run");
    if (c->resolved && strcmp(c->cmd, "check") != 0)
        return usage_error("%s", "--resolved is an option of 'nnrun check'");
    if (c->sweep_opt && strcmp(c->cmd, "sweep") != 0)
        return usage_error("%s", "-j, --cell, --cell-id, --shard, --list, --emit-sbatch, "
                                 "--partition, --time and --cpus are options of 'nnrun sweep'");
    if (!strcmp(c->cmd, "sweep") && check_sweep_options(&c->sw) != 0) return EXIT_INPUT;
    return -1;
}

static int fail_input(nn_diag *d)
{
    nn_diag_print(d, stderr);
    return EXIT_INPUT;
}

static void print_data(FILE *f, const nn_dataset *ds, long params)
{
    fprintf(
        f,
        "data: %ld items (%ld dropped), vocabulary %d, examples train %ld / dev %ld / test %ld\n",
        ds->lines - ds->dropped, ds->dropped, ds->vocab, ds->split[0].n, ds->split[1].n,
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

/* `nnrun bench`: training steps only, one JSON line with the contract's keys. */
static int bench_command(const cli *c, nn_trainer *tr)
{
    long steps = c->bench_steps ? c->bench_steps : 2000;
    double secs = nn_trainer_bench(tr, steps);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    json_t *j =
        json_pack("{s:f, s:f, s:I, s:s, s:i, s:I, s:s}", "steps_per_second",
                  secs > 0 ? (double)steps / secs : 0.0, "us_per_step", secs * 1e6 / (double)steps,
                  "peak_rss_bytes", (json_int_t)ru.ru_maxrss * 1024, "isa", nn_k->isa, "threads",
                  c->threads, "steps", (json_int_t)steps, "name", nn_trainer_spec(tr)->name);
    char *text = j ? json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    if (text) printf("%s\n", text);
    free(text);
    json_decref(j);
    return text ? EXIT_OK : EXIT_RUN;
}

/* `nnrun check`: a one-line verdict, or the resolved spec. */
static int check_command(const cli *c, const nn_spec *spec, const nn_dataset *ds,
                         const nn_trainer *tr)
{
    if (c->resolved) return nn_spec_emit(spec, stdout) == 0 ? EXIT_OK : EXIT_RUN;
    printf("%s: ok (%ld parameters, vocabulary %d, examples %ld / %ld / %ld)\n", c->spec,
           nn_trainer_params(tr)->count, ds->vocab, ds->split[0].n, ds->split[1].n, ds->split[2].n);
    return EXIT_OK;
}

/* `nnrun graph`: text, DOT, or DOT with values after one forward/backward. */
static int graph_command(const cli *c, nn_trainer *tr)
{
    if (!nn_trainer_graph(tr, NN_TRAINING)) {
        printf("%s: the counting model (ngram) has no graph: it counts %d-grams over the "
               "training split\n",
               c->spec, nn_trainer_spec(tr)->layers[0].n);
        return EXIT_OK;
    }
    if (!c->dot && !c->plan) {
        nn_graph_print(nn_trainer_graph(tr, NN_TRAINING), stdout);
        return EXIT_OK;
    }
    if (c->plan) {
        nn_plan_print(nn_trainer_plan(tr, NN_TRAINING), nn_trainer_params(tr), stdout);
        return EXIT_OK;
    }
    nn_plan *p = NULL;
    int rows = c->values ? nn_trainer_probe(tr, 4, &p) : 0;
    int rc = rows < 0 ? -1 : nn_graph_dot(nn_trainer_graph(tr, NN_TRAINING), p, rows, stdout);
    nn_plan_free(p);
    return rc == 0 ? EXIT_OK : EXIT_RUN;
}

/* " (matrix point LABEL)" for a sweep cell's messages, or "". */
static const char *point_of(const cli *c, char *buf, size_t len)
{
    if (!c->point_label) return "";
    snprintf(buf, len, " (matrix point %s)", c->point_label);
    return buf;
}

/* The run directory, locked for this process (dirlock.h): --resume's, a new one, or — for
 * a sweep cell stopped earlier — the cell's, continued from its checkpoint (*resume set). */
static char *claim_run_dir(const cli *c, const nn_spec *spec, nn_mark at, int *resume, nn_diag *d)
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
static int run_experiment(const cli *c, const nn_spec *spec, const nn_dataset *ds, nn_trainer *tr,
                          nn_diag *d)
{
    nn_mark at = {c->out ? "--out" : spec->path, 1, 1};
    char pt[1100];
    if (c->dump_step >= 0 && (nn_trainer_ngram(tr) || c->dump_step >= spec->train.steps)) {
        fprintf(stderr, "nnrun: error: --dump-step %ld is no training step of this run (%s)\n",
                c->dump_step, nn_trainer_ngram(tr) ? "the counting model takes none" : "they are 0 to steps - 1");
        return EXIT_INPUT;
    }
    int resume = 0;
    char *dir = claim_run_dir(c, spec, at, &resume, d);
    if (!dir) return fail_input(d);
    nn_runctl *ctl = nn_runctl_new(tr, dir, resume, c->stop_after, d);
    if (!ctl) {
        free(dir);
        return fail_input(d);
    }
    nn_run_opts o;
    memset(&o, 0, sizeof o);
    if (nn_rundir_write_resolved(dir, spec) != 0 ||
        !(o.metrics_csv = nn_runctl_open_metrics(ctl, "metrics.csv")) ||
        !(o.metrics_jsonl = nn_runctl_open_metrics(ctl, "metrics.jsonl"))) {
        if (o.metrics_csv) fclose(o.metrics_csv); /* the message is nn_runctl_open_metrics' */
        nn_runctl_free(ctl);
        free(dir);
        return EXIT_INPUT;
    }
    FILE *progress = c->json ? stderr : stdout;
    if (!c->quiet) print_data(progress, ds, nn_trainer_params(tr)->count);
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
        return EXIT_RUN;
    }
    /* a stopped run (a non-finite loss or gradient, a plugin's NaN) still writes what it
     * has: the metrics so far, the summary and the report; then exit 1 */
    if (rc < 0 && nn_plugins_failure(nn_trainer_plugins(tr))) {
        fprintf(stderr, "%s at step %ld%s; stopped (the steps before it are in %s)\n",
                nn_plugins_failure(nn_trainer_plugins(tr)), r.steps, point_of(c, pt, sizeof pt), dir);
    } else if (rc < 0 && r.nan) {
        nn_nan_diag(r.nan, spec->path, d); /* d holds no error: the spec and data were good */
        nn_diag_print(d, stderr);
    } else if (rc < 0) {
        fprintf(stderr, "%s: error: the run stopped at step %ld%s (out of memory)\n", spec->path,
                r.steps, point_of(c, pt, sizeof pt));
    }
    nn_run_info info = {c->threads, nn_k->isa};
    char *json = nn_summary_json(spec, ds, tr, &r, &info);
    int status = rc < 0 ? EXIT_RUN : EXIT_OK;
    const nn_stats *stats = rc != 0 ? NULL : nn_trainer_stats(tr); /* complete at the end only */
    if (!json || nn_rundir_write_results(dir, json, &r) != 0 ||
        (stats && nn_stats_write(stats, dir) != 0)) {
        fprintf(stderr, "nnrun: error: cannot write the results to '%s'\n", dir);
        status = EXIT_RUN;
    } else if (nn_report_render(dir, d) != 0) {
        nn_diag_print(d, stderr);
        status = EXIT_RUN;
    }
    if (!c->quiet && stopped)
        fprintf(progress,
                "stopped after step %ld (checkpoint written); continue with --resume %s\n", r.steps,
                dir);
    if (!c->quiet && rc == 0) print_result(progress, &r, dir);
    if (!c->quiet && rc < 0) fprintf(progress, "run directory: %s\n", dir);
    if (c->json && json) printf("%s\n", json);
    free(json);
    nn_result_free(&r);
    free(dir);
    return status == EXIT_OK && sig ? 128 + sig : status;
}

/* `nnrun report RUN_DIR`: re-renders report.html from the run directory's files. */
static int report_command(const cli *c)
{
    char summary[4200];
    snprintf(summary, sizeof summary, "%s/summary.json", c->spec);
    if (access(summary, R_OK) != 0) {
        fprintf(stderr, "%s: error: not a run directory (no readable summary.json)\n", c->spec);
        return EXIT_INPUT;
    }
    nn_diag *d = nn_diag_new();
    if (!d) return EXIT_RUN;
    if (nn_dirlock_claim(c->spec, 0, "run directory", (nn_mark){c->spec, 0, 0}, d) != 0) {
        nn_diag_print(d, stderr); /* a run still writing it renders its own report */
        nn_diag_free(d);
        return EXIT_INPUT;
    }
    int rc = nn_report_render(c->spec, d) == 0 ? EXIT_OK : EXIT_INPUT;
    if (rc == EXIT_OK)
        printf("%s/report.html\n", c->spec);
    else
        nn_diag_print(d, stderr);
    nn_diag_free(d);
    return rc;
}

static int run_command(const cli *c);

/* One cell of a sweep (sweep.c calls it): the run path with the cell's point and dir. */
static int sweep_cell(void *ctx, int point, const char *label, const char *dir)
{
    cli c = *(const cli *)ctx;
    c.cmd = "run";
    c.out = dir;
    c.force = 1; /* the cell directory may hold an interrupted attempt */
    c.point = point + 1;
    c.point_label = label;
    return run_command(&c);
}

static int sweep_command(cli *c)
{
    c->sw.spec = c->spec;
    c->sw.sets = c->sets;
    c->sw.nsets = c->nsets;
    c->sw.out = c->out;
    c->sw.threads = c->threads_given ? c->threads : 0;
    c->sw.quiet = c->quiet;
    c->sw.isa = c->isa;
    c->quiet = 1; /* a cell's own progress stays in its directory */
    return nn_sweep_run(&c->sw, sweep_cell, c);
}

/* `nnrun sample RUN_DIR|FILE`: items from a trained model, no spec file. */
static int sample_command(const cli *c)
{
    nn_diag *d = nn_diag_new();
    nn_model_file m;
    if (!d) return EXIT_RUN;
    if (nn_model_file_load(c->spec, c->prefix, c->allow_plugins, &m, d) != 0) {
        int rc = fail_input(d);
        nn_diag_free(d);
        return rc;
    }
    const nn_sample_spec *ss = &m.spec->sample;
    int count = c->count ? c->count : ss->count > 0 ? ss->count : 20;
    char **items =
        nn_trainer_sample(m.tr, count, c->has_seed ? c->seed : ss->seed,
                          c->temperature > 0 ? c->temperature : ss->temperature, ss->max_len);
    int rc = items ? EXIT_OK : EXIT_RUN;
    for (int i = 0; items && i < count; i++) {
        printf("%s\n", items[i]);
        free(items[i]);
    }
    free(items);
    nn_model_file_free(&m);
    nn_diag_free(d);
    return rc;
}

static nn_trainer *new_trainer(const cli *c, const nn_spec *spec, const nn_dataset *ds, nn_diag *d)
{
    nn_trainer *tr = nn_trainer_new(spec, ds, d);
    if (tr) nn_trainer_set_nan_check(tr, !c->no_nan_check);
    if (tr && nn_stats_attach(tr, d) != 0) { /* the report's statistics ride on the loop */
        nn_trainer_free(tr);
        return NULL;
    }
    return tr;
}

static int run_command(const cli *c)
{
    if (!strcmp(c->cmd, "report")) return report_command(c);
    if (!strcmp(c->cmd, "sweep")) return sweep_command((cli *)c);
    if (!strcmp(c->cmd, "summarize")) return nn_sweep_summarize(c->spec, stdout);
    if (!strcmp(c->cmd, "check") && !c->resolved) { /* a matrix: every cell */
        int rc = nn_sweep_check(c->spec, c->sets, c->nsets);
        if (rc >= 0) return rc;
    }
    if (!strcmp(c->cmd, "sample")) return sample_command(c);
    nn_diag *d = nn_diag_new();
    nn_spec *spec = NULL;
    nn_dataset *ds = NULL;
    nn_trainer *tr = NULL;
    int rc = EXIT_INPUT;
    if (!d) return EXIT_RUN;
    if (c->point_label) {
        char ctx[1024];
        snprintf(ctx, sizeof ctx, "matrix point %s", c->point_label);
        nn_diag_context(d, ctx);
    }
    if (!(spec = c->point ? nn_spec_load_point(c->spec, c->sets, c->nsets, c->point - 1, d)
                          : nn_spec_load(c->spec, c->sets, c->nsets, d)) ||
        !(ds = nn_dataset_load(spec, d)) || !(tr = new_trainer(c, spec, ds, d))) {
        rc = fail_input(d);
    } else if (!strcmp(c->cmd, "check")) {
        rc = check_command(c, spec, ds, tr);
    } else if (!strcmp(c->cmd, "graph")) {
        rc = graph_command(c, tr);
    } else if (!strcmp(c->cmd, "bench")) {
        rc = bench_command(c, tr);
    } else if (!strcmp(c->cmd, "gradcheck")) {
        int g = nn_gradcheck(tr, c->tolerance > 0 ? c->tolerance : NN_GRADCHECK_TOL, stdout);
        rc = g == 0 ? EXIT_OK : EXIT_RUN;
    } else {
        rc = run_experiment(c, spec, ds, tr, d);
    }
    nn_trainer_free(tr);
    nn_dataset_free(ds);
    nn_spec_free(spec);
    nn_diag_free(d);
    return rc;
}

int main(int argc, char **argv)
{
    cli c;
    memset(&c, 0, sizeof c);
    /* past a file size limit (ulimit -f), writes fail with EFBIG and the run stops with an
     * error, instead of the signal killing it mid-write */
    signal(SIGXFSZ, SIG_IGN);
    int rc = parse_args(argc, argv, &c);
    if (rc < 0) {
        if (nn_kernels_select(c.isa) != 0) {
            const char *want = c.isa ? c.isa : getenv("NNRUN_ISA");
            fprintf(stderr,
                    "nnrun: error: %s '%s' is not a kernel path this machine can run "
                    "(choose scalar%s%s)\n",
                    c.isa ? "--isa" : "NNRUN_ISA", want ? want : "",
                    nn_kernels_supported("avx2") ? ", avx2" : "",
                    nn_kernels_supported("avx512") ? ", avx512" : "");
            rc = EXIT_INPUT;
        } else {
            nn_kernels_set_threads(c.threads);
            nn_limits_set_max_memory(c.max_memory);
            nn_limits_expect_dump(c.dump_step >= 0);
            rc = run_command(&c);
            nn_kernels_set_threads(1); /* back to the calling thread (workers idle) */
        }
    }
    free(c.sets);
    return rc;
}
