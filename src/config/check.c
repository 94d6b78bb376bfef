/* config/check.c: the top level of tend.yaml, the `log:` keys, and the value checkers.
 *
 * Checking never stops at the first problem: each checker reports its own error at the node
 * it looked at and returns false, the caller keeps the default and moves on, so one run shows
 * every mistake in the file (STYLE.md 4). Messages quote the value we saw and the forms we
 * accept; unknown keys get a did-you-mean from the table of known keys. A node whose
 * interpolation already failed (is_bad) is skipped without a second message. Apps are checked
 * in check_app.c; what spans apps (unique names, overlapping ports, an unused profile) is here. */
#include "config/config_int.h"

#include <ctype.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/buf.h"
#include "core/clock.h"
#include "core/err.h"
#include "core/str.h"
#include "core/util.h"

/* ---- value checkers -------------------------------------------------------------------------- */
bool cfg__want_scalar(struct cfg__ck *ck, const char *key, const struct cfg_node *v,
                      const char *what)
{
    char seen[80];
    if (v->is_bad)
        return false;
    if (v->kind == CFG_NODE_SCALAR && !v->is_null)
        return true;
    cfg__node_describe(v, seen, sizeof seen);
    if (v->kind == CFG_NODE_SCALAR)
        cfg__error_at(ck, v, "\"%s\" has no value; it must be %s", key, what);
    else
        cfg__error_at(ck, v, "\"%s\" must be %s, not %s", key, what, seen);
    return false;
}

bool cfg__get_str(struct cfg__ck *ck, const char *key, const struct cfg_node *v, char **out)
{
    if (!cfg__want_scalar(ck, key, v, "a string"))
        return false;
    free(*out);
    *out = str_dup(v->str);
    return true;
}

bool cfg__get_bool(struct cfg__ck *ck, const char *key, const struct cfg_node *v, bool *out)
{
    static const char *const yes[] = {"true", "yes", "on"}, *const no[] = {"false", "no", "off"};
    if (!cfg__want_scalar(ck, key, v, "true or false"))
        return false;
    for (size_t i = 0; i < ARRAY_LEN(yes); i++) {
        if (strcasecmp(v->str, yes[i]) == 0 || strcasecmp(v->str, no[i]) == 0) {
            *out = strcasecmp(v->str, yes[i]) == 0;
            return true;
        }
    }
    cfg__error_at(ck, v, "\"%s\" must be true or false, not \"%s\"", key, v->str);
    return false;
}

bool cfg__get_int(struct cfg__ck *ck, const char *key, const struct cfg_node *v, long min, long max,
                  int *out)
{
    if (!cfg__want_scalar(ck, key, v, "a whole number"))
        return false;
    char *end;
    errno = 0;
    long x = strtol(v->str, &end, 10);
    if (errno || end == v->str || *end || x < min || x > max) {
        cfg__error_at(ck, v, "\"%s\" must be a whole number from %ld to %ld, not \"%s\"", key, min, max,
                 v->str);
        return false;
    }
    *out = (int)x;
    return true;
}

bool cfg__get_duration(struct cfg__ck *ck, const char *key, const struct cfg_node *v, uint64_t *ms)
{
    if (!cfg__want_scalar(ck, key, v, "a duration such as 5s, 2m or 1h30m"))
        return false;
    if (cfg_parse_duration(v->str, ms) == 0)
        return true;
    cfg__error_at(ck, v, "\"%s\" must be a duration such as 5s, 2m or 1h30m, not \"%s\"", key, v->str);
    return false;
}

bool cfg__get_size(struct cfg__ck *ck, const char *key, const struct cfg_node *v, uint64_t *bytes)
{
    if (!cfg__want_scalar(ck, key, v, "a size such as 512M or 1G"))
        return false;
    if (cfg_parse_size(v->str, bytes) == 0)
        return true;
    cfg__error_at(ck, v, "\"%s\" must be a size such as 512M or 1G, not \"%s\"", key, v->str);
    return false;
}

