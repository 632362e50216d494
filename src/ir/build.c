/* build.c — spec → IR graph: one node per layer, then the loss. */
#include "ir/build.h"

#include <stdio.h>
#include <stdlib.h>

#include "ir/op.h"

static const nn_op *layer_op(nn_layer_kind k)
{
    switch (k) {
    case NN_LAYER_EMBEDDING: return &nn_op_embedding;
    case NN_LAYER_FLATTEN: return &nn_op_flatten;
    case NN_LAYER_FLATTEN_CONSECUTIVE: return &nn_op_flatten_consecutive;
    case NN_LAYER_LINEAR: return &nn_op_linear;
    case NN_LAYER_BATCHNORM: return &nn_op_batchnorm;
    case NN_LAYER_TANH: return &nn_op_tanh;
    case NN_LAYER_RELU: return &nn_op_relu;
    case NN_LAYER_SIGMOID: return &nn_op_sigmoid;
    case NN_LAYER_ONEHOT: return &nn_op_onehot;
    case NN_LAYER_LAYERNORM: return &nn_op_layernorm;
    case NN_LAYER_ATTN_CORE: return &nn_op_attention;
    case NN_LAYER_GELU: return &nn_op_gelu;
    case NN_LAYER_DROPOUT: return &nn_op_dropout;
    case NN_LAYER_CAUSAL_MEAN: return &nn_op_causal_mean;
    case NN_LAYER_RESIDUAL_END: return &nn_op_residual;
    case NN_LAYER_RECURRENT: return &nn_op_recurrent;
    default: return NULL; /* NN_LAYER_ACTIVATION: see nn_build (a formula, or a plugin) */
    }
}

/* loss += λ·mean(W²) for every weight matrix (the lessons' "model smoothing"), or
 * λ·Σ p² (l2_reduce: sum), over every parameter with l2_all (micrograd regularises biases
 * too).  The weight matrices are the 2-D parameters — linear weights and embedding tables,
 * as nanoGPT's weight-decay groups choose them — not biases, BatchNorm's gain and shift or
 * a formula's learned parameters. */
static int add_l2(nn_graph *g, const nn_train_spec *t, nn_mark mark, nn_diag *d)
{
    int nt = g->nt;
    for (int i = 0; i < nt; i++) {
        if (g->t[i].role != NN_PARAM || !(g->t[i].ndim == 2 || t->l2_all)) continue;
        int in[2] = {i, g->loss};
        int n = nn_graph_node(g, &nn_op_l2, in, 2, -1, NULL, mark, d);
        if (n < 0) return -1;
        g->n[n].l2 = (float)t->l2;
        g->n[n].sum = t->l2_reduce == NN_L2_SUM;
    }
    return 0;
}

static const nn_op *loss_op(nn_loss_kind k)
{
    switch (k) {
    case NN_LOSS_HINGE: return &nn_op_hinge;
    case NN_LOSS_MSE: return &nn_op_mse;
    case NN_LOSS_VALUE: return &nn_op_value;
    case NN_LOSS_EXPR: return &nn_op_expr_loss;
    default: return &nn_op_cross_entropy;
    }
}

nn_graph *nn_build(const nn_spec *spec, const nn_build_opts *o, nn_diag *d)
{
    return nn_build_fns(spec, o, NULL, d);
}

nn_graph *nn_build_fns(const nn_spec *spec, const nn_build_opts *o,
                       const nn_callable *const *layer_fn, nn_diag *d)
{
    nn_graph *g = nn_graph_new();
    if (!g) return NULL;
    g->batch = o->batch;
    g->training = o->training;
    g->vocab = o->vocab;
    g->context = o->context;
    g->features = o->features;
    /* text: token ids [B, context]; numeric data: features [B, F] */
    int xdim[2] = {o->batch, o->features > 0 ? o->features : o->context};
    g->x = nn_graph_tensor(g, "x", NN_INPUT, o->features > 0 ? NN_F32 : NN_I32, 1, 2, xdim);
    /* class ids for cross_entropy, numbers for hinge and mse (value reads none) */
    nn_loss_kind loss = spec->train.loss;
    g->y = nn_graph_tensor(g, "y", NN_INPUT, loss == NN_LOSS_CROSS_ENTROPY ? NN_I32 : NN_F32, 1,
                           o->sequence ? 2 : 1, xdim);
    int cur = g->x;
    nn_mark last = {spec->path, 1, 1};
    /* the input of each open residual, by the index of its NN_LAYER_RESIDUAL */
    int *res_in = calloc((size_t)spec->nlayers + 1, sizeof *res_in);
    if (!res_in) goto fail;
    for (int i = 0; i < spec->nlayers; i++) {
        const nn_layer *L = &spec->layers[i];
        if (L->kind == NN_LAYER_RESIDUAL) {
            res_in[i] = cur;
            continue;
        }
        const nn_op *op = layer_op(L->kind);
        if (L->kind == NN_LAYER_EMBEDDING && L->window) op = &nn_op_embedding_window;
        const nn_callable *fn = L->kind == NN_LAYER_ACTIVATION && layer_fn ? layer_fn[i] : NULL;
        if (fn) op = &nn_op_plugin;
        if (L->kind == NN_LAYER_ACTIVATION && L->expr) op = &nn_op_expr;
        if (!op) {
            if (L->kind == NN_LAYER_NGRAM) {
                nn_diag_error(d, L->mark, "layer %d (ngram) cannot be part of a network", i);
                nn_diag_note(d, "the counting model 'ngram' must be the only layer");
            } else {
                nn_diag_error(d, L->mark, "layer %d (%s) is not supported by this runtime yet",
                              i, nn_layer_kind_name(L->kind));
            }
            goto fail;
        }
        int ins[2] = {cur, L->kind == NN_LAYER_RESIDUAL_END ? res_in[L->begin] : -1};
        int n = nn_graph_node(g, op, ins, ins[1] >= 0 ? 2 : 1, i, L, L->mark, d);
        if (n < 0) goto fail;
        g->n[n].fn = fn;
        cur = g->n[n].out[0];
        last = L->mark;
    }
    free(res_in);
    res_in = NULL;
    g->logits = cur;
    int in[2] = {cur, g->y};
    g->loss_expr = spec->train.loss_expr;
    /* the loss node's attribute is set before its shape rule runs: nothing there reads it */
    int ce = nn_graph_node(g, loss_op(loss), in, 2, -1, NULL, last, d);
    if (ce < 0) goto fail;
    g->n[ce].sum = spec->train.loss_sum && loss != NN_LOSS_CROSS_ENTROPY;
    g->loss = g->n[ce].out[0];
    g->row_loss = g->n[ce].out[2];
    if (o->training && spec->train.l2 > 0 && add_l2(g, &spec->train, last, d) != 0) goto fail;
    if (o->backward && nn_autodiff(g) != 0) goto fail;
    if (!o->backward) g->nfwd = g->nn;
    return g;
fail:
    free(res_in);
    nn_graph_free(g);
    return NULL;
}
