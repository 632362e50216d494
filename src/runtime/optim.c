/* optim.c — parameter updates: SGD, with optional (PyTorch-style) momentum. */
#include "kernels/kernels.h"
#include "runtime/train.h"

void nn_optim_step(nn_params *P, const nn_train_spec *t, float lr)
{
    for (int i = 0; i < P->n; i++) {
        nn_param *p = &P->p[i];
        if (p->role != NN_PARAM) continue;
        if (p->velocity)
            nn_k->sgd_momentum((size_t)p->numel, p->data, p->grad, p->velocity, lr,
                               (float)t->momentum);
        else
            nn_k->sgd((size_t)p->numel, p->data, p->grad, lr);
    }
}
