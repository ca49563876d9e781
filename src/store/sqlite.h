/*
 * sqlite.h — the SQLite backend of the store interface (store.h).
 *
 * Owns: opening a hub's SQLite file (creating or migrating its schema) and
 * returning a struct dt_store that implements every op of dt_store_ops.
 * Durability: WAL journal with synchronous=FULL, so a commit() that returned
 * survives power loss; after ops->pipeline(), the writer runs at NORMAL and
 * ops->sync() flushes the WAL (see sqlite_checkpoint.c). Several processes may share one file:
 * writers wait on each other (busy timeout) instead of failing at once. Threading: the returned
 * store may be used from any thread (see sqlite_impl.h for how it serializes).
 */
#ifndef DT_STORE_SQLITE_H
#define DT_STORE_SQLITE_H

#include "store/store.h"

/* Opens (creating if missing) the SQLite file at path. DURATA_EINVAL for a
 * NULL/empty path, DURATA_ECORRUPT for a file that is not a database or has
 * a newer schema, DURATA_EBUSY / DURATA_ESTORE / DURATA_ENOMEM otherwise. */
DURATA_MUST_CHECK int dt_sqlite_open(const char *path, struct dt_store **out);

#endif
