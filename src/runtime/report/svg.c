/* svg.c — the SVG toolkit for report.html (see svg.h). */
#include "runtime/report/svg.h"

#include <math.h>
#include <string.h>

void nn_html_esc(FILE *f, const char *s)
{
    char p1 = 0, p2 = 0; /* the two characters before *s */
    for (; s && *s; p2 = p1, p1 = *s++) {
        unsigned char c = (unsigned char)*s;
        switch (c) {
        case '&': fputs("&amp;", f); break;
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '"': fputs("&quot;", f); break;
        case '\'': fputs("&#39;", f); break;
        /* "scheme://" never appears literally: the page holds no URLs, even in text */
        case '/': fputs(p1 == ':' || (p1 == '/' && p2 == ':') ? "&#47;" : "/", f); break;
        default:
            /* C0 controls (and DEL) are not allowed in HTML text */
            fputc((c < 0x20 && c != '\n' && c != '\t') || c == 0x7f ? '?' : c, f);
        }
    }
}

const char *nn_fmt_num(char *buf, size_t n, double v)
{
    if (!isfinite(v))
        snprintf(buf, n, "\xe2\x80\x94"); /* an em dash */
    else if (v == 0)
        snprintf(buf, n, "0");
    else
        snprintf(buf, n, "%.4g", v);
    return buf;
}

void nn_svg_init(nn_svg *s, FILE *f, const char *id, int w, int h)
{
    memset(s, 0, sizeof *s);
    s->f = f;
    s->w = w;
    s->h = h;
    s->ml = 62;
    s->mr = 16;
    s->mt = 14;
    s->mb = 44;
    s->x = s->y = (nn_svg_axis){0, 1, 0};
    snprintf(s->clip, sizeof s->clip, "clip-%s", id);
}

nn_svg_axis nn_svg_empty_axis(int log)
{
    return (nn_svg_axis){INFINITY, -INFINITY, log};
}

void nn_svg_fit(nn_svg_axis *a, const double *v, long n)
{
    for (long i = 0; i < n; i++) {
        if (!isfinite(v[i]) || (a->log && v[i] <= 0)) continue;
        if (v[i] < a->lo) a->lo = v[i];
        if (v[i] > a->hi) a->hi = v[i];
    }
}

void nn_svg_pad(nn_svg_axis *a, double frac)
{
    if (!(a->lo <= a->hi)) *a = (nn_svg_axis){a->log ? 0.1 : 0, 1, a->log};
    if (a->log) {
        double l = log10(a->lo), h = log10(a->hi), p = h > l ? (h - l) * frac : 0.5;
        a->lo = pow(10, l - p);
        a->hi = pow(10, h + p);
        return;
    }
    double p = a->hi > a->lo ? (a->hi - a->lo) * frac : (fabs(a->lo) > 0 ? fabs(a->lo) * 0.1 : 1);
    a->lo -= p;
    a->hi += p;
}

static double tx(const nn_svg_axis *a, double v)
{
    return a->log ? log10(v) : v;
}

static double frac(const nn_svg_axis *a, double v)
{
    double l = tx(a, a->lo), h = tx(a, a->hi);
    return h > l ? (tx(a, v) - l) / (h - l) : 0.5;
}

double nn_svg_px(const nn_svg *s, double x)
{
    return s->ml + frac(&s->x, x) * (s->w - s->ml - s->mr);
}

double nn_svg_py(const nn_svg *s, double y)
{
    double f = frac(&s->y, y), ph = s->h - s->mt - s->mb;
    return s->flip_y ? s->mt + f * ph : s->h - s->mb - f * ph;
}

static int ok_pt(const nn_svg *s, double x, double y)
{
    return isfinite(x) && isfinite(y) && !(s->x.log && x <= 0) && !(s->y.log && y <= 0);
}

void nn_svg_begin(nn_svg *s, const char *title)
{
    fprintf(s->f,
            "<svg class=\"plot\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
            "role=\"img\" font-family=\"sans-serif\" font-size=\"11\">\n<title>",
            s->w, s->h, s->w, s->h);
    nn_html_esc(s->f, title);
    fprintf(s->f,
            "</title>\n<defs><clipPath id=\"%s\"><rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" "
            "height=\"%.1f\"/></clipPath></defs>\n",
            s->clip, s->ml, s->mt, s->w - s->ml - s->mr, s->h - s->mt - s->mb);
}

void nn_svg_end(nn_svg *s)
{
    fputs("</svg>\n", s->f);
}

/* Tick positions: 1-2-5 steps on a linear axis, powers of ten (with 2 and 5 between when
 * the range is short) on a log axis.  Returns the count (at most max). */
