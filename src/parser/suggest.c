/* suggest.c — did-you-mean: the closest candidate by Damerau–Levenshtein distance
 * (optimal string alignment: insertions, deletions, substitutions and swaps of two
 * adjacent characters each cost 1), compared case-insensitively. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "diag.h"

#define NN_SUGGEST_MAXLEN 64 /* longer words are no typos of a key name */

static int lower(char c)
{
    return tolower((unsigned char)c);
}

static int min3(int a, int b, int c)
{
    int m = a < b ? a : b;
    return m < c ? m : c;
}

/* Optimal-string-alignment distance; both lengths ≤ NN_SUGGEST_MAXLEN. */
static int osa_distance(const char *a, int n, const char *b, int m)
{
    int d[NN_SUGGEST_MAXLEN + 1][NN_SUGGEST_MAXLEN + 1];
    for (int i = 0; i <= n; i++)
        d[i][0] = i;
    for (int j = 0; j <= m; j++)
        d[0][j] = j;
    for (int i = 1; i <= n; i++) {
        for (int j = 1; j <= m; j++) {
            int cost = lower(a[i - 1]) != lower(b[j - 1]);
            d[i][j] = min3(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
            if (i > 1 && j > 1 && lower(a[i - 1]) == lower(b[j - 2]) &&
                lower(a[i - 2]) == lower(b[j - 1]) && d[i - 2][j - 2] + 1 < d[i][j])
                d[i][j] = d[i - 2][j - 2] + 1;
        }
    }
    return d[n][m];
}

const char *nn_suggest(const char *word, const char *const *candidates)
{
    if (!word || !candidates) return NULL;
    int n = (int)strlen(word);
    if (n == 0 || n > NN_SUGGEST_MAXLEN) return NULL;
    int limit = n / 3 > 1 ? n / 3 : 1;
    const char *best = NULL;
    int best_d = limit + 1;
    for (const char *const *c = candidates; *c; c++) {
        int m = (int)strlen(*c);
        if (m > NN_SUGGEST_MAXLEN || abs(m - n) > limit) continue;
        int dist = osa_distance(word, n, *c, m);
        /* a one-letter word is "close" to every one-letter name: demand a real overlap */
        if (dist < best_d && dist < m) {
            best = *c;
            best_d = dist;
        }
    }
    return best;
}
