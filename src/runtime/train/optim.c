/* optim.c — parameter updates: SGD (plain, PyTorch-style momentum, Nesterov) and Adam with
 * decoupled weight decay (AdamW).  The state lives in nn_params (velocity, sq), allocated
 * once with the parameters. */
#include <math.h>

#include "kernels/kernels.h"
#include "runtime/train/train.h"

int nn_optim_state_arrays(const nn_train_spec *t)
{
    if (t->optimizer == NN_OPT_ADAM) return 2;
    return t->momentum != 0 ? 1 : 0;
}

void nn_optim_step(nn_params *P, const nn_train_spec *t, float lr)
{
    nn_adam_coef c = {0};
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
    for (int i = 0; i < P->n; i++) {
        nn_param *p = &P->p[i];
        if (p->role != NN_PARAM) continue;
        size_t n = (size_t)p->numel;
        if (t->optimizer == NN_OPT_ADAM)
            nn_k->adam(n, p->data, p->grad, p->velocity, p->sq, &c);
        else if (p->velocity && t->nesterov)
            nn_k->sgd_nesterov(n, p->data, p->grad, p->velocity, lr, (float)t->momentum);
        else if (p->velocity)
            nn_k->sgd_momentum(n, p->data, p->grad, p->velocity, lr, (float)t->momentum);
        else
            nn_k->sgd(n, p->data, p->grad, lr);
    }
}
