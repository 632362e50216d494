/* init.c — the model state (parameters, buffers, gradients, optimizer state) and its
 * initialisation schemes: kaiming, normal, uniform, zeros, ones, each with a scale; and
 * numbers given outright: values in the spec, or a column of a CSV file (micrograd's demo
 * parameters), optionally transposed. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/data/csv.h"
#include "runtime/exec/plan.h"

nn_params *nn_params_new(const nn_graph *g, int state)
{
    nn_params *P = calloc(1, sizeof *P);
    if (!P) return NULL;
    P->p = calloc((size_t)g->nt + 1, sizeof *P->p);
    if (!P->p) goto fail;
    size_t floats = 0;
    for (int t = 0; t < g->nt; t++) {
        const nn_tensor *x = &g->t[t];
        if (x->role != NN_PARAM && x->role != NN_BUFFER) continue;
        nn_param *p = &P->p[P->n++];
        memcpy(p->name, x->name, sizeof p->name);
        p->ndim = x->ndim;
        memcpy(p->dim, x->dim, sizeof p->dim);
        p->numel = nn_tensor_numel(x);
        p->role = x->role;
        p->weight = x->weight;
        p->layer = x->layer;
        p->init = x->init;
        int copies = x->role == NN_PARAM ? 2 + state : 1;
        floats += (size_t)copies * (((size_t)p->numel + 15) / 16 * 16);
        if (x->role == NN_PARAM) P->count += p->numel;
    }
    P->block = aligned_alloc(64, (floats ? floats : 16) * sizeof(float));
    if (!P->block) goto fail;
    memset(P->block, 0, floats * sizeof(float));
    float *cur = P->block;
    for (int i = 0; i < P->n; i++) {
        nn_param *p = &P->p[i];
        size_t padded = ((size_t)p->numel + 15) / 16 * 16;
        p->data = cur;
        cur += padded;
        if (p->role != NN_PARAM) continue;
        p->grad = cur;
        cur += padded;
        if (state >= 1) {
            p->velocity = cur;
            cur += padded;
        }
        if (state >= 2) {
            p->sq = cur;
            cur += padded;
        }
    }
    return P;
fail:
    nn_params_free(P);
    return NULL;
}

void nn_params_free(nn_params *P)
{
    if (!P) return;
    free(P->block);
    free(P->p);
    free(P);
}

nn_param *nn_params_find(nn_params *P, const char *name)
{
    for (int i = 0; i < P->n; i++)
        if (strcmp(P->p[i].name, name) == 0) return &P->p[i];
    return NULL;
}

/* torch.Tensor.uniform_(lo, hi) on floats: one 32-bit draw per element,
 * u = (draw & 0xFFFFFF)·2⁻²⁴, value = u·(hi − lo) + lo contracted to one FMA (as torch's
 * build does; a separate multiply and add is 1 ulp off in about half the entries). */
static float torch_uniform(nn_rng *r, float lo, float hi)
{
    float u = (float)(nn_rng_u32(r) & 0xFFFFFFu) * 0x1p-24f;
    return fmaf(u, hi - lo, lo);
}

/* init: torch — the module's own default.  A weight matrix (stored [in, out]) is nn.Linear's
 * kaiming_uniform_(a = √5): bound = √3·gain/√fan_in with gain = √(2/(1 + a²)), computed in
 * double as torch.nn.init does, drawn in torch's [out, in] order; a vector is a Linear bias,
 * bound 1/√fan_in of the layer's weight (fan_in); any other matrix (an embedding table) is
 * N(0, 1). */
static void fill_torch(nn_param *p, nn_rng *r, int fan_in)
{
    float *v = p->data;
    if (p->ndim == 2 && p->weight) {
        int in = p->dim[0], out = p->dim[1];
        double a = sqrt(5.0), gain = sqrt(2.0 / (1.0 + a * a));
        double bound = sqrt(3.0) * (gain / sqrt((double)in));
        for (int o = 0; o < out; o++)
            for (int i = 0; i < in; i++)
                v[(size_t)i * out + o] = torch_uniform(r, (float)-bound, (float)bound);
    } else if (p->ndim == 2) {
        nn_rng_randn(r, v, (size_t)p->numel);
    } else {
        double bound = fan_in > 0 ? 1.0 / sqrt((double)fan_in) : 0.0;
        for (long i = 0; i < p->numel; i++)
            v[i] = torch_uniform(r, (float)-bound, (float)bound);
    }
    if (p->init->scale != 1.0)
        for (long i = 0; i < p->numel; i++)
            v[i] *= (float)p->init->scale;
}

/* Applies the scheme to values already holding standard normal draws (or none).  The
 * order of the float operations follows the lectures' `randn(...) * gain / fan_in**0.5`. */