static int ticks(const nn_svg_axis *a, double *t, int max, int want)
{
    int n = 0;
    if (a->log) {
        int k0 = (int)floor(log10(a->lo)), k1 = (int)ceil(log10(a->hi));
        static const double sub[] = {1, 2, 5};
        int nsub = k1 - k0 <= 2 ? 3 : 1;
        for (int k = k0; k <= k1 && n < max; k++)
            for (int j = 0; j < nsub && n < max; j++) {
                double v = sub[j] * pow(10, k);
                if (v >= a->lo * (1 - 1e-9) && v <= a->hi * (1 + 1e-9)) t[n++] = v;
            }
        return n;
    }
    double span = a->hi - a->lo, raw = span / want, mag = pow(10, floor(log10(raw)));
    double step = raw / mag < 1.5   ? mag
                  : raw / mag < 3.5 ? 2 * mag
                  : raw / mag < 7.5 ? 5 * mag
                                    : 10 * mag;
    if (!(step > 0)) return 0;
    for (double v = ceil(a->lo / step - 1e-9) * step; v <= a->hi + step * 1e-9 && n < max;
         v += step)
        t[n++] = fabs(v) < step * 1e-9 ? 0 : v;
    return n;
}

void nn_svg_axes(nn_svg *s, const char *xlabel, const char *ylabel)
{
    FILE *f = s->f;
    double x0 = s->ml, x1 = s->w - s->mr, y0 = s->mt, y1 = s->h - s->mb, t[64];
    char b[32];
    int n = ticks(&s->x, t, 64, 6);
    fprintf(f, "<g stroke=\"#ddd\" stroke-width=\"1\"%s>",
            s->nogrid ? " stroke-opacity=\"0\"" : "");
    for (int i = 0; i < n; i++)
        fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>", nn_svg_px(s, t[i]),
                y0, nn_svg_px(s, t[i]), y1);
    int m = ticks(&s->y, t + n, 64 - n, 5);
    for (int i = n; i < n + m; i++)
        fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>", x0,
                nn_svg_py(s, t[i]), x1, nn_svg_py(s, t[i]));
    fputs("</g>\n<g fill=\"#333\">", f);
    for (int i = 0; i < n; i++)
        fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%s</text>",
                nn_svg_px(s, t[i]), y1 + 15, nn_fmt_num(b, sizeof b, t[i]));
    for (int i = n; i < n + m; i++)
        fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%s</text>", x0 - 5,
                nn_svg_py(s, t[i]) + 4, nn_fmt_num(b, sizeof b, t[i]));
    fputs("</g>\n", f);
    fprintf(f,
            "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"none\" "
            "stroke=\"#444\"/>\n",
            x0, y0, x1 - x0, y1 - y0);
    if (xlabel) {
        fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" fill=\"#000\">",
                (x0 + x1) / 2, y1 + 32);
        nn_html_esc(f, xlabel);
        fputs("</text>\n", f);
    }
    if (ylabel) {
        fprintf(f,
                "<text transform=\"translate(14 %.1f) rotate(-90)\" text-anchor=\"middle\" "
                "fill=\"#000\">",
                (y0 + y1) / 2);
        nn_html_esc(f, ylabel);
        fputs("</text>\n", f);
    }
}

void nn_svg_cat_ticks(nn_svg *s, int xaxis, const char *const *labels, int n, double size)
{
    fprintf(s->f, "<g fill=\"#333\" font-size=\"%.1f\">", size);
    for (int i = 0; i < n; i++) {
        if (xaxis)
            fprintf(s->f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">",
                    nn_svg_px(s, i + 0.5), s->mt - 4);
        else
            fprintf(s->f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">", s->ml - 4,
                    nn_svg_py(s, i + 0.5) + size / 3);
        nn_html_esc(s->f, labels[i]);
        fputs("</text>", s->f);
    }
    fputs("</g>\n", s->f);
}

static void colour_attr(FILE *f, const char *attr, unsigned rgb)
{
    fprintf(f, " %s=\"#%06x\"", attr, rgb & 0xffffffu);
}

void nn_svg_line(nn_svg *s, const double *x, const double *y, long n, unsigned rgb, double width,
                 const char *dash, double opacity)
{
    FILE *f = s->f;
    fprintf(f, "<g clip-path=\"url(#%s)\" fill=\"none\" stroke-width=\"%.2g\"", s->clip, width);
    colour_attr(f, "stroke", rgb);
    if (dash) fprintf(f, " stroke-dasharray=\"%s\"", dash);
    if (opacity < 1) fprintf(f, " stroke-opacity=\"%.2g\"", opacity);
    fputs(">", f);
    int open = 0;
    for (long i = 0; i < n; i++) {
        if (!ok_pt(s, x[i], y[i])) {
            if (open) fputs("\"/>", f);
            open = 0;
            continue;
        }
        fprintf(f, "%s%.1f,%.1f", open ? " " : "<polyline points=\"", nn_svg_px(s, x[i]),
                nn_svg_py(s, y[i]));
        open = 1;
    }
    if (open) fputs("\"/>", f);
    fputs("</g>\n", f);
}

