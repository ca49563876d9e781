/*
 * schema.h — the SQLite schema of a hub and its migrations.
 *
 * Owns: the table definitions (documented in schema.c, where they are
 * defined), the schema version kept in PRAGMA user_version, and bringing a
 * file from any older version to the current one.
 * Threading: call with exclusive use of the connection.
 */
#ifndef DT_STORE_SCHEMA_H
#define DT_STORE_SCHEMA_H

#include "durata.h"

#include <sqlite3.h>

/* The version this build writes and understands. */
#define DT_SCHEMA_VERSION 5

/* Creates or migrates the schema of db to DT_SCHEMA_VERSION inside one
 * write transaction, so concurrent openers of one file serialize.
 * DURATA_ECORRUPT (and an error log line) when the file's version is newer
 * than this build knows or it is not a database; other DURATA_E* codes when
 * SQLite fails. */
DURATA_MUST_CHECK int dt_schema_migrate(sqlite3 *db, const char *path);

#endif
