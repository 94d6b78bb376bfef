/* routes.c: the /v1 API routes (docs/api.md), the daemon's side of "one API, two doors".
 *
 * Each handler reads its request, calls the modules through their public headers and answers
 * with JSON. Handlers are thin: validation of request fields happens here (a clear 400 naming
 * the field), everything else belongs to the module. Verbs that take time (apply, stop, reload)
 * answer from their completion callback; the api module keeps a request valid (and drops the
 * answer) if its client went away meanwhile. */
#include <errno.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/clock.h"
#include "core/err.h"
#include "core/str.h"
#include "core/tlog.h"
#include "core/util.h"
#include "daemon_int.h"
#include "monitor.h"
#include "version.h"

#define MAX_ONLY 64

/* HTTP status for a module error code. */
static int status_of(int code)
{
    switch (code) {
    case -TE_NOTFOUND:
    case -ENOENT:
        return 404;
    case -TE_STATE:
        return 409;
    case -TE_INVALID:
    case -TE_PARSE:
    case -TE_TOOBIG:
        return 400;
    case -TE_CONFIG:
        return 422;
    default:
        return 500;
    }
}

void routes__reply_err(struct api_req *req, int code, const struct err *e)
{
    struct err copy = {0};
    if (!e || !e->msg[0]) {
        err_set(&copy, code, "%s", err_str(code));
        e = &copy;
    }
    api_reply_err(req, status_of(e->code ? e->code : code), e);
}

static const char *body_str(json_t *body, const char *key)
{
    return json_string_value(json_object_get(body, key));
}

/* ---- ping, version, kill ------------------------------------------------------------------ */
static void h_ping(void *ctx, struct api_req *req)
{
    struct daemon *d = ctx;
    api_reply(req, 200,
              json_pack("{s:b,s:s,s:I,s:I,s:s}", "pong", 1, "version", TEND_VERSION, "pid",
                        (json_int_t)getpid(), "uptime_ms",
                        (json_int_t)(clock_mono_ms() - d->started_ms), "home", d->home));
}

static void h_version(void *ctx, struct api_req *req)
{
    (void)ctx;
    api_reply(req, 200, json_pack("{s:s,s:i}", "version", TEND_VERSION, "api", TEND_API_VERSION));
}

static void kill_later(uv_timer_t *t)
{
    struct daemon *d = t->data;
    uv_close((uv_handle_t *)t, (uv_close_cb)free);
    daemon__shutdown(d, true);
}

static void h_kill(void *ctx, struct api_req *req)
{
    struct daemon *d = ctx;
    api_reply(req, 200, json_pack("{s:b,s:I}", "stopping", 1, "pid", (json_int_t)getpid()));
    /* Let the answer reach the client before the doors close. */
    uv_timer_t *t = xmalloc(sizeof *t);
    uv_timer_init(&d->loop, t);
    t->data = d;
    uv_timer_start(t, kill_later, 20, 0);
}

/* ---- up / resurrect --------------------------------------------------------------------- */
/* Owned by the route until its completion callback answers. */
struct up_ctx {
    struct daemon *d;
    struct api_req *req;
    json_t *warnings;
    bool is_dry_run;
};

static json_t *diag_lines(const struct cfg_diag *diag, enum cfg_severity sev)
{
    json_t *arr = json_array();
    for (int i = 0; i < diag->nmsgs; i++) {
        const struct cfg_msg *m = &diag->msgs[i];
        if (m->severity != sev)
            continue;
        struct buf b = {0};
        /* The same lines as `tend config check` prints (cfg_diag_format). */
        const char *tag = sev == CFG_WARNING ? "warning: " : "";
        if (m->line > 0)
            buf_printf(&b, "%s:%d:%d: %s%s", diag->file, m->line, m->col, tag, m->text);
        else
            buf_printf(&b, "%s: %s%s", diag->file, tag, m->text);
        json_array_append_new(arr, json_string(b.ptr ? b.ptr : ""));
        buf_fini(&b);
    }
    return arr;
}

