/* window_linear.c — an embedding's rows read by a linear, as lookups of per-slot products.
 *
 * Two forms: embedding {window} → linear (makemore's MLP: at each position the window's row
 * is W table rows side by side, slot k the token k places back or the blank) and groups of
 * consecutive tokens: the lesson's embedding → flatten → linear (one group, the whole
 * context: slot k the row's k-th token) and lesson 5's embedding → flatten_consecutive {n}
 * → linear (T/n groups per row: slot k of group p the token p·n + k).  Either way the
 * linear's input row is table rows side by side, so its product with the weight
 * [slots·dim, out] is a sum over the slots of table row · W_k (W_k: rows k·dim … k·dim +
 * dim − 1 of the weight):
 *   P_k = table · W_k                     [table rows, out] per slot: small products
 *   y   = b + Σ_k P_k[token at slot k]    per position: row lookups
 * and the backward, with S_k = Σ over positions of dy, into the row of slot k's token:
 *   dW_k = tableᵀ · S_k,   db = Σ dy,   dtable (+)= Σ_k S_k · W_kᵀ
 * For makemore's MLP (512 positions, window 16 × 64, table 28 rows, out 64) that is ≈ 12
 * MFLOP a step instead of ≈ 200; for the `large` benchmark (512 rows, context 8 × 64, 27
 * rows, out 1024) ≈ 85 instead of ≈ 1600: the products scale with the table, not the rows.
 * The same sums in another order: the results agree with the ops' to float rounding.
 *
 * Lowering (runtime/exec/lower.c) decides, with nn_window_linear_match, and runs these on
 * the plan's steps of the graph nodes: the forward on the embedding's step (s->pair = the
 * linear's; a flatten between them is a view, no step), the backward on the linear_grad's
 * (s->pair = the embedding's backward step); the partner's own run is skipped.  The per-slot
 * products P live in the embedding output's storage and the sums S in its gradient's (match
 * checks that nothing else reads either; lowering makes both at least
 * nn_window_linear_floats long), so a step allocates nothing.  A plan
 * that keeps every tensor (NN_LOWER_KEEP_ALL: gradcheck, --dump-step, the reports' probes)
 * runs the ops as they are.
 */
#include <string.h>

#include "ir/op.h"
#include "kernels/kernels.h"
#include "kernels/parallel.h"

enum { SLOTS = 256 }; /* the parser's limit on window */

typedef struct {
    int t_len, w, v, d, n; /* positions per row, slots, table rows, embedding width, out */
    int window;            /* 1: embedding {window}; 0: groups of w consecutive tokens */
} shape;

/* ids[k] = the row of slot k's token at position t of row r in the stacked per-slot tables
 * (slot k's table starts at row k·v).  A window's slot k is the token k places back (before
 * the start of the sequence: the blank, v − 1); a group's is its k-th token. */
static void slot_ids(const int32_t *idx, const shape *sh, int r, int t, int32_t *ids)
{
    if (!sh->window) {
        const int32_t *group = idx + ((size_t)r * sh->t_len + t) * sh->w;
        for (int k = 0; k < sh->w; k++)
            ids[k] = k * sh->v + group[k];
        return;
    }
    const int32_t *row = idx + (size_t)r * sh->t_len;
    for (int k = 0; k < sh->w; k++)
        ids[k] = k * sh->v + (t - k >= 0 ? row[t - k] : sh->v - 1);
}

/* w: the window, 0 for an embedding whose [B, T, dim] rows are grouped: groups of
 * weight rows ÷ dim tokens (T for a flatten, n for flatten_consecutive {n}), T/n per row */
static shape shape_of(const nn_tensor *ids, const nn_tensor *table, const nn_tensor *weight, int w)
{
    if (!w) {
        int n = weight->dim[0] / table->dim[1];
        if (n < 1) n = 1; /* a weight narrower than a row: nn_window_linear_match refuses it */
        return (shape){ids->dim[1] / n, n, table->dim[0], table->dim[1], weight->dim[1], 0};
    }
    return (shape){ids->dim[1], w, table->dim[0], table->dim[1], weight->dim[1], 1};
}

/* One fused run: the forward's (s the embedding's step) or the backward's (s the
 * linear_grad's), its shapes and active rows.  With two threads each phase is split into two
 * tasks over disjoint outputs, each element computed whole on one thread in the serial order:
 * the same bits at any thread count. */
typedef struct {
    const nn_step *s;
    shape sh;
    int rows, tasks;
} job;

