/* config/check_app.c: one entry of `apps:` into a struct cfg_app.
 *
 * The app's name is read first so every later message can say which app it is about. Then each
 * key goes through the fields table: plain typed keys (durations, sizes, booleans, numbers) by
 * offset, the rest by their own function. What involves several keys is checked last (cmd xor
 * argv, port + instances within 65535, `ready: port` needing a port). Defaults are set before
 * the keys are read, so a key with a bad value leaves its default and the run goes on; the
 * snapshot is thrown away anyway when any error was found. */
#include "config/config_int.h"

#include <ctype.h>
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/str.h"
#include "core/util.h"

#define ENVFILE_MAX (4u << 20)

static void wrong_type(struct cfg__ck *ck, const char *key, const struct cfg_node *v,
                       const char *want)
{
    char seen[80];
    cfg__node_describe(v, seen, sizeof seen);
    cfg__error_at(ck, v, "\"%s\" in %s must be %s, not %s", key, ck->what, want, seen);
}

static const char *suggestion(const char *word, const char *const *words, char *dst, size_t n)
{
    const char *s = str_suggest(word, words);
    if (s)
        snprintf(dst, n, " (did you mean \"%s\"?)", s);
    else
        dst[0] = '\0';
    return dst;
}

/* ---- keys with their own rules ------------------------------------------------------------- */
static void f_cmd(struct cfg__ck *ck, struct cfg_app *a, const struct cfg_node *v)
{
    if (cfg__get_str(ck, "cmd", v, &a->cmd) && !a->cmd[0])
        cfg__error_at(ck, v, "\"cmd\" is empty; write the command, e.g. cmd: node server.js");
}

static char **str_list(struct cfg__ck *ck, const char *key, const struct cfg_node *v, bool one_ok)
{
    if (v->kind == CFG_NODE_SCALAR && one_ok && cfg__want_scalar(ck, key, v, "a list")) {
        char **l = xcalloc(2, sizeof *l);
        l[0] = str_dup(v->str);
        return l;
    }
    if (v->kind != CFG_NODE_SEQ) {
        if (!v->is_bad)
            wrong_type(ck, key, v, "a list such as [a, b]");
        return NULL;
    }
    char **l = xcalloc(v->n + 1, sizeof *l);
    size_t n = 0;
    for (size_t i = 0; i < v->n; i++)
        if (cfg__want_scalar(ck, key, v->vals[i], "a string"))
            l[n++] = str_dup(v->vals[i]->str);
    return l;
}

static void f_argv(struct cfg__ck *ck, struct cfg_app *a, const struct cfg_node *v)
{
    if (v->kind == CFG_NODE_SCALAR && !v->is_null && !v->is_bad) {
        cfg__error_at(ck, v,
                 "\"argv\" must be a list such as [node, server.js], not \"%s\"; for "
                 "one string run by the shell use \"cmd\"",
                 v->str);
        return;
    }
    a->argv = str_list(ck, "argv", v, false);
    if (a->argv && !a->argv[0])
        cfg__error_at(ck, v, "\"argv\" is empty; the first item is the program to run");
}

static void f_cwd(struct cfg__ck *ck, struct cfg_app *a, const struct cfg_node *v)
{
    struct stat st;
    if (!cfg__get_path(ck, "cwd", v, &a->cwd))
        return;
    if (stat(a->cwd, &st) < 0 || !S_ISDIR(st.st_mode))
        cfg__warn_at(ck, v,
                "cwd \"%s\" is not a folder on this machine (yet); %s cannot start "
                "until it is",
                a->cwd, ck->what);
}

static void f_instances(struct cfg__ck *ck, struct cfg_app *a, const struct cfg_node *v)
{
    if (v->kind == CFG_NODE_SCALAR && !v->is_bad && v->str && strcmp(v->str, "max") == 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        a->instances = n < 1 ? 1 : n > 1024 ? 1024 : (int)n;
        return;
    }
    if (!cfg__want_scalar(ck, "instances", v, "a number or \"max\""))
        return;
    char *end;
    long n = strtol(v->str, &end, 10);
    if (*end || end == v->str || n < 1 || n > 1024) {
        cfg__error_at(ck, v,
                 "\"instances\" must be a whole number from 1 to 1024 or \"max\" (one "
                 "per CPU), not \"%s\"",
                 v->str);
        return;
    }
    a->instances = (int)n;
}

