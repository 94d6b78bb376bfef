/* backup/restore.c: the steps of verify, drill, restore and list, and the cleanup every
 * operation ends with.
 *
 *   verify:  check (thread: size and SHA-256 of the file in every local target) -> cleanup
 *   drill:   pick -> create scratch db -> stream -> query -> drop -> record -> cleanup
 *   restore: pick (+ emptiness of a path) -> [count relations] -> [judge] -> stream -> cleanup
 *   list:    list -> cleanup
 *
 * `stream` reverses the backup pipeline: file -> SHA-256 -> [age -d -i identity] -> decompress
 * -> the tool (pg_restore, psql, tar -x) or a file (RDB). The checksum is compared at the end;
 * age and zstd authenticate what they read, so corrupt bytes fail the stream early as well.
 * A drill always drops its scratch database, also when an earlier step failed (drop and record
 * run after cleanup_from). A restore refuses a non-empty target without `yes`. */
#include "backup/backup_int.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/afile.h"
#include "core/buf.h"
#include "core/clock.h"
#include "core/str.h"
#include "core/util.h"

#define DEFAULT_QUERY                                                                              \
    "select count(*) from pg_catalog.pg_tables where schemaname not in ('pg_catalog', "            \
    "'information_schema')"

/* ---- picking a backup ---------------------------------------------------------------------------
 */
/* Which targets hold the backup: bit i for job->targets[i] (at most 32 targets are tracked). */
static bool on_target(const struct backup_op *op, size_t i)
{
    return i < 32 && (op->on_targets & (1u << i));
}

/* The backup `op->id_arg` (NULL = newest) from the first target that lists it; every target is
 * asked, so a lost local disk still restores from object storage. A target that cannot be read
 * is skipped (its error kept for the message when no target has the backup). */
static int pick(struct backup_op *op, struct err *err)
{
    struct err first = {0};
    json_t *m = NULL;
    size_t from = 0;
    op->on_targets = 0;
    for (size_t i = 0; i < op->job->ntargets; i++) {
        const struct cfg_backup_target *t = &op->job->targets[i];
        const struct target_kind *k = backup__target_kind(t->kind);
        json_t *all = NULL;
        struct err e = {0};
        if (!k || k->list(t, op->job->name, &all, &e) < 0) {
            if (!first.code)
                first = e;
            continue;
        }
        backup__manifests_sort(all);
        json_t *found = m ? backup__manifest_pick(all, json_string_value(json_object_get(m, "id")))
                          : backup__manifest_pick(all, op->id_arg);
        if (found && i < 32)
            op->on_targets |= 1u << i;
        if (found && !m) {
            m = json_deep_copy(found);
            from = i;
        }
        json_decref(all);
    }
    if (!m) {
        if (first.code)
            return err_set(err, first.code, "%s", first.msg);
        return op->id_arg ? err_set(err, -TE_NOTFOUND, "backup \"%s\" has no backup \"%s\"",
                                    op->job->name, op->id_arg)
                          : err_set(err, -TE_NOTFOUND, "backup \"%s\" has no backups yet",
                                    op->job->name);
    }
    op->manifest = m;
    str_copy(op->file, json_string_value(json_object_get(m, "file")), sizeof op->file);
    str_copy(op->id, json_string_value(json_object_get(m, "id")), sizeof op->id);
    const struct cfg_backup_target *t = &op->job->targets[from];
    return backup__target_kind(t->kind)->fetch(t, op->file, op->dir, &op->src_path, err);
}

/* Record a result in the manifest on every target that holds the backup (never on one that
 * does not: a manifest without its file would look like a backup). */
static void note(struct backup_op *op, const char *key, json_t *value)
{
    json_object_set_new(op->manifest, key, value);
    char *text = json_dumps(op->manifest, JSON_INDENT(2) | JSON_SORT_KEYS);
    for (size_t i = 0; i < op->job->ntargets; i++) {
        struct err e = {0};
        const struct cfg_backup_target *t = &op->job->targets[i];
        if (on_target(op, i))
            backup__target_kind(t->kind)->update(t, op->file, text, &e);
    }
    free(text);
}

/* ---- verify -------------------------------------------------------------------------------------
 */
