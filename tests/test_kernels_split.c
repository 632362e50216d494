/* test_kernels_split.c — the vector attention and LayerNorm kernels (attention_avx2.c,
 * layernorm_avx2.c) on makemore's shapes: backward against central differences of the same
 * path's forward, and every result bit-identical whether the pool splits the work over two
 * threads or not (split.c).  The reference comparison is in test_kernels_seq.c. */
#include <math.h>

#include "testutil.h"

#include "kernels/kernels.h"
#include "kernels/threads.h"

static const char *const ISAS[] = {"scalar", "avx2", "avx512"};

#define FOR_EACH_ISA(K)                                                                            \
    for (size_t isa_ = 0; isa_ < sizeof ISAS / sizeof *ISAS; isa_++)                               \
        for (const nn_kernels *K = nn_kernels_get(ISAS[isa_]); K; K = NULL)

static uint32_t rng = 88172645u;

static float *rnd(size_t n, float lo, float hi)
{
    float *p = malloc((n ? n : 1) * sizeof *p);
    assert_non_null(p);
    for (size_t i = 0; i < n; i++) {
        rng ^= rng << 13, rng ^= rng >> 17, rng ^= rng << 5;
        p[i] = lo + (hi - lo) * (float)(rng >> 8) / 16777216.0f;
    }
    return p;
}

/* ---- backward of the vector path against its own forward ---------------------------------- */

enum { B = 2, T = 7, NH = 2, HS = 8, C = NH * HS }; /* the t ≤ 16, hs = 8·r path */

static double loss_of(const nn_kernels *K, int which, const float *x, const float *w,
                      const float *g, const float *be)
{
    float y[B * T * C], att[B * NH * T * T], m[B * T], r[B * T];
    if (which < 2)
        K->attn_fwd(B, T, NH, HS, which, x, att, y);
    else
        K->ln_fwd(B * T, C, x, g, be, 1e-5f, m, r, y);
    double s = 0;
    for (int i = 0; i < B * T * C; i++)
        s += (double)w[i] * y[i];
    return s;
}

static void t_grad_fd(void **state)
{
    (void)state;
    const char *names[] = {"attention (full)", "attention (causal)", "layernorm"};
    FOR_EACH_ISA(K)
    for (int which = 0; which < 3; which++) {
        size_t n = which < 2 ? B * T * 3 * C : B * T * C;
        float *x = rnd(n, -1.5f, 1.5f), *w = rnd(B * T * C, -1, 1), *dx = rnd(n, -1, 1);
        float *g = rnd(C, 0.5f, 1.5f), *be = rnd(C, -1, 1), dg[C], db[C];
        float y[B * T * C], att[B * NH * T * T], m[B * T], r[B * T];
        if (which < 2) {
            K->attn_fwd(B, T, NH, HS, which, x, att, y);
            K->attn_bwd(B, T, NH, HS, which, x, att, w, dx, 0);
        } else {
            K->ln_fwd(B * T, C, x, g, be, 1e-5f, m, r, y);
            K->ln_bwd(B * T, C, x, m, r, g, w, dx, dg, db, 0);
        }
        for (size_t i = 0; i < n; i++) {
            float keep = x[i], h = 1e-2f;
            x[i] = keep + h;
            double lp = loss_of(K, which, x, w, g, be);
            x[i] = keep - h;
            double lm = loss_of(K, which, x, w, g, be);
            x[i] = keep;
            double num = (lp - lm) / (2.0 * h);
            if (!tu_close(dx[i], num, 2e-3, 2e-2))
                fail_msg("%s %s: dx[%zu] = %.7g, finite differences %.7g", K->isa, names[which], i,
                         dx[i], num);
        }
        for (int j = 0; which == 2 && j < C; j++) {
            float keep = g[j];
            g[j] = keep + 1e-2f;
            double lp = loss_of(K, 2, x, w, g, be);
            g[j] = keep - 1e-2f;
            double lm = loss_of(K, 2, x, w, g, be);
            g[j] = keep;
            assert_true(tu_close(dg[j], (lp - lm) / 2e-2, 2e-3, 2e-2));
            keep = be[j];
            be[j] = keep + 1e-2f;
            lp = loss_of(K, 2, x, w, g, be);
            be[j] = keep - 1e-2f;
            lm = loss_of(K, 2, x, w, g, be);
            be[j] = keep;
            assert_true(tu_close(db[j], (lp - lm) / 2e-2, 2e-3, 2e-2));
        }
        free(x), free(w), free(dx), free(g), free(be);
    }
}

/* ---- one thread against two: the same bits ------------------------------------------------ */

enum { MB = 32, MT = 16, MNH = 4, MHS = 16, MC = MNH * MHS, MF = 4 * MC };

