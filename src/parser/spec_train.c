/* spec_train.c — the `train:` section → nn_train_spec: steps, batch, the loss, the
 * optimizer, the learning-rate schedule (with an optional warm-up), the L2 term and
 * gradient clipping. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "spec_int.h"

static const nn_range R_NONNEG = {0, INFINITY, 0, 0}; /* [0, ∞) */
static const nn_range R_POS = {0, INFINITY, 1, 0};    /* (0, ∞) */
static const nn_range R_BETA = {0, 1, 0, 1};          /* [0, 1) */

/* `batch: N` or `batch: full` (the whole training split every step). */
static void train_batch(nn_sctx *c, const nn_ynode *n, nn_train_spec *t)
{
    static const char *const words[] = {"full", NULL};
    char buf[128];
    if (nn_sv_type(n) != NN_VSTR) {
        if (nn_sv_int(c, n, "train.batch", 1, 1048576, &t->batch)) t->full_batch = 0;
        return;
    }
    if (nn_yscalar_is(n, "full")) {
        t->full_batch = 1;
        return;
    }
    const char *s = memchr(n->text, 0, n->len) ? NULL : nn_suggest(n->text, words);
    nn_sv_error(c, n->mark,
                "unknown value %s for 'train.batch'%s; expected an integer from 1 to 1048576 "
                "or 'full'",
                nn_sv_show(n, buf, sizeof buf), s ? " (did you mean 'full'?)" : "");
}

/* cross_entropy | hinge | mse | value | {mse: {reduce: sum|mean}} | {hinge: {reduce: ...}} */
static void train_loss(nn_sctx *c, const nn_ynode *n, nn_train_spec *t)
{
    static const char *const losses[] = {"cross_entropy", "hinge", "mse", "value", NULL};
    static const char *const keys[] = {"reduce", NULL}, *const reduce[] = {"mean", "sum", NULL};
    const nn_ynode *o;
    int k;
    t->loss_mark = n->mark;
    if (n->kind == NN_YMAP && nn_ymap_find(n, "expr", 4) >= 0) {
        nn_spec_expr_loss(c, n, t); /* a formula (spec_expr.c) */
        return;
    }
    if (!nn_sv_variant(c, n, "train.loss", losses, "{mse: {reduce: sum}}", &k, &o)) return;
    t->loss = (nn_loss_kind)k;
    t->loss_mark = n->kind == NN_YMAP ? nn_ymap_key(n, 0)->mark : n->mark;
    if (!o || nn_sv_type(o) == NN_VNULL) return;
    char path[64];
    snprintf(path, sizeof path, "train.loss.%s", losses[k]);
    if (k == NN_LOSS_CROSS_ENTROPY || k == NN_LOSS_VALUE) {
        nn_sv_error(c, o->mark, "'%s' takes no options (it is the %s)", path,
                    k == NN_LOSS_VALUE ? "sum of the model's outputs" : "mean over the batch");
        return;
    }
    if (!nn_sv_map(c, o, path)) return;
    for (int i = 0; i < o->n; i++) {
        if (nn_sv_key_is(o, i, "reduce"))
            nn_sv_enum(c, nn_ymap_value(o, i), "train.loss.reduce", reduce, &t->loss_sum);
        else
            nn_sv_unknown_key(c, nn_ymap_key(o, i), path, keys);
    }
}

static void opt_sgd(nn_sctx *c, const nn_ynode *o, nn_train_spec *t)
{
    static const char *const keys[] = {"momentum", "nesterov", NULL};
    const nn_ynode *nest = NULL;
    for (int i = 0; i < o->n; i++) {
        const nn_ynode *v = nn_ymap_value(o, i);
        if (nn_sv_key_is(o, i, "momentum"))
            nn_sv_float(c, v, "train.optimizer.sgd.momentum", R_BETA, &t->momentum);
        else if (nn_sv_key_is(o, i, "nesterov")) {
            if (nn_sv_bool(c, v, "train.optimizer.sgd.nesterov", &t->nesterov)) nest = v;
        } else
            nn_sv_unknown_key(c, nn_ymap_key(o, i), "train.optimizer.sgd", keys);
    }
    if (nest && t->nesterov && !(t->momentum > 0))
        nn_sv_error(c, nest->mark,
                    "'train.optimizer.sgd.nesterov' needs a momentum above 0, "
                    "e.g. {sgd: {momentum: 0.9, nesterov: true}}");
}

/* adam and adamw: the same update (decoupled weight decay, as torch.optim.AdamW); `name`
 * is the key the user wrote, for the messages. */
