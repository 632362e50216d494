/* embed_recurrent.c — an embedding followed directly by a recurrent layer, the x half of the
 * cell's products as row lookups.
 *
 * The cell's input at a position is a table row, x_t = table[token_t], so the x half of
 * each gate's product x_t·W_x is row token_t of lut = table·W_x ([v, G·h]: v small products
 * a step instead of one per position), and its backward, with S = the gate gradients summed
 * by token, is dW_x = tableᵀ·S and dtable = S·W_xᵀ (no ∂L/∂x per position, no gemm over all
 * positions for dW_x).  Only the h half stays in the sequential per-step gemms (kernels.h
 * nn_rnn_input; rnn_seq.c).  For makemore's RNN (512 positions, vocab 27, width 64, hidden
 * 64) that halves the recurrent layer's products.  The forward gives the separate ops' bits;
 * the backward's dW_x and dtable are the same sums in another order.
 *
 * Lowering (runtime/exec/lower.c) decides, with nn_embed_recurrent_match, and runs these on
 * the plan's steps of the graph nodes: the forward on the embedding's step (s->pair = the
 * recurrent's), the backward on the recurrent_grad's (s->pair = the embedding_grad's); the
 * partner's own run is skipped.  lut lives in the embedding output's storage in the forward
 * and in its gradient's in the backward (match checks that it fits and that nothing else
 * reads either).  A plan that keeps every tensor (NN_LOWER_KEEP_ALL: gradcheck, --dump-step,
 * the reports' probes) runs the ops as they are.
 */
#include "ir/ops/recurrent.h"

/* s: the embedding's step (ids, table; its output's storage holds lut), s->pair: the
 * recurrent's. */
static void run(const nn_step *s, int rows)
{
    nn_rnn_input in = {NULL, s->in[0], s->in[1], s->tin[1]->dim[0], s->out[0]};
    nn_recurrent_forward(s->pair, rows, &in);
}

/* s: the recurrent_grad's step (its dx's storage holds lut), s->pair: the embedding_grad's
 * (ids, dx, table; dtable). */
static void run_grad(const nn_step *s, int rows)
{
    const nn_step *e = s->pair;
    nn_rnn_input in = {NULL, e->in[0], e->in[2], e->tin[2]->dim[0], s->out[0]};
    int acc = (s->node->accumulate & ~1) | (e->node->accumulate & 1);
    nn_recurrent_backward(s, rows, &in, e->out[0], acc);
}

/* A node other than `ok` reads tensor t, or one other than `wok` (as its output 0) writes
 * it. */
static int other_use(const nn_graph *g, int t, int ok, int wok)
{
    for (int q = 0; q < g->nn; q++) {
        for (int k = 0; k < g->n[q].nin; k++)
            if (g->n[q].in[k] == t && q != ok) return 1;
        for (int k = 0; k < g->n[q].nout; k++)
            if (g->n[q].out[k] == t && !(q == wok && k == 0)) return 1;
    }
    return 0;
}

int nn_embed_recurrent_match(const nn_graph *g, int i, int bwd[2])
{
    bwd[0] = bwd[1] = -1;
    if (i < 0 || i + 1 >= g->nfwd) return 0;
    const nn_node *e = &g->n[i], *r = &g->n[i + 1];
    if (e->op != &nn_op_embedding || r->op != &nn_op_recurrent || r->in[0] != e->out[0] ||
        e->nin < 3 || e->in[2] >= 0 || !r->spec)
        return 0;
    int x = e->out[0], dx = g->t[x].grad;
    const nn_tensor *xt = &g->t[x];
    long v = g->t[e->in[1]].dim[0],
         lut = v * (r->spec->cell == NN_CELL_GRU ? 3 : 1) * (long)r->spec->hidden;
    /* pays: the lut's products cost what v positions' did; fits: lut in x's storage */
    if ((long)xt->dim[0] * xt->dim[1] < 2 * v || nn_tensor_numel(xt) < lut) return 0;
    for (int t = 0; t < g->nt; t++) /* no view shares the storage we reuse */
        if ((t != x && nn_graph_storage(g, t) == x) ||
            (dx >= 0 && t != dx && nn_graph_storage(g, t) == dx))
            return 0;
    /* x's readers: the recurrent, and in training its backward (for the shape) */
    for (int j = 0; j < g->nn; j++)
        for (int k = 0; k < g->n[j].nin; k++) {
            if (g->n[j].in[k] != x || j == i + 1) continue;
            if (g->n[j].op != &nn_op_recurrent_grad || bwd[0] >= 0) return 0;
            bwd[0] = j;
        }
    for (int q = 0; q < g->nn; q++) /* written by the embedding only */
        for (int k = 0; k < g->n[q].nout; k++)
            if (g->n[q].out[k] == x && !(q == i && k == 0)) return 0;
    if (bwd[0] < 0) return 1;
    /* the backward pair: recurrent_grad writing dx, directly followed by the embedding's
     * backward reading it with the ids and the table */
    int j = bwd[0];
    bwd[0] = -1;
    if (dx < 0 || j + 1 >= g->nn) return 0;
    const nn_node *rg = &g->n[j], *eg = &g->n[j + 1];
    if (rg->out[0] != dx || (rg->accumulate & 1) || eg->op != &nn_op_embedding_grad ||
        eg->nin < 3 || eg->in[1] != dx || eg->in[0] != e->in[0] || eg->in[2] != e->in[1] ||
        other_use(g, dx, j + 1, j))
        return 0;
    bwd[0] = j, bwd[1] = j + 1;
    return 1;
}

const nn_op nn_op_embed_recurrent = {"embedding+recurrent", NULL, NULL, run};
const nn_op nn_op_embed_recurrent_grad = {"recurrent_grad+embedding_grad", NULL, NULL, run_grad};
