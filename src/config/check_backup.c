/* config/check_backup.c: the `backups:` list of tend.yaml into struct cfg_backup.
 *
 * Same method as check_app.c: the job's name is read first so every message can name the job,
 * then each key goes through the fields table, then what spans keys (exactly one source, at
 * least one target, `verify: restore` and `drill` only for postgres). A bad value keeps its
 * default and the check goes on, so one run reports every mistake.
 *
 * struct cfg has no room for backups (its layout and free function belong to snapshot.c), so
 * cfg_load() only checks the list (cfg__check_backups with out = NULL) and the typed jobs are
 * a separate refcounted snapshot that cfg_backups_load() builds from the same source text.
 * Secrets are never quoted back: a bad URL is shown masked. */
#include "config/config_int.h"

#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/str.h"
#include "core/util.h"

void cfg__check_backups(struct cfg__ck *ck, const struct cfg_node *list, struct cfg_backups *out);

static bool want_kind(struct cfg__ck *ck, const char *key, const struct cfg_node *v,
                      enum cfg_node_kind kind, const char *example)
{
    char seen[80];
    if (v->is_bad)
        return false;
    if (v->kind == kind)
        return true;
    cfg__node_describe(v, seen, sizeof seen);
    cfg__error_at(ck, v, "\"%s\" in %s must be %s, not %s", key, ck->what, example, seen);
    return false;
}

/* A scalar or a list of scalars into a NULL-terminated vector (paths made absolute). */
static char **get_strv(struct cfg__ck *ck, const char *key, const struct cfg_node *v, bool is_path)
{
    const struct cfg_node *one = v;
    size_t n = v->kind == CFG_NODE_SEQ ? v->n : 1;
    if (v->kind == CFG_NODE_MAP)
        return want_kind(ck, key, v, CFG_NODE_SEQ, "a list"), NULL;
    char **out = xcalloc(n + 1, sizeof *out);
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (v->kind == CFG_NODE_SEQ)
            one = v->vals[i];
        if (!cfg__want_scalar(ck, key, one, "a string"))
            continue;
        out[k++] = is_path ? cfg__abs_path(ck, one->str) : str_dup(one->str);
    }
    return out;
}

static void get_choice(struct cfg__ck *ck, const char *key, const struct cfg_node *v,
                       const char *const *words, int *out)
{
    char forms[120] = "";
    if (!cfg__want_scalar(ck, key, v, "one of the listed words"))
        return;
    for (int i = 0; words[i]; i++) {
        if (strcmp(v->str, words[i]) == 0) {
            *out = i;
            return;
        }
        snprintf(forms + strlen(forms), sizeof forms - strlen(forms), "%s%s",
                 i ? (words[i + 1] ? ", " : " or ") : "", words[i]);
    }
    const char *sug = str_suggest(v->str, words);
    cfg__error_at(ck, v, "\"%s\" in %s must be %s, not \"%s\"%s%s%s", key, ck->what, forms, v->str,
             sug ? " (did you mean \"" : "", sug ? sug : "", sug ? "\"?)" : "");
}

static void get_cron(struct cfg__ck *ck, const char *key, const struct cfg_node *v, char **expr,
                     struct cron *c)
{
    struct err e = {0};
    if (cfg__get_str(ck, key, v, expr) && cron_parse(c, *expr, &e) < 0)
        cfg__error_at(ck, v, "\"%s\" is not a valid cron expression: %s", key, e.msg);
}

/* ---- sources -------------------------------------------------------------------------------- */
static void check_url(struct cfg__ck *ck, const struct cfg_node *v, const char *const *schemes,
                      char **url)
{
    char masked[300];
    if (!cfg__get_str(ck, "url", v, url))
        return;
    for (size_t i = 0; schemes[i]; i++)
        if (str_starts(*url, schemes[i]))
            return;
    str_mask_url(masked, sizeof masked, *url);
    cfg__error_at(ck, v, "\"url\" in %s must start with %s, not \"%s\"", ck->what, schemes[0], masked);
}

