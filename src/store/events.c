/* store/events.c: the events table (what `tend events` and /v1/events show).
 *
 * One row per state change users care about (STYLE 5). Reads return the newest `limit` rows
 * that match, oldest first, so a terminal shows them in time order; the query walks the
 * (app, time_ms) or (time_ms) index backwards and stops at `limit`, so its cost does not grow
 * with the table. Ties in time keep insertion order (id). */
#include <errno.h>
#include <stdlib.h>

#include "core/err.h"
#include "core/tlog.h"
#include "core/util.h"
#include "store/store_int.h"

#define EVENTS_MAX 10000 /* the most one read returns; limit <= 0 means this */

#define COLS "SELECT time_ms, kind, app, instance, message FROM events "
#define ORDER " ORDER BY time_ms DESC, id DESC LIMIT "

int store__events_prepare(struct store *s, struct err *err)
{
    static const struct {
        size_t offset;
        const char *sql;
    } stmts[] = {
        {offsetof(struct store, ev_insert),
         "INSERT INTO events(time_ms, kind, app, instance, message) VALUES (?1, ?2, ?3, ?4, ?5)"},
        {offsetof(struct store, ev_all), COLS "WHERE time_ms >= ?1" ORDER "?2"},
        {offsetof(struct store, ev_app), COLS "WHERE app = ?3 AND time_ms >= ?1" ORDER "?2"},
        {offsetof(struct store, ev_prune), "DELETE FROM events WHERE time_ms < ?1"},
    };
    for (size_t i = 0; i < ARRAY_LEN(stmts); i++) {
        sqlite3_stmt **st = (sqlite3_stmt **)((char *)s + stmts[i].offset);
        if (sqlite3_prepare_v3(s->db, stmts[i].sql, -1, SQLITE_PREPARE_PERSISTENT, st, NULL) !=
            SQLITE_OK)
            return err_set(err, -EIO, "cannot prepare a query on %s: %s", s->path,
                           sqlite3_errmsg(s->db));
    }
    return 0;
}

void store__events_finalize(struct store *s)
{
    sqlite3_finalize(s->ev_insert);
    sqlite3_finalize(s->ev_all);
    sqlite3_finalize(s->ev_app);
    sqlite3_finalize(s->ev_prune);
    s->ev_insert = s->ev_all = s->ev_app = s->ev_prune = NULL;
}


/* Run a statement that returns no rows, then make it ready for its next use. */
static int run(struct store *s, sqlite3_stmt *st, const char *what)
{
    int rc = sqlite3_step(st);
    int out = rc == SQLITE_DONE ? 0 : store__errno(rc);
    if (out < 0)
        tlog_warn("store", "cannot %s in %s: %s", what, s->path, sqlite3_errmsg(s->db));
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return out;
}

int store_event_add(struct store *s, int64_t time_ms, const char *kind, const char *app,
                    int instance, const char *msg)
{
    sqlite3_stmt *st = s->ev_insert;
    sqlite3_bind_int64(st, 1, time_ms);
    sqlite3_bind_text(st, 2, kind, -1, SQLITE_STATIC);
    if (app)
        sqlite3_bind_text(st, 3, app, -1, SQLITE_STATIC);
    if (instance >= 0)
        sqlite3_bind_int(st, 4, instance);
    sqlite3_bind_text(st, 5, msg ? msg : "", -1, SQLITE_STATIC);
    return run(s, st, "record an event");
}

static json_t *column_text_or_null(sqlite3_stmt *st, int col)
{
    const unsigned char *t = sqlite3_column_text(st, col);
    return t ? json_string((const char *)t) : json_null();
}

static json_t *row_json(sqlite3_stmt *st)
{
    return json_pack(
        "{s:I, s:o, s:o, s:o, s:o}", "time", (json_int_t)sqlite3_column_int64(st, 0), "kind",
        column_text_or_null(st, 1), "app", column_text_or_null(st, 2), "instance",
        sqlite3_column_type(st, 3) == SQLITE_NULL ? json_null()
                                                  : json_integer(sqlite3_column_int64(st, 3)),
        "message", column_text_or_null(st, 4));
}

json_t *store_events(struct store *s, const char *app, int64_t since_ms, int limit, struct err *err)
{
    sqlite3_stmt *st = app ? s->ev_app : s->ev_all;
    json_t *newest_first = json_array(), *out = NULL;
    int rc;
    sqlite3_bind_int64(st, 1, since_ms);
    sqlite3_bind_int(st, 2, limit <= 0 || limit > EVENTS_MAX ? EVENTS_MAX : limit);
    if (app)
        sqlite3_bind_text(st, 3, app, -1, SQLITE_STATIC);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        json_array_append_new(newest_first, row_json(st));
    if (rc != SQLITE_DONE) {
        err_set(err, store__errno(rc), "cannot read events from %s: %s", s->path,
                sqlite3_errmsg(s->db));
        goto out;
    }
    out = json_array();
    for (size_t i = json_array_size(newest_first); i-- > 0;)
        json_array_append(out, json_array_get(newest_first, i));
out:
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    json_decref(newest_first);
    return out;
}

int store_events_prune(struct store *s, int64_t before_ms)
{
    sqlite3_bind_int64(s->ev_prune, 1, before_ms);
    int rc = run(s, s->ev_prune, "prune events");
    if (rc == 0)
        tlog_debug("store", "pruned %d events older than %lld", sqlite3_changes(s->db),
                   (long long)before_ms);
    return rc;
}
