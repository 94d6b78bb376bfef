/* store/metrics.c: one-minute metric roll-ups (`tend metrics --since 24h`, the dashboard).
 *
 * The daemon inserts one batch a minute (every series' closed minute) in one transaction, so a
 * minute is either all there or not at all and the WAL sees one commit a minute, not hundreds.
 * Series keys are stored once (metric_series); rows are keyed (series, minute_ms) in a
 * WITHOUT ROWID table, so reading one series' range and pruning each series' old end are both
 * walks of that one key. Calls are once a minute (insert), once a day (prune) or per CLI
 * request, so statements are prepared per call rather than kept in struct store.
 * A roll-up with a NaN field is skipped: SQLite would store it as NULL. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/str.h"
#include "core/util.h"
#include "store/store_int.h"

#define RANGE_MAX 100000 /* 69 days of one series at one row a minute */

static int fail(struct store *s, const char *what, struct err *err)
{
    int code = store__errno(sqlite3_errcode(s->db));
    return err_set(err, code, "cannot %s metrics in %s: %s", what, s->path, sqlite3_errmsg(s->db));
}

static int prepare(struct store *s, const char *sql, sqlite3_stmt **st, const char *what,
                   struct err *err)
{
    if (sqlite3_prepare_v2(s->db, sql, -1, st, NULL) == SQLITE_OK)
        return 0;
    return fail(s, what, err);
}

/* The id of `key` in metric_series, added if new. */
static int series_id(struct store *s, sqlite3_stmt *find, sqlite3_stmt *add, const char *key,
                     int64_t *id)
{
    sqlite3_bind_text(find, 1, key, -1, SQLITE_STATIC);
    int rc = sqlite3_step(find);
    if (rc == SQLITE_ROW)
        *id = sqlite3_column_int64(find, 0);
    sqlite3_reset(find);
    if (rc == SQLITE_ROW)
        return 0;
    if (rc != SQLITE_DONE)
        return -EIO;
    sqlite3_bind_text(add, 1, key, -1, SQLITE_STATIC);
    rc = sqlite3_step(add);
    sqlite3_reset(add);
    if (rc != SQLITE_DONE)
        return -EIO;
    *id = sqlite3_last_insert_rowid(s->db);
    return 0;
}

static bool row_ok(const struct store_metric *r)
{
    return r->series && !isnan(r->min) && !isnan(r->avg) && !isnan(r->max) && !isnan(r->last);
}

