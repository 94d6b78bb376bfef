/* config/pm2_map.c: an ecosystem tree (apps: [...]) written as tend.yaml text.
 *
 * One pass per app: every key of the PM2 app is either in `mapped` below (and turned into its
 * tend.yaml key) or named in a warning (DESIGN, PM2 lesson 8: never drop a key silently). The
 * body of an app is written to its own buffer while notes (comments for the reader) collect in
 * another, so the notes can stand right under the app's name. Every string is written
 * double-quoted with escapes, and "${" / "$$" are doubled so tend's ${VAR} interpolation gives
 * back exactly PM2's text; numbers, booleans, durations and sizes we format ourselves are plain.
 * The output loads with tend's loader; golden files in tests/data/pm2 pin it. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "config/config_int.h"
#include "config/pm2_int.h"
#include "core/buf.h"
#include "core/err.h"
#include "core/str.h"

/* Keys this file turns into tend.yaml; env_<profile> is accepted separately. */
static const char *const mapped[] = {
    "name", "script", "args", "interpreter", "interpreter_args", "node_args", "cwd",
    "instances", "exec_mode", "env", "env_file", "autorestart", "stop_exit_codes",
    "max_restarts", "min_uptime", "restart_delay", "exp_backoff_restart_delay", "kill_timeout",
    "max_memory_restart", "cron_restart", "watch", "ignore_watch", "log_date_format", "out_file",
    "error_file", "err_file", "log_file", "merge_logs", "combine_logs", "log_type",
    "disable_logs", "wait_ready", "listen_timeout", "instance_var", "increment_var", NULL,
};

/* One app being converted. */
struct app {
    const json_t *j;           /* the PM2 app */
    const json_t *pj;          /* the same app in pos->root, for positions (or NULL) */
    const struct pm2_pos *pos;
    struct cfg_diag *diag;
    const char *dir;           /* the ecosystem file's folder, for finding the script */
    char name[128];
    struct buf body, notes;
    long long instances;       /* 0: not written, -1: "max" */
    long long port;            /* from env.PORT when `port:` is written; else 0 */
    long long env_port;        /* env.PORT when it is a port number; else 0 */
};

/* ---- messages ------------------------------------------------------------------------------ */
static void say(struct app *a, enum cfg_severity sev, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void say(struct app *a, enum cfg_severity sev, const char *key, const char *fmt, ...)
{
    char msg[360];
    int line, col;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    cfg__pm2_pos_find(a->pos, a->pj, key ? key : "", &line, &col);
    cfg__pm2_diag(a->diag, sev, line, col, "app \"%s\": %s", a->name, msg);
}

static void note(struct app *a, const char *text)
{
    buf_printf(&a->notes, "    # %s\n", text);
}

/* A short JSON rendering of a value for messages. */
static const char *show(const json_t *v, char *dst, size_t size)
{
    char *s = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
    snprintf(dst, size, "%s", s ? s : "?");
    if (s && strlen(s) >= size && size > 4)
        memcpy(dst + size - 4, "...", 4);
    free(s);
    return dst;
}

static void bad_type(struct app *a, const char *key, const char *want)
{
    char tmp[80];
    say(a, CFG_ERROR, key, "\"%s\" must be %s, not %s", key, want,
        show(json_object_get(a->j, key), tmp, sizeof tmp));
}

/* ---- YAML text ------------------------------------------------------------------------------- */
/* A double-quoted YAML scalar that reads back as exactly `s` after tend's interpolation. */
static void yq(struct buf *b, const char *s)
{
    buf_putc(b, '"');
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            buf_printf(b, "\\%c", *p);
        else if (*p == '\n')
            buf_puts(b, "\\n");
        else if (*p == '\t')
            buf_puts(b, "\\t");
        else if (*p < 0x20 || *p == 0x7f)
            buf_printf(b, "\\x%02x", *p);
        else if (*p == 0xC2 && p[1] == 0x85) /* NEL, LS, PS: YAML line breaks */
            buf_puts(b, "\\N"), p++;
        else if (*p == 0xE2 && p[1] == 0x80 && (p[2] == 0xA8 || p[2] == 0xA9))
            buf_puts(b, p[2] == 0xA8 ? "\\L" : "\\P"), p += 2;
        else if (*p == '$' && (p[1] == '{' || p[1] == '$'))
            buf_puts(b, "$$");
        else
            buf_putc(b, (char)*p);
    }
    buf_putc(b, '"');
}

