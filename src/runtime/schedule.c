/* schedule.c — learning-rate schedules. */
#include "runtime/train.h"

double nn_lr_at(const nn_lr_spec *lr, long step)
{
    if (lr->kind == NN_LR_CONSTANT) return lr->value;
    int k = 0;
    while (k < lr->nboundaries && step >= lr->boundaries[k]) k++;
    return lr->values[k];
}
