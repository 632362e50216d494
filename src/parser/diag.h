/* diag.h — diagnostics: "FILE:LINE:COL: error: MESSAGE", the source line, a caret.
 *
 * Every stage that can blame a user's input records errors here; the CLI prints
 * them and exits 2.  Positions are 1-based.  Up to NN_DIAG_MAX errors are kept.
 */
#ifndef NN_DIAG_H
#define NN_DIAG_H

#include <stdio.h>

typedef struct {
    const char *file; /* NULL: no position known */
    int line, col;    /* 1-based */
} nn_mark;

#define NN_DIAG_MAX 20

typedef struct nn_diag nn_diag;

nn_diag *nn_diag_new(void);
void nn_diag_free(nn_diag *d);

/* Registers the text of a source (a spec file, a --set argument) so that printed
 * errors can show the offending line.  The text is copied. */
void nn_diag_add_source(nn_diag *d, const char *file, const char *text, size_t len);

/* Records an error at `m`.  The message should say what is wrong and what would be
 * right; a did-you-mean belongs in it: "unknown layer 'lienar' (did you mean 'linear'?)". */
void nn_diag_error(nn_diag *d, nn_mark m, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Adds a "note: ..." line to the most recent error (e.g. the list of valid values). */
void nn_diag_note(nn_diag *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Errors recorded from now on end with " (CONTEXT)", e.g. the matrix point a sweep cell
 * was loading; NULL ends it.  The text is copied. */
void nn_diag_context(nn_diag *d, const char *context);

int nn_diag_count(const nn_diag *d);
/* The first line of error i: "FILE:LINE:COL: error: MESSAGE" (no newline). */
const char *nn_diag_line(const nn_diag *d, int i);
/* Error i in parts (for machine-readable output): file NULL when it has no position,
 * line 0 when only the file is known; the strings live as long as d.  0, or −1 when there
 * is no error i. */
typedef struct {
    const char *file;
    int line, col;
    const char *message; /* without "FILE:LINE:COL: error: " */
    const char *const *notes;
    int nnotes;
} nn_diag_entry;
int nn_diag_entry_at(const nn_diag *d, int i, nn_diag_entry *out);
/* Prints every error with its source line, caret and notes. */
void nn_diag_print(const nn_diag *d, FILE *out);

/* Did-you-mean: the candidate closest to `word` by edit distance, or NULL when none is
 * close enough to be a plausible typo.  `candidates` ends with NULL. */
const char *nn_suggest(const char *word, const char *const *candidates);

#endif
