/* plan_model.h — what the tests of lowering's fusions share (test_window_linear.c,
 * test_embed_recurrent.c, test_mean_linear.c, test_seq.c): a model built from layers,
 * lowered with chosen flags (a fused plan, NN_LOWER_FAST, against the ops as they are,
 * NN_LOWER_KEEP_ALL), its parameters drawn from a fixed seed, the plan's loss and step
 * names, and the comparisons: fused against plain, one thread against two, gradients
 * against central differences. */
#ifndef NN_TEST_PLAN_MODEL_H
#define NN_TEST_PLAN_MODEL_H

#include "testutil.h"

#include "ir/build.h"
#include "runtime/exec/plan.h"

typedef struct {
    nn_graph *g;
    nn_params *P;
    nn_plan *p;
} tm_model;

/* A layer of kind k at line `line` of model.yaml. */
static inline nn_layer tm_layer(nn_layer_kind k, int line)
{
    nn_layer l = {.kind = k};
    l.mark = (nn_mark){"model.yaml", line, 5};
    return l;
}

/* Builds, lowers with `flags`, and fills the parameters with 0.5·N(0, 1) from the seed
 * (0, 5); *r continues that stream (for the data). */
static inline void tm_model_open(tm_model *m, const nn_spec *s, const nn_build_opts *o, int flags,
                                 nn_rng *r)
{
    nn_diag *d = nn_diag_new();
    m->g = nn_build(s, o, d);
    if (!m->g) {
        nn_diag_print(d, stderr);
        fail();
    }
    nn_diag_free(d);
    m->P = nn_params_new(m->g, 0);
    m->p = nn_plan_lower(m->g, m->P, flags);
    assert_non_null(m->p);
    nn_rng_seed(r, 0, 5);
    for (int i = 0; i < m->P->n; i++)
        if (m->P->p[i].role == NN_PARAM) {
            nn_rng_randn(r, m->P->p[i].data, (size_t)m->P->p[i].numel);
            for (long k = 0; k < m->P->p[i].numel; k++)
                m->P->p[i].data[k] *= 0.5f;
        }
}

static inline void tm_model_close(tm_model *m)
{
    nn_plan_free(m->p);
    nn_params_free(m->P);
    nn_graph_free(m->g);
}

static inline double tm_loss_of(const tm_model *m)
{
    return *(const float *)nn_plan_ptr(m->p, m->g->loss);
}

/* 1 when some step of the plan is named `name` (as `nnrun graph --plan` prints it). */
static inline int tm_has_step(const nn_plan *p, const char *name)
{
    char buf[160];
    for (int i = 0; i < p->nsteps; i++) {
        nn_plan_step_name(p, i, buf, sizeof buf);
        if (strncmp(buf, name, strlen(name)) == 0 && buf[strlen(name)] == ' ') return 1;
    }
    return 0;
}

/* Runs the fused plan f and the plain plan k twice on `rows` rows (gradients are written,
 * not added, per step) and compares loss, the first `nlogits` logits and, when training,
 * every parameter gradient. */
static inline void tm_expect_same_runs(const tm_model *f, const tm_model *k, int rows, long nlogits,
                                       int training)
{
    for (int pass = 0; pass < 2; pass++) {
        nn_plan_forward(f->p, rows);
        nn_plan_forward(k->p, rows);
        if (training) {
            nn_plan_backward(f->p, rows);
            nn_plan_backward(k->p, rows);
        }
    }
    assert_true(tu_close(tm_loss_of(f), tm_loss_of(k), 1e-6, 1e-6));
    const float *zf = nn_plan_ptr(f->p, f->g->logits), *zk = nn_plan_ptr(k->p, k->g->logits);
    for (long i = 0; i < nlogits; i++)
        if (!tu_close(zf[i], zk[i], 1e-5, 1e-5)) fail_msg("logit %ld: %g vs %g", i, zf[i], zk[i]);
    for (int i = 0; training && i < f->P->n; i++) {
        const nn_param *a = &f->P->p[i], *b = &k->P->p[i];
        if (!a->grad) continue;
        for (long e = 0; e < a->numel; e++)
            if (!tu_close(a->grad[e], b->grad[e], 1e-6, 1e-5))
                fail_msg("%s[%ld]: fused %.8g, plain %.8g", a->name, e, a->grad[e], b->grad[e]);
    }
}

/* The same loss and every parameter gradient, bit for bit, in two models of one spec (one
 * thread against two); fails naming the first gradient that differs. */
static inline void tm_expect_same_bits(const tm_model *a, const tm_model *b)
{
    double la = tm_loss_of(a), lb = tm_loss_of(b);
    assert_memory_equal(&la, &lb, sizeof la);
    for (int i = 0; i < a->P->n; i++)
        if (a->P->p[i].grad &&
            memcmp(a->P->p[i].grad, b->P->p[i].grad, (size_t)a->P->p[i].numel * sizeof(float)))
            fail_msg("%s: other gradients at 2 threads", a->P->p[i].name);
}

/* The plan's gradients of one forward and backward pass on `rows` rows against central
 * differences (h = 0.01) of its own loss, for the parameters `pick` accepts (ctx is its
 * second argument), at every (1 + numel / per)-th element (per 0: every element).  Fails
 * naming `label`, the parameter and the element; returns how many elements it checked. */
static inline int tm_check_fd(const tm_model *m, int rows,
                              int (*pick)(const nn_param *p, const void *ctx), const void *ctx,
                              long per, const char *label)
{
    nn_plan_forward(m->p, rows);
    nn_plan_backward(m->p, rows);
    int checked = 0;
    for (int i = 0; i < m->P->n; i++) {
        nn_param *p = &m->P->p[i];
        if (p->role != NN_PARAM || !pick(p, ctx)) continue;
        float *analytic = malloc((size_t)p->numel * sizeof *analytic);
        assert_non_null(analytic);
        memcpy(analytic, p->grad, (size_t)p->numel * sizeof *analytic);
        for (long k = 0; k < p->numel; k += per ? 1 + p->numel / per : 1) {
            float keep = p->data[k];
            const float h = 1e-2f;
            p->data[k] = keep + h;
            nn_plan_forward(m->p, rows);
            double up = tm_loss_of(m);
            p->data[k] = keep - h;
            nn_plan_forward(m->p, rows);
            double down = tm_loss_of(m);
            p->data[k] = keep;
            double numeric = (up - down) / (2.0 * h);
            if (!tu_close(analytic[k], numeric, 2e-3, 2e-2))
                fail_msg("%s %s[%ld]: analytic %.6g, numeric %.6g", label, p->name, k, analytic[k],
                         numeric);
            checked++;
        }
        free(analytic);
    }
    return checked;
}

#endif
