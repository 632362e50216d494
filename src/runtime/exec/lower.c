/* lower.c — graph → plan: fusion, memory planning, one flat list of steps.
 *
 * 1. Storage roots: parameters, buffers and parameter gradients live in nn_params (shared by
 *    the training, evaluation and sampling plans); views (flatten) share their source.
 * 2. Fusion: an elementwise activation whose input nobody else reads runs in place on its
 *    producer's output (linear + bias + tanh, batchnorm + tanh, ...), as one step; in the
 *    backward pass its gradient runs in place too, fused with the producer's backward;
 *    in training, softmax-cross-entropy writes its gradient in the same step, in place of
 *    the probabilities.  The intermediate tensors get no storage of their own.  Across
 *    layers: embedding {window} + linear (or embedding + flatten + linear), and
 *    embedding + recurrent, and their backward nodes, as one computation each
 *    (ir/ops/window_linear.c and embed_recurrent.c decide when, and run it); a linear
 *    reading x + causal_mean(x) of an embedding as lookups of table·W, its scratch kept in
 *    its output's storage until the embedding's backward (ir/ops/mean_linear.c).
 * 3. Memory: every remaining tensor's live range (first to last step that touches it) is
 *    computed, and tensors whose ranges do not overlap share arena space (first fit,
 *    largest first).  Tensors the runtime reads around the plan (inputs, loss, logits,
 *    probabilities, per-row losses) are live throughout.
 * Nothing is allocated after lowering; a step never looks at the graph.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/exec/plan.h"

#define ALIGN_BYTES 64

typedef struct {
    int *root;         /* storage root of each tensor (after aliasing and in-place fusion) */
    char *external;    /* root lives in nn_params */
    int *first, *last; /* live range in step order, −1 when untouched */
    char *pinned;
    long *need; /* floats a root holds at least (a cross-layer fusion's scratch), else 0 */
    int *also;  /* per node: a tensor its step keeps live besides its own (a fusion's scratch) */
} mem_info;

enum { MAX_MEAN_LINEAR = 16 };

/* The linears run as lookups of table·W (ir/ops/mean_linear.c). */
typedef struct {
    nn_mean_linear_nodes m[MAX_MEAN_LINEAR];
    int n;
} mean_linears;

static size_t align_up(size_t n)
{
    return (n + ALIGN_BYTES - 1) / ALIGN_BYTES * ALIGN_BYTES;
}

static int is_activation(const nn_op *op)
{
    return op == &nn_op_tanh || op == &nn_op_relu || op == &nn_op_sigmoid;
}

static int is_activation_grad(const nn_op *op)
{
    return op == &nn_op_tanh_grad || op == &nn_op_relu_grad || op == &nn_op_sigmoid_grad;
}

/* How many node inputs (forward and backward) read tensor t (by root). */
static int readers(const nn_graph *g, const int *root, int t, int from, int to)
{
    int n = 0;
    for (int i = from; i < to; i++)
        for (int k = 0; k < g->n[i].nin; k++)
            if (g->n[i].in[k] >= 0 && root[g->n[i].in[k]] == root[t]) n++;
    return n;
}

/* --- fusion: decide pairs, alias in-place storage --------------------------------------- */

/* embedding {window} + linear or embedding + flatten + linear (ir/ops/window_linear.c),
 * embedding + recurrent (embed_recurrent.c): the embedding and the layer reading it, and their
 * two backward nodes, each one computation on the first node's part of a fused step (a
 * flatten between them is a view: no step). */
static void pair_cross_layer(const nn_graph *g, int *fuse_next, const nn_op **paired)
{
    for (int i = 0; i + 1 < g->nfwd; i++) {
        int bwd[2], next = nn_window_linear_match(g, i, bwd);
        const nn_op *fwd_op = NULL, *bwd_op = NULL;
        if (next)
            fwd_op = &nn_op_window_linear, bwd_op = &nn_op_window_linear_grad;
        else if (nn_embed_recurrent_match(g, i, bwd))
            fwd_op = &nn_op_embed_recurrent, bwd_op = &nn_op_embed_recurrent_grad, next = i + 1;
        if (!fwd_op) continue;
        fuse_next[i] = next;
        paired[i] = fwd_op;
        if (bwd[0] >= 0) {
            fuse_next[bwd[0]] = bwd[1];
            paired[bwd[0]] = bwd_op;
        }
    }
}