typedef struct {
    float *att, *out, *dqkv, *y, *mean, *rstd, *gy, *gdx;
} results;

static results run_all(const nn_kernels *K, const float *qkv, const float *dout, const float *x,
                       const float *g, const float *be, const float *h)
{
    size_t nq = (size_t)MB * MT * 3 * MC, no = (size_t)MB * MT * MC, nf = (size_t)MB * MT * MF;
    results r = {rnd((size_t)MB * MNH * MT * MT, 0, 1),
                 rnd(no, 0, 1),
                 rnd(nq, 0, 1),
                 rnd(no, 0, 1),
                 rnd(MB * MT, 0, 1),
                 rnd(MB * MT, 0, 1),
                 rnd(nf, 0, 1),
                 rnd(nf, 0, 1)};
    K->attn_fwd(MB, MT, MNH, MHS, 1, qkv, r.att, r.out);
    K->attn_bwd(MB, MT, MNH, MHS, 1, qkv, r.att, dout, r.dqkv, 0);
    K->ln_fwd(MB * MT, MC, x, g, be, 1e-5f, r.mean, r.rstd, r.y);
    K->gelu_fwd(nf, 1, h, r.gy);
    K->gelu_bwd(nf, 1, h, r.gy, r.gdx, 0);
    return r;
}

static void t_threads(void **state)
{
    (void)state;
    size_t nq = (size_t)MB * MT * 3 * MC, no = (size_t)MB * MT * MC, nf = (size_t)MB * MT * MF;
    float *qkv = rnd(nq, -2, 2), *dout = rnd(no, -1, 1), *x = rnd(no, -3, 3);
    float *g = rnd(MC, 0.5f, 1.5f), *be = rnd(MC, -1, 1), *h = rnd(nf, -4, 4);
    FOR_EACH_ISA(K)
    {
        nn_kernels_set_threads(1);
        results one = run_all(K, qkv, dout, x, g, be, h);
        nn_kernels_set_threads(2);
        unsigned long before = nn_threads_worker_tasks();
        results two = run_all(K, qkv, dout, x, g, be, h);
        if (K != nn_kernels_get("scalar")) /* the vector paths split these sizes */
            assert_true(nn_threads_worker_tasks() > before);
        nn_kernels_set_threads(1);
        assert_memory_equal(one.att, two.att, (size_t)MB * MNH * MT * MT * sizeof(float));
        assert_memory_equal(one.out, two.out, no * sizeof(float));
        assert_memory_equal(one.dqkv, two.dqkv, nq * sizeof(float));
        assert_memory_equal(one.y, two.y, no * sizeof(float));
        assert_memory_equal(one.mean, two.mean, MB * MT * sizeof(float));
        assert_memory_equal(one.rstd, two.rstd, MB * MT * sizeof(float));
        assert_memory_equal(one.gy, two.gy, nf * sizeof(float));
        assert_memory_equal(one.gdx, two.gdx, nf * sizeof(float));
        float *all[] = {one.att, one.out, one.dqkv, one.y, one.mean, one.rstd, one.gy, one.gdx,
                        two.att, two.out, two.dqkv, two.y, two.mean, two.rstd, two.gy, two.gdx};
        for (size_t i = 0; i < sizeof all / sizeof *all; i++)
            free(all[i]);
    }
    free(qkv), free(dout), free(x), free(g), free(be), free(h);
}

/* Without strict mode the caller takes the tasks no worker has started: every task of every
 * job still runs exactly once, whichever thread gets it, and the job waits for all. */
typedef struct {
    int runs[8];
    _Atomic int total;
} count_ctx;

static void count_task(void *ctx, int t)
{
    count_ctx *c = ctx;
    c->runs[t]++; /* one thread per task: no race when each runs once */
    c->total++;
}

static void t_stealing(void **state)
{
    (void)state;
    nn_threads_strict(0);
    for (int threads = 2; threads <= 3; threads++) {
        nn_kernels_set_threads(threads);
        for (int job = 0; job < 20000; job++) {
            count_ctx c = {{0}, 0};
            int ntasks = 1 + job % 5; /* fewer, as many and more tasks than threads */
            nn_threads_run(ntasks, count_task, &c);
            assert_int_equal(c.total, ntasks);
            for (int t = 0; t < ntasks; t++)
                assert_int_equal(c.runs[t], 1);
        }
    }
    nn_kernels_set_threads(1);
    nn_threads_strict(1);
}

int main(void)
{
    nn_threads_strict(1); /* a worker runs each worker's task: the split is proven */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(t_grad_fd),
        cmocka_unit_test(t_threads),
        cmocka_unit_test(t_stealing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
