/* embedding.c — token ids [B, T] → rows of a table [V, D] → [B, T, D]; with `positions: P`
 * also a learned position table [P, D] (drawn after the token table, as makemore builds
 * wte then wpe), whose row t is added at position t. */
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
    g->n[node].in[2] = -1;
    g->n[node].nin = 3;
    if (n->spec->positions) {
        if (x.dim[1] > n->spec->positions) {
            char lb[64];
            nn_diag_error(d, g->n[node].mark,
                          "%s has %d positions, but the data's context is %d tokens",
                          nn_layer_label(g, node, lb, sizeof lb), g->n[node].spec->positions,
                          x.dim[1]);
            return -1;
        }
        int pdim[2] = {n->spec->positions, dim};
        int pos = nn_make_param(g, node, "positions", NN_PARAM, 2, pdim, &g->n[node].spec->init,
                                &default_init);
        if (pos < 0) return -1;
        g->n[node].in[2] = pos;
    }
    int ydim[3] = {x.dim[0], x.dim[1], dim};
    return nn_make_out(g, node, 0, "out", NN_F32, 1, 3, ydim) < 0 ? -1 : 0;
}

static int grad(nn_graph *g, int node)
{
    int idx = g->n[node].in[0], table = g->n[node].in[1], y = g->n[node].out[0];
    int pos = g->n[node].in[2];
    /* the table: not read here, but by the fusion with a recurrent layer (embed_recurrent.c) */
    int in[3] = {idx, nn_grad_of(g, y), table};
    int out[2] = {nn_grad_of(g, table), pos >= 0 ? nn_grad_of(g, pos) : -1};
    return nn_make_grad_node(g, node, &nn_op_embedding_grad, in, 3, out, 2) < 0 ? -1 : 0;
}

static void run(const nn_step *s, int rows)
{
    const nn_tensor *tab = s->tin[1];
    int t = s->tin[0]->dim[1], d = tab->dim[1];
    nn_k->embed_gather(rows, t, d, s->in[0], s->in[1], s->out[0]);
    if (!s->in[2]) return;
    for (int r = 0; r < rows; r++) /* + the position rows 0 … t−1 */
        nn_k->bias_add(1, t * d, s->in[2], (float *)s->out[0] + (size_t)r * t * d);
}

static void run_grad(const nn_step *s, int rows)
{
    const nn_tensor *dtab = s->tout[0];
    if (!(s->node->accumulate & 1))
        memset(s->out[0], 0, (size_t)dtab->dim[0] * (size_t)dtab->dim[1] * sizeof(float));
    nn_k->embed_scatter(rows, s->tin[0]->dim[1], dtab->dim[1], s->in[0], s->in[1], s->out[0]);
    if (!s->out[1]) return;
    /* dpositions[t] = Σ over the rows of dy[r][t]; rows past the context get 0 */
    const nn_tensor *dpos = s->tout[1];
    int td = s->tin[0]->dim[1] * dtab->dim[1], acc = (s->node->accumulate >> 1) & 1;
    if (!acc) memset(s->out[1], 0, (size_t)dpos->dim[0] * (size_t)dpos->dim[1] * sizeof(float));
    nn_k->col_sum(rows, td, s->in[1], s->out[1], 1);
}

const nn_op nn_op_embedding = {"embedding", infer, grad, run};
const nn_op nn_op_embedding_grad = {"embedding_grad", NULL, NULL, run_grad};
