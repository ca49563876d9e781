/*
 * heap.h — a binary min-heap of int64_t keys (due times of timers).
 *
 * Owns: storage of the keys (grows on push). Duplicate keys are kept.
 * Threading: none; the owner guards it.
 */
#ifndef DT_BASE_HEAP_H
#define DT_BASE_HEAP_H

#include "durata.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct dt_heap {
    int64_t *keys;
    size_t count;
    size_t cap;
};

void dt_heap_init(struct dt_heap *h);
void dt_heap_release(struct dt_heap *h);
DURATA_MUST_CHECK int dt_heap_push(struct dt_heap *h, int64_t key);
/* The smallest key; false when empty. */
bool dt_heap_peek(const struct dt_heap *h, int64_t *out);
/* Removes the smallest key; false when empty. */
bool dt_heap_pop(struct dt_heap *h, int64_t *out);

#endif
