/* registry.c — the table of every op, and the helpers op files share. */
#include <stdio.h>
#include <string.h>

#include "ir/op.h"

const nn_op *const nn_ops[] = {
    &nn_op_embedding,
    &nn_op_embedding_grad,
    &nn_op_flatten,
    &nn_op_flatten_consecutive,
    &nn_op_linear,
    &nn_op_linear_grad,
    &nn_op_batchnorm,
    &nn_op_batchnorm_grad,
    &nn_op_tanh,
    &nn_op_tanh_grad,
    &nn_op_cross_entropy,
    &nn_op_cross_entropy_grad,
    &nn_op_l2,
    &nn_op_l2_grad,
    &nn_op_relu,
    &nn_op_relu_grad,
    &nn_op_sigmoid,
    &nn_op_sigmoid_grad,
    &nn_op_onehot,
    &nn_op_hinge,
    &nn_op_hinge_grad,
    &nn_op_mse,
    &nn_op_mse_grad,
    &nn_op_value,
    &nn_op_value_grad,
    &nn_op_plugin,
    &nn_op_plugin_grad,
    &nn_op_expr,
    &nn_op_expr_grad,
    &nn_op_expr_loss,
    &nn_op_expr_loss_grad,
    &nn_op_layernorm,
    &nn_op_layernorm_grad,
    &nn_op_attention,
    &nn_op_attention_grad,
    &nn_op_gelu,
    &nn_op_gelu_grad,
    &nn_op_dropout,
    &nn_op_dropout_grad,
    &nn_op_causal_mean,
    &nn_op_causal_mean_grad,
    &nn_op_residual,
    &nn_op_residual_grad,
    &nn_op_embedding_window,
    &nn_op_embedding_window_grad,
    &nn_op_recurrent,
    &nn_op_recurrent_grad,
    NULL,
};

const nn_op *nn_op_find(const char *name)
{
    for (int i = 0; nn_ops[i]; i++)
        if (strcmp(nn_ops[i]->name, name) == 0) return nn_ops[i];
    return NULL;
}

static void layer_name(const nn_graph *g, int node, const char *suffix, char *buf, size_t len)
{
    int layer = g->n[node].layer;
    const nn_layer *L = g->n[node].spec;
    if (layer >= 0 && L && L->name[0])
        snprintf(buf, len, "%s.%s", L->name, suffix);
    else if (layer >= 0)
        snprintf(buf, len, "layers.%d.%s", layer, suffix);
    else
        snprintf(buf, len, "%s", suffix);
}

int nn_make_out(nn_graph *g, int node, int k, const char *suffix, nn_dtype dtype, int batched,
                int ndim, const int *dim)
{
    char name[48];
    layer_name(g, node, suffix, name, sizeof name);
    int t = nn_graph_tensor(g, name, NN_ACT, dtype, batched, ndim, dim);
    if (t < 0) return -1;
    g->t[t].layer = g->n[node].layer;
    g->n[node].out[k] = t;
    if (g->n[node].nout < k + 1) g->n[node].nout = k + 1;
    return t;
}

int nn_make_param(nn_graph *g, int node, const char *suffix, nn_role role, int ndim, const int *dim,
                  const nn_init *spec_init, const nn_init *fallback)
{
    char name[48];
    layer_name(g, node, suffix, name, sizeof name);
    int t = nn_graph_tensor(g, name, role, NN_F32, 0, ndim, dim);
    if (t < 0) return -1;
    g->t[t].layer = g->n[node].layer;
    g->t[t].init = spec_init && spec_init->kind != NN_INIT_DEFAULT ? spec_init : fallback;
    g->t[t].requires_grad = role == NN_PARAM;
    return t;
}

int nn_view_grad(nn_graph *g, int node)
{
    int x = g->n[node].in[0], y = g->n[node].out[0];
    if (!g->t[x].requires_grad) return 0;
    int dx = nn_grad_of(g, x), dy = nn_grad_of(g, y);
    if (dx < 0 || dy < 0) return -1;
    g->t[dy].alias = dx;
    return 0;
}

int nn_make_grad_node(nn_graph *g, int fwd, const nn_op *op, const int *in, int nin, const int *out,
                      int nout)
{
    nn_node n;
    memset(&n, 0, sizeof n);
    const nn_node *f = &g->n[fwd];
    n.op = op;
    n.layer = f->layer;
    n.spec = f->spec;
    n.mark = f->mark;
    n.training = f->training;
    n.bn = f->bn;
    n.l2 = f->l2;
    n.sum = f->sum;
    n.fn = f->fn;
    n.expr = f->expr;
    n.nin = nin;
    n.nout = nout;
    for (int i = 0; i < NN_MAX_IO; i++) {
        n.in[i] = i < nin ? in[i] : -1;
        n.out[i] = i < nout ? out[i] : -1;
    }
    return nn_graph_append(g, &n);
}

void nn_note_use(const nn_graph *g, int node, nn_diag *d)
{
    const nn_layer *L = g->n[node].spec;
    if (L && L->use.file)
        nn_diag_note(d, "%s:%d:%d: the block is used here (%s)", L->use.file, L->use.line,
                     L->use.col, L->name);
}

int nn_producer(const nn_graph *g, int tensor)
{
    for (int i = g->nn - 1; i >= 0; i--)
        for (int k = 0; k < g->n[i].nout; k++)
            if (g->n[i].out[k] == tensor) return i;
    return -1;
}

const char *nn_producer_label(const nn_graph *g, int tensor, char *buf, int len)
{
    int i = nn_producer(g, tensor);
    if (i >= 0) return nn_layer_label(g, i, buf, len);
    snprintf(buf, (size_t)len, "the data");
    return buf;
}
