/* store/migrate.c: the schema and its numbered migrations.
 *
 * migrations[i] takes the database from user_version i-1 to i; each runs in its own
 * BEGIN IMMEDIATE transaction together with the user_version bump, so a crash leaves the
 * database at a whole version and a second process sees either before or after. The version is
 * read again inside each transaction: two tends opening a fresh file migrate it once. A file
 * whose version is above this binary's is refused, never downgraded or written. Migrations are
 * only appended; a released one is never edited. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>

#include "core/err.h"
#include "core/str.h"
#include "core/util.h"
#include "store/store_int.h"

static const char *const migrations[] = {
    [0] = NULL, /* version 0 is the empty file */
    [1] = "CREATE TABLE events ("
          "  id INTEGER PRIMARY KEY,"
          "  time_ms INTEGER NOT NULL,"
          "  kind TEXT NOT NULL,"
          "  app TEXT,"
          "  instance INTEGER,"
          "  message TEXT NOT NULL);"
          "CREATE INDEX events_app_time ON events(app, time_ms);"
          "CREATE INDEX events_time ON events(time_ms);",
    /* The backup catalog: one row per backup, its manifest as JSON (rebuildable from the
     * manifests on the targets: `tend backup sync`). */
    [2] = "CREATE TABLE backups ("
          "  job TEXT NOT NULL,"
          "  id TEXT NOT NULL,"
          "  started_ms INTEGER NOT NULL,"
          "  manifest TEXT NOT NULL,"
          "  PRIMARY KEY (job, id));"
          "CREATE INDEX backups_started ON backups(started_ms);",
    /* One-minute metric roll-ups (watch/series.c, store/metrics.c). Series keys live once in
     * metric_series; rows are clustered by (series, minute) so a range read of one series is
     * one b-tree walk, and pruning walks each series' old end through the same key: no second
     * index to write every minute. */
    [3] = "CREATE TABLE metric_series ("
          "  id INTEGER PRIMARY KEY,"
          "  key TEXT NOT NULL UNIQUE);"
          "CREATE TABLE metrics ("
          "  series INTEGER NOT NULL REFERENCES metric_series(id),"
          "  minute_ms INTEGER NOT NULL,"
          "  min REAL NOT NULL,"
          "  avg REAL NOT NULL,"
          "  max REAL NOT NULL,"
          "  last REAL NOT NULL,"
          "  PRIMARY KEY (series, minute_ms)) WITHOUT ROWID;",
    /* Alert history (store/alerts.c): one row per state change of an alert rule (inactive,
     * pending, firing, resolved), for `tend alerts` and /v1/alerts. value NULL = no data. */
    [4] = "CREATE TABLE alert_history ("
          "  id INTEGER PRIMARY KEY,"
          "  time_ms INTEGER NOT NULL,"
          "  name TEXT NOT NULL,"
          "  rule TEXT NOT NULL,"
          "  severity TEXT NOT NULL,"
          "  state TEXT NOT NULL,"
          "  from_state TEXT NOT NULL,"
          "  value REAL,"
          "  value_text TEXT NOT NULL,"
          "  summary TEXT NOT NULL,"
          "  silenced INTEGER NOT NULL);"
          "CREATE INDEX alert_history_time ON alert_history(time_ms);"
          "CREATE INDEX alert_history_name_time ON alert_history(name, time_ms);",
};

int store_schema_version(void)
{
    return (int)ARRAY_LEN(migrations) - 1;
}

static int sql_fail(struct store *s, const char *what, struct err *err)
{
    return err_set(err, -EIO, "cannot %s %s: %s", what, s->path, sqlite3_errmsg(s->db));
}

static int user_version(struct store *s, int *v, struct err *err)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(s->db, "PRAGMA user_version", -1, &st, NULL) != SQLITE_OK ||
        sqlite3_step(st) != SQLITE_ROW) {
        int rc = sql_fail(s, "read the schema version of", err);
        sqlite3_finalize(st);
        return rc;
    }
    *v = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    return 0;
}

/* One step inside one transaction; *done when the schema is current. */
static int step(struct store *s, bool *done, struct err *err)
{
    int v = 0, rc;
    char sql[64];
    if (sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
        return sql_fail(s, "lock", err);
    rc = user_version(s, &v, err);
    if (rc < 0)
        goto rollback;
    if (v > store_schema_version()) {
        rc = err_set(err, -TE_STATE,
                     "%s was written by a newer tend (schema %d, this binary "
                     "knows %d)",
                     s->path, v, store_schema_version());
        err_hint(err, "upgrade tend");
        goto rollback;
    }
    *done = v == store_schema_version();
    if (!*done) {
        str_fmt(sql, sizeof sql, "PRAGMA user_version = %d", v + 1);
        if (sqlite3_exec(s->db, migrations[v + 1], NULL, NULL, NULL) != SQLITE_OK ||
            sqlite3_exec(s->db, sql, NULL, NULL, NULL) != SQLITE_OK) {
            rc = err_set(err, -EIO, "cannot migrate %s to schema %d: %s", s->path, v + 1,
                         sqlite3_errmsg(s->db));
            goto rollback;
        }
    }
    if (sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
        return sql_fail(s, "commit the schema of", err);
    return 0;
rollback:
    sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    return rc;
}

int store__migrate(struct store *s, struct err *err)
{
    bool done = false;
    while (!done) {
        int rc = step(s, &done, err);
        if (rc < 0)
            return rc;
    }
    return 0;
}