static void f_user(struct cfg__ck *ck, struct cfg_app *a, const struct cfg_node *v)
{
    char *s = NULL;
    if (!cfg__get_str(ck, "user", v, &s))
        return;
    char *colon = strchr(s, ':');
    if (colon)
        *colon = '\0';
    a->user = str_dup(s);
    a->group = colon ? str_dup(colon + 1) : NULL;
    if (!*a->user || (colon && !*a->group))
        cfg__error_at(ck, v, "\"user\" must be a user name or user:group, not \"%s\"", v->str);
    else if (!getpwnam(a->user) && strspn(a->user, "0123456789") != strlen(a->user))
        cfg__error_at(ck, v, "user \"%s\" does not exist on this machine", a->user);
    else if (a->group && !getgrnam(a->group) && strspn(a->group, "0123456789") != strlen(a->group))
        cfg__error_at(ck, v, "group \"%s\" does not exist on this machine", a->group);
    free(s);
}

static void f_restart(struct cfg__ck *ck, struct cfg_app *a, const struct cfg_node *v)
{
    static const char *const forms[] = {"always", "on-failure", "never", NULL};
    char sug[80];
    if (!cfg__want_scalar(ck, "restart", v, "always, on-failure or never"))
        return;
    for (int i = 0; forms[i]; i++) {
        if (strcmp(v->str, forms[i]) == 0) {
            a->restart = (enum cfg_restart)i;
            return;
        }
    }
    cfg__error_at(ck, v, "\"restart\" must be always, on-failure or never, not \"%s\"%s", v->str,
             suggestion(v->str, forms, sug, sizeof sug));
}

static void f_errored_retry(struct cfg__ck *ck, struct cfg_app *a, const struct cfg_node *v)
{
    if (v->kind == CFG_NODE_SCALAR && !v->is_null && strcmp(v->str, "never") == 0)
        a->errored_retry_ms = 0;
    else if (v->kind == CFG_NODE_SCALAR && !v->is_null && !v->is_bad &&
             cfg_parse_duration(v->str, &a->errored_retry_ms) < 0)
        cfg__error_at(ck, v, "\"errored_retry\" must be a duration such as 5m, or never, not \"%s\"",
                 v->str);
    else if (v->kind != CFG_NODE_SCALAR || v->is_null)
        cfg__want_scalar(ck, "errored_retry", v, "a duration such as 5m, or never");
}

static void f_kill_signal(struct cfg__ck *ck, struct cfg_app *a, const struct cfg_node *v)
{
    static const char *const common[] = {"SIGTERM", "SIGINT",  "SIGQUIT", "SIGHUP",
                                         "SIGKILL", "SIGUSR1", "SIGUSR2", NULL};
    char sug[80];
    if (!cfg__want_scalar(ck, "kill_signal", v, "a signal such as SIGTERM"))
        return;
    if (cfg_parse_signal(v->str, &a->kill_signal) < 0)
        cfg__error_at(ck, v, "\"kill_signal\" must be a signal such as SIGTERM or SIGINT, not \"%s\"%s",
                 v->str, suggestion(v->str, common, sug, sizeof sug));
}

static void f_cron(struct cfg__ck *ck, struct cfg_app *a, const struct cfg_node *v)
{
    struct err e = {0};
    if (!cfg__get_str(ck, "cron_restart", v, &a->cron_restart))
        return;
    if (cron_parse(&a->cron, a->cron_restart, &e) < 0)
        cfg__error_at(ck, v, "\"cron_restart\" is not a valid cron expression: %s", e.msg);
}

static void f_watch(struct cfg__ck *ck, struct cfg_app *a, const struct cfg_node *v)
{
    static const char *const t[] = {"true", "yes", "on"}, *const f[] = {"false", "no", "off"};
    if (v->kind == CFG_NODE_SCALAR && v->is_plain && !v->is_null) {
        for (size_t i = 0; i < ARRAY_LEN(t); i++) {
            if (strcmp(v->str, f[i]) == 0)
                return;
            if (strcmp(v->str, t[i]) == 0) {
                a->watch = xcalloc(2, sizeof *a->watch); /* the cwd, filled in at the end */
                return;
            }
        }
    }
    char **l = str_list(ck, "watch", v, true);
    for (size_t i = 0; l && l[i]; i++) {
        char *abs = cfg__abs_path(ck, l[i]);
        free(l[i]);
        l[i] = abs;
    }
    a->watch = l;
}

