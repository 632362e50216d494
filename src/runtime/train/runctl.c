/* runctl.c — checkpoints, stopping and resuming around the step loop (see runctl.h). */
#include "runtime/train/runctl.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runtime/store/checkpoint.h"
#include "runtime/store/rundir.h"
#include "runtime/train/dump.h"
#include "runtime/train/hooks.h"
#include "runtime/train/metrics_file.h"

struct nn_runctl {
    nn_trainer *tr;
    char *dir;
    long every, stop_after, start;
    int resume, keep_best;
    double best_dev;
    long csv_bytes, jsonl_bytes; /* the metrics files' lengths at the resumed checkpoint */
    double ema, beta_pow, step0, last;
    long dump_step; /* −1: none */
    int attached;   /* to tr, as a hook (hooks.h) */
    const char *want_hash; /* the checkpoint's spec hash (extended: the run's before) */
    long ended_at;         /* extended: the run's train.steps before (−1: not extended) */
    int spec_pending;      /* extended: spec.resolved.yaml still holds the run's old spec */
};

/* model.safetensors (or model_best) of the trainer's model after `step` steps */
static int write_model(const nn_runctl *c, const char *path, long step)
{
    nn_model_ref m = nn_trainer_model(c->tr);
    return nn_ckpt_write_model(&m, path, step);
}

static void path_in(const nn_runctl *c, const char *name, char *buf, size_t size)
{
    snprintf(buf, size, "%s/%s", c->dir, name);
}

/* %a keeps every bit of a double; strtod reads it back (and "nan", "inf") */
static void put_double(char *buf, double v)
{
    snprintf(buf, 40, "%a", v);
}

static int meta_double(const nn_st_file *f, const char *key, double *out)
{
    const char *s = nn_st_meta_get(f, key);
    char *end;
    if (!s) return -1;
    *out = strtod(s, &end);
    return *end ? -1 : 0;
}

static int meta_long(const nn_st_file *f, const char *key, long *out)
{
    const char *s = nn_st_meta_get(f, key);
    char *end;
    if (!s) return -1;
    errno = 0;
    *out = strtol(s, &end, 10);
    return *end || errno || *out < 0 ? -1 : 0;
}

/* --- writing ----------------------------------------------------------------------- */

static int write_state(nn_runctl *c, long done, long csv_bytes, long jsonl_bytes)
{
    const nn_params *P = nn_trainer_params(c->tr);
    const nn_rng *r = nn_trainer_rng(c->tr);
    nn_st_tensor *t = calloc((size_t)P->n * 2 + 2, sizeof *t);
    char(*names)[64] = calloc((size_t)P->n * 2 + 1, sizeof *names);
    int n = 0, rc = -1;
    if (t && names) {
        for (int i = 0; i < P->n; i++) {
            const nn_param *p = &P->p[i];
            const float *arr[2] = {p->velocity, p->sq};
            static const char *suffix[2] = {"velocity", "sq"};
            for (int k = 0; k < 2; k++) {
                if (!arr[k]) continue;
                snprintf(names[n], 64, "%s.%s", p->name, suffix[k]);
                t[n] = (nn_st_tensor){names[n], NN_ST_F32, p->ndim, {0}, arr[k]};
                for (int j = 0; j < p->ndim; j++)
                    t[n].dim[j] = p->dim[j];
                n++;
            }
        }
        t[n++] = (nn_st_tensor){"rng.mt", NN_ST_U32, 1, {624}, r->mt.mt};
        t[n++] = (nn_st_tensor){"rng.xoshiro", NN_ST_U64, 1, {4}, r->s};
        char v[14][40], hash[17];
        snprintf(v[0], 40, "%ld", done);
        snprintf(v[1], 40, "%ld", P->adam_t);
        snprintf(v[2], 40, "%d", r->mt.mti);
        snprintf(v[3], 40, "%d", r->torch);
        snprintf(v[4], 40, "%d", r->has_cached_normal);
        put_double(v[5], r->cached_normal);
        put_double(v[6], c->ema);
        put_double(v[7], c->beta_pow);
        put_double(v[8], c->step0);
        snprintf(v[9], 40, "%ld", csv_bytes);
        snprintf(v[10], 40, "%ld", jsonl_bytes);
        put_double(v[11], c->best_dev);
        put_double(v[12], c->last);
        nn_st_meta m[] = {
            {"format", "nnrun-training-state"},
            {"spec_hash", nn_spec_hash(nn_trainer_spec(c->tr), hash)},
            {"step", v[0]},
            {"adam_t", v[1]},
            {"rng.mti", v[2]},
            {"rng.torch", v[3]},
            {"rng.has_cached_normal", v[4]},
            {"rng.cached_normal", v[5]},
            {"smooth.ema", v[6]},
            {"smooth.beta_pow", v[7]},
            {"loss.step0", v[8]},
            {"metrics_csv_bytes", v[9]},
            {"metrics_jsonl_bytes", v[10]},
            {"best_dev", v[11]},
            {"loss.last", v[12]},
        };
        char path[4200];
        path_in(c, "training.safetensors", path, sizeof path);
        rc = nn_st_write(path, t, n, m, (int)(sizeof m / sizeof *m));
    }
    free(t);
    free(names);
    return rc;
}

