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

/* The random-stream buffers (dropout's counters) as they were before the first pass: every
 * evaluation restores them, so each draws the same masks and f(w ± h) differ by w alone. */
typedef struct {
    float *at[64];
    float was[64][2];
    int n;
} streams;

static void hold_streams(nn_params *P, streams *held)
{
    held->n = 0;
    for (int i = 0; i < P->n && held->n < 64; i++) {
        size_t len = strlen(P->p[i].name);
        if (P->p[i].role == NN_BUFFER && P->p[i].numel == 2 && len >= 7 &&
            strcmp(P->p[i].name + len - 7, ".stream") == 0) {
            held->at[held->n] = P->p[i].data;
            memcpy(held->was[held->n++], P->p[i].data, 2 * sizeof(float));
        }
    }
}

static double objective(const nn_plan *p, int rows, const streams *held)
{
    for (int k = 0; k < held->n; k++)
        memcpy(held->at[k], held->was[k], 2 * sizeof(float));
    nn_plan_forward(p, rows);
    return *(const float *)nn_plan_ptr(p, p->g->loss);
}

/* (f(w + h) − f(w − h)) / 2h with h = step · max(1, |w|), w restored. */
static double numeric(const nn_plan *p, int rows, const streams *held, float *w, float step)
{
    float orig = *w, h = step * (fabsf(orig) > 1 ? fabsf(orig) : 1);
    *w = orig + h;
    double up = objective(p, rows, held);
    *w = orig - h;
    double down = objective(p, rows, held);
    *w = orig;
    return (up - down) / (2.0 * (double)h);
}

int nn_gradcheck_run(nn_trainer *tr, double tol, nn_gradcheck_result *res)
{
    memset(res, 0, sizeof *res);
    res->tol = tol;
    nn_plan *p = NULL;
    streams held;
    hold_streams(nn_trainer_params(tr), &held); /* before the probe's pass: its masks are kept */
    int rows = nn_trainer_probe(tr, ROWS, &p);
    if (rows < 0) return -1;
    res->rows = rows;
    if (!p) { /* the counting model */
        res->counting = 1;
        return 0;
    }
    nn_params *P = nn_trainer_params(tr);
    float *grad = malloc(((size_t)P->count + 1) * sizeof *grad);
    res->row = calloc((size_t)P->n + 1, sizeof *res->row);
    if (!grad || !res->row) {
        free(grad);
        nn_plan_free(p);
        return -1;
    }
    /* the forward pass's rounding grows with the objective: so does the floor */
    double f0 = fabs(objective(p, rows, &held)), floor_ = FLOOR * (f0 > 10 ? f0 / 10 : 1);
    for (int i = 0; i < P->n; i++) {
        nn_param *w = &P->p[i];
        if (w->role != NN_PARAM) continue;
        memcpy(grad, w->grad, (size_t)w->numel * sizeof *grad);
        long stride = w->numel > MAX_CHECKED ? w->numel / MAX_CHECKED : 1, checked = 0;
        double worst = 0, wa = 0, wn = 0;
        for (long j = 0; j < w->numel; j += stride, checked++) {
            double a = grad[j], num = 0, err = INFINITY;
            for (int k = 0; k < 4; k++) { /* the best of four steps: see above */
                double n = numeric(p, rows, &held, &w->data[j], STEPS[k]);
                double den = fabs(a) + fabs(n) > floor_ ? fabs(a) + fabs(n) : floor_;
                if (fabs(a - n) / den < err) err = fabs(a - n) / den, num = n;
            }
            if (err > worst || checked == 0) worst = err, wa = a, wn = num;
        }
        nn_gradcheck_row *r = &res->row[res->nrows++];
        *r = (nn_gradcheck_row){w->name, w->ndim, {0}, checked,     w->numel,
                                worst,   wa,      wn,  worst <= tol};
        memcpy(r->dim, w->dim, sizeof r->dim);
        res->bad += !r->ok;
    }
    free(grad);
    nn_plan_free(p);
    return 0;
}

void nn_gradcheck_print(const nn_gradcheck_result *res, FILE *out)
{
    if (res->counting) {
        fprintf(out, "the counting model (ngram) has no gradients to check\n");
        return;
    }
    fprintf(out, "gradcheck: %d rows, central differences, tolerance %g\n", res->rows, res->tol);
    for (int i = 0; i < res->nrows; i++) {
        const nn_gradcheck_row *r = &res->row[i];
        char shape[64] = "";
        for (int k = 0, at = 0; k < r->ndim; k++)
            at += snprintf(shape + at, sizeof shape - (size_t)at, "%s%d", k ? ", " : "", r->dim[k]);
        fprintf(out,
                "  %-24s [%s]  %ld/%ld checked  worst relative error %.2e  (analytic %.6g, "
                "numeric %.6g)%s\n",
                r->name, shape, r->checked, r->numel, r->worst, r->analytic, r->numeric,
                r->ok ? "" : "  ABOVE TOLERANCE");
    }
    fprintf(out, res->bad ? "FAILED: %d tensors above the tolerance\n" : "ok\n", res->bad);
}

void nn_gradcheck_result_free(nn_gradcheck_result *res)
{
    free(res->row);
    memset(res, 0, sizeof *res);
}

int nn_gradcheck(nn_trainer *tr, double tol, FILE *out)
{
    nn_gradcheck_result res;
    if (nn_gradcheck_run(tr, tol, &res) != 0) return -1;
    nn_gradcheck_print(&res, out);
    int rc = res.bad ? 1 : 0;
    nn_gradcheck_result_free(&res);
    return rc;
}