static void opt_adam(nn_sctx *c, const nn_ynode *o, const char *name, nn_train_spec *t)
{
    static const char *const keys[] = {"beta1", "beta2", "eps", "weight_decay", "decay", NULL};
    static const char *const decay[] = {"all", "matrices", NULL};
    double *field[] = {&t->beta1, &t->beta2, &t->eps, &t->weight_decay};
    const nn_range ranges[] = {R_BETA, R_BETA, R_POS, R_NONNEG};
    for (int i = 0; i < o->n; i++) {
        int k = -1;
        for (int j = 0; keys[j]; j++)
            if (nn_sv_key_is(o, i, keys[j])) k = j;
        char path[64], base[32];
        snprintf(base, sizeof base, "train.optimizer.%s", name);
        snprintf(path, sizeof path, "%s.%s", base, k >= 0 ? keys[k] : "");
        if (k == 4)
            nn_sv_enum(c, nn_ymap_value(o, i), path, decay, &t->decay_matrices);
        else if (k >= 0)
            nn_sv_float(c, nn_ymap_value(o, i), path, ranges[k], field[k]);
        else
            nn_sv_unknown_key(c, nn_ymap_key(o, i), base, keys);
    }
}

static void train_optimizer(nn_sctx *c, const nn_ynode *n, nn_train_spec *t)
{
    static const char *const kinds[] = {"sgd", "adam", "adamw", NULL};
    const nn_ynode *o;
    int k;
    if (!nn_sv_variant(c, n, "train.optimizer", kinds, "{sgd: {momentum: 0.9}}", &k, &o)) return;
    t->optimizer = k ? NN_OPT_ADAM : NN_OPT_SGD;
    if (k == 2) t->weight_decay = 0.01; /* torch.optim.AdamW's default */
    if (!o || nn_sv_type(o) == NN_VNULL) return;
    char path[32];
    snprintf(path, sizeof path, "train.optimizer.%s", kinds[k]);
    if (!nn_sv_map(c, o, path)) return;
    if (k)
        opt_adam(c, o, kinds[k], t);
    else
        opt_sgd(c, o, t);
}

/* {norm: X}: torch.nn.utils.clip_grad_norm_(parameters, X) before every update. */
static void train_clip(nn_sctx *c, const nn_ynode *n, nn_train_spec *t)
{
    static const char *const keys[] = {"norm", NULL};
    char buf[128];
    if (n->kind != NN_YMAP) {
        nn_sv_error(c, n->mark,
                    "'train.clip' takes a map {norm: MAX} (the largest global norm of the "
                    "gradients, e.g. clip: {norm: 1.0}), got %s",
                    n->kind == NN_YSCALAR ? nn_sv_show(n, buf, sizeof buf) : "a sequence");
        return;
    }
    for (int i = 0; i < n->n; i++) {
        if (nn_sv_key_is(n, i, "norm"))
            nn_sv_float(c, nn_ymap_value(n, i), "train.clip.norm", R_POS, &t->clip_norm);
        else
            nn_sv_unknown_key(c, nn_ymap_key(n, i), "train.clip", keys);
    }
    if (nn_ymap_find(n, "norm", 4) < 0) nn_sv_missing(c, n, "norm", "train.clip");
}

/* {boundaries: [...], values: [...]}: a piecewise-constant schedule. */
static void lr_steps(nn_sctx *c, const nn_ynode *n, nn_lr_spec *lr)
{
    static const char *const keys[] = {"boundaries", "values", NULL};
    if (!nn_sv_map(c, n, "train.lr.steps")) return;
    const nn_ynode *b = NULL, *v = NULL;
    for (int i = 0; i < n->n; i++) {
        if (nn_sv_key_is(n, i, "boundaries"))
            b = nn_ymap_value(n, i);
        else if (nn_sv_key_is(n, i, "values"))
            v = nn_ymap_value(n, i);
        else
            nn_sv_unknown_key(c, nn_ymap_key(n, i), "train.lr.steps", keys);
    }
    if (!b) nn_sv_missing(c, n, "boundaries", "train.lr.steps");
    if (!v) nn_sv_missing(c, n, "values", "train.lr.steps");
    int okb = b && nn_sv_seq(c, b, "train.lr.steps.boundaries");
    int okv = v && nn_sv_seq(c, v, "train.lr.steps.values");
    if (!okb || !okv) return;
    free(lr->boundaries);
    free(lr->values);
    lr->boundaries = calloc((size_t)b->n + 1, sizeof *lr->boundaries);
    lr->values = calloc((size_t)v->n + 1, sizeof *lr->values);
    if (!lr->boundaries || !lr->values) abort();
    lr->nboundaries = b->n;
    for (int i = 0; i < b->n; i++) {
        char path[64];
        snprintf(path, sizeof path, "train.lr.steps.boundaries.%d", i);
        if (!nn_sv_long(c, b->items[i], path, 1, 1000000000000L, &lr->boundaries[i])) continue;
        if (i > 0 && lr->boundaries[i] <= lr->boundaries[i - 1])
            nn_sv_error(
                c, b->items[i]->mark,
                "'train.lr.steps.boundaries' must be strictly increasing, got %ld after %ld",
                lr->boundaries[i], lr->boundaries[i - 1]);
    }
    for (int i = 0; i < v->n; i++) {
        char path[64];
        snprintf(path, sizeof path, "train.lr.steps.values.%d", i);
        nn_sv_float(c, v->items[i], path, R_POS, &lr->values[i]);
    }
    if (v->n != b->n + 1)
        nn_sv_error(c, n->mark,
                    "'train.lr.steps' needs one more value than boundaries: got %d boundaries and "
                    "%d values",
                    b->n, v->n);
}

