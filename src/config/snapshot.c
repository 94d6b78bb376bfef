/* config/snapshot.c: a loaded struct cfg: its lifetime, its fingerprints, and printing an app
 * back as tend.yaml.
 *
 * A snapshot is immutable once cfg_load() returns it and is shared by reference count
 * (STYLE.md 3.6); everything in it is owned by it. The fingerprint of an app is FNV-1a 64 over
 * every field the running process sees or that shapes how it is run and stopped (command,
 * folder, environment sources, user, instances and ports, kill settings, logs, readiness).
 * Restart policy, max_memory, cron_restart and watch are left out on purpose: they are
 * decisions the supervisor makes about a running instance, applied without a restart. Each
 * field is hashed with a tag and a terminator, and NULL differs from "", so moving bytes from
 * one field to the next changes the digest. */
#include "config/config_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/buf.h"
#include "core/str.h"
#include "core/util.h"

/* ---- lifetime ---------------------------------------------------------------------------------
 */
char **cfg__strv_dup(char *const *v)
{
    size_t n = 0;
    if (!v)
        return NULL;
    while (v[n])
        n++;
    char **out = xcalloc(n + 1, sizeof *out);
    for (size_t i = 0; i < n; i++)
        out[i] = str_dup(v[i]);
    return out;
}

void cfg__strv_free(char **v)
{
    for (size_t i = 0; v && v[i]; i++)
        free(v[i]);
    free(v);
}

void cfg__log_fini(struct cfg_log *l)
{
    free(l->dir);
    free(l->out_file);
    free(l->err_file);
    free(l->combined_file);
    free(l->date_format);
    memset(l, 0, sizeof *l);
}

void cfg__log_copy(struct cfg_log *dst, const struct cfg_log *src)
{
    *dst = *src;
    dst->dir = str_dup(src->dir);
    dst->out_file = str_dup(src->out_file);
    dst->err_file = str_dup(src->err_file);
    dst->combined_file = str_dup(src->combined_file);
    dst->date_format = str_dup(src->date_format);
}

void cfg__app_free(struct cfg_app *a)
{
    if (!a)
        return;
    free(a->name);
    free(a->cmd);
    cfg__strv_free(a->argv);
    free(a->cwd);
    cfg_kv_free(a->env, a->nenv);
    free(a->env_file);
    free(a->profile);
    cfg_kv_free(a->profile_env, a->nprofile_env);
    free(a->user);
    free(a->group);
    free(a->cron_restart);
    cfg__strv_free(a->watch);
    cfg__strv_free(a->watch_ignore);
    free(a->ready_url);
    cfg__log_fini(&a->log);
    free(a->fingerprint);
    free(a);
}

void cfg__free(struct cfg *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->napps; i++)
        cfg__app_free(c->apps[i]);
    free(c->apps);
    free(c->path);
    free(c->profile);
    free(c->api.listen);
    cfg__log_fini(&c->log_defaults);
    free(c->source);
    free(c);
}

struct cfg *cfg_ref(struct cfg *c)
{
    c->refs++;
    return c;
}

void cfg_unref(struct cfg *c)
{
    if (c && --c->refs == 0)
        cfg__free(c);
}

const struct cfg_app *cfg_app_find(const struct cfg *c, const char *name)
{
    for (size_t i = 0; c && name && i < c->napps; i++)
        if (strcmp(c->apps[i]->name, name) == 0)
            return c->apps[i];
    return NULL;
}

bool cfg_app_changed(const struct cfg_app *a, const struct cfg_app *b)
{
    if (!a || !b)
        return a != b;
    return !str_eq(a->fingerprint, b->fingerprint);
}

/* ---- fingerprint -------------------------------------------------------------------------------
 */
struct fnv {
    uint64_t h;
};

static void fnv_bytes(struct fnv *f, const void *p, size_t n)
{
    const unsigned char *s = p;
    for (size_t i = 0; i < n; i++) {
        f->h ^= s[i];
        f->h *= 0x100000001b3ULL;
    }
}

