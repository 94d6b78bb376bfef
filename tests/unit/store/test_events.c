/* tests/unit/store/test_events.c: tend.db: creation, events, pruning, migrations, refusal. */
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/err.h"
#include "core/str.h"
#include "store/store.h"
#include "unit.h"

static char dir[] = "/tmp/tend-store-XXXXXX";
static char path[256];

static void fresh(void)
{
    unlink(path);
    char side[300];
    str_fmt(side, sizeof side, "%s-wal", path);
    unlink(side);
    str_fmt(side, sizeof side, "%s-shm", path);
    unlink(side);
}

static struct store *open_ok(void)
{
    struct store *s = NULL;
    struct err e = {0};
    int rc = store_open(path, &s, &e);
    if (rc < 0)
        UNIT_FAIL("store_open: %s", e.msg);
    return s;
}

static const char *ev_str(json_t *evs, size_t i, const char *key)
{
    return json_string_value(json_object_get(json_array_get(evs, i), key));
}

TEST(create_is_0600_and_wal)
{
    fresh();
    mode_t old = umask(0);
    struct store *s = open_ok();
    umask(old);
    struct stat st;
    CHECK(stat(path, &st) == 0);
    CHECK_INT(st.st_mode & 0777, 0600);
    CHECK(s != NULL);
    store_close(s);
    sqlite3 *db;
    CHECK(sqlite3_open(path, &db) == SQLITE_OK);
    sqlite3_stmt *q;
    CHECK(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &q, NULL) == SQLITE_OK);
    CHECK(sqlite3_step(q) == SQLITE_ROW);
    CHECK_STR((const char *)sqlite3_column_text(q, 0), "wal");
    sqlite3_finalize(q);
    CHECK(sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &q, NULL) == SQLITE_OK);
    CHECK(sqlite3_step(q) == SQLITE_ROW);
    CHECK_INT(sqlite3_column_int(q, 0), store_schema_version());
    sqlite3_finalize(q);
    sqlite3_close(db);
}

TEST(insert_and_query)
{
    fresh();
    struct store *s = open_ok();
    if (!s)
        return;
    CHECK_INT(store_event_add(s, 1000, "start", "api", 0, "api:0 started"), 0);
    CHECK_INT(store_event_add(s, 2000, "exit", "api", 0, "api:0 exited with code 1"), 0);
    CHECK_INT(store_event_add(s, 3000, "start", "web", -1, "web started"), 0);
    CHECK_INT(store_event_add(s, 4000, "config_applied", NULL, -1, "tend.yaml applied"), 0);
    CHECK_INT(store_event_add(s, 5000, "start", "api", 1, "api:1 started"), 0);

    json_t *all = store_events(s, NULL, 0, 100, NULL);
    CHECK_INT(json_array_size(all), 5);
    CHECK_STR(ev_str(all, 0, "message"), "api:0 started"); /* oldest first */
    CHECK_INT(json_integer_value(json_object_get(json_array_get(all, 0), "time")), 1000);
    CHECK_INT(json_integer_value(json_object_get(json_array_get(all, 0), "instance")), 0);
    CHECK(json_is_null(json_object_get(json_array_get(all, 2), "instance")));
    CHECK(json_is_null(json_object_get(json_array_get(all, 3), "app")));
    CHECK_STR(ev_str(all, 3, "kind"), "config_applied");
    json_decref(all);

    json_t *api = store_events(s, "api", 0, 100, NULL);
    CHECK_INT(json_array_size(api), 3);
    CHECK_STR(ev_str(api, 2, "message"), "api:1 started");
    json_decref(api);

    json_t *since = store_events(s, "api", 2000, 100, NULL);
    CHECK_INT(json_array_size(since), 2);
    CHECK_STR(ev_str(since, 0, "kind"), "exit");
    json_decref(since);

    /* The newest `limit`, returned oldest first. */
    json_t *last2 = store_events(s, NULL, 0, 2, NULL);
    CHECK_INT(json_array_size(last2), 2);
    CHECK_STR(ev_str(last2, 0, "message"), "tend.yaml applied");
    CHECK_STR(ev_str(last2, 1, "message"), "api:1 started");
    json_decref(last2);

    json_t *none = store_events(s, "nope", 0, 10, NULL);
    CHECK_INT(json_array_size(none), 0);
    json_decref(none);
    store_close(s);
}

