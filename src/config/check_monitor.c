/* config/check_monitor.c: `metrics:` and `access_logs:` of tend.yaml, the order the
 * monitoring keys are read in, and the struct cfg_watch snapshot that keeps them.
 *
 * cfg__check_watch() is the one entry: cfg_load() calls it to check the keys (out = NULL: the
 * typed values are built and thrown away), cfg_watch_load() calls it again on the same source
 * text to keep them, as cfg_backups_load() does for `backups:`. Alerts are read last because
 * they refer to everything else; names of apps and backup jobs come from the node tree, not
 * from checked structs, so both callers see the same names. An access log's custom format is
 * checked only for its shape here ($name variables, $status present): watch/ compiles it.
 *
 * Per-instance names (${PORT} ...) survive interpolation everywhere (interp.c); outside an
 * app's health probe they are an error. */
#include "config/config_int.h"

#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/err.h"
#include "core/str.h"
#include "core/util.h"

/* The `name:` scalars of the maps in list `section` of the root, NULL-terminated (borrowed). */
static const char **names_of(const struct cfg_node *root, const char *section)
{
    const struct cfg_node *l = cfg__node_get(root, section);
    size_t n = l && l->kind == CFG_NODE_SEQ ? l->n : 0, k = 0;
    const char **out = xcalloc(n + 1, sizeof *out);
    for (size_t i = 0; i < n; i++) {
        const struct cfg_node *v = cfg__node_get(l->vals[i], "name");
        if (v && v->kind == CFG_NODE_SCALAR && !v->is_null)
            out[k++] = v->str;
    }
    return out;
}

/* ${PORT} and the other per-instance names mean nothing outside an app's health probe. */
static void reject_instance_vars(struct cfg__ck *ck, const struct cfg_node *n, int depth)
{
    if (n->kind != CFG_NODE_SCALAR) {
        for (size_t i = 0; i < n->n && depth < 32; i++)
            reject_instance_vars(ck, n->vals[i], depth + 1);
        return;
    }
    for (const char *p = n->is_null ? NULL : strstr(n->str, "${"); p; p = strstr(p + 2, "${")) {
        size_t len = strcspn(p + 2, ":-}");
        if (!cfg__is_instance_var(p + 2, len))
            continue;
        cfg__error_in(
            ck, n, (size_t)(p - n->str),
            "\"${%.*s}\" is set per instance of an app; only an app's \"health:\" can use it",
            (int)len, p + 2);
        return;
    }
}

/* ---- metrics: -------------------------------------------------------------------------------- */
static void check_metrics(struct cfg__ck *ck, const struct cfg_node *v, struct cfg_watch *w)
{
    static const char *const keys[] = {"interval", "keep", NULL};
    const struct cfg_node *x;
    if (v->kind == CFG_NODE_SCALAR && v->is_null)
        return;
    if (!cfg__want_kind(ck, "metrics", v, CFG_NODE_MAP, "a map such as {interval: 5s, keep: 30d}"))
        return;
    cfg__check_keys(ck, v, keys, NULL, "\"metrics\"");
    if ((x = cfg__node_get(v, "interval")) &&
        cfg__get_duration(ck, "interval", x, &w->metrics.interval_ms) &&
        w->metrics.interval_ms < 1000)
        cfg__error_at(ck, x, "\"interval\" in \"metrics\" must be at least 1s, not \"%s\"", x->str);
    if ((x = cfg__node_get(v, "keep")) && cfg__get_duration(ck, "keep", x, &w->metrics.keep_ms) &&
        w->metrics.keep_ms < 3600000)
        cfg__error_at(ck, x, "\"keep\" in \"metrics\" must be at least 1h, not \"%s\"", x->str);
}

/* ---- access_logs: ---------------------------------------------------------------------------- */
#define COMBINED                                                                                   \
    "$remote_addr - $remote_user [$time_local] \"$request\" $status $body_bytes_sent "             \
    "\"$http_referer\" \"$http_user_agent\""