static int hash_file(const char *path, char hex[65], uint64_t *size, struct err *err)
{
    struct err e = {0};
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return err_sys(err, "cannot open %s", path);
    struct stage *h = backup__stage_hash();
    h->err = &e;
    int rc = backup__pump(fd, h, &e);
    backup__stage_hash_result(h, hex, size);
    h->free(h);
    close(fd);
    return rc < 0 ? err_set(err, rc, "cannot read %s: %s", path, e.msg) : 0;
}

static void verify_work(struct backup_op *op, struct err *err)
{
    char hex[65], path[PATH_MAX];
    uint64_t size = 0;
    int checked = 0;
    if (pick(op, err) < 0)
        return;
    const char *want = json_string_value(json_object_get(op->manifest, "sha256"));
    uint64_t want_size = (uint64_t)json_integer_value(json_object_get(op->manifest, "size"));
    for (size_t i = 0; i < op->job->ntargets && err->code == 0; i++) {
        const struct cfg_backup_target *t = &op->job->targets[i];
        char *fetched = NULL;
        if (!on_target(op, i))
            continue;
        /* Each target's own copy: local in place, object storage downloaded to scratch. */
        if (backup__target_kind(t->kind)->fetch(t, op->file, op->dir, &fetched, err) < 0)
            break;
        str_copy(path, fetched, sizeof path);
        free(fetched);
        int hrc = hash_file(path, hex, &size, err);
        if (str_starts(path, op->dir) && !str_eq(path, op->src_path))
            unlink(path);
        if (hrc < 0)
            break;
        checked++;
        if (!str_eq(hex, want) || size != want_size)
            err_set(err, -TE_INVALID,
                    "%s is damaged: %llu bytes with SHA-256 %.12s..., the manifest says %llu "
                    "bytes with %.12s...",
                    path, (unsigned long long)size, hex, (unsigned long long)want_size,
                    want ? want : "?");
    }
    note(op, "verified",
         json_pack("{s:I, s:b}", "at", (json_int_t)clock_wall_ms(), "ok", err->code == 0));
    op->result =
        json_pack("{s:s, s:b, s:s, s:I, s:i}", "id", op->id, "ok", err->code == 0, "sha256",
                  want ? want : "", "size", (json_int_t)want_size, "targets", checked);
}

static int verify_check(struct backup_op *op)
{
    return backup__op_task(op, verify_work);
}

/* ---- the restore stream
 * --------------------------------------------------------------------------- */
static void stream_work(struct backup_op *op, struct err *err)
{
    const struct cfg_backup *j = op->job;
    const char *cm = json_string_value(json_object_get(op->manifest, "compress"));
    enum cfg_compress c = str_eq(cm, "zstd")   ? CFG_COMPRESS_ZSTD
                          : str_eq(cm, "gzip") ? CFG_COMPRESS_GZIP
                                               : CFG_COMPRESS_NONE;
    struct stage *hash = backup__stage_hash();
    struct stage *s[] = {
        hash,
        op->fds[2] >= 0 ? backup__stage_child(op->fds[2], op->fds[3], "age") : NULL,
        backup__stage_codec(c, 0, true),
        backup__stage_fd(op->fds[1]),
    };
    op->fds[2] = op->fds[3] = -1;
    struct stage *head = backup__chain(s, ARRAY_LEN(s), err);
    int rc = backup__pump(op->fds[0], head, err);
    backup__stage_hash_result(hash, op->sha256, &op->stored_bytes);
    backup__chain_free(head);
    if (close(op->fds[1]) < 0 && rc == 0)
        err_sys(err, "cannot write the restored data");
    close(op->fds[0]);
    op->fds[0] = op->fds[1] = -1;
    const char *want = json_string_value(json_object_get(op->manifest, "sha256"));
    if (rc == 0 && !str_eq(want, op->sha256))
        err_set(err, -TE_INVALID, "%s does not match its manifest's SHA-256", op->file);
    (void)j;
}

/* The restoring tool for postgres, reading stdin. */
static int spawn_pg_restore(struct backup_op *op, const char *to, int in_fd)
{
    char *bare, *pw, env[600] = "";
    backup__url_split(to, &bare, &pw);
    if (pw)
        snprintf(env, sizeof env, "PGPASSWORD=%s", pw);
    const char *envv[] = {env, NULL};
    const char *plain = json_string_value(json_object_get(op->manifest, "pg_format"));
    const char *custom[] = {
        "pg_restore", "--no-owner", "--no-privileges",          "--exit-on-error",
        "--dbname",   bare,         op->yes ? "--clean" : NULL, "--if-exists",
        NULL};
    const char *sql[] = {"psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d",
                         bare,   "-f", "-",  "-o", "/dev/null",       NULL};
    int rc = backup__op_spawn(op, str_eq(plain, "plain") ? "psql" : "pg_restore",
                              str_eq(plain, "plain") ? sql : custom, pw ? envv : NULL, in_fd, -1);
    free(bare);
    free(pw);
    return rc;
}

