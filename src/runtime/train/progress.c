/* progress.c — the progress lines of a run (see progress.h). */
#include "runtime/train/progress.h"

#include <math.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

double nn_now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

void nn_live_show(nn_live_line *lv, FILE *f, long i, long steps, float loss, double lr, double t0)
{
    double now = nn_now_seconds(), rate = now > t0 ? (double)(i - lv->start) / (now - t0) : 0;
    if (now - lv->shown < 0.2) return;
    lv->shown = now;
    double eta = rate > 0 ? (double)(steps - i) / rate : 0;
    char line[256];
    int n =
        snprintf(line, sizeof line, "%7ld/%ld %5.1f%%  %.0f steps/s  loss %.4f  lr %g  ETA %.0fs",
                 i, steps, 100.0 * (double)i / (double)steps, rate, loss, lr, eta);
    /* cut to the terminal's width: a line that wraps cannot be cleared by \r and leaves a
     * trail of copies in a narrow terminal */
    struct winsize ws;
    if (ioctl(fileno(f), TIOCGWINSZ, &ws) == 0 && ws.ws_col > 1 && n >= ws.ws_col)
        n = ws.ws_col - 1;
    fprintf(f, "\r\033[K%.*s", n < 0 ? 0 : n, line);
    fflush(f);
}

void nn_live_clear(const nn_live_line *lv, FILE *f)
{
    if (lv->on) fputs("\r\033[K", f);
}

void nn_progress_step(const nn_run_opts *o, long i, long steps, float l)
{
    fprintf(o->progress, "%7ld/%7ld: %.4f\n", i, steps, l);
    fflush(o->progress);
}

void nn_progress_eval(const nn_run_opts *o, long step, long steps, const double *loss,
                      const double *acc, double lr, double rate)
{
    fprintf(o->progress, "%7ld/%7ld  eval", step, steps);
    static const char *names[] = {"train", "dev", "test"};
    for (int s = 0; s < NN_SPLIT_COUNT; s++) {
        if (isnan(loss[s])) continue;
        fprintf(o->progress, "  %s %.4f", names[s], loss[s]);
        if (acc && isfinite(acc[s])) fprintf(o->progress, " (%.1f%%)", 100 * acc[s]);
    }
    fprintf(o->progress, "  lr %g  %.0f steps/s\n", lr, rate);
    fflush(o->progress);
}
