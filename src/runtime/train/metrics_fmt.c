/* metrics_fmt.c — number formats of the metrics files (see metrics_fmt.h). */
#include "runtime/train/metrics_fmt.h"

#include <stdio.h>
#include <string.h>

int nn_fmt_g9(char *buf, double v)
{
    return snprintf(buf, 32, "%.9g", v);
}

int nn_fmt_json_real(char *buf, int n)
{
    /* the rules of jansson's jsonp_dtostr (a C locale: the decimal point is '.') */
    if (!strchr(buf, '.') && !strchr(buf, 'e')) {
        buf[n++] = '.';
        buf[n++] = '0';
        buf[n] = 0;
    }
    char *start = strchr(buf, 'e');
    if (start) {
        start++;
        char *end = start + 1;
        if (*start == '-') start++;
        while (*end == '0')
            end++;
        if (end != start) {
            memmove(start, end, (size_t)(n - (end - buf)) + 1);
            n -= (int)(end - start);
        }
    }
    return n;
}
