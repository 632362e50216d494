/* gradcheck.c — analytic gradients against central differences (see gradcheck.h).
 *
 * The objective is float32: a large step h keeps its rounding below the difference, a
 * small one keeps kinks (relu, hinge) out of the interval, so each element takes the best
 * of four steps (3e-2 to 1e-4, times max(1, |w|)).  The error is relative to
 * |analytic| + |numeric|, but at least FLOOR (scaled with the objective): gradients far
 * below the objective's float resolution cannot be checked by differences.  Large
 * tensors are checked at up to MAX_CHECKED elements spread evenly over them. */
#include "runtime/train/gradcheck.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define ROWS        8 /* the small batch: the first training examples */
#define MAX_CHECKED 64
static const float STEPS[4] = {3e-2f, 1e-2f, 1e-3f, 1e-4f};
#define FLOOR 1e-2 /* gradients below FLOOR · max(1, objective / 10) compare absolutely */

static double objective(const nn_plan *p, int rows)
{
    nn_plan_forward(p, rows);
    return *(const float *)nn_plan_ptr(p, p->g->loss);
}

/* (f(w + h) − f(w − h)) / 2h with h = step · max(1, |w|), w restored. */
static double numeric(const nn_plan *p, int rows, float *w, float step)
{
    float orig = *w, h = step * (fabsf(orig) > 1 ? fabsf(orig) : 1);
    *w = orig + h;
    double up = objective(p, rows);
    *w = orig - h;
    double down = objective(p, rows);
    *w = orig;
    return (up - down) / (2.0 * (double)h);
}

int nn_gradcheck(nn_trainer *tr, double tol, FILE *out)
{
    nn_plan *p = NULL;
    int rows = nn_trainer_probe(tr, ROWS, &p);
    if (rows < 0) return -1;
    if (!p) {
        fprintf(out, "the counting model (ngram) has no gradients to check\n");
        return 0;
    }
    nn_params *P = nn_trainer_params(tr);
    float *grad = malloc(((size_t)P->count + 1) * sizeof *grad);
    if (!grad) {
        nn_plan_free(p);
        return -1;
    }
    fprintf(out, "gradcheck: %d rows, central differences, tolerance %g\n", rows, tol);
    int bad = 0;
    /* the forward pass's rounding grows with the objective: so does the floor */
    double f0 = fabs(objective(p, rows)), floor_ = FLOOR * (f0 > 10 ? f0 / 10 : 1);
    for (int i = 0; i < P->n; i++) {
        nn_param *w = &P->p[i];
        if (w->role != NN_PARAM) continue;
        memcpy(grad, w->grad, (size_t)w->numel * sizeof *grad);
        long stride = w->numel > MAX_CHECKED ? w->numel / MAX_CHECKED : 1, checked = 0;
        double worst = 0, wa = 0, wn = 0;
        for (long j = 0; j < w->numel; j += stride, checked++) {
            double a = grad[j], num = 0, err = INFINITY;
            for (int k = 0; k < 4; k++) { /* the best of four steps: see above */
                double n = numeric(p, rows, &w->data[j], STEPS[k]);
                double den = fabs(a) + fabs(n) > floor_ ? fabs(a) + fabs(n) : floor_;
                if (fabs(a - n) / den < err) err = fabs(a - n) / den, num = n;
            }
            if (err > worst || checked == 0) worst = err, wa = a, wn = num;
        }
        char shape[64] = "";
        for (int k = 0, at = 0; k < w->ndim; k++)
            at += snprintf(shape + at, sizeof shape - (size_t)at, "%s%d", k ? ", " : "", w->dim[k]);
        int ok = worst <= tol;
        bad += !ok;
        fprintf(out,
                "  %-24s [%s]  %ld/%ld checked  worst relative error %.2e  (analytic %.6g, "
                "numeric %.6g)%s\n",
                w->name, shape, checked, w->numel, worst, wa, wn, ok ? "" : "  ABOVE TOLERANCE");
    }
    fprintf(out, bad ? "FAILED: %d tensors above the tolerance\n" : "ok\n", bad);
    free(grad);
    nn_plan_free(p);
    return bad ? 1 : 0;
}