static int open_consumer(struct backup_op *op, const char *to)
{
    int p[2];
    char path[PATH_MAX];
    struct err e = {0};
    if (op->job->source == CFG_BACKUP_REDIS) {
        struct stat st;
        snprintf(path, sizeof path, "%s%s", to,
                 stat(to, &st) == 0 && S_ISDIR(st.st_mode) ? "/dump.rdb" : "");
        op->fds[1] = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        return op->fds[1] < 0 ? backup__op_fail(op, -errno, "cannot create %s", path) : 0;
    }
    if (pipe2(p, O_CLOEXEC) < 0)
        return backup__op_fail(op, -errno, "cannot make a pipe: %s", strerror(errno));
    op->fds[1] = p[1];
    if (op->job->source == CFG_BACKUP_POSTGRES)
        return spawn_pg_restore(op, to, p[0]);
    if (afile_mkdirs(to, 0755, &e) < 0) {
        close(p[0]);
        return backup__op_fail(op, e.code, "%s", e.msg);
    }
    const char *argv[] = {
        "tar", "--extract", "--file=-", "--preserve-permissions", "--numeric-owner",
        "-C",  to,          NULL};
    return backup__op_spawn(op, "tar", argv, NULL, p[0], -1);
}

static int stream_to(struct backup_op *op, const char *to)
{
    int in[2], out[2];
    bool enc = json_is_true(json_object_get(op->manifest, "encrypted"));
    if (enc && !op->job->identity)
        return backup__op_fail(op, -TE_INVALID,
                               "%s is encrypted and the job's \"encrypt\" "
                               "has no \"identity\" to decrypt it with",
                               op->file);
    op->fds[0] = open(op->src_path, O_RDONLY | O_CLOEXEC);
    if (op->fds[0] < 0)
        return backup__op_fail(op, -errno, "cannot open %s", op->src_path);
    if (open_consumer(op, to) < 0)
        return op->rc;
    if (enc) {
        if (pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0)
            return backup__op_fail(op, -errno, "cannot make a pipe: %s", strerror(errno));
        op->fds[2] = in[1];
        op->fds[3] = out[0];
        const char *argv[] = {"age", "--decrypt", "--identity", op->job->identity, NULL};
        if (backup__op_spawn(op, "age", argv, NULL, in[0], out[1]) < 0)
            return op->rc;
    }
    return backup__op_task(op, stream_work);
}

/* ---- drill
 * ------------------------------------------------------------------------------------------ */
static void pick_work(struct backup_op *op, struct err *err)
{
    struct stat st;
    if (pick(op, err) < 0 || op->kind != BACKUP_OP_RESTORE ||
        op->job->source == CFG_BACKUP_POSTGRES || op->yes)
        return;
    /* Files and redis: the target path must not hold anything yet. */
    bool busy = false;
    if (op->job->source == CFG_BACKUP_FILES) {
        DIR *d = opendir(op->to);
        struct dirent *e;
        while (d && !busy && (e = readdir(d)))
            busy = strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
        if (d)
            closedir(d);
    } else if (stat(op->to, &st) == 0) {
        char p[PATH_MAX];
        snprintf(p, sizeof p, "%s/dump.rdb", op->to);
        busy = !S_ISDIR(st.st_mode) || access(p, F_OK) == 0;
    }
    if (busy) {
        err_set(err, -TE_STATE, "%s is not empty; restoring over it needs --yes", op->to);
        err_hint(err, "restore into an empty folder, or add --yes to overwrite");
    }
}

static int step_pick(struct backup_op *op)
{
    return backup__op_task(op, pick_work);
}

