/* nancheck.c — stopping on a non-finite loss or gradient, and naming where it began. */
#include "runtime/train/nancheck.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ir/op.h"
#include "kernels/kernels.h"

/* the kernels' check (one FMA per vector: a small fraction of what the optimizer spends on
 * the same memory) */
static int all_finite(const float *x, long n)
{
    return nn_k->all_finite((size_t)n, x);
}

int nn_grads_finite(const nn_params *P)
{
    for (int i = 0; i < P->n; i++)
        if (P->p[i].grad && !all_finite(P->p[i].grad, P->p[i].numel)) return 0;
    return 1;
}

/* BatchNorm's running buffers (a few hundred floats): the training forward pass updates
 * them and nothing in training reads them, so a non-finite one shows only here. */
static int buffers_finite(const nn_params *P)
{
    for (int i = 0; i < P->n; i++)
        if (P->p[i].role == NN_BUFFER && !all_finite(P->p[i].data, P->p[i].numel)) return 0;
    return 1;
}

int nn_step_nonfinite(const nn_params *P, float loss, int check_all)
{
    if (!isfinite(loss) || (check_all && !nn_grads_finite(P))) return NN_NONFINITE_STEP;
    if (check_all && !buffers_finite(P)) return NN_NONFINITE_BUFFER;
    return 0;
}

/* The first output of node `i` holding a non-finite value with `rows` active rows. */
static int bad_output(const nn_plan *p, int i, int rows)
{
    const nn_node *n = &p->g->n[i];
    for (int k = 0; k < n->nout; k++) {
        int t = n->out[k];
        if (t < 0 || p->g->t[t].dtype != NN_F32 || !nn_plan_ptr(p, t)) continue;
        long m = nn_tensor_active_numel(&p->g->t[t], rows);
        const float *x = nn_plan_ptr(p, t);
        for (long j = 0; j < m; j++)
            if (!isfinite(x[j])) return t;
    }
    return -1;
}

/* BatchNorm's running buffers: saved before the re-run (malloc'd), restored after it. */
static float *save_buffers(const nn_params *P)
{
    long total = 0;
    for (int i = 0; i < P->n; i++)
        if (P->p[i].role == NN_BUFFER) total += P->p[i].numel;
    float *saved = malloc((size_t)(total ? total : 1) * sizeof *saved), *at = saved;
    for (int i = 0; saved && i < P->n; i++) {
        if (P->p[i].role != NN_BUFFER) continue;
        memcpy(at, P->p[i].data, (size_t)P->p[i].numel * sizeof(float));
        at += P->p[i].numel;
    }
    return saved;
}

static void restore_buffers(const nn_params *P, const float *saved)
{
    for (int i = 0; i < P->n; i++) {
        if (P->p[i].role != NN_BUFFER) continue;
        memcpy(P->p[i].data, saved, (size_t)P->p[i].numel * sizeof(float));
        saved += P->p[i].numel;
    }
}

static void describe_node(const nn_graph *g, int node, int t, nn_nan_report *r)
{
    const nn_node *n = &g->n[node];
    r->found = 1;
    r->backward = node >= g->nfwd;
    r->layer = n->layer >= 0 ? n->layer : -1; /* 0-based, as tensor names and --set */
    snprintf(r->kind, sizeof r->kind, "%s",
             n->spec ? nn_layer_kind_name(n->spec->kind) : n->op->name);
    snprintf(r->tensor, sizeof r->tensor, "%s", g->t[t].name);
    nn_tensor_shape_str(&g->t[t], r->shape, sizeof r->shape);
    r->at = n->mark;
}

/* The first parameter or buffer (in model order) holding a non-finite value: an earlier
 * update overflowed, or this step's forward pass a running buffer.  0 when none. */
static int locate_param(const nn_trainer *tr, nn_nan_report *r)
{
    const nn_graph *g = nn_trainer_graph(tr, NN_TRAINING);
    const nn_params *P = nn_trainer_params(tr);
    for (int i = 0; i < P->n; i++) {
        const nn_param *p = &P->p[i];
        if (all_finite(p->data, p->numel)) continue;
        for (int t = 0; t < g->nt; t++)
            if (!strcmp(g->t[t].name, p->name))
                for (int k = 0; k < g->nfwd; k++)
                    for (int j = 0; j < g->n[k].nin; j++)
                        if (g->n[k].in[j] == t) {
                            describe_node(g, k, t, r);
                            r->update = p->role == NN_PARAM;
                            r->buffer = p->role == NN_BUFFER;
                            return 1;
                        }
    }
    return 0;
}