/* {start, end} / {start, gamma} / {min, max}: keys[i] (NULL-terminated) into out[i],
 * each in ranges[i]; req[i]: required. */
static int lr_params(nn_sctx *c, const nn_ynode *n, const char *path, const char *const *keys,
                     const nn_range *ranges, const int *req, double *const *out)
{
    char p[64];
    int ok = 1;
    if (!nn_sv_map(c, n, path)) return 0;
    for (int i = 0; i < n->n; i++) {
        int k = -1;
        for (int j = 0; keys[j]; j++)
            if (nn_sv_key_is(n, i, keys[j])) k = j;
        snprintf(p, sizeof p, "%s.%s", path, k >= 0 ? keys[k] : "");
        if (k >= 0)
            ok &= nn_sv_float(c, nn_ymap_value(n, i), p, ranges[k], out[k]);
        else
            nn_sv_unknown_key(c, nn_ymap_key(n, i), path, keys), ok = 0;
    }
    for (int j = 0; keys[j]; j++)
        if (req[j] && nn_ymap_find(n, keys[j], strlen(keys[j])) < 0)
            ok = 0, nn_sv_missing(c, n, keys[j], path);
    return ok;
}

/* The value of schedule kind k. */
static void lr_kind(nn_sctx *c, const nn_ynode *v, int k, nn_lr_spec *lr)
{
    static const char *const se[] = {"start", "end", NULL}, *const sg[] = {"start", "gamma", NULL};
    static const char *const mm[] = {"min", "max", NULL};
    static const int both[] = {1, 1}, first[] = {1, 0}, none[] = {0, 0};
    const nn_range pos_pos[] = {R_POS, R_POS}, pos_nn[] = {R_POS, R_NONNEG},
                   nn_nn[] = {R_NONNEG, R_NONNEG};
    double *start_end[] = {&lr->start, &lr->end}, *start_gamma[] = {&lr->start, &lr->gamma};
    lr->kind = (nn_lr_kind)k;
    switch (lr->kind) {
    case NN_LR_CONSTANT: nn_sv_float(c, v, "train.lr.constant", R_POS, &lr->value); break;
    case NN_LR_STEPS: lr_steps(c, v, lr); break;
    case NN_LR_EXPONENTIAL:
        lr_params(c, v, "train.lr.exponential", sg, pos_pos, both, start_gamma);
        break;
    case NN_LR_COSINE:
        lr->end = 0;
        lr_params(c, v, "train.lr.cosine", se, pos_nn, first, start_end);
        break;
    case NN_LR_LINEAR:
        if (lr_params(c, v, "train.lr.linear", se, nn_nn, both, start_end) && lr->start == 0 &&
            lr->end == 0)
            nn_sv_error(c, v->mark, "'train.lr.linear' needs start or end above 0");
        break;
    case NN_LR_FIND:
        lr->start = 1e-3, lr->end = 1;
        if (v->kind == NN_YSCALAR && nn_sv_type(v) == NN_VNULL) break; /* find: (defaults) */
        if (lr_params(c, v, "train.lr.find", mm, pos_pos, none, start_end) &&
            !(lr->end > lr->start))
            nn_sv_error(c, v->mark, "'train.lr.find' needs min < max, got min = %g and max = %g",
                        lr->start, lr->end);
        break;
    }
}

