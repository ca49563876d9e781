/*
 * heap.c — binary min-heap of int64_t keys stored in one array.
 *
 * Owns: the key array (h->keys, h->cap slots, h->count used). Invariant:
 * keys[i] <= keys[2i+1] and keys[i] <= keys[2i+2] for every valid child.
 * Threading: none; the owner guards the heap.
 */
#include "base/heap.h"

#include <stdint.h>
#include <stdlib.h>

#define HEAP_MIN_CAP 16

void
dt_heap_init(struct dt_heap *h)
{
    h->keys = NULL;
    h->count = 0;
    h->cap = 0;
}

void
dt_heap_release(struct dt_heap *h)
{
    free(h->keys);
    dt_heap_init(h);
}

static int
heap_grow(struct dt_heap *h)
{
    size_t cap = h->cap ? h->cap * 2 : HEAP_MIN_CAP;
    int64_t *keys;

    if (cap < h->cap || cap > SIZE_MAX / sizeof(*keys))
        return DURATA_ENOMEM;
    keys = realloc(h->keys, cap * sizeof(*keys));
    if (!keys)
        return DURATA_ENOMEM;
    h->keys = keys;
    h->cap = cap;
    return 0;
}

int
dt_heap_push(struct dt_heap *h, int64_t key)
{
    size_t i;

    if (h->count == h->cap) {
        int rc = heap_grow(h);
        if (rc != 0)
            return rc;
    }
    /* Sift up: move parents larger than key down until key's slot is found. */
    i = h->count++;
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (h->keys[parent] <= key)
            break;
        h->keys[i] = h->keys[parent];
        i = parent;
    }
    h->keys[i] = key;
    return 0;
}

bool
dt_heap_peek(const struct dt_heap *h, int64_t *out)
{
    if (h->count == 0)
        return false;
    if (out)
        *out = h->keys[0];
    return true;
}

bool
dt_heap_pop(struct dt_heap *h, int64_t *out)
{
    int64_t last;
    size_t i = 0;

    if (h->count == 0)
        return false;
    if (out)
        *out = h->keys[0];
    last = h->keys[--h->count];
    /* Sift down: the former last key falls from the root to its place. */
    for (;;) {
        size_t child = 2 * i + 1;
        if (child >= h->count)
            break;
        if (child + 1 < h->count && h->keys[child + 1] < h->keys[child])
            child++;
        if (last <= h->keys[child])
            break;
        h->keys[i] = h->keys[child];
        i = child;
    }
    if (h->count > 0)
        h->keys[i] = last;
    return true;
}