static void reply_config_invalid(struct api_req *req, const struct cfg_diag *diag, int rc)
{
    json_t *where = diag_lines(diag, CFG_ERROR);
    const char *first = json_array_size(where) ? json_string_value(json_array_get(where, 0))
                                               : err_str(rc);
    char msg[600];
    snprintf(msg, sizeof msg, "%s has %d error%s", diag->file, diag->nerrors,
             diag->nerrors == 1 ? "" : "s");
    json_t *e = json_pack("{s:s,s:s,s:s,s:o,s:o}", "code", "config_invalid", "message",
                          diag->nerrors ? msg : first, "hint",
                          "fix the file; nothing was changed, running apps are untouched",
                          "where", where, "warnings", diag_lines(diag, CFG_WARNING));
    api_reply(req, rc == -TE_CONFIG || diag->nerrors ? 422 : 400, json_pack("{s:o}", "error", e));
}

/* What the applied file keeps doing besides apps: {"checks": N, "backups": [{name, next_run}]},
 * so `tend up` of a file with only checks or backups says what is now scheduled. */
static json_t *scheduled(struct daemon *d)
{
    json_t *c = d->monitor ? monitor_checks_json(d->monitor) : NULL;
    json_t *b = d->backup ? backup_status(d->backup) : NULL;
    json_t *jobs = json_array(), *j;
    size_t i;
    json_array_foreach(json_object_get(b, "jobs"), i, j)
        json_array_append_new(jobs, json_pack("{s:O, s:O}", "name", json_object_get(j, "name"),
                                              "next_run", json_object_get(j, "next_run")));
    json_t *out = json_pack("{s:I, s:o}", "checks",
                            (json_int_t)json_array_size(json_object_get(c, "checks")), "backups",
                            jobs);
    json_decref(c);
    json_decref(b);
    return out;
}

static void up_done(void *arg, int rc, json_t *result, const struct err *err)
{
    struct up_ctx *u = arg;
    if (rc < 0) {
        routes__reply_err(u->req, rc, err);
    } else {
        json_t *out = json_deep_copy(result ? result : json_object());
        json_object_set_new(out, "applied", json_boolean(!u->is_dry_run));
        json_object_set(out, "warnings", u->warnings);
        if (!u->is_dry_run) {
            daemon__listen_tcp(u->d, sup_config(u->d->sup));
            daemon__config_applied(u->d);
            struct cfg *c = sup_config(u->d->sup);
            daemon__event(u->d, "config_applied", NULL, -1, c ? c->path : "config applied");
            json_object_set_new(out, "scheduled", scheduled(u->d));
        }
        api_reply(u->req, 200, out);
    }
    json_decref(u->warnings);
    free(u);
}

/* Load the config the request names: a file the daemon reads, or YAML the CLI converted (PM2). */
static int load_config(struct daemon *d, json_t *body, struct cfg **cfg, struct cfg_diag *diag)
{
    const char *file = body_str(body, "file"), *yaml = body_str(body, "yaml");
    struct cfg_load_opts o = {.profile = body_str(body, "env"), .home = d->home};
    memset(diag, 0, sizeof *diag);
    str_copy(diag->file, file, sizeof diag->file);
    if (!yaml)
        return cfg_load(file, &o, cfg, diag);
    char dir[PATH_MAX];
    str_copy(dir, file, sizeof dir);
    o.base_dir = dirname(dir);
    return cfg_load_mem(file, yaml, strlen(yaml), &o, cfg, diag);
}

