/* metrics_fmt.h — numbers as metrics.csv and metrics.jsonl write them, without building a
 * JSON object per row (200,000 rows in a lesson-4 run). */
#ifndef NN_METRICS_FMT_H
#define NN_METRICS_FMT_H

#include <stddef.h>

/* v as "%.9g" (what the CSV writes) into buf (≥ 32 bytes); returns the length. */
int nn_fmt_g9(char *buf, double v);
/* Turns the "%.9g" text of a finite value (length n, in buf ≥ 32 bytes) into the bytes
 * jansson writes for json_real(v) with JSON_REAL_PRECISION(9): ".0" added when there is no
 * '.' or 'e', and the exponent without '+' or leading zeros.  Returns the new length. */
int nn_fmt_json_real(char *buf, int n);

#endif
