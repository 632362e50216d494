/* sweep_int.h — a sweep directory read back (sweep_summary.c), shared with the report
 * (sweep_report.c). */
#ifndef NN_SWEEP_INT_H
#define NN_SWEEP_INT_H

typedef enum { NN_CELL_PENDING = 0, NN_CELL_DONE, NN_CELL_FAILED } nn_cell_status;

typedef struct {
    int index;
    char id[16];
    char **values; /* per axis, as written; NULL: the point has no such axis */
    nn_cell_status status;
    double loss[3]; /* train, dev, test */
    int has[3];
    double acc[3]; /* classifiers: the accuracy per split (NaN: none) */
    long steps;
    double wall;
    char *error; /* failed cells */
} nn_sweep_row;

typedef struct {
    char *name;
    char **axes;
    int naxes;
    nn_sweep_row *rows; /* DONE and FAILED cells, ranked */
    int nrows, ncells;
    int key; /* the split rows are ranked by: 1 dev, else 2 test, else 0 train */
} nn_sweep;

/* Cells that differ only in their seed: means and sample standard deviations. */
typedef struct {
    int first; /* the group's best row */
    int n;     /* cells */
    int cnt[3];
    double sum[3], sum2[3], mean[3], std[3];
} nn_sweep_group;

int nn_sweep_read(const char *dir, nn_sweep *s);
void nn_sweep_free(nn_sweep *s);
/* The index of the axis named "seed", or −1. */
int nn_sweep_seed_axis(const nn_sweep *s);
/* The groups over the seed axis, ranked by their mean (malloc'd in *out). */
int nn_sweep_groups(const nn_sweep *s, nn_sweep_group **out);
/* DIR/report.html (sweep_report.c): the cells' curves coloured by axis `colour_axis` (an
 * index into s->axes), the ranked loss against each axis, the table with links. */
int nn_sweep_report(const char *dir, const nn_sweep *s, int colour_axis);

#endif