/* A positive number, or a map with one schedule kind and an optional `warmup: STEPS`. */
static void train_lr(nn_sctx *c, const nn_ynode *n, nn_lr_spec *lr)
{
    static const char *const kinds[] = {"constant", "steps", "exponential", "cosine",
                                        "linear",   "find",  NULL};
    static const char *const keys[] = {"constant", "steps", "exponential", "cosine",
                                       "linear",   "find",  "warmup",      NULL};
    char buf[128];
    lr->mark = n->mark;
    if (n->kind != NN_YMAP) {
        if (nn_sv_float(c, n, "train.lr", R_POS, &lr->value)) lr->kind = NN_LR_CONSTANT;
        return;
    }
    const nn_ynode *kind_key = NULL;
    int unknown = 0;
    for (int i = 0; i < n->n; i++) {
        const nn_ynode *key = nn_ymap_key(n, i);
        int k = -1;
        for (int j = 0; kinds[j]; j++)
            if (nn_yscalar_is(key, kinds[j])) k = j;
        if (nn_yscalar_is(key, "warmup")) {
            nn_sv_long(c, nn_ymap_value(n, i), "train.lr.warmup", 0, 1000000000000L, &lr->warmup);
        } else if (k < 0) {
            nn_sv_unknown_key(c, key, "train.lr", keys);
            unknown = 1;
        } else if (kind_key) {
            nn_sv_error(c, key->mark, "'train.lr' has two schedules, %s and '%s': choose one",
                        nn_sv_show(kind_key, buf, sizeof buf), kinds[k]);
        } else {
            kind_key = key;
            lr_kind(c, nn_ymap_value(n, i), k, lr);
        }
    }
    if (!kind_key && !unknown)
        nn_sv_error(c, n->mark,
                    "'train.lr' needs a number or a schedule: one of constant, steps, "
                    "exponential, cosine, linear, find");
}

/* A number (mean of w² per weight tensor) or {coef, reduce: mean|sum, params: weights|all}. */
static void train_l2(nn_sctx *c, const nn_ynode *n, nn_train_spec *t)
{
    static const char *const keys[] = {"coef", "reduce", "params", NULL};
    static const char *const reduce[] = {"mean", "sum", NULL};
    static const char *const params[] = {"weights", "all", NULL};
    int e;
    if (n->kind != NN_YMAP) {
        nn_sv_float(c, n, "train.l2", R_NONNEG, &t->l2);
        return;
    }
    for (int i = 0; i < n->n; i++) {
        const nn_ynode *v = nn_ymap_value(n, i);
        if (nn_sv_key_is(n, i, "coef"))
            nn_sv_float(c, v, "train.l2.coef", R_NONNEG, &t->l2);
        else if (nn_sv_key_is(n, i, "reduce")) {
            if (nn_sv_enum(c, v, "train.l2.reduce", reduce, &e))
                t->l2_reduce = e ? NN_L2_SUM : NN_L2_MEAN;
        } else if (nn_sv_key_is(n, i, "params"))
            nn_sv_enum(c, v, "train.l2.params", params, &t->l2_all);
        else
            nn_sv_unknown_key(c, nn_ymap_key(n, i), "train.l2", keys);
    }
    if (nn_ymap_find(n, "coef", 4) < 0) nn_sv_missing(c, n, "coef", "train.l2");
}

void nn_spec_train(nn_sctx *c, const nn_ynode *n, nn_train_spec *t)
{
    static const char *const keys[] = {"steps", "batch", "loss", "optimizer",
                                       "lr",    "l2",    "clip", NULL};
    if (!nn_sv_map(c, n, "train")) return;
    t->lr.mark = t->loss_mark = n->mark;
    for (int i = 0; i < n->n; i++) {
        const nn_ynode *v = nn_ymap_value(n, i);
        if (nn_sv_key_is(n, i, "steps"))
            nn_sv_long(c, v, "train.steps", 1, 1000000000000L, &t->steps);
        else if (nn_sv_key_is(n, i, "batch"))
            train_batch(c, v, t);
        else if (nn_sv_key_is(n, i, "loss"))
            train_loss(c, v, t);
        else if (nn_sv_key_is(n, i, "optimizer"))
            train_optimizer(c, v, t);
        else if (nn_sv_key_is(n, i, "lr"))
            train_lr(c, v, &t->lr);
        else if (nn_sv_key_is(n, i, "l2"))
            train_l2(c, v, t);
        else if (nn_sv_key_is(n, i, "clip"))
            train_clip(c, v, t);
        else
            nn_sv_unknown_key(c, nn_ymap_key(n, i), "train", keys);
    }
}
