/* rnn.h — the recurrent cells' sequence driver (rnn_seq.c) and the per-step passes each
 * kernel table supplies (internal to src/kernels).
 *
 * The driver owns the order of work over time; a table supplies its gemms and the fused
 * elementwise passes of one time step (scalar in ref_rnn.c, AVX2 in rnn_avx2.c), so the
 * reference and the vector versions run the same schedule and differ only in arithmetic.
 * Rows are the b batch rows of one time step; `ld*` are row strides in floats. */
#ifndef NN_KERNELS_RNN_H
#define NN_KERNELS_RNN_H

#include "kernels/kernels.h"

typedef struct {
    void (*sgemm_nn)(int m, int n, int k, const float *a, int lda, const float *b, int ldb,
                     float *c, int ldc, int accumulate);
    void (*sgemm_nt)(int m, int n, int k, const float *a, int lda, const float *b, int ldb,
                     float *c, int ldc, int accumulate);
    void (*sgemm_tn)(int m, int n, int k, const float *a, int lda, const float *b, int ldb,
                     float *c, int ldc, int accumulate);
    void (*col_sum)(int m, int n, const float *x, float *out, int accumulate);
    /* rnn: a[i] = tanh(a[i] + bias) in place (stride lda); also into next[i] (stride e+h)
     * unless next is NULL */
    void (*rnn_act)(int b, int e, int h, const float *bias, float *a, int lda, float *next);
    /* gru: g[i] = [z | r | h̄] pre-activations (stride 3h): z, r = σ(· + bz, br) in place;
     * xhr[i] = [x, r⊙hprev] where xh[i] = [x, hprev] (stride e+h) */
    void (*gru_gates)(int b, int e, int h, const float *bz, const float *br, float *g,
                      const float *xh, float *xhr);
    /* gru: h̄ = tanh(g[i][2h:] + bh) in place; y[i] = (1 − z)·hprev + z·h̄ (stride ldy), also
     * into next[i] unless NULL */
    void (*gru_update)(int b, int e, int h, const float *bh, float *g, const float *xh, float *y,
                       int ldy, float *next);
    /* rnn backward: dpre[i] = (dh[i] + dy[i])·(1 − y[i]²)   (dh NULL: 0; dy, y stride ldy) */
    void (*rnn_dact)(int b, int h, const float *dh, const float *dy, const float *y, int ldy,
                     float *dpre);
    /* dxh[i] = [dx part, dh part] (stride e+h): dx[i] (+)= the first e (stride ldx, skipped when
     * dx is NULL), dh[i] = base[i] (0 when NULL) + the last h */
    void (*split)(int b, int e, int h, const float *dxh, float *dx, int ldx, int accx,
                  const float *base, float *dh);
    /* gru backward, first pass: gsum = dh + dy (dh NULL: 0): dg z part = gsum·(h̄ − hprev)·z(1−z),
     * h̄ part = gsum·z·(1 − h̄²); dhp[i] = gsum·(1 − z) */
    void (*gru_da)(int b, int e, int h, const float *dh, const float *dy, int ldy, const float *g,
                   const float *xh, float *dg, float *dhp);
    /* gru backward, second pass, dxhr = ∂L/∂[x, r⊙hprev]: dx[i] (+)= its x part; with drh its
     * last h: dg r part = drh·hprev·r(1 − r), dhp[i] += drh·r */
    void (*gru_db)(int b, int e, int h, const float *dxhr, const float *g, const float *xh,
                   float *dg, float *dhp, float *dx, int ldx, int accx);
    /* lookup backward: S[ids[i·t + s]] += dg[s][i] (n floats each) for s, then i, ascending */
    void (*scatter)(int b, int t, int n, const int32_t *ids, const float *dg, float *S);
} nn_rnn_prims;

void nn_rnn_seq_fwd(const nn_rnn_prims *k, int b, int t, int e, int h, int gru,
                    const nn_rnn_input *in, const float *start, const nn_rnn_weights *w,
                    float *pack, float *state, float *y);
void nn_rnn_seq_bwd(const nn_rnn_prims *k, int b, int t, int e, int h, int gru,
                    const nn_rnn_input *in, const nn_rnn_weights *w, const float *pack,
                    const float *state, const float *y, const float *dy, float *work, float *dx,
                    const nn_rnn_grads *d, int accumulate);

/* The scalar table's entries (ref_rnn.c), also used by tests as the reference. */
void nn_ref_rnn_fwd(int b, int t, int e, int h, int gru, const nn_rnn_input *in, const float *start,
                    const nn_rnn_weights *w, float *pack, float *state, float *y);
void nn_ref_rnn_bwd(int b, int t, int e, int h, int gru, const nn_rnn_input *in,
                    const nn_rnn_weights *w, const float *pack, const float *state, const float *y,
                    const float *dy, float *work, float *dx, const nn_rnn_grads *d, int accumulate);
/* The AVX2 table's entries (rnn_avx2.c), and its passes, which the AVX-512 table runs with
 * its own gemms (avx512.c: the same bits, every element the same chain of FMAs). */
extern const nn_rnn_prims nn_avx2_rnn_prims;
void nn_avx2_rnn_fwd(int b, int t, int e, int h, int gru, const nn_rnn_input *in,
                     const float *start, const nn_rnn_weights *w, float *pack, float *state,
                     float *y);
void nn_avx2_rnn_bwd(int b, int t, int e, int h, int gru, const nn_rnn_input *in,
                     const nn_rnn_weights *w, const float *pack, const float *state, const float *y,
                     const float *dy, float *work, float *dx, const nn_rnn_grads *d,
                     int accumulate);

#endif
