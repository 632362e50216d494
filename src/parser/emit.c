/* emit.c — nn_spec → the fully resolved spec as block-style YAML (`nnrun check --resolved`,
 * runs/NAME/spec.resolved.yaml).
 *
 * The output is the spec language itself, so it reads back (nn_spec_load) to the same
 * nn_spec and emits to the same text again: every value is written so that it types back
 * to exactly what it was — floats in their shortest round-tripping form and always with a
 * '.', 'e' or '.inf' (a fraction 1.0 must not read back as the count 1), user strings
 * quoted (a regex or a name like `yes` or `1e5` stays a string), enums by their schema
 * names, paths absolute (the resolved file may live anywhere).  Defaults are written out;
 * keys that mean nothing for the chosen kinds are left out.
 */
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "emit_int.h"
#include "spec.h"

/* --- model -------------------------------------------------------------------------- */

static int init_is_flow(const nn_init *in)
{
    return in->kind != NN_INIT_VALUES && in->kind != NN_INIT_CSV && in->kind != NN_INIT_FROM;
}

/* `KEY: {kind: ..., scale: S}` on one line, or a block map at `ind` for the kinds that
 * carry lists, files or row filters. */
static void put_init(em *e, const char *key, const nn_init *in, int ind)
{
    nn_em_putf(e, "%s:", key);
    if (init_is_flow(in)) {
        nn_em_put(e, " {");
        switch (in->kind) {
        case NN_INIT_KAIMING: nn_em_put(e, "kaiming: "), nn_em_float(e, in->gain); break;
        case NN_INIT_NORMAL: nn_em_put(e, "normal: "), nn_em_float(e, in->std); break;
        case NN_INIT_UNIFORM:
            nn_em_put(e, "uniform: {a: "), nn_em_float(e, in->a);
            nn_em_put(e, ", b: "), nn_em_float(e, in->b), nn_em_put(e, "}");
            break;
        case NN_INIT_ONES: nn_em_put(e, "ones: {}"); break;
        case NN_INIT_TORCH: nn_em_put(e, "torch: {}"); break;
        default: nn_em_put(e, "zeros: {}"); break; /* NN_INIT_DEFAULT never survives the parser */
        }
        nn_em_put(e, ", scale: "), nn_em_float(e, in->scale), nn_em_put(e, "}");
        return;
    }
    ind += 2;
    if (in->kind == NN_INIT_VALUES) {
        nn_em_nl(e, ind), nn_em_put(e, "values: "),
            nn_em_floats(e, in->values, in->nvalues, ind + 2);
        nn_em_nl(e, ind), nn_em_put(e, "transpose: "), nn_em_bool(e, in->transpose);
    } else if (in->kind == NN_INIT_CSV) {
        nn_em_nl(e, ind), nn_em_put(e, "csv:");
        nn_em_nl(e, ind + 2), nn_em_put(e, "file: "), nn_em_path(e, in->file ? in->file : "");
        nn_em_nl(e, ind + 2), nn_em_put(e, "column: "), nn_em_word(e, in->column ? in->column : "");
        nn_em_nl(e, ind + 2), nn_em_put(e, "where: {");
        for (int i = 0; i < in->nwhere; i++) {
            if (i > 0) nn_em_put(e, ", ");
            nn_em_word(e, in->where[i].column), nn_em_put(e, ": "),
                nn_em_str(e, in->where[i].equals);
        }
        nn_em_put(e, "}");
        nn_em_nl(e, ind + 2), nn_em_put(e, "transpose: "), nn_em_bool(e, in->transpose);
    } else {
        nn_em_nl(e, ind), nn_em_put(e, "from: "), nn_em_path(e, in->file ? in->file : "");
        if (in->tensor) nn_em_nl(e, ind), nn_em_put(e, "tensor: "), nn_em_word(e, in->tensor);
    }
    nn_em_nl(e, ind), nn_em_put(e, "scale: "), nn_em_float(e, in->scale);
}