/* psql -c SQL against `db` of the job's server, stdout to `out` in the scratch folder. */
static int psql(struct backup_op *op, const char *url, const char *db, const char *sql,
                const char *out)
{
    char *bare, *pw, env[600] = "", path[PATH_MAX];
    backup__url_split(url, &bare, &pw);
    char *u = db ? backup__url_with_db(bare, db) : str_dup(bare);
    if (pw)
        snprintf(env, sizeof env, "PGPASSWORD=%s", pw);
    const char *envv[] = {env, NULL};
    const char *argv[] = {"psql", "-X", "-A", "-t", "-q", "-v", "ON_ERROR_STOP=1",
                          "-d",   u,    "-c", sql,  NULL};
    backup__op_path(op, out, path, sizeof path);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    int rc = fd < 0 ? backup__op_fail(op, -errno, "cannot create %s", path)
                    : backup__op_spawn(op, "psql", argv, pw ? envv : NULL, -1, fd);
    free(u);
    free(bare);
    free(pw);
    return rc;
}

static int drill_create(struct backup_op *op)
{
    char sql[200], when[32];
    time_t t = (time_t)(clock_wall_ms() / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(when, sizeof when, "%Y%m%d%H%M%S", &tm);
    snprintf(op->scratch_db, sizeof op->scratch_db, "tend_drill_%.30s_%s", op->job->name, when);
    snprintf(sql, sizeof sql, "CREATE DATABASE \"%s\"", op->scratch_db);
    return psql(op, op->job->url, "postgres", sql, "create.txt");
}

static int drill_stream(struct backup_op *op)
{
    char *bare, *pw;
    backup__url_split(op->job->url, &bare, &pw);
    char *to = backup__url_with_db(op->job->url, op->scratch_db);
    int rc = stream_to(op, to);
    free(to);
    free(bare);
    free(pw);
    return rc;
}

static int drill_query(struct backup_op *op)
{
    const char *q = op->job->drill_query ? op->job->drill_query : DEFAULT_QUERY;
    return psql(op, op->job->url, op->scratch_db, q, "answer.txt");
}

static int drill_drop(struct backup_op *op)
{
    char sql[200];
    if (!op->scratch_db[0])
        return BACKUP_STEP_NEXT; /* never created */
    snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS \"%s\"", op->scratch_db);
    return psql(op, op->job->url, "postgres", sql, "drop.txt");
}

/* Read the answer and record the drill, passed or failed, in the manifest. */
static void record_work(struct backup_op *op, struct err *err)
{
    char path[PATH_MAX];
    struct buf b;
    buf_init(&b, 4096);
    backup__op_path(op, "answer.txt", path, sizeof path);
    read_file(path, 4000, &b);
    char *answer = b.ptr ? b.ptr : "";
    answer[strcspn(answer, "\n")] = '\0';
    bool ok = op->rc == 0 && answer[0];
    if (ok && !op->job->drill_query && strcmp(answer, "0") == 0) {
        err_set(err, -TE_INVALID, "the drill restored %s but found no tables in it", op->file);
        ok = false;
    } else if (op->rc == 0 && !ok) {
        err_set(err, -TE_INVALID, "the drill query returned nothing");
    }
    uint64_t ms = clock_mono_ms() - op->started_mono;
    note(op, "drill",
         json_pack("{s:I, s:b, s:s, s:s, s:I, s:s}", "at", (json_int_t)clock_wall_ms(), "ok", ok,
                   "database", op->scratch_db, "answer", answer, "ms", (json_int_t)ms, "error",
                   ok           ? ""
                   : op->rc < 0 ? op->err.msg
                                : err->msg));
    op->result = json_pack("{s:s, s:s, s:s, s:s, s:I}", "id", op->id, "database", op->scratch_db,
                           "query", op->job->drill_query ? op->job->drill_query : DEFAULT_QUERY,
                           "answer", answer, "ms", (json_int_t)ms);
    buf_fini(&b);
}

static int drill_record(struct backup_op *op)
{
    return op->manifest ? backup__op_task(op, record_work) : BACKUP_STEP_NEXT;
}

/* ---- restore
 * ---------------------------------------------------------------------------------------- */
static int restore_count(struct backup_op *op)
{
    static const char sql[] =
        "select count(*) from pg_class c join pg_namespace n on n.oid = c.relnamespace where "
        "c.relkind in ('r', 'p', 'v', 'm', 'S', 'f') and n.nspname not in ('pg_catalog', "
        "'information_schema') and n.nspname not like 'pg_toast%'";
    if (op->job->source != CFG_BACKUP_POSTGRES)
        return BACKUP_STEP_NEXT;
    return psql(op, op->to, NULL, sql, "count.txt");
}

