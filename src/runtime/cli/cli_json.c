/* cli_json.c — the JSON forms the subcommands share (cli.h). */
#include <stdio.h>
#include <stdlib.h>

#include "runtime/cli/cli.h"

json_t *nn_cli_diag_json(const nn_diag *d)
{
    json_t *a = json_array();
    nn_diag_entry e;
    for (int i = 0; a && nn_diag_entry_at(d, i, &e) == 0; i++) {
        json_t *notes = json_array();
        for (int k = 0; notes && k < e.nnotes; k++)
            json_array_append_new(notes, json_string(e.notes[k]));
        json_array_append_new(
            a, json_pack("{s:o, s:o, s:o, s:s, s:o}", "file",
                         e.file ? json_string(e.file) : json_null(), "line",
                         e.line > 0 ? json_integer(e.line) : json_null(), "column",
                         e.col > 0 ? json_integer(e.col) : json_null(), "message", e.message,
                         "notes", notes ? notes : json_array()));
    }
    return a;
}

int nn_cli_print_json(json_t *j)
{
    char *text = j ? json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
    json_decref(j);
    if (!text) {
        fprintf(stderr, "nnrun: error: out of memory while writing the JSON output\n");
        return -1;
    }
    printf("%s\n", text);
    free(text);
    return 0;
}

int nn_cli_fail_input(const nn_diag *d)
{
    nn_diag_print(d, stderr);
    return NN_EXIT_INPUT;
}
