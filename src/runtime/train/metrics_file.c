/* metrics_file.c — writing metrics.csv and metrics.jsonl (see metrics_file.h). */
#include "runtime/train/metrics_file.h"

#include <errno.h>
#include <math.h>
#include <string.h>

#include "runtime/train/metrics_fmt.h"

const char nn_metrics_header[] =
    "step,lr,loss,train_loss,dev_loss,test_loss,elapsed_s,smooth_loss,steps_per_s,train_acc,"
    "dev_acc,test_acc,loss_log10_mean\n";

/* Writes the row to metrics.csv (empty cells for NaN) and metrics.jsonl (null for NaN,
 * 9 significant digits as the CSV's %.9g, so float values round-trip).  Called outside the
 * step body only.  Each number is printed once for both files, and the JSON line is the
 * text json_dumpf(JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(9)) writes
 * (metrics_fmt.h), without an object per row: a lesson-4 run writes 200,000 rows. */
static _Atomic int write_errno; /* the first failed write's (one writer at a time) */

void nn_metrics_write(const nn_run_opts *o, const nn_metrics_row *r)
{
    enum { NK = 12 };
    static const char *keys[NK] = {
        ",\"lr\":",        ",\"loss\":",      ",\"train_loss\":",  ",\"dev_loss\":",
        ",\"test_loss\":", ",\"elapsed_s\":", ",\"smooth_loss\":", ",\"steps_per_s\":",
        ",\"train_acc\":", ",\"dev_acc\":",   ",\"test_acc\":",    ",\"loss_log10_mean\":"};
    double v[NK] = {r->lr,     r->loss, r->split[0], r->split[1], r->split[2], r->elapsed,
                    r->smooth, r->rate, r->acc[0],   r->acc[1],   r->acc[2],   r->lmean};
    char csv[560], json[896], num[40];
    int nc = snprintf(csv, sizeof csv, "%ld", r->step);
    int nj = snprintf(json, sizeof json, "{\"step\":%ld", r->step);
    for (int k = 0; k < NK; k++) { /* appends: at most NK × (40 + 16) bytes */
        size_t kl = strlen(keys[k]);
        memcpy(json + nj, keys[k], kl);
        nj += (int)kl;
        if (!isfinite(v[k])) {
            csv[nc++] = ',';
            memcpy(json + nj, "null", 4);
            nj += 4;
            continue;
        }
        /* the learning rate repeats row after row: its text is kept.  Rows come from the
         * training thread or an evaluation thread (eval_bg), never both at once: the
         * trainer joins the evaluation thread before it writes a row itself. */
        static double last_lr = NAN;
        static char lr_text[40];
        static int lr_len;
        int n;
        if (k == 0 && memcmp(&v[0], &last_lr, sizeof last_lr) == 0) {
            memcpy(num, lr_text, (size_t)lr_len + 1);
            n = lr_len;
        } else {
            n = nn_fmt_g9(num, v[k]);
            if (k == 0) last_lr = v[0], lr_len = n, memcpy(lr_text, num, (size_t)n + 1);
        }
        if (k == 5 || k == 7) {
            nc += snprintf(csv + nc, sizeof csv - (size_t)nc, k == 5 ? ",%.3f" : ",%.1f", v[k]);
        } else {
            csv[nc++] = ',';
            memcpy(csv + nc, num, (size_t)n);
            nc += n;
        }
        n = nn_fmt_json_real(num, n);
        memcpy(json + nj, num, (size_t)n);
        nj += n;
    }
    csv[nc++] = '\n';
    json[nj++] = '}', json[nj++] = '\n';
    /* the errno is kept here: a later flush of a stream in error has none */
    errno = 0;
    if ((o->metrics_csv && fwrite(csv, 1, (size_t)nc, o->metrics_csv) != (size_t)nc) ||
        (o->metrics_jsonl && fwrite(json, 1, (size_t)nj, o->metrics_jsonl) != (size_t)nj))
        if (!write_errno) write_errno = errno;
}

nn_metrics_row nn_metrics_empty_row(long step)
{
    nn_metrics_row r = {step, NAN, NAN, NAN, {NAN, NAN, NAN}, NAN, NAN, NAN, {NAN, NAN, NAN}};
    return r;
}

long nn_log_every(long steps)
{
    if (steps <= 20000) return 1;
    long window = steps / 200, best = 1;
    for (long k = 1; k <= steps / 20000 && k <= window; k++)
        if (window % k == 0) best = k;
    return best;
}

/* The steps not yet in a row become one (its step: the last of them). */
static void close_row(nn_loss_log *log)
{
    if (!log->acc_n) return;
    int i = log->n++;
    log->step[i] = log->first - 1;
    log->loss[i] = log->pend[0], log->lr[i] = log->pend[1], log->smooth[i] = log->pend[2];
    log->lmean[i] = (float)(log->acc / (double)log->acc_n);
    log->acc = 0, log->acc_n = 0;
}

void nn_loss_log_add(nn_loss_log *log, float loss, float lr)
{
    long step = log->first;
    int own = log->mark > 0 && step % log->mark == 0; /* a row for this step alone */
    if (own) close_row(log);                            /* the steps before it first */
    log->ema = NN_SMOOTH_BETA * log->ema + (1 - NN_SMOOTH_BETA) * loss;
    log->beta_pow *= NN_SMOOTH_BETA;
    log->pend[0] = loss, log->pend[1] = lr;
    log->pend[2] = (float)(log->ema / (1 - log->beta_pow));
    log->acc += loss > 0 ? log10((double)loss) : NAN;
    log->acc_n++;
    long every = log->every > 0 ? log->every : 1;
    if (++log->first % every == 0 || own) close_row(log);
}

void nn_loss_log_flush(nn_loss_log *log, const nn_run_opts *o)
{
    close_row(log);
    for (int i = 0; i < log->n; i++) {
        nn_metrics_row r = nn_metrics_empty_row(log->step[i]);
        r.lr = log->lr[i];
        r.loss = log->loss[i];
        r.smooth = log->smooth[i];
        r.lmean = log->lmean[i];
        nn_metrics_write(o, &r);
    }
    log->n = 0;
}

void nn_metrics_flush(const nn_run_opts *o)
{
    if (o->metrics_csv) fflush(o->metrics_csv);
    if (o->metrics_jsonl) fflush(o->metrics_jsonl);
}

int nn_metrics_failed(const nn_run_opts *o)
{
    FILE *f[2] = {o->metrics_csv, o->metrics_jsonl};
    for (int k = 0; k < 2; k++) {
        errno = 0;
        if (f[k] && (fflush(f[k]) != 0 || ferror(f[k]))) {
            if (!write_errno) write_errno = errno;
            return 1;
        }
    }
    return 0;
}

int nn_metrics_errno(int reset)
{
    int e = write_errno;
    if (reset) write_errno = 0;
    return e;
}