static int collect_only(json_t *body, const char **only, struct api_req *req)
{
    json_t *arr = json_object_get(body, "only"), *v;
    size_t i, n = 0;
    if (!arr || json_is_null(arr))
        return 0;
    if (!json_is_array(arr) || json_array_size(arr) > MAX_ONLY) {
        api_reply_error(req, 400, "bad_request", "\"only\" must be a list of app names", NULL);
        return -1;
    }
    json_array_foreach(arr, i, v)
    {
        if (!json_is_string(v)) {
            api_reply_error(req, 400, "bad_request", "\"only\" must be a list of app names", NULL);
            return -1;
        }
        only[n++] = json_string_value(v);
    }
    only[n] = NULL;
    return 1;
}

static void h_up(void *ctx, struct api_req *req)
{
    struct daemon *d = ctx;
    json_t *body = api_req_json(req);
    const char *file = body_str(body, "file");
    const char *only[MAX_ONLY + 1] = {0};
    if (!file || file[0] != '/') {
        api_reply_error(req, 400, "bad_request", "\"file\" must be the absolute path of tend.yaml",
                        "tend up resolves the path for you");
        return;
    }
    int has_only = collect_only(body, only, req);
    if (has_only < 0)
        return;
    struct cfg *cfg = NULL;
    struct cfg_diag *diag = xcalloc(1, sizeof *diag);
    int rc = load_config(d, body, &cfg, diag);
    if (rc < 0) {
        reply_config_invalid(req, diag, rc);
        free(diag);
        return;
    }
    for (int i = 0; has_only && only[i]; i++) {
        if (!cfg_app_find(cfg, only[i])) {
            char msg[300];
            snprintf(msg, sizeof msg, "no app named \"%s\" in %s", only[i], file);
            api_reply_error(req, 404, "not_found", msg, "check --only against the file's apps");
            cfg_unref(cfg);
            free(diag);
            return;
        }
    }
    struct up_ctx *u = xcalloc(1, sizeof *u);
    *u = (struct up_ctx){.d = d, .req = req, .warnings = diag_lines(diag, CFG_WARNING),
                         .is_dry_run = json_is_true(json_object_get(body, "dry_run"))};
    free(diag);
    struct err err = {0};
    rc = sup_apply(d->sup, cfg, has_only ? only : NULL, u->is_dry_run, up_done, u, &err);
    cfg_unref(cfg);
    if (rc < 0) {
        routes__reply_err(req, rc, &err);
        json_decref(u->warnings);
        free(u);
    }
}

static void h_resurrect(void *ctx, struct api_req *req)
{
    struct daemon *d = ctx;
    struct up_ctx *u = xcalloc(1, sizeof *u);
    *u = (struct up_ctx){.d = d, .req = req, .warnings = json_array()};
    struct err err = {0};
    int rc = sup_resurrect(d->sup, up_done, u, &err);
    if (rc < 0) {
        routes__reply_err(req, rc, &err);
        json_decref(u->warnings);
        free(u);
    }
}

static void h_save(void *ctx, struct api_req *req)
{
    struct daemon *d = ctx;
    struct err err = {0};
    bool force = json_is_true(json_object_get(api_req_json(req), "force"));
    int rc = sup_save(d->sup, force, &err);
    if (rc < 0) {
        routes__reply_err(req, rc, &err);
        return;
    }
    char path[PATH_MAX + 16];
    if (str_fmt(path, sizeof path, "%s/dump.json", d->home) < 0)
        path[0] = '\0';
    api_reply(req, 200, json_pack("{s:b,s:s}", "saved", 1, "path", path));
}

/* ---- verbs on apps ---------------------------------------------------------------------- */
static void act_done(void *arg, int rc, json_t *result, const struct err *err)
{
    struct api_req *req = arg;
    if (rc < 0) {
        struct err e = {0};
        if (err)
            e = *err;
        if (!e.code)
            e.code = rc;
        api_reply_err(req, status_of(rc), &e);
        return;
    }
    api_reply(req, 200, result ? json_incref(result) : json_object());
}