/* fuse_next[i] = j: node j runs in the same step as node i (j follows i); paired[i]: the
 * run computing node i and node fuse_next[i] together (cross-layer fusions), else NULL. */
static void plan_fusion(const nn_graph *g, int *root, int *fuse_next, const nn_op **paired)
{
    for (int i = 0; i < g->nn; i++)
        fuse_next[i] = -1;
    pair_cross_layer(g, fuse_next, paired);
    for (int i = 0; i + 1 < g->nfwd; i++) {
        const nn_node *a = &g->n[i], *b = &g->n[i + 1];
        if (!is_activation(b->op) || b->in[0] != a->out[0] || a->op == &nn_op_flatten ||
            a->op == &nn_op_flatten_consecutive)
            continue;
        int o = a->out[0];
        if (g->t[o].alias >= 0 || readers(g, root, o, 0, g->nn) != 1) continue;
        root[b->out[0]] = root[o]; /* the activation runs in place */
        fuse_next[i] = i + 1;
        /* backward: the activation's gradient in place on the output gradient, fused with
         * the producer's backward node when it follows directly */
        for (int j = g->nfwd; j + 1 < g->nn; j++) {
            const nn_node *ga = &g->n[j], *gp = &g->n[j + 1];
            if (!is_activation_grad(ga->op) || ga->out[0] != g->t[o].grad) continue;
            int dy = ga->in[1], dx = ga->out[0];
            if (ga->accumulate || readers(g, root, dy, g->nfwd, g->nn) != 1) break;
            if (readers(g, root, dx, g->nfwd, g->nn) != 1 ||
                gp->in[gp->op == &nn_op_linear_grad ? 2 : 3] != dx)
                break;
            root[dx] = root[dy];
            fuse_next[j] = j + 1;
            break;
        }
    }
    /* softmax-cross-entropy and its gradient, in one pass over cache-hot rows */
    for (int i = 0; i < g->nfwd; i++) {
        if (g->n[i].op != &nn_op_cross_entropy) continue;
        for (int j = g->nfwd; j < g->nn; j++) {
            const nn_node *gn = &g->n[j];
            if (gn->op != &nn_op_cross_entropy_grad || gn->accumulate) continue;
            int prob = g->n[i].out[1];
            if (readers(g, root, prob, 0, g->nn) != 1) break;
            root[gn->out[0]] = root[prob];
            fuse_next[i] = j;
            break;
        }
    }
}

/* --- memory ------------------------------------------------------------------------------ */

/* The per-slot products (and their sums) of embedding + linear live in the embedding
 * output's (and its gradient's) storage: at least nn_window_linear_floats long. */
static void window_linear_need(const nn_graph *g, const int *fuse_next, const nn_op *const *paired,
                               mem_info *m)
{
    for (int i = 0; i < g->nfwd; i++) {
        if (paired[i] != &nn_op_window_linear) continue;
        long n = nn_window_linear_floats(g, i, fuse_next[i]);
        int x = m->root[g->n[i].out[0]], dx = g->t[g->n[i].out[0]].grad;
        if (n > m->need[x]) m->need[x] = n;
        if (dx >= 0 && n > m->need[m->root[dx]]) m->need[m->root[dx]] = n;
    }
}

/* Each mean_linear's scratch lies past the end of its linear's output, which the
 * embedding_grad's step reads (dTW, dPW): that storage is longer and lives until then. */
static void mean_linear_need(const nn_graph *g, const mean_linears *ml, mem_info *m)
{
    for (int i = 0; i < ml->n; i++) {
        const nn_mean_linear_nodes *f = &ml->m[i];
        int y = g->n[f->l].out[0];
        long n = nn_mean_linear_floats(g, f);
        if (n > m->need[m->root[y]]) m->need[m->root[y]] = n;
        if (f->lg >= 0) m->also[f->lg] = m->also[f->eg] = y;
    }
}

