/*
 * hash.h — the string hash of the engine's in-memory tables (history
 * cache, direct steps): FNV-1a over the bytes up to the terminating NUL.
 * Instance ids share a time prefix, so every byte counts; FNV-1a mixes
 * each one in and is cheap for ids of a few dozen bytes.
 */
#ifndef DT_BASE_HASH_H
#define DT_BASE_HASH_H

#include <stddef.h>

static inline size_t
dt_hash_str(const char *s)
{
    size_t h = 1469598103934665603ull;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

#endif
