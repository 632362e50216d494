/* summary.h — summary.json (the contract's keys: DESIGN.md) and samples.txt of a run. */
#ifndef NN_SUMMARY_H
#define NN_SUMMARY_H

#include "runtime/train/train.h"

typedef struct {
    int threads;
    const char *isa;
} nn_run_info;

/* summary.json as a string (the contract's keys); malloc'd. */
char *nn_summary_json(const nn_spec *spec, const nn_dataset *ds, const nn_trainer *tr,
                      const nn_result *r, const nn_run_info *info);
/* Whether a finished run diverged: its final training loss (the train split's, else the
 * last step's) ends more than NN_DIVERGED times above where it began (the step-0 loss, and
 * for a softmax over K classes at least ln K, a uniform guess).  1 with the reason in
 * `why` ("train loss 3183 at the end, 958 times its start 3.324 ..."), else 0. */
#define NN_DIVERGED 2.0
int nn_run_diverged(const nn_spec *spec, const nn_dataset *ds, const nn_result *r, char *why,
                    size_t n);
/* Writes DIR/summary.json and DIR/samples.txt.  Returns 0 or −1 (errno set). */
int nn_rundir_write_results(const char *dir, const char *summary_json, const nn_result *r);

#endif
