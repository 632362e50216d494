/* rnn_seq.c — the recurrent cells over a whole sequence (kernels.h rnn_fwd / rnn_bwd): the
 * schedule over time, shared by every kernel table (rnn.h).
 *
 * Storage is time-major so that one time step's b rows are contiguous:
 *   state: xh [t][b][e+h] = [x_s, h_{s−1}]; gru also xhr [t][b][e+h] = [x_s, r⊙h_{s−1}] and
 *          g [t][b][3h] = the gates z, r, h̄ after their nonlinearities
 *   work:  dg [t][b][G·h] (gate pre-activation gradients, G = 1 or 3), dxh [b][e+h],
 *          dh [t][b][h] (slot s: ∂L/∂h_{s−1} through the cell at s and later; slot 0 is the
 *          start's, and the reports read them: nn_rnn_work_dh), dhp [b][h], bsum [3h]
 * Per step the forward is one gemm over [x, h] (the GRU's z and r together, on the packed
 * [Wz | Wr]) and one fused pass, plus the GRU's candidate gemm over [x, r⊙h] and its update
 * pass.  The weight gradients are summed over time at the end, as one gemm over all t·b rows
 * (xhᵀ·dg), instead of t small ones.
 * With an embedding fused in (nn_rnn_input's table and ids) the x half of every product is
 * a row lookup: the forward adds a row of lut = table·W_x to the h half's gemm, the backward
 * has no ∂L/∂x per position and gets dW_x and ∂L/∂table from the per-token sums of dg
 * (lookup_fwd, lookup_bwd).  The per-step gemms then run over h instead of e + h; the
 * layout stays the same (the x columns of xh and xhr are left unwritten), so the reports
 * read it alike. */
#include <string.h>

#include "kernels/rnn.h"

size_t nn_rnn_state_floats(int t, int e, int h, int gru)
{
    size_t n = (size_t)t * (size_t)(e + h);
    return gru ? 2 * n + (size_t)t * 3 * (size_t)h : n;
}

size_t nn_rnn_work_floats(int t, int e, int h, int gru)
{
    /* + 3h for bsum, kept per row so that the total is a per-row size (b ≥ 1) */
    return (size_t)t * (size_t)(gru ? 3 : 1) * (size_t)h + (size_t)(e + h) + (size_t)t * h +
           (size_t)h + 3 * (size_t)h;
}

const float *nn_rnn_work_dh(const float *work, int b, int t, int e, int h, int gru)
{
    return work + (size_t)t * b * (size_t)(gru ? 3 : 1) * h + (size_t)b * (e + h);
}

const float *nn_rnn_state_gates(const float *state, int b, int t, int e, int h)
{
    return state + 2 * (size_t)t * b * (size_t)(e + h);
}

size_t nn_rnn_pack_floats(int e, int h, int gru)
{
    size_t n = (size_t)(e + h);
    return gru ? n * 2 * (size_t)h + 3 * (size_t)h * n : (size_t)h * n;
}

double nn_rnn_flops(int b, int t, int e, int h, int gru, int v, int backward)
{
    double G = gru ? 3 : 1, kx = v ? h : e + h, steps = 2.0 * b * t * kx * G * h;
    if (!backward) return steps + (v ? 2.0 * v * e * h * G : 0); /* per step; lut */
    /* per step (∂L/∂[x, h]); dW over all positions; the lookup's dW_x and ∂L/∂table */
    return steps + 2.0 * kx * h * t * b * G + (v ? 4.0 * v * e * h * G : 0);
}

/* pack: the GRU's [Wz | Wr], then the transposed weights W_qᵀ [h][e+h] (columns from `off`
 * on), so that the backward's products with Wᵀ read B's rows in place instead of
 * transposing W at every step (the same chain of products per element: the same bits). */
static void transpose_weights(int e, int h, int G, const nn_rnn_weights *w, size_t off, float *wt)
{
    size_t n = (size_t)(e + h);
    for (int q = 0; q < G; q++)
        for (size_t p = off; p < n; p++)
            for (int j = 0; j < h; j++)
                wt[((size_t)q * h + j) * n + p] = w->w[q][p * h + j];
}

/* lookup: lut [v][G·h] = table · (each gate's x rows W_q[0:e]), and every position's
 * pre-activation start (y for the rnn, g for the gru, in time-major order) = its token's
 * row of lut.  Each lut element is the chain of the x half's products that the dense gemm
 * over [x, h] begins with, so the gemms below, accumulating the h half onto it, give the
 * dense forward's bits. */
