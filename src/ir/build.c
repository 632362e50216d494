/* build.c — spec → IR graph: one node per layer, then the loss. */
#include "ir/build.h"

#include <stdio.h>

#include "ir/op.h"

static const nn_op *layer_op(nn_layer_kind k)
{
    switch (k) {
    case NN_LAYER_EMBEDDING: return &nn_op_embedding;
    case NN_LAYER_FLATTEN: return &nn_op_flatten;
    case NN_LAYER_LINEAR: return &nn_op_linear;
    case NN_LAYER_BATCHNORM: return &nn_op_batchnorm;
    case NN_LAYER_TANH: return &nn_op_tanh;
    default: return NULL;
    }
}

/* loss += λ·mean(W²) for every weight matrix (the lessons' "model smoothing"). */
static int add_l2(nn_graph *g, double l2, nn_mark mark, nn_diag *d)
{
    int nt = g->nt;
    for (int t = 0; t < nt; t++) {
        if (g->t[t].role != NN_PARAM || !g->t[t].weight) continue;
        int in[2] = {t, g->loss};
        int n = nn_graph_node(g, &nn_op_l2, in, 2, -1, NULL, mark, d);
        if (n < 0) return -1;
        g->n[n].l2 = (float)l2;
    }
    return 0;
}

nn_graph *nn_build(const nn_spec *spec, const nn_build_opts *o, nn_diag *d)
{
    nn_graph *g = nn_graph_new();
    if (!g) return NULL;
    g->batch = o->batch;
    g->training = o->training;
    g->vocab = o->vocab;
    g->context = o->context;
    int xdim[2] = {o->batch, o->context};
    g->x = nn_graph_tensor(g, "x", NN_INPUT, NN_I32, 1, 2, xdim);
    g->y = nn_graph_tensor(g, "y", NN_INPUT, NN_I32, 1, 1, xdim);
    int cur = g->x;
    nn_mark last = {spec->path, 1, 1};
    for (int i = 0; i < spec->nlayers; i++) {
        const nn_layer *L = &spec->layers[i];
        int n = nn_graph_node(g, layer_op(L->kind), &cur, 1, i, L, L->mark, d);
        if (n < 0) goto fail;
        cur = g->n[n].out[0];
        last = L->mark;
    }
    g->logits = cur;
    int in[2] = {cur, g->y};
    int ce = nn_graph_node(g, &nn_op_cross_entropy, in, 2, -1, NULL, last, d);
    if (ce < 0) goto fail;
    g->loss = g->n[ce].out[0];
    g->row_loss = g->n[ce].out[2];
    if (o->training && spec->train.l2 > 0 && add_l2(g, spec->train.l2, last, d) != 0) goto fail;
    if (o->backward && nn_autodiff(g) != 0) goto fail;
    if (!o->backward) g->nfwd = g->nn;
    return g;
fail:
    nn_graph_free(g);
    return NULL;
}
