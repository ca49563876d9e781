/*
 * output.h — how the client verbs print: plain text that a server cannot
 * use to drive the terminal, "label  value" summaries, aligned tables and
 * JSON values on one line.
 *
 * Owns: the shape of the human output (the --json output is the server's
 * own body and does not pass through here, except lists assembled from
 * several pages).
 * Threading: main thread only.
 */
#ifndef DT_CLI_OUTPUT_H
#define DT_CLI_OUTPUT_H

#include "durata.h"

#include <jansson.h>
#include <stddef.h>
#include <stdio.h>

#define DT_TABLE_MAX_COLS 8

/* Writes s with every control character (and DEL) shown as '?', so text
 * from a server cannot move the cursor or rewrite the terminal. */
void dt_out_text(FILE *out, const char *s);
/* A formatted string (malloc'd), or NULL on out of memory. */
char *dt_out_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Compact JSON text of v (malloc'd; "null" for NULL), or NULL on OOM. */
char *dt_out_json_text(const json_t *v);
/* Writes body and a newline (when it lacks one) to stdout, unchanged. */
void dt_out_raw(const char *body, size_t len);

/* Summary lines: "label" padded to DT_OUT_LABEL_WIDTH, then the value. */
#define DT_OUT_LABEL_WIDTH 15
void dt_out_field(const char *label, const char *value);
/* The same with v as compact JSON, or "-" when v is NULL or null. */
void dt_out_field_json(const char *label, const json_t *v);
/* v's string value, or NULL when v is not a string. */
const char *dt_out_str(const json_t *obj, const char *key);

/* A table printed with aligned columns once every row is in. */
struct dt_table {
    size_t n_cols;
    char **cells; /* n_rows * n_cols, owned; row 0 is the heading */
    size_t n_rows;
    size_t cap_rows;
    size_t width[DT_TABLE_MAX_COLS];
};

/* heading holds n_cols titles (n_cols <= DT_TABLE_MAX_COLS). Returns 0 or
 * DURATA_ENOMEM (the table is then empty but safe to release). */
DURATA_MUST_CHECK int dt_table_init(struct dt_table *t, size_t n_cols, const char *const *heading);
/* Copies one row of n_cols cells (NULL cells print as "-"). */
DURATA_MUST_CHECK int dt_table_add(struct dt_table *t, const char *const *row);
/* Rows after the heading. */
size_t dt_table_rows(const struct dt_table *t);
void dt_table_print(const struct dt_table *t, FILE *out);
void dt_table_release(struct dt_table *t);

#endif
