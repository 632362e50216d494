/* optim.c — parameter updates: SGD (plain, PyTorch-style momentum, Nesterov) and Adam with
 * decoupled weight decay (AdamW) on every parameter or on the matrices only (nanoGPT's two
 * groups), after an optional clip of the gradients' global norm (clip_grad_norm_).  The
 * state lives in nn_params (velocity, sq), allocated once with the parameters. */
#include <math.h>

#include "kernels/kernels.h"
#include "runtime/train/train.h"

int nn_optim_state_arrays(const nn_train_spec *t)
{
    if (t->optimizer == NN_OPT_ADAM) return 2;
    return t->momentum != 0 ? 1 : 0;
}

double nn_grad_norm(const nn_params *P)
{
    double total = 0;
    for (int i = 0; i < P->n; i++) {
        const nn_param *p = &P->p[i];
        if (p->role != NN_PARAM) continue;
        double sq = 0;
        for (long j = 0; j < p->numel; j++)
            sq += (double)p->grad[j] * p->grad[j];
        total += sq;
    }
    return sqrt(total);
}

/* torch.nn.utils.clip_grad_norm_: the norm of all the gradients together (in float32 there;
 * summed in double here, within 1e-6 relative), coef = max / (norm + 1e-6) in float, the
 * gradients scaled by it when it is below 1 (torch multiplies by the clamped 1.0 too, a
 * no-op).  Returns the norm before clipping. */
double nn_clip_grad_norm(nn_params *P, double max_norm)
{
    float norm = (float)nn_grad_norm(P);
    float coef = (float)max_norm / (norm + 1e-6f);
    if (!(coef < 1.0f)) return norm; /* also a NaN norm: nancheck reports it, not this */
    for (int i = 0; i < P->n; i++) {
        nn_param *p = &P->p[i];
        if (p->role != NN_PARAM) continue;
        for (long j = 0; j < p->numel; j++)
            p->grad[j] *= coef;
    }
    return norm;
}

void nn_optim_step(nn_params *P, const nn_train_spec *t, float lr)
{
    nn_adam_coef c = {0}, nodecay;
    if (t->clip_norm > 0) nn_clip_grad_norm(P, t->clip_norm);
    if (t->optimizer == NN_OPT_ADAM) {
        /* in double, rounded once, as torch.optim.Adam(W) computes its scalars in Python */
        P->adam_t++;
        double bc1 = 1.0 - pow(t->beta1, (double)P->adam_t);
        double bc2 = 1.0 - pow(t->beta2, (double)P->adam_t);
        c = (nn_adam_coef){(float)t->beta1,
                           (float)(1.0 - t->beta1),
                           (float)t->beta2,
                           (float)(1.0 - t->beta2),
                           (float)t->eps,
                           (float)(1.0 - (double)lr * t->weight_decay),
                           (float)((double)lr / bc1),
                           (float)sqrt(bc2)};
    }
    nodecay = c, nodecay.decay = 1.0f; /* decay: matrices — vectors are the no-decay group */
    for (int i = 0; i < P->n; i++) {
        nn_param *p = &P->p[i];
        if (p->role != NN_PARAM) continue;
        size_t n = (size_t)p->numel;
        if (t->optimizer == NN_OPT_ADAM)
            nn_k->adam(n, p->data, p->grad, p->velocity, p->sq,
                       t->decay_matrices && p->ndim < 2 ? &nodecay : &c);
        else if (p->velocity && t->nesterov)
            nn_k->sgd_nesterov(n, p->data, p->grad, p->velocity, lr, (float)t->momentum);
        else if (p->velocity)
            nn_k->sgd_momentum(n, p->data, p->grad, p->velocity, lr, (float)t->momentum);
        else
            nn_k->sgd(n, p->data, p->grad, lr);
    }
}
