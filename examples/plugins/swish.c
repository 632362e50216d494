/* swish.c — swish(x) = x · sigmoid(βx) (Ramachandran et al. 2017; SiLU when β = 1), an
 * nnrun activation plugin in the array form with one float argument, β.
 *
 *   plugins:
 *     swish: {library: swish.so, forward: swish_fwd, backward: swish_bwd, args: {beta: 1.0}}
 *
 * Build: cc -O3 -ffast-math -shared -fPIC swish.c -o swish.so -I<nnrun>/include -lm */
#include <math.h>
#include <nnrun/plugin.h>

NNRUN_PLUGIN_ABI_EXPORT;
NNRUN_PLUGIN_ARGS(swish_fwd, "f");
NNRUN_PLUGIN_ARGS(swish_bwd, "f");

NNRUN_PLUGIN_SIMD void swish_fwd(const float *x, float *y, size_t n, float beta)
{
    for (size_t i = 0; i < n; i++)
        y[i] = x[i] / (1.0f + expf(-beta * x[i]));
}

/* d/dx x·s(βx) = s + βx·s(1 − s), with s = sigmoid(βx) */
NNRUN_PLUGIN_SIMD void swish_bwd(const float *x, const float *y, const float *dy, float *dx,
                                 size_t n, float beta)
{
    (void)y;
    for (size_t i = 0; i < n; i++) {
        float s = 1.0f / (1.0f + expf(-beta * x[i]));
        dx[i] = dy[i] * (s + beta * x[i] * s * (1.0f - s));
    }
}
