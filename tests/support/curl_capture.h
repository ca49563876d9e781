/*
 * curl_capture.h — libcurl callbacks that capture an answer, shared by the
 * http unit tests and the end-to-end tests.
 *
 * Owns: nothing but the growable text a callback appends to (its owner
 * frees .data). The header callback keeps only the final response's block,
 * so a 100 Continue before it is not seen.
 */
#ifndef DT_TEST_CURL_CAPTURE_H
#define DT_TEST_CURL_CAPTURE_H

#include <stddef.h>

struct tc_capture {
    char *data; /* NUL-terminated; NULL until something arrived */
    size_t len;
};

/* CURLOPT_WRITEFUNCTION with CURLOPT_WRITEDATA = a struct tc_capture. */
size_t tc_on_body(char *p, size_t size, size_t n, void *arg);
/* CURLOPT_HEADERFUNCTION with CURLOPT_HEADERDATA = a struct tc_capture. */
size_t tc_on_header(char *p, size_t size, size_t n, void *arg);

#endif