/* A custom log_format: every $ starts a variable ($name or ${name}); $status must be there. */
static bool format_ok(struct cfg__ck *ck, const struct cfg_node *v)
{
    bool status = false;
    for (const char *p = strchr(v->str, '$'); p; p = strchr(p + 1, '$')) {
        const char *s = p + 1 + (p[1] == '{');
        size_t n = strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789_");
        if (!n || (p[1] == '{' && s[n] != '}')) {
            cfg__error_in(ck, v, (size_t)(p - v->str),
                          "\"format\" in %s has a \"$\" that starts no variable; write $name as "
                          "in nginx's log_format (lower-case letters, digits, _)",
                          ck->what);
            return false;
        }
        status = status || (n == 6 && !strncmp(s, "status", 6));
    }
    if (!status)
        cfg__error_at(ck, v, "\"format\" in %s has no $status; tend needs it to count errors", ck->what);
    return status;
}

/* Does log_format `f` use $name (or ${name})? */
static bool has_var(const char *f, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = strchr(f, '$'); p; p = strchr(p + 1, '$')) {
        const char *s = p + 1 + (p[1] == '{');
        if (!strncmp(s, name, n) &&
            !(s[n] == '_' || (s[n] >= 'a' && s[n] <= 'z') || (s[n] >= '0' && s[n] <= '9')))
            return true;
    }
    return false;
}

static void access_format(struct cfg__ck *ck, struct cfg_access_log *l, const struct cfg_node *v)
{
    static const char *const words[] = {"combined", "timed", NULL};
    char sug[80];
    if (!cfg__want_scalar(ck, "format", v, "combined, timed or an nginx log_format string"))
        return;
    if (!strcmp(v->str, "combined") || !strcmp(v->str, "timed")) {
        l->format = v->str[0] == 'c' ? CFG_ACCESS_COMBINED : CFG_ACCESS_TIMED;
        free(l->log_format);
        l->log_format = str_dup(l->format == CFG_ACCESS_COMBINED ? COMBINED
                                                                 : COMBINED
                                    " $request_time $upstream_response_time");
    } else if (!strchr(v->str, '$')) {
        cfg__error_at(ck, v,
                 "\"format\" in %s must be combined, timed or an nginx log_format string "
                 "with $variables, not \"%s\"%s",
                 ck->what, v->str, cfg__did_you_mean(v->str, words, sug, sizeof sug));
    } else if (format_ok(ck, v)) {
        l->format = CFG_ACCESS_CUSTOM;
        free(l->log_format);
        l->log_format = str_dup(v->str);
    }
}

static void access_app(struct cfg__ck *ck, struct cfg_access_app *a, const struct cfg_node *k,
                       const struct cfg_node *v, const char *const *apps)
{
    static const char *const keys[] = {"upstream", "location", NULL};
    const struct cfg_node *up, *loc;
    char sug[120];
    if (!cfg__has_name(apps, k->str))
        cfg__error_at(ck, k, "%s maps requests to app \"%s\", which is not in \"apps\"%s", ck->what,
                 k->str, cfg__did_you_mean(k->str, apps, sug, sizeof sug));
    a->app = str_dup(k->str);
    if (!cfg__want_kind(ck, k->str, v, CFG_NODE_MAP,
                        "a map such as {upstream: 3000-3003} or {location: /}"))
        return;
    cfg__check_keys(ck, v, keys, NULL, ck->what);
    up = cfg__node_get(v, "upstream");
    loc = cfg__node_get(v, "location");
    if (!up == !loc)
        cfg__error_at(ck, v,
                 "app \"%s\" in %s needs exactly one of \"upstream\" (ports) or "
                 "\"location\" (a path prefix)",
                 k->str, ck->what);
    if (up && cfg__want_scalar(ck, "upstream", up, "a port or a range such as 3000-3003")) {
        char *e1 = NULL, *e2 = NULL;
        long lo = strtol(up->str, &e1, 10), hi = *e1 == '-' ? strtol(e1 + 1, &e2, 10) : lo;
        bool ok = e1 != up->str && (*e1 == '\0' || (*e1 == '-' && e2 != e1 + 1 && !*e2));
        if (ok && lo >= 1 && hi <= 65535 && lo <= hi) {
            a->port_lo = (int)lo;
            a->port_hi = (int)hi;
        } else {
            cfg__error_at(ck, up,
                     "\"upstream\" in %s must be a port or a range such as 3000-3003, "
                     "not \"%s\"",
                     ck->what, up->str);
        }
    }
    if (loc && cfg__get_str(ck, "location", loc, &a->location) && loc->str[0] != '/')
        cfg__error_at(ck, loc, "\"location\" in %s must be a path prefix starting with /, not \"%s\"",
                 ck->what, loc->str);
}

