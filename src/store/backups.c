/* store/backups.c: the backup catalog (what `tend backup list` shows without touching targets).
 *
 * The catalog is a cache of the manifests written beside each backup on its targets: the
 * daemon records each manifest when a run, a verification or a drill writes it, forgets a
 * backup when retention prunes it, and `tend backup sync` rebuilds the rows from the targets'
 * manifests, so losing tend.db loses nothing. Calls are rare (a few per backup), so statements
 * are prepared per call rather than kept. */
#include <errno.h>
#include <stdlib.h>

#include "core/err.h"
#include "core/util.h"
#include "store/store_int.h"

#define BACKUPS_MAX 1000

static int fail(struct store *s, const char *what, struct err *err)
{
    return err_set(err, store__errno(sqlite3_errcode(s->db)),
                   "cannot %s the backup catalog in %s: %s", what, s->path,
                   sqlite3_errmsg(s->db));
}

static int put(struct store *s, const char *job, const char *id, int64_t started_ms,
               const char *manifest_json)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(s->db,
                                "INSERT OR REPLACE INTO backups(job, id, started_ms, manifest) "
                                "VALUES (?1, ?2, ?3, ?4)",
                                -1, &st, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_text(st, 1, job, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, id, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 3, started_ms);
        sqlite3_bind_text(st, 4, manifest_json, -1, SQLITE_STATIC);
        rc = sqlite3_step(st);
    }
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : -EIO;
}

int store_backup_put(struct store *s, const char *job, const char *id, int64_t started_ms,
                     const char *manifest_json)
{
    return put(s, job, id, started_ms, manifest_json);
}

int store_backup_delete(struct store *s, const char *job, const char *id)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(s->db, "DELETE FROM backups WHERE job = ?1 AND "
                                "(id = ?2 OR json_extract(manifest, '$.file') = ?2)", -1, &st,
                                NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_text(st, 1, job, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, id, -1, SQLITE_STATIC);
        rc = sqlite3_step(st);
    }
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : -EIO;
}

json_t *store_backups(struct store *s, const char *job, int limit, struct err *err)
{
    sqlite3_stmt *st = NULL;
    const char *sql = job ? "SELECT manifest FROM backups WHERE job = ?1 "
                            "ORDER BY started_ms DESC, id DESC LIMIT ?2"
                          : "SELECT manifest FROM backups ORDER BY started_ms DESC, id DESC "
                            "LIMIT ?2";
    if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK) {
        fail(s, "read", err);
        return NULL;
    }
    if (job)
        sqlite3_bind_text(st, 1, job, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 2, limit > 0 && limit < BACKUPS_MAX ? limit : BACKUPS_MAX);
    json_t *out = json_array();
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *text = (const char *)sqlite3_column_text(st, 0);
        json_t *m = text ? json_loads(text, 0, NULL) : NULL;
        if (m)
            json_array_append_new(out, m);
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) {
        json_decref(out);
        fail(s, "read", err);
        return NULL;
    }
    return out;
}

int store_backups_replace(struct store *s, const char *job, json_t *manifests, struct err *err)
{
    if (sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
        return fail(s, "lock", err);
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(s->db, job ? "DELETE FROM backups WHERE job = ?1"
                                           : "DELETE FROM backups",
                                -1, &st, NULL);
    if (rc == SQLITE_OK) {
        if (job)
            sqlite3_bind_text(st, 1, job, -1, SQLITE_STATIC);
        rc = sqlite3_step(st);
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        goto failed;
    size_t i;
    json_t *m;
    json_array_foreach(manifests, i, m)
    {
        const char *mj = json_string_value(json_object_get(m, "job"));
        const char *id = json_string_value(json_object_get(m, "id"));
        if (!mj || !id)
            continue;
        char *text = json_dumps(m, JSON_COMPACT | JSON_SORT_KEYS);
        int prc = text ? put(s, mj, id, json_integer_value(json_object_get(m, "started")), text)
                       : -ENOMEM;
        free(text);
        if (prc < 0)
            goto failed;
    }
    if (sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL) == SQLITE_OK)
        return 0;
failed:
    rc = fail(s, "write", err);
    sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    return rc;
}