/* At most one per embedding: its backward step carries one linear's table products. */
static void mean_linear_find(const nn_graph *g, mean_linears *ml)
{
    ml->n = 0;
    for (int l = 0; l < g->nfwd && ml->n < MAX_MEAN_LINEAR; l++) {
        if (!nn_mean_linear_match(g, l, &ml->m[ml->n])) continue;
        int taken = 0;
        for (int k = 0; k < ml->n; k++)
            taken |= ml->m[k].e == ml->m[ml->n].e;
        if (!taken) ml->n++;
    }
}

static void touch(mem_info *m, int t, int step)
{
    if (t < 0) return;
    int r = m->root[t];
    if (m->first[r] < 0) m->first[r] = step;
    m->last[r] = step;
}

/* Offsets for every arena root: first fit among tensors whose live ranges overlap. */
static size_t place(const nn_graph *g, const mem_info *m, int nsteps, int reuse, size_t *off)
{
    int *order = malloc((size_t)g->nt * sizeof *order), n = 0;
    size_t *size = calloc((size_t)g->nt, sizeof *size), total = 0;
    char *placed = calloc((size_t)g->nt, 1);
    if (!order || !size || !placed) {
        free(order), free(size), free(placed);
        return (size_t)-1;
    }
    for (int t = 0; t < g->nt; t++) {
        if (m->root[t] != t || m->external[t] || m->first[t] < 0) continue;
        long numel = nn_tensor_numel(&g->t[t]);
        size[t] = align_up((size_t)(numel > m->need[t] ? numel : m->need[t]) * 4);
        order[n++] = t;
    }
    for (int a = 1; a < n; a++) /* largest first: insertion sort, n is small */
        for (int b = a; b > 0 && size[order[b]] > size[order[b - 1]]; b--) {
            int x = order[b];
            order[b] = order[b - 1], order[b - 1] = x;
        }
    for (int a = 0; a < n; a++) {
        int t = order[a];
        size_t at = 0;
        for (int again = 1; again && reuse;) {
            again = 0;
            for (int b = 0; b < a; b++) {
                int u = order[b];
                int lo = m->first[t] > m->first[u] ? m->first[t] : m->first[u];
                int hi = m->last[t] < m->last[u] ? m->last[t] : m->last[u];
                if (lo > hi || at + size[t] <= off[u] || off[u] + size[u] <= at) continue;
                at = off[u] + size[u];
                again = 1;
            }
        }
        if (!reuse) at = total;
        off[t] = at;
        placed[t] = 1;
        if (at + size[t] > total) total = at + size[t];
    }
    (void)nsteps;
    free(order), free(size), free(placed);
    return total;
}

/* --- steps ------------------------------------------------------------------------------- */

static void make_step(const nn_plan *p, const nn_node *n, nn_step *s)
{
    memset(s, 0, sizeof *s);
    s->run = n->op->run;
    s->node = n;
    for (int i = 0; i < n->nin; i++)
        if (n->in[i] >= 0) {
            s->in[i] = p->ptr[n->in[i]];
            s->tin[i] = &p->g->t[n->in[i]];
        }
    for (int i = 0; i < n->nout; i++)
        if (n->out[i] >= 0) {
            s->out[i] = p->ptr[n->out[i]];
            s->tout[i] = &p->g->t[n->out[i]];
        }
}

static void run_fused(const nn_step *s, int rows)
{
    for (int i = 0; i < s->nsub; i++)
        s->sub[i].run(&s->sub[i], rows);
}

/* The second node of a cross-layer pair: its partner's run computed it. */
static void run_paired_away(const nn_step *s, int rows)
{
    (void)s, (void)rows;
}

/* Longer than any chain fusion makes (tanh_grad + linear_grad + embedding_grad is 3): a
 * cross-layer pair is never cut apart. */
enum { MAX_CHAIN = 6 };