static void put_arg_list(em *e, const nn_arg *args, int nargs)
{
    nn_em_put(e, "{");
    for (int i = 0; i < nargs; i++) {
        const nn_arg *a = &args[i];
        if (i > 0) nn_em_put(e, ", ");
        nn_em_word(e, a->name), nn_em_put(e, ": ");
        if (a->type == NN_ARG_INT)
            nn_em_putf(e, "{int: %lld}", (long long)a->value);
        else if (a->type == NN_ARG_DOUBLE)
            nn_em_put(e, "{double: "), nn_em_float(e, a->value), nn_em_put(e, "}");
        else
            nn_em_float(e, a->value);
    }
    nn_em_put(e, "}");
}

static void put_args(em *e, const nn_layer *l)
{
    put_arg_list(e, l->args, l->nargs);
}

/* The plugins section (left out when there is none): every key written out. */
static void put_plugins(em *e, const nn_spec *s)
{
    if (s->nplugins == 0) return;
    nn_em_put(e, "\nplugins:");
    for (int i = 0; i < s->nplugins; i++) {
        const nn_plugin_spec *p = &s->plugins[i];
        nn_em_nl(e, 2), nn_em_word(e, p->name ? p->name : ""), nn_em_put(e, ":");
        nn_em_nl(e, 4), nn_em_put(e, "library: "), nn_em_path(e, p->library ? p->library : "");
        nn_em_nl(e, 4), nn_em_put(e, "forward: "), nn_em_str(e, p->forward ? p->forward : "");
        if (p->backward) nn_em_nl(e, 4), nn_em_put(e, "backward: "), nn_em_str(e, p->backward);
        nn_em_nl(e, 4), nn_em_put(e, "args: "), put_arg_list(e, p->args, p->nargs);
        nn_em_nl(e, 4), nn_em_putf(e, "form: %s", p->scalar ? "scalar" : "array");
        nn_em_nl(e, 4), nn_em_put(e, "check: "), nn_em_bool(e, p->check);
    }
}

/* A formula's params as {NAME: VALUE, ...} (floats). */
static void put_expr_params(em *e, const nn_expr_spec *x)
{
    nn_em_put(e, "{");
    for (int i = 0; i < x->nparams; i++) {
        if (i > 0) nn_em_put(e, ", ");
        nn_em_word(e, x->params[i].name), nn_em_put(e, ": "), nn_em_float(e, x->params[i].value);
    }
    nn_em_put(e, "}");
}

/* activation: {expr, params, learn, per} in block form (the expressions issue). */
static void put_expr_activation(em *e, const nn_expr_spec *x, int ind)
{
    nn_em_nl(e, ind), nn_em_put(e, "expr: "), nn_em_str(e, x->text ? x->text : "");
    nn_em_nl(e, ind), nn_em_put(e, "params: "), put_expr_params(e, x);
    nn_em_nl(e, ind), nn_em_put(e, "learn: [");
    for (int i = 0; i < x->nlearn; i++)
        nn_em_put(e, i ? ", " : ""), nn_em_word(e, x->params[x->learn[i]].name);
    nn_em_put(e, "]");
    nn_em_nl(e, ind), nn_em_putf(e, "per: %s", x->per_unit ? "unit" : "layer");
}