static void access_windows(struct cfg__ck *ck, struct cfg_access_log *l, const struct cfg_node *v)
{
    if (!cfg__want_kind(ck, "windows", v, CFG_NODE_SEQ, "a list of durations such as [1m, 5m]"))
        return;
    if (!v->n) {
        cfg__error_at(ck, v, "\"windows\" in %s is empty; leave it out for 1m, 5m, 15m", ck->what);
        return;
    }
    l->nwindows = 0;
    for (size_t i = 0; i < v->n; i++) {
        uint64_t ms = 0;
        const struct cfg_node *x = v->vals[i];
        if (!cfg__get_duration(ck, "windows", x, &ms))
            continue;
        if (ms < 10000 || ms > 86400000) {
            cfg__error_at(ck, x, "each of \"windows\" in %s must be between 10s and 24h, not \"%s\"",
                     ck->what, x->str);
            continue;
        }
        size_t j = 0;
        while (j < l->nwindows && l->windows_ms[j] < ms)
            j++;
        if (j < l->nwindows && l->windows_ms[j] == ms) {
            cfg__error_at(ck, x, "\"%s\" is listed twice in \"windows\" of %s", x->str, ck->what);
            continue;
        }
        memmove(l->windows_ms + j + 1, l->windows_ms + j, (l->nwindows - j) * sizeof(uint64_t));
        l->windows_ms[j] = ms;
        l->nwindows++;
    }
}

static void access_log_free(struct cfg_access_log *l)
{
    if (!l)
        return;
    free(l->path);
    free(l->log_format);
    for (size_t i = 0; i < l->napps; i++) {
        free(l->apps[i].app);
        free(l->apps[i].location);
    }
    free(l->apps);
    free(l->windows_ms);
    free(l);
}

static struct cfg_access_log *check_access_log(struct cfg__ck *ck, const struct cfg_node *map,
                                               size_t index, const char *const *apps)
{
    static const char *const keys[] = {"path", "format", "apps", "windows", NULL};
    const struct cfg_node *x;
    snprintf(ck->what, sizeof ck->what, "access log #%zu", index);
    if (!cfg__want_kind(ck, "access_logs", map, CFG_NODE_MAP, "a list of maps (- path: ...)"))
        return NULL;
    struct cfg_access_log *l = xcalloc(1, sizeof *l);
    l->line = map->line;
    l->col = map->col;
    if (!(x = cfg__node_get(map, "path")))
        cfg__error_at(ck, map,
                 "access log #%zu has no \"path\"; add one, e.g. path: "
                 "/var/log/nginx/access.log",
                 index);
    else if (cfg__get_path(ck, "path", x, &l->path))
        snprintf(ck->what, sizeof ck->what, "access log \"%.100s\"", x->str);
    cfg__check_keys(ck, map, keys, NULL, ck->what);
    l->log_format = str_dup(COMBINED);
    if ((x = cfg__node_get(map, "format")))
        access_format(ck, l, x);
    if ((x = cfg__node_get(map, "apps")) &&
        cfg__want_kind(ck, "apps", x, CFG_NODE_MAP,
                       "a map of app: {upstream: PORTS} or {location: /}")) {
        l->apps = xcalloc(x->n + 1, sizeof *l->apps);
        for (size_t i = 0; i < x->n; i++)
            access_app(ck, &l->apps[l->napps++], x->keys[i], x->vals[i], apps);
    }
    static const uint64_t dflt[] = {60000, 300000, 900000};
    x = cfg__node_get(map, "windows");
    l->windows_ms =
        xcalloc(MAX(ARRAY_LEN(dflt), x && x->kind == CFG_NODE_SEQ ? x->n : 0), sizeof(uint64_t));
    if (x)
        access_windows(ck, l, x);
    if (!l->nwindows) {
        memcpy(l->windows_ms, dflt, sizeof dflt);
        l->nwindows = ARRAY_LEN(dflt);
    }
    for (size_t i = 0; i < l->napps; i++) {
        const struct cfg_access_app *a = &l->apps[i];
        if (!a->port_hi == !a->location)
            continue; /* neither or both: already an error */
        const char *need = a->port_hi ? "upstream_addr" : "request";
        bool ok = a->port_hi
                      ? has_var(l->log_format, need)
                      : has_var(l->log_format, need) || has_var(l->log_format, "request_uri") ||
                            has_var(l->log_format, "uri") ||
                            has_var(l->log_format, "document_uri");
        x = cfg__node_get(cfg__node_get(map, "apps"), a->app);
        /* An error, not a warning: the daemon could not follow this log at all. */
        if ((a->port_hi || a->location) && !ok && x)
            cfg__error_at(ck, x,
                          "%s maps app \"%s\" by %s, but its format has no $%s; no request "
                          "could match (add $%s to nginx's log_format and to `format:` here)",
                          ck->what, a->app, a->port_hi ? "upstream port" : "location", need,
                          need);
    }
    return l;
}

