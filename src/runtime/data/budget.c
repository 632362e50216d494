/* budget.c — the process-wide memory budget (--max-memory), and the check of one large
 * allocation against it (see budget.h). */
#include "runtime/data/budget.h"

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

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

/* "1.5 GiB (1610612736 bytes)" */
const char *nn_human_bytes(size_t n, char *buf, size_t len)
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

int nn_limits_check_bytes(size_t need, const char *what, nn_mark at, nn_diag *d)
{
    size_t limit = nn_limits_max_memory();
    if (need <= limit) return 0;
    char b[2][64];
    nn_diag_error(d, at, "%s needs %s, more than --max-memory %s", what,
                  nn_human_bytes(need, b[0], 64), nn_human_bytes(limit, b[1], 64));
    nn_diag_note(d, "raise --max-memory (default: 80%% of physical memory)");
    return -1;
}
