/* cmd_inspect.c — the subcommands that open a spec's model without a run directory:
 * check (every cell of a matrix), graph, bench, gradcheck. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "kernels/kernels.h"
#include "parser/matrix.h"
#include "runtime/cli/cli.h"
#include "runtime/train/profile.h"
#include "runtime/train/gradcheck.h"
#include "runtime/report/graphviz.h"

/* --- check ------------------------------------------------------------------------- */

/* What check says of a model that loaded: its size and data. */
static json_t *model_json(const nn_cli_model *m)
{
    const nn_dataset *ds = m->ds;
    return json_pack("{s:I, s:i, s:{s:I, s:I, s:I}}", "params", (json_int_t)nn_trainer_params(m->tr)->count,
                     "vocab", ds->vocab, "examples", "train", (json_int_t)ds->split[0].n, "dev",
                     (json_int_t)ds->split[1].n, "test", (json_int_t)ds->split[2].n);
}

/* One spec (c->point: one matrix cell): 0 fine, 2 errors (in d; *info: the model's). */
static int check_one(const nn_cli *c, nn_diag *d, json_t **info)
{
    nn_cli_model m;
    if (nn_cli_model_open(c, &m, d) != 0) return NN_EXIT_INPUT;
    *info = model_json(&m);
    char what[64] = ""; /* as the run's data line: vocabulary (text) or classes */
    if (m.ds->kind == NN_DATASET_TEXT)
        snprintf(what, sizeof what, ", vocabulary %d", m.ds->vocab);
    else if (m.ds->vocab > 1)
        snprintf(what, sizeof what, ", %d classes", m.ds->vocab);
    if (!c->json && !c->point)
        printf("%s: ok (%ld parameters%s, examples %ld / %ld / %ld)\n", c->spec,
               nn_trainer_params(m.tr)->count, what, m.ds->split[0].n, m.ds->split[1].n,
               m.ds->split[2].n);
    nn_cli_model_close(&m);
    return NN_EXIT_OK;
}

/* A matrix: every cell's spec, data and model. */
static int check_cells(nn_cli *c, const nn_matrix *mx, json_t *out)
{
    json_t *cells = json_array(), *diags = json_object_get(out, "diagnostics");
    int bad = 0;
    for (int p = 0; p < mx->npoints; p++) {
        nn_diag *d = nn_diag_new();
        json_t *info = NULL;
        if (!d) return NN_EXIT_RUN;
        c->point = p + 1, c->point_label = mx->label[p];
        int rc = check_one(c, d, &info);
        json_t *cd = nn_cli_diag_json(d);
        json_t *cell = json_pack("{s:i, s:s, s:s, s:b}", "index", p, "id", mx->id[p], "label",
                                 mx->label[p], "ok", rc == 0);
        if (rc == 0 && !c->json)
            printf("%s: cell %d %s (%s): ok (%lld parameters)\n", c->spec, p, mx->id[p],
                   mx->label[p], (long long)json_integer_value(json_object_get(info, "params")));
        if (info) json_object_update(cell, info);
        json_decref(info);
        json_object_set(cell, "diagnostics", cd);
        json_array_extend(diags, cd);
        json_decref(cd);
        json_array_append_new(cells, cell);
        if (rc != 0) nn_diag_print(d, stderr);
        bad += rc != 0;
        nn_diag_free(d);
    }
    c->point = 0, c->point_label = NULL;
    if (!bad && !c->json) printf("%s: ok (%d cells)\n", c->spec, mx->npoints);
    json_object_set_new(out, "ok", json_boolean(!bad));
    json_object_set_new(out, "cells", cells);
    return bad ? NN_EXIT_INPUT : NN_EXIT_OK;
}