/* `key: "value"` at app level. */
static void put_str(struct app *a, const char *key, const char *val)
{
    buf_printf(&a->body, "    %s: ", key);
    yq(&a->body, val);
    buf_putc(&a->body, '\n');
}

static void put_list(struct buf *b, const char *const *v, size_t n)
{
    buf_putc(b, '[');
    for (size_t i = 0; i < n; i++) {
        if (i)
            buf_puts(b, ", ");
        yq(b, v[i]);
    }
    buf_puts(b, "]\n");
}

static void put_ms(struct buf *b, unsigned long long ms)
{
    static const struct { unsigned long long n; const char *unit; } units[] = {
        {86400000ULL, "d"}, {3600000ULL, "h"}, {60000ULL, "m"}, {1000ULL, "s"},
    };
    for (size_t i = 0; ms && i < sizeof units / sizeof units[0]; i++)
        if (ms % units[i].n == 0) {
            buf_printf(b, "%llu%s", ms / units[i].n, units[i].unit);
            return;
        }
    buf_printf(b, ms ? "%llums" : "0s", ms);
}

/* ---- values ------------------------------------------------------------------------------------ */
/* Present and a string: 1; absent: 0; wrong type: -1 (reported). */
static int get_str(struct app *a, const char *key, const char **out)
{
    const json_t *v = json_object_get(a->j, key);
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_string(v)) {
        bad_type(a, key, "a string");
        return -1;
    }
    *out = json_string_value(v);
    return 1;
}

/* PM2 reads booleans loosely ("true" as a string happens in YAML and env-built files). */
static int get_bool(struct app *a, const char *key, bool *out)
{
    const json_t *v = json_object_get(a->j, key);
    if (!v || json_is_null(v))
        return 0;
    if (json_is_boolean(v))
        *out = json_is_true(v);
    else if (json_is_string(v) && (str_eq(json_string_value(v), "true") ||
                                   str_eq(json_string_value(v), "false")))
        *out = json_string_value(v)[0] == 't';
    else if (json_is_integer(v) && (json_integer_value(v) == 0 || json_integer_value(v) == 1))
        *out = json_integer_value(v) == 1;
    else {
        bad_type(a, key, "true or false");
        return -1;
    }
    return 1;
}

/* A PM2 duration: milliseconds as a number or digits, or "5s" "2m" "1h" "250ms" "1d". */
static int get_ms(struct app *a, const char *key, unsigned long long *ms)
{
    const json_t *v = json_object_get(a->j, key);
    if (!v || json_is_null(v))
        return 0;
    if (json_is_integer(v) && json_integer_value(v) >= 0) {
        *ms = (unsigned long long)json_integer_value(v);
        return 1;
    }
    if (json_is_real(v) && json_real_value(v) >= 0 && json_real_value(v) < 1e15) {
        *ms = (unsigned long long)json_real_value(v);
        return 1;
    }
    if (json_is_string(v)) {
        const char *s = json_string_value(v);
        char *end;
        errno = 0;
        unsigned long long n = strtoull(s, &end, 10);
        static const struct { const char *u; unsigned long long f; } units[] = {
            {"", 1}, {"ms", 1}, {"s", 1000}, {"m", 60000}, {"h", 3600000}, {"d", 86400000},
        };
        for (size_t i = 0; end != s && isdigit((unsigned char)*s) && errno == 0 &&
                           i < sizeof units / sizeof units[0]; i++)
            if (!strcmp(end, units[i].u)) {
                *ms = n * units[i].f;
                return 1;
            }
    }
    bad_type(a, key, "milliseconds (a number) or a duration such as \"5s\", \"2m\", \"1h\"");
    return -1;
}

