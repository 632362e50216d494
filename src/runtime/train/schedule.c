/* schedule.c — learning-rate schedules, as a function of the step k (0-based) and the run's
 * length: constant, steps, exponential, cosine, linear, the finder's log sweep; any of them
 * under a linear warm-up. */
#include <math.h>

#include "runtime/train/train.h"

static double base_at(const nn_lr_spec *lr, long k, long steps)
{
    double frac = steps > 0 ? (double)k / (double)steps : 0;
    switch (lr->kind) {
    case NN_LR_CONSTANT: return lr->value;
    case NN_LR_STEPS: {
        int i = 0;
        while (i < lr->nboundaries && k >= lr->boundaries[i])
            i++;
        return lr->values[i];
    }
    case NN_LR_EXPONENTIAL: return lr->start * pow(lr->gamma, (double)k);
    case NN_LR_COSINE: /* start at k = 0, end at k = steps (one past the last step) */
        return lr->end + (lr->start - lr->end) * 0.5 * (1.0 + cos(M_PI * frac));
    case NN_LR_LINEAR: /* micrograd: 1.0 − 0.9·k/100 is {start: 1.0, end: 0.1} over 100 steps */
        return lr->start + (lr->end - lr->start) * frac;
    case NN_LR_FIND: {
        /* lesson 3's lre = linspace(log10 min, log10 max, steps): both ends are visited */
        double lo = log10(lr->start), hi = log10(lr->end);
        double t = steps > 1 ? (double)k / (double)(steps - 1) : 0;
        return pow(10.0, lo + (hi - lo) * t);
    }
    }
    return lr->value;
}

/* Warm-up: lr·(k+1)/warmup for k < warmup — the first step already moves (k = 0 gives
 * lr/warmup, not 0), and step warmup − 1 reaches the schedule's own value. */
double nn_lr_at(const nn_lr_spec *lr, long step, long steps)
{
    double v = base_at(lr, step, steps);
    if (lr->warmup > 0 && step < lr->warmup) v *= (double)(step + 1) / (double)lr->warmup;
    return v;
}
