/* plan_model.h — what the tests of lowering's fusions share (test_window_linear.c,
 * test_embed_recurrent.c): a model built from layers, lowered with chosen flags (a fused
 * plan, NN_LOWER_FAST, against the ops as they are, NN_LOWER_KEEP_ALL), its parameters
 * drawn from a fixed seed, and the plan's loss and step names. */
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

#endif