/* `nnrun check`: a verdict (text, or JSON with every diagnostic), or the resolved spec. */
int nn_cmd_check(nn_cli *c)
{
    nn_diag *d = nn_diag_new();
    if (!d) return NN_EXIT_RUN;
    int rc;
    if (c->resolved) {
        nn_cli_model m;
        rc = nn_cli_model_open(c, &m, d) != 0        ? nn_cli_fail_input(d)
             : nn_spec_emit(m.spec, stdout) == 0 ? NN_EXIT_OK
                                                 : NN_EXIT_RUN;
        nn_cli_model_close(&m);
        nn_diag_free(d);
        return rc;
    }
    json_t *out = json_pack("{s:s, s:b, s:[]}", "spec", c->spec, "ok", 0, "diagnostics");
    nn_matrix *mx = nn_matrix_load(c->spec, c->sets, c->nsets, d);
    if (mx && mx->npoints > 0) {
        rc = check_cells(c, mx, out);
    } else {
        json_t *info = NULL;
        rc = mx ? check_one(c, d, &info) : NN_EXIT_INPUT;
        if (info) json_object_update(out, info);
        json_decref(info);
        json_object_set_new(out, "ok", json_boolean(rc == 0));
        json_object_set_new(out, "diagnostics", nn_cli_diag_json(d));
        if (rc != 0) nn_diag_print(d, stderr); /* stderr says it too, with the source line */
    }
    nn_matrix_free(mx);
    nn_diag_free(d);
    if (c->json && nn_cli_print_json(out) != 0) return NN_EXIT_RUN;
    if (!c->json) json_decref(out);
    return rc;
}

/* --- graph, bench, gradcheck -------------------------------------------------------- */

typedef int (*model_cmd)(nn_cli *c, nn_cli_model *m);

static int with_model(nn_cli *c, model_cmd fn)
{
    nn_diag *d = nn_diag_new();
    if (!d) return NN_EXIT_RUN;
    nn_cli_model m;
    int rc = nn_cli_model_open(c, &m, d) != 0 ? nn_cli_fail_input(d) : fn(c, &m);
    nn_cli_model_close(&m);
    nn_diag_free(d);
    return rc;
}

/* Text, --json, --plan, or DOT with values after one forward/backward. */
static int graph(nn_cli *c, nn_cli_model *m)
{
    nn_trainer *tr = m->tr;
    if (!nn_trainer_graph(tr, NN_TRAINING) && c->json)
        return nn_cli_print_json(json_pack("{s:s, s:i, s:[], s:[]}", "spec", c->spec, "ngram",
                                           nn_trainer_spec(tr)->layers[0].n, "nodes", "tensors")) == 0
                   ? NN_EXIT_OK
                   : NN_EXIT_RUN;
    if (!nn_trainer_graph(tr, NN_TRAINING)) {
        printf("%s: the counting model (ngram) has no graph: it counts %d-grams over the "
               "training split\n",
               c->spec, nn_trainer_spec(tr)->layers[0].n);
        return NN_EXIT_OK;
    }
    if (c->json) {
        json_t *g = nn_graph_json(nn_trainer_graph(tr, NN_TRAINING));
        json_t *j = g ? json_pack("{s:s}", "spec", c->spec) : NULL;
        if (j) json_object_update(j, g);
        json_decref(g);
        return nn_cli_print_json(j) == 0 ? NN_EXIT_OK : NN_EXIT_RUN;
    }
    if (!c->dot && !c->plan) {
        nn_graph_print(nn_trainer_graph(tr, NN_TRAINING), stdout);
        return NN_EXIT_OK;
    }
    if (c->plan) {
        nn_plan_print(nn_trainer_plan(tr, NN_TRAINING), nn_trainer_params(tr), stdout);
        return NN_EXIT_OK;
    }
    nn_plan *p = NULL;
    int rows = c->values ? nn_trainer_probe(tr, 4, &p) : 0;
    int rc = rows < 0 ? -1 : nn_graph_dot(nn_trainer_graph(tr, NN_TRAINING), p, rows, stdout);
    nn_plan_free(p);
    return rc == 0 ? NN_EXIT_OK : NN_EXIT_RUN;
}

int nn_cmd_graph(nn_cli *c)
{
    return with_model(c, graph);
}

/* Training steps only, one JSON line with the contract's keys (with or without --json). */
static int bench(nn_cli *c, nn_cli_model *m)
{
    long steps = c->steps ? c->steps : 2000;
    double median = 0, secs = nn_trainer_bench(m->tr, steps, &median);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    json_t *j = json_pack("{s:f, s:f, s:f, s:I, s:s, s:i, s:I, s:s}", "steps_per_second",
                          secs > 0 ? (double)steps / secs : 0.0, "us_per_step",
                          secs * 1e6 / (double)steps, "us_per_step_median", median * 1e6,
                          "peak_rss_bytes", (json_int_t)ru.ru_maxrss * 1024, "isa", nn_k->isa,
                          "threads", c->threads, "steps", (json_int_t)steps, "name",
                          m->spec->name);
    char *text = j ? json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    if (text) printf("%s\n", text);
    free(text);
    json_decref(j);
    return text ? NN_EXIT_OK : NN_EXIT_RUN;
}