/* PM2's max_memory_restart: bytes as a number, or "300M" "1G" "1024K" (a B suffix allowed). */
static int get_size(struct app *a, const char *key, unsigned long long *bytes)
{
    const json_t *v = json_object_get(a->j, key);
    if (!v || json_is_null(v))
        return 0;
    if (json_is_integer(v) && json_integer_value(v) > 0) {
        *bytes = (unsigned long long)json_integer_value(v);
        return 1;
    }
    if (json_is_string(v)) {
        const char *s = json_string_value(v);
        char *end;
        double d = strtod(s, &end);
        unsigned long long f = 1;
        while (*end == ' ')
            end++;
        char u = (char)toupper((unsigned char)*end);
        if (u == 'K' || u == 'M' || u == 'G')
            f = u == 'K' ? 1024ULL : u == 'M' ? 1024ULL * 1024 : 1024ULL * 1024 * 1024, end++;
        if (*end == 'B' || *end == 'b')
            end++;
        if (end != s && isdigit((unsigned char)*s) && !*end && d > 0 && d * (double)f < 1e18) {
            *bytes = (unsigned long long)(d * (double)f);
            return 1;
        }
    }
    bad_type(a, key, "a size such as \"300M\", \"1G\" or a number of bytes");
    return -1;
}

static void put_size(struct buf *b, unsigned long long n)
{
    static const char units[] = "GMK";
    for (int i = 0; i < 3; i++) {
        unsigned long long f = 1ULL << (10 * (3 - i));
        if (n % f == 0) {
            buf_printf(b, "%llu%c", n / f, units[i]);
            return;
        }
    }
    buf_printf(b, "%llu", n);
}

/* ---- the command ------------------------------------------------------------------------------- */
static int map_command(struct app *a)
{
    struct pm2_cmd c = {0};
    const char *bad = NULL;
    int rc = cfg__pm2_command(a->j, a->dir, &c, &bad);
    if (rc == -2)
        say(a, CFG_ERROR, NULL, "\"script\" is missing (the program PM2 would start)");
    else if (rc < 0)
        bad_type(a, bad, str_eq(bad, "script") || str_eq(bad, "interpreter") ||
                         str_eq(bad, "cwd") ? "a string" : "a string or a list of strings");
    else if (c.shell) {
        put_str(a, "cmd", c.shell);
        note(a, "args use shell syntax, so the command runs through /bin/sh -c");
    } else {
        buf_puts(&a->body, "    argv: ");
        put_list(&a->body, (const char *const *)c.argv, c.argc);
    }
    cfg__pm2_cmd_fini(&c);
    return rc < 0 ? -1 : 0;
}

/* ---- instances, port and environment ---------------------------------------------------------- */
static int map_instances(struct app *a)
{
    const json_t *v = json_object_get(a->j, "instances");
    const char *mode = NULL;
    char *end;
    if (get_str(a, "exec_mode", &mode) < 0)
        return -1;
    if (v && json_is_string(v) && !str_eq(json_string_value(v), "max")) {
        long long n = strtoll(json_string_value(v), &end, 10);
        if (*end || end == json_string_value(v))
            return bad_type(a, "instances", "a number or \"max\""), -1;
        a->instances = n;
    } else if (v && json_is_string(v)) {
        a->instances = -1;
    } else if (v && json_is_integer(v)) {
        a->instances = json_integer_value(v);
    } else if (v && !json_is_null(v)) {
        return bad_type(a, "instances", "a number or \"max\""), -1;
    }
    if (a->instances < -1) {
        say(a, CFG_WARNING, "instances", "instances %lld means \"all CPUs but %lld\" in PM2; "
            "tend runs \"max\" (one per CPU): set a number if that is too many",
            a->instances, -a->instances);
    }
    if (a->instances <= 0 && v && !json_is_null(v)) {
        a->instances = -1;
        buf_puts(&a->body, "    instances: max\n");
    } else if (a->instances > 0) {
        buf_printf(&a->body, "    instances: %lld\n", a->instances);
    }
    if (mode && strstr(mode, "cluster")) {
        say(a, CFG_WARNING, "exec_mode", "exec_mode \"cluster\": tend has no Node cluster "
            "module, so each instance is a separate process; instances cannot share one port, "
            "use \"port:\" (instance i gets PORT = port + i) behind a load balancer");
        note(a, "PM2 cluster mode: each instance is a separate process (tend has no cluster "
                "module)");
    } else if (mode && !strstr(mode, "fork")) {
        say(a, CFG_WARNING, "exec_mode", "exec_mode \"%s\" is unknown (tend runs processes as "
            "PM2's fork mode does)", mode);
    }
    return 0;
}

