/* backup/run.c: the steps of one backup run.
 *
 *   prepare -> [list databases] -> before -> dump -> finalize -> (dump again per database)
 *   -> after -> cleanup
 *
 * `dump` starts the source tool (pg_dump, redis-cli --rdb -, tar) with its stdout on a pipe, and
 * `age -r ...` when the job is encrypted, then one worker thread reads the pipe in chunks:
 * count -> compress -> count -> [age] -> SHA-256 -> ".<file>.partial" in the first target's
 * folder, then fsync. `finalize` (a thread again) renames it into place, writes the manifest,
 * copies to the other targets and applies retention. The run succeeds only when the thread and
 * every tool succeeded; otherwise cleanup deletes the partial file, so a failed, killed or
 * timed-out run never leaves a valid-looking backup. S3 targets are refused here until
 * target_s3.c exists. */
#include "backup/backup_int.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include "core/afile.h"
#include "core/buf.h"
#include "core/cryptox.h"
#include "core/clock.h"
#include "core/str.h"
#include "core/tlog.h"
#include "core/util.h"

#define DUMP_STEP 4 /* index of run_dump in backup__run_steps, where each database starts */

/* The first local target, or -1. A run writes its file there (as a hidden .partial, renamed
 * into place) and copies it to the other targets from there. */
static int home_target(const struct cfg_backup *j)
{
    for (size_t i = 0; i < j->ntargets; i++)
        if (j->targets[i].kind == CFG_TARGET_LOCAL)
            return (int)i;
    return -1;
}

/* Where a run stages its file: the first local target, else home/backup/staging (a job with
 * only object-storage targets uploads from there, then the staged file is removed). */
static const char *target0(const struct backup_op *op)
{
    int h = home_target(op->job);
    return h >= 0 ? op->job->targets[h].path : op->staging;
}

/* A run that died with the daemon (SIGKILL, power loss) leaves ".<job>-<time>....partial" in
 * the staging folder: never a valid-looking backup, but space. Only this job's names are
 * removed, and only when no run of the job is going (the caller is the job's only run). */
static void remove_stale_partials(const struct backup_op *op)
{
    const struct cfg_backup *j = op->job;
    char prefix[NAME_MAX + 2], id[NAME_MAX + 1], file[NAME_MAX + 1], suffix[NAME_MAX + 16];
    /* The suffix every file name of this job has, from a real name. */
    if (backup__file_name(j, NULL, 0, id, sizeof id, file, sizeof file) < 0)
        return;
    snprintf(suffix, sizeof suffix, "%s.partial", file + strlen(id));
    snprintf(prefix, sizeof prefix, ".%s-", j->name);
    DIR *d = opendir(target0(op));
    struct dirent *e;
    while (d && (e = readdir(d))) {
        size_t n = strlen(e->d_name), np = strlen(prefix), ns = strlen(suffix);
        if (n < np + ns + 16 || !str_starts(e->d_name, prefix) || !str_ends(e->d_name, suffix))
            continue;
        const char *when = e->d_name + n - ns - 16; /* YYYYMMDDTHHMMSSZ */
        if (when[8] != 'T' || when[15] != 'Z' || strspn(when, "0123456789") != 8)
            continue;
        if (when != e->d_name + np && !(j->all_databases || (j->databases && j->databases[1])))
            continue; /* "<job>-<something>-<time>": another job's name, not a database */
        if (unlinkat(dirfd(d), e->d_name, 0) == 0)
            tlog_warn("backup", "%s: removed %s, left by a run that did not finish", j->name,
                      e->d_name);
    }
    if (d)
        closedir(d);
}

static int run_prepare(struct backup_op *op)
{
    struct err e = {0};
    const struct cfg_backup *j = op->job;
    for (size_t i = 0; i < j->ntargets; i++)
        if (!backup__target_kind(j->targets[i].kind))
            return backup__op_fail(op, -TE_INVALID, "%s targets are not available yet",
                                   cfg_target_kind_name(j->targets[i].kind));
    str_fmt(op->staging, sizeof op->staging, "%s/backup/staging", backup__home(op->b));
    if (afile_mkdirs(target0(op), 0700, &e) < 0)
        return backup__op_fail(op, e.code, "%s", e.msg);
    remove_stale_partials(op);
    op->result = json_array();
    size_t n = 0;
    while (j->databases && j->databases[n])
        n++;
    op->dbs = xcalloc(n + 1, sizeof *op->dbs);
    for (size_t i = 0; i < n; i++)
        op->dbs[i] = str_dup(j->databases[i]);
    return BACKUP_STEP_NEXT;
}