static void f_watch_ignore(struct cfg__ck *ck, struct cfg_app *a, const struct cfg_node *v)
{
    a->watch_ignore = str_list(ck, "watch_ignore", v, true);
}

/* ---- env
 * ------------------------------------------------------------------------------------------ */
static void env_map(struct cfg__ck *ck, const char *key, const struct cfg_node *v,
                    struct cfg_kv **out, size_t *n, int port)
{
    if (v->is_bad || (v->kind == CFG_NODE_SCALAR && v->is_null))
        return;
    if (v->kind != CFG_NODE_MAP) {
        wrong_type(ck, key, v, "a map of NAME: value");
        return;
    }
    cfg_kv_free(*out, *n);
    *out = xcalloc(v->n + 1, sizeof **out);
    *n = 0;
    for (size_t i = 0; i < v->n; i++) {
        const struct cfg_node *k = v->keys[i], *x = v->vals[i];
        if (!cfg__env_name_ok(k->str)) {
            cfg__error_at(ck, k,
                     "\"%s\" is not a valid environment variable name (letters, digits "
                     "and _, not starting with a digit)",
                     k->str);
            continue;
        }
        if (x->kind != CFG_NODE_SCALAR) {
            wrong_type(ck, k->str, x, "a plain value");
            continue;
        }
        if (ck->file_mode & 077 && str_is_secret_name(k->str))
            cfg__warn_at(ck, k,
                    "\"%s\" looks like a secret and %s is readable by other users "
                    "(mode %04o); run chmod 600 %s, or move the value to an env_file",
                    k->str, ck->file_name, ck->file_mode, ck->file_name);
        if (port && strcmp(k->str, "PORT") == 0)
            cfg__warn_at(ck, k, "PORT here is replaced by each instance's port (\"port: %d\")", port);
        (*out)[*n].key = str_dup(k->str);
        (*out)[(*n)++].value = str_dup(x->is_null ? "" : x->str);
    }
}

static void f_env(struct cfg__ck *ck, struct cfg_app *a, const struct cfg_node *v)
{
    env_map(ck, "env", v, &a->env, &a->nenv, 0);
}

static void f_env_file(struct cfg__ck *ck, struct cfg_app *a, const struct cfg_node *v)
{
    struct stat st;
    struct buf text;
    struct cfg_kv *kv = NULL;
    size_t n = 0;
    if (!cfg__get_path(ck, "env_file", v, &a->env_file))
        return;
    buf_init(&text, 0);
    if (stat(a->env_file, &st) < 0 || read_file(a->env_file, ENVFILE_MAX, &text) < 0) {
        cfg__warn_at(ck, v, "env_file \"%s\" cannot be read (%s); %s cannot start until it can",
                a->env_file, strerror(errno), ck->what);
        buf_fini(&text);
        return;
    }
    if (st.st_mode & 077)
        cfg__warn_at(ck, v,
                "env_file \"%s\" is readable by other users (mode %04o); run chmod 600 %s",
                a->env_file, (unsigned)st.st_mode & 07777, a->env_file);
    struct cfg_diag *d = xmalloc(sizeof *d);
    if (cfg__envfile_parse_env(a->env_file, text.ptr, text.len, ck->environ, &kv, &n, d) < 0)
        for (int i = 0; i < d->nmsgs; i++)
            cfg__error_at(ck, v, "env_file \"%s\" line %d:%d: %s", v->str, d->msgs[i].line,
                     d->msgs[i].col, d->msgs[i].text);
    cfg_kv_free(kv, n);
    free(d);
    buf_fini(&text);
}

/* env_<profile>: any key so named except ones that look like a misspelt env_file. */
static bool is_profile_key(const char *key)
{
    static const char *const env_file[] = {"env_file", NULL};
    return str_starts(key, "env_") && key[4] && !str_suggest(key, env_file);
}

static void f_profile(struct cfg__ck *ck, struct cfg_app *a, const char *key,
                      const struct cfg_node *v)
{
    struct cfg_kv *kv = NULL;
    size_t n = 0;
    const char *name = key + 4;
    env_map(ck, key, v, &kv, &n, 0);
    if (ck->opts->profile && strcmp(ck->opts->profile, name) == 0 && kv) {
        a->profile_env = kv;
        a->nprofile_env = n;
        return;
    }
    cfg_kv_free(kv, n);
}

/* ---- ready
 * ----------------------------------------------------------------------------------------- */