static void h_act(void *ctx, struct api_req *req)
{
    struct daemon *d = ctx;
    static const char *const verbs[] = {"start", "stop", "restart", "reload", "delete", NULL};
    static const enum sup_verb codes[] = {SUP_START, SUP_STOP, SUP_RESTART, SUP_RELOAD,
                                          SUP_DELETE};
    const char *verb = api_req_param(req, "verb"), *target = api_req_param(req, "target");
    for (int i = 0; verbs[i]; i++) {
        if (!str_eq(verb, verbs[i]))
            continue;
        struct err err = {0};
        int rc = sup_act(d->sup, codes[i], target, act_done, req, &err);
        if (rc < 0)
            routes__reply_err(req, rc, &err);
        return;
    }
    char msg[200];
    const char *s = str_suggest(verb, verbs);
    snprintf(msg, sizeof msg, "unknown verb \"%s\"%s%s%s", verb, s ? " (did you mean \"" : "",
             s ? s : "", s ? "\"?)" : "");
    api_reply_error(req, 404, "not_found", msg, "verbs are start, stop, restart, reload, delete");
}

/* ---- reading ---------------------------------------------------------------------------- */
static void h_status(void *ctx, struct api_req *req)
{
    struct daemon *d = ctx;
    const char *app = api_req_query(req, "app");
    json_t *st = sup_status_json(d->sup, app), *a, *in;
    size_t i, j;
    json_array_foreach(json_object_get(st, "apps"), i, a)
    {
        const char *name = json_string_value(json_object_get(a, "name"));
        json_array_foreach(json_object_get(a, "instances"), j, in)
        {
            int k = (int)json_integer_value(json_object_get(in, "instance"));
            json_object_set_new(in, "log_dropped_bytes",
                                json_integer((json_int_t)logs_dropped(d->logs, name, k)));
        }
    }
    if (app && json_array_size(json_object_get(st, "apps")) == 0) {
        json_decref(st);
        char msg[300];
        snprintf(msg, sizeof msg, "no app named \"%s\"", app);
        api_reply_error(req, 404, "not_found", msg, "run tend status to see the apps");
        return;
    }
    api_reply(req, 200, st);
}

static void reply_no_app(struct api_req *req, const char *app)
{
    char msg[300];
    snprintf(msg, sizeof msg, "no app named \"%s\"", app ? app : "");
    api_reply_error(req, 404, "not_found", msg, "run tend status to see the apps");
}

static void h_describe(void *ctx, struct api_req *req)
{
    struct daemon *d = ctx;
    const char *app = api_req_param(req, "app");
    json_t *j = sup_describe_json(d->sup, app);
    if (!j) {
        reply_no_app(req, app);
        return;
    }
    json_object_set_new(j, "logs", logs_paths_json(d->logs, app));
    json_object_set_new(j, "log_dropped_bytes",
                        json_integer((json_int_t)logs_dropped(d->logs, app, -1)));
    api_reply(req, 200, j);
}

int routes__query_int(struct api_req *req, const char *name, long dflt, long lo, long hi, long *out)
{
    const char *s = api_req_query(req, name);
    char *end;
    *out = dflt;
    if (!s || !*s)
        return 0;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || *end || v < lo || v > hi) {
        char msg[200];
        snprintf(msg, sizeof msg, "\"%s\" must be a number from %ld to %ld, not \"%.40s\"", name,
                 lo, hi, s);
        api_reply_error(req, 400, "bad_request", msg, NULL);
        return -1;
    }
    *out = v;
    return 0;
}

static void h_env(void *ctx, struct api_req *req)
{
    struct daemon *d = ctx;
    long inst;
    if (routes__query_int(req, "instance", 0, 0, 100000, &inst) < 0)
        return;
    struct err err = {0};
    json_t *j = sup_env_json(d->sup, api_req_param(req, "app"), (int)inst, &err);
    if (!j)
        routes__reply_err(req, err.code ? err.code : -TE_NOTFOUND, &err);
    else
        api_reply(req, 200, j);
}

