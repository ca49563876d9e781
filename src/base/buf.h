/*
 * buf.h — a growable byte buffer with a hard cap.
 *
 * Owns: its bytes, always NUL-terminated after `len`. Appending past `max`
 * fails with DURATA_ETOOBIG and leaves the buffer as it was, so a reader of
 * untrusted input (process output, request bodies) never grows without end.
 * Threading: none; the owner guards it.
 */
#ifndef DT_BASE_BUF_H
#define DT_BASE_BUF_H

#include "durata.h"

#include <stdarg.h>
#include <stddef.h>

struct dt_buf {
    char *data; /* NULL until the first append */
    size_t len;
    size_t cap;
    size_t max; /* 0 = SIZE_MAX */
};

void dt_buf_init(struct dt_buf *b, size_t max);
void dt_buf_release(struct dt_buf *b);
void dt_buf_reset(struct dt_buf *b); /* len = 0, keeps storage */
/* Room for n more bytes at once (within the cap), for a buffer whose size
 * is known ahead: one allocation instead of a doubling series. */
DURATA_MUST_CHECK int dt_buf_reserve(struct dt_buf *b, size_t n);
DURATA_MUST_CHECK int dt_buf_append(struct dt_buf *b, const void *data, size_t len);
/* Grows the content by n bytes for the caller to write at *at (then
 * NUL-terminated after them); a writer that knows its exact size fills
 * them without an append per piece. DURATA_ETOOBIG past the cap or
 * DURATA_ENOMEM, leaving the content as it was. */
DURATA_MUST_CHECK int dt_buf_extend(struct dt_buf *b, size_t n, char **at);
DURATA_MUST_CHECK int dt_buf_appends(struct dt_buf *b, const char *s);
/* Appends v in decimal (what "%lld" writes, without printf). */
DURATA_MUST_CHECK int dt_buf_append_int(struct dt_buf *b, long long v);
DURATA_MUST_CHECK int dt_buf_appendf(struct dt_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Hands the bytes to the caller (malloc'd, NUL-terminated, "" when empty;
 * NULL on out of memory) and leaves b empty. */
char *dt_buf_detach(struct dt_buf *b);

#endif