/* env.PORT when it is a port number. */
static long long env_port(const struct app *a)
{
    const json_t *p = json_object_get(json_object_get(a->j, "env"), "PORT");
    char tmp[32], *end;
    if (!p || !cfg__pm2_scalar_text(p, tmp, sizeof tmp))
        return 0;
    long long n = strtoll(tmp, &end, 10);
    return *end || end == tmp || n <= 0 || n > 65535 ? 0 : n;
}

/* `port:` replaces PM2's shared cluster port and its increment_var PORT. */
static int map_port(struct app *a)
{
    const char *inc = NULL;
    char msg[200];
    if (get_str(a, "increment_var", &inc) < 0)
        return -1;
    a->env_port = env_port(a);
    if (inc && !str_eq(inc, "PORT"))
        say(a, CFG_WARNING, "increment_var", "increment_var \"%s\" is not used by tend "
            "(ignored): tend numbers only PORT (with \"port:\") and sets TEND_INSTANCE", inc);
    bool many = a->instances > 1 || a->instances == -1;
    if (!a->env_port || (!many && !str_eq(inc, "PORT")))
        return 0;
    a->port = a->env_port;
    buf_printf(&a->body, "    port: %lld\n", a->port);
    snprintf(msg, sizeof msg, "port: instance i gets PORT = %lld + i (env.PORT moved here)",
             a->port);
    note(a, msg);
    if (many && !str_eq(inc, "PORT"))
        say(a, CFG_WARNING, "instances", "several instances with env.PORT %lld: without PM2's "
            "cluster module they cannot share it, so \"port: %lld\" gives instance i the port "
            "%lld + i", a->port, a->port, a->port);
    return 0;
}

/* A variable name written without quotes must not read as YAML null or a boolean. */
static bool plain_key_ok(const char *k)
{
    static const char *const special[] = {"null", "true", "false", "yes", "no", "on", "off",
                                          "y", "n", NULL};
    for (size_t i = 0; special[i]; i++)
        if (!strcasecmp(k, special[i]))
            return false;
    return cfg__env_name_ok(k);
}

/* One env map: `key:` then its variables, in the file's order. */
static int put_env_map(struct app *a, const char *key, const json_t *env, bool skip_port)
{
    const char *k;
    const json_t *v;
    char tmp[4096];
    struct buf m;
    if (!json_is_object(env)) {
        bad_type(a, key, "a map of variables");
        return -1;
    }
    buf_init(&m, 0);
    json_object_foreach((json_t *)env, k, v) {
        if (skip_port && !strcmp(k, "PORT"))
            continue;
        if (json_is_null(v)) {
            say(a, CFG_WARNING, key, "%s.%s is null and is left out", key, k);
            continue;
        }
        buf_puts(&m, "      ");
        if (plain_key_ok(k))
            buf_puts(&m, k); /* a plain variable name needs no quotes */
        else
            yq(&m, k);
        buf_puts(&m, ": ");
        if (cfg__pm2_scalar_text(v, tmp, sizeof tmp)) {
            yq(&m, tmp);
        } else { /* PM2 hands objects to the app as JSON text */
            char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
            yq(&m, s ? s : "");
            free(s);
        }
        buf_putc(&m, '\n');
    }
    if (m.len || !skip_port) /* env.PORT alone moved to port: leaves nothing to write */
        buf_printf(&a->body, "    %s:%s\n", key, m.len ? "" : " {}");
    if (m.len)
        buf_append(&a->body, m.ptr, m.len);
    buf_fini(&m);
    return 0;
}