/* Step order: each node once, fused followers inside their leader's step. */
static int build_steps(nn_plan *p, const int *fuse_next, const nn_op *const *paired)
{
    const nn_graph *g = p->g;
    char *done = calloc((size_t)g->nn + 1, 1);
    if (!done) return -1;
    p->nfwd = -1;
    for (int i = 0; i < g->nn; i++) {
        if (i == g->nfwd && p->nfwd < 0) p->nfwd = p->nsteps;
        if (done[i] || !g->n[i].op->run) continue;
        int chain[MAX_CHAIN], len = 0;
        for (int j = i; j >= 0 && len < MAX_CHAIN && !done[j]; j = fuse_next[j]) {
            chain[len++] = j;
            done[j] = 1;
        }
        nn_step *s = &p->steps[p->nsteps++];
        if (len == 1) {
            make_step(p, &g->n[i], s);
            continue;
        }
        nn_step *sub = &p->subs[p->nsubs];
        for (int k = 0; k < len; k++)
            make_step(p, &g->n[chain[k]], &p->subs[p->nsubs++]);
        for (int k = 0; k + 1 < len; k++)
            if (paired[chain[k]]) { /* pair_cross_layer made them neighbours */
                sub[k].run = paired[chain[k]]->run;
                sub[k].pair = &sub[k + 1];
                sub[k + 1].run = run_paired_away;
            }
        memset(s, 0, sizeof *s);
        s->run = run_fused;
        s->sub = sub;
        s->nsub = len;
    }
    if (p->nfwd < 0) p->nfwd = p->nsteps;
    free(done);
    return 0;
}

/* The step (or part of a fused step) that runs node `node`. */
static nn_step *step_of(nn_plan *p, int node)
{
    const nn_node *n = &p->g->n[node];
    for (int i = 0; i < p->nsteps; i++)
        if (p->steps[i].node == n) return &p->steps[i];
    for (int i = 0; i < p->nsubs; i++)
        if (p->subs[i].node == n) return &p->subs[i];
    return NULL;
}

/* The mean_linear runs on their nodes' steps, each paired with the step it reads. */
static void mean_linear_wire(nn_plan *p, const mean_linears *ml)
{
    for (int i = 0; i < ml->n; i++) {
        const nn_mean_linear_nodes *f = &ml->m[i];
        nn_step *e = step_of(p, f->e), *l = step_of(p, f->l);
        nn_step *lg = f->lg >= 0 ? step_of(p, f->lg) : NULL,
                *eg = f->eg >= 0 ? step_of(p, f->eg) : NULL;
        if (!e || !l || (f->lg >= 0 && (!lg || !eg))) continue;
        l->run = nn_op_mean_linear.run, l->pair = e;
        if (!lg) continue;
        lg->run = nn_op_mean_linear_grad.run, lg->pair = l;
        eg->run = nn_op_mean_linear_embed_grad.run, eg->pair = lg;
    }
}

/* Live ranges in the order the steps will run. */
static void live_ranges(const nn_graph *g, const int *fuse_next, mem_info *m)
{
    char *done = calloc((size_t)g->nn + 1, 1);
    int step = 0;
    for (int i = 0; done && i < g->nn; i++, step++) {
        if (done[i]) continue;
        for (int j = i; j >= 0 && !done[j]; j = fuse_next[j]) {
            done[j] = 1;
            for (int k = 0; k < g->n[j].nin; k++)
                touch(m, g->n[j].in[k], step);
            for (int k = 0; k < g->n[j].nout; k++)
                touch(m, g->n[j].out[k], step);
            touch(m, m->also[j], step);
        }
    }
    for (int t = 0; t < g->nt; t++)
        if (m->pinned[t]) {
            m->first[m->root[t]] = 0;
            m->last[m->root[t]] = step + 1;
        }
    free(done);
}

static void pin_outputs(const nn_graph *g, mem_info *m)
{
    int keep[] = {g->x, g->y, g->loss, g->row_loss, g->logits};
    for (size_t i = 0; i < sizeof keep / sizeof *keep; i++)
        if (keep[i] >= 0) m->pinned[keep[i]] = 1;
    for (int i = 0; i < g->nfwd; i++)
        if (g->n[i].op == &nn_op_cross_entropy && g->n[i].out[1] >= 0 && !g->training)
            m->pinned[g->n[i].out[1]] = 1; /* sampling reads the probabilities */
}

/* Storage in nn_params for parameters, buffers and parameter gradients; NULL otherwise. */
static void *param_storage(const nn_graph *g, int t, nn_params *P, int *missing)
{
    const nn_tensor *x = &g->t[t];
    static float outside; /* measuring (no P): these live outside the arena all the same */
    if (x->role == NN_PARAM || x->role == NN_BUFFER) {
        if (!P) return &outside;
        nn_param *p = nn_params_find(P, x->name);
        if (!p) *missing = 1;
        return p ? p->data : NULL;
    }
    for (int i = 0; i < g->nt; i++)
        if (g->t[i].grad == t && g->t[i].role == NN_PARAM) {
            if (!P) return &outside;
            nn_param *p = nn_params_find(P, g->t[i].name);
            if (!p || !p->grad) *missing = 1;
            return p ? p->grad : NULL;
        }
    return NULL;
}