static void fnv_str(struct fnv *f, const char *tag, const char *s)
{
    fnv_bytes(f, tag, strlen(tag) + 1);
    if (s)
        fnv_bytes(f, s, strlen(s) + 1);
    else
        fnv_bytes(f, "\xff", 1);
}

static void fnv_u64(struct fnv *f, const char *tag, uint64_t v)
{
    char s[32];
    snprintf(s, sizeof s, "%" PRIu64, v);
    fnv_str(f, tag, s);
}

static void fnv_kv(struct fnv *f, const char *tag, const struct cfg_kv *kv, size_t n)
{
    fnv_u64(f, tag, n);
    for (size_t i = 0; i < n; i++) {
        fnv_str(f, "k", kv[i].key);
        fnv_str(f, "v", kv[i].value);
    }
}

static void fnv_log(struct fnv *f, const struct cfg_log *l)
{
    fnv_str(f, "log.dir", l->dir);
    fnv_str(f, "log.out", l->out_file);
    fnv_str(f, "log.err", l->err_file);
    fnv_str(f, "log.combined", l->combined_file);
    fnv_str(f, "log.date_format", l->date_format);
    uint64_t flags = (uint64_t)l->timestamp | (uint64_t)l->json << 1 |
                     (uint64_t)l->merge_instances << 2 | (uint64_t)l->daily << 3 |
                     (uint64_t)l->compress << 4;
    fnv_u64(f, "log.flags", flags);
    fnv_u64(f, "log.max_size", l->max_size);
    fnv_u64(f, "log.keep", (uint64_t)l->keep);
    fnv_u64(f, "log.max_line", l->max_line);
    fnv_u64(f, "log.buffer", l->buffer);
}

void cfg__app_fingerprint(struct cfg_app *a)
{
    struct fnv f = {0xcbf29ce484222325ULL};
    char hex[17];
    fnv_str(&f, "cmd", a->cmd);
    for (size_t i = 0; a->argv && a->argv[i]; i++)
        fnv_str(&f, "argv", a->argv[i]);
    fnv_str(&f, "cwd", a->cwd);
    /* `instances` is left out on purpose: a new count starts or stops the extra instances
     * without restarting the others (supervise's "scale" plan). */
    fnv_u64(&f, "port", (uint64_t)a->port);
    fnv_kv(&f, "env", a->env, a->nenv);
    fnv_str(&f, "env_file", a->env_file);
    fnv_str(&f, "profile", a->profile_env ? a->profile : NULL);
    fnv_kv(&f, "profile_env", a->profile_env, a->nprofile_env);
    fnv_str(&f, "user", a->user);
    fnv_str(&f, "group", a->group);
    fnv_u64(&f, "kill_signal", (uint64_t)a->kill_signal);
    fnv_u64(&f, "kill_timeout", a->kill_timeout_ms);
    fnv_u64(&f, "ready", (uint64_t)a->ready);
    fnv_u64(&f, "ready_port", (uint64_t)a->ready_port);
    fnv_str(&f, "ready_url", a->ready_url);
    fnv_u64(&f, "ready_timeout", a->ready_timeout_ms);
    fnv_log(&f, &a->log);
    snprintf(hex, sizeof hex, "%016" PRIx64, f.h);
    free(a->fingerprint);
    a->fingerprint = str_dup(hex);
}

/* ---- printing as YAML
 * ------------------------------------------------------------------------------ */
static bool needs_quotes(const char *s)
{
    static const char *const words[] = {"true", "false", "yes", "no", "on",
                                        "off",  "null",  "~",   NULL};
    if (!*s || strchr("-?:,[]{}#&*!|>'\"%@` \t", s[0]) || strstr(s, ": ") || strstr(s, " #") ||
        s[strlen(s) - 1] == ' ' || s[strlen(s) - 1] == ':')
        return true;
    for (size_t i = 0; words[i]; i++)
        if (strcasecmp(s, words[i]) == 0)
            return true;
    for (const char *p = s; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == '"' || *p == '\\')
            return true;
    return false;
}

/* A scalar that reads back as the same string: quoted when YAML would read it otherwise, and
 * every $ doubled so interpolation gives it back unchanged. */