/* hook save: writes the checkpoint after st->step steps (the metrics rows so far written) */
static int save(void *ctx, const nn_train_state *st)
{
    nn_runctl *c = ctx;
    long done = st->step;
    c->ema = st->ema, c->beta_pow = st->beta_pow, c->step0 = st->res->step0,
    c->last = st->res->last;
    long csv = -1, jsonl = -1;
    if (st->metrics_csv && fflush(st->metrics_csv) == 0) csv = ftell(st->metrics_csv);
    if (st->metrics_jsonl && fflush(st->metrics_jsonl) == 0) jsonl = ftell(st->metrics_jsonl);
    char path[4200];
    path_in(c, "model.safetensors", path, sizeof path);
    errno = 0;
    /* the model first: a crash between the two leaves steps that disagree, which resume
     * refuses, rather than a state that silently belongs to other weights */
    if (write_model(c, path, done) != 0 || write_state(c, done, csv, jsonl) != 0) {
        fprintf(stderr, "nnrun: error: cannot write the checkpoint in '%s': %s\n", c->dir,
                errno ? strerror(errno) : "out of memory");
        return -1;
    }
    /* an extended run's spec goes with its first checkpoint: until then the directory's
     * spec and checkpoint are the run's old ones, and --resume --steps can be tried again */
    if (c->spec_pending && nn_rundir_write_resolved(c->dir, nn_trainer_spec(c->tr)) != 0)
        return -1;
    c->spec_pending = 0;
    return 0;
}

/* hook at_end: the counting model (no steps, no training state) writes model.safetensors
 * with its counts; a model that steps wrote its last checkpoint after its last step */
static int at_end(void *ctx)
{
    nn_runctl *c = ctx;
    if (!nn_trainer_ngram(c->tr)) return 0;
    char path[4200];
    path_in(c, "model.safetensors", path, sizeof path);
    errno = 0;
    if (write_model(c, path, 0) == 0) return 0;
    fprintf(stderr, "nnrun: error: cannot write '%s': %s\n", path,
            errno ? strerror(errno) : "out of memory");
    return -1;
}

/* hook after_step: a checkpoint every checkpoint.every steps and after the last; with a
 * stop (a signal, --stop-after) one now */
static int after_step(void *ctx, long done, long steps)
{
    const nn_runctl *c = ctx;
    if (nn_runctl_signal() || (c->stop_after > 0 && done - c->start >= c->stop_after && done < steps))
        return NN_HOOK_SAVE | NN_HOOK_STOP;
    if (done == steps || (c->every > 0 && done % c->every == 0)) return NN_HOOK_SAVE;
    return 0;
}

/* hook at_eval: with checkpoint.keep: best, a better dev loss saves model_best */
static void at_eval(void *ctx, long step, const double loss[NN_SPLIT_COUNT])
{
    nn_runctl *c = ctx;
    double dev = loss[NN_SPLIT_DEV];
    if (!c->keep_best || !isfinite(dev) || (isfinite(c->best_dev) && dev >= c->best_dev)) return;
    c->best_dev = dev;
    char path[4200];
    path_in(c, "model_best.safetensors", path, sizeof path);
    errno = 0;
    if (write_model(c, path, step) != 0)
        fprintf(stderr, "nnrun: warning: cannot write '%s': %s\n", path,
                errno ? strerror(errno) : "out of memory");
}

void nn_runctl_dump_at(nn_runctl *c, long step)
{
    c->dump_step = step;
}

/* hook before_step: --dump-step K writes dump.safetensors before step K */
static int before_step(void *ctx, long step)
{
    nn_runctl *c = ctx;
    if (step != c->dump_step) return 0;
    char path[4200];
    path_in(c, "dump.safetensors", path, sizeof path);
    errno = 0;
    if (nn_dump_step(c->tr, path, step) != 0)
        fprintf(stderr, "nnrun: warning: cannot write '%s': %s\n", path,
                errno ? strerror(errno) : "out of memory");
    return 0;
}

