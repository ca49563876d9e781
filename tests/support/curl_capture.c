/*
 * curl_capture.c — libcurl callbacks that capture an answer (see
 * curl_capture.h).
 */
#include "support/curl_capture.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

static bool
capture_add(struct tc_capture *c, const char *p, size_t n)
{
    char *d = realloc(c->data, c->len + n + 1);

    if (!d)
        return false;
    memcpy(d + c->len, p, n);
    c->len += n;
    d[c->len] = '\0';
    c->data = d;
    return true;
}

size_t
tc_on_body(char *p, size_t size, size_t n, void *arg)
{
    return capture_add(arg, p, size * n) ? size * n : 0;
}

size_t
tc_on_header(char *p, size_t size, size_t n, void *arg)
{
    struct tc_capture *c = arg;

    if (size * n >= 5 && strncmp(p, "HTTP/", 5) == 0)
        c->len = 0; /* a new response block (after a 100 Continue) */
    return capture_add(c, p, size * n) ? size * n : 0;
}
