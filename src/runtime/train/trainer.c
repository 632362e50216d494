/* trainer.c — setting up a trainer (graphs, plans, parameters, plugins, the sample
 * prefix), freeing it, the accessors through which the modules around the step loop read
 * it, and attaching those modules (hooks.h). */
#include <stdlib.h>
#include <string.h>

#include "kernels/parallel.h"
#include "runtime/exec/expr_check.h"
#include "runtime/exec/limits.h"
#include "runtime/plugin/plugin.h"
#include "runtime/store/checkpoint.h"
#include "runtime/train/trainer_int.h"

#define NN_MAX_BATCH (1 << 24) /* rows per step: int offsets in the kernels stay in range */

/* sample.prefix as token ids, checked against the vocabulary before any training. */
static int encode_prefix(nn_trainer *tr, nn_diag *d)
{
    const nn_spec *spec = tr->spec;
    const char *text = spec->sample.prefix;
    if (!text || !*text || spec->sample.count == 0) return 0;
    nn_mark at = spec->sample.prefix_mark;
    if (tr->ds->kind != NN_DATASET_TEXT) {
        nn_diag_error(d, at, "sample.prefix needs text data");
        return -1;
    }
    int max = (int)strlen(text) + 1, bad = 0;
    if (!(tr->prefix = malloc((size_t)max * sizeof *tr->prefix))) return -1;
    tr->nprefix = nn_dataset_encode(tr->ds, spec, text, tr->prefix, max, &bad);
    if (tr->nprefix < 0) {
        nn_diag_error(d, at, "sample.prefix '%s': '%.*s' at byte %d is not in the vocabulary", text,
                      text[bad] & 0x80 ? 4 : 1, text + bad, bad + 1);
        nn_diag_note(d, "the vocabulary is the characters of the training data");
        return -1;
    }
    return 0;
}

nn_trainer *nn_trainer_new(const nn_spec *spec, const nn_dataset *ds, nn_diag *d)
{
    nn_trainer *tr = calloc(1, sizeof *tr);
    if (!tr) return NULL;
    tr->spec = spec;
    tr->ds = ds;
    tr->grad_check = 1;
    int errors = nn_diag_count(d);
    if (spec->nlayers == 1 && spec->layers[0].kind == NN_LAYER_NGRAM) {
        /* an empty parameter set (count 0), so callers that report tr->P need no case */
        tr->P = calloc(1, sizeof *tr->P);
        if (!tr->P || !(tr->ngram = nn_ngram_new(spec, ds, d)) || encode_prefix(tr, d) != 0)
            goto fail;
        return tr;
    }
    if (ds->kind == NN_DATASET_TEXT && spec->train.loss != NN_LOSS_CROSS_ENTROPY) {
        nn_diag_error(d, spec->train.loss_mark,
                      "%s needs numeric targets, but text data gives "
                      "next-token ids",
                      spec->train.loss == NN_LOSS_HINGE  ? "hinge"
                      : spec->train.loss == NN_LOSS_EXPR ? "a formula loss"
                                                         : "mse");
        nn_diag_note(d, "use 'loss: cross_entropy' with text data");
        goto fail;
    }
    long rows = spec->train.full_batch ? ds->split[NN_SPLIT_TRAIN].n : spec->train.batch;
    if (rows > NN_MAX_BATCH) {
        nn_diag_error(d, spec->data.split_mark,
                      "batch: full would run %ld rows per step; the "
                      "most is %d",
                      rows, NN_MAX_BATCH);
        goto fail;
    }
    tr->batch = (int)rows;
    /* plugins load (and run their checks) before any graph is built */
    if (nn_plugins_load(spec, &tr->plugins, d) != 0) goto fail;
    const nn_callable *const *fns = nn_plugins_layer_fns(tr->plugins);
    int seq = ds->ytw > 1;
    nn_build_opts to = {tr->batch, 1, 1, ds->vocab, ds->context, ds->features, seq};
    nn_build_opts eo = {NN_EVAL_ROWS, 0, 0, ds->vocab, ds->context, ds->features, seq};
    if (!(tr->train_g = nn_build_fns(spec, &to, fns, d)) ||
        !(tr->eval_g = nn_build_fns(spec, &eo, fns, d)) ||
        nn_expr_check_graph(tr->train_g, d) != 0) /* formulas: FD check at load */
        goto fail;
    int nev = nn_parallel_threads() < NN_MAX_THREADS ? nn_parallel_threads() : NN_MAX_THREADS;
    /* every allocation of the run, those made later too: the report's statistics when the
     * spec asks for plots (nn_stats_wanted; the CLI attaches them), an evaluation beside
     * training (as nn_eval_bg_new decides), --dump-step's plan */
    nn_limits_extra extra = {spec->report.plots_all || spec->report.nplots > 0,
                             spec->eval.every > 0 && nev >= 2 && !tr->plugins &&
                                 !spec->checkpoint.keep_best,
                             nn_limits_dump_expected()};
    if (nn_limits_check(tr->train_g, tr->eval_g, nev, nn_optim_state_arrays(&spec->train), &extra,
                        spec->layers[0].mark, d) != 0)
        goto fail; /* before any of it is allocated */
    if (!(tr->P = nn_params_new(tr->train_g, nn_optim_state_arrays(&spec->train)))) goto fail;
    if (!(tr->train_p = nn_plan_lower(tr->train_g, tr->P, NN_LOWER_FAST))) goto fail;
    if (!(tr->eval_p = nn_plan_lower(tr->eval_g, tr->P, NN_LOWER_FAST))) goto fail;
    tr->neval = nn_parallel_threads() < NN_MAX_THREADS ? nn_parallel_threads() : NN_MAX_THREADS;
    for (int t = 1; t < tr->neval; t++)
        if (!(tr->eval_more[t - 1] = nn_plan_lower(tr->eval_g, tr->P, NN_LOWER_FAST))) goto fail;
    nn_rng_seed(&tr->rng, spec->rng == NN_RNG_TORCH, spec->seed);
    /* makemore.py's one global stream: torch.manual_seed(s); randperm (the split); the init;
     * then the DataLoader draws its base seed and, at the first batch, the RandomSampler's
     * seed (each 64 bits, high word first), which seeds the sampler's own mt19937 with its
     * low 32 bits; batches are draw() mod n from that generator. */
    int replay =
        spec->rng == NN_RNG_TORCH && ds->shuffle_draws && spec->data.shuffle_seed == spec->seed;
    for (long i = 0; replay && i < ds->shuffle_draws; i++)
        nn_rng_u32(&tr->rng);
    if (nn_params_init(tr->P, &tr->rng, nn_ckpt_init_param, d) != 0 ||
        nn_ckpt_init_from(tr->P, spec, ds, d) != 0 || encode_prefix(tr, d) != 0)
        goto fail;
    nn_params_seed_streams(tr->P, spec->seed); /* dropout's own stream of the run's seed */
    if (replay) {
        for (int k = 0; k < 3; k++) /* the loader's base seed, the sampler seed's high word */
            nn_rng_u32(&tr->rng);
        nn_rng_seed(&tr->rng, 1, nn_rng_u32(&tr->rng));
    }
    return tr;
fail:
    if (nn_diag_count(d) == errors) {
        nn_mark m = spec->nlayers > 0 ? spec->layers[0].mark : (nn_mark){spec->path, 1, 1};
        nn_diag_error(d, m, "out of memory building the model");
    }
    nn_trainer_free(tr);
    return NULL;
}