/* One `- KIND:` item at indent `base` with a block map of all its options. */
static void put_layer(em *e, const nn_layer *l, int base)
{
    static const char *const variance[] = {"biased", "unbiased", "pytorch"};
    const int ind = base + 4;
    nn_em_nl(e, base), nn_em_putf(e, "- %s:", nn_layer_kind_name(l->kind));
    switch (l->kind) {
    case NN_LAYER_EMBEDDING:
        nn_em_nl(e, ind), nn_em_putf(e, "dim: %d", l->dim);
        if (l->positions) nn_em_nl(e, ind), nn_em_putf(e, "positions: %d", l->positions);
        if (l->window) nn_em_nl(e, ind), nn_em_putf(e, "window: %d", l->window);
        nn_em_nl(e, ind), put_init(e, "init", &l->init, ind);
        break;
    case NN_LAYER_LAYERNORM:
        nn_em_nl(e, ind), nn_em_put(e, "eps: "), nn_em_float(e, l->eps);
        nn_em_nl(e, ind), nn_em_put(e, "affine: "), nn_em_bool(e, l->affine);
        if (l->affine) {
            nn_em_nl(e, ind), put_init(e, "init", &l->init, ind);
            nn_em_nl(e, ind), put_init(e, "bias_init", &l->bias_init, ind);
        }
        break;
    case NN_LAYER_ATTENTION:
        nn_em_nl(e, ind), nn_em_putf(e, "heads: %d", l->heads);
        nn_em_nl(e, ind), nn_em_put(e, "causal: "), nn_em_bool(e, l->causal);
        nn_em_nl(e, ind), nn_em_put(e, "bias: "), nn_em_bool(e, l->bias);
        nn_em_nl(e, ind), put_init(e, "init", &l->init, ind);
        if (l->bias) nn_em_nl(e, ind), put_init(e, "bias_init", &l->bias_init, ind);
        break;
    case NN_LAYER_GELU:
        nn_em_nl(e, ind), nn_em_putf(e, "approximate: %s", l->approximate ? "tanh" : "none");
        break;
    case NN_LAYER_DROPOUT: nn_em_nl(e, ind), nn_em_put(e, "p: "), nn_em_float(e, l->p); break;
    case NN_LAYER_LINEAR:
        if (l->out > 0)
            nn_em_nl(e, ind), nn_em_putf(e, "out: %d", l->out);
        else /* 0 cannot be written: leaving `out` out means one per class */
            nn_em_nl(e, ind), nn_em_put(e, "# out: one per class (text: the vocabulary size)");
        nn_em_nl(e, ind), nn_em_put(e, "bias: "), nn_em_bool(e, l->bias);
        nn_em_nl(e, ind), put_init(e, "init", &l->init, ind);
        if (l->bias) nn_em_nl(e, ind), put_init(e, "bias_init", &l->bias_init, ind);
        break;
    case NN_LAYER_BATCHNORM:
        nn_em_nl(e, ind), nn_em_putf(e, "variance: %s", variance[l->unbiased]);
        nn_em_nl(e, ind), nn_em_put(e, "eps: "), nn_em_float(e, l->eps);
        nn_em_nl(e, ind), nn_em_put(e, "momentum: "), nn_em_float(e, l->momentum);
        nn_em_nl(e, ind), nn_em_putf(e, "running: %s", l->running_std ? "std" : "var");
        nn_em_nl(e, ind), nn_em_putf(e, "over: %s", l->over_batch ? "batch" : "all");
        nn_em_nl(e, ind), put_init(e, "init", &l->init, ind);
        nn_em_nl(e, ind), put_init(e, "bias_init", &l->bias_init, ind);
        break;
    case NN_LAYER_ACTIVATION: /* NAME, or {NAME: {ARG: VALUE, ...}} with overrides */
        if (l->expr) {
            put_expr_activation(e, l->expr, ind);
            break;
        }
        if (l->nargs == 0) {
            nn_em_put(e, " "), nn_em_word(e, l->activation ? l->activation : "");
            break;
        }
        nn_em_nl(e, ind), nn_em_word(e, l->activation ? l->activation : ""), nn_em_put(e, ": ");
        put_args(e, l);
        break;
    case NN_LAYER_NGRAM:
        nn_em_nl(e, ind), nn_em_putf(e, "n: %d", l->n);
        nn_em_nl(e, ind), nn_em_put(e, "smoothing: "), nn_em_float(e, l->smoothing);
        break;
    case NN_LAYER_FLATTEN_CONSECUTIVE: nn_em_nl(e, ind), nn_em_putf(e, "n: %d", l->n); break;
    case NN_LAYER_RECURRENT:
        nn_em_nl(e, ind), nn_em_putf(e, "cell: %s", l->cell == NN_CELL_GRU ? "gru" : "rnn");
        nn_em_nl(e, ind), nn_em_putf(e, "hidden: %d", l->hidden);
        nn_em_nl(e, ind), put_init(e, "init", &l->init, ind);
        nn_em_nl(e, ind), put_init(e, "bias_init", &l->bias_init, ind);
        break;
    /* flatten, tanh, relu, sigmoid, onehot, causal_mean: no options */
    default: nn_em_put(e, " {}"); break;
    }
}