static bool is_profile_key(const char *k)
{
    return str_starts(k, "env_") && k[4] && strcmp(k, "env_file") != 0;
}

static int map_env(struct app *a)
{
    const char *k, *file = NULL;
    const json_t *v;
    int rc = get_str(a, "env_file", &file);
    if (rc > 0)
        put_str(a, "env_file", file);
    if ((v = json_object_get(a->j, "env")) && put_env_map(a, "env", v, a->port != 0) < 0)
        rc = -1;
    json_object_foreach((json_t *)a->j, k, v)
        if (is_profile_key(k) && put_env_map(a, k, v, false) < 0)
            rc = -1;
    return rc < 0 ? -1 : 0;
}

/* ---- restarts, watch, readiness ------------------------------------------------------------------ */
static void put_ms_key(struct app *a, const char *key, unsigned long long ms)
{
    buf_printf(&a->body, "    %s: ", key);
    put_ms(&a->body, ms);
    buf_putc(&a->body, '\n');
}

/* stop_exit_codes [0] (or 0) is tend's restart: on-failure. */
static int stop_codes_mean_on_failure(struct app *a)
{
    const json_t *v = json_object_get(a->j, "stop_exit_codes");
    if (!v || json_is_null(v))
        return 0;
    if ((json_is_integer(v) && json_integer_value(v) == 0) ||
        (json_is_array(v) && json_array_size(v) == 1 && json_is_integer(json_array_get(v, 0)) &&
         json_integer_value(json_array_get(v, 0)) == 0))
        return 1;
    say(a, CFG_WARNING, "stop_exit_codes", "stop_exit_codes other than [0] are not used by tend "
        "(ignored): \"restart: on-failure\" treats exit code 0 alone as success");
    return 0;
}

static int map_restart(struct app *a)
{
    bool autorestart = true;
    unsigned long long ms, exp = 0;
    int rc = 0, r;
    const json_t *mr = json_object_get(a->j, "max_restarts");
    if (get_bool(a, "autorestart", &autorestart) < 0)
        rc = -1;
    if (!autorestart)
        buf_puts(&a->body, "    restart: never\n");
    else if (stop_codes_mean_on_failure(a))
        buf_puts(&a->body, "    restart: on-failure\n");
    if (mr && json_is_integer(mr) && json_integer_value(mr) >= 0)
        buf_printf(&a->body, "    max_restarts: %lld\n", (long long)json_integer_value(mr));
    else if (mr && !json_is_null(mr))
        bad_type(a, "max_restarts", "a number"), rc = -1;
    if ((r = get_ms(a, "min_uptime", &ms)) > 0)
        put_ms_key(a, "min_uptime", ms);
    rc = r < 0 ? -1 : rc;
    if ((r = get_ms(a, "exp_backoff_restart_delay", &exp)) > 0) {
        buf_puts(&a->body, "    backoff: true\n");
        put_ms_key(a, "restart_delay", exp);
        if (json_object_get(a->j, "restart_delay"))
            say(a, CFG_WARNING, "restart_delay", "restart_delay is replaced by "
                "exp_backoff_restart_delay, which is the base delay of the backoff");
    } else if ((r = r < 0 ? r : get_ms(a, "restart_delay", &ms)) > 0) {
        put_ms_key(a, "restart_delay", ms);
    }
    rc = r < 0 ? -1 : rc;
    /* PM2 stops apps with SIGINT; apps written for it may handle only that. */
    buf_puts(&a->body, "    kill_signal: SIGINT  # what PM2 sends; tend's default is SIGTERM\n");
    if ((r = get_ms(a, "kill_timeout", &ms)) > 0)
        put_ms_key(a, "kill_timeout", ms);
    rc = r < 0 ? -1 : rc;
    if ((r = get_size(a, "max_memory_restart", &ms)) > 0) {
        buf_puts(&a->body, "    max_memory: ");
        put_size(&a->body, ms);
        buf_putc(&a->body, '\n');
    }
    rc = r < 0 ? -1 : rc;
    const char *cron = NULL;
    if ((r = get_str(a, "cron_restart", &cron)) > 0)
        put_str(a, "cron_restart", cron);
    return r < 0 ? -1 : rc;
}