void nn_svg_points(nn_svg *s, const double *x, const double *y, long n, unsigned rgb, double r,
                   double opacity, char shape)
{
    FILE *f = s->f;
    fprintf(f, "<g clip-path=\"url(#%s)\"", s->clip);
    colour_attr(f, "fill", rgb);
    if (opacity < 1) fprintf(f, " fill-opacity=\"%.2g\"", opacity);
    fputs(">", f);
    for (long i = 0; i < n; i++) {
        if (!ok_pt(s, x[i], y[i])) continue;
        double px = nn_svg_px(s, x[i]), py = nn_svg_py(s, y[i]);
        if (shape == 's')
            fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\"/>", px - r,
                    py - r, 2 * r, 2 * r);
        else if (shape == '^')
            fprintf(f, "<path d=\"M%.1f %.1fL%.1f %.1fL%.1f %.1fZ\"/>", px, py - r * 1.2,
                    px + r * 1.1, py + r * 0.9, px - r * 1.1, py + r * 0.9);
        else
            fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"%.2g\"/>", px, py, r);
    }
    fputs("</g>\n", f);
}

void nn_svg_hline(nn_svg *s, double y, unsigned rgb, const char *dash)
{
    double x[2] = {s->x.lo, s->x.hi}, v[2] = {y, y};
    nn_svg_line(s, x, v, 2, rgb, 1.2, dash, 1);
}

void nn_svg_rect(nn_svg *s, double x0, double y0, double x1, double y1, unsigned rgb,
                 double opacity)
{
    double a = nn_svg_px(s, x0), b = nn_svg_px(s, x1), c = nn_svg_py(s, y0), d = nn_svg_py(s, y1);
    fprintf(s->f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\"", fmin(a, b),
            fmin(c, d), fabs(b - a), fabs(d - c));
    colour_attr(s->f, "fill", rgb);
    if (opacity < 1) fprintf(s->f, " fill-opacity=\"%.2g\"", opacity);
    fputs("/>", s->f);
}

void nn_svg_text(nn_svg *s, double x, double y, const char *text, double size, unsigned rgb,
                 const char *anchor)
{
    fprintf(s->f, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"%.1f\" text-anchor=\"%s\"",
            nn_svg_px(s, x), nn_svg_py(s, y) + size * 0.35, size, anchor);
    colour_attr(s->f, "fill", rgb);
    fputs(">", s->f);
    nn_html_esc(s->f, text);
    fputs("</text>", s->f);
}

void nn_svg_hist(nn_svg *s, double lo, double hi, const double *v, int n, unsigned rgb,
                 double fill_opacity)
{
    if (n <= 0 || !(hi > lo)) return;
    double w = (hi - lo) / n, base = s->y.log ? s->y.lo : 0;
    /* one step-outline polygon, filled and stroked: no seams between bars, and overlaid
     * histograms stay distinguishable by their outlines */
    fprintf(s->f, "<g clip-path=\"url(#%s)\"><polygon stroke-width=\"1.3\"", s->clip);
    colour_attr(s->f, "stroke", rgb);
    colour_attr(s->f, "fill", rgb);
    fprintf(s->f, " fill-opacity=\"%.2g\" points=\"%.1f,%.1f", fill_opacity, nn_svg_px(s, lo),
            nn_svg_py(s, base));
    for (int i = 0; i < n; i++) {
        double y = isfinite(v[i]) && v[i] > base ? v[i] : base;
        fprintf(s->f, " %.1f,%.1f %.1f,%.1f", nn_svg_px(s, lo + i * w), nn_svg_py(s, y),
                nn_svg_px(s, lo + (i + 1) * w), nn_svg_py(s, y));
    }
    fprintf(s->f, " %.1f,%.1f\"/></g>\n", nn_svg_px(s, hi), nn_svg_py(s, base));
}

void nn_svg_legend(nn_svg *s, const char *const *labels, const unsigned *rgb,
                   const char *const *dash, int n, nn_legend_at at)
{
    nn_svg_legend_marks(s, labels, rgb, dash, NULL, n, at);
}

/* One legend entry's sample at (x, y) (the baseline of its text): a line, or a marker /
 * swatch drawn as the plot draws it. */