/* The model's items as written: layers, `- residual:` lists, `- repeat:` uses. */
static void put_items(em *e, const nn_spec *s, const nn_item *it, int n, int base)
{
    for (int i = 0; i < n; i++) {
        if (it[i].kind == NN_ITEM_LAYER) {
            put_layer(e, &it[i].layer, base);
        } else if (it[i].kind == NN_ITEM_RESIDUAL) {
            nn_em_nl(e, base), nn_em_put(e, "- residual:");
            put_items(e, s, it[i].items, it[i].nitems, base + 4);
        } else {
            nn_em_nl(e, base), nn_em_put(e, "- repeat: {block: ");
            nn_em_word(e, it[i].block >= 0 ? s->blocks[it[i].block].name : "");
            nn_em_putf(e, ", n: %d}", it[i].n);
        }
    }
}

static void put_blocks(em *e, const nn_spec *s)
{
    if (s->nblocks == 0) return;
    nn_em_put(e, "\nblocks:");
    for (int i = 0; i < s->nblocks; i++) {
        nn_em_nl(e, 2), nn_em_word(e, s->blocks[i].name), nn_em_put(e, ":");
        put_items(e, s, s->blocks[i].items, s->blocks[i].nitems, 4);
    }
}

/* --- data --------------------------------------------------------------------------- */

static void put_split(em *e, const nn_data_spec *d)
{
    static const char *const names[NN_SPLIT_COUNT] = {"train", "dev", "test"};
    nn_em_put(e, "\n  split:");
    for (int i = 0; i < NN_SPLIT_COUNT; i++) {
        nn_em_nl(e, 4), nn_em_putf(e, "%s: ", names[i]);
        if (d->split_counts)
            nn_em_putf(e, "%ld", d->split_count[i]);
        else
            nn_em_float(e, d->split[i]);
    }
    nn_em_nl(e, 4), nn_em_put(e, "shuffle: ");
    if (!d->shuffle) {
        nn_em_put(e, "false");
        return;
    }
    nn_em_putf(e, "{seed: %llu, compat: %s}", (unsigned long long)d->shuffle_seed,
               d->shuffle_compat == NN_SHUFFLE_PYTHON  ? "python"
               : d->shuffle_compat == NN_SHUFFLE_TORCH ? "torch"
                                                       : "native");
}