static int assign_storage(nn_plan *p, nn_params *P, int flags, int *fuse_next, const nn_op **paired,
                          const mean_linears *ml)
{
    const nn_graph *g = p->g;
    mem_info m;
    size_t n = (size_t)g->nt;
    m.root = malloc(n * sizeof *m.root);
    m.first = malloc(n * sizeof *m.first);
    m.last = malloc(n * sizeof *m.last);
    m.external = calloc(n, 1);
    m.pinned = calloc(n, 1);
    m.need = calloc(n, sizeof *m.need);
    m.also = malloc(((size_t)g->nn + 1) * sizeof *m.also);
    size_t *off = calloc(n, sizeof *off);
    int missing = 0, rc = -1;
    if (!m.root || !m.first || !m.last || !m.external || !m.pinned || !m.need || !m.also || !off)
        goto out;
    for (int i = 0; i < g->nn; i++)
        m.also[i] = -1;
    for (int t = 0; t < g->nt; t++) {
        m.root[t] = nn_graph_storage(g, t);
        m.first[t] = m.last[t] = -1;
    }
    if (flags & NN_LOWER_FUSE) plan_fusion(g, m.root, fuse_next, paired);
    /* a view of a tensor that fusion moved in place (flatten_consecutive after a fused
     * tanh) follows it to its new root */
    for (int t = 0; t < g->nt; t++)
        while (m.root[m.root[t]] != m.root[t])
            m.root[t] = m.root[m.root[t]];
    window_linear_need(g, fuse_next, paired, &m);
    mean_linear_need(g, ml, &m);
    for (int t = 0; t < g->nt; t++)
        if (m.root[t] == t && (p->ptr[t] = param_storage(g, t, P, &missing))) m.external[t] = 1;
    if (missing) goto out;
    pin_outputs(g, &m);
    if (!(flags & NN_LOWER_REUSE))
        for (int t = 0; t < g->nt; t++)
            m.pinned[t] = 1; /* everything kept: graph --values */
    live_ranges(g, fuse_next, &m);
    size_t total = place(g, &m, g->nn, flags & NN_LOWER_REUSE, off);
    if (total == (size_t)-1) goto out;
    p->arena_bytes = total;
    if (flags & NN_LOWER_MEASURE) { /* the size only: nothing to run, nothing allocated */
        rc = 0;
        goto out;
    }
    p->arena = aligned_alloc(ALIGN_BYTES, total ? total : ALIGN_BYTES);
    if (!p->arena) goto out;
    memset(p->arena, 0, total);
    for (int t = 0; t < g->nt; t++) {
        int r = m.root[t];
        if (!m.external[r] && m.first[r] >= 0)
            p->ptr[t] = (char *)p->arena + off[r];
        else if (m.external[r])
            p->ptr[t] = p->ptr[r];
    }
    rc = 0;
out:
    free(m.root), free(m.first), free(m.last), free(m.external), free(m.pinned), free(m.need);
    free(m.also);
    free(off);
    return rc;
}

nn_plan *nn_plan_lower(const nn_graph *g, nn_params *P, int flags)
{
    nn_plan *p = calloc(1, sizeof *p);
    int *fuse_next = malloc(((size_t)g->nn + 1) * sizeof *fuse_next);
    const nn_op **paired = calloc((size_t)g->nn + 1, sizeof *paired);
    mean_linears ml = {.n = 0};
    if (!p || !fuse_next || !paired) goto fail;
    if (flags & NN_LOWER_FUSE) mean_linear_find(g, &ml);
    for (int i = 0; i < g->nn; i++)
        fuse_next[i] = -1;
    p->g = g;
    p->ptr = calloc((size_t)g->nt, sizeof *p->ptr);
    p->steps = calloc((size_t)g->nn + 1, sizeof *p->steps);
    p->subs = calloc((size_t)g->nn + 1, sizeof *p->subs);
    if (!p->ptr || !p->steps || !p->subs ||
        assign_storage(p, P, flags, fuse_next, paired, &ml) != 0 ||
        build_steps(p, fuse_next, paired) != 0)
        goto fail;
    mean_linear_wire(p, &ml);
    free(fuse_next);
    free(paired);
    return p;
fail:
    free(fuse_next);
    free(paired);
    nn_plan_free(p);
    return NULL;
}

