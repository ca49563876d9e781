/*
 * id.c — random instance ids, name-based UUID v5, instance-id rules.
 *
 * Owns: reading the OS random source (getrandom(2)), durata's UUID
 * namespace, and the checks of Durable Functions spec 2.1.
 * Threading: thread-safe; no state beyond the constant namespace.
 */
#include "base/id.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/random.h>
#include <uuid/uuid.h>

/*
 * durata's UUID v5 namespace: 9f1c2e4b-6a3d-4c8e-b2a1-647572617461 (the last
 * group spells "durata" in ASCII). Deterministic ids recorded in histories
 * are derived from it, so it must never change: replaying an old history
 * with another namespace would produce different ids.
 */
static const uuid_t dt_uuid_namespace = {0x9f, 0x1c, 0x2e, 0x4b, 0x6a, 0x3d, 0x4c, 0x8e,
                                         0xb2, 0xa1, 0x64, 0x75, 0x72, 0x61, 0x74, 0x61};

int
dt_id_random(char out[DT_ID_RANDOM_SIZE])
{
    static const char hex[] = "0123456789abcdef";
    unsigned char raw[16];
    size_t got = 0;

    while (got < sizeof(raw)) {
        ssize_t n = getrandom(raw + got, sizeof(raw) - got, 0);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return DURATA_ESYS;
        }
        got += (size_t)n;
    }
    for (size_t i = 0; i < sizeof(raw); i++) {
        out[2 * i] = hex[raw[i] >> 4];
        out[2 * i + 1] = hex[raw[i] & 0x0f];
    }
    out[2 * sizeof(raw)] = '\0';
    return 0;
}

int
dt_id_ordered(int64_t now_ms, char out[DT_ID_RANDOM_SIZE])
{
    static const char hex[] = "0123456789abcdef";
    int rc = dt_id_random(out);
    if (rc < 0)
        return rc;
    uint64_t t = now_ms < 0 ? 0 : (uint64_t)now_ms;
    for (int i = 11; i >= 0; i--, t >>= 4)
        out[i] = hex[t & 0x0f];
    return 0;
}

void
dt_uuid_v5(const char *name, size_t len, char out[37])
{
    uuid_t uu;

    /* A NULL name of length 0 is the empty name; libuuid wants a pointer. */
    if (!name) {
        name = "";
        len = 0;
    }
    uuid_generate_sha1(uu, dt_uuid_namespace, name, len);
    uuid_unparse_lower(uu, out);
}

int
dt_id_check(const char *id, size_t max_len, const char **why)
{
    const char *reason = NULL;
    int rc = DURATA_EINVAL;
    size_t len;

    if (!id) {
        reason = "instance id is missing";
        goto out_reason;
    }
    /* Bounded scan: an overlong id is rejected without reading all of it. */
    len = strnlen(id, max_len < SIZE_MAX ? max_len + 1 : max_len);
    if (len == 0) {
        reason = "instance id is empty";
        goto out_reason;
    }
    if (len > max_len) {
        reason = "instance id is too long";
        rc = DURATA_ETOOBIG;
        goto out_reason;
    }
    if (id[0] == '@') {
        reason = "instance id may not start with '@'";
        goto out_reason;
    }
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)id[i];
        if (c < 0x20 || c == 0x7f) {
            reason = "instance id may not contain control characters";
            goto out_reason;
        }
        if (c == '/' || c == '\\' || c == '#' || c == '?') {
            reason = "instance id may not contain '/', '\\', '#' or '?'";
            goto out_reason;
        }
    }
    return 0;

out_reason:
    if (why)
        *why = reason;
    return rc;
}
