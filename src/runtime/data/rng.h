/* rng.h — random streams: a fast native generator, and PyTorch/CPython-compatible ones.
 *
 * `torch` reproduces torch.Generator().manual_seed(s) on the CPU (MT19937) for randn,
 * randint and multinomial, so the lessons' numbers can be matched draw for draw.
 * `native` is xoshiro256** (seeded through splitmix64): fast, and the default.
 */
#ifndef NN_RNG_H
#define NN_RNG_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    uint32_t mt[624];
    int mti;
} nn_mt19937;

typedef struct {
    int torch; /* 1: MT19937 with torch's recipes; 0: xoshiro256** */
    nn_mt19937 mt;
    uint64_t s[4];
    int has_cached_normal; /* torch's scalar normal path keeps a second sample */
    double cached_normal;
} nn_rng;

void nn_rng_seed(nn_rng *r, int torch, uint64_t seed);
uint32_t nn_rng_u32(nn_rng *r);
/* A double in [0, 1) with 53 random bits (torch: two u32, the first as the high half). */
double nn_rng_double(nn_rng *r);
/* n standard normal floats (torch: torch.randn(n) exactly as its CPU kernel draws them). */
void nn_rng_randn(nn_rng *r, float *out, size_t n);
/* An integer in [0, n) (torch: u32 % n, as torch.randint). */
uint32_t nn_rng_randint(nn_rng *r, uint32_t n);
/* One draw from the unnormalised distribution p[0..n) (torch.multinomial, replacement). */
int nn_rng_multinomial(nn_rng *r, const float *p, int n, float *cum_scratch);
/* One draw without replacement, as torch.multinomial(p, 1) does it on the CPU: q_j = p_j / e_j
 * with e_j ~ Exp(1) (−log1p(−u), u a 53-bit double, rounded to float), the first argmax. */
int nn_rng_multinomial_norep(nn_rng *r, const float *p, int n);

/* MT19937 itself (shared by the torch and CPython recipes). */
void nn_mt_init_genrand(nn_mt19937 *mt, uint32_t s);
void nn_mt_init_by_array(nn_mt19937 *mt, const uint32_t *key, int len);
uint32_t nn_mt_next(nn_mt19937 *mt);

/* CPython: random.seed(seed); random.shuffle(idx) on a list of n indices. */
void nn_python_shuffle(uint64_t seed, long *idx, long n);

#endif
