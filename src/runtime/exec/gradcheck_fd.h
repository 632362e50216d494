/* gradcheck_fd.h — finite-difference check of an analytic gradient, for any callable
 * (formulas at load time; activation plugins can share it). */
#ifndef NN_GRADCHECK_FD_H
#define NN_GRADCHECK_FD_H

/* f(ctx, x, value, grad): the value at x[0..n) and, when grad is not NULL, the analytic
 * gradient.  Returns 0, or nonzero when f cannot be evaluated there (the point is skipped). */
typedef int (*nn_fd_fn)(void *ctx, const double *x, double *value, double *grad);

typedef struct {
    int index;                /* the coordinate that disagrees */
    double analytic, numeric; /* its two derivatives (numeric: central difference) */
} nn_fd_fail;

/* Compares the analytic gradient at x with differences of step h.  A coordinate fails
 * when the analytic value is within tol (relative, plus tol absolute) of neither the
 * central nor either one-sided difference (so a kink at x is not blamed).  Points where
 * anything is not finite are skipped.  Returns 0 (agrees or skipped) or 1 with *fail. */
int nn_gradcheck_fd(nn_fd_fn f, void *ctx, int n, const double *x, double h, double tol,
                    nn_fd_fail *fail);

#endif
