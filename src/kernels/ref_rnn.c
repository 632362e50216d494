/* ref_rnn.c — the recurrent cells' per-step passes in plain C (rnn.h), and the scalar
 * table's rnn_fwd / rnn_bwd: the reference the vector versions are tested against. */
#include <math.h>
#include <string.h>

#include "kernels/ref.h"
#include "kernels/rnn.h"

/* two branches so that exp never overflows (as nn_ref_sigmoid_fwd) */
static float sigm(float x)
{
    if (x >= 0.0f) return 1.0f / (1.0f + expf(-x));
    float e = expf(x);
    return e / (1.0f + e);
}

static void rnn_act(int b, int e, int h, const float *bias, float *a, int lda, float *next)
{
    for (int i = 0; i < b; i++) {
        float *ai = a + (size_t)i * lda;
        for (int j = 0; j < h; j++)
            ai[j] = tanhf(ai[j] + bias[j]);
        if (next) memcpy(next + (size_t)i * (e + h), ai, (size_t)h * sizeof *ai);
    }
}

static void gru_gates(int b, int e, int h, const float *bz, const float *br, float *g,
                      const float *xh, float *xhr)
{
    size_t n = (size_t)(e + h);
    for (int i = 0; i < b; i++) {
        float *z = g + (size_t)i * 3 * h, *r = z + h;
        const float *hp = xh + i * n + e;
        float *o = xhr + i * n;
        memcpy(o, xh + i * n, (size_t)e * sizeof *o);
        for (int j = 0; j < h; j++) {
            z[j] = sigm(z[j] + bz[j]);
            r[j] = sigm(r[j] + br[j]);
            o[e + j] = r[j] * hp[j];
        }
    }
}

static void gru_update(int b, int e, int h, const float *bh, float *g, const float *xh, float *y,
                       int ldy, float *next)
{
    size_t n = (size_t)(e + h);
    for (int i = 0; i < b; i++) {
        float *z = g + (size_t)i * 3 * h, *hb = z + 2 * h, *yi = y + (size_t)i * ldy;
        const float *hp = xh + i * n + e;
        for (int j = 0; j < h; j++) {
            hb[j] = tanhf(hb[j] + bh[j]);
            yi[j] = (1.0f - z[j]) * hp[j] + z[j] * hb[j]; /* makemore.py's order */
        }
        if (next) memcpy(next + i * n, yi, (size_t)h * sizeof *yi);
    }
}

static void rnn_dact(int b, int h, const float *dh, const float *dy, const float *y, int ldy,
                     float *dpre)
{
    for (int i = 0; i < b; i++) {
        const float *yi = y + (size_t)i * ldy, *dyi = dy + (size_t)i * ldy;
        float *o = dpre + (size_t)i * h;
        for (int j = 0; j < h; j++) {
            float gs = dh ? dh[(size_t)i * h + j] + dyi[j] : dyi[j];
            o[j] = gs * (1.0f - yi[j] * yi[j]);
        }
    }
}

static void split(int b, int e, int h, const float *dxh, float *dx, int ldx, int accx,
                  const float *base, float *dh)
{
    size_t n = (size_t)(e + h);
    for (int i = 0; i < b; i++) {
        const float *src = dxh + i * n;
        if (dx) {
            float *d = dx + (size_t)i * ldx;
            for (int j = 0; j < e; j++)
                d[j] = accx ? d[j] + src[j] : src[j];
        }
        for (int j = 0; j < h; j++)
            dh[(size_t)i * h + j] = (base ? base[(size_t)i * h + j] : 0.0f) + src[e + j];
    }
}

static void gru_da(int b, int e, int h, const float *dh, const float *dy, int ldy, const float *g,
                   const float *xh, float *dg, float *dhp)
{
    size_t n = (size_t)(e + h);
    for (int i = 0; i < b; i++) {
        const float *z = g + (size_t)i * 3 * h, *hb = z + 2 * h, *hp = xh + i * n + e;
        const float *dyi = dy + (size_t)i * ldy;
        float *dz = dg + (size_t)i * 3 * h, *dhb = dz + 2 * h, *o = dhp + (size_t)i * h;
        for (int j = 0; j < h; j++) {
            float gs = dh ? dh[(size_t)i * h + j] + dyi[j] : dyi[j];
            dz[j] = gs * (hb[j] - hp[j]) * z[j] * (1.0f - z[j]);
            dhb[j] = gs * z[j] * (1.0f - hb[j] * hb[j]);
            o[j] = gs * (1.0f - z[j]);
        }
    }
}

static void gru_db(int b, int e, int h, const float *dxhr, const float *g, const float *xh,
                   float *dg, float *dhp, float *dx, int ldx, int accx)
{
    size_t n = (size_t)(e + h);
    for (int i = 0; i < b; i++) {
        const float *src = dxhr + i * n, *r = g + (size_t)i * 3 * h + h, *hp = xh + i * n + e;
        float *dr = dg + (size_t)i * 3 * h + h, *o = dhp + (size_t)i * h;
        if (dx) {
            float *d = dx + (size_t)i * ldx;
            for (int j = 0; j < e; j++)
                d[j] = accx ? d[j] + src[j] : src[j];
        }
        for (int j = 0; j < h; j++) {
            float drh = src[e + j];
            dr[j] = drh * hp[j] * r[j] * (1.0f - r[j]);
            o[j] += drh * r[j];
        }
    }
}

static void scatter(int b, int t, int n, const int32_t *ids, const float *dg, float *S)
{
    for (int s = 0; s < t; s++)
        for (int i = 0; i < b; i++) {
            float *o = S + (size_t)ids[(size_t)i * t + s] * n;
            const float *src = dg + ((size_t)s * b + i) * n;
            for (int j = 0; j < n; j++)
                o[j] += src[j];
        }
}

static const nn_rnn_prims prims = {
    .sgemm_nn = nn_ref_sgemm_nn,
    .sgemm_nt = nn_ref_sgemm_nt,
    .sgemm_tn = nn_ref_sgemm_tn,
    .col_sum = nn_ref_col_sum,
    .rnn_act = rnn_act,
    .gru_gates = gru_gates,
    .gru_update = gru_update,
    .rnn_dact = rnn_dact,
    .split = split,
    .gru_da = gru_da,
    .gru_db = gru_db,
    .scatter = scatter,
};

void nn_ref_rnn_fwd(int b, int t, int e, int h, int gru, const nn_rnn_input *in, const float *start,
                    const nn_rnn_weights *w, float *pack, float *state, float *y)
{
    nn_rnn_seq_fwd(&prims, b, t, e, h, gru, in, start, w, pack, state, y);
}

void nn_ref_rnn_bwd(int b, int t, int e, int h, int gru, const nn_rnn_input *in,
                    const nn_rnn_weights *w, const float *pack, const float *state, const float *y,
                    const float *dy, float *work, float *dx, const nn_rnn_grads *d, int accumulate)
{
    nn_rnn_seq_bwd(&prims, b, t, e, h, gru, in, w, pack, state, y, dy, work, dx, d, accumulate);
}