static void f_postgres(struct cfg__ck *ck, struct cfg_backup *b, const struct cfg_node *v)
{
    static const char *const schemes[] = {"postgresql://", "postgres://", NULL};
    static const char *const keys[] = {"url", "databases", "format", NULL};
    static const char *const formats[] = {"custom", "plain", "directory", NULL};
    const struct cfg_node *x;
    b->source = CFG_BACKUP_POSTGRES;
    if (v->kind == CFG_NODE_SCALAR && !v->is_null)
        return check_url(ck, v, schemes, &b->url);
    if (!want_kind(ck, "postgres", v, CFG_NODE_MAP, "a map such as {url: postgresql://...}"))
        return;
    cfg__check_keys(ck, v, keys, NULL, ck->what);
    if ((x = cfg__node_get(v, "url")))
        check_url(ck, x, schemes, &b->url);
    if ((x = cfg__node_get(v, "format"))) {
        int f = CFG_PG_CUSTOM;
        get_choice(ck, "format", x, formats, &f);
        b->format = (enum cfg_pg_format)f;
        if (b->format == CFG_PG_DIRECTORY)
            cfg__error_at(ck, x,
                     "\"format: directory\" in %s is not supported yet: pg_dump writes a folder, "
                     "not a stream; use custom (pg_restore can still pick single tables)",
                     ck->what);
    }
    if ((x = cfg__node_get(v, "databases"))) {
        if (x->kind == CFG_NODE_SCALAR && str_eq(x->str, "all"))
            b->all_databases = true;
        else
            b->databases = get_strv(ck, "databases", x, false);
    }
}

static void f_redis(struct cfg__ck *ck, struct cfg_backup *b, const struct cfg_node *v)
{
    static const char *const schemes[] = {"redis://", "rediss://", NULL};
    static const char *const keys[] = {"url", NULL};
    b->source = CFG_BACKUP_REDIS;
    if (v->kind == CFG_NODE_SCALAR && !v->is_null)
        return check_url(ck, v, schemes, &b->url);
    if (!want_kind(ck, "redis", v, CFG_NODE_MAP, "a map such as {url: redis://127.0.0.1:6379}"))
        return;
    cfg__check_keys(ck, v, keys, NULL, ck->what);
    const struct cfg_node *x = cfg__node_get(v, "url");
    if (x)
        check_url(ck, x, schemes, &b->url);
}

static void f_files(struct cfg__ck *ck, struct cfg_backup *b, const struct cfg_node *v)
{
    static const char *const keys[] = {"paths", "exclude", NULL};
    const struct cfg_node *x;
    b->source = CFG_BACKUP_FILES;
    if (v->kind == CFG_NODE_SEQ) {
        b->paths = get_strv(ck, "files", v, true);
        return;
    }
    if (!want_kind(ck, "files", v, CFG_NODE_MAP, "a map such as {paths: [/data/uploads]}"))
        return;
    cfg__check_keys(ck, v, keys, NULL, ck->what);
    if ((x = cfg__node_get(v, "paths")))
        b->paths = get_strv(ck, "paths", x, true);
    else
        cfg__error_at(ck, v, "\"files\" in %s has no \"paths\"; add e.g. paths: [/data/uploads]",
                 ck->what);
    if ((x = cfg__node_get(v, "exclude")))
        b->exclude = get_strv(ck, "exclude", x, false);
}

/* ---- keep, targets, compress, encrypt, verify, drill ------------------------------------------
 */
static void f_keep(struct cfg__ck *ck, struct cfg_backup *b, const struct cfg_node *v)
{
    static const char *const keys[] = {"last",    "hourly",  "daily", "weekly",
                                       "monthly", "max_age", NULL};
    int *counts[] = {&b->keep.last, &b->keep.hourly, &b->keep.daily, &b->keep.weekly,
                     &b->keep.monthly};
    if (!want_kind(ck, "keep", v, CFG_NODE_MAP, "a map such as {daily: 30} or {max_age: 30d}"))
        return;
    cfg__check_keys(ck, v, keys, NULL, ck->what);
    for (size_t i = 0; i < ARRAY_LEN(counts); i++) {
        const struct cfg_node *x = cfg__node_get(v, keys[i]);
        if (x)
            cfg__get_int(ck, keys[i], x, 0, 100000, counts[i]);
    }
    const struct cfg_node *x = cfg__node_get(v, "max_age");
    if (x)
        cfg__get_duration(ck, "max_age", x, &b->keep.max_age_ms);
}

