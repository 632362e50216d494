/* rng.c — native (xoshiro256**) and torch/CPython-compatible (MT19937) random streams.
 *
 * The torch recipes follow PyTorch's CPU kernels (see shared LESSONS.md, "Notes for
 * reproducing these numbers in C"): they are what makes `rng: torch` runs match the
 * lecture notebooks draw for draw.
 */
#include "runtime/data/rng.h"

#include <math.h>

/* ---- MT19937 ------------------------------------------------------------------------ */

void nn_mt_init_genrand(nn_mt19937 *mt, uint32_t s)
{
    mt->mt[0] = s;
    for (int i = 1; i < 624; i++)
        mt->mt[i] = 1812433253u * (mt->mt[i - 1] ^ (mt->mt[i - 1] >> 30)) + (uint32_t)i;
    mt->mti = 624;
}

void nn_mt_init_by_array(nn_mt19937 *mt, const uint32_t *key, int len)
{
    nn_mt_init_genrand(mt, 19650218u);
    uint32_t *m = mt->mt;
    int i = 1, j = 0;
    for (int k = 624 > len ? 624 : len; k; k--) {
        m[i] = (m[i] ^ ((m[i - 1] ^ (m[i - 1] >> 30)) * 1664525u)) + key[j] + (uint32_t)j;
        i++;
        j++;
        if (i >= 624) {
            m[0] = m[623];
            i = 1;
        }
        if (j >= len) j = 0;
    }
    for (int k = 623; k; k--) {
        m[i] = (m[i] ^ ((m[i - 1] ^ (m[i - 1] >> 30)) * 1566083941u)) - (uint32_t)i;
        i++;
        if (i >= 624) {
            m[0] = m[623];
            i = 1;
        }
    }
    m[0] = 0x80000000u;
    mt->mti = 624;
}

static void mt_twist(nn_mt19937 *mt)
{
    uint32_t *m = mt->mt;
    for (int k = 0; k < 624; k++) {
        uint32_t y = (m[k] & 0x80000000u) | (m[(k + 1) % 624] & 0x7fffffffu);
        m[k] = m[(k + 397) % 624] ^ (y >> 1) ^ ((y & 1u) ? 0x9908b0dfu : 0u);
    }
    mt->mti = 0;
}

uint32_t nn_mt_next(nn_mt19937 *mt)
{
    if (mt->mti >= 624) mt_twist(mt);
    uint32_t y = mt->mt[mt->mti++];
    y ^= y >> 11;
    y ^= (y << 7) & 0x9d2c5680u;
    y ^= (y << 15) & 0xefc60000u;
    y ^= y >> 18;
    return y;
}

/* ---- xoshiro256** ------------------------------------------------------------------- */

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static inline uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

