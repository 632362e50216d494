/* html.h — report.html: one self-contained page (inline SVG, no scripts, no URLs) rendered
 * from a run directory's files alone: summary.json (required), metrics.csv, stats.json
 * (docs/stats-json.md), spec.resolved.yaml and samples.txt (each optional — a figure is
 * drawn only when its data is there), so `nnrun report RUN_DIR` can re-render any run.
 */
#ifndef NN_HTML_H
#define NN_HTML_H

#include <stdio.h>

#include "parser/diag.h"

/* Writes RUN_DIR/report.html (via a temporary file, so a failed render leaves no partial
 * page).  Returns 0, or −1 with an error in `d` naming the file (and line:col) of anything
 * unreadable or malformed. */
int nn_report_render(const char *run_dir, nn_diag *d);

/* The page's start in report.html's style: doctype, "<title>TITLE — WHAT</title>", the CSS,
 * <body>.  Every nnrun page starts with it (the compare page, a sweep's report). */
void nn_report_page_head(FILE *f, const char *title, const char *what);

/* `nnrun compare`: writes OUT (via a temporary file), one page with the n run directories
 * side by side (html_compare.c).  Each must hold a summary.json; returns 0, or −1 with an
 * error in `d` naming the file of anything unreadable or malformed. */
int nn_report_compare(const char *const *dirs, int n, const char *out, nn_diag *d);

#endif
