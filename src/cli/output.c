/*
 * output.c — the client verbs' human output: sanitised text, summaries,
 * aligned tables, one-line JSON values.
 *
 * Owns: text leaving through here never carries a control character (C0,
 * DEL, or C1 encoded in UTF-8): a server's message or a job's custom
 * status is data, not terminal commands. Column widths count UTF-8 code
 * points, so names in any script stay aligned when they are one column
 * wide per character.
 * Threading: main thread only.
 */
#include "cli/output.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* Bytes of the control character at p (C0, DEL, or UTF-8 C1), else 0. */
static size_t
control_len(const unsigned char *p)
{
    if (*p < 0x20 || *p == 0x7f)
        return 1;
    if (p[0] == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f)
        return 2;
    return 0;
}

void
dt_out_text(FILE *out, const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t run = 0, ctl;

    while (p[run]) {
        if (!(ctl = control_len(p + run))) {
            run++;
            continue;
        }
        fwrite(p, 1, run, out);
        fputc('?', out);
        p += run + ctl;
        run = 0;
    }
    fwrite(p, 1, run, out);
}

char *
dt_out_printf(const char *fmt, ...)
{
    va_list ap;
    char *s;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || !(s = malloc((size_t)n + 1)))
        return NULL;
    va_start(ap, fmt);
    vsnprintf(s, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return s;
}

char *
dt_out_json_text(const json_t *v)
{
    if (!v)
        return strdup("null");
    return json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
}

void
dt_out_raw(const char *body, size_t len)
{
    fwrite(body, 1, len, stdout);
    if (len == 0 || body[len - 1] != '\n')
        fputc('\n', stdout);
}

void
dt_out_field(const char *label, const char *value)
{
    printf("%-*s", DT_OUT_LABEL_WIDTH, label);
    dt_out_text(stdout, value && *value ? value : "-");
    fputc('\n', stdout);
}

void
dt_out_field_json(const char *label, const json_t *v)
{
    char *text = v && !json_is_null(v) ? dt_out_json_text(v) : NULL;

    dt_out_field(label, text ? text : "-");
    free(text);
}

const char *
dt_out_str(const json_t *obj, const char *key)
{
    return json_string_value(json_object_get(obj, key));
}

/* ------------------------------------------------------------ tables */

/* Width of s on a terminal: its UTF-8 code points. */
static size_t
text_width(const char *s)
{
    size_t n = 0;

    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        n += (*p & 0xc0) != 0x80;
    return n;
}

int
dt_table_init(struct dt_table *t, size_t n_cols, const char *const *heading)
{
    memset(t, 0, sizeof(*t));
    if (n_cols == 0 || n_cols > DT_TABLE_MAX_COLS)
        return DURATA_EINVAL;
    t->n_cols = n_cols;
    return dt_table_add(t, heading);
}

int
dt_table_add(struct dt_table *t, const char *const *row)
{
    size_t base = t->n_rows * t->n_cols, w;
    char **grown;

    if (t->n_rows == t->cap_rows) {
        size_t cap = t->cap_rows ? t->cap_rows * 2 : 16;

        if (!(grown = realloc(t->cells, cap * t->n_cols * sizeof(*grown))))
            return DURATA_ENOMEM;
        t->cells = grown;
        t->cap_rows = cap;
    }
    for (size_t i = 0; i < t->n_cols; i++) {
        if (!(t->cells[base + i] = strdup(row[i] && *row[i] ? row[i] : "-"))) {
            while (i-- > 0)
                free(t->cells[base + i]);
            return DURATA_ENOMEM;
        }
        w = text_width(t->cells[base + i]);
        if (w > t->width[i])
            t->width[i] = w;
    }
    t->n_rows++;
    return 0;
}

size_t
dt_table_rows(const struct dt_table *t)
{
    return t->n_rows ? t->n_rows - 1 : 0;
}

void
dt_table_print(const struct dt_table *t, FILE *out)
{
    for (size_t r = 0; r < t->n_rows; r++) {
        for (size_t i = 0; i < t->n_cols; i++) {
            const char *cell = t->cells[r * t->n_cols + i];
            bool last = i + 1 == t->n_cols;

            dt_out_text(out, cell);
            if (!last)
                fprintf(out, "%*s", (int)(t->width[i] - text_width(cell) + 2), "");
        }
        fputc('\n', out);
    }
}

void
dt_table_release(struct dt_table *t)
{
    for (size_t i = 0; i < t->n_rows * t->n_cols; i++)
        free(t->cells[i]);
    free(t->cells);
    memset(t, 0, sizeof(*t));
}