size_t nn_plan_arena_bytes(const nn_graph *g, int flags)
{
    nn_plan *p = nn_plan_lower(g, NULL, flags | NN_LOWER_MEASURE);
    size_t n = p ? p->arena_bytes : (size_t)-1;
    nn_plan_free(p);
    return n;
}

void nn_plan_free(nn_plan *p)
{
    if (!p) return;
    free(p->arena);
    free(p->ptr);
    free(p->steps);
    free(p->subs);
    free(p);
}

void nn_plan_forward(const nn_plan *p, int rows)
{
    for (int i = 0; i < p->nfwd; i++)
        p->steps[i].run(&p->steps[i], rows);
}

void nn_plan_backward(const nn_plan *p, int rows)
{
    for (int i = p->nfwd; i < p->nsteps; i++)
        p->steps[i].run(&p->steps[i], rows);
}

/* A part's op, marked "(lookups)" where a mean_linear run computes it from table products
 * (the graph node is the same; only how it runs differs). */
static void print_part(const nn_step *s, FILE *out)
{
    int lookups = s->run == nn_op_mean_linear.run || s->run == nn_op_mean_linear_grad.run ||
                  s->run == nn_op_mean_linear_embed_grad.run;
    fprintf(out, "%s%s", s->node->op->name, lookups ? "(lookups)" : "");
}

static void print_step(const nn_step *s, FILE *out)
{
    if (!s->sub) {
        print_part(s, out);
        return;
    }
    for (int i = 0; i < s->nsub; i++) {
        if (i) fputc('+', out);
        print_part(&s->sub[i], out);
    }
}

void nn_plan_step_name(const nn_plan *p, int i, char *buf, size_t n)
{
    const nn_step *s = &p->steps[i];
    const nn_step *last = s->sub ? &s->sub[s->nsub - 1] : s;
    FILE *mem = fmemopen(buf, n, "w");
    if (!mem) {
        snprintf(buf, n, "?");
        return;
    }
    print_step(s, mem);
    if (last->node->nout > 0 && last->tout[0]) fprintf(mem, " -> %s", last->tout[0]->name);
    fclose(mem);
}

void nn_plan_print(const nn_plan *p, const nn_params *P, FILE *out)
{
    char shape[64];
    fprintf(out, "%-4s %-44s %s\n", "#", "step", "writes");
    for (int i = 0; i < p->nsteps; i++) {
        const nn_step *s = &p->steps[i];
        const nn_step *last = s->sub ? &s->sub[s->nsub - 1] : s;
        if (i == p->nfwd) fprintf(out, "---- backward ----\n");
        fprintf(out, "%-4d ", i);
        char name[128];
        FILE *mem = fmemopen(name, sizeof name, "w");
        if (mem) {
            print_step(s, mem);
            fclose(mem);
        } else {
            snprintf(name, sizeof name, "?");
        }
        fprintf(out, "%-44s", name);
        for (int k = 0; k < last->node->nout; k++)
            if (last->tout[k])
                fprintf(out, " %s%s@%td", last->tout[k]->name,
                        nn_tensor_shape_str(last->tout[k], shape, sizeof shape),
                        last->out[k] && (char *)last->out[k] >= (char *)p->arena &&
                                (char *)last->out[k] < (char *)p->arena + p->arena_bytes
                            ? (char *)last->out[k] - (char *)p->arena
                            : -1);
        fprintf(out, "\n");
    }
    long pbytes = 0;
    for (int i = 0; P && i < P->n; i++)
        pbytes += P->p[i].numel * 4 * (P->p[i].grad ? 2 : 1);
    fprintf(out, "steps: %d (%d forward), arena: %zu bytes, parameters+gradients: %ld bytes\n",
            p->nsteps, p->nfwd, p->arena_bytes, pbytes);
}