int store_metrics_insert(struct store *s, const struct store_metric *rows, size_t n,
                         struct err *err)
{
    sqlite3_stmt *find = NULL, *add = NULL, *put = NULL;
    int rc = 0;
    if (!n)
        return 0;
    if (sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
        return fail(s, "record", err);
    if ((rc = prepare(s, "SELECT id FROM metric_series WHERE key = ?1", &find, "record", err)) ||
        (rc = prepare(s, "INSERT INTO metric_series(key) VALUES (?1)", &add, "record", err)) ||
        (rc = prepare(s,
                      "INSERT OR REPLACE INTO metrics(series, minute_ms, min, avg, max, last) "
                      "VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                      &put, "record", err)))
        goto out;
    for (size_t i = 0; i < n; i++) {
        int64_t id;
        if (!row_ok(&rows[i]))
            continue;
        if (series_id(s, find, add, rows[i].series, &id) < 0) {
            rc = fail(s, "record", err);
            goto out;
        }
        sqlite3_bind_int64(put, 1, id);
        sqlite3_bind_int64(put, 2, rows[i].minute_ms);
        sqlite3_bind_double(put, 3, rows[i].min);
        sqlite3_bind_double(put, 4, rows[i].avg);
        sqlite3_bind_double(put, 5, rows[i].max);
        sqlite3_bind_double(put, 6, rows[i].last);
        int step = sqlite3_step(put);
        sqlite3_reset(put);
        if (step != SQLITE_DONE) {
            rc = fail(s, "record", err);
            goto out;
        }
    }
    if (sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
        rc = fail(s, "record", err);
out:
    sqlite3_finalize(find);
    sqlite3_finalize(add);
    sqlite3_finalize(put);
    if (rc < 0)
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    return rc;
}

int store_metrics_range(struct store *s, const char *series, int64_t from_ms, int64_t to_ms,
                        int limit, struct store_metric **rows, size_t *n, struct err *err)
{
    sqlite3_stmt *st = NULL;
    size_t cap = 0, len = 0;
    struct store_metric *out = NULL;
    int rc = prepare(s,
                     "SELECT m.minute_ms, m.min, m.avg, m.max, m.last FROM metrics m "
                     "JOIN metric_series k ON k.id = m.series WHERE k.key = ?1 AND "
                     "m.minute_ms >= ?2 AND m.minute_ms < ?3 ORDER BY m.minute_ms LIMIT ?4",
                     &st, "read", err);
    if (rc < 0)
        return rc;
    sqlite3_bind_text(st, 1, series, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, from_ms);
    sqlite3_bind_int64(st, 3, to_ms);
    sqlite3_bind_int(st, 4, limit <= 0 || limit > RANGE_MAX ? RANGE_MAX : limit);
    int step;
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        if (len == cap)
            out = xrealloc(out, (cap = cap ? cap * 2 : 64) * sizeof *out);
        out[len++] = (struct store_metric){
            .series = series,
            .minute_ms = sqlite3_column_int64(st, 0),
            .min = sqlite3_column_double(st, 1),
            .avg = sqlite3_column_double(st, 2),
            .max = sqlite3_column_double(st, 3),
            .last = sqlite3_column_double(st, 4),
        };
    }
    if (step != SQLITE_DONE) {
        rc = fail(s, "read", err);
        free(out);
        out = NULL;
        len = 0;
    }
    sqlite3_finalize(st);
    *rows = out;
    *n = len;
    return rc;
}

int store_metrics_series(struct store *s, const char *contains, char ***keys, size_t *n,
                         struct err *err)
{
    sqlite3_stmt *st = NULL;
    size_t cap = 0, len = 0;
    char **out = NULL;
    int rc = prepare(s,
                     "SELECT key FROM metric_series WHERE ?1 IS NULL OR instr(key, ?1) > 0 "
                     "ORDER BY key",
                     &st, "list", err);
    if (rc < 0)
        return rc;
    if (contains)
        sqlite3_bind_text(st, 1, contains, -1, SQLITE_STATIC);
    int step;
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        if (len == cap)
            out = xrealloc(out, (cap = cap ? cap * 2 : 32) * sizeof *out);
        out[len++] = str_dup((const char *)sqlite3_column_text(st, 0));
    }
    if (step != SQLITE_DONE) {
        rc = fail(s, "list", err);
        while (len)
            free(out[--len]);
        free(out);
        out = NULL;
    }
    sqlite3_finalize(st);
    *keys = out;
    *n = len;
    return rc;
}

int store_metrics_prune(struct store *s, int64_t before_ms, struct err *err)
{
    sqlite3_stmt *st = NULL;
    int rc = 0;
    if (sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
        return fail(s, "prune", err);
    /* "series IN (all ids)" turns one scan of the table into a range per series on the key. */
    rc = prepare(s,
                 "DELETE FROM metrics WHERE series IN (SELECT id FROM metric_series) "
                 "AND minute_ms < ?1",
                 &st, "prune", err);
    if (rc == 0) {
        sqlite3_bind_int64(st, 1, before_ms);
        if (sqlite3_step(st) != SQLITE_DONE)
            rc = fail(s, "prune", err);
    }
    sqlite3_finalize(st);
    if (rc == 0 && sqlite3_exec(s->db,
                                "DELETE FROM metric_series WHERE NOT EXISTS "
                                "(SELECT 1 FROM metrics WHERE series = metric_series.id)",
                                NULL, NULL, NULL) != SQLITE_OK)
        rc = fail(s, "prune", err);
    if (rc == 0 && sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
        rc = fail(s, "prune", err);
    if (rc < 0)
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    return rc;
}