/* --- resuming ---------------------------------------------------------------------- */

static int bad_state(const char *path, const char *what, nn_diag *d)
{
    nn_diag_error(d, (nn_mark){path, 0, 0}, "not a usable nnrun training state: %s", what);
    return -1;
}

/* Optimizer and RNG state, step and loop state from training.safetensors. */
static int load_state(nn_runctl *c, const nn_st_file *f, nn_diag *d)
{
    const char *path = nn_st_path(f);
    nn_params *P = nn_trainer_params(c->tr);
    nn_rng *r = nn_trainer_rng(c->tr);
    long step, adam_t, mti, torch, cached, csv, jsonl;
    if (meta_long(f, "step", &step) || meta_long(f, "adam_t", &adam_t) ||
        meta_long(f, "rng.mti", &mti) || meta_long(f, "rng.torch", &torch) ||
        meta_long(f, "rng.has_cached_normal", &cached) ||
        meta_double(f, "rng.cached_normal", &r->cached_normal) ||
        meta_double(f, "smooth.ema", &c->ema) || meta_double(f, "smooth.beta_pow", &c->beta_pow) ||
        meta_double(f, "loss.step0", &c->step0) || meta_double(f, "loss.last", &c->last) ||
        meta_double(f, "best_dev", &c->best_dev) || meta_long(f, "metrics_csv_bytes", &csv) ||
        meta_long(f, "metrics_jsonl_bytes", &jsonl))
        return bad_state(path, "a metadata entry is missing or not a number", d);
    if (mti > 624 || torch != r->torch || step > nn_trainer_spec(c->tr)->train.steps)
        return bad_state(path, "its RNG kind or step does not fit this spec", d);
    const nn_st_tensor *mt = nn_st_find(f, "rng.mt"), *xs = nn_st_find(f, "rng.xoshiro");
    if (!mt || mt->dtype != NN_ST_U32 || mt->ndim != 1 || mt->dim[0] != 624 || !xs ||
        xs->dtype != NN_ST_U64 || xs->ndim != 1 || xs->dim[0] != 4)
        return bad_state(path, "rng.mt (U32 [624]) or rng.xoshiro (U64 [4]) is missing", d);
    memcpy(r->mt.mt, mt->data, sizeof r->mt.mt);
    memcpy(r->s, xs->data, sizeof r->s);
    r->mt.mti = (int)mti;
    r->has_cached_normal = cached != 0;
    P->adam_t = adam_t;
    int rc = 0;
    for (int i = 0; i < P->n; i++) {
        nn_param *p = &P->p[i];
        float *arr[2] = {p->velocity, p->sq};
        static const char *suffix[2] = {"velocity", "sq"};
        for (int k = 0; k < 2; k++) {
            if (!arr[k]) continue;
            char name[64];
            snprintf(name, sizeof name, "%s.%s", p->name, suffix[k]);
            nn_param view = *p;
            view.data = arr[k];
            size_t l = strlen(name) < sizeof view.name ? strlen(name) : sizeof view.name - 1;
            memcpy(view.name, name, l); /* the name shown in errors */
            view.name[l] = 0;
            if (nn_ckpt_load_tensor(&view, f, name, (nn_mark){path, 0, 0}, d) != 0) rc = -1;
        }
    }
    c->start = step, c->csv_bytes = csv, c->jsonl_bytes = jsonl;
    return rc;
}

static int load_checkpoint(nn_runctl *c, nn_diag *d)
{
    char mpath[4200], spath[4200], hash[17];
    path_in(c, "model.safetensors", mpath, sizeof mpath);
    path_in(c, "training.safetensors", spath, sizeof spath);
    nn_spec_hash(nn_trainer_spec(c->tr), hash);
    if (c->want_hash) snprintf(hash, sizeof hash, "%s", c->want_hash);
    nn_st_file *m = nn_st_read(mpath, d), *s = m ? nn_st_read(spath, d) : NULL;
    int rc = -1;
    if (!m || !s) goto done;
    const char *mh = nn_st_meta_get(m, "spec_hash"), *sh = nn_st_meta_get(s, "spec_hash");
    const char *ms = nn_st_meta_get(m, "step"), *ss = nn_st_meta_get(s, "step");
    if (!mh || !sh || strcmp(mh, hash) || strcmp(sh, hash)) {
        nn_diag_error(d, (nn_mark){mpath, 0, 0},
                      "the checkpoint was made by another spec (spec_hash %s; this spec's is %s)",
                      mh ? mh : "missing", hash);
        nn_diag_note(d, "resume with the run's own spec: %s/spec.resolved.yaml, and the same --set",
                     c->dir);
        goto done;
    }
    if (!ms || !ss || strcmp(ms, ss)) {
        nn_diag_error(d, (nn_mark){spath, 0, 0},
                      "model.safetensors (step %s) and training.safetensors (step %s) are from "
                      "different checkpoints",
                      ms ? ms : "?", ss ? ss : "?");
        goto done;
    }
    rc =
        nn_ckpt_load_params(nn_trainer_params(c->tr), m, (nn_mark){mpath, 0, 0}, d) != 0 ? -1 : load_state(c, s, d);
done:
    nn_st_free(m);
    nn_st_free(s);
    return rc;
}

