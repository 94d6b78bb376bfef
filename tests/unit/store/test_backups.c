/* tests/unit/store/test_backups.c: the backup catalog: record, list newest first, forget by id or
 * file, and rebuild from manifests in one transaction (`tend backup sync`). */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/err.h"
#include "core/str.h"
#include "store/store.h"
#include "unit.h"

static char dir[] = "/tmp/tend-store-bk-XXXXXX";
static char path[256];

static json_t *manifest(const char *job, const char *id, long long started)
{
    char file[200];
    snprintf(file, sizeof file, "%s.dump.zst", id);
    return json_pack("{s:s, s:s, s:s, s:I}", "job", job, "id", id, "file", file, "started",
                     (json_int_t)started);
}

static void put(struct store *s, json_t *m)
{
    char *text = json_dumps(m, JSON_COMPACT);
    CHECK_INT(store_backup_put(s, json_string_value(json_object_get(m, "job")),
                               json_string_value(json_object_get(m, "id")),
                               json_integer_value(json_object_get(m, "started")), text),
              0);
    free(text);
    json_decref(m);
}

static const char *id_at(json_t *list, size_t i)
{
    return json_string_value(json_object_get(json_array_get(list, i), "id"));
}

TEST(record_list_forget)
{
    struct store *s = NULL;
    struct err e = {0};
    CHECK_INT(store_open(path, &s, &e), 0);
    put(s, manifest("db", "db-1", 1000));
    put(s, manifest("db", "db-3", 3000));
    put(s, manifest("db", "db-2", 2000));
    put(s, manifest("files", "files-1", 2500));
    json_t *all = store_backups(s, NULL, 0, &e), *db = store_backups(s, "db", 2, &e);
    CHECK_INT((int)json_array_size(all), 4);
    CHECK_STR(id_at(all, 0), "db-3");
    CHECK_STR(id_at(all, 1), "files-1");
    CHECK_INT((int)json_array_size(db), 2); /* limit */
    CHECK_STR(id_at(db, 1), "db-2");
    json_decref(all), json_decref(db);
    /* Retention names the file it pruned; the row goes either way. */
    CHECK_INT(store_backup_delete(s, "db", "db-3.dump.zst"), 0);
    CHECK_INT(store_backup_delete(s, "db", "db-1"), 0);
    CHECK_INT(store_backup_delete(s, "db", "not-there"), 0);
    db = store_backups(s, "db", 0, &e);
    CHECK_INT((int)json_array_size(db), 1);
    CHECK_STR(id_at(db, 0), "db-2");
    json_decref(db);
    /* Recording a backup again (a verification result) replaces its row. */
    json_t *m = manifest("db", "db-2", 2000);
    json_object_set_new(m, "verified", json_pack("{s:b}", "ok", 1));
    put(s, m);
    db = store_backups(s, "db", 0, &e);
    CHECK_INT((int)json_array_size(db), 1);
    CHECK(json_is_true(json_object_get(json_object_get(json_array_get(db, 0), "verified"), "ok")));
    json_decref(db);
    store_close(s);
}

TEST(replace_is_per_job)
{
    struct store *s = NULL;
    struct err e = {0};
    CHECK_INT(store_open(path, &s, &e), 0);
    json_t *found = json_pack("[o, o]", manifest("db", "db-7", 7000), manifest("db", "db-8", 8000));
    CHECK_INT(store_backups_replace(s, "db", found, &e), 0);
    json_decref(found);
    json_t *db = store_backups(s, "db", 0, &e), *files = store_backups(s, "files", 0, &e);
    CHECK_INT((int)json_array_size(db), 2);
    CHECK_STR(id_at(db, 0), "db-8");
    CHECK_INT((int)json_array_size(files), 1); /* another job's rows untouched */
    json_decref(db), json_decref(files);
    /* The whole catalog: every job replaced by what the targets hold. */
    json_t *none = json_array();
    CHECK_INT(store_backups_replace(s, NULL, none, &e), 0);
    json_decref(none);
    json_t *all = store_backups(s, NULL, 0, &e);
    CHECK_INT((int)json_array_size(all), 0);
    json_decref(all);
    store_close(s);
}

int main(void)
{
    if (!mkdtemp(dir))
        return 1;
    str_fmt(path, sizeof path, "%s/tend.db", dir);
    RUN(record_list_forget);
    RUN(replace_is_per_job);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0)
        return 1;
    return unit_done();
}
