/* stats_rnn.c — the report's statistics of a recurrent layer (the model's first
 * `recurrent`), per position, at init and final, from the statistics pass's keep-all plan:
 *   saturated  fraction of the hidden state with |h_t| > 0.97 (and the map: per position and
 *              unit, the fraction of rows saturated — the lecture-4 map, one row per step)
 *   grad_norm  ∂L/∂h_t in all (the head's gradient at t plus what came back through the cells
 *              after t): sqrt of the mean over rows of its squared norm — vanishing gradients
 *              through time show as a fall towards the start
 *   z_mean, r_mean  the GRU's update and reset gates' mean activity
 * Written as stats.json `recurrent` (docs/stats-json.md). */
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/kernels.h"
#include "runtime/report/stats.h"

int nn_rnn_stat_setup(nn_rnn_stat *r, const nn_graph *g)
{
    memset(r, 0, sizeof *r);
    r->fwd = r->bwd = -1;
    r->step[0] = r->step[1] = -1;
    for (int i = 0; i < g->nn && r->bwd < 0; i++) {
        if (g->n[i].op == &nn_op_recurrent && r->fwd < 0) r->fwd = i;
        if (g->n[i].op == &nn_op_recurrent_grad && r->fwd >= 0 &&
            g->n[i].in[2 * (g->n[i].spec->cell == NN_CELL_GRU ? 3 : 1)] == g->n[r->fwd].out[0])
            r->bwd = i;
    }
    if (r->fwd < 0 || r->bwd < 0) return r->fwd = r->bwd = -1, 0;
    const nn_tensor *x = &g->t[g->n[r->fwd].in[0]];
    r->layer = g->n[r->fwd].layer;
    r->t = x->dim[1], r->e = x->dim[2], r->h = g->n[r->fwd].spec->hidden;
    r->gru = g->n[r->fwd].spec->cell == NN_CELL_GRU;
    size_t t = (size_t)r->t;
    r->sat = calloc(2 * t, sizeof *r->sat), r->gnorm = calloc(2 * t, sizeof *r->gnorm);
    r->z = calloc(2 * t, sizeof *r->z), r->r = calloc(2 * t, sizeof *r->r);
    r->map = calloc(2 * t * (size_t)r->h, sizeof *r->map);
    return r->sat && r->gnorm && r->z && r->r && r->map ? 0 : -1;
}

void nn_rnn_stat_free(nn_rnn_stat *r)
{
    free(r->sat), free(r->gnorm), free(r->z), free(r->r), free(r->map);
}

void nn_rnn_stat_probe(nn_rnn_stat *r, const nn_graph *g, const nn_plan *p, int rows, int w,
                       long step)
{
    if (r->fwd < 0) return;
    const nn_node *f = &g->n[r->fwd], *b = &g->n[r->bwd];
    int T = r->t, H = r->h, G = r->gru ? 3 : 1;
    const float *y = nn_plan_ptr(p, f->out[0]), *dy = nn_plan_ptr(p, b->in[2 * G + 3]);
    const float *work = nn_plan_ptr(p, b->out[b->nout - 1]);
    if (!y || !dy || !work) return;
    const float *dh = nn_rnn_work_dh(work, rows, T, r->e, H, r->gru);
    const float *gates =
        r->gru ? nn_rnn_state_gates(nn_plan_ptr(p, f->out[1]), rows, T, r->e, H) : NULL;
    for (int t = 0; t < T; t++) {
        double sat = 0, g2 = 0, zs = 0, rs = 0;
        float *map = r->map + ((size_t)w * T + t) * H;
        memset(map, 0, (size_t)H * sizeof *map);
        for (int i = 0; i < rows; i++) {
            const float *yi = y + ((size_t)i * T + t) * H, *dyi = dy + ((size_t)i * T + t) * H;
            const float *later = t + 1 < T ? dh + ((size_t)(t + 1) * rows + i) * H : NULL;
            for (int j = 0; j < H; j++) {
                int s = fabsf(yi[j]) > 0.97f;
                sat += s, map[j] += (float)s;
                double gj = (double)dyi[j] + (later ? later[j] : 0.0);
                g2 += gj * gj;
            }
            for (int j = 0; gates && j < H; j++) {
                zs += gates[((size_t)t * rows + i) * 3 * H + j];
                rs += gates[((size_t)t * rows + i) * 3 * H + H + j];
            }
        }
        for (int j = 0; j < H; j++)
            map[j] /= (float)rows;
        double n = (double)rows * H;
        r->sat[w * T + t] = sat / n;
        r->gnorm[w * T + t] = sqrt(g2 / rows);
        r->z[w * T + t] = zs / n;
        r->r[w * T + t] = rs / n;
    }
    r->step[w] = step;
}

static json_t *series(const double *v, int n)
{
    json_t *a = json_array();
    for (int i = 0; i < n; i++)
        json_array_append_new(a, isfinite(v[i]) ? json_real(v[i]) : json_null());
    return a;
}

json_t *nn_rnn_stat_json(const nn_rnn_stat *r)
{
    if (r->fwd < 0 || (r->step[0] < 0 && r->step[1] < 0)) return NULL;
    char name[32];
    snprintf(name, sizeof name, "layers.%d", r->layer);
    json_t *pts = json_array();
    for (int w = 0; w < 2; w++) {
        if (r->step[w] < 0) continue;
        int T = r->t, H = r->h;
        json_t *map = json_array();
        for (int t = 0; t < T; t++) {
            json_t *row = json_array();
            for (int j = 0; j < H; j++)
                json_array_append_new(row, json_real(r->map[((size_t)w * T + t) * H + j]));
            json_array_append_new(map, row);
        }
        json_t *o = json_pack("{s:s, s:I, s:o, s:o, s:o}", "when", w ? "final" : "init", "step",
                              (json_int_t)r->step[w], "saturated", series(r->sat + w * T, T),
                              "grad_norm", series(r->gnorm + w * T, T), "map", map);
        if (r->gru) {
            json_object_set_new(o, "z_mean", series(r->z + w * T, T));
            json_object_set_new(o, "r_mean", series(r->r + w * T, T));
        }
        json_array_append_new(pts, o);
    }
    return json_pack("{s:s, s:s, s:i, s:i, s:o}", "name", name, "cell", r->gru ? "gru" : "rnn",
                     "positions", r->t, "hidden", r->h, "points", pts);
}
