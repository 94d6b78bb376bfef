/* tests/unit/store/test_alerts.c: the alert history in tend.db: record, read back, prune.
 *
 * What `tend alerts` shows as "recent": transitions in time order, no data kept as null (not 0),
 * filtered by rule name and time, the newest `limit`, and gone after pruning. A database made
 * at the schema before this table gets it on open. */
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/err.h"
#include "core/str.h"
#include "store/store.h"
#include "unit.h"

static char dir[] = "/tmp/tend-store-alerts-XXXXXX";
static char path[256];

static void fresh(void)
{
    char side[300];
    unlink(path);
    str_fmt(side, sizeof side, "%s-wal", path);
    unlink(side);
    str_fmt(side, sizeof side, "%s-shm", path);
    unlink(side);
}

static struct store *open_ok(void)
{
    struct store *s = NULL;
    struct err e = {0};
    if (store_open(path, &s, &e) < 0)
        UNIT_FAIL("store_open: %s", e.msg);
    return s;
}

static void add(struct store *s, int64_t t, const char *name, const char *from, const char *to,
                int has_value, double v)
{
    struct store_alert_row r = {
        .time_ms = t,
        .name = name,
        .rule = "cpu > 70% for 5m",
        .severity = "warning",
        .state = to,
        .from_state = from,
        .has_value = has_value,
        .value = v,
        .value_text = has_value ? "83%" : "no data",
        .summary = "cpu is 83% (> 70%) for 5m",
        .is_silenced = strcmp(name, "quiet") == 0,
    };
    CHECK_INT(store_alert_add(s, &r), 0);
}

static const char *str_at(json_t *a, size_t i, const char *key)
{
    return json_string_value(json_object_get(json_array_get(a, i), key));
}

TEST(transitions_read_back_in_time_order)
{
    fresh();
    struct store *s = open_ok();
    add(s, 1000, "high-cpu", "inactive", "pending", 1, 83);
    add(s, 301000, "high-cpu", "pending", "firing", 1, 83.5);
    add(s, 2000, "quiet", "inactive", "firing", 0, 0);
    add(s, 400000, "high-cpu", "firing", "resolved", 1, 40);
    struct err e = {0};
    json_t *all = store_alerts(s, NULL, 0, 0, &e);
    CHECK_INT(json_array_size(all), 4);
    CHECK_STR(str_at(all, 0, "state"), "pending");
    CHECK_STR(str_at(all, 1, "name"), "quiet");
    CHECK(json_is_null(json_object_get(json_array_get(all, 1), "value")));
    CHECK(json_is_true(json_object_get(json_array_get(all, 1), "silenced")));
    CHECK_STR(str_at(all, 2, "from"), "pending");
    CHECK(json_real_value(json_object_get(json_array_get(all, 2), "value")) == 83.5);
    CHECK_STR(str_at(all, 3, "state"), "resolved");
    CHECK_STR(str_at(all, 3, "summary"), "cpu is 83% (> 70%) for 5m");
    CHECK_INT(json_integer_value(json_object_get(json_array_get(all, 3), "time")), 400000);
    json_decref(all);

    json_t *one = store_alerts(s, "high-cpu", 2000, 0, &e); /* since 2s: not the first */
    CHECK_INT(json_array_size(one), 2);
    CHECK_STR(str_at(one, 0, "state"), "firing");
    json_decref(one);

    json_t *last = store_alerts(s, NULL, 0, 2, &e); /* the newest two, oldest first */
    CHECK_INT(json_array_size(last), 2);
    CHECK_STR(str_at(last, 0, "state"), "firing");
    CHECK_STR(str_at(last, 1, "state"), "resolved");
    json_decref(last);
    store_close(s);
}

TEST(prune_drops_old_transitions_only)
{
    fresh();
    struct store *s = open_ok();
    add(s, 1000, "a", "inactive", "firing", 1, 1);
    add(s, 5000, "a", "firing", "resolved", 1, 1);
    add(s, 9000, "b", "inactive", "firing", 1, 1);
    CHECK_INT(store_alerts_prune(s, 5000), 0);
    struct err e = {0};
    json_t *all = store_alerts(s, NULL, 0, 0, &e);
    CHECK_INT(json_array_size(all), 2);
    CHECK_INT(json_integer_value(json_object_get(json_array_get(all, 0), "time")), 5000);
    json_decref(all);
    store_close(s);
    /* Kept across a reopen. */
    s = open_ok();
    all = store_alerts(s, "b", 0, 0, &e);
    CHECK_INT(json_array_size(all), 1);
    json_decref(all);
    store_close(s);
}

TEST(an_older_database_gains_the_table)
{
    fresh();
    sqlite3 *db;
    CHECK(sqlite3_open(path, &db) == SQLITE_OK);
    /* Schema 1 only (events), as an older tend left it. */
    CHECK(sqlite3_exec(db,
                       "CREATE TABLE events (id INTEGER PRIMARY KEY, time_ms INTEGER NOT NULL,"
                       " kind TEXT NOT NULL, app TEXT, instance INTEGER, message TEXT NOT NULL);"
                       "CREATE INDEX events_app_time ON events(app, time_ms);"
                       "CREATE INDEX events_time ON events(time_ms);"
                       "PRAGMA user_version = 1;",
                       NULL, NULL, NULL) == SQLITE_OK);
    sqlite3_close(db);
    struct store *s = open_ok();
    add(s, 1, "a", "inactive", "firing", 1, 1);
    struct err e = {0};
    json_t *all = store_alerts(s, NULL, 0, 0, &e);
    CHECK_INT(json_array_size(all), 1);
    json_decref(all);
    store_close(s);
}

int main(void)
{
    if (!mkdtemp(dir))
        return 1;
    str_fmt(path, sizeof path, "%s/tend.db", dir);
    RUN(transitions_read_back_in_time_order);
    RUN(prune_drops_old_transitions_only);
    RUN(an_older_database_gains_the_table);
    fresh();
    rmdir(dir);
    return unit_done();
}