/* ---- the lists ------------------------------------------------------------------------------- */
/* Check one item and keep it in `w`: its name for the uniqueness check, or NULL when it was
 * dropped (already reported). */
typedef const char *item_fn(struct cfg__ck *ck, const struct cfg_node *map, size_t index,
                            const void *ctx, struct cfg_watch *w);

static const char *access_item(struct cfg__ck *ck, const struct cfg_node *m, size_t i,
                               const void *ctx, struct cfg_watch *w)
{
    struct cfg_access_log *l = check_access_log(ck, m, i, ctx);
    if (!l)
        return NULL;
    w->access_logs = xrealloc(w->access_logs, (w->naccess_logs + 1) * sizeof *w->access_logs);
    w->access_logs[w->naccess_logs++] = l;
    return l->path;
}

static const char *notifier_item(struct cfg__ck *ck, const struct cfg_node *m, size_t i,
                                 const void *ctx, struct cfg_watch *w)
{
    struct cfg_notifier *nt = cfg__check_notifier(ck, m, i);
    (void)ctx;
    if (!nt)
        return NULL;
    w->notifiers = xrealloc(w->notifiers, (w->nnotifiers + 1) * sizeof *w->notifiers);
    w->notifiers[w->nnotifiers++] = nt;
    return nt->name;
}

static const char *alert_item(struct cfg__ck *ck, const struct cfg_node *m, size_t i,
                              const void *ctx, struct cfg_watch *w)
{
    struct cfg_alert *a = cfg__check_alert(ck, m, i, ctx);
    if (!a)
        return NULL;
    w->alerts = xrealloc(w->alerts, (w->nalerts + 1) * sizeof *w->alerts);
    w->alerts[w->nalerts++] = a;
    return a->name;
}

/* Check each item of list `key` with `fn`; `dup` is the message for a name used twice (the
 * name, then the line of its first use). */
static void check_list(struct cfg__ck *ck, const struct cfg_node *root, const char *key,
                       const char *example, item_fn *fn, const void *ctx, struct cfg_watch *w,
                       const char *dup)
{
    const struct cfg_node *l = cfg__node_get(root, key);
    if (!l || (l->kind == CFG_NODE_SCALAR && l->is_null))
        return;
    ck->what[0] = '\0';
    if (!cfg__want_kind(ck, key, l, CFG_NODE_SEQ, example))
        return;
    const char **names = xcalloc(l->n + 1, sizeof *names);
    int *lines = xcalloc(l->n + 1, sizeof *lines);
    size_t n = 0;
    for (size_t i = 0; i < l->n; i++) {
        const char *name = fn(ck, l->vals[i], i + 1, ctx, w);
        for (size_t j = 0; name && j < n; j++) {
            if (strcmp(names[j], name) != 0)
                continue;
            const struct cfg_node *at = cfg__node_get(l->vals[i], "name");
            at = at ? at : cfg__node_get(l->vals[i], strcmp(key, "alerts") ? "path" : "rule");
            cfg__error_at(ck, at ? at : l->vals[i], dup, name, lines[j]);
            break;
        }
        if (name) {
            lines[n] = l->vals[i]->line;
            names[n++] = name;
        }
    }
    free(names);
    free(lines);
}