static json_t *profile_json(const nn_cli_model *m, const nn_profile *p)
{
    static const char *const phase[] = {"batch", "forward", "backward", "update"};
    json_t *rows = json_array();
    for (int i = 0; rows && i < p->nrows; i++) {
        const nn_profile_row *r = &p->row[i];
        double g = r->us > 0 ? r->flops / r->us * 1e-3 : 0, peak = p->peak_gflops * p->threads;
        json_array_append_new(rows, json_pack("{s:i, s:s, s:s, s:f, s:f, s:f, s:f}", "step",
                                              r->step, "phase", phase[r->phase], "name", r->name,
                                              "us", r->us, "flops", r->flops, "gflops", g,
                                              "peak_fraction", peak > 0 ? g / peak : 0.0));
    }
    return json_pack("{s:s, s:s, s:i, s:I, s:f, s:f, s:o}", "name", m->spec->name, "isa",
                     nn_k->isa, "threads", p->threads, "steps", (json_int_t)p->steps,
                     "us_per_step_median", p->step_us, "fma_peak_gflops_per_core",
                     p->peak_gflops, "parts", rows ? rows : json_array());
}

/* bench --profile: where the step's time goes. */
static int profile(nn_cli *c, nn_cli_model *m)
{
    nn_profile p;
    if (nn_trainer_profile(m->tr, c->steps ? c->steps : 200, &p) != 0) {
        fprintf(stderr, "nnrun: error: bench --profile needs a model with a graph (and memory)\n");
        return NN_EXIT_RUN;
    }
    int rc = NN_EXIT_OK;
    if (c->json) {
        if (nn_cli_print_json(profile_json(m, &p)) != 0) rc = NN_EXIT_RUN;
    } else {
        printf("profile of %s: ", m->spec->name);
        nn_profile_print(&p, 10, stdout);
    }
    nn_profile_free(&p);
    return rc;
}

int nn_cmd_bench(nn_cli *c)
{
    return with_model(c, c->profile ? profile : bench);
}

static json_t *gradcheck_json(const nn_cli *c, const nn_gradcheck_result *r)
{
    json_t *rows = json_array();
    for (int i = 0; rows && i < r->nrows; i++) {
        const nn_gradcheck_row *w = &r->row[i];
        json_t *shape = json_array();
        for (int k = 0; shape && k < w->ndim; k++)
            json_array_append_new(shape, json_integer(w->dim[k]));
        json_array_append_new(
            rows, json_pack("{s:s, s:o, s:I, s:I, s:f, s:f, s:f, s:b}", "name", w->name, "shape",
                            shape ? shape : json_array(), "checked", (json_int_t)w->checked,
                            "numel", (json_int_t)w->numel, "worst_relative_error", w->worst,
                            "analytic", w->analytic, "numeric", w->numeric, "ok", w->ok));
    }
    return json_pack("{s:s, s:b, s:i, s:f, s:b, s:o}", "spec", c->spec, "ok", r->bad == 0, "rows",
                     r->rows, "tolerance", r->tol, "counting_model", r->counting, "parameters",
                     rows ? rows : json_array());
}

/* Analytic gradients against central differences; exit 1 above the tolerance. */
static int gradcheck(nn_cli *c, nn_cli_model *m)
{
    nn_gradcheck_result r;
    if (nn_gradcheck_run(m->tr, c->tolerance > 0 ? c->tolerance : NN_GRADCHECK_TOL, &r) != 0) {
        fprintf(stderr, "nnrun: error: out of memory in gradcheck\n");
        return NN_EXIT_RUN;
    }
    int rc = r.bad ? NN_EXIT_RUN : NN_EXIT_OK;
    if (c->json) {
        if (nn_cli_print_json(gradcheck_json(c, &r)) != 0) rc = NN_EXIT_RUN;
    } else {
        nn_gradcheck_print(&r, stdout);
    }
    nn_gradcheck_result_free(&r);
    return rc;
}

int nn_cmd_gradcheck(nn_cli *c)
{
    return with_model(c, gradcheck);
}