static void put_data(em *e, const nn_data_spec *d)
{
    nn_em_put(e, "\ndata:");
    switch (d->kind) {
    case NN_DATA_TEXT:
        nn_em_put(e, "\n  source: "), nn_em_path(e, d->source ? d->source : "");
        if (d->filter) nn_em_put(e, "\n  filter: "), nn_em_str(e, d->filter);
        nn_em_put(e, "\n  tokens: ");
        if (d->tokens == NN_TOKENS_PATTERN)
            nn_em_put(e, "{pattern: "), nn_em_str(e, d->token_pattern ? d->token_pattern : ""),
                nn_em_put(e, "}");
        else
            nn_em_put(e, "chars");
        nn_em_putf(e, "\n  context: %d", d->context);
        if (d->sequence) nn_em_put(e, "\n  examples: sequence");
        break;
    case NN_DATA_GENERATE:
        nn_em_putf(e, "\n  generate: %s", d->generator == NN_GEN_XOR ? "xor" : "moons");
        nn_em_putf(e, "\n  n: %ld", d->gen_n);
        nn_em_put(e, "\n  noise: "), nn_em_float(e, d->gen_noise);
        nn_em_putf(e, "\n  seed: %llu", (unsigned long long)d->gen_seed);
        break;
    case NN_DATA_CSV:
        nn_em_put(e, "\n  csv: "), nn_em_path(e, d->source ? d->source : "");
        nn_em_put(e, "\n  x: [");
        for (int i = 0; i < d->nx; i++) {
            if (i > 0) nn_em_put(e, ", ");
            nn_em_word(e, d->x_cols[i]);
        }
        nn_em_put(e, "]\n  y: "), nn_em_word(e, d->y_col ? d->y_col : "");
        break;
    case NN_DATA_INLINE:
        nn_em_put(e, "\n  inline:\n    x:");
        for (int r = 0; r < d->inline_rows; r++) {
            nn_em_nl(e, 6), nn_em_put(e, "- ");
            nn_em_floats(e, d->inline_x + (long)r * d->inline_cols, d->inline_cols, 10);
        }
        if (d->inline_rows == 0) nn_em_put(e, " []");
        nn_em_put(e, "\n    y: "), nn_em_floats(e, d->inline_y, d->inline_rows, 6);
        break;
    }
    put_split(e, d);
}

/* --- train -------------------------------------------------------------------------- */

static void put_lr(em *e, const nn_lr_spec *lr)
{
    if (lr->kind == NN_LR_CONSTANT && lr->warmup <= 0) {
        nn_em_put(e, "\n  lr: "), nn_em_float(e, lr->value);
        return;
    }
    nn_em_put(e, "\n  lr:");
    switch (lr->kind) {
    case NN_LR_CONSTANT: nn_em_put(e, "\n    constant: "), nn_em_float(e, lr->value); break;
    case NN_LR_STEPS:
        nn_em_put(e, "\n    steps:\n      boundaries: [");
        for (int i = 0; i < lr->nboundaries; i++)
            nn_em_putf(e, "%s%ld", i ? ", " : "", lr->boundaries[i]);
        nn_em_put(e, "]\n      values: "), nn_em_floats(e, lr->values, lr->nboundaries + 1, 8);
        break;
    case NN_LR_EXPONENTIAL:
        nn_em_put(e, "\n    exponential: {start: "), nn_em_float(e, lr->start);
        nn_em_put(e, ", gamma: "), nn_em_float(e, lr->gamma), nn_em_put(e, "}");
        break;
    case NN_LR_COSINE:
    case NN_LR_LINEAR:
        nn_em_putf(e, "\n    %s: {start: ", lr->kind == NN_LR_COSINE ? "cosine" : "linear");
        nn_em_float(e, lr->start), nn_em_put(e, ", end: "), nn_em_float(e, lr->end),
            nn_em_put(e, "}");
        break;
    case NN_LR_FIND:
        nn_em_put(e, "\n    find: {min: "), nn_em_float(e, lr->start);
        nn_em_put(e, ", max: "), nn_em_float(e, lr->end), nn_em_put(e, "}");
        break;
    }
    if (lr->warmup > 0) nn_em_putf(e, "\n    warmup: %ld", lr->warmup);
}

