/* dump.c — one training step's every tensor as safetensors (see dump.h). */
#include "runtime/train/dump.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/store/checkpoint.h"
#include "runtime/store/safetensors.h"

/* Every tensor of the plan by its graph name; BatchNorm's buffers as they were before the
 * step (`before`, in parameter order), and after it as NAME.after. */
static int write_plan(const nn_trainer *tr, const nn_plan *p, const float *before,
                      const char *path, long step)
{
    const nn_graph *g = p->g;
    const nn_params *P = nn_trainer_params(tr);
    nn_st_tensor *t = calloc((size_t)(g->nt + P->n) + 1, sizeof *t);
    char(*after)[64] = calloc((size_t)P->n + 1, sizeof *after);
    char *yaml = NULL, meta[3][40];
    size_t len = 0;
    FILE *mem = open_memstream(&yaml, &len);
    int rc = -1, n = 0;
    if (mem && nn_spec_emit(nn_trainer_spec(tr), mem) == 0 && fclose(mem) == 0 && t && after) {
        mem = NULL;
        for (int i = 0; i < g->nt; i++) {
            const nn_tensor *x = &g->t[i];
            if (!nn_plan_ptr(p, i)) continue;
            t[n] = (nn_st_tensor){x->name,
                                  x->dtype == NN_I32 ? NN_ST_I32 : NN_ST_F32,
                                  x->ndim,
                                  {0},
                                  nn_plan_ptr(p, i)};
            for (int k = 0; k < x->ndim; k++)
                t[n].dim[k] = x->dim[k];
            n++;
        }
        for (int i = 0; i < P->n; i++) {
            const nn_param *b = &P->p[i];
            if (b->role != NN_BUFFER) continue;
            for (int k = 0; k < n; k++)
                if (!strcmp(t[k].name, b->name)) {
                    snprintf(after[i], sizeof after[i], "%s.after", b->name);
                    t[n] = t[k];
                    t[n++].name = after[i];
                    t[k].data = before;
                }
            before += b->numel;
        }
        snprintf(meta[0], sizeof meta[0], "%ld", step);
        snprintf(meta[1], sizeof meta[1], "%d", g->batch);
        snprintf(meta[2], sizeof meta[2], "%.9g", *(const float *)nn_plan_ptr(p, g->loss));
        nn_st_meta m[] = {{"format", "nnrun-step-dump"},
                          {"step", meta[0]},
                          {"rows", meta[1]},
                          {"loss", meta[2]},
                          {"spec", yaml}};
        rc = nn_st_write(path, t, n, m, (int)(sizeof m / sizeof *m));
    }
    if (mem) fclose(mem);
    free(yaml);
    free(t);
    free(after);
    return rc;
}

int nn_dump_step(nn_trainer *tr, const char *path, long step)
{
    const nn_graph *g = nn_trainer_graph(tr, NN_TRAINING);
    if (!g) return 0; /* the counting model takes no steps */
    nn_params *P = nn_trainer_params(tr);
    nn_plan *p = nn_plan_lower(g, P, NN_LOWER_KEEP_ALL);
    size_t floats = 0;
    for (int i = 0; i < P->n; i++)
        floats += P->p[i].role == NN_BUFFER ? (size_t)P->p[i].numel : 0;
    float *saved = malloc((floats + 1) * sizeof *saved);
    if (!p || !saved) {
        nn_plan_free(p);
        free(saved);
        errno = ENOMEM;
        return -1;
    }
    /* the step's own minibatch, drawn into the training plan, then copied over */
    nn_trainer_peek_batch(tr);
    for (int k = 0; k < 2; k++) {
        int x = k ? g->y : g->x;
        memcpy(nn_plan_ptr(p, x), nn_plan_ptr(nn_trainer_plan(tr, NN_TRAINING), x),
               (size_t)nn_tensor_numel(&g->t[x]) * 4);
    }
    /* the training-mode forward moves BatchNorm's running buffers: put them back after */
    float *at = saved;
    for (int i = 0; i < P->n; i++)
        if (P->p[i].role == NN_BUFFER)
            memcpy(at, P->p[i].data, (size_t)P->p[i].numel * sizeof *at), at += P->p[i].numel;
    nn_plan_forward(p, nn_trainer_batch(tr));
    nn_plan_backward(p, nn_trainer_batch(tr));
    int rc = write_plan(tr, p, saved, path, step);
    int err = errno;
    at = saved;
    for (int i = 0; i < P->n; i++)
        if (P->p[i].role == NN_BUFFER)
            memcpy(P->p[i].data, at, (size_t)P->p[i].numel * sizeof *at), at += P->p[i].numel;
    free(saved);
    nn_plan_free(p);
    errno = err;
    return rc;
}