static void legend_sample(FILE *f, double x, double ly, unsigned rgb, const char *dash, char mark)
{
    double cx = x + 14, cy = ly - 4;
    if (mark == 'o' || mark == 'x')
        fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3.6\"", cx, cy);
    else if (mark == 's')
        fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"7\" height=\"7\"", cx - 3.5, cy - 3.5);
    else if (mark == '^')
        fprintf(f, "<path d=\"M%.1f %.1fL%.1f %.1fL%.1f %.1fZ\"", cx, cy - 4.3, cx + 4, cy + 3.2,
                cx - 4, cy + 3.2);
    else if (mark == 'r')
        fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"18\" height=\"10\" stroke=\"#999\"", x + 5,
                ly - 9);
    if (mark == 'o' || mark == 's' || mark == '^' || mark == 'r') {
        colour_attr(f, "fill", rgb);
        fputs("/>", f);
        return;
    }
    if (mark == 'x') { /* the misclassified mark: a ring around a point */
        fputs(" fill=\"none\" stroke-width=\"1.6\"", f);
        colour_attr(f, "stroke", rgb);
        fputs("/>", f);
        return;
    }
    fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke-width=\"3\"", x + 5,
            cy, x + 23, cy);
    colour_attr(f, "stroke", rgb);
    if (dash) fprintf(f, " stroke-dasharray=\"%s\"", dash);
    fputs("/>", f);
}

void nn_svg_legend_marks(nn_svg *s, const char *const *labels, const unsigned *rgb,
                         const char *const *dash, const char *marks, int n, nn_legend_at at)
{
    if (n <= 0) return;
    size_t maxlen = 0;
    for (int i = 0; i < n; i++)
        if (strlen(labels[i]) > maxlen) maxlen = strlen(labels[i]);
    double bw = 30 + 5.9 * (double)maxlen, bh = 8 + 15.0 * n;
    double x = at == NN_LEGEND_RIGHT ? s->w - s->mr + 8 : s->w - s->mr - bw - 6, y = s->mt + 6;
    if (at == NN_LEGEND_BELOW) {
        x = s->ml;
        y = s->h - bh - 2;
    }
    FILE *f = s->f;
    fprintf(f,
            "<g><rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"#fff\" "
            "fill-opacity=\"0.85\" stroke=\"#bbb\"/>",
            x, y, bw, bh);
    for (int i = 0; i < n; i++) {
        double ly = y + 12 + 15.0 * i;
        legend_sample(f, x, ly, rgb[i], dash ? dash[i] : NULL, marks ? marks[i] : '-');
        fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" fill=\"#000\">", x + 27, ly);
        nn_html_esc(f, labels[i]);
        fputs("</text>", f);
    }
    fputs("</g>\n", f);
}

unsigned nn_svg_palette(int i)
{
    static const unsigned tab10[] = {0x1f77b4, 0xff7f0e, 0x2ca02c, 0xd62728, 0x9467bd,
                                     0x8c564b, 0xe377c2, 0x7f7f7f, 0xbcbd22, 0x17becf};
    return tab10[((i % 10) + 10) % 10];
}

unsigned nn_svg_cmap(nn_cmap m, double t)
{
    /* control points sampled from matplotlib's maps, interpolated linearly */
    static const unsigned blues[] = {0xf7fbff, 0xdeebf7, 0xc6dbef, 0x9ecae1, 0x6baed6,
                                     0x4292c6, 0x2171b5, 0x08519c, 0x08306b};
    static const unsigned viridis[] = {0x440154, 0x482878, 0x3e4989, 0x31688e, 0x26828e,
                                       0x1f9e89, 0x35b779, 0x6ece58, 0xb5de2b, 0xfde725};
    const unsigned *c = m == NN_CMAP_BLUES ? blues : viridis;
    int n = m == NN_CMAP_BLUES ? 9 : 10;
    if (!(t > 0)) t = 0;
    if (t > 1) t = 1;
    double p = t * (n - 1);
    int i = (int)p;
    if (i >= n - 1) return c[n - 1];
    double u = p - i;
    unsigned out = 0;
    for (int sh = 16; sh >= 0; sh -= 8) {
        double a = (c[i] >> sh) & 0xff, b = (c[i + 1] >> sh) & 0xff;
        out |= (unsigned)lround(a + (b - a) * u) << sh;
    }
    return out;
}

unsigned nn_svg_ink(unsigned bg)
{
    double l = 0.299 * ((bg >> 16) & 0xff) + 0.587 * ((bg >> 8) & 0xff) + 0.114 * (bg & 0xff);
    return l < 140 ? 0xffffff : 0x222222;
}
