/* yaml_flat.h — a YAML file as flat `path = value` pairs, in the file's order: map keys and
 * 0-based sequence indices joined by dots (`model.0.linear.out`, as --set paths name
 * them).  A sequence of scalars is one value written `[a, b]`; an empty map `{}`, an empty
 * sequence `[]`; a quoted scalar keeps its double quotes.  `nnrun compare` shows the
 * differences between runs' spec.resolved.yaml with it. */
#ifndef NN_YAML_FLAT_H
#define NN_YAML_FLAT_H

#include "diag.h"

typedef struct {
    char *path, *value;
} nn_yflat_pair;

typedef struct {
    nn_yflat_pair *p;
    int n, cap;
} nn_yflat;

/* Reads and flattens FILE into *out (zeroed first); 0, or −1 with the error in `d` (an
 * unreadable file, a YAML syntax error at its line:col). */
int nn_yflat_file(const char *file, nn_yflat *out, nn_diag *d);
void nn_yflat_free(nn_yflat *f);

#endif