static void put_train(em *e, const nn_train_spec *t)
{
    static const char *const losses[] = {"cross_entropy", "hinge", "mse", "value"};
    nn_em_putf(e, "\ntrain:\n  steps: %ld", t->steps);
    if (t->full_batch)
        nn_em_put(e, "\n  batch: full");
    else
        nn_em_putf(e, "\n  batch: %d", t->batch);
    /* cross_entropy takes no options: it is the mean over the batch */
    if (t->loss == NN_LOSS_HINGE || t->loss == NN_LOSS_MSE)
        nn_em_putf(e, "\n  loss: {%s: {reduce: %s}}", losses[t->loss],
                   t->loss_sum ? "sum" : "mean");
    else if (t->loss == NN_LOSS_VALUE)
        nn_em_put(e, "\n  loss: value"); /* no options: the sum of the outputs */
    else if (t->loss == NN_LOSS_EXPR && t->loss_expr) {
        nn_em_put(e, "\n  loss: {expr: "),
            nn_em_str(e, t->loss_expr->text ? t->loss_expr->text : "");
        if (t->loss_expr->nparams) nn_em_put(e, ", params: "), put_expr_params(e, t->loss_expr);
        nn_em_putf(e, ", reduce: %s}", t->loss_sum ? "sum" : "mean");
    } else
        nn_em_put(e, "\n  loss: cross_entropy");
    if (t->optimizer == NN_OPT_ADAM) {
        nn_em_put(e, "\n  optimizer:\n    adam: {beta1: "), nn_em_float(e, t->beta1);
        nn_em_put(e, ", beta2: "), nn_em_float(e, t->beta2);
        nn_em_put(e, ", eps: "), nn_em_float(e, t->eps);
        nn_em_put(e, ", weight_decay: "), nn_em_float(e, t->weight_decay);
        if (t->decay_matrices) nn_em_put(e, ", decay: matrices"); /* else the default, all */
        nn_em_put(e, "}");
    } else {
        nn_em_put(e, "\n  optimizer:\n    sgd: {momentum: "), nn_em_float(e, t->momentum);
        if (t->momentum > 0)
            nn_em_put(e, ", nesterov: "), nn_em_bool(e, t->nesterov); /* else moot */
        nn_em_put(e, "}");
    }
    put_lr(e, &t->lr);
    if (t->clip_norm > 0)
        nn_em_put(e, "\n  clip: {norm: "), nn_em_float(e, t->clip_norm), nn_em_put(e, "}");
    /* no term at all: the plain 0 (reduce and params mean nothing then) */
    if (t->l2 == 0 && t->l2_reduce == NN_L2_MEAN && !t->l2_all) {
        nn_em_put(e, "\n  l2: "), nn_em_float(e, t->l2);
        return;
    }
    nn_em_put(e, "\n  l2: {coef: "), nn_em_float(e, t->l2);
    nn_em_putf(e, ", reduce: %s, params: %s}", t->l2_reduce == NN_L2_SUM ? "sum" : "mean",
               t->l2_all ? "all" : "weights");
}

/* --- eval, sample, report, top level -------------------------------------------------- */

static void put_eval(em *e, const nn_eval_spec *ev)
{
    static const char *const names[NN_SPLIT_COUNT] = {"train", "dev", "test"};
    nn_em_putf(e, "\neval:\n  every: %ld\n  splits: [", ev->every);
    for (int i = 0, first = 1; i < NN_SPLIT_COUNT; i++) {
        if (!(ev->splits & 1 << i)) continue;
        nn_em_putf(e, "%s%s", first ? "" : ", ", names[i]);
        first = 0;
    }
    nn_em_put(e, "]");
    if (ev->start) nn_em_put(e, "\n  start: true");
    /* only when given: the default follows train.steps (and every resolved spec before
     * this key keeps its text and hash) */
    if (ev->log_every > 0) nn_em_putf(e, "\n  log_every: %ld", ev->log_every);
}

static void put_sample(em *e, const nn_sample_spec *sa)
{
    nn_em_putf(e, "\nsample:\n  count: %d\n  seed: %llu", sa->count, (unsigned long long)sa->seed);
    nn_em_put(e, "\n  temperature: "), nn_em_float(e, sa->temperature);
    nn_em_putf(e, "\n  max_len: %d", sa->max_len);
    nn_em_put(e, "\n  replacement: "), nn_em_bool(e, !sa->without_replacement);
    if (sa->top_k) nn_em_putf(e, "\n  top_k: %d", sa->top_k);
    if (sa->prefix) nn_em_put(e, "\n  prefix: "), nn_em_str(e, sa->prefix);
}