static void lookup_fwd(const nn_rnn_prims *k, int b, int t, int e, int h, int G,
                       const nn_rnn_input *in, const nn_rnn_weights *w, float *y, float *g)
{
    int gh = G * h;
    for (int q = 0; q < G; q++)
        k->sgemm_nn(in->v, h, e, in->table, e, w->w[q], h, in->lut + (size_t)q * h, gh, 0);
    for (int s = 0; s < t; s++)
        for (int i = 0; i < b; i++) {
            const float *row = in->lut + (size_t)in->ids[(size_t)i * t + s] * gh;
            float *d = G == 1 ? y + ((size_t)i * t + s) * h : g + ((size_t)s * b + i) * gh;
            memcpy(d, row, (size_t)gh * sizeof *d);
        }
}

void nn_rnn_seq_fwd(const nn_rnn_prims *k, int b, int t, int e, int h, int gru,
                    const nn_rnn_input *in, const float *start, const nn_rnn_weights *w,
                    float *pack, float *state, float *y)
{
    size_t n = (size_t)(e + h), bn = (size_t)b * n;
    float *xh = state, *xhr = state + (size_t)t * bn, *g = xhr + (size_t)t * bn;
    /* look: the x half comes from lut (rows already in y or g); the gemms do the h half */
    int look = in->table != NULL, kx = look ? h : (int)n, acc = look;
    size_t off = look ? (size_t)e : 0;
    if (look)
        lookup_fwd(k, b, t, e, h, gru ? 3 : 1, in, w, y, g);
    else
        for (int s = 0; s < t; s++)
            for (int i = 0; i < b; i++)
                memcpy(xh + s * bn + i * n, in->x + ((size_t)i * t + s) * e,
                       (size_t)e * sizeof *xh);
    for (int i = 0; i < b; i++)
        memcpy(xh + i * n + e, start, (size_t)h * sizeof *start);
    if (gru) /* [Wz | Wr]: both gates in one gemm per step */
        for (size_t r = 0; r < n; r++) {
            memcpy(pack + r * 2 * h, w->w[0] + r * h, (size_t)h * sizeof *pack);
            memcpy(pack + r * 2 * h + h, w->w[1] + r * h, (size_t)h * sizeof *pack);
        }
    transpose_weights(e, h, gru ? 3 : 1, w, off, gru ? pack + n * 2 * h : pack);
    int ldy = t * h;
    for (int s = 0; s < t; s++) {
        float *xs = xh + s * bn, *next = s + 1 < t ? xh + (s + 1) * bn + e : NULL;
        if (!gru) {
            k->sgemm_nn(b, h, kx, xs + off, (int)n, w->w[0] + off * h, h, y + (size_t)s * h, ldy,
                        acc);
            k->rnn_act(b, e, h, w->bias[0], y + (size_t)s * h, ldy, next);
            continue;
        }
        float *gs = g + (size_t)s * b * 3 * h, *xrs = xhr + s * bn;
        k->sgemm_nn(b, 2 * h, kx, xs + off, (int)n, pack + off * 2 * h, 2 * h, gs, 3 * h, acc);
        k->gru_gates(b, e, h, w->bias[0], w->bias[1], gs, xs, xrs);
        k->sgemm_nn(b, h, kx, xrs + off, (int)n, w->w[2] + off * h, h, gs + 2 * h, 3 * h, acc);
        k->gru_update(b, e, h, w->bias[2], gs, xs, y + (size_t)s * h, ldy, next);
    }
}

/* d (+)= src, h floats (accumulate: add) */
static void put(float *d, const float *src, int h, int accumulate)
{
    for (int i = 0; i < h; i++)
        d[i] = accumulate ? d[i] + src[i] : src[i];
}

/* lookup's weight and table gradients from dg [t][b][G·h]: S = lut [v][G·h] = Σ of dg over
 * the positions of each token, then dW_q[0:e] = tableᵀ·S_q and dtable (+)= Σ_q S_q·W_q[0:e]ᵀ
 * (products over the v table rows instead of the t·b positions). */