/* Values a request would fail on later, with a message far from tend.yaml: the endpoint is a URL;
 * bucket names follow S3's rules (they become host names with OSS and AWS); the prefix uses
 * only characters that need no escaping in object names (and so in signatures). */
static void check_s3_values(struct cfg__ck *ck, const struct cfg_backup_target *t,
                            const struct cfg_node *v)
{
    const struct cfg_node *x;
    if (t->endpoint && (x = cfg__node_get(v, "endpoint")) && !str_starts(t->endpoint, "https://") &&
        !str_starts(t->endpoint, "http://"))
        cfg__error_at(ck, x,
                 "\"endpoint\" in %s must be a URL such as https://oss-cn-hangzhou.aliyuncs.com "
                 "or http://127.0.0.1:9000, not \"%s\"",
                 ck->what, t->endpoint);
    size_t n = t->bucket ? strlen(t->bucket) : 3;
    if (t->bucket && (x = cfg__node_get(v, "bucket")) &&
        (n < 3 || n > 63 || strspn(t->bucket, "abcdefghijklmnopqrstuvwxyz0123456789.-") != n))
        cfg__error_at(ck, x,
                 "\"bucket\" in %s must be 3 to 63 lower-case letters, digits, dots or dashes, "
                 "not \"%s\"",
                 ck->what, t->bucket);
    const char *ok = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./";
    if (t->prefix && (x = cfg__node_get(v, "prefix")) &&
        (strspn(t->prefix, ok) != strlen(t->prefix) || strstr(t->prefix, "..")))
        cfg__error_at(ck, x,
                 "\"prefix\" in %s may use letters, digits and - _ . / (no \"..\"), not \"%s\"",
                 ck->what, t->prefix);
}

static void check_s3(struct cfg__ck *ck, struct cfg_backup_target *t, const struct cfg_node *v)
{
    static const char *const keys[] = {
        "endpoint",          "bucket",           "prefix", "region", "access_key_id",
        "secret_access_key", "credentials_file", NULL};
    char **dst[] = {&t->endpoint,        &t->bucket,        &t->prefix,
                    &t->region,          &t->access_key_id, &t->secret_access_key,
                    &t->credentials_file};
    if (!want_kind(ck, "s3", v, CFG_NODE_MAP, "a map such as {endpoint: ..., bucket: ...}"))
        return;
    cfg__check_keys(ck, v, keys, NULL, ck->what);
    for (size_t i = 0; i < ARRAY_LEN(dst); i++) {
        const struct cfg_node *x = cfg__node_get(v, keys[i]);
        if (x && i == 6)
            cfg__get_path(ck, keys[i], x, dst[i]);
        else if (x)
            cfg__get_str(ck, keys[i], x, dst[i]);
    }
    if (!t->bucket)
        cfg__error_at(ck, v, "\"s3\" in %s has no \"bucket\"; add one, e.g. bucket: edp-backups",
                 ck->what);
    check_s3_values(ck, t, v);
    if (t->secret_access_key && t->credentials_file)
        cfg__error_at(ck, v,
                 "\"s3\" in %s has both \"secret_access_key\" and \"credentials_file\"; "
                 "keep one",
                 ck->what);
}

static void check_target(struct cfg__ck *ck, struct cfg_backup_target *t, const struct cfg_node *v)
{
    static const char *const keys[] = {"local", "s3", NULL};
    t->line = v->line;
    t->col = v->col;
    if (!want_kind(ck, "targets", v, CFG_NODE_MAP, "a list of {local: PATH} or {s3: {...}}"))
        return;
    cfg__check_keys(ck, v, keys, NULL, ck->what);
    const struct cfg_node *l = cfg__node_get(v, "local"), *s = cfg__node_get(v, "s3");
    if ((l != NULL) == (s != NULL)) {
        cfg__error_at(ck, v, "each target in %s needs exactly one of \"local\" or \"s3\"", ck->what);
        return;
    }
    t->kind = l ? CFG_TARGET_LOCAL : CFG_TARGET_S3;
    if (l && cfg__get_path(ck, "local", l, &t->path) && !t->path[0])
        cfg__error_at(ck, l, "\"local\" in %s must be a folder, not empty", ck->what);
    if (s)
        check_s3(ck, t, s);
}