static void fill(nn_param *p, nn_rng *r)
{
    const nn_init *in = p->init;
    float *v = p->data;
    long n = p->numel;
    float scale = (float)in->scale;
    switch (in->kind) {
    case NN_INIT_VALUES: /* filled by given_values, before */
    case NN_INIT_CSV:
    case NN_INIT_FROM:
    case NN_INIT_TORCH: return; /* fill_torch */
    case NN_INIT_ZEROS:
    case NN_INIT_DEFAULT: memset(v, 0, (size_t)n * sizeof *v); return;
    case NN_INIT_ONES:
        for (long i = 0; i < n; i++)
            v[i] = 1.0f * scale;
        return;
    case NN_INIT_UNIFORM:
        for (long i = 0; i < n; i++)
            v[i] = (float)(in->a + (in->b - in->a) * nn_rng_double(r)) * scale;
        return;
    case NN_INIT_NORMAL:
        nn_rng_randn(r, v, (size_t)n);
        if (in->std != 1.0)
            for (long i = 0; i < n; i++)
                v[i] *= (float)in->std;
        break;
    case NN_INIT_KAIMING: {
        nn_rng_randn(r, v, (size_t)n);
        float gain = (float)in->gain, root = (float)sqrt((double)p->dim[0]);
        for (long i = 0; i < n; i++)
            v[i] = v[i] * gain / root;
        break;
    }
    }
    if (in->scale != 1.0)
        for (long i = 0; i < n; i++)
            v[i] *= scale;
}

/* The numbers of a csv init: `column` of the rows where every `where` column's text equals
 * the given text, in file order.  Returns the count (into a malloc'd *out), or −1. */
static long csv_values(const nn_init *in, double **out, nn_diag *d)
{
    nn_csv *c = nn_csv_read(in->file, in->mark, d);
    if (!c) return -1;
    long n = -1;
    int col = nn_csv_column(c, in->column, d), ok = col >= 0;
    int *wcol = calloc((size_t)in->nwhere + 1, sizeof *wcol);
    double *v = malloc((size_t)(c->rows ? c->rows : 1) * sizeof *v);
    ok = ok && wcol && v;
    for (int k = 0; ok && k < in->nwhere; k++)
        ok = (wcol[k] = nn_csv_column(c, in->where[k].column, d)) >= 0;
    if (ok) n = 0;
    for (long r = 0; ok && r < c->rows; r++) {
        int keep = 1;
        for (int k = 0; keep && k < in->nwhere; k++)
            keep = strcmp(nn_csv_at(c, r, wcol[k])->text, in->where[k].equals) == 0;
        if (keep && nn_csv_number(c, r, col, &v[n], d) != 0)
            n = -1, ok = 0;
        else if (keep)
            n++;
    }
    free(wcol);
    nn_csv_free(c);
    if (n < 0)
        free(v);
    else
        *out = v;
    return n;
}

/* values / csv: the count must match; transpose reads the list as [out][in] (micrograd's
 * neuron-by-neuron order) into a weight stored [in, out]. */
static int given_values(nn_param *p, nn_param_loader from, nn_diag *d)
{
    const nn_init *in = p->init;
    if (in->kind == NN_INIT_FROM) return from(p, d);
    double *v = in->values;
    long n = in->nvalues;
    if (in->kind == NN_INIT_CSV && (n = csv_values(in, &v, d)) < 0) return -1;
    int rc = 0;
    if (n != p->numel) {
        nn_diag_error(d, in->mark, "%s needs %ld values, the %s gives %ld", p->name, p->numel,
                      in->kind == NN_INIT_CSV ? "csv" : "list", n);
        rc = -1;
    } else {
        int rows = p->ndim == 2 ? p->dim[0] : 1, cols = p->ndim == 2 ? p->dim[1] : (int)n;
        for (long i = 0; i < n; i++) {
            long src = in->transpose && p->ndim == 2 ? (i % cols) * rows + i / cols : i;
            p->data[i] = (float)v[src]; /* given, not drawn: no scale */
        }
    }
    if (v != in->values) free(v);
    return rc;
}

int nn_params_init(nn_params *P, nn_rng *r, nn_param_loader from, nn_diag *d)
{
    int rc = 0, fan_in = 0;
    for (int i = 0; i < P->n; i++) {
        nn_init_kind k = P->p[i].init->kind;
        if (P->p[i].weight && P->p[i].ndim == 2) fan_in = P->p[i].dim[0]; /* for its bias */
        if (k == NN_INIT_TORCH) {
            fill_torch(&P->p[i], r, fan_in);
        } else if (k == NN_INIT_VALUES || k == NN_INIT_CSV || k == NN_INIT_FROM) {
            if (given_values(&P->p[i], from, d) != 0) rc = -1;
        } else {
            fill(&P->p[i], r);
        }
    }
    return rc;
}

/* splitmix64's finaliser: a run seed to a well-mixed 64-bit start. */
static uint64_t mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

void nn_params_seed_streams(nn_params *P, uint64_t seed)
{
    uint64_t start = mix64(seed + 0x9e3779b97f4a7c15ull);
    for (int i = 0; i < P->n; i++) {
        nn_param *p = &P->p[i];
        size_t len = strlen(p->name);
        if (p->role != NN_BUFFER || p->numel != 2 || len < 7 ||
            strcmp(p->name + len - 7, ".stream") != 0)
            continue;
        memcpy(p->data, &start, sizeof start); /* two floats of bits, not numbers */
    }
}
