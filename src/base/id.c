/*
 * id.c — random instance ids, name-based UUID v5, instance-id rules.
 *
 * Owns: reading the OS random source (getrandom(2)) through a small pool a
 * thread, durata's UUID namespace, and the checks of Durable Functions spec
 * 2.1.
 * Random bytes are read ID_POOL_BYTES at a time into a per-thread pool and
 * each byte is used once: a submission takes two ids, and two getrandom
 * calls cost more than the rest of making them. A process that forks
 * empties the child's pool (pthread_atfork), so parent and child never
 * hand out the same bytes.
 * Threading: thread-safe; each thread draws from its own pool.
 */
#include "base/id.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <sys/random.h>
#include <uuid/uuid.h>

#define ID_POOL_BYTES 512

/*
 * durata's UUID v5 namespace: 9f1c2e4b-6a3d-4c8e-b2a1-647572617461 (the last
 * group spells "durata" in ASCII). Deterministic ids recorded in histories
 * are derived from it, so it must never change: replaying an old history
 * with another namespace would produce different ids.
 */
static const uuid_t dt_uuid_namespace = {0x9f, 0x1c, 0x2e, 0x4b, 0x6a, 0x3d, 0x4c, 0x8e,
                                         0xb2, 0xa1, 0x64, 0x75, 0x72, 0x61, 0x74, 0x61};

struct id_pool {
    unsigned char bytes[ID_POOL_BYTES];
    size_t used; /* bytes[used..] are unused; == ID_POOL_BYTES when empty */
};

static _Thread_local struct id_pool pool = {.used = ID_POOL_BYTES};
static pthread_once_t fork_guard_once = PTHREAD_ONCE_INIT;

static void
pool_drop_in_child(void)
{
    /* The child's only thread is the one that forked; its copy of the pool
     * is the parent's too. */
    memset(pool.bytes, 0, sizeof(pool.bytes));
    pool.used = ID_POOL_BYTES;
}

static void
fork_guard_install(void)
{
    (void)pthread_atfork(NULL, NULL, pool_drop_in_child);
}

static int
pool_fill(void)
{
    size_t got = 0;

    pthread_once(&fork_guard_once, fork_guard_install);
    while (got < sizeof(pool.bytes)) {
        ssize_t n = getrandom(pool.bytes + got, sizeof(pool.bytes) - got, 0);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return DURATA_ESYS;
        }
        got += (size_t)n;
    }
    pool.used = 0;
    return 0;
}

int
dt_id_random(char out[DT_ID_RANDOM_SIZE])
{
    static const char hex[] = "0123456789abcdef";
    const size_t n = (DT_ID_RANDOM_SIZE - 1) / 2;
    int rc;

    if (ID_POOL_BYTES - pool.used < n && (rc = pool_fill()) < 0)
        return rc;
    for (size_t i = 0; i < n; i++) {
        unsigned char b = pool.bytes[pool.used + i];
        out[2 * i] = hex[b >> 4];
        out[2 * i + 1] = hex[b & 0x0f];
    }
    pool.used += n;
    out[2 * n] = '\0';
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
