/* overlay.h — several runs' curves on one plot, read from their run directories: the
 * compare page (`nnrun compare`, html_compare.c) and a sweep's report.html
 * (sweep/sweep_report.c).  Each curve means what it means in a run's report.html: the
 * minibatch loss smoothed the same way (the mean of log10(loss) over windows of steps/200
 * steps), the split losses and accuracies at evaluation points. */
#ifndef NN_OVERLAY_H
#define NN_OVERLAY_H

#include <stdio.h>

#include "parser/diag.h"

/* One run's curves from RUN_DIR/metrics.csv (all empty when the run has none). */
typedef struct {
    long nsm;        /* the smoothed minibatch loss */
    double *sx, *sy; /* mean step, loss (10^(mean log10)) */
    long nev;        /* evaluation rows */
    double *es;      /* their steps */
    double *ev[3];   /* split losses: train, dev, test (NaN: not evaluated) */
    double *ea[3];   /* split accuracies (NaN: none, or no classifier) */
} nn_run_curves;

/* 0, or −1 with an error in d (metrics.csv unreadable or malformed). */
int nn_run_curves_read(const char *run_dir, nn_run_curves *c, nn_diag *d);
void nn_run_curves_free(nn_run_curves *c);

/* What a figure draws each run with, and its legend: one entry per run (compare) or per
 * value of a sweep's axis (the runs coloured by it). */
typedef struct {
    const char *id;            /* the figure's id: fig-ID */
    const char *caption;       /* NULL: the default one */
    const unsigned *rgb;       /* each run's colour */
    const char *const *legend; /* entries, with their colours */
    const unsigned *legend_rgb;
    int nlegend;
    const char *objective; /* summary.json's objective: the loss axis's label */
} nn_overlay;

/* The loss figure: each run's smoothed minibatch loss as a line in its colour, its dev and
 * test losses at evaluations as markers (squares, triangles), on a log axis.  Nothing when
 * no run has a loss curve. */
void nn_overlay_loss(FILE *f, const nn_run_curves *runs, int n, const nn_overlay *o);
/* The accuracy figure (classifiers): each run's split accuracies at evaluations, markers
 * joined by lines.  Nothing when no run has an accuracy. */
void nn_overlay_accuracy(FILE *f, const nn_run_curves *runs, int n, const nn_overlay *o);

#endif