static void h_events(void *ctx, struct api_req *req)
{
    struct daemon *d = ctx;
    long since, limit;
    if (routes__query_int(req, "since", 0, 0, LONG_MAX, &since) < 0 ||
        routes__query_int(req, "limit", 200, 1, 10000, &limit) < 0)
        return;
    struct err err = {0};
    json_t *ev = store_events(d->store, api_req_query(req, "app"), since, (int)limit, &err);
    if (!ev)
        routes__reply_err(req, err.code ? err.code : -EIO, &err);
    else
        api_reply(req, 200, json_pack("{s:o}", "events", ev));
}

/* ---- logs ------------------------------------------------------------------------------- */
/* Owned by the route while a `logs --follow` stream is open. A follower slower than the app
 * does not stop the app nor grow memory: past FOLLOW_BEHIND bytes unsent, lines are skipped (and
 * counted) until it is back under FOLLOW_RESUME, when one line says how many it missed; a
 * follower that takes nothing for FOLLOW_STALL_MS while lines are skipped is disconnected. */
#define FOLLOW_BEHIND (512 * 1024)
#define FOLLOW_RESUME (128 * 1024)
#define FOLLOW_STALL_MS 10000
struct follow_ctx {
    struct daemon *d;
    struct api_req *req;
    int id;
    uint64_t skipped;      /* lines not sent since the follower fell behind */
    size_t low_unsent;     /* the least unsent seen while skipping: progress means it drops */
    uint64_t progress_ms;  /* when the follower last took something while skipping */
};

static void stream_json(struct api_req *req, json_t *line)
{
    char *s = json_dumps(line, JSON_COMPACT);
    if (!s)
        return;
    size_t n = strlen(s);
    s[n] = '\n'; /* json_dumps' NUL becomes the NDJSON separator */
    api_stream_write(req, s, n + 1);
    free(s);
}

static void follow_line(void *arg, json_t *line)
{
    struct follow_ctx *f = arg;
    size_t unsent = api_stream_unsent(f->req);
    uint64_t now = uv_now(&f->d->loop);
    if (f->skipped ? unsent > FOLLOW_RESUME : unsent > FOLLOW_BEHIND) {
        if (f->skipped == 0 || unsent < f->low_unsent) {
            f->low_unsent = unsent;
            f->progress_ms = now;
        }
        f->skipped++;
        if (now - f->progress_ms > FOLLOW_STALL_MS)
            api_stream_cut(f->req, "a log follower took nothing for 10 s");
        return;
    }
    if (f->skipped) {
        char msg[120];
        snprintf(msg, sizeof msg, "[tend] %llu lines skipped here: this reader was slower than the app",
                 (unsigned long long)f->skipped);
        json_t *m = json_deep_copy(line);
        json_object_set_new(m, "message", json_string(msg));
        json_object_set_new(m, "skipped", json_integer((json_int_t)f->skipped));
        stream_json(f->req, m);
        json_decref(m);
        f->skipped = 0;
    }
    stream_json(f->req, line);
}

static void follow_gone(void *arg)
{
    struct follow_ctx *f = arg;
    if (f->id > 0)
        logs_unfollow(f->d->logs, f->id);
    free(f);
}

static int parse_stream(struct api_req *req, enum logs_stream *which)
{
    const char *s = api_req_query(req, "stream");
    *which = LOGS_BOTH;
    if (!s || str_eq(s, "both"))
        return 0;
    if (str_eq(s, "out") || str_eq(s, "err")) {
        *which = str_eq(s, "out") ? LOGS_OUT : LOGS_ERR;
        return 0;
    }
    api_reply_error(req, 400, "bad_request", "\"stream\" must be out, err or both", NULL);
    return -1;
}