static bool ready_word(struct cfg_app *a, const char *s)
{
    if (strcmp(s, "started") == 0)
        a->ready = CFG_READY_STARTED;
    else if (strcmp(s, "notify") == 0)
        a->ready = CFG_READY_NOTIFY;
    else if (strcmp(s, "port") == 0)
        a->ready = CFG_READY_PORT;
    else if (str_starts(s, "http://") || str_starts(s, "https://")) {
        a->ready = CFG_READY_HTTP;
        free(a->ready_url);
        a->ready_url = str_dup(s);
    } else
        return false;
    return true;
}

static void ready_map(struct cfg__ck *ck, struct cfg_app *a, const struct cfg_node *v)
{
    static const char *const keys[] = {"port", "http", "notify", "timeout", NULL};
    char ctx[200];
    const struct cfg_node *x;
    snprintf(ctx, sizeof ctx, "\"ready\" of %s", ck->what);
    cfg__check_keys(ck, v, keys, NULL, ctx);
    int kinds =
        !!cfg__node_get(v, "port") + !!cfg__node_get(v, "http") + !!cfg__node_get(v, "notify");
    if (kinds != 1)
        cfg__error_at(ck, v,
                 "\"ready\" needs exactly one of \"port\", \"http\" or \"notify\", e.g. "
                 "{http: \"http://127.0.0.1:${PORT}/health\", timeout: 30s}");
    if ((x = cfg__node_get(v, "port"))) {
        a->ready = CFG_READY_PORT; /* port: true = the instance's own PORT */
        if (!(x->kind == CFG_NODE_SCALAR && strcmp(x->str, "true") == 0))
            cfg__get_int(ck, "port", x, 1, 65535, &a->ready_port);
    }
    if ((x = cfg__node_get(v, "http")) && cfg__get_str(ck, "http", x, &a->ready_url)) {
        a->ready = CFG_READY_HTTP;
        if (!str_starts(x->str, "http://") && !str_starts(x->str, "https://"))
            cfg__error_at(ck, x,
                     "\"http\" must be a URL starting with http:// or https://, not "
                     "\"%s\"",
                     x->str);
    }
    bool notify = false;
    if ((x = cfg__node_get(v, "notify")) && cfg__get_bool(ck, "notify", x, &notify))
        a->ready = notify ? CFG_READY_NOTIFY : CFG_READY_STARTED;
    if ((x = cfg__node_get(v, "timeout")))
        cfg__get_duration(ck, "timeout", x, &a->ready_timeout_ms);
}

static void f_ready(struct cfg__ck *ck, struct cfg_app *a, const struct cfg_node *v)
{
    if (v->kind == CFG_NODE_MAP) {
        ready_map(ck, a, v);
        return;
    }
    if (!cfg__want_scalar(ck, "ready", v, "started, notify, port or a map"))
        return;
    if (!ready_word(a, v->str))
        cfg__error_at(ck, v,
                 "\"ready\" must be started, notify, port, an http:// URL, or a map "
                 "such as {port: 3000, timeout: 10s}, not \"%s\"",
                 v->str);
}

static void f_log(struct cfg__ck *ck, struct cfg_app *a, const struct cfg_node *v)
{
    char ctx[200];
    snprintf(ctx, sizeof ctx, "\"log\" of %s", ck->what);
    cfg__check_log(ck, v, &a->log, ctx);
}

/* ---- the fields table
 * ----------------------------------------------------------------------------- */
enum fkind { F_FN, F_DUR, F_INT, F_BOOL, F_SIZE, F_NAME };
typedef void field_fn(struct cfg__ck *ck, struct cfg_app *a, const struct cfg_node *v);
struct field {
    const char *key;
    enum fkind kind;
    size_t off;
    field_fn *fn;
};
#define FN(k, f)                                                                                   \
    {                                                                                              \
        k, F_FN, 0, f                                                                              \
    }
#define AT(k, kind, member)                                                                        \
    {                                                                                              \
        k, kind, offsetof(struct cfg_app, member), NULL                                            \
    }