TEST(same_time_keeps_insert_order)
{
    fresh();
    struct store *s = open_ok();
    if (!s)
        return;
    store_event_add(s, 7, "a", "x", 0, "first");
    store_event_add(s, 7, "b", "x", 0, "second");
    store_event_add(s, 7, "c", "x", 0, "third");
    json_t *evs = store_events(s, "x", 0, 2, NULL);
    CHECK_INT(json_array_size(evs), 2);
    CHECK_STR(ev_str(evs, 0, "message"), "second");
    CHECK_STR(ev_str(evs, 1, "message"), "third");
    json_decref(evs);
    store_close(s);
}

TEST(prune)
{
    fresh();
    struct store *s = open_ok();
    if (!s)
        return;
    for (int i = 0; i < 10; i++)
        store_event_add(s, i * 100, "tick", "a", i, "tick");
    CHECK_INT(store_events_prune(s, 500), 0);
    json_t *evs = store_events(s, NULL, 0, 0, NULL);
    CHECK_INT(json_array_size(evs), 5);
    CHECK_INT(json_integer_value(json_object_get(json_array_get(evs, 0), "time")), 500);
    json_decref(evs);
    store_close(s);
}

TEST(reopen_keeps_data)
{
    fresh();
    struct store *s = open_ok();
    if (!s)
        return;
    store_event_add(s, 1, "start", "a", 0, "kept");
    store_close(s);
    s = open_ok(); /* migrations run again: nothing to do, nothing lost */
    if (!s)
        return;
    json_t *evs = store_events(s, NULL, 0, 10, NULL);
    CHECK_INT(json_array_size(evs), 1);
    CHECK_STR(ev_str(evs, 0, "message"), "kept");
    json_decref(evs);
    store_close(s);
}

TEST(refuses_newer_schema)
{
    fresh();
    store_close(open_ok());
    sqlite3 *db;
    CHECK(sqlite3_open(path, &db) == SQLITE_OK);
    CHECK(sqlite3_exec(db, "PRAGMA user_version = 999", NULL, NULL, NULL) == SQLITE_OK);
    sqlite3_close(db);
    struct store *s = NULL;
    struct err e = {0};
    CHECK(store_open(path, &s, &e) < 0);
    CHECK(s == NULL);
    char want[120];
    snprintf(want, sizeof want, "written by a newer tend (schema 999, this binary knows %d)",
             store_schema_version());
    CHECK(strstr(e.msg, want) != NULL);
    CHECK_STR(e.hint, "upgrade tend");
    /* Refusing did not touch the file. */
    CHECK(sqlite3_open(path, &db) == SQLITE_OK);
    sqlite3_stmt *q;
    CHECK(sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &q, NULL) == SQLITE_OK);
    CHECK(sqlite3_step(q) == SQLITE_ROW);
    CHECK_INT(sqlite3_column_int(q, 0), 999);
    sqlite3_finalize(q);
    sqlite3_close(db);
}

TEST(not_a_database)
{
    fresh();
    FILE *f = fopen(path, "w");
    fputs("this is not sqlite, just some text that is long enough to have a header.......\n"
          "...............................................................................\n",
          f);
    fclose(f);
    struct store *s = NULL;
    struct err e = {0};
    CHECK(store_open(path, &s, &e) < 0);
    CHECK(strstr(e.msg, path) != NULL);
    CHECK(strstr(e.msg, "not a database") != NULL);
}

TEST(missing_folder)
{
    struct store *s = NULL;
    struct err e = {0};
    CHECK(store_open("/nonexistent-tend-dir/tend.db", &s, &e) < 0);
    CHECK(strstr(e.msg, "cannot create /nonexistent-tend-dir/tend.db") != NULL);
}

int main(void)
{
    if (!mkdtemp(dir))
        return 1;
    str_fmt(path, sizeof path, "%s/tend.db", dir);
    RUN(create_is_0600_and_wal);
    RUN(insert_and_query);
    RUN(same_time_keeps_insert_order);
    RUN(prune);
    RUN(reopen_keeps_data);
    RUN(refuses_newer_schema);
    RUN(not_a_database);
    RUN(missing_folder);
    fresh();
    rmdir(dir);
    return unit_done();
}
