/* autodiff.c — the backward pass, derived from the forward nodes.
 *
 * Walks the forward nodes in reverse and lets each op append its backward node(s).  Then
 * decides, for every gradient buffer, which backward node writes it first (it overwrites)
 * and which come later (they add): so no gradient is ever cleared in the step loop.
 */
#include <stdlib.h>

#include "ir/op.h"

static int wants_grad(const nn_graph *g, const nn_node *n)
{
    for (int k = 0; k < n->nout; k++) {
        int o = n->out[k];
        if (o >= 0 && (o == g->loss || g->t[o].grad >= 0)) return 1;
    }
    return 0;
}

int nn_autodiff(nn_graph *g)
{
    g->nfwd = g->nn;
    for (int i = g->nfwd - 1; i >= 0; i--) {
        const nn_node *n = &g->n[i];
        if (n->op->grad && wants_grad(g, n) && n->op->grad(g, i) != 0) return -1;
    }
    char *written = calloc((size_t)g->nt + 1, 1);
    if (!written) return -1;
    for (int i = g->nfwd; i < g->nn; i++) {
        nn_node *n = &g->n[i];
        for (int k = 0; k < n->nout; k++) {
            int s = nn_graph_storage(g, n->out[k]);
            if (s < 0) continue;
            if (written[s]) n->accumulate |= 1 << k;
            written[s] = 1;
        }
    }
    free(written);
    return 0;
}