bool cfg__get_path(struct cfg__ck *ck, const char *key, const struct cfg_node *v, char **out)
{
    if (!cfg__want_scalar(ck, key, v, "a path"))
        return false;
    free(*out);
    *out = v->str[0] ? cfg__abs_path(ck, v->str) : str_dup("");
    return true;
}

/* Fold "." and ".." lexically; symbolic links are kept (a release's `current` link must stay
 * a link, so realpath() is not used). */
static void fold_dots(char *p)
{
    char *out = p, *s = p;
    while (*s) {
        while (*s == '/')
            s++;
        char *seg = s;
        while (*s && *s != '/')
            s++;
        size_t n = (size_t)(s - seg);
        if (n == 0 || (n == 1 && seg[0] == '.'))
            continue;
        if (n == 2 && seg[0] == '.' && seg[1] == '.') {
            while (out > p && *--out != '/')
                ;
            continue;
        }
        *out++ = '/';
        memmove(out, seg, n);
        out += n;
    }
    if (out == p)
        *out++ = '/';
    *out = '\0';
}

char *cfg__abs_path(const struct cfg__ck *ck, const char *p)
{
    struct buf b;
    buf_init(&b, 0);
    if (p[0] == '/') {
        buf_puts(&b, p);
    } else if (p[0] == '~' && (p[1] == '/' || p[1] == '\0')) {
        const char *home = cfg__lookup_environ((void *)ck->environ, "HOME", 4);
        buf_printf(&b, "%s/%s", home ? home : "/", p + 1);
    } else {
        buf_printf(&b, "%s/%s", ck->base_dir, p);
    }
    char *s = buf_take(&b);
    fold_dots(s);
    return s;
}

bool cfg__key_is_first(const struct cfg_node *map, size_t i)
{
    return cfg__node_get(map, map->keys[i]->str) == map->vals[i];
}

void cfg__check_keys(struct cfg__ck *ck, const struct cfg_node *map, const char *const *known,
                     bool (*accept)(const char *key), const char *ctx)
{
    char where[160];
    if (ctx)
        snprintf(where, sizeof where, "in %s", ctx);
    else
        str_copy(where, "at the top level", sizeof where);
    for (size_t i = 0; i < map->n; i++) {
        const struct cfg_node *k = map->keys[i];
        bool dup = false;
        for (size_t j = 0; j < i && !dup; j++) {
            if (strcmp(map->keys[j]->str, k->str) == 0) {
                cfg__error_at(ck, k, "\"%s\" is set twice %s (first at line %d); keep one", k->str,
                         where, map->keys[j]->line);
                dup = true;
            }
        }
        bool ok = false;
        for (size_t j = 0; known[j] && !ok; j++)
            ok = strcmp(known[j], k->str) == 0;
        if (dup || ok || (accept && accept(k->str)))
            continue;
        const char *sug = str_suggest(k->str, known);
        if (sug)
            cfg__error_at(ck, k, "unknown key \"%s\" %s (did you mean \"%s\"?)", k->str, where, sug);
        else
            cfg__error_at(ck, k, "unknown key \"%s\" %s", k->str, where);
    }
}

/* ---- log: ---------------------------------------------------------------------------------------
 */
void cfg__log_defaults(struct cfg_log *log)
{
    memset(log, 0, sizeof *log);
    log->timestamp = true;
    log->merge_instances = true;
    log->max_size = 100u << 20;
    log->daily = true;
    log->keep = 30;
    log->compress = true;
    log->max_line = 64u << 10;
    log->buffer = 1u << 20;
}

static const char *const log_keys[] = {
    "dir",       "out_file", "err_file",        "error_file", "combined_file", "date_format",
    "timestamp", "json",     "merge_instances", "max_size",   "rotate",        "keep",
    "compress",  "max_line", "buffer",          NULL,
};

