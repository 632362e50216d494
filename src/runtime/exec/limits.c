/* limits.c — --max-memory: a model too large for the machine is refused with a clear error
 * before its plans are allocated, instead of being killed by the OOM killer (or swapping
 * for hours) once training has started. */
#include "runtime/exec/limits.h"

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "runtime/exec/plan.h"

static size_t max_memory; /* 0: the default */

int nn_parse_bytes(const char *s, size_t *out)
{
    char *end;
    if (!s || !isdigit((unsigned char)*s)) return -1;
    unsigned long long v = strtoull(s, &end, 10);
    unsigned shift = 0;
    if (*end) {
        switch (toupper((unsigned char)*end)) {
        case 'K': shift = 10; break;
        case 'M': shift = 20; break;
        case 'G': shift = 30; break;
        case 'T': shift = 40; break;
        default: return -1;
        }
        end++;
        if (!strcasecmp(end, "iB") || !strcasecmp(end, "B")) end += strlen(end);
        if (*end) return -1;
    }
    if (v == 0 || v > (SIZE_MAX >> shift)) return -1;
    *out = (size_t)(v << shift);
    return 0;
}

size_t nn_max_memory_default(void)
{
    long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGE_SIZE);
    if (pages <= 0 || page <= 0) return SIZE_MAX;
    return (size_t)((double)pages * (double)page * 0.8);
}

void nn_limits_set_max_memory(size_t bytes)
{
    max_memory = bytes;
}

size_t nn_limits_max_memory(void)
{
    return max_memory ? max_memory : nn_max_memory_default();
}

/* Adds a and b, saturating (sizes of absurd specs must not wrap around). */
static size_t add_sat(size_t a, size_t b)
{
    return a > SIZE_MAX - b ? SIZE_MAX : a + b;
}

static size_t tensor_bytes(const nn_tensor *t)
{
    long n = nn_tensor_numel(t);
    return n <= 0 ? 0 : (size_t)n * 4;
}

/* "1.5 GiB (1610612736 bytes)" */
static const char *human(size_t n, char *buf, size_t len)
{
    static const char *unit[] = {"bytes", "KiB", "MiB", "GiB", "TiB"};
    double v = (double)n;
    int u = 0;
    while (v >= 1024 && u < 4)
        v /= 1024, u++;
    if (u == 0)
        snprintf(buf, len, "%zu bytes", n);
    else
        snprintf(buf, len, "%.1f %s (%zu bytes)", v, unit[u], n);
    return buf;
}

int nn_limits_check(const nn_graph *train_g, const nn_graph *eval_g, int neval, int state,
                    nn_mark at, nn_diag *d)
{
    size_t params = 0, largest = 0;
    const nn_graph *lg = train_g;
    int lt = -1;
    for (int t = 0; t < train_g->nt; t++) {
        const nn_tensor *x = &train_g->t[t];
        size_t b = tensor_bytes(x);
        if (x->role == NN_PARAM) params = add_sat(params, b * (size_t)(2 + state));
        if (x->role == NN_BUFFER) params = add_sat(params, b);
    }
    const nn_graph *gs[2] = {train_g, eval_g};
    for (int k = 0; k < 2; k++)
        for (int t = 0; t < gs[k]->nt; t++)
            if (tensor_bytes(&gs[k]->t[t]) > largest) {
                largest = tensor_bytes(&gs[k]->t[t]);
                lg = gs[k], lt = t;
            }
    size_t train = nn_plan_arena_bytes(train_g, NN_LOWER_FAST);
    size_t eval = nn_plan_arena_bytes(eval_g, NN_LOWER_FAST);
    size_t evals = eval == SIZE_MAX || neval < 1     ? eval
                   : eval > SIZE_MAX / (size_t)neval ? SIZE_MAX
                                                     : eval * (size_t)neval;
    size_t need = add_sat(add_sat(params, train), evals), limit = nn_limits_max_memory();
    if (need <= limit) return 0;
    char b[4][64], shape[64];
    nn_diag_error(d, at, "the model needs %s, more than --max-memory %s", human(need, b[0], 64),
                  human(limit, b[1], 64));
    nn_diag_note(d,
                 "parameters, gradients and optimizer state %s; training arena %s; %d "
                 "evaluation arena%s %s",
                 human(params, b[2], 64), human(train, b[3], 64), neval, neval == 1 ? "" : "s",
                 human(evals, b[0], 64));
    if (lt >= 0)
        nn_diag_note(d, "the largest tensor is '%s' %s, %s", lg->t[lt].name,
                     nn_tensor_shape_str(&lg->t[lt], shape, sizeof shape),
                     human(largest, b[1], 64));
    nn_diag_note(d, "use a smaller train.batch or smaller layers, or raise --max-memory "
                    "(default: 80%% of physical memory)");
    return -1;
}

int nn_limits_check_bytes(size_t need, const char *what, nn_mark at, nn_diag *d)
{
    size_t limit = nn_limits_max_memory();
    if (need <= limit) return 0;
    char b[2][64];
    nn_diag_error(d, at, "%s needs %s, more than --max-memory %s", what, human(need, b[0], 64),
                  human(limit, b[1], 64));
    nn_diag_note(d, "raise --max-memory (default: 80%% of physical memory)");
    return -1;
}
