/* store/store.h: the SQLite database in $TEND_HOME/tend.db (WAL mode): history, not live state.
 *
 * Schema changes are numbered migrations applied in order at open (PRAGMA user_version), each
 * in one transaction; a database newer than this binary is refused, never downgraded. Writes
 * are small single-row inserts (prepared statements, synchronous=NORMAL), cheap enough for the
 * loop; reads are bounded by `limit`. */
#ifndef TEND_STORE_H
#define TEND_STORE_H

#include <jansson.h>
#include <stdint.h>

struct err;
struct store;

/* Open (creating and migrating as needed). */
int store_open(const char *path, struct store **out, struct err *err);
void store_close(struct store *s); /* NULL is a no-op */
/* The schema version this binary writes. */
int store_schema_version(void);

/* Append an event. `kind` is a stable name ("start", "exit", "log_drop", "config_applied");
 * app may be NULL (daemon-wide), instance -1 when not about one instance. */
int store_event_add(struct store *s, int64_t time_ms, const char *kind, const char *app,
                    int instance, const char *msg);
/* Events newest last: [{"time","kind","app","instance","message"}], filtered by app (NULL =
 * all) and time >= since_ms, at most `limit` (the newest ones). New reference. */
json_t *store_events(struct store *s, const char *app, int64_t since_ms, int limit,
                     struct err *err);
/* Drop events older than `before_ms` (retention; default 30 days, run daily by the daemon). */
int store_events_prune(struct store *s, int64_t before_ms);

#endif
