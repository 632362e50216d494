/* plugin.h — activation plugins: the spec's `plugins:` loaded with dlopen and called
 * through libffi (plugin.c), handed to the IR as nn_callable (ir/callable.h). */
#ifndef NN_PLUGIN_H
#define NN_PLUGIN_H

#include "ir/callable.h"
#include "parser/spec.h"

typedef struct nn_plugins nn_plugins;

/* Loads every plugin of the spec and prepares one callable per activation layer: opens the
 * libraries, finds the symbols, checks the ABI and declared argument types, builds the
 * libffi calls, and checks each backward against finite differences (unless check:
 * false).  Runs the plugin's code.  Returns 0 (*out NULL when the spec has no activation
 * layer) or −1 with the errors recorded in `d`. */
int nn_plugins_load(const nn_spec *spec, nn_plugins **out, nn_diag *d);
/* layer_fn[i]: the callable of layer i (NULL for other layers); NULL for no plugins. */
const nn_callable *const *nn_plugins_layer_fns(const nn_plugins *p);
/* What went wrong when a plugin returned NaN or Inf for finite inputs ("spec.yaml:3:3:
 * error: plugin 'swish': forward 'swish_fwd' returned nan for x = 0.5"), or NULL;
 * NULL-safe. */
const char *nn_plugins_failure(const nn_plugins *p);
void nn_plugins_free(nn_plugins *p);

/* The sample points of the gradient check (exposed for tests). */
#define NN_PLUGIN_CHECK_POINTS 9
extern const float nn_plugin_check_x[NN_PLUGIN_CHECK_POINTS];
#define NN_PLUGIN_CHECK_TOL 1e-2 /* relative error allowed between backward and the FD */

#endif