static const struct field fields[] = {
    {"name", F_NAME, 0, NULL},
    FN("cmd", f_cmd),
    FN("argv", f_argv),
    FN("cwd", f_cwd),
    FN("instances", f_instances),
    AT("port", F_INT, port),
    FN("env", f_env),
    FN("env_file", f_env_file),
    FN("user", f_user),
    FN("restart", f_restart),
    AT("max_restarts", F_INT, max_restarts),
    AT("restart_window", F_DUR, restart_window_ms),
    AT("min_uptime", F_DUR, min_uptime_ms),
    AT("restart_delay", F_DUR, restart_delay_ms),
    AT("backoff", F_BOOL, backoff),
    AT("backoff_max", F_DUR, backoff_max_ms),
    FN("errored_retry", f_errored_retry),
    FN("kill_signal", f_kill_signal),
    AT("kill_timeout", F_DUR, kill_timeout_ms),
    AT("max_memory", F_SIZE, max_memory),
    FN("cron_restart", f_cron),
    FN("watch", f_watch),
    FN("watch_ignore", f_watch_ignore),
    AT("watch_debounce", F_DUR, watch_debounce_ms),
    FN("ready", f_ready),
    AT("ready_timeout", F_DUR, ready_timeout_ms),
    FN("log", f_log),
    {"health", F_NAME, 0, NULL}, /* read in cross_checks, once "port" is known */
};

static void apply_field(struct cfg__ck *ck, struct cfg_app *a, const struct field *f,
                        const struct cfg_node *v)
{
    char *p = (char *)a + f->off;
    switch (f->kind) {
    case F_FN:
        f->fn(ck, a, v);
        break;
    case F_DUR:
        cfg__get_duration(ck, f->key, v, (uint64_t *)(void *)p);
        break;
    case F_SIZE:
        cfg__get_size(ck, f->key, v, (uint64_t *)(void *)p);
        break;
    case F_BOOL:
        cfg__get_bool(ck, f->key, v, (bool *)(void *)p);
        break;
    case F_INT:
        cfg__get_int(ck, f->key, v, strcmp(f->key, "port") == 0 ? 1 : 0,
                     strcmp(f->key, "port") == 0 ? 65535 : 1000000, (int *)(void *)p);
        break;
    case F_NAME:
        break;
    }
}

/* ---- the app
 * ---------------------------------------------------------------------------------------- */
static void app_defaults(struct cfg__ck *ck, struct cfg_app *a)
{
    a->instances = 1;
    a->restart = CFG_RESTART_ALWAYS;
    a->max_restarts = 10;
    a->restart_window_ms = 60000;
    a->min_uptime_ms = 1000;
    a->backoff = true;
    a->backoff_max_ms = 30000;
    a->errored_retry_ms = 5 * 60000;
    a->kill_signal = SIGTERM;
    a->kill_timeout_ms = 5000;
    a->watch_debounce_ms = 500;
    a->ready = CFG_READY_STARTED;
    a->ready_timeout_ms = 30000;
    cfg__log_copy(&a->log, &ck->cfg->log_defaults);
}

/* Read and check `name:`; sets ck->what. false when the app cannot be named. */
static bool app_name(struct cfg__ck *ck, struct cfg_app *a, const struct cfg_node *map,
                     size_t index)
{
    const struct cfg_node *v = cfg__node_get(map, "name");
    snprintf(ck->what, sizeof ck->what, "app #%zu", index);
    if (!v) {
        cfg__error_at(ck, map, "app #%zu has no \"name\"; add one, e.g. name: api", index);
        return false;
    }
    if (!cfg__get_str(ck, "name", v, &a->name))
        return false;
    size_t n = strlen(a->name);
    if (n == 0 || n > 64 ||
        strspn(a->name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                        "0123456789_.-") != n) {
        cfg__error_at(ck, v,
                 "app name \"%s\" must be 1 to 64 letters, digits, \"_\", \".\" or "
                 "\"-\"",
                 a->name);
        return false;
    }
    if (strcmp(a->name, "all") == 0) {
        cfg__error_at(ck, v,
                 "app name \"all\" is reserved (\"tend restart all\" means every app); "
                 "pick another");
        return false;
    }
    snprintf(ck->what, sizeof ck->what, "app \"%s\"", a->name);
    return true;
}

static void finish_log(struct cfg__ck *ck, struct cfg_app *a)
{
    struct cfg_log *l = &a->log;
    struct buf b;
    buf_init(&b, 0);
    if (!l->out_file) {
        buf_printf(&b, "%s/%s-out.log", l->dir, a->name);
        l->out_file = buf_take(&b);
    }
    if (!l->err_file) {
        buf_printf(&b, "%s/%s-error.log", l->dir, a->name);
        l->err_file = buf_take(&b);
    }
    char **paths[] = {&l->dir, &l->out_file, &l->err_file, &l->combined_file};
    for (size_t i = 0; i < ARRAY_LEN(paths); i++) {
        if (*paths[i] && strstr(*paths[i], "${")) {
            char *x = cfg_app_expand(a, 0, *paths[i]);
            free(*paths[i]);
            *paths[i] = x;
        }
    }
    (void)ck;
}

