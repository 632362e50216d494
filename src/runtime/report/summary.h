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
/* Writes DIR/summary.json and DIR/samples.txt.  Returns 0 or −1 (errno set). */
int nn_rundir_write_results(const char *dir, const char *summary_json, const nn_result *r);

#endif