static void put_report(em *e, const nn_report_spec *r)
{
    nn_em_put(e, "\nreport:\n  plots: ");
    if (r->plots_all || r->nplots == 0) {
        nn_em_put(e, r->plots_all ? "all" : "none");
    } else {
        nn_em_put(e, "[");
        for (int i = 0; i < r->nplots; i++) {
            if (i > 0) nn_em_put(e, ", ");
            nn_em_word(e, r->plots[i]);
        }
        nn_em_put(e, "]");
    }
    if (r->every > 0) nn_em_putf(e, "\n  every: %ld", r->every); /* 0: the runtime's default */
}

/* checkpoint and init_from only when given: specs without them resolve (and hash) as before */
static void put_checkpoint(em *e, const nn_spec *s)
{
    if (s->checkpoint.every > 0 || s->checkpoint.keep_best)
        nn_em_putf(e, "\ncheckpoint:\n  every: %ld\n  keep: %s", s->checkpoint.every,
                   s->checkpoint.keep_best ? "best" : "last");
    if (s->init_from) nn_em_put(e, "\ninit_from: "), nn_em_path(e, s->init_from);
}

#define HEADER "# resolved by nnrun "

/* The FILE of a resolved spec's header line, when `path` is one (malloc'd), else NULL. */
static char *resolved_from(const char *path)
{
    char line[8192], *from = NULL;
    FILE *f = fopen(path, "r");
    if (!f) return NULL;
    if (fgets(line, sizeof line, f) && !strncmp(line, HEADER, strlen(HEADER)) &&
        (from = strstr(line, " from "))) {
        from += 6;
        from[strcspn(from, "\r\n")] = 0;
        from = strdup(from);
    }
    fclose(f);
    return from;
}

/* The header comment names the file resolved.  A resolved spec fed back keeps the name
 * of its origin, so that resolving is idempotent byte for byte.  A newline in the name
 * would end the comment. */
static void put_header(em *e, const char *path)
{
    char *abs = path ? resolved_from(path) : NULL;
    if (!abs && path) abs = realpath(path, NULL);
    const char *p = abs ? abs : path ? path : "?";
    fprintf(e->f, HEADER "%s from ", PACKAGE_VERSION);
    for (; *p; p++)
        fputc(*p == '\n' || *p == '\r' ? '?' : *p, e->f);
    fputc('\n', e->f);
    free(abs);
}

int nn_spec_emit(const nn_spec *s, FILE *out)
{
    if (!s || !out) return -1;
    em e = {out, 0};
    put_header(&e, s->path);
    nn_em_put(&e, "name: "), nn_em_word(&e, s->name ? s->name : "");
    nn_em_putf(&e, "\nseed: %llu", (unsigned long long)s->seed);
    nn_em_putf(&e, "\nrng: %s",
               s->rng != NN_RNG_TORCH ? "native"
               : s->rng_global        ? "{torch: global}"
                                      : "torch");
    put_data(&e, &s->data);
    put_plugins(&e, s);
    put_blocks(&e, s);
    nn_em_put(&e, "\nmodel:");
    put_items(&e, s, s->model, s->nmodel, 2);
    for (int i = 0; !s->nmodel && i < s->nlayers; i++) /* a spec made in code: layers only */
        put_layer(&e, &s->layers[i], 2);
    put_train(&e, &s->train);
    put_eval(&e, &s->eval);
    if (s->data.kind == NN_DATA_TEXT) put_sample(&e, &s->sample); /* sampling needs tokens */
    put_report(&e, &s->report);
    put_checkpoint(&e, s);
    nn_em_put(&e, "\n");
    return fflush(out) == 0 && !ferror(out) ? 0 : -1;
}
