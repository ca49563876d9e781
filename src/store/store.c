/*
 * store.c — picks the backend for a store target.
 *
 * Owns: the rule that maps a target string to a backend: a postgres:// or
 * postgresql:// URL names PostgreSQL (not built yet: DURATA_EINVAL), any
 * other text is a SQLite file path.
 * Threading: thread-safe; no state.
 */
#include "store/store.h"

#include "base/log.h"
#include "store/sqlite.h"

#include <string.h>
#include <strings.h>

static bool
has_prefix(const char *s, const char *prefix)
{
    return strncasecmp(s, prefix, strlen(prefix)) == 0;
}

int
dt_store_open(const char *target, struct dt_store **out)
{
    if (!out)
        return DURATA_EINVAL;
    *out = NULL;
    if (!target || !*target)
        return DURATA_EINVAL;
    if (has_prefix(target, "postgres://") || has_prefix(target, "postgresql://")) {
        dt_log(DT_LOG_ERROR, "store: the PostgreSQL backend is not available in this build", NULL);
        return DURATA_EINVAL;
    }
    return dt_sqlite_open(target, out);
}