/* `databases: all`: ask the server which databases there are. */
static int run_list_dbs(struct backup_op *op)
{
    char out[PATH_MAX], *bare, *pw, env[600] = "";
    if (!op->job->all_databases)
        return BACKUP_STEP_NEXT;
    backup__url_split(op->job->url, &bare, &pw);
    char *url = backup__url_with_db(bare, "postgres");
    if (pw)
        snprintf(env, sizeof env, "PGPASSWORD=%s", pw);
    const char *argv[] = {"psql",
                          "-X",
                          "-A",
                          "-t",
                          "-v",
                          "ON_ERROR_STOP=1",
                          "-d",
                          url,
                          "-c",
                          "select datname from pg_database where datallowconn and not "
                          "datistemplate order by 1",
                          NULL};
    const char *envv[] = {env, NULL};
    backup__op_path(op, "databases.txt", out, sizeof out);
    int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    int rc = fd < 0 ? backup__op_fail(op, -errno, "cannot create %s", out)
                    : backup__op_spawn(op, "psql", argv, pw ? envv : NULL, -1, fd);
    free(url);
    free(bare);
    free(pw);
    return rc;
}

static int run_read_dbs(struct backup_op *op)
{
    char path[PATH_MAX];
    struct buf b;
    if (!op->job->all_databases)
        return BACKUP_STEP_NEXT;
    buf_init(&b, 0);
    backup__op_path(op, "databases.txt", path, sizeof path);
    read_file(path, 1 << 20, &b);
    size_t n = 0, cap = 8;
    op->dbs = xrealloc(op->dbs, cap * sizeof *op->dbs);
    for (char *line = b.ptr, *save = NULL; line; line = save) {
        save = strchr(line, '\n');
        if (save)
            *save++ = '\0';
        if (!*line || strcmp(line, "postgres") == 0)
            continue;
        if (n + 2 > cap)
            op->dbs = xrealloc(op->dbs, (cap *= 2) * sizeof *op->dbs);
        op->dbs[n++] = str_dup(line);
    }
    op->dbs[n] = NULL;
    buf_fini(&b);
    return n ? BACKUP_STEP_NEXT
             : backup__op_fail(op, -TE_NOTFOUND, "the server has no database to back up");
}

/* before/after: /bin/sh -c, with the job (and the file) in the environment. */
static int hook(struct backup_op *op, const char *name, const char *cmd)
{
    char job[200], file[PATH_MAX + 32];
    if (!cmd)
        return BACKUP_STEP_NEXT;
    snprintf(job, sizeof job, "TEND_BACKUP_JOB=%s", op->job->name);
    if (str_fmt(file, sizeof file, "TEND_BACKUP_FILE=%s/%s", target0(op), op->file) < 0)
        return backup__op_fail(op, -ENAMETOOLONG, "backup file name too long");
    const char *argv[] = {"/bin/sh", "-c", cmd, NULL}, *env[] = {job, file, NULL};
    return backup__op_spawn(op, name, argv, env, -1, -1);
}

static int run_before(struct backup_op *op)
{
    return hook(op, "before", op->job->before);
}

static int run_after(struct backup_op *op)
{
    return hook(op, "after", op->job->after);
}