static void check_rotate(struct cfg__ck *ck, const struct cfg_node *v, struct cfg_log *log)
{
    static const char *const forms[] = {"daily", "none", NULL};
    if (!cfg__want_scalar(ck, "rotate", v, "daily or none"))
        return;
    if (strcmp(v->str, "daily") == 0 || strcmp(v->str, "none") == 0) {
        log->daily = v->str[0] == 'd';
        return;
    }
    const char *sug = str_suggest(v->str, forms);
    cfg__error_at(ck, v,
             "\"rotate\" must be daily or none (size limits are \"max_size\"), not \"%s\"%s%s%s",
             v->str, sug ? " (did you mean \"" : "", sug ? sug : "", sug ? "\"?)" : "");
}

static void check_bounded_size(struct cfg__ck *ck, const char *key, const struct cfg_node *v,
                               uint64_t lo, uint64_t hi, const char *range, uint64_t *out)
{
    uint64_t x;
    if (!cfg__get_size(ck, key, v, &x))
        return;
    if (x < lo || x > hi) {
        cfg__error_at(ck, v, "\"%s\" must be between %s, not \"%s\"", key, range, v->str);
        return;
    }
    *out = x;
}

static void check_log_key(struct cfg__ck *ck, const char *key, const struct cfg_node *v,
                          struct cfg_log *log)
{
    if (strcmp(key, "dir") == 0)
        cfg__get_path(ck, key, v, &log->dir);
    else if (strcmp(key, "out_file") == 0)
        cfg__get_path(ck, key, v, &log->out_file);
    else if (strcmp(key, "err_file") == 0 || strcmp(key, "error_file") == 0)
        cfg__get_path(ck, key, v, &log->err_file);
    else if (strcmp(key, "combined_file") == 0)
        cfg__get_path(ck, key, v, &log->combined_file);
    else if (strcmp(key, "date_format") == 0 && cfg__get_str(ck, key, v, &log->date_format)) {
        if (!clock_format_check(log->date_format))
            cfg__error_at(ck, v,
                     "\"date_format\" must use YYYY MM DD HH mm ss SSS Z ZZ and "
                     "[literal text], not \"%s\"",
                     v->str);
    } else if (strcmp(key, "timestamp") == 0)
        cfg__get_bool(ck, key, v, &log->timestamp);
    else if (strcmp(key, "json") == 0)
        cfg__get_bool(ck, key, v, &log->json);
    else if (strcmp(key, "merge_instances") == 0)
        cfg__get_bool(ck, key, v, &log->merge_instances);
    else if (strcmp(key, "max_size") == 0)
        cfg__get_size(ck, key, v, &log->max_size);
    else if (strcmp(key, "rotate") == 0)
        check_rotate(ck, v, log);
    else if (strcmp(key, "keep") == 0)
        cfg__get_int(ck, key, v, 0, 100000, &log->keep);
    else if (strcmp(key, "compress") == 0)
        cfg__get_bool(ck, key, v, &log->compress);
    else if (strcmp(key, "max_line") == 0)
        check_bounded_size(ck, key, v, 1u << 10, 16u << 20, "1K and 16M", &log->max_line);
    else if (strcmp(key, "buffer") == 0)
        check_bounded_size(ck, key, v, 4u << 10, 1u << 30, "4K and 1G", &log->buffer);
}

void cfg__check_log(struct cfg__ck *ck, const struct cfg_node *map, struct cfg_log *log,
                    const char *ctx)
{
    char seen[80];
    if (map->is_bad || (map->kind == CFG_NODE_SCALAR && map->is_null))
        return;
    if (map->kind != CFG_NODE_MAP) {
        cfg__node_describe(map, seen, sizeof seen);
        cfg__error_at(ck, map, "%s must be a map of log settings (dir:, max_size:, keep: ...), not %s",
                 ctx, seen);
        return;
    }
    cfg__check_keys(ck, map, log_keys, NULL, ctx);
    if (cfg__node_get(map, "err_file") && cfg__node_get(map, "error_file"))
        cfg__error_at(ck, cfg__node_get(map, "error_file"),
                 "\"error_file\" and \"err_file\" are the same setting; keep one");
    for (size_t i = 0; i < map->n; i++)
        if (cfg__key_is_first(map, i))
            check_log_key(ck, map->keys[i]->str, map->vals[i], log);
}

