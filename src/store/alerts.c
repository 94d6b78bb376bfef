/* store/alerts.c: the alert_history table (what `tend alerts` shows as recent, and /v1/alerts).
 *
 * One row per state change of an alert rule, written by the daemon from the alert engine's
 * on_transition callback. Changes are rare (a few per incident), so statements are prepared per
 * call rather than kept in struct store: this file then needs nothing in store.c. Reads return
 * the newest `limit` rows that match, oldest first, walking the (time_ms) or (name, time_ms)
 * index backwards, as events.c does. */
#include <errno.h>

#include "core/err.h"
#include "core/tlog.h"
#include "store/store_int.h"

#define ALERTS_MAX 10000 /* the most one read returns; limit <= 0 means this */


static int prepare(struct store *s, const char *sql, sqlite3_stmt **st, struct err *err)
{
    int rc = sqlite3_prepare_v2(s->db, sql, -1, st, NULL);
    if (rc != SQLITE_OK)
        return err_set(err, store__errno(rc), "cannot prepare a query on %s: %s", s->path,
                       sqlite3_errmsg(s->db));
    return 0;
}

/* Step a statement that returns no rows, finalize it, and log a failure. */
static int run_once(struct store *s, sqlite3_stmt *st, const char *what)
{
    int rc = sqlite3_step(st), out = rc == SQLITE_DONE ? 0 : store__errno(rc);
    if (out < 0)
        tlog_warn("store", "cannot %s in %s: %s", what, s->path, sqlite3_errmsg(s->db));
    sqlite3_finalize(st);
    return out;
}

int store_alert_add(struct store *s, const struct store_alert_row *r)
{
    sqlite3_stmt *st = NULL;
    struct err err;
    int rc = prepare(s,
                     "INSERT INTO alert_history(time_ms, name, rule, severity, state, from_state,"
                     " value, value_text, summary, silenced)"
                     " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                     &st, &err);
    if (rc < 0) {
        tlog_warn("store", "%s", err.msg);
        return rc;
    }
    sqlite3_bind_int64(st, 1, r->time_ms);
    sqlite3_bind_text(st, 2, r->name ? r->name : "", -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, r->rule ? r->rule : "", -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, r->severity ? r->severity : "", -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 5, r->state ? r->state : "", -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 6, r->from_state ? r->from_state : "", -1, SQLITE_STATIC);
    if (r->has_value)
        sqlite3_bind_double(st, 7, r->value);
    sqlite3_bind_text(st, 8, r->value_text ? r->value_text : "", -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 9, r->summary ? r->summary : "", -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 10, r->is_silenced != 0);
    return run_once(s, st, "record an alert change");
}

static json_t *text_or_null(sqlite3_stmt *st, int col)
{
    const unsigned char *t = sqlite3_column_text(st, col);
    return t ? json_string((const char *)t) : json_null();
}

static json_t *row_json(sqlite3_stmt *st)
{
    return json_pack("{s:I, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:b}", "time",
                     (json_int_t)sqlite3_column_int64(st, 0), "name", text_or_null(st, 1), "rule",
                     text_or_null(st, 2), "severity", text_or_null(st, 3), "state",
                     text_or_null(st, 4), "from", text_or_null(st, 5), "value",
                     sqlite3_column_type(st, 6) == SQLITE_NULL
                         ? json_null()
                         : json_real(sqlite3_column_double(st, 6)),
                     "value_text", text_or_null(st, 7), "summary", text_or_null(st, 8), "silenced",
                     sqlite3_column_int(st, 9) != 0);
}

json_t *store_alerts(struct store *s, const char *name, int64_t since_ms, int limit,
                     struct err *err)
{
#define COLS                                                                                       \
    "SELECT time_ms, name, rule, severity, state, from_state, value, value_text, summary,"         \
    " silenced FROM alert_history "
#define ORDER " ORDER BY time_ms DESC, id DESC LIMIT ?2"
    sqlite3_stmt *st = NULL;
    json_t *newest_first = json_array(), *out = NULL;
    int rc = prepare(
        s, name ? COLS "WHERE name = ?3 AND time_ms >= ?1" ORDER : COLS "WHERE time_ms >= ?1" ORDER,
        &st, err);
#undef COLS
#undef ORDER
    if (rc < 0)
        goto out;
    sqlite3_bind_int64(st, 1, since_ms);
    sqlite3_bind_int(st, 2, limit <= 0 || limit > ALERTS_MAX ? ALERTS_MAX : limit);
    if (name)
        sqlite3_bind_text(st, 3, name, -1, SQLITE_STATIC);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        json_array_append_new(newest_first, row_json(st));
    if (rc != SQLITE_DONE) {
        err_set(err, store__errno(rc), "cannot read the alert history from %s: %s", s->path,
                sqlite3_errmsg(s->db));
        goto out;
    }
    out = json_array();
    for (size_t i = json_array_size(newest_first); i-- > 0;)
        json_array_append(out, json_array_get(newest_first, i));
out:
    sqlite3_finalize(st);
    json_decref(newest_first);
    return out;
}

int store_alerts_prune(struct store *s, int64_t before_ms)
{
    sqlite3_stmt *st = NULL;
    int rc = prepare(s, "DELETE FROM alert_history WHERE time_ms < ?1", &st, NULL);
    if (rc < 0)
        return rc;
    sqlite3_bind_int64(st, 1, before_ms);
    rc = run_once(s, st, "prune the alert history");
    if (rc == 0)
        tlog_debug("store", "pruned %d alert changes older than %lld", sqlite3_changes(s->db),
                   (long long)before_ms);
    return rc;
}