/* A string or a list of strings as a YAML list; 0 when absent. */
static int put_paths(struct app *a, const char *key, const char *as)
{
    const json_t *v = json_object_get(a->j, key), *e;
    size_t i;
    if (!v || json_is_null(v) || json_is_boolean(v))
        return 0;
    if (json_is_string(v)) {
        const char *one = json_string_value(v);
        buf_printf(&a->body, "    %s: ", as);
        put_list(&a->body, &one, 1);
        return 0;
    }
    if (!json_is_array(v))
        return bad_type(a, key, "a path or a list of paths"), -1;
    json_array_foreach(v, i, e)
        if (!json_is_string(e))
            return bad_type(a, key, "a path or a list of paths"), -1;
    buf_printf(&a->body, "    %s:\n", as);
    json_array_foreach(v, i, e) {
        buf_puts(&a->body, "      - ");
        yq(&a->body, json_string_value(e));
        buf_putc(&a->body, '\n');
    }
    return 0;
}

static int map_watch(struct app *a)
{
    const json_t *w = json_object_get(a->j, "watch");
    if (json_is_true(w))
        buf_puts(&a->body, "    watch: true\n");
    if (put_paths(a, "watch", "watch") < 0)
        return -1;
    if (!w || json_is_false(w) || json_is_null(w)) {
        if (json_object_get(a->j, "ignore_watch"))
            say(a, CFG_WARNING, "ignore_watch", "ignore_watch is not used because watch is off");
        return 0;
    }
    return put_paths(a, "ignore_watch", "watch_ignore");
}

static int map_ready(struct app *a)
{
    bool wait = false;
    unsigned long long ms;
    const char *var = NULL;
    int rc = get_bool(a, "wait_ready", &wait);
    if (wait && a->port) {
        buf_puts(&a->body, "    ready: port\n");
    } else if (wait && a->env_port) {
        buf_printf(&a->body, "    ready: {port: %lld}\n", a->env_port);
    } else if (wait) {
        buf_puts(&a->body, "    ready: started\n");
        say(a, CFG_WARNING, "wait_ready", "wait_ready waits for process.send('ready'), which "
            "tend cannot see, and no port is known: using \"ready: started\"; set \"ready: "
            "port\", \"ready: notify\" (sd_notify) or \"ready: {http: URL}\" instead");
    }
    if (wait)
        note(a, "wait_ready: PM2's process.send('ready') is replaced by the ready: check");
    int r = get_ms(a, "listen_timeout", &ms);
    if (r > 0)
        put_ms_key(a, "ready_timeout", ms);
    if (get_str(a, "instance_var", &var) > 0 && !str_eq(var, "NODE_APP_INSTANCE"))
        say(a, CFG_WARNING, "instance_var", "instance_var \"%s\" is not set by tend: it sets "
            "NODE_APP_INSTANCE and TEND_INSTANCE (read one of those in the app)", var);
    return rc < 0 || r < 0 ? -1 : 0;
}

/* ---- logs ------------------------------------------------------------------------------------------ */
/* One log file key; PM2's "/dev/null" means "do not write", which is tend's "". */
static int log_file(struct app *a, struct buf *m, const char *key, const char *as)
{
    const char *f = NULL;
    const json_t *v = json_object_get(a->j, key);
    if (str_eq(key, "log_file") && json_is_boolean(v)) {
        char def[160];
        snprintf(def, sizeof def, "%s.log", a->name);
        if (json_is_true(v)) { /* PM2's default combined file is <name>.log */
            buf_puts(m, "      combined_file: ");
            yq(m, def);
            buf_putc(m, '\n');
        }
        return 0;
    }
    int rc = get_str(a, key, &f);
    if (rc <= 0)
        return rc;
    buf_printf(m, "      %s: ", as);
    yq(m, str_eq(f, "/dev/null") ? "" : f);
    buf_putc(m, '\n');
    return 0;
}