/* The source tool's argv into v (max entries); free_source_argv() frees what it allocated. */
static void source_argv(struct backup_op *op, const char *url, const char **v, size_t max)
{
    const struct cfg_backup *j = op->job;
    size_t n = 0;
    if (j->source == CFG_BACKUP_POSTGRES) {
        v[n++] = "pg_dump";
        v[n++] = j->format == CFG_PG_PLAIN ? "--format=plain" : "--format=custom";
        v[n++] = "--no-password";
        /* The custom format compresses with zlib by default: compress once, in our stage, at
         * the job's level (docs/benchmarks.md "Backups": zstd 3 is twice as fast as zlib 6). */
        if (j->format == CFG_PG_CUSTOM && j->compress != CFG_COMPRESS_NONE)
            v[n++] = "--compress=0";
        v[n++] = "--dbname";
        v[n++] = url;
    } else if (j->source == CFG_BACKUP_REDIS) {
        v[n++] = "redis-cli";
        v[n++] = "-u";
        v[n++] = url;
        v[n++] = "--rdb";
        v[n++] = "-";
    } else {
        v[n++] = "tar";
        v[n++] = "--create";
        v[n++] = "--file=-";
        v[n++] = "--format=posix";
        v[n++] = "--numeric-owner";
        for (size_t i = 0; j->exclude && j->exclude[i] && n + 4 < max; i++) {
            v[n++] = "--exclude";
            v[n++] = j->exclude[i];
        }
        /* -C parent base: the archive holds "uploads/...", restorable into any folder. */
        for (size_t i = 0; j->paths && j->paths[i] && n + 4 < max; i++) {
            const char *p = j->paths[i], *slash = strrchr(p, '/');
            v[n++] = "-C";
            v[n++] = slash == p ? "/" : str_ndup(p, (size_t)(slash - p));
            v[n++] = slash[1] ? slash + 1 : ".";
        }
    }
    v[n] = NULL;
}

static void free_source_argv(const char **v)
{
    for (size_t i = 0; v[i]; i++) {
        if (strcmp(v[i], "-C") == 0 && strcmp(v[i + 1], "/") != 0)
            free((char *)v[i + 1]);
        if (strcmp(v[i], "-C") == 0 || strcmp(v[i], "--exclude") == 0)
            i++; /* skip the argument */
    }
}

static int spawn_source(struct backup_op *op, int out_fd)
{
    const struct cfg_backup *j = op->job;
    char *bare = NULL, *pw = NULL, env[600] = "";
    const char *argv[72];
    backup__url_split(j->url, &bare, &pw);
    char *url = j->source == CFG_BACKUP_POSTGRES && op->db ? backup__url_with_db(bare, op->db)
                                                           : str_dup(bare);
    if (pw)
        snprintf(env, sizeof env, "%s=%s",
                 j->source == CFG_BACKUP_REDIS ? "REDISCLI_AUTH" : "PGPASSWORD", pw);
    const char *envv[] = {env, NULL};
    source_argv(op, url ? url : "", argv, ARRAY_LEN(argv));
    int rc = backup__op_spawn(op, argv[0], argv, pw ? envv : NULL, -1, out_fd);
    free_source_argv(argv);
    free(url);
    free(bare);
    free(pw);
    return rc;
}

/* age -r R1 -r R2 ...: reads stdin, writes stdout. */
static int spawn_age(struct backup_op *op, int in_fd, int out_fd)
{
    const char *argv[40];
    size_t n = 0;
    argv[n++] = "age";
    for (size_t i = 0; op->job->recipients[i] && n + 3 < ARRAY_LEN(argv); i++) {
        argv[n++] = "-r";
        argv[n++] = op->job->recipients[i];
    }
    argv[n] = NULL;
    return backup__op_spawn(op, "age", argv, NULL, in_fd, out_fd);
}

static void dump_work(struct backup_op *op, struct err *err)
{
    const struct cfg_backup *j = op->job;
    struct stage *hash = backup__stage_hash();
    struct stage *s[] = {
        backup__stage_count(&op->raw_bytes),
        backup__stage_codec(j->compress, j->level, false),
        backup__stage_count(&op->packed_bytes),
        op->fds[2] >= 0 ? backup__stage_child(op->fds[2], op->fds[3], "age") : NULL,
        hash,
        backup__stage_fd(op->fds[1]),
    };
    op->fds[2] = op->fds[3] = -1; /* the child stage owns them now */
    struct stage *head = backup__chain(s, ARRAY_LEN(s), err);
    int rc = backup__pump(op->fds[0], head, err);
    backup__stage_hash_result(hash, op->sha256, &op->stored_bytes);
    backup__chain_free(head);
    if (rc == 0 && fsync(op->fds[1]) < 0)
        err_sys(err, "cannot write %s", op->staged);
    if (close(op->fds[1]) < 0 && err->code == 0)
        err_sys(err, "cannot write %s", op->staged);
    close(op->fds[0]);
    op->fds[0] = op->fds[1] = -1;
}