static int restore_judge(struct backup_op *op)
{
    char path[PATH_MAX];
    struct buf b;
    if (op->job->source != CFG_BACKUP_POSTGRES)
        return BACKUP_STEP_NEXT;
    buf_init(&b, 0);
    backup__op_path(op, "count.txt", path, sizeof path);
    read_file(path, 4096, &b);
    long n = b.ptr ? strtol(b.ptr, NULL, 10) : 0;
    buf_fini(&b);
    if (n > 0 && !op->yes) {
        char masked[600];
        str_mask_url(masked, sizeof masked, op->to);
        backup__op_fail(op, -TE_STATE,
                        "database \"%s\" already has %ld tables or other "
                        "relations; restoring over them needs --yes",
                        masked, n);
        err_hint(&op->err, "restore into a new database (createdb), or add --yes to replace");
        return op->rc;
    }
    return BACKUP_STEP_NEXT;
}

static int restore_stream(struct backup_op *op)
{
    return stream_to(op, op->to);
}

static int restore_result(struct backup_op *op)
{
    char masked[600];
    str_mask_url(masked, sizeof masked, op->to);
    op->result = json_pack("{s:s, s:s, s:I}", "id", op->id, "to", masked, "size",
                           (json_int_t)op->stored_bytes);
    return BACKUP_STEP_NEXT;
}

/* ---- list
 * ---------------------------------------------------------------------------------------------- */
static void list_work(struct backup_op *op, struct err *err)
{
    op->result = json_array();
    json_t *seen = json_object();
    for (size_t i = 0; i < op->snap->n; i++) {
        const struct cfg_backup *j = op->snap->jobs[i];
        if (op->job && op->job != j)
            continue;
        /* The union over every target: a backup is listed once, from the first that has it. */
        for (size_t k = 0; k < j->ntargets; k++) {
            const struct target_kind *kind = backup__target_kind(j->targets[k].kind);
            json_t *all = NULL, *m;
            size_t x;
            struct err e = {0};
            if (!kind || kind->list(&j->targets[k], j->name, &all, &e) < 0) {
                if (!err->code)
                    *err = e;
                continue;
            }
            json_array_foreach(all, x, m)
            {
                const char *id = json_string_value(json_object_get(m, "id"));
                if (!id || json_object_get(seen, id))
                    continue;
                json_object_set_new(seen, id, json_true());
                json_array_append(op->result, m);
            }
            json_decref(all);
        }
    }
    json_decref(seen);
    /* A target that could not be read fails the listing: `backup sync` must not rebuild the
     * catalog from part of the targets and forget the backups of the others. */
    backup__manifests_sort(op->result);
}

static int step_list(struct backup_op *op)
{
    return backup__op_task(op, list_work);
}

/* ---- cleanup
 * -------------------------------------------------------------------------------------------- */
static void cleanup_work(struct backup_op *op, struct err *err)
{
    char path[PATH_MAX];
    (void)err;
    if (op->staged[0])
        unlink(op->staged); /* a run that did not finish: never a valid-looking file */
    DIR *d = opendir(op->dir);
    struct dirent *e;
    while (d && (e = readdir(d)))
        if (e->d_name[0] != '.' && str_fmt(path, sizeof path, "%s/%s", op->dir, e->d_name) == 0)
            unlink(path);
    if (d)
        closedir(d);
    rmdir(op->dir);
}

int backup__step_cleanup(struct backup_op *op)
{
    return backup__op_task(op, cleanup_work);
}

int backup__step_finally(struct backup_op *op)
{
    (void)op;
    return BACKUP_STEP_NEXT;
}

backup_step_fn *const backup__verify_steps[] = {verify_check, backup__step_finally,
                                                backup__step_cleanup, NULL};
backup_step_fn *const backup__drill_steps[] = {
    step_pick,  drill_create, drill_stream,         drill_query, backup__step_finally,
    drill_drop, drill_record, backup__step_cleanup, NULL,
};
backup_step_fn *const backup__restore_steps[] = {
    step_pick,      restore_count,        restore_judge,        restore_stream,
    restore_result, backup__step_finally, backup__step_cleanup, NULL,
};
backup_step_fn *const backup__list_steps[] = {step_list, backup__step_finally, backup__step_cleanup,
                                              NULL};
