/* dirlock.h — one writer per directory: an advisory lock (flock) on DIR/.nnrun.lock, held
 * until the process ends.  A run takes its run directory's, a sweep its directory's and
 * each cell's, so a second nnrun into a directory in use stops before it touches a file
 * there.  The kernel drops a flock when its holder dies: a lock file left by a killed
 * process never blocks anyone. */
#ifndef NN_DIRLOCK_H
#define NN_DIRLOCK_H

#include "parser/diag.h"

#define NN_DIRLOCK_FILE ".nnrun.lock"

/* Takes DIR's lock, exclusive or `shared` (several shared holders may hold it at once, no
 * exclusive one beside them), without waiting.  Taking a lock this process already holds
 * succeeds.  Returns 0; 1 when another process holds it (*holder: its pid, as it wrote it
 * into the lock file, or 0 when unknown); −1 on an error (errno set). */
int nn_dirlock(const char *dir, int shared, long *holder);
/* Gives back DIR's lock if this process holds it. */
void nn_dirlock_release(const char *dir);
/* nn_dirlock with the error in `d` at `at`: "'DIR' is in use by another nnrun (pid N)".
 * `what` names the directory's kind ("output directory", "sweep directory", ...). */
int nn_dirlock_claim(const char *dir, int shared, const char *what, nn_mark at, nn_diag *d);

#endif