static int run_dump(struct backup_op *op)
{
    int src[2] = {-1, -1}, in[2] = {-1, -1}, out[2] = {-1, -1};
    free(op->db);
    op->db = str_dup(op->dbs[op->idb]);
    op->started_ms = clock_wall_ms();
    bool many = op->dbs[0] && (op->dbs[1] || op->job->all_databases);
    /* Names have one-second resolution: a second run within the same second (or a clock that
     * stepped back) takes the next free second, so a backup never replaces another. */
    char taken[PATH_MAX];
    for (int64_t name_ms = op->started_ms;; name_ms += 1000) {
        if (backup__file_name(op->job, many ? op->db : NULL, name_ms, op->id, sizeof op->id,
                              op->file, sizeof op->file) < 0 ||
            str_fmt(op->staged, sizeof op->staged, "%s/.%s.partial", target0(op), op->file) < 0 ||
            str_fmt(taken, sizeof taken, "%s/%s.json", target0(op), op->file) < 0)
            return backup__op_fail(op, -ENAMETOOLONG, "backup file name too long");
        if (access(taken, F_OK) != 0 || name_ms > op->started_ms + 3600 * 1000)
            break;
    }
    op->fds[1] = open(op->staged, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (op->fds[1] < 0) {
        int e = errno;
        op->staged[0] = '\0'; /* not ours to delete */
        return backup__op_fail(op, -e, "cannot create a file in %s: %s", target0(op), strerror(e));
    }
    op->raw_bytes = op->packed_bytes = op->stored_bytes = 0;
    if (pipe2(src, O_CLOEXEC) < 0 ||
        (op->job->recipients && (pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0)))
        return backup__op_fail(op, -errno, "cannot make a pipe: %s", strerror(errno));
    op->fds[0] = src[0];
    op->fds[2] = in[1];
    op->fds[3] = out[0];
    if (spawn_source(op, src[1]) < 0 || (op->job->recipients && spawn_age(op, in[0], out[1]) < 0))
        return op->rc;
    return backup__op_task(op, dump_work);
}

static json_t *strv_json(char *const *v)
{
    json_t *a = json_array();
    for (size_t i = 0; v && v[i]; i++)
        json_array_append_new(a, json_string(v[i]));
    return a;
}

static json_t *make_manifest(struct backup_op *op)
{
    const struct cfg_backup *j = op->job;
    const struct cryptox *cx = NULL;
    struct err ignored = {0};
    const char *ssl = cryptox_load(&cx, &ignored) == 0 ? cx->version(OPENSSL_VERSION) : "none";
    char masked[600];
    str_mask_url(masked, sizeof masked, j->url ? j->url : "");
    json_t *tools = json_pack("{s:s, s:s, s:s}", "zstd", ZSTD_versionString(), "zlib",
                              zlibVersion(), "openssl", ssl);
    json_t *m = json_pack(
        "{s:i, s:s, s:s, s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:s, s:s, s:i}", "format", 1, "job",
        j->name, "id", op->id, "file", op->file, "source", cfg_backup_source_name(j->source),
        "started", (json_int_t)op->started_ms, "ended", (json_int_t)clock_wall_ms(), "size_raw",
        (json_int_t)op->raw_bytes, "size_compressed", (json_int_t)op->packed_bytes, "size",
        (json_int_t)op->stored_bytes, "sha256", op->sha256, "compress",
        cfg_compress_name(j->compress), "level", j->level);
    json_object_set_new(m, "tools", tools);
    json_object_set_new(m, "encrypted", json_boolean(j->recipients != NULL));
    json_object_set_new(m, "recipients", strv_json(j->recipients));
    if (j->url)
        json_object_set_new(m, "url", json_string(masked));
    if (j->source == CFG_BACKUP_POSTGRES)
        json_object_set_new(m, "pg_format", json_string(cfg_pg_format_name(j->format)));
    if (op->db)
        json_object_set_new(m, "database", json_string(op->db));
    if (j->source == CFG_BACKUP_FILES)
        json_object_set_new(m, "paths", strv_json(j->paths));
    json_t *targets = json_array();
    for (size_t i = 0; i < j->ntargets; i++) {
        const struct cfg_backup_target *t = &j->targets[i];
        char where[PATH_MAX + 16];
        if (t->kind == CFG_TARGET_LOCAL)
            snprintf(where, sizeof where, "local:%s", t->path);
        else
            snprintf(where, sizeof where, "s3://%s/%s", t->bucket ? t->bucket : "",
                     t->prefix ? t->prefix : "");
        json_array_append_new(targets, json_string(where));
    }
    json_object_set_new(m, "targets", targets);
    return m;
}

/* Retention on one target: only this job's backups of this database, never the newest. */
static void prune(struct backup_op *op, const struct cfg_backup_target *t, struct err *err)
{
    const struct target_kind *k = backup__target_kind(t->kind);
    json_t *all = NULL, *m;
    size_t i, n = 0;
    if (k->list(t, op->job->name, &all, err) < 0)
        return;
    json_t *mine = json_array();
    json_array_foreach(all, i, m)
    {
        if (str_eq(json_string_value(json_object_get(m, "database")), op->db))
            json_array_append(mine, m);
    }
    int64_t *times = xcalloc(json_array_size(mine) + 1, sizeof *times);
    bool *keep = xcalloc(json_array_size(mine) + 1, sizeof *keep);
    json_array_foreach(mine, i, m) times[n++] = json_integer_value(json_object_get(m, "started"));
    struct tm tm;
    time_t now = (time_t)(clock_wall_ms() / 1000);
    localtime_r(&now, &tm);
    backup__retention(&op->job->keep, times, n, clock_wall_ms(), tm.tm_gmtoff, keep);
    for (i = 0; i < n; i++) {
        const char *file = json_string_value(json_object_get(json_array_get(mine, i), "file"));
        if (keep[i] || !file || k->remove(t, file, err) < 0)
            continue;
        json_array_append_new(json_object_get(op->manifest, "pruned"), json_string(file));
    }
    free(times);
    free(keep);
    json_decref(mine);
    json_decref(all);
}

static void finalize_work(struct backup_op *op, struct err *err)
{
    const struct cfg_backup *j = op->job;
    char stored[PATH_MAX];
    int h = home_target(j);
    json_t *pruned = json_object_get(op->manifest, "pruned");
    json_incref(pruned);
    json_object_del(op->manifest, "pruned");
    char *text = json_dumps(op->manifest, JSON_INDENT(2) | JSON_SORT_KEYS);
    json_object_set_new(op->manifest, "pruned", pruned);
    /* The local target that staged the file first (a rename), then the others, reading the
     * stored file (or, with no local target, the staged one, removed by cleanup). */
    if (str_fmt(stored, sizeof stored, "%s/%s", target0(op), op->file) < 0) {
        free(text);
        err_set(err, -ENAMETOOLONG, "backup file name too long");
        return;
    }
    for (size_t n = 0; n < j->ntargets && err->code == 0; n++) {
        size_t i = h < 0 ? n : n == 0 ? (size_t)h : n <= (size_t)h ? n - 1 : n;
        const struct target_kind *k = backup__target_kind(j->targets[i].kind);
        const char *from = h >= 0 && n > 0 ? stored : op->staged;
        if (k->put(&j->targets[i], from, op->file, text, err) < 0)
            err_prefix(err, "cannot store the backup in target %zu", i + 1);
        else if (h >= 0 && n == 0)
            op->staged[0] = '\0'; /* it is the backup now */
    }
    free(text);
    for (size_t i = 0; i < j->ntargets && err->code == 0; i++) {
        struct err e = {0};
        prune(op, &j->targets[i], &e); /* a failed delete keeps a backup: never fatal */
    }
}

static int run_finalize(struct backup_op *op)
{
    json_decref(op->manifest);
    op->manifest = make_manifest(op);
    json_object_set_new(op->manifest, "pruned", json_array());
    json_array_append(op->result, op->manifest);
    if (op->dbs[op->idb] && op->dbs[++op->idb])
        op->step = DUMP_STEP; /* the next database, once this one is stored */
    return backup__op_task(op, finalize_work);
}

backup_step_fn *const backup__run_steps[] = {
    run_prepare,  run_list_dbs, run_read_dbs,         run_before,           run_dump,
    run_finalize, run_after,    backup__step_finally, backup__step_cleanup, NULL,
};