/* hook start: a resumed run continues from its checkpoint's step and state */
static void start(void *ctx, nn_train_state *st)
{
    nn_runctl *c = ctx;
    if (!c->resume) return;
    st->step = c->start;
    st->eval_now = c->ended_at >= 0 && c->start == c->ended_at;
    st->ema = c->ema, st->beta_pow = c->beta_pow;
    st->res->step0 = c->step0, st->res->last = c->last;
}

static const nn_train_hooks runctl_hooks = {
    .start = start,
    .before_step = before_step,
    .at_eval = at_eval,
    .after_step = after_step,
    .save = save,
    .at_end = at_end,
};

static nn_runctl *runctl_open(nn_trainer *tr, const char *dir, int resume,
                              const nn_runctl_ext *ext, long stop_after, nn_diag *d)
{
    nn_runctl *c = calloc(1, sizeof *c);
    if (!c || !(c->dir = strdup(dir))) {
        free(c);
        return NULL;
    }
    c->tr = tr;
    c->every = nn_trainer_spec(tr)->checkpoint.every;
    c->keep_best = nn_trainer_spec(tr)->checkpoint.keep_best;
    c->stop_after = stop_after;
    c->resume = resume;
    c->best_dev = NAN;
    c->beta_pow = 1;
    c->step0 = NAN;
    c->dump_step = -1;
    c->want_hash = ext ? ext->hash : NULL;
    c->ended_at = ext ? ext->old_steps : -1;
    c->spec_pending = ext != NULL;
    if (resume && nn_trainer_ngram(tr)) { /* it counts in one go: no steps, no training state */
        nn_diag_error(d, (nn_mark){dir, 0, 0},
                      "the counting model (ngram) takes no steps: there is nothing to resume; "
                      "run the spec again");
        nn_runctl_free(c);
        return NULL;
    }
    if ((resume && load_checkpoint(c, d) != 0) || nn_trainer_attach(tr, &runctl_hooks, c) != 0) {
        nn_runctl_free(c);
        return NULL;
    }
    c->attached = 1;
    return c;
}

nn_runctl *nn_runctl_new(nn_trainer *tr, const char *dir, int resume, long stop_after, nn_diag *d)
{
    return runctl_open(tr, dir, resume, NULL, stop_after, d);
}

nn_runctl *nn_runctl_new_extended(nn_trainer *tr, const char *dir, const nn_runctl_ext *ext,
                                  long stop_after, nn_diag *d)
{
    return runctl_open(tr, dir, 1, ext, stop_after, d);
}

void nn_runctl_free(nn_runctl *c)
{
    if (!c) return;
    if (c->attached) nn_trainer_detach(c->tr, c);
    free(c->dir);
    free(c);
}

FILE *nn_runctl_open_metrics(nn_runctl *c, const char *name)
{
    char path[4200];
    path_in(c, name, path, sizeof path);
    FILE *f = NULL;
    struct stat st;
    long keep = !strcmp(name, "metrics.csv") ? c->csv_bytes : c->jsonl_bytes;
    if (!c->resume) {
        if ((f = fopen(path, "w"))) return f;
        fprintf(stderr, "nnrun: error: cannot open '%s' for writing: %s\n", path, strerror(errno));
        return NULL;
    }
    /* rows written after the checkpoint (a run killed later) go: they are computed again */
    if (keep < 0) {
        fprintf(stderr,
                "nnrun: error: cannot resume: the checkpoint in '%s' records no length "
                "of %s (it could not be written then)\n",
                c->dir, name);
        return NULL;
    }
    if (stat(path, &st) == 0 && st.st_size < keep) {
        fprintf(stderr,
                "nnrun: error: cannot resume: '%s' holds %lld bytes, fewer than the %ld "
                "of the checkpoint\n",
                path, (long long)st.st_size, keep);
        return NULL;
    }
    if (truncate(path, keep) == 0 && (f = fopen(path, "a"))) return f;
    fprintf(stderr,
            "nnrun: error: cannot resume: '%s' cannot be cut back to the checkpoint's "
            "%ld bytes and appended to: %s\n",
            path, keep, strerror(errno));
    return NULL;
}

