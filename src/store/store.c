/* store/store.c: opening and closing tend.db.
 *
 * The file is created 0600 by us before SQLite opens it (SQLite would create it 0644 less the
 * umask, and its -wal and -shm files copy the database's mode), so history is never readable
 * by other users. Settings: WAL (readers never block the loop's writes), synchronous=NORMAL
 * (durable at checkpoints, no fsync per event: history, not state), a short busy timeout (a
 * CLI reading the file must not stall the daemon for long), foreign keys on. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/err.h"
#include "core/str.h"
#include "core/util.h"
#include "store/store_int.h"

#define BUSY_TIMEOUT_MS 200

static int exec(struct store *s, const char *sql, struct err *err)
{
    char *msg = NULL;
    if (sqlite3_exec(s->db, sql, NULL, NULL, &msg) == SQLITE_OK)
        return 0;
    int rc = err_set(err, -EIO, "cannot open %s: %s", s->path, msg ? msg : "sqlite error");
    sqlite3_free(msg);
    return rc;
}

static int wal_on(void *arg, int ncol, char **val, char **names)
{
    *(int *)arg = ncol == 1 && val[0] && strcmp(val[0], "wal") == 0;
    return 0;
}

static int configure(struct store *s, struct err *err)
{
    int is_wal = 0;
    sqlite3_extended_result_codes(s->db, 1);
    sqlite3_busy_timeout(s->db, BUSY_TIMEOUT_MS);
    char *msg = NULL;
    if (sqlite3_exec(s->db, "PRAGMA journal_mode=WAL", wal_on, &is_wal, &msg) != SQLITE_OK) {
        int rc = err_set(err, -EIO, "cannot open %s: %s", s->path, msg ? msg : "sqlite error");
        sqlite3_free(msg);
        return rc;
    }
    if (!is_wal)
        return err_set(err, -EIO, "cannot open %s: the database refused WAL mode", s->path);
    return exec(s, "PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON", err);
}

int store_open(const char *path, struct store **out, struct err *err)
{
    struct store *s = xcalloc(1, sizeof *s);
    s->path = str_dup(path);
    int rc = 0;
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0 || close(fd) < 0) {
        rc = err_sys(err, "cannot create %s", path);
        goto out;
    }
    if (sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) !=
        SQLITE_OK) {
        rc = err_set(err, -EIO, "cannot open %s: %s", path,
                     s->db ? sqlite3_errmsg(s->db) : "out of memory");
        goto out;
    }
    rc = configure(s, err);
    if (rc == 0)
        rc = store__migrate(s, err);
    if (rc == 0)
        rc = store__events_prepare(s, err);
    if (rc < 0)
        goto out;
    *out = s;
    return 0;
out:
    store_close(s);
    return rc;
}

void store_close(struct store *s)
{
    if (!s)
        return;
    store__events_finalize(s);
    sqlite3_close(s->db); /* every statement is finalized: this cannot be SQLITE_BUSY */
    free(s->path);
    free(s);
}

/* A SQLite result code as the -errno tend reports (busy, full disk, no memory, read-only). */
int store__errno(int rc)
{
    switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        return -EBUSY;
    case SQLITE_FULL:
        return -ENOSPC;
    case SQLITE_NOMEM:
        return -ENOMEM;
    case SQLITE_READONLY:
    case SQLITE_PERM:
        return -EACCES;
    default:
        return -EIO;
    }
}