static job job_of(const nn_step *s, const nn_tensor *ids, const nn_tensor *table,
                  const nn_tensor *weight, int window, int rows)
{
    job j = {s, shape_of(ids, table, weight, window), rows, 1};
    if (nn_parallel_threads() > 1 && (double)j.sh.w * j.sh.v * j.sh.d * j.sh.n >= (double)(1 << 19))
        j.tasks = 2;
    return j;
}

static void run_tasks(job *j, void (*fn)(void *ctx, int task))
{
    if (j->tasks > 1)
        nn_parallel_run(j->tasks, fn, j);
    else
        fn(j, 0);
}

/* P_k = table·W_k for the slots k ≡ task (mod tasks) */
static void products(void *ctx, int task)
{
    const job *j = ctx;
    const nn_step *s = j->s, *l = s->pair;
    const shape *sh = &j->sh;
    size_t pk = (size_t)sh->v * sh->n, wk = (size_t)sh->d * sh->n;
    for (int k = task; k < sh->w; k += j->tasks)
        nn_k->sgemm_nn(sh->v, sh->n, sh->d, s->in[1], sh->d, (const float *)l->in[1] + k * wk,
                       sh->n, (float *)s->out[0] + k * pk, sh->n, 0);
}

/* y = b + Σ_k P_k[token at slot k] for the task's share of the rows */
static void lookups(void *ctx, int task)
{
    const job *j = ctx;
    const nn_step *s = j->s, *l = s->pair;
    const shape *sh = &j->sh;
    int r0 = (int)((long)j->rows * task / j->tasks),
        r1 = (int)((long)j->rows * (task + 1) / j->tasks);
    int32_t ids[SLOTS];
    for (int r = r0; r < r1; r++)
        for (int t = 0; t < sh->t_len; t++) {
            slot_ids(s->in[0], sh, r, t, ids);
            nn_k->embed_sum(sh->w, sh->n, ids, s->out[0], l->in[2],
                            (float *)l->out[0] + ((size_t)r * sh->t_len + t) * (size_t)sh->n);
        }
}

/* s: the embedding's step (ids, table; its output's storage holds P), s->pair: the
 * linear's (weight, bias, y). */
static void run(const nn_step *s, int rows)
{
    job j = job_of(s, s->tin[0], s->tin[1], s->pair->tin[1], s->node->spec->window, rows);
    run_tasks(&j, products);
    run_tasks(&j, lookups);
}

/* S_k = Σ over positions of dy into the row of slot k's token, for the slots k ≡ task (mod
 * tasks): each S_k whole on one thread, its rows added in position order. */
static void sums(void *ctx, int task)
{
    const job *j = ctx;
    const nn_step *s = j->s, *e = s->pair;
    const shape *sh = &j->sh;
    size_t pk = (size_t)sh->v * sh->n;
    float *sum = s->out[0];
    for (int k = task; k < sh->w; k += j->tasks)
        memset(sum + k * pk, 0, pk * sizeof *sum);
    int32_t ids[SLOTS];
    for (int r = 0; r < j->rows; r++)
        for (int t = 0; t < sh->t_len; t++) {
            slot_ids(e->in[0], sh, r, t, ids);
            int n = 0;
            for (int k = task; k < sh->w; k += j->tasks)
                ids[n++] = ids[k];
            nn_k->embed_spread(
                n, sh->n, ids,
                (const float *)s->in[2] + ((size_t)r * sh->t_len + t) * (size_t)sh->n, sum);
        }
}