int nn_runctl_checkpoint_step(const char *dir, const nn_spec *spec, long *step)
{
    char mpath[4200], spath[4200], hash[17];
    snprintf(mpath, sizeof mpath, "%s/model.safetensors", dir);
    snprintf(spath, sizeof spath, "%s/training.safetensors", dir);
    if (access(mpath, F_OK) != 0 || access(spath, F_OK) != 0) return -1;
    /* a damaged checkpoint, or one whose two files disagree (killed between them), is no
     * checkpoint: the cell starts afresh */
    nn_diag *d = nn_diag_new();
    nn_st_file *s = d ? nn_st_read(spath, d) : NULL, *m = s ? nn_st_read(mpath, d) : NULL;
    const char *sh = s ? nn_st_meta_get(s, "spec_hash") : NULL;
    const char *ss = s ? nn_st_meta_get(s, "step") : NULL;
    const char *ms = m ? nn_st_meta_get(m, "step") : NULL;
    int same = sh && ss && ms && !strcmp(ss, ms) && !strcmp(sh, nn_spec_hash(spec, hash));
    int rc = same && meta_long(s, "step", step) == 0 ? 0 : -1;
    nn_st_free(m);
    nn_st_free(s);
    nn_diag_free(d);
    return rc;
}

/* --- extending a run (--steps N) ---------------------------------------------------- */

int nn_runctl_extend_spec(const char *dir, nn_spec *spec, long more, nn_runctl_ext *ext,
                          nn_diag *d)
{
    char spath[4200], hash[17];
    snprintf(spath, sizeof spath, "%s/training.safetensors", dir);
    nn_mark at = {spath, 0, 0};
    if (spec->nlayers == 1 && spec->layers[0].kind == NN_LAYER_NGRAM) {
        nn_diag_error(d, (nn_mark){dir, 0, 0},
                      "the counting model (ngram) takes no steps: --steps cannot train it "
                      "further");
        return -1;
    }
    if (access(spath, F_OK) != 0) {
        nn_diag_error(d, (nn_mark){dir, 0, 0},
                      "no checkpoint to train further from: '%s' does not exist (a run "
                      "directory of a spec that takes steps has one after its end)",
                      spath);
        return -1;
    }
    nn_st_file *s = nn_st_read(spath, d);
    if (!s) return -1;
    const char *sh = nn_st_meta_get(s, "spec_hash");
    long step = -1;
    int rc = meta_long(s, "step", &step);
    if (rc == 0 && (!sh || strcmp(sh, nn_spec_hash(spec, hash)) != 0)) {
        nn_diag_error(d, at,
                      "the checkpoint was made by another spec (spec_hash %s; this spec's is "
                      "%s): --steps trains the run's own spec further",
                      sh ? sh : "missing", hash);
        nn_diag_note(d, "leave out the spec (nnrun --resume %s --steps N), or give the same "
                        "spec and --set",
                     dir);
        rc = -1;
    } else if (rc != 0) {
        bad_state(spath, "a metadata entry is missing or not a number", d);
    }
    if (rc == 0) {
        ext->step = step;
        ext->old_steps = spec->train.steps;
        snprintf(ext->hash, sizeof ext->hash, "%s", sh);
    }
    nn_st_free(s);
    if (rc != 0) return -1;
    const nn_lr_spec *lr = &spec->train.lr;
    long steps = step + more;
    if (steps != spec->train.steps &&
        (lr->kind == NN_LR_COSINE || lr->kind == NN_LR_LINEAR || lr->kind == NN_LR_FIND)) {
        static const char *name[] = {[NN_LR_COSINE] = "cosine", [NN_LR_LINEAR] = "linear",
                                     [NN_LR_FIND] = "find"};
        nn_diag_error(d, lr->mark,
                      "train.lr is a %s schedule over train.steps: training %ld steps past the "
                      "checkpoint (step %ld) would change the rate of every step already taken",
                      name[lr->kind], more, step);
        nn_diag_note(d, "a longer run of this spec: nnrun SPEC --set train.steps=%ld; or a "
                        "schedule that does not depend on the run's length (a constant, "
                        "steps, exponential)",
                     steps);
        return -1;
    }
    /* the metrics rows so far were written every nn_log_every(old steps) */
    if (spec->eval.log_every == 0 && nn_log_every(steps) != nn_log_every(spec->train.steps))
        spec->eval.log_every = nn_log_every(spec->train.steps);
    spec->train.steps = steps;
    return 0;
}