static int map_log(struct app *a)
{
    struct buf m;
    const char *fmt = NULL, *type = NULL;
    bool merge, off = false;
    int rc = 0, r;
    buf_init(&m, 0);
    if (get_bool(a, "disable_logs", &off) < 0)
        rc = -1;
    if (off) {
        buf_puts(&m, "      out_file: \"\"\n      err_file: \"\"\n");
    } else if (log_file(a, &m, "out_file", "out_file") < 0 ||
               log_file(a, &m, json_object_get(a->j, "error_file") ? "error_file" : "err_file",
                        "err_file") < 0) {
        rc = -1;
    }
    if (log_file(a, &m, "log_file", "combined_file") < 0)
        rc = -1;
    if ((r = get_str(a, "log_date_format", &fmt)) > 0) {
        buf_puts(&m, "      date_format: ");
        yq(&m, fmt);
        buf_putc(&m, '\n');
    }
    const char *mk = json_object_get(a->j, "merge_logs") ? "merge_logs" : "combine_logs";
    if (r < 0 || (r = get_bool(a, mk, &merge)) < 0)
        rc = -1;
    else if (r > 0)
        buf_printf(&m, "      merge_instances: %s\n", merge ? "true" : "false");
    if (get_str(a, "log_type", &type) > 0 && str_eq(type, "json"))
        buf_puts(&m, "      json: true\n");
    if (m.len) {
        buf_puts(&a->body, "    log:\n");
        buf_append(&a->body, m.ptr, m.len);
    }
    buf_fini(&m);
    return rc;
}

/* ---- keys tend does not use -------------------------------------------------------------------------- */
static bool is_mapped(const char *k)
{
    for (size_t i = 0; mapped[i]; i++)
        if (!strcmp(k, mapped[i]))
            return true;
    return is_profile_key(k);
}

static void warn_unused(struct app *a)
{
    const char *k;
    const json_t *v;
    json_object_foreach((json_t *)a->j, k, v) {
        if (is_mapped(k))
            continue;
        if (!strcmp(k, "time"))
            say(a, CFG_WARNING, k, "PM2 attribute \"time\" is not used by tend (ignored): tend "
                "stamps every log line already (log.timestamp)");
        else
            say(a, CFG_WARNING, k, "PM2 attribute \"%s\" is not used by tend (ignored)", k);
    }
    /* both spellings given: the one we did not read must not vanish silently */
    if (json_object_get(a->j, "error_file") && json_object_get(a->j, "err_file"))
        say(a, CFG_WARNING, "err_file", "\"err_file\" is ignored: \"error_file\" is also set");
    if (json_object_get(a->j, "merge_logs") && json_object_get(a->j, "combine_logs"))
        say(a, CFG_WARNING, "combine_logs", "\"combine_logs\" is ignored: \"merge_logs\" is "
            "also set");
    if (json_object_get(a->j, "interpreter_args") && json_object_get(a->j, "node_args"))
        say(a, CFG_WARNING, "node_args", "\"node_args\" is ignored: \"interpreter_args\" is "
            "also set");
    const char *type = NULL;
    if (get_str(a, "log_type", &type) > 0 && !str_eq(type, "json"))
        say(a, CFG_WARNING, "log_type", "log_type \"%s\" is not used by tend (ignored)", type);
}

/* ---- apps ------------------------------------------------------------------------------------------- */
/* PM2 names an unnamed app after its script: "server.js" -> "server". */
static void app_name(struct app *a, size_t index)
{
    const json_t *n = json_object_get(a->j, "name");
    const char *script = json_string_value(json_object_get(a->j, "script"));
    if (json_is_string(n) && json_string_length(n) > 0) {
        snprintf(a->name, sizeof a->name, "%s", json_string_value(n));
    } else if (script) {
        const char *b = strrchr(script, '/') ? strrchr(script, '/') + 1 : script;
        size_t len = strcspn(b, ". \t");
        snprintf(a->name, sizeof a->name, "%.*s", (int)(len ? len : strlen(b)), b);
    } else {
        snprintf(a->name, sizeof a->name, "app%zu", index + 1);
    }
}

