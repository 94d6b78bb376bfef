/* store/store_int.h: declarations shared by the store module's own files.
 *
 * struct store is owned by the daemon (store_open/store_close). Its prepared statements are
 * made once at open and reset after each use, so a write on the loop is one bind and one step. */
#ifndef TEND_STORE_INT_H
#define TEND_STORE_INT_H

#include <sqlite3.h>

#include "store/store.h"

struct store {
    sqlite3 *db;
    char *path;
    sqlite3_stmt *ev_insert;
    sqlite3_stmt *ev_all; /* newest first, all apps */
    sqlite3_stmt *ev_app; /* newest first, one app */
    sqlite3_stmt *ev_prune;
};

/* store.c: a SQLite result code as -errno (-EBUSY, -ENOSPC, -ENOMEM, -EACCES, else -EIO). */
int store__errno(int rc);
/* migrate.c: bring the schema to store_schema_version(), or refuse a newer one. */
int store__migrate(struct store *s, struct err *err);
/* events.c: prepare and finalize the events statements. */
int store__events_prepare(struct store *s, struct err *err);
void store__events_finalize(struct store *s);

#endif