static void f_targets(struct cfg__ck *ck, struct cfg_backup *b, const struct cfg_node *v)
{
    if (!want_kind(ck, "targets", v, CFG_NODE_SEQ, "a list such as [{local: /data/backups}]"))
        return;
    b->targets = xcalloc(v->n + 1, sizeof *b->targets);
    for (size_t i = 0; i < v->n; i++)
        check_target(ck, &b->targets[b->ntargets++], v->vals[i]);
}

static void f_compress(struct cfg__ck *ck, struct cfg_backup *b, const struct cfg_node *v)
{
    static const char *const methods[] = {"zstd", "gzip", "none", NULL};
    static const char *const keys[] = {"method", "level", NULL};
    const struct cfg_node *m = v, *lv = NULL;
    int c = CFG_COMPRESS_ZSTD;
    if (v->kind == CFG_NODE_MAP) {
        cfg__check_keys(ck, v, keys, NULL, ck->what);
        m = cfg__node_get(v, "method");
        lv = cfg__node_get(v, "level");
    }
    if (m)
        get_choice(ck, "compress", m, methods, &c);
    b->compress = (enum cfg_compress)c;
    b->level = b->compress == CFG_COMPRESS_GZIP ? 6 : 3;
    if (lv && b->compress == CFG_COMPRESS_NONE)
        cfg__error_at(ck, lv, "\"level\" in %s needs a compression method, not none", ck->what);
    else if (lv)
        cfg__get_int(ck, "level", lv, 1, b->compress == CFG_COMPRESS_GZIP ? 9 : 19, &b->level);
}

static bool recipient_ok(const char *r)
{
    size_t n = strlen(r);
    if (str_starts(r, "ssh-ed25519 ") || str_starts(r, "ssh-rsa "))
        return true;
    /* age1 + bech32 data: 58 characters of [02-9ac-hj-np-z]. */
    return n == 62 && str_starts(r, "age1") &&
           strspn(r + 4, "023456789acdefghjklmnpqrstuvwxyz") == n - 4;
}

static void f_encrypt(struct cfg__ck *ck, struct cfg_backup *b, const struct cfg_node *v)
{
    static const char *const keys[] = {"recipients", "identity", NULL};
    const struct cfg_node *r, *id;
    if (!want_kind(ck, "encrypt", v, CFG_NODE_MAP, "a map such as {recipients: [age1...]}"))
        return;
    cfg__check_keys(ck, v, keys, NULL, ck->what);
    if (!(r = cfg__node_get(v, "recipients"))) {
        cfg__error_at(ck, v,
                 "\"encrypt\" in %s has no \"recipients\"; add the age public keys "
                 "(age-keygen -y key.txt prints one)",
                 ck->what);
        return;
    }
    b->recipients = get_strv(ck, "recipients", r, false);
    for (size_t i = 0; b->recipients && b->recipients[i]; i++) {
        const struct cfg_node *at = r->kind == CFG_NODE_SEQ && i < r->n ? r->vals[i] : r;
        if (!recipient_ok(b->recipients[i]))
            cfg__error_at(ck, at,
                     "\"%s\" in %s is not an age recipient (age1... from age-keygen, or "
                     "an ssh-ed25519/ssh-rsa public key)",
                     b->recipients[i], ck->what);
    }
    if (b->recipients && !b->recipients[0])
        cfg__error_at(ck, r, "\"recipients\" in %s is empty; add at least one", ck->what);
    if ((id = cfg__node_get(v, "identity")))
        cfg__get_path(ck, "identity", id, &b->identity);
}

static void f_verify(struct cfg__ck *ck, struct cfg_backup *b, const struct cfg_node *v)
{
    static const char *const words[] = {"checksum", "restore", NULL};
    int w = 0;
    get_choice(ck, "verify", v, words, &w);
    b->verify_restore = w == 1;
}

