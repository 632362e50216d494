/* html_seq.c — report.html's figures of sequence models from stats.json "sequence"
 * (stats_seq.c): the loss per position, the attention maps of the first and last
 * attention layer for a few items (one small heatmap per head), and the residual stream's
 * and LayerNorms' mean and std in graph order. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/report/html_int.h"
#include "runtime/report/svg.h"

static int positions_fig(FILE *f, const nn_jdoc *j, json_t *o, const char *split)
{
    double *loss = NULL, mean = NAN;
    long n = 0;
    if (nn_jget_nums(j, json_object_get(o, "loss"), "sequence/positions/loss", 1, &loss, &n) < 0 ||
        nn_jget_num(j, o, "sequence/positions", "mean", &mean) < 0) {
        free(loss);
        return -1;
    }
    double *x = malloc(((size_t)n + 1) * sizeof *x);
    if (!x || n == 0) {
        free(loss), free(x);
        return 0;
    }
    for (long t = 0; t < n; t++)
        x[t] = (double)t;
    nn_svg s;
    nn_svg_init(&s, f, "fig-positions", 560, 300);
    s.x = (nn_svg_axis){-0.5, (double)n - 0.5, 0};
    s.y = nn_svg_empty_axis(0);
    nn_svg_fit(&s.y, loss, n);
    nn_svg_fit(&s.y, &mean, 1);
    nn_svg_pad(&s.y, 0.08);
    nn_fig_open(f, "fig-positions", "Loss per position", 0);
    nn_svg_begin(&s, "mean cross-entropy at each position");
    nn_svg_axes(&s, "position (0: after the start token)", "cross-entropy");
    if (isfinite(mean)) nn_svg_hline(&s, mean, 0x888888, "6 4");
    nn_svg_line(&s, x, loss, n, nn_svg_palette(0), 1.8, NULL, 1);
    nn_svg_points(&s, x, loss, n, nn_svg_palette(0), 3, 1, 'o');
    nn_svg_end(&s);
    char cap[512], m[32];
    snprintf(cap, sizeof cap,
             "The mean cross-entropy at each position of the %s split (evaluation mode), over "
             "the positions that are not ignored; dashed: their token-weighted mean %s, the "
             "split's loss. Position 0 predicts the first letter from the start token alone "
             "(the hardest guess); later positions see more of the word. Positions past the "
             "longest words have few targets and a noisy mean.",
             split, nn_fmt_num(m, sizeof m, mean));
    nn_fig_close(f, cap);
    free(loss), free(x);
    return 0;
}

/* One head's map: rows = query positions, columns = key positions, darker = more weight. */
static void head_map(FILE *f, const double *m, long L, json_t *tokens, const char *title)
{
    const double cell = L <= 10 ? 16 : 11;
    nn_svg s;
    nn_svg_init(&s, f, "fig-att", 0, 0);
    s.ml = 18, s.mt = 18, s.mr = 4, s.mb = 4;
    s.w = (int)(s.ml + s.mr + cell * (double)L + 0.5);
    s.h = (int)(s.mt + s.mb + cell * (double)L + 0.5);
    s.x = (nn_svg_axis){0, (double)L, 0};
    s.y = (nn_svg_axis){0, (double)L, 0};
    s.flip_y = 1;
    s.nogrid = 1;
    nn_svg_begin(&s, title);
    fputs(NN_SVG_CELLS_OPEN, f);
    for (long r = 0; r < L; r++)
        for (long c = 0; c < L; c++)
            nn_svg_rect(&s, (double)c, (double)r, c + 1.0, r + 1.0,
                        nn_svg_cmap(NN_CMAP_BLUES, isfinite(m[r * L + c]) ? m[r * L + c] : 0), 1);
    fputs("</g>\n", f);
    const char *lab[64];
    for (long i = 0; i < L && i < 64; i++)
        lab[i] = json_string_value(json_array_get(tokens, (size_t)i));
    nn_svg_cat_ticks(&s, 1, lab, (int)(L < 64 ? L : 64), 9);
    nn_svg_cat_ticks(&s, 0, lab, (int)(L < 64 ? L : 64), 9);
    nn_svg_end(&s);
}