static uint64_t xoshiro_next(uint64_t *s)
{
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

/* ---- the public stream -------------------------------------------------------------- */

void nn_rng_seed(nn_rng *r, int torch, uint64_t seed)
{
    r->torch = torch;
    r->has_cached_normal = 0;
    r->cached_normal = 0;
    /* torch's manual_seed keeps the low 32 bits for MT19937's init_genrand */
    nn_mt_init_genrand(&r->mt, (uint32_t)seed);
    uint64_t x = seed;
    for (int i = 0; i < 4; i++)
        r->s[i] = splitmix64(&x);
}

uint32_t nn_rng_u32(nn_rng *r)
{
    return r->torch ? nn_mt_next(&r->mt) : (uint32_t)(xoshiro_next(r->s) >> 32);
}

double nn_rng_double(nn_rng *r)
{
    uint64_t v;
    if (r->torch) {
        uint64_t hi = nn_mt_next(&r->mt), lo = nn_mt_next(&r->mt);
        v = (hi << 32) | lo;
    } else {
        v = xoshiro_next(r->s);
    }
    return (double)(v & ((1ull << 53) - 1)) * 0x1p-53;
}

/* torch's float uniform: 24 random bits of one u32 */
static float torch_uniform_f(nn_rng *r)
{
    return (float)(nn_mt_next(&r->mt) & 0xffffffu) * 0x1p-24f;
}

/* torch normal_fill_16: Box–Muller over a block of 16 uniforms, in float */
static void torch_normal_fill_16(float *d)
{
    for (int j = 0; j < 8; j++) {
        float u1 = 1.0f - d[j], u2 = d[j + 8];
        float radius = sqrtf(-2.0f * logf(u1));
        float theta = 2.0f * (float)M_PI * u2;
        d[j] = radius * cosf(theta);
        d[j + 8] = radius * sinf(theta);
    }
}

/* torch's scalar normal path (tensors of fewer than 16 elements): double Box–Muller
 * with the second value cached in the generator.  Not verified against torch. */
static double torch_normal_scalar(nn_rng *r)
{
    if (r->has_cached_normal) {
        r->has_cached_normal = 0;
        return r->cached_normal;
    }
    double u1 = nn_rng_double(r), u2 = nn_rng_double(r);
    double radius = sqrt(-2.0 * log1p(-u2));
    double theta = 2.0 * M_PI * u1;
    r->cached_normal = radius * sin(theta);
    r->has_cached_normal = 1;
    return radius * cos(theta);
}

void nn_rng_randn(nn_rng *r, float *out, size_t n)
{
    if (r->torch) {
        if (n < 16) {
            for (size_t i = 0; i < n; i++)
                out[i] = (float)torch_normal_scalar(r);
            return;
        }
        for (size_t i = 0; i < n; i++)
            out[i] = torch_uniform_f(r);
        for (size_t i = 0; i + 16 <= n; i += 16)
            torch_normal_fill_16(out + i);
        if (n % 16) {
            float *tail = out + n - 16; /* torch redraws the last 16 slots as one block */
            for (int i = 0; i < 16; i++)
                tail[i] = torch_uniform_f(r);
            torch_normal_fill_16(tail);
        }
        return;
    }
    for (size_t i = 0; i < n; i += 2) {
        double u1 = ((double)(xoshiro_next(r->s) >> 11) + 1.0) * 0x1p-53; /* (0, 1] */
        double u2 = (double)(xoshiro_next(r->s) >> 11) * 0x1p-53;
        double radius = sqrt(-2.0 * log(u1));
        out[i] = (float)(radius * cos(2.0 * M_PI * u2));
        if (i + 1 < n) out[i + 1] = (float)(radius * sin(2.0 * M_PI * u2));
    }
}

uint32_t nn_rng_randint(nn_rng *r, uint32_t n)
{
    if (r->torch) return nn_mt_next(&r->mt) % n;
    /* Lemire's nearly-divisionless unbiased bounded integer */
    uint64_t m = (uint64_t)(uint32_t)(xoshiro_next(r->s) >> 32) * n;
    uint32_t low = (uint32_t)m;
    if (low < n) {
        uint32_t t = (uint32_t)(-n) % n;
        while (low < t) {
            m = (uint64_t)(uint32_t)(xoshiro_next(r->s) >> 32) * n;
            low = (uint32_t)m;
        }
    }
    return (uint32_t)(m >> 32);
}

/* As torch's multinomial_with_replacement on the CPU: a float cumulative sum normalised
 * by its total, a 53-bit uniform, and the first bucket whose cumulative value reaches it. */
int nn_rng_multinomial(nn_rng *r, const float *p, int n, float *cum)
{
    float sum = 0;
    for (int j = 0; j < n; j++) {
        sum += p[j];
        cum[j] = sum;
    }
    if (sum > 0)
        for (int j = 0; j < n; j++)
            cum[j] /= sum;
    cum[n - 1] = 1.0f;
    double u = nn_rng_double(r);
    int lo = 0, hi = n;
    while (hi - lo > 0) {
        int mid = lo + (hi - lo) / 2;
        if ((double)cum[mid] < u)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < n ? lo : n - 1;
}

int nn_rng_multinomial_norep(nn_rng *r, const float *p, int n)
{
    int best = 0;
    float top = -1.0f;
    for (int j = 0; j < n; j++) {
        float e = (float)-log1p(-nn_rng_double(r));
        float q = p[j] / e;
        if (q > top) top = q, best = j; /* NaN never wins, the first maximum does */
    }
    return best;
}

/* ---- CPython's random.shuffle ------------------------------------------------------- */

static uint32_t py_getrandbits(nn_mt19937 *mt, int k)
{
    return nn_mt_next(mt) >> (32 - k);
}

static uint32_t py_randbelow(nn_mt19937 *mt, uint32_t n)
{
    int k = 0;
    for (uint32_t v = n; v; v >>= 1)
        k++; /* n.bit_length() */
    uint32_t x = py_getrandbits(mt, k);
    while (x >= n)
        x = py_getrandbits(mt, k);
    return x;
}

void nn_python_shuffle(uint64_t seed, long *idx, long n)
{
    /* random.seed(int): init_by_array over the 32-bit words of |seed|, low word first */
    uint32_t key[2] = {(uint32_t)seed, (uint32_t)(seed >> 32)};
    nn_mt19937 mt;
    nn_mt_init_by_array(&mt, key, key[1] ? 2 : 1);
    for (long i = n - 1; i >= 1; i--) {
        long j = (long)py_randbelow(&mt, (uint32_t)(i + 1));
        long t = idx[i];
        idx[i] = idx[j];
        idx[j] = t;
    }
}
