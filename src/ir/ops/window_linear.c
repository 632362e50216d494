/* window_linear.c — embedding {window} followed by linear, as lookups of per-slot products.
 *
 * The window's row at a position is W table rows side by side (slot k: the token k places
 * back, or the blank), so its product with the linear's weight [W·dim, out] is a sum over
 * the slots of table row · W_k (W_k: rows k·dim … k·dim + dim − 1 of the weight):
 *   P_k = table · W_k                     [vocab + 1, out] per slot: W small products
 *   y   = b + Σ_k P_k[token at slot k]    per position: W row lookups
 * and the backward, with S_k = Σ over positions of dy, into the row of slot k's token:
 *   dW_k = tableᵀ · S_k,   db = Σ dy,   dtable (+)= Σ_k S_k · W_kᵀ
 * For makemore's MLP (512 positions, window 16 × 64, table 28 rows, out 64) that is ≈ 12
 * MFLOP a step instead of ≈ 200: the products scale with the table, not the positions.
 * The same sums in another order: the results agree with the two ops' to float rounding.
 *
 * Lowering (runtime/exec/lower.c) decides, with nn_window_linear_match, and runs these on
 * the plan's steps of the two graph nodes: the forward on the embedding's step (s->pair =
 * the linear's), the backward on the linear_grad's (s->pair = the embedding_window_grad's);
 * the partner's own run is skipped.  The per-slot products P live in the window's storage
 * and the sums S in its gradient's (match checks that they fit and that nothing else reads
 * either), so nothing is allocated.  A plan that keeps every tensor (NN_LOWER_KEEP_ALL:
 * gradcheck, --dump-step, the reports' probes) runs the two ops as they are.
 */
#include <string.h>

#include "ir/op.h"
#include "kernels/kernels.h"
#include "kernels/parallel.h"

enum { SLOTS = 256 }; /* the parser's limit on window */

typedef struct {
    int t_len, w, v, d, n; /* positions per row, slots, table rows, embedding width, out */
} shape;

/* ids[k] = the row of slot k's token at position t of row r in the stacked per-slot tables
 * (slot k's table starts at row k·v; before the start of the sequence: the blank, v − 1). */
static void slot_ids(const int32_t *idx, const shape *sh, int r, int t, int32_t *ids)
{
    const int32_t *row = idx + (size_t)r * sh->t_len;
    for (int k = 0; k < sh->w; k++)
        ids[k] = k * sh->v + (t - k >= 0 ? row[t - k] : sh->v - 1);
}

static shape shape_of(const nn_tensor *ids, const nn_tensor *table, const nn_tensor *weight, int w)
{
    return (shape){ids->dim[1], w, table->dim[0], table->dim[1], weight->dim[1]};
}

/* s: the embedding's step (ids, table; its output's storage holds P), s->pair: the
 * linear's (weight, bias, y). */
static void run(const nn_step *s, int rows)
{
    const nn_step *l = s->pair;
    shape sh = shape_of(s->tin[0], s->tin[1], l->tin[1], s->node->spec->window);
    const int32_t *idx = s->in[0];
    const float *table = s->in[1], *wt = l->in[1], *bias = l->in[2];
    float *prod = s->out[0], *y = l->out[0];
    size_t pk = (size_t)sh.v * sh.n, wk = (size_t)sh.d * sh.n;
    for (int k = 0; k < sh.w; k++)
        nn_k->sgemm_nn(sh.v, sh.n, sh.d, table, sh.d, wt + k * wk, sh.n, prod + k * pk, sh.n, 0);
    int32_t ids[SLOTS];
    for (int r = 0; r < rows; r++)
        for (int t = 0; t < sh.t_len; t++) {
            slot_ids(idx, &sh, r, t, ids);
            nn_k->embed_sum(sh.w, sh.n, ids, prod, bias,
                            y + ((size_t)r * sh.t_len + t) * (size_t)sh.n);
        }
}

typedef struct {
    const nn_step *s;
    shape sh;
    int rows;
} grad_job;

/* After S: dtable (+)= Σ_k S_k·W_kᵀ (task 0), dW_k = tableᵀ·S_k and db (task 1). */
static void grad_part(void *ctx, int task)
{
    const grad_job *j = ctx;
    const nn_step *s = j->s, *e = s->pair;
    const shape *sh = &j->sh;
    const float *sums = s->out[0];
    size_t pk = (size_t)sh->v * sh->n, wk = (size_t)sh->d * sh->n;
    int acc = s->node->accumulate;
    if (task == 0) {
        const float *wt = s->in[1];
        for (int k = 0; k < sh->w; k++)
            nn_k->sgemm_nt(sh->v, sh->d, sh->n, sums + k * pk, sh->n, wt + k * wk, sh->n, e->out[0],
                           sh->d, k > 0 || (e->node->accumulate & 1));
        return;
    }
    const float *table = e->in[2];
    for (int k = 0; k < sh->w; k++)
        nn_k->sgemm_tn(sh->d, sh->n, sh->v, table, sh->d, sums + k * pk, sh->n,
                       (float *)s->out[1] + k * wk, sh->n, (acc >> 1) & 1);
    if (s->out[2]) nn_k->col_sum(j->rows * sh->t_len, sh->n, s->in[2], s->out[2], (acc >> 2) & 1);
}