/* ---- api:
 * ----------------------------------------------------------------------------------------- */
static bool host_is_loopback(const char *host, size_t n)
{
    return (n >= 4 && strncmp(host, "127.", 4) == 0) || (n == 5 && !strncmp(host, "[::1]", 5)) ||
           (n == 9 && strncmp(host, "localhost", 9) == 0);
}

static void check_listen(struct cfg__ck *ck, const struct cfg_node *v, struct cfg_api *api)
{
    if (!cfg__want_scalar(ck, "listen", v, "an address such as 127.0.0.1:9615"))
        return;
    const char *s = v->str, *colon = strrchr(s, ':');
    char *end = NULL;
    long port = strtol(colon ? colon + 1 : s, &end, 10);
    bool ok = end && !*end && port >= 1 && port <= 65535 && (colon ? colon[1] : s[0]) != '\0';
    if (!ok || (colon && strchr(s, ':') != colon && s[0] != '[')) {
        cfg__error_at(ck, v,
                 "\"listen\" must be an address such as 127.0.0.1:9615 or [::1]:9615, "
                 "not \"%s\"",
                 s);
        return;
    }
    /* A bare port, or ":PORT" with no host, means the loopback address (as api/server.c binds
     * it); it must not be warned about as if it were open to other machines. */
    struct buf b;
    buf_init(&b, 0);
    buf_printf(&b, "%s%s", !colon ? "127.0.0.1:" : colon == s ? "127.0.0.1" : "", s);
    api->listen = buf_take(&b);
    size_t hostlen = colon ? (size_t)(colon - s) : 9;
    api->listen_is_loopback = !colon || colon == s || host_is_loopback(s, hostlen);
    if (!api->listen_is_loopback)
        cfg__diag_add(ck->diag, CFG_WARNING, v->line, v->col,
                      "the API listens on \"%s\", reachable from other machines; only the "
                      "token protects it (use 127.0.0.1 unless you mean it)",
                      s);
}

static void check_api(struct cfg__ck *ck, const struct cfg_node *map, struct cfg_api *api)
{
    static const char *const keys[] = {"listen", NULL};
    char seen[80];
    if (map->is_bad || (map->kind == CFG_NODE_SCALAR && map->is_null))
        return;
    if (map->kind != CFG_NODE_MAP) {
        cfg__node_describe(map, seen, sizeof seen);
        cfg__error_at(ck, map, "\"api\" must be a map such as {listen: 127.0.0.1:9615}, not %s", seen);
        return;
    }
    cfg__check_keys(ck, map, keys, NULL, "\"api\"");
    const struct cfg_node *v = cfg__node_get(map, "listen");
    if (v)
        check_listen(ck, v, api);
}

/* ---- apps:
 * --------------------------------------------------------------------------------------- */
static void check_unique(struct cfg__ck *ck, const struct cfg_node *apps)
{
    struct cfg *c = ck->cfg;
    for (size_t i = 0; i < c->napps; i++) {
        for (size_t j = 0; j < i; j++) {
            if (strcmp(c->apps[i]->name, c->apps[j]->name) != 0)
                continue;
            const struct cfg_node *name = cfg__node_get(apps->vals[i], "name");
            cfg__error_at(ck, name ? name : apps->vals[i],
                     "app name \"%s\" is already used by the app at line %d; names must be "
                     "unique",
                     c->apps[i]->name, c->apps[j]->line);
            break;
        }
    }
}

