/* mean_linear.c — a linear reading x + causal_mean(x) of an embedding's output, as lookups of
 * table·W (makemore's BoW: c_fc after `x = x + cbow(x)`).
 *
 * With E = the embedding's rows (token row + position row) and R(E) = E + causal_mean(E) —
 * a mix of positions, the same for every feature — the linear's product is
 *   R(E)·W = R(E·W),   E·W = (table·W)[token] + (positions·W)[t]
 * so the forward needs TW = table·W and PW = positions·W (table rows, not positions: 43 × 64
 * instead of 512 × 64 for makemore), then row lookups, the causal mean and the bias:
 *   y = Z + causal_mean(Z) + b,   Z = TW[token] + PW[t].
 * The backward, with S = dy + causal_meanᵀ(dy) (R's transpose),
 *   dTW = Σ S into the row of each position's token,   dPW[t] = Σ over rows of S[·, t]
 *   dW (+)= tableᵀ·dTW + positionsᵀ·dPW,   db (+)= Σ dy
 * and the part of dx that would travel back through R to the embedding is added at its end
 * instead: dtable += dTW·Wᵀ, dpositions += dPW·Wᵀ (after the embedding's own backward).  So
 * the linear's dx gets nothing from this linear (its other readers' gradients still flow).
 * Three of the linear's four products of 512 rows become products of 43 rows: ≈ 40% fewer
 * FLOPs for the whole BoW step.  The same sums in another order: the results agree with the
 * ops' to float rounding.
 *
 * Lowering (runtime/exec/lower.c) decides with nn_mean_linear_match and puts these runs on
 * the linear's step (s->pair the embedding's), its linear_grad's (s->pair the linear's) and
 * the embedding_grad's (s->pair the linear_grad's).  Z and S live in the linear output's
 * storage past its end, TW/PW and then dTW/dPW after them (nn_mean_linear_floats; lowering
 * keeps that storage live until the embedding_grad), so a step allocates nothing.  A plan
 * that keeps every tensor (NN_LOWER_KEEP_ALL) runs the ops as they are.
 */
#include <string.h>

#include "ir/op.h"
#include "kernels/kernels.h"

/* The shapes: rows per batch (the plan's), positions, embedding width, out, table rows. */
typedef struct {
    int b, t, d, n, v;
} shape;

static shape shape_of(const nn_step *emb, const nn_tensor *weight)
{
    const nn_tensor *ids = emb->tin[0], *table = emb->tin[1];
    return (shape){ids->dim[0], ids->dim[1], table->dim[1], weight->dim[1], table->dim[0]};
}

/* Scratch in the linear output's storage: Z or S ([b·t, n]) after the output, then TW and PW
 * (or dTW and dPW). */
static float *scratch_rows(const nn_step *lin, const shape *sh)
{
    return (float *)lin->out[0] + (size_t)sh->b * sh->t * sh->n;
}

static float *scratch_tables(const nn_step *lin, const shape *sh)
{
    return scratch_rows(lin, sh) + (size_t)sh->b * sh->t * sh->n;
}

/* s: the linear's step (x, weight, bias → y); s->pair: the embedding's (ids, table, positions). */
static void run(const nn_step *s, int rows)
{
    const nn_step *e = s->pair;
    const float *w = s->in[1], *pos = e->in[2];
    shape sh = shape_of(e, s->tin[1]);
    float *y = s->out[0], *z = scratch_rows(s, &sh), *tw = scratch_tables(s, &sh);
    float *pw = tw + (size_t)sh.v * sh.n;
    size_t row = (size_t)sh.t * sh.n;
    nn_k->sgemm_nn(sh.v, sh.n, sh.d, e->in[1], sh.d, w, sh.n, tw, sh.n, 0);
    if (pos) nn_k->sgemm_nn(sh.t, sh.n, sh.d, pos, sh.d, w, sh.n, pw, sh.n, 0);
    nn_k->embed_gather(rows, sh.t, sh.n, e->in[0], tw, z);
    for (int r = 0; pos && r < rows; r++)
        nn_k->bias_add(1, (int)row, pw, z + (size_t)r * row);
    nn_k->causal_mean_fwd(rows, sh.t, sh.n, z, y);
    nn_k->add((size_t)rows * row, z, y, y); /* as the residual adds: x + f(x) */
    if (s->in[2]) nn_k->bias_add(rows * sh.t, sh.n, s->in[2], y);
}