/* After S: dtable (+)= Σ_k S_k·W_kᵀ (task 0), dW_k = tableᵀ·S_k and db (task 1). */
static void grad_part(void *ctx, int task)
{
    const job *j = ctx;
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
 * embedding's backward (ids, table; dtable).  With two threads the sums split by slot, then
 * the two products run side by side, each whole on one thread (as linear.c's dX and dW). */
static void run_grad(const nn_step *s, int rows)
{
    const nn_step *e = s->pair;
    job j = job_of(s, e->tin[0], e->tin[2], s->tin[1], e->node->spec->window, rows);
    run_tasks(&j, sums);
    if (j.tasks > 1)
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

/* The graph's tensors around the fusion: x the embedding's output (whose storage holds P),
 * xl the linear's input (x, or the flatten's view of it), and their gradients. */
typedef struct {
    int x, xl, dx, dxl;
} tensors;

/* The backward pair: linear_grad node j reading xl (its input 0) and writing dxl, directly
 * followed by the embedding's backward (`op`) reading dx, the ids and the table. */
static int match_grad(const nn_graph *g, const nn_node *e, const nn_op *op, int j, const tensors *t)
{
    if (j + 1 >= g->nn || t->dx < 0 || t->dxl < 0) return 0;
    const nn_node *lg = &g->n[j], *eg = &g->n[j + 1];
    return lg->in[0] == t->xl && lg->out[0] == t->dxl && !(lg->accumulate & 1) && eg->op == op &&
           eg->nin == 3 && eg->in[1] == t->dx && eg->in[0] == e->in[0] && eg->in[2] == e->in[1] &&
           !other_use(g, t->dx, j + 1, j) && (t->dxl == t->dx || !other_use(g, t->dxl, -1, j));
}

/* The linear's node after embedding node i, or 0: embedding {window} → linear, or a plain
 * embedding (no position table) → flatten or flatten_consecutive → linear. */
static int find_linear(const nn_graph *g, int i, tensors *t)
{
    const nn_node *e = &g->n[i];
    if (!e->spec || i + 1 >= g->nfwd) return 0;
    t->x = t->xl = e->out[0];
    int l = i + 1;
    if (e->op == &nn_op_embedding) {
        const nn_node *f = &g->n[i + 1];
        if (e->in[2] >= 0 || (f->op != &nn_op_flatten && f->op != &nn_op_flatten_consecutive) ||
            f->in[0] != t->x || i + 2 >= g->nfwd)
            return 0;
        t->xl = f->out[0];
        l = i + 2;
    } else if (e->op != &nn_op_embedding_window) {
        return 0;
    }
    if (g->n[l].op != &nn_op_linear || g->n[l].in[0] != t->xl) return 0;
    t->dx = g->t[t->x].grad;
    t->dxl = g->t[t->xl].grad;
    return l;
}

/* The readers of x and xl: the flatten (if any), the linear, and in training its backward
 * (then fused too, bwd[0]); nobody else.  x written by the embedding alone, xl by its maker. */
static int sole_readers(const nn_graph *g, int i, int l, const tensors *t, int bwd[2])
{
    for (int j = 0; j < g->nn; j++)
        for (int k = 0; k < g->n[j].nin; k++) {
            int in = g->n[j].in[k];
            if (in != t->x && in != t->xl) continue;
            if (j == l && in == t->xl && k == 0) continue;
            if (t->xl != t->x && j == i + 1 && in == t->x) continue; /* the flatten */
            if (in != t->xl || g->n[j].op != &nn_op_linear_grad || bwd[0] >= 0) return 0;
            bwd[0] = j;
        }
    return !other_writer(g, t->x, i) && (t->xl == t->x || !other_writer(g, t->xl, i + 1));
}

int nn_window_linear_match(const nn_graph *g, int i, int bwd[2])
{
    bwd[0] = bwd[1] = -1;
    tensors t;
    int l = i >= 0 ? find_linear(g, i, &t) : 0;
    if (!l) return 0;
    const nn_node *e = &g->n[i];
    shape sh = shape_of(&g->t[e->in[0]], &g->t[e->in[1]], &g->t[g->n[l].in[1]], e->spec->window);
    if (sh.w < 1 || sh.w > SLOTS || (long)sh.w * sh.d != g->t[g->n[l].in[1]].dim[0] ||
        (!sh.window && (long)sh.t_len * sh.w != g->t[e->in[0]].dim[1]))
        return 0;
    long positions = nn_tensor_numel(&g->t[t.x]) / ((long)sh.w * sh.d);
    /* pays: the products cost what v positions' rows did, so at least 2·v positions */
    if (positions < 2L * sh.v) return 0;
    for (int u = 0; u < g->nt; u++) { /* no other view shares the storage we reuse */
        int root = nn_graph_storage(g, u);
        if ((u != t.x && u != t.xl && root == t.x) ||
            (t.dx >= 0 && u != t.dx && u != t.dxl && root == t.dx))
            return 0;
    }
    if (!sole_readers(g, i, l, &t, bwd)) return 0;
    if (bwd[0] >= 0) {
        const nn_op *op = sh.window ? &nn_op_embedding_window_grad : &nn_op_embedding_grad;
        if (!match_grad(g, e, op, bwd[0], &t)) {
            bwd[0] = -1;
            return 0;
        }
        bwd[1] = bwd[0] + 1;
    }
    return l;
}

long nn_window_linear_floats(const nn_graph *g, int i, int l)
{
    const nn_node *e = &g->n[i];
    shape sh = shape_of(&g->t[e->in[0]], &g->t[e->in[1]], &g->t[g->n[l].in[1]], e->spec->window);
    return (long)sh.w * sh.v * sh.n;
}

/* the names are never printed: a plan prints its steps by their nodes' ops */
const nn_op nn_op_window_linear = {"embedding+linear", NULL, NULL, run};
const nn_op nn_op_window_linear_grad = {"linear_grad+embedding_grad", NULL, NULL, run_grad};
