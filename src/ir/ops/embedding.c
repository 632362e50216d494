/* embedding.c — token ids [B, T] → rows of a table [V, D] → [B, T, D]. */
#include <string.h>

#include "ir/op.h"
#include "kernels/kernels.h"

static const nn_init default_init = {.kind = NN_INIT_NORMAL, .std = 1.0, .scale = 1.0};

static int infer(nn_graph *g, int node, nn_diag *d)
{
    const nn_node *n = &g->n[node];
    nn_tensor x = g->t[n->in[0]];
    if (x.dtype != NN_I32 || x.ndim != 2) {
        char lb[64], sh[64];
        nn_diag_error(d, n->mark, "%s expects token ids [batch, context], but its input is %s %s",
                      nn_layer_label(g, node, lb, sizeof lb), x.dtype == NN_I32 ? "ids" : "floats",
                      nn_tensor_shape_str(&x, sh, sizeof sh));
        nn_diag_note(d, "an embedding must be the first layer of the model");
        return -1;
    }
    int dim = n->spec->dim;
    int tdim[2] = {g->vocab, dim};
    int table = nn_make_param(g, node, "weight", NN_PARAM, 2, tdim, &n->spec->init, &default_init);
    if (table < 0) return -1;
    g->n[node].in[1] = table;
    g->n[node].nin = 2;
    int ydim[3] = {x.dim[0], x.dim[1], dim};
    return nn_make_out(g, node, 0, "out", NN_F32, 1, 3, ydim) < 0 ? -1 : 0;
}

static int grad(nn_graph *g, int node)
{
    int idx = g->n[node].in[0], table = g->n[node].in[1], y = g->n[node].out[0];
    int in[2] = {idx, nn_grad_of(g, y)};
    int out[1] = {nn_grad_of(g, table)};
    return nn_make_grad_node(g, node, &nn_op_embedding_grad, in, 2, out, 1) < 0 ? -1 : 0;
}

static void run(const nn_step *s, int rows)
{
    const nn_tensor *tab = s->tin[1];
    nn_k->embed_gather(rows, s->tin[0]->dim[1], tab->dim[1], s->in[0], s->in[1], s->out[0]);
}

static void run_grad(const nn_step *s, int rows)
{
    const nn_tensor *dtab = s->tout[0];
    if (!(s->node->accumulate & 1))
        memset(s->out[0], 0, (size_t)dtab->dim[0] * (size_t)dtab->dim[1] * sizeof(float));
    nn_k->embed_scatter(rows, s->tin[0]->dim[1], dtab->dim[1], s->in[0], s->in[1], s->out[0]);
}

const nn_op nn_op_embedding = {"embedding", infer, grad, run};
const nn_op nn_op_embedding_grad = {"embedding_grad", NULL, NULL, run_grad};