/* s: the linear_grad's step (x, weight, dy → dx, dW, db); s->pair: the linear's step. */
static void run_grad(const nn_step *s, int rows)
{
    const nn_step *lin = s->pair, *e = lin->pair;
    const float *dy = s->in[2], *pos = e->in[2];
    shape sh = shape_of(e, s->tin[1]);
    float *sum = scratch_rows(lin, &sh), *dtw = scratch_tables(lin, &sh);
    float *dpw = dtw + (size_t)sh.v * sh.n;
    size_t n = (size_t)rows * sh.t * sh.n;
    int acc = s->node->accumulate;
    /* dx: this linear's part reaches the tables at the embedding_grad's step */
    if (s->out[0] && !(acc & 1)) memset(s->out[0], 0, (size_t)rows * sh.t * sh.d * sizeof(float));
    memcpy(sum, dy, n * sizeof *sum);
    nn_k->causal_mean_bwd(rows, sh.t, sh.n, dy, sum, 1);
    memset(dtw, 0, (size_t)(sh.v + sh.t) * sh.n * sizeof *dtw);
    nn_k->embed_scatter(rows, sh.t, sh.n, e->in[0], sum, dtw);
    if (pos) nn_k->col_sum(rows, sh.t * sh.n, sum, dpw, 1);
    nn_k->sgemm_tn(sh.d, sh.n, sh.v, e->in[1], sh.d, dtw, sh.n, s->out[1], sh.n, (acc >> 1) & 1);
    if (pos) nn_k->sgemm_tn(sh.d, sh.n, sh.t, pos, sh.d, dpw, sh.n, s->out[1], sh.n, 1);
    if (s->out[2]) nn_k->col_sum(rows * sh.t, sh.n, dy, s->out[2], (acc >> 2) & 1);
}

/* s: the embedding_grad's step (ids, dE, table → dtable, dpositions); s->pair: the
 * linear_grad's.  The embedding's own backward, then what the linear's dx would have brought. */
static void run_embed_grad(const nn_step *s, int rows)
{
    const nn_step *lg = s->pair, *lin = lg->pair;
    shape sh = shape_of(lin->pair, lg->tin[1]);
    const float *w = lg->in[1], *dtw = scratch_tables(lin, &sh);
    nn_op_embedding_grad.run(s, rows);
    nn_k->sgemm_nt(sh.v, sh.d, sh.n, dtw, sh.n, w, sh.n, s->out[0], sh.d, 1);
    if (s->out[1])
        nn_k->sgemm_nt(sh.t, sh.d, sh.n, dtw + (size_t)sh.v * sh.n, sh.n, w, sh.n, s->out[1], sh.d,
                       1);
}

/* The backward node of op `op` reading tensor a as input ka and b as input kb, or −1. */
static int reader(const nn_graph *g, const nn_op *op, int a, int ka, int b, int kb)
{
    for (int j = g->nfwd; j < g->nn; j++)
        if (g->n[j].op == op && g->n[j].nin > ka && g->n[j].nin > kb && g->n[j].in[ka] == a &&
            g->n[j].in[kb] == b)
            return j;
    return -1;
}

int nn_mean_linear_match(const nn_graph *g, int l, nn_mean_linear_nodes *m)
{
    memset(m, -1, sizeof *m);
    if (l < 0 || l >= g->nfwd || g->n[l].op != &nn_op_linear) return 0;
    const nn_node *lin = &g->n[l];
    int x = lin->in[0], r = nn_producer(g, x);
    if (r < 0 || g->n[r].op != &nn_op_residual || g->t[x].alias >= 0) return 0;
    int c = nn_producer(g, g->n[r].in[0]), emb = g->n[r].in[1];
    if (c < 0 || g->n[c].op != &nn_op_causal_mean || g->n[c].in[0] != emb) return 0;
    int e = nn_producer(g, emb);
    if (e < 0 || g->n[e].op != &nn_op_embedding || g->t[emb].alias >= 0) return 0;
    const nn_tensor *ids = &g->t[g->n[e].in[0]], *table = &g->t[g->n[e].in[1]];
    const nn_tensor *w = &g->t[lin->in[1]];
    if (g->t[emb].ndim != 3 || w->dim[0] != table->dim[1]) return 0;
    /* pays: the products cost what (table rows + positions) rows did */
    if ((long)ids->dim[0] * ids->dim[1] < 2L * (table->dim[0] + ids->dim[1])) return 0;
    m->e = e, m->l = l;
    if (g->nn == g->nfwd) return 1; /* evaluation: the forward alone */
    int lg = reader(g, &nn_op_linear_grad, x, 0, lin->in[1], 1);
    int eg = reader(g, &nn_op_embedding_grad, g->n[e].in[0], 0, g->n[e].in[1], 2);
    if (lg < 0 || eg < 0 || eg < lg || g->n[eg].out[0] < 0 ||
        (g->n[e].in[2] >= 0 && g->n[eg].out[1] < 0))
        return 0;
    m->lg = lg, m->eg = eg;
    return 1;
}

long nn_mean_linear_floats(const nn_graph *g, const nn_mean_linear_nodes *m)
{
    const nn_tensor *ids = &g->t[g->n[m->e].in[0]], *table = &g->t[g->n[m->e].in[1]];
    long n = g->t[g->n[m->l].in[1]].dim[1];
    return 2L * ids->dim[0] * ids->dim[1] * n + (long)(table->dim[0] + ids->dim[1]) * n;
}

/* the names are never printed: a plan prints its steps by their nodes' ops */
const nn_op nn_op_mean_linear = {"mean+linear", NULL, NULL, run};
const nn_op nn_op_mean_linear_grad = {"mean+linear_grad", NULL, NULL, run_grad};
const nn_op nn_op_mean_linear_embed_grad = {"embedding_grad+mean_linear", NULL, NULL,
                                            run_embed_grad};