/* s: the linear_grad's step (weight, dy; dW, db; its dx's storage holds S), s->pair: the
 * embedding_window_grad's (ids, table; dtable).  With two threads the two products run side
 * by side, each whole on one thread (as linear.c's dX and dW): the same bits. */
static void run_grad(const nn_step *s, int rows)
{
    const nn_step *e = s->pair;
    grad_job j = {s, shape_of(e->tin[0], e->tin[2], s->tin[1], e->node->spec->window), rows};
    const shape *sh = &j.sh;
    const int32_t *idx = e->in[0];
    const float *dy = s->in[2];
    float *sums = s->out[0];
    memset(sums, 0, (size_t)sh->w * sh->v * sh->n * sizeof *sums);
    int32_t ids[SLOTS];
    for (int r = 0; r < rows; r++)
        for (int t = 0; t < sh->t_len; t++) {
            slot_ids(idx, sh, r, t, ids);
            nn_k->embed_spread(sh->w, sh->n, ids, dy + ((size_t)r * sh->t_len + t) * (size_t)sh->n,
                               sums);
        }
    if (nn_parallel_threads() > 1 && (double)sh->w * sh->v * sh->d * sh->n >= (double)(1 << 19))
        nn_parallel_run(2, grad_part, &j);
    else
        grad_part(&j, 0), grad_part(&j, 1);
}

/* A node other than `wok` (as its output 0) writes tensor t. */
static int other_writer(const nn_graph *g, int t, int wok)
{
    for (int q = 0; q < g->nn; q++)
        for (int k = 0; k < g->n[q].nout; k++)
            if (g->n[q].out[k] == t && !(q == wok && k == 0)) return 1;
    return 0;
}

/* A node other than `ok` reads tensor t, or one other than `wok` writes it. */
static int other_use(const nn_graph *g, int t, int ok, int wok)
{
    for (int q = 0; q < g->nn; q++)
        for (int k = 0; k < g->n[q].nin; k++)
            if (g->n[q].in[k] == t && q != ok) return 1;
    return other_writer(g, t, wok);
}

/* The backward pair: linear_grad node j reading the window x (its input 0) and writing dx,
 * directly followed by the embedding's backward reading dx, the ids and the table. */
static int match_grad(const nn_graph *g, const nn_node *e, int j, int x)
{
    int dx = g->t[x].grad;
    if (j + 1 >= g->nn || dx < 0) return 0;
    const nn_node *lg = &g->n[j], *eg = &g->n[j + 1];
    return lg->in[0] == x && lg->out[0] == dx && !(lg->accumulate & 1) &&
           eg->op == &nn_op_embedding_window_grad && eg->nin == 3 && eg->in[1] == dx &&
           eg->in[0] == e->in[0] && eg->in[2] == e->in[1] && !other_use(g, dx, j + 1, j);
}

int nn_window_linear_match(const nn_graph *g, int i, int bwd[2])
{
    bwd[0] = bwd[1] = -1;
    if (i < 0 || i + 1 >= g->nfwd) return 0;
    const nn_node *e = &g->n[i], *l = &g->n[i + 1];
    if (e->op != &nn_op_embedding_window || l->op != &nn_op_linear || l->in[0] != e->out[0] ||
        !e->spec || e->spec->window > SLOTS)
        return 0;
    int x = e->out[0], dx = g->t[x].grad;
    shape sh = shape_of(&g->t[e->in[0]], &g->t[e->in[1]], &g->t[l->in[1]], e->spec->window);
    long window = nn_tensor_numel(&g->t[x]), slots = (long)sh.w * sh.v * sh.n;
    long positions = window / ((long)sh.w * sh.d);
    /* pays: the products cost what v positions' rows did, so at least 2·v positions;
     * fits: P (and S) in the window's (and its gradient's) storage */
    if (positions < 2L * sh.v || window < slots) return 0;
    for (int t = 0; t < g->nt; t++) /* no view shares the storage we reuse */
        if ((t != x && nn_graph_storage(g, t) == x) ||
            (dx >= 0 && t != dx && nn_graph_storage(g, t) == dx))
            return 0;
    /* the window's readers: the linear, and in training its backward (then fused too) */
    for (int j = 0; j < g->nn; j++)
        for (int k = 0; k < g->n[j].nin; k++) {
            if (g->n[j].in[k] != x || j == i + 1) continue;
            if (g->n[j].op != &nn_op_linear_grad || bwd[0] >= 0) return 0;
            bwd[0] = j;
        }
    if (other_writer(g, x, i)) return 0;
    if (bwd[0] >= 0) {
        if (!match_grad(g, e, bwd[0], x)) {
            bwd[0] = -1;
            return 0;
        }
        bwd[1] = bwd[0] + 1;
    }
    return 1;
}

const nn_op nn_op_window_linear = {"embedding_window+linear", NULL, NULL, run};
const nn_op nn_op_window_linear_grad = {"linear_grad+embedding_window_grad", NULL, NULL, run_grad};