static void check_ports(struct cfg__ck *ck)
{
    struct cfg *c = ck->cfg;
    for (size_t i = 0; i < c->napps; i++) {
        const struct cfg_app *a = c->apps[i];
        for (size_t j = 0; a->port && j < i; j++) {
            const struct cfg_app *b = c->apps[j];
            if (!b->port || a->port > b->port + b->instances - 1 ||
                b->port > a->port + a->instances - 1)
                continue;
            cfg__diag_add(ck->diag, CFG_ERROR, a->line, a->col,
                          "app \"%s\" uses ports %d-%d, which overlap ports %d-%d of app \"%s\" "
                          "(line %d)",
                          a->name, a->port, a->port + a->instances - 1, b->port,
                          b->port + b->instances - 1, b->name, b->line);
            break;
        }
    }
}

static void check_apps(struct cfg__ck *ck, const struct cfg_node *apps)
{
    char seen[80];
    if (apps->is_bad || (apps->kind == CFG_NODE_SCALAR && apps->is_null))
        return;
    if (apps->kind != CFG_NODE_SEQ) {
        cfg__node_describe(apps, seen, sizeof seen);
        cfg__error_at(ck, apps, "\"apps\" must be a list of apps (- name: api), not %s", seen);
        return;
    }
    ck->cfg->apps = xcalloc(apps->n + 1, sizeof *ck->cfg->apps);
    bool all_ok = true;
    for (size_t i = 0; i < apps->n; i++) {
        struct cfg_app *a = cfg__check_app(ck, apps->vals[i], i + 1);
        if (a)
            ck->cfg->apps[ck->cfg->napps++] = a;
        else
            all_ok = false;
    }
    if (all_ok)
        check_unique(ck, apps);
    check_ports(ck);
}

static void check_profile_used(struct cfg__ck *ck)
{
    const char *p = ck->opts->profile;
    if (!p || !ck->cfg->napps)
        return;
    for (size_t i = 0; i < ck->cfg->napps; i++)
        if (ck->cfg->apps[i]->profile_env)
            return;
    cfg__diag_add(ck->diag, CFG_WARNING, 0, 0,
                  "profile \"%s\" was chosen but no app has \"env_%s:\"; only \"env:\" applies", p,
                  p);
}

/* Top-level keys starting with "x-" are ignored, as docker compose does: a place for anchors
 * (x-common: &common) that apps merge with `<<: *common`. */
static bool is_extension_key(const char *key)
{
    return str_starts(key, "x-");
}

/* check_backup.c (declared here because config_int.h was not this change's to edit). */
void cfg__check_backups(struct cfg__ck *ck, const struct cfg_node *list, struct cfg_backups *out);

int cfg__check(struct cfg__ck *ck, const struct cfg_node *root)
{
    /* Ties in did-you-mean go to the first. */
    static const char *const top_keys[] = {"apps",      "logs",   "api",         "backups",
                                           "metrics",   "checks", "access_logs", "alerts",
                                           "notifiers", NULL};
    struct cfg *c = ck->cfg;
    cfg__check_keys(ck, root, top_keys, is_extension_key, NULL);
    cfg__log_defaults(&c->log_defaults);
    const struct cfg_node *v = cfg__node_get(root, "logs");
    if (v)
        cfg__check_log(ck, v, &c->log_defaults, "\"logs\"");
    if (!c->log_defaults.dir) {
        struct buf b;
        buf_init(&b, 0);
        buf_printf(&b, "%s/logs", ck->home);
        c->log_defaults.dir = buf_take(&b);
    }
    if ((v = cfg__node_get(root, "api")))
        check_api(ck, v, &c->api);
    if ((v = cfg__node_get(root, "apps")))
        check_apps(ck, v);
    if ((v = cfg__node_get(root, "backups")))
        cfg__check_backups(ck, v, NULL);
    cfg__check_watch(ck, root, NULL); /* metrics checks access_logs alerts notifiers (issue 3) */
    check_profile_used(ck);
    return ck->diag->nerrors ? -TE_CONFIG : 0;
}
