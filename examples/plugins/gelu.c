/* gelu.c — GELU in its tanh approximation (Hendrycks & Gimpel 2016, as GPT-2 uses it):
 *   gelu(x) = x/2 · (1 + tanh(√(2/π) · (x + 0.044715 x³)))
 * an nnrun activation plugin in the array form, without arguments.
 *
 *   plugins:
 *     gelu: {library: gelu.so, forward: gelu_fwd, backward: gelu_bwd}
 *
 * Build: cc -O3 -ffast-math -shared -fPIC gelu.c -o gelu.so -I<nnrun>/include -lm */
#include <math.h>
#include <nnrun/plugin.h>

NNRUN_PLUGIN_ABI_EXPORT;
NNRUN_PLUGIN_ARGS(gelu_fwd, "");
NNRUN_PLUGIN_ARGS(gelu_bwd, "");

#define K 0.7978845608f /* √(2/π) */
#define C 0.044715f

NNRUN_PLUGIN_SIMD void gelu_fwd(const float *x, float *y, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        float v = x[i];
        y[i] = 0.5f * v * (1.0f + tanhf(K * (v + C * v * v * v)));
    }
}

/* d/dx = (1 + t)/2 + x/2 · (1 − t²) · K(1 + 3Cx²), with t = tanh(K(x + Cx³)) */
NNRUN_PLUGIN_SIMD void gelu_bwd(const float *x, const float *y, const float *dy, float *dx,
                                size_t n)
{
    (void)y;
    for (size_t i = 0; i < n; i++) {
        float v = x[i], t = tanhf(K * (v + C * v * v * v));
        float d = 0.5f * (1.0f + t) + 0.5f * v * (1.0f - t * t) * K * (1.0f + 3.0f * C * v * v);
        dx[i] = dy[i] * d;
    }
}
