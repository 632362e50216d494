/* softsign.c — softsign(x) = x / (1 + |x|), an nnrun activation plugin in the scalar form:
 * one call per element, no arrays, no arguments.
 *
 *   plugins:
 *     softsign: {library: softsign.so, forward: softsign, backward: softsign_grad,
 *                form: scalar}
 *
 * Build: cc -O2 -shared -fPIC softsign.c -o softsign.so -I<nnrun>/include */
#include <math.h>
#include <nnrun/plugin.h>

NNRUN_PLUGIN_ABI_EXPORT;

float softsign(float x)
{
    return x / (1.0f + fabsf(x));
}

/* d/dx = 1 / (1 + |x|)²; y = softsign(x) is given but not needed */
float softsign_grad(float x, float y)
{
    (void)y;
    float a = 1.0f + fabsf(x);
    return 1.0f / (a * a);
}