static void watch_clear(struct cfg_watch *w)
{
    for (size_t i = 0; i < w->nchecks; i++)
        cfg__check_free(w->checks[i]);
    for (size_t i = 0; i < w->naccess_logs; i++)
        access_log_free(w->access_logs[i]);
    for (size_t i = 0; i < w->nalerts; i++)
        cfg__alert_free(w->alerts[i]);
    for (size_t i = 0; i < w->nnotifiers; i++)
        cfg__notifier_free(w->notifiers[i]);
    free(w->checks);
    free(w->access_logs);
    free(w->alerts);
    free(w->notifiers);
}

/* Each app's `health:`, for cfg_watch_load (cfg_load reads them with the app). */
static void app_health(struct cfg__ck *ck, const struct cfg_node *root, struct cfg_watch *w)
{
    const struct cfg_node *apps = cfg__node_get(root, "apps"), *name, *h, *p;
    for (size_t i = 0; apps && apps->kind == CFG_NODE_SEQ && i < apps->n; i++) {
        if (!(h = cfg__node_get(apps->vals[i], "health")))
            continue;
        name = cfg__node_get(apps->vals[i], "name");
        p = cfg__node_get(apps->vals[i], "port");
        int port = p ? -1 : 0;
        if (!name || name->kind != CFG_NODE_SCALAR || name->is_null)
            continue; /* reported by cfg_load */
        if (p && p->kind == CFG_NODE_SCALAR && !p->is_null)
            port = (int)strtol(p->str, NULL, 10);
        snprintf(ck->what, sizeof ck->what, "app \"%s\"", name->str);
        struct cfg_check *c = cfg__check_health(ck, name->str, port, h);
        if (!c)
            continue;
        w->checks = xrealloc(w->checks, (w->nchecks + 2) * sizeof *w->checks);
        w->checks[w->nchecks++] = c;
    }
}

void cfg__check_watch(struct cfg__ck *ck, const struct cfg_node *root, struct cfg_watch *out)
{
    static const char *const sections[] = {"metrics", "checks", "access_logs", "alerts",
                                           "notifiers"};
    struct cfg_watch tmp = {0};
    struct cfg_watch *w = out ? out : &tmp;
    const struct cfg_node *v;
    const char **apps = names_of(root, "apps"), **backups = names_of(root, "backups");
    w->metrics.interval_ms = 5000;
    w->metrics.keep_ms = 30ull * 86400000;
    for (size_t i = 0; i < ARRAY_LEN(sections); i++)
        if ((v = cfg__node_get(root, sections[i])))
            reject_instance_vars(ck, v, 0);
    if ((v = cfg__node_get(root, "metrics")))
        check_metrics(ck, v, w);
    if ((v = cfg__node_get(root, "checks")))
        cfg__check_checks(ck, v, w);
    if (out)
        app_health(ck, root, w);
    check_list(ck, root, "access_logs", "a list of logs (- path: /var/log/nginx/access.log)",
               access_item, apps, w,
               "access log \"%.100s\" is already listed at line %d; list each file once");
    check_list(ck, root, "notifiers", "a list of notifiers (- name: ops)", notifier_item, NULL, w,
               "notifier name \"%s\" is already used by the notifier at line %d; names must be "
               "unique");
    struct cfg__alert_refs refs = {apps, backups, w, cfg__node_get(root, "access_logs")};
    check_list(ck, root, "alerts", "a list of alerts (- rule: cpu > 70% for 5m)", alert_item, &refs,
               w, "alert \"%.100s\" is already used by the alert at line %d; names must be unique");
    if (w->nalerts && !w->nnotifiers && (v = cfg__node_get(root, "alerts")))
        cfg__warn_at(ck, v,
                "there are alerts but no \"notifiers\", so they only show in \"tend "
                "alerts\"; add one, e.g. a webhook");
    free(apps);
    free(backups);
    ck->what[0] = '\0';
    if (!out)
        watch_clear(&tmp);
}

