/* supervise/status.c: `status`, `describe` and `env` as JSON.
 *
 * Everything here reads memory only (no /proc, no files except env_file for `env`), so
 * `tend status` stays far under its 10 ms target with 100 apps: CPU and memory come from the
 * last sample (sample.c). Environment values whose names look secret are masked, and URLs
 * lose their credentials (DESIGN invariant 7); states and sources are converted to strings
 * only here, through their names tables. */
#include <string.h>

#include "core/clock.h"
#include "core/err.h"
#include "core/str.h"
#include "supervise/supervise_int.h"

static json_t *opt_int(bool present, long long v)
{
    return present ? json_integer(v) : json_null();
}

static json_t *instance_json(const struct sup_instance *in)
{
    bool live = sup__inst_live(in);
    uint64_t up = live ? clock_mono_ms() - in->m.started_ms : 0;
    int port = in->ca->port ? in->ca->port + in->index : 0;
    const struct sup_exit *ex = &in->last_exit;
    bool exited = ex->known && (ex->code >= 0 || ex->signal);
    json_t *o =
        json_pack("{s:i, s:i, s:s, s:I, s:i, s:i, s:f, s:I}", "instance", in->index, "pid",
                  (int)in->pid, "state", sup_state_name(in->m.state), "uptime_ms", (json_int_t)up,
                  "restarts", in->m.restarts, "unstable_restarts", in->m.unstable, "cpu_pct",
                  live ? in->cpu_pct : 0.0, "memory", (json_int_t)(live ? in->rss : 0));
    json_object_set_new(o, "threads", json_integer(live ? in->threads : 0));
    json_object_set_new(o, "fds", json_integer(live ? in->fds : 0));
    json_object_set_new(o, "port", opt_int(port > 0, port));
    json_object_set_new(o, "exit_code", opt_int(exited && !ex->signal, ex->code));
    json_object_set_new(o, "exit_signal",
                        ex->signal ? json_string(cfg_signal_name(ex->signal)) : json_null());
    if (in->adopted)
        json_object_set_new(o, "adopted", json_true());
    if (in->last_error[0])
        json_object_set_new(o, "error", json_string(in->last_error));
    return o;
}

static json_t *app_json(const struct sup_app *a)
{
    json_t *arr = json_array();
    for (int i = 0; i < a->ninst; i++)
        if (!a->inst[i]->removing)
            json_array_append_new(arr, instance_json(a->inst[i]));
    return json_pack("{s:s, s:o}", "name", a->name, "instances", arr);
}

json_t *sup_status_json(struct sup *s, const char *app)
{
    json_t *apps = json_array();
    for (struct sup_app *a = s->apps; a; a = a->next)
        if (!a->deleting && (!app || str_eq(app, a->name)))
            json_array_append_new(apps, app_json(a));
    return json_pack("{s:o}", "apps", apps);
}

static void mask_value(const char *key, const char *value, char *dst, size_t size)
{
    if (str_is_secret_name(key))
        str_mask(dst, size, value);
    else if (strstr(value, "://"))
        str_mask_url(dst, size, value);
    else
        str_copy(dst, value, size);
}

static json_t *env_array(const struct cfg_app *ca, int instance, const char *const *base,
                         struct err *err)
{
    struct cfg_envvar *v = NULL;
    size_t n = 0;
    if (cfg_app_env(ca, instance, base, &v, &n, err) < 0)
        return NULL;
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++) {
        char shown[1024];
        mask_value(v[i].key, v[i].value, shown, sizeof shown);
        json_array_append_new(arr, json_pack("{s:s, s:s, s:s}", "key", v[i].key, "value", shown,
                                             "source", cfg_env_src_name(v[i].src)));
    }
    cfg_envvar_free(v, n);
    return arr;
}

json_t *sup_env_json(struct sup *s, const char *app, int instance, struct err *err)
{
    struct sup_app *a = sup__app_find(s, app);
    if (!a) {
        err_set(err, -TE_NOTFOUND, "no app named \"%s\" is running", app);
        return NULL;
    }
    if (instance < 0 || instance >= a->ninst) {
        err_set(err, -TE_NOTFOUND, "%s has no instance %d (it has %d)", app, instance, a->ninst);
        return NULL;
    }
    json_t *env = env_array(a->inst[instance]->ca, instance, (const char *const *)s->base_env, err);
    if (!env)
        return NULL;
    return json_pack("{s:s, s:i, s:o}", "app", app, "instance", instance, "env", env);
}

static json_t *config_json(const struct cfg_app *ca)
{
    static const char *const restart[] = {"always", "on-failure", "never"};
    static const char *const ready[] = {"started", "notify", "port", "http"};
    json_t *o =
        json_pack("{s:s?, s:s?, s:i, s:s, s:i, s:I, s:I, s:I, s:b, s:I, s:I, s:s, s:I,"
                  " s:I, s:s, s:I, s:s?}",
                  "cmd", ca->cmd, "cwd", ca->cwd, "instances", ca->instances, "restart",
                  restart[ca->restart], "max_restarts", ca->max_restarts, "restart_window_ms",
                  (json_int_t)ca->restart_window_ms, "min_uptime_ms", (json_int_t)ca->min_uptime_ms,
                  "restart_delay_ms", (json_int_t)ca->restart_delay_ms, "backoff", ca->backoff,
                  "backoff_max_ms", (json_int_t)ca->backoff_max_ms, "errored_retry_ms",
                  (json_int_t)ca->errored_retry_ms, "kill_signal", cfg_signal_name(ca->kill_signal),
                  "kill_timeout_ms", (json_int_t)ca->kill_timeout_ms, "max_memory",
                  (json_int_t)ca->max_memory, "ready", ready[ca->ready], "ready_timeout_ms",
                  (json_int_t)ca->ready_timeout_ms, "cron_restart", ca->cron_restart);
    json_object_set_new(o, "port", ca->port ? json_integer(ca->port) : json_null());
    if (ca->argv) {
        json_t *argv = json_array();
        for (char **p = ca->argv; *p; p++)
            json_array_append_new(argv, json_string(*p));
        json_object_set_new(o, "argv", argv);
    }
    if (ca->user)
        json_object_set_new(o, "user", json_string(ca->user));
    return o;
}

json_t *sup_describe_json(struct sup *s, const char *app)
{
    struct sup_app *a = sup__app_find(s, app);
    if (!a)
        return NULL;
    json_t *o = app_json(a);
    json_object_set_new(o, "config", config_json(a->ca));
    if (a->cfg->path)
        json_object_set_new(o, "file", json_string(a->cfg->path));
    /* Not cfg_app_to_yaml(): its env values are not masked. */
    struct err err = {0};
    json_t *env = env_array(a->ca, 0, (const char *const *)s->base_env, &err);
    json_object_set_new(o, "env", env ? env : json_array());
    if (!env)
        json_object_set_new(o, "env_error", json_string(err.msg));
    return o;
}