static int attention_fig(FILE *f, const nn_jdoc *j, json_t *o)
{
    json_t *layers = json_object_get(o, "layers"), *items = json_object_get(o, "items");
    if (!json_is_array(layers) || !json_is_array(items))
        return nn_jdoc_bad(j, "sequence/attention", "expected layers and items arrays");
    nn_fig_open(f, "fig-attention", "Attention maps", 1);
    int rc = 0;
    for (size_t w = 0; rc == 0 && w < json_array_size(items); w++) {
        json_t *it = json_array_get(items, w), *tokens = json_object_get(it, "tokens");
        json_t *maps = json_object_get(it, "maps");
        long L = (long)json_array_size(tokens);
        if (!json_is_array(tokens) || !json_is_array(maps) || L == 0 || L > 64 ||
            json_array_size(maps) != json_array_size(layers)) {
            char at[64];
            snprintf(at, sizeof at, "sequence/attention/items/%zu", w);
            rc = nn_jdoc_bad(j, at, "expected tokens and one list of heads per layer");
            break;
        }
        fputs("<div class=\"att-item\">", f);
        for (size_t a = 0; rc == 0 && a < json_array_size(maps); a++) {
            json_t *heads = json_array_get(maps, a);
            fprintf(f, "<div class=\"att-row\"><span class=\"att-label\">");
            for (long t = 1; t < L; t++) /* the item itself: its tokens after the start */
                nn_html_esc(f, json_string_value(json_array_get(tokens, (size_t)t)));
            fputs(" \xc2\xb7 ", f);
            nn_html_esc(f, json_string_value(json_array_get(layers, a)));
            fputs("</span>", f);
            for (size_t h = 0; rc == 0 && h < json_array_size(heads); h++) {
                char at[96], title[160];
                snprintf(at, sizeof at, "sequence/attention/items/%zu/maps/%zu/%zu", w, a, h);
                double *m = NULL;
                long k = 0;
                json_t *rows = json_array_get(heads, h);
                double *v = malloc((size_t)(L * L) * sizeof *v);
                for (long r = 0; v && r < L && rc == 0; r++) {
                    char ar[120];
                    snprintf(ar, sizeof ar, "%s/%ld", at, r);
                    if (nn_jget_nums(j, json_array_get(rows, (size_t)r), ar, 1, &m, &k) < 0)
                        rc = -1;
                    else if (k != L)
                        rc = nn_jdoc_bad(j, ar, "expected %ld weights, one per position", L);
                    else
                        memcpy(v + r * L, m, (size_t)L * sizeof *v);
                    free(m);
                    m = NULL;
                }
                if (rc == 0 && v) {
                    snprintf(title, sizeof title, "head %zu", h);
                    fprintf(f, "<span class=\"att-head\">head %zu", h);
                    head_map(f, v, L, tokens, title);
                    fputs("</span>", f);
                }
                free(v);
            }
            fputs("</div>", f);
        }
        fputs("</div>\n", f);
    }
    nn_fig_close(f, "Attention weights of the first and the last attention layer, one map per "
                    "head, for the first items of the split: row = the position that looks "
                    "(the query), column = the position looked at, darker = more weight; each "
                    "row sums to 1 and, with the causal mask, nothing lies right of the "
                    "diagonal. '.' is the start token.");
    return rc;
}