static void put_scalar(struct buf *b, const char *s)
{
    bool q = needs_quotes(s);
    if (q)
        buf_putc(b, '"');
    for (const char *p = s; *p; p++) {
        if (*p == '$')
            buf_puts(b, "$$");
        else if (q && (*p == '"' || *p == '\\'))
            buf_printf(b, "\\%c", *p);
        else if (q && *p == '\n')
            buf_puts(b, "\\n");
        else if (q && (unsigned char)*p < 0x20)
            buf_printf(b, "\\x%02x", (unsigned char)*p);
        else
            buf_putc(b, *p);
    }
    if (q)
        buf_putc(b, '"');
}

static void put_key(struct buf *b, int indent, const char *key, const char *value)
{
    buf_printf(b, "%*s%s:", indent, "", key);
    if (value) {
        buf_putc(b, ' ');
        put_scalar(b, value);
    }
    buf_putc(b, '\n');
}

static void put_bool(struct buf *b, int indent, const char *key, bool v)
{
    buf_printf(b, "%*s%s: %s\n", indent, "", key, v ? "true" : "false");
}

static void put_duration(struct buf *b, int indent, const char *key, uint64_t ms)
{
    static const struct {
        uint64_t ms;
        const char *unit;
    } units[] = {{86400000, "d"}, {3600000, "h"}, {60000, "m"}, {1000, "s"}, {1, "ms"}};
    char s[64] = "0";
    size_t pos = 0;
    for (size_t i = 0; i < ARRAY_LEN(units) && ms; i++) {
        if (ms >= units[i].ms) {
            pos += (size_t)snprintf(s + pos, sizeof s - pos, "%" PRIu64 "%s", ms / units[i].ms,
                                    units[i].unit);
            ms %= units[i].ms;
        }
    }
    put_key(b, indent, key, s);
}

static void put_size(struct buf *b, int indent, const char *key, uint64_t v)
{
    static const char units[] = "KMGT";
    char s[32];
    int u = -1;
    while (v && v % 1024 == 0 && u < 3) {
        v /= 1024;
        u++;
    }
    if (u >= 0)
        snprintf(s, sizeof s, "%" PRIu64 "%c", v, units[u]);
    else
        snprintf(s, sizeof s, "%" PRIu64, v);
    put_key(b, indent, key, s);
}

static void put_int(struct buf *b, int indent, const char *key, long v)
{
    char s[32];
    snprintf(s, sizeof s, "%ld", v);
    put_key(b, indent, key, s);
}

static void put_list(struct buf *b, int indent, const char *key, char *const *v)
{
    put_key(b, indent, key, NULL);
    for (size_t i = 0; v && v[i]; i++) {
        buf_printf(b, "%*s- ", indent + 2, "");
        put_scalar(b, v[i]);
        buf_putc(b, '\n');
    }
}

static void put_env(struct buf *b, const char *key, const struct cfg_kv *kv, size_t n, bool mask)
{
    put_key(b, 2, key, NULL);
    for (size_t i = 0; i < n; i++) {
        char masked[64];
        const char *v = kv[i].value;
        if (mask && str_is_secret_name(kv[i].key)) {
            str_mask(masked, sizeof masked, v);
            v = masked;
        }
        put_key(b, 4, kv[i].key, v);
    }
}

static void put_log(struct buf *b, const struct cfg_log *l)
{
    put_key(b, 2, "log", NULL);
    put_key(b, 4, "dir", l->dir);
    put_key(b, 4, "out_file", l->out_file);
    put_key(b, 4, "err_file", l->err_file);
    if (l->combined_file)
        put_key(b, 4, "combined_file", l->combined_file);
    if (l->date_format)
        put_key(b, 4, "date_format", l->date_format);
    put_bool(b, 4, "timestamp", l->timestamp);
    put_bool(b, 4, "json", l->json);
    put_bool(b, 4, "merge_instances", l->merge_instances);
    put_size(b, 4, "max_size", l->max_size);
    put_key(b, 4, "rotate", l->daily ? "daily" : "none");
    put_int(b, 4, "keep", l->keep);
    put_bool(b, 4, "compress", l->compress);
    put_size(b, 4, "max_line", l->max_line);
    put_size(b, 4, "buffer", l->buffer);
}

