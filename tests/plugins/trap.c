/* trap.c — a test plugin with side effects (tests/test_trust.c, tests/test_faults.c).
 *
 * - Its constructor creates the file $NNRUN_TRAP_FILE the moment the library is loaded:
 *   named in the spec stored inside a model file, it shows whether `nnrun sample` ran code
 *   the file named.
 * - `stopper` raises SIGTERM at its $NNRUN_STOP_AT_CALL-th call (as a Ctrl-C would, at a
 *   point that does not depend on timing), and SIGSTOP at its $NNRUN_PAUSE_AT_CALL-th (the
 *   run freezes mid-training, its directory in use, until SIGCONT); `nanner` returns NaN
 *   from its $NNRUN_NAN_AT_CALL-th call on.
 * Each activation is otherwise softsign, in the scalar form. */
#include <fcntl.h>
#include <math.h>
#include <nnrun/plugin.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>

NNRUN_PLUGIN_ABI_EXPORT;

__attribute__((constructor)) static void trap_loaded(void)
{
    const char *path = getenv("NNRUN_TRAP_FILE");
    if (!path) return;
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) close(fd);
}

static long env_long(const char *name)
{
    const char *v = getenv(name);
    return v ? atol(v) : 0;
}

static float softsign(float x)
{
    return x / (1.0f + fabsf(x));
}

float trap(float x)
{
    return softsign(x);
}

float trap_grad(float x, float y)
{
    (void)y;
    float a = 1.0f + fabsf(x);
    return 1.0f / (a * a);
}

static atomic_long stopper_calls, nanner_calls;

float stopper(float x)
{
    long at = env_long("NNRUN_STOP_AT_CALL"), pause = env_long("NNRUN_PAUSE_AT_CALL");
    long call = atomic_fetch_add(&stopper_calls, 1) + 1;
    if (call == at) raise(SIGTERM);
    if (call == pause) raise(SIGSTOP);
    return softsign(x);
}

float nanner(float x)
{
    long at = env_long("NNRUN_NAN_AT_CALL");
    if (at > 0 && atomic_fetch_add(&nanner_calls, 1) + 1 >= at) return NAN;
    return softsign(x);
}