static int stream_fig(FILE *f, const nn_jdoc *j, json_t *arr)
{
    long n = json_is_array(arr) ? (long)json_array_size(arr) : 0;
    if (n == 0)
        return json_is_array(arr) ? 0 : nn_jdoc_bad(j, "sequence/stream", "expected an array");
    double *x = malloc((size_t)n * sizeof *x), *mean = malloc((size_t)n * sizeof *mean);
    double *sd = malloc((size_t)n * sizeof *sd);
    const char **names = malloc((size_t)n * sizeof *names);
    int rc = x && mean && sd && names ? 0 : -1;
    for (long i = 0; rc == 0 && i < n; i++) {
        char at[64];
        snprintf(at, sizeof at, "sequence/stream/%ld", i);
        json_t *e = json_array_get(arr, (size_t)i);
        x[i] = (double)i;
        mean[i] = sd[i] = NAN;
        if (nn_jget_str(j, e, at, "name", &names[i]) < 1 ||
            nn_jget_num(j, e, at, "mean", &mean[i]) < 0 || nn_jget_num(j, e, at, "std", &sd[i]) < 0)
            rc = rc ? rc : nn_jdoc_bad(j, at, "expected name, mean and std");
    }
    if (rc == 0) {
        nn_svg s;
        nn_svg_init(&s, f, "fig-stream", 900, 340);
        s.mb = 150; /* the names, turned */
        s.x = (nn_svg_axis){-0.5, (double)n - 0.5, 0};
        s.y = nn_svg_empty_axis(0);
        nn_svg_fit(&s.y, mean, n);
        nn_svg_fit(&s.y, sd, n);
        double z = 0;
        nn_svg_fit(&s.y, &z, 1);
        nn_svg_pad(&s.y, 0.08);
        nn_fig_open(f, "fig-stream", "Residual stream and LayerNorm outputs", 1);
        nn_svg_begin(&s, "mean and std of the residual stream and of each LayerNorm output");
        nn_svg_axes(&s, NULL, "value");
        nn_svg_line(&s, x, sd, n, nn_svg_palette(0), 1.8, NULL, 1);
        nn_svg_points(&s, x, sd, n, nn_svg_palette(0), 3, 1, 'o');
        nn_svg_line(&s, x, mean, n, nn_svg_palette(1), 1.8, "5 3", 1);
        nn_svg_points(&s, x, mean, n, nn_svg_palette(1), 3, 1, 's');
        for (long i = 0; i < n; i++) {
            double px = nn_svg_px(&s, (double)i), py = s.h - s.mb + 8;
            fprintf(f,
                    "<text x=\"%.1f\" y=\"%.1f\" font-size=\"9\" text-anchor=\"end\" "
                    "transform=\"rotate(-60 %.1f %.1f)\">",
                    px, py, px, py);
            nn_html_esc(f, names[i]);
            fputs("</text>\n", f);
        }
        const char *labels[] = {"std", "mean"}, *dash[] = {NULL, "5 3"};
        unsigned cols[] = {nn_svg_palette(0), nn_svg_palette(1)};
        nn_svg_legend(&s, labels, cols, dash, 2, NN_LEGEND_INSIDE);
        nn_svg_end(&s);
        nn_fig_close(f, "Mean and standard deviation over every feature of the non-ignored "
                        "positions of the split, after each residual add (the residual stream, "
                        "block by block) and after each LayerNorm, in the order the model runs "
                        "them. LayerNorm outputs sit near mean 0, std 1 times their gain; a "
                        "residual stream whose std grows block after block is the usual "
                        "picture of pre-LayerNorm transformers.");
    }
    free(x), free(mean), free(sd), free(names);
    return rc;
}

int nn_report_sequence(FILE *f, const nn_jdoc *j)
{
    json_t *o = json_object_get(j->root, "sequence");
    if (!o || json_is_null(o)) return 0;
    if (!json_is_object(o)) return nn_jdoc_bad(j, "sequence", "expected an object");
    const char *split = "evaluated";
    if (nn_jget_str(j, o, "sequence", "split", &split) < 0) return -1;
    nn_fig_section("Sequence");
    json_t *p = json_object_get(o, "positions"), *a = json_object_get(o, "attention");
    json_t *st = json_object_get(o, "stream");
    if (p && positions_fig(f, j, p, split) < 0) return -1;
    if (a && attention_fig(f, j, a) < 0) return -1;
    if (st && stream_fig(f, j, st) < 0) return -1;
    return 0;
}