void nn_trainer_free(nn_trainer *tr)
{
    if (!tr) return;
    for (int k = 0; k < tr->nhooks; k++) /* the hooks the trainer owns (statistics) */
        if (tr->hook[k]->free) tr->hook[k]->free(tr->hook_ctx[k]);
    nn_plan_free(tr->train_p);
    nn_plan_free(tr->eval_p);
    for (int t = 0; t < NN_MAX_THREADS - 1; t++)
        nn_plan_free(tr->eval_more[t]);
    nn_graph_free(tr->train_g);
    nn_graph_free(tr->eval_g);
    nn_params_free(tr->P);
    nn_ngram_free(tr->ngram);
    free(tr->prefix);
    nn_plugins_free(tr->plugins); /* after the graphs and plans that call into them */
    free(tr);
}

int nn_trainer_attach(nn_trainer *tr, const nn_train_hooks *h, void *ctx)
{
    if (tr->nhooks == NN_MAX_HOOKS) return -1;
    tr->hook[tr->nhooks] = h;
    tr->hook_ctx[tr->nhooks++] = ctx;
    return 0;
}

void nn_trainer_detach(nn_trainer *tr, const void *ctx)
{
    for (int k = 0; k < tr->nhooks; k++)
        if (tr->hook_ctx[k] == ctx) {
            memmove(tr->hook + k, tr->hook + k + 1,
                    (size_t)(tr->nhooks - k - 1) * sizeof *tr->hook);
            memmove(tr->hook_ctx + k, tr->hook_ctx + k + 1,
                    (size_t)(tr->nhooks - k - 1) * sizeof *tr->hook_ctx);
            tr->nhooks--;
            return;
        }
}

void *nn_trainer_hook_ctx(const nn_trainer *tr, const nn_train_hooks *h)
{
    for (int k = 0; k < tr->nhooks; k++)
        if (tr->hook[k] == h) return tr->hook_ctx[k];
    return NULL;
}

const nn_spec *nn_trainer_spec(const nn_trainer *tr)
{
    return tr->spec;
}

const nn_dataset *nn_trainer_data(const nn_trainer *tr)
{
    return tr->ds;
}

nn_params *nn_trainer_params(const nn_trainer *tr)
{
    return tr->P;
}

const nn_graph *nn_trainer_graph(const nn_trainer *tr, int which)
{
    return which == NN_EVALUATION ? tr->eval_g : tr->train_g;
}

nn_plan *nn_trainer_plan(const nn_trainer *tr, int which)
{
    return which == NN_EVALUATION ? tr->eval_p : tr->train_p;
}

const nn_ngram *nn_trainer_ngram(const nn_trainer *tr)
{
    return tr->ngram;
}

int nn_trainer_batch(const nn_trainer *tr)
{
    return tr->batch;
}

int nn_trainer_eval_threads(const nn_trainer *tr)
{
    return tr->neval;
}

nn_rng *nn_trainer_rng(nn_trainer *tr)
{
    return &tr->rng;
}

struct nn_plugins *nn_trainer_plugins(const nn_trainer *tr)
{
    return tr->plugins;
}

void nn_trainer_set_nan_check(nn_trainer *tr, int on)
{
    tr->grad_check = on;
}

void nn_trainer_set_eval_inline(nn_trainer *tr, int on)
{
    tr->eval_inline = on;
}

int nn_trainer_eval_inline(const nn_trainer *tr)
{
    return tr->eval_inline;
}

nn_model_ref nn_trainer_model(const nn_trainer *tr)
{
    nn_model_ref m = {tr->spec, tr->ds, tr->P, tr->ngram};
    return m;
}