static void put_ready(struct buf *b, const struct cfg_app *a)
{
    if (a->ready == CFG_READY_STARTED) {
        put_key(b, 2, "ready", "started");
        put_duration(b, 2, "ready_timeout", a->ready_timeout_ms);
        return;
    }
    put_key(b, 2, "ready", NULL);
    if (a->ready == CFG_READY_PORT && a->ready_port)
        put_int(b, 4, "port", a->ready_port);
    else if (a->ready == CFG_READY_PORT)
        put_bool(b, 4, "port", true);
    else if (a->ready == CFG_READY_HTTP)
        put_key(b, 4, "http", a->ready_url);
    else
        put_bool(b, 4, "notify", true);
    put_duration(b, 4, "timeout", a->ready_timeout_ms);
}

static void put_process(struct buf *b, const struct cfg_app *a, bool mask)
{
    char s[300];
    if (a->cmd)
        put_key(b, 2, "cmd", a->cmd);
    if (a->argv)
        put_list(b, 2, "argv", a->argv);
    put_key(b, 2, "cwd", a->cwd);
    put_int(b, 2, "instances", a->instances);
    if (a->port)
        put_int(b, 2, "port", a->port);
    if (a->nenv)
        put_env(b, "env", a->env, a->nenv, mask);
    if (a->env_file)
        put_key(b, 2, "env_file", a->env_file);
    if (a->profile_env) {
        snprintf(s, sizeof s, "env_%s", a->profile);
        put_env(b, s, a->profile_env, a->nprofile_env, mask);
    }
    if (a->user) {
        snprintf(s, sizeof s, "%s%s%s", a->user, a->group ? ":" : "", a->group ? a->group : "");
        put_key(b, 2, "user", s);
    }
}

static int to_yaml(const struct cfg_app *a, struct buf *b, bool mask)
{
    static const char *const restart[] = {"always", "on-failure", "never"};
    size_t before = b->len;
    buf_puts(b, "- name: ");
    put_scalar(b, a->name);
    buf_putc(b, '\n');
    put_process(b, a, mask);
    put_key(b, 2, "restart", restart[a->restart]);
    put_int(b, 2, "max_restarts", a->max_restarts);
    put_duration(b, 2, "restart_window", a->restart_window_ms);
    put_duration(b, 2, "min_uptime", a->min_uptime_ms);
    put_duration(b, 2, "restart_delay", a->restart_delay_ms);
    put_bool(b, 2, "backoff", a->backoff);
    put_duration(b, 2, "backoff_max", a->backoff_max_ms);
    if (a->errored_retry_ms)
        put_duration(b, 2, "errored_retry", a->errored_retry_ms);
    else
        put_key(b, 2, "errored_retry", "never");
    if (strcmp(cfg_signal_name(a->kill_signal), "unknown") == 0)
        put_int(b, 2, "kill_signal", a->kill_signal);
    else
        put_key(b, 2, "kill_signal", cfg_signal_name(a->kill_signal));
    put_duration(b, 2, "kill_timeout", a->kill_timeout_ms);
    if (a->max_memory)
        put_size(b, 2, "max_memory", a->max_memory);
    if (a->cron_restart)
        put_key(b, 2, "cron_restart", a->cron_restart);
    if (a->watch) {
        put_list(b, 2, "watch", a->watch);
        if (a->watch_ignore)
            put_list(b, 2, "watch_ignore", a->watch_ignore);
        put_duration(b, 2, "watch_debounce", a->watch_debounce_ms);
    }
    put_ready(b, a);
    put_log(b, &a->log);
    return b->len > before ? 0 : -1;
}

int cfg_app_to_yaml(const struct cfg_app *a, struct buf *out)
{
    return to_yaml(a, out, false);
}

int cfg_app_to_yaml_masked(const struct cfg_app *a, struct buf *out)
{
    return to_yaml(a, out, true);
}