static void h_logs(void *ctx, struct api_req *req)
{
    struct daemon *d = ctx;
    const char *app = api_req_query(req, "app");
    enum logs_stream which;
    long inst, lines;
    if (parse_stream(req, &which) < 0 || routes__query_int(req, "instance", -1, -1, 100000, &inst) < 0 ||
        routes__query_int(req, "lines", 15, 0, 10000, &lines) < 0)
        return;
    json_t *desc = app ? sup_describe_json(d->sup, app) : NULL;
    if (app && !desc) {
        reply_no_app(req, app);
        return;
    }
    json_decref(desc);
    struct err err = {0};
    json_t *tail = lines > 0 ? logs_tail(d->logs, app, (int)inst, which, (int)lines, &err)
                             : json_array();
    if (!tail) {
        routes__reply_err(req, err.code ? err.code : -EIO, &err);
        return;
    }
    bool follow = str_eq(api_req_query(req, "follow"), "1");
    struct follow_ctx *f = xcalloc(1, sizeof *f);
    *f = (struct follow_ctx){.d = d, .req = req};
    api_stream_begin(req, "application/x-ndjson", follow_gone, f);
    size_t i;
    json_t *line;
    json_array_foreach(tail, i, line) stream_json(req, line);
    json_decref(tail);
    if (!follow) {
        api_stream_end(req);
        free(f);
        return;
    }
    f->id = logs_follow(d->logs, app, (int)inst, which, follow_line, f);
}

static void h_flush(void *ctx, struct api_req *req)
{
    struct daemon *d = ctx;
    struct err err = {0};
    const char *app = api_req_query(req, "app");
    json_t *desc = app ? sup_describe_json(d->sup, app) : NULL;
    if (app && !desc) {
        reply_no_app(req, app);
        return;
    }
    json_decref(desc);
    if (logs_flush(d->logs, app, &err) < 0)
        routes__reply_err(req, err.code, &err);
    else
        api_reply(req, 200, json_pack("{s:b}", "flushed", 1));
}

/* ---- the TCP door ------------------------------------------------------------------------- */
void daemon__listen_tcp(struct daemon *d, const struct cfg *cfg)
{
    const char *want = cfg && cfg->api.listen ? cfg->api.listen : "";
    if (str_eq(want, d->tcp_listen))
        return;
    struct err err = {0};
    if (api_listen_tcp(d->api, *want ? want : NULL, &err) < 0) {
        tlog_error("api", "cannot listen on %s: %s", want, err.msg);
        daemon__event(d, "api_error", NULL, -1, err.msg);
        return;
    }
    str_copy(d->tcp_listen, want, sizeof d->tcp_listen);
    if (*want && !api_is_loopback(want)) { /* api.c logged it; make it visible in `events` too */
        char msg[300];
        snprintf(msg, sizeof msg,
                 "the API listens on %s, which is not loopback: anyone who can reach it and "
                 "has the token controls tend",
                 want);
        daemon__event(d, "api_exposed", NULL, -1, msg);
    }
}

void routes_register(struct daemon *d)
{
    struct api *a = d->api;
    api_route(a, "GET", "/v1/ping", h_ping, d);
    api_route(a, "GET", "/v1/version", h_version, d);
    api_route(a, "POST", "/v1/kill", h_kill, d);
    api_route(a, "POST", "/v1/up", h_up, d);
    api_route(a, "POST", "/v1/resurrect", h_resurrect, d);
    api_route(a, "POST", "/v1/save", h_save, d);
    api_route(a, "GET", "/v1/status", h_status, d);
    api_route(a, "GET", "/v1/apps/:app", h_describe, d);
    api_route(a, "GET", "/v1/apps/:app/env", h_env, d);
    api_route(a, "POST", "/v1/apps/:target/:verb", h_act, d);
    api_route(a, "GET", "/v1/logs", h_logs, d);
    api_route(a, "POST", "/v1/flush", h_flush, d);
    api_route(a, "GET", "/v1/events", h_events, d);
    routes_backup_register(d);
    routes_watch_register(d);
}
