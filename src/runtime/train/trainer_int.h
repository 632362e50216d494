/* trainer_int.h — nn_trainer's fields and the functions the files of the step loop share.
 * Private to train/: the layering test (tests/layering.sh) fails when a file outside
 * src/runtime/train/ includes it.  Modules around the loop use train.h's accessors and
 * hooks.h instead. */
#ifndef NN_TRAINER_INT_H
#define NN_TRAINER_INT_H

#include "runtime/train/hooks.h"
#include "runtime/train/train.h"

struct nn_trainer {
    const nn_spec *spec;
    const nn_dataset *ds;
    nn_graph *train_g, *eval_g;
    nn_plan *train_p, *eval_p;
    nn_plan *eval_more[NN_MAX_THREADS - 1]; /* one more evaluation plan per extra thread */
    int neval;                              /* evaluation plans (threads) */
    nn_params *P;
    nn_rng rng;      /* init, then minibatches: one stream, as in the lectures */
    int batch;       /* rows per training step (the whole training split with batch: full) */
    nn_ngram *ngram; /* the counting model: graphs and plans NULL, P empty (count 0) */
    int32_t *prefix; /* sample.prefix as token ids (NULL without one) */
    int nprefix;
    struct nn_plugins *plugins; /* activation plugins (plugin.h); NULL when none */
    int grad_check;             /* stop on a non-finite gradient too (--nan-check) */
    int nonfinite;              /* the last step's verdict (nancheck.h), 0: finite */
    int eval_inline;            /* evaluate in place, never beside training (eval_bg.h) */
    /* attached hooks (hooks.h), called in this order */
    const nn_train_hooks *hook[NN_MAX_HOOKS];
    void *hook_ctx[NN_MAX_HOOKS];
    int nhooks;
};

/* batches.c: copies examples [at, at + rows) of a split into rows [dst, dst + rows) of a
 * plan's inputs; draws the next minibatch into the training plan (using up the stream). */
void nn_load_rows(const nn_dataset *ds, const nn_split *sp, const nn_plan *p, long at, int rows,
                  int dst);
void nn_load_batch(nn_trainer *tr);

#endif
