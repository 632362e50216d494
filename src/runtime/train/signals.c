/* signals.c — what happens on SIGINT and SIGTERM: the first asks the run to stop after the
 * step in flight (run control then writes a checkpoint and the run exits 128 + signal,
 * resumable with --resume); a second ends the process at once, abandoning any checkpoint
 * being written (declared in runctl.h).  SIGPIPE — the reader of the progress lines went
 * away (`nnrun SPEC | head`) — stops the run the same way, once: the checkpoint, metrics
 * and report are written, the lines that follow are lost, and the exit status is 141. */
#include <signal.h>
#include <string.h>

#include "runtime/store/safetensors.h"
#include "runtime/train/runctl.h"

static volatile sig_atomic_t caught;

static void on_signal(int sig)
{
    if (sig == SIGPIPE) { /* every later write to the pipe fails (EPIPE), harmlessly */
        if (!caught) caught = sig;
        return;
    }
    if (caught) { /* the second signal: no checkpoint, end now (exit status 128 + sig) */
        nn_st_abandon();
        signal(sig, SIG_DFL);
        raise(sig);
        return;
    }
    caught = sig;
}

void nn_runctl_catch_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sa.sa_flags = SA_RESTART; /* progress writes continue: the step in flight finishes */
    sigemptyset(&sa.sa_mask);
    static const int sigs[3] = {SIGINT, SIGTERM, SIGPIPE};
    for (int i = 0; i < 3; i++) {
        struct sigaction old;
        /* a signal the caller ignores (a background job's SIGINT) stays ignored */
        if (sigaction(sigs[i], NULL, &old) == 0 && old.sa_handler == SIG_IGN) continue;
        sigaction(sigs[i], &sa, NULL);
    }
}

int nn_runctl_signal(void)
{
    return caught;
}
