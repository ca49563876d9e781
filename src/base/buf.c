/*
 * buf.c — growable, capped, always NUL-terminated byte buffer.
 *
 * Owns: b->data (b->cap bytes, of which b->len are content followed by a
 * NUL). Invariants: data == NULL implies len == 0 and cap == 0; otherwise
 * len < cap and data[len] == '\0'; len <= effective max. A failed append
 * (DURATA_ETOOBIG, DURATA_ENOMEM, DURATA_EINVAL) leaves the content as it was.
 * Threading: none; the owner guards the buffer.
 */
#include "base/buf.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BUF_MIN_CAP 64

static size_t
buf_max(const struct dt_buf *b)
{
    /* One byte is always kept for the NUL, so the content tops out below. */
    return b->max && b->max < SIZE_MAX ? b->max : SIZE_MAX - 1;
}

void
dt_buf_init(struct dt_buf *b, size_t max)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    b->max = max;
}

void
dt_buf_release(struct dt_buf *b)
{
    free(b->data);
    dt_buf_init(b, b->max);
}

void
dt_buf_reset(struct dt_buf *b)
{
    b->len = 0;
    if (b->data)
        b->data[0] = '\0';
}

/* Makes room for `extra` more content bytes plus the NUL; the caller has
 * already checked that len + extra stays within the cap. */
static int
buf_reserve(struct dt_buf *b, size_t extra)
{
    size_t need = b->len + extra + 1;
    size_t cap = b->cap ? b->cap : BUF_MIN_CAP;
    size_t limit = buf_max(b) + 1;
    char *data;

    if (need <= b->cap)
        return 0;
    while (cap < need)
        cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    /* Growing past the cap would only waste memory that can never be used. */
    if (cap > limit)
        cap = limit;
    data = realloc(b->data, cap);
    if (!data)
        return DURATA_ENOMEM;
    if (!b->data)
        data[0] = '\0';
    b->data = data;
    b->cap = cap;
    return 0;
}

int
dt_buf_reserve(struct dt_buf *b, size_t n)
{
    if (n > buf_max(b) - b->len)
        n = buf_max(b) - b->len;
    return buf_reserve(b, n);
}

int
dt_buf_extend(struct dt_buf *b, size_t n, char **at)
{
    int rc;

    if (n > buf_max(b) - b->len)
        return DURATA_ETOOBIG;
    if ((rc = buf_reserve(b, n)) != 0)
        return rc;
    *at = b->data + b->len;
    b->len += n;
    b->data[b->len] = '\0';
    return 0;
}

int
dt_buf_append(struct dt_buf *b, const void *data, size_t len)
{
    int rc;

    if (!data && len > 0)
        return DURATA_EINVAL;
    if (len > buf_max(b) - b->len)
        return DURATA_ETOOBIG;
    rc = buf_reserve(b, len);
    if (rc != 0)
        return rc;
    if (len > 0)
        memcpy(b->data + b->len, data, len);
    b->len += len;
    b->data[b->len] = '\0';
    return 0;
}

int
dt_buf_appends(struct dt_buf *b, const char *s)
{
    if (!s)
        return DURATA_EINVAL;
    return dt_buf_append(b, s, strlen(s));
}

int
dt_buf_append_int(struct dt_buf *b, long long v)
{
    char digits[24], *p = digits + sizeof(digits);
    /* Through unsigned: -LLONG_MIN does not fit a long long. */
    unsigned long long u = v < 0 ? 0ull - (unsigned long long)v : (unsigned long long)v;

    do {
        *--p = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0)
        *--p = '-';
    return dt_buf_append(b, p, (size_t)(digits + sizeof(digits) - p));
}

int
dt_buf_appendf(struct dt_buf *b, const char *fmt, ...)
{
    va_list ap, again;
    size_t room = b->data ? b->cap - b->len : 0;
    int n, rc = 0;

    if (!fmt)
        return DURATA_EINVAL;
    va_start(ap, fmt);
    va_copy(again, ap);
    n = vsnprintf(room ? b->data + b->len : NULL, room, fmt, ap);
    if (n < 0) {
        rc = DURATA_EINVAL;
        goto out_restore_nul;
    }
    if ((size_t)n > buf_max(b) - b->len) {
        rc = DURATA_ETOOBIG;
        goto out_restore_nul;
    }
    if ((size_t)n >= room) {
        /* It did not fit: grow, then format again from the copied list. */
        rc = buf_reserve(b, (size_t)n);
        if (rc != 0)
            goto out_restore_nul;
        vsnprintf(b->data + b->len, b->cap - b->len, fmt, again);
    }
    b->len += (size_t)n;
    goto out_end_lists;

out_restore_nul:
    /* A partial first attempt may have written past len; cut it off again. */
    if (b->data)
        b->data[b->len] = '\0';
out_end_lists:
    va_end(again);
    va_end(ap);
    return rc;
}

char *
dt_buf_detach(struct dt_buf *b)
{
    char *out = b->data;

    if (!out) {
        out = malloc(1);
        if (!out)
            return NULL;
        out[0] = '\0';
    }
    dt_buf_init(b, b->max);
    return out;
}
