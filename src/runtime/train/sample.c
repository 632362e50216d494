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

#include "runtime/train/trainer_int.h" /* nn_trainer_sample is the trainer's own */

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
    for (int j = 1; j < vocab; j++)
        mx = z[j] > mx ? z[j] : mx;
    for (int j = 0; j < vocab; j++)
        sum += buf[j] = (float)exp((z[j] - mx) / temperature);
    for (int j = 0; j < vocab; j++)
        buf[j] = (float)(buf[j] / sum);
    return buf;
}

/* Appends token `ix`'s text to the growing item. */
static int append(const nn_dataset *ds, int ix, char **out, size_t *len, size_t *cap)
{
    const char *t = nn_dataset_token(ds, ix);
    size_t n = strlen(t);
    if (*len + n + 1 > *cap) {
        size_t nc = (*cap + n + 1) * 2;
        char *no = realloc(*out, nc);
        if (!no) return -1;
        *out = no;
        *cap = nc;
    }
    memcpy(*out + *len, t, n + 1);
    *len += n;
    return 0;
}

/* The context window slides: drop the oldest token, append ix. */
static void push(int32_t *x, int T, int32_t ix)
{
    if (T <= 0) return;
    memmove(x, x + 1, (size_t)(T - 1) * sizeof *x);
    x[T - 1] = ix;
}

/* The next token's distribution: the counting model's row, or the network's softmax. */
static const float *next_probs(nn_trainer *tr, const int32_t *x, double temperature, float *buf)
{
    int T = tr->ds->context, V = tr->ds->vocab;
    if (!tr->ngram) {
        nn_plan_forward(tr->eval_p, 1);
        return next_distribution(tr->eval_p, V, temperature, buf);
    }
    const float *p = tr->ngram->prob + nn_ngram_row(tr->ngram, x, T) * V;
    if (temperature == 1.0) return p;
    /* p^(1/T), renormalised by the multinomial draw itself */
    for (int j = 0; j < V; j++)
        buf[j] = (float)pow(p[j], 1.0 / temperature);
    return buf;
}

static char *draw_one(nn_trainer *tr, nn_rng *r, double temperature, int max_len, float *buf,
                      float *cum, int32_t *x)
{
    int T = tr->ds->context, V = tr->ds->vocab;
    size_t cap = (size_t)max_len * 4 + 2, len = 0;
    char *out = malloc(cap);
    if (!out) return NULL;
    out[0] = 0;
    memset(x, 0, (size_t)T * sizeof *x);
    if (!tr->ngram) ((int32_t *)nn_plan_ptr(tr->eval_p, tr->eval_p->g->y))[0] = 0;
    /* the prefix is given, not drawn: it only fills the context */
    for (int k = 0; k < tr->nprefix; k++) {
        if (append(tr->ds, tr->prefix[k], &out, &len, &cap) != 0) break;
        push(x, T, tr->prefix[k]);
    }
    for (int n = 0; n < max_len; n++) {
        int ix = nn_rng_multinomial(r, next_probs(tr, x, temperature, buf), V, cum);
        if (append(tr->ds, ix, &out, &len, &cap) != 0) {
            free(out);
            return NULL;
        }
        if (ix == 0) break;
        push(x, T, ix);
    }
    return out;
}

char **nn_trainer_sample(nn_trainer *tr, int count, uint64_t seed, double temperature, int max_len)
{
    nn_rng r;
    nn_rng_seed(&r, tr->spec->rng == NN_RNG_TORCH, seed);
    char **items = calloc((size_t)count + 1, sizeof *items);
    float *buf = malloc((size_t)tr->ds->vocab * 2 * sizeof *buf);
    /* the network samples in its own input buffer; the counting model in a scratch one */
    int32_t *own = tr->ngram ? calloc((size_t)tr->ds->context + 1, sizeof *own) : NULL;
    int32_t *x = tr->ngram ? own : nn_plan_ptr(tr->eval_p, tr->eval_p->g->x);
    if (!items || !buf || !x) {
        free(items);
        free(buf);
        free(own);
        return NULL;
    }
    for (int i = 0; i < count; i++)
        if (!(items[i] = draw_one(tr, &r, temperature, max_len, buf, buf + tr->ds->vocab, x))) {
            for (int k = 0; k < i; k++)
                free(items[k]);
            free(items);
            items = NULL;
            break;
        }
    free(buf);
    free(own);
    return items;
}
