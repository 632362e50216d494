/* gradcheck_fd.c — finite differences against an analytic gradient (gradcheck_fd.h). */
#include "runtime/exec/gradcheck_fd.h"

#include <math.h>
#include <string.h>

#define NN_FD_MAX 16

static int close_to(double a, double b, double tol)
{
    return fabs(a - b) <= tol * (1 + fabs(a) + fabs(b));
}

int nn_gradcheck_fd(nn_fd_fn f, void *ctx, int n, const double *x, double h, double tol,
                    nn_fd_fail *fail)
{
    double g[NN_FD_MAX], p[NN_FD_MAX], v0, vp, vm;
    if (n > NN_FD_MAX || f(ctx, x, &v0, g) != 0 || !isfinite(v0)) return 0;
    for (int i = 0; i < n; i++) {
        memcpy(p, x, (size_t)n * sizeof *p);
        p[i] = x[i] + h;
        if (f(ctx, p, &vp, NULL) != 0) continue;
        p[i] = x[i] - h;
        if (f(ctx, p, &vm, NULL) != 0) continue;
        if (!isfinite(vp) || !isfinite(vm) || !isfinite(g[i])) continue;
        double central = (vp - vm) / (2 * h), right = (vp - v0) / h, left = (v0 - vm) / h;
        if (close_to(g[i], central, tol) || close_to(g[i], right, tol) || close_to(g[i], left, tol))
            continue;
        fail->index = i;
        fail->analytic = g[i];
        fail->numeric = central;
        return 1;
    }
    return 0;
}