nn_nan_report *nn_nan_locate(const nn_trainer *tr, long step, double loss)
{
    nn_nan_report *r = calloc(1, sizeof *r);
    if (!r) return NULL;
    r->step = step;
    r->loss = loss;
    const nn_graph *g = nn_trainer_graph(tr, NN_TRAINING);
    nn_params *P = nn_trainer_params(tr);
    int batch = nn_trainer_batch(tr);
    if (!g || locate_param(tr, r)) return r;
    nn_plan *p = g ? nn_plan_lower(g, P, NN_LOWER_KEEP_ALL) : NULL;
    float *saved = p ? save_buffers(P) : NULL;
    if (!saved) {
        nn_plan_free(p);
        return r; /* out of memory: the step is still named */
    }
    /* the same minibatch: x and y are 4-byte elements in both plans */
    const nn_plan *tp = nn_trainer_plan(tr, NN_TRAINING);
    memcpy(nn_plan_ptr(p, g->x), nn_plan_ptr(tp, g->x), (size_t)nn_tensor_numel(&g->t[g->x]) * 4);
    memcpy(nn_plan_ptr(p, g->y), nn_plan_ptr(tp, g->y), (size_t)nn_tensor_numel(&g->t[g->y]) * 4);
    nn_plan_forward(p, batch);
    nn_plan_backward(p, batch);
    restore_buffers(P, saved);
    for (int i = 0; i < g->nn; i++) {
        int t = bad_output(p, i, batch);
        if (t >= 0) {
            describe_node(g, i, t, r);
            break;
        }
    }
    free(saved);
    nn_plan_free(p);
    return r;
}

/* "nan", "inf", "-inf" (printf's "-nan" says nothing more) or the number */
static const char *num(double v, char *buf, size_t len)
{
    if (isnan(v)) return "nan";
    snprintf(buf, len, "%g", v);
    return buf;
}

const char *nn_nan_describe(const nn_nan_report *r, char *buf, size_t len)
{
    char where[256] = "", l[32];
    if (r->buffer) { /* BatchNorm's running statistics, updated by the forward pass */
        snprintf(buf, len,
                 "step %ld: the running buffer '%s' %s of layer %d (%s) became non-finite in "
                 "the forward pass (the loss was %s)",
                 r->step, r->tensor, r->shape, r->layer, r->kind, num(r->loss, l, sizeof l));
        return buf;
    }
    if (r->update) { /* the previous update overflowed, though its gradients were finite */
        snprintf(buf, len,
                 "step %ld: the parameter '%s' %s of layer %d (%s) is non-finite: the update "
                 "of step %ld overflowed (the loss is now %s)",
                 r->step, r->tensor, r->shape, r->layer, r->kind, r->step - 1,
                 num(r->loss, l, sizeof l));
        return buf;
    }
    if (r->found && r->layer >= 0)
        snprintf(where, sizeof where,
                 "; the first non-finite value is in %s '%s' %s of layer %d (%s), in the %s pass",
                 r->backward ? "the gradient" : "the output", r->tensor, r->shape, r->layer,
                 r->kind, r->backward ? "backward" : "forward");
    else if (r->found)
        snprintf(where, sizeof where,
                 "; the first non-finite value is in '%s' %s (%s), in the %s pass", r->tensor,
                 r->shape, r->kind, r->backward ? "backward" : "forward");
    if (isfinite(r->loss))
        snprintf(buf, len, "step %ld: a gradient became non-finite (the loss was %s)%s", r->step,
                 num(r->loss, l, sizeof l), where);
    else
        snprintf(buf, len, "step %ld: the loss became non-finite (%s)%s", r->step,
                 num(r->loss, l, sizeof l), where);
    return buf;
}

void nn_nan_diag(const nn_nan_report *r, const char *spec_path, nn_diag *d)
{
    char msg[512];
    nn_mark at = r->found && r->at.file ? r->at : (nn_mark){spec_path, 1, 1};
    nn_diag_error(d, at, "%s", nn_nan_describe(r, msg, sizeof msg));
    nn_diag_note(d,
                 "the run stopped before updating the parameters at step %ld; metrics.csv "
                 "holds steps 0 to %ld",
                 r->step, r->step - 1);
    nn_diag_note(d, "a smaller learning rate (train.lr) or a gentler init usually helps; "
                    "--no-nan-check checks only the loss");
}