static void f_drill(struct cfg__ck *ck, struct cfg_backup *b, const struct cfg_node *v)
{
    static const char *const keys[] = {"schedule", "query", NULL};
    const struct cfg_node *x;
    if (!want_kind(ck, "drill", v, CFG_NODE_MAP, "a map such as {schedule: \"0 4 * * 0\"}"))
        return;
    cfg__check_keys(ck, v, keys, NULL, ck->what);
    if ((x = cfg__node_get(v, "schedule")))
        get_cron(ck, "schedule", x, &b->drill_schedule, &b->drill_cron);
    if ((x = cfg__node_get(v, "query")))
        cfg__get_str(ck, "query", x, &b->drill_query);
}

static void f_schedule(struct cfg__ck *ck, struct cfg_backup *b, const struct cfg_node *v)
{
    get_cron(ck, "schedule", v, &b->schedule, &b->cron);
}

static void f_timezone(struct cfg__ck *ck, struct cfg_backup *b, const struct cfg_node *v)
{
    struct err e = {0};
    if (cfg__get_str(ck, "timezone", v, &b->timezone) && cron_tz_check(b->timezone, &e) < 0)
        cfg__error_at(ck, v, "\"timezone\" in %s: %s%s%s", ck->what, e.msg, e.hint[0] ? "; " : "",
                 e.hint);
}

static void f_timeout(struct cfg__ck *ck, struct cfg_backup *b, const struct cfg_node *v)
{
    if (cfg__get_duration(ck, "timeout", v, &b->timeout_ms) && b->timeout_ms < 1000)
        cfg__error_at(ck, v, "\"timeout\" in %s must be at least 1s, not \"%s\"", ck->what, v->str);
}

static void f_before(struct cfg__ck *ck, struct cfg_backup *b, const struct cfg_node *v)
{
    cfg__get_str(ck, "before", v, &b->before);
}

static void f_after(struct cfg__ck *ck, struct cfg_backup *b, const struct cfg_node *v)
{
    cfg__get_str(ck, "after", v, &b->after);
}

typedef void field_fn(struct cfg__ck *ck, struct cfg_backup *b, const struct cfg_node *v);
static const struct {
    const char *key;
    field_fn *fn;
} fields[] = {
    {"name", NULL},         {"postgres", f_postgres}, {"redis", f_redis},
    {"files", f_files},     {"schedule", f_schedule}, {"timezone", f_timezone},
    {"keep", f_keep},       {"targets", f_targets},   {"compress", f_compress},
    {"encrypt", f_encrypt}, {"timeout", f_timeout},   {"before", f_before},
    {"after", f_after},     {"verify", f_verify},     {"drill", f_drill},
};

/* ---- one job ------------------------------------------------------------------------------ */
static void job_free(struct cfg_backup *b)
{
    if (!b)
        return;
    free(b->name);
    free(b->url);
    cfg__strv_free(b->databases);
    cfg__strv_free(b->paths);
    cfg__strv_free(b->exclude);
    free(b->schedule);
    free(b->timezone);
    for (size_t i = 0; i < b->ntargets; i++) {
        struct cfg_backup_target *t = &b->targets[i];
        char *strs[] = {
            t->path,          t->endpoint,          t->bucket,          t->prefix, t->region,
            t->access_key_id, t->secret_access_key, t->credentials_file};
        for (size_t j = 0; j < ARRAY_LEN(strs); j++)
            free(strs[j]);
    }
    free(b->targets);
    cfg__strv_free(b->recipients);
    free(b->identity);
    free(b->before);
    free(b->after);
    free(b->drill_schedule);
    free(b->drill_query);
    free(b);
}

