/* sample.c — drawing new items from the trained model, one token at a time.
 *
 * As the lectures do: the context starts as all '.', the model's softmax (at the given
 * temperature) gives the next token's distribution, one multinomial draw picks it, and
 * '.' ends the item.  Each item is drawn on its own, in order, so the random stream
 * matches torch.multinomial's in the notebooks.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/train.h"

/* Softmax of logits/temperature into p (the plan's own softmax when temperature is 1). */
static const float *next_distribution(const nn_plan *p, int vocab, double temperature, float *buf)
{
    const nn_graph *g = p->g;
    int prob = -1;
    for (int i = 0; i < g->nn; i++)
        if (g->n[i].op == &nn_op_cross_entropy) prob = g->n[i].out[1];
    if (temperature == 1.0 && prob >= 0) return nn_plan_ptr(p, prob);
    const float *z = nn_plan_ptr(p, g->logits);
    double mx = z[0], sum = 0;
    for (int j = 1; j < vocab; j++) mx = z[j] > mx ? z[j] : mx;
    for (int j = 0; j < vocab; j++) sum += buf[j] = (float)exp((z[j] - mx) / temperature);
    for (int j = 0; j < vocab; j++) buf[j] = (float)(buf[j] / sum);
    return buf;
}

static char *draw_one(nn_trainer *tr, nn_rng *r, double temperature, int max_len, float *buf,
                      float *cum)
{
    const nn_plan *p = tr->eval_p;
    int T = tr->ds->context, V = tr->ds->vocab;
    int32_t *x = nn_plan_ptr(p, p->g->x), *y = nn_plan_ptr(p, p->g->y);
    size_t cap = (size_t)max_len * 4 + 2, len = 0;
    char *out = malloc(cap);
    if (!out) return NULL;
    memset(x, 0, (size_t)T * sizeof *x);
    y[0] = 0;
    for (int n = 0; n < max_len; n++) {
        nn_plan_forward(p, 1);
        int ix = nn_rng_multinomial(r, next_distribution(p, V, temperature, buf), V, cum);
        len += (size_t)nn_dataset_token_utf8(tr->ds, ix, out + len);
        if (ix == 0) break;
        memmove(x, x + 1, (size_t)(T - 1) * sizeof *x);
        x[T - 1] = ix;
    }
    out[len] = 0;
    return out;
}

char **nn_trainer_sample(nn_trainer *tr, int count, uint64_t seed, double temperature,
                         int max_len)
{
    nn_rng r;
    nn_rng_seed(&r, tr->spec->rng == NN_RNG_TORCH, seed);
    char **items = calloc((size_t)count + 1, sizeof *items);
    float *buf = malloc((size_t)tr->ds->vocab * 2 * sizeof *buf);
    if (!items || !buf) {
        free(items);
        free(buf);
        return NULL;
    }
    for (int i = 0; i < count; i++)
        if (!(items[i] = draw_one(tr, &r, temperature, max_len, buf, buf + tr->ds->vocab))) {
            for (int k = 0; k < i; k++) free(items[k]);
            free(items);
            items = NULL;
            break;
        }
    free(buf);
    return items;
}