static int map_app(struct app *a, size_t index, struct buf *out)
{
    const char *cwd = NULL;
    int rc = 0;
    app_name(a, index);
    if (json_object_get(a->j, "name") && !json_is_string(json_object_get(a->j, "name")))
        bad_type(a, "name", "a string"), rc = -1;
    if (map_command(a) < 0)
        rc = -1;
    if (get_str(a, "cwd", &cwd) > 0)
        put_str(a, "cwd", cwd);
    if (map_instances(a) < 0 || map_port(a) < 0 || map_env(a) < 0)
        rc = -1;
    if (map_restart(a) < 0 || map_watch(a) < 0 || map_ready(a) < 0 || map_log(a) < 0)
        rc = -1;
    warn_unused(a);
    buf_puts(out, "  - name: ");
    yq(out, a->name);
    buf_putc(out, '\n');
    if (a->notes.len)
        buf_append(out, a->notes.ptr, a->notes.len);
    if (a->body.len)
        buf_append(out, a->body.ptr, a->body.len);
    return rc;
}

/* The apps list of an ecosystem tree: {apps: [...]}, [...], or one app object. */
static const json_t *apps_of(const json_t *root)
{
    if (json_is_array(root))
        return root;
    if (json_is_object(root) && json_object_get(root, "apps"))
        return json_object_get(root, "apps");
    if (json_is_object(root) && json_object_get(root, "script"))
        return root;
    return NULL;
}

static void warn_top(const json_t *root, const struct pm2_pos *pos, struct cfg_diag *diag)
{
    const char *k;
    const json_t *v;
    int line, col;
    if (!json_is_object(root) || !json_object_get(root, "apps"))
        return;
    json_object_foreach((json_t *)root, k, v) {
        if (!strcmp(k, "apps"))
            continue;
        cfg__pm2_pos_find(pos, pos ? pos->root : NULL, k, &line, &col);
        cfg__pm2_diag(diag, CFG_WARNING, line, col, "PM2 attribute \"%s\" is not used by tend "
                      "(ignored)%s", k, !strcmp(k, "deploy") ? ": see \"tend deploy\" and the "
                      "deploy: section of tend.yaml" : "");
    }
}

int cfg__pm2_map(const char *path, const json_t *root, const struct pm2_pos *pos,
                 struct buf *yaml, struct cfg_diag *diag)
{
    const json_t *apps = apps_of(root), *papps = pos ? apps_of(pos->root) : NULL;
    const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
    char dir[4096];
    int errors = diag->nerrors;
    snprintf(dir, sizeof dir, "%.*s", base == path ? 1 : (int)(base - path - 1),
             base == path ? "." : path);
    if (!apps || (!json_is_array(apps) && !json_is_object(apps)) ||
        (json_is_array(apps) && json_array_size(apps) == 0)) {
        cfg__pm2_diag(diag, CFG_ERROR, 0, 0, "no apps found: expected module.exports = { apps: "
                      "[{ name, script, ... }] }");
        return -TE_CONFIG;
    }
    warn_top(root, pos, diag);
    buf_printf(yaml, "# Converted from %s by tend import\napps:\n", base);
    size_t n = json_is_array(apps) ? json_array_size(apps) : 1;
    for (size_t i = 0; i < n; i++) {
        struct app a = {0};
        a.j = json_is_array(apps) ? json_array_get(apps, i) : apps;
        a.pj = !papps ? NULL : json_is_array(papps) ? json_array_get(papps, i) : papps;
        a.pos = pos;
        a.diag = diag;
        a.dir = dir;
        if (!json_is_object(a.j)) {
            int line, col;
            cfg__pm2_pos_find(pos, pos ? pos->root : NULL, "apps", &line, &col);
            cfg__pm2_diag(diag, CFG_ERROR, line, col, "app #%zu is not an object", i + 1);
            continue;
        }
        map_app(&a, i, yaml);
        buf_fini(&a.body);
        buf_fini(&a.notes);
    }
    return diag->nerrors > errors ? -TE_CONFIG : 0;
}