static bool job_name(struct cfg__ck *ck, struct cfg_backup *b, const struct cfg_node *map,
                     size_t index)
{
    const struct cfg_node *v = cfg__node_get(map, "name");
    snprintf(ck->what, sizeof ck->what, "backup #%zu", index);
    if (!v) {
        cfg__error_at(ck, map, "backup #%zu has no \"name\"; add one, e.g. name: db-daily", index);
        return false;
    }
    if (!cfg__get_str(ck, "name", v, &b->name))
        return false;
    size_t n = strlen(b->name);
    if (n == 0 || n > 64 ||
        strspn(b->name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-") != n) {
        cfg__error_at(ck, v, "backup name \"%s\" must be 1 to 64 letters, digits, \"_\" or \"-\"",
                 b->name);
        return false;
    }
    snprintf(ck->what, sizeof ck->what, "backup \"%s\"", b->name);
    return true;
}

static void cross_checks(struct cfg__ck *ck, struct cfg_backup *b, const struct cfg_node *map)
{
    static const char *const sources[] = {"postgres", "redis", "files"};
    int nsrc = 0;
    for (size_t i = 0; i < ARRAY_LEN(sources); i++)
        nsrc += cfg__node_get(map, sources[i]) != NULL;
    if (nsrc != 1)
        cfg__error_at(ck, map, "%s needs exactly one source (postgres:, redis: or files:), not %d",
                 ck->what, nsrc);
    if (!cfg__node_get(map, "targets"))
        cfg__error_at(ck, map,
                 "%s has no \"targets\"; add one, e.g. targets: [{local: "
                 "/data/backups/db}]",
                 ck->what);
    const struct cfg_node *v = cfg__node_get(map, "verify");
    if (nsrc == 1 && b->source != CFG_BACKUP_POSTGRES && b->verify_restore && v)
        cfg__error_at(ck, v, "\"verify: restore\" in %s works only for postgres sources", ck->what);
    if (nsrc == 1 && b->source != CFG_BACKUP_POSTGRES && (v = cfg__node_get(map, "drill")))
        cfg__error_at(ck, v, "\"drill\" in %s works only for postgres sources", ck->what);
    if (nsrc == 1 && b->source == CFG_BACKUP_POSTGRES && !b->url && !b->databases &&
        !b->all_databases)
        cfg__error_at(ck, cfg__node_get(map, "postgres"),
                 "\"postgres\" in %s names no database; add it to the url or list databases",
                 ck->what);
    if ((b->verify_restore || b->drill_schedule) && b->recipients && !b->identity)
        cfg__error_at(ck, cfg__node_get(map, "encrypt"),
                 "%s is encrypted and drilled, so \"encrypt\" needs \"identity\" (the age key "
                 "file the drill decrypts with)",
                 ck->what);
    if (!cfg__node_get(map, "keep") && cfg__node_get(map, "schedule"))
        cfg__warn_at(ck, map,
                "%s has no \"keep\", so its backups are never deleted; add e.g. keep: "
                "{max_age: 30d}",
                ck->what);
}

static struct cfg_backup *check_job(struct cfg__ck *ck, const struct cfg_node *map, size_t index)
{
    static const char *known[ARRAY_LEN(fields) + 1];
    char seen[80];
    if (map->kind != CFG_NODE_MAP) {
        cfg__node_describe(map, seen, sizeof seen);
        if (!map->is_bad)
            cfg__error_at(ck, map, "each backup must be a map (name:, postgres:, ...), not %s", seen);
        return NULL;
    }
    for (size_t i = 0; i < ARRAY_LEN(fields); i++)
        known[i] = fields[i].key;
    struct cfg_backup *b = xcalloc(1, sizeof *b);
    b->line = map->line;
    b->col = map->col;
    b->level = 3;
    b->timeout_ms = 6 * 3600 * 1000;
    bool named = job_name(ck, b, map, index);
    cfg__check_keys(ck, map, known, NULL, ck->what);
    for (size_t i = 0; i < map->n; i++)
        for (size_t j = 1; j < ARRAY_LEN(fields) && cfg__key_is_first(map, i); j++)
            if (strcmp(fields[j].key, map->keys[i]->str) == 0)
                fields[j].fn(ck, b, map->vals[i]);
    cross_checks(ck, b, map);
    if (!named) {
        job_free(b);
        return NULL;
    }
    return b;
}

static void backups_clear(struct cfg_backups *b)
{
    for (size_t i = 0; i < b->n; i++)
        job_free(b->jobs[i]);
    free(b->jobs);
    b->jobs = NULL;
    b->n = 0;
}

/* ---- the list -------------------------------------------------------------------------------- */
void cfg__check_backups(struct cfg__ck *ck, const struct cfg_node *list, struct cfg_backups *out)
{
    char seen[80];
    struct cfg_backups tmp = {0};
    if (!out)
        out = &tmp;
    if (list->is_bad || (list->kind == CFG_NODE_SCALAR && list->is_null))
        return;
    if (list->kind != CFG_NODE_SEQ) {
        cfg__node_describe(list, seen, sizeof seen);
        cfg__error_at(ck, list, "\"backups\" must be a list of jobs (- name: db-daily), not %s", seen);
        return;
    }
    out->jobs = xcalloc(list->n + 1, sizeof *out->jobs);
    for (size_t i = 0; i < list->n; i++) {
        struct cfg_backup *b = check_job(ck, list->vals[i], i + 1);
        for (size_t j = 0; b && j < out->n; j++) {
            if (strcmp(out->jobs[j]->name, b->name) == 0) {
                cfg__error_at(ck, cfg__node_get(list->vals[i], "name"),
                         "backup name \"%s\" is already used by the backup at line %d; names "
                         "must be unique",
                         b->name, out->jobs[j]->line);
                break;
            }
        }
        if (b)
            out->jobs[out->n++] = b;
    }
    if (out == &tmp)
        backups_clear(&tmp);
}

/* ---- the snapshot ---------------------------------------------------------------------------- */
struct cfg_backups *cfg_backups_ref(struct cfg_backups *b)
{
    if (b)
        b->refs++;
    return b;
}

void cfg_backups_unref(struct cfg_backups *b)
{
    if (!b || --b->refs > 0)
        return;
    backups_clear(b);
    free(b);
}

const struct cfg_backup *cfg_backups_find(const struct cfg_backups *b, const char *name)
{
    for (size_t i = 0; b && i < b->n; i++)
        if (strcmp(b->jobs[i]->name, name) == 0)
            return b->jobs[i];
    return NULL;
}

extern char **environ;

/* Only the `backups:` subtree: the rest of the file was interpolated (and reported) by cfg_load. */
static void backups_section(struct cfg__ck *ck, struct cfg_node *root, void *arg)
{
    struct cfg_node *list = (struct cfg_node *)cfg__node_get(root, "backups");
    if (!list)
        return;
    cfg__interp_tree(list, ck->environ, ck->diag);
    cfg__check_backups(ck, list, arg);
}

static int finish(int rc, struct cfg_backups *bs, struct cfg_backups **out)
{
    if (rc < 0) {
        cfg_backups_unref(bs);
        return rc;
    }
    *out = bs;
    return 0;
}

int cfg_backups_load(const struct cfg *c, const struct cfg_load_opts *opts,
                     struct cfg_backups **out, struct cfg_diag *diag)
{
    struct cfg_backups *bs = xcalloc(1, sizeof *bs);
    bs->refs = 1;
    *out = NULL;
    return finish(cfg__load_section_of(c, opts, backups_section, bs, diag), bs, out);
}

int cfg_backups_load_mem(const char *name, const char *text, size_t len,
                         const struct cfg_load_opts *opts, struct cfg_backups **out,
                         struct cfg_diag *diag)
{
    struct cfg_backups *bs = xcalloc(1, sizeof *bs);
    bs->refs = 1;
    *out = NULL;
    return finish(cfg__load_section_mem(name, text, len, opts, backups_section, bs, diag), bs,
                  out);
}

/* ---- names ----------------------------------------------------------------------------------- */
const char *cfg_backup_source_name(enum cfg_backup_source s)
{
    static const char *const n[] = {"postgres", "redis", "files"};
    return (unsigned)s < ARRAY_LEN(n) ? n[s] : "?";
}

const char *cfg_pg_format_name(enum cfg_pg_format f)
{
    static const char *const n[] = {"custom", "plain", "directory"};
    return (unsigned)f < ARRAY_LEN(n) ? n[f] : "?";
}

const char *cfg_compress_name(enum cfg_compress c)
{
    static const char *const n[] = {"zstd", "gzip", "none"};
    return (unsigned)c < ARRAY_LEN(n) ? n[c] : "?";
}

const char *cfg_target_kind_name(enum cfg_target_kind k)
{
    static const char *const n[] = {"local", "s3"};
    return (unsigned)k < ARRAY_LEN(n) ? n[k] : "?";
}
