/*
 * id.h — identifiers: random instance ids, deterministic UUIDs, validation.
 *
 * Owns: generating ids from the OS random source (getrandom), name-based
 * UUID v5 (through libuuid) for deterministic ids in orchestrations, and the
 * instance-id rules (Durable Functions spec 2.1).
 * Threading: thread-safe.
 */
#ifndef DT_BASE_ID_H
#define DT_BASE_ID_H

#include "durata.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* 32 lowercase hex chars + NUL (a random 128-bit id, like a GUID "N"). */
#define DT_ID_RANDOM_SIZE 33

/* Writes a fresh random id. DURATA_ESYS when the OS has no randomness. */
DURATA_MUST_CHECK int dt_id_random(char out[DT_ID_RANDOM_SIZE]);

/* Like dt_id_random, but the first 12 hex digits are the wall clock in
 * milliseconds, so ids generated later sort later. Instance ids made this
 * way keep a hub's recent instances together in the store's indexes (a
 * random id touches a random page of every index on each write). */
DURATA_MUST_CHECK int dt_id_ordered(int64_t now_ms, char out[DT_ID_RANDOM_SIZE]);

/* Name-based UUID v5 of `name` in durata's fixed namespace, lowercase with
 * dashes ("xxxxxxxx-xxxx-5xxx-yxxx-xxxxxxxxxxxx") + NUL. */
void dt_uuid_v5(const char *name, size_t len, char out[37]);

/* Instance id rules: 1..max_len bytes, valid UTF-8 is not required but no
 * control characters (< 0x20, 0x7f), none of '/', '\\', '#', '?', and no
 * leading '@'. Returns 0 or DURATA_EINVAL / DURATA_ETOOBIG, and on failure
 * a static reason in *why (may be NULL). */
DURATA_MUST_CHECK int dt_id_check(const char *id, size_t max_len, const char **why);

#endif
