/* svg.h — a small toolkit for inline SVG plots in report.html.
 *
 * A plot is a pixel box with a plot area (margins around it) and two axes mapping data to
 * pixels, linear or log10.  Everything is written straight to a FILE as SVG elements; no
 * xmlns attribute (inline SVG in HTML5 needs none, and the report holds no URLs).  Data
 * layers are clipped to the plot area; non-finite values are skipped (lines break there).
 * Colours are 0xRRGGBB.
 */
#ifndef NN_SVG_H
#define NN_SVG_H

#include <stdio.h>

typedef struct {
    double lo, hi; /* data range; for log axes the values themselves (> 0) */
    int log;       /* 1: log10 scale, ticks at powers of ten */
} nn_svg_axis;

typedef struct {
    FILE *f;
    int w, h;              /* pixels */
    double ml, mr, mt, mb; /* margins: plot area = [ml, w−mr] × [mt, h−mb] */
    nn_svg_axis x, y;
    int flip_y;    /* 1: y grows downwards (matrices: row 0 on top) */
    int nogrid;    /* 1: no grid lines (they would stripe cell plots) */
    char clip[96]; /* id of the plot area's clipPath */
} nn_svg;

/* Writes `s` HTML-escaped (text and attribute values alike); control characters become
 * '?' so the page stays well-formed whatever a token holds. */
void nn_html_esc(FILE *f, const char *s);

/* Sets up `s` with default margins; the caller then sets s->x / s->y (or nn_svg_fit). */
void nn_svg_init(nn_svg *s, FILE *f, const char *id, int w, int h);
/* Opens <svg> (with `title` as its accessible name) and the plot area's clipPath; call
 * after the margins and ranges are final. */
void nn_svg_begin(nn_svg *s, const char *title);
void nn_svg_end(nn_svg *s);

/* Widens `a` to cover the finite values of v (positive ones for a log axis). */
void nn_svg_fit(nn_svg_axis *a, const double *v, long n);
/* Pads a range by `frac` of its span (or makes an empty range non-empty). */
void nn_svg_pad(nn_svg_axis *a, double frac);
/* Empty range: lo = +inf, hi = −inf (nn_svg_fit then widens it). */
nn_svg_axis nn_svg_empty_axis(int log);

double nn_svg_px(const nn_svg *s, double x);
double nn_svg_py(const nn_svg *s, double y);

/* Frame, grid lines, ticks with labels, axis labels (NULL: none). */
void nn_svg_axes(nn_svg *s, const char *xlabel, const char *ylabel);
/* Category ticks instead of numbers: label i centred at data coordinate i + 0.5. */
void nn_svg_cat_ticks(nn_svg *s, int xaxis, const char *const *labels, int n, double size);

void nn_svg_line(nn_svg *s, const double *x, const double *y, long n, unsigned rgb, double width,
                 const char *dash, double opacity);
/* shape: 'o' circle, 's' square, '^' triangle */
void nn_svg_points(nn_svg *s, const double *x, const double *y, long n, unsigned rgb, double r,
                   double opacity, char shape);
void nn_svg_hline(nn_svg *s, double y, unsigned rgb, const char *dash);
/* A data-space rectangle (any corner order); opacity 1 draws opaque.  Cell plots wrap
 * theirs in NN_SVG_CELLS_OPEN / "</g>" so adjacent cells meet without anti-aliased seams. */
#define NN_SVG_CELLS_OPEN "<g shape-rendering=\"crispEdges\">"

void nn_svg_rect(nn_svg *s, double x0, double y0, double x1, double y1, unsigned rgb,
                 double opacity);
/* Text at a data point; anchor "start" | "middle" | "end"; centred vertically. */
void nn_svg_text(nn_svg *s, double x, double y, const char *text, double size, unsigned rgb,
                 const char *anchor);
/* A histogram of n equal bins over [lo, hi] with heights v: filled bars plus outline. */
void nn_svg_hist(nn_svg *s, double lo, double hi, const double *v, int n, unsigned rgb,
                 double fill_opacity);
/* Where a legend goes: inside the plot area's top-right corner, in the right margin, or
 * below the x-axis label (the caller widens mr / mb by NN_SVG_LEGEND_ROW per entry). */
typedef enum { NN_LEGEND_INSIDE, NN_LEGEND_RIGHT, NN_LEGEND_BELOW } nn_legend_at;
#define NN_SVG_LEGEND_ROW 15
/* dash[i] may be NULL (solid); dash may be NULL. */
void nn_svg_legend(nn_svg *s, const char *const *labels, const unsigned *rgb,
                   const char *const *dash, int n, nn_legend_at at);

/* As nn_svg_legend, with each entry's sample drawn as the plot draws it: marks[i] is '-'
 * (a line, dashed by dash[i]), 'o' / 's' / '^' (a marker), 'r' (a region swatch) or 'x'
 * (a ring, the misclassified mark); marks NULL: all lines. */
void nn_svg_legend_marks(nn_svg *s, const char *const *labels, const unsigned *rgb,
                         const char *const *dash, const char *marks, int n, nn_legend_at at);

/* The i-th colour of a 10-colour categorical palette. */
unsigned nn_svg_palette(int i);
typedef enum { NN_CMAP_BLUES, NN_CMAP_VIRIDIS } nn_cmap;
/* t in [0, 1] (clamped) → colour. */
unsigned nn_svg_cmap(nn_cmap m, double t);
/* Black or white, whichever reads better on `bg`. */
unsigned nn_svg_ink(unsigned bg);

/* "%.4g" without trailing noise; "—" for non-finite.  Returns buf. */
const char *nn_fmt_num(char *buf, size_t n, double v);

#endif