/* ---- the snapshot ---------------------------------------------------------------------------- */
struct cfg_watch *cfg_watch_ref(struct cfg_watch *w)
{
    if (w)
        w->refs++;
    return w;
}

void cfg_watch_unref(struct cfg_watch *w)
{
    if (!w || --w->refs > 0)
        return;
    watch_clear(w);
    free(w);
}

const struct cfg_check *cfg_watch_check(const struct cfg_watch *w, const char *name)
{
    for (size_t i = 0; w && i < w->nchecks; i++)
        if (!w->checks[i]->app && !strcmp(w->checks[i]->name, name))
            return w->checks[i];
    return NULL;
}

const struct cfg_check *cfg_watch_health(const struct cfg_watch *w, const char *app)
{
    for (size_t i = 0; w && i < w->nchecks; i++)
        if (w->checks[i]->app && !strcmp(w->checks[i]->app, app))
            return w->checks[i];
    return NULL;
}

const struct cfg_notifier *cfg_watch_notifier(const struct cfg_watch *w, const char *name)
{
    for (size_t i = 0; w && i < w->nnotifiers; i++)
        if (!strcmp(w->notifiers[i]->name, name))
            return w->notifiers[i];
    return NULL;
}

extern char **environ;

/* Only what is read here: the rest was interpolated (and reported) by cfg_load. */
static void watch_section(struct cfg__ck *ck, struct cfg_node *root, void *arg)
{
    static const char *const sections[] = {"metrics", "checks", "access_logs", "alerts",
                                           "notifiers"};
    static const char *const app_keys[] = {"name", "port", "health"};
    for (size_t i = 0; i < root->n; i++)
        for (size_t j = 0; j < ARRAY_LEN(sections); j++)
            if (!strcmp(root->keys[i]->str, sections[j]))
                cfg__interp_tree(root->vals[i], ck->environ, ck->diag);
    const struct cfg_node *apps = cfg__node_get(root, "apps");
    for (size_t i = 0; apps && apps->kind == CFG_NODE_SEQ && i < apps->n; i++)
        for (size_t j = 0; j < ARRAY_LEN(app_keys); j++)
            if (cfg__node_get(apps->vals[i], app_keys[j]))
                cfg__interp_tree((struct cfg_node *)cfg__node_get(apps->vals[i], app_keys[j]),
                                 ck->environ, ck->diag);
    cfg__check_watch(ck, root, arg);
}

static int finish(int rc, struct cfg_watch *w, struct cfg_watch **out)
{
    if (rc < 0) {
        cfg_watch_unref(w);
        return rc;
    }
    *out = w;
    return 0;
}

int cfg_watch_load(const struct cfg *c, const struct cfg_load_opts *opts, struct cfg_watch **out,
                   struct cfg_diag *diag)
{
    struct cfg_watch *w = xcalloc(1, sizeof *w);
    w->refs = 1;
    *out = NULL;
    return finish(cfg__load_section_of(c, opts, watch_section, w, diag), w, out);
}

int cfg_watch_load_mem(const char *name, const char *text, size_t len,
                       const struct cfg_load_opts *opts, struct cfg_watch **out,
                       struct cfg_diag *diag)
{
    struct cfg_watch *w = xcalloc(1, sizeof *w);
    w->refs = 1;
    *out = NULL;
    return finish(cfg__load_section_mem(name, text, len, opts, watch_section, w, diag), w, out);
}

/* ---- names ----------------------------------------------------------------------------------- */
const char *cfg_access_format_name(enum cfg_access_format f)
{
    static const char *const n[] = {"combined", "timed", "custom"};
    return (unsigned)f < ARRAY_LEN(n) ? n[f] : "?";
}