static void lookup_bwd(const nn_rnn_prims *k, int b, int t, int e, int h, int G,
                       const nn_rnn_input *in, const nn_rnn_weights *w, const float *dg,
                       float *dtable, const nn_rnn_grads *d, int accumulate)
{
    size_t gh = (size_t)G * h;
    float *S = in->lut;
    memset(S, 0, (size_t)in->v * gh * sizeof *S);
    k->scatter(b, t, (int)gh, in->ids, dg, S);
    for (int q = 0; q < G; q++)
        k->sgemm_tn(e, h, in->v, in->table, e, S + (size_t)q * h, (int)gh, d->w[q], h,
                    (accumulate >> (2 + 2 * q)) & 1);
    if (!dtable) return;
    for (int q = 0; q < G; q++)
        k->sgemm_nt(in->v, e, h, S + (size_t)q * h, (int)gh, w->w[q], h, dtable, e,
                    q > 0 || (accumulate & 1));
}

void nn_rnn_seq_bwd(const nn_rnn_prims *k, int b, int t, int e, int h, int gru,
                    const nn_rnn_input *in, const nn_rnn_weights *w, const float *pack,
                    const float *state, const float *y, const float *dy, float *work, float *dx,
                    const nn_rnn_grads *d, int accumulate)
{
    size_t n = (size_t)(e + h), bn = (size_t)b * n, G = gru ? 3 : 1, tb = (size_t)t * b;
    const float *xh = state, *xhr = state + t * bn, *g = xhr + t * bn;
    float *dg = work, *dxh = dg + tb * G * h, *dhs = dxh + bn, *dhp = dhs + tb * h;
    float *bsum = dhp + (size_t)b * h;
    int ldy = t * h, ldx = t * e, accx = accumulate & 1, look = in->table != NULL;
    /* look: no ∂L/∂x per position: the products give the h half only (dxh's last h) */
    size_t off = look ? (size_t)e : 0;
    int nx = look ? h : (int)n;
    const float *wt = gru ? pack + n * 2 * h : pack; /* W_qᵀ [h][n], the forward's */
    for (int s = t - 1; s >= 0; s--) {
        float *dh = dhs + (size_t)s * b * h; /* written here: ∂L/∂h_{s−1} */
        const float *dys = dy + (size_t)s * h, *dhin = s == t - 1 ? NULL : dh + (size_t)b * h;
        float *dxs = dx && !look ? dx + (size_t)s * e : NULL, *dgs = dg + (size_t)s * b * G * h;
        if (!gru) {
            k->rnn_dact(b, h, dhin, dys, y + (size_t)s * h, ldy, dgs);
            if (look) { /* straight into dh */
                k->sgemm_nn(b, h, h, dgs, h, wt + off, (int)n, dh, h, 0);
                continue;
            }
            k->sgemm_nn(b, (int)n, h, dgs, h, wt, (int)n, dxh, (int)n, 0);
            k->split(b, e, h, dxh, dxs, ldx, accx, NULL, dh);
            continue;
        }
        const float *gs = g + (size_t)s * b * 3 * h, *xs = xh + s * bn;
        k->gru_da(b, e, h, dhin, dys, ldy, gs, xs, dgs, dhp);
        k->sgemm_nn(b, nx, h, dgs + 2 * h, 3 * h, wt + 2 * h * n + off, (int)n, dxh + off, (int)n,
                    0);
        k->gru_db(b, e, h, dxh, gs, xs, dgs, dhp, dxs, ldx, accx);
        k->sgemm_nn(b, nx, 2 * h, dgs, 3 * h, wt + off, (int)n, dxh + off, (int)n,
                    0); /* [Wz; Wr]ᵀ */
        k->split(b, e, h, dxh, dxs, ldx, 1, dhp, dh);
    }
    /* slot 0 is ∂L/∂h_{−1}: the start state is shared by every row */
    k->col_sum(b, h, dhs, d->start, (accumulate >> 1) & 1);
    int ldg = (int)G * h;
    for (int q = 0; q < (int)G; q++) {
        const float *src = q == 2 ? xhr : xh;
        k->sgemm_tn(nx, h, (int)tb, src + off, (int)n, dg + (size_t)q * h, ldg, d->w[q] + off * h,
                    h, (accumulate >> (2 + 2 * q)) & 1);
    }
    if (look) lookup_bwd(k, b, t, e, h, (int)G, in, w, dg, dx, d, accumulate);
    k->col_sum((int)tb, ldg, dg, bsum, 0);
    for (int q = 0; q < (int)G; q++)
        put(d->bias[q], bsum + (size_t)q * h, h, (accumulate >> (3 + 2 * q)) & 1);
}