static void cross_checks(struct cfg__ck *ck, struct cfg_app *a, const struct cfg_node *map)
{
    const struct cfg_node *v;
    if (a->cmd && a->argv)
        cfg__error_at(ck, map, "%s has both \"cmd\" and \"argv\"; keep one", ck->what);
    else if (!cfg__node_get(map, "cmd") && !cfg__node_get(map, "argv"))
        cfg__error_at(ck, map, "%s has no \"cmd\" or \"argv\"; add one, e.g. cmd: node server.js",
                 ck->what);
    if (a->port && a->port + a->instances - 1 > 65535 && (v = cfg__node_get(map, "port")))
        cfg__error_at(ck, v, "%s: port %d with %d instances goes past 65535 (the last would be %d)",
                 ck->what, a->port, a->instances, a->port + a->instances - 1);
    if (a->ready == CFG_READY_PORT && !a->ready_port && !a->port)
        cfg__error_at(ck, cfg__node_get(map, "ready"),
                 "%s: \"ready: port\" needs the app's \"port\" (or {port: N})", ck->what);
    v = cfg__node_get(map, "ready");
    if (v && v->kind == CFG_NODE_MAP && cfg__node_get(v, "timeout") &&
        (v = cfg__node_get(map, "ready_timeout")))
        cfg__error_at(ck, v,
                 "the ready timeout is set twice (\"ready_timeout\" and \"ready: "
                 "{timeout}\"); keep one");
    if ((v = cfg__node_get(map, "health"))) { /* typed by cfg_watch_load() (check_watch.c) */
        struct cfg_check *h = cfg__check_health(ck, a->name, a->port, v);
        /* An http health probe is also the app's readiness when `ready:` is not written: a
         * rolling reload then waits for the replacement's health endpoint to answer. */
        if (h && h->kind == CFG_CHECK_HTTP && !cfg__node_get(map, "ready") &&
            a->ready == CFG_READY_STARTED) {
            a->ready = CFG_READY_HTTP;
            a->ready_url = str_dup(h->u.http.url);
        }
        cfg__check_free(h);
    }
}

struct cfg_app *cfg__check_app(struct cfg__ck *ck, const struct cfg_node *map, size_t index)
{
    static const char *known[ARRAY_LEN(fields) + 1];
    char seen[80];
    if (map->kind != CFG_NODE_MAP) {
        cfg__node_describe(map, seen, sizeof seen);
        if (!map->is_bad)
            cfg__error_at(ck, map, "each app must be a map (name:, cmd:, ...), not %s", seen);
        return NULL;
    }
    for (size_t i = 0; i < ARRAY_LEN(fields); i++)
        known[i] = fields[i].key;
    struct cfg_app *a = xcalloc(1, sizeof *a);
    a->line = map->line;
    a->col = map->col;
    app_defaults(ck, a);
    bool named = app_name(ck, a, map, index);
    cfg__check_keys(ck, map, known, is_profile_key, ck->what);
    for (size_t i = 0; i < map->n; i++) {
        const char *key = map->keys[i]->str;
        if (!cfg__key_is_first(map, i))
            continue;
        for (size_t j = 0; j < ARRAY_LEN(fields); j++)
            if (strcmp(fields[j].key, key) == 0)
                apply_field(ck, a, &fields[j], map->vals[i]);
        if (is_profile_key(key))
            f_profile(ck, a, key, map->vals[i]);
    }
    if (!a->cwd)
        a->cwd = str_dup(ck->base_dir);
    if (a->watch && !a->watch[0])
        a->watch[0] = str_dup(a->cwd);
    if (a->watch && !a->watch_ignore) {
        static char *const dflt[] = {"node_modules", ".git", NULL};
        a->watch_ignore = cfg__strv_dup(dflt);
    }
    if (ck->opts->profile)
        a->profile = str_dup(ck->opts->profile);
    cross_checks(ck, a, map);
    if (!named) {
        cfg__app_free(a);
        return NULL;
    }
    finish_log(ck, a);
    cfg__app_fingerprint(a);
    return a;
}
