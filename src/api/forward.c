/* forward.c — the model's logits on given inputs, in evaluation mode (BatchNorm on its
 * running buffers, no dropout): what nnrun's evaluation computes, for comparing with the
 * PyTorch export or using the model from a program. */
#include <string.h>

#include "api/api_int.h"

/* The evaluation plan and its graph, or an error for the counting model. */
static nn_plan *eval_plan(nnrun_run *r)
{
    nn_plan *p = nn_trainer_plan(r->tr, NN_EVALUATION);
    if (!p) nn_api_error(&r->err, "the counting model (ngram) has no logits to compute");
    return p;
}

int nnrun_forward_shape(nnrun_run *r, int rows, nnrun_shape *in, nnrun_shape *out)
{
    if (!r) return NNRUN_EINPUT;
    if (nn_api_errors_reset(&r->err) != 0) return NNRUN_ERUN;
    nn_plan *p = eval_plan(r);
    if (!p) return NNRUN_EINPUT;
    const nn_graph *g = p->g;
    if (rows < 1 || rows > g->batch) {
        nn_api_error(&r->err, "rows %d: 1 to %d rows at once", rows, g->batch);
        return NNRUN_EINPUT;
    }
    const nn_tensor *t[2] = {&g->t[g->x], &g->t[g->logits]};
    nnrun_shape *s[2] = {in, out};
    for (int k = 0; k < 2; k++) {
        if (!s[k]) continue;
        memset(s[k], 0, sizeof *s[k]);
        s[k]->ndim = t[k]->ndim;
        s[k]->numel = 1;
        for (int d = 0; d < t[k]->ndim; d++) {
            s[k]->dim[d] = d == 0 ? rows : t[k]->dim[d];
            s[k]->numel *= s[k]->dim[d];
        }
        s[k]->kind = NNRUN_ACTIVATION;
    }
    return NNRUN_OK;
}

int nnrun_forward(nnrun_run *r, const float *x, int rows, float *logits, int64_t n)
{
    nnrun_shape in, out;
    int rc = nnrun_forward_shape(r, rows, &in, &out);
    if (rc) return rc;
    if (!x || !logits || n != out.numel) {
        nn_api_error(&r->err, "the logits of %d rows are %lld floats; %lld asked for", rows,
                     (long long)out.numel, (long long)n);
        return NNRUN_EINPUT;
    }
    nn_plan *p = eval_plan(r);
    const nn_graph *g = p->g;
    if (g->t[g->x].dtype == NN_I32) { /* token ids, checked: a wrong id is an error value */
        int32_t *ix = nn_plan_ptr(p, g->x);
        for (int64_t i = 0; i < in.numel; i++) {
            if (!(x[i] >= 0 && x[i] < g->vocab) || x[i] != (float)(int32_t)x[i]) {
                nn_api_error(&r->err, "input %lld is %g: token ids are whole numbers 0 to %d",
                             (long long)i, (double)x[i], g->vocab - 1);
                return NNRUN_EINPUT;
            }
            ix[i] = (int32_t)x[i];
        }
    } else {
        memcpy(nn_plan_ptr(p, g->x), x, (size_t)in.numel * sizeof *x);
    }
    /* the loss after the logits reads targets: any valid ones */
    const nn_tensor *yt = &g->t[g->y];
    memset(nn_plan_ptr(p, g->y), 0, (size_t)nn_tensor_active_numel(yt, rows) * 4);
    nn_api_init_kernels(r->threads);
    nn_plan_forward(p, rows);
    memcpy(logits, nn_plan_ptr(p, g->logits), (size_t)n * sizeof *logits);
    return NNRUN_OK;
}
