/* runtime_util.h — what the runtime tests share (test_runtime.c, test_runtime_data.c):
 * specs built in C, so these tests do not depend on the parser. */
#ifndef RUNTIME_UTIL_H
#define RUNTIME_UTIL_H

#include "testutil.h"

#include <math.h>
#include <unistd.h>

#include "ir/build.h"
#include "kernels/kernels.h"
#include "parser/spec.h"
#include "runtime/data/data.h"
#include "runtime/exec/plan.h"
#include "runtime/store/checkpoint.h"
#include "runtime/train/train.h"

#define NEAR(got, want, tol)                                                                       \
    do {                                                                                           \
        double g_ = (got), w_ = (want);                                                            \
        if (!(fabs(g_ - w_) <= (tol))) fail_msg("%s = %.9g, want %.9g", #got, g_, w_);             \
    } while (0)

static inline nn_mark M(int line)
{
    return (nn_mark){"spec.yaml", line, 5};
}

/* A spec with everything a run needs zeroed but sensible; callers fill the rest. */
static inline nn_spec base_spec(void)
{
    nn_spec s;
    memset(&s, 0, sizeof s);
    s.path = "spec.yaml";
    s.seed = 1;
    s.data.split[NN_SPLIT_TRAIN] = 1;
    s.data.kind_mark = s.data.source_mark = s.data.split_mark = M(3);
    s.train.steps = 1;
    s.train.batch = 4;
    s.train.lr.value = 0.1;
    s.sample.temperature = 1;
    s.sample.max_len = 64;
    return s;
}

static inline nn_layer layer(nn_layer_kind k, int line)
{
    nn_layer l;
    memset(&l, 0, sizeof l);
    l.kind = k;
    l.mark = M(line);
    return l;
}

static inline void expect_error(nn_diag *d, const char *prefix, const char *needle)
{
    assert_true(nn_diag_count(d) >= 1);
    const char *msg = nn_diag_line(d, 0);
    if (strncmp(msg, prefix, strlen(prefix)) != 0 || !strstr(msg, needle))
        fail_msg("got '%s', want '%s...%s'", msg, prefix, needle);
}

/* a spec built into a graph, parameters initialised from seed 1, and a plan */
typedef struct {
    nn_graph *g;
    nn_params *P;
    nn_plan *p;
} net;

static inline void net_open(net *n, const nn_spec *s, int rows, int vocab, int context,
                            int features)
{
    nn_diag *d = nn_diag_new();
    nn_build_opts o = {rows, 1, 1, vocab, context, features};
    n->g = nn_build(s, &o, d);
    if (!n->g) {
        nn_diag_print(d, stderr);
        fail();
    }
    n->P = nn_params_new(n->g, 0);
    n->p = nn_plan_lower(n->g, n->P, NN_LOWER_FAST);
    assert_non_null(n->p);
    nn_rng r;
    nn_rng_seed(&r, 0, 1);
    if (nn_params_init(n->P, &r, nn_ckpt_init_param, d) != 0) {
        nn_diag_print(d, stderr);
        fail();
    }
    nn_diag_free(d);
}

static inline void net_close(net *n)
{
    nn_plan_free(n->p);
    nn_params_free(n->P);
    nn_graph_free(n->g);
}

#endif
